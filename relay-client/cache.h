/*
 * cache.h: the helper's SQLite connection cache, shared state between `wgrelay watch` and the
 * other commands. Endpoint history (fields of plan 003 §4.3-4.4), relay registry, bootstrap
 * list, per-interface settings, per-peer path state and the relayed-peer table used to
 * recover after a crash. Only cache.c sees SQLite; callers use these plain structs.
 */
#ifndef WGR_CACHE_H
#define WGR_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CACHE_SCHEMA_VERSION 8
#define CACHE_TEXT           64
#define CACHE_WHY            200
/* A relay's stream URLs (PROTOCOL.md §12.5), canonical and blank-separated; or its carrier. */
#define CACHE_URLS 512
/*
 * The file is not trusted (cache.c): cache_relay_list returns at most CACHE_MAX_RELAYS relays
 * (bootstrap and config lines first, then discovered relays, each in the order stored), the
 * other lists at most CACHE_MAX_ROWS rows; more are ignored with one warning per connection.
 * Discovered relays are kept up to CACHE_MAX_DISCOVERED (cache_desc_store): the helper lists
 * and probes no more than CACHE_MAX_RELAYS and links to 32, so more would be disk spent on
 * relays never used, and what a relay sends can fill no more than that.
 */
#define CACHE_MAX_RELAYS     1024
#define CACHE_MAX_ROWS       65536
#define CACHE_MAX_DISCOVERED 1000

struct cache;

enum cache_ep_status { CACHE_EP_UNKNOWN = 0, CACHE_EP_OK = 1, CACHE_EP_FAILED = 2 };

/* One endpoint of one peer (plan 003 §4.4 CachedEndpoint). Times are unix seconds, 0 = never. */
struct cache_endpoint {
	char iface[CACHE_TEXT];
	char peer[CACHE_TEXT];     /* peer public key, base64 */
	char endpoint[CACHE_TEXT]; /* "ip:port" */
	char type[16];             /* "direct" or "relay" */
	int64_t last_success;
	uint32_t success_count;
	int status; /* enum cache_ep_status */
	int64_t last_checked;
	uint32_t failure_count;
	int32_t latency_ms; /* -1 unknown, same for the next optional fields */
	int32_t packet_loss_pct;
	int32_t handshake_success_rate;
	int32_t jitter_ms;
	int32_t quality_score;
	int64_t last_quality_update;
	char relay_pubkey[CACHE_TEXT]; /* "" when none */
	uint32_t relay_success_count;
	int64_t last_relay_success;
};

/*
 * A relay the helper knows. Its source is where it was first learned: "bootstrap"
 * (add-bootstrap-relay), "config" ([Relay] Bootstrap), "relay" (a relay's DISCOVER answer),
 * "dht". Relays of source relay or dht are used only while their descriptor is current.
 */
struct cache_relay {
	char pubkey[CACHE_TEXT]; /* the Noise key links handshake with (a descriptor's own) */
	char endpoint[CACHE_TEXT];
	char source[16];
	char status[16]; /* "ok", "unreachable", "full", "denied", "unknown" */
	int32_t rtt_ms;  /* -1 unknown */
	int32_t load_permille;
	uint32_t flags; /* PONG_F_* */
	bool has_loc;
	double lat, lon;
	char city[CACHE_TEXT];
	char country[8];
	int64_t last_seen;
	uint32_t success_count, failure_count;
	/* read-only: "command", "secret" or "" (no token credential; relay_tokens, schema 4) */
	char token[16];
	/* read-only, schema 5: the relay's descriptor, when one was received (cache_desc_store) */
	bool has_desc;
	char identity[CACHE_TEXT]; /* Ed25519 identity, base64; "" none */
	uint64_t seq;
	int64_t issued, expires; /* unix s; 0 none */
	/*
	 * Schema 7. urls: the stream URLs its bootstrap or config line gives (cache_relay_set_urls);
	 * desc_urls (read-only): those of its descriptor's TCP, TLS and WSS endpoints;
	 * transport (read-only): the carrier `watch` links over now ("udp", "tls://H:P via
	 * socks5://H:P"; cache_relay_set_transport), "" not linked.
	 */
	char urls[CACHE_URLS];
	char desc_urls[CACHE_URLS];
	char transport[CACHE_URLS];
};

/* True for a relay of source "relay" or "dht": one a descriptor alone vouches for. */
bool cache_source_discovered(const char *source);

/*
 * Circuits (schema 8, issue 17): the most hops configure-relay takes, rendezvous included. The
 * cells carry up to ONION_MAX_HOPS; past 4 every hop costs latency and MTU (PROTOCOL.md §13.6)
 * for no protection Tor's 3 do not give.
 */
#define CACHE_MAX_HOPS      4
#define CACHE_MAX_COUNTRIES 16 /* PATHSEL_MAX_COUNTRIES */

