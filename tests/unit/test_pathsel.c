/*
 * test_pathsel.c: the hops before a circuit's rendezvous and the guards: each rule broken in
 * turn by one relay of a view (and a positive control where the same relay, mended, is used),
 * guards over weeks on a fake clock, the strategies' draws with a seeded generator, and every
 * rule checked on the paths of a larger random view.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "pathsel.h"
#include "proto.h"

#define NOW  1800000000u
#define DAY  86400u
#define RUNS 200 /* seeds a rule is checked over */

static const struct select_point berlin = {true, 52.52, 13.40};
static const struct select_point paris = {true, 48.86, 2.35};
static const struct select_point newyork = {true, 40.71, -74.00};
static const struct select_point tokyo = {true, 35.68, 139.69};
static const struct select_point frankfurt = {true, 50.11, 8.68};
static const struct select_point prague = {true, 50.08, 14.44};
static const struct select_point potsdam = {true, 52.39, 13.06}; /* ~25 km from Berlin */
static const struct select_point nowhere = {false, 0, 0};

/* splitmix64, Lemire's reduction: a fixed-seed uniform generator, counting its calls. */
struct rng {
	uint64_t s;
	unsigned calls;
};

static uint32_t rnd(void *ctx, uint32_t bound)
{
	struct rng *g = ctx;
	uint64_t z = (g->s += 0x9e3779b97f4a7c15ull);

	assert_true(bound >= 2); /* the header's promise */
	g->calls++;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	return (uint32_t)(((z & 0xffffffffu) * bound) >> 32);
}

/* A relay fit for every hop: circuits, a month up, 1000 kbit/s, lightly loaded. */
static void relay(struct pathsel_relay *r, uint8_t id, const char *ip, const char *cc,
                  const char *family, struct select_point loc)
{
	memset(r, 0, sizeof(*r));
	memset(r->identity, id, 32);
	memset(r->noise, id ^ 0xa5, 32);
	assert_int_equal(addr_parse(&r->control, ip, PROTO_DEFAULT_PORT), 0);
	snprintf(r->country, sizeof(r->country), "%s", cc);
	snprintf(r->family, sizeof(r->family), "%s", family);
	r->uptime_s = 30 * DAY;
	r->bandwidth_kbps = 1000;
	r->load_permille = 100;
	r->modes = DESC_MODE_CIRCUITS | DESC_MODE_DIRECT;
	r->loc = loc;
}

static struct pathsel_req req_of(unsigned hops, enum pathsel_strategy s)
{
	struct pathsel_req q;

	memset(&q, 0, sizeof(q));
	q.hops = hops;
	q.strategy = s;
	q.self = berlin;
	return q;
}

static int choose(const struct pathsel_relay *rs, size_t n, size_t rdv, const struct pathsel_req *q,
                  const struct pathsel_guards *g, uint64_t seed, struct pathsel_path *p)
{
	struct rng r = {seed, 0};

	return pathsel_choose(rs, n, rdv, q, g, rnd, &r, p);
}

/*
 * With rs[0] the rendezvous and two hops, over RUNS seeds: a path is always found and its entry
 * is never rs[bad]. Returns how often rs[bad] was the entry (for the positive control).
 */
static unsigned entry_count(const struct pathsel_relay *rs, size_t n, const struct pathsel_req *q,
                            size_t bad)
{
	unsigned hits = 0;

	for (uint64_t seed = 1; seed <= RUNS; seed++) {
		struct pathsel_path p;

		assert_int_equal(choose(rs, n, 0, q, NULL, seed, &p), 0);
		assert_int_equal(p.n, q->hops);
		assert_int_equal(p.hop[p.n - 1], 0);
		hits += p.hop[0] == bad;
	}
	return hits;
}

/* rs[1] breaks a rule, rs[2] is fine: rs[1] is never used; mend it and it is. */
#define AVOIDED(rs, q, mend)                                                                       \
	do {                                                                                       \
		assert_int_equal(entry_count(rs, 3, &(q), 1), 0);                                  \
		mend;                                                                              \
		assert_true(entry_count(rs, 3, &(q), 1) > 0);                                      \
	} while (0)

static void three(struct pathsel_relay rs[3])
{
	relay(&rs[0], 1, "10.1.0.1", "DE", "", paris);
	relay(&rs[1], 2, "10.2.0.1", "FR", "", paris);
	relay(&rs[2], 3, "10.3.0.1", "NL", "", paris);
}

/* g holds rel alone, a guard for 40 more days. */
static void one_guard(struct pathsel_guards *g, const struct pathsel_relay *rel)
{
	memset(g, 0, sizeof(*g));
	memcpy(g->g[0].identity, rel->identity, 32);
	g->g[0].until = NOW + 40 * DAY;
	g->n = 1;
}

static void test_strategy_names(void **state)
{
	(void)state;
	assert_int_equal(pathsel_strategy_parse("balanced"), PATHSEL_BALANCED);
	assert_int_equal(pathsel_strategy_parse("Fast"), PATHSEL_FAST);
	assert_int_equal(pathsel_strategy_parse("ANONYMOUS"), PATHSEL_ANONYMOUS);
	assert_int_equal(pathsel_strategy_parse("anon"), -EINVAL);
	assert_int_equal(pathsel_strategy_parse(""), -EINVAL);
	assert_int_equal(pathsel_strategy_parse(NULL), -EINVAL);
	for (int s = PATHSEL_BALANCED; s <= PATHSEL_ANONYMOUS; s++)
		assert_int_equal(pathsel_strategy_parse(pathsel_strategy_name(s)), s);
	assert_string_equal(pathsel_strategy_name((enum pathsel_strategy)7), "unknown");
}

