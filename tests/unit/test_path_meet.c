/*
 * test_path_meet.c: two helpers whose relay tables differ, on one fake clock. Each binds the
 * relays path_prebind_pick chooses from a ranking both share (select.h: shared relays come in
 * the same order on both sides), a relay is paired for the pair when both sides bind it, and
 * path_step decides on each side. Do they meet, how soon, how wide do they bind, and how
 * narrow once paired?
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "path.h"

#define T0     100000
#define K      2
#define GLOBAL 24 /* relays in the world; a side's table has the ones it did not miss */

struct side {
	struct path_peer p;
	size_t n;
	int g[PATH_MAX_RELAYS]; /* global relay of each table entry */
	struct path_relay r[PATH_MAX_RELAYS];
	char names[PATH_MAX_RELAYS][8];
	size_t order[PATH_MAX_RELAYS];
	bool bind[PATH_MAX_RELAYS];
	struct path_view v;
	struct path_out out;
	unsigned widenings, narrowings; /* log lines seen */
	size_t most_bound;
};

struct world {
	struct side s[2];
	int met_at; /* seconds after T0 both were relayed on one relay, -1 not yet */
};

/* A side that misses the relays in miss[0..nmiss); its table lists the others backwards. */
static void side_init(struct side *s, const int *miss, size_t nmiss, unsigned k)
{
	memset(s, 0, sizeof(*s));
	path_init(&s->p);
	for (int g = GLOBAL - 1; g >= 0; g--) {
		bool missed = false;
		for (size_t i = 0; i < nmiss; i++)
			missed |= miss[i] == g;
		if (missed)
			continue;
		size_t i = s->n++;
		s->g[i] = g;
		snprintf(s->names[i], sizeof(s->names[i]), "R%d", g);
		s->r[i].name = s->names[i];
		char a[32];
		snprintf(a, sizeof(a), "203.0.113.%d:51821", g + 1);
		assert_int_equal(addr_parse(&s->r[i].addr, a, 0), 0);
		s->r[i].up = true;
		s->r[i].port = (uint16_t)(40000 + g);
	}
	/* The shared ranking: the global number, as the symmetric score would order them. */
	for (size_t i = 0; i < s->n; i++)
		s->order[i] = s->n - 1 - i;
	s->v.now = T0;
	s->v.threshold = 1;
	s->v.sample = (struct detect_sample){.t = T0};
	assert_int_equal(addr_parse(&s->v.wg_ep, "198.51.100.7:51820", 0), 0);
	s->v.wg_relay = -1;
	s->v.rx_relay = -1;
	s->v.relays = s->r;
	s->v.n_relays = s->n;
	s->v.order = s->order;
	s->v.usable = s->n;
	s->v.preferred = (int)s->order[0];
	s->v.prebind = k;
}

static struct world *W(const int *miss_a, size_t na, const int *miss_b, size_t nb, unsigned k)
{
	static struct world w;
	side_init(&w.s[0], miss_a, na, k);
	side_init(&w.s[1], miss_b, nb, k);
	w.met_at = -1;
	return &w;
}

static bool binds_global(const struct side *s, int g)
{
	for (size_t i = 0; i < s->n; i++)
		if (s->g[i] == g)
			return s->bind[i];
	return false;
}

/* The global relay a side is relayed on, -1 none. */
static int on_relay(const struct side *s)
{
	return s->p.state == PATH_RELAYED && s->p.relay >= 0 ? s->g[s->p.relay] : -1;
}

static size_t bound(const struct side *s)
{
	size_t n = 0;
	for (size_t i = 0; i < s->n; i++)
		n += s->bind[i];
	return n;
}

/*
 * One second. Prebinding first (as the helper's tick does), then the relays as each side's
 * bindings see them, then WireGuard's counters: an initiation every 5 s with nothing back
 * (the direct path is broken both ways) until both sides sit on one relay, then data both ways.
 */
