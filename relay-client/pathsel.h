/*
 * pathsel.h: which relays a circuit goes through before its rendezvous (PROTOCOL.md §13; issue
 * 17; seed 000's path selection). Sans-I/O: the relays in view, the requirements and a guard set
 * in, indexes out; randomness and the clock come from the caller, nothing is allocated.
 *
 * A path of N hops is entry, middles, rendezvous. The rendezvous is the pair's (select_rank over
 * circuit-capable relays, the same on both peers) and is given; pathsel chooses the N - 1 hops
 * before it. Every path obeys, rendezvous included:
 *   - no relay twice; no two hops in one IPv4 /16 or IPv6 /32, or of one operator family (equal
 *     non-empty `family`); under PATHSEL_ANONYMOUS no two in one country;
 *   - the hops chosen have the circuits bit, are not full (load >= PROTO_FULL_PERMILLE), meet
 *     the requirements (uptime, bandwidth, countries, excluded identities), and under
 *     PATHSEL_ANONYMOUS name their country (unknown jurisdiction refused);
 *   - the entry is a guard: one of PATHSEL_GUARDS relays kept for 30 to 60 days, so that over
 *     weeks of circuits the client's address is seen by those few relays only.
 * Strategies: Balanced draws hops weighted by stated bandwidth, less for a busy relay; Fast takes
 * the nearest (entry near the client, middles near the way to the rendezvous); Anonymous draws
 * uniformly, at least PATHSEL_ANON_MIN_HOPS hops, every hop in a country of its own.
 * Which relays are linked to which is not needed here: a hop with no link to the next one dials
 * it (§13.5). A circuit whose EXTEND fails anyway (the relay did not answer) is chosen again.
 */
#ifndef WGR_PATHSEL_H
#define WGR_PATHSEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "descriptor.h"
#include "onion.h"
#include "select.h"

#define PATHSEL_GUARDS        3
#define PATHSEL_GUARD_MIN_S   (30u * 86400u) /* a guard's lifetime: uniform in [MIN, MAX] */
#define PATHSEL_GUARD_MAX_S   (60u * 86400u)
#define PATHSEL_MAX_COUNTRIES 16
#define PATHSEL_ANON_MIN_HOPS 3
/* Balanced: a stated bandwidth counts at most this many times the median one stated by the
 * circuit relays in view (an unstated one counts as the median). Nobody measures it, so a relay
 * claiming 100 Gbit/s must not draw every circuit's middle hop. */
#define PATHSEL_BW_CAP_MEDIANS 10
/* Fast: hops within this many km of the best are drawn uniformly, so the clients of one city do
 * not all enter through one relay (that relay would see all of them, and be full first). */
#define PATHSEL_FAST_SLACK_KM   250.0
#define PATHSEL_FAST_LOAD_KM    500.0   /* Fast: km a select_load_penalty point costs */
#define PATHSEL_FAST_UNKNOWN_KM 20000.0 /* Fast: a leg to or from an unknown location */

enum pathsel_strategy {
	PATHSEL_BALANCED = 0, /* the default */
	PATHSEL_FAST,
	PATHSEL_ANONYMOUS,
};

/* A relay as path selection sees it (pathsel_from_desc fills one from a verified descriptor). */
struct pathsel_relay {
	uint8_t identity[32], noise[32];
	struct addr control; /* the UDP control endpoint: its /16 or /32 is the subnet rule's */
	char country[3];     /* ISO 3166 alpha-2 or "" (unknown) */
	char family[DESC_MAX_STR];
	uint32_t uptime_s, bandwidth_kbps; /* bandwidth 0: not stated */
	uint16_t load_permille;
	uint8_t modes; /* DESC_MODE_* */
	struct select_point loc;
};

/* uniform in [0, bound), bound >= 2 (pathsel never asks for a draw with one outcome) */
typedef uint32_t (*pathsel_rnd_fn)(void *ctx, uint32_t bound);

struct pathsel_req {
	unsigned hops; /* 1..ONION_MAX_HOPS, rendezvous included */
	enum pathsel_strategy strategy;
	uint32_t min_uptime_s, min_bandwidth_kbps; /* a relay not stating bandwidth fails min > 0 */
	/* two-letter codes, any case; n_allow 0: any country, else only these (unknown refused) */
	char allow[PATHSEL_MAX_COUNTRIES][3];
	unsigned n_allow;
	char exclude[PATHSEL_MAX_COUNTRIES][3];
	unsigned n_exclude;
	/* Ed25519 identities never used: n_exclude_ids of 32 bytes each */
	const uint8_t *exclude_ids;
	size_t n_exclude_ids;
	bool strict_guards;       /* no entry outside the guards (see pathsel_choose) */
	struct select_point self; /* the client's location (Fast), known = false if not */
};

