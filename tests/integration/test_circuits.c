/*
 * Integration tests of wgrelayd's circuits on loopback (PROTOCOL.md §13): three relays in a
 * full mesh with [Relay] Circuits = on, and test clients that build circuits through them with
 * common/circbuild.c on ordinary client links (CELL frames, §13.1). A on R1 and B on R2 each
 * build to R3 and meet there by a rendezvous cookie; WireGuard-shaped datagrams cross both
 * ways; a tampered cell, a replayed frame and a replayed cell counter are dropped where they
 * first fail; a 3-hop circuit meets a 1-hop one; DESTROY and a relay that dies tear circuits
 * down on every relay; and a relay without Circuits = on counts a CELL frame as malformed.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "cell.h"
#include "circbuild.h"
#include "ev.h"
#include "key.h"
#include "netrelay.h"
#include "onion.h"

#define B         CELL_BODY_1500
#define FRAME_LEN CELL_FRAME_LEN(B)
#define NDGRAM    50    /* datagrams each way in the first test */
#define MESH_MS   20000 /* the relays' links all up */
#define STEP_MS   5000  /* a circuit built, spliced, destroyed */
#define DGRAM_MS  2000  /* a datagram across a circuit */
#define QUIET_MS  300   /* how long "nothing arrives" is watched */
#define KILL_MS   60000 /* a dead relay's circuits torn down */
#define POLLS     100   /* a relay's metric polled this often, NRELAY_POLL_MS apart */

/*
 * The relays' network: heartbeats every second and a link declared dead after 6 s without
 * one, so that a relay that dies takes its circuits with it within seconds (yet a loaded
 * machine does not lose links that are alive).
 */
#define NET_LINES                                                                                  \
	"Network = on\nMinLinks = 2\nMaxLinks = 4\nHeartbeatInterval = 1\nLinkTimeout = 6\n"
/* Circuit ends one link holds: a test reaches the bound, the others stay below it. */
#define LINK_HOPS   3
#define CIRCUITS_ON "[Relay]\nCircuits = on\n[Limits]\nMaxCircuitHopsPerLink = 3\n"

/* A test client: an ordinary client link, CELL frames on it, and one circuit at a time. */
struct cc {
	struct tclient t;
	bool open;
	uint8_t send_key[32], recv_key[32];
	uint64_t counter; /* the link counter of the next CELL frame sent */
	struct replay rp;
	struct circ c;
	int events[CIRC_EV_DROPPED + 1];     /* what circ_input returned, this circuit */
	unsigned frames, odd_size, unopened; /* CELL frames received; of another size; not opened */
	/* Datagrams received (CIRC_EV_DATA), by the counter field tclient_wg_data wrote. */
	uint8_t got[NDGRAM][B];
	size_t got_len[NDGRAM];
	unsigned got_n, got_stray;
};

static struct nrelay R1, R2, R3, R4;
static struct cc A, Bc, A2, B2;
static struct cc *const all[] = {&A, &Bc, &A2, &B2};

static const char *const drop_reasons[] = {"unknown", "layer",   "replay", "message", "handshake",
                                           "full",    "padding", "frame",  "rate",    "auth",
                                           "source",  "connect", "no-link"};

static long long cmetric(const struct nrelay *x, const char *kind, const char *label,
                         const char *value)
{
	char name[128];

	snprintf(name, sizeof(name), "wgrelayd_circuit_%s{%s=\"%s\"}", kind, label, value);
	return nrelay_metric(x, name);
}

static long long drops(const struct nrelay *x, const char *reason)
{
	return cmetric(x, "drops_total", "reason", reason);
}

static long long events(const struct nrelay *x, const char *event)
{
	return cmetric(x, "events_total", "event", event);
}

static long long cells(const struct nrelay *x, const char *dir)
{
	return cmetric(x, "cells_total", "dir", dir);
}

/* The circuit metrics of every running relay, printed when a wait failed. */
static void show_relays(void)
{
	const struct nrelay *const rs[] = {&R1, &R2, &R3};

	for (int i = 0; i < 3; i++) {
		const struct nrelay *x = rs[i];
		char line[512];
		int n;

		if (x->pid <= 0)
			continue;
		n = snprintf(line, sizeof(line),
		             "R%d: links %lld hops %lld created %lld extended %lld spliced %lld "
		             "destroyed %lld fwd %lld bwd %lld orig %lld drops",
		             i + 1, nrelay_metric(x, "wgrelayd_network_links"),
		             nrelay_metric(x, "wgrelayd_circuit_hops"), events(x, "created"),
		             events(x, "extended"), events(x, "spliced"), events(x, "destroyed"),
		             cells(x, "forward"), cells(x, "backward"), cells(x, "originated"));
		for (size_t d = 0; d < sizeof(drop_reasons) / sizeof(drop_reasons[0]); d++)
			if (n > 0 && (size_t)n < sizeof(line))
				n += snprintf(line + n, sizeof(line) - (size_t)n, " %s=%lld",
				              drop_reasons[d], drops(x, drop_reasons[d]));
		print_message("%s\n", line);
	}
}

static void cc_open(struct cc *x, const struct nrelay *entry)
{
	memset(x, 0, sizeof(*x));
	assert_int_equal(tclient_open(&x->t, entry->addr, entry->pub), 0);
	assert_int_equal(tclient_handshake(&x->t, T_MS), 0);
	cell_derive_key(x->send_key, x->t.keys.data_send);
	cell_derive_key(x->recv_key, x->t.keys.data_recv);
	replay_init(&x->rp);
	x->open = true;
}

