/* Unit tests: common/noise.c against the published Noise_IK_ and Noise_NK_25519_ChaChaPoly_BLAKE2b
 * vectors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "noise.h"

struct vec {
	char name[32];
	uint8_t v[256];
	size_t len;
};

static struct vec ik[32], nk[32], *vecs;
static size_t nik, nnk, nvecs;

/* The "name = hex" lines of tests/data/noise/FILE into v (at most 32); their number. */
static size_t load_file(const char *file, struct vec *v)
{
	const char *src = getenv("WGR_SOURCE_DIR");
	char path[1024], line[1024];
	size_t n = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tests/data/noise/%s", src, file);
	f = fopen(path, "r");
	if (!f)
		return 0;
	while (fgets(line, sizeof(line), f) && n < 32) {
		char name[32], hex[600];
		size_t len;

		if (line[0] == '#' || sscanf(line, "%31s = %599s", name, hex) != 2)
			continue;
		if (sodium_hex2bin(v[n].v, sizeof(v[n].v), hex, strlen(hex), NULL, &len, NULL) != 0)
			continue; /* protocol_name is text */
		strcpy(v[n].name, name);
		v[n].len = len;
		n++;
	}
	fclose(f);
	return n;
}

static int load_vectors(void **state)
{
	(void)state;
	if (sodium_init() < 0 || !getenv("WGR_SOURCE_DIR"))
		return -1;
	nik = load_file("IK_25519_ChaChaPoly_BLAKE2b.txt", ik);
	nnk = load_file("NK_25519_ChaChaPoly_BLAKE2b.txt", nk);
	vecs = ik;
	nvecs = nik;
	return nik >= 14 && nnk >= 13 ? 0 : -1;
}

static const struct vec *V(const char *name)
{
	for (size_t i = 0; i < nvecs; i++)
		if (!strcmp(vecs[i].name, name))
			return &vecs[i];
	fail_msg("vector %s missing", name);
	return NULL;
}

/*
 * One published vector (the current vecs) end to end: both handshake messages byte for byte,
 * the handshake hash, and the first transport message each way after noise_split.
 * nk_pattern: the NK pattern (the initiator has no static key).
 */
static void run_vector(bool nk_pattern)
{
	struct noise_hs ini, rsp;
	uint8_t msg[256], pl[256], i2r[32], r2i[32], i2r_r[32], r2i_r[32], out[256];
	const struct vec *m0 = V("msg0_ciphertext"), *m1 = V("msg1_ciphertext");
	const struct vec *pro = V("init_prologue");
	int n;

	if (nk_pattern) {
		noise_hs_init_nk(&ini, NOISE_INITIATOR, pro->v, pro->len, NULL,
		                 V("init_remote_static")->v);
		noise_hs_init_nk(&rsp, NOISE_RESPONDER, pro->v, pro->len, V("resp_static")->v,
		                 NULL);
	} else {
		noise_hs_init(&ini, NOISE_INITIATOR, pro->v, pro->len, V("init_static")->v,
		              V("init_remote_static")->v);
		noise_hs_init(&rsp, NOISE_RESPONDER, pro->v, pro->len, V("resp_static")->v, NULL);
	}
	noise_hs_set_ephemeral(&ini, V("init_ephemeral")->v);
	noise_hs_set_ephemeral(&rsp, V("resp_ephemeral")->v);

	n = noise_write_msg1(&ini, V("msg0_payload")->v, V("msg0_payload")->len, msg, sizeof(msg));
	assert_int_equal(n, m0->len);
	assert_int_equal(n, nk_pattern ? NOISE_NK_MSG1_LEN(V("msg0_payload")->len)
	                               : NOISE_MSG1_LEN(V("msg0_payload")->len));
	assert_memory_equal(msg, m0->v, m0->len);
	n = noise_read_msg1(&rsp, msg, (size_t)n, pl, sizeof(pl));
	assert_int_equal(n, V("msg0_payload")->len);
	assert_memory_equal(pl, V("msg0_payload")->v, (size_t)n);

	n = noise_write_msg2(&rsp, V("msg1_payload")->v, V("msg1_payload")->len, msg, sizeof(msg));
	assert_int_equal(n, m1->len);
	assert_memory_equal(msg, m1->v, m1->len);
	n = noise_read_msg2(&ini, msg, (size_t)n, pl, sizeof(pl));
	assert_int_equal(n, V("msg1_payload")->len);
	assert_memory_equal(pl, V("msg1_payload")->v, (size_t)n);

	assert_memory_equal(ini.h, V("handshake_hash")->v, 64);
	assert_memory_equal(rsp.h, V("handshake_hash")->v, 64);

	noise_split(&ini, i2r, r2i);
	noise_split(&rsp, i2r_r, r2i_r);
	assert_memory_equal(i2r, i2r_r, 32);
	assert_memory_equal(r2i, r2i_r, 32);
	noise_encrypt(i2r, 0, NULL, 0, V("msg2_payload")->v, V("msg2_payload")->len, out);
	assert_memory_equal(out, V("msg2_ciphertext")->v, V("msg2_ciphertext")->len);
	noise_encrypt(r2i, 0, NULL, 0, V("msg3_payload")->v, V("msg3_payload")->len, out);
	assert_memory_equal(out, V("msg3_ciphertext")->v, V("msg3_ciphertext")->len);
	assert_int_equal(noise_decrypt(r2i, 0, NULL, 0, out, V("msg3_ciphertext")->len, pl), 0);
	assert_memory_equal(pl, V("msg3_payload")->v, V("msg3_payload")->len);
	assert_int_equal(noise_decrypt(r2i, 1, NULL, 0, out, V("msg3_ciphertext")->len, pl),
	                 -EBADMSG);
	noise_hs_clear(&ini);
	noise_hs_clear(&rsp);
}

