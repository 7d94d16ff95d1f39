/* Fuzz target: the relay consuming arbitrary HS_INIT bytes and a client consuming arbitrary
 * HS_RESP / COOKIE bytes, with fixed keys. Nothing may crash; no response to a fresh
 * initiation can be forged. A second pass gives the same bytes a valid header and mac1, so
 * the fuzzer also reaches the Noise processing (DH on arbitrary points, AEAD) behind mac1. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cookie.h"
#include "frame.h"
#include "handshake.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static uint8_t relay_priv[32], client_priv[32], relay_pub[32], client_pub[32];
static struct hs_relay relay;

/* The input's bytes as the body of an HS_INIT to the relay and of an HS_RESP to the client,
 * each with a correct header and mac1 (mac2 zero). */
static void fuzz_behind_mac1(const uint8_t *data, size_t size)
{
	uint8_t init[PROTO_HS_INIT_LEN] = {0}, resp[PROTO_HS_RESP_LEN] = {0};
	uint8_t cookie[PROTO_COOKIE_LEN];
	struct cookie_maker m;
	struct hs_pending p;
	struct hs_client c;
	struct link_keys k;
	struct addr src, obs;

	addr_parse(&src, "198.51.100.1:1000", 0);
	memcpy(init, data, size < sizeof(init) ? size : sizeof(init));
	frame_put_header(init, PROTO_HS_INIT);
	cookie_maker_init(&m, relay_pub);
	cookie_add_macs(&m, init, sizeof(init), 0);
	if (hs_relay_open_init(&relay, init, sizeof(init), &src, false, 1000, &p, cookie) ==
	    HS_ACCEPT) {
		hs_relay_finish(&p, 7, &src, resp, &k);
		link_keys_clear(&k);
	}
	hs_client_init(&c, client_priv, relay_pub);
	hs_client_build_init(&c, init, 1000);
	memset(resp, 0, sizeof(resp));
	memcpy(resp, data, size < sizeof(resp) ? size : sizeof(resp));
	frame_put_header(resp, PROTO_HS_RESP);
	cookie_maker_init(&m, client_pub);
	cookie_add_macs(&m, resp, sizeof(resp), 0);
	/* Without the relay's static key nobody can make a response that opens. */
	if (hs_client_consume_resp(&c, resp, sizeof(resp), &k, &obs) == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
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
		crypto_scalarmult_base(client_pub, client_priv);
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
	fuzz_behind_mac1(data, size);
	return 0;
}
