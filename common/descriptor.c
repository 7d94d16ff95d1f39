/* descriptor.c: encode, sign and decode relay descriptors (docs/PROTOCOL.md §9). */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "descriptor.h"
#include "key.h"

#define DESC_BODY_MAX   (DESC_MAX_LEN - DESC_SIG_LEN)
#define DESC_DOMAIN_LEN (sizeof(DESC_SIG_DOMAIN) - 1)

/* Every getter failing means the bytes ended inside a field. */
#define DESC_GET(call)                                                                             \
	do {                                                                                       \
		if ((call) < 0)                                                                    \
			return -DESC_E_SHORT;                                                      \
	} while (0)

static const char *const desc_err_names[DESC_E_MAX] = {
    [DESC_E_SHORT] = "short",
    [DESC_E_LONG] = "long",
    [DESC_E_MAGIC] = "bad-magic",
    [DESC_E_VERSION] = "bad-version",
    [DESC_E_FLAGS] = "bad-flags",
    [DESC_E_TIMES] = "bad-times",
    [DESC_E_MODES] = "bad-modes",
    [DESC_E_AUTH] = "bad-auth",
    [DESC_E_LOAD] = "bad-load",
    [DESC_E_STRING] = "bad-string",
    [DESC_E_COUNTRY] = "bad-country",
    [DESC_E_LOCATION] = "bad-location",
    [DESC_E_ENDPOINTS] = "bad-endpoints",
    [DESC_E_TRANSPORT] = "bad-transport",
    [DESC_E_ADDR] = "bad-address",
    [DESC_E_KEY] = "bad-key",
    [DESC_E_SIG] = "bad-signature",
    [DESC_E_EXPIRED] = "expired",
    [DESC_E_FUTURE] = "future",
    [DESC_E_NOISE_KEY] = "noise-key-mismatch",
};

const char *desc_err_name(int err)
{
	if (err < 0 && err > -DESC_E_MAX)
		err = -err;
	if (err <= 0 || err >= DESC_E_MAX)
		return "unknown";
	return desc_err_names[err];
}

/* str: u8 length, then that many printable ASCII bytes; at most DESC_MAX_STR - 1. */
static int desc_get_str(struct rbuf *b, char out[DESC_MAX_STR])
{
	uint8_t n;

	DESC_GET(buf_get_u8(b, &n));
	if (n >= DESC_MAX_STR)
		return -DESC_E_STRING;
	DESC_GET(buf_get_bytes(b, out, n));
	out[n] = '\0';
	for (uint8_t i = 0; i < n; i++)
		if (out[i] < 0x20 || out[i] > 0x7e)
			return -DESC_E_STRING;
	return 0;
}

/* A DNS name or a bracketed IPv6 literal: what a URL's host may be, nothing to escape. */
static bool desc_host_ok(const char *h, bool onion)
{
	size_t n = strlen(h);

	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(h[i] >= 'a' && h[i] <= 'z') && !(h[i] >= 'A' && h[i] <= 'Z') &&
		    !(h[i] >= '0' && h[i] <= '9') && !strchr(onion ? ".-" : ".-:[]", h[i]))
			return false;
	return !onion || (n > 6 && strcmp(h + n - 6, ".onion") == 0);
}

/* family(1) addr(4|16) port(2): a unicast address, one spelling per address. */
static int desc_get_addr(struct rbuf *b, struct addr *a)
{
	struct sockaddr_in in = {.sin_family = AF_INET};
	struct sockaddr_in6 in6 = {.sin6_family = AF_INET6};
	uint8_t family;
	uint16_t port;

	DESC_GET(buf_get_u8(b, &family));
	if (family == 4) {
		DESC_GET(buf_get_bytes(b, &in.sin_addr, 4));
		DESC_GET(buf_get_u16(b, &port));
		in.sin_port = htons(port);
		addr_from_sockaddr(a, (struct sockaddr *)&in, sizeof(in));
	} else if (family == 6) {
		DESC_GET(buf_get_bytes(b, &in6.sin6_addr, 16));
		DESC_GET(buf_get_u16(b, &port));
		in6.sin6_port = htons(port);
		if (IN6_IS_ADDR_V4MAPPED(&in6.sin6_addr))
			return -DESC_E_ADDR;
		addr_from_sockaddr(a, (struct sockaddr *)&in6, sizeof(in6));
	} else {
		return -DESC_E_ADDR;
	}
	if (port == 0 || (addr_classify(a) & (ADDR_UNSPECIFIED | ADDR_MULTICAST | ADDR_BROADCAST)))
		return -DESC_E_ADDR;
	return 0;
}

