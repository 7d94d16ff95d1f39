/* test_geoip.c: lookups in real .mmdb files of both layouts, written by tests/data/mkmmdb.pl. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "geoip.h"
#include "select.h"

static char dir[] = "/tmp/wgr-test-geoip-XXXXXX";
static char mm_path[600], flat_path[600];

static const char table[] = "# CIDR lat lon city country\n"
                            "198.51.100.0/24 52.52 13.40 Berlin DE\n"
                            "203.0.113.0/25 48.86 2.35 Paris FR\n"
                            "203.0.113.128/25 40.71 -74.00 New_York US\n"
                            "192.0.2.0/24 50.11 8.68 Frankfurt DE\n"
                            "2001:db8::/32 35.68 139.69 Tokyo JP\n";

static int build(const char *out, bool flat)
{
	char cmd[2000], tpath[700];
	const char *src = getenv("WGR_SOURCE_DIR");
	snprintf(tpath, sizeof(tpath), "%s/table.txt", dir);
	FILE *f = fopen(tpath, "w");
	if (!f)
		return -1;
	fputs(table, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "perl '%s/tests/data/mkmmdb.pl' %s '%s' '%s'", src ? src : ".",
	         flat ? "--flat" : "", out, tpath);
	return system(cmd) == 0 ? 0 : -1;
}

static void check_layout(const char *path)
{
	struct geoip *g;
	struct geoip_loc l;
	struct addr a;

	assert_int_equal(geoip_open(&g, path), 0);
	assert_int_equal(addr_parse(&a, "198.51.100.7:51820", 0), 0);
	assert_int_equal(geoip_lookup(g, &a, &l), 0);
	assert_true(l.lat > 52.51 && l.lat < 52.53);
	assert_true(l.lon > 13.39 && l.lon < 13.41);
	assert_string_equal(l.city, "Berlin");
	assert_string_equal(l.country, "DE");
	assert_int_equal(addr_parse(&a, "203.0.113.200:1", 0), 0);
	assert_int_equal(geoip_lookup(g, &a, &l), 0);
	assert_string_equal(l.city, "New York");
	assert_true(l.lon < -73.9);
	assert_int_equal(addr_parse(&a, "[2001:db8::1]:1", 0), 0);
	assert_int_equal(geoip_lookup(g, &a, &l), 0);
	assert_string_equal(l.country, "JP");
	/* v4-mapped IPv6 is the IPv4 address. */
	assert_int_equal(addr_parse(&a, "[::ffff:192.0.2.9]:1", 0), 0);
	assert_int_equal(geoip_lookup(g, &a, &l), 0);
	assert_string_equal(l.city, "Frankfurt");
	/* Private and loopback addresses have no location, even if a db had one. */
	assert_int_equal(addr_parse(&a, "10.1.2.3:1", 0), 0);
	assert_int_equal(geoip_lookup(g, &a, &l), -ENOENT);
	assert_int_equal(addr_parse(&a, "127.0.0.1:1", 0), 0);
	assert_int_equal(geoip_lookup(g, &a, &l), -ENOENT);
	/* Public but not in the table. */
	assert_int_equal(addr_parse(&a, "8.8.8.8:1", 0), 0);
	assert_int_equal(geoip_lookup(g, &a, &l), -ENOENT);
	geoip_free(g);
}

static void test_maxmind_layout(void **state)
{
	(void)state;
	check_layout(mm_path);
}

static void test_flat_layout(void **state)
{
	(void)state;
	check_layout(flat_path);
}

static void test_missing_and_malformed(void **state)
{
	(void)state;
	struct geoip *g = (struct geoip *)1;
	char path[700];
	struct addr a;
	struct geoip_loc l;

	snprintf(path, sizeof(path), "%s/none.mmdb", dir);
	assert_int_equal(geoip_open(&g, path), -ENOENT);
	assert_null(g);
	/* No database: every lookup is unknown, and ranking degrades to load. */
	assert_int_equal(addr_parse(&a, "198.51.100.7:1", 0), 0);
	assert_int_equal(geoip_lookup(NULL, &a, &l), -ENOENT);

	/* Garbage, and a real file cut in half. */
	snprintf(path, sizeof(path), "%s/garbage.mmdb", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 5000; i++)
		fputc((i * 97) & 0xff, f);
	fclose(f);
	assert_int_equal(geoip_open(&g, path), -EINVAL);
	assert_null(g);
	char cmd[1600];
	snprintf(path, sizeof(path), "%s/cut.mmdb", dir);
	snprintf(cmd, sizeof(cmd), "head -c 300 '%s' > '%s'", mm_path, path);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(geoip_open(&g, path), -EINVAL);
}

static void test_rank_with_db(void **state)
{
	(void)state;
	/* Berlin and Paris peers; relays in Frankfurt and New York, located through the db. */
	struct geoip *g;
	struct geoip_loc l;
	struct addr a;
	struct select_point pa, pb;
	struct select_cand c[2];
	size_t o[2];
	const char *relays[] = {"203.0.113.130:51821", "192.0.2.1:51821"};

	assert_int_equal(geoip_open(&g, mm_path), 0);
	addr_parse(&a, "198.51.100.7:1", 0);
	assert_int_equal(geoip_lookup(g, &a, &l), 0);
	pa = (struct select_point){true, l.lat, l.lon};
	addr_parse(&a, "203.0.113.9:1", 0);
	assert_int_equal(geoip_lookup(g, &a, &l), 0);
	pb = (struct select_point){true, l.lat, l.lon};
	for (int i = 0; i < 2; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		memset(c[i].pubkey, i + 1, 32);
		c[i].reachable = true;
		addr_parse(&a, relays[i], 0);
		assert_int_equal(geoip_lookup(g, &a, &l), 0);
		c[i].loc = (struct select_point){true, l.lat, l.lon};
	}
	select_rank(pa, pb, c, 2, o);
	assert_int_equal(o[0], 1); /* Frankfurt */
	geoip_free(g);
}

static int setup(void **state)
{
	(void)state;
	if (!mkdtemp(dir))
		return -1;
	snprintf(mm_path, sizeof(mm_path), "%s/maxmind.mmdb", dir);
	snprintf(flat_path, sizeof(flat_path), "%s/flat.mmdb", dir);
	return build(mm_path, false) == 0 && build(flat_path, true) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[600];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_maxmind_layout),
	    cmocka_unit_test(test_flat_layout),
	    cmocka_unit_test(test_missing_and_malformed),
	    cmocka_unit_test(test_rank_with_db),
	};
	if (system("perl -MMaxMind::DB::Writer::Tree -e 1 2>/dev/null") != 0) {
		fprintf(stderr, "perl MaxMind::DB::Writer::Tree missing: skipped\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
