/* sealed.c: the local sockets of sealed mode, between WireGuard and the relay links. */
#include "sealed.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto.h"
#include "sock.h"

/* Room for bursts: WireGuard hands over a whole window of full-size datagrams at once. */
#define SEALED_SOCKBUF (2 << 20)

/*
 * Ports with datagrams queued for WireGuard. The helper is one thread and every link batch
 * ends in sealed_flush, so the list is empty whenever a handler returns; a link batch may
 * reach several ports, hence a list rather than one port.
 */
static struct sealed_port *sealed_pending;
/* The last port's serial (sealed_port.serial). */
static uint64_t sealed_serial;

int sealed_port_new(struct sealed_port **out)
{
	struct sealed_port *sp = calloc(1, sizeof(*sp));
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int sz = SEALED_SOCKBUF, e;

	if (!sp)
		return -ENOMEM;
	sp->fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (sp->fd < 0) {
		e = -errno;
		free(sp);
		return e;
	}
	sock_buffers(sp->fd, sz);
	addr_parse(&sp->local, "127.0.0.1", 1);
	addr_set_port(&sp->local, 0);
	if (bind(sp->fd, &sp->local.sa, sp->local.len) < 0 ||
	    getsockname(sp->fd, (struct sockaddr *)&ss, &len) < 0) {
		e = -errno;
		close(sp->fd);
		free(sp);
		return e;
	}
	addr_from_sockaddr(&sp->local, (struct sockaddr *)&ss, len);
	sp->serial = ++sealed_serial;
	*out = sp;
	return 0;
}

void sealed_port_free(struct sealed_port *sp)
{
	if (!sp)
		return;
	for (struct sealed_port **p = &sealed_pending; *p; p = &(*p)->out_next)
		if (*p == sp) {
			*p = sp->out_next;
			break;
		}
	close(sp->fd);
	free(sp);
}

void sealed_port_set_wg(struct sealed_port *sp, uint16_t listen_port)
{
	if (!listen_port) {
		sp->wg.len = 0;
		return;
	}
	sp->wg = sp->local;
	addr_set_port(&sp->wg, listen_port);
}

void sealed_port_route(struct sealed_port *sp, struct link *l, struct link_bind *b)
{
	if (!l || !b) {
		l = NULL;
		b = NULL;
	}
	if (sp->tx_link == l && sp->tx_bind == b && (!b || memcmp(sp->tx_sid, b->sid, 16) == 0))
		return;
	sp->tx_link = l;
	sp->tx_bind = b;
	if (b)
		memcpy(sp->tx_sid, b->sid, 16);
	sp->route_seq = sp->rx_streak_start + sp->rx_streak;
}

/* A binding pointer is only a hint: the slot may have been freed or reused since. */
static bool still(const struct link *l, const struct link_bind *b, const uint8_t sid[16])
{
	return l && b && b->in_use && memcmp(b->sid, sid, 16) == 0;
}

/*
 * One datagram from WireGuard (its frame at frame, the datagram n bytes after the header) sealed
 * on the route, else on the binding the last frame came in on, and counted. Queued when the
 * link's batch is open: failures of the flush are counted by the caller.
 */
static void port_carry(struct sealed_port *sp, uint8_t *frame, size_t n, int64_t now_ms)
{
	int rc = -ENOTCONN;
	bool tx = !sp->divert && still(sp->tx_link, sp->tx_bind, sp->tx_sid);

	if (sp->divert)
		rc = sp->divert(sp->divert_arg, frame + PROTO_SEALED_HDR_LEN, n, now_ms);
	else if (tx)
		rc = link_send_data(sp->tx_link, sp->tx_bind, frame, n, now_ms);
	/*
	 * No route yet, or it cannot carry: answer through the binding the far side's frames come
	 * in on. A passive side's WireGuard answers the first frame at once, before the helper's
	 * next tick has chosen a route.
	 */
	if (rc == -ENOTCONN && !sp->divert && still(sp->rx_link, sp->rx_bind, sp->rx_sid) &&
	    (!tx || sp->rx_bind != sp->tx_bind))
		rc = link_send_data(sp->rx_link, sp->rx_bind, frame, n, now_ms);
	if (rc == 0)
		sp->from_wg++;
	else if (rc == -ENOTCONN)
		sp->drop_route++;
	else if (rc == -EMSGSIZE)
		sp->drop_size++;
	else
		sp->drop_send++;
}

