/*
 * gossip_want.c: the pending-WANT table: identities we want, each asked of one link at a time
 * (the one that announced the highest seq and has room), the others remembered to ask next when
 * the WANT times out or the link goes. Open addressing with linear probing and backward-shift
 * deletion; it grows by doubling, so an idle engine holds a small table.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "gossip_int.h"

/* The slot of id, or UINT32_MAX. */
static uint32_t gossip_want_slot(const struct gossip *g, const uint8_t id[32])
{
	uint32_t mask = g->pend_cap - 1;

	if (!g->pend_cap)
		return UINT32_MAX;
	for (uint32_t i = gossip_want_hash(id) & mask; g->pend[i].used; i = (i + 1) & mask)
		if (memcmp(g->pend[i].id, id, 32) == 0)
			return i;
	return UINT32_MAX;
}

struct gossip_want *gossip_want_find(struct gossip *g, const uint8_t id[32])
{
	uint32_t i = gossip_want_slot(g, id);

	return i == UINT32_MAX ? NULL : &g->pend[i];
}

/* The idle bit of slot i (gossip.idle_bits). */
static bool gossip_idle_get(const struct gossip *g, uint32_t i)
{
	return g->idle_bits[i / 64] >> (i % 64) & 1;
}

static void gossip_idle_put(struct gossip *g, uint32_t i, bool on)
{
	if (on)
		g->idle_bits[i / 64] |= 1ull << (i % 64);
	else
		g->idle_bits[i / 64] &= ~(1ull << (i % 64));
}

/* The first idle slot at i or after, or pend_cap: the bits skip the slots with nothing to do. */
static uint32_t gossip_idle_next(const struct gossip *g, uint32_t i)
{
	while (i < g->pend_cap) {
		uint64_t w = g->idle_bits[i / 64] >> (i % 64);

		if (w)
			return i + (uint32_t)__builtin_ctzll(w);
		i = (i / 64 + 1) * 64;
	}
	return g->pend_cap;
}

/*
 * Add d to link's idle_named. An idle entry can only be asked of a link it lists, so the walk in
 * gossip_want_tick looks only while a link with room is listed by one.
 */
static void gossip_named(struct gossip *g, uint32_t link, int d)
{
	struct gossip_link *l = gossip_link_find(g, link);

	if (l) /* a gone link's count went with it */
		l->idle_named += (uint32_t)d;
}

/* w becomes idle (d = 1) or stops being idle (d = -1): count it for every link it lists. */
static void gossip_want_name(struct gossip *g, const struct gossip_want *w, int d)
{
	for (int k = 0; k < w->n_alt; k++)
		gossip_named(g, w->alt[k].link, d);
}

void gossip_want_unask(struct gossip *g, struct gossip_want *w)
{
	gossip_want_name(g, w, 1);
	w->asked = GOSSIP_LINK_NONE;
	g->pend_idle++;
	gossip_idle_put(g, (uint32_t)(w - g->pend), true);
}

uint32_t gossip_want_timeout(const struct gossip *g, const struct gossip_link *l)
{
	return l->want_to_ms ? l->want_to_ms : g->cfg.want_timeout_ms;
}

/* Whether d is the deadline of a WANT still outstanding on l (not answered, not re-asked). */
static bool gossip_due_live(const struct gossip *g, const struct gossip_link *l,
                            const struct gossip_due *d)
{
	uint32_t i = gossip_want_slot(g, d->id);

	return i != UINT32_MAX && g->pend[i].asked == l->id && g->pend[i].deadline_ms == d->at;
}

static int gossip_due_push(struct gossip_dring *r, const uint8_t id[32], uint64_t at)
{
	if (r->n == r->cap) {
		/* Bounded in practice: one entry per WANT asked within a timeout, and asking takes a
		 * desc_in token of the link. */
		uint32_t cap = r->cap ? r->cap * 2 : 16;
		struct gossip_due *a = malloc((size_t)cap * sizeof(*a));

		if (!a)
			return -ENOMEM;
		for (uint32_t i = 0; i < r->n; i++)
			a[i] = r->e[(r->head + i) % r->cap];
		free(r->e);
		r->e = a;
		r->cap = cap;
		r->head = 0;
	}
	memcpy(r->e[(r->head + r->n) % r->cap].id, id, 32);
	r->e[(r->head + r->n) % r->cap].at = at;
	r->n++;
	return 0;
}

