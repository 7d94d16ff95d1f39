/*
 * onion.c: onion layers of circuit cells (see onion.h). Layout of a forward cell to hop e, as
 * the client builds it from the inside out, in place: the innermost plaintext [1 | msg] sits
 * at offset e - 1 and is sealed there; each outer layer prepends its flag byte 0 one byte to
 * the left and seals, growing 16 bytes (the tag) to the right, so layer d ends at
 * B - 16 * (d - 1) and the outermost fills the body exactly.
 */
#include <stdbool.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "onion.h"

#define ONION_TAG 16

size_t onion_layer_len(size_t body_len, unsigned depth)
{
	size_t cut;

	if (depth == 0 || depth > ONION_MAX_HOPS)
		return 0;
	cut = (size_t)ONION_OVERHEAD * (depth - 1);
	/* A layer holds at least its flag and tag. */
	return body_len >= cut + ONION_OVERHEAD ? body_len - cut : 0;
}

size_t onion_room(size_t body_len, unsigned depth)
{
	size_t l = onion_layer_len(body_len, depth);

	return l ? l - ONION_OVERHEAD : 0;
}

static void onion_nonce(uint8_t nonce[24], const struct onion_key *key, uint64_t k)
{
	memcpy(nonce, key->salt, ONION_SALT_LEN);
	buf_store_be64(nonce + ONION_SALT_LEN, k);
}

/* Seal the len bytes at p in place (p has room for the tag after them). */
static void onion_seal(uint8_t *p, size_t len, const struct onion_key *key, uint64_t k)
{
	uint8_t nonce[24];

	onion_nonce(nonce, key, k);
	crypto_aead_xchacha20poly1305_ietf_encrypt(p, NULL, p, len, NULL, 0, NULL, nonce, key->key);
}

/* Open the len bytes (tag included) at p in place; false when they do not authenticate. */
static bool onion_open(uint8_t *p, size_t len, const struct onion_key *key, uint64_t k)
{
	uint8_t nonce[24];

	onion_nonce(nonce, key, k);
	return crypto_aead_xchacha20poly1305_ietf_decrypt(p, NULL, NULL, p, len, NULL, 0, nonce,
	                                                  key->key) == 0;
}

static bool onion_zero(const uint8_t *p, size_t len)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < len; i++)
		acc |= p[i];
	return acc == 0;
}

int onion_wrap(uint8_t *body, size_t body_len, const struct onion_key *keys, unsigned e, uint64_t k,
               const uint8_t *msg, size_t len)
{
	size_t room = onion_room(body_len, e), at = e - 1;

	if (!room)
		return ONION_EDEPTH;
	if (len > room)
		return ONION_ESIZE;
	memset(body, 0, body_len);
	body[at] = ONION_FLAG_MINE;
	memcpy(body + at + 1, msg, len);
	onion_seal(body + at, room + 1, &keys[e - 1], k);
	for (unsigned d = e - 1; d >= 1; d--) {
		/* Layer d + 1 is at [d, d + L(d+1)): its flag byte goes just before it. */
		size_t inner = onion_layer_len(body_len, d + 1);

		body[d - 1] = ONION_FLAG_NEXT;
		onion_seal(body + d - 1, inner + 1, &keys[d - 1], k);
	}
	return 0;
}

int onion_peel(uint8_t *body, size_t body_len, unsigned d, const struct onion_key *key, uint64_t k)
{
	size_t l = onion_layer_len(body_len, d);

	if (!l)
		return ONION_EDEPTH;
	if (!onion_zero(body + l, body_len - l))
		return ONION_EPAD;
	if (!onion_open(body, l, key, k))
		return ONION_EAUTH;
	if (body[0] == ONION_FLAG_MINE)
		return ONION_MINE;
	if (body[0] != ONION_FLAG_NEXT)
		return ONION_EFLAG;
	/* The next layer is the l - 17 bytes after the flag: to the front, zeros after. */
	if (d == ONION_MAX_HOPS || !onion_layer_len(body_len, d + 1))
		return ONION_EDEPTH;
	memmove(body, body + 1, l - ONION_OVERHEAD);
	memset(body + l - ONION_OVERHEAD, 0, body_len - (l - ONION_OVERHEAD));
	return ONION_NEXT;
}

int onion_originate(uint8_t *body, size_t body_len, unsigned e, const struct onion_key *key,
                    uint64_t k, const uint8_t *msg, size_t len)
{
	size_t room = onion_room(body_len, e);

	if (!room)
		return ONION_EDEPTH;
	if (len > room)
		return ONION_ESIZE;
	memset(body, 0, body_len);
	body[0] = ONION_FLAG_MINE;
	memcpy(body + 1, msg, len);
	onion_seal(body, room + 1, key, k);
	return 0;
}

int onion_add(uint8_t *body, size_t body_len, unsigned d, const struct onion_key *key, uint64_t k)
{
	size_t inner = onion_layer_len(body_len, d + 1);

	if (d == 0 || d >= ONION_MAX_HOPS || !inner)
		return ONION_EDEPTH;
	if (!onion_zero(body + inner, body_len - inner))
		return ONION_EPAD;
	memmove(body + 1, body, inner);
	body[0] = ONION_FLAG_NEXT;
	onion_seal(body, inner + 1, key, k);
	return 0;
}

int onion_unwrap(uint8_t *body, size_t body_len, const struct onion_key *keys, unsigned n,
                 uint64_t k)
{
	if (n == 0 || n > ONION_MAX_HOPS || !onion_layer_len(body_len, n))
		return ONION_EDEPTH;
	for (unsigned d = 1; d <= n; d++) {
		size_t l = onion_layer_len(body_len, d);

		/* The outermost layer fills the body; a later one was moved to the front, zeros after. */
		if (!onion_open(body, l, &keys[d - 1], k))
			return ONION_EAUTH;
		if (body[0] == ONION_FLAG_MINE)
			return (int)d;
		if (body[0] != ONION_FLAG_NEXT || d == n)
			return ONION_EFLAG;
		memmove(body, body + 1, l - ONION_OVERHEAD);
	}
	return ONION_EFLAG;
}
