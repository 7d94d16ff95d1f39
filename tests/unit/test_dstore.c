/* Unit tests: common/dstore.c (the bounded descriptor store). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "buf.h"
#include "dstore.h"

#define T0 1700000000u

/*
 * A descriptor with the identity {b0, b1, 0...} wrapped without a signature: the store trusts its
 * caller to have verified, so these tests choose buckets and order freely.
 */
static struct dstore_desc *mk(uint8_t b0, uint8_t b1, uint64_t seq, uint64_t expires)
{
	struct descriptor d;
	struct dstore_desc *dd;
	uint8_t bytes[8] = {'W', 'G', 'R', 'D', b0, b1, (uint8_t)seq};

	memset(&d, 0, sizeof(d));
	d.identity[0] = b0;
	d.identity[1] = b1;
	d.identity[31] = 1; /* never the all-zero "from the start" identity */
	d.seq = seq;
	d.issued_at = T0 - 10;
	d.expires_at = expires;
	assert_int_equal(dstore_desc_wrap(&dd, &d, bytes, sizeof(bytes)), 0);
	return dd;
}

/* Insert and drop the caller's reference. */
static int put(struct dstore *s, uint8_t b0, uint8_t b1, uint64_t seq, uint64_t expires)
{
	struct dstore_desc *dd = mk(b0, b1, seq, expires);
	int r = dstore_insert(s, dd, T0);

	dstore_desc_unref(dd);
	return r;
}

static void id_of(uint8_t id[32], uint8_t b0, uint8_t b1)
{
	memset(id, 0, 32);
	id[0] = b0;
	id[1] = b1;
	id[31] = 1;
}

static void test_insert_codes(void **state)
{
	struct dstore *s;
	struct dstore_desc *dd;
	uint8_t id[32];

	(void)state;
	assert_int_equal(dstore_new(&s, 0), 0);
	assert_int_equal(dstore_capacity(s), DSTORE_DEFAULT_CAPACITY);
	assert_int_equal(put(s, 1, 1, 5, T0 + 100), DSTORE_NEW);
	assert_int_equal(put(s, 1, 1, 5, T0 + 100), DSTORE_STALE); /* equal seq */
	assert_int_equal(put(s, 1, 1, 4, T0 + 100), DSTORE_STALE); /* lower seq */
	assert_int_equal(put(s, 1, 1, 6, T0 + 200), DSTORE_UPDATED);
	assert_int_equal(put(s, 1, 2, 1, T0), DSTORE_EXPIRED); /* expires_at == now */
	/* issued beyond the allowed skew */
	dd = mk(1, 3, 1, T0 + 5000);
	dd->d.issued_at = T0 + DESC_MAX_SKEW_S + 1;
	assert_int_equal(dstore_insert(s, dd, T0), DSTORE_FUTURE);
	dd->d.issued_at = T0 + DESC_MAX_SKEW_S; /* at the limit: accepted */
	assert_int_equal(dstore_insert(s, dd, T0), DSTORE_NEW);
	dstore_desc_unref(dd);

	assert_int_equal(dstore_count(s), 2);
	id_of(id, 1, 1);
	assert_int_equal(dstore_seq(s, id), 6);
	assert_non_null(dstore_get(s, id));
	id_of(id, 1, 2);
	assert_null(dstore_get(s, id));
	assert_int_equal(dstore_seq(s, id), 0);
	assert_int_equal(dstore_stats(s)->inserted[DSTORE_STALE], 2);
	assert_int_equal(dstore_stats(s)->inserted[DSTORE_NEW], 2);
	assert_int_equal(dstore_stats(s)->inserted[DSTORE_UPDATED], 1);
	assert_int_equal(dstore_stats(s)->inserted[DSTORE_EXPIRED], 1);
	assert_int_equal(dstore_stats(s)->inserted[DSTORE_FUTURE], 1);
	assert_string_equal(dstore_result_name(DSTORE_FULL), "full");
	assert_string_equal(dstore_result_name(-1), "error");

	id_of(id, 1, 1);
	assert_int_equal(dstore_remove(s, id), 0);
	assert_int_equal(dstore_remove(s, id), -ENOENT);
	assert_int_equal(dstore_count(s), 1);
	dstore_free(s);
	dstore_free(NULL);
}

