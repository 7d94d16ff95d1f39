/* linkplan_decide.c: what to do now: link checks, surplus, selection, diversity swaps. */
#include <string.h>

#include "linkplan.h"
#include "linkplan_priv.h"

static void emit(struct linkplan_action *out, size_t *n, const struct ent *e, int act, int why)
{
	struct linkplan_action *a = &out[(*n)++];

	memset(a, 0, sizeof(*a));
	a->act = (uint8_t)act;
	a->why = (uint8_t)why;
	a->cls = e->cls;
	memcpy(a->identity, e->id, 32);
	memcpy(a->noise, e->noise, 32);
	a->addr = e->addr;
}

/*
 * How much c shares with the links (up or connecting, skip excluded, those about to go left
 * out): the diversity cost of adding or keeping it. 0: a new /16, family and country.
 */
static unsigned crowd(const struct linkplan *p, const struct ent *c, uint32_t skip)
{
	unsigned w = 0;
	uint32_t i;

	for (i = 0; i < p->n_live; i++) {
		const struct ent *l = &p->e[p->live[i]];

		if (l == c || p->live[i] == skip || (l->flags & (LP_F_GONE | LP_F_BAD)))
			continue;
		if (l->net == c->net)
			w += LP_W_NET;
		if (c->fam && l->fam == c->fam)
			w += LP_W_FAMILY;
		if (c->country[0] && memcmp(l->country, c->country, 2) == 0)
			w += LP_W_COUNTRY;
	}
	return w;
}

static bool eligible(const struct ent *e, uint64_t now)
{
	return (e->flags & (LP_F_USED | LP_F_GONE)) == LP_F_USED && e->state == LINKPLAN_IDLE &&
	       e->cls != LINKPLAN_UNTRUSTED && now >= e->next_try;
}

/*
 * The best eligible candidate of class >= min_cls: by class, then crowd, then tie-break
 * (diversity_first: by crowd, then class; only those with crowd < below). LP_NONE if none.
 */
static uint32_t pick(const struct linkplan *p, uint64_t now, uint8_t min_cls, uint32_t skip,
                     bool diversity_first, unsigned below)
{
	uint32_t i, best = LP_NONE;
	unsigned bw = 0;

	for (i = 0; i < p->n_alloc; i++) {
		const struct ent *e = &p->e[i];
		const struct ent *b = best == LP_NONE ? NULL : &p->e[best];
		unsigned w;

		if (!eligible(e, now) || e->cls < min_cls)
			continue;
		if (b && !diversity_first && e->cls < b->cls)
			continue; /* cheap reject before the O(links) crowd */
		w = crowd(p, e, skip);
		if (diversity_first && w >= below)
			continue;
		if (b) {
			int d1 = diversity_first ? (int)bw - (int)w : (int)e->cls - (int)b->cls;
			int d2 = diversity_first ? (int)e->cls - (int)b->cls : (int)bw - (int)w;

			if (d1 < 0 ||
			    (d1 == 0 && (d2 < 0 || (d2 == 0 && e->tiebreak >= b->tiebreak))))
				continue;
		}
		best = i;
		bw = w;
	}
	return best;
}

static bool heartbeat_due(const struct linkplan *p, const struct ent *e, uint64_t now)
{
	uint64_t hb = LP_MS(p->cfg.heartbeat_interval_s);

	return lp_since(now, e->last_hb) >= hb &&
	       (lp_since(now, e->last_tx) >= hb || lp_since(now, e->last_rx) >= hb);
}

