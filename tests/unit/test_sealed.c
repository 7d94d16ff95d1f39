/*
 * test_sealed.c: the helper's sealed mode (relay-client/link.c DATA frames, sealed.c local
 * ports) against a fake relay on loopback that speaks the real handshake and frames
 * (common/), and a fake WireGuard socket. sendmmsg is wrapped (-Wl,--wrap): the real one,
 * counted, unless a test arms a fault after a number of messages.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cell.h"
#include "circbuild.h"
#include "circsw.h"
#include "frame.h"
#include "handshake.h"
#include "link.h"
#include "proto.h"
#include "seal.h"
#include "sealed.h"

/* The fake relay: one socket, one link's keys. */
struct frelay {
	int fd;
	struct addr addr, client;
	uint8_t priv[32], pub[32];
	struct hs_relay hs;
	struct link_keys keys;
	uint64_t data_counter;
};

int __real_sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags);
int __wrap_sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags);

static unsigned mmsg_calls;  /* sendmmsg calls made */
static unsigned mmsg_last_n; /* messages the last call was given */
static int fault_after = -1; /* messages that still go before a call fails once; -1 none */
static int fault_errno;

int __wrap_sendmmsg(int fd, struct mmsghdr *v, unsigned n, int flags)
{
	mmsg_calls++;
	mmsg_last_n = n;
	if (fault_after == 0) {
		fault_after = -1;
		errno = fault_errno;
		return -1;
	}
	if (fault_after > 0 && n > (unsigned)fault_after)
		n = (unsigned)fault_after; /* a short count, as the kernel gives before an error */
	int r = __real_sendmmsg(fd, v, n, flags);
	if (fault_after > 0 && r > 0)
		fault_after -= r;
	return r;
}

static const uint8_t sid[16] = {0x5e, 0xa1, 0xed, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13};
static int64_t now_ms = 1000000;

static int udp_on_loopback(struct addr *a)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);

	assert_true(fd >= 0);
	assert_int_equal(addr_parse(a, "127.0.0.1:1", 0), 0);
	addr_set_port(a, 0);
	assert_int_equal(bind(fd, &a->sa, a->len), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&ss, &len), 0);
	addr_from_sockaddr(a, (struct sockaddr *)&ss, len);
	return fd;
}

/* One datagram within 1 s: its length, or -ETIMEDOUT. */
static int recv_wait(int fd, uint8_t *buf, size_t cap, struct addr *from)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	if (poll(&pfd, 1, 1000) != 1)
		return -ETIMEDOUT;
	ssize_t n = recvfrom(fd, buf, cap, 0, (struct sockaddr *)&ss, &len);
	if (n >= 0 && from)
		addr_from_sockaddr(from, (struct sockaddr *)&ss, len);
	return n < 0 ? -errno : (int)n;
}

/* Nothing arrives within 200 ms. */
static bool quiet(int fd)
{
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	return poll(&pfd, 1, 200) == 0;
}

static void link_wait(struct link *l)
{
	struct pollfd pfd = {.fd = l->fd, .events = POLLIN};
	poll(&pfd, 1, 1000);
	link_readable(l, now_ms);
}

/* The next control message from the client (PINGs skipped). */
static void relay_recv_ctrl(struct frelay *r, struct ctrl_msg *m)
{
	uint8_t buf[2048], pt[PROTO_MAX_CTRL_PLAIN];
	for (int i = 0; i < 10; i++) {
		int n = recv_wait(r->fd, buf, sizeof(buf), NULL);
		assert_true(n > 0);
		if (frame_check(buf, (size_t)n) != PROTO_CTRL)
			continue;
		n = frame_open_ctrl(buf, (size_t)n, r->keys.ctrl_recv, &r->keys.ctrl_replay, pt,
		                    sizeof(pt));
		assert_true(n > 0);
		assert_int_equal(ctrl_decode(pt, (size_t)n, m), 0);
		return;
	}
	fail_msg("no control message");
}

static void relay_send_ctrl(struct frelay *r, const struct ctrl_msg *m)
{
	uint8_t pt[PROTO_MAX_CTRL_PLAIN], fr[PROTO_MAX_CTRL_PLAIN + PROTO_SEALED_OVERHEAD];
	int n = ctrl_encode(m, pt, sizeof(pt));
	assert_true(n > 0);
	n = frame_seal_ctrl(fr, sizeof(fr), r->keys.remote_index, r->keys.ctrl_send_counter++,
	                    r->keys.ctrl_send, pt, (size_t)n);
	assert_true(n > 0);
	assert_int_equal(sendto(r->fd, fr, (size_t)n, 0, &r->client.sa, r->client.len), n);
}

static void relay_bound(struct frelay *r, uint32_t handle, uint8_t state, uint8_t mode)
{
	struct ctrl_msg m = {.type = CTRL_BOUND, .handle = handle, .state = state, .mode = mode};
	memcpy(m.sid, sid, 16);
	relay_send_ctrl(r, &m);
}

/* A sealed DATA frame for the client (handle, the relay's next counter) of len bytes. */
static size_t relay_data(struct frelay *r, uint8_t *frame, uint32_t handle, const char *text)
{
	size_t len = strlen(text);
	memcpy(frame + PROTO_SEALED_HDR_LEN, text, len);
	return seal_data(frame, len, handle, r->data_counter++, sid, r->keys.data_send);
}

