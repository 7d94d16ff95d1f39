/*
 * dht_store.c: what the node stores for others (BEP 5 peers, BEP 44 items) and the BEP 44 item
 * helpers. Flat arrays scanned linearly: they are bounded by the config (thousands), and every
 * request reaching them has passed the per-source rate limit.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "dht_int.h"
#include "sha1.h"

/* Entries stored on behalf of the IP address ip (4 bytes): its peers and its items. */
static size_t dht_store_by_source(const struct dht *d, const uint8_t ip[4])
{
	size_t n = 0;

	for (size_t i = 0; i < d->npeers; i++)
		n += memcmp(d->peers[i].compact, ip, 4) == 0;
	for (size_t i = 0; i < d->nitems; i++)
		n += memcmp(d->items[i]->src, ip, 4) == 0;
	return n;
}

int dht_store_add_peer(struct dht *d, const uint8_t ih[DHT_ID_LEN], const struct addr *peer,
                       uint64_t now)
{
	uint8_t c[6];
	size_t same = 0;

	dht_msg_compact_put(c, peer);
	for (size_t i = 0; i < d->npeers; i++) {
		struct dht_peer *p = &d->peers[i];

		if (memcmp(p->ih, ih, DHT_ID_LEN) != 0)
			continue;
		if (memcmp(p->compact, c, 6) == 0) {
			p->expires = now + DHT_PEER_TTL_MS;
			return 0;
		}
		same++;
	}
	if (dht_store_by_source(d, c) >= d->cfg.max_per_source)
		return -EDQUOT;
	if (same >= d->cfg.max_peers_per_hash || d->npeers >= d->cfg.max_peers)
		return -ENOSPC;
	memcpy(d->peers[d->npeers].ih, ih, DHT_ID_LEN);
	memcpy(d->peers[d->npeers].compact, c, 6);
	d->peers[d->npeers++].expires = now + DHT_PEER_TTL_MS;
	return 0;
}

size_t dht_store_get_peers(struct dht *d, const uint8_t ih[DHT_ID_LEN], uint8_t (*out)[6],
                           size_t max)
{
	size_t n = 0, start = 0;

	/* from a random place, so that past max every peer still gets its turn */
	if (d->npeers) {
		uint32_t r;

		dht_rand(d, &r, sizeof(r));
		start = r % d->npeers;
	}
	for (size_t j = 0; j < d->npeers && n < max; j++) {
		const struct dht_peer *p = &d->peers[(start + j) % d->npeers];

		if (memcmp(p->ih, ih, DHT_ID_LEN) == 0)
			memcpy(out[n++], p->compact, 6);
	}
	return n;
}

struct dht_stored *dht_store_find(struct dht *d, const uint8_t target[DHT_ID_LEN])
{
	for (size_t i = 0; i < d->nitems; i++)
		if (memcmp(d->items[i]->target, target, DHT_ID_LEN) == 0)
			return d->items[i];
	return NULL;
}

int dht_store_put(struct dht *d, const struct dht_item *it, int64_t cas, const struct addr *src,
                  uint64_t now)
{
	uint8_t target[DHT_ID_LEN], ip[6];
	struct dht_stored *s;

	dht_item_target(it, target);
	dht_msg_compact_put(ip, src);
	if ((s = dht_store_find(d, target))) {
		/* BEP 44: cas first, then never downgrade; equal seq refreshes the same value */
		if (it->has_k && cas >= 0 && cas != s->it.seq) {
			d->st.refuse_cas++;
			return 301;
		}
		if (it->has_k && (it->seq < s->it.seq ||
		                  (it->seq == s->it.seq && (it->v_len != s->it.v_len ||
		                                            memcmp(it->v, s->it.v, it->v_len))))) {
			d->st.refuse_seq++;
			return 302;
		}
	} else {
		if (dht_store_by_source(d, ip) >= d->cfg.max_per_source) {
			d->st.refuse_source_cap++;
			return 202;
		}
		if (d->nitems >= d->cfg.max_items || !(s = malloc(sizeof(*s)))) {
			d->st.refuse_full++;
			return 202;
		}
		d->items[d->nitems++] = s;
		memcpy(s->target, target, DHT_ID_LEN);
		memcpy(s->src, ip, 4);
	}
	s->it = *it;
	s->expires = now + DHT_ITEM_TTL_MS;
	return 0;
}

void dht_store_expire(struct dht *d, uint64_t now)
{
	for (size_t i = 0; i < d->npeers;)
		if (d->peers[i].expires <= now)
			d->peers[i] = d->peers[--d->npeers];
		else
			i++;
	for (size_t i = 0; i < d->nitems;)
		if (d->items[i]->expires <= now) {
			free(d->items[i]);
			d->items[i] = d->items[--d->nitems];
		} else {
			i++;
		}
}

void dht_item_target(const struct dht_item *it, uint8_t out[DHT_ID_LEN])
{
	struct sha1_ctx c;

	sha1_init(&c);
	if (it->has_k) {
		sha1_update(&c, it->k, 32);
		sha1_update(&c, it->salt, it->salt_len);
	} else {
		sha1_update(&c, it->v, it->v_len);
	}
	sha1_final(&c, out);
}

/* BEP 44 "Signature Verification": [4:salt<n>:<salt>]3:seqi<seq>e1:v<bencoded v>. */
static size_t dht_item_signed(const struct dht_item *it, uint8_t *buf, size_t cap)
{
	int n = 0;

	if (it->salt_len)
		n = snprintf((char *)buf, cap, "4:salt%zu:", it->salt_len);
	memcpy(buf + n, it->salt, it->salt_len);
	n += (int)it->salt_len;
	n += snprintf((char *)buf + n, cap - (size_t)n, "3:seqi%" PRId64 "e1:v", it->seq);
	memcpy(buf + n, it->v, it->v_len);
	return (size_t)n + it->v_len;
}

#define DHT_SIGNED_MAX (DHT_SALT_MAX + DHT_V_MAX + 64)

int dht_item_sign(struct dht_item *it, const uint8_t sk[64])
{
	uint8_t buf[DHT_SIGNED_MAX];
	size_t n;

	if (it->salt_len > DHT_SALT_MAX || it->v_len > DHT_V_MAX)
		return -EINVAL;
	it->has_k = true;
	memcpy(it->k, sk + 32, 32); /* libsodium's secret key is seed ‖ public key */
	n = dht_item_signed(it, buf, sizeof(buf));
	crypto_sign_detached(it->sig, NULL, buf, n, sk);
	return 0;
}

int dht_item_verify(const struct dht_item *it)
{
	uint8_t buf[DHT_SIGNED_MAX];
	size_t n;

	if (!it->has_k || it->salt_len > DHT_SALT_MAX || it->v_len > DHT_V_MAX)
		return -EBADMSG;
	n = dht_item_signed(it, buf, sizeof(buf));
	return crypto_sign_verify_detached(it->sig, buf, n, it->k) == 0 ? 0 : -EBADMSG;
}

int dht_item_set_string(struct dht_item *it, const void *s, size_t len)
{
	int n = snprintf((char *)it->v, sizeof(it->v), "%zu:", len);

	if ((size_t)n + len > DHT_V_MAX)
		return -EMSGSIZE;
	memcpy(it->v + n, s, len);
	it->v_len = (size_t)n + len;
	return 0;
}
