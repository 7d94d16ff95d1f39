/*
 * test_discover.c: the helper's side of relay discovery: DISCOVER as sent, DESC and DISCOVERED
 * as read, the paging of a run (cursor, page cap, timeouts, lost and flooding replies), the
 * verdict on each descriptor, and descriptors through a real SQLite cache into the relays the
 * helper loads (registry.c).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "cache.h"
#include "discover.h"
#include "frame.h"
#include "identity.h"
#include "key.h"
#include "refresh.h"
#include "registry.h"

static const uint8_t zero32[32];

/* A relay's identity from a one-byte seed. */
static void ident(struct identity *id, uint8_t seed)
{
	uint8_t s[IDENTITY_SEED_LEN];

	memset(s, seed, sizeof(s));
	identity_from_seed(id, s);
}

/* A current descriptor of id with Noise key noise[0..31] = nk at endpoint ep (ip:port). */
static void make_desc(struct descriptor *d, const struct identity *id, uint8_t nk, const char *ep,
                      uint64_t seq, uint64_t now)
{
	memset(d, 0, sizeof(*d));
	memcpy(d->identity, id->pk, 32);
	memset(d->noise, nk, 32);
	d->seq = seq;
	d->issued_at = now - 60;
	d->expires_at = now + 86400;
	d->modes = DESC_MODE_DIRECT | DESC_MODE_SEALED;
	d->auth = DESC_AUTH_OPEN;
	d->max_circuits = 100;
	strcpy(d->version, "wgrelayd test");
	d->n_endpoints = 1;
	d->endpoints[0].transport = DESC_T_UDP;
	assert_int_equal(addr_parse(&d->endpoints[0].addr, ep, 0), 0);
}

/* make_desc, signed: its encoding into out, the length. */
static size_t signed_desc(uint8_t *out, const struct identity *id, uint8_t nk, const char *ep,
                          uint64_t seq, uint64_t now, struct descriptor *d)
{
	struct descriptor tmp;

	if (!d)
		d = &tmp;
	make_desc(d, id, nk, ep, seq, now);
	int n = desc_sign(d, id->sk, out, DESC_MAX_LEN);
	assert_true(n > 0);
	return (size_t)n;
}

/* A DESC message carrying desc (len bytes); its length. */
static size_t desc_msg(uint8_t *out, size_t cap, const uint8_t *desc, size_t len)
{
	int n = ctrl_encode_desc_msg(CTRL_DESC, desc, len, out, cap);
	assert_true(n > 0);
	return (size_t)n;
}

static size_t discovered_msg(uint8_t *out, const uint8_t next[32], uint8_t count)
{
	int n = ctrl_encode_discovered(next ? next : zero32, count, out, 64);
	assert_true(n > 0);
	return (size_t)n;
}

