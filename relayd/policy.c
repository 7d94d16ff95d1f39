/* policy.c: forward-target policy (see policy.h). */
#include "addr.h"
#include "policy.h"

unsigned policy_forbids(const struct policy *p, const struct addr *a)
{
	unsigned cls = addr_classify(a), forbidden;

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
