/*
 * ws.h: WebSocket framing (RFC 6455 §5) over memory buffers, after the upgrade (PROTOCOL.md
 * §12.3): binary messages only, each at most max_msg bytes. Received bytes go in with ws_feed;
 * bytes to send come out of ws_take. The output buffer is fixed; nothing here grows without
 * bound except wslay's queue of control answers, which the caller bounds by not feeding while
 * ws_backlog() is true.
 */
#ifndef WGR_WS_H
#define WGR_WS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The largest frame header: 2 bytes, a 64-bit length, a 4-byte mask (RFC 6455 §5.2). */
#define WS_MAX_HDR 14
/* What ws_take can hold back: two largest records with their headers, plus control frames. */
#define WS_OUT_CAP 12288

struct ws;
/* A whole binary message (len <= max_msg; valid during the call). */
typedef void (*ws_msg_fn)(void *arg, const uint8_t *msg, size_t len);

/*
 * A client (masks what it sends, refuses masked input) or server (the reverse) endpoint.
 * Messages over max_msg bytes close with 1009 before any of them is buffered. 0 or -ENOMEM.
 */
int ws_new(struct ws **out, bool client, size_t max_msg);
void ws_free(struct ws *w); /* NULL ok */
/*
 * Received bytes: each whole binary message goes to cb; pings are answered, a close is
 * answered. 0 while open; when the connection is over (a close, a text message -> 1003, too
 * long -> 1009, a protocol error -> 1002): -ECONNRESET (the peer closed) or -EPROTO, and
 * ws_error says why; what is left to send (our close) waits in ws_take.
 */
int ws_feed(struct ws *w, const uint8_t *p, size_t n, ws_msg_fn cb, void *arg);
/*
 * Frame one binary message into the output, all or nothing: 0, -ENOBUFS (not enough room in
 * the output, or control answers still wait), -ENOTCONN (closed), -ENOMEM.
 */
int ws_send(struct ws *w, const uint8_t *p, size_t n);
/* Bytes waiting to be sent. */
size_t ws_pending(const struct ws *w);
/* Move up to cap waiting bytes into out; their count. Refills from wslay's queue. */
size_t ws_take(struct ws *w, uint8_t *out, size_t cap);
/* True while answers the peer caused (pongs, close) wait: stop feeding until they drain. */
bool ws_backlog(const struct ws *w);
/* Why the connection ended, a few words; "" while open. */
const char *ws_error(const struct ws *w);

#endif
