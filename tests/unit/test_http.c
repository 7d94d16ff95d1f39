/* Unit tests: common/http.c (WebSocket upgrade heads, HTTP CONNECT). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "http.h"

#define KEY6455    "dGhlIHNhbXBsZSBub25jZQ=="
#define ACCEPT6455 "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="

#define GOOD_REQ                                                                                   \
	"GET /wgrelay HTTP/1.1\r\n"                                                                \
	"Host: relay.example\r\n"                                                                  \
	"Upgrade: websocket\r\n"                                                                   \
	"Connection: Upgrade\r\n"                                                                  \
	"Sec-WebSocket-Key: " KEY6455 "\r\n"                                                       \
	"Sec-WebSocket-Version: 13\r\n"                                                            \
	"\r\n"

static int parse_req(const char *s, struct http_ws_req *req, int *status)
{
	return http_ws_parse_request((const uint8_t *)s, strlen(s), req, status);
}

static void test_accept_key_rfc6455(void **state)
{
	char acc[HTTP_WS_ACCEPT_LEN + 1];

	(void)state;
	http_ws_accept_key(KEY6455, acc);
	assert_string_equal(acc, ACCEPT6455); /* RFC 6455 §1.3 */
	http_ws_accept_key("AAAAAAAAAAAAAAAAAAAAAA==", acc);
	assert_string_not_equal(acc, ACCEPT6455);
}

static void test_good_request(void **state)
{
	const char *s = GOOD_REQ "\x82\x85";
	struct http_ws_req req;
	int status = -1;

	(void)state;
	assert_int_equal(parse_req(s, &req, &status), (int)strlen(GOOD_REQ));
	assert_int_equal(status, 0);
	assert_string_equal(req.path, "/wgrelay");
	assert_string_equal(req.host, "relay.example");
	assert_string_equal(req.key, KEY6455);
}

static void test_lenient_forms(void **state)
{
	/* Case-insensitive names and tokens, lists, OWS, bare LF, a later minor version. */
	const char *s = "GET /x?y=1 HTTP/1.2\n"
	                "hOsT:\t[::1]:443 \n"
	                "upgrade: h2c, WebSocket\r\n"
	                "X-Empty:\r\n"
	                "connection: keep-alive\r\n"
	                "CONNECTION: ,UPGRADE ,\r\n"
	                "sec-websocket-key:   " KEY6455 "  \r\n"
	                "SEC-WEBSOCKET-VERSION: 13\r\n"
	                "\n";
	struct http_ws_req req;
	int status;

	(void)state;
	assert_int_equal(parse_req(s, &req, &status), (int)strlen(s));
	assert_string_equal(req.path, "/x?y=1");
	assert_string_equal(req.host, "[::1]:443");
	assert_string_equal(req.key, KEY6455);
}

struct bad_case {
	const char *head;
	int err, status;
};

#define H_HOST "Host: h\r\n"
#define H_UPG  "Upgrade: websocket\r\n"
#define H_CONN "Connection: Upgrade\r\n"
#define H_KEY  "Sec-WebSocket-Key: " KEY6455 "\r\n"
#define H_VER  "Sec-WebSocket-Version: 13\r\n"
#define RL     "GET / HTTP/1.1\r\n"

