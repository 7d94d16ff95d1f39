/*
 * yamux.c: the yamux session (yamux.h). A byte-at-a-time header reader, DATA payloads passed
 * through in whatever pieces arrive, per-stream windows, and a stream table hashed by id.
 *
 * Re-entrancy: owners call back into the session from its callbacks. A stream that ends is
 * taken out of the table at once (so later frames for its id are ignored) and queued; its
 * on_close runs and its memory goes only when no callback is running, so no pointer a
 * callback holds dangles. After every callback the code looks the stream up again by id
 * instead of trusting a pointer it held before.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "yamux.h"

/* The largest DATA frame we send: streams sharing the connection take turns at this grain. */
#define YAMUX_MAX_FRAME (16u * 1024)
/* Upper bound on max_streams, so the table's size cannot overflow. */
#define YAMUX_MAX_STREAMS (1u << 16)

struct ystream {
	struct yamux_stream s; /* first: the public part */
	struct ystream *next;  /* closing queue */
	bool dead;             /* out of the table, on_close pending or running */
	uint32_t recv_max;     /* the receive window in all: YAMUX_WINDOW until yamux_grow */
};

struct yamux {
	struct yamux_ops ops;
	void *ctx;
	bool server;
	uint32_t max_streams;
	uint32_t next_id;     /* the next id we open (0 when used up) */
	uint32_t max_peer_id; /* highest id the peer opened (0: none yet) */

	/* Open addressing, linear probing; cap is a power of two of at least 2 * max_streams. */
	struct ystream **tab;
	uint32_t cap, n;

	/* Input: header bytes so far, then the DATA payload still to come. */
	uint8_t hbuf[YAMUX_HDR_LEN];
	uint8_t hlen;
	struct yamux_hdr cur; /* the DATA frame whose payload is being passed on */
	uint32_t left;

	unsigned cb_depth; /* callbacks running */
	bool in_input;
	bool goaway_recv, goaway_sent;
	int err; /* sticky yamux_input result */
	struct ystream *closing, *closing_tail;
};

static struct ystream *ys(struct yamux_stream *st)
{
	return (struct ystream *)st; /* s is the first member */
}

int yamux_hdr_decode(const uint8_t p[YAMUX_HDR_LEN], struct yamux_hdr *h)
{
	struct rbuf b;

	rbuf_init(&b, p, YAMUX_HDR_LEN);
	if (buf_get_u8(&b, &h->version) < 0 || buf_get_u8(&b, &h->type) < 0 ||
	    buf_get_u16(&b, &h->flags) < 0 || buf_get_u32(&b, &h->stream) < 0 ||
	    buf_get_u32(&b, &h->length) < 0)
		return -EBADMSG;
	if (h->version != 0 || h->type > YAMUX_T_GOAWAY)
		return -EBADMSG;
	return 0;
}

void yamux_hdr_encode(uint8_t p[YAMUX_HDR_LEN], const struct yamux_hdr *h)
{
	p[0] = h->version;
	p[1] = h->type;
	buf_store_be16(p + 2, h->flags);
	buf_store_be32(p + 4, h->stream);
	buf_store_be32(p + 8, h->length);
}

/* --- stream table --- */

static uint32_t yamux_slot(const struct yamux *y, uint32_t id)
{
	return (id * 2654435761u) & (y->cap - 1);
}

static struct ystream *yamux_find(const struct yamux *y, uint32_t id)
{
	uint32_t i;

	for (i = yamux_slot(y, id); y->tab[i]; i = (i + 1) & (y->cap - 1))
		if (y->tab[i]->s.id == id)
			return y->tab[i];
	return NULL;
}

/* The caller checked n < max_streams, so a free slot exists. */
static void yamux_insert(struct yamux *y, struct ystream *s)
{
	uint32_t i = yamux_slot(y, s->s.id);

	while (y->tab[i])
		i = (i + 1) & (y->cap - 1);
	y->tab[i] = s;
	y->n++;
}

