/* Unit tests: common/key.c */
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

#include "key.h"
#include "testutil.h"

static int setup(void **state)
{
	return sodium_init() < 0 ? -1 : testutil_scratch_setup(state);
}

static void test_base64_roundtrip(void **state)
{
	uint8_t k[KEY_LEN], k2[KEY_LEN];
	char b64[KEY_B64_STRLEN];

	(void)state;
	key_generate_private(k);
	assert_int_equal(k[0] & 7, 0);
	assert_int_equal(k[31] & 0xc0, 0x40);
	key_to_base64(b64, k);
	assert_int_equal(strlen(b64), KEY_B64_LEN);
	assert_int_equal(key_from_base64(k2, b64), 0);
	assert_true(key_equal(k, k2));
}

static void test_base64_rejects(void **state)
{
	/* A canonical wg-style key: 43 characters plus one padding character. */
	const char *good = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
	uint8_t k[KEY_LEN];

	(void)state;
	assert_int_equal(key_from_base64(k, good), 0);
	assert_int_equal(key_from_base64(k, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk"),
	                 -EINVAL);
	assert_int_equal(key_from_base64(k, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=="),
	                 -EINVAL);
	/* Non-canonical: last character carries bits beyond the 256. */
	assert_int_equal(key_from_base64(k, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmn="),
	                 -EINVAL);
	assert_int_equal(key_from_base64(k, "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3f!mk="),
	                 -EINVAL);
	assert_int_equal(key_from_base64(k, ""), -EINVAL);
}

static void test_public_key(void **state)
{
	uint8_t priv[KEY_LEN], pub[KEY_LEN], shared1[32], shared2[32], priv2[KEY_LEN],
	    pub2[KEY_LEN];

	(void)state;
	key_generate_private(priv);
	key_generate_private(priv2);
	key_public_from_private(pub, priv);
	key_public_from_private(pub2, priv2);
	assert_false(key_is_zero(pub));
	assert_int_equal(crypto_scalarmult(shared1, priv, pub2), 0);
	assert_int_equal(crypto_scalarmult(shared2, priv2, pub), 0);
	assert_memory_equal(shared1, shared2, 32);
}

static void test_load_or_create(void **state)
{
	uint8_t k1[KEY_LEN], k2[KEY_LEN];
	char path[128];
	struct stat st;
	bool created;

	(void)state;
	testutil_path(path, sizeof(path), "relay.key");
	assert_int_equal(key_load_or_create(k1, path, &created), 0);
	assert_true(created);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(key_load_or_create(k2, path, &created), 0);
	assert_false(created);
	assert_true(key_equal(k1, k2));
	/* Group-readable: refused, and never silently replaced. */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(key_load_file(k2, path), -EPERM);
	assert_int_equal(key_load_or_create(k2, path, &created), -EPERM);
	assert_int_equal(chmod(path, 0600), 0);
	/* Garbage content is an error, not a new key. */
	testutil_write(path, "not a key\n", 0600);
	assert_int_equal(key_load_or_create(k2, path, &created), -EINVAL);
	/* No temporary files left behind. */
	assert_int_equal(testutil_scratch_entries(), 1);
	testutil_path(path, sizeof(path), "missing-dir/relay.key");
	assert_int_equal(key_load_or_create(k2, path, &created), -ENOENT);
}

/*
 * A key file is a regular file, not a link (key.h says why): a FIFO is refused at once (a
 * plain open(2) would wait for a writer for ever; alarm() fails the test instead), a
 * directory, a link and a link to nowhere are refused with a message that names the path and
 * what it is, and nothing is created through a dangling link.
 */
static void test_key_file_types(void **state)
{
	uint8_t k[KEY_LEN], k2[KEY_LEN];
	char path[128], target[128], err[512];
	bool created = true;
	struct stat st;

	(void)state;
	alarm(10);
	testutil_path(path, sizeof(path), "fifo.key");
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(key_load_file_err(k, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "is a FIFO"));
	assert_int_equal(key_load_or_create_err(k, path, &created, err, sizeof(err)), -EINVAL);
	assert_false(created);
	assert_non_null(strstr(err, "is a FIFO"));

	testutil_path(path, sizeof(path), "dir.key");
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(key_load_file_err(k, path, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "is a directory"));

	/* A link to a good key is refused too. */
	testutil_path(target, sizeof(target), "real.key");
	assert_int_equal(key_load_or_create(k, target, &created), 0);
	testutil_path(path, sizeof(path), "link.key");
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(key_load_file_err(k2, path, err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "is a symbolic link"));
	assert_int_equal(key_load_or_create(k2, path, &created), -ELOOP);

	/* A dangling link: refused, and no key is written where it points. */
	testutil_path(target, sizeof(target), "planted-target");
	testutil_path(path, sizeof(path), "dangling.key");
	assert_int_equal(symlink(target, path), 0);
	assert_int_not_equal(key_load_or_create_err(k2, path, &created, err, sizeof(err)), 0);
	assert_false(created);
	assert_non_null(strstr(err, "is a symbolic link"));
	assert_int_equal(lstat(target, &st), -1);
	alarm(0);
}

/* Each failure says its own reason, never a stale errno ("No such file" for a 0644 key). */
static void test_key_file_messages(void **state)
{
	uint8_t k[KEY_LEN];
	char path[128], err[512];
	bool created;

	(void)state;
	testutil_path(path, sizeof(path), "msg.key");
	assert_int_equal(key_load_or_create_err(k, path, &created, err, sizeof(err)), 0);
	assert_true(created);
	assert_int_equal(key_load_file_err(k, path, err, sizeof(err)), 0);
	assert_int_equal(chmod(path, 0644), 0);
	errno = ENOENT;
	assert_int_equal(key_load_file_err(k, path, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "mode 0644"));
	assert_non_null(strstr(err, "group or others"));
	assert_null(strstr(err, "No such file"));
	assert_int_equal(chmod(path, 0600), 0);
	testutil_write(path, "garbage\n", 0600);
	assert_int_equal(key_load_file_err(k, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "not a key"));
	testutil_path(path, sizeof(path), "absent.key");
	assert_int_equal(key_load_file_err(k, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "No such file"));
	testutil_path(path, sizeof(path), "no-dir/new.key");
	assert_int_equal(key_load_or_create_err(k, path, &created, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_base64_roundtrip), cmocka_unit_test(test_base64_rejects),
	    cmocka_unit_test(test_public_key),       cmocka_unit_test(test_load_or_create),
	    cmocka_unit_test(test_key_file_types),   cmocka_unit_test(test_key_file_messages),
	};

	return cmocka_run_group_tests(tests, setup, testutil_scratch_teardown);
}
