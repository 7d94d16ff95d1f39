/*
 * dstore.c: the bounded descriptor store. Entries live in a pool whose indices never move; each
 * of the 256 buckets keeps its pool indices sorted by identity (4 more bytes of the identity
 * beside each, so a search rarely leaves the bucket's array), and a min-heap of pool indices
 * on expires_at finds what to expire or evict. The pool grows by an eighth at a time up to the
 * capacity, so a store that holds little costs little (a simulator runs thousands of them).
 */
#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "dstore.h"

#define DSTORE_NONE UINT32_MAX

struct dstore_ent {
	struct dstore_desc *dd; /* NULL: free, and heap links the free list */
	uint32_t expires_at;    /* dd's, in 32 bits (dstore_exp32): 16 bytes an entry, not 24 */
	uint32_t heap;          /* position in the heap, or the next free entry */
};

/* Unix seconds in 32 bits: until 2106; later times all count as 2106 (never reached). */
static uint32_t dstore_exp32(uint64_t t)
{
	return t > UINT32_MAX ? UINT32_MAX : (uint32_t)t;
}

/* A bucket's slot: the key beside the index keeps a search within one array. */
struct dstore_slot {
	uint32_t key; /* identity[1..4]: most comparisons end here, without following idx */
	uint32_t idx; /* pool index */
};

struct dstore_bucket {
	struct dstore_slot *idx; /* identity order */
	uint32_t n, cap;
	int dirty; /* digest out of date */
	uint8_t digest[DSTORE_DIGEST_LEN];
};

/* Identities held under one prefix (dstore_prefix); key 0 marks a free slot. */
struct dstore_pfx {
	uint64_t key;
	uint32_t n;
};

struct dstore {
	size_t capacity;
	size_t prefix_cap;      /* 0: none */
	struct dstore_pfx *pfx; /* open addressing, linear probing; pfx_cap a power of two */
	uint32_t pfx_cap, pfx_used;
	/* Counting per prefix, from the first dstore_set_prefix_cap on (with what is held then):
	 * a store that never caps keeps no table (a simulator holds thousands of them). */
	bool pfx_on;
	uint8_t pfx_key[crypto_shorthash_KEYBYTES]; /* prefixes are chosen by whoever signs */
	struct dstore_ent *ent;
	uint32_t n_ent; /* pool size */
	uint32_t free_head;
	uint32_t *heap;
	uint32_t count;
	uint64_t heap_min; /* expires_at of heap[0] when count > 0: every tick reads it */
	struct dstore_bucket b[DSTORE_BUCKETS];
	struct dstore_stats st;
	dstore_watch_fn watch;
	void *watch_ctx;
};

int dstore_desc_wrap(struct dstore_desc **out, const struct descriptor *d, const uint8_t *bytes,
                     size_t len)
{
	struct dstore_desc *dd;

	*out = NULL;
	if (len == 0 || len > DESC_MAX_LEN)
		return -EINVAL;
	dd = malloc(sizeof(*dd) + len);
	if (!dd)
		return -ENOMEM;
	dd->refs = 1;
	dd->len = (uint16_t)len;
	dd->d = *d;
	memcpy(dd->bytes, bytes, len);
	*out = dd;
	return 0;
}

int dstore_desc_new(struct dstore_desc **out, const uint8_t *bytes, size_t len, int *why)
{
	struct descriptor d;
	int r;

	*out = NULL;
	*why = 0;
	r = desc_decode(bytes, len, &d);
	if (r < 0) {
		*why = -r;
		return -EBADMSG;
	}
	return dstore_desc_wrap(out, &d, bytes, len);
}

struct dstore_desc *dstore_desc_ref(struct dstore_desc *dd)
{
	dd->refs++;
	return dd;
}

void dstore_desc_unref(struct dstore_desc *dd)
{
	if (dd && --dd->refs == 0)
		free(dd);
}

const char *dstore_result_name(int r)
{
	static const char *const names[DSTORE_RESULT_MAX] = {
	    "new", "updated", "stale", "expired", "future", "full", "prefix-full"};

	return r >= 0 && r < DSTORE_RESULT_MAX ? names[r] : "error";
}

