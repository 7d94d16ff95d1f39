/*
 * Integration tests of relay links over streams (PROTOCOL.md §10.2, §12): real wgrelayd
 * processes on loopback. Relay A's descriptor names a UDP endpoint nobody answers at, and a
 * TCP stream endpoint that works. B's Peer line names that UDP endpoint and A's tcp:// URL:
 * once UDP goes unanswered, B fetches A's descriptor and makes the link over TCP. C's Peer
 * line names the same UDP endpoint without the URL, and never links (the control). D goes
 * through a SOCKS5 proxy run by this test, to A named as an onion service: the name reaches
 * the proxy unresolved and the link forms through it. E's Peer line has A's working UDP port
 * and no URL: E learns A's descriptor over UDP, its handshakes to the descriptor's UDP
 * endpoint go unanswered, and E links over the descriptor's TCP endpoint. F's Peer line names
 * A as wss://localhost/...: the name is looked up off the loop, then WebSocket over TLS.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "key.h"
#include "netrelay.h"

/* Conditions are polled every NRELAY_POLL_MS, this many times (40 s: UDP is given ~10 s). */
#define POLL_TIMES 400
#define ONION_NAME "wgrelayexampleaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.onion"

static struct nrelay A;
static uint16_t closed_port, stream_port;
static char akey[KEY_B64_STRLEN];

static const char *const stream_links = "wgrelayd_network_links_by_carrier{carrier=\"stream\"}";
static const char *const udp_links = "wgrelayd_network_links_by_carrier{carrier=\"udp\"}";

/* A relay whose only Peer is A under the closed UDP port, with urls after the key (or none). */
static void start_peer(struct nrelay *x, int slot, const char *urls, const char *extra)
{
	char text[1024];

	snprintf(text, sizeof(text),
	         "Network = on\nMinLinks = 1\nMaxLinks = 1\nPeer = 127.0.0.1:%u %s%s%s\n%s",
	         closed_port, akey, *urls ? " " : "", urls, extra);
	nrelay_start(x, free_port(), slot, 10, text);
}

static int group_setup(void **state)
{
	char text[512];

	(void)state;
	if (sodium_init() < 0)
		return -1;
	/* Nothing listens there: a UDP endpoint that never answers, as behind a UDP block. */
	closed_port = free_port();
	stream_port = free_port();
	snprintf(text, sizeof(text),
	         "Network = on\nAdvertise = 127.0.0.1:%u\n"
	         "[Transport]\nListen = 127.0.0.1:%u\nListen = [::1]:%u\n"
	         "Advertise = tcp://127.0.0.1:%u\n",
	         closed_port, stream_port, stream_port, stream_port);
	nrelay_start(&A, free_port(), 0, 10, text);
	key_to_base64(akey, A.pub);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	return nrelay_stop(&A);
}

static void test_tcp_after_udp_unanswered(void **state)
{
	struct nrelay B, C;
	char url[64];

	(void)state;
	snprintf(url, sizeof(url), "tcp://127.0.0.1:%u", stream_port);
	start_peer(&B, 1, url, "");
	start_peer(&C, 2, "", "");
	/* Positive control: the relays are up and nothing is linked yet. */
	assert_int_equal(nrelay_metric(&A, stream_links), 0);
	assert_int_equal(nrelay_metric(&C, stream_links), 0);
	assert_int_equal(nrelay_wait_metric(&B, stream_links, 1, POLL_TIMES), 1);
	assert_int_equal(nrelay_wait_metric(&A, stream_links, 1, POLL_TIMES), 1);
	assert_int_equal(nrelay_metric(&B, udp_links), 0);
	assert_int_equal(nrelay_metric(&B, "wgrelayd_stream_dialled_total{transport=\"tcp\"}"), 1);
	/* Gossip ran over it: each store holds the other's descriptor beside its own. */
	assert_true(nrelay_wait_metric(&B, "wgrelayd_network_store_descriptors", 2, POLL_TIMES) >=
	            2);
	assert_true(nrelay_wait_metric(&A, "wgrelayd_network_store_descriptors", 2, POLL_TIMES) >=
	            2);
	/* C started with B and had as long: without the URL there is no way to A. */
	assert_int_equal(nrelay_metric(&C, "wgrelayd_network_links"), 0);
	assert_int_equal(nrelay_metric(&C, "wgrelayd_network_stream_dials_total"), 0);
	assert_int_equal(nrelay_metric(&C, "wgrelayd_network_store_descriptors"), 1);
	assert_int_equal(nrelay_stop(&C), 0);
	/* The link ends with B, and A sees it go at once (its stream closed). */
	assert_int_equal(nrelay_stop(&B), 0);
	for (int i = 0; i < POLL_TIMES && nrelay_metric(&A, stream_links) != 0; i++)
		usleep(NRELAY_POLL_MS * 1000);
	assert_int_equal(nrelay_metric(&A, stream_links), 0);
}