static void tick(struct world *w)
{
	bool met = on_relay(&w->s[0]) >= 0 && on_relay(&w->s[0]) == on_relay(&w->s[1]);

	for (int k = 0; k < 2; k++) {
		struct side *s = &w->s[k];
		bool paired[PATH_MAX_RELAYS];
		for (size_t i = 0; i < s->n; i++)
			paired[i] = s->r[i].ready;
		path_prebind_pick(&s->p, s->v.prebind, s->order, s->n, s->v.usable, NULL, paired,
		                  s->bind);
		if (bound(s) > s->most_bound)
			s->most_bound = bound(s);
	}
	for (int k = 0; k < 2; k++) {
		struct side *s = &w->s[k], *o = &w->s[!k];
		for (size_t i = 0; i < s->n; i++) {
			bool far = binds_global(o, s->g[i]);
			s->r[i].ready = s->bind[i] && far;
			s->r[i].waiting = s->bind[i] && !far;
		}
	}
	for (int k = 0; k < 2; k++) {
		struct side *s = &w->s[k];
		s->v.now++;
		s->v.sample.t = s->v.now;
		if (met) {
			s->v.sample.tx_bytes += 128;
			s->v.sample.rx_bytes += 128;
			s->v.sample.last_handshake = s->v.now;
		} else if (s->v.now % 5 == 1) {
			s->v.sample.tx_bytes += 148;
		}
		path_step(&s->p, &s->v, &s->out);
		for (size_t i = 0; i < s->out.n; i++) {
			const struct path_action *a = &s->out.a[i];
			if (a->type == PATH_A_ENDPOINT) {
				s->v.wg_ep = a->ep;
				s->v.wg_relay = -1;
				for (size_t r = 0; r < s->n; r++)
					if (addr_equal_ip(&a->ep, &s->r[r].addr))
						s->v.wg_relay = (int)r;
			}
			if (a->type == PATH_A_LOG) {
				s->widenings += strstr(s->out.log, "widening to") != NULL;
				s->narrowings += strstr(s->out.log, "back to prebinding") != NULL;
			}
		}
	}
	if (w->met_at < 0 && on_relay(&w->s[0]) >= 0 && on_relay(&w->s[0]) == on_relay(&w->s[1]))
		w->met_at = (int)(w->s[0].v.now - T0);
}

/* Run until both are relayed on one relay, at most max seconds; when they met, -1 never. */
static int run(struct world *w, int max)
{
	for (int i = 0; i < max && w->met_at < 0; i++)
		tick(w);
	return w->met_at;
}

/* Tables agree on the top K: paired from the first second, relayed as soon as direct fails. */
static void test_meet_at_once(void **state)
{
	int miss_a[] = {5, 9}, miss_b[] = {7};
	struct world *w = W(miss_a, 2, miss_b, 1, K);
	(void)state;
	int t = run(w, 60);
	/* WireGuard's first initiation at T0+1, judged failed 2 s after the read that saw it. */
	assert_in_range(t, 1, 5);
	assert_int_equal(on_relay(&w->s[0]), 0);
	assert_int_equal(on_relay(&w->s[1]), 0);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(w->s[k].widenings, 0);
		assert_int_equal(w->s[k].most_bound, K);
	}
}

