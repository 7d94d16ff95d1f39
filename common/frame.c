/* frame.c: v1 frame and control-message codec (see frame.h, PROTOCOL.md). */
#include <errno.h>
#include <string.h>

#include "buf.h"
#include "cell.h"
#include "descriptor.h"
#include "frame.h"
#include "noise.h"

const char *frame_strerror(int err)
{
	switch (err) {
	case FRAME_ESHORT:
		return "frame too short";
	case FRAME_ELONG:
		return "frame too long";
	case FRAME_EMAGIC:
		return "not a wgrelay v1 frame";
	case FRAME_ETYPE:
		return "unknown type";
	case FRAME_ERESERVED:
		return "reserved bytes not zero";
	case FRAME_EFIELD:
		return "invalid field";
	case FRAME_EAUTH:
		return "authentication failed";
	case FRAME_EREPLAY:
		return "replayed or too old";
	case FRAME_EMAC:
		return "bad mac1";
	default:
		return err < 0 ? "error" : "ok";
	}
}

void frame_put_header(uint8_t *p, uint8_t type)
{
	p[0] = PROTO_MAGIC;
	p[1] = type;
	p[2] = p[3] = 0;
}

int frame_check(const uint8_t *p, size_t len)
{
	size_t min, max;

	if (len < PROTO_HDR_LEN)
		return FRAME_ESHORT;
	if (p[0] != PROTO_MAGIC)
		return FRAME_EMAGIC;
	switch (p[1]) {
	case PROTO_PING:
		min = max = PROTO_PING_LEN;
		break;
	case PROTO_PONG:
		min = max = PROTO_PONG_LEN;
		break;
	case PROTO_HS_INIT:
		min = max = PROTO_HS_INIT_LEN;
		break;
	case PROTO_HS_RESP:
		min = max = PROTO_HS_RESP_LEN;
		break;
	case PROTO_COOKIE:
		min = max = PROTO_COOKIE_LEN;
		break;
	case PROTO_CTRL:
		min = PROTO_SEALED_OVERHEAD + 1;
		max = PROTO_SEALED_OVERHEAD + PROTO_MAX_CTRL_PLAIN;
		break;
	case PROTO_DATA:
		min = PROTO_SEALED_OVERHEAD + 1;
		max = PROTO_MAX_FRAME;
		break;
	case PROTO_DESC_REQ:
		min = max = PROTO_DESC_REQ_LEN;
		break;
	case PROTO_DESC_RESP:
		min = PROTO_HDR_LEN + 1;
		max = PROTO_HDR_LEN + DESC_MAX_LEN;
		break;
	case PROTO_CELL: /* one of the class sizes exactly: cell_open checks which */
		min = CELL_FRAME_LEN(CELL_BODY_1280);
		max = CELL_FRAME_LEN(CELL_BODY_1500);
		break;
	default:
		return FRAME_ETYPE;
	}
	if (p[2] || p[3])
		return FRAME_ERESERVED;
	if (len < min)
		return FRAME_ESHORT;
	if (len > max)
		return FRAME_ELONG;
	return p[1];
}

void frame_put_addr(uint8_t out[PROTO_ADDR_LEN], const struct addr *a)
{
	memset(out, 0, PROTO_ADDR_LEN);
	buf_store_be16(out + 2, addr_port(a));
	if (addr_family(a) == AF_INET) {
		out[0] = 4;
		memcpy(out + 4, &a->in.sin_addr, 4);
	} else if (addr_family(a) == AF_INET6) {
		out[0] = 6;
		memcpy(out + 4, &a->in6.sin6_addr, 16);
	}
}

int frame_get_addr(const uint8_t in[PROTO_ADDR_LEN], struct addr *a)
{
	static const uint8_t zero[12];

	memset(a, 0, sizeof(*a));
	if (in[1])
		return FRAME_ERESERVED;
	if (in[0] == 4) {
		if (memcmp(in + 8, zero, 12))
			return FRAME_ERESERVED;
		a->in.sin_family = AF_INET;
		memcpy(&a->in.sin_addr, in + 4, 4);
		a->len = sizeof(a->in);
	} else if (in[0] == 6) {
		a->in6.sin6_family = AF_INET6;
		memcpy(&a->in6.sin6_addr, in + 4, 16);
		a->len = sizeof(a->in6);
	} else {
		return FRAME_EFIELD;
	}
	addr_set_port(a, buf_load_be16(in + 2));
	return 0;
}