/* Per link: expiry, misbehaviour, handshake and link timeouts, promotion, heartbeats. */
static bool check_links(struct linkplan *p, uint64_t now, struct linkplan_action *out, size_t cap,
                        size_t *n)
{
	uint32_t i;

	for (i = p->n_live; i-- > 0;) { /* backwards: unlinking moves the last entry to i */
		uint32_t idx = p->live[i];
		struct ent *e = &p->e[idx];
		bool up = e->state == LINKPLAN_UP;

		if (*n >= cap)
			return false;
		if (e->flags & LP_F_GONE) {
			emit(out, n, e, LINKPLAN_DISCONNECT, LINKPLAN_WHY_EXPIRED);
			linkplan_unlink(p, e, now);
			linkplan_release(p, idx);
		} else if ((e->flags & LP_F_BAD) || e->cls == LINKPLAN_UNTRUSTED) {
			emit(out, n, e, LINKPLAN_DISCONNECT, LINKPLAN_WHY_MISBEHAVED);
			linkplan_unlink(p, e, now);
		} else if (!up) {
			if (lp_since(now, e->up_since) >= LP_MS(p->cfg.handshake_timeout_s)) {
				emit(out, n, e, LINKPLAN_DISCONNECT, LINKPLAN_WHY_HANDSHAKE);
				linkplan_unlink(p, e, now);
				linkplan_outcome(p, e, now, LINKPLAN_FAILED);
			}
		} else if (lp_since(now, e->last_rx) >= LP_MS(p->cfg.link_timeout_s)) {
			emit(out, n, e, LINKPLAN_DISCONNECT, LINKPLAN_WHY_TIMEOUT);
			linkplan_unlink(p, e, now);
			linkplan_outcome(p, e, now, LINKPLAN_FAILED);
		} else {
			linkplan_promote(p, e, now);
			if (lp_since(now, e->up_since) >= LP_MS(p->cfg.link_timeout_s))
				e->failures = 0;
			if (heartbeat_due(p, e, now)) {
				emit(out, n, e, LINKPLAN_HEARTBEAT, LINKPLAN_WHY_IDLE);
				e->last_hb = e->last_tx = now;
			}
		}
	}
	return true;
}

/* A swap's replacement is up: drop the link it replaces, if that still leaves MinLinks. */
static bool swap_finish(struct linkplan *p, uint64_t now, struct linkplan_action *out, size_t cap,
                        size_t *n)
{
	struct ent *in, *old;

	if (p->swap_in == LP_NONE)
		return true;
	in = &p->e[p->swap_in];
	old = &p->e[p->swap_out];
	if (in->state == LINKPLAN_CONNECTING && old->state == LINKPLAN_UP)
		return true;
	if (in->state == LINKPLAN_UP && old->state == LINKPLAN_UP && !(old->flags & LP_F_PIN) &&
	    p->n_up > p->cfg.min_links) {
		if (*n >= cap)
			return false;
		emit(out, n, old, LINKPLAN_DISCONNECT, LINKPLAN_WHY_SWAP);
		linkplan_unlink(p, old, now);
		old->next_try = now + linkplan_backoff_ms(p, 1);
	}
	p->swap_in = p->swap_out = LP_NONE;
	return true;
}

/* e is a link young enough to be spared as surplus (LINKPLAN_DEF_YOUNG_S). */
static bool young(const struct linkplan *p, const struct ent *e, uint64_t now)
{
	return e->state == LINKPLAN_UP && now < e->up_since + LP_MS(p->cfg.young_s);
}

/*
 * When trim_surplus can next drop a link: now when one above MaxLinks is old enough or the
 * young ones are too many, else when the first young one comes of age; UINT64_MAX: never.
 */
/* Links up and past their youth. */
static uint32_t old_up(const struct linkplan *p, uint64_t now)
{
	uint32_t k = 0;

	for (uint32_t i = 0; i < p->n_live; i++)
		k += p->e[p->live[i]].state == LINKPLAN_UP && !young(p, &p->e[p->live[i]], now);
	return k;
}

static uint64_t surplus_due(const struct linkplan *p, uint64_t now)
{
	uint64_t t = UINT64_MAX;

	if (p->n_up <= p->cfg.max_links)
		return t;
	if (p->n_up > p->cfg.max_links + LINKPLAN_YOUNG_EXTRA || old_up(p, now) > p->cfg.max_links)
		return now;
	for (uint32_t i = 0; i < p->n_live; i++)
		if (young(p, &p->e[p->live[i]], now))
			t = lp_min64(t, p->e[p->live[i]].up_since + LP_MS(p->cfg.young_s));
	return t;
}

/*
 * Above MaxLinks: drop the lowest class, then the most crowded, then the newest link; links
 * younger than young_s are spared while at most LINKPLAN_YOUNG_EXTRA above MaxLinks.
 */
