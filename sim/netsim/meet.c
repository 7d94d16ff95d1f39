/* meet.c: scenario 2 (see meet.h), driving relay-client's select_rank and common's sid_derive. */
#include "meet.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "memo.h"
#include "rng.h"
#include "select.h"
#include "sid.h"
#include "world.h"

/* Stream ids: the relays' own, and one per pair above MEET_PAIR_STREAM. */
#define MEET_RELAY_STREAM 0x6d72656c6179ull
#define MEET_PAIR_STREAM  (1ull << 48)
#define MEET_MAX_SCORE    256

struct mrelay {
	struct world_place at;
	uint8_t pub[32];
	int load;
};

struct side {
	const uint8_t *sk, *peer_pk;
	bool *sees;
	struct select_cand *cands;
	size_t *order, *idx, n;
	size_t top[MEET_KMAX], ntop;
};

struct meet_ctx {
	const struct meet_params *p;
	struct meet_result *r;
	struct mrelay *relays;
	double *km;
	int *score;
	struct side s[2];
	struct select_cand *all_cands;
	size_t *all_order, *all_idx;
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Advertised loads: most relays idle-ish, a tail of busy ones (exponential, mean 250). */
static int draw_load(struct rng *r)
{
	double x = rng_exp(r, 250.0);

	return x >= 1000 ? 1000 : (int)x;
}

static struct select_point point(const struct world_place *w)
{
	return (struct select_point){.known = true, .lat = w->lat, .lon = w->lon};
}

/*
 * select_rank sorts by score first (2 * geo bucket + load points, select.h), so a relay whose
 * score is above the K-th best score a side sees can never be in that side's top K: ranking
 * only the relays at or below that score gives the very same top K. The score computed here
 * is checked against select_rank's own output for every relay ranked.
 */
static int threshold(const struct meet_ctx *c, const bool *sees, size_t k)
{
	size_t hist[MEET_MAX_SCORE] = {0}, acc = 0;

	for (size_t i = 0; i < c->p->relays; i++)
		if (!sees || sees[i])
			hist[c->score[i]]++;
	for (int s = 0; s < MEET_MAX_SCORE; s++) {
		acc += hist[s];
		if (acc >= k)
			return s;
	}
	return MEET_MAX_SCORE - 1;
}

/* Rank the relays of a view (NULL: all) scoring at most thr, as one side's helper would. */
static size_t rank_side(struct meet_ctx *c, const bool *sees, int thr, const uint8_t *sk,
                        const uint8_t *peer_pk, struct select_point a, struct select_point b,
                        struct select_cand *cands, size_t *idx, size_t *order)
{
	size_t n = 0;
	uint8_t shared[32];