/* Backward-shift deletion keeps every probe chain unbroken without tombstones. */
static void yamux_remove(struct yamux *y, struct ystream *s)
{
	uint32_t mask = y->cap - 1, i = yamux_slot(y, s->s.id), j;

	while (y->tab[i] != s)
		i = (i + 1) & mask;
	y->tab[i] = NULL;
	y->n--;
	for (j = (i + 1) & mask; y->tab[j]; j = (j + 1) & mask) {
		uint32_t home = yamux_slot(y, y->tab[j]->s.id);

		/* Move tab[j] into the hole unless its home lies cyclically in (i, j]. */
		if (((j - home) & mask) >= ((j - i) & mask)) {
			y->tab[i] = y->tab[j];
			y->tab[j] = NULL;
			i = j;
		}
	}
}

/* --- callbacks and deferred closing --- */

/* Run queued on_close callbacks and free their streams, unless a callback is running. */
static void yamux_drain(struct yamux *y)
{
	struct ystream *s;

	while (y->cb_depth == 0 && (s = y->closing)) {
		y->closing = s->next;
		if (!y->closing)
			y->closing_tail = NULL;
		if (y->ops.on_close) {
			y->cb_depth++;
			y->ops.on_close(y->ctx, &s->s);
			y->cb_depth--;
		}
		free(s);
	}
}

/* s ends: out of the table now, on_close and free when no callback runs (maybe at once). */
static void yamux_close(struct yamux *y, struct ystream *s)
{
	if (s->dead)
		return;
	s->dead = true;
	yamux_remove(y, s);
	s->next = NULL;
	if (y->closing_tail)
		y->closing_tail->next = s;
	else
		y->closing = s;
	y->closing_tail = s;
	yamux_drain(y);
}

static void yamux_cb_enter(struct yamux *y)
{
	y->cb_depth++;
}

static void yamux_cb_leave(struct yamux *y)
{
	y->cb_depth--;
	yamux_drain(y);
}

/* --- output --- */

static void yamux_emit(struct yamux *y, uint8_t type, uint16_t flags, uint32_t id, uint32_t len)
{
	struct yamux_hdr h = {
	    .version = 0, .type = type, .flags = flags, .stream = id, .length = len};
	uint8_t p[YAMUX_HDR_LEN];

	yamux_hdr_encode(p, &h);
	y->ops.write(y->ctx, p, sizeof(p));
}

/* The flags every frame on s carries until the peer knows of it: ACK on a stream it opened. */
static uint16_t yamux_ack_flag(struct ystream *s)
{
	if (s->s.opened_by_us || s->s.acked)
		return 0;
	s->s.acked = true;
	return YAMUX_F_ACK;
}

/* --- session --- */

struct yamux *yamux_new(bool server, uint32_t max_streams, const struct yamux_ops *ops, void *ctx)
{
	struct yamux *y;
	uint32_t cap = 4;

	if (!ops || !ops->write)
		return NULL;
	if (max_streams == 0)
		max_streams = 1;
	if (max_streams > YAMUX_MAX_STREAMS)
		max_streams = YAMUX_MAX_STREAMS;
	while (cap < 2 * max_streams)
		cap <<= 1;
	y = calloc(1, sizeof(*y));
	if (!y)
		return NULL;
	y->tab = calloc(cap, sizeof(*y->tab));
	if (!y->tab) {
		free(y);
		return NULL;
	}
	y->cap = cap;
	y->ops = *ops;
	y->ctx = ctx;
	y->server = server;
	y->max_streams = max_streams;
	y->next_id = server ? 2 : 1;
	return y;
}

void yamux_free(struct yamux *y)
{
	struct ystream *s;
	uint32_t i;

	if (!y)
		return;
	for (i = 0; i < y->cap; i++)
		free(y->tab[i]);
	while ((s = y->closing)) {
		y->closing = s->next;
		free(s);
	}
	free(y->tab);
	free(y);
}

size_t yamux_nstreams(const struct yamux *y)
{
	return y->n;
}

