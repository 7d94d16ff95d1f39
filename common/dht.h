/*
 * dht.h: a Mainline DHT node (BEP 5 + BEP 44 mutable and immutable items), sans-I/O.
 *
 * The caller owns the socket and the clock: it feeds received datagrams to dht_input, calls
 * dht_tick now and then (every 100 ms to 1 s), and sends what dht_next_output hands back.
 * Randomness comes through the config's function so a simulator can be deterministic. IPv4
 * only (no nodes6). Node ids are not BEP 42 ids and BEP 42 is not enforced on others.
 * Lookups (find_node, get_peers, announce, get, put) finish through a callback called from
 * dht_input or dht_tick. Every datagram refused or dropped is counted in struct dht_stats.
 */
#ifndef WGR_DHT_H
#define WGR_DHT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

#define DHT_ID_LEN     20
#define DHT_K          8    /* BEP 5 bucket size; also the number of nodes stored to */
#define DHT_ALPHA      3    /* queries in flight per lookup */
#define DHT_V_MAX      1000 /* BEP 44: bencoded v */
#define DHT_SALT_MAX   64   /* BEP 44 */
#define DHT_MAX_PKT    1500 /* largest datagram sent or accepted */
#define DHT_LK_PEERS   64   /* peers a get_peers lookup collects */
#define DHT_NO_CAS     (-1)
#define DHT_MAX_LOOKUP 16 /* concurrent lookups */

typedef void (*dht_rand_fn)(void *ctx, void *buf, size_t len);

struct dht_config {
	dht_rand_fn rand; /* NULL: libsodium's randombytes_buf */
	void *rand_ctx;
	size_t max_items;          /* BEP 44 items stored */
	size_t max_peers;          /* peers stored, all infohashes together */
	size_t max_peers_per_hash; /* peers stored under one infohash */
	size_t max_per_source;     /* items + peers stored on behalf of one IP address */
	uint32_t query_rate;       /* queries a second accepted from one IP address */
	uint32_t query_burst;
	size_t out_queue;          /* datagrams waiting for dht_next_output */
	uint32_t query_timeout_ms; /* our query unanswered after this is a failure */
};

/* Counters; "drop_*" and "refuse_*" count datagrams or requests not served. */
struct dht_stats {
	uint64_t rx, tx;
	uint64_t drop_size, drop_family, drop_decode, drop_krpc, drop_ratelimit, drop_unmatched;
	uint64_t drop_queue_full; /* outgoing datagrams lost to a full queue */
	uint64_t q_ping, q_find_node, q_get_peers, q_announce, q_get, q_put, q_unknown;
	uint64_t refuse_args, refuse_token, refuse_v_size, refuse_salt_size, refuse_sig;
	uint64_t refuse_cas, refuse_seq, refuse_full, refuse_source_cap, refuse_hash_full;
	uint64_t timeouts, lookups, lookups_failed;
	uint64_t nodes, items, peers; /* gauges at the last dht_tick */
};

/* A BEP 44 item; mutable when has_k. v is the bencoded value (a string is "N:bytes"). */
struct dht_item {
	bool has_k;
	uint8_t k[32];
	uint8_t salt[DHT_SALT_MAX];
	size_t salt_len;
	int64_t seq;
	uint8_t sig[64];
	uint8_t v[DHT_V_MAX];
	size_t v_len;
};

enum dht_op {
	DHT_OP_FIND_NODE,
	DHT_OP_GET_PEERS,
	DHT_OP_ANNOUNCE,
	DHT_OP_GET,
	DHT_OP_PUT,
};

struct dht_contact {
	uint8_t id[DHT_ID_LEN];
	struct addr addr;
};

/*
 * What a finished lookup found; valid only during the callback. status is 0, -ETIMEDOUT when no
 * node answered, or -ENOENT for a get that found no valid item.
 */
struct dht_result {
	enum dht_op op;
	int status;
	uint8_t target[DHT_ID_LEN];
	size_t responded;                  /* nodes that answered the search */
	size_t stored;                     /* announce/put: nodes that acknowledged the store */
	const struct dht_contact *closest; /* up to DHT_K answering nodes, closest first */
	size_t nclosest;
	const struct addr *peers; /* get_peers/announce */
	size_t npeers;
	const struct dht_item *item; /* get: the verified item of highest seq; NULL if none */
};