static int gossip_want_grow(struct gossip *g)
{
	uint32_t cap = g->pend_cap ? g->pend_cap * 2 : 64;
	struct gossip_want *t = calloc(cap, sizeof(*t));
	uint64_t *bits = calloc(cap / 64, sizeof(*bits));

	if (!t || !bits) {
		free(t);
		free(bits);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < g->pend_cap; i++) {
		uint32_t j;

		if (!g->pend[i].used)
			continue;
		for (j = gossip_want_hash(g->pend[i].id) & (cap - 1); t[j].used;
		     j = (j + 1) & (cap - 1))
			;
		t[j] = g->pend[i];
		if (t[j].asked == GOSSIP_LINK_NONE)
			bits[j / 64] |= 1ull << (j % 64);
	}
	free(g->pend);
	free(g->idle_bits);
	g->pend = t;
	g->idle_bits = bits;
	g->pend_cap = cap;
	return 0;
}

static struct gossip_want *gossip_want_add(struct gossip *g, const uint8_t id[32])
{
	uint32_t i;

	if ((g->pend_n + 1) * 2 > g->pend_cap && gossip_want_grow(g) < 0)
		return NULL;
	for (i = gossip_want_hash(id) & (g->pend_cap - 1); g->pend[i].used;
	     i = (i + 1) & (g->pend_cap - 1))
		;
	memset(&g->pend[i], 0, sizeof(g->pend[i]));
	memcpy(g->pend[i].id, id, 32);
	g->pend[i].used = 1;
	g->pend[i].asked = GOSSIP_LINK_NONE;
	g->pend_n++;
	g->pend_idle++;
	gossip_idle_put(g, i, true);
	return &g->pend[i];
}

/* Forget w (the link asked no longer counts it); backward-shift keeps probing exact. */
void gossip_want_del(struct gossip *g, struct gossip_want *w)
{
	uint32_t mask = g->pend_cap - 1, i = (uint32_t)(w - g->pend), j = i;

	if (w->asked != GOSSIP_LINK_NONE) {
		struct gossip_link *l = gossip_link_find(g, w->asked);

		if (l && l->inflight)
			l->inflight--;
	} else {
		g->pend_idle--;
		gossip_want_name(g, w, -1);
	}
	for (;;) {
		uint32_t k;

		j = (j + 1) & mask;
		if (!g->pend[j].used)
			break;
		k = gossip_want_hash(g->pend[j].id) & mask;
		/* Move j into the hole i unless its home k lies cyclically in (i, j]. */
		if ((i < j) ? (k <= i || k > j) : (k <= i && k > j)) {
			g->pend[i] = g->pend[j];
			gossip_idle_put(g, i, gossip_idle_get(g, j));
			i = j;
		}
	}
	g->pend[i].used = 0;
	gossip_idle_put(g, i, false);
	g->pend_n--;
}

static void gossip_want_note(struct gossip *g, struct gossip_want *w, uint32_t link, uint64_t seq)
{
	int low = 0, idle = w->asked == GOSSIP_LINK_NONE; /* only idle entries are counted */

	for (int k = 0; k < w->n_alt; k++) {
		if (w->alt[k].link == link) {
			if (seq > w->alt[k].seq)
				w->alt[k].seq = seq;
			return;
		}
		if (w->alt[k].seq < w->alt[low].seq)
			low = k;
	}
	if (w->n_alt < GOSSIP_WANT_ALTS) {
		w->alt[w->n_alt++] = (struct gossip_alt){link, seq};
	} else if (seq > w->alt[low].seq) {
		if (idle)
			gossip_named(g, w->alt[low].link, -1);
		w->alt[low] = (struct gossip_alt){link, seq};
	} else {
		return;
	}
	if (idle)
		gossip_named(g, link, 1);
}

/*
 * Ask w of the best other link that can take it now (highest seq announced, a free window,
 * a desc_in token). 1 asked, 0 waiting, -1 no link left that announced it.
 */
