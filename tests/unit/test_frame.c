/* Unit tests: common/frame.c */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "frame.h"

static void test_ping_pong_roundtrip(void **state)
{
	uint8_t ping[PROTO_PING_LEN], pong[PROTO_PONG_LEN];
	struct frame_pong p = {0}, q;
	uint64_t nonce;

	(void)state;
	frame_encode_ping(ping, 0x1122334455667788ULL);
	assert_int_equal(frame_check(ping, sizeof(ping)), PROTO_PING);
	assert_int_equal(frame_decode_ping(ping, sizeof(ping), &nonce), 0);
	assert_true(nonce == 0x1122334455667788ULL);
	p.nonce = nonce;
	assert_int_equal(addr_parse(&p.observed, "[2001:db8::5]:40000", 0), 0);
	p.load_permille = 731;
	p.flags = PONG_F_DIRECT_OK | PONG_F_AUTH_KEYS;
	frame_encode_pong(pong, &p);
	assert_int_equal(frame_decode_pong(pong, sizeof(pong), &q), 0);
	assert_true(q.nonce == p.nonce);
	assert_true(addr_equal(&q.observed, &p.observed));
	assert_int_equal(q.load_permille, 731);
	assert_int_equal(q.flags, p.flags);
	assert_int_equal(addr_parse(&p.observed, "198.51.100.9:1", 0), 0);
	frame_encode_pong(pong, &p);
	assert_int_equal(frame_decode_pong(pong, sizeof(pong), &q), 0);
	assert_true(addr_equal(&q.observed, &p.observed));
	p.load_permille = 1001;
	frame_encode_pong(pong, &p);
	assert_int_equal(frame_decode_pong(pong, sizeof(pong), &q), FRAME_EFIELD);
}

static void test_distinct_errors(void **state)
{
	uint8_t f[PROTO_PING_LEN + 1];
	uint64_t nonce;

	(void)state;
	frame_encode_ping(f, 1);
	f[PROTO_PING_LEN] = 0;
	assert_int_equal(frame_decode_ping(f, 0, &nonce), FRAME_ESHORT);
	assert_int_equal(frame_decode_ping(f, 3, &nonce), FRAME_ESHORT);
	assert_int_equal(frame_decode_ping(f, PROTO_PING_LEN - 1, &nonce), FRAME_ESHORT);
	assert_int_equal(frame_decode_ping(f, PROTO_PING_LEN + 1, &nonce), FRAME_ELONG);
	f[0] = 0xF2;
	assert_int_equal(frame_decode_ping(f, PROTO_PING_LEN, &nonce), FRAME_EMAGIC);
	f[0] = PROTO_MAGIC;
	f[1] = 0x7f;
	assert_int_equal(frame_check(f, PROTO_PING_LEN), FRAME_ETYPE);
	f[1] = PROTO_PONG;
	assert_int_equal(frame_decode_ping(f, PROTO_PING_LEN, &nonce), FRAME_ETYPE);
	f[1] = PROTO_PING;
	f[3] = 1;
	assert_int_equal(frame_decode_ping(f, PROTO_PING_LEN, &nonce), FRAME_ERESERVED);
	f[3] = 0;
	f[40] = 1; /* padding must be zero */
	assert_int_equal(frame_decode_ping(f, PROTO_PING_LEN, &nonce), FRAME_ERESERVED);
	/* WireGuard, STUN and TURN ChannelData never look like ours. */
	f[0] = 1;
	assert_int_equal(frame_check(f, PROTO_PING_LEN), FRAME_EMAGIC);
	f[0] = 0x00;
	assert_int_equal(frame_check(f, PROTO_PING_LEN), FRAME_EMAGIC);
	f[0] = 0x40;
	assert_int_equal(frame_check(f, PROTO_PING_LEN), FRAME_EMAGIC);
	assert_string_equal(frame_strerror(FRAME_EMAGIC), "not a wgrelay v1 frame");
}

static void test_reply_never_larger(void **state)
{
	(void)state;
	/* The amplification bound of PROTOCOL.md §7, per message type. */
	assert_true(PROTO_PONG_LEN <= PROTO_PING_LEN);
	assert_true(PROTO_HS_RESP_LEN <= PROTO_HS_INIT_LEN);
	assert_true(PROTO_COOKIE_LEN <= PROTO_HS_INIT_LEN);
}

