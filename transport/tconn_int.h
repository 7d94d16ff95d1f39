/*
 * tconn_int.h: what the parts of a stream connection share, inside transport/ only:
 * tconn.c (the layers' handshakes, input, life cycle), tconn_out.c (output: records down
 * through the layers into the queue and onto the socket) and tconn_proxy.c (the client's
 * SOCKS5 or HTTP CONNECT handshake).
 */
#ifndef WGR_TCONN_INT_H
#define WGR_TCONN_INT_H

#include "http.h"
#include "socks5.h"
#include "tconn.h"

#define TCONN_CHUNK     16384 /* one recv, one TLS record's plaintext at most */
#define TCONN_TLS_SLACK 64    /* a TLS 1.3 record's header, type byte and tag, rounded up */

struct tls;
struct ws;

struct tconn {
	int fd;
	bool server;
	bool defer; /* tconn_send only queues; tconn_flush (or tconn_io) writes */
	uint8_t state;
	uint8_t kind;
	bool opened; /* reached TCONN_OPEN (stays set once it finished) */
	int fin;     /* 0 while alive, else the -errno tconn_io returns */
	uint64_t since_ms, now_ms;
	char err[160];
	struct tconn_server srv;
	struct tconn_client cl;
	struct tls *tls;
	struct ws *ws;
	struct socks5 socks;
	char ws_key[HTTP_WS_KEY_LEN + 1];
	tconn_frame_fn cb; /* set during tconn_io */
	void *cb_arg;
	struct tconn_stats st;
	struct stream_q q;
	struct stream_rx rx;
	/* Deferred records over TLS without WebSocket: sealed together as one TLS record. */
	uint8_t *stage; /* TCONN_CHUNK bytes, made at the first need */
	size_t stage_len;
	size_t head_len; /* proxy reply, upgrade head, or the first bytes being sniffed */
	uint8_t head[HTTP_MAX_HEAD];
};

/* tconn.c */
void tconn_set_state(struct tconn *c, enum tconn_state s);
/* Finish the connection with err (-errno) and a reason; the first reason stays. c->fin. */
__attribute__((format(printf, 3, 4))) int tconn_fail(struct tconn *c, int err, const char *fmt,
                                                     ...);
/* strerror's words after prefix, as the other reasons read. c->fin. */
int tconn_fail_errno(struct tconn *c, int err, const char *prefix);
/* Append up to the head's room; how many of p's bytes were taken. */
size_t tconn_head_add(struct tconn *c, const uint8_t *p, size_t n);
/* Bytes as read from the socket, into the layers; c->fin. */
int tconn_in_raw(struct tconn *c, const uint8_t *p, size_t n);
/* TCP (through the proxy) is up: begin TLS, the upgrade, or records. */
void tconn_start_upper(struct tconn *c);

/* tconn_out.c */
/* Bytes straight into the queue (no TLS): all or the connection fails. 0 or c->fin. */
int tconn_out_raw(struct tconn *c, const void *p, size_t n);
/* Plaintext of a handshake step: through TLS when there is TLS. 0 or c->fin. */
int tconn_out_plain(struct tconn *c, const void *p, size_t n);
/* Ciphertext the TLS layer produced, into the queue as room allows. */
void tconn_out_cipher(struct tconn *c);
/* Everything waiting above the queue (staged records, WebSocket frames, TLS) into it. */
void tconn_out_layers(struct tconn *c);
/* Send what the queue holds until the socket would block. */
void tconn_out_write(struct tconn *c);
/* Bytes waiting to be sent: in the queue and above it. */
size_t tconn_out_pending(const struct tconn *c);
/* Frees the staging buffer. */
void tconn_out_free(struct tconn *c);

/* tconn_proxy.c */
/* Connected to the proxy: its handshake's first message. */
void tconn_proxy_start(struct tconn *c);
/* The proxy's bytes; when its reply is whole, the layers above start. c->fin. */
int tconn_proxy_in(struct tconn *c, const uint8_t *p, size_t n);

#endif
