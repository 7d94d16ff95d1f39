/*
 * netdht.c: wgrelayd's Mainline DHT node (PROTOCOL.md §11). The node itself is common/dht.h,
 * sans-I/O; this file gives it a UDP socket and a timer on the relay's loop, announces the
 * relay's control port under the day's infohash, puts its descriptor as a BEP 44 item, and
 * looks the other relays up. Nothing the DHT says is trusted: an address from get_peers is
 * only where a DESC_REQ goes (once an hour an address at most, 64 a lookup, about one a second
 * in all), and the descriptor that answers is checked and offered to the store as one fetched
 * for a Peer line is. The node id is random at every start.
 */
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "promtext.h"
#include "dht.h"
#include "dhtio.h"
#include "key.h"
#include "network.h"

#define NETDHT_TICK_MS 250 /* dht_tick wants 100 ms to 1 s */
/* Re-announce: DHT nodes keep a peer 30 minutes (§11.1). */
#define NETDHT_ANNOUNCE_MS (15 * 60 * 1000)
/* Put again: nodes may drop an item after 2 hours (§11.2). */
#define NETDHT_PUT_MS (60 * 60 * 1000)
/* get_peers while the plan holds MinLinks candidates or more. */
#define NETDHT_LOOKUP_MS (10 * 60 * 1000)
/* With fewer: from 5 s, doubling while a round turns up no new address, up to 5 minutes. */
#define NETDHT_FEW_MIN_MS 5000
#define NETDHT_FEW_MAX_MS (5 * 60 * 1000)
/* An announce or put that reached no node: again from 5 s, doubling, up to 5 minutes. */
#define NETDHT_RETRY_MIN_MS 5000
#define NETDHT_RETRY_MAX_MS (5 * 60 * 1000)
/*
 * The first announce and put that reached a node go out once more this soon: they were made
 * from a routing table still filling, so they may have missed some of the K closest nodes.
 */
#define NETDHT_SETTLE_MS 60000
/* DESC_REQ to DHT addresses: at most this many for one lookup round, refilled one a second. */
#define NETDHT_ASK_BURST 64
#define NETDHT_ASK_RATE  1
/* Addresses asked are remembered (and not asked again for an hour): this many. */
#define NETDHT_ASKED        1024
#define NETDHT_ASK_AGAIN_MS (60 * 60 * 1000)
/* A DESC_RESP this long after its DESC_REQ is not taken as its answer. */
#define NETDHT_RESP_MS 10000
#define NETDHT_DAY_S   86400
#define NETDHT_EDGE_S  3600                 /* the first and last hour of a UTC day (§11.1) */
#define NETDHT_SALT    "wgrelay-descriptor" /* §11.2 */

struct netdht_ask {
	struct addr a;
	uint64_t at_ms; /* 0: free */
	bool pending;   /* no DESC_RESP yet */
};

/* What the relay side did; the node's own counters are struct dht_stats. */
struct netdht_stats {
	uint64_t announces_ok, announces_failed; /* announce_peer rounds */
	uint64_t puts_ok, puts_failed;           /* BEP 44 puts of the own descriptor */
	uint64_t rounds;                         /* get_peers rounds (today, and yesterday) */
	uint64_t addresses;                      /* addresses the rounds returned */
	uint64_t stored;                         /* of them, the control port of one stored */
	uint64_t asked, ask_limited;             /* DESC_REQ sent; skipped by the bound */
	uint64_t answered;                       /* DESC_RESP that verified */
	uint64_t found;                          /* relays new to the store through the DHT */
	uint64_t send_policy, send_failed;       /* datagrams the policy or sendto refused */
};

struct netdht {
	struct network *n;
	struct dht *d;
	int fd;
	struct addr bind;
	uint16_t port; /* announced: the descriptor's control port */
	struct ev_timer timer;
	/* schedule (monotonic ms) and lookups in flight */
	uint64_t next_announce_ms, next_put_ms, next_round_ms;
	uint64_t announce_retry_ms, put_retry_ms;
	unsigned round_misses;
	int announces_pending, rounds_pending;
	bool announce_ok, announce_settled, put_pending, put_settled;
	bool alone;       /* a lookup found no node to ask: all is due once one turns up */
	uint64_t put_seq; /* the seq of the descriptor last put */
	size_t round_asked;
	struct tbucket ask_tb;
	struct netdht_ask asked[NETDHT_ASKED];
	size_t ask_next;
	uint8_t hash_key[16]; /* dstore_mark_endpoints' table of a round's addresses */
	struct netdht_stats st;
};