static void test_from_desc(void **state)
{
	(void)state;
	struct descriptor d;
	struct pathsel_relay r;

	memset(&d, 0, sizeof(d));
	memset(d.identity, 7, 32);
	memset(d.noise, 8, 32);
	d.modes = DESC_MODE_CIRCUITS;
	d.bandwidth_kbps = 5000;
	d.load_permille = 250;
	d.uptime_s = 3600;
	memcpy(d.country, "SE", 3);
	strcpy(d.family, "ops");
	d.has_location = true;
	d.lat_e6 = 59329300;
	d.lon_e6 = -18068600;
	d.n_endpoints = 2;
	d.endpoints[0].transport = DESC_T_UDP;
	assert_int_equal(addr_parse(&d.endpoints[0].addr, "192.0.2.1:51821", 0), 0);
	d.endpoints[1].transport = DESC_T_TCP;
	assert_int_equal(addr_parse(&d.endpoints[1].addr, "198.51.100.1:443", 0), 0);
	pathsel_from_desc(&r, &d);
	assert_memory_equal(r.identity, d.identity, 32);
	assert_memory_equal(r.noise, d.noise, 32);
	assert_true(addr_equal(&r.control, &d.endpoints[0].addr));
	assert_string_equal(r.country, "SE");
	assert_string_equal(r.family, "ops");
	assert_int_equal(r.bandwidth_kbps, 5000);
	assert_int_equal(r.load_permille, 250);
	assert_int_equal(r.uptime_s, 3600);
	assert_int_equal(r.modes, DESC_MODE_CIRCUITS);
	assert_true(r.loc.known);
	assert_true(r.loc.lat > 59.3292 && r.loc.lat < 59.3294);
	assert_true(r.loc.lon < -18.0685 && r.loc.lon > -18.0687);
	d.has_location = false;
	pathsel_from_desc(&r, &d);
	assert_false(r.loc.known);
}

static void test_einval(void **state)
{
	(void)state;
	struct pathsel_relay rs[3];
	struct pathsel_req q = req_of(2, PATHSEL_BALANCED);
	struct pathsel_guards g = {.n = 0};
	struct pathsel_path p;
	struct rng r = {1, 0};
	const uint8_t ids[32] = {0};

	three(rs);
	assert_int_equal(choose(rs, 3, 0, &q, NULL, 1, &p), 0); /* the control */
	q.hops = 0;
	assert_int_equal(choose(rs, 3, 0, &q, NULL, 1, &p), -EINVAL);
	q.hops = ONION_MAX_HOPS + 1;
	assert_int_equal(choose(rs, 3, 0, &q, NULL, 1, &p), -EINVAL);
	q = req_of(2, (enum pathsel_strategy)3);
	assert_int_equal(choose(rs, 3, 0, &q, NULL, 1, &p), -EINVAL);
	assert_int_equal(pathsel_guards_refresh(&g, rs, 3, &q, NOW, rnd, &r), -EINVAL);
	q = req_of(2, PATHSEL_BALANCED);
	q.n_allow = PATHSEL_MAX_COUNTRIES + 1;
	assert_int_equal(choose(rs, 3, 0, &q, NULL, 1, &p), -EINVAL);
	q = req_of(2, PATHSEL_BALANCED);
	q.n_exclude = PATHSEL_MAX_COUNTRIES + 1;
	assert_int_equal(choose(rs, 3, 0, &q, NULL, 1, &p), -EINVAL);
	q = req_of(2, PATHSEL_BALANCED);
	q.n_exclude_ids = 1;
	assert_int_equal(choose(rs, 3, 0, &q, NULL, 1, &p), -EINVAL);
	q.exclude_ids = ids;
	assert_int_equal(choose(rs, 3, 0, &q, NULL, 1, &p), 0);
	q = req_of(2, PATHSEL_BALANCED);
	assert_int_equal(choose(rs, 3, 3, &q, NULL, 1, &p), -EINVAL); /* rendezvous past n */
	assert_int_equal(pathsel_choose(rs, 3, 0, &q, NULL, NULL, NULL, &p), -EINVAL);
	g.n = PATHSEL_GUARDS + 1;
	assert_int_equal(choose(rs, 3, 0, &q, &g, 1, &p), -EINVAL);
	assert_int_equal(pathsel_guards_refresh(&g, rs, 3, &q, NOW, rnd, &r), -EINVAL);
	rs[0].modes = DESC_MODE_DIRECT; /* a rendezvous that is no circuit hop */
	assert_int_equal(choose(rs, 3, 0, &q, NULL, 1, &p), -EINVAL);
	assert_int_equal(p.n, 0); /* zeroed on error */
}

static void test_one_hop(void **state)
{
	(void)state;
	struct pathsel_relay rs[3];
	struct pathsel_req q = req_of(1, PATHSEL_BALANCED);
	struct pathsel_path p;
	struct rng r = {1, 0};

	three(rs);
	assert_int_equal(pathsel_choose(rs, 3, 2, &q, NULL, rnd, &r, &p), 0);
	assert_int_equal(p.n, 1);
	assert_int_equal(p.hop[0], 2);
	assert_int_equal(p.flags, 0);
	assert_int_equal(r.calls, 0);
	/* Only the rendezvous in view: one hop still works, two cannot. */
	assert_int_equal(choose(rs, 1, 0, &q, NULL, 1, &p), 0);
	q.hops = 2;
	assert_int_equal(choose(rs, 1, 0, &q, NULL, 1, &p), -ENOENT);
}

