/*
 * gossip.c: the gossip and anti-entropy engine (gossip.h has the rules). Inputs change the
 * store, the pending-WANT table (gossip_want.c) and per-link queues of work; messages are built
 * only when the caller drains them (gossip_out.c), so a queue holds identities and references,
 * never copies of descriptors.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gossip_int.h"

void gossip_config_default(struct gossip_config *c)
{
	memset(c, 0, sizeof(*c));
	c->store_capacity = DSTORE_DEFAULT_CAPACITY;
	c->max_links = 64;
	c->ae_interval_ms = 30000;
	c->want_timeout_ms = 1500;
	c->want_window = 50;
	c->pending_max = 4096;
	c->ann_queue = 2048;
	c->desc_queue = 64;
	c->msg_in = (struct gossip_rate){200, 20};
	c->desc_in = (struct gossip_rate){100, 50};
	c->digest_in = (struct gossip_rate){4, 5000};
	c->serve = (struct gossip_rate){200, 20};
}

static int gossip_default_decode(void *ctx, const uint8_t *p, size_t len, struct dstore_desc **out,
                                 int *why)
{
	(void)ctx;
	return dstore_desc_new(out, p, len, why);
}

/* Count a descriptor that did not decode or verify. */
static void gossip_count_invalid(struct gossip *g, int why)
{
	if (why > 0 && why < DESC_E_MAX)
		g->st.invalid[why]++;
	else
		g->st.invalid[0]++; /* a decode function that gave no reason */
}

/* ---- token buckets ---- */

void gossip_tok_init(struct gossip_tok *t, const struct gossip_rate *r, uint64_t now)
{
	t->tokens = r->burst;
	t->last_ms = now;
}

uint32_t gossip_tok_fill(struct gossip_tok *t, const struct gossip_rate *r, uint64_t now)
{
	uint64_t add;

	if (r->refill_ms == 0)
		return UINT32_MAX;
	if (now < t->last_ms) { /* the clock stepped back: mint nothing */
		t->last_ms = now;
		return t->tokens;
	}
	add = (now - t->last_ms) / r->refill_ms;
	if (t->tokens + add >= r->burst) {
		t->tokens = r->burst;
		t->last_ms = now;
	} else {
		t->tokens += (uint32_t)add;
		t->last_ms += add * r->refill_ms;
	}
	return t->tokens;
}

bool gossip_tok_take(struct gossip_tok *t, const struct gossip_rate *r, uint64_t now)
{
	if (gossip_tok_fill(t, r, now) < 1)
		return false;
	if (r->refill_ms)
		t->tokens--;
	return true;
}

/* ---- identity rings ---- */

/* Append id; when the ring holds max, the oldest goes (returns 1). 0, 1 or -ENOMEM. */
int gossip_ring_push(struct gossip_ring *r, uint32_t max, const uint8_t id[32])
{
	int dropped = 0;

	if (r->n == max) {
		r->head = (r->head + 1) % r->cap;
		r->n--;
		dropped = 1;
	}
	if (r->n == r->cap) {
		uint32_t cap = r->cap ? r->cap * 2 : 8;
		uint8_t(*a)[32];

		if (cap > max)
			cap = max;
		a = malloc((size_t)cap * 32);
		if (!a)
			return -ENOMEM;
		for (uint32_t i = 0; i < r->n; i++)
			memcpy(a[i], r->id[(r->head + i) % r->cap], 32);
		free(r->id);
		r->id = a;
		r->cap = cap;
		r->head = 0;
	}
	memcpy(r->id[(r->head + r->n) % r->cap], id, 32);
	r->n++;
	return dropped;
}

void gossip_ring_pop(struct gossip_ring *r, uint8_t id[32])
{
	memcpy(id, r->id[r->head], 32);
	r->head = (r->head + 1) % r->cap;
	r->n--;
}

/* ---- links ---- */

struct gossip_link *gossip_link_find(struct gossip *g, uint32_t id)
{
	for (uint32_t i = 0; i < g->n_links; i++)
		if (g->links[i].id == id)
			return &g->links[i];
	return NULL;
}

static void gossip_link_clear(struct gossip_link *l, const struct gossip_config *c)
{
	for (uint32_t i = 0; i < l->desc_n; i++)
		dstore_desc_unref(l->desc[(l->desc_head + i) % c->desc_queue]);
	free(l->desc);
	free(l->ann.id);
	free(l->want.id);
	free(l->due.e);
}