/* The store keeps its own reference: the caller's copy can go. */
static void test_references(void **state)
{
	struct dstore *s;
	struct dstore_desc *dd = mk(9, 9, 1, T0 + 100);
	uint8_t id[32];

	(void)state;
	assert_int_equal(dstore_new(&s, 4), 0);
	assert_int_equal(dstore_insert(s, dd, T0), DSTORE_NEW);
	assert_int_equal(dd->refs, 2);
	dstore_desc_unref(dd);
	id_of(id, 9, 9);
	assert_ptr_equal(dstore_get(s, id), dd);
	assert_memory_equal(dstore_get(s, id)->bytes, "WGRD", 4);
	dstore_free(s); /* frees dd: ASan would see a leak or a double free */
	dstore_desc_unref(NULL);
}

static void test_decode_errors(void **state)
{
	struct dstore_desc *dd = (struct dstore_desc *)1;
	uint8_t junk[40] = "WGRX";
	int why = -1;

	(void)state;
	assert_int_equal(dstore_desc_new(&dd, junk, sizeof(junk), &why), -EBADMSG);
	assert_null(dd);
	assert_int_equal(why, DESC_E_MAGIC);
	assert_int_equal(dstore_desc_new(&dd, junk, 3, &why), -EBADMSG);
	assert_int_equal(why, DESC_E_SHORT);
	assert_int_equal(dstore_desc_wrap(&dd, &(struct descriptor){0}, junk, 0), -EINVAL);
	assert_int_equal(dstore_desc_wrap(&dd, &(struct descriptor){0}, junk, DESC_MAX_LEN + 1),
	                 -EINVAL);
}

/* At capacity the entry expiring soonest goes, unless the newcomer expires sooner still. */
static void test_capacity_eviction(void **state)
{
	struct dstore *s;
	uint8_t id[32];

	(void)state;
	assert_int_equal(dstore_new(&s, 3), 0);
	assert_int_equal(put(s, 1, 0, 1, T0 + 300), DSTORE_NEW);
	assert_int_equal(put(s, 2, 0, 1, T0 + 100), DSTORE_NEW);
	assert_int_equal(put(s, 3, 0, 1, T0 + 200), DSTORE_NEW);
	assert_int_equal(put(s, 4, 0, 1, T0 + 250), DSTORE_NEW);
	assert_int_equal(dstore_count(s), 3);
	assert_int_equal(dstore_stats(s)->evicted, 1);
	id_of(id, 2, 0);
	assert_null(dstore_get(s, id)); /* T0 + 100 was the soonest */
	id_of(id, 3, 0);
	assert_non_null(dstore_get(s, id));
	/* Sooner than everything held (200): refused, nothing evicted. */
	assert_int_equal(put(s, 5, 0, 1, T0 + 150), DSTORE_FULL);
	assert_int_equal(put(s, 5, 0, 1, T0 + 200), DSTORE_FULL); /* a tie keeps the holder */
	assert_int_equal(dstore_stats(s)->evicted, 1);
	/* An update at capacity needs no room. */
	assert_int_equal(put(s, 3, 0, 2, T0 + 50), DSTORE_UPDATED);
	/* ... and moved in the heap: it is now the soonest, evicted next. */
	assert_int_equal(put(s, 6, 0, 1, T0 + 60), DSTORE_NEW);
	id_of(id, 3, 0);
	assert_null(dstore_get(s, id));
	dstore_free(s);
}

/*
 * Expiry times are kept in 32 bits: one past 2106 (2^32 s) counts as 2106. It never expires
 * before, is evicted last and after any sooner one, and does not wrap to an early time.
 */
