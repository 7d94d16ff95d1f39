/*
 * test_xdp.c: the XDP fast path (relayd/xdp.c, relayd/xdp_fast.bpf.c) in a network namespace
 * of its own. The program is driven with hand-built frames through bpf_prog_test_run_opts, and
 * its rewrites are checked by recomputing every checksum in full here; an end-to-end case sends
 * real UDP datagrams between two more namespaces through the relay's namespace. Exits 77
 * (skipped) when not root, without namespaces or BPF, or when the build has no XDP.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "xdp.h"

#ifdef WGR_HAVE_XDP
#include <linux/bpf.h>
#include <linux/capability.h>
#include <linux/ethtool.h>
#include <linux/sockios.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#define PORT_LO    50000
#define PORT_HI    50099
#define S4         50001 /* the IPv4 session */
#define S6         50002 /* the IPv6 session */
#define MAX_PACKET 1000
#define RELAY4     "192.0.2.1"
#define RELAY6     "2001:db8::1"
#define A4         "192.0.2.10"
#define B4         "192.0.2.20"
#define A6         "2001:db8::10"
#define B6         "2001:db8::20"
#define APORT      40001
#define BPORT      40002

/* An Ethernet device without native XDP: dummy, or a bridge where dummy is not built. */
#define NOXDP_DEV(name)                                                                            \
	"{ ip link add " name " type dummy 2>/dev/null || ip link add " name " type bridge; }"

static const uint8_t mac_a[6] = {0x02, 0, 0, 0, 0, 0x0a};
static const uint8_t mac_b[6] = {0x02, 0, 0, 0, 0, 0x0b};
static uint8_t mac_relay[6];
static struct xdp_path *X;
static int ifx; /* xr0, the relay's interface of the test_run cases */

/* A command through the shell, formatted; its exit status. */
static int sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	rc = system(cmd);
	return rc == -1 ? -1 : WEXITSTATUS(rc);
}

static void write_sysctl(const char *path, const char *v)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, v, strlen(v)), (ssize_t)strlen(v));
	close(fd);
}

static void if_mac(const char *name, uint8_t mac[6])
{
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	assert_int_equal(ioctl(fd, SIOCGIFHWADDR, &ifr), 0);
	memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
	close(fd);
}

/* One legacy ethtool setting (ETHTOOL_SGRO, ETHTOOL_STXCSUM) of ifname, in this namespace. */
static void if_ethtool(const char *ifname, uint32_t cmd, uint32_t value)
{
	struct ethtool_value ev = {.cmd = cmd, .data = value};
	struct ifreq ifr;
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", ifname);
	ifr.ifr_data = (char *)&ev;
	assert_int_equal(ioctl(fd, SIOCETHTOOL, &ifr), 0);
	close(fd);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- checksums, computed in full (RFC 1071), independent of the program's incremental way */

static uint32_t sum16(const uint8_t *p, size_t n, uint32_t s)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The ones' complement sum over the pseudo header and UDP datagram of frame f (with its
 * checksum field as it is): 0xffff when the checksum is right. */
static uint16_t udp_sum(const uint8_t *f)
{
	int v6 = f[12] == 0x86;
	const uint8_t *ip = f + 14, *udp = ip + (v6 ? 40 : 20);
	size_t ulen = (size_t)(udp[4] << 8 | udp[5]);
	uint32_t s;

	s = v6 ? sum16(ip + 8, 32, 0) : sum16(ip + 12, 8, 0);
	s += 17 + (uint32_t)ulen;
	return fold(sum16(udp, ulen, s));
}

/* ---- frames */

struct frame {
	uint8_t b[1600];
	size_t len;
};

/* Ethernet + IPv4/IPv6 + UDP + payload, checksums right (csum 0: UDP checksum left 0). */
static void build(struct frame *fr, const char *src, uint16_t sport, const char *dst,
                  uint16_t dport, const uint8_t *pl, size_t plen, int csum)
{
	int v6 = strchr(src, ':') != NULL;
	uint8_t *f = fr->b, *ip = f + 14, *udp = ip + (v6 ? 40 : 20);
	size_t ulen = 8 + plen;

	memset(fr, 0, sizeof(*fr));
	memcpy(f, mac_relay, 6);
	memcpy(f + 6, mac_a, 6);
	f[12] = v6 ? 0x86 : 0x08;
	f[13] = v6 ? 0xdd : 0x00;
	if (v6) {
		ip[0] = 0x60;
		ip[4] = (uint8_t)(ulen >> 8);
		ip[5] = (uint8_t)ulen;
		ip[6] = 17;
		ip[7] = 9; /* hop limit, to see it become 64 */
		assert_int_equal(inet_pton(AF_INET6, src, ip + 8), 1);
		assert_int_equal(inet_pton(AF_INET6, dst, ip + 24), 1);
	} else {
		uint16_t c;

		ip[0] = 0x45;
		ip[2] = (uint8_t)((20 + ulen) >> 8);
		ip[3] = (uint8_t)(20 + ulen);
		ip[4] = 0x12;
		ip[5] = 0x34;
		ip[6] = 0x40; /* DF: not a fragment */
		ip[8] = 9;
		ip[9] = 17;
		assert_int_equal(inet_pton(AF_INET, src, ip + 12), 1);
		assert_int_equal(inet_pton(AF_INET, dst, ip + 16), 1);
		c = (uint16_t)~fold(sum16(ip, 20, 0));
		ip[10] = (uint8_t)(c >> 8);
		ip[11] = (uint8_t)c;
	}
	udp[0] = (uint8_t)(sport >> 8);
	udp[1] = (uint8_t)sport;
	udp[2] = (uint8_t)(dport >> 8);
	udp[3] = (uint8_t)dport;
	udp[4] = (uint8_t)(ulen >> 8);
	udp[5] = (uint8_t)ulen;
	memcpy(udp + 8, pl, plen);
	fr->len = (size_t)(udp + ulen - f);
	if (csum) {
		uint16_t c = (uint16_t)~udp_sum(f);

		if (!c)
			c = 0xffff;
		udp[6] = (uint8_t)(c >> 8);
		udp[7] = (uint8_t)c;
	}
}

