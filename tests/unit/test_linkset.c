/*
 * test_linkset.c: which relays a helper links to. Two helpers whose caches hold the same 200
 * relays in different orders must both link to the top K of their pair (a choice by cache
 * order would not: the positive control shows it); the cap, relays in use, bootstrap relays
 * and the no-flapping margin; the refresh schedule that keeps the linked relays' descriptors
 * current.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "linkset.h"
#include "refresh.h"
#include "select.h"
#include "sid.h"

#define N_RELAYS 200
#define K        2
#define CAP      32

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64: the same world on every run */
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static struct select_point rnd_point(void)
{
	return (struct select_point){true, (double)(rnd() % 140000) / 1000.0 - 60.0,
	                             (double)(rnd() % 360000) / 1000.0 - 180.0};
}

/* The relays as they are in the world; a helper's cache lists them in its own order. */
struct world {
	struct linkset_relay relays[N_RELAYS];
	struct select_point a, b; /* the two helpers of the pair */
	uint8_t pair_shared[32];  /* what both derive the pair's sids from */
};

static void world_make(struct world *w, uint64_t seed)
{
	rng_state = seed;
	memset(w, 0, sizeof(*w));
	for (size_t i = 0; i < N_RELAYS; i++) {
		for (size_t j = 0; j < 32; j += 8) {
			uint64_t v = rnd();
			memcpy(w->relays[i].pub + j, &v, 8);
		}
		w->relays[i].loc = rnd_point();
	}
	w->a = rnd_point();
	w->b = rnd_point();
	for (size_t j = 0; j < 32; j++)
		w->pair_shared[j] = (uint8_t)rnd();
}

/* One helper: its cache order, its peers (the pair's far end first) and their sids. */
struct helper {
	struct linkset_relay relays[N_RELAYS];
	size_t perm[N_RELAYS]; /* relays[i] is the world's relay perm[i] */
	struct linkset_peer peers[8];
	uint8_t (*sids)[N_RELAYS][16];
	struct linkset_in in;
	uint8_t why[N_RELAYS];
	size_t chosen;
};

static void helper_make(struct helper *h, const struct world *w, bool side_a, size_t n_peers,
                        uint64_t seed)
{
	uint8_t shared[32];

	memset(h, 0, sizeof(*h));
	rng_state = seed;
	for (size_t i = 0; i < N_RELAYS; i++)
		h->perm[i] = i;
	for (size_t i = N_RELAYS - 1; i > 0; i--) { /* Fisher-Yates: this cache's order */
		size_t j = rnd() % (i + 1), t = h->perm[i];
		h->perm[i] = h->perm[j];
		h->perm[j] = t;
	}
	for (size_t i = 0; i < N_RELAYS; i++)
		h->relays[i] = w->relays[h->perm[i]];
	h->sids = calloc(n_peers, sizeof(*h->sids));
	assert_non_null(h->sids);
	for (size_t p = 0; p < n_peers; p++) {
		/* Peer 0 is the pair's far end; the others are this helper's own. */
		if (p == 0) {
			memcpy(shared, w->pair_shared, 32);
			h->peers[p].loc = side_a ? w->b : w->a;
		} else {
			for (size_t j = 0; j < 32; j++)
				shared[j] = (uint8_t)rnd();
			h->peers[p].loc = rnd_point();
		}
		for (size_t i = 0; i < N_RELAYS; i++)
			sid_from_shared(h->sids[p][i], shared, h->relays[i].pub);
		h->peers[p].sids = (const uint8_t(*)[16])h->sids[p];
		h->peers[p].k = K;
	}
	h->in = (struct linkset_in){
	    side_a ? w->a : w->b, h->relays, N_RELAYS, h->peers, n_peers, CAP, false};
}

static void helper_free(struct helper *h)
{
	free(h->sids);
}

static void helper_choose(struct helper *h)
{
	assert_int_equal(linkset_choose(&h->in, h->why, &h->chosen), 0);
	assert_true(h->chosen <= h->in.cap);
}

/* Is the world's relay wi in h's set? */
static bool chose(const struct helper *h, size_t wi)
{
	for (size_t i = 0; i < N_RELAYS; i++)
		if (h->perm[i] == wi)
			return h->why[i] != LINKSET_OUT;
	return false;
}

/* The pair's ranking over all the world's relays, as world indexes. */
static void pair_rank(const struct world *w, size_t *order)
{
	static struct select_cand c[N_RELAYS];

	memset(c, 0, sizeof(c));
	for (size_t i = 0; i < N_RELAYS; i++) {
		memcpy(c[i].pubkey, w->relays[i].pub, 32);
		sid_from_shared(c[i].sid, w->pair_shared, w->relays[i].pub);
		c[i].loc = w->relays[i].loc;
		c[i].load_permille = -1;
		c[i].reachable = true;
	}
	select_rank(w->a, w->b, c, N_RELAYS, order);
}

