/* ratelimit.h: token buckets, alone and in a fixed-size table keyed by source address. */
#ifndef WGR_RATELIMIT_H
#define WGR_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct addr;

/* Tokens are kept in thousandths so low rates refill smoothly. */
struct tbucket {
	uint64_t tokens_milli;
	uint64_t last_ms;
	uint64_t rate;  /* tokens per second; 0 = unlimited */
	uint64_t burst; /* maximum tokens */
};

void tbucket_init(struct tbucket *b, uint64_t rate_per_s, uint64_t burst, uint64_t now_ms);
/* Take n tokens if there are enough; false (nothing taken) otherwise. */
bool tbucket_take(struct tbucket *b, uint64_t n, uint64_t now_ms);

/*
 * Per-source limiter: IPv4 by address, IPv6 by /64, in an open-addressed table of fixed size
 * (no allocation after ratelimit_new). When the table is full, the stalest entry is reused.
 */
struct ratelimit;
int ratelimit_new(struct ratelimit **out, size_t entries, uint64_t rate_per_s, uint64_t burst);
void ratelimit_free(struct ratelimit *rl);
bool ratelimit_allow(struct ratelimit *rl, const struct addr *src, uint64_t now_ms);
/* Change rate and burst (reload); existing buckets keep their tokens, capped at burst. */
void ratelimit_set(struct ratelimit *rl, uint64_t rate_per_s, uint64_t burst);

#endif
