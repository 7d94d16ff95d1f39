/*
 * Fuzz target: a relay answering a circuit hop's handshake message 1 from arbitrary bytes
 * (its Noise key fixed); an answer it gives must complete at a client only with the keys the
 * relay derived, which the fuzzer cannot have: so only the bounds are checked here.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "circhs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const uint8_t priv[32] = {7, 7, 7};
	uint8_t m2[CIRCHS_MSG2_LEN];
	struct circhs_keys k;
	unsigned depth = 0, cls = 9;

	if (circhs_answer(priv, data, size, m2, &k, &depth, &cls) == 0 &&
	    (depth < 1 || depth > ONION_MAX_HOPS || cls > CIRCHS_CLASS_1280))
		abort();
	return 0;
}