static void cc_close(struct cc *x)
{
	if (x->open)
		tclient_close(&x->t);
	sodium_memzero(x->send_key, sizeof(x->send_key));
	sodium_memzero(x->recv_key, sizeof(x->recv_key));
	x->open = false;
}

/* Seal cell on x's link with the next link counter into frame (FRAME_LEN bytes). */
static void cc_seal(struct cc *x, const struct cell *cell, uint8_t frame[FRAME_LEN])
{
	assert_int_equal(
	    cell_seal(frame, FRAME_LEN, x->t.keys.remote_index, x->counter++, x->send_key, cell),
	    FRAME_LEN);
}

static void cc_send_frame(struct cc *x, const uint8_t frame[FRAME_LEN])
{
	assert_int_equal(tclient_sendto(x->t.fd, frame, FRAME_LEN, &x->t.relay), 0);
}

static void cc_send(struct cc *x, const struct cell *cell)
{
	uint8_t frame[FRAME_LEN];

	cc_seal(x, cell, frame);
	cc_send_frame(x, frame);
}

/* One datagram from x's relay: a CELL frame goes to the circuit, the next step is sent. */
static void cc_receive(struct cc *x, uint8_t *buf, size_t n)
{
	uint8_t obody[B];
	struct cell in, out = {.body = obody};
	const uint8_t *data;
	size_t len;
	bool has_out;
	enum circ_event ev;

	if (n < PROTO_HDR_LEN || buf[0] != PROTO_MAGIC || buf[1] != CELL_FRAME_TYPE)
		return;
	x->frames++;
	if (n != FRAME_LEN)
		x->odd_size++;
	if (cell_open(buf, n, x->recv_key, &x->rp, &in) != 0) {
		x->unopened++;
		return;
	}
	ev = circ_input(&x->c, &in, ev_clock_ms(), &out, &has_out, &data, &len);
	x->events[ev]++;
	if (ev == CIRC_EV_DATA) {
		uint64_t i = NDGRAM;

		if (len >= 16)
			memcpy(&i, data + 8, 8); /* as tclient_wg_data put it */
		if (i < NDGRAM && !x->got_len[i]) {
			memcpy(x->got[i], data, len);
			x->got_len[i] = len;
			x->got_n++;
		} else {
			x->got_stray++;
		}
	}
	if (has_out)
		cc_send(x, &out);
}

/* Take in whatever reaches the open clients within ms. */
static void pump(int ms)
{
	struct pollfd pfd[sizeof(all) / sizeof(all[0])];
	struct cc *who[sizeof(all) / sizeof(all[0])];
	uint8_t buf[PROTO_MAX_FRAME];
	nfds_t n = 0;

	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		if (all[i]->open) {
			pfd[n] = (struct pollfd){.fd = all[i]->t.fd, .events = POLLIN};
			who[n++] = all[i];
		}
	if (poll(pfd, n, ms) <= 0)
		return;
	for (nfds_t i = 0; i < n; i++) {
		int k;

		if (!(pfd[i].revents & POLLIN))
			continue;
		while ((k = tclient_recvfrom(who[i]->t.fd, buf, sizeof(buf), NULL, 0)) > 0)
			cc_receive(who[i], buf, (size_t)k);
	}
}

/* Pump until cond holds, for ms at most; cond is asserted by the caller afterwards. */
#define PUMP_UNTIL(cond, ms)                                                                       \
	do {                                                                                       \
		uint64_t until_ = ev_clock_ms() + (ms);                                            \
		while (!(cond) && ev_clock_ms() < until_)                                          \
			pump(20);                                                                  \
	} while (0)

static void reset_events(struct cc *x)
{
	memset(x->events, 0, sizeof(x->events));
	memset(x->got_len, 0, sizeof(x->got_len));
	x->got_n = x->got_stray = 0;
}

/* Build x's circuit through path (n relays, the first x's entry), telescoping. */
static void build(struct cc *x, const struct nrelay *const *path, unsigned n)
{
	struct circ_hop hops[ONION_MAX_HOPS];
	uint8_t body[B];
	struct cell out = {.body = body};

	reset_events(x);
	for (unsigned d = 0; d < n; d++) {
		memcpy(hops[d].identity, path[d]->id, 32);
		memcpy(hops[d].noise_pub, path[d]->pub, 32);
	}
	assert_int_equal(circ_start(&x->c, hops, n, CIRCHS_CLASS_1500, ev_clock_ms(), &out), 0);
	cc_send(x, &out);
	PUMP_UNTIL(x->events[CIRC_EV_BUILT] || x->events[CIRC_EV_DESTROYED], STEP_MS);
	if (x->c.state != CIRC_ESTABLISHED) {
		show_relays();
		fail_msg("a %u-hop circuit not built: %u hop(s) of %u, state %d, %d destroyed, "
		         "%d dropped",
		         n, x->c.built, n, (int)x->c.state, x->events[CIRC_EV_DESTROYED],
		         x->events[CIRC_EV_DROPPED]);
	}
	assert_int_equal(x->events[CIRC_EV_DROPPED], 0);
}

/* x and y meet at their circuits' common last hop with a fresh cookie. */
static void meet(struct cc *x, struct cc *y)
{
	uint8_t cookie[CIRCMSG_COOKIE_LEN], body[B];
	struct cell out = {.body = body};

	randombytes_buf(cookie, sizeof(cookie));
	assert_int_equal(circ_rendezvous(&x->c, cookie, ev_clock_ms(), &out), 0);
	cc_send(x, &out);
	/* The first waits for the second: no SPLICED before it came. */
	pump(QUIET_MS);
	assert_int_equal(x->events[CIRC_EV_SPLICED], 0);
	assert_int_equal(circ_rendezvous(&y->c, cookie, ev_clock_ms(), &out), 0);
	cc_send(y, &out);
	PUMP_UNTIL(x->events[CIRC_EV_SPLICED] && y->events[CIRC_EV_SPLICED], STEP_MS);
	if (!x->events[CIRC_EV_SPLICED] || !y->events[CIRC_EV_SPLICED])
		show_relays();
	assert_int_equal(x->events[CIRC_EV_SPLICED], 1);
	assert_int_equal(y->events[CIRC_EV_SPLICED], 1);
}

