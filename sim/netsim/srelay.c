/*
 * srelay.c: one simulated relay: its identity and descriptor, its gossip engine and link plan,
 * and the link messages between relays (handshake, HELLO, heartbeat, close) that relayd would
 * send. Gossip messages are the engine's own bytes; the rest are modelled by their size.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "descriptor.h"
#include "proto.h"
#include "spread_int.h"

static uint32_t lp_rand(void *ctx)
{
	return (uint32_t)rng_u64(ctx);
}

int srelay_push(struct sthread *t, uint64_t at, uint32_t kind, uint32_t dst, uint32_t src,
                uint32_t aux, void *p)
{
	struct spread *s = t->s;
	struct event e = {.at = at, .kind = kind, .dst = dst, .src = src, .aux = aux, .p = p};

	if (kind == EV_PUBLISH)
		return event_push(s->gq, &e); /* only ever between windows */
	e.seq = (uint64_t)(t->cur + 1) << 32 | s->r[t->cur].pushes++;
	struct sthread *o = sowner(s, dst);
	if (o == t)
		return event_push_keyed(t->q, &e);
	struct evbuf *b = &t->out[o->id][s->wpar];
	if (b->n == b->cap) {
		size_t cap = b->cap ? b->cap * 2 : 1024;
		struct event *ne = realloc(b->e, cap * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		b->e = ne;
		b->cap = cap;
	}
	if (!b->n || at < b->min_at)
		b->min_at = at;
	b->e[b->n++] = e;
	return 0;
}

struct sthread *srelay_acting(struct spread *s, uint32_t i)
{
	struct sthread *t = sowner(s, i);

	t->cur = i;
	return t;
}

void srelay_drop(struct sthread *t, const struct event *e)
{
	if (e->kind == EV_MSG || e->kind == EV_HELLO || e->kind == EV_DESC_RESP)
		smsg_free(t, e->p);
}

/* A link message of len bytes from a to b: kind and aux, delivered after the network's delay. */
static void send_link_aux(struct sthread *t, uint32_t a, uint32_t b, uint32_t kind, size_t len,
                          struct smsg *p, uint32_t aux)
{
	struct spread *s = t->s;
	uint64_t d;
	size_t minute = (size_t)(t->now / 60000);

	if (minute < s->n_bins)
		t->bin_link[minute] += len + WORLD_FRAME_OVERHEAD + WORLD_IPUDP_OVERHEAD;
	t->msgs++;
	if (!world_send_with(&s->w, &s->r[a].net, &t->wt, a, b, len, &d) ||
	    srelay_push(t, t->now + d, kind, b, a, aux, p) < 0) {
		if (p)
			smsg_free(t, p);
		return;
	}
	if (s->r[a].lp)
		linkplan_sent(s->r[a].lp, s->pk[b], sabs(t));
}

static void send_link(struct sthread *t, uint32_t a, uint32_t b, uint32_t kind, size_t len)
{
	send_link_aux(t, a, b, kind, len, NULL, 0);
}

/* Bytes after the header per class: a malloc and free per message were some 4 % of a run. */
static const uint16_t smsg_class_len[SMSG_CLASSES] = {96, 496, GOSSIP_MSG_MAX};

struct smsg *smsg_new(struct sthread *t, size_t len)
{
	uint8_t c = 0;

	while (c < SMSG_CLASSES - 1 && len > smsg_class_len[c])
		c++;
	if (len > smsg_class_len[c])
		return NULL;
	struct smsg *m = t->smsg_free[c];
	if (m)
		t->smsg_free[c] = m->next;
	else if (!(m = malloc(offsetof(struct smsg, b) + smsg_class_len[c])))
		return NULL;
	m->cls = c;
	m->len = (uint16_t)len;
	return m;
}

/* A buffer goes to the free list of the thread that frees it: the lists are only pools. */
void smsg_free(struct sthread *t, struct smsg *m)
{
	m->next = t->smsg_free[m->cls];
	t->smsg_free[m->cls] = m;
}

void smsg_release(struct sthread *t)
{
	for (int c = 0; c < SMSG_CLASSES; c++)
		while (t->smsg_free[c]) {
			struct smsg *m = t->smsg_free[c];
			t->smsg_free[c] = m->next;
			free(m);
		}
}

