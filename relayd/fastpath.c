/*
 * fastpath.c: wgrelayd's use of the XDP fast path (xdp.h, docs/XDP.md). Direct sessions whose
 * members are both proven are installed in the program's map, so their transport datagrams
 * go from member to member in the kernel. Everything that decides where a datagram may go
 * stays in direct.c: the map only ever holds what direct.c would forward itself, and every
 * change there (a proof, a member leaving, a reload) is mirrored here at once.
 *
 * What the kernel forwarded is read back once a second, so byte limits, idle expiry and the
 * "a talking member keeps its address" rule (PROTOCOL.md §5.5) see it as if user space had
 * forwarded it. Every function runs under the relay lock: direct.c's from a worker thread,
 * the rest from the control thread.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "promtext.h"
#include "relay.h"
#include "xdp.h"

/* A remote party can make installs fail again and again: one line per minute at most. */
#define FASTPATH_LOG_MS 60000

/*
 * Whether s may be installed, and with what byte budget. The map must hold nothing direct.c
 * would not forward: both members proven, on their link's IP (direct_member's test), allowed
 * by policy as destinations, and no bandwidth cap (only user space meters one). The kernel
 * forwards within one family; a mixed pair stays in user space, which sends v4-mapped.
 */
static bool fastpath_eligible(const struct relay *r, const struct session *s, uint64_t *budget)
{
	const struct limits *lim = &r->cfg.limits;

	if (s->mode != PROTO_MODE_DIRECT || s->dead || s->fd < 0 || s->n < 2)
		return false;
	for (int i = 0; i < 2; i++) {
		const struct member *m = &s->m[i];

		if (!m->has_conf || !addr_equal_ip(&m->link_ip, &m->conf) ||
		    policy_forbids(&r->cfg.policy, &m->conf))
			return false;
	}
	if (addr_family(&s->m[0].conf) != addr_family(&s->m[1].conf))
		return false;
	if (s->limited && lim->circuit_kbps)
		return false;
	*budget = UINT64_MAX;
	if (s->limited && lim->circuit_bytes)
		*budget = s->bytes < lim->circuit_bytes ? lim->circuit_bytes - s->bytes : 0;
	return true;
}

/*
 * Take in what the kernel forwarded for s since the last read. Its clock is CLOCK_MONOTONIC,
 * as ev's, so a member's last datagram keeps its own time, but never later than the caller's
 * now (its loop's cached clock, which the caller subtracts from). now 0: leave times alone.
 */
static void fastpath_apply(struct relay *r, struct session *s, const struct xdp_session_stats *sp,
                           uint64_t now)
{
	struct xdp_session_stats st = *sp;

	/* The kernel's figures only grow while installed; a smaller one is not ours to count. */
	if (st.pkts >= s->xdp_pkts && st.bytes >= s->xdp_bytes) {
		uint64_t db = st.bytes - s->xdp_bytes;

		s->bytes += db;
		r->st.pkts[0] += st.pkts - s->xdp_pkts;
		r->st.bytes[0] += db;
	}
	s->xdp_pkts = st.pkts;
	s->xdp_bytes = st.bytes;
	for (int i = 0; i < 2; i++) {
		uint64_t ms = st.last_ns[i] / 1000000;

		if (!now || !st.last_ns[i] || st.last_ns[i] == s->xdp_last_ns[i])
			continue;
		s->xdp_last_ns[i] = st.last_ns[i];
		if (ms > now)
			ms = now;
		if (i < s->n && s->m[i].conf_rx_ms < ms)
			s->m[i].conf_rx_ms = ms;
		if (s->last_rx_ms < ms)
			s->last_rx_ms = ms;
	}
}

static void fastpath_sync(struct relay *r, struct session *s, uint64_t now)
{
	struct xdp_session_stats st;

	if (xdp_session_read(r->xdp, s->port, &st) == 0)
		fastpath_apply(r, s, &st, now);
}

void fastpath_refresh(struct relay *r, struct session *s, uint64_t now_ms)
{
	if (r->xdp && s->xdp_on)
		fastpath_sync(r, s, now_ms);
}

static void fastpath_failed(struct relay *r, const struct session *s, int e)
{
	uint64_t now = ev_clock_ms();

	r->xdp_set_failed++;
	if (r->xdp_fail_logged_ms && now - r->xdp_fail_logged_ms < FASTPATH_LOG_MS)
		return;
	r->xdp_fail_logged_ms = now;
	log_warnx("xdp: session port %u not installed (%s), forwarded in user space; %llu "
	          "failed install(s) so far",
	          s->port, strerror(-e), (unsigned long long)r->xdp_set_failed);
}

