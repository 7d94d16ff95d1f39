/* hmap.h: a map from 64-bit keys to 32-bit values (open addressing), for the simulator's indexes. */
#ifndef WGR_NETSIM_HMAP_H
#define WGR_NETSIM_HMAP_H

#include <stddef.h>
#include <stdint.h>

struct hmap {
	uint64_t *keys;
	uint32_t *vals; /* value + 1; 0 marks an empty slot */
	size_t cap, n;  /* cap: a power of two */
};

void hmap_init(struct hmap *m);
void hmap_free(struct hmap *m);
/* Set key to val (val < UINT32_MAX): 0 or -ENOMEM / -EINVAL. */
int hmap_put(struct hmap *m, uint64_t key, uint32_t val);
/* The value of key, or -1 when absent. */
int64_t hmap_get(const struct hmap *m, uint64_t key);
/* The first 8 bytes of p as a key (identities and signatures are uniformly random). */
uint64_t hmap_key(const uint8_t *p);

#endif
