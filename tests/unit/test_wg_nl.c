/*
 * Unit tests: wg-integration/wg_nl.c, the kernel backend's reply parser, fed with replies built
 * byte by byte after linux/wireguard.h: multi-part dumps, split peers, errors, DUMP_INTR,
 * truncation, unknown attributes, stale seq/port. The kernel will not produce these on demand.
 * And the request builders, parsed back: the update-only set, and the remove and the add that
 * re-create a peer.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/wireguard.h>

#include "wg_nl.h"

#define FAM    0x1c
#define SEQ    4242
#define PORTID 777

/* One datagram under construction: several messages back to back. */
struct dgram {
	uint8_t b[WG_NL_BUFSIZE];
	size_t len;
};

static struct nlmsghdr *msg_start(struct dgram *d, uint16_t type, uint16_t flags, uint32_t seq,
                                  uint32_t pid)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(d->b + d->len);

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_pid = pid;
	if (type >= NLMSG_MIN_TYPE) {
		struct genlmsghdr *gh = mnl_nlmsg_put_extra_header(nlh, sizeof(*gh));

		gh->cmd = WG_CMD_GET_DEVICE;
		gh->version = WG_GENL_VERSION;
	}
	return nlh;
}

static void msg_end(struct dgram *d, struct nlmsghdr *nlh)
{
	d->len += NLMSG_ALIGN(nlh->nlmsg_len);
}

static void put_done(struct dgram *d, int32_t err, uint32_t seq)
{
	struct nlmsghdr *nlh = msg_start(d, NLMSG_DONE, NLM_F_MULTI, seq, PORTID);
	int32_t *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));

	*e = err;
	msg_end(d, nlh);
}

static void put_error(struct dgram *d, int err)
{
	struct nlmsghdr *nlh = msg_start(d, NLMSG_ERROR, 0, SEQ, PORTID);
	struct nlmsgerr *e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));

	e->error = err;
	e->msg.nlmsg_seq = SEQ;
	msg_end(d, nlh);
}

static void key_of(uint8_t k[32], uint8_t v)
{
	memset(k, v, 32);
}

static void put_aip4(struct nlmsghdr *nlh, const char *ip, uint8_t cidr, bool unknown)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, 0);
	struct in_addr a;

	inet_pton(AF_INET, ip, &a);
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, sizeof(a), &a);
	if (unknown)
		mnl_attr_put_u32(nlh, 77, 0xdeadbeef);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, cidr);
	mnl_attr_nest_end(nlh, n);
}

static void put_aip6(struct nlmsghdr *nlh, const char *ip, uint8_t cidr)
{
	struct nlattr *n = mnl_attr_nest_start(nlh, 0);
	struct in6_addr a;

	inet_pton(AF_INET6, ip, &a);
	mnl_attr_put_u16(nlh, WGALLOWEDIP_A_FAMILY, AF_INET6);
	mnl_attr_put(nlh, WGALLOWEDIP_A_IPADDR, sizeof(a), &a);
	mnl_attr_put_u8(nlh, WGALLOWEDIP_A_CIDR_MASK, cidr);
	mnl_attr_nest_end(nlh, n);
}

/* Device attributes as the kernel sends them at the head of each dump message. */
static struct nlmsghdr *dev_msg(struct dgram *d, uint16_t flags, bool full)
{
	struct nlmsghdr *nlh = msg_start(d, FAM, NLM_F_MULTI | flags, SEQ, PORTID);
	uint8_t k[32];

	mnl_attr_put_u32(nlh, WGDEVICE_A_IFINDEX, 7);
	mnl_attr_put_strz(nlh, WGDEVICE_A_IFNAME, "wg0");
	if (full) {
		key_of(k, 0x11);
		mnl_attr_put(nlh, WGDEVICE_A_PRIVATE_KEY, 32, k);
		key_of(k, 0x22);
		mnl_attr_put(nlh, WGDEVICE_A_PUBLIC_KEY, 32, k);
		mnl_attr_put_u16(nlh, WGDEVICE_A_LISTEN_PORT, 51820);
		mnl_attr_put_u32(nlh, WGDEVICE_A_FWMARK, 0x42);
		mnl_attr_put_u32(nlh, 99, 1); /* a future device attribute */
	}
	return nlh;
}

