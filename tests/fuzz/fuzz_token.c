/*
 * Fuzz target: TURN-REST token check. Input: "user\npassword". The verdict must be 0 only for a
 * user of the form "expiry:name" within the lifetime window whose password is the real MAC.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "relay.h"

#define NOW 1700000000ULL

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct relayd_config c;
	static int ready;
	char in[CTRL_CRED_MAX * 2 + 2], *nl, *user, *pw;
	uint8_t mac[crypto_auth_hmacsha256_BYTES];
	uint8_t got[crypto_auth_hmacsha256_BYTES + 2];
	unsigned long long exp;
	int v;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		config_defaults(&c);
		c.auth = AUTH_TOKEN;
		strcpy(c.secrets[0], "fuzz-secret-0123456789");
		c.n_secrets = 1;
		ready = 1;
	}
	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	user = in;
	nl = strchr(in, '\n');
	pw = nl ? (*nl = '\0', nl + 1) : in + size;
	v = admit_token_verify(&c, user, pw, NOW);
	if (v == 0) {
		/* Accepted: the expiry is in the window and the password is the true MAC. */
		if (sscanf(user, "%llu:", &exp) != 1 || exp <= NOW ||
		    exp > NOW + c.token_max_lifetime_s)
			abort();
		crypto_auth_hmacsha256_state st;
		size_t len = 0;

		crypto_auth_hmacsha256_init(&st, (const uint8_t *)c.secrets[0],
		                            strlen(c.secrets[0]));
		crypto_auth_hmacsha256_update(&st, (const uint8_t *)user, strlen(user));
		crypto_auth_hmacsha256_final(&st, mac);
		/* Compare bytes, not text: base64 may spell the same bytes more than one way. */
		if (sodium_base642bin(got, sizeof(got), pw, strlen(pw), NULL, &len, NULL,
		                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
		    len != sizeof(mac) || memcmp(got, mac, sizeof(mac)))
			abort();
	} else if (v != PROTO_ERR_AUTH_DENIED && v != PROTO_ERR_AUTH_REQUIRED) {
		abort();
	}
	return 0;
}
