/*
 * Unit tests: libp2p/yamux.c. Two sessions, a client and a server, wired back to back in
 * memory: what one writes is queued and fed to the other by pump(), never from inside a
 * callback, so no call recurses. Hand-made frames check the error paths.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "buf.h"
#include "yamux.h"

#define MAXS 256

struct side {
	struct yamux *y;
	uint8_t *out; /* written, not yet delivered to the peer */
	size_t out_len, out_cap;
	uint8_t *rx; /* everything on_data delivered, all streams */
	size_t rx_len, rx_cap;
	struct yamux_stream *st[MAXS]; /* on_open order */
	int nopen, nfin, nclose, nwindow, ndata;
	uint32_t closed_id[MAXS];
	bool consume; /* consume what arrives at once */
	int refuse;   /* on_open's return */
	/* Re-entrancy checks, from inside callbacks. */
	bool open_sends;                 /* on_open: send "hi" and FIN */
	struct yamux_stream *data_reset; /* on_data: reset this stream */
	struct yamux_stream *data_send;  /* on_data: send "x" on this one */
	bool close_sends;                /* on_close: send on data_send */
	bool check_id;                   /* each payload byte is its stream's id */
	bool reenter;                    /* on_data: yamux_input must refuse */
};

static void grow(uint8_t **p, size_t *cap, size_t need)
{
	if (need <= *cap)
		return;
	while (*cap < need)
		*cap = *cap ? *cap * 2 : 4096;
	*p = realloc(*p, *cap);
	assert_non_null(*p);
}

static void cb_write(void *ctx, const uint8_t *p, size_t len)
{
	struct side *s = ctx;

	grow(&s->out, &s->out_cap, s->out_len + len);
	memcpy(s->out + s->out_len, p, len);
	s->out_len += len;
}

static int cb_open(void *ctx, struct yamux_stream *st)
{
	struct side *s = ctx;

	if (s->refuse)
		return s->refuse;
	assert_true(s->nopen < MAXS);
	s->st[s->nopen++] = st;
	if (s->open_sends) {
		assert_int_equal(yamux_send(s->y, st, (const uint8_t *)"hi", 2), 2);
		yamux_fin(s->y, st);
	}
	return 0;
}

static void cb_data(void *ctx, struct yamux_stream *st, const uint8_t *p, size_t len)
{
	struct side *s = ctx;

	assert_true(len > 0);
	grow(&s->rx, &s->rx_cap, s->rx_len + len);
	memcpy(s->rx + s->rx_len, p, len);
	s->rx_len += len;
	s->ndata++;
	if (s->check_id)
		assert_int_equal(p[0], (uint8_t)st->id);
	if (s->reenter)
		assert_int_equal(yamux_input(s->y, p, len), -EBUSY);
	if (s->consume)
		yamux_consume(s->y, st, len);
	if (s->data_send)
		assert_int_equal(yamux_send(s->y, s->data_send, (const uint8_t *)"x", 1), 1);
	if (s->data_reset == st) {
		s->data_reset = NULL;
		yamux_reset(s->y, st);
		/* Still valid until this callback returns. */
		assert_true(st->reset);
		assert_int_equal(yamux_send(s->y, st, p, 1), -EPIPE);
	}
}

static void cb_fin(void *ctx, struct yamux_stream *st)
{
	struct side *s = ctx;

	assert_true(st->remote_fin);
	s->nfin++;
}

static void cb_close(void *ctx, struct yamux_stream *st)
{
	struct side *s = ctx;

	assert_true(s->nclose < MAXS);
	s->closed_id[s->nclose++] = st->id;
	if (s->close_sends && s->data_send)
		assert_int_equal(yamux_send(s->y, s->data_send, (const uint8_t *)"c", 1), 1);
}

static void cb_window(void *ctx, struct yamux_stream *st)
{
	struct side *s = ctx;

	assert_true(st->send_window > 0);
	s->nwindow++;
}

static const struct yamux_ops ops = {
    .write = cb_write,
    .on_open = cb_open,
    .on_data = cb_data,
    .on_fin = cb_fin,
    .on_close = cb_close,
    .on_window = cb_window,
};

struct pair {
	struct side c, s;
};

static int setup(void **state)
{
	struct pair *p = calloc(1, sizeof(*p));

	assert_non_null(p);
	p->c.y = yamux_new(false, 8, &ops, &p->c);
	p->s.y = yamux_new(true, 8, &ops, &p->s);
	assert_non_null(p->c.y);
	assert_non_null(p->s.y);
	p->c.consume = p->s.consume = true;
	*state = p;
	return 0;
}

