/*
 * session: pairing (second binder pairs), refusal of a third (SESSION_FULL), rebind by the same
 * client key, unbind, circuit limits and idle/duration expiry. Sealed mode needs no sockets; the
 * links have no control socket (fd -1), so notices to them are dropped and counted.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "relay.h"
#include "relay_fixture.h"

static struct ctrl_msg bindreq(const uint8_t sid[16])
{
	struct ctrl_msg m = {.type = CTRL_BIND, .mode = PROTO_MODE_SEALED};

	memcpy(m.sid, sid, 16);
	return m;
}

static void test_pair_full_rebind_unbind(void **state)
{
	struct relay *r = relay_fixture_new();
	struct link a, b, c, a2;
	struct ctrl_msg req, ra, rb, rc;
	uint8_t sid[16];
	struct session *s;

	(void)state;
	randombytes_buf(sid, sizeof(sid));
	req = bindreq(sid);
	relay_fixture_link_init(r, &a, 1, "198.51.100.1:1000");
	relay_fixture_link_init(r, &b, 2, "203.0.113.2:2000");
	relay_fixture_link_init(r, &c, 3, "192.0.2.3:3000");
	relay_fixture_link_init(r, &a2, 1,
	                        "198.51.100.9:1001"); /* the same client key on a new link */
	assert_null(session_find(r, sid));
	assert_int_equal(session_bind(r, &a, &req, &ra), 0);
	assert_int_equal(ra.type, CTRL_BOUND);
	assert_int_equal(ra.state, PROTO_WAITING);
	assert_int_equal(r->reservations, 1);
	assert_int_equal(r->circuits, 0);
	assert_non_null(s = session_find(r, sid));
	assert_int_equal(session_bind(r, &b, &req, &rb), 0);
	assert_int_equal(rb.state, PROTO_PAIRED);
	assert_int_not_equal(ra.handle, rb.handle);
	assert_int_equal(r->reservations, 2);
	assert_int_equal(r->circuits, 1);
	assert_int_equal(a.qkey->circuits, 1);
	assert_int_equal(b.qkey->circuits, 1);
	assert_int_equal(a.qsrc->circuits, 1);
	assert_int_equal(a.qkey->reservations, 1);
	/* A third client key is refused, and nothing changes. */
	assert_int_equal(session_bind(r, &c, &req, &rc), PROTO_ERR_SESSION_FULL);
	assert_int_equal(c.nbinds, 0);
	assert_int_equal(r->reservations, 2);
	/* The same mode is required of every binder. */
	req.mode = PROTO_MODE_DIRECT;
	assert_int_equal(session_bind(r, &c, &req, &rc), PROTO_ERR_MODE_MISMATCH);
	req.mode = PROTO_MODE_SEALED;
	/* A rebind by A's key from another link replaces A's membership (same handle). */
	assert_int_equal(session_bind(r, &a2, &req, &rc), 0);
	assert_int_equal(rc.handle, ra.handle);
	assert_int_equal(rc.state, PROTO_PAIRED);
	assert_ptr_equal(s->m[0].link, &a2);
	assert_true(addr_equal(&s->m[0].link_ip, &a2.addr));
	assert_int_equal(a.nbinds, 0);
	assert_int_equal(a2.nbinds, 1);
	/* The key still holds one reservation and one circuit, charged where it bound first. */
	assert_ptr_equal(a.qkey, a2.qkey);
	assert_int_equal(a2.qkey->reservations, 1);
	assert_int_equal(a2.qkey->circuits, 1);
	assert_int_equal(a.qsrc->reservations, 1);
	assert_int_equal(a2.qsrc->reservations, 0);
	assert_int_equal(r->reservations, 2);
	/* Unbinding needs the member's own link and handle. */
	assert_int_equal(session_unbind(r, &a, ra.handle), PROTO_ERR_UNKNOWN_HANDLE);
	assert_int_equal(session_unbind(r, &a2, 0x12345678), PROTO_ERR_UNKNOWN_HANDLE);
	assert_int_equal(session_unbind(r, &a2, ra.handle), 0);
	assert_int_equal(r->circuits, 0);
	assert_int_equal(r->reservations, 1);
	assert_int_equal(s->n, 1);
	assert_ptr_equal(s->m[0].link, &b);
	/* Now C may take the free place. */
	assert_int_equal(session_bind(r, &c, &req, &rc), 0);
	assert_int_equal(rc.state, PROTO_PAIRED);
	assert_int_equal(session_unbind(r, &c, rc.handle), 0);
	assert_int_equal(session_unbind(r, &b, rb.handle), 0);
	assert_null(session_find(r, sid));
	assert_int_equal(r->reservations, 0);
	assert_int_equal(a.qkey->reservations + a.qkey->circuits + b.qsrc->circuits, 0);
	relay_fixture_link_gone(r, &a);
	relay_fixture_link_gone(r, &a2);
	relay_fixture_link_gone(r, &b);
	relay_fixture_link_gone(r, &c);
	assert_int_equal(relay_fixture_free(r), 0); /* every charge was given back */
}

