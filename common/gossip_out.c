/*
 * gossip_out.c: the messages a link has queued, built when the caller drains them, from the
 * store as it is then: what expired or was replaced since it was queued is not sent stale.
 */
#include <errno.h>
#include <string.h>

#include "gossip_int.h"

static int gossip_out_digest(struct gossip *g, struct gossip_link *l, uint8_t *buf, size_t cap)
{
	struct gossip_msg m;

	m.type = GOSSIP_T_DIGEST;
	m.u.digest.first = l->digest_parts == 2 ? 0 : GOSSIP_DIGEST_MAX;
	m.u.digest.n = GOSSIP_DIGEST_MAX;
	for (unsigned i = 0; i < GOSSIP_DIGEST_MAX; i++)
		dstore_digest(g->store, (uint8_t)(m.u.digest.first + i), m.u.digest.hash[i]);
	l->digest_parts--;
	return gossip_msg_encode(&m, buf, cap);
}

static int gossip_out_want(struct gossip *g, struct gossip_link *l, uint8_t *buf, size_t cap)
{
	struct gossip_msg m;

	m.type = GOSSIP_T_WANT;
	m.u.want.n = 0;
	while (l->want.n > 0 && m.u.want.n < GOSSIP_MAX_ENTRIES) {
		struct gossip_want *w;

		gossip_ring_pop(&l->want, m.u.want.id[m.u.want.n]);
		w = gossip_want_find(g, m.u.want.id[m.u.want.n]);
		if (w && w->asked == l->id) /* else it arrived meanwhile */
			m.u.want.n++;
	}
	return m.u.want.n ? gossip_msg_encode(&m, buf, cap) : 0;
}

static int gossip_out_desc(struct gossip *g, struct gossip_link *l, uint64_t now, uint8_t *buf,
                           size_t cap)
{
	while (l->desc_n > 0) {
		struct dstore_desc *dd = l->desc[l->desc_head];
		const struct dstore_desc *cur = dstore_get(g->store, dd->d.identity);
		int r = 0;

		l->desc_head = (l->desc_head + 1) % g->cfg.desc_queue;
		l->desc_n--;
		/* The one held now: it may have been replaced or dropped since the WANT. */
		if (cur && cur->d.expires_at > now / 1000)
			r = gossip_msg_desc(buf, cap, cur->bytes, cur->len);
		dstore_desc_unref(dd);
		if (r != 0)
			return r;
	}
	return 0;
}

static int gossip_out_bucket(struct gossip *g, struct gossip_link *l, uint8_t *buf, size_t cap)
{
	struct gossip_msg m;
	size_t total;
	uint8_t b;

	if (l->list_cur < 0) {
		int k;

		if (l->list_n == 0)
			return 0;
		/* A byte at a time: list_n says one is set. */
		for (k = 0; k < DSTORE_BUCKETS / 8 && !l->list[k]; k++)
			;
		if (k == DSTORE_BUCKETS / 8) {
			l->list_n = 0;
			return 0;
		}
		for (k *= 8; !(l->list[k / 8] & (1u << (k % 8))); k++)
			;
		l->list[k / 8] &= (uint8_t) ~(1u << (k % 8));
		l->list_n--;
		l->list_cur = k;
		l->list_pos = 0;
	}
	b = (uint8_t)l->list_cur;
	total = dstore_bucket_count(g->store, b);
	if (total > UINT16_MAX)
		total = UINT16_MAX; /* only a bucket of ground identities gets here */
	if (l->list_pos >= total)
		l->list_pos = total ? (uint32_t)total - 1 : 0; /* shrank meanwhile */
	m.type = GOSSIP_T_BUCKET;
	m.u.bucket.bucket = b;
	m.u.bucket.total = (uint16_t)total;
	m.u.bucket.first = (uint16_t)l->list_pos;
	m.u.bucket.n = (uint8_t)(total - l->list_pos < GOSSIP_MAX_ENTRIES ? total - l->list_pos
	                                                                  : GOSSIP_MAX_ENTRIES);
	for (uint8_t i = 0; i < m.u.bucket.n; i++) {
		const struct dstore_desc *dd = dstore_bucket_at(g->store, b, l->list_pos + i);

		memcpy(m.u.bucket.e[i].id, dd->d.identity, 32);
		m.u.bucket.e[i].seq = dd->d.seq;
	}
	if (l->list_pos + m.u.bucket.n == total)
		l->list_cur = -1;
	else
		l->list_pos += m.u.bucket.n - 1u; /* the next page starts with this one's last */
	return gossip_msg_encode(&m, buf, cap);
}

static int gossip_out_ihave(struct gossip *g, struct gossip_link *l, uint64_t now, uint8_t *buf,
                            size_t cap)
{
	struct gossip_msg m;

	m.type = GOSSIP_T_IHAVE;
	m.u.ihave.n = 0;
	while (l->ann.n > 0 && m.u.ihave.n < GOSSIP_MAX_ENTRIES) {
		struct gossip_entry *e = &m.u.ihave.e[m.u.ihave.n];
		const struct dstore_desc *dd;
		uint8_t k;

		gossip_ring_pop(&l->ann, e->id);
		dd = dstore_get(g->store, e->id);
		if (!dd || dd->d.expires_at <= now / 1000)
			continue;
		for (k = 0; k < m.u.ihave.n && memcmp(m.u.ihave.e[k].id, e->id, 32) != 0; k++)
			;
		if (k < m.u.ihave.n)
			continue;
		e->seq = dd->d.seq;
		m.u.ihave.n++;
	}
	return m.u.ihave.n ? gossip_msg_encode(&m, buf, cap) : 0;
}

/* One message for l, most urgent first: DIGEST, WANT, DESC, BUCKET, IHAVE. */
int gossip_out_one(struct gossip *g, struct gossip_link *l, uint64_t now, uint8_t *buf, size_t cap)
{
	int r = 0;

	if (l->digest_parts > 0)
		return gossip_out_digest(g, l, buf, cap);
	if (l->want.n > 0 && (r = gossip_out_want(g, l, buf, cap)) != 0)
		return r;
	if (l->desc_n > 0 && (r = gossip_out_desc(g, l, now, buf, cap)) != 0)
		return r;
	if ((r = gossip_out_bucket(g, l, buf, cap)) != 0)
		return r;
	return gossip_out_ihave(g, l, now, buf, cap);
}

bool gossip_out_pending(const struct gossip_link *l)
{
	return l->digest_parts || l->want.n || l->desc_n || l->ann.n || l->list_cur >= 0 ||
	       l->list_n;
}
