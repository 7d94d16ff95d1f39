/*
 * Fuzz target: a GeoIP file is outside bytes (downloaded, maybe damaged). Opening any file and
 * reading records of either layout never crashes, and coordinates that come back are sane.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "geoip.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const addrs[] = {"198.51.100.7:1",  "203.0.113.9:1", "192.0.2.1:1",
	                                    "[2001:db8::1]:1", "8.8.8.8:1",     "[2a00::1]:1"};
	char path[64];
	struct geoip *g;
	int fd = memfd_create("fuzz.mmdb", MFD_CLOEXEC);

	if (fd < 0)
		return 0;
	if (write(fd, data, size) != (ssize_t)size) {
		close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (geoip_open(&g, path) == 0) {
		for (size_t i = 0; i < sizeof(addrs) / sizeof(addrs[0]); i++) {
			struct addr a;
			struct geoip_loc l;
			if (addr_parse(&a, addrs[i], 0) == 0 && geoip_lookup(g, &a, &l) == 0 &&
			    (l.lat < -90 || l.lat > 90 || l.lon < -180 || l.lon > 180))
				abort();
		}
		geoip_free(g);
	}
	close(fd);
	return 0;
}
