/*
 * policy: the relay never sends to an address that is not globally reachable by the IANA
 * special-purpose registries (common/addr.c), whatever its spelling: plain IPv4, IPv4-mapped,
 * IPv4-compatible, IPv4-translated, NAT64 (64:ff9b::/96 and the local-use 64:ff9b:1::/48), 6to4
 * (2002::/16) and Teredo (2001::/32). AllowPrivate opens private-use, shared, ULA, site-local,
 * documentation and benchmarking ranges, AllowLoopback loopback, nothing opens the rest.
 *
 * The expectations below are written out by hand from the registries, independently of the
 * table in addr.c: for every entry its first and last address and, where it means something,
 * the addresses just outside.
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

/* What opens an address: nothing (ALWAYS), AllowPrivate, AllowLoopback, both, or OK. */
enum { OK = 0, PRIV = 1, LOOP = 2, ALWAYS = 4 };

struct row {
	const char *ip;
	unsigned kind;
};

static const struct policy policies[4] = {
    {false, false},
    {true, false},
    {false, true},
    {true, true},
};

static const struct row v4_rows[] = {
    /* 0.0.0.0/8 "This network", 0.0.0.0/32 "This host on this network" */
    {"0.0.0.0", ALWAYS},
    {"0.0.0.1", ALWAYS},
    {"0.255.255.255", ALWAYS},
    {"1.0.0.0", OK},
    /* 10.0.0.0/8 Private-Use */
    {"9.255.255.255", OK},
    {"10.0.0.0", PRIV},
    {"10.255.255.255", PRIV},
    {"11.0.0.0", OK},
    /* 100.64.0.0/10 Shared Address Space */
    {"100.63.255.255", OK},
    {"100.64.0.0", PRIV},
    {"100.127.255.255", PRIV},
    {"100.128.0.0", OK},
    /* 127.0.0.0/8 Loopback */
    {"126.255.255.255", OK},
    {"127.0.0.0", LOOP},
    {"127.0.0.1", LOOP},
    {"127.255.255.255", LOOP},
    {"128.0.0.0", OK},
    /* 169.254.0.0/16 Link Local */
    {"169.253.255.255", OK},
    {"169.254.0.0", ALWAYS},
    {"169.254.255.255", ALWAYS},
    {"169.255.0.0", OK},
    /* 172.16.0.0/12 Private-Use */
    {"172.15.255.255", OK},
    {"172.16.0.0", PRIV},
    {"172.31.255.255", PRIV},
    {"172.32.0.0", OK},
    /* 192.0.0.0/24 IETF Protocol Assignments and its more specific entries */
    {"191.255.255.255", OK},
    {"192.0.0.0", ALWAYS},  /* /29 IPv4 Service Continuity Prefix */
    {"192.0.0.7", ALWAYS},  /* /29 */
    {"192.0.0.8", ALWAYS},  /* /32 IPv4 dummy address */
    {"192.0.0.9", OK},      /* /32 Port Control Protocol Anycast: globally reachable */
    {"192.0.0.10", OK},     /* /32 TURN Anycast: globally reachable */
    {"192.0.0.11", ALWAYS}, /* back in the /24 */
    {"192.0.0.169", ALWAYS},
    {"192.0.0.170", ALWAYS}, /* /32 NAT64/DNS64 Discovery */
    {"192.0.0.171", ALWAYS}, /* /32 NAT64/DNS64 Discovery */
    {"192.0.0.172", ALWAYS},
    {"192.0.0.255", ALWAYS},
    {"192.0.1.0", OK},
    /* 192.0.2.0/24 Documentation (TEST-NET-1) */
    {"192.0.1.255", OK},
    {"192.0.2.0", PRIV},
    {"192.0.2.255", PRIV},
    {"192.0.3.0", OK},
    /* 192.31.196.0/24 AS112-v4, globally reachable */
    {"192.31.195.255", OK},
    {"192.31.196.0", OK},
    {"192.31.196.255", OK},
    /* 192.52.193.0/24 AMT, globally reachable */
    {"192.52.193.0", OK},
    {"192.52.193.255", OK},
    /* 192.88.99.0/24 Deprecated (6to4 Relay Anycast), 192.88.99.2/32 6a44-relay anycast */
    {"192.88.98.255", OK},
    {"192.88.99.0", ALWAYS},
    {"192.88.99.1", ALWAYS},
    {"192.88.99.2", ALWAYS},
    {"192.88.99.255", ALWAYS},
    {"192.88.100.0", OK},
    /* 192.168.0.0/16 Private-Use */
    {"192.167.255.255", OK},
    {"192.168.0.0", PRIV},
    {"192.168.255.255", PRIV},
    {"192.169.0.0", OK},
    /* 192.175.48.0/24 Direct Delegation AS112 Service, globally reachable */
    {"192.175.48.0", OK},
    {"192.175.48.255", OK},
    /* 198.18.0.0/15 Benchmarking */
    {"198.17.255.255", OK},
    {"198.18.0.0", PRIV},
    {"198.18.0.1", PRIV},
    {"198.19.255.255", PRIV},
    {"198.20.0.0", OK},
    /* 198.51.100.0/24 Documentation (TEST-NET-2) */
    {"198.51.99.255", OK},
    {"198.51.100.0", PRIV},
    {"198.51.100.255", PRIV},
    {"198.51.101.0", OK},
    /* 203.0.113.0/24 Documentation (TEST-NET-3) */
    {"203.0.112.255", OK},
    {"203.0.113.0", PRIV},
    {"203.0.113.255", PRIV},
    {"203.0.114.0", OK},
    /* 224.0.0.0/4 Multicast (not in the special registry) */
    {"223.255.255.255", OK},
    {"224.0.0.0", ALWAYS},
    {"239.255.255.255", ALWAYS},
    /* 240.0.0.0/4 Reserved, 255.255.255.255/32 Limited Broadcast */
    {"240.0.0.0", ALWAYS},
    {"255.255.255.254", ALWAYS},
    {"255.255.255.255", ALWAYS},
    /* ordinary global addresses */
    {"1.1.1.1", OK},
    {"8.8.8.8", OK},
    {"9.9.9.9", OK},
    {"185.199.108.153", OK},
};

