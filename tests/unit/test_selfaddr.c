/* test_selfaddr.c: our public address is what the relays' majority saw, not one relay's word. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "selfaddr.h"

static const struct addr unset; /* a link without an observation */

static struct addr A(const char *s) {
	struct addr a;
	assert_int_equal(addr_parse(&a, s, 1), 0);
	return a;
}

static void
assert_ip(const struct selfaddr_vote *v, const char *ip)
{
	struct addr want = A(ip);
	assert_true(v->known);
	assert_true(addr_equal_ip(&v->addr, &want));
}

/* Three relays agree, one lies (the South Pole): the three win, whatever the order. */
static void test_majority_beats_liar(void **state)
{
	(void)state;
	struct addr obs[4] = {A("198.51.100.9:4000"), A("203.0.113.7:51820"),
	                      A("203.0.113.7:51821"), A("203.0.113.7:40001")};
	struct selfaddr_vote v = selfaddr_decide(obs, 4, NULL);
	assert_ip(&v, "203.0.113.7"); /* the liar came first, and each relay saw another port */
	assert_int_equal(v.votes, 3);
	assert_int_equal(v.total, 4);
	/* ... even when the liar's word is the address in use. */
	struct addr liar = A("198.51.100.9:4000");
	v = selfaddr_decide(obs, 4, &liar);
	assert_ip(&v, "203.0.113.7");
	/* Two against one is a majority too; links without an observation do not count. */
	struct addr three[4] = {A("203.0.113.7:1"), unset, A("198.51.100.9:2"), A("203.0.113.7:3")};
	v = selfaddr_decide(three, 4, NULL);
	assert_ip(&v, "203.0.113.7");
	assert_int_equal(v.total, 3);
	/* IPv4-mapped IPv6 is the same IPv4 address. */
	struct addr mapped[2] = {A("[::ffff:203.0.113.7]:5"), A("203.0.113.7:6")};
	v = selfaddr_decide(mapped, 2, NULL);
	assert_ip(&v, "203.0.113.7");
	assert_int_equal(v.votes, 2);
}

/* One relay: its word is all there is. */
static void test_one_relay(void **state)
{
	(void)state;
	struct addr obs[1] = {A("203.0.113.7:51820")};
	struct selfaddr_vote v = selfaddr_decide(obs, 1, NULL);
	assert_ip(&v, "203.0.113.7");
	assert_int_equal(v.votes, 1);
}

/* A tie is no majority: the address in use stays if it is among the tied, else unknown. */
static void test_ties(void **state)
{
	(void)state;
	struct addr obs[2] = {A("203.0.113.7:1"), A("198.51.100.9:2")};
	struct selfaddr_vote v = selfaddr_decide(obs, 2, NULL);
	assert_false(v.known);
	struct addr cur = A("198.51.100.9:7");
	v = selfaddr_decide(obs, 2, &cur);
	assert_ip(&v, "198.51.100.9");
	assert_int_equal(addr_port(&v.addr), 7); /* kept as it was */
	/* 2-2 with the address in use among them: kept; not among them: unknown. */
	struct addr four[4] = {A("203.0.113.7:1"), A("198.51.100.9:2"), A("203.0.113.7:3"),
	                       A("198.51.100.9:4")};
	cur = A("203.0.113.7:1");
	v = selfaddr_decide(four, 4, &cur);
	assert_ip(&v, "203.0.113.7");
	cur = A("192.0.2.1:1");
	v = selfaddr_decide(four, 4, &cur);
	assert_false(v.known);
	/* 1-1-1: nobody agrees; the address in use stays only if one of them saw it. */
	struct addr three[3] = {A("203.0.113.7:1"), A("198.51.100.9:2"), A("192.0.2.1:3")};
	v = selfaddr_decide(three, 3, &cur);
	assert_ip(&v, "192.0.2.1");
	v = selfaddr_decide(three, 3, NULL);
	assert_false(v.known);
}

/* No relay link up: nothing known stays unknown, a known address is kept. */
static void test_no_relays(void **state)
{
	(void)state;
	struct selfaddr_vote v = selfaddr_decide(NULL, 0, NULL);
	assert_false(v.known);
	assert_int_equal(v.total, 0);
	struct addr cur = A("203.0.113.7:1");
	v = selfaddr_decide(NULL, 0, &cur);
	assert_ip(&v, "203.0.113.7");
	struct addr none[2] = {unset, unset};
	v = selfaddr_decide(none, 2, NULL);
	assert_false(v.known);
}

/* The majority changes (we moved, or relays were replaced): the address follows. */
static void test_majority_changes(void **state)
{
	(void)state;
	struct addr obs[3] = {A("203.0.113.7:1"), A("203.0.113.7:2"), A("198.51.100.9:3")};
	struct selfaddr_vote v = selfaddr_decide(obs, 3, NULL);
	assert_ip(&v, "203.0.113.7");
	struct addr cur = v.addr;
	/* One relay's new word is not enough ... */
	obs[0] = A("198.51.100.9:4");
	v = selfaddr_decide(obs, 3, &cur);
	assert_ip(&v, "198.51.100.9"); /* ... but two of three is */
	cur = v.addr;
	obs[1] = A("198.51.100.9:5");
	obs[2] = A("203.0.113.7:6");
	v = selfaddr_decide(obs, 3, &cur);
	assert_ip(&v, "198.51.100.9");
	assert_int_equal(v.votes, 2);
	/* The same IP seen at another port is no change of address. */
	struct addr moved_port[1] = {A("198.51.100.9:9999")};
	v = selfaddr_decide(moved_port, 1, &cur);
	assert_true(addr_equal(&v.addr, &cur));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_majority_beats_liar),
	    cmocka_unit_test(test_one_relay),
	    cmocka_unit_test(test_ties),
	    cmocka_unit_test(test_no_relays),
	    cmocka_unit_test(test_majority_changes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
