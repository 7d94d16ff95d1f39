/*
 * dht_rt.c: the routing table of BEP 5. Rather than splitting buckets as they fill, bucket i
 * holds the nodes whose ids share exactly i leading bits with ours: the same table BEP 5's
 * splitting produces, since only the bucket holding our own id ever splits. A node enters only
 * by answering one of our queries (so a forged source cannot fill the table); a stranger that
 * queries us is pinged when its bucket has room. A full bucket pings its least recently seen
 * questionable node, and the newcomer waits until that node fails twice.
 */
#include <string.h>

#include <sodium.h>

#include "dht_int.h"

static int dht_rt_bucket(const struct dht *d, const uint8_t id[DHT_ID_LEN])
{
	for (int i = 0; i < DHT_ID_LEN; i++) {
		uint8_t x = d->id[i] ^ id[i];
		int b = 0;

		if (!x)
			continue;
		while (!(x & 0x80)) {
			x = (uint8_t)(x << 1);
			b++;
		}
		return i * 8 + b;
	}
	return -1;
}

/* Transaction nonce of a routing-table ping: keyed, so answers cannot be forged blindly. */
static uint32_t dht_rt_nonce(const struct dht *d, const struct addr *a)
{
	uint8_t in[6], h[crypto_shorthash_BYTES];

	dht_msg_compact_put(in, a);
	crypto_shorthash(h, in, sizeof(in), d->tid_key);
	return (uint32_t)h[0] << 16 | (uint32_t)h[1] << 8 | h[2];
}

static void dht_rt_ping_addr(struct dht *d, const struct addr *a)
{
	struct krpc m = {.q = KRPC_PING};

	dht_send_query(d, a, DHT_SLOT_RT, dht_rt_nonce(d, a), &m);
}

static void dht_rt_ping(struct dht *d, struct dht_node *n, uint64_t now)
{
	n->pinging = true;
	n->ping_sent = now;
	dht_rt_ping_addr(d, &n->addr);
}

static bool dht_rt_questionable(const struct dht_node *n, uint64_t now)
{
	return now - n->seen >= DHT_GOOD_MS;
}

void dht_rt_heard(struct dht *d, const uint8_t id[DHT_ID_LEN], const struct addr *a, bool reply,
                  uint64_t now)
{
	struct dht_node *fresh = NULL, *bad = NULL, *stale = NULL;
	int bi = dht_rt_bucket(d, id);
	bool pinging = false;
	struct dht_bucket *b;

	if (bi < 0)
		return;
	b = &d->b[bi];
	for (struct dht_node *n = b->n; n < b->n + DHT_K; n++) {
		if (!n->used) {
			fresh = fresh ? fresh : n;
			continue;
		}
		if (memcmp(n->id, id, DHT_ID_LEN) == 0) {
			/* an id moves to another address only once the old one has gone bad */
			if (!addr_equal(&n->addr, a)) {
				if (!reply || n->fails < DHT_BAD_FAILS)
					return;
				n->addr = *a;
			}
			n->seen = now;
			if (reply) {
				n->replied = now;
				n->fails = 0;
				n->pinging = false;
				b->changed = now;
			}
			return;
		}
		if (addr_equal(&n->addr, a))
			return; /* one entry per address and bucket */
		pinging |= n->pinging;
		if (n->fails >= DHT_BAD_FAILS)
			bad = n;
		else if (!n->pinging && dht_rt_questionable(n, now) &&
		         (!stale || n->seen < stale->seen))
			stale = n;
	}
	if (!reply) {
		if (fresh || bad)
			dht_rt_ping_addr(d, a);
		return;
	}
	if (!fresh)
		fresh = bad;
	if (!fresh) {
		if (stale && !pinging)
			dht_rt_ping(d, stale, now);
		fresh = &b->repl;
	}
	*fresh = (struct dht_node){.used = true, .addr = *a, .seen = now, .replied = now};
	memcpy(fresh->id, id, DHT_ID_LEN);
	if (fresh != &b->repl)
		b->changed = now;
}