/* dhtio_dest_fn: the DHT hands out addresses anyone can plant, so the relay's policy applies. */
static bool netdht_dest_ok(const struct addr *to, void *arg)
{
	const struct netdht *h = arg;

	return !policy_forbids(&h->n->r->cfg.policy, to);
}

static void netdht_flush(struct netdht *h)
{
	dhtio_flush(h->d, h->fd, netdht_dest_ok, h, &h->st.send_policy, &h->st.send_failed);
}

static void netdht_input(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct netdht *h = arg;

	(void)events;
	dhtio_input(h->d, fd, ev_now_ms(loop));
	netdht_flush(h);
}

/* Was a asked within the hour? With pending, only an ask still waiting for its answer. */
static struct netdht_ask *netdht_asked(struct netdht *h, const struct addr *a, bool pending,
                                       uint64_t now)
{
	for (size_t i = 0; i < NETDHT_ASKED; i++) {
		struct netdht_ask *q = &h->asked[i];

		if (!q->at_ms || !addr_equal(&q->a, a))
			continue;
		if (pending ? q->pending && now - q->at_ms < NETDHT_RESP_MS
		            : now - q->at_ms < NETDHT_ASK_AGAIN_MS)
			return q;
	}
	return NULL;
}

/* The plan's candidates whose address a round returned: those need no DESC_REQ. */
struct netdht_known {
	const struct addr *peers;
	bool *known;
	size_t n;
};

static void netdht_known_one(const struct linkplan_info *info, void *ctx)
{
	struct netdht_known *k = ctx;

	for (size_t i = 0; i < k->n; i++)
		if (!k->known[i] && addr_equal(&info->addr, &k->peers[i]))
			k->known[i] = true;
}

/* Is a the relay itself, a Peer line's relay or one it has a link with? */
static bool netdht_ours(const struct network *n, const struct addr *a)
{
	const struct relayd_config *c = &n->r->cfg;

	for (int i = 0; i < n->d.n_endpoints; i++)
		if (addr_equal(&n->d.endpoints[i].addr, a))
			return true;
	for (int i = 0; i < c->n_listen; i++)
		if (addr_equal(&c->listen[i], a))
			return true;
	for (int i = 0; i < n->n_cfg; i++)
		if (addr_equal(&n->cfg[i].c.addr, a))
			return true;
	for (int i = 0; i < n->n_peers; i++)
		if (addr_equal(&n->peers[i]->addr, a))
			return true;
	return false;
}

/* A get_peers round's addresses: DESC_REQ to each one not known, within the bounds. */
static void netdht_ask(struct netdht *h, const struct addr *peers, size_t np)
{
	struct network *n = h->n;
	uint64_t now = ev_now_ms(n->r->loop);
	uint8_t req[PROTO_DESC_REQ_LEN];
	bool known[DHT_LK_PEERS] = {false};
	struct netdht_known k = {.peers = peers, .known = known, .n = np};

	if (np > DHT_LK_PEERS)
		np = k.n = DHT_LK_PEERS;
	h->st.addresses += np;
	linkplan_foreach(n->plan, now, netdht_known_one, &k);
	/* The control port of a descriptor held: asking it would bring a duplicate that goes
	 * nowhere, for a 1 KB DESC_REQ (up to 64 every 10 minutes for a relay that knows the
	 * network, whose store holds far more relays than its plan). */
	h->st.stored += dstore_mark_endpoints(gossip_store(n->g), peers, np, known, h->hash_key,
	                                      net_unix_ms() / 1000);
	frame_encode_desc_req(req);
	for (size_t i = 0; i < np; i++) {
		struct netdht_ask *q;
		int fd;

		if (known[i] || netdht_ours(n, &peers[i]) || netdht_asked(h, &peers[i], false, now))
			continue;
		if (h->round_asked >= NETDHT_ASK_BURST || !tbucket_take(&h->ask_tb, 1, now)) {
			h->st.ask_limited++;
			continue;
		}
		if ((fd = control_fd_for(n->r, &peers[i])) < 0)
			continue;
		q = &h->asked[h->ask_next];
		h->ask_next = (h->ask_next + 1) % NETDHT_ASKED;
		*q = (struct netdht_ask){.a = peers[i], .at_ms = now, .pending = true};
		control_sendto(n->r, fd, req, sizeof(req), &peers[i]);
		h->round_asked++;
		h->st.asked++;
	}
}

