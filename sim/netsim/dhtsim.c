/* dhtsim.c: scenario 3 (dhtsim.h), driving common/dht.c on the simulated network. */
#include "dhtsim.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "descriptor.h"
#include "dht.h"
#include "event.h"
#include "proto.h"
#include "rng.h"
#include "world.h"

#define DS_T0_MS       1767225600000ull /* 2026-01-01T00:00:00Z */
#define DS_PORT        6881
#define DS_IP_BASE     (45u << 24)
#define DS_TICK_MS     500
#define DS_BOOT_NODES  8
#define DS_JOIN_MS     30000 /* relays join the DHT over this long */
#define DS_PUB_AT_MS   60000 /* then announce and put over */
#define DS_PUB_LEN_MS  60000
#define DS_CLIENT_AT   180000 /* clients start one a second from here */
#define DS_LOOKUP_WAIT 5000   /* a client looks up this long after joining */
#define DS_REQ_TIMEOUT 1000   /* DESC_REQ unanswered: ask the next relay */
#define DS_END_PAD     60000
#define DS_SALT        "wgrelay-descriptor"

enum ds_ev {
	D_TICK = 1,
	D_PKT,
	D_BOOT,
	D_PUBLISH,
	D_LOOKUP,
	D_DESC_REQ,
	D_DESC_RESP,
	D_REQ_TIMEOUT,
	D_GET,
};

struct ds_pkt {
	uint16_t len;
	uint8_t b[];
};

struct ds_client {
	uint64_t start_ms, lookup_ms;
	struct addr peers[DHT_LK_PEERS];
	uint8_t state[DHT_LK_PEERS]; /* per peer: 0 not asked, 1 asked, 2 answered, 3 gave up */
	size_t npeers, next, got, asked;
	bool done;
};

struct ds;

struct ds_lk {
	struct ds *s;
	uint32_t node;
	uint8_t op;
	uint64_t seq; /* get: the seq of the descriptor fetched */
	uint64_t start_ms;
};

struct ds {
	const struct dhtsim_params *p;
	struct dhtsim_result *r;
	struct world w;
	struct event_queue *q;
	struct dht **node;
	struct rng *nrng;
	uint8_t (*sk)[64];
	uint8_t (*desc)[DESC_MAX_LEN];
	uint16_t *desc_len;
	struct ds_client *cl;
	struct ds_lk *lk;
	size_t n, n_lk, cap_lk;
	uint64_t now;
	uint8_t ih[DHT_ID_LEN];
	uint8_t buf[DHT_MAX_PKT];
};

static void node_rand(void *ctx, void *buf, size_t len)
{
	rng_bytes(ctx, buf, len);
}

static void addr_of(uint32_t i, struct addr *a)
{
	memset(a, 0, sizeof(*a));
	a->in.sin_family = AF_INET;
	a->in.sin_addr.s_addr = htonl(DS_IP_BASE + i + 1);
	a->in.sin_port = htons(DS_PORT);
	a->len = sizeof(struct sockaddr_in);
}

static int64_t index_of(const struct ds *s, const struct addr *a)
{
	if (addr_family(a) != AF_INET)
		return -1;
	uint32_t ip = ntohl(a->in.sin_addr.s_addr);
	if (ip <= DS_IP_BASE || ip - DS_IP_BASE - 1 >= s->n)
		return -1;
	return ip - DS_IP_BASE - 1;
}

static void push(struct ds *s, uint64_t at, uint32_t kind, uint32_t dst, uint32_t src, uint32_t aux,
                 void *p)
{
	struct event e = {.at = at, .kind = kind, .dst = dst, .src = src, .aux = aux, .p = p};

	if (event_push(s->q, &e) < 0)
		free(p);
}

/* A datagram of len bytes from a to b (b learns it came from a's address). */
static void send_dgram(struct ds *s, uint32_t a, uint32_t b, uint32_t kind, const void *data,
                       size_t len, uint32_t aux)
{
	uint64_t d;

	s->r->datagrams++;
	if (!world_send(&s->w, a, b, len, &d)) {
		s->r->lost++;
		return;
	}
	struct ds_pkt *pk = NULL;
	if (data) {
		pk = malloc(sizeof(*pk) + len);
		if (!pk)
			return;
		pk->len = (uint16_t)len;
		memcpy(pk->b, data, len);
	}
	push(s, s->now + d, kind, b, a, aux, pk);
}

static void flush(struct ds *s, uint32_t i)
{
	struct addr to;
	size_t len;

	while ((len = dht_next_output(s->node[i], s->buf, sizeof(s->buf), &to)) > 0) {
		int64_t j = index_of(s, &to);
		if (j >= 0)
			send_dgram(s, i, (uint32_t)j, D_PKT, s->buf, len, 0);
	}
}

