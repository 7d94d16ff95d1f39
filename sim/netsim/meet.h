/*
 * meet.h: scenario 2, the meeting of two peers on a relay. For many random pairs of client
 * places, each side sees all relays but an independent random share, ranks what it sees with
 * the helper's own select_rank (sids from sid_derive with the pair's WireGuard keys) and
 * prebinds on its top K. The pair meets when the two top-K sets intersect, on the first relay
 * of its ranking that the other side also bound (the helper's "first paired relay in rank
 * order"). Reports, for each K, the meeting rate and the path stretch against the best relay
 * both sides know.
 */
#ifndef WGR_NETSIM_MEET_H
#define WGR_NETSIM_MEET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "stats.h"

#define MEET_KMAX 4

struct meet_params {
	size_t relays; /* relays in the world */
	size_t pairs;
	double drop; /* share of relays each side does not see, independently */
	uint64_t seed;
};

struct meet_result {
	size_t pairs;
	size_t met[MEET_KMAX + 1];      /* [k]: pairs whose top-k sets intersect */
	size_t disagree[MEET_KMAX + 1]; /* [k]: pairs whose sides would pick different relays */
	struct stats
	    stretch[MEET_KMAX + 1]; /* [k]: km via the relay met / km via the best common */
	struct stats ideal;         /* stretch of the top relay when both sides see every relay */
	struct stats candidates;    /* relays ranked per side after the exact pre-filter */
	size_t score_mismatch;      /* pre-filter score differing from select_rank's (must be 0) */
	uint64_t x25519_calls, x25519_hits; /* sid_derive's Diffie-Hellman, and memo hits */
	double wall_s;
};

/* Run the scenario: 0 or -ENOMEM / -EINVAL. r is filled; meet_result_free releases it. */
int meet_run(const struct meet_params *p, struct meet_result *r);
void meet_result_free(struct meet_result *r);
/* Write meet.csv (one row per K) and meet_stretch.csv (CDF of each K's stretch) under dir. */
int meet_write_csv(struct meet_result *r, const char *dir);

#endif
