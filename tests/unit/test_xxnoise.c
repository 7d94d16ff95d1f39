/* Unit tests: libp2p/xxnoise.c (Noise XX with the libp2p handshake payload). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "buf.h"
#include "identity.h"
#include "pb.h"
#include "peerid.h"
#include "xxnoise.h"

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2, i;

	assert_true(n <= cap);
	for (i = 0; i < n; i++) {
		unsigned int v;

		assert_int_equal(sscanf(s + 2 * i, "%2x", &v), 1);
		out[i] = (uint8_t)v;
	}
	return n;
}

/*
 * The cacophony test vector for Noise_XX_25519_ChaChaPoly_SHA256 (as shipped with noise-c,
 * tests/vector/cacophony.txt): prologue "John Galt", three handshake messages and three
 * transport messages, each byte-exact from both roles.
 */
static const char *const cac_init_static =
    "e61ef9919cde45dd5f82166404bd08e38bceb5dfdfded0a34c8df7ed542214d1";
static const char *const cac_init_ephemeral =
    "893e28b9dc6ca8d611ab664754b8ceb7bac5117349a4439a6b0569da977c464a";
static const char *const cac_resp_static =
    "4a3acbfdb163dec651dfa3194dece676d437029c62a408b4c5ea9114246e4893";
static const char *const cac_resp_ephemeral =
    "bbdb4cdbd309f1a1f2e1456967fe288cadd6f712d65dc7b7793d5e63da6b375b";
static const struct {
	const char *payload, *ciphertext;
} cac_msgs[6] = {
    {"4c756477696720766f6e204d69736573",
     "ca35def5ae56cec33dc2036731ab14896bc4c75dbb07a61f879f8e3afa4c79444c756477696720766f6e204d6"
     "9736573"},
    {"4d757272617920526f746862617264",
     "95ebc60d2b1fa672c1f46a8aa265ef51bfe38e7ccb39ec5be34069f14480884381cbad1f276e038c48378ffce"
     "2b65285e08d6b68aaa3629a5a8639392490e5b9bd5269c2f1e4f488ed8831161f19b7815528f8982ffe09be9b"
     "5c412f8a0db50f8814c7194e83f23dbd8d162c9326ad"},
    {"462e20412e20486179656b",
     "c7195ffacac1307ff99046f219750fc47693e23c3cb08b89c2af808b444850a80ae475b9df0f169ae80a89be0"
     "865b57f58c9fea0d4ec82a286427402f113e4b6ae769a1d95941d49b25030"},
    {"4361726c204d656e676572", "96763ed773f8e47bb3712f0e29b3060ffc956ffc146cee53d5e1df"},
    {"4a65616e2d426170746973746520536179",
     "3e40f15f6f3a46ae446b253bf8b1d9ffb6ed9b174d272328ff91a7e2e5c79c07f5"},
    {"457567656e2042f6686d20766f6e2042617765726b",
     "eb3f3515110702e047a6c9da4478b6ead94873c11c0f2d710ddb3f09fce024b3a58502ae3f"},
};