int gossip_want_ask(struct gossip *g, struct gossip_want *w, uint64_t now)
{
	int best = -1;
	struct gossip_link *bl = NULL;
	uint64_t deadline;

	for (int k = 0; k < w->n_alt;) {
		struct gossip_link *l = gossip_link_find(g, w->alt[k].link);

		if (!l) { /* gone */
			w->alt[k] = w->alt[--w->n_alt];
			continue;
		}
		if (l->inflight < g->cfg.want_window &&
		    gossip_tok_fill(&l->desc_in, &g->cfg.desc_in, now) > 0 &&
		    (best < 0 || w->alt[k].seq > w->alt[best].seq)) {
			best = k;
			bl = l;
		}
		k++;
	}
	if (best < 0) {
		if (w->n_alt == 0)
			return -1;
		g->waiting = 1;
		return 0;
	}
	deadline = now + gossip_want_timeout(g, bl);
	if (gossip_due_push(&bl->due, w->id, deadline) < 0 ||
	    gossip_ring_push(&bl->want, g->cfg.want_window, w->id) < 0) {
		g->waiting = 1; /* a due entry pushed alone is stale: asked stays NONE */
		return 0;
	}
	/* The DESC we ask for is paid for now, so answering it is never rate-limited. */
	gossip_tok_take(&bl->desc_in, &g->cfg.desc_in, now);
	if (w->asked == GOSSIP_LINK_NONE) {
		g->pend_idle--;
		gossip_idle_put(g, (uint32_t)(w - g->pend), false);
		gossip_want_name(g, w, -1);
	}
	w->asked = bl->id;
	w->asked_seq = w->alt[best].seq;
	w->deadline_ms = deadline;
	w->alt[best] = w->alt[--w->n_alt];
	if (w->tries < UINT8_MAX)
		w->tries++;
	bl->inflight++;
	return 1;
}

/* link announced (id, seq), newer than what we hold: ask it of one link at a time. */
void gossip_want_request(struct gossip *g, struct gossip_link *l, const uint8_t id[32],
                         uint64_t seq, uint64_t now)
{
	struct gossip_want *w = gossip_want_find(g, id);

	if (w) {
		if (seq > w->seq)
			w->seq = seq;
		if (w->asked == l->id)
			return;
		gossip_want_note(g, w, l->id, seq);
		if (w->asked == GOSSIP_LINK_NONE)
			gossip_want_ask(g, w, now);
		return;
	}
	if (g->pend_n >= g->cfg.pending_max || !(w = gossip_want_add(g, id))) {
		g->st.want_dropped++;
		return;
	}
	w->seq = seq;
	gossip_want_note(g, w, l->id, seq);
	if (gossip_want_ask(g, w, now) < 0)
		gossip_want_del(g, w);
}

/* After the link asked for w answered (or not): done if we now hold its seq, else ask again. */
void gossip_want_settle(struct gossip *g, struct gossip_want *w, uint64_t now)
{
	if (dstore_seq(g->store, w->id) >= w->seq) {
		gossip_want_del(g, w);
		return;
	}
	if (w->asked == GOSSIP_LINK_NONE && gossip_want_ask(g, w, now) < 0)
		gossip_want_del(g, w);
}

void gossip_want_link_down(struct gossip *g, uint32_t link, uint64_t now_ms)
{
	/* What was asked of it goes to another link that announced it. */
	for (uint32_t i = 0; i < g->pend_cap;) {
		struct gossip_want *w = &g->pend[i];

		if (!w->used) {
			i++;
			continue;
		}
		for (int k = 0; k < w->n_alt;)
			if (w->alt[k].link == link)
				w->alt[k] = w->alt[--w->n_alt];
			else
				k++;
		if (w->asked == link)
			gossip_want_unask(g, w);
		if (w->asked == GOSSIP_LINK_NONE && gossip_want_ask(g, w, now_ms) < 0) {
			gossip_want_del(g, w); /* slot i now holds another entry: look again */
			continue;
		}
		i++;
	}
}

/* A clock that stepped back: no WANT waits longer than its link's timeout from now. */
static void gossip_want_clamp(struct gossip *g, uint64_t now)
{
	for (uint32_t k = 0; k < g->n_links; k++) {
		struct gossip_link *l = &g->links[k];
		uint64_t max = now + gossip_want_timeout(g, l);

		for (uint32_t i = 0; i < l->due.n; i++) {
			struct gossip_due *d = &l->due.e[(l->due.head + i) % l->due.cap];
			struct gossip_want *w;

			if (d->at <= max || !gossip_due_live(g, l, d))
				continue;
			w = gossip_want_find(g, d->id);
			w->deadline_ms = d->at = max;
		}
	}
}

/* w's WANT to l went unanswered: ask the next link that announced it (or l again). */
static void gossip_want_expire(struct gossip *g, struct gossip_link *l, struct gossip_want *w,
                               uint64_t now)
{
	if (l->inflight)
		l->inflight--;
	gossip_want_unask(g, w);
	g->st.want_timeouts++;
	/* A lost WANT or DESC: l still holds it. Others that announced it go first (ties). */
	if (w->tries < GOSSIP_WANT_TRIES)
		gossip_want_note(g, w, l->id, w->asked_seq);
	if (gossip_want_ask(g, w, now) < 0)
		gossip_want_del(g, w);
}

