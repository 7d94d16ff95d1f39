/*
 * Integration tests of wgrelayd's stream listeners ([Transport], PROTOCOL.md §12): the real
 * binary with a stream port on loopback, reached by transport/tconn.c as the helper reaches
 * it. A PING gets its PONG over TCP, TLS, WebSocket and WebSocket over TLS on the one port; a
 * Noise handshake makes a link that dies with its connection; sealed DATA crosses between a
 * stream member and a UDP member; bad prefaces, a wrong WebSocket path, a silent connection
 * and a source over its cap are refused and counted.
 */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "harness.h"
#include "key.h"
#include "replay.h"
#include "seal.h"
#include "tconn.h"
#include "tls.h"

#define PER_SOURCE 4

static char conf_dir[64], conf_path[96], maddr[32], saddr[32];
static struct tls_ctx *tls_client;
static char metrics_text[65536];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * A relay with a stream port, metrics on, and a short handshake deadline. Loopback is allowed
 * as a destination unless the test says otherwise (then no UDP PING is answered; streams need
 * no policy: they answer on their connection).
 */
static int start_with(const char *policy_flag)
{
	char text[512];

	strcpy(conf_dir, "/tmp/wgr-streams-XXXXXX");
	assert_non_null(mkdtemp(conf_dir));
	snprintf(conf_path, sizeof(conf_path), "%s/wgrelayd.conf", conf_dir);
	snprintf(saddr, sizeof(saddr), "127.0.0.1:%u", free_port());
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", free_port());
	snprintf(text, sizeof(text),
	         "[Transport]\nListen = %s\nMaxConnectionsPerSource = %d\nHandshakeTimeout = 1s\n",
	         saddr, PER_SOURCE);
	write_file(conf_path, text);
	relay_start("-c", conf_path, "--metrics", maddr, policy_flag, NULL);
	assert_int_equal(tls_ctx_client(&tls_client), 0);
	return 0;
}

static int start(void **state)
{
	(void)state;
	return start_with("--allow-loopback");
}

static int start_no_loopback(void **state)
{
	(void)state;
	return start_with(NULL);
}

static int stop(void **state)
{
	char cmd[128];

	tls_ctx_free(tls_client);
	tls_client = NULL;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", conf_dir);
	return relay_stop(state) == 0 && system(cmd) == 0 ? 0 : -1;
}

/* The value of one metric line now (-1 when absent). */
static long long scrape(const char *name)
{
	assert_true(http_get(maddr, "/metrics", metrics_text, sizeof(metrics_text)) > 0);
	return metric(metrics_text, name);
}

/* What the client received: the last frame and the count. */
struct got {
	uint8_t buf[STREAM_MAX_RECORD];
	size_t len;
	int n;
};

static void on_frame(void *arg, struct tconn *c, uint8_t *frame, size_t len)
{
	struct got *g = arg;

	(void)c;
	assert_true(len <= sizeof(g->buf));
	memcpy(g->buf, frame, len);
	g->len = len;
	g->n++;
}

/* Run c until it is open (frames 0) or has received `frames` frames: 0, or the error. */
static int drive(struct tconn *c, struct got *g, int frames, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;

	while (now_ms() < end) {
		unsigned want = tconn_events(c), ev = 0;
		struct pollfd p = {.fd = tconn_fd(c),
		                   .events = (short)((want & EV_READ ? POLLIN : 0) |
		                                     (want & EV_WRITE ? POLLOUT : 0))};
		int e;

		if (frames ? g->n >= frames : tconn_state(c) == TCONN_OPEN)
			return 0;
		if (poll(&p, 1, 50) > 0) {
			ev |= p.revents & (POLLIN | POLLERR | POLLHUP) ? EV_READ : 0;
			ev |= p.revents & POLLOUT ? EV_WRITE : 0;
		}
		if (ev && (e = tconn_io(c, ev, now_ms(), on_frame, g)) < 0)
			return e;
	}
	return -ETIMEDOUT;
}