static const struct row v6_rows[] = {
    /* ::1/128 Loopback, ::/128 Unspecified */
    {"::1", LOOP},
    {"::", ALWAYS},
    /* ::ffff:0:0/96, 64:ff9b::/96, 2002::/16, 2001::/32 embed IPv4: see the spellings; only
     * what lies just outside them here (all outside 2000::/3: reserved) */
    {"::fffe:ffff:ffff", ALWAYS},
    {"::1:0:0:0", ALWAYS},
    {"64:ff9a:ffff:ffff:ffff:ffff:808:808", ALWAYS},
    {"64:ff9b::1:0:0", ALWAYS}, /* past 64:ff9b::/96 */
    /* 64:ff9b:1::/48 local-use NAT64: private, and its embedded IPv4 address counts too */
    {"64:ff9b:1::", ALWAYS},                          /* embeds 0.0.0.0 */
    {"64:ff9b:1:ffff:ffff:ffff:ffff:ffff", ALWAYS},   /* embeds 255.255.255.255 */
    {"64:ff9b:1:ffff:ffff:ffff:808:808", PRIV},       /* embeds 8.8.8.8 */
    {"64:ff9b:1:1234:5678:9abc:7f00:1", LOOP | PRIV}, /* embeds 127.0.0.1 */
    {"64:ff9b:2::808:808", ALWAYS},
    /* 100::/64 Discard-Only, 100:0:0:1::/64 Dummy IPv6 Prefix */
    {"100::", ALWAYS},
    {"100::ffff:ffff:ffff:ffff", ALWAYS},
    {"100:0:0:1::", ALWAYS},
    {"100:0:0:1:ffff:ffff:ffff:ffff", ALWAYS},
    {"100:0:0:2::", ALWAYS},
    /* 2001::/23 IETF Protocol Assignments (but its globally reachable sub-entries) */
    {"2000:ffff:ffff:ffff:ffff:ffff:ffff:ffff", OK},
    {"2001:1::", ALWAYS},
    {"2001:100::", ALWAYS},
    {"2001:1ff:ffff:ffff:ffff:ffff:ffff:ffff", ALWAYS},
    {"2001:200::", OK},
    /* 2001:1::1/128 PCP, 2001:1::2/128 TURN, 2001:1::3/128 DNS-SD SRP anycast: reachable */
    {"2001:1::1", OK},
    {"2001:1::2", OK},
    {"2001:1::3", OK},
    {"2001:1::4", ALWAYS},
    /* 2001:2::/48 Benchmarking */
    {"2001:1:ffff:ffff:ffff:ffff:ffff:ffff", ALWAYS},
    {"2001:2::", PRIV},
    {"2001:2:0:ffff:ffff:ffff:ffff:ffff", PRIV},
    {"2001:2:1::", ALWAYS},
    /* 2001:3::/32 AMT */
    {"2001:3::", OK},
    {"2001:3:ffff:ffff:ffff:ffff:ffff:ffff", OK},
    {"2001:4::", ALWAYS},
    /* 2001:4:112::/48 AS112-v6 */
    {"2001:4:111:ffff:ffff:ffff:ffff:ffff", ALWAYS},
    {"2001:4:112::", OK},
    {"2001:4:112:ffff:ffff:ffff:ffff:ffff", OK},
    {"2001:4:113::", ALWAYS},
    /* 2001:10::/28 Deprecated (previously ORCHID) */
    {"2001:f:ffff:ffff:ffff:ffff:ffff:ffff", ALWAYS},
    {"2001:10::", ALWAYS},
    {"2001:1f:ffff:ffff:ffff:ffff:ffff:ffff", ALWAYS},
    /* 2001:20::/28 ORCHIDv2, 2001:30::/28 DETs: globally reachable */
    {"2001:20::", OK},
    {"2001:2f:ffff:ffff:ffff:ffff:ffff:ffff", OK},
    {"2001:30::", OK},
    {"2001:3f:ffff:ffff:ffff:ffff:ffff:ffff", OK},
    {"2001:40::", ALWAYS},
    /* 2001:db8::/32 Documentation */
    {"2001:db7:ffff:ffff:ffff:ffff:ffff:ffff", OK},
    {"2001:db8::", PRIV},
    {"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", PRIV},
    {"2001:db9::", OK},
    /* 2620:4f:8000::/48 Direct Delegation AS112 Service */
    {"2620:4f:7fff:ffff:ffff:ffff:ffff:ffff", OK},
    {"2620:4f:8000::", OK},
    {"2620:4f:8000:ffff:ffff:ffff:ffff:ffff", OK},
    {"2620:4f:8001::", OK},
    /* 3fff::/20 Documentation */
    {"3ffe:ffff:ffff:ffff:ffff:ffff:ffff:ffff", OK},
    {"3fff::", PRIV},
    {"3fff:fff:ffff:ffff:ffff:ffff:ffff:ffff", PRIV},
    {"3fff:1000::", OK},
    {"3fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", OK}, /* last of 2000::/3 */
    /* 5f00::/16 SRv6 SIDs */
    {"5f00::", ALWAYS},
    {"5f00:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ALWAYS},
    /* fc00::/7 Unique-Local */
    {"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ALWAYS},
    {"fc00::", PRIV},
    {"fd12:3456::1", PRIV},
    {"fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", PRIV},
    {"fe00::", ALWAYS},
    /* fe80::/10 Link-Local Unicast, fec0::/10 deprecated Site-Local */
    {"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ALWAYS},
    {"fe80::", ALWAYS},
    {"febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ALWAYS},
    {"fec0::", PRIV},
    {"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", PRIV},
    /* ff00::/8 Multicast */
    {"ff00::", ALWAYS},
    {"ff02::1", ALWAYS},
    {"ff0e::1", ALWAYS},
    {"ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ALWAYS},
    /* outside 2000::/3: reserved by the IETF */
    {"1fff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", ALWAYS},
    {"2000::", OK},
    {"4000::1", ALWAYS},
    {"e000::1", ALWAYS},
    /* ordinary global addresses */
    {"2606:4700::1111", OK},
    {"2606:4700:4700::1111", OK},
    {"2001:4860:4860::8888", OK},
    {"2a00:1450:4001:80e::200e", OK},
};

/* Whether policy p must refuse an address of kind k; LOOP | PRIV needs both allowances. */
static bool want_forbidden(unsigned k, const struct policy *p)
{
	if (k & ALWAYS)
		return true;
	if ((k & LOOP) && !p->allow_loopback)
		return true;
	return (k & PRIV) && !p->allow_private;
}

static int checks;

static void check(const char *ip, unsigned k, const char *from)
{
	char s[96];
	struct addr a;

	snprintf(s, sizeof(s), strchr(ip, ':') ? "[%s]:51820" : "%s:51820", ip);
	if (addr_parse(&a, s, 0) != 0)
		fail_msg("cannot parse %s", s);
	for (int i = 0; i < 4; i++) {
		const struct policy *p = &policies[i];
		unsigned got = policy_forbids(p, &a);

		if ((got != 0) != want_forbidden(k, p))
			fail_msg("%s (%s), AllowPrivate %d AllowLoopback %d: %s (classes %#x)", ip,
			         from, p->allow_private, p->allow_loopback,
			         got ? "forbidden" : "allowed", addr_classify(&a));
		checks++;
	}
}

static void test_v4_every_entry_every_spelling(void **state)
{
	char s[8][64];

	(void)state;
	checks = 0;
	for (size_t i = 0; i < sizeof(v4_rows) / sizeof(v4_rows[0]); i++) {
		const struct row *r = &v4_rows[i];
		unsigned b[4];

		assert_int_equal(sscanf(r->ip, "%u.%u.%u.%u", &b[0], &b[1], &b[2], &b[3]), 4);
		check(r->ip, r->kind, "plain");
		snprintf(s[0], 64, "::ffff:%s", r->ip);
		snprintf(s[1], 64, "::ffff:0:%s", r->ip);
		snprintf(s[2], 64, "64:ff9b::%s", r->ip);
		snprintf(s[3], 64, "2002:%02x%02x:%02x%02x::1", b[0], b[1], b[2], b[3]);
		snprintf(s[4], 64, "2002:%02x%02x:%02x%02x:ffff:ffff:ffff:ffff:ffff", b[0], b[1],
		         b[2], b[3]);
		/* Teredo: server 65.54.227.120, the client's address inverted in the last 32 bits. */
		snprintf(s[5], 64, "2001:0:4136:e378:8000:63bf:%02x%02x:%02x%02x", b[0] ^ 255u,
		         b[1] ^ 255u, b[2] ^ 255u, b[3] ^ 255u);
		snprintf(s[6], 64, "::%s", r->ip);
		for (int k = 0; k < 6; k++)
			check(s[k], r->kind, r->ip);
		/* ::0.0.0.0 and ::0.0.0.1 are :: and ::1 themselves */
		if (b[0] || b[1] || b[2] || b[3] > 1)
			check(s[6], r->kind, r->ip);
		/* The local-use NAT64 prefix is private besides. */
		snprintf(s[7], 64, "64:ff9b:1::%s", r->ip);
		check(s[7], r->kind | PRIV, r->ip);
	}
	print_message("%d IPv4 checks\n", checks);
}

static void test_v6_every_entry(void **state)
{
	(void)state;
	checks = 0;
	for (size_t i = 0; i < sizeof(v6_rows) / sizeof(v6_rows[0]); i++)
		check(v6_rows[i].ip, v6_rows[i].kind, "plain");
	print_message("%d IPv6 checks\n", checks);
}

/* The class reported is the one that forbids, and port 0 is never a destination. */
static void test_returned_class_and_port0(void **state)
{
	const struct policy strict = {false, false}, all = {true, true};
	struct addr a;

	(void)state;
	assert_int_equal(addr_parse(&a, "198.18.0.1:1", 0), 0);
	assert_int_equal(policy_forbids(&strict, &a), ADDR_BENCHMARKING);
	assert_int_equal(policy_forbids(&all, &a), 0);
	assert_int_equal(addr_parse(&a, "[64:ff9b:1::7f00:1]:1", 0), 0);
	assert_int_equal(policy_forbids(&strict, &a), ADDR_PRIVATE | ADDR_LOOPBACK);
	assert_int_equal(policy_forbids(&all, &a), 0);
	assert_int_equal(addr_parse(&a, "[2001:0:4136:e378:8000:63bf:3fff:fdd2]:1", 0), 0);
	assert_int_equal(policy_forbids(&all, &a), 0); /* Teredo client 192.0.2.45 */
	assert_int_equal(policy_forbids(&strict, &a), ADDR_DOCUMENTATION);
	assert_int_equal(addr_parse(&a, "198.51.100.7:1", 0), 0);
	assert_int_equal(policy_forbids(&strict, &a), ADDR_DOCUMENTATION);
	addr_set_port(&a, 0); /* port 0: nothing listens there */
	assert_true(policy_forbids(&all, &a));
	assert_int_equal(addr_parse(&a, "8.8.8.8:53", 0), 0);
	assert_int_equal(policy_forbids(&strict, &a), 0);
	addr_set_port(&a, 0);
	assert_true(policy_forbids(&strict, &a));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v4_every_entry_every_spelling),
	    cmocka_unit_test(test_v6_every_entry),
	    cmocka_unit_test(test_returned_class_and_port0),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