void sealed_port_readable(struct sealed_port *sp, uint8_t *buf, size_t cap, int64_t now_ms)
{
	struct mmsghdr mh[SEALED_BATCH];
	struct iovec iov[SEALED_BATCH];
	struct sockaddr_in from[SEALED_BATCH];
	size_t stride = cap < PROTO_MAX_FRAME ? cap : PROTO_MAX_FRAME;
	unsigned nb = 0;
	struct addr a;

	if (stride <= PROTO_SEALED_OVERHEAD)
		return;
	for (; nb < SEALED_BATCH && (nb + 1) * stride <= cap; nb++) {
		iov[nb].iov_base = buf + nb * stride + PROTO_SEALED_HDR_LEN;
		iov[nb].iov_len = stride - PROTO_SEALED_OVERHEAD;
		mh[nb].msg_hdr = (struct msghdr){.msg_name = &from[nb],
		                                 .msg_namelen = sizeof(from[nb]),
		                                 .msg_iov = &iov[nb],
		                                 .msg_iovlen = 1};
	}
	int got = recvmmsg(sp->fd, mh, nb, MSG_DONTWAIT, NULL);
	if (got <= 0)
		return;
	/* The frames queue on the links (at most the two below) and leave in one call each. */
	struct link *txl =
	    !sp->divert && still(sp->tx_link, sp->tx_bind, sp->tx_sid) ? sp->tx_link : NULL;
	struct link *rxl =
	    !sp->divert && still(sp->rx_link, sp->rx_bind, sp->rx_sid) ? sp->rx_link : NULL;
	if (txl)
		link_tx_begin(txl);
	if (rxl)
		link_tx_begin(rxl);
	for (int k = 0; k < got; k++) {
		const struct msghdr *h = &mh[k].msg_hdr;
		addr_from_sockaddr(&a, (const struct sockaddr *)&from[k], h->msg_namelen);
		if (!sp->wg.len || !addr_equal(&a, &sp->wg)) {
			sp->drop_source++;
			continue;
		}
		if (mh[k].msg_len == 0 || (h->msg_flags & MSG_TRUNC)) {
			sp->drop_size++;
			continue;
		}
		port_carry(sp, buf + (size_t)k * stride, mh[k].msg_len, now_ms);
	}
	size_t failed = txl ? link_tx_flush(txl) : 0;
	if (rxl && rxl != txl)
		failed += link_tx_flush(rxl);
	/* Counted as carried when queued: what the flush could not send was not. */
	sp->from_wg -= failed;
	sp->drop_send += failed;
}

void sealed_port_divert(struct sealed_port *sp, sealed_divert_fn fn, void *arg)
{
	sp->divert = fn;
	sp->divert_arg = arg;
}

/*
 * The port's queue to WireGuard in as few sendmmsg calls as the socket allows: a datagram it
 * refuses is counted and skipped, a full buffer fails the rest (each would be refused too).
 */
static void port_flush(struct sealed_port *sp)
{
	struct mmsghdr mh[SEALED_BATCH];
	unsigned i = 0;

	for (unsigned k = 0; k < sp->n_out; k++)
		mh[k].msg_hdr = (struct msghdr){.msg_name = &sp->wg.sa,
		                                .msg_namelen = sp->wg.len,
		                                .msg_iov = &sp->out[k],
		                                .msg_iovlen = 1};
	while (i < sp->n_out) {
		int r = sendmmsg(sp->fd, mh + i, sp->n_out - i, 0);
		if (r > 0) {
			sp->to_wg += (unsigned)r;
			i += (unsigned)r;
			continue;
		}
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			sp->drop_send += sp->n_out - i;
			break;
		}
		sp->drop_send++;
		i++;
	}
	sp->n_out = 0;
}

void sealed_deliver(struct link *l, struct link_bind *b, const uint8_t *dgram, size_t len,
                    int64_t now_ms)
{
	struct sealed_port *sp = b->user;

	(void)now_ms;
	if (sp->rx_link != l || sp->rx_bind != b || memcmp(sp->rx_sid, b->sid, 16) != 0) {
		sp->rx_link = l;
		sp->rx_bind = b;
		memcpy(sp->rx_sid, b->sid, 16);
		sp->rx_streak_start += sp->rx_streak;
		sp->rx_streak = 0;
	}
	sp->rx_streak++;
	sealed_port_queue(sp, dgram, len);
}

void sealed_port_queue(struct sealed_port *sp, const uint8_t *dgram, size_t len)
{
	if (!sp->wg.len) {
		sp->drop_route++;
		return;
	}
	if (sp->n_out == SEALED_BATCH)
		port_flush(sp);
	sp->out[sp->n_out].iov_base = (void *)(uintptr_t)dgram; /* only read: sendmmsg's iovec */
	sp->out[sp->n_out++].iov_len = len;
	if (!sp->out_listed) {
		sp->out_listed = true;
		sp->out_next = sealed_pending;
		sealed_pending = sp;
	}
}

void sealed_flush(struct link *l, int64_t now_ms)
{
	(void)l;
	(void)now_ms;
	while (sealed_pending) {
		struct sealed_port *sp = sealed_pending;
		sealed_pending = sp->out_next;
		sp->out_next = NULL;
		sp->out_listed = false;
		port_flush(sp);
	}
}

bool sealed_port_rx_moved(const struct sealed_port *sp, uint64_t min_streak)
{
	if (!still(sp->rx_link, sp->rx_bind, sp->rx_sid))
		return false;
	if (sp->rx_link == sp->tx_link && sp->rx_bind == sp->tx_bind)
		return false;
	return sp->rx_streak >= min_streak && sp->rx_streak_start >= sp->route_seq;
}
