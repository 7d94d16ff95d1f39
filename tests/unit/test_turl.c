/* Unit tests: common/turl.c (transport and proxy URLs). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "turl.h"

/* 63 and 64 characters: the longest label, one too long. */
#define L63 "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghijk"
#define L64 L63 "l"
/* A v3 onion address (56 base32 characters). */
#define ONION "vww6ybal4bd7szmgncyruucpgfkqahzddi37ktceo3ah7ngmcopnpyyd.onion"

struct good {
	const char *in;
	uint8_t kind;
	const char *host;
	uint16_t port;
	const char *path;
	const char *canon; /* turl_format's text */
};

static const struct good goods[] = {
    {"udp://192.0.2.1:51821", TURL_UDP, "192.0.2.1", 51821, "", "udp://192.0.2.1:51821"},
    {"tcp://relay.example.org:443", TURL_TCP, "relay.example.org", 443, "",
     "tcp://relay.example.org:443"},
    {"tls://[2001:db8::1]:443", TURL_TLS, "2001:db8::1", 443, "", "tls://[2001:db8::1]:443"},
    /* IPv6 literals are kept in inet_ntop's spelling, so equal addresses compare equal. */
    {"tls://[2001:DB8:0:0::1]:443", TURL_TLS, "2001:db8::1", 443, "", "tls://[2001:db8::1]:443"},
    {"tcp://[::ffff:192.0.2.1]:1", TURL_TCP, "::ffff:192.0.2.1", 1, "",
     "tcp://[::ffff:192.0.2.1]:1"},
    {"ws://relay.example.org", TURL_WS, "relay.example.org", 80, "/wgrelay",
     "ws://relay.example.org"},
    {"wss://relay.example.org", TURL_WSS, "relay.example.org", 443, "/wgrelay",
     "wss://relay.example.org"},
    {"wss://relay.example.org:443/wgrelay", TURL_WSS, "relay.example.org", 443, "/wgrelay",
     "wss://relay.example.org"},
    {"wss://relay.example.org:8443/x/y?z=1", TURL_WSS, "relay.example.org", 8443, "/x/y?z=1",
     "wss://relay.example.org:8443/x/y?z=1"},
    {"ws://relay.example.org:443", TURL_WS, "relay.example.org", 443, "/wgrelay",
     "ws://relay.example.org:443"},
    {"wss://[::1]:80/", TURL_WSS, "::1", 80, "/", "wss://[::1]:80/"},
    {"ws://10.0.0.1/", TURL_WS, "10.0.0.1", 80, "/", "ws://10.0.0.1/"},
    /* Scheme case does not matter; host case is kept. */
    {"TCP://Relay.Example.ORG:0443", TURL_TCP, "Relay.Example.ORG", 443, "",
     "tcp://Relay.Example.ORG:443"},
    {"tcp://" ONION ":443", TURL_TCP, ONION, 443, "", "tcp://" ONION ":443"},
    {"tcp://localhost:65535", TURL_TCP, "localhost", 65535, "", "tcp://localhost:65535"},
    {"tcp://a-b.c0:1", TURL_TCP, "a-b.c0", 1, "", "tcp://a-b.c0:1"},
    {"tcp://" L63 ".x:1", TURL_TCP, L63 ".x", 1, "", "tcp://" L63 ".x:1"},
};

struct bad {
	const char *in;
	int err;
};

