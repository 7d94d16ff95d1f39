/*
 * dht.c: the DHT node's plumbing (datagrams in and out, write tokens, timers) and the server
 * side: answering BEP 5 and BEP 44 queries within the bounds of struct dht_config.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "dht_int.h"
#include "ratelimit.h"
#include "sha1.h"

struct dht_outpkt {
	struct addr to;
	size_t len;
	uint8_t *p;
};

void dht_config_default(struct dht_config *cfg)
{
	*cfg = (struct dht_config){
	    .max_items = 1024,
	    .max_peers = 4096,
	    .max_peers_per_hash = 256,
	    .max_per_source = 64,
	    .query_rate = 20,
	    .query_burst = 60,
	    .out_queue = 256,
	    .query_timeout_ms = 2000,
	};
}

static void dht_default_rand(void *ctx, void *buf, size_t len)
{
	(void)ctx;
	randombytes_buf(buf, len);
}

void dht_rand(struct dht *d, void *buf, size_t len)
{
	d->cfg.rand(d->cfg.rand_ctx, buf, len);
}

struct dht *dht_new(const uint8_t id[DHT_ID_LEN], const struct dht_config *cfg)
{
	struct dht *d = calloc(1, sizeof(*d));

	if (!d)
		return NULL;
	if (cfg)
		d->cfg = *cfg;
	else
		dht_config_default(&d->cfg);
	if (!d->cfg.rand)
		d->cfg.rand = dht_default_rand;
	if (!d->cfg.out_queue)
		d->cfg.out_queue = 1;
	memcpy(d->id, id, DHT_ID_LEN);
	d->peers = calloc(d->cfg.max_peers ? d->cfg.max_peers : 1, sizeof(*d->peers));
	d->items = calloc(d->cfg.max_items ? d->cfg.max_items : 1, sizeof(*d->items));
	d->out = calloc(d->cfg.out_queue, sizeof(*d->out));
	if (!d->peers || !d->items || !d->out ||
	    ratelimit_new(&d->rl, 4096, d->cfg.query_rate, d->cfg.query_burst) < 0) {
		dht_free(d);
		return NULL;
	}
	dht_rand(d, d->secret, sizeof(d->secret));
	dht_rand(d, d->tid_key, sizeof(d->tid_key));
	return d;
}

void dht_free(struct dht *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < DHT_MAX_LOOKUP; i++)
		free(d->lk[i]);
	for (size_t i = 0; i < d->nitems; i++)
		free(d->items[i]);
	for (size_t i = 0; d->out && i < d->out_n; i++)
		free(d->out[(d->out_head + i) % d->cfg.out_queue].p);
	ratelimit_free(d->rl);
	free(d->peers);
	free(d->items);
	free(d->out);
	sodium_memzero(d->secret, sizeof(d->secret));
	free(d);
}

int dht_xor_cmp(const uint8_t target[DHT_ID_LEN], const uint8_t a[DHT_ID_LEN],
                const uint8_t b[DHT_ID_LEN])
{
	for (size_t i = 0; i < DHT_ID_LEN; i++) {
		uint8_t x = target[i] ^ a[i], y = target[i] ^ b[i];

		if (x != y)
			return x < y ? -1 : 1;
	}
	return 0;
}

void dht_send(struct dht *d, const struct addr *to, const struct krpc *m)
{
	struct dht_outpkt *o;
	struct wbuf w;

	wbuf_init(&w, d->pkt, sizeof(d->pkt));
	if (dht_msg_encode(&w, m) < 0 || d->out_n == d->cfg.out_queue) {
		d->st.drop_queue_full++;
		return;
	}
	o = &d->out[(d->out_head + d->out_n) % d->cfg.out_queue];
	if (!(o->p = malloc(w.pos))) {
		d->st.drop_queue_full++;
		return;
	}
	memcpy(o->p, d->pkt, w.pos);
	o->len = w.pos;
	o->to = *to;
	d->out_n++;
}

void dht_send_query(struct dht *d, const struct addr *to, uint8_t slot, uint32_t nonce,
                    struct krpc *m)
{
	uint8_t tid[DHT_TID_LEN] = {slot, (uint8_t)(nonce >> 16), (uint8_t)(nonce >> 8),
	                            (uint8_t)nonce};

	m->y = 'q';
	m->t = (struct krpc_str){tid, sizeof(tid)};
	m->id = (struct krpc_str){d->id, DHT_ID_LEN};
	dht_send(d, to, m);
}

size_t dht_next_output(struct dht *d, uint8_t *buf, size_t cap, struct addr *to)
{
	while (d->out_n) {
		struct dht_outpkt *o = &d->out[d->out_head];
		size_t len = o->len;

		d->out_head = (d->out_head + 1) % d->cfg.out_queue;
		d->out_n--;
		if (len <= cap) {
			memcpy(buf, o->p, len);
			*to = o->to;
		} else {
			d->st.drop_queue_full++;
			len = 0;
		}
		free(o->p);
		d->st.tx += len != 0;
		if (len)
			return len;
	}
	return 0;
}

/* BEP 5 write token: a keyed hash of the querier's IP address under a rotating secret. */
static void dht_token(const struct dht *d, int which, const struct addr *a,
                      uint8_t out[DHT_TOKEN_LEN])
{
	uint8_t h[16];

	crypto_generichash(h, sizeof(h), (const uint8_t *)&a->in.sin_addr, 4, d->secret[which],
	                   sizeof(d->secret[which]));
	memcpy(out, h, DHT_TOKEN_LEN);
}