static int32_t find_relay(const struct spread *s, const uint8_t id[32])
{
	int64_t i = hmap_get(&s->by_id, hmap_key(id));

	return i >= 0 && memcmp(s->pk[i], id, 32) == 0 ? (int32_t)i : -1;
}

/* A /16 per (cluster, provider): relays of one hosting provider share it (linkplan diversity). */
static void draw_addr(struct spread *s, struct srelay *r, uint8_t cluster)
{
	for (;;) {
		uint32_t prov = (uint32_t)rng_below(&s->rng, 24);
		uint32_t h = (uint32_t)((cluster * 131u + prov * 7919u) * 2654435761u);
		uint8_t a = (uint8_t)(20 + h % 180); /* 20..199: never 0, 10, 127 or multicast */
		if (a == 100 || a == 127 || a == 169 || a == 172 || a == 192 || a == 198)
			a++;
		uint32_t ip = (uint32_t)a << 24 | ((h >> 8) & 0xff) << 16 |
		              (uint32_t)rng_below(&s->rng, 65536);
		uint64_t key = (uint64_t)ip << 16 | SPREAD_PORT;
		if (hmap_get(&s->by_addr, key) >= 0)
			continue;
		memset(&r->addr, 0, sizeof(r->addr));
		r->addr.in.sin_family = AF_INET;
		r->addr.in.sin_addr.s_addr = htonl(ip);
		r->addr.in.sin_port = htons(SPREAD_PORT);
		r->addr.len = sizeof(struct sockaddr_in);
		hmap_put(&s->by_addr, key, (uint32_t)(r - s->r));
		return;
	}
}

/*
 * Sign descriptor seq of relay i, issued at issued_ms (Unix ms), into every thread's cache (each
 * holds its own copy): the entry of i's thread, or NULL.
 */
static struct dcache_ent *sign(struct spread *s, uint32_t i, uint64_t issued_ms)
{
	struct srelay *r = &s->r[i];
	const struct world_place *at = &s->w.nodes[i].at;
	struct descriptor d;
	uint8_t buf[DESC_MAX_LEN];

	memset(&d, 0, sizeof(d));
	memcpy(d.identity, r->pk, 32);
	memcpy(d.noise, r->noise, 32);
	d.seq = r->seq;
	d.issued_at = issued_ms / 1000;
	d.expires_at = d.issued_at + (uint64_t)(s->p.lifetime_h * 3600);
	d.modes = DESC_MODE_DIRECT | DESC_MODE_SEALED;
	d.auth = DESC_AUTH_OPEN;
	d.max_circuits = 1000;
	d.bandwidth_kbps = 100000;
	d.load_permille = (uint16_t)rng_below(&r->rng, 600);
	d.uptime_s = (uint32_t)((s->now - r->joined_ms) / 1000);
	snprintf(d.version, sizeof(d.version), "0.2.0");
	snprintf(d.country, sizeof(d.country), "%s", world_cluster_country(at->cluster));
	d.has_location = true;
	d.lat_e6 = (int32_t)(at->lat * 1e6);
	d.lon_e6 = (int32_t)(at->lon * 1e6);
	d.n_endpoints = 1;
	d.endpoints[0].transport = DESC_T_UDP;
	d.endpoints[0].addr = r->addr;
	int len = desc_sign(&d, r->sk, buf, sizeof(buf));
	if (len < 0)
		return NULL;
	for (unsigned k = 0; k < s->nth; k++)
		if (k != sowner(s, i)->id)
			dcache_get(&s->th[k].dc, buf, (size_t)len);
	return dcache_get(&sowner(s, i)->dc, buf, (size_t)len);
}

static void cand_of(const struct dstore_desc *dd, struct linkplan_cand *c, uint8_t cls)
{
	memset(c, 0, sizeof(*c));
	memcpy(c->identity, dd->d.identity, 32);
	memcpy(c->noise, dd->d.noise, 32);
	c->addr = dd->d.endpoints[0].addr;
	memcpy(c->country, dd->d.country, 3);
	c->family = dd->d.family;
	c->cls = cls;
}

