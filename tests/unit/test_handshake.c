/* Unit tests: common/handshake.c and common/cookie.c (client and relay in memory). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "frame.h"
#include "cookie.h"
#include "handshake.h"

struct world {
	uint8_t client_priv[32], client_pub[32], relay_priv[32], relay_pub[32];
	struct hs_client c;
	struct hs_relay r;
	struct addr src;
};

static int setup(void **state)
{
	static struct world w;

	if (sodium_init() < 0)
		return -1;
	crypto_box_keypair(w.client_pub, w.client_priv);
	crypto_box_keypair(w.relay_pub, w.relay_priv);
	hs_client_init(&w.c, w.client_priv, w.relay_pub);
	hs_relay_init(&w.r, w.relay_priv);
	addr_parse(&w.src, "198.51.100.20:41000", 0);
	*state = &w;
	return 0;
}

static void test_full_handshake_and_ctrl(void **state)
{
	struct world *w = *state;
	uint8_t init[PROTO_HS_INIT_LEN], resp[PROTO_HS_RESP_LEN], cookie[PROTO_COOKIE_LEN];
	uint8_t frame[128], pt[64];
	struct link_keys ck, rk;
	struct hs_pending p;
	struct addr observed;
	int n;

	hs_client_build_init(&w->c, init, 1000);
	assert_int_equal(frame_check(init, sizeof(init)), PROTO_HS_INIT);
	assert_int_equal(
	    hs_relay_open_init(&w->r, init, sizeof(init), &w->src, false, 1000, &p, cookie),
	    HS_ACCEPT);
	assert_memory_equal(p.client_pub, w->client_pub, 32);
	hs_relay_finish(&p, 0x5555, &w->src, resp, &rk);
	assert_int_equal(hs_client_consume_resp(&w->c, resp, sizeof(resp), &ck, &observed), 0);
	assert_true(addr_equal(&observed, &w->src));
	assert_memory_equal(ck.ctrl_send, rk.ctrl_recv, 32);
	assert_memory_equal(ck.ctrl_recv, rk.ctrl_send, 32);
	assert_memory_equal(ck.data_send, rk.data_recv, 32);
	assert_memory_not_equal(ck.data_send, ck.ctrl_send, 32);
	assert_int_equal(ck.remote_index, 0x5555);
	assert_int_equal(rk.remote_index, ck.local_index);
	assert_memory_equal(rk.peer_static, w->client_pub, 32);
	/* A control message travels each way. */
	n = frame_seal_ctrl(frame, sizeof(frame), ck.remote_index, ck.ctrl_send_counter++,
	                    ck.ctrl_send, (const uint8_t[]){CTRL_KEEPALIVE}, 1);
	assert_int_equal(
	    frame_open_ctrl(frame, (size_t)n, rk.ctrl_recv, &rk.ctrl_replay, pt, sizeof(pt)), 1);
	n = frame_seal_ctrl(frame, sizeof(frame), rk.remote_index, rk.ctrl_send_counter++,
	                    rk.ctrl_send, (const uint8_t[]){CTRL_KEEPALIVE}, 1);
	assert_int_equal(
	    frame_open_ctrl(frame, (size_t)n, ck.ctrl_recv, &ck.ctrl_replay, pt, sizeof(pt)), 1);
	/* The response is not accepted twice. */
	assert_int_equal(hs_client_consume_resp(&w->c, resp, sizeof(resp), &ck, &observed),
	                 FRAME_EFIELD);
	link_keys_clear(&ck);
	link_keys_clear(&rk);
}

static void test_mac1_checked_before_dh(void **state)
{
	struct world *w = *state;
	uint8_t init[PROTO_HS_INIT_LEN], cookie[PROTO_COOKIE_LEN];
	struct hs_pending p;
	struct hs_relay other;
	uint8_t opriv[32], opub[32];

	hs_client_build_init(&w->c, init, 1000);
	init[20] ^= 1;
	/* A changed byte breaks mac1 first: dropped before any Diffie-Hellman. */
	assert_int_equal(
	    hs_relay_open_init(&w->r, init, sizeof(init), &w->src, false, 1000, &p, cookie),
	    FRAME_EMAC);
	/* With mac1 made right again, the Noise message itself does not open. */
	{
		struct cookie_maker m;

		cookie_maker_init(&m, w->relay_pub);
		cookie_add_macs(&m, init, sizeof(init), 1000);
		assert_int_equal(
		    hs_relay_open_init(&w->r, init, sizeof(init), &w->src, false, 1000, &p, cookie),
		    FRAME_EAUTH);
	}
	hs_client_build_init(&w->c, init, 1000);
	/* A relay with another key rejects on mac1 (the client targeted someone else). */
	crypto_box_keypair(opub, opriv);
	hs_relay_init(&other, opriv);
	assert_int_equal(
	    hs_relay_open_init(&other, init, sizeof(init), &w->src, false, 1000, &p, cookie),
	    FRAME_EMAC);
	/* Wrong size never reaches crypto. */
	assert_int_equal(
	    hs_relay_open_init(&w->r, init, sizeof(init) - 1, &w->src, false, 1000, &p, cookie),
	    FRAME_ESHORT);
}

