/*
 * buf.h: bounds-checked cursors over outside bytes. Every parser reads through a rbuf and every
 * encoder writes through a wbuf; nothing casts packet bytes to a struct. Integers are big-endian.
 */
#ifndef WGR_BUF_H
#define WGR_BUF_H

#include <stddef.h>
#include <stdint.h>

struct rbuf {
	const uint8_t *p;
	size_t len;
	size_t pos;
};

struct wbuf {
	uint8_t *p;
	size_t cap;
	size_t pos;
};

void rbuf_init(struct rbuf *b, const void *p, size_t len);
size_t rbuf_left(const struct rbuf *b);

/* Each getter returns 0, or -EBADMSG when fewer bytes remain (the cursor does not move). */
int buf_get_u8(struct rbuf *b, uint8_t *v);
int buf_get_u16(struct rbuf *b, uint16_t *v);
int buf_get_u32(struct rbuf *b, uint32_t *v);
int buf_get_u64(struct rbuf *b, uint64_t *v);
int buf_get_bytes(struct rbuf *b, void *dst, size_t n);
/* Point *out at the next n bytes without copying, and advance. */
int buf_get_ptr(struct rbuf *b, const uint8_t **out, size_t n);
int buf_skip(struct rbuf *b, size_t n);

void wbuf_init(struct wbuf *b, void *p, size_t cap);
size_t wbuf_left(const struct wbuf *b);

/* Each putter returns 0, or -ENOBUFS when the room is short (nothing is written). */
int buf_put_u8(struct wbuf *b, uint8_t v);
int buf_put_u16(struct wbuf *b, uint16_t v);
int buf_put_u32(struct wbuf *b, uint32_t v);
int buf_put_u64(struct wbuf *b, uint64_t v);
int buf_put_bytes(struct wbuf *b, const void *src, size_t n);
int buf_put_zero(struct wbuf *b, size_t n);
/* Reserve n bytes, point *out at them, and advance. */
int buf_put_ptr(struct wbuf *b, uint8_t **out, size_t n);

/* Unchecked big-endian helpers for fixed offsets the caller has already bounds-checked. */
uint16_t buf_load_be16(const uint8_t *p);
uint32_t buf_load_be32(const uint8_t *p);
uint64_t buf_load_be64(const uint8_t *p);
uint32_t buf_load_le32(const uint8_t *p);
void buf_store_be16(uint8_t *p, uint16_t v);
void buf_store_be32(uint8_t *p, uint32_t v);
void buf_store_be64(uint8_t *p, uint64_t v);
void buf_store_le32(uint8_t *p, uint32_t v);

#endif
