/*
 * wg_uapi.c: parse the "get=1" reply of the cross-platform UAPI (key=value lines, a peer
 * starting at each public_key=, errno=N last, a blank line ending it) and format set requests:
 * the update-only one, and the remove-and-add of one peer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "key.h"
#include "wg_uapi.h"

int wg_uapi_parser_init(struct wg_uapi_parser *p)
{
	memset(p, 0, sizeof(*p));
	p->state = 1;
	p->dev = wg_dev_new();
	if (!p->dev)
		return -ENOMEM;
	p->dev->backend = WG_BACKEND_UAPI;
	return 0;
}

void wg_uapi_parser_free(struct wg_uapi_parser *p)
{
	wg_free_device(p->dev);
	sodium_memzero(p->line, sizeof(p->line));
	p->dev = NULL;
	p->peer = NULL;
}

static int parse_u64(const char *s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;

	if (!*s)
		return -EBADMSG;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EBADMSG;
		if (v > (max - (uint64_t)(*s - '0')) / 10)
			return -EBADMSG;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*out = v;
	return 0;
}

static int parse_key(const char *hex, uint8_t key[WG_KEY_LEN_BYTES])
{
	size_t n = 0;

	if (strlen(hex) != 2 * WG_KEY_LEN_BYTES)
		return -EBADMSG;
	if (sodium_hex2bin(key, WG_KEY_LEN_BYTES, hex, 2 * WG_KEY_LEN_BYTES, NULL, &n, NULL) != 0 ||
	    n != WG_KEY_LEN_BYTES)
		return -EBADMSG;
	return 0;
}

static int parse_allowedip(const char *s, struct wg_allowedip *a)
{
	char ip[INET6_ADDRSTRLEN];
	const char *slash = strchr(s, '/');
	uint64_t cidr;
	size_t n;

	memset(a, 0, sizeof(*a));
	if (!slash || (n = (size_t)(slash - s)) >= sizeof(ip))
		return -EBADMSG;
	memcpy(ip, s, n);
	ip[n] = '\0';
	if (inet_pton(AF_INET, ip, &a->ip4) == 1) {
		a->family = AF_INET;
		if (parse_u64(slash + 1, 32, &cidr) < 0)
			return -EBADMSG;
	} else if (inet_pton(AF_INET6, ip, &a->ip6) == 1) {
		a->family = AF_INET6;
		if (parse_u64(slash + 1, 128, &cidr) < 0)
			return -EBADMSG;
	} else {
		return -EBADMSG;
	}
	a->cidr = (uint8_t)cidr;
	return 0;
}

/* "[v6%scope]:port" carries a zone for link-local endpoints; common/addr.c takes none. */
static int parse_endpoint(const char *val, struct addr *a)
{
	char buf[ADDR_STRLEN], scope[WG_NAME_MAX];
	const char *pct = strchr(val, '%'), *close = strchr(val, ']');
	uint64_t id;
	size_t n, sl;

	if (!pct)
		return addr_parse(a, val, 0) < 0 ? -EBADMSG : 0;
	if (val[0] != '[' || !close || close < pct || (sl = (size_t)(close - pct - 1)) == 0 ||
	    sl >= sizeof(scope) || (n = (size_t)(pct - val)) + strlen(close) >= sizeof(buf))
		return -EBADMSG;
	memcpy(buf, val, n);
	strcpy(buf + n, close);
	memcpy(scope, pct + 1, sl);
	scope[sl] = '\0';
	if (addr_parse(a, buf, 0) < 0 || addr_family(a) != AF_INET6)
		return -EBADMSG;
	if (parse_u64(scope, UINT32_MAX, &id) < 0) {
		id = if_nametoindex(scope);
		if (!id)
			return -EBADMSG;
	}
	a->in6.sin6_scope_id = (uint32_t)id;
	return 0;
}

static int device_key(struct wg_uapi_parser *p, const char *key, const char *val)
{
	struct wg_device *d = p->dev;
	uint64_t v;

	if (!strcmp(key, "private_key")) {
		if (parse_key(val, d->private_key) < 0)
			return -EBADMSG;
		/* The UAPI does not send the public key; derive it like wg(8) does. */
		if (!key_is_zero(d->private_key)) {
			key_public_from_private(d->public_key, d->private_key);
			d->flags |= WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_PUBLIC_KEY;
		}
	} else if (!strcmp(key, "listen_port")) {
		if (parse_u64(val, UINT16_MAX, &v) < 0)
			return -EBADMSG;
		d->listen_port = (uint16_t)v;
		d->flags |= WG_DEVICE_HAS_LISTEN_PORT;
	} else if (!strcmp(key, "fwmark")) {
		if (parse_u64(val, UINT32_MAX, &v) < 0)
			return -EBADMSG;
		d->fwmark = (uint32_t)v;
		d->flags |= WG_DEVICE_HAS_FWMARK;
	}
	return 0; /* unknown device keys are skipped */
}

