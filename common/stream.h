/*
 * stream.h: carrying frames over a byte stream (PROTOCOL.md §12): the record layer (a 2-byte
 * big-endian length, then one frame), sniffing what a stream listener was sent, and a
 * fixed-size byte queue for what waits for a socket. Pure: no sockets here.
 */
#ifndef WGR_STREAM_H
#define WGR_STREAM_H

#include <stddef.h>
#include <stdint.h>

#define STREAM_HDR_LEN    2
#define STREAM_MAX_RECORD 4096 /* PROTOCOL.md §12.1 */

enum stream_sniff {
	STREAM_SNIFF_MORE,
	STREAM_SNIFF_RECORDS,
	STREAM_SNIFF_TLS,
	STREAM_SNIFF_HTTP,
	STREAM_SNIFF_BAD
};
/* What a stream's first bytes (n may be 0) say it carries (§12.2). */
enum stream_sniff stream_sniff(const uint8_t *p, size_t n);

typedef void (*stream_record_fn)(void *arg, uint8_t *rec, size_t len);
struct stream_rx {
	size_t have;
	uint8_t buf[STREAM_HDR_LEN + STREAM_MAX_RECORD];
};
void stream_rx_init(struct stream_rx *rx);
/*
 * Feed n bytes of the stream; cb gets each whole record (rec valid during the call, may be
 * modified in place). 0, or -EPROTO at a length of 0 or over STREAM_MAX_RECORD: the stream is
 * finished (records before it were delivered).
 */
int stream_rx_feed(struct stream_rx *rx, const uint8_t *p, size_t n, stream_record_fn cb,
                   void *arg);
/* The record header for a frame of len bytes; 0 or -EMSGSIZE (0 or over the maximum). */
int stream_put_hdr(uint8_t hdr[STREAM_HDR_LEN], size_t len);

/* A byte queue of fixed capacity (never grows): bytes waiting for a socket. */
struct stream_q {
	uint8_t *buf;
	size_t cap, head, len;
};
int stream_q_init(struct stream_q *q, size_t cap); /* 0 or -ENOMEM */
void stream_q_free(struct stream_q *q);
size_t stream_q_room(const struct stream_q *q);
/* All n bytes or none: 0 or -ENOBUFS. */
int stream_q_push(struct stream_q *q, const void *p, size_t n);
/* The first contiguous run of queued bytes (*n = 0 when empty). */
const uint8_t *stream_q_peek(const struct stream_q *q, size_t *n);
void stream_q_pop(struct stream_q *q, size_t n);

#endif