static void test_subnet(void **state)
{
	(void)state;
	struct pathsel_relay rs[3];
	struct pathsel_req q = req_of(2, PATHSEL_BALANCED);

	three(rs);
	assert_int_equal(addr_parse(&rs[1].control, "10.1.200.7:51821", 0), 0); /* rdv's /16 */
	AVOIDED(rs, q, assert_int_equal(addr_parse(&rs[1].control, "10.0.200.7:51821", 0), 0));
	/* The same /16 written as a v4-mapped IPv6 address. */
	assert_int_equal(addr_parse(&rs[1].control, "[::ffff:10.1.9.9]:51821", 0), 0);
	AVOIDED(rs, q,
	        assert_int_equal(addr_parse(&rs[1].control, "[::ffff:10.9.9.9]:51821", 0), 0));
	/* IPv6: one /32. */
	assert_int_equal(addr_parse(&rs[0].control, "[2001:db8:1::1]:51821", 0), 0);
	assert_int_equal(addr_parse(&rs[1].control, "[2001:db8:ffff::1]:51821", 0), 0);
	AVOIDED(rs, q, assert_int_equal(addr_parse(&rs[1].control, "[2001:db9::1]:51821", 0), 0));
	/* No address at all: the rule cannot be kept, the relay is not used. */
	memset(&rs[1].control, 0, sizeof(rs[1].control));
	AVOIDED(rs, q, assert_int_equal(addr_parse(&rs[1].control, "10.7.0.1:51821", 0), 0));
}

/* A hop chosen earlier counts like the rendezvous: the middle is in neither's /16 or family. */
static void test_subnet_family_between_hops(void **state)
{
	(void)state;
	struct pathsel_relay rs[5];
	struct pathsel_req q = req_of(3, PATHSEL_BALANCED);
	struct pathsel_guards g;

	relay(&rs[0], 1, "10.1.0.1", "DE", "", paris);
	relay(&rs[1], 2, "10.2.0.1", "FR", "fam", paris); /* the guard */
	relay(&rs[2], 3, "10.2.7.7", "NL", "", paris);    /* the guard's /16 */
	relay(&rs[3], 4, "10.4.0.1", "NL", "fam", paris); /* the guard's family */
	relay(&rs[4], 5, "10.5.0.1", "NL", "", paris);
	one_guard(&g, &rs[1]);
	for (uint64_t seed = 1; seed <= RUNS; seed++) {
		struct pathsel_path p;

		assert_int_equal(choose(rs, 5, 0, &q, &g, seed, &p), 0);
		assert_int_equal(p.n, 3);
		assert_int_equal(p.hop[0], 1);
		assert_int_equal(p.hop[1], 4);
		assert_int_equal(p.hop[2], 0);
		assert_int_equal(p.flags, 0);
	}
}

static void test_family(void **state)
{
	(void)state;
	struct pathsel_relay rs[3];
	struct pathsel_req q = req_of(2, PATHSEL_BALANCED);

	three(rs);
	strcpy(rs[0].family, "acme");
	strcpy(rs[1].family, "acme");
	AVOIDED(rs, q, strcpy(rs[1].family, "acme2"));
	/* Two relays without a family are not one family. */
	rs[0].family[0] = rs[1].family[0] = '\0';
	assert_true(entry_count(rs, 3, &q, 1) > 0);
}

static void test_country_anonymous(void **state)
{
	(void)state;
	struct pathsel_relay rs[5];
	struct pathsel_req q = req_of(3, PATHSEL_ANONYMOUS);

	relay(&rs[0], 1, "10.1.0.1", "DE", "", paris);
	relay(&rs[1], 2, "10.2.0.1", "de", "", paris); /* the rendezvous's country */
	relay(&rs[2], 3, "10.3.0.1", "", "", paris);   /* unknown country */
	relay(&rs[3], 4, "10.4.0.1", "FR", "", paris);
	relay(&rs[4], 5, "10.5.0.1", "NL", "", paris);
	for (uint64_t seed = 1; seed <= RUNS; seed++) {
		struct pathsel_path p;

		assert_int_equal(choose(rs, 5, 0, &q, NULL, seed, &p), 0);
		assert_int_equal(p.n, 3);
		assert_true((p.hop[0] == 3 && p.hop[1] == 4) || (p.hop[0] == 4 && p.hop[1] == 3));
	}
	/* Without FR, two countries are too few for three hops. */
	struct pathsel_path p;
	strcpy(rs[3].country, "NL");
	assert_int_equal(choose(rs, 5, 0, &q, NULL, 1, &p), -ENOENT);
	/* Balanced does not mind countries, known or not. */
	q = req_of(3, PATHSEL_BALANCED);
	unsigned seen[5] = {0};
	for (uint64_t seed = 1; seed <= RUNS; seed++) {
		assert_int_equal(choose(rs, 5, 0, &q, NULL, seed, &p), 0);
		seen[p.hop[0]]++;
		seen[p.hop[1]]++;
	}
	assert_true(seen[1] > 0 && seen[2] > 0);
	/* An unknown rendezvous country conflicts with no hop. */
	q = req_of(3, PATHSEL_ANONYMOUS);
	strcpy(rs[3].country, "FR");
	rs[0].country[0] = '\0';
	assert_int_equal(choose(rs, 5, 0, &q, NULL, 1, &p), 0);
}

