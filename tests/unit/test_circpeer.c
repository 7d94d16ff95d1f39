/*
 * test_circpeer.c: two circpeers (A and B, one WireGuard peer each side) over a fake network of
 * real circuit switches (common/circsw.c, one per fake relay) on a fake clock, as test_circsw
 * and test_sealed's test_cells do. Cells travel through an in-memory queue; a relay "killed"
 * stops answering and forwarding while its links stay up. Datagrams carry a sequence number so
 * that the receiver sees any loss or reordering.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "circpeer.h"
#include "circsw.h"

#define B     CELL_BODY_1500
#define NR    8
#define WALL0 1800000000ULL /* a multiple of CIRCPEER_ROTATE_S */
#define STEP  100           /* ms of fake time per step */
#define DLEN  100           /* bytes of a test datagram */
#define QN    1024

/* Relays: rendezvous, A's entries and middles, B's entry, a second rendezvous. */
enum { RDV = 0, AE = 1, M1 = 2, M2 = 3, BE = 4, RDV2 = 5, AE2 = 6, NONE = -1 };

/* On relay i, the link to relay j is 100 + 10 i + j; client x's link there is 1 + x. */
static uint64_t rlink(int i, int j)
{
	return 100 + 10 * (uint64_t)i + (uint64_t)j;
}
#define CLINK(r) (1000 + (uint64_t)(r)) /* a client's id of its link to relay r */

struct peer {
	int x;
	bool on;   /* ticks, builds, meets */
	bool talk; /* a datagram every STEP */
	struct circpeer cp;
	int paths[4][3]; /* hops before the rendezvous, NONE-terminated */
	unsigned npaths, next;
	int rdv;
	uint8_t cookie[CIRCMSG_COOKIE_LEN];
	uint32_t phase;
	bool bad_key; /* the entry's Noise key is wrong: the CREATE is refused */
	int send_err; /* what send_cell returns (0: the cell goes) */
	uint64_t builds_asked, last_build_ms;
	uint64_t build_ms[16];
	uint32_t seq;
	uint64_t sent_ok, sent_fail, cells_out, unknown;
	uint64_t got, got_bad, last_got_ms;
	uint32_t last_seq;
	uint8_t got_buf[B];
	size_t got_len;
};

struct qcell {
	int to; /* a relay, or -1 - x for client x */
	uint64_t link;
	bool from_relay;
	struct cell c;
	uint8_t body[B];
};

static struct circsw *S[NR];
static uint8_t spub[NR][32], ident[NR][32]; /* a relay's Noise key, identity */
static bool alive[NR];
static struct peer P[2];
static uint64_t now;
static struct qcell q[QN];
static size_t qhead, qtail;

static void push(int to, uint64_t link, bool from_relay, const struct cell *c)
{
	struct qcell *e;

	assert_true(qtail - qhead < QN);
	e = &q[qtail++ % QN];
	e->to = to;
	e->link = link;
	e->from_relay = from_relay;
	e->c = *c;
	memcpy(e->body, c->body, c->body_len);
	e->c.body = e->body;
}

static int io_send(void *ctx, uint64_t link, const struct cell *c)
{
	struct peer *p = ctx;

	assert_true(link >= CLINK(0) && link < CLINK(NR));
	assert_int_equal(c->body_len, B);
	if (p->send_err)
		return p->send_err;
	p->cells_out++;
	push((int)(link - CLINK(0)), 1 + (uint64_t)p->x, false, c);
	return 0;
}

static void io_to_wg(void *ctx, const uint8_t *d, size_t len)
{
	struct peer *p = ctx;
	uint32_t seq;

	p->got++;
	p->last_got_ms = now;
	memcpy(p->got_buf, d, len);
	p->got_len = len;
	if (len != DLEN || d[0] != 'A' + (1 - p->x)) {
		if (len == DLEN)
			p->got_bad++;
		return;
	}
	memcpy(&seq, d + 1, 4);
	if (seq <= p->last_seq) /* lost order or a duplicate */
		p->got_bad++;
	p->last_seq = seq;
}

/* Everything relay r wants done: cells into the queue, relay links made at once. */
static void drain(int r)
{
	struct circsw_act a;

	while (circsw_next(S[r], &a)) {
		if (a.type == CIRCSW_CONNECT) {
			int j = a.identity[0];

			assert_true(j < NR);
			assert_memory_equal(a.noise_pub, spub[j], 32);
			circsw_connected(S[r], a.req, rlink(r, j), now);
		} else if (a.link == 1 || a.link == 2) {
			push(-1 - (int)(a.link - 1), CLINK(r), false, &a.cell);
		} else {
			int j = (int)((a.link - 100) % 10);

			push(j, rlink(j, r), true, &a.cell);
		}
	}
}

