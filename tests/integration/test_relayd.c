/*
 * Integration tests: the real wgrelayd binary on loopback, driven by tclient. Each test starts
 * its own relay (by PID, stopped in teardown) with the flags it needs.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "buf.h"
#include "key.h"
#include "seal.h"
#include "tclient.h"

#include "harness.h"

static void test_ping_pong_observed_address(void **state)
{
	uint8_t ping[PROTO_PING_LEN], buf[256];
	struct frame_pong pong;
	struct addr me;
	socklen_t sl = sizeof(me.in);
	int fd, n;

	(void)state;
	relay_start("--allow-loopback", NULL);
	fd = tclient_udp();
	getsockname(fd, &me.sa, &sl);
	me.len = sl;
	frame_encode_ping(ping, 0xabcdef);
	tclient_sendto(fd, ping, sizeof(ping), &R.a);
	n = tclient_recvfrom(fd, buf, sizeof(buf), NULL, T_MS);
	assert_int_equal(n, PROTO_PONG_LEN);
	assert_int_equal(frame_decode_pong(buf, (size_t)n, &pong), 0);
	assert_true(pong.nonce == 0xabcdef);
	assert_true(addr_equal(&pong.observed, &me));
	assert_true(pong.flags & PONG_F_DIRECT_OK);
	close(fd);
}

static void test_loopback_refused_by_default(void **state)
{
	uint8_t ping[PROTO_PING_LEN], buf[256];
	int fd;

	(void)state;
	/* Without --allow-loopback the relay never sends to 127/8: no PONG comes back. */
	relay_start(NULL);
	fd = tclient_udp();
	frame_encode_ping(ping, 1);
	tclient_sendto(fd, ping, sizeof(ping), &R.a);
	assert_int_equal(tclient_recvfrom(fd, buf, sizeof(buf), NULL, 300), -ETIMEDOUT);
	close(fd);
}

static void test_pairing_full_and_rebind(void **state)
{
	struct tclient a, b, x, a2;
	struct ctrl_msg m;
	uint8_t sid[16];

	(void)state;
	relay_start("--allow-loopback", NULL);
	randombytes_buf(sid, sizeof(sid));
	client(&a);
	client(&b);
	client(&x);
	assert_true(addr_equal_ip(&a.observed, &R.a));
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_BOUND);
	assert_int_equal(m.state, PROTO_WAITING);
	assert_true(m.port != 0);
	assert_int_equal(tclient_bind(&b, sid, PROTO_MODE_DIRECT, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_BOUND);
	assert_int_equal(m.state, PROTO_PAIRED);
	/* The waiting member hears that its session is paired. */
	assert_int_equal(tclient_recv_ctrl(&a, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_BOUND);
	assert_int_equal(m.state, PROTO_PAIRED);
	/* A third binder is refused. */
	assert_int_equal(tclient_bind(&x, sid, PROTO_MODE_DIRECT, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_ERROR);
	assert_int_equal(m.code, PROTO_ERR_SESSION_FULL);
	/* A second member asking for the other data mode is told so. */
	{
		uint8_t sid2[16];

		randombytes_buf(sid2, sizeof(sid2));
		assert_int_equal(tclient_bind(&x, sid2, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS),
		                 0);
		assert_int_equal(m.type, CTRL_BOUND);
		assert_int_equal(tclient_bind(&b, sid2, PROTO_MODE_DIRECT, NULL, NULL, &m, T_MS),
		                 0);
		assert_int_equal(m.type, CTRL_ERROR);
		assert_int_equal(m.code, PROTO_ERR_MODE_MISMATCH);
	}
	/* The same client key on a new link (a restarted helper) takes its membership back. */
	assert_int_equal(tclient_open(&a2, R.addr, R.pub), 0);
	memcpy(a2.priv, a.priv, 32);
	memcpy(a2.pub, a.pub, 32);
	hs_client_init(&a2.hs, a2.priv, R.pub);
	assert_int_equal(tclient_handshake(&a2, T_MS), 0);
	assert_int_equal(tclient_bind(&a2, sid, PROTO_MODE_DIRECT, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_BOUND);
	assert_int_equal(m.state, PROTO_PAIRED);
	/* Unbinding: the other member waits again. */
	{
		struct ctrl_msg u = {.type = CTRL_UNBIND, .handle = m.handle};

		assert_int_equal(tclient_send_ctrl(&a2, &u), 0);
		assert_int_equal(tclient_recv_ctrl(&b, &m, T_MS), 0);
		assert_int_equal(m.type, CTRL_BOUND);
		assert_int_equal(m.state, PROTO_WAITING);
	}
	tclient_close(&a);
	tclient_close(&b);
	tclient_close(&x);
	tclient_close(&a2);
}

/* Two "WireGuard" sockets exchange a handshake and data through a direct session. */
static void test_direct_mode_forwarding(void **state)
{
	struct tclient a, b;
	struct ctrl_msg ma, mb;
	uint8_t sid[16], pkt[2048], buf[2048];
	struct addr port, from;
	int wa = tclient_udp(), wb = tclient_udp(), spy = tclient_udp(), n;

	char maddr[32], text[8192];

	(void)state;
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", free_port());
	relay_start("--allow-loopback", "--metrics", maddr, NULL);
	randombytes_buf(sid, sizeof(sid));
	client(&a);
	client(&b);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, NULL, NULL, &ma, T_MS), 0);
	assert_int_equal(tclient_bind(&b, sid, PROTO_MODE_DIRECT, NULL, NULL, &mb, T_MS), 0);
	assert_int_equal(ma.port, mb.port);
	port = R.a;
	addr_set_port(&port, ma.port);
	/* A's WireGuard initiates; B is not known yet, so it is dropped, and B hears PEER_ACTIVE. */
	tclient_sendto(wa, pkt, tclient_wg_init(pkt, 0x1111), &port);
	assert_int_equal(tclient_recv_ctrl(&b, &mb, T_MS), 0);
	if (mb.type == CTRL_BOUND) /* the paired notice may come first */
		assert_int_equal(tclient_recv_ctrl(&b, &mb, T_MS), 0);
	assert_int_equal(mb.type, CTRL_PEER_ACTIVE);
	assert_memory_equal(mb.sid, sid, 16);
	/* B's WireGuard initiates: forwarded to A's candidate address. */
	tclient_sendto(wb, pkt, tclient_wg_init(pkt, 0x2222), &port);
	n = tclient_recvfrom(wa, buf, sizeof(buf), &from, T_MS);
	assert_int_equal(n, 148);
	assert_memory_equal(buf, pkt, 148);
	assert_int_equal(addr_port(&from), ma.port);
	/* Data before the handshake completed is dropped. */
	tclient_sendto(wa, pkt, tclient_wg_data(pkt, 64, 0x2222, 0), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, 200), -ETIMEDOUT);
	/* A answers B: both addresses are confirmed. */
	tclient_sendto(wa, pkt, tclient_wg_resp(pkt, 0x1112, 0x2222), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, T_MS), 92);
	/* A is proven (it answered); B only once its first data names A's response. */
	tclient_sendto(wa, pkt, tclient_wg_data(pkt, 64, 0x2222, 0), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, 200), -ETIMEDOUT);
	direct_confirm(wa, wb, &port);
	/* Data both ways, unmodified. */
	for (int i = 0; i < 50; i++) {
		tclient_sendto(wa, pkt, tclient_wg_data(pkt, 1440, 0x2222, (uint64_t)i), &port);
		assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, T_MS), 1440);
		assert_memory_equal(buf, pkt, 1440);
		tclient_sendto(wb, pkt, tclient_wg_data(pkt, 32, 0x1112, (uint64_t)i), &port);
		assert_int_equal(tclient_recvfrom(wa, buf, sizeof(buf), NULL, T_MS), 32);
		assert_memory_equal(buf, pkt, 32);
	}
	/* Not WireGuard-shaped, or data from an address that never handshook: dropped. */
	tclient_sendto(wa, "hello", 5, &port);
	tclient_sendto(wa, pkt, tclient_wg_data(pkt, 31, 0x2222, 1), &port); /* under 32 bytes */
	pkt[1] = 1;
	tclient_sendto(wa, pkt, 64, &port); /* reserved byte set */
	tclient_sendto(spy, pkt, tclient_wg_data(pkt, 64, 0x2222, 9), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, 300), -ETIMEDOUT);
	/* A handshake initiation with a broken mac1 is dropped before any Diffie-Hellman. */
	{
		uint8_t init[PROTO_HS_INIT_LEN];

		hs_client_build_init(&a.hs, init, 1);
		init[PROTO_HS_INIT_LEN - 20] ^= 1;
		tclient_sendto(spy, init, sizeof(init), &R.a);
		assert_int_equal(tclient_recvfrom(spy, buf, sizeof(buf), NULL, 300), -ETIMEDOUT);
	}
	/* The metrics endpoint counts all of it, with no per-session labels. */
	assert_true(http_get(maddr, "/metrics", text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "HTTP/1.0 200"));
	assert_int_equal(metric(text, "wgrelayd_packets_forwarded_total{mode=\"direct\"}"), 103);
	assert_int_equal(metric(text, "wgrelayd_packets_forwarded_total{mode=\"sealed\"}"), 0);
	assert_true(metric(text, "wgrelayd_bytes_forwarded_total{mode=\"direct\"}") >=
	            50 * (1440 + 32));
	assert_true(metric(text, "wgrelayd_drops_total{reason=\"malformed\"}") >= 3);
	assert_int_equal(metric(text, "wgrelayd_drops_total{reason=\"bad_mac\"}"), 1);
	assert_true(metric(text, "wgrelayd_drops_total{reason=\"unconfirmed\"}") +
	                metric(text, "wgrelayd_drops_total{reason=\"unknown_source\"}") >=
	            1);
	assert_int_equal(metric(text, "wgrelayd_sessions"), 1);
	assert_int_equal(metric(text, "wgrelayd_links"), 2);
	assert_null(strstr(text, "sid="));
	assert_true(http_get(maddr, "/nope", text, sizeof(text)) > 0);
	assert_non_null(strstr(text, "404"));
	close(wa);
	close(wb);
	close(spy);
	tclient_close(&a);
	tclient_close(&b);
}

