/*
 * Unit tests: common/bootline.c, the "ENDPOINT KEY" line that the helper's [Relay] Bootstrap
 * and wgrelayd's [Network] Peer share: what it takes, what it refuses, and that a refusal
 * writes nothing; the helper's stream URLs after the key (PROTOCOL.md §12.5).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "addr.h"
#include "bootline.h"
#include "key.h"

/* A canonical key (wg genkey's spelling) and one whose last character leaves bits over. */
#define KEY   "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="
#define NOKEY "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykx="

/* Parse s; on success the endpoint as addr_format writes it into ep. */
static int parse(const char *s, uint16_t def, char ep[ADDR_STRLEN], uint8_t key[KEY_LEN])
{
	struct addr a;
	int rc = bootline_parse(s, def, &a, key);

	if (rc == 0)
		addr_format(&a, ep, ADDR_STRLEN);
	return rc;
}

static void test_accepts(void **state)
{
	static const struct {
		const char *line, *ep;
	} ok[] = {
	    {"192.0.2.1:51821 " KEY, "192.0.2.1:51821"},
	    {"192.0.2.1 " KEY, "192.0.2.1:51821"}, /* the default port */
	    {"192.0.2.1:7 " KEY, "192.0.2.1:7"},
	    {"[2001:db8::1]:443 " KEY, "[2001:db8::1]:443"},
	    {"2001:db8::1 " KEY, "[2001:db8::1]:51821"}, /* bare IPv6: no port of its own */
	    {"  192.0.2.1:1\t\t" KEY "  \t", "192.0.2.1:1"},
	};
	uint8_t want[KEY_LEN], key[KEY_LEN];
	char ep[ADDR_STRLEN];

	(void)state;
	assert_int_equal(key_from_base64(want, KEY), 0);
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		memset(key, 0, sizeof(key));
		assert_int_equal(parse(ok[i].line, 51821, ep, key), 0);
		assert_string_equal(ep, ok[i].ep);
		assert_memory_equal(key, want, KEY_LEN);
	}
}

static void test_refuses(void **state)
{
	static const char *const bad[] = {
	    "",
	    "   ",
	    "192.0.2.1:51821",               /* no key */
	    KEY,                             /* no endpoint */
	    KEY " 192.0.2.1:51821",          /* the wrong way round */
	    "192.0.2.1:51821 " KEY " extra", /* a third word */
	    "192.0.2.1:51821 " NOKEY,        /* not the key's canonical spelling */
	    "192.0.2.1:51821 " KEY "=",      /* too long */
	    "192.0.2.1:0 " KEY,              /* port 0 names no peer */
	    "192.0.2.1:65536 " KEY,
	    "relay.example:51821 " KEY,  /* no DNS: host names are for add-bootstrap-relay */
	    "[fe80::1%eth0]:51821 " KEY, /* link-local scope */
	    "2001:db8::1:51821 " KEY,    /* an IPv6 port wants brackets */
	    "192.0.2.1:51821\n" KEY,     /* blanks are spaces and tabs only */
	    "[2001:db8:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:0:1]:1 " KEY,
	};
	uint8_t key[KEY_LEN], zero[KEY_LEN] = {0};
	struct addr a;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&a, 0, sizeof(a));
		memset(key, 0, sizeof(key));
		assert_int_equal(bootline_parse(bad[i], 51821, &a, key), -EINVAL);
		/* Nothing written on a refusal. */
		assert_int_equal(a.len, 0);
		assert_memory_equal(key, zero, KEY_LEN);
	}
}

/* default_port 0: the port is required (a line whose port is missing is refused). */
static void test_port_required(void **state)
{
	uint8_t key[KEY_LEN];
	char ep[ADDR_STRLEN];

	(void)state;
	assert_int_equal(parse("192.0.2.1 " KEY, 0, ep, key), -EINVAL);
	assert_int_equal(parse("192.0.2.1:9 " KEY, 0, ep, key), 0);
	assert_string_equal(ep, "192.0.2.1:9");
}

