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

int srelay_push(struct spread *s, uint64_t at, uint32_t kind, uint32_t dst, uint32_t src,
                uint32_t aux, void *p)
{
	struct event e = {.at = at, .kind = kind, .dst = dst, .src = src, .aux = aux, .p = p};

	return event_push(s->q, &e);
}

/* A link message of len bytes from a to b: kind and aux, delivered after the network's delay. */
static void send_link_aux(struct spread *s, uint32_t a, uint32_t b, uint32_t kind, size_t len,
                          void *p, uint32_t aux)
{
	uint64_t d;
	size_t minute = (size_t)(s->now / 60000);

	if (minute < s->n_bins)
		s->bin_link[minute] += len + WORLD_FRAME_OVERHEAD + WORLD_IPUDP_OVERHEAD;
	s->msgs++;
	if (!world_send(&s->w, a, b, len, &d) ||
	    srelay_push(s, s->now + d, kind, b, a, aux, p) < 0) {
		if (kind == EV_HELLO)
			dstore_desc_unref(p);
		return;
	}
	if (s->r[a].lp)
		linkplan_sent(s->r[a].lp, s->pk[b], spread_abs(s));
}

static void send_link(struct spread *s, uint32_t a, uint32_t b, uint32_t kind, size_t len, void *p)
{
	send_link_aux(s, a, b, kind, len, p, 0);
}

/* Bytes after the header per class: a malloc and free per message were some 4 % of a run. */
static const uint16_t smsg_class_len[SMSG_CLASSES] = {96, 496, GOSSIP_MSG_MAX};

struct smsg *smsg_new(struct spread *s, size_t len)
{
	uint8_t c = 0;

	while (c < SMSG_CLASSES - 1 && len > smsg_class_len[c])
		c++;
	if (len > smsg_class_len[c])
		return NULL;
	struct smsg *m = s->smsg_free[c];
	if (m)
		s->smsg_free[c] = m->next;
	else if (!(m = malloc(offsetof(struct smsg, b) + smsg_class_len[c])))
		return NULL;
	m->cls = c;
	m->len = (uint16_t)len;
	return m;
}

void smsg_free(struct spread *s, struct smsg *m)
{
	m->next = s->smsg_free[m->cls];
	s->smsg_free[m->cls] = m;
}