static void test_cacophony_vector(void **state)
{
	static const uint8_t prologue[] = "John Galt";
	struct xxn_hs hs[2];
	struct xxn_cs send[2], recv[2];
	uint8_t key[32], pl[256], ct[512], out[512], got[512];
	size_t pn, cn, i;
	int r, w, rc;

	(void)state;
	unhex(cac_init_static, key, sizeof(key));
	xxn_init_prologue(&hs[0], XXN_INITIATOR, key, prologue, sizeof(prologue) - 1);
	unhex(cac_init_ephemeral, key, sizeof(key));
	xxn_set_ephemeral(&hs[0], key);
	unhex(cac_resp_static, key, sizeof(key));
	xxn_init_prologue(&hs[1], XXN_RESPONDER, key, prologue, sizeof(prologue) - 1);
	unhex(cac_resp_ephemeral, key, sizeof(key));
	xxn_set_ephemeral(&hs[1], key);

	for (i = 0; i < 3; i++) {
		w = (int)(i % 2); /* the initiator writes messages 0 and 2 */
		r = 1 - w;
		pn = unhex(cac_msgs[i].payload, pl, sizeof(pl));
		cn = unhex(cac_msgs[i].ciphertext, ct, sizeof(ct));
		rc = xxn_write(&hs[w], pl, pn, out, sizeof(out));
		assert_int_equal(rc, (int)cn);
		assert_memory_equal(out, ct, cn);
		rc = xxn_read(&hs[r], ct, cn, got, sizeof(got));
		assert_int_equal(rc, (int)pn);
		assert_memory_equal(got, pl, pn);
	}
	assert_true(xxn_done(&hs[0]));
	assert_true(xxn_done(&hs[1]));
	/* Each learnt the other's static key. */
	assert_memory_equal(xxn_remote_static(&hs[0]), xxn_local_static(&hs[1]), 32);
	assert_memory_equal(xxn_remote_static(&hs[1]), xxn_local_static(&hs[0]), 32);
	xxn_split(&hs[0], &send[0], &recv[0]);
	xxn_split(&hs[1], &send[1], &recv[1]);
	/* The vector's messages keep alternating: the responder sends the first transport one. */
	for (i = 3; i < 6; i++) {
		w = (int)(i % 2);
		r = 1 - w;
		pn = unhex(cac_msgs[i].payload, pl, sizeof(pl));
		cn = unhex(cac_msgs[i].ciphertext, ct, sizeof(ct));
		rc = xxn_encrypt(&send[w], pl, pn, out, sizeof(out));
		assert_int_equal(rc, (int)cn);
		assert_memory_equal(out, ct, cn);
		rc = xxn_decrypt(&recv[r], ct, cn, got, sizeof(got));
		assert_int_equal(rc, (int)pn);
		assert_memory_equal(got, pl, pn);
	}
}

/* Two parties with libp2p identities, as a dialer and the relay would be. */
struct pair {
	struct identity id[2];
	uint8_t s[2][32];
	struct xxn_hs hs[2]; /* [0] initiator, [1] responder */
	uint8_t m[3][512];   /* the three handshake messages as sent */
	size_t mlen[3];
};

static void pair_init(struct pair *p)
{
	uint8_t seed[32];
	int i;

	memset(p, 0, sizeof(*p));
	for (i = 0; i < 2; i++) {
		memset(seed, 0x10 + i, sizeof(seed));
		identity_from_seed(&p->id[i], seed);
		randombytes_buf(p->s[i], 32);
	}
	xxn_init(&p->hs[0], XXN_INITIATOR, p->s[0]);
	xxn_init(&p->hs[1], XXN_RESPONDER, p->s[1]);
}

/* Run message k (0..2) from its writer to its reader, the writer sending its libp2p payload
   (none in message 1, as libp2p does). Returns the reader's result. */
static int pair_step(struct pair *p, int k)
{
	int w = k % 2, r = 1 - w, n;
	uint8_t pl[XXN_PAYLOAD_LEN], got[512];
	size_t plen = 0;

	if (k > 0) {
		n = xxn_payload_make(&p->id[w], xxn_local_static(&p->hs[w]), pl, sizeof(pl));
		assert_int_equal(n, XXN_PAYLOAD_LEN);
		plen = (size_t)n;
	}
	n = xxn_write(&p->hs[w], pl, plen, p->m[k], sizeof(p->m[k]));
	assert_true(n > 0);
	p->mlen[k] = (size_t)n;
	return xxn_read(&p->hs[r], p->m[k], p->mlen[k], got, sizeof(got));
}

