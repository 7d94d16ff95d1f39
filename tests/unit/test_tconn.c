/*
 * Unit tests: transport/tconn.c over real loopback sockets. A listening socket hands
 * accepted connections to tconn_accept; a client tconn_connect speaks TCP, TLS, WebSocket or
 * WebSocket over TLS, straight or through a small SOCKS5 or HTTP CONNECT proxy (a thread of
 * this test). Both ends reach OPEN and carry frames both ways; the output queue refuses DATA
 * first; bad prefaces, wrong paths and refusing proxies end with a reason. Every wait is a
 * bounded poll loop.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "tconn.h"
#include "tls.h"

#define STEPS 400 /* 400 polls of at most 25 ms: 10 s before a wait gives up */

struct side {
	struct tconn *t;
	bool echo; /* send each frame back from inside the callback, as a relay answers */
	int rc;    /* tconn_io's result once it finished */
	size_t frames, bytes, bad;
	uint8_t next_seq;
};

struct world {
	int lfd;
	struct addr laddr;
	struct tconn_server srv;
	struct tconn_client cl;
	struct side c, s;
	int raw; /* a plain socket playing a broken client, or -1 */
};

static struct tls_ctx *sctx, *cctx;

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static int listen_loopback(struct addr *a)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(fd, 16), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
	addr_from_sockaddr(a, (struct sockaddr *)&sin, len);
	return fd;
}

/* A frame whose first byte is its sequence number and the rest a pattern of it. */
static void fill(uint8_t *f, size_t len, uint8_t seq)
{
	f[0] = seq;
	for (size_t i = 1; i < len; i++)
		f[i] = (uint8_t)(seq + i);
}

static void on_frame(void *arg, struct tconn *t, uint8_t *f, size_t len)
{
	struct side *sd = arg;
	uint8_t want[STREAM_MAX_RECORD];

	fill(want, len, sd->next_seq);
	if (memcmp(f, want, len) != 0)
		sd->bad++;
	sd->next_seq++;
	sd->frames++;
	sd->bytes += len;
	if (sd->echo && tconn_send(t, f, len, false) != 0)
		sd->bad++;
}

static void world_init(struct world *w, uint8_t kind, const char *host, const char *path)
{
	memset(w, 0, sizeof(*w));
	w->raw = -1;
	w->lfd = listen_loopback(&w->laddr);
	w->srv.tls = sctx;
	w->srv.ws_path = "/wgrelay";
	w->srv.queue_bytes = 65536;
	w->cl.url.kind = kind;
	snprintf(w->cl.url.host, sizeof(w->cl.url.host), "%s", host);
	w->cl.url.port = addr_port(&w->laddr);
	snprintf(w->cl.url.path, sizeof(w->cl.url.path), "%s", path);
	w->cl.tls = cctx;
	w->cl.queue_bytes = 65536;
}

static void world_free(struct world *w)
{
	tconn_free(w->c.t);
	tconn_free(w->s.t);
	close(w->lfd);
	if (w->raw >= 0)
		close(w->raw);
}

static short to_poll(unsigned ev)
{
	return (short)((ev & EV_READ ? POLLIN : 0) | (ev & EV_WRITE ? POLLOUT : 0));
}

static unsigned from_poll(short re)
{
	return (re & (POLLIN | POLLERR | POLLHUP) ? EV_READ : 0) |
	       (re & (POLLOUT | POLLERR) ? EV_WRITE : 0);
}