static void relay_send(struct frelay *r, const uint8_t *p, size_t len)
{
	assert_int_equal(sendto(r->fd, p, len, 0, &r->client.sa, r->client.len), (ssize_t)len);
}

/* A link to a fresh fake relay, through the real handshake. */
static struct link *link_up(struct frelay *r)
{
	uint8_t buf[2048], cookie[PROTO_COOKIE_LEN], resp[PROTO_HS_RESP_LEN], client_priv[32];
	struct hs_pending pend;
	struct link *l;
	int n;

	memset(r, 0, sizeof(*r));
	r->fd = udp_on_loopback(&r->addr);
	crypto_box_keypair(r->pub, r->priv);
	hs_relay_init(&r->hs, r->priv);
	randombytes_buf(client_priv, sizeof(client_priv));
	assert_int_equal(link_new(&l, r->pub, &r->addr, client_priv, 0), 0);
	link_tick(l, now_ms);
	for (;;) {
		n = recv_wait(r->fd, buf, sizeof(buf), &r->client);
		assert_true(n > 0);
		if (frame_check(buf, (size_t)n) == PROTO_HS_INIT)
			break;
	}
	assert_int_equal(hs_relay_open_init(&r->hs, buf, (size_t)n, &r->client, false,
	                                    (uint64_t)now_ms, &pend, cookie),
	                 HS_ACCEPT);
	hs_relay_finish(&pend, 0x77, &r->client, resp, &r->keys);
	relay_send(r, resp, sizeof(resp));
	link_wait(l);
	assert_int_equal(l->state, LINK_UP);
	/* With nothing to bind, the new link proves itself to the relay at once (§4.4). */
	{
		struct ctrl_msg m;

		relay_recv_ctrl(r, &m);
		assert_int_equal(m.type, CTRL_KEEPALIVE);
	}
	return l;
}

static void link_down(struct link *l, struct frelay *r)
{
	link_free(l);
	close(r->fd);
}

/* What on_data saw. */
static int got_n;
static char got[2048];
static size_t got_len;

static void on_data(struct link *l, struct link_bind *b, const uint8_t *dgram, size_t len,
                    int64_t t)
{
	(void)l;
	(void)t;
	assert_ptr_equal(b->user, &got_n);
	memcpy(got, dgram, len);
	got_len = len;
	got_n++;
}

/* A sealed binding, paired on the fake relay under handle. */
static struct link_bind *bind_paired(struct link *l, struct frelay *r, uint32_t handle)
{
	struct ctrl_msg m;
	struct link_bind *b = link_bind(l, sid, PROTO_MODE_SEALED, now_ms);

	assert_non_null(b);
	assert_int_equal(b->mode, PROTO_MODE_SEALED);
	assert_non_null(b->sealed);
	link_tick(l, now_ms);
	relay_recv_ctrl(r, &m);
	assert_int_equal(m.type, CTRL_BIND);
	assert_int_equal(m.mode, PROTO_MODE_SEALED);
	assert_memory_equal(m.sid, sid, 16);
	relay_bound(r, handle, PROTO_PAIRED, PROTO_MODE_SEALED);
	link_wait(l);
	assert_int_equal(b->handle, handle);
	assert_int_equal(b->state, PROTO_PAIRED);
	return b;
}

static void test_data_in(void **state)
{
	struct frelay r;
	struct link *l = link_up(&r);
	uint8_t frame[2048], copy[2048];
	size_t n;

	(void)state;
	l->on_data = on_data;
	/* Before BOUND the handle means nothing: dropped. */
	struct link_bind *b = link_bind(l, sid, PROTO_MODE_SEALED, now_ms);
	b->user = &got_n;
	n = relay_data(&r, frame, 0xabc, "early");
	relay_send(&r, frame, n);
	link_wait(l);
	assert_int_equal(got_n, 0);
	assert_int_equal(l->data_dropped, 1);
	b = bind_paired(l, &r, 0xabc);
	b->user = &got_n;

	n = relay_data(&r, frame, 0xabc, "wireguard datagram");
	memcpy(copy, frame, n);
	relay_send(&r, frame, n);
	link_wait(l);
	assert_int_equal(got_n, 1);
	assert_int_equal(got_len, strlen("wireguard datagram"));
	assert_memory_equal(got, "wireguard datagram", got_len);
	assert_int_equal(b->rx_frames, 1);

	/* Replayed, tampered, for another handle, too short, no user: counted drops. */
	uint64_t dropped = l->dropped;
	relay_send(&r, copy, n);
	n = relay_data(&r, frame, 0xabc, "tampered");
	frame[PROTO_SEALED_HDR_LEN] ^= 1;
	relay_send(&r, frame, n);
	n = relay_data(&r, frame, 0xabd, "other handle");
	relay_send(&r, frame, n);
	uint8_t shortf[PROTO_SEALED_OVERHEAD] = {PROTO_MAGIC, PROTO_DATA};
	relay_send(&r, shortf, sizeof(shortf));
	link_wait(l);
	usleep(50000);
	link_readable(l, now_ms);
	assert_int_equal(got_n, 1);
	assert_int_equal(l->data_dropped, 4);      /* "early" and three DATA frames */
	assert_int_equal(l->dropped, dropped + 4); /* and the short one (frame_check) */
	b->user = NULL;
	n = relay_data(&r, frame, 0xabc, "nobody");
	relay_send(&r, frame, n);
	link_wait(l);
	assert_int_equal(got_n, 1);
	assert_int_equal(l->data_dropped, 5);

	/* A new membership (another handle) counts from 0 again: the window starts over. */
	b->user = &got_n;
	relay_bound(&r, 0xdef, PROTO_PAIRED, PROTO_MODE_SEALED);
	link_wait(l);
	assert_int_equal(b->handle, 0xdef);
	r.data_counter = 0;
	n = relay_data(&r, frame, 0xdef, "again");
	relay_send(&r, frame, n);
	link_wait(l);
	assert_int_equal(got_n, 2);
	assert_memory_equal(got, "again", 5);
	link_down(l, &r);
	got_n = 0;
}

