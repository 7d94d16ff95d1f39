/*
 * Fuzz target: wgrelayd's config (config_load: every key, Modes as a list of words, limits,
 * MaxPacket) and AllowedKeys reader (config_load_allowlist: whole lines, a cap per line) over
 * any file content. The bytes are a file in memory (memfd) opened by its /proc path, as the
 * relay opens a configured path. Every rejection names the file.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct relayd_config c;
	uint8_t(*keys)[32] = NULL;
	char path[64], err[1024];
	size_t n = 0;
	int fd = memfd_create("fuzz", MFD_CLOEXEC);

	if (fd < 0 || (size && write(fd, data, size) != (ssize_t)size)) {
		if (fd >= 0)
			close(fd);
		return 0;
	}
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	config_defaults(&c);
	if (config_load(&c, path, true, err, sizeof(err)) < 0 && !strstr(err, path))
		abort();
	if (c.limits.max_packet < 32 || c.limits.max_packet > 65527 ||
	    (!c.mode_direct && !c.mode_sealed))
		abort();
	if (config_load_allowlist(path, &keys, &n, err, sizeof(err)) < 0) {
		if (!strstr(err, path))
			abort();
	} else if (n && !keys) {
		abort();
	}
	free(keys);
	close(fd);
	return 0;
}
