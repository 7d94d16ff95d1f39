/*
 * test_untrusted.c: the helper does not trust its SQLite file (issue 12 item 7). A file with
 * objects wgrelay did not create is moved aside; the connection's limits, disabled triggers and
 * per-statement budget hold; a file with 700,000 relays is loaded up to the cap, and
 * `list-relays` on it (the real binary) probes no more than that and does not crash; with
 * 700,000 discovered relays, each descriptor received is still looked up and stored in
 * bounded work, and the helper loads only the current ones, up to the cap.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <glob.h>
#include <sqlite3.h>

#include "cache.h"
#include "discover.h"
#include "probe.h"
#include "registry.h"

static char dir[] = "/tmp/wgr-untrusted-XXXXXX";

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static size_t count_aside(const char *path)
{
	char pat[600];
	glob_t g;
	snprintf(pat, sizeof(pat), "%s.corrupt-*", path);
	if (glob(pat, 0, NULL, &g) != 0)
		return 0;
	size_t n = 0;
	for (size_t i = 0; i < g.gl_pathc; i++)
		n += strstr(g.gl_pathv[i], "-wal") == NULL && strstr(g.gl_pathv[i], "-shm") == NULL;
	globfree(&g);
	return n;
}

/* A fresh cache file at dir/name with one bootstrap relay, closed again. */
static void make_db(char *path, size_t len, const char *name)
{
	struct cache *c;
	snprintf(path, len, "%s/%s", dir, name);
	assert_int_equal(cache_open(&c, path), 0);
	assert_int_equal(cache_bootstrap_add(c, "192.0.2.1:51821", "K1", 5), 0);
	cache_free(c);
}

/* Run sql on the file with a plain connection (no limits), as an attacker would. */
static void tamper(const char *path, const char *sql)
{
	sqlite3 *db;
	char *err = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)
		fail_msg("%s: %s", sql, err);
	sqlite3_close(db);
}

/* cache_open with stderr (the log) captured into log[len]. */
static int open_logged(struct cache **c, const char *path, char *log, size_t len)
{
	char lp[600];
	snprintf(lp, sizeof(lp), "%s/log", dir);
	fflush(stderr);
	int saved = dup(2);
	FILE *f = fopen(lp, "w+");
	assert_non_null(f);
	dup2(fileno(f), 2);
	int rc = cache_open(c, path);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	size_t n = fread(log, 1, len - 1, f);
	log[n] = '\0';
	fclose(f);
	return rc;
}

/* The file was moved aside and the helper works on a fresh one (the old relay is gone). */
static void assert_fresh(struct cache *c, const char *path)
{
	struct cache_relay *r;
	size_t n;
	assert_true(cache_was_rebuilt(c));
	assert_int_equal(count_aside(path), 1);
	assert_int_equal(cache_schema_version(c), CACHE_SCHEMA_VERSION);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 0);
	free(r);
	/* Inserts and updates of relays, what the planted triggers were waiting for. */
	assert_int_equal(cache_bootstrap_add(c, "192.0.2.9:51821", "K9", 5), 0);
	assert_int_equal(cache_relay_outcome(c, "K9", true, 6), 0);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(r[0].success_count, 1);
	free(r);
}

/* A trigger that never ends (a recursive CTE), fired by the helper's own writes. */
static void test_trigger_moved_aside(void **state)
{
	(void)state;
	char path[512], log[4096];
	struct cache *c;

	make_db(path, sizeof(path), "trigger.db");
	tamper(path, "CREATE TRIGGER spin AFTER INSERT ON relays BEGIN"
	             " INSERT INTO bootstrap SELECT x, zeroblob(1000), x FROM (WITH RECURSIVE"
	             " r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r) SELECT x FROM r); END;"
	             "CREATE TRIGGER spin2 AFTER UPDATE ON relays BEGIN"
	             " WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r)"
	             " SELECT count(*) FROM r; END;");
	int64_t t0 = now_ms();
	assert_int_equal(open_logged(&c, path, log, sizeof(log)), 0);
	assert_non_null(strstr(log, "unexpected trigger 'spin'"));
	assert_non_null(strstr(log, "moved"));
	assert_fresh(c, path);
	assert_true(now_ms() - t0 < 5000);
	cache_free(c);
}