/*
 * Datagram i (of length len) from x to y through their spliced circuits: it arrives whole
 * (y's slot i is emptied first, so that an index may be used again).
 */
static void cross(struct cc *x, struct cc *y, unsigned i, size_t len)
{
	uint8_t dgram[B], body[B];
	struct cell out = {.body = body};

	assert_true(i < NDGRAM);
	y->got_len[i] = 0;
	tclient_wg_data(dgram, len, 0x51c0, i);
	assert_int_equal(circ_send(&x->c, dgram, len, &out), 0);
	cc_send(x, &out);
	PUMP_UNTIL(y->got_len[i], DGRAM_MS);
	if (!y->got_len[i]) {
		show_relays();
		fail_msg("datagram %u (%zu bytes) did not arrive", i, len);
	}
	assert_int_equal(y->got_len[i], len);
	assert_memory_equal(y->got[i], dgram, len);
}

/* Poll until every running relay of the three holds no circuit hop. */
static void hops_gone(void)
{
	const struct nrelay *const rs[] = {&R1, &R2, &R3};

	for (int i = 0; i < 3; i++) {
		long long h = -1;

		if (rs[i]->pid <= 0)
			continue;
		for (int t = 0; t < POLLS && (h = nrelay_metric(rs[i], "wgrelayd_circuit_hops"));
		     t++)
			usleep(NRELAY_POLL_MS * 1000);
		if (h != 0) {
			show_relays();
			fail_msg("R%d still holds %lld circuit hop(s)", i + 1, h);
		}
	}
}

/* Poll x's metric (read by get) until it is want, while the clients are pumped. */
static long long wait_for(const struct nrelay *x,
                          long long (*get)(const struct nrelay *, const char *), const char *what,
                          long long want)
{
	long long v = -1;

	for (int t = 0; t < POLLS && (v = get(x, what)) != want; t++)
		pump(NRELAY_POLL_MS);
	return v;
}

static int group_setup(void **state)
{
	char net[512], k1[KEY_B64_STRLEN], k2[KEY_B64_STRLEN];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	/* A full mesh with Peer lines one way: R2 dials R1, R3 dials both. */
	nrelay_start_extra(&R1, free_port(), 0, 10, NET_LINES, CIRCUITS_ON);
	key_to_base64(k1, R1.pub);
	snprintf(net, sizeof(net), NET_LINES "Peer = %s %s\n", R1.addr, k1);
	nrelay_start_extra(&R2, free_port(), 1, 10, net, CIRCUITS_ON);
	key_to_base64(k2, R2.pub);
	snprintf(net, sizeof(net), NET_LINES "Peer = %s %s\nPeer = %s %s\n", R1.addr, k1, R2.addr,
	         k2);
	nrelay_start_extra(&R3, free_port(), 2, 10, net, CIRCUITS_ON);
	return 0;
}

static int group_teardown(void **state)
{
	int e = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		cc_close(all[i]);
	e |= nrelay_stop(&R1);
	e |= nrelay_stop(&R2);
	e |= nrelay_stop(&R3);
	if (R4.dir[0])
		e |= nrelay_stop(&R4);
	return e;
}

/* Off by default: a CELL frame on a client link is a malformed frame, and not answered. */
static void test_off_by_default(void **state)
{
	static const char *malformed = "wgrelayd_drops_total{reason=\"malformed\"}";
	uint8_t body[B], buf[PROTO_MAX_FRAME], sid[16];
	struct cell out = {.body = body};
	struct circ_hop hop;
	struct ctrl_msg reply;
	struct cc x;
	long long before;

	(void)state;
	nrelay_start(&R4, free_port(), 3, 10, "Network = off\n");
	cc_open(&x, &R4);
	before = nrelay_metric(&R4, malformed);
	assert_true(before >= 0);
	memset(hop.identity, 0, 32);
	memcpy(hop.noise_pub, R4.pub, 32);
	assert_int_equal(circ_start(&x.c, &hop, 1, CIRCHS_CLASS_1500, ev_clock_ms(), &out), 0);
	cc_send(&x, &out);
	assert_int_equal(nrelay_wait_metric(&R4, malformed, before + 1, POLLS), before + 1);
	assert_int_equal(tclient_recvfrom(x.t.fd, buf, sizeof(buf), NULL, QUIET_MS), -ETIMEDOUT);
	/* Positive control: the relay and the link are alive (a PING answered, a BIND too). */
	assert_true(nrelay_pinged(&R4));
	randombytes_buf(sid, sizeof(sid));
	assert_int_equal(tclient_bind(&x.t, sid, PROTO_MODE_SEALED, NULL, NULL, &reply, T_MS), 0);
	assert_int_equal(reply.type, CTRL_BOUND);
	assert_int_equal(nrelay_metric(&R4, malformed), before + 1);
	cc_close(&x);
	assert_int_equal(nrelay_stop(&R4), 0);
	memset(&R4, 0, sizeof(R4));
}

/*
 * Admission as for a BIND: on a relay with [Auth] Mode = keys, a client key not in AllowedKeys
 * has its CREATE answered with DESTROY at once (counted as "auth"), a listed key builds.
 */
