/* Unit tests: common/socks5.c against hand-written proxy byte strings (RFC 1928, RFC 1929). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "socks5.h"

#define MEMEQ(a, alen, b) (alen == sizeof(b) - 1 && memcmp(a, b, sizeof(b) - 1) == 0)

/* A reply with each ATYP: IPv4, name "ab", IPv6. */
static const uint8_t REPLY_V4[] = {5, 0, 0, 1, 10, 0, 0, 1, 0x1f, 0x90};
static const uint8_t REPLY_NAME[] = {5, 0, 0, 3, 2, 'a', 'b', 0, 80};
static const uint8_t REPLY_V6[] = {5, 0, 0, 4, 0x20, 1, 0xd, 0xb8, 0, 0, 0,
                                   0, 0, 0, 0, 0,    0, 0,   0,    1, 0, 80};

static void test_no_auth_name(void **state)
{
	struct socks5 s;
	uint8_t out[1024], in[64];
	size_t used, outlen;

	(void)state;
	assert_int_equal(socks5_start(&s, "abc.onion", 443, NULL, NULL, out, sizeof(out)), 3);
	assert_memory_equal(out, "\x05\x01\x00", 3);
	/* The method choice, then the CONNECT with ATYP 3, the name unresolved. */
	assert_int_equal(
	    socks5_input(&s, (const uint8_t *)"\x05\x00", 2, &used, out, sizeof(out), &outlen),
	    SOCKS5_MORE);
	assert_int_equal(used, 2);
	assert_true(MEMEQ(out, outlen,
	                  "\x05\x01\x00\x03\x09"
	                  "abc.onion\x01\xbb"));
	/* The reply followed by the relay's first bytes: used stops at the reply's end. */
	memcpy(in, REPLY_V4, sizeof(REPLY_V4));
	memcpy(in + sizeof(REPLY_V4), "\x00\x20xyz", 5);
	assert_int_equal(
	    socks5_input(&s, in, sizeof(REPLY_V4) + 5, &used, out, sizeof(out), &outlen),
	    SOCKS5_DONE);
	assert_int_equal(used, sizeof(REPLY_V4));
	assert_int_equal(outlen, 0);
	/* Done stays done and takes nothing more. */
	assert_int_equal(socks5_input(&s, in, 3, &used, out, sizeof(out), &outlen), SOCKS5_DONE);
	assert_int_equal(used, 0);
}

static void test_user_pass(void **state)
{
	struct socks5 s;
	uint8_t out[1024];
	size_t used, outlen;

	(void)state;
	assert_int_equal(socks5_start(&s, "10.1.2.3", 51821, "u", "pw", out, sizeof(out)), 4);
	assert_memory_equal(out, "\x05\x02\x00\x02", 4);
	assert_int_equal(
	    socks5_input(&s, (const uint8_t *)"\x05\x02", 2, &used, out, sizeof(out), &outlen),
	    SOCKS5_MORE);
	assert_true(MEMEQ(out, outlen, "\x01\x01u\x02pw"));
	assert_int_equal(
	    socks5_input(&s, (const uint8_t *)"\x01\x00", 2, &used, out, sizeof(out), &outlen),
	    SOCKS5_MORE);
	assert_int_equal(used, 2);
	/* ATYP 1 for an IPv4 literal; port 51821 = 0xca6d. */
	assert_true(MEMEQ(out, outlen, "\x05\x01\x00\x01\x0a\x01\x02\x03\xca\x6d"));
	assert_int_equal(
	    socks5_input(&s, REPLY_NAME, sizeof(REPLY_NAME), &used, out, sizeof(out), &outlen),
	    SOCKS5_DONE);
	assert_int_equal(used, sizeof(REPLY_NAME));
}

static void test_user_but_no_auth_chosen(void **state)
{
	struct socks5 s;
	uint8_t out[1024];
	size_t used, outlen;

	(void)state;
	assert_int_equal(socks5_start(&s, "::1", 80, "u", "p", out, sizeof(out)), 4);
	assert_int_equal(
	    socks5_input(&s, (const uint8_t *)"\x05\x00", 2, &used, out, sizeof(out), &outlen),
	    SOCKS5_MORE);
	/* ATYP 4 for an IPv6 literal. */
	assert_int_equal(outlen, 4 + 16 + 2);
	assert_memory_equal(out, "\x05\x01\x00\x04", 4);
	assert_memory_equal(out + 4, "\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x01\x00\x50", 18);
	assert_int_equal(
	    socks5_input(&s, REPLY_V6, sizeof(REPLY_V6), &used, out, sizeof(out), &outlen),
	    SOCKS5_DONE);
	assert_int_equal(used, sizeof(REPLY_V6));
}

