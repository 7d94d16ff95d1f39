/*
 * path.h: the helper's per-peer path decisions as a pure state machine (DESIGN.md control path
 * steps 2-8). Each second steer.c hands path_step what it read (the device's counters and
 * endpoint, the relays as this peer's bindings see them, the cache's history) and gets back a
 * list of actions to apply (set an endpoint, make WireGuard send now, record or drop a relay
 * session, route a sealed port, record a window, ...). No I/O and no clock of its own, so unit
 * tests drive every transition with a fake clock.
 *
 * States: DIRECT (WireGuard on the peer's own endpoint), RELAYED (on a relay session, or in
 * sealed mode on the peer's local port routed to a relay), TRYING (back on the direct endpoint
 * for about one round trip while the relay session stays up).
 */
#ifndef WGR_PATH_H
#define WGR_PATH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "detect.h"

#define PATH_MAX_RELAYS  32
#define PATH_MAX_ACTIONS 12
#define PATH_WHY         200 /* cache.h CACHE_WHY: what status shows */
#define PATH_BACKOFF_MIN 60
#define PATH_BACKOFF_MAX 1800
#define PATH_KEEPALIVE   25
#define PATH_TRY_S       2 /* a direct try: WireGuard sends at once, a round trip answers */
#define PATH_RELAY_QUIET 3 /* seconds of unanswered traffic before a relay's link is asked */
#define PATH_RELAY_MISS  2 /* PINGs the relay in use left unanswered meanwhile: it is gone */
/*
 * Meeting when the two helpers' relay tables differ: a peer that needs a relay with none of
 * its prebound relays paired for PATH_WIDEN_S binds the next K of its ranking as well, up to
 * PATH_WIDEN_MAX * K in all (never more than the table, PATH_MAX_RELAYS links), and goes back
 * to K once one pairs.
 */
#define PATH_WIDEN_S   6
#define PATH_WIDEN_MAX 4

enum path_state { PATH_DIRECT, PATH_RELAYED, PATH_TRYING };

/* One relay as seen for one peer this second (steer.c fills it from the link and binding). */
struct path_relay {
	const char *name; /* for reasons and logs: its endpoint as configured */
	struct addr addr; /* the relay's address: direct-mode session endpoints are addr:port */
	bool up;          /* control link up */
	bool leaving;     /* the relay announced its shutdown */
	bool gone;        /* control link declared dead (no PONG for its dead time) */
	uint8_t pings_missed;
	bool ready;    /* our binding is paired in its mode (direct: with a port) */
	bool sealed;   /* the peer binds sealed here (steer_mode.h), even on a direct interface */
	bool waiting;  /* bound, but the far side is not (any more) */
	uint16_t port; /* direct mode: the session's port on the relay */
	bool peer_active; /* the far side's traffic reached the session (PEER_ACTIVE) */
};

struct path_view {
	int64_t now;        /* seconds */
	bool sealed;        /* PROTO_MODE_SEALED configured: every relay sealed (else per relay) */
	unsigned threshold; /* failed handshake attempts before relaying; 0: history rule only */
	struct detect_sample sample; /* this second's counters */
	struct addr wg_ep;           /* WireGuard's endpoint for the peer this second */
	uint16_t keepalive;          /* the device's persistent keepalive for the peer */
	int wg_relay;     /* the relay wg_ep goes through (session port or our sealed port), -1 */
	struct addr port; /* sealed: the peer's local port (len 0: none) */
	int rx_relay;     /* sealed: the relay the far side's frames come through now, -1 */
	bool rx_moved;    /* sealed: ... and they moved there after our last route change */
	const struct path_relay *relays;
	size_t n_relays;
	const size_t *order; /* relay indexes, best first (select_rank) */
	unsigned prebind;    /* K: relays of the ranking each peer is bound on in advance */
	size_t usable;       /* how many of order are usable */
	int preferred;       /* hysteresis: the relay select_choose keeps or moves to, -1 none */
	/* the cache's history (asked once per window in DIRECT) */
	bool hist_rule; /* plan 003's rule: all known endpoints failed, or many recently */
	unsigned hist_endpoints, hist_failures;
	bool
	    known_relayed; /* this peer needed a relay last time, and nothing direct worked since */
	bool self_changed; /* our public address changed since the last direct try */
};

