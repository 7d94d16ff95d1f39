/*
 * link.h: the helper's control link to one relay (PROTOCOL.md §3-§5): PING for RTT and load,
 * Noise IK handshake as initiator with the helper's identity key, BIND/BOUND per sid,
 * KEEPALIVE, PEER_ACTIVE. Non-blocking; the caller polls link_fd and calls link_tick each
 * second. Bad frames are dropped and counted.
 */
#ifndef WGR_LINK_H
#define WGR_LINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define LINK_MAX_BINDS 256

enum link_state { LINK_DOWN, LINK_HANDSHAKE, LINK_UP };

struct link_bind {
	uint8_t sid[16];
	bool in_use;
	bool sent;        /* BIND sent on the current link keys */
	uint8_t state;    /* 0 none yet, PROTO_WAITING, PROTO_PAIRED */
	uint16_t port;    /* relay port of a paired direct session */
	uint32_t handle;  /* from BOUND */
	bool peer_active; /* PEER_ACTIVE seen since the caller last cleared it */
	uint16_t error;   /* last ERROR code about this sid, 0 none */
};

struct link {
	uint8_t relay_pub[32];
	struct addr relay;
	enum link_state state;
	int fd;
	int rtt_ms; /* last PONG, -1 unknown */
	uint16_t load_permille, pong_flags;
	uint16_t last_error; /* last ERROR on the link, 0 none */
	struct addr observed;
	int64_t last_rx_ms, last_tx_ms, hs_sent_ms, ping_sent_ms, up_since_ms;
	uint64_t ping_nonce;
	uint64_t dropped; /* malformed, unauthentic or unexpected frames */
	struct link_bind binds[LINK_MAX_BINDS];
	struct link_priv *priv; /* keys and Noise state */
};

/* A link to relay (key relay_pub) using identity client_priv; SO_MARK when fwmark != 0. */
int link_new(struct link **out, const uint8_t relay_pub[32], const struct addr *relay,
             const uint8_t client_priv[32], uint32_t fwmark);
/* Sends UNBIND for bound sids when up; wipes keys. NULL ok. */
void link_free(struct link *l);
/* Handshake, rekey, keepalive, PING every 10 s, (re)send BINDs. */
void link_tick(struct link *l, int64_t now_ms);
/* Read and handle every pending datagram. */
void link_readable(struct link *l, int64_t now_ms);
/* Bind (idempotent) or forget a sid; link_bind returns the slot or NULL when full. */
struct link_bind *link_bind(struct link *l, const uint8_t sid[16]);
struct link_bind *link_find(struct link *l, const uint8_t sid[16]);
void link_unbind(struct link *l, const uint8_t sid[16], int64_t now_ms);

#endif