static void test_same_relays_other_order(void **state)
{
	(void)state;
	static struct world w;
	static struct helper ha, hb;
	size_t order[N_RELAYS];
	unsigned naive_miss = 0;

	for (uint64_t seed = 1; seed <= 8; seed++) {
		world_make(&w, seed * 7919);
		pair_rank(&w, order);
		/* 8 peers each: 8 x 4K = 64 candidates for 32 links, so the cap cuts. */
		helper_make(&ha, &w, true, 8, seed * 31);
		helper_make(&hb, &w, false, 8, seed * 131 + 5);
		helper_choose(&ha);
		helper_choose(&hb);
		assert_int_equal(ha.chosen, CAP);
		assert_int_equal(hb.chosen, CAP);
		for (size_t r = 0; r < K; r++) {
			assert_true(chose(&ha, order[r]));
			assert_true(chose(&hb, order[r]));
		}
		/* Positive control: the first 32 of each cache (the old rule) miss the top K. */
		for (size_t r = 0; r < K; r++) {
			bool in_a = false, in_b = false;
			for (size_t i = 0; i < CAP; i++) {
				in_a |= ha.perm[i] == order[r];
				in_b |= hb.perm[i] == order[r];
			}
			naive_miss += !in_a || !in_b;
		}
		helper_free(&ha);
		helper_free(&hb);
	}
	assert_true(naive_miss > 0);
}

/* With room for every peer's 4K, both helpers link to the pair's whole top 4K. */
static void test_whole_reach_when_room(void **state)
{
	(void)state;
	static struct world w;
	static struct helper ha, hb;
	size_t order[N_RELAYS];

	world_make(&w, 424242);
	pair_rank(&w, order);
	helper_make(&ha, &w, true, 4, 99);
	helper_make(&hb, &w, false, 3, 1234);
	helper_choose(&ha);
	helper_choose(&hb);
	for (size_t r = 0; r < LINKSET_WIDEN * K; r++) {
		assert_true(chose(&ha, order[r]));
		assert_true(chose(&hb, order[r]));
	}
	helper_free(&ha);
	helper_free(&hb);
}

/* Every peer keeps its top K under the cap; the cap is never passed. */
static void test_cap(void **state)
{
	(void)state;
	static struct world w;
	static struct helper h;
	size_t top[K];

	world_make(&w, 5);
	helper_make(&h, &w, true, 8, 6);
	for (size_t cap = 0; cap <= CAP; cap += 4) {
		h.in.cap = cap;
		helper_choose(&h);
		assert_int_equal(h.chosen, cap); /* 8 peers x 4K = 64 candidates fill any cap */
		size_t n = 0;
		for (size_t i = 0; i < N_RELAYS; i++)
			n += h.why[i] != LINKSET_OUT;
		assert_int_equal(n, cap);
	}
	h.in.cap = CAP;
	helper_choose(&h);
	for (size_t p = 0; p < 8; p++) {
		assert_int_equal(linkset_rank(&h.in, &h.peers[p], top, K), K);
		for (size_t r = 0; r < K; r++)
			assert_int_equal(h.why[top[r]], LINKSET_TOP);
	}
	helper_free(&h);
}

/* The worst relay of every ranking stays while in use, even with the cap full. */
static void test_in_use_kept(void **state)
{
	(void)state;
	static struct world w;
	static struct helper h;
	size_t *all = calloc(N_RELAYS, sizeof(*all));

	assert_non_null(all);
	world_make(&w, 77);
	helper_make(&h, &w, true, 1, 78);
	assert_int_equal(linkset_rank(&h.in, &h.peers[0], all, N_RELAYS), N_RELAYS);
	size_t worst = all[N_RELAYS - 1];
	helper_choose(&h);
	assert_int_equal(h.why[worst], LINKSET_OUT); /* control: not chosen for its rank */
	h.relays[worst].in_use = true;
	h.in.cap = 3;
	helper_choose(&h);
	assert_int_equal(h.chosen, 3);
	assert_int_equal(h.why[worst], LINKSET_IN_USE);
	assert_int_equal(h.why[all[0]], LINKSET_TOP);
	assert_int_equal(h.why[all[1]], LINKSET_TOP);
	free(all);
	helper_free(&h);
}

/* Bootstrap relays come after the top K and before the wider reach: kept when room. */
static void test_bootstrap_when_room(void **state)
{
	(void)state;
	static struct world w;
	static struct helper h;
	size_t all[N_RELAYS];

	world_make(&w, 11);
	helper_make(&h, &w, true, 1, 12);
	assert_int_equal(linkset_rank(&h.in, &h.peers[0], all, N_RELAYS), N_RELAYS);
	size_t b1 = all[150], b2 = all[160];
	h.relays[b1].bootstrap = h.relays[b2].bootstrap = true;
	helper_choose(&h);
	assert_int_equal(h.chosen, LINKSET_WIDEN * K + 2);
	assert_int_equal(h.why[b1], LINKSET_BOOTSTRAP);
	assert_int_equal(h.why[b2], LINKSET_BOOTSTRAP);
	assert_int_equal(h.why[all[K]], LINKSET_NEXT);
	h.in.cap = K + 1; /* room for one: the first given */
	helper_choose(&h);
	assert_int_equal(h.why[all[0]], LINKSET_TOP);
	assert_int_equal(h.why[all[1]], LINKSET_TOP);
	assert_int_equal(h.why[b1] != LINKSET_OUT, b1 < b2);
	assert_int_equal(h.why[b2] != LINKSET_OUT, b2 < b1);
	assert_int_equal(h.why[all[K]], LINKSET_OUT);
	h.in.cap = K; /* no room: the top K win */
	helper_choose(&h);
	assert_int_equal(h.why[b1], LINKSET_OUT);
	assert_int_equal(h.why[b2], LINKSET_OUT);
	helper_free(&h);
}

