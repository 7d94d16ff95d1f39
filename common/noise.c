/* noise.c: Noise_IK_25519_ChaChaPoly_BLAKE2b over libsodium (see noise.h). */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "noise.h"

#define NOISE_PROTOCOL_NAME    "Noise_IK_25519_ChaChaPoly_BLAKE2b"
#define NOISE_NK_PROTOCOL_NAME "Noise_NK_25519_ChaChaPoly_BLAKE2b"
#define BLAKE2B_BLOCKLEN       128

void noise_hmac(uint8_t out[NOISE_HASHLEN], const uint8_t *key, size_t keylen, const uint8_t *data,
                size_t len)
{
	uint8_t k[BLAKE2B_BLOCKLEN] = {0}, pad[BLAKE2B_BLOCKLEN], inner[NOISE_HASHLEN];
	crypto_generichash_state st;

	if (keylen > BLAKE2B_BLOCKLEN)
		crypto_generichash(k, NOISE_HASHLEN, key, keylen, NULL, 0);
	else
		memcpy(k, key, keylen);
	for (int i = 0; i < BLAKE2B_BLOCKLEN; i++)
		pad[i] = k[i] ^ 0x36;
	crypto_generichash_init(&st, NULL, 0, NOISE_HASHLEN);
	crypto_generichash_update(&st, pad, sizeof(pad));
	crypto_generichash_update(&st, data, len);
	crypto_generichash_final(&st, inner, sizeof(inner));
	for (int i = 0; i < BLAKE2B_BLOCKLEN; i++)
		pad[i] = k[i] ^ 0x5c;
	crypto_generichash_init(&st, NULL, 0, NOISE_HASHLEN);
	crypto_generichash_update(&st, pad, sizeof(pad));
	crypto_generichash_update(&st, inner, sizeof(inner));
	crypto_generichash_final(&st, out, NOISE_HASHLEN);
	sodium_memzero(k, sizeof(k));
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&st, sizeof(st));
}

void noise_hkdf2(uint8_t out1[NOISE_HASHLEN], uint8_t out2[NOISE_HASHLEN],
                 const uint8_t ck[NOISE_HASHLEN], const uint8_t *ikm, size_t ikmlen)
{
	uint8_t temp[NOISE_HASHLEN], in[NOISE_HASHLEN + 1], o1[NOISE_HASHLEN];

	noise_hmac(temp, ck, NOISE_HASHLEN, ikm, ikmlen);
	in[0] = 1;
	noise_hmac(o1, temp, sizeof(temp), in, 1);
	memcpy(in, o1, NOISE_HASHLEN);
	in[NOISE_HASHLEN] = 2;
	noise_hmac(out2, temp, sizeof(temp), in, sizeof(in));
	memcpy(out1, o1, NOISE_HASHLEN);
	sodium_memzero(temp, sizeof(temp));
	sodium_memzero(in, sizeof(in));
	sodium_memzero(o1, sizeof(o1));
}

static void noise_nonce(uint8_t nonce[12], uint64_t n)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

int noise_encrypt(const uint8_t key[NOISE_KEYLEN], uint64_t n, const uint8_t *ad, size_t adlen,
                  const uint8_t *pt, size_t len, uint8_t *out)
{
	uint8_t nonce[12];

	noise_nonce(nonce, n);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, len, ad, adlen, NULL, nonce, key);
	return 0;
}

int noise_decrypt(const uint8_t key[NOISE_KEYLEN], uint64_t n, const uint8_t *ad, size_t adlen,
                  const uint8_t *ct, size_t len, uint8_t *out)
{
	uint8_t nonce[12];

	if (len < NOISE_TAGLEN)
		return -EBADMSG;
	noise_nonce(nonce, n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, len, ad, adlen, nonce,
	                                              key) != 0)
		return -EBADMSG;
	return 0;
}

static void noise_mix_hash(struct noise_hs *hs, const uint8_t *data, size_t len)
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, NOISE_HASHLEN);
	crypto_generichash_update(&st, hs->h, NOISE_HASHLEN);
	crypto_generichash_update(&st, data, len);
	crypto_generichash_final(&st, hs->h, NOISE_HASHLEN);
}

static void noise_mix_key(struct noise_hs *hs, const uint8_t *ikm, size_t len)
{
	uint8_t out2[NOISE_HASHLEN];

	noise_hkdf2(hs->ck, out2, hs->ck, ikm, len);
	memcpy(hs->k, out2, NOISE_KEYLEN); /* HASHLEN 64: truncate to the cipher key */
	hs->n = 0;
	hs->has_k = true;
	sodium_memzero(out2, sizeof(out2));
}