static void test_data_out(void **state)
{
	struct frelay r;
	struct link *l = link_up(&r);
	uint8_t frame[2048], buf[2048];
	struct replay rp;
	uint64_t floor = link_counter_start(), first;
	int n;

	(void)state;
	struct link_bind *b = bind_paired(l, &r, 0x1111);
	first = b->tx_counter;
	assert_true(first >= floor - 1000000000ull); /* started at the wall clock (ns) */
	replay_init(&rp);
	for (int i = 0; i < 3; i++) {
		memcpy(frame + PROTO_SEALED_HDR_LEN, "to the relay", 12);
		assert_int_equal(link_send_data(l, b, frame, 12, now_ms), 0);
		n = recv_wait(r.fd, buf, sizeof(buf), NULL);
		while (n > 0 && frame_check(buf, (size_t)n) != PROTO_DATA)
			n = recv_wait(r.fd, buf, sizeof(buf), NULL);
		assert_int_equal(n, 12 + PROTO_SEALED_OVERHEAD);
		uint32_t h;
		uint64_t c;
		frame_sealed_fields(buf, &h, &c);
		assert_int_equal(h, 0x1111);
		assert_true(c == first + (uint64_t)i);
		assert_int_equal(seal_open_data(buf, (size_t)n, sid, r.keys.data_recv, &rp), 12);
		assert_memory_equal(buf + PROTO_SEALED_HDR_LEN, "to the relay", 12);
	}
	assert_int_equal(b->tx_frames, 3);
	/* Nothing goes to a waiting session, or one the relay refused. */
	b->state = PROTO_WAITING;
	assert_int_equal(link_send_data(l, b, frame, 12, now_ms), -ENOTCONN);
	b->state = PROTO_PAIRED;
	assert_int_equal(link_send_data(l, b, frame, 0, now_ms), -EMSGSIZE);
	b->error = PROTO_ERR_BAD_REQUEST;
	assert_int_equal(link_send_data(l, b, frame, 12, now_ms), -ENOTCONN);
	assert_true(quiet(r.fd));
	/* A sid bound again after UNBIND never reuses a counter under the same keys. */
	link_unbind(l, sid, now_ms);
	b = link_bind(l, sid, PROTO_MODE_SEALED, now_ms);
	assert_true(b->tx_counter > first + 2);
	link_down(l, &r);
}

static void test_mode_change_and_refusal(void **state)
{
	struct frelay r;
	struct link *l = link_up(&r);
	struct ctrl_msg m;

	(void)state;
	struct link_bind *b = bind_paired(l, &r, 0x2222);
	/* Another mode: UNBIND the old membership at once, BIND again on the next tick. */
	b = link_bind(l, sid, PROTO_MODE_DIRECT, now_ms);
	assert_non_null(b);
	assert_int_equal(b->mode, PROTO_MODE_DIRECT);
	assert_null(b->sealed);
	assert_int_equal(b->handle, 0);
	relay_recv_ctrl(&r, &m);
	assert_int_equal(m.type, CTRL_UNBIND);
	assert_int_equal(m.handle, 0x2222);
	link_tick(l, now_ms);
	relay_recv_ctrl(&r, &m);
	assert_int_equal(m.type, CTRL_BIND);
	assert_int_equal(m.mode, PROTO_MODE_DIRECT);
	/* The far side holds the sid in the other mode: ERROR mode-mismatch about our sid. */
	struct ctrl_msg e = {.type = CTRL_ERROR, .code = PROTO_ERR_MODE_MISMATCH};
	memcpy(e.sid, sid, 16);
	snprintf(e.text, sizeof(e.text), "mode-mismatch");
	relay_send_ctrl(&r, &e);
	link_wait(l);
	assert_int_equal(b->error, PROTO_ERR_MODE_MISMATCH);
	assert_int_equal(b->state, 0);
	/* Not sent again on the next ticks (only after new link keys). */
	link_tick(l, now_ms + 1000);
	assert_true(quiet(r.fd));
	/* BOUND in a mode we did not ask for is not taken. */
	relay_bound(&r, 0x3333, PROTO_PAIRED, PROTO_MODE_SEALED);
	link_wait(l);
	assert_int_not_equal(b->state, PROTO_PAIRED);
	assert_int_equal(b->error, PROTO_ERR_MODE_MISMATCH);
	link_down(l, &r);
}