static uint64_t netdht_backoff(uint64_t *cur, uint64_t min, uint64_t max)
{
	uint64_t v = *cur ? *cur : min;

	*cur = v * 2 > max ? max : v * 2;
	return v;
}

/* Lookups end here (from dht_input or dht_tick). Nothing new is started from inside. */
static void netdht_done(void *ctx, const struct dht_result *res)
{
	struct netdht *h = ctx;
	uint64_t now = ev_now_ms(h->n->r->loop);

	switch (res->op) {
	case DHT_OP_ANNOUNCE:
		h->announce_ok |= res->status == 0 && res->stored > 0;
		if (--h->announces_pending > 0)
			break;
		if (h->announce_ok) {
			h->st.announces_ok++;
			h->announce_retry_ms = 0;
			h->next_announce_ms =
			    now + (h->announce_settled ? NETDHT_ANNOUNCE_MS : NETDHT_SETTLE_MS);
			h->announce_settled = true;
		} else {
			h->st.announces_failed++;
			h->next_announce_ms =
			    now + netdht_backoff(&h->announce_retry_ms, NETDHT_RETRY_MIN_MS,
			                         NETDHT_RETRY_MAX_MS);
		}
		break;
	case DHT_OP_PUT:
		h->put_pending = false;
		if (res->status == 0 && res->stored > 0) {
			h->st.puts_ok++;
			h->put_retry_ms = 0;
			h->next_put_ms = now + (h->put_settled ? NETDHT_PUT_MS : NETDHT_SETTLE_MS);
			h->put_settled = true;
		} else {
			h->st.puts_failed++;
			h->next_put_ms = now + netdht_backoff(&h->put_retry_ms, NETDHT_RETRY_MIN_MS,
			                                      NETDHT_RETRY_MAX_MS);
		}
		/* Republished while the put was under way: the newer one goes out at once. */
		if (h->put_seq != h->n->d.seq)
			h->next_put_ms = now;
		break;
	case DHT_OP_GET_PEERS:
		if (res->status == 0)
			netdht_ask(h, res->peers, res->npeers);
		if (--h->rounds_pending == 0)
			h->st.rounds++;
		break;
	default:
		break;
	}
}

/* The port other relays reach the control socket at: the descriptor's (IPv4 first). */
static uint16_t netdht_port(const struct network *n)
{
	for (int i = 0; i < n->d.n_endpoints; i++)
		if (addr_family(&n->d.endpoints[i].addr) == AF_INET)
			return addr_port(&n->d.endpoints[i].addr);
	return addr_port(&n->d.endpoints[0].addr);
}

static int64_t netdht_today(void)
{
	return (int64_t)(net_unix_ms() / 1000 / NETDHT_DAY_S);
}

static bool netdht_day_edge(bool last)
{
	uint64_t s = net_unix_ms() / 1000 % NETDHT_DAY_S;

	return last ? s >= NETDHT_DAY_S - NETDHT_EDGE_S : s < NETDHT_EDGE_S;
}

/* announce_peer under today's infohash, and tomorrow's in the last hour of the UTC day. */
static void netdht_announce(struct netdht *h, uint64_t now)
{
	int64_t day = netdht_today();
	uint8_t ih[DHT_ID_LEN];
	int e = 0;

	h->announce_ok = false;
	for (int i = 0; i < (netdht_day_edge(true) ? 2 : 1); i++) {
		dht_infohash_day(ih, day + i);
		if ((e = dht_announce(h->d, ih, h->port, now, netdht_done, h)) == 0)
			h->announces_pending++;
	}
	if (!h->announces_pending) {
		/* No node known yet (or all lookups busy): try again soon, without counting. */
		h->next_announce_ms =
		    now +
		    netdht_backoff(&h->announce_retry_ms, NETDHT_RETRY_MIN_MS, NETDHT_RETRY_MAX_MS);
		h->alone |= e == -ENETUNREACH;
		log_debug("dht: announce not started: %s", strerror(-e));
	}
}