int dstore_new(struct dstore **out, size_t capacity)
{
	struct dstore *s;

	*out = NULL;
	if (capacity == 0)
		capacity = DSTORE_DEFAULT_CAPACITY;
	if (capacity >= DSTORE_NONE)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->capacity = capacity;
	s->free_head = DSTORE_NONE;
	randombytes_buf(s->pfx_key, sizeof(s->pfx_key));
	s->st.capacity = capacity;
	*out = s;
	return 0;
}

void dstore_free(struct dstore *s)
{
	if (!s)
		return;
	for (uint32_t i = 0; i < s->n_ent; i++)
		dstore_desc_unref(s->ent[i].dd);
	for (int b = 0; b < DSTORE_BUCKETS; b++)
		free(s->b[b].idx);
	free(s->ent);
	free(s->heap);
	free(s->pfx);
	free(s);
}

void dstore_set_watch(struct dstore *s, dstore_watch_fn fn, void *ctx)
{
	s->watch = fn;
	s->watch_ctx = ctx;
}

uint64_t dstore_prefix(const struct descriptor *d)
{
	const struct addr *a = NULL;

	for (int pass = 0; pass < 2 && !a; pass++)
		for (int i = 0; i < d->n_endpoints && i < DESC_MAX_ENDPOINTS && !a; i++) {
			uint8_t t = d->endpoints[i].transport;

			if (pass == 0 ? t == DESC_T_UDP : t == DESC_T_TCP || t == DESC_T_TLS)
				a = &d->endpoints[i].addr;
		}
	if (a && a->sa.sa_family == AF_INET)
		return 4ULL << 56 | buf_load_be32((const uint8_t *)&a->in.sin_addr) >> 8;
	if (a && a->sa.sa_family == AF_INET6) {
		const uint8_t *b = a->in6.sin6_addr.s6_addr;

		if (IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr))
			return 4ULL << 56 | buf_load_be32(b + 12) >> 8;
		return 6ULL << 56 | (uint64_t)buf_load_be16(b) << 32 | buf_load_be32(b + 2);
	}
	return 0;
}

static uint32_t dstore_pfx_home(const struct dstore *s, uint64_t key)
{
	uint8_t in[8], h[crypto_shorthash_BYTES];

	buf_store_be64(in, key);
	crypto_shorthash(h, in, sizeof(in), s->pfx_key);
	return buf_load_be32(h) & (s->pfx_cap - 1);
}

/* The slot of key, or the free slot where it would go (pfx_cap > 0). */
static uint32_t dstore_pfx_slot(const struct dstore *s, uint64_t key)
{
	uint32_t i = dstore_pfx_home(s, key);

	while (s->pfx[i].key && s->pfx[i].key != key)
		i = (i + 1) & (s->pfx_cap - 1);
	return i;
}

size_t dstore_prefix_count(const struct dstore *s, uint64_t p)
{
	uint32_t i, n = 0;

	if (!p)
		return 0;
	if (!s->pfx_on) { /* no table (or no memory for one): count what is held */
		for (i = 0; i < s->n_ent; i++)
			n += s->ent[i].dd && dstore_prefix(&s->ent[i].dd->d) == p;
		return n;
	}
	if (!s->pfx_cap)
		return 0;
	i = dstore_pfx_slot(s, p);
	return s->pfx[i].key ? s->pfx[i].n : 0;
}

/* Room for one more prefix: at most half full, so probes stay short. 0 or -ENOMEM. */
static int dstore_pfx_reserve(struct dstore *s)
{
	struct dstore_pfx *old = s->pfx;
	uint32_t old_cap = s->pfx_cap, n = old_cap ? old_cap * 2 : 64;

	if (!s->pfx_on || (s->pfx_used + 1) * 2 <= s->pfx_cap)
		return 0;
	if (!(s->pfx = calloc(n, sizeof(*s->pfx)))) {
		s->pfx = old;
		return -ENOMEM;
	}
	s->pfx_cap = n;
	for (uint32_t i = 0; i < old_cap; i++)
		if (old[i].key)
			s->pfx[dstore_pfx_slot(s, old[i].key)] = old[i];
	free(old);
	return 0;
}

