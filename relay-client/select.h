/*
 * select.h: rank candidate relays for one peer pair. One pure function of inputs both peers
 * share, so both helpers pick the same relay without talking:
 *   score = 2 * geo bucket (|A-R| + |R-B| in 1000 km steps) + load penalty (advertised load
 *   counts only against a busy relay: 0 below 500 permille, then 1 per 250 permille), ties
 *   broken by BLAKE2b(sid_R || relay key), sid_R being the pair's session id on that relay
 *   (equal on both sides, unknown to everyone else).
 * Local-only facts (our RTT to the relay, our history with it) never reorder; they only mark
 * a candidate unusable, which moves it to the end. See docs/ARCHITECTURE.md for why that keeps
 * both sides on a common relay as long as each prebinds on its top K.
 */
#ifndef WGR_SELECT_H
#define WGR_SELECT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SELECT_GEO_BUCKET_KM  1000.0
#define SELECT_LOAD_BUSY      500 /* advertised permille from which load counts at all */
#define SELECT_LOAD_BUCKET    250 /* permille per penalty point above SELECT_LOAD_BUSY */
#define SELECT_HYSTERESIS     2   /* score points the current relay may trail the best by */
#define SELECT_MAX_LOCAL_FAIL 3   /* our consecutive failures with a relay before we skip it */

struct select_point {
	bool known;
	double lat, lon;
};

struct select_cand {
	/* inputs shared by both peers */
	uint8_t pubkey[32];
	uint8_t sid[16]; /* sid_derive(.., this relay's key) */
	struct select_point loc;
	int load_permille; /* -1 unknown */
	bool full;         /* PONG_F_FULL */
	/* local-only inputs: filters, never ordering */
	bool reachable;          /* answered a PING recently (RTT known) */
	unsigned local_failures; /* consecutive failed sessions from this side */
	/* outputs */
	bool usable;
	int score; /* lower is better: 2 * geo + load_points */
	uint64_t tiebreak;
	/* the score's parts, for `wgrelay status` */
	int geo, load_points; /* geo bucket, load penalty */
	double km;            /* |A-R| + |R-B|, -1 when a location is unknown */
};

/*
 * Rank cands[0..n) for the pair (a, b) (order of a and b does not matter). Fills each
 * candidate's outputs and order[0..n) with indexes, best first; unusable ones last.
 */
void select_rank(struct select_point a, struct select_point b, struct select_cand *cands, size_t n,
                 size_t *order);
/*
 * Hysteresis: given a ranking and the index of the relay in use (n = none), return the index
 * to use: the current one while usable and within SELECT_HYSTERESIS of the best. n when no
 * candidate is usable.
 */
size_t select_choose(const struct select_cand *cands, const size_t *order, size_t n,
                     size_t current);
/*
 * Score points an advertised load (permille, -1 unknown) costs a relay: a claim can only hurt
 * the relay making it (0 below SELECT_LOAD_BUSY and when unknown, 1 to 3 above).
 */
int select_load_penalty(int load);
/* Distance in km that is bit-identical whichever way round the points are given. */
double select_distance_km(struct select_point p, struct select_point q);

#endif