static void test_handshake_payloads(void **state)
{
	struct pair p;
	uint8_t pl[XXN_PAYLOAD_LEN], got[512], pk[32];
	int n;

	(void)state;
	pair_init(&p);
	assert_null(xxn_remote_static(&p.hs[0]));
	assert_int_equal(pair_step(&p, 0), 0);
	assert_int_equal(p.mlen[0], 32);
	assert_false(xxn_done(&p.hs[1]));

	/* Message 2: the responder's payload, checked by the initiator. */
	n = xxn_payload_make(&p.id[1], xxn_local_static(&p.hs[1]), pl, sizeof(pl));
	assert_int_equal(n, XXN_PAYLOAD_LEN);
	/* The PublicKey protobuf of an Ed25519 key leads field 1: 0a 24 08 01 12 20 ‖ pk. */
	assert_memory_equal(pl, "\x0a\x24\x08\x01\x12\x20", 6);
	assert_memory_equal(pl + 6, p.id[1].pk, 32);
	assert_memory_equal(pl + 38, "\x12\x40", 2);
	n = xxn_write(&p.hs[1], pl, XXN_PAYLOAD_LEN, p.m[1], sizeof(p.m[1]));
	assert_int_equal(n, 96 + XXN_PAYLOAD_LEN);
	n = xxn_read(&p.hs[0], p.m[1], (size_t)n, got, sizeof(got));
	assert_int_equal(n, XXN_PAYLOAD_LEN);
	assert_non_null(xxn_remote_static(&p.hs[0]));
	assert_memory_equal(xxn_remote_static(&p.hs[0]), xxn_local_static(&p.hs[1]), 32);
	memset(pk, 0, sizeof(pk));
	assert_int_equal(xxn_payload_check(got, (size_t)n, xxn_remote_static(&p.hs[0]), pk), 0);
	assert_memory_equal(pk, p.id[1].pk, 32);
	/* Positive control: the same payload for another static key is refused. */
	assert_int_equal(xxn_payload_check(got, (size_t)n, xxn_local_static(&p.hs[0]), pk), -EPERM);

	/* Message 3: the initiator's payload, checked by the responder. */
	n = xxn_payload_make(&p.id[0], xxn_local_static(&p.hs[0]), pl, sizeof(pl));
	n = xxn_write(&p.hs[0], pl, (size_t)n, p.m[2], sizeof(p.m[2]));
	assert_int_equal(n, 64 + XXN_PAYLOAD_LEN);
	assert_true(xxn_done(&p.hs[0]));
	assert_false(xxn_done(&p.hs[1]));
	n = xxn_read(&p.hs[1], p.m[2], (size_t)n, got, sizeof(got));
	assert_int_equal(n, XXN_PAYLOAD_LEN);
	assert_true(xxn_done(&p.hs[1]));
	assert_int_equal(xxn_payload_check(got, (size_t)n, xxn_remote_static(&p.hs[1]), pk), 0);
	assert_memory_equal(pk, p.id[0].pk, 32);
}

/* Finish a handshake and split: c[0] initiator's (send, recv), c[1] responder's. */
static void pair_split(struct pair *p, struct xxn_cs c[2][2])
{
	int k;

	for (k = 0; k < 3; k++)
		assert_true(pair_step(p, k) >= 0);
	xxn_split(&p->hs[0], &c[0][0], &c[0][1]);
	xxn_split(&p->hs[1], &c[1][0], &c[1][1]);
}

