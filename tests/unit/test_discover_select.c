/*
 * Unit tests: relayd/discover.c's discover_select (PROTOCOL.md §10.4): the order, the filters
 * and the stateless cursor of DISCOVER answers, on a store filled by hand.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "dstore.h"
#include "network.h"

#define T0 1700000000u

struct spec {
	uint8_t b0, b1;
	uint8_t modes;
	uint16_t load;
	bool located;
	int32_t lat, lon;
};

/* Identity {b0, b1, 0, ..., 1}: the first byte chooses the store's bucket. */
static void id_of(uint8_t id[32], uint8_t b0, uint8_t b1)
{
	memset(id, 0, 32);
	id[0] = b0;
	id[1] = b1;
	id[31] = 1;
}

/* The store trusts its caller to have verified, so these need no signature. */
static void put(struct dstore *s, const struct spec *sp)
{
	uint8_t bytes[8] = {'W', 'G', 'R', 'D', sp->b0, sp->b1};
	struct descriptor d;
	struct dstore_desc *dd;

	memset(&d, 0, sizeof(d));
	id_of(d.identity, sp->b0, sp->b1);
	d.seq = 1;
	d.issued_at = T0 - 10;
	d.expires_at = T0 + 3600;
	d.modes = sp->modes ? sp->modes : DESC_MODE_DIRECT;
	d.load_permille = sp->load;
	d.has_location = sp->located;
	d.lat_e6 = sp->lat;
	d.lon_e6 = sp->lon;
	assert_int_equal(dstore_desc_wrap(&dd, &d, bytes, sizeof(bytes)), 0);
	assert_int_equal(dstore_insert(s, dd, T0), DSTORE_NEW);
	dstore_desc_unref(dd);
}

/* Every page of q, max a page: the identities in answer order; the number of pages. */
static int all_pages(struct dstore *s, struct ctrl_discover q, uint8_t ids[][32], int cap,
                     int *pages)
{
	const struct dstore_desc *out[PROTO_DISCOVER_MAX];
	static const uint8_t zero[32];
	uint8_t next[32];
	int got = 0;

	memset(q.after, 0, 32);
	for (*pages = 1; *pages <= 64; (*pages)++) {
		size_t k = discover_select(s, &q, out, next);

		assert_true(k <= q.max);
		for (size_t i = 0; i < k; i++) {
			assert_true(got < cap);
			memcpy(ids[got++], out[i]->d.identity, 32);
		}
		if (!memcmp(next, zero, 32))
			return got;
		assert_int_equal(k, q.max); /* a page before the last is full */
		memcpy(q.after, next, 32);
	}
	fail_msg("the cursor never ended");
	return -1;
}

static int find(uint8_t ids[][32], int n, uint8_t b0, uint8_t b1)
{
	uint8_t id[32];

	id_of(id, b0, b1);
	for (int i = 0; i < n; i++)
		if (!memcmp(ids[i], id, 32))
			return i;
	return -1;
}

/* Identity order across buckets: pages of any size give every relay once, in order. */
static void test_identity_order(void **state)
{
	uint8_t ids[64][32];
	struct dstore *s;
	int n, pages;

	(void)state;
	assert_int_equal(dstore_new(&s, 1000), 0);
	for (int i = 0; i < 40; i++)
		put(s, &(struct spec){.b0 = (uint8_t)(i * 37 % 256), .b1 = (uint8_t)i});
	for (uint8_t max = 1; max <= PROTO_DISCOVER_MAX; max = (uint8_t)(max * 2 + 1)) {
		n = all_pages(s, (struct ctrl_discover){.max = max}, ids, 64, &pages);
		assert_int_equal(n, 40);
		assert_int_equal(pages, (40 + max - 1) / max);
		for (int i = 1; i < n; i++)
			assert_true(memcmp(ids[i - 1], ids[i], 32) < 0);
	}
	dstore_free(s);
}