static bool dht_token_ok(const struct dht *d, const struct krpc *m, const struct addr *a)
{
	uint8_t t[DHT_TOKEN_LEN];

	if (!m->token.p || m->token.len != DHT_TOKEN_LEN)
		return false;
	for (int i = 0; i < 2; i++) {
		dht_token(d, i, a, t);
		if (sodium_memcmp(t, m->token.p, DHT_TOKEN_LEN) == 0)
			return true;
	}
	return false;
}

static int dht_refuse(uint64_t *counter, int code)
{
	(*counter)++;
	return code;
}

/* announce_peer: 0 or a KRPC error code. */
static int dht_q_announce(struct dht *d, const struct krpc *m, const struct addr *from,
                          uint64_t now)
{
	struct addr peer = *from;
	int r;

	if (!m->info_hash.p || m->info_hash.len != DHT_ID_LEN ||
	    (!m->implied_port && (!m->has_port || m->port < 1 || m->port > 65535)))
		return dht_refuse(&d->st.refuse_args, 203);
	if (!dht_token_ok(d, m, from))
		return dht_refuse(&d->st.refuse_token, 203);
	if (!m->implied_port)
		addr_set_port(&peer, (uint16_t)m->port);
	r = dht_store_add_peer(d, m->info_hash.p, &peer, now);
	if (r == -EDQUOT)
		return dht_refuse(&d->st.refuse_source_cap, 202);
	/* a full infohash or store is not the announcer's error: it still gets its answer */
	if (r == -ENOSPC)
		d->st.refuse_hash_full++;
	return 0;
}

/* put: 0 or a KRPC error code (BEP 44 "Errors"). */
static int dht_q_put(struct dht *d, const struct krpc *m, const struct addr *from, uint64_t now)
{
	struct dht_item it;

	if (!m->v.p)
		return dht_refuse(&d->st.refuse_args, 203);
	if (m->v.len > DHT_V_MAX)
		return dht_refuse(&d->st.refuse_v_size, 205);
	if (!dht_token_ok(d, m, from))
		return dht_refuse(&d->st.refuse_token, 203);
	memset(&it, 0, sizeof(it));
	memcpy(it.v, m->v.p, m->v.len);
	it.v_len = m->v.len;
	if (m->k.p) {
		if (m->salt.len > DHT_SALT_MAX)
			return dht_refuse(&d->st.refuse_salt_size, 207);
		if (m->k.len != 32 || !m->sig.p || m->sig.len != 64 || !m->has_seq || m->seq < 0)
			return dht_refuse(&d->st.refuse_args, 203);
		it.has_k = true;
		memcpy(it.k, m->k.p, 32);
		memcpy(it.sig, m->sig.p, 64);
		if (m->salt.len)
			memcpy(it.salt, m->salt.p, m->salt.len);
		it.salt_len = m->salt.len;
		it.seq = m->seq;
		if (dht_item_verify(&it) < 0)
			return dht_refuse(&d->st.refuse_sig, 206);
	}
	return dht_store_put(d, &it, m->has_cas ? m->cas : DHT_NO_CAS, from, now);
}