static void test_admission(void **state)
{
	char path[] = "/tmp/wgrelay-circ-keys-XXXXXX", extra[256], b64[KEY_B64_STRLEN];
	uint8_t priv[32], pub[32];
	int fd;

	(void)state;
	key_generate_private(priv);
	key_public_from_private(pub, priv);
	key_to_base64(b64, pub);
	assert_true((fd = mkstemp(path)) >= 0);
	assert_true(dprintf(fd, "%s\n", b64) > 0);
	close(fd);
	snprintf(extra, sizeof(extra), CIRCUITS_ON "[Auth]\nMode = keys\nAllowedKeys = %s\n", path);
	nrelay_start_extra(&R4, free_port(), 3, 10, "Network = off\n", extra);
	/* A2: a fresh key, not listed. */
	cc_open(&A2, &R4);
	{
		const struct nrelay *const path1[] = {&R4};
		struct circ_hop hop;
		uint8_t body[B];
		struct cell out = {.body = body};

		memcpy(hop.identity, R4.id, 32);
		memcpy(hop.noise_pub, R4.pub, 32);
		reset_events(&A2);
		assert_int_equal(circ_start(&A2.c, &hop, 1, CIRCHS_CLASS_1500, ev_clock_ms(), &out),
		                 0);
		cc_send(&A2, &out);
		PUMP_UNTIL(A2.events[CIRC_EV_DESTROYED], STEP_MS);
		assert_int_equal(A2.events[CIRC_EV_DESTROYED], 1);
		assert_int_equal(A2.c.built, 0);
		assert_int_equal(drops(&R4, "auth"), 1);
		/* B2: the listed key (the handshake redone with it) builds. */
		memset(&B2, 0, sizeof(B2));
		assert_int_equal(tclient_open(&B2.t, R4.addr, R4.pub), 0);
		memcpy(B2.t.priv, priv, 32);
		memcpy(B2.t.pub, pub, 32);
		hs_client_init(&B2.t.hs, B2.t.priv, R4.pub);
		assert_int_equal(tclient_handshake(&B2.t, T_MS), 0);
		cell_derive_key(B2.send_key, B2.t.keys.data_send);
		cell_derive_key(B2.recv_key, B2.t.keys.data_recv);
		replay_init(&B2.rp);
		B2.open = true;
		build(&B2, path1, 1);
		assert_int_equal(drops(&R4, "auth"), 1);
	}
	sodium_memzero(priv, sizeof(priv));
	cc_close(&A2);
	cc_close(&B2);
	unlink(path);
	assert_int_equal(nrelay_stop(&R4), 0);
	memset(&R4, 0, sizeof(R4));
}

/* Every relay has its links to the two others up, and circuits on. */
static void test_mesh_up(void **state)
{
	const struct nrelay *const rs[] = {&R1, &R2, &R3};

	(void)state;
	for (int i = 0; i < 3; i++) {
		long long v = -1;

		/* Exactly 2: a relay that just left (test_extend_dials' R4) may still be counted. */
		for (int t = 0; t < MESH_MS / NRELAY_POLL_MS &&
		                (v = nrelay_metric(rs[i], "wgrelayd_network_links")) != 2;
		     t++)
			usleep(NRELAY_POLL_MS * 1000);
		if (v != 2)
			fail_msg("R%d has %lld relay link(s) up, not 2", i + 1, v);
		assert_int_equal(nrelay_metric(rs[i], "wgrelayd_circuit_enabled"), 1);
		assert_int_equal(nrelay_metric(rs[i], "wgrelayd_circuit_hops"), 0);
	}
}

/* A: R1 -> R3, B: R2 -> R3, met at R3; NDGRAM datagrams each way, every one whole. */
static void test_rendezvous_data(void **state)
{
	const struct nrelay *pa[] = {&R1, &R3}, *pb[] = {&R2, &R3};
	long long created3 = events(&R3, "created");
	size_t mtu;

	(void)state;
	cc_open(&A, &R1);
	cc_open(&Bc, &R2);
	build(&A, pa, 2);
	build(&Bc, pb, 2);
	/* R1 and R2 hold the entry hops, R3 the last hop of both. */
	assert_int_equal(nrelay_metric(&R1, "wgrelayd_circuit_hops"), 1);
	assert_int_equal(nrelay_metric(&R2, "wgrelayd_circuit_hops"), 1);
	assert_int_equal(nrelay_metric(&R3, "wgrelayd_circuit_hops"), 2);
	assert_int_equal(events(&R3, "created"), created3 + 2);
	assert_true(events(&R1, "extended") >= 1);
	meet(&A, &Bc);
	assert_int_equal(events(&R3, "spliced"), 1);

	mtu = circ_mtu(&A.c);
	assert_int_equal(mtu, onion_room(B, 2) - CIRCMSG_DATA_HDR);
	assert_int_equal(circ_mtu(&Bc.c), mtu);
	for (unsigned i = 0; i < NDGRAM; i++) {
		/* From a bare header to the largest the circuit carries. */
		size_t len = 32 + (size_t)i * (mtu - 32) / (NDGRAM - 1);

		cross(&A, &Bc, i, len);
		cross(&Bc, &A, i, len);
	}
	assert_int_equal(A.got_n, NDGRAM);
	assert_int_equal(Bc.got_n, NDGRAM);
	assert_int_equal(A.got_stray + Bc.got_stray, 0);
	/* Every CELL frame either saw was of the class's size, and opened. */
	assert_true(A.frames >= NDGRAM + 3); /* CREATED, EXTENDED, SPLICED, the data */
	assert_int_equal(A.odd_size + Bc.odd_size, 0);
	assert_int_equal(A.unopened + Bc.unopened, 0);
	assert_int_equal(A.events[CIRC_EV_DROPPED] + Bc.events[CIRC_EV_DROPPED], 0);
	/* R1 passed A's cells on and B's back: its counters moved. */
	assert_true(cells(&R1, "forward") >= NDGRAM);
	assert_true(cells(&R1, "backward") >= NDGRAM);
	assert_true(cells(&R3, "originated") >= 2 * NDGRAM);
}

