/* test_cache.c: the SQLite connection cache, in memory and in real files. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <glob.h>
#include <sqlite3.h>

#include "cache.h"
#include "discover.h"

static struct cache *mem(void)
{
	struct cache *c = NULL;
	assert_int_equal(cache_open(&c, ":memory:"), 0);
	assert_int_equal(cache_schema_version(c), CACHE_SCHEMA_VERSION);
	return c;
}

static void test_windows_and_rule(void **state)
{
	(void)state;
	struct cache *c = mem();
	bool relay;
	unsigned n, recent;
	int64_t t = 1700000000;

	/* Two failed endpoints: the "all of >= 3" rule needs three. */
	assert_int_equal(cache_record_window(c, "wg0", "P", "198.51.100.7:51820", false, t), 0);
	assert_int_equal(cache_record_window(c, "wg0", "P", "198.51.100.8:51820", false, t), 0);
	assert_int_equal(cache_should_try_relay(c, "wg0", "P", t, &relay, &n, &recent), 0);
	assert_false(relay);
	assert_int_equal(n, 2);
	assert_int_equal(recent, 2);
	assert_int_equal(cache_record_window(c, "wg0", "P", "198.51.100.9:51820", false, t), 0);
	assert_int_equal(cache_should_try_relay(c, "wg0", "P", t, &relay, &n, &recent), 0);
	assert_true(relay);
	assert_int_equal(n, 3);
	/* One endpoint working again: not all failed; other peers unaffected. */
	assert_int_equal(cache_record_window(c, "wg0", "P", "198.51.100.9:51820", true, t + 5), 0);
	assert_int_equal(cache_should_try_relay(c, "wg0", "P", t + 5, &relay, &n, &recent), 0);
	assert_false(relay);
	assert_int_equal(cache_should_try_relay(c, "wg0", "Q", t, &relay, &n, &recent), 0);
	assert_false(relay);
	assert_int_equal(n, 0);

	/* > 10 failures within 30 min on one endpoint fires; older ones do not count. */
	for (int i = 0; i < 11; i++)
		assert_int_equal(
		    cache_record_window(c, "wg1", "R", "203.0.113.1:1", false, t + i * 5), 0);
	assert_int_equal(cache_record_window(c, "wg1", "R", "203.0.113.1:1", true, t + 60), 0);
	assert_int_equal(cache_should_try_relay(c, "wg1", "R", t + 60, &relay, &n, &recent), 0);
	assert_true(relay);
	assert_int_equal(recent, 11);
	assert_int_equal(cache_should_try_relay(c, "wg1", "R", t + 3600, &relay, &n, &recent), 0);
	assert_false(relay);
	assert_int_equal(recent, 0);

	struct cache_endpoint *e;
	size_t ne;
	assert_int_equal(cache_list_endpoints(c, "wg1", "R", &e, &ne), 0);
	assert_int_equal(ne, 1);
	assert_int_equal(e[0].failure_count, 11);
	assert_int_equal(e[0].success_count, 1);
	assert_int_equal(e[0].status, CACHE_EP_OK);
	assert_int_equal(e[0].last_success, t + 60);
	assert_int_equal(e[0].handshake_success_rate, 100 / 12);
	assert_int_equal(e[0].latency_ms, -1);
	free(e);
	cache_free(c);
}

static void test_relay_success_and_registry(void **state)
{
	(void)state;
	struct cache *c = mem();
	struct cache_endpoint *e;
	struct cache_relay *r;
	size_t n;

	assert_int_equal(cache_record_relay_success(c, "wg0", "P", "RK", 100), 0);
	assert_int_equal(cache_record_relay_success(c, "wg0", "P", "RK", 200), 0);
	assert_int_equal(cache_list_endpoints(c, "wg0", "P", &e, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(e[0].type, "relay");
	assert_string_equal(e[0].relay_pubkey, "RK");
	assert_int_equal(e[0].relay_success_count, 2);
	assert_int_equal(e[0].last_relay_success, 200);
	free(e);
	/* Relay rows are not direct endpoints: they never feed the "all failed" rule. */
	bool relay;
	assert_int_equal(cache_should_try_relay(c, "wg0", "P", 200, &relay, NULL, NULL), 0);
	assert_false(relay);
	/* The connection cache: relayed last, nothing direct since; a direct success undoes it. */
	bool needed;
	assert_int_equal(cache_needed_relay(c, "wg0", "P", 300, &needed), 0);
	assert_true(needed);
	assert_int_equal(cache_needed_relay(c, "wg0", "Q", 300, &needed), 0);
	assert_false(needed);
	assert_int_equal(cache_needed_relay(c, "wg0", "P", 200 + 8 * 86400, &needed), 0);
	assert_false(needed); /* a week later it is news no more */
	assert_int_equal(cache_record_window(c, "wg0", "P", "198.51.100.7:51820", true, 250), 0);
	assert_int_equal(cache_needed_relay(c, "wg0", "P", 300, &needed), 0);
	assert_false(needed);

	assert_int_equal(cache_bootstrap_add(c, "192.0.2.1:51821", "K1", 5), 0);
	assert_int_equal(cache_bootstrap_add(c, "192.0.2.2:51821", "K2", 5), 0);
	assert_int_equal(cache_bootstrap_add(c, "192.0.2.3:51821", "K1", 6), 0); /* moved */
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(r[0].endpoint, "192.0.2.2:51821");
	assert_string_equal(r[1].endpoint, "192.0.2.3:51821");
	assert_string_equal(r[1].source, "bootstrap");
	assert_string_equal(r[1].status, "unknown");
	r[1].rtt_ms = 12;
	r[1].has_loc = true;
	r[1].lat = 52.5;
	snprintf(r[1].status, sizeof(r[1].status), "ok");
	assert_int_equal(cache_relay_upsert(c, &r[1]), 0);
	assert_int_equal(cache_relay_outcome(c, "K1", true, 77), 0);
	assert_int_equal(cache_relay_outcome(c, "K1", false, 78), 0);
	free(r);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(r[1].rtt_ms, 12);
	assert_true(r[1].has_loc);
	assert_true(r[1].lat == 52.5);
	assert_string_equal(r[1].status, "ok");
	assert_int_equal(r[1].success_count, 1);
	assert_int_equal(r[1].failure_count, 1);
	assert_int_equal(r[1].last_seen, 77);
	free(r);
	assert_int_equal(cache_bootstrap_remove(c, "192.0.2.2:51821"), 0);
	assert_int_equal(cache_bootstrap_remove(c, "K1"), 0);
	assert_int_equal(cache_bootstrap_remove(c, "K1"), -ENOENT);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 0);
	free(r);
	/* Bound parameters: quotes are data, not SQL. */
	assert_int_equal(cache_bootstrap_add(c, "x'); DROP TABLE relays; --", "K'3", 1), 0);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].pubkey, "K'3");
	free(r);
	cache_free(c);
}