static void test_anonymous_raised(void **state)
{
	(void)state;
	struct pathsel_relay rs[4];
	struct pathsel_req q = req_of(2, PATHSEL_ANONYMOUS);
	struct pathsel_path p;

	relay(&rs[0], 1, "10.1.0.1", "DE", "", paris);
	relay(&rs[1], 2, "10.2.0.1", "FR", "", paris);
	relay(&rs[2], 3, "10.3.0.1", "NL", "", paris);
	relay(&rs[3], 4, "10.4.0.1", "BE", "", paris);
	for (unsigned hops = 1; hops <= 2; hops++) {
		q.hops = hops;
		assert_int_equal(choose(rs, 4, 0, &q, NULL, 3, &p), 0);
		assert_int_equal(p.n, 3);
		assert_int_equal(p.flags, PATHSEL_F_RAISED | PATHSEL_F_UNGUARDED);
		assert_int_equal(p.hop[2], 0);
		assert_true(p.hop[0] != p.hop[1] && p.hop[0] && p.hop[1]);
	}
	q.hops = 4;
	assert_int_equal(choose(rs, 4, 0, &q, NULL, 3, &p), 0);
	assert_int_equal(p.n, 4);
	assert_int_equal(p.flags & PATHSEL_F_RAISED, 0);
}

/* The rendezvous is never a hop again, not even under a second descriptor at another index. */
static void test_rendezvous_not_reused(void **state)
{
	(void)state;
	struct pathsel_relay rs[3];
	struct pathsel_req q = req_of(2, PATHSEL_BALANCED);

	three(rs);
	rs[1] = rs[0];
	assert_int_equal(addr_parse(&rs[1].control, "10.9.0.1:51821", 0), 0);
	AVOIDED(rs, q, memset(rs[1].identity, 9, 32));
}

static void test_relay_requirements(void **state)
{
	(void)state;
	struct pathsel_relay rs[3];
	struct pathsel_req q = req_of(2, PATHSEL_BALANCED);
	uint8_t excl[2][32];

	three(rs);
	rs[1].modes = DESC_MODE_DIRECT | DESC_MODE_SEALED;
	AVOIDED(rs, q, rs[1].modes |= DESC_MODE_CIRCUITS);
	rs[1].load_permille = PROTO_FULL_PERMILLE;
	AVOIDED(rs, q, rs[1].load_permille = PROTO_FULL_PERMILLE - 1);
	rs[1].load_permille = 1000;
	AVOIDED(rs, q, rs[1].load_permille = 0);

	memset(excl[0], 0x77, 32);
	memset(excl[1], 2, 32); /* rs[1] */
	q.exclude_ids = excl[0];
	q.n_exclude_ids = 2;
	AVOIDED(rs, q, q.n_exclude_ids = 1);

	q = req_of(2, PATHSEL_BALANCED);
	strcpy(q.exclude[0], "US");
	strcpy(q.exclude[1], "fr"); /* any case */
	q.n_exclude = 2;
	AVOIDED(rs, q, q.n_exclude = 1);

	q = req_of(2, PATHSEL_BALANCED);
	strcpy(q.allow[0], "nl");
	strcpy(q.allow[1], "SE");
	q.n_allow = 2;
	AVOIDED(rs, q, strcpy(q.allow[1], "FR"));
	rs[1].country[0] = '\0'; /* unknown: not in any allow list */
	assert_int_equal(entry_count(rs, 3, &q, 1), 0);
	strcpy(rs[1].country, "FR");

	q = req_of(2, PATHSEL_BALANCED);
	q.min_uptime_s = 7 * DAY;
	rs[1].uptime_s = 7 * DAY - 1;
	AVOIDED(rs, q, rs[1].uptime_s = 7 * DAY);

	q = req_of(2, PATHSEL_BALANCED);
	q.min_bandwidth_kbps = 800;
	rs[1].bandwidth_kbps = 799;
	AVOIDED(rs, q, rs[1].bandwidth_kbps = 800);
	rs[1].bandwidth_kbps = 0; /* not stated: cannot meet a minimum */
	AVOIDED(rs, q, q.min_bandwidth_kbps = 0);

	assert_true(pathsel_relay_ok(&rs[1], &q));
	rs[1].load_permille = PROTO_FULL_PERMILLE;
	assert_false(pathsel_relay_ok(&rs[1], &q));
	rs[1].load_permille = 0;
	rs[1].modes = 0;
	assert_false(pathsel_relay_ok(&rs[1], &q));
}

static void test_enoent(void **state)
{
	(void)state;
	struct pathsel_relay rs[4];
	struct pathsel_req q = req_of(3, PATHSEL_BALANCED);
	struct pathsel_path p;

	relay(&rs[0], 1, "10.1.0.1", "DE", "", paris);
	relay(&rs[1], 2, "10.2.0.1", "FR", "", paris);
	relay(&rs[2], 3, "10.2.0.2", "NL", "", paris);
	relay(&rs[3], 4, "10.1.0.9", "NL", "", paris);
	/* Two hops before the rendezvous, but every other relay shares a /16. */
	assert_int_equal(choose(rs, 4, 0, &q, NULL, 1, &p), -ENOENT);
	assert_int_equal(p.n, 0);
	q.hops = 2;
	assert_int_equal(choose(rs, 4, 0, &q, NULL, 1, &p), 0);
	q.hops = 3;
	assert_int_equal(addr_parse(&rs[2].control, "10.3.0.2:51821", 0), 0);
	assert_int_equal(choose(rs, 4, 0, &q, NULL, 1, &p), 0);
}

