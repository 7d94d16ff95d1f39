/*
 * spread.c: scenario 1 (spread.h): set-up, the event loop, churn, the partition, figures.
 *
 * The loop runs on several threads in windows of simulated time. Each thread owns the relays
 * whose index is its id modulo the threads and keeps their events in its own queue. A relay's
 * event changes only that relay's state; what it sends another relay arrives after the
 * network's delay, never less than the access delay (5 ms). So the threads can run their
 * relays' events from time T to T + 5 ms at once: an event one of them schedules for another
 * thread's relay (kept in an outbox) is due at T + 5 ms or later, and the other thread takes
 * it into its queue before the next window. Between windows one thread runs the scenario's own
 * events (churn, the partition, samples, relays' refreshes), which touch every relay, and
 * applies the logs of who got which tracked descriptor.
 *
 * One seed gives one result whatever the number of threads: within a millisecond, a relay's
 * events are ordered by who scheduled them and that relay's count (srelay_push), not by the
 * order pushes happened in; the network's draws for a message are the sender's own; each
 * thread verifies descriptors into its own cache and the caches agree on every verdict.
 */
#include "spread.h"

#include <errno.h>
#include <math.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "barrier.h"
#include "spread_int.h"

/* Stream id of the scenario's own decisions. */
#define SPREAD_RNG_STREAM 0x737072656164ull

