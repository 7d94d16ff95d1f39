/*
 * discover.c: DISCOVER answers (PROTOCOL.md §10.4). On a link whose address is proven (a
 * client's or a relay's), up to 32 descriptors from the store, each in a DESC message, then
 * DISCOVERED with the cursor to continue from. Everything goes to the link's proven address,
 * never to where a frame claims to come from, so DISCOVER cannot be aimed at a third party.
 *
 * Orders: by identity (the store's order; the cursor is the last identity sent), or, with the
 * near flag, by distance from the given place, then identity. Then the cursor is the last
 * entry's key: its distance in metres (4 bytes, big-endian; 0xFFFFFFFF for a relay without a
 * location, which come last) and the first 28 bytes of its identity, so paging needs no state
 * on the relay and survives descriptors that come and go between requests.
 */
#include <math.h>
#include <string.h>

#include "buf.h"
#include "network.h"

/* PROTOCOL.md §10.4 filters. */
static bool discover_keep(const struct dstore_desc *dd, void *ctx)
{
	const struct ctrl_discover *q = ctx;

	if ((q->flags & PROTO_DISCOVER_NOT_FULL) && dd->d.load_permille >= PROTO_FULL_PERMILLE)
		return false;
	if ((q->flags & PROTO_DISCOVER_MODES) && (dd->d.modes & q->modes) != q->modes)
		return false;
	return true;
}

/* Great-circle distance in metres (haversine on a sphere of the Earth's mean radius). */
static uint32_t discover_distance(int32_t lat1, int32_t lon1, int32_t lat2, int32_t lon2)
{
	const double rad = 3.14159265358979323846 / 180e6;
	double p1 = lat1 * rad, p2 = lat2 * rad, dp = p2 - p1, dl = (lon2 - lon1) * rad;
	double a = sin(dp / 2) * sin(dp / 2) + cos(p1) * cos(p2) * sin(dl / 2) * sin(dl / 2);

	if (a > 1)
		a = 1;
	return (uint32_t)(2 * 6371000.0 * asin(sqrt(a)));
}

/* The near-order key of dd: distance (4, big-endian) ‖ identity[0:28]. */
static void discover_key(const struct ctrl_discover *q, const struct dstore_desc *dd,
                         uint8_t key[32])
{
	uint32_t m = dd->d.has_location
	                 ? discover_distance(q->lat_e6, q->lon_e6, dd->d.lat_e6, dd->d.lon_e6)
	                 : UINT32_MAX;

	/* A located relay is never keyed as one without a location. */
	if (dd->d.has_location && m == UINT32_MAX)
		m--;
	buf_store_be32(key, m);
	memcpy(key + 4, dd->d.identity, 28);
}

/* Near order: one walk of the store keeping the q->max smallest keys after the cursor. */
static size_t discover_near(struct dstore *s, const struct ctrl_discover *q,
                            const struct dstore_desc **out, uint8_t next[32])
{
	static const uint8_t zero[32];
	uint8_t keys[PROTO_DISCOVER_MAX][32], key[32];
	bool from_start = !memcmp(q->after, zero, 32);
	struct ctrl_discover fq = *q; /* the filter's context is not const */
	size_t k = 0, total = 0;

	for (unsigned b = 0; b < DSTORE_BUCKETS; b++) {
		const struct dstore_desc *dd;

		for (size_t i = 0; (dd = dstore_bucket_at(s, (uint8_t)b, i)); i++) {
			size_t j;

			if (!discover_keep(dd, &fq))
				continue;
			discover_key(q, dd, key);
			if (!from_start && memcmp(key, q->after, 32) <= 0)
				continue;
			total++;
			if (k == q->max && memcmp(key, keys[k - 1], 32) >= 0)
				continue;
			/* Insert in order into the first max; the largest falls off when full. */
			j = k < q->max ? k++ : k - 1;
			for (; j > 0 && memcmp(key, keys[j - 1], 32) < 0; j--) {
				memcpy(keys[j], keys[j - 1], 32);
				out[j] = out[j - 1];
			}
			memcpy(keys[j], key, 32);
			out[j] = dd;
		}
	}
	if (total > k && k)
		memcpy(next, keys[k - 1], 32);
	else
		memset(next, 0, 32);
	return k;
}

size_t discover_select(struct dstore *s, const struct ctrl_discover *q,
                       const struct dstore_desc **out, uint8_t next[32])
{
	if (q->flags & PROTO_DISCOVER_NEAR)
		return discover_near(s, q, out, next);
	struct ctrl_discover fq = *q;

	return dstore_page(s, q->after, discover_keep, &fq, out, q->max, NET_DISCOVER_SCAN, next);
}

/* Send pt on l (a relay link's own accounting when it is one). */
static void discover_send(struct network *n, struct link *l, const uint8_t *pt, size_t len)
{
	if (l->rp)
		net_send(n, l->rp, pt, len);
	else
		control_send_raw(n->r, l, pt, len);
}

void discover_input(struct network *n, struct link *l, const uint8_t *pt, size_t len,
                    const struct addr *src, size_t frame_len)
{
	const struct dstore_desc *found[PROTO_DISCOVER_MAX];
	uint8_t buf[PROTO_MAX_CTRL_PLAIN], next[32];
	struct relay *r = n->r;
	uint64_t now = ev_now_ms(r->loop);
	struct ctrl_discover q;
	size_t k;
	int m;

	/* A client's DISCOVER is a request: padded (§5.2), as every request of a client is. */
	if (!l->rp && len < PROTO_CTRL_REQ_MIN) {
		r->st.drops[DROP_MALFORMED]++;
		return;
	}
	if (ctrl_decode_discover(pt, len, &q) < 0) {
		n->st.refused[NET_REF_MALFORMED]++;
		return;
	}
	if (!l->rp)
		control_link_seen(r, l, src, frame_len);
	if (!l->discover_init) {
		tbucket_init(&l->discover, NET_DISCOVER_RATE, NET_DISCOVER_BURST, now);
		l->discover_init = true;
	}
	if (!tbucket_take(&l->discover, 1, now) ||
	    ((q.flags & PROTO_DISCOVER_NEAR) && !tbucket_take(&n->near, 1, now))) {
		n->st.discover_limited++;
		return;
	}
	n->st.discover++;
	k = discover_select(gossip_store(n->g), &q, found, next);
	for (size_t i = 0; i < k; i++) {
		m = ctrl_encode_desc_msg(CTRL_DESC, found[i]->bytes, found[i]->len, buf,
		                         sizeof(buf));
		if (m > 0)
			discover_send(n, l, buf, (size_t)m);
	}
	n->st.discover_desc += k;
	m = ctrl_encode_discovered(next, (uint8_t)k, buf, sizeof(buf));
	if (m > 0)
		discover_send(n, l, buf, (size_t)m);
}
