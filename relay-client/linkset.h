/*
 * linkset.h: which of the relays it knows the helper links to (at most STEER_MAX_RELAYS).
 * A pure function of shared inputs, so that two helpers whose caches hold the same relays link
 * to the same best relays for their pair, whatever order their caches list them in:
 * each watched peer's ranking (select_rank over every current relay known, with the pair's sid
 * on each relay and no local-only facts) decides, never the cache's order. PROTOCOL.md §10.7.
 *
 * Priority when the cap cuts (each step only adds while there is room):
 *   1. relays in use (a binding or a relayed peer on them);
 *   2. each peer's top K, rank by rank round-robin over the peers;
 *   3. bootstrap relays (discovery asks them; the order given);
 *   4. each peer's ranks K..4K-1 (what path.c widens to), round-robin;
 *   5. relays linked already that rank within some peer's top 5K: a relay hovering about
 *      rank 4K does not make its link come and go;
 *   6. with fill, the room left: the relays nearest to us (the ranking of a pair at our own
 *      location, with no sid), so that discovery and the vote on our public address have
 *      links before any peer is watched. Any helper's fill differs; no pair depends on it.
 */
#ifndef WGR_LINKSET_H
#define WGR_LINKSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "path.h"
#include "select.h"
#include "sid.h"

#define LINKSET_WIDEN PATH_WIDEN_MAX /* a peer reaches down to rank 4K of its ranking */
#define LINKSET_KEEP  5              /* ... and keeps a linked relay down to rank 5K */

struct linkset_relay {
	uint8_t pub[32];
	struct select_point loc; /* GeoIP of its endpoint, as select_rank's callers use */
	bool bootstrap;          /* a bootstrap or config line: discovery needs it */
	bool in_use;             /* something is bound on it, or a peer is relayed through it */
	bool linked;             /* the helper links to it now */
};

struct linkset_peer {
	struct select_point loc;   /* the peer's own endpoint, located */
	unsigned k;                /* its interface's prebind K (0: 1) */
	const uint8_t (*sids)[16]; /* the pair's sid on each relay, in the relays' order */
};

struct linkset_in {
	struct select_point self; /* our public address, located */
	const struct linkset_relay *relays;
	size_t n_relays;
	const struct linkset_peer *peers;
	size_t n_peers;
	size_t cap; /* most relays to link to */
	bool fill;  /* step 6 */
};

/* Why a relay is in the set (LINKSET_OUT: it is not). */
enum linkset_why {
	LINKSET_OUT = 0,
	LINKSET_IN_USE,
	LINKSET_TOP,
	LINKSET_BOOTSTRAP,
	LINKSET_NEXT,
	LINKSET_KEPT,
	LINKSET_FILL,
};

/*
 * Choose the relays to link to: why[0..n_relays) gets each relay's enum linkset_why, *n_chosen
 * how many are in (never more than cap). Depends on the relays' order only where the cap cuts
 * among equals of one step (bootstrap lines, peers of one rank). 0 or -ENOMEM.
 */
int linkset_choose(const struct linkset_in *in, uint8_t *why, size_t *n_chosen);
/*
 * The first len relays of a peer's ranking over in's relays (indexes into order, best first),
 * as linkset_choose ranks them. Returns how many were written (min(len, n_relays)) or -ENOMEM.
 */
int linkset_rank(const struct linkset_in *in, const struct linkset_peer *p, size_t *order,
                 size_t len);
/* "in-use", "top", "bootstrap", "next", "kept", "fill", "out": for logs. */
const char *linkset_why_name(enum linkset_why w);

#endif