static void test_sealed_mode_forwarding(void **state)
{
	struct tclient a, b;
	struct ctrl_msg ma, mb;
	uint8_t sid[16], frame[2048], buf[2048];
	const char *msg = "sealed WireGuard datagram";
	size_t len = strlen(msg), flen;
	struct replay rp;
	int n;

	(void)state;
	relay_start("--allow-loopback", NULL);
	randombytes_buf(sid, sizeof(sid));
	client(&a);
	client(&b);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_SEALED, NULL, NULL, &ma, T_MS), 0);
	assert_int_equal(tclient_bind(&b, sid, PROTO_MODE_SEALED, NULL, NULL, &mb, T_MS), 0);
	assert_int_equal(mb.state, PROTO_PAIRED);
	assert_int_equal(tclient_recv_ctrl(&a, &ma, T_MS), 0); /* paired notice */
	replay_init(&rp);
	for (uint64_t i = 0; i < 20; i++) {
		memcpy(frame + PROTO_SEALED_HDR_LEN, msg, len);
		flen = seal_data(frame, len, ma.handle, i, sid, a.keys.data_send);
		tclient_sendto(a.fd, frame, flen, &R.a);
		n = tclient_recvfrom(b.fd, buf, sizeof(buf), NULL, T_MS);
		assert_int_equal(n, (int)flen);
		/* What leaves differs from what entered (resealed per hop)... */
		assert_memory_not_equal(buf + 16, frame + 16, len);
		/* ...and opens with B's link key under B's handle. */
		assert_int_equal(seal_open_data(buf, (size_t)n, sid, b.keys.data_recv, &rp),
		                 (int)len);
		assert_memory_equal(buf + PROTO_SEALED_HDR_LEN, msg, len);
	}
	/* A replayed frame is not forwarded again. */
	tclient_sendto(a.fd, frame, flen, &R.a);
	assert_int_equal(tclient_recvfrom(b.fd, buf, sizeof(buf), NULL, 300), -ETIMEDOUT);
	/*
	 * Authenticated roaming: a forged frame from a new address moves nothing; a frame that
	 * opens under A's key from its new address moves A's link there, both ways.
	 */
	{
		int moved = tclient_udp(), old = a.fd;
		struct replay rpa;

		replay_init(&rpa);
		memcpy(frame + PROTO_SEALED_HDR_LEN, msg, len);
		flen = seal_data(frame, len, ma.handle, 20, sid, a.keys.data_send);
		frame[flen - 1] ^= 1;
		tclient_sendto(moved, frame, flen, &R.a);
		assert_int_equal(tclient_recvfrom(b.fd, buf, sizeof(buf), NULL, 300), -ETIMEDOUT);
		flen = seal_data(frame, len, mb.handle, 0, sid, b.keys.data_send);
		tclient_sendto(b.fd, frame, flen, &R.a);
		assert_int_equal(tclient_recvfrom(old, buf, sizeof(buf), NULL, T_MS), (int)flen);
		assert_int_equal(seal_open_data(buf, flen, sid, a.keys.data_recv, &rpa), (int)len);

		flen = seal_data(frame, len, ma.handle, 21, sid, a.keys.data_send);
		tclient_sendto(moved, frame, flen, &R.a);
		assert_int_equal(tclient_recvfrom(b.fd, buf, sizeof(buf), NULL, T_MS), (int)flen);
		/*
		 * The frame opened, so it was forwarded; but a source address is only a claim
		 * (whoever has the keys can forge one): B's traffic still goes to the proven
		 * address until the new one echoes the relay's challenge.
		 */
		flen = seal_data(frame, len, mb.handle, 1, sid, b.keys.data_send);
		tclient_sendto(b.fd, frame, flen, &R.a);
		assert_int_equal(tclient_recvfrom(old, buf, sizeof(buf), NULL, T_MS), (int)flen);
		assert_int_equal(tclient_answer_challenge(&a, moved, T_MS), 0);
		usleep(50000);
		flen = seal_data(frame, len, mb.handle, 2, sid, b.keys.data_send);
		tclient_sendto(b.fd, frame, flen, &R.a);
		n = tclient_recvfrom(moved, buf, sizeof(buf), NULL, T_MS);
		assert_int_equal(n, (int)flen);
		assert_int_equal(seal_open_data(buf, (size_t)n, sid, a.keys.data_recv, &rpa),
		                 (int)len);
		assert_int_equal(tclient_recvfrom(old, buf, sizeof(buf), NULL, 200), -ETIMEDOUT);
		close(moved);
	}
	tclient_close(&a);
	tclient_close(&b);
}

/* Link an opened client to the running relay (keys made before the relay was started). */
static void relink(struct tclient *c)
{
	uint8_t buf[PROTO_MAX_FRAME];

	/* What the previous relay said last (its ERROR(shutdown)) is of no use now. */
	while (tclient_recvfrom(c->fd, buf, sizeof(buf), NULL, 50) > 0)
		;
	memcpy(c->relay_pub, R.pub, 32);
	c->relay = R.a;
	hs_client_init(&c->hs, c->priv, R.pub);
	assert_int_equal(tclient_handshake(c, T_MS), 0);
}

/* n WireGuard data messages of 1000 bytes from fa through port: how many reached fb. */
static int direct_burst(int fa, int fb, const struct addr *port, uint64_t *counter, int n)
{
	uint8_t pkt[1000], buf[2048];
	int got = 0;

	for (int i = 0; i < n; i++) {
		tclient_sendto(fa, pkt, tclient_wg_data(pkt, sizeof(pkt), 0x2222, (*counter)++),
		               port);
		got += tclient_recvfrom(fb, buf, sizeof(buf), NULL, 300) == (int)sizeof(pkt);
	}
	return got;
}

/*
 * Keys mode with CircuitBytes = 3000: authenticated members are not limited, and stay so after
 * a restart once both have rebound (the saved sessions do not say who was authenticated).
 */