static bool trim_surplus(struct linkplan *p, uint64_t now, struct linkplan_action *out, size_t cap,
                         size_t *n)
{
	size_t pinned = 0;

	/* Pinned links are outside MaxLinks: their user (circuits) bounds them. */
	for (uint32_t i = 0; i < p->n_live; i++)
		pinned +=
		    p->e[p->live[i]].state == LINKPLAN_UP && (p->e[p->live[i]].flags & LP_F_PIN);
	while (p->n_up - pinned > p->cfg.max_links) {
		uint32_t i, v = LP_NONE;
		unsigned vw = 0;
		bool spare = p->n_up - pinned <= p->cfg.max_links + LINKPLAN_YOUNG_EXTRA;

		/* the links above MaxLinks are young ones: they stay until they come of age */
		if (spare && old_up(p, now) <= p->cfg.max_links + pinned)
			break;
		if (*n >= cap)
			return false;
		for (i = 0; i < p->n_live; i++) {
			struct ent *e = &p->e[p->live[i]], *b = v == LP_NONE ? NULL : &p->e[v];
			unsigned w;

			if (e->state != LINKPLAN_UP || (e->flags & LP_F_PIN) ||
			    (spare && young(p, e, now)))
				continue;
			w = crowd(p, e, LP_NONE);
			if (b && (e->cls > b->cls ||
			          (e->cls == b->cls &&
			           (w < vw || (w == vw && (e->up_since < b->up_since ||
			                                   (e->up_since == b->up_since &&
			                                    e->tiebreak <= b->tiebreak)))))))
				continue;
			v = p->live[i];
			vw = w;
		}
		if (v == LP_NONE)
			break;
		emit(out, n, &p->e[v], LINKPLAN_DISCONNECT, LINKPLAN_WHY_SURPLUS);
		linkplan_unlink(p, &p->e[v], now);
		p->e[v].next_try = now + linkplan_backoff_ms(p, 1);
		p->st.surplus++;
	}
	return true;
}

static void start_connect(struct linkplan *p, uint32_t idx, uint64_t now)
{
	struct ent *e = &p->e[idx];

	e->state = LINKPLAN_CONNECTING;
	e->up_since = now;
	p->n_conn++;
	p->st.connects++;
}

/* Expire penalties; the earliest backoff ends of any candidate and of the operator's. */
static void scan_prepare(struct linkplan *p, uint64_t now, uint64_t *any, uint64_t *wanted)
{
	uint32_t i;

	*any = *wanted = LP_NEVER;
	for (i = 0; i < p->n_alloc; i++) {
		struct ent *e = &p->e[i];

		if (!(e->flags & LP_F_USED) || lp_linked(e))
			continue;
		if (e->cls == LINKPLAN_UNTRUSTED && now >= e->next_try)
			linkplan_set_class(p, i, LINKPLAN_DISCOVERED);
		if (e->next_try > now) {
			*any = lp_min64(*any, e->next_try);
			if (e->cls >= LINKPLAN_TRUSTED)
				*wanted = lp_min64(*wanted, e->next_try);
		}
	}
}

/* Connect: any class below MinLinks, the operator's candidates up to MaxLinks. */
static bool select_links(struct linkplan *p, uint64_t now, struct linkplan_action *out, size_t cap,
                         size_t *n)
{
	uint64_t any, wanted;
	size_t total;

	scan_prepare(p, now, &any, &wanted);
	while (p->n_conn < p->cfg.max_inflight && p->n_up + p->n_conn < p->cfg.max_links) {
		bool fill = p->n_up + p->n_conn < p->cfg.min_links;
		uint32_t idx;

		idx =
		    pick(p, now, fill ? LINKPLAN_DISCOVERED : LINKPLAN_TRUSTED, LP_NONE, false, 0);
		if (idx == LP_NONE)
			break;
		if (*n >= cap || linkplan_live_add(p, idx) < 0)
			return false;
		emit(out, n, &p->e[idx], LINKPLAN_CONNECT,
		     fill ? LINKPLAN_WHY_FILL : LINKPLAN_WHY_WANTED);
		start_connect(p, idx, now);
	}
	total = p->n_up + p->n_conn;
	p->hungry = total < p->cfg.min_links;
	if (p->hungry)
		p->next_scan = lp_min64(now + LP_MS(p->cfg.replan_s), any);
	else if (total < p->cfg.max_links)
		p->next_scan = wanted;
	else
		p->next_scan = LP_NEVER;
	return true;
}

