/*
 * replay.h: sliding-window replay protection for 64-bit counters (PROTOCOL.md §5.3): a 2048-bit
 * ring bitmap, WireGuard's algorithm (RFC 6479). Check before decrypting to save work; accept
 * only after the frame authenticated.
 */
#ifndef WGR_REPLAY_H
#define WGR_REPLAY_H

#include <stdbool.h>
#include <stdint.h>

#define REPLAY_BITS         2048
#define REPLAY_WINDOW       (REPLAY_BITS - 64) /* counters this far behind the newest still pass */
#define REPLAY_REJECT_AFTER (UINT64_MAX - REPLAY_BITS)

struct replay {
	uint64_t top; /* newest counter seen + 1; 0 = none yet */
	uint64_t bits[REPLAY_BITS / 64];
};

void replay_init(struct replay *r);
/* Would counter be accepted now? Does not change r. */
bool replay_check(const struct replay *r, uint64_t counter);
/* Accept counter: false (and r unchanged) if it is too old, a repeat, or past the limit. */
bool replay_accept(struct replay *r, uint64_t counter);

#endif
