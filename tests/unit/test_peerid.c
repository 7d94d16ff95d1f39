/* Unit tests: libp2p/peerid.c (peer ids, the PublicKey protobuf, base58btc). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "identity.h"
#include "peerid.h"

static size_t hex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;

	assert_int_equal(sodium_hex2bin(out, cap, h, strlen(h), NULL, &n, NULL), 0);
	return n;
}

/*
 * The peer-ids spec's Ed25519 test vector: the PrivateKey protobuf holds seed ‖ pk, the
 * PublicKey protobuf 08 01 12 20 ‖ pk. go-libp2p's tests derive the peer id
 * 12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq from this very key.
 */
static void test_spec_ed25519_vector(void **state)
{
	uint8_t priv[68], pub[36], enc[64], pk[32];
	struct identity id;
	struct peerid p, q;
	char s[PEERID_STR_MAX];

	(void)state;
	assert_int_equal(
	    hex("080112407e0830617c4a7de83925dfb2694556b12936c477a0e1feb2e148ec9da60fee7d"
	        "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e",
	        priv, sizeof(priv)),
	    68);
	assert_int_equal(
	    hex("080112201ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e", pub,
	        sizeof(pub)),
	    36);
	identity_from_seed(&id, priv + 4);
	assert_memory_equal(id.sk, priv + 4, 64);
	assert_memory_equal(id.pk, pub + 4, 32);

	assert_int_equal(peerid_pubkey_encode(id.pk, enc, sizeof(enc)), PUBKEY_ED25519_PB_LEN);
	assert_memory_equal(enc, pub, 36);
	assert_int_equal(peerid_pubkey_encode(id.pk, enc, 35), -ENOBUFS);
	assert_int_equal(peerid_pubkey_decode(pub, sizeof(pub), pk), 0);
	assert_memory_equal(pk, id.pk, 32);

	peerid_from_ed25519(id.pk, &p);
	assert_int_equal(p.len, PEERID_ED25519_LEN);
	assert_int_equal(p.b[0], 0x00);
	assert_int_equal(p.b[1], 36);
	assert_memory_equal(p.b + 2, pub, 36);
	assert_int_equal(peerid_format(&p, s, sizeof(s)), 52);
	assert_string_equal(s, "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq");
	assert_int_equal(peerid_parse(&q, s), 0);
	assert_true(peerid_equal(&p, &q));
	/* Positive control for equality: one changed key byte is another peer. */
	q.b[10] ^= 1;
	assert_false(peerid_equal(&p, &q));
	assert_int_equal(peerid_format(&p, s, 52), -ENOBUFS);
	identity_wipe(&id);
}

/* The spec's string examples: Ed25519 identity multihash and sha2-256 ("Qm…"). */
static void test_spec_examples(void **state)
{
	static const char *ed = "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5SA";
	static const char *qm = "QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N";
	static const uint8_t pfx[] = {0x00, 0x24, 0x08, 0x01, 0x12, 0x20};
	struct peerid p, q;
	uint8_t pk[32];
	char s[PEERID_STR_MAX];

	(void)state;
	assert_int_equal(peerid_parse(&p, ed), 0);
	assert_int_equal(p.len, 38);
	assert_memory_equal(p.b, pfx, sizeof(pfx));
	assert_int_equal(peerid_pubkey_decode(p.b + 2, p.len - 2, pk), 0);
	peerid_from_ed25519(pk, &q);
	assert_true(peerid_equal(&p, &q));
	assert_int_equal(peerid_format(&p, s, sizeof(s)), (int)strlen(ed));
	assert_string_equal(s, ed);

	assert_int_equal(peerid_parse(&p, qm), 0);
	assert_int_equal(p.len, 34);
	assert_int_equal(p.b[0], 0x12);
	assert_int_equal(p.b[1], 0x20);
	assert_int_equal(peerid_format(&p, s, sizeof(s)), (int)strlen(qm));
	assert_string_equal(s, qm);

	/* CIDv1 form, bad characters, a truncated id, nothing. */
	assert_int_equal(
	    peerid_parse(&p, "bafzbeie5745rpv2m6tjyuugywy4d5ewrqgqqhfnf445he3omzpjbx5xqxe"),
	    -EINVAL);
	assert_int_equal(p.len, 0);
	assert_int_equal(peerid_parse(&p, "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5S0"),
	                 -EINVAL);
	assert_int_equal(peerid_parse(&p, "12D3KooWD3eckifWpRn9wQpMG9R9hX3sD158z7EqHWmweQAJU5S"),
	                 -EINVAL);
	assert_int_equal(peerid_parse(&p, ""), -EINVAL);
}

