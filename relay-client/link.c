/* link.c: one control link from the helper to a relay. */
#include "link.h"

#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "frame.h"
#include "handshake.h"
#include "log.h"
#include "proto.h"

struct link_priv {
	struct hs_client hs;
	struct link_keys keys;
};

#define HS_RETRY_MS   5000
#define PING_MS       5000
#define PING_RETRY_MS 1000
/* 16 s without a PONG or a CTRL frame: the relay is gone (its peers fail over). */
#define LINK_DEAD_MS (3 * PING_MS + 1000)

int link_new(struct link **out, const uint8_t relay_pub[32], const struct addr *relay,
             const uint8_t client_priv[32], uint32_t fwmark)
{
	struct link *l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->priv = sodium_malloc(sizeof(*l->priv));
	if (!l->priv) {
		free(l);
		return -ENOMEM;
	}
	memset(l->priv, 0, sizeof(*l->priv));
	memcpy(l->relay_pub, relay_pub, 32);
	l->relay = *relay;
	addr_unmap(&l->relay);
	l->rtt_ms = -1;
	l->fd = socket(addr_family(&l->relay), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (l->fd < 0) {
		int e = -errno;
		sodium_free(l->priv);
		free(l);
		return e;
	}
	/* Full-tunnel setups: our control traffic must bypass the tunnel like WireGuard's. */
	if (fwmark && setsockopt(l->fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		log_warn("link: SO_MARK %u", fwmark);
	if (connect(l->fd, &l->relay.sa, l->relay.len) < 0) {
		int e = -errno;
		close(l->fd);
		sodium_free(l->priv);
		free(l);
		return e;
	}
	hs_client_init(&l->priv->hs, client_priv, relay_pub);
	*out = l;
	return 0;
}

static void send_raw(struct link *l, const uint8_t *p, size_t len, int64_t now_ms)
{
	if (send(l->fd, p, len, 0) < 0)
		log_debug("link: send: %s", strerror(errno));
	else
		l->last_tx_ms = now_ms;
}

static int send_ctrl(struct link *l, const struct ctrl_msg *m, int64_t now_ms)
{
	uint8_t pt[PROTO_MAX_CTRL_PLAIN], fr[PROTO_MAX_CTRL_PLAIN + PROTO_SEALED_OVERHEAD];
	int n = ctrl_encode(m, pt, sizeof(pt));
	if (n < 0 || l->state != LINK_UP)
		return n < 0 ? n : -ENOTCONN;
	struct link_keys *k = &l->priv->keys;
	int f = frame_seal_ctrl(fr, sizeof(fr), k->remote_index, k->ctrl_send_counter++,
	                        k->ctrl_send, pt, (size_t)n);
	sodium_memzero(pt, sizeof(pt));
	if (f < 0)
		return f;
	send_raw(l, fr, (size_t)f, now_ms);
	return 0;
}

void link_free(struct link *l)
{
	if (!l)
		return;
	for (size_t i = 0; i < LINK_MAX_BINDS; i++)
		if (l->binds[i].in_use && l->binds[i].handle)
			link_unbind(l, l->binds[i].sid, l->last_tx_ms);
	close(l->fd);
	link_keys_clear(&l->priv->keys);
	sodium_free(l->priv);
	free(l);
}

struct link_bind *link_find(struct link *l, const uint8_t sid[16])
{
	for (size_t i = 0; i < LINK_MAX_BINDS; i++)
		if (l->binds[i].in_use && memcmp(l->binds[i].sid, sid, 16) == 0)
			return &l->binds[i];
	return NULL;
}

struct link_bind *link_bind(struct link *l, const uint8_t sid[16])
{
	struct link_bind *b = link_find(l, sid);
	if (b)
		return b;
	for (size_t i = 0; i < LINK_MAX_BINDS; i++) {
		if (!l->binds[i].in_use) {
			b = &l->binds[i];
			memset(b, 0, sizeof(*b));
			memcpy(b->sid, sid, 16);
			b->in_use = true;
			return b;
		}
	}
	return NULL;
}

void link_unbind(struct link *l, const uint8_t sid[16], int64_t now_ms)
{
	struct link_bind *b = link_find(l, sid);
	if (!b)
		return;
	if (b->handle && l->state == LINK_UP) {
		struct ctrl_msg m = {.type = CTRL_UNBIND, .handle = b->handle};
		send_ctrl(l, &m, now_ms);
	}
	memset(b, 0, sizeof(*b));
}

static void start_handshake(struct link *l, int64_t now_ms)
{
	uint8_t init[PROTO_HS_INIT_LEN];
	hs_client_build_init(&l->priv->hs, init, (uint64_t)now_ms);
	send_raw(l, init, sizeof(init), now_ms);
	l->hs_sent_ms = now_ms;
	if (l->state == LINK_DOWN)
		l->state = LINK_HANDSHAKE;
}

/* Forget the relay's state: rebind everything once a new handshake succeeds. */
static void link_mark_down(struct link *l, const char *why)
{
	log_info("link %s: %s, reconnecting", addr_format(&l->relay, (char[64]){0}, 64), why);
	l->state = LINK_DOWN;
	l->hs_sent_ms = 0;
	for (size_t i = 0; i < LINK_MAX_BINDS; i++)
		l->binds[i].sent = false, l->binds[i].state = 0, l->binds[i].port = 0;
}

void link_tick(struct link *l, int64_t now_ms)
{
	/*
	 * After a PING goes unanswered, ping every second until something comes back: a lossy
	 * link (10 % each way loses a PING round trip one time in five) must not lose three in a
	 * row and be taken for a dead relay, while a dead one is still declared after 16 s.
	 */
	bool missed = l->state == LINK_UP && l->ping_nonce &&
	              now_ms - l->ping_sent_ms >= PING_RETRY_MS &&
	              now_ms - l->last_rx_ms >= PING_MS;
	if (now_ms - l->ping_sent_ms >= PING_MS || missed) {
		uint8_t ping[PROTO_PING_LEN];
		randombytes_buf(&l->ping_nonce, sizeof(l->ping_nonce));
		frame_encode_ping(ping, l->ping_nonce);
		send_raw(l, ping, sizeof(ping), now_ms);
		l->ping_sent_ms = now_ms;
	}
	if (l->state == LINK_UP && now_ms - l->last_rx_ms > LINK_DEAD_MS)
		link_mark_down(l, "silent");
	if (l->state != LINK_UP) {
		if (now_ms - l->hs_sent_ms >= HS_RETRY_MS)
			start_handshake(l, now_ms);
		return;
	}
	/* Rekey before the relay would, keeping the old keys until the response arrives. */
	if (now_ms - l->up_since_ms >= PROTO_REKEY_AFTER_MS &&
	    now_ms - l->hs_sent_ms >= HS_RETRY_MS)
		start_handshake(l, now_ms);
	for (size_t i = 0; i < LINK_MAX_BINDS; i++) {
		struct link_bind *b = &l->binds[i];
		if (!b->in_use || b->sent)
			continue;
		struct ctrl_msg m = {.type = CTRL_BIND, .mode = PROTO_MODE_DIRECT};
		memcpy(m.sid, b->sid, 16);
		if (send_ctrl(l, &m, now_ms) == 0)
			b->sent = true;
	}
	if (now_ms - l->last_tx_ms >= PROTO_KEEPALIVE_MS) {
		struct ctrl_msg m = {.type = CTRL_KEEPALIVE};
		send_ctrl(l, &m, now_ms);
	}
}

static void handle_ctrl(struct link *l, const struct ctrl_msg *m)
{
	struct link_bind *b;
	switch (m->type) {
	case CTRL_BOUND:
		b = link_find(l, m->sid);
		if (!b)
			return;
		b->handle = m->handle;
		b->state = m->state;
		b->port = m->port;
		b->error = 0;
		break;
	case CTRL_PEER_ACTIVE:
		b = link_find(l, m->sid);
		if (b)
			b->peer_active = true;
		break;
	case CTRL_ERROR:
		l->last_error = m->code;
		if (m->code == PROTO_ERR_SHUTDOWN) {
			link_mark_down(l, "relay shutting down");
			break;
		}
		b = link_find(l, m->sid);
		if (b) {
			b->error = m->code;
			b->state = 0;
			/*
			 * The relay ended the circuit (its duration or byte allowance is used
			 * up): bind again at once, so both sides re-form it on a fresh port.
			 */
			if (m->code == PROTO_ERR_CIRCUIT_LIMIT_REACHED)
				b->sent = false;
		}
		log_info("link %s: error %u (%s)", addr_format(&l->relay, (char[64]){0}, 64),
		         m->code, m->text);
		break;
	default:
		break;
	}
}

void link_readable(struct link *l, int64_t now_ms)
{
	uint8_t buf[2048], pt[PROTO_MAX_CTRL_PLAIN];
	struct frame_pong pong;
	struct ctrl_msg m;

	for (int k = 0; k < 64; k++) {
		ssize_t n = recv(l->fd, buf, sizeof(buf), 0);
		if (n < 0)
			return;
		int type = frame_check(buf, (size_t)n);
		switch (type) {
		case PROTO_PONG:
			if (frame_decode_pong(buf, (size_t)n, &pong) == 0 &&
			    pong.nonce == l->ping_nonce) {
				l->rtt_ms = (int)(now_ms - l->ping_sent_ms);
				if (l->rtt_ms < 1)
					l->rtt_ms = 1;
				l->load_permille = pong.load_permille;
				l->last_rx_ms = now_ms; /* the relay is alive */
				l->pong_flags = pong.flags;
				l->observed = pong.observed;
				l->ping_nonce = 0;
				continue;
			}
			break;
		case PROTO_HS_RESP:
			if (hs_client_consume_resp(&l->priv->hs, buf, (size_t)n, &l->priv->keys,
			                           &l->observed) == 0) {
				l->state = LINK_UP;
				l->up_since_ms = l->last_rx_ms = now_ms;
				l->last_error = 0;
				/* New keys: the relay needs our bindings again (rebind replaces). */
				for (size_t i = 0; i < LINK_MAX_BINDS; i++)
					l->binds[i].sent = false;
				link_tick(l, now_ms);
				continue;
			}
			break;
		case PROTO_COOKIE:
			if (hs_client_consume_cookie(&l->priv->hs, buf, (size_t)n,
			                             (uint64_t)now_ms) == 0) {
				l->hs_sent_ms = 0; /* retry with mac2 on the next tick */
				continue;
			}
			break;
		case PROTO_CTRL: {
			if (l->state != LINK_UP)
				break;
			int r = frame_open_ctrl(buf, (size_t)n, l->priv->keys.ctrl_recv,
			                        &l->priv->keys.ctrl_replay, pt, sizeof(pt));
			if (r > 0 && ctrl_decode(pt, (size_t)r, &m) == 0) {
				l->last_rx_ms = now_ms;
				handle_ctrl(l, &m);
				sodium_memzero(pt, sizeof(pt));
				continue;
			}
			break;
		}
		default:
			break;
		}
		l->dropped++;
	}
}
