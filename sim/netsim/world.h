/*
 * world.h: the simulated Internet the relays live in. Relays stand at real-ish places: a few
 * population and hosting clusters (Frankfurt, New York, Tokyo, ...) with a Gaussian spread of
 * hundreds of km. One-way latency is derived from the great-circle distance (fibre at 2/3 c
 * along a path 1.5 times the geodesic) plus an access delay and an exponential jitter; each
 * message is lost with a fixed probability; a region (continent) can be cut off. Every byte
 * that crosses the network is counted against the relay that sent it and the one receiving it.
 */
#ifndef WGR_NETSIM_WORLD_H
#define WGR_NETSIM_WORLD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rng.h"

enum world_region {
	WORLD_R_EUROPE = 0,
	WORLD_R_NAMERICA,
	WORLD_R_SAMERICA,
	WORLD_R_ASIA,
	WORLD_R_OCEANIA,
	WORLD_R_AFRICA,
	WORLD_R_MAX
};

/* Bytes on the wire around each message: the frame (§3 header + AEAD tag) and IPv4 + UDP. */
#define WORLD_FRAME_OVERHEAD 32
#define WORLD_IPUDP_OVERHEAD 28

struct world_place {
	double lat, lon; /* degrees */
	uint8_t cluster, region;
};

struct world_params {
	double loss;        /* per-message loss probability, 0..1 */
	double access_ms;   /* one-way delay added to every path */
	double jitter_frac; /* mean of the exponential jitter, as a fraction of the path delay */
	uint64_t seed;
};

struct world_node {
	struct world_place at;
	bool up;
	uint64_t tx_bytes, rx_bytes, tx_msgs, rx_msgs;
};

/* Messages sent, and of them lost, dropped at the cut and dropped at a node that is down. */
struct world_tally {
	uint64_t sent, lost, cut_dropped, down_dropped;
};

struct world {
	struct world_params p;
	struct world_node *nodes;
	size_t n, cap;
	int cut_region; /* region whose traffic to and from elsewhere is dropped; -1 none */
	struct rng place_rng, loss_rng, jitter_rng;
	struct world_tally tally; /* world_send's */
};

/* Name of a region ("europe", ...) and the region of a name: -1 when unknown. */
const char *world_region_name(int r);
int world_region_parse(const char *s);

/* A world with room for cap nodes and none placed. 0, -EINVAL or -ENOMEM. */
int world_init(struct world *w, const struct world_params *p, size_t cap);
void world_free(struct world *w);
/* ISO 3166 code of a cluster's country, e.g. "DE". */
const char *world_cluster_country(int cluster);
/* Draw a place from the cluster mix with rng r (relays and clients alike). */
void world_draw_place(struct rng *r, struct world_place *out);
/* Add a node (up) at a place drawn from the world's placement stream: its index or -ENOSPC. */
int world_add(struct world *w);
/* Great-circle distance between two places in km (the geoip haversine, as select.c uses it). */
double world_km(const struct world_place *a, const struct world_place *b);
/* The delay without jitter from a to b, ms. */
double world_base_delay_ms(const struct world *w, const struct world_place *a,
                           const struct world_place *b);
/*
 * Send len bytes of message from node a to node b: counts the bytes (payload + frame +
 * IP/UDP) as sent by a. Returns true and the one-way delay in *delay_ms when the message is
 * to arrive, false when it is lost (loss draw, cut region, either end down); counted either way.
 */
bool world_send(struct world *w, uint32_t a, uint32_t b, size_t len, uint64_t *delay_ms);
/*
 * world_send drawing loss and jitter from r and counting in *t: a sender's own stream and
 * tally, for callers that run senders on several threads (node a's counters are written, the
 * rest of the world only read).
 */
bool world_send_with(struct world *w, struct rng *r, struct world_tally *t, uint32_t a, uint32_t b,
                     size_t len, uint64_t *delay_ms);
/* Count a delivered message of len payload bytes as received by b. */
void world_received(struct world *w, uint32_t b, size_t len);
/* Whether a and b can reach each other now (both up, not separated by the cut). */
bool world_connected(const struct world *w, uint32_t a, uint32_t b);

#endif