/* A WireGuard transport datagram of n bytes (type 4, three zero bytes, then a pattern). */
static void wg_data(uint8_t *pl, size_t n, uint8_t type, uint8_t seed)
{
	memset(pl, 0, n);
	pl[0] = type;
	for (size_t i = 4; i < n; i++)
		pl[i] = (uint8_t)(seed + i * 7);
}

static void frame_data(struct frame *fr, const char *src, uint16_t sport, const char *dst,
                       uint16_t dport, size_t plen, uint8_t type)
{
	uint8_t pl[1500];

	wg_data(pl, plen, type, (uint8_t)plen);
	build(fr, src, sport, dst, dport, pl, plen, 1);
}

/* Run the program once on in; the action, out (len set) holding the frame afterwards. */
static int run_on(int ifindex, const struct frame *in, struct frame *out)
{
	/* data_end: the whole frame is linear (a kernel with multi-buffer test runs would
	 * otherwise take the part past it as fragments) */
	struct xdp_md ctx = {.data_end = (uint32_t)in->len, .ingress_ifindex = (uint32_t)ifindex};
	LIBBPF_OPTS(bpf_test_run_opts, o, .data_in = in->b, .data_size_in = (uint32_t)in->len,
	            .data_out = out->b, .data_size_out = sizeof(out->b), .ctx_in = &ctx,
	            .ctx_size_in = sizeof(ctx), .repeat = 1);
	int rc = bpf_prog_test_run_opts(xdp_path_prog_fd(X), &o);

	if (rc < 0)
		return rc;
	out->len = o.data_size_out;
	return (int)o.retval;
}

static int run(const struct frame *in, struct frame *out)
{
	return run_on(ifx, in, out);
}

/* The frame went up untouched. */
static void expect_pass(const struct frame *in)
{
	struct frame out;

	assert_int_equal(run(in, &out), XDP_PASS);
	assert_int_equal(out.len, in->len);
	assert_memory_equal(out.b, in->b, in->len);
}

/* out is in rewritten to go from relay:port to dst:dport: addresses, ports, hop count,
 * MACs and both checksums, payload unchanged. */
static void expect_rewritten(const struct frame *in, const struct frame *out, const char *relay,
                             uint16_t port, const char *dst, uint16_t dport, const uint8_t *dmac,
                             int csum)
{
	int v6 = in->b[12] == 0x86;
	size_t l3 = v6 ? 40 : 20;
	const uint8_t *ip = out->b + 14, *udp = ip + l3;
	uint8_t a[16];

	assert_int_equal(out->len, in->len);
	assert_memory_equal(out->b, dmac, 6);
	assert_memory_equal(out->b + 6, mac_relay, 6);
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, relay, a), 1);
	assert_memory_equal(ip + (v6 ? 8 : 12), a, v6 ? 16 : 4);
	assert_int_equal(inet_pton(v6 ? AF_INET6 : AF_INET, dst, a), 1);
	assert_memory_equal(ip + (v6 ? 24 : 16), a, v6 ? 16 : 4);
	assert_int_equal(ip[v6 ? 7 : 8], 64);
	if (!v6)
		assert_int_equal(fold(sum16(ip, 20, 0)), 0xffff);
	assert_int_equal(udp[0] << 8 | udp[1], port);
	assert_int_equal(udp[2] << 8 | udp[3], dport);
	if (csum)
		assert_int_equal(udp_sum(out->b), 0xffff);
	else
		assert_int_equal(udp[6] | udp[7], 0);
	/* lengths and payload as they were */
	assert_memory_equal(udp + 4, in->b + 14 + l3 + 4, 2);
	assert_memory_equal(udp + 8, in->b + 14 + l3 + 8, in->len - 14 - l3 - 8);
}

static void addr_of(struct addr *a, const char *ip, uint16_t port)
{
	char s[80];

	snprintf(s, sizeof(s), strchr(ip, ':') ? "[%s]:%u" : "%s:%u", ip, port);
	assert_int_equal(addr_parse(a, s, 0), 0);
}

static void session(uint16_t port, const char *a, const char *b, uint64_t budget)
{
	struct addr aa, bb;

	addr_of(&aa, a, APORT);
	addr_of(&bb, b, BPORT);
	assert_int_equal(xdp_session_set(X, port, &aa, &bb, budget), 0);
}

static struct xdp_counters counters(void)
{
	struct xdp_counters c;

	assert_int_equal(xdp_counters_read(X, &c), 0);
	return c;
}

/* ---- setup */

/* The relay's path on xr0 with the two sessions of the test_run cases. */
static int path_open(void)
{
	const char *const ifs[] = {"xr0"};
	char why[256];
	int rc;

	rc = xdp_path_open(&X, XDP_MODE_AUTO, ifs, 1, PORT_LO, PORT_HI, MAX_PACKET, why,
	                   sizeof(why));
	if (rc < 0) {
		fprintf(stderr, "xdp_path_open: %s\n", why);
		return -1;
	}
	fprintf(stderr, "xdp: %s\n", xdp_path_describe(X));
	session(S4, A4, B4, UINT64_MAX);
	session(S6, A6, B6, UINT64_MAX);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	if (sh("ip link add xr0 type veth peer name xr1") || sh("ip link set xr0 up") ||
	    sh("ip link set xr1 up") || sh("ip addr add " RELAY4 "/24 dev xr0") ||
	    sh("ip -6 addr add " RELAY6 "/64 dev xr0 nodad") ||
	    sh("ip neigh add " A4 " lladdr 02:00:00:00:00:0a dev xr0 nud permanent") ||
	    sh("ip neigh add " B4 " lladdr 02:00:00:00:00:0b dev xr0 nud permanent") ||
	    sh("ip neigh add " A6 " lladdr 02:00:00:00:00:0a dev xr0 nud permanent") ||
	    sh("ip neigh add " B6 " lladdr 02:00:00:00:00:0b dev xr0 nud permanent"))
		return -1;
	/* bpf_fib_lookup answers only where forwarding is on (docs/XDP.md) */
	write_sysctl("/proc/sys/net/ipv4/conf/all/forwarding", "1");
	write_sysctl("/proc/sys/net/ipv6/conf/all/forwarding", "1");
	if_mac("xr0", mac_relay);
	ifx = (int)if_nametoindex("xr0");
	return path_open();
}

