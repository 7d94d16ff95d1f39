/*
 * dht_lookup.c: our own iterative lookups (Kademlia as BEP 5 describes it): ask the DHT_ALPHA
 * closest unasked candidates at a time until the DHT_K closest that still answer have all
 * answered; then, to announce or put, send the store to those K with the tokens they gave.
 * Answers are matched by transaction nonce and source address.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dht_int.h"
#include "sha1.h"

/* Does a node with id (NULL: unknown yet) go before candidate c? Unknown ids go last. */
static bool dht_lookup_before(const struct dht_lookup *l, const uint8_t *id,
                              const struct dht_cand *c)
{
	return id && (!c->has_id || dht_xor_cmp(l->target, id, c->id) < 0);
}

static void dht_lookup_add(struct dht *d, struct dht_lookup *l, const uint8_t *id,
                           const struct addr *a)
{
	size_t pos = l->n;
	struct dht_cand *c;

	if ((id && memcmp(id, d->id, DHT_ID_LEN) == 0) || addr_port(a) == 0 ||
	    a->in.sin_addr.s_addr == 0)
		return;
	for (size_t i = 0; i < l->n; i++)
		if (addr_equal(&l->c[i].addr, a) ||
		    (id && l->c[i].has_id && memcmp(l->c[i].id, id, DHT_ID_LEN) == 0))
			return;
	while (pos > 0 && dht_lookup_before(l, id, &l->c[pos - 1]))
		pos--;
	if (l->n == DHT_LK_CANDS) {
		/* full: the farthest goes, unless it is the newcomer or is being asked */
		if (pos == DHT_LK_CANDS || l->c[l->n - 1].st == C_WAIT ||
		    l->c[l->n - 1].st == C_STORE)
			return;
		l->n--;
	}
	memmove(&l->c[pos + 1], &l->c[pos], (l->n - pos) * sizeof(l->c[0]));
	c = &l->c[pos];
	*c = (struct dht_cand){.has_id = id != NULL, .addr = *a, .st = C_NEW, .seq = -1};
	if (id)
		memcpy(c->id, id, DHT_ID_LEN);
	l->n++;
}

int dht_lookup_start(struct dht *d, enum dht_op op, const uint8_t target[DHT_ID_LEN],
                     struct dht_lookup **out, uint64_t now)
{
	struct dht_node *close[2 * DHT_K];
	struct dht_lookup *l;
	size_t slot = 0, n;

	while (slot < DHT_MAX_LOOKUP && d->lk[slot])
		slot++;
	if (slot == DHT_MAX_LOOKUP)
		return -EBUSY;
	if (!(l = calloc(1, sizeof(*l))))
		return -ENOMEM;
	l->slot = (uint8_t)slot;
	l->op = (uint8_t)op;
	l->cas = DHT_NO_CAS;
	l->started = now;
	memcpy(l->target, target, DHT_ID_LEN);
	n = dht_rt_closest(d, target, close, 2 * DHT_K);
	for (size_t i = 0; i < n; i++)
		dht_lookup_add(d, l, close[i]->id, &close[i]->addr);
	for (size_t i = 0; l->n < DHT_K && i < d->nboot; i++)
		dht_lookup_add(d, l, NULL, &d->boot[i]);
	if (!l->n) {
		free(l);
		return -ENETUNREACH;
	}
	d->lk[slot] = l;
	d->st.lookups++;
	*out = l;
	return 0;
}

