/* circsw.c: a relay's circuit switch (see circsw.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "circmsg.h"
#include "circsw.h"
#include "onion.h"
#include "replay.h"

enum { END_IN = 0, END_OUT = 1 };

struct circsw_hop;

/* One end of a hop: the (link, circ_id) it is known by there, chained in the id table. */
struct circsw_end {
	uint64_t link; /* 0: none (no next hop yet) */
	uint32_t circ;
	struct circsw_hop *hop;
	struct circsw_end *next;
};

struct circsw_hop {
	struct circsw_end end[2];  /* END_IN: towards the client; END_OUT: away from it */
	struct circsw_hop *splice; /* the circuit this one is spliced with at this relay */
	uint8_t cookie[CIRCMSG_COOKIE_LEN];
	bool has_cookie;
	uint64_t cookie_ms;
	struct circhs_keys keys;
	unsigned depth;
	size_t body_len;
	struct replay fwd_rp, bwd_rp;
	uint64_t bwd_top; /* the largest backward k sealed here */
	uint64_t req;     /* a CONNECT in flight for EXTEND (0: none) */
	uint8_t ext_msg1[CIRCHS_MSG1_LEN];
	uint64_t ext_ms;       /* when the EXTEND came (0: none pending) */
	bool ext_wait_created; /* CREATE sent on the new link, CREATED not yet back */
	uint64_t last_ms;
	size_t idx; /* in sw->hops */
};

/* Circuit ends per link, for max_per_link. */
struct circsw_linkcount {
	uint64_t link;
	size_t n;
	struct circsw_linkcount *next;
};

struct circsw {
	struct circsw_cfg cfg;
	struct circsw_end **tab; /* (link, circ) -> end */
	struct circsw_linkcount **lc;
	size_t nb; /* buckets of both, a power of two */
	struct circsw_hop **hops;
	size_t nhops;
	struct circsw_act *acts;
	size_t nacts, capacts, headact;
	uint64_t next_req;
	struct circsw_stats st;
};

static size_t circsw_bucket(const struct circsw *sw, uint64_t link, uint32_t circ)
{
	uint64_t h = (link ^ ((uint64_t)circ << 32 | circ)) * 0x9e3779b97f4a7c15ull;

	return (size_t)(h >> 32) & (sw->nb - 1);
}

static struct circsw_end *circsw_find(const struct circsw *sw, uint64_t link, uint32_t circ)
{
	for (struct circsw_end *e = sw->tab[circsw_bucket(sw, link, circ)]; e; e = e->next)
		if (e->link == link && e->circ == circ)
			return e;
	return NULL;
}

static struct circsw_linkcount **circsw_lc_slot(struct circsw *sw, uint64_t link)
{
	struct circsw_linkcount **p = &sw->lc[circsw_bucket(sw, link, 0)];

	while (*p && (*p)->link != link)
		p = &(*p)->next;
	return p;
}

static size_t circsw_link_ends(struct circsw *sw, uint64_t link)
{
	struct circsw_linkcount *c = *circsw_lc_slot(sw, link);

	return c ? c->n : 0;
}

size_t circsw_link_circuits(struct circsw *sw, uint64_t link)
{
	return circsw_link_ends(sw, link);
}

/* Put end e (link and circ set) in the table and count it on its link; false: no memory. */
static bool circsw_end_add(struct circsw *sw, struct circsw_end *e)
{
	struct circsw_linkcount **p = circsw_lc_slot(sw, e->link);
	size_t b = circsw_bucket(sw, e->link, e->circ);

	if (!*p) {
		if (!(*p = calloc(1, sizeof(**p))))
			return false;
		(*p)->link = e->link;
	}
	(*p)->n++;
	e->next = sw->tab[b];
	sw->tab[b] = e;
	if (sw->cfg.on_end)
		sw->cfg.on_end(sw->cfg.ctx, e->link, 1);
	return true;
}

static void circsw_end_del(struct circsw *sw, struct circsw_end *e)
{
	struct circsw_end **p = &sw->tab[circsw_bucket(sw, e->link, e->circ)];
	struct circsw_linkcount **c;

	if (!e->link)
		return;
	while (*p && *p != e)
		p = &(*p)->next;
	if (*p)
		*p = e->next;
	c = circsw_lc_slot(sw, e->link);
	if (*c && --(*c)->n == 0) {
		struct circsw_linkcount *dead = *c;

		*c = dead->next;
		free(dead);
	}
	if (sw->cfg.on_end)
		sw->cfg.on_end(sw->cfg.ctx, e->link, -1);
	e->link = 0;
}