/* Every Ed25519 peer id starts "12D3KooW": the fixed 00 24 08 01 12 20 prefix. */
static void test_ed25519_prefix(void **state)
{
	uint8_t seed[32];
	struct identity id;
	struct peerid p;
	char s[PEERID_STR_MAX];
	int i;

	(void)state;
	for (i = 0; i < 64; i++) {
		memset(seed, i * 37, sizeof(seed));
		seed[i % 32] ^= (uint8_t)(i + 1);
		identity_from_seed(&id, seed);
		peerid_from_ed25519(id.pk, &p);
		assert_int_equal(peerid_format(&p, s, sizeof(s)), 52);
		assert_memory_equal(s, "12D3KooW", 8);
	}
}

/*
 * Published base58 examples: bitcoin core's base58_encode_decode.json and the examples of the
 * IETF draft on base58 (draft-msporny-base58), among them leading zero bytes as '1's.
 */
static void test_base58_vectors(void **state)
{
	static const struct {
		const char *hex, *b58;
	} v[] = {
	    {"61", "2g"},
	    {"626262", "a3gV"},
	    {"636363", "aPEr"},
	    {"73696d706c792061206c6f6e6720737472696e67", "2cFupjhnEsSn59qHXstmK2ffpLv2"},
	    {"00eb15231dfceb60925886b67d065299925915aeb172c06647",
	     "1NS17iag9jJgTHD1VXjvLCEnZuQ3rJDE9L"},
	    {"516b6fcd0f", "ABnLTmg"},
	    {"bf4f89001e670274dd", "3SEo3LWLoPntC"},
	    {"572e4794", "3EFU7m"},
	    {"ecac89cad93923c02321", "EJDM8drfXA6uyA"},
	    {"10c8511e", "Rt5zm"},
	    {"00000000000000000000", "1111111111"},
	    {"48656c6c6f20576f726c6421", "2NEpo7TZRRrLZSi2U"},
	    {"0000287fb4cd", "11233QC4"},
	};
	uint8_t b[64], d[64];
	char s[128];
	size_t i, n;

	(void)state;
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		n = hex(v[i].hex, b, sizeof(b));
		assert_int_equal(base58_encode(b, n, s, sizeof(s)), (int)strlen(v[i].b58));
		assert_string_equal(s, v[i].b58);
		assert_int_equal(base58_decode(v[i].b58, d, sizeof(d)), (int)n);
		assert_memory_equal(d, b, n);
	}
	assert_int_equal(base58_encode(b, 0, s, sizeof(s)), 0);
	assert_string_equal(s, "");
}

/* Round trips over all lengths, with 0..3 leading zero bytes; and the bounds. */
static void test_base58_roundtrip(void **state)
{
	uint8_t b[129], d[129];
	char s[256];
	size_t n, z;
	int k;

	(void)state;
	for (n = 1; n <= 128; n++) {
		for (z = 0; z <= 3 && z <= n; z++) {
			randombytes_buf(b, n);
			memset(b, 0, z);
			if (z < n && b[z] == 0)
				b[z] = 1;
			k = base58_encode(b, n, s, sizeof(s));
			assert_true(k > 0);
			assert_int_equal(strspn(s, "1"), z);
			assert_int_equal(base58_decode(s, d, sizeof(d)), (int)n);
			assert_memory_equal(d, b, n);
			assert_int_equal(base58_decode(s, d, n - 1), -ENOBUFS);
		}
	}
	assert_int_equal(base58_encode(b, 129, s, sizeof(s)), -ENOBUFS);
	memset(b, 0, 4);
	assert_int_equal(base58_encode(b, 4, s, 4), -ENOBUFS); /* "1111" needs the '\0' too */
	assert_int_equal(base58_encode(b, 4, s, 5), 4);
	/* Outside the alphabet: 0 O I l, a space, a high byte. */
	assert_int_equal(base58_decode("abc0", d, sizeof(d)), -EINVAL);
	assert_int_equal(base58_decode("Oabc", d, sizeof(d)), -EINVAL);
	assert_int_equal(base58_decode("abIc", d, sizeof(d)), -EINVAL);
	assert_int_equal(base58_decode("ablc", d, sizeof(d)), -EINVAL);
	assert_int_equal(base58_decode("ab c", d, sizeof(d)), -EINVAL);
	assert_int_equal(base58_decode("ab\xc3\xa9", d, sizeof(d)), -EINVAL);
	assert_int_equal(base58_decode("", d, sizeof(d)), -EINVAL);
	memset(s, 'z', 201);
	s[201] = '\0';
	assert_int_equal(base58_decode(s, d, sizeof(d)), -EINVAL);
	s[200] = '\0';
	assert_int_equal(base58_decode(s, d, sizeof(d)), -ENOBUFS);
	{
		uint8_t big[160];

		/* 58^200 - 1 takes 1172 bits: the longest input fills 147 bytes. */
		assert_int_equal(base58_decode(s, big, sizeof(big)), 147);
	}
}

