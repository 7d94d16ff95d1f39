/*
 * Unit tests: common/gossip*.c. Engines wired in memory (a message goes from one engine's
 * gossip_next straight into the other's gossip_input) under a fake clock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "addr.h"
#include "buf.h"
#include "gossip.h"
#include "gossip_int.h"

#define T0S  1700000000ull
#define T0MS (T0S * 1000)
#define NMAX 32
#define KMAX 1100

/* ---- signed descriptors ---- */

static uint8_t pk[KMAX][32], sk[KMAX][64];
static int nkeys;

static void keys_upto(int n)
{
	for (; nkeys < n; nkeys++) {
		uint8_t seed[32] = {0};

		buf_store_be32(seed, (uint32_t)nkeys + 1);
		crypto_sign_seed_keypair(pk[nkeys], sk[nkeys], seed);
	}
}

/* Relay k's descriptor: its encoded length in out. */
static size_t sign_desc(int k, uint64_t seq, uint64_t issued, uint64_t expires, uint8_t *out)
{
	struct descriptor d;
	int n;

	keys_upto(k + 1);
	memset(&d, 0, sizeof(d));
	memcpy(d.identity, pk[k], 32);
	memset(d.noise, 0x42, 32);
	d.seq = seq;
	d.issued_at = issued;
	d.expires_at = expires;
	d.modes = DESC_MODE_DIRECT;
	d.auth = DESC_AUTH_OPEN;
	d.max_circuits = 100;
	strcpy(d.version, "t");
	d.n_endpoints = 1;
	d.endpoints[0].transport = DESC_T_UDP;
	assert_int_equal(addr_parse(&d.endpoints[0].addr, "192.0.2.1:51821", 0), 0);
	n = desc_sign(&d, sk[k], out, DESC_MAX_LEN);
	assert_true(n > 0);
	return (size_t)n;
}

static size_t good_desc(int k, uint64_t seq, uint8_t *out)
{
	return sign_desc(k, seq, T0S - 60, T0S + 86400, out);
}

/* ---- descriptors chosen freely: a decode function for test-made "descriptors" ---- */

#define FAKE_LEN 54 /* "FAKE\0\0" identity(32) seq(8) expires(8): identity at the real offset */

static int fake_decode(void *ctx, const uint8_t *p, size_t len, struct dstore_desc **out, int *why)
{
	struct descriptor d;

	(void)ctx;
	if (len != FAKE_LEN || memcmp(p, "FAKE\0\0", 6) != 0) {
		*why = DESC_E_MAGIC;
		return -EBADMSG;
	}
	memset(&d, 0, sizeof(d));
	memcpy(d.identity, p + 6, 32);
	d.seq = buf_load_be64(p + 38);
	d.expires_at = buf_load_be64(p + 46);
	d.issued_at = T0S - 10;
	return dstore_desc_wrap(out, &d, p, len);
}

static void fake_bytes(uint8_t out[FAKE_LEN], uint8_t b0, uint8_t b1, uint64_t seq)
{
	memset(out, 0, FAKE_LEN);
	memcpy(out, "FAKE", 4);
	out[6] = b0;
	out[7] = b1;
	out[37] = 1;
	buf_store_be64(out + 38, seq);
	buf_store_be64(out + 46, T0S + 86400);
}

/* ---- a network of engines ---- */

struct net {
	struct gossip *g[NMAX];
	int n;
	uint8_t cut[NMAX][NMAX]; /* i -> j messages dropped */
	uint64_t now;
	uint64_t msgs, bytes;        /* delivered */
	uint64_t kind[GOSSIP_K_MAX]; /* delivered, by kind */
};

static void net_init(struct net *net, int n, const struct gossip_config *cfg)
{
	memset(net, 0, sizeof(*net));
	net->n = n;
	net->now = T0MS;
	for (int i = 0; i < n; i++)
		assert_int_equal(gossip_new(&net->g[i], cfg), 0);
}

static void net_free(struct net *net)
{
	for (int i = 0; i < net->n; i++) {
		assert_int_equal(gossip_stats(net->g[i])->malformed, 0);
		gossip_free(net->g[i]);
	}
}

/* Link ids are peer indices. */
static void net_connect(struct net *net, int i, int j)
{
	assert_int_equal(gossip_link_up(net->g[i], (uint32_t)j, net->now), 0);
	assert_int_equal(gossip_link_up(net->g[j], (uint32_t)i, net->now), 0);
}

/* Deliver until every engine is quiet. */
static void net_pump(struct net *net)
{
	uint8_t buf[GOSSIP_MSG_MAX];
	uint64_t total = 0;
	int progress;

	do {
		progress = 0;
		for (int i = 0; i < net->n; i++) {
			uint32_t l;
			int len;

			while ((len = gossip_next(net->g[i], net->now, &l, buf, sizeof(buf))) > 0) {
				assert_true(len <= GOSSIP_MSG_MAX);
				assert_true(l < (uint32_t)net->n);
				assert_true(++total < 2000000);
				progress = 1;
				if (net->cut[i][l])
					continue;
				net->msgs++;
				net->bytes += (uint64_t)len;
				net->kind[gossip_msg_kind(buf[0])]++;
				gossip_input(net->g[l], (uint32_t)i, buf, (size_t)len, net->now);
			}
			assert_int_equal(len, 0);
		}
	} while (progress);
	for (int i = 0; i < net->n; i++)
		assert_true(gossip_consistent(net->g[i]));
}

static void net_run(struct net *net, uint64_t ms, uint64_t step)
{
	for (uint64_t t = 0; t < ms; t += step) {
		net->now += step;
		for (int i = 0; i < net->n; i++)
			gossip_tick(net->g[i], net->now);
		net_pump(net);
	}
}

static int net_holds(struct net *net, int i, int k, uint64_t seq)
{
	keys_upto(k + 1);
	return dstore_seq(gossip_store(net->g[i]), pk[k]) == seq;
}

/* ---- tests ---- */

/* A new descriptor, then an update, reaches every engine on a line, from either end. */
static void test_line(void **state)
{
	struct net net;
	uint8_t d[DESC_MAX_LEN];
	size_t len;

	(void)state;
	net_init(&net, 6, NULL);
	for (int i = 0; i + 1 < net.n; i++)
		net_connect(&net, i, i + 1);
	net_pump(&net);
	assert_int_equal(net.kind[GOSSIP_K_BUCKET], 0); /* empty stores agree */

	len = good_desc(0, 1, d);
	assert_int_equal(gossip_publish(net.g[0], d, len, net.now), DSTORE_NEW);
	net_pump(&net);
	for (int i = 0; i < net.n; i++)
		assert_true(net_holds(&net, i, 0, 1));
	len = good_desc(0, 2, d);
	assert_int_equal(gossip_publish(net.g[0], d, len, net.now), DSTORE_UPDATED);
	len = good_desc(1, 1, d);
	assert_int_equal(gossip_publish(net.g[5], d, len, net.now), DSTORE_NEW);
	net_pump(&net);
	for (int i = 0; i < net.n; i++) {
		const struct gossip_stats *st = gossip_stats(net.g[i]);

		assert_true(net_holds(&net, i, 0, 2));
		assert_true(net_holds(&net, i, 1, 1));
		/* one DESC per descriptor version: nothing asked twice */
		assert_int_equal(st->stale + st->duplicate, 0);
		assert_int_equal(st->msgs_in[GOSSIP_K_DESC], i == 0 ? 1 : i == 5 ? 2 : 3);
	}
	net_free(&net);
}