/*
 * A greedy draw can corner itself: rs[1] shares a family with rs[2] and a /16 with rs[3], so
 * with rs[1] as the first middle nothing fits the second; the search starts over.
 */
static void test_restart(void **state)
{
	(void)state;
	struct pathsel_relay rs[5];
	struct pathsel_req q = req_of(4, PATHSEL_ANONYMOUS);
	struct pathsel_guards g;

	relay(&rs[0], 1, "10.1.0.1", "DE", "", paris);
	relay(&rs[1], 2, "10.2.0.1", "FR", "x", paris);
	relay(&rs[2], 3, "10.3.0.1", "NL", "x", paris);
	relay(&rs[3], 4, "10.2.0.2", "BE", "", paris);
	relay(&rs[4], 5, "10.5.0.1", "SE", "", paris);
	one_guard(&g, &rs[4]);
	unsigned restarts = 0;
	for (uint64_t seed = 1; seed <= RUNS; seed++) {
		struct pathsel_path p;
		struct rng c = {seed, 0};

		assert_int_equal(pathsel_choose(rs, 5, 0, &q, &g, rnd, &c, &p), 0);
		assert_int_equal(p.hop[0], 4);
		assert_true((p.hop[1] == 2 && p.hop[2] == 3) || (p.hop[1] == 3 && p.hop[2] == 2));
		restarts +=
		    c.calls > 1; /* one draw for the first middle, the second has one choice */
	}
	assert_true(restarts > 0); /* the corner was met, and left */
}

static void test_guards_kept_and_used(void **state)
{
	(void)state;
	struct pathsel_relay rs[8];
	struct pathsel_req q = req_of(2, PATHSEL_BALANCED);
	struct pathsel_guards g, g2;
	struct rng r = {42, 0};

	for (unsigned i = 0; i < 8; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.%u.0.1", i + 1);
		relay(&rs[i], (uint8_t)(i + 1), ip, "DE", "", paris);
	}
	strcpy(rs[6].family, "same"); /* at most one of 6 and 7 may be a guard */
	strcpy(rs[7].family, "same");
	memset(&g, 0, sizeof(g));
	assert_int_equal(pathsel_guards_refresh(&g, rs, 8, &q, NOW, rnd, &r), 3);
	assert_int_equal(g.n, PATHSEL_GUARDS);
	unsigned same = 0;
	for (unsigned i = 0; i < g.n; i++) {
		same += g.g[i].identity[0] >= 7;
		assert_true(g.g[i].until >= NOW + PATHSEL_GUARD_MIN_S);
		assert_true(g.g[i].until <= NOW + PATHSEL_GUARD_MAX_S);
		for (unsigned j = 0; j < i; j++)
			assert_memory_not_equal(g.g[i].identity, g.g[j].identity, 32);
	}
	assert_true(same <= 1);
	/* Weeks later, nothing changed: the same guards. */
	g2 = g;
	assert_int_equal(pathsel_guards_refresh(&g2, rs, 8, &q, NOW + 29 * DAY, rnd, &r), 0);
	assert_memory_equal(&g2, &g, sizeof(g));
	/* Every path enters through the first guard that fits the rendezvous. */
	size_t g0 = g.g[0].identity[0] - 1u, g1 = g.g[1].identity[0] - 1u;
	size_t other = 0;
	while (other == g0 || other == g1 || other == (size_t)(g.g[2].identity[0] - 1u))
		other++;
	for (uint64_t seed = 1; seed <= RUNS; seed++) {
		struct pathsel_path p;

		assert_int_equal(choose(rs, 8, other, &q, &g, seed, &p), 0);
		assert_int_equal(p.hop[0], g0);
		assert_int_equal(p.flags, 0);
		/* The rendezvous is the first guard itself: the second is used. */
		assert_int_equal(choose(rs, 8, g0, &q, &g, seed, &p), 0);
		assert_int_equal(p.hop[0], g1);
	}
	/* The first guard full for now: skipped by paths, kept as a guard. */
	rs[g0].load_permille = 950;
	struct pathsel_path p;
	assert_int_equal(choose(rs, 8, other, &q, &g, 1, &p), 0);
	assert_int_equal(p.hop[0], g1);
	g2 = g;
	assert_int_equal(pathsel_guards_refresh(&g2, rs, 8, &q, NOW + DAY, rnd, &r), 0);
	assert_memory_equal(&g2, &g, sizeof(g));
	rs[g0].load_permille = 100;
}

