/*
 * multiaddr.c: binary and text multiaddrs, the relay's subset (multiaddr.h).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "multiaddr.h"
#include "pb.h"

/* One component as read from the binary form. */
struct ma_comp {
	uint64_t code;
	const uint8_t *v; /* value (for p2p: the peer id, without its length) */
	size_t len;
};

/*
 * A multiformats uvarint: like protobuf's but minimally encoded (a trailing 0x00 byte is
 * refused), so that each multiaddr has one binary form: 0 or -EBADMSG.
 */
static int ma_varint(struct rbuf *r, uint64_t *v)
{
	size_t start = r->pos;

	if (pb_get_varint(r, v) < 0 || r->pos - start != pb_varint_len(*v)) {
		r->pos = start;
		return -EBADMSG;
	}
	return 0;
}

/*
 * Read the next component: 1 with *c, 0 at the end, -EBADMSG (short value, bad p2p length
 * or peer id), -EPROTONOSUPPORT (a code outside the subset: its value's size is unknown, so
 * nothing after it can be read).
 */
static int ma_next(struct rbuf *r, struct ma_comp *c)
{
	struct peerid id;
	uint64_t l;
	size_t need;

	if (rbuf_left(r) == 0)
		return 0;
	if (ma_varint(r, &c->code) < 0)
		return -EBADMSG;
	switch (c->code) {
	case MA_IP4:
		need = 4;
		break;
	case MA_TCP:
		need = 2;
		break;
	case MA_IP6:
		need = 16;
		break;
	case MA_P2P_CIRCUIT:
		need = 0;
		break;
	case MA_P2P:
		if (ma_varint(r, &l) < 0 || l > PEERID_MAX)
			return -EBADMSG;
		need = (size_t)l;
		break;
	default:
		return -EPROTONOSUPPORT;
	}
	if (buf_get_ptr(r, &c->v, need) < 0)
		return -EBADMSG;
	c->len = need;
	if (c->code == MA_P2P && peerid_from_bytes(&id, c->v, c->len) < 0)
		return -EBADMSG;
	return 1;
}

int multiaddr_check(const uint8_t *ma, size_t n)
{
	struct rbuf r;
	struct ma_comp c;
	int e;

	if (n == 0 || n > MULTIADDR_MAX)
		return -EBADMSG;
	rbuf_init(&r, ma, n);
	while ((e = ma_next(&r, &c)) > 0)
		;
	return e;
}

int multiaddr_from_addr(const struct addr *a, const struct peerid *id, uint8_t *out, size_t cap)
{
	struct addr u = *a;
	struct wbuf w;
	int e = 0;

	/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; libp2p spells them /ip4. */
	addr_unmap(&u);
	wbuf_init(&w, out, cap);
	if (addr_family(&u) == AF_INET) {
		e = pb_put_varint(&w, MA_IP4);
		e = e ? e : buf_put_bytes(&w, &u.in.sin_addr, 4);
	} else if (addr_family(&u) == AF_INET6) {
		e = pb_put_varint(&w, MA_IP6);
		e = e ? e : buf_put_bytes(&w, &u.in6.sin6_addr, 16);
	} else {
		return -EAFNOSUPPORT;
	}
	e = e ? e : pb_put_varint(&w, MA_TCP);
	e = e ? e : buf_put_u16(&w, addr_port(&u));
	if (id) {
		e = e ? e : pb_put_varint(&w, MA_P2P);
		e = e ? e : pb_put_varint(&w, id->len);
		e = e ? e : buf_put_bytes(&w, id->b, id->len);
	}
	if (e)
		return -ENOBUFS;
	return (int)w.pos;
}

int multiaddr_to_addr(const uint8_t *ma, size_t n, struct addr *a)
{
	struct rbuf r;
	struct ma_comp c, ip = {0};
	int e;

	rbuf_init(&r, ma, n);
	while ((e = ma_next(&r, &c)) > 0) {
		if (c.code == MA_TCP && ip.v) {
			memset(a, 0, sizeof(*a));
			if (ip.code == MA_IP4) {
				a->in.sin_family = AF_INET;
				memcpy(&a->in.sin_addr, ip.v, 4);
				a->len = sizeof(a->in);
			} else {
				a->in6.sin6_family = AF_INET6;
				memcpy(&a->in6.sin6_addr, ip.v, 16);
				a->len = sizeof(a->in6);
			}
			addr_set_port(a, buf_load_be16(c.v));
			return 0;
		}
		/* Only an address directly followed by its port counts (not /ip4/X/udp/…/tcp/…). */
		ip = (c.code == MA_IP4 || c.code == MA_IP6) ? c : (struct ma_comp){0};
	}
	return e < 0 ? e : -ENOENT;
}