/* fd (a fake WireGuard, or anyone else on the host) sends msg to the port, which reads it. */
static void port_feed(struct sealed_port *sp, int fd, const char *msg)
{
	uint8_t scratch[PROTO_MAX_FRAME];
	size_t len = strlen(msg);

	assert_int_equal(sendto(fd, msg, len, 0, &sp->local.sa, sp->local.len), (ssize_t)len);
	usleep(20000);
	sealed_port_readable(sp, scratch, sizeof(scratch), now_ms);
}

/* The next DATA frame the fake relay received (other frames skipped): its length. */
static int relay_next_data(struct frelay *r, uint8_t *buf, size_t cap)
{
	int n;

	do
		n = recv_wait(r->fd, buf, cap, NULL);
	while (n > 0 && frame_check(buf, (size_t)n) != PROTO_DATA);
	return n;
}

/* A fake WireGuard: a socket on loopback that the port must accept datagrams from. */
static void test_port_both_ways(void **state)
{
	struct frelay r;
	struct link *l = link_up(&r);
	struct sealed_port *sp;
	struct addr wg, other, from;
	uint8_t buf[2048], frame[2048];
	struct replay rp;
	int wfd = udp_on_loopback(&wg), ofd = udp_on_loopback(&other), n;

	(void)state;
	struct link_bind *b = bind_paired(l, &r, 0x4444);
	assert_int_equal(sealed_port_new(&sp), 0);
	assert_int_equal(addr_family(&sp->local), AF_INET);
	assert_true(addr_port(&sp->local) != 0);
	l->on_data = sealed_deliver;
	l->on_data_end = sealed_flush;
	b->user = sp;
	sealed_port_set_wg(sp, addr_port(&wg));
	sealed_port_route(sp, l, b);
	replay_init(&rp);

	/* WireGuard -> port -> sealed on the link. */
	port_feed(sp, wfd, "handshake initiation");
	assert_int_equal(sp->from_wg, 1);
	n = relay_next_data(&r, buf, sizeof(buf));
	assert_int_equal(seal_open_data(buf, (size_t)n, sid, r.keys.data_recv, &rp), 20);
	assert_memory_equal(buf + PROTO_SEALED_HDR_LEN, "handshake initiation", 20);

	/* Anyone else on the host: dropped and counted, nothing sent. */
	port_feed(sp, ofd, "spoof");
	assert_int_equal(sp->drop_source, 1);
	assert_int_equal(sp->from_wg, 1);

	/* Relay -> link -> port -> WireGuard, from the port's address (WireGuard roams there). */
	n = (int)relay_data(&r, frame, 0x4444, "handshake response");
	relay_send(&r, frame, (size_t)n);
	link_wait(l);
	assert_int_equal(sp->to_wg, 1);
	n = recv_wait(wfd, buf, sizeof(buf), &from);
	assert_int_equal(n, 18);
	assert_memory_equal(buf, "handshake response", 18);
	assert_true(addr_equal(&from, &sp->local));

	/* No route chosen: WireGuard's answer goes back the way the last frame came. */
	sealed_port_route(sp, NULL, NULL);
	port_feed(sp, wfd, "answer");
	assert_int_equal(sp->from_wg, 2);
	n = relay_next_data(&r, buf, sizeof(buf));
	assert_int_equal(seal_open_data(buf, (size_t)n, sid, r.keys.data_recv, &rp), 6);

	/* A waiting session carries nothing: counted. */
	b->state = PROTO_WAITING;
	port_feed(sp, wfd, "lost");
	assert_int_equal(sp->drop_route, 1);
	b->state = PROTO_PAIRED;

	/* WireGuard's port unknown: nothing is accepted or delivered. */
	sealed_port_set_wg(sp, 0);
	port_feed(sp, wfd, "x");
	assert_int_equal(sp->drop_source, 2);
	n = (int)relay_data(&r, frame, 0x4444, "undeliverable");
	relay_send(&r, frame, (size_t)n);
	link_wait(l);
	assert_int_equal(sp->to_wg, 1);
	assert_true(quiet(wfd));

	b->user = NULL;
	sealed_port_free(sp);
	sealed_port_free(NULL);
	close(wfd);
	close(ofd);
	link_down(l, &r);
}

/* A port with a paired binding on a fresh fake relay, and a fake WireGuard (wfd) it accepts. */
struct batch_rig {
	struct frelay r;
	struct link *l;
	struct link_bind *b;
	struct sealed_port *sp;
	struct addr wg;
	int wfd;
	struct replay rp; /* the relay's window for what the helper sends */
	uint8_t *scratch; /* SEALED_SCRATCH */
};

static void rig_up(struct batch_rig *g)
{
	fault_after = -1; /* no fault left armed by a test that failed */
	g->l = link_up(&g->r);
	g->b = bind_paired(g->l, &g->r, 0x5555);
	assert_int_equal(sealed_port_new(&g->sp), 0);
	g->wfd = udp_on_loopback(&g->wg);
	g->l->on_data = sealed_deliver;
	g->l->on_data_end = sealed_flush;
	g->b->user = g->sp;
	sealed_port_set_wg(g->sp, addr_port(&g->wg));
	sealed_port_route(g->sp, g->l, g->b);
	replay_init(&g->rp);
	g->scratch = malloc(SEALED_SCRATCH);
	assert_non_null(g->scratch);
}

