/*
 * Unit tests: wg-integration/wg_uapi.c, the userspace backend's "get=1" reply parser and its
 * set requests (update-only, remove-and-add), including errno!=0, truncation, bad hex, unknown
 * keys, long lines; requests to exact bytes, and too small a buffer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "key.h"
#include "wg_uapi.h"

#define PRIV "e84b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a"
#define PUB1 "b85996fecc9c7f1fc6d2572a76eda11d59bcd20be8e543b15ce4bd85a8e75a33"
#define PSK1 "188515093e952f5f22e865cef3012e72f8b5f0b598ac0309d5dacce3b70fcf52"
#define PUB2 "58402e695ba1772b1cc9309755f043251ea77fdcf10fbe63989ceb7e19321376"

static const char reply[] = "private_key=" PRIV "\n"
                            "listen_port=12912\n"
                            "fwmark=3\n"
                            "some_future_key=whatever\n"
                            "public_key=" PUB1 "\n"
                            "preshared_key=" PSK1 "\n"
                            "protocol_version=1\n"
                            "endpoint=[abcd:23::33%2]:51820\n"
                            "last_handshake_time_sec=1700000001\n"
                            "last_handshake_time_nsec=5\n"
                            "tx_bytes=38333\n"
                            "rx_bytes=2224\n"
                            "persistent_keepalive_interval=25\n"
                            "allowed_ip=192.168.4.4/32\n"
                            "allowed_ip=2001:db8::/64\n"
                            "unknown_peer_key=1\n"
                            "public_key=" PUB2 "\n"
                            "endpoint=182.122.22.19:3233\n"
                            "allowed_ip=192.168.4.6/32\n"
                            "errno=0\n"
                            "\n";

static int parse(const char *s, size_t len, size_t chunk, struct wg_device **out)
{
	struct wg_uapi_parser p;
	int r = 1;

	assert_int_equal(wg_uapi_parser_init(&p), 0);
	for (size_t off = 0; off < len && r == 1; off += chunk)
		r = wg_uapi_parser_feed(&p, s + off, len - off < chunk ? len - off : chunk);
	if (r == 0 && out) {
		*out = p.dev;
		p.dev = NULL;
	}
	wg_uapi_parser_free(&p);
	return r;
}

static void test_full_reply(void **state)
{
	uint8_t k[32], pub[32];
	struct wg_device *d = NULL;
	struct wg_peer *p;
	char s[ADDR_STRLEN];

	(void)state;
	/* The same result whatever the read sizes were. */
	for (size_t chunk = 1; chunk <= sizeof(reply); chunk = chunk * 3 + 1) {
		assert_int_equal(parse(reply, sizeof(reply) - 1, chunk, &d), 0);
		assert_int_equal(d->backend, WG_BACKEND_UAPI);
		assert_int_equal(d->listen_port, 12912);
		assert_int_equal(d->fwmark, 3);
		assert_true(d->flags & WG_DEVICE_HAS_PRIVATE_KEY);
		key_public_from_private(pub, d->private_key);
		assert_memory_equal(d->public_key, pub, 32);
		assert_int_equal(d->n_peers, 2);
		p = &d->peers[0];
		assert_true(p->flags & WG_PEER_HAS_PRESHARED_KEY);
		assert_int_equal(p->last_handshake.tv_sec, 1700000001);
		assert_int_equal(p->last_handshake.tv_nsec, 5);
		assert_int_equal(p->tx_bytes, 38333);
		assert_int_equal(p->rx_bytes, 2224);
		assert_int_equal(p->persistent_keepalive_interval, 25);
		assert_int_equal(p->n_allowedips, 2);
		assert_int_equal(p->allowedips[0].family, AF_INET);
		assert_int_equal(p->allowedips[0].cidr, 32);
		assert_int_equal(p->allowedips[1].family, AF_INET6);
		assert_int_equal(p->allowedips[1].cidr, 64);
		assert_int_equal(addr_family(&p->endpoint), AF_INET6);
		assert_int_equal(addr_port(&p->endpoint), 51820);
		assert_int_equal(p->endpoint.in6.sin6_scope_id, 2);
		p = &d->peers[1];
		assert_false(p->flags & WG_PEER_HAS_PRESHARED_KEY);
		assert_string_equal(addr_format(&p->endpoint, s, sizeof(s)), "182.122.22.19:3233");
		assert_int_equal(p->n_allowedips, 1);
		assert_int_equal(p->persistent_keepalive_interval, 0);
		memset(k, 0, sizeof(k));
		for (int i = 0; i < 32; i++)
			sscanf(&PUB2[2 * i], "%2hhx", &k[i]);
		assert_ptr_equal(wg_device_find_peer(d, k), p);
		wg_free_device(d);
		d = NULL;
	}
}