static void test_far_expiry(void **state)
{
	struct dstore *s;
	uint8_t id[32];

	(void)state;
	assert_int_equal(dstore_new(&s, 2), 0);
	assert_int_equal(put(s, 1, 0, 1, (1ull << 32) + 5), DSTORE_NEW);
	assert_int_equal(put(s, 2, 0, 1, UINT32_MAX - 1), DSTORE_NEW);
	assert_int_equal(dstore_expire(s, UINT32_MAX - 2), 0);
	/* Full: the soonest (UINT32_MAX - 1) goes for a later one; the far one stays. */
	assert_int_equal(put(s, 3, 0, 1, UINT32_MAX), DSTORE_NEW);
	id_of(id, 2, 0);
	assert_null(dstore_get(s, id));
	id_of(id, 1, 0);
	assert_non_null(dstore_get(s, id));
	assert_int_equal(dstore_expire(s, UINT32_MAX - 1), 0);
	dstore_free(s);
}

/* Expiry through the heap matches a brute-force count, in steps, after random updates. */
static void test_expire_heap(void **state)
{
	enum { N = 500 };
	uint64_t exp[N];
	struct dstore *s;
	uint32_t x = 12345;
	size_t left = N;

	(void)state;
	assert_int_equal(dstore_new(&s, N), 0);
	for (int i = 0; i < N; i++) {
		x = x * 1103515245u + 12345u;
		exp[i] = T0 + 1 + (x >> 8) % 1000;
		assert_int_equal(put(s, (uint8_t)i, (uint8_t)(i >> 8), 1, exp[i]), DSTORE_NEW);
	}
	for (int i = 0; i < N; i += 3) { /* updates move entries both ways in the heap */
		x = x * 1103515245u + 12345u;
		exp[i] = T0 + 1 + (x >> 8) % 1000;
		assert_int_equal(put(s, (uint8_t)i, (uint8_t)(i >> 8), 2, exp[i]), DSTORE_UPDATED);
	}
	for (uint64_t now = T0; now <= T0 + 1000; now += 37) {
		size_t want = 0;

		for (int i = 0; i < N; i++)
			want += exp[i] <= now;
		assert_int_equal(dstore_expire(s, now), left - (N - want));
		left = N - want;
		assert_int_equal(dstore_count(s), left);
	}
	assert_int_equal(dstore_expire(s, T0 + 2000), left);
	assert_int_equal(dstore_count(s), 0);
	assert_int_equal(dstore_stats(s)->expired, N);
	dstore_free(s);
}

static bool odd_seq(const struct dstore_desc *dd, void *ctx)
{
	(*(int *)ctx)++;
	return dd->d.seq & 1;
}

/* DISCOVER paging: identity order across buckets, strictly after the cursor, each once. */
static void test_page(void **state)
{
	enum { N = 300 };
	const struct dstore_desc *out[7];
	uint8_t after[32] = {0}, next[32], prev[32] = {0};
	struct dstore *s;
	int seen = 0, calls = 0, looked = 0;
	size_t n;

	(void)state;
	assert_int_equal(dstore_new(&s, N), 0);
	for (int i = 0; i < N; i++) /* inserted out of order */
		assert_int_equal(
		    put(s, (uint8_t)(i * 7), (uint8_t)(i / 256), (uint64_t)i + 1, T0 + 99),
		    DSTORE_NEW);
	do {
		n = dstore_page(s, after, NULL, NULL, out, 7, 0, next);
		for (size_t k = 0; k < n; k++) {
			assert_true(memcmp(prev, out[k]->d.identity, 32) < 0);
			memcpy(prev, out[k]->d.identity, 32);
			seen++;
		}
		memcpy(after, next, 32);
		assert_true(++calls < 100);
	} while (memcmp(next, (uint8_t[32]){0}, 32) != 0);
	assert_int_equal(seen, N);
	assert_int_equal(calls, (N + 6) / 7);

	/* Filter: half pass; scan bounds the work of one call. */
	n = dstore_page(s, NULL, odd_seq, &looked, out, 7, 10, next);
	assert_int_equal(looked, 10);
	assert_int_equal(n, 5);
	assert_memory_not_equal(next, (uint8_t[32]){0}, 32);
	/* From the last identity: nothing after it, next zero. */
	n = dstore_page(s, prev, NULL, NULL, out, 7, 0, next);
	assert_int_equal(n, 0);
	assert_memory_equal(next, (uint8_t[32]){0}, 32);
	dstore_free(s);
}

