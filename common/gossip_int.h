/*
 * gossip_int.h: what gossip.c, gossip_want.c (the pending-WANT table) and gossip_out.c (the
 * messages built when the caller drains them) share. Not part of the API: see gossip.h.
 */
#ifndef WGR_GOSSIP_INT_H
#define WGR_GOSSIP_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gossip.h"

/* Links remembered per pending identity as other sources (beside the one asked). */
#define GOSSIP_WANT_ALTS 4
/* A link that timed out is asked again while an identity has had fewer asks than this (a
 * lost WANT or DESC; links that announced it and were not asked go first); after that, and
 * with no other link left, anti-entropy finds it. */
#define GOSSIP_WANT_TRIES 3
/* A link's WANT timeout from its round-trip time: 2 x RTT + this, at most GOSSIP_WANT_RTT_MAX_MS. */
#define GOSSIP_WANT_SLACK_MS   250
#define GOSSIP_WANT_RTT_MAX_MS 10000
/* gossip_next_tick looks past at most this many answered WANTs at a deadline ring's head. */
#define GOSSIP_DUE_PEEK 8
/* Our own new descriptor is announced again to a link that showed no sign of it, at most so often. */
#define GOSSIP_OWN_TRIES 2
/* How soon tick runs again while identities wait for a link with room or tokens. */
#define GOSSIP_PUMP_MS 100
/*
 * Waiting identities a tick looks at, at most; the next tick goes on where it stopped. A relay
 * catching up holds thousands, mostly announced by a link whose window is full: a walk of all of
 * them on every tick to find the few another link announced cost more than everything else.
 */
#define GOSSIP_WALK_MAX 256

struct gossip_tok {
	uint32_t tokens;
	uint64_t last_ms;
};

/* A ring of identities that grows up to a limit. */
struct gossip_ring {
	uint8_t (*id)[32];
	uint32_t head, n, cap;
};

/* A WANT's deadline; stale once the identity was answered or asked elsewhere. */
struct gossip_due {
	uint8_t id[32];
	uint64_t at;
};

/*
 * Deadlines of the WANTs asked of one link, in the order asked: with one timeout per link they
 * are in deadline order, so the earliest is at the head (an RTT update may put a later one a
 * little early; it then waits behind the head). Answered entries are dropped lazily.
 */
struct gossip_dring {
	struct gossip_due *e;
	uint32_t head, n, cap;
};

/*
 * What gossip_next asks of every link on every drain (is anything queued?) comes first, so that
 * a link with nothing to send costs one cache line: a relay's links are read after every input.
 */
struct gossip_link {
	uint32_t id;
	uint32_t inflight;       /* asked of this link and not answered (includes want.n) */
	uint32_t desc_n;         /* DESC answers queued (ring of desc_queue at desc) */
	int list_cur;            /* bucket being listed, -1 none */
	uint16_t list_n;         /* bits set in list */
	uint8_t digest_parts;    /* DIGEST messages still to send this round (2, 1, 0) */
	struct gossip_ring ann;  /* to announce (IHAVE) */
	struct gossip_ring want; /* asked of this link, WANT not sent yet */
	struct gossip_dring due;
	struct gossip_tok msg_in, desc_in, digest_in, serve;
	uint32_t want_to_ms; /* WANT timeout from the link's RTT; 0: want_timeout_ms */
	uint32_t idle_named; /* pending entries asked of no link that list this one (alt) */
	uint64_t own_due_ms; /* our new descriptor announced, not asked for: again then (0 none) */
	uint8_t own_tries;   /* announcements of it again so far (GOSSIP_OWN_TRIES) */
	uint32_t desc_head;
	struct dstore_desc **desc;
	uint64_t ae_until_ms; /* our DIGEST is outstanding: BUCKET accepted until then */
	uint32_t list_pos;    /* the listed bucket's next page starts here */
	uint8_t list[DSTORE_BUCKETS / 8]; /* buckets to list (BUCKET) */
};

struct gossip_alt {
	uint32_t link;
	uint64_t seq;
};

struct gossip_want {
	uint8_t id[32];
	uint8_t used;
	uint8_t n_alt;
	uint8_t tries;      /* asks so far (GOSSIP_WANT_TRIES) */
	uint32_t asked;     /* link asked, or GOSSIP_LINK_NONE: waiting for a link with room */
	uint64_t seq;       /* the highest seq announced */
	uint64_t asked_seq; /* the seq the link asked announced */
	uint64_t deadline_ms;
	struct gossip_alt alt[GOSSIP_WANT_ALTS]; /* other links that announced it */
};

