/* identity.c: the relay's Ed25519 identity and its seed file (see identity.h). */
#include <sodium.h>

#include "identity.h"
#include "key.h"

#define IDENTITY_WHAT "an identity (one line of 44 base64 characters: an Ed25519 seed)"

void identity_from_seed(struct identity *id, const uint8_t seed[IDENTITY_SEED_LEN])
{
	crypto_sign_seed_keypair(id->pk, id->sk, seed);
}

/* Unlike an X25519 key, an Ed25519 seed is used whole: hashing it gives the scalar. */
static void identity_gen_seed(uint8_t seed[KEY_LEN])
{
	randombytes_buf(seed, KEY_LEN);
}

static int identity_file(struct identity *id, const char *path, bool create, bool *created,
                         char *err, size_t errlen)
{
	uint8_t seed[KEY_LEN];
	int r;

	r = key_file_load(seed, path, create ? identity_gen_seed : NULL, IDENTITY_WHAT, created,
	                  err, errlen);
	if (r == 0)
		identity_from_seed(id, seed);
	else
		identity_wipe(id);
	sodium_memzero(seed, sizeof(seed));
	return r;
}

int identity_load(struct identity *id, const char *path, char *err, size_t errlen)
{
	return identity_file(id, path, false, NULL, err, errlen);
}

int identity_load_or_create(struct identity *id, const char *path, bool *created, char *err,
                            size_t errlen)
{
	return identity_file(id, path, true, created, err, errlen);
}

void identity_wipe(struct identity *id)
{
	sodium_memzero(id, sizeof(*id));
}