static void test_bucket_access(void **state)
{
	struct dstore *s;
	uint8_t id[32];

	(void)state;
	assert_int_equal(dstore_new(&s, 10), 0);
	assert_int_equal(put(s, 5, 30, 1, T0 + 99), DSTORE_NEW);
	assert_int_equal(put(s, 5, 10, 1, T0 + 99), DSTORE_NEW);
	assert_int_equal(put(s, 5, 20, 1, T0 + 99), DSTORE_NEW);
	assert_int_equal(put(s, 6, 1, 1, T0 + 99), DSTORE_NEW);
	assert_int_equal(dstore_bucket_count(s, 5), 3);
	assert_int_equal(dstore_bucket_count(s, 4), 0);
	assert_int_equal(dstore_bucket_at(s, 5, 0)->d.identity[1], 10);
	assert_int_equal(dstore_bucket_at(s, 5, 2)->d.identity[1], 30);
	assert_null(dstore_bucket_at(s, 5, 3));
	id_of(id, 5, 15);
	assert_int_equal(dstore_bucket_lower(s, id), 1);
	id_of(id, 5, 20);
	assert_int_equal(dstore_bucket_lower(s, id), 1);
	id_of(id, 5, 31);
	assert_int_equal(dstore_bucket_lower(s, id), 3);
	dstore_free(s);
}

/* The bucket hash: BLAKE2b-256 over sorted identity ‖ seq, first 8 bytes; zero when empty. */
static void test_digest(void **state)
{
	struct dstore *a, *b;
	uint8_t ha[8], hb[8], want[32], pair[80], zero[8] = {0}, id[32];

	(void)state;
	assert_int_equal(dstore_new(&a, 10), 0);
	assert_int_equal(dstore_new(&b, 10), 0);
	dstore_digest(a, 7, ha);
	assert_memory_equal(ha, zero, 8);

	assert_int_equal(put(a, 7, 2, 9, T0 + 99), DSTORE_NEW);
	assert_int_equal(put(a, 7, 1, 3, T0 + 99), DSTORE_NEW);
	id_of(pair, 7, 1);
	buf_store_be64(pair + 32, 3);
	id_of(pair + 40, 7, 2);
	buf_store_be64(pair + 72, 9);
	crypto_generichash(want, 32, pair, sizeof(pair), NULL, 0);
	dstore_digest(a, 7, ha);
	assert_memory_equal(ha, want, 8);

	/* Same contents, other insertion order: same hash; other buckets unaffected. */
	assert_int_equal(put(b, 7, 1, 3, T0 + 99), DSTORE_NEW);
	assert_int_equal(put(b, 7, 2, 9, T0 + 99), DSTORE_NEW);
	dstore_digest(b, 7, hb);
	assert_memory_equal(ha, hb, 8);
	dstore_digest(b, 8, hb);
	assert_memory_equal(hb, zero, 8);

	/* A seq change changes it (the cached value is refreshed). */
	assert_int_equal(put(b, 7, 1, 4, T0 + 99), DSTORE_UPDATED);
	dstore_digest(b, 7, hb);
	assert_memory_not_equal(ha, hb, 8);
	/* Removing both empties it again. */
	id_of(id, 7, 1);
	assert_int_equal(dstore_remove(b, id), 0);
	id_of(id, 7, 2);
	assert_int_equal(dstore_remove(b, id), 0);
	dstore_digest(b, 7, hb);
	assert_memory_equal(hb, zero, 8);
	dstore_free(a);
	dstore_free(b);
}

struct events {
	int n[5];
	uint8_t last_b0;
	uint64_t last_seq;
	struct dstore *s;
};

static void watch(void *ctx, int event, const struct dstore_desc *dd)
{
	struct events *ev = ctx;

	assert_true(event >= 0 && event < 5);
	ev->n[event]++;
	ev->last_b0 = dd->d.identity[0];
	ev->last_seq = dd->d.seq;
	/* The store is consistent during the call: what left is gone, what came is there. */
	if (event <= DSTORE_EV_REPLACED)
		assert_ptr_equal(dstore_get(ev->s, dd->d.identity), dd);
	else
		assert_null(dstore_get(ev->s, dd->d.identity));
}

