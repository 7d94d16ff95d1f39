/*
 * srccount.h: connections counted per source (an IPv4 address, an IPv6 /64), for the
 * MaxConnectionsPerSource of the stream listeners (streams.c) and the libp2p listener
 * (libp2p.c). An entry lives in its owner's table while something is counted on it.
 */
#ifndef WGR_SRCCOUNT_H
#define WGR_SRCCOUNT_H

#include <stdint.h>

#include "addr.h"
#include "table.h"

struct srccount {
	uint8_t id[9]; /* family, then the address or the /64 */
	uint64_t hash;
	uint32_t n; /* connections: the caller counts up, srccount_put down */
};

/*
 * The entry of a's source in t, created with n = 0 when missing. NULL: refuse (out of
 * memory, or another source's entry under the same keyed hash, which is chance).
 */
struct srccount *srccount_get(struct table *t, const struct addr *a);
/* One connection of src ended: the entry goes when none is left. NULL is ignored. */
void srccount_put(struct table *t, struct srccount *src);

#endif
