/*
 * mkseeds_xxnoise DIR: writes the fuzz_xxnoise seed corpus under DIR/fuzz_xxnoise: real
 * handshakes with the fuzz target's fixed keys (frames of 2-byte length ‖ message), a
 * responder's message 2 for the initiator side, and bare payloads.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "identity.h"
#include "pb.h"
#include "xxnoise.h"

enum { KEY_INIT_S = 0x31, KEY_INIT_E = 0x32, KEY_INIT_ID = 0x33 };
enum { KEY_RESP_S = 0x41, KEY_RESP_E = 0x42, KEY_RESP_ID = 0x43 };

static int put(const char *dir, const char *name, const void *p, size_t n)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/fuzz_xxnoise/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(p, 1, n, f) != n) {
		perror(path);
		if (f)
			fclose(f);
		return 1;
	}
	return fclose(f) != 0;
}

static void fixed_hs(struct xxn_hs *hs, enum xxn_role role, uint8_t s, uint8_t e)
{
	uint8_t k[32];

	memset(k, s, sizeof(k));
	xxn_init(hs, role, k);
	memset(k, e, sizeof(k));
	xxn_set_ephemeral(hs, k);
}

/* Append one frame (2-byte length, message) to w. */
static void frame(struct wbuf *w, const uint8_t *p, int n)
{
	if (n < 0 || buf_put_u16(w, (uint16_t)n) < 0 || buf_put_bytes(w, p, (size_t)n) < 0) {
		fprintf(stderr, "mkseeds_xxnoise: frame %d\n", n);
		exit(1);
	}
}

/*
 * A full exchange: message 1, message 3 (the initiator's payload, with a stream_muxers
 * extension when ext), then two transport messages, all as frames into seed. msg2 gets the
 * responder's message 2 and pay the initiator's payload.
 */
static size_t exchange(uint8_t *seed, size_t cap, bool ext, uint8_t *msg2, int *m2len, uint8_t *pay,
                       int *plen)
{
	static uint8_t m[1024], pl[512];
	struct identity ii, ir;
	struct xxn_hs hi, hr;
	struct xxn_cs is, ir_, rs, rr;
	uint8_t k[32];
	struct wbuf w;
	int n, pn;

	memset(k, KEY_INIT_ID, 32);
	identity_from_seed(&ii, k);
	memset(k, KEY_RESP_ID, 32);
	identity_from_seed(&ir, k);
	fixed_hs(&hi, XXN_INITIATOR, KEY_INIT_S, KEY_INIT_E);
	fixed_hs(&hr, XXN_RESPONDER, KEY_RESP_S, KEY_RESP_E);
	wbuf_init(&w, seed, cap);

	n = xxn_write(&hi, NULL, 0, m, sizeof(m));
	frame(&w, m, n);
	xxn_read(&hr, m, (size_t)n, pl, sizeof(pl));
	pn = xxn_payload_make(&ir, xxn_local_static(&hr), pl, sizeof(pl));
	*m2len = xxn_write(&hr, pl, (size_t)pn, msg2, 1024);
	xxn_read(&hi, msg2, (size_t)*m2len, pl, sizeof(pl));
	pn = xxn_payload_make(&ii, xxn_local_static(&hi), pl, sizeof(pl));
	if (ext) {
		uint8_t e[32];
		struct wbuf we, wp;

		wbuf_init(&we, e, sizeof(e));
		pb_put_str(&we, 2, "/yamux/1.0.0");
		wbuf_init(&wp, pl + pn, sizeof(pl) - (size_t)pn);
		pb_put_bytes(&wp, 4, e, we.pos);
		pn += (int)wp.pos;
	}
	memcpy(pay, pl, (size_t)pn);
	*plen = pn;
	n = xxn_write(&hi, pl, (size_t)pn, m, sizeof(m));
	frame(&w, m, n);
	xxn_split(&hi, &is, &ir_);
	xxn_read(&hr, m, (size_t)n, pl, sizeof(pl));
	xxn_split(&hr, &rs, &rr);
	n = xxn_encrypt(&is, (const uint8_t *)"\x13/multistream/1.0.0\n", 20, m, sizeof(m));
	frame(&w, m, n);
	n = xxn_encrypt(&is, NULL, 0, m, sizeof(m));
	frame(&w, m, n);
	return w.pos;
}

int main(int argc, char **argv)
{
	static uint8_t seed[4096], msg2[1024], pay[512];
	int m2len, plen, rc = 0;
	uint8_t m2frame[1026];
	struct wbuf w;
	size_t n;

	if (argc != 2 || sodium_init() < 0) {
		fprintf(stderr, "usage: mkseeds_xxnoise DIR\n");
		return 2;
	}
	n = exchange(seed, sizeof(seed), false, msg2, &m2len, pay, &plen);
	rc |= put(argv[1], "handshake", seed, n);
	rc |= put(argv[1], "payload", pay, (size_t)plen);
	rc |= put(argv[1], "msg1", seed, 2 + 32);
	wbuf_init(&w, m2frame, sizeof(m2frame));
	frame(&w, msg2, m2len);
	rc |= put(argv[1], "msg2", m2frame, w.pos);
	n = exchange(seed, sizeof(seed), true, msg2, &m2len, pay, &plen);
	rc |= put(argv[1], "handshake_ext", seed, n);
	rc |= put(argv[1], "payload_ext", pay, (size_t)plen);
	return rc;
}
