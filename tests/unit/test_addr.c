/* Unit tests: common/addr.c */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"

static void test_parse_format(void **state)
{
	static const char *const ok[] = {"1.2.3.4:51820", "[2001:db8::1]:1",
	                                 "[::ffff:1.2.3.4]:65535", "255.255.255.255:9"};
	char s[ADDR_STRLEN];
	struct addr a;

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		assert_int_equal(addr_parse(&a, ok[i], 0), 0);
		assert_string_equal(addr_format(&a, s, sizeof(s)), ok[i]);
	}
	assert_int_equal(addr_parse(&a, "198.51.100.7", 51820), 0);
	assert_int_equal(addr_port(&a), 51820);
	assert_int_equal(addr_family(&a), AF_INET);
	assert_int_equal(addr_parse(&a, "2001:db8::7", 51821), 0);
	assert_int_equal(addr_port(&a), 51821);
	assert_string_equal(addr_format_ip(&a, s, sizeof(s)), "2001:db8::7");
}

static void test_parse_rejects(void **state)
{
	static const struct {
		const char *s;
		int err;
	} bad[] = {
	    {"", -EINVAL},
	    {"1.2.3.4:", -EINVAL},
	    {":80", -EINVAL},
	    {"[::1]", -EINVAL},
	    {"1.2.3.4:65536", -ERANGE},
	    {"1.2.3.4:0", -ERANGE},
	    {"1.2.3.4:8x", -EINVAL},
	    {"1.2.3.4:-1", -EINVAL},
	    {"1.2.3:80", -EINVAL},
	    {"[fe80::1%eth0]:1", -EINVAL},
	    {"[1.2.3.4]:80", -EINVAL},
	    {"[::1]x", -EINVAL},
	    {"[::1", -EINVAL},
	    {"example.com:80", -EINVAL},
	    {"1.2.3.4:123456", -ERANGE},
	    {"1.2.3.4", -EINVAL},
	};
	struct addr a;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = addr_parse(&a, bad[i].s, 0);

		if (r != bad[i].err)
			fail_msg("'%s': got %d, want %d", bad[i].s, r, bad[i].err);
	}
	assert_int_equal(addr_parse(&a, "::1", 0), -EINVAL);
}

static void test_equal_unmap(void **state)
{
	struct addr a, b, m;

	(void)state;
	assert_int_equal(addr_parse(&a, "203.0.113.5:1000", 0), 0);
	assert_int_equal(addr_parse(&b, "[::ffff:203.0.113.5]:1000", 0), 0);
	assert_false(addr_equal(&a, &b));
	addr_unmap(&b);
	assert_true(addr_equal(&a, &b));
	addr_set_port(&b, 1001);
	assert_false(addr_equal(&a, &b));
	assert_true(addr_equal_ip(&a, &b));
	addr_to_v6mapped(&m, &a);
	assert_int_equal(addr_family(&m), AF_INET6);
	assert_true(IN6_IS_ADDR_V4MAPPED(&m.in6.sin6_addr));
	assert_int_equal(addr_port(&m), 1000);
}

static void test_hash(void **state)
{
	uint8_t k1[16] = {1}, k2[16] = {2};
	struct addr a, b;

	(void)state;
	addr_parse(&a, "203.0.113.5:1000", 0);
	addr_parse(&b, "203.0.113.5:1001", 0);
	assert_true(addr_hash(&a, k1) == addr_hash(&a, k1));
	assert_true(addr_hash(&a, k1) != addr_hash(&b, k1));
	assert_true(addr_hash(&a, k1) != addr_hash(&a, k2));
}

struct cls {
	const char *ip;
	unsigned cls;
};

static void check_classes(const struct cls *c, size_t n)
{
	struct addr a;

	for (size_t i = 0; i < n; i++) {
		if (addr_parse(&a, c[i].ip, 1) < 0)
			fail_msg("cannot parse %s", c[i].ip);
		if (addr_classify(&a) != c[i].cls)
			fail_msg("%s: class %#x, want %#x", c[i].ip, addr_classify(&a), c[i].cls);
	}
}

