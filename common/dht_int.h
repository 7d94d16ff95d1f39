/*
 * dht_int.h: what the files of the DHT node share (dht.c queries and plumbing, dht_msg.c the
 * KRPC codec, dht_rt.c the routing table, dht_store.c peers and items, dht_lookup.c our own
 * lookups). Not a public header.
 */
#ifndef WGR_DHT_INT_H
#define WGR_DHT_INT_H

#include "bencode.h"
#include "dht.h"

#define DHT_BUCKETS     160
#define DHT_MAX_TOK     512  /* bencode tokens a datagram may need */
#define DHT_MAX_VALUES  100  /* peers in one get_peers reply (libtorrent's default) */
#define DHT_TOKEN_LEN   8    /* our write tokens */
#define DHT_TOKEN_MAX   32   /* others' write tokens we keep */
#define DHT_TID_LEN     4    /* slot(1) nonce(3) */
#define DHT_TID_MAX     16   /* others' transaction ids we echo */
#define DHT_SLOT_RT     0xff /* transaction slot of routing-table pings */
#define DHT_LK_CANDS    64
#define DHT_MAX_BOOT    8
#define DHT_GOOD_MS     (15 * 60 * 1000) /* BEP 5: good if heard within 15 minutes */
#define DHT_SECRET_MS   (5 * 60 * 1000)  /* BEP 5: token secret rotation */
#define DHT_PEER_TTL_MS (30 * 60 * 1000)
#define DHT_ITEM_TTL_MS (2 * 60 * 60 * 1000) /* BEP 44: items may expire after 2 h */
#define DHT_LOOKUP_MS   (60 * 1000)
#define DHT_BOOT_RETRY  (30 * 1000)
#define DHT_BAD_FAILS   2 /* BEP 5: bad after failing to answer twice in a row */

enum krpc_method {
	KRPC_NONE,
	KRPC_PING,
	KRPC_FIND_NODE,
	KRPC_GET_PEERS,
	KRPC_ANNOUNCE,
	KRPC_GET,
	KRPC_PUT,
	KRPC_UNKNOWN,
};

struct krpc_str {
	const uint8_t *p; /* NULL when absent */
	size_t len;
};

/* One KRPC message, parsed (pointers into the datagram) or to encode. */
struct krpc {
	char y; /* 'q', 'r' or 'e' */
	struct krpc_str t, id, target, info_hash, token, nodes, k, salt, sig, v, emsg;
	enum krpc_method q;
	bool has_port, implied_port, has_seq, has_cas;
	int64_t port, seq, cas, ecode;
	size_t nvalues;
	const uint8_t *values[DHT_MAX_VALUES]; /* compact IPv4 peers, 6 bytes each */
};

/* dht_msg.c */
/* Parse a datagram into m (pointers into p; tok holds its bencode tokens): 0, -EBADMSG when it
 * is not canonical bencoding, -EPROTO when it is no KRPC message we can use (m->t and m->y are
 * set when the sender can still be answered). */
int dht_msg_parse(struct krpc *m, const uint8_t *p, size_t len, struct ben_tok *tok, size_t cap);
/* Encode m: 0, -ENOBUFS when w is too small, -EINVAL for a method we cannot name. */
int dht_msg_encode(struct wbuf *w, const struct krpc *m);
/* BEP 5 "compact IP-address/port info" of an IPv4 address, and back. */
void dht_msg_compact_put(uint8_t out[6], const struct addr *a);
void dht_msg_compact_get(struct addr *a, const uint8_t in[6]);

struct dht_node {
	bool used;
	bool pinging;
	uint8_t fails; /* unanswered queries in a row */
	uint8_t id[DHT_ID_LEN];
	struct addr addr;
	uint64_t seen;    /* last datagram from it */
	uint64_t replied; /* last answer to our query; 0 never */
	uint64_t ping_sent;
};

struct dht_bucket {
	struct dht_node n[DHT_K];
	struct dht_node repl; /* waits for a questionable node to fail its ping */
	uint64_t changed;
};

struct dht_peer {
	uint8_t ih[DHT_ID_LEN];
	uint8_t compact[6];
	uint64_t expires;
};

struct dht_stored {
	uint8_t target[DHT_ID_LEN];
	uint8_t src[4];
	uint64_t expires;
	struct dht_item it;
};

enum dht_cand_state { C_NEW, C_WAIT, C_DONE, C_FAIL, C_STORE, C_STORED };

struct dht_cand {
	bool has_id;
	bool answered; /* answered the search */
	uint8_t st;    /* enum dht_cand_state */
	uint8_t toklen;
	uint8_t id[DHT_ID_LEN];
	struct addr addr;
	uint32_t nonce;
	uint64_t sent;
	uint8_t token[DHT_TOKEN_MAX];
	int64_t seq; /* seq it returned for the target, -1 */
};