static void peer_a(struct nlmsghdr *nlh, bool head, int first_aip, int n_aip)
{
	struct nlattr *p = mnl_attr_nest_start(nlh, 0);
	uint8_t k[32];

	key_of(k, 0xa1);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, 32, k);
	if (head) {
		struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(51821)};
		int64_t ts[2] = {1700000000, 123456789};

		inet_pton(AF_INET, "192.0.2.7", &sin.sin_addr);
		mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin), &sin);
		mnl_attr_put_u16(nlh, WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL, 25);
		mnl_attr_put(nlh, WGPEER_A_LAST_HANDSHAKE_TIME, sizeof(ts), ts);
		mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 1000);
		mnl_attr_put_u64(nlh, WGPEER_A_TX_BYTES, 2000);
		mnl_attr_put_u32(nlh, WGPEER_A_PROTOCOL_VERSION, 1);
		mnl_attr_put_u32(nlh, 120, 5); /* a future peer attribute */
	}
	if (n_aip) {
		struct nlattr *a = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
		char ip[32];

		for (int i = 0; i < n_aip; i++) {
			snprintf(ip, sizeof(ip), "10.0.%d.0", first_aip + i);
			put_aip4(nlh, ip, 24, i == 0);
		}
		mnl_attr_nest_end(nlh, a);
	}
	mnl_attr_nest_end(nlh, p);
}

static void peer_b(struct nlmsghdr *nlh)
{
	struct nlattr *p = mnl_attr_nest_start(nlh, 0), *a;
	struct sockaddr_in6 sin6 = {.sin6_family = AF_INET6, .sin6_port = htons(1234)};
	uint8_t k[32];

	key_of(k, 0xb2);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, 32, k);
	key_of(k, 0x33);
	mnl_attr_put(nlh, WGPEER_A_PRESHARED_KEY, 32, k);
	inet_pton(AF_INET6, "2001:db8::9", &sin6.sin6_addr);
	mnl_attr_put(nlh, WGPEER_A_ENDPOINT, sizeof(sin6), &sin6);
	a = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);
	put_aip6(nlh, "2001:db8:1::", 48);
	mnl_attr_nest_end(nlh, a);
	mnl_attr_nest_end(nlh, p);
}

/* Feed datagrams in order; returns the last result. */
static int feed(struct wg_nl_get *g, struct dgram *ds, size_t n)
{
	int r = 1;

	for (size_t i = 0; i < n && r == 1; i++)
		r = wg_nl_get_feed(g, ds[i].b, ds[i].len);
	return r;
}

static void test_single_message(void **state)
{
	struct dgram *d = calloc(1, sizeof(*d));
	struct wg_nl_get g;
	struct nlmsghdr *nlh;
	struct nlattr *peers;
	struct wg_device *dev;
	struct wg_peer *p;
	uint8_t k[32];
	char s[ADDR_STRLEN];

	(void)state;
	nlh = dev_msg(d, 0, true);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer_a(nlh, true, 1, 2);
	peer_b(nlh);
	mnl_attr_nest_end(nlh, peers);
	msg_end(d, nlh);
	put_done(d, 0, SEQ);

	assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
	assert_int_equal(wg_nl_get_feed(&g, d->b, d->len), 0);
	dev = g.dev;
	assert_string_equal(dev->name, "wg0");
	assert_int_equal(dev->ifindex, 7);
	assert_int_equal(dev->listen_port, 51820);
	assert_int_equal(dev->fwmark, 0x42);
	assert_int_equal(dev->flags, WG_DEVICE_HAS_PRIVATE_KEY | WG_DEVICE_HAS_PUBLIC_KEY |
	                                 WG_DEVICE_HAS_LISTEN_PORT | WG_DEVICE_HAS_FWMARK);
	key_of(k, 0x11);
	assert_memory_equal(dev->private_key, k, 32);
	key_of(k, 0x22);
	assert_memory_equal(dev->public_key, k, 32);
	assert_int_equal(dev->n_peers, 2);

	p = &dev->peers[0];
	key_of(k, 0xa1);
	assert_memory_equal(p->public_key, k, 32);
	assert_ptr_equal(wg_device_find_peer(dev, k), p);
	assert_string_equal(addr_format(&p->endpoint, s, sizeof(s)), "192.0.2.7:51821");
	assert_int_equal(p->persistent_keepalive_interval, 25);
	assert_int_equal(p->last_handshake.tv_sec, 1700000000);
	assert_int_equal(p->last_handshake.tv_nsec, 123456789);
	assert_int_equal(p->rx_bytes, 1000);
	assert_int_equal(p->tx_bytes, 2000);
	assert_false(p->flags & WG_PEER_HAS_PRESHARED_KEY);
	assert_int_equal(p->n_allowedips, 2);
	assert_int_equal(p->allowedips[1].family, AF_INET);
	assert_int_equal(p->allowedips[1].cidr, 24);
	assert_int_equal(ntohl(p->allowedips[1].ip4.s_addr), 0x0a000200);

	p = &dev->peers[1];
	assert_true(p->flags & WG_PEER_HAS_PRESHARED_KEY);
	assert_string_equal(addr_format(&p->endpoint, s, sizeof(s)), "[2001:db8::9]:1234");
	assert_int_equal(p->n_allowedips, 1);
	assert_int_equal(p->allowedips[0].family, AF_INET6);
	assert_int_equal(p->allowedips[0].cidr, 48);
	assert_int_equal(p->last_handshake.tv_sec, 0);
	key_of(k, 0xcc);
	assert_null(wg_device_find_peer(dev, k));
	wg_nl_get_end(&g);
	free(d);
}