static void test_restored_circuit_limits(void **state)
{
	struct tclient a, b;
	struct ctrl_msg ma, mb;
	char path[128], conf[128], ka[KEY_B64_STRLEN], kb[KEY_B64_STRLEN], text[256];
	uint8_t sid[16], pkt[256], buf[256];
	struct addr port;
	uint64_t ctr = 0;
	int wa = tclient_udp(), wb = tclient_udp();

	(void)state;
	assert_int_equal(tclient_open(&a, "127.0.0.1:1", (uint8_t[32]){0}), 0);
	assert_int_equal(tclient_open(&b, "127.0.0.1:1", (uint8_t[32]){0}), 0);
	key_to_base64(ka, a.pub);
	key_to_base64(kb, b.pub);
	snprintf(path, sizeof(path), "/tmp/wgr-allow2-%d", getpid());
	snprintf(text, sizeof(text), "%s\n%s\n", ka, kb);
	write_file(path, text);
	snprintf(conf, sizeof(conf), "/tmp/wgr-lim2-%d.conf", getpid());
	write_file(conf, "[Limits]\nCircuitBytes = 3000\n");
	relay_start("--allow-loopback", "--auth", "keys", "--allowed-keys", path, "-c", conf, NULL);
	relink(&a);
	relink(&b);
	randombytes_buf(sid, sizeof(sid));
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, NULL, NULL, &ma, T_MS), 0);
	assert_int_equal(tclient_bind(&b, sid, PROTO_MODE_DIRECT, NULL, NULL, &mb, T_MS), 0);
	port = R.a;
	addr_set_port(&port, ma.port);
	tclient_sendto(wa, pkt, tclient_wg_init(pkt, 0x1111), &port);
	usleep(20000);
	tclient_sendto(wb, pkt, tclient_wg_init(pkt, 0x2222), &port);
	assert_int_equal(tclient_recvfrom(wa, buf, sizeof(buf), NULL, T_MS), 148);
	tclient_sendto(wa, pkt, tclient_wg_resp(pkt, 0x1112, 0x2222), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, T_MS), 92);
	direct_confirm(wa, wb, &port);
	assert_int_equal(direct_burst(wa, wb, &port, &ctr, 8), 8); /* 8000 bytes > 3000 */
	relay_restart();
	/* Restored: the confirmed members' traffic flows at once (limited until they rebind). */
	assert_int_equal(direct_burst(wa, wb, &port, &ctr, 2), 2);
	relink(&a);
	relink(&b);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, NULL, NULL, &ma, T_MS), 0);
	assert_int_equal(tclient_bind(&b, sid, PROTO_MODE_DIRECT, NULL, NULL, &mb, T_MS), 0);
	assert_int_equal(mb.state, PROTO_PAIRED);
	assert_int_equal(mb.port, addr_port(&port));
	assert_int_equal(direct_burst(wa, wb, &port, &ctr, 8), 8);
	unlink(path);
	unlink(conf);
	close(wa);
	close(wb);
	tclient_close(&a);
	tclient_close(&b);
}

static void test_keys_mode(void **state)
{
	struct tclient a, b;
	struct ctrl_msg m;
	char path[128], b64[KEY_B64_STRLEN], text[128];
	uint8_t sid[16] = {7};

	(void)state;
	assert_int_equal(tclient_open(&a, "127.0.0.1:1", (uint8_t[32]){0}), 0);
	key_to_base64(b64, a.pub);
	snprintf(path, sizeof(path), "/tmp/wgr-allow-%d", getpid());
	snprintf(text, sizeof(text), "# allowed\n%s\n", b64);
	write_file(path, text);
	relay_start("--allow-loopback", "--auth", "keys", "--allowed-keys", path, NULL);
	unlink(path);
	memcpy(a.relay_pub, R.pub, 32);
	a.relay = R.a;
	hs_client_init(&a.hs, a.priv, R.pub);
	assert_int_equal(tclient_handshake(&a, T_MS), 0);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_BOUND);
	client(&b);
	assert_int_equal(tclient_bind(&b, sid, PROTO_MODE_DIRECT, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_ERROR);
	assert_int_equal(m.code, PROTO_ERR_AUTH_DENIED);
	tclient_close(&a);
	tclient_close(&b);
}

static void token(char *user, char *pass, const char *secret, long long expiry)
{
	uint8_t mac[32];

	sprintf(user, "%lld:alice", expiry);
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, (const uint8_t *)secret, strlen(secret));
	crypto_auth_hmacsha256_update(&st, (const uint8_t *)user, strlen(user));
	crypto_auth_hmacsha256_final(&st, mac);
	sodium_bin2base64(pass, 64, mac, 32, sodium_base64_VARIANT_ORIGINAL);
}

static void test_token_mode(void **state)
{
	const char *s1 = "first-secret-0123456789", *s2 = "second-secret-0123456789";
	char conf[128], text[256], user[64], pass[64];
	long long now = (long long)time(NULL);
	struct tclient a;
	struct ctrl_msg m;
	uint8_t sid[16] = {9};

	(void)state;
	snprintf(conf, sizeof(conf), "/tmp/wgr-token-%d.conf", getpid());
	snprintf(text, sizeof(text), "[Auth]\nMode = token\nSecret = %s\nSecret = %s\n", s1, s2);
	write_file(conf, text);
	relay_start("--allow-loopback", "-c", conf, NULL);
	unlink(conf);
	client(&a);
	/* No credentials, expired, too far in the future, wrong secret, malformed. */
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.code, PROTO_ERR_AUTH_REQUIRED);
	token(user, pass, s1, now - 10);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, user, pass, &m, T_MS), 0);
	assert_int_equal(m.code, PROTO_ERR_AUTH_DENIED);
	token(user, pass, s1, now + 400 * 86400LL);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, user, pass, &m, T_MS), 0);
	assert_int_equal(m.code, PROTO_ERR_AUTH_DENIED);
	token(user, pass, "not-the-secret-at-all", now + 600);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, user, pass, &m, T_MS), 0);
	assert_int_equal(m.code, PROTO_ERR_AUTH_DENIED);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, "x:y", "!!", &m, T_MS), 0);
	assert_int_equal(m.code, PROTO_ERR_AUTH_DENIED);
	/* Either configured secret works (rotation). */
	token(user, pass, s2, now + 600);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, user, pass, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_BOUND);
	tclient_close(&a);
}

