/*
 * steer.h: the helper's peers and relays (DESIGN.md control path steps 2-8): read the devices,
 * keep the bindings, let path.c decide for each peer every second and apply what it says,
 * restore, detach for a restart, adopt after one. watch.c owns the loop, path.c the decisions.
 * A peer relayed sealed (its interface's mode, or on a direct-mode interface a relay it binds
 * sealed on: steer_mode.h) has its local port (sealed.h) as endpoint, not a relay's address.
 */
#ifndef WGR_STEER_H
#define WGR_STEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "cache.h"
#include "detect.h"
#include "key.h"
#include "link.h"
#include "path.h"
#include "pathsel.h"
#include "sealed.h"
#include "steer_mode.h"

#define STEER_MAX_RELAYS  PATH_MAX_RELAYS
#define STEER_REFUSED_S   300  /* a relay that refused a BIND's mode is skipped this long */
#define STEER_RX_MOVED    2    /* frames in a row through another relay: the far side moved */
#define STEER_SEALED_MTU  1388 /* PROTOCOL.md §8: inner MTU of sealed mode, IPv6 outer */
#define STEER_WG_OVERHEAD 32   /* WireGuard's data message: header and tag (PROTOCOL.md §13.6) */

struct steer_relay {
	struct cache_relay info;
	uint8_t pub[32];
	struct link *link;
	unsigned local_failures;
};

/* A relay circuits may go through (steer_circ_view): verified, current, the circuits bit. */
struct steer_circ_relay {
	struct pathsel_relay ps;
	char pubkey[CACHE_TEXT]; /* the Noise key in base64, as the cache and the table name it */
};

/* One peer: what the device and the links say (I/O side) and its decisions (path.h). */
struct steer_peer {
	uint8_t pub[32];
	char pub_b64[KEY_B64_STRLEN];
	bool seen;                 /* present in the last device read */
	struct detect_sample last; /* the last read's counters */
	struct addr wg_ep;         /* WireGuard's endpoint at the last read (or as we set it) */
	uint16_t keepalive;        /* the device's persistent keepalive at the last read */
	struct path_peer pp;
	uint8_t sids[STEER_MAX_RELAYS][16];
	uint8_t sid_key[32];                       /* the private key the sids were derived with */
	size_t sid_relays;                         /* ... and for how many relays of the table */
	int64_t refused_until[STEER_MAX_RELAYS];   /* the relay refused our BIND (auth, mode) */
	struct steer_mode bmode[STEER_MAX_RELAYS]; /* the mode it binds in on each relay */
	struct sealed_port *port;                  /* sealed: WireGuard's way to the relays */
	struct steer_circ_peer *circ;              /* --hops: its circuits (steer_circ.c) */
	struct addr circ_orig;                     /* --hops: its endpoint before circuits */
	bool sid_ok;
	/* the cache's history, asked once per window while direct */
	int64_t hist_at;
	bool hist_rule, known_relayed;
	unsigned hist_endpoints, hist_failures;
	struct addr try_self; /* our public address when the last direct try began */
	/* the relays ranked for this peer, once per second (steer_rank) */
	struct {
		size_t order[STEER_MAX_RELAYS];
		size_t usable, n;
		int preferred; /* select_choose's relay, -1 none */
		int64_t at;
	} rank;
};

struct steer_iface {
	char name[16];
	struct cache_iface cfg;
	uint8_t priv[32];
	uint32_t fwmark;
	uint16_t listen_port;
	uint8_t mode;                /* PROTO_MODE_* the peers are bound in, 0 before the first */
	bool circ_on;                /* the peers are on circuits (watch.c: cfg.hops was > 0) */
	unsigned mtu_saved, mtu_set; /* --mtu auto in sealed mode: MTU before and after lowering */
	struct steer_peer *peers;
	size_t n_peers, cap_peers;
	bool present;
};

struct steer_ctx {
	struct cache *cache;
	struct steer_relay relays[STEER_MAX_RELAYS];
	size_t n_relays;
	struct addr self_public; /* as the relays see us */
	bool self_known;
	struct geoip *geoip;
	/* circuits' entry guards (pathsel.h), kept in the cache; loaded at the first build */
	struct pathsel_guards guards;
	bool guards_loaded, guards_changed; /* changed: watch.c reloads the link set */
	/* the relays circuits may use, from every current descriptor known (steer_circ_view) */
	struct steer_circ_relay *circ_view;
	size_t n_circ_view;
	uint64_t circ_view_gen; /* bumped with each new view (1 the first) */
};

/* Refresh one interface from the device: new peers, samples, endpoint resets. */
int steer_read(struct steer_ctx *s, struct steer_iface *ifc, int64_t now);
/* Every second: let path.c decide for every peer (path_step) and apply what it says. */
void steer_judge(struct steer_ctx *s, struct steer_iface *ifc, int64_t now);
/*
 * Keep every peer bound on its top-K relays (more while path.c widens for a peer that meets no
 * one: path_prebind_pick), the relay in use, skip refusing ones.
 */
void steer_prebind(struct steer_ctx *s, struct steer_iface *ifc, int64_t now);
/*
 * Every second: keep each local port pointed at WireGuard (on a direct-mode interface, close
 * the port of a peer no longer bound sealed anywhere) and (--mtu auto) keep the interface MTU
 * 32 bytes lower while a peer is relayed sealed, whatever the interface's mode.
 */
void steer_sealed(struct steer_ctx *s, struct steer_iface *ifc, int64_t now);
/*
 * Put every relayed peer back on its direct endpoint and keepalive; drop relay_sessions rows,
 * close the local ports, put a lowered MTU back.
 */
