/*
 * control.c: the control port (PROTOCOL.md §3-§5): PING/PONG, handshakes (mac1 before DH,
 * cookies under load), links, control messages, and DATA frames handed to sealed.c.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "buf.h"
#include "key.h"
#include "relay.h"
#include "sock.h"
#include "worker.h"

/* Initiations per second above which the relay demands cookies (PROTOCOL.md §4.3). */
#define CONTROL_LOAD_HS_PER_S 200

/* Datagrams read (recvmmsg) and sealed frames sent on (sendmmsg) per batch. */
#define CONTROL_BATCH 32
/* Receive and send buffer of a control socket. */
#define CONTROL_SOCKBUF (4 << 20)

static struct {
	uint8_t buf[CONTROL_BATCH][PROTO_MAX_FRAME];
	struct sockaddr_storage src[CONTROL_BATCH];
	struct mmsghdr rx[CONTROL_BATCH];
	struct iovec rxiov[CONTROL_BATCH];
	struct addr dst[CONTROL_BATCH];
	struct mmsghdr tx[CONTROL_BATCH];
	struct iovec txiov[CONTROL_BATCH];
	int txfd[CONTROL_BATCH];
	int ntx;
} control_io;
static struct log_ratelimit control_rl = LOG_RATELIMIT_INIT(10000);

/* Where to send on control socket fd: false (dropped, counted) when policy forbids it. */
static bool control_dest(struct relay *r, int fd, const struct addr *to, struct addr *out)
{
	if (policy_forbids(&r->cfg.policy, to)) {
		r->st.drops[DROP_POLICY]++;
		return false;
	}
	*out = *to;
	if (control_fd_v6(r, fd))
		addr_to_v6mapped(out, to);
	return true;
}

bool control_fd_v6(const struct relay *r, int fd)
{
	/* The socket's family was recorded at bind time: no system call per packet. */
	return fd >= 0 && fd < r->ctl_fd_lim && r->ctl_v6_fd[fd];
}

void control_sendto(struct relay *r, int fd, const void *p, size_t len, const struct addr *to)
{
	struct addr out;

	/* A stream connection is its own route: no address to check, its queue takes the frame. */
	if (r->streams && streams_owns(r, fd)) {
		streams_send(r, fd, p, len, ((const uint8_t *)p)[0] == PROTO_DATA);
		return;
	}
	if (control_dest(r, fd, to, &out) && sendto(fd, p, len, MSG_DONTWAIT, &out.sa, out.len) < 0)
		r->st.drops[DROP_SEND]++;
}

/* Runs of frames for one socket leave with one sendmmsg each. */
void control_flush(struct relay *r)
{
	int start = 0;

	for (int i = 1; i <= control_io.ntx; i++) {
		int done = start, sent = 0;

		if (i < control_io.ntx && control_io.txfd[i] == control_io.txfd[start])
			continue;
		while (done < i && (sent = sendmmsg(control_io.txfd[start], control_io.tx + done,
		                                    (unsigned)(i - done), MSG_DONTWAIT)) > 0)
			done += sent;
		r->st.drops[DROP_SEND] += (uint64_t)(i - done);
		r->st.pkts[1] -= (uint64_t)(i - done);
		/* Only resealed DATA frames are queued: they were counted by their payload. */
		for (int k = done; k < i; k++)
			r->st.bytes[1] -= control_io.txiov[k].iov_len - PROTO_SEALED_OVERHEAD;
		start = i;
	}
	control_io.ntx = 0;
}

int control_queue(struct relay *r, int fd, void *p, size_t len, const struct addr *to)
{
	int k = control_io.ntx;

	/* Resealed DATA (droppable) for a stream: into its queue now, not into the batch. */
	if (r->streams && streams_owns(r, fd))
		return streams_send(r, fd, p, len, true) < 0 ? -1 : 0;
	/* A batch never reads more than CONTROL_BATCH datagrams, so this only guards. */
	if (k == CONTROL_BATCH)
		control_flush(r);
	k = control_io.ntx;
	if (!control_dest(r, fd, to, &control_io.dst[k]))
		return -1;
	control_io.txiov[k] = (struct iovec){p, len};
	control_io.tx[k].msg_hdr = (struct msghdr){.msg_name = &control_io.dst[k].sa,
	                                           .msg_namelen = control_io.dst[k].len,
	                                           .msg_iov = &control_io.txiov[k],
	                                           .msg_iovlen = 1};
	control_io.txfd[k] = fd;
	control_io.ntx++;
	return 0;
}

