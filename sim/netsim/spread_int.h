/* spread_int.h: what spread.c, srelay.c and track.c share (not a public interface). */
#ifndef WGR_NETSIM_SPREAD_INT_H
#define WGR_NETSIM_SPREAD_INT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "addr.h"
#include "dcache.h"
#include "event.h"
#include "gossip.h"
#include "hmap.h"
#include "linkplan.h"
#include "rng.h"
#include "spread.h"
#include "world.h"

/* Simulated time 0 is this Unix time (2026-01-01T00:00:00Z): gossip needs Unix ms. */
#define SPREAD_T0_MS 1767225600000ull
#define SPREAD_NEVER UINT64_MAX
#define SPREAD_PORT  51821
/* Bytes of the link messages the simulator makes itself (CTRL plaintext or handshake). */
#define SPREAD_HB_LEN    9  /* HEARTBEAT / _ACK: type + nonce(8) */
#define SPREAD_CLOSE_LEN 24 /* ERROR link-closed with a short reason */
#define SPREAD_HELLO_HDR 3  /* HELLO: type + descriptor length(2) */
#define SPREAD_SHARES    22
/* relayd sends an unanswered HS_INIT again after this (NET_RESEND_MS), until the plan gives up. */
#define SPREAD_HS_RESEND_MS 5000
/* A converged start's links per relay at most: its configured peers, then MinLinks. */
#define SPREAD_CONVERGE_MAX 5

enum spread_ev {
	EV_TIMER = 1, /* a relay's gossip / linkplan timers (aux: generation) */
	EV_MSG,       /* gossip message (p: struct smsg) */
	EV_HS_INIT,   /* handshake initiation */
	EV_HS_RESP,   /* handshake response */
	EV_HELLO,     /* p: struct dstore_desc (a reference) */
	EV_CLOSE,
	EV_HB,
	EV_HB_ACK,
	EV_PUBLISH, /* a relay's refresh (aux: seq it is due for) */
	EV_CHURN,   /* one relay leaves, one joins */
	EV_CUT,
	EV_HEAL,
	EV_SAMPLE,     /* once a second: bins and convergence */
	EV_HS_RESEND,  /* the initiator's resend check of a CONNECT not up yet */
	EV_DHT_ROUND,  /* a relay's next DHT look-up round is due (aux: generation) */
	EV_DHT_RESULT, /* its get_peers round answers */
	EV_DESC_REQ,
	EV_DESC_RESP, /* p: struct dstore_desc (a reference) */
};

struct smsg {
	struct smsg *next; /* on its class's free list */
	uint16_t len;
	uint8_t cls; /* size class: smsg_new, smsg_free */
	uint8_t b[];
};

/* Size classes of gossip messages in flight, kept on free lists (srelay.c). */
#define SMSG_CLASSES 3

struct sdht;

/* What every event reads comes first (one cache line); the keys only at set-up and signing. */
struct srelay {
	struct gossip *g;
	struct linkplan *lp;
	uint64_t timer_at;
	uint32_t timer_gen;
	bool up;
	int32_t last_track;                 /* its latest tracked descriptor, -1 none */
	uint64_t gossip_tx, gossip_tx_mark; /* gossip bytes sent; at the steady window's start */
	struct rng rng;                     /* the relay's own: linkplan tie-breaks */
	uint64_t joined_ms, left_ms;        /* simulated ms; left_ms SPREAD_NEVER while up */
	uint64_t seq;
	uint8_t pk[32], sk[64], noise[32];
	struct addr addr;
	struct sdht *dht; /* its DHT look-ups (sdht.c): NULL until its plan first held too few */
};

struct track {
	uint32_t relay;
	uint64_t seq;
	uint64_t pub_ms;
	uint32_t n_at;                /* relays that existed at publish: only they count */
	uint32_t target;              /* of them, up at publish */
	uint32_t holders;             /* of them, holding it */
	uint8_t *bits;                /* holders, by relay index < n_at */
	int32_t at_ms[SPREAD_SHARES]; /* reach times per spread_reach_share, -1 not yet */
	bool in_cut;                  /* published around the partition: measured apart */
	int32_t prev;                 /* the same relay's previous tracked descriptor, -1 none */
};

