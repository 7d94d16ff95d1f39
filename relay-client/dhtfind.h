/*
 * dhtfind.h: the helper finds relays in the Mainline DHT (PROTOCOL.md §11) when it knows none,
 * or too few. A DHT node (common/dht.h) on a UDP socket of its own, in the helper's loop,
 * joins through the DHT nodes configured ([Relay] DhtBootstrap lines, add-dht-bootstrap),
 * asks get_peers for the day's infohash, and sends one DESC_REQ (§10.1) to each address found,
 * from a second socket. The DHT is trusted for nothing: a DESC_RESP counts only from the very
 * address asked, soon after, once; its descriptor is judged as one from a relay
 * (discover_judge, with no proven key) and stored with source "dht". Off unless
 * [Relay] Dht = on.
 */
#ifndef WGR_DHTFIND_H
#define WGR_DHTFIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "discover.h"

struct cache;
struct conf;
struct ev_loop;

#define DHTFIND_MAX_BOOT     8                /* bootstrap nodes used, lines first */
#define DHTFIND_ASK_RUN      64               /* DESC_REQ (§10.1) a run at most */
#define DHTFIND_ASK_AGAIN_MS (60 * 60 * 1000) /* an address asked once an hour at most */
#define DHTFIND_RESP_MS      5000             /* a DESC_RESP later than this is not one */
#define DHTFIND_ASKED        256              /* addresses remembered as asked */
#define DHTFIND_RUN_MS       30000            /* a run ends after this at the latest */
#define DHTFIND_BOOT_MS      10000            /* no DHT node answered by then: the run ends */
#define DHTFIND_EVERY_MS     (30 * 60 * 1000) /* `watch` looks this often */
#define DHTFIND_FEW          2                /* fewer current relays: `watch` looks at start */
#define DHTFIND_EP_LEN       64

/* [Relay] Dht and DhtBootstrap of the helper's config file. */
struct dhtfind_config {
	bool on;
	size_t n_boot;
	char boot[DHTFIND_MAX_BOOT][DHTFIND_EP_LEN]; /* HOST:PORT or IPv4:PORT, as written */
};

/*
 * Read [Relay] Dht = on|off (default off) and DhtBootstrap = HOST:PORT lines (repeatable; past
 * DHTFIND_MAX_BOOT ignored) from conf (NULL: none). 0, or -EINVAL with err "FILE:LINE: ...".
 */
int dhtfind_config_read(const struct conf *conf, struct dhtfind_config *out, char *err,
                        size_t errlen);

/*
 * A DHT bootstrap node as written: HOST:PORT or IPv4:PORT, the port required (1..65535);
 * never unspecified, multicast or broadcast; loopback only when allow_loopback. 0 and canon
 * (NULL: not wanted) its stored form, or -EINVAL with *why.
 */
int dhtfind_endpoint_check(const char *s, bool allow_loopback, char canon[DHTFIND_EP_LEN],
                           const char **why);

/*
 * The UTC days whose infohash a lookup at unix_s asks for: today, and yesterday in the first
 * hour of the day (§11.1). Their count (1 or 2); days[0] is today.
 */
size_t dhtfind_days(int64_t unix_s, int64_t days[2]);

/*
 * Whether a datagram may go to to: never to the unspecified, multicast, broadcast, link-local
 * or reserved addresses an address planted in the DHT could name; to loopback or private ones
 * only when a bootstrap node is of that kind or narrower (boot: their addr_classify bits ORed).
 */
bool dhtfind_dest_ok(const struct addr *to, unsigned boot);