struct cache_iface {
	char name[CACHE_TEXT];
	bool enabled;
	uint32_t threshold_windows; /* consecutive failed windows before relaying */
	char mode[16];              /* "direct" or "sealed" */
	int32_t mtu;                /* -1 auto, 0 off, else fixed */
	uint32_t prebind;           /* K relays to prebind on */
	/*
	 * Schema 8; rows of older files read as 0, "balanced", "". hops 0: off (no circuits);
	 * 1..CACHE_MAX_HOPS: peers carried over circuits of this many hops, rendezvous included
	 * (a file's value above that reads as 0). strategy: "balanced", "fast" or "anonymous"
	 * (pathsel_strategy_parse). exclude_country: "DE,FR", upper-case ISO 3166 alpha-2 codes,
	 * at most CACHE_MAX_COUNTRIES (cache_countries_parse), "" none.
	 */
	uint8_t hops;
	char strategy[16];
	char exclude_country[64];
};

/* Per-peer path state written by the daemon, read by `wgrelay status`. */
struct cache_peer {
	char iface[CACHE_TEXT];
	char peer[CACHE_TEXT];
	char path[16]; /* "direct", "relayed", "trying-direct" */
	/* "direct", "sealed" or "circuit" (schema 8) while not direct, else "" (schema 2) */
	char mode[16];
	char relay_pubkey[CACHE_TEXT];
	char relay_endpoint[CACHE_TEXT];
	char endpoint[CACHE_TEXT];
	int64_t since;
	int64_t updated;
	char why[CACHE_WHY];
	/*
	 * Schema 8: the peer's circuit as the helper describes it, mode "circuit" ("2 hops: DE
	 * 1a2b3c4d, NL 5e6f7a8b (rendezvous); spliced 35 s; 1 rotation"), else "".
	 */
	char circuit[CACHE_WHY];
};

/* A relayed peer, so a restarted helper can adopt or restore it. */
struct cache_session {
	char iface[CACHE_TEXT];
	char peer[CACHE_TEXT];
	char relay_pubkey[CACHE_TEXT];
	char relay_endpoint[CACHE_TEXT];
	char session_endpoint[CACHE_TEXT]; /* what the peer's endpoint was set to */
	char original_endpoint[CACHE_TEXT];
	int32_t original_keepalive;
	int64_t since;
	char mode[16]; /* "direct" or "sealed" (schema 2; rows of version 1 are direct) */
};

/*
 * Open (creating with mode 0600) the database at path (":memory:" allowed). A file that is not
 * a database, fails its integrity check, carries a newer schema or a schema holding anything
 * our migrations did not create (a trigger, a view, another table or index, other columns) is
 * renamed to "path.corrupt-<unixtime>", logged and rebuilt. The connection runs with tight
 * limits, no triggers or views, and a per-statement work budget. 0 or -errno.
 */
int cache_open(struct cache **out, const char *path);
void cache_free(struct cache *c);
/* Set by cache_open when the previous file was moved aside. */
bool cache_was_rebuilt(const struct cache *c);
/* Schema version stored in the file (PRAGMA user_version). */
int cache_schema_version(struct cache *c);

/* Record one judged window for (iface, peer, endpoint): ok or failed, at now. 0 or -EIO. */
int cache_record_window(struct cache *c, const char *iface, const char *peer, const char *endpoint,
                        bool ok, int64_t now);
/* Plan 003 §4.3: all of >= 3 endpoints failed, or > 10 failures in the last 30 min. */
int cache_should_try_relay(struct cache *c, const char *iface, const char *peer, int64_t now,
                           bool *out, unsigned *n_endpoints, unsigned *recent_failures);
/*
 * seed 003's connection cache: *out is true when the peer's last relay success (within a week)
 * is newer than any success of a direct endpoint, i.e. it needed a relay last time and nothing
 * direct has worked since.
 */
int cache_needed_relay(struct cache *c, const char *iface, const char *peer, int64_t now,
                       bool *out);
/* Plan 003 §4.3 record_relay_success. */
int cache_record_relay_success(struct cache *c, const char *iface, const char *peer,
                               const char *relay_pubkey, int64_t now);
/* Endpoints of one peer ("" iface/peer = all); *out malloc'd, free() it. */
int cache_list_endpoints(struct cache *c, const char *iface, const char *peer,
                         struct cache_endpoint **out, size_t *n);

/* Bootstrap list: add replaces the endpoint of a known key; remove by key or endpoint. */
int cache_bootstrap_add(struct cache *c, const char *endpoint, const char *pubkey, int64_t now);
/* 0, or -ENOENT when nothing matched. */
int cache_bootstrap_remove(struct cache *c, const char *key_or_endpoint);

