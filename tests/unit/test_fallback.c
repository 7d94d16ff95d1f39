/*
 * Unit tests: relay-client/fallback.c, which carrier a relay link uses, on a fake clock: UDP
 * first, the stream URLs in order when UDP goes unanswered, the next URL when a stream fails,
 * backoff once all failed, UDP probed every 5 minutes and taken back when it answers.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "fallback.h"

/* The link as the test shows it, and the clock. */
struct world {
	struct fallback f;
	struct fallback_in in;
	struct fallback_out out;
};

/* Advance to t and step once; the decision is in w->out. */
static enum fallback_act step_at(struct world *w, int64_t t)
{
	w->in.now_ms = t;
	fallback_step(&w->f, &w->in, &w->out);
	/* What the caller does: a new carrier starts closed and silent. */
	if (w->out.act == FALLBACK_TO_STREAM || w->out.act == FALLBACK_TO_UDP) {
		w->in.up = false;
		w->in.stream_open = false;
		w->in.stream_failed = false;
	}
	w->in.udp_answered = false;
	return w->out.act;
}

/* Tick every second from *t until an action (at most limit seconds): the action. */
static enum fallback_act run_until_act(struct world *w, int64_t *t, int limit)
{
	for (int i = 0; i < limit; i++) {
		*t += 1000;
		enum fallback_act a = step_at(w, *t);
		if (a != FALLBACK_NONE)
			return a;
	}
	return FALLBACK_NONE;
}

static void test_udp_up_stays(void **state)
{
	struct world w = {0};
	int64_t t = 1000;

	(void)state;
	fallback_init(&w.f, 2, t);
	w.in.up = true;
	/* A link that carries on UDP never moves, however long. */
	assert_int_equal(run_until_act(&w, &t, 600), FALLBACK_NONE);
	assert_int_equal(w.f.cur, FALLBACK_UDP);
}

static void test_no_urls_stays_on_udp(void **state)
{
	struct world w = {0};
	int64_t t = 0;

	(void)state;
	fallback_init(&w.f, 0, t);
	assert_int_equal(run_until_act(&w, &t, 600), FALLBACK_NONE);
}

static void test_udp_silent_moves_after_3s(void **state)
{
	struct world w = {0};
	int64_t t = 5000;

	(void)state;
	fallback_init(&w.f, 3, t);
	assert_int_equal(step_at(&w, t + 1000), FALLBACK_NONE);
	assert_int_equal(step_at(&w, t + 2000), FALLBACK_NONE);
	assert_int_equal(step_at(&w, t + 2999), FALLBACK_NONE);
	assert_int_equal(step_at(&w, t + 3000), FALLBACK_TO_STREAM);
	assert_int_equal(w.out.url, 0);
	assert_int_equal(w.out.why, FALLBACK_W_UDP_SILENT);
	assert_string_equal(fallback_why_name(w.out.why), "UDP unanswered");
}

/* Each URL in turn as streams fail for the three reasons; then backoff, doubling to 60 s. */
static void test_streams_fail_in_order_then_backoff(void **state)
{
	struct world w = {0};
	int64_t t = 0, moved;

	(void)state;
	fallback_init(&w.f, 3, t);
	assert_int_equal(run_until_act(&w, &t, 10), FALLBACK_TO_STREAM);
	assert_int_equal(w.out.url, 0);
	/* URL 0: the stream finishes. */
	w.in.stream_failed = true;
	assert_int_equal(step_at(&w, t += 1000), FALLBACK_TO_STREAM);
	assert_int_equal(w.out.url, 1);
	assert_int_equal(w.out.why, FALLBACK_W_CLOSED);
	/* URL 1: never opens; 10 s after it was taken. */
	moved = t;
	assert_int_equal(run_until_act(&w, &t, 30), FALLBACK_TO_STREAM);
	assert_int_equal(t - moved, FALLBACK_OPEN_MS);
	assert_int_equal(w.out.url, 2);
	assert_int_equal(w.out.why, FALLBACK_W_OPEN_SLOW);
	/* URL 2: opens after 2 s, handshake unanswered 5 s from the opening. */
	assert_int_equal(step_at(&w, t += 1000), FALLBACK_NONE);
	w.in.stream_open = true;
	moved = t += 1000;
	assert_int_equal(step_at(&w, t), FALLBACK_NONE);
	assert_int_equal(run_until_act(&w, &t, 30), FALLBACK_TO_UDP);
	assert_int_equal(t - moved, FALLBACK_STREAM_HS_MS);
	assert_int_equal(w.out.why, FALLBACK_W_HS_SILENT);
	/* All three failed: parked on UDP for 1 s, then URL 0 again. */
	assert_int_equal(w.out.backoff_ms, 1000);
	moved = t;
	assert_int_equal(run_until_act(&w, &t, 30), FALLBACK_TO_STREAM);
	assert_int_equal(t - moved, 1000);
	assert_int_equal(w.out.url, 0);
	assert_int_equal(w.out.why, FALLBACK_W_BACKOFF);
	/* Each further failure doubles the wait, up to the cap. */
	uint32_t want[] = {2000, 4000, 8000, 16000, 32000, 60000, 60000};
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		w.in.stream_failed = true;
		assert_int_equal(step_at(&w, t += 1000), FALLBACK_TO_UDP);
		assert_int_equal(w.out.backoff_ms, want[i]);
		moved = t;
		assert_int_equal(run_until_act(&w, &t, 120), FALLBACK_TO_STREAM);
		assert_int_equal(t - moved, (int64_t)want[i]);
		assert_int_equal(w.out.url, (int)((i + 1) % 3));
	}
}

