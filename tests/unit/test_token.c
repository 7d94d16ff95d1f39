/*
 * test_token.c: token-mode credentials (token.h): parsing a command's EXPIRY:NAME:MAC, minting
 * from a shared secret (checked against an independent HMAC and one known vector), the command
 * runner's timeout and output cap, and when a cached credential is used, renewed or dropped,
 * on a fake clock.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "token.h"

#define NOW    1700000000ULL
#define SECRET "A-SECRET-OF-16+-CHARS"
/* printf %s 1700003600:alice | openssl dgst -sha256 -hmac A-SECRET-OF-16+-CHARS -binary | base64 */
#define VECTOR_USER "1700003600:alice"
#define VECTOR_MAC  "6v7KIYDQAsDxWHCSWtxxR7BCm9e8sKNPVMLXn95CS+A="

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static int parse(const char *s, struct token_cred *c)
{
	return token_parse(s, strlen(s), NOW, c);
}

static void test_parse_ok(void **state)
{
	(void)state;
	struct token_cred c;

	assert_int_equal(parse(VECTOR_USER ":" VECTOR_MAC "\n", &c), 0);
	assert_string_equal(c.user, VECTOR_USER);
	assert_string_equal(c.password, VECTOR_MAC);
	assert_int_equal(c.expiry, 1700003600ULL);
	/* Only the first line counts; CRLF is fine; NAME may hold colons (MAC after the last). */
	assert_int_equal(parse(VECTOR_USER ":" VECTOR_MAC "\r\nignored\n", &c), 0);
	assert_string_equal(c.password, VECTOR_MAC);
	assert_int_equal(parse("1700003600:a:b:" VECTOR_MAC, &c), 0);
	assert_string_equal(c.user, "1700003600:a:b");
}

static void test_parse_errors(void **state)
{
	(void)state;
	struct token_cred c;
	char longname[300];

	assert_int_equal(parse("", &c), TOKEN_E_EMPTY);
	assert_int_equal(parse("\n" VECTOR_USER ":" VECTOR_MAC, &c), TOKEN_E_EMPTY);
	assert_int_equal(parse("no colon at all", &c), TOKEN_E_FORM);
	assert_int_equal(parse("1700003600:" VECTOR_MAC, &c), TOKEN_E_FORM);
	assert_int_equal(parse("17000036x0:alice:" VECTOR_MAC, &c), TOKEN_E_EXPIRY);
	assert_int_equal(parse(":alice:" VECTOR_MAC, &c), TOKEN_E_EXPIRY);
	assert_int_equal(parse("-1:alice:" VECTOR_MAC, &c), TOKEN_E_EXPIRY);
	assert_int_equal(parse("99999999999999999999999:alice:" VECTOR_MAC, &c), TOKEN_E_EXPIRY);
	assert_int_equal(parse("1700000000:alice:" VECTOR_MAC, &c), TOKEN_E_EXPIRED);
	assert_int_equal(parse("1600000000:alice:" VECTOR_MAC, &c), TOKEN_E_EXPIRED);
	assert_int_equal(parse("1700003600::" VECTOR_MAC, &c), TOKEN_E_NAME);
	assert_int_equal(parse("1700003600:al\tice:" VECTOR_MAC, &c), TOKEN_E_NAME);
	assert_int_equal(parse("1700003600:alice:not base64!", &c), TOKEN_E_MAC);
	assert_int_equal(parse("1700003600:alice:", &c), TOKEN_E_MAC);
	assert_int_equal(parse("1700003600:alice:c2hvcnQ=", &c), TOKEN_E_MAC); /* 5 bytes */
	memset(longname, 'n', sizeof(longname));
	memcpy(longname, "1700003600:", 11);
	snprintf(longname + 250, sizeof(longname) - 250, ":%s", VECTOR_MAC);
	assert_int_equal(parse(longname, &c), TOKEN_E_LONG);
	/* Each error says something of its own. */
	static const int errs[] = {TOKEN_E_FORM,   TOKEN_E_EXPIRY, TOKEN_E_EXPIRED, TOKEN_E_NAME,
	                           TOKEN_E_MAC,    TOKEN_E_LONG,   TOKEN_E_EMPTY,   TOKEN_E_EXIT,
	                           TOKEN_E_SECRET, TOKEN_E_NONE,   -ETIMEDOUT,      -E2BIG};
	for (size_t i = 0; i < sizeof(errs) / sizeof(errs[0]); i++)
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(token_strerror(errs[i]), token_strerror(errs[j]));
}