static int teardown(void **state)
{
	(void)state;
	xdp_path_close(X);
	X = NULL;
	return 0;
}

/* ---- tests */

/* The test's own checksum against RFC 1071 §3's example: 00 01 f2 03 f4 f5 f6 f7 -> ddf2. */
static void test_checksum_vector(void **state)
{
	static const uint8_t v[] = {0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7};
	struct frame fr;

	(void)state;
	assert_int_equal(fold(sum16(v, sizeof(v), 0)), 0xddf2);
	/* and it sees a wrong checksum as wrong */
	frame_data(&fr, A4, APORT, RELAY4, S4, 64, 4);
	assert_int_equal(udp_sum(fr.b), 0xffff);
	fr.b[14 + 20 + 7] ^= 1;
	assert_int_not_equal(udp_sum(fr.b), 0xffff);
}

static void test_forward_v4(void **state)
{
	struct xdp_counters c0 = counters(), c1;
	struct xdp_session_stats st0, st;
	struct frame in, out;
	uint64_t t0, t1;

	(void)state;
	assert_int_equal(xdp_session_read(X, S4, &st0), 0);
	/* a -> b, over XDP_TX: the same interface */
	frame_data(&in, A4, APORT, RELAY4, S4, 148, 4);
	t0 = mono_ns();
	assert_int_equal(run(&in, &out), XDP_TX);
	t1 = mono_ns();
	expect_rewritten(&in, &out, RELAY4, S4, B4, BPORT, mac_b, 1);
	assert_int_equal(xdp_session_read(X, S4, &st), 0);
	assert_int_equal(st.pkts, st0.pkts + 1);
	assert_int_equal(st.bytes, st0.bytes + 148);
	assert_true(st.last_ns[0] >= t0 && st.last_ns[0] <= t1);
	assert_int_equal(st.last_ns[1], st0.last_ns[1]);
	/* b -> a, and a 32-byte keepalive-sized datagram, the smallest there is */
	frame_data(&in, B4, BPORT, RELAY4, S4, 32, 4);
	assert_int_equal(run(&in, &out), XDP_TX);
	expect_rewritten(&in, &out, RELAY4, S4, A4, APORT, mac_a, 1);
	/* no UDP checksum stays none; the largest datagram allowed */
	frame_data(&in, A4, APORT, RELAY4, S4, MAX_PACKET, 4);
	in.b[14 + 20 + 6] = in.b[14 + 20 + 7] = 0;
	assert_int_equal(run(&in, &out), XDP_TX);
	expect_rewritten(&in, &out, RELAY4, S4, B4, BPORT, mac_b, 0);
	/* many payloads and lengths: every checksum right after the incremental update */
	for (size_t n = 32; n < 300; n += 13) {
		frame_data(&in, (n & 1) ? A4 : B4, (n & 1) ? APORT : BPORT, RELAY4, S4, n, 4);
		assert_int_equal(run(&in, &out), XDP_TX);
		expect_rewritten(&in, &out, RELAY4, S4, (n & 1) ? B4 : A4, (n & 1) ? BPORT : APORT,
		                 (n & 1) ? mac_b : mac_a, 1);
	}
	assert_int_equal(xdp_session_read(X, S4, &st), 0);
	assert_int_equal(st.pkts, st0.pkts + 3 + 21);
	assert_true(st.last_ns[1] > 0);
	c1 = counters();
	assert_int_equal(c1.fwd_pkts, c0.fwd_pkts + 24);
	assert_int_equal(c1.fwd_bytes - c0.fwd_bytes, st.bytes - st0.bytes);
	assert_int_equal(c1.pass_not_data, c0.pass_not_data);
}

static void test_forward_v6(void **state)
{
	struct xdp_session_stats st0, st;
	struct frame in, out;

	(void)state;
	assert_int_equal(xdp_session_read(X, S6, &st0), 0);
	frame_data(&in, A6, APORT, RELAY6, S6, 148, 4);
	assert_int_equal(run(&in, &out), XDP_TX);
	expect_rewritten(&in, &out, RELAY6, S6, B6, BPORT, mac_b, 1);
	frame_data(&in, B6, BPORT, RELAY6, S6, 96, 4);
	assert_int_equal(run(&in, &out), XDP_TX);
	expect_rewritten(&in, &out, RELAY6, S6, A6, APORT, mac_a, 1);
	for (size_t n = 32; n < 300; n += 11) {
		frame_data(&in, (n & 1) ? A6 : B6, (n & 1) ? APORT : BPORT, RELAY6, S6, n, 4);
		assert_int_equal(run(&in, &out), XDP_TX);
		expect_rewritten(&in, &out, RELAY6, S6, (n & 1) ? B6 : A6, (n & 1) ? BPORT : APORT,
		                 (n & 1) ? mac_b : mac_a, 1);
	}
	/* a zero checksum is invalid over IPv6: up to user space, untouched */
	frame_data(&in, A6, APORT, RELAY6, S6, 64, 4);
	in.b[14 + 40 + 6] = in.b[14 + 40 + 7] = 0;
	expect_pass(&in);
	assert_int_equal(xdp_session_read(X, S6, &st), 0);
	assert_int_equal(st.pkts, st0.pkts + 2 + 25);
	assert_true(st.last_ns[0] > 0 && st.last_ns[1] > 0);
}

