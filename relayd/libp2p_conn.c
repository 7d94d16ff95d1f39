/*
 * libp2p_conn.c: one libp2p connection of the relay (libp2p connections spec): a
 * non-blocking TCP socket on which multistream-select agrees on "/noise", the Noise XX
 * handshake with the relay as responder (each message behind a 2-byte big-endian length),
 * then Noise transport messages (2-byte length ‖ ciphertext of at most 65535 bytes) that
 * carry multistream-select for "/yamux/1.0.0" and then the yamux session, whose streams are
 * libp2p_proto.c's.
 *
 * Output is queued (P2P_QUEUE of ciphertext, then data stops being forwarded to the
 * connection and its own reading pauses: reading would only make more output) and written
 * before the loop sleeps. Plaintext frames fill a Noise message in place at the queue's end,
 * sealed when it is full or at the flush, so a burst of yamux frames costs one AEAD call per
 * 64 KiB and one write. Input is read into a buffer that holds one whole Noise message at
 * most, decrypted in place.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "libp2p_int.h"

#define PCONN_IN_MIN     4096
#define PCONN_IN_MAX     (2 + XXN_MAX_MSG)
#define PCONN_READS      4    /* reads per wake-up, so one busy peer does not starve the rest */
#define PCONN_HS_PAYLOAD 4096 /* a peer's handshake payload (key, signature, extensions) */

/* --- pbuf --- */

int pbuf_add(struct pbuf *b, const uint8_t *p, size_t n, size_t max)
{
	if (n == 0)
		return 0;
	if (b->len + n > max)
		return -ENOBUFS;
	if (b->off + b->len + n > b->cap) {
		if (b->off) {
			memmove(b->p, b->p + b->off, b->len);
			b->off = 0;
		}
		if (b->len + n > b->cap) {
			size_t cap = b->cap ? b->cap : 256;
			uint8_t *q;

			while (cap < b->len + n)
				cap *= 2;
			if (cap > max)
				cap = max;
			if (!(q = realloc(b->p, cap)))
				return -ENOBUFS;
			b->p = q;
			b->cap = cap;
		}
	}
	memcpy(b->p + b->off + b->len, p, n);
	b->len += n;
	return 0;
}

void pbuf_take(struct pbuf *b, size_t n)
{
	if (n >= b->len) {
		b->off = b->len = 0;
		return;
	}
	b->off += n;
	b->len -= n;
}

void pbuf_free(struct pbuf *b)
{
	free(b->p);
	*b = (struct pbuf){0};
}

/* --- output --- */

static size_t pconn_queued(const struct pconn *c)
{
	return c->out_len - c->out_off;
}

size_t pconn_room(const struct pconn *c)
{
	size_t q = pconn_queued(c);

	return c->failed || q >= P2P_QUEUE ? 0 : P2P_QUEUE - q;
}

/* Room for more bytes at the queue's end: compacted first, then grown. 0 or -ENOMEM. */
static int pconn_reserve(struct pconn *c, size_t more)
{
	size_t cap;
	uint8_t *q;

	if (c->out_len + more <= c->out_cap)
		return 0;
	if (c->out_off) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		if (c->out_msg != SIZE_MAX)
			c->out_msg -= c->out_off;
		c->out_len -= c->out_off;
		c->out_off = 0;
		if (c->out_len + more <= c->out_cap)
			return 0;
	}
	cap = c->out_cap ? c->out_cap : 16384;
	while (cap < c->out_len + more)
		cap *= 2;
	if (!(q = realloc(c->out, cap)))
		return -ENOMEM;
	c->out = q;
	c->out_cap = cap;
	return 0;
}

