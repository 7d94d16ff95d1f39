/* geoip.c: libmaxminddb lookups for both record layouts, and haversine distances. */
#include "geoip.h"

#include <errno.h>
#include <maxminddb.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"

struct geoip {
	MMDB_s mmdb;
	char path[4096];
};

static const char *const search_dirs[] = {"/usr/share/GeoIP", "/var/lib/GeoIP", NULL};
static const char *const search_files[] = {"GeoLite2-City.mmdb", "dbip-city-lite.mmdb", NULL};

int geoip_open(struct geoip **out, const char *path)
{
	char buf[4096];
	struct geoip *g;

	*out = NULL;
	if (!path) {
		for (size_t d = 0; search_dirs[d] && !path; d++)
			for (size_t f = 0; search_files[f]; f++) {
				snprintf(buf, sizeof(buf), "%s/%s", search_dirs[d],
				         search_files[f]);
				if (access(buf, R_OK) == 0) {
					path = buf;
					break;
				}
			}
		if (!path)
			return -ENOENT;
	}
	if (access(path, F_OK) < 0)
		return -ENOENT; /* no database is a supported setup: ranking by load */
	g = calloc(1, sizeof(*g));
	if (!g)
		return -ENOMEM;
	int rc = MMDB_open(path, MMDB_MODE_MMAP, &g->mmdb);
	if (rc != MMDB_SUCCESS) {
		int err = rc == MMDB_FILE_OPEN_ERROR ? -ENOENT : -EINVAL;
		/* No database is a supported setup (ranking by load); a broken one is worth a line. */
		if (err == -ENOENT)
			log_debug("geoip: %s: %s", path, MMDB_strerror(rc));
		else
			log_warnx("geoip: %s: %s", path, MMDB_strerror(rc));
		free(g);
		return err;
	}
	snprintf(g->path, sizeof(g->path), "%s", path);
	*out = g;
	return 0;
}

void geoip_free(struct geoip *g)
{
	if (!g)
		return;
	MMDB_close(&g->mmdb);
	free(g);
}

const char *geoip_path(const struct geoip *g)
{
	return g ? g->path : "";
}

static bool get_double(MMDB_entry_s *e, double *out, const char *const *path)
{
	MMDB_entry_data_s d;
	if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data)
		return false;
	if (d.type == MMDB_DATA_TYPE_DOUBLE)
		*out = d.double_value;
	else if (d.type == MMDB_DATA_TYPE_FLOAT)
		*out = d.float_value;
	else
		return false;
	return isfinite(*out);
}

static void get_string(MMDB_entry_s *e, char *out, size_t len, const char *const *path)
{
	MMDB_entry_data_s d;
	if (MMDB_aget_value(e, &d, path) != MMDB_SUCCESS || !d.has_data ||
	    d.type != MMDB_DATA_TYPE_UTF8_STRING)
		return;
	size_t n = d.data_size < len - 1 ? d.data_size : len - 1;
	memcpy(out, d.utf8_string, n);
	out[n] = '\0';
	/* Printed by the CLI: keep it to plain characters. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)out[i] < 0x20 || out[i] == '"' || out[i] == '\\')
			out[i] = '?';
}

int geoip_lookup(struct geoip *g, const struct addr *a, struct geoip_loc *loc)
{
	static const char *const mm_lat[] = {"location", "latitude", NULL};
	static const char *const mm_lon[] = {"location", "longitude", NULL};
	static const char *const flat_lat[] = {"latitude", NULL};
	static const char *const flat_lon[] = {"longitude", NULL};
	static const char *const mm_city[] = {"city", "names", "en", NULL};
	static const char *const flat_city[] = {"city", NULL};
	static const char *const mm_cc[] = {"country", "iso_code", NULL};
	static const char *const flat_cc[] = {"country_code", NULL};
	struct addr u = *a;
	int mrc;

	memset(loc, 0, sizeof(*loc));
	if (!g || !a->len)
		return -ENOENT;
	addr_unmap(&u);
	/* Documentation ranges stay: test worlds and the demo place them on the map. */
	if (addr_classify(&u) & ~(unsigned)ADDR_DOCUMENTATION)
		return -ENOENT;
	MMDB_lookup_result_s r = MMDB_lookup_sockaddr(&g->mmdb, &u.sa, &mrc);
	if (mrc != MMDB_SUCCESS || !r.found_entry)
		return -ENOENT;
	if (!(get_double(&r.entry, &loc->lat, mm_lat) && get_double(&r.entry, &loc->lon, mm_lon)) &&
	    !(get_double(&r.entry, &loc->lat, flat_lat) &&
	      get_double(&r.entry, &loc->lon, flat_lon)))
		return -ENOENT;
	if (loc->lat < -90 || loc->lat > 90 || loc->lon < -180 || loc->lon > 180)
		return -ENOENT;
	get_string(&r.entry, loc->city, sizeof(loc->city), mm_city);
	if (!loc->city[0])
		get_string(&r.entry, loc->city, sizeof(loc->city), flat_city);
	get_string(&r.entry, loc->country, sizeof(loc->country), mm_cc);
	if (!loc->country[0])
		get_string(&r.entry, loc->country, sizeof(loc->country), flat_cc);
	return 0;
}

double geoip_distance_km(double lat1, double lon1, double lat2, double lon2)
{
	const double rad = M_PI / 180.0, earth_km = 6371.0;
	double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
	double h = sin(dlat / 2) * sin(dlat / 2) +
	           cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
	if (h > 1)
		h = 1;
	return 2 * earth_km * asin(sqrt(h));
}
