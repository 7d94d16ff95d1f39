/* linkplan.c: which relays to hold links with (see linkplan.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "linkplan.h"
#include "linkplan_priv.h"

uint32_t linkplan_rand(struct linkplan *p)
{
	return p->rnd ? p->rnd(p->rnd_ctx) : randombytes_random();
}

/* An UNTRUSTED candidate whose penalty is over is DISCOVERED again. */
static void penalty_check(struct linkplan *p, uint32_t idx, uint64_t now)
{
	if (p->e[idx].cls == LINKPLAN_UNTRUSTED && now >= p->e[idx].next_try)
		linkplan_set_class(p, idx, LINKPLAN_DISCOVERED);
}

static bool cls_valid(int c)
{
	return c == LINKPLAN_UNTRUSTED || c == LINKPLAN_DISCOVERED || c == LINKPLAN_VERIFIED ||
	       c == LINKPLAN_TRUSTED || c == LINKPLAN_CONFIGURED;
}

void linkplan_config_default(struct linkplan_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->min_links = LINKPLAN_DEF_MIN_LINKS;
	cfg->max_links = LINKPLAN_DEF_MAX_LINKS;
	cfg->heartbeat_interval_s = LINKPLAN_DEF_HEARTBEAT_S;
	cfg->link_timeout_s = LINKPLAN_DEF_LINK_TIMEOUT_S;
	cfg->reconnect_interval_s = LINKPLAN_DEF_RECONNECT_S;
	cfg->max_retries = LINKPLAN_DEF_MAX_RETRIES;
	cfg->backoff_max_s = LINKPLAN_DEF_BACKOFF_MAX_S;
	cfg->untrusted_s = LINKPLAN_DEF_UNTRUSTED_S;
	cfg->handshake_timeout_s = LINKPLAN_DEF_HANDSHAKE_S;
	cfg->max_inflight = LINKPLAN_DEF_MAX_INFLIGHT;
	cfg->max_candidates = LINKPLAN_DEF_MAX_CANDIDATES;
	cfg->verify_s = LINKPLAN_DEF_VERIFY_S;
	cfg->swap_interval_s = LINKPLAN_DEF_SWAP_S;
	cfg->replan_s = LINKPLAN_DEF_REPLAN_S;
	cfg->young_s = LINKPLAN_DEF_YOUNG_S;
}

const char *linkplan_config_check(const struct linkplan_config *c)
{
	if (c->max_links < 1 || c->max_links > 1024)
		return "MaxLinks must be 1 to 1024";
	if (c->min_links > c->max_links)
		return "MinLinks is above MaxLinks";
	if (c->heartbeat_interval_s < 1)
		return "HeartbeatInterval must be at least 1 second";
	if (c->link_timeout_s <= c->heartbeat_interval_s)
		return "LinkTimeout must be longer than HeartbeatInterval";
	if (c->reconnect_interval_s < 1)
		return "ReconnectInterval must be at least 1 second";
	if (c->max_retries < 1 || c->max_retries > 255)
		return "MaxRetries must be 1 to 255";
	if (c->backoff_max_s < c->reconnect_interval_s)
		return "ReconnectInterval is above the backoff cap";
	if (c->handshake_timeout_s < 1 || c->max_inflight < 1 || c->replan_s < 1)
		return "handshake timeout, handshakes in flight and re-plan interval must be "
		       "positive";
	if (c->max_candidates < c->max_links || c->max_candidates > (1u << 24))
		return "the candidate cap must be between MaxLinks and 16777216";
	return NULL;
}

/* ---- identity index ---- */

/* Live entries scanned by identity before the hashed index is used instead. */
#define LP_LIVE_SCAN 32

static uint32_t plan_hash(const struct linkplan *p, const uint8_t id[32])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint32_t v;

	/* Keyed: identities are chosen by whoever made them, so they must not pick our buckets. */
	crypto_shorthash(h, id, 32, p->hkey);
	memcpy(&v, h, sizeof(v));
	return v & p->slot_mask;
}