/* Random connected graph: 40 descriptors from random engines reach all 30; same run twice. */
static void run_graph(struct gossip_stats out[NMAX])
{
	struct net net;
	uint8_t d[DESC_MAX_LEN];
	uint32_t x = 7;
	size_t len;

	net_init(&net, 30, NULL);
	for (int i = 0; i < net.n; i++)
		net_connect(&net, i, (i + 1) % net.n);
	for (int e = 0; e < 30; e++) {
		int i, j;

		x = x * 1103515245u + 12345u;
		i = (int)((x >> 8) % 30);
		x = x * 1103515245u + 12345u;
		j = (int)((x >> 8) % 30);
		if (i != j && gossip_link_up(net.g[i], (uint32_t)j, net.now) == 0)
			assert_int_equal(gossip_link_up(net.g[j], (uint32_t)i, net.now), 0);
	}
	net_pump(&net);
	for (int k = 0; k < 40; k++) {
		x = x * 1103515245u + 12345u;
		len = good_desc(100 + k, 1, d);
		assert_int_equal(gossip_publish(net.g[(x >> 8) % 30], d, len, net.now), DSTORE_NEW);
		if (k % 4 == 3) /* several in flight at once */
			net_pump(&net);
	}
	net_pump(&net);
	for (int i = 0; i < net.n; i++) {
		for (int k = 0; k < 40; k++)
			assert_true(net_holds(&net, i, 100 + k, 1));
		assert_int_equal(gossip_stats(net.g[i])->stale, 0);
		assert_int_equal(gossip_stats(net.g[i])->duplicate, 0);
		out[i] = *gossip_stats(net.g[i]);
	}
	net_free(&net);
}

static void test_random_graph(void **state)
{
	static struct gossip_stats a[NMAX], b[NMAX];

	(void)state;
	run_graph(a);
	run_graph(b);
	assert_memory_equal(a, b, sizeof(a)); /* deterministic */
	assert_true(a[0].msgs_out[GOSSIP_K_IHAVE] > 0);
}

/* What one engine sends, drained without delivery: counts by kind and link. */
struct drained {
	int n[GOSSIP_K_MAX];
	int to[GOSSIP_K_MAX][16];
	struct gossip_msg last[GOSSIP_K_MAX];
};

static void drain(struct gossip *g, uint64_t now, struct drained *dr)
{
	uint8_t buf[GOSSIP_MSG_MAX];
	uint32_t l;
	int len, guard = 0;

	memset(dr, 0, sizeof(*dr));
	while ((len = gossip_next(g, now, &l, buf, sizeof(buf))) > 0) {
		int k = gossip_msg_kind(buf[0]);

		assert_true(++guard < 10000);
		assert_int_equal(gossip_msg_decode(buf, (size_t)len, &dr->last[k]), 0);
		dr->n[k]++;
		if (l < 16)
			dr->to[k][l]++;
	}
	assert_false(gossip_pending(g));
}

static size_t ihave(uint8_t *out, const uint8_t id[32], uint64_t seq)
{
	struct gossip_msg m = {.type = GOSSIP_T_IHAVE};

	m.u.ihave.n = 1;
	memcpy(m.u.ihave.e[0].id, id, 32);
	m.u.ihave.e[0].seq = seq;
	return (size_t)gossip_msg_encode(&m, out, GOSSIP_MSG_MAX);
}

static size_t want(uint8_t *out, const uint8_t id[32])
{
	struct gossip_msg m = {.type = GOSSIP_T_WANT};

	m.u.want.n = 1;
	memcpy(m.u.want.id[0], id, 32);
	return (size_t)gossip_msg_encode(&m, out, GOSSIP_MSG_MAX);
}

/* IHAVE of the seq held asks nothing; of a higher one, a WANT; of a lower one, our IHAVE. */
static void test_ihave_known(void **state)
{
	struct gossip *g;
	struct drained dr;
	uint8_t d[DESC_MAX_LEN], m[GOSSIP_MSG_MAX];
	size_t len = good_desc(2, 5, d);

	(void)state;
	assert_int_equal(gossip_new(&g, NULL), 0);
	assert_int_equal(gossip_publish(g, d, len, T0MS), DSTORE_NEW);
	assert_int_equal(gossip_link_up(g, 7, T0MS), 0);
	drain(g, T0MS, &dr);
	assert_int_equal(dr.n[GOSSIP_K_DIGEST], 2); /* the new link's reconciliation */

	assert_int_equal(gossip_input(g, 7, m, ihave(m, pk[2], 5), T0MS), 0);
	assert_false(gossip_pending(g));
	drain(g, T0MS, &dr);
	assert_int_equal(dr.n[GOSSIP_K_WANT] + dr.n[GOSSIP_K_IHAVE], 0);

	assert_int_equal(gossip_input(g, 7, m, ihave(m, pk[2], 4), T0MS), 0);
	drain(g, T0MS, &dr);
	assert_int_equal(dr.n[GOSSIP_K_IHAVE], 1);
	assert_int_equal(dr.last[GOSSIP_K_IHAVE].u.ihave.e[0].seq, 5);

	assert_int_equal(gossip_input(g, 7, m, ihave(m, pk[2], 6), T0MS), 0);
	drain(g, T0MS, &dr);
	assert_int_equal(dr.n[GOSSIP_K_WANT], 1);
	assert_memory_equal(dr.last[GOSSIP_K_WANT].u.want.id[0], pk[2], 32);

	/* WANT: a DESC with the exact bytes for what we hold; nothing for what we do not. */
	assert_int_equal(gossip_input(g, 7, m, want(m, pk[2]), T0MS), 0);
	keys_upto(4);
	assert_int_equal(gossip_input(g, 7, m, want(m, pk[3]), T0MS), 0);
	drain(g, T0MS, &dr);
	assert_int_equal(dr.n[GOSSIP_K_DESC], 1);
	assert_int_equal(dr.last[GOSSIP_K_DESC].u.desc.len, len);
	gossip_free(g);
}

static size_t desc_msg(uint8_t *out, const uint8_t *d, size_t len)
{
	int n = gossip_msg_desc(out, GOSSIP_MSG_MAX, d, len);

	assert_true(n > 0);
	return (size_t)n;
}

