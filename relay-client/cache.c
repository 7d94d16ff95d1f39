/*
 * cache.c: the SQLite connection cache. Every statement is prepared with bound parameters;
 * a damaged or newer-than-us file is moved aside and rebuilt so the helper keeps running.
 *
 * The file is not trusted: anyone who can write it could plant triggers, views or huge
 * tables. So a file whose schema holds anything our migrations did not create is moved aside
 * like a corrupt one; the connection has tight limits, triggers and views off, and a
 * progress handler that stops any one statement past a budget of VM steps or time; lists
 * are capped.
 */
#include "cache.h"

#include <errno.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "discover.h"
#include "log.h"

/*
 * The work one statement may do: the progress handler runs every CACHE_PROGRESS_OPS VM steps
 * and stops the statement past CACHE_OP_BUDGET steps or CACHE_STMT_MAX_MS of running (waiting
 * for a lock does not count). Our heaviest statement (the purge of endpoint_failures older
 * than a day, a full scan) takes ~7 steps a row: the budget covers ~14 million rows, 1-4 s of
 * CPU; a runaway statement is stopped as soon.
 */
#define CACHE_PROGRESS_OPS 1000
#define CACHE_OP_BUDGET    100000000ULL
#define CACHE_STMT_MAX_MS  10000

struct cache {
	sqlite3 *db;
	bool rebuilt;
	/* the running statement's work, reset when the next statement starts (trace_v2) */
	uint64_t ops;
	int64_t stmt_start_ms;
	bool stopped;
	unsigned warned; /* lists whose cap was already reported, bit per WARN_* */
};

/* The sources a descriptor alone vouches for (cache_source_discovered), as SQL. */
#define DISCOVERED_SQL "('relay', 'dht')"

enum { WARN_RELAYS = 1, WARN_ENDPOINTS = 2, WARN_IFACES = 4, WARN_PEERS = 8, WARN_SESSIONS = 16 };

/* Version 1. Later versions are migrations below (schema_v2...); never edit a shipped one. */
static const char schema_v1[] =
    "CREATE TABLE endpoints ("
    " id INTEGER PRIMARY KEY, iface TEXT NOT NULL, peer TEXT NOT NULL,"
    " endpoint TEXT NOT NULL, type TEXT NOT NULL DEFAULT 'direct',"
    " last_success INTEGER NOT NULL DEFAULT 0, success_count INTEGER NOT NULL DEFAULT 0,"
    " status INTEGER NOT NULL DEFAULT 0, last_checked INTEGER NOT NULL DEFAULT 0,"
    " failure_count INTEGER NOT NULL DEFAULT 0, latency_ms INTEGER NOT NULL DEFAULT -1,"
    " packet_loss_pct INTEGER NOT NULL DEFAULT -1,"
    " handshake_success_rate INTEGER NOT NULL DEFAULT -1,"
    " jitter_ms INTEGER NOT NULL DEFAULT -1, quality_score INTEGER NOT NULL DEFAULT -1,"
    " last_quality_update INTEGER NOT NULL DEFAULT 0, relay_pubkey TEXT NOT NULL DEFAULT '',"
    " relay_success_count INTEGER NOT NULL DEFAULT 0,"
    " last_relay_success INTEGER NOT NULL DEFAULT 0, UNIQUE(iface, peer, endpoint));"
    "CREATE TABLE endpoint_failures (endpoint_id INTEGER NOT NULL REFERENCES endpoints(id)"
    " ON DELETE CASCADE, at INTEGER NOT NULL);"
    "CREATE INDEX endpoint_failures_at ON endpoint_failures(endpoint_id, at);"
    "CREATE TABLE relays (pubkey TEXT PRIMARY KEY, endpoint TEXT NOT NULL,"
    " source TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'unknown',"
    " rtt_ms INTEGER NOT NULL DEFAULT -1, load_permille INTEGER NOT NULL DEFAULT -1,"
    " flags INTEGER NOT NULL DEFAULT 0, has_loc INTEGER NOT NULL DEFAULT 0,"
    " lat REAL NOT NULL DEFAULT 0, lon REAL NOT NULL DEFAULT 0,"
    " city TEXT NOT NULL DEFAULT '', country TEXT NOT NULL DEFAULT '',"
    " last_seen INTEGER NOT NULL DEFAULT 0, success_count INTEGER NOT NULL DEFAULT 0,"
    " failure_count INTEGER NOT NULL DEFAULT 0);"
    "CREATE TABLE bootstrap (pubkey TEXT PRIMARY KEY, endpoint TEXT NOT NULL,"
    " added INTEGER NOT NULL);"
    "CREATE TABLE interfaces (name TEXT PRIMARY KEY, enabled INTEGER NOT NULL,"
    " threshold_windows INTEGER NOT NULL, mode TEXT NOT NULL, mtu INTEGER NOT NULL,"
    " prebind INTEGER NOT NULL);"
    "CREATE TABLE peers (iface TEXT NOT NULL, peer TEXT NOT NULL, path TEXT NOT NULL,"
    " relay_pubkey TEXT NOT NULL, relay_endpoint TEXT NOT NULL, endpoint TEXT NOT NULL,"
    " since INTEGER NOT NULL, updated INTEGER NOT NULL, why TEXT NOT NULL,"
    " PRIMARY KEY(iface, peer));"
    "CREATE TABLE relay_sessions (iface TEXT NOT NULL, peer TEXT NOT NULL,"
    " relay_pubkey TEXT NOT NULL, relay_endpoint TEXT NOT NULL,"
    " session_endpoint TEXT NOT NULL, original_endpoint TEXT NOT NULL,"
    " original_keepalive INTEGER NOT NULL, since INTEGER NOT NULL,"
    " PRIMARY KEY(iface, peer));";

/*
 * Version 2: the mode a peer is relayed in, for `status` and for a restarted helper, and the
 * MTU an interface had before sealed mode lowered it (so a crash does not leave it lowered).
 */
static const char schema_v2[] =
    "ALTER TABLE peers ADD COLUMN mode TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE relay_sessions ADD COLUMN mode TEXT NOT NULL DEFAULT 'direct';"
    "CREATE TABLE iface_mtu (iface TEXT PRIMARY KEY, mtu INTEGER NOT NULL,"
    " lowered INTEGER NOT NULL);";

/*
 * Version 3: what `wgrelay watch` publishes about itself (pid, last tick, identity) and its
 * plans per peer (the next step, the chosen relay and the runner-up), for status and doctor.
 */
static const char schema_v3[] =
    "CREATE TABLE helper (id INTEGER PRIMARY KEY, pid INTEGER NOT NULL,"
    " started INTEGER NOT NULL, tick INTEGER NOT NULL, pubkey TEXT NOT NULL,"
    " public_addr TEXT NOT NULL, geoip TEXT NOT NULL);"
    "CREATE TABLE peer_plan (iface TEXT NOT NULL, peer TEXT NOT NULL, next TEXT NOT NULL,"
    " next_at INTEGER NOT NULL, geo_known INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " PRIMARY KEY(iface, peer));"
    "CREATE TABLE peer_relays (iface TEXT NOT NULL, peer TEXT NOT NULL, rank INTEGER NOT NULL,"
    " relay_pubkey TEXT NOT NULL, relay_endpoint TEXT NOT NULL,"
    " distance_km INTEGER NOT NULL, rtt_ms INTEGER NOT NULL, load_permille INTEGER NOT NULL,"
    " score INTEGER NOT NULL, usable INTEGER NOT NULL, PRIMARY KEY(iface, peer, rank));";

/*
 * Version 4: token credentials per relay (a command, or a secret and a name; cache.h). Rows
 * go with their bootstrap entry.
 */
static const char schema_v4[] =
    "CREATE TABLE relay_tokens (pubkey TEXT PRIMARY KEY, command TEXT NOT NULL,"
    " secret TEXT NOT NULL, name TEXT NOT NULL);";

/*
 * Version 5: relays' signed descriptors (discover.h): the bytes as received, the identity
 * that signed them, their sequence number and times. Rows of earlier versions have none.
 */
static const char schema_v5[] =
    "ALTER TABLE relays ADD COLUMN descriptor BLOB;"
    "ALTER TABLE relays ADD COLUMN identity TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE relays ADD COLUMN seq INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE relays ADD COLUMN issued INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE relays ADD COLUMN expires INTEGER NOT NULL DEFAULT 0;"
    /* What each descriptor received looks up: no scan, however many rows a file holds. */
    "CREATE INDEX relays_identity ON relays(identity);"
    "CREATE INDEX relays_endpoint ON relays(endpoint);"
    "CREATE INDEX relays_expiry ON relays(source, expires);";

/*
 * Version 6: the DHT nodes `add-dht-bootstrap` entered (dhtfind.h), beside the config file's
 * DhtBootstrap lines.
 */
static const char schema_v6[] =
    "CREATE TABLE dht_bootstrap (endpoint TEXT PRIMARY KEY, added INTEGER NOT NULL);";

/*
 * Version 7: relays' stream URLs (PROTOCOL.md §12.5), from their bootstrap or config line and
 * from their descriptor, and the carrier `watch` links over, for list-relays and status.
 */
static const char schema_v7[] = "ALTER TABLE relays ADD COLUMN urls TEXT NOT NULL DEFAULT '';"
                                "ALTER TABLE relays ADD COLUMN desc_urls TEXT NOT NULL DEFAULT '';"
                                "ALTER TABLE relays ADD COLUMN transport TEXT NOT NULL DEFAULT '';";

/*
 * Version 8: circuits (issue 17). Per interface the hops, the path strategy and the countries
 * excluded; per peer the helper's account of its circuit, for status; and the guards (the
 * entry relays pathsel keeps for weeks) of the helper as a whole, in their order.
 */
static const char schema_v8[] =
    "ALTER TABLE interfaces ADD COLUMN hops INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE interfaces ADD COLUMN strategy TEXT NOT NULL DEFAULT 'balanced';"
    "ALTER TABLE interfaces ADD COLUMN exclude_country TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE peers ADD COLUMN circuit TEXT NOT NULL DEFAULT '';"
    "CREATE TABLE guards (slot INTEGER PRIMARY KEY, identity BLOB NOT NULL,"
    " until INTEGER NOT NULL);";

