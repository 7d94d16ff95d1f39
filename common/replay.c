/* replay.c: sliding-window replay protection (see replay.h). */
#include <string.h>

#include "replay.h"

#define REPLAY_WORDS (REPLAY_BITS / 64)

void replay_init(struct replay *r)
{
	memset(r, 0, sizeof(*r));
}

bool replay_check(const struct replay *r, uint64_t counter)
{
	uint64_t c = counter + 1;

	if (counter >= REPLAY_REJECT_AFTER)
		return false;
	if (c > r->top)
		return true;
	if (r->top - c >= REPLAY_WINDOW)
		return false;
	return !(r->bits[(c >> 6) & (REPLAY_WORDS - 1)] & (1ULL << (c & 63)));
}

bool replay_accept(struct replay *r, uint64_t counter)
{
	uint64_t c = counter + 1, word;

	if (!replay_check(r, counter))
		return false;
	if (c > r->top) {
		uint64_t cur = r->top >> 6, idx = c >> 6, n = idx - cur;

		/* Clear the words the window slides over (all of them after a big jump). */
		if (n > REPLAY_WORDS)
			n = REPLAY_WORDS;
		for (uint64_t i = 1; i <= n; i++)
			r->bits[(cur + i) & (REPLAY_WORDS - 1)] = 0;
		r->top = c;
	}
	word = (c >> 6) & (REPLAY_WORDS - 1);
	r->bits[word] |= 1ULL << (c & 63);
	return true;
}
