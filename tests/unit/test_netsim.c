/* Unit tests: sim/netsim (the relay network simulator's engine, world and scenario parts). */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "dcache.h"
#include "descriptor.h"
#include "event.h"
#include "hmap.h"
#include "meet.h"
#include "rng.h"
#include "world.h"

static void test_event_order(void **state)
{
	struct event_queue *q;
	struct event e;
	/* Times out of order, two at the same time: they come back by time, then as pushed. */
	uint64_t at[] = {50, 10, 30, 10, 40, 20};
	uint32_t want_aux[] = {1, 3, 5, 2, 4, 0};

	(void)state;
	assert_int_equal(event_queue_new(&q, 6), 0);
	for (uint32_t i = 0; i < 6; i++)
		assert_int_equal(event_push(q, &(struct event){.at = at[i], .aux = i}), 0);
	/* Bounded: the seventh is refused and counted. */
	assert_int_equal(event_push(q, &(struct event){.at = 1}), -ENOSPC);
	assert_int_equal(event_refused(q), 1);
	for (int i = 0; i < 6; i++) {
		assert_int_equal(event_pop(q, &e), 0);
		assert_int_equal(e.aux, want_aux[i]);
		assert_int_equal(event_now(q), e.at);
	}
	assert_int_equal(event_pop(q, &e), -ENOENT);
	/* An event scheduled in the past runs now, not before the clock. */
	assert_int_equal(event_push(q, &(struct event){.at = 5}), 0);
	assert_int_equal(event_pop(q, &e), 0);
	assert_int_equal(e.at, 50);
	event_queue_free(q);
}

static void test_event_many(void **state)
{
	struct event_queue *q;
	struct event e;
	struct rng r;
	uint64_t last = 0;

	(void)state;
	rng_seed(&r, 7, 1);
	assert_int_equal(event_queue_new(&q, 100000), 0);
	for (int i = 0; i < 100000; i++)
		assert_int_equal(event_push(q, &(struct event){.at = rng_below(&r, 1000000)}), 0);
	for (int i = 0; i < 100000; i++) {
		assert_int_equal(event_pop(q, &e), 0);
		assert_true(e.at >= last);
		last = e.at;
	}
	assert_int_equal(event_peak(q), 100000);
	event_queue_free(q);
}

/*
 * Pushes while popping, as a simulation does: near (same millisecond, the next ones), across the
 * calendar's length and far ahead. Every pop must be the pending event with the least (at, push
 * number), checked against a plain scan; the peeks must name what the pops then give.
 */
static void test_event_exact_order(void **state)
{
	enum { N = 3000 };
	static uint64_t at[N];
	static bool done[N];
	struct event_queue *q;
	struct event e;
	struct rng r;
	size_t pushed = 0, popped = 0;

	(void)state;
	memset(done, 0, sizeof(done));
	rng_seed(&r, 11, 2);
	assert_int_equal(event_queue_new(&q, N), 0);
	while (popped < N) {
		/* Push 0..3 events (while any are left), then pop one. */
		for (uint64_t k = rng_below(&r, 4); k > 0 && pushed < N; k--) {
			uint64_t now = event_now(q), d;
			switch (rng_below(&r, 5)) {
			case 0:
				d = 0;
				break; /* this millisecond */
			case 1:
				d = rng_below(&r, 3);
				break; /* the next few */
			case 2:
				d = rng_below(&r, 70000);
				break; /* about one calendar */
			case 3:
				d = 60000 + rng_below(&r, 20000);
				break; /* around its end */
			default:
				d = rng_below(&r, 10u * 3600 * 1000);
				break; /* hours ahead */
			}
			at[pushed] = now + d;
			assert_int_equal(event_push(q, &(struct event){.at = at[pushed],
			                                               .aux = (uint32_t)pushed}),
			                 0);
			pushed++;
		}
		if (event_count(q) == 0)
			continue;
		size_t want = N;
		for (size_t i = 0; i < pushed; i++)
			if (!done[i] && (want == N || at[i] < at[want]))
				want = i;
		const struct event *peek[3];
		size_t np = event_peek_n(q, peek, 3);
		assert_true(np >= 1);
		assert_int_equal(peek[0]->aux, want);
		assert_ptr_equal(event_peek(q), peek[0]);
		uint32_t second = np >= 2 ? peek[1]->aux : UINT32_MAX;
		assert_int_equal(event_pop(q, &e), 0);
		assert_int_equal(e.aux, want);
		assert_int_equal(e.at, at[want]);
		assert_int_equal(event_now(q), at[want]);
		done[want] = true;
		popped++;
		/* The second peeked is the next popped unless a push comes first: check it now. */
		if (second != UINT32_MAX) {
			const struct event *p0 = event_peek(q);
			assert_non_null(p0);
			assert_int_equal(p0->aux, second);
		}
	}
	assert_int_equal(event_pop(q, &e), -ENOENT);
	assert_null(event_peek(q));
	event_queue_free(q);
}