static uint32_t plan_find(const struct linkplan *p, const uint8_t id[32])
{
	uint32_t i = plan_hash(p, id), s;

	while ((s = p->slot[i]) != 0) {
		if (memcmp(p->e[s - 1].id, id, 32) == 0)
			return s - 1;
		i = (i + 1) & p->slot_mask;
	}
	return LP_NONE;
}

static void index_insert(struct linkplan *p, uint32_t idx)
{
	uint32_t i = plan_hash(p, p->e[idx].id);

	while (p->slot[i] != 0)
		i = (i + 1) & p->slot_mask;
	p->slot[i] = idx + 1;
}

/* Backward-shift deletion keeps probe chains whole without tombstones. */
static void index_delete(struct linkplan *p, uint32_t idx)
{
	uint32_t i = plan_hash(p, p->e[idx].id), j, k;

	while (p->slot[i] != idx + 1)
		i = (i + 1) & p->slot_mask;
	j = i;
	for (;;) {
		j = (j + 1) & p->slot_mask;
		if (p->slot[j] == 0)
			break;
		k = plan_hash(p, p->e[p->slot[j] - 1].id);
		/* move j back to i unless its home k lies cyclically in (i, j] */
		if ((i <= j) ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		p->slot[i] = p->slot[j];
		i = j;
	}
	p->slot[i] = 0;
}

/* ---- class lists (eviction order) ---- */

static int ci(uint8_t cls)
{
	return cls / 2 - 1;
}

static void list_unlink(struct linkplan *p, uint32_t idx)
{
	struct ent *e = &p->e[idx];
	int c = ci(e->cls);

	if (e->prev != LP_NONE)
		p->e[e->prev].next = e->next;
	else
		p->head[c] = e->next;
	if (e->next != LP_NONE)
		p->e[e->next].prev = e->prev;
	else
		p->tail[c] = e->prev;
	e->prev = e->next = LP_NONE;
}

static void list_append(struct linkplan *p, uint32_t idx)
{
	struct ent *e = &p->e[idx];
	int c = ci(e->cls);

	e->next = LP_NONE;
	e->prev = p->tail[c];
	if (p->tail[c] != LP_NONE)
		p->e[p->tail[c]].next = idx;
	else
		p->head[c] = idx;
	p->tail[c] = idx;
}

void linkplan_set_class(struct linkplan *p, uint32_t idx, uint8_t cls)
{
	list_unlink(p, idx);
	p->e[idx].cls = cls;
	list_append(p, idx);
}

/* ---- live links ---- */

int linkplan_live_add(struct linkplan *p, uint32_t idx)
{
	if (p->n_live == p->cap_live) {
		uint32_t n = p->cap_live ? p->cap_live * 2 : 16;
		uint32_t *l = realloc(p->live, n * sizeof(*l));
		uint64_t *k;

		if (!l)
			return -ENOMEM;
		p->live = l;
		k = realloc(p->live_key, n * sizeof(*k));
		if (!k)
			return -ENOMEM;
		p->live_key = k;
		p->cap_live = n;
	}
	p->e[idx].live = p->n_live;
	memcpy(&p->live_key[p->n_live], p->e[idx].id, sizeof(uint64_t));
	p->live[p->n_live++] = idx;
	return 0;
}

static void live_del(struct linkplan *p, uint32_t idx)
{
	uint32_t at = p->e[idx].live, last = p->live[--p->n_live];

	p->live[at] = last;
	p->live_key[at] = p->live_key[p->n_live];
	p->e[last].live = at;
	p->e[idx].live = LP_NONE;
}

/* ---- allocation ---- */

int linkplan_new(struct linkplan **out, const struct linkplan_config *cfg, linkplan_rand_fn rnd,
                 void *rnd_ctx)
{
	struct linkplan *p;
	uint32_t nslot = 16;
	size_t i;

	*out = NULL;
	if (linkplan_config_check(cfg))
		return -EINVAL;
	if (!rnd && sodium_init() < 0)
		return -ENOMEM;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	while (nslot < 2 * cfg->max_candidates)
		nslot *= 2;
	p->slot = calloc(nslot, sizeof(*p->slot));
	if (!p->slot) {
		free(p);
		return -ENOMEM;
	}
	p->slot_mask = nslot - 1;
	p->cfg = *cfg;
	p->rnd = rnd;
	p->rnd_ctx = rnd_ctx;
	for (i = 0; i < sizeof(p->hkey); i += 4) {
		uint32_t r = linkplan_rand(p);

		memcpy(p->hkey + i, &r, 4);
	}
	for (i = 0; i < LP_NCLASS; i++)
		p->head[i] = p->tail[i] = LP_NONE;
	p->free_head = LP_NONE;
	p->swap_in = p->swap_out = LP_NONE;
	p->dirty = true;
	p->hungry = true;
	*out = p;
	return 0;
}

void linkplan_free(struct linkplan *p)
{
	if (!p)
		return;
	free(p->e);
	free(p->slot);
	free(p->live);
	free(p->live_key);
	free(p);
}

static uint32_t ent_alloc(struct linkplan *p)
{
	uint32_t idx;

	if (p->free_head != LP_NONE) {
		idx = p->free_head;
		p->free_head = p->e[idx].next;
	} else {
		if (p->n_alloc == p->cfg.max_candidates)
			return LP_NONE;
		if ((p->n_alloc & (p->n_alloc - 1)) == 0) { /* grow at powers of two */
			uint32_t n = p->n_alloc ? p->n_alloc * 2 : 1;
			struct ent *e;

			if (n > p->cfg.max_candidates)
				n = p->cfg.max_candidates;
			e = realloc(p->e, (size_t)n * sizeof(*e));
			if (!e)
				return LP_NONE;
			p->e = e;
		}
		idx = p->n_alloc++;
	}
	memset(&p->e[idx], 0, sizeof(p->e[idx]));
	p->n_used++;
	return idx;
}

void linkplan_release(struct linkplan *p, uint32_t idx)
{
	struct ent *e = &p->e[idx];

	if (e->live != LP_NONE)
		live_del(p, idx);
	if (e->state == LINKPLAN_UP)
		p->n_up--;
	else if (e->state == LINKPLAN_CONNECTING)
		p->n_conn--;
	if (p->swap_in == idx || p->swap_out == idx)
		p->swap_in = p->swap_out = LP_NONE;
	index_delete(p, idx);
	list_unlink(p, idx);
	e->flags = 0;
	e->next = p->free_head;
	p->free_head = idx;
	p->n_used--;
}

/* The oldest candidate without a link of the lowest class up to max_cls, or LP_NONE. */
static uint32_t evict_victim(const struct linkplan *p, uint8_t max_cls)
{
	int c;

	if (max_cls > LINKPLAN_VERIFIED) /* the operator's candidates are never evicted */
		max_cls = LINKPLAN_VERIFIED;
	for (c = 0; c <= ci(max_cls); c++) {
		uint32_t i;

		for (i = p->head[c]; i != LP_NONE; i = p->e[i].next)
			if (!lp_linked(&p->e[i]) && !(p->e[i].flags & LP_F_GONE))
				return i;
	}
	return LP_NONE;
}

/* ---- candidates ---- */

static uint64_t net_key(const struct addr *a)
{
	struct addr u = *a;
	const uint8_t *b;

	addr_unmap(&u);
	if (addr_family(&u) == AF_INET) {
		b = (const uint8_t *)&u.in.sin_addr;
		return (4ull << 32) | ((uint64_t)b[0] << 8) | b[1];
	}
	b = u.in6.sin6_addr.s6_addr;
	return (6ull << 32) | ((uint64_t)b[0] << 24) | ((uint64_t)b[1] << 16) |
	       ((uint64_t)b[2] << 8) | b[3];
}

/* FNV-1a; a collision only makes two families look alike, which costs their owners. */
static uint64_t family_hash(const char *s)
{
	uint64_t h = 14695981039346656037ull;

	if (!s || !*s)
		return 0;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h ? h : 1;
}

static bool all_zero(const uint8_t *b, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i])
			return false;
	return true;
}