static void test_transport(void **state)
{
	static uint8_t pt[XXN_MAX_PLAIN + 1], ct[XXN_MAX_MSG + 1], back[XXN_MAX_MSG];
	struct xxn_cs c[2][2];
	struct pair p;
	int dir, n;

	(void)state;
	pair_init(&p);
	pair_split(&p, c);
	/* The remote static key outlives the split; secrets do not. */
	{
		uint8_t pub[32];

		crypto_scalarmult_base(pub, p.s[1]);
		assert_non_null(xxn_remote_static(&p.hs[0]));
		assert_memory_equal(xxn_remote_static(&p.hs[0]), pub, 32);
		assert_false(sodium_is_zero(c[0][0].k, 32));
		assert_memory_equal(c[0][0].k, c[1][1].k, 32);
		assert_memory_equal(c[0][1].k, c[1][0].k, 32);
		assert_true(sodium_is_zero(p.hs[1].ck, 32));
	}
	randombytes_buf(pt, sizeof(pt));
	for (dir = 0; dir < 2; dir++) {
		struct xxn_cs *tx = &c[dir][0], *rx = &c[1 - dir][1];

		/* Empty message: just a tag. */
		n = xxn_encrypt(tx, pt, 0, ct, sizeof(ct));
		assert_int_equal(n, XXN_TAG);
		assert_int_equal(xxn_decrypt(rx, ct, (size_t)n, back, sizeof(back)), 0);
		/* The largest: exactly one 65535-byte Noise message. */
		n = xxn_encrypt(tx, pt, XXN_MAX_PLAIN, ct, sizeof(ct));
		assert_int_equal(n, XXN_MAX_MSG);
		assert_int_equal(xxn_decrypt(rx, ct, (size_t)n, back, sizeof(back)), XXN_MAX_PLAIN);
		assert_memory_equal(back, pt, XXN_MAX_PLAIN);
		assert_int_equal(xxn_encrypt(tx, pt, XXN_MAX_PLAIN + 1, ct, sizeof(ct)), -EMSGSIZE);
		assert_int_equal(xxn_decrypt(rx, ct, XXN_MAX_MSG + 1, back, sizeof(back)),
		                 -EBADMSG);
		assert_int_equal(xxn_encrypt(tx, pt, 10, ct, 25), -ENOBUFS);
		assert_int_equal(tx->n, 2);
		assert_int_equal(rx->n, 2);
		/* In place. */
		memcpy(ct, "hello", 5);
		n = xxn_encrypt(tx, ct, 5, ct, sizeof(ct));
		assert_int_equal(n, 5 + XXN_TAG);
		assert_int_equal(xxn_decrypt(rx, ct, (size_t)n, ct, sizeof(ct)), 5);
		assert_memory_equal(ct, "hello", 5);
	}
	/* Keys differ per direction: a message cannot be reflected back to its sender. */
	n = xxn_encrypt(&c[0][0], pt, 8, ct, sizeof(ct));
	assert_int_equal(xxn_decrypt(&c[0][1], ct, (size_t)n, back, sizeof(back)), -EBADMSG);
	assert_int_equal(xxn_decrypt(&c[1][1], ct, (size_t)n, back, sizeof(back)), 8);
}

static void test_nonce_counting(void **state)
{
	uint8_t ct[3][64], back[64];
	struct xxn_cs c[2][2];
	struct pair p;
	int n[3], i;

	(void)state;
	pair_init(&p);
	pair_split(&p, c);
	for (i = 0; i < 3; i++) {
		n[i] = xxn_encrypt(&c[1][0], (const uint8_t *)"abcdefgh", 8, ct[i], sizeof(ct[i]));
		assert_int_equal(n[i], 8 + XXN_TAG);
	}
	assert_int_equal(xxn_decrypt(&c[0][1], ct[0], (size_t)n[0], back, sizeof(back)), 8);
	/* Replayed: the nonce moved on. */
	assert_int_equal(xxn_decrypt(&c[0][1], ct[0], (size_t)n[0], back, sizeof(back)), -EBADMSG);
	/* Reordered: the third before the second. */
	assert_int_equal(xxn_decrypt(&c[0][1], ct[2], (size_t)n[2], back, sizeof(back)), -EBADMSG);
	/* Failures did not move the counter: the second and third still open, in order. */
	assert_int_equal(c[0][1].n, 1);
	assert_int_equal(xxn_decrypt(&c[0][1], ct[1], (size_t)n[1], back, sizeof(back)), 8);
	assert_int_equal(xxn_decrypt(&c[0][1], ct[2], (size_t)n[2], back, sizeof(back)), 8);
	assert_int_equal(xxn_decrypt(&c[0][1], ct[2], 3, back, sizeof(back)), -EBADMSG);
	/* A spent counter refuses both ways rather than reuse a nonce. */
	c[1][0].n = UINT64_MAX;
	assert_int_equal(xxn_encrypt(&c[1][0], back, 1, ct[0], sizeof(ct[0])), -EOVERFLOW);
	c[0][1].n = UINT64_MAX;
	assert_int_equal(xxn_decrypt(&c[0][1], ct[1], (size_t)n[1], back, sizeof(back)),
	                 -EOVERFLOW);
}

/*
 * Flip each bit position of each handshake message in flight: the handshake must fail, at
 * that message's read or (message 1 carries no tag) at the next read by its sender.
 */
