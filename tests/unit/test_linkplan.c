/* Unit tests: common/linkplan.c, on a fake clock and a seeded random function. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "linkplan.h"

#define S(x) ((uint64_t)(x)*1000) /* seconds on the fake clock, in ms */
#define CAP  LINKPLAN_ACTIONS_HINT

struct rng {
	uint64_t s;
};

/* xorshift64*: seeded, so every run makes the same choices */
static uint32_t rng_next(void *ctx)
{
	struct rng *r = ctx;

	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (uint32_t)((r->s * 2685821657736338717ull) >> 32);
}

static void id_of(int n, uint8_t id[32])
{
	memset(id, 0, 32);
	id[0] = 0xA5;
	id[1] = (uint8_t)(n >> 8);
	id[2] = (uint8_t)n;
}

static void cand(struct linkplan_cand *c, int n, const char *ip, uint8_t cls, const char *country,
                 const char *family)
{
	char s[64];

	memset(c, 0, sizeof(*c));
	id_of(n, c->identity);
	memset(c->noise, n & 0xff, 32);
	c->noise[0] = 1;
	snprintf(s, sizeof(s), strchr(ip, ':') ? "[%s]:51821" : "%s:51821", ip);
	assert_int_equal(addr_parse(&c->addr, s, 0), 0);
	snprintf(c->country, sizeof(c->country), "%s", country ? country : "");
	c->family = family;
	c->cls = cls;
}

/* Candidate n at ip, added at now: linkplan_add's result. */
static int add_at(struct linkplan *p, int n, const char *ip, uint8_t cls, const char *country,
                  const char *family, uint64_t now)
{
	struct linkplan_cand c;

	cand(&c, n, ip, cls, country, family);
	return linkplan_add(p, &c, now);
}

/* Candidate n in its own /16: 20.n.0.1 */
static void add_spread(struct linkplan *p, int n, uint8_t cls, uint64_t now)
{
	char ip[32];

	snprintf(ip, sizeof(ip), "20.%d.%d.1", n & 0xff, n >> 8);
	assert_int_equal(add_at(p, n, ip, cls, NULL, NULL, now), 0);
}

static int num_of(const uint8_t id[32])
{
	return (id[1] << 8) | id[2];
}

static struct linkplan *plan_with(const struct linkplan_config *cfg, struct rng *r)
{
	struct linkplan *p;

	assert_int_equal(linkplan_new(&p, cfg, rng_next, r), 0);
	return p;
}

static size_t count_act(const struct linkplan_action *a, size_t n, int act, int why)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (a[i].act == act && (why == 0 || a[i].why == why))
			k++;
	return k;
}

/* linkplan_get of candidate n. */
static int get(struct linkplan *p, int n, uint64_t now, struct linkplan_info *info)
{
	uint8_t id[32];

	id_of(n, id);
	return linkplan_get(p, id, now, info);
}

static uint8_t cls_of(struct linkplan *p, int n, uint64_t now)
{
	struct linkplan_info info;

	assert_int_equal(get(p, n, now, &info), 0);
	return info.cls;
}

static void up(struct linkplan *p, int n, uint64_t now)
{
	uint8_t id[32];

	id_of(n, id);
	assert_int_equal(linkplan_link_up(p, id, now), 0);
}

static void down(struct linkplan *p, int n, uint64_t now, enum linkplan_down how)
{
	uint8_t id[32];

	id_of(n, id);
	assert_int_equal(linkplan_link_down(p, id, now, how), 0);
}

static void heard(struct linkplan *p, int n, uint64_t now)
{
	uint8_t id[32];

	id_of(n, id);
	linkplan_heard(p, id, now);
}

/* linkplan_remove of candidate n. */
static int remove_n(struct linkplan *p, int n)
{
	uint8_t id[32];

	id_of(n, id);
	return linkplan_remove(p, id);
}

/* Candidates 1 and 2 (of classes c1 and c2), added and linked at time 0. */
static void two_linked(struct linkplan *p, uint8_t c1, uint8_t c2)
{
	add_spread(p, 1, c1, 0);
	add_spread(p, 2, c2, 0);
	up(p, 1, 0);
	up(p, 2, 0);
}

/*
 * Most tests' planner: the default config, which the test may change before fx_plan, seeded
 * randomness, and the actions of its last decision. Freed by fx_teardown, even after a failure.
 */
struct fx {
	struct linkplan_config cfg;
	struct rng r;
	struct linkplan *p;
	struct linkplan_action a[CAP];
	size_t n;
};

static int fx_setup(void **state)
{
	struct fx *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	linkplan_config_default(&f->cfg);
	*state = f;
	return 0;
}

static int fx_teardown(void **state)
{
	struct fx *f = *state;

	linkplan_free(f->p);
	free(f);
	return 0;
}

/* The planner on f->cfg as the test left it, its randomness seeded with seed. */
static struct linkplan *fx_plan(struct fx *f, uint64_t seed)
{
	f->r.s = seed;
	f->p = plan_with(&f->cfg, &f->r);
	return f->p;
}

/* The plan's decision at now, into f->a: how many actions. */
static size_t decide(struct fx *f, uint64_t now)
{
	f->n = linkplan_decide(f->p, now, f->a, CAP);
	return f->n;
}

/* The decision at now is one action, f->a[0]: act and why (0: any), to num (-1: any). */
static void expect_one(struct fx *f, uint64_t now, int act, int why, int num)
{
	assert_int_equal(decide(f, now), 1);
	if (act)
		assert_int_equal(f->a[0].act, act);
	if (why)
		assert_int_equal(f->a[0].why, why);
	if (num >= 0)
		assert_int_equal(num_of(f->a[0].identity), num);
}

/*
 * fx_plan with candidate 99 linked at time 0, on a config where that link never times out nor
 * is due a heartbeat: failures of other candidates then count, as they do while the plan holds
 * a link (test_isolated_retry).
 */
static struct linkplan *fx_anchored(struct fx *f, uint64_t seed)
{
	struct linkplan *p;

	f->cfg.heartbeat_interval_s = 100000;
	f->cfg.link_timeout_s = 100001;
	p = fx_plan(f, seed);
	assert_int_equal(add_at(p, 99, "30.99.0.1", LINKPLAN_DISCOVERED, NULL, NULL, 0), 0);
	up(p, 99, 0);
	assert_int_equal(decide(f, 0), 0);
	return p;
}

