/*
 * direct.c: direct-mode forwarding (PROTOCOL.md §5.5): one UDP port per session, unmodified
 * WireGuard datagrams, recvmmsg/sendmmsg batches, no allocation per packet. A member's address
 * is learnt only from its link's public IP and confirmed only by a WireGuard handshake that
 * passes through the relay.
 *
 * Session sockets ask for UDP GRO: a run of datagrams from one member can arrive as one buffer
 * of equal-sized segments. Each segment is checked and routed on its own; the segments that
 * pass leave as one UDP_SEGMENT (GSO) send to the other member, so a run costs two system
 * calls however long it is.
 *
 * With SessionSockets = shared (portshare.c) a session has its port but no socket: a thread's
 * shared socket brings datagrams of many sessions, each named by its destination port, routed
 * by the same code, and sent through raw sockets one datagram a message.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "portshare.h"
#include "relay.h"
#include "sock.h"
#include "wgcheck.h"
#include "worker.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define DIRECT_BATCH   32
#define DIRECT_BUFLEN  65536     /* a GRO buffer holds up to 64 KiB of segments */
#define DIRECT_TXMAX   128       /* sends per batch */
#define DIRECT_GSO_MAX 64        /* segments per UDP_SEGMENT send (UDP_MAX_SEGMENTS) */
#define DIRECT_SOCKBUF (1 << 20) /* receive and send buffer of a session socket */

struct direct_io {
	uint8_t buf[DIRECT_BATCH][DIRECT_BUFLEN];
	struct sockaddr_in6 src[DIRECT_BATCH];
	struct mmsghdr rx[DIRECT_BATCH];
	struct iovec rxiov[DIRECT_BATCH];
	union {
		char b[CMSG_SPACE(sizeof(int))]; /* UDP_GRO: the segment size */
		struct cmsghdr align;
	} rxcm[DIRECT_BATCH];
	struct sockaddr_in6 dst[DIRECT_TXMAX];
	struct mmsghdr tx[DIRECT_TXMAX];
	struct iovec txiov[DIRECT_TXMAX];
	union {
		char b[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} txcm[DIRECT_TXMAX];
	uint16_t txseg[DIRECT_TXMAX]; /* GSO segment size, 0: one datagram */
	unsigned txcount[DIRECT_TXMAX];
	bool gso_off; /* the kernel refused UDP_SEGMENT once: send one datagram a call */
	/* SessionSockets = shared: the GRO size and the destination of each datagram */
	union {
		char b[CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(struct sockaddr_in6))];
		struct cmsghdr align;
	} shcm[DIRECT_BATCH];
	struct addr txsrc[DIRECT_TXMAX], txdst[DIRECT_TXMAX]; /* a send's ends, unmapped */
};

struct direct_io *direct_io_new(void)
{
	return calloc(1, sizeof(struct direct_io));
}

int direct_open(struct relay *r, struct session *s)
{
	return direct_open_port(r, s, 0);
}

static int direct_watch(struct relay *r, struct session *s)
{
	if (r->n_workers) {
		s->worker = worker_pick(r);
		if (worker_attach(s->worker, s) < 0)
			return -ENOMEM;
		s->worker->nsessions++;
		return 0;
	}
	if (!r->io && !(r->io = direct_io_new()))
		return -ENOMEM;
	return ev_add_io(r->loop, s->fd, EV_READ, direct_input, s);
}

/*
 * SessionSockets = shared: a port is the session's when no session of ours has it and nothing
 * else on the host is bound to it (the steering would take its datagrams). Checked by binding
 * a probe socket, once per session opened.
 */
static bool direct_port_free(uint16_t port)
{
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port)};
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), off = 0;
	bool ok;

	if (fd < 0)
		return false;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	ok = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	close(fd);
	return ok;
}