static void test_tamper(void **state)
{
	struct pair ref;
	int k;

	(void)state;
	pair_init(&ref);
	for (k = 0; k < 3; k++)
		assert_true(pair_step(&ref, k) >= 0);
	for (k = 0; k < 3; k++) {
		size_t pos;

		for (pos = 0; pos < ref.mlen[k]; pos++) {
			struct pair p = ref;
			uint8_t msg[512], got[512];
			int j, rc, failed = 0;

			/* Replay the good exchange up to message k from the saved states. */
			pair_init(&p);
			memcpy(p.s, ref.s, sizeof(p.s));
			memcpy(p.id, ref.id, sizeof(p.id));
			xxn_init(&p.hs[0], XXN_INITIATOR, p.s[0]);
			xxn_set_ephemeral(&p.hs[0], ref.hs[0].e);
			xxn_init(&p.hs[1], XXN_RESPONDER, p.s[1]);
			xxn_set_ephemeral(&p.hs[1], ref.hs[1].e);
			for (j = 0; j < k; j++)
				assert_true(pair_step(&p, j) >= 0);
			/* Message k, tampered. */
			{
				int w = k % 2, n;
				uint8_t pl[XXN_PAYLOAD_LEN];
				size_t plen = 0;

				if (k > 0)
					plen = (size_t)xxn_payload_make(
					    &p.id[w], xxn_local_static(&p.hs[w]), pl, sizeof(pl));
				n = xxn_write(&p.hs[w], pl, plen, msg, sizeof(msg));
				assert_int_equal(n, (int)ref.mlen[k]);
				msg[pos] ^= (uint8_t)(1u << (pos % 8));
				rc = xxn_read(&p.hs[1 - w], msg, (size_t)n, got, sizeof(got));
			}
			if (rc < 0) {
				assert_int_equal(rc, -EBADMSG);
				failed = 1;
				/* A failed handshake stays failed. */
				assert_int_equal(xxn_read(&p.hs[1 - k % 2], msg, 0, got, 0),
				                 -EINVAL);
			} else {
				/* Only message 1 has no authentication of its own. */
				assert_int_equal(k, 0);
				rc = xxn_write(&p.hs[1], NULL, 0, msg, sizeof(msg));
				if (rc >= 0)
					rc = xxn_read(&p.hs[0], msg, (size_t)rc, got, sizeof(got));
				failed = rc == -EBADMSG;
			}
			assert_true(failed);
		}
	}
}

/* A NoiseHandshakePayload from parts: key protobuf, signature, extra trailing fields. */
static size_t payload_build(uint8_t *out, size_t cap, const uint8_t *key, size_t klen,
                            const uint8_t *sig, size_t slen)
{
	struct wbuf w;

	wbuf_init(&w, out, cap);
	if (key)
		assert_int_equal(pb_put_bytes(&w, 1, key, klen), 0);
	if (sig)
		assert_int_equal(pb_put_bytes(&w, 2, sig, slen), 0);
	return w.pos;
}