/* Encrypt the open Noise message in place (its tag room was reserved with its bytes). */
static void pconn_seal(struct pconn *c)
{
	size_t plain;
	int n;

	if (c->out_msg == SIZE_MAX)
		return;
	plain = c->out_len - c->out_msg - 2;
	if (plain == 0) {
		c->out_len = c->out_msg;
		c->out_msg = SIZE_MAX;
		return;
	}
	n = xxn_encrypt(&c->tx, c->out + c->out_msg + 2, plain, c->out + c->out_msg + 2,
	                plain + XXN_TAG);
	if (n < 0) { /* nonces spent: 2^64 messages, in theory */
		pconn_fail(c, P2P_REF_MAX, "nonces used up");
		return;
	}
	buf_store_be16(c->out + c->out_msg, (uint16_t)n);
	c->out_len = c->out_msg + 2 + (size_t)n;
	c->out_msg = SIZE_MAX;
}

/* After anything was queued: past the hard bound the peer is not reading; it goes. */
static void pconn_queued_check(struct pconn *c)
{
	if (pconn_queued(c) > P2P_QUEUE_HARD)
		pconn_fail(c, P2P_REF_OVERFLOW, "output queue overflow");
	else
		p2p_dirty(c->p, c);
}

/* Bytes that go as they are (the handshake's clear messages and multistream lines). */
static void pconn_raw(struct pconn *c, const uint8_t *p, size_t n)
{
	if (c->failed || n == 0)
		return;
	if (pconn_reserve(c, n) < 0) {
		pconn_fail(c, P2P_REF_MAX, "out of memory");
		return;
	}
	memcpy(c->out + c->out_len, p, n);
	c->out_len += n;
	pconn_queued_check(c);
}

void pconn_write(struct pconn *c, const uint8_t *p, size_t n)
{
	if (c->failed)
		return;
	while (n > 0) {
		size_t plain, k;

		if (c->out_msg == SIZE_MAX) {
			if (pconn_reserve(c, 2) < 0)
				goto nomem;
			c->out_msg = c->out_len;
			c->out_len += 2;
		}
		plain = c->out_len - c->out_msg - 2;
		k = n < XXN_MAX_PLAIN - plain ? n : XXN_MAX_PLAIN - plain;
		if (pconn_reserve(c, k + XXN_TAG) < 0)
			goto nomem;
		memcpy(c->out + c->out_len, p, k);
		c->out_len += k;
		p += k;
		n -= k;
		if (plain + k == XXN_MAX_PLAIN)
			pconn_seal(c);
	}
	pconn_queued_check(c);
	return;
nomem:
	pconn_fail(c, P2P_REF_MAX, "out of memory");
}

void pconn_fail(struct pconn *c, int reason, const char *why)
{
	if (c->failed)
		return;
	c->failed = true;
	c->fail_reason = (uint8_t)reason;
	snprintf(c->fail_why, sizeof(c->fail_why), "%s", why);
	p2p_dirty(c->p, c);
}

/* Watch what c needs: reading unless paused, writing while output waits. */
static void pconn_want(struct pconn *c)
{
	unsigned ev = (c->read_paused ? 0 : EV_READ) | (pconn_queued(c) ? EV_WRITE : 0);

	if (!ev) { /* paused with nothing queued cannot last: read again */
		c->read_paused = false;
		ev = EV_READ;
	}
	if (ev != c->events && ev_mod_io(c->p->r->loop, c->fd, ev) == 0)
		c->events = ev;
}

/* --- yamux glue --- */

static void pconn_y_write(void *ctx, const uint8_t *p, size_t len)
{
	pconn_write(ctx, p, len);
}

static const struct yamux_ops pconn_yamux_ops = {
    .write = pconn_y_write,
    .on_open = proto_on_open,
    .on_data = proto_on_data,
    .on_fin = proto_on_fin,
    .on_close = proto_on_close,
    .on_window = proto_on_window,
};

/* --- input --- */

static const char *const pconn_noise_protos[] = {P2P_PROTO_NOISE};
static const char *const pconn_mux_protos[] = {P2P_PROTO_YAMUX};

