/* Unit tests: libp2p/mss.c (multistream-select 1.0). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "mss.h"

static const char *const protos[] = {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0",
                                     "/libp2p/circuit/relay/0.2.0/hop"};
#define NPROTOS (sizeof(protos) / sizeof(protos[0]))

/* The wire form of the header, written out from the spec (0x13 = 19 = 18 + '\n'). */
static const uint8_t hdr[] = "\x13/multistream/1.0.0\n";
#define HDR_LEN (sizeof(hdr) - 1)
/* The connections spec's own example: "na" is 0x036e610a. */
static const uint8_t na[] = {0x03, 0x6e, 0x61, 0x0a};

/* Append a message (one length byte: lines under 128 bytes) to buf at *len. */
static void put_line(uint8_t *buf, size_t *len, const char *s)
{
	size_t l = strlen(s);

	assert_true(l + 1 < 128);
	buf[(*len)++] = (uint8_t)(l + 1);
	memcpy(buf + *len, s, l);
	*len += l;
	buf[(*len)++] = '\n';
}

/* A dialer and a listener, each fed the other's bytes one at a time. */
static void test_byte_by_byte(void **state)
{
	uint8_t dout[256], lout[MSS_OUT_MAX + 64], expect[128];
	struct wbuf dw, lw;
	struct mss d, l;
	size_t i, used, elen = 0;
	int r = 0, chosen = -1;

	(void)state;
	wbuf_init(&dw, dout, sizeof(dout));
	assert_int_equal(mss_dial_start(&d, protos[2], &dw), 0);
	/* Pipelined: the header and the proposal at once. */
	memcpy(expect, hdr, HDR_LEN);
	elen = HDR_LEN;
	put_line(expect, &elen, protos[2]);
	assert_int_equal(dw.pos, elen);
	assert_memory_equal(dout, expect, elen);

	mss_listen_init(&l);
	wbuf_init(&lw, lout, sizeof(lout));
	for (i = 0; i < dw.pos; i++) {
		r = mss_listen_input(&l, protos, NPROTOS, dout + i, 1, &used, &lw, &chosen);
		if (i + 1 < dw.pos) {
			assert_int_equal(r, 0);
			assert_int_equal(used, 1);
		}
		/* The listener's header goes out once it has the dialer's whole header. */
		if (i + 1 < HDR_LEN)
			assert_int_equal(lw.pos, 0);
		if (i + 1 == HDR_LEN)
			assert_int_equal(lw.pos, HDR_LEN);
	}
	assert_int_equal(r, 1);
	assert_int_equal(used, 1);
	assert_int_equal(chosen, 2);
	assert_int_equal(lw.pos, elen); /* header, then the echo */
	assert_memory_equal(lout, expect, elen);

	for (i = 0; i < lw.pos; i++) {
		r = mss_dial_input(&d, lout + i, 1, &used);
		if (i + 1 < lw.pos)
			assert_int_equal(r, 0);
	}
	assert_int_equal(r, 1);
	assert_int_equal(used, 1);
	/* Done is done. */
	assert_int_equal(mss_dial_input(&d, lout, 1, &used), -EINVAL);
	assert_int_equal(mss_listen_input(&l, protos, NPROTOS, dout, 1, &used, &lw, &chosen),
	                 -EINVAL);
}

/* Header, proposal and application data in one chunk: the data is left to the caller. */
static void test_pipelined_data(void **state)
{
	uint8_t in[128], out[MSS_OUT_MAX];
	struct wbuf w;
	struct mss l;
	size_t len = 0, used = 0;
	int chosen = -1;

	(void)state;
	memcpy(in, hdr, HDR_LEN);
	len = HDR_LEN;
	put_line(in, &len, "/ipfs/ping/1.0.0");
	memcpy(in + len, "PING32BYTES", 11);
	mss_listen_init(&l);
	wbuf_init(&w, out, sizeof(out));
	assert_int_equal(mss_listen_input(&l, protos, NPROTOS, in, len + 11, &used, &w, &chosen),
	                 1);
	assert_int_equal(chosen, 1);
	assert_int_equal(used, len);
	assert_memory_equal(in + used, "PING32BYTES", 11);

	/* The dialer likewise: the listener's answer and its first data together. */
	{
		uint8_t dout[128], back[128];
		struct wbuf dw;
		struct mss d;
		size_t blen = 0;

		wbuf_init(&dw, dout, sizeof(dout));
		assert_int_equal(mss_dial_start(&d, "/libp2p/circuit/relay/0.2.0/stop", &dw), 0);
		memcpy(back, hdr, HDR_LEN);
		blen = HDR_LEN;
		put_line(back, &blen, "/libp2p/circuit/relay/0.2.0/stop");
		back[blen++] = 0x42;
		assert_int_equal(mss_dial_input(&d, back, blen, &used), 1);
		assert_int_equal(used, blen - 1);
	}
}