static int teardown(void **state)
{
	struct pair *p = *state;

	yamux_free(p->c.y);
	yamux_free(p->s.y);
	free(p->c.out);
	free(p->s.out);
	free(p->c.rx);
	free(p->s.rx);
	free(p);
	return 0;
}

/* Deliver from's queued output to `to` in pieces of chunk bytes: the first error. */
static int deliver(struct side *from, struct side *to, size_t chunk)
{
	uint8_t *buf = from->out;
	size_t len = from->out_len, off;
	int rc = 0;

	from->out = NULL;
	from->out_len = from->out_cap = 0;
	for (off = 0; off < len && rc == 0; off += chunk)
		rc = yamux_input(to->y, buf + off, len - off < chunk ? len - off : chunk);
	free(buf);
	return rc;
}

/* Both ways until quiet (bounded). */
static void pump_chunk(struct pair *p, size_t chunk)
{
	int i;

	for (i = 0; i < 1000 && (p->c.out_len || p->s.out_len); i++) {
		assert_int_equal(deliver(&p->c, &p->s, chunk), 0);
		assert_int_equal(deliver(&p->s, &p->c, chunk), 0);
	}
	assert_int_equal(p->c.out_len + p->s.out_len, 0);
}

static void pump(struct pair *p)
{
	pump_chunk(p, 1u << 20);
}

/* One frame's bytes into b. */
static size_t frame(uint8_t *b, uint8_t type, uint16_t flags, uint32_t id, uint32_t len)
{
	struct yamux_hdr h = {0, type, flags, id, len};

	yamux_hdr_encode(b, &h);
	return YAMUX_HDR_LEN;
}

static void test_hdr(void **state)
{
	/* DATA|SYN|FIN, stream 0x01020304, length 0x0a0b0c0d: big-endian fields. */
	const uint8_t want[] = {0, 0, 0, 5, 1, 2, 3, 4, 0x0a, 0x0b, 0x0c, 0x0d};
	struct yamux_hdr h = {0, YAMUX_T_DATA, YAMUX_F_SYN | YAMUX_F_FIN, 0x01020304, 0x0a0b0c0d};
	struct yamux_hdr g;
	uint8_t b[YAMUX_HDR_LEN];

	(void)state;
	yamux_hdr_encode(b, &h);
	assert_memory_equal(b, want, sizeof(want));
	assert_int_equal(yamux_hdr_decode(b, &g), 0);
	assert_int_equal(g.flags, 5);
	assert_int_equal(g.stream, 0x01020304);
	assert_int_equal(g.length, 0x0a0b0c0d);
	b[0] = 1; /* version */
	assert_int_equal(yamux_hdr_decode(b, &g), -EBADMSG);
	b[0] = 0;
	b[1] = 4; /* type */
	assert_int_equal(yamux_hdr_decode(b, &g), -EBADMSG);
	b[1] = 3;
	assert_int_equal(yamux_hdr_decode(b, &g), 0);
}