/* The candidates of the first n actions in f->a reported linked up at now. */
static void up_all(struct fx *f, size_t n, uint64_t now)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(linkplan_link_up(f->p, f->a[i].identity, now), 0);
}

static void test_config_check(void **state)
{
	struct linkplan_config cfg;
	struct linkplan *p;

	(void)state;
	linkplan_config_default(&cfg);
	assert_null(linkplan_config_check(&cfg));
	cfg.min_links = 9;
	assert_string_equal(linkplan_config_check(&cfg), "MinLinks is above MaxLinks");
	assert_int_equal(linkplan_new(&p, &cfg, NULL, NULL), -EINVAL);
	assert_null(p);
	linkplan_config_default(&cfg);
	cfg.link_timeout_s = cfg.heartbeat_interval_s;
	assert_non_null(linkplan_config_check(&cfg));
	linkplan_config_default(&cfg);
	cfg.max_retries = 0;
	assert_non_null(linkplan_config_check(&cfg));
	/* libsodium's randomness when no function is given */
	linkplan_config_default(&cfg);
	assert_int_equal(linkplan_new(&p, &cfg, NULL, NULL), 0);
	add_spread(p, 1, LINKPLAN_DISCOVERED, 0);
	assert_int_equal(linkplan_count(p), 1);
	linkplan_free(p);
	linkplan_free(NULL);
}

static void test_add_rules(void **state)
{
	struct fx *f = *state;
	struct linkplan_cand c;
	struct linkplan *p;

	id_of(99, f->cfg.self);
	p = fx_plan(f, 7);
	/* ourselves, then no such class */
	assert_int_equal(add_at(p, 99, "20.0.0.1", LINKPLAN_DISCOVERED, NULL, NULL, 0), -EINVAL);
	assert_int_equal(add_at(p, 1, "20.0.0.1", 5, NULL, NULL, 0), -EINVAL);
	cand(&c, 1, "20.0.0.1", LINKPLAN_VERIFIED, "DE", "fam");
	assert_int_equal(linkplan_add(p, &c, 0), 0);
	c.cls = LINKPLAN_DISCOVERED; /* refresh: the class does not go down */
	assert_int_equal(linkplan_add(p, &c, 0), 0);
	assert_int_equal(cls_of(p, 1, 0), LINKPLAN_VERIFIED);
	c.cls = LINKPLAN_TRUSTED;
	assert_int_equal(linkplan_add(p, &c, 0), 0);
	assert_int_equal(cls_of(p, 1, 0), LINKPLAN_TRUSTED);
	assert_int_equal(linkplan_count(p), 1);
	/* UNTRUSTED stays so when gossip brings it again, not when the operator names it */
	cand(&c, 2, "20.0.0.2", LINKPLAN_UNTRUSTED, NULL, NULL);
	assert_int_equal(linkplan_add(p, &c, 0), 0);
	c.cls = LINKPLAN_VERIFIED;
	assert_int_equal(linkplan_add(p, &c, 0), 0);
	assert_int_equal(cls_of(p, 2, 0), LINKPLAN_UNTRUSTED);
	c.cls = LINKPLAN_CONFIGURED;
	assert_int_equal(linkplan_add(p, &c, 0), 0);
	assert_int_equal(cls_of(p, 2, 0), LINKPLAN_CONFIGURED);
	assert_int_equal(linkplan_remove(p, c.identity), 0);
	assert_int_equal(linkplan_remove(p, c.identity), -ENOENT);
	assert_int_equal(linkplan_count(p), 1);
	assert_int_equal(linkplan_link_up(p, c.identity, 0), -ENOENT);
}

/* Many adds and removes in mixed order: the identity index finds exactly what is held. */
static void test_index_churn(void **state)
{
	struct fx *f = *state;
	struct linkplan *p = fx_plan(f, 11);
	struct linkplan_info info;

	for (int n = 0; n < 4096; n++)
		add_spread(p, n, LINKPLAN_DISCOVERED, 0);
	assert_int_equal(linkplan_count(p), 4096);
	for (int n = 0; n < 4096; n += 3)
		assert_int_equal(remove_n(p, n), 0);
	for (int n = 0; n < 4096; n++) {
		assert_int_equal(get(p, n, 0, &info), n % 3 == 0 ? -ENOENT : 0);
		if (n % 3)
			assert_int_equal(num_of(info.identity), n);
	}
	for (int n = 0; n < 4096; n += 3) /* slots are reused */
		add_spread(p, n, LINKPLAN_DISCOVERED, 0);
	assert_int_equal(linkplan_count(p), 4096);
}

static void test_fill_to_min(void **state)
{
	struct fx *f = *state;
	struct linkplan *p = fx_plan(f, 1);
	size_t n;

	assert_int_equal(decide(f, 0), 0); /* nothing known yet */
	for (int i = 0; i < 10; i++)
		add_spread(p, i, LINKPLAN_DISCOVERED, S(1));
	n = decide(f, S(1));
	assert_int_equal(n, 3);
	assert_int_equal(count_act(f->a, n, LINKPLAN_CONNECT, LINKPLAN_WHY_FILL), 3);
	assert_int_equal(linkplan_count_connecting(p), 3);
	assert_memory_not_equal(f->a[0].identity, f->a[1].identity, 32);
	assert_int_equal(addr_port(&f->a[0].addr), 51821);
	/* in flight: nothing more until they finish */
	assert_int_equal(decide(f, S(2)), 0);
	up_all(f, n, S(3));
	assert_int_equal(linkplan_count_up(p), 3);
	assert_int_equal(linkplan_count_connecting(p), 0);
	/* at MinLinks: discovered candidates are not added */
	assert_int_equal(decide(f, S(4)), 0);
	add_spread(p, 50, LINKPLAN_DISCOVERED, S(5));
	assert_int_equal(decide(f, S(5)), 0);
	/* nothing to do until the first heartbeat */
	assert_int_equal(linkplan_next_ms(p, S(5)), S(63));
}

