/*
 * yamux.h: a sans-I/O yamux session (hashicorp yamux spec.md; libp2p yamux/README.md, whose
 * streams start with a 256 KiB window). The owner feeds the bytes it received, in any
 * chunking, to yamux_input and gets callbacks; frames to send are handed to ops->write in
 * order (the owner queues them, e.g. for Noise encryption). No sockets, no timers.
 *
 * Callbacks may call back into the session (yamux_send, yamux_consume, yamux_fin,
 * yamux_reset, yamux_open on any stream); a stream that closes meanwhile is freed only after
 * the outermost callback returns, so pointers handed to a callback stay valid until then.
 */
#ifndef WGR_YAMUX_H
#define WGR_YAMUX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define YAMUX_HDR_LEN 12
/* Every stream's initial window in both directions (libp2p yamux spec). */
#define YAMUX_WINDOW (256u * 1024)
/* The most a stream's receive window may grow to (yamux_grow): js-libp2p's own ceiling. */
#define YAMUX_MAX_WINDOW (16u * 1024 * 1024)

enum { YAMUX_T_DATA, YAMUX_T_WINDOW, YAMUX_T_PING, YAMUX_T_GOAWAY };
enum { YAMUX_F_SYN = 1, YAMUX_F_ACK = 2, YAMUX_F_FIN = 4, YAMUX_F_RST = 8 };
/* GO_AWAY codes (the frame's length field). */
enum { YAMUX_GOAWAY_NORMAL = 0, YAMUX_GOAWAY_PROTO = 1, YAMUX_GOAWAY_INTERNAL = 2 };

struct yamux_hdr {
	uint8_t version, type;
	uint16_t flags;
	uint32_t stream, length;
};

/* Decode a 12-byte header: 0, or -EBADMSG for a version other than 0 or a type above 3. */
int yamux_hdr_decode(const uint8_t p[YAMUX_HDR_LEN], struct yamux_hdr *h);
/* Encode h into 12 bytes (big-endian fields, as the spec says). */
void yamux_hdr_encode(uint8_t p[YAMUX_HDR_LEN], const struct yamux_hdr *h);

struct yamux_stream {
	uint32_t id;
	uint32_t send_window;  /* bytes we may still send */
	uint32_t recv_window;  /* bytes the peer may still send us (what we granted) */
	uint32_t recv_unacked; /* consumed by the owner, not yet granted back */
	bool local_fin, remote_fin, reset, opened_by_us, acked;
	void *user; /* the owner's */
};

struct yamux_ops {
	/* Frames to send, in order; the owner must take all len bytes. */
	void (*write)(void *ctx, const uint8_t *p, size_t len);
	/* The peer opened st (SYN). Return 0 to accept (ACK is sent) or <0 to refuse (RST; a
	   refused stream gets no on_close). */
	int (*on_open)(void *ctx, struct yamux_stream *st);
	/* Payload bytes for st (may be part of a frame). The owner calls yamux_consume when it
	   has passed them on; until then they count against st's receive window. */
	void (*on_data)(void *ctx, struct yamux_stream *st, const uint8_t *p, size_t len);
	void (*on_fin)(void *ctx, struct yamux_stream *st); /* peer half-closed */
	/* st is gone (RST from either side, or both sides closed; yamux_free calls nothing): the
	   owner drops its pointer; st is freed after the callback returns. */
	void (*on_close)(void *ctx, struct yamux_stream *st);
	void (*on_window)(void *ctx, struct yamux_stream *st); /* send_window grew */
};

struct yamux; /* opaque, allocated */

/*
 * A session. server: the accepting side (even ids for streams it opens, odd for the peer's).
 * max_streams (at least 1) bounds the stream table; a SYN beyond it is answered with RST.
 * NULL when out of memory. ops is copied; ctx is passed to every callback.
 */
struct yamux *yamux_new(bool server, uint32_t max_streams, const struct yamux_ops *ops, void *ctx);
/* Free the session and all its streams, without callbacks (not from a callback). NULL is a
   no-op. */
void yamux_free(struct yamux *y);

/*
 * Feed received bytes: 0, or -EPROTO on a protocol violation (bad header, window overrun,
 * unknown stream data, too many streams is an RST not an error): the owner sends
 * yamux_goaway(y, 1) and closes the connection. -ECONNRESET after the peer's GO_AWAY
 * (remaining frames still processed first). Callbacks run from inside. Once an error was
 * returned, later calls return it again without reading; -EBUSY when called from a callback.
 */
int yamux_input(struct yamux *y, const uint8_t *p, size_t n);

/* Open a stream (SYN with the first window update or data): NULL when the table is full,
   the stream ids are used up, or after GO_AWAY either way. */
struct yamux_stream *yamux_open(struct yamux *y);

/*
 * Send up to n bytes on st as DATA frame(s), limited by st's send window: returns the bytes
 * taken (0 when the window is shut), -EPIPE after local FIN or reset.
 */
ssize_t yamux_send(struct yamux *y, struct yamux_stream *st, const uint8_t *p, size_t n);

/*
 * The owner passed on n received bytes of st: a WINDOW_UPDATE goes out once the unacked
 * total reaches half the window (so the peer can keep sending).
 */
void yamux_consume(struct yamux *y, struct yamux_stream *st, size_t n);
/*
 * Let st's receive window grow to max bytes (clamped to YAMUX_WINDOW .. YAMUX_MAX_WINDOW): the
 * extra is granted at once in a WINDOW_UPDATE, so a fast peer keeps more bytes in flight over
 * a long or bursty path. The owner must then be able to hold max unconsumed bytes of st.
 * Returns the bytes added (0 when the window was that large already, or st is closing).
 */
uint32_t yamux_grow(struct yamux *y, struct yamux_stream *st, uint32_t max);

/* Half-close (FIN): no more sends on st. Once the peer's FIN came too, on_close follows. */
void yamux_fin(struct yamux *y, struct yamux_stream *st);
/* RST: the stream ends both ways now; on_close follows (after any running callback). */
void yamux_reset(struct yamux *y, struct yamux_stream *st);
/* Send a PING (SYN) with opaque; the peer's ACK is taken silently. */
void yamux_ping(struct yamux *y, uint32_t opaque);
/* Send GO_AWAY with code (YAMUX_GOAWAY_*): no more streams are opened by us. */
void yamux_goaway(struct yamux *y, uint32_t code);
/* Live streams (open or half-closed): what max_streams bounds. */
size_t yamux_nstreams(const struct yamux *y);

#endif