static int desc_get_endpoint(struct rbuf *b, struct desc_endpoint *e, bool first)
{
	int r;

	DESC_GET(buf_get_u8(b, &e->transport));
	if (e->transport < DESC_T_UDP || e->transport > DESC_T_ONION)
		return -DESC_E_TRANSPORT;
	if (first && e->transport != DESC_T_UDP)
		return -DESC_E_ENDPOINTS;
	if (e->transport <= DESC_T_TLS)
		return desc_get_addr(b, &e->addr);
	if ((r = desc_get_str(b, e->host)) < 0)
		return r;
	if (!desc_host_ok(e->host, e->transport == DESC_T_ONION))
		return -DESC_E_ADDR;
	DESC_GET(buf_get_u16(b, &e->port));
	if (e->port == 0)
		return -DESC_E_ADDR;
	if (e->transport == DESC_T_WSS) {
		if ((r = desc_get_str(b, e->path)) < 0)
			return r;
		if (e->path[0] != '/' || strchr(e->path, ' '))
			return -DESC_E_ADDR;
	}
	return 0;
}

/* Everything before the signature, each field checked as it is read: the first bad one wins. */
static int desc_parse_body(struct rbuf *b, struct descriptor *d)
{
	uint8_t magic[4], version, flags, cc[2];
	uint32_t lat, lon;
	int r;

	memset(d, 0, sizeof(*d));
	DESC_GET(buf_get_bytes(b, magic, 4));
	if (memcmp(magic, DESC_MAGIC, 4) != 0)
		return -DESC_E_MAGIC;
	DESC_GET(buf_get_u8(b, &version));
	if (version != DESC_VERSION)
		return -DESC_E_VERSION;
	DESC_GET(buf_get_u8(b, &flags));
	if (flags & ~DESC_FLAG_LOCATION)
		return -DESC_E_FLAGS;
	d->has_location = flags & DESC_FLAG_LOCATION;
	DESC_GET(buf_get_bytes(b, d->identity, 32));
	/* Refused before the signature check: a small-order key would verify forged signatures. */
	if (key_is_zero(d->identity) || !crypto_core_ed25519_is_valid_point(d->identity))
		return -DESC_E_KEY;
	DESC_GET(buf_get_bytes(b, d->noise, 32));
	if (key_is_zero(d->noise))
		return -DESC_E_KEY;
	DESC_GET(buf_get_u64(b, &d->seq));
	DESC_GET(buf_get_u64(b, &d->issued_at));
	DESC_GET(buf_get_u64(b, &d->expires_at));
	if (d->expires_at <= d->issued_at || d->expires_at - d->issued_at > DESC_MAX_LIFETIME_S)
		return -DESC_E_TIMES;
	DESC_GET(buf_get_u8(b, &d->modes));
	if (!(d->modes & DESC_MODES_DATA) || (d->modes & ~DESC_MODES_ALL))
		return -DESC_E_MODES;
	DESC_GET(buf_get_u8(b, &d->auth));
	if (d->auth > DESC_AUTH_TOKEN)
		return -DESC_E_AUTH;
	DESC_GET(buf_get_u32(b, &d->max_circuits));
	DESC_GET(buf_get_u32(b, &d->bandwidth_kbps));
	DESC_GET(buf_get_u16(b, &d->load_permille));
	if (d->load_permille > 1000)
		return -DESC_E_LOAD;
	DESC_GET(buf_get_u32(b, &d->uptime_s));
	if ((r = desc_get_str(b, d->version)) < 0)
		return r;
	DESC_GET(buf_get_bytes(b, cc, 2));
	if ((cc[0] || cc[1]) && !(cc[0] >= 'A' && cc[0] <= 'Z' && cc[1] >= 'A' && cc[1] <= 'Z'))
		return -DESC_E_COUNTRY;
	memcpy(d->country, cc, 2);
	if (d->has_location) {
		DESC_GET(buf_get_u32(b, &lat));
		d->lat_e6 = (int32_t)lat;
		if (d->lat_e6 < -90000000 || d->lat_e6 > 90000000)
			return -DESC_E_LOCATION;
		DESC_GET(buf_get_u32(b, &lon));
		d->lon_e6 = (int32_t)lon;
		if (d->lon_e6 < -180000000 || d->lon_e6 > 180000000)
			return -DESC_E_LOCATION;
	}
	if ((r = desc_get_str(b, d->family)) < 0)
		return r;
	DESC_GET(buf_get_u8(b, &d->n_endpoints));
	if (d->n_endpoints == 0 || d->n_endpoints > DESC_MAX_ENDPOINTS)
		return -DESC_E_ENDPOINTS;
	for (uint8_t i = 0; i < d->n_endpoints; i++)
		if ((r = desc_get_endpoint(b, &d->endpoints[i], i == 0)) < 0)
			return r;
	return 0;
}

