/* Unit tests: libp2p/p2pmsg.c (Circuit Relay v2 and identify messages). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "p2pmsg.h"
#include "pb.h"
#include "peerid.h"

/* /ip4/192.0.2.1/tcp/4001 and /ip6/2001:db8::1/tcp/4001, binary (multiaddr: code, value). */
static const uint8_t ma4[] = {0x04, 0xc0, 0x00, 0x02, 0x01, 0x06, 0x0f, 0xa1};
static const uint8_t ma6[] = {0x29, 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0,    0,    0,
                              0,    0,    0,    0,    0,    0, 1, 0x06, 0x0f, 0xa1};
static const uint8_t voucher[] = {0x0a, 0x01, 0x02, 0x03};

static void some_peer(struct peerid *id, uint8_t seed)
{
	uint8_t pk[32];
	int i;

	for (i = 0; i < 32; i++)
		pk[i] = (uint8_t)(seed + i);
	peerid_from_ed25519(pk, id);
}

static void assert_addrs_equal(const uint8_t *const *a, const size_t *al, int an,
                               const uint8_t *const *b, const size_t *bl, int bn)
{
	int i;

	assert_int_equal(an, bn);
	for (i = 0; i < an; i++) {
		assert_int_equal(al[i], bl[i]);
		assert_memory_equal(a[i], b[i], al[i]);
	}
}

static void assert_peer_equal(const struct p2p_peer *a, const struct p2p_peer *b)
{
	assert_int_equal(a->has, b->has);
	if (!a->has)
		return;
	assert_true(peerid_equal(&a->id, &b->id));
	assert_addrs_equal(a->addrs, a->addr_len, a->n_addrs, b->addrs, b->addr_len, b->n_addrs);
}

static void assert_limit_equal(const struct p2p_limit *a, const struct p2p_limit *b)
{
	assert_int_equal(a->has, b->has);
	assert_int_equal(a->duration_s, b->duration_s);
	assert_true(a->data == b->data);
}

static void assert_hop_equal(const struct hop_msg *a, const struct hop_msg *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->status, b->status);
	assert_peer_equal(&a->peer, &b->peer);
	assert_limit_equal(&a->limit, &b->limit);
	assert_int_equal(a->resv.has, b->resv.has);
	if (!a->resv.has)
		return;
	assert_true(a->resv.expire == b->resv.expire);
	assert_addrs_equal(a->resv.addrs, a->resv.addr_len, a->resv.n_addrs, b->resv.addrs,
	                   b->resv.addr_len, b->resv.n_addrs);
	assert_int_equal(a->resv.voucher != NULL, b->resv.voucher != NULL);
	assert_int_equal(a->resv.voucher_len, b->resv.voucher_len);
	if (a->resv.voucher)
		assert_memory_equal(a->resv.voucher, b->resv.voucher, a->resv.voucher_len);
}

static void assert_stop_equal(const struct stop_msg *a, const struct stop_msg *b)
{
	assert_int_equal(a->type, b->type);
	assert_int_equal(a->status, b->status);
	assert_peer_equal(&a->peer, &b->peer);
	assert_limit_equal(&a->limit, &b->limit);
}

