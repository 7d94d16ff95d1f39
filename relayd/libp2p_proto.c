/*
 * libp2p_proto.c: what runs on a libp2p connection's yamux streams. A peer's stream first
 * agrees on a protocol (multistream-select): identify (/ipfs/id/1.0.0: one message about
 * the relay, then FIN), ping (/ipfs/ping/1.0.0: 32-byte payloads echoed) or hop
 * (/libp2p/circuit/relay/0.2.0/hop: one RESERVE or CONNECT, relay/circuit-v2.md). A CONNECT
 * becomes a circuit (libp2p_circuit.c), which also owns the streams taking part in one.
 *
 * Lifetimes: a stream's state (struct pstream) goes with yamux's on_close, unless a circuit
 * still holds it (data to pass on after the peer closed).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "libp2p_int.h"
#include "multiaddr.h"
#include "pb.h"
#include "version.h"

#define PS_PING_LEN 32
#define PS_PING_BUF 4096 /* echo not read by the pinger: more than this resets the stream */

static const char *const proto_protos[] = {P2P_PROTO_IDENTIFY, P2P_PROTO_PING, P2P_PROTO_HOP};

static void ps_input(struct pstream *ps, const uint8_t *p, size_t n);

struct pstream *proto_new(struct pconn *c, struct yamux_stream *st, uint8_t state)
{
	struct pstream *ps = calloc(1, sizeof(*ps));

	if (!ps)
		return NULL;
	ps->c = c;
	ps->st = st;
	ps->state = state;
	ps->next = c->streams;
	if (c->streams)
		c->streams->prev = ps;
	c->streams = ps;
	st->user = ps;
	return ps;
}

void proto_free(struct pstream *ps)
{
	struct pconn *c = ps->c;

	if (ps->prev)
		ps->prev->next = ps->next;
	else
		c->streams = ps->next;
	if (ps->next)
		ps->next->prev = ps->prev;
	pbuf_free(&ps->buf);
	free(ps);
}

/* Reset ps's stream. Outside a callback on_close runs at once and ps may be gone after. */
void proto_reset(struct pstream *ps)
{
	if (ps->st)
		yamux_reset(ps->c->y, ps->st);
}

/* Send all n bytes on ps (small messages: our window from the peer covers them). */
bool proto_send(struct pstream *ps, const uint8_t *p, size_t n)
{
	return ps->st && yamux_send(ps->c->y, ps->st, p, n) == (ssize_t)n;
}

bool proto_send_msg(struct pstream *ps, const uint8_t *msg, size_t n)
{
	uint8_t b[PS_MSG_MAX];
	struct wbuf w;

	wbuf_init(&w, b, sizeof(b));
	return pb_put_varint(&w, n) == 0 && buf_put_bytes(&w, msg, n) == 0 &&
	       proto_send(ps, b, w.pos);
}

/* Answered: FIN, and whatever else the peer sends is not wanted. */
void proto_done(struct pstream *ps)
{
	ps->state = PS_DONE;
	pbuf_free(&ps->buf);
	if (ps->st)
		yamux_fin(ps->c->y, ps->st);
}

void proto_limit(const struct p2p *p, struct p2p_limit *l)
{
	const struct libp2p_config *cfg = &p->r->cfg.libp2p;

	l->duration_s =
	    cfg->circuit_duration_s > UINT32_MAX ? UINT32_MAX : (uint32_t)cfg->circuit_duration_s;
	l->data = cfg->circuit_bytes;
	l->has = l->duration_s || l->data;
}

const char *proto_peer_str(const struct peerid *id, char *out, size_t cap)
{
	if (peerid_format(id, out, cap) < 0)
		snprintf(out, cap, "?");
	return out;
}

/* --- identify, ping --- */

