/*
 * event.c: a calendar of 1 ms buckets over the next EVENT_WHEEL ms, each an array of its
 * events, and a 4-ary min-heap for what lies further ahead. Popping the front of the earliest
 * non-empty bucket gives the (at, seq) order of a single heap at O(1) a push and pop.
 *
 * Why the order is exact: the wheel holds the events before `horizon`, the heap those at or
 * after it. A push before the horizon appends to its bucket; one at or after it goes to the
 * heap. Each pop first moves the horizon to (next time + EVENT_WHEEL) and moves every heap
 * event before the new horizon to its bucket, in (at, seq) order. A bucket never holds two
 * different milliseconds (all wheel events lie in [next time, horizon), one wheel length at
 * most). An append behind a larger seq (a keyed push, event_push_keyed, or a heap event moved
 * in after later pushes) marks the bucket unsorted, and the bucket is sorted by seq the first
 * time a pop or peek reaches it. A bucket's events lie side by side, so the sort and the pops
 * read them in order, not by following pointers.
 */
#include "event.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define EVENT_WHEEL_BITS 16
#define EVENT_WHEEL      (1u << EVENT_WHEEL_BITS) /* ms: about 65 s */
#define EVENT_MASK       (EVENT_WHEEL - 1)
/* An emptied bucket keeps an array this large for the next millisecond it holds. */
#define EVENT_KEEP 64

struct bucket {
	struct event *v; /* v[pos..n) are queued */
	uint32_t n, cap, pos;
};

struct sort_key {
	uint64_t seq;
	uint32_t i;
};

struct event_queue {
	struct bucket b[EVENT_WHEEL];
	uint64_t bits[EVENT_WHEEL / 64];     /* non-empty buckets */
	uint64_t unsorted[EVENT_WHEEL / 64]; /* buckets not in seq order */
	struct sort_key *keys;               /* a bucket's keys while it is sorted */
	struct event *tmp;
	size_t scratch_cap;
	size_t in_wheel;
	struct event *h; /* the heap: events at or after horizon */
	size_t hn, hcap;
	size_t n, max, peak;
	uint64_t now, horizon, next_seq, refused;
};

int event_queue_new(struct event_queue **out, size_t max)
{
	struct event_queue *q;

	*out = NULL;
	if (max == 0 || max >= UINT32_MAX)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->max = max;
	q->horizon = EVENT_WHEEL;
	*out = q;
	return 0;
}

void event_queue_free(struct event_queue *q)
{
	if (!q)
		return;
	for (uint32_t b = 0; b < EVENT_WHEEL; b++)
		free(q->b[b].v);
	free(q->keys);
	free(q->tmp);
	free(q->h);
	free(q);
}

