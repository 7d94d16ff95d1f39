/*
 * fastpath: which direct sessions go into the XDP path and with what budget, the exact count
 * of installed sessions, the once-a-second read back (bytes, counters, member activity, the
 * byte limit) and the start policy of each Xdp mode. The kernel's side cannot run here (it
 * needs root and a device): this file defines every xdp.h function over an in-memory map, so
 * the linker never takes xdp.c from the library.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "relay.h"
#include "relay_fixture.h"
#include "xdp.h"

/* The fake path: one entry per port, as the program's session map. */
struct xdp_path {
	int open;
};

struct fake_entry {
	bool on;
	struct addr a, b;
	uint64_t budget;
	struct xdp_session_stats st;
};

static struct xdp_path fake_path;
static struct fake_entry fake[65536];
static int fake_open_err;  /* what xdp_path_open returns */
static int fake_set_err;   /* what xdp_session_set returns */
static unsigned fake_sets; /* calls of xdp_session_set that succeeded */
static int fake_read_err;  /* what xdp_counters_read returns */
static int fake_batch_err; /* what xdp_sessions_read_all returns (its callbacks: none) */
static unsigned fake_batch_calls, fake_reads; /* read_all calls; single session reads */
static struct xdp_counters fake_counters;

int xdp_supported(void)
{
	return 1;
}

const char *xdp_mode_name(enum xdp_mode m)
{
	static const char *const names[] = {"off", "auto", "native", "generic"};

	return (unsigned)m < 4 ? names[m] : "?";
}

int xdp_mode_parse(const char *s, enum xdp_mode *out)
{
	for (int m = XDP_MODE_OFF; m <= XDP_MODE_GENERIC; m++)
		if (!strcmp(s, xdp_mode_name((enum xdp_mode)m))) {
			*out = (enum xdp_mode)m;
			return 0;
		}
	return -EINVAL;
}

int xdp_path_open(struct xdp_path **out, enum xdp_mode mode, const char *const *ifnames, size_t n,
                  uint16_t port_lo, uint16_t port_hi, uint32_t max_packet, char *why, size_t whylen)
{
	(void)mode, (void)ifnames, (void)n, (void)port_lo, (void)port_hi, (void)max_packet;
	*out = NULL;
	if (fake_open_err) {
		snprintf(why, whylen, "fake: no such interface");
		return fake_open_err;
	}
	fake_path.open = 1;
	*out = &fake_path;
	return 0;
}

void xdp_path_close(struct xdp_path *x)
{
	if (x)
		x->open = 0;
}

const char *xdp_path_describe(const struct xdp_path *x)
{
	(void)x;
	return "generic: fake0";
}

int xdp_session_set(struct xdp_path *x, uint16_t port, const struct addr *a, const struct addr *b,
                    uint64_t budget)
{
	assert_ptr_equal(x, &fake_path);
	if (addr_family(a) != addr_family(b))
		return -EAFNOSUPPORT;
	if (fake_set_err)
		return fake_set_err;
	fake[port].on = true;
	fake[port].a = *a;
	fake[port].b = *b;
	fake[port].budget = budget;
	fake_sets++;
	return 0;
}

int xdp_session_del(struct xdp_path *x, uint16_t port)
{
	assert_ptr_equal(x, &fake_path);
	if (!fake[port].on)
		return -ENOENT;
	memset(&fake[port], 0, sizeof(fake[port]));
	return 0;
}

int xdp_session_read(struct xdp_path *x, uint16_t port, struct xdp_session_stats *st)
{
	assert_ptr_equal(x, &fake_path);
	fake_reads++;
	if (!fake[port].on)
		return -ENOENT;
	*st = fake[port].st;
	return 0;
}

int xdp_sessions_read_all(struct xdp_path *x, xdp_stats_fn fn, void *arg)
{
	assert_ptr_equal(x, &fake_path);
	fake_batch_calls++;
	if (fake_batch_err)
		return fake_batch_err;
	for (unsigned port = 0; port < 65536; port++)
		if (fake[port].on)
			fn(arg, (uint16_t)port, &fake[port].st);
	return 0;
}