/*
 * Keyed pushes: the same events pushed in different orders pop in the one (at, seq) order, and
 * the peeks agree with the pops. Set A is pushed first and popped into its milliseconds; then
 * set B is pushed (some of it at the current millisecond, some through the heap) and
 * everything popped.
 */
static void keyed_pop(struct event_queue *q, uint64_t *order, size_t *got, struct event *e)
{
	const struct event *peek[4];
	size_t np = event_peek_n(q, peek, 4);

	assert_true(np >= 1);
	uint32_t first = peek[0]->aux;
	uint64_t at = peek[0]->at, seq = peek[0]->seq;
	assert_int_equal(event_pop(q, e), 0);
	assert_int_equal(e->aux, first);
	assert_int_equal(e->at, at);
	assert_int_equal(e->seq, seq);
	order[(*got)++] = e->aux;
}

static void keyed_run(uint64_t shuffle, uint64_t *order, size_t n)
{
	struct event_queue *q;
	struct event e, last = {0};
	struct rng r, pick;
	uint64_t at[600], seq[600];
	size_t idx[600], got = 0;

	assert_true(n <= 600);
	rng_seed(&r, 11, 2); /* the events: the same for every shuffle */
	for (size_t i = 0; i < n; i++) {
		/* Few milliseconds, many events each; some an hour and more ahead (the heap). */
		at[i] = i % 7 == 0 ? 5000000 + rng_below(&r, 3) : 100 + rng_below(&r, 20);
		seq[i] = (rng_below(&r, 1u << 20) << 12) | i; /* unique, in no order */
		idx[i] = i;
	}
	rng_seed(&pick, 13, shuffle);
	for (size_t i = n; i > 1; i--) {
		size_t j = (size_t)rng_below(&pick, i), t = idx[i - 1];
		idx[i - 1] = idx[j];
		idx[j] = t;
	}
	assert_int_equal(event_queue_new(&q, n), 0);
	for (size_t k = 0; k < n; k++)
		if (idx[k] % 3)
			assert_int_equal(
			    event_push_keyed(q, &(struct event){.at = at[idx[k]],
			                                        .seq = seq[idx[k]],
			                                        .aux = (uint32_t)idx[k]}),
			    0);
	while (event_now(q) < 110) {
		keyed_pop(q, order, &got, &e);
		assert_true(!got || e.at > last.at || (e.at == last.at && e.seq > last.seq));
		last = e;
	}
	/* B: due now or later (an earlier time runs now), some of it at this millisecond. */
	for (size_t k = 0; k < n; k++)
		if (idx[k] % 3 == 0)
			assert_int_equal(
			    event_push_keyed(q, &(struct event){.at = at[idx[k]],
			                                        .seq = seq[idx[k]],
			                                        .aux = (uint32_t)idx[k]}),
			    0);
	last = (struct event){0};
	size_t phase2 = got;
	while (got < n) {
		keyed_pop(q, order, &got, &e);
		assert_true(got == phase2 + 1 || e.at > last.at ||
		            (e.at == last.at && e.seq > last.seq));
		last = e;
	}
	assert_int_equal(event_pop(q, &e), -ENOENT);
	event_queue_free(q);
}

static void test_event_keyed(void **state)
{
	enum { N = 600 };
	uint64_t a[N], b[N], c[N];

	(void)state;
	keyed_run(1, a, N);
	keyed_run(2, b, N);
	keyed_run(3, c, N);
	assert_memory_equal(a, b, sizeof(a));
	assert_memory_equal(a, c, sizeof(a));
}

