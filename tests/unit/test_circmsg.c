/*
 * test_circmsg.c: the messages of circuits: every type round trips in the room of a 3-hop
 * message and in the smallest room that holds it; each malformation has its own error; DATA
 * fills exactly its room; the link-level bodies.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "cell.h"
#include "circmsg.h"
#include "onion.h"

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (uint8_t)(seed ^ (i * 13));
}

static void test_round_trip_every_type(void **state)
{
	static const uint8_t types[] = {CIRCMSG_EXTEND,  CIRCMSG_EXTENDED, CIRCMSG_RENDEZVOUS,
	                                CIRCMSG_SPLICED, CIRCMSG_DATA,     CIRCMSG_PADDING};
	size_t room = onion_room(CELL_BODY_1500, 3);
	uint8_t out[CELL_BODY_1500], payload[200];

	(void)state;
	fill(payload, sizeof(payload), 3);
	for (size_t i = 0; i < sizeof(types); i++) {
		struct circmsg m = {.type = types[i], .data = payload, .data_len = 200}, got;

		fill(m.identity, 32, 1);
		fill(m.noise_pub, 32, 2);
		fill(m.hs, sizeof(m.hs), 4);
		fill(m.cookie, sizeof(m.cookie), 5);
		memset(out, 0xee, sizeof(out));
		assert_int_equal(circmsg_encode(&m, out, room), 0);
		assert_int_equal(circmsg_decode(out, room, &got), 0);
		assert_int_equal(got.type, m.type);
		switch (m.type) {
		case CIRCMSG_EXTEND:
			assert_memory_equal(got.identity, m.identity, 32);
			assert_memory_equal(got.noise_pub, m.noise_pub, 32);
			assert_memory_equal(got.hs, m.hs, CIRCHS_MSG1_LEN);
			break;
		case CIRCMSG_EXTENDED:
			assert_memory_equal(got.hs, m.hs, CIRCHS_MSG2_LEN);
			break;
		case CIRCMSG_RENDEZVOUS:
			assert_memory_equal(got.cookie, m.cookie, CIRCMSG_COOKIE_LEN);
			break;
		case CIRCMSG_DATA:
			assert_int_equal(got.data_len, 200);
			assert_memory_equal(got.data, payload, 200);
			break;
		}
	}
	/* EXTEND fits the smallest room: the 8th hop of the small class. */
	assert_true(onion_room(CELL_BODY_1280, ONION_MAX_HOPS) >= CIRCMSG_EXTEND_LEN);
}

/* A WireGuard datagram of the largest size the room holds, already in place after the header. */
static void test_data_in_place_fills_room(void **state)
{
	size_t room = onion_room(CELL_BODY_1500, 2), max = circmsg_data_max(room);
	uint8_t out[CELL_BODY_1500], want[CELL_BODY_1500];
	struct circmsg m = {.type = CIRCMSG_DATA, .data = out + CIRCMSG_DATA_HDR, .data_len = max},
	               got;

	(void)state;
	assert_int_equal(max, room - 3);
	fill(out + CIRCMSG_DATA_HDR, max, 9);
	memcpy(want, out + CIRCMSG_DATA_HDR, max);
	assert_int_equal(circmsg_encode(&m, out, room), 0);
	assert_int_equal(circmsg_decode(out, room, &got), 0);
	assert_int_equal(got.data_len, max);
	assert_memory_equal(got.data, want, max);
	m.data_len = max + 1;
	assert_int_equal(circmsg_encode(&m, out, room), CIRCMSG_ESHORT);
	m.data_len = 0;
	assert_int_equal(circmsg_encode(&m, out, room), CIRCMSG_ELEN);
}

static void test_malformations(void **state)
{
	uint8_t in[64] = {0};
	struct circmsg m;

	(void)state;
	assert_int_equal(circmsg_decode(in, 0, &m), CIRCMSG_ESHORT);
	in[0] = 0;
	assert_int_equal(circmsg_decode(in, sizeof(in), &m), CIRCMSG_ETYPE);
	in[0] = 7;
	assert_int_equal(circmsg_decode(in, sizeof(in), &m), CIRCMSG_ETYPE);
	in[0] = CIRCMSG_EXTEND;
	assert_int_equal(circmsg_decode(in, sizeof(in), &m), CIRCMSG_ESHORT);
	in[0] = CIRCMSG_SPLICED;
	in[40] = 1;
	assert_int_equal(circmsg_decode(in, sizeof(in), &m), CIRCMSG_EPAD);
	in[40] = 0;
	assert_int_equal(circmsg_decode(in, sizeof(in), &m), 0);
	in[0] = CIRCMSG_DATA;
	assert_int_equal(circmsg_decode(in, 2, &m), CIRCMSG_ESHORT);
	assert_int_equal(circmsg_decode(in, sizeof(in), &m), CIRCMSG_ELEN); /* length 0 */
	in[2] = 62;
	assert_int_equal(circmsg_decode(in, sizeof(in), &m), CIRCMSG_ELEN);
	in[2] = 61;
	assert_int_equal(circmsg_decode(in, sizeof(in), &m), 0);
	assert_int_equal(m.data_len, 61);
	in[2] = 60;
	in[63] = 1;
	assert_int_equal(circmsg_decode(in, sizeof(in), &m), CIRCMSG_EPAD);
	m.type = 0;
	assert_int_equal(circmsg_encode(&m, in, sizeof(in)), CIRCMSG_ETYPE);
	m.type = CIRCMSG_EXTEND;
	assert_int_equal(circmsg_encode(&m, in, sizeof(in)), CIRCMSG_ESHORT);
}

static void test_link_bodies(void **state)
{
	uint8_t body[CELL_BODY_1280], m1[CIRCHS_MSG1_LEN], m2[CIRCHS_MSG2_LEN],
	    got1[CIRCHS_MSG1_LEN], got2[CIRCHS_MSG2_LEN], reason;

	(void)state;
	fill(m1, sizeof(m1), 1);
	fill(m2, sizeof(m2), 2);
	memset(body, 0xff, sizeof(body));
	circmsg_put_create(body, sizeof(body), m1);
	assert_int_equal(circmsg_get_create(body, sizeof(body), got1), 0);
	assert_memory_equal(got1, m1, sizeof(m1));
	body[sizeof(body) - 1] = 1;
	assert_int_equal(circmsg_get_create(body, sizeof(body), got1), CIRCMSG_EPAD);
	circmsg_put_created(body, sizeof(body), m2);
	assert_int_equal(circmsg_get_created(body, sizeof(body), got2), 0);
	assert_memory_equal(got2, m2, sizeof(m2));
	circmsg_put_destroy(body, sizeof(body), 7);
	assert_int_equal(circmsg_get_destroy(body, sizeof(body), &reason), 0);
	assert_int_equal(reason, 7);
	assert_int_equal(circmsg_get_create(body, 10, got1), CIRCMSG_EPAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trip_every_type),
	    cmocka_unit_test(test_data_in_place_fills_room),
	    cmocka_unit_test(test_malformations),
	    cmocka_unit_test(test_link_bodies),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