/* Disjoint top K, shared relays at K+1..2K: they meet after one widening, on the best one. */
static void test_meet_after_widening(void **state)
{
	int miss_a[] = {0, 1}, miss_b[] = {2, 3, 5};
	struct world *w = W(miss_a, 2, miss_b, 3, K);
	(void)state;
	/* A's top 4: 2 3 4 5; B's: 0 1 4 6. Only 4 is both's. */
	int t = run(w, 60);
	assert_true(t >= 4 + PATH_WIDEN_S);     /* not before one W of waiting ... */
	assert_true(t <= 4 + PATH_WIDEN_S + 3); /* ... and right after it */
	assert_int_equal(on_relay(&w->s[0]), 4);
	assert_int_equal(on_relay(&w->s[1]), 4);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(w->s[k].widenings, 1);
		assert_int_equal(w->s[k].most_bound, 2 * K);
		/* Paired: back to K, the relay that paired kept. */
		assert_int_equal(w->s[k].narrowings, 1);
		assert_int_equal(w->s[k].p.widen, 0);
	}
	tick(w);
	/* A: its top 2 (2 3) and 4, in use; 5 (bound by A alone) let go. B: 0 1 and 4; not 6. */
	assert_int_equal(bound(&w->s[0]), K + 1);
	assert_true(binds_global(&w->s[0], 2) && binds_global(&w->s[0], 3) &&
	            binds_global(&w->s[0], 4) && !binds_global(&w->s[0], 5));
	assert_int_equal(bound(&w->s[1]), K + 1);
	assert_true(binds_global(&w->s[1], 4) && !binds_global(&w->s[1], 6));
	/* It stays that way: relayed, narrow, no more widening. */
	for (int i = 0; i < 30; i++)
		tick(w);
	assert_int_equal(on_relay(&w->s[0]), 4);
	assert_int_equal(on_relay(&w->s[1]), 4);
	assert_int_equal(w->s[0].widenings, 1);
	assert_int_equal(bound(&w->s[0]), K + 1);
}

/* The only shared relays sit at 3K+1..4K on both sides: three widenings, W apart. */
static void test_meet_at_4k(void **state)
{
	int miss_a[] = {0, 1, 2, 3, 4, 5}, miss_b[] = {6, 7, 8, 9, 10, 11};
	struct world *w = W(miss_a, 6, miss_b, 6, K);
	(void)state;
	/* A's top 8: 6..13; B's: 0..5 12 13. */
	int t = run(w, 120);
	assert_true(t >= 4 + 3 * PATH_WIDEN_S);
	assert_true(t <= 4 + 3 * PATH_WIDEN_S + 3);
	assert_int_equal(on_relay(&w->s[0]), 12);
	assert_int_equal(on_relay(&w->s[1]), 12);
	for (int k = 0; k < 2; k++) {
		assert_int_equal(w->s[k].widenings, PATH_WIDEN_MAX - 1);
		assert_int_equal(w->s[k].most_bound, PATH_WIDEN_MAX * K);
	}
	tick(w);
	/* Narrow again: top K, the relay in use, and 13 (paired too, a ready fail-over). */
	assert_int_equal(w->s[0].p.widen, 0);
	assert_int_equal(bound(&w->s[0]), K + 2);
	assert_true(binds_global(&w->s[0], 12) && binds_global(&w->s[0], 13) &&
	            !binds_global(&w->s[0], 8));
}

/* Nothing shared within 4K: bound, stays direct-failed, and says why. */
static void test_no_meeting(void **state)
{
	int miss_a[] = {0, 1, 2, 3, 4, 5, 6, 7}, miss_b[] = {8, 9, 10, 11, 12, 13, 14, 15};
	struct world *w = W(miss_a, 8, miss_b, 8, K);
	(void)state;
	/* Both have 16..23, but below their top 8: past what widening reaches. */
	assert_int_equal(run(w, 300), -1);
	for (int k = 0; k < 2; k++) {
		struct side *s = &w->s[k];
		assert_int_equal(s->p.state, PATH_DIRECT);
		assert_int_equal(s->widenings, PATH_WIDEN_MAX - 1);
		assert_int_equal(s->most_bound, PATH_WIDEN_MAX * K);
		assert_int_equal(bound(s), PATH_WIDEN_MAX * K);
		assert_non_null(
		    strstr(s->p.why, "waiting for the peer on 8 relays (the most it binds)"));
	}
}

/* The log line says what widened, from how many to how many, after how long. */
static void test_widening_log(void **state)
{
	int miss_a[] = {0, 1}, miss_b[] = {2, 3};
	struct world *w = W(miss_a, 2, miss_b, 2, K);
	char want[96];
	(void)state;
	snprintf(want, sizeof(want),
	         "no pairing on the top 2 relays after %d s, widening to the top 4", PATH_WIDEN_S);
	for (int i = 0; i < 60 && !w->s[0].widenings; i++)
		tick(w);
	assert_non_null(strstr(w->s[0].out.log, want));
	/* The widened pair pairs on relay 4 within the second. */
	run(w, 5);
	assert_int_equal(on_relay(&w->s[0]), 4);
}