static const struct cls v4_edges[] = {
    {"0.0.0.0", ADDR_UNSPECIFIED},
    {"0.255.255.255", ADDR_UNSPECIFIED},
    {"1.0.0.0", 0},
    {"126.255.255.255", 0},
    {"127.0.0.1", ADDR_LOOPBACK},
    {"127.255.255.255", ADDR_LOOPBACK},
    {"128.0.0.0", 0},
    {"9.255.255.255", 0},
    {"10.0.0.0", ADDR_PRIVATE},
    {"10.255.255.255", ADDR_PRIVATE},
    {"11.0.0.0", 0},
    {"172.15.255.255", 0},
    {"172.16.0.0", ADDR_PRIVATE},
    {"172.31.255.255", ADDR_PRIVATE},
    {"172.32.0.0", 0},
    {"192.167.255.255", 0},
    {"192.168.0.0", ADDR_PRIVATE},
    {"192.168.255.255", ADDR_PRIVATE},
    {"192.169.0.0", 0},
    {"100.63.255.255", 0},
    {"100.64.0.0", ADDR_PRIVATE},
    {"100.127.255.255", ADDR_PRIVATE},
    {"100.128.0.0", 0},
    {"169.253.255.255", 0},
    {"169.254.0.0", ADDR_LINKLOCAL},
    {"169.254.255.255", ADDR_LINKLOCAL},
    {"169.255.0.0", 0},
    {"223.255.255.255", 0},
    {"224.0.0.0", ADDR_MULTICAST},
    {"239.255.255.255", ADDR_MULTICAST},
    {"240.0.0.0", ADDR_RESERVED},
    {"255.255.255.254", ADDR_RESERVED},
    {"255.255.255.255", ADDR_BROADCAST},
    {"192.0.0.8", ADDR_RESERVED},
    {"192.0.2.1", ADDR_DOCUMENTATION},
    {"198.51.100.7", ADDR_DOCUMENTATION},
    {"203.0.113.255", ADDR_DOCUMENTATION},
    {"203.0.114.0", 0},
    {"8.8.8.8", 0},
};

static void test_classify_v4_edges(void **state)
{
	(void)state;
	check_classes(v4_edges, sizeof(v4_edges) / sizeof(v4_edges[0]));
}

/* Every IPv4 edge, spelled v4-mapped, v4-compatible, 6to4 and NAT64, keeps its class. */
static void test_classify_v4_edges_in_v6(void **state)
{
	struct addr a;
	char s[80];

	(void)state;
	for (size_t i = 0; i < sizeof(v4_edges) / sizeof(v4_edges[0]); i++) {
		const struct cls *c = &v4_edges[i];
		struct in_addr v4;
		uint8_t *b;
		const char *pfx[] = {"::ffff:", "::", "64:ff9b::"};

		assert_int_equal(inet_pton(AF_INET, c->ip, &v4), 1);
		b = (uint8_t *)&v4;
		for (size_t j = 0; j < 3; j++) {
			/* ::0.0.0.0 and ::0.0.0.1 are :: and ::1, not v4-compatible */
			if (j == 1 && b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] <= 1)
				continue;
			snprintf(s, sizeof(s), "[%s%s]:1", pfx[j], c->ip);
			assert_int_equal(addr_parse(&a, s, 0), 0);
			if (addr_classify(&a) != c->cls)
				fail_msg("%s: class %#x, want %#x", s, addr_classify(&a), c->cls);
		}
		snprintf(s, sizeof(s), "[2002:%02x%02x:%02x%02x::1]:1", b[0], b[1], b[2], b[3]);
		assert_int_equal(addr_parse(&a, s, 0), 0);
		if (addr_classify(&a) != c->cls)
			fail_msg("%s: class %#x, want %#x", s, addr_classify(&a), c->cls);
	}
}