/* A stream that carries a handshake resets the count: its failure tries the next URL at once. */
static void test_success_resets_backoff(void **state)
{
	struct world w = {0};
	int64_t t = 0;

	(void)state;
	fallback_init(&w.f, 2, t);
	assert_int_equal(run_until_act(&w, &t, 10), FALLBACK_TO_STREAM);
	w.in.stream_failed = true;
	assert_int_equal(step_at(&w, t += 1000), FALLBACK_TO_STREAM);
	assert_int_equal(w.out.url, 1);
	w.in.stream_open = true;
	w.in.up = true;
	assert_int_equal(step_at(&w, t += 1000), FALLBACK_NONE);
	/* Up for a while, then the stream closes: URL 0 next, no backoff. */
	assert_int_equal(run_until_act(&w, &t, 60), FALLBACK_NONE);
	w.in.stream_failed = true;
	assert_int_equal(step_at(&w, t += 1000), FALLBACK_TO_STREAM);
	assert_int_equal(w.out.url, 0);
	assert_int_equal(w.out.backoff_ms, 0);
}

/* On a stream that works, a UDP probe every 5 minutes; an answer moves the link back. */
static void test_udp_probe_and_back(void **state)
{
	struct world w = {0};
	int64_t t = 0, on;

	(void)state;
	fallback_init(&w.f, 1, t);
	assert_int_equal(run_until_act(&w, &t, 10), FALLBACK_TO_STREAM);
	on = t;
	w.in.stream_open = true;
	w.in.up = true;
	assert_int_equal(run_until_act(&w, &t, 400), FALLBACK_PROBE_UDP);
	assert_int_equal(t - on, FALLBACK_UDP_RETRY_MS);
	/* Unanswered: the next probe five minutes later, still on the stream. */
	on = t;
	assert_int_equal(run_until_act(&w, &t, 400), FALLBACK_PROBE_UDP);
	assert_int_equal(t - on, FALLBACK_UDP_RETRY_MS);
	assert_int_equal(w.f.cur, 0);
	w.in.udp_answered = true;
	assert_int_equal(step_at(&w, t += 1000), FALLBACK_TO_UDP);
	assert_int_equal(w.out.why, FALLBACK_W_UDP_BACK);
	assert_int_equal(w.out.backoff_ms, 0);
	assert_int_equal(w.f.cur, FALLBACK_UDP);
	/* UDP does not carry the handshake after all: back to the stream after 3 s. */
	on = t;
	assert_int_equal(run_until_act(&w, &t, 10), FALLBACK_TO_STREAM);
	assert_int_equal(t - on, FALLBACK_UDP_WAIT_MS);
	assert_int_equal(w.out.url, 0);
}

/* A stream link that was up and goes silent (the relay's link timed out) moves on in 5 s. */
static void test_up_stream_goes_silent(void **state)
{
	struct world w = {0};
	int64_t t = 0, down;

	(void)state;
	fallback_init(&w.f, 2, t);
	assert_int_equal(run_until_act(&w, &t, 10), FALLBACK_TO_STREAM);
	w.in.stream_open = true;
	w.in.up = true;
	assert_int_equal(run_until_act(&w, &t, 30), FALLBACK_NONE);
	w.in.up = false;
	down = t + 1000;
	assert_int_equal(run_until_act(&w, &t, 30), FALLBACK_TO_STREAM);
	assert_int_equal(t - down, FALLBACK_STREAM_HS_MS);
	assert_int_equal(w.out.url, 1);
}

/* New URLs at a reload: the order starts again from the first. */
static void test_set_urls(void **state)
{
	struct world w = {0};
	int64_t t = 0;

	(void)state;
	fallback_init(&w.f, 0, t);
	assert_int_equal(run_until_act(&w, &t, 10), FALLBACK_NONE);
	fallback_set_urls(&w.f, 9); /* more than the maximum: capped */
	assert_int_equal(w.f.n_urls, FALLBACK_MAX_URLS);
	assert_int_equal(step_at(&w, t += 1000), FALLBACK_TO_STREAM);
	assert_int_equal(w.out.url, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_udp_up_stays),
	    cmocka_unit_test(test_no_urls_stays_on_udp),
	    cmocka_unit_test(test_udp_silent_moves_after_3s),
	    cmocka_unit_test(test_streams_fail_in_order_then_backoff),
	    cmocka_unit_test(test_success_resets_backoff),
	    cmocka_unit_test(test_udp_probe_and_back),
	    cmocka_unit_test(test_up_stream_goes_silent),
	    cmocka_unit_test(test_set_urls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
