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

/* AllowedKeys file: one base64 public key per line; '#' comments and blank lines allowed. */
int admit_load_keys(struct relay *r, const struct relayd_config *c)
{
	uint8_t(*keys)[32] = NULL;
	size_t n = 0, cap = 0;
	unsigned lineno = 0;
	char line[256];
	FILE *f;

	if (c->auth != AUTH_KEYS)
		return 0;
	f = fopen(c->allowed_keys_file, "re");
	if (!f) {
		log_warn("%s", c->allowed_keys_file);
		return -errno;
	}
	while (fgets(line, sizeof(line), f)) {
		char *s = line, *e;

		lineno++;
		if ((e = strchr(s, '#')))
			*e = '\0';
		while (*s == ' ' || *s == '\t')
			s++;
		for (e = s + strlen(s); e > s && (e[-1] == '\n' || e[-1] == ' ' || e[-1] == '\r');)
			*--e = '\0';
		if (!*s)
			continue;
		if (n == cap) {
			void *k = realloc(keys, (cap = cap ? cap * 2 : 16) * 32);

			if (!k) {
				free(keys);
				fclose(f);
				return -ENOMEM;
			}
			keys = k;
		}
		if (key_from_base64(keys[n], s) < 0) {
			log_warnx("%s:%u: bad public key '%s'", c->allowed_keys_file, lineno, s);
			free(keys);
			fclose(f);
			return -EINVAL;
		}
		n++;
	}
	fclose(f);
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

/* 0 when l may bind one more session, else a PROTO_ERR_* code. */
int admit_check(struct relay *r, struct link *l, const struct ctrl_msg *bind, uint64_t now_s)
{
	const struct limits *lim = &r->cfg.limits;
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
	if (r->reservations >= lim->max_reservations)
		return PROTO_ERR_LIMIT_RESERVATIONS;
	if (!l->authenticated && (uint64_t)l->nbinds >= lim->max_reservations_per_client)
		return PROTO_ERR_LIMIT_RESERVATIONS;
	if (l->nbinds >= RELAY_MAX_BINDS_PER_LINK)
		return PROTO_ERR_LIMIT_RESERVATIONS;
	return 0;
}
