/* test_detect.c: the failed-window detector on recorded counter sequences. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "detect.h"

/* Per-second readings (t, tx, rx, last handshake), as `watch` records them. */

/* Judge every 5 s like the daemon; returns the state after the last window. */
static struct detect_peer run(const struct detect_sample *s, size_t n,
                              enum detect_verdict *verdicts, size_t *nv)
{
	struct detect_peer p = {0};
	size_t start = 0, k = 0;
	for (size_t i = 1; i < n; i++) {
		if (s[i].t - s[start].t < DETECT_WINDOW_S)
			continue;
		enum detect_verdict v = detect_window(&s[start], &s[i]);
		detect_feed(&p, v, &s[start], &s[i]);
		if (verdicts)
			verdicts[k] = v;
		k++;
		start = i;
	}
	if (nv)
		*nv = k;
	return p;
}

/* Feed per-second samples s[0..n) into p (s[0] is the first reading, fed as the baseline). */
static void seconds(struct detect_peer *p, const struct detect_sample *s, size_t n)
{
	for (size_t i = 1; i < n; i++)
		detect_second(p, &s[i - 1], &s[i]);
}

/* Blocked UDP: WireGuard sends an initiation every 5 s, nothing comes back. */
static void test_failing(void **state)
{
	(void)state;
	struct detect_sample s[16];
	for (int i = 0; i < 16; i++)
		s[i] = (struct detect_sample){.t = 1000 + i,
		                              .tx_bytes = 148ull * (uint64_t)((i + 4) / 5),
		                              .rx_bytes = 0,
		                              .last_handshake = 0};
	enum detect_verdict v[4];
	size_t nv;
	struct detect_peer p = run(s, 16, v, &nv);
	assert_int_equal(nv, 3);
	for (size_t i = 0; i < nv; i++)
		assert_int_equal(v[i], DETECT_FAILED);
	assert_int_equal(p.consecutive_failed, 3);

	/* Per second: the first attempt (seen at t 1001) counts 2 s later, the second (1006) too. */
	struct detect_rules r = {.attempts = 1};
	char why[200];
	struct detect_peer q = {0};
	seconds(&q, s, 3); /* up to t 1002 */
	assert_false(detect_should_try_relay(&q, &r, NULL, "x", 1002, why, sizeof(why)));
	seconds(&q, s + 2, 2); /* t 1003 */
	assert_true(
	    detect_should_try_relay(&q, &r, NULL, "198.51.100.7:51820", 1003, why, sizeof(why)));
	assert_non_null(strstr(why, "1 handshake attempts unanswered on 198.51.100.7:51820"));
	r.attempts = 2;
	assert_false(detect_should_try_relay(&q, &r, NULL, "x", 1004, why, sizeof(why)));
	seconds(&q, s + 3, 5); /* t 1007: the second attempt is 1 s old */
	assert_false(detect_should_try_relay(&q, &r, NULL, "x", 1007, why, sizeof(why)));
	seconds(&q, s + 7, 2); /* t 1008 */
	assert_true(detect_should_try_relay(&q, &r, NULL, "x", 1008, why, sizeof(why)));
	/* 0 leaves only the slow rule from the cache, which fires on its own. */
	r.attempts = 0;
	assert_false(detect_should_try_relay(&q, &r, NULL, "x", 1009, why, sizeof(why)));
	struct detect_history h = {.cache_rule = true, .n_endpoints = 1, .recent_failures = 11};
	assert_true(detect_should_try_relay(&q, &r, &h, "x", 1009, why, sizeof(why)));
	assert_non_null(strstr(why, "11 failed windows in 30 min"));
}

/*
 * A working direct path blocked under a live session (ping every second): the session stays
 * "live" for up to 180 s, but data unanswered for DETECT_SILENT_S is a failure.
 */
static void test_broken_while_flowing(void **state)
{
	(void)state;
	struct detect_sample s[40];
	struct detect_rules r = {.attempts = 1};
	struct detect_peer p = {0};
	char why[200];

	for (int i = 0; i < 40; i++)
		s[i] = (struct detect_sample){.t = 3000 + i,
		                              .tx_bytes = 128ull * (uint64_t)i,
		                              .rx_bytes = 128ull * (uint64_t)(i < 10 ? i : 10),
		                              .last_handshake = 2990};
	seconds(&p, s, 11); /* answered up to t 3010 */
	assert_false(detect_should_try_relay(&p, &r, NULL, "x", 3010, why, sizeof(why)));
	seconds(&p, s + 10, 15); /* t 3024: unanswered since 3010, 14 s */
	assert_int_equal(detect_unanswered_s(&p, 3024), 14);
	assert_false(detect_should_try_relay(&p, &r, NULL, "x", 3024, why, sizeof(why)));
	seconds(&p, s + 24, 2); /* t 3025 */
	assert_true(detect_should_try_relay(&p, &r, NULL, "x", 3025, why, sizeof(why)));
	assert_non_null(strstr(why, "unanswered for 15 s"));
	/* Anything back resets it. */
	struct detect_sample a = s[25], b = s[25];
	b.t++;
	b.rx_bytes += 32;
	detect_second(&p, &a, &b);
	assert_false(detect_should_try_relay(&p, &r, NULL, "x", b.t, why, sizeof(why)));
}

