/*
 * direct.c: direct-mode forwarding (PROTOCOL.md §5.5): one UDP port per session, unmodified
 * WireGuard datagrams, recvmmsg/sendmmsg batches, no allocation per packet. A member's address
 * is learnt only from its link's public IP and confirmed only by a WireGuard handshake that
 * passes through the relay.
 */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "relay.h"
#include "wgcheck.h"

#define DIRECT_BATCH 32
#define DIRECT_MTU   2048

static uint8_t direct_buf[DIRECT_BATCH][DIRECT_MTU];
static struct sockaddr_in6 direct_src[DIRECT_BATCH], direct_dst[DIRECT_BATCH];
static struct mmsghdr direct_rx[DIRECT_BATCH], direct_tx[DIRECT_BATCH];
static struct iovec direct_rxiov[DIRECT_BATCH], direct_txiov[DIRECT_BATCH];

static void direct_read(struct ev_loop *loop, int fd, unsigned events, void *arg);

int direct_open(struct relay *r, struct session *s)
{
	return direct_open_port(r, s, 0);
}

int direct_open_port(struct relay *r, struct session *s, uint16_t want)
{
	unsigned span = want ? 1 : (unsigned)r->cfg.port_hi - r->cfg.port_lo + 1;
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), off = 0;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	for (unsigned i = 0; i < span; i++) {
		uint16_t port =
		    want ? want : (uint16_t)(r->cfg.port_lo + (r->next_port + i) % span);
		struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port)};

		if (table_get(&r->ports, port))
			continue;
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			continue;
		if (ev_add_io(r->loop, fd, EV_READ, direct_read, s) < 0)
			break;
		s->fd = fd;
		s->port = port;
		if (!want)
			r->next_port = (uint16_t)((r->next_port + i + 1) % span);
		table_put(&r->ports, port, s);
		return 0;
	}
	close(fd);
	if (want)
		log_warnx("direct: port %u is no longer free", want);
	else
		log_warnx("direct: no free port in %u-%u", r->cfg.port_lo, r->cfg.port_hi);
	return -EADDRINUSE;
}

void direct_close(struct relay *r, struct session *s)
{
	if (s->fd < 0)
		return;
	ev_del_io(r->loop, s->fd);
	close(s->fd);
	table_del(&r->ports, s->port);
	s->fd = -1;
}

/*
 * The member this datagram comes from: same public IP as its link; the port decides between
 * members behind one address, and an unknown port belongs to a member not yet seen.
 */
static int direct_member(const struct session *s, const struct addr *src)
{
	int found = -1, fresh = -1;

	for (int i = 0; i < s->n; i++) {
		const struct member *m = &s->m[i];

		if (!addr_equal_ip(&m->link_ip, src))
			continue;
		if ((m->has_conf && addr_equal(&m->conf, src)) ||
		    (m->has_cand && addr_equal(&m->cand, src)))
			return i;
		if (fresh < 0 && !m->has_cand && !m->has_conf)
			fresh = i;
		if (found < 0)
			found = i;
	}
	return fresh >= 0 ? fresh : found;
}

static void direct_announce(struct relay *r, struct session *s, int from)
{
	struct member *y = &s->m[1 - from];
	struct ctrl_msg m = {.type = CTRL_PEER_ACTIVE};

	s->m[from].announced = true;
	if (s->n < 2 || !y->link)
		return;
	memcpy(m.sid, s->sid, 16);
	m.handle = y->handle;
	control_send_ctrl(r, y->link, &m);
}

/*
 * Decide where one datagram goes. Returns the destination or NULL (and counts the drop).
 */