/* Encode, decode, compare; every shorter buffer is -ENOBUFS. */
static void hop_round_trip(const struct hop_msg *m)
{
	uint8_t buf[1024];
	struct hop_msg d;
	int n, cap;

	n = hop_msg_encode(m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(hop_msg_decode(buf, (size_t)n, &d), 0);
	assert_hop_equal(m, &d);
	for (cap = 0; cap < n; cap++)
		assert_int_equal(hop_msg_encode(m, buf, (size_t)cap), -ENOBUFS);
	assert_int_equal(hop_msg_encode(m, buf, (size_t)n), n);
}

static void stop_round_trip(const struct stop_msg *m)
{
	uint8_t buf[1024];
	struct stop_msg d;
	int n, cap;

	n = stop_msg_encode(m, buf, sizeof(buf));
	assert_true(n > 0);
	assert_int_equal(stop_msg_decode(buf, (size_t)n, &d), 0);
	assert_stop_equal(m, &d);
	for (cap = 0; cap < n; cap++)
		assert_int_equal(stop_msg_encode(m, buf, (size_t)cap), -ENOBUFS);
}

static void test_hop_round_trips(void **state)
{
	struct hop_msg m;
	uint8_t buf[16];

	(void)state;
	/* RESERVE: the type alone, and sent although it is proto3's zero. */
	memset(&m, 0, sizeof(m));
	m.type = HOP_RESERVE;
	assert_int_equal(hop_msg_encode(&m, buf, sizeof(buf)), 2);
	assert_int_equal(buf[0], 0x08);
	assert_int_equal(buf[1], 0x00);
	hop_round_trip(&m);

	/* CONNECT to a peer with two addresses. */
	memset(&m, 0, sizeof(m));
	m.type = HOP_CONNECT;
	m.peer.has = true;
	some_peer(&m.peer.id, 1);
	m.peer.addrs[0] = ma4;
	m.peer.addr_len[0] = sizeof(ma4);
	m.peer.addrs[1] = ma6;
	m.peer.addr_len[1] = sizeof(ma6);
	m.peer.n_addrs = 2;
	hop_round_trip(&m);

	/* STATUS OK with a reservation (expire, 2 addrs, voucher) and a limit. */
	memset(&m, 0, sizeof(m));
	m.type = HOP_STATUS;
	m.status = RS_OK;
	m.resv.has = true;
	m.resv.expire = 1700003600;
	m.resv.addrs[0] = ma4;
	m.resv.addr_len[0] = sizeof(ma4);
	m.resv.addrs[1] = ma6;
	m.resv.addr_len[1] = sizeof(ma6);
	m.resv.n_addrs = 2;
	m.resv.voucher = voucher;
	m.resv.voucher_len = sizeof(voucher);
	m.limit.has = true;
	m.limit.duration_s = 3600;
	m.limit.data = 100000000;
	hop_round_trip(&m);

	/* STATUS refused: status alone. */
	memset(&m, 0, sizeof(m));
	m.type = HOP_STATUS;
	m.status = RS_RESOURCE_LIMIT_EXCEEDED;
	hop_round_trip(&m);

	/* A limit with only data, and an empty one. */
	m.limit.has = true;
	m.limit.data = 1;
	hop_round_trip(&m);
	m.limit.data = 0;
	hop_round_trip(&m);

	m.type = -1;
	assert_int_equal(hop_msg_encode(&m, buf, sizeof(buf)), -EINVAL);
}

static void test_stop_round_trips(void **state)
{
	struct stop_msg m;

	(void)state;
	memset(&m, 0, sizeof(m));
	m.type = STOP_CONNECT;
	m.peer.has = true;
	some_peer(&m.peer.id, 7);
	m.limit.has = true;
	m.limit.duration_s = 120;
	m.limit.data = 131072;
	stop_round_trip(&m);
	m.peer.addrs[0] = ma4;
	m.peer.addr_len[0] = sizeof(ma4);
	m.peer.n_addrs = 1;
	stop_round_trip(&m);

	memset(&m, 0, sizeof(m));
	m.type = STOP_STATUS;
	m.status = RS_OK;
	stop_round_trip(&m);
	m.status = RS_CONNECTION_FAILED;
	stop_round_trip(&m);
}

/*
 * Written by hand from the .proto, not by our encoder:
 * HopMessage { type: STATUS, reservation { expire: 300, addrs: [/ip4/192.0.2.1/tcp/4001],
 * voucher: 01 02 03 }, limit { duration: 120, data: 131072 }, status: OK }.
 */
static const uint8_t hand_hop[] = {
    0x08, 0x02,                                     /* 1 varint: STATUS */
    0x1a, 0x12,                                     /* 3 len 18: Reservation */
    0x08, 0xac, 0x02,                               /*   1 varint 300 */
    0x12, 0x08, 0x04, 0xc0, 0x00, 0x02, 0x01, 0x06, /*   2 len 8: the multiaddr */
    0x0f, 0xa1,                                     /*   */
    0x1a, 0x03, 0x01, 0x02, 0x03,                   /*   3 len 3: voucher */
    0x22, 0x06,                                     /* 4 len 6: Limit */
    0x08, 0x78,                                     /*   1 varint 120 */
    0x10, 0x80, 0x80, 0x08,                         /*   2 varint 131072 = 2^17 */
    0x28, 0x64,                                     /* 5 varint 100: OK */
};

static void test_hand_hop(void **state)
{
	struct hop_msg m;
	uint8_t buf[128];

	(void)state;
	assert_int_equal(hop_msg_decode(hand_hop, sizeof(hand_hop), &m), 0);
	assert_int_equal(m.type, HOP_STATUS);
	assert_int_equal(m.status, RS_OK);
	assert_false(m.peer.has);
	assert_true(m.resv.has);
	assert_true(m.resv.expire == 300);
	assert_int_equal(m.resv.n_addrs, 1);
	assert_int_equal(m.resv.addr_len[0], sizeof(ma4));
	assert_memory_equal(m.resv.addrs[0], ma4, sizeof(ma4));
	assert_int_equal(m.resv.voucher_len, 3);
	assert_memory_equal(m.resv.voucher, "\x01\x02\x03", 3);
	assert_true(m.limit.has);
	assert_int_equal(m.limit.duration_s, 120);
	assert_true(m.limit.data == 131072);
	/* Our encoder writes the fields in the same (field number) order: the same bytes. */
	assert_int_equal(hop_msg_encode(&m, buf, sizeof(buf)), sizeof(hand_hop));
	assert_memory_equal(buf, hand_hop, sizeof(hand_hop));
}

/*
 * StopMessage { type: CONNECT, peer { id: the Ed25519 peer id of key 01..20 } } with unknown
 * fields of every wire type around it, written by hand.
 */
static void test_hand_stop_unknown(void **state)
{
	uint8_t msg[128], pk[32];
	struct stop_msg m;
	struct peerid want;
	size_t n = 0;
	int i;

	(void)state;
	for (i = 0; i < 32; i++)
		pk[i] = (uint8_t)(i + 1);
	peerid_from_ed25519(pk, &want);

	msg[n++] = 0x78; /* 15 varint 5 */
	msg[n++] = 0x05;
	msg[n++] = 0x08; /* 1 varint: CONNECT */
	msg[n++] = 0x00;
	msg[n++] = 0x12; /* 2 len 45: Peer */
	msg[n++] = 45;
	msg[n++] = 0x0a; /*   1 len 38: id = identity multihash of the PublicKey pb */
	msg[n++] = 38;
	msg[n++] = 0x00;
	msg[n++] = 0x24;
	msg[n++] = 0x08;
	msg[n++] = 0x01;
	msg[n++] = 0x12;
	msg[n++] = 0x20;
	memcpy(msg + n, pk, 32);
	n += 32;
	msg[n++] = 0x2d; /*   5 fixed32, unknown */
	msg[n++] = 1;
	msg[n++] = 2;
	msg[n++] = 3;
	msg[n++] = 4;
	msg[n++] = 0x49; /* 9 fixed64 */
	memset(msg + n, 0xee, 8);
	n += 8;
	msg[n++] = 0x52; /* 10 len 2 */
	msg[n++] = 2;
	msg[n++] = 0xaa;
	msg[n++] = 0xbb;

	assert_int_equal(stop_msg_decode(msg, n, &m), 0);
	assert_int_equal(m.type, STOP_CONNECT);
	assert_true(m.peer.has);
	assert_true(peerid_equal(&m.peer.id, &want));
	assert_int_equal(m.peer.n_addrs, 0);
	assert_false(m.limit.has);
	assert_int_equal(m.status, 0);
}

static void test_malformed(void **state)
{
	struct hop_msg h;
	struct stop_msg s;
	/* No type: an empty message, a status alone. */
	static const uint8_t status_only[] = {0x28, 0x64};
	/* type as a length-delimited field; a truncated Limit; a Peer with no id; an id that
	   is no multihash (identity, length 5 but 4 bytes); duration past 32 bits. */
	static const uint8_t type_len[] = {0x0a, 0x01, 0x00};
	static const uint8_t limit_cut[] = {0x08, 0x01, 0x22, 0x04, 0x08, 0x78};
	static const uint8_t peer_noid[] = {0x08, 0x01, 0x12, 0x02, 0x12, 0x00};
	static const uint8_t bad_id[] = {0x08, 0x01, 0x12, 0x08, 0x0a, 0x06,
	                                 0x00, 0x05, 0x01, 0x02, 0x03, 0x04};
	static const uint8_t long_dur[] = {0x08, 0x01, 0x22, 0x06, 0x08,
	                                   0x80, 0x80, 0x80, 0x80, 0x10};
	static const uint8_t huge_type[] = {0x08, 0x80, 0x80, 0x80, 0x80, 0x08};

	(void)state;
	assert_int_equal(hop_msg_decode(NULL, 0, &h), -EBADMSG);
	assert_int_equal(hop_msg_decode(status_only, sizeof(status_only), &h), -EBADMSG);
	assert_int_equal(stop_msg_decode(status_only, sizeof(status_only) - 0, &s), -EBADMSG);
	assert_int_equal(hop_msg_decode(type_len, sizeof(type_len), &h), -EBADMSG);
	assert_int_equal(hop_msg_decode(limit_cut, sizeof(limit_cut), &h), -EBADMSG);
	assert_int_equal(hop_msg_decode(peer_noid, sizeof(peer_noid), &h), -EBADMSG);
	assert_int_equal(stop_msg_decode(peer_noid, sizeof(peer_noid), &s), -EBADMSG);
	assert_int_equal(hop_msg_decode(bad_id, sizeof(bad_id), &h), -EBADMSG);
	assert_int_equal(hop_msg_decode(long_dur, sizeof(long_dur), &h), -EBADMSG);
	assert_int_equal(hop_msg_decode(huge_type, sizeof(huge_type), &h), -EBADMSG);
	/* Positive controls: the same shapes made valid. */
	assert_int_equal(hop_msg_decode((const uint8_t *)"\x08\x01\x22\x00", 4, &h), 0);
	assert_true(h.limit.has);
	assert_int_equal(h.limit.duration_s, 0);
	{
		uint8_t ok_dur[sizeof(long_dur)];

		memcpy(ok_dur, long_dur, sizeof(ok_dur));
		memcpy(ok_dur + 5, "\xff\xff\xff\xff\x0f", 5); /* 2^32 - 1 */
		assert_int_equal(hop_msg_decode(ok_dur, sizeof(ok_dur), &h), 0);
		assert_true(h.limit.duration_s == UINT32_MAX);
	}
}

/* A list longer than P2PMSG_MAX_ADDRS: the first ones kept, the rest skipped. */
static void test_many_addrs(void **state)
{
	uint8_t buf[512];
	struct wbuf w;
	struct hop_msg m;
	uint8_t peer[256];
	struct wbuf pw;
	struct peerid id;
	int i;

	(void)state;
	some_peer(&id, 3);
	wbuf_init(&pw, peer, sizeof(peer));
	assert_int_equal(pb_put_bytes(&pw, 1, id.b, id.len), 0);
	for (i = 0; i < P2PMSG_MAX_ADDRS + 3; i++) {
		uint8_t a[sizeof(ma4)];

		memcpy(a, ma4, sizeof(a));
		a[4] = (uint8_t)i;
		assert_int_equal(pb_put_bytes(&pw, 2, a, sizeof(a)), 0);
	}
	wbuf_init(&w, buf, sizeof(buf));
	assert_int_equal(pb_put_uint(&w, 1, HOP_CONNECT), 0);
	assert_int_equal(pb_put_bytes(&w, 2, peer, pw.pos), 0);
	assert_int_equal(hop_msg_decode(buf, w.pos, &m), 0);
	assert_int_equal(m.peer.n_addrs, P2PMSG_MAX_ADDRS);
	for (i = 0; i < P2PMSG_MAX_ADDRS; i++)
		assert_int_equal(m.peer.addrs[i][4], i);
}

static void test_status_names(void **state)
{
	(void)state;
	assert_string_equal(relay_status_name(RS_OK), "OK");
	assert_string_equal(relay_status_name(RS_RESERVATION_REFUSED), "RESERVATION_REFUSED");
	assert_string_equal(relay_status_name(RS_RESOURCE_LIMIT_EXCEEDED),
	                    "RESOURCE_LIMIT_EXCEEDED");
	assert_string_equal(relay_status_name(RS_PERMISSION_DENIED), "PERMISSION_DENIED");
	assert_string_equal(relay_status_name(RS_CONNECTION_FAILED), "CONNECTION_FAILED");
	assert_string_equal(relay_status_name(RS_NO_RESERVATION), "NO_RESERVATION");
	assert_string_equal(relay_status_name(RS_MALFORMED_MESSAGE), "MALFORMED_MESSAGE");
	assert_string_equal(relay_status_name(RS_UNEXPECTED_MESSAGE), "UNEXPECTED_MESSAGE");
	assert_string_equal(relay_status_name(0), "UNUSED");
	assert_string_equal(relay_status_name(999), "UNKNOWN");
}

/* identify_encode's output read back field by field. */
static void test_identify(void **state)
{
	static const char *const protos[] = {"/ipfs/id/1.0.0", "/ipfs/ping/1.0.0",
	                                     "/libp2p/circuit/relay/0.2.0/hop"};
	uint8_t pk[32], pub[PUBKEY_ED25519_PB_LEN], buf[512];
	struct identify_info in;
	struct pb_field f;
	struct rbuf r;
	int n, i, nproto = 0, nlisten = 0, seen[7] = {0};

	(void)state;
	memset(pk, 0x5a, sizeof(pk));
	assert_int_equal(peerid_pubkey_encode(pk, pub, sizeof(pub)), PUBKEY_ED25519_PB_LEN);
	memset(&in, 0, sizeof(in));
	in.pubkey = pub;
	in.pubkey_len = sizeof(pub);
	in.listen[0] = ma4;
	in.listen_len[0] = sizeof(ma4);
	in.listen[1] = ma6;
	in.listen_len[1] = sizeof(ma6);
	in.n_listen = 2;
	in.observed = ma6;
	in.observed_len = sizeof(ma6);
	in.protocols = protos;
	in.n_protocols = 3;
	in.protocol_version = "ipfs/0.1.0";
	in.agent_version = "wgrelayd/1";
	n = identify_encode(&in, buf, sizeof(buf));
	assert_true(n > 0);

	rbuf_init(&r, buf, (size_t)n);
	while ((i = pb_next(&r, &f)) == 1) {
		assert_int_equal(f.wire, PB_LEN);
		assert_true(f.num >= 1 && f.num <= 6);
		seen[f.num]++;
		switch (f.num) {
		case 1: {
			uint8_t back[32];

			assert_int_equal(peerid_pubkey_decode(f.p, f.len, back), 0);
			assert_memory_equal(back, pk, 32);
			break;
		}
		case 2:
			assert_int_equal(f.len, in.listen_len[nlisten]);
			assert_memory_equal(f.p, in.listen[nlisten], f.len);
			nlisten++;
			break;
		case 3:
			assert_int_equal(f.len, strlen(protos[nproto]));
			assert_memory_equal(f.p, protos[nproto], f.len);
			nproto++;
			break;
		case 4:
			assert_int_equal(f.len, sizeof(ma6));
			assert_memory_equal(f.p, ma6, f.len);
			break;
		case 5:
			assert_int_equal(f.len, 10);
			assert_memory_equal(f.p, "ipfs/0.1.0", 10);
			break;
		case 6:
			assert_int_equal(f.len, 10);
			assert_memory_equal(f.p, "wgrelayd/1", 10);
			break;
		}
	}
	assert_int_equal(i, 0);
	assert_int_equal(seen[1], 1);
	assert_int_equal(nlisten, 2);
	assert_int_equal(nproto, 3);
	assert_int_equal(seen[4], 1);
	assert_int_equal(seen[5], 1);
	assert_int_equal(seen[6], 1);
	for (i = 0; i < n; i++)
		assert_int_equal(identify_encode(&in, buf, (size_t)i), -ENOBUFS);

	/* Absent members are left out. */
	memset(&in, 0, sizeof(in));
	assert_int_equal(identify_encode(&in, buf, sizeof(buf)), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hop_round_trips), cmocka_unit_test(test_stop_round_trips),
	    cmocka_unit_test(test_hand_hop),        cmocka_unit_test(test_hand_stop_unknown),
	    cmocka_unit_test(test_malformed),       cmocka_unit_test(test_many_addrs),
	    cmocka_unit_test(test_status_names),    cmocka_unit_test(test_identify),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
