/*
 * p2pmsg.c: Circuit Relay v2 and identify messages by hand (p2pmsg.h). One reader per
 * nesting level, as the .proto nests: message, then Peer / Reservation / Limit.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "p2pmsg.h"
#include "pb.h"

/* Field numbers (relay/circuit-v2.md, identify/README.md). */
enum {
	HOP_F_TYPE = 1,
	HOP_F_PEER = 2,
	HOP_F_RESV = 3,
	HOP_F_LIMIT = 4,
	HOP_F_STATUS = 5,
	STOP_F_TYPE = 1,
	STOP_F_PEER = 2,
	STOP_F_LIMIT = 3,
	STOP_F_STATUS = 4,
	PEER_F_ID = 1,
	PEER_F_ADDRS = 2,
	RESV_F_EXPIRE = 1,
	RESV_F_ADDRS = 2,
	RESV_F_VOUCHER = 3,
	LIMIT_F_DURATION = 1,
	LIMIT_F_DATA = 2,
	ID_F_PUBKEY = 1,
	ID_F_LISTEN = 2,
	ID_F_PROTOCOLS = 3,
	ID_F_OBSERVED = 4,
	ID_F_PROTOVER = 5,
	ID_F_AGENTVER = 6,
};

/* A known field must come with its declared wire type: anything else is not this message. */
static bool p2pmsg_wire_ok(const struct pb_field *f, enum pb_wire w)
{
	return f->wire == w;
}

/* An enum value (type, status): proto3 keeps unknown ones, but not past int. */
static int p2pmsg_enum(const struct pb_field *f, int *v)
{
	if (!p2pmsg_wire_ok(f, PB_VARINT) || f->v > INT_MAX)
		return -EBADMSG;
	*v = (int)f->v;
	return 0;
}

/* Peer {id=1, addrs=2}: a Peer without a valid peer id is malformed. */
static int p2pmsg_peer(const uint8_t *p, size_t n, struct p2p_peer *peer)
{
	struct rbuf r;
	struct pb_field f;
	bool has_id = false;
	int e;

	memset(peer, 0, sizeof(*peer));
	rbuf_init(&r, p, n);
	while ((e = pb_next(&r, &f)) == 1) {
		if (f.num == PEER_F_ID) {
			if (!p2pmsg_wire_ok(&f, PB_LEN) || peerid_from_bytes(&peer->id, f.p, f.len))
				return -EBADMSG;
			has_id = true;
		} else if (f.num == PEER_F_ADDRS) {
			if (!p2pmsg_wire_ok(&f, PB_LEN))
				return -EBADMSG;
			if (peer->n_addrs < P2PMSG_MAX_ADDRS) {
				peer->addrs[peer->n_addrs] = f.p;
				peer->addr_len[peer->n_addrs++] = f.len;
			}
		}
	}
	if (e < 0 || !has_id)
		return -EBADMSG;
	peer->has = true;
	return 0;
}

/* Reservation {expire=1, addrs=2, voucher=3}. */
static int p2pmsg_resv(const uint8_t *p, size_t n, struct p2p_resv *rv)
{
	struct rbuf r;
	struct pb_field f;
	int e;

	memset(rv, 0, sizeof(*rv));
	rbuf_init(&r, p, n);
	while ((e = pb_next(&r, &f)) == 1) {
		if (f.num == RESV_F_EXPIRE) {
			if (!p2pmsg_wire_ok(&f, PB_VARINT))
				return -EBADMSG;
			rv->expire = f.v;
		} else if (f.num == RESV_F_ADDRS) {
			if (!p2pmsg_wire_ok(&f, PB_LEN))
				return -EBADMSG;
			if (rv->n_addrs < P2PMSG_MAX_ADDRS) {
				rv->addrs[rv->n_addrs] = f.p;
				rv->addr_len[rv->n_addrs++] = f.len;
			}
		} else if (f.num == RESV_F_VOUCHER) {
			if (!p2pmsg_wire_ok(&f, PB_LEN))
				return -EBADMSG;
			rv->voucher = f.p;
			rv->voucher_len = f.len;
		}
	}
	if (e < 0)
		return -EBADMSG;
	rv->has = true;
	return 0;
}

/* Limit {duration=1 uint32, data=2 uint64}: a duration past 32 bits is malformed. */
static int p2pmsg_limit(const uint8_t *p, size_t n, struct p2p_limit *l)
{
	struct rbuf r;
	struct pb_field f;
	int e;

	memset(l, 0, sizeof(*l));
	rbuf_init(&r, p, n);
	while ((e = pb_next(&r, &f)) == 1) {
		if (f.num == LIMIT_F_DURATION) {
			if (!p2pmsg_wire_ok(&f, PB_VARINT) || f.v > UINT32_MAX)
				return -EBADMSG;
			l->duration_s = (uint32_t)f.v;
		} else if (f.num == LIMIT_F_DATA) {
			if (!p2pmsg_wire_ok(&f, PB_VARINT))
				return -EBADMSG;
			l->data = f.v;
		}
	}
	if (e < 0)
		return -EBADMSG;
	l->has = true;
	return 0;
}