/* Open, data, FIN, close, with the given chunking, from the client and from the server. */
static void roundtrip(struct pair *p, size_t chunk)
{
	struct yamux_stream *a, *b;

	/* Client-opened: odd ids. */
	a = yamux_open(p->c.y);
	assert_non_null(a);
	assert_int_equal(a->id, 1);
	assert_int_equal(yamux_send(p->c.y, a, (const uint8_t *)"hello", 5), 5);
	pump_chunk(p, chunk);
	assert_int_equal(p->s.nopen, 1);
	assert_int_equal(p->s.st[0]->id, 1);
	assert_true(a->acked);
	assert_int_equal(p->s.rx_len, 5);
	assert_memory_equal(p->s.rx, "hello", 5);
	assert_int_equal(yamux_send(p->s.y, p->s.st[0], (const uint8_t *)"world!", 6), 6);
	yamux_fin(p->c.y, a);
	assert_int_equal(yamux_send(p->c.y, a, (const uint8_t *)"z", 1), -EPIPE);
	pump_chunk(p, chunk);
	assert_int_equal(p->c.rx_len, 6);
	assert_memory_equal(p->c.rx, "world!", 6);
	assert_int_equal(p->s.nfin, 1);
	assert_int_equal(p->s.nclose, 0);
	assert_int_equal(yamux_nstreams(p->s.y), 1);
	yamux_fin(p->s.y, p->s.st[0]); /* both FIN: freed on both sides */
	assert_int_equal(p->s.nclose, 1);
	pump_chunk(p, chunk);
	assert_int_equal(p->c.nfin, 1);
	assert_int_equal(p->c.nclose, 1);
	assert_int_equal(p->c.closed_id[0], 1);
	assert_int_equal(yamux_nstreams(p->c.y), 0);
	assert_int_equal(yamux_nstreams(p->s.y), 0);

	/* Server-opened: even ids; the peer's FIN comes first this time. */
	b = yamux_open(p->s.y);
	assert_non_null(b);
	assert_int_equal(b->id, 2);
	assert_int_equal(yamux_send(p->s.y, b, (const uint8_t *)"abc", 3), 3);
	pump_chunk(p, chunk);
	assert_int_equal(p->c.nopen, 1);
	assert_int_equal(p->c.st[0]->id, 2);
	assert_int_equal(p->c.rx_len, 9);
	assert_memory_equal(p->c.rx + 6, "abc", 3);
	yamux_fin(p->c.y, p->c.st[0]);
	pump_chunk(p, chunk);
	assert_int_equal(p->s.nfin, 2);
	yamux_fin(p->s.y, b);
	pump_chunk(p, chunk);
	assert_int_equal(p->s.nclose, 2);
	assert_int_equal(p->c.nclose, 2);
	assert_int_equal(yamux_nstreams(p->c.y), 0);
	assert_int_equal(yamux_nstreams(p->s.y), 0);
}

static void test_roundtrip(void **state)
{
	roundtrip(*state, 1u << 20);
}

static void test_bytewise(void **state)
{
	struct pair *p = *state;

	roundtrip(p, 1);
	/* Each payload byte came in its own on_data call. */
	assert_int_equal(p->s.ndata, 5);
	assert_int_equal(p->c.ndata, 9);
}

/* A payload split at odd places, the header too, arrives whole and in order. */
static void test_split_payload(void **state)
{
	struct pair *p = *state;
	static uint8_t big[100000];
	struct yamux_stream *a;
	size_t i;

	for (i = 0; i < sizeof(big); i++)
		big[i] = (uint8_t)(i * 7 + (i >> 8));
	a = yamux_open(p->c.y);
	assert_int_equal(yamux_send(p->c.y, a, big, sizeof(big)), sizeof(big));
	pump_chunk(p, 7);
	assert_int_equal(p->s.rx_len, sizeof(big));
	assert_memory_equal(p->s.rx, big, sizeof(big));
}

/* 1 MiB goes through only because consuming sends window updates. */
static void test_window_transfer(void **state)
{
	struct pair *p = *state;
	const size_t total = 1u << 20;
	uint8_t *src = malloc(total);
	struct yamux_stream *a;
	size_t sent = 0, i;
	int rounds = 0;
	ssize_t r;

	assert_non_null(src);
	for (i = 0; i < total; i++)
		src[i] = (uint8_t)(i ^ (i >> 11));
	a = yamux_open(p->c.y);
	while (sent < total && rounds++ < 1000) {
		r = yamux_send(p->c.y, a, src + sent, total - sent);
		assert_true(r >= 0);
		sent += (size_t)r;
		pump_chunk(p, 65536);
	}
	assert_int_equal(sent, total);
	assert_int_equal(p->s.rx_len, total);
	assert_memory_equal(p->s.rx, src, total);
	assert_true(p->c.nwindow >= 3);
	free(src);
}

/* Without consume the sender stalls at exactly one window; consuming reopens it. */
static void test_window_stall(void **state)
{
	struct pair *p = *state;
	static uint8_t buf[YAMUX_WINDOW + 100];
	struct yamux_stream *a;

	p->s.consume = false;
	a = yamux_open(p->c.y);
	assert_int_equal(yamux_send(p->c.y, a, buf, sizeof(buf)), YAMUX_WINDOW);
	assert_int_equal(a->send_window, 0);
	assert_int_equal(yamux_send(p->c.y, a, buf, 1), 0);
	pump(p);
	assert_int_equal(p->s.rx_len, YAMUX_WINDOW);
	assert_int_equal(yamux_send(p->c.y, a, buf, 1), 0);
	assert_int_equal(p->c.nwindow, 0);
	/* Below half a window: no update yet. */
	yamux_consume(p->s.y, p->s.st[0], YAMUX_WINDOW / 2 - 1);
	pump(p);
	assert_int_equal(yamux_send(p->c.y, a, buf, 1), 0);
	/* Consuming more than arrived counts only what arrived. */
	yamux_consume(p->s.y, p->s.st[0], 10 * YAMUX_WINDOW);
	pump(p);
	assert_int_equal(p->c.nwindow, 1);
	assert_int_equal(a->send_window, YAMUX_WINDOW);
	assert_int_equal(p->s.st[0]->recv_window, YAMUX_WINDOW);
}