void spread_params_default(struct spread_params *p)
{
	memset(p, 0, sizeof(*p));
	p->relays = 10000;
	p->hours = 1.0;
	p->loss = 0.05;
	p->churn_per_h = 0.10;
	p->refresh_h = 3.0;
	p->lifetime_h = 12.0;
	p->warmup_min = 5.0;
	p->cut_at_min = 20.0;
	p->cut_len_min = 10.0;
	p->cut_region = WORLD_R_ASIA;
	p->boot_min = 1;
	p->boot_max = 2;
	p->warm_known = 32;
	p->lp_candidates = 256;
	p->max_events = 50u * 1000 * 1000;
	p->seed = 1;
	p->converged = true;
	p->dht_lookup = true;
	p->threads = 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_pk(const void *a, const void *b, void *ctx)
{
	const struct spread *s = ctx;

	return memcmp(s->r[*(const uint32_t *)a].pk, s->r[*(const uint32_t *)b].pk, 32);
}

/* Every relay starts holding every relay's current descriptor: the network has been running. */
static int warm_fill(struct spread *s)
{
	uint32_t *order = malloc(s->n * sizeof(*order));
	struct dstore_desc **dd = calloc(s->n * s->nth, sizeof(*dd));

	if (!order || !dd) {
		free(order);
		free(dd);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < s->n; i++)
		order[i] = i;
	/* In identity order, each insert appends to its bucket: no tail moves. */
	qsort_r(order, s->n, sizeof(*order), cmp_pk, s);
	/* Each thread's relays share that thread's copies (sign put every one in every cache). */
	for (size_t k = 0; k < s->n; k++) {
		const struct dstore_desc *own =
		    dstore_get(gossip_store(s->r[order[k]].g), s->r[order[k]].pk);
		for (unsigned h = 0; own && h < s->nth; h++) {
			struct dcache_ent *e = dcache_get(&s->th[h].dc, own->bytes, own->len);
			dd[h * s->n + k] = e ? e->dd : NULL;
		}
	}
	for (size_t i = 0; i < s->n; i++) {
		struct gossip *g = s->r[i].g;
		struct dstore_desc **mine = &dd[sowner(s, (uint32_t)i)->id * s->n];
		if (s->p.converged) {
			/* The verified descriptors themselves, shared; the own one is a duplicate. */
			if (gossip_preload(g, mine, s->n, SPREAD_T0_MS + s->now) < 0) {
				free(order);
				free(dd);
				return -ENOMEM;
			}
		} else {
			for (size_t k = 0; k < s->n; k++)
				if (order[k] != i && mine[k])
					gossip_offer(g, GOSSIP_LINK_NONE, mine[k]->bytes,
					             mine[k]->len, SPREAD_T0_MS + s->now);
		}
		if (s->p.progress && i % 1000 == 999)
			fprintf(stderr, "warm: %zu/%zu stores filled\n", i + 1, s->n);
	}
	free(order);
	free(dd);
	return 0;
}

static void scenario_push(struct spread *s, uint64_t at, uint32_t kind, uint32_t aux)
{
	event_push(s->gq, &(struct event){.at = at, .kind = kind, .aux = aux});
}

static uint64_t msgs_sent(const struct spread *s)
{
	uint64_t n = 0;

	for (unsigned k = 0; k < s->nth; k++)
		n += s->th[k].msgs;
	return n;
}

static void churn(struct spread *s)
{
	/* Leave one relay at random, then a new one joins and publishes at once. */
	for (int tries = 0; tries < 1000 && s->n_up > 1; tries++) {
		uint32_t i = (uint32_t)rng_below(&s->rng, s->n);
		if (s->r[i].up) {
			srelay_leave(s, i);
			s->res->left++;
			break;
		}
	}
	int j = srelay_create(s, SPREAD_T0_MS + s->now, false);
	if (j >= 0) {
		s->res->joined++;
		srelay_start(s, (uint32_t)j, 0);
	}
	double mean_s = 3600.0 / (s->p.churn_per_h * (double)s->p.relays);
	uint64_t dt = (uint64_t)(rng_exp(&s->rng, mean_s) * 1000.0) + 1;
	scenario_push(s, s->now + dt, EV_CHURN, 0);
}

struct cross_ctx {
	struct spread *s;
	size_t n;
};

static void count_cross(const struct linkplan_info *info, void *ctx)
{
	struct cross_ctx *c = ctx;
	int64_t j = hmap_get(&c->s->by_id, hmap_key(info->identity));

	if (info->state == LINKPLAN_UP && j >= 0 &&
	    c->s->w.nodes[j].at.region != c->s->p.cut_region)
		c->n++;
}

/* Links up between the cut region and the rest, as the region's relays see them. */
static size_t cross_links(struct spread *s)
{
	struct cross_ctx c = {.s = s};

	for (uint32_t i = 0; i < s->n; i++)
		if (s->r[i].up && s->w.nodes[i].at.region == s->p.cut_region)
			linkplan_foreach(s->r[i].lp, SPREAD_T0_MS + s->now, count_cross, &c);
	return c.n;
}

static void sample(struct spread *s)
{
	size_t minute = (size_t)(s->now / 60000);

	if (minute < s->n_bins)
		s->bin_up[minute] += s->n_up;
	if (s->p.cut_len_min > 0 && s->now >= s->cut_ms && s->now % 5000 == 0) {
		size_t missing = track_missing(s);
		if (s->part_csv)
			fprintf(s->part_csv, "%.1f,%zu,%zu\n",
			        ((double)s->now - (double)s->heal_ms) / 1000.0, missing,
			        cross_links(s));
		if (s->now >= s->heal_ms && missing == 0 && s->converge_s < 0)
			s->converge_s = (double)(s->now - s->heal_ms) / 1000.0;
	}
	if (s->now >= s->warm_ms && !s->marked) {
		s->marked = true;
		for (uint32_t i = 0; i < s->n; i++)
			s->r[i].gossip_tx_mark = s->r[i].gossip_tx;
	}
	if (!s->relay_bw_done && s->marked &&
	    ((s->p.cut_len_min > 0 && s->now >= s->cut_ms) || s->now + 1000 >= s->end_ms)) {
		s->relay_bw_done = true;
		/* Per relay bandwidth over [warm-up end, cut): relays up all along. */
		double secs = (double)(s->now - s->warm_ms) / 1000.0;
		for (uint32_t i = 0; i < s->n && secs > 0; i++)
			if (s->r[i].up && s->r[i].joined_ms <= s->warm_ms)
				stats_add(&s->res->relay_bw,
				          (double)(s->r[i].gossip_tx - s->r[i].gossip_tx_mark) /
				              secs);
	}
	if (s->p.progress && s->now % 60000 == 0)
		fprintf(stderr, "t=%3llu min  up %zu  msgs %llu\n",
		        (unsigned long long)(s->now / 60000), s->n_up,
		        (unsigned long long)msgs_sent(s));
	scenario_push(s, s->now + 1000, EV_SAMPLE, 0);
}

static int cmp_u64d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median and maximum of the steady per-minute bins (outside warm-up and partition + 10 min). */
static void bins_figures(struct spread *s, const uint64_t *bytes, const uint64_t *bytes2,
                         double *med, double *max)
{
	double *v = calloc(s->n_bins, sizeof(double));
	size_t n = 0;

	*med = *max = NAN;
	if (!v)
		return;
	for (size_t m = 0; m < s->n_bins; m++) {
		uint64_t t0 = m * 60000, t1 = t0 + 60000;
		if (t0 < s->warm_ms || t1 > s->end_ms || !s->bin_up[m])
			continue;
		if (s->p.cut_len_min > 0 && t1 > s->cut_ms && t0 < s->heal_ms + 600000)
			continue;
		v[n++] = (double)(bytes[m] + (bytes2 ? bytes2[m] : 0)) / (double)s->bin_up[m];
	}
	if (n) {
		qsort(v, n, sizeof(double), cmp_u64d);
		*med = v[(n - 1) / 2];
		*max = v[n - 1];
	}
	free(v);
}

static int write_bins(struct spread *s, const char *dir)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/spread_bw.csv", dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "minute,relays_up,gossip_Bps_per_relay,link_Bps_per_relay\n");
	for (size_t m = 0; m < s->n_bins; m++) {
		if (!s->bin_up[m])
			continue;
		double up = (double)s->bin_up[m];
		fprintf(f, "%zu,%.0f,%.1f,%.1f\n", m, up / 60.0, (double)s->bin_gossip[m] / up,
		        (double)s->bin_link[m] / up);
	}
	fclose(f);
	snprintf(path, sizeof(path), "%s/spread_reach.csv", dir);
	f = fopen(path, "w");
	if (!f)
		return -errno;
	fprintf(f, "share_pct,median_s\n");
	for (int k = 0; k < SPREAD_SHARES; k++)
		fprintf(f, "%.0f,%.3f\n", spread_reach_share[k], s->res->reach_p50[k]);
	fclose(f);
	return 0;
}