/* Everything but a member's transport datagram goes up untouched, counted by reason. */
static void test_pass_unchanged(void **state)
{
	struct xdp_counters c0 = counters(), c1;
	struct xdp_session_stats st0, st;
	struct frame in;

	(void)state;
	assert_int_equal(xdp_session_read(X, S4, &st0), 0);
	/* not data: handshake initiation, response, cookie reply; reserved bytes set; short;
	 * longer than max_packet */
	for (uint8_t t = 1; t <= 3; t++) {
		frame_data(&in, A4, APORT, RELAY4, S4, 148, t);
		expect_pass(&in);
	}
	frame_data(&in, A4, APORT, RELAY4, S4, 148, 4);
	in.b[14 + 20 + 8 + 2] = 1;
	expect_pass(&in);
	frame_data(&in, A4, APORT, RELAY4, S4, 31, 4);
	expect_pass(&in);
	frame_data(&in, A4, APORT, RELAY4, S4, MAX_PACKET + 1, 4);
	expect_pass(&in);
	frame_data(&in, A6, APORT, RELAY6, S6, 148, 1);
	expect_pass(&in);
	c1 = counters();
	assert_int_equal(c1.pass_not_data - c0.pass_not_data, 7);
	/* unknown source: another port of a member's address, another address, the other
	 * family's session */
	frame_data(&in, A4, APORT + 5, RELAY4, S4, 148, 4);
	expect_pass(&in);
	frame_data(&in, "192.0.2.99", APORT, RELAY4, S4, 148, 4);
	expect_pass(&in);
	frame_data(&in, A6, APORT, RELAY6, S4, 148, 4);
	expect_pass(&in);
	frame_data(&in, A4, APORT, RELAY4, S6, 148, 4);
	expect_pass(&in);
	c0 = c1;
	c1 = counters();
	assert_int_equal(c1.pass_unknown_source - c0.pass_unknown_source, 4);
	/* no session on a port of the range; a port outside it (not counted) */
	frame_data(&in, A4, APORT, RELAY4, S4 + 10, 148, 4);
	expect_pass(&in);
	frame_data(&in, A4, APORT, RELAY4, PORT_HI + 1, 148, 4);
	expect_pass(&in);
	frame_data(&in, A4, APORT, RELAY4, PORT_LO - 1, 148, 4);
	expect_pass(&in);
	c0 = c1;
	c1 = counters();
	assert_int_equal(c1.pass_not_session - c0.pass_not_session, 1);
	/* IPv4 with options; a fragment (MF, then an offset); not UDP */
	frame_data(&in, A4, APORT, RELAY4, S4, 148, 4);
	in.b[14] = 0x46;
	expect_pass(&in);
	frame_data(&in, A4, APORT, RELAY4, S4, 148, 4);
	in.b[14 + 6] = 0x20;
	expect_pass(&in);
	frame_data(&in, A4, APORT, RELAY4, S4, 148, 4);
	in.b[14 + 6] = 0x00;
	in.b[14 + 7] = 0x10;
	expect_pass(&in);
	frame_data(&in, A4, APORT, RELAY4, S4, 148, 4);
	in.b[14 + 9] = 6;
	expect_pass(&in);
	/* a VLAN tag in front of it */
	frame_data(&in, A4, APORT, RELAY4, S4, 148, 4);
	in.b[12] = 0x81;
	in.b[13] = 0x00;
	expect_pass(&in);
	c0 = c1;
	c1 = counters();
	assert_int_equal(c1.fwd_pkts, c0.fwd_pkts);
	assert_int_equal(c1.pass_not_session + c1.pass_not_data + c1.pass_unknown_source,
	                 c0.pass_not_session + c0.pass_not_data + c0.pass_unknown_source);
	assert_int_equal(xdp_session_read(X, S4, &st), 0);
	assert_int_equal(st.pkts, st0.pkts);
	/* positive control: the same path forwards a member's datagram */
	{
		struct frame out;

		frame_data(&in, A4, APORT, RELAY4, S4, 148, 4);
		assert_int_equal(run(&in, &out), XDP_TX);
	}
}

/* A budget lets so many bytes through, then datagrams go up; an update starts a new one. */
static void test_budget(void **state)
{
	struct xdp_counters c0 = counters(), c1;
	struct xdp_session_stats st0, st;
	struct frame in, out;
	const uint16_t port = S4 + 20;

	(void)state;
	session(port, A4, B4, 2 * 100 + 50);
	assert_int_equal(xdp_session_read(X, port, &st0), 0);
	assert_int_equal(st0.pkts, 0);
	frame_data(&in, A4, APORT, RELAY4, port, 100, 4);
	assert_int_equal(run(&in, &out), XDP_TX);
	assert_int_equal(run(&in, &out), XDP_TX);
	expect_pass(&in);
	expect_pass(&in);
	/* 50 bytes still fit */
	frame_data(&in, B4, BPORT, RELAY4, port, 50, 4);
	assert_int_equal(run(&in, &out), XDP_TX);
	c1 = counters();
	assert_int_equal(c1.pass_budget - c0.pass_budget, 2);
	assert_int_equal(c1.fwd_pkts - c0.fwd_pkts, 3);
	/* a new budget counts from the bytes forwarded so far, which an update keeps */
	session(port, A4, B4, 100);
	frame_data(&in, A4, APORT, RELAY4, port, 100, 4);
	assert_int_equal(run(&in, &out), XDP_TX);
	expect_pass(&in);
	session(port, A4, B4, UINT64_MAX);
	assert_int_equal(run(&in, &out), XDP_TX);
	assert_int_equal(xdp_session_read(X, port, &st), 0);
	assert_int_equal(st.pkts, 5);
	assert_int_equal(st.bytes, 450);
	assert_int_equal(xdp_session_del(X, port), 0);
}

