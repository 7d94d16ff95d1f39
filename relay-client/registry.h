/*
 * registry.h: the relays `wgrelay watch` and `list-relays` know: the cache's rows with their
 * addresses (host names looked up) and GeoIP locations, what a control link or a probe learned
 * of each as the status words the cache and `list-relays` show, and the fwmark relay traffic
 * carries. Statuses are an enum inside, words only at the cache and the output.
 */
#ifndef WGR_REGISTRY_H
#define WGR_REGISTRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cache.h"
#include "discover.h"

struct geoip;
struct link;
struct probe_target;

enum registry_status {
	REGISTRY_UNKNOWN = 0, /* never probed, never linked */
	REGISTRY_OK,
	REGISTRY_FULL,        /* answers, but takes no new session */
	REGISTRY_DENIED,      /* refused this helper: auth-denied or auth-required on the link */
	REGISTRY_UNREACHABLE, /* no answer */
	REGISTRY_UNRESOLVED,  /* its host name was not found */
};

/* The cache's word: "unknown", "ok", "full", "denied", "unreachable", "unresolved". */
const char *registry_status_name(enum registry_status st);
/* The word back; a word it does not know is REGISTRY_UNKNOWN. */
enum registry_status registry_status_parse(const char *word);

/* What a control link's state says: a refusal first, then an answer (full or not). */
enum registry_status registry_link_status(const struct link *l);
/* Into r what link l learned: status, RTT, load, PONG flags; last_seen = now when it answers. */
void registry_link_merge(struct cache_relay *r, const struct link *l, int64_t now);
/*
 * Into r the outcome of probe t: resolved says r had an address to send to. A denial that a
 * link recorded outlives a PONG (a relay answers PINGs from anyone).
 */
void registry_probe_merge(struct cache_relay *r, const struct probe_target *t, bool resolved,
                          int64_t now);
/*
 * The word `list-relays` shows: "refused" for a relay that refused this helper, or that wants
 * a token while none is configured for it; else the status word.
 */
const char *registry_shown_status(const struct cache_relay *r);

/* One relay of the cache and its address. */
struct registry_entry {
	struct cache_relay info;
	struct addr addr; /* len 0: none (not looked up, not found, or still looking) */
	const char *why;  /* why there is no address; NULL when there is one */
	bool lookup;      /* look its host name up (registry_load sets it; clear to skip) */
	bool pending;     /* the lookup had not answered when registry_resolve returned */
};

/*
 * The relays the helper may use (at most CACHE_MAX_RELAYS): bootstrap and config lines, then
 * discovered relays whose descriptor has not expired (those expired are left out), each group
 * in endpoint order. *out malloc'd (free() it). 0 or -errno.
 */
int registry_load(struct cache *c, struct registry_entry **out, size_t *n);
/*
 * One descriptor (len bytes) from via: a relay's DESC on a link that proved Noise key via_key
 * (source "relay"), or a DESC_RESP from a DHT address, via_key NULL (source "dht"). Decoded,
 * verified, judged against the cache (discover_judge) and, when new or newer, stored under
 * source (cache_relay's word); counted into *st. The verdict, or DISCOVER_V_MAX (not counted)
 * when the cache failed.
 */
enum discover_verdict registry_take_desc(struct cache *c, const char *source, const uint8_t *desc,
                                         size_t len, const struct addr *via,
                                         const uint8_t via_key[32], uint64_t now,
                                         struct discover_stats *st);
/*
 * Fill the addresses: IPs at once; the host names of entries with lookup set are looked up
 * all together in the background, waited for at most wait_ms (0: take the answers that have
 * come in and start the rest, for a later call). An entry left without an address has why.
 */
void registry_resolve(struct registry_entry *e, size_t n, int wait_ms);
/* Put the GeoIP location of e->addr into e->info; false (info untouched) when there is none. */
bool registry_locate(struct registry_entry *e, struct geoip *g);

/* A watched interface's fwmark (0: none). */
struct registry_mark {
	const char *name;
	uint32_t fwmark;
};
/*
 * The mark relay traffic carries (a full tunnel routes everything unmarked into itself): that
 * of the first interface in name order that has one, 0 when none does. *chosen gets its index
 * (SIZE_MAX none); others (len bytes) the names, in name order and ", "-separated, of the
 * interfaces with another mark, whose tunnels may then capture relay traffic ("" none).
 */
uint32_t registry_fwmark(const struct registry_mark *m, size_t n, size_t *chosen, char *others,
                         size_t len);
/*
 * For one-shot probes: the mark `watch` would use, from the devices of the interfaces enabled
 * in c (of every WireGuard interface when none is). 0 when none has one or none can be read.
 */
uint32_t registry_device_fwmark(struct cache *c);

#endif
