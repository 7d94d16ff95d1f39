/*
 * Fuzz target: one peer's circuits (circpeer.h) driven by the input as the network and the
 * clock would: cells of any command, counter and body for its circuits (what relays and the
 * far side can send), clock steps past every timer, CREATEs answered by a real one-hop relay
 * handshake so that circuits reach the pool, the meeting and the splice, datagrams from
 * WireGuard of any length, a link lost, a relay suspected, the rendezvous changed, a stop.
 * Checked after each step: never two meetings, never more than one circuit in use, nothing
 * handed to WireGuard that is a heartbeat or longer than a cell can carry.
 *
 * The input is a list of operations: one byte (the operation and an argument), then what the
 * operation reads.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "circhs.h"
#include "circmsg.h"
#include "circpeer.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define LINK 7

static uint8_t rpriv[32] = {5, 5, 5};
static struct circ_hop hop;
static struct cell last; /* the last cell the peer sent */
static uint8_t last_body[CELL_BODY_1500];

static int io_send(void *ctx, uint64_t link, const struct cell *c)
{
	(void)ctx;
	if (link != LINK || c->body_len > sizeof(last_body))
		abort();
	last = *c;
	memcpy(last_body, c->body, c->body_len);
	last.body = last_body;
	return 0;
}

static void io_to_wg(void *ctx, const uint8_t *d, size_t len)
{
	(void)ctx;
	if (len < 2 || len > CELL_BODY_1500)
		abort(); /* a heartbeat (one byte) or more than a cell carries */
	(void)d[len - 1];
}

static void check(const struct circpeer *cp)
{
	int meeting = 0, active = 0;

	for (unsigned i = 0; i < CIRCPEER_SLOTS; i++) {
		meeting += cp->slot[i].role == CIRCPEER_MEETING;
		active += cp->slot[i].role == CIRCPEER_ACTIVE;
		if (cp->slot[i].role > CIRCPEER_OLD)
			abort();
	}
	if (meeting > 1 || active > 1 || circpeer_mtu(cp) > CELL_BODY_1500)
		abort();
}

/* The relay's answer to the last CREATE the peer sent: CREATED, built with the real handshake. */
static void answer_create(struct circpeer *cp, uint64_t now)
{
	uint8_t m1[CIRCHS_MSG1_LEN], m2[CIRCHS_MSG2_LEN], body[CELL_BODY_1500];
	struct circhs_keys k;
	unsigned depth, cls;
	struct cell c = {.circ_id = last.circ_id, .cmd = CELL_CREATED, .body = body};

	if (last.cmd != CELL_CREATE || circmsg_get_create(last_body, last.body_len, m1) != 0 ||
	    circhs_answer(rpriv, m1, sizeof(m1), m2, &k, &depth, &cls) != 0)
		return;
	c.body_len = last.body_len;
	memset(body, 0, sizeof(body));
	circmsg_put_created(body, c.body_len, m2);
	sodium_memzero(&k, sizeof(k));
	circpeer_cell(cp, LINK, &c, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool init;
	static struct circpeer cp;
	struct circpeer_io io = {.send_cell = io_send, .to_wg = io_to_wg};
	struct circpeer_path path = {.link = LINK, .n = 1};
	uint8_t cookie[CIRCMSG_COOKIE_LEN] = {1}, other[32] = {2}, body[CELL_BODY_1500];
	uint64_t now = 1000, wall = 1700000000;
	size_t at = 0;

	if (!init) {
		if (sodium_init() < 0)
			abort();
		crypto_scalarmult_base(hop.noise_pub, rpriv);
		hop.identity[0] = 1;
		init = true;
	}
	memset(&last, 0, sizeof(last));
	circpeer_init(&cp, &io, CIRCHS_CLASS_1500);
	cp.rotate_s = 30;
	path.hops[0] = hop;
	circpeer_set_meet(&cp, hop.identity, cookie, 7);
	while (at < size) {
		uint8_t op = data[at++], arg = op >> 3;

		switch (op & 7) {
		case 0: /* the clock: up to 31 * 500 ms, wall time with it */
			now += (uint64_t)arg * 500;
			wall += arg / 2;
			if (circpeer_tick(&cp, now, wall))
				circpeer_build(&cp, (arg & 1) ? NULL : &path, now);
			break;
		case 1: /* the relay answers the last CREATE */
			answer_create(&cp, now);
			break;
		case 2: { /* a cell for slot arg % SLOTS (or a stranger): command, counter, body */
			const struct circpeer_slot *s = &cp.slot[arg % CIRCPEER_SLOTS];
			struct cell c = {.circ_id = (arg & 8) ? arg : s->c.circ_id,
			                 .body = body,
			                 .body_len = CELL_BODY_1500};
			size_t n = size - at < 9 ? size - at : 9;

			memset(body, 0, sizeof(body));
			c.cmd = n ? data[at] : 0;
			for (size_t i = 1; i < n; i++)
				c.k = c.k << 8 | data[at + i];
			at += n;
			n = size - at < sizeof(body) ? size - at : sizeof(body);
			n = n < (size_t)arg * 48 ? n : (size_t)arg * 48;
			memcpy(body, data + at, n);
			at += n;
			circpeer_cell(&cp, (arg & 16) ? LINK + 1 : LINK, &c, now);
			break;
		}
		case 3: { /* a datagram from WireGuard of arg * 50 bytes */
			static uint8_t dg[2000];
			circpeer_send(&cp, dg, (size_t)arg * 50 + (arg & 1), now);
			break;
		}
		case 4:
			circpeer_link_gone(&cp, (arg & 1) ? LINK : LINK + 1, now);
			break;
		case 5:
			circpeer_drop_via(&cp, (arg & 1) ? hop.identity : other);
			break;
		case 6: /* the rendezvous changes, or comes back */
			circpeer_set_meet(&cp, (arg & 1) ? other : hop.identity, cookie, arg);
			break;
		default:
			if (arg == 0)
				circpeer_stop(&cp);
			break;
		}
		check(&cp);
	}
	circpeer_stop(&cp);
	return 0;
}
