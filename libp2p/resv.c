/*
 * resv.c: the reservation and circuit table. Reservations sit on one list (for expiry and
 * connection close, both sweeps the tick or a close does, not the packet path) and on their
 * peer's list (for renewal and lookup, bounded by the per-peer limit). Peers and sources are
 * counted in two chained hash maps under a keyed hash (SipHash, random key), since their keys
 * (peer ids, addresses) are chosen by outsiders; a counter is freed when it reaches zero.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "p2pmsg.h"
#include "resv.h"

#define RESV_SRC_KEY 9 /* family tag, then 4 (IPv4) or 8 (IPv6 /64) address bytes */

/* The head of every map entry: its chain and its hash. */
struct resv_link {
	struct resv_link *next;
	uint64_t hash;
};

struct resv_peer {
	struct resv_link link; /* first: entries are found through it */
	struct peerid id;
	uint32_t nresv, ncirc;
	struct resv *resv; /* this peer's reservations */
};

struct resv_src {
	struct resv_link link;
	uint8_t key[RESV_SRC_KEY];
	uint32_t nresv;
};

struct resv {
	struct resv *prev, *next; /* all reservations */
	struct resv *peer_next;   /* the peer's */
	struct resv_peer *peer;
	struct resv_src *src;
	uint64_t conn_id;
	uint64_t expire_s;
	uint64_t seq; /* when made or renewed: the highest is the newest */
};

/* A chained map; the bucket count is a power of two, doubled while the load passes 1. */
struct resv_map {
	struct resv_link **b;
	size_t nb, n;
};

struct resv_table {
	struct resv_limits lim;
	struct resv *head;
	size_t nresv, ncirc;
	uint64_t seq;
	struct resv_map peers, srcs;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
};

#define RESV_MAP_MIN 16

static uint64_t resv_hash(const struct resv_table *t, const uint8_t *p, size_t n)
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v;

	crypto_shorthash(h, p, n, t->hkey);
	memcpy(&v, h, sizeof(v));
	return v;
}

static int resv_map_init(struct resv_map *m)
{
	m->b = calloc(RESV_MAP_MIN, sizeof(*m->b));
	m->nb = RESV_MAP_MIN;
	m->n = 0;
	return m->b ? 0 : -ENOMEM;
}

/* A failed grow leaves the map as it was: longer chains, still correct. */
static void resv_map_grow(struct resv_map *m)
{
	size_t nb = m->nb * 2, i;
	struct resv_link **b;

	if (m->n <= m->nb || nb > SIZE_MAX / sizeof(*b))
		return;
	b = calloc(nb, sizeof(*b));
	if (!b)
		return;
	for (i = 0; i < m->nb; i++) {
		struct resv_link *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			e->next = b[e->hash & (nb - 1)];
			b[e->hash & (nb - 1)] = e;
		}
	}
	free(m->b);
	m->b = b;
	m->nb = nb;
}

static void resv_map_add(struct resv_map *m, struct resv_link *e)
{
	struct resv_link **slot = &m->b[e->hash & (m->nb - 1)];

	e->next = *slot;
	*slot = e;
	m->n++;
	resv_map_grow(m);
}

static void resv_map_del(struct resv_map *m, struct resv_link *e)
{
	struct resv_link **pp = &m->b[e->hash & (m->nb - 1)];

	for (; *pp; pp = &(*pp)->next)
		if (*pp == e) {
			*pp = e->next;
			m->n--;
			return;
		}
}

static void resv_map_free(struct resv_map *m)
{
	size_t i;

	for (i = 0; m->b && i < m->nb; i++) {
		struct resv_link *e = m->b[i], *next;

		for (; e; e = next) {
			next = e->next;
			free(e);
		}
	}
	free(m->b);
	m->b = NULL;
	m->nb = m->n = 0;
}

static uint64_t resv_peer_hash(const struct resv_table *t, const struct peerid *id)
{
	size_t n = id->len <= PEERID_MAX ? id->len : PEERID_MAX;

	return resv_hash(t, id->b, n);
}

static struct resv_peer *resv_peer_find(const struct resv_table *t, const struct peerid *id)
{
	uint64_t h = resv_peer_hash(t, id);
	struct resv_link *e = t->peers.b[h & (t->peers.nb - 1)];

	for (; e; e = e->next) {
		struct resv_peer *p = (struct resv_peer *)e;

		if (e->hash == h && peerid_equal(&p->id, id))
			return p;
	}
	return NULL;
}

static struct resv_peer *resv_peer_get(struct resv_table *t, const struct peerid *id)
{
	struct resv_peer *p = resv_peer_find(t, id);