static void test_guards_rotated(void **state)
{
	(void)state;
	struct pathsel_relay rs[8];
	struct pathsel_req q = req_of(2, PATHSEL_BALANCED);
	struct pathsel_guards g, old;
	struct rng r = {7, 0};
	uint8_t excl[1][32];

	for (unsigned i = 0; i < 8; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.%u.0.1", i + 1);
		relay(&rs[i], (uint8_t)(i + 1), ip, "DE", "", paris);
	}
	memset(&g, 0, sizeof(g));
	assert_int_equal(pathsel_guards_refresh(&g, rs, 8, &q, NOW, rnd, &r), 3);

	/* At the end of the first guard's lifetime it goes; the others move up, one is added. */
	g.g[0].until = NOW + 30 * DAY;
	g.g[1].until = NOW + 50 * DAY;
	g.g[2].until = NOW + 55 * DAY;
	old = g;
	assert_int_equal(pathsel_guards_refresh(&g, rs, 8, &q, NOW + 30 * DAY - 1, rnd, &r), 0);
	assert_int_equal(pathsel_guards_refresh(&g, rs, 8, &q, NOW + 30 * DAY, rnd, &r), 2);
	assert_int_equal(g.n, 3);
	for (unsigned i = 0; i < 3; i++)
		assert_memory_not_equal(g.g[i].identity, old.g[0].identity, 32);
	assert_memory_equal(&g.g[0], &old.g[1], sizeof(g.g[0]));
	assert_memory_equal(&g.g[1], &old.g[2], sizeof(g.g[1]));
	assert_true(g.g[2].until >= NOW + 60 * DAY && g.g[2].until <= NOW + 90 * DAY);

	/* A guard gone from the view goes. */
	old = g;
	size_t at = old.g[1].identity[0] - 1u;
	struct pathsel_relay keep = rs[at];
	rs[at] = rs[7];
	rs[7] = keep; /* the view without it: rs[0..7) */
	uint64_t t = NOW + 31 * DAY;
	assert_int_equal(pathsel_guards_refresh(&g, rs, 7, &q, t, rnd, &r), 2);
	for (unsigned i = 0; i < g.n; i++)
		assert_memory_not_equal(g.g[i].identity, keep.identity, 32);
	assert_memory_equal(g.g[0].identity, old.g[0].identity, 32);

	/* Excluded by the user, or failing the requirements now: it goes. */
	old = g;
	memcpy(excl[0], old.g[0].identity, 32);
	q.exclude_ids = excl[0];
	q.n_exclude_ids = 1;
	assert_int_equal(pathsel_guards_refresh(&g, rs, 7, &q, t, rnd, &r), 2);
	assert_memory_equal(g.g[0].identity, old.g[1].identity, 32);
	for (unsigned i = 0; i < g.n; i++)
		assert_memory_not_equal(g.g[i].identity, excl[0], 32);
	q = req_of(2, PATHSEL_BALANCED);
	old = g;
	size_t g0 = old.g[0].identity[0] - 1u;
	for (size_t i = 0; i < 7; i++)
		if (memcmp(rs[i].identity, old.g[0].identity, 32) == 0)
			g0 = i;
	rs[g0].modes = DESC_MODE_DIRECT; /* no longer a circuit hop */
	assert_int_equal(pathsel_guards_refresh(&g, rs, 7, &q, t, rnd, &r), 2);
	assert_memory_equal(g.g[0].identity, old.g[1].identity, 32);
	rs[g0].modes |= DESC_MODE_CIRCUITS;

	/* Two guards that came to share a family: the later one goes. */
	old = g;
	for (size_t i = 0; i < 7; i++)
		if (memcmp(rs[i].identity, old.g[0].identity, 32) == 0 ||
		    memcmp(rs[i].identity, old.g[1].identity, 32) == 0)
			strcpy(rs[i].family, "merged");
	assert_int_equal(pathsel_guards_refresh(&g, rs, 7, &q, t, rnd, &r), 2);
	assert_memory_equal(&g.g[0], &old.g[0], sizeof(g.g[0]));
	assert_memory_equal(&g.g[1], &old.g[2], sizeof(g.g[1]));
	for (size_t i = 0; i < 7; i++)
		rs[i].family[0] = '\0';

	/* A lifetime further than the maximum from now (the clock went back): rotated. */
	assert_int_equal(pathsel_guards_refresh(&g, rs, 7, &q, t - 61 * DAY, rnd, &r), 6);

	/* Too few relays: fewer guards, and no guard twice. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(pathsel_guards_refresh(&g, rs, 2, &q, NOW, rnd, &r), 2);
	assert_int_equal(g.n, 2);
	assert_memory_not_equal(g.g[0].identity, g.g[1].identity, 32);
	assert_int_equal(pathsel_guards_refresh(&g, rs, 0, &q, NOW, rnd, &r), 2);
	assert_int_equal(g.n, 0);
}

static void test_unguarded_fallback(void **state)
{
	(void)state;
	struct pathsel_relay rs[4];
	struct pathsel_req q = req_of(2, PATHSEL_BALANCED);
	struct pathsel_guards g;
	struct pathsel_path p;

	relay(&rs[0], 1, "10.1.0.1", "DE", "", paris);
	relay(&rs[1], 2, "10.1.0.2", "FR", "", paris); /* the only guard, in the rdv's /16 */
	relay(&rs[2], 3, "10.3.0.1", "NL", "", paris);
	relay(&rs[3], 4, "10.4.0.1", "NL", "", paris);
	one_guard(&g, &rs[1]);
	assert_int_equal(choose(rs, 4, 0, &q, &g, 1, &p), 0);
	assert_true(p.hop[0] == 2 || p.hop[0] == 3);
	assert_int_equal(p.flags, PATHSEL_F_UNGUARDED);
	q.strict_guards = true;
	assert_int_equal(choose(rs, 4, 0, &q, &g, 1, &p), -ENOENT);
	/* With the rendezvous elsewhere the guard fits again. */
	assert_int_equal(choose(rs, 4, 2, &q, &g, 1, &p), 0);
	assert_int_equal(p.hop[0], 1);
	assert_int_equal(p.flags, 0);
}

