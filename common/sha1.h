/*
 * sha1.h: SHA-1 (FIPS 180-4), for the Mainline DHT only: BEP 5 infohashes and BEP 44 targets
 * are SHA-1 by definition and libsodium has none. Never use it where collisions matter.
 */
#ifndef WGR_SHA1_H
#define WGR_SHA1_H

#include <stddef.h>
#include <stdint.h>

#define SHA1_LEN 20

struct sha1_ctx {
	uint32_t h[5];
	uint64_t bytes; /* message length so far */
	uint8_t block[64];
	size_t fill; /* bytes waiting in block */
};

/* Start a digest. */
void sha1_init(struct sha1_ctx *c);
/* Add len bytes; any split of a message gives the same digest. */
void sha1_update(struct sha1_ctx *c, const void *p, size_t len);
/* Write the 20-byte digest; c must be re-initialised before reuse. */
void sha1_final(struct sha1_ctx *c, uint8_t out[SHA1_LEN]);
/* One-shot digest of p. */
void sha1(uint8_t out[SHA1_LEN], const void *p, size_t len);

#endif