/* migrations[v - 1] takes a file from version v - 1 to v. */
static const char *const migrations[] = {schema_v1, schema_v2, schema_v3, schema_v4,
                                         schema_v5, schema_v6, schema_v7, schema_v8};
_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == CACHE_SCHEMA_VERSION,
               "one migration per schema version");

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Stops a statement that has done more than its budget (see CACHE_OP_BUDGET). */
static int on_progress(void *arg)
{
	struct cache *c = arg;

	c->ops += CACHE_PROGRESS_OPS;
	if (c->ops <= CACHE_OP_BUDGET && mono_ms() - c->stmt_start_ms <= CACHE_STMT_MAX_MS)
		return 0;
	if (!c->stopped)
		log_warnx("cache: statement stopped after %llu VM steps in %lld ms (budget %llu "
		          "steps, %d ms): is the database hostile?",
		          (unsigned long long)c->ops, (long long)(mono_ms() - c->stmt_start_ms),
		          CACHE_OP_BUDGET, CACHE_STMT_MAX_MS);
	c->stopped = true;
	return 1;
}

/* Every statement that starts running gets a fresh budget. */
static int on_trace(unsigned type, void *arg, void *stmt, void *sql)
{
	struct cache *c = arg;

	(void)stmt;
	/* "--" starts the text of a trigger program (foreign-key actions) inside the statement. */
	if (type == SQLITE_TRACE_STMT && !(sql && strncmp(sql, "--", 2) == 0)) {
		c->ops = 0;
		c->stmt_start_ms = mono_ms();
		c->stopped = false;
	}
	return 0;
}

/*
 * Limits far above anything our own statements need (the longest SQL is schema_v1, ~2.5 kB;
 * the widest table has 23 columns; the most parameters a statement binds is 13; no LIKE, no
 * compound SELECT, no ATTACH), so a planted schema or value is refused instead of run.
 */
static const struct {
	int id, value;
} limits[] = {
    {SQLITE_LIMIT_LENGTH, 1 << 20},
    {SQLITE_LIMIT_SQL_LENGTH, 1 << 16},
    {SQLITE_LIMIT_COLUMN, 64},
    {SQLITE_LIMIT_EXPR_DEPTH, 64},
    {SQLITE_LIMIT_COMPOUND_SELECT, 4},
    {SQLITE_LIMIT_VDBE_OP, 1 << 16},
    {SQLITE_LIMIT_FUNCTION_ARG, 8},
    {SQLITE_LIMIT_ATTACHED, 0},
    {SQLITE_LIMIT_LIKE_PATTERN_LENGTH, 64},
    {SQLITE_LIMIT_VARIABLE_NUMBER, 32},
    {SQLITE_LIMIT_TRIGGER_DEPTH, 1},
    {SQLITE_LIMIT_WORKER_THREADS, 0},
};

static void harden(struct cache *c)
{
	static const int off[] = {SQLITE_DBCONFIG_TRUSTED_SCHEMA, SQLITE_DBCONFIG_ENABLE_TRIGGER,
	                          SQLITE_DBCONFIG_ENABLE_VIEW};
	int v;

	for (size_t i = 0; i < sizeof(limits) / sizeof(limits[0]); i++)
		sqlite3_limit(c->db, limits[i].id, limits[i].value);
	if (sqlite3_db_config(c->db, SQLITE_DBCONFIG_DEFENSIVE, 1, &v) != SQLITE_OK || v != 1)
		log_warnx("cache: SQLite refused defensive mode");
	for (size_t i = 0; i < sizeof(off) / sizeof(off[0]); i++)
		if (sqlite3_db_config(c->db, off[i], 0, &v) != SQLITE_OK || v != 0)
			log_warnx("cache: SQLite refused to turn off option %d", off[i]);
	sqlite3_progress_handler(c->db, CACHE_PROGRESS_OPS, on_progress, c);
	sqlite3_trace_v2(c->db, SQLITE_TRACE_STMT, on_trace, c);
	c->stmt_start_ms = mono_ms();
	/* Neither reads the schema; a garbage file is found by file_usable. */
	sqlite3_exec(c->db, "PRAGMA cell_size_check=ON; PRAGMA mmap_size=0", NULL, NULL, NULL);
}

static int exec(struct cache *c, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(c->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		log_warnx("cache: %s", msg ? msg : sqlite3_errmsg(c->db));
		sqlite3_free(msg);
		return -EIO;
	}
	return 0;
}

static sqlite3_stmt *prep(struct cache *c, const char *sql)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK) {
		log_warnx("cache: prepare: %s", sqlite3_errmsg(c->db));
		return NULL;
	}
	return st;
}

/* Run a statement to completion; 0 or -EIO. Always finalizes. */
static int step_done(struct cache *c, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		log_warnx("cache: %s", sqlite3_errmsg(c->db));
		return -EIO;
	}
	return 0;
}

static void text(sqlite3_stmt *st, int col, char *dst, size_t len)
{
	const unsigned char *s = sqlite3_column_text(st, col);
	snprintf(dst, len, "%s", s ? (const char *)s : "");
}

/* A list reached max rows (and has more): say so once per connection and list; stop. */
static bool list_full(struct cache *c, size_t n, size_t max, unsigned what, const char *name)
{
	if (n < max)
		return false;
	if (!(c->warned & what))
		log_warnx("cache: more than %zu %s in the database; ignoring the rest", max, name);
	c->warned |= what;
	return true;
}