enum path_act {
	PATH_A_ENDPOINT,    /* set WireGuard's endpoint to ep */
	PATH_A_KEEPALIVE,   /* set the persistent keepalive to value */
	PATH_A_KICK,        /* make WireGuard send now (keepalive 0, then value) */
	PATH_A_SESSION_PUT, /* record the relay session (relay, ep) for the next run */
	PATH_A_SESSION_DEL, /* forget it */
	PATH_A_ROUTE,      /* sealed: send WireGuard's datagrams on relay (-1: where frames come) */
	PATH_A_WINDOW,     /* record a judged window for ep: ok or failed */
	PATH_A_RELAY_OK,   /* traffic came back through relay */
	PATH_A_RELAY_FAIL, /* relay failed us once more */
	PATH_A_PING,       /* ask relay's link for a PING now */
	PATH_A_REHANDSHAKE, /* remove and re-add the peer: WireGuard handshakes at once */
	PATH_A_LOG,         /* log why (info) */
};

struct path_action {
	enum path_act type;
	int relay;
	struct addr ep;
	uint16_t value;
	bool ok;
};

struct path_out {
	struct path_action a[PATH_MAX_ACTIONS];
	size_t n;
	char log[PATH_WHY + 96]; /* for PATH_A_LOG */
};

/* Decision state of one peer. */
struct path_peer {
	enum path_state state;
	int relay;             /* relay in use (RELAYED, TRYING), -1 none */
	bool sealed;           /* mode of the relayed path */
	struct addr direct_ep; /* the peer's own endpoint */
	struct addr set_ep;    /* what we set while relayed */
	uint16_t orig_keepalive;
	struct detect_sample prev, win_start;
	bool started;
	struct detect_peer det;
	int64_t since, next_try, backoff_s, try_until;
	bool try_off_relay, try_direct_rx;
	int64_t silent_at; /* RELAYED: when the unanswered traffic asked for a PING, 0 none */
	bool direct_ok;    /* the direct path worked at least once in this run */
	int active_relay;  /* the relay the far side last became active on (PEER_ACTIVE) */
	int64_t active_at; /* when, 0 none pending */
	char why[PATH_WHY];
	bool dirty; /* state or why changed: publish */
	/* prebinding: which relays steer_bind.c keeps bound (path_prebind_pick) */
	unsigned widen;  /* K more relays bound this many times over, 0..PATH_WIDEN_MAX-1 */
	int64_t need_at; /* direct: the last second it wanted a relay and none could carry */
	int64_t
	    unpaired_at;  /* needing a relay, none paired, since (0: not); widening restarts it */
	bool keep_paired; /* paired relays past the top count stay bound: the peer needs them */
};

void path_init(struct path_peer *p);
/*
 * One second of one peer: feed the counters, follow what WireGuard and the relays did, judge the
 * window when 5 s are up, decide. Actions go to out (cleared first).
 */
void path_step(struct path_peer *p, const struct path_view *v, struct path_out *out);
/*
 * Adopt a relay session recorded by an earlier run: the peer is relayed on relay (session
 * endpoint set_ep, or in sealed mode the local port the view names), with its original
 * endpoint and keepalive.
 */
void path_adopt(struct path_peer *p, const struct path_view *v, int relay, bool sealed,
                const struct addr *set_ep, const struct addr *orig_ep, uint16_t orig_keepalive,
                int64_t since, struct path_out *out);
/* Leave the relay for the direct endpoint for good (helper leaving clean, mode change). */
void path_restore(struct path_peer *p, const struct path_view *v, const char *why,
                  struct path_out *out);
const char *path_state_name(enum path_state s);
/* How many usable relays of the ranking the peer is bound on now: K, or more while widened. */
unsigned path_prebind_count(const struct path_peer *p, unsigned k);
/*
 * The prebinding rule, pure: of the ranking order[0..n) (the first usable ones usable), mark
 * in bind[] (indexed like the relays) the relays to keep bound: the first path_prebind_count
 * usable ones not skipped (skip: a relay that refused us, or has no link), the relay in use
 * (unless skipped), and while p->keep_paired the usable ones already paired (paired[]).
 * Returns how many are marked.
 */
size_t path_prebind_pick(const struct path_peer *p, unsigned k, const size_t *order, size_t n,
                         size_t usable, const bool *skip, const bool *paired, bool *bind);

#endif
