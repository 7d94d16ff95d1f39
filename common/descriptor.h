/*
 * descriptor.h: a relay's signed descriptor (docs/PROTOCOL.md §9): who the relay is (Ed25519
 * identity, Noise key), where and how it can be reached, what it offers, signed by the
 * identity. At most DESC_MAX_LEN bytes encoded, so a descriptor is also a BEP 44 value.
 * Encoded through the bounded cursors; the decoder names each malformation.
 */
#ifndef WGR_DESCRIPTOR_H
#define WGR_DESCRIPTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"

/* §9: a bencoded BEP 44 value ("995:" + bytes) is at most 1000 bytes. */
#define DESC_MAX_LEN       995
#define DESC_MAGIC         "WGRD"
#define DESC_VERSION       1
#define DESC_SIG_LEN       64
#define DESC_IDENTITY_OFF  6 /* magic, version, flags; then the identity (code that peeks) */
#define DESC_MAX_ENDPOINTS 8
#define DESC_MAX_STR       64   /* software version, family, endpoint host and path */
#define DESC_FLAG_LOCATION 0x01 /* flags bit 0: latitude and longitude follow the country */
/* §9: what the signature covers is this domain ‖ the encoded bytes before the signature. */
#define DESC_SIG_DOMAIN "wgrelay descriptor v1"
/* §9: a descriptor lives at most this long after it was issued. */
#define DESC_MAX_LIFETIME_S (7 * 24 * 3600)
/* §9: an issued-at this far in the receiver's future is refused (clocks differ). */
#define DESC_MAX_SKEW_S 600

enum desc_transport {
	DESC_T_UDP = 1, /* the control port (PROTOCOL.md §2) */
	DESC_T_TCP = 2,
	DESC_T_TLS = 3,
	DESC_T_WSS = 4,   /* host (name or address literal) and path */
	DESC_T_ONION = 5, /* host is a .onion name */
};

enum desc_auth { DESC_AUTH_OPEN = 0, DESC_AUTH_KEYS = 1, DESC_AUTH_TOKEN = 2 };

/* Modes offered: bits of (1 << PROTO_MODE_x). */
#define DESC_MODE_DIRECT (1u << 1)
#define DESC_MODE_SEALED (1u << 2)
/* Not a data mode: the relay is a hop of multi-hop circuits (PROTOCOL.md §13). */
#define DESC_MODE_CIRCUITS (1u << 3)
#define DESC_MODES_DATA    (DESC_MODE_DIRECT | DESC_MODE_SEALED)
#define DESC_MODES_ALL     (DESC_MODES_DATA | DESC_MODE_CIRCUITS)

struct desc_endpoint {
	uint8_t transport;       /* enum desc_transport */
	struct addr addr;        /* UDP, TCP, TLS: address and port */
	char host[DESC_MAX_STR]; /* WSS, ONION: name; "" otherwise */
	char path[DESC_MAX_STR]; /* WSS: "/wgrelay"; "" otherwise */
	uint16_t port;           /* WSS, ONION (UDP/TCP/TLS keep theirs in addr) */
};

struct descriptor {
	uint8_t identity[32]; /* Ed25519 public key: who signs */
	uint8_t noise[32];    /* X25519 static key clients handshake with */
	uint64_t seq;         /* higher replaces lower; never equal with other contents */
	uint64_t issued_at;   /* Unix seconds */
	uint64_t expires_at;  /* Unix seconds; issued_at < expires_at <= issued + lifetime */
	uint8_t modes;        /* DESC_MODE_* */
	uint8_t auth;         /* enum desc_auth */
	uint32_t max_circuits;
	uint32_t bandwidth_kbps; /* 0: not stated */
	uint16_t load_permille;  /* 0..1000 */
	uint32_t uptime_s;
	char version[DESC_MAX_STR]; /* software version, printable ASCII */
	char country[3];            /* operator-claimed ISO 3166 alpha-2, "" none */
	bool has_location;
	int32_t lat_e6, lon_e6;    /* operator-claimed, microdegrees */
	char family[DESC_MAX_STR]; /* operator family name, "" none */
	uint8_t n_endpoints;       /* 1..DESC_MAX_ENDPOINTS; the first is UDP control */
	struct desc_endpoint endpoints[DESC_MAX_ENDPOINTS];
	uint8_t sig[DESC_SIG_LEN];
};