/* "na" for an unknown proposal and for "ls", then a second proposal accepted. */
static void test_na_then_accept(void **state)
{
	uint8_t in[256], out[MSS_OUT_MAX], expect[128];
	struct wbuf w;
	struct mss l;
	size_t len = 0, elen = 0, used = 0;
	int chosen = -1;

	(void)state;
	memcpy(in, hdr, HDR_LEN);
	len = HDR_LEN;
	put_line(in, &len, "/yamux/1.0.0");
	put_line(in, &len, "ls");
	put_line(in, &len, "/ipfs/id/1.0.0");

	memcpy(expect, hdr, HDR_LEN);
	elen = HDR_LEN;
	memcpy(expect + elen, na, 4);
	memcpy(expect + elen + 4, na, 4);
	elen += 8;
	put_line(expect, &elen, "/ipfs/id/1.0.0");

	mss_listen_init(&l);
	wbuf_init(&w, out, sizeof(out));
	assert_int_equal(mss_listen_input(&l, protos, NPROTOS, in, len, &used, &w, &chosen), 1);
	assert_int_equal(chosen, 0);
	assert_int_equal(used, len);
	assert_int_equal(w.pos, elen);
	assert_memory_equal(out, expect, elen);

	/* The dialer side of a refusal. */
	{
		uint8_t dout[128], back[64];
		struct wbuf dw;
		struct mss d;

		wbuf_init(&dw, dout, sizeof(dout));
		assert_int_equal(mss_dial_start(&d, "/yamux/1.0.0", &dw), 0);
		memcpy(back, hdr, HDR_LEN);
		memcpy(back + HDR_LEN, na, 4);
		assert_int_equal(mss_dial_input(&d, back, HDR_LEN + 4, &used), -ENOPROTOOPT);
		/* Another answer than the echo or "na" is a protocol error. */
		wbuf_init(&dw, dout, sizeof(dout));
		assert_int_equal(mss_dial_start(&d, "/yamux/1.0.0", &dw), 0);
		len = HDR_LEN;
		put_line(back, &len, "/yamux/2.0.0");
		assert_int_equal(mss_dial_input(&d, back, len, &used), -EPROTO);
	}
}

/* At most MSS_MAX_TRIES proposals; the one after is -EPROTO. */
static void test_tries(void **state)
{
	uint8_t out[MSS_OUT_MAX];
	uint8_t line[32];
	struct wbuf w;
	struct mss l;
	size_t len, used;
	int i, chosen = -1;

	(void)state;
	mss_listen_init(&l);
	wbuf_init(&w, out, sizeof(out));
	assert_int_equal(mss_listen_input(&l, protos, NPROTOS, hdr, HDR_LEN, &used, &w, &chosen),
	                 0);
	for (i = 0; i < MSS_MAX_TRIES; i++) {
		len = 0;
		put_line(line, &len, "/nope/1.0.0");
		wbuf_init(&w, out, sizeof(out));
		assert_int_equal(
		    mss_listen_input(&l, protos, NPROTOS, line, len, &used, &w, &chosen), 0);
		assert_int_equal(w.pos, 4);
		assert_memory_equal(out, na, 4);
	}
	/* Even a supported one is refused now. */
	len = 0;
	put_line(line, &len, "/ipfs/id/1.0.0");
	wbuf_init(&w, out, sizeof(out));
	assert_int_equal(mss_listen_input(&l, protos, NPROTOS, line, len, &used, &w, &chosen),
	                 -EPROTO);
	assert_int_equal(w.pos, 0);
	/* Positive control: the 16th try may still succeed. */
	mss_listen_init(&l);
	wbuf_init(&w, out, sizeof(out));
	assert_int_equal(mss_listen_input(&l, protos, NPROTOS, hdr, HDR_LEN, &used, &w, &chosen),
	                 0);
	for (i = 0; i < MSS_MAX_TRIES - 1; i++) {
		len = 0;
		put_line(line, &len, "/nope/1.0.0");
		wbuf_init(&w, out, sizeof(out));
		assert_int_equal(
		    mss_listen_input(&l, protos, NPROTOS, line, len, &used, &w, &chosen), 0);
	}
	len = 0;
	put_line(line, &len, "/ipfs/id/1.0.0");
	wbuf_init(&w, out, sizeof(out));
	assert_int_equal(mss_listen_input(&l, protos, NPROTOS, line, len, &used, &w, &chosen), 1);
	assert_int_equal(chosen, 0);
}

