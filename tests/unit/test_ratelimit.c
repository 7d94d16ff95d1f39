/* Unit tests: common/ratelimit.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <cmocka.h>

#include "addr.h"
#include "ratelimit.h"

static void test_bucket(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 10, 5, 1000);
	for (int i = 0; i < 5; i++)
		assert_true(tbucket_take(&b, 1, 1000));
	assert_false(tbucket_take(&b, 1, 1000));
	/* 10/s: one token per 100 ms. */
	assert_false(tbucket_take(&b, 1, 1099));
	assert_true(tbucket_take(&b, 1, 1100));
	assert_false(tbucket_take(&b, 1, 1100));
	/* Refill caps at burst even after a long pause. */
	assert_false(tbucket_take(&b, 6, 1000000));
	assert_true(tbucket_take(&b, 5, 1000000));
	/* Time going backwards does not mint tokens. */
	assert_false(tbucket_take(&b, 1, 10));
	/* Huge gaps do not overflow. */
	assert_true(tbucket_take(&b, 5, UINT64_MAX));
}

static void test_bucket_unlimited_and_bytes(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, 0, 0, 0);
	assert_true(tbucket_take(&b, 1000000, 0));
	tbucket_init(&b, 1000000, 1500, 0); /* bytes: 1 MB/s, one packet burst */
	assert_true(tbucket_take(&b, 1420, 0));
	assert_false(tbucket_take(&b, 1420, 0));
	assert_true(tbucket_take(&b, 1420, 2));
}

/* Huge rate and burst values must not overflow the milli-token arithmetic. */
static void test_bucket_huge_values(void **state)
{
	struct tbucket b;

	(void)state;
	tbucket_init(&b, UINT64_MAX, UINT64_MAX, 0);
	assert_true(b.tokens_milli >= b.burst * 1000 - 1);
	assert_true(tbucket_take(&b, b.burst, 0));
	assert_false(tbucket_take(&b, 1, 0));
	/* A full refill after a long time lands exactly at burst, not wrapped to a small value. */
	assert_true(tbucket_take(&b, b.burst, UINT64_MAX / 2));
	assert_false(tbucket_take(&b, 1, UINT64_MAX / 2));
	tbucket_init(&b, 1, UINT64_MAX, 0);
	assert_true(tbucket_take(&b, 1000000000000ull, 0));
}

static void test_per_source(void **state)
{
	struct ratelimit *rl;
	struct addr a, b, a6, a6same64, a6other;

	(void)state;
	assert_int_equal(ratelimit_new(&rl, 64, 1, 2), 0);
	addr_parse(&a, "198.51.100.1:1", 0);
	addr_parse(&b, "198.51.100.2:1", 0);
	addr_parse(&a6, "[2001:db8:1:2::1]:1", 0);
	addr_parse(&a6same64, "[2001:db8:1:2:ffff::9]:7", 0);
	addr_parse(&a6other, "[2001:db8:1:3::1]:1", 0);
	assert_true(ratelimit_allow(rl, &a, 0));
	assert_true(ratelimit_allow(rl, &a, 0));
	assert_false(ratelimit_allow(rl, &a, 0));
	/* Another source has its own bucket. */
	assert_true(ratelimit_allow(rl, &b, 0));
	assert_true(ratelimit_allow(rl, &a6, 0));
	assert_true(ratelimit_allow(rl, &a6same64, 0));
	assert_false(ratelimit_allow(rl, &a6, 0));
	assert_true(ratelimit_allow(rl, &a6other, 0));
	/* Dual-stack spellings: ::ffff:a.b.c.d is the IPv4 source, not one shared /64. */
	{
		struct addr m1, m2;

		addr_parse(&m1, "[::ffff:198.51.100.1]:9", 0);
		addr_parse(&m2, "[::ffff:198.51.100.3]:9", 0);
		assert_false(ratelimit_allow(rl, &m1, 0)); /* same bucket as a, already empty */
		assert_true(ratelimit_allow(rl, &m2, 0));
		assert_true(ratelimit_allow(rl, &m2, 0));
		assert_false(ratelimit_allow(rl, &m2, 0));
		assert_true(ratelimit_allow(rl, &b, 0)); /* b's own bucket is untouched by m2 */
	}
	/* Refill after a second. */
	assert_true(ratelimit_allow(rl, &a, 1000));
	ratelimit_set(rl, 0, 0);
	for (int i = 0; i < 100; i++)
		assert_true(ratelimit_allow(rl, &a, 1000));
	ratelimit_free(rl);
	ratelimit_free(NULL);
}

static void test_full_table_reuses(void **state)
{
	struct ratelimit *rl;
	struct addr a;
	char s[32];

	(void)state;
	assert_int_equal(ratelimit_new(&rl, 4, 1, 1), 0);
	/* Far more sources than slots: each new source still gets a fresh bucket. */
	for (int i = 0; i < 1000; i++) {
		snprintf(s, sizeof(s), "203.0.113.%d:1", i % 250);
		addr_parse(&a, s, 0);
		if (i < 250)
			assert_true(ratelimit_allow(rl, &a, (uint64_t)i));
	}
	ratelimit_free(rl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bucket),
	    cmocka_unit_test(test_bucket_unlimited_and_bytes),
	    cmocka_unit_test(test_bucket_huge_values),
	    cmocka_unit_test(test_per_source),
	    cmocka_unit_test(test_full_table_reuses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
