/*
 * Unit tests: a relay link carried over a stream (relay-client/link.c, carrier.c, PROTOCOL.md
 * §12) against a relay in the test on a real TCP connection on loopback: the handshake and
 * control frames travel as records, a sealed binding's DATA too; a closed stream takes the
 * link down. Then the carrier set in an ev loop: UDP goes unanswered, the link moves to the
 * relay's tcp:// URL and comes up there; status words follow.
 */
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cache.h"
#include "carrier.h"
#include "ev.h"
#include "frame.h"
#include "handshake.h"
#include "key.h"
#include "link.h"
#include "proto.h"
#include "seal.h"
#include "stream.h"
#include "tconn.h"
#include "turl.h"

static const uint8_t sid[16] = {0x5e, 0xa1, 0xed, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0, 1, 2, 3};

/* The relay in the test: one listening socket, one accepted connection, the records it got. */
struct srelay {
	int lfd, fd;
	struct addr addr;
	uint8_t priv[32], pub[32];
	struct hs_relay hs;
	struct link_keys keys;
	bool up;
	struct stream_rx rx;
	uint8_t frames[16][2048];
	size_t lens[16], n;
};

static void srelay_open(struct srelay *r)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);

	memset(r, 0, sizeof(*r));
	r->fd = -1;
	key_generate_private(r->priv);
	key_public_from_private(r->pub, r->priv);
	hs_relay_init(&r->hs, r->priv);
	stream_rx_init(&r->rx);
	r->lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	assert_true(r->lfd >= 0);
	assert_int_equal(addr_parse(&r->addr, "127.0.0.1:1", 0), 0);
	addr_set_port(&r->addr, 0);
	assert_int_equal(bind(r->lfd, &r->addr.sa, r->addr.len), 0);
	assert_int_equal(listen(r->lfd, 4), 0);
	assert_int_equal(getsockname(r->lfd, (struct sockaddr *)&ss, &len), 0);
	addr_from_sockaddr(&r->addr, (struct sockaddr *)&ss, len);
}

static void srelay_close(struct srelay *r)
{
	if (r->fd >= 0)
		close(r->fd);
	close(r->lfd);
}

static void srelay_send(struct srelay *r, const uint8_t *p, size_t len)
{
	uint8_t hdr[STREAM_HDR_LEN];

	assert_int_equal(stream_put_hdr(hdr, len), 0);
	assert_int_equal(send(r->fd, hdr, sizeof(hdr), 0), (ssize_t)sizeof(hdr));
	assert_int_equal(send(r->fd, p, len, 0), (ssize_t)len);
}

/* Each record: kept; an HS_INIT is answered as a relay would (PROTOCOL.md §4). */
static void srelay_record(void *arg, uint8_t *rec, size_t len)
{
	struct srelay *r = arg;
	struct hs_pending p;
	uint8_t cookie[PROTO_COOKIE_LEN], resp[PROTO_HS_RESP_LEN];

	if (r->n < 16 && len <= sizeof(r->frames[0])) {
		memcpy(r->frames[r->n], rec, len);
		r->lens[r->n++] = len;
	}
	if (frame_check(rec, len) == PROTO_HS_INIT &&
	    hs_relay_open_init(&r->hs, rec, len, &r->addr, false, 0, &p, cookie) == HS_ACCEPT) {
		hs_relay_finish(&p, 0x1234, &r->addr, resp, &r->keys);
		srelay_send(r, resp, sizeof(resp));
		r->up = true;
	}
}

/* Accept and read what is there, without waiting. */
static void srelay_poll(struct srelay *r)
{
	uint8_t buf[4096];

	if (r->fd < 0)
		r->fd = accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK);
	if (r->fd < 0)
		return;
	ssize_t n = recv(r->fd, buf, sizeof(buf), 0);
	if (n > 0)
		assert_int_equal(stream_rx_feed(&r->rx, buf, (size_t)n, srelay_record, r), 0);
}

/* The first frame of type since index from: its index, or -1. */
static int srelay_find(const struct srelay *r, size_t from, int type)
{
	for (size_t i = from; i < r->n; i++)
		if (frame_check(r->frames[i], r->lens[i]) == type)
			return (int)i;
	return -1;
}