/* A SOCKS5 proxy (RFC 1928, no authentication) that sends every name to 127.0.0.1. */
static struct {
	int lfd;
	uint16_t port;
	pthread_t th;
	atomic_int connects;
	char name[256]; /* the last name asked for (ATYP 3), written before connects counts it */
} px;

static bool px_read(int fd, uint8_t *p, size_t n)
{
	for (size_t got = 0; got < n;) {
		ssize_t k = read(fd, p + got, n - got);

		if (k <= 0)
			return false;
		got += (size_t)k;
	}
	return true;
}

/* Copy bytes both ways until either side closes. */
static void px_splice(int a, int b)
{
	uint8_t buf[4096];

	for (;;) {
		struct pollfd p[2] = {{.fd = a, .events = POLLIN}, {.fd = b, .events = POLLIN}};

		if (poll(p, 2, 60000) <= 0)
			return;
		for (int i = 0; i < 2; i++) {
			ssize_t k;

			if (!(p[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			k = read(p[i].fd, buf, sizeof(buf));
			if (k <= 0 || write(p[1 - i].fd, buf, (size_t)k) != k)
				return;
		}
	}
}

static void *px_conn(void *arg)
{
	int fd = (int)(intptr_t)arg, up = -1;
	uint8_t h[262], ok[10] = {5, 0, 0, 1, 0, 0, 0, 0, 0, 0};
	struct sockaddr_in to = {.sin_family = AF_INET};
	char name[256];

	/* Greeting: any methods, "no authentication" chosen. */
	if (!px_read(fd, h, 2) || h[0] != 5 || !px_read(fd, h + 2, h[1]) ||
	    write(fd, "\x05\x00", 2) != 2)
		goto out;
	/* CONNECT with a name (the relay must not resolve it). */
	if (!px_read(fd, h, 5) || h[0] != 5 || h[1] != 1 || h[3] != 3 ||
	    !px_read(fd, h + 5, (size_t)h[4] + 2))
		goto out;
	memcpy(name, h + 5, h[4]);
	name[h[4]] = '\0';
	to.sin_port = (in_port_t)(h[5 + h[4]] | h[6 + h[4]] << 8);
	to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	up = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (up < 0 || connect(up, (struct sockaddr *)&to, sizeof(to)) < 0)
		goto out;
	strcpy(px.name, name);
	atomic_fetch_add(&px.connects, 1);
	if (write(fd, ok, sizeof(ok)) != sizeof(ok))
		goto out;
	px_splice(fd, up);
out:
	if (up >= 0)
		close(up);
	close(fd);
	return NULL;
}

static void *px_accept(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept4(px.lfd, NULL, NULL, SOCK_CLOEXEC);
		pthread_t th;

		if (fd < 0)
			return NULL; /* the listener was shut down */
		if (pthread_create(&th, NULL, px_conn, (void *)(intptr_t)fd) != 0)
			close(fd);
		else
			pthread_detach(th);
	}
}

static void px_start(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t al = sizeof(a);

	px.lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(px.lfd >= 0);
	assert_int_equal(bind(px.lfd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(px.lfd, 16), 0);
	assert_int_equal(getsockname(px.lfd, (struct sockaddr *)&a, &al), 0);
	px.port = ntohs(a.sin_port);
	assert_int_equal(pthread_create(&px.th, NULL, px_accept, NULL), 0);
}

static void px_stop(void)
{
	shutdown(px.lfd, SHUT_RDWR);
	pthread_join(px.th, NULL);
	close(px.lfd);
}

static void test_onion_through_socks5(void **state)
{
	struct nrelay D;
	char url[160], extra[96];

	(void)state;
	px_start();
	snprintf(url, sizeof(url), "tcp://%s:%u", ONION_NAME, stream_port);
	snprintf(extra, sizeof(extra), "Proxy = socks5://127.0.0.1:%u\n", px.port);
	assert_int_equal(nrelay_metric(&A, stream_links), 0);
	start_peer(&D, 3, url, extra);
	/* Through the proxy at once: no UDP tries first. */
	assert_int_equal(nrelay_wait_metric(&D, stream_links, 1, POLL_TIMES), 1);
	assert_int_equal(nrelay_wait_metric(&A, stream_links, 1, POLL_TIMES), 1);
	assert_true(atomic_load(&px.connects) >= 1);
	assert_string_equal(px.name, ONION_NAME);
	assert_true(nrelay_wait_metric(&D, "wgrelayd_network_store_descriptors", 2, POLL_TIMES) >=
	            2);
	assert_int_equal(nrelay_metric(&D, udp_links), 0);
	assert_int_equal(nrelay_stop(&D), 0);
	px_stop();
	for (int i = 0; i < POLL_TIMES && nrelay_metric(&A, stream_links) != 0; i++)
		usleep(NRELAY_POLL_MS * 1000);
}

static void test_descriptor_endpoint(void **state)
{
	struct nrelay E;
	char text[256], log[65536];

	(void)state;
	assert_int_equal(nrelay_metric(&A, stream_links), 0);
	snprintf(text, sizeof(text), "Network = on\nMinLinks = 1\nMaxLinks = 1\nPeer = %s %s\n",
	         A.addr, akey);
	nrelay_start(&E, free_port(), 4, 10, text);
	/* The descriptor comes over UDP at once; the link needs the UDP tries to fail first. */
	assert_true(nrelay_wait_metric(&E, "wgrelayd_network_store_descriptors", 2, POLL_TIMES) >=
	            2);
	assert_int_equal(nrelay_metric(&E, stream_links), 0);
	assert_int_equal(nrelay_wait_metric(&E, stream_links, 1, POLL_TIMES), 1);
	assert_int_equal(nrelay_wait_metric(&A, stream_links, 1, POLL_TIMES), 1);
	nrelay_log(&E, log, sizeof(log));
	if (!getenv("WGR_TEST_VERBOSE"))
		assert_non_null(strstr(log, "UDP unanswered, dialling tcp://127.0.0.1:"));
	assert_int_equal(nrelay_stop(&E), 0);
	for (int i = 0; i < POLL_TIMES && nrelay_metric(&A, stream_links) != 0; i++)
		usleep(NRELAY_POLL_MS * 1000);
}

static void test_name_wss(void **state)
{
	struct nrelay F;
	char url[96];

	(void)state;
	assert_int_equal(nrelay_metric(&A, stream_links), 0);
	snprintf(url, sizeof(url), "wss://localhost:%u/wgrelay", stream_port);
	start_peer(&F, 5, url, "");
	assert_int_equal(nrelay_wait_metric(&F, stream_links, 1, POLL_TIMES), 1);
	assert_int_equal(nrelay_wait_metric(&A, stream_links, 1, POLL_TIMES), 1);
	assert_int_equal(nrelay_metric(&F, "wgrelayd_stream_dialled_total{transport=\"wss\"}"), 1);
	assert_int_equal(nrelay_metric(&A, "wgrelayd_stream_accepted_total{transport=\"wss\"}"), 1);
	assert_int_equal(nrelay_stop(&F), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_tcp_after_udp_unanswered),
	    cmocka_unit_test(test_onion_through_socks5),
	    cmocka_unit_test(test_descriptor_endpoint),
	    cmocka_unit_test(test_name_wss),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