static void ps_identify(struct pstream *ps)
{
	struct pconn *c = ps->c;
	struct p2p *p = c->p;
	uint8_t listen[MULTIADDR_MAX], observed[MULTIADDR_MAX], msg[P2PMSG_MAX];
	int nl = multiaddr_from_addr(&c->local, NULL, listen, sizeof(listen));
	int no = multiaddr_from_addr(&c->peer, NULL, observed, sizeof(observed));
	struct identify_info info = {
	    .pubkey = p->pubkey_pb,
	    .pubkey_len = sizeof(p->pubkey_pb),
	    .observed = no > 0 ? observed : NULL,
	    .observed_len = no > 0 ? (size_t)no : 0,
	    .protocols = proto_protos,
	    .n_protocols = (int)(sizeof(proto_protos) / sizeof(proto_protos[0])),
	    .protocol_version = "ipfs/0.1.0",
	    .agent_version = "wgrelayd/" WGR_VERSION,
	};
	int n;

	if (nl > 0) {
		info.listen[0] = listen;
		info.listen_len[0] = (size_t)nl;
		info.n_listen = 1;
	}
	if ((n = identify_encode(&info, msg, sizeof(msg))) < 0 ||
	    !proto_send_msg(ps, msg, (size_t)n)) {
		proto_reset(ps);
		return;
	}
	proto_done(ps);
}

/* Echo whole payloads as far as the window and the queue allow. */
static void ping_echo(struct pstream *ps)
{
	struct pconn *c = ps->c;

	while (ps->st && ps->buf.len >= PS_PING_LEN) {
		size_t n = ps->buf.len, room = pconn_room(c);
		ssize_t k;

		if (room < PS_PING_LEN) {
			c->want_room = true;
			return;
		}
		if (n > room)
			n = room;
		if (n > ps->st->send_window)
			n = ps->st->send_window;
		n -= n % PS_PING_LEN;
		if (n == 0)
			return;
		k = yamux_send(c->y, ps->st, ps->buf.p + ps->buf.off, n);
		if (k != (ssize_t)n) {
			proto_reset(ps);
			return;
		}
		pbuf_take(&ps->buf, n);
		yamux_consume(c->y, ps->st, n);
		c->p->pings += n / PS_PING_LEN;
	}
	if (ps->fin_in && ps->buf.len < PS_PING_LEN && ps->st && !ps->st->local_fin)
		proto_done(ps);
}

/* --- hop --- */

/* Refuse a hop request with status: reply, half-close, count, log. */
void proto_refuse(struct pstream *ps, enum p2p_req req, int status, const char *target)
{
	struct pconn *c = ps->c;
	struct p2p *p = c->p;
	struct hop_msg m = {.type = HOP_STATUS, .status = status};
	uint8_t b[64];
	int n;

	p->denied[req][p2p_status_idx(status)]++;
	p2p_event(p, c, "libp2p request denied", "%s peer=%s%s%s status=%s",
	          req == P2P_REQ_RESERVE   ? "RESERVE"
	          : req == P2P_REQ_CONNECT ? "CONNECT"
	                                   : "request",
	          c->remote_str, target ? " target=" : "", target ? target : "",
	          relay_status_name(status));
	if ((n = hop_msg_encode(&m, b, sizeof(b))) < 0 || !proto_send_msg(ps, b, (size_t)n)) {
		proto_reset(ps);
		return;
	}
	proto_done(ps);
}