/* Three datagrams: peer A, then peer A again (split allowed IPs) and peer B, then DONE. */
static void test_multipart_split_peer(void **state)
{
	struct dgram *d = calloc(3, sizeof(*d));
	struct wg_nl_get g;
	struct nlmsghdr *nlh;
	struct nlattr *peers;
	struct wg_peer *p;

	(void)state;
	nlh = dev_msg(&d[0], 0, true);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer_a(nlh, true, 0, 3);
	mnl_attr_nest_end(nlh, peers);
	msg_end(&d[0], nlh);

	/* The continuation repeats only the device's name and the peer's public key. */
	nlh = dev_msg(&d[1], 0, false);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer_a(nlh, false, 3, 4);
	peer_b(nlh);
	mnl_attr_nest_end(nlh, peers);
	msg_end(&d[1], nlh);

	put_done(&d[2], 0, SEQ);

	assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
	assert_int_equal(wg_nl_get_feed(&g, d[0].b, d[0].len), 1);
	assert_int_equal(wg_nl_get_feed(&g, d[1].b, d[1].len), 1);
	assert_int_equal(wg_nl_get_feed(&g, d[2].b, d[2].len), 0);
	assert_int_equal(g.dev->n_peers, 2);
	p = &g.dev->peers[0];
	assert_int_equal(p->n_allowedips, 7);
	for (size_t i = 0; i < 7; i++)
		assert_int_equal(ntohl(p->allowedips[i].ip4.s_addr), 0x0a000000 | (i << 8));
	/* The head's fields survive the merge. */
	assert_int_equal(p->rx_bytes, 1000);
	assert_int_equal(p->persistent_keepalive_interval, 25);
	assert_int_equal(g.dev->peers[1].n_allowedips, 1);
	assert_int_equal(g.dev->listen_port, 51820);
	wg_nl_get_end(&g);
	free(d);
}

static void test_nlmsg_error(void **state)
{
	struct dgram *d = calloc(1, sizeof(*d));
	struct wg_nl_get g;

	(void)state;
	put_error(d, -ENODEV);
	assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
	assert_int_equal(wg_nl_get_feed(&g, d->b, d->len), -ENODEV);
	wg_nl_get_end(&g);
	/* A positive or absurd error is malformed, not an errno to pass on. */
	memset(d, 0, sizeof(*d));
	put_error(d, 5);
	assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
	assert_int_equal(wg_nl_get_feed(&g, d->b, d->len), -EBADMSG);
	wg_nl_get_end(&g);
	/* An NLMSG_ERROR too short for struct nlmsgerr. */
	memset(d, 0, sizeof(*d));
	{
		struct nlmsghdr *nlh = msg_start(d, NLMSG_ERROR, 0, SEQ, PORTID);

		mnl_nlmsg_put_extra_header(nlh, 4);
		msg_end(d, nlh);
	}
	assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
	assert_int_equal(wg_nl_get_feed(&g, d->b, d->len), -EBADMSG);
	wg_nl_get_end(&g);
	free(d);
}

static void test_error_in_done(void **state)
{
	struct dgram *d = calloc(2, sizeof(*d));
	struct nlmsghdr *nlh;
	struct wg_nl_get g;

	(void)state;
	nlh = dev_msg(&d[0], 0, true);
	msg_end(&d[0], nlh);
	put_done(&d[1], -EMSGSIZE, SEQ);
	assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
	assert_int_equal(feed(&g, d, 2), -EMSGSIZE);
	wg_nl_get_end(&g);
	free(d);
}

static void test_dump_intr(void **state)
{
	struct dgram *d = calloc(2, sizeof(*d));
	struct nlmsghdr *nlh;
	struct nlattr *peers;
	struct wg_nl_get g;

	(void)state;
	nlh = dev_msg(&d[0], NLM_F_DUMP_INTR, true);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer_b(nlh);
	mnl_attr_nest_end(nlh, peers);
	msg_end(&d[0], nlh);
	put_done(&d[1], 0, SEQ);
	assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
	assert_int_equal(feed(&g, d, 2), -EINTR);
	assert_true(g.intr);
	wg_nl_get_end(&g);
	free(d);
}