	/* The pair's X25519 once; a BLAKE2b per relay (sid_derive's two steps). */
	if (sid_shared(shared, sk, peer_pk) < 0)
		abort(); /* keys are made from random scalars: never low order */
	for (size_t i = 0; i < c->p->relays; i++) {
		if ((sees && !sees[i]) || c->score[i] > thr)
			continue;
		struct select_cand *x = &cands[n];
		memset(x, 0, sizeof(*x));
		memcpy(x->pubkey, c->relays[i].pub, 32);
		sid_from_shared(x->sid, shared, c->relays[i].pub);
		x->loc = point(&c->relays[i].at);
		x->load_permille = c->relays[i].load;
		x->reachable = true;
		idx[n++] = i;
	}
	select_rank(a, b, cands, n, order);
	for (size_t j = 0; j < n; j++)
		if (cands[j].score != c->score[idx[j]])
			c->r->score_mismatch++;
	stats_add(&c->r->candidates, (double)n);
	return n;
}

static bool in_top(const struct side *s, size_t k, size_t relay)
{
	for (size_t j = 0; j < k && j < s->ntop; j++)
		if (s->top[j] == relay)
			return true;
	return false;
}

/* The first relay of x's top k that y also bound: where x's helper moves the peer. */
static long first_paired(const struct side *x, const struct side *y, size_t k)
{
	for (size_t j = 0; j < k && j < x->ntop; j++)
		if (in_top(y, k, x->top[j]))
			return (long)x->top[j];
	return -1;
}

static void one_pair(struct meet_ctx *c, size_t pi)
{
	const struct meet_params *p = c->p;
	struct rng r;
	struct world_place pa, pb;
	uint8_t sk[2][32], pk[2][32];

	rng_seed(&r, p->seed, MEET_PAIR_STREAM + pi);
	world_draw_place(&r, &pa);
	world_draw_place(&r, &pb);
	for (int s = 0; s < 2; s++) {
		rng_bytes(&r, sk[s], 32);
		crypto_scalarmult_base(pk[s], sk[s]);
	}
	struct select_point a = point(&pa), b = point(&pb);
	double best_both = INFINITY, best_all = INFINITY;
	for (size_t i = 0; i < p->relays; i++) {
		struct select_point x = point(&c->relays[i].at);
		c->km[i] = select_distance_km(a, x) + select_distance_km(x, b);
		int sc = 2 * (int)floor(c->km[i] / SELECT_GEO_BUCKET_KM) +
		         select_load_penalty(c->relays[i].load);
		c->score[i] = sc < MEET_MAX_SCORE ? sc : MEET_MAX_SCORE - 1;
		c->s[0].sees[i] = !rng_chance(&r, p->drop);
		c->s[1].sees[i] = !rng_chance(&r, p->drop);
		if (c->s[0].sees[i] && c->s[1].sees[i] && c->km[i] < best_both)
			best_both = c->km[i];
		if (c->km[i] < best_all)
			best_all = c->km[i];
	}
	for (int s = 0; s < 2; s++) {
		struct side *sd = &c->s[s];
		int thr = threshold(c, sd->sees, MEET_KMAX);
		sd->n = rank_side(c, sd->sees, thr, sk[s], pk[1 - s], a, b, sd->cands, sd->idx,
		                  sd->order);
		sd->ntop = sd->n < MEET_KMAX ? sd->n : MEET_KMAX;
		for (size_t j = 0; j < sd->ntop; j++)
			sd->top[j] = sd->idx[sd->order[j]];
	}
	for (size_t k = 1; k <= MEET_KMAX; k++) {
		long ra = first_paired(&c->s[0], &c->s[1], k),
		     rb = first_paired(&c->s[1], &c->s[0], k);
		if (ra != rb)
			c->r->disagree[k]++;
		if (ra < 0)
			continue;
		c->r->met[k]++;
		stats_add(&c->r->stretch[k], best_both > 0 ? c->km[ra] / best_both : 1.0);
	}
	/* Both sides seeing everything: how far the ranking's own top relay is from the best. */
	int thr = threshold(c, NULL, 1);
	size_t n =
	    rank_side(c, NULL, thr, sk[0], pk[1], a, b, c->all_cands, c->all_idx, c->all_order);
	if (n)
		stats_add(&c->r->ideal,
		          best_all > 0 ? c->km[c->all_idx[c->all_order[0]]] / best_all : 1.0);
}

int meet_run(const struct meet_params *p, struct meet_result *r)
{
	struct meet_ctx c = {.p = p, .r = r};
	struct rng rr;
	int ret = -ENOMEM;
	double t0 = now_s();
	uint64_t x0 = memo_stats()->x25519_calls, h0 = memo_stats()->x25519_hits;

	memset(r, 0, sizeof(*r));
	if (p->relays == 0 || p->drop < 0 || p->drop >= 1)
		return -EINVAL;
	for (size_t k = 0; k <= MEET_KMAX; k++)
		stats_init(&r->stretch[k], p->pairs);
	stats_init(&r->ideal, p->pairs);
	stats_init(&r->candidates, 3 * p->pairs);
	size_t n = p->relays;
	c.relays = calloc(n, sizeof(*c.relays));
	c.km = calloc(n, sizeof(*c.km));
	c.score = calloc(n, sizeof(*c.score));
	c.all_cands = calloc(n, sizeof(*c.all_cands));
	c.all_order = calloc(n, sizeof(size_t));
	c.all_idx = calloc(n, sizeof(size_t));
	if (!c.relays || !c.km || !c.score || !c.all_cands || !c.all_order || !c.all_idx)
		goto out;
	for (int s = 0; s < 2; s++) {
		c.s[s].sees = calloc(n, sizeof(bool));
		c.s[s].cands = calloc(n, sizeof(struct select_cand));
		c.s[s].order = calloc(n, sizeof(size_t));
		c.s[s].idx = calloc(n, sizeof(size_t));
		if (!c.s[s].sees || !c.s[s].cands || !c.s[s].order || !c.s[s].idx)
			goto out;
	}
	rng_seed(&rr, p->seed, MEET_RELAY_STREAM);
	for (size_t i = 0; i < n; i++) {
		world_draw_place(&rr, &c.relays[i].at);
		rng_bytes(&rr, c.relays[i].pub, 32);
		c.relays[i].load = draw_load(&rr);
	}
	for (size_t i = 0; i < p->pairs; i++)
		one_pair(&c, i);
	r->pairs = p->pairs;
	r->x25519_calls = memo_stats()->x25519_calls - x0;
	r->x25519_hits = memo_stats()->x25519_hits - h0;
	ret = 0;
out:
	for (int s = 0; s < 2; s++) {
		free(c.s[s].sees);
		free(c.s[s].cands);
		free(c.s[s].order);
		free(c.s[s].idx);
	}
	free(c.relays);
	free(c.km);
	free(c.score);
	free(c.all_cands);
	free(c.all_order);
	free(c.all_idx);
	r->wall_s = now_s() - t0;
	return ret;
}

void meet_result_free(struct meet_result *r)
{
	for (size_t k = 0; k <= MEET_KMAX; k++)
		stats_free(&r->stretch[k]);
	stats_free(&r->ideal);
	stats_free(&r->candidates);
}

int meet_write_csv(struct meet_result *r, const char *dir)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/meet.csv", dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "k,pairs,met,rate,stretch_p50,stretch_p90,stretch_p99,disagree\n");
	for (size_t k = 1; k <= MEET_KMAX; k++)
		fprintf(f, "%zu,%zu,%zu,%.5f,%.4f,%.4f,%.4f,%zu\n", k, r->pairs, r->met[k],
		        r->pairs ? (double)r->met[k] / (double)r->pairs : 0.0,
		        stats_quantile(&r->stretch[k], 0.5), stats_quantile(&r->stretch[k], 0.9),
		        stats_quantile(&r->stretch[k], 0.99), r->disagree[k]);
	fclose(f);
	for (size_t k = 1; k <= MEET_KMAX; k++) {
		char name[32];
		snprintf(name, sizeof(name), "stretch_k%zu", k);
		snprintf(path, sizeof(path), "%s/meet_stretch_k%zu.csv", dir, k);
		f = fopen(path, "w");
		if (!f)
			return -errno;
		stats_write_cdf(&r->stretch[k], f, name, 500);
		fclose(f);
	}
	return 0;
}