static void test_limits_and_reload(void **state)
{
	struct tclient a, b;
	struct ctrl_msg m;
	uint8_t s1[16] = {1}, s2[16] = {2};
	char conf[128];

	(void)state;
	snprintf(conf, sizeof(conf), "/tmp/wgr-limits-%d.conf", getpid());
	write_file(conf, "[Limits]\nMaxReservations = 1\n");
	relay_start("--allow-loopback", "-c", conf, NULL);
	client(&a);
	client(&b);
	assert_int_equal(tclient_bind(&a, s1, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_BOUND);
	assert_int_equal(tclient_bind(&b, s2, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_ERROR);
	assert_int_equal(m.code, PROTO_ERR_LIMIT_RESERVATIONS);
	/* SIGHUP: the new limit applies, the existing session stays. */
	write_file(conf, "[Limits]\nMaxReservations = 10\nMaxCircuits = 0\n");
	kill(R.pid, SIGHUP);
	usleep(300000);
	assert_int_equal(tclient_bind(&b, s2, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_BOUND);
	/* Circuits: pairing s1 is refused with MaxCircuits = 0. */
	assert_int_equal(tclient_bind(&b, s1, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_ERROR);
	assert_int_equal(m.code, PROTO_ERR_LIMIT_CIRCUITS);
	/* A broken config on reload keeps the running one. */
	write_file(conf, "[Limits]\nMaxCircuits = lots\n");
	kill(R.pid, SIGHUP);
	usleep(300000);
	assert_int_equal(waitpid(R.pid, NULL, WNOHANG), 0);
	/* So does one whose allowlist does not load: the relay stays open, nothing half-applied. */
	write_file(conf, "[Auth]\nMode = keys\nAllowedKeys = /nonexistent/allowed\n"
	                 "[Limits]\nMaxReservations = 10\nMaxCircuits = 0\n");
	kill(R.pid, SIGHUP);
	usleep(300000);
	{
		uint8_t s3[16] = {3};

		assert_int_equal(tclient_bind(&a, s3, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS), 0);
		assert_int_equal(m.type, CTRL_BOUND);
	}
	unlink(conf);
	tclient_close(&a);
	tclient_close(&b);
}

static void test_shutdown_notice(void **state)
{
	struct tclient a;
	struct ctrl_msg m;
	int status;

	(void)state;
	relay_start("--allow-loopback", NULL);
	client(&a);
	kill(R.pid, SIGTERM);
	assert_int_equal(tclient_recv_ctrl(&a, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_ERROR);
	assert_int_equal(m.code, PROTO_ERR_SHUTDOWN);
	assert_int_equal(waitpid(R.pid, &status, 0), R.pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	R.pid = 0;
	tclient_close(&a);
}

static void test_bad_input_and_amplification(void **state)
{
	uint8_t junk[2000], buf[PROTO_MAX_FRAME], ping[PROTO_PING_LEN];
	uint8_t init[PROTO_HS_INIT_LEN];
	size_t recvd = 0;
	struct tclient c;
	int fd = tclient_udp(), n;

	(void)state;
	relay_start("--allow-loopback", NULL);
	/* Empty, short, oversized, wrong-type and random datagrams: no answer at all. */
	tclient_sendto(fd, junk, 0, &R.a);
	randombytes_buf(junk, sizeof(junk));
	for (size_t len = 1; len < sizeof(junk); len += 37) {
		junk[0] = (uint8_t)(len & 1 ? 0xF1 : junk[0]);
		tclient_sendto(fd, junk, len, &R.a);
	}
	while ((n = tclient_recvfrom(fd, buf, sizeof(buf), NULL, 200)) >= 0)
		recvd += (size_t)n;
	assert_int_equal(recvd, 0);
	/* A random sid/handle in a DATA frame, a CTRL frame for no link: nothing. */
	memset(junk, 0, 64);
	junk[0] = PROTO_MAGIC;
	junk[1] = PROTO_DATA;
	randombytes_buf(junk + 4, 60);
	tclient_sendto(fd, junk, 64, &R.a);
	junk[1] = PROTO_CTRL;
	tclient_sendto(fd, junk, 64, &R.a);
	assert_int_equal(tclient_recvfrom(fd, buf, sizeof(buf), NULL, 200), -ETIMEDOUT);
	/* Amplification per message type: bytes out / bytes in <= 1. */
	frame_encode_ping(ping, 5);
	tclient_sendto(fd, ping, sizeof(ping), &R.a);
	n = tclient_recvfrom(fd, buf, sizeof(buf), NULL, T_MS);
	assert_true(n > 0 && (double)n / sizeof(ping) <= 1.0);
	printf("amplification PING->PONG: %d/%zu = %.2f\n", n, sizeof(ping),
	       (double)n / sizeof(ping));
	assert_int_equal(tclient_open(&c, R.addr, R.pub), 0);
	hs_client_build_init(&c.hs, init, 1);
	tclient_sendto(c.fd, init, sizeof(init), &R.a);
	n = tclient_recvfrom(c.fd, buf, sizeof(buf), NULL, T_MS);
	assert_int_equal(n, PROTO_HS_RESP_LEN);
	assert_true((double)n / sizeof(init) <= 1.0);
	printf("amplification HS_INIT->HS_RESP: %d/%zu = %.2f\n", n, sizeof(init),
	       (double)n / sizeof(init));
	/* A replayed initiation (same timestamp) gets no second response. */
	tclient_sendto(c.fd, init, sizeof(init), &R.a);
	assert_int_equal(tclient_recvfrom(c.fd, buf, sizeof(buf), NULL, 300), -ETIMEDOUT);
	/* A spoofed-source initiation (wrong mac1, as from someone not knowing the key): dropped. */
	init[20] ^= 1;
	tclient_sendto(fd, init, sizeof(init), &R.a);
	assert_int_equal(tclient_recvfrom(fd, buf, sizeof(buf), NULL, 300), -ETIMEDOUT);
	/* Still alive and answering. */
	tclient_sendto(fd, ping, sizeof(ping), &R.a);
	assert_int_equal(tclient_recvfrom(fd, buf, sizeof(buf), NULL, T_MS), PROTO_PONG_LEN);
	close(fd);
	tclient_close(&c);
}

/* Send m on c's link; the size of the sealed frame sent, or a negative error. */
static int ctrl_out(struct tclient *c, const struct ctrl_msg *m)
{
	uint8_t pt[PROTO_MAX_CTRL_PLAIN];
	int n = ctrl_encode(m, pt, sizeof(pt));

	assert_true(n > 0);
	assert_int_equal(tclient_send_ctrl(c, m), 0);
	return n + PROTO_SEALED_OVERHEAD;
}

/* Every reply the relay sends to c within timeout_ms: total bytes; the last one in *m. */
static int ctrl_in(struct tclient *c, struct ctrl_msg *m, int timeout_ms)
{
	uint8_t buf[PROTO_MAX_FRAME], pt[PROTO_MAX_CTRL_PLAIN];
	int n, total = 0;

	while ((n = tclient_recvfrom(c->fd, buf, sizeof(buf), NULL, timeout_ms)) > 0) {
		int k;

		total += n;
		assert_int_equal(frame_check(buf, (size_t)n), PROTO_CTRL);
		k = frame_open_ctrl(buf, (size_t)n, c->keys.ctrl_recv, &c->keys.ctrl_replay, pt,
		                    sizeof(pt));
		assert_true(k > 0);
		assert_int_equal(ctrl_decode(pt, (size_t)k, m), 0);
		timeout_ms = 100; /* collect whatever else this one request caused */
	}
	return total;
}

static void amp(const char *what, int out, int in)
{
	printf("amplification %s: %d/%d = %.2f\n", what, out, in, (double)out / in);
	if (out > in)
		fail_msg("%s amplifies: %d bytes out for %d in", what, out, in);
}

/*
 * CTRL replies go only to a link's address, which completed a handshake (its source was proved
 * by the relay's response), so they cannot be reflected at a victim (PROTOCOL.md §7). They are
 * held to the same bound all the same: requests are padded, and no reply is larger than the
 * request that caused it.
 */
static void amp_link(const char *what, int out, int in)
{
	printf("amplification %s (established link): %d/%d = %.2f\n", what, out, in,
	       (double)out / in);
	if (out > in)
		fail_msg("%s: %d bytes out for %d in", what, out, in);
}

/* Count the replies to a handshake storm until none came for timeout_ms. */
static void storm_drain(int fd, int timeout_ms, int *out, int *replies, int *cookies)
{
	uint8_t buf[PROTO_MAX_FRAME];
	int n;

	while ((n = tclient_recvfrom(fd, buf, sizeof(buf), NULL, timeout_ms)) > 0) {
		*out += n;
		(*replies)++;
		*cookies += n == PROTO_COOKIE_LEN;
	}
}

static void test_amplification_control_and_cookies(void **state)
{
	char conf[160];
	struct tclient a, b;
	struct ctrl_msg m, r;
	uint8_t sid[16], init[PROTO_HS_INIT_LEN];
	int in, out, cookies = 0, replies = 0, sent = 0;

	(void)state;
	/* Lift the per-source bucket so one loopback address can push the relay under load. */
	{
		char dir[] = "/tmp/wgr-amp-XXXXXX";

		assert_non_null(mkdtemp(dir));
		snprintf(conf, sizeof(conf), "%s/amp.conf", dir);
		write_file(conf, "[Limits]\nSourceRate = 100000\nSourceBurst = 100000\n");
		relay_start("--allow-loopback", "-c", conf, NULL);
		unlink(conf);
		rmdir(dir);
	}
	client(&a);
	client(&b);
	randombytes_buf(sid, sizeof(sid));
	/* BIND -> BOUND (waiting), then BIND -> BOUND to B plus the paired notice to A. */
	m = (struct ctrl_msg){.type = CTRL_BIND, .mode = PROTO_MODE_SEALED};
	memcpy(m.sid, sid, 16);
	in = ctrl_out(&a, &m);
	out = ctrl_in(&a, &r, T_MS);
	assert_int_equal(r.type, CTRL_BOUND);
	amp_link("BIND->BOUND", out, in);
	in = ctrl_out(&b, &m);
	out = ctrl_in(&b, &r, T_MS);
	amp_link("second BIND->BOUND(paired)", out, in);
	/* The first binder hears one BOUND(paired): a notice, not a reply to the sender. */
	assert_int_equal(ctrl_in(&a, &r, T_MS), out);
	assert_int_equal(r.state, PROTO_PAIRED);
	/* KEEPALIVE is echoed, no larger. */
	m = (struct ctrl_msg){.type = CTRL_KEEPALIVE};
	in = ctrl_out(&a, &m);
	out = ctrl_in(&a, &r, T_MS);
	assert_int_equal(r.type, CTRL_KEEPALIVE);
	amp_link("KEEPALIVE", out, in);
	/* An unpadded request (a bare 1-byte KEEPALIVE) gets no answer at all. */
	{
		uint8_t pt[1] = {CTRL_KEEPALIVE}, frame[1 + PROTO_SEALED_OVERHEAD];
		int fl = frame_seal_ctrl(frame, sizeof(frame), a.keys.remote_index,
		                         a.keys.ctrl_send_counter++, a.keys.ctrl_send, pt, 1);

		assert_int_equal(fl, (int)sizeof(frame));
		tclient_sendto(a.fd, frame, sizeof(frame), &R.a);
		assert_int_equal(ctrl_in(&a, &r, 300), 0);
		amp_link("unpadded KEEPALIVE", 0, fl);
	}
	/* A refused request (UNBIND of an unknown handle) gets an ERROR. */
	m = (struct ctrl_msg){.type = CTRL_UNBIND, .handle = 0x0badf00d};
	in = ctrl_out(&a, &m);
	out = ctrl_in(&a, &r, T_MS);
	assert_int_equal(r.type, CTRL_ERROR);
	amp_link("UNBIND->ERROR", out, in);
	/* A third binder is refused with an ERROR. */
	{
		struct tclient c3;

		client(&c3);
		m = (struct ctrl_msg){.type = CTRL_BIND, .mode = PROTO_MODE_SEALED};
		memcpy(m.sid, sid, 16);
		in = ctrl_out(&c3, &m);
		out = ctrl_in(&c3, &r, T_MS);
		assert_int_equal(r.type, CTRL_ERROR);
		assert_int_equal(r.code, PROTO_ERR_SESSION_FULL);
		amp_link("BIND(full)->ERROR", out, in);
		tclient_close(&c3);
	}
	/* (DATA frames: direct and sealed tests assert each forwarded frame is as long as sent.) */
	/*
	 * Cookies under load: the same valid initiation, many times within a second. Sent in
	 * bursts of 20, each drained before the next, so a slow relay on a busy machine loses
	 * none of them in a full socket buffer; until 10 cookies came back, at most 2000.
	 */
	hs_client_build_init(&a.hs, init, 1);
	out = 0;
	for (int i = 0; i < 2000 && cookies < 10; i++) {
		tclient_sendto(a.fd, init, sizeof(init), &R.a);
		sent += (int)sizeof(init);
		if (i % 20 == 19)
			storm_drain(a.fd, 2, &out, &replies, &cookies);
	}
	storm_drain(a.fd, 300, &out, &replies, &cookies);
	printf("handshake storm: %d replies (%d cookie replies)\n", replies, cookies);
	assert_true(cookies > 0);
	amp("HS_INIT storm->responses+cookies", out, sent);
	amp("HS_INIT->COOKIE", PROTO_COOKIE_LEN, PROTO_HS_INIT_LEN);
	tclient_close(&a);
	tclient_close(&b);
}

/*
 * A member whose WireGuard is already sending while it waits alone: once the session pairs,
 * its next datagram still tells the other member (PEER_ACTIVE), so a passive helper follows.
 */
static void test_peer_active_after_waiting(void **state)
{
	struct tclient a, b;
	struct ctrl_msg ma, mb;
	uint8_t sid[16], pkt[148];
	struct addr port;
	int wa = tclient_udp();

	(void)state;
	relay_start("--allow-loopback", NULL);
	randombytes_buf(sid, sizeof(sid));
	client(&a);
	client(&b);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_DIRECT, NULL, NULL, &ma, T_MS), 0);
	assert_int_equal(ma.state, PROTO_WAITING);
	port = R.a;
	addr_set_port(&port, ma.port);
	tclient_sendto(wa, pkt, tclient_wg_init(pkt, 0x1111), &port);
	/* Let the relay take it while A is alone (if it comes later, B is told at once). */
	nanosleep(&(struct timespec){0, 100000000}, NULL);
	assert_int_equal(tclient_bind(&b, sid, PROTO_MODE_DIRECT, NULL, NULL, &mb, T_MS), 0);
	assert_int_equal(mb.state, PROTO_PAIRED);
	if (tclient_recv_ctrl(&b, &mb, 200) == -ETIMEDOUT) {
		/* Nothing came from A since B arrived: A's next datagram brings the notice. */
		tclient_sendto(wa, pkt, tclient_wg_init(pkt, 0x1112), &port);
		assert_int_equal(tclient_recv_ctrl(&b, &mb, T_MS), 0);
	}
	assert_int_equal(mb.type, CTRL_PEER_ACTIVE);
	assert_memory_equal(mb.sid, sid, 16);

	/*
	 * B leaves (UNBIND) and C takes its place: A, already announced to B, is announced again
	 * to C by its next datagram (a helper restarted elsewhere must hear that A is active).
	 */
	struct tclient c;
	struct ctrl_msg u = {.type = CTRL_UNBIND, .handle = mb.handle};
	assert_int_equal(tclient_bind(&b, sid, PROTO_MODE_DIRECT, NULL, NULL, &mb, T_MS), 0);
	u.handle = mb.handle;
	assert_int_equal(tclient_send_ctrl(&b, &u), 0);
	do /* BOUND: A waits again (after the BOUND that told it B had come) */
		assert_int_equal(tclient_recv_ctrl(&a, &ma, T_MS), 0);
	while (ma.type != CTRL_BOUND || ma.state != PROTO_WAITING);
	client(&c);
	assert_int_equal(tclient_bind(&c, sid, PROTO_MODE_DIRECT, NULL, NULL, &mb, T_MS), 0);
	assert_int_equal(mb.state, PROTO_PAIRED);
	tclient_sendto(wa, pkt, tclient_wg_init(pkt, 0x1113), &port);
	assert_int_equal(tclient_recv_ctrl(&c, &mb, T_MS), 0);
	assert_int_equal(mb.type, CTRL_PEER_ACTIVE);
	close(wa);
	tclient_close(&a);
	tclient_close(&b);
	tclient_close(&c);
}

/* A paired sealed session; a and b are linked clients, *ha is A's handle. */
static void sealed_pair(struct tclient *a, struct tclient *b, uint8_t sid[16], uint32_t *ha)
{
	struct ctrl_msg ma, mb;

	randombytes_buf(sid, 16);
	client(a);
	client(b);
	assert_int_equal(tclient_bind(a, sid, PROTO_MODE_SEALED, NULL, NULL, &ma, T_MS), 0);
	assert_int_equal(tclient_bind(b, sid, PROTO_MODE_SEALED, NULL, NULL, &mb, T_MS), 0);
	assert_int_equal(mb.state, PROTO_PAIRED);
	assert_int_equal(tclient_recv_ctrl(a, &ma, T_MS), 0); /* paired notice */
	*ha = ma.handle;
}

/*
 * A sid bound again on the same link (UNBIND, then BIND) gets the same session keys: the relay's
 * counters towards that link must go on upwards, never repeat a nonce (PROTOCOL.md §5.4).
 */
static void test_sealed_rebind_counters(void **state)
{
	struct tclient a, b;
	struct ctrl_msg ma, mb, u;
	uint8_t sid[16], frame[256], buf[256];
	uint64_t seen[4];
	size_t flen;

	(void)state;
	relay_start("--allow-loopback", NULL);
	randombytes_buf(sid, 16);
	client(&a);
	client(&b);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_SEALED, NULL, NULL, &ma, T_MS), 0);
	for (int round = 0; round < 2; round++) {
		assert_int_equal(tclient_bind(&b, sid, PROTO_MODE_SEALED, NULL, NULL, &mb, T_MS),
		                 0);
		assert_int_equal(mb.state, PROTO_PAIRED);
		for (int i = 0; i < 2; i++) {
			memset(frame + PROTO_SEALED_HDR_LEN, 'w', 64);
			flen = seal_data(frame, 64, ma.handle, (uint64_t)(round * 2 + i), sid,
			                 a.keys.data_send);
			tclient_sendto(a.fd, frame, flen, &R.a);
			assert_int_equal(tclient_recvfrom(b.fd, buf, sizeof(buf), NULL, T_MS),
			                 (int)flen);
			seen[round * 2 + i] = buf_load_be64(buf + 8);
		}
		u = (struct ctrl_msg){.type = CTRL_UNBIND, .handle = mb.handle};
		assert_int_equal(tclient_send_ctrl(&b, &u), 0);
	}
	for (int i = 1; i < 4; i++)
		assert_true(seen[i] > seen[i - 1]);
	tclient_close(&a);
	tclient_close(&b);
}

static void conf_relay(const char *text)
{
	char dir[] = "/tmp/wgr-lim-XXXXXX", conf[64];

	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/l.conf", dir);
	write_file(conf, text);
	relay_start("--allow-loopback", "-c", conf, NULL);
	unlink(conf);
	rmdir(dir);
}

static void test_circuit_byte_limit(void **state)
{
	struct tclient a, b;
	struct ctrl_msg m;
	uint8_t sid[16], frame[2048], buf[2048], pt[PROTO_MAX_CTRL_PLAIN];
	uint32_t ha;
	int got = 0, n;
	bool b_told = false;
	size_t flen;

	(void)state;
	conf_relay("[Limits]\nCircuitBytes = 3000\n");
	sealed_pair(&a, &b, sid, &ha);
	/* 500-byte datagrams: the 7th crosses 3000 bytes and ends the circuit. */
	for (uint64_t i = 0; i < 10; i++) {
		memset(frame + PROTO_SEALED_HDR_LEN, (int)i, 500);
		flen = seal_data(frame, 500, ha, i, sid, a.keys.data_send);
		tclient_sendto(a.fd, frame, flen, &R.a);
		while ((n = tclient_recvfrom(b.fd, buf, sizeof(buf), NULL, i < 7 ? T_MS : 200)) >
		       0) {
			if (frame_check(buf, (size_t)n) == PROTO_DATA) {
				got++;
				break;
			}
			/* The notice that the circuit ended may come before the next frame. */
			n = frame_open_ctrl(buf, (size_t)n, b.keys.ctrl_recv, &b.keys.ctrl_replay,
			                    pt, sizeof(pt));
			assert_true(n > 0);
			assert_int_equal(ctrl_decode(pt, (size_t)n, &m), 0);
			assert_int_equal(m.type, CTRL_ERROR);
			assert_int_equal(m.code, PROTO_ERR_CIRCUIT_LIMIT_REACHED);
			b_told = true;
		}
	}
	assert_int_equal(got, 7);
	/* Both members are told why, so they can form a new circuit at once. */
	assert_int_equal(tclient_recv_ctrl(&a, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_ERROR);
	assert_int_equal(m.code, PROTO_ERR_CIRCUIT_LIMIT_REACHED);
	if (!b_told) {
		assert_int_equal(tclient_recv_ctrl(&b, &m, T_MS), 0);
		assert_int_equal(m.code, PROTO_ERR_CIRCUIT_LIMIT_REACHED);
	}
	tclient_close(&a);
	tclient_close(&b);
}

static void test_bandwidth_cap_and_per_client(void **state)
{
	struct tclient a, b;
	struct ctrl_msg m;
	uint8_t sid[16], s2[16], frame[2048], buf[2048];
	char maddr[32], text[8192];
	uint32_t ha;
	int got = 0, i;
	size_t flen;

	(void)state;
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", free_port());
	/* 1 KB/s per circuit: after the initial burst (~64 KiB) datagrams are dropped. */
	relay_start("--allow-loopback", "--max-bandwidth", "1", "--metrics", maddr, NULL);
	sealed_pair(&a, &b, sid, &ha);
	for (i = 0; i < 80; i++) {
		memset(frame + PROTO_SEALED_HDR_LEN, i, 1400);
		flen = seal_data(frame, 1400, ha, (uint64_t)i, sid, a.keys.data_send);
		tclient_sendto(a.fd, frame, flen, &R.a);
		if (i % 8 == 7)
			usleep(2000); /* keep socket buffers from being the limit */
	}
	while (got < 80 && tclient_recvfrom(b.fd, buf, sizeof(buf), NULL, 300) > 0)
		got++;
	printf("bandwidth cap: %d of 80 datagrams of 1400 B passed\n", got);
	assert_true(got >= 30 && got < 70);
	assert_true(http_get(maddr, "/metrics", text, sizeof(text)) > 0);
	assert_true(metric(text, "wgrelayd_drops_total{reason=\"bandwidth\"}") >= 80 - got - 5);
	/* Open mode: 3 reservations per client; A holds 1, so its 4th BIND is refused. */
	for (i = 0; i < 3; i++) {
		randombytes_buf(s2, sizeof(s2));
		assert_int_equal(tclient_bind(&a, s2, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS), 0);
		if (i < 2)
			assert_int_equal(m.type, CTRL_BOUND);
	}
	assert_int_equal(m.type, CTRL_ERROR);
	assert_int_equal(m.code, PROTO_ERR_LIMIT_RESERVATIONS);
	tclient_close(&a);
	tclient_close(&b);
}

/* A direct session between fresh clients a and b, with the WireGuard handshake done through it. */
static void direct_pair(struct tclient *a, struct tclient *b, int wa, int wb, struct addr *port,
                        uint32_t handles[2])
{
	struct ctrl_msg ma, mb;
	uint8_t sid[16], pkt[256], buf[256];

	randombytes_buf(sid, sizeof(sid));
	client(a);
	client(b);
	assert_int_equal(tclient_bind(a, sid, PROTO_MODE_DIRECT, NULL, NULL, &ma, T_MS), 0);
	assert_int_equal(tclient_bind(b, sid, PROTO_MODE_DIRECT, NULL, NULL, &mb, T_MS), 0);
	*port = R.a;
	addr_set_port(port, ma.port);
	if (handles) {
		handles[0] = ma.handle;
		handles[1] = mb.handle;
	}
	tclient_sendto(wa, pkt, tclient_wg_init(pkt, 0x1111), port);
	usleep(20000); /* A's initiation is dropped (B unknown), but makes A's candidate */
	tclient_sendto(wb, pkt, tclient_wg_init(pkt, 0x2222), port);
	assert_int_equal(tclient_recvfrom(wa, buf, sizeof(buf), NULL, T_MS), 148);
	tclient_sendto(wa, pkt, tclient_wg_resp(pkt, 0x1112, 0x2222), port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, T_MS), 92);
	direct_confirm(wa, wb, port);
}

/* Send n WireGuard data messages of len bytes as one UDP_SEGMENT (GSO) datagram. */
static void send_gso(int fd, struct addr to, uint8_t *p, size_t len, int n)
{
	union {
		char b[CMSG_SPACE(sizeof(uint16_t))];
		struct cmsghdr align;
	} cm;
	struct iovec iov = {p, len * (size_t)n};
	struct msghdr h = {.msg_name = &to.sa,
	                   .msg_namelen = to.len,
	                   .msg_iov = &iov,
	                   .msg_iovlen = 1,
	                   .msg_control = cm.b,
	                   .msg_controllen = sizeof(cm.b)};
	struct cmsghdr *c = CMSG_FIRSTHDR(&h);
	uint16_t seg = (uint16_t)len;

	c->cmsg_level = IPPROTO_UDP;
	c->cmsg_type = 103; /* UDP_SEGMENT */
	c->cmsg_len = CMSG_LEN(sizeof(seg));
	memcpy(CMSG_DATA(c), &seg, sizeof(seg));
	assert_int_equal(sendmsg(fd, &h, 0), (ssize_t)(len * (size_t)n));
}

/*
 * Two forwarding threads: sessions are spread over them (fewest first) and each carries its
 * traffic. A GSO burst reaches the relay coalesced (UDP GRO): every segment is checked on its
 * own, a malformed one is dropped and counted, and the rest arrive as separate datagrams.
 */
static void test_direct_workers_and_gro(void **state)
{
	struct tclient a[4], b[4];
	struct addr port[4];
	uint32_t h[4][2];
	int wa[4], wb[4];
	uint8_t pkt[20 * 200], buf[2048];
	char maddr[32], text[8192];
	long long malformed;
	int got = 0;

	(void)state;
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", free_port());
	relay_start("--allow-loopback", "--workers", "2", "--metrics", maddr, NULL);
	for (int i = 0; i < 4; i++) {
		wa[i] = tclient_udp();
		wb[i] = tclient_udp();
		direct_pair(&a[i], &b[i], wa[i], wb[i], &port[i], h[i]);
	}
	assert_true(http_get(maddr, "/metrics", text, sizeof(text)) > 0);
	assert_int_equal(metric(text, "wgrelayd_worker_sessions{worker=\"0\"}"), 2);
	assert_int_equal(metric(text, "wgrelayd_worker_sessions{worker=\"1\"}"), 2);
	for (int k = 0; k < 20; k++)
		for (int i = 0; i < 4; i++) {
			tclient_sendto(wa[i], pkt, tclient_wg_data(pkt, 100, 0x2222, (uint64_t)k),
			               &port[i]);
			assert_int_equal(tclient_recvfrom(wb[i], buf, sizeof(buf), NULL, T_MS),
			                 100);
			tclient_sendto(wb[i], pkt, tclient_wg_data(pkt, 64, 0x1112, (uint64_t)k),
			               &port[i]);
			assert_int_equal(tclient_recvfrom(wa[i], buf, sizeof(buf), NULL, T_MS), 64);
		}
	malformed = metric(text, "wgrelayd_drops_total{reason=\"malformed\"}");
	/* 20 segments of 200 bytes; the 8th has a reserved byte set. */
	for (int k = 0; k < 20; k++)
		tclient_wg_data(pkt + k * 200, 200, 0x2222, (uint64_t)(100 + k));
	pkt[7 * 200 + 1] = 1;
	send_gso(wa[1], port[1], pkt, 200, 20);
	for (int k = 0; k < 20; k++) {
		if (tclient_recvfrom(wb[1], buf, sizeof(buf), NULL, got < 19 ? T_MS : 200) < 0)
			break;
		/* In order, each its own datagram, unmodified. */
		assert_memory_equal(buf, pkt + (got < 7 ? got : got + 1) * 200, 200);
		got++;
	}
	assert_int_equal(got, 19);
	assert_true(http_get(maddr, "/metrics", text, sizeof(text)) > 0);
	assert_int_equal(metric(text, "wgrelayd_drops_total{reason=\"malformed\"}"), malformed + 1);
	assert_int_equal(metric(text, "wgrelayd_packets_forwarded_total{mode=\"direct\"}"),
	                 4 * 3 + 4 * 40 + 19); /* B's initiation, A's response, B's keepalive */
	/* Sessions 0 and 2 went to thread 0: unbinding them empties it, and the next goes there. */
	for (int i = 0; i < 4; i += 2)
		for (int k = 0; k < 2; k++) {
			struct tclient *c = k ? &b[i] : &a[i];
			struct ctrl_msg m = {.type = CTRL_UNBIND, .handle = h[i][k]};

			assert_int_equal(tclient_send_ctrl(c, &m), 0);
		}
	usleep(200000);
	assert_true(http_get(maddr, "/metrics", text, sizeof(text)) > 0);
	assert_int_equal(metric(text, "wgrelayd_sessions"), 2);
	assert_int_equal(metric(text, "wgrelayd_worker_sessions{worker=\"0\"}"), 0);
	assert_int_equal(metric(text, "wgrelayd_worker_sessions{worker=\"1\"}"), 2);
	tclient_close(&a[0]);
	tclient_close(&b[0]);
	direct_pair(&a[0], &b[0], wa[0], wb[0], &port[0], NULL);
	assert_true(http_get(maddr, "/metrics", text, sizeof(text)) > 0);
	assert_int_equal(metric(text, "wgrelayd_worker_sessions{worker=\"0\"}"), 1);
	for (int i = 0; i < 4; i++) {
		tclient_close(&a[i]);
		tclient_close(&b[i]);
		close(wa[i]);
		close(wb[i]);
	}
}

/* Direct mode's byte limit ends the circuit and tells both members, like sealed mode's. */
static void test_direct_byte_limit(void **state)
{
	struct tclient a, b;
	struct addr port;
	struct ctrl_msg m;
	uint8_t pkt[2048], buf[2048];
	int wa = tclient_udp(), wb = tclient_udp(), got = 0;

	(void)state;
	conf_relay("[Limits]\nCircuitBytes = 3000\n");
	direct_pair(&a, &b, wa, wb, &port, NULL);
	/* The handshake used 272 bytes; the 3rd datagram of 1000 crosses 3000. */
	for (uint64_t i = 0; i < 6; i++) {
		tclient_sendto(wa, pkt, tclient_wg_data(pkt, 1000, 0x2222, i), &port);
		if (tclient_recvfrom(wb, buf, sizeof(buf), NULL, i < 3 ? T_MS : 200) == 1000)
			got++;
	}
	assert_int_equal(got, 3);
	for (int k = 0; k < 2; k++) {
		struct tclient *c = k ? &b : &a;

		do
			assert_int_equal(tclient_recv_ctrl(c, &m, T_MS), 0);
		while (m.type == CTRL_BOUND || m.type == CTRL_PEER_ACTIVE);
		assert_int_equal(m.type, CTRL_ERROR);
		assert_int_equal(m.code, PROTO_ERR_CIRCUIT_LIMIT_REACHED);
	}
	close(wa);
	close(wb);
	tclient_close(&a);
	tclient_close(&b);
}

/* Per-source token bucket on unauthenticated requests: a PING flood gets about the burst. */
static void test_source_rate_limit(void **state)
{
	uint8_t ping[PROTO_PING_LEN], buf[PROTO_MAX_FRAME];
	int fd, got = 0;

	(void)state;
	conf_relay("[Limits]\nSourceRate = 1\nSourceBurst = 10\n");
	/* relay_start's own readiness PING used a token already. */
	fd = tclient_udp();
	frame_encode_ping(ping, 9);
	for (int i = 0; i < 60; i++)
		tclient_sendto(fd, ping, sizeof(ping), &R.a);
	while (got < 60 && tclient_recvfrom(fd, buf, sizeof(buf), NULL, 300) > 0)
		got++;
	printf("source rate limit: %d of 60 PINGs answered\n", got);
	assert_true(got >= 5 && got <= 13);
	close(fd);
}

/*
 * Datagrams the kernel drops because the relay's receive buffer is full are counted too
 * (socket_full): with the relay stopped, a flood fills the control socket's buffer.
 */
static void test_kernel_drops_counted(void **state)
{
	uint8_t junk[1400] = {0};
	char maddr[32], text[8192];
	long long full, malformed;
	int fd = tclient_udp(), sz = 1 << 20;

	(void)state;
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", free_port());
	relay_start("--allow-loopback", "--metrics", maddr, NULL);
	setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	kill(R.pid, SIGSTOP);
	for (int i = 0; i < 12000; i++)
		tclient_sendto(fd, junk, sizeof(junk), &R.a);
	kill(R.pid, SIGCONT);
	/*
	 * The first full batch the relay reads after SIGCONT reads the socket's drop count; one
	 * more datagram makes sure a read happens after the queue is empty too.
	 */
	usleep(200000);
	tclient_sendto(fd, junk, sizeof(junk), &R.a);
	for (int i = 0; i < 100; i++) {
		assert_true(http_get(maddr, "/metrics", text, sizeof(text)) > 0);
		full = metric(text, "wgrelayd_drops_total{reason=\"socket_full\"}");
		malformed = metric(text, "wgrelayd_drops_total{reason=\"malformed\"}");
		if (full > 0 && full + malformed >= 12001)
			break;
		usleep(20000);
	}
	printf("kernel drops: %lld socket_full, %lld read and dropped as malformed\n", full,
	       malformed);
	assert_true(full > 0);
	assert_int_equal(full + malformed, 12001);
	close(fd);
}

/*
 * The XDP fast path where it cannot load. The interface named does not exist, so neither a
 * build without XDP nor one with it (as root or not) can attach, and no real interface is
 * ever touched: Xdp = auto starts, says why once and forwards in user space; native (here
 * from --xdp, over the file's auto) refuses to start and says why.
 */
static int xdp_run_to_exit(const char *conf, const char *flag_mode, char *out, size_t cap)
{
	char dir[] = "/tmp/wgr-xdp-XXXXXX", key[64], log[64], cmd[96], listen[32], range[32];
	const char *bin_dir = getenv("WGR_BINARY_DIR");
	char bin[512];
	int status = -1;
	pid_t pid, w = 0;
	FILE *f;
	size_t n = 0;

	assert_non_null(bin_dir);
	assert_non_null(mkdtemp(dir));
	snprintf(bin, sizeof(bin), "%s/relayd/wgrelayd", bin_dir);
	snprintf(key, sizeof(key), "%s/key", dir);
	snprintf(log, sizeof(log), "%s/log", dir);
	snprintf(listen, sizeof(listen), "127.0.0.1:%u", free_port());
	snprintf(range, sizeof(range), "%d-%d", 20000 + (int)(getpid() % 200) * 100,
	         20099 + (int)(getpid() % 200) * 100);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int lfd = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

		if (lfd >= 0)
			dup2(lfd, 2);
		execl(bin, bin, "--key-file", key, "--listen", listen, "--port-range", range, "-c",
		      conf, "--metrics", "off", "--xdp", flag_mode, (char *)NULL);
		_exit(127);
	}
	/* Refusing takes no network wait: 5 s is far more than it needs. */
	for (int i = 0; i < 250 && (w = waitpid(pid, &status, WNOHANG)) == 0; i++)
		usleep(20000);
	if (w == 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	f = fopen(log, "re");
	if (f) {
		n = fread(out, 1, cap - 1, f);
		fclose(f);
	}
	out[n] = '\0';
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(w, pid); /* it exited by itself */
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static void test_xdp_unavailable(void **state)
{
	char dir[] = "/tmp/wgr-xdpc-XXXXXX", conf[64], maddr[32], text[16384], log[16384];
	uint8_t pkt[2048], buf[2048];
	int wa = tclient_udp(), wb = tclient_udp();
	struct tclient a, b;
	struct addr port;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(conf, sizeof(conf), "%s/x.conf", dir);
	write_file(conf, "[Relay]\nXdp = auto\nXdpInterface = wgrnoxdp0\n"
	                 "XdpInterface = wgrnoxdp1\n");
	/* native: no start, the reason on stderr; positive control: auto from the flag starts. */
	assert_int_equal(xdp_run_to_exit(conf, "native", log, sizeof(log)), 1);
	assert_non_null(strstr(log, "Xdp = native: "));
	assert_null(strstr(log, "metrics on"));
	assert_int_equal(xdp_run_to_exit(conf, "bogus", log, sizeof(log)), 1);
	assert_non_null(strstr(log, "--xdp: unknown mode 'bogus'"));
	/* auto: one warning with why, then direct mode as ever. */
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", free_port());
	relay_start("--allow-loopback", "-c", conf, "--metrics", maddr, NULL);
	direct_pair(&a, &b, wa, wb, &port, NULL);
	for (uint64_t i = 0; i < 5; i++) {
		tclient_sendto(wa, pkt, tclient_wg_data(pkt, 1000, 0x2222, i + 1), &port);
		assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, T_MS), 1000);
	}
	assert_true(http_get(maddr, "/metrics", text, sizeof(text)) > 0);
	assert_int_equal(metric(text, "wgrelayd_xdp_attached"), 0);
	assert_int_equal(metric(text, "wgrelayd_xdp_sessions"), 0);
	assert_int_equal(metric(text, "wgrelayd_xdp_packets_total"), 0);
	assert_int_equal(metric(text, "wgrelayd_xdp_passed_total{reason=\"fib\"}"), 0);
	/* init, response, the confirming keepalive, five datagrams: all in user space */
	assert_int_equal(metric(text, "wgrelayd_packets_forwarded_total{mode=\"direct\"}"), 8);
	relay_log(log, sizeof(log));
	assert_int_equal(count_lines(log, "xdp: auto: not in use ("), 1);
	assert_non_null(strstr(log, "direct sessions are forwarded in user space"));
	/* A reload cannot change either key: it says so, and the relay runs on. */
	write_file(conf, "[Relay]\nXdp = generic\nXdpInterface = wgrnoxdp0\n");
	kill(R.pid, SIGHUP);
	for (int i = 0; i < 100 && !strstr(log, "XdpInterface changed"); i++) {
		usleep(20000);
		relay_log(log, sizeof(log));
	}
	assert_int_equal(count_lines(log, "reload: Xdp changed"), 1);
	assert_int_equal(count_lines(log, "reload: XdpInterface changed"), 1);
	unlink(conf);
	rmdir(dir);
	tclient_sendto(wa, pkt, tclient_wg_data(pkt, 1000, 0x2222, 99), &port);
	assert_int_equal(tclient_recvfrom(wb, buf, sizeof(buf), NULL, T_MS), 1000);
	close(wa);
	close(wb);
	tclient_close(&a);
	tclient_close(&b);
}

/* Whether the relay process pid exits by itself within ms; it is killed (and reaped) if not. */
static bool exits_within(pid_t pid, int ms, int *status)
{
	for (int i = 0; i < ms / 20; i++) {
		if (waitpid(pid, status, WNOHANG) == pid)
			return true;
		usleep(20000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, status, 0);
	return false;
}

/*
 * Sealed mode on two workers: each reads its own control socket of the SO_REUSEPORT group,
 * opens and reseals what it reads; handshakes and control messages reach the control thread
 * through the hand-off queue. 16 pairs (32 client sockets): every frame arrives, resealed,
 * and both workers forward (the kernel spreads client addresses over the group). A second
 * relay on the same address fails to start instead of joining the group.
 */
static void test_sealed_workers(void **state)
{
	enum { PAIRS = 16, FRAMES = 10 };
	static struct tclient a[PAIRS], b[PAIRS];
	struct ctrl_msg ma[PAIRS], mb[PAIRS];
	uint8_t sid[PAIRS][16], frame[256], buf[256];
	char maddr[32], text[16384], port[24], conf[96];
	long long w0, w1;
	int status;
	pid_t pid;

	(void)state;
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", free_port());
	/* Every client is 127.0.0.1: the per-source limits must hold 16 circuits (32 members). */
	snprintf(conf, sizeof(conf), "/tmp/wgr-sealed-workers-%d.conf", getpid());
	write_file(conf, "[Limits]\nMaxCircuitsPerSource = 64\nMaxReservationsPerSource = 64\n");
	relay_start("--allow-loopback", "--workers", "2", "--metrics", maddr, "-c", conf, NULL);
	unlink(conf);
	for (int i = 0; i < PAIRS; i++) {
		randombytes_buf(sid[i], 16);
		client(&a[i]);
		client(&b[i]);
		assert_int_equal(
		    tclient_bind(&a[i], sid[i], PROTO_MODE_SEALED, NULL, NULL, &ma[i], T_MS), 0);
		assert_int_equal(
		    tclient_bind(&b[i], sid[i], PROTO_MODE_SEALED, NULL, NULL, &mb[i], T_MS), 0);
		assert_int_equal(mb[i].state, PROTO_PAIRED);
		assert_int_equal(tclient_recv_ctrl(&a[i], &ma[i], T_MS), 0); /* paired notice */
	}
	for (uint64_t k = 0; k < FRAMES; k++)
		for (int i = 0; i < PAIRS; i++)
			for (int dir = 0; dir < 2; dir++) {
				struct tclient *x = dir ? &b[i] : &a[i], *y = dir ? &a[i] : &b[i];
				uint32_t h = dir ? mb[i].handle : ma[i].handle;
				struct replay rp;
				size_t flen;
				int n;

				memset(frame + PROTO_SEALED_HDR_LEN, (int)(i * 2 + dir), 100);
				flen = seal_data(frame, 100, h, k, sid[i], x->keys.data_send);
				tclient_sendto(x->fd, frame, flen, &R.a);
				n = tclient_recvfrom(y->fd, buf, sizeof(buf), NULL, T_MS);
				assert_int_equal(n, (int)flen);
				replay_init(&rp);
				assert_int_equal(
				    seal_open_data(buf, (size_t)n, sid[i], y->keys.data_recv, &rp),
				    100);
				assert_int_equal(buf[PROTO_SEALED_HDR_LEN], i * 2 + dir);
			}
	assert_true(http_get(maddr, "/metrics", text, sizeof(text)) > 0);
	w0 = metric(text, "wgrelayd_worker_sealed_packets_total{worker=\"0\"}");
	w1 = metric(text, "wgrelayd_worker_sealed_packets_total{worker=\"1\"}");
	assert_int_equal(metric(text, "wgrelayd_packets_forwarded_total{mode=\"sealed\"}"),
	                 PAIRS * FRAMES * 2);
	assert_int_equal(w0 + w1, PAIRS * FRAMES * 2);
	/* 32 sockets all on one worker: a chance of 2^-31 with the kernel's hash. */
	assert_true(w0 > 0 && w1 > 0);

	/* The same address again: the probe bind fails, the second relay exits. */
	snprintf(port, sizeof(port), "%d-%d", 30000 + (int)(getpid() % 500) * 10,
	         30009 + (int)(getpid() % 500) * 10);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		char key[160];
		int null = open("/dev/null", O_WRONLY);

		snprintf(key, sizeof(key), "%s/key2", R.dir);
		dup2(null, 1);
		dup2(null, 2);
		execl(R.bin, R.bin, "--key-file", key, "--listen", R.addr, "--port-range", port,
		      "--workers", "2", "-c", R.empty, "--allow-loopback", (char *)NULL);
		_exit(127);
	}
	assert_true(exits_within(pid, 5000, &status));
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != 127);
	for (int i = 0; i < PAIRS; i++) {
		tclient_close(&a[i]);
		tclient_close(&b[i]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_ping_pong_observed_address, relay_stop),
	    cmocka_unit_test_teardown(test_loopback_refused_by_default, relay_stop),
	    cmocka_unit_test_teardown(test_pairing_full_and_rebind, relay_stop),
	    cmocka_unit_test_teardown(test_direct_mode_forwarding, relay_stop),
	    cmocka_unit_test_teardown(test_sealed_mode_forwarding, relay_stop),
	    cmocka_unit_test_teardown(test_peer_active_after_waiting, relay_stop),
	    cmocka_unit_test_teardown(test_sealed_rebind_counters, relay_stop),
	    cmocka_unit_test_teardown(test_keys_mode, relay_stop),
	    cmocka_unit_test_teardown(test_restored_circuit_limits, relay_stop),
	    cmocka_unit_test_teardown(test_token_mode, relay_stop),
	    cmocka_unit_test_teardown(test_limits_and_reload, relay_stop),
	    cmocka_unit_test_teardown(test_shutdown_notice, relay_stop),
	    cmocka_unit_test_teardown(test_bad_input_and_amplification, relay_stop),
	    cmocka_unit_test_teardown(test_amplification_control_and_cookies, relay_stop),
	    cmocka_unit_test_teardown(test_circuit_byte_limit, relay_stop),
	    cmocka_unit_test_teardown(test_bandwidth_cap_and_per_client, relay_stop),
	    cmocka_unit_test_teardown(test_source_rate_limit, relay_stop),
	    cmocka_unit_test_teardown(test_kernel_drops_counted, relay_stop),
	    cmocka_unit_test_teardown(test_direct_workers_and_gro, relay_stop),
	    cmocka_unit_test_teardown(test_sealed_workers, relay_stop),
	    cmocka_unit_test_teardown(test_direct_byte_limit, relay_stop),
	    cmocka_unit_test_teardown(test_xdp_unavailable, relay_stop),
	};

	if (sodium_init() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