int linkplan_add(struct linkplan *p, const struct linkplan_cand *c, uint64_t now_ms)
{
	uint32_t idx;
	struct ent *e;
	int fam = addr_family(&c->addr);

	if (!cls_valid(c->cls) || c->addr.len == 0 || (fam != AF_INET && fam != AF_INET6))
		return -EINVAL;
	if (!all_zero(p->cfg.self, 32) && memcmp(c->identity, p->cfg.self, 32) == 0)
		return -EINVAL;
	idx = plan_find(p, c->identity);
	if (idx == LP_NONE) {
		if (p->n_used == p->cfg.max_candidates) {
			uint32_t v = evict_victim(p, c->cls);

			if (v == LP_NONE) {
				p->st.rejected++;
				return -ENOSPC;
			}
			linkplan_release(p, v);
			p->st.evicted++;
		}
		idx = ent_alloc(p);
		if (idx == LP_NONE)
			return -ENOMEM;
		e = &p->e[idx];
		memcpy(e->id, c->identity, 32);
		e->flags = LP_F_USED;
		e->cls = c->cls;
		e->state = LINKPLAN_IDLE;
		e->live = LP_NONE;
		e->tiebreak = linkplan_rand(p);
		if (c->cls == LINKPLAN_UNTRUSTED)
			e->next_try = now_ms + LP_MS(p->cfg.untrusted_s);
		index_insert(p, idx);
		list_append(p, idx);
		if (p->hungry || c->cls >= LINKPLAN_TRUSTED)
			p->dirty = true;
	} else {
		penalty_check(p, idx, now_ms);
		e = &p->e[idx];
		e->flags &= (uint8_t)~LP_F_GONE; /* renewed before its link was dropped */
		if (e->cls == LINKPLAN_UNTRUSTED && c->cls >= LINKPLAN_TRUSTED) {
			e->next_try = 0;
			e->failures = 0;
		}
		/* refreshed: to the tail of its class list, last to be evicted */
		list_unlink(p, idx);
		if (c->cls > e->cls &&
		    (e->cls != LINKPLAN_UNTRUSTED || c->cls >= LINKPLAN_TRUSTED)) {
			e->cls = c->cls;
			p->dirty = true;
		}
		list_append(p, idx);
	}
	memcpy(e->noise, c->noise, 32);
	e->addr = c->addr;
	e->net = net_key(&c->addr);
	e->fam = family_hash(c->family);
	memcpy(e->country, c->country, 2);
	e->country[2] = '\0';
	return 0;
}

