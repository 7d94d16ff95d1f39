/*
 * test_portshare.c: SessionSockets = shared (relayd/portshare.c) end to end: the real wgrelayd
 * in a network namespace of the test's own (so its steering sees only this test's datagrams),
 * two members confirmed through a WireGuard handshake, then transport data both ways, each
 * datagram coming from the session's port and from the address the sender used. A port without
 * a session is a closed port; a session's port is the relay's only while the session is open.
 * With two workers and with none. Exits 77 (skipped) without root, namespaces or BPF.
 *
 * Positive controls: every silence asserted is next to traffic that did arrive; the steering is
 * detached halfway (the relay alive, its sessions open) and the data must stop, so the test
 * fails whenever the steering does not do the work.
 */
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <linux/bpf.h>
#include <sodium.h>

#include "harness.h"
#include "portshare.h"
#include "tclient.h"

static char conf[128], maddr[32];

static int sys_bpf(int cmd, union bpf_attr *a)
{
	return (int)syscall(SYS_bpf, cmd, a, sizeof(*a));
}

/*
 * The relay's sk_lookup link in this namespace, detached (the program stays loaded, the relay
 * keeps running): datagrams to session ports meet the kernel's ordinary lookup again. 0 when
 * one was detached.
 */
static int detach_steering(void)
{
	union bpf_attr a;
	uint32_t id = 0;

	for (int guard = 0; guard < 4096; guard++) {
		struct bpf_link_info info;
		int fd;

		memset(&a, 0, sizeof(a));
		a.start_id = id;
		if (sys_bpf(BPF_LINK_GET_NEXT_ID, &a) < 0)
			return -errno;
		id = a.next_id;
		memset(&a, 0, sizeof(a));
		a.link_id = id;
		fd = sys_bpf(BPF_LINK_GET_FD_BY_ID, &a);
		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		memset(&a, 0, sizeof(a));
		a.info.bpf_fd = (uint32_t)fd;
		a.info.info_len = sizeof(info);
		a.info.info = (uint64_t)(uintptr_t)&info;
		if (sys_bpf(BPF_OBJ_GET_INFO_BY_FD, &a) == 0 && info.type == BPF_LINK_TYPE_NETNS &&
		    info.netns.attach_type == BPF_SK_LOOKUP) {
			memset(&a, 0, sizeof(a));
			a.link_detach.link_fd = (uint32_t)fd;
			id = (uint32_t)sys_bpf(BPF_LINK_DETACH, &a);
			close(fd);
			return (int)id;
		}
		close(fd);
	}
	return -ENOENT;
}

/* A socket connected to 127.0.0.1:port that sent one datagram: what comes back. */
static int poke(uint16_t port, int timeout_ms)
{
	struct sockaddr_in sa = {
	    .sin_family = AF_INET, .sin_port = htons(port), .sin_addr.s_addr = htonl(0x7f000001)};
	uint8_t buf[64], pkt[64];
	int fd = tclient_udp(), n;

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(send(fd, pkt, tclient_wg_data(pkt, 32, 0x9999, 0), 0), 32);
	n = tclient_recvfrom(fd, buf, sizeof(buf), NULL, timeout_ms);
	close(fd);
	return n;
}

/* 127.0.0.host:port */
static struct addr at(uint8_t host, uint16_t port)
{
	struct addr a;
	char s[32];

	snprintf(s, sizeof(s), "127.0.0.%u:%u", host, port);
	assert_int_equal(addr_parse(&a, s, 0), 0);
	return a;
}

/* One datagram of len bytes from fa to `to` arrives at fb, unmodified, from `from`. */
static void through(int fa, int fb, const struct addr *to, size_t len, uint32_t rx, uint64_t ctr,
                    const struct addr *from)
{
	uint8_t pkt[1500], buf[1600];
	struct addr got;

	tclient_sendto(fa, pkt, tclient_wg_data(pkt, len, rx, ctr), to);
	assert_int_equal(tclient_recvfrom(fb, buf, sizeof(buf), &got, T_MS), (int)len);
	assert_memory_equal(buf, pkt, len);
	assert_true(addr_equal(&got, from));
}

