/*
 * test_cell.c: the link layer of circuit cells: round trips of every command in both classes,
 * the frame against libsodium called directly, one size per class whatever the cell carries,
 * every modified byte refused, replays, and what the format lacks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "buf.h"
#include "cell.h"
#include "frame.h"

static uint8_t key[32];

static int setup(void **state)
{
	uint8_t data_key[32];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	randombytes_buf(data_key, sizeof(data_key));
	cell_derive_key(key, data_key);
	/* Not the data key itself: DATA and CELL frames never share a key. */
	return memcmp(key, data_key, 32) ? 0 : -1;
}

static void test_round_trip_every_cmd_and_class(void **state)
{
	static const size_t classes[] = {CELL_BODY_1500, CELL_BODY_1280};
	uint8_t frame[2048], body[CELL_BODY_1500];
	struct replay rp;

	(void)state;
	replay_init(&rp);
	for (size_t i = 0; i < 2; i++)
		for (uint8_t cmd = CELL_CREATE; cmd <= CELL_PADDING; cmd++) {
			uint64_t ctr = i * 100 + cmd;
			struct cell c = {.circ_id = 0x01020304u + cmd,
			                 .cmd = cmd,
			                 .k = 99 * cmd,
			                 .body = body,
			                 .body_len = classes[i]};
			struct cell got;
			int n;

			randombytes_buf(body, sizeof(body));
			n = cell_seal(frame, sizeof(frame), 0xa0b0c0d0u, ctr, key, &c);
			/* The same size for every command of a class. */
			assert_int_equal(n, CELL_FRAME_LEN(classes[i]));
			/* The receiver's first check passes it as a cell, no other frame. */
			assert_int_equal(frame_check(frame, (size_t)n), PROTO_CELL);
			assert_int_equal(cell_open(frame, (size_t)n, key, &rp, &got), 0);
			assert_int_equal(got.circ_id, c.circ_id);
			assert_int_equal(got.cmd, cmd);
			assert_int_equal(got.k, c.k);
			assert_int_equal(got.body_len, classes[i]);
			assert_memory_equal(got.body, body, classes[i]);
		}
	assert_int_equal(CELL_FRAME_LEN(CELL_BODY_1500), 1445);
	assert_int_equal(CELL_FRAME_LEN(CELL_BODY_1280), 1225);
}

/* The frame rebuilt here from its definition in cell.h with libsodium directly. */
static void test_frame_is_xchacha(void **state)
{
	uint8_t frame[2048], want[2048], body[CELL_BODY_1280], nonce[24] = "wgrelay cell v1";
	struct cell c = {
	    .circ_id = 7, .cmd = CELL_FWD, .k = 5, .body = body, .body_len = CELL_BODY_1280};
	int n;

	(void)state;
	memset(body, 0x5a, sizeof(body));
	n = cell_seal(frame, sizeof(frame), 0x11223344u, 0x0102030405060708ull, key, &c);
	want[0] = 0xF1;
	want[1] = 0x0A;
	want[2] = want[3] = 0;
	buf_store_be32(want + 4, 0x11223344u);
	buf_store_be64(want + 8, 0x0102030405060708ull);
	buf_store_be32(want + 16, 7);
	want[20] = CELL_FWD;
	buf_store_be64(want + 21, 5);
	memcpy(want + 29, body, sizeof(body));
	buf_store_be64(nonce + 16, 0x0102030405060708ull);
	crypto_aead_xchacha20poly1305_ietf_encrypt(want + 16, NULL, want + 16, 13 + sizeof(body),
	                                           want, 16, NULL, nonce, key);
	assert_int_equal(n, 16 + 13 + (int)sizeof(body) + 16);
	assert_memory_equal(frame, want, (size_t)n);
}