/*
 * A bit flipped in a cell's body: R1's layer covers the whole body of a 2-hop circuit's cell
 * (L(1) = B), so R1 is the first relay to open the damaged layer and drops it there; nothing
 * reaches B, nothing is passed on, and the circuit still carries the next datagram.
 */
static void test_tampered_cell(void **state)
{
	uint8_t dgram[256], body[B];
	struct cell out = {.body = body};
	long long layer1 = drops(&R1, "layer"), layer3 = drops(&R3, "layer");
	long long fwd1 = cells(&R1, "forward");
	unsigned got = Bc.got_n + Bc.got_stray;

	(void)state;
	assert_true(A.c.spliced);
	tclient_wg_data(dgram, sizeof(dgram), 0x51c0, NDGRAM);
	assert_int_equal(circ_send(&A.c, dgram, sizeof(dgram), &out), 0);
	body[700] ^= 0x08;
	cc_send(&A, &out);
	assert_int_equal(wait_for(&R1, drops, "layer", layer1 + 1), layer1 + 1);
	pump(QUIET_MS);
	assert_int_equal(Bc.got_n + Bc.got_stray, got);
	assert_int_equal(cells(&R1, "forward"), fwd1);
	assert_int_equal(drops(&R3, "layer"), layer3);
	/* The circuit is intact: the next datagram (a new k) arrives. */
	cross(&A, &Bc, 0, 200);
	assert_int_equal(drops(&R1, "layer"), layer1 + 1);
}

/*
 * Replays: the same CELL frame again (the link counter seen) is dropped by R1's link as
 * "frame"; the same cell sealed again with a fresh link counter (its circuit counter k seen)
 * is dropped by R1's hop as "replay". Nothing reaches B either time.
 */
static void test_replays(void **state)
{
	uint8_t dgram[300], body[B], frame[FRAME_LEN], copy[FRAME_LEN];
	struct cell out = {.body = body};
	long long frame1, replay1;
	unsigned got;

	(void)state;
	assert_true(A.c.spliced);
	Bc.got_len[1] = 0;
	tclient_wg_data(dgram, sizeof(dgram), 0x51c0, 1);
	assert_int_equal(circ_send(&A.c, dgram, sizeof(dgram), &out), 0);
	cc_seal(&A, &out, frame);
	memcpy(copy, frame, FRAME_LEN);
	cc_send_frame(&A, frame);
	PUMP_UNTIL(Bc.got_len[1], DGRAM_MS);
	assert_int_equal(Bc.got_len[1], sizeof(dgram));
	got = Bc.got_n + Bc.got_stray;

	frame1 = drops(&R1, "frame");
	cc_send_frame(&A, copy);
	assert_int_equal(wait_for(&R1, drops, "frame", frame1 + 1), frame1 + 1);

	replay1 = drops(&R1, "replay");
	cc_send(&A, &out); /* body untouched by the first seal: the same k, a new link counter */
	assert_int_equal(wait_for(&R1, drops, "replay", replay1 + 1), replay1 + 1);
	pump(QUIET_MS);
	assert_int_equal(Bc.got_n + Bc.got_stray, got);
	assert_int_equal(drops(&R1, "frame"), frame1 + 1);

	/* Positive control: a fresh datagram still crosses. */
	cross(&A, &Bc, 2, 400);
}

/* A second pair: A2 builds R1 -> R2 -> R3, B2 is on R3 itself (1 hop); they meet at R3. */
static void test_three_hops(void **state)
{
	const struct nrelay *pa[] = {&R1, &R2, &R3}, *pb[] = {&R3};
	long long fwd2 = cells(&R2, "forward"), spliced = events(&R3, "spliced");
	size_t mtu;

	(void)state;
	cc_open(&A2, &R1);
	cc_open(&B2, &R3);
	build(&A2, pa, 3);
	build(&B2, pb, 1);
	meet(&A2, &B2);
	assert_int_equal(events(&R3, "spliced"), spliced + 1);
	assert_int_equal(circ_mtu(&A2.c), onion_room(B, 3) - CIRCMSG_DATA_HDR);
	assert_true(circ_mtu(&B2.c) > circ_mtu(&A2.c));
	/* What B2 sends must fit A2's last hop's room: the smaller MTU both ways. */
	mtu = circ_mtu(&A2.c);
	for (unsigned i = 0; i < 10; i++) {
		size_t len = mtu - i * 97;

		cross(&A2, &B2, i, len);
		cross(&B2, &A2, i, len);
	}
	assert_int_equal(A2.odd_size + B2.odd_size, 0);
	assert_int_equal(A2.events[CIRC_EV_DROPPED] + B2.events[CIRC_EV_DROPPED], 0);
	/* R2, the middle hop, passed A2's RENDEZVOUS and datagrams on. */
	assert_true(cells(&R2, "forward") >= fwd2 + 11);
}

