/* key.c: Curve25519 keys in wg(8)'s base64 form, and key files (see key.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "key.h"

int key_from_base64(uint8_t key[KEY_LEN], const char *b64)
{
	uint8_t tmp[KEY_LEN + 1];
	size_t len = 0;
	const char *end = NULL;

	if (!b64 || strlen(b64) != KEY_B64_LEN || b64[KEY_B64_LEN - 1] != '=')
		return -EINVAL;
	/*
	 * libsodium's decoder is constant-time and, with the original variant, rejects bits left
	 * over in the last character, so only the canonical spelling of a key is accepted.
	 */
	if (sodium_base642bin(tmp, sizeof(tmp), b64, KEY_B64_LEN, NULL, &len, &end,
	                      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    len != KEY_LEN || end != b64 + KEY_B64_LEN) {
		sodium_memzero(tmp, sizeof(tmp));
		return -EINVAL;
	}
	memcpy(key, tmp, KEY_LEN);
	sodium_memzero(tmp, sizeof(tmp));
	return 0;
}

void key_to_base64(char out[KEY_B64_STRLEN], const uint8_t key[KEY_LEN])
{
	sodium_bin2base64(out, KEY_B64_STRLEN, key, KEY_LEN, sodium_base64_VARIANT_ORIGINAL);
}

void key_generate_private(uint8_t priv[KEY_LEN])
{
	randombytes_buf(priv, KEY_LEN);
	priv[0] &= 248;
	priv[31] = (priv[31] & 127) | 64;
}

void key_public_from_private(uint8_t pub[KEY_LEN], const uint8_t priv[KEY_LEN])
{
	crypto_scalarmult_base(pub, priv);
}

bool key_is_zero(const uint8_t key[KEY_LEN])
{
	return sodium_is_zero(key, KEY_LEN) == 1;
}

bool key_equal(const uint8_t a[KEY_LEN], const uint8_t b[KEY_LEN])
{
	return sodium_memcmp(a, b, KEY_LEN) == 0;
}

int key_load_file(uint8_t key[KEY_LEN], const char *path)
{
	char text[KEY_B64_LEN + 3];
	struct stat st;
	ssize_t n;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		r = -errno;
		goto out;
	}
	/* A key others can read is already lost; refuse it like ssh does. */
	if (!S_ISREG(st.st_mode) || (st.st_mode & 077)) {
		r = S_ISREG(st.st_mode) ? -EPERM : -EINVAL;
		goto out;
	}
	n = read(fd, text, sizeof(text) - 1);
	if (n < 0) {
		r = -errno;
		goto out;
	}
	text[n] = '\0';
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	r = key_from_base64(key, text);
out:
	sodium_memzero(text, sizeof(text));
	close(fd);
	return r;
}

static int key_write_new(const uint8_t key[KEY_LEN], const char *path)
{
	char b64[KEY_B64_STRLEN + 1], *tmp, *dir_copy;
	size_t plen = strlen(path);
	int fd, dfd, r = 0;

	tmp = malloc(plen + 8);
	dir_copy = strdup(path);
	if (!tmp || !dir_copy) {
		r = -ENOMEM;
		goto out_free;
	}
	snprintf(tmp, plen + 8, "%s.XXXXXX", path);
	fd = mkstemp(tmp);
	if (fd < 0) {
		r = -errno;
		goto out_free;
	}
	key_to_base64(b64, key);
	b64[KEY_B64_LEN] = '\n';
	if (fchmod(fd, 0600) < 0 || write(fd, b64, KEY_B64_LEN + 1) != KEY_B64_LEN + 1 ||
	    fsync(fd) < 0) {
		r = errno ? -errno : -EIO;
		close(fd);
		unlink(tmp);
		goto out_free;
	}
	close(fd);
	/* link(2) fails if another process created the key meanwhile: never replace a key. */
	if (link(tmp, path) < 0)
		r = -errno;
	unlink(tmp);
	dfd = open(dirname(dir_copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
out_free:
	sodium_memzero(b64, sizeof(b64));
	free(tmp);
	free(dir_copy);
	return r;
}

int key_load_or_create(uint8_t key[KEY_LEN], const char *path, bool *created)
{
	int r;

	if (created)
		*created = false;
	r = key_load_file(key, path);
	if (r != -ENOENT)
		return r;
	key_generate_private(key);
	r = key_write_new(key, path);
	if (r == -EEXIST)
		return key_load_file(key, path);
	if (r < 0) {
		sodium_memzero(key, KEY_LEN);
		return r;
	}
	if (created)
		*created = true;
	return 0;
}
