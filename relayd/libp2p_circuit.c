/*
 * libp2p_circuit.c: Circuit Relay v2 circuits (relay/circuit-v2.md): a CONNECT admitted on a
 * source's hop stream opens a stop stream on the connection of the target's reservation;
 * the target's OK splices the two streams, whose bytes, FINs and RSTs then pass between
 * them until either side ends, a connection goes, or the circuit's limits are reached.
 *
 * Backpressure: data that came in on a spliced stream X (connection A) is sent on its
 * partner Y (connection B) only as far as Y's yamux send window and B's output queue allow;
 * the rest waits in X's buffer, which the yamux receive window we granted (256 KiB) bounds,
 * and only what was sent is given back to A's sender (yamux_consume, so window updates
 * throttle it). Y's window growing (on_window) or B's queue draining (circuit_room) moves it
 * on. Reading A never stops for one stuck stream: A's other streams share the socket.
 *
 * Circuits end only at the top of the loop (circuit_kill marks, circuit_reap ends), never
 * inside a yamux callback, so no callback finds a stream or circuit freed under it.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libp2p_int.h"
#include "pb.h"

void circuit_kill(struct pcirc *circ, enum p2p_cend why)
{
	if (circ->dying >= 0)
		return;
	circ->dying = (int)why;
	circ->p->reap = true;
}

void circuit_fail(struct pcirc *circ, const char *why)
{
	if (circ->dying < 0)
		circ->fail = why;
	circuit_kill(circ, P2P_CEND_RESET);
}

static struct pstream *circ_partner(const struct pcirc *circ, const struct pstream *ps)
{
	return ps == circ->hop ? circ->stop : circ->hop;
}

/* A circuit's end leaves its circuit: reset while open (the other way may be mid-data),
   freed now when yamux is done with it, else at its on_close. */
static void ps_release(struct pstream *ps)
{
	if (!ps)
		return;
	ps->circ = NULL;
	ps->state = PS_DONE;
	pbuf_free(&ps->buf);
	if (ps->c->gone)
		return; /* proto_conn_gone frees it */
	if (ps->st)
		yamux_reset(ps->c->y, ps->st);
	else
		proto_free(ps);
}

/* End circ now (top of the loop only). */
static void circ_end(struct pcirc *circ)
{
	struct p2p *p = circ->p;
	struct pstream *hop = circ->hop, *stop = circ->stop;
	struct pconn *hc = hop ? hop->c : NULL;
	char s[PEERID_STR_MAX], d[PEERID_STR_MAX];
	int why = circ->dying < 0 ? P2P_CEND_RESET : circ->dying;

	if (circ->prev)
		circ->prev->next = circ->next;
	else
		p->circs = circ->next;
	if (circ->next)
		circ->next->prev = circ->prev;
	resv_circuit_end(p->resv, &circ->src, &circ->dst);
	proto_peer_str(&circ->src, s, sizeof(s));
	proto_peer_str(&circ->dst, d, sizeof(d));
	/* The streams stay attached until now: their grown windows go back to the budget. */
	if (hop) {
		p->window_extra -= hop->grown;
		hop->grown = 0;
		hop->circ = NULL;
	}
	if (stop) {
		p->window_extra -= stop->grown;
		stop->grown = 0;
		stop->circ = NULL;
	}
	if (circ->spliced) {
		p->n_circs--;
		p->circ_closed[why]++;
		p2p_event(p, hc && !hc->gone ? hc : NULL, "libp2p circuit closed",
		          "src=%s dst=%s bytes=%llu/%llu duration=%llus why=%s", s, d,
		          (unsigned long long)circ->bytes[0], (unsigned long long)circ->bytes[1],
		          (unsigned long long)((ev_now_ms(p->r->loop) - circ->started_ms) / 1000),
		          why == P2P_CEND_CLOSED       ? "closed"
		          : why == P2P_CEND_RESET      ? "reset"
		          : why == P2P_CEND_DURATION   ? "duration limit"
		          : why == P2P_CEND_DATA       ? "data limit"
		          : why == P2P_CEND_CONNECTION ? "connection closed"
		                                       : "relay stopping");
		/* Both ways closed: nothing to reset. */
		if (why == P2P_CEND_CLOSED) {
			if (hop && !hop->st && !hop->c->gone)
				proto_free(hop);
			else if (hop)
				hop->state = PS_DONE;
			if (stop && !stop->st && !stop->c->gone)
				proto_free(stop);
			else if (stop)
				stop->state = PS_DONE;
		} else {
			ps_release(hop);
			ps_release(stop);
		}
	} else {
		struct hop_msg m = {.type = HOP_STATUS, .status = RS_CONNECTION_FAILED};
		uint8_t b[64];
		int n;

		p->denied[P2P_REQ_CONNECT][p2p_status_idx(RS_CONNECTION_FAILED)]++;
		p2p_event(p, hc && !hc->gone ? hc : NULL, "libp2p request denied",
		          "CONNECT peer=%s target=%s status=%s (%s)", s, d,
		          relay_status_name(RS_CONNECTION_FAILED),
		          circ->fail ? circ->fail : "gone");
		if (hop && hop->st && !hop->c->gone && (n = hop_msg_encode(&m, b, sizeof(b))) > 0 &&
		    proto_send_msg(hop, b, (size_t)n))
			proto_done(hop);
		else
			ps_release(hop);
		ps_release(stop);
	}
	free(circ);
}