/* One queued cell delivered (a killed relay swallows what reaches it). */
static void deliver(void)
{
	static struct qcell e;

	e = q[qhead++ % QN];
	e.c.body = e.body;
	if (e.to >= 0) {
		if (!alive[e.to])
			return;
		circsw_cell(S[e.to], e.link, e.from_relay, &e.c, now);
		drain(e.to);
	} else if (!circpeer_cell(&P[-1 - e.to].cp, e.link, &e.c, now)) {
		P[-1 - e.to].unknown++;
	}
}

/*
 * Deliver every queued cell, and what that makes, at once. In slow mode it does nothing: run()
 * moves each cell one hop per STEP instead, so cells are in flight when circuits switch.
 */
static bool slow;

static void pump(void)
{
	for (int n = 0; !slow && qhead != qtail; n++) {
		assert_true(n < 100000);
		deliver();
	}
}

static void pump_hop(void)
{
	size_t end = qtail;

	while (qhead != end)
		deliver();
}

static void hop(struct circ_hop *h, int r)
{
	memcpy(h->identity, ident[r], 32);
	memcpy(h->noise_pub, spub[r], 32);
}

/* The caller's part: a path (the peer's next one) ending at its rendezvous. */
static void build_for(struct peer *p)
{
	struct circpeer_path path;
	const int *hops = p->paths[p->next++ % p->npaths];
	unsigned n = 0;

	memset(&path, 0, sizeof(path));
	while (n < 3 && hops[n] != NONE) {
		hop(&path.hops[n], hops[n]);
		n++;
	}
	hop(&path.hops[n], p->rdv);
	path.n = n + 1;
	path.link = CLINK(hops[0]);
	if (p->bad_key) {
		uint8_t priv[32];

		crypto_box_keypair(path.hops[0].noise_pub, priv);
	}
	if (p->builds_asked < 16)
		p->build_ms[p->builds_asked] = now;
	p->builds_asked++;
	p->last_build_ms = now;
	assert_int_equal(circpeer_build(&p->cp, &path, now), p->send_err);
}

static void talk(struct peer *p)
{
	uint8_t d[DLEN];
	uint32_t seq = p->seq + 1;

	memset(d, 0x55, sizeof(d));
	d[0] = (uint8_t)('A' + p->x);
	memcpy(d + 1, &seq, 4);
	if (circpeer_send(&p->cp, d, sizeof(d), now) == 0) {
		p->sent_ok++;
		p->seq = seq;
	} else {
		p->sent_fail++;
	}
}

/* ms of fake time, STEP by STEP: relays' timers, then each peer's, then its datagram. */
static void run(uint64_t ms)
{
	for (uint64_t t = 0; t < ms; t += STEP) {
		now += STEP;
		if (slow)
			pump_hop();
		for (int r = 0; r < NR; r++)
			if (alive[r]) {
				circsw_tick(S[r], now);
				drain(r);
			}
		pump();
		for (int x = 0; x < 2; x++) {
			struct peer *p = &P[x];

			if (!p->on)
				continue;
			circpeer_set_meet(&p->cp, ident[p->rdv], p->cookie, p->phase);
			if (circpeer_tick(&p->cp, now, WALL0 + now / 1000))
				build_for(p);
			pump();
		}
		for (int x = 0; x < 2; x++)
			if (P[x].on && P[x].talk) {
				talk(&P[x]);
				pump();
			}
	}
}

static bool spliced(const struct peer *p)
{
	return !strcmp(circpeer_state_name(&p->cp), "spliced");
}

/* Run until both sides are spliced (at most ms). */
static void meet(uint64_t ms)
{
	for (uint64_t t = 0; t < ms && !(spliced(&P[0]) && spliced(&P[1])); t += STEP)
		run(STEP);
	assert_true(spliced(&P[0]));
	assert_true(spliced(&P[1]));
}

static int count_role(const struct peer *p, enum circpeer_role r)
{
	int n = 0;

	for (int i = 0; i < CIRCPEER_SLOTS; i++)
		n += p->cp.slot[i].role == r;
	return n;
}

