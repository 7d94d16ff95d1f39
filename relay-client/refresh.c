/* refresh.c: discovery runs over links, for `watch` and `list-relays --refresh`. */
#include "refresh.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "ev.h"
#include "geoip.h"
#include "key.h"
#include "link.h"
#include "log.h"
#include "registry.h"
#include "selfaddr.h"
#include "steer.h"

_Static_assert(REFRESH_TABLE == STEER_MAX_RELAYS, "a run per relay of the helper's table");

void refresh_filter(struct discover_filter *f, struct geoip *g, const struct addr *self,
                    uint8_t modes)
{
	struct geoip_loc loc;

	memset(f, 0, sizeof(*f));
	/*
	 * A relay must offer every mode asked for (§10.4): with interfaces in both modes, asking
	 * for both would leave out relays that serve either, so then no mode is asked for.
	 */
	if (modes == DESC_MODE_DIRECT || modes == DESC_MODE_SEALED)
		f->modes = modes;
	if (self && self->len && geoip_lookup(g, self, &loc) == 0) {
		f->near = true;
		f->lat_e6 = (int32_t)lround(loc.lat * 1e6);
		f->lon_e6 = (int32_t)lround(loc.lon * 1e6);
	}
}

uint8_t refresh_modes(struct cache *c)
{
	struct cache_iface *ifs;
	size_t n;
	uint8_t modes = 0;

	if (cache_iface_list(c, &ifs, &n) < 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (ifs[i].enabled)
			modes |= strcmp(ifs[i].mode, "sealed") == 0 ? DESC_MODE_SEALED
			                                            : DESC_MODE_DIRECT;
	free(ifs);
	return modes;
}

void refresh_poll(struct discover_run *r, struct link *l, int64_t now_ms)
{
	uint8_t req[DISCOVER_REQ_LEN];
	int n = discover_poll(r, l->state == LINK_UP, now_ms, req, sizeof(req));

	if (n > 0 && link_send_ctrl(l, req, (size_t)n, now_ms) < 0)
		log_debug("discovery: DISCOVER to %s not sent",
		          addr_format(&l->relay, (char[ADDR_STRLEN]){0}, ADDR_STRLEN));
}

enum discover_event refresh_input(struct cache *c, struct discover_run *r, struct link *l,
                                  const uint8_t *msg, size_t len, int64_t now_ms)
{
	struct discover_reply rep;
	enum discover_event ev = discover_input(r, msg, len, &rep);

	if (ev == DISCOVER_EV_DESC)
		registry_take_desc(c, "relay", rep.desc, rep.desc_len, &l->relay, l->relay_pub,
		                   (uint64_t)time(NULL), &r->stats);
	else if (ev == DISCOVER_EV_PAGE)
		refresh_poll(r, l, now_ms);
	return ev;
}

void refresh_add(struct discover_stats *a, const struct discover_stats *b)
{
	for (int v = 0; v < DISCOVER_V_MAX; v++)
		a->verdicts[v] += b->verdicts[v];
	for (int e = 0; e < DESC_E_MAX; e++)
		a->invalid[e] += b->invalid[e];
	a->pages += b->pages;
	a->dropped += b->dropped;
	a->lost += b->lost;
	a->complete |= b->complete;
	a->timed_out |= b->timed_out;
}

/* Append to buf (len bytes) what fits. */
static void put(char *buf, size_t len, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void put(char *buf, size_t len, const char *fmt, ...)
{
	size_t used = strnlen(buf, len);
	va_list ap;

	if (used + 1 >= len)
		return;
	va_start(ap, fmt);
	vsnprintf(buf + used, len - used, fmt, ap);
	va_end(ap);
}

const char *refresh_summary(const struct discover_stats *s, char *buf, size_t len)
{
	unsigned refused = discover_refusals(s);
	const char *sep = " (";

	if (!len)
		return buf;
	buf[0] = '\0';
	put(buf, len, "%u new, %u updated, %u unchanged, %u refused", s->verdicts[DISCOVER_NEW],
	    s->verdicts[DISCOVER_UPDATED], s->verdicts[DISCOVER_UNCHANGED], refused);
	for (int v = DISCOVER_R_INVALID; v < DISCOVER_V_MAX; v++) {
		if (!s->verdicts[v])
			continue;
		if (v != DISCOVER_R_INVALID) {
			put(buf, len, "%s%u %s", sep, s->verdicts[v], discover_verdict_name(v));
			sep = ", ";
			continue;
		}
		/* Which malformation, so an operator can tell a bad relay from a bad clock. */
		for (int e = 1; e < DESC_E_MAX; e++)
			if (s->invalid[e]) {
				put(buf, len, "%s%u invalid:%s", sep, s->invalid[e],
				    desc_err_name(e));
				sep = ", ";
			}
	}
	if (refused)
		put(buf, len, ")");
	return buf;
}

/* Run i ended: say what it brought (a relay that never answers: once an hour); news? */
static bool sched_ended(struct refresh_sched *rs, struct steer_ctx *s, size_t i, int64_t now_ms)
{
	const struct discover_stats *st = &rs->run[i].stats;
	const char *ep = s->relays[i].info.endpoint;
	bool news = st->verdicts[DISCOVER_NEW] || st->verdicts[DISCOVER_UPDATED];
	char sum[256];

	refresh_add(&rs->total, st);
	refresh_summary(st, sum, sizeof(sum));
	if (!st->pages) {
		/* A relay outside the relay network never answers: not a line every round. */
		if (!rs->quiet_ms || now_ms - rs->quiet_ms >= 3600000) {
			log_info(
			    "discovery: relay %s did not answer; the relays cached stay in use",
			    ep);
			rs->quiet_ms = now_ms;
		}
	} else if (news || discover_refusals(st)) {
		log_info("discovery via relay %s: %s", ep, sum);
	} else {
		log_debug("discovery via relay %s: %s", ep, sum);
	}
	return news;
}

int64_t refresh_due_ms(int64_t next_ms, int64_t last_ms, int64_t expiry_ms)
{
	int64_t due = next_ms;

	if (expiry_ms && expiry_ms - REFRESH_EXPIRY_LEAD_MS < due)
		due = expiry_ms - REFRESH_EXPIRY_LEAD_MS;
	if (last_ms && due < last_ms + REFRESH_MIN_GAP_MS)
		due = last_ms + REFRESH_MIN_GAP_MS;
	return due;
}

/*
 * The soonest descriptor expiry among the discovered relays linked (skip[i]: not), in ms on
 * now_ms's clock; 0 none. Bootstrap and config relays stay whatever their descriptor says.
 */
static int64_t soonest_expiry_ms(const struct steer_ctx *s, const bool *skip, size_t n,
                                 int64_t now_ms)
{
	int64_t now = time(NULL), best = 0;

	for (size_t i = 0; i < n; i++) {
		const struct cache_relay *r = &s->relays[i].info;
		if (skip[i] || !r->has_desc || r->expires <= 0 ||
		    !cache_source_discovered(r->source))
			continue;
		int64_t ms = now_ms + (r->expires - now) * 1000;
		if (!best || ms < best)
			best = ms;
	}
	return best;
}

bool refresh_sched_tick(struct refresh_sched *rs, struct steer_ctx *s, const bool *skip,
                        uint8_t modes, int64_t now_ms)
{
	size_t up = 0, started = 0, n = s->n_relays < REFRESH_TABLE ? s->n_relays : REFRESH_TABLE;
	struct discover_filter f;
	bool news = false;
	int64_t due;

	for (size_t i = 0; i < n; i++) {
		struct link *l = s->relays[i].link;
		bool busy = discover_busy(&rs->run[i]);

		up += l->state == LINK_UP && !skip[i];
		refresh_poll(&rs->run[i], l, now_ms);
		if (busy && !discover_busy(&rs->run[i]))
			news |=
			    sched_ended(rs, s, i, now_ms); /* timed out, or the link went down */
	}
	if (!rs->first_ms)
		rs->first_ms = now_ms;
	due = refresh_due_ms(rs->next_ms, rs->last_ms, soonest_expiry_ms(s, skip, n, now_ms));
	if (now_ms < due || !up || (up < n && now_ms - rs->first_ms < REFRESH_FIRST_WAIT_MS))
		return news;
	refresh_filter(&f, s->geoip, s->self_known ? &s->self_public : NULL, modes);
	for (size_t k = 0; k < n && started < REFRESH_LINKS; k++) {
		size_t i = (rs->rr + k) % n;
		if (s->relays[i].link->state != LINK_UP || skip[i] || discover_busy(&rs->run[i]))
			continue;
		discover_start(&rs->run[i], &f);
		refresh_poll(&rs->run[i], s->relays[i].link, now_ms);
		rs->rr = i + 1;
		started++;
	}
	rs->next_ms = now_ms + REFRESH_EVERY_MS;
	rs->last_ms = now_ms;
	return news;
}

bool refresh_sched_input(struct refresh_sched *rs, struct steer_ctx *s, size_t i,
                         const uint8_t *msg, size_t len, int64_t now_ms)
{
	if (i >= REFRESH_TABLE || i >= s->n_relays)
		return false;
	if (refresh_input(s->cache, &rs->run[i], s->relays[i].link, msg, len, now_ms) !=
	    DISCOVER_EV_DONE)
		return false;
	return sched_ended(rs, s, i, now_ms);
}

void refresh_sched_reset(struct refresh_sched *rs, size_t i)
{
	if (i < REFRESH_TABLE)
		memset(&rs->run[i], 0, sizeof(rs->run[i]));
}

/* One relay of a one-shot refresh. */
struct once_link {
	struct link *l;
	struct discover_run run;
	bool ran; /* a run was started on it */
	struct cache *c;
};

static void once_readable(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)fd;
	(void)events;
	link_readable(arg, (int64_t)ev_now_ms(loop));
}

static void once_ctrl(struct link *l, const uint8_t *msg, size_t len, int64_t now_ms)
{
	struct once_link *o = l->ctrl_arg;

	refresh_input(o->c, &o->run, l, msg, len, now_ms);
}

/* Our address as most of the links that are up saw it, NULL when they do not agree. */
static const struct addr *once_self(struct once_link *o, size_t n, struct addr *obs,
                                    struct selfaddr_vote *v)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (o[i].l->state == LINK_UP && o[i].l->observed.len)
			obs[k++] = o[i].l->observed;
	*v = selfaddr_decide(obs, k, NULL);
	return v->known ? &v->addr : NULL;
}

