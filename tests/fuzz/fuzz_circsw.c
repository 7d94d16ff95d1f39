/*
 * Fuzz target: a relay's circuit switch fed a sequence of cells, link events and clock ticks
 * decoded from the input (any command, circuit id, link, size; CREATE bodies mostly real
 * handshakes so that circuits exist and later cells reach them). It must never crash, leak or
 * hold more circuits than its limits; everything it asks to send is one class's size.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "circmsg.h"
#include "circsw.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t pub[32];
	static struct circsw_cfg cfg = {.max_circuits = 8,
	                                .max_per_link = 3,
	                                .extend_ms = 50,
	                                .rendezvous_ms = 80,
	                                .idle_ms = 500};
	static bool init;
	uint8_t body[CELL_BODY_1500];
	struct circsw *sw;
	struct circsw_act a;
	uint64_t now = 1;

	if (!init) {
		if (sodium_init() < 0)
			abort();
		memset(cfg.noise_priv, 0x42, 32);
		crypto_scalarmult_base(pub, cfg.noise_priv);
		init = true;
	}
	if (circsw_new(&sw, &cfg) != 0)
		return 0;
	/* Each step: op, link, circ_id low byte, k, then (for bodies) a byte that seeds it. */
	while (size >= 5) {
		uint8_t op = data[0], link = (uint8_t)(data[1] % 4 + 1);
		struct cell c = {.circ_id = data[2] ? data[2] : 1,
		                 .cmd = (uint8_t)(op % 7),
		                 .k = data[3],
		                 .body = body,
		                 .body_len = op & 0x80 ? CELL_BODY_1280 : CELL_BODY_1500};

		memset(body, data[4], sizeof(body));
		if (c.cmd == CELL_CREATE && !(data[4] & 1)) {
			uint8_t m1[CIRCHS_MSG1_LEN];
			struct circhs hs;

			if (circhs_start(&hs, pub, data[4] % 3 + 1,
			                 c.body_len == CELL_BODY_1500 ? 0 : 1, m1) == 0)
				circmsg_put_create(body, c.body_len, m1);
		}
		if ((op & 0x70) == 0x70)
			circsw_link_down(sw, link);
		else if ((op & 0x70) == 0x60)
			circsw_tick(sw, now += data[3]);
		else if ((op & 0x70) == 0x50)
			circsw_connected(sw, data[3] % 4, data[2] % 3 ? link : 0, now);
		else if (c.cmd)
			circsw_cell(sw, link, data[1] & 0x40, &c, now);
		while (circsw_next(sw, &a))
			if (a.type == CIRCSW_SEND && a.cell.body_len != CELL_BODY_1500 &&
			    a.cell.body_len != CELL_BODY_1280)
				abort();
		if (circsw_stats(sw)->circuits > cfg.max_circuits)
			abort();
		data += 5;
		size -= 5;
	}
	circsw_free(sw);
	return 0;
}