static void test_iface_peer_session(void **state)
{
	(void)state;
	struct cache *c = mem();
	struct cache_iface s, *l;
	size_t n;

	assert_int_equal(cache_iface_get(c, "wg0", &s), -ENOENT);
	assert_false(s.enabled);
	assert_int_equal(s.threshold_windows, 1);
	assert_int_equal(s.prebind, 2);
	assert_string_equal(s.mode, "direct");
	assert_int_equal(s.mtu, -1);
	s.enabled = true;
	s.threshold_windows = 4;
	snprintf(s.mode, sizeof(s.mode), "sealed");
	assert_int_equal(cache_iface_set(c, &s), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_iface_get(c, "wg0", &s), 0);
	assert_true(s.enabled);
	assert_int_equal(s.threshold_windows, 4);
	assert_string_equal(s.mode, "sealed");
	assert_int_equal(cache_iface_list(c, &l, &n), 0);
	assert_int_equal(n, 1);
	free(l);

	struct cache_peer p = {.since = 10, .updated = 20}, *pl;
	snprintf(p.iface, sizeof(p.iface), "wg0");
	snprintf(p.peer, sizeof(p.peer), "PK");
	snprintf(p.path, sizeof(p.path), "relayed");
	snprintf(p.why, sizeof(p.why), "3 handshake windows failed");
	assert_int_equal(cache_peer_set(c, &p), 0);
	p.updated = 30;
	assert_int_equal(cache_peer_set(c, &p), 0); /* replaces */
	assert_int_equal(cache_peer_list(c, "wg0", &pl, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pl[0].updated, 30);
	assert_string_equal(pl[0].why, "3 handshake windows failed");
	free(pl);
	assert_int_equal(cache_peer_list(c, "wg1", &pl, &n), 0);
	assert_int_equal(n, 0);
	free(pl);

	struct cache_session cs = {.original_keepalive = 0, .since = 5}, *sl;
	snprintf(cs.iface, sizeof(cs.iface), "wg0");
	snprintf(cs.peer, sizeof(cs.peer), "PK");
	snprintf(cs.session_endpoint, sizeof(cs.session_endpoint), "192.0.2.1:40000");
	snprintf(cs.original_endpoint, sizeof(cs.original_endpoint), "198.51.100.7:51820");
	assert_int_equal(cache_session_put(c, &cs), 0);
	assert_int_equal(cache_session_list(c, NULL, &sl, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sl[0].original_endpoint, "198.51.100.7:51820");
	free(sl);
	assert_int_equal(cache_session_del(c, "wg0", "PK"), 0);
	assert_int_equal(cache_session_list(c, "wg0", &sl, &n), 0);
	assert_int_equal(n, 0);
	free(sl);
	cache_free(c);
}

/* Schema 2: the relay mode of a peer and a session, and the MTU sealed mode lowered. */
static void test_modes_and_mtu(void **state)
{
	(void)state;
	struct cache *c = mem();
	struct cache_peer p = {.since = 1, .updated = 2}, *pl;
	struct cache_session cs = {.since = 3}, *sl;
	unsigned mtu = 0, lowered = 0;
	size_t n;

	snprintf(p.iface, sizeof(p.iface), "wg0");
	snprintf(p.peer, sizeof(p.peer), "PK");
	snprintf(p.path, sizeof(p.path), "relayed");
	snprintf(p.mode, sizeof(p.mode), "sealed");
	assert_int_equal(cache_peer_set(c, &p), 0);
	snprintf(p.peer, sizeof(p.peer), "PD");
	snprintf(p.path, sizeof(p.path), "direct");
	p.mode[0] = '\0';
	assert_int_equal(cache_peer_set(c, &p), 0);
	assert_int_equal(cache_peer_list(c, "wg0", &pl, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(pl[0].peer, "PD");
	assert_string_equal(pl[0].mode, "");
	assert_string_equal(pl[1].mode, "sealed");
	free(pl);

	snprintf(cs.iface, sizeof(cs.iface), "wg0");
	snprintf(cs.peer, sizeof(cs.peer), "PK");
	snprintf(cs.session_endpoint, sizeof(cs.session_endpoint), "127.0.0.1:40000");
	snprintf(cs.mode, sizeof(cs.mode), "sealed");
	assert_int_equal(cache_session_put(c, &cs), 0);
	snprintf(cs.peer, sizeof(cs.peer), "PX");
	cs.mode[0] = '\0'; /* unset: a direct-mode session */
	assert_int_equal(cache_session_put(c, &cs), 0);
	assert_int_equal(cache_session_list(c, "wg0", &sl, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(sl[0].mode, "sealed");
	assert_string_equal(sl[1].mode, "direct");
	free(sl);

	assert_int_equal(cache_mtu_get(c, "wg0", &mtu, &lowered), -ENOENT);
	assert_int_equal(cache_mtu_put(c, "wg0", 1420, 1388), 0);
	assert_int_equal(cache_mtu_get(c, "wg0", &mtu, &lowered), 0);
	assert_int_equal(mtu, 1420);
	assert_int_equal(lowered, 1388);
	assert_int_equal(cache_mtu_put(c, "wg0", 0, 0), 0);
	assert_int_equal(cache_mtu_get(c, "wg0", &mtu, &lowered), -ENOENT);
	cache_free(c);
}

static char dir[] = "/tmp/wgr-test-cache-XXXXXX";

static int count_aside(const char *path)
{
	char pat[600];
	glob_t g;
	snprintf(pat, sizeof(pat), "%s.corrupt-*", path);
	int n = glob(pat, 0, NULL, &g) == 0 ? (int)g.gl_pathc : 0;
	globfree(&g);
	return n;
}

static void test_file_mode_persist(void **state)
{
	(void)state;
	char path[512];
	struct stat st;
	struct cache *c;
	struct cache_iface s;

	snprintf(path, sizeof(path), "%s/a.db", dir);
	umask(022);
	assert_int_equal(cache_open(&c, path), 0);
	assert_false(cache_was_rebuilt(c));
	cache_iface_defaults(&s, "wg7");
	s.enabled = true;
	assert_int_equal(cache_iface_set(c, &s), 0);
	cache_free(c);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(cache_open(&c, path), 0);
	assert_int_equal(cache_iface_get(c, "wg7", &s), 0);
	assert_true(s.enabled);
	cache_free(c);
}

static void test_corrupt_file(void **state)
{
	(void)state;
	char path[512];
	struct cache *c;
	struct cache_iface s;

	snprintf(path, sizeof(path), "%s/garbage.db", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 4096; i++)
		fputc((i * 131 + 7) & 0xff, f);
	fclose(f);
	assert_int_equal(cache_open(&c, path), 0);
	assert_true(cache_was_rebuilt(c));
	assert_int_equal(count_aside(path), 1);
	/* The rebuilt cache works. */
	cache_iface_defaults(&s, "wg0");
	assert_int_equal(cache_iface_set(c, &s), 0);
	cache_free(c);

	/* A real database whose pages were overwritten in the middle. */
	snprintf(path, sizeof(path), "%s/torn.db", dir);
	assert_int_equal(cache_open(&c, path), 0);
	for (int i = 0; i < 200; i++)
		cache_record_window(c, "wg0", "P", "198.51.100.1:1", i & 1, 1000 + i);
	cache_free(c);
	f = fopen(path, "r+");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	long size = ftell(f);
	assert_true(size > 3 * 4096);
	/* Keep page 1 (the schema) and overwrite every table page after it. */
	fseek(f, 4096, SEEK_SET);
	for (long i = 4096; i < size; i++)
		fputc(0xA5, f);
	fclose(f);
	assert_int_equal(cache_open(&c, path), 0);
	assert_true(cache_was_rebuilt(c));
	assert_int_equal(count_aside(path), 1);
	cache_free(c);
}

static void test_newer_schema(void **state)
{
	(void)state;
	char path[512], cmd[700];
	struct cache *c;

	snprintf(path, sizeof(path), "%s/new.db", dir);
	assert_int_equal(cache_open(&c, path), 0);
	cache_free(c);
	/* Another program (a newer wgrelay) bumps the version. */
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA user_version = 99' 2>/dev/null", path);
	if (system(cmd) != 0)
		skip();
	assert_int_equal(cache_open(&c, path), 0);
	assert_true(cache_was_rebuilt(c));
	assert_int_equal(cache_schema_version(c), CACHE_SCHEMA_VERSION);
	assert_int_equal(count_aside(path), 1);
	cache_free(c);
}

/* Schema 4: token credentials per relay, listed by kind, gone with their bootstrap entry. */
static void test_tokens(void **state)
{
	(void)state;
	struct cache *c = mem();
	struct cache_token t = {0}, got;
	struct cache_relay *r;
	size_t n;
	const char *k1 = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	           *k2 = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=";

	assert_int_equal(cache_bootstrap_add(c, "203.0.113.1:51821", k1, 1), 0);
	assert_int_equal(cache_bootstrap_add(c, "203.0.113.2:51821", k2, 1), 0);
	assert_int_equal(cache_token_get(c, k1, &got), -ENOENT);
	snprintf(t.secret, sizeof(t.secret), "A-SECRET-OF-16+-CHARS");
	snprintf(t.name, sizeof(t.name), "alice");
	assert_int_equal(cache_token_set(c, k1, &t), 0);
	memset(&t, 0, sizeof(t));
	snprintf(t.command, sizeof(t.command), "echo x");
	assert_int_equal(cache_token_set(c, k2, &t), 0);
	assert_int_equal(cache_token_get(c, k1, &got), 0);
	assert_string_equal(got.secret, "A-SECRET-OF-16+-CHARS");
	assert_string_equal(got.name, "alice");
	assert_string_equal(got.command, "");
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(r[0].token, "secret");
	assert_string_equal(r[1].token, "command");
	free(r);
	/* Upserts from the helper leave them alone; removal takes them along. */
	assert_int_equal(cache_bootstrap_add(c, "203.0.113.9:51821", k1, 2), 0);
	assert_int_equal(cache_token_get(c, k1, &got), 0);
	assert_int_equal(cache_bootstrap_remove(c, "203.0.113.9:51821"), 0);
	assert_int_equal(cache_token_get(c, k1, &got), -ENOENT);
	assert_int_equal(cache_token_set(c, k2, NULL), 0);
	assert_int_equal(cache_token_get(c, k2, &got), -ENOENT);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].token, "");
	free(r);
	cache_free(c);
}

/* Run sql on the file at path with SQLite itself: what an older wgrelay left behind. */
static void sql_on(const char *path, const char *sql)
{
	sqlite3 *db;
	char *err = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err ? err : "?");
	sqlite3_close(db);
}

/* undo[v] takes a file of version v back to v - 1 (cache.c's migrations, reversed). */
static const char *const undo[] = {
    [2] = "ALTER TABLE peers DROP COLUMN mode; ALTER TABLE relay_sessions DROP COLUMN mode;"
          "DROP TABLE iface_mtu;",
    [3] = "DROP TABLE helper; DROP TABLE peer_plan; DROP TABLE peer_relays;",
    [4] = "DROP TABLE relay_tokens;",
    [5] = "DROP INDEX relays_identity; DROP INDEX relays_endpoint; DROP INDEX relays_expiry;"
          "ALTER TABLE relays DROP COLUMN descriptor; ALTER TABLE relays DROP COLUMN identity;"
          "ALTER TABLE relays DROP COLUMN seq; ALTER TABLE relays DROP COLUMN issued;"
          "ALTER TABLE relays DROP COLUMN expires;",
    [6] = "DROP TABLE dht_bootstrap;",
    [7] = "ALTER TABLE relays DROP COLUMN urls; ALTER TABLE relays DROP COLUMN desc_urls;"
          "ALTER TABLE relays DROP COLUMN transport;",
    [8] = "ALTER TABLE interfaces DROP COLUMN hops; ALTER TABLE interfaces DROP COLUMN strategy;"
          "ALTER TABLE interfaces DROP COLUMN exclude_country;"
          "ALTER TABLE peers DROP COLUMN circuit; DROP TABLE guards;",
};
_Static_assert(sizeof(undo) / sizeof(undo[0]) == CACHE_SCHEMA_VERSION + 1,
               "a new schema version needs its undo here");

/* Take the current file at path back to version v. */
static void downgrade(const char *path, int v)
{
	char sql[64];

	for (int i = CACHE_SCHEMA_VERSION; i > v; i--)
		sql_on(path, undo[i]);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", v);
	sql_on(path, sql);
}

/* A version 1 file (as 0.1.0 wrote it) is migrated in place; its rows are direct mode. */
static void test_migrate_v1(void **state)
{
	(void)state;
	char path[512];
	struct cache *c;
	struct cache_iface s;
	struct cache_session *sl;
	struct cache_peer *pl;
	size_t n;

	snprintf(path, sizeof(path), "%s/v1.db", dir);
	assert_int_equal(cache_open(&c, path), 0);
	cache_free(c);
	/* Take the file back to version 1 and give it rows of that version. */
	downgrade(path, 1);
	sql_on(path, "INSERT INTO relay_sessions VALUES('wg0', 'PK', 'R', '203.0.113.1:51821',"
	             " '203.0.113.1:50001', '198.51.100.7:51820', 0, 7);"
	             " INSERT INTO peers VALUES('wg0', 'PK', 'relayed', 'R', 'e', 'e', 1, 2, 'w');"
	             " INSERT INTO interfaces VALUES('wg0', 1, 3, 'direct', -1, 2);");
	assert_int_equal(cache_open(&c, path), 0);
	assert_false(cache_was_rebuilt(c));
	assert_int_equal(cache_schema_version(c), CACHE_SCHEMA_VERSION);
	assert_int_equal(cache_session_list(c, "wg0", &sl, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(sl[0].mode, "direct");
	assert_string_equal(sl[0].session_endpoint, "203.0.113.1:50001");
	free(sl);
	assert_int_equal(cache_peer_list(c, "wg0", &pl, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(pl[0].mode, "");
	assert_string_equal(pl[0].circuit, "");
	free(pl);
	assert_int_equal(cache_iface_get(c, "wg0", &s), 0);
	assert_int_equal(s.threshold_windows, 3);
	assert_int_equal(s.hops, 0);
	assert_string_equal(s.strategy, "balanced");
	assert_int_equal(cache_mtu_put(c, "wg0", 1420, 1388), 0);
	cache_free(c);
}

/* One discovered relay's descriptor row: key k, expiring at exp; the blob is its key byte. */
static int store(struct cache *c, char k, int64_t exp, size_t cap)
{
	static uint8_t blob[1];
	struct cache_desc d = {
	    .source = "relay", .seq = 1, .issued = 1, .expires = exp, .blob = blob, .len = 1};

	blob[0] = (uint8_t)k;
	snprintf(d.pubkey, sizeof(d.pubkey), "D%c", k);
	snprintf(d.identity, sizeof(d.identity), "I%c", k);
	snprintf(d.endpoint, sizeof(d.endpoint), "192.0.2.%d:51821", k);
	return cache_desc_store(c, &d, cap);
}

/*
 * Schema 5: a store of discovered relays bounded by giving up the soonest to expire, lines
 * never counted nor given up, nothing brought back by what a link learned, listed lines first.
 */
static void test_descriptors(void **state)
{
	(void)state;
	struct cache *c = mem();
	struct discover_known k;
	struct cache_relay *r, seen;
	uint8_t blob[8];
	size_t n;

	assert_int_equal(cache_bootstrap_add(c, "198.51.100.1:51821", "B", 5), 0);
	assert_int_equal(store(c, 'a', 300, 3), 0);
	assert_int_equal(store(c, 'b', 100, 3), 0);
	assert_int_equal(store(c, 'c', 200, 3), 0);
	assert_int_equal(cache_desc_known(c, "Ix", "Dx", "192.0.2.120:51821", &k), 0);
	assert_int_equal(k.stored, 3);
	assert_int_equal(k.soonest, 100);
	assert_false(k.have);
	assert_false(k.key_held);
	assert_int_equal(store(c, 'd', 400, 3), 0); /* b goes */
	assert_int_equal(cache_desc_get(c, "Db", blob, sizeof(blob)), -ENOENT);
	assert_int_equal(cache_desc_get(c, "Dd", blob, sizeof(blob)), 1);
	assert_int_equal(blob[0], 'd');
	assert_int_equal(cache_desc_get(c, "Dd", blob, 0), -ENOBUFS);
	assert_int_equal(cache_desc_get(c, "B", blob, sizeof(blob)), -ENOENT);
	assert_int_equal(cache_desc_known(c, "Ia", "Da", "192.0.2.97:51821", &k), 0);
	assert_true(k.have);
	assert_int_equal(k.seq, 1);
	assert_true(k.key_held);
	assert_false(k.key_trusted);
	assert_false(k.key_other_id);
	assert_int_equal(cache_desc_known(c, "Iz", "Da", "198.51.100.1:51821", &k), 0);
	assert_true(k.key_other_id);
	assert_true(k.bootstrap_diff); /* line B holds that endpoint */
	assert_int_equal(k.soonest, 200);

	/* The line's descriptor: onto it, its endpoint and source kept, not counted. */
	struct cache_desc d = {.source = "relay",
	                       .seq = (uint64_t)1 << 63,
	                       .issued = 1,
	                       .expires = 50,
	                       .blob = blob,
	                       .len = 2};
	snprintf(d.pubkey, sizeof(d.pubkey), "B");
	snprintf(d.identity, sizeof(d.identity), "IB");
	snprintf(d.endpoint, sizeof(d.endpoint), "203.0.113.1:1");
	assert_int_equal(cache_desc_store(c, &d, 3), 0);
	assert_int_equal(cache_desc_known(c, "IB", "B", "203.0.113.1:1", &k), 0);
	assert_true(k.have);
	assert_true(k.seq == (uint64_t)1 << 63); /* unsigned, as sent */
	assert_true(k.key_trusted);
	assert_int_equal(k.stored, 3);
	assert_int_equal(cache_desc_prune(c, 250), 1); /* c; the line stays, expired or not */
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(r[2].pubkey, "B");
	assert_string_equal(r[2].endpoint, "198.51.100.1:51821");
	assert_string_equal(r[2].source, "bootstrap");
	assert_true(r[2].has_desc);
	assert_int_equal(r[2].expires, 50);
	assert_string_equal(r[0].source, "relay");
	assert_string_equal(r[0].identity, "Id"); /* 192.0.2.100 sorts before 192.0.2.97 */
	seen = r[0];
	free(r);

	/* What a link learned goes into rows that are there, and brings none back. */
	snprintf(seen.status, sizeof(seen.status), "ok");
	seen.rtt_ms = 9;
	assert_int_equal(cache_relay_seen(c, &seen), 0);
	snprintf(seen.pubkey, sizeof(seen.pubkey), "Dgone");
	assert_int_equal(cache_relay_seen(c, &seen), 0);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 3);
	assert_string_equal(r[0].status, "ok");
	assert_int_equal(r[0].rtt_ms, 9);
	assert_true(r[0].has_desc); /* an upsert keeps the descriptor too */
	assert_int_equal(cache_relay_upsert(c, &r[0]), 0);
	free(r);
	assert_int_equal(cache_desc_get(c, "Dd", blob, sizeof(blob)), 1);
	assert_int_equal(cache_desc_get(c, "Da", blob, sizeof(blob)), 1);

	/* A line added at a discovered relay's endpoint with another key: the relay goes. */
	assert_int_equal(cache_bootstrap_add(c, "192.0.2.97:51821", "B2", 6), 0);
	assert_int_equal(cache_desc_get(c, "Da", blob, sizeof(blob)), -ENOENT);
	assert_int_equal(cache_desc_get(c, "Dd", blob, sizeof(blob)), 1);
	cache_free(c);
}

/* More than the list holds: lines are listed whatever the discovered relays stored before. */
static void test_lines_first(void **state)
{
	(void)state;
	struct cache *c = mem();
	struct cache_relay *r;
	size_t n, lines = 0;

	for (int i = 0; i < CACHE_MAX_RELAYS + 5; i++) {
		struct cache_desc d = {.source = "relay",
		                       .seq = 1,
		                       .expires = 1000,
		                       .blob = (const uint8_t *)"x",
		                       .len = 1};
		snprintf(d.pubkey, sizeof(d.pubkey), "D%d", i);
		snprintf(d.identity, sizeof(d.identity), "I%d", i);
		snprintf(d.endpoint, sizeof(d.endpoint), "192.0.%d.%d:1", i / 250, i % 250 + 1);
		assert_int_equal(cache_desc_store(c, &d, CACHE_MAX_RELAYS + 10), 0);
	}
	assert_int_equal(cache_bootstrap_add(c, "203.0.113.9:51821", "L1", 1), 0);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, CACHE_MAX_RELAYS);
	for (size_t i = 0; i < n; i++)
		lines += strcmp(r[i].source, "bootstrap") == 0;
	assert_int_equal(lines, 1);
	free(r);
	cache_free(c);
}

/* A version 4 file's relays (before descriptors) keep working after the migration. */
static void test_migrate_v4(void **state)
{
	(void)state;
	char path[512];
	struct cache *c;
	struct cache_relay *r;
	size_t n;

	snprintf(path, sizeof(path), "%s/v4.db", dir);
	assert_int_equal(cache_open(&c, path), 0);
	assert_int_equal(cache_bootstrap_add(c, "192.0.2.1:51821", "K1", 5), 0);
	cache_free(c);
	downgrade(path, 4);
	/* Read-only (status, list-relays): listed without descriptors, the file untouched. */
	assert_int_equal(cache_open_readonly(&c, path), 0);
	assert_int_equal(cache_schema_version(c), 4);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_false(r[0].has_desc);
	free(r);
	assert_int_equal(cache_desc_get(c, "K1", (uint8_t[4]){0}, 4), -ENOENT);
	cache_free(c);
	assert_int_equal(cache_open(&c, path), 0);
	assert_false(cache_was_rebuilt(c));
	assert_int_equal(cache_schema_version(c), CACHE_SCHEMA_VERSION);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(r[0].source, "bootstrap");
	assert_false(r[0].has_desc);
	assert_string_equal(r[0].identity, "");
	free(r);
	assert_int_equal(store(c, 'a', 100, 10), 0);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 2);
	free(r);
	cache_free(c);
}

/* Schema 8: circuits' settings per interface, their defaults, and a peer's circuit. */
static void test_circuit_settings(void **state)
{
	(void)state;
	struct cache *c = mem();
	struct cache_iface s, *l;
	struct cache_peer p = {.since = 1, .updated = 2}, *pl;
	size_t n;

	assert_int_equal(cache_iface_get(c, "wg0", &s), -ENOENT);
	assert_int_equal(s.hops, 0);
	assert_string_equal(s.strategy, "balanced");
	assert_string_equal(s.exclude_country, "");
	s.hops = 3;
	snprintf(s.strategy, sizeof(s.strategy), "anonymous");
	snprintf(s.exclude_country, sizeof(s.exclude_country), "DE,FR");
	assert_int_equal(cache_iface_set(c, &s), 0);
	cache_iface_defaults(&s, "wg1");
	assert_int_equal(cache_iface_set(c, &s), 0);
	memset(&s, 0, sizeof(s));
	assert_int_equal(cache_iface_get(c, "wg0", &s), 0);
	assert_int_equal(s.hops, 3);
	assert_string_equal(s.strategy, "anonymous");
	assert_string_equal(s.exclude_country, "DE,FR");
	assert_string_equal(s.mode, "direct"); /* the rest as before */
	assert_int_equal(s.prebind, 2);
	assert_int_equal(cache_iface_list(c, &l, &n), 0);
	assert_int_equal(n, 2);
	assert_int_equal(l[0].hops, 3);
	assert_string_equal(l[0].exclude_country, "DE,FR");
	assert_int_equal(l[1].hops, 0);
	assert_string_equal(l[1].strategy, "balanced");
	free(l);

	snprintf(p.iface, sizeof(p.iface), "wg0");
	snprintf(p.peer, sizeof(p.peer), "PC");
	snprintf(p.path, sizeof(p.path), "relayed");
	snprintf(p.mode, sizeof(p.mode), "circuit");
	snprintf(p.circuit, sizeof(p.circuit),
	         "2 hops: DE 1a2b3c4d, NL 5e6f7a8b (rendezvous); spliced 35 s; 1 rotation");
	assert_int_equal(cache_peer_set(c, &p), 0);
	snprintf(p.peer, sizeof(p.peer), "PD");
	snprintf(p.mode, sizeof(p.mode), "sealed");
	p.circuit[0] = '\0';
	assert_int_equal(cache_peer_set(c, &p), 0);
	assert_int_equal(cache_peer_list(c, "wg0", &pl, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(pl[0].mode, "circuit");
	assert_string_equal(
	    pl[0].circuit,
	    "2 hops: DE 1a2b3c4d, NL 5e6f7a8b (rendezvous); spliced 35 s; 1 rotation");
	assert_string_equal(pl[1].circuit, "");
	free(pl);
	cache_free(c);
}

/* The parser configure-relay checks with and the helper reads the stored list with. */
static void test_countries(void **state)
{
	(void)state;
	char cc[CACHE_MAX_COUNTRIES][3], bad[8], buf[64];
	size_t n;

	assert_int_equal(cache_countries_parse("", cc, CACHE_MAX_COUNTRIES, &n, bad, sizeof(bad)),
	                 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    cache_countries_parse("de,FR,De,nl", cc, CACHE_MAX_COUNTRIES, &n, bad, sizeof(bad)), 0);
	assert_int_equal(n, 3);
	assert_string_equal(cc[0], "DE");
	assert_string_equal(cc[2], "NL");
	cache_countries_format(buf, sizeof(buf), (const char(*)[3])cc, n);
	assert_string_equal(buf, "DE,FR,NL");
	static const char *const bads[][2] = {{"D1", "D1"},
	                                      {"DE,", ""},
	                                      {",DE", ""},
	                                      {"DEU", "DEU"},
	                                      {"D", "D"},
	                                      {"DE FR", "DE FR"},
	                                      {"\xc3\x84X", "\xc3\x84X"},
	                                      {"DE,,FR", ""}};
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		assert_int_equal(cache_countries_parse(bads[i][0], cc, CACHE_MAX_COUNTRIES, &n, bad,
		                                       sizeof(bad)),
		                 -EINVAL);
		assert_string_equal(bad, bads[i][1]);
	}
	/* 16 fit, the 17th not; a repeat costs nothing. */
	const char *sixteen = "AA,BB,CC,DD,EE,FF,GG,HH,II,JJ,KK,LL,MM,NN,OO,PP";
	assert_int_equal(
	    cache_countries_parse(sixteen, cc, CACHE_MAX_COUNTRIES, &n, bad, sizeof(bad)), 0);
	assert_int_equal(n, 16);
	cache_countries_format(buf, sizeof(buf), (const char(*)[3])cc, n);
	assert_string_equal(buf, sixteen);
	snprintf(buf, sizeof(buf), "%s,aa", sixteen);
	assert_int_equal(cache_countries_parse(buf, cc, CACHE_MAX_COUNTRIES, &n, bad, sizeof(bad)),
	                 0);
	snprintf(buf, sizeof(buf), "%s,QQ", sixteen);
	assert_int_equal(cache_countries_parse(buf, cc, CACHE_MAX_COUNTRIES, &n, bad, sizeof(bad)),
	                 -E2BIG);
}

/* Schema 8: the guards, in order, replaced as a whole, read up to a cap. */
static void test_guards(void **state)
{
	(void)state;
	char path[512];
	struct cache *c, *ro;
	uint8_t ids[4][32], got[8][32];
	uint64_t until[4] = {1000, UINT64_MAX, 5184000, 1}, gu[8];
	size_t n = 99;

	for (int i = 0; i < 4; i++)
		memset(ids[i], 0xa0 + i, 32);
	snprintf(path, sizeof(path), "%s/guards.db", dir);
	assert_int_equal(cache_open(&c, path), 0);
	assert_int_equal(cache_guards_get(c, got, gu, 8, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cache_guards_put(c, (const uint8_t(*)[32])ids, until, 3), 0);
	assert_int_equal(cache_guards_get(c, got, gu, 8, &n), 0);
	assert_int_equal(n, 3);
	for (int i = 0; i < 3; i++) {
		assert_memory_equal(got[i], ids[i], 32);
		assert_true(gu[i] == until[i]); /* UINT64_MAX too: the same 64 bits */
	}
	/* The cap: the first ones, in order. */
	assert_int_equal(cache_guards_get(c, got, gu, 2, &n), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(got[1], ids[1], 32);
	assert_int_equal(cache_guards_get(c, got, gu, 0, &n), 0);
	assert_int_equal(n, 0);
	/* Replace all: the new set in its own order, none of the old left. */
	assert_int_equal(cache_guards_put(c, (const uint8_t(*)[32])ids + 3, until + 3, 1), 0);
	assert_int_equal(cache_guards_get(c, got, gu, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(got[0], ids[3], 32);
	assert_true(gu[0] == 1);
	/* A put that fails (a read-only connection) leaves the stored set as it was. */
	assert_int_equal(cache_open_readonly(&ro, path), 0);
	assert_int_equal(cache_guards_put(ro, (const uint8_t(*)[32])ids, until, 3), -EIO);
	assert_int_equal(cache_guards_get(ro, got, gu, 8, &n), 0);
	assert_int_equal(n, 1);
	cache_free(ro);
	assert_int_equal(cache_guards_get(c, got, gu, 8, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(got[0], ids[3], 32);
	/* None at all. */
	assert_int_equal(cache_guards_put(c, NULL, NULL, 0), 0);
	assert_int_equal(cache_guards_get(c, got, gu, 8, &n), 0);
	assert_int_equal(n, 0);
	cache_free(c);
}

/*
 * A version 7 file: read as it is (status: no circuits, no guards), then migrated to 8 in
 * place with its rows kept and the defaults set.
 */
static void test_migrate_v7(void **state)
{
	(void)state;
	char path[512];
	struct cache *c;
	struct cache_iface s, *l;
	struct cache_peer p = {.since = 1, .updated = 2}, *pl;
	uint8_t id[1][32] = {{7}}, got[2][32];
	uint64_t until = 9, gu[2];
	size_t n;

	snprintf(path, sizeof(path), "%s/v7.db", dir);
	assert_int_equal(cache_open(&c, path), 0);
	cache_iface_defaults(&s, "wg0");
	s.enabled = true;
	snprintf(s.mode, sizeof(s.mode), "sealed");
	s.prebind = 3;
	assert_int_equal(cache_iface_set(c, &s), 0);
	snprintf(p.iface, sizeof(p.iface), "wg0");
	snprintf(p.peer, sizeof(p.peer), "PK");
	snprintf(p.path, sizeof(p.path), "relayed");
	snprintf(p.mode, sizeof(p.mode), "sealed");
	snprintf(p.why, sizeof(p.why), "w");
	assert_int_equal(cache_peer_set(c, &p), 0);
	cache_free(c);
	downgrade(path, 7);

	/* Read-only (status, configure-relay IFACE): the file untouched, circuits off. */
	assert_int_equal(cache_open_readonly(&c, path), 0);
	assert_int_equal(cache_schema_version(c), 7);
	memset(&s, 0x55, sizeof(s));
	assert_int_equal(cache_iface_get(c, "wg0", &s), 0);
	assert_string_equal(s.mode, "sealed");
	assert_int_equal(s.hops, 0);
	assert_string_equal(s.strategy, "balanced");
	assert_string_equal(s.exclude_country, "");
	assert_int_equal(cache_iface_list(c, &l, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(l[0].hops, 0);
	free(l);
	assert_int_equal(cache_peer_list(c, NULL, &pl, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(pl[0].mode, "sealed");
	assert_string_equal(pl[0].circuit, "");
	free(pl);
	assert_int_equal(cache_guards_get(c, got, gu, 2, &n), 0);
	assert_int_equal(n, 0);
	cache_free(c);

	/* Opened to write: version 8 in place, the rows kept with the defaults. */
	assert_int_equal(cache_open(&c, path), 0);
	assert_false(cache_was_rebuilt(c));
	assert_int_equal(cache_schema_version(c), CACHE_SCHEMA_VERSION);
	memset(&s, 0x55, sizeof(s));
	assert_int_equal(cache_iface_get(c, "wg0", &s), 0);
	assert_true(s.enabled);
	assert_string_equal(s.mode, "sealed");
	assert_int_equal(s.prebind, 3);
	assert_int_equal(s.hops, 0);
	assert_string_equal(s.strategy, "balanced");
	assert_string_equal(s.exclude_country, "");
	assert_int_equal(cache_peer_list(c, "wg0", &pl, &n), 0);
	assert_int_equal(n, 1);
	assert_string_equal(pl[0].why, "w");
	assert_string_equal(pl[0].circuit, "");
	free(pl);
	s.hops = 2;
	assert_int_equal(cache_iface_set(c, &s), 0);
	assert_int_equal(cache_guards_put(c, (const uint8_t(*)[32])id, &until, 1), 0);
	cache_free(c);
	assert_int_equal(cache_open(&c, path), 0);
	assert_false(cache_was_rebuilt(c));
	assert_int_equal(cache_iface_get(c, "wg0", &s), 0);
	assert_int_equal(s.hops, 2);
	assert_int_equal(cache_guards_get(c, got, gu, 2, &n), 0);
	assert_int_equal(n, 1);
	cache_free(c);
}

/* The file is not trusted: hops it holds beyond the range, guards of the wrong size. */
static void test_circuits_mangled(void **state)
{
	(void)state;
	char path[512];
	struct cache *c;
	struct cache_iface s;
	uint8_t id[2][32] = {{1}, {2}}, got[4][32];
	uint64_t until[2] = {5, 6}, gu[4];
	size_t n;

	snprintf(path, sizeof(path), "%s/mangled.db", dir);
	assert_int_equal(cache_open(&c, path), 0);
	cache_iface_defaults(&s, "wg0");
	s.hops = 2;
	assert_int_equal(cache_iface_set(c, &s), 0);
	assert_int_equal(cache_guards_put(c, (const uint8_t(*)[32])id, until, 2), 0);
	cache_free(c);
	sql_on(path, "UPDATE interfaces SET hops = 300;"
	             "UPDATE guards SET identity = x'0102' WHERE slot = 0;");
	assert_int_equal(cache_open(&c, path), 0);
	assert_false(cache_was_rebuilt(c));
	assert_int_equal(cache_iface_get(c, "wg0", &s), 0);
	assert_int_equal(s.hops, 0); /* off, not 300 % 256 */
	assert_int_equal(cache_guards_get(c, got, gu, 4, &n), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(got[0], id[1], 32);
	assert_true(gu[0] == 6);
	cache_free(c);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
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
	    cmocka_unit_test(test_windows_and_rule),
	    cmocka_unit_test(test_relay_success_and_registry),
	    cmocka_unit_test(test_iface_peer_session),
	    cmocka_unit_test(test_file_mode_persist),
	    cmocka_unit_test(test_corrupt_file),
	    cmocka_unit_test(test_newer_schema),
	    cmocka_unit_test(test_modes_and_mtu),
	    cmocka_unit_test(test_migrate_v1),
	    cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_descriptors),
	    cmocka_unit_test(test_lines_first),
	    cmocka_unit_test(test_migrate_v4),
	    cmocka_unit_test(test_circuit_settings),
	    cmocka_unit_test(test_countries),
	    cmocka_unit_test(test_guards),
	    cmocka_unit_test(test_migrate_v7),
	    cmocka_unit_test(test_circuits_mangled),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