static int user_version(sqlite3 *db, int *v)
{
	sqlite3_stmt *st;
	int rc = sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*v = sqlite3_column_int(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Apply the migrations from version *v up to `to`, each in its own transaction. */
static int migrate_to(sqlite3 *db, int *v, int to)
{
	while (*v < to) {
		int next = *v + 1;
		if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
			log_warnx("cache: migrating to version %d: %s", next, sqlite3_errmsg(db));
			return -EIO;
		}
		/* Another process may have migrated it while we waited for the lock. */
		if (user_version(db, v) != SQLITE_OK)
			goto fail;
		if (*v < next) {
			char set[40];
			snprintf(set, sizeof(set), "PRAGMA user_version = %d", next);
			if (sqlite3_exec(db, migrations[next - 1], NULL, NULL, NULL) != SQLITE_OK ||
			    sqlite3_exec(db, set, NULL, NULL, NULL) != SQLITE_OK)
				goto fail;
			*v = next;
		}
		if (sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
			goto fail;
	}
	return 0;
fail:
	log_warnx("cache: migrating to version %d: %s", *v + 1, sqlite3_errmsg(db));
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return -EIO;
}

/* One row of sqlite_master. odd: a name too long to be ours, or a virtual table. */
struct schema_obj {
	char type[16], name[64], tbl[64];
	bool odd;
};

#define SCHEMA_MAX_OBJECTS 64 /* ours are 29 */

/* The schema's objects, sorted by type and name; their count, -1 unreadable, -2 too many. */
static int schema_objects(sqlite3 *db, struct schema_obj *o, int max)
{
	sqlite3_stmt *st;
	int n = 0, rc;

	if (sqlite3_prepare_v2(db,
	                       "SELECT type, name, tbl_name, sql FROM sqlite_master"
	                       " ORDER BY type, name",
	                       -1, &st, NULL) != SQLITE_OK)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *col[4];
		if (n == max) {
			sqlite3_finalize(st);
			return -2;
		}
		for (int i = 0; i < 4; i++) {
			col[i] = (const char *)sqlite3_column_text(st, i);
			if (!col[i])
				col[i] = "";
		}
		snprintf(o[n].type, sizeof(o[n].type), "%s", col[0]);
		snprintf(o[n].name, sizeof(o[n].name), "%s", col[1]);
		snprintf(o[n].tbl, sizeof(o[n].tbl), "%s", col[2]);
		o[n].odd = strlen(col[0]) >= sizeof(o[n].type) ||
		           strlen(col[1]) >= sizeof(o[n].name) ||
		           strlen(col[2]) >= sizeof(o[n].tbl) ||
		           strncasecmp(col[3], "CREATE VIRTUAL", 14) == 0;
		n++;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? n : -1;
}

static const struct schema_obj *schema_find(const struct schema_obj *o, int n,
                                            const struct schema_obj *x)
{
	for (int i = 0; i < n; i++)
		if (strcmp(o[i].type, x->type) == 0 && strcmp(o[i].name, x->name) == 0 &&
		    strcmp(o[i].tbl, x->tbl) == 0)
			return &o[i];
	return NULL;
}

/* Column by column, table in db is declared as in ref: name, type, NOT NULL, default, key. */
static bool same_columns(sqlite3 *db, sqlite3 *ref, const char *table, const char *path)
{
	static const char q[] = "SELECT name, type, \"notnull\", dflt_value, pk, hidden"
	                        " FROM pragma_table_xinfo(?1)";
	sqlite3_stmt *a = NULL, *b = NULL;
	bool same = false;
	int ra, rb;

	if (sqlite3_prepare_v2(db, q, -1, &a, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(ref, q, -1, &b, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(a, 1, table, -1, SQLITE_STATIC);
	sqlite3_bind_text(b, 1, table, -1, SQLITE_STATIC);
	for (;;) {
		ra = sqlite3_step(a);
		rb = sqlite3_step(b);
		if (ra != rb || ra != SQLITE_ROW)
			break;
		for (int i = 0; i < 6; i++) {
			const char *x = (const char *)sqlite3_column_text(a, i),
			           *y = (const char *)sqlite3_column_text(b, i);
			if (!x != !y || (x && strcmp(x, y) != 0)) {
				log_warnx("cache: %s: column '%s' of table '%s' is not as wgrelay "
				          "created it",
				          path, (const char *)sqlite3_column_text(a, 0), table);
				goto out;
			}
		}
	}
	same = ra == SQLITE_DONE && rb == SQLITE_DONE;
	if (!same)
		log_warnx("cache: %s: table '%s' has %s columns than wgrelay created", path, table,
		          ra == SQLITE_ROW ? "more" : "fewer");
out:
	sqlite3_finalize(a);
	sqlite3_finalize(b);
	return same;
}

/*
 * The schema of db (at version v) holds exactly what our migrations create for v: the same
 * tables, indexes (and their automatic ones) and nothing else (no trigger, view, virtual or
 * unknown table or index), and each table has our columns. Compared with a scratch database
 * the migrations build in memory, so a new migration needs no list kept by hand.
 */
static bool schema_ours(sqlite3 *db, int v, const char *path)
{
	struct schema_obj *have = NULL, *want = NULL;
	sqlite3 *ref = NULL;
	int nh, nw, rv = 0;
	bool ok = false;

	have = calloc(SCHEMA_MAX_OBJECTS, sizeof(*have));
	want = calloc(SCHEMA_MAX_OBJECTS, sizeof(*want));
	if (!have || !want)
		goto out;
	if (sqlite3_open_v2(":memory:", &ref, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	        SQLITE_OK ||
	    migrate_to(ref, &rv, v) < 0 ||
	    (nw = schema_objects(ref, want, SCHEMA_MAX_OBJECTS)) < 0) {
		log_warnx("cache: cannot build the reference schema");
		goto out;
	}
	nh = schema_objects(db, have, SCHEMA_MAX_OBJECTS);
	if (nh < 0) {
		log_warnx("cache: %s: %s", path,
		          nh == -2 ? "too many objects in the schema" : sqlite3_errmsg(db));
		goto out;
	}
	for (int i = 0; i < nh; i++)
		if (have[i].odd || !schema_find(want, nw, &have[i])) {
			log_warnx("cache: %s: unexpected %s '%s' (on '%s') in the schema: wgrelay "
			          "did not create it",
			          path, have[i].type, have[i].name, have[i].tbl);
			goto out;
		}
	for (int i = 0; i < nw; i++)
		if (!schema_find(have, nh, &want[i])) {
			log_warnx("cache: %s: %s '%s' is missing from the version %d schema", path,
			          want[i].type, want[i].name, v);
			goto out;
		}
	for (int i = 0; i < nw; i++)
		if (strcmp(want[i].type, "table") == 0 &&
		    !same_columns(db, ref, want[i].name, path))
			goto out;
	ok = true;
out:
	sqlite3_close(ref);
	free(have);
	free(want);
	return ok;
}

/*
 * Checks a freshly opened file: readable, not newer than us, holding only our schema, intact.
 * In one read transaction, so a file another process is creating is seen whole or not at all.
 */
static bool file_usable(struct cache *c, const char *path)
{
	sqlite3 *db = c->db;
	sqlite3_stmt *st;
	int v = 0;
	bool ok = false;

	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK ||
	    user_version(db, &v) != SQLITE_OK) {
		log_warnx("cache: %s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	if (v > CACHE_SCHEMA_VERSION || v < 0) {
		log_warnx("cache: %s: schema version %d is %s", path, v,
		          v < 0 ? "not one of ours" : "newer than ours");
		goto out;
	}
	if (!schema_ours(db, v, path))
		goto out;
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK) {
		log_warnx("cache: %s: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *r = sqlite3_column_text(st, 0);
		ok = r && strcmp((const char *)r, "ok") == 0;
		if (!ok)
			log_warnx("cache: %s: integrity: %s", path, r ? (const char *)r : "?");
	}
	sqlite3_finalize(st);
out:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return ok;
}

static void move_aside(const char *path)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	char from[4096], to[4200];
	long now = (long)time(NULL);

	for (size_t i = 0; i < 3; i++) {
		snprintf(from, sizeof(from), "%s%s", path, sfx[i]);
		snprintf(to, sizeof(to), "%s.corrupt-%ld%s", path, now, sfx[i]);
		if (rename(from, to) == 0 && i == 0)
			log_warnx("cache: moved %s aside to %s and starting a new cache", from, to);
	}
}

static int open_db(struct cache *c, const char *path)
{
	mode_t old = umask(077); /* the file, -wal and -shm are created 0600 */
	int rc = sqlite3_open_v2(
	    path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	umask(old);
	if (rc != SQLITE_OK) {
		log_warnx("cache: open %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "no memory");
		sqlite3_close(c->db);
		c->db = NULL;
		return -EIO;
	}
	harden(c);
	sqlite3_busy_timeout(c->db, 5000);
	return 0;
}

int cache_open(struct cache **out, const char *path)
{
	struct cache *c = calloc(1, sizeof(*c));
	bool mem = strcmp(path, ":memory:") == 0;
	int v = 0;

	if (!c)
		return -ENOMEM;
	if (open_db(c, path) < 0) {
		free(c);
		return -EIO;
	}
	if (!mem && !file_usable(c, path)) {
		sqlite3_close(c->db);
		move_aside(path);
		c->rebuilt = true;
		if (open_db(c, path) < 0) {
			free(c);
			return -EIO;
		}
	}
	if (!mem)
		exec(c, "PRAGMA journal_mode=WAL");
	exec(c, "PRAGMA foreign_keys=ON");
	if (user_version(c->db, &v) != SQLITE_OK ||
	    migrate_to(c->db, &v, CACHE_SCHEMA_VERSION) < 0) {
		cache_free(c);
		return -EIO;
	}
	*out = c;
	return 0;
}

/* path for an SQLite URI: "file:" and every byte but [A-Za-z0-9/._~-] as %XX. */
static int uri_path(char *out, size_t len, const char *path)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;

	if (len < 6)
		return -ENAMETOOLONG;
	memcpy(out, "file:", 5);
	o = 5;
	for (const unsigned char *p = (const unsigned char *)path; *p; p++) {
		bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		             (*p >= '0' && *p <= '9') || strchr("/._~-", *p);
		if (o + (plain ? 1 : 3) >= len)
			return -ENAMETOOLONG;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '%';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
	return 0;
}

int cache_open_readonly(struct cache **out, const char *path)
{
	char uri[8192], side[4200];
	struct stat st;
	bool wal = true;
	int v = 0;

	if (stat(path, &st) < 0)
		return -errno;
	if (access(path, R_OK) < 0)
		return -errno;
	/*
	 * A read-only connection to a WAL database creates -wal and -shm when they are missing.
	 * Missing means no connection is open (the last one removes them), so there is nothing
	 * newer than the main file: read it as immutable, creating nothing.
	 */
	for (const char *sfx = "-wal"; sfx; sfx = strcmp(sfx, "-wal") == 0 ? "-shm" : NULL) {
		snprintf(side, sizeof(side), "%s%s", path, sfx);
		wal &= access(side, F_OK) == 0;
	}
	if (uri_path(uri, sizeof(uri) - 24, path) < 0)
		return -ENAMETOOLONG;
	strcat(uri, wal ? "?mode=ro" : "?mode=ro&immutable=1");

	struct cache *c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if (sqlite3_open_v2(uri, &c->db,
	                    SQLITE_OPEN_READONLY | SQLITE_OPEN_URI | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK) {
		log_warnx("cache: open %s: %s", path, c->db ? sqlite3_errmsg(c->db) : "no memory");
		cache_free(c);
		return -EIO;
	}
	harden(c);
	sqlite3_busy_timeout(c->db, 5000);
	exec(c, "PRAGMA query_only=ON");
	/* file_usable logs what does not fit; the caller says what it means for it. */
	if (!file_usable(c, path) || user_version(c->db, &v) != SQLITE_OK) {
		cache_free(c);
		return -EBADMSG;
	}
	if (v < 2) {
		cache_free(c);
		return -EPROTO;
	}
	*out = c;
	return 0;
}

void cache_free(struct cache *c)
{
	if (!c)
		return;
	sqlite3_close(c->db);
	free(c);
}

bool cache_was_rebuilt(const struct cache *c)
{
	return c->rebuilt;
}

int cache_schema_version(struct cache *c)
{
	int v = -1;
	user_version(c->db, &v);
	return v;
}

/* Grow a malloc'd array by one element; NULL on failure. */
static void *grow(void **arr, size_t *n, size_t *cap, size_t size)
{
	if (*n == *cap) {
		size_t nc = *cap ? *cap * 2 : 8;
		void *p = realloc(*arr, nc * size);
		if (!p)
			return NULL;
		*arr = p;
		*cap = nc;
	}
	char *base = *arr;
	memset(base + *n * size, 0, size);
	return base + (*n)++ * size;
}

/* Fill one list element (zeroed) from the current row of st. */
typedef void (*row_fn)(sqlite3_stmt *st, void *elem);

/*
 * Step st (already bound, LIMIT max + 1 - *n) into the malloc'd array *out of *n (capacity
 * *cap) size-byte elements filled by fill: at most max in all, more are warned about once
 * (list_full) and ignored. Finalizes st (NULL: a statement that did not prepare). 0, -ENOMEM
 * or -EIO; on errors the array is freed, *out NULL and *n 0.
 */
static int list_append(struct cache *c, sqlite3_stmt *st, size_t max, unsigned what,
                       const char *name, size_t size, row_fn fill, void **out, size_t *n,
                       size_t *cap)
{
	int rc = SQLITE_ERROR;

	while (st && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		void *e;

		if (list_full(c, *n, max, what, name)) {
			rc = SQLITE_DONE;
			break;
		}
		if (!(e = grow(out, n, cap, size))) {
			rc = SQLITE_NOMEM;
			break;
		}
		fill(st, e);
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_DONE)
		return 0;
	free(*out);
	*out = NULL;
	*n = 0;
	return rc == SQLITE_NOMEM ? -ENOMEM : -EIO;
}

/* list_append into a new array. */
static int list_rows(struct cache *c, sqlite3_stmt *st, size_t max, unsigned what, const char *name,
                     size_t size, row_fn fill, void **out, size_t *n)
{
	size_t cap = 0;

	*out = NULL;
	*n = 0;
	return list_append(c, st, max, what, name, size, fill, out, n, &cap);
}

int cache_record_window(struct cache *c, const char *iface, const char *peer, const char *endpoint,
                        bool ok, int64_t now)
{
	sqlite3_stmt *st =
	    prep(c, ok ? "INSERT INTO endpoints(iface, peer, endpoint, last_success, success_count,"
	                 " status, last_checked) VALUES(?1, ?2, ?3, ?4, 1, 1, ?4)"
	                 " ON CONFLICT(iface, peer, endpoint) DO UPDATE SET last_success = ?4,"
	                 " success_count = success_count + 1, status = 1, last_checked = ?4"
	               : "INSERT INTO endpoints(iface, peer, endpoint, failure_count, status,"
	                 " last_checked) VALUES(?1, ?2, ?3, 1, 2, ?4)"
	                 " ON CONFLICT(iface, peer, endpoint) DO UPDATE SET"
	                 " failure_count = failure_count + 1, status = 2, last_checked = ?4");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, iface, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, now);
	if (step_done(c, st) < 0)
		return -EIO;
	/* Success rate over all windows judged for this endpoint. */
	st = prep(c, "UPDATE endpoints SET handshake_success_rate ="
	             " (100 * success_count) / (success_count + failure_count),"
	             " last_quality_update = ?4 WHERE iface = ?1 AND peer = ?2 AND endpoint = ?3");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, iface, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, now);
	if (step_done(c, st) < 0)
		return -EIO;
	if (ok)
		return 0;
	st = prep(c, "INSERT INTO endpoint_failures(endpoint_id, at) SELECT id, ?4 FROM endpoints"
	             " WHERE iface = ?1 AND peer = ?2 AND endpoint = ?3");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, iface, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, now);
	if (step_done(c, st) < 0)
		return -EIO;
	/* recent_failures only matters for 30 min; keep a day for status output. */
	st = prep(c, "DELETE FROM endpoint_failures WHERE at < ?1");
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, now - 86400);
	return step_done(c, st);
}

int cache_should_try_relay(struct cache *c, const char *iface, const char *peer, int64_t now,
                           bool *out, unsigned *n_endpoints, unsigned *recent_failures)
{
	sqlite3_stmt *st = prep(
	    c,
	    "SELECT count(*), coalesce(sum(status = 2), 0),"
	    " (SELECT count(*) FROM endpoint_failures f JOIN endpoints e2 ON f.endpoint_id = e2.id"
	    "  WHERE e2.iface = ?1 AND e2.peer = ?2 AND e2.type = 'direct' AND f.at > ?3)"
	    " FROM endpoints WHERE iface = ?1 AND peer = ?2 AND type = 'direct'");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, iface, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now - 1800);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return -EIO;
	}
	unsigned n = (unsigned)sqlite3_column_int(st, 0);
	unsigned failed = (unsigned)sqlite3_column_int(st, 1);
	unsigned recent = (unsigned)sqlite3_column_int(st, 2);
	sqlite3_finalize(st);
	*out = (n >= 3 && failed == n) || recent > 10;
	if (n_endpoints)
		*n_endpoints = n;
	if (recent_failures)
		*recent_failures = recent;
	return 0;
}

#define NEEDED_RELAY_S (7 * 86400)

int cache_needed_relay(struct cache *c, const char *iface, const char *peer, int64_t now, bool *out)
{
	sqlite3_stmt *st =
	    prep(c, "SELECT coalesce(max(CASE WHEN type = 'relay' THEN last_relay_success END), 0),"
	            " coalesce(max(CASE WHEN type = 'direct' THEN last_success END), 0)"
	            " FROM endpoints WHERE iface = ?1 AND peer = ?2");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, iface, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_TRANSIENT);
	if (sqlite3_step(st) != SQLITE_ROW) {
		sqlite3_finalize(st);
		return -EIO;
	}
	int64_t relayed = sqlite3_column_int64(st, 0), direct = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	*out = relayed > direct && now - relayed < NEEDED_RELAY_S;
	return 0;
}

int cache_record_relay_success(struct cache *c, const char *iface, const char *peer,
                               const char *relay_pubkey, int64_t now)
{
	/* One 'relay' row per (peer, relay), keyed by the relay's key as its endpoint name. */
	sqlite3_stmt *st =
	    prep(c, "INSERT INTO endpoints(iface, peer, endpoint, type, relay_pubkey,"
	            " relay_success_count, last_relay_success, status, last_checked)"
	            " VALUES(?1, ?2, 'relay:' || ?3, 'relay', ?3, 1, ?4, 1, ?4)"
	            " ON CONFLICT(iface, peer, endpoint) DO UPDATE SET"
	            " relay_success_count = relay_success_count + 1, last_relay_success = ?4,"
	            " status = 1, last_checked = ?4");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, iface, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, relay_pubkey, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, now);
	return step_done(c, st);
}