typedef void (*dht_done_fn)(void *ctx, const struct dht_result *res);

struct dht;

/* Defaults: 1024 items, 4096 peers, 256 a hash, 64 a source, 20 queries/s (burst 60). */
void dht_config_default(struct dht_config *cfg);
/* A node with this id (cfg NULL: defaults); NULL when out of memory. */
struct dht *dht_new(const uint8_t id[DHT_ID_LEN], const struct dht_config *cfg);
/* Free the node; pending lookups end without their callbacks. NULL is a no-op. */
void dht_free(struct dht *d);

/* One received datagram. Returns 0 when handled, -errno when dropped (and counted). */
int dht_input(struct dht *d, const uint8_t *pkt, size_t len, const struct addr *from,
              uint64_t now_ms);
/* Timeouts, token secret rotation, bucket refresh, expiry, bootstrap retries. */
void dht_tick(struct dht *d, uint64_t now_ms);
/* Pop the next datagram to send into buf (to: destination): its length, 0 when none. A
 * datagram larger than cap is dropped and counted. */
size_t dht_next_output(struct dht *d, uint8_t *buf, size_t cap, struct addr *to);

/* Remember up to 8 bootstrap addresses (each once) and look up our own id through them: a
 * new lookup at every call, so calling again re-sends to nodes an earlier call asked. */
int dht_bootstrap(struct dht *d, const struct addr *nodes, size_t n, uint64_t now_ms);

/*
 * Lookups. Each returns 0 (cb will be called exactly once, unless dht_free comes first),
 * -EBUSY when DHT_MAX_LOOKUP are running, -ENETUNREACH when no node is known, -EINVAL for
 * bad arguments. port 0 in dht_announce means implied_port (the UDP source port).
 */
int dht_find_node(struct dht *d, const uint8_t target[DHT_ID_LEN], uint64_t now_ms, dht_done_fn cb,
                  void *ctx);
int dht_get_peers(struct dht *d, const uint8_t ih[DHT_ID_LEN], uint64_t now_ms, dht_done_fn cb,
                  void *ctx);
int dht_announce(struct dht *d, const uint8_t ih[DHT_ID_LEN], uint16_t port, uint64_t now_ms,
                 dht_done_fn cb, void *ctx);
/* Mutable get: the target is SHA1(k ‖ salt); replies are verified against k and salt. */
int dht_get(struct dht *d, const uint8_t k[32], const uint8_t *salt, size_t salt_len,
            uint64_t now_ms, dht_done_fn cb, void *ctx);
/* Immutable get: replies must hash to target. */
int dht_get_immutable(struct dht *d, const uint8_t target[DHT_ID_LEN], uint64_t now_ms,
                      dht_done_fn cb, void *ctx);
/* Store it (signed, or immutable) at the DHT_K closest nodes; cas >= 0 adds BEP 44 cas. */
int dht_put(struct dht *d, const struct dht_item *it, int64_t cas, uint64_t now_ms, dht_done_fn cb,
            void *ctx);

const struct dht_stats *dht_get_stats(const struct dht *d);
/* Nodes in the routing table (good and questionable). */
size_t dht_node_count(const struct dht *d);

/* BEP 44 target of an item: SHA1(k ‖ salt) if mutable, SHA1(v) if immutable. */
void dht_item_target(const struct dht_item *it, uint8_t out[DHT_ID_LEN]);
/* Sign a mutable item with a libsodium Ed25519 secret key (seed ‖ pk); sets k and sig. */
int dht_item_sign(struct dht_item *it, const uint8_t sk[64]);
/* 0 when the BEP 44 signature of the mutable item verifies, -EBADMSG otherwise. */
int dht_item_verify(const struct dht_item *it);
/* Set v to the bencoded string s: 0, or -EMSGSIZE when it would exceed DHT_V_MAX. */
int dht_item_set_string(struct dht_item *it, const void *s, size_t len);

/* The relay network's infohash of a UTC day (days since 1970-01-01), PROTOCOL.md "DHT use":
 * SHA1("wgrelay v1 " ‖ "YYYY-MM-DD"). */
void dht_infohash_day(uint8_t out[DHT_ID_LEN], int64_t unix_day);

#endif
