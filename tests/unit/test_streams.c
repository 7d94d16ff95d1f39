/*
 * wgrelayd's [Transport] section: defaults (no listener), every key applied, Advertise URLs
 * turned into descriptor endpoints, and each bad value an error naming file and line.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static char path[64];

static int load(struct relayd_config *c, const char *text, char *err, size_t errlen)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/wgr-tconf-XXXXXX");
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs(text, f);
	fclose(f);
	config_defaults(c);
	err[0] = '\0';
	fd = config_load(c, path, true, err, errlen);
	unlink(path);
	return fd;
}

static void test_defaults(void **state)
{
	struct relayd_config c;
	char err[256];

	(void)state;
	assert_int_equal(load(&c, "[Relay]\nListen = 127.0.0.1:51821\n", err, sizeof(err)), 0);
	assert_int_equal(c.transport.n_listen, 0); /* nothing opens without Listen */
	assert_int_equal(c.transport.n_advertise, 0);
	assert_string_equal(c.transport.ws_path, "/wgrelay");
	assert_string_equal(c.transport.tls_cert, "");
	assert_int_equal(c.transport.max_connections, 1024);
	assert_int_equal(c.transport.max_per_source, 16);
	assert_int_equal(c.transport.handshake_timeout_s, 10);
	assert_int_equal(c.transport.queue_bytes, 65536);
}

static void test_all_keys(void **state)
{
	struct relayd_config c;
	char err[256], a[ADDR_STRLEN];

	(void)state;
	assert_int_equal(load(&c,
	                      "[Transport]\n"
	                      "Listen = 0.0.0.0:443\n"
	                      "listen = [::]:443\n" /* keys are not case-sensitive */
	                      "WebSocketPath = /tunnel/v1\n"
	                      "TlsCertificate = /etc/wgrelay/cert.pem\n"
	                      "TlsKey = /etc/wgrelay/key.pem\n"
	                      "MaxConnections = 5000\n"
	                      "MaxConnectionsPerSource = 3\n"
	                      "HandshakeTimeout = 1m\n"
	                      "QueueBytes = 128K\n"
	                      "Advertise = tcp://198.51.100.10:443\n"
	                      "Advertise = tls://[2001:db8::1]:8443\n"
	                      "Advertise = wss://relay.example.org/tunnel/v1\n"
	                      "Advertise = tcp://abcdefghijklmnop.onion:443\n",
	                      err, sizeof(err)),
	                 0);
	assert_int_equal(c.transport.n_listen, 2);
	assert_string_equal(addr_format(&c.transport.listen[1], a, sizeof(a)), "[::]:443");
	assert_string_equal(c.transport.ws_path, "/tunnel/v1");
	assert_string_equal(c.transport.tls_cert, "/etc/wgrelay/cert.pem");
	assert_string_equal(c.transport.tls_key, "/etc/wgrelay/key.pem");
	assert_int_equal(c.transport.max_connections, 5000);
	assert_int_equal(c.transport.max_per_source, 3);
	assert_int_equal(c.transport.handshake_timeout_s, 60);
	assert_int_equal(c.transport.queue_bytes, 128 * 1024);
	assert_int_equal(c.transport.n_advertise, 4);
	assert_int_equal(c.transport.advertise[0].transport, DESC_T_TCP);
	assert_string_equal(addr_format(&c.transport.advertise[0].addr, a, sizeof(a)),
	                    "198.51.100.10:443");
	assert_int_equal(c.transport.advertise[1].transport, DESC_T_TLS);
	assert_string_equal(addr_format(&c.transport.advertise[1].addr, a, sizeof(a)),
	                    "[2001:db8::1]:8443");
	assert_int_equal(c.transport.advertise[2].transport, DESC_T_WSS);
	assert_string_equal(c.transport.advertise[2].host, "relay.example.org");
	assert_int_equal(c.transport.advertise[2].port, 443);
	assert_string_equal(c.transport.advertise[2].path, "/tunnel/v1");
	assert_int_equal(c.transport.advertise[3].transport, DESC_T_ONION);
	assert_string_equal(c.transport.advertise[3].host, "abcdefghijklmnop.onion");
	assert_int_equal(c.transport.advertise[3].port, 443);
	/* The network is not turned on by stream endpoints alone. */
	assert_false(c.net.on);
}

static void test_wss_literal(void **state)
{
	struct relayd_config c;
	char err[256];

	(void)state;
	assert_int_equal(
	    load(&c, "[Transport]\nAdvertise = wss://[2001:db8::7]:8443\n", err, sizeof(err)), 0);
	/* The descriptor keeps an IPv6 host bracketed, as a URL writes it (PROTOCOL.md §9.1). */
	assert_string_equal(c.transport.advertise[0].host, "[2001:db8::7]");
	assert_int_equal(c.transport.advertise[0].port, 8443);
	assert_string_equal(c.transport.advertise[0].path, "/wgrelay");
}

/* text must fail, with an error on line `line` that contains `word`. */
static void bad(const char *text, unsigned line, const char *word)
{
	struct relayd_config c;
	char err[512], at[96];

	int r = load(&c, text, err, sizeof(err));

	assert_true(r == -EINVAL || r == -ERANGE);
	snprintf(at, sizeof(at), "%s:%u: ", path, line);
	if (!strstr(err, at) || !strstr(err, word))
		fail_msg("for %s: got '%s', wanted %s and '%s'", text, err, at, word);
}

static void test_errors(void **state)
{
	(void)state;
	bad("[Transport]\nListen = 127.0.0.1:443\nPort = 443\n", 3, "Port");
	bad("[Transport]\nListen = 127.0.0.1\n", 2, "127.0.0.1");
	bad("[Transport]\nListen = 1.1.1.1:1\nListen = 1.1.1.1:2\nListen = 1.1.1.1:3\n"
	    "Listen = 1.1.1.1:4\nListen = 1.1.1.1:5\n",
	    6, "too many");
	bad("[Transport]\nWebSocketPath = wgrelay\n", 2, "'/'");
	bad("[Transport]\nWebSocketPath = /a b\n", 2, "blank");
	bad("[Transport]\nTlsCertificate = /c.pem\n", 2, "TlsKey");
	bad("[Transport]\n\nTlsKey = /k.pem\n", 3, "TlsCertificate");
	bad("[Transport]\nMaxConnections = 0\n", 2, "MaxConnections");
	bad("[Transport]\nMaxConnectionsPerSource = many\n", 2, "many");
	bad("[Transport]\nHandshakeTimeout = 1h\n", 2, "HandshakeTimeout");
	bad("[Transport]\nQueueBytes = 1K\n", 2, "QueueBytes");
	bad("[Transport]\nAdvertise = ws://198.51.100.1:80\n", 2, "tcp, tls or wss");
	bad("[Transport]\nAdvertise = udp://198.51.100.1:51821\n", 2, "tcp, tls or wss");
	bad("[Transport]\nAdvertise = tcp://relay.example.org:443\n", 2, "IP address");
	bad("[Transport]\nAdvertise = tls://relay.onion:443\n", 2, "IP address");
	bad("[Transport]\nAdvertise = tcp://0.0.0.0:443\n", 2, "specific");
	bad("[Transport]\nAdvertise = tcp://198.51.100.1\n", 2, "URL");
	bad("[Transport]\nAdvertise = gopher://x:1\n", 2, "URL");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_all_keys),
	    cmocka_unit_test(test_wss_literal),
	    cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