static void test_bad_requests(void **state)
{
	static const struct bad_case cases[] = {
	    {RL H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},  /* no Host */
	    {RL H_HOST H_CONN H_KEY H_VER "\r\n", -EINVAL, 400}, /* no Upgrade */
	    {RL H_HOST "Upgrade: h2c\r\n" H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {RL H_HOST "Upgrade: websockets\r\n" H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {RL H_HOST H_UPG H_KEY H_VER "\r\n", -EINVAL, 400}, /* no Connection */
	    {RL H_HOST H_UPG "Connection: keep-alive\r\n" H_KEY H_VER "\r\n", -EINVAL, 400},
	    {RL H_HOST H_UPG "Connection: upgrades\r\n" H_KEY H_VER "\r\n", -EINVAL, 400},
	    {RL H_HOST H_UPG H_CONN H_VER "\r\n", -EINVAL, 400}, /* no key */
	    {RL H_HOST H_UPG H_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ\r\n" H_VER "\r\n",
	     -EINVAL, 400},
	    {RL H_HOST H_UPG H_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZXg=\r\n" H_VER "\r\n",
	     -EINVAL, 400}, /* 17 bytes */
	    {RL H_HOST H_UPG H_CONN "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j!Q==\r\n" H_VER "\r\n",
	     -EINVAL, 400},
	    {RL H_HOST H_UPG H_CONN H_KEY "\r\n", -ENOTSUP, 426}, /* no version */
	    {RL H_HOST H_UPG H_CONN H_KEY "Sec-WebSocket-Version: 8\r\n\r\n", -ENOTSUP, 426},
	    {RL H_HOST H_UPG H_CONN H_KEY "Sec-WebSocket-Version: 13, 8\r\n\r\n", -ENOTSUP, 426},
	    {RL H_HOST H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {RL H_HOST H_UPG H_CONN H_KEY H_KEY H_VER "\r\n", -EINVAL, 400},
	    {RL "Host:\r\n" H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {"POST / HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", -ENOTSUP, 405},
	    {"get / HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", -ENOTSUP, 405},
	    {"GET / HTTP/1.0\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {"GET / HTTP/2.0\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", -ENOTSUP, 505},
	    {"GET / HTTP/1.1 \r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {"GET / http/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {"GET  / HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {"GET http://h/ HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {"GET /\x7f HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {RL H_HOST " folded\r\n" H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {RL "\tHost: h\r\n" H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {RL "Host : h\r\n" H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {RL "Host h\r\n" H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {RL ": h\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {RL "X: a\rb\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {RL "X: a\x01\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	    {"\r\n" RL H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", -EINVAL, 400},
	};
	struct http_ws_req req;
	int status;

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		status = 0;
		int r = parse_req(cases[i].head, &req, &status);

		if (r != cases[i].err || status != cases[i].status)
			fail_msg("case %zu: got %d/%d want %d/%d", i, r, status, cases[i].err,
			         cases[i].status);
	}
	/* Positive control: the same builder with nothing missing passes. */
	assert_true(parse_req(RL H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", &req, &status) > 0);
}

static void test_nul_in_head(void **state)
{
	uint8_t s[] = GOOD_REQ;
	struct http_ws_req req;
	int status;

	(void)state;
	s[20] = 0; /* inside "Host: relay.example" */
	assert_int_equal(http_ws_parse_request(s, sizeof(s) - 1, &req, &status), -EINVAL);
	assert_int_equal(status, 400);
}

static void test_long_target(void **state)
{
	char s[1024], path[300];
	struct http_ws_req req;
	int status;

	(void)state;
	memset(path, 'a', sizeof(path));
	path[0] = '/';
	path[255] = 0; /* 255 bytes: fits */
	snprintf(s, sizeof(s), "GET %s HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", path);
	assert_true(parse_req(s, &req, &status) > 0);
	assert_int_equal(strlen(req.path), 255);
	path[255] = 'a';
	path[256] = 0;
	snprintf(s, sizeof(s), "GET %s HTTP/1.1\r\n" H_HOST H_UPG H_CONN H_KEY H_VER "\r\n", path);
	assert_int_equal(parse_req(s, &req, &status), -EINVAL);
	assert_int_equal(status, 414);
}

static void test_header_limits(void **state)
{
	size_t cap = 16 + 10000 * 8 + 200, n = 0;
	uint8_t *s = malloc(cap);
	struct http_ws_req req;
	int status;

	(void)state;
	assert_non_null(s);
	n += (size_t)sprintf((char *)s, RL H_HOST);
	/* 63 more lines: 64 in all is allowed. */
	for (int i = 0; i < HTTP_MAX_HEADERS - 1; i++)
		n += (size_t)sprintf((char *)s + n, "X: %d\r\n", i % 10);
	memcpy(s + n, "\r\n", 2);
	status = 0;
	assert_int_equal(http_ws_parse_request(s, n + 2, &req, &status), -EINVAL); /* no Upgrade */
	assert_int_equal(status, 400);

	/* 10,000 lines: refused as soon as the 65th is whole, well before the head's end. */
	n = (size_t)sprintf((char *)s, RL);
	for (int i = 0; i < 10000; i++)
		n += (size_t)sprintf((char *)s + n, "X: %d\r\n", i % 10);
	memcpy(s + n, "\r\n", 2);
	assert_int_equal(http_ws_parse_request(s, n + 2, &req, &status), -E2BIG);
	assert_int_equal(status, 431);
	/* Only the first 65 lines are given: already refused. */
	assert_int_equal(http_ws_parse_request(s, strlen(RL) + 65 * 6, &req, &status), -E2BIG);
	assert_int_equal(http_ws_parse_request(s, strlen(RL) + 64 * 6, &req, &status), 0);

	/* One long header line, no end within HTTP_MAX_HEAD: 0 until the limit, then 431. */
	n = (size_t)sprintf((char *)s, RL "X: ");
	memset(s + n, 'a', cap - n);
	assert_int_equal(http_ws_parse_request(s, HTTP_MAX_HEAD - 1, &req, &status), 0);
	assert_int_equal(http_ws_parse_request(s, HTTP_MAX_HEAD, &req, &status), -EMSGSIZE);
	assert_int_equal(status, 431);
	assert_int_equal(http_ws_parse_request(s, cap, &req, &status), -EMSGSIZE);
	free(s);
}

static void test_head_exactly_max(void **state)
{
	uint8_t s[HTTP_MAX_HEAD + 10];
	size_t n = (size_t)sprintf((char *)s, RL H_HOST H_UPG H_CONN H_KEY H_VER "X: ");
	size_t pad = HTTP_MAX_HEAD - n - 4;
	struct http_ws_req req;
	int status;

	(void)state;
	memset(s + n, 'a', pad);
	memcpy(s + n + pad, "\r\n\r\nZZZZZZ", 10);
	assert_int_equal(http_ws_parse_request(s, sizeof(s), &req, &status), HTTP_MAX_HEAD);
	/* One byte longer: over the limit. */
	memset(s + n, 'a', pad + 1);
	memcpy(s + n + pad + 1, "\r\n\r\n", 4);
	assert_int_equal(http_ws_parse_request(s, sizeof(s), &req, &status), -EMSGSIZE);
}

static void test_split_every_byte(void **state)
{
	const char *s = GOOD_REQ;
	size_t n = strlen(s);
	struct http_ws_req req;
	int status;

	(void)state;
	for (size_t i = 0; i < n; i++) {
		status = -1;
		assert_int_equal(http_ws_parse_request((const uint8_t *)s, i, &req, &status), 0);
		assert_int_equal(status, 0);
	}
	assert_int_equal(http_ws_parse_request((const uint8_t *)s, n, &req, &status), (int)n);
}

static void test_round_trip(void **state)
{
	char out[1024], resp[256], key[HTTP_WS_KEY_LEN + 1], key2[HTTP_WS_KEY_LEN + 1];
	struct http_ws_req req;
	int n, m, status;

	(void)state;
	n = http_ws_request(out, sizeof(out), "relay.example", "/wgrelay", key);
	assert_true(n > 0);
	assert_int_equal(strlen(out), n);
	assert_int_equal(parse_req(out, &req, &status), n);
	assert_string_equal(req.host, "relay.example");
	assert_string_equal(req.path, "/wgrelay");
	assert_string_equal(req.key, key);
	/* Keys are fresh each time. */
	assert_true(http_ws_request(out, sizeof(out), "h", "/", key2) > 0);
	assert_string_not_equal(key, key2);

	m = http_ws_accept_response(resp, sizeof(resp), req.key);
	assert_true(m > 0);
	memcpy(resp + m, "\x82\x00", 2);
	assert_int_equal(http_ws_parse_response((const uint8_t *)resp, (size_t)m + 2, key, &status),
	                 m);
	assert_int_equal(status, 101);
	/* Every prefix is incomplete. */
	for (int i = 0; i < m; i++)
		assert_int_equal(
		    http_ws_parse_response((const uint8_t *)resp, (size_t)i, key, &status), 0);
	/* Another key's accept is refused. */
	assert_int_equal(http_ws_parse_response((const uint8_t *)resp, (size_t)m, key2, &status),
	                 -EPROTO);

	/* An IPv6 literal gets brackets in Host. */
	assert_true(http_ws_request(out, sizeof(out), "2001:db8::1", "/p", key) > 0);
	assert_non_null(strstr(out, "\r\nHost: [2001:db8::1]\r\n"));
	/* Too small, and injection attempts. */
	assert_int_equal(http_ws_request(out, 40, "relay.example", "/wgrelay", key), -ENOSPC);
	assert_int_equal(http_ws_request(out, sizeof(out), "h\r\nX: y", "/", key), -EINVAL);
	assert_int_equal(http_ws_request(out, sizeof(out), "h", "/ a", key), -EINVAL);
	assert_int_equal(http_ws_request(out, sizeof(out), "h", "nopath", key), -EINVAL);
}

static void test_ws_response_refusals(void **state)
{
	static const char *bad[] = {
	    "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: " ACCEPT6455 "\r\n\r\n",
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	    "Sec-WebSocket-Accept: " ACCEPT6455 "\r\n\r\n",
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n",
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOO=\r\n\r\n",
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: " ACCEPT6455 "\r\nSec-WebSocket-Accept: " ACCEPT6455 "\r\n\r\n",
	    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
	    "Sec-WebSocket-Accept: " ACCEPT6455 "\r\nSec-WebSocket-Extensions: x\r\n\r\n",
	    "HTTP/1.1 10 Short\r\n\r\n",
	    "HTTP/1.1 abc Bad\r\n\r\n",
	    "SSH-2.0-OpenSSH\r\n\r\n",
	};
	const char *good = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                   "Connection: Upgrade\r\nSec-WebSocket-Accept: " ACCEPT6455 "\r\n\r\n";
	const char *r404 = "HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n";
	int status;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = http_ws_parse_response((const uint8_t *)bad[i], strlen(bad[i]), KEY6455,
		                               &status);
		if (r != -EPROTO)
			fail_msg("case %zu: got %d", i, r);
	}
	assert_int_equal(
	    http_ws_parse_response((const uint8_t *)good, strlen(good), KEY6455, &status),
	    (int)strlen(good));
	assert_int_equal(
	    http_ws_parse_response((const uint8_t *)r404, strlen(r404), KEY6455, &status),
	    -ECONNREFUSED);
	assert_int_equal(status, 404);
}

static void test_error_response(void **state)
{
	char out[256];
	int n;

	(void)state;
	n = http_error_response(out, sizeof(out), 426);
	assert_int_equal(n, strlen(out));
	assert_string_equal(out, "HTTP/1.1 426 Upgrade Required\r\n"
	                         "Upgrade: websocket\r\nSec-WebSocket-Version: 13\r\n"
	                         "Connection: close\r\nContent-Length: 0\r\n\r\n");
	assert_true(http_error_response(out, sizeof(out), 431) > 0);
	assert_string_equal(out, "HTTP/1.1 431 Request Header Fields Too Large\r\n"
	                         "Connection: close\r\nContent-Length: 0\r\n\r\n");
	assert_true(http_error_response(out, sizeof(out), 405) > 0);
	assert_non_null(strstr(out, "\r\nAllow: GET\r\n"));
	assert_true(http_error_response(out, sizeof(out), 404) > 0);
	assert_true(strncmp(out, "HTTP/1.1 404 Not Found\r\n", 24) == 0);
	assert_int_equal(http_error_response(out, 20, 400), -ENOSPC);
	assert_int_equal(http_error_response(out, sizeof(out), 200), -EINVAL);
}

static void test_accept_response_exact(void **state)
{
	char out[256];
	const char *want = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                   "Connection: Upgrade\r\nSec-WebSocket-Accept: " ACCEPT6455 "\r\n\r\n";

	(void)state;
	assert_int_equal(http_ws_accept_response(out, sizeof(out), KEY6455), (int)strlen(want));
	assert_string_equal(out, want);
	assert_int_equal(http_ws_accept_response(out, strlen(want), KEY6455), -ENOSPC);
}

static void test_connect_request(void **state)
{
	char out[1024];
	int n;

	(void)state;
	n = http_connect_request(out, sizeof(out), "relay.example", 443, "", "");
	assert_int_equal(n, (int)strlen(out));
	assert_string_equal(out, "CONNECT relay.example:443 HTTP/1.1\r\n"
	                         "Host: relay.example:443\r\n\r\n");
	assert_true(http_connect_request(out, sizeof(out), "::1", 8443, NULL, NULL) > 0);
	assert_string_equal(out, "CONNECT [::1]:8443 HTTP/1.1\r\nHost: [::1]:8443\r\n\r\n");
	/* RFC 7617 §2 example credentials. */
	assert_true(
	    http_connect_request(out, sizeof(out), "10.0.0.1", 80, "Aladdin", "open sesame") > 0);
	assert_string_equal(out, "CONNECT 10.0.0.1:80 HTTP/1.1\r\nHost: 10.0.0.1:80\r\n"
	                         "Proxy-Authorization: Basic QWxhZGRpbjpvcGVuIHNlc2FtZQ==\r\n\r\n");
	assert_int_equal(http_connect_request(out, sizeof(out), "h", 0, "", ""), -EINVAL);
	assert_int_equal(http_connect_request(out, sizeof(out), "h", 1, "a:b", "c"), -EINVAL);
	assert_int_equal(http_connect_request(out, sizeof(out), "h", 1, "a", "c\r\n"), -EINVAL);
	assert_int_equal(http_connect_request(out, sizeof(out), "h h", 1, "", ""), -EINVAL);
	assert_int_equal(http_connect_request(out, 30, "relay.example", 443, "", ""), -ENOSPC);
}

static void test_connect_response(void **state)
{
	const char *ok = "HTTP/1.1 200 Connection established\r\n\r\n";
	const char *ok10 = "HTTP/1.0 200\r\nProxy-Agent: x\r\n\r\n";
	const char *auth = "HTTP/1.1 407 Proxy Authentication Required\r\n"
	                   "Proxy-Authenticate: Basic realm=\"p\"\r\n\r\n";
	char buf[128];
	int status, n;

	(void)state;
	n = snprintf(buf, sizeof(buf), "%s\x01\x02", ok);
	assert_int_equal(http_connect_parse_response((const uint8_t *)buf, (size_t)n, &status),
	                 (int)strlen(ok));
	assert_int_equal(status, 200);
	for (size_t i = 0; i < strlen(ok); i++)
		assert_int_equal(http_connect_parse_response((const uint8_t *)ok, i, &status), 0);
	assert_int_equal(http_connect_parse_response((const uint8_t *)ok10, strlen(ok10), &status),
	                 (int)strlen(ok10));
	assert_int_equal(http_connect_parse_response((const uint8_t *)auth, strlen(auth), &status),
	                 -ECONNREFUSED);
	assert_int_equal(status, 407);
	assert_int_equal(
	    http_connect_parse_response((const uint8_t *)"garbage\r\n\r\n", 11, &status), -EPROTO);
	assert_int_equal(status, 0);
	assert_int_equal(http_connect_parse_response((const uint8_t *)"HTTP/1.1 200 OK\r\n"
	                                                              " fold\r\n\r\n",
	                                             26, &status),
	                 -EPROTO);
	assert_int_equal(
	    http_connect_parse_response((const uint8_t *)"HTTP/2.0 200 OK\r\n\r\n", 19, &status),
	    -EPROTO);
}

static void test_response_limits(void **state)
{
	size_t cap = 65536, n;
	uint8_t *s = malloc(cap);
	int status;

	(void)state;
	assert_non_null(s);
	n = (size_t)sprintf((char *)s, "HTTP/1.1 200 OK\r\n");
	while (n + 8 < cap)
		n += (size_t)sprintf((char *)s + n, "X: 1\r\n");
	assert_int_equal(http_connect_parse_response(s, n, &status), -E2BIG);
	assert_int_equal(http_ws_parse_response(s, n, KEY6455, &status), -E2BIG);
	n = (size_t)sprintf((char *)s, "HTTP/1.1 200 OK\r\nX: ");
	memset(s + n, 'a', cap - n);
	assert_int_equal(http_connect_parse_response(s, cap, &status), -EMSGSIZE);
	assert_int_equal(http_connect_parse_response(s, HTTP_MAX_HEAD - 1, &status), 0);
	free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accept_key_rfc6455),    cmocka_unit_test(test_good_request),
	    cmocka_unit_test(test_lenient_forms),         cmocka_unit_test(test_bad_requests),
	    cmocka_unit_test(test_nul_in_head),           cmocka_unit_test(test_long_target),
	    cmocka_unit_test(test_header_limits),         cmocka_unit_test(test_head_exactly_max),
	    cmocka_unit_test(test_split_every_byte),      cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_ws_response_refusals),  cmocka_unit_test(test_error_response),
	    cmocka_unit_test(test_accept_response_exact), cmocka_unit_test(test_connect_request),
	    cmocka_unit_test(test_connect_response),      cmocka_unit_test(test_response_limits),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
