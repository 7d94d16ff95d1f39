/*
 * Integration tests: wgrelayd under attack (issue "wgrelayd and wgrelay under attack"). Each
 * test is an attack that worked before the relay was hardened: the hijack of a direct
 * session by forged handshake messages, the open proxy through a forged source address, one
 * address filling the relay, oversized datagrams, and log flooding. Loopback only: every
 * client is 127.0.0.1, which is also "the other member's public IP" for the attacker.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "harness.h"
#include "key.h"
#include "seal.h"

static char conf[160];

/* A relay with metrics on a free port, and the config text given (NULL: none). */
static void start(char maddr[32], const char *conf_text, const char *more)
{
	snprintf(maddr, 32, "127.0.0.1:%u", free_port());
	snprintf(conf, sizeof(conf), "/tmp/wgr-attack-%d.conf", getpid());
	write_file(conf, conf_text ? conf_text : "");
	relay_start("--allow-loopback", "--metrics", maddr, "-c", conf, more, NULL);
}

/* Teardown: the relay (by PID) and its config file. */
static int stop(void **state)
{
	int r = relay_stop(state);

	unlink(conf);
	return r;
}

static long long scrape(const char *maddr, const char *name)
{
	static char text[16384];

	assert_true(http_get(maddr, "/metrics", text, sizeof(text)) > 0);
	return metric(text, name);
}

/*
 * A paired direct session of fresh clients a, b; WireGuard sockets wa, wb confirmed. When
 * b_host is not 0, B lives on 127.0.0.B_HOST (its link and wb must be there): another
 * public IP than A's.
 */
static void pair_direct_on(struct tclient *a, struct tclient *b, int wa, int wb, struct addr *port,
                           uint8_t b_host)
{
	struct ctrl_msg ma, mb;
	uint8_t sid[16], pkt[256], buf[256];

	randombytes_buf(sid, sizeof(sid));
	client(a);
	assert_int_equal(tclient_open(b, R.addr, R.pub), 0);
	if (b_host) {
		close(b->fd);
		b->fd = tclient_udp_on(b_host);
	}
	assert_int_equal(tclient_handshake(b, T_MS), 0);
	assert_int_equal(tclient_bind(a, sid, PROTO_MODE_DIRECT, NULL, NULL, &ma, T_MS), 0);
	assert_int_equal(tclient_bind(b, sid, PROTO_MODE_DIRECT, NULL, NULL, &mb, T_MS), 0);
	*port = R.a;
	addr_set_port(port, ma.port);
	tclient_sendto(wa, pkt, tclient_wg_init(pkt, 0x1111), port);
	usleep(20000);
	tclient_sendto(wb, pkt, tclient_wg_init(pkt, 0x2222), port);
	assert_int_equal(tclient_recvfrom(wa, buf, sizeof(buf), NULL, T_MS), 148);
	tclient_sendto(wa, pkt, tclient_wg_resp(pkt, 0x1112, 0x2222), port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, T_MS), 92);
	direct_confirm(wa, wb, port);
}

static void pair_direct(struct tclient *a, struct tclient *b, int wa, int wb, struct addr *port)
{
	pair_direct_on(a, b, wa, wb, port, 0);
}

/* One datagram each way between the members; true when both arrived unchanged. */
static bool both_ways(int wa, int wb, const struct addr *port, uint64_t ctr)
{
	uint8_t pkt[256], buf[256];

	tclient_sendto(wa, pkt, tclient_wg_data(pkt, 96, 0x2222, ctr), port);
	if (tclient_recvfrom(wb, buf, sizeof(buf), NULL, T_MS) != 96 || memcmp(buf, pkt, 96))
		return false;
	tclient_sendto(wb, pkt, tclient_wg_data(pkt, 80, 0x1112, ctr), port);
	return tclient_recvfrom(wa, buf, sizeof(buf), NULL, T_MS) == 80 && !memcmp(buf, pkt, 80);
}

/*
 * The hijack: a forged initiation from B's public IP (another port) and a forged response from
 * A's public IP (another port) with matching indices, no WireGuard keys at all. Before, both
 * confirmed addresses moved to the attacker and the real peers were blackholed.
 */