/* direct_open_port for SessionSockets = shared: a port, steered; no socket. */
static int direct_open_shared(struct relay *r, struct session *s, uint16_t want)
{
	unsigned span = want ? 1 : (unsigned)r->cfg.port_hi - r->cfg.port_lo + 1;

	for (unsigned i = 0; i < span; i++) {
		uint16_t port =
		    want ? want : (uint16_t)(r->cfg.port_lo + (r->next_port + i) % span);

		if (table_get(&r->ports, port) || !direct_port_free(port))
			continue;
		if (portshare_add(r, port) < 0)
			break;
		if (table_put(&r->ports, port, s) < 0) {
			portshare_del(r, port);
			break;
		}
		s->fd = portshare_fd(r);
		s->port = port;
		if (!want)
			r->next_port = (uint16_t)((r->next_port + i + 1) % span);
		return 0;
	}
	s->fd = -1;
	if (want)
		log_warnx("direct: port %u is no longer free", want);
	else
		log_warnx("direct: no free port in %u-%u", r->cfg.port_lo, r->cfg.port_hi);
	return -EADDRINUSE;
}

static int direct_open_each(struct relay *r, struct session *s, uint16_t want)
{
	unsigned span = want ? 1 : (unsigned)r->cfg.port_hi - r->cfg.port_lo + 1;
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), off = 0, one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	/* Without GRO (turned off, or an old kernel) every datagram arrives on its own. */
	if (r->cfg.coalesce)
		setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
	sock_buffers(fd, DIRECT_SOCKBUF);
	for (unsigned i = 0; i < span; i++) {
		uint16_t port =
		    want ? want : (uint16_t)(r->cfg.port_lo + (r->next_port + i) % span);
		struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(port)};

		if (table_get(&r->ports, port))
			continue;
		if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			continue;
		s->fd = fd;
		s->port = port;
		if (direct_watch(r, s) < 0)
			break;
		if (!want)
			r->next_port = (uint16_t)((r->next_port + i + 1) % span);
		table_put(&r->ports, port, s);
		return 0;
	}
	s->fd = -1;
	close(fd);
	if (want)
		log_warnx("direct: port %u is no longer free", want);
	else
		log_warnx("direct: no free port in %u-%u", r->cfg.port_lo, r->cfg.port_hi);
	return -EADDRINUSE;
}

int direct_open_port(struct relay *r, struct session *s, uint16_t want)
{
	return r->ps ? direct_open_shared(r, s, want) : direct_open_each(r, s, want);
}

void direct_release(struct relay *r, struct session *s)
{
	struct worker *w = s->worker;
	int fd = s->fd;

	if (r->ps) {
		/* Shared sockets: readers use s only under the relay lock, so it goes now. */
		fastpath_remove(r, s);
		if (fd >= 0) {
			portshare_del(r, s->port);
			table_del(&r->ports, s->port);
		}
		sodium_memzero(s, sizeof(*s));
		free(s);
		return;
	}
	/* Out of the kernel's map before the port can serve another session. */
	fastpath_remove(r, s);
	if (fd >= 0)
		table_del(&r->ports, s->port);
	if (w && fd >= 0) {
		/*
		 * The worker may be about to read this socket: s->relay and s->worker, which it
		 * reads before taking the lock, stay as they are; it frees s afterwards.
		 */
		w->nsessions--;
		sodium_memzero(s->sid, sizeof(s->sid));
		sodium_memzero(s->m, sizeof(s->m));
		s->dead = true;
		worker_retire(w, s, fd);
		return;
	}
	sodium_memzero(s, sizeof(*s));
	if (fd >= 0) {
		ev_del_io(r->loop, fd);
		close(fd);
	}
	free(s);
}

/*
 * The member this datagram comes from: same public IP as its link; the port decides between
 * members behind one address (an address the relay knows for one of them), and an unknown
 * port belongs to a member not yet seen there.
 */
static int direct_member(const struct session *s, const struct addr *src)
{
	int found = -1, fresh = -1;

	for (int i = 0; i < s->n; i++) {
		const struct member *m = &s->m[i];

		if (!addr_equal_ip(&m->link_ip, src))
			continue;
		if ((m->has_conf && addr_equal(&m->conf, src)) ||
		    (m->has_cand && addr_equal(&m->cand, src)) ||
		    (m->has_resp_dst && addr_equal(&m->resp_dst, src)))
			return i;
		if (fresh < 0 && !m->has_cand && !m->has_conf)
			fresh = i;
		if (found < 0)
			found = i;
	}
	return fresh >= 0 ? fresh : found;
}

