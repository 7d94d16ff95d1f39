/*
 * gossip_want.c: the pending-WANT table: identities we want, each asked of one link at a time
 * (the one that announced the highest seq and has room), the others remembered to ask next when
 * the WANT times out or the link goes. Open addressing with linear probing and backward-shift
 * deletion; it grows by doubling, so an idle engine holds a small table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "gossip_int.h"

static uint32_t gossip_want_hash(const uint8_t id[32])
{
	/* Identities are public keys; grinding collisions costs key generation and only slows the
	 * probing of a table bounded by pending_max. */
	return buf_load_be32(id + 28) ^ buf_load_be32(id + 1);
}

struct gossip_want *gossip_want_find(struct gossip *g, const uint8_t id[32])
{
	uint32_t mask = g->pend_cap - 1;

	if (!g->pend_cap)
		return NULL;
	for (uint32_t i = gossip_want_hash(id) & mask; g->pend[i].used; i = (i + 1) & mask)
		if (memcmp(g->pend[i].id, id, 32) == 0)
			return &g->pend[i];
	return NULL;
}

static int gossip_want_grow(struct gossip *g)
{
	uint32_t cap = g->pend_cap ? g->pend_cap * 2 : 64;
	struct gossip_want *t = calloc(cap, sizeof(*t));

	if (!t)
		return -ENOMEM;
	for (uint32_t i = 0; i < g->pend_cap; i++) {
		uint32_t j;

		if (!g->pend[i].used)
			continue;
		for (j = gossip_want_hash(g->pend[i].id) & (cap - 1); t[j].used;
		     j = (j + 1) & (cap - 1))
			;
		t[j] = g->pend[i];
	}
	free(g->pend);
	g->pend = t;
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
			i = j;
		}
	}
	g->pend[i].used = 0;
	g->pend_n--;
}

static void gossip_want_note(struct gossip_want *w, uint32_t link, uint64_t seq)
{
	int low = 0;

	for (int k = 0; k < w->n_alt; k++) {
		if (w->alt[k].link == link) {
			if (seq > w->alt[k].seq)
				w->alt[k].seq = seq;
			return;
		}
		if (w->alt[k].seq < w->alt[low].seq)
			low = k;
	}
	if (w->n_alt < GOSSIP_WANT_ALTS)
		w->alt[w->n_alt++] = (struct gossip_alt){link, seq};
	else if (seq > w->alt[low].seq)
		w->alt[low] = (struct gossip_alt){link, seq};
}

/*
 * Ask w of the best other link that can take it now (highest seq announced, a free window,
 * a desc_in token). 1 asked, 0 waiting, -1 no link left that announced it.
 */
int gossip_want_ask(struct gossip *g, struct gossip_want *w, uint64_t now)
{
	int best = -1;
	struct gossip_link *bl = NULL;

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
	/* The DESC we ask for is paid for now, so answering it is never rate-limited. */
	gossip_tok_take(&bl->desc_in, &g->cfg.desc_in, now);
	if (gossip_ring_push(&bl->want, g->cfg.want_window, w->id) < 0) {
		g->waiting = 1;
		return 0;
	}
	w->asked = bl->id;
	w->deadline_ms = now + g->cfg.want_timeout_ms;
	w->alt[best] = w->alt[--w->n_alt];
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
		gossip_want_note(w, l->id, seq);
		if (w->asked == GOSSIP_LINK_NONE)
			gossip_want_ask(g, w, now);
		return;
	}
	if (g->pend_n >= g->cfg.pending_max || !(w = gossip_want_add(g, id))) {
		g->st.want_dropped++;
		return;
	}
	w->seq = seq;
	gossip_want_note(w, l->id, seq);
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
			w->asked = GOSSIP_LINK_NONE;
		if (w->asked == GOSSIP_LINK_NONE && gossip_want_ask(g, w, now_ms) < 0) {
			gossip_want_del(g, w); /* slot i now holds another entry: look again */
			continue;
		}
		i++;
	}
}

void gossip_want_tick(struct gossip *g, uint64_t now_ms)
{
	g->waiting = 0;
	for (uint32_t i = 0; i < g->pend_cap;) {
		struct gossip_want *w = &g->pend[i];

		if (!w->used) {
			i++;
			continue;
		}
		if (w->deadline_ms > now_ms + g->cfg.want_timeout_ms) /* the clock stepped back */
			w->deadline_ms = now_ms + g->cfg.want_timeout_ms;
		if (w->asked != GOSSIP_LINK_NONE && now_ms >= w->deadline_ms) {
			struct gossip_link *l = gossip_link_find(g, w->asked);

			if (l && l->inflight)
				l->inflight--;
			w->asked = GOSSIP_LINK_NONE;
			g->st.want_timeouts++;
		}
		if (w->asked == GOSSIP_LINK_NONE && gossip_want_ask(g, w, now_ms) < 0) {
			gossip_want_del(g, w); /* slot i now holds another entry: look again */
			continue;
		}
		i++;
	}
}

uint64_t gossip_want_deadline(const struct gossip *g, uint64_t t)
{
	for (uint32_t i = 0; i < g->pend_cap; i++)
		if (g->pend[i].used && g->pend[i].asked != GOSSIP_LINK_NONE &&
		    g->pend[i].deadline_ms < t)
			t = g->pend[i].deadline_ms;
	return t;
}
