/*
 * linkplan_priv.h: what linkplan.c (candidates, events, status) and linkplan_decide.c (what to do)
 * share; not for the rest of the code.
 */
#ifndef WGR_LINKPLAN_PRIV_H
#define WGR_LINKPLAN_PRIV_H

#include <stdbool.h>
#include <stdint.h>

#include <sodium.h>

#include "linkplan.h"

#define LP_NCLASS 5 /* UNTRUSTED .. CONFIGURED, index cls / 2 - 1 */
#define LP_NONE   UINT32_MAX
#define LP_NEVER  UINT64_MAX
#define LP_F_USED 0x01
#define LP_F_GONE 0x02 /* removed while linked: DISCONNECT, then free */
#define LP_F_BAD  0x04 /* misbehaved while linked: DISCONNECT */
#define LP_F_PIN  0x08 /* in use beyond the plan (linkplan_pin): never surplus, never swapped */
#define LP_MS(s)  ((uint64_t)(s)*1000)
/* Diversity weights: a shared /16 or family is a stronger tie than a shared claimed country. */
#define LP_W_NET     2
#define LP_W_FAMILY  2
#define LP_W_COUNTRY 1

/* What every frame (linkplan_heard, _sent) and linkplan_next_ms read sits beside the identity. */
struct ent {
	uint8_t id[32];
	uint64_t last_rx; /* UP */
	uint64_t last_tx; /* UP */
	uint64_t last_hb; /* UP: last HEARTBEAT returned */
	uint8_t cls, state, flags, failures, refusals;
	char country[3];
	uint64_t up_since; /* UP: link start; CONNECTING: CONNECT time */
	uint32_t live;     /* index in p->live when linked, else LP_NONE */
	uint32_t tiebreak;
	uint32_t prev, next; /* class list, oldest refresh first; free list in next */
	uint64_t next_try;   /* backoff end; UNTRUSTED: penalty end */
	uint64_t link_ms;    /* link time of earlier links */
	uint64_t net;        /* family and /16 (IPv4) or /32 (IPv6) */
	uint64_t fam;        /* hash of the family string, 0 none */
	uint8_t noise[32];
	struct addr addr;
};

/* The links and timers first: every frame and every timer reads them. */
struct linkplan {
	struct ent *e;
	uint32_t *live;     /* entries UP or CONNECTING */
	uint64_t *live_key; /* beside live: their identities' first 8 bytes, scanned per frame */
	uint32_t n_live, cap_live;
	size_t n_up, n_conn;
	bool dirty;         /* an event may change the selection */
	bool hungry;        /* below min at the last scan: every new candidate matters */
	uint64_t next_scan; /* selection timer */
	uint64_t swap_next; /* next diversity check */
	uint32_t swap_in;   /* entry connecting to replace swap_out, LP_NONE */
	uint32_t swap_out;
	struct linkplan_config cfg;
	linkplan_rand_fn rnd;
	void *rnd_ctx;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	uint32_t n_alloc, n_used, free_head;
	uint32_t *slot; /* identity hash index: entry + 1, 0 empty; linear probing */
	uint32_t slot_mask;
	uint32_t head[LP_NCLASS], tail[LP_NCLASS];
	struct linkplan_stats st;
};

static inline uint64_t lp_since(uint64_t now, uint64_t t)
{
	return now > t ? now - t : 0;
}

static inline uint64_t lp_min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static inline bool lp_linked(const struct ent *e)
{
	return e->state == LINKPLAN_UP || e->state == LINKPLAN_CONNECTING;
}

/* linkplan.c */
/* Move entry idx to the tail of cls's eviction list. */
void linkplan_set_class(struct linkplan *p, uint32_t idx, uint8_t cls);
/* Put idx among the links (UP or CONNECTING): 0 or -ENOMEM. */
int linkplan_live_add(struct linkplan *p, uint32_t idx);
/* Free entry idx: out of the links, the index and its list. */
void linkplan_release(struct linkplan *p, uint32_t idx);
/* The caller's randomness (rand_fn), or libsodium's without one. */
uint32_t linkplan_rand(struct linkplan *p);
/* Backoff for the steps-th failure: exponential, capped, jittered within [d/2, d]. */
uint64_t linkplan_backoff_ms(struct linkplan *p, unsigned steps);
/* DISCOVERED with verify_s of link time becomes VERIFIED. */
void linkplan_promote(struct linkplan *p, struct ent *e, uint64_t now);
/* Leave UP or CONNECTING (link time, counters); the caller applies an outcome. */
void linkplan_unlink(struct linkplan *p, struct ent *e, uint64_t now);
/* Failure count, backoff or demotion after a link or handshake ended. */
void linkplan_outcome(struct linkplan *p, struct ent *e, uint64_t now, enum linkplan_down how);

#endif
