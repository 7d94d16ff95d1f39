/*
 * circbuild.h: a client's circuit (PROTOCOL.md §13; the helper's circpeer.c drives it).
 * Sans-I/O: the client's end of one circuit through up to ONION_MAX_HOPS relays, built by
 * telescoping (CREATE to the entry, then one EXTEND per further hop, each answered before the
 * next), then used for a rendezvous at its last hop and WireGuard datagrams through it. Every
 * call that makes a cell writes it into the caller's struct cell (body of CELL_BODY_1500 bytes
 * room), which the caller seals on the entry link (cell_seal). States as seed 000 names them:
 * Building, Established, Failing (a step timed out or a hop refused: the caller backs off and
 * builds again), Destroyed.
 */
#ifndef WGR_CIRCBUILD_H
#define WGR_CIRCBUILD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cell.h"
#include "circhs.h"
#include "circmsg.h"
#include "replay.h"

enum circ_state { CIRC_BUILDING = 1, CIRC_ESTABLISHED, CIRC_FAILING, CIRC_DESTROYED };

/* A hop as the client chose it from verified descriptors. */
struct circ_hop {
	uint8_t identity[32];  /* Ed25519 */
	uint8_t noise_pub[32]; /* its Noise key, as its descriptor names it */
};

struct circ {
	enum circ_state state;
	struct circ_hop path[ONION_MAX_HOPS];
	unsigned n;     /* hops planned */
	unsigned built; /* hops with keys */
	struct circhs hs;
	struct onion_key fwd[ONION_MAX_HOPS], bwd[ONION_MAX_HOPS]; /* per hop built */
	uint32_t circ_id;
	size_t body_len;
	unsigned cls;
	uint64_t k;
	struct replay bwd_rp[ONION_MAX_HOPS]; /* one per hop that may originate (§13.2) */
	uint64_t step_ms; /* when the step in flight (CREATE, EXTEND, RENDEZVOUS) was sent */
	bool rendezvous, spliced;
};

/* What circ_input found. */
enum circ_event {
	CIRC_EV_NONE = 0,  /* nothing for the caller (a step went on: see out) */
	CIRC_EV_BUILT,     /* all hops built: the circuit is Established */
	CIRC_EV_SPLICED,   /* the rendezvous hop joined the other side's circuit */
	CIRC_EV_DATA,      /* a WireGuard datagram: *data, *len (pointing into the cell) */
	CIRC_EV_DESTROYED, /* the circuit is gone (DESTROY came back) */
	CIRC_EV_DROPPED,   /* a cell that did not open, parse or belong: dropped */
};

/*
 * Start building through path[0..n-1] (1..ONION_MAX_HOPS hops) in class cls: the CREATE for
 * the entry into out. 0, or -EINVAL (n or cls out of range, a key that is no key).
 */
int circ_start(struct circ *c, const struct circ_hop *path, unsigned n, unsigned cls,
               uint64_t now_ms, struct cell *out);
/*
 * A cell for this circuit from the entry link (cell_open passed, its circ_id c->circ_id). The
 * next step's cell, if any, goes into out (*has_out set). Returns the event.
 */
enum circ_event circ_input(struct circ *c, struct cell *in, uint64_t now_ms, struct cell *out,
                           bool *has_out, const uint8_t **data, size_t *len);
/* Ask the last hop to splice with the circuit of cookie: the cell into out. 0 or -EINVAL. */
int circ_rendezvous(struct circ *c, const uint8_t cookie[CIRCMSG_COOKIE_LEN], uint64_t now_ms,
                    struct cell *out);
/* The largest datagram circ_send carries (the last hop's room less the DATA header). */
size_t circ_mtu(const struct circ *c);
/* A WireGuard datagram to the other side of the rendezvous: the cell into out. 0, -EINVAL
 * (not spliced), -EMSGSIZE (over circ_mtu). */
int circ_send(struct circ *c, const uint8_t *dgram, size_t len, struct cell *out);
/* PADDING to the last hop (dropped there), for cover traffic: the cell into out. */
int circ_pad(struct circ *c, struct cell *out);
/* The step in flight took timeout_ms or more: Failing (true). */
bool circ_tick(struct circ *c, uint64_t now_ms, uint64_t timeout_ms);
/* Tear down: DESTROY into out; the circuit is Destroyed and wiped. */
void circ_destroy(struct circ *c, struct cell *out);

#endif