static const struct bad bads[] = {
    {"", -EINVAL},
    {"tcp", -EINVAL},
    {"tcp:/h:1", -EINVAL},
    {"ftp://h:1", -EINVAL},
    {"tcps://h:1", -EINVAL},
    {"://h:1", -EINVAL},
    {"socks5://h:1", -EINVAL}, /* a proxy is not a transport */
    {"udp://h", -EINVAL},      /* udp, tcp and tls need a port */
    {"tcp://h", -EINVAL},
    {"tls://h", -EINVAL},
    {"tcp://h:", -EINVAL},
    {"tcp://:1", -EINVAL},
    {"tcp://", -EINVAL},
    {"ws://", -EINVAL},
    {"ws:///x", -EINVAL},
    {"tcp://h:0", -ERANGE},
    {"tcp://h:65536", -ERANGE},
    {"tcp://h:99999999999999999999", -ERANGE},
    {"ws://h:0", -ERANGE},
    {"tcp://h:1x", -EINVAL},
    {"tcp://h:-1", -EINVAL},
    {"tcp://h:+1", -EINVAL},
    {"tcp://h: 1", -EINVAL},
    {"tcp://h:1/", -EINVAL}, /* a path only on ws and wss */
    {"tls://h:1/wgrelay", -EINVAL},
    {"udp://h:1/x", -EINVAL},
    {"tcp://h:1:2", -EINVAL},
    {"tcp://user@h:1", -EINVAL},
    {"tcp://-h:1", -EINVAL},
    {"tcp://h-:1", -EINVAL},
    {"tcp://a..b:1", -EINVAL},
    {"tcp://.a:1", -EINVAL},
    {"tcp://a.:1", -EINVAL},
    {"tcp://h_x:1", -EINVAL},
    {"tcp://h x:1", -EINVAL},
    {"tcp://" L64 ":1", -EINVAL},
    {"tcp://1.2.3:1", -EINVAL}, /* digits and dots are an IPv4 literal or nothing */
    {"tcp://1.2.3.256:1", -EINVAL},
    {"tcp://01.2.3.4:1", -EINVAL},
    {"tcp://a.123:1", -EINVAL},       /* an all-digit last label reads as an address */
    {"tcp://2001:db8::1:1", -EINVAL}, /* IPv6 needs brackets */
    {"tcp://[2001:db8::1:1", -EINVAL},
    {"tcp://[2001:db8::1]1", -EINVAL},
    {"tcp://[fe80::1%eth0]:1", -EINVAL}, /* no scope ids */
    {"tcp://[192.0.2.1]:1", -EINVAL},
    {"tcp://[]:1", -EINVAL},
    {"tcp://[h]:1", -EINVAL},
    {"ws://h/../x y", -EINVAL},
    {"ws://h/x\ty", -EINVAL},
    {"ws://h/\x7f", -EINVAL},
    {"ws://h/\xc3\xa9", -EINVAL},
    {"ws://h:80:80/", -EINVAL},
    {"ws://h?x", -EINVAL}, /* a query without a path */
    {"ws://h#x", -EINVAL},
    /* 64 characters: one more than a descriptor string holds. */
    {"ws://h/" L63, -EINVAL},
    {"tcp://1x.2:1", -EINVAL},
};

static void check_good(const struct good *g)
{
	struct turl u, v;
	char out[TURL_STRLEN];
	int n;

	if (turl_parse(&u, g->in) != 0)
		fail_msg("%s: did not parse", g->in);
	assert_int_equal(u.kind, g->kind);
	assert_string_equal(u.host, g->host);
	assert_int_equal(u.port, g->port);
	assert_string_equal(u.path, g->path);
	n = turl_format(&u, out, sizeof(out));
	assert_int_equal(n, (int)strlen(g->canon));
	assert_string_equal(out, g->canon);
	/* The canonical text reads back to the same struct, byte for byte. */
	assert_int_equal(turl_parse(&v, out), 0);
	assert_memory_equal(&u, &v, sizeof(u));
	/* Exactly n + 1 bytes is enough; one fewer is -ENOSPC. */
	assert_int_equal(turl_format(&u, out, (size_t)n + 1), n);
	assert_int_equal(turl_format(&u, out, (size_t)n), -ENOSPC);
}

static void test_good(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(goods) / sizeof(goods[0]); i++)
		check_good(&goods[i]);
}

static void test_bad(void **state)
{
	struct turl u;

	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		memset(&u, 0x5a, sizeof(u));
		int r = turl_parse(&u, bads[i].in);
		if (r != bads[i].err)
			fail_msg("\"%s\": %d, want %d", bads[i].in, r, bads[i].err);
		assert_int_equal(u.kind, 0); /* nothing half-filled is left behind */
	}
	assert_int_equal(turl_parse(&u, NULL), -EINVAL);
}

/* Length limits: a 253-character name is the longest; a path of 63 characters fits. */
static void test_limits(void **state)
{
	char name[300], url[400], out[TURL_STRLEN];
	struct turl u, v;

	(void)state;
	/* 4 labels of 63 plus 3 dots: 255 characters, too long; then cut to 253. */
	snprintf(name, sizeof(name), "%s.%s.%s.%s", L63, L63, L63, L63);
	snprintf(url, sizeof(url), "wss://%s:65535/%.62s", name, L63);
	assert_int_equal(turl_parse(&u, url), -EINVAL);
	name[253] = '\0';
	snprintf(url, sizeof(url), "wss://%s:65535/%.62s", name, L63);
	assert_int_equal(turl_parse(&u, url), 0);
	assert_int_equal(strlen(u.host), 253);
	assert_int_equal(strlen(u.path), TURL_MAX_PATH - 1);
	/* The longest canonical URL fits TURL_STRLEN. */
	assert_true(turl_format(&u, out, sizeof(out)) > 0);
	assert_string_equal(out, url);
	assert_int_equal(turl_parse(&v, out), 0);
	assert_memory_equal(&u, &v, sizeof(u));
	name[254 - 1] = 'x';
	name[254] = '\0';
	snprintf(url, sizeof(url), "wss://%s", name);
	assert_int_equal(turl_parse(&u, url), -EINVAL);
}

