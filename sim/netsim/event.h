/*
 * event.h: the simulator's event queue, ordered by (time in ms, insertion number), so events due
 * at the same millisecond run in the order they were scheduled and a run is the same every
 * time: a calendar of 1 ms buckets for the next minute or so, a heap beyond (event.c). The
 * queue's clock is the time of the last event popped.
 * Bounded: a push past the capacity fails rather than growing without limit.
 */
#ifndef WGR_NETSIM_EVENT_H
#define WGR_NETSIM_EVENT_H

#include <stddef.h>
#include <stdint.h>

struct event {
	uint64_t at;  /* simulated ms */
	uint64_t seq; /* insertion number (set by event_push), or the caller's key */
	uint32_t kind;
	uint32_t dst, src; /* relay indexes, where the kind has them */
	uint32_t aux;
	void *p; /* payload owned by whoever handles the event */
};

struct event_queue;

/* A queue holding at most max events (max >= 1). 0 or -ENOMEM / -EINVAL. */
int event_queue_new(struct event_queue **out, size_t max);
/* Frees the queue, not the payloads still queued (event_drain first). NULL is a no-op. */
void event_queue_free(struct event_queue *q);
/*
 * Schedule e (e->at must not be before the clock; an earlier time is moved to now). 0, or
 * -ENOSPC when the queue holds max events (the event is not queued; the caller counts it).
 */
int event_push(struct event_queue *q, const struct event *e);
/*
 * event_push with the caller's e->seq as the tie-break within a millisecond instead of the
 * insertion number: the order then does not depend on the order of the pushes. Keys must be
 * unique among keyed events (and not mixed with event_push in one queue: its numbers count
 * from 0).
 */
int event_push_keyed(struct event_queue *q, const struct event *e);
/* Pop the earliest event into *e and move the clock to its time: 0, or -ENOENT when empty. */
int event_pop(struct event_queue *q, struct event *e);
/* The earliest event, left queued (NULL when empty): valid until the next push or pop. */
const struct event *event_peek(struct event_queue *q);
/*
 * The next k events at most, in the order they would pop as queued now, into out: how many.
 * Cheap for the events of the coming minute (a walk of the calendar); past those it stops at
 * the first of the heap. The same validity as event_peek: for prefetching what comes.
 */
size_t event_peek_n(struct event_queue *q, const struct event **out, size_t k);
/* Time of the earliest event without popping it: 0, or -ENOENT when empty. */
int event_peek_time(const struct event_queue *q, uint64_t *at);
/* The clock: time of the last event popped (0 at start). */
uint64_t event_now(const struct event_queue *q);
size_t event_count(const struct event_queue *q);
/* The most events queued at once so far, and pushes refused for lack of room. */
size_t event_peak(const struct event_queue *q);
uint64_t event_refused(const struct event_queue *q);

#endif