static void dht_lookup_send(struct dht *d, struct dht_lookup *l, struct dht_cand *c, uint64_t now)
{
	struct krpc m = {.q = KRPC_GET};
	struct krpc_str t = {l->target, DHT_ID_LEN};
	const struct dht_item *it = &l->item;
	uint8_t nonce[3];

	dht_rand(d, nonce, sizeof(nonce));
	c->nonce = (uint32_t)nonce[0] << 16 | (uint32_t)nonce[1] << 8 | nonce[2];
	c->sent = now;
	c->st = l->storing ? C_STORE : C_WAIT;
	if (l->op == DHT_OP_FIND_NODE)
		m.q = KRPC_FIND_NODE;
	if (l->op == DHT_OP_GET_PEERS || l->op == DHT_OP_ANNOUNCE)
		m.q = l->storing ? KRPC_ANNOUNCE : KRPC_GET_PEERS;
	if (m.q == KRPC_GET_PEERS || m.q == KRPC_ANNOUNCE)
		m.info_hash = t;
	else
		m.target = t;
	if (l->storing) {
		m.target.p = NULL;
		m.token = (struct krpc_str){c->token, c->toklen};
		m.has_port = true;
		m.port = l->port ? l->port : 1;
		m.implied_port = l->port == 0;
	}
	if (l->storing && l->op == DHT_OP_PUT) {
		m.q = KRPC_PUT;
		m.has_port = false;
		m.v = (struct krpc_str){it->v, it->v_len};
		if (it->has_k) {
			m.k = (struct krpc_str){it->k, 32};
			m.sig = (struct krpc_str){it->sig, 64};
			if (it->salt_len)
				m.salt = (struct krpc_str){it->salt, it->salt_len};
			m.has_seq = true;
			m.seq = it->seq;
			/* BEP 44: cas only to nodes that returned a value */
			m.has_cas = l->cas >= 0 && c->seq >= 0;
			m.cas = l->cas;
		}
	}
	dht_send_query(d, &c->addr, l->slot, c->nonce, &m);
}

static void dht_lookup_finish(struct dht *d, struct dht_lookup *l)
{
	struct dht_contact closest[DHT_K];
	struct dht_result res = {
	    .op = (enum dht_op)l->op,
	    .status = l->responded ? 0 : -ETIMEDOUT,
	    .responded = l->responded,
	    .stored = l->stored,
	    .closest = closest,
	    .peers = l->peers,
	    .npeers = l->npeers,
	    .item = l->have_item ? &l->item : NULL,
	};

	memcpy(res.target, l->target, DHT_ID_LEN);
	for (size_t i = 0; i < l->n && res.nclosest < DHT_K; i++) {
		if (!l->c[i].answered)
			continue;
		memcpy(closest[res.nclosest].id, l->c[i].id, DHT_ID_LEN);
		closest[res.nclosest++].addr = l->c[i].addr;
	}
	if (l->op == DHT_OP_GET && res.status == 0 && !l->have_item)
		res.status = -ENOENT;
	if (res.status < 0)
		d->st.lookups_failed++;
	d->lk[l->slot] = NULL; /* before the callback, which may start another lookup */
	if (l->cb)
		l->cb(l->ctx, &res);
	free(l);
}

void dht_lookup_step(struct dht *d, struct dht_lookup *l, uint64_t now)
{
	size_t window = 0, waiting = 0, sent = 0;
	bool pending = false;

	for (size_t i = 0; i < l->n; i++) {
		waiting += l->c[i].st == C_WAIT;
		if (l->storing && l->c[i].st == C_STORE)
			return;
	}
	if (!l->storing) {
		for (size_t i = 0; i < l->n && window < DHT_K; i++) {
			struct dht_cand *c = &l->c[i];

			if (c->st == C_FAIL)
				continue;
			window++;
			if (c->st == C_NEW && waiting < DHT_ALPHA) {
				dht_lookup_send(d, l, c, now);
				waiting++;
			}
			pending |= c->st == C_NEW || c->st == C_WAIT;
		}
		if (pending)
			return;
		if (l->op == DHT_OP_ANNOUNCE || l->op == DHT_OP_PUT) {
			l->storing = true;
			for (size_t i = 0; i < l->n && sent < DHT_K; i++)
				if (l->c[i].st == C_DONE && l->c[i].toklen) {
					dht_lookup_send(d, l, &l->c[i], now);
					sent++;
				}
			if (sent)
				return;
		}
	}
	dht_lookup_finish(d, l);
}

/* A value in an answer to get: keep it if it verifies and is newer than what we have. */
static void dht_lookup_item(struct dht_lookup *l, const struct krpc *m)
{
	struct dht_item it = {.has_k = l->item.has_k, .seq = m->seq, .v_len = m->v.len};
	uint8_t h[DHT_ID_LEN];

	if (l->op != DHT_OP_GET || m->v.len > DHT_V_MAX)
		return;
	memcpy(it.v, m->v.p, m->v.len);
	if (it.has_k) {
		if (!m->k.p || m->k.len != 32 || memcmp(m->k.p, l->item.k, 32) || !m->sig.p ||
		    m->sig.len != 64 || !m->has_seq || m->seq < 0 ||
		    (l->have_item && m->seq <= l->item.seq))
			return;
		memcpy(it.k, m->k.p, 32);
		memcpy(it.sig, m->sig.p, 64);
		memcpy(it.salt, l->item.salt, l->item.salt_len);
		it.salt_len = l->item.salt_len;
		if (dht_item_verify(&it) < 0)
			return;
	} else {
		sha1(h, it.v, it.v_len);
		if (memcmp(h, l->target, DHT_ID_LEN) != 0)
			return;
		it.seq = 0;
	}
	l->item = it;
	l->have_item = true;
}