int linkplan_remove(struct linkplan *p, const uint8_t identity[32])
{
	uint32_t idx = plan_find(p, identity);

	if (idx == LP_NONE)
		return -ENOENT;
	if (lp_linked(&p->e[idx])) {
		p->e[idx].flags |= LP_F_GONE;
		p->dirty = true;
	} else {
		linkplan_release(p, idx);
	}
	return 0;
}

/* ---- outcomes ---- */

/* Exponential from ReconnectInterval, capped, with "equal jitter": a draw in [d/2, d]. */
uint64_t linkplan_backoff_ms(struct linkplan *p, unsigned steps)
{
	uint64_t d = LP_MS(p->cfg.reconnect_interval_s), cap = LP_MS(p->cfg.backoff_max_s);
	unsigned i;

	for (i = 1; i < steps && d < cap; i++)
		d *= 2;
	if (d > cap)
		d = cap;
	return d / 2 + linkplan_rand(p) % (d / 2 + 1);
}

void linkplan_promote(struct linkplan *p, struct ent *e, uint64_t now)
{
	uint64_t t = e->link_ms + (e->state == LINKPLAN_UP ? lp_since(now, e->up_since) : 0);

	if (e->cls == LINKPLAN_DISCOVERED && t >= LP_MS(p->cfg.verify_s)) {
		linkplan_set_class(p, (uint32_t)(e - p->e), LINKPLAN_VERIFIED);
		p->st.promoted++;
	}
}