/* Every change is told once, with the descriptor that came or left. */
static void test_watch(void **state)
{
	struct events ev = {0};
	struct dstore *s;
	uint8_t id[32];

	(void)state;
	assert_int_equal(dstore_new(&s, 2), 0);
	ev.s = s;
	dstore_set_watch(s, watch, &ev);
	assert_int_equal(put(s, 1, 0, 1, T0 + 100), DSTORE_NEW);
	assert_int_equal(put(s, 1, 0, 2, T0 + 300), DSTORE_UPDATED);
	assert_int_equal(ev.last_seq, 2);
	assert_int_equal(put(s, 1, 0, 2, T0 + 300), DSTORE_STALE); /* no change, no call */
	assert_int_equal(put(s, 2, 0, 1, T0 + 200), DSTORE_NEW);
	assert_int_equal(put(s, 3, 0, 1, T0 + 250), DSTORE_NEW); /* evicts 2 */
	assert_int_equal(ev.n[DSTORE_EV_EVICTED], 1);
	assert_int_equal(ev.n[DSTORE_EV_ADDED], 3);
	assert_int_equal(ev.last_b0, 3);
	assert_int_equal(dstore_expire(s, T0 + 260), 1);
	assert_int_equal(ev.n[DSTORE_EV_EXPIRED], 1);
	assert_int_equal(ev.last_b0, 3);
	id_of(id, 1, 0);
	assert_int_equal(dstore_remove(s, id), 0);
	assert_int_equal(ev.n[DSTORE_EV_REMOVED], 1);
	assert_int_equal(ev.n[DSTORE_EV_REPLACED], 1);
	assert_int_equal(dstore_count(s), 0);
	dstore_free(s);
}

/*
 * dstore_load: the same store as inserting one by one (digests, order, counts), sharing the
 * caller's descriptors; an update among them counts, a stale one does not; capacity holds.
 */
static void test_load(void **state)
{
	struct dstore *a, *b, *c;
	struct dstore_desc *dd[300];
	uint8_t ha[DSTORE_DIGEST_LEN], hb[DSTORE_DIGEST_LEN], id[32];
	size_t n = 0;

	(void)state;
	assert_int_equal(dstore_new(&a, 0), 0);
	assert_int_equal(dstore_new(&b, 0), 0);
	assert_int_equal(put(b, 7, 7, 1, T0 + 500), DSTORE_NEW); /* held before: updated */
	assert_int_equal(put(b, 9, 9, 5, T0 + 500), DSTORE_NEW); /* held newer: stale */
	for (int k = 0; k < 290; k++) /* identity order: bucket k / 10, then k % 10 */
		dd[n++] = mk((uint8_t)(k / 10), (uint8_t)(k % 10 * 20), 1, T0 + 1000 + (uint64_t)k);
	dd[n++] = mk(7, 7, 2, T0 + 600);
	dd[n++] = mk(9, 9, 4, T0 + 600);
	for (size_t k = 0; k < n; k++)
		dstore_insert(a, dd[k], T0);
	assert_int_equal(put(a, 9, 9, 5, T0 + 500), DSTORE_UPDATED);
	assert_int_equal(dstore_load(b, dd, n, T0), 291);
	assert_int_equal(dstore_count(a), dstore_count(b));
	for (int k = 0; k < DSTORE_BUCKETS; k++) {
		dstore_digest(a, (uint8_t)k, ha);
		dstore_digest(b, (uint8_t)k, hb);
		assert_memory_equal(ha, hb, sizeof(ha));
	}
	id_of(id, 3, 40);
	assert_ptr_equal(dstore_get(b, id), dd[32]); /* shared, not copied */
	id_of(id, 7, 7);
	assert_int_equal(dstore_seq(b, id), 2);
	id_of(id, 9, 9);
	assert_int_equal(dstore_seq(b, id), 5);
	/* A small store: loading more than it holds keeps the longest-lived. */
	assert_int_equal(dstore_new(&c, 100), 0);
	assert_true(dstore_load(c, dd, 290, T0) >= 100);
	assert_int_equal(dstore_count(c), 100);
	assert_null(dstore_get(c, dd[0]->d.identity));
	assert_non_null(dstore_get(c, dd[289]->d.identity));
	for (size_t k = 0; k < n; k++)
		dstore_desc_unref(dd[k]);
	dstore_free(a);
	dstore_free(b);
	dstore_free(c);
}