/* Filters: a full relay and one without the mode asked for are left out; the rest stay. */
static void test_filters(void **state)
{
	uint8_t ids[16][32];
	struct dstore *s;
	int n, pages;

	(void)state;
	assert_int_equal(dstore_new(&s, 100), 0);
	put(s, &(struct spec){.b0 = 1, .load = 100});
	put(s, &(struct spec){.b0 = 2, .load = PROTO_FULL_PERMILLE}); /* full */
	put(s, &(struct spec){.b0 = 3, .modes = DESC_MODE_SEALED, .load = 10});
	put(s, &(struct spec){.b0 = 4, .modes = DESC_MODE_DIRECT | DESC_MODE_SEALED});
	n = all_pages(s, (struct ctrl_discover){.max = 8}, ids, 16, &pages);
	assert_int_equal(n, 4);
	n = all_pages(s, (struct ctrl_discover){.flags = PROTO_DISCOVER_NOT_FULL, .max = 8}, ids,
	              16, &pages);
	assert_int_equal(n, 3);
	assert_int_equal(find(ids, n, 2, 0), -1);
	n = all_pages(s,
	              (struct ctrl_discover){
	                  .flags = PROTO_DISCOVER_MODES, .modes = DESC_MODE_SEALED, .max = 1},
	              ids, 16, &pages);
	assert_int_equal(n, 2);
	assert_true(find(ids, n, 3, 0) >= 0 && find(ids, n, 4, 0) >= 0);
	/* Both flags with the near order too. */
	n = all_pages(s,
	              (struct ctrl_discover){.flags = PROTO_DISCOVER_MODES | PROTO_DISCOVER_NEAR |
	                                              PROTO_DISCOVER_NOT_FULL,
	                                     .modes = DESC_MODE_DIRECT,
	                                     .max = 2},
	              ids, 16, &pages);
	assert_int_equal(n, 2);
	assert_true(find(ids, n, 1, 0) >= 0 && find(ids, n, 4, 0) >= 0);
	dstore_free(s);
}

/*
 * Near order: by distance from the place asked about, ties by identity, relays without a
 * location last; the same whatever the page size, and the cursor needs no state.
 */
static void test_near_order(void **state)
{
	/* Paris, London (344 km), New York (5,837 km), Sydney; two at Paris, two unlocated. */
	const struct spec sp[] = {
	    {.b0 = 0x90, .located = true, .lat = -33868800, .lon = 151209300}, /* Sydney */
	    {.b0 = 0x10, .located = true, .lat = 40712800, .lon = -74006000},  /* New York */
	    {.b0 = 0x80, .located = true, .lat = 51507400, .lon = -127800},    /* London */
	    {.b0 = 0x70, .located = true, .lat = 48856600, .lon = 2352200},    /* Paris */
	    {.b0 = 0x20, .located = true, .lat = 48856600, .lon = 2352200},    /* Paris */
	    {.b0 = 0x05},                                                      /* nowhere */
	    {.b0 = 0xf0},                                                      /* nowhere */
	};
	const uint8_t want[] = {0x20, 0x70, 0x80, 0x10, 0x90, 0x05, 0xf0};
	uint8_t ids[16][32];
	struct dstore *s;
	int pages;

	(void)state;
	assert_int_equal(dstore_new(&s, 100), 0);
	for (size_t i = 0; i < sizeof(sp) / sizeof(sp[0]); i++)
		put(s, &sp[i]);
	for (uint8_t max = 1; max <= 8; max++) {
		int n = all_pages(s,
		                  (struct ctrl_discover){.flags = PROTO_DISCOVER_NEAR,
		                                         .lat_e6 = 48856600,
		                                         .lon_e6 = 2352200,
		                                         .max = max},
		                  ids, 16, &pages);

		assert_int_equal(n, (int)sizeof(want));
		for (int i = 0; i < n; i++)
			assert_int_equal(ids[i][0], want[i]);
	}
	/* From Sydney the order turns round (the unlocated still last). */
	assert_int_equal(all_pages(s,
	                           (struct ctrl_discover){.flags = PROTO_DISCOVER_NEAR,
	                                                  .lat_e6 = -33868800,
	                                                  .lon_e6 = 151209300,
	                                                  .max = 32},
	                           ids, 16, &pages),
	                 7);
	assert_int_equal(ids[0][0], 0x90);
	assert_int_equal(ids[5][0], 0x05);
	assert_int_equal(ids[6][0], 0xf0);
	dstore_free(s);
}

/* An empty store: nothing, and a zero cursor at once. */
static void test_empty(void **state)
{
	const struct dstore_desc *out[PROTO_DISCOVER_MAX];
	static const uint8_t zero[32];
	uint8_t next[32];
	struct dstore *s;

	(void)state;
	assert_int_equal(dstore_new(&s, 10), 0);
	memset(next, 0xaa, sizeof(next));
	assert_int_equal(discover_select(s, &(struct ctrl_discover){.max = 4}, out, next), 0);
	assert_memory_equal(next, zero, 32);
	memset(next, 0xaa, sizeof(next));
	assert_int_equal(
	    discover_select(s, &(struct ctrl_discover){.flags = PROTO_DISCOVER_NEAR, .max = 4}, out,
	                    next),
	    0);
	assert_memory_equal(next, zero, 32);
	dstore_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_identity_order),
	    cmocka_unit_test(test_filters),
	    cmocka_unit_test(test_near_order),
	    cmocka_unit_test(test_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
