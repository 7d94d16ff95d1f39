/*
 * Integration tests of wgrelayd's relay network on loopback (PROTOCOL.md §10): three relays,
 * A and C each with a Peer line to B and room for one link only, so that what A learns of C
 * came through B. A test client speaks DESC_REQ, DISCOVER, and HELLO and DESC as a relay
 * would, with descriptors it signs itself (a wrong Noise key, a forged signature).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "descriptor.h"
#include "identity.h"
#include "key.h"
#include "netrelay.h"

/* Conditions are polled every NRELAY_POLL_MS, this many times (10 s). */
#define POLL_TIMES 100

static struct nrelay A, B, C;
/* Started by single tests; stopped by the group's teardown too when a test failed midway. */
static struct nrelay D, F, G;

/* Poll until x's metric reaches want; its last value. */
static long long wait_metric(const struct nrelay *x, const char *name, long long want)
{
	return nrelay_wait_metric(x, name, want, POLL_TIMES);
}

static int group_setup(void **state)
{
	char peer[160], b64[KEY_B64_STRLEN];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	/* 30 session ports each, A's first, B's next, C's last. */
	nrelay_start(&B, free_port(), 1, 30, "Network = on\nLocation = 48.85,2.35\nCountry = FR\n");
	key_to_base64(b64, B.pub);
	snprintf(peer, sizeof(peer), "Network = on\nPeer = %s %s\nMinLinks = 1\nMaxLinks = 1\n",
	         B.addr, b64);
	nrelay_start(&A, free_port(), 0, 30, peer);
	nrelay_start(&C, free_port(), 2, 30, peer);
	return 0;
}

static int group_teardown(void **state)
{
	int e = 0;

	(void)state;
	e |= nrelay_stop(&A);
	e |= nrelay_stop(&B);
	e |= nrelay_stop(&C);
	for (struct nrelay *x = &D; x; x = x == &D ? &F : x == &F ? &G : NULL)
		if (x->pid > 0)
			e |= nrelay_stop(x);
	return e;
}

/* Send the control message pt (any size up to 1200) on c's link. */
static void send_raw(struct tclient *c, const uint8_t *pt, size_t len)
{
	uint8_t frame[PROTO_MAX_CTRL_PLAIN + PROTO_SEALED_OVERHEAD];
	int n = frame_seal_ctrl(frame, sizeof(frame), c->keys.remote_index,
	                        c->keys.ctrl_send_counter++, c->keys.ctrl_send, pt, len);

	assert_true(n > 0);
	assert_int_equal(tclient_sendto(c->fd, frame, (size_t)n, &c->relay), 0);
}

/* The next control message on c's link (its plaintext), or -ETIMEDOUT. */
static int recv_raw(struct tclient *c, uint8_t *pt, size_t cap, int timeout_ms)
{
	uint8_t buf[PROTO_MAX_FRAME];

	for (int tries = 0; tries < 64; tries++) {
		int n = tclient_recvfrom(c->fd, buf, sizeof(buf), NULL, timeout_ms);

		if (n < 0)
			return n;
		if (frame_check(buf, (size_t)n) != PROTO_CTRL)
			continue;
		n = frame_open_ctrl(buf, (size_t)n, c->keys.ctrl_recv, &c->keys.ctrl_replay, pt,
		                    cap);
		if (n > 0)
			return n;
	}
	return -ETIMEDOUT;
}

/* A client of x with a fresh key, handshaken. */
static void nclient(struct tclient *c, const struct nrelay *x)
{
	assert_int_equal(tclient_open(c, x->addr, x->pub), 0);
	assert_int_equal(tclient_handshake(c, T_MS), 0);
}

/* A descriptor of a fresh identity naming noise, signed (or its signature spoilt): its length. */
static int make_desc(const uint8_t noise[32], bool forge, uint8_t *out, size_t cap,
                     uint8_t identity[32])
{
	uint8_t seed[32];
	struct identity id;
	struct descriptor d = {0};
	uint64_t now = (uint64_t)time(NULL);
	int n;

	randombytes_buf(seed, sizeof(seed));
	identity_from_seed(&id, seed);
	memcpy(d.identity, id.pk, 32);
	memcpy(d.noise, noise, 32);
	d.seq = now;
	d.issued_at = now;
	d.expires_at = now + 3600;
	d.modes = DESC_MODE_DIRECT;
	d.auth = DESC_AUTH_OPEN;
	d.max_circuits = 10;
	strcpy(d.version, "test");
	d.n_endpoints = 1;
	d.endpoints[0].transport = DESC_T_UDP;
	assert_int_equal(addr_parse(&d.endpoints[0].addr, "127.0.0.1:9", 0), 0);
	n = desc_sign(&d, id.sk, out, cap);
	assert_true(n > 0);
	if (forge)
		out[n - 1] ^= 1; /* the last byte of the signature */
	if (identity)
		memcpy(identity, id.pk, 32);
	identity_wipe(&id);
	return n;
}