/* Relay registry; upsert keeps counters, history, the descriptor and the URLs. */
int cache_relay_upsert(struct cache *c, const struct cache_relay *r);
/* Schema 7: the stream URLs of pubkey's line (blank-separated, "" none). 0, -ENOENT, -EIO. */
int cache_relay_set_urls(struct cache *c, const char *pubkey, const char *urls);
/*
 * Schema 7: what carries `watch`'s link to pubkey now ("" not linked), or, pubkey NULL, the
 * same for every relay (at start). 0 or -EIO.
 */
int cache_relay_set_transport(struct cache *c, const char *pubkey, const char *transport);
/*
 * What a link or a probe learned of a relay (status, rtt, load, flags, location, last seen),
 * into its row if it still has one: a relay removed or expired meanwhile is not brought back.
 */
int cache_relay_seen(struct cache *c, const struct cache_relay *r);
int cache_relay_list(struct cache *c, struct cache_relay **out, size_t *n);
/* Count one probe or session outcome against a relay. */
int cache_relay_outcome(struct cache *c, const char *pubkey, bool ok, int64_t now);

/*
 * A comma list of country codes ("de,FR,de") into out[0..*n): two ASCII letters each, upper
 * case, each once, in the order first given; "" none. 0, -EINVAL (a code that is not two
 * letters, copied into bad) or -E2BIG (more than cap codes).
 */
int cache_countries_parse(const char *list, char (*out)[3], size_t cap, size_t *n, char *bad,
                          size_t badlen);
/* out[0..n) as the stored form "DE,FR" into buf (len >= 3 * n). */
void cache_countries_format(char *buf, size_t len, const char (*in)[3], size_t n);

/* Interface settings; get returns -ENOENT (and defaults in *out) when never configured. */
void cache_iface_defaults(struct cache_iface *out, const char *name);
int cache_iface_set(struct cache *c, const struct cache_iface *s);
int cache_iface_get(struct cache *c, const char *name, struct cache_iface *out);
int cache_iface_list(struct cache *c, struct cache_iface **out, size_t *n);

int cache_peer_set(struct cache *c, const struct cache_peer *p);
/* iface NULL or "" = all interfaces. */
int cache_peer_list(struct cache *c, const char *iface, struct cache_peer **out, size_t *n);

/*
 * The MTU an interface had before the helper lowered it to `lowered` for sealed mode; mtu 0
 * deletes the row. get: 0, or -ENOENT when nothing is recorded.
 */
int cache_mtu_put(struct cache *c, const char *iface, unsigned mtu, unsigned lowered);
int cache_mtu_get(struct cache *c, const char *iface, unsigned *mtu, unsigned *lowered);

/*
 * Open an existing database read-only, for `status` and `doctor`: never creates, migrates or
 * moves a file (not even -wal/-shm). Runs the same checks as cache_open. 0, or -ENOENT /
 * -EACCES (and other -errno of the file), -EBADMSG (damaged or not our schema; the next
 * cache_open sets it aside), -EPROTO (schema 1: cache_open migrates it).
 */
int cache_open_readonly(struct cache **out, const char *path);

/* Schema 3: what the running `wgrelay watch` says about itself, one row. */
struct cache_helper {
	int64_t pid;                  /* 0 after a clean exit */
	int64_t started;              /* unix s */
	int64_t tick;                 /* the last 1 s tick (or the exit), unix s */
	char pubkey[CACHE_TEXT];      /* the identity key's public half, base64 */
	char public_addr[CACHE_TEXT]; /* our IP as the relays see it, "" unknown */
	char geoip[256];              /* the GeoIP file in use, "" none */
};
int cache_helper_set(struct cache *c, const struct cache_helper *h);
/* -ENOENT when no helper has published yet (or the file predates schema 3). */
int cache_helper_get(struct cache *c, struct cache_helper *out);

/* Schema 3: the helper's plan for one peer: the next step and the relay choice. */
#define CACHE_PLAN_RELAYS 2
struct cache_plan_relay {
	char pubkey[CACHE_TEXT];
	char endpoint[CACHE_TEXT];
	int32_t distance_km;   /* |A-R| + |R-B|, -1 unknown */
	int32_t rtt_ms;        /* -1 unknown */
	int32_t load_permille; /* -1 unknown */
	int32_t score;         /* select.h: lower is better */
	bool usable;
};
struct cache_plan {
	char iface[CACHE_TEXT];
	char peer[CACHE_TEXT];
	char next[CACHE_WHY]; /* "" none */
	int64_t next_at;      /* when the next step is due, unix s; 0 not timed */
	bool geo_known;       /* both ends located: distances counted in the scores */
	int64_t updated;
	size_t n_relays; /* relays[0] the chosen (in use, or the first to use), [1] the runner-up */
	struct cache_plan_relay relays[CACHE_PLAN_RELAYS];
};
/* Replace the plan of (iface, peer), in one transaction. */
int cache_plan_set(struct cache *c, const struct cache_plan *p);
/* iface NULL or "" = all; an older file has none (0 rows). */
int cache_plan_list(struct cache *c, const char *iface, struct cache_plan **out, size_t *n);

