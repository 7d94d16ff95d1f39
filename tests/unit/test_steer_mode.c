/*
 * test_steer_mode.c: the data mode a peer binds in on each relay (steer_mode.h) on a fake
 * clock: a direct-mode interface's peer goes sealed on a relay whose link is on a stream or
 * whose far side binds sealed, stays sealed while bound, and asks again, backing off, when its
 * sealed BIND is refused; and path.c carrying one peer sealed through one relay and direct
 * through another.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "path.h"
#include "proto.h"
#include "steer_mode.h"

#define T0 100000

/* The binding as the link shows it. */
static struct steer_mode_in bound(int64_t now, uint8_t mode, uint16_t error, bool paired)
{
	return (struct steer_mode_in){
	    .now = now, .bound = true, .mode = mode, .error = error, .paired = paired};
}

static void test_direct_stays_direct(void **state)
{
	struct steer_mode st = {0};
	struct steer_mode_in in = {.now = T0};

	(void)state;
	/* Not bound yet, on UDP: direct. */
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	assert_int_equal(steer_mode_of(&st), PROTO_MODE_DIRECT);
	/* Bound direct, paired, and other errors than mode-mismatch: still direct. */
	in = bound(T0 + 1, PROTO_MODE_DIRECT, 0, true);
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	in = bound(T0 + 2, PROTO_MODE_DIRECT, PROTO_ERR_SESSION_FULL, false);
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	assert_int_equal(steer_mode_of(&st), PROTO_MODE_DIRECT);
	assert_string_equal(steer_seal_name(st.why), "");
}

static void test_iface_sealed(void **state)
{
	struct steer_mode st = {0};
	struct steer_mode_in in = {.now = T0, .iface_sealed = true};

	(void)state;
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	assert_int_equal(steer_mode_of(&st), PROTO_MODE_SEALED);
	assert_int_equal(st.why, STEER_SEAL_IFACE);
	/* A direct binding left from before (the caller rebinds on a mode change): sealed now. */
	in = bound(T0 + 1, PROTO_MODE_DIRECT, 0, false);
	in.iface_sealed = true;
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_SEAL);
}

/* The link moved onto a stream: the direct binding becomes sealed, and stays while bound. */
static void test_stream_then_udp_stays_sealed(void **state)
{
	struct steer_mode st = {0};
	struct steer_mode_in in = bound(T0, PROTO_MODE_DIRECT, 0, true);

	(void)state;
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	in.now++;
	in.on_stream = true;
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_SEAL);
	assert_int_equal(st.why, STEER_SEAL_STREAM);
	assert_string_equal(steer_seal_name(st.why), "stream");
	/* The caller bound sealed; it pairs. */
	in = bound(T0 + 2, PROTO_MODE_SEALED, 0, true);
	in.on_stream = true;
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	/* UDP answers again and the link moves back: the pair met sealed, it stays sealed. */
	for (int i = 0; i < 600; i++) {
		in = bound(T0 + 3 + i, PROTO_MODE_SEALED, 0, true);
		assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
		assert_int_equal(steer_mode_of(&st), PROTO_MODE_SEALED);
	}
	/* The binding goes (the relay left the peer's top K): the next one starts direct. */
	in = (struct steer_mode_in){.now = T0 + 700};
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	assert_int_equal(steer_mode_of(&st), PROTO_MODE_DIRECT);
	/* On a stream without a binding: the first BIND is sealed already. */
	in.on_stream = true;
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	assert_int_equal(steer_mode_of(&st), PROTO_MODE_SEALED);
}

/*
 * Our direct binding hears mode-mismatch (the relay refused it, or told us while we waited:
 * the far side binds sealed): rebind sealed at once.
 */
static void test_far_side_sealed(void **state)
{
	struct steer_mode st = {0};
	struct steer_mode_in in = bound(T0, PROTO_MODE_DIRECT, 0, false);

	(void)state;
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	in = bound(T0 + 1, PROTO_MODE_DIRECT, PROTO_ERR_MODE_MISMATCH, false);
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_SEAL);
	assert_int_equal(st.why, STEER_SEAL_FAR);
	/* Sealed BIND in flight, then waiting, then paired: nothing more to do. */
	in = bound(T0 + 2, PROTO_MODE_SEALED, 0, false);
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	in = bound(T0 + 3, PROTO_MODE_SEALED, 0, true);
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	assert_int_equal(steer_mode_of(&st), PROTO_MODE_SEALED);
	assert_int_equal(st.refused, 0);
}

/*
 * Our sealed BIND is refused (the far side waits in direct mode): ask again after 1 s, then
 * 2, 4, ... at most 32 s; a pairing resets the wait.
 */
