/*
 * policy: the relay never sends to a forbidden address, whatever its spelling: plain IPv4,
 * IPv4-mapped, IPv4-compatible, NAT64 (64:ff9b::/96), 6to4 (2002::/16) and Teredo (2001::/32).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "policy.h"

static const struct policy strict = {false, false};

/* Every spelling of an IPv4 address a.b.c.d that a socket could send to. */
static int spellings(const char *v4, char out[6][80])
{
	unsigned a, b, c, d;

	if (sscanf(v4, "%u.%u.%u.%u", &a, &b, &c, &d) != 4)
		return 0;
	snprintf(out[0], 80, "%s:51820", v4);
	snprintf(out[1], 80, "[::ffff:%s]:51820", v4);
	snprintf(out[2], 80, "[::%s]:51820", v4);
	snprintf(out[3], 80, "[64:ff9b::%s]:51820", v4);
	snprintf(out[4], 80, "[2002:%02x%02x:%02x%02x::1]:51820", a, b, c, d);
	/* Teredo: the client's IPv4 is stored inverted in the last 32 bits. */
	snprintf(out[5], 80, "[2001:0:4136:e378:8000:63bf:%02x%02x:%02x%02x]:51820", a ^ 255u,
	         b ^ 255u, c ^ 255u, d ^ 255u);
	return 6;
}

static unsigned forbids(const struct policy *p, const char *s)
{
	struct addr a;

	if (addr_parse(&a, s, 0) != 0)
		fail_msg("cannot parse %s", s);
	return policy_forbids(p, &a);
}

static void test_forbidden_v4_every_spelling(void **state)
{
	static const char *bad[] = {
	    "0.0.0.0",         "0.1.2.3",     "127.0.0.1",      "127.255.255.254", "10.0.0.1",
	    "10.255.255.255",  "172.16.0.1",  "172.31.255.254", "192.168.1.1",     "100.64.0.1",
	    "100.127.255.254", "169.254.1.1", "224.0.0.1",      "239.255.255.250", "240.0.0.1",
	    "255.255.255.255", "192.0.0.8",
	};
	char sp[6][80];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = spellings(bad[i], sp);

		assert_int_equal(n, 6);
		for (int k = 0; k < n; k++)
			if (!forbids(&strict, sp[k]))
				fail_msg("%s (spelling %s) was allowed", bad[i], sp[k]);
	}
}

static void test_forbidden_v6(void **state)
{
	static const char *bad[] = {
	    "[::]:1",      "[::1]:1",     "[fe80::1]:1", "[febf::1]:1",
	    "[ff02::1]:1", "[ff0e::1]:1", "[fc00::1]:1", "[fd12:3456::1]:1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!forbids(&strict, bad[i]))
			fail_msg("%s was allowed", bad[i]);
}

static void test_allowed_public_and_documentation(void **state)
{
	static const char *good[] = {
	    "198.51.100.7:51820",
	    "203.0.113.9:1",
	    "192.0.2.1:9",
	    "8.8.8.8:53",
	    "[2001:db8::1]:51820",
	    "[2606:4700::1]:443",
	    "[::ffff:198.51.100.7]:5",
	    "172.32.0.1:1",
	    "100.128.0.1:1",
	    "11.0.0.1:1",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		if (forbids(&strict, good[i]))
			fail_msg("%s was refused", good[i]);
	{
		struct addr a;

		assert_int_equal(addr_parse(&a, "198.51.100.7:1", 0), 0);
		addr_set_port(&a, 0); /* port 0: nothing listens there */
		assert_true(policy_forbids(&strict, &a));
	}
}

static void test_allowances(void **state)
{
	const struct policy priv = {true, false}, lo = {false, true};
	char sp[6][80];

	(void)state;
	assert_false(forbids(&priv, "10.1.2.3:5"));
	assert_false(forbids(&priv, "[fd00::1]:5"));
	assert_true(forbids(&priv, "127.0.0.1:5"));
	assert_false(forbids(&lo, "127.0.0.1:5"));
	assert_false(forbids(&lo, "[::1]:5"));
	assert_true(forbids(&lo, "10.1.2.3:5"));
	/* Allowances never open the always-forbidden classes. */
	spellings("169.254.0.1", sp);
	for (int k = 0; k < 6; k++) {
		const struct policy all = {true, true};

		assert_true(forbids(&all, sp[k]));
	}
	assert_true(forbids(&(struct policy){true, true}, "224.0.0.1:5"));
	assert_true(forbids(&(struct policy){true, true}, "0.0.0.0:5"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_forbidden_v4_every_spelling),
	    cmocka_unit_test(test_forbidden_v6),
	    cmocka_unit_test(test_allowed_public_and_documentation),
	    cmocka_unit_test(test_allowances),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
