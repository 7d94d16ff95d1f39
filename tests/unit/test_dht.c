/*
 * Unit tests: common/dht*.c and common/sha1.c. Single-node tests speak KRPC to one node
 * directly; network tests run ~50 nodes over an in-memory network with a fake clock.
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

#include "dht.h"
#include "dht_int.h"
#include "sha1.h"

#define NN 50

static void hex(uint8_t *out, const char *s)
{
	for (size_t i = 0; s[2 * i]; i++)
		sscanf(s + 2 * i, "%2hhx", &out[i]);
}

static void test_rand(void *ctx, void *buf, size_t len)
{
	uint64_t *x = ctx;

	for (size_t i = 0; i < len; i++) {
		*x ^= *x << 13;
		*x ^= *x >> 7;
		*x ^= *x << 17;
		((uint8_t *)buf)[i] = (uint8_t)(*x >> 24);
	}
}

static struct addr mkaddr(int a, int b, uint16_t port)
{
	struct addr x;
	char s[32];

	snprintf(s, sizeof(s), "10.%d.%d.%d:%u", a, b / 250, b % 250 + 1, port);
	assert_int_equal(addr_parse(&x, s, 0), 0);
	return x;
}

/* ---- vectors ---- */

static void test_sha1_vectors(void **state)
{
	static const struct {
		const char *in, *out;
	} v[] = {
	    {"abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
	    {"", "da39a3ee5e6b4b0d3255bfef95601890afd80709"},
	    {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
	     "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
	};
	uint8_t want[20], got[20];
	struct sha1_ctx c;
	char a[1000];

	(void)state;
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		hex(want, v[i].out);
		sha1(got, v[i].in, strlen(v[i].in));
		assert_memory_equal(got, want, 20);
	}
	/* a million 'a', fed in odd pieces */
	memset(a, 'a', sizeof(a));
	sha1_init(&c);
	for (size_t n = 0; n < 1000000;) {
		size_t k = 1 + n % 997;

		k = k > 1000000 - n ? 1000000 - n : k;
		sha1_update(&c, a, k);
		n += k;
	}
	sha1_final(&c, got);
	hex(want, "34aa973cd4c4daa4f61eeb2bdbad27316534016f");
	assert_memory_equal(got, want, 20);
}

/* BEP 44 "Test Vectors" and the relay network's day infohash. */
static void test_bep44_vectors(void **state)
{
	struct dht_item it = {.has_k = true, .seq = 1};
	uint8_t want[20], got[20];

	(void)state;
	hex(it.k, "77ff84905a91936367c01360803104f92432fcd904a43511876df5cdf3e7e548");
	hex(it.sig, "305ac8aeb6c9c151fa120f120ea2cfb923564e11552d06a5d856091e5e853cff"
	            "1260d3f39e4999684aa92eb73ffd136e6f4f3ecbfda0ce53a1608ecd7ae21f01");
	assert_int_equal(dht_item_set_string(&it, "Hello World!", 12), 0);
	assert_int_equal(dht_item_verify(&it), 0);
	dht_item_target(&it, got);
	hex(want, "4a533d47ec9c7d95b1ad75f576cffc641853b750");
	assert_memory_equal(got, want, 20);
	it.seq = 2; /* positive control: the signature covers seq */
	assert_int_equal(dht_item_verify(&it), -EBADMSG);
	it.seq = 1;
	memcpy(it.salt, "foobar", 6);
	it.salt_len = 6;
	hex(it.sig, "6834284b6b24c3204eb2fea824d82f88883a3d95e8b4a21b8c0ded553d17d17d"
	            "df9a8a7104b1258f30bed3787e6cb896fca78c58f8e03b5f18f14951a87d9a08");
	assert_int_equal(dht_item_verify(&it), 0);
	dht_item_target(&it, got);
	hex(want, "411eba73b6f087ca51a3795d9c8c938d365e32c1");
	assert_memory_equal(got, want, 20);
	it.has_k = false;
	dht_item_target(&it, got);
	hex(want, "e5f96f6f38320f0f33959cb4d3d656452117aadb");
	assert_memory_equal(got, want, 20);
	dht_infohash_day(got, 0);
	hex(want, "53d3e36fe0777641ea3a40cef0ded41931ed848e");
	assert_memory_equal(got, want, 20);
	dht_infohash_day(got, 19782);
	hex(want, "73e712d6ffb0952052606f759520eb70f428bab3"); /* 2024-02-29 */
	assert_memory_equal(got, want, 20);
}

/* ---- one node, spoken to directly ---- */

static uint64_t now_ms = 1000000;
static uint8_t reply_pkt[DHT_MAX_PKT];
static struct ben_tok reply_tok[DHT_MAX_TOK];

/* Send query q from `from`; parse the node's answer into r. 0, or -1 when none came. */
static int ask(struct dht *d, const struct addr *from, struct krpc *q, struct krpc *r)
{
	static const uint8_t id[20] = "querier-id-000000000";
	uint8_t pkt[DHT_MAX_PKT];
	struct addr to;
	struct wbuf w;
	size_t len;
	int found = -1;

	q->y = 'q';
	q->t = (struct krpc_str){(const uint8_t *)"aa", 2};
	if (!q->id.p)
		q->id = (struct krpc_str){id, 20};
	wbuf_init(&w, pkt, sizeof(pkt));
	assert_int_equal(dht_msg_encode(&w, q), 0);
	dht_input(d, pkt, w.pos, from, now_ms);
	while ((len = dht_next_output(d, pkt, sizeof(pkt), &to))) {
		struct krpc m;

		/* the node also pings strangers that query it: skip those */
		if (found == 0 || !addr_equal(&to, from) ||
		    dht_msg_parse(&m, pkt, len, reply_tok, DHT_MAX_TOK) < 0 || m.y == 'q')
			continue;
		memcpy(reply_pkt, pkt, len);
		assert_int_equal(dht_msg_parse(r, reply_pkt, len, reply_tok, DHT_MAX_TOK), 0);
		found = 0;
	}
	return found;
}

static struct dht *one_node(const struct dht_config *cfg)
{
	static uint64_t seed = 0x1234567;
	static const uint8_t id[20] = "node-under-test-0000";
	struct dht_config c;
	struct dht *d;

	if (cfg)
		c = *cfg;
	else
		dht_config_default(&c);
	c.rand = test_rand;
	c.rand_ctx = &seed;
	d = dht_new(id, &c);
	assert_non_null(d);
	dht_tick(d, now_ms);
	return d;
}

static const uint8_t ih1[20] = "infohash-number-one.";

static void test_ping_and_errors(void **state)
{
	struct dht *d = one_node(NULL);
	struct addr a = mkaddr(9, 1, 4000);
	struct krpc q = {.q = KRPC_PING}, r;

	(void)state;
	assert_int_equal(ask(d, &a, &q, &r), 0);
	assert_int_equal(r.y, 'r');
	assert_memory_equal(r.id.p, "node-under-test-0000", 20);
	assert_memory_equal(r.t.p, "aa", 2);
	q = (struct krpc){.q = KRPC_FIND_NODE}; /* no target */
	assert_int_equal(ask(d, &a, &q, &r), 0);
	assert_int_equal(r.y, 'e');
	assert_int_equal(r.ecode, 203);
	/* a method we do not know: craft it by hand */
	{
		const char *s = "d1:ad2:id20:abcdefghij0123456789e1:q4:vote1:t2:xy1:y1:qe";
		uint8_t pkt[DHT_MAX_PKT];
		struct addr to;
		size_t len;

		dht_input(d, (const uint8_t *)s, strlen(s), &a, now_ms);
		while ((len = dht_next_output(d, pkt, sizeof(pkt), &to)))
			if (dht_msg_parse(&r, pkt, len, reply_tok, DHT_MAX_TOK) == 0 && r.y == 'e')
				break;
		assert_true(len > 0);
		assert_int_equal(r.ecode, 204);
		assert_int_equal(dht_get_stats(d)->q_unknown, 1);
	}
	dht_free(d);
	dht_free(NULL);
}

static void test_tokens(void **state)
{
	struct dht *d = one_node(NULL);
	struct addr a = mkaddr(9, 1, 4000), b = mkaddr(9, 2, 4000);
	struct krpc q = {.q = KRPC_GET_PEERS, .info_hash = {ih1, 20}}, r;
	uint8_t tok[DHT_TOKEN_MAX];
	size_t toklen;

	(void)state;
	assert_int_equal(ask(d, &a, &q, &r), 0);
	assert_non_null(r.token.p);
	assert_non_null(r.nodes.p); /* no peers yet: nodes, possibly empty */
	assert_int_equal(r.nvalues, 0);
	toklen = r.token.len;
	memcpy(tok, r.token.p, toklen);
	q = (struct krpc){.q = KRPC_ANNOUNCE,
	                  .info_hash = {ih1, 20},
	                  .has_port = true,
	                  .port = 7000,
	                  .token = {tok, toklen}};
	/* the token is bound to a's address */
	assert_int_equal(ask(d, &b, &q, &r), 0);
	assert_int_equal(r.y, 'e');
	assert_int_equal(r.ecode, 203);
	assert_int_equal(dht_get_stats(d)->refuse_token, 1);
	q.token.len = 0;
	assert_int_equal(ask(d, &a, &q, &r), 0);
	assert_int_equal(r.ecode, 203);
	q.token.len = toklen;
	/* one rotation later it still works */
	now_ms += DHT_SECRET_MS;
	dht_tick(d, now_ms);
	assert_int_equal(ask(d, &a, &q, &r), 0);
	assert_int_equal(r.y, 'r');
	/* implied_port takes the source port */
	q.info_hash.p = (const uint8_t *)"infohash-number-two.";
	q.implied_port = true;
	assert_int_equal(ask(d, &a, &q, &r), 0);
	assert_int_equal(r.y, 'r');
	q = (struct krpc){.q = KRPC_GET_PEERS,
	                  .info_hash = {(const uint8_t *)"infohash-number-two.", 20}};
	assert_int_equal(ask(d, &b, &q, &r), 0);
	assert_int_equal(r.nvalues, 1);
	assert_memory_equal(r.values[0] + 4, "\x0f\xa0", 2); /* 4000 */
	q.info_hash.p = ih1;
	assert_int_equal(ask(d, &b, &q, &r), 0);
	assert_int_equal(r.nvalues, 1);
	assert_memory_equal(r.values[0], "\x0a\x09\x00\x02\x1b\x58", 6); /* 10.9.0.2:7000 */
	/* two rotations: expired */
	now_ms += DHT_SECRET_MS;
	dht_tick(d, now_ms);
	q = (struct krpc){.q = KRPC_ANNOUNCE,
	                  .info_hash = {ih1, 20},
	                  .has_port = true,
	                  .port = 7000,
	                  .token = {tok, toklen}};
	assert_int_equal(ask(d, &a, &q, &r), 0);
	assert_int_equal(r.ecode, 203);
	assert_int_equal(dht_get_stats(d)->refuse_token, 3);
	dht_free(d);
}

/* A token for `from`, through get. */
static size_t get_token(struct dht *d, const struct addr *from, const uint8_t target[20],
                        uint8_t *tok, struct krpc *r)
{
	struct krpc q = {.q = KRPC_GET, .target = {target, 20}};

	assert_int_equal(ask(d, from, &q, r), 0);
	assert_int_equal(r->y, 'r');
	memcpy(tok, r->token.p, r->token.len);
	return r->token.len;
}

static void sign_item(struct dht_item *it, const char *salt, int64_t seq, const char *v,
                      uint8_t sk[64])
{
	uint8_t pk[32], seed[32] = "a fixed seed for the test key..";

	crypto_sign_seed_keypair(pk, sk, seed);
	memset(it, 0, sizeof(*it));
	it->salt_len = strlen(salt);
	memcpy(it->salt, salt, it->salt_len);
	it->seq = seq;
	assert_int_equal(dht_item_set_string(it, v, strlen(v)), 0);
	assert_int_equal(dht_item_sign(it, sk), 0);
	assert_memory_equal(it->k, pk, 32);
}

/* put it to d from `from` as a KRPC query; the answer in r. */
static void put_item(struct dht *d, const struct addr *from, const struct dht_item *it, int64_t cas,
                     struct krpc *r)
{
	uint8_t target[20], tok[DHT_TOKEN_MAX];
	struct krpc q = {.q = KRPC_PUT, .has_seq = it->has_k, .seq = it->seq};
	size_t toklen;

	dht_item_target(it, target);
	toklen = get_token(d, from, target, tok, r);
	q.token = (struct krpc_str){tok, toklen};
	q.v = (struct krpc_str){it->v, it->v_len};
	if (it->has_k) {
		q.k = (struct krpc_str){it->k, 32};
		q.sig = (struct krpc_str){it->sig, 64};
		if (it->salt_len)
			q.salt = (struct krpc_str){it->salt, it->salt_len};
	}
	q.has_cas = cas >= 0;
	q.cas = cas;
	assert_int_equal(ask(d, from, &q, r), 0);
}

static void test_put_rules(void **state)
{
	struct dht *d = one_node(NULL);
	struct addr a = mkaddr(9, 1, 4000);
	struct dht_item it, bad;
	uint8_t sk[64], target[20], tok[DHT_TOKEN_MAX];
	struct krpc r, q;

	(void)state;
	sign_item(&it, "wgrelay-descriptor", 5, "descriptor bytes", sk);
	put_item(d, &a, &it, DHT_NO_CAS, &r);
	assert_int_equal(r.y, 'r');
	dht_item_target(&it, target);
	get_token(d, &a, target, tok, &r);
	assert_int_equal(r.seq, 5);
	assert_int_equal(r.v.len, it.v_len);
	assert_memory_equal(r.v.p, it.v, it.v_len);
	assert_memory_equal(r.k.p, it.k, 32);
	assert_memory_equal(r.sig.p, it.sig, 64);
	/* get with seq: only the seq when ours is not newer */
	q = (struct krpc){.q = KRPC_GET, .target = {target, 20}, .has_seq = true, .seq = 5};
	assert_int_equal(ask(d, &a, &q, &r), 0);
	assert_true(r.has_seq && r.seq == 5 && !r.v.p && !r.k.p);
	q.seq = 4;
	assert_int_equal(ask(d, &a, &q, &r), 0);
	assert_non_null(r.v.p);
	/* the same value again refreshes it; another value at the same seq is refused */
	put_item(d, &a, &it, DHT_NO_CAS, &r);
	assert_int_equal(r.y, 'r');
	sign_item(&bad, "wgrelay-descriptor", 5, "other bytes", sk);
	put_item(d, &a, &bad, DHT_NO_CAS, &r);
	assert_int_equal(r.ecode, 302);
	sign_item(&bad, "wgrelay-descriptor", 4, "older", sk);
	put_item(d, &a, &bad, DHT_NO_CAS, &r);
	assert_int_equal(r.ecode, 302);
	sign_item(&bad, "wgrelay-descriptor", 6, "newer", sk);
	put_item(d, &a, &bad, 4, &r);
	assert_int_equal(r.ecode, 301);
	assert_int_equal(dht_get_stats(d)->refuse_cas, 1);
	put_item(d, &a, &bad, 5, &r);
	assert_int_equal(r.y, 'r');
	/* bad signature */
	sign_item(&bad, "wgrelay-descriptor", 7, "tampered", sk);
	bad.v[3] ^= 1;
	put_item(d, &a, &bad, DHT_NO_CAS, &r);
	assert_int_equal(r.ecode, 206);
	assert_int_equal(dht_get_stats(d)->refuse_sig, 1);
	/* sizes */
	sign_item(&bad, "wgrelay-descriptor", 8, "x", sk);
	bad.salt_len = DHT_SALT_MAX + 1;
	{
		static uint8_t big[DHT_SALT_MAX + 1];
		uint8_t t2[20] = {1};
		size_t toklen = get_token(d, &a, t2, tok, &r);

		q = (struct krpc){.q = KRPC_PUT,
		                  .has_seq = true,
		                  .seq = 8,
		                  .k = {bad.k, 32},
		                  .sig = {bad.sig, 64},
		                  .salt = {big, sizeof(big)},
		                  .v = {bad.v, bad.v_len},
		                  .token = {tok, toklen}};
		assert_int_equal(ask(d, &a, &q, &r), 0);
		assert_int_equal(r.ecode, 207);
		static uint8_t bigv[DHT_V_MAX + 8];
		int n = snprintf((char *)bigv, sizeof(bigv), "%d:", DHT_V_MAX);

		memset(bigv + n, 'v', DHT_V_MAX);
		q.salt = (struct krpc_str){NULL, 0};
		q.v = (struct krpc_str){bigv, (size_t)n + DHT_V_MAX};
		assert_int_equal(ask(d, &a, &q, &r), 0);
		assert_int_equal(r.ecode, 205);
		q.v = (struct krpc_str){bad.v, bad.v_len};
		q.token.len = 0;
		assert_int_equal(ask(d, &a, &q, &r), 0);
		assert_int_equal(r.ecode, 203);
	}
	/* immutable: stored under SHA1(v) */
	memset(&bad, 0, sizeof(bad));
	dht_item_set_string(&bad, "Hello World!", 12);
	put_item(d, &a, &bad, DHT_NO_CAS, &r);
	assert_int_equal(r.y, 'r');
	hex(target, "e5f96f6f38320f0f33959cb4d3d656452117aadb");
	get_token(d, &a, target, tok, &r);
	assert_int_equal(r.v.len, 15);
	assert_memory_equal(r.v.p, "12:Hello World!", 15);
	assert_null(r.k.p);
	dht_free(d);
}

static void test_caps(void **state)
{
	struct dht_config cfg;
	struct dht *d;
	struct dht_item it;
	uint8_t sk[64], tok[DHT_TOKEN_MAX], ih[20] = "per-source-cap-hash.";
	struct addr a = mkaddr(9, 1, 4000);
	struct krpc q, r;
	size_t toklen;

	(void)state;
	dht_config_default(&cfg);
	cfg.max_per_source = 4;
	cfg.max_peers_per_hash = 3;
	cfg.max_items = 2;
	d = one_node(&cfg);
	toklen = get_token(d, &a, ih, tok, &r);
	q = (struct krpc){.q = KRPC_ANNOUNCE,
	                  .info_hash = {ih, 20},
	                  .has_port = true,
	                  .port = 1,
	                  .token = {tok, toklen}};
	for (int i = 0; i < 5; i++) {
		ih[0] = (uint8_t)i;
		assert_int_equal(ask(d, &a, &q, &r), 0);
		assert_int_equal(r.y, i < 4 ? 'r' : 'e');
	}
	assert_int_equal(r.ecode, 202);
	assert_int_equal(dht_get_stats(d)->refuse_source_cap, 1);
	/* peers per infohash */
	ih[0] = 'x';
	for (int i = 0; i < 4; i++) {
		struct addr b = mkaddr(9, 10 + i, 4000);

		toklen = get_token(d, &b, ih, tok, &r);
		q.token.len = toklen;
		assert_int_equal(ask(d, &b, &q, &r), 0);
		assert_int_equal(r.y, 'r'); /* not the announcer's fault */
	}
	assert_int_equal(dht_get_stats(d)->refuse_hash_full, 1);
	q = (struct krpc){.q = KRPC_GET_PEERS, .info_hash = {ih, 20}};
	assert_int_equal(ask(d, &a, &q, &r), 0);
	assert_int_equal(r.nvalues, 3);
	/* items: the source cap also counts a's 4 peers, so puts come from others */
	for (int i = 0; i < 3; i++) {
		struct addr b = mkaddr(9, 20 + i, 4000);
		char salt[8];

		snprintf(salt, sizeof(salt), "s%d", i);
		sign_item(&it, salt, 1, "v", sk);
		put_item(d, &b, &it, DHT_NO_CAS, &r);
		assert_int_equal(r.y, i < 2 ? 'r' : 'e');
	}
	assert_int_equal(dht_get_stats(d)->refuse_full, 1);
	sign_item(&it, "s9", 1, "v", sk);
	put_item(d, &a, &it, DHT_NO_CAS, &r);
	assert_int_equal(r.ecode, 202);
	assert_int_equal(dht_get_stats(d)->refuse_source_cap, 2);
	/* expiry frees the room */
	now_ms += DHT_ITEM_TTL_MS + 60 * 1000;
	dht_tick(d, now_ms);
	assert_int_equal(dht_get_stats(d)->items, 0);
	assert_int_equal(dht_get_stats(d)->peers, 0);
	dht_free(d);
}

/* Pings queued for a, drained. */
static int pings_to(struct dht *d, const struct addr *a)
{
	uint8_t pkt[DHT_MAX_PKT];
	struct addr to;
	struct krpc m;
	size_t len;
	int n = 0;

	while ((len = dht_next_output(d, pkt, sizeof(pkt), &to)))
		n += addr_equal(&to, a) &&
		     dht_msg_parse(&m, pkt, len, reply_tok, DHT_MAX_TOK) == 0 && m.y == 'q' &&
		     m.q == KRPC_PING;
	return n;
}

static bool in_table(struct dht *d, const uint8_t id[20])
{
	struct dht_node *all[DHT_BUCKETS * DHT_K];
	size_t n = dht_rt_closest(d, id, all, DHT_BUCKETS * DHT_K);

	return n > 0 && memcmp(all[0]->id, id, 20) == 0;
}

/* BEP 5 routing: who enters, questionable nodes pinged twice, bad ones replaced. */
static void test_routing(void **state)
{
	struct dht *d = one_node(NULL);
	uint8_t id[10][20];
	struct addr a[10];

	(void)state;
	for (int i = 0; i < 10; i++) {
		/* all in one bucket: the first bit differs from the node's id ("n" = 0x6e) */
		memset(id[i], 0xee, 20);
		id[i][19] = (uint8_t)i;
		a[i] = mkaddr(8, i, 6881);
	}
	/* a query alone does not get a stranger in, it gets it pinged */
	dht_rt_heard(d, id[0], &a[0], false, now_ms);
	assert_false(in_table(d, id[0]));
	assert_int_equal(pings_to(d, &a[0]), 1);
	for (int i = 0; i < DHT_K; i++)
		dht_rt_heard(d, id[i], &a[i], true, now_ms + (uint64_t)i);
	assert_int_equal(dht_node_count(d), DHT_K);
	/* full of good nodes: the newcomer waits, nobody is pinged */
	dht_rt_heard(d, id[8], &a[8], true, now_ms + 10);
	assert_false(in_table(d, id[8]));
	assert_int_equal(pings_to(d, &a[0]), 0);
	/* 15 minutes later all are questionable: the least recently seen is pinged */
	now_ms += DHT_GOOD_MS + 100;
	for (int i = 1; i < DHT_K; i++)
		dht_rt_heard(d, id[i], &a[i], false, now_ms); /* they query us: good again */
	dht_rt_heard(d, id[8], &a[8], true, now_ms);
	assert_int_equal(pings_to(d, &a[0]), 1);
	assert_false(in_table(d, id[8]));
	/* no answer: pinged once more, then replaced */
	now_ms += 2000;
	dht_tick(d, now_ms);
	assert_int_equal(pings_to(d, &a[0]), 1);
	assert_true(in_table(d, id[0]));
	now_ms += 2000;
	dht_tick(d, now_ms);
	assert_false(in_table(d, id[0]));
	assert_true(in_table(d, id[8]));
	assert_int_equal(dht_node_count(d), DHT_K);
	/* an id does not move to another address while the old one is good */
	dht_rt_heard(d, id[1], &a[9], true, now_ms);
	{
		struct dht_node *n[1];

		assert_int_equal(dht_rt_closest(d, id[1], n, 1), 1);
		assert_true(addr_equal(&n[0]->addr, &a[1]));
	}
	dht_free(d);
}

/*
 * Move c's queued datagrams to b (when to is b's address) and b's back to c, until both are
 * quiet; with drop_c, c's datagrams are lost instead. How many of c's went to b.
 */
static int wire(struct dht *c, const struct addr *ca, struct dht *b, const struct addr *ba,
                bool drop_c)
{
	uint8_t pkt[DHT_MAX_PKT];
	struct addr to;
	size_t len;
	int sent = 0;

	for (int round = 0; round < 100; round++) {
		bool any = false;

		while ((len = dht_next_output(c, pkt, sizeof(pkt), &to))) {
			any = true;
			sent += addr_equal(&to, ba);
			if (!drop_c && addr_equal(&to, ba))
				dht_input(b, pkt, len, ca, now_ms);
		}
		while ((len = dht_next_output(b, pkt, sizeof(pkt), &to))) {
			any = true;
			if (addr_equal(&to, ca))
				dht_input(c, pkt, len, ba, now_ms);
		}
		if (!any)
			break;
	}
	return sent;
}

/*
 * A node whose first queries to its only bootstrap node are lost: dht_bootstrap called again
 * (as the helper does every 2.5 s) asks that node again, even though an earlier lookup already
 * queried it, and the node then joins. The same address given again is remembered once.
 */
static void test_boot_retry(void **state)
{
	static const uint8_t cid[20] = "client-node-00000000";
	struct dht_config cfg;
	uint64_t seed = 77;
	struct addr ba = mkaddr(9, 1, 51822), ca = mkaddr(9, 2, 40000), other = mkaddr(9, 3, 6881);
	struct dht *b = one_node(NULL), *c;

	(void)state;
	dht_config_default(&cfg);
	cfg.rand = test_rand;
	cfg.rand_ctx = &seed;
	assert_non_null(c = dht_new(cid, &cfg));
	dht_tick(c, now_ms);
	assert_int_equal(dht_bootstrap(c, &ba, 1, now_ms), 0);
	/* lost on the way: the query went out, nothing came back */
	assert_int_equal(wire(c, &ca, b, &ba, true), 1);
	assert_int_equal(dht_get_stats(b)->rx, 0);
	now_ms += 2500;
	dht_tick(c, now_ms); /* the first query timed out (2 s): its lookup failed */
	assert_int_equal(dht_get_stats(c)->lookups_failed, 1);
	assert_int_equal(dht_node_count(c), 0);
	assert_int_equal(wire(c, &ca, b, &ba, true), 0); /* dht_tick alone retries after 30 s */
	/* the retry: sent to the same node again, answered, and c is in */
	assert_int_equal(dht_bootstrap(c, &ba, 1, now_ms), 0);
	assert_true(wire(c, &ca, b, &ba, false) >= 1); /* with pings both ways */
	assert_int_equal(dht_get_stats(b)->q_find_node, 1);
	assert_int_equal(dht_node_count(c), 1);
	assert_int_equal(c->nboot, 1); /* the same address twice is one bootstrap node */
	/* a second retry while the first lookup still waits also sends (a lookup of its own) */
	assert_int_equal(dht_bootstrap(c, &other, 1, now_ms), 0);
	assert_int_equal(c->nboot, 2);
	assert_true(wire(c, &ca, b, &ba, false) >= 1);
	assert_int_equal(dht_get_stats(b)->q_find_node, 2);
	dht_free(c);
	dht_free(b);
}

static void test_rate_limit(void **state)
{
	struct dht_config cfg;
	struct dht *d;
	struct addr a = mkaddr(9, 1, 4000), b = mkaddr(9, 2, 4000);
	struct krpc q = {.q = KRPC_PING}, r;
	int answered = 0;

	(void)state;
	dht_config_default(&cfg);
	cfg.query_rate = 10;
	cfg.query_burst = 20;
	d = one_node(&cfg);
	for (int i = 0; i < 100; i++)
		answered += ask(d, &a, &q, &r) == 0;
	assert_int_equal(answered, 20);
	assert_int_equal(dht_get_stats(d)->drop_ratelimit, 80);
	/* another source is not affected; a second later a gets ten more */
	assert_int_equal(ask(d, &b, &q, &r), 0);
	now_ms += 1000;
	answered = 0;
	for (int i = 0; i < 100; i++)
		answered += ask(d, &a, &q, &r) == 0;
	assert_int_equal(answered, 10);
	dht_free(d);
}

static void test_garbage(void **state)
{
	static const char *const valid =
	    "d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e"
	    "1:q9:get_peers1:t2:aa1:y1:qe";
	struct dht_config cfg;
	struct dht *d;
	uint64_t seed = 99;
	uint8_t pkt[DHT_MAX_PKT + 10];
	struct addr to, a;
	struct krpc q = {.q = KRPC_PING}, r;
	const struct dht_stats *st;
	size_t sent = 0, len;

	(void)state;
	dht_config_default(&cfg);
	cfg.query_rate = 0; /* unlimited: every datagram reaches the parser */
	d = one_node(&cfg);
	for (int i = 0; i < 3000; i++) {
		len = 1 + i % (DHT_MAX_PKT + 5);
		test_rand(&seed, pkt, len);
		if (i % 3 == 1) {
			/* mostly valid: truncated or with a flipped byte */
			len = strlen(valid);
			memcpy(pkt, valid, len);
			if (i % 2)
				len = (size_t)i % len;
			else
				pkt[(size_t)i % len] ^= (uint8_t)(1 + i % 255);
		}
		a = mkaddr(9, i % 200, 4000);
		dht_input(d, pkt, len, &a, now_ms);
		sent++;
		while (dht_next_output(d, pkt, sizeof(pkt), &to))
			;
	}
	st = dht_get_stats(d);
	assert_int_equal(st->rx, sent);
	assert_true(st->drop_decode > 1000);
	assert_true(st->drop_size > 0);
	assert_true(st->drop_krpc + st->q_get_peers + st->q_unknown + st->drop_unmatched > 0);
	/* still alive */
	assert_int_equal(ask(d, &a, &q, &r), 0);
	assert_int_equal(r.y, 'r');
	dht_free(d);
}

/* ---- a network of NN nodes ---- */

struct sim {
	struct dht *d[NN];
	struct addr a[NN];
	uint8_t id[NN][20];
	bool down[NN];
	uint64_t now, seed;
};

struct got {
	bool done;
	struct dht_result r;
	struct dht_contact closest[DHT_K];
	struct addr peers[DHT_LK_PEERS];
	struct dht_item item;
};

static void on_done(void *ctx, const struct dht_result *res)
{
	struct got *g = ctx;

	g->done = true;
	g->r = *res;
	memcpy(g->closest, res->closest, res->nclosest * sizeof(res->closest[0]));
	memcpy(g->peers, res->peers, res->npeers * sizeof(res->peers[0]));
	if (res->item)
		g->item = *res->item;
}

static void sim_deliver(struct sim *s)
{
	uint8_t pkt[DHT_MAX_PKT];
	struct addr to;
	size_t len;

	for (int round = 0; round < 10000; round++) {
		bool any = false;

		for (int i = 0; i < NN; i++) {
			while ((len = dht_next_output(s->d[i], pkt, sizeof(pkt), &to))) {
				any = true;
				for (int j = 0; j < NN; j++)
					if (addr_equal(&to, &s->a[j]) && !s->down[i] && !s->down[j])
						dht_input(s->d[j], pkt, len, &s->a[i], s->now);
			}
		}
		if (!any)
			return;
	}
	fail_msg("network did not settle");
}

static void sim_run(struct sim *s, uint64_t ms, const bool *until)
{
	for (uint64_t t = 0; t < ms && !(until && *until); t += 100) {
		s->now += 100;
		for (int i = 0; i < NN; i++)
			dht_tick(s->d[i], s->now);
		sim_deliver(s);
	}
}

static int sim_setup(void **state)
{
	struct sim *s = calloc(1, sizeof(*s));
	struct dht_config cfg;

	s->seed = 0xfeedbeef;
	s->now = 5000000;
	dht_config_default(&cfg);
	cfg.rand = test_rand;
	cfg.rand_ctx = &s->seed;
	for (int i = 0; i < NN; i++) {
		test_rand(&s->seed, s->id[i], 20);
		s->a[i] = mkaddr(0, i, 6881);
		s->d[i] = dht_new(s->id[i], &cfg);
		assert_non_null(s->d[i]);
		dht_tick(s->d[i], s->now);
	}
	/* a chain of bootstraps: each knows only node 0 */
	for (int i = 1; i < NN; i++) {
		assert_int_equal(dht_bootstrap(s->d[i], &s->a[0], 1, s->now), 0);
		sim_run(s, 200, NULL);
	}
	sim_run(s, 60 * 1000, NULL);
	*state = s;
	return 0;
}

static int sim_teardown(void **state)
{
	struct sim *s = *state;

	for (int i = 0; i < NN; i++)
		dht_free(s->d[i]);
	free(s);
	return 0;
}

/* The K live nodes closest to target, other than `self`, by brute force. */
static size_t sim_closest(const struct sim *s, const uint8_t *target, int self, int out[DHT_K])
{
	size_t n = 0;

	for (int i = 0; i < NN; i++) {
		size_t k;

		if (i == self || s->down[i])
			continue;
		for (k = n; k > 0 && dht_xor_cmp(target, s->id[i], s->id[out[k - 1]]) < 0; k--)
			if (k < DHT_K)
				out[k] = out[k - 1];
		if (k < DHT_K) {
			out[k] = i;
			n += n < DHT_K;
		}
	}
	return n;
}

static void test_net_lookup(void **state)
{
	struct sim *s = *state;
	uint8_t target[20];
	int want[DHT_K];
	struct got g = {0};

	for (int i = 0; i < NN; i++)
		assert_true(dht_node_count(s->d[i]) >= DHT_K);
	for (int round = 0; round < 2; round++) {
		/* the second time, with a fifth of the nodes gone silent */
		for (int i = 0; round == 1 && i < NN; i += 5)
			s->down[i + 3] = true;
		test_rand(&s->seed, target, 20);
		memset(&g, 0, sizeof(g));
		assert_int_equal(dht_find_node(s->d[7], target, s->now, on_done, &g), 0);
		sim_run(s, 30 * 1000, &g.done);
		assert_true(g.done);
		assert_int_equal(g.r.status, 0);
		assert_int_equal(sim_closest(s, target, 7, want), DHT_K);
		assert_int_equal(g.r.nclosest, DHT_K);
		for (int k = 0; k < DHT_K; k++)
			assert_memory_equal(g.closest[k].id, s->id[want[k]], 20);
	}
	assert_true(dht_get_stats(s->d[7])->timeouts > 0); /* the silent nodes were asked */
	memset(s->down, 0, sizeof(s->down));
}

static void test_net_announce(void **state)
{
	struct sim *s = *state;
	uint8_t ih[20];
	struct got g = {0};
	struct addr want = s->a[3];
	bool found = false;

	dht_infohash_day(ih, 19782);
	assert_int_equal(dht_announce(s->d[3], ih, 7000, s->now, on_done, &g), 0);
	sim_run(s, 30 * 1000, &g.done);
	assert_true(g.done);
	assert_int_equal(g.r.stored, DHT_K);
	memset(&g, 0, sizeof(g));
	assert_int_equal(dht_get_peers(s->d[40], ih, s->now, on_done, &g), 0);
	sim_run(s, 30 * 1000, &g.done);
	assert_true(g.done);
	addr_set_port(&want, 7000);
	for (size_t i = 0; i < g.r.npeers; i++)
		found |= addr_equal(&g.peers[i], &want);
	assert_true(found);
	/* implied port: the announcer's own UDP port */
	memset(&g, 0, sizeof(g));
	ih[0] ^= 1;
	assert_int_equal(dht_announce(s->d[4], ih, 0, s->now, on_done, &g), 0);
	sim_run(s, 30 * 1000, &g.done);
	memset(&g, 0, sizeof(g));
	assert_int_equal(dht_get_peers(s->d[41], ih, s->now, on_done, &g), 0);
	sim_run(s, 30 * 1000, &g.done);
	assert_int_equal(g.r.npeers, 1);
	assert_true(addr_equal(&g.peers[0], &s->a[4]));
}

static void net_put(struct sim *s, int from, const struct dht_item *it, int64_t cas, size_t stored)
{
	struct got g = {0};

	assert_int_equal(dht_put(s->d[from], it, cas, s->now, on_done, &g), 0);
	sim_run(s, 30 * 1000, &g.done);
	assert_true(g.done);
	assert_int_equal(g.r.status, 0);
	assert_int_equal(g.r.stored, stored);
}

static void net_get(struct sim *s, int from, const struct dht_item *it, int64_t seq)
{
	struct got g = {0};

	assert_int_equal(dht_get(s->d[from], it->k, it->salt, it->salt_len, s->now, on_done, &g),
	                 0);
	sim_run(s, 30 * 1000, &g.done);
	assert_true(g.done);
	assert_int_equal(g.r.status, 0);
	assert_non_null(g.r.item);
	assert_int_equal(g.item.seq, seq);
	assert_int_equal(dht_item_verify(&g.item), 0);
}

static uint64_t net_sum(const struct sim *s, size_t off)
{
	uint64_t n = 0;

	for (int i = 0; i < NN; i++)
		n += *(const uint64_t *)((const uint8_t *)dht_get_stats(s->d[i]) + off);
	return n;
}

static void test_net_put_get(void **state)
{
	struct sim *s = *state;
	struct dht_item it, v2, old, bad;
	struct got g = {0};
	uint8_t sk[64];

	sign_item(&it, "wgrelay-descriptor", 1, "descriptor one", sk);
	net_put(s, 5, &it, DHT_NO_CAS, DHT_K);
	net_get(s, 30, &it, 1);
	sign_item(&v2, "wgrelay-descriptor", 2, "descriptor two", sk);
	net_put(s, 6, &v2, DHT_NO_CAS, DHT_K);
	net_get(s, 31, &v2, 2);
	/* older seq: refused everywhere, the newer value stays */
	sign_item(&old, "wgrelay-descriptor", 1, "descriptor one", sk);
	net_put(s, 5, &old, DHT_NO_CAS, 0);
	assert_true(net_sum(s, offsetof(struct dht_stats, refuse_seq)) >= DHT_K);
	net_get(s, 32, &v2, 2);
	/* cas */
	sign_item(&bad, "wgrelay-descriptor", 3, "descriptor three", sk);
	net_put(s, 5, &bad, 1, 0);
	assert_true(net_sum(s, offsetof(struct dht_stats, refuse_cas)) >= DHT_K);
	net_put(s, 5, &bad, 2, DHT_K);
	net_get(s, 33, &bad, 3);
	/* a bad signature is refused by every node */
	sign_item(&bad, "wgrelay-descriptor", 4, "descriptor four", sk);
	bad.sig[0] ^= 1;
	net_put(s, 5, &bad, DHT_NO_CAS, 0);
	assert_true(net_sum(s, offsetof(struct dht_stats, refuse_sig)) >= DHT_K);
	/* another salt is another item: nothing there */
	bad.salt[0] ^= 1;
	assert_int_equal(dht_get(s->d[9], bad.k, bad.salt, bad.salt_len, s->now, on_done, &g), 0);
	sim_run(s, 30 * 1000, &g.done);
	assert_true(g.done);
	assert_int_equal(g.r.status, -ENOENT);
	assert_int_equal(g.r.responded >= DHT_K, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha1_vectors),    cmocka_unit_test(test_bep44_vectors),
	    cmocka_unit_test(test_ping_and_errors), cmocka_unit_test(test_tokens),
	    cmocka_unit_test(test_put_rules),       cmocka_unit_test(test_caps),
	    cmocka_unit_test(test_routing),         cmocka_unit_test(test_rate_limit),
	    cmocka_unit_test(test_garbage),         cmocka_unit_test(test_boot_retry),
	};
	const struct CMUnitTest net[] = {
	    cmocka_unit_test(test_net_lookup),
	    cmocka_unit_test(test_net_announce),
	    cmocka_unit_test(test_net_put_get),
	};

	return cmocka_run_group_tests(tests, NULL, NULL) |
	       cmocka_run_group_tests(net, sim_setup, sim_teardown);
}