void fastpath_remove(struct relay *r, struct session *s)
{
	if (!r->xdp || !s->xdp_on)
		return;
	fastpath_sync(r, s, 0);
	xdp_session_del(r->xdp, s->port);
	/* The kernel zeroes the port's figures: a later install counts from 0 again. */
	s->xdp_on = false;
	s->xdp_pkts = s->xdp_bytes = 0;
	s->xdp_last_ns[0] = s->xdp_last_ns[1] = 0;
	r->xdp_sessions--;
}

void fastpath_update(struct relay *r, struct session *s, uint64_t now_ms)
{
	uint64_t budget;
	int e;

	if (!r->xdp)
		return;
	/* The budget counts from the kernel's figures now: take in what they hold first. */
	if (s->xdp_on)
		fastpath_sync(r, s, now_ms);
	if (!fastpath_eligible(r, s, &budget)) {
		fastpath_remove(r, s);
		return;
	}
	e = xdp_session_set(r->xdp, s->port, &s->m[0].conf, &s->m[1].conf, budget);
	if (e < 0) {
		fastpath_failed(r, s, e);
		/* What the map still holds is stale now (an old address): out with it. */
		fastpath_remove(r, s);
		return;
	}
	if (!s->xdp_on) {
		s->xdp_on = true;
		r->xdp_sessions++;
	}
}

void fastpath_reload(struct relay *r)
{
	size_t pos = 0;
	struct session *s;

	if (!r->xdp)
		return;
	while ((s = table_next(&r->sessions, &pos)))
		fastpath_update(r, s, ev_now_ms(r->loop));
}

/*
 * Sessions found past their byte limit in one read back, closed after it (the read must not
 * remove sessions). More in one second is rare: the tick then walks the installed ones.
 */
#define FASTPATH_OVER_MAX 64

struct fastpath_read {
	struct relay *r;
	uint64_t now;
	uint16_t over[FASTPATH_OVER_MAX]; /* ports of sessions past their byte limit */
	size_t n_over;
	bool overflow; /* more than over holds */
};

/*
 * The kernel stops at the budget, but user space may have forwarded some of the session's
 * datagrams meanwhile (those that went up): the limit holds here.
 */
static bool fastpath_over(const struct relay *r, const struct session *s)
{
	const struct limits *lim = &r->cfg.limits;

	return s->limited && lim->circuit_bytes && s->bytes > lim->circuit_bytes;
}

static void fastpath_read_one(void *arg, uint16_t port, const struct xdp_session_stats *st)
{
	struct fastpath_read *fr = arg;
	struct session *s = table_get(&fr->r->ports, port);

	if (!s || !s->xdp_on)
		return;
	fastpath_apply(fr->r, s, st, fr->now);
	if (!fastpath_over(fr->r, s))
		return;
	if (fr->n_over < FASTPATH_OVER_MAX)
		fr->over[fr->n_over++] = port;
	else
		fr->overflow = true;
}

/*
 * Only the installed sessions are visited: the batched read gives exactly those (each has its
 * stats entry from xdp_session_set to xdp_session_del), so the session table is walked only
 * on kernels without batched reads, or when more sessions than over holds reach their limit.
 */
void fastpath_tick(struct relay *r, uint64_t now_ms)
{
	struct fastpath_read fr = {.r = r, .now = now_ms};
	size_t pos = 0;
	struct session *s;
	bool each;

	if (!r->xdp)
		return;
	/* All sessions in a few system calls; session by session on kernels without batches. */
	each = xdp_sessions_read_all(r->xdp, fastpath_read_one, &fr) < 0;
	if (!each && !fr.overflow) {
		for (size_t i = 0; i < fr.n_over; i++) {
			s = table_get(&r->ports, fr.over[i]);
			if (s && s->xdp_on && fastpath_over(r, s))
				session_close_limit(r, s, "byte limit");
		}
		return;
	}
	while ((s = table_next(&r->sessions, &pos))) {
		if (!s->xdp_on)
			continue;
		if (each)
			fastpath_sync(r, s, now_ms);
		if (fastpath_over(r, s))
			session_close_limit(r, s, "byte limit");
	}
}