int cache_session_put(struct cache *c, const struct cache_session *s);
int cache_session_del(struct cache *c, const char *iface, const char *peer);
int cache_session_list(struct cache *c, const char *iface, struct cache_session **out, size_t *n);

/* Forget an interface's settings and its peers' path state: 0, or -ENOENT when not set. */
int cache_iface_remove(struct cache *c, const char *name);
/* The bootstrap endpoint recorded for pubkey: 0, or -ENOENT when it is not a bootstrap relay. */
int cache_bootstrap_get(struct cache *c, const char *pubkey, char *endpoint, size_t len);

/*
 * Schema 4: how the helper gets a token for a relay in token mode (PROTOCOL.md §5.2): a
 * command printing EXPIRY:NAME:MAC, or a shared secret and a name to mint one with (token.h).
 * One of command and secret is set. The secret sits in the database in clear, which is why
 * the file is 0600.
 */
#define CACHE_TOKEN_CMD    1024
#define CACHE_TOKEN_SECRET 256
#define CACHE_TOKEN_NAME   104
struct cache_token {
	char command[CACHE_TOKEN_CMD];
	char secret[CACHE_TOKEN_SECRET];
	char name[CACHE_TOKEN_NAME];
};
/* Set the credential of relay pubkey; NULL or nothing set deletes it. 0 or -EIO. */
int cache_token_set(struct cache *c, const char *pubkey, const struct cache_token *t);
/* 0, -ENOENT (none, or a file older than schema 4) or -EIO. */
int cache_token_get(struct cache *c, const char *pubkey, struct cache_token *out);

/*
 * Schema 5: relays' descriptors (discover.h). cache_desc_known fills *k for a descriptor of
 * identity (base64) naming Noise key pubkey (base64) at endpoint (as addr_format prints it).
 */
struct discover_known;
int cache_desc_known(struct cache *c, const char *identity, const char *pubkey,
                     const char *endpoint, struct discover_known *k);

/* One verified descriptor to store (discover_judge said new or updated). */
struct cache_desc {
	char pubkey[CACHE_TEXT];   /* its Noise key, base64 */
	char endpoint[CACHE_TEXT]; /* its first (UDP) endpoint */
	char identity[CACHE_TEXT];
	char source[16]; /* for a relay not held yet: "relay" or "dht" */
	uint64_t seq;
	int64_t issued, expires;
	const uint8_t *blob; /* the descriptor as received */
	size_t len;
	char urls[CACHE_URLS]; /* its stream endpoints as URLs (schema 7), "" none */
};
/*
 * Store d in one transaction: onto the bootstrap or config line of its Noise key (whose
 * endpoint and source stay), else onto the discovered row of its key or identity (replacing
 * that identity's older key), else as a new discovered row, giving up the discovered row that
 * expires soonest when cap are stored. 0 or -EIO.
 */
int cache_desc_store(struct cache *c, const struct cache_desc *d, size_t cap);
/* Forget discovered relays whose descriptor expired by now; how many, or -EIO. */
int cache_desc_prune(struct cache *c, int64_t now);
/* The descriptor stored for pubkey into buf: its length, -ENOENT none, -ENOBUFS, -EIO. */
int cache_desc_get(struct cache *c, const char *pubkey, uint8_t *buf, size_t cap);

/*
 * Schema 8: the circuit guards (pathsel.h struct pathsel_guards: entry relays kept 30 to 60
 * days), for the helper as a whole. ids are Ed25519 identities, until Unix seconds.
 * get: the first cap in order (0 from an older file; a row the file mangled is skipped), 0 or
 * -errno. put: replace them all in one transaction (nothing half-written), 0 or -errno.
 */
int cache_guards_get(struct cache *c, uint8_t (*ids)[32], uint64_t *until, size_t cap, size_t *n);
int cache_guards_put(struct cache *c, const uint8_t (*ids)[32], const uint64_t *until, size_t n);

/*
 * Schema 6: DHT nodes to join the DHT through (add-dht-bootstrap), as HOST:PORT. add: 0 (an
 * endpoint already there stays as it was) or -EIO; remove: 0, -ENOENT, -EIO; list: the first
 * cap in the order added into out (none from an older file), 0 or -EIO.
 */
int cache_dht_boot_add(struct cache *c, const char *endpoint, int64_t now);
int cache_dht_boot_remove(struct cache *c, const char *endpoint);
int cache_dht_boot_list(struct cache *c, char (*out)[CACHE_TEXT], size_t cap, size_t *n);

#endif
