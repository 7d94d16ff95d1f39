/*
 * track.c: who holds each descriptor published during the run, and when its reach crossed
 * each share of the relays. Only relays that existed and were up when it was published count
 * (later ones are fed by anti-entropy, which the convergence figure covers); a relay that
 * leaves stops counting either way. Holding a newer seq of the same relay counts as holding.
 * Within a window each thread logs what its relays got; between windows the logs are applied
 * in time order, so a share is reached at the same millisecond whatever the threads.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "spread_int.h"

const double spread_reach_share[SPREAD_SHARES] = {1,  5,  10, 15, 20, 25, 30, 35, 40, 45, 50,
                                                  55, 60, 65, 70, 75, 80, 85, 90, 95, 99, 100};
#define SHARE_50  10
#define SHARE_90  18
#define SHARE_99  20
#define SHARE_100 21

int track_new(struct spread *s, uint32_t relay, const struct dcache_ent *e)
{
	struct dcache_ent *me = (struct dcache_ent *)(uintptr_t)e;

	if (s->n_tr == s->cap_tr) {
		size_t cap = s->cap_tr ? s->cap_tr * 2 : 1024;
		struct track *t = realloc(s->tr, cap * sizeof(*t));
		if (!t)
			return -ENOMEM;
		s->tr = t;
		s->cap_tr = cap;
	}
	struct track *t = &s->tr[s->n_tr];
	memset(t, 0, sizeof(*t));
	t->relay = relay;
	t->seq = e->dd->d.seq;
	t->pub_ms = s->now;
	t->n_at = (uint32_t)s->n;
	t->target = (uint32_t)s->n_up;
	t->bits = calloc((t->n_at + 7) / 8, 1);
	if (!t->bits)
		return -ENOMEM;
	for (int k = 0; k < SPREAD_SHARES; k++)
		t->at_ms[k] = -1;
	t->in_cut = s->p.cut_len_min > 0 && s->now + 60000 >= s->cut_ms && s->now < s->heal_ms;
	t->prev = s->r[relay].last_track;
	s->r[relay].last_track = (int32_t)s->n_tr;
	me->track = (int32_t)s->n_tr;
	/* The same bytes in every other thread's cache (sign put them there) get the same tag. */
	for (unsigned k = 0; k < s->nth; k++) {
		struct dcache_ent *o = dcache_get(&s->th[k].dc, e->dd->bytes, e->dd->len);
		if (o)
			o->track = (int32_t)s->n_tr;
	}
	s->n_tr++;
	return 0;
}

static void reached(struct track *t, uint64_t now)
{
	for (int k = 0; k < SPREAD_SHARES; k++)
		if (t->at_ms[k] < 0 &&
		    (double)t->holders * 100.0 >= spread_reach_share[k] * (double)t->target)
			t->at_ms[k] = (int32_t)(now - t->pub_ms);
}

static void got_one(struct track *t, uint32_t relay, uint64_t now)
{
	if (relay >= t->n_at || (t->bits[relay / 8] & (1u << (relay % 8))))
		return;
	t->bits[relay / 8] |= (uint8_t)(1u << (relay % 8));
	t->holders++;
	reached(t, now);
}

static void got(struct spread *s, int32_t track, uint32_t relay, uint64_t now)
{
	/* This one and every older tracked seq of the same relay: a newer seq supersedes. */
	for (int32_t k = track; k >= 0; k = s->tr[k].prev)
		got_one(&s->tr[k], relay, now);
}

void track_got(struct sthread *t, const struct dcache_ent *e, uint32_t relay)
{
	if (!e || e->track < 0)
		return;
	if (t->s->serial) {
		got(t->s, e->track, relay, t->now);
		return;
	}
	if (t->n_got == t->cap_got) {
		size_t cap = t->cap_got ? t->cap_got * 2 : 1024;
		struct track_got_ent *g = realloc(t->got, cap * sizeof(*g));
		if (!g) {
			t->got_failed++;
			return;
		}
		t->got = g;
		t->cap_got = cap;
	}
	t->got[t->n_got++] =
	    (struct track_got_ent){.at = t->now, .track = e->track, .relay = relay};
}