/* Free what is still queued or in an outbox, then the message buffers kept for reuse. */
static void drain(struct spread *s)
{
	struct event e;

	for (unsigned k = 0; k < s->nth; k++) {
		struct sthread *t = &s->th[k];
		while (t->q && event_pop(t->q, &e) == 0)
			srelay_drop(t, &e);
		for (unsigned d = 0; d < SPREAD_THREADS_MAX; d++)
			for (int par = 0; par < 2; par++) {
				struct evbuf *b = &t->out[d][par];
				for (size_t i = 0; i < b->n; i++)
					srelay_drop(t, &b->e[i]);
				free(b->e);
				memset(b, 0, sizeof(*b));
			}
	}
	for (unsigned k = 0; k < s->nth; k++)
		smsg_release(&s->th[k]);
}

static void teardown(struct spread *s)
{
	drain(s);
	for (size_t i = 0; i < s->n; i++) {
		gossip_free(s->r[i].g);
		linkplan_free(s->r[i].lp);
		sdht_free(s, (uint32_t)i);
	}
	free(s->r);
	free(s->pk);
	track_free(s);
	for (unsigned k = 0; k < s->nth; k++) {
		struct sthread *t = &s->th[k];
		dcache_free(&t->dc);
		event_queue_free(t->q);
		free(t->bin_gossip);
		free(t->bin_link);
	}
	hmap_free(&s->by_id);
	hmap_free(&s->by_addr);
	world_free(&s->w);
	event_queue_free(s->gq);
	free(s->bin_gossip);
	free(s->bin_link);
	free(s->bin_up);
	free(s->bar);
	if (s->part_csv)
		fclose(s->part_csv);
}

/* Zeroed memory on a cache line's boundary (struct srelay and struct sthread ask for it). */
static void *zalloc64(size_t len)
{
	len = (len + 63) / 64 * 64;
	void *p = aligned_alloc(64, len ? len : 64);

	if (p)
		memset(p, 0, len);
	return p;
}

