/*
 * Fuzz target: circuit messages and link-level cell bodies from arbitrary bytes; whatever
 * decodes must encode back to the same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "circmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t out[4096], m1[CIRCHS_MSG1_LEN], m2[CIRCHS_MSG2_LEN], reason;
	struct circmsg m;

	if (size > sizeof(out))
		return 0;
	if (circmsg_decode(data, size, &m) == 0) {
		if (circmsg_encode(&m, out, size) != 0 || memcmp(out, data, size))
			abort();
	}
	if (circmsg_get_create(data, size, m1) == 0) {
		circmsg_put_create(out, size, m1);
		if (memcmp(out, data, size))
			abort();
	}
	if (circmsg_get_created(data, size, m2) == 0) {
		circmsg_put_created(out, size, m2);
		if (memcmp(out, data, size))
			abort();
	}
	if (circmsg_get_destroy(data, size, &reason) == 0) {
		circmsg_put_destroy(out, size, reason);
		if (memcmp(out, data, size))
			abort();
	}
	return 0;
}
