/*
 * Fuzz target: the record reader. The input after its first 4 bytes (a seed) is the stream; fed
 * in pieces whose sizes come from the seed it must give exactly the records of one feed, and
 * those records, framed again, must be the input they came from.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "stream.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct out {
	uint8_t *p;
	size_t len;
};

/* Each record, framed again, goes to the end of out. */
static void out_cb(void *arg, uint8_t *rec, size_t len)
{
	struct out *o = arg;

	if (len == 0 || len > STREAM_MAX_RECORD || stream_put_hdr(o->p + o->len, len) != 0)
		abort();
	memcpy(o->p + o->len + STREAM_HDR_LEN, rec, len);
	o->len += STREAM_HDR_LEN + len;
	memset(rec, 0xa5, len); /* the callback may change it: nothing later depends on it */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct stream_rx rx;
	struct out one, many;
	uint32_t x = 0;
	int r1, r2 = 0;

	if (size < 4 || size > (1u << 20))
		return 0;
	for (int i = 0; i < 4; i++)
		x = x << 8 | data[i];
	data += 4;
	size -= 4;
	one.p = malloc(size + 1);
	many.p = malloc(size + 1);
	if (!one.p || !many.p)
		abort();
	one.len = many.len = 0;
	stream_rx_init(&rx);
	r1 = stream_rx_feed(&rx, data, size, out_cb, &one);
	stream_rx_init(&rx);
	for (size_t pos = 0; pos < size && r2 == 0;) {
		size_t piece;

		x ^= x << 13, x ^= x >> 17, x ^= x << 5; /* xorshift32 */
		piece = (x >> 4) % (x & 8 ? 8 : STREAM_MAX_RECORD + 8) + 1;
		if (piece > size - pos)
			piece = size - pos;
		r2 = stream_rx_feed(&rx, data + pos, piece, out_cb, &many);
		pos += piece;
	}
	/* Same outcome, same records, and they are the start of the input; an error is final. */
	if (r1 != r2 || (r1 != 0 && r1 != -EPROTO) || one.len != many.len ||
	    memcmp(one.p, many.p, one.len) != 0 || memcmp(one.p, data, one.len) != 0 ||
	    (r1 == -EPROTO && stream_rx_feed(&rx, data, size, out_cb, &many) != -EPROTO))
		abort();
	free(one.p);
	free(many.p);
	return 0;
}