static void dht_query(struct dht *d, const struct krpc *m, const struct addr *from, uint64_t now)
{
	struct krpc r = {.y = 'r', .t = m->t, .id = {d->id, DHT_ID_LEN}};
	struct dht_node *close[DHT_K];
	uint8_t nodes[DHT_K * 26], token[DHT_TOKEN_LEN], vals[DHT_MAX_VALUES][6];
	const uint8_t *target = m->q == KRPC_GET_PEERS ? m->info_hash.p : m->target.p;
	size_t tlen = m->q == KRPC_GET_PEERS ? m->info_hash.len : m->target.len;
	struct dht_stored *s;
	int err = 0;

	dht_rt_heard(d, m->id.p, from, false, now);
	switch (m->q) {
	case KRPC_PING:
		d->st.q_ping++;
		break;
	case KRPC_FIND_NODE:
	case KRPC_GET_PEERS:
	case KRPC_GET:
		d->st.q_find_node += m->q == KRPC_FIND_NODE;
		d->st.q_get_peers += m->q == KRPC_GET_PEERS;
		d->st.q_get += m->q == KRPC_GET;
		if (!target || tlen != DHT_ID_LEN) {
			err = dht_refuse(&d->st.refuse_args, 203);
			break;
		}
		r.nodes.p = nodes;
		r.nodes.len = 26 * dht_rt_closest(d, target, close, DHT_K);
		for (size_t i = 0; i < r.nodes.len / 26; i++) {
			memcpy(nodes + 26 * i, close[i]->id, DHT_ID_LEN);
			dht_msg_compact_put(nodes + 26 * i + DHT_ID_LEN, &close[i]->addr);
		}
		if (m->q == KRPC_FIND_NODE)
			break;
		dht_token(d, 0, from, token);
		r.token = (struct krpc_str){token, sizeof(token)};
		if (m->q == KRPC_GET_PEERS) {
			r.nvalues = dht_store_get_peers(d, target, vals, DHT_MAX_VALUES);
			for (size_t i = 0; i < r.nvalues; i++)
				r.values[i] = vals[i];
		} else if ((s = dht_store_find(d, target))) {
			/* BEP 44: with seq, send the value only when ours is newer */
			r.has_seq = s->it.has_k;
			r.seq = s->it.seq;
			if (!s->it.has_k || !m->has_seq || m->seq < s->it.seq) {
				r.v = (struct krpc_str){s->it.v, s->it.v_len};
				if (s->it.has_k) {
					r.k = (struct krpc_str){s->it.k, 32};
					r.sig = (struct krpc_str){s->it.sig, 64};
				}
			}
		}
		break;
	case KRPC_ANNOUNCE:
		d->st.q_announce++;
		err = dht_q_announce(d, m, from, now);
		break;
	case KRPC_PUT:
		d->st.q_put++;
		err = dht_q_put(d, m, from, now);
		break;
	default:
		d->st.q_unknown++;
		err = 204;
		break;
	}
	if (err) {
		r = (struct krpc){.y = 'e', .t = m->t, .ecode = err};
		r.emsg.p = (const uint8_t *)(err == 204 ? "method unknown" : "refused");
		r.emsg.len = strlen((const char *)r.emsg.p);
	}
	dht_send(d, from, &r);
}

