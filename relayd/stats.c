/* stats.c: counters, the periodic stats line and event lines (see stats.h). */
#include <stdarg.h>
#include <stdio.h>

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
	};

	return r < DROP_MAX ? names[r] : "unknown";
}

void stats_log(const struct relay *r)
{
	uint64_t drops = 0;

	for (int i = 0; i < DROP_MAX; i++)
		drops += r->st.drops[i];
	log_info("stats: uptime %llus, active circuits %llu, reservations %llu, links %zu, "
	         "relayed %.1f MB (direct %llu pkts, sealed %llu pkts), dropped %llu",
	         (unsigned long long)((ev_now_ms(r->loop) - r->started_ms) / 1000),
	         (unsigned long long)r->circuits, (unsigned long long)r->reservations, r->links.n,
	         (double)(r->st.bytes[0] + r->st.bytes[1]) / 1e6, (unsigned long long)r->st.pkts[0],
	         (unsigned long long)r->st.pkts[1], (unsigned long long)drops);
}

void stats_event(const char *what, const uint8_t *sid, const char *fmt, ...)
{
	char detail[256] = "";
	va_list ap;

	if (fmt) {
		va_start(ap, fmt);
		vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	if (sid)
		log_info("event: %s sid=%02x%02x%02x%02x %s", what, sid[0], sid[1], sid[2], sid[3],
		         detail);
	else
		log_info("event: %s %s", what, detail);
}