/* Relay j as a candidate of relay i's plan, from the descriptor i holds or j's own. */
static int add_cand(struct sthread *t, uint32_t i, uint32_t j, uint8_t cls)
{
	struct spread *s = t->s;
	const struct dstore_desc *dd = dstore_get(gossip_store(s->r[i].g), s->r[j].pk);
	struct linkplan_cand c;

	if (!dd) {
		/* [Network] Peer: the operator configured the address and keys, not a descriptor. */
		memset(&c, 0, sizeof(c));
		memcpy(c.identity, s->r[j].pk, 32);
		memcpy(c.noise, s->r[j].noise, 32);
		c.addr = s->r[j].addr;
		memcpy(c.country, world_cluster_country(s->w.nodes[j].at.cluster), 3);
		c.cls = cls;
	} else {
		cand_of(dd, &c, cls);
	}
	return linkplan_add(s->r[i].lp, &c, sabs(t));
}

static uint32_t random_up(struct spread *s, uint32_t not )
{
	for (int tries = 0; tries < 1000; tries++) {
		uint32_t j = (uint32_t)rng_below(&s->rng, s->n);
		if (j != not &&s->r[j].up)
			return j;
	}
	return not ;
}

int srelay_create(struct spread *s, uint64_t issued_ms, bool warm)
{
	struct gossip_config gc;
	struct linkplan_config lc;
	uint8_t seed[32];
	int r;

	int wi = world_add(&s->w);
	if (wi < 0 || (size_t)wi >= s->cap)
		return -ENOSPC;
	uint32_t i = (uint32_t)wi;
	struct srelay *x = &s->r[i];
	memset(x, 0, sizeof(*x));
	struct sthread *t = srelay_acting(s, i);
	rng_seed(&x->rng, s->p.seed, 0x72656c6179ull << 24 | i);
	rng_seed(&x->net, s->p.seed, 0x6e6574ull << 32 | i);
	rng_bytes(&x->rng, seed, 32);
	crypto_sign_seed_keypair(x->pk, x->sk, seed);
	memcpy(s->pk[i], x->pk, 32);
	rng_bytes(&x->rng, x->noise, 32);
	draw_addr(s, x, s->w.nodes[i].at.cluster);
	hmap_put(&s->by_id, hmap_key(x->pk), i);
	x->seq = 1;
	x->joined_ms = s->now;
	x->left_ms = SPREAD_NEVER;
	x->timer_at = SPREAD_NEVER;
	x->last_track = -1;
	x->up = true;
	s->n = i + 1;
	s->n_up++;

	gossip_config_default(&gc);
	gc.decode = dcache_decode;
	gc.decode_ctx = &t->dc;
	r = gossip_new(&x->g, &gc);
	if (r < 0)
		return r;
	linkplan_config_default(&lc);
	lc.max_candidates = s->p.lp_candidates;
	memcpy(lc.self, x->pk, 32);
	r = linkplan_new(&x->lp, &lc, lp_rand, &x->rng);
	if (r < 0)
		return r;

	struct dcache_ent *e = sign(s, i, issued_ms);
	if (!e)
		return -EINVAL;
	/* A new relay publishes at once and the spread of that descriptor is measured. */
	if (!warm)
		track_new(s, i, e);
	t->dc.cur_store = gossip_store(x->g);
	gossip_publish(x->g, e->dd->bytes, e->dd->len, sabs(t));
	track_got(t, e, i);
	/* The first refresh: R after issue (warm relays were issued at random in the last R). */
	int64_t next =
	    (int64_t)issued_ms - (int64_t)SPREAD_T0_MS + (int64_t)(s->p.refresh_h * 3600e3);
	srelay_push(t, next > (int64_t)s->now ? (uint64_t)next : s->now + 1, EV_PUBLISH, i, i,
	            (uint32_t)x->seq + 1, NULL);
	return (int)i;
}

/* Bootstrap peers (CONFIGURED) and, for warm relays, some DISCOVERED ones from the store. */
void srelay_bootstrap(struct spread *s, uint32_t i, unsigned known)
{
	unsigned nb =
	    s->p.boot_min + (unsigned)rng_below(&s->rng, s->p.boot_max - s->p.boot_min + 1);

	struct sthread *t = srelay_acting(s, i);

	for (unsigned k = 0; k < nb; k++) {
		uint32_t j = random_up(s, i);
		if (j != i)
			add_cand(t, i, j, LINKPLAN_CONFIGURED);
	}
	for (unsigned k = 0; k < known; k++) {
		uint32_t j = random_up(s, i);
		if (j != i)
			add_cand(t, i, j, LINKPLAN_DISCOVERED);
	}
}