static int setup(struct spread *s, const struct spread_params *p, const char *dir)
{
	struct world_params wp = {
	    .loss = p->loss, .access_ms = 5, .jitter_frac = 0.1, .seed = p->seed};
	int r;

	s->p = *p;
	s->converge_s = -1;
	s->end_ms = (uint64_t)(p->hours * 3600e3);
	s->warm_ms = (uint64_t)(p->warmup_min * 60e3);
	s->cut_ms = (uint64_t)(p->cut_at_min * 60e3);
	s->heal_ms = s->cut_ms + (uint64_t)(p->cut_len_min * 60e3);
	/* Room for the relays and everyone churn brings in (Poisson: 3 sigma and some). */
	double joins = p->churn_per_h * p->hours * (double)p->relays;
	s->cap = p->relays + (size_t)(joins + 3 * sqrt(joins) + 16);
	s->r = zalloc64(s->cap * sizeof(*s->r));
	s->pk = calloc(s->cap, sizeof(*s->pk));
	s->n_bins = (size_t)(s->end_ms / 60000) + 1;
	s->bin_gossip = calloc(s->n_bins, sizeof(uint64_t));
	s->bin_link = calloc(s->n_bins, sizeof(uint64_t));
	s->bin_up = calloc(s->n_bins, sizeof(uint64_t));
	if (!s->r || !s->pk || !s->bin_gossip || !s->bin_link || !s->bin_up)
		return -ENOMEM;
	r = world_init(&s->w, &wp, s->cap);
	if (r < 0)
		return r;
	/* Nothing between two relays arrives sooner than the access delay: a window's length. */
	s->window_ms = wp.access_ms >= 1 ? (uint64_t)wp.access_ms : 1;
	/* The scenario's queue: a refresh per relay, the churn, the sample, the cut and heal. */
	r = event_queue_new(&s->gq, s->cap + 16);
	if (r < 0)
		return r;
	s->nth = p->threads;
	if (!s->nth) {
		long cores = sysconf(_SC_NPROCESSORS_ONLN);
		s->nth = cores < 1                    ? 1
		         : cores > SPREAD_THREADS_MAX ? SPREAD_THREADS_MAX
		                                      : (unsigned)cores;
	}
	if (s->nth > SPREAD_THREADS_MAX)
		return -EINVAL;
	s->bar = aligned_alloc(64, sizeof(*s->bar));
	if (!s->bar)
		return -ENOMEM;
	spin_barrier_init(s->bar, s->nth);
	for (unsigned k = 0; k < s->nth; k++) {
		struct sthread *t = &s->th[k];
		t->s = s;
		t->id = k;
		r = event_queue_new(&t->q, p->max_events);
		if (r < 0)
			return r;
		dcache_init(&t->dc, 4 * s->cap + (size_t)(s->cap * p->hours / p->refresh_h) + 1024);
		t->bin_gossip = calloc(s->n_bins, sizeof(uint64_t));
		t->bin_link = calloc(s->n_bins, sizeof(uint64_t));
		if (!t->bin_gossip || !t->bin_link)
			return -ENOMEM;
	}
	hmap_init(&s->by_id);
	hmap_init(&s->by_addr);
	rng_seed(&s->rng, p->seed, SPREAD_RNG_STREAM);
	if (dir && p->cut_len_min > 0) {
		char path[512];
		snprintf(path, sizeof(path), "%s/spread_partition.csv", dir);
		s->part_csv = fopen(path, "w");
		if (!s->part_csv)
			return -errno;
		fprintf(s->part_csv, "t_since_heal_s,missing,cross_links\n");
	}
	return 0;
}

/*
 * Start loading what the coming events will read while this one runs: each event touches
 * another relay, and at scale none of its state is in cache (the time per event is memory, not
 * arithmetic). The next PF_DEPTH events are known (event_peek_n), so each is loaded a level a
 * step as it comes closer, each level from pointers the step before brought in: the relay,
 * its message and the sender's identity; then the heads of its gossip engine and link plan;
 * then their links, pending slots and store buckets; then deeper into the store. A prefetch is
 * only a hint: what runs, and in which order, is the same.
 */
#define PF_DEPTH 6

static void prefetch_stage(const struct spread *s, const struct event *n, int stage)
{
	const struct srelay *x = &s->r[n->dst];
	const struct smsg *m = n->kind == EV_MSG ? n->p : NULL;

	if (n->dst >= s->n)
		return;
	if (stage == 0) {
		__builtin_prefetch(x);
		if (n->src < s->n)
			__builtin_prefetch(s->pk[n->src]);
		if (m)
			__builtin_prefetch(m);
		return;
	}
	if (!x->up ||
	    (n->kind != EV_MSG && n->kind != EV_TIMER && n->kind != EV_HB && n->kind != EV_HB_ACK))
		return;
	if (stage <= 3 && n->src < s->n)
		linkplan_prefetch(x->lp, s->pk[n->src], stage - 1);
	if (m)
		gossip_prefetch(x->g, n->src, m->b, m->len, stage - 1);
	else if (stage == 1)
		gossip_prefetch(x->g, n->src, NULL, 0, 0);
}

static void prefetch_next(struct sthread *t)
{
	const struct event *n[PF_DEPTH];
	size_t got = event_peek_n(t->q, n, PF_DEPTH);

	/* The furthest gets the first level, the next one the deepest. */
	for (size_t k = 0; k < got; k++)
		prefetch_stage(t->s, n[k], (int)(PF_DEPTH - 1 - k));
}