/* The request is what the relay's decoder reads back: flags, place, modes, cursor, max. */
static void test_encode(void **state)
{
	(void)state;
	struct discover_filter f = {
	    .near = true, .lat_e6 = -33868820, .lon_e6 = 151209296, .modes = DESC_MODE_SEALED};
	struct ctrl_discover d;
	uint8_t after[32], out[128];

	memset(after, 0xab, sizeof(after));
	int n = discover_encode(&f, after, 17, out, sizeof(out));
	assert_int_equal(n, DISCOVER_REQ_LEN);
	assert_int_equal(out[0], CTRL_DISCOVER);
	assert_int_equal(ctrl_decode_discover(out, (size_t)n, &d), 0);
	assert_int_equal(d.flags,
	                 PROTO_DISCOVER_NEAR | PROTO_DISCOVER_MODES | PROTO_DISCOVER_NOT_FULL);
	assert_int_equal(d.lat_e6, -33868820);
	assert_int_equal(d.lon_e6, 151209296);
	assert_int_equal(d.modes, DESC_MODE_SEALED);
	assert_memory_equal(d.after, after, 32);
	assert_int_equal(d.max, 17);
	/* Nothing known: not-full only, from the start. */
	f = (struct discover_filter){0};
	n = discover_encode(&f, NULL, PROTO_DISCOVER_MAX, out, sizeof(out));
	assert_int_equal(ctrl_decode_discover(out, (size_t)n, &d), 0);
	assert_int_equal(d.flags, PROTO_DISCOVER_NOT_FULL);
	assert_memory_equal(d.after, zero32, 32);
	assert_int_equal(discover_encode(&f, NULL, 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(discover_encode(&f, NULL, PROTO_DISCOVER_MAX + 1, out, sizeof(out)),
	                 -EINVAL);
	assert_true(discover_encode(&f, NULL, 1, out, DISCOVER_REQ_LEN - 1) < 0);
	f = (struct discover_filter){.near = true, .lat_e6 = 91000000};
	assert_int_equal(discover_encode(&f, NULL, 1, out, sizeof(out)), -EINVAL);
}

/* DESC and DISCOVERED with padding; anything else is named. */
static void test_parse(void **state)
{
	(void)state;
	struct discover_reply r;
	uint8_t msg[1200], next[32], desc[40];

	memset(desc, 0x5a, sizeof(desc));
	size_t n = desc_msg(msg, sizeof(msg), desc, sizeof(desc));
	memset(msg + n, 0, 20); /* padding */
	assert_int_equal(discover_parse(msg, n + 20, &r), 0);
	assert_int_equal(r.type, CTRL_DESC);
	assert_int_equal(r.desc_len, sizeof(desc));
	assert_ptr_equal(r.desc, msg + 3);
	msg[n + 5] = 1;
	assert_int_equal(discover_parse(msg, n + 20, &r), FRAME_ELONG);
	assert_int_equal(discover_parse(msg, n - 1, &r), FRAME_ESHORT);
	msg[1] = msg[2] = 0; /* an empty descriptor */
	assert_int_equal(discover_parse(msg, 3, &r), FRAME_EFIELD);

	memset(next, 7, sizeof(next));
	n = discovered_msg(msg, next, 3);
	assert_int_equal(discover_parse(msg, n, &r), 0);
	assert_int_equal(r.type, CTRL_DISCOVERED);
	assert_memory_equal(r.next, next, 32);
	assert_int_equal(r.count, 3);
	assert_int_equal(discover_parse(msg, n - 1, &r), FRAME_ESHORT);
	msg[33] = PROTO_DISCOVER_MAX + 1;
	assert_int_equal(discover_parse(msg, n, &r), FRAME_EFIELD);

	msg[0] = CTRL_KEEPALIVE;
	assert_int_equal(discover_parse(msg, 1, &r), FRAME_ETYPE);
	assert_int_equal(discover_parse(msg, 0, &r), FRAME_ESHORT);
}

/* Feed msg; expect ev. */
static void input(struct discover_run *r, const uint8_t *msg, size_t len, enum discover_event ev)
{
	struct discover_reply rep;

	assert_int_equal(discover_input(r, msg, len, &rep), ev);
}

/* The request the run sends at now (must send one): its cursor. */
static void poll_sends(struct discover_run *r, int64_t now, const uint8_t after[32])
{
	uint8_t req[128];
	struct ctrl_discover d;
	int n = discover_poll(r, true, now, req, sizeof(req));

	assert_int_equal(n, DISCOVER_REQ_LEN);
	assert_int_equal(ctrl_decode_discover(req, (size_t)n, &d), 0);
	assert_memory_equal(d.after, after ? after : zero32, 32);
	assert_int_equal(d.max, PROTO_DISCOVER_MAX);
}

/* Two pages: DESCs, the cursor moving on, the last page; nothing is asked unasked-for. */
static void test_paging(void **state)
{
	(void)state;
	struct discover_run r;
	struct discover_filter f = {0};
	uint8_t d[64], p[64], next[32], req[128];
	size_t dn = desc_msg(d, sizeof(d), (const uint8_t *)"xx", 2);

	memset(&r, 0, sizeof(r));
	/* No run: replies are unexpected, nothing to send. */
	input(&r, d, dn, DISCOVER_EV_DROP);
	assert_int_equal(discover_poll(&r, true, 0, req, sizeof(req)), 0);
	assert_false(discover_busy(&r));

	discover_start(&r, &f);
	assert_true(discover_busy(&r));
	input(&r, d, dn, DISCOVER_EV_DROP); /* before the request went out */
	poll_sends(&r, 1000, NULL);
	assert_int_equal(discover_poll(&r, true, 1001, req, sizeof(req)), 0); /* one at a time */
	for (int i = 0; i < PROTO_DISCOVER_MAX; i++)
		input(&r, d, dn, DISCOVER_EV_DESC);
	input(&r, d, dn, DISCOVER_EV_DROP); /* more than a page holds */
	memset(next, 0x40, sizeof(next));
	input(&r, p, discovered_msg(p, next, PROTO_DISCOVER_MAX), DISCOVER_EV_PAGE);
	poll_sends(&r, 1100, next);
	/* A cursor that does not move forward is stale or hostile. */
	input(&r, p, discovered_msg(p, next, 0), DISCOVER_EV_DROP);
	uint8_t back[32];
	memset(back, 0x3f, sizeof(back));
	input(&r, p, discovered_msg(p, back, 0), DISCOVER_EV_DROP);
	input(&r, d, dn, DISCOVER_EV_DESC);
	input(&r, p, discovered_msg(p, NULL, 1), DISCOVER_EV_DONE);
	assert_false(discover_busy(&r));
	assert_true(r.stats.complete);
	assert_false(r.stats.timed_out);
	assert_int_equal(r.stats.pages, 2);
	assert_int_equal(r.stats.dropped, 4);
	assert_int_equal(r.stats.lost, 0);
	input(&r, p, discovered_msg(p, NULL, 0), DISCOVER_EV_DROP); /* after the end */
}

/* An unanswered page is asked again, then the run gives up; a link going down ends it. */
static void test_timeout_and_down(void **state)
{
	(void)state;
	struct discover_run r;
	struct discover_filter f = {0};
	uint8_t req[128];
	int64_t t = 5000;

	discover_start(&r, &f);
	poll_sends(&r, t, NULL);
	assert_int_equal(discover_poll(&r, true, t + DISCOVER_PAGE_TIMEOUT_MS - 1, req, 128), 0);
	int sent = 1, polls = 0;
	for (; discover_busy(&r) && polls < 100; polls++) {
		t += 500;
		sent += discover_poll(&r, true, t, req, sizeof(req)) > 0;
	}
	assert_int_equal(sent, DISCOVER_PAGE_TRIES);
	assert_false(discover_busy(&r));
	assert_true(r.stats.timed_out);
	assert_false(r.stats.complete);

	discover_start(&r, &f);
	assert_true(r.stats.timed_out == false);
	poll_sends(&r, t, NULL);
	assert_int_equal(discover_poll(&r, false, t + 1, req, sizeof(req)), 0);
	assert_false(discover_busy(&r));
	/* Not up from the start: nothing goes out. */
	discover_start(&r, &f);
	assert_int_equal(discover_poll(&r, false, t + 2, req, sizeof(req)), 0);
	assert_false(discover_busy(&r));
}

/* DESC the relay counted but that never came: the same page once more, while tries last. */
static void test_lost(void **state)
{
	(void)state;
	struct discover_run r;
	struct discover_filter f = {0};
	uint8_t d[64], p[64], next[32];
	size_t dn = desc_msg(d, sizeof(d), (const uint8_t *)"xx", 2);

	memset(next, 0x10, sizeof(next));
	discover_start(&r, &f);
	poll_sends(&r, 0, NULL);
	input(&r, d, dn, DISCOVER_EV_DESC);
	input(&r, p, discovered_msg(p, next, 3), DISCOVER_EV_PAGE);
	poll_sends(&r, 10, NULL); /* the first page again */
	input(&r, d, dn, DISCOVER_EV_DESC);
	input(&r, p, discovered_msg(p, next, 3), DISCOVER_EV_PAGE);
	poll_sends(&r, 20, NULL);
	input(&r, p, discovered_msg(p, next, 3), DISCOVER_EV_PAGE);
	poll_sends(&r, 30, next); /* tries used up: on with what came */
	assert_int_equal(r.stats.lost, 2 + 2 + 3);
	assert_int_equal(r.stats.pages, 1);
}

/* A relay that always has one more page: the run stops at DISCOVER_MAX_PAGES. */
static void test_page_cap(void **state)
{
	(void)state;
	struct discover_run r;
	struct discover_filter f = {0};
	uint8_t p[64], next[32], req[128];
	enum discover_event ev = DISCOVER_EV_PAGE;
	unsigned asked = 0;

	discover_start(&r, &f);
	memset(next, 0, sizeof(next));
	for (unsigned i = 0; i < 1000 && ev == DISCOVER_EV_PAGE; i++) {
		asked += discover_poll(&r, true, i, req, sizeof(req)) > 0;
		next[30] = (uint8_t)((i + 1) >> 8);
		next[31] = (uint8_t)(i + 1);
		struct discover_reply rep;
		size_t n = discovered_msg(p, next, 0);
		ev = discover_input(&r, p, n, &rep);
	}
	assert_int_equal(ev, DISCOVER_EV_DONE);
	assert_int_equal(asked, DISCOVER_MAX_PAGES);
	assert_false(r.stats.complete);
	assert_false(discover_busy(&r));
}

/* The rules, each failing alone, in their order; the good case stored. */
static void test_judge(void **state)
{
	(void)state;
	struct identity id;
	struct descriptor d;
	struct addr pub, lo, priv, global;
	uint8_t via_key[32];
	uint64_t now = 1700000000;
	struct discover_known k = {0};

	ident(&id, 1);
	memset(via_key, 0x99, sizeof(via_key));
	assert_int_equal(addr_parse(&pub, "198.51.100.1:51821", 0), 0);
	assert_int_equal(addr_parse(&lo, "127.0.0.1:51821", 0), 0);
	assert_int_equal(addr_parse(&priv, "10.1.2.3:51821", 0), 0);
	/* An address value only (nothing is sent): a relay on the Internet. */
	assert_int_equal(addr_parse(&global, "8.8.8.8:51821", 0), 0);
	make_desc(&d, &id, 0x11, "203.0.113.5:51821", 5, now);
	assert_int_equal(discover_judge(&d, now, &pub, via_key, &k, 10), DISCOVER_NEW);

	d.expires_at = now;
	assert_int_equal(discover_judge(&d, now, &pub, via_key, &k, 10), DISCOVER_R_EXPIRED);
	make_desc(&d, &id, 0x11, "203.0.113.5:51821", 5, now);
	d.issued_at = now + DESC_MAX_SKEW_S + 1;
	d.expires_at = d.issued_at + 60;
	assert_int_equal(discover_judge(&d, now, &pub, via_key, &k, 10), DISCOVER_R_FUTURE);

	/* Where a relay may point helpers: loopback from loopback, private from private. */
	const struct {
		const char *ep;
		const struct addr *via;
		enum discover_verdict v;
	} scope[] = {
	    {"127.0.0.1:51821", &pub, DISCOVER_R_SCOPE},
	    {"127.0.0.1:51821", &lo, DISCOVER_NEW},
	    {"10.0.0.7:51821", &pub, DISCOVER_R_SCOPE},
	    {"10.0.0.7:51821", &priv, DISCOVER_NEW},
	    {"10.0.0.7:51821", &lo, DISCOVER_NEW},
	    {"127.0.0.2:51821", &priv, DISCOVER_R_SCOPE},
	    {"0.0.0.0:51821", &lo, DISCOVER_R_SCOPE},
	    {"[ff02::1]:51821", &lo, DISCOVER_R_SCOPE},
	    {"169.254.1.1:51821", &lo, DISCOVER_R_SCOPE},
	    {"[2001:db8::1]:51821", &pub, DISCOVER_NEW},
	    /* Ranges no one routes: only from a relay that is not on the Internet either. */
	    {"203.0.113.9:51821", &global, DISCOVER_R_SCOPE},
	    {"[2001:db8::1]:51821", &global, DISCOVER_R_SCOPE},
	    {"198.18.0.9:51821", &global, DISCOVER_R_SCOPE},
	    {"240.0.0.9:51821", &global, DISCOVER_R_SCOPE},
	    {"198.18.0.9:51821", &priv, DISCOVER_NEW},
	    {"240.0.0.9:51821", &lo, DISCOVER_NEW},
	    {"10.0.0.7:51821", &global, DISCOVER_R_SCOPE},
	    {"8.8.4.4:51821", &global, DISCOVER_NEW},
	    {"8.8.4.4:51821", &pub, DISCOVER_NEW},
	};
	for (size_t i = 0; i < sizeof(scope) / sizeof(scope[0]); i++) {
		make_desc(&d, &id, 0x11, scope[i].ep, 5, now);
		if (discover_judge(&d, now, scope[i].via, via_key, &k, 10) != scope[i].v)
			fail_msg("%s: not %s", scope[i].ep, discover_verdict_name(scope[i].v));
	}

	make_desc(&d, &id, 0x11, "203.0.113.5:51821", 5, now);
	k.bootstrap_diff = true;
	assert_int_equal(discover_judge(&d, now, &pub, via_key, &k, 10), DISCOVER_R_BOOTSTRAP);
	k = (struct discover_known){.key_held = true, .key_other_id = true};
	assert_int_equal(discover_judge(&d, now, &pub, via_key, &k, 10), DISCOVER_R_CONFLICT);
	/* ... unless the link it came on proved that very key. */
	memset(via_key, 0x11, sizeof(via_key));
	assert_int_equal(discover_judge(&d, now, &pub, via_key, &k, 10), DISCOVER_NEW);
	memset(via_key, 0x99, sizeof(via_key));

	k = (struct discover_known){.have = true, .seq = 5};
	assert_int_equal(discover_judge(&d, now, &pub, via_key, &k, 10), DISCOVER_UNCHANGED);
	k.seq = 6;
	assert_int_equal(discover_judge(&d, now, &pub, via_key, &k, 10), DISCOVER_UNCHANGED);
	k.seq = 4;
	assert_int_equal(discover_judge(&d, now, &pub, via_key, &k, 10), DISCOVER_UPDATED);
	/* A bootstrap line's first descriptor updates it, whatever is stored elsewhere. */
	k = (struct discover_known){.key_held = true, .key_trusted = true, .stored = 10};
	assert_int_equal(discover_judge(&d, now, &pub, via_key, &k, 10), DISCOVER_UPDATED);

	/* Full: only a descriptor that outlives the soonest to expire makes room. */
	k = (struct discover_known){.stored = 10, .soonest = d.expires_at};
	assert_int_equal(discover_judge(&d, now, &pub, via_key, &k, 10), DISCOVER_R_FULL);
	k.soonest = d.expires_at - 1;
	assert_int_equal(discover_judge(&d, now, &pub, via_key, &k, 10), DISCOVER_NEW);
	k.stored = 9;
	k.soonest = 0;
	assert_int_equal(discover_judge(&d, now, &pub, via_key, &k, 10), DISCOVER_NEW);

	assert_string_equal(discover_verdict_name(DISCOVER_R_BOOTSTRAP), "bootstrap-key");
	assert_string_equal(discover_verdict_name(DISCOVER_V_MAX), "?");
}

/* The cache's relay of key nk (base64 of 32 bytes nk), NULL when not listed. */
static const struct cache_relay *find(const struct cache_relay *r, size_t n, uint8_t nk)
{
	uint8_t k[32];
	char b64[KEY_B64_STRLEN];

	memset(k, nk, sizeof(k));
	key_to_base64(b64, k);
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].pubkey, b64) == 0)
			return &r[i];
	return NULL;
}

