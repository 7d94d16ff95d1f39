/*
 * peerid.c: peer ids, the PublicKey protobuf and base58btc (peerid.h).
 */
#include <errno.h>
#include <string.h>

#include "pb.h"
#include "peerid.h"

/* PublicKey.Type values (peer-ids spec, "Keys"). */
enum {
	KEY_RSA = 0,
	KEY_ED25519 = 1,
	KEY_SECP256K1 = 2,
	KEY_ECDSA = 3,
};

/* Multihash codes (multiformats multihash table) and the identity-hash cutoff of the spec. */
#define MH_IDENTITY     0x00
#define MH_SHA2_256     0x12
#define MH_IDENTITY_MAX 42

/* base58 work is quadratic in the length: both directions are bounded (peerid.h). */
#define B58_MAX_BYTES 128
#define B58_MAX_CHARS 200

static const char b58_alphabet[] = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz";

int peerid_pubkey_encode(const uint8_t pk[32], uint8_t *out, size_t cap)
{
	struct wbuf w;

	wbuf_init(&w, out, cap);
	if (pb_put_uint(&w, 1, KEY_ED25519) < 0 || pb_put_bytes(&w, 2, pk, 32) < 0)
		return -ENOBUFS;
	return (int)w.pos;
}

int peerid_pubkey_decode(const uint8_t *p, size_t n, uint8_t pk[32])
{
	struct rbuf r;
	struct pb_field f;
	const uint8_t *data = NULL;
	size_t dlen = 0;
	bool has_type = false, has_data = false;
	uint64_t type = 0;
	int e;

	rbuf_init(&r, p, n);
	while ((e = pb_next(&r, &f)) > 0) {
		if (f.num == 1) {
			if (f.wire != PB_VARINT || has_type)
				return -EBADMSG;
			has_type = true;
			type = f.v;
		} else if (f.num == 2) {
			if (f.wire != PB_LEN || has_data)
				return -EBADMSG;
			has_data = true;
			data = f.p;
			dlen = f.len;
		}
	}
	if (e < 0 || !has_type || !has_data)
		return -EBADMSG;
	switch (type) {
	case KEY_ED25519:
		if (dlen != 32)
			return -EBADMSG;
		memcpy(pk, data, 32);
		return 0;
	case KEY_RSA:
	case KEY_SECP256K1:
	case KEY_ECDSA:
		return -EPROTONOSUPPORT;
	default:
		return -EBADMSG;
	}
}

void peerid_from_ed25519(const uint8_t pk[32], struct peerid *id)
{
	/* An Ed25519 PublicKey protobuf is 36 bytes, under the 42-byte cutoff: identity hash. */
	memset(id, 0, sizeof(*id));
	id->b[0] = MH_IDENTITY;
	id->b[1] = PUBKEY_ED25519_PB_LEN;
	peerid_pubkey_encode(pk, id->b + 2, PUBKEY_ED25519_PB_LEN);
	id->len = PEERID_ED25519_LEN;
}

int peerid_from_bytes(struct peerid *id, const uint8_t *p, size_t n)
{
	bool ok;

	memset(id, 0, sizeof(*id));
	if (n < 2)
		return -EBADMSG;
	/* Both lengths are below 0x80, so each varint is the one byte checked here. */
	if (p[0] == MH_IDENTITY)
		ok = p[1] >= 1 && p[1] <= MH_IDENTITY_MAX && n == 2u + p[1];
	else
		ok = p[0] == MH_SHA2_256 && p[1] == 32 && n == 34;
	if (!ok)
		return -EBADMSG;
	memcpy(id->b, p, n);
	id->len = (uint8_t)n;
	return 0;
}

bool peerid_equal(const struct peerid *a, const struct peerid *b)
{
	return a->len == b->len && memcmp(a->b, b->b, a->len) == 0;
}

int peerid_format(const struct peerid *id, char *out, size_t cap)
{
	return base58_encode(id->b, id->len, out, cap);
}

int peerid_parse(struct peerid *id, const char *s)
{
	uint8_t b[PEERID_MAX];
	int n;

	memset(id, 0, sizeof(*id));
	if ((n = base58_decode(s, b, sizeof(b))) < 0)
		return -EINVAL;
	return peerid_from_bytes(id, b, (size_t)n) < 0 ? -EINVAL : 0;
}

int base58_encode(const uint8_t *p, size_t n, char *out, size_t cap)
{
	/* Digits of the number, little end first: log(256)/log(58) < 1.37 per byte. */
	uint8_t dig[B58_MAX_BYTES * 137 / 100 + 1];
	size_t zeros = 0, nd = 0, i, j, len;

	if (n > B58_MAX_BYTES)
		return -ENOBUFS;
	while (zeros < n && p[zeros] == 0)
		zeros++;
	for (i = zeros; i < n; i++) {
		unsigned carry = p[i];

		for (j = 0; j < nd; j++) {
			carry += (unsigned)dig[j] << 8;
			dig[j] = (uint8_t)(carry % 58);
			carry /= 58;
		}
		while (carry) {
			dig[nd++] = (uint8_t)(carry % 58);
			carry /= 58;
		}
	}
	len = zeros + nd;
	if (len + 1 > cap)
		return -ENOBUFS;
	memset(out, '1', zeros);
	for (j = 0; j < nd; j++)
		out[zeros + j] = b58_alphabet[dig[nd - 1 - j]];
	out[len] = '\0';
	return (int)len;
}

static int b58_value(char c)
{
	const char *q;

	if (c == '\0' || !(q = strchr(b58_alphabet, c)))
		return -1;
	return (int)(q - b58_alphabet);
}

int base58_decode(const char *s, uint8_t *out, size_t cap)
{
	/* Bytes of the number, little end first: log(58)/log(256) < 0.733 per character. */
	uint8_t num[B58_MAX_CHARS * 733 / 1000 + 1];
	size_t slen = strnlen(s, B58_MAX_CHARS + 1), zeros = 0, nb = 0, i, j;

	if (slen == 0 || slen > B58_MAX_CHARS)
		return -EINVAL;
	while (zeros < slen && s[zeros] == '1')
		zeros++;
	for (i = zeros; i < slen; i++) {
		int v = b58_value(s[i]);
		unsigned carry;

		if (v < 0)
			return -EINVAL;
		carry = (unsigned)v;
		for (j = 0; j < nb; j++) {
			carry += (unsigned)num[j] * 58;
			num[j] = (uint8_t)carry;
			carry >>= 8;
		}
		while (carry) {
			num[nb++] = (uint8_t)carry;
			carry >>= 8;
		}
	}
	if (zeros + nb > cap)
		return -ENOBUFS;
	memset(out, 0, zeros);
	for (j = 0; j < nb; j++)
		out[zeros + j] = num[nb - 1 - j];
	return (int)(zeros + nb);
}