/* One Noise handshake message (without its length) in state PC_NOISE. */
static void pconn_handshake(struct pconn *c, const uint8_t *msg, size_t n)
{
	struct p2p *p = c->p;
	uint8_t payload[PCONN_HS_PAYLOAD], out[2 + 256], id_pk[32];
	int k, e;

	k = xxn_read(c->hs, msg, n, payload, sizeof(payload));
	if (k < 0) {
		pconn_fail(c, P2P_REF_NOISE, "noise handshake: bad message");
		return;
	}
	if (c->hs_step == 0) {
		/* -> e (its payload, empty from libp2p peers, is not looked at) */
		k = xxn_write(c->hs, p->payload, sizeof(p->payload), out + 2, sizeof(out) - 2);
		if (k < 0) {
			pconn_fail(c, P2P_REF_NOISE, "noise handshake: cannot answer");
			return;
		}
		buf_store_be16(out, (uint16_t)k);
		pconn_raw(c, out, 2 + (size_t)k);
		c->hs_step = 1;
		return;
	}
	/* -> s, se: the peer's static key and the payload binding it to its identity */
	e = xxn_payload_check(payload, (size_t)k, xxn_remote_static(c->hs), id_pk);
	if (e < 0 || !xxn_done(c->hs)) {
		pconn_fail(c, e == -EPROTONOSUPPORT ? P2P_REF_KEY : P2P_REF_NOISE,
		           e == -EPROTONOSUPPORT ? "identity key not Ed25519"
		                                 : "noise handshake: bad identity payload");
		return;
	}
	peerid_from_ed25519(id_pk, &c->remote);
	if (peerid_format(&c->remote, c->remote_str, sizeof(c->remote_str)) < 0)
		snprintf(c->remote_str, sizeof(c->remote_str), "?");
	xxn_split(c->hs, &c->tx, &c->rx);
	xxn_clear(c->hs);
	free(c->hs);
	c->hs = NULL;
	mss_listen_init(&c->mss);
	c->state = PC_MSS_MUX;
}

/* Decrypted plaintext in PC_MSS_MUX or PC_OPEN. */
static void pconn_plain(struct pconn *c, const uint8_t *pt, size_t n)
{
	struct p2p *p = c->p;
	char a[ADDR_STRLEN];
	int e;

	if (c->state == PC_MSS_MUX) {
		uint8_t lines[MSS_OUT_MAX];
		struct wbuf w;
		size_t used = 0;
		int chosen = -1;

		wbuf_init(&w, lines, sizeof(lines));
		e = mss_listen_input(&c->mss, pconn_mux_protos, 1, pt, n, &used, &w, &chosen);
		pconn_write(c, lines, w.pos);
		if (e < 0) {
			pconn_fail(c, P2P_REF_MSS, "no stream muxer agreed");
			return;
		}
		if (e == 0)
			return;
		c->y = yamux_new(true, (uint32_t)p->r->cfg.libp2p.max_streams + 1, &pconn_yamux_ops,
		                 c);
		if (!c->y) {
			pconn_fail(c, P2P_REF_MAX, "out of memory");
			return;
		}
		c->state = PC_OPEN;
		p->n_open++;
		p->accepted++;
		log_debug("libp2p: %s from %s up", c->remote_str,
		          addr_format(&c->peer, a, sizeof(a)));
		pt += used;
		n -= used;
		if (n == 0)
			return;
	}
	e = yamux_input(c->y, pt, n);
	if (e == -ECONNRESET) {
		pconn_fail(c, P2P_REF_MAX, "peer went away");
	} else if (e < 0) {
		yamux_goaway(c->y, YAMUX_GOAWAY_PROTO);
		pconn_fail(c, P2P_REF_YAMUX, "yamux protocol violation");
	}
}