/* Forged, malformed, expired, future and stale descriptors are refused, counted, never passed on. */
static void test_refusals(void **state)
{
	struct gossip *g;
	struct drained dr;
	const struct gossip_stats *st;
	uint8_t d[DESC_MAX_LEN], m[GOSSIP_MSG_MAX];
	size_t len;

	(void)state;
	assert_int_equal(gossip_new(&g, NULL), 0);
	st = gossip_stats(g);
	assert_int_equal(gossip_link_up(g, 7, T0MS), 0);
	assert_int_equal(gossip_link_up(g, 8, T0MS), 0);
	drain(g, T0MS, &dr);

	len = good_desc(3, 5, d);
	d[len - 1] ^= 1; /* signature */
	assert_int_equal(gossip_input(g, 7, m, desc_msg(m, d, len), T0MS), 0);
	assert_int_equal(st->invalid[DESC_E_SIG], 1);
	d[0] = 'X';
	assert_int_equal(gossip_input(g, 7, m, desc_msg(m, d, len), T0MS), 0);
	assert_int_equal(st->invalid[DESC_E_MAGIC], 1);
	len = sign_desc(3, 5, T0S - 86400, T0S - 1, d);
	assert_int_equal(gossip_input(g, 7, m, desc_msg(m, d, len), T0MS), 0);
	assert_int_equal(st->expired, 1);
	len = sign_desc(3, 5, T0S + DESC_MAX_SKEW_S + 1, T0S + 86400, d);
	assert_int_equal(gossip_input(g, 7, m, desc_msg(m, d, len), T0MS), 0);
	assert_int_equal(st->future, 1);
	drain(g, T0MS, &dr);
	assert_int_equal(dr.n[GOSSIP_K_IHAVE], 0);

	/* Positive control: the valid one is stored and announced to the other link only. */
	len = good_desc(3, 5, d);
	assert_int_equal(gossip_input(g, 7, m, desc_msg(m, d, len), T0MS), 0);
	assert_int_equal(st->accepted_new, 1);
	len = good_desc(3, 4, d);
	assert_int_equal(gossip_input(g, 7, m, desc_msg(m, d, len), T0MS), 0);
	len = good_desc(3, 5, d);
	assert_int_equal(gossip_input(g, 8, m, desc_msg(m, d, len), T0MS), 0);
	assert_int_equal(st->stale, 1);
	assert_int_equal(st->duplicate, 1); /* the same again: a repeat, not a refusal */
	drain(g, T0MS, &dr);
	assert_int_equal(dr.n[GOSSIP_K_IHAVE], 1);
	assert_int_equal(dr.to[GOSSIP_K_IHAVE][8], 1);
	assert_int_equal(dr.last[GOSSIP_K_IHAVE].u.ihave.n, 1);

	/* Our own descriptor gets the same checks. */
	assert_int_equal(gossip_publish(g, d, 10, T0MS), -EBADMSG);
	assert_int_equal(st->invalid[DESC_E_SHORT], 1);
	/* After it expires it is neither served nor announced. */
	assert_int_equal(gossip_input(g, 7, m, want(m, pk[3]), T0MS + 86400 * 1000ull), 0);
	drain(g, T0MS + 86400 * 1000ull, &dr);
	assert_int_equal(dr.n[GOSSIP_K_DESC], 0);
	gossip_free(g);
}

/* A partitioned engine catches up by anti-entropy alone, moving only the difference. */
static void test_partition_antientropy(void **state)
{
	enum { SHARED = 1000, NEW = 20, UPD = 5 };
	static uint8_t d[DESC_MAX_LEN];
	struct net net;
	uint64_t full = 0, desc_in_c;
	size_t len;

	(void)state;
	net_init(&net, 3, NULL);
	for (int k = 0; k < SHARED; k++) {
		len = good_desc(k, 1, d);
		full += len;
		for (int i = 0; i < 3; i++)
			assert_int_equal(gossip_publish(net.g[i], d, len, net.now), DSTORE_NEW);
	}
	net_connect(&net, 0, 1);
	net_connect(&net, 1, 2);
	net_pump(&net);
	assert_int_equal(net.kind[GOSSIP_K_BUCKET], 0); /* equal stores: digests match */
	assert_int_equal(net.kind[GOSSIP_K_DIGEST], 8);

	net.cut[1][2] = net.cut[2][1] = 1;
	for (int k = 0; k < NEW + UPD; k++) {
		int key = k < NEW ? SHARED + k : k - NEW;

		len = good_desc(key, k < NEW ? 1 : 2, d);
		full += len;
		assert_true(gossip_publish(net.g[0], d, len, net.now) >= 0);
	}
	/* ... and one only the cut-off engine learns. */
	len = good_desc(SHARED + NEW, 1, d);
	full += len;
	assert_int_equal(gossip_publish(net.g[2], d, len, net.now), DSTORE_NEW);
	net_pump(&net);
	assert_true(net_holds(&net, 1, SHARED, 1));
	assert_false(net_holds(&net, 2, SHARED, 1));
	assert_false(net_holds(&net, 1, SHARED + NEW, 1));

	/* Healed, and no push left: only the periodic rounds can carry the difference. */
	net.cut[1][2] = net.cut[2][1] = 0;
	net.msgs = net.bytes = 0;
	memset(net.kind, 0, sizeof(net.kind));
	desc_in_c = gossip_stats(net.g[2])->msgs_in[GOSSIP_K_DESC];
	net_run(&net, 29000, 1000);
	assert_false(net_holds(&net, 2, SHARED, 1)); /* positive control: before the first round */
	net_run(&net, 2000, 1000);
	for (int k = 0; k < SHARED + NEW; k++)
		assert_true(net_holds(&net, 2, k, k < UPD ? 2 : 1));
	assert_int_equal(gossip_stats(net.g[1])->ae_rounds, 3); /* B's own round went to A */
	/* The round C started also showed C what B lacks: C announced it, then B pushed to A. */
	for (int i = 0; i < 3; i++)
		assert_true(net_holds(&net, i, SHARED + NEW, 1));
	assert_int_equal(gossip_stats(net.g[2])->msgs_in[GOSSIP_K_DESC] - desc_in_c, NEW + UPD);
	assert_int_equal(net.kind[GOSSIP_K_DESC], NEW + UPD + 2);
	/* Far below moving everything: 2 DIGEST a round, a short listing per differing bucket. */
	assert_true(net.bytes * 5 < full);
	assert_true(net.msgs < 120);
	print_message("anti-entropy: %llu messages, %llu bytes (full transfer %llu bytes)\n",
	              (unsigned long long)net.msgs, (unsigned long long)net.bytes,
	              (unsigned long long)full);
	net_free(&net);
}

