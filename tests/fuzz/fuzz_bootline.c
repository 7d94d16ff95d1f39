/* Fuzz target: the "HOST:PORT KEY" line parser (common/bootline.c) shared by relayd's Peer lines
 * and the helper's Bootstrap lines, on arbitrary text. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bootline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char line[512];
	struct addr a;
	uint8_t key[32];

	if (size >= sizeof(line))
		return 0;
	memcpy(line, data, size);
	line[size] = 0;
	bootline_parse(line, 51821, &a, key);
	return 0;
}