static void test_configured_first(void **state)
{
	struct fx *f = *state;
	struct linkplan *p = fx_plan(f, 2);
	size_t n;
	int conf = 0;

	for (int i = 0; i < 10; i++)
		add_spread(p, i, LINKPLAN_DISCOVERED, 0);
	add_spread(p, 100, LINKPLAN_CONFIGURED, 0);
	add_spread(p, 101, LINKPLAN_TRUSTED, 0);
	add_spread(p, 102, LINKPLAN_VERIFIED, 0);
	n = decide(f, 0);
	assert_int_equal(n, 3);
	/* by priority: configured, trusted, verified, in that order */
	assert_int_equal(num_of(f->a[0].identity), 100);
	assert_int_equal(f->a[0].cls, LINKPLAN_CONFIGURED);
	assert_int_equal(num_of(f->a[1].identity), 101);
	assert_int_equal(num_of(f->a[2].identity), 102);
	up_all(f, n, S(1));
	assert_int_equal(decide(f, S(2)), 0);
	/* at MinLinks, the operator's peers are still wanted, up to MaxLinks */
	for (int i = 200; i < 210; i++)
		add_spread(p, i, LINKPLAN_CONFIGURED, S(3));
	for (int round = 0; round < 10; round++) {
		n = decide(f, S(4 + round));
		for (size_t i = 0; i < n; i++) {
			assert_int_equal(f->a[i].act, LINKPLAN_CONNECT);
			assert_int_equal(f->a[i].why, LINKPLAN_WHY_WANTED);
			assert_true(num_of(f->a[i].identity) >= 200);
			conf++;
		}
		up_all(f, n, S(4 + round));
	}
	assert_int_equal(conf, 5);
	assert_int_equal(linkplan_count_up(p), f->cfg.max_links);
}

/* 20 candidates in one /16 and 2 elsewhere: both others are among the first three. */
static void test_diversity(void **state)
{
	struct linkplan_config cfg;
	struct linkplan_action a[CAP];
	uint8_t third_seen[20] = {0};
	int thirds = 0;

	(void)state;
	linkplan_config_default(&cfg);
	for (uint64_t seed = 1; seed <= 40; seed++) {
		struct rng r = {seed * 0x9E3779B97F4A7C15ull};
		struct linkplan *p = plan_with(&cfg, &r);
		int others = 0;
		size_t n;
		char ip[32];

		for (int i = 0; i < 20; i++) {
			snprintf(ip, sizeof(ip), "81.2.%d.%d", i, 10 + i);
			assert_int_equal(add_at(p, i, ip, LINKPLAN_DISCOVERED, "DE", NULL, 0), 0);
		}
		assert_int_equal(add_at(p, 20, "91.7.0.1", LINKPLAN_DISCOVERED, "DE", NULL, 0), 0);
		assert_int_equal(add_at(p, 21, "2001:4860::1", LINKPLAN_DISCOVERED, "DE", NULL, 0),
		                 0);
		n = linkplan_decide(p, 0, a, CAP);
		assert_int_equal(n, 3);
		for (size_t i = 0; i < n; i++) {
			if (num_of(a[i].identity) >= 20)
				others++;
			else if (!third_seen[num_of(a[i].identity)]++)
				thirds++;
		}
		assert_int_equal(others, 2);
		linkplan_free(p);
	}
	/* control: the crowded /16 contributes one link, chosen at random among its 20 */
	assert_true(thirds >= 5);
}

/* Family and country count too: 10 of one family, 1 without, all in distinct /16s. */
static void test_diversity_family_country(void **state)
{
	struct fx *f = *state;
	struct linkplan *p = fx_plan(f, 5);
	size_t n;
	int lone = 0, other_country = 0;
	char ip[32];

	for (int i = 0; i < 10; i++) {
		snprintf(ip, sizeof(ip), "30.%d.0.1", i);
		assert_int_equal(add_at(p, i, ip, LINKPLAN_DISCOVERED, "US", "bigcorp", 0), 0);
	}
	assert_int_equal(add_at(p, 10, "40.0.0.1", LINKPLAN_DISCOVERED, "US", NULL, 0), 0);
	assert_int_equal(add_at(p, 11, "40.1.0.1", LINKPLAN_DISCOVERED, "JP", "other", 0), 0);
	n = decide(f, 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++) {
		lone += num_of(f->a[i].identity) == 10;
		other_country += num_of(f->a[i].identity) == 11;
	}
	assert_int_equal(lone, 1);
	assert_int_equal(other_country, 1);
}

/*
 * A newcomer linking in above MaxLinks stays young_s (to pull the store and learn others), then
 * goes; more than LINKPLAN_YOUNG_EXTRA young ones above MaxLinks go at once.
 */
static void test_young_spared(void **state)
{
	struct fx *f = *state;
	struct linkplan *p;
	size_t n;

	f->cfg.max_links = 4;
	p = fx_plan(f, 3);
	for (int i = 1; i <= 8; i++)
		add_spread(p, i, LINKPLAN_DISCOVERED, 0);
	for (int i = 1; i <= 4; i++)
		up(p, i, S(1));
	n = decide(f, S(100));
	assert_int_equal(count_act(f->a, n, LINKPLAN_DISCONNECT, LINKPLAN_WHY_SURPLUS), 0);
	up(p, 5, S(100));
	assert_int_equal(linkplan_count_up(p), 5);
	n = decide(f, S(101));
	assert_int_equal(count_act(f->a, n, LINKPLAN_DISCONNECT, LINKPLAN_WHY_SURPLUS), 0);
	/* the plan wakes when the newcomer comes of age (heartbeats are due then too) */
	assert_int_equal(linkplan_next_ms(p, S(102)), S(160));
	n = decide(f, S(159));
	assert_int_equal(count_act(f->a, n, LINKPLAN_DISCONNECT, LINKPLAN_WHY_SURPLUS), 0);
	assert_int_equal(linkplan_count_up(p), 5);
	n = decide(f, S(161));
	assert_int_equal(count_act(f->a, n, LINKPLAN_DISCONNECT, LINKPLAN_WHY_SURPLUS), 1);
	assert_int_equal(linkplan_count_up(p), 4);
	/* three young ones at once: above the spare allowance, surplus goes now */
	up(p, 6, S(162));
	up(p, 7, S(162));
	up(p, 8, S(162));
	n = decide(f, S(163));
	assert_int_equal(count_act(f->a, n, LINKPLAN_DISCONNECT, LINKPLAN_WHY_SURPLUS), 1);
	assert_int_equal(linkplan_count_up(p), 6);
}

