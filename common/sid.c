/* sid.c: session id derivation (see sid.h). */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "sid.h"

#define SID_LABEL "wgrelay sid v1"

int sid_shared(uint8_t shared[32], const uint8_t wg_priv[32], const uint8_t peer_pub[32])
{
	return crypto_scalarmult(shared, wg_priv, peer_pub) != 0 ? -EINVAL : 0;
}

void sid_from_shared(uint8_t sid[SID_LEN], const uint8_t shared[32], const uint8_t relay_pub[32])
{
	uint8_t msg[sizeof(SID_LABEL) - 1 + 32];

	memcpy(msg, SID_LABEL, sizeof(SID_LABEL) - 1);
	memcpy(msg + sizeof(SID_LABEL) - 1, relay_pub, 32);
	crypto_generichash(sid, SID_LEN, msg, sizeof(msg), shared, 32);
}

#define COOKIE_LABEL "wgrelay rendezvous v1"

void sid_cookie(uint8_t cookie[SID_COOKIE_LEN], const uint8_t shared[32],
                const uint8_t relay_identity[32], uint64_t epoch)
{
	uint8_t msg[sizeof(COOKIE_LABEL) - 1 + 32 + 8];

	memcpy(msg, COOKIE_LABEL, sizeof(COOKIE_LABEL) - 1);
	memcpy(msg + sizeof(COOKIE_LABEL) - 1, relay_identity, 32);
	for (int i = 0; i < 8; i++)
		msg[sizeof(COOKIE_LABEL) - 1 + 32 + i] = (uint8_t)(epoch >> (56 - 8 * i));
	crypto_generichash(cookie, SID_COOKIE_LEN, msg, sizeof(msg), shared, 32);
}

int sid_derive(uint8_t sid[SID_LEN], const uint8_t wg_priv[32], const uint8_t peer_pub[32],
               const uint8_t relay_pub[32])
{
	uint8_t shared[32];

	if (sid_shared(shared, wg_priv, peer_pub) != 0)
		return -EINVAL;
	sid_from_shared(sid, shared, relay_pub);
	sodium_memzero(shared, sizeof(shared));
	return 0;
}