/*
 * Tell the other member that this one's WireGuard traffic reached the session. Until that
 * member is there with a link, the next datagram tries again: a notice is never lost.
 */
static void direct_announce(struct relay *r, struct session *s, int from)
{
	struct member *y = &s->m[1 - from];
	struct ctrl_msg m = {.type = CTRL_PEER_ACTIVE};

	if (s->n < 2 || !y->link)
		return;
	s->m[from].announced = true;
	memcpy(m.sid, s->sid, 16);
	m.handle = y->handle;
	control_send_ctrl(r, y->link, &m);
}

/*
 * May member x's proven address become src? Always the first time; later only once its
 * proven address has been silent for RELAY_MEMBER_ACTIVE_MS (a member that is talking is
 * where it is: nobody takes its session over meanwhile). Its datagrams the XDP path forwarded
 * since the last read back count too: they are read now, before the answer.
 */
static bool direct_may_prove(struct relay *r, struct session *s, const struct member *x,
                             const struct addr *src, uint64_t now)
{
	if (!x->has_conf || addr_equal(&x->conf, src))
		return true;
	/* conf_rx_ms may come from the control thread's read back, stamped by its clock. */
	if (ev_since(now, x->conf_rx_ms) >= RELAY_MEMBER_ACTIVE_MS)
		fastpath_refresh(r, s, now);
	return ev_since(now, x->conf_rx_ms) >= RELAY_MEMBER_ACTIVE_MS;
}

/* x's proven address is src from now on: the XDP path forwards to and from it (fastpath.c). */
static void direct_prove(struct relay *r, struct session *s, struct member *x,
                         const struct addr *src, uint64_t now)
{
	x->conf = *src;
	x->has_conf = true;
	x->conf_rx_ms = now;
	fastpath_update(r, s, now);
}

/*
 * Decide where one datagram goes (PROTOCOL.md §5.5). An address is proven only by receiving:
 * a responder's by answering an initiation the relay delivered to it (the response must come
 * from that address and name the initiation's random sender index), an initiator's by sending
 * transport data from the address the response went to, naming the response's random sender
 * index. Returns the destination or NULL (and counts the drop).
 */
static const struct addr *direct_route(struct relay *r, struct session *s, const uint8_t *p,
                                       size_t len, const struct addr *src, uint64_t now)
{
	uint32_t sender, receiver;
	struct member *x, *y;
	int t = wgcheck(p, len, &sender, &receiver), i;

	if (t < 0) {
		r->st.drops[DROP_MALFORMED]++;
		return NULL;
	}
	if (len > r->cfg.limits.max_packet) {
		r->st.drops[DROP_OVERSIZE]++;
		return NULL;
	}
	i = direct_member(s, src);
	if (i < 0) {
		r->st.drops[DROP_UNKNOWN_SOURCE]++;
		return NULL;
	}
	x = &s->m[i];
	s->last_rx_ms = now;
	if (x->has_conf && addr_equal(&x->conf, src))
		x->conf_rx_ms = now;
	if (!x->announced)
		direct_announce(r, s, i);
	if (t == WG_MSG_INIT) {
		x->cand = *src;
		x->has_cand = true;
		x->wg_sender = sender;
	}
	if (s->n < 2) {
		r->st.drops[DROP_NO_PEER]++;
		return NULL;
	}
	y = &s->m[1 - i];
	switch (t) {
	case WG_MSG_INIT: {
		/* To y's proven address; before it has one, to where y last initiated from. */
		const struct addr *dst = y->has_conf ? &y->conf : y->has_cand ? &y->cand : NULL;

		if (!dst) {
			r->st.drops[DROP_NO_PEER]++;
			return NULL;
		}
		y->init_dst = *dst;
		y->has_init_dst = true;
		return dst;
	}
	case WG_MSG_RESP:
	case WG_MSG_COOKIE:
		/* Only the address the initiation went to can answer it. */
		if (!y->has_cand || receiver != y->wg_sender || !x->has_init_dst ||
		    !addr_equal(&x->init_dst, src)) {
			r->st.drops[DROP_UNCONFIRMED]++;
			return NULL;
		}
		if (t == WG_MSG_COOKIE)
			return &y->cand;
		if (!direct_may_prove(r, s, x, src, now)) {
			r->st.drops[DROP_UNPROVEN]++;
			return NULL;
		}
		direct_prove(r, s, x, src, now);
		y->resp_dst = y->cand;
		y->has_resp_dst = true;
		y->resp_index = sender;
		return &y->cand;
	case WG_MSG_DATA:
		if (x->has_conf && addr_equal(&x->conf, src))
			break;
		if (!x->has_resp_dst || !addr_equal(&x->resp_dst, src) ||
		    receiver != x->resp_index) {
			r->st.drops[DROP_UNCONFIRMED]++;
			return NULL;
		}
		if (!direct_may_prove(r, s, x, src, now)) {
			r->st.drops[DROP_UNPROVEN]++;
			return NULL;
		}
		direct_prove(r, s, x, src, now);
		x->has_resp_dst = false;
		break;
	}
	if (y->has_conf)
		return &y->conf;
	r->st.drops[DROP_NO_PEER]++;
	return NULL;
}