/* One poll over the listener and both ends; skip_server leaves the server unread. */
static void step(struct world *w, bool skip_server)
{
	struct pollfd p[3];
	struct side *sides[3] = {NULL};
	int n = 0, fd;

	if (!w->s.t) {
		p[n] = (struct pollfd){.fd = w->lfd, .events = POLLIN};
		n++;
	}
	if (w->c.t && !w->c.rc) {
		p[n] = (struct pollfd){.fd = tconn_fd(w->c.t),
		                       .events = to_poll(tconn_events(w->c.t))};
		sides[n++] = &w->c;
	}
	if (w->s.t && !w->s.rc && !skip_server) {
		p[n] = (struct pollfd){.fd = tconn_fd(w->s.t),
		                       .events = to_poll(tconn_events(w->s.t))};
		sides[n++] = &w->s;
	}
	if (n == 0 || poll(p, (nfds_t)n, 25) <= 0)
		return;
	for (int i = 0; i < n; i++) {
		if (!p[i].revents)
			continue;
		if (!sides[i]) {
			fd = accept4(w->lfd, NULL, NULL, SOCK_CLOEXEC);
			if (fd >= 0)
				assert_int_equal(tconn_accept(&w->s.t, fd, &w->srv, now_ms()), 0);
			continue;
		}
		sides[i]->rc =
		    tconn_io(sides[i]->t, from_poll(p[i].revents), now_ms(), on_frame, sides[i]);
	}
}

static bool both_open(const struct world *w)
{
	return w->c.t && w->s.t && tconn_state(w->c.t) == TCONN_OPEN &&
	       tconn_state(w->s.t) == TCONN_OPEN;
}

/* Poll until cond holds (true) or the steps run out (false). */
#define RUN_UNTIL(w, cond)                                                                         \
	({                                                                                         \
		bool ok_ = false;                                                                  \
		for (int i_ = 0; i_ < STEPS && !(ok_ = (cond)); i_++)                              \
			step((w), false);                                                          \
		ok_;                                                                               \
	})

static void connect_client(struct world *w, const struct addr *to)
{
	assert_int_equal(tconn_connect(&w->c.t, &w->cl, to, now_ms()), 0);
	assert_int_equal(tconn_state(w->c.t), TCONN_CONNECTING);
	assert_string_equal(tconn_error(w->c.t), "");
}

static void send_seq(struct tconn *t, uint8_t *seq, size_t len)
{
	uint8_t f[STREAM_MAX_RECORD];

	fill(f, len, *seq);
	assert_int_equal(tconn_send(t, f, len, false), 0);
	(*seq)++;
}

/* Frames of 1 byte, 4096 bytes and 200 back to back, each way. */
static void exchange(struct world *w)
{
	uint8_t cseq = 0, sseq = 0;
	size_t want;

	/* A server still sniffing cannot send: the client speaks first. */
	send_seq(w->c.t, &cseq, 1);
	assert_true(RUN_UNTIL(w, w->s.frames == 1));
	assert_int_equal(tconn_state(w->s.t), TCONN_OPEN);
	send_seq(w->s.t, &sseq, 1);
	assert_true(RUN_UNTIL(w, w->c.frames == 1));
	send_seq(w->c.t, &cseq, STREAM_MAX_RECORD);
	send_seq(w->s.t, &sseq, STREAM_MAX_RECORD);
	assert_true(RUN_UNTIL(w, w->c.frames == 2 && w->s.frames == 2));
	for (int i = 0; i < 200; i++) {
		send_seq(w->c.t, &cseq, 1 + (size_t)i * 13 % 1500);
		send_seq(w->s.t, &sseq, 1 + (size_t)i * 7 % 1500);
		step(w, false); /* keep the queues moving */
	}
	assert_true(RUN_UNTIL(w, w->c.frames == 202 && w->s.frames == 202));
	assert_int_equal(w->c.bad + w->s.bad, 0);
	assert_int_equal(w->c.rc, 0);
	assert_int_equal(w->s.rc, 0);
	assert_int_equal(tconn_stats(w->c.t)->tx_records, 202);
	assert_int_equal(tconn_stats(w->s.t)->rx_records, 202);
	assert_int_equal(tconn_stats(w->s.t)->tx_records, 202);
	want = tconn_stats(w->c.t)->tx_bytes;
	assert_true(want > 202 * 3);             /* records, headers and any framing */
	if (w->cl.proxy.kind == TURL_PROXY_NONE) /* else the proxy's handshake counts too */
		assert_int_equal(tconn_stats(w->s.t)->rx_bytes, want);
	/* Nothing larger than a record. */
	assert_int_equal(tconn_send(w->c.t, (const uint8_t *)"", 0, false), -EMSGSIZE);
	{
		static uint8_t big[STREAM_MAX_RECORD + 1];

		assert_int_equal(tconn_send(w->c.t, big, sizeof(big), false), -EMSGSIZE);
	}
}

