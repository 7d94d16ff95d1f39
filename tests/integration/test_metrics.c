/*
 * Integration tests of wgrelayd's /metrics server under slow and half-open clients: scrapes
 * must still be served while an attacker keeps more half-open requests open than there are
 * slots, a trickled request is closed at its deadline even when no one else connects, and a
 * flood from one address cannot evict another address's connection.
 */
#include <arpa/inet.h>
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
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "harness.h"

#define PARTIAL "GET /metrics HTTP/1.0\r\nX-Slow: "

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* A TCP connection to maddr from src (an address of 127/8), or -1. */
static int tcp_open(const char *maddr, const char *src)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct addr a;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(addr_parse(&a, maddr, 0), 0);
	assert_int_equal(inet_pton(AF_INET, src, &sa.sin_addr), 1);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || connect(fd, &a.sa, a.len) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* The relay closed fd (EOF or reset), or anything arrived on it. */
static bool peer_closed(int fd)
{
	struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};

	return poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
}

static bool send_all(int fd, const char *s)
{
	size_t len = strlen(s);

	return send(fd, s, len, MSG_NOSIGNAL | MSG_DONTWAIT) == (ssize_t)len;
}

/* GET /metrics from src, waiting at most timeout_ms for the whole answer; its length or -1. */
static int scrape(const char *maddr, const char *src, char *out, size_t cap, int timeout_ms)
{
	uint64_t end = now_ms() + (uint64_t)timeout_ms;
	size_t n = 0;
	int fd = tcp_open(maddr, src);

	out[0] = '\0';
	if (fd < 0)
		return -1;
	if (!send_all(fd, "GET /metrics HTTP/1.0\r\n\r\n")) {
		close(fd);
		return -1;
	}
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		uint64_t t = now_ms();
		ssize_t k;

		if (t >= end || poll(&p, 1, (int)(end - t)) <= 0)
			break;
		k = recv(fd, out + n, cap - 1 - n, 0);
		if (k <= 0)
			break;
		n += (size_t)k;
		if (n + 1 >= cap)
			break;
	}
	out[n] = '\0';
	close(fd);
	return strstr(out, "HTTP/1.0 200 OK") && metric(out, "wgrelayd_uptime_seconds") >= 0
	           ? (int)n
	           : -1;
}

#define ATTACKERS 12 /* more than the relay's 8 slots */

struct slow {
	int fd;
	uint64_t since;
};

/* (Re)open an attacker's half-open request when the relay closed it or it is 4 s old. */
static void slow_refresh(struct slow *s, const char *maddr, const char *src, uint64_t t)
{
	if (s->fd >= 0 && !peer_closed(s->fd) && t - s->since < 4000)
		return;
	if (s->fd >= 0)
		close(s->fd);
	s->fd = tcp_open(maddr, src);
	s->since = t;
	if (s->fd >= 0 && !send_all(s->fd, PARTIAL)) {
		close(s->fd);
		s->fd = -1;
	}
}

/*
 * Twelve half-open requests from three addresses, each trickling a byte a second and opened
 * again as soon as the relay closes it (or every 4 s): at least 9 of 10 scrapes are served.
 */