/* Drive the link's stream and the relay until done(l, r), at most ~2 s. */
static bool drive(struct link *l, struct srelay *r, int64_t *now,
                  bool (*done)(const struct link *, const struct srelay *))
{
	for (int i = 0; i < 200; i++) {
		struct pollfd pfd = {.fd = link_stream_fd(l), .events = 0};
		if (done(l, r))
			return true;
		if (pfd.fd >= 0) {
			unsigned ev = link_stream_events(l);
			pfd.events =
			    (short)((ev & EV_READ ? POLLIN : 0) | (ev & EV_WRITE ? POLLOUT : 0));
			int k = poll(&pfd, 1, 10);
			unsigned got = (pfd.revents & (POLLIN | POLLHUP | POLLERR) ? EV_READ : 0) |
			               (pfd.revents & POLLOUT ? EV_WRITE : 0);
			if (k > 0)
				link_stream_io(l, got, *now);
		}
		srelay_poll(r);
		*now += 10;
	}
	return done(l, r);
}

static bool is_up(const struct link *l, const struct srelay *r)
{
	return l->state == LINK_UP && srelay_find(r, 0, PROTO_CTRL) >= 0;
}

static bool has_data(const struct link *l, const struct srelay *r)
{
	(void)l;
	return srelay_find(r, 0, PROTO_DATA) >= 0;
}

static bool is_failed(const struct link *l, const struct srelay *r)
{
	(void)r;
	return l->stream_failed;
}

static void test_link_over_tcp(void **state)
{
	struct srelay r;
	struct link *l;
	struct addr udp;
	struct tconn_client cl = {.queue_bytes = 65536};
	uint8_t cpriv[32], frame[256], pt[PROTO_MAX_CTRL_PLAIN];
	char url[64];
	int64_t now = 1000000;
	struct ctrl_msg m;

	(void)state;
	srelay_open(&r);
	key_generate_private(cpriv);
	/* The link's UDP address: nothing there; the stream carries everything. */
	assert_int_equal(addr_parse(&udp, "127.0.0.1:9", 0), 0);
	assert_int_equal(link_new(&l, r.pub, &udp, cpriv, 0), 0);
	assert_int_equal(link_stream_fd(l), -1);
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", addr_port(&r.addr));
	assert_int_equal(turl_parse(&cl.url, url), 0);
	assert_int_equal(link_stream_start(l, &cl, &r.addr, now), 0);
	assert_true(link_stream_fd(l) >= 0);
	assert_true(link_stream_events(l) & EV_WRITE); /* connecting */
	/* Before the stream opens nothing is sent, then the handshake goes at once. */
	link_tick(l, now);
	assert_true(drive(l, &r, &now, is_up));
	/* Once open: a PING (the first tick's) and the handshake, nothing before them. */
	int hs = srelay_find(&r, 0, PROTO_HS_INIT);
	assert_in_range(hs, 0, 1);
	assert_int_equal(r.lens[hs], PROTO_HS_INIT_LEN);
	if (hs == 1)
		assert_int_equal(frame_check(r.frames[0], r.lens[0]), PROTO_PING);
	/* The KEEPALIVE that proves the link (§4.4), sealed on the link keys. */
	int c = srelay_find(&r, 0, PROTO_CTRL);
	int n = frame_open_ctrl(r.frames[c], r.lens[c], r.keys.ctrl_recv, &r.keys.ctrl_replay, pt,
	                        sizeof(pt));
	assert_true(n > 0);
	assert_int_equal(ctrl_decode(pt, (size_t)n, &m), 0);
	assert_int_equal(m.type, CTRL_KEEPALIVE);
	/* A sealed binding's DATA goes as a record too. */
	struct link_bind *b = link_bind(l, sid, PROTO_MODE_SEALED, now);
	assert_non_null(b);
	b->handle = 0x42;
	b->state = PROTO_PAIRED;
	memcpy(frame + PROTO_SEALED_HDR_LEN, "hello", 5);
	assert_int_equal(link_send_data(l, b, frame, 5, now), 0);
	assert_true(drive(l, &r, &now, has_data));
	int d = srelay_find(&r, 0, PROTO_DATA);
	assert_int_equal(r.lens[d], 5 + PROTO_SEALED_OVERHEAD);
	/* The relay goes away: the link is down, its keys kept, the stream marked failed. */
	close(r.fd);
	r.fd = -2; /* no accept again */
	assert_true(drive(l, &r, &now, is_failed));
	assert_int_equal(l->state, LINK_DOWN);
	assert_int_equal(link_stream_events(l), 0);
	link_stream_stop(l, now);
	assert_int_equal(link_stream_fd(l), -1);
	assert_null(l->tc);
	link_close(l);
	r.fd = -1;
	srelay_close(&r);
}