static struct cache *mem(void)
{
	struct cache *c = NULL;
	assert_int_equal(cache_open(&c, ":memory:"), 0);
	return c;
}

/* Descriptors through the cache: stored, never replaced by an equal or lower seq, refused. */
static void test_take(void **state)
{
	(void)state;
	struct cache *c = mem();
	struct identity a, b, e;
	struct discover_stats st = {0};
	struct addr via;
	struct cache_relay *r;
	size_t n, len;
	uint8_t buf[DESC_MAX_LEN], key[32], via_key[32];
	char b64[KEY_B64_STRLEN];
	uint64_t now = (uint64_t)time(NULL);

	ident(&a, 1);
	ident(&b, 2);
	ident(&e, 3);
	memset(via_key, 0x77, sizeof(via_key));
	assert_int_equal(addr_parse(&via, "198.51.100.1:51821", 0), 0);
	/* A bootstrap line for 198.51.100.9 with key 0x22. */
	memset(key, 0x22, sizeof(key));
	key_to_base64(b64, key);
	assert_int_equal(cache_bootstrap_add(c, "198.51.100.9:51821", b64, 5), 0);

	len = signed_desc(buf, &a, 0x11, "203.0.113.5:51821", 5, now, NULL);
	assert_int_equal(registry_take_desc(c, "relay", buf, len, &via, via_key, now, &st),
	                 DISCOVER_NEW);
	assert_int_equal(registry_take_desc(c, "relay", buf, len, &via, via_key, now, &st),
	                 DISCOVER_UNCHANGED);
	len = signed_desc(buf, &a, 0x11, "203.0.113.5:51821", 4, now, NULL);
	assert_int_equal(registry_take_desc(c, "relay", buf, len, &via, via_key, now, &st),
	                 DISCOVER_UNCHANGED);
	/* A new key and place for a: the row moves, the old key goes. */
	len = signed_desc(buf, &a, 0x12, "203.0.113.6:51821", 6, now, NULL);
	assert_int_equal(registry_take_desc(c, "relay", buf, len, &via, via_key, now, &st),
	                 DISCOVER_UPDATED);
	uint8_t got[DESC_MAX_LEN];
	memset(key, 0x12, sizeof(key));
	key_to_base64(b64, key);
	assert_int_equal(cache_desc_get(c, b64, got, sizeof(got)), (int)len);
	assert_memory_equal(got, buf, len);
	/* The bootstrap relay's own descriptor joins its line; another key there is refused. */
	len = signed_desc(buf, &b, 0x22, "198.51.100.9:51821", 1, now, NULL);
	assert_int_equal(registry_take_desc(c, "relay", buf, len, &via, via_key, now, &st),
	                 DISCOVER_UPDATED);
	len = signed_desc(buf, &e, 0x33, "198.51.100.9:51821", 1, now, NULL);
	assert_int_equal(registry_take_desc(c, "relay", buf, len, &via, via_key, now, &st),
	                 DISCOVER_R_BOOTSTRAP);
	/* e claiming a's key: a conflict, unless e's link proves it. */
	len = signed_desc(buf, &e, 0x12, "203.0.113.7:51821", 1, now, NULL);
	assert_int_equal(registry_take_desc(c, "relay", buf, len, &via, via_key, now, &st),
	                 DISCOVER_R_CONFLICT);
	/* Broken signature; expired. */
	len = signed_desc(buf, &e, 0x34, "203.0.113.8:51821", 1, now, NULL);
	buf[len - 1] ^= 1;
	assert_int_equal(registry_take_desc(c, "relay", buf, len, &via, via_key, now, &st),
	                 DISCOVER_R_INVALID);
	assert_int_equal(registry_take_desc(c, "relay", buf, 10, &via, via_key, now, &st),
	                 DISCOVER_R_INVALID);
	len = signed_desc(buf, &e, 0x34, "203.0.113.8:51821", 1, now - 2 * 86400, NULL);
	assert_int_equal(registry_take_desc(c, "relay", buf, len, &via, via_key, now, &st),
	                 DISCOVER_R_EXPIRED);

	assert_int_equal(st.verdicts[DISCOVER_NEW], 1);
	assert_int_equal(st.verdicts[DISCOVER_UPDATED], 2);
	assert_int_equal(st.verdicts[DISCOVER_UNCHANGED], 2);
	assert_int_equal(discover_refusals(&st), 5);
	assert_int_equal(st.invalid[DESC_E_SIG], 1);
	char sum[256];
	refresh_summary(&st, sum, sizeof(sum));
	assert_non_null(strstr(sum, "1 new, 2 updated, 2 unchanged, 5 refused ("));
	assert_non_null(strstr(sum, "1 bootstrap-key"));
	assert_non_null(strstr(sum, "1 key-conflict"));
	assert_non_null(strstr(sum, "1 expired"));
	assert_non_null(strstr(sum, "invalid:" /* the decoder's names */));

	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 2); /* the line, and a under its new key */
	const struct cache_relay *ra = find(r, n, 0x12), *rb = find(r, n, 0x22);
	assert_non_null(ra);
	assert_non_null(rb);
	assert_null(find(r, n, 0x11));
	assert_string_equal(ra->source, "relay");
	assert_string_equal(ra->endpoint, "203.0.113.6:51821");
	assert_true(ra->has_desc);
	assert_int_equal(ra->seq, 6);
	assert_int_equal(ra->expires, (int64_t)now + 86400);
	assert_int_equal(ra->issued, (int64_t)now - 60);
	key_to_base64(b64, a.pk);
	assert_string_equal(ra->identity, b64);
	assert_string_equal(rb->source, "bootstrap");
	assert_string_equal(rb->endpoint, "198.51.100.9:51821");
	assert_true(rb->has_desc);
	free(r);

	/* The link of key 0x12 itself vouches for it: e's proven descriptor takes the key. */
	memset(via_key, 0x12, sizeof(via_key));
	len = signed_desc(buf, &e, 0x12, "203.0.113.7:51821", 1, now, NULL);
	assert_int_equal(registry_take_desc(c, "relay", buf, len, &via, via_key, now, &st),
	                 DISCOVER_NEW);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 2);
	key_to_base64(b64, e.pk);
	assert_string_equal(find(r, n, 0x12)->identity, b64);
	free(r);
	cache_free(c);
}