	if (p)
		return p;
	if (!(p = calloc(1, sizeof(*p))))
		return NULL;
	p->link.hash = resv_peer_hash(t, id);
	p->id = *id;
	resv_map_add(&t->peers, &p->link);
	return p;
}

static void resv_peer_put(struct resv_table *t, struct resv_peer *p)
{
	if (!p || p->nresv || p->ncirc)
		return;
	resv_map_del(&t->peers, &p->link);
	free(p);
}

/* The per-source key: an IPv4 address, or the /64 of an IPv6 one (what one subscriber gets). */
static void resv_src_key(const struct addr *a, uint8_t key[RESV_SRC_KEY])
{
	struct addr ip;

	memset(key, 0, RESV_SRC_KEY);
	if (!a || !a->len)
		return;
	ip = *a;
	addr_unmap(&ip);
	if (addr_family(&ip) == AF_INET) {
		key[0] = 4;
		memcpy(key + 1, &ip.in.sin_addr, 4);
	} else if (addr_family(&ip) == AF_INET6) {
		key[0] = 6;
		memcpy(key + 1, ip.in6.sin6_addr.s6_addr, 8);
	}
}

static struct resv_src *resv_src_get(struct resv_table *t, const uint8_t key[RESV_SRC_KEY],
                                     bool create)
{
	uint64_t h = resv_hash(t, key, RESV_SRC_KEY);
	struct resv_link *e = t->srcs.b[h & (t->srcs.nb - 1)];
	struct resv_src *s;

	for (; e; e = e->next) {
		s = (struct resv_src *)e;
		if (e->hash == h && !memcmp(s->key, key, RESV_SRC_KEY))
			return s;
	}
	if (!create || !(s = calloc(1, sizeof(*s))))
		return NULL;
	s->link.hash = h;
	memcpy(s->key, key, RESV_SRC_KEY);
	resv_map_add(&t->srcs, &s->link);
	return s;
}

static void resv_src_put(struct resv_table *t, struct resv_src *s)
{
	if (!s || s->nresv)
		return;
	resv_map_del(&t->srcs, &s->link);
	free(s);
}

struct resv_table *resv_new(const struct resv_limits *lim)
{
	struct resv_table *t;

	if (sodium_init() < 0 || !(t = calloc(1, sizeof(*t))))
		return NULL;
	t->lim = *lim;
	randombytes_buf(t->hkey, sizeof(t->hkey));
	if (resv_map_init(&t->peers) < 0 || resv_map_init(&t->srcs) < 0) {
		free(t->peers.b);
		free(t->srcs.b);
		free(t);
		return NULL;
	}
	return t;
}

void resv_free(struct resv_table *t)
{
	struct resv *r, *next;

	if (!t)
		return;
	for (r = t->head; r; r = next) {
		next = r->next;
		free(r);
	}
	resv_map_free(&t->peers);
	resv_map_free(&t->srcs);
	free(t);
}

void resv_set_limits(struct resv_table *t, const struct resv_limits *lim)
{
	t->lim = *lim;
}

const struct resv_limits *resv_limits(const struct resv_table *t)
{
	return &t->lim;
}

/* Unlink r from every list, drop its counts (freeing counters at zero) and free it. */
static void resv_remove(struct resv_table *t, struct resv *r)
{
	struct resv_peer *p = r->peer;
	struct resv **pp;

	for (pp = &p->resv; *pp; pp = &(*pp)->peer_next)
		if (*pp == r) {
			*pp = r->peer_next;
			break;
		}
	if (r->prev)
		r->prev->next = r->next;
	else
		t->head = r->next;
	if (r->next)
		r->next->prev = r->prev;
	t->nresv--;
	p->nresv--;
	r->src->nresv--;
	resv_peer_put(t, p);
	resv_src_put(t, r->src);
	free(r);
}