/* mk's descriptor with one endpoint: UDP (or TCP) at ip. */
static struct dstore_desc *mk_at(uint8_t b0, uint8_t b1, uint64_t seq, uint64_t expires,
                                 const char *ip, uint8_t transport)
{
	struct dstore_desc *dd = mk(b0, b1, seq, expires);

	dd->d.n_endpoints = 1;
	dd->d.endpoints[0].transport = transport;
	assert_int_equal(addr_parse(&dd->d.endpoints[0].addr, ip, 51821), 0);
	return dd;
}

static int put_at(struct dstore *s, uint8_t b1, uint64_t seq, uint64_t expires, const char *ip,
                  uint64_t now)
{
	struct dstore_desc *dd = mk_at(7, b1, seq, expires, ip, DESC_T_UDP);
	int r = dstore_insert(s, dd, now);

	dstore_desc_unref(dd);
	return r;
}

/* Which DHT addresses are the UDP endpoint of an unexpired descriptor held. */
static void test_mark_endpoints(void **state)
{
	static const char *const ask[] = {
	    "192.0.2.1:51821",    /* held, UDP: set */
	    "192.0.2.1:51822",    /* another port */
	    "192.0.2.2:51821",    /* held as a TCP endpoint only */
	    "192.0.2.3:51821",    /* held, expired by now */
	    "198.51.100.9:51821", /* not held */
	    "192.0.2.1:51821",    /* the same again: set too */
	    "192.0.2.4:51821",    /* held, but known already: left alone, not counted */
	};
	enum { N = sizeof(ask) / sizeof(ask[0]) };
	struct addr a[DSTORE_MARK_MAX + 10];
	bool known[DSTORE_MARK_MAX + 10] = {false},
	                             want[N] = {true, false, false, false, false, true, true};
	uint8_t key[16];
	struct dstore *s;
	struct dstore_desc *dd;

	(void)state;
	randombytes_buf(key, sizeof(key));
	assert_int_equal(dstore_new(&s, 100), 0);
	assert_int_equal(put_at(s, 1, 1, T0 + 3600, "192.0.2.1", T0), DSTORE_NEW);
	dd = mk_at(9, 2, 1, T0 + 3600, "192.0.2.2", DESC_T_TCP);
	assert_int_equal(dstore_insert(s, dd, T0), DSTORE_NEW);
	dstore_desc_unref(dd);
	assert_int_equal(put_at(s, 3, 1, T0 + 10, "192.0.2.3", T0), DSTORE_NEW);
	assert_int_equal(put_at(s, 4, 1, T0 + 3600, "192.0.2.4", T0), DSTORE_NEW);
	for (int i = 0; i < 50; i++) /* others, in other buckets */
		assert_int_equal(put(s, (uint8_t)(100 + i), 0, 1, T0 + 3600), DSTORE_NEW);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(addr_parse(&a[i], ask[i], 0), 0);
	known[6] = true;
	assert_int_equal(dstore_mark_endpoints(s, a, N, known, key, T0 + 20), 2);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(known[i], want[i]);
	/* Before it expired, the third one counts too. */
	memset(known, 0, sizeof(known));
	assert_int_equal(dstore_mark_endpoints(s, a, N, known, key, T0 + 5), 4);
	assert_true(known[3]);
	/* At most DSTORE_MARK_MAX addresses are looked at. */
	memset(known, 0, sizeof(known));
	for (size_t i = 0; i < DSTORE_MARK_MAX + 10; i++)
		a[i] = a[0];
	assert_int_equal(dstore_mark_endpoints(s, a, DSTORE_MARK_MAX + 10, known, key, T0 + 20),
	                 DSTORE_MARK_MAX);
	assert_false(known[DSTORE_MARK_MAX]);
	dstore_free(s);
}

