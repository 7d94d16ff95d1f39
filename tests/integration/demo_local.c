/*
 * wgrelay-demo-local RELAY_ADDR RELAY_PUBKEY: the narrated part of the local demo. Two clients
 * with their own WireGuard-style keys derive the same session id, bind it on a running
 * wgrelayd, and pass WireGuard-shaped traffic through it in direct and in sealed mode.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "key.h"
#include "seal.h"
#include "sid.h"
#include "tclient.h"

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void hex(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", p[i]);
}

int main(int argc, char **argv)
{
	uint8_t relay_pub[32], wga_priv[32], wga_pub[32], wgb_priv[32], wgb_pub[32];
	uint8_t sid_a[16], sid_b[16], ping[PROTO_PING_LEN], buf[2048], pkt[2048];
	char s[64], hx[40];
	struct tclient a, b;
	struct ctrl_msg ma, mb;
	struct frame_pong pong;
	struct addr port;
	struct replay rp;
	int wa, wb, ok = 0, n;
	double t0;

	if (argc != 3 || sodium_init() < 0 || key_from_base64(relay_pub, argv[2]) < 0) {
		fprintf(stderr, "usage: wgrelay-demo-local RELAY_ADDR RELAY_PUBKEY\n");
		return 2;
	}
	if (tclient_open(&a, argv[1], relay_pub) < 0 || tclient_open(&b, argv[1], relay_pub) < 0)
		return 1;
	frame_encode_ping(ping, 42);
	t0 = now_s();
	tclient_sendto(a.fd, ping, sizeof(ping), &a.relay);
	n = tclient_recvfrom(a.fd, buf, sizeof(buf), NULL, 2000);
	if (n < 0 || frame_decode_pong(buf, (size_t)n, &pong) < 0) {
		printf("  no PONG from %s\n", argv[1]);
		return 1;
	}
	printf("  PING -> PONG in %.2f ms; the relay sees client A at %s, load %u/1000\n",
	       (now_s() - t0) * 1e3, addr_format(&pong.observed, s, sizeof(s)), pong.load_permille);
	if (tclient_handshake(&a, 2000) < 0 || tclient_handshake(&b, 2000) < 0) {
		printf("  handshake failed\n");
		return 1;
	}
	printf("  Noise IK links up for A and B (%s as the relay saw it)\n",
	       addr_format(&a.observed, s, sizeof(s)));

	key_generate_private(wga_priv);
	key_generate_private(wgb_priv);
	key_public_from_private(wga_pub, wga_priv);
	key_public_from_private(wgb_pub, wgb_priv);
	sid_derive(sid_a, wga_priv, wgb_pub, relay_pub);
	sid_derive(sid_b, wgb_priv, wga_pub, relay_pub);
	hex(sid_a, 16, hx);
	printf("  session id derived on both sides without talking: %s (%s)\n", hx,
	       memcmp(sid_a, sid_b, 16) ? "MISMATCH" : "equal");

	tclient_bind(&a, sid_a, PROTO_MODE_DIRECT, NULL, NULL, &ma, 2000);
	tclient_bind(&b, sid_b, PROTO_MODE_DIRECT, NULL, NULL, &mb, 2000);
	if (ma.type != CTRL_BOUND || mb.type != CTRL_BOUND) {
		printf("  bind failed: %s\n", ma.type == CTRL_ERROR ? ma.text : mb.text);
		return 1;
	}
	printf("  direct mode: A %s, B %s, session port %u\n",
	       ma.state == PROTO_PAIRED ? "paired" : "waiting",
	       mb.state == PROTO_PAIRED ? "paired" : "waiting", mb.port);
	wa = tclient_udp();
	wb = tclient_udp();
	port = a.relay;
	addr_set_port(&port, mb.port);
	tclient_sendto(wa, pkt, tclient_wg_init(pkt, 1), &port);
	tclient_sendto(wb, pkt, tclient_wg_init(pkt, 2), &port);
	tclient_recvfrom(wa, buf, sizeof(buf), NULL, 1000);
	tclient_sendto(wa, pkt, tclient_wg_resp(pkt, 3, 2), &port);
	tclient_recvfrom(wb, buf, sizeof(buf), NULL, 1000);
	printf("  WireGuard-shaped handshake passed through: both members confirmed\n");
	t0 = now_s();
	for (int i = 0; i < 2000; i++) {
		tclient_sendto(wa, pkt, tclient_wg_data(pkt, 1440, 2, (uint64_t)i), &port);
		if (tclient_recvfrom(wb, buf, sizeof(buf), NULL, 1000) != 1440 ||
		    memcmp(buf, pkt, 1440))
			break;
		ok++;
	}
	if (ok != 2000)
		return 1;
	printf("  %d/2000 data packets of 1440 B arrived unmodified (%.0f packets/s, one at a "
	       "time)\n",
	       ok, 2000 / (now_s() - t0));

	randombytes_buf(sid_a, 16);
	if (tclient_bind(&a, sid_a, PROTO_MODE_SEALED, NULL, NULL, &ma, 2000) < 0 ||
	    tclient_bind(&b, sid_a, PROTO_MODE_SEALED, NULL, NULL, &mb, 2000) < 0 ||
	    ma.type != CTRL_BOUND || mb.type != CTRL_BOUND) {
		printf("  sealed bind failed\n");
		return 1;
	}
	replay_init(&rp);
	ok = 0;
	for (uint64_t i = 0; i < 500; i++) {
		size_t flen;

		memcpy(pkt + PROTO_SEALED_HDR_LEN, "inner WireGuard datagram", 24);
		flen = seal_data(pkt, 24, ma.handle, i, sid_a, a.keys.data_send);
		tclient_sendto(a.fd, pkt, flen, &a.relay);
		n = tclient_recvfrom(b.fd, buf, sizeof(buf), NULL, 1000);
		if (n < 0 || !memcmp(buf + 16, pkt + 16, 24) ||
		    seal_open_data(buf, (size_t)n, sid_a, b.keys.data_recv, &rp) != 24)
			break;
		ok++;
	}
	printf("  sealed mode: %d/500 frames resealed per hop (bytes on the two sides differ) "
	       "and opened by B\n",
	       ok);
	close(wa);
	close(wb);
	tclient_close(&a);
	tclient_close(&b);
	return ok == 500 ? 0 : 1;
}
