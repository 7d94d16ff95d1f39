/*
 * Fuzz target: the onion layers of circuit cells on arbitrary bodies. A relay peels what a
 * previous hop sent (outside bytes) and adds its layer to what a later hop sent; a client
 * unwraps what came back. Nothing may read or write outside the body; and a message wrapped
 * from the input must come out intact at its hop.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "onion.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct onion_key keys[ONION_MAX_HOPS];
	uint8_t body[2048], msg[2048];
	unsigned d;

	if (size < 2 || size - 1 > sizeof(body))
		return 0;
	for (int i = 0; i < ONION_MAX_HOPS; i++)
		memset(&keys[i], i + 1, sizeof(keys[i]));
	d = data[0] % (ONION_MAX_HOPS + 2);
	size--;
	data++;
	memcpy(body, data, size);
	onion_peel(body, size, d, &keys[d ? d - 1 : 0], 7);
	memcpy(body, data, size);
	onion_add(body, size, d, &keys[0], 7);
	memcpy(body, data, size);
	onion_unwrap(body, size, keys, d, 7);
	/* The input as a message to hop d of a body of its own size: through every hop. */
	if (d && onion_room(size, d)) {
		size_t room = onion_room(size, d), len = size < room ? size : room;

		memcpy(msg, data, len);
		if (onion_wrap(body, size, keys, d, 9, msg, len) != 0)
			abort();
		for (unsigned h = 1; h < d; h++)
			if (onion_peel(body, size, h, &keys[h - 1], 9) != ONION_NEXT)
				abort();
		if (onion_peel(body, size, d, &keys[d - 1], 9) != ONION_MINE ||
		    memcmp(body + 1, msg, len))
			abort();
	}
	return 0;
}