/* Both ways closed with everything passed on: the circuit ends as closed. */
static void circ_check(struct pcirc *circ)
{
	if (circ->spliced && circ->hop && circ->stop && circ->hop->fin_out && circ->stop->fin_out &&
	    !circ->hop->buf.len && !circ->stop->buf.len)
		circuit_kill(circ, P2P_CEND_CLOSED);
}

/*
 * Send up to n bytes that came in on x to its partner, as far as the partner's window, its
 * connection's queue and the circuit's byte limit allow; what was sent is given back to x's
 * sender (consumed). The bytes taken, or -1 when the circuit is to end.
 */
static ssize_t splice_send(struct pstream *x, const uint8_t *data, size_t n)
{
	struct pcirc *circ = x->circ;
	struct pstream *y = circ_partner(circ, x);
	int dir = x == circ->hop ? 0 : 1;
	size_t room;
	ssize_t k;

	if (!y || !y->st || y->st->local_fin || y->st->reset) {
		circuit_kill(circ, P2P_CEND_RESET);
		return -1;
	}
	/* More than the limit: the spec's answer is a reset of both ends. */
	if (circ->limit_bytes && circ->bytes[dir] >= circ->limit_bytes) {
		circuit_kill(circ, P2P_CEND_DATA);
		return -1;
	}
	room = pconn_room(y->c);
	if (room == 0) {
		y->c->want_room = true; /* proto_room brings us back */
		return 0;
	}
	if (n > room)
		n = room;
	if (n > y->st->send_window)
		n = y->st->send_window; /* the partner's on_window brings us back */
	if (circ->limit_bytes && n > circ->limit_bytes - circ->bytes[dir])
		n = (size_t)(circ->limit_bytes - circ->bytes[dir]);
	if (n == 0)
		return 0;
	k = yamux_send(y->c->y, y->st, data, n);
	if (k < 0) {
		circuit_kill(circ, P2P_CEND_RESET);
		return -1;
	}
	circ->bytes[dir] += (uint64_t)k;
	circ->p->relayed_bytes += (uint64_t)k;
	if (x->st)
		yamux_consume(x->c->y, x->st, (size_t)k);
	return k;
}

