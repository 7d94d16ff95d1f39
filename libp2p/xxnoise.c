/*
 * xxnoise.c: Noise_XX_25519_ChaChaPoly_SHA256 (Noise rev 34, §5 processing rules) and the
 * noise-libp2p handshake payload. SHA-256, HMAC-SHA256 (for HKDF), ChaCha20-Poly1305 (IETF,
 * 96-bit nonce) and X25519 all come from libsodium.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "identity.h"
#include "pb.h"
#include "peerid.h"
#include "xxnoise.h"

/* step values beyond the three messages */
#define XXN_DONE   3
#define XXN_SPLIT  4
#define XXN_FAILED 0xff

/* Exactly HASHLEN bytes, so §5.2 InitializeSymmetric uses it as h without hashing. */
static const char xxn_name[] = "Noise_XX_25519_ChaChaPoly_SHA256";
_Static_assert(sizeof(xxn_name) - 1 == 32, "protocol name is HASHLEN long");

/* noise-libp2p: the identity key signs this prefix followed by the Noise static key. */
static const char xxn_sig_prefix[] = "noise-libp2p-static-key:";
#define XXN_SIG_PREFIX_LEN (sizeof(xxn_sig_prefix) - 1)

/* Payload fields (noise/README.md NoiseHandshakePayload). */
enum { XXN_PB_KEY = 1, XXN_PB_SIG = 2 };

/* h = SHA-256(h ‖ p): MixHash. */
static void xxn_mix_hash(uint8_t h[32], const uint8_t *p, size_t n)
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, h, 32);
	crypto_hash_sha256_update(&st, p, n);
	crypto_hash_sha256_final(&st, h);
}

