/*
 * handshake.h: establishing a link between a client (helper) and a relay (PROTOCOL.md §4):
 * Noise IK inside HS_INIT / HS_RESP frames, mac1/mac2 and cookie replies, the TAI64N
 * timestamp against replayed initiations, and the observed address in the response.
 */
#ifndef WGR_HANDSHAKE_H
#define WGR_HANDSHAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cookie.h"
#include "noise.h"
#include "proto.h"
#include "replay.h"

/* The keys and counters of an established link, one per client on each relay. */
struct link_keys {
	uint8_t ctrl_send[32], ctrl_recv[32]; /* Noise transport keys: CTRL frames */
	uint8_t data_send[32], data_recv[32]; /* derived: DATA frames (seal.h) */
	uint64_t ctrl_send_counter;
	struct replay ctrl_replay;
	uint32_t local_index;  /* index the peer puts in frames it sends us */
	uint32_t remote_index; /* index we put in frames we send */
	uint8_t peer_static[32];
};
void link_keys_clear(struct link_keys *k);

/* Client side. */
struct hs_client {
	struct noise_hs hs;
	struct cookie_maker cookies;
	uint8_t priv[32];
	uint8_t relay_pub[32];
	uint32_t local_index;
	bool pending;
};
void hs_client_init(struct hs_client *c, const uint8_t client_priv[32],
                    const uint8_t relay_pub[32]);
/* A fresh HS_INIT (new ephemeral key, timestamp, index): PROTO_HS_INIT_LEN bytes into out. */
void hs_client_build_init(struct hs_client *c, uint8_t out[PROTO_HS_INIT_LEN], uint64_t now_ms);
/* Take HS_RESP: 0 and keys + the address the relay saw us at, or a frame_err / -errno. */
int hs_client_consume_resp(struct hs_client *c, const uint8_t *frame, size_t len,
                           struct link_keys *keys, struct addr *observed);
/* Take a COOKIE reply to our last HS_INIT; the next HS_INIT then carries mac2. */
int hs_client_consume_cookie(struct hs_client *c, const uint8_t *frame, size_t len,
                             uint64_t now_ms);

/* Relay side. */
struct hs_relay {
	uint8_t priv[32], pub[32];
	struct cookie_checker cookies;
};
/* What an authentic initiation says, kept until the relay decides to answer. */
struct hs_pending {
	struct noise_hs hs;
	uint32_t sender_index;
	uint8_t client_pub[32];
	uint8_t tai64n[PROTO_TAI64N_LEN];
};
enum hs_verdict {
	HS_ACCEPT = 0, /* authentic: check timestamp and admission, then hs_relay_finish */
	HS_COOKIE = 1, /* under load without a valid mac2: send the cookie reply in cookie_out */
};
void hs_relay_init(struct hs_relay *r, const uint8_t relay_priv[32]);
/*
 * Check HS_INIT from src: mac1 first (no DH for garbage), mac2 when under_load, then Noise.
 * Returns HS_ACCEPT, HS_COOKIE (cookie_out filled, PROTO_COOKIE_LEN bytes), or a frame_err:
 * FRAME_EMAC for a wrong mac1, FRAME_EAUTH when the Noise message does not open.
 */
int hs_relay_open_init(struct hs_relay *r, const uint8_t *frame, size_t len, const struct addr *src,
                       bool under_load, uint64_t now_ms, struct hs_pending *p,
                       uint8_t cookie_out[PROTO_COOKIE_LEN]);
/* Write HS_RESP (PROTO_HS_RESP_LEN bytes) telling the client its observed address. */
void hs_relay_finish(struct hs_pending *p, uint32_t local_index, const struct addr *observed,
                     uint8_t out[PROTO_HS_RESP_LEN], struct link_keys *keys);

/* TAI64N of the wall clock, big-endian: later timestamps compare greater with memcmp. */
void hs_tai64n_now(uint8_t out[PROTO_TAI64N_LEN]);

#endif