/* One more identity under key (dstore_pfx_reserve made room). */
static void dstore_pfx_add(struct dstore *s, uint64_t key)
{
	uint32_t i;

	if (!key || !s->pfx_on)
		return;
	i = dstore_pfx_slot(s, key);
	if (!s->pfx[i].key) {
		s->pfx[i].key = key;
		s->pfx_used++;
	}
	s->pfx[i].n++;
}

/* One identity less under key; the last one frees the slot (backward-shift deletion). */
static void dstore_pfx_del(struct dstore *s, uint64_t key)
{
	uint32_t mask = s->pfx_cap - 1, i, j;

	if (!key || !s->pfx_on || !s->pfx_cap)
		return;
	i = dstore_pfx_slot(s, key);
	if (!s->pfx[i].key || --s->pfx[i].n > 0)
		return;
	for (j = i;;) {
		uint32_t k;

		j = (j + 1) & mask;
		if (!s->pfx[j].key)
			break;
		k = dstore_pfx_home(s, s->pfx[j].key);
		/* j stays when its home lies cyclically in (i, j] */
		if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
			continue;
		s->pfx[i] = s->pfx[j];
		i = j;
	}
	s->pfx[i] = (struct dstore_pfx){0};
	s->pfx_used--;
}

void dstore_set_prefix_cap(struct dstore *s, size_t cap)
{
	s->prefix_cap = cap;
	if (s->pfx_on || !cap)
		return;
	s->pfx_on = true;
	for (uint32_t i = 0; i < s->n_ent; i++) {
		if (!s->ent[i].dd)
			continue;
		if (dstore_pfx_reserve(s) < 0) { /* dstore_prefix_count counts without a table */
			free(s->pfx);
			s->pfx = NULL;
			s->pfx_cap = s->pfx_used = 0;
			s->pfx_on = false;
			return;
		}
		dstore_pfx_add(s, dstore_prefix(&s->ent[i].dd->d));
	}
}

static void dstore_tell(struct dstore *s, int event, const struct dstore_desc *dd)
{
	if (s->watch)
		s->watch(s->watch_ctx, event, dd);
}

static const uint8_t *dstore_id(const struct dstore *s, uint32_t i)
{
	return s->ent[i].dd->d.identity;
}

static uint32_t dstore_key(const uint8_t id[32])
{
	return buf_load_be32(id + 1);
}