static void hop_reserve(struct pstream *ps)
{
	struct pconn *c = ps->c;
	struct p2p *p = c->p;
	struct hop_msg m = {.type = HOP_STATUS, .status = RS_OK};
	uint8_t ma[MULTIADDR_MAX], v[ENVELOPE_MAX], msg[P2PMSG_MAX];
	uint64_t now = p2p_unix_now(), expire = 0;
	bool renewed = false;
	char a[ADDR_STRLEN];
	int st, n, vn;

	st = resv_reserve(p->resv, &c->remote, c->id, &c->peer, now, &expire, &renewed);
	if (st != RS_OK) {
		proto_refuse(ps, P2P_REQ_RESERVE, st, NULL);
		return;
	}
	c->resv_until_s = expire;
	m.resv.has = true;
	m.resv.expire = expire;
	if ((n = multiaddr_from_addr(&c->local, &p->pid, ma, sizeof(ma))) > 0) {
		m.resv.addrs[0] = ma;
		m.resv.addr_len[0] = (size_t)n;
		m.resv.n_addrs = 1;
	}
	/* Correct or absent: a voucher that fails to verify makes go-libp2p drop the relay. */
	if ((vn = envelope_voucher(&p->id, &c->remote, expire, v, sizeof(v))) > 0) {
		m.resv.voucher = v;
		m.resv.voucher_len = (size_t)vn;
	}
	proto_limit(p, &m.limit);
	if ((n = hop_msg_encode(&m, msg, sizeof(msg))) < 0 || !proto_send_msg(ps, msg, (size_t)n)) {
		proto_reset(ps);
		return;
	}
	proto_done(ps);
	if (renewed) {
		p->resv_renewed++;
		p2p_event(p, c, "libp2p reservation renewed", "peer=%s expire=%llu", c->remote_str,
		          (unsigned long long)expire);
	} else {
		p->resv_accepted++;
		p2p_event(p, c, "libp2p reservation accepted", "peer=%s from=%s expire=%llu",
		          c->remote_str, addr_format(&c->peer, a, sizeof(a)),
		          (unsigned long long)expire);
	}
}

/* Bytes on a hop stream before its request is whole (and after it, for a CONNECT). */
static void hop_input(struct pstream *ps, const uint8_t *data, size_t len)
{
	struct pconn *c = ps->c;
	const uint8_t *msg;
	size_t mlen, used;
	struct hop_msg m;
	int e;

	if (pbuf_add(&ps->buf, data, len, YAMUX_WINDOW) < 0) {
		proto_reset(ps);
		return;
	}
	e = pb_delimited(ps->buf.p + ps->buf.off, ps->buf.len, P2PMSG_MAX, &msg, &mlen, &used);
	if (e == 0)
		return;
	if (e < 0 || hop_msg_decode(msg, mlen, &m) < 0) {
		c->p->streams_refused[P2P_SREF_MESSAGE]++;
		proto_refuse(ps, P2P_REQ_OTHER, RS_MALFORMED_MESSAGE, NULL);
		return;
	}
	/* m points into the buffer: it is taken only after the request is handled. */
	if (m.type == HOP_RESERVE) {
		hop_reserve(ps);
	} else if (m.type == HOP_CONNECT) {
		circuit_connect(ps, &m);
		if (ps->state == PS_HOP_WAIT) {
			yamux_consume(c->y, ps->st, used);
			pbuf_take(&ps->buf, used); /* the rest is the source's early data */
		}
	} else {
		proto_refuse(ps, P2P_REQ_OTHER, RS_UNEXPECTED_MESSAGE, NULL);
	}
}

/* --- dispatch --- */

static void ps_chosen(struct pstream *ps, int chosen)
{
	struct p2p *p = ps->c->p;

	switch (chosen) {
	case 0:
		p->streams[P2P_S_IDENTIFY]++;
		ps_identify(ps);
		break;
	case 1:
		p->streams[P2P_S_PING]++;
		ps->state = PS_PING;
		break;
	default:
		p->streams[P2P_S_HOP]++;
		ps->state = PS_HOP;
		break;
	}
}