/* The own descriptor as a BEP 44 mutable item: k = identity, salt, seq = descriptor seq. */
static void netdht_put(struct netdht *h, uint64_t now)
{
	struct network *n = h->n;
	struct dht_item it = {.salt_len = sizeof(NETDHT_SALT) - 1};
	int e;

	if (n->d.seq > INT64_MAX) {
		/* §11.2: a BEP 44 seq is signed. Seqs are Unix seconds: never in practice. */
		h->next_put_ms = UINT64_MAX;
		log_warnx("dht: descriptor seq %llu is not a BEP 44 seq; not put",
		          (unsigned long long)n->d.seq);
		return;
	}
	memcpy(it.salt, NETDHT_SALT, it.salt_len);
	it.seq = (int64_t)n->d.seq;
	if ((e = dht_item_set_string(&it, n->desc, n->desc_len)) < 0 ||
	    (e = dht_item_sign(&it, n->id.sk)) < 0 ||
	    (e = dht_put(h->d, &it, DHT_NO_CAS, now, netdht_done, h)) < 0) {
		h->next_put_ms = now + netdht_backoff(&h->put_retry_ms, NETDHT_RETRY_MIN_MS,
		                                      NETDHT_RETRY_MAX_MS);
		h->alone |= e == -ENETUNREACH;
		log_debug("dht: put not started: %s", strerror(-e));
		return;
	}
	h->put_pending = true;
	h->put_seq = n->d.seq;
}

/* get_peers today's infohash, and yesterday's in the first hour of the UTC day (§11.1). */
static void netdht_round(struct netdht *h, uint64_t now)
{
	struct network *n = h->n;
	int64_t day = netdht_today();
	uint8_t ih[DHT_ID_LEN];
	bool few = linkplan_count(n->plan) < n->r->cfg.net.min_links;
	uint64_t every;
	int e;

	/* The last round turned up nothing to ask: back off while the relay still knows few. */
	if (h->round_asked == 0 && h->st.rounds > 0)
		h->round_misses += h->round_misses < 16;
	else
		h->round_misses = 0;
	h->round_asked = 0;
	for (int i = 0; i < (netdht_day_edge(false) ? 2 : 1); i++) {
		dht_infohash_day(ih, day - i);
		if ((e = dht_get_peers(h->d, ih, now, netdht_done, h)) == 0)
			h->rounds_pending++;
		h->alone |= e == -ENETUNREACH;
	}
	every = NETDHT_FEW_MIN_MS << (h->round_misses < 8 ? h->round_misses : 8);
	h->next_round_ms = now + (few ? (every > NETDHT_FEW_MAX_MS ? NETDHT_FEW_MAX_MS : every)
	                              : NETDHT_LOOKUP_MS);
}

static void netdht_tick(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct netdht *h = arg;
	struct network *n = h->n;
	uint64_t now = ev_now_ms(loop);

	dht_tick(h->d, now);
	/* A node with no bootstrap node learns of others when they contact it: then at once. */
	if (h->alone && dht_node_count(h->d) > 0) {
		h->alone = false;
		h->next_announce_ms = h->next_put_ms = h->next_round_ms = now;
	}
	if (n->r->cfg.net.dht_announce) {
		if (!h->announces_pending && now >= h->next_announce_ms)
			netdht_announce(h, now);
		if (!h->put_pending && now >= h->next_put_ms)
			netdht_put(h, now);
	}
	/* A relay with few candidates looks sooner than its schedule says. */
	if (!h->rounds_pending &&
	    (now >= h->next_round_ms || (linkplan_count(n->plan) < n->r->cfg.net.min_links &&
	                                 h->next_round_ms - now > NETDHT_FEW_MAX_MS)))
		netdht_round(h, now);
	netdht_flush(h);
	ev_timer_start(loop, t, NETDHT_TICK_MS);
}