/* A thread's window: what the others sent it in the last one, then its events until win_end. */
static void run_window(struct sthread *t)
{
	struct spread *s = t->s;
	struct event e;
	uint64_t at;

	for (unsigned k = 0; k < s->nth; k++) {
		struct evbuf *b = &s->th[k].out[t->id][!s->wpar];
		for (size_t i = 0; i < b->n; i++)
			if (event_push_keyed(t->q, &b->e[i]) < 0)
				srelay_drop(t, &b->e[i]);
		b->n = 0;
	}
	while (event_peek_time(t->q, &at) == 0 && at < s->win_end) {
		event_pop(t->q, &e);
		t->now = e.at;
		t->events++;
		prefetch_next(t);
		srelay_handle(t, &e);
	}
}

/* The scenario's event e, on one thread between windows. */
static void scenario_event(struct spread *s, const struct event *e)
{
	switch (e->kind) {
	case EV_CHURN:
		churn(s);
		break;
	case EV_CUT:
		s->w.cut_region = s->p.cut_region;
		break;
	case EV_HEAL:
		s->w.cut_region = -1;
		break;
	case EV_SAMPLE:
		sample(s);
		break;
	case EV_PUBLISH:
		if (s->r[e->dst].up && e->aux == s->r[e->dst].seq + 1)
			srelay_publish(s, e->dst);
		break;
	}
}

/*
 * Between windows: apply the last window's logs, find the next time anything is due (queues,
 * outboxes, the scenario), run the scenario's events of that millisecond, and set the next
 * window. False when the run is over.
 */
static bool between(struct spread *s)
{
	uint64_t t0 = UINT64_MAX, at;
	struct event e;

	track_apply(s);
	for (unsigned k = 0; k < s->nth; k++) {
		struct sthread *t = &s->th[k];
		if (event_peek_time(t->q, &at) == 0 && at < t0)
			t0 = at;
		for (unsigned d = 0; d < s->nth; d++)
			if (t->out[d][s->wpar].n && t->out[d][s->wpar].min_at < t0)
				t0 = t->out[d][s->wpar].min_at;
	}
	if (event_peek_time(s->gq, &at) == 0 && at < t0)
		t0 = at;
	if (t0 >= s->end_ms)
		return false;
	s->now = t0;
	for (unsigned k = 0; k < s->nth; k++)
		s->th[k].now = t0;
	s->serial = true;
	while (event_peek_time(s->gq, &at) == 0 && at <= t0) {
		event_pop(s->gq, &e);
		s->res->events++;
		scenario_event(s, &e);
	}
	s->serial = false;
	s->win_end = t0 + s->window_ms;
	if (event_peek_time(s->gq, &at) == 0 && at < s->win_end)
		s->win_end = at;
	if (s->win_end > s->end_ms)
		s->win_end = s->end_ms;
	s->wpar ^= 1;
	return true;
}

static void *worker(void *arg)
{
	struct sthread *t = arg;
	struct spread *s = t->s;
	int go;

	/* Every thread started, or one could not be: then leave before the first barrier. */
	while ((go = atomic_load_explicit(&s->go, memory_order_acquire)) == 0)
		sched_yield();
	if (go < 0)
		return NULL;
	for (;;) {
		spin_barrier_wait(s->bar);
		if (s->stop)
			return NULL;
		run_window(t);
		spin_barrier_wait(s->bar);
	}
}

/* The event loop: thread 0 runs between windows, every thread runs its relays in them. */
static int run_loop(struct spread *s)
{
	unsigned started = 1;
	int r = 0;

	atomic_store(&s->go, 0);
	for (; started < s->nth; started++)
		if ((r = -pthread_create(&s->th[started].th, NULL, worker, &s->th[started])) < 0)
			break;
	atomic_store_explicit(&s->go, r < 0 ? -1 : 1, memory_order_release);
	s->stop = r < 0;
	while (!s->stop) {
		s->stop = !between(s);
		spin_barrier_wait(s->bar);
		if (s->stop)
			break;
		run_window(&s->th[0]);
		spin_barrier_wait(s->bar);
	}
	for (unsigned k = 1; k < started; k++)
		pthread_join(s->th[k].th, NULL);
	/* The last window's logs were applied by the between() that ended the run. */
	s->serial = true;
	return r;
}

