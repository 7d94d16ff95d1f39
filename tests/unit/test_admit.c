/* admit: TURN-REST tokens (expired, too far ahead, malformed, rotation), allowlists, limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

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
	/* Open mode: per-client and total reservation limits, allowed modes. */
	r->cfg.auth = AUTH_OPEN;
	l.nbinds = 3;
	assert_int_equal(admit_check(r, &l, &bind, NOW), PROTO_ERR_LIMIT_RESERVATIONS);
	l.nbinds = 2;
	assert_int_equal(admit_check(r, &l, &bind, NOW), 0);
	r->reservations = r->cfg.limits.max_reservations;
	assert_int_equal(admit_check(r, &l, &bind, NOW), PROTO_ERR_LIMIT_RESERVATIONS);
	r->reservations = 0;
	r->cfg.mode_sealed = false;
	assert_int_equal(admit_check(r, &l, &bind, NOW), PROTO_ERR_MODE_NOT_ALLOWED);
	unlink(path);
	free(r->allowed_keys);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_token_valid_and_rotation),
	    cmocka_unit_test(test_token_expired_and_future),
	    cmocka_unit_test(test_token_malformed),
	    cmocka_unit_test(test_keys_file_and_limits),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
