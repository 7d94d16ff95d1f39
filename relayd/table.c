/* table.c: open-addressed pointer map (see table.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "table.h"

static uint64_t table_hash(const struct table *t, uint64_t key)
{
	uint8_t out[8];
	uint64_t h;

	crypto_shorthash(out, (const uint8_t *)&key, sizeof(key), t->hashkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

uint64_t table_key16(const struct table *t, const uint8_t *p, size_t len)
{
	uint8_t out[8];
	uint64_t h;

	crypto_shorthash(out, p, len, t->hashkey);
	memcpy(&h, out, sizeof(h));
	return h;
}

int table_init(struct table *t, size_t cap)
{
	size_t c = 16;

	while (c < cap * 2)
		c *= 2;
	memset(t, 0, sizeof(*t));
	t->slots = calloc(c, sizeof(*t->slots));
	if (!t->slots)
		return -ENOMEM;
	t->cap = c;
	randombytes_buf(t->hashkey, sizeof(t->hashkey));
	return 0;
}

void table_free(struct table *t)
{
	free(t->slots);
	t->slots = NULL;
	t->cap = t->n = t->used = 0;
}

static struct table_slot *table_find(const struct table *t, uint64_t key)
{
	size_t mask = t->cap - 1, i = table_hash(t, key) & mask;

	for (size_t probes = 0; probes < t->cap; probes++, i = (i + 1) & mask) {
		struct table_slot *s = &t->slots[i];

		if (!s->val)
			return NULL;
		if (s->val != TABLE_TOMB && s->key == key)
			return s;
	}
	return NULL;
}

void *table_get(const struct table *t, uint64_t key)
{
	struct table_slot *s = table_find(t, key);

	return s ? s->val : NULL;
}

static int table_grow(struct table *t)
{
	struct table old = *t;
	size_t cap = t->n * 4 > t->cap ? t->cap * 2 : t->cap;

	t->slots = calloc(cap, sizeof(*t->slots));
	if (!t->slots) {
		t->slots = old.slots;
		return -ENOMEM;
	}
	t->cap = cap;
	t->n = t->used = 0;
	for (size_t i = 0; i < old.cap; i++)
		if (old.slots[i].val && old.slots[i].val != TABLE_TOMB)
			table_put(t, old.slots[i].key, old.slots[i].val);
	free(old.slots);
	return 0;
}

int table_put(struct table *t, uint64_t key, void *val)
{
	struct table_slot *s = table_find(t, key);
	size_t mask, i;

	if (s) {
		s->val = val;
		return 0;
	}
	if ((t->used + 1) * 4 > t->cap * 3 && table_grow(t) < 0)
		return -ENOMEM;
	mask = t->cap - 1;
	i = table_hash(t, key) & mask;
	while (t->slots[i].val && t->slots[i].val != TABLE_TOMB)
		i = (i + 1) & mask;
	if (!t->slots[i].val)
		t->used++;
	t->slots[i].key = key;
	t->slots[i].val = val;
	t->n++;
	return 0;
}

void *table_del(struct table *t, uint64_t key)
{
	struct table_slot *s = table_find(t, key);
	void *v;

	if (!s)
		return NULL;
	v = s->val;
	s->val = TABLE_TOMB;
	t->n--;
	return v;
}

void *table_next(const struct table *t, size_t *pos)
{
	while (*pos < t->cap) {
		struct table_slot *s = &t->slots[(*pos)++];

		if (s->val && s->val != TABLE_TOMB)
			return s->val;
	}
	return NULL;
}
