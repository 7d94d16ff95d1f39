/*
 * wgrelayd config: embedded defaults, keys applied ([Network], [Transport], [Libp2p]), and
 * errors as "file:line: message".
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "config.h"

static char path[64];

static int load(struct relayd_config *c, const char *text, char *err, size_t errlen)
{
	FILE *f;
	int fd;

	strcpy(path, "/tmp/wgr-rconf-XXXXXX");
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
	config_defaults(&c);
	assert_int_equal(c.n_listen, 2);
	assert_int_equal(addr_port(&c.listen[0]), 51821);
	assert_int_equal(c.port_lo, 50000);
	assert_int_equal(c.port_hi, 59999);
	assert_int_equal(c.auth, AUTH_OPEN);
	assert_int_equal(c.limits.max_reservations, 1024);
	assert_int_equal(c.limits.max_reservations_per_client, 3);
	assert_int_equal(c.limits.max_circuits, 512);
	assert_int_equal(c.limits.max_circuits_per_client, 5);
	assert_int_equal(c.limits.circuit_duration_s, 3600);
	assert_int_equal(c.limits.circuit_bytes, 100ULL << 20);
	assert_string_equal(c.metrics, "127.0.0.1:9821");
	assert_false(c.policy.allow_private);
	assert_false(c.policy.allow_loopback);
	assert_int_equal(c.workers, -1); /* one forwarding thread per CPU */
	assert_true(c.coalesce);
	/* A missing default file is fine; a missing named file is not. */
	assert_int_equal(config_load(&c, "/nonexistent/wgrelayd.conf", false, err, sizeof(err)), 0);
	assert_int_not_equal(config_load(&c, "/nonexistent/wgrelayd.conf", true, err, sizeof(err)),
	                     0);
}

