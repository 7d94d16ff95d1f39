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

void seal_session_key(uint8_t out[32], const uint8_t key[32], const uint8_t sid[16])
{
	crypto_core_hchacha20(out, sid, key, NULL);
}

void seal_session_update(struct seal_session *s, uint64_t gen, const uint8_t send_key[32],
                         const uint8_t recv_key[32], const uint8_t sid[16])
{
	if (s->gen == gen)
		return;
	seal_session_key(s->send, send_key, sid);
	seal_session_key(s->recv, recv_key, sid);
	s->gen = gen;
}

/* What XChaCha20 hands ChaCha20-IETF after HChaCha20: four zero bytes, then the counter. */
static void seal_nonce(uint8_t nonce[12], const uint8_t *counter_be)
{
	memset(nonce, 0, 4);
	memcpy(nonce + 4, counter_be, 8);
}

size_t seal_data_sk(uint8_t *frame, size_t len, uint32_t handle, uint64_t counter,
                    const uint8_t session_key[32])
{
	uint8_t nonce[12];
	uint8_t *pt = frame + PROTO_SEALED_HDR_LEN;

	frame_put_header(frame, PROTO_DATA);
	buf_store_be32(frame + 4, handle);
	buf_store_be64(frame + 8, counter);
	seal_nonce(nonce, frame + 8);
	crypto_aead_chacha20poly1305_ietf_encrypt(pt, NULL, pt, len, frame, PROTO_SEALED_HDR_LEN,
	                                          NULL, nonce, session_key);
	return len + PROTO_SEALED_OVERHEAD;
}

int seal_open_data_sk(uint8_t *frame, size_t len, const uint8_t session_key[32], struct replay *rp)
{
	uint64_t counter;
	uint8_t nonce[12];
	uint8_t *ct = frame + PROTO_SEALED_HDR_LEN;

	if (len <= PROTO_SEALED_OVERHEAD)
		return FRAME_ESHORT;
	counter = buf_load_be64(frame + 8);
	if (rp && !replay_check(rp, counter))
		return FRAME_EREPLAY;
	seal_nonce(nonce, frame + 8);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(
	        ct, NULL, NULL, ct, len - PROTO_SEALED_HDR_LEN, frame, PROTO_SEALED_HDR_LEN, nonce,
	        session_key) != 0)
		return FRAME_EAUTH;
	if (rp && !replay_accept(rp, counter))
		return FRAME_EREPLAY;
	return (int)(len - PROTO_SEALED_OVERHEAD);
}

size_t seal_data(uint8_t *frame, size_t len, uint32_t handle, uint64_t counter,
                 const uint8_t sid[16], const uint8_t key[32])
{
	uint8_t sk[32];
	size_t n;

	seal_session_key(sk, key, sid);
	n = seal_data_sk(frame, len, handle, counter, sk);
	sodium_memzero(sk, sizeof(sk));
	return n;
}

int seal_open_data(uint8_t *frame, size_t len, const uint8_t sid[16], const uint8_t key[32],
                   struct replay *rp)
{
	uint8_t sk[32];
	int n;

	seal_session_key(sk, key, sid);
	n = seal_open_data_sk(frame, len, sk, rp);
	sodium_memzero(sk, sizeof(sk));
	return n;
}