/* A run of segments (all seg bytes but the last) at p, for dst, becomes send number ntx. */
static void direct_queue(struct direct_io *io, int ntx, uint8_t *p, size_t len, unsigned count,
                         uint16_t seg, const struct addr *dst)
{
	struct addr out;
	struct msghdr *h = &io->tx[ntx].msg_hdr;

	addr_to_v6mapped(&out, dst);
	memcpy(&io->dst[ntx], &out.in6, sizeof(out.in6));
	io->txiov[ntx] = (struct iovec){p, len};
	io->txseg[ntx] = count > 1 ? seg : 0;
	io->txcount[ntx] = count;
	*h = (struct msghdr){.msg_name = &io->dst[ntx],
	                     .msg_namelen = sizeof(io->dst[ntx]),
	                     .msg_iov = &io->txiov[ntx],
	                     .msg_iovlen = 1};
	if (count > 1) {
		struct cmsghdr *c;

		h->msg_control = io->txcm[ntx].b;
		h->msg_controllen = sizeof(io->txcm[ntx].b);
		c = CMSG_FIRSTHDR(h);
		c->cmsg_level = SOL_UDP;
		c->cmsg_type = UDP_SEGMENT;
		c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
		memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	}
}

/*
 * Route the segments of one received buffer (seg bytes each, the last may be shorter), pack
 * the ones that pass to the front of buf, and queue them as runs per destination. Returns the
 * new number of queued sends; *over is set when the circuit's byte limit is crossed.
 */
static int direct_segments(struct relay *r, struct session *s, struct direct_io *io, uint8_t *buf,
                           size_t len, size_t seg, const struct addr *src, uint64_t now, int ntx,
                           bool *over)
{
	const struct limits *lim = &r->cfg.limits;
	unsigned run_max = io->gso_off ? 1 : DIRECT_GSO_MAX, run_n = 0;
	size_t out = 0, run_at = 0;
	struct addr run_dst;

	for (size_t off = 0; off < len; off += seg) {
		size_t l = len - off < seg ? len - off : seg;
		const struct addr *dst = direct_route(r, s, buf + off, l, src, now);

		if (!dst)
			continue;
		if (policy_forbids(&r->cfg.policy, dst)) {
			r->st.drops[DROP_POLICY]++;
			continue;
		}
		if (s->limited && lim->circuit_kbps && !tbucket_take(&s->bandwidth, l, now)) {
			r->st.drops[DROP_BANDWIDTH]++;
			continue;
		}
		if (run_n && (run_n == run_max || !addr_equal(dst, &run_dst))) {
			direct_queue(io, ntx++, buf + run_at, out - run_at, run_n, (uint16_t)seg,
			             &run_dst);
			run_n = 0;
		}
		if (!run_n) {
			if (ntx == DIRECT_TXMAX) {
				r->st.drops[DROP_SEND]++;
				continue;
			}
			run_at = out;
			run_dst = *dst;
		}
		if (out != off)
			memmove(buf + out, buf + off, l);
		out += l;
		run_n++;
		s->bytes += l;
		if (s->limited && lim->circuit_bytes && s->bytes > lim->circuit_bytes)
			*over = true;
		r->st.pkts[0]++;
		r->st.bytes[0] += l;
	}
	if (run_n)
		direct_queue(io, ntx++, buf + run_at, out - run_at, run_n, (uint16_t)seg, &run_dst);
	return ntx;
}