static void test_circuit_limits(void **state)
{
	struct relay *r = relay_fixture_new();
	struct link a, b;
	struct ctrl_msg req, rep;
	uint8_t sid[16];

	(void)state;
	relay_fixture_link_init(r, &a, 1, "198.51.100.1:1000");
	relay_fixture_link_init(r, &b, 2, "203.0.113.2:2000");
	r->cfg.limits.max_circuits_per_client = 2;
	for (int i = 0; i < 3; i++) {
		randombytes_buf(sid, sizeof(sid));
		req = bindreq(sid);
		assert_int_equal(session_bind(r, &a, &req, &rep), 0);
		assert_int_equal(session_bind(r, &b, &req, &rep),
		                 i < 2 ? 0 : PROTO_ERR_LIMIT_CIRCUITS);
	}
	assert_int_equal(r->circuits, 2);
	/* An authenticated (keys/token) client is not held to per-client counts. */
	b.authenticated = a.authenticated = true;
	assert_int_equal(session_bind(r, &b, &req, &rep), 0);
	assert_int_equal(r->circuits, 3);
	r->cfg.limits.max_circuits = 3;
	randombytes_buf(sid, sizeof(sid));
	req = bindreq(sid);
	assert_int_equal(session_bind(r, &a, &req, &rep), 0);
	assert_int_equal(session_bind(r, &b, &req, &rep), PROTO_ERR_LIMIT_CIRCUITS);
	relay_fixture_link_gone(r, &a);
	relay_fixture_link_gone(r, &b);
	assert_int_equal(relay_fixture_free(r), 0); /* every charge was given back */
}

static void test_expiry(void **state)
{
	struct relay *r = relay_fixture_new();
	struct link a, b;
	struct ctrl_msg req, rep;
	uint8_t s1[16], s2[16];
	uint64_t t0;

	(void)state;
	relay_fixture_link_init(r, &a, 1, "198.51.100.1:1000");
	relay_fixture_link_init(r, &b, 2, "203.0.113.2:2000");
	randombytes_buf(s1, 16);
	randombytes_buf(s2, 16);
	req = bindreq(s1);
	assert_int_equal(session_bind(r, &a, &req, &rep), 0);
	assert_int_equal(session_bind(r, &b, &req, &rep), 0);
	req = bindreq(s2);
	assert_int_equal(session_bind(r, &a, &req, &rep), 0);
	t0 = session_find(r, s1)->paired_ms;
	/* A linked session does not idle out; without links it does. */
	session_expire(r, t0 + r->cfg.limits.idle_timeout_s * 1000 + 1);
	assert_non_null(session_find(r, s2));
	relay_fixture_link_gone(r, &a);
	assert_null(session_find(r, s2)->m[0].link);
	session_expire(r, t0 + r->cfg.limits.idle_timeout_s * 1000 + 1);
	assert_null(session_find(r, s2));
	assert_non_null(session_find(r, s1)); /* B still linked */
	/* The open-mode circuit duration (1 h) ends the circuit. */
	session_expire(r, t0 + r->cfg.limits.circuit_duration_s * 1000);
	assert_null(session_find(r, s1));
	assert_int_equal(r->circuits, 0);
	assert_int_equal(r->reservations, 0);
	relay_fixture_link_gone(r, &b);
	assert_int_equal(relay_fixture_free(r), 0); /* every charge was given back */
}

/*
 * A forwarding thread's clock can be a little ahead of the control thread's: a session whose
 * last datagram it stamped after the tick's now is not idle (the difference must not wrap).
 */
static void test_expiry_clock_ahead(void **state)
{
	struct relay *r = relay_fixture_new();
	struct link a;
	struct ctrl_msg req, rep;
	struct session *s;
	uint8_t sid[16];
	uint64_t t;

	(void)state;
	relay_fixture_link_init(r, &a, 1, "198.51.100.1:1000");
	randombytes_buf(sid, 16);
	req = bindreq(sid);
	assert_int_equal(session_bind(r, &a, &req, &rep), 0);
	relay_fixture_link_gone(r, &a);
	s = session_find(r, sid);
	t = s->created_ms + 10000;
	s->last_rx_ms = t + 3;
	session_expire(r, t);
	assert_non_null(session_find(r, sid));
	session_expire(r, t + 3 + r->cfg.limits.idle_timeout_s * 1000);
	assert_null(session_find(r, sid));
	assert_int_equal(relay_fixture_free(r), 0); /* every charge was given back */
}