void control_send_ctrl(struct relay *r, struct link *l, const struct ctrl_msg *m)
{
	control_send_ctrl_to(r, l, m, &l->addr);
}

void control_send_ctrl_to(struct relay *r, struct link *l, const struct ctrl_msg *m,
                          const struct addr *dst)
{
	uint8_t pt[PROTO_MAX_CTRL_PLAIN], frame[PROTO_MAX_CTRL_PLAIN + PROTO_SEALED_OVERHEAD];
	int n = ctrl_encode(m, pt, sizeof(pt));

	if (n < 0)
		return;
	n = frame_seal_ctrl(frame, sizeof(frame), l->keys.remote_index, l->keys.ctrl_send_counter++,
	                    l->keys.ctrl_send, pt, (size_t)n);
	if (n > 0)
		control_sendto(r, l->fd, frame, (size_t)n, dst);
}

/*
 * An ERROR in answer to a request of req_len plaintext bytes (at least PROTO_CTRL_REQ_MIN):
 * its text is cut so that the reply is no larger than the request (§7).
 */
static void control_send_error(struct relay *r, struct link *l, const struct addr *to,
                               size_t req_len, unsigned code, const uint8_t *sid, const char *text)
{
	struct ctrl_msg m = {.type = CTRL_ERROR, .code = (uint16_t)code};
	size_t room = req_len - CTRL_ERROR_FIXED_LEN;

	if (sid)
		memcpy(m.sid, sid, 16);
	snprintf(m.text, room < sizeof(m.text) ? room + 1 : sizeof(m.text), "%s", text);
	control_send_ctrl_to(r, l, &m, to);
	r->st.denied++;
	{
		char a[ADDR_STRLEN], k[KEY_B64_STRLEN];

		key_to_base64(k, l->client_pub);
		stats_event(r, l, "request denied", sid, "from %s key %.8s...: %s (%s)",
		            addr_format(to, a, sizeof(a)), k, proto_error_name(code), text);
	}
}

/* Mode-mismatch notices (PROTOCOL.md §5.2) at most once a second per session. */
#define CONTROL_NOTICE_MS 1000

static bool control_notice_due(struct session *s, uint64_t now)
{
	if (s->notice_ms && now - s->notice_ms < CONTROL_NOTICE_MS)
		return false;
	s->notice_ms = now ? now : 1;
	return true;
}

/*
 * A sealed BIND of l (req_len bytes of plaintext) was refused with mode-mismatch by a direct
 * session waiting for its other member, of another client key: tell that member, on its own
 * link, so that its helper binds sealed too (§5.2). A sealed session is never told: the
 * refused member goes sealed by itself, and a sealed member has no other mode to go to. The
 * notice is an ERROR cut to the request's size, so the request pays for it (§7).
 */
static void control_mismatch_notice(struct relay *r, struct link *l, const struct ctrl_msg *req,
                                    size_t req_len)
{
	struct session *s = session_find(r, req->sid);
	struct ctrl_msg m = {.type = CTRL_ERROR, .code = PROTO_ERR_MODE_MISMATCH};
	size_t room = req_len - CTRL_ERROR_FIXED_LEN;
	struct link *to;

	if (!s || s->n != 1 || s->mode != PROTO_MODE_DIRECT || req->mode != PROTO_MODE_SEALED)
		return;
	to = s->m[0].link;
	if (!to || to == l || !sodium_memcmp(s->m[0].client_pub, l->client_pub, 32) ||
	    !control_notice_due(s, ev_now_ms(r->loop)))
		return;
	memcpy(m.sid, s->sid, 16);
	snprintf(m.text, room < sizeof(m.text) ? room + 1 : sizeof(m.text), "%s",
	         "the other member binds sealed");
	control_send_ctrl(r, to, &m);
	stats_event(r, l, "mode mismatch told", s->sid, "handle=%08x", s->m[0].handle);
}