/* Move what x holds to its partner; once all went and x's peer closed, pass its FIN on. */
static void pump(struct pstream *x)
{
	struct pcirc *circ = x->circ;
	struct pstream *y;

	if (!circ || circ->dying >= 0 || !circ->spliced)
		return;
	while (x->buf.len > 0) {
		ssize_t k = splice_send(x, x->buf.p + x->buf.off, x->buf.len);

		if (k <= 0)
			return;
		pbuf_take(&x->buf, (size_t)k);
	}
	y = circ_partner(circ, x);
	if (x->fin_in && !x->fin_out && y && y->st) {
		x->fin_out = true;
		yamux_fin(y->c->y, y->st); /* may close y (on_close): y is not touched after */
	}
	circ_check(circ);
}

/* Data on a spliced stream: straight on when nothing waits before it, the rest held. */
static void splice_input(struct pstream *x, const uint8_t *data, size_t len)
{
	struct pcirc *circ = x->circ;

	if (!circ || circ->dying >= 0)
		return;
	if (x->buf.len == 0) {
		ssize_t k = splice_send(x, data, len);

		if (k < 0)
			return;
		data += k;
		len -= (size_t)k;
	}
	if (pbuf_add(&x->buf, data, len, YAMUX_WINDOW + x->grown) < 0) {
		circuit_kill(circ, P2P_CEND_RESET);
		return;
	}
	pump(x);
}

/* A wider receive window for a spliced stream while the relay-wide budget lasts. */
static void splice_grow(struct pstream *ps)
{
	struct p2p *p = ps->circ->p;

	if (!ps->st || p->window_extra + P2P_CIRCUIT_WINDOW > P2P_WINDOW_BUDGET)
		return;
	ps->grown = yamux_grow(ps->c->y, ps->st, P2P_CIRCUIT_WINDOW);
	p->window_extra += ps->grown;
}

/* The target answered OK: tell the source, splice the two streams. */
static void splice_start(struct pcirc *circ)
{
	struct p2p *p = circ->p;
	struct pstream *hop = circ->hop, *stop = circ->stop;
	struct hop_msg m = {.type = HOP_STATUS, .status = RS_OK};
	char s[PEERID_STR_MAX], d[PEERID_STR_MAX];
	uint8_t b[64];
	int n;

	if (!hop || !hop->st) {
		circuit_fail(circ, "source gone");
		return;
	}
	if (circ->limit_ms || circ->limit_bytes) {
		m.limit.has = true;
		m.limit.duration_s = (uint32_t)(circ->limit_ms / 1000);
		m.limit.data = circ->limit_bytes;
	}
	if ((n = hop_msg_encode(&m, b, sizeof(b))) < 0 || !proto_send_msg(hop, b, (size_t)n)) {
		circuit_fail(circ, "source window shut");
		return;
	}
	hop->state = stop->state = PS_SPLICE;
	circ->spliced = true;
	circ->started_ms = ev_now_ms(p->r->loop);
	p->n_circs++;
	p->circ_accepted++;
	p2p_event(p, hop->c, "libp2p circuit accepted", "src=%s dst=%s",
	          proto_peer_str(&circ->src, s, sizeof(s)),
	          proto_peer_str(&circ->dst, d, sizeof(d)));
	splice_grow(hop);
	splice_grow(stop);
	pump(hop);  /* what the source sent early */
	pump(stop); /* what the target sent after its OK */
}