/* Distinct decode and check errors (positive; functions return their negation). */
enum desc_err {
	DESC_E_SHORT = 1, /* ends inside a field */
	DESC_E_LONG,      /* bytes after the signature, or longer than DESC_MAX_LEN */
	DESC_E_MAGIC,     /* not "WGRD" */
	DESC_E_VERSION,   /* unknown version */
	DESC_E_FLAGS,     /* reserved flag bits set */
	DESC_E_TIMES,     /* expires_at <= issued_at or lifetime above the maximum */
	DESC_E_MODES,     /* no mode, or an unknown mode bit */
	DESC_E_AUTH,      /* unknown auth policy */
	DESC_E_LOAD,      /* load above 1000 */
	DESC_E_STRING,    /* a string too long or not printable ASCII */
	DESC_E_COUNTRY,   /* country not two upper-case letters */
	DESC_E_LOCATION,  /* latitude or longitude out of range */
	DESC_E_ENDPOINTS, /* no endpoint, too many, or the first is not UDP */
	DESC_E_TRANSPORT, /* unknown transport */
	DESC_E_ADDR,      /* bad address family, zero port, an address or host no one can reach
	                       (unspecified, multicast, IPv4-mapped), a WSS path not starting with
	                       '/', an onion host not ending ".onion" */
	DESC_E_KEY,       /* identity or Noise key all zero, or identity not a valid point */
	DESC_E_SIG,       /* signature does not verify */
	DESC_E_EXPIRED,   /* expires_at <= now */
	DESC_E_FUTURE,    /* issued_at > now + DESC_MAX_SKEW_S */
	DESC_E_NOISE_KEY, /* the Noise key differs from the one handshaken with */
	DESC_E_MAX
};

/* "short", "bad-signature", ... for logs, metrics labels and the CLI; err may be positive or
 * negative; "unknown" for anything else. */
const char *desc_err_name(int err);

/*
 * Encode d (without its signature) and sign with the Ed25519 secret key sk (64 bytes, libsodium
 * form, whose public half must be d->identity: -EINVAL otherwise); d->sig is filled. The fields
 * get the checks desc_decode makes, so what is signed decodes. Returns the encoded length, or
 * -DESC_E_* (-DESC_E_LONG: more than DESC_MAX_LEN bytes) or -ENOBUFS (cap too small).
 */
int desc_sign(struct descriptor *d, const uint8_t sk[64], uint8_t *out, size_t cap);
/*
 * Encode d with the signature it carries (one desc_decode filled, or desc_sign made), without
 * verifying it: the bytes desc_decode read, again. Length or -DESC_E_* / -ENOBUFS as desc_sign.
 */
int desc_encode(const struct descriptor *d, uint8_t *out, size_t cap);
/*
 * Decode and verify the signature: 0 and *d, or -DESC_E_* naming the first malformation in
 * byte order (then -DESC_E_LONG for bytes after the signature, then -DESC_E_SIG). More than
 * DESC_MAX_LEN bytes is -DESC_E_LONG before anything is read. The encoding is canonical:
 * desc_encode of the result gives back the same bytes. Times are checked for consistency
 * only, not against a clock (desc_check_time does).
 */
int desc_decode(const uint8_t *p, size_t len, struct descriptor *d);
/* Current at now (Unix seconds): 0, -DESC_E_EXPIRED or -DESC_E_FUTURE. */
int desc_check_time(const struct descriptor *d, uint64_t now);
/* Showing a descriptor (descriptor_show.c). */
/*
 * The descriptor as one JSON object on one line (wgrelayd --show-descriptor --json): keys and
 * signature in standard base64 as wg(8) prints keys, absent country, location and family as
 * null. Bytes written (without the '\0'), or -ENOBUFS when cap is short (out then holds a
 * truncated, still terminated string). 4096 bytes suffice for what desc_decode fills.
 */
int desc_to_json(const struct descriptor *d, char *out, size_t cap);
/* Human-readable, one "name  value" line a field; strings are shown with anything not
 * printable as '?'. As desc_to_json for the return and the room needed. */
int desc_to_text(const struct descriptor *d, char *out, size_t cap);

#endif
