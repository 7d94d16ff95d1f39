/*
 * tconn.h: one stream connection carrying wgrelay frames (PROTOCOL.md §12): TCP, optionally
 * through a SOCKS5 or HTTP CONNECT proxy (client side), optionally TLS 1.3, optionally
 * WebSocket, then length-prefixed records. Non-blocking; the caller's event loop watches
 * tconn_fd() for tconn_events() and calls tconn_io(). Every buffer is bounded.
 */
#ifndef WGR_TCONN_H
#define WGR_TCONN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "ev.h" /* EV_READ, EV_WRITE */
#include "stream.h"
#include "turl.h"

enum tconn_state {
	TCONN_CONNECTING = 1,
	TCONN_PROXY,
	TCONN_TLS_HS,
	TCONN_SNIFF,
	TCONN_WS_HS,
	TCONN_OPEN,
	TCONN_CLOSED
};
struct tconn;
struct tls_ctx; /* transport/tls.h */

/* Server side, shared by all accepted connections. */
struct tconn_server {
	struct tls_ctx *tls; /* NULL: TLS refused (counted as bad preface) */
	const char *ws_path; /* "/wgrelay" */
	size_t queue_bytes;  /* output queue per connection, e.g. 65536 (at least 16 KiB used) */
};
/* Client side. */
struct tconn_client {
	struct turl url;         /* TCP, TLS, WS or WSS: what to speak; host for SNI/Host/proxy */
	struct turl_proxy proxy; /* kind NONE: straight to url */
	struct tls_ctx *tls;     /* client context (TLS, WSS) */
	size_t queue_bytes;
	uint32_t fwmark; /* SO_MARK, 0 none */
};
typedef void (*tconn_frame_fn)(void *arg, struct tconn *c, uint8_t *frame, size_t len);

/*
 * Take an accepted socket (made non-blocking; owned from now on: closed by tconn_free, or
 * here on failure). srv->ws_path must outlive the connection. 0 or -errno.
 */
int tconn_accept(struct tconn **out, int fd, const struct tconn_server *srv, uint64_t now_ms);
/*
 * Start a non-blocking connect to `to` (the proxy's address when there is one, else the
 * relay's; resolving names is the caller's). 0 or -errno.
 */
int tconn_connect(struct tconn **out, const struct tconn_client *cl, const struct addr *to,
                  uint64_t now_ms);
int tconn_fd(const struct tconn *c);
/*
 * EV_READ, plus EV_WRITE while connecting or while output waits (deferred output too: a
 * caller that forgets tconn_flush still sees it written). EV_READ is left out while
 * answers the peer caused (pongs, TLS messages) cannot be queued: a peer that does not read
 * cannot make us buffer without limit.
 */
unsigned tconn_events(const struct tconn *c);
/*
 * The socket is ready for events: advance the handshakes, deliver each whole record to cb,
 * write what waits (deferred or not). 0 while alive; -errno when finished (free it;
 * tconn_error says why). cb may call tconn_send on c but must not free c.
 */
int tconn_io(struct tconn *c, unsigned events, uint64_t now_ms, tconn_frame_fn cb, void *arg);
/*
 * Queue one frame (1..STREAM_MAX_RECORD bytes) as a record and try to write at once (unless
 * deferred). -ENOTCONN before TCONN_OPEN; -EMSGSIZE; -ENOBUFS (dropped, counted): a droppable
 * frame (DATA) when the queue is over half full, any frame when it does not fit. Deferred
 * output is written first before a frame would be refused, so deferring drops nothing more.
 */
int tconn_send(struct tconn *c, const uint8_t *frame, size_t len, bool droppable);
/*
 * Defer writes (on): tconn_send only queues, and records sent together leave with one
 * system call at tconn_flush, over TLS sealed together (up to 16 KiB a TLS record). The
 * caller flushes before its loop sleeps. Turning it off writes what waits.
 */
void tconn_defer(struct tconn *c, bool on);
/*
 * Write what waits, as tconn_io does for EV_WRITE; what the socket does not take waits for
 * EV_WRITE (tconn_events). 0, or the -errno of a connection that finished (then, as after
 * tconn_io, the caller ends it: tconn_error says why).
 */
int tconn_flush(struct tconn *c);
/* The current state. */
enum tconn_state tconn_state(const struct tconn *c);
/* What the connection speaks: enum turl_kind; 0 while a server still sniffs. */
uint8_t tconn_kind(const struct tconn *c);
/*
 * It reached TCONN_OPEN, even if it finished since: a failure in the read that completed its
 * handshakes is the open connection's, not the handshake's.
 */
bool tconn_opened(const struct tconn *c);
/* When the current state began (the now_ms of the call that entered it). */
uint64_t tconn_since_ms(const struct tconn *c);
/* Why it finished, in a few words; "" while alive. */
const char *tconn_error(const struct tconn *c);
struct tconn_stats {
	uint64_t rx_records, tx_records, tx_dropped, rx_bytes, tx_bytes;
};
/* Counters of records and bytes (bytes as on the socket). */
const struct tconn_stats *tconn_stats(const struct tconn *c);
/* Closes the socket and frees everything; NULL is a no-op. */
void tconn_free(struct tconn *c);

#endif
