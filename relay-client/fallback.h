/*
 * fallback.h: which carrier a relay link uses (PROTOCOL.md §12): UDP first; when its handshake
 * goes unanswered for FALLBACK_UDP_WAIT_MS and the relay has stream URLs, the first of them;
 * a stream that fails moves on to the next, with backoff once all have failed; while on a
 * stream, UDP is probed every FALLBACK_UDP_RETRY_MS and taken back when it answers. Pure: the
 * caller (carrier.c) says what the link shows and applies the move; no I/O, no clock.
 */
#ifndef WGR_FALLBACK_H
#define WGR_FALLBACK_H

#include <stdbool.h>
#include <stdint.h>

#define FALLBACK_MAX_URLS 4
/* UDP: three handshakes a second apart unanswered (carrier.c retries them every second). */
#define FALLBACK_UDP_WAIT_MS 3000
#define FALLBACK_HS_RETRY_MS 1000
/* A stream not open (connected, proxied, TLS and WebSocket done) this long has failed. */
#define FALLBACK_OPEN_MS 10000
/* An open stream whose handshake goes unanswered this long has failed. */
#define FALLBACK_STREAM_HS_MS 5000
/* While on a stream, UDP is probed again this often. */
#define FALLBACK_UDP_RETRY_MS (5 * 60 * 1000)
/* Backoff once every URL has failed: 1 s, doubling, at most this. */
#define FALLBACK_BACKOFF_MIN_MS 1000
#define FALLBACK_BACKOFF_MAX_MS 60000

#define FALLBACK_UDP (-1) /* fallback.cur: on UDP */

struct fallback {
	uint8_t n_urls;        /* stream URLs the relay has, 0..FALLBACK_MAX_URLS */
	int cur;               /* FALLBACK_UDP, or the index of the stream URL in use */
	int next;              /* the URL to try next */
	int64_t since_ms;      /* when the current carrier was taken */
	int64_t down_since_ms; /* the link is not up on it since (-1: up, or not seen yet) */
	int64_t open_since_ms; /* the stream opened (-1: not yet) */
	int64_t not_before_ms; /* backoff: no stream is tried before this */
	uint32_t backoff_ms;   /* the next backoff; 0 while some URL is untried */
	uint8_t failed;        /* streams failed in a row since one carried a handshake */
	int64_t probe_ms;      /* the last UDP probe while on a stream */
};

/* What the link shows this tick. */
struct fallback_in {
	int64_t now_ms;
	bool up;            /* the link's handshake succeeded on the current carrier */
	bool stream_open;   /* on a stream: it is open */
	bool stream_failed; /* on a stream: it finished (closed, refused, not connected) */
	bool udp_answered;  /* on a stream: the UDP probe was answered */
};

enum fallback_act {
	FALLBACK_NONE = 0,
	FALLBACK_TO_STREAM, /* close any stream, connect to URL out.url */
	FALLBACK_TO_UDP,    /* close the stream, handshake on UDP again */
	FALLBACK_PROBE_UDP, /* send a UDP probe PING, stay on the stream */
};

enum fallback_why {
	FALLBACK_W_NONE = 0,
	FALLBACK_W_UDP_SILENT, /* UDP unanswered */
	FALLBACK_W_CLOSED,     /* the stream finished */
	FALLBACK_W_OPEN_SLOW,  /* the stream did not open in time */
	FALLBACK_W_HS_SILENT,  /* the handshake on the stream went unanswered */
	FALLBACK_W_UDP_BACK,   /* UDP answers again */
	FALLBACK_W_PROBE,      /* time to probe UDP */
	FALLBACK_W_BACKOFF,    /* every URL failed and the backoff is over: the next one */
};

struct fallback_out {
	enum fallback_act act;
	int url; /* FALLBACK_TO_STREAM: which */
	enum fallback_why why;
	uint32_t backoff_ms; /* FALLBACK_TO_UDP after a failure: waited before the next URL */
};

/* Start on UDP at now_ms for a relay with n_urls stream URLs (more are ignored). */
void fallback_init(struct fallback *f, uint8_t n_urls, int64_t now_ms);
/*
 * The relay's stream URLs changed to n_urls (a reload): a link on a URL that went stays
 * until it fails; the order starts again.
 */
void fallback_set_urls(struct fallback *f, uint8_t n_urls);
/* One step (each tick): what to do now, into *out; f moves with it. */
void fallback_step(struct fallback *f, const struct fallback_in *in, struct fallback_out *out);
/* Words for logs: "UDP unanswered", "closed", ... */
const char *fallback_why_name(enum fallback_why why);

#endif
