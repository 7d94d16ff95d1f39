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
    {"191.255.255.255", 0},
    {"192.0.0.0", ADDR_RESERVED},
    {"192.0.0.7", ADDR_RESERVED},
    {"192.0.0.8", ADDR_RESERVED},
    {"192.0.0.9", 0}, /* globally reachable inside 192.0.0.0/24: the /32 wins */
    {"192.0.0.10", 0},
    {"192.0.0.11", ADDR_RESERVED},
    {"192.0.0.170", ADDR_RESERVED},
    {"192.0.0.171", ADDR_RESERVED},
    {"192.0.0.255", ADDR_RESERVED},
    {"192.0.1.0", 0},
    {"192.0.2.0", ADDR_DOCUMENTATION},
    {"192.0.2.255", ADDR_DOCUMENTATION},
    {"192.0.3.0", 0},
    {"192.31.196.0", 0},
    {"192.52.193.255", 0},
    {"192.88.98.255", 0},
    {"192.88.99.0", ADDR_RESERVED},
    {"192.88.99.2", ADDR_RESERVED},
    {"192.88.99.255", ADDR_RESERVED},
    {"192.88.100.0", 0},
    {"192.175.48.0", 0},
    {"198.17.255.255", 0},
    {"198.18.0.0", ADDR_BENCHMARKING},
    {"198.19.255.255", ADDR_BENCHMARKING},
    {"198.20.0.0", 0},
    {"198.51.100.0", ADDR_DOCUMENTATION},
    {"198.51.100.7", ADDR_DOCUMENTATION},
    {"198.51.100.255", ADDR_DOCUMENTATION},
    {"203.0.112.255", 0},
    {"203.0.113.0", ADDR_DOCUMENTATION},
    {"203.0.113.255", ADDR_DOCUMENTATION},
    {"203.0.114.0", 0},
    {"8.8.8.8", 0},
};

static void test_classify_v4_edges(void **state)
{
	(void)state;
	check_classes(v4_edges, sizeof(v4_edges) / sizeof(v4_edges[0]));
}

/*
 * Every IPv4 edge, spelled v4-mapped, IPv4-translated, v4-compatible, NAT64, 6to4 and Teredo,
 * keeps its class; the local-use NAT64 prefix adds ADDR_PRIVATE.
 */
static void test_classify_v4_edges_in_v6(void **state)
{
	struct addr a;
	char s[80];

	(void)state;
	for (size_t i = 0; i < sizeof(v4_edges) / sizeof(v4_edges[0]); i++) {
		const struct cls *c = &v4_edges[i];
		struct in_addr v4;
		uint8_t *b;
		const char *pfx[] = {"::ffff:", "::ffff:0:", "::", "64:ff9b::", "64:ff9b:1::"};

		assert_int_equal(inet_pton(AF_INET, c->ip, &v4), 1);
		b = (uint8_t *)&v4;
		for (size_t j = 0; j < 5; j++) {
			unsigned want = c->cls | (j == 4 ? ADDR_PRIVATE : 0u);

			/* ::0.0.0.0 and ::0.0.0.1 are :: and ::1, not v4-compatible */
			if (j == 2 && b[0] == 0 && b[1] == 0 && b[2] == 0 && b[3] <= 1)
				continue;
			snprintf(s, sizeof(s), "[%s%s]:1", pfx[j], c->ip);
			assert_int_equal(addr_parse(&a, s, 0), 0);
			if (addr_classify(&a) != want)
				fail_msg("%s: class %#x, want %#x", s, addr_classify(&a), want);
		}
		snprintf(s, sizeof(s), "[2002:%02x%02x:%02x%02x::1]:1", b[0], b[1], b[2], b[3]);
		assert_int_equal(addr_parse(&a, s, 0), 0);
		if (addr_classify(&a) != c->cls)
			fail_msg("%s: class %#x, want %#x", s, addr_classify(&a), c->cls);
		snprintf(s, sizeof(s), "[2001:0:4136:e378:8000:63bf:%02x%02x:%02x%02x]:1",
		         b[0] ^ 255u, b[1] ^ 255u, b[2] ^ 255u, b[3] ^ 255u);
		assert_int_equal(addr_parse(&a, s, 0), 0);
		if (addr_classify(&a) != c->cls)
			fail_msg("%s: class %#x, want %#x", s, addr_classify(&a), c->cls);
	}
}