/* The loop of a one-shot refresh: handshakes, then runs until they end or time is up. */
static void once_loop(struct ev_loop *loop, struct once_link *o, size_t n, struct geoip *g,
                      uint8_t modes)
{
	struct addr obs[REFRESH_MAX_LINKS];
	struct selfaddr_vote vote;
	struct discover_filter f;
	int64_t t0 = (int64_t)ev_clock_ms();
	bool started = false;

	for (;;) {
		int64_t now = (int64_t)ev_clock_ms();
		size_t up = 0, busy = 0;

		if (now - t0 >= REFRESH_MAX_MS)
			break;
		for (size_t i = 0; i < n; i++) {
			link_tick(o[i].l, now);
			up += o[i].l->state == LINK_UP;
		}
		/* All up, or the slow ones given up on: where we are is what the links saw. */
		if (!started && (up == n || now - t0 >= REFRESH_HS_MS)) {
			refresh_filter(&f, g, once_self(o, n, obs, &vote), modes);
			started = true;
		}
		for (size_t i = 0; started && i < n; i++) {
			if (!o[i].ran && o[i].l->state == LINK_UP) {
				discover_start(&o[i].run, &f);
				o[i].ran = true;
			}
			refresh_poll(&o[i].run, o[i].l, now);
			busy += discover_busy(&o[i].run);
		}
		if (started && !busy)
			break;
		ev_run_once(loop, 100);
	}
}