/* Links above MaxLinks (inbound ones) go, lowest priority first. */
static void test_over_max(void **state)
{
	/* candidates 1 to 6: 3 and 5 are the lowest */
	static const uint8_t cls[6] = {LINKPLAN_CONFIGURED, LINKPLAN_VERIFIED,
	                               LINKPLAN_DISCOVERED, LINKPLAN_TRUSTED,
	                               LINKPLAN_DISCOVERED, LINKPLAN_VERIFIED};
	struct fx *f = *state;
	struct linkplan *p;
	size_t n;

	f->cfg.max_links = 4;
	f->cfg.young_s = 0; /* test_young_spared: the grace of new links */
	p = fx_plan(f, 3);
	for (int i = 1; i <= 6; i++)
		add_spread(p, i, cls[i - 1], 0);
	for (int i = 1; i <= 6; i++)
		up(p, i, S(i));
	assert_int_equal(linkplan_count_up(p), 6);
	assert_int_equal(linkplan_next_ms(p, S(7)), S(7));
	n = decide(f, S(7));
	assert_int_equal(n, 2);
	assert_int_equal(count_act(f->a, n, LINKPLAN_DISCONNECT, LINKPLAN_WHY_SURPLUS), 2);
	assert_true(num_of(f->a[0].identity) == 3 || num_of(f->a[0].identity) == 5);
	assert_true(num_of(f->a[1].identity) == 3 || num_of(f->a[1].identity) == 5);
	assert_int_equal(linkplan_count_up(p), 4);
	/* the plan counted them down itself; reporting it again changes nothing */
	down(p, 3, S(8), LINKPLAN_CLOSED);
	assert_int_equal(linkplan_count_up(p), 4);
	assert_int_equal(decide(f, S(8)), 0);
	/* a small cap returns the rest on the next call */
	add_spread(p, 7, LINKPLAN_DISCOVERED, S(9));
	add_spread(p, 8, LINKPLAN_DISCOVERED, S(9));
	up(p, 7, S(9));
	up(p, 8, S(9));
	assert_int_equal(linkplan_decide(p, S(10), f->a, 1), 1);
	assert_int_equal(linkplan_decide(p, S(10), f->a, 1), 1);
	assert_int_equal(linkplan_decide(p, S(10), f->a, 1), 0);
	assert_int_equal(linkplan_count_up(p), 4);
}

/* A pinned link (a circuit uses it) is never surplus and does not count against MaxLinks. */
static void test_pinned(void **state)
{
	struct fx *f = *state;
	struct linkplan *p;
	uint8_t id[32];
	size_t n;

	f->cfg.min_links = 1;
	f->cfg.max_links = 2;
	f->cfg.young_s = 0;
	p = fx_plan(f, 3);
	for (int i = 1; i <= 4; i++)
		add_spread(p, i, i <= 2 ? LINKPLAN_CONFIGURED : LINKPLAN_DISCOVERED, 0);
	id_of(3, id);
	assert_int_equal(linkplan_pin(p, id, true), 0);
	id_of(9, id);
	assert_int_equal(linkplan_pin(p, id, true), -ENOENT);
	for (int i = 1; i <= 4; i++)
		up(p, i, S(i));
	/* 4 up, MaxLinks 2, 3 pinned: only 4 is surplus (3 is the lowest class with it). */
	n = decide(f, S(5));
	assert_int_equal(count_act(f->a, n, LINKPLAN_DISCONNECT, LINKPLAN_WHY_SURPLUS), 1);
	assert_int_equal(num_of(f->a[0].identity), 4);
	assert_int_equal(linkplan_count_up(p), 3);
	assert_int_equal(decide(f, S(6)), 0);
	/* Unpinned, it is surplus like any other. */
	id_of(3, id);
	assert_int_equal(linkplan_pin(p, id, false), 0);
	n = decide(f, S(7));
	assert_int_equal(count_act(f->a, n, LINKPLAN_DISCONNECT, LINKPLAN_WHY_SURPLUS), 1);
	assert_int_equal(num_of(f->a[0].identity), 3);
	assert_int_equal(linkplan_count_up(p), 2);
}

static void test_heartbeat_timeout(void **state)
{
	struct fx *f = *state;
	struct linkplan *p;
	uint8_t id[32];

	f->cfg.min_links = 0;
	p = fx_plan(f, 4);
	add_spread(p, 1, LINKPLAN_DISCOVERED, 0);
	up(p, 1, 0);
	assert_int_equal(linkplan_next_ms(p, 0), 0); /* an event: decide now */
	assert_int_equal(decide(f, 0), 0);
	assert_int_equal(linkplan_next_ms(p, 0), S(60));
	assert_int_equal(decide(f, S(59)), 0);
	expect_one(f, S(60), LINKPLAN_HEARTBEAT, LINKPLAN_WHY_IDLE, -1);
	assert_int_equal(decide(f, S(61)), 0); /* once */
	/* traffic both ways postpones it */
	heard(p, 1, S(100));
	id_of(1, id);
	linkplan_sent(p, id, S(100));
	assert_int_equal(decide(f, S(159)), 0);
	assert_int_equal(linkplan_next_ms(p, S(159)), S(160));
	assert_int_equal(count_act(f->a, decide(f, S(160)), LINKPLAN_HEARTBEAT, 0), 1);
	/* sending alone does not: the peer is silent, so ask it */
	linkplan_sent(p, id, S(200));
	assert_int_equal(count_act(f->a, decide(f, S(220)), LINKPLAN_HEARTBEAT, 0), 1);
	/* nothing heard since 100 s: the link times out at 280 s */
	assert_int_equal(count_act(f->a, decide(f, S(279)), LINKPLAN_DISCONNECT, 0), 0);
	assert_int_equal(linkplan_count_up(p), 1);
	expect_one(f, S(280), LINKPLAN_DISCONNECT, LINKPLAN_WHY_TIMEOUT, -1);
	assert_int_equal(linkplan_count_up(p), 0);
}

static void test_handshake_timeout(void **state)
{
	struct fx *f = *state;
	struct linkplan_info info;
	struct linkplan *p;

	f->cfg.min_links = 2;
	p = fx_anchored(f, 6);
	add_spread(p, 1, LINKPLAN_DISCOVERED, 0);
	assert_int_equal(count_act(f->a, decide(f, 0), LINKPLAN_CONNECT, 0), 1);
	assert_int_equal(linkplan_next_ms(p, S(1)), S(30)); /* in flight counts toward MinLinks */
	assert_int_equal(decide(f, S(29)), 0);
	expect_one(f, S(30), 0, LINKPLAN_WHY_HANDSHAKE, -1);
	assert_int_equal(linkplan_get(p, f->a[0].identity, S(30), &info), 0);
	assert_int_equal(info.state, LINKPLAN_BACKOFF);
	assert_int_equal(info.failures, 1);
}