/* Leave UP or CONNECTING: counters, link time, and a fresh tie-break for the next choice. */
void linkplan_unlink(struct linkplan *p, struct ent *e, uint64_t now)
{
	uint32_t idx = (uint32_t)(e - p->e);

	if (e->state == LINKPLAN_UP) {
		linkplan_promote(p, e, now);
		e->link_ms += lp_since(now, e->up_since);
		/* a link that held long enough ends a failure run */
		if (lp_since(now, e->up_since) >= LP_MS(p->cfg.link_timeout_s))
			e->failures = 0;
		p->n_up--;
	} else {
		p->n_conn--;
	}
	live_del(p, idx);
	e->state = LINKPLAN_IDLE;
	e->flags &= (uint8_t)~LP_F_BAD;
	e->tiebreak = linkplan_rand(p);
	p->dirty = true;
}

static void demote(struct linkplan *p, struct ent *e, uint64_t now)
{
	linkplan_set_class(p, (uint32_t)(e - p->e), LINKPLAN_UNTRUSTED);
	e->next_try = now + LP_MS(p->cfg.untrusted_s);
	e->failures = 0;
	e->refusals = 0;
	e->link_ms = 0; /* verification is earned again from the start */
	p->st.demoted++;
}

enum linkplan_down linkplan_down_for_close(const char *reason)
{
	return strcmp(reason, "no-room") == 0 || strcmp(reason, "misbehaved") == 0
	           ? LINKPLAN_REFUSED
	           : LINKPLAN_CLOSED;
}

void linkplan_outcome(struct linkplan *p, struct ent *e, uint64_t now, enum linkplan_down how)
{
	switch (how) {
	case LINKPLAN_CLOSED:
		e->next_try = now + linkplan_backoff_ms(p, 1);
		break;
	case LINKPLAN_REFUSED:
		p->st.refused++;
		if (e->refusals < 255)
			e->refusals++;
		e->next_try = now + linkplan_backoff_ms(p, (unsigned)e->failures + e->refusals);
		break;
	case LINKPLAN_FAILED:
		p->st.failures++;
		/*
		 * With no link up, a failure says nothing about this relay: nothing else answers
		 * either (our network is down, or a partition cuts us off). It is tried again after
		 * ReconnectInterval and neither backs off further nor goes UNTRUSTED, so the first
		 * try after the network comes back finds it, not one up to backoff_max_s later.
		 */
		if (p->n_up == 0) {
			e->next_try = now + linkplan_backoff_ms(p, 1);
			break;
		}
		if (e->failures < 255)
			e->failures++;
		if (e->failures >= p->cfg.max_retries &&
		    (e->cls == LINKPLAN_DISCOVERED || e->cls == LINKPLAN_VERIFIED))
			demote(p, e, now);
		else
			e->next_try =
			    now + linkplan_backoff_ms(p, (unsigned)e->failures + e->refusals);
		break;
	}
}

int linkplan_link_up(struct linkplan *p, const uint8_t identity[32], uint64_t now_ms)
{
	uint32_t idx = plan_find(p, identity);
	struct ent *e;

	if (idx == LP_NONE)
		return -ENOENT;
	penalty_check(p, idx, now_ms);
	e = &p->e[idx];
	if (e->state == LINKPLAN_UP)
		return 0;
	if (e->state == LINKPLAN_CONNECTING) {
		p->n_conn--;
	} else if (linkplan_live_add(p, idx) < 0) {
		return -ENOMEM;
	}
	e->state = LINKPLAN_UP;
	p->n_up++;
	e->up_since = e->last_rx = e->last_tx = e->last_hb = now_ms;
	e->refusals = 0;
	p->st.ups++;
	p->dirty = true;
	return 0;
}