static void test_sealed_refused_backs_off(void **state)
{
	struct steer_mode st = {0};
	struct steer_mode_in in;
	int64_t now = T0, waits[8] = {0};
	int retries = 0;

	(void)state;
	in = (struct steer_mode_in){.now = now, .on_stream = true};
	steer_mode_step(&st, &in);
	assert_int_equal(steer_mode_of(&st), PROTO_MODE_SEALED);
	/*
	 * Refused every time: after each RETRY the link sends the BIND again (its error cleared
	 * for a step), and the refusal comes back. Measure each wait as it is set.
	 */
	bool in_flight = false;
	for (int i = 0; i < 400 && retries < 8; i++) {
		int64_t had = st.retry_at;
		now++;
		in = bound(now, PROTO_MODE_SEALED, in_flight ? 0 : PROTO_ERR_MODE_MISMATCH, false);
		in.on_stream = true;
		in_flight = steer_mode_step(&st, &in) == STEER_MODE_RETRY;
		if (!had && st.retry_at)
			waits[retries++] = st.retry_at - now;
	}
	assert_int_equal(retries, 8);
	assert_int_equal(waits[0], STEER_MODE_RETRY_MIN_S);
	assert_int_equal(waits[1], 2);
	assert_int_equal(waits[2], 4);
	assert_int_equal(waits[3], 8);
	assert_int_equal(waits[4], 16);
	assert_int_equal(waits[5], 32);
	assert_int_equal(waits[6], STEER_MODE_RETRY_MAX_S);
	assert_int_equal(waits[7], STEER_MODE_RETRY_MAX_S);
	assert_true(st.refused >= STEER_MODE_STUCK);
	/* Paired at last: the next refusal waits the shortest again. */
	in = bound(++now, PROTO_MODE_SEALED, 0, true);
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	assert_int_equal(st.refused, 0);
	in = bound(++now, PROTO_MODE_SEALED, PROTO_ERR_MODE_MISMATCH, false);
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	assert_int_equal(st.retry_at, now + STEER_MODE_RETRY_MIN_S);
	/* No sooner than that. */
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	in.now = st.retry_at;
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_RETRY);
}

/* A sealed binding held with no other reason (adopted after a restart): kept sealed. */
static void test_kept(void **state)
{
	struct steer_mode st = {0};
	struct steer_mode_in in = bound(T0, PROTO_MODE_SEALED, 0, true);

	(void)state;
	assert_int_equal(steer_mode_step(&st, &in), STEER_MODE_KEEP);
	assert_int_equal(st.why, STEER_SEAL_KEPT);
	assert_int_equal(steer_mode_of(&st), PROTO_MODE_SEALED);
}

/*
 * path.c on a direct-mode interface: relay 0 carries the peer direct (a session port), relay
 * 1 sealed (its link on a stream): relaying through 1 points WireGuard at the local port and
 * routes it; failing over to 0 puts the session port back and unroutes the port.
 */
static void test_path_per_relay_mode(void **state)
{
	struct path_peer p;
	struct path_relay r[2];
	size_t order[2] = {1, 0};
	struct path_view v;
	struct path_out out;
	struct addr direct, port, sess0;
	const struct path_action *ep = NULL, *route = NULL;

	(void)state;
	memset(&v, 0, sizeof(v));
	memset(r, 0, sizeof(r));
	path_init(&p);
	assert_int_equal(addr_parse(&direct, "198.51.100.7:51820", 0), 0);
	assert_int_equal(addr_parse(&port, "127.0.0.1:40999", 0), 0);
	assert_int_equal(addr_parse(&r[0].addr, "203.0.113.1:51821", 0), 0);
	assert_int_equal(addr_parse(&r[1].addr, "203.0.113.2:51821", 0), 0);
	r[0].name = "r1";
	r[1].name = "r2";
	r[0].up = r[1].up = true;
	r[0].ready = r[1].ready = true;
	r[0].port = 40000;
	r[1].sealed = true;
	sess0 = r[0].addr;
	addr_set_port(&sess0, 40000);
	v.now = T0;
	v.threshold = 1;
	v.sample = (struct detect_sample){.t = T0};
	v.wg_ep = direct;
	v.wg_relay = v.rx_relay = -1;
	v.port = port;
	v.relays = r;
	v.n_relays = 2;
	v.order = order;
	v.usable = 2;
	v.preferred = 1;
	/* Never connected: an initiation unanswered, relayed 2 s after the read that saw it. */
	for (int i = 0; i < 4 && p.state == PATH_DIRECT; i++) {
		v.now++;
		v.sample.t = v.now;
		v.sample.tx_bytes += i == 1 ? 148 : 0;
		path_step(&p, &v, &out);
	}
	assert_int_equal(p.state, PATH_RELAYED);
	assert_int_equal(p.relay, 1);
	assert_true(p.sealed);
	for (size_t i = 0; i < out.n; i++) {
		if (out.a[i].type == PATH_A_ENDPOINT)
			ep = &out.a[i];
		if (out.a[i].type == PATH_A_ROUTE)
			route = &out.a[i];
	}
	assert_non_null(ep);
	assert_true(addr_equal(&ep->ep, &port));
	assert_non_null(route);
	assert_int_equal(route->relay, 1);
	/* Relay 1 shuts down: over to relay 0, direct, and the port is unrouted. */
	v.wg_ep = port;
	r[1].leaving = true;
	r[1].ready = false;
	v.preferred = 0;
	v.now++;
	v.sample.t = v.now;
	path_step(&p, &v, &out);
	assert_int_equal(p.relay, 0);
	assert_false(p.sealed);
	ep = route = NULL;
	for (size_t i = 0; i < out.n; i++) {
		if (out.a[i].type == PATH_A_ENDPOINT)
			ep = &out.a[i];
		if (out.a[i].type == PATH_A_ROUTE)
			route = &out.a[i];
	}
	assert_non_null(ep);
	assert_true(addr_equal(&ep->ep, &sess0));
	assert_non_null(route);
	assert_int_equal(route->relay, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_direct_stays_direct),
	    cmocka_unit_test(test_iface_sealed),
	    cmocka_unit_test(test_stream_then_udp_stays_sealed),
	    cmocka_unit_test(test_far_side_sealed),
	    cmocka_unit_test(test_sealed_refused_backs_off),
	    cmocka_unit_test(test_kept),
	    cmocka_unit_test(test_path_per_relay_mode),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