static void test_direct_hijack(void **state)
{
	struct tclient a, b;
	struct addr port;
	char maddr[32];
	uint8_t pkt[256], buf[256];
	/* A on 127.0.0.1, B on 127.0.0.2; the attacker sends from both IPs, other ports. */
	int wa = tclient_udp(), wb = tclient_udp_on(2), xb = tclient_udp_on(2), xa = tclient_udp();

	(void)state;
	start(maddr, NULL, NULL);
	pair_direct_on(&a, &b, wa, wb, &port, 2);
	assert_true(both_ways(wa, wb, &port, 1));
	/* The forged initiation reaches A's WireGuard (which drops it): the relay cannot tell. */
	tclient_sendto(xb, pkt, tclient_wg_init(pkt, 0x7777), &port);
	assert_int_equal(tclient_recvfrom(wa, buf, sizeof(buf), NULL, T_MS), 148);
	/* The forged response does not come from where the initiation went: dropped. */
	tclient_sendto(xa, pkt, tclient_wg_resp(pkt, 0x8888, 0x7777), &port);
	assert_int_equal(tclient_recvfrom(xb, buf, sizeof(buf), NULL, 300), -ETIMEDOUT);
	/* Nor does data naming the forged index prove the attacker's address. */
	tclient_sendto(xb, pkt, tclient_wg_data(pkt, 64, 0x8888, 0), &port);
	tclient_sendto(xa, pkt, tclient_wg_data(pkt, 64, 0x7777, 0), &port);
	assert_int_equal(tclient_recvfrom(wa, buf, sizeof(buf), NULL, 300), -ETIMEDOUT);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, 300), -ETIMEDOUT);
	/* The real peers still talk, and the attacker's sockets got nothing. */
	for (uint64_t i = 2; i < 12; i++)
		assert_true(both_ways(wa, wb, &port, i));
	assert_int_equal(tclient_recvfrom(xa, buf, sizeof(buf), NULL, 200), -ETIMEDOUT);
	assert_int_equal(tclient_recvfrom(xb, buf, sizeof(buf), NULL, 200), -ETIMEDOUT);
	assert_true(scrape(maddr, "wgrelayd_drops_total{reason=\"unconfirmed\"}") >= 3);
	close(wa);
	close(wb);
	close(xa);
	close(xb);
	tclient_close(&a);
	tclient_close(&b);
}

/*
 * Roaming that is real: A's NAT gives it a new port. Its new address is proven by a handshake
 * through the relay, but takes effect only once the old one has been silent for 15 s (a member
 * that is talking is where it is). Then traffic flows to the new address.
 */
static void test_direct_roam_after_silence(void **state)
{
	struct tclient a, b;
	struct addr port;
	char maddr[32];
	uint8_t pkt[256], buf[256];
	int wa = tclient_udp(), wb = tclient_udp(), wa2 = tclient_udp();

	(void)state;
	start(maddr, NULL, NULL);
	pair_direct(&a, &b, wa, wb, &port);
	assert_true(both_ways(wa, wb, &port, 1));
	/* A initiates from its new port: delivered to B, B answers, the response reaches A. */
	tclient_sendto(wa2, pkt, tclient_wg_init(pkt, 0x3333), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, T_MS), 148);
	tclient_sendto(wb, pkt, tclient_wg_resp(pkt, 0x4444, 0x3333), &port);
	assert_int_equal(tclient_recvfrom(wa2, buf, sizeof(buf), NULL, T_MS), 92);
	/* The old address talked a moment ago: the new one is not taken yet. */
	tclient_sendto(wa2, pkt, tclient_wg_data(pkt, 32, 0x4444, 0), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, 300), -ETIMEDOUT);
	assert_true(scrape(maddr, "wgrelayd_drops_total{reason=\"unproven\"}") >= 1);
	/* 15 s of silence from the old address later, the new one is proven by the same proof. */
	sleep(16);
	tclient_sendto(wa2, pkt, tclient_wg_data(pkt, 32, 0x4444, 1), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, T_MS), 32);
	tclient_sendto(wb, pkt, tclient_wg_data(pkt, 48, 0x3333, 1), &port);
	assert_int_equal(tclient_recvfrom(wa2, buf, sizeof(buf), NULL, T_MS), 48);
	assert_int_equal(tclient_recvfrom(wa, buf, sizeof(buf), NULL, 200), -ETIMEDOUT);
	close(wa);
	close(wa2);
	close(wb);
	tclient_close(&a);
	tclient_close(&b);
}

/*
 * The open proxy: one authenticated CTRL frame from a forged source (a client may forge its
 * own frames' source) moved the link there, and the relay then sent the session's traffic to
 * that address. Now the forged address gets only the bounded answer and a challenge it
 * cannot answer; the link stays where it is proven.
 */