void frame_encode_ping(uint8_t out[PROTO_PING_LEN], uint64_t nonce)
{
	memset(out, 0, PROTO_PING_LEN);
	frame_put_header(out, PROTO_PING);
	buf_store_be64(out + 4, nonce);
}

static int frame_expect(const uint8_t *p, size_t len, int type)
{
	int t = frame_check(p, len);

	if (t < 0)
		return t;
	return t == type ? 0 : FRAME_ETYPE;
}

int frame_decode_ping(const uint8_t *p, size_t len, uint64_t *nonce)
{
	int r = frame_expect(p, len, PROTO_PING);

	if (r < 0)
		return r;
	for (size_t i = 12; i < PROTO_PING_LEN; i++)
		if (p[i])
			return FRAME_ERESERVED;
	*nonce = buf_load_be64(p + 4);
	return 0;
}

void frame_encode_pong(uint8_t out[PROTO_PONG_LEN], const struct frame_pong *pong)
{
	memset(out, 0, PROTO_PONG_LEN);
	frame_put_header(out, PROTO_PONG);
	buf_store_be64(out + 4, pong->nonce);
	frame_put_addr(out + 12, &pong->observed);
	buf_store_be16(out + 32, pong->load_permille);
	buf_store_be16(out + 34, pong->flags);
}

int frame_decode_pong(const uint8_t *p, size_t len, struct frame_pong *pong)
{
	int r = frame_expect(p, len, PROTO_PONG);

	if (r < 0)
		return r;
	for (size_t i = 36; i < PROTO_PONG_LEN; i++)
		if (p[i])
			return FRAME_ERESERVED;
	r = frame_get_addr(p + 12, &pong->observed);
	if (r < 0)
		return r;
	pong->nonce = buf_load_be64(p + 4);
	pong->load_permille = buf_load_be16(p + 32);
	pong->flags = buf_load_be16(p + 34);
	return pong->load_permille > 1000 ? FRAME_EFIELD : 0;
}

void frame_encode_desc_req(uint8_t out[PROTO_DESC_REQ_LEN])
{
	memset(out, 0, PROTO_DESC_REQ_LEN);
	frame_put_header(out, PROTO_DESC_REQ);
}

int frame_decode_desc_req(const uint8_t *p, size_t len)
{
	int r = frame_expect(p, len, PROTO_DESC_REQ);

	if (r < 0)
		return r;
	for (size_t i = PROTO_HDR_LEN; i < PROTO_DESC_REQ_LEN; i++)
		if (p[i])
			return FRAME_ERESERVED;
	return 0;
}

int frame_encode_desc_resp(uint8_t *out, size_t cap, const uint8_t *desc, size_t len)
{
	if (len == 0 || len > DESC_MAX_LEN)
		return -EINVAL;
	if (cap < PROTO_HDR_LEN + len)
		return -ENOBUFS;
	frame_put_header(out, PROTO_DESC_RESP);
	memcpy(out + PROTO_HDR_LEN, desc, len);
	return (int)(PROTO_HDR_LEN + len);
}

int frame_decode_desc_resp(const uint8_t *p, size_t len, const uint8_t **desc, size_t *dlen)
{
	int r = frame_expect(p, len, PROTO_DESC_RESP);

	if (r < 0)
		return r;
	*desc = p + PROTO_HDR_LEN;
	*dlen = len - PROTO_HDR_LEN;
	return 0;
}

/* Zero padding may follow the last field (§5.2); anything else is junk. */
static int ctrl_check_tail(const uint8_t *p, size_t len, size_t pos)
{
	for (size_t i = pos; i < len; i++)
		if (p[i])
			return FRAME_ELONG;
	return 0;
}

