/*
 * wg_nlio.c: the kernel backend's socket side: resolve the "wireguard" genl family, run the
 * GET dump (retried a few times when the kernel marks it interrupted), the update-only SET and
 * the remove-and-add of one peer.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <sodium.h>

#include "wg_nl.h"

#define DUMP_RETRIES 5

struct nlconn {
	struct mnl_socket *nl;
	uint32_t portid, seq;
	uint16_t family;
	uint8_t *buf;
};

static void conn_close(struct nlconn *c)
{
	if (c->nl)
		mnl_socket_close(c->nl);
	/* Dumps carry the private key, and an error ACK echoes a request with its preshared key. */
	if (c->buf)
		sodium_memzero(c->buf, WG_NL_BUFSIZE);
	free(c->buf);
	memset(c, 0, sizeof(*c));
}

/* Receive one datagram; a stuck kernel cannot hang the caller past the socket timeout. */
static ssize_t conn_recv(struct nlconn *c)
{
	ssize_t n = mnl_socket_recvfrom(c->nl, c->buf, WG_NL_BUFSIZE);

	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? -ETIMEDOUT : -errno;
	return n;
}

static int conn_send(struct nlconn *c, size_t len)
{
	if (mnl_socket_sendto(c->nl, c->buf, len) < 0)
		return -errno;
	return 0;
}

/*
 * Send the request msg (c->buf or another buffer) and wait for its ACK. Each send takes a
 * fresh seq, so the late ACK of a try that timed out is not taken for the next one's.
 */
static int conn_transact(struct nlconn *c, void *msg, size_t len)
{
	struct nlmsghdr *nlh = msg;
	ssize_t n;
	int r;

	nlh->nlmsg_seq = ++c->seq;
	if (mnl_socket_sendto(c->nl, msg, len) < 0)
		return -errno;
	do {
		n = conn_recv(c);
		if (n < 0)
			return (int)n;
		r = wg_nl_parse_ack(c->buf, (size_t)n, c->seq, c->portid);
	} while (r == 1);
	return r;
}

static int conn_open(struct nlconn *c)
{
	struct timeval tv = {.tv_sec = 5};
	ssize_t n;
	int r;

	memset(c, 0, sizeof(*c));
	c->buf = malloc(WG_NL_BUFSIZE);
	c->nl = mnl_socket_open(NETLINK_GENERIC);
	if (!c->buf || !c->nl) {
		r = c->buf ? -errno : -ENOMEM;
		goto fail;
	}
	if (mnl_socket_bind(c->nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto fail;
	}
	setsockopt(mnl_socket_get_fd(c->nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	c->portid = mnl_socket_get_portid(c->nl);
	c->seq = (uint32_t)time(NULL);

	r = conn_send(c, wg_nl_put_getfamily(c->buf, ++c->seq, WG_GENL_NAME));
	for (int more = r == 0; more;) {
		n = conn_recv(c);
		if (n < 0) {
			r = (int)n;
			break;
		}
		r = wg_nl_parse_family(c->buf, (size_t)n, c->seq, c->portid, &c->family);
		more = r == 1;
	}
	if (r == 0 && c->family)
		return 0;
	if (r == -ENOENT)
		r = -EPROTONOSUPPORT; /* this kernel has no WireGuard */
fail:
	conn_close(c);
	return r < 0 ? r : -EPROTO;
}

static int get_once(struct nlconn *c, const char *name, struct wg_device **out)
{
	struct wg_nl_get g;
	ssize_t n;
	int r;

	r = conn_send(c, wg_nl_put_get(c->buf, c->family, ++c->seq, name));
	if (r < 0)
		return r;
	r = wg_nl_get_begin(&g, c->family, c->seq, c->portid);
	while (r == 0 || r == 1) {
		n = conn_recv(c);
		if (n < 0) {
			r = (int)n;
			break;
		}
		r = wg_nl_get_feed(&g, c->buf, (size_t)n);
		if (r == 0) {
			*out = g.dev;
			g.dev = NULL;
			break;
		}
	}
	wg_nl_get_end(&g);
	return r;
}

int wg_nl_get_device(const char *name, struct wg_device **out)
{
	struct nlconn c;
	int r, i;

	*out = NULL;
	for (i = 0; i < DUMP_RETRIES; i++) {
		/* A fresh socket per try, so nothing of an interrupted dump is left to read. */
		r = conn_open(&c);
		if (r < 0)
			return r;
		r = get_once(&c, name, out);
		conn_close(&c);
		if (r != -EINTR)
			return r;
	}
	return -EAGAIN;
}

int wg_nl_set_peer(const char *name, const uint8_t pub[WG_KEY_LEN_BYTES],
                   const struct wg_peer_set *set)
{
	struct nlconn c;
	int r;

	r = conn_open(&c);
	if (r < 0)
		return r;
	/* conn_transact stamps the seq. */
	r = conn_transact(&c, c.buf, wg_nl_put_set_peer(c.buf, c.family, 0, name, pub, set));
	conn_close(&c);
	return r;
}

/*
 * Remove, then add from the message built beforehand, so a peer that cannot be added is never
 * removed. The add goes out whatever the remove's outcome: a remove whose ACK was lost may have
 * happened, and on a peer still there the add only sets what it already has. It is retried
 * once, since until it succeeds the peer is gone.
 */
static int readd(struct nlconn *c, const char *name, const struct wg_peer *p, uint8_t *add)
{
	int len = wg_nl_put_add_peer(add, WG_NL_BUFSIZE, c->family, 0, name, p);
	int rm, r;

	if (len < 0)
		return len;
	rm = conn_transact(c, c->buf,
	                   wg_nl_put_remove_peer(c->buf, c->family, 0, name, p->public_key));
	r = conn_transact(c, add, (size_t)len);
	if (r < 0)
		r = conn_transact(c, add, (size_t)len);
	return rm < 0 ? rm : r;
}

int wg_nl_readd_peer(const char *name, const struct wg_peer *p)
{
	uint8_t *add = malloc(WG_NL_BUFSIZE);
	struct nlconn c;
	int r;

	if (!add)
		return -ENOMEM;
	r = conn_open(&c);
	if (r == 0) {
		r = readd(&c, name, p, add);
		conn_close(&c);
	}
	sodium_memzero(add, WG_NL_BUFSIZE); /* the preshared key */
	free(add);
	return r;
}
