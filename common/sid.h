/* sid.h: the session id both peers derive without talking (PROTOCOL.md §5.1). */
#ifndef WGR_SID_H
#define WGR_SID_H

#include <stdint.h>

#define SID_LEN 16

/*
 * sid = BLAKE2b-128(key = X25519(my WireGuard private key, peer public key),
 *                   "wgrelay sid v1" || relay static public key).
 * Both peers get the same value; the relay cannot link it to WireGuard keys. 0 or -EINVAL
 * (low-order peer key).
 */
int sid_derive(uint8_t sid[SID_LEN], const uint8_t wg_priv[32], const uint8_t peer_pub[32],
               const uint8_t relay_pub[32]);
/*
 * sid_derive in two steps, for a helper that derives one peer's sid on many relays: the
 * X25519 once per peer (sid_shared: 0 or -EINVAL for a low-order key), then a BLAKE2b per
 * relay (sid_from_shared). The caller wipes shared with sodium_memzero when done.
 */
int sid_shared(uint8_t shared[32], const uint8_t wg_priv[32], const uint8_t peer_pub[32]);
void sid_from_shared(uint8_t sid[SID_LEN], const uint8_t shared[32], const uint8_t relay_pub[32]);

/* A rendezvous cookie's epoch: the cookie of a pair at one relay changes every hour. */
#define SID_COOKIE_EPOCH_S 3600
#define SID_COOKIE_LEN     16
/*
 * The rendezvous cookie of a pair at a relay (PROTOCOL.md §13.6): BLAKE2b-128(key = the pair's
 * shared secret (sid_shared), "wgrelay rendezvous v1" || relay identity (Ed25519) || epoch as
 * 8 bytes big-endian), epoch = Unix seconds / SID_COOKIE_EPOCH_S. Both peers get the same value;
 * the rendezvous cannot tell one hour's cookie of a pair from another pair's.
 */
void sid_cookie(uint8_t cookie[SID_COOKIE_LEN], const uint8_t shared[32],
                const uint8_t relay_identity[32], uint64_t epoch);

#endif