static void test_link_moves_only_when_proven(void **state)
{
	struct tclient a, b;
	struct ctrl_msg ma, mb, m = {.type = CTRL_KEEPALIVE};
	uint8_t sid[16], frame[256], buf[PROTO_MAX_FRAME], pt[PROTO_MAX_CTRL_PLAIN];
	char maddr[32];
	int victim = tclient_udp(), n, real = -1;
	size_t flen;
	struct replay rp;

	(void)state;
	start(maddr, NULL, NULL);
	randombytes_buf(sid, sizeof(sid));
	client(&a);
	client(&b);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_SEALED, NULL, NULL, &ma, T_MS), 0);
	assert_int_equal(tclient_bind(&b, sid, PROTO_MODE_SEALED, NULL, NULL, &mb, T_MS), 0);
	assert_int_equal(tclient_recv_ctrl(&a, &ma, T_MS), 0); /* paired notice */
	/* A's KEEPALIVE, sent "from the victim". */
	real = a.fd;
	a.fd = victim;
	assert_int_equal(tclient_send_ctrl(&a, &m), 0);
	a.fd = real;
	/* The victim gets the answer to that request and one challenge, each no larger than it. */
	for (int i = 0; i < 2; i++) {
		n = tclient_recvfrom(victim, buf, sizeof(buf), NULL, T_MS);
		assert_true(n > 0 && n <= PROTO_CTRL_REQ_MIN + PROTO_SEALED_OVERHEAD);
	}
	assert_int_equal(tclient_recvfrom(victim, buf, sizeof(buf), NULL, 200), -ETIMEDOUT);
	/* B's data still goes to A's proven address, never to the victim. */
	replay_init(&rp);
	for (uint64_t i = 0; i < 5; i++) {
		memcpy(frame + PROTO_SEALED_HDR_LEN, "wireguard", 9);
		flen = seal_data(frame, 9, mb.handle, i, sid, b.keys.data_send);
		tclient_sendto(b.fd, frame, flen, &R.a);
		n = tclient_recvfrom(a.fd, buf, sizeof(buf), NULL, T_MS);
		assert_int_equal(n, (int)flen);
		assert_int_equal(seal_open_data(buf, (size_t)n, sid, a.keys.data_recv, &rp), 9);
	}
	assert_int_equal(tclient_recvfrom(victim, buf, sizeof(buf), NULL, 200), -ETIMEDOUT);
	/* A wrong token from the right address, or the right token from elsewhere: no move. */
	{
		struct ctrl_msg r = {.type = CTRL_RESPONSE};

		randombytes_buf(r.token, sizeof(r.token));
		a.fd = victim;
		assert_int_equal(tclient_send_ctrl(&a, &r), 0);
		a.fd = real;
	}
	usleep(100000);
	flen = seal_data(frame, 9, mb.handle, 10, sid, b.keys.data_send);
	tclient_sendto(b.fd, frame, flen, &R.a);
	assert_int_equal(tclient_recvfrom(a.fd, buf, sizeof(buf), NULL, T_MS), (int)flen);
	assert_true(scrape(maddr, "wgrelayd_drops_total{reason=\"unproven\"}") >= 1);
	(void)pt;
	close(victim);
	tclient_close(&a);
	tclient_close(&b);
}

