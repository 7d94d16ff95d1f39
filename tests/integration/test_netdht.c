/*
 * Integration test of wgrelayd's DHT use on loopback (PROTOCOL.md §11): five relays with
 * Dht = on and no Peer line, in a private DHT whose only bootstrap node is the first relay's
 * (it has none itself: it waits to be contacted). Every relay must find every other one
 * through the DHT (get_peers, then DESC_REQ) and gossip, and link. A sixth relay, on the
 * relay network but without the DHT, shows that nothing else made them meet: it stays alone.
 * Then libtorrent (when its Python module is there) gets a relay's descriptor from our
 * relays' DHT as a BEP 44 item, which shows that they speak the real Mainline protocol.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "descriptor.h"
#include "identity.h"
#include "key.h"
#include "netrelay.h"

#define NRELAYS 5
/* Conditions are polled every NRELAY_POLL_MS, this many times (30 s; stores fill in 1 s). */
#define POLL_TIMES 300

static struct nrelay D[NRELAYS], X;

/* A port p of loopback with p + 1 free too (the default DhtListen is the Listen port + 1). */
static uint16_t free_pair(void)
{
	for (int i = 0; i < 64; i++) {
		uint16_t p = free_port();
		struct sockaddr_in sa = {.sin_family = AF_INET,
		                         .sin_addr.s_addr = htonl(0x7f000001),
		                         .sin_port = htons((uint16_t)(p + 1))};
		int fd = socket(AF_INET, SOCK_DGRAM, 0), ok;

		ok = p < 65535 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
		close(fd);
		if (ok)
			return p;
	}
	fail_msg("no two free ports in a row");
	return 0;
}