/* Views, unknown tables and indexes, other columns, missing tables: all moved aside. */
static void test_foreign_schema_moved_aside(void **state)
{
	(void)state;
	static const struct {
		const char *name, *sql, *log;
	} cases[] = {
	    {"view.db",
	     "CREATE VIEW v AS WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r)"
	     " SELECT x FROM r",
	     "unexpected view 'v'"},
	    {"table.db", "CREATE TABLE extra(x)", "unexpected table 'extra'"},
	    {"index.db", "CREATE INDEX relays_ep ON relays(endpoint)",
	     "unexpected index 'relays_ep'"},
	    {"column.db", "ALTER TABLE relays ADD COLUMN g AS (length(pubkey))",
	     "table 'relays' has more columns"},
	    {"coltype.db",
	     "ALTER TABLE iface_mtu DROP COLUMN lowered;"
	     " ALTER TABLE iface_mtu ADD COLUMN lowered BLOB",
	     "column 'lowered' of table 'iface_mtu'"},
	    {"missing.db", "DROP TABLE iface_mtu", "'sqlite_autoindex_iface_mtu_1' is missing"},
	    {"stat.db", "ANALYZE", "unexpected table 'sqlite_stat1'"},
	    /* Version 0 means empty: someone else's database is not ours to migrate. */
	    {"v0.db", "PRAGMA user_version = 0", "unexpected index 'endpoint_failures_at'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[512], log[4096];
		struct cache *c;
		make_db(path, sizeof(path), cases[i].name);
		tamper(path, cases[i].sql);
		assert_int_equal(open_logged(&c, path, log, sizeof(log)), 0);
		if (!strstr(log, cases[i].log))
			fail_msg("%s: no '%s' in the log: %s", cases[i].name, cases[i].log, log);
		assert_fresh(c, path);
		cache_free(c);
	}
	/* Our own file, written and reopened, is kept. */
	char path[512];
	struct cache *c;
	make_db(path, sizeof(path), "ours.db");
	assert_int_equal(cache_open(&c, path), 0);
	assert_false(cache_was_rebuilt(c));
	assert_int_equal(count_aside(path), 0);
	cache_free(c);
}

/* The helper's own connection, caught as SQLite opens it (an auto extension). */
static sqlite3 *caught;
static bool catching;

static int catch_db(sqlite3 *db, const char **err, const void *api)
{
	(void)err;
	(void)api;
	if (catching && !caught)
		caught = db;
	return SQLITE_OK;
}

static volatile sig_atomic_t watchdog_fired;

static void watchdog(int sig)
{
	(void)sig;
	watchdog_fired = 1;
	sqlite3_interrupt(caught);
}

static int count_rows(void *arg, int n, char **v, char **names)
{
	(void)n;
	(void)v;
	(void)names;
	++*(int *)arg;
	return 0;
}

/*
 * The limits hold, a trigger never fires, a runaway statement is stopped by the budget (not by
 * the watchdog), and legitimate heavy statements fit in it.
 */
static void test_runaway_stopped(void **state)
{
	(void)state;
	struct cache *c;
	int v = -1;

	sqlite3_auto_extension((void (*)(void))catch_db);
	catching = true;
	assert_int_equal(cache_open(&c, ":memory:"), 0);
	catching = false;
	sqlite3_cancel_auto_extension((void (*)(void))catch_db);
	assert_non_null(caught);

	assert_int_equal(sqlite3_limit(caught, SQLITE_LIMIT_ATTACHED, -1), 0);
	assert_true(sqlite3_limit(caught, SQLITE_LIMIT_LENGTH, -1) <= 1 << 20);
	assert_true(sqlite3_limit(caught, SQLITE_LIMIT_COMPOUND_SELECT, -1) <= 4);
	assert_int_not_equal(sqlite3_exec(caught, "ATTACH ':memory:' AS x", NULL, NULL, NULL),
	                     SQLITE_OK);
	assert_int_equal(sqlite3_db_config(caught, SQLITE_DBCONFIG_TRUSTED_SCHEMA, -1, &v),
	                 SQLITE_OK);
	assert_int_equal(v, 0);
	assert_int_equal(sqlite3_db_config(caught, SQLITE_DBCONFIG_DEFENSIVE, -1, &v), SQLITE_OK);
	assert_int_equal(v, 1);
	/* A trigger that got in anyway never fires. */
	assert_int_equal(sqlite3_exec(caught,
	                              "CREATE TRIGGER tr AFTER INSERT ON interfaces BEGIN"
	                              " INSERT INTO iface_mtu VALUES('planted', 1, 1); END",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	struct cache_iface s;
	unsigned mtu, low;
	cache_iface_defaults(&s, "wg0");
	assert_int_equal(cache_iface_set(c, &s), 0);
	assert_int_equal(cache_mtu_get(c, "planted", &mtu, &low), -ENOENT);

	/* A query that never ends, on the helper's connection. */
	struct sigaction sa = {.sa_handler = watchdog};
	sigaction(SIGALRM, &sa, NULL);
	watchdog_fired = 0;
	alarm(30); /* the budget stops it in seconds; without one it never ends */
	int64_t t0 = now_ms();
	int rows = 0;
	int rc = sqlite3_exec(caught,
	                      "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM r)"
	                      " SELECT count(*) FROM r",
	                      count_rows, &rows, NULL);
	int64_t took = now_ms() - t0;
	alarm(0);
	assert_false(watchdog_fired);
	assert_int_equal(rc, SQLITE_INTERRUPT);
	assert_int_equal(rows, 0);
	print_message("runaway query stopped after %lld ms\n", (long long)took);
	/* The next statements get a fresh budget. */
	assert_int_equal(cache_iface_get(c, "wg0", &s), 0);
	assert_int_equal(
	    sqlite3_exec(caught, "SELECT count(*) FROM relays", count_rows, &rows, NULL),
	    SQLITE_OK);
	assert_int_equal(rows, 1);

	/*
	 * Plenty of legitimate rows stay well inside the budget: a peer failing all day (17,280
	 * windows) on 58 endpoints is a million failure rows, which the purge scans.
	 */
	bool relay;
	assert_int_equal(cache_record_window(c, "wg0", "P", "198.51.100.1:1", false, 1000), 0);
	assert_int_equal(sqlite3_exec(caught,
	                              "WITH RECURSIVE r(x) AS (SELECT 1 UNION ALL SELECT x + 1"
	                              " FROM r WHERE x < 1000000) INSERT INTO endpoint_failures"
	                              " SELECT 1, 1000 + x % 86400 FROM r",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	t0 = now_ms();
	assert_int_equal(cache_should_try_relay(c, "wg0", "P", 80000, &relay, NULL, NULL), 0);
	assert_true(relay);
	assert_int_equal(cache_record_window(c, "wg0", "P", "198.51.100.1:1", false, 90000), 0);
	print_message("legit heavy statements took %lld ms\n", (long long)(now_ms() - t0));
	cache_free(c);
	caught = NULL;
}

#define MANY 700000

/* 700,000 relays, inserted in one transaction with plain SQLite. */
static void fill_relays(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	char key[32], ep[32];

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "INSERT INTO relays(pubkey, endpoint, source)"
	                                    " VALUES(?1, ?2, 'descriptor')",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	for (int i = 0; i < MANY; i++) {
		/* Loopback addresses and the discard port: probing them sends nothing outside. */
		snprintf(key, sizeof(key), "K%07d", i);
		snprintf(ep, sizeof(ep), "127.%d.%d.%d:9", (i >> 16) & 255, (i >> 8) & 255,
		         (i & 255) | 1);
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ep, -1, SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
}

static void test_many_relays(void **state)
{
	(void)state;
	char path[512], log[4096];
	struct cache *c;
	struct cache_relay *r;
	size_t n;

	make_db(path, sizeof(path), "many.db");
	fill_relays(path);
	int64_t t0 = now_ms();
	assert_int_equal(cache_open(&c, path), 0);
	assert_false(cache_was_rebuilt(c));
	/* Only the cap is loaded, sorted by endpoint, with one warning for the rest. */
	char lp[600];
	snprintf(lp, sizeof(lp), "%s/log", dir);
	fflush(stderr);
	int saved = dup(2);
	FILE *f = fopen(lp, "w+");
	assert_non_null(f);
	dup2(fileno(f), 2);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	free(r);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	rewind(f);
	log[fread(log, 1, sizeof(log) - 1, f)] = '\0';
	fclose(f);
	print_message("open and list took %lld ms\n", (long long)(now_ms() - t0));
	assert_int_equal(n, CACHE_MAX_RELAYS);
	for (size_t i = 1; i < n; i++)
		assert_true(strcmp(r[i - 1].endpoint, r[i].endpoint) <= 0);
	char *w = strstr(log, "more than 1024 relays");
	assert_non_null(w);
	assert_null(strstr(w + 1, "more than 1024 relays")); /* once */

	/* Probing: no more than PROBE_MAX_TARGETS, however many are asked for, off the stack. */
	struct probe_target *t = calloc(MANY, sizeof(*t));
	assert_non_null(t);
	for (size_t i = 0; i < MANY; i++)
		t[i].addr.len = 0; /* nothing to send to: the round only waits */
	assert_int_equal(probe_ping(t, MANY, 10, 0), 0);
	for (size_t i = 0; i < MANY; i += 4999)
		assert_false(t[i].answered);
	free(t);
	free(r);
	cache_free(c);
}

/* `wgrelay list-relays` on that file: exits 0 and lists (and probed) exactly the cap. */
static void test_list_relays_binary(void **state)
{
	(void)state;
	const char *bin = getenv("WGRELAY_BIN");
	char path[512], cmd[1400], out[600];

	if (!bin)
		skip();
	snprintf(path, sizeof(path), "%s/many.db", dir); /* from test_many_relays */
	snprintf(out, sizeof(out), "%s/list.json", dir);
	snprintf(cmd, sizeof(cmd),
	         "WGRELAY_CONFIG=/nonexistent WGRELAY_GEOIP=/nonexistent '%s' --db '%s'"
	         " list-relays --json --timeout 10 >'%s' 2>/dev/null",
	         bin, path, out);
	int64_t t0 = now_ms();
	int st = system(cmd);
	print_message("list-relays took %lld ms\n", (long long)(now_ms() - t0));
	assert_true(WIFEXITED(st));
	/* None of the 1024 probed relays answers: list-relays says so with exit 1. */
	assert_int_equal(WEXITSTATUS(st), 1);
	FILE *f = fopen(out, "r");
	assert_non_null(f);
	char line[512];
	size_t entries = 0, unreachable = 0;
	while (fgets(line, sizeof(line), f)) {
		entries += strstr(line, "\"endpoint\":") != NULL;
		unreachable += strstr(line, "\"status\": \"unreachable\"") != NULL;
	}
	fclose(f);
	assert_int_equal(entries, CACHE_MAX_RELAYS);
	assert_int_equal(unreachable, CACHE_MAX_RELAYS); /* each was probed */
}

/*
 * 700,000 discovered relays, half of them expired, a thousand sharing one identity and one
 * endpoint: every descriptor received is looked up and stored by index (no scan, no sort of
 * the table), each store gives one up for the one it adds, and the helper loads current
 * relays up to the cap.
 */
static void test_many_discovered(void **state)
{
	(void)state;
	char path[512], key[32], id[32], ep[32];
	sqlite3 *db;
	sqlite3_stmt *st;
	struct cache *c;
	int64_t now = time(NULL);

	make_db(path, sizeof(path), "discovered.db");
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "BEGIN", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db,
	                       "INSERT INTO relays(pubkey, endpoint, source, descriptor,"
	                       " identity, seq, expires) VALUES(?1, ?2, 'relay', x'00',"
	                       " ?3, 1, ?4)",
	                       -1, &st, NULL),
	    SQLITE_OK);
	for (int i = 0; i < MANY; i++) {
		snprintf(key, sizeof(key), "D%07d", i);
		snprintf(id, sizeof(id), "I%07d", i < 1000 ? 0 : i);
		snprintf(ep, sizeof(ep), i < 1000 ? "192.0.2.1:1" : "127.%d.%d.%d:9",
		         (i >> 16) & 255, (i >> 8) & 255, (i & 255) | 1);
		sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, ep, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, i & 1 ? now + 3600 + i : now - 10);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(cache_open(&c, path), 0);
	assert_false(cache_was_rebuilt(c));
	int64_t t0 = now_ms();
	for (int i = 0; i < 100; i++) {
		struct discover_known k;
		struct cache_desc d = {.source = "relay",
		                       .seq = 2,
		                       .expires = now + 7200 + i,
		                       .blob = (const uint8_t *)"x",
		                       .len = 1};
		snprintf(d.pubkey, sizeof(d.pubkey), "N%03d", i);
		snprintf(d.identity, sizeof(d.identity), i ? "J%03d" : "I0000000", i);
		snprintf(d.endpoint, sizeof(d.endpoint), "192.0.2.1:1");
		assert_int_equal(cache_desc_known(c, d.identity, d.pubkey, d.endpoint, &k), 0);
		assert_int_equal(k.stored, CACHE_MAX_DISCOVERED + 1); /* counted no further */
		assert_true(k.soonest > 0 && (int64_t)k.soonest <= now - 10);
		assert_int_equal(k.have, i == 0);
		assert_int_equal(cache_desc_store(c, &d, CACHE_MAX_DISCOVERED), 0);
	}
	int64_t took = now_ms() - t0;
	print_message("100 descriptors looked up and stored in %lld ms\n", (long long)took);
	/* Each is a transaction (an fsync); a scan of the table per lookup would take 20 s. */
	assert_true(took < 8000);
	struct registry_entry *e;
	size_t n;
	t0 = now_ms();
	assert_int_equal(registry_load(c, &e, &n), 0);
	print_message("registry_load took %lld ms\n", (long long)(now_ms() - t0));
	assert_true(n > 0 && n <= CACHE_MAX_RELAYS);
	for (size_t i = 0; i < n; i++)
		assert_true(strcmp(e[i].info.source, "bootstrap") == 0 || e[i].info.expires > now);
	free(e);
	t0 = now_ms();
	int pruned = cache_desc_prune(c, now);
	print_message("pruned %d expired in %lld ms\n", pruned, (long long)(now_ms() - t0));
	/* Expired: half; less the 500 of the shared identity (replaced) and those evicted. */
	assert_true(pruned >= MANY / 2 - 500 - 100 && pruned <= MANY / 2);
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
	    cmocka_unit_test(test_trigger_moved_aside),
	    cmocka_unit_test(test_foreign_schema_moved_aside),
	    cmocka_unit_test(test_runaway_stopped),
	    cmocka_unit_test(test_many_relays),
	    cmocka_unit_test(test_list_relays_binary),
	    cmocka_unit_test(test_many_discovered),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