static long long metric_now(const char *name)
{
	static char text[65536];

	assert_true(http_get(maddr, "/metrics", text, sizeof(text)) > 0);
	return metric(text, name);
}

/* wgrelayd with SessionSockets = shared and `workers` forwarding threads. */
static void start(const char *workers)
{
	char text[128];

	snprintf(conf, sizeof(conf), "/tmp/wgr-portshare-%d.conf", getpid());
	snprintf(text, sizeof(text), "[Relay]\nSessionSockets = shared\nWorkers = %s\n", workers);
	write_file(conf, text);
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", free_port());
	relay_start("-c", conf, "--allow-loopback", "--metrics", maddr, NULL);
	unlink(conf);
}

static void scenario(const char *workers)
{
	struct tclient a, b;
	struct ctrl_msg ma, mb, m;
	uint8_t sid[16], pkt[256], buf[256];
	struct addr port, port2, from;
	uint16_t p;
	int wa = tclient_udp(), wb = tclient_udp(), squat;
	long long fwd;

	start(workers);
	assert_int_equal(metric_now("wgrelayd_shared_no_session_total"), 0); /* it is shared */
	randombytes_buf(sid, sizeof(sid));
	client(&a);
	client(&b);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, NULL, NULL, &ma, T_MS), 0);
	assert_int_equal(ma.type, CTRL_BOUND);
	assert_int_equal(tclient_bind(&b, sid, PROTO_MODE_DIRECT, NULL, NULL, &mb, T_MS), 0);
	assert_int_equal(mb.type, CTRL_BOUND);
	assert_int_equal(mb.state, PROTO_PAIRED);
	p = ma.port;
	assert_int_equal(mb.port, p);
	port = at(1, p);
	port2 = at(2, p);
	/* A port with no session is closed (the kernel answers); the session's port is not. */
	assert_int_equal(poke((uint16_t)(p == 65535 ? p - 1 : p + 1), T_MS), -ECONNREFUSED);
	assert_int_equal(poke(p, 300), -ETIMEDOUT);
	/* Nothing is bound there: anyone may bind it, but the session's datagrams stay steered. */
	squat = tclient_udp();
	{
		struct sockaddr_in sa = {.sin_family = AF_INET,
		                         .sin_port = htons(p),
		                         .sin_addr.s_addr = htonl(0x7f000001)};

		close(squat);
		squat = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		assert_int_equal(bind(squat, (struct sockaddr *)&sa, sizeof(sa)), 0);
	}
	/* The handshake: types 1, 2 and 3 (a cookie reply), then the initiator's first data. */
	tclient_sendto(wa, pkt, tclient_wg_init(pkt, 0x1111), &port);
	assert_int_equal(tclient_recv_ctrl(&b, &m, T_MS), 0);
	if (m.type == CTRL_BOUND)
		assert_int_equal(tclient_recv_ctrl(&b, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_PEER_ACTIVE);
	/*
	 * That PEER_ACTIVE may be the poke's (a datagram from the members' IP announces one). With
	 * two threads, A's and B's flows are read by different ones: B's initiation must not be
	 * routed before A's, or each would be taken for the other's (both come from 127.0.0.1).
	 * A's initiation is routed once it is dropped for want of B's address.
	 */
	for (int i = 0; i < 200 && metric_now("wgrelayd_drops_total{reason=\"no_peer\"}") < 1; i++)
		usleep(10000);
	assert_int_equal(metric_now("wgrelayd_drops_total{reason=\"no_peer\"}"), 1);
	tclient_sendto(wb, pkt, tclient_wg_init(pkt, 0x2222), &port);
	assert_int_equal(tclient_recvfrom(wa, buf, sizeof(buf), &from, T_MS), 148);
	assert_memory_equal(buf, pkt, 148);
	assert_true(addr_equal(&from, &port));
	/* Under load a responder answers with a cookie reply (type 3): it reaches the initiator. */
	memset(pkt, 0, 64);
	pkt[0] = 3;
	memcpy(pkt + 4, (uint8_t[4]){0x22, 0x22, 0, 0}, 4);
	tclient_sendto(wa, pkt, 64, &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), &from, T_MS), 64);
	assert_int_equal(buf[0], 3);
	assert_true(addr_equal(&from, &port));
	tclient_sendto(wa, pkt, tclient_wg_resp(pkt, 0x1112, 0x2222), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), &from, T_MS), 92);
	assert_true(addr_equal(&from, &port));
	direct_confirm(wa, wb, &port);
	/* Data both ways, from the session's port. */
	for (int i = 0; i < 20; i++) {
		through(wa, wb, &port, 1440, 0x2222, (uint64_t)i + 1, &port);
		through(wb, wa, &port, 32 + (size_t)i, 0x1112, (uint64_t)i + 1, &port);
	}
	/* Sent to another local address: the other member hears it from there. */
	through(wb, wa, &port2, 100, 0x1112, 100, &port2);
	through(wa, wb, &port, 100, 0x2222, 100, &port);
	assert_int_equal(tclient_recvfrom(squat, buf, sizeof(buf), NULL, 100), -ETIMEDOUT);
	fwd = metric_now("wgrelayd_packets_forwarded_total{mode=\"direct\"}");
	assert_int_equal(fwd, 1 + 1 + 1 + 1 + 40 + 2); /* init, cookie, response, confirm */
	/* Steering detached: the relay and the session are there, but the data stops (the
	 * positive control of everything above), and goes to whoever is bound on the port. */
	assert_int_equal(detach_steering(), 0);
	tclient_sendto(wa, pkt, tclient_wg_data(pkt, 64, 0x2222, 200), &port);
	assert_int_equal(tclient_recvfrom(squat, buf, sizeof(buf), NULL, T_MS), 64);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, 200), -ETIMEDOUT);
	assert_int_equal(metric_now("wgrelayd_packets_forwarded_total{mode=\"direct\"}"), fwd);
	close(squat);
	close(wa);
	close(wb);
	tclient_close(&a);
	tclient_close(&b);
}