int dht_input(struct dht *d, const uint8_t *pkt, size_t len, const struct addr *from, uint64_t now)
{
	struct krpc m;
	int r;

	d->st.rx++;
	if (addr_family(from) != AF_INET) {
		d->st.drop_family++;
		return -EAFNOSUPPORT;
	}
	if (len > DHT_MAX_PKT) {
		d->st.drop_size++;
		return -EMSGSIZE;
	}
	/* before parsing, so a flood costs a table lookup a datagram */
	if (!ratelimit_allow(d->rl, from, now)) {
		d->st.drop_ratelimit++;
		return -EBUSY;
	}
	r = dht_msg_parse(&m, pkt, len, d->tok, DHT_MAX_TOK);
	if (r == -EBADMSG) {
		d->st.drop_decode++;
		return r;
	}
	if (r < 0) {
		d->st.drop_krpc++;
		if (m.y == 'q' && m.t.p) {
			struct krpc e = {.y = 'e', .t = m.t, .ecode = 203};

			e.emsg = (struct krpc_str){(const uint8_t *)"bad message", 11};
			dht_send(d, from, &e);
		}
		return r;
	}
	if (m.y == 'q') {
		dht_query(d, &m, from, now);
		return 0;
	}
	if ((m.id.p && memcmp(m.id.p, d->id, DHT_ID_LEN) == 0) || m.t.len != DHT_TID_LEN) {
		d->st.drop_unmatched++;
		return -ENOENT;
	}
	if (m.t.p[0] == DHT_SLOT_RT)
		dht_rt_pong(d, &m, from, now);
	else if (m.t.p[0] < DHT_MAX_LOOKUP && d->lk[m.t.p[0]])
		dht_lookup_response(d, d->lk[m.t.p[0]], &m, from, now);
	else
		d->st.drop_unmatched++;
	return 0;
}

static void dht_self_lookup(struct dht *d, uint64_t now)
{
	struct dht_lookup *l;

	d->boot_at = now;
	if (dht_lookup_start(d, DHT_OP_FIND_NODE, d->id, &l, now) == 0)
		dht_lookup_step(d, l, now);
}

/* Is a among the bootstrap addresses already? */
static bool dht_boot_known(const struct dht *d, const struct addr *a)
{
	for (size_t i = 0; i < d->nboot; i++)
		if (addr_equal(&d->boot[i], a))
			return true;
	return false;
}

int dht_bootstrap(struct dht *d, const struct addr *nodes, size_t n, uint64_t now)
{
	/* Once each: a caller that retries with the same nodes must not fill the list with
	 * copies and so shut out a node it adds later. */
	for (size_t i = 0; i < n && d->nboot < DHT_MAX_BOOT; i++)
		if (addr_family(&nodes[i]) == AF_INET && !dht_boot_known(d, &nodes[i]))
			d->boot[d->nboot++] = nodes[i];
	if (!d->nboot)
		return -EINVAL;
	dht_self_lookup(d, now);
	return 0;
}

void dht_tick(struct dht *d, uint64_t now)
{
	if (now - d->secret_at >= DHT_SECRET_MS) {
		memcpy(d->secret[1], d->secret[0], sizeof(d->secret[0]));
		dht_rand(d, d->secret[0], sizeof(d->secret[0]));
		d->secret_at = now;
	}
	dht_lookup_tick(d, now);
	dht_rt_tick(d, now);
	if (now >= d->expire_at) {
		dht_store_expire(d, now);
		d->expire_at = now + 60 * 1000;
	}
	if (d->nboot && dht_rt_count(d) < DHT_K && now - d->boot_at >= DHT_BOOT_RETRY)
		dht_self_lookup(d, now);
	d->st.nodes = dht_rt_count(d);
	d->st.items = d->nitems;
	d->st.peers = d->npeers;
}

static int dht_start(struct dht *d, enum dht_op op, const uint8_t target[DHT_ID_LEN], uint64_t now,
                     dht_done_fn cb, void *ctx, struct dht_lookup **out)
{
	int r = dht_lookup_start(d, op, target, out, now);

	if (r == 0) {
		(*out)->cb = cb;
		(*out)->ctx = ctx;
	}
	return r;
}

