/*
 * circsw.h: a relay's circuit switch (PROTOCOL.md §13; issue 17, not wired into wgrelayd yet).
 * Sans-I/O: cells that opened on the relay's links go in, with the link each came on (the
 * caller's 64-bit id, never 0) and the time; cells to send and relay links to connect come
 * out (circsw_next). The switch answers CREATE (it becomes a hop), passes FWD cells on after
 * opening its layer and BWD cells back after adding its layer, extends a circuit when its
 * client asks (EXTEND -> a CONNECT action; the caller answers with circsw_connected), splices
 * two circuits that present the same rendezvous cookie, and tears circuits down (DESTROY both
 * ways, a link that went down, timeouts). Everything a remote party can make it hold is
 * bounded: circuits in all and per link, one EXTEND in flight per circuit, one cookie per
 * circuit for a limited time.
 */
#ifndef WGR_CIRCSW_H
#define WGR_CIRCSW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cell.h"
#include "circhs.h"

struct circsw_cfg {
	uint8_t noise_priv[32]; /* the relay's Noise key: CREATE's message 1 is to it */
	size_t max_circuits;    /* hops held in all */
	size_t max_per_link;    /* circuit ends on one link */
	uint64_t extend_ms;     /* an EXTEND answered (CREATED) within this, or torn down */
	uint64_t rendezvous_ms; /* a cookie met within this, or the circuit torn down */
	uint64_t idle_ms;       /* a circuit with no cell this long is torn down */
	/*
	 * Told of every circuit end put on a link (+1) or taken off it (-1), for the caller's own
	 * accounting (per source); NULL: not told. Never called from circsw_free.
	 */
	void (*on_end)(void *ctx, uint64_t link, int delta);
	void *ctx;
};

enum circsw_act_type { CIRCSW_SEND = 1, CIRCSW_CONNECT = 2 };

struct circsw_act {
	int type;
	/* SEND: a cell for link; CONNECT: the link the EXTEND came in on (whose client asked) */
	uint64_t link;
	struct cell cell; /* cell.body points at body */
	uint8_t body[CELL_BODY_1500];
	/* CONNECT: a relay link to the relay with this identity and Noise key, for request req */
	uint64_t req;
	uint8_t identity[32], noise_pub[32];
};

enum circsw_drop {
	CIRCSW_DROP_UNKNOWN, /* no circuit with this id on this link, or the wrong direction */
	CIRCSW_DROP_LAYER,   /* an onion layer that did not open, a bad pad or flag: tagging */
	CIRCSW_DROP_REPLAY,  /* a cell counter seen before */
	CIRCSW_DROP_MSG,     /* a message that does not parse, or not here, or not now */
	CIRCSW_DROP_HS,      /* a CREATE whose handshake failed, or with a depth not allowed */
	CIRCSW_DROP_FULL,    /* a CREATE or EXTEND over the limits */
	CIRCSW_DROP_PADDING, /* padding, dropped as it should be */
	CIRCSW_DROP_MAX,
};

struct circsw_stats {
	uint64_t created, extended, spliced, destroyed, forwarded, backward, originated;
	uint64_t drops[CIRCSW_DROP_MAX];
	size_t circuits;
};

struct circsw;

/* A switch with cfg; 0 or -ENOMEM. */
int circsw_new(struct circsw **out, const struct circsw_cfg *cfg);
/* Forget every circuit (no DESTROY sent) and free sw. NULL-safe. */
void circsw_free(struct circsw *sw);
/*
 * A cell that opened on link (cell_open); from_relay: the link is a relay link (a hop there
 * is never the first of a circuit) or a client's (only the first). c->body may be changed.
 */
void circsw_cell(struct circsw *sw, uint64_t link, bool from_relay, struct cell *c,
                 uint64_t now_ms);
/* The answer to CONNECT req: link (0: none could be made; the circuit is torn down). */
void circsw_connected(struct circsw *sw, uint64_t req, uint64_t link, uint64_t now_ms);
/* link is gone: every circuit through it is torn down (DESTROY to their other side). */
void circsw_link_down(struct circsw *sw, uint64_t link);
/* Timeouts: EXTENDs not answered, cookies not met, idle circuits. */
void circsw_tick(struct circsw *sw, uint64_t now_ms);
/* The next action into a; false when there is none. Drain after each call above. */
bool circsw_next(struct circsw *sw, struct circsw_act *a);
const struct circsw_stats *circsw_stats(const struct circsw *sw);
/* Circuit ends on link now (hops that use it on either side). */
size_t circsw_link_circuits(struct circsw *sw, uint64_t link);

#endif