void srelay_leave(struct spread *s, uint32_t i)
{
	struct srelay *x = &s->r[i];

	if (!x->up)
		return;
	/* Abruptly, as a crash or a pulled cable: the peers notice by LinkTimeout. */
	x->up = false;
	x->left_ms = s->now;
	s->w.nodes[i].up = false;
	s->n_up--;
	srelay_fold_stats(s, i);
	gossip_free(x->g);
	linkplan_free(x->lp);
	sdht_free(s, i);
	x->g = NULL;
	x->lp = NULL;
	track_left(s, i);
}

void srelay_fold_stats(struct spread *s, uint32_t i)
{
	const struct gossip_stats *g = gossip_stats(s->r[i].g);
	uint64_t *dst = (uint64_t *)&s->gs;
	const uint64_t *src = (const uint64_t *)g;

	/* struct gossip_stats is all uint64_t counters: add field by field. */
	for (size_t k = 0; k < sizeof(s->gs) / sizeof(uint64_t); k++)
		dst[k] += src[k];
}

int srelay_publish(struct spread *s, uint32_t i)
{
	struct srelay *x = &s->r[i];
	struct sthread *t = srelay_acting(s, i);

	if (!x->up)
		return 0;
	x->seq++;
	struct dcache_ent *e = sign(s, i, sabs(t));
	if (!e)
		return -EINVAL;
	track_new(s, i, e);
	t->dc.cur_store = gossip_store(x->g);
	gossip_publish(x->g, e->dd->bytes, e->dd->len, sabs(t));
	track_got(t, e, i);
	srelay_pump(t, i);
	srelay_schedule(t, i);
	return srelay_push(t, t->now + (uint64_t)(s->p.refresh_h * 3600e3), EV_PUBLISH, i, i,
	                   (uint32_t)x->seq + 1, NULL);
}

void srelay_schedule(struct sthread *t, uint32_t i)
{
	struct srelay *x = &t->s->r[i];
	uint64_t abs = sabs(t);

	if (!x->up)
		return;
	uint64_t tg = gossip_next_tick(x->g), tl = linkplan_next_ms(x->lp, abs);
	uint64_t due = tg < tl ? tg : tl;
	/* At least 1 ms ahead: a timer never fires twice in one millisecond. */
	uint64_t at = due > abs ? due - SPREAD_T0_MS : t->now + 1;
	if (at <= t->now)
		at = t->now + 1;
	if (at >= x->timer_at)
		return;
	x->timer_at = at;
	srelay_push(t, at, EV_TIMER, i, i, ++x->timer_gen, NULL);
}

/* Send what the gossip engine has queued. */
void srelay_pump(struct sthread *t, uint32_t i)
{
	struct spread *s = t->s;
	struct srelay *x = &s->r[i];
	uint64_t abs = sabs(t);
	uint32_t link, sent[64];
	size_t n_sent = 0;
	int len;

	while (x->up && (len = gossip_next(x->g, abs, &link, t->buf, sizeof(t->buf))) > 0) {
		size_t wire = (size_t)len + WORLD_FRAME_OVERHEAD + WORLD_IPUDP_OVERHEAD;
		size_t minute = (size_t)(t->now / 60000);
		uint64_t d;

		x->gossip_tx += wire;
		if (minute < s->n_bins)
			t->bin_gossip[minute] += wire;
		t->msgs++;
		/* linkplan_sent once per link and drain: the same time for all of its messages. */
		size_t k = 0;
		while (k < n_sent && sent[k] != link)
			k++;
		if (k == n_sent) {
			if (n_sent == 64)
				linkplan_sent(x->lp, s->pk[link], abs);
			else
				sent[n_sent++] = link;
		}
		if (!world_send_with(&s->w, &x->net, &t->wt, i, link, (size_t)len, &d))
			continue;
		struct smsg *m = smsg_new(t, (size_t)len);
		if (!m)
			continue;
		memcpy(m->b, t->buf, (size_t)len);
		if (srelay_push(t, t->now + d, EV_MSG, link, i, 0, m) < 0)
			smsg_free(t, m);
	}
	for (size_t k = 0; k < n_sent && x->up; k++)
		linkplan_sent(x->lp, s->pk[sent[k]], abs);
}

