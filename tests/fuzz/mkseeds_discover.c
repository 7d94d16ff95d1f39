/*
 * mkseeds_discover DIR: writes the seed corpus of fuzz_discover under DIR/fuzz_discover (the
 * input format is fuzz_discover.c's): a run of two pages of descriptors signed by fixed
 * identities (Ed25519 is deterministic, so the files are the same on every run), a relay that
 * floods a page, pages that time out and lose DESC, a cursor that goes back, and junk.
 */
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "descriptor.h"
#include "frame.h"
#include "identity.h"

static uint8_t buf[65536];
static size_t used;

static void start(uint8_t flags, uint64_t seq)
{
	used = 0;
	buf[used++] = flags;
	for (int i = 7; i >= 0; i--)
		buf[used++] = (uint8_t)(seq >> (8 * i));
}

/* One record: its length (late: a page times out before it), then msg. */
static void rec(const uint8_t *msg, size_t len, int late)
{
	buf[used++] = (uint8_t)((late ? 0x80 : 0) | (len >> 8));
	buf[used++] = (uint8_t)len;
	memcpy(buf + used, msg, len);
	used += len;
}

static void put(const char *dir, const char *name)
{
	char path[1024];
	FILE *f;

	snprintf(path, sizeof(path), "%s/fuzz_discover/%s", dir, name);
	f = fopen(path, "wb");
	if (!f || fwrite(buf, 1, used, f) != used)
		perror(path);
	if (f)
		fclose(f);
}

/* A DESC carrying a descriptor of identity seed s, Noise key byte nk, UDP endpoint ep. */
static size_t desc(uint8_t *out, uint8_t s, uint8_t nk, const char *ep, uint64_t seq)
{
	struct identity id;
	struct descriptor d = {0};
	uint8_t seed[IDENTITY_SEED_LEN], enc[DESC_MAX_LEN];

	memset(seed, s, sizeof(seed));
	identity_from_seed(&id, seed);
	memcpy(d.identity, id.pk, 32);
	memset(d.noise, nk, 32);
	d.seq = seq;
	d.issued_at = 1700000000;
	d.expires_at = 1700000000 + 86400;
	d.modes = DESC_MODE_DIRECT;
	d.max_circuits = 64;
	strcpy(d.version, "wgrelayd seed");
	d.n_endpoints = 1;
	d.endpoints[0].transport = DESC_T_UDP;
	addr_parse(&d.endpoints[0].addr, ep, 0);
	int n = desc_sign(&d, id.sk, enc, sizeof(enc));
	return n > 0 ? (size_t)ctrl_encode_desc_msg(CTRL_DESC, enc, (size_t)n, out, 1200) : 0;
}

static size_t discovered(uint8_t *out, uint8_t next_byte, uint8_t count)
{
	uint8_t next[32];

	memset(next, next_byte, sizeof(next));
	return (size_t)ctrl_encode_discovered(next, count, out, 64);
}

int main(int argc, char **argv)
{
	uint8_t m[1200];
	const char *dir = argc > 1 ? argv[1] : "tests/fuzz/corpus";

	if (sodium_init() < 0)
		return 1;
	/* Two pages from a loopback relay: new, a bootstrap line's key, the end. */
	start(0x00, 0);
	rec(m, desc(m, 1, 0x11, "127.0.0.1:51821", 3), 0);
	rec(m, desc(m, 2, 0x22, "198.51.100.9:51821", 1), 0);
	rec(m, discovered(m, 0x40, 2), 0);
	rec(m, desc(m, 3, 0x33, "[2001:db8::3]:51821", 9), 0);
	rec(m, discovered(m, 0, 1), 0);
	put(dir, "two-pages");
	/* Held already (seq 5), another identity's key, a bootstrap line elsewhere. */
	start(0x80 | 0x01 | 0x02 | 0x08 | 0x10, 5);
	rec(m, desc(m, 1, 0x11, "10.0.0.9:51821", 5), 0);
	rec(m, desc(m, 1, 0x11, "10.0.0.9:51821", 6), 0);
	rec(m, discovered(m, 0, 2), 0);
	put(dir, "known");
	/* A flood: more DESC than a page holds, then a DISCOVERED that goes back. */
	start(0xc0 | 0x20, 0);
	size_t n = desc(m, 4, 0x44, "198.51.100.4:51821", 1);
	for (int i = 0; i < 34; i++)
		rec(m, n, 0);
	rec(m, discovered(m, 0x50, 32), 0);
	rec(m, discovered(m, 0x30, 0), 0);
	put(dir, "flood");
	/* Pages that time out, DESC that were lost, then the end. */
	start(0x40, 0);
	rec(m, discovered(m, 0x10, 3), 1);
	rec(m, discovered(m, 0x10, 3), 1);
	rec(m, discovered(m, 0x10, 3), 0);
	rec(m, discovered(m, 0x20, 0), 1);
	rec(m, discovered(m, 0, 0), 0);
	put(dir, "timeouts");
	/* Junk: another message, a short DESC, padding with a stray byte. */
	start(0x00, 0);
	rec((const uint8_t *)"\x04", 1, 0);
	rec((const uint8_t *)"\x13\x00\x05"
	                     "ab",
	    5, 0);
	rec((const uint8_t *)"\x17\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	                     "\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00"
	                     "\x00\x00\x01",
	    37, 0);
	put(dir, "junk");
	return 0;
}
