/* Unit tests: common/identity.c (and the shared key-file code in common/key.c it uses) */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "identity.h"
#include "key.h"
#include "testutil.h"

static int setup(void **state)
{
	return sodium_init() < 0 ? -1 : testutil_scratch_setup(state);
}

/* The key pair is libsodium's for the seed, and it signs what it should. */
static void test_from_seed(void **state)
{
	uint8_t seed[32], pk[32], sk[64], sig[64];
	struct identity id, id2;

	(void)state;
	memset(seed, 7, sizeof(seed));
	identity_from_seed(&id, seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	assert_memory_equal(id.pk, pk, 32);
	assert_memory_equal(id.sk, sk, 64);
	assert_true(crypto_core_ed25519_is_valid_point(id.pk));
	crypto_sign_detached(sig, NULL, (const uint8_t *)"m", 1, id.sk);
	assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)"m", 1, id.pk), 0);
	/* Another seed, another identity (the positive control of the comparison above). */
	seed[0] ^= 1;
	identity_from_seed(&id2, seed);
	assert_memory_not_equal(id.pk, id2.pk, 32);
	identity_wipe(&id);
	assert_true(sodium_is_zero((const uint8_t *)&id, sizeof(id)));
}

/*
 * Created, then reloaded: the same identity, from a 0600 file of one base64 line that holds
 * the seed itself (not clamped: an Ed25519 seed is hashed, every bit of it counts).
 */
static void test_create_reload(void **state)
{
	struct identity id, id2, id3;
	char path[128], text[128], err[256];
	uint8_t seed[32];
	bool created = false;
	struct stat st;
	FILE *f;

	(void)state;
	testutil_path(path, sizeof(path), "identity");
	assert_int_equal(identity_load(&id, path, err, sizeof(err)), -ENOENT);
	assert_int_equal(identity_load_or_create(&id, path, &created, err, sizeof(err)), 0);
	assert_true(created);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	assert_int_equal(st.st_size, KEY_B64_LEN + 1);
	assert_int_equal(identity_load_or_create(&id2, path, &created, err, sizeof(err)), 0);
	assert_false(created);
	assert_memory_equal(id.pk, id2.pk, 32);
	assert_memory_equal(id.sk, id2.sk, 64);
	assert_int_equal(identity_load(&id3, path, err, sizeof(err)), 0);
	assert_memory_equal(id.pk, id3.pk, 32);
	/* The file is the seed: the first half of libsodium's secret key. */
	f = fopen(path, "r");
	assert_non_null(f);
	assert_non_null(fgets(text, sizeof(text), f));
	fclose(f);
	text[strcspn(text, "\n")] = '\0';
	assert_int_equal(key_from_base64(seed, text), 0);
	assert_memory_equal(seed, id.sk, 32);
	/* A second relay gets another identity. */
	testutil_path(path, sizeof(path), "identity2");
	assert_int_equal(identity_load_or_create(&id3, path, &created, err, sizeof(err)), 0);
	assert_true(created);
	assert_memory_not_equal(id.pk, id3.pk, 32);
	/* No temporary files left behind. */
	assert_int_equal(testutil_scratch_entries(), 2);
}

/* An identity beside an existing Noise key: the key file is left exactly as it was. */
static void test_beside_noise_key(void **state)
{
	uint8_t k1[KEY_LEN], k2[KEY_LEN];
	char key[128], idpath[128], err[256];
	struct identity id;
	bool created;

	(void)state;
	testutil_path(key, sizeof(key), "noise.key");
	testutil_path(idpath, sizeof(idpath), "noise.identity");
	assert_int_equal(key_load_or_create(k1, key, &created), 0);
	assert_true(created);
	assert_int_equal(identity_load_or_create(&id, idpath, &created, err, sizeof(err)), 0);
	assert_true(created);
	assert_int_equal(key_load_file(k2, key), 0);
	assert_true(key_equal(k1, k2));
	/* The Noise key file is not an identity the other way round either: both stay valid. */
	assert_int_equal(identity_load(&id, key, err, sizeof(err)), 0);
	assert_int_equal(key_load_file(k2, idpath), 0);
}

