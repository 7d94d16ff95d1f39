/*
 * circhs.h: the handshake that gives a circuit's hop its keys (PROTOCOL.md §13.3; issue 17,
 * not spoken yet). Noise NK with the relay's Noise key as its descriptor names it: the client
 * stays anonymous to the hop, the hop is authenticated to the client. Message 1 carries what
 * the hop must know of its place: the version, its depth in the circuit and the cell class.
 * The keys are noise_split's, one per direction; each direction's 16-byte onion salt is
 * BLAKE2b-128 keyed with the final handshake hash over its label. Sans-I/O.
 */
#ifndef WGR_CIRCHS_H
#define WGR_CIRCHS_H

#include <stddef.h>
#include <stdint.h>

#include "noise.h"
#include "onion.h"

#define CIRCHS_VERSION   1
#define CIRCHS_PROLOGUE  "wgrelay circuit v1"
#define CIRCHS_HELLO_LEN 3                                   /* version, depth, class */
#define CIRCHS_MSG1_LEN  NOISE_NK_MSG1_LEN(CIRCHS_HELLO_LEN) /* 51 */
#define CIRCHS_MSG2_LEN  NOISE_MSG2_LEN(0)                   /* 48 */

enum circhs_class { CIRCHS_CLASS_1500 = 0, CIRCHS_CLASS_1280 = 1 };

struct circhs_keys {
	struct onion_key fwd, bwd; /* client to hop, hop to client */
};

/* A client's handshake with one hop, between its message 1 and the answer. */
struct circhs {
	struct noise_hs hs;
};

/*
 * Client: start a handshake with the relay whose Noise key is relay_pub, as hop depth
 * (1..ONION_MAX_HOPS) of a circuit of class cls; message 1 into out (CIRCHS_MSG1_LEN bytes).
 * 0, or -EINVAL (depth or class out of range, or a relay key that is a low-order point).
 */
int circhs_start(struct circhs *c, const uint8_t relay_pub[32], unsigned depth, unsigned cls,
                 uint8_t out[CIRCHS_MSG1_LEN]);
/* Client: the hop's message 2 (len bytes): 0 with its keys (c is wiped), or -EBADMSG. */
int circhs_finish(struct circhs *c, const uint8_t *msg2, size_t len, struct circhs_keys *k);
/*
 * Relay: answer message 1 (len bytes) with its Noise private key: message 2 into out
 * (CIRCHS_MSG2_LEN bytes), the keys, and the depth and class the client asked for. 0, or
 * -EBADMSG (not authentic to this key, wrong size) or -EPROTO (another version, a depth or
 * class out of range).
 */
int circhs_answer(const uint8_t relay_priv[32], const uint8_t *msg1, size_t len,
                  uint8_t out[CIRCHS_MSG2_LEN], struct circhs_keys *k, unsigned *depth,
                  unsigned *cls);

#endif