struct dht_lookup {
	uint8_t slot;
	uint8_t op; /* enum dht_op */
	bool storing;
	bool have_item;
	uint8_t target[DHT_ID_LEN];
	uint16_t port;
	int64_t cas;
	uint64_t started;
	dht_done_fn cb;
	void *ctx;
	size_t n, responded, stored, npeers;
	struct dht_cand c[DHT_LK_CANDS];
	struct addr peers[DHT_LK_PEERS];
	struct dht_item item; /* put: ours; get: k and salt asked for, then the best found */
};

struct dht {
	uint8_t id[DHT_ID_LEN];
	struct dht_config cfg;
	struct dht_stats st;
	struct dht_bucket b[DHT_BUCKETS];
	struct dht_lookup *lk[DHT_MAX_LOOKUP];
	struct addr boot[DHT_MAX_BOOT];
	size_t nboot;
	uint64_t boot_at;
	uint8_t secret[2][16]; /* token keys: current, previous */
	uint64_t secret_at;
	uint8_t tid_key[16]; /* keys routing-table ping transaction ids */
	uint64_t expire_at;
	struct ratelimit *rl;
	struct dht_peer *peers;
	size_t npeers;
	struct dht_stored **items;
	size_t nitems;
	struct dht_outpkt *out;
	size_t out_head, out_n;
	struct ben_tok tok[DHT_MAX_TOK];
	uint8_t pkt[DHT_MAX_PKT];
};

/* dht.c */
/* Random bytes through the config's source. */
void dht_rand(struct dht *d, void *buf, size_t len);
/* Encode m and queue it for dht_next_output; a failure is counted, never reported. */
void dht_send(struct dht *d, const struct addr *to, const struct krpc *m);
/* A query to `to` with transaction id slot ‖ nonce (3 bytes). */
void dht_send_query(struct dht *d, const struct addr *to, uint8_t slot, uint32_t nonce,
                    struct krpc *m);
/* <0, 0, >0 as a is closer to target than b, as close, farther (XOR metric). */
int dht_xor_cmp(const uint8_t target[DHT_ID_LEN], const uint8_t a[DHT_ID_LEN],
                const uint8_t b[DHT_ID_LEN]);

/* dht_rt.c */
/* A datagram from node id at a: an answer to our query (reply) may enter the table, a query
 * only refreshes a known node or gets the stranger pinged. */
void dht_rt_heard(struct dht *d, const uint8_t id[DHT_ID_LEN], const struct addr *a, bool reply,
                  uint64_t now);
/* The node did not answer one of our queries in time. */
void dht_rt_failed(struct dht *d, const uint8_t id[DHT_ID_LEN], const struct addr *a);
/* An answer to a routing-table ping (transaction slot DHT_SLOT_RT). */
void dht_rt_pong(struct dht *d, const struct krpc *m, const struct addr *from, uint64_t now);
/* Up to max nodes that are not bad, closest to target first, into out; their number. */
size_t dht_rt_closest(struct dht *d, const uint8_t target[DHT_ID_LEN], struct dht_node **out,
                      size_t max);
/* Ping timeouts, replacements and the 15-minute bucket refresh. */
void dht_rt_tick(struct dht *d, uint64_t now);
/* Nodes in the table. */
size_t dht_rt_count(const struct dht *d);

/* dht_store.c */
/* Store (or refresh) a peer under ih: 0, -EDQUOT past the source's cap, -ENOSPC when the
 * infohash or the store is full. */
int dht_store_add_peer(struct dht *d, const uint8_t ih[DHT_ID_LEN], const struct addr *peer,
                       uint64_t now);
/* Up to max peers of ih, from a random starting point; their number. */
size_t dht_store_get_peers(struct dht *d, const uint8_t ih[DHT_ID_LEN], uint8_t (*out)[6],
                           size_t max);
/* The stored item of target, or NULL. */
struct dht_stored *dht_store_find(struct dht *d, const uint8_t target[DHT_ID_LEN]);
/* Store or replace by the BEP 44 rules: 0 or the KRPC error code to answer with. */
int dht_store_put(struct dht *d, const struct dht_item *it, int64_t cas, const struct addr *src,
                  uint64_t now);
/* Drop peers and items past their lifetime. */
void dht_store_expire(struct dht *d, uint64_t now);

/* dht_lookup.c */
/* A lookup of target seeded from the table (and the bootstrap addresses when it is thin): 0,
 * -EBUSY, -ENOMEM, -ENETUNREACH. The caller sets cb and op-specific fields, then steps it. */
int dht_lookup_start(struct dht *d, enum dht_op op, const uint8_t target[DHT_ID_LEN],
                     struct dht_lookup **out, uint64_t now);
/* An answer (or error) carrying l's transaction slot. */
void dht_lookup_response(struct dht *d, struct dht_lookup *l, const struct krpc *m,
                         const struct addr *from, uint64_t now);
/* Query timeouts and the overall lookup deadline of every lookup. */
void dht_lookup_tick(struct dht *d, uint64_t now);
/* Send what the lookup may send now; finish it (callback, free) when nothing is left. */
void dht_lookup_step(struct dht *d, struct dht_lookup *l, uint64_t now);

#endif
