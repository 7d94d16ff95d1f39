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
	*out = sp;
	return 0;
}

void sealed_port_free(struct sealed_port *sp)
{
	if (!sp)
		return;
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

void sealed_port_readable(struct sealed_port *sp, uint8_t *buf, size_t cap, int64_t now_ms)
{
	uint8_t *dgram = buf + PROTO_SEALED_HDR_LEN;
	size_t room = cap - PROTO_SEALED_OVERHEAD;
	struct sockaddr_storage ss;
	struct addr from;

	for (int k = 0; k < SEALED_BATCH; k++) {
		socklen_t slen = sizeof(ss);
		ssize_t n = recvfrom(sp->fd, dgram, room, MSG_TRUNC, (struct sockaddr *)&ss, &slen);
		if (n < 0)
			return;
		addr_from_sockaddr(&from, (struct sockaddr *)&ss, slen);
		if (!sp->wg.len || !addr_equal(&from, &sp->wg)) {
			sp->drop_source++;
			continue;
		}
		if (n == 0 || (size_t)n > room) {
			sp->drop_size++;
			continue;
		}
		int rc = -ENOTCONN;
		bool tx = still(sp->tx_link, sp->tx_bind, sp->tx_sid);
		if (tx)
			rc = link_send_data(sp->tx_link, sp->tx_bind, buf, (size_t)n, now_ms);
		/*
		 * No route yet, or it cannot carry: answer through the binding the far side's
		 * frames come in on. A passive side's WireGuard answers the first frame at once,
		 * before the helper's next tick has chosen a route.
		 */
		if (rc == -ENOTCONN && still(sp->rx_link, sp->rx_bind, sp->rx_sid) &&
		    (!tx || sp->rx_bind != sp->tx_bind))
			rc = link_send_data(sp->rx_link, sp->rx_bind, buf, (size_t)n, now_ms);
		if (rc == 0)
			sp->from_wg++;
		else if (rc == -ENOTCONN)
			sp->drop_route++;
		else if (rc == -EMSGSIZE)
			sp->drop_size++;
		else
			sp->drop_send++;
	}
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
	if (!sp->wg.len) {
		sp->drop_route++;
		return;
	}
	if (sendto(sp->fd, dgram, len, 0, &sp->wg.sa, sp->wg.len) < 0) {
		sp->drop_send++;
		return;
	}
	sp->to_wg++;
}

bool sealed_port_rx_moved(const struct sealed_port *sp, uint64_t min_streak)
{
	if (!still(sp->rx_link, sp->rx_bind, sp->rx_sid))
		return false;
	if (sp->rx_link == sp->tx_link && sp->rx_bind == sp->tx_bind)
		return false;
	return sp->rx_streak >= min_streak && sp->rx_streak_start >= sp->route_seq;
}