/* out = HMAC-SHA256(key, a ‖ b). */
static void xxn_hmac(uint8_t out[32], const uint8_t key[32], const uint8_t *a, size_t alen,
                     const uint8_t *b, size_t blen)
{
	crypto_auth_hmacsha256_state st;

	crypto_auth_hmacsha256_init(&st, key, 32);
	crypto_auth_hmacsha256_update(&st, a, alen);
	crypto_auth_hmacsha256_update(&st, b, blen);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

/* §4.3 HKDF with two outputs: out1 ‖ out2 from chaining key ck and input key material. */
static void xxn_hkdf(const uint8_t ck[32], const uint8_t *ikm, size_t n, uint8_t out1[32],
                     uint8_t out2[32])
{
	static const uint8_t one = 1, two = 2;
	uint8_t temp[32], o1[32];

	xxn_hmac(temp, ck, ikm, n, NULL, 0);
	xxn_hmac(o1, temp, &one, 1, NULL, 0);
	xxn_hmac(out2, temp, o1, 32, &two, 1);
	memcpy(out1, o1, 32);
	sodium_memzero(temp, sizeof(temp));
	sodium_memzero(o1, sizeof(o1));
}

/* MixKey(DH(priv, pub)). A low-order public key gives an all-zero secret, which libsodium
   reports: refused, since it would let a peer force a known key. */
static int xxn_mix_dh(struct xxn_hs *hs, const uint8_t priv[32], const uint8_t pub[32])
{
	uint8_t shared[32];
	int rc = 0;

	if (crypto_scalarmult(shared, priv, pub) != 0) {
		rc = -EBADMSG;
		goto out;
	}
	xxn_hkdf(hs->ck, shared, sizeof(shared), hs->ck, hs->k);
	hs->n = 0;
	hs->has_k = true;
out:
	sodium_memzero(shared, sizeof(shared));
	return rc;
}

/* The 96-bit ChaChaPoly nonce of §12.3: four zero bytes, then the counter little-endian. */
static void xxn_nonce(uint8_t nonce[12], uint64_t n)
{
	int i;

	memset(nonce, 0, 4);
	for (i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

/* EncryptAndHash(pt) into w: ciphertext with h as associated data once there is a key, the
   plaintext before. The caller has checked the room. */
static int xxn_encrypt_hash(struct xxn_hs *hs, const uint8_t *pt, size_t n, struct wbuf *w)
{
	uint8_t nonce[12];
	uint8_t *c;
	size_t clen = n + (hs->has_k ? XXN_TAG : 0);

	if (buf_put_ptr(w, &c, clen) < 0)
		return -ENOBUFS;
	if (hs->has_k) {
		xxn_nonce(nonce, hs->n);
		crypto_aead_chacha20poly1305_ietf_encrypt(c, NULL, pt, n, hs->h, 32, NULL, nonce,
		                                          hs->k);
		hs->n++;
	} else if (n) {
		memcpy(c, pt, n);
	}
	xxn_mix_hash(hs->h, c, clen);
	return 0;
}

/* DecryptAndHash of the next clen bytes of r into out. The next h is computed before
   decrypting, so out may overlap the message. */
static int xxn_decrypt_hash(struct xxn_hs *hs, struct rbuf *r, size_t clen, uint8_t *out)
{
	uint8_t nonce[12], next[32];
	const uint8_t *c;

	if (buf_get_ptr(r, &c, clen) < 0)
		return -EBADMSG;
	memcpy(next, hs->h, 32);
	xxn_mix_hash(next, c, clen);
	if (hs->has_k) {
		if (clen < XXN_TAG)
			return -EBADMSG;
		xxn_nonce(nonce, hs->n);
		if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, c, clen, hs->h, 32,
		                                              nonce, hs->k) != 0)
			return -EBADMSG;
		hs->n++;
	} else if (clen) {
		memmove(out, c, clen);
	}
	memcpy(hs->h, next, 32);
	return 0;
}

void xxn_init_prologue(struct xxn_hs *hs, enum xxn_role role, const uint8_t s_priv[32],
                       const uint8_t *prologue, size_t plen)
{
	memset(hs, 0, sizeof(*hs));
	hs->role = (uint8_t)role;
	memcpy(hs->h, xxn_name, 32);
	memcpy(hs->ck, hs->h, 32);
	xxn_mix_hash(hs->h, prologue, plen);
	memcpy(hs->s, s_priv, 32);
	crypto_scalarmult_base(hs->s_pub, hs->s);
	randombytes_buf(hs->e, sizeof(hs->e));
	crypto_scalarmult_base(hs->e_pub, hs->e);
}

void xxn_init(struct xxn_hs *hs, enum xxn_role role, const uint8_t s_priv[32])
{
	xxn_init_prologue(hs, role, s_priv, NULL, 0);
}

void xxn_set_ephemeral(struct xxn_hs *hs, const uint8_t e_priv[32])
{
	memcpy(hs->e, e_priv, 32);
	crypto_scalarmult_base(hs->e_pub, hs->e);
}

void xxn_clear(struct xxn_hs *hs)
{
	sodium_memzero(hs, sizeof(*hs));
}

/* Whether message number hs->step (0..2) is ours to write: the initiator writes 0 and 2. */
static bool xxn_our_turn(const struct xxn_hs *hs)
{
	if (hs->step >= XXN_DONE)
		return false;
	return (hs->step % 2 == 0) == (hs->role == XXN_INITIATOR);
}

/* Keys and authenticated data a message carries before its payload (for sizing). */
static size_t xxn_overhead(uint8_t step)
{
	static const size_t oh[3] = {
	    32,                          /* e */
	    32 + 32 + XXN_TAG + XXN_TAG, /* e, encrypted s, payload tag */
	    32 + XXN_TAG + XXN_TAG,      /* encrypted s, payload tag */
	};
	return oh[step];
}

int xxn_write(struct xxn_hs *hs, const uint8_t *payload, size_t plen, uint8_t *out, size_t cap)
{
	struct wbuf w;
	size_t need;
	int rc = 0;

	if (!xxn_our_turn(hs))
		return -EINVAL;
	need = xxn_overhead(hs->step) + plen;
	if (plen > XXN_MAX_MSG || need > XXN_MAX_MSG)
		return -EMSGSIZE;
	if (need > cap)
		return -ENOBUFS;
	wbuf_init(&w, out, cap);
	switch (hs->step) {
	case 0: /* -> e */
		buf_put_bytes(&w, hs->e_pub, 32);
		xxn_mix_hash(hs->h, hs->e_pub, 32);
		break;
	case 1: /* <- e, ee, s, es */
		buf_put_bytes(&w, hs->e_pub, 32);
		xxn_mix_hash(hs->h, hs->e_pub, 32);
		rc = xxn_mix_dh(hs, hs->e, hs->re);
		if (rc == 0)
			rc = xxn_encrypt_hash(hs, hs->s_pub, 32, &w);
		if (rc == 0)
			rc = xxn_mix_dh(hs, hs->s, hs->re);
		break;
	default: /* -> s, se */
		rc = xxn_encrypt_hash(hs, hs->s_pub, 32, &w);
		if (rc == 0)
			rc = xxn_mix_dh(hs, hs->s, hs->re);
		break;
	}
	if (rc == 0)
		rc = xxn_encrypt_hash(hs, payload, plen, &w);
	if (rc < 0) {
		hs->step = XXN_FAILED;
		return rc;
	}
	hs->step++;
	return (int)w.pos;
}

int xxn_read(struct xxn_hs *hs, const uint8_t *msg, size_t n, uint8_t *payload, size_t cap)
{
	struct rbuf r;
	uint8_t step = hs->step;
	size_t oh, plen;
	int rc = 0;

	if (step >= XXN_DONE || xxn_our_turn(hs))
		return -EINVAL;
	oh = xxn_overhead(step);
	if (n > XXN_MAX_MSG || n < oh) {
		hs->step = XXN_FAILED;
		return -EBADMSG;
	}
	plen = n - oh;
	if (plen > cap)
		return -ENOBUFS;
	rbuf_init(&r, msg, n);
	if (step < 2) { /* e */
		buf_get_bytes(&r, hs->re, 32);
		xxn_mix_hash(hs->h, hs->re, 32);
	}
	if (step == 1) { /* ee, s, es */
		rc = xxn_mix_dh(hs, hs->e, hs->re);
		if (rc == 0)
			rc = xxn_decrypt_hash(hs, &r, 32 + XXN_TAG, hs->rs);
		if (rc == 0)
			rc = xxn_mix_dh(hs, hs->e, hs->rs);
	} else if (step == 2) { /* s, se */
		rc = xxn_decrypt_hash(hs, &r, 32 + XXN_TAG, hs->rs);
		if (rc == 0)
			rc = xxn_mix_dh(hs, hs->e, hs->rs);
	}
	if (rc == 0 && step > 0)
		hs->has_rs = true;
	if (rc == 0)
		rc = xxn_decrypt_hash(hs, &r, rbuf_left(&r), payload);
	if (rc < 0) {
		hs->has_rs = false;
		hs->step = XXN_FAILED;
		return rc;
	}
	hs->step++;
	return (int)plen;
}

bool xxn_done(const struct xxn_hs *hs)
{
	return hs->step == XXN_DONE || hs->step == XXN_SPLIT;
}

const uint8_t *xxn_remote_static(const struct xxn_hs *hs)
{
	return hs->has_rs ? hs->rs : NULL;
}

const uint8_t *xxn_local_static(const struct xxn_hs *hs)
{
	return hs->s_pub;
}

void xxn_split(struct xxn_hs *hs, struct xxn_cs *send, struct xxn_cs *recv)
{
	uint8_t k1[32], k2[32], rs[32];
	bool has_rs = hs->has_rs;
	uint8_t role = hs->role, step = hs->step;

	memset(send, 0, sizeof(*send));
	memset(recv, 0, sizeof(*recv));
	if (step != XXN_DONE) {
		send->n = recv->n = UINT64_MAX;
		return;
	}
	/* §5.2 Split: the first key encrypts initiator to responder. */
	xxn_hkdf(hs->ck, NULL, 0, k1, k2);
	memcpy(send->k, role == XXN_INITIATOR ? k1 : k2, 32);
	memcpy(recv->k, role == XXN_INITIATOR ? k2 : k1, 32);
	memcpy(rs, hs->rs, 32);
	sodium_memzero(hs, sizeof(*hs));
	memcpy(hs->rs, rs, 32);
	hs->has_rs = has_rs;
	hs->role = role;
	hs->step = XXN_SPLIT;
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
}

int xxn_encrypt(struct xxn_cs *cs, const uint8_t *pt, size_t n, uint8_t *out, size_t cap)
{
	uint8_t nonce[12];

	/* §5.1: 2^64-1 is reserved, so the counter never wraps to a reused nonce. */
	if (cs->n == UINT64_MAX)
		return -EOVERFLOW;
	if (n > XXN_MAX_PLAIN)
		return -EMSGSIZE;
	if (cap < n + XXN_TAG)
		return -ENOBUFS;
	xxn_nonce(nonce, cs->n);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, n, NULL, 0, NULL, nonce, cs->k);
	cs->n++;
	return (int)(n + XXN_TAG);
}