static void test_links_up(void **state)
{
	char log[65536];

	(void)state;
	/* A and C reach B through their Peer lines; HELLO verified both ways on each link. */
	assert_int_equal(wait_metric(&A, "wgrelayd_network_links", 1), 1);
	assert_int_equal(wait_metric(&C, "wgrelayd_network_links", 1), 1);
	assert_int_equal(wait_metric(&B, "wgrelayd_network_links", 2), 2);
	/* MaxLinks 1: A never linked to C, whatever it learnt of it. */
	assert_int_equal(nrelay_metric(&A, "wgrelayd_network_links_up_total"), 1);
	nrelay_log(&A, log, sizeof(log));
	assert_non_null(strstr(log, "relay link up"));
}

/*
 * The gossip engine's work counters are exported. Every link that comes up starts an
 * anti-entropy exchange at once, so rounds started >= links come up (read first: both only
 * grow), without waiting for the 30 s period. Nothing fills a queue among three relays.
 */
static void test_gossip_work_metrics(void **state)
{
	static const char *const zero[] = {
	    "wgrelayd_network_gossip_dropped_total{what=\"announcement\"}",
	    "wgrelayd_network_gossip_dropped_total{what=\"descriptor\"}",
	    "wgrelayd_network_gossip_dropped_total{what=\"want\"}",
	};
	static const char *const present[] = {
	    "wgrelayd_network_want_timeouts_total",
	    "wgrelayd_network_own_announced_again_total",
	    "wgrelayd_network_duplicates_total",
	};
	const struct nrelay *x[] = {&A, &B, &C};

	(void)state;
	assert_int_equal(wait_metric(&B, "wgrelayd_network_links", 2), 2);
	for (size_t i = 0; i < sizeof(x) / sizeof(x[0]); i++) {
		long long up = nrelay_metric(x[i], "wgrelayd_network_links_up_total");

		assert_true(up >= 1);
		assert_true(nrelay_metric(x[i], "wgrelayd_network_anti_entropy_rounds_total") >=
		            up);
		for (size_t k = 0; k < sizeof(zero) / sizeof(zero[0]); k++)
			assert_int_equal(nrelay_metric(x[i], zero[k]), 0);
		for (size_t k = 0; k < sizeof(present) / sizeof(present[0]); k++)
			assert_true(nrelay_metric(x[i], present[k]) >= 0);
	}
}

/* The DISCOVER pages of x in identity order, max per page: the identities, in order. */
static int discover_all(const struct nrelay *x, uint8_t flags, int32_t lat, int32_t lon,
                        uint8_t max, uint8_t ids[][32], int cap)
{
	struct ctrl_discover q = {.flags = flags,
	                          .lat_e6 = lat,
	                          .lon_e6 = lon,
	                          .max = max,
	                          .modes = flags & PROTO_DISCOVER_MODES ? DESC_MODE_DIRECT : 0};
	uint8_t pt[PROTO_MAX_CTRL_PLAIN];
	struct tclient c;
	int got = 0;

	nclient(&c, x);
	for (int page = 0; page < 16; page++) {
		uint8_t next[32], count;
		int k = ctrl_encode_discover(&q, pt, sizeof(pt)), sent = 0;

		assert_int_equal(k, PROTO_CTRL_REQ_MIN);
		send_raw(&c, pt, (size_t)k);
		for (;;) {
			const uint8_t *dp;
			size_t dl;
			struct descriptor d;

			k = recv_raw(&c, pt, sizeof(pt), T_MS);
			if (k <= 0)
				fail_msg(
				    "no answer to DISCOVER page %d (flags %u, max %u), %d so far",
				    page, flags, max, got);
			if (pt[0] == CTRL_DISCOVERED)
				break;
			assert_int_equal(ctrl_decode_desc_msg(CTRL_DESC, pt, (size_t)k, &dp, &dl),
			                 0);
			assert_int_equal(desc_decode(dp, dl, &d), 0);
			assert_true(got < cap);
			memcpy(ids[got++], d.identity, 32);
			sent++;
		}
		assert_int_equal(ctrl_decode_discovered(pt, (size_t)k, next, &count), 0);
		assert_int_equal(count, sent);
		assert_true(sent <= max);
		if (sodium_is_zero(next, 32))
			break;
		memcpy(q.after, next, 32);
	}
	tclient_close(&c);
	return got;
}