static void gossip_ae_start(struct gossip *g, struct gossip_link *l, uint64_t now)
{
	l->digest_parts = 2;
	l->ae_until_ms = now + g->cfg.ae_interval_ms;
	g->st.ae_rounds++;
}

/* Queue an announcement of id to every link not in except[]. */
static void gossip_announce(struct gossip *g, const uint8_t id[32], const uint32_t *except,
                            size_t n_except)
{
	for (uint32_t i = 0; i < g->n_links; i++) {
		struct gossip_link *l = &g->links[i];
		size_t k;
		int r;

		for (k = 0; k < n_except && except[k] != l->id; k++)
			;
		if (k < n_except)
			continue;
		r = gossip_ring_push(&l->ann, g->cfg.ann_queue, id);
		if (r != 0)
			g->st.ann_dropped++;
	}
}

void gossip_announce_to(struct gossip *g, struct gossip_link *l, const uint8_t id[32])
{
	if (gossip_ring_push(&l->ann, g->cfg.ann_queue, id) != 0)
		g->st.ann_dropped++;
}

/* ---- engine ---- */

int gossip_new(struct gossip **out, const struct gossip_config *cfg)
{
	struct gossip *g;
	int r;

	*out = NULL;
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	if (cfg)
		g->cfg = *cfg;
	else
		gossip_config_default(&g->cfg);
	if (!g->cfg.decode)
		g->cfg.decode = gossip_default_decode;
	if (g->cfg.max_links == 0 || g->cfg.ae_interval_ms == 0 || g->cfg.want_timeout_ms == 0 ||
	    g->cfg.want_window == 0 || g->cfg.pending_max == 0 || g->cfg.ann_queue == 0 ||
	    g->cfg.desc_queue == 0) {
		free(g);
		return -EINVAL;
	}
	r = dstore_new(&g->store, g->cfg.store_capacity);
	if (r < 0) {
		free(g);
		return r;
	}
	dstore_set_watch(g->store, g->cfg.watch, g->cfg.watch_ctx);
	*out = g;
	return 0;
}

void gossip_free(struct gossip *g)
{
	if (!g)
		return;
	for (uint32_t i = 0; i < g->n_links; i++)
		gossip_link_clear(&g->links[i], &g->cfg);
	free(g->links);
	free(g->pend);
	free(g->idle_bits);
	dstore_free(g->store);
	free(g);
}

