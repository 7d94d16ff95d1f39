/* Unit tests: libp2p/envelope.c (signed envelopes, reservation vouchers). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "envelope.h"
#include "pb.h"

static void make_id(struct identity *id, uint8_t fill)
{
	uint8_t seed[IDENTITY_SEED_LEN];

	memset(seed, fill, sizeof(seed));
	identity_from_seed(id, seed);
}

static void test_seal_open(void **state)
{
	static const uint8_t type[] = {0x03, 0x01};
	static const char payload[] = "hello, envelope";
	uint8_t env[ENVELOPE_MAX], pk[32];
	const uint8_t *t, *p;
	size_t tl, pl;
	struct identity id;
	int n;

	(void)state;
	make_id(&id, 7);
	n = envelope_seal(&id, "test-domain", type, sizeof(type), (const uint8_t *)payload,
	                  strlen(payload), env, sizeof(env));
	/* 2 + 36 key, 2 + 2 type, 2 + 15 payload, 2 + 64 signature */
	assert_int_equal(n, 38 + 4 + 17 + 66);
	assert_int_equal(envelope_open(env, (size_t)n, "test-domain", pk, &t, &tl, &p, &pl), 0);
	assert_memory_equal(pk, id.pk, 32);
	assert_int_equal(tl, sizeof(type));
	assert_memory_equal(t, type, tl);
	assert_int_equal(pl, strlen(payload));
	assert_memory_equal(p, payload, pl);
	/* Another domain, a prefix of it, an extension of it. */
	assert_int_equal(envelope_open(env, (size_t)n, "test-domaim", pk, &t, &tl, &p, &pl),
	                 -EPERM);
	assert_int_equal(envelope_open(env, (size_t)n, "test-", pk, &t, &tl, &p, &pl), -EPERM);
	assert_int_equal(envelope_open(env, (size_t)n, VOUCHER_DOMAIN, pk, &t, &tl, &p, &pl),
	                 -EPERM);
	/* Room. */
	assert_int_equal(envelope_seal(&id, "test-domain", type, sizeof(type),
	                               (const uint8_t *)payload, strlen(payload), env,
	                               (size_t)n - 1),
	                 -ENOBUFS);
	identity_wipe(&id);
}

/* Any byte changed anywhere (structure, key, type, payload, signature) and it fails. */
static void test_flip_any_byte(void **state)
{
	static const uint8_t masks[] = {0x01, 0x80, 0xff};
	uint8_t env[ENVELOPE_MAX], pk[32];
	const uint8_t *t, *p;
	size_t tl, pl, i, m;
	struct identity id;
	struct peerid peer;
	int n;

	(void)state;
	make_id(&id, 1);
	peerid_from_ed25519((const uint8_t *)"0123456789abcdef0123456789abcdef", &peer);
	n = envelope_voucher(&id, &peer, 1700000000, env, sizeof(env));
	assert_true(n > 0);
	assert_int_equal(envelope_open(env, (size_t)n, VOUCHER_DOMAIN, pk, &t, &tl, &p, &pl), 0);
	for (i = 0; i < (size_t)n; i++) {
		for (m = 0; m < sizeof(masks); m++) {
			env[i] ^= masks[m];
			if (envelope_open(env, (size_t)n, VOUCHER_DOMAIN, pk, &t, &tl, &p, &pl) ==
			    0)
				fail_msg("byte %zu ^ %02x still opens", i, masks[m]);
			env[i] ^= masks[m];
		}
	}
	/* Restored: opens again (the loop really put every byte back). */
	assert_int_equal(envelope_open(env, (size_t)n, VOUCHER_DOMAIN, pk, &t, &tl, &p, &pl), 0);
	/* Cut anywhere. */
	for (i = 0; i < (size_t)n; i++)
		assert_true(envelope_open(env, i, VOUCHER_DOMAIN, pk, &t, &tl, &p, &pl) < 0);
	identity_wipe(&id);
}

/*
 * The signed bytes built a second way, from RFC 0002's text: the signature in the envelope
 * verifies over uvarint(17) "libp2p-relay-rsvp" uvarint(2) 82 06 uvarint(len) payload, and
 * the payload is the canonical Voucher {relay, peer, expiration}.
 */
