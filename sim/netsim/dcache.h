/*
 * dcache.h: verified descriptors shared by every simulated relay. The gossip engine's decode
 * hook (gossip_config.decode) comes here: a descriptor whose exact bytes were verified before
 * is handed out again (one more reference to the same dstore_desc) instead of being decoded
 * and verified once per relay; new bytes go through the real dstore_desc_new (desc_decode and
 * the Ed25519 check). The outcome is the same as verifying on every receive, which is what a
 * relay does; only the CPU time is not, and it is measured on the misses.
 */
#ifndef WGR_NETSIM_DCACHE_H
#define WGR_NETSIM_DCACHE_H

#include <stddef.h>
#include <stdint.h>

#include "dstore.h"
#include "hmap.h"

struct dcache_ent {
	struct dstore_desc *dd; /* the cache's reference */
	int32_t track;          /* caller's tag (spread tracking index), -1 none */
};

struct dcache_stats {
	uint64_t calls, hits, verified, refused;
	double verify_s; /* wall time inside dstore_desc_new */
};

struct dcache {
	struct hmap map; /* signature tail -> index in ent */
	struct dcache_ent *ent;
	size_t n, cap, max;
	struct dcache_stats st;
	/* Set by the decode hook for the caller to look at after gossip_input / gossip_offer. */
	struct dstore *cur_store;      /* the receiving relay's store (set by the caller) */
	const struct dcache_ent *last; /* what the last decode returned, NULL none */
	uint64_t last_seq_before;      /* the receiving store's seq for that identity before */
};

/* An empty cache holding at most max descriptors (more are verified but not kept). */
void dcache_init(struct dcache *c, size_t max);
void dcache_free(struct dcache *c);
/*
 * The decode hook (gossip_decode_fn; ctx is the dcache): 0 with one new reference in *out, or
 * -EBADMSG with *why = enum desc_err / -ENOMEM, as dstore_desc_new.
 */
int dcache_decode(void *ctx, const uint8_t *p, size_t len, struct dstore_desc **out, int *why);
/* The entry for these exact bytes, verifying and adding them when new; NULL when invalid. */
struct dcache_ent *dcache_get(struct dcache *c, const uint8_t *p, size_t len);

#endif
