/*
 * peerid.h: libp2p peer ids (peer-ids spec) and the base58btc text they are written in.
 * A peer id is a multihash of the peer's PublicKey protobuf: the identity multihash (0x00,
 * length, the key bytes) when the encoded key is at most 42 bytes, as an Ed25519 key always
 * is, else sha2-256 (0x12 0x20, digest). Only Ed25519 keys are ever decoded to a key; other
 * key types are recognised so that they can be refused by name.
 */
#ifndef WGR_PEERID_H
#define WGR_PEERID_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PEERID_MAX            64  /* longest binary peer id accepted (sha256 multihash is 34) */
#define PEERID_ED25519_LEN    38  /* 0x00 0x24 + PublicKey protobuf (08 01 12 20 ‖ key) */
#define PEERID_STR_MAX        128 /* base58 of PEERID_MAX bytes (88 chars) plus '\0' fits */
#define PUBKEY_ED25519_PB_LEN 36

/* The binary peer id (a multihash), as it travels in protobuf fields and /p2p/ components. */
struct peerid {
	uint8_t len;
	uint8_t b[PEERID_MAX];
};

/*
 * The libp2p PublicKey protobuf {Type=1 (Ed25519), Data=pk}, in the spec's deterministic
 * encoding (fields in order, both present): PUBKEY_ED25519_PB_LEN, or -ENOBUFS.
 */
int peerid_pubkey_encode(const uint8_t pk[32], uint8_t *out, size_t cap);
/*
 * Decode a PublicKey protobuf: 0 with pk; -EPROTONOSUPPORT for a known other key type (RSA 0,
 * Secp256k1 2, ECDSA 3); -EBADMSG when malformed (a field missing or repeated, an unknown key
 * type, Ed25519 data not 32 bytes). Unknown fields are skipped, as protobuf readers do.
 */
int peerid_pubkey_decode(const uint8_t *p, size_t n, uint8_t pk[32]);
/* The peer id of Ed25519 key pk: the identity multihash of its PublicKey protobuf. */
void peerid_from_ed25519(const uint8_t pk[32], struct peerid *id);
/*
 * Check and copy a binary peer id: an identity multihash (0x00, length ≤ 42, exactly that
 * many bytes) or a sha2-256 one (0x12 0x20, 32 bytes). 0, or -EBADMSG (id->len is 0 then).
 */
int peerid_from_bytes(struct peerid *id, const uint8_t *p, size_t n);
/* Same bytes (a peer id has one binary form, so this is identity). */
bool peerid_equal(const struct peerid *a, const struct peerid *b);
/* The base58btc text ("12D3KooW…" for Ed25519) with '\0': its length, or -ENOBUFS. */
int peerid_format(const struct peerid *id, char *out, size_t cap);
/*
 * Parse a peer id in base58btc ("12D3KooW…", "Qm…"), checked as peerid_from_bytes does:
 * 0, or -EINVAL (the CIDv1 "bafz…" form is not accepted).
 */
int peerid_parse(struct peerid *id, const char *s);

/*
 * base58btc (the bitcoin alphabet; leading zero bytes are leading '1's). Bounded both ways:
 * at most 128 bytes encoded, at most 200 characters decoded, since the work is quadratic.
 * Encode writes the text and '\0': its length, or -ENOBUFS (also when n > 128).
 */
int base58_encode(const uint8_t *p, size_t n, char *out, size_t cap);
/* Decode the '\0'-terminated s: the byte count, -EINVAL (a character outside the alphabet,
   empty or too long input), or -ENOBUFS when the bytes do not fit in cap. */
int base58_decode(const char *s, uint8_t *out, size_t cap);

#endif
