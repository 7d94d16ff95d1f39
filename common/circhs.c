/* circhs.c: a circuit hop's handshake (see circhs.h). */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "circhs.h"

#define CIRCHS_FWD_SALT "wgrelay circuit fwd salt"
#define CIRCHS_BWD_SALT "wgrelay circuit bwd salt"

static void circhs_keys(struct noise_hs *hs, struct circhs_keys *k)
{
	uint8_t i2r[32], r2i[32];

	noise_split(hs, i2r, r2i);
	memcpy(k->fwd.key, i2r, 32);
	memcpy(k->bwd.key, r2i, 32);
	crypto_generichash(k->fwd.salt, ONION_SALT_LEN, (const uint8_t *)CIRCHS_FWD_SALT,
	                   sizeof(CIRCHS_FWD_SALT) - 1, hs->h, NOISE_HASHLEN);
	crypto_generichash(k->bwd.salt, ONION_SALT_LEN, (const uint8_t *)CIRCHS_BWD_SALT,
	                   sizeof(CIRCHS_BWD_SALT) - 1, hs->h, NOISE_HASHLEN);
	sodium_memzero(i2r, sizeof(i2r));
	sodium_memzero(r2i, sizeof(r2i));
	noise_hs_clear(hs);
}

int circhs_start(struct circhs *c, const uint8_t relay_pub[32], unsigned depth, unsigned cls,
                 uint8_t out[CIRCHS_MSG1_LEN])
{
	uint8_t hello[CIRCHS_HELLO_LEN] = {CIRCHS_VERSION, (uint8_t)depth, (uint8_t)cls};

	if (depth < 1 || depth > ONION_MAX_HOPS || cls > CIRCHS_CLASS_1280)
		return -EINVAL;
	noise_hs_init_nk(&c->hs, NOISE_INITIATOR, (const uint8_t *)CIRCHS_PROLOGUE,
	                 sizeof(CIRCHS_PROLOGUE) - 1, NULL, relay_pub);
	if (noise_write_msg1(&c->hs, hello, sizeof(hello), out, CIRCHS_MSG1_LEN) !=
	    CIRCHS_MSG1_LEN) {
		noise_hs_clear(&c->hs);
		return -EINVAL;
	}
	return 0;
}

int circhs_finish(struct circhs *c, const uint8_t *msg2, size_t len, struct circhs_keys *k)
{
	uint8_t none[1];

	if (len != CIRCHS_MSG2_LEN || noise_read_msg2(&c->hs, msg2, len, none, 0) != 0)
		return -EBADMSG;
	circhs_keys(&c->hs, k);
	return 0;
}

int circhs_answer(const uint8_t relay_priv[32], const uint8_t *msg1, size_t len,
                  uint8_t out[CIRCHS_MSG2_LEN], struct circhs_keys *k, unsigned *depth,
                  unsigned *cls)
{
	uint8_t hello[CIRCHS_HELLO_LEN];
	struct noise_hs hs;
	int e = -EBADMSG;

	if (len != CIRCHS_MSG1_LEN)
		return -EBADMSG;
	noise_hs_init_nk(&hs, NOISE_RESPONDER, (const uint8_t *)CIRCHS_PROLOGUE,
	                 sizeof(CIRCHS_PROLOGUE) - 1, relay_priv, NULL);
	if (noise_read_msg1(&hs, msg1, len, hello, sizeof(hello)) != CIRCHS_HELLO_LEN)
		goto out;
	e = -EPROTO;
	if (hello[0] != CIRCHS_VERSION || hello[1] < 1 || hello[1] > ONION_MAX_HOPS ||
	    hello[2] > CIRCHS_CLASS_1280)
		goto out;
	e = -EBADMSG;
	if (noise_write_msg2(&hs, NULL, 0, out, CIRCHS_MSG2_LEN) != CIRCHS_MSG2_LEN)
		goto out;
	*depth = hello[1];
	*cls = hello[2];
	circhs_keys(&hs, k);
	return 0;
out:
	noise_hs_clear(&hs);
	return e;
}