/* A new action at the back of the queue; NULL when out of memory (the action is lost). */
static struct circsw_act *circsw_push(struct circsw *sw, int type)
{
	struct circsw_act *a;

	if (sw->headact && sw->headact == sw->nacts)
		sw->headact = sw->nacts = 0;
	if (sw->nacts == sw->capacts) {
		size_t cap = sw->capacts ? sw->capacts * 2 : 8;
		struct circsw_act *n = realloc(sw->acts, cap * sizeof(*n));

		if (!n)
			return NULL;
		sw->acts = n;
		sw->capacts = cap;
	}
	a = &sw->acts[sw->nacts++];
	memset(a, 0, offsetof(struct circsw_act, body));
	a->type = type;
	return a;
}

static void circsw_send(struct circsw *sw, const struct circsw_end *to, uint8_t cmd, uint64_t k,
                        const uint8_t *body, size_t body_len)
{
	struct circsw_act *a = circsw_push(sw, CIRCSW_SEND);

	if (!a)
		return;
	a->link = to->link;
	a->cell = (struct cell){
	    .circ_id = to->circ, .cmd = cmd, .k = k, .body = a->body, .body_len = body_len};
	memcpy(a->body, body, body_len);
}

/* Forget h: DESTROY to each of its ends but skip (0: none) and to its splice partner. */
static void circsw_destroy(struct circsw *sw, struct circsw_hop *h, uint64_t skip)
{
	uint8_t body[CELL_BODY_1500];

	circmsg_put_destroy(body, h->body_len, 0);
	for (int i = 0; i < 2; i++) {
		if (h->end[i].link && h->end[i].link != skip)
			circsw_send(sw, &h->end[i], CELL_DESTROY, 0, body, h->body_len);
		circsw_end_del(sw, &h->end[i]);
	}
	if (h->splice) {
		struct circsw_hop *p = h->splice;

		h->splice = p->splice = NULL;
		circsw_destroy(sw, p, 0);
	}
	sw->hops[h->idx] = sw->hops[--sw->nhops];
	sw->hops[h->idx]->idx = h->idx;
	sodium_memzero(h, sizeof(*h));
	free(h);
	sw->st.destroyed++;
	sw->st.circuits = sw->nhops;
}

/*
 * Send msg (len bytes) towards h's client as this hop's own message: k is the next one of
 * this hop's residue (depth - 1 mod 8) above everything sealed here, so no nonce repeats.
 */
static void circsw_originate(struct circsw *sw, struct circsw_hop *h, const struct circmsg *m)
{
	uint8_t body[CELL_BODY_1500], msg[CELL_BODY_1500];
	size_t room = onion_room(h->body_len, h->depth);
	uint64_t k = (h->bwd_top | 7) + h->depth; /* > bwd_top, k % 8 == depth - 1 */

	if (!room || circmsg_encode(m, msg, room) != 0 || !replay_accept(&h->bwd_rp, k)) {
		sw->st.drops[CIRCSW_DROP_MSG]++;
		return;
	}
	h->bwd_top = k;
	onion_originate(body, h->body_len, h->depth, &h->keys.bwd, k, msg, room);
	circsw_send(sw, &h->end[END_IN], CELL_BWD, k, body, h->body_len);
	sw->st.originated++;
}

/*
 * A CREATE refused (over a bound, or its handshake failed): DESTROY answers it at once, so the
 * hop before (or the client) tears the circuit down instead of waiting for its timeout. One
 * cell of the same size for one cell: nothing to amplify.
 */
static void circsw_refuse(struct circsw *sw, uint64_t link, const struct cell *c, int drop)
{
	struct circsw_end to = {.link = link, .circ = c->circ_id};
	uint8_t body[CELL_BODY_1500];

	sw->st.drops[drop]++;
	circmsg_put_destroy(body, c->body_len, 0);
	circsw_send(sw, &to, CELL_DESTROY, 0, body, c->body_len);
}