static void control_ping(struct relay *r, int fd, const uint8_t *p, size_t len,
                         const struct addr *src)
{
	struct frame_pong pong = {.observed = *src};
	uint8_t out[PROTO_PONG_LEN];

	if (frame_decode_ping(p, len, &pong.nonce) < 0) {
		r->st.drops[DROP_MALFORMED]++;
		return;
	}
	if (r->cfg.limits.max_circuits)
		pong.load_permille = (uint16_t)(r->circuits * 1000 / r->cfg.limits.max_circuits);
	if (pong.load_permille > 1000)
		pong.load_permille = 1000;
	pong.flags = (r->circuits >= r->cfg.limits.max_circuits ? PONG_F_FULL : 0) |
	             (r->cfg.auth == AUTH_KEYS ? PONG_F_AUTH_KEYS : 0) |
	             (r->cfg.auth == AUTH_TOKEN ? PONG_F_AUTH_TOKEN : 0) |
	             (r->cfg.mode_direct ? PONG_F_DIRECT_OK : 0) |
	             (r->cfg.mode_sealed ? PONG_F_SEALED_OK : 0);
	frame_encode_pong(out, &pong);
	control_sendto(r, fd, out, sizeof(out), src);
}

static void control_link_free(struct relay *r, struct link *l)
{
	network_link_gone(r, l);
	circuits_link_gone(r, l);
	if (table_get(&r->clients, table_key16(&r->clients, l->client_pub, 32)) == l)
		table_del(&r->clients, table_key16(&r->clients, l->client_pub, 32));
	table_del(&r->links, l->index);
	session_link_gone(r, l);
	l->qkey->links--;
	l->qsrc->links--;
	quota_release(r, l->qkey);
	quota_release(r, l->qsrc);
	link_keys_clear(&l->keys);
	sodium_memzero(l, sizeof(*l));
	free(l);
}

void control_link_close(struct relay *r, struct link *l)
{
	control_link_free(r, l);
}

int control_fd_for(const struct relay *r, const struct addr *a)
{
	bool v6 = addr_family(a) == AF_INET6;

	for (int i = 0; i < r->n_ctl; i++)
		if (r->ctl[i].v6 == v6)
			return r->ctl[i].fd;
	return -1;
}

void control_send_raw(struct relay *r, struct link *l, const uint8_t *pt, size_t n)
{
	uint8_t frame[PROTO_MAX_CTRL_PLAIN + PROTO_SEALED_OVERHEAD];
	int len = frame_seal_ctrl(frame, sizeof(frame), l->keys.remote_index,
	                          l->keys.ctrl_send_counter++, l->keys.ctrl_send, pt, n);

	if (len > 0)
		control_sendto(r, l->fd, frame, (size_t)len, &l->addr);
}

/*
 * The first frame that opens on a link proves its address: only a client that received the
 * HS_RESP sent there has the keys. Only now does it replace the key's previous link and take
 * over its memberships, so a handshake from a forged source address moves nothing.
 */
static void control_link_proven(struct relay *r, struct link *l)
{
	uint64_t ckey = table_key16(&r->clients, l->client_pub, 32);
	struct link *old = table_get(&r->clients, ckey);

	l->proven = true;
	if (old == l || table_put(&r->clients, ckey, l) < 0)
		return;
	if (old) {
		session_link_adopt(r, old, l);
		l->authenticated = old->authenticated;
		/* A relay link's rekey (or its peer's restart): the relay link carries on. */
		if (old->rp)
			network_link_replaced(r, old, l);
		circuits_link_replaced(r, old, l);
		control_link_free(r, old);
	}
}

