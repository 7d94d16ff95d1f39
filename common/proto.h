/*
 * proto.h: wire protocol v1 constants. docs/PROTOCOL.md is the normative text; each constant
 * names its section there.
 */
#ifndef WGR_PROTO_H
#define WGR_PROTO_H

/* §2 Frame header: magic, type, two reserved zero bytes. */
#define PROTO_MAGIC        0xF1
#define PROTO_HDR_LEN      4
#define PROTO_DEFAULT_PORT 51821

/* §2 Frame types. */
enum proto_type {
	PROTO_PING = 0x01,
	PROTO_PONG = 0x02,
	PROTO_HS_INIT = 0x03,
	PROTO_HS_RESP = 0x04,
	PROTO_COOKIE = 0x05,
	PROTO_CTRL = 0x06,
	PROTO_DATA = 0x07,
	PROTO_DESC_REQ = 0x08,  /* §10.1: "send me your descriptor", no link needed */
	PROTO_DESC_RESP = 0x09, /* §10.1: the relay's own descriptor */
	PROTO_CELL = 0x0A,      /* §13.1: a circuit's cell on a link (cell.h) */
};

/* §3 Probe. */
#define PROTO_PING_LEN 64
#define PROTO_PONG_LEN 64

/* §4 Handshake. */
#define PROTO_PROLOGUE         "wgrelay v1"
#define PROTO_TAI64N_LEN       12
#define PROTO_ADDR_LEN         20 /* family, reserved, port, 16 address bytes */
#define PROTO_MAC_LEN          16
#define PROTO_HS_INIT_LEN      148
#define PROTO_HS_RESP_LEN      112
#define PROTO_COOKIE_LEN       64
#define PROTO_COOKIE_NONCE     24
#define PROTO_COOKIE_SECRET_MS 120000
#define PROTO_REKEY_AFTER_MS   120000 /* client starts a new handshake */
#define PROTO_LINK_EXPIRE_MS   180000 /* relay forgets a silent link */
#define PROTO_KEEPALIVE_MS     25000

/* §5 Sealed control and data frames: header(4) index/handle(4) counter(8) ... tag(16). */
#define PROTO_SEALED_HDR_LEN  16
#define PROTO_TAG_LEN         16
#define PROTO_SEALED_OVERHEAD (PROTO_SEALED_HDR_LEN + PROTO_TAG_LEN)
#define PROTO_MAX_FRAME       65535
/*
 * §5.2 Largest CTRL plaintext: room for a relay-network message carrying a whole descriptor
 * (§9: at most 995 bytes) with its header, and 1200 + 32 = 1232 bytes of frame fit the
 * smallest IPv6 path (1280 - 40 - 8), so a CTRL frame is never fragmented.
 */
#define PROTO_MAX_CTRL_PLAIN 1200
/*
 * §5.2/§7 A request a client sends (BIND, UNBIND, KEEPALIVE) is padded with zero bytes to at
 * least this many plaintext bytes, so no reply of the relay's (at most 25 bytes fixed, or an
 * ERROR whose text is cut to fit) is larger than the request that caused it.
 */
#define PROTO_CTRL_REQ_MIN 64

/* §5.2 Control messages (inside CTRL frames). */
enum proto_ctrl {
	CTRL_BIND = 0x01,
	CTRL_BOUND = 0x02,
	CTRL_UNBIND = 0x03,
	CTRL_KEEPALIVE = 0x04,
	CTRL_ERROR = 0x05,
	CTRL_PEER_ACTIVE = 0x06,
	CTRL_CHALLENGE = 0x07, /* relay -> client, to a new address: prove you receive there */
	CTRL_RESPONSE = 0x08,  /* client -> relay: the challenge's token, from that address */
	/* §10 relay network messages (relay links; DISCOVER also from clients) */
	CTRL_HELLO = 0x10,         /* relay <-> relay, first message each way: own descriptor */
	CTRL_IHAVE = 0x11,         /* gossip: identity and seq of descriptors held */
	CTRL_WANT = 0x12,          /* gossip: identities asked for */
	CTRL_DESC = 0x13,          /* one descriptor (gossip, or an answer to DISCOVER) */
	CTRL_DIGEST = 0x14,        /* anti-entropy level 1: per-bucket hashes */
	CTRL_BUCKET = 0x15,        /* anti-entropy level 2: a bucket's (identity, seq) pairs */
	CTRL_DISCOVER = 0x16,      /* client or relay -> relay: list relays (a padded request) */
	CTRL_DISCOVERED = 0x17,    /* after the DESCs answering a DISCOVER: the next cursor */
	CTRL_HEARTBEAT = 0x18,     /* relay links: liveness and RTT */
	CTRL_HEARTBEAT_ACK = 0x19, /* echoes the HEARTBEAT's nonce */
};

/* §10.1 DESC_REQ is exactly this long, so that a DESC_RESP (<= 4 + 995) is never larger. */
#define PROTO_DESC_REQ_LEN 1024
/* §10.4 DISCOVER: at most this many DESC answers to one request. */
#define PROTO_DISCOVER_MAX 32
/* §10.4 DISCOVER flags. */
#define PROTO_DISCOVER_NEAR     0x01 /* order by distance from lat/lon */
#define PROTO_DISCOVER_MODES    0x02 /* only relays offering all of modes */
#define PROTO_DISCOVER_NOT_FULL 0x04 /* only relays with load below PROTO_FULL_PERMILLE */
/* §10.4 A relay counts as full from this load on (per 1000 of its circuit limit). */
#define PROTO_FULL_PERMILLE 900

/* §5.2 Token of a CHALLENGE, echoed by RESPONSE within PROTO_CHALLENGE_TTL_MS. */
#define PROTO_CHALLENGE_LEN    16
#define PROTO_CHALLENGE_TTL_MS 10000

/* §5.2 Data modes. */
enum proto_mode {
	PROTO_MODE_DIRECT = 1,
	PROTO_MODE_SEALED = 2,
};

/* §5.2 BOUND states. */
enum proto_bound_state {
	PROTO_WAITING = 1,
	PROTO_PAIRED = 2,
};

/* §6 Error codes carried in ERROR. */
enum proto_error {
	PROTO_ERR_BAD_REQUEST = 1,
	PROTO_ERR_AUTH_REQUIRED = 2,
	PROTO_ERR_AUTH_DENIED = 3,
	PROTO_ERR_SESSION_FULL = 4,
	PROTO_ERR_LIMIT_RESERVATIONS = 5,
	PROTO_ERR_LIMIT_CIRCUITS = 6,
	PROTO_ERR_RATE_LIMITED = 7,
	PROTO_ERR_MODE_NOT_ALLOWED = 8,
	PROTO_ERR_UNKNOWN_HANDLE = 9,
	PROTO_ERR_NO_PORTS = 10,
	PROTO_ERR_CIRCUIT_LIMIT_REACHED = 11, /* duration or bytes of a circuit used up */
	PROTO_ERR_SHUTDOWN = 12,
	PROTO_ERR_INTERNAL = 13,
	PROTO_ERR_MODE_MISMATCH = 14, /* the session exists in the other data mode */
	PROTO_ERR_BAD_HELLO = 15,     /* §10.2 a HELLO's descriptor refused; the text says why */
	PROTO_ERR_LINK_CLOSED = 16,   /* §10.2 the relay link is closed; the text says why */
};

/* Name of an error code for logs and CLI output ("session-full"). */
const char *proto_error_name(unsigned code);

#endif