static int peer_key(struct wg_peer *pe, const char *key, const char *val)
{
	struct wg_allowedip a;
	uint64_t v;

	if (!strcmp(key, "preshared_key")) {
		if (parse_key(val, pe->preshared_key) < 0)
			return -EBADMSG;
		if (!key_is_zero(pe->preshared_key))
			pe->flags |= WG_PEER_HAS_PRESHARED_KEY;
	} else if (!strcmp(key, "endpoint")) {
		if (parse_endpoint(val, &pe->endpoint) < 0)
			return -EBADMSG;
	} else if (!strcmp(key, "last_handshake_time_sec")) {
		if (parse_u64(val, INT64_MAX, &v) < 0)
			return -EBADMSG;
		pe->last_handshake.tv_sec = (time_t)v;
	} else if (!strcmp(key, "last_handshake_time_nsec")) {
		if (parse_u64(val, 999999999, &v) < 0)
			return -EBADMSG;
		pe->last_handshake.tv_nsec = (long)v;
	} else if (!strcmp(key, "rx_bytes")) {
		if (parse_u64(val, UINT64_MAX, &pe->rx_bytes) < 0)
			return -EBADMSG;
	} else if (!strcmp(key, "tx_bytes")) {
		if (parse_u64(val, UINT64_MAX, &pe->tx_bytes) < 0)
			return -EBADMSG;
	} else if (!strcmp(key, "persistent_keepalive_interval")) {
		if (parse_u64(val, UINT16_MAX, &v) < 0)
			return -EBADMSG;
		pe->persistent_keepalive_interval = (uint16_t)v;
		pe->flags |= WG_PEER_HAS_KEEPALIVE;
	} else if (!strcmp(key, "allowed_ip")) {
		if (parse_allowedip(val, &a) < 0)
			return -EBADMSG;
		if (wg_dev_add_allowedip(pe, &a) < 0)
			return -ENOMEM;
	}
	return 0; /* protocol_version and unknown keys are skipped */
}

static int line(struct wg_uapi_parser *p)
{
	char *eq, *key = p->line;
	uint64_t v;

	if (p->linelen == 0) /* the blank line ends the reply */
		return p->have_errno ? (p->remote_errno ? -p->remote_errno : 0) : -EBADMSG;
	p->line[p->linelen] = '\0';
	if (strlen(p->line) != p->linelen)
		return -EBADMSG; /* a NUL inside the line */
	eq = strchr(key, '=');
	if (!eq)
		return -EBADMSG;
	*eq = '\0';
	if (p->have_errno)
		return -EBADMSG; /* errno= is last */
	if (!strcmp(key, "errno")) {
		if (parse_u64(eq + 1, 4095, &v) < 0)
			return -EBADMSG;
		p->remote_errno = (int)v;
		p->have_errno = true;
		return 1;
	}
	if (!strcmp(key, "public_key")) {
		p->peer = wg_dev_add_peer(p->dev);
		if (!p->peer)
			return -ENOMEM;
		if (parse_key(eq + 1, p->peer->public_key) < 0)
			return -EBADMSG;
		p->peer->flags |= WG_PEER_HAS_PUBLIC_KEY;
		return 1;
	}
	if (p->peer)
		return peer_key(p->peer, key, eq + 1) < 0 ? -EBADMSG : 1;
	return device_key(p, key, eq + 1) < 0 ? -EBADMSG : 1;
}

int wg_uapi_parser_feed(struct wg_uapi_parser *p, const void *buf, size_t len)
{
	const char *s = buf;
	size_t i;

	for (i = 0; i < len && p->state == 1; i++) {
		if (s[i] != '\n') {
			if (p->linelen == WG_UAPI_LINE_MAX) {
				p->state = -EBADMSG;
				break;
			}
			p->line[p->linelen++] = s[i];
			continue;
		}
		p->state = line(p);
		p->linelen = 0;
	}
	return p->state;
}

int wg_uapi_format_set_peer(char *buf, size_t cap, const uint8_t pub[WG_KEY_LEN_BYTES],
                            const struct wg_peer_set *set)
{
	char hex[2 * WG_KEY_LEN_BYTES + 1], ep[ADDR_STRLEN];
	size_t pos;
	int n;

	sodium_bin2hex(hex, sizeof(hex), pub, WG_KEY_LEN_BYTES);
	/* update_only=true: never create the peer if it went away meanwhile. */
	n = snprintf(buf, cap, "set=1\npublic_key=%s\nupdate_only=true\n", hex);
	if (n < 0 || (size_t)n >= cap)
		return -ENOBUFS;
	pos = (size_t)n;
	if (set->endpoint) {
		n = snprintf(buf + pos, cap - pos, "endpoint=%s\n",
		             addr_format(set->endpoint, ep, sizeof(ep)));
		if (n < 0 || (size_t)n >= cap - pos)
			return -ENOBUFS;
		pos += (size_t)n;
	}
	if (set->set_keepalive) {
		n = snprintf(buf + pos, cap - pos, "persistent_keepalive_interval=%u\n",
		             (unsigned)set->keepalive);
		if (n < 0 || (size_t)n >= cap - pos)
			return -ENOBUFS;
		pos += (size_t)n;
	}
	if (pos + 2 > cap)
		return -ENOBUFS;
	buf[pos++] = '\n';
	buf[pos] = '\0';
	return (int)pos;
}

