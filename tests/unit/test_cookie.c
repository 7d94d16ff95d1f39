/* Unit tests: common/cookie.c on its own (mac1, mac2, cookie replies; PROTOCOL.md §4.3). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "addr.h"
#include "cookie.h"

struct world {
	uint8_t relay_pub[32], other_pub[32];
	struct cookie_checker chk;
	struct cookie_maker mk;
	struct addr src;
	uint8_t msg[PROTO_HS_INIT_LEN];
};

static int setup(void **state)
{
	static struct world w;
	uint8_t priv[32];

	if (sodium_init() < 0)
		return -1;
	crypto_box_keypair(w.relay_pub, priv);
	crypto_box_keypair(w.other_pub, priv);
	sodium_memzero(priv, sizeof(priv));
	cookie_checker_init(&w.chk, w.relay_pub);
	cookie_maker_init(&w.mk, w.relay_pub);
	assert_int_equal(addr_parse(&w.src, "198.51.100.20:41000", 0), 0);
	/* Any bytes stand for the Noise part: the MACs cover the frame up to themselves. */
	randombytes_buf(w.msg, sizeof(w.msg));
	w.msg[0] = PROTO_MAGIC;
	w.msg[1] = PROTO_HS_INIT;
	*state = &w;
	return 0;
}

static const uint8_t zero16[PROTO_MAC_LEN];

static void test_mac1(void **state)
{
	struct world *w = *state;
	struct cookie_checker other;
	uint8_t m[sizeof(w->msg)];

	cookie_add_macs(&w->mk, w->msg, sizeof(w->msg), 1000);
	assert_true(cookie_check_mac1(&w->chk, w->msg, sizeof(w->msg)));
	/* No cookie yet: mac2 is zero and does not verify. */
	assert_memory_equal(w->msg + sizeof(w->msg) - PROTO_MAC_LEN, zero16, PROTO_MAC_LEN);
	assert_false(cookie_check_mac2(&w->chk, w->msg, sizeof(w->msg), &w->src, 1000));
	/* A relay with another key refuses it. */
	cookie_checker_init(&other, w->other_pub);
	assert_false(cookie_check_mac1(&other, w->msg, sizeof(w->msg)));
	/* Every byte up to and including mac1 is covered; mac2 is not. */
	for (size_t i = 0; i < sizeof(m); i++) {
		memcpy(m, w->msg, sizeof(m));
		m[i] ^= 0x01;
		if (i < sizeof(m) - PROTO_MAC_LEN)
			assert_false(cookie_check_mac1(&w->chk, m, sizeof(m)));
		else
			assert_true(cookie_check_mac1(&w->chk, m, sizeof(m)));
	}
	assert_false(cookie_check_mac1(&w->chk, w->msg, 2 * PROTO_MAC_LEN - 1));
	assert_false(cookie_check_mac1(&w->chk, w->msg, sizeof(w->msg) - 1));
}

