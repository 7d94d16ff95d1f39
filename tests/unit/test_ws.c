/*
 * Unit tests: transport/ws.c. A client and a server endpoint handed each other's bytes:
 * binary messages cross both ways; announced lengths beyond the limit (up to 2^63), text
 * messages and unmasked client frames end the connection with the right close; pings are
 * answered.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "stream.h"
#include "ws.h"

#define MAXMSG (STREAM_HDR_LEN + STREAM_MAX_RECORD)

struct got {
	size_t n, bytes, last_len;
	uint8_t last[MAXMSG];
};

static void on_msg(void *arg, const uint8_t *msg, size_t len)
{
	struct got *g = arg;

	assert_true(len <= MAXMSG);
	g->n++;
	g->bytes += len;
	g->last_len = len;
	memcpy(g->last, msg, len);
}

/* Hand everything a has to send to b. b's result. */
static int shuttle(struct ws *a, struct ws *b, struct got *g)
{
	uint8_t buf[WS_OUT_CAP];
	size_t n;
	int r = 0;

	while ((n = ws_take(a, buf, sizeof(buf))) > 0)
		r = ws_feed(b, buf, n, on_msg, g);
	return r;
}

static void pair(struct ws **cl, struct ws **sv)
{
	assert_int_equal(ws_new(cl, true, MAXMSG), 0);
	assert_int_equal(ws_new(sv, false, MAXMSG), 0);
}

static void test_both_ways(void **state)
{
	struct ws *cl, *sv;
	struct got gc = {0}, gs = {0};
	uint8_t msg[MAXMSG];

	(void)state;
	pair(&cl, &sv);
	for (size_t i = 0; i < sizeof(msg); i++)
		msg[i] = (uint8_t)i;
	assert_int_equal(ws_send(cl, msg, 1), 0);
	assert_int_equal(ws_pending(cl), 1 + 2 + 4); /* header, mask, payload */
	assert_int_equal(shuttle(cl, sv, &gs), 0);
	assert_int_equal(gs.n, 1);
	assert_int_equal(gs.last_len, 1);

	assert_int_equal(ws_send(sv, msg, sizeof(msg)), 0);
	assert_int_equal(ws_pending(sv), sizeof(msg) + 4); /* 16-bit length, unmasked */
	assert_int_equal(shuttle(sv, cl, &gc), 0);
	assert_int_equal(gc.n, 1);
	assert_int_equal(gc.last_len, sizeof(msg));
	assert_memory_equal(gc.last, msg, sizeof(msg));

	/* Back to back, fed byte by byte: wslay keeps a frame's state across feeds. */
	for (int i = 0; i < 3; i++)
		assert_int_equal(ws_send(cl, msg, 100 + (size_t)i), 0);
	{
		uint8_t buf[WS_OUT_CAP];
		size_t n = ws_take(cl, buf, sizeof(buf));

		for (size_t i = 0; i < n; i++)
			assert_int_equal(ws_feed(sv, buf + i, 1, on_msg, &gs), 0);
	}
	assert_int_equal(gs.n, 4);
	assert_int_equal(gs.last_len, 102);

	/* The output is bounded: a message that does not fit is refused whole. */
	assert_int_equal(ws_send(cl, msg, sizeof(msg)), 0);
	assert_int_equal(ws_send(cl, msg, sizeof(msg)), 0);
	assert_int_equal(ws_send(cl, msg, sizeof(msg)), -ENOBUFS);
	ws_free(cl);
	ws_free(sv);
}

/* A masked client frame header (mask 0, so the payload reads as is). */
static size_t client_frame(uint8_t *out, uint8_t op, uint64_t len, const uint8_t *payload,
                           size_t plen)
{
	size_t n = 0;

	out[n++] = (uint8_t)(0x80 | op);
	if (len < 126) {
		out[n++] = (uint8_t)(0x80 | len);
	} else if (len <= 0xffff) {
		out[n++] = 0x80 | 126;
		out[n++] = (uint8_t)(len >> 8);
		out[n++] = (uint8_t)len;
	} else {
		out[n++] = 0x80 | 127;
		for (int i = 7; i >= 0; i--)
			out[n++] = (uint8_t)(len >> (8 * i));
	}
	memset(out + n, 0, 4);
	n += 4;
	memcpy(out + n, payload, plen);
	return n + plen;
}

/* The close frame in the server's output carries code. */
static void expect_close(struct ws *sv, uint16_t code)
{
	uint8_t buf[WS_OUT_CAP];
	size_t n = ws_take(sv, buf, sizeof(buf));

	assert_true(n >= 4);
	assert_int_equal(buf[0], 0x88);
	assert_int_equal(buf[1], 2);
	assert_int_equal(buf[2] << 8 | buf[3], code);
}

