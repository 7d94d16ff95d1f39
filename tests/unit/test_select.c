/* test_select.c: relay ranking: order, symmetry between the two peers, hysteresis. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "select.h"

static const struct select_point berlin = {true, 52.52, 13.40};
static const struct select_point paris = {true, 48.86, 2.35};
static const struct select_point newyork = {true, 40.71, -74.00};
static const struct select_point tokyo = {true, 35.68, 139.69};
static const struct select_point frankfurt = {true, 50.11, 8.68};
static const struct select_point prague = {true, 50.08, 14.44};
static const struct select_point unknown = {false, 0, 0};

static void cand(struct select_cand *c, uint8_t id, struct select_point loc, int load)
{
	memset(c, 0, sizeof(*c));
	memset(c->pubkey, id, 32);
	memset(c->sid, id ^ 0x5a, 16);
	c->loc = loc;
	c->load_permille = load;
	c->reachable = true;
}

static void test_order_geo(void **state)
{
	(void)state;
	struct select_cand c[4];
	size_t o[4];
	cand(&c[0], 1, tokyo, 0);
	cand(&c[1], 2, frankfurt, 0);
	cand(&c[2], 3, newyork, 0);
	cand(&c[3], 4, unknown, 0);
	select_rank(berlin, paris, c, 4, o);
	assert_int_equal(o[0], 1); /* Frankfurt lies between Berlin and Paris */
	assert_int_equal(o[1], 2);
	assert_int_equal(o[2], 0);
	assert_int_equal(o[3], 3); /* unknown location: after every located relay */
	assert_true(c[1].score < c[2].score);
}

static void test_load_and_filters(void **state)
{
	(void)state;
	struct select_cand c[3];
	size_t o[3];
	cand(&c[0], 1, frankfurt, 900);
	cand(&c[1], 2, frankfurt, 100);
	cand(&c[2], 3, frankfurt, 0);
	c[2].full = true;
	select_rank(berlin, paris, c, 3, o);
	assert_int_equal(o[0], 1); /* less loaded first */
	assert_int_equal(o[1], 0);
	assert_int_equal(o[2], 2); /* full: unusable, last */
	assert_false(c[2].usable);
	/* Local-only facts filter: unreachable and repeatedly failing relays go last. */
	c[2].full = false;
	c[1].reachable = false;
	c[0].local_failures = SELECT_MAX_LOCAL_FAIL;
	select_rank(berlin, paris, c, 3, o);
	assert_int_equal(o[0], 2);
	assert_false(c[1].usable);
	assert_false(c[0].usable);
	assert_int_equal(select_choose(c, o, 3, 3), 2);
	c[2].reachable = false;
	select_rank(berlin, paris, c, 3, o);
	assert_int_equal(select_choose(c, o, 3, 3), 3); /* none usable */
}

/* The same inputs from A's and from B's side, in any input order, give the same order. */
static void test_symmetry(void **state)
{
	(void)state;
	const struct select_point locs[] = {berlin, paris, newyork, tokyo, frankfurt, unknown};
	const struct select_point ends[][2] = {
	    {berlin, paris}, {newyork, tokyo}, {paris, unknown}, {tokyo, frankfurt}};
	for (size_t e = 0; e < 4; e++) {
		struct select_cand a[6], b[6];
		size_t oa[6], ob[6];
		for (size_t i = 0; i < 6; i++) {
			/* Equal loads everywhere: ties must be broken the same way too. */
			cand(&a[i], (uint8_t)(i + 1), locs[i], 500);
			b[5 - i] = a[i]; /* B lists the relays in another order */
		}
		select_rank(ends[e][0], ends[e][1], a, 6, oa);
		select_rank(ends[e][1], ends[e][0], b, 6, ob);
		for (size_t i = 0; i < 6; i++)
			assert_memory_equal(a[oa[i]].pubkey, b[ob[i]].pubkey, 32);
	}
	/* Exact ties (no geometry, same load): decided by the per-pair hash, not input order. */
	struct select_cand t[3], u[3];
	size_t ot[3], ou[3];
	for (size_t i = 0; i < 3; i++) {
		cand(&t[i], (uint8_t)(10 + i), unknown, -1);
		u[2 - i] = t[i];
	}
	select_rank(unknown, unknown, t, 3, ot);
	select_rank(unknown, unknown, u, 3, ou);
	for (size_t i = 0; i < 3; i++)
		assert_memory_equal(t[ot[i]].pubkey, u[ou[i]].pubkey, 32);
	/* Another pair (other sids) may order the same relays differently: load spreads. */
	assert_true(t[ot[0]].tiebreak <= t[ot[1]].tiebreak);
}