static void test_remote_errno(void **state)
{
	static const char r1[] = "errno=19\n\n";
	static const char r2[] = "private_key=" PRIV "\nerrno=2\n\n";
	static const char r3[] = "errno=0\n\n";
	struct wg_device *d = NULL;

	(void)state;
	assert_int_equal(parse(r1, sizeof(r1) - 1, 64, &d), -19);
	assert_null(d);
	assert_int_equal(parse(r2, sizeof(r2) - 1, 64, &d), -ENOENT);
	assert_int_equal(parse(r3, sizeof(r3) - 1, 64, &d), 0);
	assert_int_equal(d->n_peers, 0);
	wg_free_device(d);
}

/* A reply cut anywhere waits for more; it never reads as complete. */
static void test_truncated(void **state)
{
	(void)state;
	for (size_t cut = 0; cut < sizeof(reply) - 1; cut++)
		assert_int_equal(parse(reply, cut, 4096, NULL), 1);
}

static void test_malformed(void **state)
{
	static const char *const bad[] = {
	    "private_key=" PRIV "0\nerrno=0\n\n", /* 65 hex digits */
	    "private_key=zz4b5a6d2717c1003a13b431570353dbaca9146cf150c5f8575680feba52027a\n\n",
	    "public_key=" PUB1 "\nallowed_ip=10.0.0.0/33\nerrno=0\n\n",
	    "public_key=" PUB1 "\nallowed_ip=10.0.0.0\nerrno=0\n\n",
	    "public_key=" PUB1 "\nallowed_ip=::/129\nerrno=0\n\n",
	    "public_key=" PUB1 "\nendpoint=nohost\nerrno=0\n\n",
	    "public_key=" PUB1 "\nendpoint=[fe80::1%]:1\nerrno=0\n\n",
	    "public_key=" PUB1 "\nendpoint=1.2.3.4%1:1\nerrno=0\n\n",
	    "public_key=" PUB1 "\nrx_bytes=18446744073709551616\nerrno=0\n\n",
	    "public_key=" PUB1 "\nrx_bytes=-1\nerrno=0\n\n",
	    "public_key=" PUB1 "\npersistent_keepalive_interval=65536\nerrno=0\n\n",
	    "listen_port=65536\nerrno=0\n\n",
	    "listen_port=\nerrno=0\n\n",
	    "no equals sign\nerrno=0\n\n",
	    "errno=0\nlisten_port=1\n\n", /* errno= must be last */
	    "errno=x\n\n",
	    "listen_port=1\n\n", /* no errno= at all */
	};
	static const char nul[] = "listen_port=1\0\nerrno=0\n\n";

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], strlen(bad[i]), 7, NULL), -EBADMSG);
	assert_int_equal(parse(nul, sizeof(nul) - 1, 64, NULL), -EBADMSG);
}

static void test_overlong_line(void **state)
{
	size_t n = WG_UAPI_LINE_MAX + 64;
	char *s = malloc(n + 16);
	struct wg_device *d = NULL;

	(void)state;
	memcpy(s, "x_unknown=", 10);
	memset(s + 10, 'a', n - 10);
	memcpy(s + n, "\nerrno=0\n\n", 10);
	assert_int_equal(parse(s, n + 10, 100, NULL), -EBADMSG);
	/* At the limit an unknown key is still just skipped. */
	memcpy(s + WG_UAPI_LINE_MAX, "\nerrno=0\n\n", 10);
	assert_int_equal(parse(s, WG_UAPI_LINE_MAX + 10, 100, &d), 0);
	wg_free_device(d);
	free(s);
}

static void test_format_set(void **state)
{
	struct wg_peer_set set = {0};
	struct addr ep;
	uint8_t k[32];
	char buf[512];

	(void)state;
	memset(k, 0xab, sizeof(k));
	assert_int_equal(addr_parse(&ep, "[2001:db8::1]:51820", 0), 0);
	set.endpoint = &ep;
	assert_true(wg_uapi_format_set_peer(buf, sizeof(buf), k, &set) > 0);
	assert_string_equal(buf,
	                    "set=1\npublic_key="
	                    "abababababababababababababababababababababababababababababababab\n"
	                    "update_only=true\nendpoint=[2001:db8::1]:51820\n\n");
	memset(&set, 0, sizeof(set));
	set.set_keepalive = true;
	set.keepalive = 25;
	assert_true(wg_uapi_format_set_peer(buf, sizeof(buf), k, &set) > 0);
	assert_non_null(strstr(buf, "update_only=true\npersistent_keepalive_interval=25\n\n"));
	assert_null(strstr(buf, "endpoint"));
	assert_int_equal(wg_uapi_format_set_peer(buf, 40, k, &set), -ENOBUFS);
}