static struct ds_lk *lk_new(struct ds *s, uint32_t node, uint8_t op, uint64_t seq)
{
	if (s->n_lk == s->cap_lk)
		return NULL;
	struct ds_lk *l = &s->lk[s->n_lk++];
	*l = (struct ds_lk){.s = s, .node = node, .op = op, .seq = seq, .start_ms = s->now};
	return l;
}

static void ask_next(struct ds *s, uint32_t c)
{
	struct ds_client *cl = &s->cl[c - s->p->relays];

	while (!cl->done && cl->asked + cl->got < s->p->want && cl->next < cl->npeers) {
		int64_t j = index_of(s, &cl->peers[cl->next++]);
		if (j < 0 || (size_t)j >= s->p->relays)
			continue;
		cl->asked++;
		cl->state[cl->next - 1] = 1;
		send_dgram(s, c, (uint32_t)j, D_DESC_REQ, NULL, PROTO_DESC_REQ_LEN, 0);
		push(s, s->now + DS_REQ_TIMEOUT, D_REQ_TIMEOUT, c, (uint32_t)j,
		     (uint32_t)(cl->next - 1), NULL);
	}
}

static void on_done(void *ctx, const struct dht_result *res)
{
	struct ds_lk *l = ctx;
	struct ds *s = l->s;
	double secs = (double)(s->now - l->start_ms) / 1000.0;

	switch (res->op) {
	case DHT_OP_ANNOUNCE:
		s->r->announce_ok += res->status == 0 && res->stored > 0;
		break;
	case DHT_OP_PUT:
		s->r->put_ok += res->status == 0 && res->stored > 0;
		break;
	case DHT_OP_GET_PEERS: {
		struct ds_client *cl = &s->cl[l->node - s->p->relays];
		stats_add(&s->r->lookup_s, secs);
		stats_add(&s->r->peers, (double)res->npeers);
		s->r->found_all += res->status == 0 && res->npeers >= s->p->want;
		cl->npeers = res->npeers < DHT_LK_PEERS ? res->npeers : DHT_LK_PEERS;
		memcpy(cl->peers, res->peers, cl->npeers * sizeof(*res->peers));
		cl->lookup_ms = l->start_ms;
		/* Not from inside the DHT's callback: the client acts in its own event. */
		push(s, s->now, D_GET, l->node, l->node, UINT32_MAX, NULL);
		break;
	}
	case DHT_OP_GET:
		stats_add(&s->r->item_s, secs);
		if (res->status == 0 && res->item) {
			s->r->items_ok++;
			s->r->items_seq_ok += (uint64_t)res->item->seq == l->seq;
		}
		break;
	default:
		break;
	}
}

static void start(struct ds *s, uint32_t node, uint8_t op, uint64_t seq, const uint8_t *key)
{
	struct ds_lk *l = lk_new(s, node, op, seq);
	int r = -ENOMEM;

	if (!l)
		return;
	uint64_t abs = DS_T0_MS + s->now;
	switch (op) {
	case DHT_OP_ANNOUNCE:
		r = dht_announce(s->node[node], s->ih, DS_PORT, abs, on_done, l);
		break;
	case DHT_OP_GET_PEERS:
		r = dht_get_peers(s->node[node], s->ih, abs, on_done, l);
		break;
	case DHT_OP_GET:
		s->r->items_tried++;
		r = dht_get(s->node[node], key, (const uint8_t *)DS_SALT, strlen(DS_SALT), abs,
		            on_done, l);
		break;
	}
	if (r < 0 && op == DHT_OP_GET)
		s->r->items_unstarted++;
	if (r < 0 && op == DHT_OP_GET_PEERS)
		stats_add(&s->r->peers, 0); /* no node known: the client found nothing */
	flush(s, node);
}

static void publish(struct ds *s, uint32_t i)
{
	struct dht_item it;
	struct descriptor d;
	struct ds_lk *l;

	start(s, i, DHT_OP_ANNOUNCE, 0, NULL);
	if (desc_decode(s->desc[i], s->desc_len[i], &d) < 0)
		return;
	memset(&it, 0, sizeof(it));
	it.has_k = true;
	memcpy(it.salt, DS_SALT, strlen(DS_SALT));
	it.salt_len = strlen(DS_SALT);
	it.seq = (int64_t)d.seq;
	if (dht_item_set_string(&it, s->desc[i], s->desc_len[i]) < 0 ||
	    dht_item_sign(&it, s->sk[i]) < 0)
		return;
	l = lk_new(s, i, DHT_OP_PUT, d.seq);
	if (l)
		dht_put(s->node[i], &it, DHT_NO_CAS, DS_T0_MS + s->now, on_done, l);
	flush(s, i);
}