/*
 * What a key holds survives its link: a client whose link expired cannot start again from
 * zero with a new link (6 reservations for a limit of 3 before).
 */
static void test_key_counts_survive_link(void **state)
{
	struct relay *r = relay_fixture_new();
	struct link a, a2, b;
	struct ctrl_msg req, rep, first;
	uint8_t sid[16];

	(void)state;
	relay_fixture_link_init(r, &a, 1, "198.51.100.1:1000");
	for (int i = 0; i < 4; i++) {
		randombytes_buf(sid, sizeof(sid));
		req = bindreq(sid);
		if (i == 0)
			first = req;
		assert_int_equal(session_bind(r, &a, &req, &rep),
		                 i < 3 ? 0 : PROTO_ERR_LIMIT_RESERVATIONS);
	}
	relay_fixture_link_gone(r, &a); /* expired: the memberships live on without it */
	relay_fixture_link_init(r, &a2, 1, "198.51.100.1:1001");
	assert_int_equal(a2.qkey->reservations, 3);
	randombytes_buf(sid, sizeof(sid));
	req = bindreq(sid);
	assert_int_equal(session_bind(r, &a2, &req, &rep), PROTO_ERR_LIMIT_RESERVATIONS);
	assert_int_equal(r->reservations, 3);
	/* A rebind of a held membership is no new reservation: not refused at the limit. */
	assert_int_equal(session_bind(r, &a2, &first, &rep), 0);
	assert_int_equal(r->reservations, 3);
	/* The relay's total holds for every key. */
	r->cfg.limits.max_reservations = 3;
	relay_fixture_link_init(r, &b, 2, "203.0.113.2:2000");
	randombytes_buf(sid, sizeof(sid));
	req = bindreq(sid);
	assert_int_equal(session_bind(r, &b, &req, &rep), PROTO_ERR_LIMIT_RESERVATIONS);
	relay_fixture_link_gone(r, &b);
	relay_fixture_link_gone(r, &a2);
	assert_int_equal(relay_fixture_free(r), 0); /* every charge was given back */
}

/* Throw-away keys from one address run into the per-source caps. */
static void test_source_caps(void **state)
{
	struct relay *r = relay_fixture_new();
	struct link l[40], v6a, v6b, other;
	struct ctrl_msg req, rep;
	uint8_t sid[16];
	int ok = 0;

	(void)state;
	r->cfg.limits.max_reservations_per_source = 8;
	r->cfg.limits.max_circuits_per_source = 2;
	for (int i = 0; i < 40; i++) {
		relay_fixture_link_init(r, &l[i], (uint8_t)(10 + i), "192.0.2.77:4000");
		randombytes_buf(sid, sizeof(sid));
		req = bindreq(sid);
		ok += session_bind(r, &l[i], &req, &rep) == 0;
	}
	assert_int_equal(ok, 8);
	assert_int_equal(l[0].qsrc->reservations, 8);
	assert_int_equal(l[0].qsrc->links, 40);
	/* One /64 is one source; another address is not held back by this one. */
	relay_fixture_link_init(r, &v6a, 90, "[2001:db8:1:2::1]:5000");
	relay_fixture_link_init(r, &v6b, 91, "[2001:db8:1:2:ffff::9]:5000");
	assert_ptr_equal(v6a.qsrc, v6b.qsrc);
	relay_fixture_link_init(r, &other, 92, "203.0.113.8:5000");
	assert_ptr_not_equal(other.qsrc, l[0].qsrc);
	/* Circuits: the waiting member's source pays too. */
	for (int i = 0; i < 3; i++) {
		randombytes_buf(sid, sizeof(sid));
		req = bindreq(sid);
		assert_int_equal(session_bind(r, &other, &req, &rep), 0);
		assert_int_equal(session_bind(r, i % 2 ? &v6b : &v6a, &req, &rep),
		                 i < 2 ? 0 : PROTO_ERR_LIMIT_CIRCUITS);
	}
	assert_int_equal(v6a.qsrc->circuits, 2);
	for (int i = 0; i < 40; i++)
		relay_fixture_link_gone(r, &l[i]);
	relay_fixture_link_gone(r, &v6a);
	relay_fixture_link_gone(r, &v6b);
	relay_fixture_link_gone(r, &other);
	assert_int_equal(relay_fixture_free(r), 0); /* every charge was given back */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pair_full_rebind_unbind),
	    cmocka_unit_test(test_circuit_limits),
	    cmocka_unit_test(test_expiry),
	    cmocka_unit_test(test_expiry_clock_ahead),
	    cmocka_unit_test(test_key_counts_survive_link),
	    cmocka_unit_test(test_source_caps),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