/* Carry out the plan's decisions. */
static void decide(struct sthread *t, uint32_t i)
{
	struct linkplan_action act[LINKPLAN_ACTIONS_HINT];
	struct spread *s = t->s;
	struct srelay *x = &s->r[i];
	size_t n;

	for (int round = 0; round < 8 && x->up; round++) {
		n = linkplan_decide(x->lp, sabs(t), act, LINKPLAN_ACTIONS_HINT);
		for (size_t k = 0; k < n; k++) {
			int32_t j = find_relay(s, act[k].identity);
			if (j < 0)
				continue;
			switch (act[k].act) {
			case LINKPLAN_CONNECT:
				send_link(t, i, (uint32_t)j, EV_HS_INIT, PROTO_HS_INIT_LEN);
				srelay_push(t, t->now + SPREAD_HS_RESEND_MS, EV_HS_RESEND, i,
				            (uint32_t)j, 0, NULL);
				break;
			case LINKPLAN_DISCONNECT:
				gossip_link_down(x->g, (uint32_t)j, sabs(t));
				send_link(t, i, (uint32_t)j, EV_CLOSE, SPREAD_CLOSE_LEN);
				break;
			case LINKPLAN_HEARTBEAT:
				send_link(t, i, (uint32_t)j, EV_HB, SPREAD_HB_LEN);
				break;
			}
		}
		if (n < LINKPLAN_ACTIONS_HINT)
			break;
	}
}

/*
 * A copy of relay a's own descriptor in a message buffer, or NULL: what crosses to another
 * relay is bytes, never a reference (the receiver may run on another thread).
 */
struct smsg *srelay_own_copy(struct sthread *t, uint32_t a)
{
	const struct dstore_desc *own = dstore_get(gossip_store(t->s->r[a].g), t->s->r[a].pk);
	struct smsg *m = own ? smsg_new(t, own->len) : NULL;

	if (m)
		memcpy(m->b, own->bytes, own->len);
	return m;
}

/* Our HELLO to b: the initiator's (answer false) or the responder's answer to it (true). */
static void send_hello(struct sthread *t, uint32_t a, uint32_t b, bool answer)
{
	struct smsg *m = srelay_own_copy(t, a);

	if (m)
		send_link_aux(t, a, b, EV_HELLO, SPREAD_HELLO_HDR + m->len, m, answer);
}

/* Relay dd names is a DISCOVERED candidate of relay i's plan. */
static void discovered(struct sthread *t, uint32_t i, const struct dstore_desc *dd)
{
	struct linkplan_cand c;

	cand_of(dd, &c, LINKPLAN_DISCOVERED);
	linkplan_add(t->s->r[i].lp, &c, sabs(t));
}

/* After gossip_input or gossip_offer at relay i: note a descriptor it newly holds. */
static void after_input(struct sthread *t, uint32_t i)
{
	const struct dcache_ent *e = t->dc.last;
	struct srelay *x = &t->s->r[i];

	if (!e || !x->up)
		return;
	const struct dstore_desc *dd = e->dd;
	if (dstore_seq(gossip_store(x->g), dd->d.identity) != dd->d.seq)
		return;
	track_got(t, e, i);
	/* A relay never seen before is a link candidate (DISCOVERED). */
	if (t->dc.last_seq_before == 0)
		discovered(t, i, dd);
}

void srelay_offer_outside(struct sthread *t, uint32_t i, const uint8_t *b, size_t len)
{
	struct srelay *x = &t->s->r[i];
	struct dstore *st = gossip_store(x->g);
	const struct dcache_ent *e = dcache_get(&t->dc, b, len);
	uint64_t before = e ? dstore_seq(st, e->dd->d.identity) : 0;

	/* As relayd's net_offer: to the store as from no link, so it goes out to every link. */
	t->dc.last = NULL;
	t->dc.cur_store = st;
	gossip_offer(x->g, GOSSIP_LINK_NONE, b, len, sabs(t));
	after_input(t, i);
	/* relayd's store watch makes a candidate of a replaced descriptor too (after_input only
	 * of a new identity); a duplicate of one held makes none. */
	if (e && before && before < e->dd->d.seq &&
	    dstore_seq(st, e->dd->d.identity) == e->dd->d.seq)
		discovered(t, i, e->dd);
}

