/* spread_int.h: what spread.c, srelay.c and track.c share (not a public interface). */
#ifndef WGR_NETSIM_SPREAD_INT_H
#define WGR_NETSIM_SPREAD_INT_H

#include <pthread.h>
#include <stdalign.h>
#include <stdatomic.h>
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
/* Threads at most (spread_params.threads). */
#define SPREAD_THREADS_MAX 16

enum spread_ev {
	/* A relay's events, run by the thread that owns it. */
	EV_TIMER = 1, /* a relay's gossip / linkplan timers (aux: generation) */
	EV_MSG,       /* gossip message (p: struct smsg) */
	EV_HS_INIT,   /* handshake initiation */
	EV_HS_RESP,   /* handshake response */
	EV_HELLO,     /* p: struct smsg, the sender's descriptor */
	EV_CLOSE,
	EV_HB,
	EV_HB_ACK,
	EV_HS_RESEND,  /* the initiator's resend check of a CONNECT not up yet */
	EV_DHT_ROUND,  /* a relay's next DHT look-up round is due (aux: generation) */
	EV_DHT_RESULT, /* its get_peers round answers */
	EV_DESC_REQ,
	EV_DESC_RESP, /* p: struct smsg, the sender's descriptor */
	/* The scenario's events, run between windows on one thread (spread.c). */
	EV_PUBLISH, /* a relay's refresh (aux: seq it is due for) */
	EV_CHURN,   /* one relay leaves, one joins */
	EV_CUT,
	EV_HEAL,
	EV_SAMPLE, /* once a second: bins and convergence */
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

/*
 * What every event reads comes first (one cache line); the keys only at set-up and signing.
 * Aligned so that two relays run by two threads never share a cache line.
 */
struct srelay {
	alignas(64) struct gossip *g;
	struct linkplan *lp;
	uint64_t timer_at;
	uint32_t timer_gen;
	bool up;
	int32_t last_track;                 /* its latest tracked descriptor, -1 none */
	uint64_t gossip_tx, gossip_tx_mark; /* gossip bytes sent; at the steady window's start */
	struct rng rng;                     /* the relay's own: linkplan tie-breaks */
	uint32_t pushes;                    /* events it scheduled: their order key */
	uint64_t joined_ms, left_ms;        /* simulated ms; left_ms SPREAD_NEVER while up */
	uint64_t seq;
	uint8_t pk[32], sk[64], noise[32];
	struct addr addr;
	struct sdht *dht; /* its DHT look-ups (sdht.c): NULL until its plan first held too few */
	/* The network's draws for what it sends (loss, jitter) and its DHT answers. */
	struct rng net;
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

/* Events for another thread's relays, taken into its queue before the next window. */
struct evbuf {
	struct event *e;
	size_t n, cap;
	uint64_t min_at;
};

/* One reach of a tracked descriptor, logged in a window and applied after it (track.c). */
struct track_got_ent {
	uint64_t at;
	int32_t track;
	uint32_t relay;
};

/*
 * One thread of the run: the relays i with i % threads == id are its own. Everything a relay's
 * event writes outside that relay is here, so that threads share only what is read during a
 * window (spread.c explains the windows).
 */
struct sthread {
	alignas(64) struct spread *s; /* threads' structures share no cache line */
	unsigned id;
	pthread_t th;
	uint64_t now; /* simulated ms of the event it runs */
	uint32_t cur; /* the relay whose event it runs: the origin of what is scheduled */
	struct event_queue *q;
	struct dcache dc; /* its own verified descriptors: reference counts never cross threads */
	struct evbuf out[SPREAD_THREADS_MAX][2]; /* by thread, by window parity */
	struct track_got_ent *got;
	size_t n_got, cap_got;
	uint64_t got_failed; /* logs that could not grow (expected 0) */
	struct world_tally wt;
	uint64_t events, msgs;
	uint64_t dht_rounds, desc_req, desc_ok, desc_bytes; /* sdht.c */
	uint64_t dht_stored; /* found relays not asked: the store holds their descriptor */
	uint64_t *bin_gossip, *bin_link; /* bytes per minute */
	struct smsg *smsg_free[SMSG_CLASSES];
	uint8_t buf[GOSSIP_MSG_MAX];
};

struct spread {
	struct spread_params p;
	struct world w;
	struct event_queue *gq; /* the scenario's events (EV_PUBLISH .. EV_SAMPLE) */
	struct hmap by_id;      /* identity prefix -> relay index */
	struct hmap by_addr;
	struct srelay *r;
	/* r[i].pk again, packed: the identities every message looks up stay in cache. */
	uint8_t (*pk)[32];
	size_t n, cap, n_up;
	struct rng rng; /* scenario decisions: churn, bootstrap picks */
	uint64_t now;   /* simulated ms: the scenario's */
	uint64_t end_ms, cut_ms, heal_ms, warm_ms;
	struct track *tr;
	size_t n_tr, cap_tr;
	/* per-minute bins (the threads' bytes are summed at the end) */
	uint64_t *bin_gossip, *bin_link, *bin_up; /* bytes, bytes, relay-seconds */
	size_t n_bins;
	/* convergence after the heal */
	FILE *part_csv;
	double converge_s;
	bool marked, relay_bw_done; /* steady window: started, per-relay figure taken */
	struct gossip_stats gs;
	struct spread_result *res;
	/* Threads and windows (spread.c). */
	struct sthread th[SPREAD_THREADS_MAX];
	unsigned nth;
	bool serial;      /* one thread runs: the scenario's events, set-up, the end */
	unsigned wpar;    /* parity of the window the threads write outboxes for */
	uint64_t win_end; /* the window runs events before this */
	bool stop;
	atomic_int go;      /* the workers' start: 1 go, -1 leave (a thread could not start) */
	uint64_t window_ms; /* the network's smallest delay */
	struct spin_barrier *bar;
};

static inline struct sthread *sowner(struct spread *s, uint32_t i)
{
	return &s->th[i % s->nth];
}

static inline uint64_t sabs(const struct sthread *t)
{
	return SPREAD_T0_MS + t->now;
}

/* srelay.c: relay i's functions run on i's thread (t), those taking s between windows. */
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
void srelay_handle(struct sthread *t, const struct event *e);
void srelay_pump(struct sthread *t, uint32_t i);
void srelay_schedule(struct sthread *t, uint32_t i);
/* A message buffer for len bytes (<= GOSSIP_MSG_MAX), or NULL; back with smsg_free. */
struct smsg *smsg_new(struct sthread *t, size_t len);
void smsg_free(struct sthread *t, struct smsg *m);
/* Free every buffer kept for reuse. */
void smsg_release(struct sthread *t);
/*
 * Schedule an event for relay dst, keyed by the relay t runs (t->cur) and its count of events
 * scheduled, so the order within a millisecond does not depend on the threads: into t's queue
 * when t owns dst, else into the outbox for dst's thread (the network's delay puts it past the
 * window). The scenario's EV_PUBLISH goes to the scenario's queue.
 */
int srelay_push(struct sthread *t, uint64_t at, uint32_t kind, uint32_t dst, uint32_t src,
                uint32_t aux, void *p);
/* The thread that owns relay i, about to act for it (between windows). */
struct sthread *srelay_acting(struct spread *s, uint32_t i);
void srelay_fold_stats(struct spread *s, uint32_t i);
/* A descriptor relay i learnt outside gossip (DESC_RESP): to its store and, if taken, its plan. */
void srelay_offer_outside(struct sthread *t, uint32_t i, const uint8_t *b, size_t len);
/* A copy of relay a's own descriptor in a message buffer (what HELLO and DESC_RESP carry). */
struct smsg *srelay_own_copy(struct sthread *t, uint32_t a);
/* Free an event's payload (one that is not handled). */
void srelay_drop(struct sthread *t, const struct event *e);

/* sdht.c */
/*
 * Relay i's DHT look-ups: a new relay starts them at once; one whose plan holds fewer than
 * MinLinks candidates looks now when its next round is further off than relayd allows.
 */
void sdht_check(struct sthread *t, uint32_t i);
/* A relay running since before the scenario: its first round at a random point of 10 minutes. */
void sdht_running(struct sthread *t, uint32_t i);
/* EV_DHT_ROUND, EV_DHT_RESULT, EV_DESC_REQ and EV_DESC_RESP at a relay that is up. */
void sdht_handle(struct sthread *t, const struct event *e);
void sdht_free(struct spread *s, uint32_t i);

/* track.c */
/* Track relay's new descriptor (every thread's cache entry of it is tagged). */
int track_new(struct spread *s, uint32_t relay, const struct dcache_ent *e);
/* relay holds e: applied at once between windows, logged for track_apply within one. */
void track_got(struct sthread *t, const struct dcache_ent *e, uint32_t relay);
/* Apply the threads' logs of a window in time order. */
void track_apply(struct spread *s);
void track_left(struct spread *s, uint32_t relay);
size_t track_missing(struct spread *s);
void track_finish(struct spread *s, struct spread_result *r);
int track_write(struct spread *s, const char *dir);
void track_free(struct spread *s);

#endif
