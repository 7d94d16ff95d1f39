/* Unit tests: common/bencode.c (canonical decoding, every rejection, the encoder). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "bencode.h"

static struct ben_tok toks[64];

static int dec(struct ben_doc *doc, const char *s)
{
	return ben_decode(doc, (const uint8_t *)s, strlen(s), toks, 64);
}

static void test_scalars(void **state)
{
	struct ben_doc doc;
	const uint8_t *p;
	size_t len;
	int64_t v;

	(void)state;
	assert_int_equal(dec(&doc, "i42e"), 0);
	assert_int_equal(doc.n, 1);
	assert_int_equal(ben_int(&doc, 0, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(ben_str(&doc, 0, &p, &len), -EINVAL);
	assert_int_equal(dec(&doc, "i-7e"), 0);
	assert_int_equal(ben_int(&doc, 0, &v), 0);
	assert_int_equal(v, -7);
	assert_int_equal(dec(&doc, "i0e"), 0);
	assert_int_equal(dec(&doc, "i9223372036854775807e"), 0);
	assert_int_equal(ben_int(&doc, 0, &v), 0);
	assert_true(v == INT64_MAX);
	assert_int_equal(dec(&doc, "i-9223372036854775808e"), 0);
	assert_int_equal(ben_int(&doc, 0, &v), 0);
	assert_true(v == INT64_MIN);
	assert_int_equal(dec(&doc, "4:spam"), 0);
	assert_int_equal(ben_str(&doc, 0, &p, &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(p, "spam", 4);
	assert_int_equal(toks[0].len, 6);
	assert_int_equal(dec(&doc, "0:"), 0);
	assert_int_equal(ben_str(&doc, 0, &p, &len), 0);
	assert_int_equal(len, 0);
	assert_int_equal(ben_int(&doc, -1, &v), -EINVAL);
}

static void test_containers(void **state)
{
	const char *s = "d3:bar4:spam3:fooli42eli1eeee";
	struct ben_doc doc;
	const uint8_t *p;
	size_t len, n = 0;
	int64_t v;
	int foo;

	(void)state;
	assert_int_equal(dec(&doc, s), 0);
	assert_int_equal(doc.tok[0].type, BEN_DICT);
	assert_int_equal(doc.tok[0].len, strlen(s));
	assert_int_equal(doc.tok[0].next, doc.n);
	assert_int_equal(ben_str(&doc, ben_dict_get(&doc, 0, "bar"), &p, &len), 0);
	assert_memory_equal(p, "spam", 4);
	foo = ben_dict_get(&doc, 0, "foo");
	assert_true(foo > 0);
	assert_int_equal(doc.tok[foo].type, BEN_LIST);
	/* the span of a container is its whole encoding */
	assert_int_equal(doc.tok[foo].len, strlen("li42eli1eee"));
	assert_memory_equal(s + doc.tok[foo].off, "li42eli1eee", doc.tok[foo].len);
	for (uint32_t i = (uint32_t)foo + 1; i < doc.tok[foo].next; i = doc.tok[i].next)
		n++;
	assert_int_equal(n, 2); /* the inner list counts once */
	assert_int_equal(ben_int(&doc, foo + 1, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(ben_dict_get(&doc, 0, "baz"), -1);
	assert_int_equal(ben_dict_get(&doc, foo, "x"), -1); /* not a dictionary */
	assert_int_equal(ben_dict_get(&doc, -1, "x"), -1);
	assert_int_equal(dec(&doc, "le"), 0);
	assert_int_equal(dec(&doc, "de"), 0);
	/* a prefix sorts first */
	assert_int_equal(dec(&doc, "d1:ai1e2:aai2ee"), 0);
	/* BEP 5's example ping */
	assert_int_equal(dec(&doc, "d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe"), 0);
}

static void test_rejections(void **state)
{
	static const char *const bad[] = {
	    "",
	    "x",
	    "i",
	    "ie",
	    "i-e",
	    "i01e",
	    "i-0e",
	    "i-01e",
	    "i1",
	    "i1x",
	    "i+1e",
	    "i 1e",
	    "01:a",
	    "4:abc",
	    "1",
	    "1:",
	    "-1:a",
	    "1a:x",
	    ":",
	    "l",
	    "li1e",
	    "d",
	    "d1:a",
	    "d1:ae",
	    "di1ei2ee",
	    "dlei1ee",
	    "d1:bi1e1:ai2ee",
	    "d1:ai1e1:ai2ee",
	    "d2:aai1e1:ai2ee",
	    "i1ei2e",
	    "4:spamx",
	    "le ",
	    "e",
	    "i9223372036854775808e",
	    "i-9223372036854775809e",
	    "i99999999999999999999e",
	    "99999999999999999999:x",
	};
	struct ben_doc doc;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int r = dec(&doc, bad[i]);

		if (r != -EBADMSG)
			fail_msg("accepted or misjudged \"%s\": %d", bad[i], r);
	}
	/* embedded NUL after a complete element is trailing garbage too */
	assert_int_equal(ben_decode(&doc, (const uint8_t *)"i1e\0", 4, toks, 64), -EBADMSG);
}

static void test_limits(void **state)
{
	char deep[2 * BEN_MAX_DEPTH + 3];
	struct ben_doc doc;

	(void)state;
	memset(deep, 'l', BEN_MAX_DEPTH);
	memset(deep + BEN_MAX_DEPTH, 'e', BEN_MAX_DEPTH);
	deep[2 * BEN_MAX_DEPTH] = '\0';
	assert_int_equal(dec(&doc, deep), 0);
	memset(deep, 'l', BEN_MAX_DEPTH + 1);
	memset(deep + BEN_MAX_DEPTH + 1, 'e', BEN_MAX_DEPTH + 1);
	deep[2 * BEN_MAX_DEPTH + 2] = '\0';
	assert_int_equal(dec(&doc, deep), -ELOOP);
	/* token capacity */
	assert_int_equal(ben_decode(&doc, (const uint8_t *)"li1ei2ei3ee", 11, toks, 4), 0);
	assert_int_equal(ben_decode(&doc, (const uint8_t *)"li1ei2ei3ee", 11, toks, 3), -E2BIG);
}

static void test_encoder(void **state)
{
	uint8_t buf[64];
	struct wbuf w;
	struct ben_doc doc;
	int r = 0;

	(void)state;
	wbuf_init(&w, buf, sizeof(buf));
	r |= ben_put_open(&w, 'd');
	r |= ben_put_key(&w, "a");
	r |= ben_put_int(&w, -12);
	r |= ben_put_key(&w, "b");
	r |= ben_put_open(&w, 'l');
	r |= ben_put_str(&w, "xy", 2);
	r |= ben_put_int(&w, 0);
	r |= ben_put_close(&w);
	r |= ben_put_close(&w);
	assert_int_equal(r, 0);
	assert_int_equal(w.pos, strlen("d1:ai-12e1:bl2:xyi0eee"));
	assert_memory_equal(buf, "d1:ai-12e1:bl2:xyi0eee", w.pos);
	/* what we write, we read back */
	assert_int_equal(ben_decode(&doc, buf, w.pos, toks, 64), 0);
	wbuf_init(&w, buf, 3);
	assert_int_equal(ben_put_str(&w, "abc", 3), -ENOBUFS);
	assert_int_equal(w.pos, 0);
	assert_int_equal(ben_put_int(&w, 1000), -ENOBUFS);
	assert_int_equal(ben_put_int(&w, 1), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_scalars),    cmocka_unit_test(test_containers),
	    cmocka_unit_test(test_rejections), cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_encoder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