/* Append "/name" or "/name/value" to the text at *pos: 0 or -ENOBUFS. */
static int ma_put(char *out, size_t cap, size_t *pos, const char *name, const char *value)
{
	int k =
	    snprintf(out + *pos, cap - *pos, "/%s%s%s", name, value ? "/" : "", value ? value : "");

	if (k < 0 || (size_t)k >= cap - *pos)
		return -ENOBUFS;
	*pos += (size_t)k;
	return 0;
}

int multiaddr_format(const uint8_t *ma, size_t n, char *out, size_t cap)
{
	struct rbuf r;
	struct ma_comp c;
	struct peerid id;
	char v[PEERID_STR_MAX > INET6_ADDRSTRLEN ? PEERID_STR_MAX : INET6_ADDRSTRLEN];
	size_t pos = 0;
	int e;

	if ((e = multiaddr_check(ma, n)) < 0)
		return e;
	if (cap == 0)
		return -ENOBUFS;
	out[0] = '\0';
	rbuf_init(&r, ma, n);
	while ((e = ma_next(&r, &c)) > 0) {
		switch (c.code) {
		case MA_IP4:
			inet_ntop(AF_INET, c.v, v, sizeof(v));
			e = ma_put(out, cap, &pos, "ip4", v);
			break;
		case MA_IP6:
			inet_ntop(AF_INET6, c.v, v, sizeof(v));
			e = ma_put(out, cap, &pos, "ip6", v);
			break;
		case MA_TCP:
			snprintf(v, sizeof(v), "%u", (unsigned)buf_load_be16(c.v));
			e = ma_put(out, cap, &pos, "tcp", v);
			break;
		case MA_P2P:
			/* ma_next checked the id; it encodes in well under PEERID_STR_MAX. */
			peerid_from_bytes(&id, c.v, c.len);
			peerid_format(&id, v, sizeof(v));
			e = ma_put(out, cap, &pos, "p2p", v);
			break;
		default: /* MA_P2P_CIRCUIT */
			e = ma_put(out, cap, &pos, "p2p-circuit", NULL);
			break;
		}
		if (e < 0)
			return e;
	}
	return e < 0 ? e : (int)pos;
}

/* Copy the text component at s (up to '/' or the end) into tok: its length, or -EINVAL. */
static int ma_token(const char *s, char *tok, size_t cap)
{
	size_t k = strcspn(s, "/");

	if (k == 0 || k >= cap)
		return -EINVAL;
	memcpy(tok, s, k);
	tok[k] = '\0';
	return (int)k;
}

/* A port: decimal digits only, 0..65535. */
static int ma_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;
	size_t i;

	for (i = 0; s[i]; i++) {
		if (s[i] < '0' || s[i] > '9' || i >= 5)
			return -EINVAL;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (i == 0 || v > 65535)
		return -EINVAL;
	*port = (uint16_t)v;
	return 0;
}

int multiaddr_parse(const char *s, uint8_t *out, size_t cap)
{
	char name[16], val[PEERID_STR_MAX];
	uint8_t ip[16];
	uint16_t port;
	struct peerid id;
	struct wbuf w;
	int k, e;

	wbuf_init(&w, out, cap);
	if (*s != '/' || strnlen(s, 4 * MULTIADDR_MAX) >= 4 * MULTIADDR_MAX)
		return -EINVAL;
	while (*s) {
		if (*s++ != '/' || (k = ma_token(s, name, sizeof(name))) < 0)
			return -EINVAL;
		s += k;
		if (strcmp(name, "p2p-circuit") == 0) {
			e = pb_put_varint(&w, MA_P2P_CIRCUIT);
			goto next;
		}
		if (*s++ != '/' || (k = ma_token(s, val, sizeof(val))) < 0)
			return -EINVAL;
		s += k;
		if (strcmp(name, "ip4") == 0) {
			if (inet_pton(AF_INET, val, ip) != 1)
				return -EINVAL;
			e = pb_put_varint(&w, MA_IP4);
			e = e ? e : buf_put_bytes(&w, ip, 4);
		} else if (strcmp(name, "ip6") == 0) {
			if (inet_pton(AF_INET6, val, ip) != 1)
				return -EINVAL;
			e = pb_put_varint(&w, MA_IP6);
			e = e ? e : buf_put_bytes(&w, ip, 16);
		} else if (strcmp(name, "tcp") == 0) {
			if (ma_port(val, &port) < 0)
				return -EINVAL;
			e = pb_put_varint(&w, MA_TCP);
			e = e ? e : buf_put_u16(&w, port);
		} else if (strcmp(name, "p2p") == 0 || strcmp(name, "ipfs") == 0) {
			if (peerid_parse(&id, val) < 0)
				return -EINVAL;
			e = pb_put_varint(&w, MA_P2P);
			e = e ? e : pb_put_varint(&w, id.len);
			e = e ? e : buf_put_bytes(&w, id.b, id.len);
		} else {
			return -EINVAL;
		}
	next:
		if (e < 0)
			return -ENOBUFS;
	}
	if (w.pos > MULTIADDR_MAX)
		return -ENOBUFS;
	return (int)w.pos;
}