static void test_cookie_flow(void **state)
{
	struct world *w = *state;
	uint8_t reply[PROTO_COOKIE_LEN], m[sizeof(w->msg)];
	struct addr other_port, other_ip;

	cookie_maker_init(&w->mk, w->relay_pub);
	cookie_add_macs(&w->mk, w->msg, sizeof(w->msg), 2000);
	cookie_make_reply(&w->chk, reply, 0x01020304, w->msg, sizeof(w->msg), &w->src, 2000);
	assert_true(sizeof(reply) <= sizeof(w->msg));
	assert_int_equal(reply[0], PROTO_MAGIC);
	assert_int_equal(reply[1], PROTO_COOKIE);
	assert_int_equal(reply[4], 0x01);
	assert_int_equal(reply[7], 0x04);
	assert_int_equal(cookie_consume_reply(&w->mk, reply, sizeof(reply), 2001), 0);
	/* One reply per request. */
	assert_int_equal(cookie_consume_reply(&w->mk, reply, sizeof(reply), 2001), -EBADMSG);

	cookie_add_macs(&w->mk, w->msg, sizeof(w->msg), 2002);
	assert_memory_not_equal(w->msg + sizeof(w->msg) - PROTO_MAC_LEN, zero16, PROTO_MAC_LEN);
	assert_true(cookie_check_mac1(&w->chk, w->msg, sizeof(w->msg)));
	assert_true(cookie_check_mac2(&w->chk, w->msg, sizeof(w->msg), &w->src, 2003));
	/* mac2 covers mac1 and everything before it. */
	memcpy(m, w->msg, sizeof(m));
	m[10] ^= 0x80;
	assert_false(cookie_check_mac2(&w->chk, m, sizeof(m), &w->src, 2003));
	/* The cookie is bound to the source ip and port. */
	other_port = w->src;
	addr_set_port(&other_port, 41001);
	assert_false(cookie_check_mac2(&w->chk, w->msg, sizeof(w->msg), &other_port, 2003));
	assert_int_equal(addr_parse(&other_ip, "198.51.100.21:41000", 0), 0);
	assert_false(cookie_check_mac2(&w->chk, w->msg, sizeof(w->msg), &other_ip, 2003));
	/* The relay's secret rotates: the old cookie stops working. */
	assert_false(cookie_check_mac2(&w->chk, w->msg, sizeof(w->msg), &w->src,
	                               2003 + PROTO_COOKIE_SECRET_MS));
	/* The client stops using a cookie as old as the secret's lifetime. */
	cookie_add_macs(&w->mk, w->msg, sizeof(w->msg), 2001 + PROTO_COOKIE_SECRET_MS);
	assert_memory_equal(w->msg + sizeof(w->msg) - PROTO_MAC_LEN, zero16, PROTO_MAC_LEN);
}

static void test_reply_bound_to_mac1(void **state)
{
	struct world *w = *state;
	uint8_t reply[PROTO_COOKIE_LEN], t[PROTO_COOKIE_LEN], m2[sizeof(w->msg)];

	cookie_maker_init(&w->mk, w->relay_pub);
	cookie_add_macs(&w->mk, w->msg, sizeof(w->msg), 3000);
	cookie_make_reply(&w->chk, reply, 7, w->msg, sizeof(w->msg), &w->src, 3000);
	/* The client sent another message since: its last mac1 differs, the reply does not open. */
	memcpy(m2, w->msg, sizeof(m2));
	m2[20] ^= 1;
	cookie_add_macs(&w->mk, m2, sizeof(m2), 3001);
	assert_int_equal(cookie_consume_reply(&w->mk, reply, sizeof(reply), 3001), -EBADMSG);

	cookie_add_macs(&w->mk, w->msg, sizeof(w->msg), 3002);
	/* Tampering with any byte but the receiver index breaks it (reserved bytes must be zero). */
	for (size_t i = 0; i < sizeof(reply); i++) {
		if (i >= 4 && i < 8)
			continue; /* the receiver index is checked by handshake.c, not here */
		memcpy(t, reply, sizeof(t));
		t[i] ^= 0x04;
		assert_int_equal(cookie_consume_reply(&w->mk, t, sizeof(t), 3002), -EBADMSG);
	}
	/* Short, long, wrong magic, wrong type. */
	assert_int_equal(cookie_consume_reply(&w->mk, reply, sizeof(reply) - 1, 3002), -EBADMSG);
	{
		uint8_t longer[PROTO_COOKIE_LEN + 1] = {0};

		memcpy(longer, reply, sizeof(reply));
		assert_int_equal(cookie_consume_reply(&w->mk, longer, sizeof(longer), 3002),
		                 -EBADMSG);
	}
	assert_int_equal(cookie_consume_reply(&w->mk, reply, sizeof(reply), 3002), 0);
}

static void test_reply_from_other_relay(void **state)
{
	struct world *w = *state;
	struct cookie_checker other;
	uint8_t reply[PROTO_COOKIE_LEN];

	cookie_maker_init(&w->mk, w->relay_pub);
	cookie_add_macs(&w->mk, w->msg, sizeof(w->msg), 4000);
	cookie_checker_init(&other, w->other_pub);
	cookie_make_reply(&other, reply, 7, w->msg, sizeof(w->msg), &w->src, 4000);
	assert_int_equal(cookie_consume_reply(&w->mk, reply, sizeof(reply), 4000), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mac1),
	    cmocka_unit_test(test_cookie_flow),
	    cmocka_unit_test(test_reply_bound_to_mac1),
	    cmocka_unit_test(test_reply_from_other_relay),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