void circuit_connect(struct pstream *ps, const struct hop_msg *m)
{
	struct pconn *c = ps->c, *tc;
	struct p2p *p = c->p;
	struct stop_msg sm = {.type = STOP_CONNECT};
	struct yamux_stream *st;
	struct pstream *ts;
	struct pcirc *circ;
	uint8_t lines[MSS_OUT_MAX];
	char t[PEERID_STR_MAX];
	uint64_t cid;
	struct wbuf w;

	if (!m->peer.has || !m->peer.id.len) {
		proto_refuse(ps, P2P_REQ_CONNECT, RS_MALFORMED_MESSAGE, NULL);
		return;
	}
	proto_peer_str(&m->peer.id, t, sizeof(t));
	/* Through the relay to the relay, or to oneself: nothing a relay should carry. */
	if (peerid_equal(&m->peer.id, &p->pid) || peerid_equal(&m->peer.id, &c->remote)) {
		proto_refuse(ps, P2P_REQ_CONNECT, RS_PERMISSION_DENIED, t);
		return;
	}
	if (resv_lookup(p->resv, &m->peer.id, p2p_unix_now(), &cid) < 0 ||
	    !(tc = p2p_conn_by_id(p, cid)) || tc->state != PC_OPEN) {
		proto_refuse(ps, P2P_REQ_CONNECT, RS_NO_RESERVATION, t);
		return;
	}
	if (resv_circuit_begin(p->resv, &c->remote, &m->peer.id) != RS_OK) {
		proto_refuse(ps, P2P_REQ_CONNECT, RS_RESOURCE_LIMIT_EXCEEDED, t);
		return;
	}
	if (!(circ = calloc(1, sizeof(*circ)))) {
		resv_circuit_end(p->resv, &c->remote, &m->peer.id);
		proto_refuse(ps, P2P_REQ_CONNECT, RS_RESOURCE_LIMIT_EXCEEDED, t);
		return;
	}
	if (!(st = yamux_open(tc->y)) || !(ts = proto_new(tc, st, PS_STOP_MSS))) {
		if (st)
			yamux_reset(tc->y, st); /* user NULL: its on_close is ignored */
		free(circ);
		resv_circuit_end(p->resv, &c->remote, &m->peer.id);
		proto_refuse(ps, P2P_REQ_CONNECT, RS_CONNECTION_FAILED, t);
		return;
	}
	p->streams[P2P_S_STOP]++;
	circ->p = p;
	circ->hop = ps;
	circ->stop = ts;
	circ->src = c->remote;
	circ->dst = m->peer.id;
	circ->dying = -1;
	circ->started_ms = ev_now_ms(p->r->loop);
	proto_limit(p, &sm.limit);
	circ->limit_ms = (uint64_t)sm.limit.duration_s * 1000;
	circ->limit_bytes = sm.limit.data;
	circ->next = p->circs;
	if (p->circs)
		p->circs->prev = circ;
	p->circs = circ;
	ps->circ = ts->circ = circ;
	ps->state = PS_HOP_WAIT;
	wbuf_init(&w, lines, sizeof(lines));
	if (mss_dial_start(&ts->mss, P2P_PROTO_STOP, &w) < 0 || !proto_send(ts, lines, w.pos))
		circuit_fail(circ, "stop stream refused");
}

/* --- stop (ours, on the target's connection) --- */

static void stop_input(struct pstream *ps, const uint8_t *data, size_t len)
{
	struct pcirc *circ = ps->circ;
	const uint8_t *msg;
	size_t mlen, used;
	struct stop_msg m;
	int e;

	if (!circ || circ->dying >= 0)
		return;
	if (pbuf_add(&ps->buf, data, len, YAMUX_WINDOW) < 0) {
		circuit_fail(circ, "stop stream overrun");
		return;
	}
	e = pb_delimited(ps->buf.p + ps->buf.off, ps->buf.len, P2PMSG_MAX, &msg, &mlen, &used);
	if (e == 0)
		return;
	if (e < 0 || stop_msg_decode(msg, mlen, &m) < 0 || m.type != STOP_STATUS) {
		circuit_fail(circ, "bad answer from the target");
		return;
	}
	if (m.status != RS_OK) {
		circuit_fail(circ, "the target refused");
		return;
	}
	yamux_consume(ps->c->y, ps->st, used);
	pbuf_take(&ps->buf, used); /* the rest is the target's first data */
	splice_start(circ);
}