int xxn_decrypt(struct xxn_cs *cs, const uint8_t *ct, size_t n, uint8_t *out, size_t cap)
{
	uint8_t nonce[12];

	if (cs->n == UINT64_MAX)
		return -EOVERFLOW;
	if (n < XXN_TAG || n > XXN_MAX_MSG)
		return -EBADMSG;
	if (cap < n - XXN_TAG)
		return -ENOBUFS;
	xxn_nonce(nonce, cs->n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, n, NULL, 0, nonce,
	                                              cs->k) != 0)
		return -EBADMSG;
	cs->n++;
	return (int)(n - XXN_TAG);
}

/* The signed bytes: "noise-libp2p-static-key:" ‖ the X25519 static public key. */
static void xxn_sig_msg(uint8_t msg[XXN_SIG_PREFIX_LEN + 32], const uint8_t s_pub[32])
{
	memcpy(msg, xxn_sig_prefix, XXN_SIG_PREFIX_LEN);
	memcpy(msg + XXN_SIG_PREFIX_LEN, s_pub, 32);
}

int xxn_payload_make(const struct identity *id, const uint8_t s_pub[32], uint8_t *out, size_t cap)
{
	uint8_t key[PUBKEY_ED25519_PB_LEN], msg[XXN_SIG_PREFIX_LEN + 32];
	uint8_t sig[crypto_sign_BYTES];
	struct wbuf w;

	if (cap < XXN_PAYLOAD_LEN)
		return -ENOBUFS;
	if (peerid_pubkey_encode(id->pk, key, sizeof(key)) != PUBKEY_ED25519_PB_LEN)
		return -ENOBUFS;
	xxn_sig_msg(msg, s_pub);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), id->sk);
	wbuf_init(&w, out, cap);
	if (pb_put_bytes(&w, XXN_PB_KEY, key, sizeof(key)) < 0 ||
	    pb_put_bytes(&w, XXN_PB_SIG, sig, sizeof(sig)) < 0)
		return -ENOBUFS;
	return (int)w.pos;
}