/* Both sides of every IPv6 prefix edge, and of the embedding prefixes themselves. */
static void test_classify_v6_edges(void **state)
{
	static const struct cls c[] = {
	    {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0},
	    {"fc00::", ADDR_PRIVATE},
	    {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_PRIVATE},
	    {"fe00::", 0},
	    {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0},
	    {"fe80::", ADDR_LINKLOCAL},
	    {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_LINKLOCAL},
	    {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_PRIVATE},
	    {"ff00::", ADDR_MULTICAST},
	    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_MULTICAST},
	    {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 0},
	    {"2001:db8::", ADDR_DOCUMENTATION},
	    {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_DOCUMENTATION},
	    {"2001:db9::", 0},
	    /* 6to4 is exactly 2002::/16 */
	    {"2001:ffff:7f00:1::", 0},
	    {"2002:7f00:1::", ADDR_LOOPBACK},
	    {"2002:7fff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_LOOPBACK},
	    {"2003:7f00:1::", 0},
	    /* NAT64 is exactly 64:ff9b::/96 */
	    {"64:ff9b::7f00:1", ADDR_LOOPBACK},
	    {"64:ff9b:0:0:0:1:7f00:1", 0},
	    {"64:ff9a:ffff:ffff:ffff:ffff:7f00:1", 0},
	    /* v4-mapped is exactly ::ffff:0:0/96 */
	    {"::fffe:7f00:1", 0}, /* neither mapped (bytes 10..11 ffff) nor compatible (zero) */
	    {"::1:ffff:7f00:1", 0},
	    /* :: and ::1 themselves, then v4-compatible from ::2 */
	    {"::", ADDR_UNSPECIFIED},
	    {"::1", ADDR_LOOPBACK},
	    {"::2", ADDR_UNSPECIFIED},
	    {"::1:0:0", 0},
	    {"::ffff:ffff", ADDR_BROADCAST},
	};

	(void)state;
	check_classes(c, sizeof(c) / sizeof(c[0]));
}

static void test_classify_v6_spellings(void **state)
{
	static const struct cls c[] = {
	    {"::", ADDR_UNSPECIFIED},
	    {"::1", ADDR_LOOPBACK},
	    {"fe80::1", ADDR_LINKLOCAL},
	    {"febf:ffff::1", ADDR_LINKLOCAL},
	    {"fec0::1", ADDR_PRIVATE},
	    {"fc00::1", ADDR_PRIVATE},
	    {"fdff::1", ADDR_PRIVATE},
	    {"ff02::1", ADDR_MULTICAST},
	    {"2001:db8::1", ADDR_DOCUMENTATION},
	    {"2606:4700::1", 0},
	    /* IPv4 forbidden ranges through every IPv6 spelling */
	    {"::ffff:127.0.0.1", ADDR_LOOPBACK},
	    {"::ffff:10.1.2.3", ADDR_PRIVATE},
	    {"::ffff:169.254.1.1", ADDR_LINKLOCAL},
	    {"::ffff:0.0.0.0", ADDR_UNSPECIFIED},
	    {"::ffff:255.255.255.255", ADDR_BROADCAST},
	    {"::127.0.0.1", ADDR_LOOPBACK},
	    {"::10.0.0.1", ADDR_PRIVATE},
	    {"::0.0.0.2", ADDR_UNSPECIFIED},
	    {"2002:7f00:1::", ADDR_LOOPBACK},
	    {"2002:c0a8:101::1", ADDR_PRIVATE},
	    {"2002:e000:1::", ADDR_MULTICAST},
	    {"2002:808:808::1", 0},
	    {"64:ff9b::127.0.0.1", ADDR_LOOPBACK},
	    {"64:ff9b::192.168.1.1", ADDR_PRIVATE},
	    {"64:ff9b::8.8.8.8", 0},
	    {"::ffff:8.8.8.8", 0},
	};

	(void)state;
	check_classes(c, sizeof(c) / sizeof(c[0]));
	assert_string_equal(addr_class_name(ADDR_LOOPBACK), "loopback");
	assert_string_equal(addr_class_name(0), "public");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_format),
	    cmocka_unit_test(test_parse_rejects),
	    cmocka_unit_test(test_equal_unmap),
	    cmocka_unit_test(test_hash),
	    cmocka_unit_test(test_classify_v4_edges),
	    cmocka_unit_test(test_classify_v6_spellings),
	    cmocka_unit_test(test_classify_v4_edges_in_v6),
	    cmocka_unit_test(test_classify_v6_edges),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
