/*
 * event.c: a calendar of 1 ms buckets over the next EVENT_WHEEL ms, each a FIFO list, and a
 * 4-ary min-heap for what lies further ahead. Every event of one millisecond sits in one list
 * in the order it was pushed, so popping the head of the earliest non-empty bucket gives the
 * (at, seq) order of a single heap at O(1) a push and pop.
 *
 * Why the order is exact: the wheel holds the events before `horizon`, the heap those at or
 * after it. A push before the horizon appends to its bucket; one at or after it goes to the
 * heap. Each pop first moves the horizon to (next time + EVENT_WHEEL) and moves every heap
 * event before the new horizon to its bucket, in (at, seq) order. So when a push appends to a
 * bucket, every earlier-pushed event of that millisecond is already there, and a bucket never
 * holds two different milliseconds (all wheel events lie in [next time, horizon), one wheel
 * length at most).
 */
#include "event.h"

#include <errno.h>
#include <stdlib.h>

#define EVENT_WHEEL_BITS 16
#define EVENT_WHEEL      (1u << EVENT_WHEEL_BITS) /* ms: about 65 s */
#define EVENT_MASK       (EVENT_WHEEL - 1)
#define EVENT_NONE       UINT32_MAX

struct event_node {
	struct event e; /* first: a peeked event pointer is its node's */
	uint32_t next;
};

struct event_queue {
	struct event_node *pool;
	uint32_t pool_n, pool_cap, free_head;
	uint32_t head[EVENT_WHEEL], tail[EVENT_WHEEL];
	uint64_t bits[EVENT_WHEEL / 64]; /* non-empty buckets */
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
	if (max == 0 || max >= EVENT_NONE)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->max = max;
	q->free_head = EVENT_NONE;
	q->horizon = EVENT_WHEEL;
	for (uint32_t b = 0; b < EVENT_WHEEL; b++)
		q->head[b] = q->tail[b] = EVENT_NONE;
	*out = q;
	return 0;
}

void event_queue_free(struct event_queue *q)
{
	if (!q)
		return;
	free(q->pool);
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
	uint32_t i = q->free_head;

	if (i != EVENT_NONE) {
		q->free_head = q->pool[i].next;
	} else {
		if (q->pool_n == q->pool_cap) {
			uint32_t cap = q->pool_cap ? q->pool_cap + q->pool_cap / 2 : 1024;
			struct event_node *p = realloc(q->pool, (size_t)cap * sizeof(*p));
			if (!p)
				return -ENOMEM;
			q->pool = p;
			q->pool_cap = cap;
		}
		i = q->pool_n++;
	}
	uint32_t b = (uint32_t)(v->at & EVENT_MASK);
	q->pool[i].e = *v;
	q->pool[i].next = EVENT_NONE;
	if (q->tail[b] == EVENT_NONE)
		q->head[b] = i;
	else
		q->pool[q->tail[b]].next = i;
	q->tail[b] = i;
	q->bits[b / 64] |= 1ull << (b % 64);
	q->in_wheel++;
	return 0;
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

int event_push(struct event_queue *q, const struct event *e)
{
	if (q->n == q->max) {
		q->refused++;
		return -ENOSPC;
	}
	struct event v = *e;
	if (v.at < q->now)
		v.at = q->now;
	v.seq = q->next_seq;
	int r = v.at < q->horizon ? wheel_add(q, &v) : heap_add(q, &v);
	if (r < 0) {
		q->refused++;
		return r;
	}
	q->next_seq++;
	if (++q->n > q->peak)
		q->peak = q->n;
	return 0;
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
	uint32_t b = (uint32_t)(t & EVENT_MASK), i = q->head[b];
	if (i == EVENT_NONE || q->pool[i].e.at != t) {
		heap_pop(q, e); /* only after a failed move above */
	} else {
		*e = q->pool[i].e;
		q->head[b] = q->pool[i].next;
		if (q->head[b] == EVENT_NONE) {
			q->tail[b] = EVENT_NONE;
			q->bits[b / 64] &= ~(1ull << (b % 64));
		}
		q->pool[i].next = q->free_head;
		q->free_head = i;
		q->in_wheel--;
	}
	q->n--;
	q->now = e->at;
	return 0;
}

size_t event_peek_n(const struct event_queue *q, const struct event **out, size_t k)
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
		uint32_t i = q->head[t & EVENT_MASK];
		for (; i != EVENT_NONE && got < k; i = q->pool[i].next)
			out[got++] = &q->pool[i].e;
		/* The next call walks one node further: start loading it. */
		if (i != EVENT_NONE)
			__builtin_prefetch(&q->pool[i]);
		t++;
	}
	/* The wheel ran out: the heap's earliest comes next. */
	if (got < k && q->hn && got == q->in_wheel)
		out[got++] = &q->h[0];
	return got;
}

const struct event *event_peek(const struct event_queue *q)
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
