/*
 * selfaddr.h: the helper's own public address (and so its GeoIP location, which orders the
 * relays) taken from what the relays agree on, not from one relay's word. Pure: no I/O, no
 * clock; watch.c feeds it every second.
 */
#ifndef WGR_SELFADDR_H
#define WGR_SELFADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "addr.h"

struct selfaddr_vote {
	bool known;       /* addr is our address */
	struct addr addr; /* when known */
	size_t votes;     /* observations whose IP is addr's */
	size_t total;     /* observations counted */
};

/*
 * obs[0..n): the address each relay link that is up saw us come from, as its authenticated
 * handshake response (HS_RESP) said; unset entries (len 0) are skipped. cur: the address in
 * use, NULL when none. IPs are compared, not ports (a NAT may give each relay another port);
 * IPv4-mapped IPv6 counts as IPv4.
 *   - an IP that more than half of the observations agree on wins (one relay: its word);
 *   - without such a majority, cur stays when its IP is among the most agreed-on (a tie does
 *     not move us) or when there is no observation at all (links down: nothing changed);
 *   - otherwise our address is unknown (relays rank without our location).
 * The address returned for a new majority is the first observation with that IP.
 */
struct selfaddr_vote selfaddr_decide(const struct addr *obs, size_t n, const struct addr *cur);

#endif