static int setup(void **state)
{
	struct circpeer_io io = {.send_cell = io_send, .to_wg = io_to_wg};
	uint8_t cookie[CIRCMSG_COOKIE_LEN];

	(void)state;
	for (int i = 0; i < NR; i++) {
		struct circsw_cfg cfg = {.max_circuits = 64,
		                         .max_per_link = 16,
		                         .extend_ms = 10000,
		                         .rendezvous_ms = 60000,
		                         .idle_ms = 180000};

		crypto_box_keypair(spub[i], cfg.noise_priv);
		memset(ident[i], 0, 32);
		ident[i][0] = (uint8_t)i;
		if (circsw_new(&S[i], &cfg) != 0)
			return -1;
		alive[i] = true;
	}
	qhead = qtail = 0;
	slow = false;
	now = 1000;
	randombytes_buf(cookie, sizeof(cookie));
	memset(P, 0, sizeof(P));
	for (int x = 0; x < 2; x++) {
		io.ctx = &P[x];
		P[x].x = x;
		P[x].on = true;
		P[x].rdv = RDV;
		memcpy(P[x].cookie, cookie, sizeof(cookie));
		circpeer_init(&P[x].cp, &io, CIRCHS_CLASS_1500);
	}
	P[0].paths[0][0] = AE;
	P[0].paths[0][1] = NONE;
	P[1].paths[0][0] = BE;
	P[1].paths[0][1] = NONE;
	P[0].npaths = P[1].npaths = 1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < NR; i++) {
		circsw_free(S[i]);
		S[i] = NULL;
	}
	return 0;
}

/* Both build, the first circuits go to the rendezvous at once and splice; a pool follows. */
static void test_first_meeting(void **state)
{
	uint8_t d[DLEN], body[B];
	struct cell stray = {.circ_id = 12345, .cmd = CELL_PADDING, .body = body, .body_len = B};
	const struct circpeer_path *ap;

	(void)state;
	assert_string_equal(circpeer_state_name(&P[0].cp), "none");
	assert_null(circpeer_active_path(&P[0].cp));
	assert_int_equal(circpeer_send(&P[0].cp, d, sizeof(d), now), -ENOTCONN);
	meet(2000);
	run(1000);
	for (int x = 0; x < 2; x++) {
		assert_int_equal(P[x].cp.spliced, 1);
		assert_int_equal(P[x].cp.builds, 2); /* the one spliced, and the pool */
		assert_int_equal(count_role(&P[x], CIRCPEER_ACTIVE), 1);
		assert_int_equal(count_role(&P[x], CIRCPEER_POOL), 1);
		assert_int_equal(P[x].cp.build_failed + P[x].cp.destroyed + P[x].cp.dropped, 0);
		assert_int_equal(P[x].unknown, 0);
		/* 2 hops of the 1500 class: 1400 - 2 * 17 - 3 (PROTOCOL.md §13.6) */
		assert_int_equal(circpeer_mtu(&P[x].cp), 1363);
	}
	ap = circpeer_active_path(&P[0].cp);
	assert_non_null(ap);
	assert_int_equal(ap->n, 2);
	assert_memory_equal(ap->hops[1].identity, ident[RDV], 32);
	assert_int_equal(circsw_stats(S[RDV])->spliced, 1);
	/* A datagram each way, exactly as sent. */
	memset(d, 0xa5, sizeof(d));
	d[0] = 'A';
	assert_int_equal(circpeer_send(&P[0].cp, d, sizeof(d), now), 0);
	pump();
	assert_int_equal(P[1].got, 1);
	assert_int_equal(P[1].got_len, sizeof(d));
	assert_memory_equal(P[1].got_buf, d, sizeof(d));
	d[0] = 'B';
	d[DLEN - 1] = 0x17;
	assert_int_equal(circpeer_send(&P[1].cp, d, 77, now), 0);
	pump();
	assert_int_equal(P[0].got, 1);
	assert_int_equal(P[0].got_len, 77);
	assert_memory_equal(P[0].got_buf, d, 77);
	assert_int_equal(P[0].cp.to_circ, 1);
	assert_int_equal(P[1].cp.from_circ, 1);
	/* A cell of no circuit of ours is not consumed. */
	memset(body, 0, sizeof(body));
	assert_false(circpeer_cell(&P[0].cp, CLINK(AE), &stray, now));
	assert_false(circpeer_cell(&P[0].cp, CLINK(BE), &stray, now));
}

/* Idle: heartbeats both ways keep the circuit alive and never reach WireGuard. */
/*
 * circpeer_drop_via: the pool through a suspected relay is torn down (DESTROY reaches the
 * relays), the circuit in use is kept, and the next tick asks for a new pool at once.
 */
