/*
 * linkplan.h: which other relays this relay holds links with. Sans-I/O: the caller reports what
 * it learned and what happened (candidates, links up and down, frames heard and sent) with a
 * monotonic millisecond clock, and linkplan_decide answers with what to do now (CONNECT,
 * DISCONNECT, HEARTBEAT). Nothing here touches a socket or reads a clock, so relayd and the
 * network simulator drive the same code, and tests run it on a fake clock.
 *
 * Candidates carry a class whose number is their priority: CONFIGURED (10, [Network] Peer),
 * TRUSTED (8, [Network] Trusted), VERIFIED (6, held a link that behaved for 24 h in total; the
 * plan promotes DISCOVERED itself), DISCOVERED (4, gossip, DISCOVER, the DHT), UNTRUSTED (2,
 * sent something invalid or failed MaxRetries times in a row; never connected to while the
 * penalty lasts, back to DISCOVERED after it). A failure while no link is up does not count
 * (nor grow the backoff): nothing else answers either, so the fault may be ours. The plan
 * keeps at least min_links links and at most max_links, fills by priority, then by diversity
 * (a /16 for IPv4, /32 for IPv6, family and country not yet among the links), then at random
 * through the caller's rand_fn, so different relays pick different neighbours.
 *
 * Rekeying a link is the transport's business (docs/PROTOCOL.md §4.4), not the plan's: a link
 * stays "up" here across its rekeys.
 */
#ifndef WGR_LINKPLAN_H
#define WGR_LINKPLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* Classes; the value is the priority (higher is preferred). */
enum linkplan_class {
	LINKPLAN_UNTRUSTED = 2,
	LINKPLAN_DISCOVERED = 4,
	LINKPLAN_VERIFIED = 6,
	LINKPLAN_TRUSTED = 8,
	LINKPLAN_CONFIGURED = 10,
};

/* Defaults ([Network] keys in wgrelayd.conf(5) in brackets). */
#define LINKPLAN_DEF_MIN_LINKS      3    /* MinLinks */
#define LINKPLAN_DEF_MAX_LINKS      8    /* MaxLinks */
#define LINKPLAN_DEF_HEARTBEAT_S    60   /* HeartbeatInterval */
#define LINKPLAN_DEF_LINK_TIMEOUT_S 180  /* LinkTimeout; = PROTO_LINK_EXPIRE_MS */
#define LINKPLAN_DEF_RECONNECT_S    30   /* ReconnectInterval: first backoff step */
#define LINKPLAN_DEF_MAX_RETRIES    3    /* MaxRetries */
#define LINKPLAN_DEF_BACKOFF_MAX_S  1800 /* backoff cap */
#define LINKPLAN_DEF_UNTRUSTED_S    3600 /* how long UNTRUSTED lasts */
#define LINKPLAN_DEF_HANDSHAKE_S    30   /* a CONNECT not reported up by then failed (§4.4) */
#define LINKPLAN_DEF_MAX_INFLIGHT   3    /* handshakes in flight at once */
#define LINKPLAN_DEF_MAX_CANDIDATES 4096
#define LINKPLAN_DEF_VERIFY_S       (24 * 3600) /* link time that makes VERIFIED */
#define LINKPLAN_DEF_SWAP_S         600         /* a diversity swap every 3/4 to 5/4 of this */
#define LINKPLAN_DEF_REPLAN_S       5           /* full re-plan at least this often */
/*
 * A link this young is not dropped as surplus (up to LINKPLAN_YOUNG_EXTRA of them above
 * MaxLinks): a newcomer that knows only one relay, whose links are full, gets time to pull the
 * store (anti-entropy runs when a link comes up) and learn others to link to.
 */
#define LINKPLAN_DEF_YOUNG_S 60
#define LINKPLAN_YOUNG_EXTRA 2

