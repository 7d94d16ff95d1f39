/*
 * test_circhs.c: a circuit hop's handshake: both ends get the same keys and salts, the keys
 * open each other's onion layers, the hop learns its depth and class, and every modified or
 * misdirected message fails.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "circhs.h"

static uint8_t rpub[32], rpriv[32];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_box_keypair(rpub, rpriv);
	return 0;
}

static void test_both_ends_agree(void **state)
{
	uint8_t m1[CIRCHS_MSG1_LEN], m2[CIRCHS_MSG2_LEN], body[1180], msg[32] = "to the hop";
	struct circhs_keys kc, kr, kc2, kr2;
	struct circhs c;
	unsigned depth, cls;

	(void)state;
	assert_int_equal(circhs_start(&c, rpub, 2, CIRCHS_CLASS_1280, m1), 0);
	assert_int_equal(circhs_answer(rpriv, m1, sizeof(m1), m2, &kr, &depth, &cls), 0);
	assert_int_equal(depth, 2);
	assert_int_equal(cls, CIRCHS_CLASS_1280);
	assert_int_equal(circhs_finish(&c, m2, sizeof(m2), &kc), 0);
	assert_memory_equal(&kc, &kr, sizeof(kc));
	/* The directions differ, in key and salt. */
	assert_memory_not_equal(kc.fwd.key, kc.bwd.key, 32);
	assert_memory_not_equal(kc.fwd.salt, kc.bwd.salt, ONION_SALT_LEN);
	/* As hop 1 of a one-hop circuit: the client's forward layer opens at the relay. */
	assert_int_equal(onion_wrap(body, sizeof(body), &kc.fwd, 1, 1, msg, sizeof(msg)), 0);
	assert_int_equal(onion_peel(body, sizeof(body), 1, &kr.fwd, 1), ONION_MINE);
	assert_memory_equal(body + 1, msg, sizeof(msg));
	/* Another handshake with the same relay: other keys, other salts. */
	assert_int_equal(circhs_start(&c, rpub, 1, CIRCHS_CLASS_1500, m1), 0);
	assert_int_equal(circhs_answer(rpriv, m1, sizeof(m1), m2, &kr2, &depth, &cls), 0);
	assert_int_equal(circhs_finish(&c, m2, sizeof(m2), &kc2), 0);
	assert_memory_equal(&kc2, &kr2, sizeof(kc2));
	assert_memory_not_equal(kc2.fwd.key, kc.fwd.key, 32);
	assert_memory_not_equal(kc2.fwd.salt, kc.fwd.salt, ONION_SALT_LEN);
}

static void test_modified_or_misdirected(void **state)
{
	uint8_t m1[CIRCHS_MSG1_LEN], m2[CIRCHS_MSG2_LEN], other_pub[32], other_priv[32];
	struct circhs_keys k;
	struct circhs c;
	unsigned depth, cls;

	(void)state;
	crypto_box_keypair(other_pub, other_priv);
	assert_int_equal(circhs_start(&c, rpub, 1, CIRCHS_CLASS_1500, m1), 0);
	/* Another relay cannot answer a message meant for this one. */
	assert_int_equal(circhs_answer(other_priv, m1, sizeof(m1), m2, &k, &depth, &cls), -EBADMSG);
	for (size_t i = 0; i < sizeof(m1); i++) {
		m1[i] ^= 4;
		assert_int_equal(circhs_answer(rpriv, m1, sizeof(m1), m2, &k, &depth, &cls),
		                 -EBADMSG);
		m1[i] ^= 4;
	}
	assert_int_equal(circhs_answer(rpriv, m1, sizeof(m1) - 1, m2, &k, &depth, &cls), -EBADMSG);
	assert_int_equal(circhs_answer(rpriv, m1, sizeof(m1), m2, &k, &depth, &cls), 0);
	m2[20] ^= 1;
	assert_int_equal(circhs_finish(&c, m2, sizeof(m2), &k), -EBADMSG);
	assert_int_equal(circhs_finish(&c, m2, sizeof(m2) - 1, &k), -EBADMSG);
}

/* What the format lacks: depth 0 or over the most hops, an unknown class or version. */
static void test_out_of_range(void **state)
{
	uint8_t m1[CIRCHS_MSG1_LEN], m2[CIRCHS_MSG2_LEN], zero[32] = {0};
	static const uint8_t bad[][3] = {
	    {2, 1, 0}, {1, 0, 0}, {1, ONION_MAX_HOPS + 1, 0}, {1, 1, 2}};
	struct circhs_keys k;
	struct circhs c;
	unsigned depth, cls;

	(void)state;
	assert_int_equal(circhs_start(&c, rpub, 0, 0, m1), -EINVAL);
	assert_int_equal(circhs_start(&c, rpub, ONION_MAX_HOPS + 1, 0, m1), -EINVAL);
	assert_int_equal(circhs_start(&c, rpub, 1, 2, m1), -EINVAL);
	/* A relay key that is a low-order point gives no secret: refused. */
	assert_int_equal(circhs_start(&c, zero, 1, 0, m1), -EINVAL);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct noise_hs hs;

		noise_hs_init_nk(&hs, NOISE_INITIATOR, (const uint8_t *)CIRCHS_PROLOGUE,
		                 sizeof(CIRCHS_PROLOGUE) - 1, NULL, rpub);
		assert_int_equal(noise_write_msg1(&hs, bad[i], 3, m1, sizeof(m1)), CIRCHS_MSG1_LEN);
		assert_int_equal(circhs_answer(rpriv, m1, sizeof(m1), m2, &k, &depth, &cls),
		                 -EPROTO);
		noise_hs_clear(&hs);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_both_ends_agree),
	    cmocka_unit_test(test_modified_or_misdirected),
	    cmocka_unit_test(test_out_of_range),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