/* A CHALLENGE sent to src came back from src: the client receives there, so move the link. */
static void control_link_move(struct relay *r, struct link *l, const struct addr *src)
{
	struct quota *q = quota_source(r, src);

	l->chal_sent_ms = 0;
	if (!q || (q != l->qsrc && q->links >= r->cfg.limits.max_links_per_source)) {
		r->st.drops[DROP_LIMIT]++;
		quota_release(r, q);
		return;
	}
	l->qsrc->links--;
	quota_release(r, l->qsrc);
	q->links++;
	l->qsrc = q;
	l->addr = *src;
	session_link_roam(r, l);
}

/* Frame size of a CHALLENGE: sealed CTRL around type and token. */
#define CONTROL_CHALLENGE_FRAME (PROTO_SEALED_OVERHEAD + 1 + PROTO_CHALLENGE_LEN)

void control_link_seen(struct relay *r, struct link *l, const struct addr *src, size_t len)
{
	uint64_t now = ev_now_ms(r->loop);
	struct ctrl_msg m = {.type = CTRL_CHALLENGE};

	if (!l->proven)
		control_link_proven(r, l);
	if (addr_equal(&l->addr, src))
		return;
	/*
	 * A new source address is only a claim (anyone with the keys can forge a source): ask
	 * it to echo a token before anything unasked goes there. At most one challenge a second
	 * per link, never larger than the frame that caused it, never to a forbidden address.
	 */
	if (len < CONTROL_CHALLENGE_FRAME ||
	    (l->chal_sent_ms && now - l->chal_sent_ms < RELAY_CHALLENGE_MS)) {
		r->st.drops[DROP_UNPROVEN]++;
		return;
	}
	if (policy_forbids(&r->cfg.policy, src)) {
		r->st.drops[DROP_POLICY]++;
		return;
	}
	randombytes_buf(l->chal_token, sizeof(l->chal_token));
	memcpy(m.token, l->chal_token, sizeof(m.token));
	l->chal_addr = *src;
	l->chal_sent_ms = now ? now : 1;
	r->challenges_sent++;
	control_send_ctrl_to(r, l, &m, src);
}

/* A RESPONSE: the token of the outstanding challenge, from the address it was sent to. */
static void control_response(struct relay *r, struct link *l, const struct ctrl_msg *m,
                             const struct addr *src)
{
	if (!l->chal_sent_ms || !addr_equal(&l->chal_addr, src) ||
	    ev_now_ms(r->loop) - l->chal_sent_ms > PROTO_CHALLENGE_TTL_MS ||
	    sodium_memcmp(m->token, l->chal_token, sizeof(m->token))) {
		r->st.drops[DROP_UNPROVEN]++;
		return;
	}
	control_link_move(r, l, src);
}

/*
 * Make room for one more link: the unbound link that was proven least (never, then the
 * longest silent). Bound links are never evicted; false when all are bound.
 */
static bool control_evict(struct relay *r)
{
	struct link *l, *victim = NULL;
	size_t pos = 0;

	while ((l = table_next(&r->links, &pos))) {
		/* Relay links bind nothing but are the network's: never evicted for a client. */
		if (l->nbinds || l->rp)
			continue;
		if (!victim || (!l->proven && victim->proven) ||
		    (l->proven == victim->proven && l->last_rx_ms < victim->last_rx_ms))
			victim = l;
	}
	if (!victim)
		return false;
	r->links_evicted++;
	control_link_free(r, victim);
	return true;
}

/*
 * Record an accepted initiation's timestamp as the one the next must exceed (PROTOCOL.md
 * §4.1), but never more than CONTROL_TAI64N_AHEAD_S ahead of our own clock: a client whose
 * clock ran fast and was corrected is refused for at most that long, not until its far-future
 * time comes. (A replay of such an initiation makes a link that can never be proven.)
 */
#define CONTROL_TAI64N_AHEAD_S 600
static void control_record_tai64n(uint8_t rec[PROTO_TAI64N_LEN], const uint8_t ts[PROTO_TAI64N_LEN])
{
	uint8_t cap[PROTO_TAI64N_LEN];

	hs_tai64n_now(cap);
	buf_store_be64(cap, buf_load_be64(cap) + CONTROL_TAI64N_AHEAD_S);
	memcpy(rec, memcmp(ts, cap, PROTO_TAI64N_LEN) > 0 ? cap : ts, PROTO_TAI64N_LEN);
}