static void test_ik_vector(void **state)
{
	(void)state;
	vecs = ik;
	nvecs = nik;
	run_vector(false);
}

/* NK: the initiator has no static key; -> e, es and <- e, ee, then transport messages. */
static void test_nk_vector(void **state)
{
	struct noise_hs ini, rsp;
	uint8_t msg[256], pl[256];
	int n;

	(void)state;
	vecs = nk;
	nvecs = nnk;
	run_vector(true);
	/* An IK responder does not take an NK message 1. */
	noise_hs_init_nk(&ini, NOISE_INITIATOR, V("init_prologue")->v, V("init_prologue")->len,
	                 NULL, V("init_remote_static")->v);
	n = noise_write_msg1(&ini, V("msg0_payload")->v, V("msg0_payload")->len, msg, sizeof(msg));
	noise_hs_init(&rsp, NOISE_RESPONDER, V("init_prologue")->v, V("init_prologue")->len,
	              V("resp_static")->v, NULL);
	assert_int_equal(noise_read_msg1(&rsp, msg, (size_t)n, pl, sizeof(pl)), -EBADMSG);
	noise_hs_clear(&ini);
	noise_hs_clear(&rsp);
	vecs = ik;
	nvecs = nik;
}

static void test_tamper_every_byte(void **state)
{
	uint8_t is[32], rs_priv[32], rs_pub[32], msg[256], pl[64];
	struct noise_hs ini, rsp;
	int n;

	(void)state;
	crypto_box_keypair(rs_pub, rs_priv);
	randombytes_buf(is, sizeof(is));
	noise_hs_init(&ini, NOISE_INITIATOR, (const uint8_t *)"p", 1, is, rs_pub);
	n = noise_write_msg1(&ini, (const uint8_t *)"hello", 5, msg, sizeof(msg));
	assert_int_equal(n, NOISE_MSG1_LEN(5));
	for (int i = 0; i < n; i++) {
		msg[i] ^= 0x01;
		noise_hs_init(&rsp, NOISE_RESPONDER, (const uint8_t *)"p", 1, rs_priv, NULL);
		assert_int_equal(noise_read_msg1(&rsp, msg, (size_t)n, pl, sizeof(pl)), -EBADMSG);
		msg[i] ^= 0x01;
	}
	/* Wrong prologue or wrong responder key: fails too. */
	noise_hs_init(&rsp, NOISE_RESPONDER, (const uint8_t *)"q", 1, rs_priv, NULL);
	assert_int_equal(noise_read_msg1(&rsp, msg, (size_t)n, pl, sizeof(pl)), -EBADMSG);
	noise_hs_init(&rsp, NOISE_RESPONDER, (const uint8_t *)"p", 1, is, NULL);
	assert_int_equal(noise_read_msg1(&rsp, msg, (size_t)n, pl, sizeof(pl)), -EBADMSG);
	/* Short input and wrong state. */
	noise_hs_init(&rsp, NOISE_RESPONDER, (const uint8_t *)"p", 1, rs_priv, NULL);
	assert_int_equal(noise_read_msg1(&rsp, msg, NOISE_MSG1_LEN(0) - 1, pl, sizeof(pl)),
	                 -EBADMSG);
	assert_int_equal(noise_write_msg2(&rsp, NULL, 0, msg, sizeof(msg)), -EINVAL);
	assert_int_equal(noise_read_msg1(&rsp, msg, (size_t)n, pl, 2), -ENOBUFS);
}

static void test_low_order_point_rejected(void **state)
{
	uint8_t rs_priv[32], rs_pub[32], msg[256], pl[16], zero[32] = {0};
	struct noise_hs rsp;

	(void)state;
	crypto_box_keypair(rs_pub, rs_priv);
	memset(msg, 0, sizeof(msg));
	memcpy(msg, zero, 32); /* ephemeral = the all-zero point */
	noise_hs_init(&rsp, NOISE_RESPONDER, (const uint8_t *)"p", 1, rs_priv, NULL);
	assert_int_equal(noise_read_msg1(&rsp, msg, NOISE_MSG1_LEN(0), pl, sizeof(pl)), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_ik_vector),
	    cmocka_unit_test(test_nk_vector),
	    cmocka_unit_test(test_tamper_every_byte),
	    cmocka_unit_test(test_low_order_point_rejected),
	};

	return cmocka_run_group_tests(tests, load_vectors, NULL);
}
