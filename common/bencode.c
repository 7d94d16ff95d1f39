/* bencode.c: canonical bencoding decoder into tokens, and an encoder (see bencode.h). */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "bencode.h"

/* The next byte without consuming it. */
static int ben_peek(const struct rbuf *r, uint8_t *c)
{
	if (rbuf_left(r) == 0)
		return -EBADMSG;
	*c = r->p[r->pos];
	return 0;
}

/*
 * Digits up to the terminator term, canonical: at least one digit, no leading zero (but "0"),
 * no "-0", a sign only when neg_ok. The value must fit in int64_t.
 */
static int ben_number(struct rbuf *r, uint8_t term, bool neg_ok, int64_t *out)
{
	uint64_t v = 0, lim = INT64_MAX;
	size_t digits = 0;
	bool neg = false, lead0 = false;
	uint8_t c;

	if (ben_peek(r, &c) == 0 && c == '-' && neg_ok) {
		neg = true;
		lim = (uint64_t)INT64_MAX + 1;
		buf_skip(r, 1);
	}
	for (;;) {
		if (buf_get_u8(r, &c) < 0)
			return -EBADMSG;
		if (c == term)
			break;
		if (c < '0' || c > '9' || lead0)
			return -EBADMSG;
		if (digits == 0 && c == '0')
			lead0 = true;
		if (v > (lim - (uint64_t)(c - '0')) / 10)
			return -EBADMSG;
		v = v * 10 + (uint64_t)(c - '0');
		digits++;
	}
	if (digits == 0 || (neg && v == 0))
		return -EBADMSG;
	*out = neg ? (int64_t)(0 - v) : (int64_t)v;
	return 0;
}

/* Bytewise order, a prefix first: the order BEP 3 requires of dictionary keys. */
static int ben_keycmp(const uint8_t *p, const struct ben_tok *a, const struct ben_tok *b)
{
	size_t n = a->v.s.len < b->v.s.len ? a->v.s.len : b->v.s.len;
	int c = memcmp(p + a->v.s.off, p + b->v.s.off, n);

	if (c)
		return c;
	return a->v.s.len < b->v.s.len ? -1 : a->v.s.len > b->v.s.len;
}

struct ben_open {
	uint32_t tok;     /* the container's token */
	uint32_t nchild;  /* children so far */
	int32_t last_key; /* dictionary: token of the previous key, -1 */
};

int ben_decode(struct ben_doc *doc, const uint8_t *p, size_t len, struct ben_tok *tok, size_t cap)
{
	struct ben_open st[BEN_MAX_DEPTH];
	struct rbuf r;
	size_t depth = 0, n = 0;
	uint8_t c;

	if (len > UINT32_MAX)
		return -EBADMSG;
	rbuf_init(&r, p, len);
	do {
		struct ben_open *top = depth ? &st[depth - 1] : NULL;
		struct ben_tok *t;
		int64_t v;

		if (ben_peek(&r, &c) < 0)
			return -EBADMSG;
		if (top && c == 'e') {
			/* a dictionary key without its value is malformed */
			if (tok[top->tok].type == BEN_DICT && top->nchild % 2)
				return -EBADMSG;
			buf_skip(&r, 1);
			tok[top->tok].len = (uint32_t)(r.pos - tok[top->tok].off);
			tok[top->tok].next = (uint32_t)n;
			depth--;
			continue;
		}
		if (n == cap)
			return -E2BIG;
		t = &tok[n];
		memset(t, 0, sizeof(*t));
		t->off = (uint32_t)r.pos;
		if (c == 'i') {
			buf_skip(&r, 1);
			if (ben_number(&r, 'e', true, &v) < 0)
				return -EBADMSG;
			t->type = BEN_INT;
			t->v.i = v;
		} else if (c >= '0' && c <= '9') {
			if (ben_number(&r, ':', false, &v) < 0 || (uint64_t)v > rbuf_left(&r))
				return -EBADMSG;
			t->type = BEN_STR;
			t->v.s.off = (uint32_t)r.pos;
			t->v.s.len = (uint32_t)v;
			buf_skip(&r, (size_t)v);
		} else if (c == 'l' || c == 'd') {
			buf_skip(&r, 1);
			t->type = c == 'l' ? BEN_LIST : BEN_DICT;
		} else {
			return -EBADMSG;
		}
		if (top && tok[top->tok].type == BEN_DICT && top->nchild % 2 == 0) {
			if (t->type != BEN_STR)
				return -EBADMSG;
			if (top->last_key >= 0 && ben_keycmp(p, &tok[top->last_key], t) >= 0)
				return -EBADMSG;
			top->last_key = (int32_t)n;
		}
		if (top)
			top->nchild++;
		n++;
		if (t->type == BEN_LIST || t->type == BEN_DICT) {
			if (depth == BEN_MAX_DEPTH)
				return -ELOOP;
			st[depth++] = (struct ben_open){(uint32_t)(n - 1), 0, -1};
		} else {
			t->len = (uint32_t)(r.pos - t->off);
			t->next = (uint32_t)n;
		}
	} while (depth);
	if (rbuf_left(&r))
		return -EBADMSG;
	doc->p = p;
	doc->tok = tok;
	doc->n = n;
	return 0;
}

int ben_dict_get(const struct ben_doc *doc, int d, const char *key)
{
	size_t klen = strlen(key);

	if (d < 0 || (size_t)d >= doc->n || doc->tok[d].type != BEN_DICT)
		return -1;
	for (uint32_t i = (uint32_t)d + 1; i < doc->tok[d].next; i = doc->tok[i + 1].next) {
		const struct ben_tok *k = &doc->tok[i];

		if (k->v.s.len == klen && memcmp(doc->p + k->v.s.off, key, klen) == 0)
			return (int)i + 1;
	}
	return -1;
}

int ben_str(const struct ben_doc *doc, int i, const uint8_t **p, size_t *len)
{
	if (i < 0 || (size_t)i >= doc->n || doc->tok[i].type != BEN_STR)
		return -EINVAL;
	*p = doc->p + doc->tok[i].v.s.off;
	*len = doc->tok[i].v.s.len;
	return 0;
}

int ben_int(const struct ben_doc *doc, int i, int64_t *v)
{
	if (i < 0 || (size_t)i >= doc->n || doc->tok[i].type != BEN_INT)
		return -EINVAL;
	*v = doc->tok[i].v.i;
	return 0;
}

int ben_put_int(struct wbuf *w, int64_t v)
{
	char s[24];
	int n = snprintf(s, sizeof(s), "i%" PRId64 "e", v);

	return buf_put_bytes(w, s, (size_t)n);
}

int ben_put_str(struct wbuf *w, const void *p, size_t len)
{
	char s[24];
	int n = snprintf(s, sizeof(s), "%zu:", len);

	if (wbuf_left(w) < (size_t)n + len)
		return -ENOBUFS;
	buf_put_bytes(w, s, (size_t)n);
	return buf_put_bytes(w, p, len);
}

int ben_put_key(struct wbuf *w, const char *s)
{
	return ben_put_str(w, s, strlen(s));
}

int ben_put_open(struct wbuf *w, char type)
{
	return buf_put_u8(w, (uint8_t)type);
}

int ben_put_close(struct wbuf *w)
{
	return buf_put_u8(w, 'e');
}