static void rig_down(struct batch_rig *g)
{
	g->b->user = NULL;
	sealed_port_free(g->sp);
	close(g->wfd);
	free(g->scratch);
	link_down(g->l, &g->r);
}

/*
 * WireGuard's datagram i of a burst: "wg <i>" padded to 100 bytes, or, growing, to 8 + i bytes
 * (no two of one size: each frame is a message of its own, no GSO run).
 */
static size_t wg_msg(char *out, int i, bool grow)
{
	size_t len = grow ? 8 + (size_t)i : 100;
	int n = snprintf(out, len, "wg %d", i);

	memset(out + n, '.', len - (size_t)n);
	return len;
}

/* WireGuard sends n datagrams at once; the port reads them in one wake-up. */
static void rig_wg_burst(struct batch_rig *g, int n, bool grow)
{
	char msg[256];

	for (int i = 0; i < n; i++) {
		size_t len = wg_msg(msg, i, grow);
		assert_int_equal(sendto(g->wfd, msg, len, 0, &g->sp->local.sa, g->sp->local.len),
		                 (ssize_t)len);
	}
	usleep(20000); /* loopback has delivered them all; the call below must take them at once */
	sealed_port_readable(g->sp, g->scratch, SEALED_SCRATCH, now_ms);
}

/* The relay's next DATA frame opens and carries WireGuard's datagram i. */
static void rig_relay_expect(struct batch_rig *g, int i, bool grow)
{
	uint8_t buf[2048];
	char want[256];
	int n = relay_next_data(&g->r, buf, sizeof(buf));
	size_t len = wg_msg(want, i, grow);

	assert_true(n > 0);
	assert_int_equal(seal_open_data(buf, (size_t)n, sid, g->r.keys.data_recv, &g->rp), len);
	assert_memory_equal(buf + PROTO_SEALED_HDR_LEN, want, len);
}

/* The relay sends n frames "relay <i>" at once; the link reads them in one wake-up. */
static void rig_relay_burst(struct batch_rig *g, int n)
{
	uint8_t frame[2048];
	char msg[32];

	for (int i = 0; i < n; i++) {
		snprintf(msg, sizeof(msg), "relay %d", i);
		relay_send(&g->r, frame, relay_data(&g->r, frame, 0x5555, msg));
	}
	usleep(20000);
	link_readable(g->l, now_ms);
}

/* WireGuard's next datagram is "relay <i>", from the port. */
static void rig_wg_expect(struct batch_rig *g, int i)
{
	uint8_t buf[2048];
	char want[32];
	struct addr from;
	int n = recv_wait(g->wfd, buf, sizeof(buf), &from);
	int len = snprintf(want, sizeof(want), "relay %d", i);

	assert_int_equal(n, len);
	assert_memory_equal(buf, want, (size_t)len);
	assert_true(addr_equal(&from, &g->sp->local));
}

/*
 * A burst both ways is read with one call and sent with one sendmmsg, each in order; towards
 * the relay, frames of one size go as one GSO message.
 */
static void test_batch_in_order(void **state)
{
	struct batch_rig g;
	enum { N = 48 };

	(void)state;
	rig_up(&g);
	unsigned calls = mmsg_calls;
	rig_wg_burst(&g, N, false);
	assert_int_equal(g.sp->from_wg, N);
	assert_int_equal(g.b->tx_frames, N);
	assert_int_equal(mmsg_calls - calls, 1);
	assert_int_equal(mmsg_last_n, 1); /* one run: 48 frames of 132 bytes */
	for (int i = 0; i < N; i++)
		rig_relay_expect(&g, i, false);
	/* More than a batch: the rest waits for the next wake-up, nothing lost. */
	rig_wg_burst(&g, SEALED_BATCH + 3, true);
	assert_int_equal(g.sp->from_wg, N + SEALED_BATCH);
	assert_int_equal(mmsg_last_n, SEALED_BATCH); /* growing: a message each */
	sealed_port_readable(g.sp, g.scratch, SEALED_SCRATCH, now_ms);
	assert_int_equal(g.sp->from_wg, N + SEALED_BATCH + 3);
	for (int i = 0; i < SEALED_BATCH + 3; i++)
		rig_relay_expect(&g, i, true);

	calls = mmsg_calls;
	rig_relay_burst(&g, N);
	assert_int_equal(g.sp->to_wg, N);
	assert_int_equal(mmsg_calls - calls, 1);
	for (int i = 0; i < N; i++)
		rig_wg_expect(&g, i);
	assert_int_equal(g.sp->drop_send + g.sp->drop_route + g.sp->drop_size, 0);
	rig_down(&g);
}

/*
 * A datagram the socket refuses mid-batch is counted and the rest still go; a full buffer
 * (EAGAIN) fails the rest of the batch, counted each.
 */