/* A grown receive window: the sender may have that much in flight, and not a byte more. */
static void test_window_grow(void **state)
{
	struct pair *p = *state;
	static uint8_t buf[4 * YAMUX_WINDOW + 100];
	struct yamux_stream *a;

	p->s.consume = false;
	a = yamux_open(p->c.y);
	assert_int_equal(yamux_send(p->c.y, a, buf, 100), 100);
	pump(p);
	assert_int_equal(yamux_grow(p->s.y, p->s.st[0], 4 * YAMUX_WINDOW), 3 * YAMUX_WINDOW);
	assert_int_equal(yamux_grow(p->s.y, p->s.st[0], 2 * YAMUX_WINDOW), 0); /* never shrinks */
	pump(p);
	assert_int_equal(a->send_window, 4 * YAMUX_WINDOW - 100);
	assert_int_equal(yamux_send(p->c.y, a, buf, sizeof(buf)), 4 * YAMUX_WINDOW - 100);
	assert_int_equal(yamux_send(p->c.y, a, buf, 1), 0);
	pump(p);
	assert_int_equal(p->s.rx_len, 4 * YAMUX_WINDOW);
	assert_int_equal(p->s.st[0]->recv_window, 0);
	/* Consuming everything gives the whole grown window back. */
	yamux_consume(p->s.y, p->s.st[0], 4 * YAMUX_WINDOW);
	pump(p);
	assert_int_equal(a->send_window, 4 * YAMUX_WINDOW);
}

/* Sending past the granted window is a protocol error, at the header already. */
static void test_window_overrun(void **state)
{
	struct pair *p = *state;
	static uint8_t b[YAMUX_WINDOW];
	size_t n = 0;

	p->s.consume = false; /* no window update may refill it */
	n += frame(b + n, YAMUX_T_WINDOW, YAMUX_F_SYN, 1, 0);
	n += frame(b + n, YAMUX_T_DATA, 0, 1, YAMUX_WINDOW - 10);
	assert_int_equal(yamux_input(p->s.y, b, n), 0);
	memset(b, 0, sizeof(b));
	assert_int_equal(yamux_input(p->s.y, b, YAMUX_WINDOW - 10), 0);
	assert_int_equal(p->s.rx_len, YAMUX_WINDOW - 10);
	assert_int_equal(p->s.st[0]->recv_window, 10);
	/* 10 more are fine, 11 are not. */
	frame(b, YAMUX_T_DATA, 0, 1, 11);
	assert_int_equal(yamux_input(p->s.y, b, YAMUX_HDR_LEN), -EPROTO);
	/* Sticky. */
	assert_int_equal(yamux_input(p->s.y, b, 1), -EPROTO);
}

static void test_frame_too_big(void **state)
{
	struct pair *p = *state;
	uint8_t b[24];

	/* Over every window the relay ever grants, before any stream lookup. */
	frame(b, YAMUX_T_DATA, YAMUX_F_SYN, 1, YAMUX_MAX_WINDOW + 1);
	assert_int_equal(yamux_input(p->s.y, b, YAMUX_HDR_LEN), -EPROTO);
	assert_int_equal(p->s.nopen, 0);
}