void dht_lookup_response(struct dht *d, struct dht_lookup *l, const struct krpc *m,
                         const struct addr *from, uint64_t now)
{
	uint32_t nonce = (uint32_t)m->t.p[1] << 16 | (uint32_t)m->t.p[2] << 8 | m->t.p[3];
	struct dht_cand *c = NULL;
	struct addr a;

	for (size_t i = 0; i < l->n && !c; i++)
		if ((l->c[i].st == C_WAIT || l->c[i].st == C_STORE) && l->c[i].nonce == nonce &&
		    addr_equal(&l->c[i].addr, from))
			c = &l->c[i];
	if (!c) {
		d->st.drop_unmatched++;
		return;
	}
	if (m->y == 'r')
		dht_rt_heard(d, m->id.p, from, true, now);
	if (c->st == C_STORE || m->y != 'r') {
		l->stored += c->st == C_STORE && m->y == 'r';
		c->st = c->st == C_STORE && m->y == 'r' ? C_STORED : C_FAIL;
		dht_lookup_step(d, l, now);
		return;
	}
	c->st = C_DONE;
	c->answered = true;
	l->responded++;
	if (m->token.p && m->token.len <= DHT_TOKEN_MAX) {
		memcpy(c->token, m->token.p, m->token.len);
		c->toklen = (uint8_t)m->token.len;
	}
	if (m->has_seq)
		c->seq = m->seq;
	if (m->v.p)
		dht_lookup_item(l, m);
	for (size_t i = 0; i < m->nvalues && l->npeers < DHT_LK_PEERS; i++) {
		bool dup = false;

		dht_msg_compact_get(&a, m->values[i]);
		for (size_t j = 0; j < l->npeers && !dup; j++)
			dup = addr_equal(&l->peers[j], &a);
		if (!dup && addr_port(&a))
			l->peers[l->npeers++] = a;
	}
	/* the id it answers with is the one that counts: re-place it if it differs */
	if (!c->has_id || memcmp(c->id, m->id.p, DHT_ID_LEN) != 0) {
		struct dht_cand moved = *c;

		memmove(c, c + 1, (size_t)(l->c + l->n - c - 1) * sizeof(*c));
		l->n--;
		memcpy(moved.id, m->id.p, DHT_ID_LEN);
		moved.has_id = true;
		dht_lookup_add(d, l, moved.id, &moved.addr);
		for (size_t i = 0; i < l->n; i++)
			if (addr_equal(&l->c[i].addr, &moved.addr))
				l->c[i] = moved;
	}
	for (size_t i = 0; i + 26 <= m->nodes.len; i += 26) {
		dht_msg_compact_get(&a, m->nodes.p + i + DHT_ID_LEN);
		dht_lookup_add(d, l, m->nodes.p + i, &a);
	}
	dht_lookup_step(d, l, now);
}

void dht_lookup_tick(struct dht *d, uint64_t now)
{
	for (size_t s = 0; s < DHT_MAX_LOOKUP; s++) {
		struct dht_lookup *l = d->lk[s];
		bool changed = false;

		if (!l)
			continue;
		if (now - l->started >= DHT_LOOKUP_MS) {
			dht_lookup_finish(d, l);
			continue;
		}
		for (size_t i = 0; i < l->n; i++) {
			struct dht_cand *c = &l->c[i];

			if ((c->st == C_WAIT || c->st == C_STORE) &&
			    now - c->sent >= d->cfg.query_timeout_ms) {
				c->st = C_FAIL;
				d->st.timeouts++;
				if (c->has_id)
					dht_rt_failed(d, c->id, &c->addr);
				changed = true;
			}
		}
		if (changed)
			dht_lookup_step(d, l, now);
	}
}