static void test_keys_applied(void **state)
{
	struct relayd_config c;
	char err[256];

	(void)state;
	if (load(&c,
	         "[Relay]\nListen = 198.51.100.1:6000\nListen = [2001:db8::1]:6001\n"
	         "PortRange = 40000-40099\nAllowPrivate = yes\nMetrics = off\nWorkers = "
	         "3\nCoalesce = no\nBusyPoll = 50\n"
	         "[Auth]\nMode = token\nSecret = first-secret-0123456789\nSecret = "
	         "second-secret-0123456789\n"
	         "[Limits]\nMaxCircuits = 7\nCircuitBandwidth = 800\n"
	         "CircuitDuration = 2m\n",
	         err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.n_listen, 2);
	assert_int_equal(addr_port(&c.listen[1]), 6001);
	assert_int_equal(c.port_lo, 40000);
	assert_int_equal(c.port_hi, 40099);
	assert_true(c.policy.allow_private);
	assert_string_equal(c.metrics, "off");
	assert_int_equal(c.workers, 3);
	assert_false(c.coalesce);
	assert_int_equal(c.busy_poll_us, 50);
	assert_int_equal(c.auth, AUTH_TOKEN);
	assert_int_equal(c.n_secrets, 2);
	assert_string_equal(c.secrets[1], "second-secret-0123456789");
	assert_int_equal(c.limits.max_circuits, 7);
	assert_int_equal(c.limits.circuit_kbps, 800);
	assert_int_equal(c.limits.circuit_duration_s, 120);
	assert_int_equal(c.limits.max_reservations, 1024); /* untouched keys keep defaults */
}

/* Each bad file must fail with "PATH:LINE:" and name the offending token. */
static void test_errors_with_file_and_line(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *token;
	} bad[] = {
	    {"[Relay]\nListen = 0.0.0.0:51821\nBogusKey = 1\n", 3, "BogusKey"},
	    {"[Relay]\nPortRange = 60000-50000\n", 2, "60000-50000"},
	    {"[Relay]\n\nPortRange = 1-70000\n", 3, "1-70000"},
	    {"[Auth]\nMode = maybe\n", 2, "maybe"},
	    {"[Limits]\nMaxCircuits = lots\n", 2, "lots"},
	    {"[Relay]\nAllowPrivate = perhaps\n", 2, "perhaps"},
	    {"[Relay]\nWorkers = 65\n", 2, "65"},
	    {"[Relay]\nWorkers = many\n", 2, "many"},
	    {"[Relay]\nBusyPoll = 1001\n", 2, "1001"},
	    {"[Relay]\nListen = not-an-address\n", 2, "not-an-address"},
	    {"[Nowhere]\nX = 1\n", 0, "Nowhere"},
	    {"[Auth]\nMode = token\nSecret = short\n", 3, "short"},
	    /* Modes: a list of known words; any other word is named (strstr took these). */
	    {"[Relay]\nModes = direct turbo\n", 2, "'turbo'"},
	    {"[Relay]\n\nModes = indirect\n", 3, "'indirect'"},
	    {"[Relay]\nModes = sealed,directly\n", 2, "'directly'"},
	    {"[Relay]\nModes = , \n", 2, "Modes"},
	    /* [Network]: every bad value names its line and token. */
	    {"[Network]\nPeer = 192.0.2.1:51821\n", 2, "192.0.2.1:51821"},
	    {"[Network]\nPeer = 192.0.2.1:51821 notakey\n", 2, "notakey"},
	    {"[Network]\nPeer = host.example:1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n", 2,
	     "host.example"},
	    {"[Network]\nPeer = 192.0.2.1:1 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= x\n", 2,
	     " x"},
	    {"[Network]\nTrusted = short\n", 2, "short"},
	    {"[Network]\nMinLinks = -1\n", 2, "-1"},
	    {"[Network]\nMaxLinks = 0\n", 2, "MaxLinks"},
	    {"[Network]\nMinLinks = 9\n", 2, "MinLinks"},
	    {"[Network]\nHeartbeatInterval = 0\n", 2, "HeartbeatInterval"},
	    {"[Network]\n\nLinkTimeout = 30\n", 3, "LinkTimeout"},
	    {"[Network]\nReconnectInterval = soon\n", 2, "soon"},
	    {"[Network]\nMaxRetries = many\n", 2, "many"},
	    {"[Network]\nAdvertise = 0.0.0.0:51821\n", 2, "0.0.0.0:51821"},
	    {"[Network]\nAdvertise = 192.0.2.1\n", 2, "192.0.2.1"},
	    {"[Network]\nCountry = DEU\n", 2, "DEU"},
	    {"[Network]\nCountry = d1\n", 2, "d1"},
	    {"[Network]\nLocation = 91,0\n", 2, "91,0"},
	    {"[Network]\nLocation = 10\n", 2, "Location"},
	    {"[Network]\nLocation = 0x10,5\n", 2, "0x10,5"},
	    {"[Network]\nLocation = nan,5\n", 2, "nan,5"},
	    {"[Network]\nBandwidth = 5000000000\n", 2, "5000000000"},
	    {"[Network]\nDescriptorLifetime = 169\n", 2, "169"},
	    {"[Network]\nDescriptorLifetime = 0\n", 2, "DescriptorLifetime"},
	    {"[Network]\nDescriptorLifetime = 59s\n", 2, "59s"},
	    {"[Network]\nDescriptorLifetime = 8d\n", 2, "8d"},
	    {"[Network]\nDescriptorLifetime = 169h\n", 2, "169h"},
	    {"[Network]\nDescriptorLifetime = 2 h\n", 2, "2 h"},
	    {"[Network]\nDescriptorLifetime = 1H\n", 2, "1H"},
	    {"[Network]\nDescriptorLifetime = -1\n", 2, "-1"},
	    {"[Network]\nStoreSize = 1\n", 2, "StoreSize"},
	    {"[Network]\nAntiEntropyInterval = 0\n", 2, "AntiEntropyInterval"},
	    {"[Network]\nNetwork = maybe\n", 2, "maybe"},
	    {"[Network]\nBogus = 1\n", 2, "Bogus"},
	};
	struct relayd_config c;
	char err[512], want[128];

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(load(&c, bad[i].text, err, sizeof(err)), 0);
		if (bad[i].line)
			snprintf(want, sizeof(want), "%s:%d:", path, bad[i].line);
		else
			snprintf(want, sizeof(want), "%s:", path);
		if (strncmp(err, want, strlen(want)) || !strstr(err, bad[i].token))
			fail_msg("case %zu: error '%s' lacks '%s' or '%s'", i, err, want,
			         bad[i].token);
	}
	/* Cross-key checks name the file. */
	assert_int_not_equal(load(&c, "[Auth]\nMode = keys\n", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "AllowedKeys"));
	assert_int_not_equal(load(&c, "[Auth]\nMode = token\n", err, sizeof(err)), 0);
	assert_non_null(strstr(err, "Secret"));
}

/* Modes = direct and/or sealed, blanks or commas between, any case. */
static void test_modes(void **state)
{
	static const struct {
		const char *value;
		bool direct, sealed;
	} ok[] = {
	    {"direct", true, false},
	    {"sealed", false, true},
	    {"direct sealed", true, true},
	    {"sealed,direct", true, true},
	    {" Direct ,\tSEALED ", true, true},
	};
	struct relayd_config c;
	char text[128], err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "[Relay]\nModes = %s\n", ok[i].value);
		if (load(&c, text, err, sizeof(err)) != 0)
			fail_msg("'%s': %s", ok[i].value, err);
		assert_int_equal(c.mode_direct, ok[i].direct);
		assert_int_equal(c.mode_sealed, ok[i].sealed);
	}
}

/*
 * The default path may be missing, but a dangling symbolic link there is an error, not "no
 * config" (which would run with the embedded defaults, open admission included); a FIFO there
 * is refused at once, never waited on.
 */