static void test_ping(void **state)
{
	struct pair *p = *state;
	uint8_t want[YAMUX_HDR_LEN], b[YAMUX_HDR_LEN];

	yamux_ping(p->c.y, 0xdeadbeef);
	frame(want, YAMUX_T_PING, YAMUX_F_SYN, 0, 0xdeadbeef);
	assert_int_equal(p->c.out_len, YAMUX_HDR_LEN);
	assert_memory_equal(p->c.out, want, YAMUX_HDR_LEN);
	assert_int_equal(deliver(&p->c, &p->s, 1), 0);
	frame(want, YAMUX_T_PING, YAMUX_F_ACK, 0, 0xdeadbeef);
	assert_int_equal(p->s.out_len, YAMUX_HDR_LEN);
	assert_memory_equal(p->s.out, want, YAMUX_HDR_LEN);
	/* The reply is taken silently. */
	assert_int_equal(deliver(&p->s, &p->c, 1), 0);
	assert_int_equal(p->c.out_len, 0);
	/* A ping answer never answered. */
	frame(b, YAMUX_T_PING, YAMUX_F_ACK, 0, 5);
	assert_int_equal(yamux_input(p->s.y, b, sizeof(b)), 0);
	assert_int_equal(p->s.out_len, 0);
}

/* GO_AWAY: -ECONNRESET, after the frames that followed it in the same input. */
static void test_goaway(void **state)
{
	struct pair *p = *state;
	struct yamux_stream *a;
	uint8_t b[64];
	size_t n = 0;

	a = yamux_open(p->c.y);
	assert_non_null(a);
	pump(p);
	n += frame(b + n, YAMUX_T_GOAWAY, 0, 0, YAMUX_GOAWAY_NORMAL);
	n += frame(b + n, YAMUX_T_DATA, 0, 1, 3);
	memcpy(b + n, "end", 3);
	n += 3;
	assert_int_equal(yamux_input(p->s.y, b, n), -ECONNRESET);
	assert_int_equal(p->s.rx_len, 3);
	assert_int_equal(yamux_input(p->s.y, b, 1), -ECONNRESET);
	assert_null(yamux_open(p->s.y));
	/* Our own GO_AWAY: sent once, then no new streams either way. */
	yamux_goaway(p->c.y, YAMUX_GOAWAY_PROTO);
	yamux_goaway(p->c.y, YAMUX_GOAWAY_PROTO);
	frame(b, YAMUX_T_GOAWAY, 0, 0, YAMUX_GOAWAY_PROTO);
	assert_int_equal(p->c.out_len, YAMUX_HDR_LEN);
	assert_memory_equal(p->c.out, b, YAMUX_HDR_LEN);
	assert_null(yamux_open(p->c.y));
}

/* RST from either side: on_close on both, late frames for the id ignored. */
static void test_rst(void **state)
{
	struct pair *p = *state;
	struct yamux_stream *a;

	a = yamux_open(p->c.y);
	assert_int_equal(yamux_send(p->c.y, a, (const uint8_t *)"one", 3), 3);
	pump(p);
	assert_int_equal(p->s.nopen, 1);
	yamux_reset(p->s.y, p->s.st[0]);
	assert_int_equal(p->s.nclose, 1);
	assert_int_equal(yamux_nstreams(p->s.y), 0);
	/* Crossing in flight: the client's data and FIN for a stream the server dropped. */
	assert_int_equal(yamux_send(p->c.y, a, (const uint8_t *)"two", 3), 3);
	yamux_fin(p->c.y, a);
	assert_int_equal(deliver(&p->c, &p->s, 5), 0);
	assert_int_equal(p->s.rx_len, 3);
	assert_int_equal(deliver(&p->s, &p->c, 5), 0);
	assert_int_equal(p->c.nclose, 1);
	assert_int_equal(p->c.nfin, 0);
	assert_int_equal(yamux_nstreams(p->c.y), 0);

	/* The client resets one of its own. */
	a = yamux_open(p->c.y);
	pump(p);
	yamux_reset(p->c.y, a);
	assert_int_equal(p->c.nclose, 2);
	pump(p);
	assert_int_equal(p->s.nclose, 2);
	assert_int_equal(p->s.closed_id[1], 3);
}

/* A SYN beyond max_streams is refused with RST; the session goes on. */
static void test_max_streams(void **state)
{
	struct pair *p = *state;
	struct yamux_stream *a[3];
	uint32_t id;
	int i;

	yamux_free(p->s.y);
	p->s.y = yamux_new(true, 2, &ops, &p->s);
	for (i = 0; i < 3; i++)
		a[i] = yamux_open(p->c.y);
	pump(p);
	assert_int_equal(p->s.nopen, 2);
	assert_int_equal(yamux_nstreams(p->s.y), 2);
	assert_int_equal(p->c.nclose, 1);
	assert_int_equal(p->c.closed_id[0], 5);
	assert_true(a[0]->acked && a[1]->acked);
	/* Full on our side too. */
	assert_null(yamux_open(p->s.y));
	/* Room again after one closes. */
	yamux_reset(p->c.y, a[0]);
	pump(p);
	a[2] = yamux_open(p->c.y);
	assert_int_equal(yamux_send(p->c.y, a[2], (const uint8_t *)"ok", 2), 2);
	pump(p);
	assert_int_equal(p->s.nopen, 3);
	assert_int_equal(p->s.rx_len, 2);

	/* The owner refusing in on_open: RST, no on_close on this side. */
	p->s.refuse = -1;
	yamux_reset(p->c.y, a[1]);
	a[2] = yamux_open(p->c.y);
	id = a[2]->id; /* a[2] is freed once refused */
	pump(p);
	assert_int_equal(p->s.nopen, 3);
	assert_int_equal(p->c.closed_id[p->c.nclose - 1], id);
}

