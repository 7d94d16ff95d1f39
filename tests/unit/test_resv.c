/* Unit tests: libp2p/resv.c (Circuit Relay v2 reservations and circuits), with a fake clock. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "p2pmsg.h"
#include "peerid.h"
#include "resv.h"

#define T0 1700000000u /* the fake clock's start, Unix seconds */

static const struct resv_limits lim_default = {
    .max_resv = 1024,
    .max_resv_per_peer = 3,
    .max_resv_per_source = 16,
    .max_circ = 512,
    .max_circ_per_peer = 5,
    .resv_ttl_s = 3600,
    .circ_duration_s = 3600,
    .circ_bytes = 100000000,
};

/* Peer number i: the Ed25519 peer id of a key that is i in its first bytes. */
static struct peerid peer(unsigned i)
{
	uint8_t pk[32] = {0};
	struct peerid id;

	memcpy(pk, &i, sizeof(i));
	pk[31] = 0x5a;
	peerid_from_ed25519(pk, &id);
	return id;
}

static struct addr src(const char *s)
{
	struct addr a;

	assert_int_equal(addr_parse(&a, s, 0), 0);
	return a;
}

static int reserve(struct resv_table *t, unsigned p, uint64_t conn, const char *from, uint64_t now,
                   bool *renewed)
{
	struct peerid id = peer(p);
	struct addr a = src(from);
	uint64_t exp = 1;
	bool ren = true;
	int rc = resv_reserve(t, &id, conn, &a, now, &exp, &ren);

	if (rc == RS_OK)
		assert_int_equal(exp, now + resv_limits(t)->resv_ttl_s);
	else
		assert_int_equal(exp, 0);
	if (renewed)
		*renewed = ren;
	return rc;
}

static void test_total_limit(void **state)
{
	struct resv_limits lim = lim_default;
	struct resv_table *t;
	char a[32];
	unsigned i;

	(void)state;
	lim.max_resv = 5;
	assert_non_null(t = resv_new(&lim));
	for (i = 0; i < 5; i++) {
		snprintf(a, sizeof(a), "192.0.2.%u:4001", i + 1);
		assert_int_equal(reserve(t, i, 100 + i, a, T0, NULL), RS_OK);
	}
	assert_int_equal(resv_count(t), 5);
	/* The sixth peer, from a fresh source: the total alone refuses it, as the spec names. */
	assert_int_equal(reserve(t, 5, 200, "198.51.100.1:4001", T0, NULL), RS_RESERVATION_REFUSED);
	assert_int_equal(resv_count(t), 5);
	/* Renewal of a held one still works at the limit. */
	assert_int_equal(reserve(t, 0, 100, "192.0.2.1:4001", T0 + 10, NULL), RS_OK);
	/* A place freed is a place taken. */
	assert_int_equal(resv_conn_gone(t, 102), 1);
	assert_int_equal(reserve(t, 5, 200, "198.51.100.1:4001", T0, NULL), RS_OK);
	assert_int_equal(resv_count(t), 5);
	resv_free(t);
}

static void test_per_peer_limit(void **state)
{
	struct resv_table *t;
	uint64_t c;

	(void)state;
	assert_non_null(t = resv_new(&lim_default));
	/* One peer over three connections (from different sources), the fourth is refused. */
	assert_int_equal(reserve(t, 1, 10, "192.0.2.1:1", T0, NULL), RS_OK);
	assert_int_equal(reserve(t, 1, 11, "192.0.2.2:1", T0, NULL), RS_OK);
	assert_int_equal(reserve(t, 1, 12, "192.0.2.3:1", T0, NULL), RS_OK);
	assert_int_equal(reserve(t, 1, 13, "192.0.2.4:1", T0, NULL), RS_RESERVATION_REFUSED);
	/* Another peer is not affected. */
	assert_int_equal(reserve(t, 2, 13, "192.0.2.4:1", T0, NULL), RS_OK);
	assert_int_equal(resv_count(t), 4);
	/* Connection 13 holds peer 2's reservation only, not the refused one of peer 1. */
	assert_int_equal(resv_conn_gone(t, 13), 1);
	{
		struct peerid p1 = peer(1);

		assert_int_equal(resv_lookup(t, &p1, T0, &c), 0);
		assert_true(c >= 10 && c <= 12);
	}
	resv_free(t);
}

