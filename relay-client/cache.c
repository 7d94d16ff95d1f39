/*
 * cache.c: the SQLite connection cache. Every statement is prepared with bound parameters;
 * a damaged or newer-than-us file is moved aside and rebuilt so the helper keeps running.
 */
#include "cache.h"

#include <errno.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "log.h"

struct cache {
	sqlite3 *db;
	bool rebuilt;
};

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

/* Checks a freshly opened file: readable, intact, not newer than us. */
static bool file_usable(sqlite3 *db, const char *path)
{
	sqlite3_stmt *st;
	int v = 0;
	bool ok = false;

	if (user_version(db, &v) != SQLITE_OK) {
		log_warnx("cache: %s: %s", path, sqlite3_errmsg(db));
		return false;
	}
	if (v > CACHE_SCHEMA_VERSION) {
		log_warnx("cache: %s: schema version %d is newer than %d", path, v,
		          CACHE_SCHEMA_VERSION);
		return false;
	}
	if (sqlite3_prepare_v2(db, "PRAGMA quick_check", -1, &st, NULL) != SQLITE_OK) {
		log_warnx("cache: %s: %s", path, sqlite3_errmsg(db));
		return false;
	}
	if (sqlite3_step(st) == SQLITE_ROW) {
		const unsigned char *r = sqlite3_column_text(st, 0);
		ok = r && strcmp((const char *)r, "ok") == 0;
		if (!ok)
			log_warnx("cache: %s: integrity: %s", path, r ? (const char *)r : "?");
	}
	sqlite3_finalize(st);
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

static int open_db(sqlite3 **db, const char *path)
{
	mode_t old = umask(077); /* the file, -wal and -shm are created 0600 */
	int rc = sqlite3_open_v2(
	    path, db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	umask(old);
	if (rc != SQLITE_OK) {
		log_warnx("cache: open %s: %s", path, *db ? sqlite3_errmsg(*db) : "no memory");
		sqlite3_close(*db);
		*db = NULL;
		return -EIO;
	}
	sqlite3_db_config(*db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
	sqlite3_db_config(*db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
	sqlite3_busy_timeout(*db, 5000);
	return 0;
}

static int migrate(struct cache *c)
{
	int v = 0;
	if (user_version(c->db, &v) != SQLITE_OK)
		return -EIO;
	if (v == 0) {
		if (exec(c, "BEGIN IMMEDIATE") < 0)
			return -EIO;
		/* Another process may have created it while we waited for the lock. */
		if (user_version(c->db, &v) != SQLITE_OK) {
			exec(c, "ROLLBACK");
			return -EIO;
		}
		if (v == 0 && (exec(c, schema_v1) < 0 || exec(c, "PRAGMA user_version = 1") < 0)) {
			exec(c, "ROLLBACK");
			return -EIO;
		}
		if (exec(c, "COMMIT") < 0)
			return -EIO;
	}
	if (v < 2) {
		if (exec(c, "BEGIN IMMEDIATE") < 0)
			return -EIO;
		if (user_version(c->db, &v) != SQLITE_OK) {
			exec(c, "ROLLBACK");
			return -EIO;
		}
		if (v < 2 && (exec(c, schema_v2) < 0 || exec(c, "PRAGMA user_version = 2") < 0)) {
			exec(c, "ROLLBACK");
			return -EIO;
		}
		if (exec(c, "COMMIT") < 0)
			return -EIO;
	}
	return 0;
}

int cache_open(struct cache **out, const char *path)
{
	struct cache *c = calloc(1, sizeof(*c));
	bool mem = strcmp(path, ":memory:") == 0;

	if (!c)
		return -ENOMEM;
	if (open_db(&c->db, path) < 0) {
		free(c);
		return -EIO;
	}
	if (!mem && !file_usable(c->db, path)) {
		sqlite3_close(c->db);
		move_aside(path);
		c->rebuilt = true;
		if (open_db(&c->db, path) < 0) {
			free(c);
			return -EIO;
		}
	}
	if (!mem)
		exec(c, "PRAGMA journal_mode=WAL");
	exec(c, "PRAGMA foreign_keys=ON");
	if (migrate(c) < 0) {
		cache_free(c);
		return -EIO;
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

int cache_list_endpoints(struct cache *c, const char *iface, const char *peer,
                         struct cache_endpoint **out, size_t *n)
{
	sqlite3_stmt *st = prep(
	    c,
	    "SELECT iface, peer, endpoint, type, last_success, success_count, status,"
	    " last_checked, failure_count, latency_ms, packet_loss_pct, handshake_success_rate,"
	    " jitter_ms, quality_score, last_quality_update, relay_pubkey,"
	    " relay_success_count, last_relay_success FROM endpoints"
	    " WHERE (?1 = '' OR iface = ?1) AND (?2 = '' OR peer = ?2) ORDER BY iface, peer, id");
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, iface ? iface : "", -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, 2, peer ? peer : "", -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cache_endpoint *e = grow((void **)out, n, &cap, sizeof(*e));
		if (!e) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
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
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
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
	struct cache_relay r = {.rtt_ms = -1, .load_permille = -1, .last_seen = 0};
	snprintf(r.pubkey, sizeof(r.pubkey), "%s", pubkey);
	snprintf(r.endpoint, sizeof(r.endpoint), "%s", endpoint);
	snprintf(r.source, sizeof(r.source), "bootstrap");
	snprintf(r.status, sizeof(r.status), "unknown");
	return cache_relay_upsert(c, &r);
}

int cache_bootstrap_remove(struct cache *c, const char *key_or_endpoint)
{
	sqlite3_stmt *st = prep(c, "DELETE FROM bootstrap WHERE pubkey = ?1 OR endpoint = ?1");
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

int cache_relay_list(struct cache *c, struct cache_relay **out, size_t *n)
{
	sqlite3_stmt *st = prep(c, "SELECT pubkey, endpoint, source, status, rtt_ms, load_permille,"
	                           " flags, has_loc, lat, lon, city, country, last_seen,"
	                           " success_count, failure_count FROM relays ORDER BY endpoint");
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cache_relay *r = grow((void **)out, n, &cap, sizeof(*r));
		if (!r) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
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
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
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
	out->threshold_windows = 2;
	snprintf(out->mode, sizeof(out->mode), "direct");
	out->mtu = -1;
	out->prebind = 2;
}

int cache_iface_set(struct cache *c, const struct cache_iface *s)
{
	sqlite3_stmt *st = prep(c, "INSERT OR REPLACE INTO interfaces(name, enabled,"
	                           " threshold_windows, mode, mtu, prebind)"
	                           " VALUES(?1, ?2, ?3, ?4, ?5, ?6)");
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, s->name, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 2, s->enabled);
	sqlite3_bind_int64(st, 3, s->threshold_windows);
	sqlite3_bind_text(st, 4, s->mode, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int(st, 5, s->mtu);
	sqlite3_bind_int64(st, 6, s->prebind);
	return step_done(c, st);
}

static void iface_row(sqlite3_stmt *st, struct cache_iface *s)
{
	text(st, 0, s->name, sizeof(s->name));
	s->enabled = sqlite3_column_int(st, 1) != 0;
	s->threshold_windows = (uint32_t)sqlite3_column_int64(st, 2);
	text(st, 3, s->mode, sizeof(s->mode));
	s->mtu = sqlite3_column_int(st, 4);
	s->prebind = (uint32_t)sqlite3_column_int64(st, 5);
}

int cache_iface_get(struct cache *c, const char *name, struct cache_iface *out)
{
	sqlite3_stmt *st = prep(c, "SELECT name, enabled, threshold_windows, mode, mtu, prebind"
	                           " FROM interfaces WHERE name = ?1");
	int rc;

	cache_iface_defaults(out, name);
	if (!st)
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
	sqlite3_stmt *st = prep(c, "SELECT name, enabled, threshold_windows, mode, mtu, prebind"
	                           " FROM interfaces ORDER BY name");
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -EIO;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cache_iface *s = grow((void **)out, n, &cap, sizeof(*s));
		if (!s) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
		iface_row(st, s);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
}

int cache_peer_set(struct cache *c, const struct cache_peer *p)
{
	sqlite3_stmt *st = prep(c, "INSERT OR REPLACE INTO peers(iface, peer, path, relay_pubkey,"
	                           " relay_endpoint, endpoint, since, updated, why, mode)"
	                           " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)");
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
	return step_done(c, st);
}

int cache_peer_list(struct cache *c, const char *iface, struct cache_peer **out, size_t *n)
{
	sqlite3_stmt *st = prep(c, "SELECT iface, peer, path, relay_pubkey, relay_endpoint,"
	                           " endpoint, since, updated, why, mode FROM peers"
	                           " WHERE (?1 = '' OR iface = ?1) ORDER BY iface, peer");
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, iface ? iface : "", -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cache_peer *p = grow((void **)out, n, &cap, sizeof(*p));
		if (!p) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
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
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
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

int cache_session_list(struct cache *c, const char *iface, struct cache_session **out, size_t *n)
{
	sqlite3_stmt *st =
	    prep(c, "SELECT iface, peer, relay_pubkey, relay_endpoint,"
	            " session_endpoint, original_endpoint, original_keepalive, since,"
	            " mode FROM relay_sessions WHERE (?1 = '' OR iface = ?1)"
	            " ORDER BY iface, peer");
	size_t cap = 0;
	int rc;

	*out = NULL;
	*n = 0;
	if (!st)
		return -EIO;
	sqlite3_bind_text(st, 1, iface ? iface : "", -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct cache_session *s = grow((void **)out, n, &cap, sizeof(*s));
		if (!s) {
			sqlite3_finalize(st);
			return -ENOMEM;
		}
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
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -EIO;
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
