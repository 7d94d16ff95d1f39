/* key.h: 32-byte Curve25519 keys, base64 like wg(8), and key files. */
#ifndef WGR_KEY_H
#define WGR_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define KEY_LEN        32
#define KEY_B64_LEN    44 /* without the '\0' */
#define KEY_B64_STRLEN 45

/* Exactly 44 characters of standard base64 ending in '='; 0 or -EINVAL. Constant-time decode. */
int key_from_base64(uint8_t key[KEY_LEN], const char *b64);
void key_to_base64(char out[KEY_B64_STRLEN], const uint8_t key[KEY_LEN]);

/* A clamped X25519 private key from the system RNG. */
void key_generate_private(uint8_t priv[KEY_LEN]);
void key_public_from_private(uint8_t pub[KEY_LEN], const uint8_t priv[KEY_LEN]);
bool key_is_zero(const uint8_t key[KEY_LEN]);
bool key_equal(const uint8_t a[KEY_LEN], const uint8_t b[KEY_LEN]); /* constant time */

/*
 * Read a base64 private key file (one line, as wg genkey writes it). The file must be a
 * regular file, not a symbolic link, and not readable or writable by group or others (-EPERM
 * otherwise, like ssh). 0 or -errno: -ENOENT missing, -EPERM mode, -EINVAL not a key, and
 * file_open_regular()'s codes for what is not a regular file (a FIFO is refused at once).
 *
 * Why no symbolic links: the key lives in a directory the program's unprivileged user can
 * write (it saves its state there), but may be read as root (wgrelayd --user). A link planted
 * there would have root load any key-shaped 0600 file, say a WireGuard interface's private
 * key, into the unprivileged process. Name the real file instead (--key-file, KeyFile).
 */
int key_load_file(uint8_t key[KEY_LEN], const char *path);
/* The same, with err filled on failure: "PATH: reason" (never a stale errno). */
int key_load_file_err(uint8_t key[KEY_LEN], const char *path, char *err, size_t errlen);
/*
 * Load path, or when nothing is there generate a key and write it with mode 0600 through a
 * temporary file (O_EXCL, random name) and link(2), so a crash never leaves half a key and a
 * key is never replaced. *created tells which. A dangling symbolic link at path is refused,
 * never written through.
 */
int key_load_or_create(uint8_t key[KEY_LEN], const char *path, bool *created);
int key_load_or_create_err(uint8_t key[KEY_LEN], const char *path, bool *created, char *err,
                           size_t errlen);
/*
 * The file rules above for any 32-byte secret kept as one base64 line (the relay's Ed25519
 * identity seed, common/identity.h): load path; when nothing is there and gen is not NULL,
 * fill key with gen and create the file as key_load_or_create does. what names the content in
 * the message for a file that does not decode ("PATH: not WHAT"). 0 or -errno.
 */
int key_file_load(uint8_t key[KEY_LEN], const char *path, void (*gen)(uint8_t key[KEY_LEN]),
                  const char *what, bool *created, char *err, size_t errlen);

#endif
