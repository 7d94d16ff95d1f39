/*
 * conf.h: "[Section]" / "Key = Value" files, '#' comments, repeated keys kept in order.
 * Every error message names file, line and the offending token: "FILE:LINE: message 'token'".
 * Section and key names compare case-insensitively, like wg-quick.
 * '#' starts a comment anywhere on a line (also after a value), so values cannot contain '#';
 * keys and values are trimmed of blanks; CRLF is accepted. Rejected: a line without '=', an
 * unterminated "[Section", an empty key, NUL bytes, lines over 4096 bytes, files over 1 MiB.
 */
#ifndef WGR_CONF_H
#define WGR_CONF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CONF_ERRLEN 512

struct conf_entry {
	char *section; /* "" before the first [Section] */
	char *key;
	char *value;
	unsigned line;
};

struct conf {
	char *name; /* file name used in messages */
	struct conf_entry *v;
	size_t n;
};

/*
 * Parse a file (at most 1 MiB). It must be a regular file: symbolic links are followed, a
 * FIFO, socket, device or directory is refused at once ("PATH: is a FIFO, not a regular
 * file") and -ENOENT means nothing is there (file.h). 0, or -errno with err filled.
 */
int conf_load(struct conf **out, const char *path, char *err, size_t errlen);
/* Parse text already in memory; name is used in messages. */
int conf_parse(struct conf **out, const char *name, const char *text, size_t len, char *err,
               size_t errlen);
void conf_free(struct conf *c);

/* Iterate entries of section/key in file order; prev NULL starts. NULL at the end. */
const struct conf_entry *conf_next(const struct conf *c, const char *section, const char *key,
                                   const struct conf_entry *prev);
/* The last value of section/key (later lines override), or NULL. */
const struct conf_entry *conf_last(const struct conf *c, const char *section, const char *key);

/*
 * Reject sections and keys not in the list. allowed is a NULL-terminated array of
 * "Section.Key" strings ("Section.*" allows any key). 0 or -EINVAL with err filled.
 */
int conf_check_keys(const struct conf *c, const char *const *allowed, char *err, size_t errlen);

/*
 * Typed getters: 0 and *out set when present and valid; -ENOENT when absent (*out untouched);
 * -EINVAL or -ERANGE with err naming file, line, key and value.
 */
int conf_get_u64(const struct conf *c, const char *section, const char *key, uint64_t min,
                 uint64_t max, uint64_t *out, char *err, size_t errlen);
int conf_get_bool(const struct conf *c, const char *section, const char *key, bool *out, char *err,
                  size_t errlen);
/* Sizes: plain bytes or with K/M/G suffix (1024-based), e.g. "100M". */
int conf_get_size(const struct conf *c, const char *section, const char *key, uint64_t min,
                  uint64_t max, uint64_t *out, char *err, size_t errlen);
/* Durations in seconds: plain, or with s/m/h/d suffix, e.g. "1h". */
int conf_get_duration(const struct conf *c, const char *section, const char *key, uint64_t min,
                      uint64_t max, uint64_t *out, char *err, size_t errlen);

/* The same parsers for command-line values; 0 or -EINVAL / -ERANGE. */
int conf_parse_u64(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int conf_parse_size(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int conf_parse_duration(const char *s, uint64_t min, uint64_t max, uint64_t *out);
int conf_parse_bool(const char *s, bool *out);

#endif
