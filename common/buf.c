/* buf.c: bounds-checked big-endian cursors (see buf.h). */
#include <errno.h>
#include <string.h>

#include "buf.h"

void rbuf_init(struct rbuf *b, const void *p, size_t len)
{
	b->p = p;
	b->len = len;
	b->pos = 0;
}

size_t rbuf_left(const struct rbuf *b)
{
	return b->len - b->pos;
}

int buf_get_ptr(struct rbuf *b, const uint8_t **out, size_t n)
{
	if (rbuf_left(b) < n)
		return -EBADMSG;
	*out = b->p + b->pos;
	b->pos += n;
	return 0;
}

int buf_get_bytes(struct rbuf *b, void *dst, size_t n)
{
	const uint8_t *p;
	int r = buf_get_ptr(b, &p, n);

	if (r == 0 && n)
		memcpy(dst, p, n);
	return r;
}

int buf_skip(struct rbuf *b, size_t n)
{
	const uint8_t *p;

	return buf_get_ptr(b, &p, n);
}

int buf_get_u8(struct rbuf *b, uint8_t *v)
{
	return buf_get_bytes(b, v, 1);
}

int buf_get_u16(struct rbuf *b, uint16_t *v)
{
	const uint8_t *p;
	int r = buf_get_ptr(b, &p, 2);

	if (r == 0)
		*v = buf_load_be16(p);
	return r;
}

int buf_get_u32(struct rbuf *b, uint32_t *v)
{
	const uint8_t *p;
	int r = buf_get_ptr(b, &p, 4);

	if (r == 0)
		*v = buf_load_be32(p);
	return r;
}

int buf_get_u64(struct rbuf *b, uint64_t *v)
{
	const uint8_t *p;
	int r = buf_get_ptr(b, &p, 8);

	if (r == 0)
		*v = buf_load_be64(p);
	return r;
}

void wbuf_init(struct wbuf *b, void *p, size_t cap)
{
	b->p = p;
	b->cap = cap;
	b->pos = 0;
}

size_t wbuf_left(const struct wbuf *b)
{
	return b->cap - b->pos;
}

int buf_put_ptr(struct wbuf *b, uint8_t **out, size_t n)
{
	if (wbuf_left(b) < n)
		return -ENOBUFS;
	*out = b->p + b->pos;
	b->pos += n;
	return 0;
}

int buf_put_bytes(struct wbuf *b, const void *src, size_t n)
{
	uint8_t *p;
	int r = buf_put_ptr(b, &p, n);

	if (r == 0 && n)
		memcpy(p, src, n);
	return r;
}

int buf_put_zero(struct wbuf *b, size_t n)
{
	uint8_t *p;
	int r = buf_put_ptr(b, &p, n);

	if (r == 0 && n)
		memset(p, 0, n);
	return r;
}

int buf_put_u8(struct wbuf *b, uint8_t v)
{
	return buf_put_bytes(b, &v, 1);
}

int buf_put_u16(struct wbuf *b, uint16_t v)
{
	uint8_t *p;
	int r = buf_put_ptr(b, &p, 2);

	if (r == 0)
		buf_store_be16(p, v);
	return r;
}

int buf_put_u32(struct wbuf *b, uint32_t v)
{
	uint8_t *p;
	int r = buf_put_ptr(b, &p, 4);

	if (r == 0)
		buf_store_be32(p, v);
	return r;
}

int buf_put_u64(struct wbuf *b, uint64_t v)
{
	uint8_t *p;
	int r = buf_put_ptr(b, &p, 8);

	if (r == 0)
		buf_store_be64(p, v);
	return r;
}

uint16_t buf_load_be16(const uint8_t *p)
{
	return (uint16_t)((unsigned)p[0] << 8 | p[1]);
}

uint32_t buf_load_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

uint64_t buf_load_be64(const uint8_t *p)
{
	return (uint64_t)buf_load_be32(p) << 32 | buf_load_be32(p + 4);
}

uint32_t buf_load_le32(const uint8_t *p)
{
	return (uint32_t)p[3] << 24 | (uint32_t)p[2] << 16 | (uint32_t)p[1] << 8 | p[0];
}

void buf_store_be16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

void buf_store_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

void buf_store_be64(uint8_t *p, uint64_t v)
{
	buf_store_be32(p, (uint32_t)(v >> 32));
	buf_store_be32(p + 4, (uint32_t)v);
}

void buf_store_le32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
	p[2] = (uint8_t)(v >> 16);
	p[3] = (uint8_t)(v >> 24);
}
