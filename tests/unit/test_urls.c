/*
 * Unit tests: relays' stream URLs (relay-client/urls.c) and where the cache keeps them (schema
 * 7, cache.c): lists as text both ways, a descriptor's endpoints as URLs, the line's before the
 * descriptor's; a real version-6 file migrated with its rows kept; what status shows of the
 * carriers.
 */
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
#include <sqlite3.h>

#include "cache.h"
#include "descriptor.h"
#include "status.h"
#include "urls.h"

static void test_format_parse(void **state)
{
	static const char *const in[] = {"tcp://192.0.2.1:443", "tls://relay.example:8443",
	                                 "wss://relay.example/wgrelay", "ws://[2001:db8::1]:80/x"};
	struct turl u[URLS_MAX], back[URLS_MAX];
	char text[CACHE_URLS], again[CACHE_URLS];

	(void)state;
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(turl_parse(&u[i], in[i]), 0);
	assert_true(urls_format(u, 4, text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "tcp://192.0.2.1:443 tls://relay.example:8443 wss://"));
	assert_int_equal(urls_parse(text, back, URLS_MAX), 4);
	assert_true(urls_format(back, 4, again, sizeof(again)) > 0);
	assert_string_equal(again, text);
	/* Too small a buffer: -ENOSPC, and what is there stays a string. */
	assert_int_equal(urls_format(u, 4, text, 30), -ENOSPC);
	assert_true(strlen(text) < 30);
	/* Bad words, udp and anything past cap are left out. */
	assert_int_equal(urls_parse("  nonsense udp://192.0.2.1:1 tcp://192.0.2.2:2\tftp://x:1 "
	                            "tls://192.0.2.3:3",
	                            back, 1),
	                 1);
	assert_int_equal(back[0].kind, TURL_TCP);
	assert_int_equal(urls_parse("", back, URLS_MAX), 0);
	assert_int_equal(urls_format(u, 0, text, sizeof(text)), 0);
	assert_string_equal(text, "");
}

static void test_from_desc(void **state)
{
	struct descriptor d;
	struct cache_relay r;
	struct turl u[URLS_MAX];
	char text[CACHE_URLS];

	(void)state;
	memset(&d, 0, sizeof(d));
	d.n_endpoints = 5;
	d.endpoints[0].transport = DESC_T_UDP;
	assert_int_equal(addr_parse(&d.endpoints[0].addr, "192.0.2.7:51821", 0), 0);
	d.endpoints[1].transport = DESC_T_TCP;
	assert_int_equal(addr_parse(&d.endpoints[1].addr, "192.0.2.7:443", 0), 0);
	d.endpoints[2].transport = DESC_T_WSS;
	snprintf(d.endpoints[2].host, sizeof(d.endpoints[2].host), "relay.example");
	snprintf(d.endpoints[2].path, sizeof(d.endpoints[2].path), "/r");
	d.endpoints[2].port = 8443;
	d.endpoints[3].transport = DESC_T_TLS;
	assert_int_equal(addr_parse(&d.endpoints[3].addr, "[2001:db8::7]:443", 0), 0);
	d.endpoints[4].transport = DESC_T_ONION;
	snprintf(d.endpoints[4].host, sizeof(d.endpoints[4].host), "%s", "abc.onion");
	d.endpoints[4].port = 80;
	assert_int_equal(urls_from_desc(&d, text, sizeof(text)), 4);
	assert_string_equal(text, "tcp://192.0.2.7:443 wss://relay.example:8443/r "
	                          "tls://[2001:db8::7]:443 tcp://abc.onion:80");
	/* Cut to what fits, the first ones kept. */
	assert_int_equal(urls_from_desc(&d, text, 25), 1);
	assert_string_equal(text, "tcp://192.0.2.7:443");
	/* The line's URLs first, then the descriptor's that differ. */
	memset(&r, 0, sizeof(r));
	snprintf(r.urls, sizeof(r.urls), "tls://[2001:db8::7]:443 tcp://192.0.2.9:1");
	assert_int_equal(urls_from_desc(&d, r.desc_urls, sizeof(r.desc_urls)), 4);
	assert_int_equal(urls_of_relay(&r, u, URLS_MAX), 4);
	assert_true(urls_format(u, 4, text, sizeof(text)) > 0);
	assert_string_equal(text, "tls://[2001:db8::7]:443 tcp://192.0.2.9:1 tcp://192.0.2.7:443 "
	                          "wss://relay.example:8443/r");
}

static char dir[64];