/* The helper loads lines and current discovered relays only, lines first. */
static void test_load(void **state)
{
	(void)state;
	struct cache *c = mem();
	struct identity a, b;
	struct discover_stats st = {0};
	struct registry_entry *e;
	struct addr via;
	size_t n, len;
	uint8_t buf[DESC_MAX_LEN], key[32];
	char b64[KEY_B64_STRLEN];
	uint64_t now = (uint64_t)time(NULL);

	ident(&a, 1);
	ident(&b, 2);
	assert_int_equal(addr_parse(&via, "198.51.100.1:51821", 0), 0);
	len = signed_desc(buf, &a, 0x11, "192.0.2.5:51821", 1, now, NULL);
	assert_int_equal(registry_take_desc(c, "relay", buf, len, &via, NULL, now, &st),
	                 DISCOVER_NEW);
	/* b's descriptor expired (stored as the cache would hold it an hour after receipt). */
	len = signed_desc(buf, &b, 0x21, "192.0.2.6:51821", 1, now, NULL);
	struct cache_desc cd = {.source = "relay",
	                        .seq = 1,
	                        .issued = (int64_t)now - 7200,
	                        .expires = (int64_t)now - 1,
	                        .blob = buf,
	                        .len = len};
	snprintf(cd.endpoint, sizeof(cd.endpoint), "192.0.2.6:51821");
	key_to_base64(cd.identity, b.pk);
	memset(key, 0x21, sizeof(key));
	key_to_base64(cd.pubkey, key);
	assert_int_equal(cache_desc_store(c, &cd, CACHE_MAX_DISCOVERED), 0);
	memset(key, 0x31, sizeof(key));
	key_to_base64(b64, key);
	assert_int_equal(cache_bootstrap_add(c, "203.0.113.250:51821", b64, 5), 0);

	assert_int_equal(registry_load(c, &e, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(e[0].info.source, "bootstrap"); /* lines first */
	assert_string_equal(e[1].info.endpoint, "192.0.2.5:51821");
	free(e);
	/* The expired one is in the cache (list-relays --no-probe leaves it out too) until pruned. */
	struct cache_relay *r;
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 3);
	free(r);
	assert_int_equal(cache_desc_prune(c, (int64_t)now), 1);
	assert_int_equal(cache_desc_prune(c, (int64_t)now), 0);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 2);
	free(r);
	cache_free(c);
}