/* Feed a header and then msg to a fresh listener: its result. */
static int listen_after_hdr(const uint8_t *msg, size_t n, struct wbuf *w)
{
	struct mss l;
	size_t used;
	int chosen = -1;

	mss_listen_init(&l);
	w->pos = 0;
	assert_int_equal(mss_listen_input(&l, protos, NPROTOS, hdr, HDR_LEN, &used, w, &chosen), 0);
	w->pos = 0;
	return mss_listen_input(&l, protos, NPROTOS, msg, n, &used, w, &chosen);
}

/* Line lengths: up to MSS_MAX_LINE read and refused with "na", one more -EMSGSIZE. */
static void test_line_limits(void **state)
{
	static uint8_t big[MSS_MAX_LINE + 8];
	uint8_t out[MSS_OUT_MAX];
	struct wbuf w;

	(void)state;
	wbuf_init(&w, out, sizeof(out));
	/* 1024 = 0x80 0x08. */
	big[0] = 0x80;
	big[1] = 0x08;
	memset(big + 2, 'x', MSS_MAX_LINE - 1);
	big[2 + MSS_MAX_LINE - 1] = '\n';
	assert_int_equal(listen_after_hdr(big, 2 + MSS_MAX_LINE, &w), 0);
	assert_int_equal(w.pos, 4);
	assert_memory_equal(out, na, 4);
	/* 1025 = 0x81 0x08: refused at its length. */
	big[0] = 0x81;
	assert_int_equal(listen_after_hdr(big, 2, &w), -EMSGSIZE);
	/* Three varint bytes are past any line. */
	big[0] = 0x80;
	big[1] = 0x80;
	big[2] = 0x01;
	assert_int_equal(listen_after_hdr(big, 3, &w), -EMSGSIZE);
	/* A proposal one byte longer than MSS_NAME_MAX that would match in its first bytes. */
	{
		uint8_t line[MSS_NAME_MAX + 4];
		const char *const longp[] = {
		    "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"};
		size_t len = 0;

		assert_int_equal(strlen(longp[0]), MSS_NAME_MAX);
		line[len++] = MSS_NAME_MAX + 2;
		memcpy(line + len, longp[0], MSS_NAME_MAX);
		len += MSS_NAME_MAX;
		line[len++] = 'a';
		line[len++] = '\n';
		{
			struct mss l;
			size_t used;
			int chosen = -1;

			mss_listen_init(&l);
			wbuf_init(&w, out, sizeof(out));
			assert_int_equal(
			    mss_listen_input(&l, longp, 1, hdr, HDR_LEN, &used, &w, &chosen), 0);
			w.pos = 0;
			assert_int_equal(
			    mss_listen_input(&l, longp, 1, line, len, &used, &w, &chosen), 0);
			assert_memory_equal(out, na, 4);
			/* Positive control: exactly MSS_NAME_MAX bytes is chosen. */
			line[0] = MSS_NAME_MAX + 1;
			line[1 + MSS_NAME_MAX] = '\n';
			wbuf_init(&w, out, sizeof(out));
			assert_int_equal(mss_listen_input(&l, longp, 1, line, MSS_NAME_MAX + 2,
			                                  &used, &w, &chosen),
			                 1);
			assert_int_equal(chosen, 0);
		}
	}
}

