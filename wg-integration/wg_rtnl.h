/* wg_rtnl.h: rtnetlink link messages, shared by the lister and the link watcher. */
#ifndef WGR_WG_RTNL_H
#define WGR_WG_RTNL_H

#include <stdbool.h>
#include <stdint.h>

#include <linux/netlink.h>

#include "wg.h"

struct wg_rtnl_link {
	char name[WG_NAME_MAX];
	uint32_t ifindex;
	bool up;
	unsigned mtu;
	bool is_wireguard; /* kind "wireguard", or a UAPI socket of this name exists */
};

/* Parse an RTM_NEWLINK/RTM_DELLINK message (length already checked); 0 or -EBADMSG/-EINVAL. */
int wg_rtnl_parse_link(const struct nlmsghdr *nlh, struct wg_rtnl_link *out);
typedef int (*wg_rtnl_link_fn)(const struct wg_rtnl_link *link, void *arg);
/* Dump this namespace's links and call fn for each WireGuard one; fn's -errno stops it. */
int wg_rtnl_dump_links(wg_rtnl_link_fn fn, void *arg);
/* Whether WG_UAPI_DIR/name.sock is a socket. */
bool wg_rtnl_uapi_exists(const char *name);

#endif