int xdp_counters_read(struct xdp_path *x, struct xdp_counters *c)
{
	assert_ptr_equal(x, &fake_path);
	*c = fake_counters;
	return fake_read_err;
}

/* The fixture's relay, as the tests here want it, and the fake map emptied. */
static struct relay *relay(void)
{
	struct relay *r = relay_fixture_new();

	r->cfg.policy.allow_private = true; /* the members are in documentation ranges */
	r->cfg.port_lo = 20000 + (uint16_t)(getpid() % 200) * 100;
	r->cfg.port_hi = r->cfg.port_lo + 99;
	r->cfg.xdp = XDP_MODE_AUTO;
	memset(fake, 0, sizeof(fake));
	fake_open_err = fake_set_err = fake_read_err = 0;
	fake_sets = 0;
	return r;
}

static void relay_free(struct relay *r)
{
	relay_fixture_close_sessions(r);
	assert_int_equal(r->xdp_sessions, 0);
	fastpath_close(r);
	/* The tests' links are never closed: what they are charged to goes with the relay. */
	relay_fixture_free(r);
}

/* A direct session of a and b (unauthenticated: limited), neither member proven yet. */
static struct session *pair(struct relay *r, struct link *a, struct link *b)
{
	struct ctrl_msg req = {.type = CTRL_BIND, .mode = PROTO_MODE_DIRECT}, reply;
	struct session *s;

	randombytes_buf(req.sid, sizeof(req.sid));
	assert_int_equal(session_bind(r, a, &req, &reply), 0);
	assert_int_equal(session_bind(r, b, &req, &reply), 0);
	assert_int_equal(reply.state, PROTO_PAIRED);
	assert_non_null(s = session_find(r, req.sid));
	assert_true(s->limited);
	return s;
}

/* What direct.c's proof does: member i's address is src (on its link's IP) from now on. */
static void prove(struct relay *r, struct session *s, int i, const char *src)
{
	assert_int_equal(addr_parse(&s->m[i].conf, src, 0), 0);
	s->m[i].has_conf = true;
	fastpath_update(r, s, ev_now_ms(r->loop));
}

static void test_install_rules(void **state)
{
	struct relay *r = relay();
	struct link a, b;
	struct session *s;
	char why[256];

	(void)state;
	relay_fixture_link_init(r, &a, 1, "198.51.100.1:1000");
	relay_fixture_link_init(r, &b, 2, "203.0.113.2:2000");
	assert_int_equal(fastpath_open(r, why, sizeof(why)), 0);
	assert_non_null(r->xdp);
	s = pair(r, &a, &b);
	/* One proven member: nothing to install. */
	prove(r, s, 0, "198.51.100.1:51820");
	assert_false(fake[s->port].on);
	assert_int_equal(r->xdp_sessions, 0);
	/* Both: installed, a = m[0], b = m[1], the bytes left of CircuitBytes as budget. */
	s->bytes = 1000;
	prove(r, s, 1, "203.0.113.2:51820");
	assert_true(fake[s->port].on);
	assert_true(addr_equal(&fake[s->port].a, &s->m[0].conf));
	assert_true(addr_equal(&fake[s->port].b, &s->m[1].conf));
	assert_int_equal(fake[s->port].budget, r->cfg.limits.circuit_bytes - 1000);
	assert_int_equal(r->xdp_sessions, 1);
	/* Proven again (a rekey): updated, still counted once. */
	prove(r, s, 1, "203.0.113.2:51821");
	assert_int_equal(fake_sets, 2);
	assert_int_equal(addr_port(&fake[s->port].b), 51821);
	assert_int_equal(r->xdp_sessions, 1);
	/* A proven address off its link's IP is one direct.c would not accept: out. */
	prove(r, s, 1, "203.0.113.99:51821");
	assert_false(fake[s->port].on);
	assert_int_equal(r->xdp_sessions, 0);
	prove(r, s, 1, "203.0.113.2:51821");
	assert_int_equal(r->xdp_sessions, 1);
	/* The link moves: the member's datagrams from its old IP are no longer accepted. */
	b.addr.in.sin_addr.s_addr ^= htonl(0xff);
	session_link_roam(r, &b);
	assert_false(fake[s->port].on);
	assert_int_equal(r->xdp_sessions, 0);
	b.addr.in.sin_addr.s_addr ^= htonl(0xff);
	session_link_roam(r, &b);
	assert_int_equal(r->xdp_sessions, 1);
	/* A reload: documentation ranges forbidden now, then a bandwidth cap; both stay up. */
	r->cfg.policy.allow_private = false;
	fastpath_reload(r);
	assert_int_equal(r->xdp_sessions, 0);
	r->cfg.policy.allow_private = true;
	r->cfg.limits.circuit_kbps = 100;
	fastpath_reload(r);
	assert_int_equal(r->xdp_sessions, 0);
	r->cfg.limits.circuit_kbps = 0;
	r->cfg.limits.circuit_bytes = 0; /* no byte limit: no budget */
	fastpath_reload(r);
	assert_int_equal(r->xdp_sessions, 1);
	assert_int_equal(fake[s->port].budget, UINT64_MAX);
	/* A member leaves: out before the other waits again. */
	assert_int_equal(session_unbind(r, &a, s->m[0].handle), 0);
	assert_false(fake[s->port].on);
	assert_int_equal(r->xdp_sessions, 0);
	relay_free(r);
}

