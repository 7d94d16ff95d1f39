/* cookie.c: mac1, mac2 and cookie replies (see cookie.h). */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "addr.h"
#include "buf.h"
#include "cookie.h"

#define COOKIE_LABEL_MAC1   "mac1----"
#define COOKIE_LABEL_COOKIE "cookie--"

/* BLAKE2b-256(label || relay public key): the two keys every client can compute. */
static void cookie_derive(uint8_t out[32], const char *label, const uint8_t relay_pub[32])
{
	uint8_t in[8 + 32];

	memcpy(in, label, 8);
	memcpy(in + 8, relay_pub, 32);
	crypto_generichash(out, 32, in, sizeof(in), NULL, 0);
}

static void cookie_mac(uint8_t out[PROTO_MAC_LEN], const uint8_t *key, size_t keylen,
                       const uint8_t *data, size_t len)
{
	crypto_generichash(out, PROTO_MAC_LEN, data, len, key, keylen);
}

void cookie_checker_init(struct cookie_checker *c, const uint8_t relay_pub[32])
{
	memset(c, 0, sizeof(*c));
	cookie_derive(c->mac1_key, COOKIE_LABEL_MAC1, relay_pub);
	cookie_derive(c->cookie_key, COOKIE_LABEL_COOKIE, relay_pub);
}

void cookie_maker_init(struct cookie_maker *m, const uint8_t relay_pub[32])
{
	memset(m, 0, sizeof(*m));
	cookie_derive(m->mac1_key, COOKIE_LABEL_MAC1, relay_pub);
	cookie_derive(m->cookie_key, COOKIE_LABEL_COOKIE, relay_pub);
}

void cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ms)
{
	uint8_t *mac1 = msg + len - 2 * PROTO_MAC_LEN, *mac2 = mac1 + PROTO_MAC_LEN;

	cookie_mac(mac1, m->mac1_key, sizeof(m->mac1_key), msg, (size_t)(mac1 - msg));
	memcpy(m->last_mac1, mac1, PROTO_MAC_LEN);
	m->have_last_mac1 = true;
	if (m->cookie_birth_ms && now_ms - m->cookie_birth_ms < PROTO_COOKIE_SECRET_MS)
		cookie_mac(mac2, m->cookie, PROTO_MAC_LEN, msg, (size_t)(mac2 - msg));
	else
		memset(mac2, 0, PROTO_MAC_LEN);
}

bool cookie_check_mac1(const struct cookie_checker *c, const uint8_t *msg, size_t len)
{
	uint8_t want[PROTO_MAC_LEN];
	const uint8_t *mac1;

	if (len < 2 * PROTO_MAC_LEN)
		return false;
	mac1 = msg + len - 2 * PROTO_MAC_LEN;
	cookie_mac(want, c->mac1_key, sizeof(c->mac1_key), msg, (size_t)(mac1 - msg));
	return sodium_memcmp(want, mac1, PROTO_MAC_LEN) == 0;
}

/* The cookie of a source address: MAC(secret, family || port || address). */
static void cookie_for(struct cookie_checker *c, uint8_t out[PROTO_MAC_LEN], const struct addr *src,
                       uint64_t now_ms)
{
	uint8_t in[19] = {0};
	uint16_t port = addr_port(src);

	if (!c->secret_birth_ms || now_ms - c->secret_birth_ms >= PROTO_COOKIE_SECRET_MS) {
		randombytes_buf(c->secret, sizeof(c->secret));
		c->secret_birth_ms = now_ms ? now_ms : 1;
	}
	in[0] = (uint8_t)addr_family(src);
	buf_store_be16(in + 1, port);
	if (addr_family(src) == AF_INET)
		memcpy(in + 3, &src->in.sin_addr, 4);
	else if (addr_family(src) == AF_INET6)
		memcpy(in + 3, &src->in6.sin6_addr, 16);
	cookie_mac(out, c->secret, sizeof(c->secret), in, sizeof(in));
}

bool cookie_check_mac2(struct cookie_checker *c, const uint8_t *msg, size_t len,
                       const struct addr *src, uint64_t now_ms)
{
	uint8_t cookie[PROTO_MAC_LEN], want[PROTO_MAC_LEN];
	const uint8_t *mac2;
	bool ok;

	if (len < 2 * PROTO_MAC_LEN)
		return false;
	mac2 = msg + len - PROTO_MAC_LEN;
	cookie_for(c, cookie, src, now_ms);
	cookie_mac(want, cookie, sizeof(cookie), msg, (size_t)(mac2 - msg));
	ok = sodium_memcmp(want, mac2, PROTO_MAC_LEN) == 0;
	sodium_memzero(cookie, sizeof(cookie));
	return ok;
}

void cookie_make_reply(struct cookie_checker *c, uint8_t out[PROTO_COOKIE_LEN],
                       uint32_t receiver_index, const uint8_t *msg, size_t len,
                       const struct addr *src, uint64_t now_ms)
{
	const uint8_t *mac1 = msg + len - 2 * PROTO_MAC_LEN;
	uint8_t cookie[PROTO_MAC_LEN], *nonce = out + 8;

	out[0] = PROTO_MAGIC;
	out[1] = PROTO_COOKIE;
	out[2] = out[3] = 0;
	buf_store_be32(out + 4, receiver_index);
	randombytes_buf(nonce, PROTO_COOKIE_NONCE);
	cookie_for(c, cookie, src, now_ms);
	crypto_aead_xchacha20poly1305_ietf_encrypt(out + 8 + PROTO_COOKIE_NONCE, NULL, cookie,
	                                           sizeof(cookie), mac1, PROTO_MAC_LEN, NULL, nonce,
	                                           c->cookie_key);
	sodium_memzero(cookie, sizeof(cookie));
}

int cookie_consume_reply(struct cookie_maker *m, const uint8_t *frame, size_t len, uint64_t now_ms)
{
	uint8_t cookie[PROTO_MAC_LEN];

	if (len != PROTO_COOKIE_LEN || frame[0] != PROTO_MAGIC || frame[1] != PROTO_COOKIE ||
	    frame[2] || frame[3] || !m->have_last_mac1)
		return -EBADMSG;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(
	        cookie, NULL, NULL, frame + 8 + PROTO_COOKIE_NONCE, PROTO_MAC_LEN + PROTO_TAG_LEN,
	        m->last_mac1, PROTO_MAC_LEN, frame + 8, m->cookie_key) != 0)
		return -EBADMSG;
	memcpy(m->cookie, cookie, sizeof(cookie));
	m->cookie_birth_ms = now_ms ? now_ms : 1;
	m->have_last_mac1 = false; /* one reply per request */
	sodium_memzero(cookie, sizeof(cookie));
	return 0;
}
