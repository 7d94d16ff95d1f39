/*
 * mkseeds_gossip DIR: writes the fuzz_gossip seed corpus under DIR/fuzz_gossip: chunk runs
 * (ctl ‖ length ‖ message, see fuzz_gossip.c) of every gossip message, valid and not, built
 * with the fuzz target's fixed relay keys and clock.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "addr.h"
#include "buf.h"
#include "gossip.h"

#define SEED_T0S 1700000000ull

static uint8_t out[8192];
static size_t out_n;

/* As fuzz_gossip.c's fuzz_desc: relay `seed`'s descriptor; its identity in id. */
static size_t seed_desc(uint8_t seed, uint64_t seq, uint8_t *p, uint8_t id[32])
{
	uint8_t s[32], sk[64];
	struct descriptor d;

	memset(s, seed, sizeof(s));
	crypto_sign_seed_keypair(id, sk, s);
	memset(&d, 0, sizeof(d));
	memcpy(d.identity, id, 32);
	memset(d.noise, 0x42, 32);
	d.seq = seq;
	d.issued_at = SEED_T0S - 60;
	d.expires_at = SEED_T0S + 86400;
	d.modes = DESC_MODE_DIRECT;
	d.n_endpoints = 1;
	d.endpoints[0].transport = DESC_T_UDP;
	addr_parse(&d.endpoints[0].addr, "192.0.2.1:51821", 0);
	return (size_t)desc_sign(&d, sk, p, DESC_MAX_LEN);
}

static void chunk(uint8_t ctl, const void *p, size_t n)
{
	out[out_n++] = ctl;
	out[out_n++] = (uint8_t)(n >> 8);
	out[out_n++] = (uint8_t)n;
	memcpy(out + out_n, p, n);
	out_n += n;
}

static void msg(uint8_t ctl, const struct gossip_msg *m)
{
	uint8_t b[GOSSIP_MSG_MAX];
	int n = gossip_msg_encode(m, b, sizeof(b));

	if (n > 0)
		chunk(ctl, b, (size_t)n);
}

static void put(const char *dir, const char *name)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/fuzz_gossip/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(out, 1, out_n, f) != out_n)
		perror(path);
	if (f)
		fclose(f);
	out_n = 0;
}

int main(int argc, char **argv)
{
	uint8_t id1[32], id2[32], id3[32], d[DESC_MAX_LEN], b[GOSSIP_MSG_MAX];
	struct gossip_msg m;
	size_t n;

	if (argc != 2 || sodium_init() < 0) {
		fprintf(stderr, "usage: mkseeds_gossip DIR\n");
		return 1;
	}
	seed_desc(1, 1, d, id1);
	seed_desc(2, 1, d, id2);

	/* IHAVE: one we hold (nothing asked), one new (WANT), from both links, then the answer. */
	memset(&m, 0, sizeof(m));
	m.type = GOSSIP_T_IHAVE;
	m.u.ihave.n = 2;
	memcpy(m.u.ihave.e[0].id, id1, 32);
	m.u.ihave.e[0].seq = 1;
	n = seed_desc(3, 1, d, id3);
	memcpy(m.u.ihave.e[1].id, id3, 32);
	m.u.ihave.e[1].seq = 1;
	msg(0, &m);
	msg(1, &m);
	chunk(0, b, (size_t)gossip_msg_desc(b, sizeof(b), d, n));
	put(argv[1], "ihave_want_desc");

	/* The same, but the answer never comes: a timeout moves the WANT to the other link. */
	msg(0, &m);
	msg(1, &m);
	chunk(21 << 2 | 2, "", 0);
	chunk(1, b, (size_t)gossip_msg_desc(b, sizeof(b), d, n));
	put(argv[1], "want_timeout");

	/* The link asked goes down and up. */
	msg(0, &m);
	msg(1, &m);
	chunk(0xfc, "", 0);
	put(argv[1], "link_bounce");

	/* WANT what we hold: DESC answers. */
	memset(&m, 0, sizeof(m));
	m.type = GOSSIP_T_WANT;
	m.u.want.n = 3;
	memcpy(m.u.want.id[0], id1, 32);
	memcpy(m.u.want.id[1], id2, 32);
	memcpy(m.u.want.id[2], id3, 32);
	msg(1, &m);
	put(argv[1], "want");

	/* An update pushed, and a forged one. */
	n = seed_desc(1, 2, d, id1);
	chunk(0, b, (size_t)gossip_msg_desc(b, sizeof(b), d, n));
	d[n - 1] ^= 1;
	chunk(1, b, (size_t)gossip_msg_desc(b, sizeof(b), d, n));
	put(argv[1], "desc_update_forged");

	/* DIGEST of an empty store (both halves): listings of the buckets we hold. */
	memset(&m, 0, sizeof(m));
	m.type = GOSSIP_T_DIGEST;
	m.u.digest.n = GOSSIP_DIGEST_MAX;
	msg(0, &m);
	m.u.digest.first = GOSSIP_DIGEST_MAX;
	msg(0, &m);
	put(argv[1], "digest");

	/* BUCKET answering our DIGEST: id1 newer, id3 new; then one after the round (unsolicited). */
	memset(&m, 0, sizeof(m));
	m.type = GOSSIP_T_BUCKET;
	m.u.bucket.bucket = id1[0];
	m.u.bucket.total = 1;
	m.u.bucket.n = 1;
	memcpy(m.u.bucket.e[0].id, id1, 32);
	m.u.bucket.e[0].seq = 5;
	msg(0, &m);
	m.u.bucket.bucket = id2[0];
	m.u.bucket.total = 0;
	m.u.bucket.n = 0;
	msg(1, &m);
	msg(0x3e << 2 | 2, &m);
	put(argv[1], "bucket");

	/* Malformed: counts, lengths, order, padding. */
	chunk(0, "\x11\x00", 2);
	chunk(0, "\x11\x1a", 2);
	chunk(1, "\x12\x01\x00", 3);
	chunk(0, "\x13\x03\xe4", 3);
	chunk(0, "\x14\xc8\x64", 3);
	chunk(1, "\x15\x05\x00\x01\x00\x00\x00", 7);
	chunk(0, "\x15\x05\x00\x00\x00\x00\x00\x00\x00\x01", 10);
	chunk(0, "\x10\x00", 2);
	put(argv[1], "malformed");
	return 0;
}