static void test_drop_via(void **state)
{
	const struct circpeer_path *ap;
	uint64_t lost;
	int k;

	(void)state;
	P[0].paths[0][0] = AE;
	P[0].paths[0][1] = M1;
	P[0].paths[0][2] = NONE;
	P[0].npaths = 1;
	meet(5000);
	run(3000);
	ap = circpeer_active_path(&P[0].cp);
	assert_non_null(ap);
	assert_int_equal(count_role(&P[0], CIRCPEER_POOL), 1);
	/* A relay on no circuit of ours: nothing happens. */
	lost = P[0].cp.lost;
	circpeer_drop_via(&P[0].cp, ident[M2]);
	assert_int_equal(count_role(&P[0], CIRCPEER_POOL), 1);
	assert_int_equal(P[0].cp.lost, lost);
	/* The pool's middle: the pool goes, the circuit in use stays and still carries. */
	for (k = 0; k < CIRCPEER_SLOTS; k++)
		if (P[0].cp.slot[k].role == CIRCPEER_POOL)
			break;
	assert_true(k < CIRCPEER_SLOTS);
	circpeer_drop_via(&P[0].cp, P[0].cp.slot[k].path.hops[1].identity);
	assert_int_equal(count_role(&P[0], CIRCPEER_POOL), 0);
	assert_int_equal(P[0].cp.lost, lost + 1);
	assert_non_null(circpeer_active_path(&P[0].cp));
	assert_true(circpeer_tick(&P[0].cp, now, now / 1000));
	P[0].talk = P[1].talk = true;
	run(2000);
	assert_true(P[0].got >= 10 && P[1].got >= 10);
	assert_int_equal(count_role(&P[0], CIRCPEER_POOL), 1); /* built again */
}

/* rotate_s 0: no rotation however long the circuit lives. */
static void test_no_rotation(void **state)
{
	(void)state;
	P[0].cp.rotate_s = P[1].cp.rotate_s = 0;
	meet(5000);
	run(2 * CIRCPEER_ROTATE_S * 1000ULL);
	assert_int_equal(P[0].cp.rotations + P[1].cp.rotations, 0);
	assert_int_equal(P[0].cp.spliced, 1);
	assert_true(spliced(&P[0]) && spliced(&P[1]));
}

/*
 * One side rotates alone (the other's period is 0): with a circuit in use its meeting waits
 * the full CIRCPEER_MEET_MS, then gives up; the circuit in use carries throughout.
 */
static void test_rotation_alone(void **state)
{
	uint64_t t0, failed;

	(void)state;
	P[1].cp.rotate_s = 0;
	meet(5000);
	P[0].talk = P[1].talk = true;
	while (P[0].cp.rotations == 0)
		run(STEP);
	t0 = now;
	failed = P[0].cp.build_failed;
	run(2000);
	assert_int_equal(count_role(&P[0], CIRCPEER_MEETING), 1);
	while (P[0].cp.build_failed == failed && now - t0 < CIRCPEER_MEET_MS + 5000)
		run(STEP);
	assert_true(now - t0 >= CIRCPEER_MEET_MS - 1000);
	assert_int_equal(P[0].cp.build_failed, failed + 1);
	assert_int_equal(P[0].cp.spliced, 1);
	assert_int_equal(P[0].cp.dead + P[1].cp.dead, 0);
	assert_int_equal(P[0].got_bad + P[1].got_bad, 0);
	assert_true(P[0].got > 400 && P[1].got > 400);
}

static void test_heartbeat(void **state)
{
	(void)state;
	meet(2000);
	run(10000);
	for (int x = 0; x < 2; x++) {
		assert_true(spliced(&P[x]));
		assert_int_equal(P[x].cp.dead, 0);
		assert_int_equal(P[x].cp.spliced, 1);
		assert_true(P[x].cp.beats_tx >= 9); /* one a second */
		assert_true(P[x].cp.beats_rx >= 9); /* the positive control: they arrived */
		assert_int_equal(P[x].got, 0);      /* and none went to WireGuard */
		assert_int_equal(P[x].cp.from_circ, 0);
	}
	/* With datagrams flowing no heartbeat is needed. */
	P[0].talk = P[1].talk = true;
	{
		uint64_t beats = P[0].cp.beats_tx;

		run(5000);
		assert_int_equal(P[0].cp.beats_tx, beats);
		assert_int_equal(P[1].got, P[0].sent_ok);
		assert_true(P[1].got >= 49);
	}
}