/* Ed25519 over DESC_SIG_DOMAIN ‖ body: a descriptor signature is never valid as anything else. */
static size_t desc_signed_msg(uint8_t msg[DESC_DOMAIN_LEN + DESC_BODY_MAX], const uint8_t *body,
                              size_t n)
{
	memcpy(msg, DESC_SIG_DOMAIN, DESC_DOMAIN_LEN);
	memcpy(msg + DESC_DOMAIN_LEN, body, n);
	return DESC_DOMAIN_LEN + n;
}

int desc_decode(const uint8_t *p, size_t len, struct descriptor *d)
{
	uint8_t msg[DESC_DOMAIN_LEN + DESC_BODY_MAX];
	struct rbuf b;
	size_t body;
	int r;

	if (len > DESC_MAX_LEN)
		return -DESC_E_LONG;
	rbuf_init(&b, p, len);
	if ((r = desc_parse_body(&b, d)) < 0)
		return r;
	body = b.pos;
	DESC_GET(buf_get_bytes(&b, d->sig, DESC_SIG_LEN));
	if (rbuf_left(&b))
		return -DESC_E_LONG;
	if (crypto_sign_verify_detached(d->sig, msg, desc_signed_msg(msg, p, body), d->identity))
		return -DESC_E_SIG;
	return 0;
}

static int desc_put_str(struct wbuf *b, const char *s)
{
	size_t n = strnlen(s, DESC_MAX_STR);

	return buf_put_u8(b, (uint8_t)n) < 0 || buf_put_bytes(b, s, n) < 0 ? -DESC_E_LONG : 0;
}

static int desc_put_endpoint(struct wbuf *b, const struct desc_endpoint *e)
{
	int fam = addr_family(&e->addr), r = 0;

	r |= buf_put_u8(b, e->transport);
	switch (e->transport) {
	case DESC_T_UDP:
	case DESC_T_TCP:
	case DESC_T_TLS:
		if (fam != AF_INET && fam != AF_INET6)
			return -DESC_E_ADDR;
		r |= buf_put_u8(b, fam == AF_INET ? 4 : 6);
		if (fam == AF_INET)
			r |= buf_put_bytes(b, &e->addr.in.sin_addr, 4);
		else
			r |= buf_put_bytes(b, &e->addr.in6.sin6_addr, 16);
		r |= buf_put_u16(b, addr_port(&e->addr));
		break;
	case DESC_T_WSS:
	case DESC_T_ONION:
		r |= desc_put_str(b, e->host);
		r |= buf_put_u16(b, e->port);
		if (e->transport == DESC_T_WSS)
			r |= desc_put_str(b, e->path);
		break;
	default:
		return -DESC_E_TRANSPORT;
	}
	return r ? -DESC_E_LONG : 0;
}