static void test_per_source_limit(void **state)
{
	struct resv_limits lim = lim_default;
	struct resv_table *t;

	(void)state;
	lim.max_resv_per_source = 2;
	assert_non_null(t = resv_new(&lim));
	/* Peers behind one IPv4 NAT address (ports differ): two, then refused. */
	assert_int_equal(reserve(t, 1, 1, "203.0.113.7:1000", T0, NULL), RS_OK);
	assert_int_equal(reserve(t, 2, 2, "203.0.113.7:1001", T0, NULL), RS_OK);
	assert_int_equal(reserve(t, 3, 3, "203.0.113.7:1002", T0, NULL), RS_RESERVATION_REFUSED);
	/* The v4-mapped spelling is the same source. */
	assert_int_equal(reserve(t, 3, 3, "[::ffff:203.0.113.7]:1002", T0, NULL),
	                 RS_RESERVATION_REFUSED);
	assert_int_equal(reserve(t, 3, 3, "203.0.113.8:1002", T0, NULL), RS_OK);
	/* IPv6: one /64 is one source, the next /64 another. */
	assert_int_equal(reserve(t, 4, 4, "[2001:db8:0:1::1]:1", T0, NULL), RS_OK);
	assert_int_equal(reserve(t, 5, 5, "[2001:db8:0:1:ffff::2]:1", T0, NULL), RS_OK);
	assert_int_equal(reserve(t, 6, 6, "[2001:db8:0:1:1234::3]:1", T0, NULL),
	                 RS_RESERVATION_REFUSED);
	assert_int_equal(reserve(t, 6, 6, "[2001:db8:0:2::1]:1", T0, NULL), RS_OK);
	/* The source counter goes with its reservations: the address takes two again. */
	assert_int_equal(resv_conn_gone(t, 1), 1);
	assert_int_equal(resv_conn_gone(t, 2), 1);
	assert_int_equal(reserve(t, 7, 7, "203.0.113.7:1", T0, NULL), RS_OK);
	assert_int_equal(reserve(t, 8, 8, "203.0.113.7:2", T0, NULL), RS_OK);
	assert_int_equal(reserve(t, 9, 9, "203.0.113.7:3", T0, NULL), RS_RESERVATION_REFUSED);
	resv_free(t);
}

static void test_zero_limits(void **state)
{
	struct resv_limits lim = lim_default;
	struct resv_table *t;
	struct peerid a = peer(1), b = peer(2);

	(void)state;
	lim.max_resv_per_peer = 0;
	lim.max_circ_per_peer = 0;
	assert_non_null(t = resv_new(&lim));
	assert_int_equal(reserve(t, 1, 1, "192.0.2.1:1", T0, NULL), RS_RESERVATION_REFUSED);
	assert_int_equal(resv_circuit_begin(t, &a, &b), RS_RESOURCE_LIMIT_EXCEEDED);
	lim.max_resv_per_peer = 1;
	lim.max_circ_per_peer = 1;
	resv_set_limits(t, &lim);
	assert_int_equal(reserve(t, 1, 1, "192.0.2.1:1", T0, NULL), RS_OK);
	assert_int_equal(resv_circuit_begin(t, &a, &b), RS_OK);
	resv_free(t);
}