static bool has_id(uint8_t ids[][32], int n, const uint8_t id[32])
{
	for (int i = 0; i < n; i++)
		if (!memcmp(ids[i], id, 32))
			return true;
	return false;
}

static void test_gossip_through_b(void **state)
{
	uint8_t ids[16][32];
	int n;

	(void)state;
	/* A holds A, B and C: C's descriptor came to A through B (A's only link). */
	assert_true(wait_metric(&A, "wgrelayd_network_store_descriptors", 3) >= 3);
	assert_int_equal(nrelay_metric(&A, "wgrelayd_network_links"), 1);
	n = discover_all(&A, 0, 0, 0, 32, ids, 16);
	assert_true(n >= 3);
	assert_true(has_id(ids, n, C.id));
	assert_true(has_id(ids, n, B.id));
	assert_true(has_id(ids, n, A.id));
}

static void test_discover_paging(void **state)
{
	uint8_t all[16][32], paged[16][32], near[16][32];
	int n, m, k;

	(void)state;
	n = discover_all(&A, 0, 0, 0, 32, all, 16);
	/* One a page: the same relays, in strictly increasing identity order. */
	m = discover_all(&A, 0, 0, 0, 1, paged, 16);
	assert_int_equal(m, n);
	for (int i = 0; i < m; i++) {
		assert_memory_equal(paged[i], all[i], 32);
		if (i)
			assert_true(memcmp(paged[i - 1], paged[i], 32) < 0);
	}
	/* Near B's place: B (the only one with a location) first, then the rest, two a page. */
	k = discover_all(&A, PROTO_DISCOVER_NEAR, 48850000, 2350000, 2, near, 16);
	assert_int_equal(k, n);
	assert_memory_equal(near[0], B.id, 32);
	/* Filters: every relay here offers direct mode and is far from full. */
	k = discover_all(&A, PROTO_DISCOVER_MODES | PROTO_DISCOVER_NOT_FULL, 0, 0, 32, paged, 16);
	assert_int_equal(k, n);
	assert_true(nrelay_metric(&A, "wgrelayd_network_discover_total") >= 4);
}

/* A relay with [Network] off answers DISCOVER with an error that says so. */
static void test_discover_network_off(void **state)
{
	struct ctrl_discover q = {.max = 8};
	uint8_t pt[PROTO_MAX_CTRL_PLAIN];
	struct ctrl_msg m;
	struct tclient c;
	int k;

	(void)state;
	nrelay_start(&D, free_port(), 9, 10, "Network = off\n");
	nclient(&c, &D);
	k = ctrl_encode_discover(&q, pt, sizeof(pt));
	assert_int_equal(k, PROTO_CTRL_REQ_MIN);
	send_raw(&c, pt, (size_t)k);
	k = recv_raw(&c, pt, sizeof(pt), T_MS);
	assert_true(k > 0);
	assert_int_equal(ctrl_decode(pt, (size_t)k, &m), 0);
	assert_int_equal(m.type, CTRL_ERROR);
	assert_int_equal(m.code, PROTO_ERR_BAD_REQUEST);
	assert_non_null(strstr(m.text, "no relay network"));
	/* §7: no answer larger than the request */
	assert_true((size_t)k <= PROTO_CTRL_REQ_MIN);
	tclient_close(&c);
	assert_int_equal(nrelay_stop(&D), 0);
}

/*
 * A Peer line's relay comes back with the same Noise key and a new identity: the link is made
 * again under the new one and the old identity leaves the plan (one candidate, not two).
 */