/* No route, or forwarding off: up, untouched (the rewrite waits for the FIB's answer). */
static void test_fib(void **state)
{
	struct xdp_counters c0 = counters(), c1;
	struct frame in, out;
	const uint16_t port = S4 + 30;

	(void)state;
	/* b has no route; a member with no neighbour entry */
	session(port, A4, "198.51.100.7", UINT64_MAX);
	frame_data(&in, A4, APORT, RELAY4, port, 148, 4);
	expect_pass(&in);
	session(port, A4, "192.0.2.77", UINT64_MAX);
	expect_pass(&in);
	session(port + 1, A6, "2001:db8:1::7", UINT64_MAX);
	frame_data(&in, A6, APORT, RELAY6, port + 1, 148, 4);
	expect_pass(&in);
	c1 = counters();
	assert_int_equal(c1.pass_fib - c0.pass_fib, 3);
	/* forwarding off: bpf_fib_lookup refuses, the datagram goes up */
	frame_data(&in, A4, APORT, RELAY4, S4, 148, 4);
	write_sysctl("/proc/sys/net/ipv4/conf/all/forwarding", "0");
	expect_pass(&in);
	write_sysctl("/proc/sys/net/ipv4/conf/all/forwarding", "1");
	assert_int_equal(run(&in, &out), XDP_TX);
	c0 = c1;
	c1 = counters();
	assert_int_equal(c1.pass_fib - c0.pass_fib, 1);
	assert_int_equal(xdp_session_del(X, port), 0);
	assert_int_equal(xdp_session_del(X, port + 1), 0);
}

/* Every truncation of a valid datagram and random frames: never sent on. */
static void test_garbage(void **state)
{
	struct xdp_counters c0 = counters(), c1;
	struct frame valid, in, out;
	unsigned seed = 19;
	int rc;

	(void)state;
	for (int fam = 0; fam < 2; fam++) {
		if (fam)
			frame_data(&valid, A6, APORT, RELAY6, S6, 48, 4);
		else
			frame_data(&valid, A4, APORT, RELAY4, S4, 48, 4);
		for (size_t n = 0; n < valid.len; n++) {
			in = valid;
			in.len = n;
			rc = run(&in, &out);
			/* the kernel's test run wants an Ethernet header at least */
			if (n < 14) {
				assert_true(rc < 0 || rc == XDP_PASS || rc == XDP_DROP);
				continue;
			}
			assert_true(rc == XDP_PASS || rc == XDP_DROP);
		}
		/* positive control: the whole of it is forwarded */
		assert_int_equal(run(&valid, &out), XDP_TX);
	}
	for (int i = 0; i < 2000; i++) {
		in.len = 14 + (size_t)(rand_r(&seed) % 200);
		for (size_t j = 0; j < in.len; j++)
			in.b[j] = (uint8_t)rand_r(&seed);
		/* half of them look like IPv4/IPv6 UDP to a session port */
		if (i & 1) {
			in.b[12] = (i & 2) ? 0x86 : 0x08;
			in.b[13] = (i & 2) ? 0xdd : 0x00;
		}
		rc = run(&in, &out);
		assert_true(rc == XDP_PASS || rc == XDP_DROP);
	}
	c1 = counters();
	assert_int_equal(c1.fwd_pkts - c0.fwd_pkts, 2);
}

static void test_stats_del(void **state)
{
	struct xdp_session_stats st;
	struct frame in, out;
	const uint16_t port = S4 + 40;

	(void)state;
	assert_int_equal(xdp_session_read(X, port, &st), -ENOENT);
	assert_int_equal(xdp_session_del(X, port), -ENOENT);
	session(port, A4, B4, UINT64_MAX);
	frame_data(&in, A4, APORT, RELAY4, port, 200, 4);
	for (int i = 0; i < 5; i++)
		assert_int_equal(run(&in, &out), XDP_TX);
	assert_int_equal(xdp_session_read(X, port, &st), 0);
	assert_int_equal(st.pkts, 5);
	assert_int_equal(st.bytes, 1000);
	assert_int_equal(st.last_ns[1], 0);
	assert_int_equal(xdp_session_del(X, port), 0);
	assert_int_equal(xdp_session_read(X, port, &st), -ENOENT);
	assert_int_equal(st.pkts, 0);
	/* removed: not forwarded; installed again: counted from zero */
	expect_pass(&in);
	session(port, A4, B4, UINT64_MAX);
	assert_int_equal(xdp_session_read(X, port, &st), 0);
	assert_int_equal(st.pkts, 0);
	assert_int_equal(st.bytes, 0);
	assert_int_equal(run(&in, &out), XDP_TX);
	assert_int_equal(xdp_session_read(X, port, &st), 0);
	assert_int_equal(st.pkts, 1);
	assert_int_equal(xdp_session_del(X, port), 0);
	assert_int_equal(xdp_session_del(X, port), -ENOENT);
}

/* What xdp_sessions_read_all saw: per port, how often and what. */
struct seen {
	unsigned times[PORT_HI - PORT_LO + 1];
	struct xdp_session_stats st[PORT_HI - PORT_LO + 1];
	unsigned outside;
};

static void seen_one(void *arg, uint16_t port, const struct xdp_session_stats *st)
{
	struct seen *sn = arg;

	if (port < PORT_LO || port > PORT_HI) {
		sn->outside++;
		return;
	}
	sn->times[port - PORT_LO]++;
	sn->st[port - PORT_LO] = *st;
}