int ctrl_encode_desc_msg(uint8_t type, const uint8_t *desc, size_t len, uint8_t *out, size_t cap)
{
	struct wbuf w;

	if ((type != CTRL_HELLO && type != CTRL_DESC) || len == 0 || len > DESC_MAX_LEN)
		return -EINVAL;
	wbuf_init(&w, out, cap);
	if (buf_put_u8(&w, type) < 0 || buf_put_u16(&w, (uint16_t)len) < 0 ||
	    buf_put_bytes(&w, desc, len) < 0)
		return -ENOBUFS;
	return (int)w.pos;
}

int ctrl_decode_desc_msg(uint8_t type, const uint8_t *p, size_t len, const uint8_t **desc,
                         size_t *dlen)
{
	struct rbuf b;
	uint16_t n;
	uint8_t t;

	rbuf_init(&b, p, len);
	if (buf_get_u8(&b, &t) < 0)
		return FRAME_ESHORT;
	if (t != type)
		return FRAME_ETYPE;
	if (buf_get_u16(&b, &n) < 0 || buf_get_ptr(&b, desc, n) < 0)
		return FRAME_ESHORT;
	if (n == 0 || n > DESC_MAX_LEN)
		return FRAME_EFIELD;
	*dlen = n;
	return ctrl_check_tail(p, len, b.pos);
}

int ctrl_encode_discover(const struct ctrl_discover *d, uint8_t *out, size_t cap)
{
	struct wbuf w;

	if ((d->flags & ~(PROTO_DISCOVER_NEAR | PROTO_DISCOVER_MODES | PROTO_DISCOVER_NOT_FULL)) ||
	    d->max == 0 || d->max > PROTO_DISCOVER_MAX)
		return -EINVAL;
	if (cap < PROTO_CTRL_REQ_MIN)
		return -ENOBUFS;
	wbuf_init(&w, out, cap);
	if (buf_put_u8(&w, CTRL_DISCOVER) < 0 || buf_put_u8(&w, d->flags) < 0 ||
	    buf_put_u32(&w, (uint32_t)d->lat_e6) < 0 || buf_put_u32(&w, (uint32_t)d->lon_e6) < 0 ||
	    buf_put_u8(&w, d->modes) < 0 || buf_put_bytes(&w, d->after, 32) < 0 ||
	    buf_put_u8(&w, d->max) < 0)
		return -ENOBUFS;
	/* §7: a request, padded so that nothing answered to its source is larger. */
	memset(out + w.pos, 0, PROTO_CTRL_REQ_MIN - w.pos);
	return PROTO_CTRL_REQ_MIN;
}

int ctrl_decode_discover(const uint8_t *p, size_t len, struct ctrl_discover *d)
{
	uint32_t lat, lon;
	struct rbuf b;
	uint8_t t;

	memset(d, 0, sizeof(*d));
	rbuf_init(&b, p, len);
	if (buf_get_u8(&b, &t) < 0)
		return FRAME_ESHORT;
	if (t != CTRL_DISCOVER)
		return FRAME_ETYPE;
	if (buf_get_u8(&b, &d->flags) < 0 || buf_get_u32(&b, &lat) < 0 ||
	    buf_get_u32(&b, &lon) < 0 || buf_get_u8(&b, &d->modes) < 0 ||
	    buf_get_bytes(&b, d->after, 32) < 0 || buf_get_u8(&b, &d->max) < 0)
		return FRAME_ESHORT;
	d->lat_e6 = (int32_t)lat;
	d->lon_e6 = (int32_t)lon;
	if ((d->flags & ~(PROTO_DISCOVER_NEAR | PROTO_DISCOVER_MODES | PROTO_DISCOVER_NOT_FULL)) ||
	    d->max == 0 || d->max > PROTO_DISCOVER_MAX)
		return FRAME_EFIELD;
	if ((d->flags & PROTO_DISCOVER_NEAR) && (d->lat_e6 < -90000000 || d->lat_e6 > 90000000 ||
	                                         d->lon_e6 < -180000000 || d->lon_e6 > 180000000))
		return FRAME_EFIELD;
	if ((d->flags & PROTO_DISCOVER_MODES) && (!d->modes || (d->modes & ~DESC_MODES_ALL)))
		return FRAME_EFIELD;
	return ctrl_check_tail(p, len, b.pos);
}

