/*
 * Fuzz target: the helper's reader of a token command's output (token_parse): any bytes give
 * 0 or a TOKEN_E_* error, and an accepted credential is what a BIND can carry (printable
 * user "EXPIRY:NAME" with a future expiry, a password that fits).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "token.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint64_t now = 1700000000;
	struct token_cred c;

	if (token_parse((const char *)data, size, now, &c) != 0)
		return 0;
	if (c.expiry <= now || !strchr(c.user, ':') || strlen(c.user) > CTRL_CRED_MAX ||
	    strlen(c.password) > CTRL_CRED_MAX)
		abort();
	for (const char *p = c.user; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			abort();
	return 0;
}