static void test_default_path_not_regular(void **state)
{
	char dir[] = "/tmp/wgr-rconf-XXXXXX", p[128], err[512], cmd[128];
	struct relayd_config c;

	(void)state;
	alarm(10);
	assert_non_null(mkdtemp(dir));
	snprintf(p, sizeof(p), "%s/wgrelayd.conf", dir);
	assert_int_equal(symlink("/nonexistent/wgrelayd.conf", p), 0);
	config_defaults(&c);
	assert_int_not_equal(config_load(&c, p, false, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "symbolic link to a missing file"));
	assert_int_equal(unlink(p), 0);
	assert_int_equal(mkfifo(p, 0600), 0);
	assert_int_not_equal(config_load(&c, p, false, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "is a FIFO"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	alarm(0);
}

/* The shipped example must parse and say exactly what the embedded defaults say. */
static void test_example_matches_defaults(void **state)
{
	struct relayd_config c, d;
	char file[512], err[512];
	const char *src = getenv("WGR_SOURCE_DIR");

	(void)state;
	assert_non_null(src);
	snprintf(file, sizeof(file), "%s/relayd/wgrelayd.conf.example", src);
	config_defaults(&c);
	config_defaults(&d);
	if (config_load(&c, file, true, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.n_listen, d.n_listen);
	for (int i = 0; i < c.n_listen; i++)
		assert_true(addr_equal(&c.listen[i], &d.listen[i]));
	assert_int_equal(c.port_lo, d.port_lo);
	assert_int_equal(c.port_hi, d.port_hi);
	assert_int_equal(c.mode_direct, d.mode_direct);
	assert_int_equal(c.mode_sealed, d.mode_sealed);
	assert_int_equal(c.auth, d.auth);
	assert_int_equal(c.token_max_lifetime_s, d.token_max_lifetime_s);
	assert_memory_equal(&c.limits, &d.limits, sizeof(c.limits));
	assert_memory_equal(&c.policy, &d.policy, sizeof(c.policy));
	assert_string_equal(c.key_file, d.key_file);
	assert_string_equal(c.identity_file, d.identity_file);
	assert_memory_equal(&c.net, &d.net, sizeof(c.net));
	assert_string_equal(c.metrics, d.metrics);
	assert_int_equal(c.stats_interval_s, d.stats_interval_s);
	assert_memory_equal(&c.libp2p, &d.libp2p, sizeof(c.libp2p));
	assert_int_equal(c.xdp, d.xdp);
	assert_int_equal(c.n_xdp_if, d.n_xdp_if);
}

/* [Network] defaults: off until a Peer or Advertise line (or Network = on) says otherwise. */
static void test_network_defaults(void **state)
{
	static const struct {
		const char *text;
		bool on;
	} cases[] = {
	    {"", false},
	    /* A config of only a [Network] section is a config. */
	    {"[Network]\n", false},
	    {"[Network]\nMinLinks = 2\n", false},
	    {"[Network]\nNetwork = on\n", true},
	    {"[Network]\nAdvertise = 198.51.100.7:51821\n", true},
	    {"[Network]\nPeer = 198.51.100.7:51821 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
	     true},
	    {"[Network]\nNetwork = off\nAdvertise = 198.51.100.7:51821\n", false},
	};
	struct relayd_config c;
	char err[512];

	(void)state;
	config_defaults(&c);
	assert_false(c.net.on);
	assert_int_equal(c.net.min_links, 3);
	assert_int_equal(c.net.max_links, 8);
	assert_int_equal(c.net.heartbeat_s, 60);
	assert_int_equal(c.net.link_timeout_s, 180);
	assert_int_equal(c.net.reconnect_s, 30);
	assert_int_equal(c.net.max_retries, 3);
	assert_int_equal(c.net.lifetime_s, 12 * 3600);
	assert_int_equal(c.net.store_size, 100000);
	assert_int_equal(c.net.anti_entropy_s, 30);
	assert_int_equal(c.net.advertise.len, 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (load(&c, cases[i].text, err, sizeof(err)) != 0)
			fail_msg("case %zu: %s", i, err);
		if (c.net.on != cases[i].on)
			fail_msg("case %zu: on is %d", i, c.net.on);
	}
}

static void test_network_keys(void **state)
{
	struct relayd_config c;
	uint8_t zero[32] = {0};
	char err[512];

	(void)state;
	if (load(&c,
	         "[Relay]\nIdentityFile = /srv/relay/id\n"
	         "[Network]\n"
	         "Peer = 198.51.100.1:6000 AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n"
	         "Peer =  [2001:db8::2]:6001\tAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQEBAQE= \n"
	         "Trusted = AgICAgICAgICAgICAgICAgICAgICAgICAgICAgICAgI=\n"
	         "MinLinks = 2\nMaxLinks = 4\nHeartbeatInterval = 10\nLinkTimeout = 1m\n"
	         "ReconnectInterval = 5\nMaxRetries = 0\nAdvertise = 203.0.113.9:51821\n"
	         "Country = de\nLocation = 52.52, -13.405\nFamily = example operators\n"
	         "Bandwidth = 100000\nDescriptorLifetime = 24\nStoreSize = 5000\n"
	         "AntiEntropyInterval = 2m\n",
	         err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(c.identity_file, "/srv/relay/id");
	assert_true(c.net.on);
	assert_int_equal(c.net.n_peers, 2);
	assert_memory_equal(c.net.peers[0].key, zero, 32);
	assert_int_equal(addr_port(&c.net.peers[1].addr), 6001);
	assert_int_equal(c.net.peers[1].key[31], 1);
	assert_int_equal(c.net.n_trusted, 1);
	assert_int_equal(c.net.trusted[0][0], 2);
	assert_int_equal(c.net.min_links, 2);
	assert_int_equal(c.net.max_links, 4);
	assert_int_equal(c.net.heartbeat_s, 10);
	assert_int_equal(c.net.link_timeout_s, 60);
	assert_int_equal(c.net.reconnect_s, 5);
	assert_int_equal(c.net.max_retries, 0);
	assert_int_equal(addr_port(&c.net.advertise), 51821);
	assert_string_equal(c.net.country, "DE");
	assert_true(c.net.has_location);
	assert_int_equal(c.net.lat_e6, 52520000);
	assert_int_equal(c.net.lon_e6, -13405000);
	assert_string_equal(c.net.family, "example operators");
	assert_int_equal(c.net.bandwidth_kbps, 100000);
	assert_int_equal(c.net.lifetime_s, 24 * 3600);
	assert_int_equal(c.net.store_size, 5000);
	assert_int_equal(c.net.anti_entropy_s, 120);
}

/* DescriptorLifetime: a bare number is hours; a unit gives any duration from 60 s to a week. */
static void test_descriptor_lifetime(void **state)
{
	static const struct {
		const char *value;
		uint64_t seconds;
	} ok[] = {
	    {"1", 3600},        {"168", 168 * 3600}, {"60s", 60},      {"90s", 90},     {"5m", 300},
	    {"12h", 12 * 3600}, {"7d", 604800},      {"168h", 604800}, {"3600s", 3600},
	};
	struct relayd_config c;
	char text[128], err[512];

	(void)state;
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		snprintf(text, sizeof(text), "[Network]\nDescriptorLifetime = %s\n", ok[i].value);
		if (load(&c, text, err, sizeof(err)) != 0)
			fail_msg("'%s': %s", ok[i].value, err);
		if (c.net.lifetime_s != ok[i].seconds)
			fail_msg("'%s': %llu s, not %llu", ok[i].value,
			         (unsigned long long)c.net.lifetime_s,
			         (unsigned long long)ok[i].seconds);
	}
}

/* The identity file defaults to the key file's directory, so the two stay together. */
static void test_identity_path(void **state)
{
	struct relayd_config c;
	char p[600];

	(void)state;
	config_defaults(&c);
	assert_int_equal(config_identity_path(&c, p, sizeof(p)), 0);
	assert_string_equal(p, "/var/lib/wgrelay/identity");
	snprintf(c.key_file, sizeof(c.key_file), "relay.key");
	assert_int_equal(config_identity_path(&c, p, sizeof(p)), 0);
	assert_string_equal(p, "identity");
	snprintf(c.identity_file, sizeof(c.identity_file), "/etc/wgrelay/id");
	assert_int_equal(config_identity_path(&c, p, sizeof(p)), 0);
	assert_string_equal(p, "/etc/wgrelay/id");
	assert_int_equal(config_identity_path(&c, p, 4), -ENAMETOOLONG);
}

static void test_range(void **state)
{
	uint16_t lo, hi;

	(void)state;
	assert_int_equal(config_parse_range("50000-59999", &lo, &hi), 0);
	assert_int_equal(lo, 50000);
	assert_int_equal(hi, 59999);
	assert_true(config_parse_range("9-8", &lo, &hi) < 0);
	assert_true(config_parse_range("0-10", &lo, &hi) < 0);
	assert_true(config_parse_range("10", &lo, &hi) < 0);
	assert_true(config_parse_range("-", &lo, &hi) < 0);
	assert_true(config_parse_range("1-65536", &lo, &hi) < 0);
}

/* [Transport]: defaults (no listener), every key, Advertise URLs as descriptor endpoints. */
static void test_transport_defaults(void **state)
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

static void test_transport_keys(void **state)
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

static void test_transport_wss_literal(void **state)
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
static void transport_bad(const char *text, unsigned line, const char *word)
{
	struct relayd_config c;
	char err[512], at[96];

	int r = load(&c, text, err, sizeof(err));

	assert_true(r == -EINVAL || r == -ERANGE);
	snprintf(at, sizeof(at), "%s:%u: ", path, line);
	if (!strstr(err, at) || !strstr(err, word))
		fail_msg("for %s: got '%s', wanted %s and '%s'", text, err, at, word);
}

static void test_transport_errors(void **state)
{
	(void)state;
	transport_bad("[Transport]\nListen = 127.0.0.1:443\nPort = 443\n", 3, "Port");
	transport_bad("[Transport]\nListen = 127.0.0.1\n", 2, "127.0.0.1");
	transport_bad("[Transport]\nListen = 1.1.1.1:1\nListen = 1.1.1.1:2\nListen = 1.1.1.1:3\n"
	              "Listen = 1.1.1.1:4\nListen = 1.1.1.1:5\n",
	              6, "too many");
	transport_bad("[Transport]\nWebSocketPath = wgrelay\n", 2, "'/'");
	transport_bad("[Transport]\nWebSocketPath = /a b\n", 2, "blank");
	transport_bad("[Transport]\nTlsCertificate = /c.pem\n", 2, "TlsKey");
	transport_bad("[Transport]\n\nTlsKey = /k.pem\n", 3, "TlsCertificate");
	transport_bad("[Transport]\nMaxConnections = 0\n", 2, "MaxConnections");
	transport_bad("[Transport]\nMaxConnectionsPerSource = many\n", 2, "many");
	transport_bad("[Transport]\nHandshakeTimeout = 1h\n", 2, "HandshakeTimeout");
	transport_bad("[Transport]\nQueueBytes = 1K\n", 2, "QueueBytes");
	transport_bad("[Transport]\nAdvertise = ws://198.51.100.1:80\n", 2, "tcp, tls or wss");
	transport_bad("[Transport]\nAdvertise = udp://198.51.100.1:51821\n", 2, "tcp, tls or wss");
	transport_bad("[Transport]\nAdvertise = tcp://relay.example.org:443\n", 2, "IP address");
	transport_bad("[Transport]\nAdvertise = tls://relay.onion:443\n", 2, "IP address");
	transport_bad("[Transport]\nAdvertise = tcp://0.0.0.0:443\n", 2, "specific");
	transport_bad("[Transport]\nAdvertise = tcp://198.51.100.1\n", 2, "URL");
	transport_bad("[Transport]\nAdvertise = gopher://x:1\n", 2, "URL");
}

/* [Libp2p]: off by default, with seed 004's limits. */
static void test_libp2p_defaults(void **state)
{
	struct relayd_config c;

	(void)state;
	config_defaults(&c);
	assert_int_equal(c.libp2p.listen.len, 0);
	assert_int_equal(c.libp2p.max_reservations, 1024);
	assert_int_equal(c.libp2p.max_reservations_per_peer, 3);
	assert_int_equal(c.libp2p.max_reservations_per_source, 16);
	assert_int_equal(c.libp2p.max_circuits, 512);
	assert_int_equal(c.libp2p.max_circuits_per_peer, 5);
	assert_int_equal(c.libp2p.circuit_duration_s, 3600);
	assert_int_equal(c.libp2p.circuit_bytes, 100000000);
	assert_int_equal(c.libp2p.reservation_ttl_s, 3600);
	assert_int_equal(c.libp2p.max_connections, 2048);
	assert_int_equal(c.libp2p.max_connections_per_source, 64);
	assert_int_equal(c.libp2p.handshake_timeout_s, 10);
	assert_int_equal(c.libp2p.max_streams, 64);
	assert_int_equal(c.libp2p.idle_timeout_s, 120);
}

static void test_libp2p_keys(void **state)
{
	struct relayd_config c, d;
	char err[512], a[ADDR_STRLEN];

	(void)state;
	/* Keys spelled in other cases, sizes and durations with units. */
	if (load(&c,
	         "[Libp2p]\nListen = 0.0.0.0:4001\nListen = [2001:db8::5]:4002\n"
	         "MaxReservations = 2\nMaxReservationsPerPeer = 1\nmaxreservationspersource = 7\n"
	         "MaxCircuits = 9\nMaxCircuitsPerPeer = 6\nCircuitDuration = 2m\n"
	         "CircuitBytes = 10M\nReservationTTL = 1h\nMaxConnections = 100\n"
	         "MaxConnectionsPerSource = 4\nHandshakeTimeout = 30\nMaxStreams = 128\n"
	         "IdleTimeout = 5m\n",
	         err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(addr_format(&c.libp2p.listen, a, sizeof(a)), "[2001:db8::5]:4002");
	assert_int_equal(c.libp2p.max_reservations, 2);
	assert_int_equal(c.libp2p.max_reservations_per_peer, 1);
	assert_int_equal(c.libp2p.max_reservations_per_source, 7);
	assert_int_equal(c.libp2p.max_circuits, 9);
	assert_int_equal(c.libp2p.max_circuits_per_peer, 6);
	assert_int_equal(c.libp2p.circuit_duration_s, 120);
	assert_int_equal(c.libp2p.circuit_bytes, 10 << 20);
	assert_int_equal(c.libp2p.reservation_ttl_s, 3600);
	assert_int_equal(c.libp2p.max_connections, 100);
	assert_int_equal(c.libp2p.max_connections_per_source, 4);
	assert_int_equal(c.libp2p.handshake_timeout_s, 30);
	assert_int_equal(c.libp2p.max_streams, 128);
	assert_int_equal(c.libp2p.idle_timeout_s, 300);
	/* No limits: CircuitDuration and CircuitBytes 0; Listen off. */
	if (load(&c, "[Libp2p]\nCircuitDuration = 0\nCircuitBytes = 0\nListen = off\n", err,
	         sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(c.libp2p.circuit_duration_s, 0);
	assert_int_equal(c.libp2p.circuit_bytes, 0);
	assert_int_equal(c.libp2p.listen.len, 0);
	/* Other sections leave [Libp2p] at its defaults. */
	assert_int_equal(load(&c, "[Limits]\nMaxCircuits = 3\n", err, sizeof(err)), 0);
	config_defaults(&d);
	assert_memory_equal(&c.libp2p, &d.libp2p, sizeof(c.libp2p));
	/* The listen parser --libp2p-listen shares. */
	assert_int_equal(config_libp2p_listen(&c.libp2p.listen, "127.0.0.1:4001"), 0);
	assert_int_equal(addr_port(&c.libp2p.listen), 4001);
	assert_int_equal(config_libp2p_listen(&c.libp2p.listen, "127.0.0.1"), -EINVAL);
	assert_int_equal(config_libp2p_listen(&c.libp2p.listen, "224.0.0.1:1"), -EADDRNOTAVAIL);
	assert_int_equal(addr_port(&c.libp2p.listen), 4001); /* a failure changes nothing */
	assert_int_equal(config_libp2p_listen(&c.libp2p.listen, "off"), 0);
	assert_int_equal(c.libp2p.listen.len, 0);
}

/* A file of only a [Libp2p] section is a whole config: every other setting its default. */
static void test_libp2p_only(void **state)
{
	struct relayd_config c, d;
	char err[512];

	(void)state;
	if (load(&c, "# libp2p relay only\n[Libp2p]\nListen = 0.0.0.0:4001\n", err, sizeof(err)) !=
	    0)
		fail_msg("%s", err);
	assert_int_equal(addr_port(&c.libp2p.listen), 4001);
	if (load(&c, "[Libp2p]\n", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	config_defaults(&d);
	assert_memory_equal(&c, &d, sizeof(c));
}

static void test_libp2p_errors(void **state)
{
	(void)state;
	/* The positive control: the same text without the bad line loads. */
	{
		struct relayd_config c;
		char err[512];

		assert_int_equal(load(&c, "[Libp2p]\nListen = 127.0.0.1:4001\n", err, sizeof(err)),
		                 0);
	}
	transport_bad("[Libp2p]\nListen = 127.0.0.1:4001\nPort = 4001\n", 3, "Port");
	transport_bad("[LibP2P]\nMaxPeers = 4\n", 2, "MaxPeers");
	transport_bad("[Libp2p]\nListen = 127.0.0.1\n", 2, "'127.0.0.1' for Listen");
	transport_bad("[Libp2p]\nListen = 127.0.0.1:0\n", 2, "127.0.0.1:0");
	transport_bad("[Libp2p]\nListen = relay.example.org:4001\n", 2, "relay.example.org");
	transport_bad("[Libp2p]\n\nListen = 255.255.255.255:4001\n", 3, "unicast");
	transport_bad("[Libp2p]\nMaxReservations = lots\n", 2, "'lots'");
	transport_bad("[Libp2p]\nMaxReservations = 1000001\n", 2, "MaxReservations");
	transport_bad("[Libp2p]\nMaxReservationsPerPeer = -1\n", 2, "MaxReservationsPerPeer");
	transport_bad("[Libp2p]\nMaxReservationsPerSource = 1x\n", 2, "'1x'");
	transport_bad("[Libp2p]\nMaxCircuits = 2000000\n", 2, "MaxCircuits");
	transport_bad("[Libp2p]\nMaxCircuitsPerPeer = five\n", 2, "'five'");
	transport_bad("[Libp2p]\nCircuitDuration = 366d\n", 2, "CircuitDuration");
	transport_bad("[Libp2p]\nCircuitBytes = 1T\n", 2, "'1T'");
	transport_bad("[Libp2p]\nReservationTTL = 5\n", 2, "ReservationTTL");
	transport_bad("[Libp2p]\nReservationTTL = 8d\n", 2, "ReservationTTL");
	transport_bad("[Libp2p]\nMaxConnections = 0\n", 2, "MaxConnections");
	transport_bad("[Libp2p]\nMaxConnectionsPerSource = 0\n", 2, "MaxConnectionsPerSource");
	transport_bad("[Libp2p]\nHandshakeTimeout = 0\n", 2, "HandshakeTimeout");
	transport_bad("[Libp2p]\nHandshakeTimeout = 10m\n", 2, "HandshakeTimeout");
	transport_bad("[Libp2p]\nMaxStreams = 2\n", 2, "MaxStreams");
	transport_bad("[Libp2p]\nMaxStreams = 5000\n", 2, "MaxStreams");
	transport_bad("[Libp2p]\nIdleTimeout = 2d\n", 2, "IdleTimeout");
}

/* [Relay] Xdp and XdpInterface: off by default; modes in any case; interface names checked. */
static void test_xdp_keys(void **state)
{
	static const struct {
		const char *text;
		int line;
		const char *token;
	} bad[] = {
	    {"[Relay]\nXdp = turbo\n", 2, "'turbo'"},
	    {"[Relay]\nXdp = nativeX\n", 2, "'nativeX'"},
	    {"[Relay]\n\nXdp = on\n", 3, "'on'"},
	    {"[Relay]\nXdpInterface = eth0/1\n", 2, "'eth0/1'"},
	    {"[Relay]\nXdpInterface = a:b\n", 2, "'a:b'"},
	    {"[Relay]\nXdpInterface = ..\n", 2, "'..'"},
	    {"[Relay]\nXdpInterface = .\n", 2, "'.'"},
	    {"[Relay]\nXdpInterface = eth%d\n", 2, "'eth%d'"},
	    {"[Relay]\nXdpInterface = two words\n", 2, "'two words'"},
	    /* 16 characters: one more than the kernel's IFNAMSIZ holds */
	    {"[Relay]\nXdpInterface = abcdefghijklmnop\n", 2, "abcdefghijklmnop"},
	    {"[Relay]\nXdpInterface = eth0\nXdpInterface = eth1\nXdpInterface = eth0\n", 4,
	     "interface named twice 'eth0'"},
	    {"[Relay]\nXdpInterface = i0\nXdpInterface = i1\nXdpInterface = i2\n"
	     "XdpInterface = i3\nXdpInterface = i4\nXdpInterface = i5\nXdpInterface = i6\n"
	     "XdpInterface = i7\nXdpInterface = i8\n",
	     10, "too many interfaces at 'i8'"},
	};
	struct relayd_config c;
	char err[512], want[128];
	enum xdp_mode m;

	(void)state;
	config_defaults(&c);
	assert_int_equal(c.xdp, XDP_MODE_OFF);
	assert_int_equal(c.n_xdp_if, 0);
	assert_int_equal(load(&c, "[Relay]\nXdp = Auto\n", err, sizeof(err)), 0);
	assert_int_equal(c.xdp, XDP_MODE_AUTO);
	assert_int_equal(load(&c, "[Relay]\nXdp = native\n", err, sizeof(err)), 0);
	assert_int_equal(c.xdp, XDP_MODE_NATIVE);
	assert_int_equal(load(&c, "[Relay]\nXdp = GENERIC\nXdp = off\n", err, sizeof(err)), 0);
	assert_int_equal(c.xdp, XDP_MODE_OFF); /* the last line wins, as for every key */
	assert_int_equal(load(&c,
	                      "[Relay]\nXdp = generic\nXdpInterface = veth0\n"
	                      "XdpInterface = wg-relay.15ch\nXdpInterface = 0123456789abcde\n",
	                      err, sizeof(err)),
	                 0);
	assert_int_equal(c.xdp, XDP_MODE_GENERIC);
	assert_int_equal(c.n_xdp_if, 3);
	assert_string_equal(c.xdp_if[0], "veth0");
	assert_string_equal(c.xdp_if[1], "wg-relay.15ch");
	assert_string_equal(c.xdp_if[2], "0123456789abcde");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_not_equal(load(&c, bad[i].text, err, sizeof(err)), 0);
		snprintf(want, sizeof(want), "%s:%d:", path, bad[i].line);
		if (strncmp(err, want, strlen(want)) || !strstr(err, bad[i].token))
			fail_msg("case %zu: error '%s' lacks '%s' or '%s'", i, err, want,
			         bad[i].token);
	}
	/* The flag's parser is the key's. */
	assert_int_equal(config_parse_xdp("NATIVE", &m), 0);
	assert_int_equal(m, XDP_MODE_NATIVE);
	assert_int_equal(config_parse_xdp("", &m), -EINVAL);
	assert_int_equal(config_parse_xdp("generic-ish", &m), -EINVAL);
}

/* [Relay] Circuits and its limits: off, 4096 and 64 by default (and in the example); errors
 * with file and line. */
static void test_circuits(void **state)
{
	struct relayd_config c;
	char err[512], want[128], file[512];
	const char *src = getenv("WGR_SOURCE_DIR");

	(void)state;
	config_defaults(&c);
	assert_false(c.circuits);
	assert_int_equal(c.limits.max_circuit_hops, 4096);
	assert_int_equal(c.limits.max_circuit_hops_per_link, 64);
	assert_int_equal(c.limits.max_circuit_hops_per_source, 256);
	assert_int_equal(load(&c,
	                      "[Relay]\nCircuits = on\n[Limits]\nMaxCircuitHops = 10\n"
	                      "MaxCircuitHopsPerLink = 2\n",
	                      err, sizeof(err)),
	                 0);
	assert_true(c.circuits);
	assert_int_equal(c.limits.max_circuit_hops, 10);
	assert_int_equal(c.limits.max_circuit_hops_per_link, 2);
	assert_int_not_equal(load(&c, "[Relay]\n\nCircuits = maybe\n", err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s:3:", path);
	if (strncmp(err, want, strlen(want)) || !strstr(err, "maybe"))
		fail_msg("error '%s' lacks '%s' or the token", err, want);
	assert_int_not_equal(load(&c, "[Limits]\nMaxCircuitHops = lots\n", err, sizeof(err)), 0);
	assert_non_null(src);
	snprintf(file, sizeof(file), "%s/relayd/wgrelayd.conf.example", src);
	config_defaults(&c);
	c.circuits = true;
	c.limits.max_circuit_hops = 1;
	if (config_load(&c, file, true, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_false(c.circuits);
	assert_int_equal(c.limits.max_circuit_hops, 4096);
	assert_int_equal(c.limits.max_circuit_hops_per_link, 64);
}

/* portshare */
/* [Relay] SessionSockets: each by default (and in the example); shared; errors with file and
 * line. */
static void test_session_sockets(void **state)
{
	struct relayd_config c;
	char err[512], want[128], file[512];
	const char *src = getenv("WGR_SOURCE_DIR");
	bool shared = true;

	(void)state;
	config_defaults(&c);
	assert_false(c.shared_ports);
	assert_int_equal(load(&c, "[Relay]\nSessionSockets = shared\n", err, sizeof(err)), 0);
	assert_true(c.shared_ports);
	assert_int_equal(
	    load(&c, "[Relay]\nSessionSockets = Shared\nSessionSockets = EACH\n", err, sizeof(err)),
	    0);
	assert_false(c.shared_ports); /* the last line wins */
	assert_int_not_equal(load(&c, "[Relay]\n\nSessionSockets = some\n", err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s:3:", path);
	if (strncmp(err, want, strlen(want)) || !strstr(err, "'some'") || !strstr(err, "shared"))
		fail_msg("error '%s' lacks '%s', the token or the choices", err, want);
	assert_int_not_equal(load(&c, "[Relay]\nSessionSockets =\n", err, sizeof(err)), 0);
	assert_int_equal(config_parse_session_sockets("sharedx", &shared), -EINVAL);
	assert_true(shared); /* untouched on error */
	assert_int_equal(config_parse_session_sockets("each", &shared), 0);
	assert_false(shared);
	/* The example states the default. */
	assert_non_null(src);
	snprintf(file, sizeof(file), "%s/relayd/wgrelayd.conf.example", src);
	config_defaults(&c);
	c.shared_ports = true;
	if (config_load(&c, file, true, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_false(c.shared_ports);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_keys_applied),
	    cmocka_unit_test(test_errors_with_file_and_line),
	    cmocka_unit_test(test_modes),
	    cmocka_unit_test(test_default_path_not_regular),
	    cmocka_unit_test(test_example_matches_defaults),
	    cmocka_unit_test(test_range),
	    cmocka_unit_test(test_network_defaults),
	    cmocka_unit_test(test_network_keys),
	    cmocka_unit_test(test_descriptor_lifetime),
	    cmocka_unit_test(test_identity_path),
	    cmocka_unit_test(test_transport_defaults),
	    cmocka_unit_test(test_transport_keys),
	    cmocka_unit_test(test_transport_wss_literal),
	    cmocka_unit_test(test_transport_errors),
	    cmocka_unit_test(test_libp2p_defaults),
	    cmocka_unit_test(test_libp2p_keys),
	    cmocka_unit_test(test_libp2p_only),
	    cmocka_unit_test(test_libp2p_errors),
	    cmocka_unit_test(test_xdp_keys),
	    cmocka_unit_test(test_session_sockets),
	    cmocka_unit_test(test_circuits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