int ctrl_encode_discovered(const uint8_t next[32], uint8_t count, uint8_t *out, size_t cap)
{
	struct wbuf w;

	wbuf_init(&w, out, cap);
	if (buf_put_u8(&w, CTRL_DISCOVERED) < 0 || buf_put_bytes(&w, next, 32) < 0 ||
	    buf_put_u8(&w, count) < 0)
		return -ENOBUFS;
	return (int)w.pos;
}

int ctrl_decode_discovered(const uint8_t *p, size_t len, uint8_t next[32], uint8_t *count)
{
	struct rbuf b;
	uint8_t t;

	rbuf_init(&b, p, len);
	if (buf_get_u8(&b, &t) < 0)
		return FRAME_ESHORT;
	if (t != CTRL_DISCOVERED)
		return FRAME_ETYPE;
	if (buf_get_bytes(&b, next, 32) < 0 || buf_get_u8(&b, count) < 0)
		return FRAME_ESHORT;
	if (*count > PROTO_DISCOVER_MAX)
		return FRAME_EFIELD;
	return ctrl_check_tail(p, len, b.pos);
}

int ctrl_encode_heartbeat(uint8_t type, uint64_t nonce, uint8_t *out, size_t cap)
{
	struct wbuf w;

	if (type != CTRL_HEARTBEAT && type != CTRL_HEARTBEAT_ACK)
		return -EINVAL;
	wbuf_init(&w, out, cap);
	if (buf_put_u8(&w, type) < 0 || buf_put_u64(&w, nonce) < 0)
		return -ENOBUFS;
	return (int)w.pos;
}

int ctrl_decode_heartbeat(const uint8_t *p, size_t len, uint8_t *type, uint64_t *nonce)
{
	struct rbuf b;

	rbuf_init(&b, p, len);
	if (buf_get_u8(&b, type) < 0)
		return FRAME_ESHORT;
	if (*type != CTRL_HEARTBEAT && *type != CTRL_HEARTBEAT_ACK)
		return FRAME_ETYPE;
	if (buf_get_u64(&b, nonce) < 0)
		return FRAME_ESHORT;
	return ctrl_check_tail(p, len, b.pos);
}

static int ctrl_put_str(struct wbuf *w, const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return -EINVAL;
	if (buf_put_u8(w, (uint8_t)n) < 0 || buf_put_bytes(w, s, n) < 0)
		return -ENOBUFS;
	return 0;
}

int ctrl_encode(const struct ctrl_msg *m, uint8_t *out, size_t cap)
{
	struct wbuf w;
	int r = 0;

	wbuf_init(&w, out, cap);
	if (buf_put_u8(&w, m->type) < 0)
		return -ENOBUFS;
	switch (m->type) {
	case CTRL_BIND:
		if (m->mode != PROTO_MODE_DIRECT && m->mode != PROTO_MODE_SEALED)
			return -EINVAL;
		r |= buf_put_bytes(&w, m->sid, 16) | buf_put_u8(&w, m->mode);
		if (r)
			return -ENOBUFS;
		if ((r = ctrl_put_str(&w, m->user, CTRL_CRED_MAX)) < 0 ||
		    (r = ctrl_put_str(&w, m->password, CTRL_CRED_MAX)) < 0)
			return r;
		break;
	case CTRL_BOUND:
		r |= buf_put_bytes(&w, m->sid, 16) | buf_put_u32(&w, m->handle) |
		     buf_put_u8(&w, m->state) | buf_put_u8(&w, m->mode) | buf_put_u16(&w, m->port);
		break;
	case CTRL_UNBIND:
		r |= buf_put_u32(&w, m->handle);
		break;
	case CTRL_KEEPALIVE:
		break;
	case CTRL_ERROR:
		r |= buf_put_u16(&w, m->code) | buf_put_bytes(&w, m->sid, 16);
		if (r)
			return -ENOBUFS;
		return (r = ctrl_put_str(&w, m->text, CTRL_TEXT_MAX)) < 0 ? r : (int)w.pos;
	case CTRL_PEER_ACTIVE:
		r |= buf_put_bytes(&w, m->sid, 16) | buf_put_u32(&w, m->handle);
		break;
	case CTRL_CHALLENGE:
	case CTRL_RESPONSE:
		r |= buf_put_bytes(&w, m->token, PROTO_CHALLENGE_LEN);
		break;
	default:
		return -EINVAL;
	}
	if (r)
		return -ENOBUFS;
	/* §7: pad a request so that no reply is larger than it. */
	if (ctrl_is_request(m->type) && w.pos < PROTO_CTRL_REQ_MIN) {
		if (cap < PROTO_CTRL_REQ_MIN)
			return -ENOBUFS;
		memset(out + w.pos, 0, PROTO_CTRL_REQ_MIN - w.pos);
		return PROTO_CTRL_REQ_MIN;
	}
	return (int)w.pos;
}