/* The GRO segment size of a received buffer, or 0 when it holds one datagram. */
static size_t direct_gro_size(struct msghdr *h)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c))
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int v;

			memcpy(&v, CMSG_DATA(c), sizeof(v));
			return v > 0 ? (size_t)v : 0;
		}
	return 0;
}

/* Send the queued runs; returns the number of datagrams the kernel refused, *bytes theirs. */
static uint64_t direct_send(struct direct_io *io, int fd, int ntx, uint64_t *bytes)
{
	uint64_t failed = 0;

	*bytes = 0;
	for (int done = 0; done < ntx;) {
		int sent = sendmmsg(fd, io->tx + done, (unsigned)(ntx - done), MSG_DONTWAIT);

		if (sent > 0) {
			done += sent;
			continue;
		}
		if (io->txseg[done] && (errno == EIO || errno == EINVAL || errno == ENOPROTOOPT)) {
			/* No segmentation offload on this path: send this run one by one. */
			uint8_t *p = io->txiov[done].iov_base;
			size_t left = io->txiov[done].iov_len, seg = io->txseg[done];

			if (!io->gso_off)
				log_warnx("direct: UDP_SEGMENT refused (%s), sending one datagram "
				          "a call",
				          strerror(errno));
			io->gso_off = true;
			for (; left; p += seg, left -= left < seg ? left : seg)
				if (sendto(fd, p, left < seg ? left : seg, MSG_DONTWAIT,
				           (struct sockaddr *)&io->dst[done],
				           sizeof(io->dst[done])) < 0) {
					failed++;
					*bytes += left < seg ? left : seg;
				}
			done++;
			continue;
		}
		for (; done < ntx; done++) {
			failed += io->txcount[done];
			*bytes += io->txiov[done].iov_len;
		}
	}
	return failed;
}

/*
 * The kernel's drops on session socket fd since its counter was last read
 * (RELAY_DROPS_READ_MS): full, the batch just read filled io->rx. Only the thread reading fd
 * touches s->drops and s->drops_ms, so no lock is held across the system call.
 */
static uint32_t direct_kernel_drops(struct session *s, int fd, bool full, uint64_t now)
{
	uint32_t seen = s->drops;

	if (!full && now - s->drops_ms < RELAY_DROPS_READ_MS)
		return 0;
	s->drops_ms = now;
	sock_drops(fd, &s->drops);
	return s->drops - seen;
}

/*
 * One batch from fd into io (recvmmsg): with room for the GRO segment size, and with shared
 * (SessionSockets = shared) also for the destination each datagram was sent to.
 */
static int direct_recv(struct direct_io *io, int fd, bool shared)
{
	for (int i = 0; i < DIRECT_BATCH; i++) {
		io->rxiov[i] = (struct iovec){io->buf[i], DIRECT_BUFLEN};
		io->rx[i].msg_hdr = (struct msghdr){
		    .msg_name = &io->src[i],
		    .msg_namelen = sizeof(io->src[i]),
		    .msg_iov = &io->rxiov[i],
		    .msg_iovlen = 1,
		    .msg_control = shared ? io->shcm[i].b : io->rxcm[i].b,
		    .msg_controllen = shared ? sizeof(io->shcm[i].b) : sizeof(io->rxcm[i].b)};
	}
	return recvmmsg(fd, io->rx, DIRECT_BATCH, MSG_DONTWAIT, NULL);
}

