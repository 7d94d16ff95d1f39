/*
 * cell.h: the link layer of circuit cells (issue 17's circuits; not spoken by either program
 * yet). A CELL frame travels on a link like a sealed DATA frame:
 *
 *   header (type CELL_FRAME_TYPE) | link index (4) | link counter (8) |
 *   XChaCha20-Poly1305(cell key, nonce = CELL_NONCE_PREFIX (16) | link counter,
 *                      associated data = the 16 bytes before,
 *                      plaintext = circ_id (4) | cmd (1) | k (8) | body (B)) | tag (16)
 *
 * The circuit id, the command and the circuit's cell counter k are never in clear on the wire.
 * B is one of the class sizes, so every CELL frame of a class is the same size whatever it
 * carries (a handshake, an onion layer, padding). The cell key is the link's data key (one per
 * direction) hashed with its own label, so no nonce is shared with DATA frames. Sans-I/O.
 */
#ifndef WGR_CELL_H
#define WGR_CELL_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "replay.h"

#define CELL_FRAME_TYPE PROTO_CELL
/* Body sizes: a 1500-byte path (the frame is 1445 bytes, within IPv6's 1452 of UDP payload)
 * and a 1280-byte one (IPv6's minimum MTU: 1225 of its 1232). */
#define CELL_BODY_1500       1400
#define CELL_BODY_1280       1180
#define CELL_INNER_HDR       13 /* circ_id, cmd, k */
#define CELL_FRAME_LEN(body) (PROTO_SEALED_OVERHEAD + CELL_INNER_HDR + (body))

/* Link-level commands. */
enum cell_cmd {
	CELL_CREATE = 1,  /* body: a Noise NK message 1 to the receiving relay */
	CELL_CREATED = 2, /* body: the NK message 2 */
	CELL_DESTROY = 3, /* body: reason (1); the circuit is gone on this link */
	CELL_FWD = 4,     /* body: onion layers, away from the circuit's builder */
	CELL_BWD = 5,     /* body: onion layers, towards it */
	CELL_PADDING = 6, /* dropped by the receiver */
};

struct cell {
	uint32_t circ_id; /* per link, chosen by the side that sent CREATE; 0 is never one */
	uint8_t cmd;
	uint64_t k; /* the circuit's cell counter (onion layers' nonce; 0 outside FWD and BWD) */
	uint8_t *body;
	size_t body_len; /* CELL_BODY_1500 or CELL_BODY_1280 */
};

/* The per-direction cell key of a link from its data key of that direction. */
void cell_derive_key(uint8_t out[32], const uint8_t data_key[32]);
/*
 * Seal c into out (cap bytes) with the link's index and counter: the frame's length, or
 * FRAME_EFIELD (a body size that is no class, a command or circuit id the format lacks) or
 * FRAME_ELONG (cap too small). c->body may be out + PROTO_SEALED_HDR_LEN + CELL_INNER_HDR.
 */
int cell_seal(uint8_t *out, size_t cap, uint32_t index, uint64_t counter, const uint8_t key[32],
              const struct cell *c);
/*
 * Open a CELL frame (len bytes) in place with the link's cell key; rp (may be NULL: the caller
 * checks) is the link's replay window. 0 with c filled (its body points into frame), or
 * FRAME_ESHORT, FRAME_ELONG, FRAME_EMAGIC, FRAME_ETYPE, FRAME_ERESERVED (the header),
 * FRAME_EFIELD (no class has this size), FRAME_EREPLAY, FRAME_EAUTH, and FRAME_EFIELD again for
 * an authentic cell with an unknown command or circuit id 0.
 */
int cell_open(uint8_t *frame, size_t len, const uint8_t key[32], struct replay *rp, struct cell *c);
/* The link index and counter of a CELL frame of at least PROTO_SEALED_HDR_LEN bytes. */
void cell_link_fields(const uint8_t *frame, uint32_t *index, uint64_t *counter);

#endif