struct linkplan_config {
	unsigned min_links;
	unsigned max_links; /* >= min_links, >= 1 */
	unsigned heartbeat_interval_s;
	unsigned link_timeout_s; /* > heartbeat_interval_s */
	unsigned reconnect_interval_s;
	unsigned max_retries; /* >= 1 */
	unsigned backoff_max_s;
	unsigned untrusted_s;
	unsigned handshake_timeout_s;
	unsigned max_inflight;   /* >= 1 */
	unsigned max_candidates; /* >= max_links; memory is about 200 bytes a candidate */
	unsigned verify_s;
	unsigned swap_interval_s; /* 0: no diversity swaps */
	unsigned replan_s;        /* >= 1 */
	unsigned young_s;         /* 0: surplus links go at once */
	uint8_t self[32];         /* our own identity, refused as a candidate; zero: none */
};

/* Fill cfg with the LINKPLAN_DEF_* values and a zero self. */
void linkplan_config_default(struct linkplan_config *cfg);
/*
 * NULL when cfg is usable, else a message naming the offending setting by its config key
 * ("MinLinks is above MaxLinks"), for relayd's start-up error.
 */
const char *linkplan_config_check(const struct linkplan_config *cfg);

/*
 * What the caller knows of a relay, from its verified descriptor. A [Network] Peer line names an
 * address and a Noise key, not an identity: the caller fetches the descriptor there (DESC_REQ,
 * no link needed), checks that it names the line's Noise key, and adds it as CONFIGURED.
 */
struct linkplan_cand {
	uint8_t identity[32]; /* Ed25519 identity: the key of everything below */
	uint8_t noise[32];    /* X25519 key to handshake with */
	struct addr addr;     /* UDP control address */
	char country[3];      /* ISO 3166 alpha-2, "" unknown */
	const char *family;   /* operator family, NULL or "" none; not kept (a hash is) */
	uint8_t cls;          /* enum linkplan_class */
};

/*
 * Random numbers for tie-breaks and jitter. NULL at linkplan_new means libsodium's
 * randombytes_random. A seeded function makes the plan deterministic.
 */
typedef uint32_t (*linkplan_rand_fn)(void *ctx);

struct linkplan;

/* Allocate a plan: 0, -EINVAL (linkplan_config_check fails) or -ENOMEM. */
int linkplan_new(struct linkplan **out, const struct linkplan_config *cfg, linkplan_rand_fn rnd,
                 void *rnd_ctx);
/* NULL is a no-op. */
void linkplan_free(struct linkplan *p);

/*
 * Add or refresh a candidate (descriptor learned or renewed, config entry). Address, key,
 * country and family are replaced; the class only goes up, except that an UNTRUSTED candidate
 * stays so until its penalty ends unless it is now CONFIGURED or TRUSTED (the operator's word
 * wins). When full, the least recently refreshed candidate of the lowest class <= c->cls that has
 * no link is evicted. Returns 0, -EINVAL (bad class, no address, our own identity), -ENOSPC
 * (full of better candidates) or -ENOMEM.
 */
int linkplan_add(struct linkplan *p, const struct linkplan_cand *c, uint64_t now_ms);
/*
 * Forget a candidate (its descriptor expired or was withdrawn). A candidate with a link or a
 * handshake in flight is forgotten after decide has returned its DISCONNECT (reason EXPIRED).
 * Returns 0 or -ENOENT.
 */
int linkplan_remove(struct linkplan *p, const uint8_t identity[32]);

/* How a link or handshake ended, for linkplan_link_down. */
enum linkplan_down {
	LINKPLAN_CLOSED,  /* orderly close by either side: retry after ReconnectInterval */
	LINKPLAN_REFUSED, /* the peer refused (busy, full): backoff grows, no penalty */
	LINKPLAN_FAILED,  /* handshake failed or unanswered, error, lost: counts to MaxRetries
	                   * (not while no link is up: then retried after ReconnectInterval) */
};