static void link_up(struct sthread *t, uint32_t i, uint32_t j)
{
	struct spread *s = t->s;

	linkplan_link_up(s->r[i].lp, s->r[j].pk, sabs(t));
	gossip_link_up(s->r[i].g, j, sabs(t));
	/* relayd measures the RTT by HEARTBEAT; here the path's mean: delay plus 10 % jitter. */
	double rtt = 2.2 * world_base_delay_ms(&s->w, &s->w.nodes[i].at, &s->w.nodes[j].at);
	gossip_link_rtt(s->r[i].g, j, (uint32_t)rtt);
}

void srelay_handle(struct sthread *t, const struct event *e)
{
	struct spread *s = t->s;
	uint32_t i = e->dst, j = e->src;
	struct srelay *x = &s->r[i];
	uint64_t abs = sabs(t);

	if (!x->up) {
		srelay_drop(t, e);
		return;
	}
	t->cur = i;
	switch (e->kind) {
	case EV_TIMER:
		if (e->aux != x->timer_gen)
			return; /* superseded by an earlier one */
		x->timer_at = SPREAD_NEVER;
		gossip_tick(x->g, abs);
		decide(t, i);
		break;
	case EV_MSG: {
		struct smsg *m = e->p;
		linkplan_heard(x->lp, s->pk[j], abs);
		t->dc.last = NULL;
		t->dc.cur_store = gossip_store(x->g);
		gossip_input(x->g, j, m->b, m->len, abs);
		after_input(t, i);
		smsg_free(t, m);
		break;
	}
	case EV_HS_INIT:
		/* As relayd: the responder answers every initiation; the link becomes a relay
		 * link (or is refused for room) only at the initiator's HELLO. */
		send_link(t, i, j, EV_HS_RESP, PROTO_HS_RESP_LEN);
		break;
	case EV_HS_RESEND: {
		struct linkplan_info info;
		/* As relayd: an unanswered initiation (or HELLO) goes again every 5 s while the
		 * plan still wants the link; a resent initiation brings a response, then HELLO. */
		if (linkplan_get(x->lp, s->r[j].pk, abs, &info) < 0 ||
		    info.state != LINKPLAN_CONNECTING)
			return;
		send_link(t, i, j, EV_HS_INIT, PROTO_HS_INIT_LEN);
		srelay_push(t, t->now + SPREAD_HS_RESEND_MS, EV_HS_RESEND, i, j, 0, NULL);
		return;
	}
	case EV_HS_RESP: {
		struct linkplan_info info;
		int known = linkplan_get(x->lp, s->r[j].pk, abs, &info);
		if (known == 0 && info.state == LINKPLAN_UP)
			break; /* the answer to a resent initiation: the link is up already */
		if (known < 0 || info.state != LINKPLAN_CONNECTING) {
			/* We gave up on it meanwhile: tell the responder. */
			send_link(t, i, j, EV_CLOSE, SPREAD_CLOSE_LEN);
			break;
		}
		send_hello(t, i, j, false); /* up when the responder's HELLO comes back */
		break;
	}
	case EV_HELLO: {
		struct smsg *m = e->p;
		struct linkplan_info info;
		int known = linkplan_get(x->lp, s->r[j].pk, abs, &info);
		bool fresh = known < 0 || info.state != LINKPLAN_UP;
		if (fresh && e->aux && (known < 0 || info.state != LINKPLAN_CONNECTING)) {
			/* The answer to our HELLO on a link we gave up on (and sent CLOSE for), or
			 * whose CLOSE came first: as in relayd, no session is left to open it in. */
			smsg_free(t, m);
			break;
		}
		if (fresh && (known < 0 || info.state != LINKPLAN_CONNECTING)) {
			/* Inbound: the initiator is a candidate from its HELLO; refused without room. */
			if (add_cand(t, i, j, LINKPLAN_DISCOVERED) < 0 &&
			    linkplan_get(x->lp, s->r[j].pk, abs, &info) < 0) {
				send_link(t, i, j, EV_CLOSE, SPREAD_CLOSE_LEN);
				smsg_free(t, m);
				break;
			}
			send_hello(t, i, j, true); /* ours first, as relayd */
		}
		if (fresh)
			link_up(t, i, j);
		linkplan_heard(x->lp, s->pk[j], abs);
		t->dc.last = NULL;
		t->dc.cur_store = gossip_store(x->g);
		gossip_offer(x->g, j, m->b, m->len, abs);
		after_input(t, i);
		smsg_free(t, m);
		if (fresh)
			decide(t, i);
		break;
	}
	case EV_CLOSE:
		linkplan_link_down(x->lp, s->r[j].pk, abs, LINKPLAN_CLOSED);
		gossip_link_down(x->g, j, abs);
		decide(t, i);
		break;
	case EV_HB: {
		struct linkplan_info info;
		/* As relayd: a link we closed has no session left to answer on, so a peer that
		 * missed our CLOSE times the link out (LinkTimeout) instead of holding it forever. */
		if (linkplan_get(x->lp, s->r[j].pk, abs, &info) < 0 || info.state != LINKPLAN_UP)
			break;
		linkplan_heard(x->lp, s->pk[j], abs);
		send_link(t, i, j, EV_HB_ACK, SPREAD_HB_LEN);
		break;
	}
	case EV_HB_ACK:
		linkplan_heard(x->lp, s->pk[j], abs);
		break;
	case EV_DHT_ROUND:
	case EV_DHT_RESULT:
	case EV_DESC_REQ:
		sdht_handle(t, e);
		break;
	case EV_DESC_RESP:
		sdht_handle(t, e);
		decide(t, i); /* relayd's net_plan after a descriptor from the DHT */
		break;
	}
	/* relayd checks at every DHT tick (250 ms) whether its plan holds too few candidates. */
	sdht_check(t, i);
	srelay_pump(t, i);
	srelay_schedule(t, i);
}

