/* seal.c: sealed DATA frames (see seal.h). */
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "frame.h"
#include "seal.h"

#define SEAL_DATA_LABEL "wgrelay data v1"

void seal_derive_data_key(uint8_t out[32], const uint8_t transport_key[32])
{
	crypto_generichash(out, 32, (const uint8_t *)SEAL_DATA_LABEL, sizeof(SEAL_DATA_LABEL) - 1,
	                   transport_key, 32);
}

static void seal_nonce(uint8_t nonce[24], const uint8_t sid[16], const uint8_t *counter_be)
{
	memcpy(nonce, sid, 16);
	memcpy(nonce + 16, counter_be, 8);
}

size_t seal_data(uint8_t *frame, size_t len, uint32_t handle, uint64_t counter,
                 const uint8_t sid[16], const uint8_t key[32])
{
	uint8_t nonce[24];
	uint8_t *pt = frame + PROTO_SEALED_HDR_LEN;

	frame_put_header(frame, PROTO_DATA);
	buf_store_be32(frame + 4, handle);
	buf_store_be64(frame + 8, counter);
	seal_nonce(nonce, sid, frame + 8);
	crypto_aead_xchacha20poly1305_ietf_encrypt(pt, NULL, pt, len, frame, PROTO_SEALED_HDR_LEN,
	                                           NULL, nonce, key);
	return len + PROTO_SEALED_OVERHEAD;
}

int seal_open_data(uint8_t *frame, size_t len, const uint8_t sid[16], const uint8_t key[32],
                   struct replay *rp)
{
	uint64_t counter = buf_load_be64(frame + 8);
	uint8_t nonce[24];
	uint8_t *ct = frame + PROTO_SEALED_HDR_LEN;

	if (len <= PROTO_SEALED_OVERHEAD)
		return FRAME_ESHORT;
	if (!replay_check(rp, counter))
		return FRAME_EREPLAY;
	seal_nonce(nonce, sid, frame + 8);
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(ct, NULL, NULL, ct,
	                                               len - PROTO_SEALED_HDR_LEN, frame,
	                                               PROTO_SEALED_HDR_LEN, nonce, key) != 0)
		return FRAME_EAUTH;
	if (!replay_accept(rp, counter))
		return FRAME_EREPLAY;
	return (int)(len - PROTO_SEALED_OVERHEAD);
}