static void test_distance_symmetric(void **state)
{
	(void)state;
	const struct select_point p[] = {berlin, paris, newyork, tokyo, frankfurt};
	for (size_t i = 0; i < 5; i++)
		for (size_t j = 0; j < 5; j++) {
			double x = select_distance_km(p[i], p[j]),
			       y = select_distance_km(p[j], p[i]);
			assert_memory_equal(&x, &y, sizeof(x)); /* bit-identical */
		}
	double d = select_distance_km(berlin, paris);
	assert_true(d > 850 && d < 900); /* ~878 km */
}

static void test_hysteresis(void **state)
{
	(void)state;
	struct select_cand c[2];
	size_t o[2];
	cand(&c[0], 1, frankfurt, 0);
	cand(&c[1], 2, frankfurt, 600); /* busy: one load point worse */
	select_rank(berlin, paris, c, 2, o);
	assert_int_equal(o[0], 0);
	/* In use and only slightly worse: stay. */
	assert_int_equal(select_choose(c, o, 2, 1), 1);
	/* Much worse (over SELECT_HYSTERESIS): move. */
	c[1].load_permille = 999;
	c[1].loc = newyork;
	select_rank(berlin, paris, c, 2, o);
	assert_int_equal(select_choose(c, o, 2, 1), 0);
	/* No current relay: take the best. */
	assert_int_equal(select_choose(c, o, 2, 2), 0);
	/* Current relay became unusable: move even if its score is good. */
	cand(&c[1], 2, frankfurt, 0);
	c[1].reachable = false;
	select_rank(berlin, paris, c, 2, o);
	assert_int_equal(select_choose(c, o, 2, 1), 0);
}

/*
 * Advertised load is a claim: a relay saying 0 does not beat an otherwise equal relay, nor a
 * nearer one, by saying so; only a relay saying it is busy is moved down, by its own word.
 */
static void test_load_claim(void **state)
{
	(void)state;
	struct select_cand c[2];
	size_t o[2];

	assert_int_equal(select_load_penalty(-1), 0);
	assert_int_equal(select_load_penalty(0), 0);
	assert_int_equal(select_load_penalty(SELECT_LOAD_BUSY - 1), 0);
	assert_int_equal(select_load_penalty(SELECT_LOAD_BUSY), 1);
	assert_int_equal(select_load_penalty(999), 2);
	assert_int_equal(select_load_penalty(1000), 3);
	assert_int_equal(select_load_penalty(60000), 3);
	/*
	 * Same place, honest at 300 (or unknown), the other claiming 0: for many pairs (sids),
	 * the order is the one the per-pair hash gives, as if both had said the same; the claim
	 * wins no pair the hash did not give it already.
	 */
	const int honest[] = {300, 499, -1};
	size_t claim_first = 0;
	for (int pair = 0; pair < 64; pair++)
		for (size_t h = 0; h < 3; h++) {
			size_t want;
			cand(&c[0], 1, frankfurt, honest[h]);
			cand(&c[1], 2, frankfurt, honest[h]);
			memset(c[0].sid, pair, 16);
			memset(c[1].sid, pair, 16);
			select_rank(berlin, paris, c, 2, o);
			want = o[0];
			c[1].load_permille = 0; /* the claim */
			select_rank(berlin, paris, c, 2, o);
			assert_int_equal(o[0], want);
			assert_int_equal(c[0].score, c[1].score);
			claim_first += o[0] == 1;
		}
	assert_true(claim_first > 0 && claim_first < 3 * 64); /* the hash spreads pairs */
	/*
	 * Nearer (Frankfurt: 0 geo buckets) and busy (600) vs one bucket farther (Prague,
	 * Berlin-Prague-Paris ~1170 km) claiming 0: the nearer wins every pair.
	 */
	for (int pair = 0; pair < 16; pair++) {
		cand(&c[0], 1, frankfurt, 600);
		cand(&c[1], 2, prague, 0);
		memset(c[0].sid, pair, 16);
		memset(c[1].sid, pair, 16);
		select_rank(berlin, paris, c, 2, o);
		assert_true(c[0].score < c[1].score);
		assert_int_equal(o[0], 0);
	}
	/* Saying "busy" is believed: it moves the relay down among equals. */
	cand(&c[0], 1, frankfurt, 900);
	cand(&c[1], 2, frankfurt, 450);
	select_rank(berlin, paris, c, 2, o);
	assert_int_equal(o[0], 1);
}

