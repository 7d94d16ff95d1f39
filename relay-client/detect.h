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

/* Per-peer running state across windows. */
struct detect_peer {
	unsigned consecutive_failed;
	int64_t first_failed_at; /* start of the failing run */
	enum detect_verdict last;
	uint64_t inits_in_run; /* estimated initiations sent during the run */
};

/* Feed one judged window; initiations = tx growth / 148 for failed windows. */
void detect_feed(struct detect_peer *p, enum detect_verdict v, const struct detect_sample *first,
                 const struct detect_sample *last);

struct detect_rules {
	unsigned
	    fast_windows; /* consecutive failed windows (default 2); 0 disables the fast rule */
};

/* Inputs of plan 003's rule, from the cache. */
struct detect_history {
	bool cache_rule; /* cache_should_try_relay's answer */
	unsigned n_endpoints, recent_failures;
};

/*
 * True when the peer should go to a relay: the cache rule or the fast rule fired, and the last
 * window was not healthy (a working direct path is never relayed). why gets the rule and its
 * numbers, e.g. "3 handshake windows failed on 198.51.100.7:51820 in 15 s".
 */
bool detect_should_try_relay(const struct detect_peer *p, const struct detect_rules *r,
                             const struct detect_history *h, const char *endpoint, int64_t now,
                             char *why, size_t whylen);

#endif
