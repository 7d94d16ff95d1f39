/*
 * The relay network's frames and control messages (PROTOCOL.md §10): DESC_REQ's exact size,
 * DESC_RESP's bound, HELLO/DESC, DISCOVER's checks and padding, DISCOVERED and heartbeats.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "descriptor.h"
#include "frame.h"

static void test_desc_req(void **state)
{
	uint8_t req[PROTO_DESC_REQ_LEN + 1] = {0};

	(void)state;
	frame_encode_desc_req(req);
	assert_int_equal(frame_check(req, PROTO_DESC_REQ_LEN), PROTO_DESC_REQ);
	assert_int_equal(frame_decode_desc_req(req, PROTO_DESC_REQ_LEN), 0);
	/* Exactly 1024: one byte short or long is not a DESC_REQ. */
	assert_int_equal(frame_decode_desc_req(req, PROTO_DESC_REQ_LEN - 1), FRAME_ESHORT);
	assert_int_equal(frame_decode_desc_req(req, PROTO_DESC_REQ_LEN + 1), FRAME_ELONG);
	req[700] = 1;
	assert_int_equal(frame_decode_desc_req(req, PROTO_DESC_REQ_LEN), FRAME_ERESERVED);
}

static void test_desc_resp(void **state)
{
	uint8_t desc[DESC_MAX_LEN + 1], out[PROTO_HDR_LEN + DESC_MAX_LEN + 1];
	const uint8_t *p;
	size_t len;

	(void)state;
	memset(desc, 0x5a, sizeof(desc));
	assert_int_equal(frame_encode_desc_resp(out, sizeof(out), desc, DESC_MAX_LEN),
	                 PROTO_HDR_LEN + DESC_MAX_LEN);
	assert_int_equal(frame_decode_desc_resp(out, PROTO_HDR_LEN + DESC_MAX_LEN, &p, &len), 0);
	assert_int_equal(len, DESC_MAX_LEN);
	assert_ptr_equal(p, out + PROTO_HDR_LEN);
	/* Never larger than the request it answers. */
	assert_true(PROTO_HDR_LEN + DESC_MAX_LEN <= PROTO_DESC_REQ_LEN);
	assert_int_equal(frame_encode_desc_resp(out, sizeof(out), desc, DESC_MAX_LEN + 1), -EINVAL);
	assert_int_equal(frame_decode_desc_resp(out, PROTO_HDR_LEN + DESC_MAX_LEN + 1, &p, &len),
	                 FRAME_ELONG);
	assert_int_equal(frame_decode_desc_resp(out, PROTO_HDR_LEN, &p, &len), FRAME_ESHORT);
}

static void test_hello(void **state)
{
	uint8_t desc[DESC_MAX_LEN], out[PROTO_MAX_CTRL_PLAIN];
	const uint8_t *p;
	size_t len;
	int n;

	(void)state;
	memset(desc, 7, sizeof(desc));
	n = ctrl_encode_desc_msg(CTRL_HELLO, desc, sizeof(desc), out, sizeof(out));
	assert_int_equal(n, 3 + DESC_MAX_LEN);
	assert_true(n <= PROTO_MAX_CTRL_PLAIN);
	assert_int_equal(ctrl_decode_desc_msg(CTRL_HELLO, out, (size_t)n, &p, &len), 0);
	assert_int_equal(len, DESC_MAX_LEN);
	assert_int_equal(ctrl_decode_desc_msg(CTRL_DESC, out, (size_t)n, &p, &len), FRAME_ETYPE);
	assert_int_equal(ctrl_decode_desc_msg(CTRL_HELLO, out, (size_t)n - 1, &p, &len),
	                 FRAME_ESHORT);
	out[n] = 0; /* zero padding is allowed, anything else is not */
	assert_int_equal(ctrl_decode_desc_msg(CTRL_HELLO, out, (size_t)n + 1, &p, &len), 0);
	out[n] = 1;
	assert_int_equal(ctrl_decode_desc_msg(CTRL_HELLO, out, (size_t)n + 1, &p, &len),
	                 FRAME_ELONG);
	assert_int_equal(ctrl_encode_desc_msg(CTRL_BIND, desc, 10, out, sizeof(out)), -EINVAL);
}