/* A closed session's port is no longer steered; a new session's is. */
static void close_and_reopen(const char *workers)
{
	struct tclient a, b;
	struct ctrl_msg ma, mb, m;
	uint8_t sid[16], pkt[256], buf[256];
	struct addr port;
	int wa = tclient_udp(), wb = tclient_udp();
	long long n = -1;

	start(workers);
	randombytes_buf(sid, sizeof(sid));
	client(&a);
	client(&b);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, NULL, NULL, &ma, T_MS), 0);
	assert_int_equal(tclient_bind(&b, sid, PROTO_MODE_DIRECT, NULL, NULL, &mb, T_MS), 0);
	port = at(1, ma.port);
	tclient_sendto(wa, pkt, tclient_wg_init(pkt, 0x1111), &port);
	assert_int_equal(tclient_recv_ctrl(&b, &m, T_MS), 0);
	tclient_sendto(wb, pkt, tclient_wg_init(pkt, 0x2222), &port);
	assert_int_equal(tclient_recvfrom(wa, buf, sizeof(buf), NULL, T_MS), 148);
	tclient_sendto(wa, pkt, tclient_wg_resp(pkt, 0x1112, 0x2222), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, T_MS), 92);
	direct_confirm(wa, wb, &port);
	assert_int_equal(poke(ma.port, 200), -ETIMEDOUT);
	/* Both leave: the session closes, its port with it. */
	m = (struct ctrl_msg){.type = CTRL_UNBIND, .handle = ma.handle};
	assert_int_equal(tclient_send_ctrl(&a, &m), 0);
	m = (struct ctrl_msg){.type = CTRL_UNBIND, .handle = mb.handle};
	assert_int_equal(tclient_send_ctrl(&b, &m), 0);
	for (int i = 0; i < 100 && (n = metric_now("wgrelayd_sessions")) != 0; i++)
		usleep(20000);
	assert_int_equal(n, 0);
	assert_int_equal(poke(ma.port, T_MS), -ECONNREFUSED);
	tclient_sendto(wa, pkt, tclient_wg_data(pkt, 64, 0x2222, 9), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, 200), -ETIMEDOUT);
	/* A new session takes a port, steered at once. */
	randombytes_buf(sid, sizeof(sid));
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, NULL, NULL, &ma, T_MS), 0);
	assert_int_equal(ma.type, CTRL_BOUND);
	assert_int_equal(poke(ma.port, 300), -ETIMEDOUT);
	close(wa);
	close(wb);
	tclient_close(&a);
	tclient_close(&b);
}