/* Every prefix of a valid reply either waits for more or fails cleanly; never "done". */
static void test_truncated(void **state)
{
	struct dgram *d = calloc(1, sizeof(*d));
	struct wg_nl_get g;
	struct nlmsghdr *nlh;
	struct nlattr *peers;
	size_t full;

	(void)state;
	nlh = dev_msg(d, 0, true);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer_a(nlh, true, 1, 2);
	peer_b(nlh);
	mnl_attr_nest_end(nlh, peers);
	msg_end(d, nlh);
	full = d->len;
	put_done(d, 0, SEQ);
	for (size_t cut = 1; cut < d->len; cut++) {
		int r;

		assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
		r = wg_nl_get_feed(&g, d->b, cut);
		if (cut == full)
			assert_int_equal(r, 1);
		else
			assert_int_equal(r, -EBADMSG);
		wg_nl_get_end(&g);
	}
	/* A message length near 4 GiB must not wrap the walk (libmnl compares it as an int). */
	{
		struct wg_nl_get g2;
		uint8_t raw[32] = {0};
		struct nlmsghdr *bad = (struct nlmsghdr *)raw;

		bad->nlmsg_len = 0xfffffffdu;
		bad->nlmsg_type = FAM;
		bad->nlmsg_seq = SEQ;
		assert_int_equal(wg_nl_get_begin(&g2, FAM, SEQ, PORTID), 0);
		assert_int_equal(wg_nl_get_feed(&g2, raw, sizeof(raw)), -EBADMSG);
		wg_nl_get_end(&g2);
	}
	/* An attribute whose length runs past its message. */
	nlh = (struct nlmsghdr *)d->b;
	{
		struct nlattr *a = (struct nlattr *)((uint8_t *)nlh + NLMSG_HDRLEN + GENL_HDRLEN);

		a->nla_len = 0x7ff0;
	}
	assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
	assert_int_equal(wg_nl_get_feed(&g, d->b, d->len), -EBADMSG);
	wg_nl_get_end(&g);
	free(d);
}

static void test_bad_attribute_lengths(void **state)
{
	struct dgram *d = calloc(1, sizeof(*d));
	struct wg_nl_get g;
	struct nlmsghdr *nlh;
	struct nlattr *peers, *p;
	uint8_t k[33] = {0};

	(void)state;
	/* A public key of 31 bytes. */
	nlh = dev_msg(d, 0, false);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	p = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, 31, k);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, peers);
	msg_end(d, nlh);
	put_done(d, 0, SEQ);
	assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
	assert_int_equal(wg_nl_get_feed(&g, d->b, d->len), -EBADMSG);
	wg_nl_get_end(&g);

	/* A peer without a public key cannot be merged or addressed. */
	memset(d, 0, sizeof(*d));
	nlh = dev_msg(d, 0, false);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	p = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put_u64(nlh, WGPEER_A_RX_BYTES, 1);
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, peers);
	msg_end(d, nlh);
	put_done(d, 0, SEQ);
	assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
	assert_int_equal(wg_nl_get_feed(&g, d->b, d->len), -EBADMSG);
	wg_nl_get_end(&g);

	/* An allowed IP whose prefix does not fit its family. */
	memset(d, 0, sizeof(*d));
	nlh = dev_msg(d, 0, false);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	p = mnl_attr_nest_start(nlh, 0);
	mnl_attr_put(nlh, WGPEER_A_PUBLIC_KEY, 32, k);
	{
		struct nlattr *a = mnl_attr_nest_start(nlh, WGPEER_A_ALLOWEDIPS);

		put_aip4(nlh, "10.0.0.0", 33, false);
		mnl_attr_nest_end(nlh, a);
	}
	mnl_attr_nest_end(nlh, p);
	mnl_attr_nest_end(nlh, peers);
	msg_end(d, nlh);
	put_done(d, 0, SEQ);
	assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
	assert_int_equal(wg_nl_get_feed(&g, d->b, d->len), -EBADMSG);
	wg_nl_get_end(&g);

	/* An interface name that is not NUL-terminated. */
	memset(d, 0, sizeof(*d));
	nlh = msg_start(d, FAM, NLM_F_MULTI, SEQ, PORTID);
	mnl_attr_put(nlh, WGDEVICE_A_IFNAME, 3, "wg0");
	msg_end(d, nlh);
	assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
	assert_int_equal(wg_nl_get_feed(&g, d->b, d->len), -EBADMSG);
	wg_nl_get_end(&g);
	free(d);
}

/* Messages of another request or another socket are skipped, not parsed into the device. */
static void test_foreign_seq_portid(void **state)
{
	struct dgram *d = calloc(1, sizeof(*d));
	struct wg_nl_get g;
	struct nlmsghdr *nlh;
	struct nlattr *peers;

	(void)state;
	nlh = msg_start(d, FAM, NLM_F_MULTI, SEQ - 1, PORTID);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer_b(nlh);
	mnl_attr_nest_end(nlh, peers);
	msg_end(d, nlh);
	nlh = msg_start(d, FAM, NLM_F_MULTI, SEQ, PORTID + 1);
	peers = mnl_attr_nest_start(nlh, WGDEVICE_A_PEERS);
	peer_b(nlh);
	mnl_attr_nest_end(nlh, peers);
	msg_end(d, nlh);
	put_done(d, -ENODEV, SEQ + 1); /* a stale DONE carrying an error: not ours either */
	nlh = dev_msg(d, 0, true);
	msg_end(d, nlh);
	put_done(d, 0, SEQ);
	assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
	assert_int_equal(wg_nl_get_feed(&g, d->b, d->len), 0);
	assert_int_equal(g.ignored, 3);
	assert_int_equal(g.dev->n_peers, 0);
	assert_int_equal(g.dev->listen_port, 51820);
	wg_nl_get_end(&g);
	free(d);
}

