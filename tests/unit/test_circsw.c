/*
 * test_circsw.c: four circuit switches (circsw) and two clients (circbuild) wired by an
 * in-memory network with a fake clock. Client A builds S1 -> S2 -> S3 by CREATE and two EXTENDs, client B builds
 * S4 -> S3, both ask S3 for the same rendezvous cookie and WireGuard datagrams then cross both
 * ways; a bit flipped by S1 is dropped at S2; replays are dropped; DESTROY, a link going down
 * and an unanswered EXTEND tear circuits down on every switch; CREATEs past the limits are
 * refused.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "circbuild.h"
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
	struct circ c;
	int events[CIRC_EV_DROPPED + 1]; /* how many of each circ_input returned */
	uint8_t data[B];
	size_t data_len;
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

/* A cell from the client's link into its entry switch. */
static void client_cell(struct client *cl, struct cell *cell)
{
	circsw_cell(S[cl->entry], CLIENT, false, cell, now);
}

static void client_receive(struct client *cl, struct cell *cell)
{
	uint8_t obody[B];
	struct cell out = {.body = obody};
	const uint8_t *data;
	size_t len;
	bool has_out;
	enum circ_event ev;

	if (cell->cmd == CELL_DESTROY)
		cl->destroyed = true;
	ev = circ_input(&cl->c, cell, now, &out, &has_out, &data, &len);
	cl->events[ev]++;
	if (ev == CIRC_EV_DATA) {
		memcpy(cl->data, data, len);
		cl->data_len = len;
	}
	if (has_out)
		client_cell(cl, &out);
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

/* Send what a circ_* call put in out, then run the network. */
static void client_send(struct client *cl, struct cell *out)
{
	client_cell(cl, out);
	pump();
}

/* Build cl's circuit through the switches in path (n of them), telescoping. */
static void build(struct client *cl, const int *path, unsigned n)
{
	struct circ_hop hops[ONION_MAX_HOPS];
	uint8_t body[B];
	struct cell out = {.body = body};

	memset(cl, 0, sizeof(*cl));
	cl->entry = path[0];
	for (unsigned d = 0; d < n; d++) {
		memset(hops[d].identity, 0, 32);
		hops[d].identity[0] = (uint8_t)path[d];
		memcpy(hops[d].noise_pub, spub[path[d]], 32);
	}
	assert_int_equal(circ_start(&cl->c, hops, n, CIRCHS_CLASS_1500, now, &out), 0);
	client_send(cl, &out);
	assert_int_equal(cl->events[CIRC_EV_BUILT], 1);
	assert_int_equal(cl->c.state, CIRC_ESTABLISHED);
	assert_int_equal(cl->events[CIRC_EV_DROPPED], 0);
}

/* What on_end told each switch's caller: ends held now, in all (a sum of +1 and -1). */
static long told[NSW];

static void on_end(void *ctx, uint64_t link, int delta)
{
	assert_true(link != 0);
	assert_true(delta == 1 || delta == -1);
	*(long *)ctx += delta;
	assert_true(*(long *)ctx >= 0);
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
		                         .idle_ms = 600000,
		                         .on_end = on_end,
		                         .ctx = &told[i]};

		told[i] = 0;

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
	int rc = 0;

	(void)state;
	for (int i = 0; i < NSW; i++) {
		/* No circuit left: every end put on a link was taken off again, and said so. */
		if (circsw_stats(S[i])->circuits == 0 && told[i] != 0)
			rc = -1;
		circsw_free(S[i]);
		S[i] = NULL;
	}
	return rc;
}

static size_t circuits(int i)
{
	return circsw_stats(S[i])->circuits;
}