static void test_urls(void **state)
{
	struct turl u[BOOTLINE_MAX_URLS];
	uint8_t key[KEY_LEN], want[KEY_LEN];
	struct addr a;
	size_t n = 99;
	unsigned bad = 99;

	(void)state;
	assert_int_equal(key_from_base64(want, KEY), 0);
	/* None: as the two-word line. */
	assert_int_equal(bootline_parse_urls("192.0.2.1 " KEY, 51821, &a, key, u, 4, &n, &bad), 0);
	assert_int_equal(n, 0);
	assert_int_equal(bad, 0);
	assert_memory_equal(key, want, KEY_LEN);
	/* Four, in order, any blanks. */
	assert_int_equal(bootline_parse_urls("192.0.2.1:7 " KEY " tcp://192.0.2.1:443\t"
	                                     "tls://relay.example:8443  wss://relay.example/p "
	                                     "ws://[2001:db8::1]:8080 ",
	                                     51821, &a, key, u, 4, &n, &bad),
	                 0);
	assert_int_equal(n, 4);
	assert_int_equal(u[0].kind, TURL_TCP);
	assert_int_equal(u[0].port, 443);
	assert_int_equal(u[1].kind, TURL_TLS);
	assert_string_equal(u[1].host, "relay.example");
	assert_int_equal(u[2].kind, TURL_WSS);
	assert_string_equal(u[2].path, "/p");
	assert_int_equal(u[3].kind, TURL_WS);
	assert_int_equal(addr_port(&a), 7);
}

static void test_urls_refused(void **state)
{
	static const struct {
		const char *line;
		int rc;
		unsigned bad;
	} no[] = {
	    {"192.0.2.1 " KEY " udp://192.0.2.1:51821", -EINVAL, 3}, /* ENDPOINT is the UDP one */
	    {"192.0.2.1 " KEY " tcp://192.0.2.1:443 nonsense", -EINVAL, 4},
	    {"192.0.2.1 " KEY " ftp://192.0.2.1:21", -EINVAL, 3},
	    {"192.0.2.1 " KEY " tcp://192.0.2.1:70000", -EINVAL, 3},
	    {"192.0.2.1 " KEY " tcp://a:1 tcp://b:2 tcp://c:3 tcp://d:4 tcp://e:5", -E2BIG, 7},
	    {"nonsense " KEY " tcp://a:1", -EINVAL, 1},
	    {"192.0.2.1 " NOKEY " tcp://a:1", -EINVAL, 2},
	};
	struct turl u[BOOTLINE_MAX_URLS];
	uint8_t key[KEY_LEN], zero[KEY_LEN] = {0};
	struct addr a;
	size_t n;
	unsigned bad;

	(void)state;
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
		memset(&a, 0, sizeof(a));
		memset(key, 0, sizeof(key));
		memset(u, 0, sizeof(u));
		n = 77;
		assert_int_equal(bootline_parse_urls(no[i].line, 51821, &a, key, u, 4, &n, &bad),
		                 no[i].rc);
		assert_int_equal(bad, no[i].bad);
		/* Nothing written on a refusal. */
		assert_int_equal(a.len, 0);
		assert_memory_equal(key, zero, KEY_LEN);
		assert_int_equal(u[0].kind, 0);
		assert_int_equal(n, 77);
	}
	/* The two-word form (wgrelayd's Peer lines) takes no URL. */
	assert_int_equal(bootline_parse("192.0.2.1 " KEY " tcp://192.0.2.1:443", 51821, &a, key),
	                 -EINVAL);
	/* A cap below four: -E2BIG past it. */
	assert_int_equal(bootline_parse_urls("192.0.2.1 " KEY " tcp://a:1 tcp://b:2", 51821, &a,
	                                     key, u, 1, &n, &bad),
	                 -E2BIG);
	assert_int_equal(bad, 4);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepts),       cmocka_unit_test(test_refuses),
	    cmocka_unit_test(test_port_required), cmocka_unit_test(test_urls),
	    cmocka_unit_test(test_urls_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