static void test_rng_streams(void **state)
{
	struct rng a, b, c;
	int same = 0;

	(void)state;
	rng_seed(&a, 42, 1);
	rng_seed(&b, 42, 1);
	rng_seed(&c, 42, 2);
	for (int i = 0; i < 1000; i++) {
		uint64_t x = rng_u64(&a);
		assert_true(x == rng_u64(&b));
		same += x == rng_u64(&c);
	}
	assert_int_equal(same, 0);
	for (int i = 0; i < 1000; i++) {
		assert_true(rng_below(&a, 7) < 7);
		double u = rng_unit(&a);
		assert_true(u >= 0 && u < 1);
	}
}

static void test_world(void **state)
{
	struct world w;
	struct world_params p = {.loss = 0.05, .access_ms = 5, .jitter_frac = 0.1, .seed = 3};
	uint64_t d;
	int lost = 0, near = -1, far = -1;

	(void)state;
	assert_int_equal(world_init(&w, &p, 200), 0);
	for (int i = 0; i < 200; i++)
		assert_true(world_add(&w) >= 0);
	assert_int_equal(world_add(&w), -ENOSPC);
	/* The nearest and farthest node from node 0: delay follows distance. */
	double dmin = 1e9, dmax = -1;
	for (int i = 1; i < 200; i++) {
		double km = world_km(&w.nodes[0].at, &w.nodes[i].at);
		if (km < dmin)
			dmin = km, near = i;
		if (km > dmax)
			dmax = km, far = i;
	}
	assert_true(dmax > 3000);
	assert_true(world_base_delay_ms(&w, &w.nodes[0].at, &w.nodes[far].at) >
	            world_base_delay_ms(&w, &w.nodes[0].at, &w.nodes[near].at) + 10);
	/* 5 % loss: about 500 of 10,000 (a wide band: the draw is random but seeded). */
	for (int i = 0; i < 10000; i++)
		lost += !world_send(&w, 0, (uint32_t)near, 100, &d);
	assert_true(lost > 350 && lost < 650);
	assert_true(w.nodes[0].tx_bytes ==
	            10000ull * (100 + WORLD_FRAME_OVERHEAD + WORLD_IPUDP_OVERHEAD));
	/* A cut region: nothing crosses it, traffic inside it still flows. */
	int in = -1, out = -1, in2 = -1;
	for (int i = 0; i < 200; i++) {
		if (w.nodes[i].at.region == WORLD_R_EUROPE)
			(in < 0 ? (in = i) : (in2 = i));
		else
			out = i;
	}
	assert_true(in >= 0 && in2 >= 0 && out >= 0);
	w.cut_region = WORLD_R_EUROPE;
	assert_false(world_connected(&w, (uint32_t)in, (uint32_t)out));
	assert_true(world_connected(&w, (uint32_t)in, (uint32_t)in2));
	w.cut_region = -1;
	assert_true(world_connected(&w, (uint32_t)in, (uint32_t)out));
	w.nodes[out].up = false;
	assert_false(world_send(&w, (uint32_t)in, (uint32_t)out, 10, &d));
	world_free(&w);
}

static void test_hmap(void **state)
{
	struct hmap m;

	(void)state;
	hmap_init(&m);
	assert_int_equal(hmap_get(&m, 5), -1);
	for (uint32_t i = 0; i < 5000; i++)
		assert_int_equal(hmap_put(&m, (uint64_t)i * 7919, i), 0);
	for (uint32_t i = 0; i < 5000; i++)
		assert_int_equal(hmap_get(&m, (uint64_t)i * 7919), i);
	assert_int_equal(hmap_get(&m, 1), -1);
	assert_int_equal(hmap_put(&m, 0, 9), 0);
	assert_int_equal(hmap_get(&m, 0), 9);
	hmap_free(&m);
}