struct gossip {
	struct gossip_config cfg;
	struct dstore *store;
	struct gossip_link *links;
	uint32_t n_links, links_cap;
	uint32_t rr;         /* gossip_next: the link served first */
	uint32_t ae_rr;      /* anti-entropy: the next link */
	uint64_t next_ae_ms; /* 0: not scheduled yet */
	uint64_t last_ms;
	struct gossip_want *pend; /* open addressing, linear probing; cap a power of two */
	uint32_t pend_cap, pend_n;
	uint32_t pend_idle;  /* entries asked of no link (asked GOSSIP_LINK_NONE) */
	uint64_t *idle_bits; /* a bit per slot of pend: used and asked of no link */
	int waiting;         /* some pending identity may wait for a link */
	uint32_t walk_pos;   /* the slot the next walk of waiting identities starts at */
	uint64_t want_clock; /* now at the last gossip_want_tick: a clock stepping back shows */
	uint8_t own_id[32];  /* our own descriptor's identity, seq (gossip_publish); seq 0: none */
	uint64_t own_seq;
	struct gossip_stats st;
};

/* gossip.c: token buckets, identity rings, links. */
void gossip_tok_init(struct gossip_tok *t, const struct gossip_rate *r, uint64_t now);
/* Refill and return the tokens (UINT32_MAX when unlimited). */
uint32_t gossip_tok_fill(struct gossip_tok *t, const struct gossip_rate *r, uint64_t now);
/* Take one token if there is one. */
bool gossip_tok_take(struct gossip_tok *t, const struct gossip_rate *r, uint64_t now);
/* Append id; when the ring holds max, the oldest goes (returns 1). 0, 1 or -ENOMEM. */
int gossip_ring_push(struct gossip_ring *r, uint32_t max, const uint8_t id[32]);
/* Take the oldest identity; the ring must not be empty. */
void gossip_ring_pop(struct gossip_ring *r, uint8_t id[32]);
/* The link that is up under id, or NULL. */
struct gossip_link *gossip_link_find(struct gossip *g, uint32_t id);
/* Queue an announcement of id to l (the oldest dropped and counted when full). */
void gossip_announce_to(struct gossip *g, struct gossip_link *l, const uint8_t id[32]);

/* gossip_want.c: identities we want, each asked of one link at a time. */
/* The pending table's home slot of id, before masking (gossip_prefetch knows it too). */
static inline uint32_t gossip_want_hash(const uint8_t id[32])
{
	/* Identities are public keys; grinding collisions costs key generation and only slows the
	 * probing of a table bounded by pending_max. */
	/* Spelled out rather than buf_load_be32: this runs for every lookup. */
	return ((uint32_t)id[28] << 24 | (uint32_t)id[29] << 16 | (uint32_t)id[30] << 8 | id[31]) ^
	       ((uint32_t)id[1] << 24 | (uint32_t)id[2] << 16 | (uint32_t)id[3] << 8 | id[4]);
}
/* The pending entry of id, or NULL. Pointers last until the table next changes. */
struct gossip_want *gossip_want_find(struct gossip *g, const uint8_t id[32]);
/* w is asked of no link now (it was asked of one): waiting to be asked again. */
void gossip_want_unask(struct gossip *g, struct gossip_want *w);
/* Forget w (the link asked no longer counts it). */
void gossip_want_del(struct gossip *g, struct gossip_want *w);
/* Ask w of the best link that can take it now: 1 asked, 0 waiting, -1 no link announced it. */
int gossip_want_ask(struct gossip *g, struct gossip_want *w, uint64_t now);
/* l announced (id, seq), newer than what we hold: want it (one link at a time). */
void gossip_want_request(struct gossip *g, struct gossip_link *l, const uint8_t id[32],
                         uint64_t seq, uint64_t now);
/* The link asked for w answered (or not): done if we now hold its seq, else ask another. */
void gossip_want_settle(struct gossip *g, struct gossip_want *w, uint64_t now);
/* link is gone: what was asked of it is asked of another link that announced it. */
void gossip_want_link_down(struct gossip *g, uint32_t link, uint64_t now);
/* The WANT timeout of link l. */
uint32_t gossip_want_timeout(const struct gossip *g, const struct gossip_link *l);
/* Time out WANTs past their deadline and ask waiting identities of links with room. */
void gossip_want_tick(struct gossip *g, uint64_t now);
/* The earliest WANT deadline if before t, else t. */
uint64_t gossip_want_deadline(const struct gossip *g, uint64_t t);

/* gossip_out.c: one message for l, most urgent first; its length, 0 when l has nothing. */
int gossip_out_one(struct gossip *g, struct gossip_link *l, uint64_t now, uint8_t *buf, size_t cap);
/* True when l has something queued. */
bool gossip_out_pending(const struct gossip_link *l);

#endif