/* Buckets larger than one page: listings are paged, and the difference still found. */
static void test_ae_paging(void **state)
{
	struct gossip_config cfg;
	struct net net;
	uint8_t f[FAKE_LEN], h0[8], h1[8];

	(void)state;
	gossip_config_default(&cfg);
	cfg.decode = fake_decode;
	net_init(&net, 2, &cfg);
	for (int k = 0; k < 60; k++) { /* A: bucket 5, entries 0..59 */
		fake_bytes(f, 5, (uint8_t)k, k == 30 ? 3 : 1);
		assert_int_equal(gossip_publish(net.g[0], f, FAKE_LEN, net.now), DSTORE_NEW);
	}
	for (int k = 0; k < 50; k++) { /* B: lacks 10..14 and 50..59, 20 newer, 30 older */
		if (k >= 10 && k < 15)
			continue;
		fake_bytes(f, 5, (uint8_t)k, k == 20 ? 2 : 1);
		assert_int_equal(gossip_publish(net.g[1], f, FAKE_LEN, net.now), DSTORE_NEW);
	}
	for (int k = 100; k < 105; k++) { /* and holds five A lacks */
		fake_bytes(f, 5, (uint8_t)k, 1);
		assert_int_equal(gossip_publish(net.g[1], f, FAKE_LEN, net.now), DSTORE_NEW);
	}
	net_connect(&net, 0, 1);
	net_pump(&net);
	assert_int_equal(dstore_bucket_count(gossip_store(net.g[0]), 5), 65);
	assert_int_equal(dstore_bucket_count(gossip_store(net.g[1]), 5), 65);
	dstore_digest(gossip_store(net.g[0]), 5, h0);
	dstore_digest(gossip_store(net.g[1]), 5, h1);
	assert_memory_equal(h0, h1, 8);
	/* 55 and 60 entries: 3 pages each way (pages overlap by one entry). */
	assert_int_equal(net.kind[GOSSIP_K_BUCKET], 6);
	/* 5 + 10 + 1 one way, 5 + 1 the other: only the difference moved */
	assert_int_equal(net.kind[GOSSIP_K_DESC], 22);
	net_free(&net);
}

/* Token buckets per link: DESC pushed, DIGEST, and every message. */
static void test_rate_limit(void **state)
{
	struct gossip *g;
	const struct gossip_stats *st;
	uint8_t d[DESC_MAX_LEN], m[GOSSIP_MSG_MAX];
	struct gossip_msg dg = {.type = GOSSIP_T_DIGEST};
	size_t len;
	int ok = 0;

	(void)state;
	assert_int_equal(gossip_new(&g, NULL), 0);
	st = gossip_stats(g);
	assert_int_equal(gossip_link_up(g, 7, T0MS), 0);
	for (int k = 0; k < 150; k++) {
		len = good_desc(200 + k, 1, d);
		ok += gossip_input(g, 7, m, desc_msg(m, d, len), T0MS) == 0;
	}
	assert_int_equal(ok, 100); /* burst */
	assert_int_equal(st->accepted_new, 100);
	assert_int_equal(st->rate_limited, 50);
	ok = 0;
	for (int k = 150; k < 180; k++) { /* one second later: 20 more */
		len = good_desc(200 + k, 1, d);
		ok += gossip_input(g, 7, m, desc_msg(m, d, len), T0MS + 1000) == 0;
	}
	assert_int_equal(ok, 20);
	assert_int_equal(st->accepted_new, 120);

	dg.u.digest.n = 128;
	len = (size_t)gossip_msg_encode(&dg, m, sizeof(m));
	ok = 0;
	for (int k = 0; k < 6; k++)
		ok += gossip_input(g, 7, m, len, T0MS + 1000) == 0;
	assert_int_equal(ok, 4);
	assert_int_equal(gossip_input(g, 7, m, len, T0MS + 6000), 0); /* one more per 5 s */
	gossip_free(g);

	/* Every message: 200 at once, then 50 a second. */
	assert_int_equal(gossip_new(&g, NULL), 0);
	assert_int_equal(gossip_link_up(g, 7, T0MS), 0);
	ok = 0;
	for (int k = 0; k < 250; k++)
		ok += gossip_input(g, 7, m, want(m, pk[0]), T0MS) == 0;
	assert_int_equal(ok, 200);
	assert_int_equal(gossip_input(g, 7, m, want(m, pk[0]), T0MS), -EBUSY);
	assert_int_equal(gossip_input(g, 7, m, want(m, pk[0]), T0MS + 20), 0);
	assert_int_equal(gossip_stats(g)->rate_limited, 51);
	gossip_free(g);
}

/* A store at capacity evicts what expires soonest, and refuses what would expire sooner still. */
static void test_store_full(void **state)
{
	struct gossip_config cfg;
	struct gossip *g;
	uint8_t d[DESC_MAX_LEN];
	static const uint64_t exp[] = {300, 100, 200, 250, 50};
	size_t len;

	(void)state;
	gossip_config_default(&cfg);
	cfg.store_capacity = 3;
	assert_int_equal(gossip_new(&g, &cfg), 0);
	for (int k = 0; k < 4; k++) {
		len = sign_desc(300 + k, 1, T0S, T0S + exp[k], d);
		assert_int_equal(gossip_publish(g, d, len, T0MS), DSTORE_NEW);
	}
	assert_null(dstore_get(gossip_store(g), pk[301])); /* expired soonest: evicted */
	assert_non_null(dstore_get(gossip_store(g), pk[302]));
	len = sign_desc(304, 1, T0S, T0S + exp[4], d);
	assert_int_equal(gossip_publish(g, d, len, T0MS), DSTORE_FULL);
	assert_int_equal(gossip_stats(g)->store_full, 1);
	assert_int_equal(dstore_stats(gossip_store(g))->evicted, 1);
	/* Expiry by tick frees room. */
	gossip_tick(g, (T0S + 250) * 1000);
	assert_int_equal(dstore_count(gossip_store(g)), 1);
	gossip_free(g);
}

