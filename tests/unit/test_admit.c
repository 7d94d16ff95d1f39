/* admit: TURN-REST tokens (expired, too far ahead, malformed, rotation), allowlists, limits. */
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

#include <sodium.h>

#include "conf.h"
#include "key.h"
#include "relay.h"

#define NOW 1700000000ULL

/* The password a TURN-REST client computes: base64(HMAC-SHA256(secret, user)). */
static void token(const char *secret, const char *user, char *out, size_t cap)
{
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, (const uint8_t *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)user, strlen(user));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2base64(out, cap, mac, sizeof(mac), sodium_base64_VARIANT_ORIGINAL);
}

static void cfg_token(struct relayd_config *c)
{
	config_defaults(c);
	c->auth = AUTH_TOKEN;
	strcpy(c->secrets[0], "new-secret");
	strcpy(c->secrets[1], "old-secret");
	c->n_secrets = 2;
	c->token_max_lifetime_s = 86400;
}

static void test_token_valid_and_rotation(void **state)
{
	struct relayd_config c;
	char user[64], pw[64];

	(void)state;
	cfg_token(&c);
	snprintf(user, sizeof(user), "%llu:alice", NOW + 600);
	token("new-secret", user, pw, sizeof(pw));
	assert_int_equal(admit_token_verify(&c, user, pw, NOW), 0);
	token("old-secret", user, pw, sizeof(pw));
	assert_int_equal(admit_token_verify(&c, user, pw, NOW), 0);
	token("unknown-secret", user, pw, sizeof(pw));
	assert_int_equal(admit_token_verify(&c, user, pw, NOW), PROTO_ERR_AUTH_DENIED);
	/* Dropping the old secret (a reload) ends its tokens. */
	c.n_secrets = 1;
	token("old-secret", user, pw, sizeof(pw));
	assert_int_equal(admit_token_verify(&c, user, pw, NOW), PROTO_ERR_AUTH_DENIED);
}

static void test_token_expired_and_future(void **state)
{
	struct relayd_config c;
	char user[64], pw[64];

	(void)state;
	cfg_token(&c);
	snprintf(user, sizeof(user), "%llu:bob", NOW - 1);
	token("new-secret", user, pw, sizeof(pw));
	assert_int_equal(admit_token_verify(&c, user, pw, NOW), PROTO_ERR_AUTH_DENIED);
	snprintf(user, sizeof(user), "%llu:bob", NOW);
	token("new-secret", user, pw, sizeof(pw));
	assert_int_equal(admit_token_verify(&c, user, pw, NOW), PROTO_ERR_AUTH_DENIED);
	snprintf(user, sizeof(user), "%llu:bob", NOW + 86400 + 1);
	token("new-secret", user, pw, sizeof(pw));
	assert_int_equal(admit_token_verify(&c, user, pw, NOW), PROTO_ERR_AUTH_DENIED);
	snprintf(user, sizeof(user), "%llu:bob", NOW + 86400);
	token("new-secret", user, pw, sizeof(pw));
	assert_int_equal(admit_token_verify(&c, user, pw, NOW), 0);
}

static void test_token_malformed(void **state)
{
	static const char *users[] = {
	    "",       "alice",     ":alice",   "1700000600:",
	    "-5:bob", "12x4:bob",  "0x10:bob", "99999999999999999999999:x",
	    " 1:b",   "1700000600"};
	struct relayd_config c;
	char user[64], pw[64];

	(void)state;
	cfg_token(&c);
	for (size_t i = 0; i < sizeof(users) / sizeof(users[0]); i++) {
		token("new-secret", users[i], pw, sizeof(pw));
		assert_int_not_equal(admit_token_verify(&c, users[i], pw, NOW), 0);
	}
	snprintf(user, sizeof(user), "%llu:carol", NOW + 60);
	assert_int_not_equal(admit_token_verify(&c, user, "", NOW), 0);
	assert_int_not_equal(admit_token_verify(&c, user, "not base64!", NOW), 0);
	assert_int_not_equal(admit_token_verify(&c, user, "AAAA", NOW), 0); /* short MAC */
	token("new-secret", user, pw, sizeof(pw));
	pw[3] ^= 1; /* one flipped character */
	assert_int_not_equal(admit_token_verify(&c, user, pw, NOW), 0);
	/* The MAC covers the whole user string: another name with the same MAC fails. */
	token("new-secret", user, pw, sizeof(pw));
	user[strlen(user) - 1] = 'X';
	assert_int_equal(admit_token_verify(&c, user, pw, NOW), PROTO_ERR_AUTH_DENIED);
}

