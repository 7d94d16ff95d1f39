/*
 * identity.h: a relay's Ed25519 identity (docs/PROTOCOL.md §9). It signs the relay's
 * descriptor, which names the relay's Noise (X25519) key: the identity says who the relay is,
 * the Noise key how to reach it. The identity file holds the 32-byte Ed25519 seed as one line
 * of base64, under the same rules as the Noise key file (common/key.h): a regular file, never
 * a symbolic link, mode 0600 or stricter, created atomically and never replaced.
 */
#ifndef WGR_IDENTITY_H
#define WGR_IDENTITY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IDENTITY_SEED_LEN 32

struct identity {
	uint8_t pk[32]; /* Ed25519 public key: the relay's identity in descriptors and the DHT */
	uint8_t sk[64]; /* libsodium form: seed ‖ pk */
};

/* The key pair of seed (any 32 bytes: Ed25519 seeds are hashed, never clamped). */
void identity_from_seed(struct identity *id, const uint8_t seed[IDENTITY_SEED_LEN]);
/*
 * Load the seed file at path. 0, or -errno with err filled ("PATH: reason"): -ENOENT missing,
 * -EPERM mode, -EINVAL not a seed, and key_load_file()'s codes for links and other file types.
 * *id is wiped on failure.
 */
int identity_load(struct identity *id, const char *path, char *err, size_t errlen);
/*
 * Load path, or when nothing is there make a seed from the system RNG and create the file as
 * key_load_or_create() does; *created (when not NULL) tells which. Same errors as
 * identity_load; an existing file with a bad mode or content is refused, never replaced.
 */
int identity_load_or_create(struct identity *id, const char *path, bool *created, char *err,
                            size_t errlen);
/* Zero *id (sodium_memzero), for the end of its life. */
void identity_wipe(struct identity *id);

#endif