static int setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/wgr-urls-XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The relay of key pubkey in the cache (asserted present). */
static struct cache_relay find(struct cache *c, const char *pubkey)
{
	struct cache_relay *r, out;
	size_t n;
	bool found = false;

	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].pubkey, pubkey) == 0) {
			out = r[i];
			found = true;
		}
	free(r);
	assert_true(found);
	return out;
}

/* Undo schemas 8 and 7 on a real file: what a helper of version 6 left behind. */
static void make_v6(const char *path)
{
	sqlite3 *db;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db,
	                              "ALTER TABLE interfaces DROP COLUMN hops;"
	                              "ALTER TABLE interfaces DROP COLUMN strategy;"
	                              "ALTER TABLE interfaces DROP COLUMN exclude_country;"
	                              "ALTER TABLE peers DROP COLUMN circuit;"
	                              "DROP TABLE guards;"
	                              "ALTER TABLE relays DROP COLUMN urls;"
	                              "ALTER TABLE relays DROP COLUMN desc_urls;"
	                              "ALTER TABLE relays DROP COLUMN transport;"
	                              "PRAGMA user_version = 6;",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	sqlite3_close(db);
}

static void test_migration_keeps_rows(void **state)
{
	struct cache *c;
	struct cache_relay r;
	char path[128];

	(void)state;
	snprintf(path, sizeof(path), "%s/old.db", dir);
	assert_int_equal(cache_open(&c, path), 0);
	assert_int_equal(cache_bootstrap_add(c, "192.0.2.1:51821", "K1", 5), 0);
	assert_int_equal(cache_bootstrap_add(c, "192.0.2.2:51821", "K2", 5), 0);
	cache_free(c);
	make_v6(path);
	/* Read-only (status): the old file as it is, no URLs. */
	assert_int_equal(cache_open_readonly(&c, path), 0);
	assert_int_equal(cache_schema_version(c), 6);
	r = find(c, "K2");
	assert_string_equal(r.endpoint, "192.0.2.2:51821");
	assert_string_equal(r.urls, "");
	assert_string_equal(r.transport, "");
	cache_free(c);
	/* Opened to write: migrated to 7 in place, rows kept, the columns there. */
	assert_int_equal(cache_open(&c, path), 0);
	assert_false(cache_was_rebuilt(c));
	assert_int_equal(cache_schema_version(c), CACHE_SCHEMA_VERSION);
	r = find(c, "K1");
	assert_string_equal(r.source, "bootstrap");
	assert_string_equal(r.urls, "");
	assert_int_equal(cache_relay_set_urls(c, "K1", "tls://192.0.2.1:443"), 0);
	assert_int_equal(cache_relay_set_urls(c, "nobody", "tls://192.0.2.1:443"), -ENOENT);
	/* The carrier watch publishes; a probe's outcome (cache_relay_seen) leaves it. */
	assert_int_equal(cache_relay_set_transport(c, "K1",
	                                           "tls://192.0.2.1:443 via "
	                                           "socks5://127.0.0.1:9050"),
	                 0);
	assert_int_equal(cache_relay_set_transport(c, "K2", "udp"), 0);
	r.transport[0] = '\0';
	assert_int_equal(cache_relay_seen(c, &r), 0);
	/* Upsert (list-relays writing a probe back) keeps the URLs. */
	r = find(c, "K1");
	assert_int_equal(cache_relay_upsert(c, &r), 0);
	cache_free(c);
	assert_int_equal(cache_open(&c, path), 0);
	assert_false(cache_was_rebuilt(c));
	r = find(c, "K1");
	assert_string_equal(r.urls, "tls://192.0.2.1:443");
	assert_string_equal(r.transport, "tls://192.0.2.1:443 via socks5://127.0.0.1:9050");
	r = find(c, "K2");
	assert_string_equal(r.urls, "");
	assert_string_equal(r.transport, "udp");
	/* A new run of watch: no link of the last one is there any more. */
	assert_int_equal(cache_relay_set_transport(c, NULL, ""), 0);
	assert_string_equal(find(c, "K1").transport, "");
	assert_string_equal(find(c, "K2").transport, "");
	cache_free(c);
}