static void control_handshake(struct relay *r, int fd, const uint8_t *p, size_t len,
                              const struct addr *src)
{
	uint64_t now = ev_now_ms(r->loop), sec = now / 1000;
	const struct limits *lim = &r->cfg.limits;
	uint8_t cookie[PROTO_COOKIE_LEN], resp[PROTO_HS_RESP_LEN];
	struct quota *qkey, *qsrc;
	struct hs_pending pend;
	struct link *l;
	int v;

	if (sec != r->hs_second) {
		r->hs_second = sec;
		r->hs_this_second = 0;
	}
	r->under_load = ++r->hs_this_second > CONTROL_LOAD_HS_PER_S;
	/* The Diffie-Hellmans touch only the handshake state, which workers never see. */
	relay_unlock(r);
	v = hs_relay_open_init(&r->hs, p, len, src, r->under_load, now, &pend, cookie);
	relay_lock(r);
	if (v == HS_COOKIE) {
		r->st.cookies_sent++;
		control_sendto(r, fd, cookie, sizeof(cookie), src);
		return;
	}
	if (v != HS_ACCEPT) {
		r->st.drops[v == FRAME_EMAC    ? DROP_BAD_MAC
		            : v == FRAME_EAUTH ? DROP_AUTH
		                               : DROP_MALFORMED]++;
		return;
	}
	/* A stream link is answered on its connection, never sent to src: no policy applies. */
	if (policy_forbids(&r->cfg.policy, src) && !(r->streams && streams_owns(r, fd))) {
		r->st.drops[DROP_POLICY]++;
		noise_hs_clear(&pend.hs);
		return;
	}
	/* The key's record outlives its links while it holds memberships (quota.c). */
	qkey = quota_key(r, pend.client_pub);
	if (qkey && qkey->has_tai64n && memcmp(pend.tai64n, qkey->tai64n, PROTO_TAI64N_LEN) <= 0) {
		r->st.drops[DROP_REPLAY]++;
		noise_hs_clear(&pend.hs);
		quota_release(r, qkey);
		return;
	}
	qsrc = quota_source(r, src);
	if (!qkey || !qsrc || qsrc->links >= lim->max_links_per_source ||
	    (r->links.n >= lim->max_links && !control_evict(r))) {
		r->st.drops[DROP_LIMIT]++;
		noise_hs_clear(&pend.hs);
		quota_release(r, qkey);
		quota_release(r, qsrc);
		return;
	}
	l = calloc(1, sizeof(*l));
	if (!l) {
		noise_hs_clear(&pend.hs);
		quota_release(r, qkey);
		quota_release(r, qsrc);
		return;
	}
	do
		randombytes_buf(&l->index, sizeof(l->index));
	while (!l->index || table_get(&r->links, l->index));
	l->gen = ++r->link_gen;
	l->addr = *src;
	l->fd = fd;
	l->last_rx_ms = now;
	memcpy(l->client_pub, pend.client_pub, 32);
	hs_relay_finish(&pend, l->index, src, resp, &l->keys);
	if (table_put(&r->links, l->index, l) < 0) {
		link_keys_clear(&l->keys);
		free(l);
		quota_release(r, qkey);
		quota_release(r, qsrc);
		return;
	}
	control_record_tai64n(qkey->tai64n, pend.tai64n);
	qkey->has_tai64n = true;
	l->qkey = qkey;
	l->qsrc = qsrc;
	qkey->links++;
	qsrc->links++;
	stats_budget_init(&l->log, now, false);
	r->st.handshakes++;
	control_sendto(r, fd, resp, sizeof(resp), src);
}

