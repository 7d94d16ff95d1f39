/* Unit tests: common/buf.c */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "buf.h"

static void test_get_bigendian(void **state)
{
	const uint8_t in[] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15};
	struct rbuf b;
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;

	(void)state;
	rbuf_init(&b, in, sizeof(in));
	assert_int_equal(buf_get_u8(&b, &u8), 0);
	assert_int_equal(u8, 1);
	assert_int_equal(buf_get_u16(&b, &u16), 0);
	assert_int_equal(u16, 0x0203);
	assert_int_equal(buf_get_u32(&b, &u32), 0);
	assert_int_equal(u32, 0x04050607);
	assert_int_equal(buf_get_u64(&b, &u64), 0);
	assert_true(u64 == 0x08090a0b0c0d0e0fULL);
	assert_int_equal(rbuf_left(&b), 0);
	assert_int_equal(buf_get_u8(&b, &u8), -EBADMSG);
}

static void test_short_read_does_not_move(void **state)
{
	const uint8_t in[3] = {0xaa, 0xbb, 0xcc};
	struct rbuf b;
	uint32_t u32 = 0x11111111;
	const uint8_t *p;

	(void)state;
	rbuf_init(&b, in, sizeof(in));
	assert_int_equal(buf_get_u32(&b, &u32), -EBADMSG);
	assert_int_equal(u32, 0x11111111);
	assert_int_equal(b.pos, 0);
	assert_int_equal(buf_get_ptr(&b, &p, 4), -EBADMSG);
	assert_int_equal(buf_skip(&b, 2), 0);
	assert_int_equal(buf_get_ptr(&b, &p, 1), 0);
	assert_int_equal(*p, 0xcc);
	assert_int_equal(buf_skip(&b, 1), -EBADMSG);
	/* A huge length must not wrap the bounds check. */
	rbuf_init(&b, in, sizeof(in));
	assert_int_equal(buf_get_ptr(&b, &p, SIZE_MAX), -EBADMSG);
}

static void test_put_roundtrip(void **state)
{
	uint8_t out[15];
	struct wbuf w;
	struct rbuf r;
	uint64_t u64;
	uint32_t u32;
	uint16_t u16;
	uint8_t u8, z[2];

	(void)state;
	wbuf_init(&w, out, sizeof(out));
	assert_int_equal(buf_put_u8(&w, 0x7f), 0);
	assert_int_equal(buf_put_u16(&w, 0xbeef), 0);
	assert_int_equal(buf_put_u32(&w, 0xdeadbeef), 0);
	assert_int_equal(buf_put_zero(&w, 2), 0);
	assert_int_equal(buf_put_u32(&w, 1), 0);
	assert_int_equal(wbuf_left(&w), 2);
	assert_int_equal(buf_put_u64(&w, 1), -ENOBUFS);
	assert_int_equal(w.pos, 13);
	assert_int_equal(buf_put_u16(&w, 0x0102), 0);
	assert_int_equal(buf_put_u8(&w, 1), -ENOBUFS);

	rbuf_init(&r, out, sizeof(out));
	assert_int_equal(buf_get_u8(&r, &u8), 0);
	assert_int_equal(u8, 0x7f);
	assert_int_equal(buf_get_u16(&r, &u16), 0);
	assert_int_equal(u16, 0xbeef);
	assert_int_equal(buf_get_u32(&r, &u32), 0);
	assert_int_equal(u32, 0xdeadbeef);
	assert_int_equal(buf_get_bytes(&r, z, 2), 0);
	assert_int_equal(z[0] | z[1], 0);
	assert_int_equal(buf_get_u32(&r, &u32), 0);
	assert_int_equal(u32, 1);
	assert_int_equal(buf_get_u16(&r, &u16), 0);
	assert_int_equal(u16, 0x0102);
	assert_int_equal(buf_get_u64(&r, &u64), -EBADMSG);
}

static void test_le32(void **state)
{
	uint8_t p[4];

	(void)state;
	buf_store_le32(p, 0x04030201);
	assert_int_equal(p[0], 1);
	assert_int_equal(p[3], 4);
	assert_int_equal(buf_load_le32(p), 0x04030201);
	assert_int_equal(buf_load_be32(p), 0x01020304);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_get_bigendian),
	    cmocka_unit_test(test_short_read_does_not_move),
	    cmocka_unit_test(test_put_roundtrip),
	    cmocka_unit_test(test_le32),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
