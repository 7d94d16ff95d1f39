/*
 * frame.h: encoders and decoders of every v1 frame and control message (PROTOCOL.md §2-§6).
 * Pure functions over caller buffers; decoders report distinct errors (enum frame_err).
 */
#ifndef WGR_FRAME_H
#define WGR_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "proto.h"
#include "replay.h"

/* Decoder errors: negative and distinct from each other (and from -errno values). */
enum frame_err {
	FRAME_ESHORT = -1001,    /* fewer bytes than the type needs */
	FRAME_ELONG = -1002,     /* more bytes than the type allows */
	FRAME_EMAGIC = -1003,    /* first byte is not PROTO_MAGIC (wrong version) */
	FRAME_ETYPE = -1004,     /* unknown frame or control-message type */
	FRAME_ERESERVED = -1005, /* reserved bytes not zero */
	FRAME_EFIELD = -1006,    /* a field holds a value the protocol does not define */
	FRAME_EAUTH = -1007,     /* authentication failed */
	FRAME_EREPLAY = -1008,   /* counter already seen or too old */
	FRAME_EMAC = -1009,      /* handshake mac1 wrong: dropped before any Diffie-Hellman */
};
const char *frame_strerror(int err);

/*
 * Check magic, reserved bytes and the size rule of the frame's type; return the type
 * (enum proto_type) or a frame_err. Every receiver calls this first.
 */
int frame_check(const uint8_t *p, size_t len);
void frame_put_header(uint8_t *p, uint8_t type);

/* The 20-byte address field: family (4 or 6), reserved, port, 16 address bytes. */
void frame_put_addr(uint8_t out[PROTO_ADDR_LEN], const struct addr *a);
int frame_get_addr(const uint8_t in[PROTO_ADDR_LEN], struct addr *a);

/* §3 PING: 64 bytes, zero padded so that a PONG is never larger. */
void frame_encode_ping(uint8_t out[PROTO_PING_LEN], uint64_t nonce);
int frame_decode_ping(const uint8_t *p, size_t len, uint64_t *nonce);

struct frame_pong {
	uint64_t nonce;
	struct addr observed;   /* the PING's source address as the relay saw it */
	uint16_t load_permille; /* sessions in use per 1000 of capacity */
	uint16_t flags;         /* PONG_F_* */
};
#define PONG_F_FULL       0x0001 /* no new sessions accepted */
#define PONG_F_AUTH_KEYS  0x0002
#define PONG_F_AUTH_TOKEN 0x0004
#define PONG_F_SEALED_OK  0x0008
#define PONG_F_DIRECT_OK  0x0010
void frame_encode_pong(uint8_t out[PROTO_PONG_LEN], const struct frame_pong *pong);
int frame_decode_pong(const uint8_t *p, size_t len, struct frame_pong *pong);

/* §5.2 Control messages, carried inside sealed CTRL frames. */
#define CTRL_TEXT_MAX 200
/* An ERROR without its text: type, code, sid and the text's length byte. */
#define CTRL_ERROR_FIXED_LEN (1 + 2 + 16 + 1)
#define CTRL_CRED_MAX        128
struct ctrl_msg {
	uint8_t type; /* enum proto_ctrl */
	uint8_t sid[16];
	uint8_t mode;                       /* BIND, BOUND */
	uint8_t state;                      /* BOUND */
	uint16_t port;                      /* BOUND (direct mode relay port) */
	uint32_t handle;                    /* BOUND, UNBIND, PEER_ACTIVE */
	uint8_t token[PROTO_CHALLENGE_LEN]; /* CHALLENGE, RESPONSE */
	uint16_t code;                      /* ERROR */
	char text[CTRL_TEXT_MAX + 1];       /* ERROR */
	char user[CTRL_CRED_MAX + 1];       /* BIND, token mode: "expiry:name" */
	char password[CTRL_CRED_MAX + 1];   /* BIND, token mode: base64 HMAC */
};
/*
 * Returns the encoded length or -ENOBUFS / -EINVAL. Requests (BIND, UNBIND, KEEPALIVE,
 * RESPONSE) are padded with zero bytes to PROTO_CTRL_REQ_MIN; the relay's messages are not.
 */
