/* wgcheck: which datagrams are WireGuard-shaped, and the indices they carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "wgcheck.h"

static size_t mk(uint8_t *p, uint8_t type, size_t len, uint32_t a, uint32_t b)
{
	memset(p, 0xa5, len);
	p[0] = type;
	p[1] = p[2] = p[3] = 0;
	p[4] = (uint8_t)a, p[5] = (uint8_t)(a >> 8), p[6] = (uint8_t)(a >> 16),
	p[7] = (uint8_t)(a >> 24);
	p[8] = (uint8_t)b, p[9] = (uint8_t)(b >> 8), p[10] = (uint8_t)(b >> 16),
	p[11] = (uint8_t)(b >> 24);
	return len;
}

static void test_valid_types_and_indices(void **state)
{
	uint8_t p[2048];
	uint32_t s, r;

	(void)state;
	assert_int_equal(wgcheck(p, mk(p, 1, 148, 0x11223344, 7), &s, &r), WG_MSG_INIT);
	assert_int_equal(s, 0x11223344);
	assert_int_equal(r, 0);
	assert_int_equal(wgcheck(p, mk(p, 2, 92, 0xaabbccdd, 0x01020304), &s, &r), WG_MSG_RESP);
	assert_int_equal(s, 0xaabbccdd);
	assert_int_equal(r, 0x01020304);
	assert_int_equal(wgcheck(p, mk(p, 3, 64, 0x55, 9), &s, &r), WG_MSG_COOKIE);
	assert_int_equal(s, 0);
	assert_int_equal(r, 0x55);
	for (size_t len = 32; len <= 1600; len += 16) {
		assert_int_equal(wgcheck(p, mk(p, 4, len, 0xdeadbeef, 0), &s, &r), WG_MSG_DATA);
		assert_int_equal(r, 0xdeadbeef);
	}
}

static void test_wrong_sizes(void **state)
{
	uint8_t p[2048];
	uint32_t s, r;

	(void)state;
	for (size_t len = 0; len < 300; len++) {
		int want1 = len == 148, want2 = len == 92, want3 = len == 64;
		int want4 = len >= 32;

		assert_int_equal(wgcheck(p, mk(p, 1, len < 12 ? 12 : len, 1, 2) ? len : 0, &s, &r),
		                 want1 ? 1 : -1);
		assert_int_equal(wgcheck(p, mk(p, 2, len < 12 ? 12 : len, 1, 2) ? len : 0, &s, &r),
		                 want2 ? 2 : -1);
		assert_int_equal(wgcheck(p, mk(p, 3, len < 12 ? 12 : len, 1, 2) ? len : 0, &s, &r),
		                 want3 ? 3 : -1);
		assert_int_equal(wgcheck(p, mk(p, 4, len < 12 ? 12 : len, 1, 2) ? len : 0, &s, &r),
		                 want4 ? 4 : -1);
	}
	assert_int_equal(wgcheck(NULL, 0, &s, &r), -1);
}

static void test_wrong_types_and_reserved(void **state)
{
	uint8_t p[148];
	uint32_t s, r;

	(void)state;
	for (int t = 0; t < 256; t++)
		if (t < 1 || t > 4)
			assert_int_equal(wgcheck(p, mk(p, (uint8_t)t, 148, 1, 2), &s, &r), -1);
	for (int i = 1; i < 4; i++) {
		mk(p, 1, 148, 1, 2);
		p[i] = 1;
		assert_int_equal(wgcheck(p, 148, &s, &r), -1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_types_and_indices),
	    cmocka_unit_test(test_wrong_sizes),
	    cmocka_unit_test(test_wrong_types_and_reserved),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