static struct ystream *yamux_stream_new(struct yamux *y, uint32_t id, bool ours)
{
	struct ystream *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->s.id = id;
	s->s.send_window = YAMUX_WINDOW;
	s->s.recv_window = YAMUX_WINDOW;
	s->recv_max = YAMUX_WINDOW;
	s->s.opened_by_us = ours;
	yamux_insert(y, s);
	return s;
}

struct yamux_stream *yamux_open(struct yamux *y)
{
	struct ystream *s;
	uint32_t id = y->next_id;

	if (id == 0 || y->n >= y->max_streams || y->goaway_recv || y->goaway_sent || y->err)
		return NULL;
	s = yamux_stream_new(y, id, true);
	if (!s)
		return NULL;
	/* Ids are never reused: after the last one of our parity the session opens no more. */
	y->next_id = id > UINT32_MAX - 2 ? 0 : id + 2;
	/* SYN at once, as a window update of 0, so the peer learns of the stream now. */
	yamux_emit(y, YAMUX_T_WINDOW, YAMUX_F_SYN, id, 0);
	return &s->s;
}

ssize_t yamux_send(struct yamux *y, struct yamux_stream *st, const uint8_t *p, size_t n)
{
	struct ystream *s = ys(st);
	size_t done = 0;

	if (s->dead || st->local_fin || st->reset)
		return -EPIPE;
	while (done < n && st->send_window > 0) {
		uint32_t k = st->send_window < YAMUX_MAX_FRAME ? st->send_window : YAMUX_MAX_FRAME;

		if (k > n - done)
			k = (uint32_t)(n - done);
		yamux_emit(y, YAMUX_T_DATA, yamux_ack_flag(s), st->id, k);
		y->ops.write(y->ctx, p + done, k);
		st->send_window -= k;
		done += k;
	}
	return (ssize_t)done;
}

void yamux_consume(struct yamux *y, struct yamux_stream *st, size_t n)
{
	struct ystream *s = ys(st);
	/* What the peer sent that was not yet consumed: consuming more is the owner's bug. */
	uint32_t held = s->recv_max - st->recv_window - st->recv_unacked;

	if (s->dead || st->reset)
		return;
	if (n > held)
		n = held;
	st->recv_unacked += (uint32_t)n;
	/* Half a window at a time: fewer updates, and the peer never stalls on a full one. */
	if (st->recv_unacked < YAMUX_WINDOW / 2 || st->remote_fin)
		return;
	yamux_emit(y, YAMUX_T_WINDOW, yamux_ack_flag(s), st->id, st->recv_unacked);
	st->recv_window += st->recv_unacked;
	st->recv_unacked = 0;
}

uint32_t yamux_grow(struct yamux *y, struct yamux_stream *st, uint32_t max)
{
	struct ystream *s = ys(st);
	uint32_t extra;

	if (max > YAMUX_MAX_WINDOW)
		max = YAMUX_MAX_WINDOW;
	if (s->dead || st->reset || st->remote_fin || max <= s->recv_max)
		return 0;
	/* Granted with what was consumed and not yet given back: one update for both. */
	extra = max - s->recv_max;
	s->recv_max = max;
	yamux_emit(y, YAMUX_T_WINDOW, yamux_ack_flag(s), st->id, st->recv_unacked + extra);
	st->recv_window += st->recv_unacked + extra;
	st->recv_unacked = 0;
	return extra;
}

void yamux_fin(struct yamux *y, struct yamux_stream *st)
{
	struct ystream *s = ys(st);

	if (s->dead || st->local_fin || st->reset)
		return;
	st->local_fin = true;
	yamux_emit(y, YAMUX_T_WINDOW, (uint16_t)(YAMUX_F_FIN | yamux_ack_flag(s)), st->id, 0);
	if (st->remote_fin)
		yamux_close(y, s);
}

void yamux_reset(struct yamux *y, struct yamux_stream *st)
{
	struct ystream *s = ys(st);

	if (s->dead)
		return;
	st->reset = true;
	yamux_emit(y, YAMUX_T_WINDOW, (uint16_t)(YAMUX_F_RST | yamux_ack_flag(s)), st->id, 0);
	yamux_close(y, s);
}