/* A connection to the stream port speaking url's transport (path: url's), open. */
static struct tconn *dial(const char *url)
{
	struct tconn_client cl = {.tls = tls_client, .queue_bytes = 65536};
	struct tconn *c;
	struct got g = {.n = 0};
	struct addr to;

	assert_int_equal(turl_parse(&cl.url, url), 0);
	assert_int_equal(addr_parse(&to, saddr, 0), 0);
	assert_int_equal(tconn_connect(&c, &cl, &to, now_ms()), 0);
	assert_int_equal(drive(c, &g, 0, T_MS), 0);
	return c;
}

/* PING on c; the PONG comes back on c with the nonce, the relay's view of our address. */
static void ping(struct tconn *c, uint64_t nonce)
{
	uint8_t frame[PROTO_PING_LEN];
	struct got g = {.n = 0};
	struct frame_pong pong;
	struct addr lo;

	frame_encode_ping(frame, nonce);
	assert_int_equal(tconn_send(c, frame, sizeof(frame), false), 0);
	assert_int_equal(drive(c, &g, 1, T_MS), 0);
	assert_int_equal(g.len, PROTO_PONG_LEN);
	assert_int_equal(frame_check(g.buf, g.len), PROTO_PONG);
	assert_int_equal(frame_decode_pong(g.buf, g.len, &pong), 0);
	assert_true(pong.nonce == nonce);
	assert_int_equal(addr_parse(&lo, "127.0.0.1:1", 0), 0);
	assert_true(addr_equal_ip(&pong.observed, &lo));
}

/* A raw TCP connection to the stream port. */
static int raw_open(void)
{
	struct addr a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(addr_parse(&a, saddr, 0), 0);
	assert_int_equal(connect(fd, &a.sa, a.len), 0);
	return fd;
}

/* The relay closed fd within timeout_ms (EOF or reset, whatever it sent before). */
static bool raw_closed(int fd, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	char buf[512];

	while (now_ms() < end) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		ssize_t n;

		if (poll(&p, 1, 50) <= 0)
			continue;
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN))
			return true;
	}
	return false;
}

static void test_ping_every_transport(void **state)
{
	static const char *const kinds[] = {"tcp", "tls", "ws", "wss"};
	struct tconn *c[4];
	char url[96], name[96];

	(void)state;
	/* Positive control: the port is there and nothing is counted yet. */
	assert_int_equal(scrape("wgrelayd_stream_accepted_total{transport=\"tcp\"}"), 0);
	for (int i = 0; i < 4; i++) {
		snprintf(url, sizeof(url), "%s://%s%s", kinds[i], saddr, i >= 2 ? "/wgrelay" : "");
		c[i] = dial(url);
		ping(c[i], 0x1000 + (uint64_t)i);
		ping(c[i], 0x2000 + (uint64_t)i); /* the connection carries on */
	}
	scrape("wgrelayd_stream_connections{transport=\"tcp\"}");
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "wgrelayd_stream_connections{transport=\"%s\"}",
		         kinds[i]);
		assert_int_equal(metric(metrics_text, name), 1);
		snprintf(name, sizeof(name), "wgrelayd_stream_accepted_total{transport=\"%s\"}",
		         kinds[i]);
		assert_int_equal(metric(metrics_text, name), 1);
	}
	assert_int_equal(metric(metrics_text, "wgrelayd_stream_frames_total{direction=\"in\"}"), 8);
	assert_int_equal(metric(metrics_text, "wgrelayd_stream_frames_total{direction=\"out\"}"),
	                 8);
	for (int i = 0; i < 4; i++)
		tconn_free(c[i]);
	/* Closed by the client: the gauge falls back (bounded wait for the relay to notice). */
	for (int i = 0; i < 100 && scrape("wgrelayd_stream_connections{transport=\"wss\"}"); i++)
		usleep(20000);
	assert_int_equal(metric(metrics_text, "wgrelayd_stream_connections{transport=\"wss\"}"), 0);
	assert_int_equal(metric(metrics_text, "wgrelayd_stream_refused_total{reason=\"preface\"}"),
	                 0);
}

