/* dcache.c: the shared verified-descriptor cache (dcache.h). */
#include "dcache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The last 8 signature bytes key the map: an Ed25519 signature is unique to its message. */
static uint64_t key_of(const uint8_t *p, size_t len)
{
	return hmap_key(p + len - 8);
}

void dcache_init(struct dcache *c, size_t max)
{
	memset(c, 0, sizeof(*c));
	hmap_init(&c->map);
	c->max = max;
}

void dcache_free(struct dcache *c)
{
	for (size_t i = 0; i < c->n; i++)
		dstore_desc_unref(c->ent[i].dd);
	free(c->ent);
	hmap_free(&c->map);
	memset(c, 0, sizeof(*c));
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct dcache_ent *lookup(struct dcache *c, const uint8_t *p, size_t len)
{
	if (len < 8)
		return NULL;
	int64_t i = hmap_get(&c->map, key_of(p, len));
	if (i < 0)
		return NULL;
	struct dcache_ent *e = &c->ent[i];
	/* The key is a hint; the bytes decide (a forged tail must not borrow a verdict). */
	if (e->dd->len != len || memcmp(e->dd->bytes, p, len) != 0)
		return NULL;
	return e;
}

struct dcache_ent *dcache_get(struct dcache *c, const uint8_t *p, size_t len)
{
	struct dcache_ent *e = lookup(c, p, len);
	struct dstore_desc *dd;
	int why;

	c->st.calls++;
	if (e) {
		c->st.hits++;
		return e;
	}
	double t0 = now_s();
	int r = dstore_desc_new(&dd, p, len, &why);
	c->st.verify_s += now_s() - t0;
	c->st.verified++;
	if (r < 0) {
		c->st.refused++;
		return NULL;
	}
	if (c->n == c->max || len < 8)
		goto drop;
	if (c->n == c->cap) {
		size_t cap = c->cap ? c->cap * 2 : 1024;
		struct dcache_ent *ne = realloc(c->ent, cap * sizeof(*ne));
		if (!ne)
			goto drop;
		c->ent = ne;
		c->cap = cap;
	}
	if (hmap_put(&c->map, key_of(p, len), (uint32_t)c->n) < 0)
		goto drop;
	c->ent[c->n] = (struct dcache_ent){.dd = dd, .track = -1};
	return &c->ent[c->n++];
drop:
	dstore_desc_unref(dd);
	return NULL;
}

int dcache_decode(void *ctx, const uint8_t *p, size_t len, struct dstore_desc **out, int *why)
{
	struct dcache *c = ctx;
	struct dcache_ent *e;

	c->last = NULL;
	*why = 0;
	e = dcache_get(c, p, len);
	if (!e) {
		/* Invalid (or not kept): the real path, so the reason is the real one. */
		return dstore_desc_new(out, p, len, why);
	}
	*out = dstore_desc_ref(e->dd);
	c->last = e;
	c->last_seq_before = c->cur_store ? dstore_seq(c->cur_store, e->dd->d.identity) : 0;
	return 0;
}