static void test_keys_file_and_limits(void **state)
{
	struct relay *r = calloc(1, sizeof(*r));
	struct link l = {0};
	struct ctrl_msg bind = {.type = CTRL_BIND, .mode = PROTO_MODE_SEALED};
	uint8_t priv[32], pub[32], other[32];
	char b64[64], path[] = "/tmp/wgr-admit-XXXXXX";
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	(void)state;
	assert_non_null(f);
	key_generate_private(priv);
	key_public_from_private(pub, priv);
	key_to_base64(b64, pub);
	fprintf(f, "# allowed clients\n\n  %s  # laptop\n", b64);
	fclose(f);
	config_defaults(&r->cfg);
	r->cfg.auth = AUTH_KEYS;
	snprintf(r->cfg.allowed_keys_file, sizeof(r->cfg.allowed_keys_file), "%s", path);
	assert_int_equal(admit_load_keys(r, &r->cfg), 0);
	assert_int_equal(r->n_allowed, 1);
	memcpy(l.client_pub, pub, 32);
	assert_int_equal(admit_check(r, &l, &bind, NOW), 0);
	assert_true(l.authenticated);
	memcpy(other, pub, 32);
	other[0] ^= 1;
	memcpy(l.client_pub, other, 32);
	l.authenticated = false;
	assert_int_equal(admit_check(r, &l, &bind, NOW), PROTO_ERR_AUTH_DENIED);
	/* A bad line is refused as a whole (the old list stays). */
	f = fopen(path, "w");
	fprintf(f, "%s\nnot-a-key\n", b64);
	fclose(f);
	assert_int_not_equal(admit_load_keys(r, &r->cfg), 0);
	assert_int_equal(r->n_allowed, 1);
	/*
	 * Open mode: admission is about credentials and modes only. How many reservations a key,
	 * a source or the relay may hold is session.c's (it knows a rebind from a new one).
	 */
	r->cfg.auth = AUTH_OPEN;
	l.nbinds = 3;
	r->reservations = r->cfg.limits.max_reservations;
	assert_int_equal(admit_check(r, &l, &bind, NOW), 0);
	r->reservations = 0;
	r->cfg.mode_sealed = false;
	assert_int_equal(admit_check(r, &l, &bind, NOW), PROTO_ERR_MODE_NOT_ALLOWED);
	unlink(path);
	free(r->allowed_keys);
	free(r);
}