struct spread {
	struct spread_params p;
	struct world w;
	struct event_queue *q;
	struct dcache dc;
	struct hmap by_id; /* identity prefix -> relay index */
	struct hmap by_addr;
	struct srelay *r;
	/* r[i].pk again, packed: the identities every message looks up stay in cache. */
	uint8_t (*pk)[32];
	size_t n, cap, n_up;
	struct rng rng;     /* scenario decisions: churn, bootstrap picks */
	struct rng dht_rng; /* DHT look-ups: latency and the relays found (sdht.c) */
	uint64_t now;       /* simulated ms */
	uint64_t end_ms, cut_ms, heal_ms, warm_ms;
	struct track *tr;
	size_t n_tr, cap_tr;
	/* per-minute bins */
	uint64_t *bin_gossip, *bin_link, *bin_up; /* bytes, bytes, relay-seconds */
	size_t n_bins;
	/* convergence after the heal */
	FILE *part_csv;
	double converge_s;
	bool marked, relay_bw_done; /* steady window: started, per-relay figure taken */
	uint64_t msgs, gossip_msgs;
	uint64_t dht_rounds, desc_req, desc_ok, desc_bytes; /* sdht.c */
	uint64_t dht_stored; /* found relays not asked: the store holds their descriptor */
	struct smsg *smsg_free[SMSG_CLASSES];
	struct gossip_stats gs;
	struct spread_result *res;
	uint8_t buf[GOSSIP_MSG_MAX];
};

static inline uint64_t spread_abs(const struct spread *s)
{
	return SPREAD_T0_MS + s->now;
}

/* srelay.c */
int srelay_create(struct spread *s, uint64_t issued_ms, bool warm);
void srelay_leave(struct spread *s, uint32_t i);
/* Bootstrap relay i's plan (configured peers, known discovered ones) and start its timers. */
void srelay_start(struct spread *s, uint32_t i, unsigned known);
/* srelay_start in two steps: the plan's candidates, then its first decisions and timers. */
void srelay_bootstrap(struct spread *s, uint32_t i, unsigned known);
void srelay_run(struct spread *s, uint32_t i);
/* A converged start: links up with configured peers, then random others (3 to 5 a relay). */
void srelay_converge(struct spread *s);
int srelay_publish(struct spread *s, uint32_t i);
void srelay_handle(struct spread *s, const struct event *e);
void srelay_pump(struct spread *s, uint32_t i);
void srelay_schedule(struct spread *s, uint32_t i);
/* A message buffer for len bytes (<= GOSSIP_MSG_MAX), or NULL; back with smsg_free. */
struct smsg *smsg_new(struct spread *s, size_t len);
void smsg_free(struct spread *s, struct smsg *m);
/* Free every buffer kept for reuse. */
void smsg_release(struct spread *s);
int srelay_push(struct spread *s, uint64_t at, uint32_t kind, uint32_t dst, uint32_t src,
                uint32_t aux, void *p);
void srelay_fold_stats(struct spread *s, uint32_t i);
/* A descriptor relay i learnt outside gossip (DESC_RESP): to its store and, if taken, its plan. */
void srelay_offer_outside(struct spread *s, uint32_t i, const struct dstore_desc *dd);

/* sdht.c */
/*
 * Relay i's DHT look-ups: a new relay starts them at once; one whose plan holds fewer than
 * MinLinks candidates looks now when its next round is further off than relayd allows.
 */
void sdht_check(struct spread *s, uint32_t i);
/* A relay running since before the scenario: its first round at a random point of 10 minutes. */
void sdht_running(struct spread *s, uint32_t i);
/* EV_DHT_ROUND, EV_DHT_RESULT, EV_DESC_REQ and EV_DESC_RESP at a relay that is up. */
void sdht_handle(struct spread *s, const struct event *e);
void sdht_free(struct spread *s, uint32_t i);

/* track.c */
int track_new(struct spread *s, uint32_t relay, const struct dcache_ent *e);
void track_got(struct spread *s, const struct dcache_ent *e, uint32_t relay);
void track_left(struct spread *s, uint32_t relay);
size_t track_missing(struct spread *s);
void track_finish(struct spread *s, struct spread_result *r);
int track_write(struct spread *s, const char *dir);
void track_free(struct spread *s);

#endif