/* An embedded message field: its wire type checked, then its own reader. */
#define P2PMSG_SUB(f, fn, dst) (p2pmsg_wire_ok(f, PB_LEN) ? fn((f)->p, (f)->len, dst) : -EBADMSG)

int hop_msg_decode(const uint8_t *p, size_t n, struct hop_msg *m)
{
	struct rbuf r;
	struct pb_field f;
	int e = 0;

	memset(m, 0, sizeof(*m));
	m->type = -1;
	rbuf_init(&r, p, n);
	while (e == 0 && (e = pb_next(&r, &f)) == 1) {
		switch (f.num) {
		case HOP_F_TYPE:
			e = p2pmsg_enum(&f, &m->type);
			break;
		case HOP_F_PEER:
			e = P2PMSG_SUB(&f, p2pmsg_peer, &m->peer);
			break;
		case HOP_F_RESV:
			e = P2PMSG_SUB(&f, p2pmsg_resv, &m->resv);
			break;
		case HOP_F_LIMIT:
			e = P2PMSG_SUB(&f, p2pmsg_limit, &m->limit);
			break;
		case HOP_F_STATUS:
			e = p2pmsg_enum(&f, &m->status);
			break;
		default: /* unknown: already skipped by pb_next */
			e = 0;
			break;
		}
	}
	/* The spec marks type optional only for proto2's sake: a message without one is bad. */
	if (e < 0 || m->type < 0)
		return -EBADMSG;
	return 0;
}

int stop_msg_decode(const uint8_t *p, size_t n, struct stop_msg *m)
{
	struct rbuf r;
	struct pb_field f;
	int e = 0;

	memset(m, 0, sizeof(*m));
	m->type = -1;
	rbuf_init(&r, p, n);
	while (e == 0 && (e = pb_next(&r, &f)) == 1) {
		switch (f.num) {
		case STOP_F_TYPE:
			e = p2pmsg_enum(&f, &m->type);
			break;
		case STOP_F_PEER:
			e = P2PMSG_SUB(&f, p2pmsg_peer, &m->peer);
			break;
		case STOP_F_LIMIT:
			e = P2PMSG_SUB(&f, p2pmsg_limit, &m->limit);
			break;
		case STOP_F_STATUS:
			e = p2pmsg_enum(&f, &m->status);
			break;
		default:
			e = 0;
			break;
		}
	}
	if (e < 0 || m->type < 0)
		return -EBADMSG;
	return 0;
}

/* Sizes of what pb_put_uint and pb_put_bytes write, so that an embedded message's length
   goes before it without a second buffer. */
static size_t p2pmsg_uint_size(uint32_t num, uint64_t v)
{
	return pb_varint_len((uint64_t)num << 3) + pb_varint_len(v);
}

static size_t p2pmsg_bytes_size(uint32_t num, size_t len)
{
	return pb_varint_len((uint64_t)num << 3) + pb_varint_len(len) + len;
}

static size_t p2pmsg_addrs_size(uint32_t num, const size_t *lens, int n)
{
	size_t s = 0;
	int i;

	for (i = 0; i < n && i < P2PMSG_MAX_ADDRS; i++)
		s += p2pmsg_bytes_size(num, lens[i]);
	return s;
}

static int p2pmsg_put_addrs(struct wbuf *w, uint32_t num, const uint8_t *const *addrs,
                            const size_t *lens, int n)
{
	int i, e;

	for (i = 0; i < n && i < P2PMSG_MAX_ADDRS; i++)
		if ((e = pb_put_bytes(w, num, addrs[i], lens[i])) < 0)
			return e;
	return 0;
}

static int p2pmsg_put_sub(struct wbuf *w, uint32_t num, size_t len)
{
	int e;

	if ((e = pb_put_tag(w, num, PB_LEN)) < 0)
		return e;
	return pb_put_varint(w, len);
}

static int p2pmsg_put_peer(struct wbuf *w, uint32_t num, const struct p2p_peer *peer)
{
	size_t len;
	int e;

	if (!peer->has)
		return 0;
	len = p2pmsg_bytes_size(PEER_F_ID, peer->id.len) +
	      p2pmsg_addrs_size(PEER_F_ADDRS, peer->addr_len, peer->n_addrs);
	if ((e = p2pmsg_put_sub(w, num, len)) < 0 ||
	    (e = pb_put_bytes(w, PEER_F_ID, peer->id.b, peer->id.len)) < 0)
		return e;
	return p2pmsg_put_addrs(w, PEER_F_ADDRS, peer->addrs, peer->addr_len, peer->n_addrs);
}

static int p2pmsg_put_resv(struct wbuf *w, uint32_t num, const struct p2p_resv *rv)
{
	size_t len;
	int e;

	if (!rv->has)
		return 0;
	len = p2pmsg_uint_size(RESV_F_EXPIRE, rv->expire) +
	      p2pmsg_addrs_size(RESV_F_ADDRS, rv->addr_len, rv->n_addrs) +
	      (rv->voucher ? p2pmsg_bytes_size(RESV_F_VOUCHER, rv->voucher_len) : 0);
	if ((e = p2pmsg_put_sub(w, num, len)) < 0 ||
	    (e = pb_put_uint(w, RESV_F_EXPIRE, rv->expire)) < 0 ||
	    (e = p2pmsg_put_addrs(w, RESV_F_ADDRS, rv->addrs, rv->addr_len, rv->n_addrs)) < 0)
		return e;
	if (rv->voucher)
		return pb_put_bytes(w, RESV_F_VOUCHER, rv->voucher, rv->voucher_len);
	return 0;
}