static void test_fast(void **state)
{
	(void)state;
	struct pathsel_relay rs[6];
	struct pathsel_req q = req_of(2, PATHSEL_FAST);
	struct pathsel_guards g;
	struct rng r = {3, 0};

	relay(&rs[0], 1, "10.1.0.1", "FR", "", paris); /* rendezvous */
	relay(&rs[1], 2, "10.2.0.1", "JP", "", tokyo);
	relay(&rs[2], 3, "10.3.0.1", "CZ", "", prague);
	relay(&rs[3], 4, "10.4.0.1", "US", "", newyork);
	relay(&rs[4], 5, "10.5.0.1", "", "", nowhere);
	relay(&rs[5], 6, "10.6.0.1", "FR", "", paris);
	/* Berlin's client enters at Prague (~280 km; Paris ~880 km is past the slack). */
	for (uint64_t seed = 1; seed <= RUNS; seed++) {
		struct pathsel_path p;

		assert_int_equal(choose(rs, 6, 0, &q, NULL, seed, &p), 0);
		assert_int_equal(p.hop[0], 2);
	}
	/* ... and holds Prague as its first guard. */
	memset(&g, 0, sizeof(g));
	assert_int_equal(pathsel_guards_refresh(&g, rs, 6, &q, NOW, rnd, &r), 3);
	assert_memory_equal(g.g[0].identity, rs[2].identity, 32);
	assert_true(memcmp(g.g[1].identity, rs[5].identity, 32) == 0 ||
	            memcmp(g.g[1].identity, rs[0].identity, 32) == 0);
	/* A busy Prague counts 2 * PATHSEL_FAST_LOAD_KM further: Paris then. */
	rs[2].load_permille = 800;
	assert_int_equal(entry_count(rs, 6, &q, 5), RUNS);
	rs[2].load_permille = 100;
	/* Within the slack both are drawn: relays in Berlin and in Potsdam (~25 km), not Prague. */
	relay(&rs[1], 2, "10.2.0.1", "DE", "", potsdam);
	relay(&rs[3], 4, "10.4.0.1", "DE", "", berlin);
	unsigned a = entry_count(rs, 6, &q, 1), b = entry_count(rs, 6, &q, 3);
	assert_true(a > 0 && b > 0);
	assert_int_equal(a + b, RUNS);
	/* Unknown own place: distance says nothing, every relay may be drawn. */
	q.self = nowhere;
	assert_true(entry_count(rs, 6, &q, 4) > 0);
}

/* Fast middle: near the way from the entry (Berlin) to the rendezvous (Paris), not near the
 * entry alone (Prague is nearer Berlin than Frankfurt, and a detour). */
static void test_fast_middle(void **state)
{
	(void)state;
	struct pathsel_relay rs[7];
	struct pathsel_req q = req_of(3, PATHSEL_FAST);
	struct pathsel_guards g;

	relay(&rs[0], 1, "10.1.0.1", "FR", "", paris);
	relay(&rs[1], 2, "10.2.0.1", "DE", "", berlin);
	relay(&rs[2], 3, "10.3.0.1", "JP", "", tokyo);
	relay(&rs[3], 4, "10.4.0.1", "DE", "", frankfurt);
	relay(&rs[4], 5, "10.5.0.1", "US", "", newyork);
	relay(&rs[5], 6, "10.6.0.1", "", "", nowhere);
	relay(&rs[6], 7, "10.7.0.1", "CZ", "", prague);
	one_guard(&g, &rs[1]);
	for (uint64_t seed = 1; seed <= RUNS; seed++) {
		struct pathsel_path p;

		assert_int_equal(choose(rs, 7, 0, &q, &g, seed, &p), 0);
		assert_int_equal(p.hop[0], 1);
		assert_int_equal(p.hop[1], 3);
	}
}

/* Balanced over 10,000 draws: shares follow stated bandwidth (loose bounds). */
static void shares(const struct pathsel_relay *rs, size_t n, unsigned *count)
{
	struct pathsel_req q = req_of(2, PATHSEL_BALANCED);
	struct rng r = {12345, 0};

	memset(count, 0, n * sizeof(*count));
	for (unsigned i = 0; i < 10000; i++) {
		struct pathsel_path p;

		assert_int_equal(pathsel_choose(rs, n, 0, &q, NULL, rnd, &r, &p), 0);
		count[p.hop[0]]++;
	}
}

static void near(unsigned got, double want)
{
	if (got < want * 0.85 || got > want * 1.15)
		fail_msg("%u draws, about %.0f expected", got, want);
}

static void test_balanced(void **state)
{
	(void)state;
	struct pathsel_relay rs[5];
	unsigned c[5];

	for (unsigned i = 0; i < 5; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.%u.0.1", i + 1);
		relay(&rs[i], (uint8_t)(i + 1), ip, "DE", "", paris);
	}
	rs[1].bandwidth_kbps = 1000;
	rs[2].bandwidth_kbps = 2000;
	rs[3].bandwidth_kbps = 4000;
	rs[4].bandwidth_kbps = 1000;
	shares(rs, 5, c);
	near(c[1], 10000 * 1 / 8.0);
	near(c[2], 10000 * 2 / 8.0);
	near(c[3], 10000 * 4 / 8.0);
	near(c[4], 10000 * 1 / 8.0);
	/* Unstated: the median stated one (1000 1000 2000 4000 -> 1000). */
	rs[4].bandwidth_kbps = 0;
	shares(rs, 5, c);
	near(c[4], 10000 * 1 / 8.0);
	/* Load: from SELECT_LOAD_BUSY on a relay weighs half, then a third. */
	rs[4].bandwidth_kbps = 4000;
	rs[3].load_permille = 600;
	rs[4].load_permille = 800;
	shares(rs, 5, c);
	/* weights 1000 2000 2000 1333 */
	near(c[1], 10000 * 1000 / 6333.0);
	near(c[2], 10000 * 2000 / 6333.0);
	near(c[3], 10000 * 2000 / 6333.0);
	near(c[4], 10000 * 1333 / 6333.0);
	/* A claim of 10 Gbit/s counts as PATHSEL_BW_CAP_MEDIANS medians (1000 here). */
	for (unsigned i = 0; i < 5; i++) {
		rs[i].bandwidth_kbps = 1000;
		rs[i].load_permille = 0;
	}
	rs[4].bandwidth_kbps = 10000000;
	shares(rs, 5, c);
	near(c[4], 10000 * 10000 / 13000.0);
}