void track_apply(struct spread *s)
{
	size_t pos[SPREAD_THREADS_MAX] = {0};

	/* Each log is in time order (a thread runs its events so): merge them. Within one
	 * millisecond the order does not matter, a share being reached at that millisecond. */
	for (;;) {
		struct sthread *best = NULL;
		for (unsigned k = 0; k < s->nth; k++) {
			struct sthread *t = &s->th[k];
			if (pos[k] < t->n_got &&
			    (!best || t->got[pos[k]].at < best->got[pos[best->id]].at))
				best = t;
		}
		if (!best)
			break;
		const struct track_got_ent *g = &best->got[pos[best->id]++];
		got(s, g->track, g->relay, g->at);
	}
	for (unsigned k = 0; k < s->nth; k++)
		s->th[k].n_got = 0;
}

void track_left(struct spread *s, uint32_t relay)
{
	for (size_t k = 0; k < s->n_tr; k++) {
		struct track *t = &s->tr[k];
		if (relay >= t->n_at || t->holders == t->target)
			continue;
		if (t->bits[relay / 8] & (1u << (relay % 8)))
			t->holders--;
		t->target--;
		reached(t, s->now);
	}
}

size_t track_missing(struct spread *s)
{
	size_t missing = 0;

	for (size_t k = 0; k < s->n_tr; k++)
		if (s->tr[k].in_cut)
			missing += s->tr[k].target - s->tr[k].holders;
	return missing;
}

void track_finish(struct spread *s, struct spread_result *r)
{
	struct stats share[SPREAD_SHARES];
	/* The last minutes are too short to measure in: up to 5 min, a third of a short run. */
	uint64_t span = s->end_ms > s->warm_ms ? s->end_ms - s->warm_ms : 0;
	uint64_t settle = span / 3 < 5 * 60000 ? span / 3 : 5 * 60000;

	for (int k = 0; k < SPREAD_SHARES; k++)
		stats_init(&share[k], s->n_tr + 1);
	stats_init(&r->t50, s->n_tr + 1);
	stats_init(&r->t90, s->n_tr + 1);
	stats_init(&r->t99, s->n_tr + 1);
	stats_init(&r->t100, s->n_tr + 1);
	r->tracked = s->n_tr;
	for (size_t i = 0; i < s->n_tr; i++) {
		struct track *t = &s->tr[i];
		if (t->in_cut || t->pub_ms + settle > s->end_ms || t->pub_ms < s->warm_ms)
			continue;
		r->measured++;
		for (int k = 0; k < SPREAD_SHARES; k++)
			stats_add(&share[k], t->at_ms[k] < 0 ? INFINITY : t->at_ms[k] / 1000.0);
		if (t->at_ms[SHARE_99] < 0)
			r->never99++;
		stats_add(&r->t50, t->at_ms[SHARE_50] < 0 ? INFINITY : t->at_ms[SHARE_50] / 1000.0);
		stats_add(&r->t90, t->at_ms[SHARE_90] < 0 ? INFINITY : t->at_ms[SHARE_90] / 1000.0);
		stats_add(&r->t99, t->at_ms[SHARE_99] < 0 ? INFINITY : t->at_ms[SHARE_99] / 1000.0);
		stats_add(&r->t100,
		          t->at_ms[SHARE_100] < 0 ? INFINITY : t->at_ms[SHARE_100] / 1000.0);
	}
	for (int k = 0; k < SPREAD_SHARES; k++) {
		r->reach_p50[k] = stats_quantile(&share[k], 0.5);
		stats_free(&share[k]);
	}
}

int track_write(struct spread *s, const char *dir)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/spread_desc.csv", dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "relay,seq,pub_s,in_cut,target,holders,t50_s,t90_s,t99_s,t100_s\n");
	for (size_t i = 0; i < s->n_tr; i++) {
		struct track *t = &s->tr[i];
		fprintf(f, "%u,%llu,%.3f,%d,%u,%u", t->relay, (unsigned long long)t->seq,
		        t->pub_ms / 1000.0, t->in_cut, t->target, t->holders);
		int ks[4] = {SHARE_50, SHARE_90, SHARE_99, SHARE_100};
		for (int k = 0; k < 4; k++)
			fprintf(f, ",%.3f", t->at_ms[ks[k]] < 0 ? -1.0 : t->at_ms[ks[k]] / 1000.0);
		fprintf(f, "\n");
	}
	fclose(f);
	return 0;
}

void track_free(struct spread *s)
{
	for (size_t i = 0; i < s->n_tr; i++)
		free(s->tr[i].bits);
	free(s->tr);
	s->tr = NULL;
	s->n_tr = s->cap_tr = 0;
	for (unsigned k = 0; k < s->nth; k++) {
		free(s->th[k].got);
		s->th[k].got = NULL;
		s->th[k].n_got = s->th[k].cap_got = 0;
	}
}