void smsg_release(struct spread *s)
{
	for (int c = 0; c < SMSG_CLASSES; c++)
		while (s->smsg_free[c]) {
			struct smsg *m = s->smsg_free[c];
			s->smsg_free[c] = m->next;
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

/* Sign descriptor seq of relay i, issued at issued_ms (Unix ms): its cache entry or NULL. */
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
	return dcache_get(&s->dc, buf, (size_t)len);
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
static int add_cand(struct spread *s, uint32_t i, uint32_t j, uint8_t cls)
{
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
	return linkplan_add(s->r[i].lp, &c, spread_abs(s));
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
	rng_seed(&x->rng, s->p.seed, 0x72656c6179ull << 24 | i);
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
	gc.decode_ctx = &s->dc;
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
	s->dc.cur_store = gossip_store(x->g);
	gossip_publish(x->g, e->dd->bytes, e->dd->len, spread_abs(s));
	track_got(s, e, i);
	/* The first refresh: R after issue (warm relays were issued at random in the last R). */
	int64_t next =
	    (int64_t)issued_ms - (int64_t)SPREAD_T0_MS + (int64_t)(s->p.refresh_h * 3600e3);
	srelay_push(s, next > (int64_t)s->now ? (uint64_t)next : s->now + 1, EV_PUBLISH, i, i,
	            (uint32_t)x->seq + 1, NULL);
	return (int)i;
}

/* Bootstrap peers (CONFIGURED) and, for warm relays, some DISCOVERED ones from the store. */
void srelay_bootstrap(struct spread *s, uint32_t i, unsigned known)
{
	unsigned nb =
	    s->p.boot_min + (unsigned)rng_below(&s->rng, s->p.boot_max - s->p.boot_min + 1);

	for (unsigned k = 0; k < nb; k++) {
		uint32_t j = random_up(s, i);
		if (j != i)
			add_cand(s, i, j, LINKPLAN_CONFIGURED);
	}
	for (unsigned k = 0; k < known; k++) {
		uint32_t j = random_up(s, i);
		if (j != i)
			add_cand(s, i, j, LINKPLAN_DISCOVERED);
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

	if (!x->up)
		return 0;
	x->seq++;
	struct dcache_ent *e = sign(s, i, spread_abs(s));
	if (!e)
		return -EINVAL;
	track_new(s, i, e);
	s->dc.cur_store = gossip_store(x->g);
	gossip_publish(x->g, e->dd->bytes, e->dd->len, spread_abs(s));
	track_got(s, e, i);
	srelay_pump(s, i);
	srelay_schedule(s, i);
	return srelay_push(s, s->now + (uint64_t)(s->p.refresh_h * 3600e3), EV_PUBLISH, i, i,
	                   (uint32_t)x->seq + 1, NULL);
}

void srelay_schedule(struct spread *s, uint32_t i)
{
	struct srelay *x = &s->r[i];
	uint64_t abs = spread_abs(s);

	if (!x->up)
		return;
	uint64_t tg = gossip_next_tick(x->g), tl = linkplan_next_ms(x->lp, abs);
	uint64_t t = tg < tl ? tg : tl;
	/* At least 1 ms ahead: a timer never fires twice in one millisecond. */
	uint64_t at = t > abs ? t - SPREAD_T0_MS : s->now + 1;
	if (at <= s->now)
		at = s->now + 1;
	if (at >= x->timer_at)
		return;
	x->timer_at = at;
	srelay_push(s, at, EV_TIMER, i, i, ++x->timer_gen, NULL);
}

/* Send what the gossip engine has queued. */
void srelay_pump(struct spread *s, uint32_t i)
{
	struct srelay *x = &s->r[i];
	uint64_t abs = spread_abs(s);
	uint32_t link, sent[64];
	size_t n_sent = 0;
	int len;

	while (x->up && (len = gossip_next(x->g, abs, &link, s->buf, sizeof(s->buf))) > 0) {
		size_t wire = (size_t)len + WORLD_FRAME_OVERHEAD + WORLD_IPUDP_OVERHEAD;
		size_t minute = (size_t)(s->now / 60000);
		uint64_t d;

		x->gossip_tx += wire;
		if (minute < s->n_bins)
			s->bin_gossip[minute] += wire;
		s->msgs++;
		s->gossip_msgs++;
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
		if (!world_send(&s->w, i, link, (size_t)len, &d))
			continue;
		struct smsg *m = smsg_new(s, (size_t)len);
		if (!m)
			continue;
		memcpy(m->b, s->buf, (size_t)len);
		if (srelay_push(s, s->now + d, EV_MSG, link, i, 0, m) < 0)
			smsg_free(s, m);
	}
	for (size_t k = 0; k < n_sent && x->up; k++)
		linkplan_sent(x->lp, s->pk[sent[k]], abs);
}

/* Carry out the plan's decisions. */
static void decide(struct spread *s, uint32_t i)
{
	struct linkplan_action act[LINKPLAN_ACTIONS_HINT];
	struct srelay *x = &s->r[i];
	size_t n;

	for (int round = 0; round < 8 && x->up; round++) {
		n = linkplan_decide(x->lp, spread_abs(s), act, LINKPLAN_ACTIONS_HINT);
		for (size_t k = 0; k < n; k++) {
			int32_t j = find_relay(s, act[k].identity);
			if (j < 0)
				continue;
			switch (act[k].act) {
			case LINKPLAN_CONNECT:
				send_link(s, i, (uint32_t)j, EV_HS_INIT, PROTO_HS_INIT_LEN, NULL);
				srelay_push(s, s->now + SPREAD_HS_RESEND_MS, EV_HS_RESEND, i,
				            (uint32_t)j, 0, NULL);
				break;
			case LINKPLAN_DISCONNECT:
				gossip_link_down(x->g, (uint32_t)j, spread_abs(s));
				send_link(s, i, (uint32_t)j, EV_CLOSE, SPREAD_CLOSE_LEN, NULL);
				break;
			case LINKPLAN_HEARTBEAT:
				send_link(s, i, (uint32_t)j, EV_HB, SPREAD_HB_LEN, NULL);
				break;
			}
		}
		if (n < LINKPLAN_ACTIONS_HINT)
			break;
	}
}

/* Our HELLO to b: the initiator's (answer false) or the responder's answer to it (true). */
static void send_hello(struct spread *s, uint32_t a, uint32_t b, bool answer)
{
	const struct dstore_desc *own = dstore_get(gossip_store(s->r[a].g), s->r[a].pk);

	if (own)
		send_link_aux(s, a, b, EV_HELLO, SPREAD_HELLO_HDR + own->len,
		              dstore_desc_ref((struct dstore_desc *)(uintptr_t)own), answer);
}

/* Relay dd names is a DISCOVERED candidate of relay i's plan. */
static void discovered(struct spread *s, uint32_t i, const struct dstore_desc *dd)
{
	struct linkplan_cand c;

	cand_of(dd, &c, LINKPLAN_DISCOVERED);
	linkplan_add(s->r[i].lp, &c, spread_abs(s));
}

/* After gossip_input or gossip_offer at relay i: note a descriptor it newly holds. */
static void after_input(struct spread *s, uint32_t i)
{
	const struct dcache_ent *e = s->dc.last;

	if (!e || !s->r[i].up)
		return;
	const struct dstore_desc *dd = e->dd;
	if (dstore_seq(gossip_store(s->r[i].g), dd->d.identity) != dd->d.seq)
		return;
	track_got(s, e, i);
	/* A relay never seen before is a link candidate (DISCOVERED). */
	if (s->dc.last_seq_before == 0)
		discovered(s, i, dd);
}

void srelay_offer_outside(struct spread *s, uint32_t i, const struct dstore_desc *dd)
{
	struct srelay *x = &s->r[i];
	struct dstore *st = gossip_store(x->g);
	uint64_t before = dstore_seq(st, dd->d.identity);

	/* As relayd's net_offer: to the store as from no link, so it goes out to every link. */
	s->dc.last = NULL;
	s->dc.cur_store = st;
	gossip_offer(x->g, GOSSIP_LINK_NONE, dd->bytes, dd->len, spread_abs(s));
	after_input(s, i);
	/* relayd's store watch makes a candidate of a replaced descriptor too (after_input only
	 * of a new identity); a duplicate of one held makes none. */
	if (before && before < dd->d.seq && dstore_seq(st, dd->d.identity) == dd->d.seq)
		discovered(s, i, dd);
}

static void link_up(struct spread *s, uint32_t i, uint32_t j)
{
	linkplan_link_up(s->r[i].lp, s->r[j].pk, spread_abs(s));
	gossip_link_up(s->r[i].g, j, spread_abs(s));
	/* relayd measures the RTT by HEARTBEAT; here the path's mean: delay plus 10 % jitter. */
	double rtt = 2.2 * world_base_delay_ms(&s->w, &s->w.nodes[i].at, &s->w.nodes[j].at);
	gossip_link_rtt(s->r[i].g, j, (uint32_t)rtt);
}

void srelay_handle(struct spread *s, const struct event *e)
{
	uint32_t i = e->dst, j = e->src;
	struct srelay *x = &s->r[i];
	uint64_t abs = spread_abs(s);

	if (!x->up) {
		if (e->kind == EV_MSG)
			smsg_free(s, e->p);
		else if (e->kind == EV_HELLO || e->kind == EV_DESC_RESP)
			dstore_desc_unref(e->p);
		return;
	}
	switch (e->kind) {
	case EV_TIMER:
		if (e->aux != x->timer_gen)
			return; /* superseded by an earlier one */
		x->timer_at = SPREAD_NEVER;
		gossip_tick(x->g, abs);
		decide(s, i);
		break;
	case EV_MSG: {
		struct smsg *m = e->p;
		linkplan_heard(x->lp, s->pk[j], abs);
		s->dc.last = NULL;
		s->dc.cur_store = gossip_store(x->g);
		gossip_input(x->g, j, m->b, m->len, abs);
		after_input(s, i);
		smsg_free(s, m);
		break;
	}
	case EV_HS_INIT:
		/* As relayd: the responder answers every initiation; the link becomes a relay
		 * link (or is refused for room) only at the initiator's HELLO. */
		send_link(s, i, j, EV_HS_RESP, PROTO_HS_RESP_LEN, NULL);
		break;
	case EV_HS_RESEND: {
		struct linkplan_info info;
		/* As relayd: an unanswered initiation (or HELLO) goes again every 5 s while the
		 * plan still wants the link; a resent initiation brings a response, then HELLO. */
		if (linkplan_get(x->lp, s->r[j].pk, abs, &info) < 0 ||
		    info.state != LINKPLAN_CONNECTING)
			return;
		send_link(s, i, j, EV_HS_INIT, PROTO_HS_INIT_LEN, NULL);
		srelay_push(s, s->now + SPREAD_HS_RESEND_MS, EV_HS_RESEND, i, j, 0, NULL);
		return;
	}
	case EV_HS_RESP: {
		struct linkplan_info info;
		int known = linkplan_get(x->lp, s->r[j].pk, abs, &info);
		if (known == 0 && info.state == LINKPLAN_UP)
			break; /* the answer to a resent initiation: the link is up already */
		if (known < 0 || info.state != LINKPLAN_CONNECTING) {
			/* We gave up on it meanwhile: tell the responder. */
			send_link(s, i, j, EV_CLOSE, SPREAD_CLOSE_LEN, NULL);
			break;
		}
		send_hello(s, i, j, false); /* up when the responder's HELLO comes back */
		break;
	}
	case EV_HELLO: {
		struct dstore_desc *dd = e->p;
		struct linkplan_info info;
		int known = linkplan_get(x->lp, s->r[j].pk, abs, &info);
		bool fresh = known < 0 || info.state != LINKPLAN_UP;
		if (fresh && e->aux && (known < 0 || info.state != LINKPLAN_CONNECTING)) {
			/* The answer to our HELLO on a link we gave up on (and sent CLOSE for), or
			 * whose CLOSE came first: as in relayd, no session is left to open it in. */
			dstore_desc_unref(dd);
			break;
		}
		if (fresh && (known < 0 || info.state != LINKPLAN_CONNECTING)) {
			/* Inbound: the initiator is a candidate from its HELLO; refused without room. */
			if (add_cand(s, i, j, LINKPLAN_DISCOVERED) < 0 &&
			    linkplan_get(x->lp, s->r[j].pk, abs, &info) < 0) {
				send_link(s, i, j, EV_CLOSE, SPREAD_CLOSE_LEN, NULL);
				dstore_desc_unref(dd);
				break;
			}
			send_hello(s, i, j, true); /* ours first, as relayd */
		}
		if (fresh)
			link_up(s, i, j);
		linkplan_heard(x->lp, s->pk[j], abs);
		s->dc.last = NULL;
		s->dc.cur_store = gossip_store(x->g);
		gossip_offer(x->g, j, dd->bytes, dd->len, abs);
		after_input(s, i);
		dstore_desc_unref(dd);
		if (fresh)
			decide(s, i);
		break;
	}
	case EV_CLOSE:
		linkplan_link_down(x->lp, s->r[j].pk, abs, LINKPLAN_CLOSED);
		gossip_link_down(x->g, j, abs);
		decide(s, i);
		break;
	case EV_HB: {
		struct linkplan_info info;
		/* As relayd: a link we closed has no session left to answer on, so a peer that
		 * missed our CLOSE times the link out (LinkTimeout) instead of holding it forever. */
		if (linkplan_get(x->lp, s->r[j].pk, abs, &info) < 0 || info.state != LINKPLAN_UP)
			break;
		linkplan_heard(x->lp, s->pk[j], abs);
		send_link(s, i, j, EV_HB_ACK, SPREAD_HB_LEN, NULL);
		break;
	}
	case EV_HB_ACK:
		linkplan_heard(x->lp, s->pk[j], abs);
		break;
	case EV_PUBLISH:
		if (e->aux == x->seq + 1)
			srelay_publish(s, i);
		return;
	case EV_DHT_ROUND:
	case EV_DHT_RESULT:
	case EV_DESC_REQ:
		sdht_handle(s, e);
		break;
	case EV_DESC_RESP:
		sdht_handle(s, e);
		decide(s, i); /* relayd's net_plan after a descriptor from the DHT */
		break;
	}
	/* relayd checks at every DHT tick (250 ms) whether its plan holds too few candidates. */
	sdht_check(s, i);
	srelay_pump(s, i);
	srelay_schedule(s, i);
}

void srelay_run(struct spread *s, uint32_t i)
{
	decide(s, i);
	sdht_check(s, i);
	srelay_pump(s, i);
	srelay_schedule(s, i);
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

	return linkplan_get(s->r[i].lp, s->r[j].pk, spread_abs(s), &info) == 0 &&
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
	if (add_cand(s, i, j, LINKPLAN_DISCOVERED) < 0 && !linked(s, i, j))
		return false;
	if (add_cand(s, j, i, LINKPLAN_DISCOVERED) < 0 && !linked(s, j, i))
		return false;
	link_up(s, i, j);
	link_up(s, j, i);
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
		linkplan_foreach(s->r[i].lp, spread_abs(s), conf_peer, &c);
		for (size_t k = 0; k < c.n; k++)
			converge_pair(s, deg, i, c.peers[k]);
	}
	for (uint32_t i = 0; i < s->n; i++)
		for (int tries = 0; deg[i] < LINKPLAN_DEF_MIN_LINKS && tries < 64; tries++)
			converge_pair(s, deg, i, (uint32_t)rng_below(&s->rng, s->n));
	free(deg);
}
