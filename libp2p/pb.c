/*
 * pb.c: the protocol buffers wire format by hand (pb.h).
 */
#include <errno.h>
#include <string.h>

#include "pb.h"

int pb_get_varint(struct rbuf *b, uint64_t *v)
{
	uint64_t x = 0;
	size_t i;

	for (i = 0; i < PB_VARINT_MAX && b->pos + i < b->len; i++) {
		uint8_t c = b->p[b->pos + i];

		/* The tenth byte may carry only the top bit of 64. */
		if (i == PB_VARINT_MAX - 1 && c > 1)
			return -EBADMSG;
		x |= (uint64_t)(c & 0x7f) << (7 * i);
		if (!(c & 0x80)) {
			b->pos += i + 1;
			*v = x;
			return 0;
		}
	}
	return -EBADMSG;
}

int pb_put_varint(struct wbuf *b, uint64_t v)
{
	size_t n = pb_varint_len(v), i;

	if (wbuf_left(b) < n)
		return -ENOBUFS;
	for (i = 0; i < n; i++) {
		b->p[b->pos++] = (uint8_t)((v & 0x7f) | (i + 1 < n ? 0x80 : 0));
		v >>= 7;
	}
	return 0;
}

size_t pb_varint_len(uint64_t v)
{
	size_t n = 1;

	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

int pb_next(struct rbuf *b, struct pb_field *f)
{
	size_t start = b->pos;
	uint64_t key, len;

	if (rbuf_left(b) == 0)
		return 0;
	if (pb_get_varint(b, &key) < 0)
		return -EBADMSG;
	memset(f, 0, sizeof(*f));
	if ((key >> 3) == 0 || (key >> 3) > 0x1fffffff)
		goto bad;
	f->num = (uint32_t)(key >> 3);
	f->wire = (uint8_t)(key & 7);
	switch (f->wire) {
	case PB_VARINT:
		if (pb_get_varint(b, &f->v) < 0)
			goto bad;
		return 1;
	case PB_I64:
		if (rbuf_left(b) < 8)
			goto bad;
		f->v = (uint64_t)buf_load_le32(b->p + b->pos) |
		       (uint64_t)buf_load_le32(b->p + b->pos + 4) << 32;
		b->pos += 8;
		return 1;
	case PB_I32:
		if (rbuf_left(b) < 4)
			goto bad;
		f->v = buf_load_le32(b->p + b->pos);
		b->pos += 4;
		return 1;
	case PB_LEN:
		if (pb_get_varint(b, &len) < 0 || len > rbuf_left(b))
			goto bad;
		f->p = b->p + b->pos;
		f->len = (size_t)len;
		b->pos += (size_t)len;
		return 1;
	default:
		goto bad;
	}
bad:
	b->pos = start;
	return -EBADMSG;
}

int pb_put_tag(struct wbuf *b, uint32_t num, enum pb_wire wire)
{
	return pb_put_varint(b, (uint64_t)num << 3 | (uint64_t)wire);
}

int pb_put_uint(struct wbuf *b, uint32_t num, uint64_t v)
{
	int e;

	if ((e = pb_put_tag(b, num, PB_VARINT)) < 0)
		return e;
	return pb_put_varint(b, v);
}

int pb_put_bytes(struct wbuf *b, uint32_t num, const void *p, size_t len)
{
	int e;

	if ((e = pb_put_tag(b, num, PB_LEN)) < 0 || (e = pb_put_varint(b, len)) < 0)
		return e;
	return len ? buf_put_bytes(b, p, len) : 0;
}

int pb_put_str(struct wbuf *b, uint32_t num, const char *s)
{
	return pb_put_bytes(b, num, s, strlen(s));
}

int pb_delimited(const uint8_t *in, size_t n, size_t max, const uint8_t **msg, size_t *len,
                 size_t *used)
{
	struct rbuf r;
	uint64_t l;

	rbuf_init(&r, in, n);
	if (pb_get_varint(&r, &l) < 0) {
		/* A varint cut short by the end of what arrived is not an error yet. */
		if (n < PB_VARINT_MAX) {
			size_t i;

			for (i = 0; i < n && (in[i] & 0x80); i++)
				;
			if (i == n)
				return 0;
		}
		return -EBADMSG;
	}
	if (l > max)
		return -EMSGSIZE;
	if (rbuf_left(&r) < l)
		return 0;
	*msg = in + r.pos;
	*len = (size_t)l;
	*used = r.pos + (size_t)l;
	return 1;
}