static void stop_mss_input(struct pstream *ps, const uint8_t *data, size_t len)
{
	struct pcirc *circ = ps->circ;
	struct stop_msg m = {.type = STOP_CONNECT};
	uint8_t b[PS_MSG_MAX];
	size_t used = 0;
	int e, n;

	if (!circ || circ->dying >= 0)
		return;
	e = mss_dial_input(&ps->mss, data, len, &used);
	yamux_consume(ps->c->y, ps->st, used);
	if (e == 0)
		return;
	if (e < 0) {
		circuit_fail(circ, "the target does not speak stop");
		return;
	}
	m.peer.has = true;
	m.peer.id = circ->src;
	if (circ->limit_ms || circ->limit_bytes) {
		m.limit.has = true;
		m.limit.duration_s = (uint32_t)(circ->limit_ms / 1000);
		m.limit.data = circ->limit_bytes;
	}
	if ((n = stop_msg_encode(&m, b, sizeof(b))) < 0 || !proto_send_msg(ps, b, (size_t)n)) {
		circuit_fail(circ, "stop stream window shut");
		return;
	}
	ps->state = PS_STOP_WAIT;
	if (used < len)
		stop_input(ps, data + used, len - used);
}

/* Bytes on a stream taking part in a circuit (states PS_HOP_WAIT .. PS_SPLICE). */
void circuit_input(struct pstream *ps, const uint8_t *data, size_t len)
{
	switch (ps->state) {
	case PS_HOP_WAIT:
		/* The source's early data: held, unconsumed, until the splice. */
		if (pbuf_add(&ps->buf, data, len, YAMUX_WINDOW) < 0 && ps->circ)
			circuit_fail(ps->circ, "source overrun");
		return;
	case PS_STOP_MSS:
		stop_mss_input(ps, data, len);
		return;
	case PS_STOP_WAIT:
		stop_input(ps, data, len);
		return;
	default:
		splice_input(ps, data, len);
		return;
	}
}

void circuit_on_fin(struct pstream *ps)
{
	if (ps->state == PS_SPLICE)
		pump(ps);
	else if ((ps->state == PS_STOP_MSS || ps->state == PS_STOP_WAIT) && ps->circ)
		circuit_fail(ps->circ, "the target closed the stop stream");
	/* PS_HOP_WAIT: the FIN is passed on after the splice */
}

void circuit_stream_closed(struct pstream *ps, bool reset)
{
	struct pcirc *circ = ps->circ;

	/* A reset is passed on as a reset; a close before the splice fails the circuit. */
	if (reset || !circ->spliced)
		circuit_fail(circ, "stream closed");
	else
		circ_check(circ); /* ps stays while its data still goes to the partner */
}

void circuit_room(struct pstream *ps)
{
	struct pstream *x = ps->state == PS_SPLICE && ps->circ ? circ_partner(ps->circ, ps) : NULL;

	if (x)
		pump(x);
}

void circuit_conn_gone(struct pstream *ps, enum p2p_cend why)
{
	struct pcirc *circ = ps->circ;

	if (circ->dying < 0) {
		circ->dying = (int)why;
		circ->fail = "a connection closed";
	}
	circ_end(circ); /* frees the partner (on the other connection), not ps */
}

void circuit_reap(struct p2p *p)
{
	struct pcirc *circ, *next;

	p->reap = false;
	for (circ = p->circs; circ; circ = next) {
		next = circ->next;
		if (circ->dying >= 0)
			circ_end(circ);
	}
}

void circuit_tick(struct p2p *p, uint64_t now_ms)
{
	for (struct pcirc *circ = p->circs; circ; circ = circ->next) {
		if (circ->dying >= 0)
			continue;
		if (!circ->spliced && now_ms - circ->started_ms >= P2P_STOP_TIMEOUT_MS)
			circuit_fail(circ, "no answer from the target");
		else if (circ->spliced && circ->limit_ms &&
		         now_ms - circ->started_ms >= circ->limit_ms)
			circuit_kill(circ, P2P_CEND_DURATION);
	}
}

void circuit_close_all(struct p2p *p)
{
	while (p->circs) {
		if (p->circs->dying < 0) {
			p->circs->dying = P2P_CEND_STOPPING;
			p->circs->fail = "relay stopping";
		}
		circ_end(p->circs);
	}
}