int refresh_once(struct cache *c, const struct registry_entry *e, size_t n, const uint8_t priv[32],
                 uint32_t fwmark, struct geoip *g, struct refresh_result *out)
{
	struct once_link o[REFRESH_MAX_LINKS];
	struct ev_loop *loop;
	size_t k = 0;
	int rc;

	memset(out, 0, sizeof(*out));
	memset(o, 0, sizeof(o));
	if ((rc = ev_new(&loop)) < 0)
		return rc;
	rc = cache_desc_prune(c, time(NULL));
	out->pruned = rc > 0 ? (unsigned)rc : 0;
	for (size_t i = 0; i < n && k < REFRESH_MAX_LINKS; i++) {
		uint8_t pub[KEY_LEN];

		if (!e[i].addr.len || key_from_base64(pub, e[i].info.pubkey) < 0 ||
		    link_new(&o[k].l, pub, &e[i].addr, priv, fwmark) < 0)
			continue;
		if (ev_add_io(loop, o[k].l->fd, EV_READ, once_readable, o[k].l) < 0) {
			link_free(o[k].l);
			continue;
		}
		o[k].c = c;
		o[k].l->on_ctrl = once_ctrl;
		o[k].l->ctrl_arg = &o[k];
		k++;
	}
	out->asked = (unsigned)k;
	if (k)
		once_loop(loop, o, k, g, refresh_modes(c));
	for (size_t i = 0; i < k; i++) {
		out->linked += o[i].ran;
		out->answered += o[i].run.stats.pages > 0;
		refresh_add(&out->stats, &o[i].run.stats);
		ev_del_io(loop, o[i].l->fd);
		link_free(o[i].l);
	}
	ev_free(loop);
	return 0;
}
