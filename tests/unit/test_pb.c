/* Unit tests: libp2p/pb.c (the protocol buffers wire format by hand). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "pb.h"

/* The protobuf documentation's examples: 1 is 01, 150 is 96 01, 300 is ac 02. */
static void test_varint_examples(void **state)
{
	static const struct {
		uint64_t v;
		uint8_t b[10];
		size_t n;
	} ex[] = {
	    {0, {0}, 1},
	    {1, {1}, 1},
	    {150, {0x96, 0x01}, 2},
	    {300, {0xac, 0x02}, 2},
	    {UINT64_MAX, {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01}, 10},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(ex) / sizeof(ex[0]); i++) {
		uint8_t out[16];
		struct wbuf w;
		struct rbuf r;
		uint64_t v = 7;

		wbuf_init(&w, out, sizeof(out));
		assert_int_equal(pb_put_varint(&w, ex[i].v), 0);
		assert_int_equal(w.pos, ex[i].n);
		assert_int_equal(pb_varint_len(ex[i].v), ex[i].n);
		assert_memory_equal(out, ex[i].b, ex[i].n);
		rbuf_init(&r, ex[i].b, ex[i].n);
		assert_int_equal(pb_get_varint(&r, &v), 0);
		assert_true(v == ex[i].v);
		assert_int_equal(r.pos, ex[i].n);
	}
}

static void test_varint_bad(void **state)
{
	/* Truncated; eleven bytes; a tenth byte carrying more than bit 63. */
	const uint8_t cut[] = {0x96};
	const uint8_t longer[11] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
	                            0x80, 0x80, 0x80, 0x80, 0x00};
	const uint8_t wide[10] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x02};
	struct rbuf r;
	uint64_t v;
	uint8_t one[1];
	struct wbuf w;

	(void)state;
	rbuf_init(&r, cut, sizeof(cut));
	assert_int_equal(pb_get_varint(&r, &v), -EBADMSG);
	assert_int_equal(r.pos, 0);
	rbuf_init(&r, longer, sizeof(longer));
	assert_int_equal(pb_get_varint(&r, &v), -EBADMSG);
	rbuf_init(&r, wide, sizeof(wide));
	assert_int_equal(pb_get_varint(&r, &v), -EBADMSG);
	wbuf_init(&w, one, sizeof(one));
	assert_int_equal(pb_put_varint(&w, 300), -ENOBUFS);
	assert_int_equal(w.pos, 0);
}

/* A message written field by field reads back, unknown wire types and field 0 refused. */
static void test_fields(void **state)
{
	uint8_t buf[64];
	struct wbuf w;
	struct rbuf r;
	struct pb_field f;

	(void)state;
	wbuf_init(&w, buf, sizeof(buf));
	assert_int_equal(pb_put_uint(&w, 1, 2), 0);
	assert_int_equal(pb_put_str(&w, 2, "hop"), 0);
	assert_int_equal(pb_put_bytes(&w, 300, NULL, 0), 0);
	/* Field 1 varint 2 is 08 02; field 2 "hop" is 12 03 'h' 'o' 'p'. */
	assert_memory_equal(buf, "\x08\x02\x12\x03hop", 7);
	rbuf_init(&r, buf, w.pos);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.num, 1);
	assert_int_equal(f.wire, PB_VARINT);
	assert_int_equal(f.v, 2);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.num, 2);
	assert_int_equal(f.wire, PB_LEN);
	assert_int_equal(f.len, 3);
	assert_memory_equal(f.p, "hop", 3);
	assert_int_equal(pb_next(&r, &f), 1);
	assert_int_equal(f.num, 300);
	assert_int_equal(f.len, 0);
	assert_int_equal(pb_next(&r, &f), 0);

	{
		const uint8_t zero[] = {0x00, 0x01};                    /* field number 0 */
		const uint8_t group[] = {0x0b};                         /* wire type 3 */
		const uint8_t past[] = {0x12, 0x05, 'a', 'b'};          /* length past the end */
		const uint8_t fixed[] = {0x0d, 1, 0, 0, 0,              /* field 1 fixed32 = 1 */
		                         0x11, 2, 0, 0, 0, 0, 0, 0, 0}; /* field 2 fixed64 = 2 */

		rbuf_init(&r, zero, sizeof(zero));
		assert_int_equal(pb_next(&r, &f), -EBADMSG);
		assert_int_equal(r.pos, 0);
		rbuf_init(&r, group, sizeof(group));
		assert_int_equal(pb_next(&r, &f), -EBADMSG);
		rbuf_init(&r, past, sizeof(past));
		assert_int_equal(pb_next(&r, &f), -EBADMSG);
		rbuf_init(&r, fixed, sizeof(fixed));
		assert_int_equal(pb_next(&r, &f), 1);
		assert_int_equal(f.wire, PB_I32);
		assert_int_equal(f.v, 1);
		assert_int_equal(pb_next(&r, &f), 1);
		assert_int_equal(f.wire, PB_I64);
		assert_int_equal(f.v, 2);
		assert_int_equal(pb_next(&r, &f), 0);
	}
}

/* Length-delimited messages arriving in pieces: whole, more needed, too long, bad. */
static void test_delimited(void **state)
{
	uint8_t in[300];
	const uint8_t *msg;
	size_t len, used;
	const uint8_t bad[10] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80};

	(void)state;
	memset(in, 'x', sizeof(in));
	in[0] = 0xc8;
	in[1] = 0x01;
	assert_int_equal(pb_delimited(in, 1, 4096, &msg, &len, &used), 0);
	assert_int_equal(pb_delimited(in, 100, 4096, &msg, &len, &used), 0);
	assert_int_equal(pb_delimited(in, 202, 4096, &msg, &len, &used), 1);
	assert_int_equal(len, 200);
	assert_int_equal(used, 202);
	assert_ptr_equal(msg, in + 2);
	assert_int_equal(pb_delimited(in, 300, 199, &msg, &len, &used), -EMSGSIZE);
	assert_int_equal(pb_delimited(bad, 5, 4096, &msg, &len, &used), 0);
	assert_int_equal(pb_delimited(bad, sizeof(bad), 4096, &msg, &len, &used), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_varint_examples),
	    cmocka_unit_test(test_varint_bad),
	    cmocka_unit_test(test_fields),
	    cmocka_unit_test(test_delimited),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
