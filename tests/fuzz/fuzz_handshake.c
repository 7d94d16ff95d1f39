/* Fuzz target: the relay consuming arbitrary HS_INIT bytes and a client consuming arbitrary
 * HS_RESP / COOKIE bytes, with fixed keys. Nothing may crash; no response to a fresh
 * initiation can be forged. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "frame.h"
#include "handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	static uint8_t relay_priv[32], client_priv[32], relay_pub[32];
	static struct hs_relay relay;
	uint8_t cookie[PROTO_COOKIE_LEN], init[PROTO_HS_INIT_LEN];
	struct hs_pending p;
	struct hs_client c;
	struct link_keys k;
	struct addr src, obs;
	int r;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		memset(relay_priv, 0x11, 32);
		memset(client_priv, 0x22, 32);
		crypto_scalarmult_base(relay_pub, relay_priv);
		hs_relay_init(&relay, relay_priv);
		ready = 1;
	}
	addr_parse(&src, "198.51.100.1:1000", 0);
	r = hs_relay_open_init(&relay, data, size, &src, size & 1, 1000, &p, cookie);
	if (r == HS_ACCEPT) {
		uint8_t resp[PROTO_HS_RESP_LEN];

		/* Only a genuine initiation for this relay's key gets here (seed corpus). */
		hs_relay_finish(&p, 7, &src, resp, &k);
		link_keys_clear(&k);
	}
	hs_client_init(&c, client_priv, relay_pub);
	hs_client_build_init(&c, init, 1000);
	if (hs_client_consume_resp(&c, data, size, &k, &obs) == 0)
		abort();
	hs_client_consume_cookie(&c, data, size, 1000);
	return 0;
}
