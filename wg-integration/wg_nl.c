/*
 * wg_nl.c: WireGuard generic netlink messages, built and parsed as pure functions over bytes.
 * Attributes go through libmnl: one callback per nesting level, each attribute validated
 * before it is read, unknown ones skipped (a newer kernel may add some).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>
#include <net/if.h>
#include <sodium.h>

#include "key.h"
#include "wg_nl.h"

/*
 * libmnl's walkers stop quietly at the first attribute that does not fit; a reply whose
 * attributes do not exactly fill their container is malformed, so check the framing first.
 */
int wg_nl_attrs_parse(const void *payload, size_t len, mnl_attr_cb_t cb, void *data)
{
	const struct nlattr *attr = payload;
	int left = len > 0xffff ? -1 : (int)len;

	if (left < 0)
		return MNL_CB_ERROR;
	while (left >= (int)sizeof(struct nlattr)) {
		if (!mnl_attr_ok(attr, left))
			return MNL_CB_ERROR;
		left -= MNL_ALIGN(attr->nla_len);
		attr = (const struct nlattr *)((const uint8_t *)attr + MNL_ALIGN(attr->nla_len));
	}
	if (left > 0)
		return MNL_CB_ERROR; /* trailing bytes too short for an attribute */
	return mnl_attr_parse_payload(payload, len, cb, data);
}

static int parse_nested(const struct nlattr *nest, mnl_attr_cb_t cb, void *data)
{
	return wg_nl_attrs_parse(mnl_attr_get_payload(nest), mnl_attr_get_payload_len(nest), cb,
	                         data);
}

static int parse_msg(const struct nlmsghdr *nlh, size_t offset, mnl_attr_cb_t cb, void *data)
{
	return wg_nl_attrs_parse(mnl_nlmsg_get_payload_offset(nlh, offset),
	                         nlh->nlmsg_len - MNL_NLMSG_HDRLEN - MNL_ALIGN(offset), cb, data);
}

bool wg_nl_msg_ok(const struct nlmsghdr *nlh, int left)
{
	/*
	 * mnl_nlmsg_ok compares the length as a signed int: a length near 4 GiB passes as
	 * negative and, aligned, wraps to 0, so the walk would never advance.
	 */
	return left >= (int)sizeof(*nlh) && mnl_nlmsg_ok(nlh, left) &&
	       nlh->nlmsg_len <= (uint32_t)left;
}

/* Walk the messages of one datagram; calls data() for each message meant for us. */
typedef int (*msg_fn)(const struct nlmsghdr *nlh, void *arg);

/*
 * Common framing: truncation, seq/port checks, NLMSG_ERROR, NLMSG_DONE with its error.
 * Returns 1 more expected, 0 done (ACK or DONE), -errno.
 */
static int walk(const void *buf, size_t len, uint32_t seq, uint32_t portid, unsigned *ignored,
                bool *intr, msg_fn data, void *arg)
{
	const struct nlmsghdr *nlh = buf;
	int left = len > WG_NL_BUFSIZE * 4 ? -1 : (int)len;
	int r;

	if (left < 0)
		return -EBADMSG;
	while (left > 0) {
		if (!wg_nl_msg_ok(nlh, left))
			return -EBADMSG; /* truncated header or length past the datagram */
		/* Stale replies (another request, another socket) are not ours: skip them. */
		if (!mnl_nlmsg_seq_ok(nlh, seq) || !mnl_nlmsg_portid_ok(nlh, portid)) {
			if (ignored)
				(*ignored)++;
			goto next;
		}
		if (intr && (nlh->nlmsg_flags & NLM_F_DUMP_INTR))
			*intr = true;
		switch (nlh->nlmsg_type) {
		case NLMSG_NOOP:
			break;
		case NLMSG_ERROR: {
			const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

			if (mnl_nlmsg_get_payload_len(nlh) < sizeof(*e))
				return -EBADMSG;
			if (e->error > 0 || e->error < -4095)
				return -EBADMSG;
			return e->error; /* 0 is an ACK */
		}
		case NLMSG_DONE: {
			int32_t err = 0;

			/* The kernel puts the dump's error in DONE's payload (an int). */
			if (mnl_nlmsg_get_payload_len(nlh) >= sizeof(err))
				memcpy(&err, mnl_nlmsg_get_payload(nlh), sizeof(err));
			if (err > 0 || err < -4095)
				return -EBADMSG;
			return err;
		}
		case NLMSG_OVERRUN:
			return -EBADMSG;
		default:
			if (nlh->nlmsg_type < NLMSG_MIN_TYPE)
				break;
			if (data) {
				r = data(nlh, arg);
				if (r <= 0)
					return r;
			}
		}
	next:
		nlh = mnl_nlmsg_next(nlh, &left);
	}
	return 1;
}