static void control_ctrl(struct relay *r, const uint8_t *p, size_t len, const struct addr *src)
{
	uint8_t pt[PROTO_MAX_CTRL_PLAIN];
	struct ctrl_msg req, reply;
	uint32_t index;
	uint64_t counter;
	struct link *l;
	int n, e;

	frame_sealed_fields(p, &index, &counter);
	l = table_get(&r->links, index);
	if (!l) {
		r->st.drops[DROP_UNKNOWN_LINK]++;
		return;
	}
	n = frame_open_ctrl(p, len, l->keys.ctrl_recv, &l->keys.ctrl_replay, pt, sizeof(pt));
	if (n < 0) {
		r->st.drops[n == FRAME_EREPLAY ? DROP_REPLAY : DROP_AUTH]++;
		return;
	}
	l->last_rx_ms = ev_now_ms(r->loop);
	if (!l->proven)
		control_link_proven(r, l);
	/*
	 * Relay links, and the §10 messages on any link, are the network part's: relay links are
	 * exempt from the padding rule, and what a client may send there has rules of its own.
	 */
	if (n > 0 && network_wants_ctrl(r, l, pt[0])) {
		network_ctrl(r, l, pt, (size_t)n, src, len);
		return;
	}
	/* §7: an unpadded request gets no answer, so no answer is larger than its request. */
	if (n < PROTO_CTRL_REQ_MIN) {
		r->st.drops[DROP_MALFORMED]++;
		return;
	}
	/* A §10 request to a relay that is in no relay network: say so, not "malformed". */
	if (!r->net && pt[0] >= CTRL_HELLO && pt[0] <= CTRL_HEARTBEAT_ACK) {
		control_link_seen(r, l, src, len);
		control_send_error(r, l, src, (size_t)n, PROTO_ERR_BAD_REQUEST, NULL,
		                   "this relay is in no relay network ([Network] is off)");
		return;
	}
	if (ctrl_decode(pt, (size_t)n, &req) < 0) {
		control_link_seen(r, l, src, len);
		control_send_error(r, l, src, (size_t)n, PROTO_ERR_BAD_REQUEST, NULL,
		                   "malformed control message");
		return;
	}
	if (req.type == CTRL_RESPONSE) {
		control_response(r, l, &req, src);
		return;
	}
	control_link_seen(r, l, src, len);
	/* Answers go back where the request came from; §7 keeps them no larger than it. */
	switch (req.type) {
	case CTRL_BIND:
		if ((e = admit_check(r, l, &req, (uint64_t)time(NULL))) != 0 ||
		    (e = session_bind(r, l, &req, &reply)) != 0) {
			control_send_error(r, l, src, (size_t)n, (unsigned)e, req.sid,
			                   proto_error_name((unsigned)e));
			if (e == PROTO_ERR_MODE_MISMATCH)
				control_mismatch_notice(r, l, &req, (size_t)n);
			return;
		}
		control_send_ctrl_to(r, l, &reply, src);
		break;
	case CTRL_UNBIND:
		if ((e = session_unbind(r, l, req.handle)) != 0)
			control_send_error(r, l, src, (size_t)n, (unsigned)e, NULL,
			                   "no such binding on this link");
		break;
	case CTRL_KEEPALIVE:
		control_send_ctrl_to(r, l, &req, src);
		break;
	default:
		control_send_error(r, l, src, (size_t)n, PROTO_ERR_BAD_REQUEST, NULL,
		                   "unexpected message");
	}
}

bool control_rate_ok(struct relay *r, int type, const struct addr *src, uint64_t now_ms)
{
	/* Unauthenticated requests are rate limited per source; link traffic is not. */
	if ((type == PROTO_PING || type == PROTO_HS_INIT || type == PROTO_DESC_REQ) &&
	    !ratelimit_allow(r->rl, src, now_ms)) {
		r->st.drops[DROP_RATE]++;
		log_warnx_rl(&control_rl, "rate limiting handshakes and probes");
		return false;
	}
	return true;
}

void control_frame(struct relay *r, int fd, uint8_t *p, size_t n, const struct addr *src)
{
	int t = frame_check(p, n);

	if (t < 0) {
		r->st.drops[DROP_MALFORMED]++;
		return;
	}
	if (control_rate_ok(r, t, src, ev_now_ms(r->loop)))
		control_dispatch(r, fd, t, p, n, src);
}

