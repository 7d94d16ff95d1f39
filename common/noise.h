/*
 * noise.h: the Noise_IK_25519_ChaChaPoly_BLAKE2b handshake (Noise spec rev. 34) over
 * libsodium, and Noise_NK_25519_ChaChaPoly_BLAKE2b (the initiator has no static key: the
 * one-way authenticated handshake of a circuit's hops). A generic state machine: the caller chooses prologue and payloads, and tests may
 * inject ephemeral keys to run the published vectors. No sockets, no allocation.
 */
#ifndef WGR_NOISE_H
#define WGR_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOISE_HASHLEN 64
#define NOISE_KEYLEN  32
#define NOISE_DHLEN   32
#define NOISE_TAGLEN  16

enum noise_role {
	NOISE_INITIATOR,
	NOISE_RESPONDER,
};

struct noise_hs {
	uint8_t ck[NOISE_HASHLEN];
	uint8_t h[NOISE_HASHLEN];
	uint8_t k[NOISE_KEYLEN];
	uint64_t n;
	bool has_k;
	enum noise_role role;
	int step; /* messages processed so far */
	uint8_t s_priv[NOISE_DHLEN], s_pub[NOISE_DHLEN];
	uint8_t e_priv[NOISE_DHLEN], e_pub[NOISE_DHLEN];
	bool e_set;
	uint8_t
	    rs[NOISE_DHLEN]; /* remote static: known to the initiator, learnt by the responder */
	uint8_t re[NOISE_DHLEN];
	bool nk; /* the NK pattern: no s and ss in message 1, no se in message 2 */
};

/*
 * Start a handshake. The initiator passes the responder's static public key as rs; the
 * responder passes NULL (it hashes its own public key as the pre-message).
 */
void noise_hs_init(struct noise_hs *hs, enum noise_role role, const uint8_t *prologue,
                   size_t prologue_len, const uint8_t s_priv[NOISE_DHLEN], const uint8_t *rs);
/*
 * Start an NK handshake: the initiator passes only rs (the responder's static public key; it
 * has none of its own, s_priv is ignored), the responder its s_priv and NULL. The same
 * noise_write_msg1 .. noise_split then run the NK pattern: -> e, es and <- e, ee.
 */
void noise_hs_init_nk(struct noise_hs *hs, enum noise_role role, const uint8_t *prologue,
                      size_t prologue_len, const uint8_t *s_priv, const uint8_t *rs);
/* Use this ephemeral private key instead of a random one (test vectors only). */
void noise_hs_set_ephemeral(struct noise_hs *hs, const uint8_t e_priv[NOISE_DHLEN]);
/* Wipe all key material. */
void noise_hs_clear(struct noise_hs *hs);

/* Message sizes for a payload of len bytes. */
#define NOISE_MSG1_LEN(len)    (NOISE_DHLEN + NOISE_DHLEN + NOISE_TAGLEN + (len) + NOISE_TAGLEN)
#define NOISE_MSG2_LEN(len)    (NOISE_DHLEN + (len) + NOISE_TAGLEN)
#define NOISE_NK_MSG1_LEN(len) (NOISE_DHLEN + (len) + NOISE_TAGLEN)

/*
 * -> e, es, s, ss (initiator) and <- e, ee, se (responder). Writers fill out (cap bytes) and
 * return the length written or -errno; readers fill payload (cap bytes) and return the payload
 * length, -EBADMSG for a malformed or unauthentic message, -EINVAL in the wrong state.
 */
int noise_write_msg1(struct noise_hs *hs, const uint8_t *payload, size_t len, uint8_t *out,
                     size_t cap);
int noise_read_msg1(struct noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload,
                    size_t cap);
int noise_write_msg2(struct noise_hs *hs, const uint8_t *payload, size_t len, uint8_t *out,
                     size_t cap);
int noise_read_msg2(struct noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload,
                    size_t cap);

/* After message 2: the transport keys, initiator-to-responder first (then noise_hs_clear). */
void noise_split(struct noise_hs *hs, uint8_t i2r[NOISE_KEYLEN], uint8_t r2i[NOISE_KEYLEN]);

/* Transport AEAD of Noise ChaChaPoly: nonce = 32 zero bits || little-endian 64-bit n. */
int noise_encrypt(const uint8_t key[NOISE_KEYLEN], uint64_t n, const uint8_t *ad, size_t adlen,
                  const uint8_t *pt, size_t len, uint8_t *out);
int noise_decrypt(const uint8_t key[NOISE_KEYLEN], uint64_t n, const uint8_t *ad, size_t adlen,
                  const uint8_t *ct, size_t len, uint8_t *out);

/* HMAC-BLAKE2b-512 and the Noise HKDF built on it (exposed for tests and key derivation). */
void noise_hmac(uint8_t out[NOISE_HASHLEN], const uint8_t *key, size_t keylen, const uint8_t *data,
                size_t len);
void noise_hkdf2(uint8_t out1[NOISE_HASHLEN], uint8_t out2[NOISE_HASHLEN],
                 const uint8_t ck[NOISE_HASHLEN], const uint8_t *ikm, size_t ikmlen);

#endif