static void run_kind(uint8_t kind, const char *host)
{
	struct world w;

	world_init(&w, kind, host, "/wgrelay");
	connect_client(&w, &w.laddr);
	assert_int_equal(tconn_send(w.c.t, (const uint8_t *)"x", 1, false), -ENOTCONN);
	assert_true(RUN_UNTIL(&w, w.c.t && tconn_state(w.c.t) == TCONN_OPEN));
	assert_int_equal(tconn_kind(w.c.t), kind);
	exchange(&w);
	assert_true(both_open(&w));
	assert_int_equal(tconn_kind(w.s.t), kind); /* the server sniffed the same */

	/* Answers sent from inside the callback (as a relay's HS_RESP) arrive too. */
	w.s.echo = true;
	w.s.next_seq = w.c.next_seq = 0;
	{
		uint8_t seq = 0;

		for (int i = 0; i < 50; i++)
			send_seq(w.c.t, &seq, 1 + (size_t)i * 31 % STREAM_MAX_RECORD);
	}
	assert_true(RUN_UNTIL(&w, w.c.frames == 202 + 50));
	assert_int_equal(w.c.bad + w.s.bad, 0);

	/* The client goes away: the server finishes with a reason. */
	tconn_free(w.c.t);
	w.c.t = NULL;
	assert_true(RUN_UNTIL(&w, w.s.rc < 0));
	assert_int_equal(tconn_state(w.s.t), TCONN_CLOSED);
	assert_non_null(strstr(tconn_error(w.s.t), "closed by peer"));
	world_free(&w);
}

static void test_tcp(void **state)
{
	(void)state;
	run_kind(TURL_TCP, "127.0.0.1");
}

static void test_tls(void **state)
{
	(void)state;
	run_kind(TURL_TLS, "127.0.0.1");
}

static void test_ws(void **state)
{
	(void)state;
	run_kind(TURL_WS, "127.0.0.1");
}

static void test_wss(void **state)
{
	(void)state;
	run_kind(TURL_WSS, "localhost"); /* a name: SNI sent */
}