static void test_batch_failures_counted(void **state)
{
	struct batch_rig g;

	(void)state;
	rig_up(&g);
	/* Towards the relay: the fifth of ten refused. */
	fault_after = 4;
	fault_errno = ECONNREFUSED;
	rig_wg_burst(&g, 10, true);
	assert_int_equal(fault_after, -1); /* the fault fired */
	assert_int_equal(g.sp->from_wg, 9);
	assert_int_equal(g.sp->drop_send, 1);
	assert_int_equal(g.b->tx_frames, 9);
	for (int i = 0; i < 10; i++)
		if (i != 4)
			rig_relay_expect(&g, i, true);
	/* ...a full buffer after four: six counted. */
	fault_after = 4;
	fault_errno = EAGAIN;
	rig_wg_burst(&g, 10, true);
	assert_int_equal(g.sp->from_wg, 13);
	assert_int_equal(g.sp->drop_send, 7);
	assert_int_equal(g.b->tx_frames, 13);
	for (int i = 0; i < 4; i++)
		rig_relay_expect(&g, i, true);
	/* ...a GSO run refused (not for segmenting): each of its frames counted. */
	fault_after = 0;
	fault_errno = ENETUNREACH;
	rig_wg_burst(&g, 10, false);
	assert_int_equal(g.sp->from_wg, 13);
	assert_int_equal(g.sp->drop_send, 17);
	assert_int_equal(g.b->tx_frames, 13);
	assert_true(quiet(g.r.fd));

	/* Towards WireGuard: the same two. */
	fault_after = 2;
	fault_errno = EPERM;
	rig_relay_burst(&g, 8);
	assert_int_equal(g.sp->to_wg, 7);
	assert_int_equal(g.sp->drop_send, 18);
	for (int i = 0; i < 8; i++)
		if (i != 2)
			rig_wg_expect(&g, i);
	fault_after = 0;
	fault_errno = EWOULDBLOCK;
	rig_relay_burst(&g, 8);
	assert_int_equal(g.sp->to_wg, 7);
	assert_int_equal(g.sp->drop_send, 26);
	assert_true(quiet(g.wfd));
	/* Positive control: with no fault the next burst goes. */
	rig_relay_burst(&g, 3);
	assert_int_equal(g.sp->to_wg, 10);
	for (int i = 0; i < 3; i++)
		rig_wg_expect(&g, i);
	rig_down(&g);
}

/*
 * A kernel that cannot segment (EIO: no checksum offload) refuses the GSO message: the run
 * goes again a frame a message, nothing lost, and the link sends no GSO after that.
 */
static void test_gso_fallback(void **state)
{
	struct batch_rig g;

	(void)state;
	rig_up(&g);
	fault_after = 0;
	fault_errno = EIO;
	rig_wg_burst(&g, 12, false);
	assert_int_equal(fault_after, -1);
	assert_int_equal(mmsg_last_n, 12);
	assert_int_equal(g.sp->from_wg, 12);
	assert_int_equal(g.sp->drop_send, 0);
	for (int i = 0; i < 12; i++)
		rig_relay_expect(&g, i, false);
	rig_wg_burst(&g, 5, false);
	assert_int_equal(mmsg_last_n, 5);
	for (int i = 0; i < 5; i++)
		rig_relay_expect(&g, i, false);
	assert_int_equal(g.b->tx_frames, 17);
	rig_down(&g);
}

/*
 * sealed_deliver called past a batch without a flush sends the full queue itself; a port
 * freed with a queue leaves none behind for sealed_flush.
 */
static void test_deliver_queue_bounds(void **state)
{
	static struct link l1;
	struct link_bind b1 = {.in_use = true};
	struct sealed_port *sp, *gone;
	struct addr wg;
	uint8_t d[SEALED_BATCH + 1][8], buf[64];
	int wfd = udp_on_loopback(&wg);

	(void)state;
	assert_int_equal(sealed_port_new(&sp), 0);
	assert_int_equal(sealed_port_new(&gone), 0);
	sealed_port_set_wg(sp, addr_port(&wg));
	sealed_port_set_wg(gone, addr_port(&wg));
	b1.user = gone;
	sealed_deliver(&l1, &b1, (const uint8_t *)"gone", 4, 0);
	sealed_port_free(gone);
	b1.user = sp;
	for (int i = 0; i <= SEALED_BATCH; i++) {
		snprintf((char *)d[i], sizeof(d[i]), "d%d", i);
		sealed_deliver(&l1, &b1, d[i], strlen((char *)d[i]), 0);
	}
	assert_int_equal(sp->to_wg, SEALED_BATCH);
	sealed_flush(&l1, 0);
	assert_int_equal(sp->to_wg, SEALED_BATCH + 1);
	for (int i = 0; i <= SEALED_BATCH; i++) {
		int n = recv_wait(wfd, buf, sizeof(buf), NULL);
		assert_int_equal(n, (int)strlen((char *)d[i]));
		assert_memory_equal(buf, d[i], (size_t)n);
	}
	assert_true(quiet(wfd)); /* nothing of the freed port's */
	sealed_flush(NULL, 0);   /* an empty flush */
	assert_int_equal(sp->drop_send, 0);
	sealed_port_free(sp);
	close(wfd);
}