/* DESTROY from A and from A2: B and B2 are told, and no relay holds a hop any more. */
static void test_destroy(void **state)
{
	uint8_t body[B];
	struct cell out = {.body = body};
	long long destroyed3 = events(&R3, "destroyed");

	(void)state;
	assert_true(A.c.spliced && A2.c.spliced);
	circ_destroy(&A.c, &out);
	cc_send(&A, &out);
	PUMP_UNTIL(Bc.events[CIRC_EV_DESTROYED], STEP_MS);
	assert_int_equal(Bc.events[CIRC_EV_DESTROYED], 1);
	assert_int_equal(Bc.c.state, CIRC_DESTROYED);
	circ_destroy(&A2.c, &out);
	cc_send(&A2, &out);
	PUMP_UNTIL(B2.events[CIRC_EV_DESTROYED], STEP_MS);
	assert_int_equal(B2.events[CIRC_EV_DESTROYED], 1);
	hops_gone();
	/* R3 held four hops: each pair's two. */
	assert_true(events(&R3, "destroyed") >= destroyed3 + 4);
	cc_close(&A2);
	cc_close(&B2);
}

/* Take in A2's cells for the n circuits cs (cc_receive knows one circuit only) until want of
 * them were built, for STEP_MS at most: how many were. */
static int built_on_a2(struct circ *cs, int n, int want)
{
	uint8_t body[B], buf[PROTO_MAX_FRAME];
	struct cell in, out = {.body = body};
	uint64_t until = ev_clock_ms() + STEP_MS;
	int built = 0;

	while (built < want && ev_clock_ms() < until) {
		int k = tclient_recvfrom(A2.t.fd, buf, sizeof(buf), NULL, 20);
		const uint8_t *data;
		size_t len;
		bool has_out;

		if (k != FRAME_LEN || buf[1] != CELL_FRAME_TYPE ||
		    cell_open(buf, (size_t)k, A2.recv_key, &A2.rp, &in) != 0)
			continue;
		for (int i = 0; i < n; i++)
			if (cs[i].circ_id == in.circ_id)
				built += circ_input(&cs[i], &in, ev_clock_ms(), &out, &has_out,
				                    &data, &len) == CIRC_EV_BUILT;
	}
	return built;
}

/*
 * [Limits] MaxCircuitHopsPerLink: LINK_HOPS 1-hop circuits on one client link of R2 are
 * built, one more is refused ("full") and never answered; DESTROY frees the room again.
 */
static void test_per_link_limit(void **state)
{
	static struct circ cs[LINK_HOPS + 1];
	struct circ_hop hop;
	uint8_t body[B];
	struct cell out = {.body = body};
	long long full2 = drops(&R2, "full");
	int building = -1;

	(void)state;
	cc_open(&A2, &R2);
	memcpy(hop.identity, R2.id, 32);
	memcpy(hop.noise_pub, R2.pub, 32);
	for (int i = 0; i <= LINK_HOPS; i++) {
		assert_int_equal(
		    circ_start(&cs[i], &hop, 1, CIRCHS_CLASS_1500, ev_clock_ms(), &out), 0);
		cc_send(&A2, &out);
	}
	assert_int_equal(built_on_a2(cs, LINK_HOPS + 1, LINK_HOPS), LINK_HOPS);
	assert_int_equal(wait_for(&R2, drops, "full", full2 + 1), full2 + 1);
	assert_int_equal(nrelay_metric(&R2, "wgrelayd_circuit_hops"), LINK_HOPS);
	/* One of them is still waiting: the room freed by DESTROYing another is for a new one. */
	for (int i = 0; i <= LINK_HOPS; i++)
		if (cs[i].state == CIRC_BUILDING)
			building = i;
	assert_true(building >= 0);
	circ_destroy(&cs[(building + 1) % (LINK_HOPS + 1)], &out);
	cc_send(&A2, &out);
	assert_int_equal(circ_start(&cs[building], &hop, 1, CIRCHS_CLASS_1500, ev_clock_ms(), &out),
	                 0);
	cc_send(&A2, &out);
	assert_int_equal(built_on_a2(&cs[building], 1, 1), 1);
	assert_int_equal(drops(&R2, "full"), full2 + 1);
	for (int i = 0; i <= LINK_HOPS; i++)
		if (cs[i].state == CIRC_ESTABLISHED) {
			circ_destroy(&cs[i], &out);
			cc_send(&A2, &out);
		}
	hops_gone();
	cc_close(&A2);
}

/* Build A (R1 -> R3) and B (R2 -> R3), meet at R3, one datagram across: R3 is in use. */
static void through_r3(void)
{
	const struct nrelay *pa[] = {&R1, &R3}, *pb[] = {&R2, &R3};

	build(&A, pa, 2);
	build(&Bc, pb, 2);
	meet(&A, &Bc);
	cross(&A, &Bc, 3, 100);
}

/* Both clients hear DESTROY from their entries within ms of t0; no hop is left. */
static void both_destroyed(uint64_t t0, uint64_t ms, const char *what)
{
	PUMP_UNTIL(A.events[CIRC_EV_DESTROYED] && Bc.events[CIRC_EV_DESTROYED], ms);
	if (!A.events[CIRC_EV_DESTROYED] || !Bc.events[CIRC_EV_DESTROYED]) {
		show_relays();
		fail_msg("%llu ms after R3 %s: A %s, B %s",
		         (unsigned long long)(ev_clock_ms() - t0), what,
		         A.events[CIRC_EV_DESTROYED] ? "destroyed" : "still up",
		         Bc.events[CIRC_EV_DESTROYED] ? "destroyed" : "still up");
	}
	print_message("circuits torn down %llu ms after R3 %s\n",
	              (unsigned long long)(ev_clock_ms() - t0), what);
	hops_gone();
	assert_int_equal(A.odd_size + Bc.odd_size, 0);
}

/*
 * Per source: with MaxCircuitHopsPerSource = 2 on R4, two client links of one source (all
 * clients here are 127.0.0.1) hold two circuits; a third CREATE is answered with DESTROY and
 * counted ("source"); once one ends, a new one is built.
 */