int ctrl_encode(const struct ctrl_msg *m, uint8_t *out, size_t cap);
/* Trailing zero bytes are padding; any other byte left over is FRAME_ELONG. */
int ctrl_decode(const uint8_t *p, size_t len, struct ctrl_msg *m);
/* True for the message types a client sends and the relay answers. */
bool ctrl_is_request(uint8_t type);

/* §10.1 DESC_REQ: header and zero padding, exactly PROTO_DESC_REQ_LEN bytes. */
void frame_encode_desc_req(uint8_t out[PROTO_DESC_REQ_LEN]);
/* 0, or a frame_err (FRAME_ERESERVED for a padding byte that is not zero). */
int frame_decode_desc_req(const uint8_t *p, size_t len);
/* §10.1 DESC_RESP: header ‖ descriptor (1..DESC_MAX_LEN bytes); the frame's length or -errno. */
int frame_encode_desc_resp(uint8_t *out, size_t cap, const uint8_t *desc, size_t len);
/* 0 with *desc pointing into p (not decoded here), or a frame_err. */
int frame_decode_desc_resp(const uint8_t *p, size_t len, const uint8_t **desc, size_t *dlen);

/*
 * §10 Relay-network control messages other than gossip (gossip_msg.h has IHAVE..BUCKET).
 * They carry descriptors of up to DESC_MAX_LEN bytes, so they are not in struct ctrl_msg.
 */
/* HELLO (0x10) and DESC (0x13): type ‖ length (2) ‖ descriptor. The length written or -errno. */
int ctrl_encode_desc_msg(uint8_t type, const uint8_t *desc, size_t len, uint8_t *out, size_t cap);
/* A HELLO or DESC of the given type: 0 with *desc pointing into p, or a frame_err. */
int ctrl_decode_desc_msg(uint8_t type, const uint8_t *p, size_t len, const uint8_t **desc,
                         size_t *dlen);

/* §10.4 DISCOVER: which relays a client (or relay) asks for. */
struct ctrl_discover {
	uint8_t flags;          /* PROTO_DISCOVER_* */
	int32_t lat_e6, lon_e6; /* PROTO_DISCOVER_NEAR: where to be near, microdegrees */
	uint8_t modes;          /* PROTO_DISCOVER_MODES: DESC_MODE_* bits all required */
	uint8_t after[32];      /* cursor from the last DISCOVERED; zero: from the start */
	uint8_t max;            /* 1..PROTO_DISCOVER_MAX */
};
/* A request: padded to PROTO_CTRL_REQ_MIN like BIND. The length written, -EINVAL or -ENOBUFS. */
int ctrl_encode_discover(const struct ctrl_discover *d, uint8_t *out, size_t cap);
/* 0, or a frame_err: FRAME_EFIELD for unknown flags or modes, max 0 or above 32, a bad place. */
int ctrl_decode_discover(const uint8_t *p, size_t len, struct ctrl_discover *d);
/* DISCOVERED: next cursor (zero: no more) ‖ count of DESC messages sent before it. */
int ctrl_encode_discovered(const uint8_t next[32], uint8_t count, uint8_t *out, size_t cap);
int ctrl_decode_discovered(const uint8_t *p, size_t len, uint8_t next[32], uint8_t *count);

/* HEARTBEAT (0x18) and HEARTBEAT_ACK (0x19): type ‖ nonce (8). The length written or -errno. */
int ctrl_encode_heartbeat(uint8_t type, uint64_t nonce, uint8_t *out, size_t cap);
/* 0 with *type and *nonce, or a frame_err. */
int ctrl_decode_heartbeat(const uint8_t *p, size_t len, uint8_t *type, uint64_t *nonce);

/*
 * §5.1 Sealed CTRL frame: header | receiver index | counter | ChaCha20-Poly1305(ctrl msg) | tag,
 * with the 16 header bytes as associated data. frame_seal_ctrl returns the frame length.
 */
int frame_seal_ctrl(uint8_t *out, size_t cap, uint32_t receiver_index, uint64_t counter,
                    const uint8_t key[32], const uint8_t *pt, size_t len);
/* The index and counter of a sealed (CTRL or DATA) frame already passed by frame_check. */
void frame_sealed_fields(const uint8_t *p, uint32_t *index, uint64_t *counter);
/* Open a CTRL frame: checks replay, then authenticates, then updates the window. */
int frame_open_ctrl(const uint8_t *frame, size_t len, const uint8_t key[32], struct replay *rp,
                    uint8_t *pt, size_t cap);

#endif