int fastpath_open(struct relay *r, char *err, size_t errlen)
{
	const struct relayd_config *c = &r->cfg;
	const char *names[CONFIG_MAX_XDP_IF];
	char why[256] = "";
	int e;

	r->xdp = NULL;
	r->xdp_sessions = 0;
	if (c->xdp == XDP_MODE_OFF)
		return 0;
	if (!c->mode_direct) {
		log_info("xdp: direct mode is off, the XDP path is not loaded");
		return 0;
	}
	for (int i = 0; i < c->n_xdp_if; i++)
		names[i] = c->xdp_if[i];
	e = xdp_path_open(&r->xdp, c->xdp, names, (size_t)c->n_xdp_if, c->port_lo, c->port_hi,
	                  (uint32_t)c->limits.max_packet, why, sizeof(why));
	if (e < 0) {
		r->xdp = NULL;
		if (!why[0])
			snprintf(why, sizeof(why), "%s", strerror(-e));
		if (c->xdp == XDP_MODE_AUTO) {
			log_warnx(
			    "xdp: auto: not in use (%s); direct sessions are forwarded in user "
			    "space",
			    why);
			return 0;
		}
		snprintf(err, errlen, "Xdp = %s: %s", xdp_mode_name(c->xdp), why);
		return e;
	}
	fastpath_reload(r); /* the sessions restored from the state file */
	log_info("xdp: %s, session ports %u-%u, %zu session(s) installed",
	         xdp_path_describe(r->xdp), c->port_lo, c->port_hi, r->xdp_sessions);
	return 0;
}

int fastpath_after_drop(struct relay *r, char *err, size_t errlen)
{
	struct xdp_counters k;
	size_t pos = 0;
	struct session *s;
	int e;

	if (!r->xdp || (e = xdp_counters_read(r->xdp, &k)) == 0)
		return 0;
	/* Closing needs no privilege: the links go with their descriptors. */
	fastpath_close(r);
	while ((s = table_next(&r->sessions, &pos)))
		s->xdp_on = false;
	if (r->cfg.xdp != XDP_MODE_AUTO) {
		snprintf(err, errlen,
		         "Xdp = %s: its maps refused access after privileges were dropped (%s; "
		         "kernels before 5.19 need CAP_BPF for that)",
		         xdp_mode_name(r->cfg.xdp), strerror(-e));
		return e;
	}
	log_warnx("xdp: auto: its maps refused access after privileges were dropped (%s; kernels "
	          "before 5.19 need CAP_BPF for that); direct sessions are forwarded in user space",
	          strerror(-e));
	return 0;
}

void fastpath_close(struct relay *r)
{
	xdp_path_close(r->xdp);
	r->xdp = NULL;
	r->xdp_sessions = 0;
}

size_t fastpath_metrics(const struct relay *r, char *out, size_t cap)
{
	static const char *const reasons[] = {"not_session", "not_data", "unknown_source", "budget",
	                                      "fib"};
	struct xdp_counters k;
	uint64_t passed[5];
	size_t n = 0;

	memset(&k, 0, sizeof(k));
	if (r->xdp && xdp_counters_read(r->xdp, &k) < 0)
		memset(&k, 0, sizeof(k));
	passed[0] = k.pass_not_session;
	passed[1] = k.pass_not_data;
	passed[2] = k.pass_unknown_source;
	passed[3] = k.pass_budget;
	passed[4] = k.pass_fib;
	SCALAR("wgrelayd_xdp_attached", "gauge", "1 while the XDP fast path is attached.",
	       r->xdp != NULL);
	SCALAR("wgrelayd_xdp_sessions", "gauge", "Direct sessions installed in the XDP path.",
	       r->xdp_sessions);
	SCALAR("wgrelayd_xdp_packets_total", "counter",
	       "Datagrams forwarded in the kernel by the XDP path.", k.fwd_pkts);
	SCALAR("wgrelayd_xdp_bytes_total", "counter",
	       "Bytes forwarded in the kernel by the XDP path.", k.fwd_bytes);
	PUT("# HELP wgrelayd_xdp_passed_total Datagrams the XDP path left to user space, by "
	    "reason.\n# TYPE wgrelayd_xdp_passed_total counter\n");
	for (size_t i = 0; i < sizeof(passed) / sizeof(passed[0]); i++)
		PUT("wgrelayd_xdp_passed_total{reason=\"%s\"} %llu\n", reasons[i],
		    (unsigned long long)passed[i]);
	SCALAR("wgrelayd_xdp_tx_errors_total", "counter",
	       "Datagrams the kernel refused to send on for the XDP path.", k.tx_errors);
	SCALAR("wgrelayd_xdp_install_failed_total", "counter",
	       "Direct sessions the XDP path refused (forwarded in user space).",
	       r->xdp_set_failed);
	return n;
}

const char *fastpath_stats(const struct relay *r, char *buf, size_t cap)
{
	if (!r->xdp)
		return "";
	snprintf(buf, cap, " xdp=%zu", r->xdp_sessions);
	return buf;
}
