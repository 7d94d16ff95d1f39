/*
 * Fuzz target: the yamux session. The input's first 4 bytes seed a generator; the rest is fed
 * to a server session in pieces whose sizes the generator picks, and its callbacks call back
 * in (consume, send, FIN, reset, open, ping) as the generator says. Checks: every frame
 * written is well formed, no callback sees a stream after its on_close, the table stays
 * within max_streams and no window exceeds what was granted.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "yamux.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_MAX_STREAMS 4
#define FZ_LIVE        64

struct fz {
	struct yamux *y;
	uint32_t rng;
	struct yamux_stream *live[FZ_LIVE];
	int nlive;
	uint32_t out_left; /* payload bytes still due after a DATA header written */
};

static uint32_t fz_rand(struct fz *f)
{
	f->rng ^= f->rng << 13;
	f->rng ^= f->rng >> 17;
	f->rng ^= f->rng << 5;
	return f->rng;
}

static int fz_find(const struct fz *f, const struct yamux_stream *st)
{
	for (int i = 0; i < f->nlive; i++)
		if (f->live[i] == st)
			return i;
	return -1;
}

static void fz_check(const struct fz *f, const struct yamux_stream *st)
{
	if (fz_find(f, st) < 0 || st->recv_window > YAMUX_WINDOW ||
	    st->recv_unacked > YAMUX_WINDOW - st->recv_window)
		abort();
	if (yamux_nstreams(f->y) > FZ_MAX_STREAMS)
		abort();
}

static void fz_add(struct fz *f, struct yamux_stream *st)
{
	if (f->nlive >= FZ_LIVE || fz_find(f, st) >= 0)
		abort();
	f->live[f->nlive++] = st;
}

/* Pseudo-random calls back into the session, on st or another live stream. */
static void fz_act(struct fz *f, struct yamux_stream *st)
{
	static const uint8_t junk[20000];
	uint32_t r = fz_rand(f);
	struct yamux_stream *o = f->nlive ? f->live[fz_rand(f) % (uint32_t)f->nlive] : st;
	struct yamux_stream *n;
	ssize_t k;

	switch (r % 12) {
	case 0:
	case 1:
		k = yamux_send(f->y, o, junk, (r >> 8) % sizeof(junk));
		if (k < 0 && !o->local_fin && !o->reset)
			abort();
		break;
	case 2:
		yamux_fin(f->y, o);
		break;
	case 3:
		yamux_reset(f->y, o);
		break;
	case 4:
		if ((n = yamux_open(f->y)))
			fz_add(f, n);
		break;
	case 5:
		yamux_ping(f->y, r);
		break;
	default:
		break; /* mostly: leave the stream alone */
	}
}

static void fz_write(void *ctx, const uint8_t *p, size_t len)
{
	struct fz *f = ctx;
	struct yamux_hdr h;

	if (f->out_left) {
		if (len != f->out_left)
			abort();
		f->out_left = 0;
		return;
	}
	if (len != YAMUX_HDR_LEN || yamux_hdr_decode(p, &h) < 0)
		abort();
	if (h.type == YAMUX_T_DATA) {
		if (h.length == 0 || h.length > YAMUX_WINDOW)
			abort();
		f->out_left = h.length;
	}
}

static int fz_open(void *ctx, struct yamux_stream *st)
{
	struct fz *f = ctx;

	if (fz_rand(f) % 5 == 0)
		return -1;
	fz_add(f, st);
	fz_act(f, st);
	return 0;
}

static void fz_data(void *ctx, struct yamux_stream *st, const uint8_t *p, size_t len)
{
	struct fz *f = ctx;

	(void)p;
	fz_check(f, st);
	if (len == 0)
		abort();
	if (fz_rand(f) % 4)
		yamux_consume(f->y, st, fz_rand(f) % 3 ? len : len / 2);
	fz_act(f, st);
}

static void fz_fin(void *ctx, struct yamux_stream *st)
{
	struct fz *f = ctx;

	fz_check(f, st);
	if (!st->remote_fin)
		abort();
	fz_act(f, st);
}

static void fz_window(void *ctx, struct yamux_stream *st)
{
	struct fz *f = ctx;

	fz_check(f, st);
	fz_act(f, st);
}

static void fz_close(void *ctx, struct yamux_stream *st)
{
	struct fz *f = ctx;
	int i = fz_find(f, st);

	if (i < 0)
		abort();
	f->live[i] = f->live[--f->nlive];
	if (f->nlive)
		fz_act(f, f->live[0]);
}

static const struct yamux_ops fz_ops = {
    .write = fz_write,
    .on_open = fz_open,
    .on_data = fz_data,
    .on_fin = fz_fin,
    .on_close = fz_close,
    .on_window = fz_window,
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz f;
	size_t off = 4;
	int rc = 0;

	if (size < 4 || size > (1u << 20))
		return 0;
	memset(&f, 0, sizeof(f));
	f.rng =
	    (uint32_t)data[0] << 24 | (uint32_t)data[1] << 16 | (uint32_t)data[2] << 8 | data[3];
	f.rng |= 1; /* xorshift needs a nonzero state */
	f.y = yamux_new(true, FZ_MAX_STREAMS, &fz_ops, &f);
	if (!f.y)
		abort();
	while (off < size && rc == 0) {
		size_t k = 1 + fz_rand(&f) % 64;

		if (k > size - off)
			k = size - off;
		rc = yamux_input(f.y, data + off, k);
		off += k;
		/* Between feeds, the owner acts too (outside any callback). */
		if (rc == 0 && f.nlive && fz_rand(&f) % 3 == 0)
			fz_act(&f, f.live[fz_rand(&f) % (uint32_t)f.nlive]);
	}
	if (rc != 0 && yamux_input(f.y, data, 1) != rc)
		abort(); /* errors are sticky */
	if (f.out_left)
		abort(); /* a DATA header without its payload */
	yamux_goaway(f.y, rc ? YAMUX_GOAWAY_PROTO : YAMUX_GOAWAY_NORMAL);
	yamux_free(f.y);
	return 0;
}