/* DhtBootstrap HOST:PORT lines into IPv4 addresses (names resolved now, once). */
static size_t netdht_resolve(const struct net_config *c, struct addr *out, size_t cap)
{
	size_t k = 0;

	for (int i = 0; i < c->n_dht_boot && k < cap; i++) {
		struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_DGRAM}, *ai, *p;
		char host[CONFIG_DHT_HOST], *colon;
		int e;

		snprintf(host, sizeof(host), "%s", c->dht_boot[i]);
		colon = strrchr(host, ':');
		if (!colon)
			continue;
		*colon = '\0';
		hints.ai_flags = AI_NUMERICSERV;
		if ((e = getaddrinfo(host, colon + 1, &hints, &ai)) != 0) {
			log_warnx("dht: DhtBootstrap %s: %s", c->dht_boot[i], gai_strerror(e));
			continue;
		}
		for (p = ai; p && k < cap; p = p->ai_next)
			addr_from_sockaddr(&out[k++], p->ai_addr, p->ai_addrlen);
		freeaddrinfo(ai);
	}
	return k;
}

static const char *netdht_listen_err(int e)
{
	return e == -EADDRNOTAVAIL ? "no IPv4 Listen address to put the DHT beside (set DhtListen)"
	       : e == -ERANGE      ? "the Listen port is 65535: no port + 1 (set DhtListen)"
	                           : "it is a control address (set DhtListen to another port)";
}

int netdht_open(struct network *n)
{
	const struct relayd_config *c = &n->r->cfg;
	struct addr boot[DHT_K];
	uint8_t id[DHT_ID_LEN];
	struct netdht *h;
	char a[ADDR_STRLEN];
	uint64_t now = ev_now_ms(n->r->loop);
	size_t nboot;
	int e;

	if (!c->net.dht)
		return 0;
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->n = n;
	if ((e = config_dht_listen(c, &h->bind)) < 0) {
		log_warnx("dht: DhtListen: %s", netdht_listen_err(e));
		free(h);
		return -EINVAL;
	}
	/* Random at every start: nothing ties the node to the relay's identity across restarts. */
	randombytes_buf(id, sizeof(id));
	if ((h->fd = dhtio_socket(&h->bind, 0)) < 0) {
		log_warn("dht: cannot bind %s; the DHT stays off",
		         addr_format(&h->bind, a, sizeof(a)));
		goto off;
	}
	if (!(h->d = dht_new(id, NULL)) ||
	    ev_add_io(n->r->loop, h->fd, EV_READ, netdht_input, h) < 0) {
		log_warnx("dht: out of memory; the DHT stays off");
		goto off;
	}
	h->port = netdht_port(n);
	randombytes_buf(h->hash_key, sizeof(h->hash_key));
	tbucket_init(&h->ask_tb, NETDHT_ASK_RATE, NETDHT_ASK_BURST, now);
	h->next_announce_ms = h->next_put_ms = h->next_round_ms = now;
	n->dht = h;
	dht_tick(h->d, now);
	nboot = netdht_resolve(&c->net, boot, DHT_K);
	if (nboot)
		dht_bootstrap(h->d, boot, nboot, now);
	else
		/* Said once: such a node is a bootstrap node for others, or stays alone. */
		log_info(
		    "dht: no DhtBootstrap node%s: the node joins no DHT by itself and waits to "
		    "be contacted",
		    c->net.n_dht_boot ? " could be resolved" : "");
	log_info("dht: on %s, %zu bootstrap node(s), %s port %u",
	         addr_format(&h->bind, a, sizeof(a)), nboot,
	         c->net.dht_announce ? "announcing control" : "not announcing; control", h->port);
	ev_timer_init(&h->timer, netdht_tick, h);
	ev_timer_start(n->r->loop, &h->timer, 0);
	return 0;
off:
	dht_free(h->d);
	if (h->fd >= 0)
		close(h->fd);
	free(h);
	return 0;
}

void netdht_close(struct network *n)
{
	struct netdht *h = n->dht;

	if (!h)
		return;
	ev_timer_stop(n->r->loop, &h->timer);
	ev_del_io(n->r->loop, h->fd);
	close(h->fd);
	dht_free(h->d);
	n->dht = NULL;
	free(h);
}

