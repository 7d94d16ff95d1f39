/*
 * refresh.h: runs of discovery (discover.h) on the helper's links: the filter a helper asks
 * with, the replies a link hands up (registry_take_desc stores what passes), the next page,
 * a line saying what a run brought; and the one-shot refresh of `list-relays --refresh`, which
 * links to the known relays for the occasion.
 */
#ifndef WGR_REFRESH_H
#define WGR_REFRESH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "discover.h"

struct cache;
struct geoip;
struct link;
struct registry_entry;
struct steer_ctx;

/* `watch` refreshes every 10 min (and at start) through up to this many of its links. */
#define REFRESH_EVERY_MS (10 * 60 * 1000)
#define REFRESH_LINKS    3
/* The one-shot refresh: links to this many relays at most, waits this long at most. */
#define REFRESH_MAX_LINKS 8
#define REFRESH_HS_MS     3000
#define REFRESH_MAX_MS    30000

/*
 * The filter: nearest first to our location when self (our public address, NULL unknown) has
 * one in g; the mode we use when modes (DESC_MODE_*) holds one, else any.
 */
void refresh_filter(struct discover_filter *f, struct geoip *g, const struct addr *self,
                    uint8_t modes);
/* DESC_MODE_* of the enabled interfaces of c (0 when none is enabled). */
uint8_t refresh_modes(struct cache *c);
/* Send the page r has to ask for now on l, if any (discover_poll). */
void refresh_poll(struct discover_run *r, struct link *l, int64_t now_ms);
/*
 * A discovery reply msg that l's on_ctrl got, for run r: a descriptor is stored (or refused)
 * in c and counted, a page's end asks for the next. The event (DISCOVER_EV_DONE: r ended).
 */
enum discover_event refresh_input(struct cache *c, struct discover_run *r, struct link *l,
                                  const uint8_t *msg, size_t len, int64_t now_ms);
/* "3 new, 1 updated, 40 unchanged, 2 refused (1 expired, 1 invalid:bad-signature)" into buf. */
const char *refresh_summary(const struct discover_stats *s, char *buf, size_t len);
/* Add the counters of b to a. */
void refresh_add(struct discover_stats *a, const struct discover_stats *b);

/*
 * `watch`'s discovery: a run per relay of its table (the index of steer_ctx.relays), rounds
 * every REFRESH_EVERY_MS through up to REFRESH_LINKS linked relays taken in turn, the first
 * once all links are up or REFRESH_FIRST_WAIT_MS after the first tick.
 */
#define REFRESH_FIRST_WAIT_MS 5000
#define REFRESH_TABLE         32 /* STEER_MAX_RELAYS */
struct refresh_sched {
	struct discover_run run[REFRESH_TABLE];
	int64_t next_ms, first_ms;
	int64_t last_ms;             /* when the last round started, 0 none */
	size_t rr;                   /* where the next round starts */
	struct discover_stats total; /* since start: every verdict counted, refusals by reason */
	int64_t quiet_ms;            /* the last "did not answer" said (once an hour) */
};
/*
 * Every tick: ask for the pages due, end runs whose link went down or whose relay fell silent,
 * start a round when one is due. Relays with skip[i] set are left out. modes: DESC_MODE_* of
 * the interfaces watched (refresh_filter). True when a run that ended stored something new.
 */
bool refresh_sched_tick(struct refresh_sched *rs, struct steer_ctx *s, const bool *skip,
                        uint8_t modes, int64_t now_ms);
/*
 * A linked discovered relay is dropped the moment its descriptor expires, so a round comes
 * REFRESH_EXPIRY_LEAD_MS before the soonest such expiry (the relay's newer descriptor, if it
 * signed one, arrives in time), yet never within REFRESH_MIN_GAP_MS of the last round.
 */
#define REFRESH_EXPIRY_LEAD_MS 60000
#define REFRESH_MIN_GAP_MS     30000
/*
 * When the next round is due (monotonic ms): next_ms (REFRESH_EVERY_MS after the last), brought
 * forward to REFRESH_EXPIRY_LEAD_MS before expiry_ms (the soonest descriptor expiry among the
 * discovered relays linked, on the same clock; 0 none), but not before last_ms (the last
 * round's start, 0 none) + REFRESH_MIN_GAP_MS.
 */
int64_t refresh_due_ms(int64_t next_ms, int64_t last_ms, int64_t expiry_ms);
/* A discovery reply on relay i's link (its on_ctrl); true when its run ended with news. */
bool refresh_sched_input(struct refresh_sched *rs, struct steer_ctx *s, size_t i,
                         const uint8_t *msg, size_t len, int64_t now_ms);
/* Relay i is new in the table, or stops being asked: no run. */
void refresh_sched_reset(struct refresh_sched *rs, size_t i);

/* What a one-shot refresh did. */
struct refresh_result {
	unsigned asked;    /* relays linked to */
	unsigned linked;   /* links that came up */
	unsigned answered; /* relays that sent at least one page */
	unsigned pruned;   /* expired discovered relays forgotten */
	struct discover_stats stats;
};
/*
 * Link to the first REFRESH_MAX_LINKS relays of e (n) that have an address, with key priv and
 * fwmark, and page through their stores; store what passes in c. Our location for the filter
 * is what most of the links saw us as (GeoIP g). 0 and *out, or -errno.
 */
int refresh_once(struct cache *c, const struct registry_entry *e, size_t n, const uint8_t priv[32],
                 uint32_t fwmark, struct geoip *g, struct refresh_result *out);

#endif