static int set_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, WGPEER_A_MAX) > 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static int first_nested_cb(const struct nlattr *attr, void *data)
{
	*(const struct nlattr **)data = attr;
	return MNL_CB_OK;
}

static int dev_attr_cb(const struct nlattr *attr, void *data)
{
	const struct nlattr **tb = data;

	if (mnl_attr_type_valid(attr, WGDEVICE_A_MAX) > 0)
		tb[mnl_attr_get_type(attr)] = attr;
	return MNL_CB_OK;
}

static void test_build_set_peer(void **state)
{
	uint8_t *buf = calloc(1, WG_NL_BUFSIZE);
	const struct nlattr *dtb[WGDEVICE_A_MAX + 1] = {0}, *ptb[WGPEER_A_MAX + 1] = {0};
	const struct nlattr *peer = NULL;
	struct wg_peer_set set = {0};
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct addr ep;
	uint8_t k[32];
	size_t len;

	(void)state;
	key_of(k, 0x5a);
	assert_int_equal(addr_parse(&ep, "198.51.100.9:40000", 0), 0);
	set.endpoint = &ep;
	len = wg_nl_put_set_peer(buf, FAM, 9, "wg7", k, &set);
	assert_int_equal(len, nlh->nlmsg_len);
	assert_int_equal(nlh->nlmsg_type, FAM);
	assert_true(nlh->nlmsg_flags & NLM_F_ACK);
	assert_int_equal(((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd, WG_CMD_SET_DEVICE);
	assert_int_equal(mnl_attr_parse(nlh, GENL_HDRLEN, dev_attr_cb, dtb), MNL_CB_OK);
	assert_string_equal(mnl_attr_get_str(dtb[WGDEVICE_A_IFNAME]), "wg7");
	/* Nothing about the device itself may be sent. */
	assert_null(dtb[WGDEVICE_A_FLAGS]);
	assert_null(dtb[WGDEVICE_A_PRIVATE_KEY]);
	assert_null(dtb[WGDEVICE_A_LISTEN_PORT]);
	assert_int_equal(mnl_attr_parse_nested(dtb[WGDEVICE_A_PEERS], first_nested_cb, &peer),
	                 MNL_CB_OK);
	assert_non_null(peer);
	assert_int_equal(mnl_attr_parse_nested(peer, set_attr_cb, ptb), MNL_CB_OK);
	assert_memory_equal(mnl_attr_get_payload(ptb[WGPEER_A_PUBLIC_KEY]), k, 32);
	assert_int_equal(mnl_attr_get_u32(ptb[WGPEER_A_FLAGS]), WGPEER_F_UPDATE_ONLY);
	assert_int_equal(mnl_attr_get_payload_len(ptb[WGPEER_A_ENDPOINT]),
	                 sizeof(struct sockaddr_in));
	assert_memory_equal(mnl_attr_get_payload(ptb[WGPEER_A_ENDPOINT]), &ep.in, sizeof(ep.in));
	assert_null(ptb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]);
	assert_null(ptb[WGPEER_A_ALLOWEDIPS]);

	/* Keepalive only: no endpoint attribute. */
	memset(ptb, 0, sizeof(ptb));
	memset(&set, 0, sizeof(set));
	set.set_keepalive = true;
	set.keepalive = 25;
	wg_nl_put_set_peer(buf, FAM, 10, "wg7", k, &set);
	assert_int_equal(mnl_attr_parse(nlh, GENL_HDRLEN, dev_attr_cb, dtb), MNL_CB_OK);
	assert_int_equal(mnl_attr_parse_nested(dtb[WGDEVICE_A_PEERS], first_nested_cb, &peer),
	                 MNL_CB_OK);
	assert_int_equal(mnl_attr_parse_nested(peer, set_attr_cb, ptb), MNL_CB_OK);
	assert_null(ptb[WGPEER_A_ENDPOINT]);
	assert_int_equal(mnl_attr_get_u16(ptb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]), 25);
	assert_int_equal(mnl_attr_get_u32(ptb[WGPEER_A_FLAGS]), WGPEER_F_UPDATE_ONLY);
	free(buf);
}

