/* stats.h: wgrelayd counters, the 60 s stats line and event lines (seed 004). */
#ifndef WGR_STATS_H
#define WGR_STATS_H

#include <stdbool.h>
#include <stdint.h>

/* Why a datagram was dropped: one counter each, named in logs and metrics. */
enum drop_reason {
	DROP_MALFORMED,      /* not a valid frame / not WireGuard-shaped */
	DROP_BAD_MAC,        /* handshake with a wrong mac1 */
	DROP_AUTH,           /* failed to authenticate (Noise, AEAD) */
	DROP_REPLAY,         /* counter seen before or too old */
	DROP_RATE,           /* per-source token bucket empty */
	DROP_UNKNOWN_LINK,   /* index of no link */
	DROP_UNKNOWN_SOURCE, /* direct mode: not from a member's public IP */
	DROP_UNCONFIRMED,    /* direct mode: data from/to an unconfirmed address */
	DROP_NO_PEER,        /* the other member is not there (yet) */
	DROP_POLICY,         /* forward target in a forbidden range */
	DROP_BANDWIDTH,      /* circuit bandwidth cap */
	DROP_SEND,           /* the kernel refused to send */
	DROP_SOCKET_FULL,    /* the kernel dropped it: the socket's receive buffer was full */
	DROP_OVERSIZE,       /* a WireGuard datagram larger than MaxPacket */
	DROP_UNPROVEN,       /* an address change nothing proved (hijack or proxy attempt) */
	DROP_LIMIT,          /* a handshake over MaxLinks or MaxLinksPerSource */
	DROP_MAX,
};

struct relay_stats {
	uint64_t pkts[2], bytes[2]; /* forwarded, per mode: 0 direct, 1 sealed */
	uint64_t drops[DROP_MAX];
	uint64_t handshakes, cookies_sent, denied;
};

const char *stats_drop_name(enum drop_reason r);

struct relay;
struct link;
struct log_budget;
/* "stats: uptime 3600s, circuits 2, reservations 4, relayed 12.3 MB, ..." */
void stats_log(const struct relay *r);
/*
 * One event line ("event: circuit accepted sid=ab12.. port=50001"), with a short sid. Every
 * event is caused by a client, so each is paid for from the budget of l (the link that caused
 * it; NULL: only the relay's) and from the relay's: past either, lines are counted, not
 * written, and the next line written says how many were suppressed.
 */
void stats_event(struct relay *r, struct link *l, const char *what, const uint8_t *sid,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));
/* stats_event for events of other origins (libp2p connections): paid for from budget b
   (NULL: only the relay's) and the relay's; no sid. */
void stats_event_budget(struct relay *r, struct log_budget *b, const char *what, const char *fmt,
                        ...) __attribute__((format(printf, 4, 5)));
/* A fresh budget: STATS_LINK_LINES lines, then one per STATS_LINK_EVERY_S seconds. */
void stats_budget_init(struct log_budget *b, uint64_t now_ms, bool relay_wide);

#endif