/*
 * How an ERROR(link-closed) from the peer ends the link, by the reason its text names
 * (PROTOCOL.md §10.2): "no-room" and "misbehaved" are refusals (the backoff grows); the
 * others ("duplicate", "surplus", "swap", "timeout", "expired", "handshake", or a reason this
 * version does not know) are an orderly close: a dial race or the peer's own housekeeping is
 * no reason to wait longer before dialling again.
 */
enum linkplan_down linkplan_down_for_close(const char *reason);

/*
 * Pin (or unpin) the link with this candidate: a link its user needs beyond the plan (a
 * circuit extended over it). A pinned link is never dropped as surplus or swapped out, and does
 * not count against MaxLinks; it still ends when it times out, misbehaves or its candidate
 * goes. The user bounds how many it pins. 0, or -ENOENT for an unknown candidate.
 */
int linkplan_pin(struct linkplan *p, const uint8_t identity[32], bool pin);
/*
 * A link with this candidate is up (handshake done and HELLO verified), ours or an inbound one.
 * The candidate must have been added first. An inbound link from an UNTRUSTED candidate is
 * closed by the next decide. Returns 0 (also when already up), -ENOENT or -ENOMEM.
 */
int linkplan_link_up(struct linkplan *p, const uint8_t identity[32], uint64_t now_ms);
/*
 * The link or the handshake with this candidate ended. Not needed after a DISCONNECT from
 * decide (the plan already counts that link down; reporting it again is a no-op).
 * Returns 0, or -ENOENT for an unknown candidate.
 */
int linkplan_link_down(struct linkplan *p, const uint8_t identity[32], uint64_t now_ms,
                       enum linkplan_down how);
/*
 * Start loading what linkplan_heard or linkplan_sent for identity will read, one level per
 * stage (0: the plan, 1: its links, 2: the link's entry), each stage called once the one before
 * had time to arrive. Only a hint to the processor (see dstore_prefetch).
 */
void linkplan_prefetch(const struct linkplan *p, const uint8_t identity[32], int stage);
/* A frame opened on the link (liveness): call for every CTRL frame. O(1). */
void linkplan_heard(struct linkplan *p, const uint8_t identity[32], uint64_t now_ms);
/* We sent a frame on the link (gossip, anything): postpones the HEARTBEAT. O(1). */
void linkplan_sent(struct linkplan *p, const uint8_t identity[32], uint64_t now_ms);
/*
 * The candidate sent something invalid (bad descriptor, protocol violation). DISCOVERED and
 * VERIFIED become UNTRUSTED at once; CONFIGURED and TRUSTED keep their class but back off.
 * A link with it is dropped at the next decide (reason MISBEHAVED). 0 or -ENOENT.
 */
int linkplan_misbehaved(struct linkplan *p, const uint8_t identity[32], uint64_t now_ms);

enum linkplan_act {
	LINKPLAN_CONNECT = 1, /* start a handshake with identity/noise/addr */
	LINKPLAN_DISCONNECT,  /* close the link or abandon the handshake */
	LINKPLAN_HEARTBEAT,   /* send a HEARTBEAT on the link (PROTOCOL.md §5.2, 0x18) */
};

enum linkplan_why {
	LINKPLAN_WHY_FILL = 1,  /* CONNECT: below MinLinks */
	LINKPLAN_WHY_WANTED,    /* CONNECT: a CONFIGURED or TRUSTED candidate, up to MaxLinks */
	LINKPLAN_WHY_SWAP,      /* CONNECT a more diverse candidate / DISCONNECT the one replaced */
	LINKPLAN_WHY_SURPLUS,   /* DISCONNECT: above MaxLinks, lowest priority first */
	LINKPLAN_WHY_TIMEOUT,   /* DISCONNECT: nothing heard for LinkTimeout */
	LINKPLAN_WHY_HANDSHAKE, /* DISCONNECT: handshake not reported up in time (a failure) */
	LINKPLAN_WHY_EXPIRED,   /* DISCONNECT: the candidate was removed */
	LINKPLAN_WHY_MISBEHAVED, /* DISCONNECT: linkplan_misbehaved, or an UNTRUSTED inbound link */
	LINKPLAN_WHY_IDLE,       /* HEARTBEAT: nothing sent or heard for HeartbeatInterval */
};