/* Both sides of every IPv6 prefix edge, and of the embedding prefixes themselves. */
static void test_classify_v6_edges(void **state)
{
	static const struct cls c[] = {
	    {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_RESERVED},
	    {"fc00::", ADDR_PRIVATE},
	    {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_PRIVATE},
	    {"fe00::", ADDR_RESERVED},
	    {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_RESERVED},
	    {"fe80::", ADDR_LINKLOCAL},
	    {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_LINKLOCAL},
	    {"fec0::", ADDR_PRIVATE},
	    {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_PRIVATE},
	    {"ff00::", ADDR_MULTICAST},
	    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_MULTICAST},
	    {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", 0},
	    {"2001:db8::", ADDR_DOCUMENTATION},
	    {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_DOCUMENTATION},
	    {"2001:db9::", 0},
	    {"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0},
	    {"3fff::", ADDR_DOCUMENTATION},
	    {"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_DOCUMENTATION},
	    {"3fff:1000::", 0},
	    /* global unicast is 2000::/3; the rest is reserved or special */
	    {"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_RESERVED},
	    {"2000::", 0},
	    {"3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0},
	    {"4000::", ADDR_RESERVED},
	    {"5f00::", ADDR_RESERVED},
	    {"100::", ADDR_RESERVED},
	    {"100:0:0:1:ffff:ffff:ffff:ffff", ADDR_RESERVED},
	    /* 2001::/23 and its sub-entries; the most specific one wins */
	    {"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 0},
	    {"2001:1::", ADDR_RESERVED},
	    {"2001:1::1", 0},
	    {"2001:1::2", 0},
	    {"2001:1::3", 0},
	    {"2001:1::4", ADDR_RESERVED},
	    {"2001:2::", ADDR_BENCHMARKING},
	    {"2001:2:0:ffff:ffff:ffff:ffff:ffff", ADDR_BENCHMARKING},
	    {"2001:2:1::", ADDR_RESERVED},
	    {"2001:3::", 0},
	    {"2001:3:ffff:ffff:ffff:ffff:ffff:ffff", 0},
	    {"2001:4::", ADDR_RESERVED},
	    {"2001:4:112::", 0},
	    {"2001:4:112:ffff:ffff:ffff:ffff:ffff", 0},
	    {"2001:4:113::", ADDR_RESERVED},
	    {"2001:10::", ADDR_RESERVED},
	    {"2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_RESERVED},
	    {"2001:20::", 0},
	    {"2001:3f:ffff:ffff:ffff:ffff:ffff:ffff", 0},
	    {"2001:40::", ADDR_RESERVED},
	    {"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_RESERVED},
	    {"2001:200::", 0},
	    {"2620:4f:8000::", 0},
	    /* Teredo is exactly 2001::/32, the client inverted in the last 32 bits */
	    {"2001:0:4136:e378:8000:63bf:80ff:fffe", ADDR_LOOPBACK},
	    {"2001:1:4136:e378:8000:63bf:80ff:fffe", ADDR_RESERVED},
	    {"2001::", ADDR_BROADCAST},
	    {"2001:0:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_UNSPECIFIED},
	    /* 6to4 is exactly 2002::/16 */
	    {"2001:ffff:7f00:1::", 0},
	    {"2002:7f00:1::", ADDR_LOOPBACK},
	    {"2002:7fff:ffff:ffff:ffff:ffff:ffff:ffff", ADDR_LOOPBACK},
	    {"2003:7f00:1::", 0},
	    /* NAT64 is exactly 64:ff9b::/96, local-use NAT64 64:ff9b:1::/48 */
	    {"64:ff9b::7f00:1", ADDR_LOOPBACK},
	    {"64:ff9b:0:0:0:1:7f00:1", ADDR_RESERVED},
	    {"64:ff9a:ffff:ffff:ffff:ffff:7f00:1", ADDR_RESERVED},
	    {"64:ff9b:1::808:808", ADDR_PRIVATE},
	    {"64:ff9b:1:ffff:ffff:ffff:7f00:1", ADDR_PRIVATE | ADDR_LOOPBACK},
	    {"64:ff9b:2::808:808", ADDR_RESERVED},
	    /* v4-mapped is exactly ::ffff:0:0/96, IPv4-translated ::ffff:0:0:0/96 */
	    {"::fffe:7f00:1", ADDR_RESERVED},
	    {"::1:ffff:7f00:1", ADDR_RESERVED},
	    {"::ffff:0:7f00:1", ADDR_LOOPBACK},
	    {"::fffe:0:7f00:1", ADDR_RESERVED},
	    /* :: and ::1 themselves, then v4-compatible from ::2 */
	    {"::", ADDR_UNSPECIFIED},
	    {"::1", ADDR_LOOPBACK},
	    {"::2", ADDR_UNSPECIFIED},
	    {"::1:0:0", ADDR_RESERVED},
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
	    {"::ffff:198.18.0.1", ADDR_BENCHMARKING},
	    {"::ffff:0:198.18.0.1", ADDR_BENCHMARKING},
	    {"::127.0.0.1", ADDR_LOOPBACK},
	    {"::10.0.0.1", ADDR_PRIVATE},
	    {"::0.0.0.2", ADDR_UNSPECIFIED},
	    {"2002:7f00:1::", ADDR_LOOPBACK},
	    {"2002:c0a8:101::1", ADDR_PRIVATE},
	    {"2002:e000:1::", ADDR_MULTICAST},
	    {"2002:c058:6301::", ADDR_RESERVED},
	    {"2002:808:808::1", 0},
	    {"64:ff9b::127.0.0.1", ADDR_LOOPBACK},
	    {"64:ff9b::192.168.1.1", ADDR_PRIVATE},
	    {"64:ff9b::8.8.8.8", 0},
	    {"64:ff9b:1::8.8.8.8", ADDR_PRIVATE},
	    {"::ffff:8.8.8.8", 0},
	    {"2001:0:4136:e378:8000:63bf:f7f7:f7f7", 0},
	    {"2001:0:4136:e378:8000:63bf:f5ff:fefe", ADDR_PRIVATE},
	};

	(void)state;
	check_classes(c, sizeof(c) / sizeof(c[0]));
	assert_string_equal(addr_class_name(ADDR_LOOPBACK), "loopback");
	assert_string_equal(addr_class_name(ADDR_BENCHMARKING), "benchmarking");
	assert_string_equal(addr_class_name(0), "public");
}

/*
 * The table itself, and the fast lookup against a plain longest-prefix match over it: the first
 * and last address of every entry, the addresses just outside, and random addresses inside.
 */
struct ref {
	uint8_t p[16];
	const struct addr_special *e;
};

static struct ref ref4[64], ref6[64];
static size_t nref4, nref6;

static bool ref_in(const uint8_t *a, const uint8_t *p, unsigned len)
{
	for (unsigned i = 0; i < len; i++)
		if (((a[i / 8] ^ p[i / 8]) >> (7 - i % 8)) & 1)
			return false;
	return true;
}

static const struct addr_special *ref_find(int family, const uint8_t *a)
{
	const struct ref *r = family == AF_INET ? ref4 : ref6;
	size_t n = family == AF_INET ? nref4 : nref6;
	const struct addr_special *best = NULL;

	for (size_t i = 0; i < n; i++)
		if (ref_in(a, r[i].p, r[i].e->len) && (!best || r[i].e->len > best->len))
			best = r[i].e;
	return best;
}

static unsigned ref_classify(int family, const uint8_t *a)
{
	const struct addr_special *e = ref_find(family, a);
	uint8_t v4[4];

	if (!e)
		return 0;
	switch (e->embed) {
	case ADDR_EMBED_LAST32:
		return e->cls | ref_classify(AF_INET, a + 12);
	case ADDR_EMBED_6TO4:
		return e->cls | ref_classify(AF_INET, a + 2);
	case ADDR_EMBED_TEREDO:
		for (int i = 0; i < 4; i++)
			v4[i] = (uint8_t)~a[12 + i];
		return e->cls | ref_classify(AF_INET, v4);
	default:
		return e->cls;
	}
}

static int ref_checks;

static void ref_check(int family, const uint8_t *b)
{
	char s[INET6_ADDRSTRLEN];
	struct addr a;

	memset(&a, 0, sizeof(a));
	if (family == AF_INET) {
		a.in.sin_family = AF_INET;
		memcpy(&a.in.sin_addr, b, 4);
		a.len = sizeof(a.in);
	} else {
		a.in6.sin6_family = AF_INET6;
		memcpy(&a.in6.sin6_addr, b, 16);
		a.len = sizeof(a.in6);
	}
	addr_set_port(&a, 1);
	if (addr_classify(&a) != ref_classify(family, b) ||
	    addr_special_find(&a) != ref_find(family, b))
		fail_msg("%s: class %#x, want %#x; entry %s, want %s",
		         addr_format_ip(&a, s, sizeof(s)), addr_classify(&a),
		         ref_classify(family, b),
		         addr_special_find(&a) ? addr_special_find(&a)->name : "none",
		         ref_find(family, b) ? ref_find(family, b)->name : "none");
	ref_checks++;
}

/* b += d (d = 1 or -1), big-endian, over n bytes; false when it wraps. */
static bool step(uint8_t *b, size_t n, int d)
{
	for (size_t i = n; i-- > 0;) {
		uint8_t old = b[i];

		b[i] = (uint8_t)(b[i] + d);
		if ((d > 0 && b[i] > old) || (d < 0 && b[i] < old))
			return true;
	}
	return false;
}

static void test_special_table(void **state)
{
	static const int families[] = {AF_INET, AF_INET6};
	uint32_t rnd = 12345;

	(void)state;
	ref_checks = 0;
	for (size_t f = 0; f < 2; f++) {
		int family = families[f];
		size_t n, bytes = family == AF_INET ? 4 : 16;
		const struct addr_special *t = addr_special_table(family, &n);
		struct ref *r = family == AF_INET ? ref4 : ref6;

		assert_non_null(t);
		assert_in_range(n, 20, 64);
		for (size_t i = 0; i < n; i++) {
			memset(r[i].p, 0, 16);
			r[i].e = &t[i];
			if (inet_pton(family, t[i].prefix, r[i].p) != 1 || t[i].len > bytes * 8)
				fail_msg("bad entry %s/%u", t[i].prefix, t[i].len);
			assert_non_null(t[i].name);
			assert_non_null(t[i].ref);
			/* A plain entry is allowed exactly when globally reachable. */
			if (t[i].embed == ADDR_EMBED_NONE && t[i].reach == ADDR_REACH_YES)
				assert_int_equal(t[i].cls, 0);
			if (t[i].embed == ADDR_EMBED_NONE && t[i].reach == ADDR_REACH_NO)
				assert_int_not_equal(t[i].cls, 0);
			for (size_t j = 0; j < i; j++)
				if (t[j].len == t[i].len && !memcmp(r[j].p, r[i].p, 16))
					fail_msg("%s/%u twice", t[i].prefix, t[i].len);
		}
		if (family == AF_INET)
			nref4 = n;
		else
			nref6 = n;
	}
	for (size_t f = 0; f < 2; f++) {
		int family = families[f];
		size_t n = family == AF_INET ? nref4 : nref6, bytes = family == AF_INET ? 4 : 16;
		const struct ref *r = family == AF_INET ? ref4 : ref6;

		for (size_t i = 0; i < n; i++) {
			uint8_t first[16], last[16], b[16];
			unsigned len = r[i].e->len;

			memcpy(first, r[i].p, 16);
			memcpy(last, r[i].p, 16);
			for (unsigned bit = len; bit < bytes * 8; bit++)
				last[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
			ref_check(family, first);
			ref_check(family, last);
			memcpy(b, first, 16);
			if (step(b, bytes, -1))
				ref_check(family, b);
			memcpy(b, last, 16);
			if (step(b, bytes, 1))
				ref_check(family, b);
			/* random addresses inside, host bits from a fixed LCG */
			for (int k = 0; k < 200; k++) {
				memcpy(b, first, 16);
				for (unsigned bit = len; bit < bytes * 8; bit++) {
					rnd = rnd * 1103515245u + 12345u;
					if (rnd >> 31)
						b[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
				}
				ref_check(family, b);
			}
		}
		/* and anywhere */
		for (int k = 0; k < 20000; k++) {
			uint8_t b[16];

			for (size_t j = 0; j < bytes; j++) {
				rnd = rnd * 1103515245u + 12345u;
				b[j] = (uint8_t)(rnd >> 23);
			}
			ref_check(family, b);
		}
	}
	print_message("%d table checks\n", ref_checks);
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
	    cmocka_unit_test(test_special_table),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