/* ---- WG_CMD_GET_DEVICE reply ---- */

struct peer_ctx {
	struct wg_peer peer;
	int err;
};

static int allowedip_cb(const struct nlattr *attr, void *data)
{
	struct wg_allowedip *a = data;
	uint16_t plen = mnl_attr_get_payload_len(attr);

	switch (mnl_attr_get_type(attr)) {
	case WGALLOWEDIP_A_FAMILY:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
			return MNL_CB_ERROR;
		a->family = mnl_attr_get_u16(attr);
		break;
	case WGALLOWEDIP_A_IPADDR:
		if (plen == sizeof(a->ip4))
			memcpy(&a->ip4, mnl_attr_get_payload(attr), plen);
		else if (plen == sizeof(a->ip6))
			memcpy(&a->ip6, mnl_attr_get_payload(attr), plen);
		else
			return MNL_CB_ERROR;
		break;
	case WGALLOWEDIP_A_CIDR_MASK:
		if (mnl_attr_validate(attr, MNL_TYPE_U8) < 0)
			return MNL_CB_ERROR;
		a->cidr = mnl_attr_get_u8(attr);
		break;
	default:
		break; /* unknown: skip */
	}
	return MNL_CB_OK;
}

static int allowedips_cb(const struct nlattr *attr, void *data)
{
	struct peer_ctx *pc = data;
	struct wg_allowedip a;

	memset(&a, 0, sizeof(a));
	a.cidr = 0xff;
	if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
		return MNL_CB_ERROR;
	if (parse_nested(attr, allowedip_cb, &a) < 0)
		return MNL_CB_ERROR;
	/* The family, the address length and the prefix must agree, or the entry is garbage. */
	if (!((a.family == AF_INET && a.cidr <= 32) || (a.family == AF_INET6 && a.cidr <= 128)))
		return MNL_CB_ERROR;
	if (wg_dev_add_allowedip(&pc->peer, &a) < 0) {
		pc->err = -ENOMEM;
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int peer_cb(const struct nlattr *attr, void *data)
{
	struct peer_ctx *pc = data;
	struct wg_peer *p = &pc->peer;
	uint16_t plen = mnl_attr_get_payload_len(attr);

	switch (mnl_attr_get_type(attr)) {
	case WGPEER_A_PUBLIC_KEY:
		if (mnl_attr_validate2(attr, MNL_TYPE_BINARY, WG_KEY_LEN) < 0)
			return MNL_CB_ERROR;
		memcpy(p->public_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		p->flags |= WG_PEER_HAS_PUBLIC_KEY;
		break;
	case WGPEER_A_PRESHARED_KEY:
		if (mnl_attr_validate2(attr, MNL_TYPE_BINARY, WG_KEY_LEN) < 0)
			return MNL_CB_ERROR;
		memcpy(p->preshared_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		/* The kernel always sends one; all zeros means none. */
		if (!key_is_zero(p->preshared_key))
			p->flags |= WG_PEER_HAS_PRESHARED_KEY;
		break;
	case WGPEER_A_ENDPOINT: {
		sa_family_t fam;

		if (plen < sizeof(struct sockaddr))
			return MNL_CB_ERROR;
		memcpy(&fam, mnl_attr_get_payload(attr), sizeof(fam));
		if (fam == AF_INET && plen == sizeof(struct sockaddr_in))
			addr_from_sockaddr(&p->endpoint, mnl_attr_get_payload(attr), plen);
		else if (fam == AF_INET6 && plen == sizeof(struct sockaddr_in6))
			addr_from_sockaddr(&p->endpoint, mnl_attr_get_payload(attr), plen);
		else
			return MNL_CB_ERROR;
		break;
	}
	case WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
			return MNL_CB_ERROR;
		p->persistent_keepalive_interval = mnl_attr_get_u16(attr);
		p->flags |= WG_PEER_HAS_KEEPALIVE;
		break;
	case WGPEER_A_LAST_HANDSHAKE_TIME: {
		int64_t ts[2]; /* struct __kernel_timespec: two 64-bit fields */

		if (mnl_attr_validate2(attr, MNL_TYPE_BINARY, sizeof(ts)) < 0)
			return MNL_CB_ERROR;
		memcpy(ts, mnl_attr_get_payload(attr), sizeof(ts));
		p->last_handshake.tv_sec = (time_t)ts[0];
		p->last_handshake.tv_nsec = (long)ts[1];
		break;
	}
	case WGPEER_A_RX_BYTES:
		if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
			return MNL_CB_ERROR;
		p->rx_bytes = mnl_attr_get_u64(attr);
		break;
	case WGPEER_A_TX_BYTES:
		if (mnl_attr_validate(attr, MNL_TYPE_U64) < 0)
			return MNL_CB_ERROR;
		p->tx_bytes = mnl_attr_get_u64(attr);
		break;
	case WGPEER_A_ALLOWEDIPS:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
			return MNL_CB_ERROR;
		if (parse_nested(attr, allowedips_cb, pc) < 0)
			return MNL_CB_ERROR;
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

/* A peer too large for one message continues in the next under the same public key. */
static int store_peer(struct wg_device *dev, struct wg_peer *np)
{
	struct wg_peer *last = dev->n_peers ? &dev->peers[dev->n_peers - 1] : NULL;
	struct wg_peer *p;
	size_t i;

	if (!(np->flags & WG_PEER_HAS_PUBLIC_KEY))
		return -EBADMSG;
	if (last && !memcmp(last->public_key, np->public_key, WG_KEY_LEN)) {
		for (i = 0; i < np->n_allowedips; i++)
			if (wg_dev_add_allowedip(last, &np->allowedips[i]) < 0)
				return -ENOMEM;
		free(np->allowedips);
		sodium_memzero(np, sizeof(*np));
		return 0;
	}
	p = wg_dev_add_peer(dev);
	if (!p)
		return -ENOMEM;
	*p = *np; /* takes the allowed-IP array */
	sodium_memzero(np, sizeof(*np));
	return 0;
}

static int peers_cb(const struct nlattr *attr, void *data)
{
	struct wg_nl_get *g = data;
	struct peer_ctx pc;
	int r;

	memset(&pc, 0, sizeof(pc));
	if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
		return MNL_CB_ERROR;
	if (parse_nested(attr, peer_cb, &pc) < 0) {
		free(pc.peer.allowedips);
		sodium_memzero(&pc, sizeof(pc));
		return MNL_CB_ERROR;
	}
	r = store_peer(g->dev, &pc.peer);
	if (r < 0) {
		free(pc.peer.allowedips);
		sodium_memzero(&pc, sizeof(pc));
		return MNL_CB_ERROR;
	}
	return MNL_CB_OK;
}

static int device_cb(const struct nlattr *attr, void *data)
{
	struct wg_nl_get *g = data;
	struct wg_device *d = g->dev;

	switch (mnl_attr_get_type(attr)) {
	case WGDEVICE_A_IFINDEX:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		d->ifindex = mnl_attr_get_u32(attr);
		break;
	case WGDEVICE_A_IFNAME:
		if (mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) < 0 ||
		    mnl_attr_get_payload_len(attr) > sizeof(d->name))
			return MNL_CB_ERROR;
		memcpy(d->name, mnl_attr_get_str(attr), mnl_attr_get_payload_len(attr));
		break;
	case WGDEVICE_A_PRIVATE_KEY:
		if (mnl_attr_validate2(attr, MNL_TYPE_BINARY, WG_KEY_LEN) < 0)
			return MNL_CB_ERROR;
		memcpy(d->private_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		d->flags |= WG_DEVICE_HAS_PRIVATE_KEY;
		break;
	case WGDEVICE_A_PUBLIC_KEY:
		if (mnl_attr_validate2(attr, MNL_TYPE_BINARY, WG_KEY_LEN) < 0)
			return MNL_CB_ERROR;
		memcpy(d->public_key, mnl_attr_get_payload(attr), WG_KEY_LEN);
		d->flags |= WG_DEVICE_HAS_PUBLIC_KEY;
		break;
	case WGDEVICE_A_LISTEN_PORT:
		if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
			return MNL_CB_ERROR;
		d->listen_port = mnl_attr_get_u16(attr);
		d->flags |= WG_DEVICE_HAS_LISTEN_PORT;
		break;
	case WGDEVICE_A_FWMARK:
		if (mnl_attr_validate(attr, MNL_TYPE_U32) < 0)
			return MNL_CB_ERROR;
		d->fwmark = mnl_attr_get_u32(attr);
		d->flags |= WG_DEVICE_HAS_FWMARK;
		break;
	case WGDEVICE_A_PEERS:
		if (mnl_attr_validate(attr, MNL_TYPE_NESTED) < 0)
			return MNL_CB_ERROR;
		if (parse_nested(attr, peers_cb, g) < 0)
			return MNL_CB_ERROR;
		break;
	default:
		break;
	}
	return MNL_CB_OK;
}

static int get_msg(const struct nlmsghdr *nlh, void *arg)
{
	struct wg_nl_get *g = arg;
	const struct genlmsghdr *gh;

	if (nlh->nlmsg_type != g->family)
		return 1; /* not the WireGuard family: not ours */
	if (mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN)
		return -EBADMSG;
	gh = mnl_nlmsg_get_payload(nlh);
	if (gh->cmd != WG_CMD_GET_DEVICE)
		return 1;
	if (parse_msg(nlh, GENL_HDRLEN, device_cb, g) < 0)
		return -EBADMSG;
	return 1;
}

int wg_nl_get_begin(struct wg_nl_get *g, uint16_t family, uint32_t seq, uint32_t portid)
{
	memset(g, 0, sizeof(*g));
	g->family = family;
	g->seq = seq;
	g->portid = portid;
	g->dev = wg_dev_new();
	if (!g->dev)
		return -ENOMEM;
	g->dev->backend = WG_BACKEND_KERNEL;
	return 0;
}

int wg_nl_get_feed(struct wg_nl_get *g, const void *buf, size_t len)
{
	int r;

	if (!g->dev)
		return -EINVAL;
	r = walk(buf, len, g->seq, g->portid, &g->ignored, &g->intr, get_msg, g);
	if (r == 0 && g->intr)
		return -EINTR;
	return r;
}

void wg_nl_get_end(struct wg_nl_get *g)
{
	wg_free_device(g->dev);
	g->dev = NULL;
}

int wg_nl_parse_ack(const void *buf, size_t len, uint32_t seq, uint32_t portid)
{
	return walk(buf, len, seq, portid, NULL, NULL, NULL, NULL);
}

/* ---- CTRL_CMD_GETFAMILY ---- */

static int family_attr_cb(const struct nlattr *attr, void *data)
{
	int32_t *id = data;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_FAMILY_ID) {
		if (mnl_attr_validate(attr, MNL_TYPE_U16) < 0)
			return MNL_CB_ERROR;
		*id = mnl_attr_get_u16(attr);
	}
	return MNL_CB_OK;
}

static int family_msg(const struct nlmsghdr *nlh, void *arg)
{
	int32_t *id = arg;

	if (nlh->nlmsg_type != GENL_ID_CTRL)
		return 1;
	if (mnl_nlmsg_get_payload_len(nlh) < GENL_HDRLEN)
		return -EBADMSG;
	if (parse_msg(nlh, GENL_HDRLEN, family_attr_cb, id) < 0)
		return -EBADMSG;
	return 1;
}

int wg_nl_parse_family(const void *buf, size_t len, uint32_t seq, uint32_t portid, uint16_t *id)
{
	int32_t got = *id ? *id : -1; /* the id may have come in an earlier datagram */
	int r = walk(buf, len, seq, portid, NULL, NULL, family_msg, &got);

	if (got > 0 && got <= UINT16_MAX)
		*id = (uint16_t)got;
	/* The family message comes first, then the ACK we asked for: an ACK without it is bad. */
	if (r == 0 && !*id)
		return -EBADMSG;
	return r;
}

/* ---- requests ---- */

static struct nlmsghdr *put_genl(void *buf, uint16_t type, uint16_t flags, uint32_t seq,
                                 uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *gh;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	gh = mnl_nlmsg_put_extra_header(nlh, sizeof(*gh));
	gh->cmd = cmd;
	gh->version = version;
	return nlh;
}

size_t wg_nl_put_getfamily(void *buf, uint32_t seq, const char *family_name)
{
	struct nlmsghdr *nlh =
	    put_genl(buf, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq, CTRL_CMD_GETFAMILY, 1);

	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, family_name);
	return nlh->nlmsg_len;
}

size_t wg_nl_put_get(void *buf, uint16_t family, uint32_t seq, const char *ifname)
{
	struct nlmsghdr *nlh = put_genl(buf, family, NLM_F_REQUEST | NLM_F_ACK | NLM_F_DUMP, seq,
	                                WG_CMD_GET_DEVICE, WG_GENL_VERSION);

	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	return nlh->nlmsg_len;
}

size_t wg_nl_put_set_peer(void *buf, uint16_t family, uint32_t seq, const char *ifname,
                          const uint8_t pub[WG_KEY_LEN_BYTES], const struct wg_peer_set *set)
{
	struct nlmsghdr *nlh = put_genl(buf, family, NLM_F_REQUEST | NLM_F_ACK, seq,
	                                WG_CMD_SET_DEVICE, WG_GENL_VERSION);
	struct nlattr *peers, *peer;

	/* One peer only, so one message always fits; no need to split the peer list. */
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, pub);
	mnl_attr_put_u32(nlh, WGPEER_A_FLAGS, WGPEER_F_UPDATE_ONLY);
	if (set->endpoint)
		mnl_attr_put(nlh, WGPEER_A_ENDPOINT, set->endpoint->len, &set->endpoint->sa);
	if (set->set_keepalive)
		mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, set->keepalive);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	return nlh->nlmsg_len;
}

size_t wg_nl_put_remove_peer(void *buf, uint16_t family, uint32_t seq, const char *ifname,
                             const uint8_t pub[WG_KEY_LEN_BYTES])
{
	struct nlmsghdr *nlh = put_genl(buf, family, NLM_F_REQUEST | NLM_F_ACK, seq,
	                                WG_CMD_SET_DEVICE, WG_GENL_VERSION);
	struct nlattr *peers, *peer;

	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, ifname);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, pub);
	mnl_attr_put_u32(nlh, WGPEER_A_FLAGS, WGPEER_F_REMOVE_ME);
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	return nlh->nlmsg_len;
}