static void test_modified_and_replayed(void **state)
{
	uint8_t frame[2048], copy[2048], body[CELL_BODY_1500] = {1};
	struct cell c = {.circ_id = 9,
	                 .cmd = CELL_BWD,
	                 .k = 1,
	                 .body = body,
	                 .body_len = CELL_BODY_1500},
	            got;
	struct replay rp;
	int n;

	(void)state;
	n = cell_seal(frame, sizeof(frame), 1, 50, key, &c);
	for (int i = 0; i < n; i++) {
		int r;

		memcpy(copy, frame, (size_t)n);
		copy[i] ^= 0x20;
		replay_init(&rp);
		r = cell_open(copy, (size_t)n, key, &rp, &got);
		/* The header's own checks, or authentication: never accepted. */
		assert_true(r < 0);
		if (i >= 4)
			assert_int_equal(r, FRAME_EAUTH);
	}
	replay_init(&rp);
	memcpy(copy, frame, (size_t)n);
	assert_int_equal(cell_open(copy, (size_t)n, key, &rp, &got), 0);
	memcpy(copy, frame, (size_t)n);
	assert_int_equal(cell_open(copy, (size_t)n, key, &rp, &got), FRAME_EREPLAY);
	/* Another key (the other direction's, say): refused. */
	{
		uint8_t other[32];

		cell_derive_key(other, key);
		memcpy(copy, frame, (size_t)n);
		assert_int_equal(cell_open(copy, (size_t)n, other, NULL, &got), FRAME_EAUTH);
	}
}

static void test_what_the_format_lacks(void **state)
{
	uint8_t frame[2048], body[CELL_BODY_1500] = {0}, nonce[24] = "wgrelay cell v1";
	struct cell c = {.circ_id = 1, .cmd = CELL_FWD, .body = body, .body_len = 1000}, got;
	struct replay rp;
	int n;

	(void)state;
	assert_int_equal(cell_seal(frame, sizeof(frame), 1, 1, key, &c), FRAME_EFIELD);
	c.body_len = CELL_BODY_1500;
	c.cmd = 0;
	assert_int_equal(cell_seal(frame, sizeof(frame), 1, 1, key, &c), FRAME_EFIELD);
	c.cmd = CELL_PADDING + 1;
	assert_int_equal(cell_seal(frame, sizeof(frame), 1, 1, key, &c), FRAME_EFIELD);
	c.cmd = CELL_FWD;
	c.circ_id = 0;
	assert_int_equal(cell_seal(frame, sizeof(frame), 1, 1, key, &c), FRAME_EFIELD);
	c.circ_id = 1;
	assert_int_equal(cell_seal(frame, 100, 1, 1, key, &c), FRAME_ELONG);
	n = cell_seal(frame, sizeof(frame), 1, 1, key, &c);
	assert_int_equal(cell_open(frame, 3, key, NULL, &got), FRAME_ESHORT);
	assert_int_equal(cell_open(frame, (size_t)n - 1, key, NULL, &got), FRAME_EFIELD);
	assert_int_equal(cell_open(frame, (size_t)n + 1, key, NULL, &got), FRAME_ELONG);
	assert_int_equal(cell_open(frame, 600, key, NULL, &got), FRAME_ESHORT);
	/* frame_check passes the span of the classes; cell_open takes only their exact sizes. */
	assert_int_equal(frame_check(frame, (size_t)n - 1), PROTO_CELL);
	assert_int_equal(frame_check(frame, (size_t)n + 1), FRAME_ELONG);
	assert_int_equal(frame_check(frame, CELL_FRAME_LEN(CELL_BODY_1280) - 1), FRAME_ESHORT);
	frame[1] = 0x07;
	assert_int_equal(cell_open(frame, (size_t)n, key, NULL, &got), FRAME_ETYPE);
	frame[1] = 0x0A;
	frame[3] = 1;
	assert_int_equal(cell_open(frame, (size_t)n, key, NULL, &got), FRAME_ERESERVED);
	/* An authentic frame (whoever holds the key) with command 9: refused after the window. */
	memset(frame, 0, sizeof(frame));
	frame[0] = 0xF1;
	frame[1] = 0x0A;
	buf_store_be64(frame + 8, 77);
	buf_store_be32(frame + 16, 3);
	frame[20] = 9;
	buf_store_be64(nonce + 16, 77);
	crypto_aead_xchacha20poly1305_ietf_encrypt(
	    frame + 16, NULL, frame + 16, 13 + CELL_BODY_1500, frame, 16, NULL, nonce, key);
	replay_init(&rp);
	assert_int_equal(cell_open(frame, CELL_FRAME_LEN(CELL_BODY_1500), key, &rp, &got),
	                 FRAME_EFIELD);
	assert_false(replay_check(&rp, 77));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_every_cmd_and_class),
	    cmocka_unit_test(test_frame_is_xchacha),
	    cmocka_unit_test(test_modified_and_replayed),
	    cmocka_unit_test(test_what_the_format_lacks),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