static void test_discover(void **state)
{
	struct ctrl_discover q = {.flags = PROTO_DISCOVER_NEAR | PROTO_DISCOVER_MODES,
	                          .lat_e6 = -33868800,
	                          .lon_e6 = 151209300,
	                          .modes = DESC_MODE_SEALED,
	                          .max = 32},
	                     d;
	uint8_t out[PROTO_MAX_CTRL_PLAIN];
	int n;

	(void)state;
	q.after[0] = 0xab;
	n = ctrl_encode_discover(&q, out, sizeof(out));
	assert_int_equal(n, PROTO_CTRL_REQ_MIN); /* a padded request */
	assert_int_equal(ctrl_decode_discover(out, (size_t)n, &d), 0);
	assert_int_equal(d.lat_e6, q.lat_e6);
	assert_int_equal(d.lon_e6, q.lon_e6);
	assert_int_equal(d.modes, DESC_MODE_SEALED);
	assert_int_equal(d.after[0], 0xab);
	assert_int_equal(d.max, 32);
	/* Checks: max 1..32, known flags, a place on Earth, modes with the modes flag. */
	q.max = 33;
	assert_int_equal(ctrl_encode_discover(&q, out, sizeof(out)), -EINVAL);
	out[43] = 0;
	assert_int_equal(ctrl_decode_discover(out, (size_t)n, &d), FRAME_EFIELD);
	out[43] = 1;
	out[1] |= 0x80;
	assert_int_equal(ctrl_decode_discover(out, (size_t)n, &d), FRAME_EFIELD);
	out[1] = PROTO_DISCOVER_MODES;
	out[10] = 0;
	assert_int_equal(ctrl_decode_discover(out, (size_t)n, &d), FRAME_EFIELD);
	out[1] = PROTO_DISCOVER_NEAR;
	out[2] = 0x7f; /* latitude far above 90 degrees */
	assert_int_equal(ctrl_decode_discover(out, (size_t)n, &d), FRAME_EFIELD);
	assert_int_equal(ctrl_decode_discover(out, 43, &d), FRAME_ESHORT);
}

static void test_discovered_heartbeat(void **state)
{
	uint8_t next[32], got[32], out[64], count, type;
	uint64_t nonce;
	int n;

	(void)state;
	memset(next, 3, sizeof(next));
	n = ctrl_encode_discovered(next, 5, out, sizeof(out));
	assert_int_equal(n, 34);
	assert_int_equal(ctrl_decode_discovered(out, (size_t)n, got, &count), 0);
	assert_memory_equal(got, next, 32);
	assert_int_equal(count, 5);
	out[33] = 33;
	assert_int_equal(ctrl_decode_discovered(out, (size_t)n, got, &count), FRAME_EFIELD);
	n = ctrl_encode_heartbeat(CTRL_HEARTBEAT_ACK, 0x0102030405060708ULL, out, sizeof(out));
	assert_int_equal(n, 9);
	assert_int_equal(ctrl_decode_heartbeat(out, (size_t)n, &type, &nonce), 0);
	assert_int_equal(type, CTRL_HEARTBEAT_ACK);
	assert_true(nonce == 0x0102030405060708ULL);
	assert_int_equal(ctrl_encode_heartbeat(CTRL_HELLO, 1, out, sizeof(out)), -EINVAL);
	/* The old control-message decoder does not take relay-network types. */
	{
		struct ctrl_msg m;

		assert_int_equal(ctrl_decode(out, (size_t)n, &m), FRAME_ETYPE);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_desc_req),
	    cmocka_unit_test(test_desc_resp),
	    cmocka_unit_test(test_hello),
	    cmocka_unit_test(test_discover),
	    cmocka_unit_test(test_discovered_heartbeat),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