static void test_prefix_key(void **state)
{
	struct dstore_desc *a = mk_at(1, 1, 1, T0 + 10, "198.51.100.7", DESC_T_UDP);
	struct dstore_desc *b = mk_at(1, 2, 1, T0 + 10, "198.51.100.250", DESC_T_TCP);
	struct dstore_desc *c = mk_at(1, 3, 1, T0 + 10, "198.51.101.7", DESC_T_UDP);
	struct dstore_desc *v6 = mk_at(1, 4, 1, T0 + 10, "[2001:db8:1:ffff::1]", DESC_T_UDP);
	struct dstore_desc *v6b = mk_at(1, 5, 1, T0 + 10, "[2001:db8:1::2]", DESC_T_UDP);
	struct dstore_desc *v6c = mk_at(1, 6, 1, T0 + 10, "[2001:db8:2::1]", DESC_T_UDP);
	struct dstore_desc *none = mk(1, 7, 1, T0 + 10);

	(void)state;
	assert_true(dstore_prefix(&a->d) != 0);
	assert_true(dstore_prefix(&a->d) == dstore_prefix(&b->d)); /* one /24, any transport */
	assert_true(dstore_prefix(&a->d) != dstore_prefix(&c->d));
	assert_true(dstore_prefix(&v6->d) == dstore_prefix(&v6b->d)); /* one /48 */
	assert_true(dstore_prefix(&v6->d) != dstore_prefix(&v6c->d));
	assert_true(dstore_prefix(&v6->d) != dstore_prefix(&a->d));
	assert_int_equal(dstore_prefix(&none->d), 0);
	/* the UDP endpoint decides, even when listed after a TCP one */
	b->d.n_endpoints = 2;
	b->d.endpoints[1].transport = DESC_T_UDP;
	assert_int_equal(addr_parse(&b->d.endpoints[1].addr, "198.51.101.1", 51821), 0);
	assert_true(dstore_prefix(&b->d) == dstore_prefix(&c->d));
	dstore_desc_unref(a);
	dstore_desc_unref(b);
	dstore_desc_unref(c);
	dstore_desc_unref(v6);
	dstore_desc_unref(v6b);
	dstore_desc_unref(v6c);
	dstore_desc_unref(none);
}

static void test_prefix_cap(void **state)
{
	struct dstore *s;
	struct dstore_desc *dd;
	char ip[32];
	uint8_t id[32];

	(void)state;
	assert_int_equal(dstore_new(&s, 0), 0);
	dstore_set_prefix_cap(s, DSTORE_PER_PREFIX);
	/* 32 identities in 203.0.113.0/24, the last 16 of them short-lived */
	for (int i = 0; i < DSTORE_PER_PREFIX; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", i + 1);
		assert_int_equal(put_at(s, (uint8_t)i, 1, i < 16 ? T0 + 1000 : T0 + 100, ip, T0),
		                 DSTORE_NEW);
	}
	/* the 33rd is refused, counted under its own reason; another /24 is not */
	assert_int_equal(put_at(s, 200, 1, T0 + 1000, "203.0.113.200", T0), DSTORE_PREFIX_FULL);
	assert_int_equal(dstore_stats(s)->inserted[DSTORE_PREFIX_FULL], 1);
	assert_string_equal(dstore_result_name(DSTORE_PREFIX_FULL), "prefix-full");
	assert_int_equal(put_at(s, 201, 1, T0 + 1000, "203.0.114.1", T0), DSTORE_NEW);
	assert_int_equal(dstore_count(s), DSTORE_PER_PREFIX + 1);
	/* a higher seq of one held is taken, also when it moves into the full /24 */
	assert_int_equal(put_at(s, 3, 2, T0 + 1000, "203.0.113.3", T0), DSTORE_UPDATED);
	assert_int_equal(put_at(s, 201, 2, T0 + 1000, "203.0.113.201", T0), DSTORE_UPDATED);
	dd = mk_at(7, 0, 1, T0 + 10, "203.0.113.1", DESC_T_UDP);
	assert_int_equal(dstore_prefix_count(s, dstore_prefix(&dd->d)), DSTORE_PER_PREFIX + 1);
	dstore_desc_unref(dd);
	/* it moves out again: the /24 is back at its cap, still full */
	assert_int_equal(put_at(s, 201, 3, T0 + 1000, "203.0.114.1", T0), DSTORE_UPDATED);
	assert_int_equal(put_at(s, 202, 1, T0 + 1000, "203.0.113.202", T0), DSTORE_PREFIX_FULL);
	/* expiry frees room: 16 gone, 16 new ones fit and the 17th does not */
	assert_int_equal(dstore_expire(s, T0 + 100), DSTORE_PER_PREFIX - 16);
	for (int i = 0; i < DSTORE_PER_PREFIX - 16; i++) {
		snprintf(ip, sizeof(ip), "203.0.113.%d", 100 + i);
		assert_int_equal(put_at(s, (uint8_t)(100 + i), 1, T0 + 1000, ip, T0 + 100),
		                 DSTORE_NEW);
	}
	assert_int_equal(put_at(s, 203, 1, T0 + 1000, "203.0.113.203", T0 + 100),
	                 DSTORE_PREFIX_FULL);
	/* removal frees room too, and descriptors naming no address are never capped */
	id_of(id, 7, 100);
	assert_int_equal(dstore_remove(s, id), 0);
	assert_int_equal(put_at(s, 203, 1, T0 + 1000, "203.0.113.203", T0 + 100), DSTORE_NEW);
	for (int i = 0; i < 40; i++)
		assert_int_equal(put(s, 9, (uint8_t)i, 1, T0 + 1000), DSTORE_NEW);
	dstore_free(s);
}