void control_dispatch(struct relay *r, int fd, int t, uint8_t *p, size_t n, const struct addr *src)
{
	switch (t) {
	case PROTO_PING:
		control_ping(r, fd, p, n, src);
		break;
	case PROTO_HS_INIT:
		control_handshake(r, fd, p, n, src);
		break;
	case PROTO_CTRL:
		control_ctrl(r, p, n, src);
		break;
	case PROTO_DATA:
		sealed_forward(r, p, n, src);
		break;
	case PROTO_CELL:
		circuits_frame(r, p, n, src);
		break;
	case PROTO_HS_RESP: /* to our own relay links' handshakes (§10.2) */
	case PROTO_COOKIE:
	case PROTO_DESC_REQ:
	case PROTO_DESC_RESP:
		network_frame(r, fd, t, p, n, src);
		break;
	default: /* PONG: never sent to a relay */
		r->st.drops[DROP_MALFORMED]++;
	}
}

/* The kernel's drops on control socket cs since its counter was last read (RELAY_DROPS_READ_MS). */
static void control_kernel_drops(struct relay *r, struct ctl_sock *cs, bool full)
{
	uint64_t now = ev_now_ms(r->loop);

	if (full || now - cs->drops_ms >= RELAY_DROPS_READ_MS) {
		uint32_t count = cs->drops;

		cs->drops_ms = now;
		sock_drops(cs->fd, &count);
		r->st.drops[DROP_SOCKET_FULL] += (uint32_t)(count - cs->drops);
		cs->drops = count;
	}
}

static void control_read(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct ctl_sock *cs = arg;
	struct relay *r = cs->r;

	(void)loop;
	(void)events;
	/* At most two batches, then the other sockets get their turn. */
	for (int round = 0; round < 2; round++) {
		int n;

		for (int i = 0; i < CONTROL_BATCH; i++) {
			control_io.rxiov[i] = (struct iovec){control_io.buf[i], PROTO_MAX_FRAME};
			control_io.rx[i].msg_hdr =
			    (struct msghdr){.msg_name = &control_io.src[i],
			                    .msg_namelen = sizeof(control_io.src[i]),
			                    .msg_iov = &control_io.rxiov[i],
			                    .msg_iovlen = 1};
		}
		n = recvmmsg(fd, control_io.rx, CONTROL_BATCH, MSG_DONTWAIT, NULL);
		if (n > 0)
			control_kernel_drops(r, cs, n == CONTROL_BATCH);
		for (int i = 0; i < n; i++) {
			struct addr src;

			if (control_io.rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
				r->st.drops[DROP_MALFORMED]++;
				continue;
			}
			addr_from_sockaddr(&src, (struct sockaddr *)&control_io.src[i],
			                   control_io.rx[i].msg_hdr.msg_namelen);
			addr_unmap(&src);
			control_frame(r, fd, control_io.buf[i], control_io.rx[i].msg_len, &src);
		}
		control_flush(r);
		if (n < CONTROL_BATCH)
			break;
	}
}

/*
 * A control socket for a (port: its port, or 0 for one from the kernel), in a SO_REUSEPORT
 * group when group is set; the socket, or -errno.
 */