/* Seal m for the link of keys and send it on c. */
static void send_ctrl(struct tconn *c, struct link_keys *keys, const struct ctrl_msg *m)
{
	uint8_t pt[PROTO_MAX_CTRL_PLAIN], frame[PROTO_MAX_CTRL_PLAIN + PROTO_SEALED_OVERHEAD];
	int n = ctrl_encode(m, pt, sizeof(pt));

	assert_true(n > 0);
	n = frame_seal_ctrl(frame, sizeof(frame), keys->remote_index, keys->ctrl_send_counter++,
	                    keys->ctrl_send, pt, (size_t)n);
	assert_true(n > 0);
	assert_int_equal(tconn_send(c, frame, (size_t)n, false), 0);
}

/* The next frame on c is a CTRL of the link of keys: its message. */
static void recv_ctrl(struct tconn *c, struct link_keys *keys, struct got *g, struct ctrl_msg *m)
{
	uint8_t pt[PROTO_MAX_CTRL_PLAIN];
	int n;

	assert_int_equal(drive(c, g, g->n + 1, T_MS), 0);
	assert_int_equal(frame_check(g->buf, g->len), PROTO_CTRL);
	n = frame_open_ctrl(g->buf, g->len, keys->ctrl_recv, &keys->ctrl_replay, pt, sizeof(pt));
	assert_true(n > 0);
	assert_int_equal(ctrl_decode(pt, (size_t)n, m), 0);
}

/* HS_INIT over c, HS_RESP back (the link's keys into *keys), then a KEEPALIVE echoed. */
static void handshake(struct tconn *c, struct link_keys *keys, struct got *g)
{
	uint8_t priv[32], init[PROTO_HS_INIT_LEN];
	struct ctrl_msg ka = {.type = CTRL_KEEPALIVE}, m;
	struct hs_client hs;
	struct addr observed;

	key_generate_private(priv);
	hs_client_init(&hs, priv, R.pub);
	hs_client_build_init(&hs, init, 1);
	assert_int_equal(tconn_send(c, init, sizeof(init), false), 0);
	assert_int_equal(drive(c, g, g->n + 1, T_MS), 0);
	assert_int_equal(frame_check(g->buf, g->len), PROTO_HS_RESP);
	assert_int_equal(hs_client_consume_resp(&hs, g->buf, g->len, keys, &observed), 0);
	send_ctrl(c, keys, &ka);
	recv_ctrl(c, keys, g, &m);
	assert_int_equal(m.type, CTRL_KEEPALIVE);
}