int xxn_payload_check(const uint8_t *p, size_t n, const uint8_t rs[32], uint8_t id_pk[32])
{
	uint8_t msg[XXN_SIG_PREFIX_LEN + 32], pk[32];
	const uint8_t *key = NULL, *sig = NULL;
	size_t key_len = 0, sig_len = 0;
	struct pb_field f;
	struct rbuf r;
	int rc;

	rbuf_init(&r, p, n);
	/* Each field consumes at least two bytes, so this ends within n/2 rounds. */
	while ((rc = pb_next(&r, &f)) == 1) {
		if (f.num != XXN_PB_KEY && f.num != XXN_PB_SIG)
			continue; /* extensions (4) and unknown fields */
		/* A repeated key or signature would leave two readings of one payload. */
		if (f.wire != PB_LEN || (f.num == XXN_PB_KEY ? key : sig) != NULL)
			return -EBADMSG;
		if (f.num == XXN_PB_KEY) {
			key = f.p;
			key_len = f.len;
		} else {
			sig = f.p;
			sig_len = f.len;
		}
	}
	if (rc < 0 || key == NULL || sig == NULL)
		return -EBADMSG;
	/* The key type first: other key types sign with other lengths (RSA, ECDSA). */
	rc = peerid_pubkey_decode(key, key_len, pk);
	if (rc < 0)
		return rc;
	if (sig_len != crypto_sign_BYTES)
		return -EBADMSG;
	xxn_sig_msg(msg, rs);
	if (crypto_sign_verify_detached(sig, msg, sizeof(msg), pk) != 0)
		return -EPERM;
	memcpy(id_pk, pk, 32);
	return 0;
}