static void test_family_and_failures(void **state)
{
	struct relay *r = relay();
	struct link a, b, c, d;
	struct session *s, *t;
	char why[256];

	(void)state;
	relay_fixture_link_init(r, &a, 1, "198.51.100.1:1000");
	relay_fixture_link_init(r, &b, 2, "[2001:db8::2]:2000");
	relay_fixture_link_init(r, &c, 3, "198.51.100.3:1000");
	relay_fixture_link_init(r, &d, 4, "198.51.100.4:1000");
	assert_int_equal(fastpath_open(r, why, sizeof(why)), 0);
	/* An IPv4 and an IPv6 member: user space (it sends v4-mapped), never the kernel. */
	s = pair(r, &a, &b);
	prove(r, s, 0, "198.51.100.1:51820");
	prove(r, s, 1, "[2001:db8::2]:51820");
	assert_false(fake[s->port].on);
	assert_int_equal(r->xdp_sessions, 0);
	assert_int_equal(r->xdp_set_failed, 0);
	/* The kernel refuses (a full map): not counted, counted as failed, user space forwards. */
	t = pair(r, &c, &d);
	prove(r, t, 0, "198.51.100.3:51820");
	fake_set_err = -ENOSPC;
	prove(r, t, 1, "198.51.100.4:51820");
	assert_int_equal(r->xdp_sessions, 0);
	assert_int_equal(r->xdp_set_failed, 1);
	fake_set_err = 0;
	prove(r, t, 1, "198.51.100.4:51820");
	assert_int_equal(r->xdp_sessions, 1);
	/* A failed update takes the stale entry out, and the count with it. */
	fake_set_err = -ENOMEM;
	prove(r, t, 1, "198.51.100.4:51821");
	assert_false(fake[t->port].on);
	assert_int_equal(r->xdp_sessions, 0);
	assert_int_equal(r->xdp_set_failed, 2);
	fake_set_err = 0;
	relay_free(r);
}

/*
 * The read back, with the kernel's batched read (batch) or session by session (a kernel
 * without batches): the same figures either way, and only one of the two ways used.
 */