static void roundtrip(const struct ctrl_msg *m)
{
	uint8_t buf[PROTO_MAX_CTRL_PLAIN];
	struct ctrl_msg d;
	int n = ctrl_encode(m, buf, sizeof(buf));

	assert_true(n > 0);
	assert_int_equal(ctrl_decode(buf, (size_t)n, &d), 0);
	assert_int_equal(d.type, m->type);
	assert_memory_equal(d.sid, m->sid, 16);
	assert_int_equal(d.mode, m->mode);
	assert_int_equal(d.state, m->state);
	assert_int_equal(d.port, m->port);
	assert_int_equal(d.handle, m->handle);
	assert_int_equal(d.code, m->code);
	assert_string_equal(d.text, m->text);
	assert_string_equal(d.user, m->user);
	assert_string_equal(d.password, m->password);
	/*
	 * Prefixes are short until the last field ends; from there on only zero padding follows
	 * (requests are padded to PROTO_CTRL_REQ_MIN, §7), so every longer prefix decodes.
	 */
	int fields = n;
	for (int i = 0; i < n; i++) {
		int r = ctrl_decode(buf, (size_t)i, &d);

		if (r == 0 && fields == n)
			fields = i;
		assert_int_equal(r, fields == n ? FRAME_ESHORT : 0);
	}
	if (ctrl_is_request(m->type)) {
		assert_true(n >= PROTO_CTRL_REQ_MIN);
		assert_true(fields == n || n == PROTO_CTRL_REQ_MIN);
	} else {
		assert_int_equal(fields, n);
	}
	/* A zero byte more is padding; a non-zero byte after the fields is junk. */
	buf[n] = 0;
	assert_int_equal(ctrl_decode(buf, (size_t)n + 1, &d), 0);
	buf[n] = 1;
	assert_int_equal(ctrl_decode(buf, (size_t)n + 1, &d), FRAME_ELONG);
	if (fields < n) {
		buf[fields] = 1;
		assert_int_equal(ctrl_decode(buf, (size_t)n, &d), FRAME_ELONG);
	}
}

static void test_ctrl_roundtrips(void **state)
{
	struct ctrl_msg m;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = CTRL_BIND;
	memset(m.sid, 0xab, 16);
	m.mode = PROTO_MODE_DIRECT;
	strcpy(m.user, "1900000000:alice");
	strcpy(m.password, "c2VjcmV0IG1hYw==");
	roundtrip(&m);
	memset(&m, 0, sizeof(m));
	m.type = CTRL_BOUND;
	m.sid[3] = 9;
	m.handle = 0xdeadbeef;
	m.state = PROTO_PAIRED;
	m.mode = PROTO_MODE_DIRECT;
	m.port = 50001;
	roundtrip(&m);
	memset(&m, 0, sizeof(m));
	m.type = CTRL_UNBIND;
	m.handle = 42;
	roundtrip(&m);
	memset(&m, 0, sizeof(m));
	m.type = CTRL_KEEPALIVE;
	roundtrip(&m);
	{
		/* A request does not fit a buffer smaller than its padding. */
		uint8_t b[PROTO_CTRL_REQ_MIN - 1];
		struct ctrl_msg d;

		assert_int_equal(ctrl_encode(&m, b, sizeof(b)), -ENOBUFS);
		b[0] = CTRL_KEEPALIVE;
		assert_int_equal(ctrl_decode(b, 1, &d), 0);
	}
	memset(&m, 0, sizeof(m));
	m.type = CTRL_ERROR;
	m.code = PROTO_ERR_SESSION_FULL;
	m.sid[0] = 1;
	strcpy(m.text, "session already has two members");
	roundtrip(&m);
	{
		uint8_t b[PROTO_MAX_CTRL_PLAIN];

		assert_int_equal(ctrl_encode(&m, b, sizeof(b)),
		                 CTRL_ERROR_FIXED_LEN + (int)strlen(m.text));
	}
	memset(&m, 0, sizeof(m));
	m.type = CTRL_PEER_ACTIVE;
	m.sid[15] = 7;
	m.handle = 3;
	roundtrip(&m);
	/* The address challenge: the relay's is not padded, the client's answer is a request. */
	memset(&m, 0, sizeof(m));
	m.type = CTRL_CHALLENGE;
	memset(m.token, 0x5a, sizeof(m.token));
	roundtrip(&m);
	{
		uint8_t b[PROTO_MAX_CTRL_PLAIN];

		assert_int_equal(ctrl_encode(&m, b, sizeof(b)), 1 + PROTO_CHALLENGE_LEN);
		m.type = CTRL_RESPONSE;
		assert_int_equal(ctrl_encode(&m, b, sizeof(b)), PROTO_CTRL_REQ_MIN);
		assert_true(ctrl_is_request(CTRL_RESPONSE));
		assert_false(ctrl_is_request(CTRL_CHALLENGE));
	}
	roundtrip(&m);
	assert_string_equal(proto_error_name(PROTO_ERR_SESSION_FULL), "session-full");
	assert_string_equal(proto_error_name(999), "unknown");
}

