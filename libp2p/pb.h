/*
 * pb.h: the protocol buffers wire format, written by hand through the bounded cursors
 * (common/buf.h). libp2p's messages (Noise payload, identify, Circuit Relay v2, signed
 * envelopes, public keys) are a few small proto2/proto3 messages, so a field reader and a
 * handful of writers replace a generated library. Also the unsigned varint (uvarint) that
 * multistream-select and the relay protocols use as a length prefix.
 */
#ifndef WGR_PB_H
#define WGR_PB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"

enum pb_wire {
	PB_VARINT = 0,
	PB_I64 = 1,
	PB_LEN = 2,
	PB_I32 = 5,
};

/* The longest varint: ten bytes carry 64 bits. */
#define PB_VARINT_MAX 10

/* One field as pb_next read it. */
struct pb_field {
	uint32_t num;     /* field number, 1 .. 2^29-1 */
	uint8_t wire;     /* enum pb_wire */
	uint64_t v;       /* PB_VARINT, PB_I64, PB_I32: the value (little-endian for fixed) */
	const uint8_t *p; /* PB_LEN: the bytes, inside the buffer read */
	size_t len;
};

/*
 * Read a varint: 0, or -EBADMSG when truncated, longer than ten bytes or wider than 64 bits
 * (the cursor does not move then).
 */
int pb_get_varint(struct rbuf *b, uint64_t *v);
/* Write v as a varint: 0 or -ENOBUFS (nothing written). */
int pb_put_varint(struct wbuf *b, uint64_t v);
/* How many bytes pb_put_varint writes for v (1 .. 10). */
size_t pb_varint_len(uint64_t v);

/*
 * Read the next field of a message that spans what is left of b. 1 with *f filled, 0 at the
 * end of the buffer, -EBADMSG for a malformed field: a field number of 0 or above 2^29-1, a
 * group (wire types 3 and 4) or an unknown wire type, a length past the end. Unknown fields
 * are the caller's to skip (they are already consumed).
 */
int pb_next(struct rbuf *b, struct pb_field *f);

/* Writers: 0, or -ENOBUFS when the room is short (b's position is then unspecified). */
int pb_put_tag(struct wbuf *b, uint32_t num, enum pb_wire wire);
/* A varint field (uint32, uint64, enum, bool). */
int pb_put_uint(struct wbuf *b, uint32_t num, uint64_t v);
/* A length-delimited field (bytes, string, embedded message). */
int pb_put_bytes(struct wbuf *b, uint32_t num, const void *p, size_t len);
/* A string field from a C string. */
int pb_put_str(struct wbuf *b, uint32_t num, const char *s);

/*
 * A length-delimited message on a stream: uvarint length, then the message, as libp2p frames
 * multistream lines and relay messages. Returns 1 with *msg and *len pointing into in (and
 * *used the bytes consumed) when a whole one is there, 0 when more bytes are needed,
 * -EMSGSIZE when the length exceeds max, -EBADMSG for a bad varint.
 */
int pb_delimited(const uint8_t *in, size_t n, size_t max, const uint8_t **msg, size_t *len,
                 size_t *used);

#endif
