/*
 * Fuzz target: multistream-select. The input after its first 4 bytes (a seed for the chunk
 * sizes) is what the peer sends, given to a listener and to a dialer, once whole and once
 * in pieces: each role must end the same way, send the same bytes, take the same bytes, and
 * never send more than one negotiation's worth.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mss.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const protos[] = {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0",
                                     "/libp2p/circuit/relay/0.2.0/hop", "na"};
#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

struct run {
	int r;        /* the last result */
	size_t taken; /* input bytes taken before application data (or the error) */
	int chosen;   /* listener */
	uint8_t out[2 * MSS_OUT_MAX];
	size_t out_len;
};

static uint32_t next_piece(uint32_t *x, size_t left)
{
	uint32_t piece;

	*x ^= *x << 13, *x ^= *x >> 17, *x ^= *x << 5; /* xorshift32 */
	piece = (*x >> 4) % (*x & 8 ? 4 : 64) + 1;
	return piece > left ? (uint32_t)left : piece;
}

/* Feed in pieces (one piece of everything when x is 0); stop at the first non-zero result. */
static void run_listen(struct run *o, const uint8_t *in, size_t n, uint32_t x)
{
	struct mss m;
	struct wbuf w;
	size_t pos = 0, used = 0;

	memset(o, 0, sizeof(*o));
	o->chosen = -1;
	mss_listen_init(&m);
	wbuf_init(&w, o->out, sizeof(o->out));
	do {
		size_t piece = x ? next_piece(&x, n - pos) : n - pos;

		o->r =
		    mss_listen_input(&m, protos, NPROTOS, in + pos, piece, &used, &w, &o->chosen);
		if (used > piece || (o->r == 0 && used != piece))
			abort();
		pos += used;
	} while (o->r == 0 && pos < n);
	o->taken = pos;
	o->out_len = w.pos;
	/* Header, MSS_MAX_TRIES "na" and the longest echo at most; no answer without a header. */
	if (o->out_len > MSS_OUT_MAX ||
	    (o->r < 0 && o->r != -EPROTO && o->r != -EMSGSIZE && o->r != -EBADMSG))
		abort();
	if (o->r == 1 && (o->chosen < 0 || (size_t)o->chosen >= NPROTOS))
		abort();
}

static void run_dial(struct run *o, const uint8_t *in, size_t n, uint32_t x)
{
	struct mss m;
	struct wbuf w;
	size_t pos = 0, used = 0;

	memset(o, 0, sizeof(*o));
	wbuf_init(&w, o->out, sizeof(o->out));
	if (mss_dial_start(&m, "/libp2p/circuit/relay/0.2.0/stop", &w) != 0)
		abort();
	do {
		size_t piece = x ? next_piece(&x, n - pos) : n - pos;

		o->r = mss_dial_input(&m, in + pos, piece, &used);
		if (used > piece || (o->r == 0 && used != piece))
			abort();
		pos += used;
	} while (o->r == 0 && pos < n);
	o->taken = pos;
	o->out_len = w.pos;
	if (o->r < 0 && o->r != -EPROTO && o->r != -EMSGSIZE && o->r != -EBADMSG &&
	    o->r != -ENOPROTOOPT)
		abort();
}

static void same(const struct run *a, const struct run *b)
{
	if (a->r != b->r || a->taken != b->taken || a->chosen != b->chosen ||
	    a->out_len != b->out_len || memcmp(a->out, b->out, a->out_len) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct run one, many;
	uint32_t x = 0;

	if (size < 4 || size > 8192)
		return 0;
	for (int i = 0; i < 4; i++)
		x = x << 8 | data[i];
	x |= 1; /* xorshift's state must not be 0 */
	data += 4;
	size -= 4;
	run_listen(&one, data, size, 0);
	run_listen(&many, data, size, x);
	same(&one, &many);
	run_dial(&one, data, size, 0);
	run_dial(&many, data, size, x);
	same(&one, &many);
	return 0;
}