/* Both sides switch at the phase instant, make-before-break: not one datagram lost. */
static void test_rotation(void **state)
{
	uint32_t old_id[2];

	(void)state;
	/* (WALL0 + 20 + 580) % 600 == 0: the instant is 20 s in. */
	P[0].phase = P[1].phase = 580;
	slow = true; /* a cell takes STEP per hop: datagrams are in flight at the switch */
	meet(5000);
	for (int x = 0; x < 2; x++)
		for (int i = 0; i < CIRCPEER_SLOTS; i++)
			if (P[x].cp.slot[i].role == CIRCPEER_ACTIVE)
				old_id[x] = P[x].cp.slot[i].c.circ_id;
	P[0].talk = P[1].talk = true;
	while (now / 1000 < 19)
		run(STEP);
	assert_int_equal(P[0].cp.rotations, 0);
	run(1500);
	for (int x = 0; x < 2; x++) {
		assert_int_equal(P[x].cp.rotations, 1);
		assert_int_equal(P[x].cp.spliced, 2);
		assert_int_equal(count_role(&P[x], CIRCPEER_OLD), 1);
		assert_int_equal(count_role(&P[x], CIRCPEER_ACTIVE), 1);
		for (int i = 0; i < CIRCPEER_SLOTS; i++)
			if (P[x].cp.slot[i].role == CIRCPEER_ACTIVE)
				assert_int_not_equal(P[x].cp.slot[i].c.circ_id, old_id[x]);
	}
	run(20000);
	P[0].talk = P[1].talk = false;
	run(1000); /* what is in flight arrives */
	for (int x = 0; x < 2; x++) {
		struct peer *p = &P[x], *o = &P[1 - x];

		assert_int_equal(count_role(p, CIRCPEER_OLD), 0); /* DESTROYed after 10 s */
		assert_int_equal(p->sent_fail, 0);
		assert_true(p->sent_ok >= 370);       /* 100 ms apart from the meeting to 40 s in */
		assert_int_equal(o->got, p->sent_ok); /* not one lost */
		assert_int_equal(o->got_bad, 0);      /* nor out of order */
		assert_int_equal(p->cp.dead + p->cp.destroyed + p->cp.build_failed, 0);
		assert_int_equal(p->cp.rotations, 1);
	}
	assert_int_equal(circsw_stats(S[RDV])->spliced, 2);
	/* At the rendezvous: the two spliced halves and the two pools, no old circuit left. */
	assert_int_equal(circsw_stats(S[RDV])->circuits, 4);
}

/* A's middle relay stops answering: both sides switch via the pool within 5 s. */
static void test_middle_killed(void **state)
{
	const struct circpeer_path *ap;
	uint64_t kill_ms, back_ms[2] = {0, 0};
	uint32_t seq_at_kill[2];
	int mid;

	(void)state;
	P[0].paths[0][0] = AE;
	P[0].paths[0][1] = M1;
	P[0].paths[0][2] = NONE;
	P[0].paths[1][0] = AE;
	P[0].paths[1][1] = M2;
	P[0].paths[1][2] = NONE;
	P[0].npaths = 2;
	slow = true;
	meet(5000);
	run(3000);
	ap = circpeer_active_path(&P[0].cp);
	assert_int_equal(ap->n, 3);
	mid = ap->hops[1].identity[0];
	assert_int_equal(count_role(&P[0], CIRCPEER_POOL), 1);
	P[0].talk = P[1].talk = true;
	run(2000);
	assert_true(P[0].got >= 10 && P[1].got >= 10);
	alive[mid] = false;
	kill_ms = now;
	seq_at_kill[0] = P[0].seq;
	seq_at_kill[1] = P[1].seq;
	/* Back: a datagram sent after the kill arrived (what was past the middle still comes). */
	while (now - kill_ms < 6000 && !(back_ms[0] && back_ms[1])) {
		run(STEP);
		for (int x = 0; x < 2; x++)
			if (!back_ms[x] && P[x].last_seq > seq_at_kill[1 - x])
				back_ms[x] = now;
	}
	assert_true(back_ms[0] && back_ms[1]); /* 4.2 and 4.3 s with 100 ms a hop */
	assert_true(back_ms[0] - kill_ms <= 5000);
	assert_true(back_ms[1] - kill_ms <= 5000);
	assert_true(P[0].cp.dead + P[0].cp.destroyed >= 1);
	assert_true(P[1].cp.dead + P[1].cp.destroyed >= 1);
	assert_int_equal(P[0].cp.spliced, 2);
	assert_int_equal(P[1].cp.spliced, 2);
	ap = circpeer_active_path(&P[0].cp);
	assert_int_not_equal(ap->hops[1].identity[0], mid);
	/* And it keeps flowing. */
	{
		uint64_t g0 = P[0].got, g1 = P[1].got;

		run(3000);
		assert_true(P[0].got - g0 >= 25);
		assert_true(P[1].got - g1 >= 25);
	}
	assert_int_equal(P[0].got_bad + P[1].got_bad, 0);
}

