/* world.c: placement, delay, loss, partition and byte accounting of the simulated network. */
#include "world.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "geoip.h"

/*
 * Where relays and clients are: hosting and population centres, weighted roughly by where
 * servers are rented and people live, each with a spread (1 sigma, km). Real-ish, not data.
 */
static const struct {
	const char *name, *country;
	double lat, lon, weight, sigma_km;
	uint8_t region;
} clusters[] = {
    {"frankfurt", "DE", 50.11, 8.68, 0.20, 500, WORLD_R_EUROPE},
    {"london", "GB", 51.51, -0.13, 0.08, 300, WORLD_R_EUROPE},
    {"moscow", "RU", 55.75, 37.62, 0.04, 500, WORLD_R_EUROPE},
    {"new-york", "US", 40.71, -74.01, 0.14, 500, WORLD_R_NAMERICA},
    {"dallas", "US", 32.78, -96.80, 0.06, 700, WORLD_R_NAMERICA},
    {"san-francisco", "US", 37.77, -122.42, 0.08, 400, WORLD_R_NAMERICA},
    {"sao-paulo", "BR", -23.55, -46.63, 0.05, 600, WORLD_R_SAMERICA},
    {"tokyo", "JP", 35.68, 139.69, 0.07, 400, WORLD_R_ASIA},
    {"singapore", "SG", 1.35, 103.82, 0.06, 800, WORLD_R_ASIA},
    {"mumbai", "IN", 19.08, 72.88, 0.06, 700, WORLD_R_ASIA},
    {"hong-kong", "HK", 22.32, 114.17, 0.04, 500, WORLD_R_ASIA},
    {"sydney", "AU", -33.87, 151.21, 0.04, 600, WORLD_R_OCEANIA},
    {"lagos", "NG", 6.52, 3.38, 0.02, 800, WORLD_R_AFRICA},
    {"johannesburg", "ZA", -26.20, 28.05, 0.02, 500, WORLD_R_AFRICA},
};
#define N_CLUSTERS (sizeof(clusters) / sizeof(clusters[0]))

static const char *const region_names[WORLD_R_MAX] = {
    "europe", "north-america", "south-america", "asia", "oceania", "africa",
};

const char *world_cluster_country(int cluster)
{
	return cluster >= 0 && (size_t)cluster < N_CLUSTERS ? clusters[cluster].country : "";
}

const char *world_region_name(int r)
{
	return r >= 0 && r < WORLD_R_MAX ? region_names[r] : "none";
}

int world_region_parse(const char *s)
{
	for (int r = 0; r < WORLD_R_MAX; r++)
		if (strcmp(s, region_names[r]) == 0)
			return r;
	return -1;
}

int world_init(struct world *w, const struct world_params *p, size_t cap)
{
	memset(w, 0, sizeof(*w));
	if (cap == 0 || p->loss < 0 || p->loss > 1 || p->jitter_frac < 0)
		return -EINVAL;
	w->nodes = calloc(cap, sizeof(*w->nodes));
	if (!w->nodes)
		return -ENOMEM;
	w->p = *p;
	w->cap = cap;
	w->cut_region = -1;
	rng_seed(&w->place_rng, p->seed, 0x706c616365ull);
	rng_seed(&w->loss_rng, p->seed, 0x6c6f7373ull);
	rng_seed(&w->jitter_rng, p->seed, 0x6a6974ull);
	return 0;
}

void world_free(struct world *w)
{
	free(w->nodes);
	w->nodes = NULL;
	w->n = w->cap = 0;
}

void world_draw_place(struct rng *r, struct world_place *out)
{
	double total = 0, x;
	size_t c = 0;

	for (size_t i = 0; i < N_CLUSTERS; i++)
		total += clusters[i].weight;
	x = rng_unit(r) * total;
	for (c = 0; c + 1 < N_CLUSTERS; c++) {
		if (x < clusters[c].weight)
			break;
		x -= clusters[c].weight;
	}
	/* Gaussian offset in km, turned into degrees at the cluster's latitude. */
	double dn = rng_normal(r) * clusters[c].sigma_km, de = rng_normal(r) * clusters[c].sigma_km;
	double lat = clusters[c].lat + dn / 111.2;
	if (lat > 85)
		lat = 85;
	if (lat < -85)
		lat = -85;
	double lon = clusters[c].lon + de / (111.2 * cos(clusters[c].lat * M_PI / 180.0));
	while (lon > 180)
		lon -= 360;
	while (lon < -180)
		lon += 360;
	out->lat = lat;
	out->lon = lon;
	out->cluster = (uint8_t)c;
	out->region = clusters[c].region;
}

int world_add(struct world *w)
{
	if (w->n == w->cap)
		return -ENOSPC;
	struct world_node *nd = &w->nodes[w->n];
	memset(nd, 0, sizeof(*nd));
	world_draw_place(&w->place_rng, &nd->at);
	nd->up = true;
	return (int)w->n++;
}

double world_km(const struct world_place *a, const struct world_place *b)
{
	return geoip_distance_km(a->lat, a->lon, b->lat, b->lon);
}

double world_base_delay_ms(const struct world *w, const struct world_place *a,
                           const struct world_place *b)
{
	/* Fibre carries light at ~200 km/ms; routes run ~1.5 times the great circle. */
	return w->p.access_ms + world_km(a, b) * 1.5 / 200.0;
}

bool world_connected(const struct world *w, uint32_t a, uint32_t b)
{
	const struct world_node *x = &w->nodes[a], *y = &w->nodes[b];

	if (!x->up || !y->up)
		return false;
	if (w->cut_region >= 0 &&
	    (x->at.region == w->cut_region) != (y->at.region == w->cut_region))
		return false;
	return true;
}

static bool send_draw(struct world *w, struct rng *loss, struct rng *jitter, struct world_tally *t,
                      uint32_t a, uint32_t b, size_t len, uint64_t *delay_ms)
{
	struct world_node *x = &w->nodes[a];
	size_t wire = len + WORLD_FRAME_OVERHEAD + WORLD_IPUDP_OVERHEAD;

	x->tx_bytes += wire;
	x->tx_msgs++;
	t->sent++;
	/* Draw loss first and always, so the loss stream does not depend on the cut or churn. */
	bool lost = rng_chance(loss, w->p.loss);
	if (!w->nodes[a].up || !w->nodes[b].up) {
		t->down_dropped++;
		return false;
	}
	if (!world_connected(w, a, b)) {
		t->cut_dropped++;
		return false;
	}
	if (lost) {
		t->lost++;
		return false;
	}
	double base = world_base_delay_ms(w, &x->at, &w->nodes[b].at);
	double d = base + rng_exp(jitter, base * w->p.jitter_frac);
	*delay_ms = (uint64_t)ceil(d);
	return true;
}

bool world_send(struct world *w, uint32_t a, uint32_t b, size_t len, uint64_t *delay_ms)
{
	return send_draw(w, &w->loss_rng, &w->jitter_rng, &w->tally, a, b, len, delay_ms);
}

bool world_send_with(struct world *w, struct rng *r, struct world_tally *t, uint32_t a, uint32_t b,
                     size_t len, uint64_t *delay_ms)
{
	return send_draw(w, r, r, t, a, b, len, delay_ms);
}

void world_received(struct world *w, uint32_t b, size_t len)
{
	struct world_node *y = &w->nodes[b];

	y->rx_bytes += len + WORLD_FRAME_OVERHEAD + WORLD_IPUDP_OVERHEAD;
	y->rx_msgs++;
}