/* Append to buf at *pos; 0, or -ENOBUFS when it does not fit. */
static int appendf(char *buf, size_t cap, size_t *pos, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int appendf(char *buf, size_t cap, size_t *pos, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*pos >= cap)
		return -ENOBUFS;
	va_start(ap, fmt);
	n = vsnprintf(buf + *pos, cap - *pos, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap - *pos)
		return -ENOBUFS;
	*pos += (size_t)n;
	return 0;
}

/* As parse_endpoint reads it: a link-local IPv6 endpoint keeps its scope, as a number. */
static const char *format_endpoint(const struct addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	if (addr_family(a) != AF_INET6 || !a->in6.sin6_scope_id)
		return addr_format(a, buf, len);
	addr_format_ip(a, ip, sizeof(ip));
	snprintf(buf, len, "[%s%%%u]:%u", ip, (unsigned)a->in6.sin6_scope_id,
	         (unsigned)addr_port(a));
	return buf;
}

static int put_allowedip(char *buf, size_t cap, size_t *pos, const struct wg_allowedip *a)
{
	char ip[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family, a->family == AF_INET ? (const void *)&a->ip4 : &a->ip6, ip,
	               sizeof(ip)))
		return -EINVAL;
	return appendf(buf, cap, pos, "allowed_ip=%s/%u\n", ip, (unsigned)a->cidr);
}

static int put_key(char *buf, size_t cap, size_t *pos, const char *name,
                   const uint8_t key[WG_KEY_LEN_BYTES])
{
	char hex[2 * WG_KEY_LEN_BYTES + 1];
	int r;

	sodium_bin2hex(hex, sizeof(hex), key, WG_KEY_LEN_BYTES);
	r = appendf(buf, cap, pos, "%s=%s\n", name, hex);
	sodium_memzero(hex, sizeof(hex));
	return r;
}

/* The peer block that creates p; the order of wg(8)'s own set requests. */
static int put_peer(char *buf, size_t cap, size_t *pos, const struct wg_peer *p)
{
	char ep[ADDR_STRLEN + 16];
	int r = put_key(buf, cap, pos, "public_key", p->public_key);
	size_t i;

	if (r == 0 && wg_dev_has_psk(p))
		r = put_key(buf, cap, pos, "preshared_key", p->preshared_key);
	if (r == 0 && p->endpoint.len)
		r = appendf(buf, cap, pos, "endpoint=%s\n",
		            format_endpoint(&p->endpoint, ep, sizeof(ep)));
	if (r == 0)
		r = appendf(buf, cap, pos,
		            "persistent_keepalive_interval=%u\nreplace_allowed_ips=true\n",
		            (unsigned)p->persistent_keepalive_interval);
	for (i = 0; r == 0 && i < p->n_allowedips; i++)
		r = put_allowedip(buf, cap, pos, &p->allowedips[i]);
	return r;
}

static int format_request(char *buf, size_t cap, const struct wg_peer *p, bool remove)
{
	size_t pos = 0;
	int r = wg_dev_readd_check(p);

	if (r == 0)
		r = appendf(buf, cap, &pos, "set=1\n");
	if (r == 0 && remove) {
		r = put_key(buf, cap, &pos, "public_key", p->public_key);
		if (r == 0)
			r = appendf(buf, cap, &pos, "remove=true\n");
	}
	if (r == 0)
		r = put_peer(buf, cap, &pos, p);
	if (r == 0)
		r = appendf(buf, cap, &pos, "\n");
	return r < 0 ? r : (int)pos;
}

int wg_uapi_format_add_peer(char *buf, size_t cap, const struct wg_peer *p)
{
	return format_request(buf, cap, p, false);
}

int wg_uapi_format_readd_peer(char *buf, size_t cap, const struct wg_peer *p)
{
	return format_request(buf, cap, p, true);
}

size_t wg_uapi_readd_size(const struct wg_peer *p)
{
	/*
	 * Fixed lines (set=, two public_key=, remove=, preshared_key=, endpoint=, keepalive,
	 * replace_allowed_ips=, the blank line) stay under 512 bytes; an allowed_ip= line under
	 * 64 ("allowed_ip=" + INET6_ADDRSTRLEN + "/128\n").
	 */
	return 512 + 64 * p->n_allowedips;
}
