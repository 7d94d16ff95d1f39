/*
 * Fuzz target: desc_decode on arbitrary bytes. Whatever parses (verified, or failing only its
 * signature, which random bytes always do) must re-encode to the same bytes, since the
 * encoding is canonical, and must print as JSON and text within the documented room.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "descriptor.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t again[DESC_MAX_LEN];
	char out[4096], small[64];
	struct descriptor d;
	int r, n;

	r = desc_decode(data, size, &d);
	if (r >= 0 ? r != 0 : r <= -DESC_E_MAX)
		abort(); /* 0 or one of the named errors, nothing else */
	if (r != 0 && r != -DESC_E_SIG)
		return 0;
	n = desc_encode(&d, again, sizeof(again));
	if (n < 0 || (size_t)n != size || memcmp(again, data, size))
		abort();
	if (desc_to_json(&d, out, sizeof(out)) <= 0 || strlen(out) >= sizeof(out))
		abort();
	if (desc_to_text(&d, out, sizeof(out)) <= 0)
		abort();
	/* Too little room: refused, the string cut but terminated inside the buffer. */
	if (desc_to_json(&d, small, sizeof(small)) != -ENOBUFS || strlen(small) >= sizeof(small))
		abort();
	if (desc_to_text(&d, small, sizeof(small)) != -ENOBUFS || strlen(small) >= sizeof(small))
		abort();
	desc_check_time(&d, d.issued_at);
	return 0;
}