struct linkplan_action {
	uint8_t act; /* enum linkplan_act */
	uint8_t why; /* enum linkplan_why */
	uint8_t cls; /* the candidate's class, for logs */
	uint8_t identity[32];
	uint8_t noise[32];
	struct addr addr;
};

/* Enough room for every action one decide can return with the default config. */
#define LINKPLAN_ACTIONS_HINT 32

/*
 * What to do at now_ms: up to cap actions in out, returns how many. The plan records each
 * returned action as done (a CONNECT is a handshake in flight until linkplan_link_up or
 * _link_down or handshake_timeout_s, a DISCONNECT a link down, a HEARTBEAT a frame sent);
 * actions that did not fit are returned by the next call. Call it after events and at
 * linkplan_next_ms. Link checks
 * are O(links) each call; the O(candidates) selection runs only after an event that can change
 * it or when a timer it computed is due, at least every replan_s while short of links.
 */
size_t linkplan_decide(struct linkplan *p, uint64_t now_ms, struct linkplan_action *out,
                       size_t cap);
/* When decide next has something to do (a heartbeat, a timeout, a backoff ending), >= now. */
uint64_t linkplan_next_ms(const struct linkplan *p, uint64_t now_ms);

/* Links up, handshakes in flight, candidates held. */
size_t linkplan_count_up(const struct linkplan *p);
size_t linkplan_count_connecting(const struct linkplan *p);
size_t linkplan_count(const struct linkplan *p);

enum linkplan_state {
	LINKPLAN_IDLE = 0,   /* no link, may be connected to */
	LINKPLAN_BACKOFF,    /* no link, waiting until next_try_ms */
	LINKPLAN_CONNECTING, /* CONNECT returned, not yet up */
	LINKPLAN_UP,
};

/* One candidate as status and metrics see it. */
struct linkplan_info {
	uint8_t identity[32];
	struct addr addr;
	char country[3];
	uint8_t cls;   /* enum linkplan_class */
	uint8_t state; /* enum linkplan_state */
	uint8_t failures;
	uint64_t next_try_ms;   /* BACKOFF: when it may be tried; UNTRUSTED: penalty end */
	uint64_t up_since_ms;   /* UP: when it came up */
	uint64_t last_heard_ms; /* UP: last frame opened */
	uint64_t link_time_s;   /* total time up, counting the current link */
};

/* The candidate's info: 0 or -ENOENT. */
int linkplan_get(const struct linkplan *p, const uint8_t identity[32], uint64_t now_ms,
                 struct linkplan_info *out);
/* Call fn for every candidate (any order; the plan must not be changed from fn). */
void linkplan_foreach(const struct linkplan *p, uint64_t now_ms,
                      void (*fn)(const struct linkplan_info *info, void *ctx), void *ctx);

/* Counters since linkplan_new, for metrics. */
struct linkplan_stats {
	uint64_t connects; /* CONNECT actions */
	uint64_t ups;      /* links up (ours and inbound) */
	uint64_t failures; /* FAILED downs, handshake and link timeouts */
	uint64_t refused;  /* REFUSED downs */
	uint64_t demoted;  /* to UNTRUSTED */
	uint64_t promoted; /* to VERIFIED */
	uint64_t swaps;    /* diversity swaps started */
	uint64_t surplus;  /* DISCONNECTs above MaxLinks */
	uint64_t evicted;  /* candidates evicted to make room */
	uint64_t rejected; /* adds refused with -ENOSPC */
};
void linkplan_get_stats(const struct linkplan *p, struct linkplan_stats *out);

/* Strings at the edges: "configured", "connect", "surplus", "up". */
const char *linkplan_class_name(int cls);
const char *linkplan_act_name(int act);
const char *linkplan_why_name(int why);
const char *linkplan_state_name(int state);

#endif
