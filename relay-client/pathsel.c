/* pathsel.c: the hops of a circuit before its rendezvous, and the guards they enter through. */
#include "pathsel.h"

#include <errno.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "proto.h"

/* Random restarts of the middles for one entry: a greedy draw can corner itself (a middle whose
 * /16 leaves no room for the next), while -ENOENT is to mean that no path was there. */
#define PATHSEL_TRIES 8

/* One choice's inputs, so the helpers below take one pointer. */
struct ps {
	const struct pathsel_relay *rs;
	size_t n;
	const struct pathsel_req *req;
	pathsel_rnd_fn rnd;
	void *ctx;
	uint64_t median; /* Balanced: the median stated bandwidth, the weight of an unstated one */
};

void pathsel_from_desc(struct pathsel_relay *out, const struct descriptor *d)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->identity, d->identity, 32);
	memcpy(out->noise, d->noise, 32);
	if (d->n_endpoints > 0)
		out->control = d->endpoints[0].addr;
	memcpy(out->country, d->country, sizeof(out->country));
	out->country[2] = '\0';
	memcpy(out->family, d->family, sizeof(out->family));
	out->family[sizeof(out->family) - 1] = '\0';
	out->uptime_s = d->uptime_s;
	out->bandwidth_kbps = d->bandwidth_kbps;
	out->load_permille = d->load_permille;
	out->modes = d->modes;
	out->loc.known = d->has_location;
	out->loc.lat = d->lat_e6 / 1e6;
	out->loc.lon = d->lon_e6 / 1e6;
}

/* The network a relay's control address is in: the first 2 bytes of IPv4 (also v4-mapped), the
 * first 4 of IPv6. Returns the number of bytes, 0 for no usable address. */
static size_t subnet(const struct addr *a, uint8_t out[4])
{
	if (addr_family(a) == AF_INET) {
		memcpy(out, &a->in.sin_addr, 2);
		return 2;
	}
	if (addr_family(a) != AF_INET6)
		return 0;
	if (IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr)) {
		memcpy(out, &a->in6.sin6_addr.s6_addr[12], 2);
		return 2;
	}
	memcpy(out, a->in6.sin6_addr.s6_addr, 4);
	return 4;
}

/* Equal known countries, in any case; "" (unknown) equals nothing. */
static bool country_eq(const char *a, const char *b)
{
	size_t la = strnlen(a, 2), lb = strnlen(b, 2);

	return la > 0 && la == lb && strncasecmp(a, b, la) == 0;
}

static bool country_in(const char *c, const char (*list)[3], unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		if (country_eq(c, list[i]))
			return true;
	return false;
}

/* Relays no path may hold together. */
static bool conflict(const struct pathsel_relay *x, const struct pathsel_relay *y, bool anon)
{
	uint8_t sx[4], sy[4];
	size_t lx = subnet(&x->control, sx), ly = subnet(&y->control, sy);

	if (memcmp(x->identity, y->identity, 32) == 0)
		return true;
	/* An IPv4 and an IPv6 relay cannot be compared, so they never conflict on the subnet. */
	if (lx && lx == ly && memcmp(sx, sy, lx) == 0)
		return true;
	if (x->family[0] && strncmp(x->family, y->family, sizeof(x->family)) == 0)
		return true;
	return anon && country_eq(x->country, y->country);
}

/* The requirements on one relay; with_load false for a guard already held (load passes). */
static bool relay_ok(const struct pathsel_relay *r, const struct pathsel_req *req, bool with_load)
{
	uint8_t s[4];

	if (!(r->modes & DESC_MODE_CIRCUITS))
		return false;
	if (with_load && r->load_permille >= PROTO_FULL_PERMILLE)
		return false;
	/* Without an address the subnet rule cannot be kept. */
	if (!subnet(&r->control, s))
		return false;
	if (r->uptime_s < req->min_uptime_s || r->bandwidth_kbps < req->min_bandwidth_kbps)
		return false;
	if (req->n_allow && !country_in(r->country, req->allow, req->n_allow))
		return false;
	if (country_in(r->country, req->exclude, req->n_exclude))
		return false;
	if (req->strategy == PATHSEL_ANONYMOUS && !strnlen(r->country, 2))
		return false;
	for (size_t i = 0; i < req->n_exclude_ids; i++)
		if (memcmp(r->identity, req->exclude_ids + 32 * i, 32) == 0)
			return false;
	return true;
}