/* The batched read gives every installed session once, with what a single read gives. */
static void test_read_all(void **state)
{
	static struct seen sn;
	struct xdp_session_stats st;
	struct frame in, out;

	(void)state;
	for (uint16_t port = PORT_HI - 39; port <= PORT_HI; port++) {
		session(port, A4, B4, UINT64_MAX);
		frame_data(&in, A4, APORT, RELAY4, port, 100 + port % 7, 4);
		for (int i = 0; i < port % 5; i++)
			assert_int_equal(run(&in, &out), XDP_TX);
	}
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(xdp_sessions_read_all(X, seen_one, &sn), 0);
	assert_int_equal(sn.outside, 0);
	for (uint16_t port = PORT_LO; port <= PORT_HI; port++) {
		bool on = xdp_session_read(X, port, &st) == 0;

		assert_int_equal(sn.times[port - PORT_LO], on ? 1 : 0);
		if (on)
			assert_memory_equal(&sn.st[port - PORT_LO], &st, sizeof(st));
	}
	for (uint16_t port = PORT_HI - 39; port <= PORT_HI; port++) {
		assert_int_equal(sn.times[port - PORT_LO], 1);
		assert_int_equal(sn.st[port - PORT_LO].pkts, port % 5);
		assert_int_equal(sn.st[port - PORT_LO].bytes,
		                 (uint64_t)(port % 5) * (100 + port % 7));
		assert_int_equal(xdp_session_del(X, port), 0);
	}
	memset(&sn, 0, sizeof(sn));
	assert_int_equal(xdp_sessions_read_all(X, seen_one, &sn), 0);
	for (uint16_t port = PORT_HI - 39; port <= PORT_HI; port++)
		assert_int_equal(sn.times[port - PORT_LO], 0);
}

static void test_session_set_errors(void **state)
{
	struct addr a4, b6, m;

	(void)state;
	addr_of(&a4, A4, APORT);
	addr_of(&b6, B6, BPORT);
	assert_int_equal(xdp_session_set(X, S4 + 50, &a4, &b6, UINT64_MAX), -EAFNOSUPPORT);
	assert_int_equal(xdp_session_set(X, PORT_HI + 1, &a4, &a4, UINT64_MAX), -ERANGE);
	assert_int_equal(xdp_session_set(NULL, S4, &a4, &a4, UINT64_MAX), -EINVAL);
	/* a v4-mapped member is the IPv4 one */
	assert_int_equal(addr_parse(&m, "[::ffff:192.0.2.20]:40002", 0), 0);
	assert_int_equal(xdp_session_set(X, S4 + 50, &a4, &m, UINT64_MAX), 0);
	{
		struct frame in, out;

		frame_data(&in, A4, APORT, RELAY4, S4 + 50, 64, 4);
		assert_int_equal(run(&in, &out), XDP_TX);
		expect_rewritten(&in, &out, RELAY4, S4 + 50, B4, BPORT, mac_b, 1);
	}
	assert_int_equal(xdp_session_del(X, S4 + 50), 0);
}

static uint32_t attached_id(const char *ifname)
{
	uint32_t id = 0;

	assert_int_equal(bpf_xdp_query_id((int)if_nametoindex(ifname), 0, &id), 0);
	return id;
}

static void test_open_errors(void **state)
{
	const char *const dummy[] = {"xd0"}, *const both[] = {"xd0", "xr0"};
	const char *const nosuch[] = {"xnosuch0"}, *const lo[] = {"lo"};
	struct xdp_path *y = NULL;
	char why[256];
	int rc;

	(void)state;
	assert_int_equal(sh(NOXDP_DEV("xd0") " && ip link set xd0 up"), 0);
	/* never over another program: xr0 has ours; and xd0 must be free again afterwards */
	rc = xdp_path_open(&y, XDP_MODE_AUTO, both, 2, PORT_LO, PORT_HI, MAX_PACKET, why,
	                   sizeof(why));
	print_message("xd0, xr0: %d %s\n", rc, why);
	assert_int_equal(rc, -EBUSY);
	assert_null(y);
	assert_non_null(strstr(why, "xr0: another XDP program"));
	assert_int_equal(attached_id("xd0"), 0);
	assert_int_not_equal(attached_id("xr0"), 0);
	rc = xdp_path_open(&y, XDP_MODE_GENERIC, nosuch, 1, PORT_LO, PORT_HI, MAX_PACKET, why,
	                   sizeof(why));
	assert_int_equal(rc, -ENODEV);
	assert_string_equal(why, "xnosuch0: no such interface");
	rc = xdp_path_open(&y, XDP_MODE_GENERIC, lo, 1, PORT_LO, PORT_HI, MAX_PACKET, why,
	                   sizeof(why));
	assert_true(rc < 0);
	assert_string_equal(why, "lo: not an Ethernet interface");
	assert_int_equal(xdp_path_open(&y, XDP_MODE_OFF, dummy, 1, PORT_LO, PORT_HI, MAX_PACKET,
	                               why, sizeof(why)),
	                 -EINVAL);
	/* no native XDP there: native refuses, auto and generic take generic */
	rc = xdp_path_open(&y, XDP_MODE_NATIVE, dummy, 1, PORT_LO, PORT_HI, MAX_PACKET, why,
	                   sizeof(why));
	print_message("native on dummy: %d %s\n", rc, why);
	assert_true(rc < 0);
	assert_non_null(strstr(why, "xd0: native XDP"));
	assert_int_equal(attached_id("xd0"), 0);
	for (enum xdp_mode m = XDP_MODE_AUTO; m <= XDP_MODE_GENERIC; m += 2) {
		rc = xdp_path_open(&y, m, dummy, 1, PORT_LO, PORT_HI, MAX_PACKET, why, sizeof(why));
		assert_int_equal(rc, 0);
		assert_string_equal(xdp_path_describe(y), "generic: xd0");
		assert_int_not_equal(attached_id("xd0"), 0);
		xdp_path_close(y);
		y = NULL;
		assert_int_equal(attached_id("xd0"), 0);
	}
	/* forwarding off on the interface: said, since every datagram would go up */
	write_sysctl("/proc/sys/net/ipv4/conf/xd0/forwarding", "0");
	assert_int_equal(xdp_path_open(&y, XDP_MODE_GENERIC, dummy, 1, PORT_LO, PORT_HI, MAX_PACKET,
	                               why, sizeof(why)),
	                 0);
	assert_string_equal(xdp_path_describe(y),
	                    "generic: xd0 (forwarding off, datagrams go up: xd0 IPv4)");
	xdp_path_close(y);
	y = NULL;
	assert_string_equal(xdp_path_describe(NULL), "off");
	xdp_path_close(NULL);
	assert_int_equal(sh("ip link del xd0"), 0);
}

