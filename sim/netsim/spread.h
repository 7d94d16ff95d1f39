/*
 * spread.h: scenario 1, descriptor spread over the relay network. Every relay runs the real
 * gossip engine (common/gossip.c with its dstore) and the real link planner (common/linkplan.c)
 * on the simulated clock; descriptors are real, signed with each relay's Ed25519 identity
 * (common/descriptor.c). The simulator stands in for sockets and the Noise transport only:
 * a link comes up after a simulated handshake round trip, and CTRL messages carry the gossip
 * engine's own bytes with the frame and IP/UDP overhead counted. Churn, refresh, message loss
 * and a partition that heals run on top. Figures: time for new descriptors to reach 50/90/99/
 * 100 % of relays, gossip bytes per relay per second, convergence after the partition heals.
 */
#ifndef WGR_NETSIM_SPREAD_H
#define WGR_NETSIM_SPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dcache.h"
#include "gossip.h"
#include "stats.h"

struct spread_params {
	size_t relays;               /* relays at the start */
	double hours;                /* simulated time */
	double loss;                 /* per-message loss */
	double churn_per_h;          /* share of relays leaving an hour (as many new ones join) */
	double refresh_h;            /* R: each relay republishes (seq + 1) this often */
	double lifetime_h;           /* expires_at - issued_at */
	double warmup_min;           /* left out of the steady-state figures */
	double cut_at_min;           /* the partition starts (minutes) */
	double cut_len_min;          /* and lasts (0: no partition) */
	int cut_region;              /* enum world_region cut off */
	unsigned boot_min, boot_max; /* configured peers per relay */
	unsigned warm_known;         /* discovered candidates a relay starts with */
	unsigned lp_candidates;      /* linkplan max_candidates */
	size_t max_events;           /* event queue bound */
	uint64_t seed;
	int progress; /* print progress to stderr */
	/* Start converged: every store preloaded with shared references to every current
	 * descriptor (gossip_preload) and links up (its configured peers, then random
	 * others, 3 to 5 a relay); else stores filled through gossip_offer and links formed by the plans. */
	bool converged;
	/* relayd's DHT look-up (Dht = on) while a plan holds fewer than MinLinks candidates:
	 * get_peers rounds on relayd's schedule, DESC_REQ to the relays found (sdht.c). */
	bool dht_lookup;
	/* Threads that run the relays (1..16; 0: one per core, at most 16). The figures do not
	 * depend on it: one seed gives one result whatever the threads. */
	unsigned threads;
};

/* Fill p with the defaults of docs/SCALE.md (10,000 relays, 1 h, ...). */
void spread_params_default(struct spread_params *p);

struct spread_result {
	size_t relays_end, joined, left, max_relays;
	size_t tracked;  /* descriptors published during the run */
	size_t measured; /* of those, published outside the partition and the run's last minutes */
	size_t never99;  /* measured ones that did not reach 99 % */
	struct stats t50, t90, t99, t100;    /* seconds from publish to that share of relays */
	double reach_p50[22];                /* median time (s) to each share of reach_share[] */
	double bw_gossip_med, bw_gossip_max; /* steady per-minute bins, B/s per relay up */
	double bw_all_med, bw_all_max; /* gossip + link upkeep (handshakes, HELLO, heartbeats) */
	struct stats relay_bw;         /* per relay gossip B/s sent in the steady window */
	double converge_s;             /* after the heal until all stores agree; -1 never */
	size_t cut_relays;             /* relays in the region cut off */
	double links_mean;             /* links up per relay at the end */
	uint64_t msgs, events, events_peak, events_refused;
	unsigned threads;    /* that ran the relays */
	uint64_t track_lost; /* reaches not logged for lack of memory (0 expected) */
	uint64_t dht_rounds; /* get_peers rounds (every 10 min; sooner with few candidates) */
	uint64_t dht_stored; /* relays found whose descriptor the store held: not asked */
	uint64_t desc_req, desc_ok; /* DESC_REQ sent to relays found; answers taken */
	uint64_t desc_bytes;        /* DESC_REQ + DESC_RESP on the wire (in the link bytes) */
	uint64_t lost, cut_dropped, down_dropped;
	struct dcache_stats dc;
	struct gossip_stats gs; /* summed over every relay that ran */
	double init_s, wall_s;
};

/* Share of relays (in percent) at which reach_p50[] is reported. */
extern const double spread_reach_share[22];

/*
 * Run the scenario, writing spread_desc.csv, spread_reach.csv, spread_bw.csv and
 * spread_partition.csv under dir (NULL: none). 0 or -errno; r is filled on 0 and must be
 * released with spread_result_free.
 */
int spread_run(const struct spread_params *p, const char *dir, struct spread_result *r);
void spread_result_free(struct spread_result *r);

#endif