static const struct addr *direct_route(struct relay *r, struct session *s, const uint8_t *p,
                                       size_t len, const struct addr *src)
{
	uint32_t sender, receiver;
	struct member *x, *y;
	int t = wgcheck(p, len, &sender, &receiver), i;

	if (t < 0) {
		r->st.drops[DROP_MALFORMED]++;
		return NULL;
	}
	i = direct_member(s, src);
	if (i < 0) {
		r->st.drops[DROP_UNKNOWN_SOURCE]++;
		return NULL;
	}
	x = &s->m[i];
	s->last_rx_ms = ev_now_ms(r->loop);
	if (!x->announced)
		direct_announce(r, s, i);
	if (s->n < 2) {
		if (t == WG_MSG_INIT) {
			x->cand = *src;
			x->has_cand = true;
			x->wg_sender = sender;
		}
		r->st.drops[DROP_NO_PEER]++;
		return NULL;
	}
	y = &s->m[1 - i];
	switch (t) {
	case WG_MSG_INIT:
		x->cand = *src;
		x->has_cand = true;
		x->wg_sender = sender;
		break;
	case WG_MSG_RESP:
		/* The handshake completed through us: both addresses are now confirmed. */
		if (!y->has_cand || receiver != y->wg_sender) {
			r->st.drops[DROP_UNCONFIRMED]++;
			return NULL;
		}
		x->conf = *src;
		x->has_conf = true;
		y->conf = y->cand;
		y->has_conf = true;
		return &y->conf;
	case WG_MSG_COOKIE:
		if (!y->has_cand || receiver != y->wg_sender) {
			r->st.drops[DROP_UNCONFIRMED]++;
			return NULL;
		}
		return &y->cand;
	case WG_MSG_DATA:
		if (!x->has_conf || !addr_equal(&x->conf, src)) {
			r->st.drops[DROP_UNCONFIRMED]++;
			return NULL;
		}
		break;
	}
	if (y->has_conf)
		return &y->conf;
	if (t == WG_MSG_INIT && y->has_cand)
		return &y->cand;
	r->st.drops[DROP_NO_PEER]++;
	return NULL;
}

static void direct_read(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct session *s = arg;
	struct relay *r = s->relay;
	const struct limits *lim = &r->cfg.limits;
	int n, ntx = 0;
	bool over = false;

	(void)events;
	for (int i = 0; i < DIRECT_BATCH; i++) {
		direct_rxiov[i] = (struct iovec){direct_buf[i], DIRECT_MTU};
		direct_rx[i].msg_hdr = (struct msghdr){.msg_name = &direct_src[i],
		                                       .msg_namelen = sizeof(direct_src[i]),
		                                       .msg_iov = &direct_rxiov[i],
		                                       .msg_iovlen = 1};
	}
	n = recvmmsg(fd, direct_rx, DIRECT_BATCH, MSG_DONTWAIT, NULL);
	for (int i = 0; i < n; i++) {
		size_t len = direct_rx[i].msg_len;
		const struct addr *dst;
		struct addr src, out;

		if (direct_rx[i].msg_hdr.msg_flags & MSG_TRUNC) {
			r->st.drops[DROP_MALFORMED]++;
			continue;
		}
		addr_from_sockaddr(&src, (struct sockaddr *)&direct_src[i],
		                   direct_rx[i].msg_hdr.msg_namelen);
		addr_unmap(&src);
		dst = direct_route(r, s, direct_buf[i], len, &src);
		if (!dst)
			continue;
		if (policy_forbids(&r->cfg.policy, dst)) {
			r->st.drops[DROP_POLICY]++;
			continue;
		}
		if (s->limited && lim->circuit_kbps &&
		    !tbucket_take(&s->bandwidth, len, ev_now_ms(loop))) {
			r->st.drops[DROP_BANDWIDTH]++;
			continue;
		}
		s->bytes += len;
		if (s->limited && lim->circuit_bytes && s->bytes > lim->circuit_bytes)
			over = true;
		addr_to_v6mapped(&out, dst);
		memcpy(&direct_dst[ntx], &out.in6, sizeof(out.in6));
		direct_txiov[ntx] = (struct iovec){direct_buf[i], len};
		direct_tx[ntx].msg_hdr = (struct msghdr){.msg_name = &direct_dst[ntx],
		                                         .msg_namelen = sizeof(direct_dst[ntx]),
		                                         .msg_iov = &direct_txiov[ntx],
		                                         .msg_iovlen = 1};
		r->st.pkts[0]++;
		r->st.bytes[0] += len;
		ntx++;
	}
	for (int done = 0; done < ntx;) {
		int sent = sendmmsg(fd, direct_tx + done, (unsigned)(ntx - done), MSG_DONTWAIT);

		if (sent <= 0) {
			r->st.drops[DROP_SEND] += (uint64_t)(ntx - done);
			r->st.pkts[0] -= (uint64_t)(ntx - done);
			break;
		}
		done += sent;
	}
	if (over) {
		for (int i = 0; i < s->n; i++)
			if (s->m[i].link) {
				struct ctrl_msg e = {.type = CTRL_ERROR,
				                     .code = PROTO_ERR_CIRCUIT_LIMIT_REACHED};

				memcpy(e.sid, s->sid, 16);
				strcpy(e.text, "circuit byte limit reached");
				control_send_ctrl(r, s->m[i].link, &e);
			}
		session_close(r, s, "byte limit");
	}
}