static void circsw_create(struct circsw *sw, uint64_t link, bool from_relay, struct cell *c,
                          uint64_t now)
{
	uint8_t msg1[CIRCHS_MSG1_LEN], msg2[CIRCHS_MSG2_LEN], body[CELL_BODY_1500];
	struct circsw_hop *h;
	unsigned depth, cls;

	if (circsw_find(sw, link, c->circ_id)) {
		sw->st.drops[CIRCSW_DROP_MSG]++;
		return;
	}
	if (sw->nhops >= sw->cfg.max_circuits ||
	    circsw_link_ends(sw, link) >= sw->cfg.max_per_link || !(h = calloc(1, sizeof(*h)))) {
		circsw_refuse(sw, link, c, CIRCSW_DROP_FULL);
		return;
	}
	/* A client's link starts a circuit; a relay's link extends one (depth 2 and up). */
	if (circmsg_get_create(c->body, c->body_len, msg1) != 0 ||
	    circhs_answer(sw->cfg.noise_priv, msg1, sizeof(msg1), msg2, &h->keys, &depth, &cls) !=
	        0 ||
	    (depth == 1) == from_relay ||
	    c->body_len != (cls == CIRCHS_CLASS_1500 ? CELL_BODY_1500 : CELL_BODY_1280) ||
	    !onion_room(c->body_len, depth)) {
		sodium_memzero(h, sizeof(*h));
		free(h);
		circsw_refuse(sw, link, c, CIRCSW_DROP_HS);
		return;
	}
	h->depth = depth;
	h->body_len = c->body_len;
	h->end[END_IN] = (struct circsw_end){.link = link, .circ = c->circ_id, .hop = h};
	h->end[END_OUT].hop = h;
	replay_init(&h->fwd_rp);
	replay_init(&h->bwd_rp);
	h->last_ms = now;
	if (!circsw_end_add(sw, &h->end[END_IN])) {
		sodium_memzero(h, sizeof(*h));
		free(h);
		circsw_refuse(sw, link, c, CIRCSW_DROP_FULL);
		return;
	}
	h->idx = sw->nhops;
	sw->hops[sw->nhops++] = h;
	sw->st.created++;
	sw->st.circuits = sw->nhops;
	circmsg_put_created(body, h->body_len, msg2);
	circsw_send(sw, &h->end[END_IN], CELL_CREATED, 0, body, h->body_len);
}

/* The other circuit waiting with h's cookie, if any. */
static struct circsw_hop *circsw_cookie_match(struct circsw *sw, const struct circsw_hop *h)
{
	for (size_t i = 0; i < sw->nhops; i++) {
		struct circsw_hop *o = sw->hops[i];

		if (o != h && o->has_cookie && !o->splice &&
		    !sodium_memcmp(o->cookie, h->cookie, CIRCMSG_COOKIE_LEN))
			return o;
	}
	return NULL;
}

/* h's own message m arrived (a FWD cell whose layer here said "mine"). */
static void circsw_mine(struct circsw *sw, struct circsw_hop *h, const struct circmsg *m,
                        uint64_t now)
{
	struct circmsg out = {0};
	struct circsw_hop *o;
	struct circsw_act *a;

	switch (m->type) {
	case CIRCMSG_EXTEND:
		/* Only the last hop extends, once, and not past the deepest hop there can be. */
		if (h->end[END_OUT].link || h->ext_ms || h->splice || h->has_cookie ||
		    !onion_room(h->body_len, h->depth + 1)) {
			sw->st.drops[CIRCSW_DROP_MSG]++;
			return;
		}
		if (!(a = circsw_push(sw, CIRCSW_CONNECT))) {
			sw->st.drops[CIRCSW_DROP_FULL]++;
			return;
		}
		h->req = ++sw->next_req;
		h->ext_ms = now ? now : 1;
		memcpy(h->ext_msg1, m->hs, CIRCHS_MSG1_LEN);
		a->req = h->req;
		a->link = h->end[END_IN].link;
		memcpy(a->identity, m->identity, 32);
		memcpy(a->noise_pub, m->noise_pub, 32);
		return;
	case CIRCMSG_RENDEZVOUS:
		if (h->end[END_OUT].link || h->ext_ms || h->splice || h->has_cookie) {
			sw->st.drops[CIRCSW_DROP_MSG]++;
			return;
		}
		memcpy(h->cookie, m->cookie, CIRCMSG_COOKIE_LEN);
		h->has_cookie = true;
		h->cookie_ms = now ? now : 1;
		if (!(o = circsw_cookie_match(sw, h)))
			return;
		h->splice = o;
		o->splice = h;
		sw->st.spliced++;
		out.type = CIRCMSG_SPLICED;
		circsw_originate(sw, h, &out);
		circsw_originate(sw, o, &out);
		return;
	case CIRCMSG_DATA:
		/* At a rendezvous: the datagram goes on as the other circuit's own message. */
		if (!h->splice || m->data_len > circmsg_data_max(onion_room(h->splice->body_len,
		                                                            h->splice->depth))) {
			sw->st.drops[CIRCSW_DROP_MSG]++;
			return;
		}
		h->splice->last_ms = now;
		circsw_originate(sw, h->splice, m);
		return;
	case CIRCMSG_PADDING:
		sw->st.drops[CIRCSW_DROP_PADDING]++;
		return;
	default: /* EXTENDED, SPLICED: only ever sent towards a client */
		sw->st.drops[CIRCSW_DROP_MSG]++;
	}
}

