/* Unit tests: common/stream.c (records, sniffing, output queue). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stream.h"

#define MAX_SEEN 16

/* What the record callback saw, in order. */
struct seen {
	size_t n;
	size_t len[MAX_SEEN];
	uint8_t rec[MAX_SEEN][STREAM_MAX_RECORD];
};

static void seen_cb(void *arg, uint8_t *rec, size_t len)
{
	struct seen *s = arg;

	assert_true(s->n < MAX_SEEN);
	assert_true(len >= 1 && len <= STREAM_MAX_RECORD);
	memcpy(s->rec[s->n], rec, len);
	s->len[s->n++] = len;
	/* The record is the callback's to change: scribbling must not hurt what follows. */
	memset(rec, 0xee, len);
}

/* Append one record of len bytes (pattern seeded by tag) to out at *pos. */
static void put_record(uint8_t *out, size_t *pos, size_t len, uint8_t tag)
{
	assert_int_equal(stream_put_hdr(out + *pos, len), 0);
	for (size_t i = 0; i < len; i++)
		out[*pos + STREAM_HDR_LEN + i] = (uint8_t)(tag + i * 7);
	*pos += STREAM_HDR_LEN + len;
}

static void assert_record(const struct seen *s, size_t i, size_t len, uint8_t tag)
{
	assert_true(i < s->n);
	assert_int_equal(s->len[i], len);
	for (size_t k = 0; k < len; k++)
		assert_int_equal(s->rec[i][k], (uint8_t)(tag + k * 7));
}

static void test_sniff_table(void **state)
{
	static const struct {
		uint8_t first;
		enum stream_sniff want;
	} t[] = {
	    {0x00, STREAM_SNIFF_RECORDS}, {0x01, STREAM_SNIFF_RECORDS},
	    {0x05, STREAM_SNIFF_RECORDS}, {0x10, STREAM_SNIFF_RECORDS},
	    {0x11, STREAM_SNIFF_BAD},     {0x15, STREAM_SNIFF_BAD},
	    {0x16, STREAM_SNIFF_TLS},     {0x17, STREAM_SNIFF_BAD},
	    {'G', STREAM_SNIFF_HTTP},     {'g', STREAM_SNIFF_BAD},
	    {'P', STREAM_SNIFF_BAD},      {'H', STREAM_SNIFF_BAD},
	    {0x80, STREAM_SNIFF_BAD},     {0xff, STREAM_SNIFF_BAD},
	};
	uint8_t buf[4] = {0, 0, 0, 0};

	(void)state;
	assert_int_equal(stream_sniff(NULL, 0), STREAM_SNIFF_MORE);
	assert_int_equal(stream_sniff(buf, 0), STREAM_SNIFF_MORE);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		buf[0] = t[i].first;
		assert_int_equal(stream_sniff(buf, 1), t[i].want);
		assert_int_equal(stream_sniff(buf, sizeof(buf)), t[i].want);
	}
	/* Real prefaces: a ClientHello, an upgrade request, the largest record header. */
	assert_int_equal(stream_sniff((const uint8_t *)"\x16\x03\x01\x02\x00", 5),
	                 STREAM_SNIFF_TLS);
	assert_int_equal(stream_sniff((const uint8_t *)"GET /wgrelay HTTP/1.1", 21),
	                 STREAM_SNIFF_HTTP);
	assert_int_equal(stream_put_hdr(buf, STREAM_MAX_RECORD), 0);
	assert_int_equal(stream_sniff(buf, 2), STREAM_SNIFF_RECORDS);
}

static void test_put_hdr(void **state)
{
	uint8_t h[STREAM_HDR_LEN] = {0xaa, 0xbb};

	(void)state;
	assert_int_equal(stream_put_hdr(h, 0), -EMSGSIZE);
	assert_int_equal(stream_put_hdr(h, STREAM_MAX_RECORD + 1), -EMSGSIZE);
	assert_int_equal(stream_put_hdr(h, 65536 + 5), -EMSGSIZE); /* not truncated to 5 */
	assert_int_equal(h[0], 0xaa);
	assert_int_equal(stream_put_hdr(h, 1), 0);
	assert_int_equal(h[0], 0);
	assert_int_equal(h[1], 1);
	assert_int_equal(stream_put_hdr(h, 0x0123), 0);
	assert_int_equal(h[0], 0x01);
	assert_int_equal(h[1], 0x23);
	assert_int_equal(stream_put_hdr(h, STREAM_MAX_RECORD), 0);
	assert_int_equal(h[0], 0x10);
	assert_int_equal(h[1], 0x00);
}

