/* admit.c: who may bind (open, keys, token) and the limits that apply (see relay.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "conf.h"
#include "frame.h"
#include "key.h"
#include "relay.h"

/* AllowedKeys file (config_load_allowlist): read first, swapped in only when all of it loads. */
int admit_load_keys(struct relay *r, const struct relayd_config *c)
{
	uint8_t(*keys)[32] = NULL;
	char err[CONF_ERRLEN];
	size_t n = 0;
	int e;

	if (c->auth != AUTH_KEYS)
		return 0;
	e = config_load_allowlist(c->allowed_keys_file, &keys, &n, err, sizeof(err));
	if (e < 0) {
		log_warnx("%s", err);
		return e;
	}
	free(r->allowed_keys);
	r->allowed_keys = keys;
	r->n_allowed = n;
	log_info("allowed keys: %zu from %s", n, c->allowed_keys_file);
	return 0;
}

bool admit_client_allowed(struct relay *r, const uint8_t pub[32])
{
	for (size_t i = 0; i < r->n_allowed; i++)
		if (sodium_memcmp(r->allowed_keys[i], pub, 32) == 0)
			return true;
	return false;
}

int admit_token_verify(const struct relayd_config *c, const char *user, const char *password,
                       uint64_t now_s)
{
	uint8_t mac[crypto_auth_hmacsha256_BYTES], given[crypto_auth_hmacsha256_BYTES + 2];
	const char *colon = strchr(user, ':');
	char num[24];
	size_t len = 0;
	uint64_t expiry;
	bool ok = false;

	if (!colon || colon == user || (size_t)(colon - user) >= sizeof(num) || !colon[1])
		return PROTO_ERR_AUTH_REQUIRED;
	memcpy(num, user, (size_t)(colon - user));
	num[colon - user] = '\0';
	if (conf_parse_u64(num, 0, UINT64_MAX, &expiry) < 0)
		return PROTO_ERR_AUTH_DENIED;
	if (expiry <= now_s || expiry > now_s + c->token_max_lifetime_s)
		return PROTO_ERR_AUTH_DENIED;
	if (sodium_base642bin(given, sizeof(given), password, strlen(password), NULL, &len, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != sizeof(mac))
		return PROTO_ERR_AUTH_DENIED;
	/* Every configured secret, always all of them: rotation without a timing signal. */
	for (int i = 0; i < c->n_secrets; i++) {
		crypto_auth_hmacsha256_state st;

		crypto_auth_hmacsha256_init(&st, (const uint8_t *)c->secrets[i],
		                            strlen(c->secrets[i]));
		crypto_auth_hmacsha256_update(&st, (const uint8_t *)user, strlen(user));
		crypto_auth_hmacsha256_final(&st, mac);
		ok |= sodium_memcmp(mac, given, sizeof(mac)) == 0;
	}
	return ok ? 0 : PROTO_ERR_AUTH_DENIED;
}

/* 0 when l may bind in this mode with these credentials, else a PROTO_ERR_* code. */
int admit_check(struct relay *r, struct link *l, const struct ctrl_msg *bind, uint64_t now_s)
{
	int e;

	if ((bind->mode == PROTO_MODE_DIRECT && !r->cfg.mode_direct) ||
	    (bind->mode == PROTO_MODE_SEALED && !r->cfg.mode_sealed))
		return PROTO_ERR_MODE_NOT_ALLOWED;
	switch (r->cfg.auth) {
	case AUTH_KEYS:
		if (!admit_client_allowed(r, l->client_pub))
			return PROTO_ERR_AUTH_DENIED;
		l->authenticated = true;
		break;
	case AUTH_TOKEN:
		if ((e = admit_token_verify(&r->cfg, bind->user, bind->password, now_s)) != 0)
			return e;
		l->authenticated = true;
		break;
	case AUTH_OPEN:
		break;
	}
	/* How many reservations and circuits it may hold is session.c's: it knows a rebind. */
	return 0;
}