static void test_bracketed_v6(void **state)
{
	struct socks5 s;
	uint8_t out[64];
	size_t used, outlen;

	(void)state;
	assert_int_equal(socks5_start(&s, "[2001:db8::1]", 443, "", "", out, sizeof(out)), 3);
	assert_int_equal(
	    socks5_input(&s, (const uint8_t *)"\x05\x00", 2, &used, out, sizeof(out), &outlen),
	    SOCKS5_MORE);
	assert_int_equal(outlen, 22);
	assert_int_equal(out[3], 4);
	assert_memory_equal(out + 4, "\x20\x01\x0d\xb8", 4);
}

/* Feed a whole proxy transcript one byte at a time: only complete messages are consumed. */
static void test_pieces(void **state)
{
	static const uint8_t *const replies[] = {REPLY_V4, REPLY_NAME, REPLY_V6};
	static const size_t lens[] = {sizeof(REPLY_V4), sizeof(REPLY_NAME), sizeof(REPLY_V6)};

	(void)state;
	for (size_t k = 0; k < 3; k++) {
		struct socks5 s;
		uint8_t in[64], out[1024];
		size_t have = 0, used, outlen, fed = 0, total;
		int r = SOCKS5_MORE, steps = 0;

		memcpy(in, "\x05\x02\x01\x00", 4);
		memcpy(in + 4, replies[k], lens[k]);
		total = 4 + lens[k];
		assert_int_equal(
		    socks5_start(&s, "relay.example", 443, "user", "pass", out, sizeof(out)), 4);
		while (fed < total) {
			uint8_t win[64];

			/* The caller keeps unconsumed bytes and appends the next one. */
			memmove(win, in + fed - have, have + 1);
			have++;
			fed++;
			r = socks5_input(&s, win, have, &used, out, sizeof(out), &outlen);
			assert_true(r >= 0);
			assert_true(used == 0 || used == have);
			if (used)
				steps++;
			if (used == 0)
				assert_int_equal(outlen, 0);
			have -= used;
		}
		assert_int_equal(r, SOCKS5_DONE);
		assert_int_equal(have, 0);
		assert_int_equal(steps, 3);
	}
}

/* A pipelining proxy: everything at once, both answers appended to out. */
static void test_all_at_once(void **state)
{
	struct socks5 s;
	uint8_t in[64], out[1024];
	size_t used, outlen;

	(void)state;
	memcpy(in, "\x05\x02\x01\x00", 4);
	memcpy(in + 4, REPLY_V4, sizeof(REPLY_V4));
	socks5_start(&s, "h", 1, "u", "p", out, sizeof(out));
	assert_int_equal(
	    socks5_input(&s, in, 4 + sizeof(REPLY_V4), &used, out, sizeof(out), &outlen),
	    SOCKS5_DONE);
	assert_int_equal(used, 4 + sizeof(REPLY_V4));
	assert_true(MEMEQ(out, outlen,
	                  "\x01\x01u\x01p"
	                  "\x05\x01\x00\x03\x01h\x00\x01"));
}

static int run(const char *user, const uint8_t *in, size_t n, struct socks5 *s)
{
	uint8_t out[1024];
	size_t used, outlen;

	socks5_start(s, "relay.example", 443, user, "p", out, sizeof(out));
	return socks5_input(s, in, n, &used, out, sizeof(out), &outlen);
}