int dht_find_node(struct dht *d, const uint8_t target[DHT_ID_LEN], uint64_t now, dht_done_fn cb,
                  void *ctx)
{
	struct dht_lookup *l;
	int r = dht_start(d, DHT_OP_FIND_NODE, target, now, cb, ctx, &l);

	if (r == 0)
		dht_lookup_step(d, l, now);
	return r;
}

int dht_get_peers(struct dht *d, const uint8_t ih[DHT_ID_LEN], uint64_t now, dht_done_fn cb,
                  void *ctx)
{
	struct dht_lookup *l;
	int r = dht_start(d, DHT_OP_GET_PEERS, ih, now, cb, ctx, &l);

	if (r == 0)
		dht_lookup_step(d, l, now);
	return r;
}

int dht_announce(struct dht *d, const uint8_t ih[DHT_ID_LEN], uint16_t port, uint64_t now,
                 dht_done_fn cb, void *ctx)
{
	struct dht_lookup *l;
	int r = dht_start(d, DHT_OP_ANNOUNCE, ih, now, cb, ctx, &l);

	if (r == 0) {
		l->port = port;
		dht_lookup_step(d, l, now);
	}
	return r;
}

/* What we store ourselves counts for a get: in a small DHT we may be one of the K closest. The
 * item was verified when stored. */
static void dht_get_local(struct dht *d, struct dht_lookup *l)
{
	struct dht_stored *s = dht_store_find(d, l->target);

	if (s && s->it.has_k == l->item.has_k) {
		l->item = s->it;
		l->have_item = true;
	}
}

int dht_get(struct dht *d, const uint8_t k[32], const uint8_t *salt, size_t salt_len, uint64_t now,
            dht_done_fn cb, void *ctx)
{
	struct dht_item key = {.has_k = true, .salt_len = salt_len};
	uint8_t target[DHT_ID_LEN];
	struct dht_lookup *l;
	int r;

	if (salt_len > DHT_SALT_MAX)
		return -EINVAL;
	memcpy(key.k, k, 32);
	if (salt_len)
		memcpy(key.salt, salt, salt_len);
	dht_item_target(&key, target);
	if ((r = dht_start(d, DHT_OP_GET, target, now, cb, ctx, &l)) == 0) {
		memcpy(&l->item, &key, sizeof(key));
		dht_get_local(d, l);
		dht_lookup_step(d, l, now);
	}
	return r;
}

int dht_get_immutable(struct dht *d, const uint8_t target[DHT_ID_LEN], uint64_t now, dht_done_fn cb,
                      void *ctx)
{
	struct dht_lookup *l;
	int r = dht_start(d, DHT_OP_GET, target, now, cb, ctx, &l);

	if (r == 0) {
		dht_get_local(d, l);
		dht_lookup_step(d, l, now);
	}
	return r;
}

int dht_put(struct dht *d, const struct dht_item *it, int64_t cas, uint64_t now, dht_done_fn cb,
            void *ctx)
{
	uint8_t target[DHT_ID_LEN];
	struct dht_lookup *l;
	int r;

	if (it->v_len == 0 || it->v_len > DHT_V_MAX || it->salt_len > DHT_SALT_MAX ||
	    (it->has_k && it->seq < 0))
		return -EINVAL;
	dht_item_target(it, target);
	if ((r = dht_start(d, DHT_OP_PUT, target, now, cb, ctx, &l)) == 0) {
		l->item = *it;
		l->cas = cas;
		dht_lookup_step(d, l, now);
	}
	return r;
}

const struct dht_stats *dht_get_stats(const struct dht *d)
{
	return &d->st;
}

size_t dht_node_count(const struct dht *d)
{
	return dht_rt_count(d);
}

void dht_infohash_day(uint8_t out[DHT_ID_LEN], int64_t unix_day)
{
	time_t t = (time_t)(unix_day * 86400);
	char s[40];
	struct tm tm;
	int n;

	gmtime_r(&t, &tm);
	n = snprintf(s, sizeof(s), "wgrelay v1 %04d-%02d-%02d", tm.tm_year + 1900, tm.tm_mon + 1,
	             tm.tm_mday);
	sha1(out, s, (size_t)n);
}