/* Build both, meet at S3, datagrams both ways, a tagged cell, a replay, DESTROY end to end. */
static void test_rendezvous_data_and_destroy(void **state)
{
	static const int pa[] = {0, 1, 2}, pb[] = {3, 2};
	uint8_t cookie[CIRCMSG_COOKIE_LEN], dgram[1300], body[B], copy[B];
	struct cell out = {.body = body};

	(void)state;
	build(&A, pa, 3);
	build(&Bc, pb, 2);
	assert_int_equal(circuits(0), 1);
	assert_int_equal(circuits(2), 2);
	assert_int_equal(circsw_stats(S[0])->extended, 1);
	memset(cookie, 0xc0, sizeof(cookie));
	assert_int_equal(circ_rendezvous(&A.c, cookie, now, &out), 0);
	client_send(&A, &out);
	assert_int_equal(A.events[CIRC_EV_SPLICED], 0); /* waiting for the other side */
	assert_int_equal(circ_rendezvous(&Bc.c, cookie, now, &out), 0);
	client_send(&Bc, &out);
	assert_int_equal(A.events[CIRC_EV_SPLICED], 1);
	assert_int_equal(Bc.events[CIRC_EV_SPLICED], 1);
	/* The largest datagram a 3-hop side carries; the 2-hop side carries more. */
	assert_int_equal(circ_mtu(&A.c), onion_room(B, 3) - CIRCMSG_DATA_HDR);
	assert_true(circ_mtu(&Bc.c) > circ_mtu(&A.c));

	for (int i = 0; i < 5; i++) {
		size_t len = sizeof(dgram) - (size_t)i;

		randombytes_buf(dgram, sizeof(dgram));
		assert_int_equal(circ_send(&A.c, dgram, len, &out), 0);
		client_send(&A, &out);
		assert_int_equal(Bc.events[CIRC_EV_DATA], i + 1);
		assert_int_equal(Bc.data_len, len);
		assert_memory_equal(Bc.data, dgram, len);
		assert_int_equal(circ_send(&Bc.c, dgram, len, &out), 0);
		client_send(&Bc, &out);
		assert_int_equal(A.events[CIRC_EV_DATA], i + 1);
		assert_memory_equal(A.data, dgram, len);
	}
	/* S2 passed on A's RENDEZVOUS and DATA for S3 (the EXTEND it got was its own). */
	assert_int_equal(circsw_stats(S[1])->forwarded, 1 + 5);
	assert_int_equal(circ_send(&Bc.c, dgram, circ_mtu(&Bc.c) + 1, &out), -EMSGSIZE);

	/* S1 flips a bit of what it passes to S2: S2 drops it, nothing reaches B. */
	flip_from = 0;
	flip_to = 1;
	assert_int_equal(circ_send(&A.c, dgram, 100, &out), 0);
	client_send(&A, &out);
	assert_int_equal(Bc.events[CIRC_EV_DATA], 5);
	assert_int_equal(circsw_stats(S[1])->drops[CIRCSW_DROP_LAYER], 1);

	/* A cell sent again (same k): dropped at S1. */
	assert_int_equal(circ_send(&A.c, dgram, 100, &out), 0);
	memcpy(copy, body, B);
	client_send(&A, &out);
	assert_int_equal(Bc.events[CIRC_EV_DATA], 6);
	memcpy(body, copy, B);
	client_send(&A, &out);
	assert_int_equal(circsw_stats(S[0])->drops[CIRCSW_DROP_REPLAY], 1);
	assert_int_equal(Bc.events[CIRC_EV_DATA], 6);
	/* Padding to the last hop: dropped there, and counted. */
	assert_int_equal(circ_pad(&A.c, &out), 0);
	client_send(&A, &out);
	assert_int_equal(circsw_stats(S[2])->drops[CIRCSW_DROP_PADDING], 1);

	/* A tears its circuit down: every switch forgets both circuits, and B is told. */
	circ_destroy(&A.c, &out);
	client_send(&A, &out);
	for (int i = 0; i < NSW; i++)
		assert_int_equal(circuits(i), 0);
	assert_true(Bc.destroyed);
	assert_int_equal(Bc.c.state, CIRC_DESTROYED);
}