static void test_payload_check(void **state)
{
	struct identity a, b;
	uint8_t seed[32], s_pub[32], key[64], msg[56], sig[64], pk[32], buf[512];
	uint8_t big[300];
	size_t n;
	struct wbuf w;

	(void)state;
	memset(seed, 1, sizeof(seed));
	identity_from_seed(&a, seed);
	memset(seed, 2, sizeof(seed));
	identity_from_seed(&b, seed);
	randombytes_buf(s_pub, sizeof(s_pub));
	memcpy(msg, "noise-libp2p-static-key:", 24);
	memcpy(msg + 24, s_pub, 32);

	/* Built independently of xxn_payload_make: a's key, a's signature. */
	assert_int_equal(peerid_pubkey_encode(a.pk, key, sizeof(key)), 36);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), a.sk);
	n = payload_build(buf, sizeof(buf), key, 36, sig, 64);
	assert_int_equal(n, XXN_PAYLOAD_LEN);
	assert_int_equal(xxn_payload_check(buf, n, s_pub, pk), 0);
	assert_memory_equal(pk, a.pk, 32);
	{
		uint8_t mine[XXN_PAYLOAD_LEN];

		assert_int_equal(xxn_payload_make(&a, s_pub, mine, sizeof(mine)), XXN_PAYLOAD_LEN);
		assert_memory_equal(mine, buf, XXN_PAYLOAD_LEN); /* Ed25519 is deterministic */
		assert_int_equal(xxn_payload_make(&a, s_pub, mine, XXN_PAYLOAD_LEN - 1), -ENOBUFS);
	}

	/* Extensions (stream_muxers "/yamux/1.0.0") and unknown fields are skipped. */
	wbuf_init(&w, buf + n, sizeof(buf) - n);
	{
		uint8_t ext[32];
		struct wbuf e;

		wbuf_init(&e, ext, sizeof(ext));
		assert_int_equal(pb_put_str(&e, 2, "/yamux/1.0.0"), 0);
		assert_int_equal(pb_put_bytes(&w, 4, ext, e.pos), 0);
		assert_int_equal(pb_put_uint(&w, 99, 7), 0);
	}
	assert_int_equal(xxn_payload_check(buf, n + w.pos, s_pub, pk), 0);

	/* Another identity's signature under a's key, and a's signature under b's key. */
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), b.sk);
	n = payload_build(buf, sizeof(buf), key, 36, sig, 64);
	assert_int_equal(xxn_payload_check(buf, n, s_pub, pk), -EPERM);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), a.sk);
	assert_int_equal(peerid_pubkey_encode(b.pk, key, sizeof(key)), 36);
	n = payload_build(buf, sizeof(buf), key, 36, sig, 64);
	assert_int_equal(xxn_payload_check(buf, n, s_pub, pk), -EPERM);
	/* A signature over the bare key, without the prefix. */
	crypto_sign_detached(sig, NULL, s_pub, 32, b.sk);
	n = payload_build(buf, sizeof(buf), key, 36, sig, 64);
	assert_int_equal(xxn_payload_check(buf, n, s_pub, pk), -EPERM);

	/* Other key types: RSA (0) with a 256-byte signature, Secp256k1 (2), ECDSA (3). */
	{
		static const uint8_t rsa[] = {0x08, 0x00, 0x12, 0x04, 0x30, 0x82, 0x01, 0x22};
		static const uint8_t secp[] = {
		    0x08, 0x02, 0x12, 0x21, 0x02, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88,
		    0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55,
		    0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff, 0x01};
		static const uint8_t ecdsa[] = {0x08, 0x03, 0x12, 0x02, 0x30, 0x59};

		memset(big, 0x5a, sizeof(big));
		n = payload_build(buf, sizeof(buf), rsa, sizeof(rsa), big, 256);
		assert_int_equal(xxn_payload_check(buf, n, s_pub, pk), -EPROTONOSUPPORT);
		n = payload_build(buf, sizeof(buf), secp, sizeof(secp), big, 70);
		assert_int_equal(xxn_payload_check(buf, n, s_pub, pk), -EPROTONOSUPPORT);
		n = payload_build(buf, sizeof(buf), ecdsa, sizeof(ecdsa), big, 71);
		assert_int_equal(xxn_payload_check(buf, n, s_pub, pk), -EPROTONOSUPPORT);
	}

	/* Malformed: missing parts, repeated parts, wrong sizes, wrong wire types, truncation. */
	assert_int_equal(peerid_pubkey_encode(a.pk, key, sizeof(key)), 36);
	crypto_sign_detached(sig, NULL, msg, sizeof(msg), a.sk);
	n = payload_build(buf, sizeof(buf), key, 36, NULL, 0);
	assert_int_equal(xxn_payload_check(buf, n, s_pub, pk), -EBADMSG);
	n = payload_build(buf, sizeof(buf), NULL, 0, sig, 64);
	assert_int_equal(xxn_payload_check(buf, n, s_pub, pk), -EBADMSG);
	assert_int_equal(xxn_payload_check(buf, 0, s_pub, pk), -EBADMSG);
	n = payload_build(buf, sizeof(buf), key, 36, sig, 63);
	assert_int_equal(xxn_payload_check(buf, n, s_pub, pk), -EBADMSG);
	n = payload_build(buf, sizeof(buf), key, 35, sig, 64);
	assert_int_equal(xxn_payload_check(buf, n, s_pub, pk), -EBADMSG);
	n = payload_build(buf, sizeof(buf), key, 36, sig, 64);
	n += payload_build(buf + n, sizeof(buf) - n, key, 36, NULL, 0);
	assert_int_equal(xxn_payload_check(buf, n, s_pub, pk), -EBADMSG);
	n = payload_build(buf, sizeof(buf), key, 36, sig, 64);
	n += payload_build(buf + n, sizeof(buf) - n, NULL, 0, sig, 64);
	assert_int_equal(xxn_payload_check(buf, n, s_pub, pk), -EBADMSG);
	n = payload_build(buf, sizeof(buf), key, 36, sig, 64);
	wbuf_init(&w, buf + n, sizeof(buf) - n);
	assert_int_equal(pb_put_uint(&w, 1, 5), 0);
	assert_int_equal(xxn_payload_check(buf, n + w.pos, s_pub, pk), -EBADMSG);
	n = payload_build(buf, sizeof(buf), key, 36, sig, 64);
	assert_int_equal(xxn_payload_check(buf, n - 1, s_pub, pk), -EBADMSG);
	/* Positive control of the block: the last good payload passes. */
	assert_int_equal(xxn_payload_check(buf, n, s_pub, pk), 0);
}

