/* key.c: Curve25519 keys in wg(8)'s base64 form, and key files (see key.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "file.h"
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

/* key_load_file_err, with what naming the expected content in the "not ..." message. */
static int key_read(uint8_t key[KEY_LEN], const char *path, const char *what, char *err,
                    size_t errlen)
{
	char text[KEY_B64_LEN + 3];
	struct stat st;
	size_t n = 0;
	int fd, r;

	if (err && errlen)
		err[0] = '\0';
	/* No symbolic links: see key.h. */
	fd = file_open_regular(path, O_RDONLY | O_NOFOLLOW, 0, &st, err, errlen);
	if (fd < 0)
		return fd;
	/* A key others can read is already lost; refuse it like ssh does. */
	if (st.st_mode & 077) {
		if (err && errlen)
			snprintf(
			    err, errlen,
			    "%s: mode %04o lets group or others read or write it (must be 0600 "
			    "or stricter)",
			    path, (unsigned)(st.st_mode & 07777));
		r = -EPERM;
		goto out;
	}
	while (n < sizeof(text) - 1) {
		ssize_t k = read(fd, text + n, sizeof(text) - 1 - n);

		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			if (err && errlen)
				snprintf(err, errlen, "%s: read: %s", path, strerror(-r));
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	text[n] = '\0';
	while (n > 0 && (text[n - 1] == '\n' || text[n - 1] == '\r'))
		text[--n] = '\0';
	r = key_from_base64(key, text);
	if (r < 0 && err && errlen)
		snprintf(err, errlen, "%s: not %s", path, what);
out:
	sodium_memzero(text, sizeof(text));
	close(fd);
	return r;
}

#define KEY_WHAT "a key (one line of 44 base64 characters, as wg genkey writes)"

int key_load_file_err(uint8_t key[KEY_LEN], const char *path, char *err, size_t errlen)
{
	return key_read(key, path, KEY_WHAT, err, errlen);
}

int key_load_file(uint8_t key[KEY_LEN], const char *path)
{
	return key_load_file_err(key, path, NULL, 0);
}

static int key_write_new(const uint8_t key[KEY_LEN], const char *path)
{
	char b64[KEY_B64_STRLEN + 1], *tmp;
	size_t plen = strlen(path);
	int fd, r = 0;

	tmp = malloc(plen + 8);
	if (!tmp)
		return -ENOMEM;
	snprintf(tmp, plen + 8, "%s.XXXXXX", path);
	/* O_EXCL under a random name: nothing planted at the temporary path is followed. */
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		goto out_free;
	}
	key_to_base64(b64, key);
	b64[KEY_B64_LEN] = '\n';
	errno = 0;
	if (fchmod(fd, 0600) < 0 || write(fd, b64, KEY_B64_LEN + 1) != KEY_B64_LEN + 1 ||
	    fsync(fd) < 0) {
		r = errno ? -errno : -EIO;
		close(fd);
		unlink(tmp);
		goto out_free;
	}
	close(fd);
	/*
	 * link(2) fails if another process created the key meanwhile: never replace a key. Like
	 * rename(2) it makes the name itself, never following a symbolic link there.
	 */
	if (link(tmp, path) < 0)
		r = -errno;
	unlink(tmp);
	if (r == 0)
		(void)file_sync_dir(path);
out_free:
	sodium_memzero(b64, sizeof(b64));
	free(tmp);
	return r;
}

int key_file_load(uint8_t key[KEY_LEN], const char *path, void (*gen)(uint8_t key[KEY_LEN]),
                  const char *what, bool *created, char *err, size_t errlen)
{
	int r;

	if (created)
		*created = false;
	r = key_read(key, path, what, err, errlen);
	if (r != -ENOENT || !gen)
		return r;
	gen(key);
	r = key_write_new(key, path);
	if (r == -EEXIST)
		return key_read(key, path, what, err, errlen);
	if (r < 0) {
		sodium_memzero(key, KEY_LEN);
		if (err && errlen)
			snprintf(err, errlen, "%s: creating: %s", path, strerror(-r));
		return r;
	}
	if (created)
		*created = true;
	return 0;
}

int key_load_or_create_err(uint8_t key[KEY_LEN], const char *path, bool *created, char *err,
                           size_t errlen)
{
	return key_file_load(key, path, key_generate_private, KEY_WHAT, created, err, errlen);
}

int key_load_or_create(uint8_t key[KEY_LEN], const char *path, bool *created)
{
	return key_load_or_create_err(key, path, created, NULL, 0);
}
