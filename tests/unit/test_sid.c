/* Unit tests: common/sid.c */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "sid.h"

static void test_both_sides_agree(void **state)
{
	uint8_t a_pub[32], a_priv[32], b_pub[32], b_priv[32], r1[32], r2[32], x[32], xp[32];
	uint8_t sa[16], sb[16], s2[16], sx[16];

	(void)state;
	assert_true(sodium_init() >= 0);
	crypto_box_keypair(a_pub, a_priv);
	crypto_box_keypair(b_pub, b_priv);
	crypto_box_keypair(x, xp);
	randombytes_buf(r1, 32);
	randombytes_buf(r2, 32);
	assert_int_equal(sid_derive(sa, a_priv, b_pub, r1), 0);
	assert_int_equal(sid_derive(sb, b_priv, a_pub, r1), 0);
	assert_memory_equal(sa, sb, 16);
	/* Another relay: another sid, so relays cannot correlate a pair across each other. */
	assert_int_equal(sid_derive(s2, a_priv, b_pub, r2), 0);
	assert_memory_not_equal(sa, s2, 16);
	/* A third party using its own key with B gets something else. */
	assert_int_equal(sid_derive(sx, xp, b_pub, r1), 0);
	assert_memory_not_equal(sa, sx, 16);
}

static void test_known_answer(void **state)
{
	/* Fixed inputs pin the derivation so a change in it cannot pass unnoticed. */
	uint8_t priv[32], peer[32], relay[32], sid[16], peer_priv[32], again[16];

	(void)state;
	for (int i = 0; i < 32; i++) {
		priv[i] = (uint8_t)(i + 1);
		peer_priv[i] = (uint8_t)(0x80 + i);
		relay[i] = (uint8_t)(0xff - i);
	}
	crypto_scalarmult_base(peer, peer_priv);
	assert_int_equal(sid_derive(sid, priv, peer, relay), 0);
	{
		/* Recompute independently: BLAKE2b-128(key = DH, label || relay). */
		uint8_t dh[32], msg[14 + 32], want[16];

		assert_int_equal(crypto_scalarmult(dh, priv, peer), 0);
		memcpy(msg, "wgrelay sid v1", 14);
		memcpy(msg + 14, relay, 32);
		crypto_generichash(want, 16, msg, sizeof(msg), dh, 32);
		assert_memory_equal(sid, want, 16);
	}
	assert_int_equal(sid_derive(again, peer_priv, (uint8_t[32]){0}, relay), -EINVAL);
}

/* The two-step form gives sid_derive's bytes; a low-order key fails in the first step. */
static void test_shared_split(void **state)
{
	uint8_t a_priv[32], a_pub[32], b_priv[32], b_pub[32], r[3][32], shared[32], x[16], y[16];

	(void)state;
	crypto_box_keypair(a_pub, a_priv);
	crypto_box_keypair(b_pub, b_priv);
	assert_int_equal(sid_shared(shared, a_priv, b_pub), 0);
	for (int k = 0; k < 3; k++) {
		randombytes_buf(r[k], 32);
		sid_from_shared(x, shared, r[k]);
		assert_int_equal(sid_derive(y, a_priv, b_pub, r[k]), 0);
		assert_memory_equal(x, y, 16);
	}
	sid_from_shared(y, shared, r[0]);
	assert_memory_not_equal(x, y, 16); /* control: another relay, another sid */
	assert_int_equal(sid_shared(shared, a_priv, (uint8_t[32]){0}), -EINVAL);
	sodium_memzero(shared, sizeof(shared));
}

/* The rendezvous cookie: the same on both sides, another per hour and per relay. */
static void test_cookie(void **state)
{
	uint8_t a_pub[32], a_priv[32], b_pub[32], b_priv[32], sa[32], sb[32], id[32], id2[32];
	uint8_t ca[16], cb[16], c2[16], c3[16], msg[21 + 32 + 8], want[16];

	(void)state;
	crypto_box_keypair(a_pub, a_priv);
	crypto_box_keypair(b_pub, b_priv);
	randombytes_buf(id, 32);
	randombytes_buf(id2, 32);
	assert_int_equal(sid_shared(sa, a_priv, b_pub), 0);
	assert_int_equal(sid_shared(sb, b_priv, a_pub), 0);
	sid_cookie(ca, sa, id, 491234);
	sid_cookie(cb, sb, id, 491234);
	assert_memory_equal(ca, cb, 16);
	sid_cookie(c2, sa, id, 491235);
	assert_memory_not_equal(ca, c2, 16);
	sid_cookie(c3, sa, id2, 491234);
	assert_memory_not_equal(ca, c3, 16);
	/* Recomputed independently: BLAKE2b-128(key = DH, label || identity || epoch BE). */
	memcpy(msg, "wgrelay rendezvous v1", 21);
	memcpy(msg + 21, id, 32);
	memcpy(msg + 53, (uint8_t[8]){0, 0, 0, 0, 0, 0x07, 0x7e, 0xe2}, 8);
	crypto_generichash(want, 16, msg, sizeof(msg), sa, 32);
	assert_memory_equal(ca, want, 16);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_both_sides_agree),
	    cmocka_unit_test(test_known_answer),
	    cmocka_unit_test(test_cookie),
	    cmocka_unit_test(test_shared_split),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