/* A on a stream, B on UDP, one sealed session: DATA crosses between the two carriages. */
static void test_sealed_across_carriages(void **state)
{
	const char *msg = "a WireGuard datagram, sealed";
	size_t len = strlen(msg), flen;
	struct ctrl_msg bind = {.type = CTRL_BIND, .mode = PROTO_MODE_SEALED}, m, mb;
	struct link_keys ka;
	struct got g = {.n = 0};
	struct replay rpa, rpb;
	struct tclient b;
	uint8_t sid[16], frame[2048], buf[2048];
	char url[96];
	struct tconn *c;
	uint32_t ha;

	(void)state;
	snprintf(url, sizeof(url), "tls://%s", saddr);
	c = dial(url);
	handshake(c, &ka, &g);
	randombytes_buf(sid, sizeof(sid));
	memcpy(bind.sid, sid, 16);
	send_ctrl(c, &ka, &bind);
	recv_ctrl(c, &ka, &g, &m);
	assert_int_equal(m.type, CTRL_BOUND);
	ha = m.handle;
	client(&b);
	assert_int_equal(tclient_bind(&b, sid, PROTO_MODE_SEALED, NULL, NULL, &mb, T_MS), 0);
	assert_int_equal(mb.state, PROTO_PAIRED);
	recv_ctrl(c, &ka, &g, &m); /* the paired notice, on the stream */
	replay_init(&rpa);
	replay_init(&rpb);
	for (uint64_t i = 0; i < 5; i++) {
		int n;

		/* stream -> UDP: queued for the UDP batch from a stream's record, and sent */
		memcpy(frame + PROTO_SEALED_HDR_LEN, msg, len);
		flen = seal_data(frame, len, ha, i, sid, ka.data_send);
		assert_int_equal(tconn_send(c, frame, flen, true), 0);
		n = tclient_recvfrom(b.fd, buf, sizeof(buf), NULL, T_MS);
		assert_int_equal(n, (int)flen);
		assert_int_equal(seal_open_data(buf, (size_t)n, sid, b.keys.data_recv, &rpb),
		                 (int)len);
		assert_memory_equal(buf + PROTO_SEALED_HDR_LEN, msg, len);
		/* UDP -> stream: control_queue hands it to the connection */
		memcpy(frame + PROTO_SEALED_HDR_LEN, msg, len);
		flen = seal_data(frame, len, mb.handle, i, sid, b.keys.data_send);
		assert_int_equal(tclient_sendto(b.fd, frame, flen, &R.a), 0);
		assert_int_equal(drive(c, &g, g.n + 1, T_MS), 0);
		assert_int_equal(g.len, flen);
		assert_int_equal(seal_open_data(g.buf, g.len, sid, ka.data_recv, &rpa), (int)len);
		assert_memory_equal(g.buf + PROTO_SEALED_HDR_LEN, msg, len);
	}
	assert_int_equal(scrape("wgrelayd_packets_forwarded_total{mode=\"sealed\"}"), 10);
	assert_int_equal(metric(metrics_text, "wgrelayd_stream_dropped_total"), 0);
	tclient_close(&b);
	tconn_free(c);
	link_keys_clear(&ka);
}

static void test_link_over_stream(void **state)
{
	uint8_t udp_ping[PROTO_PING_LEN];
	char url[96];
	struct tconn *tcp, *wss;
	int fd;

	(void)state;
	/* Positive control of the policy: the relay refuses to send UDP to loopback here. */
	frame_encode_ping(udp_ping, 1);
	fd = tclient_udp();
	assert_int_equal(tclient_sendto(fd, udp_ping, sizeof(udp_ping), &R.a), 0);
	assert_int_equal(tclient_recvfrom(fd, udp_ping, sizeof(udp_ping), NULL, 300), -ETIMEDOUT);
	close(fd);
	assert_true(scrape("wgrelayd_drops_total{reason=\"policy\"}") > 0);
	assert_int_equal(metric(metrics_text, "wgrelayd_links"), 0);
	snprintf(url, sizeof(url), "tcp://%s", saddr);
	tcp = dial(url);
	snprintf(url, sizeof(url), "wss://%s/wgrelay", saddr);
	wss = dial(url);
	{
		struct link_keys k;
		struct got g = {.n = 0};

		handshake(tcp, &k, &g);
		link_keys_clear(&k);
		g.n = 0;
		handshake(wss, &k, &g);
		link_keys_clear(&k);
	}
	assert_int_equal(scrape("wgrelayd_links"), 2);
	assert_int_equal(metric(metrics_text, "wgrelayd_handshakes_total"), 2);
	/* A link lives as long as its connection: closing it closes the link at once. */
	tconn_free(tcp);
	for (int i = 0; i < 100 && scrape("wgrelayd_links") != 1; i++)
		usleep(20000);
	assert_int_equal(metric(metrics_text, "wgrelayd_links"), 1);
	ping(wss, 7); /* the other one is untouched */
	tconn_free(wss);
	for (int i = 0; i < 100 && scrape("wgrelayd_links") != 0; i++)
		usleep(20000);
	assert_int_equal(metric(metrics_text, "wgrelayd_links"), 0);
}