void netdht_published(struct network *n)
{
	if (n->dht)
		n->dht->next_put_ms = ev_now_ms(n->r->loop);
}

bool netdht_desc_resp(struct network *n, const uint8_t *p, size_t len, const struct addr *src)
{
	struct netdht *h = n->dht;
	struct netdht_ask *q;
	struct dstore_desc *dd;
	const uint8_t *dp;
	size_t dl;
	bool had;

	if (!h || !(q = netdht_asked(h, src, true, ev_now_ms(n->r->loop))))
		return false;
	q->pending = false; /* one answer an ask: a second one is unsolicited */
	if (frame_decode_desc_resp(p, len, &dp, &dl) < 0) {
		n->st.refused[NET_REF_MALFORMED]++;
		return true;
	}
	/* Checked as any descriptor; the DHT gave no key to hold it to. */
	if (net_desc_check(n, dp, dl, NULL, &dd) != 0)
		return true;
	h->st.answered++;
	if (sodium_memcmp(dd->d.identity, n->id.pk, 32) != 0) {
		had = dstore_get(gossip_store(n->g), dd->d.identity) != NULL;
		net_offer(n, NULL, dp, dl);
		if (!had && dstore_get(gossip_store(n->g), dd->d.identity)) {
			char id64[KEY_B64_STRLEN], a[ADDR_STRLEN];

			h->st.found++;
			key_to_base64(id64, dd->d.identity);
			log_debug("dht: relay %s found at %s", id64,
			          addr_format(src, a, sizeof(a)));
		}
		net_plan(n);
	}
	dstore_desc_unref(dd);
	return true;
}

