/*
 * Fuzz target: a client's circuit fed cells from the input as its entry link would hand them
 * over (any command, counter, size and body), in each state a circuit goes through: Building
 * (waiting for CREATED), then, after a real one-hop handshake with a fixed relay key,
 * Established, asking for a rendezvous, and spliced. Nothing it accepts may point outside the
 * cell, and a datagram it returns fits the circuit's MTU.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "circbuild.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t rpriv[32] = {9, 9, 9};
	static struct circ_hop hop;
	static bool init;
	uint8_t obody[CELL_BODY_1500], ibody[CELL_BODY_1500], cookie[16] = {1};
	struct cell out = {.body = obody};
	struct circ c;

	if (!init) {
		if (sodium_init() < 0)
			abort();
		crypto_scalarmult_base(hop.noise_pub, rpriv);
		init = true;
	}
	if (size < 2 || circ_start(&c, &hop, 1, data[0] & 1, 1, &out) != 0)
		return 0;
	/* From the second byte on, the body is the circuit's class size; the rest of the input,
	 * repeated, fills it. Input byte 1 chooses how far the circuit is built first. */
	if (data[1] & 1) {
		uint8_t m1[CIRCHS_MSG1_LEN], m2[CIRCHS_MSG2_LEN];
		struct circhs_keys k;
		unsigned depth, cls;
		struct cell created = {.circ_id = c.circ_id,
		                       .cmd = CELL_CREATED,
		                       .body = ibody,
		                       .body_len = c.body_len};
		const uint8_t *d;
		size_t l;
		bool has;

		if (circmsg_get_create(obody, c.body_len, m1) != 0 ||
		    circhs_answer(rpriv, m1, sizeof(m1), m2, &k, &depth, &cls) != 0)
			abort();
		circmsg_put_created(ibody, c.body_len, m2);
		if (circ_input(&c, &created, 2, &out, &has, &d, &l) != CIRC_EV_BUILT)
			abort();
		if (data[1] & 2)
			circ_rendezvous(&c, cookie, 3, &out);
		if (data[1] & 4)
			c.spliced = c.rendezvous; /* as if SPLICED had come */
	}
	for (size_t at = 2; at + 9 <= size;) {
		struct cell in = {.circ_id = data[at] & 0x80 ? c.circ_id : data[at],
		                  .cmd = (uint8_t)(data[at] % 7),
		                  .k = data[at + 1],
		                  .body = ibody,
		                  .body_len = data[at + 2] & 1 ? c.body_len : CELL_BODY_1280};
		size_t left = size - at - 3, take = left < in.body_len ? left : in.body_len;
		const uint8_t *d = NULL;
		size_t l = 0;
		bool has;

		memset(ibody, 0, sizeof(ibody));
		memcpy(ibody, data + at + 3, take);
		if (circ_input(&c, &in, 5, &out, &has, &d, &l) == CIRC_EV_DATA &&
		    (d < ibody || d + l > ibody + in.body_len || l > circ_mtu(&c)))
			abort();
		at += 3 + (take ? take : 6);
	}
	return 0;
}
