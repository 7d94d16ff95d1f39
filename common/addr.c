/* addr.c: socket addresses: parse, format, compare, hash and classify (see addr.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "addr.h"

static int addr_parse_port(const char *s, uint16_t *port)
{
	unsigned long v = 0;

	if (!*s)
		return -EINVAL;
	if (strlen(s) > 5)
		return -ERANGE;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return -EINVAL;
		v = v * 10 + (unsigned long)(*p - '0');
	}
	/* Port 0 names no peer: it is never a valid endpoint. */
	if (v == 0 || v > 65535)
		return -ERANGE;
	*port = (uint16_t)v;
	return 0;
}

static int addr_set_ip(struct addr *a, const char *ip)
{
	memset(a, 0, sizeof(*a));
	if (inet_pton(AF_INET, ip, &a->in.sin_addr) == 1) {
		a->in.sin_family = AF_INET;
		a->len = sizeof(a->in);
		return 0;
	}
	/* No scope ids ("%eth0"): link-local peers are never relay endpoints. */
	if (inet_pton(AF_INET6, ip, &a->in6.sin6_addr) == 1) {
		a->in6.sin6_family = AF_INET6;
		a->len = sizeof(a->in6);
		return 0;
	}
	return -EINVAL;
}

int addr_parse(struct addr *a, const char *s, uint16_t default_port)
{
	char ip[INET6_ADDRSTRLEN + 1];
	const char *port_s = NULL;
	uint16_t port = default_port;
	size_t iplen;
	int r;

	if (!s || !*s)
		return -EINVAL;
	if (s[0] == '[') {
		const char *end = strchr(s, ']');

		if (!end)
			return -EINVAL;
		iplen = (size_t)(end - s - 1);
		if (iplen == 0 || iplen >= sizeof(ip))
			return -EINVAL;
		memcpy(ip, s + 1, iplen);
		ip[iplen] = '\0';
		if (end[1] == ':')
			port_s = end + 2;
		else if (end[1] != '\0')
			return -EINVAL;
		if (!strchr(ip, ':'))
			return -EINVAL;
	} else {
		const char *colon = strchr(s, ':');

		if (colon && strchr(colon + 1, ':')) {
			/* A bare IPv6 address has no port. */
			iplen = strlen(s);
		} else {
			iplen = colon ? (size_t)(colon - s) : strlen(s);
			if (colon)
				port_s = colon + 1;
		}
		if (iplen == 0 || iplen >= sizeof(ip))
			return -EINVAL;
		memcpy(ip, s, iplen);
		ip[iplen] = '\0';
	}
	if (port_s) {
		r = addr_parse_port(port_s, &port);
		if (r < 0)
			return r;
	} else if (!default_port) {
		return -EINVAL;
	}
	r = addr_set_ip(a, ip);
	if (r < 0)
		return r;
	addr_set_port(a, port);
	return 0;
}

char *addr_format_ip(const struct addr *a, char *buf, size_t len)
{
	if (len == 0)
		return buf;
	buf[0] = '\0';
	if (a->sa.sa_family == AF_INET)
		inet_ntop(AF_INET, &a->in.sin_addr, buf, (socklen_t)len);
	else if (a->sa.sa_family == AF_INET6)
		inet_ntop(AF_INET6, &a->in6.sin6_addr, buf, (socklen_t)len);
	else
		snprintf(buf, len, "(none)");
	return buf;
}

char *addr_format(const struct addr *a, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN];

	addr_format_ip(a, ip, sizeof(ip));
	if (a->sa.sa_family == AF_INET)
		snprintf(buf, len, "%s:%u", ip, addr_port(a));
	else if (a->sa.sa_family == AF_INET6)
		snprintf(buf, len, "[%s]:%u", ip, addr_port(a));
	else
		snprintf(buf, len, "(none)");
	return buf;
}

void addr_from_sockaddr(struct addr *a, const struct sockaddr *sa, socklen_t len)
{
	memset(a, 0, sizeof(*a));
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		memcpy(&a->in, sa, sizeof(a->in));
		a->len = sizeof(a->in);
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		memcpy(&a->in6, sa, sizeof(a->in6));
		a->len = sizeof(a->in6);
	}
}

uint16_t addr_port(const struct addr *a)
{
	if (a->sa.sa_family == AF_INET)
		return ntohs(a->in.sin_port);
	if (a->sa.sa_family == AF_INET6)
		return ntohs(a->in6.sin6_port);
	return 0;
}

void addr_set_port(struct addr *a, uint16_t port)
{
	if (a->sa.sa_family == AF_INET)
		a->in.sin_port = htons(port);
	else if (a->sa.sa_family == AF_INET6)
		a->in6.sin6_port = htons(port);
}

int addr_family(const struct addr *a)
{
	return a->len ? a->sa.sa_family : AF_UNSPEC;
}

void addr_unmap(struct addr *a)
{
	struct sockaddr_in in;

	if (a->sa.sa_family != AF_INET6 || !IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr))
		return;
	memset(&in, 0, sizeof(in));
	in.sin_family = AF_INET;
	in.sin_port = a->in6.sin6_port;
	memcpy(&in.sin_addr, &a->in6.sin6_addr.s6_addr[12], 4);
	memset(a, 0, sizeof(*a));
	a->in = in;
	a->len = sizeof(in);
}