/* The relay link between A's entry and the rendezvous goes down: DESTROYs reach both sides. */
static void test_destroy_from_network(void **state)
{
	uint64_t t0;

	(void)state;
	meet(2000);
	run(1000);
	P[0].talk = P[1].talk = true;
	run(1000);
	circsw_link_down(S[AE], rlink(AE, RDV));
	drain(AE);
	circsw_link_down(S[RDV], rlink(RDV, AE));
	drain(RDV);
	pump();
	/* A: its ACTIVE and its POOL both went through that link; B: the far half of its ACTIVE. */
	assert_int_equal(P[0].cp.destroyed, 2);
	assert_int_equal(P[1].cp.destroyed, 1);
	assert_int_equal(count_role(&P[0], CIRCPEER_ACTIVE), 0);
	assert_int_equal(count_role(&P[1], CIRCPEER_ACTIVE), 0);
	assert_int_equal(count_role(&P[1], CIRCPEER_MEETING), 1); /* B's pool went at once */
	t0 = now;
	while (now - t0 < 5000 && !(spliced(&P[0]) && spliced(&P[1])))
		run(STEP);
	assert_true(spliced(&P[0]) && spliced(&P[1]));
	assert_true(now - t0 <= 2000); /* A's rebuild waits 1 s: its pool was torn down */
	{
		uint64_t g0 = P[0].got, g1 = P[1].got;

		run(2000);
		assert_true(P[0].got - g0 >= 19);
		assert_true(P[1].got - g1 >= 19);
	}
	assert_int_equal(P[0].cp.dead + P[1].cp.dead, 0);
	assert_int_equal(P[0].got_bad + P[1].got_bad, 0);
}

/* B never comes: A's RENDEZVOUS is given up after 55 s and the pool goes to meet instead. */
static void test_meeting_timeout(void **state)
{
	uint32_t first = 0;

	(void)state;
	P[1].on = false;
	run(1000);
	assert_string_equal(circpeer_state_name(&P[0].cp), "meeting");
	assert_int_equal(count_role(&P[0], CIRCPEER_MEETING), 1);
	assert_int_equal(count_role(&P[0], CIRCPEER_POOL), 1);
	for (int i = 0; i < CIRCPEER_SLOTS; i++)
		if (P[0].cp.slot[i].role == CIRCPEER_MEETING)
			first = P[0].cp.slot[i].c.circ_id;
	/* No circuit in use: given up after CIRCPEER_LOSS_MEET_MS, the next one a second later. */
	run(CIRCPEER_LOSS_MEET_MS - 2000);
	assert_int_equal(P[0].cp.build_failed, 0);
	run(2000);
	assert_int_equal(P[0].cp.build_failed, 1);
	assert_int_equal(count_role(&P[0], CIRCPEER_MEETING), 0); /* not at once: REMEET */
	run(CIRCPEER_REMEET_MS + 200);
	assert_int_equal(count_role(&P[0], CIRCPEER_MEETING), 1); /* the pool, meeting now */
	assert_int_equal(count_role(&P[0], CIRCPEER_POOL), 1);    /* and a new pool */
	for (int i = 0; i < CIRCPEER_SLOTS; i++)
		if (P[0].cp.slot[i].role == CIRCPEER_MEETING)
			assert_int_not_equal(P[0].cp.slot[i].c.circ_id, first);
	assert_int_equal(P[0].cp.builds, 3);
	/* The DESTROY freed it at the relays before their own 60 s. */
	assert_int_equal(circsw_stats(S[RDV])->circuits, 2);
	assert_int_equal(circsw_stats(S[AE])->circuits, 2);
	/* B comes after all: they meet. */
	P[1].on = true;
	meet(2000);
	assert_int_equal(P[0].cp.spliced, 1);
}

/* Over the active circuit's MTU: refused and counted; exactly the MTU: carried. */
static void test_oversize(void **state)
{
	uint8_t d[B];
	size_t mtu;

	(void)state;
	memset(d, 0x42, sizeof(d));
	meet(2000);
	mtu = circpeer_mtu(&P[0].cp);
	assert_int_equal(mtu, 1363);
	assert_int_equal(circpeer_send(&P[0].cp, d, mtu + 1, now), -EMSGSIZE);
	assert_int_equal(circpeer_send(&P[0].cp, d, sizeof(d), now), -EMSGSIZE);
	assert_int_equal(P[0].cp.oversize, 2);
	assert_int_equal(circpeer_send(&P[0].cp, d, 0, now), -EINVAL);
	pump();
	assert_int_equal(P[1].got, 0);
	assert_int_equal(circpeer_send(&P[0].cp, d, mtu, now), 0);
	pump();
	assert_int_equal(P[1].got, 1);
	assert_int_equal(P[1].got_len, mtu);
	assert_memory_equal(P[1].got_buf, d, mtu);
	assert_int_equal(P[0].cp.oversize, 2);
}

