/* gossip_msg.c: encode and decode IHAVE, WANT, DESC, DIGEST and BUCKET (PROTOCOL.md §10.5). */
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "gossip_msg.h"

int gossip_msg_kind(uint8_t type)
{
	return type >= GOSSIP_T_IHAVE && type <= GOSSIP_T_BUCKET ? type - GOSSIP_T_IHAVE : -1;
}

const char *gossip_kind_name(int kind)
{
	static const char *const name[GOSSIP_K_MAX] = {"ihave", "want", "desc", "digest", "bucket"};

	return kind >= 0 && kind < GOSSIP_K_MAX ? name[kind] : "?";
}

static int gossip_msg_entries(struct rbuf *b, struct gossip_entry *e, uint8_t n)
{
	for (uint8_t i = 0; i < n; i++)
		if (buf_get_bytes(b, e[i].id, 32) < 0 || buf_get_u64(b, &e[i].seq) < 0)
			return -EBADMSG;
	return 0;
}

/* BUCKET: entries of the named bucket, strictly increasing, a page that fits total. */
static int gossip_msg_bucket_ok(const struct gossip_msg *m)
{
	const struct gossip_entry *e = m->u.bucket.e;
	uint8_t n = m->u.bucket.n;

	if (n > GOSSIP_MAX_ENTRIES || (uint32_t)m->u.bucket.first + n > m->u.bucket.total)
		return 0;
	if (n == 0 && m->u.bucket.total != 0)
		return 0;
	for (uint8_t i = 0; i < n; i++) {
		if (e[i].id[0] != m->u.bucket.bucket)
			return 0;
		if (i > 0 && memcmp(e[i - 1].id, e[i].id, 32) >= 0)
			return 0;
	}
	return 1;
}

static int gossip_msg_body(struct rbuf *b, struct gossip_msg *m)
{
	switch (m->type) {
	case GOSSIP_T_IHAVE:
		if (buf_get_u8(b, &m->u.ihave.n) < 0 || m->u.ihave.n == 0 ||
		    m->u.ihave.n > GOSSIP_MAX_ENTRIES)
			return -EBADMSG;
		return gossip_msg_entries(b, m->u.ihave.e, m->u.ihave.n);
	case GOSSIP_T_WANT:
		if (buf_get_u8(b, &m->u.want.n) < 0 || m->u.want.n == 0 ||
		    m->u.want.n > GOSSIP_MAX_ENTRIES)
			return -EBADMSG;
		for (uint8_t i = 0; i < m->u.want.n; i++)
			if (buf_get_bytes(b, m->u.want.id[i], 32) < 0)
				return -EBADMSG;
		return 0;
	case GOSSIP_T_DESC:
		if (buf_get_u16(b, &m->u.desc.len) < 0 || m->u.desc.len == 0 ||
		    m->u.desc.len > DESC_MAX_LEN)
			return -EBADMSG;
		return buf_get_ptr(b, &m->u.desc.p, m->u.desc.len);
	case GOSSIP_T_DIGEST:
		if (buf_get_u8(b, &m->u.digest.first) < 0 || buf_get_u8(b, &m->u.digest.n) < 0 ||
		    m->u.digest.n == 0 || m->u.digest.n > GOSSIP_DIGEST_MAX ||
		    m->u.digest.first + m->u.digest.n > DSTORE_BUCKETS)
			return -EBADMSG;
		for (uint8_t i = 0; i < m->u.digest.n; i++)
			if (buf_get_bytes(b, m->u.digest.hash[i], DSTORE_DIGEST_LEN) < 0)
				return -EBADMSG;
		return 0;
	case GOSSIP_T_BUCKET:
		if (buf_get_u8(b, &m->u.bucket.bucket) < 0 ||
		    buf_get_u16(b, &m->u.bucket.total) < 0 ||
		    buf_get_u16(b, &m->u.bucket.first) < 0 || buf_get_u8(b, &m->u.bucket.n) < 0 ||
		    m->u.bucket.n > GOSSIP_MAX_ENTRIES ||
		    gossip_msg_entries(b, m->u.bucket.e, m->u.bucket.n) < 0 ||
		    !gossip_msg_bucket_ok(m))
			return -EBADMSG;
		return 0;
	}
	return -EPROTO;
}

