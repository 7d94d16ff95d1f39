/*
 * test_onion.c: the onion layers of circuit cells: every hop count both ways, the size of
 * every cell, the outermost layer against libsodium called directly, and tagging: any bit a
 * hop flips in a cell makes the next hop drop it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "buf.h"
#include "onion.h"

#define B 1400

static struct onion_key fwd[ONION_MAX_HOPS], bwd[ONION_MAX_HOPS];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (int i = 0; i < ONION_MAX_HOPS; i++) {
		randombytes_buf(&fwd[i], sizeof(fwd[i]));
		randombytes_buf(&bwd[i], sizeof(bwd[i]));
	}
	return 0;
}

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed + i * 7);
}

static void test_sizes(void **state)
{
	(void)state;
	assert_int_equal(onion_layer_len(B, 1), B);
	assert_int_equal(onion_layer_len(B, 3), B - 2 * ONION_OVERHEAD);
	assert_int_equal(onion_room(B, 1), B - ONION_OVERHEAD);
	assert_int_equal(onion_room(B, 3), B - 3 * ONION_OVERHEAD);
	assert_int_equal(onion_layer_len(B, 0), 0);
	assert_int_equal(onion_layer_len(B, ONION_MAX_HOPS + 1), 0);
	/* No room for the layer itself. */
	assert_int_equal(onion_layer_len(2 * ONION_OVERHEAD - 1, 2), 0);
	assert_int_equal(onion_layer_len(2 * ONION_OVERHEAD, 2), ONION_OVERHEAD);
	assert_int_equal(onion_room(2 * ONION_OVERHEAD, 2), 0);
}

/* Forward to each hop e of an n-hop circuit: hops before e pass it on, e gets it. */
static void test_forward_every_depth(void **state)
{
	uint8_t body[B], msg[B];

	(void)state;
	for (unsigned n = 1; n <= 4; n++)
		for (unsigned e = 1; e <= n; e++) {
			size_t room = onion_room(B, e);
			uint64_t k = 1000 + e;

			fill(msg, room, (uint8_t)e);
			assert_int_equal(onion_wrap(body, B, fwd, e, k, msg, room), 0);
			for (unsigned d = 1; d < e; d++)
				assert_int_equal(onion_peel(body, B, d, &fwd[d - 1], k),
				                 ONION_NEXT);
			assert_int_equal(onion_peel(body, B, e, &fwd[e - 1], k), ONION_MINE);
			assert_memory_equal(body + 1, msg, room);
		}
}

/* Backward from each hop e: the hops before it add their layers, the client finds e. */
static void test_backward_every_depth(void **state)
{
	uint8_t body[B], msg[B];

	(void)state;
	for (unsigned n = 1; n <= 4; n++)
		for (unsigned e = 1; e <= n; e++) {
			size_t room = onion_room(B, e);
			uint64_t k = 77 * e;

			fill(msg, room, (uint8_t)(e + 100));
			assert_int_equal(onion_originate(body, B, e, &bwd[e - 1], k, msg, room), 0);
			for (unsigned d = e - 1; d >= 1; d--)
				assert_int_equal(onion_add(body, B, d, &bwd[d - 1], k), 0);
			assert_int_equal(onion_unwrap(body, B, bwd, n, k), (int)e);
			assert_memory_equal(body + 1, msg, room);
		}
}

/* The outermost layer of a one-hop cell, computed here with libsodium directly. */
static void test_layer_is_xchacha(void **state)
{
	uint8_t body[B], want[B], nonce[24];
	const char *msg = "one hop";

	(void)state;
	assert_int_equal(onion_wrap(body, B, fwd, 1, 42, (const uint8_t *)msg, strlen(msg)), 0);
	memset(want, 0, sizeof(want));
	want[0] = ONION_FLAG_MINE;
	memcpy(want + 1, msg, strlen(msg));
	memcpy(nonce, fwd[0].salt, 16);
	buf_store_be64(nonce + 16, 42);
	crypto_aead_xchacha20poly1305_ietf_encrypt(want, NULL, want, B - 16, NULL, 0, NULL, nonce,
	                                           fwd[0].key);
	assert_memory_equal(body, want, B);
	/* Another counter, another salt: other bytes, and the layer does not open. */
	assert_int_equal(onion_wrap(want, B, fwd, 1, 43, (const uint8_t *)msg, strlen(msg)), 0);
	assert_memory_not_equal(body, want, B);
	assert_int_equal(onion_peel(want, B, 1, &fwd[0], 42), ONION_EAUTH);
}

/*
 * Tagging: hop 1 of a 3-hop circuit flips one bit of what it passes on (every bit position
 * of the body is tried): hop 2 drops the cell, whatever the bit. Backward the same at the
 * client, for a bit flipped by hop 2 on a cell from hop 3.
 */