/* Malformed messages of every type are dropped and counted; valid ones pass (control). */
static void test_malformed(void **state)
{
	static const struct {
		uint8_t b[64];
		size_t len;
	} bad[] = {
	    {{0}, 0},                         /* empty */
	    {{0x10, 0, 0}, 3},                /* HELLO: not gossip */
	    {{0x16}, 1},                      /* DISCOVER: not gossip */
	    {{0x11}, 1},                      /* IHAVE without count */
	    {{0x11, 0}, 2},                   /* IHAVE of nothing */
	    {{0x11, 26}, 2},                  /* IHAVE over 25 */
	    {{0x11, 1, 1, 2, 3}, 5},          /* IHAVE short entry */
	    {{0x12, 0}, 2},                   /* WANT of nothing */
	    {{0x12, 2}, 34},                  /* WANT short */
	    {{0x13, 0, 0}, 3},                /* DESC empty */
	    {{0x13, 0, 10, 1}, 4},            /* DESC shorter than its length */
	    {{0x13, 0x03, 0xe4}, 3},          /* DESC over DESC_MAX_LEN */
	    {{0x14, 0, 0}, 3},                /* DIGEST of nothing */
	    {{0x14, 200, 100}, 3},            /* DIGEST past bucket 255 */
	    {{0x14, 0, 129}, 3},              /* DIGEST over 128 */
	    {{0x14, 0, 1, 1}, 4},             /* DIGEST short hash */
	    {{0x15, 5, 0, 1, 0, 0, 0}, 7},    /* BUCKET: nothing of a total of 1 */
	    {{0x15, 5, 0, 1, 0, 1, 1}, 7},    /* BUCKET: first + n > total */
	    {{0x15, 5, 0, 0, 0, 0, 0, 1}, 8}, /* BUCKET: trailing non-zero byte */
	    {{0x15, 5, 0, 30, 0, 0, 26}, 7},  /* BUCKET: over 25 */
	};
	struct gossip *g;
	struct gossip_msg mm;
	uint8_t m[GOSSIP_MSG_MAX], d[DESC_MAX_LEN];
	int n;

	(void)state;
	assert_int_equal(gossip_new(&g, NULL), 0);
	assert_int_equal(gossip_link_up(g, 7, T0MS), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(gossip_input(g, 7, bad[i].b, bad[i].len, T0MS), -EBADMSG);
	n = (int)(sizeof(bad) / sizeof(bad[0]));

	/* BUCKET entries outside the bucket, or out of order */
	memset(&mm, 0, sizeof(mm));
	memset(m, 0, sizeof(m));
	mm.type = GOSSIP_T_BUCKET;
	mm.u.bucket.bucket = 5;
	mm.u.bucket.total = 2;
	mm.u.bucket.n = 2;
	mm.u.bucket.e[0].id[0] = 5;
	mm.u.bucket.e[1].id[0] = 5;
	mm.u.bucket.e[1].id[1] = 1;
	assert_int_equal(gossip_msg_encode(&mm, m, sizeof(m)), 7 + 80);
	assert_int_equal(gossip_input(g, 7, m, 7 + 80 + 5, T0MS), 0); /* zero padding is fine */
	m[7 + 40] = 6;
	assert_int_equal(gossip_input(g, 7, m, 7 + 80, T0MS), -EBADMSG);
	m[7 + 40] = 5;
	m[7 + 41] = 0; /* equal to the first */
	assert_int_equal(gossip_input(g, 7, m, 7 + 80, T0MS), -EBADMSG);
	n += 2;
	assert_int_equal(gossip_stats(g)->malformed, n);

	/* Controls: one valid message of each type. */
	assert_int_equal(gossip_input(g, 7, m, ihave(m, pk[0], 1), T0MS), 0);
	assert_int_equal(gossip_input(g, 7, m, want(m, pk[0]), T0MS), 0);
	assert_int_equal(gossip_input(g, 7, m, desc_msg(m, d, good_desc(0, 1, d)), T0MS), 0);
	memset(&mm, 0, sizeof(mm));
	mm.type = GOSSIP_T_DIGEST;
	mm.u.digest.first = 128;
	mm.u.digest.n = 128;
	assert_int_equal(gossip_input(g, 7, m, (size_t)gossip_msg_encode(&mm, m, sizeof(m)), T0MS),
	                 0);
	memset(&mm, 0, sizeof(mm));
	mm.type = GOSSIP_T_BUCKET;
	mm.u.bucket.bucket = 9; /* empty listing */
	assert_int_equal(gossip_input(g, 7, m, (size_t)gossip_msg_encode(&mm, m, sizeof(m)), T0MS),
	                 0);
	assert_int_equal(gossip_stats(g)->malformed, n);
	/* A listing nobody asked for (our DIGEST is no longer outstanding) */
	assert_int_equal(gossip_input(g, 7, m, 7, T0MS + 31000), -EPERM);
	assert_int_equal(gossip_stats(g)->unsolicited, 1);
	assert_int_equal(gossip_input(g, 9, m, 7, T0MS), -ENOENT);
	assert_int_equal(gossip_stats(g)->unknown_link, 1);
	assert_int_equal(gossip_stats(g)->msgs_in[GOSSIP_K_BUCKET], 9);
	gossip_free(g);
}

/* An engine with links 7 and 8 up, their first messages drained; window 0: the default. */
static struct gossip *two_links(uint32_t want_timeout_ms, uint32_t window, uint64_t now,
                                struct drained *dr)
{
	struct gossip_config cfg;
	struct gossip *g;

	gossip_config_default(&cfg);
	cfg.want_timeout_ms = want_timeout_ms;
	if (window)
		cfg.want_window = window;
	assert_int_equal(gossip_new(&g, &cfg), 0);
	assert_int_equal(gossip_link_up(g, 7, now), 0);
	assert_int_equal(gossip_link_up(g, 8, now), 0);
	drain(g, now, dr);
	return g;
}

/* One link asked at a time; after the timeout, or when the link goes, the next one. */
static void test_want_one_link(void **state)
{
	struct gossip *g;
	struct drained dr;
	uint8_t m[GOSSIP_MSG_MAX], d[DESC_MAX_LEN];
	uint64_t now = T0MS;

	(void)state;
	keys_upto(402);
	g = two_links(5000, 0, now, &dr); /* a WANT timeout for links without an RTT */
	assert_int_equal(gossip_input(g, 7, m, ihave(m, pk[400], 3), now), 0);
	assert_int_equal(gossip_input(g, 8, m, ihave(m, pk[400], 3), now), 0);
	drain(g, now, &dr);
	assert_int_equal(dr.n[GOSSIP_K_WANT], 1);
	assert_int_equal(dr.to[GOSSIP_K_WANT][7], 1);

	gossip_tick(g, now += 4999);
	drain(g, now, &dr);
	assert_int_equal(dr.n[GOSSIP_K_WANT], 0);
	assert_true(gossip_next_tick(g) <= now + 1);
	gossip_tick(g, now += 1);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_WANT][8], 1);
	assert_int_equal(gossip_stats(g)->want_timeouts, 1);
	/* The answer from 8 settles it: nothing more asked. */
	assert_int_equal(gossip_input(g, 8, m, desc_msg(m, d, good_desc(400, 3, d)), now), 0);
	assert_int_equal(gossip_stats(g)->rate_limited, 0);
	gossip_tick(g, now += 10000);
	drain(g, now, &dr);
	assert_int_equal(dr.n[GOSSIP_K_WANT], 0);
	assert_int_equal(gossip_stats(g)->want_timeouts, 1);

	/* The link asked goes down: the other one is asked at once. */
	assert_int_equal(gossip_input(g, 7, m, ihave(m, pk[401], 1), now), 0);
	assert_int_equal(gossip_input(g, 8, m, ihave(m, pk[401], 1), now), 0);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_WANT][7], 1);
	assert_int_equal(gossip_link_down(g, 7, now), 0);
	assert_int_equal(gossip_link_down(g, 7, now), -ENOENT);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_WANT][8], 1);
	/* ... and when no link that announced it is left, it is forgotten. */
	assert_int_equal(gossip_link_down(g, 8, now), 0);
	assert_int_equal(gossip_next_tick(g),
	                 T0MS + 4999 + 30000); /* the round set at first tick */
	gossip_free(g);
}

/*
 * Identities waiting for a link are looked at only while a link that listed one of them has
 * room: a link with room that announced none of them (8 here) is no reason to walk them on
 * every tick. When the full link frees a place, the next one is asked of it.
 */
