/*
 * wg_rtnl.c: rtnetlink side: list WireGuard links (kind "wireguard" plus UAPI sockets), set
 * the MTU, and watch links appear, change and vanish from the event loop.
 */
#include <dirent.h>
#include <errno.h>
#include <net/if.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include "wg.h"
#include "wg_nl.h"
#include "wg_rtnl.h"

struct link_attrs {
	const char *name;
	const char *kind;
	unsigned mtu;
};

static int linkinfo_cb(const struct nlattr *attr, void *data)
{
	struct link_attrs *la = data;

	if (mnl_attr_get_type(attr) == IFLA_INFO_KIND) {
		if (mnl_attr_validate(attr, MNL_TYPE_STRING) < 0)
			return MNL_CB_ERROR;
		la->kind = mnl_attr_get_str(attr);
	}
	return MNL_CB_OK;
}

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct link_attrs *la = data;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_IFNAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0 ||
		    mnl_attr_get_payload_len(attr) > WG_NAME_MAX)
			return MNL_CB_ERROR;
		la->name = mnl_attr_get_str(attr);
		break;
	case IFLA_MTU:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		la->mtu = mnl_attr_get_u32(attr);
		break;
	case IFLA_LINKINFO:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
			return MNL_CB_ERROR;
		if (wg_nl_attrs_parse(mnl_attr_get_payload(attr), mnl_attr_get_payload_len(attr),
		                      linkinfo_cb, la) < 0)
			return MNL_CB_ERROR;
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

bool wg_rtnl_uapi_exists(const char *name)
{
	char path[4096];
	struct stat st;
	int n = snprintf(path, sizeof(path), "%s/%s.sock", wg_uapi_dir(), name);

	return n > 0 && (size_t)n < sizeof(path) && stat(path, &st) == 0 && S_ISSOCK(st.st_mode);
}

int wg_rtnl_parse_link(const struct nlmsghdr *nlh, struct wg_rtnl_link *out)
{
	struct link_attrs la = {0};
	const struct ifinfomsg *ifi;

	if (nlh->nlmsg_type != RTM_NEWLINK && nlh->nlmsg_type != RTM_DELLINK)
		return -EINVAL;
	if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*ifi))
		return -EBADMSG;
	ifi = mnl_nlmsg_get_payload(nlh);
	if (wg_nl_attrs_parse(mnl_nlmsg_get_payload_offset(nlh, sizeof(*ifi)),
	                      nlh->nlmsg_len - MNL_NLMSG_HDRLEN - MNL_ALIGN(sizeof(*ifi)),
	                      link_attr_cb, &la) < 0 ||
	    !la.name)
		return -EBADMSG;
	memset(out, 0, sizeof(*out));
	memcpy(out->name, la.name, strlen(la.name) + 1);
	out->ifindex = (uint32_t)ifi->ifi_index;
	out->up = (ifi->ifi_flags & IFF_UP) != 0;
	out->mtu = la.mtu;
	out->is_wireguard =
	    (la.kind && !strcmp(la.kind, "wireguard")) || wg_rtnl_uapi_exists(la.name);
	return 0;
}

/* ---- names ---- */

struct names {
	char **v;
	size_t n, cap;
};

static int names_add(struct names *ns, const char *name)
{
	size_t i;

	for (i = 0; i < ns->n; i++)
		if (!strcmp(ns->v[i], name))
			return 0;
	if (ns->n + 1 >= ns->cap) {
		size_t cap = ns->cap ? ns->cap * 2 : 8;
		char **v = realloc(ns->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		ns->v = v;
		ns->cap = cap;
	}
	ns->v[ns->n] = strdup(name);
	if (!ns->v[ns->n])
		return -ENOMEM;
	ns->v[++ns->n] = NULL;
	return 0;
}

void wg_free_names(char **names)
{
	size_t i;

	if (!names)
		return;
	for (i = 0; names[i]; i++)
		free(names[i]);
	free(names);
}

static struct mnl_socket *rtnl_open(unsigned groups, uint32_t *portid)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_ROUTE);
	struct timeval tv = {.tv_sec = 5};

	if (!nl)
		return NULL;
	if (mnl_socket_bind(nl, groups, MNL_SOCKET_AUTOPID) < 0) {
		mnl_socket_close(nl);
		return NULL;
	}
	setsockopt(mnl_socket_get_fd(nl), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	*portid = mnl_socket_get_portid(nl);
	return nl;
}

