/* select.c: the symmetric relay ranking and its hysteresis. */
#include "select.h"

#include <math.h>
#include <sodium.h>
#include <string.h>

#include "geoip.h"

double select_distance_km(struct select_point p, struct select_point q)
{
	/* Canonical argument order: A's and B's helpers must compute the very same bits. */
	if (p.lat > q.lat || (p.lat == q.lat && p.lon > q.lon)) {
		struct select_point t = p;
		p = q;
		q = t;
	}
	return geoip_distance_km(p.lat, p.lon, q.lat, q.lon);
}

static int geo_bucket(struct select_point a, struct select_point b, struct select_point r)
{
	/* Without both peer locations the geometry says nothing: all relays tie on it. */
	if (!a.known || !b.known)
		return 0;
	if (!r.known)
		return 40; /* ~ the longest possible detour (2 x 20000 km) */
	/* d(a,r) + d(r,b) == d(b,r) + d(r,a) exactly: IEEE addition commutes. */
	double km = select_distance_km(a, r) + select_distance_km(r, b);
	return (int)floor(km / SELECT_GEO_BUCKET_KM);
}

/*
 * Advertised load is a claim nobody checks, so it may only count against the relay making it:
 * below SELECT_LOAD_BUSY (and unknown) every load ranks the same, so claiming 0 wins nothing
 * over an honest relay; from there each SELECT_LOAD_BUCKET adds a point (500-749 1, 750-999
 * 2, 1000 3). A relay that says it is busy is believed: saying so only sheds its own load.
 */
int select_load_penalty(int load)
{
	if (load < SELECT_LOAD_BUSY)
		return 0;
	if (load > 1000)
		load = 1000;
	return 1 + (load - SELECT_LOAD_BUSY) / SELECT_LOAD_BUCKET;
}

static uint64_t tiebreak(const struct select_cand *c)
{
	uint8_t in[48], out[8];
	memcpy(in, c->sid, 16);
	memcpy(in + 16, c->pubkey, 32);
	crypto_generichash(out, sizeof(out), in, sizeof(in), NULL, 0);
	uint64_t v = 0;
	for (size_t i = 0; i < 8; i++)
		v = v << 8 | out[i];
	return v;
}

/* Strict order: usable first, then score, then tiebreak, then key bytes. */
static bool before(const struct select_cand *x, const struct select_cand *y)
{
	if (x->usable != y->usable)
		return x->usable;
	if (x->score != y->score)
		return x->score < y->score;
	if (x->tiebreak != y->tiebreak)
		return x->tiebreak < y->tiebreak;
	return memcmp(x->pubkey, y->pubkey, 32) < 0;
}

/*
 * before, then input position: a strict total order even for duplicate candidates, so the
 * ranking is the one a stable sort by before gives, whatever sort makes it.
 */
static bool before_at(const struct select_cand *cands, size_t x, size_t y)
{
	if (before(&cands[x], &cands[y]))
		return true;
	return !before(&cands[y], &cands[x]) && x < y;
}

/* Max-heap on before_at (the last in rank order at the root) under order[i], n entries. */
static void select_sift(const struct select_cand *cands, size_t *order, size_t i, size_t n)
{
	for (;;) {
		size_t c = 2 * i + 1, v;

		if (c >= n)
			return;
		if (c + 1 < n && before_at(cands, order[c], order[c + 1]))
			c++;
		if (!before_at(cands, order[i], order[c]))
			return;
		v = order[i];
		order[i] = order[c];
		order[c] = v;
		i = c;
	}
}

void select_rank(struct select_point a, struct select_point b, struct select_cand *cands, size_t n,
                 size_t *order)
{
	for (size_t i = 0; i < n; i++) {
		struct select_cand *c = &cands[i];
		c->usable = c->reachable && !c->full && c->local_failures < SELECT_MAX_LOCAL_FAIL;
		c->geo = geo_bucket(a, b, c->loc);
		c->load_points = select_load_penalty(c->load_permille);
		c->score = 2 * c->geo + c->load_points;
		c->km = a.known && b.known && c->loc.known
		            ? select_distance_km(a, c->loc) + select_distance_km(c->loc, b)
		            : -1;
		c->tiebreak = tiebreak(c);
		order[i] = i;
	}
	/* Heapsort: O(n log n) for the thousands of relays a network gives, no allocation. */
	for (size_t i = n / 2; i-- > 0;)
		select_sift(cands, order, i, n);
	for (size_t end = n; end-- > 1;) {
		size_t t = order[0];

		order[0] = order[end];
		order[end] = t;
		select_sift(cands, order, 0, end);
	}
}

size_t select_choose(const struct select_cand *cands, const size_t *order, size_t n, size_t current)
{
	if (n == 0 || !cands[order[0]].usable)
		return n;
	if (current < n && cands[current].usable &&
	    cands[current].score <= cands[order[0]].score + SELECT_HYSTERESIS)
		return current;
	return order[0];
}
