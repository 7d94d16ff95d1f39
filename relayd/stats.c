/* stats.c: counters, the periodic stats line and event lines (see stats.h). */
#include <stdarg.h>
#include <stdio.h>

#include "libp2p.h"
#include "relay.h"
#include "stats.h"

const char *stats_drop_name(enum drop_reason r)
{
	static const char *const names[DROP_MAX] = {
	    [DROP_MALFORMED] = "malformed",
	    [DROP_BAD_MAC] = "bad_mac",
	    [DROP_AUTH] = "auth",
	    [DROP_REPLAY] = "replay",
	    [DROP_RATE] = "rate_limited",
	    [DROP_UNKNOWN_LINK] = "unknown_link",
	    [DROP_UNKNOWN_SOURCE] = "unknown_source",
	    [DROP_UNCONFIRMED] = "unconfirmed",
	    [DROP_NO_PEER] = "no_peer",
	    [DROP_POLICY] = "policy",
	    [DROP_BANDWIDTH] = "bandwidth",
	    [DROP_SEND] = "send_failed",
	    [DROP_SOCKET_FULL] = "socket_full",
	    [DROP_OVERSIZE] = "oversize",
	    [DROP_UNPROVEN] = "unproven",
	    [DROP_LIMIT] = "limit",
	};

	return r < DROP_MAX ? names[r] : "unknown";
}

void stats_log(const struct relay *r)
{
	uint64_t drops = 0;
	char p2p[160] = "", xdp[32];

	for (int i = 0; i < DROP_MAX; i++)
		drops += r->st.drops[i];
	log_info("stats: uptime %llus, active circuits %llu, reservations %llu, links %zu, "
	         "relayed %.1f MB (direct %llu pkts, sealed %llu pkts), dropped %llu, "
	         "events suppressed %llu%s%s",
	         (unsigned long long)((ev_now_ms(r->loop) - r->started_ms) / 1000),
	         (unsigned long long)r->circuits, (unsigned long long)r->reservations, r->links.n,
	         (double)(r->st.bytes[0] + r->st.bytes[1]) / 1e6, (unsigned long long)r->st.pkts[0],
	         (unsigned long long)r->st.pkts[1], (unsigned long long)drops,
	         (unsigned long long)r->events_suppressed,
	         libp2p_stats(r, p2p, sizeof(p2p)) ? p2p : "", fastpath_stats(r, xdp, sizeof(xdp)));
}

/*
 * Budgets in tokens: a line costs STATS_COST. A link may write 10 lines at once and then one
 * every 10 s; all links together 200 at once and then 20 a second (about 2 KB/s of log).
 */
#define STATS_COST        10
#define STATS_LINK_BURST  (10 * STATS_COST)
#define STATS_LINK_RATE   1 /* tokens per second: a line per STATS_COST seconds */
#define STATS_RELAY_BURST (200 * STATS_COST)
#define STATS_RELAY_RATE  (20 * STATS_COST)

void stats_budget_init(struct log_budget *b, uint64_t now_ms, bool relay_wide)
{
	tbucket_init(&b->tb, relay_wide ? STATS_RELAY_RATE : STATS_LINK_RATE,
	             relay_wide ? STATS_RELAY_BURST : STATS_LINK_BURST, now_ms);
	b->suppressed = 0;
}

/* One event line paid for from b (NULL: only the relay's budget) and from the relay's. */
static void stats_vevent(struct relay *r, struct log_budget *b, const char *what,
                         const uint8_t *sid, const char *fmt, va_list ap)
{
	uint64_t now = ev_now_ms(r->loop), suppressed;
	char detail[256] = "", more[64] = "";

	if ((b && !tbucket_take(&b->tb, STATS_COST, now)) ||
	    !tbucket_take(&r->log.tb, STATS_COST, now)) {
		if (b)
			b->suppressed++;
		r->log.suppressed++;
		r->events_suppressed++;
		return;
	}
	/* A link's line reports the link's suppressed lines; the stats line reports the total. */
	suppressed = b ? b->suppressed : r->log.suppressed;
	if (suppressed)
		snprintf(more, sizeof(more), " (%llu similar lines suppressed)",
		         (unsigned long long)suppressed);
	if (b)
		b->suppressed = 0;
	else
		r->log.suppressed = 0;
	if (fmt)
		vsnprintf(detail, sizeof(detail), fmt, ap);
	if (sid)
		log_info("event: %s sid=%02x%02x%02x%02x %s%s", what, sid[0], sid[1], sid[2],
		         sid[3], detail, more);
	else
		log_info("event: %s %s%s", what, detail, more);
}

void stats_event(struct relay *r, struct link *l, const char *what, const uint8_t *sid,
                 const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	stats_vevent(r, l ? &l->log : NULL, what, sid, fmt, ap);
	va_end(ap);
}

void stats_event_budget(struct relay *r, struct log_budget *b, const char *what, const char *fmt,
                        ...)
{
	va_list ap;

	va_start(ap, fmt);
	stats_vevent(r, b, what, NULL, fmt, ap);
	va_end(ap);
}