static void endpoint_row(sqlite3_stmt *st, void *elem)
{
	struct cache_endpoint *e = elem;

	text(st, 0, e->iface, sizeof(e->iface));
	text(st, 1, e->peer, sizeof(e->peer));
	text(st, 2, e->endpoint, sizeof(e->endpoint));
	text(st, 3, e->type, sizeof(e->type));
	e->last_success = sqlite3_column_int64(st, 4);
	e->success_count = (uint32_t)sqlite3_column_int64(st, 5);
	e->status = sqlite3_column_int(st, 6);
	e->last_checked = sqlite3_column_int64(st, 7);
	e->failure_count = (uint32_t)sqlite3_column_int64(st, 8);
	e->latency_ms = sqlite3_column_int(st, 9);
	e->packet_loss_pct = sqlite3_column_int(st, 10);
	e->handshake_success_rate = sqlite3_column_int(st, 11);
	e->jitter_ms = sqlite3_column_int(st, 12);
	e->quality_score = sqlite3_column_int(st, 13);
	e->last_quality_update = sqlite3_column_int64(st, 14);
	text(st, 15, e->relay_pubkey, sizeof(e->relay_pubkey));
	e->relay_success_count = (uint32_t)sqlite3_column_int64(st, 16);
	e->last_relay_success = sqlite3_column_int64(st, 17);
}

int cache_list_endpoints(struct cache *c, const char *iface, const char *peer,
                         struct cache_endpoint **out, size_t *n)
{
	sqlite3_stmt *st = prep(
	    c, "SELECT iface, peer, endpoint, type, last_success, success_count, status,"
	       " last_checked, failure_count, latency_ms, packet_loss_pct, handshake_success_rate,"
	       " jitter_ms, quality_score, last_quality_update, relay_pubkey,"
	       " relay_success_count, last_relay_success FROM endpoints"
	       " WHERE (?1 = '' OR iface = ?1) AND (?2 = '' OR peer = ?2) ORDER BY iface, peer, id"
	       " LIMIT ?3");

	if (st) {
		sqlite3_bind_text(st, 1, iface ? iface : "", -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, peer ? peer : "", -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, CACHE_MAX_ROWS + 1);
	}
	return list_rows(c, st, CACHE_MAX_ROWS, WARN_ENDPOINTS, "endpoints", sizeof(**out),
	                 endpoint_row, (void **)out, n);
}

int cache_bootstrap_add(struct cache *c, const char *endpoint, const char *pubkey, int64_t now)
{
	sqlite3_stmt *st =
	    prep(c, "INSERT INTO bootstrap(pubkey, endpoint, added) VALUES(?1, ?2, ?3)"
	            " ON CONFLICT(pubkey) DO UPDATE SET endpoint = ?2");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, pubkey, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 3, now);
	if (step_done(c, st) < 0)
		return -EIO;
	/* A discovered relay at the line's endpoint with another key: the line says otherwise. */
	st = prep(c, "DELETE FROM relays WHERE endpoint = ?1 AND pubkey <> ?2 AND source "
	             "IN " DISCOVERED_SQL);
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, pubkey, -1, SQLITE_TRANSIENT);
	if (step_done(c, st) < 0)
		return -EIO;
	struct cache_relay r = {.rtt_ms = -1, .load_permille = -1, .last_seen = 0};
	snprintf(r.pubkey, sizeof(r.pubkey), "%s", pubkey);
	snprintf(r.endpoint, sizeof(r.endpoint), "%s", endpoint);
	snprintf(r.source, sizeof(r.source), "bootstrap");
	snprintf(r.status, sizeof(r.status), "unknown");
	return cache_relay_upsert(c, &r);
}