static void test_refusals(void **state)
{
	static const char *const reasons[] = {"preface", "upgrade", "timeout"};
	struct tconn_client cl = {.tls = tls_client, .queue_bytes = 65536};
	struct got g = {.n = 0};
	char name[96], url[96];
	struct tconn *c;
	struct addr to;
	int fd;

	(void)state;
	for (int i = 0; i < 3; i++) {
		snprintf(name, sizeof(name), "wgrelayd_stream_refused_total{reason=\"%s\"}",
		         reasons[i]);
		assert_int_equal(scrape(name), 0);
	}
	/* Neither records, TLS nor HTTP: closed at once. */
	fd = raw_open();
	assert_int_equal(send(fd, "\xff\xfe garbage", 10, MSG_NOSIGNAL), 10);
	assert_true(raw_closed(fd, T_MS));
	close(fd);
	assert_int_equal(scrape("wgrelayd_stream_refused_total{reason=\"preface\"}"), 1);
	/* A WebSocket upgrade to another path: 404, closed, no connection made. */
	snprintf(url, sizeof(url), "ws://%s/elsewhere", saddr);
	assert_int_equal(turl_parse(&cl.url, url), 0);
	assert_int_equal(addr_parse(&to, saddr, 0), 0);
	assert_int_equal(tconn_connect(&c, &cl, &to, now_ms()), 0);
	assert_true(drive(c, &g, 0, T_MS) < 0);
	assert_non_null(strstr(tconn_error(c), "404"));
	tconn_free(c);
	assert_int_equal(scrape("wgrelayd_stream_refused_total{reason=\"upgrade\"}"), 1);
	/* A connection that never says anything: closed after HandshakeTimeout (1 s). */
	fd = raw_open();
	assert_false(raw_closed(fd, 300));
	assert_true(raw_closed(fd, 4000));
	close(fd);
	assert_int_equal(scrape("wgrelayd_stream_refused_total{reason=\"timeout\"}"), 1);
	assert_int_equal(metric(metrics_text, "wgrelayd_stream_refused_total{reason=\"tls\"}"), 0);
}

static void test_per_source_cap(void **state)
{
	struct tconn *c[PER_SOURCE];
	char url[96];
	int fd;

	(void)state;
	snprintf(url, sizeof(url), "tcp://%s", saddr);
	for (int i = 0; i < PER_SOURCE; i++) {
		c[i] = dial(url);
		ping(c[i], 100 + (uint64_t)i); /* answered: accepted and counted by the relay */
	}
	assert_int_equal(scrape("wgrelayd_stream_refused_total{reason=\"source\"}"), 0);
	/* One more from the same address: closed at once, well before any handshake timeout. */
	fd = raw_open();
	assert_true(raw_closed(fd, 800));
	close(fd);
	assert_int_equal(scrape("wgrelayd_stream_refused_total{reason=\"source\"}"), 1);
	assert_int_equal(metric(metrics_text, "wgrelayd_stream_connections{transport=\"tcp\"}"),
	                 PER_SOURCE);
	ping(c[0], 200); /* the admitted ones still work */
	tconn_free(c[0]);
	/* A place is free again: a new connection from the source is served. */
	for (int i = 0;
	     i < 100 && scrape("wgrelayd_stream_connections{transport=\"tcp\"}") != PER_SOURCE - 1;
	     i++)
		usleep(20000);
	c[0] = dial(url);
	ping(c[0], 300);
	for (int i = 0; i < PER_SOURCE; i++)
		tconn_free(c[i]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_ping_every_transport, start, stop),
	    cmocka_unit_test_setup_teardown(test_link_over_stream, start_no_loopback, stop),
	    cmocka_unit_test_setup_teardown(test_sealed_across_carriages, start, stop),
	    cmocka_unit_test_setup_teardown(test_refusals, start, stop),
	    cmocka_unit_test_setup_teardown(test_per_source_cap, start, stop),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
