/*
 * status.h: `wgrelay status`, WireGuard's live state of each peer (endpoint, latest
 * handshake, transfer) merged with what the helper (`wgrelay watch`) published in the cache:
 * the path and why, the next step, the relay choice, and whether the helper runs. The live
 * device is the truth for peers and endpoints; the cache only explains them. The merge and
 * the output are pure functions of a snapshot (status_in), so tests drive them directly.
 */
#ifndef WGR_STATUS_H
#define WGR_STATUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "cache.h"
#include "key.h"

/* A helper whose last tick is older than this is not steering: its records are stale. */
#define STATUS_STALE_S 10

enum status_dev {
	STATUS_DEV_UP,         /* read */
	STATUS_DEV_ABSENT,     /* no such interface now */
	STATUS_DEV_NOT_WG,     /* an interface, but not WireGuard */
	STATUS_DEV_UNREADABLE, /* WireGuard, but the read failed (err) */
};

/* One peer as WireGuard has it now. */
struct status_live_peer {
	char key[KEY_B64_STRLEN];
	struct addr ep;             /* ep.len 0: none */
	char endpoint[ADDR_STRLEN]; /* ep formatted, "" none */
	int64_t last_handshake;     /* unix s, 0 never */
	uint64_t rx_bytes, tx_bytes;
	uint16_t keepalive;
};

/* One interface as the system has it now. */
struct status_dev_info {
	char name[CACHE_TEXT];
	enum status_dev state;
	int err;             /* -errno of the read, STATUS_DEV_UNREADABLE */
	const char *backend; /* "kernel" or "userspace"; NULL unknown */
	char pubkey[KEY_B64_STRLEN];
	uint16_t listen_port;
	struct status_live_peer *peers;
	size_t n_peers;
};

enum status_helper {
	STATUS_HELPER_NEVER,   /* nothing published: never ran on this database */
	STATUS_HELPER_RUNNING, /* pid alive, last tick within STATUS_STALE_S */
	STATUS_HELPER_STUCK,   /* pid alive, last tick older */
	STATUS_HELPER_STOPPED, /* exited cleanly (pid 0) */
	STATUS_HELPER_GONE,    /* its pid is not a running wgrelay: killed or crashed */
};

/* Everything status shows, read beforehand. */
struct status_in {
	int64_t now;
	const struct cache_helper *helper; /* NULL: none published */
	bool helper_alive;                 /* helper->pid is a running wgrelay process */
	bool geoip_present;                /* a GeoIP file opens here (used without a helper) */
	const struct cache_iface *ifs;     /* configured interfaces */
	size_t n_ifs;
	const struct status_dev_info *devs; /* the interfaces to show, in order */
	size_t n_devs;
	const struct cache_peer *peers;
	size_t n_peers;
	const struct cache_plan *plans;
	size_t n_plans;
	const struct cache_session *sessions;
	size_t n_sessions;
	const struct cache_relay *relays;
	size_t n_relays;
};

/* One peer, merged. Pointers point into the status_in or the live peer. */
struct status_peer {
	const struct status_live_peer *live;
	const struct cache_peer *rec;  /* the helper's record, NULL none */
	const struct cache_plan *plan; /* NULL none, or not shown (helper not running) */
	const char *path;              /* "direct", "relayed", "trying-direct" */
	const char *mode;              /* "direct", "sealed", "circuit"; NULL while direct */
	const char *circuit;           /* mode "circuit": the helper's account, NULL none */
	const char *relay_endpoint;    /* NULL none (always in circuit mode) */
	const char *relay_pubkey;      /* NULL unknown */
	const char *direct_endpoint;   /* NULL unknown */
	int64_t since;                 /* 0 unknown */
	const char *why;               /* NULL none */
	const char *next;              /* NULL none */
	int64_t next_at;               /* 0 not timed */
	bool on_relay;                 /* WireGuard's endpoint is a relay port or sealed port */
	bool stale;                    /* why/since are from a helper not steering now */
	bool plan_stale;               /* so is the relay choice in plan */
	char note[256];                /* WireGuard and the record disagree: why, "" none */
};

enum status_helper status_helper_state(const struct status_in *in);
/* Is pid a live wgrelay process (not a zombie, not a reused pid of another program)? */
bool status_pid_alive(int64_t pid);
/* The configuration of an interface, NULL when never configured. */
const struct cache_iface *status_iface_cfg(const struct status_in *in, const char *name);
/* Merge live peer lp of dev with the records in `in`. */
void status_merge(const struct status_in *in, const struct status_dev_info *dev,
                  const struct status_live_peer *lp, struct status_peer *out);

/*
 * The settings of interface s on f, as status and configure-relay show them: one line, and a
 * "  circuits: ..." line under it when circuits are on or when all.
 */
void status_print_iface(FILE *f, const struct cache_iface *s, bool all);

/* The three forms of output. */
void status_print_text(FILE *f, const struct status_in *in);
void status_print_json(FILE *f, const struct status_in *in);
/* iface peer path relay-endpoint relay-pubkey endpoint since updated why mode, tab-separated. */
void status_print_dump(FILE *f, const struct status_in *in);

#endif