/* The relay a DESC_RESP came from: which of the client's peers it was. */
static int peer_slot(const struct ds_client *cl, const struct ds *s, uint32_t relay)
{
	for (size_t k = 0; k < cl->npeers; k++)
		if (index_of(s, &cl->peers[k]) == (int64_t)relay)
			return (int)k;
	return -1;
}

static void client_event(struct ds *s, const struct event *e)
{
	uint32_t c = e->dst;
	struct ds_client *cl = &s->cl[c - s->p->relays];
	struct ds_pkt *pk = e->p;

	switch (e->kind) {
	case D_LOOKUP:
		cl->start_ms = s->now;
		start(s, c, DHT_OP_GET_PEERS, 0, NULL);
		break;
	case D_GET: /* the lookup finished: ask relays for their descriptors */
		ask_next(s, c);
		break;
	case D_DESC_RESP: {
		struct descriptor d;
		int k = peer_slot(cl, s, e->src);
		if (k < 0 || cl->state[k] != 1 || !pk || pk->len < PROTO_HDR_LEN)
			break;
		cl->state[k] = 2;
		cl->asked--;
		/* The real decoder and signature check: a client trusts nothing unverified. */
		if (desc_decode(pk->b + PROTO_HDR_LEN, pk->len - PROTO_HDR_LEN, &d) < 0)
			break;
		cl->got++;
		if (cl->got == s->p->want && !cl->done) {
			cl->done = true;
			stats_add(&s->r->total_s, (double)(s->now - cl->start_ms) / 1000.0);
		}
		/* And the relay's BEP 44 item, now that its identity is known. */
		start(s, c, DHT_OP_GET, d.seq, d.identity);
		ask_next(s, c);
		break;
	}
	case D_REQ_TIMEOUT:
		if (e->aux < DHT_LK_PEERS && cl->state[e->aux] == 1) {
			cl->state[e->aux] = 3;
			cl->asked--;
			ask_next(s, c);
		}
		break;
	}
	free(pk);
}

static void node_event(struct ds *s, const struct event *e)
{
	uint32_t i = e->dst;
	struct ds_pkt *pk = e->p;
	uint64_t abs = DS_T0_MS + s->now;

	switch (e->kind) {
	case D_TICK:
		dht_tick(s->node[i], abs);
		push(s, s->now + DS_TICK_MS, D_TICK, i, i, 0, NULL);
		break;
	case D_PKT: {
		struct addr from;
		addr_of(e->src, &from);
		dht_input(s->node[i], pk->b, pk->len, &from, abs);
		break;
	}
	case D_BOOT: {
		struct addr boot[DS_BOOT_NODES];
		size_t nb = 0;
		for (size_t k = 0; k < DS_BOOT_NODES; k++) {
			uint32_t j = (uint32_t)rng_below(&s->nrng[i], s->p->relays);
			if (j != i)
				addr_of(j, &boot[nb++]);
		}
		dht_bootstrap(s->node[i], boot, nb, abs);
		break;
	}
	case D_PUBLISH:
		publish(s, i);
		break;
	case D_DESC_REQ: {
		/* DESC_RESP: header + the relay's own descriptor (§10.1). */
		uint8_t out[PROTO_HDR_LEN + DESC_MAX_LEN] = {PROTO_MAGIC, PROTO_DESC_RESP};
		memcpy(out + PROTO_HDR_LEN, s->desc[i], s->desc_len[i]);
		send_dgram(s, i, e->src, D_DESC_RESP, out, PROTO_HDR_LEN + s->desc_len[i], 0);
		break;
	}
	}
	free(pk);
	flush(s, i);
}