static void test_kind_name(void **state)
{
	(void)state;
	assert_string_equal(turl_kind_name(TURL_UDP), "udp");
	assert_string_equal(turl_kind_name(TURL_TCP), "tcp");
	assert_string_equal(turl_kind_name(TURL_TLS), "tls");
	assert_string_equal(turl_kind_name(TURL_WS), "ws");
	assert_string_equal(turl_kind_name(TURL_WSS), "wss");
	assert_string_equal(turl_kind_name(0), "?");
	assert_string_equal(turl_kind_name(6), "?");
}

static void test_format_refuses_unknown(void **state)
{
	struct turl u;
	char out[TURL_STRLEN];

	(void)state;
	memset(&u, 0, sizeof(u));
	assert_int_equal(turl_format(&u, out, sizeof(out)), -EINVAL);
}

static void test_host_addr(void **state)
{
	struct turl u;
	struct addr a;
	char text[ADDR_STRLEN];

	(void)state;
	assert_int_equal(turl_parse(&u, "tls://192.0.2.7:443"), 0);
	assert_true(turl_host_addr(&u, &a));
	assert_string_equal(addr_format(&a, text, sizeof(text)), "192.0.2.7:443");
	assert_int_equal(turl_parse(&u, "wss://[2001:db8::7]"), 0);
	assert_true(turl_host_addr(&u, &a));
	assert_string_equal(addr_format(&a, text, sizeof(text)), "[2001:db8::7]:443");
	assert_true(turl_host_addr(&u, NULL));
	/* Names are not addresses, not even ones that look close. */
	memset(&a, 0x5a, sizeof(a));
	assert_int_equal(turl_parse(&u, "wss://relay.example.org"), 0);
	assert_false(turl_host_addr(&u, &a));
	assert_int_equal(((const uint8_t *)&a)[0], 0x5a); /* untouched */
	assert_int_equal(turl_parse(&u, "tcp://" ONION ":443"), 0);
	assert_false(turl_host_addr(&u, &a));
	assert_int_equal(turl_parse(&u, "tcp://" L63 ".x:1"), 0);
	assert_false(turl_host_addr(&u, &a));
}

struct pgood {
	const char *in;
	uint8_t kind;
	const char *host;
	uint16_t port;
	const char *user, *pass;
	const char *shown; /* turl_proxy_format: never the password */
};

static const struct pgood pgoods[] = {
    {"socks5://127.0.0.1:9050", TURL_PROXY_SOCKS5, "127.0.0.1", 9050, "", "",
     "socks5://127.0.0.1:9050"},
    {"socks5h://127.0.0.1:9050/", TURL_PROXY_SOCKS5, "127.0.0.1", 9050, "", "",
     "socks5://127.0.0.1:9050"},
    {"SOCKS5://[::1]:1080", TURL_PROXY_SOCKS5, "::1", 1080, "", "", "socks5://[::1]:1080"},
    {"socks5://alice:s3cret@proxy.example:1080", TURL_PROXY_SOCKS5, "proxy.example", 1080, "alice",
     "s3cret", "socks5://alice@proxy.example:1080"},
    /* The user has no ':'; the password runs to the last '@' and may hold both. */
    {"socks5://u:p:a@ss@w/rd@[2001:db8::2]:1", TURL_PROXY_SOCKS5, "2001:db8::2", 1, "u",
     "p:a@ss@w/rd", "socks5://u@[2001:db8::2]:1"},
    {"http://proxy.example:3128", TURL_PROXY_HTTP, "proxy.example", 3128, "", "",
     "http://proxy.example:3128"},
    {"http://proxy.example:3128/", TURL_PROXY_HTTP, "proxy.example", 3128, "", "",
     "http://proxy.example:3128"},
    {"http://bob:pw@10.1.2.3:8080", TURL_PROXY_HTTP, "10.1.2.3", 8080, "bob", "pw",
     "http://bob@10.1.2.3:8080"},
};