static void test_voucher(void **state)
{
	uint8_t env[ENVELOPE_MAX], pk[32], want[128], msg[256];
	const uint8_t *t, *p;
	size_t tl, pl, wl = 0, ml = 0;
	struct identity id;
	struct peerid relay, peer;
	struct voucher v;
	struct rbuf r;
	struct pb_field f;
	const uint8_t *sig = NULL;
	int n;

	(void)state;
	make_id(&id, 2);
	assert_int_equal(
	    peerid_parse(&peer, "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA"), 0);
	peerid_from_ed25519(id.pk, &relay);
	n = envelope_voucher(&id, &peer, 1893456000ull, env, sizeof(env));
	assert_true(n > 0);
	assert_int_equal(envelope_open(env, (size_t)n, VOUCHER_DOMAIN, pk, &t, &tl, &p, &pl), 0);
	assert_memory_equal(pk, id.pk, 32);
	assert_int_equal(tl, 2);
	assert_int_equal(t[0], 0x82);
	assert_int_equal(t[1], 0x06);

	assert_int_equal(envelope_voucher_decode(p, pl, &v), 0);
	assert_true(peerid_equal(&v.relay, &relay));
	assert_true(peerid_equal(&v.peer, &peer));
	assert_true(v.expiration == 1893456000ull);

	/* Canonical payload: 0a 26 relay, 12 26 peer, 18 varint(1893456000) = 80 b1 ef 86 07. */
	want[wl++] = 0x0a;
	want[wl++] = 38;
	memcpy(want + wl, relay.b, 38);
	wl += 38;
	want[wl++] = 0x12;
	want[wl++] = 38;
	memcpy(want + wl, peer.b, 38);
	wl += 38;
	memcpy(want + wl, "\x18\x80\xb1\xef\x86\x07", 6);
	wl += 6;
	assert_int_equal(pl, wl);
	assert_memory_equal(p, want, wl);

	msg[ml++] = 17;
	memcpy(msg + ml, "libp2p-relay-rsvp", 17);
	ml += 17;
	memcpy(msg + ml, "\x02\x82\x06", 3);
	ml += 3;
	msg[ml++] = (uint8_t)wl; /* below 0x80: a one-byte uvarint */
	memcpy(msg + ml, want, wl);
	ml += wl;
	rbuf_init(&r, env, (size_t)n);
	while (pb_next(&r, &f) > 0)
		if (f.num == 5 && f.len == 64)
			sig = f.p;
	assert_non_null(sig);
	assert_int_equal(crypto_sign_verify_detached(sig, msg, ml, id.pk), 0);
	msg[1] ^= 1; /* positive control: the check can fail */
	assert_int_not_equal(crypto_sign_verify_detached(sig, msg, ml, id.pk), 0);
	identity_wipe(&id);
}

static void test_voucher_decode_bad(void **state)
{
	struct peerid a;
	struct voucher v;
	uint8_t b[128];
	struct wbuf w;

	(void)state;
	peerid_from_ed25519((const uint8_t *)"abcdefghijklmnopqrstuvwxyz012345", &a);
	/* Positive control, with an unknown field that is skipped. */
	wbuf_init(&w, b, sizeof(b));
	pb_put_bytes(&w, 1, a.b, a.len);
	pb_put_bytes(&w, 2, a.b, a.len);
	pb_put_uint(&w, 3, 5);
	pb_put_uint(&w, 9, 1);
	assert_int_equal(envelope_voucher_decode(b, w.pos, &v), 0);
	assert_true(v.expiration == 5);
	/* No expiration. */
	wbuf_init(&w, b, sizeof(b));
	pb_put_bytes(&w, 1, a.b, a.len);
	pb_put_bytes(&w, 2, a.b, a.len);
	assert_int_equal(envelope_voucher_decode(b, w.pos, &v), -EBADMSG);
	/* Relay twice. */
	pb_put_bytes(&w, 1, a.b, a.len);
	pb_put_uint(&w, 3, 5);
	assert_int_equal(envelope_voucher_decode(b, w.pos, &v), -EBADMSG);
	/* A peer that is no peer id; expiration as bytes. */
	wbuf_init(&w, b, sizeof(b));
	pb_put_bytes(&w, 1, a.b, a.len);
	pb_put_bytes(&w, 2, a.b, a.len - 1);
	pb_put_uint(&w, 3, 5);
	assert_int_equal(envelope_voucher_decode(b, w.pos, &v), -EBADMSG);
	wbuf_init(&w, b, sizeof(b));
	pb_put_bytes(&w, 1, a.b, a.len);
	pb_put_bytes(&w, 2, a.b, a.len);
	pb_put_bytes(&w, 3, "x", 1);
	assert_int_equal(envelope_voucher_decode(b, w.pos, &v), -EBADMSG);
}