/* Three records split into two feeds at every byte boundary. */
static void test_split_everywhere(void **state)
{
	static uint8_t in[3 * (STREAM_HDR_LEN + 40)];
	struct stream_rx *rx = malloc(sizeof(*rx));
	struct seen *s = malloc(sizeof(*s));
	size_t n = 0;

	(void)state;
	assert_non_null(rx);
	assert_non_null(s);
	put_record(in, &n, 1, 1);
	put_record(in, &n, 40, 2);
	put_record(in, &n, 17, 3);
	for (size_t cut = 0; cut <= n; cut++) {
		stream_rx_init(rx);
		s->n = 0;
		assert_int_equal(stream_rx_feed(rx, in, cut, seen_cb, s), 0);
		assert_int_equal(stream_rx_feed(rx, in + cut, n - cut, seen_cb, s), 0);
		assert_int_equal(s->n, 3);
		assert_record(s, 0, 1, 1);
		assert_record(s, 1, 40, 2);
		assert_record(s, 2, 17, 3);
	}
	free(rx);
	free(s);
}

/* One byte at a time, and everything in one feed (back-to-back records). */
static void test_byte_at_a_time_and_one_shot(void **state)
{
	static uint8_t in[4 * (STREAM_HDR_LEN + STREAM_MAX_RECORD)];
	struct stream_rx *rx = malloc(sizeof(*rx));
	struct seen *s = malloc(sizeof(*s));
	size_t n = 0;

	(void)state;
	assert_non_null(rx);
	assert_non_null(s);
	put_record(in, &n, STREAM_MAX_RECORD, 9);
	put_record(in, &n, 2, 10);
	put_record(in, &n, 256, 11); /* a length whose low byte is 0 */
	put_record(in, &n, STREAM_MAX_RECORD, 12);

	stream_rx_init(rx);
	s->n = 0;
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(stream_rx_feed(rx, in + i, 1, seen_cb, s), 0);
		/* A record is delivered at its last byte, not before. */
		if (i == STREAM_HDR_LEN + STREAM_MAX_RECORD - 2)
			assert_int_equal(s->n, 0);
		if (i == STREAM_HDR_LEN + STREAM_MAX_RECORD - 1)
			assert_int_equal(s->n, 1);
	}
	assert_int_equal(s->n, 4);

	stream_rx_init(rx);
	s->n = 0;
	assert_int_equal(stream_rx_feed(rx, in, n, seen_cb, s), 0);
	assert_int_equal(s->n, 4);
	assert_record(s, 0, STREAM_MAX_RECORD, 9);
	assert_record(s, 1, 2, 10);
	assert_record(s, 2, 256, 11);
	assert_record(s, 3, STREAM_MAX_RECORD, 12);
	/* An empty feed changes nothing. */
	assert_int_equal(stream_rx_feed(rx, in, 0, seen_cb, s), 0);
	assert_int_equal(s->n, 4);
	free(rx);
	free(s);
}

/* A bad length ends the stream; what came before it was delivered, nothing after. */
static void check_bad_length(size_t badlen, size_t split)
{
	uint8_t in[64];
	struct stream_rx *rx = malloc(sizeof(*rx));
	struct seen *s = malloc(sizeof(*s));
	size_t n = 0;

	assert_non_null(rx);
	assert_non_null(s);
	put_record(in, &n, 5, 20);
	put_record(in, &n, 6, 21);
	in[n++] = (uint8_t)(badlen >> 8);
	in[n++] = (uint8_t)badlen;
	put_record(in, &n, 3, 22); /* never seen */
	stream_rx_init(rx);
	s->n = 0;
	if (split > n)
		split = n;
	/* The first part may end before the bad header is whole: then the second feed fails. */
	int r1 = stream_rx_feed(rx, in, split, seen_cb, s);
	int r2 = stream_rx_feed(rx, in + split, n - split, seen_cb, s);
	assert_true(r1 == -EPROTO || r2 == -EPROTO);
	assert_int_equal(r1 == 0 ? r2 : r1, -EPROTO);
	assert_int_equal(s->n, 2);
	assert_record(s, 0, 5, 20);
	assert_record(s, 1, 6, 21);
	/* Finished for good: even a good record is refused now. */
	n = 0;
	put_record(in, &n, 4, 23);
	assert_int_equal(stream_rx_feed(rx, in, n, seen_cb, s), -EPROTO);
	assert_int_equal(stream_rx_feed(rx, in, 0, seen_cb, s), -EPROTO);
	assert_int_equal(s->n, 2);
	/* Until it is started again. */
	stream_rx_init(rx);
	assert_int_equal(stream_rx_feed(rx, in, n, seen_cb, s), 0);
	assert_int_equal(s->n, 3);
	free(rx);
	free(s);
}

static void test_bad_lengths(void **state)
{
	(void)state;
	for (size_t split = 0; split < 24; split++) {
		check_bad_length(0, split);
		check_bad_length(STREAM_MAX_RECORD + 1, split);
		check_bad_length(0xffff, split);
	}
}