static void test_half_open_requests_do_not_starve_scrapes(void **state)
{
	static const char *const srcs[3] = {"127.0.0.2", "127.0.0.3", "127.0.0.4"};
	struct slow att[ATTACKERS];
	char maddr[32], text[16384];
	int served = 0;
	uint64_t start;

	(void)state;
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", free_port());
	relay_start("--allow-loopback", "--metrics", maddr, NULL);
	assert_true(scrape(maddr, "127.0.0.1", text, sizeof(text), 2000) > 0);
	start = now_ms();
	for (int i = 0; i < ATTACKERS; i++) {
		att[i].fd = -1;
		slow_refresh(&att[i], maddr, srcs[i % 3], start);
	}
	for (int round = 0; round < 10; round++) {
		uint64_t t0 = now_ms();

		usleep(1000 * 1000);
		for (int pass = 0; pass < 2;
		     pass++) { /* again for those refused in the first pass */
			for (int i = 0; i < ATTACKERS; i++) {
				slow_refresh(&att[i], maddr, srcs[i % 3], now_ms());
				if (pass == 0 && att[i].fd >= 0 && !send_all(att[i].fd, "x")) {
					close(att[i].fd);
					att[i].fd = -1;
				}
			}
			usleep(20 * 1000);
		}
		if (scrape(maddr, "127.0.0.1", text, sizeof(text), 2000) > 0)
			served++;
		printf("round %d: %d served, %llu ms\n", round, served,
		       (unsigned long long)(now_ms() - t0));
	}
	for (int i = 0; i < ATTACKERS; i++)
		if (att[i].fd >= 0)
			close(att[i].fd);
	assert_true(served >= 9);
	assert_true(now_ms() - start < 40000);
	assert_true(scrape(maddr, "127.0.0.1", text, sizeof(text), 2000) > 0);
	assert_true(metric(text, "wgrelayd_metrics_connections_dropped_total") >= ATTACKERS);
}

/* A request trickled a byte every 250 ms is closed at its deadline, with no other connection. */
static void test_trickled_request_closed_at_deadline(void **state)
{
	char maddr[32], text[16384];
	uint64_t start;
	int fd;

	(void)state;
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", free_port());
	relay_start("--allow-loopback", "--metrics", maddr, NULL);
	fd = tcp_open(maddr, "127.0.0.1");
	assert_true(fd >= 0);
	start = now_ms();
	assert_true(send_all(fd, PARTIAL));
	while (!peer_closed(fd) && now_ms() - start < 8000) {
		usleep(250 * 1000);
		if (!send_all(fd, "x"))
			break;
	}
	printf("closed after %llu ms\n", (unsigned long long)(now_ms() - start));
	assert_true(now_ms() - start >= 1000);
	assert_true(now_ms() - start < 6000);
	close(fd);
	assert_true(scrape(maddr, "127.0.0.1", text, sizeof(text), 2000) > 0);
	assert_int_equal(metric(text, "wgrelayd_metrics_connections_dropped_total"), 1);
}

/*
 * Twelve connections from one address (more than the 8 slots, so without the per-address cap
 * the oldest, another address's slow request, would be evicted) leave that request alone.
 */
static void test_flood_from_one_source_keeps_others(void **state)
{
	char maddr[32], text[16384];
	int victim, flood[12];
	size_t n = 0;
	ssize_t k;

	(void)state;
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", free_port());
	relay_start("--allow-loopback", "--metrics", maddr, NULL);
	victim = tcp_open(maddr, "127.0.0.5");
	assert_true(victim >= 0);
	assert_true(send_all(victim, "GET /metrics HTTP/1.0\r\n"));
	usleep(50 * 1000);
	for (int i = 0; i < 12; i++) {
		flood[i] = tcp_open(maddr, "127.0.0.6");
		assert_true(flood[i] >= 0);
		assert_true(send_all(flood[i], PARTIAL));
	}
	usleep(200 * 1000);
	assert_true(send_all(victim, "\r\n"));
	{
		struct timeval tv = {.tv_sec = 2};

		setsockopt(victim, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	while (n + 1 < sizeof(text) && (k = recv(victim, text + n, sizeof(text) - 1 - n, 0)) > 0)
		n += (size_t)k;
	text[n] = '\0';
	close(victim);
	for (int i = 0; i < 12; i++)
		close(flood[i]);
	assert_non_null(strstr(text, "HTTP/1.0 200 OK"));
	/* 12 from one address, which holds at most 4 slots: 8 of its own were evicted */
	assert_true(metric(text, "wgrelayd_metrics_connections_dropped_total") >= 8);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_half_open_requests_do_not_starve_scrapes, relay_stop),
	    cmocka_unit_test_teardown(test_trickled_request_closed_at_deadline, relay_stop),
	    cmocka_unit_test_teardown(test_flood_from_one_source_keeps_others, relay_stop),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