int gossip_msg_decode(const uint8_t *p, size_t len, struct gossip_msg *m)
{
	struct rbuf b;
	uint8_t z;
	int r;

	rbuf_init(&b, p, len);
	if (buf_get_u8(&b, &m->type) < 0)
		return -EBADMSG;
	r = gossip_msg_body(&b, m);
	if (r < 0)
		return r;
	/* §5.2: zero padding may follow; any other byte is malformed. */
	while (buf_get_u8(&b, &z) == 0)
		if (z != 0)
			return -EBADMSG;
	return 0;
}

static int gossip_msg_put_entries(struct wbuf *b, const struct gossip_entry *e, uint8_t n)
{
	for (uint8_t i = 0; i < n; i++)
		if (buf_put_bytes(b, e[i].id, 32) < 0 || buf_put_u64(b, e[i].seq) < 0)
			return -ENOBUFS;
	return 0;
}

static int gossip_msg_put_body(struct wbuf *b, const struct gossip_msg *m)
{
	switch (m->type) {
	case GOSSIP_T_IHAVE:
		if (m->u.ihave.n == 0 || m->u.ihave.n > GOSSIP_MAX_ENTRIES)
			return -EINVAL;
		if (buf_put_u8(b, m->u.ihave.n) < 0)
			return -ENOBUFS;
		return gossip_msg_put_entries(b, m->u.ihave.e, m->u.ihave.n);
	case GOSSIP_T_WANT:
		if (m->u.want.n == 0 || m->u.want.n > GOSSIP_MAX_ENTRIES)
			return -EINVAL;
		if (buf_put_u8(b, m->u.want.n) < 0)
			return -ENOBUFS;
		for (uint8_t i = 0; i < m->u.want.n; i++)
			if (buf_put_bytes(b, m->u.want.id[i], 32) < 0)
				return -ENOBUFS;
		return 0;
	case GOSSIP_T_DESC:
		if (m->u.desc.len == 0 || m->u.desc.len > DESC_MAX_LEN)
			return -EINVAL;
		if (buf_put_u16(b, m->u.desc.len) < 0 ||
		    buf_put_bytes(b, m->u.desc.p, m->u.desc.len) < 0)
			return -ENOBUFS;
		return 0;
	case GOSSIP_T_DIGEST:
		if (m->u.digest.n == 0 || m->u.digest.n > GOSSIP_DIGEST_MAX ||
		    m->u.digest.first + m->u.digest.n > DSTORE_BUCKETS)
			return -EINVAL;
		if (buf_put_u8(b, m->u.digest.first) < 0 || buf_put_u8(b, m->u.digest.n) < 0)
			return -ENOBUFS;
		for (uint8_t i = 0; i < m->u.digest.n; i++)
			if (buf_put_bytes(b, m->u.digest.hash[i], DSTORE_DIGEST_LEN) < 0)
				return -ENOBUFS;
		return 0;
	case GOSSIP_T_BUCKET:
		if (!gossip_msg_bucket_ok(m))
			return -EINVAL;
		if (buf_put_u8(b, m->u.bucket.bucket) < 0 ||
		    buf_put_u16(b, m->u.bucket.total) < 0 ||
		    buf_put_u16(b, m->u.bucket.first) < 0 || buf_put_u8(b, m->u.bucket.n) < 0)
			return -ENOBUFS;
		return gossip_msg_put_entries(b, m->u.bucket.e, m->u.bucket.n);
	}
	return -EINVAL;
}

int gossip_msg_encode(const struct gossip_msg *m, uint8_t *out, size_t cap)
{
	struct wbuf b;
	int r;

	wbuf_init(&b, out, cap);
	if (buf_put_u8(&b, m->type) < 0)
		return -ENOBUFS;
	r = gossip_msg_put_body(&b, m);
	return r < 0 ? r : (int)b.pos;
}

int gossip_msg_desc(uint8_t *out, size_t cap, const uint8_t *desc, size_t len)
{
	struct gossip_msg m;

	if (len == 0 || len > DESC_MAX_LEN)
		return -EINVAL;
	m.type = GOSSIP_T_DESC;
	m.u.desc.p = desc;
	m.u.desc.len = (uint16_t)len;
	return gossip_msg_encode(&m, out, cap);
}
