/*
 * detect.h: judge WireGuard's counters per 5 s window, and decide when a peer needs a relay.
 * Pure functions over recorded samples, so tests replay real counter sequences.
 */
#ifndef WGR_DETECT_H
#define WGR_DETECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DETECT_WINDOW_S   5
#define DETECT_INIT_BYTES 148 /* one WireGuard handshake initiation on the wire */
#define DETECT_KEEPALIVE  32  /* one keepalive: a transport header and a tag, nothing inside */
/*
 * WireGuard's own rule: data sent with nothing back for KEEPALIVE_TIMEOUT + REKEY_TIMEOUT
 * (10 + 5 s) means a new handshake. A live session whose data goes unanswered that long is
 * broken, whatever the handshake's age: a working far side answers data within 10 s (its
 * passive keepalive) if it has nothing else to send.
 */
#define DETECT_SILENT_S 15
/*
 * A handshake attempt unanswered this long after the read that saw it has failed (any round
 * trip is far shorter), and a peer moved then (at most 3 s after the attempt, with reads a
 * second apart) is on its relay before WireGuard's own retry 5 s after the attempt: that retry
 * goes through the relay (WireGuard sends no initiation sooner, whatever we ask).
 */
#define DETECT_ATTEMPT_S 2

/* One reading of a peer, taken every second. */
struct detect_sample {
	int64_t t;              /* seconds, monotonic or unix, the same clock for all */
	uint64_t tx_bytes;      /* cumulative */
	uint64_t rx_bytes;      /* cumulative */
	int64_t last_handshake; /* unix seconds, 0 = never */
};

enum detect_verdict {
	DETECT_IDLE,    /* nothing sent: no evidence either way */
	DETECT_HEALTHY, /* a handshake completed, or data flows both ways */
	DETECT_ONEWAY,  /* data sent under a live session, nothing back: suspect, not failed */
	DETECT_FAILED,  /* handshake initiations sent, no handshake completed, nothing back */
};

/* Judge the window between two samples (first, last). */
enum detect_verdict detect_window(const struct detect_sample *first,
                                  const struct detect_sample *last);
const char *detect_verdict_name(enum detect_verdict v);

/* Per-peer running state across windows, and per second (detect_second). */
struct detect_peer {
	unsigned consecutive_failed;
	int64_t first_failed_at; /* start of the failing run */
	enum detect_verdict last;
	uint64_t inits_in_run; /* estimated initiations sent during the run */
	/* per second: what went out since anything last came back */
	int64_t rx_at;          /* last second something came back (or a handshake), 0 never */
	int64_t unanswered_at;  /* first second something left since, 0 none */
	uint64_t unanswered_tx; /* bytes sent since then, lone keepalives left out */
	unsigned attempts;      /* handshake initiations among them (no live session) */
	int64_t attempt_at;     /* second the last of them was seen */
	bool live;              /* a session younger than WireGuard's 180 s at the last second */
};

/*
 * Feed one second (prev, cur). A second whose only traffic was one keepalive starts nothing:
 * an idle tunnel keeping a NAT open gets no answer and is not broken.
 */
void detect_second(struct detect_peer *p, const struct detect_sample *prev,
                   const struct detect_sample *cur);
/* Seconds traffic has gone out without anything coming back; 0 when answered. */
int64_t detect_unanswered_s(const struct detect_peer *p, int64_t now);

/* Feed one judged window; initiations = tx growth / 148 for failed windows. */
void detect_feed(struct detect_peer *p, enum detect_verdict v, const struct detect_sample *first,
                 const struct detect_sample *last);

struct detect_rules {
	/*
	 * Handshake attempts left unanswered before relaying (default 1; the last one counts
	 * once unanswered for DETECT_ATTEMPT_S, earlier ones once WireGuard retried them); 0
	 * disables both fast rules (attempts, and a live session's data unanswered
	 * DETECT_SILENT_S).
	 */
	unsigned attempts;
};

/* Inputs of plan 003's rule, from the cache. */
struct detect_history {
	bool cache_rule; /* cache_should_try_relay's answer */
	unsigned n_endpoints, recent_failures;
};

/*
 * True when the peer should go to a relay: a fast rule (handshake attempts unanswered, or a
 * live session's data unanswered for DETECT_SILENT_S) or the cache rule fired, and nothing
 * came back since (a working direct path is never relayed). why gets the rule and its
 * numbers, e.g. "2 handshake attempts unanswered on 198.51.100.7:51820 in 6 s".
 */
bool detect_should_try_relay(const struct detect_peer *p, const struct detect_rules *r,
                             const struct detect_history *h, const char *endpoint, int64_t now,
                             char *why, size_t whylen);

#endif