/* Each failure doubles the wait from ReconnectInterval, jittered within [d/2, d], to the cap. */
static void test_backoff(void **state)
{
	struct fx *f = *state;
	struct linkplan_info info;
	struct linkplan *p;
	uint64_t now = 0, d = S(30), prev = 0;

	f->cfg.min_links = 2;
	p = fx_anchored(f, 8);
	add_spread(p, 1, LINKPLAN_CONFIGURED, 0); /* never demoted: the backoff runs to its cap */
	for (int k = 1; k <= 10; k++) {
		expect_one(f, now, LINKPLAN_CONNECT, 0, -1);
		down(p, 1, now, LINKPLAN_FAILED);
		assert_int_equal(linkplan_get(p, f->a[0].identity, now, &info), 0);
		assert_int_equal(info.cls, LINKPLAN_CONFIGURED);
		assert_true(info.next_try_ms - now >= d / 2);
		assert_true(info.next_try_ms - now <= d);
		if (k <= 4)
			assert_true(info.next_try_ms - now > prev / 2);
		prev = info.next_try_ms - now;
		/* not before the wait ends; at its end the planner's timer brings it back */
		assert_int_equal(decide(f, info.next_try_ms - 1), 0);
		now = info.next_try_ms;
		assert_true(linkplan_next_ms(p, now - 1) <= now);
		d = d * 2 > S(1800) ? S(1800) : d * 2;
	}
	assert_int_equal(d, S(1800));
	/* an orderly close waits only ReconnectInterval, a refusal grows the wait */
	expect_one(f, now, 0, 0, -1);
	up(p, 1, now);
	now += S(f->cfg.link_timeout_s);
	heard(p, 1, now - 1);
	down(p, 1, now, LINKPLAN_CLOSED);
	assert_int_equal(linkplan_get(p, f->a[0].identity, now, &info), 0);
	assert_int_equal(info.failures, 0); /* a link that held ends the run */
	assert_true(info.next_try_ms - now <= S(30));
}

/*
 * With no link up, failures neither grow the wait nor demote: our own network or a partition
 * may be at fault, and the first try after it heals must come within ReconnectInterval.
 */
static void test_isolated_retry(void **state)
{
	struct fx *f = *state;
	struct linkplan_info info;
	struct linkplan *p;
	uint64_t now = 0;

	f->cfg.min_links = 2;
	p = fx_plan(f, 12);
	add_spread(p, 1, LINKPLAN_CONFIGURED, 0);
	add_spread(p, 2, LINKPLAN_DISCOVERED, 0);
	for (int k = 1; k <= 6; k++) { /* more than MaxRetries */
		assert_int_equal(count_act(f->a, decide(f, now), LINKPLAN_CONNECT, 0), 2);
		now += S(f->cfg.handshake_timeout_s);
		assert_int_equal(
		    count_act(f->a, decide(f, now), LINKPLAN_DISCONNECT, LINKPLAN_WHY_HANDSHAKE),
		    2);
		for (int n = 1; n <= 2; n++) {
			assert_int_equal(get(p, n, now, &info), 0);
			assert_int_equal(info.failures, 0);
			assert_int_equal(info.cls,
			                 n == 1 ? LINKPLAN_CONFIGURED : LINKPLAN_DISCOVERED);
			assert_true(info.next_try_ms - now <= S(f->cfg.reconnect_interval_s));
		}
		now += S(f->cfg.reconnect_interval_s);
	}
	/* With a link up, a failure is the relay's own again: it counts and backs off. */
	add_spread(p, 3, LINKPLAN_DISCOVERED, now);
	up(p, 3, now);
	expect_one(f, now, LINKPLAN_CONNECT, LINKPLAN_WHY_FILL, -1);
	down(p, num_of(f->a[0].identity), now + S(1), LINKPLAN_FAILED);
	assert_int_equal(linkplan_get(p, f->a[0].identity, now + S(1), &info), 0);
	assert_int_equal(info.failures, 1);
}

/* MaxRetries failures in a row: UNTRUSTED, others are tried, back after the penalty. */
static void test_retries_untrusted(void **state)
{
	struct fx *f = *state;
	struct linkplan_info info;
	struct linkplan_stats st;
	struct linkplan *p;
	uint64_t now = 0, end;

	f->cfg.min_links = 2;
	p = fx_anchored(f, 9);
	add_spread(p, 1, LINKPLAN_DISCOVERED, 0);
	for (unsigned k = 1; k <= f->cfg.max_retries; k++) {
		if (k > 1)
			now = info.next_try_ms;
		expect_one(f, now, 0, 0, 1);
		assert_int_equal(cls_of(p, 1, now), LINKPLAN_DISCOVERED);
		down(p, 1, now, LINKPLAN_FAILED);
		assert_int_equal(linkplan_get(p, f->a[0].identity, now, &info), 0);
	}
	assert_int_equal(cls_of(p, 1, now), LINKPLAN_UNTRUSTED);
	assert_int_equal(info.next_try_ms, now + S(f->cfg.untrusted_s));
	/* while untrusted it is not tried; another is */
	assert_int_equal(decide(f, now + S(10)), 0);
	add_spread(p, 2, LINKPLAN_DISCOVERED, now + S(10));
	expect_one(f, now + S(10), 0, 0, 2);
	down(p, 2, now + S(11), LINKPLAN_FAILED);
	/* an inbound link from an untrusted relay is dropped */
	up(p, 1, now + S(12));
	assert_int_equal(
	    count_act(f->a, decide(f, now + S(12)), LINKPLAN_DISCONNECT, LINKPLAN_WHY_MISBEHAVED),
	    1);
	/* the penalty ends: DISCOVERED again and tried */
	end = now + S(f->cfg.untrusted_s) + S(60);
	decide(f, end);
	assert_int_equal(cls_of(p, 1, end), LINKPLAN_DISCOVERED);
	assert_int_equal(count_act(f->a, f->n, LINKPLAN_CONNECT, 0), 1);
	linkplan_get_stats(p, &st);
	assert_int_equal(st.demoted, 1);
	assert_int_equal(st.failures, 4);
}