/*
 * Whether gossip_want_ask could find a link now for some idle entry: a link that an idle entry
 * lists, with a free window and a desc_in token (looked at without refilling). A clock that
 * stepped back counts as room: the asks themselves decide. A link with room that no idle entry
 * lists (one that announced little, or whose entries are all asked) is no reason to walk.
 */
static bool gossip_want_room(const struct gossip *g, uint64_t now)
{
	const struct gossip_rate *r = &g->cfg.desc_in;

	for (uint32_t k = 0; k < g->n_links; k++) {
		const struct gossip_link *l = &g->links[k];

		if (l->inflight >= g->cfg.want_window || l->idle_named == 0)
			continue;
		if (r->refill_ms == 0 || now < l->desc_in.last_ms || l->desc_in.tokens > 0 ||
		    now - l->desc_in.last_ms >= r->refill_ms)
			return true;
	}
	return false;
}

void gossip_want_tick(struct gossip *g, uint64_t now_ms)
{
	if (now_ms < g->want_clock)
		gossip_want_clamp(g, now_ms);
	g->want_clock = now_ms;
	/* Deadlines are in order per link: only the heads are looked at. */
	for (uint32_t k = 0; k < g->n_links; k++) {
		struct gossip_link *l = &g->links[k];

		while (l->due.n > 0) {
			struct gossip_due d = l->due.e[l->due.head];
			bool live = gossip_due_live(g, l, &d);

			if (live && d.at > now_ms)
				break;
			l->due.head = (l->due.head + 1) % l->due.cap;
			l->due.n--;
			if (live) /* may push onto l->due: d is a copy */
				gossip_want_expire(g, l, gossip_want_find(g, d.id), now_ms);
		}
	}
	if (!g->waiting)
		return;
	g->waiting = 0;
	/*
	 * In slot order from where the last walk stopped, round the table once at most, only the
	 * idle slots; once no link can take a WANT, every idle entry left would only wait: stop
	 * there. (An idle entry always has a link that announced it, else it was dropped;
	 * gossip_link_down takes a gone link out of every entry.) At most GOSSIP_WALK_MAX entries:
	 * the rest wait for the next tick.
	 */
	bool room = gossip_want_room(g, now_ms);
	uint32_t start = g->walk_pos < g->pend_cap ? g->walk_pos : 0, i = start, end = g->pend_cap;
	uint32_t looked = 0;

	while (g->pend_idle) {
		struct gossip_want *w;
		int r;

		if ((i = gossip_idle_next(g, i)) >= end) {
			if (end == start || start == 0)
				break;
			end = start; /* round to the table's start, up to where this walk began */
			i = 0;
			continue;
		}
		if (!room || looked == GOSSIP_WALK_MAX) {
			g->waiting = 1;
			g->walk_pos = i;
			return;
		}
		w = &g->pend[i];
		/* The next idle entry is another cache miss: start loading it. */
		uint32_t next = gossip_idle_next(g, i + 1);
		if (next < end)
			__builtin_prefetch(&g->pend[next]);
		looked++;
		g->st.want_walked++;
		r = gossip_want_ask(g, w, now_ms);
		if (r < 0) {
			gossip_want_del(g, w); /* slot i now holds another entry: look again */
			continue;
		}
		if (r > 0) /* it took a window place and a token */
			room = gossip_want_room(g, now_ms);
		i++;
	}
	g->walk_pos = 0;
}

bool gossip_consistent(const struct gossip *g)
{
	for (uint32_t k = 0; k < g->n_links; k++) {
		uint32_t n = 0;

		for (uint32_t i = 0; i < g->pend_cap; i++) {
			const struct gossip_want *w = &g->pend[i];

			if (!w->used || w->asked != GOSSIP_LINK_NONE)
				continue;
			for (int a = 0; a < w->n_alt; a++)
				n += w->alt[a].link == g->links[k].id;
		}
		if (n != g->links[k].idle_named)
			return false;
	}
	return true;
}

uint64_t gossip_want_deadline(const struct gossip *g, uint64_t t)
{
	for (uint32_t k = 0; k < g->n_links; k++) {
		const struct gossip_link *l = &g->links[k];
		uint32_t i;

		for (i = 0; i < l->due.n && i < GOSSIP_DUE_PEEK; i++) {
			const struct gossip_due *d = &l->due.e[(l->due.head + i) % l->due.cap];

			if (gossip_due_live(g, l, d)) {
				if (d->at < t)
					t = d->at;
				break;
			}
		}
		/* A long run of answered ones: tick at the head's time and drop them then. */
		if (i == GOSSIP_DUE_PEEK && l->due.e[l->due.head].at < t)
			t = l->due.e[l->due.head].at;
	}
	return t;
}