/* Weights past one draw's range (2^32) are scaled, not wrapped. */
static void test_balanced_huge(void **state)
{
	(void)state;
	struct pathsel_relay rs[4];
	unsigned c[4];

	for (unsigned i = 0; i < 4; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.%u.0.1", i + 1);
		relay(&rs[i], (uint8_t)(i + 1), ip, "DE", "", paris);
		rs[i].bandwidth_kbps = 4000000000u;
	}
	rs[3].bandwidth_kbps = 2000000000u;
	shares(rs, 4, c);
	near(c[1], 10000 * 2 / 5.0);
	near(c[2], 10000 * 2 / 5.0);
	near(c[3], 10000 * 1 / 5.0);
}

/* A view of 64 relays with few /16s, families and countries: every rule on every path. */
static void check_path(const struct pathsel_relay *rs, const struct pathsel_req *q,
                       const struct pathsel_path *p)
{
	for (unsigned i = 0; i < p->n; i++) {
		const struct pathsel_relay *x = &rs[p->hop[i]];

		if (i + 1 < p->n)
			assert_true(pathsel_relay_ok(x, q));
		for (unsigned j = 0; j < i; j++) {
			const struct pathsel_relay *y = &rs[p->hop[j]];

			assert_memory_not_equal(x->identity, y->identity, 32);
			assert_memory_not_equal(&x->control.in.sin_addr, &y->control.in.sin_addr,
			                        2);
			assert_true(!x->family[0] || strcmp(x->family, y->family) != 0);
			if (q->strategy == PATHSEL_ANONYMOUS)
				assert_string_not_equal(x->country, y->country);
		}
	}
}

static void test_random_views(void **state)
{
	(void)state;
	static const char *cc[] = {"DE", "FR", "NL", "SE", "US", "JP", ""};
	static const char *fam[] = {"", "", "", "a", "b", "c"};
	struct pathsel_relay rs[64];
	struct rng r = {99, 0};
	unsigned ok = 0, none = 0;

	for (unsigned i = 0; i < 64; i++) {
		char ip[32];

		snprintf(ip, sizeof(ip), "10.%u.%u.1", 1 + rnd(&r, 20), i);
		relay(&rs[i], (uint8_t)(i + 1), ip, cc[rnd(&r, 7)], fam[rnd(&r, 6)],
		      (struct select_point){true, -60.0 + rnd(&r, 120), -180.0 + rnd(&r, 360)});
		rs[i].bandwidth_kbps = rnd(&r, 5000);
		rs[i].load_permille = (uint16_t)rnd(&r, 1001);
		rs[i].modes = rnd(&r, 5) ? DESC_MODE_CIRCUITS : DESC_MODE_DIRECT;
	}
	for (int s = PATHSEL_BALANCED; s <= PATHSEL_ANONYMOUS; s++) {
		struct pathsel_req q = req_of(1, (enum pathsel_strategy)s);
		struct pathsel_guards g;

		memset(&g, 0, sizeof(g));
		assert_true(pathsel_guards_refresh(&g, rs, 64, &q, NOW, rnd, &r) > 0);
		for (unsigned hops = 1; hops <= 6; hops++) {
			q.hops = hops;
			for (size_t rdv = 0; rdv < 64; rdv++) {
				struct pathsel_path p;
				int rc;

				if (!(rs[rdv].modes & DESC_MODE_CIRCUITS))
					continue;
				rc = choose(rs, 64, rdv, &q, &g, rdv * 31 + hops, &p);
				if (rc == -ENOENT) {
					none++;
					continue;
				}
				assert_int_equal(rc, 0);
				assert_int_equal(p.hop[p.n - 1], rdv);
				check_path(rs, &q, &p);
				ok++;
			}
		}
	}
	assert_true(ok > 500); /* the positive control: most asks found a path */
	print_message("random views: %u paths, %u without\n", ok, none);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strategy_names),
	    cmocka_unit_test(test_from_desc),
	    cmocka_unit_test(test_einval),
	    cmocka_unit_test(test_one_hop),
	    cmocka_unit_test(test_subnet),
	    cmocka_unit_test(test_subnet_family_between_hops),
	    cmocka_unit_test(test_family),
	    cmocka_unit_test(test_country_anonymous),
	    cmocka_unit_test(test_anonymous_raised),
	    cmocka_unit_test(test_rendezvous_not_reused),
	    cmocka_unit_test(test_relay_requirements),
	    cmocka_unit_test(test_enoent),
	    cmocka_unit_test(test_restart),
	    cmocka_unit_test(test_guards_kept_and_used),
	    cmocka_unit_test(test_guards_rotated),
	    cmocka_unit_test(test_unguarded_fallback),
	    cmocka_unit_test(test_fast),
	    cmocka_unit_test(test_fast_middle),
	    cmocka_unit_test(test_balanced),
	    cmocka_unit_test(test_balanced_huge),
	    cmocka_unit_test(test_random_views),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