size_t netdht_metrics(const struct network *net, char *out, size_t cap)
{
	const struct netdht *h = net->dht;
	const struct dht_stats *s;
	size_t n = 0;

#define HEAD(name, type, help)    PUT("# HELP " name " " help "\n# TYPE " name " " type "\n")
#define LINE(name, labels, value) PUT(name "{" labels "} %llu\n", (unsigned long long)(value))
	SCALAR("wgrelayd_dht_enabled", "gauge", "1 when the DHT node runs ([Network] Dht).",
	       h != NULL);
	if (!h)
		return n;
	s = dht_get_stats(h->d);
	HEAD("wgrelayd_dht_datagrams_total", "counter", "DHT datagrams, by direction.");
	LINE("wgrelayd_dht_datagrams_total", "direction=\"in\"", s->rx);
	LINE("wgrelayd_dht_datagrams_total", "direction=\"out\"", s->tx);
	HEAD("wgrelayd_dht_queries_total", "counter", "DHT queries received, by method.");
	LINE("wgrelayd_dht_queries_total", "method=\"ping\"", s->q_ping);
	LINE("wgrelayd_dht_queries_total", "method=\"find_node\"", s->q_find_node);
	LINE("wgrelayd_dht_queries_total", "method=\"get_peers\"", s->q_get_peers);
	LINE("wgrelayd_dht_queries_total", "method=\"announce_peer\"", s->q_announce);
	LINE("wgrelayd_dht_queries_total", "method=\"get\"", s->q_get);
	LINE("wgrelayd_dht_queries_total", "method=\"put\"", s->q_put);
	LINE("wgrelayd_dht_queries_total", "method=\"unknown\"", s->q_unknown);
	HEAD("wgrelayd_dht_dropped_total", "counter",
	     "DHT datagrams dropped unanswered or unsent, by reason.");
	LINE("wgrelayd_dht_dropped_total", "reason=\"size\"", s->drop_size);
	LINE("wgrelayd_dht_dropped_total", "reason=\"family\"", s->drop_family);
	LINE("wgrelayd_dht_dropped_total", "reason=\"bencode\"", s->drop_decode);
	LINE("wgrelayd_dht_dropped_total", "reason=\"krpc\"", s->drop_krpc);
	LINE("wgrelayd_dht_dropped_total", "reason=\"rate-limited\"", s->drop_ratelimit);
	LINE("wgrelayd_dht_dropped_total", "reason=\"unmatched\"", s->drop_unmatched);
	LINE("wgrelayd_dht_dropped_total", "reason=\"queue-full\"", s->drop_queue_full);
	LINE("wgrelayd_dht_dropped_total", "reason=\"policy\"", h->st.send_policy);
	LINE("wgrelayd_dht_dropped_total", "reason=\"send-failed\"", h->st.send_failed);
	HEAD("wgrelayd_dht_refused_total", "counter",
	     "DHT requests refused with an error, by reason.");
	LINE("wgrelayd_dht_refused_total", "reason=\"bad-arguments\"", s->refuse_args);
	LINE("wgrelayd_dht_refused_total", "reason=\"bad-token\"", s->refuse_token);
	LINE("wgrelayd_dht_refused_total", "reason=\"v-too-big\"", s->refuse_v_size);
	LINE("wgrelayd_dht_refused_total", "reason=\"salt-too-big\"", s->refuse_salt_size);
	LINE("wgrelayd_dht_refused_total", "reason=\"bad-signature\"", s->refuse_sig);
	LINE("wgrelayd_dht_refused_total", "reason=\"cas-mismatch\"", s->refuse_cas);
	LINE("wgrelayd_dht_refused_total", "reason=\"seq-too-low\"", s->refuse_seq);
	LINE("wgrelayd_dht_refused_total", "reason=\"store-full\"", s->refuse_full);
	LINE("wgrelayd_dht_refused_total", "reason=\"source-cap\"", s->refuse_source_cap);
	LINE("wgrelayd_dht_refused_total", "reason=\"infohash-full\"", s->refuse_hash_full);
	SCALAR("wgrelayd_dht_query_timeouts_total", "counter", "Our DHT queries left unanswered.",
	       s->timeouts);
	SCALAR("wgrelayd_dht_lookups_total", "counter",
	       "DHT lookups started (find_node, get_peers, announce, get, put).", s->lookups);
	SCALAR("wgrelayd_dht_lookups_failed_total", "counter", "DHT lookups no node answered.",
	       s->lookups_failed);
	SCALAR("wgrelayd_dht_nodes", "gauge", "Nodes in the DHT routing table.",
	       dht_node_count(h->d));
	SCALAR("wgrelayd_dht_items", "gauge", "BEP 44 items stored for others.", s->items);
	SCALAR("wgrelayd_dht_peers", "gauge", "Announced peers stored for others.", s->peers);
	HEAD("wgrelayd_dht_announces_total", "counter",
	     "Announce rounds of the relay's control port, by result.");
	LINE("wgrelayd_dht_announces_total", "result=\"ok\"", h->st.announces_ok);
	LINE("wgrelayd_dht_announces_total", "result=\"failed\"", h->st.announces_failed);
	HEAD("wgrelayd_dht_puts_total", "counter",
	     "BEP 44 puts of the relay's descriptor, by result.");
	LINE("wgrelayd_dht_puts_total", "result=\"ok\"", h->st.puts_ok);
	LINE("wgrelayd_dht_puts_total", "result=\"failed\"", h->st.puts_failed);
	SCALAR("wgrelayd_dht_peer_lookups_total", "counter",
	       "get_peers rounds for the day's infohash (and yesterday's).", h->st.rounds);
	SCALAR("wgrelayd_dht_addresses_total", "counter",
	       "Addresses the get_peers rounds returned.", h->st.addresses);
	SCALAR("wgrelayd_dht_addresses_stored_total", "counter",
	       "Of them, not asked: the control port of a descriptor the store holds.",
	       h->st.stored);
	SCALAR("wgrelayd_dht_desc_requests_total", "counter",
	       "DESC_REQ sent to addresses from the DHT.", h->st.asked);
	SCALAR("wgrelayd_dht_desc_requests_limited_total", "counter",
	       "Addresses from the DHT not asked because of the DESC_REQ bound.",
	       h->st.ask_limited);
	SCALAR("wgrelayd_dht_desc_responses_total", "counter",
	       "Descriptors from DHT addresses that verified.", h->st.answered);
	SCALAR("wgrelayd_dht_relays_found_total", "counter",
	       "Relays that entered the store through the DHT.", h->st.found);
#undef LINE
#undef HEAD
	return n;
}