static void read_back(bool batch)
{
	struct relay *r = relay();
	struct link a, b;
	struct session *s;
	uint64_t now, pkts0, bytes0;
	char why[256], text[8192], line[64];
	uint16_t port;

	fake_batch_err = batch ? 0 : -EOPNOTSUPP;
	fake_batch_calls = fake_reads = 0;
	relay_fixture_link_init(r, &a, 1, "198.51.100.1:1000");
	relay_fixture_link_init(r, &b, 2, "203.0.113.2:2000");
	r->cfg.limits.circuit_bytes = 100000;
	assert_int_equal(fastpath_open(r, why, sizeof(why)), 0);
	s = pair(r, &a, &b);
	prove(r, s, 0, "198.51.100.1:51820");
	prove(r, s, 1, "203.0.113.2:51820");
	port = s->port;
	assert_int_equal(r->xdp_sessions, 1);
	now = ev_now_ms(r->loop) + 60000;
	s->m[0].conf_rx_ms = s->m[1].conf_rx_ms = s->last_rx_ms = 5;
	pkts0 = r->st.pkts[0];
	bytes0 = r->st.bytes[0];
	/* 10 datagrams from a, the last at now - 2 s: counted once, a is active, b is not. */
	fake[port].st.pkts = 10;
	fake[port].st.bytes = 14000;
	fake[port].st.last_ns[0] = (now - 2000) * 1000000;
	fastpath_tick(r, now);
	fastpath_tick(r, now);
	assert_int_equal(s->bytes, 14000);
	assert_int_equal(r->st.pkts[0] - pkts0, 10);
	assert_int_equal(r->st.bytes[0] - bytes0, 14000);
	assert_int_equal(fake_batch_calls, 2);
	assert_int_equal(fake_reads, batch ? 0 : 2);
	assert_int_equal(s->m[0].conf_rx_ms, now - 2000);
	assert_int_equal(s->m[1].conf_rx_ms, 5);
	assert_int_equal(s->last_rx_ms, now - 2000);
	/* A time past the caller's clock is held at it (never ahead of the loop). */
	fake[port].st.last_ns[1] = (now + 5000) * 1000000;
	fastpath_tick(r, now);
	assert_int_equal(s->m[1].conf_rx_ms, now);
	/* A re-install counts the budget from what was read. */
	prove(r, s, 1, "203.0.113.2:51820");
	assert_int_equal(fake[port].budget, 100000 - 14000);
	/* The metrics and the stats line say so. */
	fake_counters.fwd_pkts = 10;
	fake_counters.pass_fib = 3;
	assert_true(fastpath_metrics(r, text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "\nwgrelayd_xdp_attached 1\n"));
	assert_non_null(strstr(text, "\nwgrelayd_xdp_sessions 1\n"));
	assert_non_null(strstr(text, "\nwgrelayd_xdp_packets_total 10\n"));
	assert_non_null(strstr(text, "\nwgrelayd_xdp_passed_total{reason=\"fib\"} 3\n"));
	assert_string_equal(fastpath_stats(r, line, sizeof(line)), " xdp=1");
	/* Past CircuitBytes: the circuit closes at the tick, and leaves the map. */
	fake[port].st.pkts = 80;
	fake[port].st.bytes = 100001;
	fastpath_tick(r, now);
	assert_int_equal(r->sessions.n, 0);
	assert_false(fake[port].on);
	assert_int_equal(r->xdp_sessions, 0);
	assert_int_equal(r->st.bytes[0] - bytes0, 100001);
	relay_free(r);
	fake_batch_err = 0;
}

static void test_read_back(void **state)
{
	(void)state;
	read_back(true);
}

static void test_read_back_each(void **state)
{
	(void)state;
	read_back(false);
}

/*
 * Sessions past their byte limit are closed at the tick from the batched read alone, however
 * many at once (more than the tick keeps a list of: it walks the installed ones then), and
 * only those: the sessions under the limit stay installed.
 */