static void test_per_source_limit(void **state)
{
	const struct nrelay *const path[] = {&R4};
	static struct circ third;
	struct circ_hop hop;
	uint8_t body[B];
	struct cell out = {.body = body};

	(void)state;
	nrelay_start_extra(&R4, free_port(), 3, 10, "Network = off\n",
	                   CIRCUITS_ON "MaxCircuitHopsPerSource = 2\n");
	cc_open(&A2, &R4);
	cc_open(&B2, &R4);
	build(&A2, path, 1);
	build(&B2, path, 1);
	memcpy(hop.identity, R4.id, 32);
	memcpy(hop.noise_pub, R4.pub, 32);
	assert_int_equal(circ_start(&third, &hop, 1, CIRCHS_CLASS_1500, ev_clock_ms(), &out), 0);
	cc_send(&A2, &out);
	assert_int_equal(wait_for(&R4, drops, "source", 1), 1);
	assert_int_equal(nrelay_metric(&R4, "wgrelayd_circuit_hops"), 2);
	circ_destroy(&B2.c, &out);
	cc_send(&B2, &out);
	assert_int_equal(wait_for(&R4, nrelay_metric, "wgrelayd_circuit_hops", 1), 1);
	assert_int_equal(circ_start(&third, &hop, 1, CIRCHS_CLASS_1500, ev_clock_ms(), &out), 0);
	cc_send(&A2, &out);
	assert_int_equal(built_on_a2(&third, 1, 1), 1);
	assert_int_equal(drops(&R4, "source"), 1);
	circ_destroy(&third, &out);
	cc_send(&A2, &out);
	circ_destroy(&A2.c, &out);
	cc_send(&A2, &out);
	assert_int_equal(wait_for(&R4, nrelay_metric, "wgrelayd_circuit_hops", 0), 0);
	cc_close(&A2);
	cc_close(&B2);
	assert_int_equal(nrelay_stop(&R4), 0);
	memset(&R4, 0, sizeof(R4));
}

/*
 * An EXTEND to a relay with no link up: the hop dials it (its descriptor came by gossip) and
 * goes on once the link is up. R4 links to R1 only (MaxLinks 1) and knows R2 from R1's store;
 * A2 on R4 builds R4 -> R2. The link made for it is kept while the circuit lives, outside
 * MaxLinks.
 */
static void test_extend_dials(void **state)
{
	const struct nrelay *const path[] = {&R4, &R2};
	char net[512], k1[KEY_B64_STRLEN];

	(void)state;
	key_to_base64(k1, R1.pub);
	snprintf(
	    net, sizeof(net),
	    "Network = on\nMinLinks = 1\nMaxLinks = 1\nHeartbeatInterval = 1\nLinkTimeout = 6\n"
	    "Peer = %s %s\n",
	    R1.addr, k1);
	nrelay_start_extra(&R4, free_port(), 3, 10, net, CIRCUITS_ON);
	assert_int_equal(
	    nrelay_wait_metric(&R4, "wgrelayd_network_links", 1, MESH_MS / NRELAY_POLL_MS), 1);
	/* R1, R2 and R3 reached R4's store through R1 (its own is there too). */
	assert_int_equal(nrelay_wait_metric(&R4, "wgrelayd_network_store_descriptors", 4,
	                                    MESH_MS / NRELAY_POLL_MS),
	                 4);
	assert_int_equal(nrelay_metric(&R4, "wgrelayd_circuit_dials_total"), 0);
	cc_open(&A2, &R4);
	build(&A2, path, 2);
	assert_int_equal(nrelay_metric(&R4, "wgrelayd_circuit_dials_total"), 1);
	assert_int_equal(nrelay_metric(&R4, "wgrelayd_circuit_links_kept"), 1);
	assert_int_equal(nrelay_metric(&R4, "wgrelayd_network_links"), 2);
	/* Past a few heartbeats the link made for the circuit is still there: not surplus. */
	pump(3000);
	assert_int_equal(nrelay_metric(&R4, "wgrelayd_network_links"), 2);
	assert_int_equal(A2.c.state, CIRC_ESTABLISHED);
	{
		uint8_t body[B];
		struct cell out = {.body = body};

		circ_destroy(&A2.c, &out);
		cc_send(&A2, &out);
	}
	hops_gone();
	cc_close(&A2);
	assert_int_equal(nrelay_stop(&R4), 0);
	memset(&R4, 0, sizeof(R4));
	/* R4 said so on its way out: the mesh is back to its two links a relay. */
	assert_int_equal(wait_for(&R1, nrelay_metric, "wgrelayd_network_links", 2), 2);
	assert_int_equal(wait_for(&R2, nrelay_metric, "wgrelayd_network_links", 2), 2);
}

/*
 * R3 stops (SIGTERM) with A's and B's circuits through it: it closes its relay links on the
 * way out, and R1 and R2 tear the circuits down at once. R3 is started again afterwards.
 */
static void test_relay_stops(void **state)
{
	uint64_t t0;

	(void)state;
	through_r3();
	t0 = ev_clock_ms();
	assert_int_equal(nrelay_halt(&R3), 0);
	both_destroyed(t0, STEP_MS, "stopped");
	/* The same key and identity again: it links up to both others. */
	nrelay_exec(&R3);
	assert_true(nrelay_pinged(&R3));
	test_mesh_up(state);
}

/*
 * R3 crashes (SIGKILL) with circuits through it: nothing tells R1 and R2, whose links to it
 * time out (LinkTimeout), and that takes the circuits down too.
 */
static void test_relay_crashes(void **state)
{
	uint64_t t0;

	(void)state;
	through_r3();
	assert_int_equal(kill(R3.pid, SIGKILL), 0);
	assert_int_equal(waitpid(R3.pid, NULL, 0), R3.pid);
	R3.pid = 0;
	t0 = ev_clock_ms();
	both_destroyed(t0, KILL_MS, "crashed");
}