/* The guards, kept by the caller across runs (plain data: store it as it is). g[0] is used
 * first. */
struct pathsel_guards {
	struct {
		uint8_t identity[32];
		uint64_t until; /* Unix seconds: rotated from then on */
	} g[PATHSEL_GUARDS];
	unsigned n;
};

#define PATHSEL_F_RAISED    0x01 /* Anonymous: the hops asked for were raised to the minimum */
#define PATHSEL_F_UNGUARDED 0x02 /* no guard fitted: the entry is not one of the guards */

/* A path: hop[0] the entry .. hop[n - 1] the rendezvous, indexes into the relays given. */
struct pathsel_path {
	size_t hop[ONION_MAX_HOPS];
	unsigned n;     /* hops used: req->hops, or PATHSEL_ANON_MIN_HOPS when raised */
	unsigned flags; /* PATHSEL_F_* */
};

/* Fill *out from a descriptor: control is the first endpoint's address (the UDP control one,
 * §9), loc the descriptor's claimed location (known = false without one: the caller may put a
 * GeoIP guess there). */
void pathsel_from_desc(struct pathsel_relay *out, const struct descriptor *d);

/* Whether r may be a hop pathsel chooses under req, ignoring the rest of the path. A caller can
 * use it to see why the rendezvous (which pathsel takes as given) would not have been chosen. */
bool pathsel_relay_ok(const struct pathsel_relay *r, const struct pathsel_req *req);

/*
 * Keep g current at now: drop a guard whose lifetime ended (or is beyond PATHSEL_GUARD_MAX_S
 * from now: the clock went back), that is gone from rs[0..n), that lost its circuits bit or
 * fails req (a full guard is kept: load passes), then add guards until PATHSEL_GUARDS, drawn as
 * the strategy draws an entry (Fast: near req->self) among admissible relays in no /16 (/32) or
 * family (Anonymous: country) of another guard. Fewer than PATHSEL_GUARDS remain when no more fit. Returns how many
 * guards were dropped plus added (not 0: store g again), or -EINVAL (bad req, no rnd).
 */
int pathsel_guards_refresh(struct pathsel_guards *g, const struct pathsel_relay *rs, size_t n,
                           const struct pathsel_req *req, uint64_t now, pathsel_rnd_fn rnd,
                           void *ctx);

/*
 * Choose the hops before the rendezvous rs[rendezvous] into *out. The entry is the first guard
 * (Fast: the nearest) that is in view, admissible and fits the rest of the path; with none, and
 * without req->strict_guards, an entry drawn by the strategy among all relays, flagged
 * PATHSEL_F_UNGUARDED (the caller may refuse such a path, or refresh the guards first). g may
 * be NULL (no guards). hops = 1 gives the rendezvous alone. Anonymous below 3 hops is raised to
 * 3 and flagged PATHSEL_F_RAISED. The rendezvous is not checked against req; its country, when
 * unknown, conflicts with no hop.
 * Returns 0; -EINVAL for a bad req (hops 0 or above ONION_MAX_HOPS, an unknown strategy, a
 * country count above PATHSEL_MAX_COUNTRIES, exclude_ids NULL with a count), rendezvous >= n,
 * a rendezvous without the circuits bit, n above UINT32_MAX, or no rnd; -ENOENT when no path
 * was found: the caller builds no circuit now and tries again after the view or the guards
 * changed, or with fewer hops or looser requirements (a search with random restarts: in a
 * view where only a few paths exist, one may be missed). *out is zeroed on any error.
 */
int pathsel_choose(const struct pathsel_relay *rs, size_t n, size_t rendezvous,
                   const struct pathsel_req *req, const struct pathsel_guards *g,
                   pathsel_rnd_fn rnd, void *ctx, struct pathsel_path *out);

/* "balanced", "fast", "anonymous"; "unknown" for anything else. */
const char *pathsel_strategy_name(enum pathsel_strategy s);
/* The strategy a name means (any case), or -EINVAL. */
int pathsel_strategy_parse(const char *s);

#endif