static int control_socket(const struct addr *a, uint16_t port, bool group)
{
	int fd = socket(addr_family(a), SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
	struct addr b = *a;

	if (fd < 0)
		return -errno;
	if (addr_family(a) == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	/* Sealed mode carries whole WireGuard windows here: room for their bursts. */
	sock_buffers(fd, CONTROL_SOCKBUF);
	addr_set_port(&b, port);
	if ((group && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) ||
	    bind(fd, &b.sa, b.len) < 0) {
		int err = errno;

		close(fd);
		return -err;
	}
	return fd;
}

/*
 * The sockets of Listen address a: one read by the control loop, or one per worker in a
 * SO_REUSEPORT group (the kernel steers each client's address and port to one of them, so
 * a link's frames stay in order). A first socket bound without SO_REUSEPORT proves the port
 * free, so a second relay started on it fails as it would without workers, instead of
 * joining the group and taking part of the traffic. 0, or -errno.
 */
static int control_open_listen(struct relay *r, const struct addr *a)
{
	unsigned n = r->n_workers ? r->n_workers : 1;
	uint16_t port = addr_port(a);
	int fd;

	if (r->n_workers && port) {
		if ((fd = control_socket(a, port, false)) < 0)
			return fd;
		close(fd);
	}
	for (unsigned i = 0; i < n; i++) {
		struct ctl_sock *cs = &r->ctl[r->n_ctl];
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);

		if ((fd = control_socket(a, port, r->n_workers > 0)) < 0)
			return fd;
		/* Port 0: the kernel's choice for the first, the others join it there. */
		if (!port && getsockname(fd, (struct sockaddr *)&ss, &len) == 0) {
			struct addr got;

			addr_from_sockaddr(&got, (struct sockaddr *)&ss, len);
			port = addr_port(&got);
		}
		*cs = (struct ctl_sock){.fd = fd, .v6 = addr_family(a) == AF_INET6, .r = r};
		r->n_ctl++;
		if (r->n_workers) {
			cs->w = &r->workers[i];
			if (ctlworker_attach(r, cs) < 0)
				return -ENOMEM;
		} else if (ev_add_io(r->loop, fd, EV_READ, control_read, cs) < 0) {
			return -ENOMEM;
		}
	}
	return 0;
}

int control_open(struct relay *r)
{
	unsigned per = r->n_workers ? r->n_workers : 1;
	int maxfd = -1;

	r->ctl = calloc((size_t)r->cfg.n_listen * per, sizeof(*r->ctl));
	if (!r->ctl)
		return -ENOMEM;
	for (int i = 0; i < r->cfg.n_listen; i++) {
		const struct addr *a = &r->cfg.listen[i];
		char s[ADDR_STRLEN];
		int first = r->n_ctl, e;

		addr_format(a, s, sizeof(s));
		if ((e = control_open_listen(r, a)) < 0) {
			while (r->n_ctl > first)
				close(r->ctl[--r->n_ctl].fd);
			/* A host without IPv6 still serves IPv4 (and the other way round). */
			if (e == -EAFNOSUPPORT || e == -EADDRNOTAVAIL) {
				log_warnx("control: %s not available here, skipped", s);
				continue;
			}
			errno = -e;
			log_warn("control: bind %s", s);
			return e;
		}
		if (r->n_workers)
			log_info("listening on %s (%u sockets, one per worker)", s, per);
		else
			log_info("listening on %s", s);
	}
	for (int i = 0; i < r->n_ctl; i++)
		maxfd = r->ctl[i].fd > maxfd ? r->ctl[i].fd : maxfd;
	if (!r->n_ctl || !(r->ctl_v6_fd = calloc((size_t)maxfd + 1, sizeof(bool))))
		return r->n_ctl ? -ENOMEM : -EADDRNOTAVAIL;
	r->ctl_fd_lim = maxfd + 1;
	for (int i = 0; i < r->n_ctl; i++)
		r->ctl_v6_fd[r->ctl[i].fd] = r->ctl[i].v6;
	return 0;
}

void control_expire_links(struct relay *r, uint64_t now_ms)
{
	size_t pos = 0;
	struct link *l;

	/* Relay links have their own LinkTimeout, applied by the network part (netlinks.c). */
	while ((l = table_next(&r->links, &pos)))
		if (!l->rp && now_ms - l->last_rx_ms >=
		                  (l->proven ? PROTO_LINK_EXPIRE_MS : RELAY_LINK_UNPROVEN_MS))
			control_link_free(r, l);
}

void control_notify_shutdown(struct relay *r)
{
	size_t pos = 0;
	struct link *l;

	while ((l = table_next(&r->links, &pos))) {
		struct ctrl_msg m = {.type = CTRL_ERROR, .code = PROTO_ERR_SHUTDOWN};

		strcpy(m.text, "relay shutting down");
		control_send_ctrl(r, l, &m);
	}
}