/* A peer as wg_get_device reports it: psk, IPv4 endpoint, keepalive, three allowed IPs. */
static struct wg_allowedip aips[3];

static void readd_peer(struct wg_peer *p)
{
	memset(p, 0, sizeof(*p));
	memset(aips, 0, sizeof(aips));
	p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_PRESHARED_KEY | WG_PEER_HAS_KEEPALIVE;
	memset(p->public_key, 0xab, 32);
	memset(p->preshared_key, 0x11, 32);
	assert_int_equal(addr_parse(&p->endpoint, "192.0.2.7:51821", 0), 0);
	p->persistent_keepalive_interval = 17;
	p->last_handshake.tv_sec = 1700000000; /* state, not configuration: never sent */
	p->rx_bytes = 5;
	aips[0].family = AF_INET;
	inet_pton(AF_INET, "10.9.0.0", &aips[0].ip4);
	aips[0].cidr = 16;
	aips[1].family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:9::", &aips[1].ip6);
	aips[1].cidr = 48;
	aips[2].family = AF_INET;
	inet_pton(AF_INET, "192.168.4.4", &aips[2].ip4);
	aips[2].cidr = 32;
	p->allowedips = aips;
	p->n_allowedips = p->cap_allowedips = 3;
}

#define KEY_AB "abababababababababababababababababababababababababababababababab"
#define KEY_11 "1111111111111111111111111111111111111111111111111111111111111111"
#define ADD_BLOCK                                                                                  \
	"public_key=" KEY_AB "\npreshared_key=" KEY_11 "\nendpoint=192.0.2.7:51821\n"              \
	"persistent_keepalive_interval=17\nreplace_allowed_ips=true\n"                             \
	"allowed_ip=10.9.0.0/16\nallowed_ip=2001:db8:9::/48\nallowed_ip=192.168.4.4/32\n"

static void test_format_readd(void **state)
{
	static const char readd[] = "set=1\npublic_key=" KEY_AB "\nremove=true\n" ADD_BLOCK "\n";
	static const char add[] = "set=1\n" ADD_BLOCK "\n";
	struct wg_peer p;
	char buf[1024];

	(void)state;
	readd_peer(&p);
	assert_int_equal(wg_uapi_format_readd_peer(buf, sizeof(buf), &p), sizeof(readd) - 1);
	assert_string_equal(buf, readd);
	assert_int_equal(wg_uapi_format_add_peer(buf, sizeof(buf), &p), sizeof(add) - 1);
	assert_string_equal(buf, add);
	assert_true(wg_uapi_readd_size(&p) > sizeof(readd));

	/* No preshared key, no endpoint, no keepalive, no allowed IPs: none stays none. */
	memset(p.preshared_key, 0, 32); /* reported, but all zeros */
	p.endpoint.len = 0;
	p.persistent_keepalive_interval = 0;
	p.n_allowedips = 0;
	assert_true(wg_uapi_format_add_peer(buf, sizeof(buf), &p) > 0);
	assert_string_equal(buf, "set=1\npublic_key=" KEY_AB "\npersistent_keepalive_interval=0\n"
	                         "replace_allowed_ips=true\n\n");
	p.flags &= ~(unsigned)WG_PEER_HAS_PRESHARED_KEY;
	memset(p.preshared_key, 0x11, 32); /* not reported: not sent either */
	assert_true(wg_uapi_format_add_peer(buf, sizeof(buf), &p) > 0);
	assert_null(strstr(buf, "preshared_key"));

	/* A link-local endpoint keeps its scope, written the way the reader takes it. */
	assert_int_equal(addr_parse(&p.endpoint, "[fe80::1]:51820", 0), 0);
	p.endpoint.in6.sin6_scope_id = 2;
	assert_true(wg_uapi_format_add_peer(buf, sizeof(buf), &p) > 0);
	assert_non_null(strstr(buf, "\nendpoint=[fe80::1%2]:51820\n"));
	assert_int_equal(addr_parse(&p.endpoint, "[2001:db8::1]:4000", 0), 0);
	assert_true(wg_uapi_format_add_peer(buf, sizeof(buf), &p) > 0);
	assert_non_null(strstr(buf, "\nendpoint=[2001:db8::1]:4000\n"));
}

