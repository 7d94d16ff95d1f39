/* ratelimit.c: token buckets and a fixed-size per-source table (see ratelimit.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "addr.h"
#include "ratelimit.h"

/* Milli-tokens must fit in 64 bits: larger bursts and rates are clamped (still ~4.6e15/s). */
#define TB_MAX (UINT64_MAX / 1000 / 4)

static uint64_t tbucket_clamp(uint64_t v)
{
	return v > TB_MAX ? TB_MAX : v;
}

void tbucket_init(struct tbucket *b, uint64_t rate_per_s, uint64_t burst, uint64_t now_ms)
{
	rate_per_s = tbucket_clamp(rate_per_s);
	burst = tbucket_clamp(burst);
	b->rate = rate_per_s;
	b->burst = burst;
	b->tokens_milli = burst * 1000;
	b->last_ms = now_ms;
}

static void tbucket_refill(struct tbucket *b, uint64_t now_ms)
{
	uint64_t cap = b->burst * 1000, elapsed;

	if (now_ms <= b->last_ms)
		return;
	elapsed = now_ms - b->last_ms;
	b->last_ms = now_ms;
	/* rate tokens/s = rate milli-tokens/ms; clamp before multiplying to avoid overflow. */
	if (elapsed > cap / (b->rate ? b->rate : 1) + 1)
		b->tokens_milli = cap;
	else if (b->tokens_milli + elapsed * b->rate > cap)
		b->tokens_milli = cap;
	else
		b->tokens_milli += elapsed * b->rate;
}

bool tbucket_take(struct tbucket *b, uint64_t n, uint64_t now_ms)
{
	if (b->rate == 0)
		return true;
	tbucket_refill(b, now_ms);
	if (n > b->tokens_milli / 1000)
		return false;
	b->tokens_milli -= n * 1000;
	return true;
}

struct rl_entry {
	uint8_t key[16]; /* IPv4 address or IPv6 /64, zero-padded; family in key[15] */
	uint8_t used;
	struct tbucket bucket;
};

struct ratelimit {
	struct rl_entry *tab;
	size_t n;
	uint64_t rate, burst;
	uint8_t hashkey[crypto_shorthash_KEYBYTES];
};

#define RL_PROBE 8

int ratelimit_new(struct ratelimit **out, size_t entries, uint64_t rate_per_s, uint64_t burst)
{
	struct ratelimit *rl;

	if (entries == 0)
		return -EINVAL;
	if (sodium_init() < 0)
		return -EIO;
	rl = calloc(1, sizeof(*rl));
	if (!rl)
		return -ENOMEM;
	rl->tab = calloc(entries, sizeof(*rl->tab));
	if (!rl->tab) {
		free(rl);
		return -ENOMEM;
	}
	rl->n = entries;
	rl->rate = tbucket_clamp(rate_per_s);
	rl->burst = tbucket_clamp(burst);
	randombytes_buf(rl->hashkey, sizeof(rl->hashkey));
	*out = rl;
	return 0;
}

void ratelimit_free(struct ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->tab);
	free(rl);
}

void ratelimit_set(struct ratelimit *rl, uint64_t rate_per_s, uint64_t burst)
{
	rate_per_s = tbucket_clamp(rate_per_s);
	burst = tbucket_clamp(burst);
	rl->rate = rate_per_s;
	rl->burst = burst;
	for (size_t i = 0; i < rl->n; i++) {
		struct tbucket *b = &rl->tab[i].bucket;

		b->rate = rate_per_s;
		b->burst = burst;
		if (b->tokens_milli > burst * 1000)
			b->tokens_milli = burst * 1000;
	}
}

static void ratelimit_key(const struct addr *src, uint8_t key[16])
{
	memset(key, 0, 16);
	if (src->sa.sa_family == AF_INET) {
		memcpy(key, &src->in.sin_addr, 4);
		key[15] = 4;
	} else if (src->sa.sa_family == AF_INET6 && IN6_IS_ADDR_V4MAPPED(&src->in6.sin6_addr)) {
		/* A dual-stack socket reports IPv4 peers as ::ffff:a.b.c.d; their /64 is shared by
		 * every IPv4 host, so key them by the IPv4 address like AF_INET sources. */
		memcpy(key, &src->in6.sin6_addr.s6_addr[12], 4);
		key[15] = 4;
	} else if (src->sa.sa_family == AF_INET6) {
		/* One host usually owns a whole /64: limit it as one source. */
		memcpy(key, &src->in6.sin6_addr, 8);
		key[15] = 6;
	}
}

bool ratelimit_allow(struct ratelimit *rl, const struct addr *src, uint64_t now_ms)
{
	uint8_t key[16], h[crypto_shorthash_BYTES];
	struct rl_entry *victim = NULL;
	uint64_t idx;

	if (rl->rate == 0)
		return true;
	ratelimit_key(src, key);
	crypto_shorthash(h, key, sizeof(key), rl->hashkey);
	memcpy(&idx, h, sizeof(idx));
	for (size_t i = 0; i < RL_PROBE && i < rl->n; i++) {
		struct rl_entry *e = &rl->tab[(idx + i) % rl->n];

		if (e->used && !memcmp(e->key, key, sizeof(key)))
			return tbucket_take(&e->bucket, 1, now_ms);
		if (!e->used) {
			if (!victim || victim->used)
				victim = e;
		} else if (!victim ||
		           (victim->used && e->bucket.last_ms < victim->bucket.last_ms)) {
			victim = e;
		}
	}
	/* New source: take the free slot, or the stalest one in the probe window. */
	memcpy(victim->key, key, sizeof(key));
	victim->used = 1;
	tbucket_init(&victim->bucket, rl->rate, rl->burst, now_ms);
	return tbucket_take(&victim->bucket, 1, now_ms);
}
