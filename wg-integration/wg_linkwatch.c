/*
 * wg_linkwatch.c: rtnetlink RTMGRP_LINK on the event loop, reporting WireGuard links as they
 * appear, change (up/down, MTU) and vanish. NETLINK_NO_ENOBUFS: a burst that overflows the
 * socket loses events rather than failing the socket; the helper re-reads devices anyway.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <libmnl/libmnl.h>
#include <linux/rtnetlink.h>

#include "wg.h"
#include "wg_nl.h"
#include "wg_rtnl.h"

#define MAX_KNOWN 4096

struct known {
	uint32_t ifindex;
	char name[WG_NAME_MAX];
};

struct wg_linkwatch {
	struct mnl_socket *nl;
	wg_linkwatch_cb cb;
	void *arg;
	struct known *known; /* WireGuard links seen so far */
	size_t n_known, cap_known;
	uint8_t buf[WG_NL_BUFSIZE];
};

static void known_add(struct wg_linkwatch *w, const struct wg_rtnl_link *l);

static int seed(const struct wg_rtnl_link *l, void *arg)
{
	known_add(arg, l);
	return 0;
}

int wg_linkwatch_new(struct wg_linkwatch **out, wg_linkwatch_cb cb, void *arg)
{
	struct wg_linkwatch *w = calloc(1, sizeof(*w));
	int one = 1, r;

	*out = NULL;
	if (!w)
		return -ENOMEM;
	w->cb = cb;
	w->arg = arg;
	w->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (!w->nl) {
		r = -errno;
		goto fail;
	}
	if (mnl_socket_setsockopt(w->nl, NETLINK_NO_ENOBUFS, &one, sizeof(one)) < 0 ||
	    mnl_socket_bind(w->nl, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0) {
		r = -errno;
		goto fail;
	}
	/*
	 * Links that exist already are known from the start (not reported), so that their
	 * changes and removal are, even when a userspace device's socket is gone by then.
	 */
	r = wg_rtnl_dump_links(seed, w);
	if (r < 0)
		goto fail;
	*out = w;
	return 0;
fail:
	wg_linkwatch_free(w);
	return r;
}

int wg_linkwatch_fd(const struct wg_linkwatch *w)
{
	return mnl_socket_get_fd(w->nl);
}

void wg_linkwatch_free(struct wg_linkwatch *w)
{
	if (!w)
		return;
	if (w->nl)
		mnl_socket_close(w->nl);
	free(w->known);
	free(w);
}

static ssize_t known_find(const struct wg_linkwatch *w, uint32_t ifindex)
{
	size_t i;

	for (i = 0; i < w->n_known; i++)
		if (w->known[i].ifindex == ifindex)
			return (ssize_t)i;
	return -1;
}

static void known_add(struct wg_linkwatch *w, const struct wg_rtnl_link *l)
{
	if (w->n_known == w->cap_known) {
		size_t cap = w->cap_known ? w->cap_known * 2 : 16;
		struct known *k;

		if (cap > MAX_KNOWN)
			return;
		k = realloc(w->known, cap * sizeof(*k));
		if (!k)
			return;
		w->known = k;
		w->cap_known = cap;
	}
	w->known[w->n_known].ifindex = l->ifindex;
	memcpy(w->known[w->n_known].name, l->name, sizeof(l->name));
	w->n_known++;
}

static void handle(struct wg_linkwatch *w, const struct nlmsghdr *nlh)
{
	struct wg_rtnl_link l;
	struct wg_link_info info;
	ssize_t k;

	if (wg_rtnl_parse_link(nlh, &l) < 0) {
		/* A removal needs only the index; report a known link even if the rest is odd. */
		const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);

		if (nlh->nlmsg_type != RTM_DELLINK || mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
			return;
		memset(&l, 0, sizeof(l));
		l.ifindex = (uint32_t)ifi->ifi_index;
	}
	k = known_find(w, l.ifindex);
	if (k >= 0 && !l.name[0])
		memcpy(l.name, w->known[k].name, sizeof(l.name));
	info.name = l.name;
	info.ifindex = l.ifindex;
	info.up = l.up;
	info.mtu = l.mtu;
	if (nlh->nlmsg_type == RTM_DELLINK) {
		/* A vanished userspace link may have lost its socket first: trust what we saw. */
		if (k < 0 && !l.is_wireguard)
			return;
		if (k >= 0)
			w->known[k] = w->known[--w->n_known];
		w->cb(WG_LINK_REMOVED, &info, w->arg);
		return;
	}
	if (k >= 0) {
		memcpy(w->known[k].name, l.name, sizeof(l.name)); /* renames */
		w->cb(WG_LINK_CHANGED, &info, w->arg);
	} else if (l.is_wireguard) {
		known_add(w, &l);
		w->cb(WG_LINK_ADDED, &info, w->arg);
	}
}

int wg_linkwatch_process(struct wg_linkwatch *w)
{
	int budget = 64; /* bounded, so one busy socket cannot starve the loop */

	while (budget-- > 0) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(mnl_socket_get_fd(w->nl), w->buf, sizeof(w->buf), MSG_TRUNC,
		                     (struct sockaddr *)&from, &fromlen);
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)w->buf;
		int left;

		if (n < 0)
			return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? 0
			                                                                 : -errno;
		/*
		 * Only the kernel (sender port 0) may speak on this group; a message's own
		 * nlmsg_pid names whoever asked for the change, so it is no test.
		 */
		if (fromlen != sizeof(from) || from.nl_pid != 0 || (size_t)n > sizeof(w->buf))
			continue;
		left = (int)n;
		for (; wg_nl_msg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left))
			handle(w, nlh);
	}
	return 0;
}
