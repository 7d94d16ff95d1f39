/*
 * test_modes.c: two members asking for different data modes meet sealed (PROTOCOL.md §5.2),
 * against the real wgrelayd on loopback: a direct member waiting is told when a sealed BIND of
 * another key is refused (at most once a second), rebinds sealed and the pair forms; a key
 * asking for its own membership in the other mode replaces it; a sealed session is never told.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "tclient.h"

#include "harness.h"

/* The next control message c gets is an ERROR mode-mismatch about sid. */
static void expect_mismatch(struct tclient *c, const uint8_t sid[16])
{
	struct ctrl_msg m;

	assert_int_equal(tclient_recv_ctrl(c, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_ERROR);
	assert_int_equal(m.code, PROTO_ERR_MODE_MISMATCH);
	assert_memory_equal(m.sid, sid, 16);
}

/* Nothing is waiting for c: a KEEPALIVE's answer is the next message (the relay is alive). */
static void expect_nothing(struct tclient *c)
{
	struct ctrl_msg m = {.type = CTRL_KEEPALIVE};

	assert_int_equal(tclient_send_ctrl(c, &m), 0);
	assert_int_equal(tclient_recv_ctrl(c, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_KEEPALIVE);
}

static void bind_ok(struct tclient *c, const uint8_t sid[16], int mode, int state,
                    struct ctrl_msg *m)
{
	assert_int_equal(tclient_bind(c, sid, mode, NULL, NULL, m, T_MS), 0);
	assert_int_equal(m->type, CTRL_BOUND);
	assert_int_equal(m->mode, mode);
	assert_int_equal(m->state, state);
	assert_true(mode == PROTO_MODE_DIRECT ? m->port != 0 : m->port == 0);
}

static void bind_refused(struct tclient *c, const uint8_t sid[16], int mode)
{
	struct ctrl_msg m;

	assert_int_equal(tclient_bind(c, sid, mode, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_ERROR);
	assert_int_equal(m.code, PROTO_ERR_MODE_MISMATCH);
}

/* The waiting member leaves its direct membership and binds sealed, as the helper does. */
static void rebind_sealed(struct tclient *c, const uint8_t sid[16], uint32_t handle)
{
	struct ctrl_msg u = {.type = CTRL_UNBIND, .handle = handle}, m;

	assert_int_equal(tclient_send_ctrl(c, &u), 0);
	bind_ok(c, sid, PROTO_MODE_SEALED, PROTO_WAITING, &m);
}

static void test_direct_waiting_is_told(void **state)
{
	struct tclient a, b;
	struct ctrl_msg ma, m;
	uint8_t sid[16];

	(void)state;
	relay_start("--allow-loopback", NULL);
	randombytes_buf(sid, sizeof(sid));
	client(&a);
	client(&b);
	bind_ok(&a, sid, PROTO_MODE_DIRECT, PROTO_WAITING, &ma);
	/* b binds sealed (its link is on a stream): refused, and a is told. */
	bind_refused(&b, sid, PROTO_MODE_SEALED);
	expect_mismatch(&a, sid);
	/* Again within the second: refused, but a is not told twice. */
	bind_refused(&b, sid, PROTO_MODE_SEALED);
	expect_nothing(&a);
	/* a goes sealed: its direct session closes, the sealed one waits; b's retry pairs. */
	rebind_sealed(&a, sid, ma.handle);
	bind_ok(&b, sid, PROTO_MODE_SEALED, PROTO_PAIRED, &m);
	assert_int_equal(tclient_recv_ctrl(&a, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_BOUND);
	assert_int_equal(m.state, PROTO_PAIRED);
	assert_int_equal(m.mode, PROTO_MODE_SEALED);
	tclient_close(&a);
	tclient_close(&b);
}

/*
 * A paired direct session; b's link moved onto a stream and could not UNBIND first: its
 * sealed BIND replaces its own membership (a waits again), is refused against a, and a is
 * told; then both meet sealed.
 */
static void test_own_membership_replaced(void **state)
{
	struct tclient a, b;
	struct ctrl_msg ma, mb, m;
	uint8_t sid[16];

	(void)state;
	relay_start("--allow-loopback", NULL);
	randombytes_buf(sid, sizeof(sid));
	client(&a);
	client(&b);
	bind_ok(&a, sid, PROTO_MODE_DIRECT, PROTO_WAITING, &ma);
	bind_ok(&b, sid, PROTO_MODE_DIRECT, PROTO_PAIRED, &mb);
	assert_int_equal(tclient_recv_ctrl(&a, &m, T_MS), 0);
	assert_int_equal(m.state, PROTO_PAIRED);
	bind_refused(&b, sid, PROTO_MODE_SEALED);
	/* a: its partner left (BOUND waiting), then the notice. */
	assert_int_equal(tclient_recv_ctrl(&a, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_BOUND);
	assert_int_equal(m.state, PROTO_WAITING);
	assert_int_equal(m.handle, ma.handle);
	expect_mismatch(&a, sid);
	/* b's old handle is gone with its membership. */
	{
		struct ctrl_msg u = {.type = CTRL_UNBIND, .handle = mb.handle};

		assert_int_equal(tclient_send_ctrl(&b, &u), 0);
		assert_int_equal(tclient_recv_ctrl(&b, &m, T_MS), 0);
		assert_int_equal(m.type, CTRL_ERROR);
		assert_int_equal(m.code, PROTO_ERR_UNKNOWN_HANDLE);
	}
	rebind_sealed(&a, sid, ma.handle);
	bind_ok(&b, sid, PROTO_MODE_SEALED, PROTO_PAIRED, &m);
	assert_int_equal(tclient_recv_ctrl(&a, &m, T_MS), 0);
	assert_int_equal(m.state, PROTO_PAIRED);
	tclient_close(&a);
	tclient_close(&b);
}

/* A sealed member waiting is not told: the direct newcomer goes sealed by itself. */
static void test_sealed_waiting_not_told(void **state)
{
	struct tclient a, b;
	struct ctrl_msg m;
	uint8_t sid[16];

	(void)state;
	relay_start("--allow-loopback", NULL);
	randombytes_buf(sid, sizeof(sid));
	client(&a);
	client(&b);
	bind_ok(&a, sid, PROTO_MODE_SEALED, PROTO_WAITING, &m);
	bind_refused(&b, sid, PROTO_MODE_DIRECT);
	expect_nothing(&a);
	bind_ok(&b, sid, PROTO_MODE_SEALED, PROTO_PAIRED, &m);
	assert_int_equal(tclient_recv_ctrl(&a, &m, T_MS), 0);
	assert_int_equal(m.state, PROTO_PAIRED);
	tclient_close(&a);
	tclient_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_direct_waiting_is_told, relay_stop),
	    cmocka_unit_test_teardown(test_own_membership_replaced, relay_stop),
	    cmocka_unit_test_teardown(test_sealed_waiting_not_told, relay_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
