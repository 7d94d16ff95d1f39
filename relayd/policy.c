/* policy.c: forward-target policy (see policy.h). */
#include <string.h>

#include <netinet/in.h>

#include "addr.h"
#include "policy.h"

/*
 * Teredo (2001:0::/32) carries the client's IPv4 address inverted in its last 32 bits; a
 * Teredo relay on the path would deliver to it, so classify that IPv4 address too. The other
 * embedded spellings (mapped, compatible, NAT64, 6to4) are classified by addr_classify.
 */
static unsigned policy_teredo_class(const struct addr *a)
{
	const uint8_t *b = a->in6.sin6_addr.s6_addr;
	struct addr v4;

	if (addr_family(a) != AF_INET6 || b[0] != 0x20 || b[1] != 0x01 || b[2] || b[3])
		return 0;
	memset(&v4, 0, sizeof(v4));
	v4.in.sin_family = AF_INET;
	v4.in.sin_port = a->in6.sin6_port;
	for (int i = 0; i < 4; i++)
		((uint8_t *)&v4.in.sin_addr.s_addr)[i] = (uint8_t)~b[12 + i];
	v4.len = sizeof(v4.in);
	return addr_classify(&v4);
}

unsigned policy_forbids(const struct policy *p, const struct addr *a)
{
	unsigned cls = addr_classify(a) | policy_teredo_class(a), forbidden;

	if (addr_port(a) == 0)
		return ADDR_UNSPECIFIED;
	forbidden =
	    ADDR_UNSPECIFIED | ADDR_LINKLOCAL | ADDR_MULTICAST | ADDR_BROADCAST | ADDR_RESERVED;
	if (!p->allow_loopback)
		forbidden |= ADDR_LOOPBACK;
	if (!p->allow_private)
		forbidden |= ADDR_PRIVATE;
	return cls & forbidden;
}