void direct_input(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct session *s = arg;
	struct relay *r = s->relay;
	struct direct_io *io = s->worker ? s->worker->io : r->io;
	uint64_t now = ev_now_ms(loop), failed, failed_bytes;
	uint32_t kdrops;
	int n, ntx = 0;
	bool over = false;

	(void)events;
	n = direct_recv(io, fd, false);
	if (n <= 0)
		return;
	kdrops = direct_kernel_drops(s, fd, n == DIRECT_BATCH, now);
	relay_lock(r);
	if (s->dead) {
		relay_unlock(r);
		return;
	}
	r->st.drops[DROP_SOCKET_FULL] += kdrops;
	/* Rare for an installed session (the kernel forwards its data): its bytes first. */
	fastpath_refresh(r, s, now);
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &io->rx[i].msg_hdr;
		size_t len = io->rx[i].msg_len, seg = direct_gro_size(h);
		struct addr src;

		/* Cut short, or empty: nothing WireGuard sends (the control port counts these too). */
		if ((h->msg_flags & MSG_TRUNC) || len == 0) {
			r->st.drops[DROP_MALFORMED]++;
			continue;
		}
		addr_from_sockaddr(&src, (struct sockaddr *)&io->src[i], h->msg_namelen);
		addr_unmap(&src);
		ntx = direct_segments(r, s, io, io->buf[i], len, seg && seg < len ? seg : len, &src,
		                      now, ntx, &over);
	}
	relay_unlock(r);
	failed = direct_send(io, fd, ntx, &failed_bytes);
	if (!failed && !over)
		return;
	relay_lock(r);
	r->st.drops[DROP_SEND] += failed;
	r->st.pkts[0] -= failed;
	r->st.bytes[0] -= failed_bytes;
	/* On a worker, s stays allocated until this worker retires it, after this batch. */
	if (over && !s->dead)
		session_close_limit(r, s, "byte limit");
	relay_unlock(r);
}

/*
 * SessionSockets = shared (portshare.c). The destination a datagram was sent to
 * (IP_ORIGDSTADDR, IPV6_ORIGDSTADDR: its port names the session) and its GRO segment size
 * (0: one datagram). False when the kernel gave no destination.
 */
static bool direct_shared_cmsg(struct msghdr *h, struct addr *local, size_t *seg)
{
	bool found = false;

	*seg = 0;
	for (struct cmsghdr *c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO) {
			int v;

			memcpy(&v, CMSG_DATA(c), sizeof(v));
			*seg = v > 0 ? (size_t)v : 0;
		} else if (c->cmsg_level == IPPROTO_IP && c->cmsg_type == IP_ORIGDSTADDR &&
		           c->cmsg_len >= CMSG_LEN(sizeof(struct sockaddr_in))) {
			memset(local, 0, sizeof(*local));
			memcpy(&local->in, CMSG_DATA(c), sizeof(struct sockaddr_in));
			local->len = sizeof(struct sockaddr_in);
			found = local->in.sin_family == AF_INET;
		} else if (c->cmsg_level == IPPROTO_IPV6 && c->cmsg_type == IPV6_ORIGDSTADDR &&
		           c->cmsg_len >= CMSG_LEN(sizeof(struct sockaddr_in6))) {
			memset(local, 0, sizeof(*local));
			memcpy(&local->in6, CMSG_DATA(c), sizeof(struct sockaddr_in6));
			local->len = sizeof(struct sockaddr_in6);
			found = local->in6.sin6_family == AF_INET6;
		}
	}
	return found;
}

/* The member sent to local: datagrams of s to local's family leave from there. */
static void direct_shared_local(struct session *s, const struct addr *local)
{
	if (local->sa.sa_family == AF_INET) {
		s->ps_local4 = local->in.sin_addr.s_addr;
		s->ps_has4 = true;
	} else {
		memcpy(s->ps_local6, &local->in6.sin6_addr, 16);
		s->ps_has6 = true;
	}
}