int wg_rtnl_dump_links(wg_rtnl_link_fn fn, void *arg)
{
	uint8_t *buf = malloc(WG_NL_BUFSIZE);
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	uint32_t portid, seq = (uint32_t)time(NULL);
	int r = 0;

	nl = buf ? rtnl_open(0, &portid) : NULL;
	if (!nl) {
		r = buf ? -errno : -ENOMEM;
		free(buf);
		return r;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	nlh->nlmsg_seq = seq;
	mnl_nlmsg_put_extra_header(nlh, sizeof(struct ifinfomsg));
	if (mnl_socket_sendto(nl, buf, nlh->nlmsg_len) < 0)
		r = -errno;
	for (bool done = r != 0; !done;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, WG_NL_BUFSIZE);
		int left;

		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		left = (int)n;
		for (nlh = (struct nlmsghdr *)buf; wg_nl_msg_ok(nlh, left);
		     nlh = mnl_nlmsg_next(nlh, &left)) {
			struct wg_rtnl_link l;

			if (!mnl_nlmsg_seq_ok(nlh, seq) || !mnl_nlmsg_portid_ok(nlh, portid))
				continue;
			if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR) {
				r = wg_nl_parse_ack(nlh, nlh->nlmsg_len, seq, portid);
				done = true;
				break;
			}
			if (wg_rtnl_parse_link(nlh, &l) == 0 && l.is_wireguard &&
			    (r = fn(&l, arg)) < 0) {
				done = true;
				break;
			}
		}
	}
	mnl_socket_close(nl);
	free(buf);
	return r < 0 ? r : 0;
}

static int add_link_name(const struct wg_rtnl_link *l, void *arg)
{
	return names_add(arg, l->name);
}

int wg_list_devices(char ***names, size_t *n)
{
	struct names ns = {0};
	struct dirent *de;
	DIR *dir;
	int r;

	*names = NULL;
	*n = 0;
	r = names_add(&ns, "x"); /* allocate the NULL-terminated array up front */
	if (r < 0)
		return r;
	free(ns.v[0]);
	ns.v[0] = NULL;
	ns.n = 0;
	r = wg_rtnl_dump_links(add_link_name, &ns);
	dir = opendir(wg_uapi_dir());
	while (r == 0 && dir && (de = readdir(dir))) {
		size_t len = strlen(de->d_name);
		char name[WG_NAME_MAX];

		if (len <= 5 || len - 5 >= WG_NAME_MAX || strcmp(de->d_name + len - 5, ".sock"))
			continue;
		memcpy(name, de->d_name, len - 5);
		name[len - 5] = '\0';
		if (wg_rtnl_uapi_exists(name))
			r = names_add(&ns, name);
	}
	if (dir)
		closedir(dir);
	if (r < 0) {
		wg_free_names(ns.v);
		return r;
	}
	*names = ns.v;
	*n = ns.n;
	return 0;
}

/* ---- MTU ---- */

struct mtu_find {
	const char *name;
	unsigned mtu;
};

static int mtu_of(const struct wg_rtnl_link *l, void *arg)
{
	struct mtu_find *f = arg;

	if (strcmp(l->name, f->name) == 0)
		f->mtu = l->mtu;
	return 0;
}

int wg_get_mtu(const char *name, unsigned *mtu)
{
	struct mtu_find f = {name, 0};
	int r = wg_rtnl_dump_links(mtu_of, &f);

	if (r < 0)
		return r;
	if (!f.mtu)
		return -ENODEV;
	*mtu = f.mtu;
	return 0;
}

int wg_set_mtu(const char *name, unsigned mtu)
{
	uint8_t buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;
	uint32_t portid, seq = (uint32_t)time(NULL);
	unsigned idx = if_nametoindex(name);
	int r = 0;

	if (!idx)
		return -ENODEV;
	nl = rtnl_open(0, &portid);
	if (!nl)
		return -errno;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = seq;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = (int)idx;
	mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (mnl_socket_sendto(nl, buf, nlh->nlmsg_len) < 0)
		r = -errno;
	for (int more = r == 0; more;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));

		if (n < 0) {
			r = -errno;
			break;
		}
		r = wg_nl_parse_ack(buf, (size_t)n, seq, portid);
		more = r == 1;
	}
	mnl_socket_close(nl);
	return r;
}
