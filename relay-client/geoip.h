/*
 * geoip.h: locations from a MaxMind DB file (libmaxminddb), in either the MaxMind layout
 * (location.latitude/longitude, city.names.en, country.iso_code) or the flat layout
 * (latitude, longitude, city, country_code). No database or a private address = unknown.
 */
#ifndef WGR_GEOIP_H
#define WGR_GEOIP_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

struct geoip;

struct geoip_loc {
	double lat, lon;
	char city[64];
	char country[8];
};

/* Open path; NULL path searches the usual system places. 0, -ENOENT or -EINVAL (bad file). */
int geoip_open(struct geoip **out, const char *path);
void geoip_free(struct geoip *g);
/* The file actually opened. */
const char *geoip_path(const struct geoip *g);
/* 0 with *loc filled, -ENOENT unknown (no db, private/loopback address, no coordinates). */
int geoip_lookup(struct geoip *g, const struct addr *a, struct geoip_loc *loc);
/* Great-circle distance in km (haversine, mean Earth radius). */
double geoip_distance_km(double lat1, double lon1, double lat2, double lon2);

#endif