int cache_bootstrap_remove(struct cache *c, const char *key_or_endpoint)
{
	/* The relay's token credential goes with it (a read-write file is at the latest schema). */
	sqlite3_stmt *st = prep(c, "DELETE FROM relay_tokens WHERE pubkey IN (SELECT pubkey FROM"
	                           " bootstrap WHERE pubkey = ?1 OR endpoint = ?1)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, key_or_endpoint, -1, SQLITE_TRANSIENT);
	if (step_done(c, st) < 0)
		return -EIO;
	st = prep(c, "DELETE FROM bootstrap WHERE pubkey = ?1 OR endpoint = ?1");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, key_or_endpoint, -1, SQLITE_TRANSIENT);
	if (step_done(c, st) < 0)
		return -EIO;
	int changed = sqlite3_changes(c->db);
	st = prep(c, "DELETE FROM relays WHERE source = 'bootstrap' AND"
	             " (pubkey = ?1 OR endpoint = ?1)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, key_or_endpoint, -1, SQLITE_TRANSIENT);
	if (step_done(c, st) < 0)
		return -EIO;
	return changed ? 0 : -ENOENT;
}

int cache_relay_upsert(struct cache *c, const struct cache_relay *r)
{
	sqlite3_stmt *st = prep(
	    c, "INSERT INTO relays(pubkey, endpoint, source, status, rtt_ms, load_permille, flags,"
	       " has_loc, lat, lon, city, country, last_seen)"
	       " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)"
	       " ON CONFLICT(pubkey) DO UPDATE SET endpoint = ?2, source = ?3, status = ?4,"
	       " rtt_ms = ?5, load_permille = ?6, flags = ?7, has_loc = ?8, lat = ?9, lon = ?10,"
	       " city = ?11, country = ?12, last_seen = max(last_seen, ?13)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, r->pubkey, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, r->endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, r->source, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, r->status[0] ? r->status : "unknown", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 5, r->rtt_ms);
	sqlite3_bind_int(st, 6, r->load_permille);
	sqlite3_bind_int64(st, 7, r->flags);
	sqlite3_bind_int(st, 8, r->has_loc);
	sqlite3_bind_double(st, 9, r->lat);
	sqlite3_bind_double(st, 10, r->lon);
	sqlite3_bind_text(st, 11, r->city, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 12, r->country, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 13, r->last_seen);
	return step_done(c, st);
}

static int relay_cmp(const void *x, const void *y)
{
	const struct cache_relay *a = x, *b = y;
	int d = strcmp(a->endpoint, b->endpoint);
	return d ? d : strcmp(a->pubkey, b->pubkey);
}

static void relay_row(sqlite3_stmt *st, void *elem)
{
	struct cache_relay *r = elem;

	text(st, 0, r->pubkey, sizeof(r->pubkey));
	text(st, 1, r->endpoint, sizeof(r->endpoint));
	text(st, 2, r->source, sizeof(r->source));
	text(st, 3, r->status, sizeof(r->status));
	r->rtt_ms = sqlite3_column_int(st, 4);
	r->load_permille = sqlite3_column_int(st, 5);
	r->flags = (uint32_t)sqlite3_column_int64(st, 6);
	r->has_loc = sqlite3_column_int(st, 7) != 0;
	r->lat = sqlite3_column_double(st, 8);
	r->lon = sqlite3_column_double(st, 9);
	text(st, 10, r->city, sizeof(r->city));
	text(st, 11, r->country, sizeof(r->country));
	r->last_seen = sqlite3_column_int64(st, 12);
	r->success_count = (uint32_t)sqlite3_column_int64(st, 13);
	r->failure_count = (uint32_t)sqlite3_column_int64(st, 14);
	text(st, 15, r->token, sizeof(r->token));
	r->has_desc = sqlite3_column_int(st, 16) != 0;
	text(st, 17, r->identity, sizeof(r->identity));
	r->seq = (uint64_t)sqlite3_column_int64(st, 18);
	r->issued = sqlite3_column_int64(st, 19);
	r->expires = sqlite3_column_int64(st, 20);
	text(st, 21, r->urls, sizeof(r->urls));
	text(st, 22, r->desc_urls, sizeof(r->desc_urls));
	text(st, 23, r->transport, sizeof(r->transport));
}

bool cache_source_discovered(const char *source)
{
	return strcmp(source, "relay") == 0 || strcmp(source, "dht") == 0;
}

int cache_relay_list(struct cache *c, struct cache_relay **out, size_t *n)
{
	static const char cols[] = "SELECT r.pubkey, r.endpoint, r.source, r.status, r.rtt_ms,"
	                           " r.load_permille, r.flags, r.has_loc, r.lat, r.lon, r.city,"
	                           " r.country, r.last_seen, r.success_count, r.failure_count, ";
	/* A read-only connection may have an older file: no credentials, no descriptors there. */
	static const char tok4[] = "CASE WHEN t.command <> '' THEN 'command' WHEN t.secret <> ''"
	                           " THEN 'secret' ELSE '' END, ",
	                  join4[] = " LEFT JOIN relay_tokens t ON t.pubkey = r.pubkey";
	static const char desc5[] = "r.descriptor IS NOT NULL, r.identity, r.seq, r.issued,"
	                            " r.expires, ";
	static const char urls7[] = "r.urls, r.desc_urls, r.transport FROM relays r NOT INDEXED";
	static const char none7[] = "'', '', '' FROM relays r NOT INDEXED";
	static const char where[2][48] = {" WHERE r.source NOT IN " DISCOVERED_SQL,
	                                  " WHERE r.source IN " DISCOVERED_SQL};
	int v = 0, rc = 0;
	size_t cap = 0;

	user_version(c->db, &v);
	*out = NULL;
	*n = 0;
	/*
	 * The first CACHE_MAX_RELAYS rows in rowid order, bootstrap and config lines before
	 * discovered relays (so these never crowd a line out), sorted here: no sort of however
	 * many rows a hostile file holds, only a scan.
	 */
	for (int pass = 0; pass < 2 && rc == 0 && *n <= CACHE_MAX_RELAYS; pass++) {
		char sql[800];
		snprintf(sql, sizeof(sql), "%s%s%s%s%s%s ORDER BY r.rowid LIMIT ?1", cols,
		         v >= 4 ? tok4 : "'', ", v >= 5 ? desc5 : "0, '', 0, 0, 0, ",
		         v >= 7   ? urls7
		         : v >= 5 ? none7
		                  : "'', '', '' FROM relays r",
		         v >= 4 ? join4 : "", where[pass]);
		sqlite3_stmt *st = prep(c, sql);
		if (st)
			sqlite3_bind_int64(st, 1, (int64_t)(CACHE_MAX_RELAYS + 1 - *n));
		rc = list_append(c, st, CACHE_MAX_RELAYS, WARN_RELAYS, "relays", sizeof(**out),
		                 relay_row, (void **)out, n, &cap);
	}
	if (rc == 0 && *n > 1)
		qsort(*out, *n, sizeof(**out), relay_cmp);
	return rc;
}

int cache_relay_seen(struct cache *c, const struct cache_relay *r)
{
	sqlite3_stmt *st =
	    prep(c, "UPDATE relays SET status = ?2, rtt_ms = ?3, load_permille = ?4, flags = ?5,"
	            " has_loc = ?6, lat = ?7, lon = ?8, city = ?9, country = ?10,"
	            " last_seen = max(last_seen, ?11) WHERE pubkey = ?1");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, r->pubkey, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, r->status[0] ? r->status : "unknown", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 3, r->rtt_ms);
	sqlite3_bind_int(st, 4, r->load_permille);
	sqlite3_bind_int64(st, 5, r->flags);
	sqlite3_bind_int(st, 6, r->has_loc);
	sqlite3_bind_double(st, 7, r->lat);
	sqlite3_bind_double(st, 8, r->lon);
	sqlite3_bind_text(st, 9, r->city, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 10, r->country, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 11, r->last_seen);
	return step_done(c, st);
}

int cache_relay_set_transport(struct cache *c, const char *pubkey, const char *transport)
{
	sqlite3_stmt *st = prep(c, pubkey ? "UPDATE relays SET transport = ?2 WHERE pubkey = ?1"
	                                  : "UPDATE relays SET transport = ?2 WHERE transport <> ?2"
	                                    " AND ?1 IS NULL");

	if (!st)
		return -EIO;
	if (pubkey)
		sqlite3_bind_text(st, 1, pubkey, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, transport, -1, SQLITE_TRANSIENT);
	return step_done(c, st);
}

int cache_relay_set_urls(struct cache *c, const char *pubkey, const char *urls)
{
	sqlite3_stmt *st = prep(c, "UPDATE relays SET urls = ?2 WHERE pubkey = ?1");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, pubkey, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, urls, -1, SQLITE_TRANSIENT);
	if (step_done(c, st) < 0)
		return -EIO;
	return sqlite3_changes(c->db) ? 0 : -ENOENT;
}

int cache_relay_outcome(struct cache *c, const char *pubkey, bool ok, int64_t now)
{
	sqlite3_stmt *st = prep(c, ok ? "UPDATE relays SET success_count = success_count + 1,"
	                                " last_seen = ?2 WHERE pubkey = ?1"
	                              : "UPDATE relays SET failure_count = failure_count + 1"
	                                " WHERE pubkey = ?1 AND ?2 = ?2");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, pubkey, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now);
	return step_done(c, st);
}

void cache_iface_defaults(struct cache_iface *out, const char *name)
{
	memset(out, 0, sizeof(*out));
	snprintf(out->name, sizeof(out->name), "%s", name);
	out->threshold_windows = 1;
	snprintf(out->mode, sizeof(out->mode), "direct");
	out->mtu = -1;
	out->prebind = 2;
	snprintf(out->strategy, sizeof(out->strategy), "balanced");
}