/* The source named is the one stored: "dht" for a DHT address's descriptor, "relay" else. */
static void test_take_source(void **state)
{
	(void)state;
	struct cache *c = mem();
	struct identity a, b;
	struct discover_stats st = {0};
	struct cache_relay *r;
	struct addr via;
	size_t n, len;
	uint8_t buf[DESC_MAX_LEN];
	uint64_t now = (uint64_t)time(NULL);

	ident(&a, 1);
	ident(&b, 2);
	assert_int_equal(addr_parse(&via, "198.51.100.1:6881", 0), 0);
	len = signed_desc(buf, &a, 0x11, "192.0.2.5:51821", 1, now, NULL);
	assert_int_equal(registry_take_desc(c, "dht", buf, len, &via, NULL, now, &st),
	                 DISCOVER_NEW);
	len = signed_desc(buf, &b, 0x21, "192.0.2.6:51821", 1, now, NULL);
	assert_int_equal(registry_take_desc(c, "relay", buf, len, &via, NULL, now, &st),
	                 DISCOVER_NEW);
	assert_int_equal(st.verdicts[DISCOVER_NEW], 2);
	assert_int_equal(cache_relay_list(c, &r, &n), 0);
	assert_int_equal(n, 2);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(
		    r[i].source, strcmp(r[i].endpoint, "192.0.2.5:51821") == 0 ? "dht" : "relay");
	free(r);
	cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_encode), cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_paging), cmocka_unit_test(test_timeout_and_down),
	    cmocka_unit_test(test_lost),   cmocka_unit_test(test_page_cap),
	    cmocka_unit_test(test_judge),  cmocka_unit_test(test_take),
	    cmocka_unit_test(test_load),   cmocka_unit_test(test_take_source),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