/* Relay i's identity and signed descriptor. */
static int make_relay(struct ds *s, uint32_t i)
{
	uint8_t seed[32], pk[32];
	struct descriptor d;

	rng_bytes(&s->nrng[i], seed, 32);
	crypto_sign_seed_keypair(pk, s->sk[i], seed);
	memset(&d, 0, sizeof(d));
	memcpy(d.identity, pk, 32);
	rng_bytes(&s->nrng[i], d.noise, 32);
	d.seq = 1 + rng_below(&s->nrng[i], 1000);
	d.issued_at = DS_T0_MS / 1000 - 3600;
	d.expires_at = d.issued_at + 12 * 3600;
	d.modes = DESC_MODE_DIRECT;
	d.auth = DESC_AUTH_OPEN;
	d.max_circuits = 1000;
	snprintf(d.version, sizeof(d.version), "0.2.0");
	d.n_endpoints = 1;
	d.endpoints[0].transport = DESC_T_UDP;
	addr_of(i, &d.endpoints[0].addr);
	addr_set_port(&d.endpoints[0].addr, 51821);
	int len = desc_sign(&d, s->sk[i], s->desc[i], DESC_MAX_LEN);
	if (len < 0)
		return len;
	s->desc_len[i] = (uint16_t)len;
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int dhtsim_run(const struct dhtsim_params *p, const char *dir, struct dhtsim_result *r)
{
	struct ds s = {.p = p, .r = r};
	struct world_params wp = {
	    .loss = p->loss, .access_ms = 5, .jitter_frac = 0.1, .seed = p->seed ^ 0x646874ull};
	struct dht_config cfg;
	double t0 = now_s();
	int ret = -ENOMEM;

	(void)dir;
	memset(r, 0, sizeof(*r));
	if (p->relays < 2 || p->want == 0 || p->want > DHT_LK_PEERS)
		return -EINVAL;
	s.n = p->relays + p->clients;
	stats_init(&r->peers, p->clients + 1);
	stats_init(&r->lookup_s, p->clients + 1);
	stats_init(&r->item_s, p->clients * DHT_LK_PEERS + 1);
	stats_init(&r->total_s, p->clients + 1);
	s.node = calloc(s.n, sizeof(*s.node));
	s.nrng = calloc(s.n, sizeof(*s.nrng));
	s.sk = calloc(p->relays, sizeof(*s.sk));
	s.desc = calloc(p->relays, sizeof(*s.desc));
	s.desc_len = calloc(p->relays, sizeof(*s.desc_len));
	s.cl = calloc(p->clients + 1, sizeof(*s.cl));
	s.cap_lk = 2 * p->relays + p->clients * (1 + DHT_LK_PEERS);
	s.lk = calloc(s.cap_lk, sizeof(*s.lk));
	if (!s.node || !s.nrng || !s.sk || !s.desc || !s.desc_len || !s.cl || !s.lk)
		goto out;
	if ((ret = world_init(&s.w, &wp, s.n)) < 0 ||
	    (ret = event_queue_new(&s.q, 20u * 1000 * 1000)) < 0)
		goto out;
	dht_infohash_day(s.ih, (int64_t)(DS_T0_MS / 1000 / 86400));
	dht_config_default(&cfg);
	/* Enough for every relay's announce and item near the infohash and the relay keys. */
	cfg.rand = node_rand;
	ret = -ENOMEM;
	for (uint32_t i = 0; i < s.n; i++) {
		uint8_t id[DHT_ID_LEN];
		world_add(&s.w);
		rng_seed(&s.nrng[i], p->seed, 0x6468746e6f6465ull << 8 ^ i);
		rng_bytes(&s.nrng[i], id, sizeof(id));
		cfg.rand_ctx = &s.nrng[i];
		s.node[i] = dht_new(id, &cfg);
		if (!s.node[i])
			goto out;
		if (i < p->relays && make_relay(&s, i) < 0)
			goto out;
		struct rng *nr = &s.nrng[i];
		if (i < p->relays) {
			push(&s, rng_below(nr, DS_JOIN_MS), D_BOOT, i, i, 0, NULL);
			push(&s, DS_PUB_AT_MS + rng_below(nr, DS_PUB_LEN_MS), D_PUBLISH, i, i, 0,
			     NULL);
		} else {
			uint64_t at = DS_CLIENT_AT + (uint64_t)(i - p->relays) * 1000;
			push(&s, at, D_BOOT, i, i, 0, NULL);
			push(&s, at + DS_LOOKUP_WAIT, D_LOOKUP, i, i, 0, NULL);
		}
		push(&s, rng_below(nr, DS_TICK_MS), D_TICK, i, i, 0, NULL);
	}
	r->clients = p->clients;
	uint64_t end = DS_CLIENT_AT + p->clients * 1000 + DS_LOOKUP_WAIT + DS_END_PAD;
	struct event e;
	while (event_pop(s.q, &e) == 0) {
		if (e.at >= end) {
			free(e.p);
			continue;
		}
		s.now = e.at;
		if (e.dst >= p->relays && (e.kind == D_LOOKUP || e.kind == D_GET ||
		                           e.kind == D_DESC_RESP || e.kind == D_REQ_TIMEOUT))
			client_event(&s, &e);
		else
			node_event(&s, &e);
	}
	ret = 0;
out:
	for (size_t i = 0; s.node && i < s.n; i++)
		dht_free(s.node[i]);
	free(s.node);
	free(s.nrng);
	if (s.sk)
		sodium_memzero(s.sk, p->relays * sizeof(*s.sk));
	free(s.sk);
	free(s.desc);
	free(s.desc_len);
	free(s.cl);
	free(s.lk);
	world_free(&s.w);
	event_queue_free(s.q);
	r->wall_s = now_s() - t0;
	return ret;
}

void dhtsim_result_free(struct dhtsim_result *r)
{
	stats_free(&r->peers);
	stats_free(&r->lookup_s);
	stats_free(&r->item_s);
	stats_free(&r->total_s);
}