static void ps_input(struct pstream *ps, const uint8_t *data, size_t len)
{
	struct pconn *c = ps->c;

	switch (ps->state) {
	case PS_MSS: {
		uint8_t lines[MSS_OUT_MAX];
		struct wbuf w;
		size_t used = 0;
		int chosen = -1, e;

		wbuf_init(&w, lines, sizeof(lines));
		e = mss_listen_input(&ps->mss, proto_protos, 3, data, len, &used, &w, &chosen);
		if (w.pos && !proto_send(ps, lines, w.pos))
			e = -ENOBUFS;
		if (e < 0) {
			c->p->streams_refused[P2P_SREF_PROTOCOL]++;
			proto_reset(ps);
			return;
		}
		yamux_consume(c->y, ps->st, used);
		if (e == 0)
			return;
		ps_chosen(ps, chosen);
		if (used < len && ps->state != PS_DONE)
			ps_input(ps, data + used, len - used);
		else if (used < len)
			proto_reset(ps);
		return;
	}
	case PS_PING:
		if (pbuf_add(&ps->buf, data, len, PS_PING_BUF) < 0) {
			c->p->streams_refused[P2P_SREF_MESSAGE]++;
			proto_reset(ps);
			return;
		}
		ping_echo(ps);
		return;
	case PS_HOP:
		hop_input(ps, data, len);
		return;
	case PS_HOP_WAIT:
	case PS_STOP_MSS:
	case PS_STOP_WAIT:
	case PS_SPLICE:
		circuit_input(ps, data, len);
		return;
	default:
		/* Nothing more was expected. */
		proto_reset(ps);
		return;
	}
}

/* --- yamux callbacks --- */

int proto_on_open(void *ctx, struct yamux_stream *st)
{
	struct pconn *c = ctx;
	struct pstream *ps;

	if (yamux_nstreams(c->y) > c->p->r->cfg.libp2p.max_streams ||
	    !(ps = proto_new(c, st, PS_MSS))) {
		c->p->streams_refused[P2P_SREF_MAX_STREAMS]++;
		return -1;
	}
	mss_listen_init(&ps->mss);
	return 0;
}

void proto_on_data(void *ctx, struct yamux_stream *st, const uint8_t *p, size_t len)
{
	struct pstream *ps = st->user;

	(void)ctx;
	if (ps)
		ps_input(ps, p, len);
}

void proto_on_fin(void *ctx, struct yamux_stream *st)
{
	struct pstream *ps = st->user;

	(void)ctx;
	if (!ps)
		return;
	ps->fin_in = true;
	switch (ps->state) {
	case PS_MSS:
	case PS_HOP:
		proto_done(ps); /* gave up before a request */
		break;
	case PS_PING:
		ping_echo(ps);
		break;
	case PS_DONE:
		break; /* yamux closes it */
	default:
		circuit_on_fin(ps);
		break;
	}
}

void proto_on_close(void *ctx, struct yamux_stream *st)
{
	struct pstream *ps = st->user;
	struct pcirc *circ;

	(void)ctx;
	if (!ps)
		return;
	st->user = NULL;
	ps->st = NULL;
	circ = ps->circ;
	if (!circ) {
		if (!ps->c->gone)
			proto_free(ps);
		return;
	}
	circuit_stream_closed(ps, st->reset);
}

void proto_on_window(void *ctx, struct yamux_stream *st)
{
	struct pstream *ps = st->user;

	(void)ctx;
	if (!ps)
		return;
	if (ps->state == PS_SPLICE && ps->circ)
		circuit_room(ps);
	else if (ps->state == PS_PING)
		ping_echo(ps);
}

/* --- the connection's and the loop's side --- */

void proto_room(struct pconn *c)
{
	struct pstream *ps, *next;

	for (ps = c->streams; ps; ps = next) {
		next = ps->next;
		if (ps->state == PS_SPLICE && ps->circ) {
			circuit_room(ps); /* what waits to come to ps */
		} else if (ps->state == PS_PING) {
			ping_echo(ps); /* may reset ps: next was taken before */
		}
	}
}

void proto_conn_gone(struct pconn *c, enum p2p_cend why)
{
	struct pstream *ps, *next;

	c->gone = true;
	for (ps = c->streams; ps; ps = ps->next)
		if (ps->circ)
			circuit_conn_gone(ps, why);
	for (ps = c->streams; ps; ps = next) {
		next = ps->next;
		if (ps->st)
			ps->st->user = NULL;
		pbuf_free(&ps->buf);
		free(ps);
	}
	c->streams = NULL;
}
