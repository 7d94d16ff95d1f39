/*
 * test_circsw.c: four circuit switches and two clients wired by an in-memory network with a
 * fake clock. Client A builds S1 -> S2 -> S3 by CREATE and two EXTENDs, client B builds
 * S4 -> S3, both ask S3 for the same rendezvous cookie and WireGuard datagrams then cross both
 * ways; a bit flipped by S1 is dropped at S2; replays are dropped; DESTROY, a link going down
 * and an unanswered EXTEND tear circuits down on every switch; CREATEs past the limits are
 * refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "circmsg.h"
#include "circsw.h"
#include "onion.h"

#define NSW    4
#define B      CELL_BODY_1500
#define CLIENT 1 /* the link id of a client's link, on the switch it reaches */

/* Relay link ids: on switch i, the link to switch j is 100 + 10 i + j. */
static uint64_t rlink(int i, int j)
{
	return 100 + 10 * (uint64_t)i + (uint64_t)j;
}

struct client {
	int entry; /* the switch its link reaches */
	uint32_t circ;
	struct circhs_keys keys[ONION_MAX_HOPS];
	unsigned n;
	uint64_t k;
	struct replay bwd[ONION_MAX_HOPS];
	/* what came back */
	int got_hop;
	struct circmsg got;
	uint8_t got_data[B];
	bool destroyed;
};

static struct circsw *S[NSW];
static uint8_t spub[NSW][32];
static struct client A, Bc;
static uint64_t now = 1000;
static bool connect_answers = true;
static int flip_from = -1, flip_to = -1; /* a bit flipped on that relay link, once */

static struct client *client_at(int sw)
{
	return A.entry == sw ? &A : &Bc;
}

static void client_receive(struct client *c, struct cell *cell)
{
	int e;

	if (cell->cmd == CELL_DESTROY) {
		c->destroyed = true;
		return;
	}
	if (cell->cmd == CELL_CREATED) {
		c->got_hop = 0;
		memcpy(c->got_data, cell->body, cell->body_len);
		return;
	}
	assert_int_equal(cell->cmd, CELL_BWD);
	e = onion_unwrap(cell->body, cell->body_len,
	                 (struct onion_key[]){c->keys[0].bwd, c->keys[1].bwd, c->keys[2].bwd}, c->n,
	                 cell->k);
	assert_true(e >= 1);
	/* The hop's residue, and one window per hop. */
	assert_int_equal(cell->k % 8, (uint64_t)(e - 1));
	assert_true(replay_accept(&c->bwd[e - 1], cell->k));
	c->got_hop = e;
	assert_int_equal(circmsg_decode(cell->body + 1, onion_room(B, (unsigned)e), &c->got), 0);
	if (c->got.type == CIRCMSG_DATA) {
		memcpy(c->got_data, c->got.data, c->got.data_len);
		c->got.data = c->got_data;
	}
}

/* Run every switch's actions until none is left. */
static void pump(void)
{
	for (int round = 0, busy = 1; busy && round < 100; round++) {
		busy = 0;
		for (int i = 0; i < NSW; i++) {
			struct circsw_act a;

			while (circsw_next(S[i], &a)) {
				busy = 1;
				if (a.type == CIRCSW_CONNECT) {
					int j = a.identity[0];

					assert_memory_equal(a.noise_pub, spub[j], 32);
					if (connect_answers)
						circsw_connected(S[i], a.req, rlink(i, j), now);
					continue;
				}
				if (a.link == CLIENT) {
					client_receive(client_at(i), &a.cell);
					continue;
				}
				{
					int j = (int)(a.link - 100) % 10;

					if (i == flip_from && j == flip_to) {
						a.body[100] ^= 0x10;
						flip_from = -1;
					}
					circsw_cell(S[j], rlink(j, i), true, &a.cell, now);
				}
			}
		}
	}
}

static void client_send(struct client *c, uint8_t cmd, const uint8_t *body)
{
	uint8_t copy[B];
	struct cell cell = {.circ_id = c->circ,
	                    .cmd = cmd,
	                    .k = cmd == CELL_FWD ? c->k : 0,
	                    .body = copy,
	                    .body_len = B};

	memcpy(copy, body, B);
	circsw_cell(S[c->entry], CLIENT, false, &cell, now);
	pump();
}

/* A message for hop e of c's circuit. */
static void client_msg(struct client *c, unsigned e, const struct circmsg *m)
{
	uint8_t msg[B], body[B];
	size_t room = onion_room(B, e);

	assert_int_equal(circmsg_encode(m, msg, room), 0);
	assert_int_equal(
	    onion_wrap(body, B,
	               (struct onion_key[]){c->keys[0].fwd, c->keys[1].fwd, c->keys[2].fwd}, e,
	               ++c->k, msg, room),
	    0);
	client_send(c, CELL_FWD, body);
}