/* Run y's wgrelayd, which must exit within 10 s: its wait status. */
static int exit_status(struct nrelay *y)
{
	pid_t w = 0;
	int status = 0;

	nrelay_exec(y);
	for (int i = 0; i < 500 && (w = waitpid(y->pid, &status, WNOHANG)) == 0; i++)
		usleep(20000);
	if (w == 0) {
		kill(y->pid, SIGKILL);
		waitpid(y->pid, NULL, 0);
		fail_msg("wgrelayd with %s did not exit", y->conf);
	}
	y->pid = 0;
	return status;
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static uint64_t started_ms;

static int group_setup(void **state)
{
	char net[512];
	uint16_t p0;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	/* D[0]: the default DhtListen (its Listen port + 1), no bootstrap node of its own. */
	p0 = free_pair();
	started_ms = now_ms();
	/* 12 session ports each, in the order of D, then X's. */
	nrelay_start(&D[0], p0, 0, 12, "Dht = on\n");
	snprintf(D[0].dht, sizeof(D[0].dht), "127.0.0.1:%u", p0 + 1);
	for (int i = 1; i < NRELAYS; i++) {
		snprintf(D[i].dht, sizeof(D[i].dht), "127.0.0.1:%u", free_port());
		snprintf(net, sizeof(net), "Dht = on\nDhtListen = %s\nDhtBootstrap = %s\n",
		         D[i].dht, D[0].dht);
		nrelay_start(&D[i], free_port(), i, 12, net);
	}
	/* The control: the relay network on, no DHT, no Peer line. */
	nrelay_start(&X, free_port(), NRELAYS, 12, "Network = on\n");
	return 0;
}

static int group_teardown(void **state)
{
	int e = 0;

	(void)state;
	for (int i = 0; i < NRELAYS; i++)
		e |= nrelay_stop(&D[i]);
	e |= nrelay_stop(&X);
	return e;
}

static void test_stores_fill(void **state)
{
	long long found = 0, v;
	int full = 0;

	(void)state;
	for (int t = 0; t < POLL_TIMES && full < NRELAYS; t++) {
		full = 0;
		/* Full stores, and each relay's own announce and put done: gossip can fill the
		   stores before the DHT's first announce has an answer. */
		for (int i = 0; i < NRELAYS; i++)
			full +=
			    nrelay_metric(&D[i], "wgrelayd_network_store_descriptors") == NRELAYS &&
			    nrelay_metric(&D[i], "wgrelayd_dht_announces_total{result=\"ok\"}") >=
			        1 &&
			    nrelay_metric(&D[i], "wgrelayd_dht_puts_total{result=\"ok\"}") >= 1;
		if (full < NRELAYS)
			usleep(NRELAY_POLL_MS * 1000);
	}
	print_message("%d of %d relays held the %d relays' descriptors and had announced and put "
	              "%.1f s after the first start\n",
	              full, NRELAYS, NRELAYS, (double)(now_ms() - started_ms) / 1000);
	for (int i = 0; i < NRELAYS; i++) {
		assert_int_equal(nrelay_metric(&D[i], "wgrelayd_network_store_descriptors"),
		                 NRELAYS);
		assert_int_equal(nrelay_metric(&D[i], "wgrelayd_dht_enabled"), 1);
		assert_true(nrelay_metric(&D[i], "wgrelayd_dht_peer_lookups_total") >= 1);
		assert_true(nrelay_metric(&D[i], "wgrelayd_dht_nodes") >= 1);
		assert_int_equal(
		    nrelay_metric(&D[i], "wgrelayd_dht_refused_total{reason=\"bad-signature\"}"),
		    0);
		found += v = nrelay_metric(&D[i], "wgrelayd_dht_relays_found_total");
		assert_true(v >= 0);
		/* Everyone announced and put (the bootstrap node once someone had contacted it). */
		assert_true(nrelay_metric(&D[i], "wgrelayd_dht_announces_total{result=\"ok\"}") >=
		            1);
		assert_true(nrelay_metric(&D[i], "wgrelayd_dht_puts_total{result=\"ok\"}") >= 1);
	}
	/* Without Peer lines, only DESC_REQs to DHT addresses can have started it. */
	assert_true(found >= 1);
	/* The control knows only itself, and nobody found it. */
	assert_int_equal(nrelay_metric(&X, "wgrelayd_network_store_descriptors"), 1);
	assert_int_equal(nrelay_metric(&X, "wgrelayd_dht_enabled"), 0);
}

static void test_links_up(void **state)
{
	(void)state;
	/* MinLinks 3 (the default) of the 4 others: each relay dials until it has 3. */
	for (int i = 0; i < NRELAYS; i++) {
		assert_true(nrelay_wait_metric(&D[i], "wgrelayd_network_links", 3, POLL_TIMES) >=
		            3);
	}
	assert_int_equal(nrelay_metric(&X, "wgrelayd_network_links"), 0);
}

/* Run tests/integration/netdht_get.py; its output line into out. Its exit status. */
static int run_libtorrent_get(const char *boot, const uint8_t identity[32], char *out, size_t cap)
{
	const char *src = getenv("WGR_SOURCE_DIR");
	char script[512], hex[65];
	int pipefd[2], status = 0;
	size_t len = 0;
	pid_t pid, w = 0;

	assert_non_null(src);
	snprintf(script, sizeof(script), "%s/tests/integration/netdht_get.py", src);
	sodium_bin2hex(hex, sizeof(hex), identity, 32);
	assert_int_equal(pipe(pipefd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(pipefd[1], 1);
		close(pipefd[0]);
		/* 127.0.0.9: an address of its own, apart from our nodes'. */
		execlp("python3", "python3", script, "127.0.0.9", boot, hex, (char *)NULL);
		_exit(77); /* no python3: skipped like no libtorrent */
	}
	close(pipefd[1]);
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	/* The script gives up after 30 s; 45 s here, then it is killed. */
	for (int i = 0; i < 450 && (w = waitpid(pid, &status, WNOHANG)) == 0; i++) {
		ssize_t k = read(pipefd[0], out + len, cap - 1 - len);

		if (k > 0)
			len += (size_t)k;
		usleep(100000);
	}
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, &status, 0);
	}
	for (ssize_t k; (k = read(pipefd[0], out + len, cap - 1 - len)) > 0;)
		len += (size_t)k;
	close(pipefd[0]);
	out[len] = '\0';
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_libtorrent_gets_descriptor(void **state)
{
	static char out[8192];
	uint8_t bytes[DESC_MAX_LEN + 1];
	unsigned long long seq;
	struct descriptor d;
	long long own;
	size_t blen = 0;
	char *hex;
	int rc;

	(void)state;
	/* Bootstrapped at D[0], the item of D[2]: libtorrent finds the nodes that hold it. */
	rc = run_libtorrent_get(D[0].dht, D[2].id, out, sizeof(out));
	if (rc == 77) {
		print_message("no libtorrent Python module: %s", out);
		skip();
	}
	print_message("libtorrent: %.60s...\n", out);
	assert_int_equal(rc, 0);
	assert_int_equal(sscanf(out, "item %llu ", &seq), 1);
	hex = strchr(out + 5, ' ');
	assert_non_null(hex);
	hex++;
	hex[strcspn(hex, "\n")] = '\0';
	assert_int_equal(sodium_hex2bin(bytes, sizeof(bytes), hex, strlen(hex), NULL, &blen, NULL),
	                 0);
	/* The item's value is D[2]'s descriptor: it decodes, its signature verifies, it is D[2]'s,
	 * and the item's seq is the descriptor's (§11.2). */
	assert_int_equal(desc_decode(bytes, blen, &d), 0);
	assert_memory_equal(d.identity, D[2].id, 32);
	assert_memory_equal(d.noise, D[2].pub, 32);
	assert_int_equal(d.seq, seq);
	own = nrelay_metric(&D[2], "wgrelayd_network_own_seq");
	assert_true(own > 0 && (unsigned long long)own >= seq);
}

/* Each config that must not start, and the start of the message naming its line. */
static void test_config_errors(void **state)
{
	static const struct {
		const char *network, *msg;
	} bad[] = {
	    {"Dht = on\nDhtListen = 127.0.0.1:%u\n", "wgrelayd.conf:9: the port of a Listen"},
	    {"Dht = on\nDhtBootstrap = [::1]:6881\n", "wgrelayd.conf:9: bad DHT node"},
	    {"Dht = on\nDhtListen = [::1]:7000\n", "wgrelayd.conf:9: bad DHT address"},
	    {"Dht = maybe\n", "wgrelayd.conf:8: "},
	};
	struct nrelay y = {0};
	char text[1024], net[256];
	uint16_t port = free_port();

	(void)state;
	nrelay_dir(&y);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int status;

		snprintf(net, sizeof(net), bad[i].network, port);
		snprintf(text, sizeof(text),
		         "[Relay]\nListen = 127.0.0.1:%u\nKeyFile = %s/key\nMetrics = off\n"
		         "AllowLoopback = yes\nWorkers = 0\n[Network]\n%s",
		         port, y.dir, net);
		write_file(y.conf, text);
		unlink(y.log);
		status = exit_status(&y);
		assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 1);
		nrelay_log(&y, text, sizeof(text));
		if (!strstr(text, bad[i].msg))
			fail_msg("config %zu: no '%s' in: %s", i, bad[i].msg, text);
	}
	/* Positive control: the same file with a DhtListen of its own starts. */
	snprintf(
	    text, sizeof(text),
	    "[Relay]\nListen = 127.0.0.1:%u\nKeyFile = %s/key\nMetrics = off\n"
	    "AllowLoopback = yes\nWorkers = 0\n[Network]\nDht = on\nDhtListen = 127.0.0.1:%u\n",
	    port, y.dir, free_port());
	write_file(y.conf, text);
	nrelay_exec(&y);
	assert_int_equal(addr_parse(&y.a, "127.0.0.1:1", 0), 0);
	addr_set_port(&y.a, port);
	assert_true(nrelay_pinged(&y));
	assert_int_equal(nrelay_stop(&y), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_stores_fill),
	    cmocka_unit_test(test_links_up),
	    cmocka_unit_test(test_libtorrent_gets_descriptor),
	    cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