/* Without CAP_BPF and CAP_SYS_ADMIN the load is refused, and why says what is missing. */
static void test_no_permission(void **state)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct cap[2];
	const char *const ifs[] = {"xr1"};
	struct xdp_path *y = NULL;
	char why[256];
	int st, fds[2];
	pid_t pid;
	ssize_t n;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int rc;

		memset(cap, 0, sizeof(cap));
		if (syscall(SYS_capget, &hdr, cap) < 0)
			_exit(2);
		for (int i = 0; i < 2; i++) {
			uint32_t drop = 0;

			for (int c = 0; c < 32; c++) {
				int capno = i * 32 + c;

				if (capno == CAP_SYS_ADMIN || capno == CAP_BPF ||
				    capno == CAP_PERFMON)
					drop |= 1u << c;
			}
			cap[i].effective &= ~drop;
			cap[i].permitted &= ~drop;
			cap[i].inheritable &= ~drop;
		}
		if (syscall(SYS_capset, &hdr, cap) < 0)
			_exit(2);
		rc = xdp_path_open(&y, XDP_MODE_GENERIC, ifs, 1, PORT_LO, PORT_HI, MAX_PACKET, why,
		                   sizeof(why));
		n = write(fds[1], why, strlen(why) + 1);
		_exit(rc == -EPERM && n > 0 ? 0 : 1);
	}
	close(fds[1]);
	memset(why, 0, sizeof(why));
	n = read(fds[0], why, sizeof(why) - 1);
	close(fds[0]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	print_message("without CAP_BPF: %s\n", why);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_true(n > 0);
	assert_string_equal(why, "no permission to load BPF (need CAP_BPF and CAP_NET_ADMIN)");
	assert_int_equal(attached_id("xr1"), 0);
}

/* n == 0: every up, non-loopback Ethernet interface; the down one and loopback left out. */
static void test_default_interfaces(void **state)
{
	struct xdp_path *y = NULL;
	char why[256];
	int rc;

	(void)state;
	assert_int_equal(sh(NOXDP_DEV("xd1") " && ip link set xd1 up && " NOXDP_DEV("xd2")), 0);
	xdp_path_close(X);
	X = NULL;
	rc = xdp_path_open(&y, XDP_MODE_AUTO, NULL, 0, PORT_LO, PORT_HI, MAX_PACKET, why,
	                   sizeof(why));
	print_message("default: %d %s\n", rc, rc ? why : xdp_path_describe(y));
	assert_int_equal(rc, 0);
	assert_non_null(strstr(xdp_path_describe(y), "xr0"));
	assert_non_null(strstr(xdp_path_describe(y), "xr1"));
	assert_non_null(strstr(xdp_path_describe(y), "generic: xd1"));
	assert_null(strstr(xdp_path_describe(y), "xd2"));
	assert_null(strstr(xdp_path_describe(y), "lo"));
	assert_int_equal(attached_id("xd2"), 0);
	xdp_path_close(y);
	assert_int_equal(attached_id("xr0"), 0);
	assert_int_equal(attached_id("xr1"), 0);
	assert_int_equal(attached_id("xd1"), 0);
	assert_int_equal(sh("ip link del xd1 && ip link del xd2"), 0);
	assert_int_equal(path_open(), 0);
	assert_string_equal(xdp_path_describe(X), "native: xr0");
}

/* ---- end to end: ns A -> relay namespace (this one) -> ns B, real sockets */

static int ns_self = -1, ns_a = -1, ns_b = -1;

static void ns_enter(int fd)
{
	assert_int_equal(setns(fd, CLONE_NEWNET), 0);
}

static int udp_in(int ns, const char *ip, uint16_t port)
{
	struct addr a;
	int fd;

	ns_enter(ns);
	addr_of(&a, ip, port);
	fd = socket(a.sa.sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(bind(fd, &a.sa, a.len), 0);
	ns_enter(ns_self);
	return fd;
}

/* Send one transport datagram from fd to ip:port; 1 when rx got it from want:wport within
 * ms milliseconds. */
static int e2e_one(int fd, int rx, const char *ip, uint16_t port, const char *want, uint16_t wport,
                   int ms)
{
	uint8_t pl[200], got[300];
	struct sockaddr_storage from;
	socklen_t flen = sizeof(from);
	struct pollfd p = {.fd = rx, .events = POLLIN};
	struct addr to, w, f;
	ssize_t n;

	wg_data(pl, sizeof(pl), 4, 1);
	addr_of(&to, ip, port);
	assert_int_equal(sendto(fd, pl, sizeof(pl), 0, &to.sa, to.len), (ssize_t)sizeof(pl));
	if (poll(&p, 1, ms) != 1)
		return 0;
	n = recvfrom(rx, got, sizeof(got), 0, (struct sockaddr *)&from, &flen);
	assert_int_equal(n, (ssize_t)sizeof(pl));
	assert_memory_equal(got, pl, sizeof(pl));
	addr_from_sockaddr(&f, (struct sockaddr *)&from, flen);
	addr_of(&w, want, wport);
	assert_true(addr_equal(&f, &w));
	return 1;
}

static void e2e_neigh(int ns, const char *ifname, const char *ip, const char *dev)
{
	uint8_t mac[6];

	ns_enter(ns);
	if_mac(ifname, mac);
	ns_enter(ns_self);
	assert_int_equal(sh("ip neigh replace %s lladdr %02x:%02x:%02x:%02x:%02x:%02x dev %s "
	                    "nud permanent",
	                    ip, mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], dev),
	                 0);
}