static const struct bad pbads[] = {
    {"", -EINVAL},
    {"socks4://h:1", -EINVAL},
    {"https://h:1", -EINVAL},
    {"tcp://h:1", -EINVAL},
    {"socks5://h", -EINVAL}, /* a proxy's port is always given */
    {"http://h", -EINVAL},
    {"socks5://h:0", -ERANGE},
    {"http://h:65536", -ERANGE},
    {"http://h:1/x", -EINVAL},
    {"http://h:1//", -EINVAL},
    {"socks5://@h:1", -EINVAL},
    {"socks5://user@h:1", -EINVAL}, /* user and password come together */
    {"socks5://:pw@h:1", -EINVAL},
    {"socks5://u:@h:1", -EINVAL},
    {"socks5://u u:p@h:1", -EINVAL},
    {"socks5://u:p@", -EINVAL},
    {"socks5://u:p@h:1@", -EINVAL},
};

static void test_proxy(void **state)
{
	struct turl_proxy p;
	char out[TURL_STRLEN];

	(void)state;
	for (size_t i = 0; i < sizeof(pgoods) / sizeof(pgoods[0]); i++) {
		const struct pgood *g = &pgoods[i];

		if (turl_proxy_parse(&p, g->in) != 0)
			fail_msg("%s: did not parse", g->in);
		assert_int_equal(p.kind, g->kind);
		assert_string_equal(p.host, g->host);
		assert_int_equal(p.port, g->port);
		assert_string_equal(p.user, g->user);
		assert_string_equal(p.pass, g->pass);
		assert_int_equal(turl_proxy_format(&p, out, sizeof(out)), (int)strlen(g->shown));
		assert_string_equal(out, g->shown);
		/* Without credentials the shown text is the whole proxy again. */
		if (!g->user[0]) {
			struct turl_proxy q;

			assert_int_equal(turl_proxy_parse(&q, out), 0);
			assert_memory_equal(&p, &q, sizeof(p));
		}
		assert_int_equal(turl_proxy_format(&p, out, strlen(g->shown)), -ENOSPC);
	}
	for (size_t i = 0; i < sizeof(pbads) / sizeof(pbads[0]); i++) {
		memset(&p, 0x5a, sizeof(p));
		int r = turl_proxy_parse(&p, pbads[i].in);
		if (r != pbads[i].err)
			fail_msg("\"%s\": %d, want %d", pbads[i].in, r, pbads[i].err);
		assert_int_equal(p.kind, TURL_PROXY_NONE);
		assert_string_equal(p.pass, ""); /* no credential left in a refused struct */
	}
	/* The last '@' ends the password: "p@h" here. */
	assert_int_equal(turl_proxy_parse(&p, "socks5://u:p@h@h:1"), 0);
	assert_string_equal(p.pass, "p@h");
	assert_string_equal(p.host, "h");
	assert_int_equal(turl_proxy_parse(&p, NULL), -EINVAL);
	memset(&p, 0, sizeof(p));
	assert_int_equal(turl_proxy_format(&p, out, sizeof(out)), -EINVAL);
}

/* Credentials up to RFC 1929's 255 bytes each; 256 is refused. */
static void test_proxy_credential_limits(void **state)
{
	static char url[1200];
	char user[300], pass[300];
	struct turl_proxy p;

	(void)state;
	memset(user, 'u', 255);
	user[255] = '\0';
	memset(pass, 'p', 255);
	pass[255] = '\0';
	snprintf(url, sizeof(url), "socks5://%s:%s@h:1", user, pass);
	assert_int_equal(turl_proxy_parse(&p, url), 0);
	assert_string_equal(p.user, user);
	assert_string_equal(p.pass, pass);
	snprintf(url, sizeof(url), "socks5://%su:%s@h:1", user, pass);
	assert_int_equal(turl_proxy_parse(&p, url), -EINVAL);
	snprintf(url, sizeof(url), "socks5://%s:%sp@h:1", user, pass);
	assert_int_equal(turl_proxy_parse(&p, url), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_good),
	    cmocka_unit_test(test_bad),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_kind_name),
	    cmocka_unit_test(test_format_refuses_unknown),
	    cmocka_unit_test(test_host_addr),
	    cmocka_unit_test(test_proxy),
	    cmocka_unit_test(test_proxy_credential_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
