/*
 * Fuzz target: Circuit Relay v2 messages. The first byte picks HopMessage or StopMessage,
 * the rest is the message. What decodes is encoded again and must decode to the same
 * message, and that encoding must be stable (encode(decode(e)) == e).
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "p2pmsg.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Room for what P2PMSG_MAX bytes decode to: the re-encoding adds at most a few fields
   (type, expire) that the input left out. */
#define OUT_MAX (P2PMSG_MAX + 64)

static void same_bytes(const uint8_t *a, size_t al, const uint8_t *b, size_t bl)
{
	if (al != bl || (al && memcmp(a, b, al) != 0))
		abort();
}

static void same_addrs(const uint8_t *const *a, const size_t *al, int an, const uint8_t *const *b,
                       const size_t *bl, int bn)
{
	if (an != bn || an < 0 || an > P2PMSG_MAX_ADDRS)
		abort();
	for (int i = 0; i < an; i++)
		same_bytes(a[i], al[i], b[i], bl[i]);
}

static void same_peer(const struct p2p_peer *a, const struct p2p_peer *b)
{
	if (a->has != b->has)
		abort();
	if (!a->has)
		return;
	if (!peerid_equal(&a->id, &b->id) || a->id.len == 0)
		abort();
	same_addrs(a->addrs, a->addr_len, a->n_addrs, b->addrs, b->addr_len, b->n_addrs);
}

static void same_limit(const struct p2p_limit *a, const struct p2p_limit *b)
{
	if (a->has != b->has || a->duration_s != b->duration_s || a->data != b->data)
		abort();
}

static void fuzz_hop(const uint8_t *p, size_t n)
{
	static uint8_t e1[OUT_MAX], e2[OUT_MAX];
	struct hop_msg a, b;
	int l1, l2;

	if (hop_msg_decode(p, n, &a) != 0)
		return;
	l1 = hop_msg_encode(&a, e1, sizeof(e1));
	if (l1 < 0 || hop_msg_decode(e1, (size_t)l1, &b) != 0)
		abort();
	if (a.type != b.type || a.status != b.status || a.resv.has != b.resv.has)
		abort();
	same_peer(&a.peer, &b.peer);
	same_limit(&a.limit, &b.limit);
	if (a.resv.has) {
		if (a.resv.expire != b.resv.expire || !a.resv.voucher != !b.resv.voucher)
			abort();
		same_addrs(a.resv.addrs, a.resv.addr_len, a.resv.n_addrs, b.resv.addrs,
		           b.resv.addr_len, b.resv.n_addrs);
		if (a.resv.voucher)
			same_bytes(a.resv.voucher, a.resv.voucher_len, b.resv.voucher,
			           b.resv.voucher_len);
	}
	l2 = hop_msg_encode(&b, e2, sizeof(e2));
	if (l2 < 0)
		abort();
	same_bytes(e1, (size_t)l1, e2, (size_t)l2);
}

static void fuzz_stop(const uint8_t *p, size_t n)
{
	static uint8_t e1[OUT_MAX], e2[OUT_MAX];
	struct stop_msg a, b;
	int l1, l2;

	if (stop_msg_decode(p, n, &a) != 0)
		return;
	l1 = stop_msg_encode(&a, e1, sizeof(e1));
	if (l1 < 0 || stop_msg_decode(e1, (size_t)l1, &b) != 0)
		abort();
	if (a.type != b.type || a.status != b.status)
		abort();
	same_peer(&a.peer, &b.peer);
	same_limit(&a.limit, &b.limit);
	l2 = stop_msg_encode(&b, e2, sizeof(e2));
	if (l2 < 0)
		abort();
	same_bytes(e1, (size_t)l1, e2, (size_t)l2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* The relay reads at most P2PMSG_MAX bytes of a message. */
	if (size < 1 || size > 1 + P2PMSG_MAX)
		return 0;
	if (data[0] & 1)
		fuzz_stop(data + 1, size - 1);
	else
		fuzz_hop(data + 1, size - 1);
	return 0;
}