void steer_restore(struct steer_ctx *s, struct steer_iface *ifc);
/*
 * A stop that is a restart (the default on SIGTERM): relayed peers stay on their relay
 * sessions, recorded in relay_sessions for the next run to adopt (steer_adopt); a peer trying
 * direct goes back to its relay first. Sealed local ports close (the next run opens new ones
 * and points WireGuard at them); a lowered MTU stays lowered (recorded for the next run).
 */
void steer_detach(struct steer_ctx *s, struct steer_iface *ifc);
/*
 * After a restart or a crash: peers still on a direct-mode session endpoint recorded in
 * relay_sessions become relayed again; peers of a sealed session get a new local port,
 * WireGuard is pointed at it and it is routed to the recorded relay (the relay kept the
 * membership, and our new link takes it over).
 */
void steer_adopt(struct steer_ctx *s, struct steer_iface *ifc, int64_t now);
/* The sealed ports of all peers of ifc, for the poll set: up to cap into out; the count. */
size_t steer_ports(const struct steer_iface *ifc, struct sealed_port **out, size_t cap);
/* PROTO_MODE_* of an interface's configuration. */
uint8_t steer_mode(const struct steer_iface *ifc);
/* Write each changed peer's state for `wgrelay status`. */
void steer_publish(struct steer_ctx *s, struct steer_iface *ifc, int64_t now, bool all);
void steer_iface_clear(struct steer_iface *ifc);

/*
 * steer_circ.c: an interface with --hops N (cfg.hops > 0) carries every peer over circuits
 * instead of the steps above (prebind, judge, sealed, publish, restore, detach, adopt).
 */
struct cell;
/* Circuits turned on: relayed peers leave their relay sessions first (circ_on set). */
void steer_circ_begin(struct steer_ctx *s, struct steer_iface *ifc);
struct registry_entry;
/*
 * The relays of the cache's entries e[0..n) whose descriptor is current and has the circuits
 * bit, for the rendezvous and paths (every relay known, linked or not); the guards refreshed
 * from them. At each reload, when an interface has circuits.
 */
void steer_circ_view(struct steer_ctx *s, const struct registry_entry *e, size_t n, int64_t now);
/* Is the relay of key b64 a guard (it must be linked: steer_linkset)? */
bool steer_circ_guard(const struct steer_ctx *s, const char *b64);
/* Every watched interface carries its peers over circuits: link to the guards alone. */
bool steer_circ_only(struct steer_iface *const *ifcs, size_t n_ifcs);
/* Every second: each seen peer's local port, rendezvous, circuits (circpeer.h), the MTU. */
void steer_circ(struct steer_ctx *s, struct steer_iface *ifc, int64_t now);
/* A cell link l opened (its on_cell): true when one of ifc's peers' circuits took it. */
bool steer_circ_cell(struct steer_iface *ifc, struct link *l, struct cell *c, int64_t now_ms);
/* Link l is about to be freed or stopped: the circuits on it are lost. */
void steer_circ_link_gone(struct steer_iface *ifc, const struct link *l, int64_t now_ms);
/* Table relay ri is the entry of a circuit or a guard: its link must stay. */
bool steer_circ_uses(const struct steer_ctx *s, struct steer_iface *const *ifcs, size_t n_ifcs,
                     size_t ri);
/* Each peer's circuit line for `wgrelay status` (mode "circuit"), when changed or all. */
void steer_circ_publish(struct steer_ctx *s, struct steer_iface *ifc, int64_t now, bool all);
/*
 * Circuits DESTROYed and local ports closed. restore: WireGuard back on each peer's original
 * endpoint and the MTU put back (circuits turned off); else (the helper stops) WireGuard stays
 * on the closed port: nothing goes direct, and the next run takes over (steer_circ_adopt).
 */
void steer_circ_stop(struct steer_ctx *s, struct steer_iface *ifc, bool restore);
/* DESTROY a peer's circuits and free them (steer_iface_clear). NULL ok. */
void steer_circ_free(struct steer_circ_peer *cp);
/* At start: the original endpoints a previous run recorded, a lowered MTU to put back later. */
void steer_circ_adopt(struct steer_ctx *s, struct steer_iface *ifc);

/* steer_linkset.c: which relays to link to (linkset.h), from the helper's state. */
struct registry_entry;
/*
 * Relay ri of the table carries something: a binding on its link, a peer relayed through it,
 * or a sealed port routed to or fed from its link. Its link must stay.
 */
bool steer_relay_busy(const struct steer_ctx *s, struct steer_iface *const *ifcs, size_t n_ifcs,
                      size_t ri);
/*
 * A digest of what the choice depends on (the entries, our location, the seen peers of the
 * watched interfaces ifcs and where they are): the choice is made again only when it changes.
 */
uint64_t steer_linkset_digest(const struct steer_ctx *s, struct steer_iface *const *ifcs,
                              size_t n_ifcs, const struct registry_entry *e, size_t n);
/*
 * Choose among the registry's entries e[0..n) (every current relay known; each is located
 * with GeoIP) the relays to link to: why[i] and *n_chosen as linkset_choose. idle[t]: table
 * relay t is not linked now. In use: busy table relays and those of relay_sessions rows (a
 * restarted run adopts them). 0 or -ENOMEM.
 */
int steer_linkset(struct steer_ctx *s, struct steer_iface *const *ifcs, size_t n_ifcs,
                  struct registry_entry *e, size_t n, const bool *idle, uint8_t *why,
                  size_t *n_chosen);

#endif