/* One allowed IP as its nested WGALLOWEDIP_A_* set; false when it does not fit. */
static bool put_allowedip(struct nlmsghdr *nlh, size_t cap, const struct wg_allowedip *a)
{
	struct nlattr *n = mnl_attr_nest_start_check(nlh, cap, 0);
	const void *ip = a->family == AF_INET ? (const void *)&a->ip4 : (const void *)&a->ip6;
	size_t len = a->family == AF_INET ? sizeof(a->ip4) : sizeof(a->ip6);

	if (!n || !mnl_attr_put_u16_check(nlh, cap, WGALLOWEDIP_A_FAMILY, a->family) ||
	    !mnl_attr_put_check(nlh, cap, WGALLOWEDIP_A_IPADDR, len, ip) ||
	    !mnl_attr_put_u8_check(nlh, cap, WGALLOWEDIP_A_CIDR_MASK, a->cidr))
		return false;
	mnl_attr_nest_end(nlh, n);
	return true;
}

/* The peer's attributes after its public key; false when they do not fit. */
static bool put_peer_config(struct nlmsghdr *nlh, size_t cap, const struct wg_peer *p)
{
	struct nlattr *aips;
	size_t i;

	if (wg_dev_has_psk(p) &&
	    !mnl_attr_put_check(nlh, cap, WGPEER_A_PRESHARED_KEY, WG_KEY_LEN, p->preshared_key))
		return false;
	if (p->endpoint.len &&
	    !mnl_attr_put_check(nlh, cap, WGPEER_A_ENDPOINT, p->endpoint.len, &p->endpoint.sa))
		return false;
	/*
	 * Replacing allowed IPs changes nothing on a new peer; it makes the message a plain "set
	 * it to this" when a retry finds the peer there after all.
	 */
	if (!mnl_attr_put_u16_check(nlh, cap, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL,
	                            p->persistent_keepalive_interval) ||
	    !mnl_attr_put_u32_check(nlh, cap, WGPEER_A_FLAGS, WGPEER_F_REPLACE_ALLOWEDIPS))
		return false;
	aips = mnl_attr_nest_start_check(nlh, cap, WGPEER_A_ALLOWEDIPS);
	if (!aips)
		return false;
	for (i = 0; i < p->n_allowedips; i++)
		if (!put_allowedip(nlh, cap, &p->allowedips[i]))
			return false;
	mnl_attr_nest_end(nlh, aips);
	return true;
}