/* Build c's circuit through the switches in path (n of them). */
static void build(struct client *c, const int *path, unsigned n)
{
	uint8_t m1[CIRCHS_MSG1_LEN], m2[CIRCHS_MSG2_LEN], body[B];
	struct circhs hs;

	memset(c, 0, sizeof(*c));
	c->entry = path[0];
	randombytes_buf(&c->circ, sizeof(c->circ));
	c->circ |= 1;
	for (unsigned d = 0; d < ONION_MAX_HOPS; d++)
		replay_init(&c->bwd[d]);
	assert_int_equal(circhs_start(&hs, spub[path[0]], 1, CIRCHS_CLASS_1500, m1), 0);
	circmsg_put_create(body, B, m1);
	c->got_hop = -1;
	client_send(c, CELL_CREATE, body);
	assert_int_equal(c->got_hop, 0);
	assert_int_equal(circmsg_get_created(c->got_data, B, m2), 0);
	assert_int_equal(circhs_finish(&hs, m2, sizeof(m2), &c->keys[0]), 0);
	c->n = 1;
	for (unsigned d = 1; d < n; d++) {
		struct circmsg m = {.type = CIRCMSG_EXTEND};

		m.identity[0] = (uint8_t)path[d];
		memcpy(m.noise_pub, spub[path[d]], 32);
		assert_int_equal(circhs_start(&hs, spub[path[d]], d + 1, CIRCHS_CLASS_1500, m.hs),
		                 0);
		c->got_hop = -1;
		client_msg(c, d, &m);
		assert_int_equal(c->got_hop, (int)d);
		assert_int_equal(c->got.type, CIRCMSG_EXTENDED);
		assert_int_equal(circhs_finish(&hs, c->got.hs, CIRCHS_MSG2_LEN, &c->keys[d]), 0);
		c->n = d + 1;
	}
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (int i = 0; i < NSW; i++) {
		struct circsw_cfg cfg = {.max_circuits = 16,
		                         .max_per_link = 4,
		                         .extend_ms = 5000,
		                         .rendezvous_ms = 60000,
		                         .idle_ms = 600000};

		crypto_box_keypair(spub[i], cfg.noise_priv);
		if (circsw_new(&S[i], &cfg) != 0)
			return -1;
	}
	connect_answers = true;
	flip_from = -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NSW; i++) {
		circsw_free(S[i]);
		S[i] = NULL;
	}
	return 0;
}

static size_t circuits(int i)
{
	return circsw_stats(S[i])->circuits;
}

/* Build both, meet at S3, datagrams both ways, a tagged cell, a replay, DESTROY end to end. */
static void test_rendezvous_data_and_destroy(void **state)
{
	static const int pa[] = {0, 1, 2}, pb[] = {3, 2};
	struct circmsg rv = {.type = CIRCMSG_RENDEZVOUS}, data = {.type = CIRCMSG_DATA};
	uint8_t dgram[1300], body[B];

	(void)state;
	build(&A, pa, 3);
	build(&Bc, pb, 2);
	assert_int_equal(circuits(0), 1);
	assert_int_equal(circuits(2), 2);
	assert_int_equal(circsw_stats(S[0])->extended, 1);
	memset(rv.cookie, 0xc0, sizeof(rv.cookie));
	A.got_hop = Bc.got_hop = -1;
	client_msg(&A, 3, &rv);
	assert_int_equal(A.got_hop, -1); /* waiting for the other side */
	client_msg(&Bc, 2, &rv);
	assert_int_equal(A.got_hop, 3);
	assert_int_equal(A.got.type, CIRCMSG_SPLICED);
	assert_int_equal(Bc.got_hop, 2);
	assert_int_equal(Bc.got.type, CIRCMSG_SPLICED);

	for (int i = 0; i < 5; i++) {
		randombytes_buf(dgram, sizeof(dgram));
		data.data = dgram;
		data.data_len = sizeof(dgram) - (size_t)i;
		Bc.got_hop = -1;
		client_msg(&A, 3, &data);
		assert_int_equal(Bc.got_hop, 2);
		assert_int_equal(Bc.got.type, CIRCMSG_DATA);
		assert_int_equal(Bc.got.data_len, data.data_len);
		assert_memory_equal(Bc.got_data, dgram, data.data_len);
		A.got_hop = -1;
		client_msg(&Bc, 2, &data);
		assert_int_equal(A.got_hop, 3);
		assert_memory_equal(A.got_data, dgram, data.data_len);
	}
	/* S2 passed on A's RENDEZVOUS and DATA for S3 (the EXTEND it got was its own). */
	assert_int_equal(circsw_stats(S[1])->forwarded, 1 + 5);

	/* S1 flips a bit of what it passes to S2: S2 drops it, nothing reaches B. */
	flip_from = 0;
	flip_to = 1;
	Bc.got_hop = -1;
	client_msg(&A, 3, &data);
	assert_int_equal(Bc.got_hop, -1);
	assert_int_equal(circsw_stats(S[1])->drops[CIRCSW_DROP_LAYER], 1);

	/* A cell sent again (same k): dropped at S1. */
	{
		uint8_t msg[B];
		size_t room = onion_room(B, 3);

		assert_int_equal(circmsg_encode(&data, msg, room), 0);
		assert_int_equal(
		    onion_wrap(body, B,
		               (struct onion_key[]){A.keys[0].fwd, A.keys[1].fwd, A.keys[2].fwd}, 3,
		               ++A.k, msg, room),
		    0);
		client_send(&A, CELL_FWD, body);
		assert_int_equal(circsw_stats(S[0])->drops[CIRCSW_DROP_REPLAY], 0);
		client_send(&A, CELL_FWD, body);
		assert_int_equal(circsw_stats(S[0])->drops[CIRCSW_DROP_REPLAY], 1);
	}

	/* A tears its circuit down: every switch forgets both circuits, and B is told. */
	circmsg_put_destroy(body, B, 0);
	client_send(&A, CELL_DESTROY, body);
	for (int i = 0; i < NSW; i++)
		assert_int_equal(circuits(i), 0);
	assert_true(Bc.destroyed);
}