static int make_desc(uint8_t *out, size_t cap)
{
	uint8_t pk[32], sk[64];
	struct descriptor d;

	crypto_sign_keypair(pk, sk);
	memset(&d, 0, sizeof(d));
	memcpy(d.identity, pk, 32);
	memset(d.noise, 7, 32);
	d.seq = 3;
	d.issued_at = 1767225600;
	d.expires_at = d.issued_at + 3600;
	d.modes = DESC_MODE_DIRECT;
	d.n_endpoints = 1;
	d.endpoints[0].transport = DESC_T_UDP;
	d.endpoints[0].addr.in.sin_family = AF_INET;
	d.endpoints[0].addr.in.sin_addr.s_addr = htonl(0x2d000001);
	d.endpoints[0].addr.in.sin_port = htons(51821);
	d.endpoints[0].addr.len = sizeof(struct sockaddr_in);
	return desc_sign(&d, sk, out, cap);
}

static void test_dcache(void **state)
{
	struct dcache c;
	struct dstore_desc *a, *b;
	uint8_t buf[DESC_MAX_LEN];
	int why;

	(void)state;
	assert_true(sodium_init() >= 0);
	int len = make_desc(buf, sizeof(buf));
	assert_true(len > 0);
	dcache_init(&c, 16);
	assert_int_equal(dcache_decode(&c, buf, (size_t)len, &a, &why), 0);
	assert_int_equal(dcache_decode(&c, buf, (size_t)len, &b, &why), 0);
	/* Verified once, then the same copy shared. */
	assert_ptr_equal(a, b);
	assert_int_equal(c.st.verified, 1);
	assert_int_equal(c.st.hits, 1);
	assert_int_equal(a->d.seq, 3);
	dstore_desc_unref(a);
	dstore_desc_unref(b);
	/* A changed byte (in seq) is a different descriptor, checked for real: the signature fails. */
	buf[4 + 1 + 1 + 32 + 32 + 7] ^= 1;
	assert_int_equal(dcache_decode(&c, buf, (size_t)len, &a, &why), -EBADMSG);
	assert_int_equal(why, DESC_E_SIG);
	assert_null(c.last);
	dcache_free(&c);
}

static void test_meet(void **state)
{
	struct meet_params p = {.relays = 120, .pairs = 300, .drop = 0.0, .seed = 5};
	struct meet_result r;

	(void)state;
	assert_true(sodium_init() >= 0);
	/* Both sides see every relay: they always meet on their first choice. */
	assert_int_equal(meet_run(&p, &r), 0);
	assert_int_equal(r.met[1], p.pairs);
	assert_int_equal(r.score_mismatch, 0);
	assert_int_equal(r.disagree[1], 0);
	/* And the relay met is the one ranked best for the pair: stretch = the ideal one. */
	assert_true(fabs(stats_quantile(&r.stretch[1], 0.5) - stats_quantile(&r.ideal, 0.5)) <
	            1e-9);
	meet_result_free(&r);
	/* Half the relays unseen on each side: K=1 misses often, K=4 far less. */
	p.drop = 0.5;
	assert_int_equal(meet_run(&p, &r), 0);
	assert_true(r.met[1] < p.pairs * 6 / 10);
	assert_true(r.met[4] > r.met[1]);
	for (int k = 1; k <= MEET_KMAX; k++)
		assert_int_equal(r.disagree[k], 0);
	assert_int_equal(r.score_mismatch, 0);
	meet_result_free(&r);
}

static void test_meet_deterministic(void **state)
{
	struct meet_params p = {.relays = 100, .pairs = 200, .drop = 0.1, .seed = 9};
	struct meet_result a, b;

	(void)state;
	assert_int_equal(meet_run(&p, &a), 0);
	assert_int_equal(meet_run(&p, &b), 0);
	for (int k = 1; k <= MEET_KMAX; k++)
		assert_int_equal(a.met[k], b.met[k]);
	assert_true(stats_quantile(&a.stretch[2], 0.9) == stats_quantile(&b.stretch[2], 0.9));
	meet_result_free(&a);
	meet_result_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_event_order),
	    cmocka_unit_test(test_event_many),
	    cmocka_unit_test(test_event_exact_order),
	    cmocka_unit_test(test_event_keyed),
	    cmocka_unit_test(test_rng_streams),
	    cmocka_unit_test(test_world),
	    cmocka_unit_test(test_hmap),
	    cmocka_unit_test(test_dcache),
	    cmocka_unit_test(test_meet),
	    cmocka_unit_test(test_meet_deterministic),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