/* Zero means unset both ways, so zero fields are left out. */
static int p2pmsg_put_limit(struct wbuf *w, uint32_t num, const struct p2p_limit *l)
{
	size_t len;
	int e;

	if (!l->has)
		return 0;
	len = (l->duration_s ? p2pmsg_uint_size(LIMIT_F_DURATION, l->duration_s) : 0) +
	      (l->data ? p2pmsg_uint_size(LIMIT_F_DATA, l->data) : 0);
	if ((e = p2pmsg_put_sub(w, num, len)) < 0)
		return e;
	if (l->duration_s && (e = pb_put_uint(w, LIMIT_F_DURATION, l->duration_s)) < 0)
		return e;
	if (l->data && (e = pb_put_uint(w, LIMIT_F_DATA, l->data)) < 0)
		return e;
	return 0;
}

/* type always goes out, RESERVE = 0 included: readers need it present. */
static int p2pmsg_put_head(struct wbuf *w, int type)
{
	if (type < 0)
		return -EINVAL;
	return pb_put_uint(w, 1, (uint64_t)type);
}

static int p2pmsg_put_status(struct wbuf *w, uint32_t num, int status)
{
	return status > 0 ? pb_put_uint(w, num, (uint64_t)status) : 0;
}

int hop_msg_encode(const struct hop_msg *m, uint8_t *out, size_t cap)
{
	struct wbuf w;
	int e;

	wbuf_init(&w, out, cap);
	if ((e = p2pmsg_put_head(&w, m->type)) < 0 ||
	    (e = p2pmsg_put_peer(&w, HOP_F_PEER, &m->peer)) < 0 ||
	    (e = p2pmsg_put_resv(&w, HOP_F_RESV, &m->resv)) < 0 ||
	    (e = p2pmsg_put_limit(&w, HOP_F_LIMIT, &m->limit)) < 0 ||
	    (e = p2pmsg_put_status(&w, HOP_F_STATUS, m->status)) < 0)
		return e;
	return (int)w.pos;
}

int stop_msg_encode(const struct stop_msg *m, uint8_t *out, size_t cap)
{
	struct wbuf w;
	int e;

	wbuf_init(&w, out, cap);
	if ((e = p2pmsg_put_head(&w, m->type)) < 0 ||
	    (e = p2pmsg_put_peer(&w, STOP_F_PEER, &m->peer)) < 0 ||
	    (e = p2pmsg_put_limit(&w, STOP_F_LIMIT, &m->limit)) < 0 ||
	    (e = p2pmsg_put_status(&w, STOP_F_STATUS, m->status)) < 0)
		return e;
	return (int)w.pos;
}

const char *relay_status_name(int status)
{
	switch (status) {
	case 0:
		return "UNUSED";
	case RS_OK:
		return "OK";
	case RS_RESERVATION_REFUSED:
		return "RESERVATION_REFUSED";
	case RS_RESOURCE_LIMIT_EXCEEDED:
		return "RESOURCE_LIMIT_EXCEEDED";
	case RS_PERMISSION_DENIED:
		return "PERMISSION_DENIED";
	case RS_CONNECTION_FAILED:
		return "CONNECTION_FAILED";
	case RS_NO_RESERVATION:
		return "NO_RESERVATION";
	case RS_MALFORMED_MESSAGE:
		return "MALFORMED_MESSAGE";
	case RS_UNEXPECTED_MESSAGE:
		return "UNEXPECTED_MESSAGE";
	default:
		return "UNKNOWN";
	}
}

int identify_encode(const struct identify_info *in, uint8_t *out, size_t cap)
{
	struct wbuf w;
	int i, e;

	wbuf_init(&w, out, cap);
	if (in->pubkey && (e = pb_put_bytes(&w, ID_F_PUBKEY, in->pubkey, in->pubkey_len)) < 0)
		return e;
	if ((e = p2pmsg_put_addrs(&w, ID_F_LISTEN, in->listen, in->listen_len, in->n_listen)) < 0)
		return e;
	for (i = 0; i < in->n_protocols; i++)
		if ((e = pb_put_str(&w, ID_F_PROTOCOLS, in->protocols[i])) < 0)
			return e;
	if (in->observed &&
	    (e = pb_put_bytes(&w, ID_F_OBSERVED, in->observed, in->observed_len)) < 0)
		return e;
	if (in->protocol_version && (e = pb_put_str(&w, ID_F_PROTOVER, in->protocol_version)) < 0)
		return e;
	if (in->agent_version && (e = pb_put_str(&w, ID_F_AGENTVER, in->agent_version)) < 0)
		return e;
	return (int)w.pos;
}