/* A datagram larger than MaxPacket is not forwarded (a 65 KB "transport" message was). */
static void test_max_packet(void **state)
{
	struct tclient a, b;
	struct addr port;
	char maddr[32];
	static uint8_t pkt[65000], buf[65536];
	int wa = tclient_udp(), wb = tclient_udp();
	long long malformed;

	(void)state;
	start(maddr, NULL, NULL);
	pair_direct(&a, &b, wa, wb, &port);
	/* 1472 bytes: the largest a 1500-byte IPv4 path carries. */
	tclient_sendto(wa, pkt, tclient_wg_data(pkt, 1472, 0x2222, 1), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, T_MS), 1472);
	tclient_sendto(wa, pkt, tclient_wg_data(pkt, 1473, 0x2222, 2), &port);
	tclient_sendto(wa, pkt, tclient_wg_data(pkt, sizeof(pkt), 0x2222, 3), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, 300), -ETIMEDOUT);
	assert_int_equal(scrape(maddr, "wgrelayd_drops_total{reason=\"oversize\"}"), 2);
	/* Sealed mode holds the same bound, checked before any crypto. */
	{
		struct tclient sa, sb;
		struct ctrl_msg ma, mb;
		uint8_t sid[16];
		static uint8_t frame[2048];
		size_t flen;

		randombytes_buf(sid, sizeof(sid));
		client(&sa);
		client(&sb);
		assert_int_equal(tclient_bind(&sa, sid, PROTO_MODE_SEALED, NULL, NULL, &ma, T_MS),
		                 0);
		assert_int_equal(tclient_bind(&sb, sid, PROTO_MODE_SEALED, NULL, NULL, &mb, T_MS),
		                 0);
		assert_int_equal(tclient_recv_ctrl(&sa, &ma, T_MS), 0); /* paired notice */
		for (size_t len = 1472; len <= 1473; len++) {
			memset(frame + PROTO_SEALED_HDR_LEN, 4, len);
			flen = seal_data(frame, len, ma.handle, len, sid, sa.keys.data_send);
			tclient_sendto(sa.fd, frame, flen, &R.a);
		}
		assert_int_equal(tclient_recvfrom(sb.fd, buf, sizeof(buf), NULL, T_MS),
		                 1472 + PROTO_SEALED_OVERHEAD);
		assert_int_equal(tclient_recvfrom(sb.fd, buf, sizeof(buf), NULL, 300), -ETIMEDOUT);
		assert_int_equal(scrape(maddr, "wgrelayd_drops_total{reason=\"oversize\"}"), 3);
		tclient_close(&sa);
		tclient_close(&sb);
	}
	/* An empty datagram on a session port is counted like one on the control port. */
	malformed = scrape(maddr, "wgrelayd_drops_total{reason=\"malformed\"}");
	tclient_sendto(wa, pkt, 0, &port);
	usleep(100000);
	assert_int_equal(scrape(maddr, "wgrelayd_drops_total{reason=\"malformed\"}"),
	                 malformed + 1);
	close(wa);
	close(wb);
	tclient_close(&a);
	tclient_close(&b);
	stop(NULL);
	/* Jumbo frames: MaxPacket raised, 9000 bytes pass. */
	wa = tclient_udp();
	wb = tclient_udp();
	start(maddr, "[Limits]\nMaxPacket = 9000\n", NULL);
	pair_direct(&a, &b, wa, wb, &port);
	tclient_sendto(wa, pkt, tclient_wg_data(pkt, 9000, 0x2222, 1), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, T_MS), 9000);
	close(wa);
	close(wb);
	tclient_close(&a);
	tclient_close(&b);
}

