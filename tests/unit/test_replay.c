/* Unit tests: common/replay.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "replay.h"

static void test_in_order_and_duplicates(void **state)
{
	struct replay r;

	(void)state;
	replay_init(&r);
	for (uint64_t i = 0; i < 5000; i++) {
		assert_true(replay_check(&r, i));
		assert_true(replay_accept(&r, i));
		assert_false(replay_accept(&r, i));
	}
}

static void test_out_of_order_window(void **state)
{
	struct replay r;

	(void)state;
	replay_init(&r);
	assert_true(replay_accept(&r, 10000));
	/* Everything within the window behind the newest passes once. */
	assert_true(replay_accept(&r, 10000 - (REPLAY_WINDOW - 1)));
	assert_false(replay_accept(&r, 10000 - (REPLAY_WINDOW - 1)));
	assert_false(replay_check(&r, 10000 - REPLAY_WINDOW));
	assert_false(replay_accept(&r, 10000 - REPLAY_WINDOW));
	assert_false(replay_accept(&r, 0));
	for (uint64_t i = 9990; i < 10000; i++)
		assert_true(replay_accept(&r, i));
	for (uint64_t i = 9990; i <= 10000; i++)
		assert_false(replay_accept(&r, i));
	assert_true(replay_accept(&r, 10001));
}

static void test_huge_jump_clears_window(void **state)
{
	struct replay r;

	(void)state;
	replay_init(&r);
	for (uint64_t i = 0; i < 3000; i++)
		assert_true(replay_accept(&r, i));
	assert_true(replay_accept(&r, 1000000000ULL));
	/* The bitmap was cleared as the window slid: counters near the new top are fresh. */
	for (uint64_t i = 1000000000ULL - 1000; i < 1000000000ULL; i++)
		assert_true(replay_accept(&r, i));
	assert_false(replay_accept(&r, 2999));
	assert_false(replay_accept(&r, UINT64_MAX));
	assert_false(replay_accept(&r, REPLAY_REJECT_AFTER));
}

static void test_check_does_not_mutate(void **state)
{
	struct replay r;

	(void)state;
	replay_init(&r);
	assert_true(replay_check(&r, 7));
	assert_true(replay_check(&r, 7));
	assert_true(replay_accept(&r, 7));
	assert_false(replay_check(&r, 7));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_in_order_and_duplicates),
	    cmocka_unit_test(test_out_of_order_window),
	    cmocka_unit_test(test_huge_jump_clears_window),
	    cmocka_unit_test(test_check_does_not_mutate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