static void test_peer_identity_change(void **state)
{
	char peer[160], b64[KEY_B64_STRLEN], idpath[96], log[16384];
	uint8_t old_id[32];
	struct identity id;

	(void)state;
	nrelay_start(&F, free_port(), 7, 10, "Network = on\n");
	key_to_base64(b64, F.pub);
	snprintf(peer, sizeof(peer), "Network = on\nPeer = %s %s\nMinLinks = 1\nMaxLinks = 1\n",
	         F.addr, b64);
	nrelay_start(&G, free_port(), 8, 10, peer);
	assert_int_equal(wait_metric(&G, "wgrelayd_network_links", 1), 1);
	assert_int_equal(nrelay_metric(&G, "wgrelayd_network_candidates"), 1);
	memcpy(old_id, F.id, 32);

	/* F again: same key file, port and config, its identity file gone. */
	assert_int_equal(nrelay_halt(&F), 0);
	snprintf(idpath, sizeof(idpath), "%s/identity", F.dir);
	assert_int_equal(unlink(idpath), 0);
	nrelay_exec(&F);
	assert_true(nrelay_pinged(&F));
	assert_int_equal(identity_load(&id, idpath, log, sizeof(log)), 0);
	assert_memory_not_equal(id.pk, old_id, 32);
	identity_wipe(&id);

	/* G links with the new identity and forgets the old: one candidate again. */
	for (int i = 0; i < POLL_TIMES * 3; i++) {
		nrelay_log(&G, log, sizeof(log));
		if (nrelay_metric(&G, "wgrelayd_network_links") == 1 &&
		    nrelay_metric(&G, "wgrelayd_network_candidates") == 1 && strstr(log, "is now"))
			break;
		usleep(NRELAY_POLL_MS * 1000);
	}
	assert_non_null(strstr(log, "is now"));
	assert_int_equal(nrelay_metric(&G, "wgrelayd_network_links"), 1);
	assert_int_equal(nrelay_metric(&G, "wgrelayd_network_candidates"), 1);
	assert_int_equal(nrelay_stop(&G), 0);
	assert_int_equal(nrelay_stop(&F), 0);
}

static void test_desc_req(void **state)
{
	uint8_t req[PROTO_DESC_REQ_LEN + 1], buf[2048];
	const uint8_t *dp;
	struct descriptor d;
	size_t dl;
	long long before = nrelay_metric(&A, "wgrelayd_network_desc_requests_total");
	int fd = tclient_udp(), n;

	(void)state;
	assert_true(before >= 0);
	/* 1023 bytes: not a DESC_REQ, ignored. */
	frame_encode_desc_req(req);
	tclient_sendto(fd, req, PROTO_DESC_REQ_LEN - 1, &A.a);
	assert_int_equal(tclient_recvfrom(fd, buf, sizeof(buf), NULL, 500), -ETIMEDOUT);
	/* 1024 bytes: answered with A's descriptor (the positive control of the silence). */
	tclient_sendto(fd, req, PROTO_DESC_REQ_LEN, &A.a);
	n = tclient_recvfrom(fd, buf, sizeof(buf), NULL, T_MS);
	assert_true(n > PROTO_HDR_LEN && n <= PROTO_DESC_REQ_LEN);
	assert_int_equal(frame_decode_desc_resp(buf, (size_t)n, &dp, &dl), 0);
	assert_int_equal(desc_decode(dp, dl, &d), 0);
	assert_memory_equal(d.noise, A.pub, 32);
	assert_memory_equal(d.identity, A.id, 32);
	assert_int_equal(d.endpoints[0].transport, DESC_T_UDP);
	assert_true(addr_equal(&d.endpoints[0].addr, &A.a));
	close(fd);
	assert_int_equal(nrelay_metric(&A, "wgrelayd_network_desc_requests_total"), before + 1);
}

/* x's descriptor as DESC_REQ gets it: 0, or -1 when nothing valid came back. */
static int fetch_desc(const struct nrelay *x, struct descriptor *d)
{
	uint8_t req[PROTO_DESC_REQ_LEN], buf[2048];
	const uint8_t *dp;
	size_t dl;
	int fd = tclient_udp(), n, r = -1;

	frame_encode_desc_req(req);
	tclient_sendto(fd, req, sizeof(req), &x->a);
	n = tclient_recvfrom(fd, buf, sizeof(buf), NULL, T_MS);
	if (n > 0 && frame_decode_desc_resp(buf, (size_t)n, &dp, &dl) == 0 &&
	    desc_decode(dp, dl, d) == 0)
		r = 0;
	close(fd);
	return r;
}

/* A reload that changes what the descriptor states has it re-signed (§9.4), within seconds. */
static void test_reload_resigns(void **state)
{
	struct descriptor d0, d;
	FILE *f;
	int i;

	(void)state;
	assert_int_equal(fetch_desc(&C, &d0), 0);
	assert_int_not_equal(d0.max_circuits, 77);
	assert_non_null(f = fopen(C.conf, "a"));
	fputs("[Limits]\nMaxCircuits = 77\n", f);
	fclose(f);
	assert_int_equal(kill(C.pid, SIGHUP), 0);
	for (i = 0; i < 50; i++) {
		assert_int_equal(fetch_desc(&C, &d), 0);
		if (d.max_circuits == 77)
			break;
		usleep(100 * 1000);
	}
	assert_int_equal(d.max_circuits, 77);
	assert_true(d.seq > d0.seq);
}