int gossip_link_up(struct gossip *g, uint32_t link, uint64_t now_ms)
{
	struct gossip_link *l;

	if (link == GOSSIP_LINK_NONE)
		return -EINVAL;
	if (gossip_link_find(g, link))
		return -EEXIST;
	if (g->n_links == g->cfg.max_links)
		return -ENOSPC;
	if (g->n_links == g->links_cap) {
		uint32_t cap = g->links_cap ? g->links_cap * 2 : 4;
		struct gossip_link *a = realloc(g->links, cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		g->links = a;
		g->links_cap = cap;
	}
	l = &g->links[g->n_links++];
	memset(l, 0, sizeof(*l));
	l->id = link;
	l->list_cur = -1;
	gossip_tok_init(&l->msg_in, &g->cfg.msg_in, now_ms);
	gossip_tok_init(&l->desc_in, &g->cfg.desc_in, now_ms);
	gossip_tok_init(&l->digest_in, &g->cfg.digest_in, now_ms);
	gossip_tok_init(&l->serve, &g->cfg.serve, now_ms);
	/* A new link may have missed everything: reconcile with it now, not in a round robin. */
	gossip_ae_start(g, l, now_ms);
	g->last_ms = now_ms;
	return 0;
}

int gossip_link_down(struct gossip *g, uint32_t link, uint64_t now_ms)
{
	struct gossip_link *l = gossip_link_find(g, link);

	if (!l)
		return -ENOENT;
	gossip_link_clear(l, &g->cfg);
	*l = g->links[--g->n_links];
	gossip_want_link_down(g, link, now_ms);
	g->last_ms = now_ms;
	return 0;
}

/* Count dd's store outcome; a new or updated descriptor is announced to all but its holders. */
static int gossip_accept(struct gossip *g, uint32_t src, struct dstore_desc *dd, uint64_t now)
{
	uint32_t except[2 + GOSSIP_WANT_ALTS];
	size_t n = 0;
	struct gossip_want *w;
	int r = dstore_insert(g->store, dd, now / 1000);

	switch (r) {
	case DSTORE_NEW:
		g->st.accepted_new++;
		break;
	case DSTORE_UPDATED:
		g->st.accepted_updated++;
		break;
	case DSTORE_STALE:
		if (dstore_seq(g->store, dd->d.identity) == dd->d.seq)
			g->st.duplicate++;
		else
			g->st.stale++;
		return r;
	case DSTORE_EXPIRED:
		g->st.expired++;
		return r;
	case DSTORE_FUTURE:
		g->st.future++;
		return r;
	case DSTORE_FULL:
		g->st.store_full++;
		return r;
	default:
		return r;
	}
	except[n++] = src;
	w = gossip_want_find(g, dd->d.identity);
	if (w) {
		if (w->asked != GOSSIP_LINK_NONE)
			except[n++] = w->asked;
		for (int k = 0; k < w->n_alt; k++)
			if (w->alt[k].seq >= dd->d.seq)
				except[n++] = w->alt[k].link;
	}
	gossip_announce(g, dd->d.identity, except, n);
	return r;
}

/* gossip_offer; when own is not NULL, the identity and seq of what was offered go there. */
static int gossip_offer_id(struct gossip *g, uint32_t link, const uint8_t *desc, size_t len,
                           uint64_t now_ms, uint8_t own[32], uint64_t *own_seq)
{
	struct dstore_desc *dd;
	struct gossip_want *w;
	int r, why = 0;

	g->last_ms = now_ms;
	r = g->cfg.decode(g->cfg.decode_ctx, desc, len, &dd, &why);
	if (r < 0) {
		if (r != -ENOMEM)
			gossip_count_invalid(g, why);
		return r == -ENOMEM ? r : -EBADMSG;
	}
	r = gossip_accept(g, link, dd, now_ms);
	w = gossip_want_find(g, dd->d.identity);
	if (w && dstore_seq(g->store, w->id) >= w->seq)
		gossip_want_del(g, w);
	if (own) {
		memcpy(own, dd->d.identity, 32);
		*own_seq = dd->d.seq;
	}
	dstore_desc_unref(dd);
	return r;
}

int gossip_offer(struct gossip *g, uint32_t link, const uint8_t *desc, size_t len, uint64_t now_ms)
{
	return gossip_offer_id(g, link, desc, len, now_ms, NULL, NULL);
}

int gossip_publish(struct gossip *g, const uint8_t *desc, size_t len, uint64_t now_ms)
{
	uint8_t id[32];
	uint64_t seq = 0;
	int r = gossip_offer_id(g, GOSSIP_LINK_NONE, desc, len, now_ms, id, &seq);

	if (r != DSTORE_NEW && r != DSTORE_UPDATED)
		return r;
	memcpy(g->own_id, id, 32);
	g->own_seq = seq;
	for (uint32_t i = 0; i < g->n_links; i++) {
		struct gossip_link *l = &g->links[i];

		l->own_due_ms = now_ms + gossip_want_timeout(g, l);
		l->own_tries = 0;
	}
	return r;
}

/* l showed it holds our descriptor at seq (or asked for it): nothing to announce again. */
static void gossip_own_seen(struct gossip *g, struct gossip_link *l, const uint8_t id[32],
                            uint64_t seq)
{
	if (l->own_due_ms && seq >= g->own_seq && memcmp(id, g->own_id, 32) == 0)
		l->own_due_ms = 0;
}

/* Announce our descriptor again on links that showed no sign of it in time. */
static void gossip_own_tick(struct gossip *g, uint64_t now)
{
	bool held = g->own_seq && dstore_seq(g->store, g->own_id) == g->own_seq;

	for (uint32_t i = 0; i < g->n_links; i++) {
		struct gossip_link *l = &g->links[i];

		if (!l->own_due_ms || now < l->own_due_ms)
			continue;
		if (!held || l->own_tries >= GOSSIP_OWN_TRIES) {
			l->own_due_ms = 0;
			continue;
		}
		gossip_announce_to(g, l, g->own_id);
		g->st.own_again++;
		l->own_tries++;
		l->own_due_ms = now + gossip_want_timeout(g, l);
	}
}

int gossip_preload(struct gossip *g, struct dstore_desc *const *dd, size_t n, uint64_t now_ms)
{
	g->last_ms = now_ms;
	return dstore_load(g->store, dd, n, now_ms / 1000);
}

static int gossip_in_desc(struct gossip *g, struct gossip_link *l, const uint8_t *p, size_t len,
                          uint64_t now)
{
	struct gossip_want *w = NULL;
	struct dstore_desc *dd;
	uint8_t id[32];
	int r, why = 0;

	/* Unverified peek, only to tell an answer we paid for from a push. */
	if (len >= DESC_IDENTITY_OFF + 32)
		w = gossip_want_find(g, p + DESC_IDENTITY_OFF);
	if (w && w->asked != l->id)
		w = NULL;
	if (!w && !gossip_tok_take(&l->desc_in, &g->cfg.desc_in, now)) {
		g->st.rate_limited++;
		return -EBUSY;
	}
	r = g->cfg.decode(g->cfg.decode_ctx, p, len, &dd, &why);
	if (r == -ENOMEM)
		return r;
	if (r < 0) {
		gossip_count_invalid(g, why);
	} else {
		memcpy(id, dd->d.identity, 32);
		gossip_accept(g, l->id, dd, now);
		dstore_desc_unref(dd);
	}
	if (w) { /* answered, well or not */
		memcpy(id, p + DESC_IDENTITY_OFF, 32);
		w = gossip_want_find(g, id);
		if (w && w->asked == l->id) {
			if (l->inflight)
				l->inflight--;
			gossip_want_unask(g, w);
			gossip_want_settle(g, w, now);
		}
	} else if (r == 0 && (w = gossip_want_find(g, id)) && dstore_seq(g->store, id) >= w->seq) {
		gossip_want_del(g, w); /* a push brought what we were asking elsewhere */
	}
	return 0;
}

static void gossip_in_ihave(struct gossip *g, struct gossip_link *l, const struct gossip_msg *m,
                            uint64_t now)
{
	for (uint8_t i = 0; i < m->u.ihave.n; i++) {
		const struct gossip_entry *e = &m->u.ihave.e[i];
		uint64_t have = dstore_seq(g->store, e->id);

		gossip_own_seen(g, l, e->id, e->seq);
		if (e->seq > have)
			gossip_want_request(g, l, e->id, e->seq, now);
		else if (e->seq < have)
			gossip_announce_to(g, l, e->id); /* it holds an older one */
	}
}

static void gossip_in_want(struct gossip *g, struct gossip_link *l, const struct gossip_msg *m,
                           uint64_t now)
{
	for (uint8_t i = 0; i < m->u.want.n; i++) {
		struct dstore_desc *dd;

		gossip_own_seen(g, l, m->u.want.id[i], g->own_seq);
		if (!gossip_tok_take(&l->serve, &g->cfg.serve, now)) {
			g->st.rate_limited++;
			return;
		}
		dd = dstore_get(g->store, m->u.want.id[i]);
		if (!dd || dd->d.expires_at <= now / 1000)
			continue; /* only what we hold, never what expired */
		if (!l->desc) {
			l->desc = calloc(g->cfg.desc_queue, sizeof(*l->desc));
			if (!l->desc)
				return;
		}
		if (l->desc_n == g->cfg.desc_queue) {
			g->st.desc_dropped++;
			continue;
		}
		l->desc[(l->desc_head + l->desc_n++) % g->cfg.desc_queue] = dstore_desc_ref(dd);
	}
}

static void gossip_in_digest(struct gossip *g, struct gossip_link *l, const struct gossip_msg *m)
{
	for (unsigned i = 0; i < m->u.digest.n; i++) {
		uint8_t b = (uint8_t)(m->u.digest.first + i), h[DSTORE_DIGEST_LEN];

		dstore_digest(g->store, b, h);
		if (memcmp(h, m->u.digest.hash[i], sizeof(h)) != 0 &&
		    !(l->list[b / 8] & (1u << (b % 8)))) {
			l->list[b / 8] |= (uint8_t)(1u << (b % 8));
			l->list_n++;
		}
	}
}

/*
 * A page of the peer's listing of one bucket: entries first..first+n-1 of total. Consecutive
 * pages share one entry, so each page alone says what the peer lacks between its first and
 * last entries (from the bucket's start on the first page, to its end on the last).
 */
static void gossip_in_bucket(struct gossip *g, struct gossip_link *l, const struct gossip_msg *m,
                             uint64_t now)
{
	const struct gossip_entry *e = m->u.bucket.e;
	uint8_t b = m->u.bucket.bucket, n = m->u.bucket.n, j = 0;
	int last_page = m->u.bucket.first + n == m->u.bucket.total;
	size_t i = 0, have = dstore_bucket_count(g->store, b);

	for (uint8_t k = 0; k < n; k++)
		gossip_own_seen(g, l, e[k].id, e[k].seq);
	if (m->u.bucket.first > 0)
		i = dstore_bucket_lower(g->store, e[0].id);
	while (i < have || j < n) {
		const struct dstore_desc *dd = i < have ? dstore_bucket_at(g->store, b, i) : NULL;
		int c = !dd ? 1 : j == n ? -1 : memcmp(dd->d.identity, e[j].id, 32);

		if (c < 0 && !last_page && memcmp(dd->d.identity, e[n - 1].id, 32) > 0)
			c = 1, dd = NULL; /* past this page: a later page covers it */
		if (!dd && j == n)
			break;
		if (c < 0) { /* the peer lacks it */
			if (dd->d.expires_at > now / 1000)
				gossip_announce_to(g, l, dd->d.identity);
			i++;
		} else if (c > 0) { /* we lack it */
			gossip_want_request(g, l, e[j].id, e[j].seq, now);
			j++;
		} else {
			if (dd->d.seq > e[j].seq)
				gossip_announce_to(g, l, dd->d.identity);
			else if (dd->d.seq < e[j].seq)
				gossip_want_request(g, l, e[j].id, e[j].seq, now);
			i++;
			j++;
		}
	}
}

/* Prefetch: where the first identities of a message start, and their stride (0: none). */
static size_t gossip_pf_ids(const uint8_t *msg, size_t len, size_t *stride)
{
	*stride = GOSSIP_ENTRY_LEN; /* IHAVE and BUCKET entries: identity, seq */
	switch (len ? msg[0] : 0) {
	case GOSSIP_T_IHAVE:
		return GOSSIP_IHAVE_IDS_OFF;
	case GOSSIP_T_BUCKET:
		return GOSSIP_BUCKET_IDS_OFF;
	case GOSSIP_T_WANT:
		*stride = 32;
		return GOSSIP_WANT_IDS_OFF;
	case GOSSIP_T_DESC:
		*stride = 0;
		return GOSSIP_DESC_BODY_OFF + DESC_IDENTITY_OFF;
	}
	return 0;
}

void gossip_prefetch(const struct gossip *g, uint32_t link, const uint8_t *msg, size_t len,
                     int stage)
{
	size_t stride, off = gossip_pf_ids(msg, len, &stride);

	(void)link; /* the link's place is found by a scan of the few links: load them all */
	if (stage == 0) {
		__builtin_prefetch(&g->store);
		__builtin_prefetch(&g->st.msgs_in);
		return;
	}
	/* The links, then the head of each one's WANT deadlines and its pending slot: what
	 * gossip_next_tick reads after every input (gossip_want_deadline). */
	for (uint32_t i = 0; i < g->n_links && i < 8; i++) {
		const struct gossip_link *l = &g->links[i];
		if (stage == 1)
			__builtin_prefetch(l);
		else if (stage == 2 && l->due.n)
			__builtin_prefetch(&l->due.e[l->due.head]);
		else if (stage == 3 && l->due.n && g->pend_cap)
			__builtin_prefetch(&g->pend[gossip_want_hash(l->due.e[l->due.head].id) &
			                            (g->pend_cap - 1)]);
	}
	/* The first two identities: most messages carry one. */
	for (int k = 0; k < 2 && off && off + 32 <= len; k++, off += stride) {
		const uint8_t *id = msg + off;
		if (stage == 1 && g->pend_cap)
			__builtin_prefetch(&g->pend[gossip_want_hash(id) & (g->pend_cap - 1)]);
		dstore_prefetch(g->store, id, stage - 1);
		if (!stride)
			break;
	}
}

int gossip_input(struct gossip *g, uint32_t link, const uint8_t *msg, size_t len, uint64_t now_ms)
{
	struct gossip_link *l = gossip_link_find(g, link);
	struct gossip_msg m;
	int kind = len ? gossip_msg_kind(msg[0]) : -1;

	g->last_ms = now_ms;
	if (!l) {
		g->st.unknown_link++;
		return -ENOENT;
	}
	if (kind >= 0) {
		g->st.msgs_in[kind]++;
		g->st.bytes_in[kind] += len;
	}
	if (!gossip_tok_take(&l->msg_in, &g->cfg.msg_in, now_ms)) {
		g->st.rate_limited++;
		return -EBUSY;
	}
	if (gossip_msg_decode(msg, len, &m) < 0) {
		g->st.malformed++;
		return -EBADMSG;
	}
	switch (m.type) {
	case GOSSIP_T_IHAVE:
		gossip_in_ihave(g, l, &m, now_ms);
		break;
	case GOSSIP_T_WANT:
		gossip_in_want(g, l, &m, now_ms);
		break;
	case GOSSIP_T_DESC:
		return gossip_in_desc(g, l, m.u.desc.p, m.u.desc.len, now_ms);
	case GOSSIP_T_DIGEST:
		if (!gossip_tok_take(&l->digest_in, &g->cfg.digest_in, now_ms)) {
			g->st.rate_limited++;
			return -EBUSY;
		}
		gossip_in_digest(g, l, &m);
		break;
	case GOSSIP_T_BUCKET:
		/* Only as the answer to our DIGEST: a listing makes us queue work for the peer. */
		if (now_ms > l->ae_until_ms) {
			g->st.unsolicited++;
			return -EPERM;
		}
		gossip_in_bucket(g, l, &m, now_ms);
		break;
	}
	return 0;
}

void gossip_tick(struct gossip *g, uint64_t now_ms)
{
	g->last_ms = now_ms;
	dstore_expire(g->store, now_ms / 1000);
	gossip_want_tick(g, now_ms);
	gossip_own_tick(g, now_ms);
	/* A wall clock stepped back must not hold a timer for longer than its period. */
	if (g->next_ae_ms == 0 || g->next_ae_ms > now_ms + g->cfg.ae_interval_ms)
		g->next_ae_ms = now_ms + g->cfg.ae_interval_ms;
	for (uint32_t i = 0; i < g->n_links; i++)
		if (g->links[i].ae_until_ms > now_ms + g->cfg.ae_interval_ms)
			g->links[i].ae_until_ms = now_ms + g->cfg.ae_interval_ms;
	if (now_ms >= g->next_ae_ms) {
		if (g->n_links > 0) {
			g->ae_rr %= g->n_links;
			gossip_ae_start(g, &g->links[g->ae_rr++], now_ms);
		}
		g->next_ae_ms = now_ms + g->cfg.ae_interval_ms;
	}
}

uint64_t gossip_next_tick(const struct gossip *g)
{
	uint64_t t = g->next_ae_ms ? g->next_ae_ms : g->last_ms + g->cfg.ae_interval_ms;

	t = gossip_want_deadline(g, t);
	for (uint32_t i = 0; i < g->n_links; i++)
		if (g->links[i].own_due_ms && g->links[i].own_due_ms < t)
			t = g->links[i].own_due_ms;
	if (g->waiting && g->last_ms + GOSSIP_PUMP_MS < t)
		t = g->last_ms + GOSSIP_PUMP_MS;
	return t;
}

int gossip_next(struct gossip *g, uint64_t now_ms, uint32_t *link, uint8_t *buf, size_t cap)
{
	if (cap < GOSSIP_MSG_MAX)
		return -ENOBUFS;
	for (uint32_t k = 0; k < g->n_links; k++) {
		uint32_t i = (g->rr + k) % g->n_links;
		struct gossip_link *l = &g->links[i];
		int r = gossip_out_one(g, l, now_ms, buf, cap);

		if (r < 0)
			return r;
		if (r > 0) {
			int kind = gossip_msg_kind(buf[0]);

			g->rr = i + 1;
			*link = l->id;
			g->st.msgs_out[kind]++;
			g->st.bytes_out[kind] += (uint64_t)r;
			return r;
		}
	}
	return 0;
}

bool gossip_pending(const struct gossip *g)
{
	for (uint32_t i = 0; i < g->n_links; i++)
		if (gossip_out_pending(&g->links[i]))
			return true;
	return false;
}

int gossip_link_rtt(struct gossip *g, uint32_t link, uint32_t rtt_ms)
{
	struct gossip_link *l = gossip_link_find(g, link);
	uint64_t to = 2 * (uint64_t)rtt_ms + GOSSIP_WANT_SLACK_MS;

	if (!l)
		return -ENOENT;
	l->want_to_ms = (uint32_t)(to < GOSSIP_WANT_RTT_MAX_MS ? to : GOSSIP_WANT_RTT_MAX_MS);
	return 0;
}

const struct gossip_stats *gossip_stats(const struct gossip *g)
{
	return &g->st;
}

struct dstore *gossip_store(struct gossip *g)
{
	return g->store;
}