static void over_limit(int n_over)
{
	enum { N = 70 };
	struct relay *r = relay();
	static struct link a[N], b[N];
	struct session *s[N];
	uint16_t port[N];
	char why[256], ip[32];

	fake_batch_calls = fake_reads = 0;
	r->cfg.limits.circuit_bytes = 100000;
	assert_int_equal(fastpath_open(r, why, sizeof(why)), 0);
	for (int i = 0; i < N; i++) {
		snprintf(ip, sizeof(ip), "198.51.100.%d:1000", i + 1);
		relay_fixture_link_init(r, &a[i], (uint8_t)(i + 1), ip);
		snprintf(ip, sizeof(ip), "203.0.113.%d:2000", i + 1);
		relay_fixture_link_init(r, &b[i], (uint8_t)(i + 101), ip);
		s[i] = pair(r, &a[i], &b[i]);
		snprintf(ip, sizeof(ip), "198.51.100.%d:51820", i + 1);
		prove(r, s[i], 0, ip);
		snprintf(ip, sizeof(ip), "203.0.113.%d:51820", i + 1);
		prove(r, s[i], 1, ip);
		port[i] = s[i]->port;
	}
	assert_int_equal(r->xdp_sessions, N);
	for (int i = 0; i < N; i++) {
		fake[port[i]].st.pkts = 1;
		fake[port[i]].st.bytes = i < n_over ? 100001 : 99999;
	}
	fastpath_tick(r, ev_now_ms(r->loop));
	assert_int_equal(fake_batch_calls, 1);
	assert_int_equal(fake_reads, n_over); /* the last read of each session closed, no more */
	assert_int_equal(r->sessions.n, N - n_over);
	assert_int_equal(r->xdp_sessions, N - n_over);
	for (int i = 0; i < N; i++)
		assert_int_equal(fake[port[i]].on, i >= n_over);
	relay_free(r);
}

static void test_over_limit_few(void **state)
{
	(void)state;
	over_limit(3);
}

static void test_over_limit_many(void **state)
{
	(void)state;
	over_limit(70);
}

static void test_open_policy(void **state)
{
	struct relay *r = relay();
	char why[256] = "", text[8192], line[64];

	(void)state;
	/* off: nothing loaded, the metrics still there (all 0), no stats word. */
	r->cfg.xdp = XDP_MODE_OFF;
	assert_int_equal(fastpath_open(r, why, sizeof(why)), 0);
	assert_null(r->xdp);
	assert_true(fastpath_metrics(r, text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "\nwgrelayd_xdp_attached 0\n"));
	assert_string_equal(fastpath_stats(r, line, sizeof(line)), "");
	/* auto that cannot load: runs without. native, generic: refuse, saying why. */
	fake_open_err = -ENODEV;
	r->cfg.xdp = XDP_MODE_AUTO;
	assert_int_equal(fastpath_open(r, why, sizeof(why)), 0);
	assert_null(r->xdp);
	r->cfg.xdp = XDP_MODE_NATIVE;
	assert_int_equal(fastpath_open(r, why, sizeof(why)), -ENODEV);
	assert_string_equal(why, "Xdp = native: fake: no such interface");
	r->cfg.xdp = XDP_MODE_GENERIC;
	assert_int_equal(fastpath_open(r, why, sizeof(why)), -ENODEV);
	assert_null(r->xdp);
	/* Maps that refuse after privileges drop (old kernels): auto goes on without. */
	fake_open_err = 0;
	r->cfg.xdp = XDP_MODE_AUTO;
	assert_int_equal(fastpath_open(r, why, sizeof(why)), 0);
	assert_non_null(r->xdp);
	assert_int_equal(fastpath_after_drop(r, why, sizeof(why)), 0);
	assert_non_null(r->xdp); /* positive control: the maps answer */
	fake_read_err = -EPERM;
	assert_int_equal(fastpath_after_drop(r, why, sizeof(why)), 0);
	assert_null(r->xdp);
	r->cfg.xdp = XDP_MODE_NATIVE;
	fake_read_err = 0;
	assert_int_equal(fastpath_open(r, why, sizeof(why)), 0);
	fake_read_err = -EPERM;
	assert_int_equal(fastpath_after_drop(r, why, sizeof(why)), -EPERM);
	assert_non_null(strstr(why, "Xdp = native: "));
	assert_null(r->xdp);
	fake_read_err = 0;
	relay_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_install_rules),   cmocka_unit_test(test_family_and_failures),
	    cmocka_unit_test(test_read_back),       cmocka_unit_test(test_read_back_each),
	    cmocka_unit_test(test_open_policy),     cmocka_unit_test(test_over_limit_few),
	    cmocka_unit_test(test_over_limit_many),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
