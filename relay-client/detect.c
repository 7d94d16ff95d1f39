/* detect.c: the failed-window detector and the should_try_relay rule. */
#include "detect.h"

#include <stdio.h>

/* WireGuard rejects a session after 180 s (REJECT_AFTER_TIME); older means no live session. */
#define SESSION_LIFETIME_S 180

enum detect_verdict detect_window(const struct detect_sample *first,
                                  const struct detect_sample *last)
{
	uint64_t tx = last->tx_bytes >= first->tx_bytes ? last->tx_bytes - first->tx_bytes : 0;
	uint64_t rx = last->rx_bytes >= first->rx_bytes ? last->rx_bytes - first->rx_bytes : 0;
	bool hs_moved = last->last_handshake != first->last_handshake && last->last_handshake != 0;
	bool live =
	    last->last_handshake != 0 && last->t - last->last_handshake < SESSION_LIFETIME_S;

	if (hs_moved)
		return DETECT_HEALTHY;
	if (tx == 0)
		return rx ? DETECT_HEALTHY : DETECT_IDLE;
	if (rx > 0)
		return DETECT_HEALTHY;
	/*
	 * Sent something, got nothing, no new handshake. Under a live session that is data
	 * going unanswered (may be a one-way application flow); without one, what went out were
	 * initiations, which only fail when at least one full initiation left.
	 */
	if (live)
		return DETECT_ONEWAY;
	return tx >= DETECT_INIT_BYTES ? DETECT_FAILED : DETECT_IDLE;
}

const char *detect_verdict_name(enum detect_verdict v)
{
	switch (v) {
	case DETECT_IDLE:
		return "idle";
	case DETECT_HEALTHY:
		return "healthy";
	case DETECT_ONEWAY:
		return "one-way";
	case DETECT_FAILED:
		return "failed";
	}
	return "?";
}

void detect_feed(struct detect_peer *p, enum detect_verdict v, const struct detect_sample *first,
                 const struct detect_sample *last)
{
	switch (v) {
	case DETECT_FAILED:
		if (p->consecutive_failed == 0) {
			p->first_failed_at = first->t;
			p->inits_in_run = 0;
		}
		p->consecutive_failed++;
		p->inits_in_run += (last->tx_bytes - first->tx_bytes) / DETECT_INIT_BYTES;
		break;
	case DETECT_HEALTHY:
		p->consecutive_failed = 0;
		p->inits_in_run = 0;
		break;
	case DETECT_IDLE:
	case DETECT_ONEWAY:
		/* No new evidence: keep the run as it is. */
		break;
	}
	p->last = v;
}

bool detect_should_try_relay(const struct detect_peer *p, const struct detect_rules *r,
                             const struct detect_history *h, const char *endpoint, int64_t now,
                             char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	if (p->last == DETECT_HEALTHY)
		return false;
	if (r->fast_windows && p->consecutive_failed >= r->fast_windows) {
		if (why)
			snprintf(why, whylen,
			         "%u handshake windows failed on %s in %lld s (%llu initiations "
			         "unanswered)",
			         p->consecutive_failed, endpoint ? endpoint : "(none)",
			         (long long)(now - p->first_failed_at),
			         (unsigned long long)p->inits_in_run);
		return true;
	}
	if (h && h->cache_rule) {
		if (why) {
			if (h->recent_failures > 10)
				snprintf(why, whylen,
				         "%u failed windows in 30 min over %u endpoints",
				         h->recent_failures, h->n_endpoints);
			else
				snprintf(why, whylen, "all %u known endpoints failed",
				         h->n_endpoints);
		}
		return true;
	}
	return false;
}