/*
 * The bytes before the signature, then checked by the decoder's own rules, so a relay never
 * signs what others refuse. Length or -DESC_E_*.
 */
static int desc_encode_body(const struct descriptor *d, uint8_t out[DESC_BODY_MAX])
{
	size_t cc = strnlen(d->country, sizeof(d->country));
	struct descriptor check;
	struct wbuf b;
	struct rbuf rb;
	int r = 0;

	if (cc == 1 || cc == 3)
		return -DESC_E_COUNTRY;
	if (d->n_endpoints > DESC_MAX_ENDPOINTS)
		return -DESC_E_ENDPOINTS;
	wbuf_init(&b, out, DESC_BODY_MAX);
	r |= buf_put_bytes(&b, DESC_MAGIC, 4);
	r |= buf_put_u8(&b, DESC_VERSION);
	r |= buf_put_u8(&b, d->has_location ? DESC_FLAG_LOCATION : 0);
	r |= buf_put_bytes(&b, d->identity, 32);
	r |= buf_put_bytes(&b, d->noise, 32);
	r |= buf_put_u64(&b, d->seq);
	r |= buf_put_u64(&b, d->issued_at);
	r |= buf_put_u64(&b, d->expires_at);
	r |= buf_put_u8(&b, d->modes);
	r |= buf_put_u8(&b, d->auth);
	r |= buf_put_u32(&b, d->max_circuits);
	r |= buf_put_u32(&b, d->bandwidth_kbps);
	r |= buf_put_u16(&b, d->load_permille);
	r |= buf_put_u32(&b, d->uptime_s);
	r |= desc_put_str(&b, d->version);
	r |= cc ? buf_put_bytes(&b, d->country, 2) : buf_put_zero(&b, 2);
	if (d->has_location) {
		r |= buf_put_u32(&b, (uint32_t)d->lat_e6);
		r |= buf_put_u32(&b, (uint32_t)d->lon_e6);
	}
	r |= desc_put_str(&b, d->family);
	r |= buf_put_u8(&b, d->n_endpoints);
	if (r)
		return -DESC_E_LONG;
	for (uint8_t i = 0; i < d->n_endpoints; i++)
		if ((r = desc_put_endpoint(&b, &d->endpoints[i])) < 0)
			return r;
	rbuf_init(&rb, out, b.pos);
	if ((r = desc_parse_body(&rb, &check)) < 0)
		return r;
	return (int)b.pos;
}

static int desc_finish(const uint8_t *body, int n, const uint8_t sig[DESC_SIG_LEN], uint8_t *out,
                       size_t cap)
{
	if (n < 0)
		return n;
	if (cap < (size_t)n + DESC_SIG_LEN)
		return -ENOBUFS;
	memcpy(out, body, (size_t)n);
	memcpy(out + n, sig, DESC_SIG_LEN);
	return n + DESC_SIG_LEN;
}

int desc_sign(struct descriptor *d, const uint8_t sk[64], uint8_t *out, size_t cap)
{
	uint8_t body[DESC_BODY_MAX], msg[DESC_DOMAIN_LEN + DESC_BODY_MAX];
	int n;

	if (memcmp(sk + 32, d->identity, 32) != 0)
		return -EINVAL;
	n = desc_encode_body(d, body);
	if (n < 0)
		return n;
	crypto_sign_detached(d->sig, NULL, msg, desc_signed_msg(msg, body, (size_t)n), sk);
	return desc_finish(body, n, d->sig, out, cap);
}

int desc_encode(const struct descriptor *d, uint8_t *out, size_t cap)
{
	uint8_t body[DESC_BODY_MAX];

	return desc_finish(body, desc_encode_body(d, body), d->sig, out, cap);
}

int desc_check_time(const struct descriptor *d, uint64_t now)
{
	if (d->issued_at > now && d->issued_at - now > DESC_MAX_SKEW_S)
		return -DESC_E_FUTURE;
	if (d->expires_at <= now)
		return -DESC_E_EXPIRED;
	return 0;
}