/* Index in bk of the first slot whose key is >= key: a search of the slot array alone. */
static uint32_t dstore_lower_key(const struct dstore_bucket *bk, uint32_t key)
{
	uint32_t lo = 0, hi = bk->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;

		if (bk->idx[mid].key < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Index in bucket of the first entry >= id; *found when it equals id. */
static uint32_t dstore_search(const struct dstore *s, const uint8_t id[32], int *found)
{
	const struct dstore_bucket *bk = &s->b[id[0]];
	uint32_t key = dstore_key(id), at = dstore_lower_key(bk, key);

	/* Same first byte in a bucket: the key orders as the next four bytes do, and only slots of
	 * an equal key (nearly always none or one) need the whole identity. */
	*found = 0;
	for (; at < bk->n && bk->idx[at].key == key; at++) {
		int c = memcmp(dstore_id(s, bk->idx[at].idx), id, 32);

		if (c >= 0) {
			*found = c == 0;
			break;
		}
	}
	return at;
}

/* Heap on expires_at; ties by pool index so the order never depends on history. */
static int dstore_heap_less(const struct dstore *s, uint32_t a, uint32_t b)
{
	const struct dstore_ent *ea = &s->ent[a], *eb = &s->ent[b];

	return ea->expires_at < eb->expires_at || (ea->expires_at == eb->expires_at && a < b);
}

static void dstore_heap_set(struct dstore *s, uint32_t pos, uint32_t i)
{
	s->heap[pos] = i;
	s->ent[i].heap = pos;
	if (pos == 0)
		s->heap_min = s->ent[i].expires_at;
}

static void dstore_heap_up(struct dstore *s, uint32_t pos)
{
	uint32_t i = s->heap[pos];

	while (pos > 0) {
		uint32_t parent = (pos - 1) / 2;

		if (!dstore_heap_less(s, i, s->heap[parent]))
			break;
		dstore_heap_set(s, pos, s->heap[parent]);
		pos = parent;
	}
	dstore_heap_set(s, pos, i);
}

static void dstore_heap_down(struct dstore *s, uint32_t pos)
{
	uint32_t i = s->heap[pos];

	for (;;) {
		uint32_t c = 2 * pos + 1;

		if (c >= s->count)
			break;
		if (c + 1 < s->count && dstore_heap_less(s, s->heap[c + 1], s->heap[c]))
			c++;
		if (!dstore_heap_less(s, s->heap[c], i))
			break;
		dstore_heap_set(s, pos, s->heap[c]);
		pos = c;
	}
	dstore_heap_set(s, pos, i);
}

/* Take pool entry i out of its bucket and the heap, tell the watcher why, and free it. */
static void dstore_drop(struct dstore *s, uint32_t i, int event)
{
	struct dstore_ent *e = &s->ent[i];
	struct dstore_bucket *bk = &s->b[e->dd->d.identity[0]];
	uint32_t pos = e->heap, last;
	int found;
	uint32_t at = dstore_search(s, e->dd->d.identity, &found);

	memmove(&bk->idx[at], &bk->idx[at + 1], (bk->n - at - 1) * sizeof(*bk->idx));
	bk->n--;
	bk->dirty = 1;
	last = s->heap[--s->count];
	if (pos < s->count) {
		dstore_heap_set(s, pos, last);
		dstore_heap_up(s, pos);
		dstore_heap_down(s, s->ent[last].heap);
	}
	s->st.count = s->count;
	if (s->pfx_on)
		dstore_pfx_del(s, dstore_prefix(&e->dd->d));
	dstore_tell(s, event, e->dd);
	dstore_desc_unref(e->dd);
	e->dd = NULL;
	e->heap = s->free_head;
	s->free_head = i;
}

/* A pool (and heap) of n entries, n above the current size and at most the capacity. */
static int dstore_pool_grow(struct dstore *s, uint32_t n)
{
	struct dstore_ent *ent;
	uint32_t *heap;

	ent = realloc(s->ent, n * sizeof(*ent));
	if (!ent)
		return -ENOMEM;
	s->ent = ent;
	heap = realloc(s->heap, n * sizeof(*heap));
	if (!heap)
		return -ENOMEM;
	s->heap = heap;
	for (uint32_t i = n; i > s->n_ent; i--) {
		ent[i - 1].dd = NULL;
		ent[i - 1].heap = s->free_head;
		s->free_head = i - 1;
	}
	s->n_ent = n;
	return 0;
}

static int dstore_bucket_grow(struct dstore_bucket *bk, uint32_t n)
{
	struct dstore_slot *idx = realloc(bk->idx, n * sizeof(*idx));

	if (!idx)
		return -ENOMEM;
	bk->idx = idx;
	bk->cap = n;
	return 0;
}

/* Room for one more pool entry, heap slot and bucket slot in bucket b. */
static int dstore_reserve(struct dstore *s, uint8_t b)
{
	struct dstore_bucket *bk = &s->b[b];
	int r;

	if (s->free_head == DSTORE_NONE) {
		/* By an eighth: still amortised O(1), and a store that was sized exactly (dstore_load)
		 * does not double for its next entry (a simulator holds thousands of full ones). */
		uint64_t n = (uint64_t)s->n_ent + s->n_ent / 8 + 16;

		if (n > s->capacity)
			n = s->capacity;
		if ((r = dstore_pool_grow(s, (uint32_t)n)) < 0)
			return r;
	}
	if (bk->n == bk->cap) /* by an eighth too (a bucket holds ~1/256 of the store) */
		return dstore_bucket_grow(bk, bk->cap + bk->cap / 8 + 4);
	return 0;
}

static int dstore_insert_new(struct dstore *s, struct dstore_desc *dd)
{
	const uint8_t *id = dd->d.identity;
	struct dstore_bucket *bk = &s->b[id[0]];
	uint64_t pfx = dstore_prefix(&dd->d);
	uint32_t at, i;
	int found, r;

	/* Before any eviction: a refused newcomer must not cost a held entry its place. */
	if (s->prefix_cap && pfx && dstore_prefix_count(s, pfx) >= s->prefix_cap)
		return DSTORE_PREFIX_FULL;
	if ((r = dstore_pfx_reserve(s)) < 0)
		return r;
	if (s->count == s->capacity) {
		uint32_t soonest = s->heap[0];

		if (s->ent[soonest].expires_at >= dstore_exp32(dd->d.expires_at))
			return DSTORE_FULL;
		s->st.evicted++;
		dstore_drop(s, soonest, DSTORE_EV_EVICTED);
	}
	r = dstore_reserve(s, id[0]);
	if (r < 0)
		return r;
	at = dstore_search(s, id, &found);
	i = s->free_head;
	s->free_head = s->ent[i].heap;
	s->ent[i].dd = dstore_desc_ref(dd);
	s->ent[i].expires_at = dstore_exp32(dd->d.expires_at);
	memmove(&bk->idx[at + 1], &bk->idx[at], (bk->n - at) * sizeof(*bk->idx));
	bk->idx[at] = (struct dstore_slot){dstore_key(id), i};
	bk->n++;
	bk->dirty = 1;
	s->heap[s->count] = i;
	s->ent[i].heap = s->count;
	s->count++;
	dstore_heap_up(s, s->count - 1);
	dstore_pfx_add(s, pfx);
	return DSTORE_NEW;
}

int dstore_insert(struct dstore *s, struct dstore_desc *dd, uint64_t now)
{
	const uint8_t *id = dd->d.identity;
	int found, r;
	uint32_t at;

	r = desc_check_time(&dd->d, now);
	if (r == -DESC_E_EXPIRED)
		r = DSTORE_EXPIRED;
	else if (r < 0)
		r = DSTORE_FUTURE;
	else {
		at = dstore_search(s, id, &found);
		if (!found) {
			r = dstore_insert_new(s, dd);
		} else {
			uint32_t i = s->b[id[0]].idx[at].idx;
			struct dstore_ent *e = &s->ent[i];

			uint64_t was = s->pfx_on ? dstore_prefix(&e->dd->d) : 0;
			uint64_t pfx = s->pfx_on ? dstore_prefix(&dd->d) : 0;

			if (dd->d.seq <= e->dd->d.seq) {
				r = DSTORE_STALE;
			} else if (was != pfx && (r = dstore_pfx_reserve(s)) < 0) {
				/* -ENOMEM: nothing changed */
			} else {
				/* an identity held keeps its place, wherever it moves */
				dstore_pfx_del(s, was);
				dstore_pfx_add(s, pfx);
				dstore_desc_unref(e->dd);
				e->dd = dstore_desc_ref(dd);
				e->expires_at = dstore_exp32(dd->d.expires_at);
				dstore_heap_up(s, e->heap);
				dstore_heap_down(s, s->ent[i].heap);
				s->b[id[0]].dirty = 1;
				r = DSTORE_UPDATED;
			}
		}
	}
	if (r >= 0)
		s->st.inserted[r]++;
	s->st.count = s->count;
	if (r == DSTORE_NEW || r == DSTORE_UPDATED)
		dstore_tell(s, r == DSTORE_NEW ? DSTORE_EV_ADDED : DSTORE_EV_REPLACED, dd);
	return r;
}

int dstore_load(struct dstore *s, struct dstore_desc *const *dd, size_t n, uint64_t now)
{
	uint32_t per[DSTORE_BUCKETS] = {0};
	size_t want = s->count + n;
	int r, stored = 0;

	if (n > INT_MAX)
		return -EINVAL;
	/* Exactly the room needed (growing by doubling would leave up to half of it unused). */
	if (want > s->capacity)
		want = s->capacity;
	if (want > s->n_ent && (r = dstore_pool_grow(s, (uint32_t)want)) < 0)
		return r;
	for (size_t k = 0; k < n; k++)
		per[dd[k]->d.identity[0]]++;
	for (int b = 0; b < DSTORE_BUCKETS; b++)
		if (per[b] && s->b[b].n + per[b] > s->b[b].cap &&
		    (r = dstore_bucket_grow(&s->b[b], s->b[b].n + per[b])) < 0)
			return r;
	for (size_t k = 0; k < n; k++) {
		r = dstore_insert(s, dd[k], now);
		if (r < 0)
			return r;
		stored += r == DSTORE_NEW || r == DSTORE_UPDATED;
	}
	return stored;
}

size_t dstore_expire(struct dstore *s, uint64_t now)
{
	size_t n = 0;

	while (s->count > 0 && s->heap_min <= now) {
		s->st.expired++;
		dstore_drop(s, s->heap[0], DSTORE_EV_EXPIRED);
		n++;
	}
	return n;
}

int dstore_remove(struct dstore *s, const uint8_t identity[32])
{
	int found;
	uint32_t at = dstore_search(s, identity, &found);

	if (!found)
		return -ENOENT;
	dstore_drop(s, s->b[identity[0]].idx[at].idx, DSTORE_EV_REMOVED);
	return 0;
}

void dstore_prefetch(const struct dstore *s, const uint8_t identity[32], int stage)
{
	const struct dstore_bucket *bk = &s->b[identity[0]];

	switch (stage) {
	case 0:
		__builtin_prefetch(s); /* the pool's address */
		__builtin_prefetch(bk);
		break;
	case 1: /* the slots a binary search visits first: the middle, then a quarter either side */
		if (bk->n) {
			__builtin_prefetch(&bk->idx[bk->n / 2]);
			__builtin_prefetch(&bk->idx[bk->n / 4]);
			__builtin_prefetch(&bk->idx[bk->n - 1 - bk->n / 4]);
		}
		break;
	case 2:
	case 3: {
		/* By the 4-byte key only: a full comparison would wait for the descriptor. */
		uint32_t at = dstore_lower_key(bk, dstore_key(identity));
		if (at == bk->n || bk->idx[at].key != dstore_key(identity))
			break;
		const struct dstore_ent *e = &s->ent[bk->idx[at].idx];
		if (stage == 2)
			__builtin_prefetch(e);
		else if (e->dd) /* its identity, then the seq and times */
			for (int k = 0; k < 2; k++)
				__builtin_prefetch((const char *)&e->dd->d + 64 * k);
		break;
	}
	}
}

struct dstore_desc *dstore_get(const struct dstore *s, const uint8_t identity[32])
{
	int found;
	uint32_t at = dstore_search(s, identity, &found);

	return found ? s->ent[s->b[identity[0]].idx[at].idx].dd : NULL;
}

uint64_t dstore_seq(const struct dstore *s, const uint8_t identity[32])
{
	const struct dstore_desc *dd = dstore_get(s, identity);

	return dd ? dd->d.seq : 0;
}

size_t dstore_count(const struct dstore *s)
{
	return s->count;
}

size_t dstore_capacity(const struct dstore *s)
{
	return s->capacity;
}

const struct dstore_stats *dstore_stats(const struct dstore *s)
{
	return &s->st;
}

size_t dstore_page(const struct dstore *s, const uint8_t after[32], dstore_filter_fn filter,
                   void *ctx, const struct dstore_desc **out, size_t max, size_t scan,
                   uint8_t next[32])
{
	static const uint8_t zero[32];
	size_t n = 0, looked = 0;
	unsigned b;
	uint32_t at;
	int found;

	if (!after)
		after = zero;
	/* Strictly after: skip an exact match. */
	at = dstore_search(s, after, &found);
	if (found)
		at++;
	memset(next, 0, 32);
	for (b = after[0]; b < DSTORE_BUCKETS; b++, at = 0) {
		const struct dstore_bucket *bk = &s->b[b];

		for (; at < bk->n; at++) {
			const struct dstore_desc *dd = s->ent[bk->idx[at].idx].dd;

			if (n == max || (scan && looked == scan))
				return n; /* more remain: next names the last one looked at */
			looked++;
			memcpy(next, dd->d.identity, 32);
			if (!filter || filter(dd, ctx))
				out[n++] = dd;
		}
	}
	memset(next, 0, 32);
	return n;
}

size_t dstore_bucket_count(const struct dstore *s, uint8_t b)
{
	return s->b[b].n;
}

const struct dstore_desc *dstore_bucket_at(const struct dstore *s, uint8_t b, size_t i)
{
	return i < s->b[b].n ? s->ent[s->b[b].idx[i].idx].dd : NULL;
}

size_t dstore_bucket_lower(const struct dstore *s, const uint8_t identity[32])
{
	int found;

	return dstore_search(s, identity, &found);
}

void dstore_digest(struct dstore *s, uint8_t b, uint8_t out[DSTORE_DIGEST_LEN])
{
	struct dstore_bucket *bk = &s->b[b];

	if (bk->dirty) {
		crypto_generichash_state st;
		uint8_t h[32], pair[40];

		memset(bk->digest, 0, sizeof(bk->digest));
		if (bk->n > 0) {
			crypto_generichash_init(&st, NULL, 0, sizeof(h));
			for (uint32_t i = 0; i < bk->n; i++) {
				const struct descriptor *d = &s->ent[bk->idx[i].idx].dd->d;

				/* Each entry and descriptor is a cache miss: load a few ahead. */
				if (i + 8 < bk->n)
					__builtin_prefetch(&s->ent[bk->idx[i + 8].idx]);
				if (i + 4 < bk->n)
					__builtin_prefetch(&s->ent[bk->idx[i + 4].idx].dd->d);

				memcpy(pair, d->identity, 32);
				buf_store_be64(pair + 32, d->seq);
				crypto_generichash_update(&st, pair, sizeof(pair));
			}
			crypto_generichash_final(&st, h, sizeof(h));
			memcpy(bk->digest, h, sizeof(bk->digest));
		}
		bk->dirty = 0;
	}
	memcpy(out, bk->digest, DSTORE_DIGEST_LEN);
}

size_t dstore_mark_endpoints(const struct dstore *s, const struct addr *a, size_t n, bool *known,
                             const uint8_t key[16], uint64_t now)
{
	uint8_t slot[2 * DSTORE_MARK_MAX]; /* index + 1 of an address, 0 empty; a power of two */
	const size_t mask = sizeof(slot) - 1;
	size_t left = 0, set = 0;

	if (n > DSTORE_MARK_MAX)
		n = DSTORE_MARK_MAX;
	memset(slot, 0, sizeof(slot));
	for (size_t i = 0; i < n; i++) {
		size_t j = (size_t)addr_hash(&a[i], key) & mask;

		if (known[i])
			continue;
		while (slot[j])
			j = (j + 1) & mask;
		slot[j] = (uint8_t)(i + 1);
		left++;
	}
	for (unsigned b = 0; b < DSTORE_BUCKETS && left; b++) {
		size_t count = dstore_bucket_count(s, (uint8_t)b);

		for (size_t x = 0; x < count && left; x++) {
			const struct descriptor *d = &dstore_bucket_at(s, (uint8_t)b, x)->d;

			if (d->expires_at <= now)
				continue;
			for (int e = 0; e < d->n_endpoints; e++) {
				const struct addr *ep = &d->endpoints[e].addr;

				if (d->endpoints[e].transport != DESC_T_UDP)
					continue;
				for (size_t j = (size_t)addr_hash(ep, key) & mask; slot[j];
				     j = (j + 1) & mask) {
					size_t i = slot[j] - 1u;

					if (!known[i] && addr_equal(&a[i], ep)) {
						known[i] = true;
						set++;
						left--;
					}
				}
			}
		}
	}
	return set;
}