static bool swap_possible(const struct linkplan *p)
{
	return p->cfg.swap_interval_s && p->swap_in == LP_NONE && p->n_conn == 0 && p->n_up >= 2 &&
	       p->n_up >= p->cfg.min_links && p->n_up <= p->cfg.max_links;
}

/*
 * Every swap_interval_s: the most crowded link that is not the operator's (CONFIGURED, TRUSTED) is
 * replaced by a candidate of at least its class that is less crowded without it. Each swap
 * lowers the total crowding, so swaps stop once nothing is gained.
 */
static bool try_swap(struct linkplan *p, uint64_t now, struct linkplan_action *out, size_t cap,
                     size_t *n)
{
	uint32_t i, v = LP_NONE, r;
	unsigned vw = 0;

	if (*n >= cap)
		return false;
	/* 3/4 to 5/4 of the interval: relays started together (after an outage, or all of a
	 * simulated network) would otherwise swap, link and compare stores in the same minute. */
	uint64_t every = LP_MS(p->cfg.swap_interval_s);
	p->swap_next = now + every * 3 / 4 + linkplan_rand(p) % (every / 2 + 1);
	for (i = 0; i < p->n_live; i++) {
		struct ent *e = &p->e[p->live[i]], *b = v == LP_NONE ? NULL : &p->e[v];
		unsigned w;

		if (e->state != LINKPLAN_UP || e->cls > LINKPLAN_VERIFIED || (e->flags & LP_F_PIN))
			continue;
		w = crowd(p, e, LP_NONE);
		if (w == 0 ||
		    (b &&
		     (w < vw || (w == vw && (e->cls > b->cls ||
		                             (e->cls == b->cls && e->up_since <= b->up_since))))))
			continue;
		v = p->live[i];
		vw = w;
	}
	if (v == LP_NONE)
		return true;
	r = pick(p, now, p->e[v].cls, v, true, vw);
	if (r == LP_NONE || linkplan_live_add(p, r) < 0)
		return true;
	emit(out, n, &p->e[r], LINKPLAN_CONNECT, LINKPLAN_WHY_SWAP);
	start_connect(p, r, now);
	p->swap_in = r;
	p->swap_out = v;
	p->st.swaps++;
	return true;
}

size_t linkplan_decide(struct linkplan *p, uint64_t now_ms, struct linkplan_action *out, size_t cap)
{
	size_t n = 0;

	if (!check_links(p, now_ms, out, cap, &n) || !swap_finish(p, now_ms, out, cap, &n) ||
	    !trim_surplus(p, now_ms, out, cap, &n))
		return n;
	if (p->dirty || now_ms >= p->next_scan) {
		p->dirty = false;
		if (!select_links(p, now_ms, out, cap, &n)) {
			p->dirty = true;
			return n;
		}
	}
	if (swap_possible(p) && now_ms >= p->swap_next)
		try_swap(p, now_ms, out, cap, &n);
	return n;
}

uint64_t linkplan_next_ms(const struct linkplan *p, uint64_t now_ms)
{
	uint64_t t = p->dirty ? now_ms : lp_min64(p->next_scan, surplus_due(p, now_ms));
	uint64_t hb = LP_MS(p->cfg.heartbeat_interval_s);
	uint32_t i;

	if (swap_possible(p))
		t = lp_min64(t, p->swap_next);
	for (i = 0; i < p->n_live && t > now_ms; i++) {
		const struct ent *e = &p->e[p->live[i]];

		if ((e->flags & (LP_F_GONE | LP_F_BAD)) || e->cls == LINKPLAN_UNTRUSTED) {
			t = now_ms;
		} else if (e->state == LINKPLAN_CONNECTING) {
			t = lp_min64(t, e->up_since + LP_MS(p->cfg.handshake_timeout_s));
		} else {
			uint64_t h = lp_min64(e->last_tx, e->last_rx) + hb;

			if (h < e->last_hb + hb)
				h = e->last_hb + hb;
			t = lp_min64(t, h);
			t = lp_min64(t, e->last_rx + LP_MS(p->cfg.link_timeout_s));
		}
	}
	return t < now_ms ? now_ms : t;
}