static void test_workers2(void **state)
{
	(void)state;
	scenario("2");
}

static void test_workers0(void **state)
{
	(void)state;
	scenario("0");
}

static void test_close_workers2(void **state)
{
	(void)state;
	close_and_reopen("2");
}

static void test_close_workers0(void **state)
{
	(void)state;
	close_and_reopen("0");
}

/* RFC 1071 the plain way, 16-bit big-endian words: an independent check of the sender's sum. */
static uint16_t csum16(const uint8_t *p, size_t len, uint32_t sum)
{
	for (size_t i = 0; i + 1 < len; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (len & 1)
		sum += (uint32_t)p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)sum;
}

/*
 * The UDP datagram to port `to` that raw socket cap sees next (IPv4 raw sockets get the IP
 * header, IPv6 ones do not); its checksum recomputed here must verify (sum of all ones).
 */
static void check_captured(int cap, int fam, uint16_t from, uint16_t to, const uint8_t *src,
                           const uint8_t *dst, size_t len)
{
	uint8_t buf[2048];
	int alen = fam == AF_INET ? 4 : 16;

	for (int tries = 0; tries < 64; tries++) {
		int n = tclient_recvfrom(cap, buf, sizeof(buf), NULL, T_MS);
		size_t ihl = fam == AF_INET ? (size_t)(buf[0] & 15) * 4 : 0;
		uint8_t *u = buf + ihl, ph[40];
		uint32_t sum;

		assert_true(n > 0);
		if ((size_t)n < ihl + 8 || (u[0] << 8 | u[1]) != from || (u[2] << 8 | u[3]) != to)
			continue;
		assert_int_equal((size_t)n - ihl, len + 8);
		assert_int_equal(u[4] << 8 | u[5], len + 8);
		assert_int_not_equal(u[6] << 8 | u[7], 0); /* a checksum, not "none" */
		/* The pseudo-header (RFC 768, RFC 8200 §8.1), then the datagram as sent. */
		memcpy(ph, src, (size_t)alen);
		memcpy(ph + alen, dst, (size_t)alen);
		sum = csum16(ph, (size_t)alen * 2, 0) + IPPROTO_UDP + (uint32_t)(len + 8);
		assert_int_equal(csum16(u, len + 8, sum), 0xffff);
		return;
	}
	fail_msg("no datagram %u -> %u captured", from, to);
}

/*
 * The raw sender alone: a datagram from a chosen local address and port to a UDP socket, for
 * each family, arrives intact from there; the checksums verified independently.
 */
