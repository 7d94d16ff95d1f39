/* spread.c: scenario 1 (spread.h): set-up, the event loop, churn, the partition, figures. */
#include "spread.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "spread_int.h"

/* Stream ids of the scenario's own decisions. */
#define SPREAD_RNG_STREAM 0x737072656164ull
#define SPREAD_DHT_STREAM 0x6468746c6bull

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
	struct dstore_desc **dd = malloc(s->n * sizeof(*dd));

	if (!order || !dd) {
		free(order);
		free(dd);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < s->n; i++)
		order[i] = i;
	/* In identity order, each insert appends to its bucket: no tail moves. */
	qsort_r(order, s->n, sizeof(*order), cmp_pk, s);
	for (size_t k = 0; k < s->n; k++)
		dd[k] = dstore_get(gossip_store(s->r[order[k]].g), s->r[order[k]].pk);
	for (size_t i = 0; i < s->n; i++) {
		struct gossip *g = s->r[i].g;
		if (s->p.converged) {
			/* The verified descriptors themselves, shared; the own one is a duplicate. */
			if (gossip_preload(g, dd, s->n, spread_abs(s)) < 0) {
				free(order);
				free(dd);
				return -ENOMEM;
			}
		} else {
			for (size_t k = 0; k < s->n; k++)
				if (order[k] != i && dd[k])
					gossip_offer(g, GOSSIP_LINK_NONE, dd[k]->bytes, dd[k]->len,
					             spread_abs(s));
		}
		if (s->p.progress && i % 1000 == 999)
			fprintf(stderr, "warm: %zu/%zu stores filled\n", i + 1, s->n);
	}
	free(order);
	free(dd);
	return 0;
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
	int j = srelay_create(s, spread_abs(s), false);
	if (j >= 0) {
		s->res->joined++;
		srelay_start(s, (uint32_t)j, 0);
	}
	double mean_s = 3600.0 / (s->p.churn_per_h * (double)s->p.relays);
	uint64_t dt = (uint64_t)(rng_exp(&s->rng, mean_s) * 1000.0) + 1;
	srelay_push(s, s->now + dt, EV_CHURN, 0, 0, 0, NULL);
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
			linkplan_foreach(s->r[i].lp, spread_abs(s), count_cross, &c);
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
		fprintf(stderr, "t=%3llu min  up %zu  events %zu queued  msgs %llu\n",
		        (unsigned long long)(s->now / 60000), s->n_up, event_count(s->q),
		        (unsigned long long)s->msgs);
	srelay_push(s, s->now + 1000, EV_SAMPLE, 0, 0, 0, NULL);
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

static void drain(struct spread *s)
{
	struct event e;

	while (event_pop(s->q, &e) == 0) {
		if (e.kind == EV_MSG)
			smsg_free(s, e.p);
		else if (e.kind == EV_HELLO || e.kind == EV_DESC_RESP)
			dstore_desc_unref(e.p);
	}
	smsg_release(s);
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
	dcache_free(&s->dc);
	hmap_free(&s->by_id);
	hmap_free(&s->by_addr);
	world_free(&s->w);
	event_queue_free(s->q);
	free(s->bin_gossip);
	free(s->bin_link);
	free(s->bin_up);
	if (s->part_csv)
		fclose(s->part_csv);
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
	s->r = calloc(s->cap, sizeof(*s->r));
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
	r = event_queue_new(&s->q, p->max_events);
	if (r < 0)
		return r;
	dcache_init(&s->dc, 4 * s->cap + (size_t)(s->cap * p->hours / p->refresh_h) + 1024);
	hmap_init(&s->by_id);
	hmap_init(&s->by_addr);
	rng_seed(&s->rng, p->seed, SPREAD_RNG_STREAM);
	/* Its own stream: the look-ups draw nothing from the churn's or a relay's plan's. */
	rng_seed(&s->dht_rng, p->seed, SPREAD_DHT_STREAM);
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

static void prefetch_next(const struct spread *s)
{
	const struct event *n[PF_DEPTH];
	size_t got = event_peek_n(s->q, n, PF_DEPTH);

	/* The furthest gets the first level, the next one the deepest. */
	for (size_t k = 0; k < got; k++)
		prefetch_stage(s, n[k], (int)(PF_DEPTH - 1 - k));
}

int spread_run(const struct spread_params *p, const char *dir, struct spread_result *res)
{
	struct spread *s = calloc(1, sizeof(*s));
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
		sdht_running(s, i);
		srelay_run(s, i);
	}
	if (p->churn_per_h > 0)
		srelay_push(
		    s,
		    1 + (uint64_t)(rng_exp(&s->rng, 3600e3 / (p->churn_per_h * (double)p->relays))),
		    EV_CHURN, 0, 0, 0, NULL);
	if (p->cut_len_min > 0) {
		srelay_push(s, s->cut_ms, EV_CUT, 0, 0, 0, NULL);
		srelay_push(s, s->heal_ms, EV_HEAL, 0, 0, 0, NULL);
		for (uint32_t i = 0; i < s->n; i++)
			res->cut_relays += s->w.nodes[i].at.region == p->cut_region;
	}
	srelay_push(s, 1000, EV_SAMPLE, 0, 0, 0, NULL);
	res->init_s = now_s() - t0;

	struct event e;
	while (event_pop(s->q, &e) == 0) {
		if (e.at >= s->end_ms) {
			event_push(s->q, &e); /* drained below with its payload */
			break;
		}
		s->now = e.at;
		res->events++;
		prefetch_next(s);
		switch (e.kind) {
		case EV_CHURN:
			churn(s);
			break;
		case EV_CUT:
			s->w.cut_region = p->cut_region;
			break;
		case EV_HEAL:
			s->w.cut_region = -1;
			break;
		case EV_SAMPLE:
			sample(s);
			break;
		default:
			srelay_handle(s, &e);
		}
	}

	/* Figures. */
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
	res->msgs = s->msgs;
	res->dht_rounds = s->dht_rounds;
	res->dht_stored = s->dht_stored;
	res->desc_req = s->desc_req;
	res->desc_ok = s->desc_ok;
	res->desc_bytes = s->desc_bytes;
	res->events_peak = event_peak(s->q);
	res->events_refused = event_refused(s->q);
	res->lost = s->w.lost;
	res->cut_dropped = s->w.cut_dropped;
	res->down_dropped = s->w.down_dropped;
	res->dc = s->dc.st;
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