/* One address cannot take every link: MaxLinksPerSource, and MaxLinks evicting unbound links. */
static void test_link_caps(void **state)
{
	struct tclient c[6];
	struct ctrl_msg m;
	uint8_t sid[16];
	char maddr[32];

	(void)state;
	start(maddr, "[Limits]\nMaxLinksPerSource = 4\n", NULL);
	for (int i = 0; i < 4; i++)
		client(&c[i]);
	assert_int_equal(tclient_open(&c[4], R.addr, R.pub), 0);
	assert_int_equal(tclient_handshake(&c[4], 300), -ETIMEDOUT);
	assert_int_equal(scrape(maddr, "wgrelayd_drops_total{reason=\"limit\"}"), 1);
	assert_int_equal(scrape(maddr, "wgrelayd_links"), 4);
	for (int i = 0; i < 5; i++)
		tclient_close(&c[i]);
	stop(NULL);
	/* MaxLinks = 3: the fourth evicts the unbound link; with all bound, it is refused. */
	start(maddr, "[Limits]\nMaxLinks = 3\n", NULL);
	for (int i = 0; i < 3; i++) {
		client(&c[i]);
		if (i) {
			randombytes_buf(sid, sizeof(sid));
			assert_int_equal(
			    tclient_bind(&c[i], sid, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS), 0);
		}
	}
	client(&c[3]); /* c[0] had nothing bound: evicted */
	assert_int_equal(scrape(maddr, "wgrelayd_links"), 3);
	randombytes_buf(sid, sizeof(sid));
	assert_int_equal(tclient_bind(&c[3], sid, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(tclient_open(&c[4], R.addr, R.pub), 0);
	assert_int_equal(tclient_handshake(&c[4], 300), -ETIMEDOUT);
	/* The evicted client's frames now find no link. */
	m = (struct ctrl_msg){.type = CTRL_KEEPALIVE};
	assert_int_equal(tclient_send_ctrl(&c[0], &m), 0);
	assert_int_equal(tclient_recv_ctrl(&c[0], &m, 300), -ETIMEDOUT);
	for (int i = 0; i < 5; i++)
		tclient_close(&c[i]);
}

/* Throw-away keys from one address: MaxReservationsPerSource holds, not just per key. */
static void test_reservations_per_source(void **state)
{
	struct tclient c[12];
	struct ctrl_msg m;
	uint8_t sid[16];
	char maddr[32];
	int ok = 0;

	(void)state;
	start(maddr, "[Limits]\nMaxReservationsPerSource = 5\n", NULL);
	for (int i = 0; i < 12; i++) {
		client(&c[i]);
		randombytes_buf(sid, sizeof(sid));
		assert_int_equal(tclient_bind(&c[i], sid, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS),
		                 0);
		ok += m.type == CTRL_BOUND;
		if (m.type == CTRL_ERROR)
			assert_int_equal(m.code, PROTO_ERR_LIMIT_RESERVATIONS);
	}
	assert_int_equal(ok, 5);
	assert_int_equal(scrape(maddr, "wgrelayd_reservations"), 5);
	for (int i = 0; i < 12; i++)
		tclient_close(&c[i]);
}

/* Sessions restored after a restart obey the limits too (here: 3 per key in open mode). */
static void test_restore_obeys_limits(void **state)
{
	char path[160], line[256], key[KEY_B64_STRLEN], maddr[32];
	uint8_t pub[32];
	FILE *f;
	int status;

	(void)state;
	start(maddr, NULL, NULL);
	kill(R.pid, SIGTERM);
	assert_int_equal(waitpid(R.pid, &status, 0), R.pid);
	randombytes_buf(pub, sizeof(pub));
	key_to_base64(key, pub);
	snprintf(path, sizeof(path), "%s.sessions", R.key);
	f = fopen(path, "w");
	assert_non_null(f);
	for (int i = 0; i < 8; i++) {
		fprintf(f, "session %032x %d\n", i + 1, atoi(strchr(R.range, '-') + 1) - i);
		snprintf(line, sizeof(line), "member %032x %s %08x 198.51.100.7 -\n", i + 1, key,
		         0x100 + i);
		fputs(line, f);
	}
	fclose(f);
	relay_spawn();
	assert_int_equal(scrape(maddr, "wgrelayd_reservations"), 3);
	assert_int_equal(scrape(maddr, "wgrelayd_sessions"), 3);
}

/*
 * Log flooding: a client's requests cannot make the relay write a line each. Before, every
 * denied BIND wrote 72 bytes of log.
 */
static void test_log_flood(void **state)
{
	static char log[1 << 20];
	struct tclient c;
	struct ctrl_msg m;
	uint8_t sid[16];
	char maddr[32];
	size_t before;

	(void)state;
	start(maddr, "[Relay]\nModes = sealed\n", NULL);
	client(&c);
	before = relay_log(log, sizeof(log));
	for (int i = 0; i < 300; i++) {
		randombytes_buf(sid, sizeof(sid));
		assert_int_equal(tclient_bind(&c, sid, PROTO_MODE_DIRECT, NULL, NULL, &m, T_MS), 0);
		assert_int_equal(m.code, PROTO_ERR_MODE_NOT_ALLOWED);
	}
	relay_log(log, sizeof(log));
	printf("log: %zu bytes for 300 denied requests\n", strlen(log) - before);
	assert_true(count_lines(log, "request denied") <= 12);
	assert_true(strlen(log) - before < 2048);
	/* Renewals are debug lines. */
	randombytes_buf(sid, sizeof(sid));
	for (int i = 0; i < 20; i++)
		assert_int_equal(tclient_bind(&c, sid, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS), 0);
	relay_log(log, sizeof(log));
	assert_int_equal(count_lines(log, "renewed"), 0);
	tclient_close(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_direct_hijack, stop),
	    cmocka_unit_test_teardown(test_direct_roam_after_silence, stop),
	    cmocka_unit_test_teardown(test_link_moves_only_when_proven, stop),
	    cmocka_unit_test_teardown(test_max_packet, stop),
	    cmocka_unit_test_teardown(test_link_caps, stop),
	    cmocka_unit_test_teardown(test_reservations_per_source, stop),
	    cmocka_unit_test_teardown(test_restore_obeys_limits, stop),
	    cmocka_unit_test_teardown(test_log_flood, stop),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