int spread_run(const struct spread_params *p, const char *dir, struct spread_result *res)
{
	struct spread *s = zalloc64(sizeof(*s));
	double t0 = now_s();
	int r;

	memset(res, 0, sizeof(*res));
	if (!s)
		return -ENOMEM;
	if (p->relays < 2 || p->hours <= 0 || p->refresh_h <= 0 || p->boot_min > p->boot_max ||
	    p->lp_candidates < LINKPLAN_DEF_MAX_LINKS) {
		free(s);
		return -EINVAL;
	}
	s->res = res;
	s->serial = true; /* until the loop starts */
	stats_init(&res->relay_bw, p->relays + 1);
	r = setup(s, p, dir);
	if (r < 0)
		goto out;
	/* Relays that have been running: descriptors issued at random over the last R. */
	for (size_t i = 0; i < p->relays; i++) {
		uint64_t back = (uint64_t)(rng_unit(&s->rng) * p->refresh_h * 3600e3);
		r = srelay_create(s, SPREAD_T0_MS - back, true);
		if (r < 0)
			goto out;
	}
	r = warm_fill(s);
	if (r < 0)
		goto out;
	for (uint32_t i = 0; i < s->n; i++)
		srelay_bootstrap(s, i, p->warm_known);
	if (p->converged)
		srelay_converge(s);
	for (uint32_t i = 0; i < s->n; i++) {
		sdht_running(sowner(s, i), i);
		srelay_run(s, i);
	}
	if (p->churn_per_h > 0)
		scenario_push(
		    s,
		    1 + (uint64_t)(rng_exp(&s->rng, 3600e3 / (p->churn_per_h * (double)p->relays))),
		    EV_CHURN, 0);
	if (p->cut_len_min > 0) {
		scenario_push(s, s->cut_ms, EV_CUT, 0);
		scenario_push(s, s->heal_ms, EV_HEAL, 0);
		for (uint32_t i = 0; i < s->n; i++)
			res->cut_relays += s->w.nodes[i].at.region == p->cut_region;
	}
	scenario_push(s, 1000, EV_SAMPLE, 0);
	res->init_s = now_s() - t0;
	res->threads = s->nth;
	s->serial = false;
	r = run_loop(s);
	if (r < 0)
		goto out;

	/* Figures. */
	for (unsigned k = 0; k < s->nth; k++) {
		const struct sthread *t = &s->th[k];
		for (size_t m = 0; m < s->n_bins; m++) {
			s->bin_gossip[m] += t->bin_gossip[m];
			s->bin_link[m] += t->bin_link[m];
		}
		res->events += t->events;
		res->msgs += t->msgs;
		res->dht_rounds += t->dht_rounds;
		res->dht_stored += t->dht_stored;
		res->desc_req += t->desc_req;
		res->desc_ok += t->desc_ok;
		res->desc_bytes += t->desc_bytes;
		res->events_peak += event_peak(t->q);
		res->events_refused += event_refused(t->q);
		res->lost += t->wt.lost;
		res->cut_dropped += t->wt.cut_dropped;
		res->down_dropped += t->wt.down_dropped;
		res->dc.calls += t->dc.st.calls;
		res->dc.hits += t->dc.st.hits;
		res->dc.verified += t->dc.st.verified;
		res->dc.refused += t->dc.st.refused;
		res->dc.verify_s += t->dc.st.verify_s;
		res->track_lost += t->got_failed;
	}
	res->events_refused += event_refused(s->gq);
	track_finish(s, res);
	bins_figures(s, s->bin_gossip, NULL, &res->bw_gossip_med, &res->bw_gossip_max);
	bins_figures(s, s->bin_gossip, s->bin_link, &res->bw_all_med, &res->bw_all_max);
	res->converge_s = s->converge_s;
	res->relays_end = s->n_up;
	res->max_relays = s->n;
	size_t links = 0;
	for (uint32_t i = 0; i < s->n; i++)
		if (s->r[i].up) {
			links += linkplan_count_up(s->r[i].lp);
			srelay_fold_stats(s, i);
		}
	res->links_mean = s->n_up ? (double)links / (double)s->n_up : 0;
	res->gs = s->gs;
	if (dir) {
		r = track_write(s, dir);
		if (r == 0)
			r = write_bins(s, dir);
	}
out:
	teardown(s);
	free(s);
	res->wall_s = now_s() - t0;
	return r < 0 ? r : 0;
}

void spread_result_free(struct spread_result *r)
{
	stats_free(&r->t50);
	stats_free(&r->t90);
	stats_free(&r->t99);
	stats_free(&r->t100);
	stats_free(&r->relay_bw);
}