static void test_raw_sender(void **state)
{
	static struct portshare_tx tx;
	uint8_t payload[301], buf[512];
	struct addr src4, dst4, src6, dst6, got;
	int six = 6, rx4, rx6, cap4, cap6, off = 0;
	struct sockaddr_in6 sa6 = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	socklen_t sl = sizeof(sa6);

	(void)state;
	randombytes_buf(payload, sizeof(payload));
	tx.raw4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
	tx.raw6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
	assert_true(tx.raw4 >= 0 && tx.raw6 >= 0);
	assert_int_equal(setsockopt(tx.raw6, IPPROTO_IPV6, IPV6_CHECKSUM, &six, sizeof(six)), 0);
	cap4 = socket(AF_INET, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
	cap6 = socket(AF_INET6, SOCK_RAW | SOCK_CLOEXEC, IPPROTO_UDP);
	assert_true(cap4 >= 0 && cap6 >= 0);
	rx4 = tclient_udp();
	rx6 = socket(AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_int_equal(setsockopt(rx6, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)), 0);
	assert_int_equal(bind(rx6, (struct sockaddr *)&sa6, sizeof(sa6)), 0);
	assert_int_equal(getsockname(rx6, (struct sockaddr *)&sa6, &sl), 0);
	{
		struct sockaddr_in sa4;

		sl = sizeof(sa4);
		assert_int_equal(getsockname(rx4, (struct sockaddr *)&sa4, &sl), 0);
		addr_from_sockaddr(&dst4, (struct sockaddr *)&sa4, sl);
	}
	addr_from_sockaddr(&dst6, (struct sockaddr *)&sa6, sizeof(sa6));
	src4 = at(2, 40404);
	assert_int_equal(addr_parse(&src6, "[::1]:40406", 0), 0);
	/* Odd lengths exercise the checksum's last byte; 0 bytes its header-only case. */
	portshare_tx_add(&tx, &src4, &dst4, payload, sizeof(payload));
	portshare_tx_add(&tx, &src6, &dst6, payload, sizeof(payload) - 2);
	portshare_tx_add(&tx, &src4, &dst4, payload, 0);
	portshare_tx_flush(&tx);
	assert_int_equal(tx.failed, 0);
	assert_int_equal(tclient_recvfrom(rx4, buf, sizeof(buf), &got, T_MS), sizeof(payload));
	assert_memory_equal(buf, payload, sizeof(payload));
	assert_true(addr_equal(&got, &src4));
	assert_int_equal(tclient_recvfrom(rx4, buf, sizeof(buf), &got, T_MS), 0);
	assert_int_equal(tclient_recvfrom(rx6, buf, sizeof(buf), &got, T_MS), sizeof(payload) - 2);
	assert_memory_equal(buf, payload, sizeof(payload) - 2);
	assert_true(addr_equal(&got, &src6));
	check_captured(cap4, AF_INET, 40404, addr_port(&dst4), (const uint8_t *)&src4.in.sin_addr,
	               (const uint8_t *)&dst4.in.sin_addr, sizeof(payload));
	check_captured(cap4, AF_INET, 40404, addr_port(&dst4), (const uint8_t *)&src4.in.sin_addr,
	               (const uint8_t *)&dst4.in.sin_addr, 0);
	check_captured(cap6, AF_INET6, 40406, addr_port(&dst6),
	               (const uint8_t *)&src6.in6.sin6_addr, (const uint8_t *)&dst6.in6.sin6_addr,
	               sizeof(payload) - 2);
	/* A family with no raw socket is a refusal, counted, not a crash. */
	close(tx.raw6);
	tx.raw6 = -1;
	portshare_tx_add(&tx, &src6, &dst6, payload, 10);
	assert_int_equal(tx.failed, 1);
	assert_int_equal(tx.failed_bytes, 10);
	close(tx.raw4);
	close(cap4);
	close(cap6);
	close(rx4);
	close(rx6);
}

/*
 * A PortRange inside the kernel's ephemeral ports (40000-60999 in this namespace) is refused
 * at start, naming why; the same range reserved with ip_local_reserved_ports is taken.
 */
static void test_ephemeral_overlap(void **state)
{
	char cmd[1024], out[1024], dir[] = "/tmp/wgr-portshare-XXXXXX";
	const char *bin = getenv("WGR_BINARY_DIR");
	FILE *f;
	size_t n;
	int st;

	(void)state;
	assert_non_null(bin);
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/shared.conf", dir);
	write_file(conf, "[Relay]\nSessionSockets = shared\nWorkers = 0\n");
	snprintf(cmd, sizeof(cmd),
	         "timeout 10 %s/relayd/wgrelayd -c %s --key-file %s/key --listen 127.0.0.1:%u "
	         "--metrics off --port-range 45000-45099 2>&1",
	         bin, conf, dir, free_port());
	f = popen(cmd, "r");
	assert_non_null(f);
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	st = pclose(f);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	if (!strstr(out, "PortRange 45000-45099 overlaps the kernel's ephemeral ports 40000-60999"))
		fail_msg("no reason given: %s", out);
	/* Reserved: the same range starts, and its ports are the sessions'. */
	write_file("/proc/sys/net/ipv4/ip_local_reserved_ports", "45000-45099\n");
	relay_start("-c", conf, "--allow-loopback", "--port-range", "45000-45099", NULL);
	{
		struct tclient a;
		struct ctrl_msg m;
		uint8_t sid[16];

		randombytes_buf(sid, sizeof(sid));
		client(&a);
		assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, NULL, NULL, &m, T_MS), 0);
		assert_int_equal(m.type, CTRL_BOUND);
		assert_in_range(m.port, 45000, 45099);
		assert_int_equal(poke(m.port, 300), -ETIMEDOUT); /* steered */
		assert_int_equal(poke(m.port == 45099 ? 45098 : m.port + 1, T_MS), -ECONNREFUSED);
		tclient_close(&a);
	}
	write_file("/proc/sys/net/ipv4/ip_local_reserved_ports", "\n");
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
}

