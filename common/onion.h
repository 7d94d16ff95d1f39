/*
 * onion.h: the onion layers of a multi-hop circuit's cells (issue 17's circuits; the cells'
 * link layer and handshakes come on top). Sans-I/O, in place, no allocation.
 *
 * A cell's body has a fixed size B for the whole circuit, so every cell on every link looks the
 * same. Hop d of a circuit (1 = the entry) shares two keys with the client, one per direction,
 * each with a 16-byte salt; a layer is XChaCha20-Poly1305 with nonce = salt || k (big-endian),
 * k being the circuit's cell counter in that direction (carried by the link layer, replay
 * checked by the caller). A layer adds ONION_OVERHEAD bytes: a flag byte (0: for a later hop,
 * 1: this hop's message) and the tag. Hop d therefore opens (forward) or produces (backward)
 * the first onion_layer_len(B, d) = B - ONION_OVERHEAD * (d - 1) bytes of the body; the rest is
 * zero, and checked. Each layer is an AEAD whose key only the client and that hop know: a cell
 * a hop modified fails to open at the next honest hop, which drops it (no tagging across hops).
 */
#ifndef WGR_ONION_H
#define WGR_ONION_H

#include <stddef.h>
#include <stdint.h>

#define ONION_OVERHEAD 17 /* flag (1) + Poly1305 tag (16) per hop */
#define ONION_MAX_HOPS 8
#define ONION_SALT_LEN 16

enum onion_flag { ONION_FLAG_NEXT = 0, ONION_FLAG_MINE = 1 };

enum onion_result {
	ONION_NEXT = 1,    /* forward: the body now holds the next hop's cell (zero padded) */
	ONION_MINE = 2,    /* the cell is this hop's (or, for the client, the hop's whose index) */
	ONION_EAUTH = -1,  /* a layer did not open: modified, wrong key, wrong counter */
	ONION_EPAD = -2,   /* the bytes past the layer are not zero */
	ONION_EFLAG = -3,  /* the flag byte is neither 0 nor 1 */
	ONION_EDEPTH = -4, /* depth 0, over ONION_MAX_HOPS, or no room in B for it */
	ONION_ESIZE = -5,  /* a message larger than the room at that depth */
};

/* One direction's key of one hop. */
struct onion_key {
	uint8_t key[32];
	uint8_t salt[ONION_SALT_LEN];
};

/* The bytes hop depth opens or produces in a body of body_len; 0 when there is no room. */
size_t onion_layer_len(size_t body_len, unsigned depth);
/* The room for a message to or from hop depth: onion_layer_len - ONION_OVERHEAD; 0: none. */
size_t onion_room(size_t body_len, unsigned depth);

/*
 * Client, forward: a cell carrying msg (len <= onion_room(body_len, e) bytes, zero padded to
 * the room) to hop e, layered with the forward keys of hops 1..e (keys[0..e-1]) under counter
 * k. The whole body is written. 0, ONION_EDEPTH or ONION_ESIZE.
 */
int onion_wrap(uint8_t *body, size_t body_len, const struct onion_key *keys, unsigned e, uint64_t k,
               const uint8_t *msg, size_t len);
/*
 * Hop d, forward: open its layer of body in place with its forward key. ONION_MINE: the message
 * is at body + 1, onion_room(body_len, d) bytes. ONION_NEXT: body is the cell for hop d + 1.
 * Errors (the cell is to be dropped and counted): ONION_EAUTH, ONION_EPAD, ONION_EFLAG,
 * ONION_EDEPTH. The body's contents are unspecified after an error.
 */
int onion_peel(uint8_t *body, size_t body_len, unsigned d, const struct onion_key *key, uint64_t k);
/*
 * Hop e, backward: a cell carrying its own msg (len <= onion_room(body_len, e)) towards the
 * client, under its backward key and counter k. 0, ONION_EDEPTH or ONION_ESIZE.
 */
int onion_originate(uint8_t *body, size_t body_len, unsigned e, const struct onion_key *key,
                    uint64_t k, const uint8_t *msg, size_t len);
/*
 * Hop d, backward: add its layer to a cell that came from hop d + 1 (checked: the bytes past
 * hop d + 1's layer are zero). 0, ONION_EPAD or ONION_EDEPTH.
 */
int onion_add(uint8_t *body, size_t body_len, unsigned d, const struct onion_key *key, uint64_t k);
/*
 * Client, backward: open the layers of hops 1..n (backward keys keys[0..n-1]) until one is the
 * hop's own message. Returns the hop's index e (1..n), with the message at body + 1 and
 * onion_room(body_len, e) bytes long; or ONION_EAUTH, ONION_EFLAG, ONION_EDEPTH (n layers
 * opened and none was a message: also ONION_EFLAG).
 */
int onion_unwrap(uint8_t *body, size_t body_len, const struct onion_key *keys, unsigned n,
                 uint64_t k);

#endif