static void test_want_walk_listed(void **state)
{
	struct gossip *g;
	struct drained dr;
	uint8_t m[GOSSIP_MSG_MAX], d[DESC_MAX_LEN];
	uint64_t now = T0MS;

	(void)state;
	keys_upto(430);
	g = two_links(60000, 2, now, &dr);
	for (int k = 420; k < 430; k++)
		assert_int_equal(gossip_input(g, 7, m, ihave(m, pk[k], 1), now), 0);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_WANT][7], 1);
	assert_int_equal(dr.last[GOSSIP_K_WANT].u.want.n, 2); /* one WANT of two: the window */
	assert_true(gossip_consistent(g));
	for (int i = 0; i < 20; i++)
		gossip_tick(g, now += 100);
	drain(g, now, &dr);
	assert_int_equal(dr.n[GOSSIP_K_WANT], 0);
	assert_int_equal(gossip_stats(g)->want_walked, 0);

	/* 7 answers one: the walk finds a waiting identity for the free place. */
	assert_int_equal(gossip_input(g, 7, m, desc_msg(m, d, good_desc(420, 1, d)), now), 0);
	assert_true(gossip_consistent(g));
	gossip_tick(g, now += 100);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_WANT][7], 1);
	assert_int_equal(gossip_stats(g)->want_walked, 1);
	/* 8 announces one that waits: asked of 8 at once, no walk. */
	assert_int_equal(gossip_input(g, 8, m, ihave(m, pk[429], 1), now), 0);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_WANT][8], 1);
	assert_true(gossip_consistent(g));
	gossip_tick(g, now += 100);
	assert_int_equal(gossip_stats(g)->want_walked, 1);
	/* 7 goes: what only 7 announced is forgotten, the counts still add up. */
	assert_int_equal(gossip_link_down(g, 7, now), 0);
	assert_true(gossip_consistent(g));
	gossip_tick(g, now += 100);
	assert_true(gossip_consistent(g));
	gossip_free(g);
}

/* The pending table's slot of key k when it has cap slots (gossip_want_hash, white box). */
static uint32_t pend_slot(int k, uint32_t cap)
{
	return gossip_want_hash(pk[k]) & (cap - 1);
}

/*
 * A tick looks at GOSSIP_WALK_MAX (256) waiting identities at most and the next goes on from
 * there: 600 wait for link 7, whose window is full, and two for link 8, which gets room, in the
 * table's last slots (a walk from the start would look at all 600 first). Each tick's work is
 * bounded, and within three ticks the walk has found one of 8's.
 */
static void test_want_walk_bounded(void **state)
{
	struct gossip *g;
	struct drained dr;
	uint8_t m[GOSSIP_MSG_MAX], d[DESC_MAX_LEN];
	uint64_t now = T0MS, walked = 0;
	int key[650], ticks = 0;

	(void)state;
	keys_upto(1100);
	/* 603 identities: a table of 2048 slots. The three of 8 last in slot order. */
	for (int k = 0; k < 650; k++)
		key[k] = 450 + k;
	for (int a = 0; a < 650; a++)
		for (int b = a + 1; b < 650; b++)
			if (pend_slot(key[b], 2048) < pend_slot(key[a], 2048)) {
				int t = key[a];
				key[a] = key[b];
				key[b] = t;
			}
	g = two_links(60000, 1, now, &dr);
	for (int k = 647; k < 650; k++)
		assert_int_equal(gossip_input(g, 8, m, ihave(m, pk[key[k]], 1), now), 0);
	for (int k = 0; k < 600; k++) /* paced for 7's message token bucket */
		assert_int_equal(gossip_input(g, 7, m, ihave(m, pk[key[k]], 1), now += 25), 0);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_WANT][8], 1);
	assert_int_equal(dr.to[GOSSIP_K_WANT][7], 1);
	/* 8 answers its first: room on 8, for one of the two that only 8 announced. */
	assert_int_equal(gossip_input(g, 8, m, desc_msg(m, d, good_desc(key[647], 1, d)), now), 0);
	do {
		gossip_tick(g, now += 100);
		drain(g, now, &dr);
		assert_true(gossip_stats(g)->want_walked - walked <= 256);
		walked = gossip_stats(g)->want_walked;
		assert_int_equal(dr.to[GOSSIP_K_WANT][7], 0);
	} while (dr.to[GOSSIP_K_WANT][8] == 0 && ++ticks < 3);
	assert_int_equal(dr.to[GOSSIP_K_WANT][8], 1);
	assert_true(gossip_consistent(g));
	gossip_free(g);
}

/*
 * Our own new descriptor: a link that neither asks for it nor shows it holds it within its WANT
 * timeout is sent the IHAVE again, twice at most; one that asked (8) or announced it back is not.
 */
static void test_own_again(void **state)
{
	struct gossip *g;
	struct drained dr;
	uint8_t m[GOSSIP_MSG_MAX], d[DESC_MAX_LEN];
	uint64_t now = T0MS;

	(void)state;
	keys_upto(441);
	g = two_links(1000, 0, now, &dr);
	assert_int_equal(gossip_publish(g, d, good_desc(440, 1, d), now), DSTORE_NEW);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_IHAVE][7], 1);
	assert_int_equal(dr.to[GOSSIP_K_IHAVE][8], 1);
	assert_int_equal(gossip_input(g, 8, m, want(m, pk[440]), now), 0);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_DESC][8], 1);
	assert_true(gossip_next_tick(g) <= now + 1000);
	gossip_tick(g, now += 999);
	drain(g, now, &dr);
	assert_int_equal(dr.n[GOSSIP_K_IHAVE], 0);
	for (int k = 1; k <= 3; k++) { /* 7 stays silent: again, again, then left to anti-entropy */
		gossip_tick(g, now += k == 1 ? 1 : 1000);
		drain(g, now, &dr);
		assert_int_equal(dr.to[GOSSIP_K_IHAVE][7], k <= 2);
		assert_int_equal(dr.to[GOSSIP_K_IHAVE][8], 0);
	}
	assert_int_equal(gossip_stats(g)->own_again, 2);

	/* The next one: 7 got it elsewhere and announces it back; 8 is silent this time. */
	assert_int_equal(gossip_publish(g, d, good_desc(440, 2, d), now), DSTORE_UPDATED);
	drain(g, now, &dr);
	assert_int_equal(gossip_input(g, 7, m, ihave(m, pk[440], 2), now), 0);
	gossip_tick(g, now += 1000);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_IHAVE][7], 0);
	assert_int_equal(dr.to[GOSSIP_K_IHAVE][8], 1);
	/* A descriptor learnt from elsewhere is not ours: never announced again. */
	assert_int_equal(gossip_offer(g, GOSSIP_LINK_NONE, d, good_desc(439, 1, d), now),
	                 DSTORE_NEW);
	drain(g, now, &dr);
	gossip_tick(g, now += 5000);
	gossip_tick(g, now += 5000);
	drain(g, now, &dr);
	assert_int_equal(dr.n[GOSSIP_K_IHAVE], 1); /* 8's second try of ours, nothing else */
	gossip_free(g);
}

/*
 * A lost WANT or DESC is asked again after the link's timeout: 2 x RTT + 250 ms when the
 * caller gave an RTT, else want_timeout_ms (1500 by default); the same link again when no
 * other announced it, others first when they did, three asks in all before giving up.
 */