bool ctrl_is_request(uint8_t type)
{
	return type == CTRL_BIND || type == CTRL_UNBIND || type == CTRL_KEEPALIVE ||
	       type == CTRL_RESPONSE;
}

/* A length-prefixed string: printable ASCII only, so logs and shells stay safe. */
static int ctrl_get_str(struct rbuf *b, char *out, size_t max)
{
	const uint8_t *p;
	uint8_t n;

	if (buf_get_u8(b, &n) < 0 || buf_get_ptr(b, &p, n) < 0)
		return FRAME_ESHORT;
	if (n > max)
		return FRAME_EFIELD;
	for (size_t i = 0; i < n; i++)
		if (p[i] < 0x20 || p[i] > 0x7e)
			return FRAME_EFIELD;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int ctrl_decode(const uint8_t *p, size_t len, struct ctrl_msg *m)
{
	struct rbuf b;
	int r = 0;

	memset(m, 0, sizeof(*m));
	rbuf_init(&b, p, len);
	if (buf_get_u8(&b, &m->type) < 0)
		return FRAME_ESHORT;
	switch (m->type) {
	case CTRL_BIND:
		if (buf_get_bytes(&b, m->sid, 16) < 0 || buf_get_u8(&b, &m->mode) < 0)
			return FRAME_ESHORT;
		if ((r = ctrl_get_str(&b, m->user, CTRL_CRED_MAX)) < 0 ||
		    (r = ctrl_get_str(&b, m->password, CTRL_CRED_MAX)) < 0)
			return r;
		if (m->mode != PROTO_MODE_DIRECT && m->mode != PROTO_MODE_SEALED)
			return FRAME_EFIELD;
		break;
	case CTRL_BOUND:
		if (buf_get_bytes(&b, m->sid, 16) < 0 || buf_get_u32(&b, &m->handle) < 0 ||
		    buf_get_u8(&b, &m->state) < 0 || buf_get_u8(&b, &m->mode) < 0 ||
		    buf_get_u16(&b, &m->port) < 0)
			return FRAME_ESHORT;
		if ((m->state != PROTO_WAITING && m->state != PROTO_PAIRED) ||
		    (m->mode != PROTO_MODE_DIRECT && m->mode != PROTO_MODE_SEALED) ||
		    (m->mode == PROTO_MODE_DIRECT && m->port == 0))
			return FRAME_EFIELD;
		break;
	case CTRL_UNBIND:
		if (buf_get_u32(&b, &m->handle) < 0)
			return FRAME_ESHORT;
		break;
	case CTRL_KEEPALIVE:
		break;
	case CTRL_ERROR:
		if (buf_get_u16(&b, &m->code) < 0 || buf_get_bytes(&b, m->sid, 16) < 0)
			return FRAME_ESHORT;
		if ((r = ctrl_get_str(&b, m->text, CTRL_TEXT_MAX)) < 0)
			return r;
		break;
	case CTRL_PEER_ACTIVE:
		if (buf_get_bytes(&b, m->sid, 16) < 0 || buf_get_u32(&b, &m->handle) < 0)
			return FRAME_ESHORT;
		break;
	case CTRL_CHALLENGE:
	case CTRL_RESPONSE:
		if (buf_get_bytes(&b, m->token, PROTO_CHALLENGE_LEN) < 0)
			return FRAME_ESHORT;
		break;
	default:
		return FRAME_ETYPE;
	}
	/* Zero padding may follow the last field (§5.2); anything else is junk. */
	for (size_t i = b.pos; i < len; i++)
		if (p[i])
			return FRAME_ELONG;
	return 0;
}

int frame_seal_ctrl(uint8_t *out, size_t cap, uint32_t receiver_index, uint64_t counter,
                    const uint8_t key[32], const uint8_t *pt, size_t len)
{
	if (len == 0 || len > PROTO_MAX_CTRL_PLAIN)
		return -EINVAL;
	if (cap < len + PROTO_SEALED_OVERHEAD)
		return -ENOBUFS;
	frame_put_header(out, PROTO_CTRL);
	buf_store_be32(out + 4, receiver_index);
	buf_store_be64(out + 8, counter);
	noise_encrypt(key, counter, out, PROTO_SEALED_HDR_LEN, pt, len, out + PROTO_SEALED_HDR_LEN);
	return (int)(len + PROTO_SEALED_OVERHEAD);
}

void frame_sealed_fields(const uint8_t *p, uint32_t *index, uint64_t *counter)
{
	*index = buf_load_be32(p + 4);
	*counter = buf_load_be64(p + 8);
}

int frame_open_ctrl(const uint8_t *frame, size_t len, const uint8_t key[32], struct replay *rp,
                    uint8_t *pt, size_t cap)
{
	size_t ptlen;
	uint32_t index;
	uint64_t counter;
	int r = frame_expect(frame, len, PROTO_CTRL);

	if (r < 0)
		return r;
	ptlen = len - PROTO_SEALED_OVERHEAD;
	if (ptlen > cap)
		return -ENOBUFS;
	frame_sealed_fields(frame, &index, &counter);
	if (!replay_check(rp, counter))
		return FRAME_EREPLAY;
	if (noise_decrypt(key, counter, frame, PROTO_SEALED_HDR_LEN, frame + PROTO_SEALED_HDR_LEN,
	                  len - PROTO_SEALED_HDR_LEN, pt) < 0)
		return FRAME_EAUTH;
	if (!replay_accept(rp, counter))
		return FRAME_EREPLAY;
	return (int)ptlen;
}

const char *proto_error_name(unsigned code)
{
	static const char *const names[] = {
	    [PROTO_ERR_BAD_REQUEST] = "bad-request",
	    [PROTO_ERR_AUTH_REQUIRED] = "auth-required",
	    [PROTO_ERR_AUTH_DENIED] = "auth-denied",
	    [PROTO_ERR_SESSION_FULL] = "session-full",
	    [PROTO_ERR_LIMIT_RESERVATIONS] = "limit-reservations",
	    [PROTO_ERR_LIMIT_CIRCUITS] = "limit-circuits",
	    [PROTO_ERR_RATE_LIMITED] = "rate-limited",
	    [PROTO_ERR_MODE_NOT_ALLOWED] = "mode-not-allowed",
	    [PROTO_ERR_UNKNOWN_HANDLE] = "unknown-handle",
	    [PROTO_ERR_NO_PORTS] = "no-ports",
	    [PROTO_ERR_CIRCUIT_LIMIT_REACHED] = "circuit-limit-reached",
	    [PROTO_ERR_SHUTDOWN] = "shutdown",
	    [PROTO_ERR_INTERNAL] = "internal",
	    [PROTO_ERR_MODE_MISMATCH] = "mode-mismatch",
	    [PROTO_ERR_BAD_HELLO] = "bad-hello",
	    [PROTO_ERR_LINK_CLOSED] = "link-closed",
	};

	if (code < sizeof(names) / sizeof(names[0]) && names[code])
		return names[code];
	return "unknown";
}