void dht_rt_failed(struct dht *d, const uint8_t id[DHT_ID_LEN], const struct addr *a)
{
	int bi = dht_rt_bucket(d, id);

	if (bi < 0)
		return;
	for (struct dht_node *n = d->b[bi].n; n < d->b[bi].n + DHT_K; n++)
		if (n->used && memcmp(n->id, id, DHT_ID_LEN) == 0 && addr_equal(&n->addr, a) &&
		    n->fails < 255)
			n->fails++;
}

void dht_rt_pong(struct dht *d, const struct krpc *m, const struct addr *from, uint64_t now)
{
	uint32_t nonce = (uint32_t)m->t.p[1] << 16 | (uint32_t)m->t.p[2] << 8 | m->t.p[3];

	if (m->y != 'r' || nonce != dht_rt_nonce(d, from)) {
		d->st.drop_unmatched++;
		return;
	}
	dht_rt_heard(d, m->id.p, from, true, now);
}

size_t dht_rt_closest(struct dht *d, const uint8_t target[DHT_ID_LEN], struct dht_node **out,
                      size_t max)
{
	size_t n = 0;

	for (size_t bi = 0; bi < DHT_BUCKETS; bi++) {
		for (size_t j = 0; j < DHT_K; j++) {
			struct dht_node *e = &d->b[bi].n[j];
			size_t k;

			if (!e->used || e->fails >= DHT_BAD_FAILS)
				continue;
			/* insertion into the sorted prefix out[0..n) */
			for (k = n; k > 0 && dht_xor_cmp(target, e->id, out[k - 1]->id) < 0; k--)
				if (k < max)
					out[k] = out[k - 1];
			if (k < max) {
				out[k] = e;
				n += n < max;
			}
		}
	}
	return n;
}

size_t dht_rt_count(const struct dht *d)
{
	size_t n = 0;

	for (size_t bi = 0; bi < DHT_BUCKETS; bi++)
		for (size_t j = 0; j < DHT_K; j++)
			n += d->b[bi].n[j].used;
	return n;
}

/* Find nodes around a random id of bucket bi (BEP 5 refresh). */
static void dht_rt_refresh(struct dht *d, int bi, uint64_t now)
{
	uint8_t target[DHT_ID_LEN];
	struct dht_lookup *l;

	dht_rand(d, target, sizeof(target));
	for (int i = 0; i <= bi; i++) {
		uint8_t mask = (uint8_t)(0x80 >> (i % 8));

		/* the first bi bits are ours, bit bi is not */
		target[i / 8] = (uint8_t)((target[i / 8] & ~mask) |
		                          ((d->id[i / 8] ^ (i == bi ? 0xff : 0)) & mask));
	}
	if (dht_lookup_start(d, DHT_OP_FIND_NODE, target, &l, now) == 0)
		dht_lookup_step(d, l, now);
}

void dht_rt_tick(struct dht *d, uint64_t now)
{
	bool refreshed = false;

	for (int bi = 0; bi < DHT_BUCKETS; bi++) {
		struct dht_bucket *b = &d->b[bi];
		struct dht_node *stale = NULL;
		bool pinging = false;

		for (struct dht_node *n = b->n; n < b->n + DHT_K; n++) {
			if (!n->used)
				continue;
			if (n->pinging && now - n->ping_sent >= d->cfg.query_timeout_ms) {
				n->pinging = false;
				n->fails++;
				d->st.timeouts++;
				if (n->fails >= DHT_BAD_FAILS && b->repl.used) {
					*n = b->repl;
					b->repl.used = false;
					b->changed = now;
				} else if (n->fails < DHT_BAD_FAILS) {
					dht_rt_ping(d, n, now); /* BEP 5: try once more */
				}
			}
			pinging |= n->pinging;
			if (!n->pinging && dht_rt_questionable(n, now) &&
			    (!stale || n->seen < stale->seen))
				stale = n;
		}
		/* the pinged node answered: try the next questionable one, or give up waiting */
		if (b->repl.used && !pinging) {
			if (stale)
				dht_rt_ping(d, stale, now);
			else
				b->repl.used = false;
		}
		if (!refreshed && b->changed && now - b->changed >= DHT_GOOD_MS) {
			b->changed = now;
			refreshed = true;
			dht_rt_refresh(d, bi, now);
		}
	}
}