/* Write text to a fresh temporary file; its path in path (a "/tmp/wgr-...-XXXXXX" template). */
static void put_file(char *path, const char *text)
{
	int fd = mkstemp(path);
	FILE *f = fdopen(fd, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/*
 * Lines are read whole: the tail of a 300-character comment is still comment, even when it is
 * a valid key (fgets() into 256 bytes made it a line, and an admitted key, of its own). Lines
 * up to 4096 characters are fine; a longer one is an error naming file and line.
 */
static void test_allowlist_whole_lines(void **state)
{
	struct relay *r = calloc(1, sizeof(*r));
	uint8_t priv[32], pub[32], tail[32], (*keys)[32] = NULL;
	char b64[KEY_B64_STRLEN], tail64[KEY_B64_STRLEN], path[] = "/tmp/wgr-admit-XXXXXX";
	char err[CONF_ERRLEN], want[128], *text = malloc(8192);
	size_t n = 0;

	(void)state;
	assert_non_null(r);
	assert_non_null(text);
	key_generate_private(priv);
	key_public_from_private(pub, priv);
	key_to_base64(b64, pub);
	key_generate_private(priv);
	key_public_from_private(tail, priv);
	key_to_base64(tail64, tail);
	/* Line 2: '#', 254 more characters, then a key: 299 characters and '\n'. */
	snprintf(text, 8192, "%s\n#%0254d%s\n# the end\n", b64, 0, tail64);
	assert_int_equal(strlen(text), 45 + 300 + 10);
	put_file(path, text);
	config_defaults(&r->cfg);
	r->cfg.auth = AUTH_KEYS;
	snprintf(r->cfg.allowed_keys_file, sizeof(r->cfg.allowed_keys_file), "%s", path);
	assert_int_equal(admit_load_keys(r, &r->cfg), 0);
	assert_int_equal(r->n_allowed, 1);
	assert_true(admit_client_allowed(r, pub));
	assert_false(admit_client_allowed(r, tail));
	unlink(path);

	/* 4096 characters of comment: fine. */
	memset(text, 'x', 4096);
	text[0] = '#';
	snprintf(text + 4096, 8192 - 4096, "\n%s\n", b64);
	strcpy(path, "/tmp/wgr-admit-XXXXXX");
	put_file(path, text);
	if (config_load_allowlist(path, &keys, &n, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(n, 1);
	free(keys);
	unlink(path);

	/* 5000: an error, naming file and line; the running list stays. */
	snprintf(text, 8192, "%s\n", b64);
	memset(text + 45, 'x', 5000);
	text[45] = '#';
	snprintf(text + 45 + 5000, 8192 - 45 - 5000, "\n%s\n", tail64);
	strcpy(path, "/tmp/wgr-admit-XXXXXX");
	put_file(path, text);
	assert_int_equal(config_load_allowlist(path, &keys, &n, err, sizeof(err)), -EINVAL);
	snprintf(want, sizeof(want), "%s:2: line too long", path);
	if (strncmp(err, want, strlen(want)))
		fail_msg("'%s' does not start with '%s'", err, want);
	assert_null(keys);
	assert_int_equal(n, 0);
	snprintf(r->cfg.allowed_keys_file, sizeof(r->cfg.allowed_keys_file), "%s", path);
	assert_int_not_equal(admit_load_keys(r, &r->cfg), 0);
	assert_int_equal(r->n_allowed, 1);
	assert_false(admit_client_allowed(r, tail));
	unlink(path);
	free(text);
	free(r->allowed_keys);
	free(r);
}

/*
 * An allowlist that is a FIFO is refused at once, naming the path and what it is (fopen()
 * waited for a writer for ever, on SIGHUP under the relay lock). alarm() bounds the test.
 */
static void test_allowlist_fifo(void **state)
{
	struct relay *r = calloc(1, sizeof(*r));
	char dir[] = "/tmp/wgr-admit-XXXXXX", path[128], err[CONF_ERRLEN], cmd[128];
	uint8_t(*keys)[32] = NULL;
	size_t n = 0;

	(void)state;
	alarm(10);
	assert_non_null(r);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/allowed", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(config_load_allowlist(path, &keys, &n, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "is a FIFO"));
	config_defaults(&r->cfg);
	r->cfg.auth = AUTH_KEYS;
	snprintf(r->cfg.allowed_keys_file, sizeof(r->cfg.allowed_keys_file), "%s", path);
	assert_int_not_equal(admit_load_keys(r, &r->cfg), 0);
	/* A directory too; a link to a regular file is followed. */
	assert_int_equal(config_load_allowlist(dir, &keys, &n, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "is a directory"));
	{
		char real[160], link[160];
		FILE *f;

		snprintf(real, sizeof(real), "%s/real", dir);
		snprintf(link, sizeof(link), "%s/link", dir);
		f = fopen(real, "w");
		assert_non_null(f);
		fputs("# nobody yet\n", f);
		fclose(f);
		assert_int_equal(symlink(real, link), 0);
		assert_int_equal(config_load_allowlist(link, &keys, &n, err, sizeof(err)), 0);
		assert_int_equal(n, 0);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	alarm(0);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_valid_and_rotation),
	    cmocka_unit_test(test_token_expired_and_future),
	    cmocka_unit_test(test_token_malformed),
	    cmocka_unit_test(test_keys_file_and_limits),
	    cmocka_unit_test(test_allowlist_whole_lines),
	    cmocka_unit_test(test_allowlist_fifo),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
