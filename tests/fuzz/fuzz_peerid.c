/*
 * Fuzz target: peer ids and base58. The input is tried as base58 text, as bytes to encode, as
 * a binary peer id and as a PublicKey protobuf; whatever is accepted must come back unchanged
 * through the other direction.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "peerid.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[256], t[256];
	uint8_t b[256], pk[32], enc[PUBKEY_ED25519_PB_LEN];
	struct peerid id, again;
	int n, k;

	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	/* base58 is a bijection: text that decodes encodes back to itself. */
	n = base58_decode(s, b, sizeof(b));
	/* (200 characters may decode to more than the 128 bytes encode takes.) */
	if (n >= 0 && n <= 128 &&
	    (base58_encode(b, (size_t)n, t, sizeof(t)) != (int)strlen(s) || strcmp(s, t)))
		abort();
	if (peerid_parse(&id, s) == 0 &&
	    (peerid_format(&id, t, sizeof(t)) < 0 || strcmp(s, t) || peerid_parse(&again, t) != 0 ||
	     !peerid_equal(&id, &again)))
		abort();

	k = base58_encode(data, size, t, sizeof(t));
	/* Nothing encodes to "", which decodes as nothing valid. */
	if (size == 0 && k != 0)
		abort();
	if (size && size <= 128 &&
	    (k < 0 || base58_decode(t, b, sizeof(b)) != (int)size || memcmp(b, data, size)))
		abort();

	if (peerid_from_bytes(&id, data, size) == 0 &&
	    (id.len != size || peerid_format(&id, t, sizeof(t)) < 0 ||
	     peerid_parse(&again, t) != 0 || !peerid_equal(&id, &again)))
		abort();

	/* A decoded key re-encodes canonically, and its peer id holds that encoding. */
	if (peerid_pubkey_decode(data, size, pk) == 0) {
		peerid_from_ed25519(pk, &id);
		if (peerid_pubkey_encode(pk, enc, sizeof(enc)) != PUBKEY_ED25519_PB_LEN ||
		    peerid_pubkey_decode(enc, sizeof(enc), b) != 0 || memcmp(b, pk, 32) ||
		    id.len != PEERID_ED25519_LEN || memcmp(id.b + 2, enc, sizeof(enc)) ||
		    peerid_format(&id, t, sizeof(t)) != 52 || memcmp(t, "12D3KooW", 8))
			abort();
	}
	return 0;
}