void yamux_ping(struct yamux *y, uint32_t opaque)
{
	yamux_emit(y, YAMUX_T_PING, YAMUX_F_SYN, 0, opaque);
}

void yamux_goaway(struct yamux *y, uint32_t code)
{
	if (y->goaway_sent)
		return;
	y->goaway_sent = true;
	yamux_emit(y, YAMUX_T_GOAWAY, 0, 0, code);
}

/* --- input --- */

/* The peer's FIN or RST on live stream id (after any payload of its frame). */
static void yamux_in_close_flags(struct yamux *y, uint32_t id, uint16_t flags)
{
	struct ystream *s = yamux_find(y, id);

	if (!s)
		return;
	if (flags & YAMUX_F_RST) {
		s->s.reset = true;
		yamux_close(y, s);
		return;
	}
	if (!(flags & YAMUX_F_FIN) || s->s.remote_fin)
		return;
	s->s.remote_fin = true;
	if (y->ops.on_fin) {
		yamux_cb_enter(y);
		y->ops.on_fin(y->ctx, &s->s);
		yamux_cb_leave(y);
		s = yamux_find(y, id);
	}
	if (s && s->s.local_fin)
		yamux_close(y, s);
}

/* A SYN for id: a new stream of the peer, or an RST when we take no more. Returns the
   stream (NULL: refused or gone; the frame's payload is then dropped) or -EPROTO via *err. */
static struct ystream *yamux_in_syn(struct yamux *y, const struct yamux_hdr *h, int *err)
{
	struct ystream *s;
	uint32_t id = h->stream, add = h->type == YAMUX_T_WINDOW ? h->length : 0;
	int rc = 0;

	/* Peer ids: its parity (odd from a client, even from a server), never 0, each new. */
	if (id == 0 || (id & 1) != (y->server ? 1u : 0u) || id <= y->max_peer_id) {
		*err = -EPROTO;
		return NULL;
	}
	y->max_peer_id = id;
	if (y->n >= y->max_streams || y->goaway_sent || !(s = yamux_stream_new(y, id, false))) {
		yamux_emit(y, YAMUX_T_WINDOW, YAMUX_F_RST, id, 0);
		return NULL;
	}
	if ((uint64_t)s->s.send_window + add > UINT32_MAX) {
		*err = -EPROTO;
		return NULL;
	}
	s->s.send_window += add;
	if (y->ops.on_open) {
		yamux_cb_enter(y);
		rc = y->ops.on_open(y->ctx, &s->s);
		yamux_cb_leave(y);
		s = yamux_find(y, id);
	}
	if (!s)
		return NULL; /* reset from inside on_open */
	if (rc < 0) {
		/* Refused: the owner never took it, so no on_close. */
		yamux_emit(y, YAMUX_T_WINDOW, YAMUX_F_RST | YAMUX_F_ACK, id, 0);
		yamux_remove(y, s);
		free(s);
		return NULL;
	}
	if (!s->s.acked)
		yamux_emit(y, YAMUX_T_WINDOW, yamux_ack_flag(s), id, 0);
	return s;
}

/* A frame on a stream id without a live stream: late frames of a closed stream are
   ignored, frames for an id that was never opened are a protocol error. */
static int yamux_in_unknown(const struct yamux *y, uint32_t id)
{
	bool ours = (id & 1) == (y->server ? 0u : 1u);

	if (id == 0)
		return -EPROTO;
	if (ours)
		return (y->next_id == 0 || id < y->next_id) ? 0 : -EPROTO;
	return id <= y->max_peer_id ? 0 : -EPROTO;
}