static void circsw_fwd(struct circsw *sw, struct circsw_hop *h, struct cell *c, uint64_t now)
{
	struct circmsg m;
	int r;

	if (!replay_check(&h->fwd_rp, c->k)) {
		sw->st.drops[CIRCSW_DROP_REPLAY]++;
		return;
	}
	r = onion_peel(c->body, c->body_len, h->depth, &h->keys.fwd, c->k);
	if (r < 0) {
		sw->st.drops[CIRCSW_DROP_LAYER]++;
		return;
	}
	replay_accept(&h->fwd_rp, c->k);
	h->last_ms = now;
	if (r == ONION_NEXT) {
		if (!h->end[END_OUT].link || h->ext_wait_created) {
			sw->st.drops[CIRCSW_DROP_UNKNOWN]++;
			return;
		}
		circsw_send(sw, &h->end[END_OUT], CELL_FWD, c->k, c->body, c->body_len);
		sw->st.forwarded++;
		return;
	}
	if (circmsg_decode(c->body + 1, onion_room(c->body_len, h->depth), &m) != 0) {
		sw->st.drops[CIRCSW_DROP_MSG]++;
		return;
	}
	circsw_mine(sw, h, &m, now);
}

/* A cell from the next hop, towards the client: its layer added here (or CREATED answered). */
static void circsw_bwd(struct circsw *sw, struct circsw_hop *h, struct cell *c, uint64_t now)
{
	uint8_t msg2[CIRCHS_MSG2_LEN];

	h->last_ms = now;
	if (c->cmd == CELL_CREATED) {
		struct circmsg m = {.type = CIRCMSG_EXTENDED};

		if (!h->ext_wait_created || circmsg_get_created(c->body, c->body_len, msg2) != 0) {
			sw->st.drops[CIRCSW_DROP_MSG]++;
			return;
		}
		h->ext_wait_created = false;
		h->ext_ms = 0;
		memcpy(m.hs, msg2, sizeof(msg2));
		sw->st.extended++;
		circsw_originate(sw, h, &m);
		return;
	}
	if (h->ext_wait_created || !replay_accept(&h->bwd_rp, c->k)) {
		sw->st.drops[h->ext_wait_created ? CIRCSW_DROP_MSG : CIRCSW_DROP_REPLAY]++;
		return;
	}
	if (onion_add(c->body, c->body_len, h->depth, &h->keys.bwd, c->k) != 0) {
		sw->st.drops[CIRCSW_DROP_LAYER]++;
		return;
	}
	if (c->k > h->bwd_top)
		h->bwd_top = c->k;
	circsw_send(sw, &h->end[END_IN], CELL_BWD, c->k, c->body, c->body_len);
	sw->st.backward++;
}

void circsw_cell(struct circsw *sw, uint64_t link, bool from_relay, struct cell *c, uint64_t now_ms)
{
	struct circsw_end *e;

	if (c->cmd == CELL_CREATE) {
		circsw_create(sw, link, from_relay, c, now_ms);
		return;
	}
	if (c->cmd == CELL_PADDING) {
		sw->st.drops[CIRCSW_DROP_PADDING]++;
		return;
	}
	e = circsw_find(sw, link, c->circ_id);
	/* Every cell of a circuit has the circuit's size. */
	if (!e || c->body_len != e->hop->body_len) {
		sw->st.drops[CIRCSW_DROP_UNKNOWN]++;
		return;
	}
	if (c->cmd == CELL_DESTROY) {
		circsw_destroy(sw, e->hop, link);
		return;
	}
	if (e == &e->hop->end[END_IN] && c->cmd == CELL_FWD)
		circsw_fwd(sw, e->hop, c, now_ms);
	else if (e == &e->hop->end[END_OUT] && (c->cmd == CELL_BWD || c->cmd == CELL_CREATED))
		circsw_bwd(sw, e->hop, c, now_ms);
	else
		sw->st.drops[CIRCSW_DROP_UNKNOWN]++;
}