static void test_renewal(void **state)
{
	struct resv_limits lim = lim_default;
	struct resv_table *t;
	bool ren = true;
	uint64_t c = 0;

	(void)state;
	lim.max_resv_per_peer = 1;
	assert_non_null(t = resv_new(&lim));
	assert_int_equal(reserve(t, 1, 10, "192.0.2.1:1", T0, &ren), RS_OK);
	assert_false(ren);
	/* Renewed on the same connection: reported, not counted twice (the per-peer limit of
	   one would refuse a second reservation). */
	assert_int_equal(reserve(t, 1, 10, "192.0.2.1:1", T0 + 1800, &ren), RS_OK);
	assert_true(ren);
	assert_int_equal(resv_count(t), 1);
	/* The renewal moved the expiry: alive past the first TTL, gone after the second. */
	assert_int_equal(resv_expire(t, T0 + 3600, NULL, NULL), 0);
	{
		struct peerid p1 = peer(1);

		assert_int_equal(resv_lookup(t, &p1, T0 + 3600, &c), 0);
		assert_int_equal(c, 10);
	}
	/* The same peer on another connection is a second reservation: over the limit. */
	assert_int_equal(reserve(t, 1, 11, "192.0.2.1:2", T0 + 1800, &ren), RS_RESERVATION_REFUSED);
	/* Lapsed but not swept: coming back on the same connection is new, not renewed. */
	assert_int_equal(reserve(t, 1, 10, "192.0.2.1:1", T0 + 1800 + 3600, &ren), RS_OK);
	assert_false(ren);
	assert_int_equal(resv_count(t), 1);
	resv_free(t);
}

struct expired {
	unsigned n;
	struct peerid last;
};

static void on_expire(void *arg, const struct peerid *p)
{
	struct expired *e = arg;

	e->n++;
	e->last = *p;
}

static void test_expiry(void **state)
{
	struct resv_limits lim = lim_default;
	struct resv_table *t;
	struct expired e = {0};
	struct peerid p1 = peer(1), p2 = peer(2);
	uint64_t c;

	(void)state;
	lim.resv_ttl_s = 100;
	lim.max_resv_per_source = 1;
	assert_non_null(t = resv_new(&lim));
	assert_int_equal(reserve(t, 1, 1, "192.0.2.1:1", T0, NULL), RS_OK);
	assert_int_equal(reserve(t, 2, 2, "192.0.2.2:1", T0 + 50, NULL), RS_OK);
	/* Live up to (not at) expire_s. */
	assert_int_equal(resv_lookup(t, &p1, T0 + 99, &c), 0);
	assert_int_equal(resv_lookup(t, &p1, T0 + 100, &c), -ENOENT);
	assert_int_equal(resv_expire(t, T0 + 99, on_expire, &e), 0);
	assert_int_equal(e.n, 0);
	assert_int_equal(resv_expire(t, T0 + 100, on_expire, &e), 1);
	assert_int_equal(e.n, 1);
	assert_true(peerid_equal(&e.last, &p1));
	assert_int_equal(resv_count(t), 1);
	/* Its source counter went with it: the same address may reserve again. */
	assert_int_equal(reserve(t, 3, 3, "192.0.2.1:9", T0 + 100, NULL), RS_OK);
	assert_int_equal(resv_expire(t, T0 + 1000, on_expire, &e), 2);
	assert_int_equal(e.n, 3);
	assert_int_equal(resv_count(t), 0);
	assert_int_equal(resv_lookup(t, &p2, T0, &c), -ENOENT);
	/* A NULL callback is allowed. */
	assert_int_equal(reserve(t, 1, 1, "192.0.2.1:1", T0, NULL), RS_OK);
	assert_int_equal(resv_expire(t, T0 + 100, NULL, NULL), 1);
	resv_free(t);
}