/* A DATA or WINDOW_UPDATE header. */
static int yamux_in_stream(struct yamux *y, const struct yamux_hdr *h)
{
	struct ystream *s = NULL;
	uint32_t id = h->stream;
	bool data = h->type == YAMUX_T_DATA;
	int err = 0;

	/* No window we grant exceeds YAMUX_MAX_WINDOW, whichever stream it is for. */
	if (data && h->length > YAMUX_MAX_WINDOW)
		return -EPROTO;
	if (h->flags & YAMUX_F_SYN) {
		if (yamux_find(y, id))
			return -EPROTO;
		s = yamux_in_syn(y, h, &err);
		if (err)
			return err;
	} else {
		s = yamux_find(y, id);
		if (!s && (err = yamux_in_unknown(y, id)) < 0)
			return err;
		if (s) {
			if ((h->flags & YAMUX_F_ACK) && s->s.opened_by_us)
				s->s.acked = true;
			if (!data && h->length > 0) {
				if ((uint64_t)s->s.send_window + h->length > UINT32_MAX)
					return -EPROTO;
				s->s.send_window += h->length;
				if (y->ops.on_window && !s->s.local_fin) {
					yamux_cb_enter(y);
					y->ops.on_window(y->ctx, &s->s);
					yamux_cb_leave(y);
					s = yamux_find(y, id);
				}
			}
		}
	}
	if (data && h->length > 0) {
		/* Charge the whole frame now; its bytes follow in pieces. */
		if (s) {
			if (h->length > s->s.recv_window || s->s.remote_fin)
				return -EPROTO;
			s->s.recv_window -= h->length;
		}
		y->cur = *h;
		y->left = h->length;
		return 0;
	}
	yamux_in_close_flags(y, id, h->flags);
	return 0;
}

static int yamux_in_frame(struct yamux *y)
{
	struct yamux_hdr h;

	if (yamux_hdr_decode(y->hbuf, &h) < 0)
		return -EPROTO;
	switch (h.type) {
	case YAMUX_T_DATA:
	case YAMUX_T_WINDOW:
		return yamux_in_stream(y, &h);
	case YAMUX_T_PING:
		/* Answered in kind; a reply (ACK) to our own ping needs nothing. */
		if (h.flags & YAMUX_F_SYN)
			yamux_emit(y, YAMUX_T_PING, YAMUX_F_ACK, 0, h.length);
		return 0;
	default:
		y->goaway_recv = true;
		return 0;
	}
}

/* Pass up to n bytes of the current DATA payload on. */
static size_t yamux_in_payload(struct yamux *y, const uint8_t *p, size_t n)
{
	struct ystream *s = yamux_find(y, y->cur.stream);
	size_t k = n < y->left ? n : y->left;

	/* A stream reset meanwhile (by either side) drops the rest unseen. */
	if (s && !s->s.reset && y->ops.on_data) {
		yamux_cb_enter(y);
		y->ops.on_data(y->ctx, &s->s, p, k);
		yamux_cb_leave(y);
	}
	y->left -= (uint32_t)k;
	if (y->left == 0)
		yamux_in_close_flags(y, y->cur.stream, y->cur.flags);
	return k;
}

int yamux_input(struct yamux *y, const uint8_t *p, size_t n)
{
	struct rbuf in;
	int rc = 0;

	if (y->err)
		return y->err;
	if (y->in_input || y->cb_depth)
		return -EBUSY; /* not from a callback: the bytes would overtake the frame being read */
	y->in_input = true;
	rbuf_init(&in, p, n);
	while (rbuf_left(&in) > 0 && rc == 0) {
		const uint8_t *q;
		size_t k;

		if (y->left > 0) {
			k = yamux_in_payload(y, in.p + in.pos, rbuf_left(&in));
			buf_skip(&in, k);
			continue;
		}
		k = YAMUX_HDR_LEN - y->hlen;
		if (k > rbuf_left(&in))
			k = rbuf_left(&in);
		buf_get_ptr(&in, &q, k);
		memcpy(y->hbuf + y->hlen, q, k);
		y->hlen = (uint8_t)(y->hlen + k);
		if (y->hlen < YAMUX_HDR_LEN)
			break;
		y->hlen = 0;
		rc = yamux_in_frame(y);
	}
	y->in_input = false;
	if (rc == 0 && y->goaway_recv)
		rc = -ECONNRESET;
	y->err = rc;
	return rc;
}