/* The far side moved: frames through another binding, begun after our own last change. */
static void test_rx_moved(void **state)
{
	static struct link l1, l2, l3;
	struct link_bind b1 = {.in_use = true}, b2 = {.in_use = true}, b3 = {.in_use = true};
	struct sealed_port *sp;
	const uint8_t d[1] = {4};

	(void)state;
	b1.sid[0] = 1, b2.sid[0] = 2, b3.sid[0] = 3;
	assert_int_equal(sealed_port_new(&sp), 0);
	b1.user = b2.user = b3.user = sp;
	sealed_port_route(sp, &l1, &b1);
	for (int i = 0; i < 3; i++)
		sealed_deliver(&l1, &b1, d, 1, 0);
	assert_false(sealed_port_rx_moved(sp, 2));
	sealed_deliver(&l2, &b2, d, 1, 0);
	assert_false(sealed_port_rx_moved(sp, 2)); /* one frame is no move */
	sealed_deliver(&l2, &b2, d, 1, 0);
	assert_true(sealed_port_rx_moved(sp, 2));
	/* We follow: sending and receiving on the same binding again. */
	sealed_port_route(sp, &l2, &b2);
	assert_false(sealed_port_rx_moved(sp, 2));
	/* We move on our own (to l3) while the far side still sends on l2: it follows us. */
	sealed_port_route(sp, &l3, &b3);
	for (int i = 0; i < 5; i++)
		sealed_deliver(&l2, &b2, d, 1, 0);
	assert_false(sealed_port_rx_moved(sp, 2));
	/* ...and when it does, its frames come on l3: settled. */
	sealed_deliver(&l3, &b3, d, 1, 0);
	assert_false(sealed_port_rx_moved(sp, 2));
	/* Frames through l2 again, after our change: the far side moved back. */
	sealed_deliver(&l2, &b2, d, 1, 0);
	sealed_deliver(&l2, &b2, d, 1, 0);
	assert_true(sealed_port_rx_moved(sp, 2));
	/* A freed or reused binding slot is never followed. */
	b2.in_use = false;
	assert_false(sealed_port_rx_moved(sp, 2));
	/* No WireGuard port yet: frames are counted, not sent. */
	assert_int_equal(sp->to_wg, 0);
	assert_int_equal(sp->drop_route, 13);
	sealed_port_free(sp);
}

/*
 * A relay that saw us at a new address challenges it: the link echoes the token. A relay that
 * sends ERROR after ERROR does not get a log line for each (it chose the rate and the text).
 */
static void test_challenge_and_error_flood(void **state)
{
	struct frelay r;
	struct link *l = link_up(&r);
	struct ctrl_msg m = {.type = CTRL_CHALLENGE};
	char path[] = "/tmp/wgr-sealed-log-XXXXXX", text[65536];
	int logfd = mkstemp(path), saved = dup(2), lines = 0;
	ssize_t n;

	(void)state;
	randombytes_buf(m.token, sizeof(m.token));
	relay_send_ctrl(&r, &m);
	link_wait(l);
	{
		struct ctrl_msg resp;

		relay_recv_ctrl(&r, &resp);
		assert_int_equal(resp.type, CTRL_RESPONSE);
		assert_memory_equal(resp.token, m.token, sizeof(m.token));
	}
	/* A second challenge within the second is not answered: no reflection on demand. */
	relay_send_ctrl(&r, &m);
	link_wait(l);
	assert_true(quiet(r.fd));
	assert_true(logfd >= 0 && saved >= 0);
	assert_int_equal(dup2(logfd, 2), 2);
	for (int i = 0; i < 50; i++) {
		struct ctrl_msg e = {.type = CTRL_ERROR, .code = PROTO_ERR_INTERNAL};

		snprintf(e.text, sizeof(e.text), "%0180d", i);
		relay_send_ctrl(&r, &e);
		link_wait(l);
		assert_int_equal(l->last_error, PROTO_ERR_INTERNAL);
	}
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	n = pread(logfd, text, sizeof(text) - 1, 0);
	assert_true(n >= 0);
	text[n] = '\0';
	for (const char *p = text; (p = strstr(p, "error 13")); p++)
		lines++;
	assert_int_equal(lines, 1);
	close(logfd);
	unlink(path);
	link_down(l, &r);
}

/*
 * Cells (PROTOCOL.md §13.1) on the helper's link: the fake relay runs the real circuit switch
 * (common/circsw.c) behind its end of the link; two 1-hop circuits of one client meet there.
 */
static struct circ cc[2];
static int cell_ev[CIRC_EV_DROPPED + 1];
static uint8_t cell_got[CELL_BODY_1500];
static size_t cell_got_len;

static void on_cell(struct link *l, struct cell *c, int64_t t)
{
	uint8_t body[CELL_BODY_1500];
	struct cell out = {.body = body};
	const uint8_t *d;
	bool has_out = false;
	size_t len;
	enum circ_event ev = CIRC_EV_DROPPED;

	for (int i = 0; i < 2; i++)
		if (cc[i].circ_id == c->circ_id)
			ev = circ_input(&cc[i], c, t, &out, &has_out, &d, &len);
	cell_ev[ev]++;
	if (ev == CIRC_EV_DATA) {
		memcpy(cell_got, d, len);
		cell_got_len = len;
	}
	if (has_out)
		assert_int_equal(link_send_cell(l, &out, t), 0);
}

/* The fake relay's end: its cell keys, counter and window, and the switch. */
struct frelay_cells {
	uint8_t rx[32], tx[32];
	uint64_t counter;
	struct replay rp;
	struct circsw *sw;
	uint8_t last[CELL_FRAME_LEN(CELL_BODY_1500)]; /* the last frame it sent */
};