static void test_bad_ids(void **state)
{
	struct pair *p = *state;
	uint8_t b[YAMUX_HDR_LEN];
	struct yamux *y;

	/* Wrong parity: even from a client. */
	frame(b, YAMUX_T_WINDOW, YAMUX_F_SYN, 2, 0);
	assert_int_equal(yamux_input(p->s.y, b, sizeof(b)), -EPROTO);
	/* Stream 0. */
	y = yamux_new(true, 4, &ops, &p->s);
	frame(b, YAMUX_T_DATA, YAMUX_F_SYN, 0, 0);
	assert_int_equal(yamux_input(y, b, sizeof(b)), -EPROTO);
	yamux_free(y);
	/* A SYN reusing an id, or going backwards. */
	y = yamux_new(true, 4, &ops, &p->s);
	frame(b, YAMUX_T_WINDOW, YAMUX_F_SYN, 5, 0);
	assert_int_equal(yamux_input(y, b, sizeof(b)), 0);
	frame(b, YAMUX_T_WINDOW, YAMUX_F_SYN, 3, 0);
	assert_int_equal(yamux_input(y, b, sizeof(b)), -EPROTO);
	yamux_free(y);
	/* Data for a peer id never opened; for an id of ours never opened. */
	y = yamux_new(true, 4, &ops, &p->s);
	frame(b, YAMUX_T_DATA, 0, 7, 0);
	assert_int_equal(yamux_input(y, b, sizeof(b)), -EPROTO);
	yamux_free(y);
	y = yamux_new(true, 4, &ops, &p->s);
	frame(b, YAMUX_T_WINDOW, 0, 2, 10);
	assert_int_equal(yamux_input(y, b, sizeof(b)), -EPROTO);
	yamux_free(y);
	/* A bad version. */
	y = yamux_new(true, 4, &ops, &p->s);
	frame(b, YAMUX_T_PING, YAMUX_F_SYN, 0, 0);
	b[0] = 1;
	assert_int_equal(yamux_input(y, b, sizeof(b)), -EPROTO);
	yamux_free(y);
	/* Positive control: the same SYN with the right parity is a stream. */
	y = yamux_new(true, 4, &ops, &p->s);
	frame(b, YAMUX_T_WINDOW, YAMUX_F_SYN, 1, 0);
	assert_int_equal(yamux_input(y, b, sizeof(b)), 0);
	assert_int_equal(yamux_nstreams(y), 1);
	yamux_free(y);
}

/* Callbacks calling back in: send and FIN from on_open, reset from on_data, send from
   on_close, data for another stream from on_data. */
static void test_reentry(void **state)
{
	struct pair *p = *state;
	struct yamux_stream *a, *other;

	p->s.open_sends = true;
	a = yamux_open(p->c.y);
	assert_int_equal(yamux_send(p->c.y, a, (const uint8_t *)"req", 3), 3);
	pump(p);
	/* The reply rode on the ACK'd first DATA, then FIN. */
	assert_int_equal(p->c.rx_len, 2);
	assert_memory_equal(p->c.rx, "hi", 2);
	assert_int_equal(p->c.nfin, 1);
	assert_true(a->acked);
	yamux_fin(p->c.y, a);
	pump(p);
	assert_int_equal(p->s.nclose, 1);
	p->s.open_sends = false;

	/* Server: on_data on stream 3 resets it and writes on stream 5; on_close writes too. */
	other = yamux_open(p->c.y); /* 3 */
	a = yamux_open(p->c.y);     /* 5 */
	pump(p);
	assert_int_equal(p->s.nopen, 3);
	p->s.data_reset = p->s.st[1];
	p->s.data_send = p->s.st[2];
	p->s.close_sends = true;
	assert_int_equal(yamux_send(p->c.y, other, (const uint8_t *)"abcdef", 6), 6);
	pump_chunk(p, 13); /* header + 1 byte, then the rest dropped */
	assert_int_equal(p->s.rx_len, 3 + 1);
	assert_int_equal(p->s.nclose, 2);
	assert_int_equal(p->s.closed_id[1], 3);
	assert_int_equal(p->c.rx_len, 2 + 2);
	assert_memory_equal(p->c.rx + 2, "xc", 2);
	assert_int_equal(p->c.nclose, 2);
	assert_int_equal(p->c.closed_id[1], 3);
	(void)a;
}