static void test_queue_wrap(void **state)
{
	struct stream_q q;
	uint8_t out[16];
	const uint8_t *p;
	size_t n;

	(void)state;
	assert_int_equal(stream_q_init(&q, 10), 0);
	assert_int_equal(stream_q_room(&q), 10);
	p = stream_q_peek(&q, &n);
	assert_int_equal(n, 0);
	(void)p;

	assert_int_equal(stream_q_push(&q, "abcdefg", 7), 0);
	assert_int_equal(stream_q_room(&q), 3);
	/* All or nothing: 4 bytes do not fit in 3, and nothing goes in. */
	assert_int_equal(stream_q_push(&q, "WXYZ", 4), -ENOBUFS);
	assert_int_equal(stream_q_room(&q), 3);
	p = stream_q_peek(&q, &n);
	assert_int_equal(n, 7);
	assert_memory_equal(p, "abcdefg", 7);

	stream_q_pop(&q, 5); /* "fg" left at offset 5 */
	assert_int_equal(stream_q_room(&q), 8);
	/* 6 more bytes: 3 at the end of the buffer, 3 wrapped to its start. */
	assert_int_equal(stream_q_push(&q, "hijklm", 6), 0);
	assert_int_equal(stream_q_room(&q), 2);
	p = stream_q_peek(&q, &n);
	assert_int_equal(n, 5); /* the run up to the end of the buffer */
	assert_memory_equal(p, "fghij", 5);
	stream_q_pop(&q, 2);
	p = stream_q_peek(&q, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "hij", 3);
	stream_q_pop(&q, 3);
	p = stream_q_peek(&q, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(p, "klm", 3);

	/* Fill it exactly, across the wrap. */
	assert_int_equal(stream_q_push(&q, "0123456", 7), 0);
	assert_int_equal(stream_q_room(&q), 0);
	assert_int_equal(stream_q_push(&q, "x", 1), -ENOBUFS);
	assert_int_equal(stream_q_push(&q, "", 0), 0);
	size_t got = 0;
	for (int guard = 0; guard < 10; guard++) {
		p = stream_q_peek(&q, &n);
		if (n == 0)
			break;
		memcpy(out + got, p, n);
		got += n;
		stream_q_pop(&q, n);
	}
	assert_int_equal(got, 10);
	assert_memory_equal(out, "klm0123456", 10);
	assert_int_equal(stream_q_room(&q), 10);

	/* Popping more than is queued empties it; empty starts over, so a full run follows. */
	assert_int_equal(stream_q_push(&q, "ab", 2), 0);
	stream_q_pop(&q, 99);
	assert_int_equal(stream_q_room(&q), 10);
	assert_int_equal(stream_q_push(&q, "0123456789", 10), 0);
	p = stream_q_peek(&q, &n);
	assert_int_equal(n, 10);
	assert_memory_equal(p, "0123456789", 10);
	stream_q_free(&q);
	stream_q_free(&q); /* twice is harmless */
	stream_q_free(NULL);
}

/* A long random run against a plain model of the queue. */
static void test_queue_model(void **state)
{
	uint8_t model[64], in[64];
	size_t mlen = 0;
	struct stream_q q;
	uint32_t x = 12345;

	(void)state;
	assert_int_equal(stream_q_init(&q, 37), 0);
	for (int step = 0; step < 20000; step++) {
		x = x * 1103515245u + 12345u;
		size_t k = (x >> 16) % 20;
		if ((x >> 8) & 1) {
			for (size_t i = 0; i < k; i++)
				in[i] = (uint8_t)(step + i);
			int r = stream_q_push(&q, in, k);
			if (mlen + k > 37) {
				assert_int_equal(r, -ENOBUFS);
			} else {
				assert_int_equal(r, 0);
				memcpy(model + mlen, in, k);
				mlen += k;
			}
		} else {
			size_t n;
			const uint8_t *p = stream_q_peek(&q, &n);
			assert_true(n <= mlen);
			assert_true(mlen == 0 || n > 0);
			assert_memory_equal(p, model, n);
			if (k > n)
				k = n;
			stream_q_pop(&q, k);
			memmove(model, model + k, mlen - k);
			mlen -= k;
		}
		assert_int_equal(stream_q_room(&q), 37 - mlen);
	}
	stream_q_free(&q);
}

static void test_queue_zero_cap(void **state)
{
	struct stream_q q;
	size_t n = 1;

	(void)state;
	assert_int_equal(stream_q_init(&q, 0), 0);
	assert_int_equal(stream_q_room(&q), 0);
	assert_int_equal(stream_q_push(&q, "a", 1), -ENOBUFS);
	assert_int_equal(stream_q_push(&q, "", 0), 0);
	stream_q_peek(&q, &n);
	assert_int_equal(n, 0);
	stream_q_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sniff_table),
	    cmocka_unit_test(test_put_hdr),
	    cmocka_unit_test(test_split_everywhere),
	    cmocka_unit_test(test_byte_at_a_time_and_one_shot),
	    cmocka_unit_test(test_bad_lengths),
	    cmocka_unit_test(test_queue_wrap),
	    cmocka_unit_test(test_queue_model),
	    cmocka_unit_test(test_queue_zero_cap),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
