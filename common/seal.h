/*
 * seal.h: sealed DATA frames (PROTOCOL.md §5.4): header | handle | counter |
 * XChaCha20-Poly1305(payload) | tag, nonce = sid(16) || counter(8), the 16 header bytes as
 * associated data. The sid is not on the wire: the receiver rebuilds the nonce from the
 * session bound to the handle, so a frame for another session fails to open.
 * In place, no allocation: the relay's hot path opens and reseals each packet.
 */
#ifndef WGR_SEAL_H
#define WGR_SEAL_H

#include <stddef.h>
#include <stdint.h>

#include "proto.h"
#include "replay.h"

/* Per-link, per-direction data key from a Noise transport key (never the same key twice). */
void seal_derive_data_key(uint8_t out[32], const uint8_t transport_key[32]);

/*
 * The payload (len bytes) already sits at frame + PROTO_SEALED_HDR_LEN and frame has room for
 * len + PROTO_SEALED_OVERHEAD bytes. Writes header and tag; returns the frame length.
 */
size_t seal_data(uint8_t *frame, size_t len, uint32_t handle, uint64_t counter,
                 const uint8_t sid[16], const uint8_t key[32]);
/*
 * Open a DATA frame in place (frame_check already passed): the payload is then at
 * frame + PROTO_SEALED_HDR_LEN. Returns its length, FRAME_EREPLAY or FRAME_EAUTH.
 */
int seal_open_data(uint8_t *frame, size_t len, const uint8_t sid[16], const uint8_t key[32],
                   struct replay *rp);

/*
 * The session key of a data key and a sid: XChaCha20's HChaCha20(key, sid), the part of the
 * nonce that never changes within a session. seal_data_sk and seal_open_data_sk with it give
 * the very bytes seal_data and seal_open_data give with key and sid, one HChaCha20 cheaper per
 * frame: for whoever seals or opens many frames of one session with one key.
 */
void seal_session_key(uint8_t out[32], const uint8_t key[32], const uint8_t sid[16]);

/*
 * Both session keys of one binding, cached for the link keys they came from. gen names those
 * link keys (a counter that changes with every new set of keys; 0 is never one).
 */
struct seal_session {
	uint8_t send[32], recv[32];
	uint64_t gen;
};
/* Derive s's keys from the link's data keys unless they already belong to gen. */
void seal_session_update(struct seal_session *s, uint64_t gen, const uint8_t send_key[32],
                         const uint8_t recv_key[32], const uint8_t sid[16]);
size_t seal_data_sk(uint8_t *frame, size_t len, uint32_t handle, uint64_t counter,
                    const uint8_t session_key[32]);
/* rp NULL: no replay check here (the caller checks the counter and accepts it itself). */
int seal_open_data_sk(uint8_t *frame, size_t len, const uint8_t session_key[32], struct replay *rp);

#endif
