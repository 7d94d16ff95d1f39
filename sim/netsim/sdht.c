/*
 * sdht.c: a relay's DHT look-up in the spread scenario, on relayd's schedule (relayd/netdht.c).
 * A relay runs a get_peers round when it starts (one that has been running since before the
 * scenario: at a random point of its cycle) and then every 10 minutes; while its plan holds fewer
 * than MinLinks candidates, every 5 s instead, doubling while a round asks nothing new, up to
 * 5 minutes (and at once when it falls short with the next round further off). The DHT
 * itself is not run here (dhtsim.c does that): a round answers after a latency drawn to match
 * that scenario's get_peers (p50 2.5 s, p99 7 s) with up to 64 random relays that are up, have
 * announced and can be reached across the partition. The relays found are asked for their
 * descriptor as relayd asks them (DESC_REQ, at most 64 a round and one a second after that,
 * none asked twice within the hour, none the plan or the store holds), and each answer is
 * offered to the store and the plan.
 */
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "ratelimit.h"
#include "spread_int.h"

/* relayd/netdht.c: NETDHT_LOOKUP_MS, NETDHT_FEW_MIN_MS, NETDHT_FEW_MAX_MS. */
#define SDHT_LOOKUP_MS  (10 * 60 * 1000)
#define SDHT_FEW_MIN_MS 5000
#define SDHT_FEW_MAX_MS (5 * 60 * 1000)
/* NETDHT_ASK_BURST, NETDHT_ASK_RATE, NETDHT_ASKED, NETDHT_ASK_AGAIN_MS, NETDHT_RESP_MS. */
#define SDHT_ASK_BURST    64
#define SDHT_ASK_RATE     1
#define SDHT_ASKED        1024
#define SDHT_ASK_AGAIN_MS (60 * 60 * 1000)
#define SDHT_RESP_MS      10000
/* A get_peers answer holds at most this many peers (DHT_LK_PEERS). */
#define SDHT_PEERS 64
/*
 * get_peers latency: 1.7 s + exponential of mean 1.15 s, so p50 = 1.7 + 1.15 ln 2 = 2.5 s and
 * p99 = 1.7 + 1.15 ln 100 = 7.0 s, the DHT scenario's figures (mostly its 2 s query timeout).
 */
#define SDHT_LAT_MIN_MS  1700.0
#define SDHT_LAT_MEAN_MS 1150.0
/* A relay is in the DHT's answers this long after it joined: bootstrap and announce_peer. */
#define SDHT_ANNOUNCED_MS 60000

struct sdht_ask {
	uint32_t relay;
	bool pending;   /* no DESC_RESP yet */
	uint64_t at_ms; /* 0: free (nothing is asked at simulated time 0) */
};

struct sdht {
	uint64_t next_round; /* simulated ms */
	uint32_t gen;        /* of the EV_DHT_ROUND that is current */
	bool pending;        /* a round waits for its answer */
	unsigned misses;     /* rounds in a row that asked nothing */
	size_t round_asked;
	uint64_t rounds;
	struct tbucket tb;
	struct sdht_ask asked[SDHT_ASKED];
	size_t ask_next;
};

static bool few(const struct spread *s, uint32_t i)
{
	return linkplan_count(s->r[i].lp) < LINKPLAN_DEF_MIN_LINKS;
}

/* As netdht_round: a get_peers round now; the next in 10 minutes, sooner while few. */
static void round_start(struct sthread *t, uint32_t i)
{
	struct spread *s = t->s;
	struct srelay *x = &s->r[i];
	struct sdht *h = x->dht;

	/* The last round asked nothing: wait longer for the next while the plan holds few. */
	if (h->round_asked == 0 && h->rounds > 0)
		h->misses += h->misses < 16;
	else
		h->misses = 0;
	h->round_asked = 0;
	h->pending = true;
	t->dht_rounds++;
	uint64_t lat = (uint64_t)(SDHT_LAT_MIN_MS + rng_exp(&x->net, SDHT_LAT_MEAN_MS));
	srelay_push(t, t->now + lat, EV_DHT_RESULT, i, i, 0, NULL);
	uint64_t every = (uint64_t)SDHT_FEW_MIN_MS << (h->misses < 8 ? h->misses : 8);
	if (!few(s, i))
		every = SDHT_LOOKUP_MS;
	else if (every > SDHT_FEW_MAX_MS)
		every = SDHT_FEW_MAX_MS;
	h->next_round = t->now + every;
	srelay_push(t, h->next_round, EV_DHT_ROUND, i, i, ++h->gen, NULL);
}

/* Relay i's look-up state, no round scheduled yet; NULL when out of memory. */
static struct sdht *sdht_new(struct sthread *t, uint32_t i)
{
	struct sdht *h = t->s->r[i].dht = calloc(1, sizeof(*h));

	if (h)
		tbucket_init(&h->tb, SDHT_ASK_RATE, SDHT_ASK_BURST, t->now);
	return h;
}

void sdht_running(struct sthread *t, uint32_t i)
{
	struct spread *s = t->s;
	struct sdht *h;

	if (!s->p.dht_lookup || !s->r[i].up || s->r[i].dht || !(h = sdht_new(t, i)))
		return;
	t->cur = i;
	h->next_round = t->now + rng_below(&s->r[i].net, SDHT_LOOKUP_MS);
	srelay_push(t, h->next_round, EV_DHT_ROUND, i, i, ++h->gen, NULL);
}