/* Where a datagram of s to dst leaves from: s's port, the local address of dst's family. */
static void direct_shared_src(const struct session *s, const struct addr *dst, struct addr *src)
{
	memset(src, 0, sizeof(*src));
	if (dst->sa.sa_family == AF_INET) {
		src->in.sin_family = AF_INET;
		src->in.sin_port = htons(s->port);
		if (s->ps_has4)
			src->in.sin_addr.s_addr = s->ps_local4;
		src->len = sizeof(src->in);
	} else {
		src->in6.sin6_family = AF_INET6;
		src->in6.sin6_port = htons(s->port);
		if (s->ps_has6)
			memcpy(&src->in6.sin6_addr, s->ps_local6, 16);
		src->len = sizeof(src->in6);
	}
}

/*
 * A batch from a shared receive socket holds datagrams of many sessions: each is looked up by
 * its destination port and routed as on a session socket, all under one hold of the lock (a
 * session found there cannot be freed meanwhile). A session that crosses its byte limit closes
 * at once; the rest of its datagrams in the batch find no session.
 */
void direct_shared_input(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct portshare_rx *x = arg;
	struct relay *r = x->r;
	struct direct_io *io = x->io;
	struct session *last = NULL;
	uint64_t now = ev_now_ms(loop);
	uint32_t kdrops = 0;
	int n, ntx = 0;

	(void)events;
	n = direct_recv(io, fd, true);
	if (n <= 0)
		return;
	if (n == DIRECT_BATCH || now - x->drops_ms >= RELAY_DROPS_READ_MS) {
		uint32_t seen = x->drops;

		x->drops_ms = now;
		sock_drops(fd, &x->drops);
		kdrops = x->drops - seen;
	}
	relay_lock(r);
	r->st.drops[DROP_SOCKET_FULL] += kdrops;
	for (int i = 0; i < n; i++) {
		struct msghdr *h = &io->rx[i].msg_hdr;
		size_t len = io->rx[i].msg_len, seg;
		struct addr src, local;
		struct session *s;
		bool over = false;
		int first = ntx;

		if ((h->msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || len == 0 ||
		    !direct_shared_cmsg(h, &local, &seg)) {
			r->st.drops[DROP_MALFORMED]++;
			continue;
		}
		s = table_get(&r->ports, addr_port(&local));
		if (!s) {
			/* Queued before its session closed (the steering stopped since). */
			x->no_session++;
			continue;
		}
		addr_from_sockaddr(&src, (struct sockaddr *)&io->src[i], h->msg_namelen);
		addr_unmap(&src);
		direct_shared_local(s, &local);
		if (s != last) {
			/* As on a session socket: what the XDP path forwarded is counted first. */
			fastpath_refresh(r, s, now);
			last = s;
		}
		ntx = direct_segments(r, s, io, io->buf[i], len, seg && seg < len ? seg : len, &src,
		                      now, ntx, &over);
		for (int k = first; k < ntx; k++) {
			addr_from_sockaddr(&io->txdst[k], (struct sockaddr *)&io->dst[k],
			                   sizeof(io->dst[k]));
			addr_unmap(&io->txdst[k]);
			direct_shared_src(s, &io->txdst[k], &io->txsrc[k]);
		}
		if (over) {
			session_close_limit(r, s, "byte limit");
			last = NULL;
		}
	}
	relay_unlock(r);
	/* Raw sockets cannot segment: every run leaves as its datagrams, one message each. */
	x->tx.failed = x->tx.failed_bytes = 0;
	for (int k = 0; k < ntx; k++) {
		uint8_t *p = io->txiov[k].iov_base;
		size_t left = io->txiov[k].iov_len, seg = io->txseg[k] ? io->txseg[k] : left;

		for (size_t l; left; p += l, left -= l) {
			l = left < seg ? left : seg;
			portshare_tx_add(&x->tx, &io->txsrc[k], &io->txdst[k], p, l);
		}
	}
	portshare_tx_flush(&x->tx);
	if (!x->tx.failed)
		return;
	relay_lock(r);
	r->st.drops[DROP_SEND] += x->tx.failed;
	r->st.pkts[0] -= x->tx.failed;
	r->st.bytes[0] -= x->tx.failed_bytes;
	relay_unlock(r);
}