/* A's link to its entry is gone: its circuits there are lost without a cell; the pool on the
 * other link meets B, whom the entry's DESTROY reached. */
static void test_link_gone(void **state)
{
	uint64_t cells;

	(void)state;
	P[0].paths[1][0] = AE2;
	P[0].paths[1][1] = NONE;
	P[0].npaths = 2;
	meet(2000);
	run(1000);
	assert_int_equal(circpeer_active_path(&P[0].cp)->link, CLINK(AE));
	P[0].talk = P[1].talk = true;
	run(1000);
	cells = P[0].cells_out;
	circpeer_link_gone(&P[0].cp, CLINK(AE), now);
	assert_int_equal(P[0].cp.lost, 1);
	assert_int_equal(count_role(&P[0], CIRCPEER_ACTIVE), 0);
	/* The pool (on AE2) went to meet at once: its RENDEZVOUS is the only cell. */
	assert_int_equal(count_role(&P[0], CIRCPEER_MEETING), 1);
	assert_int_equal(P[0].cells_out, cells + 1);
	/* The relay sees the link go too: DESTROY towards the rendezvous and B. */
	circsw_link_down(S[AE], 1);
	drain(AE);
	pump();
	assert_int_equal(P[1].cp.destroyed, 1);
	assert_true(spliced(&P[0]) && spliced(&P[1]));
	assert_int_equal(circpeer_active_path(&P[0].cp)->link, CLINK(AE2));
	{
		uint64_t g0 = P[0].got, g1 = P[1].got;

		run(2000);
		assert_true(P[0].got - g0 >= 19);
		assert_true(P[1].got - g1 >= 19);
	}
	assert_int_equal(P[0].got_bad + P[1].got_bad, 0);
}

/* Builds refused at once (a wrong key), then one unanswered: 1, 2, 4 .. 30 s apart; a build
 * that succeeds resets it. */
static void test_backoff(void **state)
{
	static const unsigned gap[] = {1, 2, 4, 8, 16, 30, 30};

	(void)state;
	P[1].on = false;
	P[0].bad_key = true;
	run(100);
	assert_int_equal(P[0].builds_asked, 1);
	assert_int_equal(P[0].cp.build_failed, 1); /* the entry refused it with DESTROY */
	while (P[0].builds_asked < 8)
		run(STEP);
	for (int i = 0; i < 7; i++)
		assert_int_equal(P[0].build_ms[i + 1] - P[0].build_ms[i], gap[i] * 1000);
	assert_int_equal(P[0].cp.build_failed, 8);
	assert_int_equal(P[0].cp.builds, 8);
	assert_string_equal(circpeer_state_name(&P[0].cp), "none");
	/* The caller finding no path counts too. */
	assert_int_equal(circpeer_build(&P[0].cp, NULL, now), -ENOENT);
	assert_int_equal(P[0].cp.build_failed, 9);
	/* An entry that never answers: the build fails after CIRCPEER_STEP_MS. */
	P[0].bad_key = false;
	alive[AE] = false;
	while (P[0].builds_asked < 9)
		run(STEP);
	run(CIRCPEER_STEP_MS - STEP);
	assert_int_equal(P[0].cp.build_failed, 9);
	run(STEP);
	assert_int_equal(P[0].cp.build_failed, 10);
	/* The hop it stopped at is named for the caller: the entry (the refusals named it too). */
	assert_int_equal(P[0].cp.failed_hops, 9);
	assert_memory_equal(P[0].cp.failed_hop, ident[AE], 32);
	/* Mended: the next build succeeds, and the one after is asked for at once. */
	alive[AE] = true;
	while (P[0].builds_asked < 10)
		run(STEP);
	run(STEP);
	assert_int_equal(P[0].cp.backoff_s, 0);
	assert_int_equal(P[0].builds_asked, 11);
	assert_int_equal(P[0].build_ms[10] - P[0].build_ms[9], STEP);
	assert_int_equal(count_role(&P[0], CIRCPEER_MEETING), 1);
	assert_int_equal(count_role(&P[0], CIRCPEER_POOL), 1);
}

/* A new rendezvous (A first, B 2 s later): both move there; the old ACTIVE carries the
 * datagrams until the new one splices, then is read 10 s more: nothing lost. */
