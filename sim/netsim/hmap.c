/* hmap.c: linear probing, grown at half load so probes stay short. */
#include "hmap.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

void hmap_init(struct hmap *m)
{
	memset(m, 0, sizeof(*m));
}

void hmap_free(struct hmap *m)
{
	free(m->keys);
	free(m->vals);
	memset(m, 0, sizeof(*m));
}

static size_t slot_of(uint64_t key, size_t cap)
{
	/* Keys may be sequential (addresses): mix before masking. */
	key ^= key >> 33;
	key *= 0xff51afd7ed558ccdull;
	key ^= key >> 33;
	return (size_t)key & (cap - 1);
}

static void place(uint64_t *keys, uint32_t *vals, size_t cap, uint64_t key, uint32_t v1)
{
	size_t i = slot_of(key, cap);

	while (vals[i] && keys[i] != key)
		i = (i + 1) & (cap - 1);
	keys[i] = key;
	vals[i] = v1;
}

static int grow(struct hmap *m)
{
	size_t cap = m->cap ? m->cap * 2 : 1024;
	uint64_t *keys = calloc(cap, sizeof(*keys));
	uint32_t *vals = calloc(cap, sizeof(*vals));

	if (!keys || !vals) {
		free(keys);
		free(vals);
		return -ENOMEM;
	}
	for (size_t i = 0; i < m->cap; i++)
		if (m->vals[i])
			place(keys, vals, cap, m->keys[i], m->vals[i]);
	free(m->keys);
	free(m->vals);
	m->keys = keys;
	m->vals = vals;
	m->cap = cap;
	return 0;
}

int hmap_put(struct hmap *m, uint64_t key, uint32_t val)
{
	if (val == UINT32_MAX)
		return -EINVAL;
	if (2 * (m->n + 1) > m->cap) {
		int r = grow(m);
		if (r < 0)
			return r;
	}
	size_t i = slot_of(key, m->cap);
	while (m->vals[i] && m->keys[i] != key)
		i = (i + 1) & (m->cap - 1);
	if (!m->vals[i])
		m->n++;
	m->keys[i] = key;
	m->vals[i] = val + 1;
	return 0;
}

int64_t hmap_get(const struct hmap *m, uint64_t key)
{
	if (!m->cap)
		return -1;
	for (size_t i = slot_of(key, m->cap);; i = (i + 1) & (m->cap - 1)) {
		if (!m->vals[i])
			return -1;
		if (m->keys[i] == key)
			return (int64_t)m->vals[i] - 1;
	}
}

uint64_t hmap_key(const uint8_t *p)
{
	uint64_t k;

	memcpy(&k, p, 8);
	return k;
}