/* No cap by default (dstore_new), and the counts hold across many prefixes and their removal. */
static void test_prefix_counts(void **state)
{
	struct dstore *s;
	char ip[32];

	(void)state;
	assert_int_equal(dstore_new(&s, 0), 0);
	for (int i = 0; i < 40; i++)
		assert_int_equal(put_at(s, (uint8_t)i, 1, T0 + 100, "192.0.2.1", T0), DSTORE_NEW);
	for (int i = 0; i < 200; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.1", i / 7, i % 7);
		assert_int_equal(put_at(s, (uint8_t)(40 + i), 1, T0 + 50 + (uint64_t)i % 3, ip, T0),
		                 DSTORE_NEW);
	}
	dstore_set_prefix_cap(s, 1);
	/* what is held stays; each of the 200 /24s holds one, so each is full */
	assert_int_equal(put_at(s, 250, 1, T0 + 100, "10.0.0.9", T0), DSTORE_PREFIX_FULL);
	assert_int_equal(put_at(s, 250, 1, T0 + 100, "10.28.3.9", T0), DSTORE_PREFIX_FULL);
	assert_int_equal(dstore_expire(s, T0 + 52), 200);
	for (int i = 0; i < 200; i++) {
		snprintf(ip, sizeof(ip), "10.%d.%d.2", i / 7, i % 7);
		assert_int_equal(put_at(s, (uint8_t)(40 + i), 2, T0 + 100, ip, T0 + 52),
		                 DSTORE_NEW);
	}
	assert_int_equal(put_at(s, 251, 1, T0 + 100, "192.0.2.9", T0 + 52), DSTORE_PREFIX_FULL);
	dstore_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_insert_codes),   cmocka_unit_test(test_references),
	    cmocka_unit_test(test_decode_errors),  cmocka_unit_test(test_capacity_eviction),
	    cmocka_unit_test(test_expire_heap),    cmocka_unit_test(test_page),
	    cmocka_unit_test(test_bucket_access),  cmocka_unit_test(test_digest),
	    cmocka_unit_test(test_watch),          cmocka_unit_test(test_load),
	    cmocka_unit_test(test_prefix_key),     cmocka_unit_test(test_prefix_cap),
	    cmocka_unit_test(test_prefix_counts),  cmocka_unit_test(test_far_expiry),
	    cmocka_unit_test(test_mark_endpoints),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