static void expect_close_nocode(struct ws *sv)
{
	uint8_t buf[WS_OUT_CAP];
	size_t n = ws_take(sv, buf, sizeof(buf));

	assert_int_equal(n, 2);
	assert_int_equal(buf[0], 0x88);
	assert_int_equal(buf[1], 0);
}

static void test_too_long(void **state)
{
	static const uint64_t lens[] = {UINT64_C(1) << 63, UINT64_C(1) << 62, MAXMSG + 1};
	uint8_t frame[64], payload[16] = {0};
	struct got g = {0};
	struct ws *sv;
	size_t n;

	(void)state;
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		assert_int_equal(ws_new(&sv, false, MAXMSG), 0);
		n = client_frame(frame, 2, lens[i], payload, sizeof(payload));
		assert_int_equal(ws_feed(sv, frame, n, on_msg, &g), -EPROTO);
		assert_true(strlen(ws_error(sv)) > 0);
		/*
		 * 2^63 breaks RFC 6455 §5.2 (the top bit must be 0): wslay closes without a
		 * code; the others are well-formed but over the limit: 1009.
		 */
		if (lens[i] >> 63)
			expect_close_nocode(sv);
		else
			expect_close(sv, 1009);
		assert_int_equal(ws_send(sv, payload, 1), -ENOTCONN);
		ws_free(sv);
	}
	assert_int_equal(g.n, 0);

	/* Positive control: exactly the limit passes. */
	{
		static uint8_t big[MAXMSG + 32];
		static uint8_t pl[MAXMSG];

		assert_int_equal(ws_new(&sv, false, MAXMSG), 0);
		n = client_frame(big, 2, MAXMSG, pl, MAXMSG);
		assert_int_equal(ws_feed(sv, big, n, on_msg, &g), 0);
		assert_int_equal(g.n, 1);
		assert_int_equal(g.last_len, MAXMSG);
		ws_free(sv);
	}
}

static void test_text_closes(void **state)
{
	uint8_t frame[64];
	struct got g = {0};
	struct ws *sv;
	size_t n;

	(void)state;
	assert_int_equal(ws_new(&sv, false, MAXMSG), 0);
	n = client_frame(frame, 1, 5, (const uint8_t *)"hello", 5);
	assert_int_equal(ws_feed(sv, frame, n, on_msg, &g), -EPROTO);
	assert_non_null(strstr(ws_error(sv), "text"));
	expect_close(sv, 1003);
	assert_int_equal(g.n, 0);
	ws_free(sv);
}

static void test_unmasked_refused(void **state)
{
	uint8_t frame[64];
	struct got g = {0};
	struct ws *sv;
	size_t n;

	(void)state;
	assert_int_equal(ws_new(&sv, false, MAXMSG), 0);
	n = client_frame(frame, 2, 3, (const uint8_t *)"abc", 3);
	frame[1] &= 0x7f; /* no mask bit: now 2 + 4 + 3 bytes of an unmasked frame */
	assert_int_equal(ws_feed(sv, frame, n, on_msg, &g), -EPROTO);
	expect_close(sv, 1002);
	assert_int_equal(g.n, 0);
	ws_free(sv);
}

static void test_ping_pong_close(void **state)
{
	uint8_t frame[64], buf[WS_OUT_CAP];
	struct got g = {0};
	struct ws *sv, *cl;
	size_t n;

	(void)state;
	assert_int_equal(ws_new(&sv, false, MAXMSG), 0);
	n = client_frame(frame, 9, 4, (const uint8_t *)"ping", 4);
	assert_int_equal(ws_feed(sv, frame, n, on_msg, &g), 0);
	n = ws_take(sv, buf, sizeof(buf));
	assert_int_equal(n, 6);
	assert_int_equal(buf[0], 0x8a); /* pong, same payload */
	assert_int_equal(buf[1], 4);
	assert_memory_equal(buf + 2, "ping", 4);
	assert_int_equal(g.n, 0);

	/* A close is answered and ends the connection. */
	n = client_frame(frame, 8, 2, (const uint8_t *)"\x03\xe8", 2);
	assert_int_equal(ws_feed(sv, frame, n, on_msg, &g), -ECONNRESET);
	expect_close(sv, 1000);
	ws_free(sv);

	/* The client refuses a masked frame from a server. */
	assert_int_equal(ws_new(&cl, true, MAXMSG), 0);
	n = client_frame(frame, 2, 3, (const uint8_t *)"abc", 3);
	assert_int_equal(ws_feed(cl, frame, n, on_msg, &g), -EPROTO);
	ws_free(cl);
	ws_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_both_ways),       cmocka_unit_test(test_too_long),
	    cmocka_unit_test(test_text_closes),     cmocka_unit_test(test_unmasked_refused),
	    cmocka_unit_test(test_ping_pong_close),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