/* The queue refuses DATA once over half full; other frames while they fit; deferred too. */
static void queue_limits(uint8_t kind, bool defer)
{
	uint8_t f[STREAM_MAX_RECORD];
	struct world w;
	int small = 4096, r = 0, sent = 0, i;
	size_t before;

	world_init(&w, kind, "127.0.0.1", "/wgrelay");
	connect_client(&w, &w.laddr);
	assert_true(RUN_UNTIL(&w, w.c.t && tconn_state(w.c.t) == TCONN_OPEN));
	fill(f, 1, 0);
	assert_int_equal(tconn_send(w.c.t, f, 1, true), 0);
	assert_true(RUN_UNTIL(&w, w.s.frames == 1));
	/* The server stops reading; the kernel's buffers are made small. */
	setsockopt(tconn_fd(w.c.t), SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	setsockopt(tconn_fd(w.s.t), SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	tconn_defer(w.c.t, defer);
	for (i = 0; i < 100000 && r == 0; i++) {
		fill(f, sizeof(f), (uint8_t)(i + 1));
		r = tconn_send(w.c.t, f, sizeof(f), true);
		sent += r == 0;
	}
	assert_int_equal(r, -ENOBUFS);
	assert_int_equal(tconn_stats(w.c.t)->tx_dropped, 1);
	/* Over half full, not full: even a small DATA frame is refused, a largest other one goes. */
	assert_int_equal(tconn_send(w.c.t, f, 1, true), -ENOBUFS);
	assert_int_equal(tconn_stats(w.c.t)->tx_dropped, 2);
	before = tconn_stats(w.c.t)->tx_records;
	fill(f, sizeof(f), (uint8_t)(sent + 1));
	assert_int_equal(tconn_send(w.c.t, f, sizeof(f), false), 0);
	assert_int_equal(tconn_stats(w.c.t)->tx_records, before + 1);
	for (i = 0; i < 1000; i++) {
		fill(f, sizeof(f), (uint8_t)(sent + 2 + i));
		r = tconn_send(w.c.t, f, sizeof(f), false);
		if (r == -ENOBUFS)
			break;
		assert_int_equal(r, 0);
	}
	assert_int_equal(r, -ENOBUFS);
	assert_int_equal(tconn_stats(w.c.t)->tx_dropped, 3);
	assert_true(tconn_events(w.c.t) & EV_WRITE);
	/* Everything accepted arrives, in order, once the server reads again. */
	assert_true(RUN_UNTIL(&w, w.s.frames == tconn_stats(w.c.t)->tx_records));
	assert_int_equal(w.s.bad, 0);
	assert_int_equal(w.s.rc, 0);
	world_free(&w);
}

static void test_queue_limits(void **state)
{
	(void)state;
	queue_limits(TURL_TCP, false);
	queue_limits(TURL_WSS, false);
	queue_limits(TURL_TCP, true);
	queue_limits(TURL_TLS, true);
	queue_limits(TURL_WSS, true);
}

/*
 * Deferred frames: nothing reaches the socket before tconn_flush (tx_bytes stands still),
 * then all of them arrive in order; over TLS they go as one TLS record, not one each.
 */
static void deferred(uint8_t kind)
{
	enum { N = 20, LEN = 100, TLS_OVERHEAD = 22 }; /* a TLS 1.3 record: header, type, tag */
	struct world w;
	uint8_t seq = 0;
	uint64_t before, wire;
	struct pollfd p;

	world_init(&w, kind, "127.0.0.1", "/wgrelay");
	connect_client(&w, &w.laddr);
	assert_true(RUN_UNTIL(&w, w.c.t && tconn_state(w.c.t) == TCONN_OPEN));
	send_seq(w.c.t, &seq, 1); /* the server opens (it sniffs the first bytes) */
	assert_true(RUN_UNTIL(&w, w.s.frames == 1));
	assert_int_equal(tconn_flush(w.c.t), 0); /* nothing waits: a no-op */

	tconn_defer(w.c.t, true);
	before = tconn_stats(w.c.t)->tx_bytes;
	for (int i = 0; i < N; i++)
		send_seq(w.c.t, &seq, LEN);
	assert_int_equal(tconn_stats(w.c.t)->tx_records, 1 + N);
	assert_int_equal(tconn_stats(w.c.t)->tx_bytes, before);
	assert_true(tconn_events(w.c.t) & EV_WRITE); /* waiting output is still seen */
	p = (struct pollfd){.fd = tconn_fd(w.s.t), .events = POLLIN};
	assert_int_equal(poll(&p, 1, 0), 0);

	assert_int_equal(tconn_flush(w.c.t), 0);
	wire = tconn_stats(w.c.t)->tx_bytes - before;
	assert_true(wire >= (uint64_t)N * (STREAM_HDR_LEN + LEN));
	if (kind == TURL_TLS)
		assert_true(wire < (uint64_t)N * (STREAM_HDR_LEN + LEN + TLS_OVERHEAD));
	assert_false(tconn_events(w.c.t) & EV_WRITE);
	assert_true(RUN_UNTIL(&w, w.s.frames == 1 + N));
	assert_int_equal(w.s.bad, 0);

	/* A deferred server's answers from inside the callback go out with its tconn_io. */
	tconn_defer(w.s.t, true);
	w.s.echo = true;
	w.s.next_seq = w.c.next_seq = 0;
	seq = 0;
	for (int i = 0; i < N; i++)
		send_seq(w.c.t, &seq, 1 + (size_t)i * 97 % STREAM_MAX_RECORD);
	before = tconn_stats(w.c.t)->tx_bytes;
	tconn_defer(w.c.t, false); /* writes what waits */
	assert_true(tconn_stats(w.c.t)->tx_bytes > before);
	assert_true(RUN_UNTIL(&w, w.c.frames == N));
	assert_int_equal(w.c.bad + w.s.bad, 0);
	assert_int_equal(w.c.rc, 0);
	assert_int_equal(w.s.rc, 0);
	world_free(&w);
}

static void test_deferred(void **state)
{
	(void)state;
	deferred(TURL_TCP);
	deferred(TURL_TLS);
	deferred(TURL_WS);
	deferred(TURL_WSS);
}

/* A raw client sends bytes; the server finishes with a reason containing why. */
static void bad_client(const char *bytes, size_t n, bool with_tls, const char *why, uint8_t kind)
{
	struct world w;

	world_init(&w, TURL_TCP, "127.0.0.1", "/wgrelay");
	if (!with_tls)
		w.srv.tls = NULL;
	w.raw = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_int_equal(connect(w.raw, &w.laddr.sa, w.laddr.len), 0);
	assert_int_equal(send(w.raw, bytes, n, 0), (ssize_t)n);
	assert_true(RUN_UNTIL(&w, w.s.rc < 0));
	assert_non_null(strstr(tconn_error(w.s.t), why));
	assert_int_equal(tconn_kind(w.s.t), kind); /* as far as sniffing got */
	assert_int_equal(w.s.frames, 0);
	world_free(&w);
}

static void test_bad_preface(void **state)
{
	(void)state;
	bad_client("\xff garbage", 9, true, "bad preface", 0);
	bad_client("\x16\x03\x01\x00\x05hello", 10, false, "TLS not offered", 0);
	bad_client("\x16\x03\x01\x00\x05hello", 10, true, "TLS handshake failed", 0);
	bad_client("\x10\x01", 2, true, "bad record length", TURL_TCP);
	bad_client("\x00\x00", 2, true, "bad record length", TURL_TCP);
	bad_client("GET / HTTP/1.1\r\n\r\n", 18, true, "WebSocket upgrade refused: 4", TURL_WS);
	/* After a good upgrade: a text message, then a message announced over the limit. */
	{
		static const char up[] =
		    "GET /wgrelay HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
		    "Connection: Upgrade\r\n"
		    "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
		    "Sec-WebSocket-Version: 13\r\n\r\n";
		char b[256];
		size_t n = sizeof(up) - 1;

		memcpy(b, up, n);
		memcpy(b + n, "\x81\x82\0\0\0\0hi", 8); /* masked text "hi" */
		bad_client(b, n + 8, true, "WebSocket text message", TURL_WS);
		memcpy(b + n, "\x82\xff\x40\0\0\0\0\0\0\0\0\0\0\0xy", 16); /* 2^62 bytes */
		bad_client(b, n + 16, true, "WebSocket message too long", TURL_WS);
	}
}

static void test_ws_path(void **state)
{
	struct world w;

	(void)state;
	world_init(&w, TURL_WS, "127.0.0.1", "/other");
	connect_client(&w, &w.laddr);
	assert_true(RUN_UNTIL(&w, w.c.rc < 0));
	assert_non_null(strstr(tconn_error(w.c.t), "404"));
	assert_true(RUN_UNTIL(&w, w.s.rc < 0));
	assert_non_null(strstr(tconn_error(w.s.t), "404"));
	world_free(&w);
}

static void test_refused(void **state)
{
	struct world w;
	struct addr to;

	(void)state;
	world_init(&w, TURL_TCP, "127.0.0.1", "/wgrelay");
	to = w.laddr;
	close(w.lfd); /* nobody listens there any more */
	w.lfd = listen_loopback(&w.laddr);
	connect_client(&w, &to);
	assert_true(RUN_UNTIL(&w, w.c.rc < 0));
	assert_string_equal(tconn_error(w.c.t), "connection refused");
	assert_int_equal(w.c.rc, -ECONNREFUSED);
	world_free(&w);
}

/* ---- proxies: a thread accepts one client, handshakes, connects onward, relays ---- */

struct proxy {
	int lfd;
	struct addr addr, target;
	bool http, refuse, name_ok;
	pthread_t th;
	char seen_host[64];
};

static bool read_full(int fd, void *p, size_t n)
{
	size_t got = 0;
	ssize_t r;

	while (got < n) {
		r = recv(fd, (uint8_t *)p + got, n - got, 0);
		if (r <= 0)
			return false;
		got += (size_t)r;
	}
	return true;
}

/* RFC 1928: greeting, CONNECT, then the reply. false: refused or malformed. */
static bool proxy_socks5(struct proxy *px, int fd)
{
	uint8_t b[300], len;
	static const uint8_t ok[] = {5, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	static const uint8_t no[] = {5, 2, 0, 1, 0, 0, 0, 0, 0, 0};

	if (!read_full(fd, b, 2) || b[0] != 5 || !read_full(fd, b + 2, b[1]))
		return false;
	if (send(fd, "\x05\x00", 2, MSG_NOSIGNAL) != 2)
		return false;
	if (!read_full(fd, b, 4) || b[0] != 5 || b[1] != 1)
		return false;
	if (b[3] == 1) {
		if (!read_full(fd, b, 6))
			return false;
		inet_ntop(AF_INET, b, px->seen_host, sizeof(px->seen_host));
	} else if (b[3] == 3) {
		if (!read_full(fd, &len, 1) || !read_full(fd, b, (size_t)len + 2))
			return false;
		snprintf(px->seen_host, sizeof(px->seen_host), "%.*s", len, (char *)b);
	} else {
		return false;
	}
	if (px->refuse) {
		send(fd, no, sizeof(no), MSG_NOSIGNAL);
		return false;
	}
	return send(fd, ok, sizeof(ok), MSG_NOSIGNAL) == sizeof(ok);
}

/* RFC 9110 §9.3.6: CONNECT host:port, then 200 (or 403). */
static bool proxy_http(struct proxy *px, int fd)
{
	char b[1024] = "";
	size_t n = 0;
	ssize_t r;
	static const char ok[] = "HTTP/1.1 200 Connection established\r\n\r\n";
	static const char no[] = "HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n";

	while (n < sizeof(b) - 1 && !strstr(b, "\r\n\r\n")) {
		r = recv(fd, b + n, sizeof(b) - 1 - n, 0);
		if (r <= 0)
			return false;
		n += (size_t)r;
		b[n] = '\0';
	}
	if (sscanf(b, "CONNECT %63s HTTP/1.1", px->seen_host) != 1)
		return false;
	if (px->refuse) {
		send(fd, no, sizeof(no) - 1, MSG_NOSIGNAL);
		return false;
	}
	return send(fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) == sizeof(ok) - 1;
}

static void *proxy_main(void *arg)
{
	struct proxy *px = arg;
	struct pollfd p[2];
	uint8_t buf[16384];
	int a, b = -1;
	ssize_t r;

	a = accept(px->lfd, NULL, NULL);
	if (a < 0)
		return NULL;
	if (!(px->http ? proxy_http(px, a) : proxy_socks5(px, a)))
		goto out;
	b = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(b, &px->target.sa, px->target.len) < 0)
		goto out;
	/* Relay until either side closes; 10 s of silence at most. */
	for (int i = 0; i < 400; i++) {
		p[0] = (struct pollfd){.fd = a, .events = POLLIN};
		p[1] = (struct pollfd){.fd = b, .events = POLLIN};
		if (poll(p, 2, 25) < 0)
			break;
		if (p[0].revents) {
			r = recv(a, buf, sizeof(buf), 0);
			if (r <= 0 || send(b, buf, (size_t)r, MSG_NOSIGNAL) != r)
				break;
			i = 0;
		}
		if (p[1].revents) {
			r = recv(b, buf, sizeof(buf), 0);
			if (r <= 0 || send(a, buf, (size_t)r, MSG_NOSIGNAL) != r)
				break;
			i = 0;
		}
	}
out:
	close(a);
	if (b >= 0)
		close(b);
	return NULL;
}

static void proxy_start(struct proxy *px, const struct addr *target, bool http, bool refuse)
{
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sin);

	memset(px, 0, sizeof(*px));
	px->target = *target;
	px->http = http;
	px->refuse = refuse;
	px->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(px->lfd >= 0);
	assert_int_equal(bind(px->lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(listen(px->lfd, 4), 0);
	assert_int_equal(getsockname(px->lfd, (struct sockaddr *)&sin, &len), 0);
	addr_from_sockaddr(&px->addr, (struct sockaddr *)&sin, len);
	assert_int_equal(pthread_create(&px->th, NULL, proxy_main, px), 0);
}

static void proxy_stop(struct proxy *px)
{
	pthread_join(px->th, NULL);
	close(px->lfd);
}

static void via_proxy(uint8_t kind, const char *host, bool http)
{
	struct proxy px;
	struct world w;
	char want[64];

	world_init(&w, kind, host, "/wgrelay");
	proxy_start(&px, &w.laddr, http, false);
	w.cl.proxy.kind = http ? TURL_PROXY_HTTP : TURL_PROXY_SOCKS5;
	snprintf(w.cl.proxy.host, sizeof(w.cl.proxy.host), "127.0.0.1");
	w.cl.proxy.port = addr_port(&px.addr);
	connect_client(&w, &px.addr);
	assert_true(RUN_UNTIL(&w, w.c.t && tconn_state(w.c.t) == TCONN_OPEN));
	exchange(&w);
	assert_int_equal(tconn_kind(w.s.t), kind);
	/* The proxy was asked for the relay by name or address, as given. */
	if (http)
		snprintf(want, sizeof(want), "%s:%u", host, addr_port(&w.laddr));
	else
		snprintf(want, sizeof(want), "%s", host);
	assert_string_equal(px.seen_host, want);
	tconn_free(w.c.t);
	w.c.t = NULL;
	proxy_stop(&px);
	world_free(&w);
}

static void test_socks5(void **state)
{
	(void)state;
	via_proxy(TURL_TCP, "127.0.0.1", false);
	via_proxy(TURL_WSS, "localhost", false); /* a name goes unresolved (ATYP 3) */
}

static void test_http_connect(void **state)
{
	(void)state;
	via_proxy(TURL_TLS, "127.0.0.1", true);
	via_proxy(TURL_WS, "127.0.0.1", true);
}

static void proxy_refuses(bool http, const char *why)
{
	struct proxy px;
	struct world w;

	world_init(&w, TURL_TCP, "127.0.0.1", "/wgrelay");
	proxy_start(&px, &w.laddr, http, true);
	w.cl.proxy.kind = http ? TURL_PROXY_HTTP : TURL_PROXY_SOCKS5;
	snprintf(w.cl.proxy.host, sizeof(w.cl.proxy.host), "127.0.0.1");
	w.cl.proxy.port = addr_port(&px.addr);
	connect_client(&w, &px.addr);
	assert_true(RUN_UNTIL(&w, w.c.rc < 0));
	assert_string_equal(tconn_error(w.c.t), why);
	assert_null(w.s.t); /* nothing reached the relay */
	proxy_stop(&px);
	world_free(&w);
}

static void test_proxy_refuses(void **state)
{
	(void)state;
	proxy_refuses(false, "proxy: connection not allowed by ruleset");
	proxy_refuses(true, "proxy: CONNECT refused: 403");
}

static int group_setup(void **state)
{
	char err[256];

	(void)state;
	if (tls_ctx_server(&sctx, NULL, NULL, err, sizeof(err)) < 0)
		return -1;
	return tls_ctx_client(&cctx) < 0 ? -1 : 0;
}

static int group_teardown(void **state)
{
	(void)state;
	tls_ctx_free(sctx);
	tls_ctx_free(cctx);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tcp),          cmocka_unit_test(test_tls),
	    cmocka_unit_test(test_ws),           cmocka_unit_test(test_wss),
	    cmocka_unit_test(test_queue_limits), cmocka_unit_test(test_deferred),
	    cmocka_unit_test(test_bad_preface),  cmocka_unit_test(test_ws_path),
	    cmocka_unit_test(test_refused),      cmocka_unit_test(test_socks5),
	    cmocka_unit_test(test_http_connect), cmocka_unit_test(test_proxy_refuses),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