static void test_misbehaved(void **state)
{
	struct fx *f = *state;
	struct linkplan *p;
	uint64_t back = S(1 + f->cfg.untrusted_s);
	uint8_t id[32];

	f->cfg.min_links = 0;
	p = fx_plan(f, 10);
	two_linked(p, LINKPLAN_VERIFIED, LINKPLAN_TRUSTED);
	id_of(1, id);
	assert_int_equal(linkplan_misbehaved(p, id, S(1)), 0);
	id_of(2, id);
	assert_int_equal(linkplan_misbehaved(p, id, S(1)), 0);
	assert_int_equal(linkplan_next_ms(p, S(1)), S(1));
	assert_int_equal(
	    count_act(f->a, decide(f, S(1)), LINKPLAN_DISCONNECT, LINKPLAN_WHY_MISBEHAVED), 2);
	assert_int_equal(cls_of(p, 1, S(1)), LINKPLAN_UNTRUSTED);
	assert_int_equal(cls_of(p, 2, S(1)), LINKPLAN_TRUSTED); /* the operator's word stands */
	assert_int_equal(linkplan_count_up(p), 0);
	/* inbound during the penalty: dropped; after it: kept, DISCOVERED again */
	up(p, 1, S(2));
	assert_int_equal(
	    count_act(f->a, decide(f, S(2)), LINKPLAN_DISCONNECT, LINKPLAN_WHY_MISBEHAVED), 1);
	up(p, 1, back);
	assert_int_equal(cls_of(p, 1, back), LINKPLAN_DISCOVERED);
	assert_int_equal(count_act(f->a, decide(f, back), LINKPLAN_DISCONNECT, 0), 0);
	assert_int_equal(linkplan_count_up(p), 1);
}

/* 24 h of link time, in one link or several, makes DISCOVERED VERIFIED. */
static void test_verified(void **state)
{
	struct fx *f = *state;
	struct linkplan_stats st;
	struct linkplan *p;
	uint64_t t;

	f->cfg.min_links = 0;
	p = fx_plan(f, 12);
	two_linked(p, LINKPLAN_DISCOVERED, LINKPLAN_DISCOVERED);
	/* relays that answer every heartbeat */
	for (t = S(60); t < S(24 * 3600); t += S(60)) {
		size_t n;

		heard(p, 1, t - S(1));
		heard(p, 2, t - S(1));
		n = decide(f, t);
		assert_int_equal(n, linkplan_count_up(p));
		assert_int_equal(count_act(f->a, n, LINKPLAN_HEARTBEAT, 0), n);
		if (t == S(12 * 3600))
			down(p, 2, t, LINKPLAN_CLOSED);
		if (t == S(13 * 3600))
			up(p, 2, t);
	}
	assert_int_equal(cls_of(p, 1, t - S(60)), LINKPLAN_DISCOVERED);
	heard(p, 1, t);
	heard(p, 2, t);
	decide(f, t);
	assert_int_equal(cls_of(p, 1, t), LINKPLAN_VERIFIED);
	assert_int_equal(cls_of(p, 2, t), LINKPLAN_DISCOVERED); /* an hour short */
	heard(p, 2, t + S(3600));
	down(p, 2, t + S(3600), LINKPLAN_CLOSED);
	assert_int_equal(cls_of(p, 2, t + S(3600)), LINKPLAN_VERIFIED);
	linkplan_get_stats(p, &st);
	assert_int_equal(st.promoted, 2);
}

static void pick3(uint64_t seed, int out[3])
{
	struct linkplan_config cfg;
	struct linkplan_action a[CAP];
	struct linkplan_cand c;
	struct linkplan *p;
	struct rng r = {seed};
	char ip[32];

	linkplan_config_default(&cfg);
	p = plan_with(&cfg, &r);
	for (int i = 0; i < 50; i++) {
		snprintf(ip, sizeof(ip), "60.1.%d.1", i);
		cand(&c, i, ip, LINKPLAN_DISCOVERED, "FR", NULL);
		assert_int_equal(linkplan_add(p, &c, 0), 0);
	}
	assert_int_equal(linkplan_decide(p, 0, a, CAP), 3);
	for (int i = 0; i < 3; i++)
		out[i] = num_of(a[i].identity);
	linkplan_free(p);
}

/* Equal candidates: different seeds pick different sets; the same seed the same set. */
static void test_random_tiebreak(void **state)
{
	int x[3], y[3], z[3], same = 0;

	(void)state;
	pick3(0x1234, x);
	pick3(0x1234, y);
	assert_memory_equal(x, y, sizeof(x));
	pick3(0x9876, z);
	for (int i = 0; i < 3; i++)
		for (int j = 0; j < 3; j++)
			same += x[i] == z[j];
	assert_true(same < 3);
}

/* Two links in one /16: a candidate elsewhere replaces one of them. */
static void test_swap(void **state)
{
	struct fx *f = *state;
	struct linkplan *p;

	f->cfg.min_links = 2;
	f->cfg.max_links = 2;
	p = fx_plan(f, 13);
	assert_int_equal(add_at(p, 1, "70.1.0.1", LINKPLAN_DISCOVERED, NULL, NULL, 0), 0);
	assert_int_equal(add_at(p, 2, "70.1.0.2", LINKPLAN_DISCOVERED, NULL, NULL, 0), 0);
	up(p, 1, 0);
	up(p, 2, S(1));
	assert_int_equal(add_at(p, 3, "80.1.0.1", LINKPLAN_DISCOVERED, NULL, NULL, S(2)), 0);
	expect_one(f, S(2), LINKPLAN_CONNECT, LINKPLAN_WHY_SWAP, 3);
	up(p, 3, S(3));
	/* the newer of the crowded pair goes */
	expect_one(f, S(3), LINKPLAN_DISCONNECT, LINKPLAN_WHY_SWAP, 2);
	assert_int_equal(linkplan_count_up(p), 2);
	/* diverse now: no swap at the next interval */
	heard(p, 1, S(700));
	heard(p, 3, S(700));
	decide(f, S(700));
	assert_int_equal(count_act(f->a, f->n, LINKPLAN_CONNECT, 0), 0);
	assert_int_equal(count_act(f->a, f->n, LINKPLAN_DISCONNECT, 0), 0);
}

/*
 * The next swap is due 3/4 to 5/4 of the interval after the last, at random: plans started
 * together (a network restarted, a simulator's relays) do not all swap in the same minute.
 * With heartbeats and timeouts out of the way, linkplan_next_ms shows when the next swap is due.
 */