/* A 2-hop path: R1, then R3. */
static void path_r1_r3(struct circ_hop hops[2])
{
	memcpy(hops[0].identity, R1.id, 32);
	memcpy(hops[0].noise_pub, R1.pub, 32);
	memcpy(hops[1].identity, R3.id, 32);
	memcpy(hops[1].noise_pub, R3.pub, 32);
}

/*
 * R3 is gone: R1 has no link to it and dials it for the EXTEND; nothing answers, so the
 * circuit is torn down when the extend timeout passes.
 */
static void test_extend_no_link(void **state)
{
	struct circ_hop hops[2];
	uint8_t body[B];
	struct cell out = {.body = body};
	long long connect1 = drops(&R1, "connect");
	long long dials1 = nrelay_metric(&R1, "wgrelayd_circuit_dials_total");

	(void)state;
	assert_int_equal(R3.pid, 0);
	path_r1_r3(hops);
	reset_events(&A);
	assert_int_equal(circ_start(&A.c, hops, 2, CIRCHS_CLASS_1500, ev_clock_ms(), &out), 0);
	cc_send(&A, &out);
	/* R1 still has R3's descriptor: it dials, nobody answers, the EXTEND times out (10 s). */
	PUMP_UNTIL(A.events[CIRC_EV_DESTROYED], 10000 + STEP_MS);
	assert_int_equal(A.events[CIRC_EV_DESTROYED], 1);
	assert_int_equal(A.c.built, 1); /* R1 answered CREATE, then could not extend */
	assert_int_equal(drops(&R1, "connect"), connect1 + 1);
	assert_int_equal(nrelay_metric(&R1, "wgrelayd_circuit_dials_total"), dials1 + 1);
	hops_gone();
}

/*
 * Circuits cs[i] on client links xs[i / per] read for ms: each step's cell sent on, DESTROYs
 * counted into *destroyed.
 */
static void pump_links(struct cc *xs, int nx, struct circ *cs, int per, int *destroyed, uint64_t ms)
{
	uint8_t body[B], buf[PROTO_MAX_FRAME];
	struct cell in, out = {.body = body};
	uint64_t until = ev_clock_ms() + ms;

	while (ev_clock_ms() < until)
		for (int x = 0; x < nx; x++) {
			int k = tclient_recvfrom(xs[x].t.fd, buf, sizeof(buf), NULL, 5);
			const uint8_t *data;
			size_t len;
			bool has_out = false;

			if (k != FRAME_LEN || buf[1] != CELL_FRAME_TYPE ||
			    cell_open(buf, (size_t)k, xs[x].recv_key, &xs[x].rp, &in) != 0)
				continue;
			for (int i = x * per; i < (x + 1) * per; i++) {
				if (cs[i].circ_id != in.circ_id)
					continue;
				if (circ_input(&cs[i], &in, ev_clock_ms(), &out, &has_out, &data,
				               &len) == CIRC_EV_DESTROYED)
					(*destroyed)++;
				if (has_out)
					cc_send(&xs[x], &out);
			}
		}
}

/*
 * EXTENDs that wait for a dial are bounded per source: R3 is still gone, and one source (three
 * client links of 127.0.0.1, LINK_HOPS circuits each) asks R1 to extend 9 circuits to it. 8
 * wait for the dial and time out after 10 s; the 9th is refused at once ("source").
 */
static void test_extend_waits_per_source(void **state)
{
	static struct cc xs[3];
	static struct circ cs[3 * LINK_HOPS];
	struct circ_hop hops[2];
	uint8_t body[B];
	struct cell out = {.body = body};
	long long source1 = drops(&R1, "source"), connect1 = drops(&R1, "connect");
	int destroyed = 0;

	(void)state;
	assert_int_equal(R3.pid, 0);
	path_r1_r3(hops);
	for (int x = 0; x < 3; x++)
		cc_open(&xs[x], &R1);
	for (int i = 0; i < 3 * LINK_HOPS; i++) {
		assert_int_equal(
		    circ_start(&cs[i], hops, 2, CIRCHS_CLASS_1500, ev_clock_ms(), &out), 0);
		cc_send(&xs[i / LINK_HOPS], &out);
	}
	pump_links(xs, 3, cs, LINK_HOPS, &destroyed, 3000);
	if (destroyed != 1)
		show_relays();
	assert_int_equal(destroyed, 1);
	assert_int_equal(drops(&R1, "source"), source1 + 1);
	pump_links(xs, 3, cs, LINK_HOPS, &destroyed, 10000);
	assert_int_equal(destroyed, 3 * LINK_HOPS);
	assert_int_equal(drops(&R1, "connect"), connect1 + 8);
	for (int x = 0; x < 3; x++)
		cc_close(&xs[x]);
	hops_gone();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_off_by_default),
	    cmocka_unit_test(test_admission),
	    cmocka_unit_test(test_mesh_up),
	    cmocka_unit_test(test_rendezvous_data),
	    cmocka_unit_test(test_tampered_cell),
	    cmocka_unit_test(test_replays),
	    cmocka_unit_test(test_three_hops),
	    cmocka_unit_test(test_destroy),
	    cmocka_unit_test(test_per_link_limit),
	    cmocka_unit_test(test_per_source_limit),
	    cmocka_unit_test(test_extend_dials),
	    cmocka_unit_test(test_relay_stops),
	    /* Last: R3 is left dead. */
	    cmocka_unit_test(test_relay_crashes),
	    cmocka_unit_test(test_extend_no_link),
	    cmocka_unit_test(test_extend_waits_per_source),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
