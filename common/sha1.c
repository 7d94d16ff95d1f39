/* sha1.c: SHA-1 per FIPS 180-4 section 6.1 (see sha1.h for why it exists). */
#include <string.h>

#include "buf.h"
#include "sha1.h"

static uint32_t sha1_rol(uint32_t x, unsigned n)
{
	return (x << n) | (x >> (32 - n));
}

static void sha1_block(struct sha1_ctx *c, const uint8_t *p)
{
	uint32_t w[80], a = c->h[0], b = c->h[1], d = c->h[3], e = c->h[4], cc = c->h[2];

	for (int i = 0; i < 16; i++)
		w[i] = buf_load_be32(p + 4 * i);
	for (int i = 16; i < 80; i++)
		w[i] = sha1_rol(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
	for (int i = 0; i < 80; i++) {
		uint32_t f, k, t;

		if (i < 20) {
			f = (b & cc) | (~b & d);
			k = 0x5a827999;
		} else if (i < 40) {
			f = b ^ cc ^ d;
			k = 0x6ed9eba1;
		} else if (i < 60) {
			f = (b & cc) | (b & d) | (cc & d);
			k = 0x8f1bbcdc;
		} else {
			f = b ^ cc ^ d;
			k = 0xca62c1d6;
		}
		t = sha1_rol(a, 5) + f + e + k + w[i];
		e = d;
		d = cc;
		cc = sha1_rol(b, 30);
		b = a;
		a = t;
	}
	c->h[0] += a;
	c->h[1] += b;
	c->h[2] += cc;
	c->h[3] += d;
	c->h[4] += e;
}

void sha1_init(struct sha1_ctx *c)
{
	static const uint32_t iv[5] = {0x67452301, 0xefcdab89, 0x98badcfe, 0x10325476, 0xc3d2e1f0};

	memcpy(c->h, iv, sizeof(iv));
	c->bytes = 0;
	c->fill = 0;
}

void sha1_update(struct sha1_ctx *c, const void *data, size_t len)
{
	const uint8_t *p = data;

	c->bytes += len;
	while (len) {
		size_t n = sizeof(c->block) - c->fill;

		if (n > len)
			n = len;
		memcpy(c->block + c->fill, p, n);
		c->fill += n;
		p += n;
		len -= n;
		if (c->fill == sizeof(c->block)) {
			sha1_block(c, c->block);
			c->fill = 0;
		}
	}
}

void sha1_final(struct sha1_ctx *c, uint8_t out[SHA1_LEN])
{
	uint64_t bits = c->bytes * 8;
	uint8_t pad[72] = {0x80};
	/* pad to 56 mod 64, then the 64-bit big-endian bit length */
	size_t n = (c->fill < 56 ? 56 : 120) - c->fill;

	buf_store_be64(pad + n, bits);
	sha1_update(c, pad, n + 8);
	for (int i = 0; i < 5; i++)
		buf_store_be32(out + 4 * i, c->h[i]);
}

void sha1(uint8_t out[SHA1_LEN], const void *p, size_t len)
{
	struct sha1_ctx c;

	sha1_init(&c);
	sha1_update(&c, p, len);
	sha1_final(&c, out);
}