static void test_swap_jitter(void **state)
{
	struct fx *f = *state;
	uint64_t first = 0, lo = UINT64_MAX, hi = 0;

	for (uint64_t seed = 1; seed <= 8; seed++) {
		struct linkplan *p;
		uint64_t next;

		f->cfg.min_links = 2;
		f->cfg.max_links = 2;
		f->cfg.heartbeat_interval_s = 100000;
		f->cfg.link_timeout_s = 200000;
		linkplan_free(f->p);
		p = fx_plan(f, seed);
		assert_int_equal(add_at(p, 1, "70.1.0.1", LINKPLAN_DISCOVERED, NULL, NULL, 0), 0);
		assert_int_equal(add_at(p, 2, "70.1.0.2", LINKPLAN_DISCOVERED, NULL, NULL, 0), 0);
		up(p, 1, 0);
		up(p, 2, S(1));
		assert_int_equal(add_at(p, 3, "80.1.0.1", LINKPLAN_DISCOVERED, NULL, NULL, S(2)),
		                 0);
		expect_one(f, S(2), LINKPLAN_CONNECT, LINKPLAN_WHY_SWAP, 3);
		up(p, 3, S(3));
		expect_one(f, S(3), LINKPLAN_DISCONNECT, LINKPLAN_WHY_SWAP, 2);
		next = linkplan_next_ms(p, S(4));
		assert_in_range(next, S(2) + S(450), S(2) + S(750));
		if (seed == 1)
			first = next;
		lo = next < lo ? next : lo;
		hi = next > hi ? next : hi;
	}
	/* Eight plans: not one instant for all (the interval spread over 300 s). */
	assert_true(hi - lo >= S(30));
	assert_true(first >= lo && first <= hi);
}

static void test_remove_linked(void **state)
{
	struct fx *f = *state;
	struct linkplan *p;

	f->cfg.min_links = 0;
	p = fx_plan(f, 14);
	two_linked(p, LINKPLAN_DISCOVERED, LINKPLAN_DISCOVERED);
	assert_int_equal(remove_n(p, 1), 0);
	assert_int_equal(linkplan_count(p), 2); /* until its DISCONNECT */
	expect_one(f, S(1), 0, LINKPLAN_WHY_EXPIRED, 1);
	assert_int_equal(linkplan_count(p), 1);
	assert_int_equal(linkplan_count_up(p), 1);
	/* renewed before the decide: kept */
	assert_int_equal(remove_n(p, 2), 0);
	add_spread(p, 2, LINKPLAN_DISCOVERED, S(2));
	assert_int_equal(decide(f, S(2)), 0);
	assert_int_equal(linkplan_count_up(p), 1);
}

/* Full: the oldest of the lowest class goes; never the operator's, never a linked one. */
static void test_eviction(void **state)
{
	struct fx *f = *state;
	struct linkplan_info info;
	struct linkplan_stats st;
	struct linkplan *p;

	f->cfg.max_candidates = 8;
	p = fx_plan(f, 15);
	for (int i = 0; i < 8; i++)
		add_spread(p, i, LINKPLAN_DISCOVERED, 0);
	up(p, 0, 0);
	add_spread(p, 1, LINKPLAN_DISCOVERED, 0); /* refreshed: now the newest */
	add_spread(p, 8, LINKPLAN_DISCOVERED, 0);
	assert_int_equal(get(p, 0, 0, &info), 0);       /* linked: kept */
	assert_int_equal(get(p, 2, 0, &info), -ENOENT); /* oldest unlinked */
	assert_int_equal(get(p, 1, 0, &info), 0);
	assert_int_equal(linkplan_count(p), 8);
	/* the operator's push out discovered ones, then nothing pushes them out */
	for (int i = 100; i < 107; i++)
		add_spread(p, i, LINKPLAN_CONFIGURED, 0);
	assert_int_equal(add_at(p, 200, "20.200.0.1", LINKPLAN_VERIFIED, NULL, NULL, 0), -ENOSPC);
	linkplan_get_stats(p, &st);
	assert_int_equal(st.evicted, 8);
	assert_int_equal(st.rejected, 1);
}

/* A class raised by add moves the candidate to its new class's eviction list. */
static void test_eviction_after_raise(void **state)
{
	struct fx *f = *state;
	struct linkplan_info info;
	struct linkplan *p;

	f->cfg.max_candidates = 8;
	p = fx_plan(f, 16);
	for (int i = 0; i < 8; i++)
		add_spread(p, i, LINKPLAN_DISCOVERED, 0);
	add_spread(p, 0, LINKPLAN_VERIFIED, 0);
	add_spread(p, 3, LINKPLAN_TRUSTED, 0);
	for (int i = 10; i < 40; i++) {
		add_spread(p, i, LINKPLAN_DISCOVERED, 0);
		assert_int_equal(linkplan_count(p), 8);
	}
	/* kept: the raised two and the newest six discovered */
	for (int i = 0; i < 40; i++)
		assert_int_equal(get(p, i, 0, &info), i == 0 || i == 3 || i >= 34 ? 0 : -ENOENT);
	assert_int_equal(cls_of(p, 0, 0), LINKPLAN_VERIFIED);
	assert_int_equal(cls_of(p, 3, 0), LINKPLAN_TRUSTED);
	/* then a verified one pushes out discovered ones only */
	for (int i = 50; i < 56; i++)
		add_spread(p, i, LINKPLAN_VERIFIED, 0);
	/* nothing as low is left */
	assert_int_equal(add_at(p, 60, "20.60.0.1", LINKPLAN_DISCOVERED, NULL, NULL, 0), -ENOSPC);
	add_spread(p, 61, LINKPLAN_VERIFIED, 0); /* evicts the oldest verified */
	assert_int_equal(get(p, 0, 0, &info), -ENOENT);
	assert_int_equal(get(p, 3, 0, &info), 0);
}

#define NET_N 40

/*
 * 40 relays that all know each other, links made both ways at once: every relay ends with
 * MinLinks..MaxLinks links, the graph is connected, and no relay is everyone's choice.
 */
