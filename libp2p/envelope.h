/*
 * envelope.h: signed envelopes (libp2p specs RFC 0002) and the Circuit Relay v2 reservation
 * voucher carried in one (relay/circuit-v2.md). The signature covers
 * uvarint(len(domain)) ‖ domain ‖ uvarint(len(type)) ‖ type ‖ uvarint(len(payload)) ‖ payload,
 * so an envelope made for one purpose (domain) never verifies for another. Envelope protobuf:
 * public_key=1 (PublicKey protobuf), payload_type=2, payload=3, signature=5. Ed25519 only.
 */
#ifndef WGR_ENVELOPE_H
#define WGR_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "identity.h"
#include "peerid.h"

#define ENVELOPE_MAX 512 /* longest envelope sealed or opened */

/* The voucher's domain and payload type (multicodec 0x0302 as uvarint bytes). */
#define VOUCHER_DOMAIN   "libp2p-relay-rsvp"
#define VOUCHER_TYPE     "\x82\x06"
#define VOUCHER_TYPE_LEN 2

/* Sign payload of type under domain with id's key into out: the length, or -ENOBUFS,
   -EMSGSIZE (more than ENVELOPE_MAX or domain/type/payload too long). */
int envelope_seal(const struct identity *id, const char *domain, const uint8_t *type, size_t tlen,
                  const uint8_t *payload, size_t plen, uint8_t *out, size_t cap);
/*
 * Parse and verify an envelope for domain (Ed25519 keys only): 0 with the signer's key in pk
 * and *type, *payload pointing into env; -EBADMSG malformed (or longer than ENVELOPE_MAX),
 * -EPROTONOSUPPORT other key type, -EPERM bad signature (so also another domain).
 */
int envelope_open(const uint8_t *env, size_t n, const char *domain, uint8_t pk[32],
                  const uint8_t **type, size_t *tlen, const uint8_t **payload, size_t *plen);
/* The reservation voucher {relay = id's peer id, peer, expiration = expire_s (Unix s)}, sealed
   by id: the length, or -errno as envelope_seal. */
int envelope_voucher(const struct identity *id, const struct peerid *peer, uint64_t expire_s,
                     uint8_t *out, size_t cap);

/* A decoded voucher payload (pointers-free: peer ids are copied). */
struct voucher {
	struct peerid relay;
	struct peerid peer;
	uint64_t expiration;
};
/* Decode a Voucher payload: 0, or -EBADMSG when a field is missing, repeated or bad. */
int envelope_voucher_decode(const uint8_t *p, size_t n, struct voucher *v);

#endif