int resv_reserve(struct resv_table *t, const struct peerid *peer, uint64_t conn_id,
                 const struct addr *src, uint64_t now_s, uint64_t *expire_s, bool *renewed)
{
	uint8_t key[RESV_SRC_KEY];
	struct resv_peer *p = resv_peer_find(t, peer);
	struct resv_src *s;
	struct resv *r;

	*renewed = false;
	*expire_s = 0;
	for (r = p ? p->resv : NULL; r; r = r->peer_next)
		if (r->conn_id == conn_id) {
			/* One that lapsed but is not swept yet comes back as new, not renewed. */
			*renewed = r->expire_s > now_s;
			goto set;
		}
	if (t->nresv >= t->lim.max_resv || (p && p->nresv >= t->lim.max_resv_per_peer))
		return RS_RESERVATION_REFUSED;
	resv_src_key(src, key);
	s = resv_src_get(t, key, false);
	if (s && s->nresv >= t->lim.max_resv_per_source)
		return RS_RESERVATION_REFUSED;
	/* A limit of 0 refuses all, even before any counter exists. */
	if (!t->lim.max_resv_per_peer || !t->lim.max_resv_per_source)
		return RS_RESERVATION_REFUSED;

	if (!(r = calloc(1, sizeof(*r))))
		return RS_RESOURCE_LIMIT_EXCEEDED;
	if (!(p = resv_peer_get(t, peer)) || !(s = resv_src_get(t, key, true))) {
		resv_peer_put(t, p);
		free(r);
		return RS_RESOURCE_LIMIT_EXCEEDED;
	}
	r->peer = p;
	r->src = s;
	r->conn_id = conn_id;
	r->peer_next = p->resv;
	p->resv = r;
	r->next = t->head;
	if (t->head)
		t->head->prev = r;
	t->head = r;
	p->nresv++;
	s->nresv++;
	t->nresv++;
set:
	r->expire_s = now_s + t->lim.resv_ttl_s;
	if (r->expire_s < now_s)
		r->expire_s = UINT64_MAX;
	r->seq = ++t->seq;
	*expire_s = r->expire_s;
	return RS_OK;
}

int resv_lookup(const struct resv_table *t, const struct peerid *peer, uint64_t now_s,
                uint64_t *conn_id)
{
	struct resv_peer *p = resv_peer_find(t, peer);
	const struct resv *r, *best = NULL;

	for (r = p ? p->resv : NULL; r; r = r->peer_next)
		if (r->expire_s > now_s && (!best || r->seq > best->seq))
			best = r;
	if (!best)
		return -ENOENT;
	*conn_id = best->conn_id;
	return 0;
}

size_t resv_conn_gone(struct resv_table *t, uint64_t conn_id)
{
	struct resv *r, *next;
	size_t n = 0;

	for (r = t->head; r; r = next) {
		next = r->next;
		if (r->conn_id == conn_id) {
			resv_remove(t, r);
			n++;
		}
	}
	return n;
}

size_t resv_expire(struct resv_table *t, uint64_t now_s,
                   void (*cb)(void *arg, const struct peerid *peer), void *arg)
{
	struct resv *r, *next;
	size_t n = 0;

	for (r = t->head; r; r = next) {
		next = r->next;
		if (r->expire_s > now_s)
			continue;
		if (cb)
			cb(arg, &r->peer->id);
		resv_remove(t, r);
		n++;
	}
	return n;
}

int resv_circuit_begin(struct resv_table *t, const struct peerid *src, const struct peerid *dst)
{
	struct resv_peer *a, *b;
	uint32_t max = t->lim.max_circ_per_peer;

	if (t->ncirc >= t->lim.max_circ || !max)
		return RS_RESOURCE_LIMIT_EXCEEDED;
	if (!(a = resv_peer_get(t, src)))
		return RS_RESOURCE_LIMIT_EXCEEDED;
	if (!(b = resv_peer_get(t, dst))) {
		resv_peer_put(t, a);
		return RS_RESOURCE_LIMIT_EXCEEDED;
	}
	/* A peer relaying to itself takes two of its own slots. */
	if (a->ncirc >= max || b->ncirc >= max || (a == b && a->ncirc + 1 >= max)) {
		resv_peer_put(t, a);
		if (b != a)
			resv_peer_put(t, b);
		return RS_RESOURCE_LIMIT_EXCEEDED;
	}
	a->ncirc++;
	b->ncirc++;
	t->ncirc++;
	return RS_OK;
}

void resv_circuit_end(struct resv_table *t, const struct peerid *src, const struct peerid *dst)
{
	struct resv_peer *a = resv_peer_find(t, src), *b = resv_peer_find(t, dst);

	/* An end without its begin would underflow the counters: ignore it. */
	if (!a || !b || !a->ncirc || !b->ncirc || (a == b && a->ncirc < 2) || !t->ncirc)
		return;
	a->ncirc--;
	b->ncirc--;
	t->ncirc--;
	resv_peer_put(t, a);
	if (b != a)
		resv_peer_put(t, b);
}

size_t resv_count(const struct resv_table *t)
{
	return t->nresv;
}

size_t resv_circuits(const struct resv_table *t)
{
	return t->ncirc;
}

uint32_t resv_peer_circuits(const struct resv_table *t, const struct peerid *peer)
{
	const struct resv_peer *p = resv_peer_find(t, peer);

	return p ? p->ncirc : 0;
}