static void test_missing_geoip(void **state)
{
	(void)state;
	/* No location for a peer: geometry is ignored, load decides. */
	struct select_cand c[2];
	size_t o[2];
	cand(&c[0], 1, frankfurt, 800);
	cand(&c[1], 2, tokyo, 0);
	select_rank(unknown, paris, c, 2, o);
	assert_int_equal(o[0], 1);
	select_rank(berlin, paris, c, 2, o);
	assert_int_equal(o[0], 0);
}

/*
 * Many relays (as a network gives): the ranking is the stable sort by (usable, score,
 * tiebreak, key), equal ones in input order, the same relays first from any input order.
 */
static void test_many(void **state)
{
	enum { N = 600 };
	static struct select_cand c[N], r[N];
	size_t o[N], ro[N];
	const struct select_point places[] = {berlin, paris, newyork, tokyo, frankfurt, prague};

	(void)state;
	for (size_t i = 0; i < N; i++) {
		cand(&c[i], (uint8_t)(i % 200), places[i % 6], (int)(i * 37 % 1000));
		c[i].pubkey[1] = (uint8_t)(i / 200 % 2); /* 400..599 reuse the keys of 0..199 */
		c[i].reachable = i % 7 != 0;
	}
	select_rank(berlin, paris, c, N, o);
	for (size_t k = 1; k < N; k++) {
		const struct select_cand *x = &c[o[k - 1]], *y = &c[o[k]];
		int cmp = x->usable != y->usable       ? (x->usable ? -1 : 1)
		          : x->score != y->score       ? (x->score < y->score ? -1 : 1)
		          : x->tiebreak != y->tiebreak ? (x->tiebreak < y->tiebreak ? -1 : 1)
		                                       : memcmp(x->pubkey, y->pubkey, 32);

		assert_true(cmp < 0 || (cmp == 0 && o[k - 1] < o[k]));
	}
	/* Reversed input: the same relays in the same order. */
	for (size_t i = 0; i < N; i++)
		r[i] = c[N - 1 - i];
	select_rank(berlin, paris, r, N, ro);
	for (size_t k = 0; k < N; k++) {
		assert_memory_equal(r[ro[k]].pubkey, c[o[k]].pubkey, 32);
		assert_int_equal(r[ro[k]].score, c[o[k]].score);
	}
	assert_false(c[o[0]].score == c[o[N - 1]].score); /* control: not all alike */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_order_geo),  cmocka_unit_test(test_load_and_filters),
	    cmocka_unit_test(test_symmetry),   cmocka_unit_test(test_distance_symmetric),
	    cmocka_unit_test(test_hysteresis), cmocka_unit_test(test_missing_geoip),
	    cmocka_unit_test(test_load_claim), cmocka_unit_test(test_many),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
