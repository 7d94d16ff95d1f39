/*
 * mss.c: multistream-select 1.0 (mss.h). One line reader, byte at a time over the chunk
 * given, so that the machine holds no more than a protocol id's worth of any line and the
 * owner never has to keep a partial message.
 */
#include <errno.h>
#include <string.h>

#include "mss.h"
#include "pb.h"

enum mss_state {
	MSS_L_HDR,  /* listener: reading the peer's header */
	MSS_L_PROP, /* listener: reading proposals */
	MSS_D_HDR,  /* dialer: reading the listener's header */
	MSS_D_ANS,  /* dialer: reading the answer to our proposal */
	MSS_DONE,
	MSS_FAIL,
};

#define MSS_NA "na"

/* Where the two bytes of a length varint stop: 2^14 is past MSS_MAX_LINE already. */
#define MSS_VARINT_MAX 2

static void mss_reset_line(struct mss *m)
{
	m->len = 0;
	m->got = 0;
	m->vlen = 0;
}

/*
 * Read one message from in[*pos ..]: 1 when it is complete (m->len, m->line hold it), 0 when
 * in ran out (*pos = n), or -errno. want_len, when not 0, is the only length acceptable for
 * this message: a header of another length fails at its first byte (-EPROTO).
 */
static int mss_line(struct mss *m, const uint8_t *in, size_t n, size_t *pos, size_t want_len)
{
	while (*pos < n) {
		uint8_t c = in[(*pos)++];

		/* The length varint first; bit 7 of vlen marks it read. */
		if (!(m->vlen & 0x80)) {
			if (m->vlen > 0 && c == 0)
				return -EBADMSG; /* not minimally encoded */
			m->len |= (uint16_t)((c & 0x7f) << (7 * m->vlen));
			m->vlen++;
			if (c & 0x80) {
				if (m->vlen >= MSS_VARINT_MAX)
					return -EMSGSIZE;
				continue;
			}
			m->vlen |= 0x80;
			if (m->len == 0)
				return -EBADMSG;
			if (m->len > MSS_MAX_LINE)
				return -EMSGSIZE;
			if (want_len && m->len != want_len)
				return -EPROTO;
			continue;
		}
		/* A body byte: the last must be the '\n' the length counted. */
		if (m->got < sizeof(m->line))
			m->line[m->got] = (char)c;
		m->got++;
		if (m->got == m->len)
			return c == '\n' ? 1 : -EBADMSG;
	}
	return 0;
}

/* The line just read is s (its length counts the '\n'). */
static bool mss_line_is(const struct mss *m, const char *s)
{
	size_t l = strlen(s);

	return (size_t)m->len == l + 1 && l <= MSS_NAME_MAX && memcmp(m->line, s, l) == 0;
}

/* Append one message; the callers checked the room (MSS_OUT_MAX, mss_dial_start's sum). */
static int mss_put(struct wbuf *out, const char *s)
{
	size_t l = strlen(s);
	int e;

	if ((e = pb_put_varint(out, l + 1)) < 0 || (e = buf_put_bytes(out, s, l)) < 0 ||
	    (e = buf_put_u8(out, '\n')) < 0)
		return e;
	return 0;
}

void mss_listen_init(struct mss *m)
{
	memset(m, 0, sizeof(*m));
	m->state = MSS_L_HDR;
}

int mss_listen_input(struct mss *m, const char *const *protos, size_t nprotos, const uint8_t *in,
                     size_t n, size_t *used, struct wbuf *out, int *chosen)
{
	size_t pos = 0, i;
	int r;

	*used = 0;
	if (m->dialer || (m->state != MSS_L_HDR && m->state != MSS_L_PROP))
		return -EINVAL;
	if (wbuf_left(out) < MSS_OUT_MAX)
		return -ENOBUFS;
	for (;;) {
		r = mss_line(m, in, n, &pos, m->state == MSS_L_HDR ? sizeof(MSS_PROTO) : 0);
		*used = pos;
		if (r == 0)
			return 0;
		if (r < 0)
			goto fail;
		if (m->state == MSS_L_HDR) {
			if (!mss_line_is(m, MSS_PROTO)) {
				r = -EPROTO;
				goto fail;
			}
			if ((r = mss_put(out, MSS_PROTO)) < 0)
				goto fail;
			m->state = MSS_L_PROP;
			mss_reset_line(m);
			continue;
		}
		if (m->tries >= MSS_MAX_TRIES) {
			r = -EPROTO;
			goto fail;
		}
		m->tries++;
		for (i = 0; i < nprotos; i++) {
			if (!mss_line_is(m, protos[i]))
				continue;
			if ((r = mss_put(out, protos[i])) < 0)
				goto fail;
			m->state = MSS_DONE;
			*chosen = (int)i;
			return 1;
		}
		/* Unsupported, "ls" included: listing is optional, and "na" ends it cleanly. */
		if ((r = mss_put(out, MSS_NA)) < 0)
			goto fail;
		mss_reset_line(m);
	}
fail:
	m->state = MSS_FAIL;
	return r;
}

int mss_dial_start(struct mss *m, const char *proto, struct wbuf *out)
{
	size_t l = strlen(proto);
	int e;

	if (l == 0 || l > MSS_NAME_MAX || memchr(proto, '\n', l))
		return -EINVAL;
	/* Both messages or nothing: the length bytes are one each below 128. */
	if (wbuf_left(out) < 1 + sizeof(MSS_PROTO) + pb_varint_len(l + 1) + l + 1)
		return -ENOBUFS;
	memset(m, 0, sizeof(*m));
	m->dialer = true;
	m->want = proto;
	m->state = MSS_D_HDR;
	if ((e = mss_put(out, MSS_PROTO)) < 0 || (e = mss_put(out, proto)) < 0) {
		m->state = MSS_FAIL;
		return e;
	}
	return 0;
}

int mss_dial_input(struct mss *m, const uint8_t *in, size_t n, size_t *used)
{
	size_t pos = 0;
	int r;

	*used = 0;
	if (!m->dialer || (m->state != MSS_D_HDR && m->state != MSS_D_ANS))
		return -EINVAL;
	for (;;) {
		r = mss_line(m, in, n, &pos, m->state == MSS_D_HDR ? sizeof(MSS_PROTO) : 0);
		*used = pos;
		if (r == 0)
			return 0;
		if (r < 0)
			goto fail;
		if (m->state == MSS_D_HDR) {
			if (!mss_line_is(m, MSS_PROTO)) {
				r = -EPROTO;
				goto fail;
			}
			m->state = MSS_D_ANS;
			mss_reset_line(m);
			continue;
		}
		if (mss_line_is(m, m->want)) {
			m->state = MSS_DONE;
			return 1;
		}
		r = mss_line_is(m, MSS_NA) ? -ENOPROTOOPT : -EPROTO;
		goto fail;
	}
fail:
	m->state = MSS_FAIL;
	return r;
}
