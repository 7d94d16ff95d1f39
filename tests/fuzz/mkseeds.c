/*
 * mkseeds DIR: writes the seed corpora of fuzz_frame and fuzz_handshake (valid frames of every
 * type, built with the fuzz targets' fixed keys) under DIR/fuzz_frame and DIR/fuzz_handshake.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "frame.h"
#include "handshake.h"
#include "seal.h"

static void put(const char *dir, const char *target, const char *name, const void *p, size_t n)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s/%s", dir, target, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n) {
		perror(path);
		return;
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	uint8_t b[512], relay_priv[32], client_priv[32], relay_pub[32], key[32] = {1},
	                                                                sid[16] = {2};
	struct frame_pong pong = {0};
	struct hs_client c;
	struct hs_relay r;
	struct hs_pending p;
	struct link_keys k;
	struct ctrl_msg m;
	struct addr a;
	int n;

	if (argc != 2 || sodium_init() < 0)
		return 2;
	frame_encode_ping(b, 42);
	put(argv[1], "fuzz_frame", "ping", b, PROTO_PING_LEN);
	addr_parse(&pong.observed, "[2001:db8::1]:51820", 0);
	pong.load_permille = 500;
	frame_encode_pong(b, &pong);
	put(argv[1], "fuzz_frame", "pong6", b, PROTO_PONG_LEN);
	addr_parse(&pong.observed, "198.51.100.3:4000", 0);
	frame_encode_pong(b, &pong);
	put(argv[1], "fuzz_frame", "pong4", b, PROTO_PONG_LEN);
	memset(&m, 0, sizeof(m));
	m.type = CTRL_BIND;
	m.mode = PROTO_MODE_DIRECT;
	strcpy(m.user, "1900000000:alice");
	strcpy(m.password, "AAAA");
	n = ctrl_encode(&m, b, sizeof(b));
	put(argv[1], "fuzz_frame", "ctrl_bind", b, (size_t)n);
	n = frame_seal_ctrl(b + 100, 300, 5, 0, key, b, (size_t)n);
	put(argv[1], "fuzz_frame", "ctrl_frame", b + 100, (size_t)n);
	memset(&m, 0, sizeof(m));
	m.type = CTRL_BOUND;
	m.state = PROTO_PAIRED;
	m.mode = PROTO_MODE_DIRECT;
	m.port = 50000;
	n = ctrl_encode(&m, b, sizeof(b));
	put(argv[1], "fuzz_frame", "ctrl_bound", b, (size_t)n);
	memset(&m, 0, sizeof(m));
	m.type = CTRL_ERROR;
	m.code = PROTO_ERR_SHUTDOWN;
	strcpy(m.text, "relay shutting down");
	n = ctrl_encode(&m, b, sizeof(b));
	put(argv[1], "fuzz_frame", "ctrl_error", b, (size_t)n);
	memset(&m, 0, sizeof(m));
	m.type = CTRL_UNBIND;
	m.handle = 77;
	n = ctrl_encode(&m, b, sizeof(b));
	put(argv[1], "fuzz_frame", "ctrl_unbind", b, (size_t)n);
	memset(&m, 0, sizeof(m));
	m.type = CTRL_KEEPALIVE;
	n = ctrl_encode(&m, b, sizeof(b));
	put(argv[1], "fuzz_frame", "ctrl_keepalive", b, (size_t)n);
	memset(&m, 0, sizeof(m));
	m.type = CTRL_PEER_ACTIVE;
	n = ctrl_encode(&m, b, sizeof(b));
	put(argv[1], "fuzz_frame", "ctrl_peer_active", b, (size_t)n);
	memset(&m, 0, sizeof(m));
	m.type = CTRL_CHALLENGE;
	memset(m.token, 0xc1, sizeof(m.token));
	n = ctrl_encode(&m, b, sizeof(b));
	put(argv[1], "fuzz_frame", "ctrl_challenge", b, (size_t)n);
	m.type = CTRL_RESPONSE;
	n = ctrl_encode(&m, b, sizeof(b));
	put(argv[1], "fuzz_frame", "ctrl_response", b, (size_t)n);
	memset(b + PROTO_SEALED_HDR_LEN, 0x04, 64);
	n = (int)seal_data(b, 64, 9, 1, sid, key);
	put(argv[1], "fuzz_frame", "data", b, (size_t)n);

	memset(relay_priv, 0x11, 32);
	memset(client_priv, 0x22, 32);
	crypto_scalarmult_base(relay_pub, relay_priv);
	hs_client_init(&c, client_priv, relay_pub);
	hs_client_build_init(&c, b, 1);
	put(argv[1], "fuzz_handshake", "init", b, PROTO_HS_INIT_LEN);
	hs_relay_init(&r, relay_priv);
	addr_parse(&a, "198.51.100.1:1000", 0);
	if (hs_relay_open_init(&r, b, PROTO_HS_INIT_LEN, &a, true, 1, &p, b + 200) == HS_COOKIE)
		put(argv[1], "fuzz_handshake", "cookie", b + 200, PROTO_COOKIE_LEN);
	if (hs_relay_open_init(&r, b, PROTO_HS_INIT_LEN, &a, false, 1, &p, b + 200) == HS_ACCEPT) {
		hs_relay_finish(&p, 3, &a, b + 300, &k);
		put(argv[1], "fuzz_handshake", "resp", b + 300, PROTO_HS_RESP_LEN);
	}
	return 0;
}