/* yamux_free with live streams: no callbacks, nothing leaked (under ASan/valgrind). */
static void test_free_quiet(void **state)
{
	struct pair *p = *state;

	assert_non_null(yamux_open(p->c.y));
	assert_non_null(yamux_open(p->c.y));
	pump(p);
	assert_int_equal(yamux_nstreams(p->s.y), 2);
	yamux_free(p->s.y);
	p->s.y = NULL;
	assert_int_equal(p->s.nclose, 0);
	yamux_free(NULL);
}

/* Many streams through the table: ids found after removals shuffle the probe chains. */
static void test_table(void **state)
{
	struct pair *p = *state;
	struct yamux_stream *a[8];
	bool gone[8];
	int round, i;

	p->s.check_id = true;
	for (round = 0; round < 20; round++) {
		for (i = 0; i < 8; i++) {
			assert_non_null(a[i] = yamux_open(p->c.y));
			gone[i] = false;
		}
		assert_null(yamux_open(p->c.y));
		pump(p);
		for (i = round % 8; i < 8 + round % 8; i += 2) {
			yamux_reset(p->c.y, a[i % 8]); /* freed now: no callback runs */
			gone[i % 8] = true;
		}
		for (i = 0; i < 8; i++) {
			uint8_t id;

			if (gone[i])
				continue;
			id = (uint8_t)a[i]->id;
			assert_int_equal(yamux_send(p->c.y, a[i], &id, 1), 1);
		}
		pump(p);
		for (i = 0; i < 8; i++)
			if (!gone[i])
				yamux_reset(p->c.y, a[i]);
		pump(p);
		assert_int_equal(yamux_nstreams(p->c.y), 0);
		assert_int_equal(yamux_nstreams(p->s.y), 0);
	}
	assert_int_equal(p->s.rx_len, 20 * 4);
}

/* DATA after the peer's FIN; a window grown past 32 bits; input from inside a callback. */
static void test_misc_errors(void **state)
{
	struct pair *p = *state;
	uint8_t b[64];
	size_t n = 0;
	struct yamux *y;

	p->s.reenter = true;
	n += frame(b + n, YAMUX_T_DATA, YAMUX_F_SYN, 1, 1);
	b[n++] = 'a';
	n += frame(b + n, YAMUX_T_WINDOW, YAMUX_F_FIN, 1, 0);
	n += frame(b + n, YAMUX_T_DATA, 0, 1, 0); /* empty: fine */
	assert_int_equal(yamux_input(p->s.y, b, n), 0);
	assert_int_equal(p->s.nfin, 1);
	assert_int_equal(p->s.rx_len, 1);
	frame(b, YAMUX_T_DATA, 0, 1, 1);
	assert_int_equal(yamux_input(p->s.y, b, YAMUX_HDR_LEN), -EPROTO);

	y = yamux_new(true, 4, &ops, &p->s);
	n = frame(b, YAMUX_T_WINDOW, YAMUX_F_SYN, 1, UINT32_MAX - YAMUX_WINDOW);
	assert_int_equal(yamux_input(y, b, n), 0);
	assert_int_equal(p->s.st[1]->send_window, UINT32_MAX);
	n = frame(b, YAMUX_T_WINDOW, 0, 1, 1);
	assert_int_equal(yamux_input(y, b, n), -EPROTO);
	yamux_free(y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hdr),
	    cmocka_unit_test_setup_teardown(test_window_grow, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_roundtrip, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bytewise, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_split_payload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_window_transfer, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_window_stall, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_window_overrun, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_frame_too_big, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_goaway, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rst, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_max_streams, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_bad_ids, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_reentry, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_free_quiet, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_table, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_misc_errors, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
