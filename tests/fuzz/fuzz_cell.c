/*
 * Fuzz target: the link layer of circuit cells on arbitrary bytes (with a fixed key, so what
 * the fuzzer finds authentic it finds by sealing); whatever opens must seal back to the same
 * frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cell.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t key[32] = {3};
	uint8_t frame[2048], again[2048];
	struct cell c;
	uint32_t index;
	uint64_t counter;
	int n;

	if (size > sizeof(frame))
		return 0;
	memcpy(frame, data, size);
	if (cell_open(frame, size, key, NULL, &c) != 0)
		return 0;
	cell_link_fields(data, &index, &counter);
	n = cell_seal(again, sizeof(again), index, counter, key, &c);
	if (n != (int)size || memcmp(again, data, size))
		abort();
	return 0;
}