static void test_end_to_end(void **state)
{
	const char *const ifs[] = {"er", "fr"};
	struct xdp_counters c0, c1;
	struct xdp_path *saved = X, *y = NULL;
	struct xdp_session_stats st;
	char why[256];
	int sa, sb, got, rc, pid = getpid();

	(void)state;
	ns_self = open("/proc/self/ns/net", O_RDONLY);
	assert_true(ns_self >= 0);
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	ns_a = open("/proc/self/ns/net", O_RDONLY);
	assert_int_equal(unshare(CLONE_NEWNET), 0);
	ns_b = open("/proc/self/ns/net", O_RDONLY);
	ns_enter(ns_self);
	assert_true(ns_a >= 0 && ns_b >= 0);
	assert_int_equal(
	    sh("ip link add er type veth peer name ea netns /proc/%d/fd/%d", pid, ns_a), 0);
	assert_int_equal(
	    sh("ip link add fr type veth peer name fb netns /proc/%d/fd/%d", pid, ns_b), 0);
	assert_int_equal(sh("ip addr add 198.51.100.1/24 dev er && ip link set er up && "
	                    "ip addr add 203.0.113.1/24 dev fr && ip link set fr up"),
	                 0);
	ns_enter(ns_a);
	rc = sh("ip link set lo up && ip link set ea up && ip addr add 198.51.100.2/24 dev ea && "
	        "ip route add default via 198.51.100.1");
	ns_enter(ns_b);
	rc |= sh("ip link set lo up && ip link set fb up && ip addr add 203.0.113.2/24 dev fb && "
	         "ip route add default via 203.0.113.1");
	ns_enter(ns_self);
	assert_int_equal(rc, 0);
	e2e_neigh(ns_a, "ea", "198.51.100.2", "er");
	e2e_neigh(ns_b, "fb", "203.0.113.2", "fr");
	sa = udp_in(ns_a, "198.51.100.2", APORT);
	sb = udp_in(ns_b, "203.0.113.2", BPORT);

	/* The senders' veths send full UDP checksums: a locally made datagram crosses a veth
	 * with its checksum left to offload, which a frame redirected in native XDP no longer
	 * has. The receivers' veths run NAPI (GRO on): native XDP can redirect into a veth only
	 * then (or when that veth has an XDP program of its own). docs/XDP.md */
	ns_enter(ns_a);
	if_ethtool("ea", ETHTOOL_STXCSUM, 0);
	if_ethtool("ea", ETHTOOL_SGRO, 1);
	ns_enter(ns_b);
	if_ethtool("fb", ETHTOOL_STXCSUM, 0);
	if_ethtool("fb", ETHTOOL_SGRO, 1);
	ns_enter(ns_self);
	rc = xdp_path_open(&y, XDP_MODE_NATIVE, ifs, 2, PORT_LO, PORT_HI, MAX_PACKET, why,
	                   sizeof(why));
	print_message("e2e: %d %s\n", rc, rc ? why : xdp_path_describe(y));
	assert_int_equal(rc, 0);
	assert_string_equal(xdp_path_describe(y), "native: er, fr");
	X = y;
	c0 = counters();
	/* positive control of the silence below: no session, no datagram through */
	assert_false(e2e_one(sa, sb, "198.51.100.1", S4, "198.51.100.1", S4, 200));
	session(S4, "198.51.100.2", "203.0.113.2", UINT64_MAX);
	got = e2e_one(sa, sb, "198.51.100.1", S4, "198.51.100.1", S4, 1000);
	assert_true(got);
	assert_true(e2e_one(sb, sa, "203.0.113.1", S4, "203.0.113.1", S4, 1000));
	c1 = counters();
	assert_int_equal(c1.fwd_pkts - c0.fwd_pkts, 2);
	assert_int_equal(c1.pass_not_session - c0.pass_not_session, 1);
	assert_int_equal(xdp_session_read(X, S4, &st), 0);
	assert_int_equal(st.pkts, 2);
	assert_true(st.last_ns[0] && st.last_ns[1]);
	X = saved;
	xdp_path_close(y);
	close(sa);
	close(sb);
	close(ns_a);
	close(ns_b);
	close(ns_self);
}
#endif

static int have(const char *prog)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

int main(void)
{
#ifdef WGR_HAVE_XDP
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_checksum_vector),
	    cmocka_unit_test(test_forward_v4),
	    cmocka_unit_test(test_forward_v6),
	    cmocka_unit_test(test_pass_unchanged),
	    cmocka_unit_test(test_budget),
	    cmocka_unit_test(test_fib),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_stats_del),
	    cmocka_unit_test(test_read_all),
	    cmocka_unit_test(test_session_set_errors),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_no_permission),
	    cmocka_unit_test(test_default_interfaces),
	    cmocka_unit_test(test_end_to_end),
	};
	struct xdp_path *probe = NULL;
	const char *const probe_if[] = {"xp0"};
	char why[256];
	int rc;
#endif
	enum xdp_mode m;

	/* without XDP in the build only the names work */
	if (xdp_mode_parse("generic", &m) || m != XDP_MODE_GENERIC ||
	    xdp_mode_parse("Generic", &m) != -EINVAL ||
	    strcmp(xdp_mode_name(XDP_MODE_AUTO), "auto"))
		return 1;
	if (!xdp_supported()) {
		printf("skip: built without XDP\n");
		return 77;
	}
	if (geteuid() != 0 || !have("ip")) {
		printf("skip: needs root and ip\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		printf("skip: no network namespace: %s\n", strerror(errno));
		return 77;
	}
#ifdef WGR_HAVE_XDP
	/* BPF itself: where the kernel or the rights do not allow it, skip; any other failure of
	 * the path is a failure of the test. */
	if (sh(NOXDP_DEV("xp0")) != 0)
		return 1;
	rc = xdp_path_open(&probe, XDP_MODE_GENERIC, probe_if, 1, PORT_LO, PORT_HI, MAX_PACKET, why,
	                   sizeof(why));
	if (rc == -EPERM || rc == -ENOSYS) {
		printf("skip: no BPF here: %s\n", why);
		return 77;
	}
	if (rc < 0) {
		printf("xdp_path_open: %s\n", why);
		return 1;
	}
	xdp_path_close(probe);
	if (sh("ip link del xp0") != 0)
		return 1;
	(void)sh("ip link set lo up");
	return cmocka_run_group_tests(tests, setup, teardown);
#else
	return 77;
#endif
}
