/* Fuzz target: the "HOST:PORT KEY [URL ...]" line parser (common/bootline.c) shared by relayd's
 * Peer lines and the helper's Bootstrap lines (with stream URLs), on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bootline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[512];
	struct addr a;
	struct turl u[BOOTLINE_MAX_URLS];
	uint8_t key[32];
	size_t n;
	unsigned bad;

	if (size >= sizeof(line))
		return 0;
	memcpy(line, data, size);
	line[size] = 0;
	bootline_parse(line, 51821, &a, key);
	if (bootline_parse_urls(line, 51821, &a, key, u, BOOTLINE_MAX_URLS, &n, &bad) == 0 &&
	    (n > BOOTLINE_MAX_URLS || bad))
		abort();
	return 0;
}