/* Take whole messages from the front of c->in, while c neither failed nor paused. */
static void pconn_process(struct pconn *c)
{
	size_t off = 0;

	while (!c->failed && !c->read_paused && off < c->in_len) {
		uint8_t *q = c->in + off;
		size_t avail = c->in_len - off, len;
		int k;

		if (c->state == PC_MSS) {
			uint8_t lines[MSS_OUT_MAX];
			struct wbuf w;
			size_t used = 0;
			int chosen = -1;

			wbuf_init(&w, lines, sizeof(lines));
			k = mss_listen_input(&c->mss, pconn_noise_protos, 1, q, avail, &used, &w,
			                     &chosen);
			pconn_raw(c, lines, w.pos);
			if (k < 0) {
				pconn_fail(c, P2P_REF_MSS, "no security protocol agreed");
				break;
			}
			off += used;
			if (k == 1) {
				if (!(c->hs = malloc(sizeof(*c->hs)))) {
					pconn_fail(c, P2P_REF_MAX, "out of memory");
					break;
				}
				xxn_init(c->hs, XXN_RESPONDER, c->p->noise_priv);
				c->state = PC_NOISE;
			}
			continue;
		}
		if (avail < 2)
			break;
		len = buf_load_be16(q);
		if (avail < 2 + len)
			break;
		if (c->state == PC_NOISE) {
			pconn_handshake(c, q + 2, len);
		} else {
			/* Reading would only queue more output for a peer that does not read. */
			if (pconn_room(c) == 0) {
				c->read_paused = true;
				break;
			}
			k = xxn_decrypt(&c->rx, q + 2, len, q + 2, len);
			if (k < 0) {
				pconn_fail(c, P2P_REF_DECRYPT, "transport message not authentic");
				break;
			}
			pconn_plain(c, q + 2, (size_t)k);
		}
		off += 2 + len;
	}
	if (off) {
		memmove(c->in, c->in + off, c->in_len - off);
		c->in_len -= off;
	}
}

/*
 * Room in c->in for the message at its front: a small buffer while messages are small (an
 * idle peer's pings), one whole message (up to 64 KiB) for bulk data. 0 or -ENOMEM.
 */
static int pconn_in_room(struct pconn *c)
{
	size_t want = PCONN_IN_MIN;
	uint8_t *q;

	if (c->state != PC_MSS && c->in_len >= 2 && 2 + (size_t)buf_load_be16(c->in) > want)
		want = 2 + (size_t)buf_load_be16(c->in);
	if (c->in_cap >= want && c->in_len < c->in_cap)
		return 0;
	if (c->in_len == c->in_cap && want < PCONN_IN_MAX && want <= c->in_cap)
		want = c->in_cap * 2 > PCONN_IN_MAX ? PCONN_IN_MAX : c->in_cap * 2;
	if (!(q = realloc(c->in, want)))
		return -ENOMEM;
	c->in = q;
	c->in_cap = want;
	return 0;
}

static void pconn_read(struct pconn *c)
{
	for (int i = 0; i < PCONN_READS && !c->failed && !c->read_paused; i++) {
		ssize_t n;

		if (pconn_in_room(c) < 0) {
			pconn_fail(c, P2P_REF_MAX, "out of memory");
			return;
		}
		n = recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, MSG_DONTWAIT);
		if (n == 0) {
			pconn_fail(c, P2P_REF_MAX, "closed by the peer");
			return;
		}
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				pconn_fail(c, P2P_REF_MAX, strerror(errno));
			else if (c->in_len == 0 && c->in_cap > PCONN_IN_MIN) {
				/* Drained: a quiet peer (a reservation waiting) keeps no big buffer. */
				free(c->in);
				c->in = NULL;
				c->in_cap = 0;
			}
			return;
		}
		c->in_len += (size_t)n;
		c->bytes_in += (uint64_t)n;
		pconn_process(c);
	}
}

static void pconn_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct p2p *p = arg;
	struct pconn *c = (size_t)fd < p->nfd ? p->by_fd[fd] : NULL;

	(void)loop;
	if (!c)
		return;
	if (events & EV_READ) {
		if (c->read_paused)
			pconn_flush(c); /* a hang-up also reads as readable: the write finds it */
		else
			pconn_read(c);
	}
	if (c->failed) {
		pconn_end(c, NULL);
		return;
	}
	if (events & EV_WRITE)
		p2p_dirty(p, c);
	pconn_want(c);
}