/* Take n CELL frames from the client into the switch; send what the switch answers. */
static void relay_cells(struct frelay *r, struct frelay_cells *fc, int n)
{
	uint8_t buf[2048];
	struct circsw_act a;
	struct cell c;

	while (n > 0) {
		int len = recv_wait(r->fd, buf, sizeof(buf), NULL);

		assert_true(len > 0);
		if (frame_check(buf, (size_t)len) != PROTO_CELL)
			continue; /* PINGs, KEEPALIVEs */
		assert_int_equal(len, CELL_FRAME_LEN(CELL_BODY_1500));
		assert_int_equal(cell_open(buf, (size_t)len, fc->rx, &fc->rp, &c), 0);
		circsw_cell(fc->sw, 1, false, &c, (uint64_t)now_ms);
		n--;
	}
	while (circsw_next(fc->sw, &a)) {
		int len;

		assert_int_equal(a.type, CIRCSW_SEND);
		len = cell_seal(fc->last, sizeof(fc->last), r->keys.remote_index, fc->counter++,
		                fc->tx, &a.cell);
		assert_int_equal(len, (int)sizeof(fc->last));
		relay_send(r, fc->last, sizeof(fc->last));
	}
}

static void test_cells(void **state)
{
	struct circsw_cfg cfg = {.max_circuits = 8,
	                         .max_per_link = 8,
	                         .extend_ms = 10000,
	                         .rendezvous_ms = 10000,
	                         .idle_ms = 60000};
	uint8_t body[CELL_BODY_1500], cookie[CIRCMSG_COOKIE_LEN];
	struct cell out = {.body = body};
	struct frelay_cells fc;
	struct circ_hop hop;
	struct frelay r;
	struct link *l;
	uint64_t dropped;

	(void)state;
	memset(&fc, 0, sizeof(fc));
	memset(cc, 0, sizeof(cc));
	memset(cell_ev, 0, sizeof(cell_ev));
	l = link_up(&r);
	l->on_cell = on_cell;
	memcpy(cfg.noise_priv, r.priv, 32);
	assert_int_equal(circsw_new(&fc.sw, &cfg), 0);
	cell_derive_key(fc.rx, r.keys.data_recv);
	cell_derive_key(fc.tx, r.keys.data_send);
	replay_init(&fc.rp);
	memset(&hop, 0, sizeof(hop));
	memcpy(hop.noise_pub, r.pub, 32);
	/* Two circuits built (CREATE, CREATED), then both ask for one cookie: spliced. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		    circ_start(&cc[i], &hop, 1, CIRCHS_CLASS_1500, (uint64_t)now_ms, &out), 0);
		assert_int_equal(link_send_cell(l, &out, now_ms), 0);
		relay_cells(&r, &fc, 1);
		link_wait(l);
		assert_int_equal(cell_ev[CIRC_EV_BUILT], i + 1);
	}
	randombytes_buf(cookie, sizeof(cookie));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(circ_rendezvous(&cc[i], cookie, (uint64_t)now_ms, &out), 0);
		assert_int_equal(link_send_cell(l, &out, now_ms), 0);
		relay_cells(&r, &fc, 1);
	}
	link_wait(l);
	assert_int_equal(cell_ev[CIRC_EV_SPLICED], 2);
	/* A datagram from one circuit comes out of the other. */
	assert_int_equal(circ_send(&cc[0], (const uint8_t *)"wireguard", 9, &out), 0);
	assert_int_equal(link_send_cell(l, &out, now_ms), 0);
	relay_cells(&r, &fc, 1);
	link_wait(l);
	assert_int_equal(cell_ev[CIRC_EV_DATA], 1);
	assert_int_equal(cell_got_len, 9);
	assert_memory_equal(cell_got, "wireguard", 9);
	assert_int_equal(l->cells_tx, 5);
	assert_int_equal(l->cells_rx, 5); /* CREATED twice, SPLICED twice, DATA */
	/* The relay's last frame again: the link's window drops it, nothing reaches a circuit. */
	dropped = l->cells_dropped;
	relay_send(&r, fc.last, sizeof(fc.last));
	link_wait(l);
	assert_int_equal(l->cells_dropped, dropped + 1);
	assert_int_equal(cell_ev[CIRC_EV_DATA], 1);
	/* A flipped bit: does not open either. */
	fc.last[40] ^= 1;
	relay_send(&r, fc.last, sizeof(fc.last));
	link_wait(l);
	assert_int_equal(l->cells_dropped, dropped + 2);
	circsw_free(fc.sw);
	link_down(l, &r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_data_in),
	    cmocka_unit_test(test_data_out),
	    cmocka_unit_test(test_mode_change_and_refusal),
	    cmocka_unit_test(test_port_both_ways),
	    cmocka_unit_test(test_rx_moved),
	    cmocka_unit_test(test_batch_in_order),
	    cmocka_unit_test(test_batch_failures_counted),
	    cmocka_unit_test(test_gso_fallback),
	    cmocka_unit_test(test_deliver_queue_bounds),
	    cmocka_unit_test(test_challenge_and_error_flood),
	    cmocka_unit_test(test_cells),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
