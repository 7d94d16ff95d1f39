/*
 * dhtsim.h: scenario 3, finding relays through the Mainline DHT. One real DHT node
 * (common/dht.c, BEP 5 + BEP 44) per relay, on the simulated network with its loss. Every
 * relay joins the DHT, announces itself under the day's infohash and puts its signed
 * descriptor as a BEP 44 mutable item (k = identity, salt "wgrelay-descriptor"). Then clients
 * that know nothing but a few DHT nodes (no relay) join, get_peers the infohash, fetch the
 * descriptor of the first relays found straight from them (DESC_REQ / DESC_RESP, §10.1, by
 * its size) and get the relay's item from the DHT by its identity.
 */
#ifndef WGR_NETSIM_DHTSIM_H
#define WGR_NETSIM_DHTSIM_H

#include <stddef.h>
#include <stdint.h>

#include "stats.h"

struct dhtsim_params {
	size_t relays;
	size_t clients;
	size_t want; /* relays a client wants (N) */
	double loss;
	uint64_t seed;
};

struct dhtsim_result {
	size_t clients, found_all; /* clients whose get_peers gave at least `want` relays */
	size_t items_tried, items_ok, items_seq_ok;
	size_t items_unstarted;     /* dht_get refused (e.g. -EBUSY: lookups at their limit) */
	struct stats peers;         /* relays a get_peers lookup returned */
	struct stats lookup_s;      /* get_peers latency */
	struct stats item_s;        /* get (BEP 44) latency, per item */
	struct stats total_s;       /* client start to `want` verified descriptors */
	size_t announce_ok, put_ok; /* relays whose announce / put stored somewhere */
	uint64_t datagrams, lost;
	double wall_s;
};

int dhtsim_run(const struct dhtsim_params *p, const char *dir, struct dhtsim_result *r);
void dhtsim_result_free(struct dhtsim_result *r);

#endif