int wg_nl_put_add_peer(void *buf, size_t cap, uint16_t family, uint32_t seq, const char *ifname,
                       const struct wg_peer *p)
{
	struct nlmsghdr *nlh;
	struct nlattr *peers, *peer;
	int r = wg_dev_readd_check(p);

	if (r < 0)
		return r;
	if (cap > WG_NL_BUFSIZE)
		cap = WG_NL_BUFSIZE;
	if (cap < MNL_NLMSG_HDRLEN + MNL_ALIGN(GENL_HDRLEN))
		return -E2BIG;
	/* No WGPEER_F_UPDATE_ONLY: this creates the peer. */
	nlh = put_genl(buf, family, NLM_F_REQUEST | NLM_F_ACK, seq, WG_CMD_SET_DEVICE,
	               WG_GENL_VERSION);
	if (!mnl_attr_put_strz_check(nlh, cap, WGDEVICE_A_IFNAME, ifname) ||
	    !(peers = mnl_attr_nest_start_check(nlh, cap, WGDEVICE_A_PEERS)) ||
	    !(peer = mnl_attr_nest_start_check(nlh, cap, 0)) ||
	    !mnl_attr_put_check(nlh, cap, WGPEER_A_PUBLIC_KEY, WG_KEY_LEN, p->public_key) ||
	    !put_peer_config(nlh, cap, p))
		return -E2BIG;
	mnl_attr_nest_end(nlh, peer);
	mnl_attr_nest_end(nlh, peers);
	return (int)nlh->nlmsg_len;
}