static void test_small_network(void **state)
{
	static struct linkplan *net[NET_N];
	static struct rng rr[NET_N];
	struct linkplan_config cfg;
	struct linkplan_action a[CAP];
	uint8_t seen[NET_N] = {0};
	int queue[NET_N], qh = 0, qt = 0, maxdeg = 0;

	(void)state;
	linkplan_config_default(&cfg);
	for (int i = 0; i < NET_N; i++) {
		rr[i].s = 0x1000 + (uint64_t)i * 7919;
		id_of(i, cfg.self);
		net[i] = plan_with(&cfg, &rr[i]);
		for (int j = 0; j < NET_N; j++)
			if (j != i)
				add_spread(net[i], j, LINKPLAN_DISCOVERED, 0);
	}
	for (uint64_t t = 0; t < S(600); t += S(1)) {
		for (int i = 0; i < NET_N; i++) {
			size_t n = linkplan_decide(net[i], t, a, CAP);
			uint8_t me[32];

			id_of(i, me);
			for (size_t k = 0; k < n; k++) {
				struct linkplan *o = net[num_of(a[k].identity)];

				if (a[k].act == LINKPLAN_CONNECT) {
					assert_int_equal(linkplan_link_up(o, me, t), 0);
					assert_int_equal(linkplan_link_up(net[i], a[k].identity, t),
					                 0);
				} else if (a[k].act == LINKPLAN_DISCONNECT) {
					assert_int_equal(
					    linkplan_link_down(o, me, t, LINKPLAN_CLOSED), 0);
				} else {
					linkplan_heard(o, me, t);
				}
			}
		}
	}
	for (int i = 0; i < NET_N; i++) {
		size_t up_i = linkplan_count_up(net[i]);

		assert_true(up_i >= cfg.min_links && up_i <= cfg.max_links);
		if ((int)up_i > maxdeg)
			maxdeg = (int)up_i;
	}
	assert_true(maxdeg < NET_N - 1);
	/* connected: walk the links from relay 0 */
	queue[qt++] = 0;
	seen[0] = 1;
	while (qh < qt) {
		int i = queue[qh++];

		for (int j = 0; j < NET_N; j++) {
			struct linkplan_info info;
			uint8_t id[32];

			id_of(j, id);
			if (j == i || seen[j] || linkplan_get(net[i], id, S(600), &info) < 0 ||
			    info.state != LINKPLAN_UP)
				continue;
			seen[j] = 1;
			queue[qt++] = j;
		}
	}
	assert_int_equal(qt, NET_N);
	for (int i = 0; i < NET_N; i++)
		linkplan_free(net[i]);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(linkplan_class_name(LINKPLAN_CONFIGURED), "configured");
	assert_string_equal(linkplan_class_name(3), "unknown");
	assert_string_equal(linkplan_act_name(LINKPLAN_HEARTBEAT), "heartbeat");
	assert_string_equal(linkplan_why_name(LINKPLAN_WHY_SURPLUS), "surplus");
	assert_string_equal(linkplan_why_name(LINKPLAN_WHY_IDLE), "idle");
	assert_string_equal(linkplan_state_name(LINKPLAN_BACKOFF), "backoff");
	assert_string_equal(linkplan_state_name(9), "unknown");
}

/*
 * ERROR(link-closed) reasons: a dial race ("duplicate") or the peer's housekeeping is an
 * orderly close, so the wait stays at ReconnectInterval however often it happens; "no-room"
 * is a refusal and grows it.
 */
static void test_close_reasons(void **state)
{
	struct fx *f = *state;
	struct linkplan_info info;
	struct linkplan_stats st;
	struct linkplan *p;
	uint64_t now = 0, wait_closed = 0, wait_refused = 0;
	const char *closed[] = {"duplicate", "surplus",           "swap", "timeout", "expired",
	                        "handshake", "some-future-reason"};

	for (size_t i = 0; i < sizeof(closed) / sizeof(closed[0]); i++)
		assert_int_equal(linkplan_down_for_close(closed[i]), LINKPLAN_CLOSED);
	assert_int_equal(linkplan_down_for_close("no-room"), LINKPLAN_REFUSED);
	assert_int_equal(linkplan_down_for_close("misbehaved"), LINKPLAN_REFUSED);

	f->cfg.min_links = 1;
	p = fx_plan(f, 9);
	add_spread(p, 1, LINKPLAN_DISCOVERED, 0);
	for (int k = 0; k < 4; k++) {
		expect_one(f, now, 0, 0, 1);
		down(p, 1, now, linkplan_down_for_close("duplicate"));
		assert_int_equal(linkplan_get(p, f->a[0].identity, now, &info), 0);
		wait_closed = info.next_try_ms - now;
		now = info.next_try_ms;
	}
	assert_true(wait_closed <= S(30));
	linkplan_get_stats(p, &st);
	assert_int_equal(st.refused, 0);
	for (int k = 0; k < 4; k++) {
		expect_one(f, now, 0, 0, 1);
		down(p, 1, now, linkplan_down_for_close("no-room"));
		assert_int_equal(linkplan_get(p, f->a[0].identity, now, &info), 0);
		wait_refused = info.next_try_ms - now;
		now = info.next_try_ms;
	}
	assert_true(wait_refused > S(30));
	linkplan_get_stats(p, &st);
	assert_int_equal(st.refused, 4);
}

/* A test on a fresh struct fx in *state. */
#define FX_TEST(t) cmocka_unit_test_setup_teardown(t, fx_setup, fx_teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_config_check),
	    FX_TEST(test_add_rules),
	    FX_TEST(test_index_churn),
	    FX_TEST(test_fill_to_min),
	    FX_TEST(test_configured_first),
	    cmocka_unit_test(test_diversity),
	    FX_TEST(test_diversity_family_country),
	    FX_TEST(test_over_max),
	    FX_TEST(test_pinned),
	    FX_TEST(test_young_spared),
	    FX_TEST(test_heartbeat_timeout),
	    FX_TEST(test_handshake_timeout),
	    FX_TEST(test_backoff),
	    FX_TEST(test_retries_untrusted),
	    FX_TEST(test_isolated_retry),
	    FX_TEST(test_misbehaved),
	    FX_TEST(test_verified),
	    cmocka_unit_test(test_random_tiebreak),
	    FX_TEST(test_swap),
	    FX_TEST(test_swap_jitter),
	    FX_TEST(test_remove_linked),
	    FX_TEST(test_eviction),
	    FX_TEST(test_eviction_after_raise),
	    cmocka_unit_test(test_small_network),
	    cmocka_unit_test(test_names),
	    FX_TEST(test_close_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
