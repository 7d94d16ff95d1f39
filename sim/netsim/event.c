/* event.c: a 4-ary min-heap keyed by (at, seq); shallower than a binary heap, so fewer cache misses. */
#include "event.h"

#include <errno.h>
#include <stdlib.h>

struct event_queue {
	struct event *h;
	size_t n, cap, max, peak;
	uint64_t now, next_seq, refused;
};

int event_queue_new(struct event_queue **out, size_t max)
{
	struct event_queue *q;

	*out = NULL;
	if (max == 0)
		return -EINVAL;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->max = max;
	q->cap = max < 1024 ? max : 1024;
	q->h = malloc(q->cap * sizeof(*q->h));
	if (!q->h) {
		free(q);
		return -ENOMEM;
	}
	*out = q;
	return 0;
}

void event_queue_free(struct event_queue *q)
{
	if (!q)
		return;
	free(q->h);
	free(q);
}

static int before(const struct event *a, const struct event *b)
{
	return a->at < b->at || (a->at == b->at && a->seq < b->seq);
}

int event_push(struct event_queue *q, const struct event *e)
{
	if (q->n == q->max) {
		q->refused++;
		return -ENOSPC;
	}
	if (q->n == q->cap) {
		size_t cap = q->cap * 2 < q->max ? q->cap * 2 : q->max;
		struct event *h = realloc(q->h, cap * sizeof(*h));
		if (!h) {
			q->refused++;
			return -ENOMEM;
		}
		q->h = h;
		q->cap = cap;
	}
	struct event v = *e;
	if (v.at < q->now)
		v.at = q->now;
	v.seq = q->next_seq++;
	size_t i = q->n++;
	while (i > 0) {
		size_t parent = (i - 1) / 4;
		if (!before(&v, &q->h[parent]))
			break;
		q->h[i] = q->h[parent];
		i = parent;
	}
	q->h[i] = v;
	if (q->n > q->peak)
		q->peak = q->n;
	return 0;
}

int event_pop(struct event_queue *q, struct event *e)
{
	if (q->n == 0)
		return -ENOENT;
	*e = q->h[0];
	q->now = e->at;
	struct event last = q->h[--q->n];
	size_t i = 0, n = q->n;
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
	return 0;
}

const struct event *event_peek(const struct event_queue *q)
{
	return q->n ? &q->h[0] : NULL;
}

const struct event *event_peek2(const struct event_queue *q)
{
	const struct event *best = NULL;

	/* The second earliest is one of the root's children. */
	for (size_t k = 1; k < 5 && k < q->n; k++)
		if (!best || before(&q->h[k], best))
			best = &q->h[k];
	return best;
}

int event_peek_time(const struct event_queue *q, uint64_t *at)
{
	if (q->n == 0)
		return -ENOENT;
	*at = q->h[0].at;
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
