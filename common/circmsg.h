/*
 * circmsg.h: the messages of circuits (PROTOCOL.md §13.4; issue 17, not spoken yet): what an
 * onion layer's message (§13.2) carries to or from a hop, and the bodies of the link-level
 * CREATE, CREATED and DESTROY cells (§13.1). Each fills its room (a cell body, or the room of
 * an onion message at the hop's depth) and the bytes after it are zero; a decoder names every
 * malformation. Sans-I/O.
 */
#ifndef WGR_CIRCMSG_H
#define WGR_CIRCMSG_H

#include <stddef.h>
#include <stdint.h>

#include "circhs.h"

enum circmsg_type {
	CIRCMSG_EXTEND = 1,     /* to the last hop: extend the circuit to the relay named */
	CIRCMSG_EXTENDED = 2,   /* from the new last hop, through the old one: its message 2 */
	CIRCMSG_RENDEZVOUS = 3, /* to the rendezvous hop: splice with the circuit of this cookie */
	CIRCMSG_SPLICED = 4,    /* from it: the two circuits are one */
	CIRCMSG_DATA = 5,       /* one WireGuard datagram */
	CIRCMSG_PADDING = 6,    /* dropped by the hop it is for */
};

#define CIRCMSG_COOKIE_LEN 16
/* type, identity, Noise key, message 1 */
#define CIRCMSG_EXTEND_LEN (1 + 32 + 32 + CIRCHS_MSG1_LEN)
#define CIRCMSG_DATA_HDR   3 /* type, length */

struct circmsg {
	uint8_t type;
	uint8_t identity[32];               /* EXTEND: the next relay's Ed25519 identity */
	uint8_t noise_pub[32];              /* EXTEND: its Noise key (as its descriptor names it) */
	uint8_t hs[CIRCHS_MSG1_LEN];        /* EXTEND: message 1; EXTENDED: message 2 (48 bytes) */
	uint8_t cookie[CIRCMSG_COOKIE_LEN]; /* RENDEZVOUS */
	const uint8_t *data;                /* DATA: points into the decoded bytes */
	size_t data_len;
};

enum circmsg_err {
	CIRCMSG_ETYPE = -1,  /* unknown type */
	CIRCMSG_ESHORT = -2, /* the room is too small for the type */
	CIRCMSG_EPAD = -3,   /* a byte after the message is not zero */
	CIRCMSG_ELEN = -4,   /* DATA: a length past the room, or 0 */
};

/* Write m into out, filling room bytes (zeros after it): 0, CIRCMSG_ETYPE, CIRCMSG_ESHORT or
 * CIRCMSG_ELEN (DATA of 0 or over 65535 bytes). m->data may point into out. */
int circmsg_encode(const struct circmsg *m, uint8_t *out, size_t room);
/* Read the message filling in (room bytes): 0 or a circmsg_err. DATA's data points into in. */
int circmsg_decode(const uint8_t *in, size_t room, struct circmsg *m);
/* The most a DATA message carries in room bytes (0: none). */
size_t circmsg_data_max(size_t room);

/* Link-level bodies (B bytes): CREATE carries a message 1, CREATED a message 2, DESTROY a
 * reason. Encoders fill the body; decoders check the zeros after. 0 or CIRCMSG_EPAD. */
void circmsg_put_create(uint8_t *body, size_t body_len, const uint8_t msg1[CIRCHS_MSG1_LEN]);
int circmsg_get_create(const uint8_t *body, size_t body_len, uint8_t msg1[CIRCHS_MSG1_LEN]);
void circmsg_put_created(uint8_t *body, size_t body_len, const uint8_t msg2[CIRCHS_MSG2_LEN]);
int circmsg_get_created(const uint8_t *body, size_t body_len, uint8_t msg2[CIRCHS_MSG2_LEN]);
void circmsg_put_destroy(uint8_t *body, size_t body_len, uint8_t reason);
int circmsg_get_destroy(const uint8_t *body, size_t body_len, uint8_t *reason);

#endif
