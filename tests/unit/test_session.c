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

static struct relay *relay(void)
{
	struct relay *r = calloc(1, sizeof(*r));

	assert_non_null(r);
	config_defaults(&r->cfg);
	assert_int_equal(ev_new(&r->loop), 0);
	assert_int_equal(table_init(&r->links, 8), 0);
	assert_int_equal(table_init(&r->sessions, 8), 0);
	assert_int_equal(table_init(&r->handles, 8), 0);
	assert_int_equal(table_init(&r->ports, 8), 0);
	assert_int_equal(table_init(&r->clients, 8), 0);
	return r;
}

static void relay_free(struct relay *r)
{
	struct session *s;
	size_t pos = 0;

	while ((s = table_next(&r->sessions, &pos)))
		session_close(r, s, "test end");
	table_free(&r->links);
	table_free(&r->sessions);
	table_free(&r->handles);
	table_free(&r->ports);
	table_free(&r->clients);
	ev_free(r->loop);
	free(r);
}

static void link_init(struct link *l, uint8_t keybyte, const char *ip)
{
	memset(l, 0, sizeof(*l));
	l->fd = -1;
	memset(l->client_pub, keybyte, 32);
	assert_int_equal(addr_parse(&l->addr, ip, 0), 0);
}

static struct ctrl_msg bindreq(const uint8_t sid[16])
{
	struct ctrl_msg m = {.type = CTRL_BIND, .mode = PROTO_MODE_SEALED};

	memcpy(m.sid, sid, 16);
	return m;
}

static void test_pair_full_rebind_unbind(void **state)
{
	struct relay *r = relay();
	struct link a, b, c, a2;
	struct ctrl_msg req, ra, rb, rc;
	uint8_t sid[16];
	struct session *s;

	(void)state;
	randombytes_buf(sid, sizeof(sid));
	req = bindreq(sid);
	link_init(&a, 1, "198.51.100.1:1000");
	link_init(&b, 2, "203.0.113.2:2000");
	link_init(&c, 3, "192.0.2.3:3000");
	link_init(&a2, 1, "198.51.100.9:1001"); /* the same client key on a new link */
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
	assert_int_equal(a.ncircuits, 1);
	assert_int_equal(b.ncircuits, 1);
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
	assert_int_equal(a.ncircuits, 0);
	assert_int_equal(a2.nbinds, 1);
	assert_int_equal(a2.ncircuits, 1);
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
	relay_free(r);
}

static void test_circuit_limits(void **state)
{
	struct relay *r = relay();
	struct link a, b;
	struct ctrl_msg req, rep;
	uint8_t sid[16];

	(void)state;
	link_init(&a, 1, "198.51.100.1:1000");
	link_init(&b, 2, "203.0.113.2:2000");
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
	relay_free(r);
}

static void test_expiry(void **state)
{
	struct relay *r = relay();
	struct link a, b;
	struct ctrl_msg req, rep;
	uint8_t s1[16], s2[16];
	uint64_t t0;

	(void)state;
	link_init(&a, 1, "198.51.100.1:1000");
	link_init(&b, 2, "203.0.113.2:2000");
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
	session_link_gone(r, &a);
	assert_null(session_find(r, s2)->m[0].link);
	session_expire(r, t0 + r->cfg.limits.idle_timeout_s * 1000 + 1);
	assert_null(session_find(r, s2));
	assert_non_null(session_find(r, s1)); /* B still linked */
	/* The open-mode circuit duration (1 h) ends the circuit. */
	session_expire(r, t0 + r->cfg.limits.circuit_duration_s * 1000);
	assert_null(session_find(r, s1));
	assert_int_equal(r->circuits, 0);
	assert_int_equal(r->reservations, 0);
	relay_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pair_full_rebind_unbind),
	    cmocka_unit_test(test_circuit_limits),
	    cmocka_unit_test(test_expiry),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