static void test_mint(void **state)
{
	(void)state;
	struct token_cred c;
	uint8_t mac[crypto_auth_hmacsha256_BYTES], given[crypto_auth_hmacsha256_BYTES];
	size_t len = 0;
	crypto_auth_hmacsha256_state st;

	/* The known vector (computed with openssl). */
	assert_int_equal(token_mint(SECRET, "alice", 1700000000, 3600, &c), 0);
	assert_string_equal(c.user, VECTOR_USER);
	assert_string_equal(c.password, VECTOR_MAC);
	assert_int_equal(c.expiry, 1700003600ULL);
	/* An independent HMAC over the user, as the relay computes it. */
	assert_int_equal(token_mint(SECRET "-other", "bob", NOW, TOKEN_LIFETIME_S, &c), 0);
	assert_string_equal(c.user, "1700003600:bob");
	crypto_auth_hmacsha256_init(&st, (const uint8_t *)SECRET "-other", strlen(SECRET) + 6);
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)c.user, strlen(c.user));
	crypto_auth_hmacsha256_final(&st, mac);
	assert_int_equal(sodium_base642bin(given, sizeof(given), c.password, strlen(c.password),
	                                   NULL, &len, NULL, sodium_base64_VARIANT_ORIGINAL),
	                 0);
	assert_int_equal(len, sizeof(mac));
	assert_memory_equal(mac, given, sizeof(mac));
	/* What it mints parses back. */
	char line[300];
	struct token_cred back;
	snprintf(line, sizeof(line), "%s:%s\n", c.user, c.password);
	assert_int_equal(parse(line, &back), 0);
	assert_string_equal(back.password, c.password);
	/* Bad sources. */
	assert_int_equal(token_mint("short", "bob", NOW, 3600, &c), TOKEN_E_SECRET);
	assert_int_equal(token_mint(SECRET, "", NOW, 3600, &c), TOKEN_E_NAME);
	char name[200];
	memset(name, 'x', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	assert_int_equal(token_mint(SECRET, name, NOW, 3600, &c), TOKEN_E_LONG);
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void test_run(void **state)
{
	(void)state;
	char out[TOKEN_OUT_MAX];
	size_t len;
	struct token_cred c;

	assert_int_equal(token_run("printf 'hello\\nworld\\n'", 5000, out, sizeof(out), &len), 0);
	assert_int_equal(len, 12);
	assert_memory_equal(out, "hello\nworld\n", 12);
	/* No stdin: reading it ends at once. */
	assert_int_equal(token_run("cat", 5000, out, sizeof(out), &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(token_run("echo x; exit 3", 5000, out, sizeof(out), &len), TOKEN_E_EXIT);
	assert_int_equal(token_run("kill -9 $$", 5000, out, sizeof(out), &len), TOKEN_E_EXIT);
	/* The timeout: the group is killed, a child holding stdout included. */
	int64_t t0 = mono_ms();
	assert_int_equal(token_fetch_command("sleep 10", NOW, &c), -ETIMEDOUT);
	int64_t took = mono_ms() - t0;
	assert_true(took >= 4900 && took < 6000);
	t0 = mono_ms();
	assert_int_equal(token_run("sleep 10 & echo x", 500, out, sizeof(out), &len), -ETIMEDOUT);
	assert_true(mono_ms() - t0 < 1500);
	/* The output cap. */
	t0 = mono_ms();
	assert_int_equal(token_fetch_command("yes", NOW, &c), -E2BIG);
	assert_true(mono_ms() - t0 < 2000);
	assert_int_equal(token_run("head -c 4096 /dev/zero", 5000, out, sizeof(out), &len), 0);
	assert_int_equal(len, 4096);
	assert_int_equal(token_run("head -c 4097 /dev/zero", 5000, out, sizeof(out), &len), -E2BIG);
	/* A real one. */
	assert_int_equal(token_fetch_command("echo '1700003600:alice:" VECTOR_MAC "'", NOW, &c), 0);
	assert_string_equal(c.user, VECTOR_USER);
	assert_int_equal(token_fetch_command("echo '1700003600:alice'", NOW, &c), TOKEN_E_FORM);
}

static void test_state_secret(void **state)
{
	(void)state;
	struct cache_token src = {0};
	const struct token_cred *c;
	uint64_t t = NOW;

	snprintf(src.secret, sizeof(src.secret), SECRET);
	snprintf(src.name, sizeof(src.name), "alice");
	struct token_state *s = token_new(&src, "192.0.2.1:51821");
	assert_non_null(s);
	assert_true(token_same_source(s, &src));
	assert_false(token_usable(s, t));
	assert_true(token_due(s, t));
	c = token_get(s, t);
	assert_non_null(c);
	assert_string_equal(c->user, VECTOR_USER);
	assert_string_equal(c->password, VECTOR_MAC);
	/* Kept until 60 s before EXPIRY... */
	assert_false(token_due(s, t + 3600 - 61));
	assert_ptr_equal(token_get(s, t + 3600 - 61), c);
	assert_string_equal(token_get(s, t + 3600 - 61)->user, VECTOR_USER);
	/* ...then renewed. */
	assert_true(token_due(s, t + 3600 - 60));
	c = token_get(s, t + 3600 - 60);
	assert_non_null(c);
	assert_string_equal(c->user, "1700007140:alice");
	/* A denial drops it once: the next get mints again at once... */
	token_denied(s, t + 4000);
	assert_false(token_usable(s, t + 4000));
	assert_true(token_due(s, t + 4000));
	c = token_get(s, t + 4000);
	assert_non_null(c);
	assert_string_equal(c->user, "1700007600:alice");
	/* ...but not again within 30 s. */
	token_denied(s, t + 4010);
	assert_true(token_usable(s, t + 4010));
	token_denied(s, t + 4030);
	assert_false(token_usable(s, t + 4030));
	src.name[0] = 'A';
	assert_false(token_same_source(s, &src));
	token_free(s);
}

static void test_state_command(void **state)
{
	(void)state;
	struct cache_token src = {0};
	uint64_t t = NOW;

	/* Fails: no credential, and the next try waits 30 s. */
	snprintf(src.command, sizeof(src.command), "exit 1");
	struct token_state *s = token_new(&src, "192.0.2.1:51821");
	assert_null(token_get(s, t));
	assert_int_equal(s->last_err, TOKEN_E_EXIT);
	assert_false(token_due(s, t + 29));
	assert_true(token_due(s, t + 30));
	token_free(s);

	/* Works: a token valid for 100 s is used, renewed from 40 s on, at most every 30 s. */
	snprintf(src.command, sizeof(src.command), "echo '1700000100:alice:%s'", VECTOR_MAC);
	s = token_new(&src, "192.0.2.1:51821");
	assert_non_null(token_get(s, t));
	assert_false(token_due(s, t + 39));
	assert_true(token_due(s, t + 40));
	assert_non_null(token_get(s, t + 40)); /* the same one again: still usable */
	assert_false(token_due(s, t + 41));
	assert_true(token_due(s, t + 70));
	/* Expired and the command gives the same stale one: nothing usable. */
	assert_null(token_get(s, t + 100));
	assert_int_equal(s->last_err, TOKEN_E_EXPIRED);
	token_free(s);

	/* No source at all. */
	memset(&src, 0, sizeof(src));
	s = token_new(&src, "x");
	assert_null(token_get(s, t));
	assert_int_equal(s->last_err, TOKEN_E_NONE);
	token_free(s);
	snprintf(src.secret, sizeof(src.secret), "short");
	snprintf(src.name, sizeof(src.name), "a");
	assert_int_equal(token_source_check(&src), TOKEN_E_SECRET);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_ok),     cmocka_unit_test(test_parse_errors),
	    cmocka_unit_test(test_mint),         cmocka_unit_test(test_run),
	    cmocka_unit_test(test_state_secret), cmocka_unit_test(test_state_command),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