static void test_pubkey_decode(void **state)
{
	uint8_t b[128], pk[32];
	size_t n;

	(void)state;
	/* The spec's secp256k1 and ECDSA public keys, and an RSA type: refused by name. */
	n = hex("08021221037777e994e452c21604f91de093ce415f5432f701dd8cd1a7a6fea0e630bfca99", b,
	        sizeof(b));
	assert_int_equal(peerid_pubkey_decode(b, n, pk), -EPROTONOSUPPORT);
	n = hex(
	    "0803125b3059301306072a8648ce3d020106082a8648ce3d03010703420004de3d300fa36ae0e8f5d530"
	    "899d83abab44abf3161f162a4bc901d8e6ecda020e8b6d5f8da30525e71d6851510c098e5c47c646a597"
	    "fb4dcec034e9f77c409e62",
	    b, sizeof(b));
	assert_int_equal(peerid_pubkey_decode(b, n, pk), -EPROTONOSUPPORT);
	n = hex("08001203010203", b, sizeof(b));
	assert_int_equal(peerid_pubkey_decode(b, n, pk), -EPROTONOSUPPORT);

	/* Ed25519 with fields reversed and an unknown field: still the key (positive control). */
	n = hex("1220"
	        "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
	        "1801"
	        "0801",
	        b, sizeof(b));
	assert_int_equal(peerid_pubkey_decode(b, n, pk), 0);
	assert_int_equal(pk[0], 0x1e);
	/* Malformed: data 31 bytes, no data, no type, type repeated, unknown type, truncated,
	   type as bytes. */
	n = hex("0801121f"
	        "d1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e",
	        b, sizeof(b));
	assert_int_equal(peerid_pubkey_decode(b, n, pk), -EBADMSG);
	n = hex("0801", b, sizeof(b));
	assert_int_equal(peerid_pubkey_decode(b, n, pk), -EBADMSG);
	n = hex("1220"
	        "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e",
	        b, sizeof(b));
	assert_int_equal(peerid_pubkey_decode(b, n, pk), -EBADMSG);
	n = hex("08010801"
	        "1220"
	        "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e",
	        b, sizeof(b));
	assert_int_equal(peerid_pubkey_decode(b, n, pk), -EBADMSG);
	n = hex("0807"
	        "1220"
	        "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e",
	        b, sizeof(b));
	assert_int_equal(peerid_pubkey_decode(b, n, pk), -EBADMSG);
	n = hex("0801"
	        "1220"
	        "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce2",
	        b, sizeof(b));
	assert_int_equal(peerid_pubkey_decode(b, n, pk), -EBADMSG);
	n = hex("0a0101"
	        "1220"
	        "1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e",
	        b, sizeof(b));
	assert_int_equal(peerid_pubkey_decode(b, n, pk), -EBADMSG);
	assert_int_equal(peerid_pubkey_decode(b, 0, pk), -EBADMSG);
}

static void test_from_bytes(void **state)
{
	uint8_t b[PEERID_MAX + 2];
	struct peerid p;

	(void)state;
	memset(b, 0xab, sizeof(b));
	b[0] = 0x12;
	b[1] = 0x20;
	assert_int_equal(peerid_from_bytes(&p, b, 34), 0);
	assert_int_equal(p.len, 34);
	assert_int_equal(peerid_from_bytes(&p, b, 33), -EBADMSG);
	assert_int_equal(p.len, 0);
	assert_int_equal(peerid_from_bytes(&p, b, 35), -EBADMSG);
	b[1] = 0x21; /* sha2-256 with another digest length */
	assert_int_equal(peerid_from_bytes(&p, b, 35), -EBADMSG);
	b[0] = 0x00;
	b[1] = 42; /* the identity hash's upper bound */
	assert_int_equal(peerid_from_bytes(&p, b, 44), 0);
	b[1] = 43;
	assert_int_equal(peerid_from_bytes(&p, b, 45), -EBADMSG);
	b[1] = 0;
	assert_int_equal(peerid_from_bytes(&p, b, 2), -EBADMSG);
	b[0] = 0x13; /* sha2-512 and others: not a peer id */
	b[1] = 0x20;
	assert_int_equal(peerid_from_bytes(&p, b, 34), -EBADMSG);
	assert_int_equal(peerid_from_bytes(&p, b, 1), -EBADMSG);
	assert_int_equal(peerid_from_bytes(&p, b, 0), -EBADMSG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spec_ed25519_vector), cmocka_unit_test(test_spec_examples),
	    cmocka_unit_test(test_ed25519_prefix),      cmocka_unit_test(test_base58_vectors),
	    cmocka_unit_test(test_base58_roundtrip),    cmocka_unit_test(test_pubkey_decode),
	    cmocka_unit_test(test_from_bytes),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