/* What the add request says reads back, through the reply parser, as the very same peer. */
static void test_format_add_round_trip(void **state)
{
	struct wg_device *d = NULL;
	struct wg_peer p;
	char buf[1024];
	int len;

	(void)state;
	readd_peer(&p);
	len = wg_uapi_format_add_peer(buf, sizeof(buf) - 16, &p);
	assert_true(len > 0);
	/* "set=1" is an unknown device key and replace_allowed_ips an unknown peer key here. */
	strcpy(buf + len - 1, "errno=0\n\n");
	assert_int_equal(parse(buf, strlen(buf), 13, &d), 0);
	assert_int_equal(d->n_peers, 1);
	assert_int_equal(d->peers[0].flags, p.flags);
	assert_memory_equal(d->peers[0].public_key, p.public_key, 32);
	assert_memory_equal(d->peers[0].preshared_key, p.preshared_key, 32);
	assert_true(addr_equal(&d->peers[0].endpoint, &p.endpoint));
	assert_int_equal(d->peers[0].persistent_keepalive_interval, 17);
	assert_int_equal(d->peers[0].n_allowedips, 3);
	assert_memory_equal(d->peers[0].allowedips, aips, sizeof(aips));
	wg_free_device(d);
}

static void test_format_readd_limits(void **state)
{
	struct wg_allowedip *many = calloc(WG_READD_MAX_ALLOWEDIPS + 1, sizeof(*many));
	struct wg_peer p;
	size_t cap;
	char *buf;
	int len;

	(void)state;
	readd_peer(&p);
	/* Every buffer too small is refused, and nothing is written past its end. */
	len = wg_uapi_format_readd_peer(NULL, 0, &p);
	assert_int_equal(len, -ENOBUFS);
	buf = malloc(1024);
	len = wg_uapi_format_readd_peer(buf, 1024, &p);
	for (cap = 1; cap <= (size_t)len; cap++) {
		memset(buf, 'x', 1024);
		assert_int_equal(wg_uapi_format_readd_peer(buf, cap, &p), -ENOBUFS);
		assert_int_equal(buf[cap], 'x');
	}
	free(buf);

	/* The longest allowed IPs the cap lets through fit the size the caller allocates. */
	for (size_t i = 0; i <= WG_READD_MAX_ALLOWEDIPS; i++) {
		many[i].family = AF_INET6;
		inet_pton(AF_INET6, "ffff:ffff:ffff:ffff:ffff:ffff:255.255.255.255", &many[i].ip6);
		many[i].cidr = 128;
	}
	p.allowedips = many;
	p.n_allowedips = WG_READD_MAX_ALLOWEDIPS;
	assert_int_equal(
	    addr_parse(&p.endpoint, "[ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff]:65535", 0), 0);
	p.endpoint.in6.sin6_scope_id = UINT32_MAX;
	cap = wg_uapi_readd_size(&p);
	buf = malloc(cap);
	len = wg_uapi_format_readd_peer(buf, cap, &p);
	assert_true(len > 0 && (size_t)len < cap);
	assert_true(len < 16384); /* wg.h promises a request under 16 KiB */
	free(buf);

	buf = malloc(cap + 4096);
	p.n_allowedips = WG_READD_MAX_ALLOWEDIPS + 1;
	assert_int_equal(wg_uapi_format_readd_peer(buf, cap + 4096, &p), -E2BIG);
	assert_int_equal(wg_uapi_format_add_peer(buf, cap + 4096, &p), -E2BIG);
	p.n_allowedips = 1;
	many[0].cidr = 129;
	assert_int_equal(wg_uapi_format_readd_peer(buf, cap, &p), -EINVAL);
	many[0].family = AF_UNIX;
	many[0].cidr = 0;
	assert_int_equal(wg_uapi_format_readd_peer(buf, cap, &p), -EINVAL);
	many[0].family = AF_INET;
	many[0].cidr = 33;
	assert_int_equal(wg_uapi_format_readd_peer(buf, cap, &p), -EINVAL);
	many[0].cidr = 32;
	assert_true(wg_uapi_format_readd_peer(buf, cap, &p) > 0);
	p.flags &= ~(unsigned)WG_PEER_HAS_PUBLIC_KEY;
	assert_int_equal(wg_uapi_format_readd_peer(buf, cap, &p), -EINVAL);
	free(buf);
	free(many);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_full_reply),
	    cmocka_unit_test(test_remote_errno),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_overlong_line),
	    cmocka_unit_test(test_format_set),
	    cmocka_unit_test(test_format_readd),
	    cmocka_unit_test(test_format_add_round_trip),
	    cmocka_unit_test(test_format_readd_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
