/*
 * multiaddr.h: the binary and text forms of the multiaddrs the relay speaks (multiformats
 * multiaddr): each component is a uvarint protocol code, then its value. The subset is ip4
 * (code 4, 4 bytes), tcp (6, 2 bytes big-endian), ip6 (41, 16 bytes), p2p (421, uvarint
 * length + binary peer id) and p2p-circuit (290, no value). Any other code is
 * -EPROTONOSUPPORT: a decoder stops there, and callers skip such addresses, since a peer may
 * list transports (quic, webtransport, dns) the relay has no use for.
 */
#ifndef WGR_MULTIADDR_H
#define WGR_MULTIADDR_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "peerid.h"

#define MULTIADDR_MAX 128 /* longest binary multiaddr accepted or written */

/* Multicodec codes of the subset. */
enum multiaddr_code {
	MA_IP4 = 4,
	MA_TCP = 6,
	MA_IP6 = 41,
	MA_P2P_CIRCUIT = 290,
	MA_P2P = 421,
};

/* /ip4/A/tcp/P or /ip6/A/tcp/P from a, then /p2p/ID when id is not NULL: the length, or
   -ENOBUFS, or -EAFNOSUPPORT when a is neither IPv4 nor IPv6. */
int multiaddr_from_addr(const struct addr *a, const struct peerid *id, uint8_t *out, size_t cap);
/* The first ip4|ip6 component followed directly by tcp, into a (port set): 0, -ENOENT when
   none, -EBADMSG when malformed before one is found, -EPROTONOSUPPORT when an unknown code
   comes first. */
int multiaddr_to_addr(const uint8_t *ma, size_t n, struct addr *a);
/* The whole of ma well formed in the subset (and at most MULTIADDR_MAX, not empty):
   0, -EBADMSG, -EPROTONOSUPPORT. */
int multiaddr_check(const uint8_t *ma, size_t n);
/* Text form "/ip4/192.0.2.1/tcp/4001/p2p/12D3…/p2p-circuit" with '\0': its length, or
   -EBADMSG/-EPROTONOSUPPORT as multiaddr_check, -ENOBUFS. */
int multiaddr_format(const uint8_t *ma, size_t n, char *out, size_t cap);
/* Binary form of the text s: its length, -EINVAL (bad syntax, unknown protocol name, bad
   value), -ENOBUFS. "/ipfs/" is read as "/p2p/" (its old name). */
int multiaddr_parse(const char *s, uint8_t *out, size_t cap);

#endif