static void test_conn_gone_and_lookup(void **state)
{
	struct resv_table *t;
	struct peerid p1 = peer(1), p2 = peer(2);
	uint64_t c = 0;

	(void)state;
	assert_non_null(t = resv_new(&lim_default));
	assert_int_equal(resv_lookup(t, &p1, T0, &c), -ENOENT);
	assert_int_equal(reserve(t, 1, 10, "192.0.2.1:1", T0, NULL), RS_OK);
	assert_int_equal(reserve(t, 1, 11, "192.0.2.1:2", T0 + 5, NULL), RS_OK);
	assert_int_equal(reserve(t, 2, 11, "192.0.2.1:2", T0 + 5, NULL), RS_OK);
	/* The newest is the last made... */
	assert_int_equal(resv_lookup(t, &p1, T0 + 6, &c), 0);
	assert_int_equal(c, 11);
	/* ...or renewed. */
	assert_int_equal(reserve(t, 1, 10, "192.0.2.1:1", T0 + 7, NULL), RS_OK);
	assert_int_equal(resv_lookup(t, &p1, T0 + 8, &c), 0);
	assert_int_equal(c, 10);
	/* Closing connection 10 leaves peer 1 its reservation on 11. */
	assert_int_equal(resv_conn_gone(t, 10), 1);
	assert_int_equal(resv_lookup(t, &p1, T0 + 8, &c), 0);
	assert_int_equal(c, 11);
	/* Connection 11 held two peers' reservations. */
	assert_int_equal(resv_conn_gone(t, 11), 2);
	assert_int_equal(resv_conn_gone(t, 11), 0);
	assert_int_equal(resv_lookup(t, &p1, T0 + 8, &c), -ENOENT);
	assert_int_equal(resv_lookup(t, &p2, T0 + 8, &c), -ENOENT);
	assert_int_equal(resv_count(t), 0);
	/* Per-peer counts went too: three new ones fit. */
	assert_int_equal(reserve(t, 1, 20, "192.0.2.1:1", T0, NULL), RS_OK);
	assert_int_equal(reserve(t, 1, 21, "192.0.2.1:1", T0, NULL), RS_OK);
	assert_int_equal(reserve(t, 1, 22, "192.0.2.1:1", T0, NULL), RS_OK);
	assert_int_equal(reserve(t, 1, 23, "192.0.2.1:1", T0, NULL), RS_RESERVATION_REFUSED);
	resv_free(t);
}

static void test_circuits(void **state)
{
	struct resv_limits lim = lim_default;
	struct resv_table *t;
	struct peerid a = peer(1), b = peer(2), c = peer(3), d = peer(4), e = peer(5);
	unsigned i;

	(void)state;
	lim.max_circ = 8;
	assert_non_null(t = resv_new(&lim));
	/* Five circuits a -> b: the sixth for either end is refused. */
	for (i = 0; i < 5; i++)
		assert_int_equal(resv_circuit_begin(t, &a, &b), RS_OK);
	assert_int_equal(resv_peer_circuits(t, &a), 5);
	assert_int_equal(resv_peer_circuits(t, &b), 5);
	assert_int_equal(resv_circuit_begin(t, &a, &c), RS_RESOURCE_LIMIT_EXCEEDED);
	assert_int_equal(resv_circuit_begin(t, &c, &b), RS_RESOURCE_LIMIT_EXCEEDED);
	/* A refusal left nothing behind for the innocent end. */
	assert_int_equal(resv_peer_circuits(t, &c), 0);
	assert_int_equal(resv_circuits(t), 5);
	/* Other peers go on until the total of eight. */
	for (i = 0; i < 3; i++)
		assert_int_equal(resv_circuit_begin(t, &c, &d), RS_OK);
	assert_int_equal(resv_circuits(t), 8);
	assert_int_equal(resv_circuit_begin(t, &d, &c), RS_RESOURCE_LIMIT_EXCEEDED);
	/* End undoes begin, at both ends and in total. */
	resv_circuit_end(t, &a, &b);
	assert_int_equal(resv_circuits(t), 7);
	assert_int_equal(resv_peer_circuits(t, &a), 4);
	assert_int_equal(resv_peer_circuits(t, &b), 4);
	assert_int_equal(resv_circuit_begin(t, &b, &a), RS_OK);
	assert_int_equal(resv_peer_circuits(t, &a), 5);
	/* An end naming a peer without circuits changes nothing (no counter may underflow). */
	resv_circuit_end(t, &a, &e);
	resv_circuit_end(t, &e, &d);
	assert_int_equal(resv_circuits(t), 8);
	assert_int_equal(resv_peer_circuits(t, &d), 3);
	while (resv_circuits(t))
		resv_circuit_end(t, resv_peer_circuits(t, &a) ? &a : &c,
		                 resv_peer_circuits(t, &a) ? &b : &d);
	assert_int_equal(resv_peer_circuits(t, &a), 0);
	assert_int_equal(resv_peer_circuits(t, &d), 0);
	resv_circuit_end(t, &a, &b); /* one too many: ignored */
	assert_int_equal(resv_circuits(t), 0);
	resv_free(t);
}