/* MixKey(DH(priv, pub)); fails on a low-order public key (all-zero shared secret). */
static int noise_mix_dh(struct noise_hs *hs, const uint8_t priv[NOISE_DHLEN],
                        const uint8_t pub[NOISE_DHLEN])
{
	uint8_t shared[NOISE_DHLEN];
	int r = crypto_scalarmult(shared, priv, pub);

	if (r == 0)
		noise_mix_key(hs, shared, sizeof(shared));
	sodium_memzero(shared, sizeof(shared));
	return r == 0 ? 0 : -EBADMSG;
}

static void noise_encrypt_and_hash(struct noise_hs *hs, const uint8_t *pt, size_t len, uint8_t *out)
{
	if (hs->has_k) {
		noise_encrypt(hs->k, hs->n++, hs->h, NOISE_HASHLEN, pt, len, out);
		len += NOISE_TAGLEN;
	} else {
		memmove(out, pt, len);
	}
	noise_mix_hash(hs, out, len);
}

static int noise_decrypt_and_hash(struct noise_hs *hs, const uint8_t *ct, size_t len, uint8_t *out)
{
	uint8_t h[NOISE_HASHLEN];

	if (!hs->has_k) {
		memmove(out, ct, len);
		noise_mix_hash(hs, ct, len);
		return 0;
	}
	/* Hash the ciphertext before out (which may alias it) is written. */
	memcpy(h, hs->h, sizeof(h));
	noise_mix_hash(hs, ct, len);
	if (noise_decrypt(hs->k, hs->n, h, sizeof(h), ct, len, out) < 0)
		return -EBADMSG;
	hs->n++;
	return 0;
}

static void noise_hs_start(struct noise_hs *hs, const char *name, enum noise_role role,
                           const uint8_t *prologue, size_t prologue_len, const uint8_t *s_priv,
                           const uint8_t *rs)
{
	memset(hs, 0, sizeof(*hs));
	hs->role = role;
	/* Protocol names are shorter than HASHLEN: h is the name, zero padded. */
	memcpy(hs->h, name, strlen(name));
	memcpy(hs->ck, hs->h, NOISE_HASHLEN);
	noise_mix_hash(hs, prologue, prologue_len);
	if (s_priv) {
		memcpy(hs->s_priv, s_priv, NOISE_DHLEN);
		crypto_scalarmult_base(hs->s_pub, hs->s_priv);
	}
	/* IK and NK pre-message: <- s */
	if (role == NOISE_INITIATOR) {
		memcpy(hs->rs, rs, NOISE_DHLEN);
		noise_mix_hash(hs, hs->rs, NOISE_DHLEN);
	} else {
		noise_mix_hash(hs, hs->s_pub, NOISE_DHLEN);
	}
}

void noise_hs_init(struct noise_hs *hs, enum noise_role role, const uint8_t *prologue,
                   size_t prologue_len, const uint8_t s_priv[NOISE_DHLEN], const uint8_t *rs)
{
	noise_hs_start(hs, NOISE_PROTOCOL_NAME, role, prologue, prologue_len, s_priv, rs);
}

void noise_hs_init_nk(struct noise_hs *hs, enum noise_role role, const uint8_t *prologue,
                      size_t prologue_len, const uint8_t *s_priv, const uint8_t *rs)
{
	noise_hs_start(hs, NOISE_NK_PROTOCOL_NAME, role, prologue, prologue_len,
	               role == NOISE_RESPONDER ? s_priv : NULL, rs);
	hs->nk = true;
}

void noise_hs_set_ephemeral(struct noise_hs *hs, const uint8_t e_priv[NOISE_DHLEN])
{
	memcpy(hs->e_priv, e_priv, NOISE_DHLEN);
	crypto_scalarmult_base(hs->e_pub, hs->e_priv);
	hs->e_set = true;
}

static void noise_ephemeral(struct noise_hs *hs)
{
	if (hs->e_set)
		return;
	crypto_box_keypair(hs->e_pub, hs->e_priv);
	hs->e_set = true;
}

void noise_hs_clear(struct noise_hs *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}

