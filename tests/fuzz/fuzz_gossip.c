/*
 * Fuzz target: gossip_input of an engine with two relay links and two descriptors held. The
 * input is a run of chunks: ctl (1) ‖ length (2) ‖ message; ctl bit 0 picks the link, bit 1 ticks
 * afterwards, the other bits move the clock (0x3f of them: the link goes down and up again).
 * Whatever the engine sends must decode and fit a CTRL frame; whatever decodes re-encodes to
 * itself; the store stays within its capacity; the engine's bookkeeping adds up.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "addr.h"
#include "gossip.h"

#define FUZZ_T0S 1700000000ull
#define FUZZ_CAP 8

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The descriptor of the relay whose Ed25519 seed is 32 bytes of `seed` (mkseeds_gossip: same). */
static size_t fuzz_desc(uint8_t seed, uint64_t seq, uint8_t *out)
{
	uint8_t s[32], pk[32], sk[64];
	struct descriptor d;
	int n;

	memset(s, seed, sizeof(s));
	crypto_sign_seed_keypair(pk, sk, s);
	memset(&d, 0, sizeof(d));
	memcpy(d.identity, pk, 32);
	memset(d.noise, 0x42, 32);
	d.seq = seq;
	d.issued_at = FUZZ_T0S - 60;
	d.expires_at = FUZZ_T0S + 86400;
	d.modes = DESC_MODE_DIRECT;
	d.n_endpoints = 1;
	d.endpoints[0].transport = DESC_T_UDP;
	if (addr_parse(&d.endpoints[0].addr, "192.0.2.1:51821", 0) != 0)
		abort();
	n = desc_sign(&d, sk, out, DESC_MAX_LEN);
	if (n <= 0)
		abort();
	return (size_t)n;
}

/* Everything the engine queued: each a gossip message that decodes and fits. */
static void fuzz_drain(struct gossip *g, uint64_t now)
{
	uint8_t buf[GOSSIP_MSG_MAX];
	struct gossip_msg m;
	uint32_t link;
	int len, n = 0;

	while ((len = gossip_next(g, now, &link, buf, sizeof(buf))) > 0) {
		if (len > GOSSIP_MSG_MAX || (link != 1 && link != 2) ||
		    gossip_msg_decode(buf, (size_t)len, &m) != 0 || ++n > 100000)
			abort();
	}
	if (len < 0)
		abort();
}

/* Decode, encode, decode: the second encoding equals the first. */
static void fuzz_codec(const uint8_t *p, size_t len)
{
	static uint8_t a[GOSSIP_MSG_MAX * 2], b[GOSSIP_MSG_MAX * 2];
	struct gossip_msg m, m2;
	int na, nb;

	if (gossip_msg_decode(p, len, &m) != 0)
		return;
	na = gossip_msg_encode(&m, a, sizeof(a));
	if (na <= 0 || (size_t)na > len || gossip_msg_decode(a, (size_t)na, &m2) != 0)
		abort();
	nb = gossip_msg_encode(&m2, b, sizeof(b));
	if (nb != na || memcmp(a, b, (size_t)na) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t d1[DESC_MAX_LEN], d2[DESC_MAX_LEN];
	static size_t n1, n2;
	struct gossip_config cfg;
	struct gossip *g;
	uint64_t now = FUZZ_T0S * 1000;
	size_t pos = 0;

	if (!n1) {
		if (sodium_init() < 0)
			abort();
		n1 = fuzz_desc(1, 1, d1);
		n2 = fuzz_desc(2, 1, d2);
	}
	gossip_config_default(&cfg);
	cfg.store_capacity = FUZZ_CAP;
	if (gossip_new(&g, &cfg) != 0)
		abort();
	if (gossip_publish(g, d1, n1, now) != DSTORE_NEW ||
	    gossip_publish(g, d2, n2, now) != DSTORE_NEW)
		abort();
	if (gossip_link_up(g, 1, now) != 0 || gossip_link_up(g, 2, now) != 0)
		abort();
	fuzz_drain(g, now);
	while (size - pos >= 3) {
		uint8_t ctl = data[pos];
		size_t len = (size_t)data[pos + 1] << 8 | data[pos + 2];
		uint32_t link = 1 + (ctl & 1);
		int r;

		pos += 3;
		if (len > size - pos)
			len = size - pos;
		if ((ctl >> 2) == 0x3f) {
			if (gossip_link_down(g, link, now) != 0 ||
			    gossip_link_up(g, link, now) != 0)
				abort();
		} else {
			now += (uint64_t)(ctl >> 2) * 250;
		}
		fuzz_codec(data + pos, len);
		/* A hint over the same bytes: it may read, never past len, and change nothing. */
		for (int stage = 0; stage <= 5; stage++)
			gossip_prefetch(g, link, data + pos, len, stage);
		r = gossip_input(g, link, data + pos, len, now);
		if (r != 0 && r != -EBUSY && r != -EBADMSG && r != -EPERM)
			abort();
		pos += len;
		if (ctl & 2)
			gossip_tick(g, now);
		fuzz_drain(g, now);
		if (dstore_count(gossip_store(g)) > FUZZ_CAP || !gossip_consistent(g))
			abort();
	}
	gossip_tick(g, now + 3600 * 1000);
	fuzz_drain(g, now + 3600 * 1000);
	gossip_free(g);
	return 0;
}
