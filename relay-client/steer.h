/*
 * steer.h: the per-peer path state machine of the helper (DESIGN.md control path steps 2-8):
 * judge each 5 s window, switch a failing peer onto a relay, fail over, come back to direct
 * with backoff, restore on exit. watch.c owns the loop; this file owns the decisions. In
 * sealed mode a relayed peer's endpoint is its local port (sealed.h), not a relay's address.
 */
#ifndef WGR_STEER_H
#define WGR_STEER_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"
#include "cache.h"
#include "detect.h"
#include "key.h"
#include "link.h"
#include "sealed.h"

#define STEER_MAX_RELAYS  32
#define STEER_BACKOFF_MIN 60
#define STEER_BACKOFF_MAX 1800
#define STEER_KEEPALIVE   25
#define STEER_REFUSED_S   300  /* a relay that refused a BIND's mode is skipped this long */
#define STEER_RX_MOVED    2    /* frames in a row through another relay: the far side moved */
#define STEER_SEALED_MTU  1388 /* PROTOCOL.md §8: inner MTU of sealed mode, IPv6 outer */

enum steer_path { STEER_DIRECT, STEER_RELAYED, STEER_TRYING };

struct steer_relay {
	struct cache_relay info;
	uint8_t pub[32];
	struct link *link;
	unsigned local_failures;
};

struct steer_peer {
	uint8_t pub[32];
	char pub_b64[KEY_B64_STRLEN];
	bool seen; /* present in the last device read */
	struct detect_sample win_start, last;
	struct detect_peer det;
	enum steer_path path;
	struct addr direct_ep; /* original (direct) endpoint */
	uint16_t orig_keepalive;
	uint8_t mode;       /* PROTO_MODE_* of the relayed path, while not direct */
	struct addr set_ep; /* what we set while relayed */
	struct addr wg_ep;  /* WireGuard's endpoint at the last read */
	bool try_off_relay; /* trying direct: the last read found WireGuard off the relays */
	bool try_direct_rx; /* trying direct: a packet came in that did not come via a relay */
	int relay;          /* index into the relay table, -1 none */
	uint8_t sids[STEER_MAX_RELAYS][16];
	int64_t refused_until[STEER_MAX_RELAYS]; /* the relay refused our BIND's mode */
	struct sealed_port *port;                /* sealed mode: WireGuard's way to the relays */
	bool sid_ok;
	int64_t since, next_direct_try, backoff_s, trying_until;
	char why[CACHE_WHY];
	bool dirty;
};

struct steer_iface {
	char name[16];
	struct cache_iface cfg;
	uint8_t priv[32];
	uint32_t fwmark;
	uint16_t listen_port;
	uint8_t mode;                /* PROTO_MODE_* the peers are bound in, 0 before the first */
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
};

/* Refresh one interface from the device: new peers, samples, endpoint resets. */
int steer_read(struct steer_ctx *s, struct steer_iface *ifc, int64_t now);
/* Judge the window of every peer whose 5 s are up and act on it. */
void steer_judge(struct steer_ctx *s, struct steer_iface *ifc, int64_t now);
/* Keep every peer bound on its top-K relays and follow PEER_ACTIVE. */
void steer_prebind(struct steer_ctx *s, struct steer_iface *ifc, int64_t now);
/*
 * Sealed mode, every second: keep each local port pointed at WireGuard and routed to the relay
 * in use, follow the far side to the relay its frames come through, and (--mtu auto) keep
 * the interface MTU 32 bytes lower while a peer is relayed sealed.
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
 * After a crash: peers still on a direct-mode session endpoint recorded in relay_sessions
 * become relayed; peers on a sealed local port of the dead run are put back on their direct
 * endpoint (that port is gone), and detection relays them again if needed.
 */
void steer_adopt(struct steer_ctx *s, struct steer_iface *ifc, int64_t now);
/* The sealed ports of all peers of ifc, for the poll set: up to cap into out; the count. */
size_t steer_ports(const struct steer_iface *ifc, struct sealed_port **out, size_t cap);
/* PROTO_MODE_* of an interface's configuration. */
uint8_t steer_mode(const struct steer_iface *ifc);
/* Write each changed peer's state for `wgrelay status`. */
void steer_publish(struct steer_ctx *s, struct steer_iface *ifc, int64_t now, bool all);
void steer_iface_clear(struct steer_iface *ifc);

#endif