bool pathsel_relay_ok(const struct pathsel_relay *r, const struct pathsel_req *req)
{
	return relay_ok(r, req, true);
}

static int req_check(const struct pathsel_req *req, bool need_hops)
{
	if (!req)
		return -EINVAL;
	if (need_hops && (req->hops < 1 || req->hops > ONION_MAX_HOPS))
		return -EINVAL;
	if ((unsigned)req->strategy > PATHSEL_ANONYMOUS)
		return -EINVAL;
	if (req->n_allow > PATHSEL_MAX_COUNTRIES || req->n_exclude > PATHSEL_MAX_COUNTRIES)
		return -EINVAL;
	if (req->n_exclude_ids && !req->exclude_ids)
		return -EINVAL;
	return 0;
}

static uint32_t draw(const struct ps *ps, uint32_t bound)
{
	if (bound < 2)
		return 0;
	return ps->rnd(ps->ctx, bound) % bound; /* a generator out of its range stays in ours */
}

/*
 * The median stated bandwidth of the circuit relays in view (1 when none states one): what an
 * unstated relay weighs, so saying nothing neither hides a relay nor favours it. Bisection on
 * the value instead of a sort: no copy of the view.
 */
static uint64_t median_kbps(const struct pathsel_relay *rs, size_t n)
{
	uint64_t stated = 0, lo = 1, hi = UINT32_MAX;

	for (size_t i = 0; i < n; i++)
		stated += (rs[i].modes & DESC_MODE_CIRCUITS) && rs[i].bandwidth_kbps;
	if (!stated)
		return 1;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2, le = 0;

		for (size_t i = 0; i < n; i++)
			le += (rs[i].modes & DESC_MODE_CIRCUITS) && rs[i].bandwidth_kbps &&
			      rs[i].bandwidth_kbps <= mid;
		if (le >= (stated + 1) / 2)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* Balanced: stated (or median) bandwidth, capped, divided as select_load_penalty grows. */
static uint64_t weight(const struct ps *ps, const struct pathsel_relay *r)
{
	uint64_t w = r->bandwidth_kbps ? r->bandwidth_kbps : ps->median;
	uint64_t cap = ps->median * PATHSEL_BW_CAP_MEDIANS;

	if (w > cap)
		w = cap;
	w /= 1 + (uint64_t)select_load_penalty(r->load_permille);
	return w ? w : 1;
}

/* Fast: one leg. An unknown anchor (the client's or the last hop's place) costs every candidate
 * the same; a candidate of unknown place goes after every located one. */
static double leg(struct select_point anchor, struct select_point p)
{
	if (!anchor.known)
		return 0;
	if (!p.known)
		return PATHSEL_FAST_UNKNOWN_KM;
	return select_distance_km(anchor, p);
}

static double fast_cost(const struct pathsel_relay *r, struct select_point from,
                        const struct select_point *to)
{
	double c = leg(from, r->loc);

	if (to)
		c += leg(*to, r->loc);
	return c + PATHSEL_FAST_LOAD_KM * select_load_penalty(r->load_permille);
}

static bool candidate(const struct ps *ps, size_t i, const size_t *taken, unsigned k)
{
	bool anon = ps->req->strategy == PATHSEL_ANONYMOUS;

	if (!relay_ok(&ps->rs[i], ps->req, true))
		return false;
	for (unsigned j = 0; j < k; j++)
		if (conflict(&ps->rs[i], &ps->rs[taken[j]], anon))
			return false;
	return true;
}

/*
 * Draw one relay fitting the relays taken[0..k) by the strategy: from is the place the hop is
 * to be near (the client's for an entry, the hop before for a middle), to the rendezvous's for
 * a middle (NULL for an entry). Returns its index, or ps->n when none fits.
 */
static size_t pick(const struct ps *ps, const size_t *taken, unsigned k, struct select_point from,
                   const struct select_point *to)
{
	enum pathsel_strategy s = ps->req->strategy;
	uint64_t count = 0, total = 0, max = 0, r;
	double best = INFINITY;
	unsigned sh = 0;
	size_t i;

	for (i = 0; i < ps->n; i++) {
		if (!candidate(ps, i, taken, k))
			continue;
		count++;
		if (s == PATHSEL_BALANCED) {
			uint64_t w = weight(ps, &ps->rs[i]);

			total = total > UINT64_MAX - w ? UINT64_MAX : total + w;
			if (w > max)
				max = w;
		} else if (s == PATHSEL_FAST) {
			double c = fast_cost(&ps->rs[i], from, to);

			if (c < best)
				best = c;
		}
	}
	if (!count)
		return ps->n;
	if (s == PATHSEL_BALANCED && total > UINT32_MAX) {
		/* Scale the weights down until their sum is one draw's range (count <= n fits). */
		uint64_t lim = UINT32_MAX / count;

		while ((max >> sh) > lim)
			sh++;
		total = 0;
		for (i = 0; i < ps->n; i++)
			if (candidate(ps, i, taken, k)) {
				uint64_t w = weight(ps, &ps->rs[i]) >> sh;

				total += w ? w : 1;
			}
	} else if (s == PATHSEL_FAST) {
		total = 0;
		for (i = 0; i < ps->n; i++)
			if (candidate(ps, i, taken, k) &&
			    fast_cost(&ps->rs[i], from, to) <= best + PATHSEL_FAST_SLACK_KM)
				total++;
	} else if (s == PATHSEL_ANONYMOUS) {
		total = count;
	}
	r = draw(ps, (uint32_t)total);
	for (i = 0; i < ps->n; i++) {
		uint64_t u = 1;

		if (!candidate(ps, i, taken, k))
			continue;
		if (s == PATHSEL_BALANCED) {
			u = weight(ps, &ps->rs[i]) >> sh;
			u = u ? u : 1;
		} else if (s == PATHSEL_FAST &&
		           fast_cost(&ps->rs[i], from, to) > best + PATHSEL_FAST_SLACK_KM) {
			continue;
		}
		if (r < u)
			return i;
		r -= u;
	}
	return ps->n; /* not reached: r < total */
}

/* The first relay in view with this identity that meets req (with_load as relay_ok), or n. */
static size_t find_id(const struct pathsel_relay *rs, size_t n, const uint8_t id[32],
                      const struct pathsel_req *req, bool with_load)
{
	for (size_t i = 0; i < n; i++)
		if (memcmp(rs[i].identity, id, 32) == 0 && relay_ok(&rs[i], req, with_load))
			return i;
	return n;
}

int pathsel_guards_refresh(struct pathsel_guards *g, const struct pathsel_relay *rs, size_t n,
                           const struct pathsel_req *req, uint64_t now, pathsel_rnd_fn rnd,
                           void *ctx)
{
	struct ps ps = {rs, n, req, rnd, ctx, 0};
	size_t held[PATHSEL_GUARDS];
	unsigned kept = 0;
	int changes = 0;

	if (req_check(req, false) || !g || !rnd || g->n > PATHSEL_GUARDS || (n && !rs))
		return -EINVAL;
	for (unsigned i = 0; i < g->n; i++) {
		size_t at = find_id(rs, n, g->g[i].identity, req, false);
		bool ok =
		    at < n && g->g[i].until > now && g->g[i].until - now <= PATHSEL_GUARD_MAX_S;

		/* Guards in one /16 or family would fall together: keep the older. */
		for (unsigned j = 0; ok && j < kept; j++)
			ok = !conflict(&rs[at], &rs[held[j]], req->strategy == PATHSEL_ANONYMOUS);
		if (!ok) {
			changes++;
			continue;
		}
		g->g[kept] = g->g[i];
		held[kept++] = at;
	}
	if (req->strategy == PATHSEL_BALANCED)
		ps.median = median_kbps(rs, n);
	while (kept < PATHSEL_GUARDS) {
		size_t at = pick(&ps, held, kept, req->self, NULL);

		if (at == n)
			break;
		memcpy(g->g[kept].identity, rs[at].identity, 32);
		g->g[kept].until = now + PATHSEL_GUARD_MIN_S +
		                   draw(&ps, PATHSEL_GUARD_MAX_S - PATHSEL_GUARD_MIN_S + 1);
		held[kept++] = at;
		changes++;
	}
	for (unsigned i = kept; i < PATHSEL_GUARDS; i++)
		memset(&g->g[i], 0, sizeof(g->g[i]));
	g->n = kept;
	return changes;
}

/*
 * Fill out->hop[1 .. nb) (the middles) after the entry out->hop[0], towards the rendezvous
 * taken[0]. Returns 0, or the position that had no candidate.
 */
static unsigned fill_middles(const struct ps *ps, size_t *taken, unsigned nb,
                             struct pathsel_path *out)
{
	struct select_point to = ps->rs[taken[0]].loc;

	for (unsigned pos = 1; pos < nb; pos++) {
		size_t at = pick(ps, taken, pos + 1, ps->rs[out->hop[pos - 1]].loc, &to);

		if (at == ps->n)
			return pos;
		out->hop[pos] = at;
		taken[pos + 1] = at;
	}
	return 0;
}

/* Middles for the entry out->hop[0], with restarts; true when the path is whole. */
static bool try_entry(const struct ps *ps, size_t *taken, unsigned nb, struct pathsel_path *out)
{
	taken[1] = out->hop[0];
	for (unsigned t = 0; t < PATHSEL_TRIES; t++) {
		unsigned at = fill_middles(ps, taken, nb, out);

		if (at == 0)
			return true;
		/* Nothing fits right after the entry: no draw of later hops changes that. */
		if (at == 1)
			return false;
	}
	return false;
}

int pathsel_choose(const struct pathsel_relay *rs, size_t n, size_t rendezvous,
                   const struct pathsel_req *req, const struct pathsel_guards *g,
                   pathsel_rnd_fn rnd, void *ctx, struct pathsel_path *out)
{
	struct ps ps = {rs, n, req, rnd, ctx, 0};
	size_t taken[ONION_MAX_HOPS + 1]; /* the rendezvous, then the hops before it */
	size_t gi[PATHSEL_GUARDS];
	unsigned hops, nb, ng = 0;
	bool anon;

	if (out)
		memset(out, 0, sizeof(*out));
	if (req_check(req, true) || !rnd || !out || !rs || rendezvous >= n || n > UINT32_MAX ||
	    (g && g->n > PATHSEL_GUARDS))
		return -EINVAL;
	if (!(rs[rendezvous].modes & DESC_MODE_CIRCUITS))
		return -EINVAL;
	anon = req->strategy == PATHSEL_ANONYMOUS;
	hops = req->hops;
	if (anon && hops < PATHSEL_ANON_MIN_HOPS) {
		hops = PATHSEL_ANON_MIN_HOPS;
		out->flags |= PATHSEL_F_RAISED;
	}
	nb = hops - 1;
	out->n = hops;
	out->hop[nb] = rendezvous;
	if (!nb)
		return 0;
	if (req->strategy == PATHSEL_BALANCED)
		ps.median = median_kbps(rs, n);
	taken[0] = rendezvous;

	/* Guards in view and fitting the rendezvous, in the order they are used. */
	for (unsigned i = 0; g && i < g->n; i++) {
		size_t at = find_id(rs, n, g->g[i].identity, req, true);

		if (at < n && !conflict(&rs[at], &rs[rendezvous], anon))
			gi[ng++] = at;
	}
	if (req->strategy == PATHSEL_FAST) {
		/* The nearest guard first (a stable insertion sort: ties keep the guards' order). */
		for (unsigned i = 1; i < ng; i++) {
			size_t v = gi[i];
			double c = fast_cost(&rs[v], req->self, NULL);
			unsigned j = i;

			for (; j > 0 && fast_cost(&rs[gi[j - 1]], req->self, NULL) > c; j--)
				gi[j] = gi[j - 1];
			gi[j] = v;
		}
	}
	for (unsigned i = 0; i < ng; i++) {
		out->hop[0] = gi[i];
		if (try_entry(&ps, taken, nb, out))
			return 0;
	}
	if (req->strict_guards) {
		memset(out, 0, sizeof(*out));
		return -ENOENT;
	}
	out->flags |= PATHSEL_F_UNGUARDED;
	for (unsigned t = 0; t < PATHSEL_TRIES; t++) {
		size_t at = pick(&ps, taken, 1, req->self, NULL);

		if (at == n)
			break;
		out->hop[0] = at;
		if (try_entry(&ps, taken, nb, out))
			return 0;
	}
	memset(out, 0, sizeof(*out));
	return -ENOENT;
}

static const char *const names[] = {
    [PATHSEL_BALANCED] = "balanced",
    [PATHSEL_FAST] = "fast",
    [PATHSEL_ANONYMOUS] = "anonymous",
};

const char *pathsel_strategy_name(enum pathsel_strategy s)
{
	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[s];
}

int pathsel_strategy_parse(const char *s)
{
	for (unsigned i = 0; s && i < sizeof(names) / sizeof(names[0]); i++)
		if (strcasecmp(s, names[i]) == 0)
			return (int)i;
	return -EINVAL;
}