/* Envelopes put together by hand: other key types, missing and repeated fields, sizes. */
static void test_open_malformed(void **state)
{
	static const uint8_t secp[] = {0x08, 0x02, 0x12, 0x21, 0x03, 0x77, 0x77, 0xe9, 0x94, 0xe4,
	                               0x52, 0xc2, 0x16, 0x04, 0xf9, 0x1d, 0xe0, 0x93, 0xce, 0x41,
	                               0x5f, 0x54, 0x32, 0xf7, 0x01, 0xdd, 0x8c, 0xd1, 0xa7, 0xa6,
	                               0xfe, 0xa0, 0xe6, 0x30, 0xbf, 0xca, 0x99};
	uint8_t env[ENVELOPE_MAX + 64], key[36], sig[64] = {0}, pk[32], big[ENVELOPE_MAX];
	const uint8_t *t, *p;
	size_t tl, pl;
	struct identity id;
	struct wbuf w;
	int n;

	(void)state;
	make_id(&id, 3);
	peerid_pubkey_encode(id.pk, key, sizeof(key));

	wbuf_init(&w, env, sizeof(env));
	pb_put_bytes(&w, 1, secp, sizeof(secp));
	pb_put_bytes(&w, 3, "x", 1);
	pb_put_bytes(&w, 5, sig, 64);
	assert_int_equal(envelope_open(env, w.pos, "d", pk, &t, &tl, &p, &pl), -EPROTONOSUPPORT);

	/* No signature; a short one; no key; the key twice. */
	wbuf_init(&w, env, sizeof(env));
	pb_put_bytes(&w, 1, key, sizeof(key));
	pb_put_bytes(&w, 3, "x", 1);
	assert_int_equal(envelope_open(env, w.pos, "d", pk, &t, &tl, &p, &pl), -EBADMSG);
	pb_put_bytes(&w, 5, sig, 63);
	assert_int_equal(envelope_open(env, w.pos, "d", pk, &t, &tl, &p, &pl), -EBADMSG);
	wbuf_init(&w, env, sizeof(env));
	pb_put_bytes(&w, 3, "x", 1);
	pb_put_bytes(&w, 5, sig, 64);
	assert_int_equal(envelope_open(env, w.pos, "d", pk, &t, &tl, &p, &pl), -EBADMSG);
	pb_put_bytes(&w, 1, key, sizeof(key));
	assert_int_equal(envelope_open(env, w.pos, "d", pk, &t, &tl, &p, &pl), -EPERM);
	pb_put_bytes(&w, 1, key, sizeof(key));
	assert_int_equal(envelope_open(env, w.pos, "d", pk, &t, &tl, &p, &pl), -EBADMSG);

	/* A good envelope plus an unknown field still opens; a repeated payload does not. */
	n = envelope_seal(&id, "d", NULL, 0, (const uint8_t *)"abc", 3, env, sizeof(env));
	assert_true(n > 0);
	wbuf_init(&w, env, sizeof(env));
	w.pos = (size_t)n;
	pb_put_uint(&w, 4, 1);
	assert_int_equal(envelope_open(env, w.pos, "d", pk, &t, &tl, &p, &pl), 0);
	assert_int_equal(tl, 0);
	assert_int_equal(pl, 3);
	pb_put_bytes(&w, 3, "abc", 3);
	assert_int_equal(envelope_open(env, w.pos, "d", pk, &t, &tl, &p, &pl), -EBADMSG);

	/* Sizes: a payload whose envelope exceeds ENVELOPE_MAX is refused both ways. */
	memset(big, 'p', sizeof(big));
	assert_int_equal(envelope_seal(&id, "d", NULL, 0, big, ENVELOPE_MAX, env, sizeof(env)),
	                 -EMSGSIZE);
	/* The largest payload that fits: 512 - (38 + 2 + 3 + 66) bytes of it. */
	assert_int_equal(envelope_seal(&id, "d", NULL, 0, big, 403, env, sizeof(env)),
	                 ENVELOPE_MAX);
	assert_int_equal(envelope_open(env, ENVELOPE_MAX, "d", pk, &t, &tl, &p, &pl), 0);
	assert_int_equal(envelope_seal(&id, "d", NULL, 0, big, 404, env, sizeof(env)), -EMSGSIZE);
	assert_int_equal(envelope_open(env, ENVELOPE_MAX + 1, "d", pk, &t, &tl, &p, &pl), -EBADMSG);
	identity_wipe(&id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_seal_open),      cmocka_unit_test(test_flip_any_byte),
	    cmocka_unit_test(test_voucher),        cmocka_unit_test(test_voucher_decode_bad),
	    cmocka_unit_test(test_open_malformed),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