static void test_modified_cell_dropped_at_next_hop(void **state)
{
	uint8_t body[B], orig[B], msg[64];

	(void)state;
	fill(msg, sizeof(msg), 9);
	assert_int_equal(onion_wrap(orig, B, fwd, 3, 5, msg, sizeof(msg)), 0);
	assert_int_equal(onion_peel(orig, B, 1, &fwd[0], 5), ONION_NEXT);
	for (size_t bit = 0; bit < B * 8; bit += 13) {
		int r;

		memcpy(body, orig, B);
		body[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		r = onion_peel(body, B, 2, &fwd[1], 5);
		assert_true(r == ONION_EAUTH || r == ONION_EPAD);
		/* A flip in the zero pad past hop 2's layer is refused as such. */
		if (bit / 8 >= onion_layer_len(B, 2))
			assert_int_equal(r, ONION_EPAD);
	}
	memcpy(body, orig, B);
	assert_int_equal(onion_peel(body, B, 2, &fwd[1], 5), ONION_NEXT);

	assert_int_equal(onion_originate(orig, B, 3, &bwd[2], 6, msg, sizeof(msg)), 0);
	assert_int_equal(onion_add(orig, B, 2, &bwd[1], 6), 0);
	for (size_t bit = 0; bit < B * 8; bit += 11) {
		memcpy(body, orig, B);
		body[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		/* Hop 1 adds its layer to anything in the first L(2) bytes: the client catches it. */
		if (bit / 8 >= onion_layer_len(B, 2)) {
			assert_int_equal(onion_add(body, B, 1, &bwd[0], 6), ONION_EPAD);
			continue;
		}
		assert_int_equal(onion_add(body, B, 1, &bwd[0], 6), 0);
		assert_int_equal(onion_unwrap(body, B, bwd, 3, 6), ONION_EAUTH);
	}
}

/* Wrong counter, wrong key, wrong depth, a bad flag, sizes: each refused. */
static void test_refusals(void **state)
{
	uint8_t body[B], copy[B], msg[B];
	struct onion_key bad[2];

	(void)state;
	fill(msg, sizeof(msg), 1);
	assert_int_equal(onion_wrap(body, B, fwd, 2, 9, msg, 10), 0);
	memcpy(copy, body, B);
	assert_int_equal(onion_peel(copy, B, 1, &fwd[0], 10), ONION_EAUTH);
	memcpy(copy, body, B);
	assert_int_equal(onion_peel(copy, B, 1, &fwd[1], 9), ONION_EAUTH);
	/* Hop 1 opening as if it were hop 2: the pad check sees its layer's last bytes. */
	memcpy(copy, body, B);
	assert_int_equal(onion_peel(copy, B, 2, &fwd[0], 9), ONION_EPAD);
	assert_int_equal(onion_peel(copy, B, 0, &fwd[0], 9), ONION_EDEPTH);
	assert_int_equal(onion_wrap(body, B, fwd, 2, 9, msg, onion_room(B, 2) + 1), ONION_ESIZE);
	assert_int_equal(onion_wrap(body, B, fwd, 0, 9, msg, 1), ONION_EDEPTH);
	assert_int_equal(onion_wrap(body, 40, fwd, 3, 9, msg, 1), ONION_EDEPTH);
	assert_int_equal(onion_originate(body, B, 2, &bwd[1], 9, msg, onion_room(B, 2) + 1),
	                 ONION_ESIZE);
	assert_int_equal(onion_add(body, B, ONION_MAX_HOPS, &bwd[0], 9), ONION_EDEPTH);
	assert_int_equal(onion_unwrap(body, B, bwd, 0, 9), ONION_EDEPTH);
	/* A layer whose flag is 2 (a key holder that does not follow the format). */
	memset(body, 0, B);
	body[0] = 2;
	randombytes_buf(bad, sizeof(bad));
	{
		uint8_t nonce[24];

		memcpy(nonce, bad[0].salt, 16);
		buf_store_be64(nonce + 16, 3);
		crypto_aead_xchacha20poly1305_ietf_encrypt(body, NULL, body, B - 16, NULL, 0, NULL,
		                                           nonce, bad[0].key);
	}
	memcpy(copy, body, B);
	assert_int_equal(onion_peel(body, B, 1, &bad[0], 3), ONION_EFLAG);
	assert_int_equal(onion_unwrap(copy, B, bad, 2, 3), ONION_EFLAG);
	/* A client that opened every layer and found no message: refused too. */
	assert_int_equal(onion_originate(body, B, 2, &bwd[1], 4, msg, 4), 0);
	assert_int_equal(onion_add(body, B, 1, &bwd[0], 4), 0);
	assert_int_equal(onion_unwrap(body, B, bwd, 1, 4), ONION_EFLAG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_forward_every_depth),
	    cmocka_unit_test(test_backward_every_depth),
	    cmocka_unit_test(test_layer_is_xchacha),
	    cmocka_unit_test(test_modified_cell_dropped_at_next_hop),
	    cmocka_unit_test(test_refusals),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