/* The responder presents a payload signed for someone else's static key: -EPERM. */
static void test_handshake_wrong_signer(void **state)
{
	struct pair p;
	uint8_t pl[XXN_PAYLOAD_LEN], got[512], pk[32], other[32];
	int n;

	(void)state;
	pair_init(&p);
	assert_int_equal(pair_step(&p, 0), 0);
	randombytes_buf(other, sizeof(other));
	assert_int_equal(xxn_payload_make(&p.id[1], other, pl, sizeof(pl)), XXN_PAYLOAD_LEN);
	n = xxn_write(&p.hs[1], pl, sizeof(pl), p.m[1], sizeof(p.m[1]));
	n = xxn_read(&p.hs[0], p.m[1], (size_t)n, got, sizeof(got));
	assert_int_equal(n, XXN_PAYLOAD_LEN);
	assert_int_equal(xxn_payload_check(got, (size_t)n, xxn_remote_static(&p.hs[0]), pk),
	                 -EPERM);
}

static void test_wrong_turn(void **state)
{
	struct xxn_cs send, recv;
	uint8_t buf[512], got[512];
	struct pair p;
	int n;

	(void)state;
	pair_init(&p);
	/* The responder speaks second, the initiator does not read first. */
	assert_int_equal(xxn_write(&p.hs[1], NULL, 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(xxn_read(&p.hs[0], buf, 32, got, sizeof(got)), -EINVAL);
	/* Split before done hands out dead cipher states. */
	xxn_split(&p.hs[1], &send, &recv);
	assert_int_equal(xxn_encrypt(&send, buf, 1, got, sizeof(got)), -EOVERFLOW);
	assert_int_equal(xxn_decrypt(&recv, buf, 17, got, sizeof(got)), -EOVERFLOW);
	assert_int_equal(pair_step(&p, 0), 0);
	/* Twice in a row is a wrong turn too. */
	assert_int_equal(xxn_write(&p.hs[0], NULL, 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(xxn_read(&p.hs[1], p.m[0], p.mlen[0], got, sizeof(got)), -EINVAL);
	assert_int_equal(pair_step(&p, 1), XXN_PAYLOAD_LEN);
	assert_int_equal(pair_step(&p, 2), XXN_PAYLOAD_LEN);
	/* Done: nothing more to write or read. */
	assert_int_equal(xxn_write(&p.hs[0], NULL, 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(xxn_write(&p.hs[1], NULL, 0, buf, sizeof(buf)), -EINVAL);
	assert_int_equal(xxn_read(&p.hs[0], p.m[1], p.mlen[1], got, sizeof(got)), -EINVAL);
	assert_int_equal(xxn_read(&p.hs[1], p.m[2], p.mlen[2], got, sizeof(got)), -EINVAL);
	xxn_split(&p.hs[0], &send, &recv);
	assert_true(xxn_done(&p.hs[0]));
	/* A second split is refused: the handshake secrets are gone. */
	xxn_split(&p.hs[0], &send, &recv);
	assert_int_equal(send.n, UINT64_MAX);
	n = xxn_encrypt(&send, buf, 1, got, sizeof(got));
	assert_int_equal(n, -EOVERFLOW);
	xxn_clear(&p.hs[1]);
}

/* Size limits and short buffers: refused without harm to the handshake. */
static void test_sizes(void **state)
{
	static uint8_t big[XXN_MAX_MSG + 1], out[XXN_MAX_MSG + 1], got[XXN_MAX_MSG];
	struct pair p;
	int n;

	(void)state;
	pair_init(&p);
	assert_int_equal(xxn_write(&p.hs[0], big, XXN_MAX_MSG - 32 + 1, out, sizeof(out)),
	                 -EMSGSIZE);
	assert_int_equal(xxn_write(&p.hs[0], big, 4, out, 35), -ENOBUFS);
	/* Largest first message: still fine after the refusals. */
	n = xxn_write(&p.hs[0], big, XXN_MAX_MSG - 32, out, sizeof(out));
	assert_int_equal(n, XXN_MAX_MSG);
	assert_int_equal(xxn_read(&p.hs[1], out, (size_t)n, got, 10), -ENOBUFS);
	assert_int_equal(xxn_read(&p.hs[1], out, (size_t)n, got, sizeof(got)), XXN_MAX_MSG - 32);
	/* Message 2 at its limit and one past it. */
	assert_int_equal(xxn_write(&p.hs[1], big, XXN_MAX_MSG - 96 + 1, out, sizeof(out)),
	                 -EMSGSIZE);
	n = xxn_write(&p.hs[1], big, XXN_MAX_MSG - 96, out, sizeof(out));
	assert_int_equal(n, XXN_MAX_MSG);
	/* An over-long message fails the reader. */
	assert_int_equal(xxn_read(&p.hs[0], out, XXN_MAX_MSG + 1, got, sizeof(got)), -EBADMSG);
	assert_int_equal(xxn_read(&p.hs[0], out, (size_t)n, got, sizeof(got)), -EINVAL);

	/* Too short for its keys. */
	pair_init(&p);
	assert_int_equal(xxn_read(&p.hs[1], out, 31, got, sizeof(got)), -EBADMSG);
	pair_init(&p);
	assert_int_equal(pair_step(&p, 0), 0);
	n = xxn_write(&p.hs[1], NULL, 0, out, sizeof(out));
	assert_int_equal(n, 96);
	assert_int_equal(xxn_read(&p.hs[0], out, 95, got, sizeof(got)), -EBADMSG);
}

/* A low-order ephemeral key (all zeros) would give a known DH result: refused. */
static void test_low_order(void **state)
{
	uint8_t msg[32] = {0}, got[16], out[256];
	struct pair p;

	(void)state;
	pair_init(&p);
	assert_int_equal(xxn_read(&p.hs[1], msg, sizeof(msg), got, sizeof(got)), 0);
	assert_int_equal(xxn_write(&p.hs[1], NULL, 0, out, sizeof(out)), -EBADMSG);
	assert_int_equal(xxn_write(&p.hs[1], NULL, 0, out, sizeof(out)), -EINVAL);
	/* Positive control: a real key goes through. */
	pair_init(&p);
	assert_int_equal(pair_step(&p, 0), 0);
	assert_int_equal(xxn_write(&p.hs[1], NULL, 0, out, sizeof(out)), 96);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_cacophony_vector),
	    cmocka_unit_test(test_handshake_payloads),
	    cmocka_unit_test(test_transport),
	    cmocka_unit_test(test_nonce_counting),
	    cmocka_unit_test(test_tamper),
	    cmocka_unit_test(test_payload_check),
	    cmocka_unit_test(test_handshake_wrong_signer),
	    cmocka_unit_test(test_wrong_turn),
	    cmocka_unit_test(test_sizes),
	    cmocka_unit_test(test_low_order),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