static void test_want_retry_rtt(void **state)
{
	struct gossip *g;
	struct drained dr;
	uint8_t m[GOSSIP_MSG_MAX], d[DESC_MAX_LEN];
	uint64_t now = T0MS;

	(void)state;
	keys_upto(411);
	g = two_links(1500, 0, now, &dr);                /* the default WANT timeout */
	assert_int_equal(gossip_link_rtt(g, 7, 100), 0); /* 2 x 100 + 250 = 450 ms */
	assert_int_equal(gossip_link_rtt(g, 9, 100), -ENOENT);
	drain(g, now, &dr);
	assert_int_equal(gossip_input(g, 7, m, ihave(m, pk[410], 2), now), 0);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_WANT][7], 1);
	assert_int_equal(gossip_next_tick(g), now + 450);

	/* Lost: only 7 announced it, so 7 is asked again at once after 450 ms. */
	gossip_tick(g, now + 449);
	drain(g, now + 449, &dr);
	assert_int_equal(dr.n[GOSSIP_K_WANT], 0);
	gossip_tick(g, now += 450);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_WANT][7], 1);
	assert_int_equal(gossip_stats(g)->want_timeouts, 1);

	/* 8 announces it meanwhile: at the next timeout 8 goes before 7 again. */
	assert_int_equal(gossip_input(g, 8, m, ihave(m, pk[410], 2), now), 0);
	drain(g, now, &dr);
	assert_int_equal(dr.n[GOSSIP_K_WANT], 0);
	gossip_tick(g, now += 450);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_WANT][8], 1);
	assert_int_equal(dr.to[GOSSIP_K_WANT][7], 0);
	/* 8 gave no RTT: the default 1500 ms, then 7 (the third ask)... */
	assert_int_equal(gossip_next_tick(g), now + 1500);
	gossip_tick(g, now + 1499);
	drain(g, now + 1499, &dr);
	assert_int_equal(dr.n[GOSSIP_K_WANT], 0);
	gossip_tick(g, now += 1500);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_WANT][7], 1);
	/* ... and when that is lost too, it is left to anti-entropy. */
	gossip_tick(g, now += 450);
	drain(g, now, &dr);
	assert_int_equal(dr.n[GOSSIP_K_WANT], 0);
	assert_int_equal(gossip_stats(g)->want_timeouts, 4);

	/* Answered in time: nothing is asked again. */
	assert_int_equal(gossip_input(g, 7, m, ihave(m, pk[409], 1), now), 0);
	drain(g, now, &dr);
	assert_int_equal(dr.to[GOSSIP_K_WANT][7], 1);
	assert_int_equal(gossip_input(g, 7, m, desc_msg(m, d, good_desc(409, 1, d)), now + 100), 0);
	assert_int_equal(dstore_seq(gossip_store(g), pk[409]), 1);
	gossip_tick(g, now += 5000);
	drain(g, now, &dr);
	assert_int_equal(dr.n[GOSSIP_K_WANT], 0);
	assert_int_equal(gossip_stats(g)->want_timeouts, 4);
	gossip_free(g);
}

/* Preloaded descriptors are stored (shared) without announcing; published ones are announced. */
static void test_preload(void **state)
{
	struct gossip *g;
	struct drained dr;
	struct dstore_desc *dd[3];
	uint8_t d[DESC_MAX_LEN];
	int why;

	(void)state;
	assert_int_equal(gossip_new(&g, NULL), 0);
	assert_int_equal(gossip_link_up(g, 7, T0MS), 0);
	drain(g, T0MS, &dr);
	for (int k = 0; k < 3; k++)
		assert_int_equal(dstore_desc_new(&dd[k], d, good_desc(420 + k, 1, d), &why), 0);
	assert_int_equal(gossip_preload(g, dd, 3, T0MS), 3);
	assert_int_equal(gossip_preload(g, dd, 3, T0MS), 0); /* all held */
	assert_ptr_equal(dstore_get(gossip_store(g), pk[421]), dd[1]);
	drain(g, T0MS, &dr);
	assert_int_equal(dr.n[GOSSIP_K_IHAVE], 0);
	/* Control: the same engine announces what it is offered. */
	assert_int_equal(gossip_publish(g, d, good_desc(423, 1, d), T0MS), DSTORE_NEW);
	drain(g, T0MS, &dr);
	assert_int_equal(dr.n[GOSSIP_K_IHAVE], 1);
	for (int k = 0; k < 3; k++)
		dstore_desc_unref(dd[k]);
	gossip_free(g);
}

/* The wall clock steps back a day: the next round still comes within one period. */
static void test_clock_back(void **state)
{
	struct gossip *g;
	struct drained dr;
	uint64_t now = T0MS;

	(void)state;
	assert_int_equal(gossip_new(&g, NULL), 0);
	assert_int_equal(gossip_link_up(g, 7, now), 0);
	gossip_tick(g, now);
	drain(g, now, &dr);
	assert_int_equal(gossip_next_tick(g), now + 30000);
	now -= 86400 * 1000ull;
	gossip_tick(g, now);
	assert_int_equal(gossip_next_tick(g), now + 30000);
	gossip_tick(g, now += 30000);
	drain(g, now, &dr);
	assert_int_equal(dr.n[GOSSIP_K_DIGEST], 2);
	gossip_free(g);
}

/* The announcement queue per link is bounded: the oldest go, counted. */
/* The offsets gossip_prefetch peeks at are where the encoder puts the identities. */
static void test_wire_offsets(void **state)
{
	struct gossip_msg m;
	uint8_t buf[GOSSIP_MSG_MAX], d[DESC_MAX_LEN];
	size_t dl;

	(void)state;
	keys_upto(2);
	memset(&m, 0, sizeof(m));
	m.type = GOSSIP_T_IHAVE;
	m.u.ihave.n = 2;
	memcpy(m.u.ihave.e[0].id, pk[0], 32);
	memcpy(m.u.ihave.e[1].id, pk[1], 32);
	assert_true(gossip_msg_encode(&m, buf, sizeof(buf)) > 0);
	assert_memory_equal(buf + GOSSIP_IHAVE_IDS_OFF, pk[0], 32);
	assert_memory_equal(buf + GOSSIP_IHAVE_IDS_OFF + GOSSIP_ENTRY_LEN, pk[1], 32);
	m.type = GOSSIP_T_WANT;
	m.u.want.n = 2;
	memcpy(m.u.want.id[0], pk[0], 32);
	memcpy(m.u.want.id[1], pk[1], 32);
	assert_true(gossip_msg_encode(&m, buf, sizeof(buf)) > 0);
	assert_memory_equal(buf + GOSSIP_WANT_IDS_OFF, pk[0], 32);
	assert_memory_equal(buf + GOSSIP_WANT_IDS_OFF + 32, pk[1], 32);
	memset(&m, 0, sizeof(m));
	m.type = GOSSIP_T_BUCKET;
	m.u.bucket.total = m.u.bucket.n = 2;
	m.u.bucket.bucket = 9;
	memset(m.u.bucket.e[0].id, 9, 32);
	memset(m.u.bucket.e[1].id, 9, 32);
	m.u.bucket.e[1].id[31] = 10;
	assert_true(gossip_msg_encode(&m, buf, sizeof(buf)) > 0);
	assert_memory_equal(buf + GOSSIP_BUCKET_IDS_OFF, m.u.bucket.e[0].id, 32);
	assert_memory_equal(buf + GOSSIP_BUCKET_IDS_OFF + GOSSIP_ENTRY_LEN, m.u.bucket.e[1].id, 32);
	dl = good_desc(1, 1, d);
	assert_memory_equal(d + DESC_IDENTITY_OFF, pk[1], 32);
	assert_int_equal(desc_msg(buf, d, dl), GOSSIP_DESC_BODY_OFF + dl);
	assert_memory_equal(buf + GOSSIP_DESC_BODY_OFF, d, dl);
}

