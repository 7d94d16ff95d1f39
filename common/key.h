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
 * Read a base64 private key file. The file must not be readable or writable by group or
 * others (-EPERM otherwise, like ssh). 0 or -errno.
 */
int key_load_file(uint8_t key[KEY_LEN], const char *path);
/*
 * Load path, or when it does not exist generate a key and write it with mode 0600 through a
 * temporary file and rename(2), so a crash never leaves half a key. *created tells which.
 */
int key_load_or_create(uint8_t key[KEY_LEN], const char *path, bool *created);

#endif