static void test_build_remove_peer(void **state)
{
	uint8_t *buf = calloc(1, WG_NL_BUFSIZE);
	const struct nlattr *dtb[WGDEVICE_A_MAX + 1] = {0}, *ptb[WGPEER_A_MAX + 1] = {0};
	const struct nlattr *peer = NULL;
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	uint8_t k[32];
	size_t len;

	(void)state;
	key_of(k, 0x5a);
	len = wg_nl_put_remove_peer(buf, FAM, 9, "wg7", k);
	assert_int_equal(len, nlh->nlmsg_len);
	assert_int_equal(nlh->nlmsg_type, FAM);
	assert_int_equal(nlh->nlmsg_seq, 9);
	assert_true(nlh->nlmsg_flags & NLM_F_ACK);
	assert_int_equal(((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd, WG_CMD_SET_DEVICE);
	assert_int_equal(mnl_attr_parse(nlh, GENL_HDRLEN, dev_attr_cb, dtb), MNL_CB_OK);
	assert_string_equal(mnl_attr_get_str(dtb[WGDEVICE_A_IFNAME]), "wg7");
	assert_null(dtb[WGDEVICE_A_FLAGS]);
	assert_int_equal(mnl_attr_parse_nested(dtb[WGDEVICE_A_PEERS], first_nested_cb, &peer),
	                 MNL_CB_OK);
	assert_int_equal(mnl_attr_parse_nested(peer, set_attr_cb, ptb), MNL_CB_OK);
	assert_memory_equal(mnl_attr_get_payload(ptb[WGPEER_A_PUBLIC_KEY]), k, 32);
	/* Only the removal: no UPDATE_ONLY needed (the kernel ignores an absent peer), no config. */
	assert_int_equal(mnl_attr_get_u32(ptb[WGPEER_A_FLAGS]), WGPEER_F_REMOVE_ME);
	for (int t = WGPEER_A_PRESHARED_KEY; t <= WGPEER_A_MAX; t++)
		if (t != WGPEER_A_FLAGS)
			assert_null(ptb[t]);
	free(buf);
}

/* The peer tests re-add: psk, IPv6 endpoint, keepalive, allowed IPs of both families. */
static struct wg_allowedip add_aips[3];

static void add_peer(struct wg_peer *p)
{
	memset(p, 0, sizeof(*p));
	memset(add_aips, 0, sizeof(add_aips));
	p->flags = WG_PEER_HAS_PUBLIC_KEY | WG_PEER_HAS_PRESHARED_KEY | WG_PEER_HAS_KEEPALIVE;
	key_of(p->public_key, 0xa1);
	key_of(p->preshared_key, 0x33);
	assert_int_equal(addr_parse(&p->endpoint, "[2001:db8::9]:1234", 0), 0);
	p->persistent_keepalive_interval = 17;
	p->rx_bytes = 99; /* state, not configuration */
	add_aips[0].family = AF_INET;
	inet_pton(AF_INET, "10.9.0.0", &add_aips[0].ip4);
	add_aips[0].cidr = 16;
	add_aips[1].family = AF_INET6;
	inet_pton(AF_INET6, "2001:db8:9::", &add_aips[1].ip6);
	add_aips[1].cidr = 48;
	add_aips[2].family = AF_INET;
	inet_pton(AF_INET, "192.168.4.4", &add_aips[2].ip4);
	add_aips[2].cidr = 32;
	p->allowedips = add_aips;
	p->n_allowedips = 3;
}

/* Parse the SET message back as if the kernel had sent it in a dump: the peer it describes. */
static struct wg_device *read_back(uint8_t *buf, size_t len)
{
	struct dgram *d = calloc(1, sizeof(*d));
	struct nlmsghdr *nlh;
	struct wg_device *dev;
	struct wg_nl_get g;

	memcpy(d->b, buf, len);
	nlh = (struct nlmsghdr *)d->b;
	nlh->nlmsg_pid = PORTID;
	nlh->nlmsg_seq = SEQ;
	((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd = WG_CMD_GET_DEVICE;
	d->len = NLMSG_ALIGN(len);
	put_done(d, 0, SEQ);
	assert_int_equal(wg_nl_get_begin(&g, FAM, SEQ, PORTID), 0);
	assert_int_equal(wg_nl_get_feed(&g, d->b, d->len), 0);
	dev = g.dev;
	g.dev = NULL;
	wg_nl_get_end(&g);
	free(d);
	return dev;
}

static void test_build_add_peer(void **state)
{
	uint8_t *buf = calloc(1, WG_NL_BUFSIZE);
	const struct nlattr *dtb[WGDEVICE_A_MAX + 1] = {0}, *ptb[WGPEER_A_MAX + 1] = {0};
	const struct nlattr *peer = NULL;
	struct nlmsghdr *nlh = (struct nlmsghdr *)buf;
	struct wg_device *dev;
	struct wg_peer p;
	int len;

	(void)state;
	add_peer(&p);
	len = wg_nl_put_add_peer(buf, WG_NL_BUFSIZE, FAM, 10, "wg7", &p);
	assert_int_equal(len, nlh->nlmsg_len);
	assert_int_equal(nlh->nlmsg_seq, 10);
	assert_true(nlh->nlmsg_flags & NLM_F_ACK);
	assert_int_equal(((struct genlmsghdr *)mnl_nlmsg_get_payload(nlh))->cmd, WG_CMD_SET_DEVICE);
	assert_int_equal(mnl_attr_parse(nlh, GENL_HDRLEN, dev_attr_cb, dtb), MNL_CB_OK);
	assert_string_equal(mnl_attr_get_str(dtb[WGDEVICE_A_IFNAME]), "wg7");
	assert_null(dtb[WGDEVICE_A_FLAGS]);
	assert_null(dtb[WGDEVICE_A_PRIVATE_KEY]);
	assert_int_equal(mnl_attr_parse_nested(dtb[WGDEVICE_A_PEERS], first_nested_cb, &peer),
	                 MNL_CB_OK);
	assert_int_equal(mnl_attr_parse_nested(peer, set_attr_cb, ptb), MNL_CB_OK);
	/* Creates (no UPDATE_ONLY), and replaces the allowed IPs should the peer be there. */
	assert_int_equal(mnl_attr_get_u32(ptb[WGPEER_A_FLAGS]), WGPEER_F_REPLACE_ALLOWEDIPS);
	assert_int_equal(mnl_attr_get_payload_len(ptb[WGPEER_A_ENDPOINT]),
	                 sizeof(struct sockaddr_in6));
	assert_int_equal(mnl_attr_get_u16(ptb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]), 17);
	assert_null(ptb[WGPEER_A_RX_BYTES]);
	assert_null(ptb[WGPEER_A_LAST_HANDSHAKE_TIME]);

	/* Read back: the very same configuration, allowed IPs in order. */
	dev = read_back(buf, (size_t)len);
	assert_string_equal(dev->name, "wg7");
	assert_int_equal(dev->n_peers, 1);
	assert_int_equal(dev->peers[0].flags, p.flags);
	assert_memory_equal(dev->peers[0].public_key, p.public_key, 32);
	assert_memory_equal(dev->peers[0].preshared_key, p.preshared_key, 32);
	assert_true(addr_equal(&dev->peers[0].endpoint, &p.endpoint));
	assert_memory_equal(&dev->peers[0].endpoint.in6, &p.endpoint.in6, sizeof(p.endpoint.in6));
	assert_int_equal(dev->peers[0].persistent_keepalive_interval, 17);
	assert_int_equal(dev->peers[0].rx_bytes, 0);
	assert_int_equal(dev->peers[0].n_allowedips, 3);
	assert_memory_equal(dev->peers[0].allowedips, add_aips, sizeof(add_aips));
	wg_free_device(dev);

	/* None stays none: an all-zero preshared key, no endpoint, no allowed IPs. */
	key_of(p.preshared_key, 0);
	p.endpoint.len = 0;
	p.persistent_keepalive_interval = 0;
	p.n_allowedips = 0;
	memset(ptb, 0, sizeof(ptb));
	len = wg_nl_put_add_peer(buf, WG_NL_BUFSIZE, FAM, 11, "wg7", &p);
	assert_true(len > 0);
	assert_int_equal(mnl_attr_parse(nlh, GENL_HDRLEN, dev_attr_cb, dtb), MNL_CB_OK);
	assert_int_equal(mnl_attr_parse_nested(dtb[WGDEVICE_A_PEERS], first_nested_cb, &peer),
	                 MNL_CB_OK);
	assert_int_equal(mnl_attr_parse_nested(peer, set_attr_cb, ptb), MNL_CB_OK);
	assert_null(ptb[WGPEER_A_PRESHARED_KEY]);
	assert_null(ptb[WGPEER_A_ENDPOINT]);
	assert_int_equal(mnl_attr_get_u16(ptb[WGPEER_A_PERSISTENT_KEEPALIVE_INTERVAL]), 0);
	dev = read_back(buf, (size_t)len);
	assert_false(dev->peers[0].flags & WG_PEER_HAS_PRESHARED_KEY);
	assert_int_equal(dev->peers[0].endpoint.len, 0);
	assert_int_equal(dev->peers[0].n_allowedips, 0);
	wg_free_device(dev);
	free(buf);
}

static void test_build_add_peer_limits(void **state)
{
	struct wg_allowedip *many = calloc(WG_READD_MAX_ALLOWEDIPS + 1, sizeof(*many));
	uint8_t *buf = malloc(WG_NL_BUFSIZE);
	struct wg_device *dev;
	struct wg_peer p;
	int len;

	(void)state;
	add_peer(&p);
	len = wg_nl_put_add_peer(buf, WG_NL_BUFSIZE, FAM, 1, "wg7", &p);
	assert_true(len > 0);
	/* Too small a buffer is -E2BIG, and nothing is written past its end. */
	for (int cap = 0; cap < len; cap++) {
		memset(buf, 0xee, WG_NL_BUFSIZE);
		assert_int_equal(wg_nl_put_add_peer(buf, (size_t)cap, FAM, 1, "wg7", &p), -E2BIG);
		for (int i = cap; i < len + 8; i++)
			assert_int_equal(buf[i], 0xee);
	}
	assert_int_equal(wg_nl_put_add_peer(buf, (size_t)len, FAM, 1, "wg7", &p), len);

	/* As many IPv6 allowed IPs as the cap allows fit one message, about 10 KiB. */
	for (size_t i = 0; i <= WG_READD_MAX_ALLOWEDIPS; i++) {
		many[i].family = AF_INET6;
		many[i].ip6.s6_addr[0] = 0x20;
		many[i].ip6.s6_addr[15] = (uint8_t)i;
		many[i].ip6.s6_addr[14] = (uint8_t)(i >> 8);
		many[i].cidr = 128;
	}
	p.allowedips = many;
	p.n_allowedips = WG_READD_MAX_ALLOWEDIPS;
	len = wg_nl_put_add_peer(buf, WG_NL_BUFSIZE, FAM, 1, "wg7", &p);
	assert_true(len > 0 && len < 11 * 1024);
	dev = read_back(buf, (size_t)len);
	assert_int_equal(dev->peers[0].n_allowedips, WG_READD_MAX_ALLOWEDIPS);
	assert_memory_equal(dev->peers[0].allowedips, many,
	                    WG_READD_MAX_ALLOWEDIPS * sizeof(*many));
	wg_free_device(dev);

	p.n_allowedips = WG_READD_MAX_ALLOWEDIPS + 1;
	assert_int_equal(wg_nl_put_add_peer(buf, WG_NL_BUFSIZE, FAM, 1, "wg7", &p), -E2BIG);
	p.n_allowedips = 1;
	many[0].cidr = 129;
	assert_int_equal(wg_nl_put_add_peer(buf, WG_NL_BUFSIZE, FAM, 1, "wg7", &p), -EINVAL);
	many[0].family = AF_UNSPEC;
	many[0].cidr = 0;
	assert_int_equal(wg_nl_put_add_peer(buf, WG_NL_BUFSIZE, FAM, 1, "wg7", &p), -EINVAL);
	many[0].family = AF_INET6;
	p.endpoint.len = sizeof(struct sockaddr_in); /* an IPv6 endpoint cut short */
	assert_int_equal(wg_nl_put_add_peer(buf, WG_NL_BUFSIZE, FAM, 1, "wg7", &p), -EINVAL);
	free(buf);
	free(many);
}

static void test_family_and_ack(void **state)
{
	struct dgram *d = calloc(1, sizeof(*d));
	struct nlmsghdr *nlh;
	uint16_t id = 0;

	(void)state;
	nlh = msg_start(d, GENL_ID_CTRL, 0, SEQ, PORTID);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, WG_GENL_NAME);
	mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 0x21);
	mnl_attr_put_u32(nlh, CTRL_ATTR_VERSION, 1);
	msg_end(d, nlh);
	assert_int_equal(wg_nl_parse_family(d->b, d->len, SEQ, PORTID, &id), 1);
	assert_int_equal(id, 0x21);
	/* The ACK in its own datagram, as the kernel sends it. */
	{
		struct dgram *ack = calloc(1, sizeof(*ack));

		put_error(ack, 0);
		assert_int_equal(wg_nl_parse_family(ack->b, ack->len, SEQ, PORTID, &id), 0);
		assert_int_equal(id, 0x21);
		/* An ACK with no family message before it is malformed. */
		id = 0;
		assert_int_equal(wg_nl_parse_family(ack->b, ack->len, SEQ, PORTID, &id), -EBADMSG);
		free(ack);
	}
	/* Both in one datagram. */
	id = 0;
	put_error(d, 0);
	assert_int_equal(wg_nl_parse_family(d->b, d->len, SEQ, PORTID, &id), 0);
	assert_int_equal(id, 0x21);

	/* No such family: the kernel has no WireGuard. */
	memset(d, 0, sizeof(*d));
	put_error(d, -ENOENT);
	id = 0;
	assert_int_equal(wg_nl_parse_family(d->b, d->len, SEQ, PORTID, &id), -ENOENT);
	assert_int_equal(id, 0);

	memset(d, 0, sizeof(*d));
	put_error(d, 0);
	assert_int_equal(wg_nl_parse_ack(d->b, d->len, SEQ, PORTID), 0);
	assert_int_equal(wg_nl_parse_ack(d->b, d->len, SEQ + 1, PORTID), 1);
	memset(d, 0, sizeof(*d));
	put_error(d, -EPERM);
	assert_int_equal(wg_nl_parse_ack(d->b, d->len, SEQ, PORTID), -EPERM);
	free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_single_message),
	    cmocka_unit_test(test_multipart_split_peer),
	    cmocka_unit_test(test_nlmsg_error),
	    cmocka_unit_test(test_error_in_done),
	    cmocka_unit_test(test_dump_intr),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_bad_attribute_lengths),
	    cmocka_unit_test(test_foreign_seq_portid),
	    cmocka_unit_test(test_build_set_peer),
	    cmocka_unit_test(test_build_remove_peer),
	    cmocka_unit_test(test_build_add_peer),
	    cmocka_unit_test(test_build_add_peer_limits),
	    cmocka_unit_test(test_family_and_ack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
