/*
 * xxnoise.h: libp2p's secure channel (noise-libp2p): the Noise handshake
 * Noise_XX_25519_ChaChaPoly_SHA256 (Noise spec revision 34) with an empty prologue, the
 * transport cipher states it ends in, and the libp2p handshake payload that binds the Noise
 * static key to an Ed25519 identity. Sans-I/O: callers frame messages (2-byte big-endian
 * length) and move bytes.
 *
 *   -> e                   (message 1: ephemeral key, payload in clear, libp2p sends none)
 *   <- e, ee, s, es        (message 2: responder's static key and payload, encrypted)
 *   -> s, se               (message 3: initiator's static key and payload, encrypted)
 *
 * A message that fails to read (or write) ends the handshake: later calls return -EINVAL,
 * since the transcript hash no longer matches the peer's (Noise §5.3: abort on error).
 *
 * Beyond the working design's API (additions only): xxn_local_static() (the static public key
 * the payload signs), xxn_init_prologue() (for published test vectors), XXN_MAX_PLAIN and
 * XXN_PAYLOAD_LEN.
 */
#ifndef WGR_XXNOISE_H
#define WGR_XXNOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct identity;

#define XXN_MAX_MSG 65535 /* a Noise message, also each transport message (2-byte length) */
#define XXN_TAG     16
#define XXN_KEY     32
/* The largest transport plaintext: one message holds it and the tag. */
#define XXN_MAX_PLAIN (XXN_MAX_MSG - XXN_TAG)
/* Our handshake payload: identity_key (2 + 36) and identity_sig (2 + 64), no extensions. */
#define XXN_PAYLOAD_LEN 104

enum xxn_role { XXN_INITIATOR, XXN_RESPONDER };

/* One direction's transport cipher: key and the next nonce. */
struct xxn_cs {
	uint8_t k[XXN_KEY];
	uint64_t n;
};

/* Handshake state: the caller's to hold, opaque in use (only this module reads the fields). */
struct xxn_hs {
	uint8_t ck[32]; /* chaining key */
	uint8_t h[32];  /* transcript hash */
	uint8_t k[XXN_KEY];
	uint64_t n;
	bool has_k;
	bool has_rs;
	uint8_t role; /* enum xxn_role */
	uint8_t step; /* messages done: 0..3; 0xff after an error */
	uint8_t s[32], s_pub[32];
	uint8_t e[32], e_pub[32];
	uint8_t rs[32]; /* remote static, valid when has_rs */
	uint8_t re[32]; /* remote ephemeral */
};

/* Start a handshake with static private key s_priv (X25519); a fresh ephemeral key is drawn. */
void xxn_init(struct xxn_hs *hs, enum xxn_role role, const uint8_t s_priv[32]);
/* xxn_init with a prologue mixed in (libp2p's is empty; published test vectors use one). */
void xxn_init_prologue(struct xxn_hs *hs, enum xxn_role role, const uint8_t s_priv[32],
                       const uint8_t *prologue, size_t plen);
/* Replace the ephemeral key before the first message (test vectors only). */
void xxn_set_ephemeral(struct xxn_hs *hs, const uint8_t e_priv[32]);
/* Wipe every secret in hs (sodium_memzero); hs must be xxn_init'ed again to be reused. */
void xxn_clear(struct xxn_hs *hs);

/*
 * Write the next handshake message with payload (plen bytes, may be 0) into out: its length,
 * or -EINVAL (not our turn, handshake done or failed), -EMSGSIZE (the message would pass
 * XXN_MAX_MSG), -ENOBUFS (cap too small); nothing changes on those. -EBADMSG: the peer's
 * ephemeral key is of low order (the handshake fails). Message 1's payload travels in
 * clear. out must not overlap payload.
 */
int xxn_write(struct xxn_hs *hs, const uint8_t *payload, size_t plen, uint8_t *out, size_t cap);
/*
 * Read the next handshake message (n bytes, without the length prefix): the payload's length
 * (written to payload, which may overlap msg), or -EINVAL (not our turn, done or failed),
 * -ENOBUFS (the payload would not fit in cap; nothing changes), -EBADMSG (short, longer than
 * XXN_MAX_MSG, authentication failed, a low-order public key; the handshake fails). The
 * payload proves nothing until xxn_payload_check accepts it for xxn_remote_static().
 */
int xxn_read(struct xxn_hs *hs, const uint8_t *msg, size_t n, uint8_t *payload, size_t cap);
/* All three messages written and read. */
bool xxn_done(const struct xxn_hs *hs);
/* The remote static public key once learnt (message 2 for the initiator, 3 for the
   responder), else NULL. Stays valid after xxn_split. */
const uint8_t *xxn_remote_static(const struct xxn_hs *hs);
/* Our static public key, the one xxn_payload_make must sign. */
const uint8_t *xxn_local_static(const struct xxn_hs *hs);
/*
 * After xxn_done: the (send, recv) cipher states for this role, then every secret of the
 * handshake is wiped (the remote static key stays readable). Not done: both are zeroed with
 * n = UINT64_MAX, so they refuse to work.
 */
void xxn_split(struct xxn_hs *hs, struct xxn_cs *send, struct xxn_cs *recv);

/*
 * Transport encryption: out = ChaCha20-Poly1305(k, nonce = 4 zero bytes ‖ n as 64-bit
 * little-endian, no associated data) of the n bytes at pt, n + XXN_TAG bytes; cs->n counts
 * up. Length, or -EMSGSIZE (n > XXN_MAX_PLAIN), -ENOBUFS, -EOVERFLOW (nonces spent). out may
 * be pt (in place).
 */
int xxn_encrypt(struct xxn_cs *cs, const uint8_t *pt, size_t n, uint8_t *out, size_t cap);
/*
 * Decrypt one transport message: plaintext length (n - XXN_TAG), or -EBADMSG (short, too
 * long, not authentic: the nonce does not move then, so a replayed or reordered message
 * fails), -ENOBUFS, -EOVERFLOW. out may be ct (in place).
 */
int xxn_decrypt(struct xxn_cs *cs, const uint8_t *ct, size_t n, uint8_t *out, size_t cap);

/*
 * Our libp2p handshake payload, NoiseHandshakePayload {identity_key=1: the PublicKey
 * protobuf of id, identity_sig=2: Ed25519 over "noise-libp2p-static-key:" ‖ s_pub}, no
 * extensions: XXN_PAYLOAD_LEN, or -ENOBUFS.
 */
int xxn_payload_make(const struct identity *id, const uint8_t s_pub[32], uint8_t *out, size_t cap);
/*
 * Verify a remote payload for remote static key rs: 0 with its Ed25519 identity key in
 * id_pk; -EBADMSG malformed (a key or signature missing, repeated or of the wrong size),
 * -EPROTONOSUPPORT a non-Ed25519 key, -EPERM a bad signature. Extensions and unknown fields
 * are skipped.
 */
int xxn_payload_check(const uint8_t *p, size_t n, const uint8_t rs[32], uint8_t id_pk[32]);

#endif