/* HELLO with desc on a fresh client link to B; returns the first message B sends back. */
static int hello(struct tclient *c, const uint8_t *desc, size_t len, uint8_t *pt, size_t cap)
{
	uint8_t msg[PROTO_MAX_CTRL_PLAIN];
	int k = ctrl_encode_desc_msg(CTRL_HELLO, desc, len, msg, sizeof(msg));

	assert_true(k > 0);
	send_raw(c, msg, (size_t)k);
	return recv_raw(c, pt, cap, T_MS);
}

static void test_hello_wrong_noise_key(void **state)
{
	uint8_t desc[DESC_MAX_LEN], other[32], pt[PROTO_MAX_CTRL_PLAIN];
	const char *name = "wgrelayd_network_refused_total{reason=\"noise-key-mismatch\"}";
	long long before = nrelay_metric(&B, name),
	          links = nrelay_metric(&B, "wgrelayd_network_links");
	struct ctrl_msg m;
	struct tclient c;
	int n;

	(void)state;
	assert_true(before >= 0);
	/* A relay whose HELLO names another Noise key than the one its handshake proved. */
	randombytes_buf(other, sizeof(other));
	n = make_desc(other, false, desc, sizeof(desc), NULL);
	nclient(&c, &B);
	n = hello(&c, desc, (size_t)n, pt, sizeof(pt));
	assert_true(n > 0);
	assert_int_equal(ctrl_decode(pt, (size_t)n, &m), 0);
	assert_int_equal(m.type, CTRL_ERROR);
	assert_int_equal(m.code, PROTO_ERR_BAD_HELLO);
	assert_string_equal(m.text, "noise-key-mismatch");
	assert_int_equal(nrelay_metric(&B, name), before + 1);
	assert_int_equal(nrelay_metric(&B, "wgrelayd_network_links"), links);
	tclient_close(&c);
}

static void test_forged_descriptor(void **state)
{
	uint8_t desc[DESC_MAX_LEN], pt[PROTO_MAX_CTRL_PLAIN], msg[PROTO_MAX_CTRL_PLAIN], fresh[32];
	const char *name = "wgrelayd_network_refused_total{reason=\"bad-signature\"}";
	long long before = nrelay_metric(&B, name),
	          stored = nrelay_metric(&B, "wgrelayd_network_store_descriptors");
	const uint8_t *dp;
	size_t dl;
	struct tclient c;
	int n, k;

	(void)state;
	assert_true(before >= 0 && stored >= 3);
	/* A test client posing as a relay: its own valid HELLO makes it a relay link of B's. */
	nclient(&c, &B);
	n = make_desc(c.pub, false, desc, sizeof(desc), NULL);
	n = hello(&c, desc, (size_t)n, pt, sizeof(pt));
	assert_true(n > 0);
	assert_int_equal(ctrl_decode_desc_msg(CTRL_HELLO, pt, (size_t)n, &dp, &dl), 0);
	/* Then it pushes a forged descriptor: refused and counted, never stored. */
	n = make_desc(c.pub, true, desc, sizeof(desc), NULL);
	k = ctrl_encode_desc_msg(CTRL_DESC, desc, (size_t)n, msg, sizeof(msg));
	send_raw(&c, msg, (size_t)k);
	assert_int_equal(wait_metric(&B, name, before + 1), before + 1);
	/* Positive control: a good one pushed the same way is stored (the HELLO's too). */
	n = make_desc(c.pub, false, desc, sizeof(desc), fresh);
	k = ctrl_encode_desc_msg(CTRL_DESC, desc, (size_t)n, msg, sizeof(msg));
	send_raw(&c, msg, (size_t)k);
	assert_int_equal(wait_metric(&B, "wgrelayd_network_store_descriptors", stored + 2),
	                 stored + 2);
	assert_int_equal(nrelay_metric(&B, name), before + 1);
	tclient_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_links_up),
	    cmocka_unit_test(test_gossip_work_metrics),
	    cmocka_unit_test(test_gossip_through_b),
	    cmocka_unit_test(test_discover_paging),
	    cmocka_unit_test(test_desc_req),
	    cmocka_unit_test(test_discover_network_off),
	    cmocka_unit_test(test_peer_identity_change),
	    cmocka_unit_test(test_hello_wrong_noise_key),
	    cmocka_unit_test(test_forged_descriptor),
	    cmocka_unit_test(test_reload_resigns),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