/* The addresses asked: the DESC_REQ bounds and the matching of answers. Pure. */
struct dhtfind_asked {
	struct dhtfind_ask {
		struct addr a;
		uint64_t at_ms; /* 0: free */
		bool pending;   /* its answer may still come */
	} q[DHTFIND_ASKED];
	size_t next;  /* the slot the next ask takes (the oldest) */
	unsigned run; /* asks in the current run */
};
/* A new run: DHTFIND_ASK_RUN asks again. */
void dhtfind_asked_run(struct dhtfind_asked *t);
/*
 * May a go out now? 0 (and a is recorded as asked, awaiting its answer), -EALREADY when it was
 * asked within DHTFIND_ASK_AGAIN_MS, -EDQUOT when the run has asked DHTFIND_ASK_RUN.
 */
int dhtfind_asked_take(struct dhtfind_asked *t, const struct addr *a, uint64_t now_ms);
/*
 * A DESC_RESP from from at now: true when it answers an ask to that very address (IP and port)
 * made within DHTFIND_RESP_MS that had no answer yet; the ask is then answered.
 */
bool dhtfind_asked_answer(struct dhtfind_asked *t, const struct addr *from, uint64_t now_ms);
/* Asks still awaiting their answer at now. */
size_t dhtfind_asked_pending(const struct dhtfind_asked *t, uint64_t now_ms);

/* When `watch` looks: at start with fewer than DHTFIND_FEW current relays, then every 30 min. */
struct dhtfind_sched {
	bool started;
	uint64_t next_ms;
};
/* Is a run due at now, the helper knowing current relays with a current descriptor? */
bool dhtfind_sched_due(struct dhtfind_sched *s, size_t current, uint64_t now_ms);
/* A run started at now: the next is DHTFIND_EVERY_MS later. */
void dhtfind_sched_ran(struct dhtfind_sched *s, uint64_t now_ms);

/* What one run did. */
struct dhtfind_stats {
	unsigned nodes;     /* DHT nodes known when the lookups started (0: none answered) */
	unsigned addresses; /* addresses get_peers returned */
	unsigned asked;     /* DESC_REQ sent */
	unsigned limited;   /* addresses not asked: the run's bound, or asked within the hour */
	unsigned answered;  /* DESC_RESP taken as answers */
	unsigned ignored;   /* DESC_RESP and other datagrams from an address not asked, or late */
	/* The DHT node's datagrams this run: what tells "nothing came back" from "nothing went
	 * out" when no node answered. */
	unsigned dht_sent;     /* handed out by the node */
	unsigned dht_unsent;   /* of those: refused (dhtfind_dest_ok) or failed in sendto */
	unsigned dht_received; /* datagrams the node was given */
	struct discover_stats stats;
};
/* "2 DHT node(s), 4 address(es), 4 asked, 4 answered: 3 new, ..." into buf; when no node
 * answered, "no DHT node answered (4 datagram(s) out, 0 of them not sent, 0 in): ...". */
const char *dhtfind_summary(const struct dhtfind_stats *s, char *buf, size_t len);

struct dhtfind;
/* Called when a run ends (from the loop), with what it did. */
typedef void (*dhtfind_done_fn)(void *arg, const struct dhtfind_stats *st);

/*
 * A DHT client in loop for cache c with configuration cfg (copied), its sockets carrying
 * fwmark (0: none). No run yet. 0 and *out, or -errno.
 */
int dhtfind_new(struct dhtfind **out, struct ev_loop *loop, struct cache *c,
                const struct dhtfind_config *cfg, uint32_t fwmark, dhtfind_done_fn done, void *arg);
/* Close the sockets, leave the loop; a run under way ends without its callback. NULL no-op. */
void dhtfind_free(struct dhtfind *f);
/* Start a run: 0, or -EBUSY while one (or a lookup of the last one) is under way. */
int dhtfind_start(struct dhtfind *f);
bool dhtfind_busy(const struct dhtfind *f);

/* One run in a loop of its own, for `list-relays --refresh`: returns when it ends. 0 or -errno. */
int dhtfind_once(struct cache *c, const struct dhtfind_config *cfg, uint32_t fwmark,
                 struct dhtfind_stats *out);

#endif