static void test_ctrl_rejects(void **state)
{
	uint8_t b[64];
	struct ctrl_msg m;

	(void)state;
	b[0] = 0x99;
	assert_int_equal(ctrl_decode(b, 1, &m), FRAME_ETYPE);
	assert_int_equal(ctrl_decode(b, 0, &m), FRAME_ESHORT);
	/* BIND with mode 3 */
	memset(b, 0, sizeof(b));
	b[0] = CTRL_BIND;
	b[17] = 3;
	assert_int_equal(ctrl_decode(b, 20, &m), FRAME_EFIELD);
	/* ERROR text with a control character */
	memset(b, 0, sizeof(b));
	b[0] = CTRL_ERROR;
	b[19] = 2;
	b[20] = 'a';
	b[21] = '\n';
	assert_int_equal(ctrl_decode(b, 22, &m), FRAME_EFIELD);
	/* BOUND direct with port 0 */
	memset(b, 0, sizeof(b));
	b[0] = CTRL_BOUND;
	b[21] = PROTO_WAITING;
	b[22] = PROTO_MODE_DIRECT;
	assert_int_equal(ctrl_decode(b, 25, &m), FRAME_EFIELD);
	/* Encoder refuses over-long strings and a bad mode. */
	memset(&m, 0, sizeof(m));
	m.type = CTRL_BIND;
	m.mode = 9;
	assert_int_equal(ctrl_encode(&m, b, sizeof(b)), -EINVAL);
	m.mode = PROTO_MODE_SEALED;
	assert_int_equal(ctrl_encode(&m, b, 5), -ENOBUFS);
}

static void test_sealed_ctrl(void **state)
{
	uint8_t key[32], other[32], pt[] = {CTRL_KEEPALIVE}, frame[64], out[64];
	struct replay rp;
	uint32_t idx;
	uint64_t ctr;
	int n;

	(void)state;
	assert_true(sodium_init() >= 0);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(other, sizeof(other));
	replay_init(&rp);
	n = frame_seal_ctrl(frame, sizeof(frame), 0x01020304, 5, key, pt, sizeof(pt));
	assert_int_equal(n, 1 + PROTO_SEALED_OVERHEAD);
	assert_int_equal(frame_check(frame, (size_t)n), PROTO_CTRL);
	frame_sealed_fields(frame, &idx, &ctr);
	assert_int_equal(idx, 0x01020304);
	assert_int_equal(ctr, 5);
	for (int i = 0; i < n; i++) {
		frame[i] ^= 0x80;
		assert_true(frame_open_ctrl(frame, (size_t)n, key, &rp, out, sizeof(out)) < 0);
		frame[i] ^= 0x80;
	}
	assert_int_equal(frame_open_ctrl(frame, (size_t)n, other, &rp, out, sizeof(out)),
	                 FRAME_EAUTH);
	assert_int_equal(frame_open_ctrl(frame, (size_t)n, key, &rp, out, sizeof(out)), 1);
	assert_int_equal(out[0], CTRL_KEEPALIVE);
	assert_int_equal(frame_open_ctrl(frame, (size_t)n, key, &rp, out, sizeof(out)),
	                 FRAME_EREPLAY);
	assert_int_equal(frame_seal_ctrl(frame, 10, 1, 1, key, pt, sizeof(pt)), -ENOBUFS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ping_pong_roundtrip), cmocka_unit_test(test_distinct_errors),
	    cmocka_unit_test(test_reply_never_larger),  cmocka_unit_test(test_ctrl_roundtrips),
	    cmocka_unit_test(test_ctrl_rejects),        cmocka_unit_test(test_sealed_ctrl),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