static void test_circuit_self(void **state)
{
	struct resv_limits lim = lim_default;
	struct resv_table *t;
	struct peerid a = peer(1);

	(void)state;
	lim.max_circ_per_peer = 3;
	assert_non_null(t = resv_new(&lim));
	/* A peer at both ends takes two of its slots. */
	assert_int_equal(resv_circuit_begin(t, &a, &a), RS_OK);
	assert_int_equal(resv_peer_circuits(t, &a), 2);
	assert_int_equal(resv_circuit_begin(t, &a, &a), RS_RESOURCE_LIMIT_EXCEEDED);
	resv_circuit_end(t, &a, &a);
	assert_int_equal(resv_peer_circuits(t, &a), 0);
	assert_int_equal(resv_circuits(t), 0);
	resv_free(t);
}

/* Many peers and sources: the maps grow, every counter is found again and freed at zero. */
static void test_many(void **state)
{
	struct resv_limits lim = lim_default;
	struct resv_table *t;
	struct expired e = {0};
	char a[64];
	unsigned i;
	uint64_t c;

	(void)state;
	lim.max_resv = 3000;
	lim.max_circ = 3000;
	assert_non_null(t = resv_new(&lim));
	for (i = 0; i < 3000; i++) {
		snprintf(a, sizeof(a), "[2001:db8:%x::1]:4001", i);
		assert_int_equal(reserve(t, i, i, a, T0 + i, NULL), RS_OK);
	}
	assert_int_equal(reserve(t, 5000, 5000, "192.0.2.1:1", T0, NULL), RS_RESERVATION_REFUSED);
	for (i = 0; i < 3000; i += 2) {
		struct peerid x = peer(i), y = peer(i + 1);

		assert_int_equal(resv_circuit_begin(t, &x, &y), RS_OK);
	}
	assert_int_equal(resv_circuits(t), 1500);
	for (i = 0; i < 3000; i += 97) {
		struct peerid x = peer(i);

		assert_int_equal(resv_lookup(t, &x, T0, &c), 0);
		assert_int_equal(c, i);
	}
	assert_int_equal(resv_expire(t, T0 + 3600 + 1499, on_expire, &e), 1500);
	assert_int_equal(resv_count(t), 1500);
	for (i = 0; i < 3000; i += 2) {
		struct peerid x = peer(i), y = peer(i + 1);

		resv_circuit_end(t, &x, &y);
	}
	assert_int_equal(resv_circuits(t), 0);
	assert_int_equal(resv_expire(t, UINT64_MAX, on_expire, &e), 1500);
	assert_int_equal(e.n, 3000);
	resv_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_total_limit),
	    cmocka_unit_test(test_per_peer_limit),
	    cmocka_unit_test(test_per_source_limit),
	    cmocka_unit_test(test_zero_limits),
	    cmocka_unit_test(test_renewal),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_conn_gone_and_lookup),
	    cmocka_unit_test(test_circuits),
	    cmocka_unit_test(test_circuit_self),
	    cmocka_unit_test(test_many),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
