/*
 * bencode.h: bounded, canonical bencoding (BEP 3) for the Mainline DHT.
 *
 * The decoder turns one element into a flat token array pointing into the input (no copies, no
 * allocation). It accepts only the canonical form, so that a BEP 44 value has a single
 * encoding and what we verify is what we store: integers without leading zeros or "-0",
 * string lengths without leading zeros, dictionary keys strictly ascending (bytewise, so no
 * duplicates), nothing after the element. Nesting is bounded by BEN_MAX_DEPTH and the token
 * count by the caller's array.
 *
 * Walking: the children of a list or dictionary token i are i + 1, tok[i + 1].next, ... up to
 * tok[i].next; a dictionary's children alternate key, value.
 */
#ifndef WGR_BENCODE_H
#define WGR_BENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "buf.h"

#define BEN_MAX_DEPTH 16

enum ben_type {
	BEN_INT = 1,
	BEN_STR,
	BEN_LIST,
	BEN_DICT,
};

struct ben_tok {
	uint32_t off;  /* first byte of the element's encoding in the input */
	uint32_t len;  /* bytes of the whole encoding (a container: through its 'e') */
	uint32_t next; /* index of the first token after this element and its children */
	uint8_t type;  /* enum ben_type */
	union {
		int64_t i; /* BEN_INT */
		struct {
			uint32_t off, len;
		} s; /* BEN_STR: the payload */
	} v;
};

struct ben_doc {
	const uint8_t *p; /* the input, which the tokens point into */
	struct ben_tok *tok;
	size_t n; /* tokens used */
};

/*
 * Decode exactly one canonical element spanning all of p[0..len) into tok[0..cap). Returns 0
 * with doc filled, -EBADMSG for malformed, non-canonical or trailing input, -E2BIG when it
 * needs more than cap tokens, -ELOOP when nested deeper than BEN_MAX_DEPTH.
 */
int ben_decode(struct ben_doc *doc, const uint8_t *p, size_t len, struct ben_tok *tok, size_t cap);
/* The token index of the value under key in dictionary token d, or -1 (also when d is not a
 * dictionary or is -1, so lookups chain). */
int ben_dict_get(const struct ben_doc *doc, int d, const char *key);
/* Payload of string token i: 0, or -EINVAL when i is -1 or not a string. */
int ben_str(const struct ben_doc *doc, int i, const uint8_t **p, size_t *len);
/* Value of integer token i: 0, or -EINVAL when i is -1 or not an integer. */
int ben_int(const struct ben_doc *doc, int i, int64_t *v);

/*
 * Encoder. Each returns 0 or -ENOBUFS (buf.h); a failed call may leave a partial element, so
 * callers drop the whole buffer on any failure. Dictionary keys must be written in ascending
 * order by the caller.
 */
int ben_put_int(struct wbuf *w, int64_t v);
int ben_put_str(struct wbuf *w, const void *p, size_t len);
/* A NUL-terminated string (dictionary keys). */
int ben_put_key(struct wbuf *w, const char *s);
/* 'l', 'd' or 'e'. */
int ben_put_open(struct wbuf *w, char type);
int ben_put_close(struct wbuf *w);

#endif