/* A relay link that goes down takes its circuits with it, on both sides of it. */
static void test_link_down(void **state)
{
	static const int pa[] = {0, 1, 2};

	(void)state;
	build(&A, pa, 3);
	/* The circuit's ends on the links of switch 1: one each side. */
	assert_int_equal(circsw_link_circuits(S[1], rlink(1, 0)), 1);
	assert_int_equal(circsw_link_circuits(S[1], rlink(1, 2)), 1);
	assert_int_equal(circsw_link_circuits(S[1], rlink(1, 3)), 0);
	assert_int_equal(told[1], 2); /* the same two ends, told */
	circsw_link_down(S[1], rlink(1, 2));
	circsw_link_down(S[2], rlink(2, 1));
	pump();
	for (int i = 0; i < NSW; i++)
		assert_int_equal(circuits(i), 0);
	assert_true(A.destroyed);
	assert_int_equal(circsw_link_circuits(S[1], rlink(1, 0)), 0);
}

/* An EXTEND nobody answers: torn down after extend_ms; a CREATE past the limits: refused. */
static void test_timeouts_and_limits(void **state)
{
	static const int pa[] = {0, 1}, pb[] = {3};
	struct circ_hop hop;
	uint8_t body[B];
	struct cell out = {.body = body};

	(void)state;
	connect_answers = false;
	memset(&A, 0, sizeof(A));
	A.entry = 0;
	{
		struct circ_hop hops[2];

		memset(hops, 0, sizeof(hops));
		hops[1].identity[0] = 1;
		memcpy(hops[0].noise_pub, spub[pa[0]], 32);
		memcpy(hops[1].noise_pub, spub[pa[1]], 32);
		assert_int_equal(circ_start(&A.c, hops, 2, CIRCHS_CLASS_1500, now, &out), 0);
	}
	client_send(&A, &out); /* CREATED comes back, the EXTEND goes out, no link is made */
	assert_int_equal(A.c.state, CIRC_BUILDING);
	assert_int_equal(A.c.built, 1);
	now += 4999;
	circsw_tick(S[0], now);
	pump();
	assert_false(circ_tick(&A.c, now, 5000));
	assert_int_equal(circuits(0), 1);
	now += 1;
	assert_true(circ_tick(&A.c, now, 5000)); /* the client gives up too */
	circsw_tick(S[0], now);
	pump();
	assert_int_equal(circuits(0), 0);
	assert_true(A.destroyed);
	connect_answers = true;

	/* Four circuits per link: the fifth CREATE on B's link is refused. */
	memset(&Bc, 0, sizeof(Bc));
	Bc.entry = pb[0];
	memset(&hop, 0, sizeof(hop));
	memcpy(hop.noise_pub, spub[3], 32);
	for (int i = 0; i < 5; i++) {
		int built = Bc.events[CIRC_EV_BUILT];

		assert_int_equal(circ_start(&Bc.c, &hop, 1, CIRCHS_CLASS_1500, now, &out), 0);
		client_send(&Bc, &out);
		assert_int_equal(Bc.events[CIRC_EV_BUILT], built + (i < 4));
	}
	assert_int_equal(circsw_stats(S[3])->drops[CIRCSW_DROP_FULL], 1);
	assert_int_equal(circuits(3), 4);
	/* The refusal is a DESTROY at once, not a wait for the client's timeout. */
	assert_int_equal(Bc.events[CIRC_EV_DESTROYED], 1);
	assert_int_equal(Bc.c.state, CIRC_DESTROYED);
	/* A CREATE for depth 2 on a client's link: refused (only relays extend). */
	{
		uint8_t m1[CIRCHS_MSG1_LEN];
		struct circhs hs;

		assert_int_equal(circhs_start(&hs, spub[0], 2, CIRCHS_CLASS_1500, m1), 0);
		circmsg_put_create(body, B, m1);
		out = (struct cell){.circ_id = 77, .cmd = CELL_CREATE, .body = body, .body_len = B};
		A.destroyed = false;
		client_send(&A, &out);
		assert_int_equal(circsw_stats(S[0])->drops[CIRCSW_DROP_HS], 1);
		assert_true(A.destroyed); /* answered with DESTROY for circuit 77 */
	}
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