/* A UDP socket that never answers: the relay's UDP side, blocked. */
static int udp_sink(struct addr *a)
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

static void on_udp(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)fd;
	(void)events;
	link_readable(arg, (int64_t)ev_now_ms(loop));
}

static void test_carrier_moves_to_stream(void **state)
{
	struct srelay r;
	struct ev_loop *loop;
	struct carrier_set *cs;
	struct link *l;
	struct addr udp;
	struct cache_relay info = {0};
	uint8_t cpriv[32];
	char desc[CACHE_URLS];
	int sink = udp_sink(&udp);

	(void)state;
	srelay_open(&r);
	key_generate_private(cpriv);
	assert_int_equal(ev_new(&loop), 0);
	assert_int_equal(carrier_set_new(&cs, loop, NULL, NULL, 4), 0);
	assert_int_equal(link_new(&l, r.pub, &udp, cpriv, 0), 0);
	assert_int_equal(ev_add_io(loop, l->fd, EV_READ, on_udp, l), 0);
	snprintf(info.endpoint, sizeof(info.endpoint), "127.0.0.1:%u", addr_port(&udp));
	snprintf(info.urls, sizeof(info.urls), "tcp://127.0.0.1:%u", addr_port(&r.addr));
	/* A fake clock for the ticks, ahead of the loop's own by the seconds skipped. */
	int64_t t = (int64_t)ev_clock_ms();
	carrier_attach(cs, 1, l, &info, t);
	carrier_describe(cs, 1, desc, sizeof(desc));
	assert_string_equal(desc, "udp");
	assert_int_equal(l->hs_retry_ms, 1000); /* three tries a second apart */
	bool moved = false;
	for (int sec = 0; sec < 8 && !(moved && l->state == LINK_UP); sec++) {
		link_tick(l, t);
		carrier_tick(cs, t);
		if (l->tc)
			moved = true;
		/* Within the second: the loop's I/O (the before-sleep hook registers streams). */
		for (int k = 0; k < 20 && l->state != LINK_UP; k++) {
			ev_run_once(loop, 10);
			srelay_poll(&r);
		}
		t += 1000;
	}
	assert_true(moved);
	assert_int_equal(l->state, LINK_UP);
	assert_in_range(srelay_find(&r, 0, PROTO_HS_INIT), 0, 1);
	char want[64];
	snprintf(want, sizeof(want), "tcp://127.0.0.1:%u", addr_port(&r.addr));
	carrier_describe(cs, 1, desc, sizeof(desc));
	assert_string_equal(desc, want);
	assert_int_equal(l->hs_retry_ms, 0);
	/* The relay's stream goes: the link leaves it (every URL failed: UDP, backoff). */
	close(r.fd);
	r.fd = -2;
	for (int k = 0; k < 100 && l->tc; k++)
		ev_run_once(loop, 10);
	assert_null(l->tc);
	assert_int_equal(l->state, LINK_DOWN);
	carrier_tick(cs, t);
	carrier_describe(cs, 1, desc, sizeof(desc));
	assert_string_equal(desc, "udp");
	carrier_detach(cs, 1, true, t);
	carrier_describe(cs, 1, desc, sizeof(desc));
	assert_string_equal(desc, "");
	ev_del_io(loop, l->fd);
	link_close(l);
	carrier_set_free(cs);
	ev_free(loop);
	close(sink);
	r.fd = -1;
	srelay_close(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_link_over_tcp),
	    cmocka_unit_test(test_carrier_moves_to_stream),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
