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

void detect_second(struct detect_peer *p, const struct detect_sample *prev,
                   const struct detect_sample *cur)
{
	uint64_t tx = cur->tx_bytes >= prev->tx_bytes ? cur->tx_bytes - prev->tx_bytes : 0;
	bool rx = cur->rx_bytes > prev->rx_bytes ||
	          (cur->last_handshake != prev->last_handshake && cur->last_handshake != 0);

	p->live = cur->last_handshake != 0 && cur->t - cur->last_handshake < SESSION_LIFETIME_S;
	if (rx) {
		p->rx_at = cur->t;
		p->unanswered_at = 0;
		p->unanswered_tx = 0;
		p->attempts = 0;
		return;
	}
	if (tx == 0 || tx == DETECT_KEEPALIVE)
		return;
	if (!p->unanswered_at)
		p->unanswered_at = prev->t;
	p->unanswered_tx += tx;
	/* Without a live session only initiations leave (data waits for the handshake). */
	if (!p->live && tx >= DETECT_INIT_BYTES) {
		p->attempts += (unsigned)(tx / DETECT_INIT_BYTES);
		p->attempt_at = cur->t;
	}
}

int64_t detect_unanswered_s(const struct detect_peer *p, int64_t now)
{
	return p->unanswered_at && now > p->unanswered_at ? now - p->unanswered_at : 0;
}

bool detect_should_try_relay(const struct detect_peer *p, const struct detect_rules *r,
                             const struct detect_history *h, const char *endpoint, int64_t now,
                             char *why, size_t whylen)
{
	int64_t quiet = detect_unanswered_s(p, now);

	if (why && whylen)
		why[0] = '\0';
	if (!endpoint)
		endpoint = "(none)";
	/* Something came back since the last traffic left: the path works. */
	if (!p->unanswered_at && p->rx_at)
		return false;
	if (p->last == DETECT_HEALTHY && !p->unanswered_at)
		return false;
	if (r->attempts && !p->live && p->attempts >= r->attempts &&
	    now - p->attempt_at >= DETECT_ATTEMPT_S) {
		if (why)
			snprintf(why, whylen, "%u handshake attempts unanswered on %s in %lld s",
			         p->attempts, endpoint, (long long)quiet);
		return true;
	}
	if (r->attempts && p->live && quiet >= DETECT_SILENT_S) {
		if (why)
			snprintf(why, whylen,
			         "data to %s unanswered for %lld s (%llu bytes sent, nothing back)",
			         endpoint, (long long)quiet, (unsigned long long)p->unanswered_tx);
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