int noise_write_msg1(struct noise_hs *hs, const uint8_t *payload, size_t len, uint8_t *out,
                     size_t cap)
{
	uint8_t *p = out;

	size_t want = hs->nk ? NOISE_NK_MSG1_LEN(len) : NOISE_MSG1_LEN(len);

	if (hs->role != NOISE_INITIATOR || hs->step != 0)
		return -EINVAL;
	if (cap < want)
		return -ENOBUFS;
	noise_ephemeral(hs);
	memcpy(p, hs->e_pub, NOISE_DHLEN); /* e */
	noise_mix_hash(hs, hs->e_pub, NOISE_DHLEN);
	p += NOISE_DHLEN;
	if (noise_mix_dh(hs, hs->e_priv, hs->rs) < 0) /* es */
		return -EINVAL;
	if (!hs->nk) {
		noise_encrypt_and_hash(hs, hs->s_pub, NOISE_DHLEN, p); /* s */
		p += NOISE_DHLEN + NOISE_TAGLEN;
		if (noise_mix_dh(hs, hs->s_priv, hs->rs) < 0) /* ss */
			return -EINVAL;
	}
	noise_encrypt_and_hash(hs, payload, len, p);
	hs->step = 1;
	return (int)want;
}

int noise_read_msg1(struct noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload,
                    size_t cap)
{
	size_t plen;

	size_t min = hs->nk ? NOISE_NK_MSG1_LEN(0) : NOISE_MSG1_LEN(0);

	if (hs->role != NOISE_RESPONDER || hs->step != 0)
		return -EINVAL;
	if (len < min)
		return -EBADMSG;
	plen = len - min;
	if (plen > cap)
		return -ENOBUFS;
	memcpy(hs->re, msg, NOISE_DHLEN); /* e */
	noise_mix_hash(hs, hs->re, NOISE_DHLEN);
	msg += NOISE_DHLEN;
	if (noise_mix_dh(hs, hs->s_priv, hs->re) < 0) /* es */
		return -EBADMSG;
	if (!hs->nk) {
		if (noise_decrypt_and_hash(hs, msg, NOISE_DHLEN + NOISE_TAGLEN, hs->rs) < 0) /* s */
			return -EBADMSG;
		msg += NOISE_DHLEN + NOISE_TAGLEN;
		if (noise_mix_dh(hs, hs->s_priv, hs->rs) < 0) /* ss */
			return -EBADMSG;
	}
	if (noise_decrypt_and_hash(hs, msg, plen + NOISE_TAGLEN, payload) < 0)
		return -EBADMSG;
	hs->step = 1;
	return (int)plen;
}

int noise_write_msg2(struct noise_hs *hs, const uint8_t *payload, size_t len, uint8_t *out,
                     size_t cap)
{
	uint8_t *p = out;

	if (hs->role != NOISE_RESPONDER || hs->step != 1)
		return -EINVAL;
	if (cap < NOISE_MSG2_LEN(len))
		return -ENOBUFS;
	noise_ephemeral(hs);
	memcpy(p, hs->e_pub, NOISE_DHLEN); /* e */
	noise_mix_hash(hs, hs->e_pub, NOISE_DHLEN);
	p += NOISE_DHLEN;
	if (noise_mix_dh(hs, hs->e_priv, hs->re) < 0) /* ee */
		return -EINVAL;
	if (!hs->nk && noise_mix_dh(hs, hs->e_priv, hs->rs) < 0) /* se */
		return -EINVAL;
	noise_encrypt_and_hash(hs, payload, len, p);
	hs->step = 2;
	return (int)NOISE_MSG2_LEN(len);
}

int noise_read_msg2(struct noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload,
                    size_t cap)
{
	size_t plen;

	if (hs->role != NOISE_INITIATOR || hs->step != 1)
		return -EINVAL;
	if (len < NOISE_MSG2_LEN(0))
		return -EBADMSG;
	plen = len - NOISE_MSG2_LEN(0);
	if (plen > cap)
		return -ENOBUFS;
	memcpy(hs->re, msg, NOISE_DHLEN); /* e */
	noise_mix_hash(hs, hs->re, NOISE_DHLEN);
	msg += NOISE_DHLEN;
	if (noise_mix_dh(hs, hs->e_priv, hs->re) < 0) /* ee */
		return -EBADMSG;
	if (!hs->nk && noise_mix_dh(hs, hs->s_priv, hs->re) < 0) /* se */
		return -EBADMSG;
	if (noise_decrypt_and_hash(hs, msg, plen + NOISE_TAGLEN, payload) < 0)
		return -EBADMSG;
	hs->step = 2;
	return (int)plen;
}

void noise_split(struct noise_hs *hs, uint8_t i2r[NOISE_KEYLEN], uint8_t r2i[NOISE_KEYLEN])
{
	uint8_t o1[NOISE_HASHLEN], o2[NOISE_HASHLEN];

	noise_hkdf2(o1, o2, hs->ck, NULL, 0);
	memcpy(i2r, o1, NOISE_KEYLEN);
	memcpy(r2i, o2, NOISE_KEYLEN);
	sodium_memzero(o1, sizeof(o1));
	sodium_memzero(o2, sizeof(o2));
}
