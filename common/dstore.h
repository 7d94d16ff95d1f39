/*
 * dstore.h: the bounded store of verified relay descriptors (docs/PROTOCOL.md §9), keyed
 * by identity. Sans-I/O: the caller passes the time.
 *
 * Decoding and signature checking happen before the store: a descriptor enters as a
 * dstore_desc, an immutable, reference-counted pair of the decoded struct and its exact encoded
 * bytes (so forwarding never re-encodes, and several stores, e.g. simulated relays, can share
 * one copy). The store checks times (expired, too far in the future) and sequence numbers.
 *
 * Layout: 256 buckets by identity[0] (the anti-entropy buckets of §10.5 DIGEST), each a sorted array of
 * entries. One structure serves lookup (binary search within a bucket: O(log n)), paging in
 * identity order for DISCOVER (binary search, then a walk: O(log n + k)) and the bucket digests
 * (recomputed lazily per changed bucket). Insert and remove move the tail of one bucket's array:
 * O(n / 256) on average, O(n) if identities were ground into one bucket. A min-heap on
 * expires_at gives expiry and eviction (the entry expiring soonest) in O(log n).
 *
 * Memory: DSTORE_ENTRY_BYTES per entry in the store itself (pool entry 16, heap slot 4, bucket
 * slot 8; arrays grow by an eighth, so up to that much more while growing), plus the shared
 * dstore_desc (sizeof(struct dstore_desc), about 1.7 KB on x86-64, + the encoded length, at most
 * DESC_MAX_LEN) while any store holds it: 100,000 descriptors take about 2.8 MB + 190 to 270 MB.
 */
#ifndef WGR_DSTORE_H
#define WGR_DSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "descriptor.h"

#define DSTORE_DEFAULT_CAPACITY 100000
/* The per-prefix cap a relay should set (dstore_set_prefix_cap): descriptors naming one IPv4
 * /24 or IPv6 /48, so one network cannot fill the store with identities it makes up. */
#define DSTORE_PER_PREFIX 32
#define DSTORE_BUCKETS    256
#define DSTORE_DIGEST_LEN 8

/* A verified descriptor and its encoded bytes. Immutable once made; shared by reference. */
struct dstore_desc {
	uint32_t refs;
	uint16_t len; /* of bytes[] */
	struct descriptor d;
	uint8_t bytes[]; /* exactly as signed and received */
};

/*
 * Decode and verify bytes (desc_decode) into a new dstore_desc with one reference. Returns 0,
 * -EBADMSG with *why set to the enum desc_err naming the malformation (times are not checked
 * here), or -ENOMEM. (-DESC_E_* would collide with -ENOMEM, hence *why.)
 */
int dstore_desc_new(struct dstore_desc **out, const uint8_t *bytes, size_t len, int *why);
/*
 * Wrap a descriptor the caller has already decoded and verified from bytes (no check is made
 * here: a simulator that verified once may share it). 0, -EINVAL (len 0 or > DESC_MAX_LEN)
 * or -ENOMEM.
 */
int dstore_desc_wrap(struct dstore_desc **out, const struct descriptor *d, const uint8_t *bytes,
                     size_t len);
/* Take one more reference; returns dd. */
struct dstore_desc *dstore_desc_ref(struct dstore_desc *dd);
/* Drop one reference; the last one frees. NULL is a no-op. */
void dstore_desc_unref(struct dstore_desc *dd);

/* What dstore_insert did (non-negative; errors are -errno). */
enum dstore_result {
	DSTORE_NEW = 0,     /* identity not held before; stored */
	DSTORE_UPDATED,     /* replaced a lower seq */
	DSTORE_STALE,       /* seq lower than or equal to the one held; refused */
	DSTORE_EXPIRED,     /* expires_at <= now; refused */
	DSTORE_FUTURE,      /* issued_at > now + DESC_MAX_SKEW_S; refused */
	DSTORE_FULL,        /* at capacity and nothing held expires sooner than it; refused */
	DSTORE_PREFIX_FULL, /* a new identity in a /24 or /48 at its cap; refused */
	DSTORE_RESULT_MAX
};

/* "new", "updated", "stale", ... for logs and metrics labels. */
const char *dstore_result_name(int r);

struct dstore_stats {
	uint64_t count;                       /* entries held now */
	uint64_t capacity;                    /* entries at most */
	uint64_t inserted[DSTORE_RESULT_MAX]; /* insert outcomes */
	uint64_t evicted;                     /* dropped to make room (expiring soonest) */
	uint64_t expired;                     /* dropped by dstore_expire */
};

/* What changed in the store, for a watch function. */
enum dstore_event {
	DSTORE_EV_ADDED = 0, /* a new identity: dd is the new entry */
	DSTORE_EV_REPLACED,  /* a higher seq: dd is the new entry */
	DSTORE_EV_EXPIRED,   /* dd left: dstore_expire */
	DSTORE_EV_EVICTED,   /* dd left: room for a descriptor that lives longer */
	DSTORE_EV_REMOVED,   /* dd left: dstore_remove */
};

/*
 * Told of every change after it is made (dd is valid for the call; take a reference to keep
 * it). It must not change the store.
 */
typedef void (*dstore_watch_fn)(void *ctx, int event, const struct dstore_desc *dd);

struct dstore;

/* A store of at most capacity entries (0: DSTORE_DEFAULT_CAPACITY). 0 or -ENOMEM. */
int dstore_new(struct dstore **out, size_t capacity);
/* Drops every entry's reference (no watch calls). NULL is a no-op. */
void dstore_free(struct dstore *s);
/* Call fn (NULL: none) on every change from now on. */
void dstore_set_watch(struct dstore *s, dstore_watch_fn fn, void *ctx);
/*
 * Hold at most cap identities (0, the default of dstore_new: no cap) whose descriptor's prefix
 * (dstore_prefix) is the same; a new identity past it is refused as DSTORE_PREFIX_FULL, while
 * a higher seq of an identity held is always taken (even when it moves to a full prefix).
 * Entries held already stay (the counts are kept whether a cap is set or not).
 */
