/* policy.h: where the relay may send (DESIGN.md "Admission and limits"). */
#ifndef WGR_POLICY_H
#define WGR_POLICY_H

#include <stdbool.h>

#include "addr.h"

struct policy {
	/* Private-use, shared (100.64/10), ULA, site-local, local-use NAT64, documentation and
	 * benchmarking ranges (POLICY_PRIVATE): private networks and test worlds. */
	bool allow_private;
	bool allow_loopback; /* 127/8, ::1: tests and benchmarks on one machine only */
};

/* Classes (addr.h) no setting opens. */
#define POLICY_ALWAYS                                                                              \
	(ADDR_UNSPECIFIED | ADDR_LINKLOCAL | ADDR_MULTICAST | ADDR_BROADCAST | ADDR_RESERVED)
/* Classes allow_private opens. */
#define POLICY_PRIVATE (ADDR_PRIVATE | ADDR_DOCUMENTATION | ADDR_BENCHMARKING)

/*
 * May the relay send to a (a forward target or a reply)? Never to port 0, nor to an address
 * that is not globally reachable by the IANA special-purpose registries (addr_classify), in any
 * spelling: POLICY_ALWAYS never, loopback and POLICY_PRIVATE only when configured. Returns the
 * class bits that forbid it, or 0 when allowed. Called per forwarded datagram: a table lookup
 * of a few comparisons (see addr.c).
 */
unsigned policy_forbids(const struct policy *p, const struct addr *a);

#endif
