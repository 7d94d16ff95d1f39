/*
 * sdht.c: a relay's DHT look-up in the spread scenario, on relayd's schedule (relayd/netdht.c).
 * While a relay's plan holds fewer than MinLinks candidates it runs get_peers rounds: the first
 * at once, then every 5 s, doubling while a round asks nothing new, up to 5 minutes. The DHT
 * itself is not run here (dhtsim.c does that): a round answers after a latency drawn to match
 * that scenario's get_peers (p50 2.5 s, p99 7 s) with up to 64 random relays that are up, have
 * announced and can be reached across the partition. The relays found are asked for their
 * descriptor as relayd asks them (DESC_REQ, at most 64 a round and one a second after that,
 * none asked twice within the hour), and each answer is offered to the store and the plan.
 */
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "ratelimit.h"
#include "spread_int.h"

/* relayd/netdht.c: NETDHT_FEW_MIN_MS, NETDHT_FEW_MAX_MS. */
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
	uint64_t next_round; /* simulated ms; SPREAD_NEVER: none due (the plan holds enough) */
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

static void round_start(struct spread *s, uint32_t i)
{
	struct sdht *h = s->r[i].dht;

	if (!few(s, i)) {
		/* relayd then looks up every 10 minutes (NETDHT_LOOKUP_MS): not modelled. */
		h->next_round = SPREAD_NEVER;
		return;
	}
	/* As netdht_round: the last round asked nothing, so wait longer for the next. */
	if (h->round_asked == 0 && h->rounds > 0)
		h->misses += h->misses < 16;
	else
		h->misses = 0;
	h->round_asked = 0;
	h->pending = true;
	s->dht_rounds++;
	uint64_t lat = (uint64_t)(SDHT_LAT_MIN_MS + rng_exp(&s->dht_rng, SDHT_LAT_MEAN_MS));
	srelay_push(s, s->now + lat, EV_DHT_RESULT, i, i, 0, NULL);
	uint64_t every = (uint64_t)SDHT_FEW_MIN_MS << (h->misses < 8 ? h->misses : 8);
	h->next_round = s->now + (every > SDHT_FEW_MAX_MS ? SDHT_FEW_MAX_MS : every);
	srelay_push(s, h->next_round, EV_DHT_ROUND, i, i, ++h->gen, NULL);
}

void sdht_check(struct spread *s, uint32_t i)
{
	struct srelay *x = &s->r[i];
	struct sdht *h = x->dht;

	if (!s->p.dht_lookup || !x->up || !few(s, i))
		return;
	if (!h) {
		if (!(h = x->dht = calloc(1, sizeof(*h))))
			return;
		h->next_round = SPREAD_NEVER;
		tbucket_init(&h->tb, SDHT_ASK_RATE, SDHT_ASK_BURST, s->now);
	}
	/* A round due now or none scheduled: at once (relayd's next 250 ms tick). */
	if (!h->pending && (h->next_round == SPREAD_NEVER || h->next_round <= s->now))
		round_start(s, i);
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
static void send_ctl(struct spread *s, uint32_t a, uint32_t b, uint32_t kind, size_t len, void *p)
{
	size_t minute = (size_t)(s->now / 60000), wire = len + WORLD_IPUDP_OVERHEAD;
	uint64_t d;

	if (minute < s->n_bins)
		s->bin_link[minute] += wire;
	s->desc_bytes += wire;
	s->msgs++;
	if (!world_send(&s->w, a, b, len, &d) || srelay_push(s, s->now + d, kind, b, a, 0, p) < 0) {
		if (p)
			dstore_desc_unref(p);
	}
}

/* The round's answer: up to 64 relays that are up, announced and on i's side of the cut. */
static size_t peers(struct spread *s, uint32_t i, uint32_t *out)
{
	size_t n = 0;

	for (int tries = 0; tries < 64 * SDHT_PEERS && n < SDHT_PEERS; tries++) {
		uint32_t j = (uint32_t)rng_below(&s->dht_rng, s->n);
		const struct srelay *y = &s->r[j];
		/* Relays of the start (joined_ms 0) have been running and announced long since. */
		if (j == i || !y->up ||
		    (y->joined_ms && s->now - y->joined_ms < SDHT_ANNOUNCED_MS) ||
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

/* As netdht_ask: DESC_REQ to each relay found that the plan does not hold, within the bounds. */
static void result(struct spread *s, uint32_t i)
{
	struct srelay *x = &s->r[i];
	struct sdht *h = x->dht;
	uint32_t found[SDHT_PEERS];
	struct linkplan_info info;
	size_t n = peers(s, i, found);

	h->pending = false;
	h->rounds++;
	for (size_t k = 0; k < n; k++) {
		uint32_t j = found[k];
		if (linkplan_get(x->lp, s->pk[j], spread_abs(s), &info) == 0 ||
		    asked(h, j, false, s->now))
			continue;
		if (h->round_asked >= SDHT_ASK_BURST || !tbucket_take(&h->tb, 1, s->now))
			continue;
		h->asked[h->ask_next] =
		    (struct sdht_ask){.relay = j, .pending = true, .at_ms = s->now};
		h->ask_next = (h->ask_next + 1) % SDHT_ASKED;
		h->round_asked++;
		s->desc_req++;
		send_ctl(s, i, j, EV_DESC_REQ, PROTO_DESC_REQ_LEN, NULL);
	}
	/* The next round came due while this one was under way: relayd starts it at its next tick. */
	if (h->next_round <= s->now)
		round_start(s, i);
}

void sdht_handle(struct spread *s, const struct event *e)
{
	uint32_t i = e->dst, j = e->src;
	struct sdht *h = s->r[i].dht;

	switch (e->kind) {
	case EV_DHT_ROUND:
		if (h && e->aux == h->gen && !h->pending)
			round_start(s, i);
		break;
	case EV_DHT_RESULT:
		if (h)
			result(s, i);
		break;
	case EV_DESC_REQ: {
		/* DESC_RESP: header + the relay's own descriptor (§10.1), never larger. */
		const struct dstore_desc *own = dstore_get(gossip_store(s->r[i].g), s->pk[i]);
		if (own)
			send_ctl(s, i, j, EV_DESC_RESP, PROTO_HDR_LEN + own->len,
			         dstore_desc_ref((struct dstore_desc *)(uintptr_t)own));
		break;
	}
	case EV_DESC_RESP: {
		struct sdht_ask *q = h ? asked(h, j, true, s->now) : NULL;
		/* As netdht_desc_resp: one answer an ask, in time; anything else is unsolicited. */
		if (q) {
			q->pending = false;
			s->desc_ok++;
			srelay_offer_outside(s, i, e->p);
		}
		dstore_desc_unref(e->p);
		break;
	}
	}
}

void sdht_free(struct spread *s, uint32_t i)
{
	free(s->r[i].dht);
	s->r[i].dht = NULL;
}
