/* addr.h: socket addresses: parse, format, compare, hash and classify. */
#ifndef WGR_ADDR_H
#define WGR_ADDR_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

struct addr {
	union {
		struct sockaddr sa;
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	};
	socklen_t len; /* 0 when unset */
};

/* "[v6]:port" plus '\0' fits */
#define ADDR_STRLEN 64

/*
 * Parse "a.b.c.d:port", "[v6]:port", or (when default_port != 0) a bare address. No DNS.
 * Returns 0, -EINVAL for bad syntax, -ERANGE for a bad port. Port 0 is -ERANGE (it names no
 * peer). Scope ids ("[fe80::1%eth0]:1") are -EINVAL: link-local peers are never relay endpoints.
 * A bare IPv6 address (no brackets) is accepted only as an address without port.
 */
int addr_parse(struct addr *a, const char *s, uint16_t default_port);
/* Format as "a.b.c.d:port" or "[v6]:port" into buf (ADDR_STRLEN is enough); returns buf. */
char *addr_format(const struct addr *a, char *buf, size_t len);
/* Address only, no port. */
char *addr_format_ip(const struct addr *a, char *buf, size_t len);

void addr_from_sockaddr(struct addr *a, const struct sockaddr *sa, socklen_t len);
uint16_t addr_port(const struct addr *a);
void addr_set_port(struct addr *a, uint16_t port);
int addr_family(const struct addr *a);
/* An IPv4-mapped IPv6 address (::ffff:a.b.c.d) becomes the plain IPv4 address. */
void addr_unmap(struct addr *a);
/* IPv4 becomes ::ffff:a.b.c.d, for sending from a dual-stack IPv6 socket. */
void addr_to_v6mapped(struct addr *out, const struct addr *in);

bool addr_equal(const struct addr *a, const struct addr *b); /* family, ip and port */
bool addr_equal_ip(const struct addr *a, const struct addr *b);
/* Keyed hash of ip and port (SipHash), for tables fed by outside addresses. */
uint64_t addr_hash(const struct addr *a, const uint8_t key[16]);

/* Classes, as a bit set; embedded IPv4 (v4-mapped, v4-compatible, 6to4, NAT64) is unwrapped. */
enum addr_class {
	ADDR_UNSPECIFIED = 1 << 0,   /* 0.0.0.0/8, :: */
	ADDR_LOOPBACK = 1 << 1,      /* 127/8, ::1 */
	ADDR_PRIVATE = 1 << 2,       /* 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7 */
	ADDR_LINKLOCAL = 1 << 3,     /* 169.254/16, fe80::/10 */
	ADDR_MULTICAST = 1 << 4,     /* 224/4, ff00::/8 */
	ADDR_BROADCAST = 1 << 5,     /* 255.255.255.255 */
	ADDR_RESERVED = 1 << 6,      /* 240/4 (but broadcast), 192.0.0/24, ::/128-like leftovers */
	ADDR_DOCUMENTATION = 1 << 7, /* 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32 */
};
unsigned addr_classify(const struct addr *a);
/* Human name of the first class bit set, e.g. "loopback"; "public" for 0. */
const char *addr_class_name(unsigned classes);

#endif
