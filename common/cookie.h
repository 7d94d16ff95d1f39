/*
 * cookie.h: mac1, mac2 and cookie replies (PROTOCOL.md §4.3), WireGuard's scheme with
 * BLAKE2b: mac1 proves the sender knows the relay's public key and is checked before any DH;
 * under load the relay answers with an encrypted cookie bound to the source address, and then
 * requires mac2 made with it.
 */
#ifndef WGR_COOKIE_H
#define WGR_COOKIE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct addr;

/* Relay side. The secret rotates every PROTO_COOKIE_SECRET_MS. */
struct cookie_checker {
	uint8_t mac1_key[32];
	uint8_t cookie_key[32];
	uint8_t secret[32];
	uint64_t secret_birth_ms;
};

/* Client side: the last cookie received, valid for PROTO_COOKIE_SECRET_MS. */
struct cookie_maker {
	uint8_t mac1_key[32];
	uint8_t cookie_key[32];
	uint8_t cookie[PROTO_MAC_LEN];
	uint64_t cookie_birth_ms; /* 0 = none */
	uint8_t last_mac1[PROTO_MAC_LEN];
	bool have_last_mac1;
};

void cookie_checker_init(struct cookie_checker *c, const uint8_t relay_pub[32]);
void cookie_maker_init(struct cookie_maker *m, const uint8_t relay_pub[32]);

/*
 * msg is a whole handshake frame whose last 32 bytes are mac1 || mac2. cookie_add_macs fills
 * them (mac2 only with a fresh cookie, else zero). cookie_check_mac1 is constant-time.
 */
void cookie_add_macs(struct cookie_maker *m, uint8_t *msg, size_t len, uint64_t now_ms);
bool cookie_check_mac1(const struct cookie_checker *c, const uint8_t *msg, size_t len);
bool cookie_check_mac2(struct cookie_checker *c, const uint8_t *msg, size_t len,
                       const struct addr *src, uint64_t now_ms);

/*
 * Build the PROTO_COOKIE frame answering msg (whose sender index is receiver_index) from src:
 * out must hold PROTO_COOKIE_LEN bytes.
 */
void cookie_make_reply(struct cookie_checker *c, uint8_t out[PROTO_COOKIE_LEN],
                       uint32_t receiver_index, const uint8_t *msg, size_t len,
                       const struct addr *src, uint64_t now_ms);
/* Client: take a cookie reply; 0, or -EBADMSG when it does not open against our last mac1. */
int cookie_consume_reply(struct cookie_maker *m, const uint8_t *frame, size_t len, uint64_t now_ms);

#endif