static void test_cookie_under_load(void **state)
{
	struct world *w = *state;
	uint8_t init[PROTO_HS_INIT_LEN], cookie[PROTO_COOKIE_LEN], resp[PROTO_HS_RESP_LEN];
	struct hs_pending p;
	struct link_keys ck, rk;
	struct addr observed, other_src;

	hs_client_build_init(&w->c, init, 5000);
	assert_int_equal(
	    hs_relay_open_init(&w->r, init, sizeof(init), &w->src, true, 5000, &p, cookie),
	    HS_COOKIE);
	assert_int_equal(frame_check(cookie, sizeof(cookie)), PROTO_COOKIE);
	assert_true(sizeof(cookie) <= sizeof(init));
	/* Malformed cookie replies fail with distinct errors and leave the real one usable. */
	{
		uint8_t bad[PROTO_COOKIE_LEN];

		assert_int_equal(hs_client_consume_cookie(&w->c, cookie, 3, 5001), FRAME_ESHORT);
		assert_int_equal(hs_client_consume_cookie(&w->c, cookie, sizeof(cookie) - 1, 5001),
		                 FRAME_ESHORT);
		assert_int_equal(hs_client_consume_cookie(&w->c, init, sizeof(init), 5001),
		                 FRAME_ETYPE);
		memcpy(bad, cookie, sizeof(bad));
		bad[0] = 0xF2;
		assert_int_equal(hs_client_consume_cookie(&w->c, bad, sizeof(bad), 5001),
		                 FRAME_EMAGIC);
		memcpy(bad, cookie, sizeof(bad));
		bad[3] = 1;
		assert_int_equal(hs_client_consume_cookie(&w->c, bad, sizeof(bad), 5001),
		                 FRAME_ERESERVED);
	}
	assert_int_equal(hs_client_consume_cookie(&w->c, cookie, sizeof(cookie), 5001), 0);
	/* A second copy of the reply is refused (one per request). */
	assert_true(hs_client_consume_cookie(&w->c, cookie, sizeof(cookie), 5001) < 0);
	hs_client_build_init(&w->c, init, 5002);
	assert_int_equal(
	    hs_relay_open_init(&w->r, init, sizeof(init), &w->src, true, 5002, &p, cookie),
	    HS_ACCEPT);
	hs_relay_finish(&p, 9, &w->src, resp, &rk);
	assert_int_equal(hs_client_consume_resp(&w->c, resp, sizeof(resp), &ck, &observed), 0);
	/* The cookie is bound to the source address: from elsewhere, another cookie round. */
	hs_client_build_init(&w->c, init, 5003);
	addr_parse(&other_src, "203.0.113.9:41000", 0);
	assert_int_equal(
	    hs_relay_open_init(&w->r, init, sizeof(init), &other_src, true, 5003, &p, cookie),
	    HS_COOKIE);
	/* And it expires with the relay's secret. */
	hs_client_build_init(&w->c, init, 5004 + PROTO_COOKIE_SECRET_MS);
	assert_int_equal(hs_relay_open_init(&w->r, init, sizeof(init), &w->src, true,
	                                    5004 + PROTO_COOKIE_SECRET_MS, &p, cookie),
	                 HS_COOKIE);
}

static void test_forged_response(void **state)
{
	struct world *w = *state;
	uint8_t init[PROTO_HS_INIT_LEN], resp[PROTO_HS_RESP_LEN], cookie[PROTO_COOKIE_LEN];
	struct hs_pending p;
	struct link_keys ck, rk;
	struct addr observed;

	hs_client_build_init(&w->c, init, 1);
	assert_int_equal(
	    hs_relay_open_init(&w->r, init, sizeof(init), &w->src, false, 1, &p, cookie),
	    HS_ACCEPT);
	hs_relay_finish(&p, 1, &w->src, resp, &rk);
	for (size_t i = 4; i < sizeof(resp); i++) {
		resp[i] ^= 0x04;
		assert_true(hs_client_consume_resp(&w->c, resp, sizeof(resp), &ck, &observed) < 0);
		resp[i] ^= 0x04;
	}
	/* The pending handshake survived the forgeries. */
	assert_int_equal(hs_client_consume_resp(&w->c, resp, sizeof(resp), &ck, &observed), 0);
}

static void test_timestamps_increase(void **state)
{
	struct world *w = *state;
	uint8_t init[PROTO_HS_INIT_LEN], cookie[PROTO_COOKIE_LEN], t1[12];
	struct hs_pending p;

	hs_client_build_init(&w->c, init, 1);
	assert_int_equal(
	    hs_relay_open_init(&w->r, init, sizeof(init), &w->src, false, 1, &p, cookie),
	    HS_ACCEPT);
	memcpy(t1, p.tai64n, 12);
	usleep(2000);
	hs_client_build_init(&w->c, init, 2);
	assert_int_equal(
	    hs_relay_open_init(&w->r, init, sizeof(init), &w->src, false, 2, &p, cookie),
	    HS_ACCEPT);
	/* The relay keeps the greatest timestamp per client key and refuses older ones. */
	assert_true(memcmp(p.tai64n, t1, 12) > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_handshake_and_ctrl),
	    cmocka_unit_test(test_mac1_checked_before_dh),
	    cmocka_unit_test(test_cookie_under_load),
	    cmocka_unit_test(test_forged_response),
	    cmocka_unit_test(test_timestamps_increase),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