/* Malformed messages and bad headers. */
static void test_malformed(void **state)
{
	uint8_t out[MSS_OUT_MAX], small[MSS_OUT_MAX - 1];
	struct wbuf w;
	struct mss l;
	size_t used;
	int chosen;

	(void)state;
	wbuf_init(&w, out, sizeof(out));
	/* Empty message; no '\n'; a length not minimally encoded (0x83 0x00 is 3). */
	assert_int_equal(listen_after_hdr((const uint8_t *)"\x00", 1, &w), -EBADMSG);
	assert_int_equal(listen_after_hdr((const uint8_t *)"\x03nax", 4, &w), -EBADMSG);
	assert_int_equal(listen_after_hdr((const uint8_t *)"\x83\x00na\n", 5, &w), -EBADMSG);
	/* Positive control for the cases above. */
	assert_int_equal(listen_after_hdr((const uint8_t *)"\x03na\n", 4, &w), 0);

	/* Garbage instead of a header fails at its first byte, with nothing sent. */
	mss_listen_init(&l);
	wbuf_init(&w, out, sizeof(out));
	assert_int_equal(mss_listen_input(&l, protos, NPROTOS,
	                                  (const uint8_t *)"GET / HTTP/1.1\r\n", 16, &used, &w,
	                                  &chosen),
	                 -EPROTO);
	assert_int_equal(used, 1);
	assert_int_equal(w.pos, 0);
	/* A header of the right length but other text. */
	mss_listen_init(&l);
	assert_int_equal(mss_listen_input(&l, protos, NPROTOS,
	                                  (const uint8_t *)"\x13/multistream/2.0.0\n", HDR_LEN,
	                                  &used, &w, &chosen),
	                 -EPROTO);
	assert_int_equal(w.pos, 0);
	/* A proposal before the header. */
	mss_listen_init(&l);
	assert_int_equal(mss_listen_input(&l, protos, NPROTOS, (const uint8_t *)"\x03na\n", 4,
	                                  &used, &w, &chosen),
	                 -EPROTO);

	/* Too little room for the output: nothing taken, and it works with room. */
	mss_listen_init(&l);
	wbuf_init(&w, small, sizeof(small));
	assert_int_equal(mss_listen_input(&l, protos, NPROTOS, hdr, HDR_LEN, &used, &w, &chosen),
	                 -ENOBUFS);
	assert_int_equal(used, 0);
	wbuf_init(&w, out, sizeof(out));
	assert_int_equal(mss_listen_input(&l, protos, NPROTOS, hdr, HDR_LEN, &used, &w, &chosen),
	                 0);
	assert_int_equal(w.pos, HDR_LEN);
}

static void test_dial_errors(void **state)
{
	uint8_t out[128];
	struct wbuf w;
	struct mss d;
	size_t used;

	(void)state;
	wbuf_init(&w, out, sizeof(out));
	assert_int_equal(mss_dial_start(&d, "", &w), -EINVAL);
	assert_int_equal(mss_dial_start(&d, "/a\n", &w), -EINVAL);
	assert_int_equal(
	    mss_dial_start(&d, "/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
	                   &w),
	    -EINVAL);
	assert_int_equal(w.pos, 0);
	/* One byte short of header plus proposal: nothing written. */
	wbuf_init(&w, out, HDR_LEN + 1 + 6);
	assert_int_equal(mss_dial_start(&d, "/noise", &w), -ENOBUFS);
	assert_int_equal(w.pos, 0);
	wbuf_init(&w, out, HDR_LEN + 1 + 7);
	assert_int_equal(mss_dial_start(&d, "/noise", &w), 0);
	assert_int_equal(w.pos, HDR_LEN + 8);
	/* The listener's header wrong: -EPROTO at its length byte. */
	assert_int_equal(mss_dial_input(&d, (const uint8_t *)"\x03na\n", 4, &used), -EPROTO);
	/* A listener function on a dialer is refused. */
	wbuf_init(&w, out, sizeof(out));
	assert_int_equal(mss_dial_start(&d, "/noise", &w), 0);
	{
		int chosen;
		uint8_t o2[MSS_OUT_MAX];
		struct wbuf w2;

		wbuf_init(&w2, o2, sizeof(o2));
		assert_int_equal(
		    mss_listen_input(&d, protos, NPROTOS, hdr, HDR_LEN, &used, &w2, &chosen),
		    -EINVAL);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_byte_by_byte),   cmocka_unit_test(test_pipelined_data),
	    cmocka_unit_test(test_na_then_accept), cmocka_unit_test(test_tries),
	    cmocka_unit_test(test_line_limits),    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_dial_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