/* Seal and send what the socket takes now; -errno when the connection failed. */
static int pconn_send(struct pconn *c)
{
	pconn_seal(c);
	while (c->out_off < c->out_len) {
		ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off,
		                 MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n > 0) {
			c->out_off += (size_t)n;
			c->bytes_out += (uint64_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		pconn_fail(c, P2P_REF_MAX, n < 0 ? strerror(errno) : "send failed");
		return -EPIPE;
	}
	return 0;
}

void pconn_flush(struct pconn *c)
{
	if (c->failed || pconn_send(c) < 0)
		return;
	if (c->out_off == c->out_len) {
		/* Idle connections (a reservation waiting) keep no output buffer. */
		free(c->out);
		c->out = NULL;
		c->out_off = c->out_len = c->out_cap = 0;
	}
	if (c->read_paused && pconn_queued(c) < P2P_QUEUE / 2) {
		c->read_paused = false;
		pconn_process(c); /* what was read before the pause */
		if (c->failed)
			return;
	}
	if (c->want_room && pconn_room(c) > 0) {
		c->want_room = false;
		proto_room(c);
	}
	pconn_want(c);
}

int pconn_accept(struct p2p *p, int fd, const struct addr *peer, struct srccount *src)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct pconn *c = calloc(1, sizeof(*c));
	int one = 1, e;

	if (!c || table_put(&p->by_id, p->next_id + 1, c) < 0) {
		free(c);
		close(fd);
		return -ENOMEM;
	}
	c->p = p;
	c->fd = fd;
	c->id = ++p->next_id;
	c->src = src;
	c->peer = *peer;
	c->out_msg = SIZE_MAX;
	c->accepted_ms = ev_now_ms(p->r->loop);
	c->state = PC_MSS;
	mss_listen_init(&c->mss);
	stats_budget_init(&c->log, c->accepted_ms, false);
	if (getsockname(fd, (struct sockaddr *)&ss, &sl) == 0) {
		addr_from_sockaddr(&c->local, (struct sockaddr *)&ss, sl);
		addr_unmap(&c->local);
	}
	/* Our own batching decides when bytes go: no Nagle delay on top of it. */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	c->events = EV_READ;
	if ((e = ev_add_io(p->r->loop, fd, EV_READ, pconn_io, p)) < 0) {
		table_del(&p->by_id, c->id);
		close(fd);
		free(c);
		return e;
	}
	c->pos = p->n;
	p->list[p->n++] = c;
	p->by_fd[fd] = c;
	return 0;
}

void pconn_end(struct pconn *c, const char *why)
{
	struct p2p *p = c->p;
	char a[ADDR_STRLEN];

	if (c->failed) {
		why = c->fail_why;
		if (c->fail_reason < P2P_REF_MAX)
			p2p_refused(p, (enum p2p_refusal)c->fail_reason, &c->peer);
	}
	log_debug("libp2p: connection %s from %s closed: %s", *c->remote_str ? c->remote_str : "-",
	          addr_format(&c->peer, a, sizeof(a)), why);
	if (c->state == PC_OPEN) {
		proto_conn_gone(c, P2P_CEND_CONNECTION);
		p->n_open--;
	}
	resv_conn_gone(p->resv, c->id);
	/* What is queued (a GO_AWAY, answers) still goes if the socket takes it at once. */
	if (!c->failed || c->fail_reason == P2P_REF_YAMUX)
		pconn_send(c);
	ev_del_io(p->r->loop, c->fd);
	close(c->fd);
	p2p_conn_forget(p, c);
	yamux_free(c->y);
	if (c->hs) {
		xxn_clear(c->hs);
		free(c->hs);
	}
	sodium_memzero(&c->tx, sizeof(c->tx));
	sodium_memzero(&c->rx, sizeof(c->rx));
	free(c->in);
	free(c->out);
	free(c);
}