int linkplan_link_down(struct linkplan *p, const uint8_t identity[32], uint64_t now_ms,
                       enum linkplan_down how)
{
	uint32_t idx = plan_find(p, identity);
	struct ent *e;
	uint8_t bad;

	if (idx == LP_NONE)
		return -ENOENT;
	e = &p->e[idx];
	if (!lp_linked(e))
		return 0;
	bad = e->flags & LP_F_BAD; /* already penalised by linkplan_misbehaved */
	linkplan_unlink(p, e, now_ms);
	if (e->flags & LP_F_GONE)
		linkplan_release(p, idx);
	else if (!bad)
		linkplan_outcome(p, e, now_ms, how);
	return 0;
}

/*
 * The entry of a live (UP or CONNECTING) candidate, else LP_NONE. heard and sent run per frame:
 * scanning the few live entries is cheaper than hashing the identity; many live entries (an
 * inbound crowd) fall back to the index.
 */
static uint32_t plan_find_live(const struct linkplan *p, const uint8_t id[32])
{
	uint32_t idx;
	uint64_t key;

	if (p->n_live > LP_LIVE_SCAN) {
		idx = plan_find(p, id);
		return idx != LP_NONE && p->e[idx].live != LP_NONE ? idx : LP_NONE;
	}
	memcpy(&key, id, sizeof(key));
	for (uint32_t i = 0; i < p->n_live; i++) {
		idx = p->live[i];
		if (p->live_key[i] == key && memcmp(p->e[idx].id, id, 32) == 0)
			return idx;
	}
	return LP_NONE;
}

void linkplan_prefetch(const struct linkplan *p, const uint8_t identity[32], int stage)
{
	uint64_t key;

	switch (stage) {
	case 0:
		__builtin_prefetch(p);
		break;
	case 1:
		__builtin_prefetch(p->live_key);
		__builtin_prefetch(p->live);
		break;
	default:
		if (p->n_live > LP_LIVE_SCAN)
			break;
		memcpy(&key, identity, sizeof(key));
		for (uint32_t i = 0; i < p->n_live; i++)
			if (p->live_key[i] == key) {
				__builtin_prefetch(&p->e[p->live[i]]);
				break;
			}
	}
}

void linkplan_heard(struct linkplan *p, const uint8_t identity[32], uint64_t now_ms)
{
	uint32_t idx = plan_find_live(p, identity);

	if (idx != LP_NONE && p->e[idx].state == LINKPLAN_UP)
		p->e[idx].last_rx = now_ms;
}

void linkplan_sent(struct linkplan *p, const uint8_t identity[32], uint64_t now_ms)
{
	uint32_t idx = plan_find_live(p, identity);

	if (idx != LP_NONE && p->e[idx].state == LINKPLAN_UP)
		p->e[idx].last_tx = now_ms;
}

int linkplan_pin(struct linkplan *p, const uint8_t identity[32], bool pin)
{
	uint32_t idx = plan_find(p, identity);

	if (idx == LP_NONE)
		return -ENOENT;
	if (pin)
		p->e[idx].flags |= LP_F_PIN;
	else
		p->e[idx].flags &= (uint8_t)~LP_F_PIN;
	p->dirty = true;
	return 0;
}