void srelay_run(struct spread *s, uint32_t i)
{
	struct sthread *t = srelay_acting(s, i);

	decide(t, i);
	sdht_check(t, i);
	srelay_pump(t, i);
	srelay_schedule(t, i);
}

void srelay_start(struct spread *s, uint32_t i, unsigned known)
{
	srelay_bootstrap(s, i, known);
	srelay_run(s, i);
}

/* Whether relay i's plan holds a link with j. */
static bool linked(struct spread *s, uint32_t i, uint32_t j)
{
	struct linkplan_info info;

	return linkplan_get(s->r[i].lp, s->r[j].pk, sabs(sowner(s, i)), &info) == 0 &&
	       info.state == LINKPLAN_UP;
}

struct conf_ctx {
	struct spread *s;
	uint32_t peers[8];
	size_t n;
};

static void conf_peer(const struct linkplan_info *info, void *ctx)
{
	struct conf_ctx *c = ctx;

	int32_t j;

	if (info->cls == LINKPLAN_CONFIGURED && c->n < 8 &&
	    (j = find_relay(c->s, info->identity)) >= 0)
		c->peers[c->n++] = (uint32_t)j;
}

/* Link i and j both ways as if a handshake and HELLOs had been exchanged. */
static bool converge_pair(struct spread *s, uint8_t *deg, uint32_t i, uint32_t j)
{
	if (j == i || deg[i] >= SPREAD_CONVERGE_MAX || deg[j] >= SPREAD_CONVERGE_MAX ||
	    linked(s, i, j))
		return false;
	if (add_cand(sowner(s, i), i, j, LINKPLAN_DISCOVERED) < 0 && !linked(s, i, j))
		return false;
	if (add_cand(sowner(s, j), j, i, LINKPLAN_DISCOVERED) < 0 && !linked(s, j, i))
		return false;
	link_up(sowner(s, i), i, j);
	link_up(sowner(s, j), j, i);
	deg[i]++;
	deg[j]++;
	return true;
}

void srelay_converge(struct spread *s)
{
	uint8_t *deg = calloc(s->n, 1);

	if (!deg)
		return;
	/* The configured peers first, as each plan dials them (WANTED) in any case; then random
	 * others up to MinLinks. Degree stays at most SPREAD_CONVERGE_MAX, below MaxLinks, so the
	 * plans start content and have room for relays that join, as after links formed alone. */
	for (uint32_t i = 0; i < s->n; i++) {
		struct conf_ctx c = {.s = s};
		linkplan_foreach(s->r[i].lp, SPREAD_T0_MS + s->now, conf_peer, &c);
		for (size_t k = 0; k < c.n; k++)
			converge_pair(s, deg, i, c.peers[k]);
	}
	for (uint32_t i = 0; i < s->n; i++)
		for (int tries = 0; deg[i] < LINKPLAN_DEF_MIN_LINKS && tries < 64; tries++)
			converge_pair(s, deg, i, (uint32_t)rng_below(&s->rng, s->n));
	free(deg);
}
