/*
 * memo.h: results the simulator computes once and reuses because the real code would compute
 * the very same bytes again. Each is a link-time wrap (ld --wrap, as cmocka mocks are made)
 * around a function the real code calls, so the real code runs unchanged and the figures are
 * the ones it gives; only the CPU time differs, and docs/SCALE.md says where.
 *
 * - X25519: sid_derive (common/sid.c) computes X25519(our WireGuard key, peer key) again for
 *   every relay it derives a sid for; the pair's shared secret never changes. The last few
 *   (scalar, point) -> result triples are kept.
 */
#ifndef WGR_NETSIM_MEMO_H
#define WGR_NETSIM_MEMO_H

#include <stdint.h>

struct memo_stats {
	uint64_t x25519_calls, x25519_hits;
};

/* Counters of the memos so far (also what makes the linker keep this file's wraps). */
const struct memo_stats *memo_stats(void);

#endif