void addr_to_v6mapped(struct addr *out, const struct addr *in)
{
	if (in->sa.sa_family != AF_INET) {
		*out = *in;
		return;
	}
	memset(out, 0, sizeof(*out));
	out->in6.sin6_family = AF_INET6;
	out->in6.sin6_port = in->in.sin_port;
	out->in6.sin6_addr.s6_addr[10] = 0xff;
	out->in6.sin6_addr.s6_addr[11] = 0xff;
	memcpy(&out->in6.sin6_addr.s6_addr[12], &in->in.sin_addr, 4);
	out->len = sizeof(out->in6);
}

bool addr_equal_ip(const struct addr *a, const struct addr *b)
{
	if (a->sa.sa_family != b->sa.sa_family)
		return false;
	if (a->sa.sa_family == AF_INET)
		return a->in.sin_addr.s_addr == b->in.sin_addr.s_addr;
	if (a->sa.sa_family == AF_INET6)
		return memcmp(&a->in6.sin6_addr, &b->in6.sin6_addr, 16) == 0;
	return a->len == b->len;
}

bool addr_equal(const struct addr *a, const struct addr *b)
{
	return addr_equal_ip(a, b) && addr_port(a) == addr_port(b);
}

uint64_t addr_hash(const struct addr *a, const uint8_t key[16])
{
	uint8_t in[19] = {0}, out[crypto_shorthash_BYTES];
	uint16_t port = addr_port(a);
	uint64_t h = 0;

	in[0] = (uint8_t)a->sa.sa_family;
	in[1] = (uint8_t)(port >> 8);
	in[2] = (uint8_t)port;
	if (a->sa.sa_family == AF_INET)
		memcpy(in + 3, &a->in.sin_addr, 4);
	else if (a->sa.sa_family == AF_INET6)
		memcpy(in + 3, &a->in6.sin6_addr, 16);
	crypto_shorthash(out, in, sizeof(in), key);
	memcpy(&h, out, sizeof(h));
	return h;
}

static unsigned addr_classify_v4(const uint8_t b[4])
{
	uint32_t v = (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];

	if (v == 0xffffffffu)
		return ADDR_BROADCAST;
	if ((v >> 24) == 0)
		return ADDR_UNSPECIFIED;
	if ((v >> 24) == 127)
		return ADDR_LOOPBACK;
	if ((v >> 24) == 10 || (v >> 20) == 0xac1 || (v >> 16) == 0xc0a8 ||
	    (v >> 22) == (100u << 2 | 1))
		return ADDR_PRIVATE;
	if ((v >> 16) == 0xa9fe)
		return ADDR_LINKLOCAL;
	if ((v >> 28) == 0xe)
		return ADDR_MULTICAST;
	if ((v >> 28) == 0xf)
		return ADDR_RESERVED;
	if ((v >> 8) == 0xc00000)
		return ADDR_RESERVED;
	if ((v >> 8) == 0xc00002 || (v >> 8) == 0xc63364 || (v >> 8) == 0xcb0071)
		return ADDR_DOCUMENTATION;
	return 0;
}

static unsigned addr_classify_v6(const uint8_t b[16])
{
	static const uint8_t zero[12] = {0};
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t nat64[12] = {0, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0};
	int i;

	if (memcmp(b, mapped, 12) == 0 || memcmp(b, nat64, 12) == 0)
		return addr_classify_v4(b + 12);
	if (memcmp(b, zero, 12) == 0) {
		/* :: and ::1 are themselves; the rest of ::/96 is v4-compatible. */
		for (i = 12; i < 15 && b[i] == 0; i++)
			;
		if (i == 15 && b[15] == 0)
			return ADDR_UNSPECIFIED;
		if (i == 15 && b[15] == 1)
			return ADDR_LOOPBACK;
		return addr_classify_v4(b + 12);
	}
	if (b[0] == 0x20 && b[1] == 0x02)
		return addr_classify_v4(b + 2);
	if ((b[0] & 0xfe) == 0xfc)
		return ADDR_PRIVATE;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0x80)
		return ADDR_LINKLOCAL;
	if (b[0] == 0xfe && (b[1] & 0xc0) == 0xc0)
		return ADDR_PRIVATE; /* deprecated site-local */
	if (b[0] == 0xff)
		return ADDR_MULTICAST;
	if (b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8)
		return ADDR_DOCUMENTATION;
	return 0;
}

unsigned addr_classify(const struct addr *a)
{
	if (a->sa.sa_family == AF_INET)
		return addr_classify_v4((const uint8_t *)&a->in.sin_addr);
	if (a->sa.sa_family == AF_INET6)
		return addr_classify_v6(a->in6.sin6_addr.s6_addr);
	return ADDR_UNSPECIFIED;
}

const char *addr_class_name(unsigned classes)
{
	static const struct {
		unsigned bit;
		const char *name;
	} names[] = {
	    {ADDR_UNSPECIFIED, "unspecified"}, {ADDR_LOOPBACK, "loopback"},
	    {ADDR_PRIVATE, "private"},         {ADDR_LINKLOCAL, "link-local"},
	    {ADDR_MULTICAST, "multicast"},     {ADDR_BROADCAST, "broadcast"},
	    {ADDR_RESERVED, "reserved"},       {ADDR_DOCUMENTATION, "documentation"},
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (classes & names[i].bit)
			return names[i].name;
	return "public";
}