void dstore_set_prefix_cap(struct dstore *s, size_t cap);
/*
 * The prefix a descriptor counts under: the IPv4 /24 or IPv6 /48 of its first UDP endpoint,
 * else of its first TCP or TLS one; 0 when it names no address (WSS hosts, onions: uncapped).
 */
uint64_t dstore_prefix(const struct descriptor *d);
/* Identities held under prefix p (a dstore_prefix value). */
size_t dstore_prefix_count(const struct dstore *s, uint64_t p);

/*
 * Offer dd (verified, see above) at now (Unix seconds). On DSTORE_NEW and DSTORE_UPDATED the
 * store takes its own reference (the caller keeps its one either way); when full, the entry
 * expiring soonest is evicted if it expires before dd does. Returns enum dstore_result or
 * -ENOMEM.
 */
int dstore_insert(struct dstore *s, struct dstore_desc *dd, uint64_t now);
/*
 * dstore_insert of n descriptors at once (a store restored or preloaded whole), best sorted by
 * identity so each lands at its bucket's end. Room for all is made first, sized exactly
 * rather than by doubling. Returns how many were stored (new or updated), -EINVAL or -ENOMEM.
 */
int dstore_load(struct dstore *s, struct dstore_desc *const *dd, size_t n, uint64_t now);
/* Drop every entry with expires_at <= now (Unix seconds); returns how many. O(k log n). */
size_t dstore_expire(struct dstore *s, uint64_t now);
/*
 * Start loading what a lookup of identity will read, one level per stage (0: the bucket, 1: its
 * sorted slots, 2: the entry found, 3: its descriptor), each stage called once the one before
 * had time to arrive. Only a hint to the processor: nothing is changed or returned. A caller
 * handling many stores in turn (a simulator of thousands of relays, a batch of datagrams) hides
 * the cache misses of the next lookups behind the current one.
 */
void dstore_prefetch(const struct dstore *s, const uint8_t identity[32], int stage);
/* Remove identity's entry: 0 or -ENOENT. */
int dstore_remove(struct dstore *s, const uint8_t identity[32]);

/*
 * The entry for identity, or NULL. The pointer stays valid until the next call that changes the
 * store; take a reference (dstore_desc_ref) to keep it longer. Never change what it points to.
 */
struct dstore_desc *dstore_get(const struct dstore *s, const uint8_t identity[32]);
/* The seq held for identity, or 0 when none is held (descriptors are signed with seq >= 1). */
uint64_t dstore_seq(const struct dstore *s, const uint8_t identity[32]);
size_t dstore_count(const struct dstore *s);
size_t dstore_capacity(const struct dstore *s);
const struct dstore_stats *dstore_stats(const struct dstore *s);

/* Filter for dstore_page: true keeps the entry. */
typedef bool (*dstore_filter_fn)(const struct dstore_desc *dd, void *ctx);

/*
 * DISCOVER paging (§10.4): up to max entries in identity order, strictly after `after`
 * (NULL or all zero: from the start), that pass filter (NULL: all), into out[]. *next is set
 * to the identity to continue after, or zeroed when the walk reached the end. Entries that
 * filter refuses are skipped but bounded: at most `scan` entries are looked at (0: no bound),
 * so a selective filter cannot make one call walk the whole store. Returns the count filled.
 * Pointers as dstore_get.
 */
size_t dstore_page(const struct dstore *s, const uint8_t after[32], dstore_filter_fn filter,
                   void *ctx, const struct dstore_desc **out, size_t max, size_t scan,
                   uint8_t next[32]);

/* Entries in bucket b (identity[0] == b). */
size_t dstore_bucket_count(const struct dstore *s, uint8_t b);
/*
 * The i-th entry (0-based, identity order) of bucket b, or NULL past the end. Pointer as
 * dstore_get.
 */
const struct dstore_desc *dstore_bucket_at(const struct dstore *s, uint8_t b, size_t i);
/* Index in bucket identity[0] of the first entry whose identity is >= identity. */
size_t dstore_bucket_lower(const struct dstore *s, const uint8_t identity[32]);
/*
 * The anti-entropy hash of bucket b (§10.5 DIGEST): the first 8 bytes of BLAKE2b-256 over the bucket's
 * identity (32) ‖ seq (8, big-endian) pairs in identity order; all zero for an empty bucket.
 * Recomputed only when the bucket changed since the last call (hence s is not const).
 */
void dstore_digest(struct dstore *s, uint8_t b, uint8_t out[DSTORE_DIGEST_LEN]);

/* dstore_mark_endpoints looks at most this many addresses. */
#define DSTORE_MARK_MAX 128
/*
 * Which of the addresses a[0..n) is the UDP (control) endpoint of a descriptor in s that has not
 * expired at now (Unix seconds): known[i] is set for each, and left as it is for the others
 * (an address already known is not looked for). Only the first DSTORE_MARK_MAX addresses count.
 * The addresses may come from anyone (a DHT answer): they go into a table keyed by key (16
 * random bytes), so no choice of them makes the one pass over the store slower. Returns how
 * many it set.
 */
size_t dstore_mark_endpoints(const struct dstore *s, const struct addr *a, size_t n, bool *known,
                             const uint8_t key[16], uint64_t now);

/* Store bytes per entry (64-bit), beside the shared dstore_desc (see the header comment). */
#define DSTORE_ENTRY_BYTES 28

#endif