/* A widened peer whose direct path answers again needs no relay: back to K at once. */
static void test_narrow_when_direct_works(void **state)
{
	int miss_a[] = {0, 1, 2, 3, 4, 5, 6, 7}, miss_b[] = {8, 9, 10, 11, 12, 13, 14, 15};
	struct world *w = W(miss_a, 8, miss_b, 8, K);
	struct side *a = &w->s[0];
	(void)state;
	run(w, 20);
	assert_int_equal(a->p.widen, 2);
	a->v.now++;
	a->v.sample.t = a->v.now;
	a->v.sample.rx_bytes += 92;
	a->v.sample.last_handshake = a->v.now;
	path_step(&a->p, &a->v, &a->out);
	assert_int_equal(a->p.widen, 0);
	assert_false(a->p.keep_paired);
	assert_non_null(
	    strstr(a->out.log, "needs no relay any more: back to prebinding the top 2"));
	bool paired[PATH_MAX_RELAYS] = {0};
	assert_int_equal(path_prebind_pick(&a->p, K, a->order, a->n, a->n, NULL, paired, a->bind),
	                 K);
}

/* The rule itself: skipped relays, the relay in use, the cap, paired ones while needed. */
static void test_prebind_pick(void **state)
{
	struct path_peer p;
	size_t order[PATH_MAX_RELAYS];
	bool skip[PATH_MAX_RELAYS] = {0}, paired[PATH_MAX_RELAYS] = {0}, bind[PATH_MAX_RELAYS];
	(void)state;
	path_init(&p);
	for (size_t i = 0; i < PATH_MAX_RELAYS; i++)
		order[i] = PATH_MAX_RELAYS - 1 - i;
	/* K = 2 over a ranking 31 30 29 ...; 30 refused us: the next one takes its place. */
	skip[30] = true;
	assert_int_equal(path_prebind_pick(&p, 2, order, PATH_MAX_RELAYS, 25, skip, paired, bind),
	                 2);
	assert_true(bind[31] && bind[29] && !bind[30]);
	/* Relayed on 5 (out of the top): kept. Paired 10 is kept only while needed. */
	p.state = PATH_RELAYED;
	p.relay = 5;
	paired[10] = true;
	assert_int_equal(path_prebind_pick(&p, 2, order, PATH_MAX_RELAYS, 25, skip, paired, bind),
	                 3);
	assert_true(bind[5] && !bind[10]);
	p.keep_paired = true;
	assert_int_equal(path_prebind_pick(&p, 2, order, PATH_MAX_RELAYS, 25, skip, paired, bind),
	                 4);
	assert_true(bind[10]);
	/* Unusable relays (past usable) are neither top nor kept. */
	assert_int_equal(path_prebind_pick(&p, 2, order, PATH_MAX_RELAYS, 2, skip, paired, bind),
	                 2);
	assert_true(bind[31] && bind[5] && !bind[29] && !bind[10]);
	/* Widened all the way: 4K, never more than the table (PATH_MAX_RELAYS links). */
	path_init(&p);
	p.widen = PATH_WIDEN_MAX - 1;
	assert_int_equal(path_prebind_count(&p, 2), PATH_WIDEN_MAX * 2);
	assert_int_equal(path_prebind_count(&p, 8), PATH_MAX_RELAYS);
	assert_int_equal(path_prebind_count(&p, 9), PATH_MAX_RELAYS);
	memset(skip, 0, sizeof(skip));
	assert_int_equal(
	    path_prebind_pick(&p, 9, order, PATH_MAX_RELAYS, PATH_MAX_RELAYS, skip, NULL, bind),
	    PATH_MAX_RELAYS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_meet_at_once), cmocka_unit_test(test_meet_after_widening),
	    cmocka_unit_test(test_meet_at_4k),   cmocka_unit_test(test_no_meeting),
	    cmocka_unit_test(test_widening_log), cmocka_unit_test(test_narrow_when_direct_works),
	    cmocka_unit_test(test_prebind_pick),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