void circsw_connected(struct circsw *sw, uint64_t req, uint64_t link, uint64_t now_ms)
{
	uint8_t body[CELL_BODY_1500];
	struct circsw_hop *h = NULL;
	struct circsw_end *out;

	for (size_t i = 0; i < sw->nhops && !h; i++)
		if (sw->hops[i]->req == req && req)
			h = sw->hops[i];
	if (!h)
		return;
	h->req = 0;
	if (!link || link == h->end[END_IN].link ||
	    circsw_link_ends(sw, link) >= sw->cfg.max_per_link) {
		sw->st.drops[CIRCSW_DROP_FULL] += link != 0;
		circsw_destroy(sw, h, 0);
		return;
	}
	out = &h->end[END_OUT];
	out->link = link;
	do
		randombytes_buf(&out->circ, sizeof(out->circ));
	while (!out->circ || circsw_find(sw, link, out->circ));
	if (!circsw_end_add(sw, out)) {
		out->link = 0;
		circsw_destroy(sw, h, 0);
		return;
	}
	h->ext_wait_created = true;
	h->last_ms = now_ms;
	circmsg_put_create(body, h->body_len, h->ext_msg1);
	circsw_send(sw, out, CELL_CREATE, 0, body, h->body_len);
}

void circsw_link_down(struct circsw *sw, uint64_t link)
{
	for (size_t i = 0; i < sw->nhops;) {
		struct circsw_hop *h = sw->hops[i];

		if (h->end[END_IN].link == link || h->end[END_OUT].link == link) {
			/* Its partner may sit before i in the array: start over (rare, bounded). */
			circsw_destroy(sw, h, link);
			i = 0;
			continue;
		}
		i++;
	}
}

void circsw_tick(struct circsw *sw, uint64_t now_ms)
{
	for (size_t i = 0; i < sw->nhops;) {
		struct circsw_hop *h = sw->hops[i];

		if ((h->ext_ms && now_ms - h->ext_ms >= sw->cfg.extend_ms) ||
		    (h->has_cookie && !h->splice &&
		     now_ms - h->cookie_ms >= sw->cfg.rendezvous_ms) ||
		    (now_ms > h->last_ms && now_ms - h->last_ms >= sw->cfg.idle_ms)) {
			circsw_destroy(sw, h, 0);
			i = 0;
			continue;
		}
		i++;
	}
}

bool circsw_next(struct circsw *sw, struct circsw_act *a)
{
	if (sw->headact == sw->nacts)
		return false;
	*a = sw->acts[sw->headact++];
	a->cell.body = a->body;
	return true;
}

const struct circsw_stats *circsw_stats(const struct circsw *sw)
{
	return &sw->st;
}

int circsw_new(struct circsw **out, const struct circsw_cfg *cfg)
{
	struct circsw *sw = calloc(1, sizeof(*sw));

	if (!sw)
		return -ENOMEM;
	sw->cfg = *cfg;
	for (sw->nb = 16; sw->nb < 2 * cfg->max_circuits + 2; sw->nb *= 2)
		;
	sw->tab = calloc(sw->nb, sizeof(*sw->tab));
	sw->lc = calloc(sw->nb, sizeof(*sw->lc));
	sw->hops = calloc(cfg->max_circuits + 1, sizeof(*sw->hops));
	if (!sw->tab || !sw->lc || !sw->hops) {
		circsw_free(sw);
		return -ENOMEM;
	}
	*out = sw;
	return 0;
}

void circsw_free(struct circsw *sw)
{
	if (!sw)
		return;
	for (size_t i = 0; i < sw->nhops; i++) {
		sodium_memzero(sw->hops[i], sizeof(*sw->hops[i]));
		free(sw->hops[i]);
	}
	for (size_t b = 0; sw->lc && b < sw->nb; b++)
		while (sw->lc[b]) {
			struct circsw_linkcount *n = sw->lc[b]->next;

			free(sw->lc[b]);
			sw->lc[b] = n;
		}
	free(sw->tab);
	free(sw->lc);
	free(sw->hops);
	free(sw->acts);
	free(sw);
}