int linkplan_misbehaved(struct linkplan *p, const uint8_t identity[32], uint64_t now_ms)
{
	uint32_t idx = plan_find(p, identity);
	struct ent *e;

	if (idx == LP_NONE)
		return -ENOENT;
	e = &p->e[idx];
	p->st.failures++;
	if (e->cls == LINKPLAN_DISCOVERED || e->cls == LINKPLAN_VERIFIED) {
		demote(p, e, now_ms);
	} else if (e->cls == LINKPLAN_UNTRUSTED) {
		e->next_try = now_ms + LP_MS(p->cfg.untrusted_s); /* the penalty starts over */
	} else {
		if (e->failures < 255)
			e->failures++;
		e->next_try = now_ms + linkplan_backoff_ms(p, (unsigned)e->failures + e->refusals);
	}
	if (lp_linked(e)) {
		e->flags |= LP_F_BAD;
		p->dirty = true;
	}
	return 0;
}

/* ---- status ---- */

size_t linkplan_count_up(const struct linkplan *p)
{
	return p->n_up;
}

size_t linkplan_count_connecting(const struct linkplan *p)
{
	return p->n_conn;
}

size_t linkplan_count(const struct linkplan *p)
{
	return p->n_used;
}

static void fill_info(const struct linkplan *p, const struct ent *e, uint64_t now,
                      struct linkplan_info *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->identity, e->id, 32);
	out->addr = e->addr;
	memcpy(out->country, e->country, 3);
	out->cls = e->cls;
	out->state = e->state;
	if (e->state == LINKPLAN_IDLE && (e->next_try > now || e->cls == LINKPLAN_UNTRUSTED))
		out->state = LINKPLAN_BACKOFF;
	out->failures = e->failures;
	out->next_try_ms = e->next_try;
	if (e->state == LINKPLAN_UP) {
		out->up_since_ms = e->up_since;
		out->last_heard_ms = e->last_rx;
	}
	out->link_time_s =
	    (e->link_ms + (e->state == LINKPLAN_UP ? lp_since(now, e->up_since) : 0)) / 1000;
	(void)p;
}

int linkplan_get(const struct linkplan *p, const uint8_t identity[32], uint64_t now_ms,
                 struct linkplan_info *out)
{
	uint32_t idx = plan_find(p, identity);

	if (idx == LP_NONE)
		return -ENOENT;
	fill_info(p, &p->e[idx], now_ms, out);
	return 0;
}

void linkplan_foreach(const struct linkplan *p, uint64_t now_ms,
                      void (*fn)(const struct linkplan_info *info, void *ctx), void *ctx)
{
	struct linkplan_info info;
	uint32_t i;

	for (i = 0; i < p->n_alloc; i++) {
		if (!(p->e[i].flags & LP_F_USED))
			continue;
		fill_info(p, &p->e[i], now_ms, &info);
		fn(&info, ctx);
	}
}

void linkplan_get_stats(const struct linkplan *p, struct linkplan_stats *out)
{
	*out = p->st;
}

const char *linkplan_class_name(int cls)
{
	switch (cls) {
	case LINKPLAN_UNTRUSTED:
		return "untrusted";
	case LINKPLAN_DISCOVERED:
		return "discovered";
	case LINKPLAN_VERIFIED:
		return "verified";
	case LINKPLAN_TRUSTED:
		return "trusted";
	case LINKPLAN_CONFIGURED:
		return "configured";
	}
	return "unknown";
}

const char *linkplan_act_name(int act)
{
	static const char *const n[] = {"?", "connect", "disconnect", "heartbeat"};

	return act >= LINKPLAN_CONNECT && act <= LINKPLAN_HEARTBEAT ? n[act] : "unknown";
}

const char *linkplan_why_name(int why)
{
	static const char *const n[] = {"?",       "fill",      "wanted",  "swap",       "surplus",
	                                "timeout", "handshake", "expired", "misbehaved", "idle"};

	return why >= LINKPLAN_WHY_FILL && why <= LINKPLAN_WHY_IDLE ? n[why] : "unknown";
}

const char *linkplan_state_name(int state)
{
	static const char *const n[] = {"idle", "backoff", "connecting", "up"};

	return state >= LINKPLAN_IDLE && state <= LINKPLAN_UP ? n[state] : "unknown";
}
