/* memo.c: the link-time wraps of memo.h. */
#include "memo.h"

#include <string.h>

#include <sodium.h>

/* ld --wrap: calls to crypto_scalarmult land here, the library's function is __real_. */
int __real_crypto_scalarmult(unsigned char *q, const unsigned char *n, const unsigned char *p);
int __wrap_crypto_scalarmult(unsigned char *q, const unsigned char *n, const unsigned char *p);

#define MEMO_X25519_SLOTS 4

static struct {
	unsigned char n[32], p[32], q[32];
	int ret, used;
} slots[MEMO_X25519_SLOTS];
static unsigned next_slot;
static struct memo_stats st;

const struct memo_stats *memo_stats(void)
{
	return &st;
}

int __wrap_crypto_scalarmult(unsigned char *q, const unsigned char *n, const unsigned char *p)
{
	st.x25519_calls++;
	for (unsigned i = 0; i < MEMO_X25519_SLOTS; i++)
		if (slots[i].used && memcmp(slots[i].n, n, 32) == 0 &&
		    memcmp(slots[i].p, p, 32) == 0) {
			st.x25519_hits++;
			memcpy(q, slots[i].q, 32);
			return slots[i].ret;
		}
	unsigned i = next_slot++ % MEMO_X25519_SLOTS;
	slots[i].ret = __real_crypto_scalarmult(slots[i].q, n, p);
	memcpy(slots[i].n, n, 32);
	memcpy(slots[i].p, p, 32);
	slots[i].used = 1;
	memcpy(q, slots[i].q, 32);
	return slots[i].ret;
}
