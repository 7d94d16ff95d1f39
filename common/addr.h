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

/*
 * Classes, as a bit set (0: an ordinary, globally reachable address). addr.c holds the table
 * they come from: the IANA IPv4 and IPv6 special-purpose address registries plus multicast, the
 * deprecated IPv6 site-local and IPv4-compatible/-translated blocks and the IPv6 space outside
 * 2000::/3. An IPv4 address embedded in IPv6 is classified as that IPv4 address: v4-mapped
 * (::ffff:0:0/96), IPv4-translated (::ffff:0:0:0/96), v4-compatible (::/96 but :: and ::1),
 * NAT64 (64:ff9b::/96; 64:ff9b:1::/48 is private itself and carries the address in its last
 * 32 bits), 6to4 (2002::/16) and Teredo (2001::/32, the client address inverted in the last 32
 * bits). The most specific table entry wins (192.0.0.9 is public inside 192.0.0.0/24).
 */
enum addr_class {
	ADDR_UNSPECIFIED = 1 << 0, /* 0.0.0.0/8, :: */
	ADDR_LOOPBACK = 1 << 1,    /* 127/8, ::1 */
	/* 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7, fec0::/10, 64:ff9b:1::/48 */
	ADDR_PRIVATE = 1 << 2,
	ADDR_LINKLOCAL = 1 << 3, /* 169.254/16, fe80::/10 */
	ADDR_MULTICAST = 1 << 4, /* 224/4, ff00::/8 */
	ADDR_BROADCAST = 1 << 5, /* 255.255.255.255 */
	/* 240/4, 192.0.0/24, 192.88.99/24, 100::/64, 2001::/23, IPv6 outside 2000::/3, ... */
	ADDR_RESERVED = 1 << 6,
	/* 192.0.2/24, 198.51.100/24, 203.0.113/24, 2001:db8::/32, 3fff::/20 */
	ADDR_DOCUMENTATION = 1 << 7,
	ADDR_BENCHMARKING = 1 << 8, /* 198.18/15, 2001:2::/48 */
};
unsigned addr_classify(const struct addr *a);
/* Human name of the first class bit set, e.g. "loopback"; "public" for 0. */
const char *addr_class_name(unsigned classes);

/* The table behind addr_classify, for tests and diagnostics. */
enum addr_reach {
	ADDR_REACH_NO,  /* registry: "Globally Reachable" False (or not in a special registry) */
	ADDR_REACH_YES, /* registry: True */
	ADDR_REACH_NA,  /* registry: N/A or blank (6to4, Teredo, the deprecated blocks) */
};
enum addr_embed {
	ADDR_EMBED_NONE,
	ADDR_EMBED_LAST32, /* IPv4 address in the last 32 bits */
	ADDR_EMBED_6TO4,   /* IPv4 address in bits 16..47 */
	ADDR_EMBED_TEREDO, /* IPv4 address inverted in the last 32 bits */
};
struct addr_special {
	const char *prefix; /* network address, as inet_pton reads it */
	uint8_t len;        /* prefix length */
	uint8_t reach;      /* enum addr_reach */
	uint8_t embed;      /* enum addr_embed */
	uint16_t cls;       /* enum addr_class bits, ORed with the embedded IPv4 address's */
	const char *name;   /* the registry's name */
	const char *ref;    /* RFC, or the registry the entry comes from when not a special one */
};
/* The entries of one family (AF_INET or AF_INET6), n set to their number. */
const struct addr_special *addr_special_table(int family, size_t *n);
/* The most specific entry containing a (as spelled: embedded IPv4 is not looked at), or NULL. */
const struct addr_special *addr_special_find(const struct addr *a);

#endif