static void test_refusals(void **state)
{
	struct socks5 s;
	uint8_t out[16];
	size_t used, outlen;

	(void)state;
	assert_int_equal(run("", (const uint8_t *)"\x05\xff", 2, &s), -EACCES);
	assert_int_equal(run("u", (const uint8_t *)"\x05\x02\x01\x01", 4, &s), -EACCES);
	assert_int_equal(run("", (const uint8_t *)"\x05\x00\x05\x05", 4, &s), -ECONNREFUSED);
	assert_int_equal(s.rep, 5);
	assert_string_equal(socks5_rep_name(s.rep), "connection refused");
	assert_int_equal(run("", (const uint8_t *)"\x05\x00\x05\x04\x00\x01", 6, &s),
	                 -ECONNREFUSED);
	assert_int_equal(s.rep, 4);
	/* Malformed. */
	assert_int_equal(run("", (const uint8_t *)"\x04\x00", 2, &s), -EPROTO);
	assert_int_equal(run("", (const uint8_t *)"\x05\x02", 2, &s), -EPROTO); /* not offered */
	assert_int_equal(run("", (const uint8_t *)"\x05\x01", 2, &s), -EPROTO);
	assert_int_equal(run("u", (const uint8_t *)"\x05\x02\x05\x00", 4, &s), -EPROTO);
	assert_int_equal(run("", (const uint8_t *)"\x05\x00\x04\x00\x00\x01", 6, &s), -EPROTO);
	assert_int_equal(run("", (const uint8_t *)"\x05\x00\x05\x00\x00\x02", 6, &s), -EPROTO);
	assert_int_equal(run("", (const uint8_t *)"\x05\x00\x05\x00\x00\x05", 6, &s), -EPROTO);
	/* Once failed, it stays failed. */
	assert_int_equal(
	    socks5_input(&s, REPLY_V4, sizeof(REPLY_V4), &used, out, sizeof(out), &outlen),
	    -EPROTO);
	/* Positive control: a good exchange through the same helper. */
	assert_int_equal(run("", (const uint8_t *)"\x05\x00\x05\x00\x00\x01\1\2\3\4\0\1", 12, &s),
	                 SOCKS5_DONE);
}

static void test_names(void **state)
{
	struct socks5 s;
	char name[300];
	uint8_t out[1024];
	size_t used, outlen;

	(void)state;
	memset(name, 'a', sizeof(name));
	name[255] = 0;
	assert_int_equal(socks5_start(&s, name, 443, NULL, NULL, out, sizeof(out)), 3);
	assert_int_equal(
	    socks5_input(&s, (const uint8_t *)"\x05\x00", 2, &used, out, sizeof(out), &outlen),
	    SOCKS5_MORE);
	assert_int_equal(outlen, 5 + 255 + 2);
	assert_int_equal(out[3], 3);
	assert_int_equal(out[4], 255);
	assert_int_equal(out[5 + 254], 'a');
	name[255] = 'a';
	name[256] = 0;
	assert_int_equal(socks5_start(&s, name, 443, NULL, NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(socks5_start(&s, "", 443, NULL, NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(socks5_start(&s, "h", 0, NULL, NULL, out, sizeof(out)), -EINVAL);
	assert_int_equal(socks5_start(&s, "h", 1, name, "p", out, sizeof(out)), -EINVAL);
	assert_int_equal(socks5_start(&s, "h", 1, "u", name, out, sizeof(out)), -EINVAL);
	assert_int_equal(socks5_start(&s, "h", 1, "u", "p", out, 3), -ENOSPC);
}

static void test_small_out(void **state)
{
	struct socks5 s;
	uint8_t out[1024];
	size_t used, outlen;

	(void)state;
	socks5_start(&s, "relay.example", 443, NULL, NULL, out, sizeof(out));
	/* No room for the CONNECT: nothing consumed, the same bytes work with room. */
	assert_int_equal(socks5_input(&s, (const uint8_t *)"\x05\x00", 2, &used, out, 8, &outlen),
	                 -ENOSPC);
	assert_int_equal(used, 0);
	assert_int_equal(
	    socks5_input(&s, (const uint8_t *)"\x05\x00", 2, &used, out, sizeof(out), &outlen),
	    SOCKS5_MORE);
	assert_int_equal(used, 2);
}

static void test_rep_names(void **state)
{
	(void)state;
	assert_string_equal(socks5_rep_name(1), "general SOCKS server failure");
	assert_string_equal(socks5_rep_name(2), "connection not allowed by ruleset");
	assert_string_equal(socks5_rep_name(3), "network unreachable");
	assert_string_equal(socks5_rep_name(4), "host unreachable");
	assert_string_equal(socks5_rep_name(6), "TTL expired");
	assert_string_equal(socks5_rep_name(7), "command not supported");
	assert_string_equal(socks5_rep_name(8), "address type not supported");
	assert_string_equal(socks5_rep_name(9), "unknown reply");
	assert_string_equal(socks5_rep_name(255), "unknown reply");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_no_auth_name),
	    cmocka_unit_test(test_user_pass),
	    cmocka_unit_test(test_user_but_no_auth_chosen),
	    cmocka_unit_test(test_bracketed_v6),
	    cmocka_unit_test(test_pieces),
	    cmocka_unit_test(test_all_at_once),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_small_out),
	    cmocka_unit_test(test_rep_names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