/* A relay link that goes down takes its circuits with it, on both sides of it. */
static void test_link_down(void **state)
{
	static const int pa[] = {0, 1, 2};

	(void)state;
	build(&A, pa, 3);
	circsw_link_down(S[1], rlink(1, 2));
	circsw_link_down(S[2], rlink(2, 1));
	pump();
	for (int i = 0; i < NSW; i++)
		assert_int_equal(circuits(i), 0);
	assert_true(A.destroyed);
}

/* An EXTEND nobody answers: torn down after extend_ms; a CREATE past the limits: refused. */
static void test_timeouts_and_limits(void **state)
{
	static const int pa[] = {0}, pb[] = {3};
	struct circmsg ext = {.type = CIRCMSG_EXTEND};
	uint8_t m1[CIRCHS_MSG1_LEN], body[B];
	struct circhs hs;

	(void)state;
	build(&A, pa, 1);
	connect_answers = false;
	ext.identity[0] = 1;
	memcpy(ext.noise_pub, spub[1], 32);
	assert_int_equal(circhs_start(&hs, spub[1], 2, CIRCHS_CLASS_1500, ext.hs), 0);
	client_msg(&A, 1, &ext);
	/* A second EXTEND while one is in flight: refused. */
	client_msg(&A, 1, &ext);
	assert_int_equal(circsw_stats(S[0])->drops[CIRCSW_DROP_MSG], 1);
	now += 4999;
	circsw_tick(S[0], now);
	pump();
	assert_int_equal(circuits(0), 1);
	now += 1;
	circsw_tick(S[0], now);
	pump();
	assert_int_equal(circuits(0), 0);
	assert_true(A.destroyed);
	connect_answers = true;

	/* Four circuits per link: the fifth CREATE on B's link is refused. */
	memset(&Bc, 0, sizeof(Bc));
	Bc.entry = pb[0];
	for (int i = 0; i < 5; i++) {
		assert_int_equal(circhs_start(&hs, spub[3], 1, CIRCHS_CLASS_1500, m1), 0);
		circmsg_put_create(body, B, m1);
		Bc.circ = 1000 + (uint32_t)i;
		Bc.got_hop = -1;
		client_send(&Bc, CELL_CREATE, body);
		assert_int_equal(Bc.got_hop, i < 4 ? 0 : -1);
	}
	assert_int_equal(circsw_stats(S[3])->drops[CIRCSW_DROP_FULL], 1);
	assert_int_equal(circuits(3), 4);
	/* A CREATE for depth 2 on a client's link: refused (only relays extend). */
	assert_int_equal(circhs_start(&hs, spub[0], 2, CIRCHS_CLASS_1500, m1), 0);
	circmsg_put_create(body, B, m1);
	client_send(&A, CELL_CREATE, body);
	assert_int_equal(circsw_stats(S[0])->drops[CIRCSW_DROP_HS], 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_rendezvous_data_and_destroy, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_link_down, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_timeouts_and_limits, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