static int before(const struct event *a, const struct event *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

/* Append v (seq set) to its bucket. 0 or -ENOMEM. */
static int wheel_add(struct event_queue *q, const struct event *v)
{
	uint32_t b = (uint32_t)(v->at & EVENT_MASK);
	struct bucket *k = &q->b[b];

	if (k->n == k->cap) {
		uint32_t cap = k->cap ? k->cap * 2 : 16;
		struct event *nv = realloc(k->v, (size_t)cap * sizeof(*nv));
		if (!nv)
			return -ENOMEM;
		k->v = nv;
		k->cap = cap;
	}
	if (k->n > k->pos && k->v[k->n - 1].seq > v->seq)
		q->unsorted[b / 64] |= 1ull << (b % 64);
	k->v[k->n++] = *v;
	q->bits[b / 64] |= 1ull << (b % 64);
	q->in_wheel++;
	return 0;
}

/* Sort bucket b's queued events by seq when an append left them out of order. */
static void bucket_sort(struct event_queue *q, uint32_t b)
{
	if (!(q->unsorted[b / 64] & (1ull << (b % 64))))
		return;
	struct bucket *k = &q->b[b];
	struct event *v = k->v + k->pos;
	size_t n = k->n - k->pos;

	if (n > q->scratch_cap) {
		struct sort_key *nk = realloc(q->keys, n * sizeof(*nk));
		if (nk)
			q->keys = nk;
		struct event *nt = nk ? realloc(q->tmp, n * sizeof(*nt)) : NULL;
		if (nt)
			q->tmp = nt;
		if (nk && nt)
			q->scratch_cap = n;
	}
	if (n <= q->scratch_cap) {
		/* Sort the keys (small), then move each event once. */
		for (size_t i = 0; i < n; i++) {
			struct sort_key x = {.seq = v[i].seq, .i = (uint32_t)i};
			size_t j = i;
			for (; j > 0 && q->keys[j - 1].seq > x.seq; j--)
				q->keys[j] = q->keys[j - 1];
			q->keys[j] = x;
		}
		for (size_t i = 0; i < n; i++)
			q->tmp[i] = v[q->keys[i].i];
		memcpy(v, q->tmp, n * sizeof(*v));
	} else {
		/* No memory for the keys: sort the events where they are. */
		for (size_t i = 1; i < n; i++) {
			struct event x = v[i];
			size_t j = i;
			for (; j > 0 && v[j - 1].seq > x.seq; j--)
				v[j] = v[j - 1];
			v[j] = x;
		}
	}
	q->unsorted[b / 64] &= ~(1ull << (b % 64));
}

static int heap_add(struct event_queue *q, const struct event *v)
{
	if (q->hn == q->hcap) {
		size_t cap = q->hcap ? q->hcap * 2 : 256;
		struct event *h = realloc(q->h, cap * sizeof(*h));
		if (!h)
			return -ENOMEM;
		q->h = h;
		q->hcap = cap;
	}
	size_t i = q->hn++;
	while (i > 0) {
		size_t parent = (i - 1) / 4;
		if (!before(v, &q->h[parent]))
			break;
		q->h[i] = q->h[parent];
		i = parent;
	}
	q->h[i] = *v;
	return 0;
}

static void heap_pop(struct event_queue *q, struct event *e)
{
	*e = q->h[0];
	struct event last = q->h[--q->hn];
	size_t i = 0, n = q->hn;
	for (;;) {
		size_t c = 4 * i + 1, best = c;
		if (c >= n)
			break;
		for (size_t k = c + 1; k < c + 4 && k < n; k++)
			if (before(&q->h[k], &q->h[best]))
				best = k;
		if (!before(&q->h[best], &last))
			break;
		q->h[i] = q->h[best];
		i = best;
	}
	if (n)
		q->h[i] = last;
}

static int push(struct event_queue *q, struct event *v)
{
	if (q->n == q->max) {
		q->refused++;
		return -ENOSPC;
	}
	if (v->at < q->now)
		v->at = q->now;
	int r = v->at < q->horizon ? wheel_add(q, v) : heap_add(q, v);
	if (r < 0) {
		q->refused++;
		return r;
	}
	if (++q->n > q->peak)
		q->peak = q->n;
	return 0;
}

int event_push(struct event_queue *q, const struct event *e)
{
	struct event v = *e;

	v.seq = q->next_seq;
	int r = push(q, &v);
	if (r == 0)
		q->next_seq++;
	return r;
}

int event_push_keyed(struct event_queue *q, const struct event *e)
{
	struct event v = *e;

	return push(q, &v);
}

/* The first non-empty bucket at or after time `from` within the wheel (its time), or UINT64_MAX. */
static uint64_t wheel_next(const struct event_queue *q, uint64_t from, uint64_t until)
{
	while (from < until) {
		uint32_t b = (uint32_t)(from & EVENT_MASK);
		uint64_t w = q->bits[b / 64] >> (b % 64);
		/* A bit past `until` is a bucket's time one wheel earlier: not in range. */
		if (w)
			return from + (uint64_t)__builtin_ctzll(w) < until
			           ? from + (uint64_t)__builtin_ctzll(w)
			           : UINT64_MAX;
		from += 64 - b % 64;
	}
	return UINT64_MAX;
}

/* Time of the earliest event (the queue not empty). */
static uint64_t next_time(const struct event_queue *q)
{
	if (q->in_wheel) {
		uint64_t t = wheel_next(q, q->now, q->horizon);
		if (t != UINT64_MAX)
			return t;
	}
	return q->h[0].at;
}

int event_pop(struct event_queue *q, struct event *e)
{
	if (q->n == 0)
		return -ENOENT;
	uint64_t t = next_time(q);
	/* Bring the wheel up to t: its horizon one wheel ahead, the heap's events before it in. */
	q->horizon = t + EVENT_WHEEL;
	while (q->hn && q->h[0].at < q->horizon) {
		struct event v;
		heap_pop(q, &v);
		if (wheel_add(q, &v) < 0) {
			/* No memory for a node: put it back and hand this one out from the heap. */
			heap_add(q, &v);
			q->horizon = v.at;
			break;
		}
	}
	uint32_t b = (uint32_t)(t & EVENT_MASK);
	struct bucket *k = &q->b[b];
	bucket_sort(q, b);
	if (k->n == k->pos || k->v[k->pos].at != t) {
		heap_pop(q, e); /* only after a failed move above */
	} else {
		*e = k->v[k->pos++];
		if (k->pos == k->n) {
			k->pos = k->n = 0;
			q->bits[b / 64] &= ~(1ull << (b % 64));
			if (k->cap > EVENT_KEEP) {
				free(k->v);
				k->v = NULL;
				k->cap = 0;
			}
		}
		q->in_wheel--;
	}
	q->n--;
	q->now = e->at;
	return 0;
}

size_t event_peek_n(struct event_queue *q, const struct event **out, size_t k)
{
	size_t got = 0;
	uint64_t t = q->now;

	if (!q->in_wheel) {
		if (k && q->hn)
			out[got++] = &q->h[0];
		return got;
	}
	while (got < k) {
		t = wheel_next(q, t, q->horizon);
		if (t == UINT64_MAX)
			break;
		uint32_t b = (uint32_t)(t & EVENT_MASK);
		bucket_sort(q, b);
		for (uint32_t i = q->b[b].pos; i < q->b[b].n && got < k; i++)
			out[got++] = &q->b[b].v[i];
		t++;
	}
	/* The wheel ran out: the heap's earliest comes next. */
	if (got < k && q->hn && got == q->in_wheel)
		out[got++] = &q->h[0];
	return got;
}

const struct event *event_peek(struct event_queue *q)
{
	const struct event *e = NULL;

	return event_peek_n(q, &e, 1) ? e : NULL;
}

int event_peek_time(const struct event_queue *q, uint64_t *at)
{
	if (q->n == 0)
		return -ENOENT;
	*at = next_time(q);
	return 0;
}

uint64_t event_now(const struct event_queue *q)
{
	return q->now;
}

size_t event_count(const struct event_queue *q)
{
	return q->n;
}

size_t event_peak(const struct event_queue *q)
{
	return q->peak;
}

uint64_t event_refused(const struct event_queue *q)
{
	return q->refused;
}
