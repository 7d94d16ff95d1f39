/* stream.c: records, sniffing and the output queue of stream carriage (see stream.h). */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "stream.h"

/*
 * A finished stream: have can never reach this while records are read (it stays at most
 * STREAM_HDR_LEN + STREAM_MAX_RECORD), so the struct needs no extra field to remember it.
 */
#define STREAM_RX_DEAD SIZE_MAX

enum stream_sniff stream_sniff(const uint8_t *p, size_t n)
{
	struct rbuf b;
	uint8_t c;

	rbuf_init(&b, p, n);
	if (buf_get_u8(&b, &c) < 0)
		return STREAM_SNIFF_MORE;
	/*
	 * One byte decides. A TLS record starts with its content type, 22 (handshake) for a
	 * ClientHello; an HTTP request line starts with its method, and the only one a
	 * WebSocket upgrade uses is "GET". A record's first byte is the high byte of its
	 * length, and a length is at most STREAM_MAX_RECORD (0x1000), so it is 0x00..0x10.
	 * The three ranges do not meet, and nothing else is ours.
	 */
	if (c == 0x16)
		return STREAM_SNIFF_TLS;
	if (c == 'G')
		return STREAM_SNIFF_HTTP;
	if (c <= STREAM_MAX_RECORD >> 8)
		return STREAM_SNIFF_RECORDS;
	return STREAM_SNIFF_BAD;
}

void stream_rx_init(struct stream_rx *rx)
{
	rx->have = 0;
}

/* The length in a complete header, or -EPROTO when no frame can have it. */
static int stream_rx_len(const struct stream_rx *rx, size_t *len)
{
	struct rbuf b;
	uint16_t v;

	rbuf_init(&b, rx->buf, STREAM_HDR_LEN);
	if (buf_get_u16(&b, &v) < 0 || v == 0 || v > STREAM_MAX_RECORD)
		return -EPROTO;
	*len = v;
	return 0;
}

/*
 * Every record is gathered in rx->buf, even when the input holds it whole: the callback may
 * change the record in place (it is opened there) and the input is the caller's, read-only.
 * A copy of at most 4 KiB per record is cheap beside the crypto that follows.
 */
int stream_rx_feed(struct stream_rx *rx, const uint8_t *p, size_t n, stream_record_fn cb, void *arg)
{
	struct rbuf b;
	size_t len = 0, want, take;

	if (rx->have == STREAM_RX_DEAD)
		return -EPROTO;
	rbuf_init(&b, p, n);
	while (rbuf_left(&b) > 0) {
		if (rx->have < STREAM_HDR_LEN) {
			take = STREAM_HDR_LEN - rx->have;
			if (take > rbuf_left(&b))
				take = rbuf_left(&b);
			buf_get_bytes(&b, rx->buf + rx->have, take);
			rx->have += take;
			if (rx->have < STREAM_HDR_LEN)
				break;
		}
		if (stream_rx_len(rx, &len) < 0) {
			rx->have = STREAM_RX_DEAD;
			return -EPROTO;
		}
		want = STREAM_HDR_LEN + len - rx->have;
		take = want < rbuf_left(&b) ? want : rbuf_left(&b);
		buf_get_bytes(&b, rx->buf + rx->have, take);
		rx->have += take;
		if (rx->have == STREAM_HDR_LEN + len) {
			rx->have = 0;
			cb(arg, rx->buf + STREAM_HDR_LEN, len);
		}
	}
	return 0;
}

int stream_put_hdr(uint8_t hdr[STREAM_HDR_LEN], size_t len)
{
	struct wbuf w;

	if (len == 0 || len > STREAM_MAX_RECORD)
		return -EMSGSIZE;
	wbuf_init(&w, hdr, STREAM_HDR_LEN);
	return buf_put_u16(&w, (uint16_t)len);
}

int stream_q_init(struct stream_q *q, size_t cap)
{
	memset(q, 0, sizeof(*q));
	/* malloc(0) may be NULL; a queue of no room is still a valid (always full) queue. */
	q->buf = malloc(cap ? cap : 1);
	if (!q->buf)
		return -ENOMEM;
	q->cap = cap;
	return 0;
}

void stream_q_free(struct stream_q *q)
{
	if (!q)
		return;
	free(q->buf);
	memset(q, 0, sizeof(*q));
}

size_t stream_q_room(const struct stream_q *q)
{
	return q->cap - q->len;
}

int stream_q_push(struct stream_q *q, const void *p, size_t n)
{
	const uint8_t *src = p;
	size_t tail, first;

	/* Part of a record would corrupt the stream for good, so it is all or nothing. */
	if (n > stream_q_room(q))
		return -ENOBUFS;
	if (n == 0)
		return 0;
	tail = (q->head + q->len) % q->cap;
	first = q->cap - tail < n ? q->cap - tail : n;
	memcpy(q->buf + tail, src, first);
	memcpy(q->buf, src + first, n - first);
	q->len += n;
	return 0;
}

const uint8_t *stream_q_peek(const struct stream_q *q, size_t *n)
{
	size_t run = q->cap - q->head;

	if (q->len == 0) {
		*n = 0;
		return q->buf;
	}
	*n = q->len < run ? q->len : run;
	return q->buf + q->head;
}

void stream_q_pop(struct stream_q *q, size_t n)
{
	if (n > q->len)
		n = q->len;
	q->len -= n;
	/* An empty queue starts over at 0, so the next peek gets the longest run. */
	q->head = q->len ? (q->head + n) % q->cap : 0;
}