/* Group- or world-accessible: refused, never replaced, with a message naming path and mode. */
static void test_wrong_mode(void **state)
{
	struct identity id, before;
	char path[128], err[256];
	bool created = true;

	(void)state;
	testutil_path(path, sizeof(path), "mode.identity");
	assert_int_equal(identity_load_or_create(&before, path, &created, err, sizeof(err)), 0);
	assert_int_equal(chmod(path, 0640), 0);
	memset(&id, 0xaa, sizeof(id));
	assert_int_equal(identity_load_or_create(&id, path, &created, err, sizeof(err)), -EPERM);
	assert_false(created);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "mode 0640"));
	/* Nothing of a half-loaded identity is left for a careless caller. */
	assert_true(sodium_is_zero((const uint8_t *)&id, sizeof(id)));
	assert_int_equal(identity_load(&id, path, err, sizeof(err)), -EPERM);
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(identity_load(&id, path, err, sizeof(err)), -EPERM);
	assert_int_equal(chmod(path, 0400), 0);
	assert_int_equal(identity_load(&id, path, err, sizeof(err)), 0);
	assert_memory_equal(id.pk, before.pk, 32);
}

/* A symbolic link, to a good identity or to nowhere: refused, nothing written through it. */
static void test_symlink(void **state)
{
	char path[128], target[128], err[256];
	struct identity id;
	bool created = true;
	struct stat st;

	(void)state;
	testutil_path(target, sizeof(target), "real.identity");
	assert_int_equal(identity_load_or_create(&id, target, &created, err, sizeof(err)), 0);
	testutil_path(path, sizeof(path), "link.identity");
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(identity_load(&id, path, err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, "is a symbolic link"));
	assert_int_equal(identity_load_or_create(&id, path, &created, err, sizeof(err)), -ELOOP);
	assert_false(created);

	testutil_path(target, sizeof(target), "planted");
	testutil_path(path, sizeof(path), "dangling.identity");
	assert_int_equal(symlink(target, path), 0);
	assert_int_not_equal(identity_load_or_create(&id, path, &created, err, sizeof(err)), 0);
	assert_false(created);
	assert_non_null(strstr(err, "is a symbolic link"));
	assert_int_equal(lstat(target, &st), -1);
}

/* Content that is not one base64 seed: an error naming the file, not a fresh identity. */
static void test_garbage(void **state)
{
	static const char *const bad[] = {
	    "garbage\n",
	    "",
	    "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk\n",   /* no padding */
	    "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmn=\n",  /* non-canonical */
	    "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\nx", /* a second line */
	};
	char path[128], err[256];
	struct identity id;
	bool created = true;

	(void)state;
	testutil_path(path, sizeof(path), "garbage.identity");
	/* Positive control: the good spelling loads from the same place. */
	testutil_write(path, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=\n", 0600);
	assert_int_equal(identity_load(&id, path, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		testutil_write(path, bad[i], 0600);
		assert_int_equal(identity_load_or_create(&id, path, &created, err, sizeof(err)),
		                 -EINVAL);
		assert_false(created);
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, "not an identity"));
	}
	/* A missing directory is an error: directories are not made here. */
	testutil_path(path, sizeof(path), "missing/identity");
	assert_int_equal(identity_load_or_create(&id, path, &created, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_from_seed),        cmocka_unit_test(test_create_reload),
	    cmocka_unit_test(test_beside_noise_key), cmocka_unit_test(test_wrong_mode),
	    cmocka_unit_test(test_symlink),          cmocka_unit_test(test_garbage),
	};

	return cmocka_run_group_tests(tests, setup, testutil_scratch_teardown);
}