static bool is_alpha(char ch)
{
	return (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z');
}

int cache_countries_parse(const char *list, char (*out)[3], size_t cap, size_t *n, char *bad,
                          size_t badlen)
{
	const char *p = list;

	*n = 0;
	if (badlen)
		bad[0] = '\0';
	if (!*p)
		return 0;
	for (;;) {
		size_t len = strcspn(p, ",");
		char cc[3];
		bool seen = false;

		if (len != 2 || !is_alpha(p[0]) || !is_alpha(p[1])) {
			snprintf(bad, badlen, "%.*s", (int)(len < 16 ? len : 16), p);
			return -EINVAL;
		}
		cc[0] = (char)(p[0] & ~0x20); /* ASCII upper case */
		cc[1] = (char)(p[1] & ~0x20);
		cc[2] = '\0';
		for (size_t i = 0; i < *n && !seen; i++)
			seen = strcmp(out[i], cc) == 0;
		if (!seen) {
			if (*n == cap)
				return -E2BIG;
			memcpy(out[(*n)++], cc, 3);
		}
		if (!p[len])
			return 0;
		p += len + 1;
	}
}

void cache_countries_format(char *buf, size_t len, const char (*in)[3], size_t n)
{
	size_t o = 0;

	if (len)
		buf[0] = '\0';
	for (size_t i = 0; i < n && o + 3 <= len; i++)
		o += (size_t)snprintf(buf + o, len - o, "%s%.2s", i ? "," : "", in[i]);
}

int cache_iface_set(struct cache *c, const struct cache_iface *s)
{
	sqlite3_stmt *st = prep(c, "INSERT OR REPLACE INTO interfaces(name, enabled,"
	                           " threshold_windows, mode, mtu, prebind, hops, strategy,"
	                           " exclude_country) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, s->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, s->enabled);
	sqlite3_bind_int64(st, 3, s->threshold_windows);
	sqlite3_bind_text(st, 4, s->mode, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 5, s->mtu);
	sqlite3_bind_int64(st, 6, s->prebind);
	sqlite3_bind_int(st, 7, s->hops);
	sqlite3_bind_text(st, 8, s->strategy[0] ? s->strategy : "balanced", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 9, s->exclude_country, -1, SQLITE_TRANSIENT);
	return step_done(c, st);
}

static void iface_row(sqlite3_stmt *st, void *elem)
{
	struct cache_iface *s = elem;
	int64_t hops = sqlite3_column_int64(st, 6);

	text(st, 0, s->name, sizeof(s->name));
	s->enabled = sqlite3_column_int(st, 1) != 0;
	s->threshold_windows = (uint32_t)sqlite3_column_int64(st, 2);
	text(st, 3, s->mode, sizeof(s->mode));
	s->mtu = sqlite3_column_int(st, 4);
	s->prebind = (uint32_t)sqlite3_column_int64(st, 5);
	/* Not a number configure-relay writes: the file was edited; no circuits then. */
	s->hops = hops >= 0 && hops <= CACHE_MAX_HOPS ? (uint8_t)hops : 0;
	text(st, 7, s->strategy, sizeof(s->strategy));
	text(st, 8, s->exclude_country, sizeof(s->exclude_country));
}

/*
 * The columns iface_row reads, FROM interfaces: a read-only connection may have a file older
 * than schema 8, whose interfaces have no circuits.
 */
static const char *iface_cols(struct cache *c)
{
	int v = 0;

	user_version(c->db, &v);
	return v >= 8 ? "SELECT name, enabled, threshold_windows, mode, mtu, prebind, hops,"
	                " strategy, exclude_country FROM interfaces"
	              : "SELECT name, enabled, threshold_windows, mode, mtu, prebind, 0,"
	                " 'balanced', '' FROM interfaces";
}

int cache_iface_get(struct cache *c, const char *name, struct cache_iface *out)
{
	char sql[256];
	sqlite3_stmt *st;
	int rc;

	cache_iface_defaults(out, name);
	snprintf(sql, sizeof(sql), "%s WHERE name = ?1", iface_cols(c));
	if (!(st = prep(c, sql)))
		return -EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		iface_row(st, out);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int cache_iface_list(struct cache *c, struct cache_iface **out, size_t *n)
{
	char sql[256];
	sqlite3_stmt *st;

	snprintf(sql, sizeof(sql), "%s ORDER BY name LIMIT ?1", iface_cols(c));
	if ((st = prep(c, sql)))
		sqlite3_bind_int64(st, 1, CACHE_MAX_ROWS + 1);
	return list_rows(c, st, CACHE_MAX_ROWS, WARN_IFACES, "interfaces", sizeof(**out), iface_row,
	                 (void **)out, n);
}

int cache_peer_set(struct cache *c, const struct cache_peer *p)
{
	sqlite3_stmt *st = prep(c, "INSERT OR REPLACE INTO peers(iface, peer, path, relay_pubkey,"
	                           " relay_endpoint, endpoint, since, updated, why, mode, circuit)"
	                           " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, p->iface, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, p->peer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, p->path, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, p->relay_pubkey, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, p->relay_endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, p->endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 7, p->since);
	sqlite3_bind_int64(st, 8, p->updated);
	sqlite3_bind_text(st, 9, p->why, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 10, p->mode, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 11, p->circuit, -1, SQLITE_TRANSIENT);
	return step_done(c, st);
}

static void peer_row(sqlite3_stmt *st, void *elem)
{
	struct cache_peer *p = elem;

	text(st, 0, p->iface, sizeof(p->iface));
	text(st, 1, p->peer, sizeof(p->peer));
	text(st, 2, p->path, sizeof(p->path));
	text(st, 3, p->relay_pubkey, sizeof(p->relay_pubkey));
	text(st, 4, p->relay_endpoint, sizeof(p->relay_endpoint));
	text(st, 5, p->endpoint, sizeof(p->endpoint));
	p->since = sqlite3_column_int64(st, 6);
	p->updated = sqlite3_column_int64(st, 7);
	text(st, 8, p->why, sizeof(p->why));
	text(st, 9, p->mode, sizeof(p->mode));
	text(st, 10, p->circuit, sizeof(p->circuit));
}

int cache_peer_list(struct cache *c, const char *iface, struct cache_peer **out, size_t *n)
{
	int v = 0;
	sqlite3_stmt *st;

	/* A read-only connection may have a file older than schema 8: no circuits there. */
	user_version(c->db, &v);
	st = prep(c, v >= 8 ? "SELECT iface, peer, path, relay_pubkey, relay_endpoint, endpoint,"
	                      " since, updated, why, mode, circuit FROM peers"
	                      " WHERE (?1 = '' OR iface = ?1) ORDER BY iface, peer LIMIT ?2"
	                    : "SELECT iface, peer, path, relay_pubkey, relay_endpoint, endpoint,"
	                      " since, updated, why, mode, '' FROM peers"
	                      " WHERE (?1 = '' OR iface = ?1) ORDER BY iface, peer LIMIT ?2");
	if (st) {
		sqlite3_bind_text(st, 1, iface ? iface : "", -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, CACHE_MAX_ROWS + 1);
	}
	return list_rows(c, st, CACHE_MAX_ROWS, WARN_PEERS, "peers", sizeof(**out), peer_row,
	                 (void **)out, n);
}

int cache_session_put(struct cache *c, const struct cache_session *s)
{
	sqlite3_stmt *st =
	    prep(c, "INSERT OR REPLACE INTO relay_sessions(iface, peer, relay_pubkey,"
	            " relay_endpoint, session_endpoint, original_endpoint,"
	            " original_keepalive, since, mode) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
	            " ?9)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, s->iface, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, s->peer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, s->relay_pubkey, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 4, s->relay_endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, s->session_endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, s->original_endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 7, s->original_keepalive);
	sqlite3_bind_int64(st, 8, s->since);
	sqlite3_bind_text(st, 9, s->mode[0] ? s->mode : "direct", -1, SQLITE_TRANSIENT);
	return step_done(c, st);
}

int cache_session_del(struct cache *c, const char *iface, const char *peer)
{
	sqlite3_stmt *st = prep(c, "DELETE FROM relay_sessions WHERE iface = ?1 AND peer = ?2");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, iface, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, peer, -1, SQLITE_TRANSIENT);
	return step_done(c, st);
}

static void session_row(sqlite3_stmt *st, void *elem)
{
	struct cache_session *s = elem;

	text(st, 0, s->iface, sizeof(s->iface));
	text(st, 1, s->peer, sizeof(s->peer));
	text(st, 2, s->relay_pubkey, sizeof(s->relay_pubkey));
	text(st, 3, s->relay_endpoint, sizeof(s->relay_endpoint));
	text(st, 4, s->session_endpoint, sizeof(s->session_endpoint));
	text(st, 5, s->original_endpoint, sizeof(s->original_endpoint));
	s->original_keepalive = sqlite3_column_int(st, 6);
	s->since = sqlite3_column_int64(st, 7);
	text(st, 8, s->mode, sizeof(s->mode));
}

int cache_session_list(struct cache *c, const char *iface, struct cache_session **out, size_t *n)
{
	sqlite3_stmt *st =
	    prep(c, "SELECT iface, peer, relay_pubkey, relay_endpoint,"
	            " session_endpoint, original_endpoint, original_keepalive, since,"
	            " mode FROM relay_sessions WHERE (?1 = '' OR iface = ?1)"
	            " ORDER BY iface, peer LIMIT ?2");
	if (st) {
		sqlite3_bind_text(st, 1, iface ? iface : "", -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, CACHE_MAX_ROWS + 1);
	}
	return list_rows(c, st, CACHE_MAX_ROWS, WARN_SESSIONS, "relayed sessions", sizeof(**out),
	                 session_row, (void **)out, n);
}

int cache_mtu_put(struct cache *c, const char *iface, unsigned mtu, unsigned lowered)
{
	sqlite3_stmt *st =
	    prep(c, mtu ? "INSERT OR REPLACE INTO iface_mtu(iface, mtu, lowered) VALUES(?1, ?2, ?3)"
	                : "DELETE FROM iface_mtu WHERE iface = ?1 AND ?2 = ?2 AND ?3 = ?3");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, iface, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, mtu);
	sqlite3_bind_int64(st, 3, lowered);
	return step_done(c, st);
}

int cache_mtu_get(struct cache *c, const char *iface, unsigned *mtu, unsigned *lowered)
{
	sqlite3_stmt *st = prep(c, "SELECT mtu, lowered FROM iface_mtu WHERE iface = ?1");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, iface, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*mtu = (unsigned)sqlite3_column_int64(st, 0);
		*lowered = (unsigned)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* Schema 3 tables are there (a read-only connection may have an older file). */
static bool has_v3(struct cache *c)
{
	int v = 0;
	return user_version(c->db, &v) == SQLITE_OK && v >= 3;
}

int cache_helper_set(struct cache *c, const struct cache_helper *h)
{
	sqlite3_stmt *st = prep(c, "INSERT OR REPLACE INTO helper(id, pid, started, tick, pubkey,"
	                           " public_addr, geoip) VALUES(1, ?1, ?2, ?3, ?4, ?5, ?6)");
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, h->pid);
	sqlite3_bind_int64(st, 2, h->started);
	sqlite3_bind_int64(st, 3, h->tick);
	sqlite3_bind_text(st, 4, h->pubkey, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 5, h->public_addr, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 6, h->geoip, -1, SQLITE_TRANSIENT);
	return step_done(c, st);
}

int cache_helper_get(struct cache *c, struct cache_helper *out)
{
	sqlite3_stmt *st;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!has_v3(c))
		return -ENOENT;
	st = prep(c, "SELECT pid, started, tick, pubkey, public_addr, geoip FROM helper"
	             " WHERE id = 1");
	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		out->pid = sqlite3_column_int64(st, 0);
		out->started = sqlite3_column_int64(st, 1);
		out->tick = sqlite3_column_int64(st, 2);
		text(st, 3, out->pubkey, sizeof(out->pubkey));
		text(st, 4, out->public_addr, sizeof(out->public_addr));
		text(st, 5, out->geoip, sizeof(out->geoip));
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int cache_plan_set(struct cache *c, const struct cache_plan *p)
{
	sqlite3_stmt *st;

	if (exec(c, "BEGIN IMMEDIATE") < 0)
		return -EIO;
	st = prep(c, "INSERT OR REPLACE INTO peer_plan(iface, peer, next, next_at, geo_known,"
	             " updated) VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, p->iface, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, p->peer, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, p->next, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, p->next_at);
	sqlite3_bind_int(st, 5, p->geo_known);
	sqlite3_bind_int64(st, 6, p->updated);
	if (step_done(c, st) < 0)
		goto fail;
	st = prep(c, "DELETE FROM peer_relays WHERE iface = ?1 AND peer = ?2");
	if (!st)
		goto fail;
	sqlite3_bind_text(st, 1, p->iface, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, p->peer, -1, SQLITE_TRANSIENT);
	if (step_done(c, st) < 0)
		goto fail;
	for (size_t i = 0; i < p->n_relays && i < CACHE_PLAN_RELAYS; i++) {
		const struct cache_plan_relay *r = &p->relays[i];
		st = prep(c, "INSERT INTO peer_relays(iface, peer, rank, relay_pubkey,"
		             " relay_endpoint, distance_km, rtt_ms, load_permille, score, usable)"
		             " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
		if (!st)
			goto fail;
		sqlite3_bind_text(st, 1, p->iface, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, p->peer, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, (int64_t)i);
		sqlite3_bind_text(st, 4, r->pubkey, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 5, r->endpoint, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int(st, 6, r->distance_km);
		sqlite3_bind_int(st, 7, r->rtt_ms);
		sqlite3_bind_int(st, 8, r->load_permille);
		sqlite3_bind_int(st, 9, r->score);
		sqlite3_bind_int(st, 10, r->usable);
		if (step_done(c, st) < 0)
			goto fail;
	}
	return exec(c, "COMMIT");
fail:
	exec(c, "ROLLBACK");
	return -EIO;
}

static void plan_row(sqlite3_stmt *st, void *elem)
{
	struct cache_plan *p = elem;

	text(st, 0, p->iface, sizeof(p->iface));
	text(st, 1, p->peer, sizeof(p->peer));
	text(st, 2, p->next, sizeof(p->next));
	p->next_at = sqlite3_column_int64(st, 3);
	p->geo_known = sqlite3_column_int(st, 4) != 0;
	p->updated = sqlite3_column_int64(st, 5);
}

/* (iface, peer) of a against that of row st, in SQLite's BINARY order (byte order). */
static int plan_cmp_row(const struct cache_plan *a, const char *iface, const char *peer)
{
	int d = strcmp(a->iface, iface);

	return d ? d : strcmp(a->peer, peer);
}

int cache_plan_list(struct cache *c, const char *iface, struct cache_plan **out, size_t *n)
{
	sqlite3_stmt *st;
	size_t k = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!has_v3(c))
		return 0;
	st = prep(c, "SELECT iface, peer, next, next_at, geo_known, updated FROM peer_plan"
	             " WHERE (?1 = '' OR iface = ?1) ORDER BY iface, peer LIMIT ?2");
	if (st) {
		sqlite3_bind_text(st, 1, iface ? iface : "", -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 2, CACHE_MAX_ROWS + 1);
	}
	if ((rc = list_rows(c, st, CACHE_MAX_ROWS, WARN_PEERS, "peers", sizeof(**out), plan_row,
	                    (void **)out, n)) < 0)
		return rc;
	/*
	 * The relays of the plans listed: at most CACHE_PLAN_RELAYS each, the rest ignored. Both
	 * lists come in (iface, peer) order, so one pass matches them: work linear in the rows.
	 */
	st = prep(c, "SELECT iface, peer, rank, relay_pubkey, relay_endpoint, distance_km, rtt_ms,"
	             " load_permille, score, usable FROM peer_relays"
	             " WHERE (?1 = '' OR iface = ?1) AND rank >= 0 AND rank < ?3"
	             " ORDER BY iface, peer, rank LIMIT ?2");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, iface ? iface : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, (int64_t)CACHE_PLAN_RELAYS * CACHE_MAX_ROWS);
	sqlite3_bind_int64(st, 3, CACHE_PLAN_RELAYS);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		char ifc[CACHE_TEXT], peer[CACHE_TEXT];
		int64_t rank = sqlite3_column_int64(st, 2);
		struct cache_plan *p;

		text(st, 0, ifc, sizeof(ifc));
		text(st, 1, peer, sizeof(peer));
		while (k < *n && plan_cmp_row(&(*out)[k], ifc, peer) < 0)
			k++;
		if (k == *n || plan_cmp_row(&(*out)[k], ifc, peer) > 0)
			continue; /* no plan listed for it */
		p = &(*out)[k];
		if (rank != (int64_t)p->n_relays)
			continue; /* ranks come in order 0, 1; anything else is not ours */
		struct cache_plan_relay *r = &p->relays[p->n_relays++];
		text(st, 3, r->pubkey, sizeof(r->pubkey));
		text(st, 4, r->endpoint, sizeof(r->endpoint));
		r->distance_km = sqlite3_column_int(st, 5);
		r->rtt_ms = sqlite3_column_int(st, 6);
		r->load_permille = sqlite3_column_int(st, 7);
		r->score = sqlite3_column_int(st, 8);
		r->usable = sqlite3_column_int(st, 9) != 0;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int cache_iface_remove(struct cache *c, const char *name)
{
	static const char *const sql[] = {"DELETE FROM interfaces WHERE name = ?1",
	                                  "DELETE FROM peers WHERE iface = ?1"};
	int changed = 0;

	if (exec(c, "BEGIN IMMEDIATE") < 0)
		return -EIO;
	for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		sqlite3_stmt *st = prep(c, sql[i]);
		if (!st)
			goto fail;
		sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
		if (step_done(c, st) < 0)
			goto fail;
		if (i == 0)
			changed = sqlite3_changes(c->db);
	}
	if (exec(c, "COMMIT") < 0)
		goto fail;
	return changed ? 0 : -ENOENT;
fail:
	exec(c, "ROLLBACK");
	return -EIO;
}

int cache_bootstrap_get(struct cache *c, const char *pubkey, char *endpoint, size_t len)
{
	sqlite3_stmt *st = prep(c, "SELECT endpoint FROM bootstrap WHERE pubkey = ?1");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, pubkey, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		text(st, 0, endpoint, len);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

int cache_token_set(struct cache *c, const char *pubkey, const struct cache_token *t)
{
	bool none = !t || (!t->command[0] && !t->secret[0]);
	sqlite3_stmt *st =
	    prep(c, none ? "DELETE FROM relay_tokens WHERE pubkey = ?1"
	                 : "INSERT OR REPLACE INTO relay_tokens(pubkey, command, secret, name)"
	                   " VALUES(?1, ?2, ?3, ?4)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, pubkey, -1, SQLITE_TRANSIENT);
	if (!none) {
		sqlite3_bind_text(st, 2, t->command, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 3, t->secret, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 4, t->name, -1, SQLITE_TRANSIENT);
	}
	return step_done(c, st);
}

int cache_token_get(struct cache *c, const char *pubkey, struct cache_token *out)
{
	int v = 0, rc;

	memset(out, 0, sizeof(*out));
	if (user_version(c->db, &v) != SQLITE_OK || v < 4)
		return -ENOENT;
	sqlite3_stmt *st =
	    prep(c, "SELECT command, secret, name FROM relay_tokens WHERE pubkey = ?1");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, pubkey, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		text(st, 0, out->command, sizeof(out->command));
		text(st, 1, out->secret, sizeof(out->secret));
		text(st, 2, out->name, sizeof(out->name));
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW && !out->command[0] && !out->secret[0])
		rc = SQLITE_DONE; /* a row with neither set is no credential */
	return rc == SQLITE_ROW ? 0 : rc == SQLITE_DONE ? -ENOENT : -EIO;
}

/* Schema 5 columns are there (a read-only connection may have an older file). */
static bool has_v5(struct cache *c)
{
	int v = 0;
	return user_version(c->db, &v) == SQLITE_OK && v >= 5;
}

/*
 * The discovered row that expires soonest: its rowid and expiry (0 and 0: none). One index
 * seek per source (relays_expiry), not a sort of however many rows there are.
 */
static int soonest(struct cache *c, int64_t *rowid, int64_t *expires)
{
	static const char *const src[] = {"relay", "dht"};

	*rowid = *expires = 0;
	for (size_t i = 0; i < sizeof(src) / sizeof(src[0]); i++) {
		sqlite3_stmt *st = prep(c, "SELECT rowid, expires FROM relays WHERE source = ?1"
		                           " ORDER BY expires LIMIT 1");
		int rc;

		if (!st)
			return -EIO;
		sqlite3_bind_text(st, 1, src[i], -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && (!*rowid || sqlite3_column_int64(st, 1) < *expires)) {
			*rowid = sqlite3_column_int64(st, 0);
			*expires = sqlite3_column_int64(st, 1);
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_ROW && rc != SQLITE_DONE)
			return -EIO;
	}
	return 0;
}

/* Discovered rows, counted up to max + 1 (a hostile file's millions are not walked). */
static int count_discovered(struct cache *c, size_t max, size_t *n)
{
	sqlite3_stmt *st =
	    prep(c, "SELECT count(*) FROM (SELECT 1 FROM relays WHERE source IN " DISCOVERED_SQL
	            " LIMIT ?1)");
	int rc;

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)max + 1);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = (size_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -EIO;
}

int cache_desc_known(struct cache *c, const char *identity, const char *pubkey,
                     const char *endpoint, struct discover_known *k)
{
	sqlite3_stmt *st;
	int64_t rowid, exp;
	int rc;

	memset(k, 0, sizeof(*k));
	/*
	 * Sequence numbers are unsigned 64-bit: compared here, not by SQLite's signed max(). An
	 * identity is on one row, two when it also signed a line's key: a few rows are read.
	 */
	if (!(st = prep(c, "SELECT seq FROM relays WHERE identity = ?1 LIMIT 4")))
		return -EIO;
	sqlite3_bind_text(st, 1, identity, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
		if (!k->have || seq > k->seq)
			k->seq = seq;
		k->have = true;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return -EIO;
	if (!(st = prep(c, "SELECT source NOT IN " DISCOVERED_SQL ", identity <> '' AND"
	                   " identity <> ?2 FROM relays WHERE pubkey = ?1")))
		return -EIO;
	sqlite3_bind_text(st, 1, pubkey, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, identity, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		k->key_held = true;
		k->key_trusted = sqlite3_column_int(st, 0) != 0;
		k->key_other_id = sqlite3_column_int(st, 1) != 0;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return -EIO;
	if (!(st = prep(c, "SELECT EXISTS(SELECT 1 FROM relays WHERE endpoint = ?1 AND"
	                   " pubkey <> ?2 AND source NOT IN " DISCOVERED_SQL ")")))
		return -EIO;
	sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, pubkey, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		k->bootstrap_diff = sqlite3_column_int(st, 0) != 0;
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW || count_discovered(c, CACHE_MAX_DISCOVERED, &k->stored) < 0 ||
	    soonest(c, &rowid, &exp) < 0)
		return -EIO;
	k->soonest = exp > 0 ? (uint64_t)exp : 0;
	return 0;
}

/* Bind the descriptor columns of d as ?2 blob, ?3 identity, ?4 seq, ?5 issued, ?6 expires. */
static void bind_desc(sqlite3_stmt *st, const struct cache_desc *d)
{
	sqlite3_bind_blob(st, 2, d->blob, (int)d->len, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 3, d->identity, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 4, (int64_t)d->seq);
	sqlite3_bind_int64(st, 5, d->issued);
	sqlite3_bind_int64(st, 6, d->expires);
}

/* Run the prepared st (NULL: failed to prepare); its changes, or -EIO. */
static int changes(struct cache *c, sqlite3_stmt *st)
{
	if (!st || step_done(c, st) < 0)
		return -EIO;
	return sqlite3_changes(c->db);
}

int cache_desc_store(struct cache *c, const struct cache_desc *d, size_t cap)
{
	sqlite3_stmt *st;
	int n;

	if (d->len > INT_MAX || exec(c, "BEGIN IMMEDIATE") < 0)
		return -EIO;
	/* A bootstrap or config line of its key: the line's endpoint and source stay. */
	st = prep(
	    c, "UPDATE relays SET descriptor = ?2, identity = ?3, seq = ?4, issued = ?5,"
	       " expires = ?6, desc_urls = ?7 WHERE pubkey = ?1 AND source NOT IN " DISCOVERED_SQL);
	if (st) {
		sqlite3_bind_text(st, 1, d->pubkey, -1, SQLITE_TRANSIENT);
		bind_desc(st, d);
		sqlite3_bind_text(st, 7, d->urls, -1, SQLITE_TRANSIENT);
	}
	if ((n = changes(c, st)) < 0)
		goto fail;
	if (n == 0) {
		/* The discovered row of its key: what was learned of that relay stays. */
		st = prep(c, "UPDATE relays SET descriptor = ?2, identity = ?3, seq = ?4,"
		             " issued = ?5, expires = ?6, endpoint = ?7, desc_urls = ?8"
		             " WHERE pubkey = ?1");
		if (st) {
			sqlite3_bind_text(st, 1, d->pubkey, -1, SQLITE_TRANSIENT);
			bind_desc(st, d);
			sqlite3_bind_text(st, 7, d->endpoint, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 8, d->urls, -1, SQLITE_TRANSIENT);
		}
		if ((n = changes(c, st)) < 0)
			goto fail;
	}
	/* Its identity's other discovered rows: older keys of the same relay. */
	st = prep(c, "DELETE FROM relays WHERE identity = ?1 AND pubkey <> ?2 AND source "
	             "IN " DISCOVERED_SQL);
	if (st) {
		sqlite3_bind_text(st, 1, d->identity, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 2, d->pubkey, -1, SQLITE_TRANSIENT);
	}
	if (changes(c, st) < 0)
		goto fail;
	if (n == 0) {
		/* A new discovered row; at the cap the one to expire soonest makes room. */
		size_t stored;
		int64_t rowid, exp;
		if (count_discovered(c, cap, &stored) < 0 || soonest(c, &rowid, &exp) < 0)
			goto fail;
		if (stored >= cap && rowid) {
			st = prep(c, "DELETE FROM relays WHERE rowid = ?1");
			if (st)
				sqlite3_bind_int64(st, 1, rowid);
			if (changes(c, st) < 0)
				goto fail;
		}
		st =
		    prep(c, "INSERT INTO relays(pubkey, descriptor, identity, seq, issued, expires,"
		            " endpoint, source, last_seen, desc_urls)"
		            " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 0, ?9)");
		if (st) {
			sqlite3_bind_text(st, 1, d->pubkey, -1, SQLITE_TRANSIENT);
			bind_desc(st, d);
			sqlite3_bind_text(st, 7, d->endpoint, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 8, d->source[0] ? d->source : "relay", -1,
			                  SQLITE_TRANSIENT);
			sqlite3_bind_text(st, 9, d->urls, -1, SQLITE_TRANSIENT);
		}
		if (changes(c, st) < 0)
			goto fail;
	}
	return exec(c, "COMMIT");
fail:
	exec(c, "ROLLBACK");
	return -EIO;
}

int cache_desc_prune(struct cache *c, int64_t now)
{
	sqlite3_stmt *st =
	    prep(c, "DELETE FROM relays WHERE source IN " DISCOVERED_SQL " AND expires <= ?1");

	if (st)
		sqlite3_bind_int64(st, 1, now);
	return changes(c, st);
}

int cache_desc_get(struct cache *c, const char *pubkey, uint8_t *buf, size_t cap)
{
	sqlite3_stmt *st;
	int rc, len = 0;

	if (!has_v5(c))
		return -ENOENT;
	if (!(st = prep(c, "SELECT descriptor FROM relays WHERE pubkey = ?1 AND"
	                   " descriptor IS NOT NULL")))
		return -EIO;
	sqlite3_bind_text(st, 1, pubkey, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		len = sqlite3_column_bytes(st, 0);
		if ((size_t)len > cap)
			rc = SQLITE_TOOBIG;
		else if (len)
			memcpy(buf, sqlite3_column_blob(st, 0), (size_t)len);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW      ? len
	       : rc == SQLITE_DONE   ? -ENOENT
	       : rc == SQLITE_TOOBIG ? -ENOBUFS
	                             : -EIO;
}

int cache_guards_get(struct cache *c, uint8_t (*ids)[32], uint64_t *until, size_t cap, size_t *n)
{
	int v = 0, rc = SQLITE_DONE;
	sqlite3_stmt *st;

	*n = 0;
	/* A read-only connection may have a file older than schema 8: no guards yet. */
	if (user_version(c->db, &v) != SQLITE_OK || v < 8 || cap == 0)
		return 0;
	/*
	 * In slot (rowid) order: no sort. A row whose identity is not 32 bytes was not written by
	 * cache_guards_put; it is skipped, and the caller draws a guard for the gap.
	 */
	if (!(st = prep(c, "SELECT identity, until FROM guards WHERE length(identity) = 32"
	                   " AND typeof(identity) = 'blob' ORDER BY slot LIMIT ?1")))
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)(cap < CACHE_MAX_ROWS ? cap : CACHE_MAX_ROWS));
	while (*n < cap && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *id = sqlite3_column_blob(st, 0);
		if (!id || sqlite3_column_bytes(st, 0) != 32)
			continue;
		memcpy(ids[*n], id, 32);
		/* Stored as SQLite's signed integer: the same 64 bits. */
		until[(*n)++] = (uint64_t)sqlite3_column_int64(st, 1);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}

int cache_guards_put(struct cache *c, const uint8_t (*ids)[32], const uint64_t *until, size_t n)
{
	sqlite3_stmt *st;

	if (exec(c, "BEGIN IMMEDIATE") < 0)
		return -EIO;
	if (!(st = prep(c, "DELETE FROM guards")) || step_done(c, st) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		if (!(st = prep(c, "INSERT INTO guards(slot, identity, until) VALUES(?1, ?2, ?3)")))
			goto fail;
		sqlite3_bind_int64(st, 1, (int64_t)i);
		sqlite3_bind_blob(st, 2, ids[i], 32, SQLITE_TRANSIENT);
		sqlite3_bind_int64(st, 3, (int64_t)until[i]);
		if (step_done(c, st) < 0)
			goto fail;
	}
	return exec(c, "COMMIT");
fail:
	exec(c, "ROLLBACK");
	return -EIO;
}

int cache_dht_boot_add(struct cache *c, const char *endpoint, int64_t now)
{
	sqlite3_stmt *st = prep(c, "INSERT INTO dht_bootstrap(endpoint, added) VALUES(?1, ?2)"
	                           " ON CONFLICT(endpoint) DO NOTHING");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now);
	return step_done(c, st) < 0 ? -EIO : 0;
}

int cache_dht_boot_remove(struct cache *c, const char *endpoint)
{
	sqlite3_stmt *st = prep(c, "DELETE FROM dht_bootstrap WHERE endpoint = ?1");

	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_TRANSIENT);
	if (step_done(c, st) < 0)
		return -EIO;
	return sqlite3_changes(c->db) ? 0 : -ENOENT;
}

int cache_dht_boot_list(struct cache *c, char (*out)[CACHE_TEXT], size_t cap, size_t *n)
{
	int v = 0, rc = SQLITE_DONE;
	sqlite3_stmt *st;

	*n = 0;
	/* A read-only connection may have a file older than schema 6: none entered. */
	if (user_version(c->db, &v) != SQLITE_OK || v < 6)
		return 0;
	if (!(st = prep(c, "SELECT endpoint FROM dht_bootstrap ORDER BY added, endpoint")))
		return -EIO;
	while (*n < cap && (rc = sqlite3_step(st)) == SQLITE_ROW)
		text(st, 0, out[(*n)++], CACHE_TEXT);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -EIO;
}