/*
 * gossip_prefetch reads what gossip_input will, from any bytes: every truncation of every kind
 * of message (each in a buffer of exactly its length, so the sanitizer build sees any read past
 * it), at every stage, against an engine holding descriptors, links and a pending WANT. It
 * must change nothing: the counters and the store are the same afterwards.
 */
static void test_prefetch_reads_only(void **state)
{
	struct gossip *g;
	struct gossip_msg m;
	struct gossip_stats before;
	uint8_t d[DESC_MAX_LEN], msgs[6][GOSSIP_MSG_MAX];
	size_t lens[6], n_msgs = 0, held;
	int len;

	(void)state;
	assert_int_equal(gossip_new(&g, NULL), 0);
	for (uint32_t l = 1; l <= 3; l++)
		assert_int_equal(gossip_link_up(g, l, T0MS), 0);
	for (int k = 0; k < 4; k++) {
		size_t dl = good_desc(k, 1, d);
		assert_int_equal(gossip_offer(g, 1, d, dl, T0MS), DSTORE_NEW);
	}
	/* A pending WANT: an IHAVE of an identity not held. */
	keys_upto(6);
	memset(&m, 0, sizeof(m));
	m.type = GOSSIP_T_IHAVE;
	m.u.ihave.n = 2;
	memcpy(m.u.ihave.e[0].id, pk[5], 32);
	m.u.ihave.e[0].seq = 3;
	memcpy(m.u.ihave.e[1].id, pk[0], 32);
	m.u.ihave.e[1].seq = 1;
	len = gossip_msg_encode(&m, msgs[n_msgs], sizeof(msgs[0]));
	assert_true(len > 0);
	lens[n_msgs++] = (size_t)len;
	assert_int_equal(gossip_input(g, 2, msgs[0], lens[0], T0MS), 0);
	memset(&m, 0, sizeof(m));
	m.type = GOSSIP_T_WANT;
	m.u.want.n = 2;
	memcpy(m.u.want.id[0], pk[1], 32);
	memcpy(m.u.want.id[1], pk[5], 32);
	len = gossip_msg_encode(&m, msgs[n_msgs], sizeof(msgs[0]));
	assert_true(len > 0);
	lens[n_msgs++] = (size_t)len;
	len = gossip_msg_desc(msgs[n_msgs], sizeof(msgs[0]), d, good_desc(5, 3, d));
	assert_true(len > 0);
	lens[n_msgs++] = (size_t)len;
	memset(&m, 0, sizeof(m));
	m.type = GOSSIP_T_BUCKET;
	m.u.bucket.bucket = pk[2][0];
	m.u.bucket.total = 1;
	m.u.bucket.n = 1;
	memcpy(m.u.bucket.e[0].id, pk[2], 32);
	m.u.bucket.e[0].seq = 1;
	len = gossip_msg_encode(&m, msgs[n_msgs], sizeof(msgs[0]));
	assert_true(len > 0);
	lens[n_msgs++] = (size_t)len;
	memset(msgs[n_msgs], 0xff, 64); /* not gossip at all */
	lens[n_msgs++] = 64;

	before = *gossip_stats(g);
	held = dstore_count(gossip_store(g));
	for (size_t k = 0; k < n_msgs; k++)
		for (size_t cut = 0; cut <= lens[k]; cut++) {
			uint8_t *b = malloc(cut ? cut : 1);
			assert_non_null(b);
			memcpy(b, msgs[k], cut);
			for (int stage = 0; stage <= 5; stage++)
				for (uint32_t l = 0; l <= 4; l++)
					gossip_prefetch(g, l, b, cut, stage);
			free(b);
		}
	assert_memory_equal(gossip_stats(g), &before, sizeof(before));
	assert_int_equal(dstore_count(gossip_store(g)), held);
	/* The pending WANT is still there: its DESC is taken as an answer, not a push. */
	assert_int_equal(gossip_input(g, 2, msgs[2], lens[2], T0MS + 10), 0);
	assert_int_equal(gossip_stats(g)->accepted_new, before.accepted_new + 1);
	gossip_free(g);
}

static void test_queue_bound(void **state)
{
	struct gossip_config cfg;
	struct gossip *g;
	struct drained dr;
	uint8_t d[DESC_MAX_LEN];

	(void)state;
	gossip_config_default(&cfg);
	cfg.ann_queue = 4;
	assert_int_equal(gossip_new(&g, &cfg), 0);
	assert_int_equal(gossip_link_up(g, 7, T0MS), 0);
	for (int k = 0; k < 10; k++)
		assert_int_equal(gossip_publish(g, d, good_desc(500 + k, 1, d), T0MS), DSTORE_NEW);
	drain(g, T0MS, &dr);
	assert_int_equal(dr.n[GOSSIP_K_IHAVE], 1);
	assert_int_equal(dr.last[GOSSIP_K_IHAVE].u.ihave.n, 4);
	assert_memory_equal(dr.last[GOSSIP_K_IHAVE].u.ihave.e[3].id, pk[509], 32);
	assert_int_equal(gossip_stats(g)->ann_dropped, 6);
	assert_int_equal(gossip_link_up(g, 7, T0MS), -EEXIST);
	assert_int_equal(gossip_link_up(g, GOSSIP_LINK_NONE, T0MS), -EINVAL);
	gossip_free(g);
	gossip_free(NULL);
	cfg.want_window = 0;
	assert_int_equal(gossip_new(&g, &cfg), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_line),
	    cmocka_unit_test(test_random_graph),
	    cmocka_unit_test(test_ihave_known),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_partition_antientropy),
	    cmocka_unit_test(test_ae_paging),
	    cmocka_unit_test(test_rate_limit),
	    cmocka_unit_test(test_store_full),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_want_one_link),
	    cmocka_unit_test(test_want_walk_listed),
	    cmocka_unit_test(test_want_walk_bounded),
	    cmocka_unit_test(test_own_again),
	    cmocka_unit_test(test_want_retry_rtt),
	    cmocka_unit_test(test_preload),
	    cmocka_unit_test(test_clock_back),
	    cmocka_unit_test(test_queue_bound),
	    cmocka_unit_test(test_wire_offsets),
	    cmocka_unit_test(test_prefetch_reads_only),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