/* A trivial sk_lookup program loads here (BPF, the program type, the rights). */
static int bpf_usable(void)
{
	struct bpf_insn prog[] = {
	    {.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = SK_PASS},
	    {.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr a;
	int fd;

	memset(&a, 0, sizeof(a));
	a.prog_type = BPF_PROG_TYPE_SK_LOOKUP;
	a.expected_attach_type = BPF_SK_LOOKUP;
	a.insns = (uint64_t)(uintptr_t)prog;
	a.insn_cnt = 2;
	a.license = (uint64_t)(uintptr_t) "GPL";
	fd = sys_bpf(BPF_PROG_LOAD, &a);
	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_raw_sender),
	    cmocka_unit_test_teardown(test_ephemeral_overlap, relay_stop),
	    cmocka_unit_test_teardown(test_workers2, relay_stop),
	    cmocka_unit_test_teardown(test_workers0, relay_stop),
	    cmocka_unit_test_teardown(test_close_workers2, relay_stop),
	    cmocka_unit_test_teardown(test_close_workers0, relay_stop),
	};
	struct ifreq ifr = {.ifr_name = "lo"};
	int fd, e;

#ifndef WGR_HAVE_XDP
	printf("skip: built without BPF (clang and libbpf)\n");
	return 77;
#endif
	if (geteuid() != 0) {
		printf("skip: needs root\n");
		return 77;
	}
	if (unshare(CLONE_NEWNET) < 0) {
		printf("skip: no network namespace: %s\n", strerror(errno));
		return 77;
	}
	if ((e = bpf_usable()) < 0) {
		printf("skip: no sk_lookup BPF here: %s\n", strerror(-e));
		return 77;
	}
	/*
	 * Ephemeral ports above the harness's PortRange (20000-39999 at most): a session port must
	 * never be one the kernel may give a local socket (the relay refuses that range).
	 */
	fd = open("/proc/sys/net/ipv4/ip_local_port_range", O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, "40000 60999\n", 12) != 12)
		return 1;
	close(fd);
	/* The namespace's loopback starts down. */
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return 1;
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0)
		return 1;
	close(fd);
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