/* A descriptor's URLs land in desc_urls, beside a bootstrap line's own. */
static void test_desc_urls_stored(void **state)
{
	struct cache *c;
	struct cache_relay r;
	uint8_t blob[8] = {1, 2, 3};
	struct cache_desc d = {
	    .seq = 1, .issued = 100, .expires = 4000000000LL, .blob = blob, .len = sizeof(blob)};

	(void)state;
	assert_int_equal(cache_open(&c, ":memory:"), 0);
	assert_int_equal(cache_bootstrap_add(c, "192.0.2.1:51821", "KB", 5), 0);
	assert_int_equal(cache_relay_set_urls(c, "KB", "tcp://192.0.2.1:443"), 0);
	snprintf(d.pubkey, sizeof(d.pubkey), "KB");
	snprintf(d.endpoint, sizeof(d.endpoint), "192.0.2.1:51821");
	snprintf(d.identity, sizeof(d.identity), "IB");
	snprintf(d.urls, sizeof(d.urls), "wss://relay.example");
	assert_int_equal(cache_desc_store(c, &d, 10), 0);
	r = find(c, "KB");
	assert_string_equal(r.urls, "tcp://192.0.2.1:443");
	assert_string_equal(r.desc_urls, "wss://relay.example");
	/* A discovered relay: its descriptor's URLs, replaced by a newer one's. */
	snprintf(d.pubkey, sizeof(d.pubkey), "KD");
	snprintf(d.endpoint, sizeof(d.endpoint), "192.0.2.9:51821");
	snprintf(d.identity, sizeof(d.identity), "ID");
	snprintf(d.source, sizeof(d.source), "relay");
	assert_int_equal(cache_desc_store(c, &d, 10), 0);
	assert_string_equal(find(c, "KD").desc_urls, "wss://relay.example");
	d.seq = 2;
	snprintf(d.urls, sizeof(d.urls), "tls://192.0.2.9:443");
	assert_int_equal(cache_desc_store(c, &d, 10), 0);
	assert_string_equal(find(c, "KD").desc_urls, "tls://192.0.2.9:443");
	cache_free(c);
}

/* status: each linked relay's carrier, in text and JSON, only while the helper runs. */
static void test_status_transport(void **state)
{
	struct cache_helper h = {.pid = 4242, .tick = 1000};
	struct cache_relay r[3] = {{.rtt_ms = 5}, {.rtt_ms = -1}, {.rtt_ms = 7}};
	struct status_dev_info dev = {.name = "wg0", .state = STATUS_DEV_ABSENT};
	struct status_in in = {.now = 1001,
	                       .helper = &h,
	                       .helper_alive = true,
	                       .devs = &dev,
	                       .n_devs = 1,
	                       .relays = r,
	                       .n_relays = 3};
	char buf[4096];
	FILE *f;

	(void)state;
	snprintf(r[0].endpoint, sizeof(r[0].endpoint), "192.0.2.1:51821");
	snprintf(r[0].pubkey, sizeof(r[0].pubkey), "AAAAAAAAkey0");
	snprintf(r[0].status, sizeof(r[0].status), "ok");
	snprintf(r[0].transport, sizeof(r[0].transport),
	         "tls://relay.example:443 via socks5://127.0.0.1:9050");
	snprintf(r[1].endpoint, sizeof(r[1].endpoint), "192.0.2.2:51821"); /* not linked */
	snprintf(r[2].endpoint, sizeof(r[2].endpoint), "192.0.2.3:51821");
	snprintf(r[2].pubkey, sizeof(r[2].pubkey), "CCCCCCCCkey2");
	snprintf(r[2].status, sizeof(r[2].status), "ok");
	snprintf(r[2].transport, sizeof(r[2].transport), "udp");
	f = fmemopen(buf, sizeof(buf), "w");
	status_print_text(f, &in);
	fclose(f);
	assert_non_null(strstr(buf, "relays linked:\n  192.0.2.1:51821 (AAAAAAAA...): "
	                            "tls://relay.example:443 via socks5://127.0.0.1:9050, ok\n"
	                            "  192.0.2.3:51821 (CCCCCCCC...): udp, ok\n"));
	assert_null(strstr(buf, "192.0.2.2"));
	f = fmemopen(buf, sizeof(buf), "w");
	status_print_json(f, &in);
	fclose(f);
	assert_non_null(strstr(buf,
	                       "\"relays\": [{\"endpoint\": \"192.0.2.1:51821\", \"pubkey\": "
	                       "\"AAAAAAAAkey0\", \"transport\": \"tls://relay.example:443 via "
	                       "socks5://127.0.0.1:9050\", \"status\": \"ok\"}, {"));
	/* A helper that stopped: its carriers are history, not shown. */
	h.pid = 0;
	f = fmemopen(buf, sizeof(buf), "w");
	status_print_text(f, &in);
	fclose(f);
	assert_null(strstr(buf, "relays linked"));
	f = fmemopen(buf, sizeof(buf), "w");
	status_print_json(f, &in);
	fclose(f);
	assert_non_null(strstr(buf, "\"relays\": []"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_format_parse),         cmocka_unit_test(test_from_desc),
	    cmocka_unit_test(test_migration_keeps_rows), cmocka_unit_test(test_desc_urls_stored),
	    cmocka_unit_test(test_status_transport),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