/* A linked relay just past rank 4K stays (down to 5K); one not linked does not join. */
static void test_no_flapping(void **state)
{
	(void)state;
	static struct world w;
	static struct helper h;
	size_t all[N_RELAYS];
	const size_t edge = LINKSET_WIDEN * K, last = LINKSET_KEEP * K;

	world_make(&w, 21);
	helper_make(&h, &w, true, 1, 22);
	assert_int_equal(linkset_rank(&h.in, &h.peers[0], all, N_RELAYS), N_RELAYS);
	helper_choose(&h);
	assert_int_equal(h.why[all[edge - 1]], LINKSET_NEXT);
	assert_int_equal(h.why[all[edge]], LINKSET_OUT);
	h.relays[all[edge]].linked = true;
	h.relays[all[last]].linked = true;
	helper_choose(&h);
	assert_int_equal(h.why[all[edge]], LINKSET_KEPT);
	assert_int_equal(h.why[all[edge + 1]], LINKSET_OUT); /* not linked: not taken */
	assert_int_equal(h.why[all[last]], LINKSET_OUT);     /* past 5K: goes */
	h.relays[all[last - 1]].linked = true;
	helper_choose(&h);
	assert_int_equal(h.why[all[last - 1]], LINKSET_KEPT);
	helper_free(&h);
}

/*
 * With fill, the room left goes to the relays nearest to us; the whole set is the same
 * whatever the cache's order.
 */
static void test_fill_order_free(void **state)
{
	(void)state;
	static struct world w;
	static struct helper h1, h2;
	size_t fills = 0;

	world_make(&w, 31);
	helper_make(&h1, &w, true, 1, 32);
	helper_make(&h2, &w, true, 1, 33);
	h1.in.fill = h2.in.fill = true;
	helper_choose(&h1);
	helper_choose(&h2);
	assert_int_equal(h1.chosen, CAP);
	assert_int_equal(h2.chosen, CAP);
	for (size_t i = 0; i < N_RELAYS; i++) {
		assert_int_equal(chose(&h1, i), chose(&h2, i));
		fills += h1.why[i] == LINKSET_FILL;
	}
	assert_int_equal(fills, CAP - LINKSET_WIDEN * K);
	/* Control: the fill is not simply the first relays of the cache. */
	size_t first = 0;
	for (size_t i = 0; i < CAP; i++)
		first += h1.why[i] != LINKSET_OUT;
	assert_true(first < CAP);
	helper_free(&h1);
	helper_free(&h2);
}

/*
 * The discovery round that keeps the link set's descriptors current: ten minutes apart, but
 * a minute before the soonest expiry, never within 30 s of the last round.
 */
static void test_refresh_due(void **state)
{
	(void)state;
	const int64_t t = 1000000, every = t + REFRESH_EVERY_MS;

	assert_int_equal(refresh_due_ms(0, 0, 0), 0); /* the first round: at once */
	assert_int_equal(refresh_due_ms(every, t, 0), every);
	/* An expiry after the regular round changes nothing. */
	assert_int_equal(refresh_due_ms(every, t, every + 3 * REFRESH_EXPIRY_LEAD_MS), every);
	/* One sooner brings the round forward to a minute before it. */
	assert_int_equal(refresh_due_ms(every, t, t + 5 * 60000), t + 4 * 60000);
	/* One too soon: 30 s after the last round, not a round every tick. */
	assert_int_equal(refresh_due_ms(every, t, t + 70000), t + REFRESH_MIN_GAP_MS);
	assert_int_equal(refresh_due_ms(every, t, t - 5000), t + REFRESH_MIN_GAP_MS);
}

static void test_empty_and_names(void **state)
{
	(void)state;
	struct linkset_in in = {.cap = CAP};
	uint8_t why[1];
	size_t n = 7;

	assert_int_equal(linkset_choose(&in, why, &n), 0);
	assert_int_equal(n, 0);
	assert_string_equal(linkset_why_name(LINKSET_TOP), "top");
	assert_string_equal(linkset_why_name(LINKSET_FILL), "fill");
	assert_string_equal(linkset_why_name((enum linkset_why)99), "out");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_same_relays_other_order),
	    cmocka_unit_test(test_whole_reach_when_room),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_in_use_kept),
	    cmocka_unit_test(test_bootstrap_when_room),
	    cmocka_unit_test(test_no_flapping),
	    cmocka_unit_test(test_fill_order_free),
	    cmocka_unit_test(test_refresh_due),
	    cmocka_unit_test(test_empty_and_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
