/* policy.c: forward-target policy (see policy.h). */
#include "addr.h"
#include "policy.h"

/*
 * addr_classify unwraps every IPv4 address embedded in IPv6 (mapped, compatible, translated,
 * NAT64, 6to4 and Teredo), so one class test covers every spelling.
 */
unsigned policy_forbids(const struct policy *p, const struct addr *a)
{
	unsigned forbidden = POLICY_ALWAYS;

	if (addr_port(a) == 0)
		return ADDR_UNSPECIFIED;
	if (!p->allow_loopback)
		forbidden |= ADDR_LOOPBACK;
	if (!p->allow_private)
		forbidden |= POLICY_PRIVATE;
	return addr_classify(a) & forbidden;
}
