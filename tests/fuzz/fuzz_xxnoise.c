/*
 * Fuzz target: the relay's Noise XX responder (libp2p/xxnoise.h) fed arbitrary handshake
 * messages, and the libp2p handshake payload check fed arbitrary bytes. The input is a list
 * of frames as on the wire (2-byte big-endian length, then the bytes): frame 0 is message 1
 * to a responder (and, separately, message 2 to an initiator), frame 1 message 3, the rest
 * transport messages. The whole input is also checked as a payload. Keys are fixed (the
 * seeds from fuzz_mkseeds_xxnoise are real exchanges), so mutations reach every stage.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "identity.h"
#include "xxnoise.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The fixed keys, shared with mkseeds_xxnoise.c: byte patterns. */
enum { KEY_INIT_S = 0x31, KEY_INIT_E = 0x32, KEY_INIT_ID = 0x33 };
enum { KEY_RESP_S = 0x41, KEY_RESP_E = 0x42, KEY_RESP_ID = 0x43 };

static struct identity id_init, id_resp;
static uint8_t init_pub[32];

static void fixed_hs(struct xxn_hs *hs, enum xxn_role role, uint8_t s, uint8_t e)
{
	uint8_t k[32];

	memset(k, s, sizeof(k));
	xxn_init(hs, role, k);
	memset(k, e, sizeof(k));
	xxn_set_ephemeral(hs, k);
}

/* The next frame of r, or NULL. */
static const uint8_t *next_frame(struct rbuf *r, size_t *n)
{
	const uint8_t *p;
	uint16_t len;

	if (buf_get_u16(r, &len) < 0 || buf_get_ptr(r, &p, len) < 0)
		return NULL;
	*n = len;
	return p;
}

/* The initiator's side: frame 0 as message 2, checked against our message 1. */
static void fuzz_initiator(const uint8_t *msg, size_t n)
{
	static uint8_t out[XXN_MAX_MSG], pl[XXN_MAX_MSG];
	struct xxn_hs hs;
	uint8_t pk[32];
	int r;

	fixed_hs(&hs, XXN_INITIATOR, KEY_INIT_S, KEY_INIT_E);
	if (xxn_write(&hs, NULL, 0, out, sizeof(out)) != 32)
		abort();
	r = xxn_read(&hs, msg, n, pl, sizeof(pl));
	if (r >= 0 && xxn_payload_check(pl, (size_t)r, xxn_remote_static(&hs), pk) == 0 &&
	    memcmp(pk, id_resp.pk, 32) != 0)
		abort(); /* only the seeds' identity can have signed */
	xxn_clear(&hs);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t out[XXN_MAX_MSG], pl[XXN_MAX_MSG];
	static int ready;
	struct xxn_cs send, recv;
	struct xxn_hs hs;
	const uint8_t *msg;
	uint8_t pk[32], seed[32];
	struct rbuf r;
	size_t n;
	int rc, i;

	if (!ready) {
		if (sodium_init() < 0)
			abort();
		memset(seed, KEY_INIT_ID, sizeof(seed));
		identity_from_seed(&id_init, seed);
		memset(seed, KEY_RESP_ID, sizeof(seed));
		identity_from_seed(&id_resp, seed);
		memset(seed, KEY_INIT_S, sizeof(seed));
		crypto_scalarmult_base(init_pub, seed);
		ready = 1;
	}
	(void)xxn_payload_check(data, size, init_pub, pk);

	rbuf_init(&r, data, size);
	fixed_hs(&hs, XXN_RESPONDER, KEY_RESP_S, KEY_RESP_E);
	if ((msg = next_frame(&r, &n)) == NULL)
		goto out;
	fuzz_initiator(msg, n);
	if (xxn_read(&hs, msg, n, pl, sizeof(pl)) < 0)
		goto out;
	rc = xxn_payload_make(&id_resp, xxn_local_static(&hs), pl, sizeof(pl));
	if (rc != XXN_PAYLOAD_LEN || xxn_write(&hs, pl, (size_t)rc, out, sizeof(out)) < 0)
		goto out; /* a low-order ephemeral key */
	if ((msg = next_frame(&r, &n)) == NULL)
		goto out;
	rc = xxn_read(&hs, msg, n, pl, sizeof(pl));
	if (rc < 0)
		goto out;
	if (!xxn_done(&hs) || xxn_remote_static(&hs) == NULL)
		abort();
	if (xxn_payload_check(pl, (size_t)rc, xxn_remote_static(&hs), pk) == 0 &&
	    memcmp(pk, id_init.pk, 32) != 0)
		abort();
	xxn_split(&hs, &send, &recv);
	/* Transport: each frame that opens is echoed back; bounded by the input's frames. */
	for (i = 0; i < 16 && (msg = next_frame(&r, &n)) != NULL; i++) {
		rc = xxn_decrypt(&recv, msg, n, pl, sizeof(pl));
		if (rc >= 0 && xxn_encrypt(&send, pl, (size_t)rc, out, sizeof(out)) != rc + XXN_TAG)
			abort();
	}
	sodium_memzero(&send, sizeof(send));
	sodium_memzero(&recv, sizeof(recv));
out:
	xxn_clear(&hs);
	return 0;
}
