/* probe.h: PING/PONG probes (PROTOCOL.md §3) for RTT, load and reachability of relays. */
#ifndef WGR_PROBE_H
#define WGR_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "frame.h"

/* At most this many targets are probed in one call (the cache loads no more relays). */
#define PROBE_MAX_TARGETS 1024

struct probe_target {
	struct addr addr;
	/* results */
	bool answered;
	int rtt_ms;
	struct frame_pong pong;
	/* probe_ping's own */
	uint64_t nonce;
	int64_t sent_at;
};

/*
 * PING every target (twice, the second after timeout_ms / 2 for the unanswered) and wait up to
 * timeout_ms for PONGs. fwmark != 0 sets SO_MARK on the sockets. Malformed or unexpected
 * replies are dropped. Only the first PROBE_MAX_TARGETS are probed (one warning); the rest stay
 * unanswered. 0 or -errno (no socket at all).
 */
int probe_ping(struct probe_target *t, size_t n, int timeout_ms, uint32_t fwmark);

#endif