static void test_changed_rendezvous(void **state)
{
	uint8_t cookie2[CIRCMSG_COOKIE_LEN];

	(void)state;
	randombytes_buf(cookie2, sizeof(cookie2));
	slow = true;
	meet(5000);
	run(2000);
	P[0].talk = P[1].talk = true;
	run(1000);
	P[0].rdv = RDV2;
	memcpy(P[0].cookie, cookie2, sizeof(cookie2));
	run(STEP);
	assert_int_equal(count_role(&P[0], CIRCPEER_POOL) + count_role(&P[0], CIRCPEER_MEETING), 0);
	run(1000);
	assert_true(spliced(&P[0]));
	assert_memory_equal(circpeer_active_path(&P[0].cp)->hops[1].identity, ident[RDV], 32);
	assert_int_equal(count_role(&P[0], CIRCPEER_MEETING), 1); /* at RDV2, waiting for B */
	run(2000);
	P[1].rdv = RDV2;
	memcpy(P[1].cookie, cookie2, sizeof(cookie2));
	run(2000);
	for (int x = 0; x < 2; x++) {
		assert_int_equal(P[x].cp.spliced, 2);
		assert_memory_equal(circpeer_active_path(&P[x].cp)->hops[1].identity, ident[RDV2],
		                    32);
		assert_int_equal(count_role(&P[x], CIRCPEER_OLD), 1);
	}
	run(10000);
	P[0].talk = P[1].talk = false;
	run(1000);
	for (int x = 0; x < 2; x++) {
		struct peer *p = &P[x], *o = &P[1 - x];

		assert_int_equal(count_role(p, CIRCPEER_OLD), 0);
		assert_int_equal(count_role(p, CIRCPEER_POOL), 1);
		assert_int_equal(p->sent_fail, 0);
		assert_int_equal(o->got, p->sent_ok);
		assert_int_equal(o->got_bad, 0);
		assert_int_equal(p->cp.dead + p->cp.build_failed, 0);
	}
	/* Nothing left at the old rendezvous. */
	assert_int_equal(circsw_stats(S[RDV])->circuits, 0);
	assert_int_equal(circsw_stats(S[RDV2])->spliced, 1);
}

/* send_cell failing: a datagram gets its -errno; a build fails and backs off. */
static void test_send_errors(void **state)
{
	uint8_t d[DLEN];

	(void)state;
	memset(d, 1, sizeof(d));
	meet(2000);
	run(1000);
	P[0].send_err = -ENOBUFS;
	assert_int_equal(circpeer_send(&P[0].cp, d, sizeof(d), now), -ENOBUFS);
	assert_int_equal(P[0].cp.to_circ, 0);
	/* The link refuses everything: the ACTIVE dies of silence, the pool's RENDEZVOUS cannot go,
	 * and builds fail with a backoff. */
	run(5000);
	assert_int_equal(P[0].cp.dead + P[0].cp.destroyed, 1); /* B's silence, or B's DESTROY */
	assert_int_equal(count_role(&P[0], CIRCPEER_ACTIVE), 0);
	assert_true(P[0].cp.build_failed >= 2);
	assert_true(P[0].cp.backoff_s >= 1);
	/* The link works again: back to spliced (B's pool was waiting). */
	P[0].send_err = 0;
	for (int i = 0; i < 400 && !(spliced(&P[0]) && spliced(&P[1])); i++)
		run(STEP);
	assert_true(spliced(&P[0]) && spliced(&P[1]));
	assert_int_equal(circpeer_send(&P[0].cp, d, sizeof(d), now), 0);
	pump();
	assert_int_equal(P[1].got, 1);
}

/* Stop: every circuit DESTROYed at the relays, nothing asked for after. */
static void test_stop(void **state)
{
	(void)state;
	meet(2000);
	run(1000);
	assert_true(circsw_stats(S[RDV])->circuits > 0);
	P[0].on = P[1].on = false;
	circpeer_stop(&P[0].cp);
	circpeer_stop(&P[1].cp);
	pump();
	for (int r = 0; r < NR; r++)
		assert_int_equal(circsw_stats(S[r])->circuits, 0);
	assert_string_equal(circpeer_state_name(&P[0].cp), "none");
	assert_false(circpeer_tick(&P[0].cp, now + 60000, WALL0 + 60));
	assert_int_equal(P[0].cp.spliced, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_first_meeting, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_heartbeat, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_drop_via, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_no_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation_alone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_rotation, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_middle_killed, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_destroy_from_network, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_meeting_timeout, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_oversize, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_link_gone, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_backoff, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_changed_rendezvous, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_send_errors, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