/* An idle live tunnel: our persistent keepalive goes out every 25 s, nothing comes back. */
static void test_keepalive_only(void **state)
{
	(void)state;
	struct detect_rules r = {.attempts = 1};
	struct detect_peer p = {0};
	struct detect_sample a = {
	    .t = 100, .tx_bytes = 1000, .rx_bytes = 900, .last_handshake = 90};
	for (int i = 0; i < 120; i++) {
		struct detect_sample b = a;
		b.t++;
		if (i % 25 == 24)
			b.tx_bytes += DETECT_KEEPALIVE;
		detect_second(&p, &a, &b);
		a = b;
	}
	assert_int_equal(detect_unanswered_s(&p, a.t), 0);
	assert_false(detect_should_try_relay(&p, &r, NULL, "x", a.t, NULL, 0));
}

/* A stale session: data queued, a handshake every 5 s, none completes. */
static void test_failing_after_session(void **state)
{
	(void)state;
	struct detect_sample a = {
	    .t = 5000, .tx_bytes = 90000, .rx_bytes = 80000, .last_handshake = 4700};
	struct detect_sample b = {
	    .t = 5005, .tx_bytes = 90000 + 148, .rx_bytes = 80000, .last_handshake = 4700};
	assert_int_equal(detect_window(&a, &b), DETECT_FAILED);
}

/* Handshake every 2 min, data both ways. */
static void test_healthy(void **state)
{
	(void)state;
	struct detect_sample s[21];
	for (int i = 0; i < 21; i++)
		s[i] = (struct detect_sample){.t = 2000 + i,
		                              .tx_bytes = 1000ull * (uint64_t)i,
		                              .rx_bytes = 900ull * (uint64_t)i,
		                              .last_handshake = 1990};
	enum detect_verdict v[5];
	size_t nv;
	struct detect_peer p = run(s, 21, v, &nv);
	assert_int_equal(nv, 4);
	for (size_t i = 0; i < nv; i++)
		assert_int_equal(v[i], DETECT_HEALTHY);
	struct detect_rules r = {.attempts = 1};
	struct detect_history h = {.cache_rule = true, .n_endpoints = 3};
	seconds(&p, s, 21);
	char why[200];
	/* A working direct path is never relayed, whatever the history says. */
	assert_false(detect_should_try_relay(&p, &r, &h, "x", 2020, why, sizeof(why)));
	assert_string_equal(why, "");
}

/* A completed handshake resets a failing run. */
static void test_recovers(void **state)
{
	(void)state;
	struct detect_peer p = {0};
	struct detect_sample a = {.t = 0, .tx_bytes = 0};
	struct detect_sample b = {.t = 5, .tx_bytes = 148};
	struct detect_sample c = {
	    .t = 10, .tx_bytes = 296 + 32, .rx_bytes = 92, .last_handshake = 9};
	detect_feed(&p, detect_window(&a, &b), &a, &b);
	assert_int_equal(p.consecutive_failed, 1);
	detect_feed(&p, detect_window(&b, &c), &b, &c);
	assert_int_equal(p.last, DETECT_HEALTHY);
	assert_int_equal(p.consecutive_failed, 0);
}

/* Nothing to send: no evidence, no failure, and an idle window keeps a run unchanged. */
static void test_idle(void **state)
{
	(void)state;
	struct detect_sample a = {.t = 0, .tx_bytes = 500, .rx_bytes = 400, .last_handshake = 0};
	struct detect_sample b = {.t = 5, .tx_bytes = 500, .rx_bytes = 400, .last_handshake = 0};
	assert_int_equal(detect_window(&a, &b), DETECT_IDLE);
	/* Less than one initiation: a keepalive fragment, not a handshake attempt. */
	b.tx_bytes = 500 + 32;
	assert_int_equal(detect_window(&a, &b), DETECT_IDLE);
	struct detect_peer p = {.consecutive_failed = 1, .last = DETECT_FAILED};
	detect_feed(&p, DETECT_IDLE, &a, &b);
	assert_int_equal(p.consecutive_failed, 1);
}

/* Live session, we send, nothing comes back: suspect, not failed (no initiations yet). */
static void test_one_way(void **state)
{
	(void)state;
	struct detect_sample a = {
	    .t = 100, .tx_bytes = 1000, .rx_bytes = 5000, .last_handshake = 50};
	struct detect_sample b = {
	    .t = 105, .tx_bytes = 4000, .rx_bytes = 5000, .last_handshake = 50};
	assert_int_equal(detect_window(&a, &b), DETECT_ONEWAY);
	struct detect_peer p = {0};
	detect_feed(&p, DETECT_ONEWAY, &a, &b);
	assert_int_equal(p.consecutive_failed, 0);
	struct detect_rules r = {.attempts = 1};
	detect_second(&p, &a, &b);
	/* 5 s unanswered under a live session: not yet (a one-way flow gets its keepalive). */
	assert_false(detect_should_try_relay(&p, &r, NULL, "x", 105, NULL, 0));
	/* Receiving only (the far side sends to us) is a working path. */
	b.tx_bytes = 1000;
	b.rx_bytes = 9000;
	assert_int_equal(detect_window(&a, &b), DETECT_HEALTHY);
	/* Counters that went backwards (interface recreated) do not underflow into a failure. */
	b.tx_bytes = 10;
	b.rx_bytes = 10;
	assert_int_equal(detect_window(&a, &b), DETECT_IDLE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_failing),        cmocka_unit_test(test_broken_while_flowing),
	    cmocka_unit_test(test_keepalive_only), cmocka_unit_test(test_failing_after_session),
	    cmocka_unit_test(test_healthy),        cmocka_unit_test(test_recovers),
	    cmocka_unit_test(test_idle),           cmocka_unit_test(test_one_way),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
