/* policy.h: where the relay may send (DESIGN.md "Admission and limits"). */
#ifndef WGR_POLICY_H
#define WGR_POLICY_H

#include <stdbool.h>

struct addr;

struct policy {
	bool allow_private;  /* 10/8, 172.16/12, 192.168/16, 100.64/10, fc00::/7 */
	bool allow_loopback; /* tests and benchmarks on one machine only */
};

/*
 * May the relay send to a (a forward target or a reply)? Never to unspecified, link-local,
 * multicast, broadcast or reserved addresses in any spelling; loopback and private only when
 * configured. Returns the class bit that forbids it, or 0 when allowed.
 */
unsigned policy_forbids(const struct policy *p, const struct addr *a);

#endif