void sdht_check(struct sthread *t, uint32_t i)
{
	struct spread *s = t->s;
	struct srelay *x = &s->r[i];
	struct sdht *h = x->dht;

	if (!s->p.dht_lookup || !x->up)
		return;
	/* Scheduled rounds come as EV_DHT_ROUND; here only a start and a plan that holds few. */
	if (!h) {
		/* relayd's first round comes at its first DHT tick. */
		if (sdht_new(t, i))
			round_start(t, i);
		return;
	}
	/* relayd looks at once when the plan holds few and the next round is further off. The plan
	 * first: this runs after every event, and the plan is in cache where h is not. */
	if (few(s, i) && !h->pending &&
	    (h->next_round <= t->now || h->next_round - t->now > SDHT_FEW_MAX_MS))
		round_start(t, i);
}

static struct sdht_ask *asked(struct sdht *h, uint32_t j, bool pending, uint64_t now)
{
	for (size_t k = 0; k < SDHT_ASKED; k++) {
		struct sdht_ask *q = &h->asked[k];

		if (!q->at_ms || q->relay != j)
			continue;
		if (pending ? q->pending && now - q->at_ms < SDHT_RESP_MS
		            : now - q->at_ms < SDHT_ASK_AGAIN_MS)
			return q;
	}
	return NULL;
}

/* A control datagram of len bytes from a to b (no link, no AEAD: only IPv4 + UDP added). */
static void send_ctl(struct sthread *t, uint32_t a, uint32_t b, uint32_t kind, size_t len,
                     struct smsg *p)
{
	struct spread *s = t->s;
	size_t minute = (size_t)(t->now / 60000), wire = len + WORLD_IPUDP_OVERHEAD;
	uint64_t d;

	if (minute < s->n_bins)
		t->bin_link[minute] += wire;
	t->desc_bytes += wire;
	t->msgs++;
	if (!world_send_with(&s->w, &s->r[a].net, &t->wt, a, b, len, &d) ||
	    srelay_push(t, t->now + d, kind, b, a, 0, p) < 0) {
		if (p)
			smsg_free(t, p);
	}
}

/* The round's answer: up to 64 relays that are up, announced and on i's side of the cut. */
static size_t peers(struct sthread *t, uint32_t i, uint32_t *out)
{
	struct spread *s = t->s;
	size_t n = 0;

	for (int tries = 0; tries < 64 * SDHT_PEERS && n < SDHT_PEERS; tries++) {
		uint32_t j = (uint32_t)rng_below(&s->r[i].net, s->n);
		const struct srelay *y = &s->r[j];
		/* Relays of the start (joined_ms 0) have been running and announced long since. */
		if (j == i || !y->up ||
		    (y->joined_ms && t->now - y->joined_ms < SDHT_ANNOUNCED_MS) ||
		    !world_connected(&s->w, i, j))
			continue;
		size_t k = 0;
		while (k < n && out[k] != j)
			k++;
		if (k == n)
			out[n++] = j;
	}
	return n;
}

/* As netdht_ask: DESC_REQ to each relay found that neither the plan nor the store holds, within
 * the bounds. */
static void result(struct sthread *t, uint32_t i)
{
	struct spread *s = t->s;
	struct srelay *x = &s->r[i];
	struct sdht *h = x->dht;
	uint32_t found[SDHT_PEERS];
	struct linkplan_info info;
	size_t n = peers(t, i, found);

	h->pending = false;
	h->rounds++;
	for (size_t k = 0; k < n; k++) {
		uint32_t j = found[k];
		if (linkplan_get(x->lp, s->pk[j], sabs(t), &info) == 0)
			continue;
		/* As netdht_ask (dstore_mark_endpoints): the control port of a descriptor held; here
		 * j's own address, so its descriptor. */
		const struct dstore_desc *dd = dstore_get(gossip_store(x->g), s->pk[j]);
		if (dd && dd->d.expires_at > sabs(t) / 1000) {
			t->dht_stored++;
			continue;
		}
		if (asked(h, j, false, t->now))
			continue;
		if (h->round_asked >= SDHT_ASK_BURST || !tbucket_take(&h->tb, 1, t->now))
			continue;
		h->asked[h->ask_next] =
		    (struct sdht_ask){.relay = j, .pending = true, .at_ms = t->now};
		h->ask_next = (h->ask_next + 1) % SDHT_ASKED;
		h->round_asked++;
		t->desc_req++;
		send_ctl(t, i, j, EV_DESC_REQ, PROTO_DESC_REQ_LEN, NULL);
	}
	/* The next round came due while this one was under way: relayd starts it at its next tick. */
	if (h->next_round <= t->now)
		round_start(t, i);
}

void sdht_handle(struct sthread *t, const struct event *e)
{
	uint32_t i = e->dst, j = e->src;
	struct sdht *h = t->s->r[i].dht;

	switch (e->kind) {
	case EV_DHT_ROUND:
		if (h && e->aux == h->gen && !h->pending)
			round_start(t, i);
		break;
	case EV_DHT_RESULT:
		if (h)
			result(t, i);
		break;
	case EV_DESC_REQ: {
		/* DESC_RESP: header + the relay's own descriptor (§10.1), never larger. */
		struct smsg *m = srelay_own_copy(t, i);
		if (m)
			send_ctl(t, i, j, EV_DESC_RESP, PROTO_HDR_LEN + m->len, m);
		break;
	}
	case EV_DESC_RESP: {
		struct smsg *m = e->p;
		struct sdht_ask *q = h ? asked(h, j, true, t->now) : NULL;
		/* As netdht_desc_resp: one answer an ask, in time; anything else is unsolicited. */
		if (q) {
			q->pending = false;
			t->desc_ok++;
			srelay_offer_outside(t, i, m->b, m->len);
		}
		smsg_free(t, m);
		break;
	}
	}
}

void sdht_free(struct spread *s, uint32_t i)
{
	free(s->r[i].dht);
	s->r[i].dht = NULL;
}
