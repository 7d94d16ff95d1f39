/*
 * gossip_msg.h: the codec of the gossip CTRL messages between relays (docs/PROTOCOL.md §10.5):
 * IHAVE, WANT, DESC, DIGEST and BUCKET. Every outside byte goes through the buf.h cursors; a
 * message may end in zero bytes (padding, §5.2) and anything else left over is malformed.
 */
#ifndef WGR_GOSSIP_MSG_H
#define WGR_GOSSIP_MSG_H

#include <stddef.h>
#include <stdint.h>

#include "dstore.h"

/* §10.5: CTRL message types of relay gossip (proto.h: CTRL_IHAVE..CTRL_BUCKET). */
#define GOSSIP_T_IHAVE  0x11
#define GOSSIP_T_WANT   0x12
#define GOSSIP_T_DESC   0x13
#define GOSSIP_T_DIGEST 0x14
#define GOSSIP_T_BUCKET 0x15

/* §10.5: CTRL plaintext between relays is at most 1200 bytes. */
#define GOSSIP_MSG_MAX 1200
/* §10.5: entries in one IHAVE, WANT or BUCKET (25 * 40 + 7 bytes fits GOSSIP_MSG_MAX). */
#define GOSSIP_MAX_ENTRIES 25
/* §10.5: bucket hashes in one DIGEST; two messages cover the 256 buckets. */
#define GOSSIP_DIGEST_MAX 128

/*
 * §10.5: where the first identity of a message starts, for code that looks at the bytes before
 * decoding them (gossip_prefetch); test_gossip checks them against the encoder.
 */
#define GOSSIP_IHAVE_IDS_OFF  2 /* type, n; then entries of identity (32) and seq (8) */
#define GOSSIP_WANT_IDS_OFF   2 /* type, n; then identities (32) */
#define GOSSIP_BUCKET_IDS_OFF 7 /* type, bucket, total (2), first (2), n; then entries */
#define GOSSIP_DESC_BODY_OFF  3 /* type, length (2); then the descriptor */
#define GOSSIP_ENTRY_LEN      40

/* Index of a message type in per-type counters: 0 IHAVE .. 4 BUCKET. */
enum gossip_kind {
	GOSSIP_K_IHAVE = 0,
	GOSSIP_K_WANT,
	GOSSIP_K_DESC,
	GOSSIP_K_DIGEST,
	GOSSIP_K_BUCKET,
	GOSSIP_K_MAX
};

struct gossip_entry {
	uint8_t id[32];
	uint64_t seq;
};

struct gossip_msg {
	uint8_t type; /* GOSSIP_T_* */
	union {
		struct { /* IHAVE: 1..25 entries */
			uint8_t n;
			struct gossip_entry e[GOSSIP_MAX_ENTRIES];
		} ihave;
		struct { /* WANT: 1..25 identities */
			uint8_t n;
			uint8_t id[GOSSIP_MAX_ENTRIES][32];
		} want;
		struct { /* DESC: points into the decoded message */
			const uint8_t *p;
			uint16_t len; /* 1..DESC_MAX_LEN */
		} desc;
		struct { /* DIGEST: hashes of buckets first .. first + n - 1 (n 1..128) */
			uint8_t first;
			uint8_t n;
			uint8_t hash[GOSSIP_DIGEST_MAX][DSTORE_DIGEST_LEN];
		} digest;
		struct { /* BUCKET: entries first .. first + n - 1 of total, identity order */
			uint8_t bucket;
			uint16_t total;
			uint16_t first;
			uint8_t n;
			struct gossip_entry e[GOSSIP_MAX_ENTRIES];
		} bucket;
	} u;
};

/* The gossip_kind of a type byte, or -1 when it is not a gossip message. */
int gossip_msg_kind(uint8_t type);
/* A gossip_kind's name in lower case ("ihave" .. "bucket"), "?" for anything else. */
const char *gossip_kind_name(int kind);

/*
 * Decode one message (type byte first). 0, or -EBADMSG when short, over its limits (counts,
 * lengths), out of order (BUCKET entries not strictly increasing or outside the bucket, first +
 * n > total) or followed by a non-zero byte; -EPROTO when the type is not a gossip message.
 * A DESC's descriptor is not decoded here (m->u.desc points into p).
 */
int gossip_msg_decode(const uint8_t *p, size_t len, struct gossip_msg *m);

/* Encode m into out: the length, -EINVAL when m is over its limits, or -ENOBUFS. */
int gossip_msg_encode(const struct gossip_msg *m, uint8_t *out, size_t cap);

/*
 * Encode a DESC message carrying the encoded descriptor desc (len 1..DESC_MAX_LEN), e.g. for the
 * DESC messages that answer a DISCOVER. The length written, -EINVAL or -ENOBUFS.
 */
int gossip_msg_desc(uint8_t *out, size_t cap, const uint8_t *desc, size_t len);

#endif
