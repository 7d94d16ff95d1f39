/* Unit tests: common/seal.c */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "frame.h"
#include "seal.h"

static void test_seal_open_and_tamper(void **state)
{
	uint8_t key[32], sid[16], sid2[16], frame[256], copy[256];
	const char *msg = "a WireGuard packet, already encrypted";
	size_t len = strlen(msg), n;
	struct replay rp;

	(void)state;
	assert_true(sodium_init() >= 0);
	randombytes_buf(key, sizeof(key));
	randombytes_buf(sid, sizeof(sid));
	memcpy(sid2, sid, 16);
	sid2[0] ^= 1;
	memcpy(frame + PROTO_SEALED_HDR_LEN, msg, len);
	n = seal_data(frame, len, 77, 3, sid, key);
	assert_int_equal(n, len + 32);
	assert_int_equal(frame_check(frame, n), PROTO_DATA);
	/* Plaintext does not appear on the wire. */
	assert_null(memmem(frame, n, "WireGuard", 9));
	replay_init(&rp);
	for (size_t i = 0; i < n; i++) {
		memcpy(copy, frame, n);
		copy[i] ^= 0x01;
		assert_true(seal_open_data(copy, n, sid, key, &rp) < 0);
	}
	/* The nonce is rebuilt from the session: another session's sid cannot open it. */
	memcpy(copy, frame, n);
	assert_int_equal(seal_open_data(copy, n, sid2, key, &rp), FRAME_EAUTH);
	memcpy(copy, frame, n);
	assert_int_equal(seal_open_data(copy, n, sid, key, &rp), (int)len);
	assert_memory_equal(copy + PROTO_SEALED_HDR_LEN, msg, len);
	memcpy(copy, frame, n);
	assert_int_equal(seal_open_data(copy, n, sid, key, &rp), FRAME_EREPLAY);
	assert_int_equal(seal_open_data(copy, PROTO_SEALED_OVERHEAD, sid, key, &rp), FRAME_ESHORT);
}

/*
 * PROTOCOL.md §5.4 defines DATA frames as XChaCha20-Poly1305 with nonce sid || counter: checked
 * here against libsodium's XChaCha20 itself, and the session-key forms against both.
 */
static void test_sealing_is_xchacha20(void **state)
{
	uint8_t key[32], sid[16], sk[32], nonce[24], a[1500], b[1500], ref[1500];
	unsigned long long rlen;
	struct replay rp;
	uint64_t counter = 0;
	size_t n;

	(void)state;
	randombytes_buf(key, sizeof(key));
	randombytes_buf(sid, sizeof(sid));
	seal_session_key(sk, key, sid);
	replay_init(&rp);
	for (size_t len = 1; len <= 1424; len += 141) {
		for (int k = 0; k < 3; k++, counter += 1000003) {
			randombytes_buf(a + PROTO_SEALED_HDR_LEN, len);
			memcpy(b, a, sizeof(a));
			n = seal_data(a, len, 0x01020304, counter, sid, key);
			assert_int_equal(seal_data_sk(b, len, 0x01020304, counter, sk), n);
			assert_memory_equal(a, b, n);
			/* The reference: header as associated data, nonce = sid || counter (BE). */
			memcpy(nonce, sid, 16);
			memcpy(nonce + 16, a + 8, 8);
			assert_int_equal(crypto_aead_xchacha20poly1305_ietf_decrypt(
			                     ref, &rlen, NULL, a + PROTO_SEALED_HDR_LEN,
			                     n - PROTO_SEALED_HDR_LEN, a, PROTO_SEALED_HDR_LEN,
			                     nonce, key),
			                 0);
			assert_int_equal(rlen, len);
			assert_int_equal(seal_open_data_sk(b, n, sk, &rp), (int)len);
			assert_memory_equal(b + PROTO_SEALED_HDR_LEN, ref, len);
		}
	}
	/* The session key of one sid does not open another session's frame. */
	sid[15] ^= 0x80;
	n = seal_data(a, 100, 1, counter, sid, key);
	assert_int_equal(seal_open_data_sk(a, n, sk, &rp), FRAME_EAUTH);
}

/* The cache derives both keys for a new gen and keeps them while the gen stays. */
static void test_session_cache(void **state)
{
	uint8_t ks[32], kr[32], other[32], sid[16], want[32];
	struct seal_session c = {.gen = 0};

	(void)state;
	randombytes_buf(ks, sizeof(ks));
	randombytes_buf(kr, sizeof(kr));
	randombytes_buf(other, sizeof(other));
	randombytes_buf(sid, sizeof(sid));
	seal_session_update(&c, 1, ks, kr, sid);
	seal_session_key(want, ks, sid);
	assert_memory_equal(c.send, want, 32);
	seal_session_key(want, kr, sid);
	assert_memory_equal(c.recv, want, 32);
	/* Same gen: the keys given are not looked at again. */
	seal_session_update(&c, 1, other, other, sid);
	assert_memory_equal(c.recv, want, 32);
	seal_session_update(&c, 2, other, other, sid);
	seal_session_key(want, other, sid);
	assert_memory_equal(c.send, want, 32);
	assert_int_equal(c.gen, 2);
}

static void test_data_key_is_distinct(void **state)
{
	uint8_t t[32], d[32];

	(void)state;
	randombytes_buf(t, sizeof(t));
	seal_derive_data_key(d, t);
	assert_memory_not_equal(t, d, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seal_open_and_tamper),
	    cmocka_unit_test(test_sealing_is_xchacha20),
	    cmocka_unit_test(test_session_cache),
	    cmocka_unit_test(test_data_key_is_distinct),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
