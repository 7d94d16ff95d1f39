/* Unit tests: libp2p/multiaddr.c (binary and text multiaddrs, the relay's subset). */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "multiaddr.h"

/* The peer id go-libp2p derives from the peer-ids spec's Ed25519 test key. */
#define PID "12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3pq"
#define PID_HEX                                                                                    \
	"002408011220"                                                                             \
	"1ed1e8fae2c4a144b8be8fd4b47bf3d3b34b871c3cacf6010f0e42d474fce27e"
#define CIRCUIT "/ip4/198.51.100.7/tcp/4001/p2p/" PID "/p2p-circuit"
/*
 * The binary form by the multiaddr table: ip4 = 04 + 4 bytes, tcp = 06 + port big-endian,
 * p2p = 421 (a5 03) + uvarint length 38 (26) + id, p2p-circuit = 290 (a2 02).
 */
#define CIRCUIT_HEX                                                                                \
	"04c6336407"                                                                               \
	"060fa1"                                                                                   \
	"a50326" PID_HEX "a202"

static size_t hex(const char *h, uint8_t *out, size_t cap)
{
	size_t n = 0;

	assert_int_equal(sodium_hex2bin(out, cap, h, strlen(h), NULL, &n, NULL), 0);
	return n;
}

static void test_circuit_text_binary(void **state)
{
	uint8_t want[MULTIADDR_MAX], ma[MULTIADDR_MAX];
	char s[256];
	struct addr a;
	char as[ADDR_STRLEN];
	size_t n;

	(void)state;
	n = hex(CIRCUIT_HEX, want, sizeof(want));
	assert_int_equal(n, 51);
	assert_int_equal(multiaddr_parse(CIRCUIT, ma, sizeof(ma)), 51);
	assert_memory_equal(ma, want, n);
	assert_int_equal(multiaddr_check(ma, n), 0);
	assert_int_equal(multiaddr_format(ma, n, s, sizeof(s)), (int)strlen(CIRCUIT));
	assert_string_equal(s, CIRCUIT);
	assert_int_equal(multiaddr_to_addr(ma, n, &a), 0);
	assert_string_equal(addr_format(&a, as, sizeof(as)), "198.51.100.7:4001");
	/* The old name of p2p reads the same. */
	assert_int_equal(
	    multiaddr_parse("/ip4/198.51.100.7/tcp/4001/ipfs/" PID "/p2p-circuit", ma, sizeof(ma)),
	    51);
	assert_memory_equal(ma, want, n);
	/* Room: the exact size works, one less does not, for both directions. */
	assert_int_equal(multiaddr_parse(CIRCUIT, ma, 50), -ENOBUFS);
	assert_int_equal(multiaddr_format(want, n, s, strlen(CIRCUIT) + 1), (int)strlen(CIRCUIT));
	assert_int_equal(multiaddr_format(want, n, s, strlen(CIRCUIT)), -ENOBUFS);
}

static void test_ip6(void **state)
{
	static const char *t = "/ip6/2001:db8::1/tcp/443";
	uint8_t want[32], ma[MULTIADDR_MAX];
	char s[128], as[ADDR_STRLEN];
	struct addr a;
	size_t n;

	(void)state;
	n = hex("29"
	        "20010db8000000000000000000000001"
	        "0601bb",
	        want, sizeof(want));
	assert_int_equal(multiaddr_parse(t, ma, sizeof(ma)), (int)n);
	assert_memory_equal(ma, want, n);
	assert_int_equal(multiaddr_format(ma, n, s, sizeof(s)), (int)strlen(t));
	assert_string_equal(s, t);
	assert_int_equal(multiaddr_to_addr(ma, n, &a), 0);
	assert_string_equal(addr_format(&a, as, sizeof(as)), "[2001:db8::1]:443");
	/* Another spelling of the same address formats canonically. */
	assert_int_equal(multiaddr_parse("/ip6/2001:0db8:0:0::0001/tcp/443", ma, sizeof(ma)),
	                 (int)n);
	assert_memory_equal(ma, want, n);
}

static void test_from_addr(void **state)
{
	uint8_t ma[MULTIADDR_MAX], want[MULTIADDR_MAX];
	struct addr a;
	struct peerid id;
	char s[256];
	int n;

	(void)state;
	assert_int_equal(peerid_parse(&id, PID), 0);
	assert_int_equal(addr_parse(&a, "198.51.100.7:4001", 0), 0);
	n = multiaddr_from_addr(&a, &id, ma, sizeof(ma));
	assert_int_equal(n, 49);
	assert_int_equal(hex(CIRCUIT_HEX, want, sizeof(want)), 51);
	assert_memory_equal(ma, want, 49);
	assert_int_equal(multiaddr_from_addr(&a, &id, ma, 48), -ENOBUFS);
	assert_int_equal(multiaddr_from_addr(&a, NULL, ma, sizeof(ma)), 8);
	/* An IPv4 peer seen through a dual-stack socket is written /ip4. */
	assert_int_equal(addr_parse(&a, "[::ffff:198.51.100.7]:4001", 0), 0);
	assert_int_equal(multiaddr_from_addr(&a, NULL, ma, sizeof(ma)), 8);
	assert_memory_equal(ma, want, 8);
	assert_int_equal(addr_parse(&a, "[2001:db8::1]:443", 0), 0);
	n = multiaddr_from_addr(&a, &id, ma, sizeof(ma));
	assert_int_equal(n, 1 + 16 + 3 + 3 + 38);
	assert_true(multiaddr_format(ma, (size_t)n, s, sizeof(s)) > 0);
	assert_string_equal(s, "/ip6/2001:db8::1/tcp/443/p2p/" PID);
	memset(&a, 0, sizeof(a));
	assert_int_equal(multiaddr_from_addr(&a, NULL, ma, sizeof(ma)), -EAFNOSUPPORT);
}

/* Every cut of a valid address fails unless it falls between two components. */
static void test_truncated(void **state)
{
	uint8_t ma[MULTIADDR_MAX];
	char s[256];
	size_t n, k;
	struct addr a;

	(void)state;
	n = hex(CIRCUIT_HEX, ma, sizeof(ma));
	for (k = 0; k < n; k++) {
		int want = (k == 5 || k == 8 || k == 49) ? 0 : -EBADMSG;

		assert_int_equal(multiaddr_check(ma, k), want);
		if (want < 0)
			assert_int_equal(multiaddr_format(ma, k, s, sizeof(s)), -EBADMSG);
	}
	/* Address without its port, port without an address. */
	assert_int_equal(multiaddr_to_addr(ma, 5, &a), -ENOENT);
	assert_int_equal(multiaddr_to_addr(ma + 5, 3, &a), -ENOENT);
	assert_int_equal(multiaddr_to_addr(ma, 7, &a), -EBADMSG);
	/* A p2p value that is no peer id, or longer than any. */
	n = hex("a50305"
	        "0102030405",
	        ma, sizeof(ma));
	assert_int_equal(multiaddr_check(ma, n), -EBADMSG);
	n = hex("a50341", ma, sizeof(ma));
	assert_int_equal(multiaddr_check(ma, n), -EBADMSG);
	/* A code varint cut short, an overlong one. */
	n = hex("a5", ma, sizeof(ma));
	assert_int_equal(multiaddr_check(ma, n), -EBADMSG);
	n = hex("ffffffffffffffffffff7f", ma, sizeof(ma));
	assert_int_equal(multiaddr_check(ma, n), -EBADMSG);
	/* Not minimally encoded (unsigned-varint spec): tcp as 86 00, a p2p length as a6 00. */
	n = hex("04c0000201"
	        "8600"
	        "0fa1",
	        ma, sizeof(ma));
	assert_int_equal(multiaddr_check(ma, n), -EBADMSG);
	n = hex("04c0000201"
	        "060fa1",
	        ma, sizeof(ma));
	assert_int_equal(multiaddr_check(ma, n), 0);
	n = hex("a503a600" PID_HEX, ma, sizeof(ma));
	assert_int_equal(multiaddr_check(ma, n), -EBADMSG);
	n = hex("a50326" PID_HEX, ma, sizeof(ma));
	assert_int_equal(multiaddr_check(ma, n), 0);
	memset(ma, 0, sizeof(ma));
	assert_int_equal(multiaddr_check(ma, MULTIADDR_MAX + 1), -EBADMSG);
}

static void test_unknown_codes(void **state)
{
	uint8_t ma[MULTIADDR_MAX];
	char s[256];
	struct addr a;
	size_t n;

	(void)state;
	/* /ip4/192.0.2.1/udp/4001/quic-v1: udp is 273 (91 02). */
	n = hex("04c0000201"
	        "91020fa1"
	        "cc03",
	        ma, sizeof(ma));
	assert_int_equal(multiaddr_check(ma, n), -EPROTONOSUPPORT);
	assert_int_equal(multiaddr_format(ma, n, s, sizeof(s)), -EPROTONOSUPPORT);
	assert_int_equal(multiaddr_to_addr(ma, n, &a), -EPROTONOSUPPORT);
	/* /dns4/…: 54. And code 0 (not in the subset either). */
	n = hex("36"
	        "0b"
	        "6578616d706c652e636f6d"
	        "060fa1",
	        ma, sizeof(ma));
	assert_int_equal(multiaddr_check(ma, n), -EPROTONOSUPPORT);
	n = hex("00", ma, sizeof(ma));
	assert_int_equal(multiaddr_check(ma, n), -EPROTONOSUPPORT);
	/* Once tcp is found what follows is not looked at (callers only want the address). */
	n = hex("04c0000201"
	        "060fa1"
	        "91020fa1",
	        ma, sizeof(ma));
	assert_int_equal(multiaddr_to_addr(ma, n, &a), 0);
	assert_int_equal(addr_port(&a), 4001);
	/* ip4 then p2p-circuit then tcp: the port does not belong to the address. */
	n = hex("04c0000201"
	        "a202"
	        "060fa1",
	        ma, sizeof(ma));
	assert_int_equal(multiaddr_check(ma, n), 0);
	assert_int_equal(multiaddr_to_addr(ma, n, &a), -ENOENT);
}

#define RELAYED "/p2p/" PID "/p2p-circuit/p2p/QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N"

static void test_parse_errors(void **state)
{
	static const char *bad[] = {
	    "",
	    "/",
	    "ip4/1.2.3.4",
	    "/ip4",
	    "/ip4/",
	    "/ip4/1.2.3",
	    "/ip4/1.2.3.4.5",
	    "/ip4/::1",
	    "/ip6/1.2.3.4",
	    "/ip4/1.2.3.4/",
	    "/ip4/1.2.3.4//tcp/1",
	    "/ip4/1.2.3.4/tcp/65536",
	    "/ip4/1.2.3.4/tcp/-1",
	    "/ip4/1.2.3.4/tcp/+1",
	    "/ip4/1.2.3.4/tcp/0x10",
	    "/ip4/1.2.3.4/tcp/000001",
	    "/ip4/1.2.3.4/udp/53",
	    "/dns4/example.com/tcp/443",
	    "/p2p/12D3KooWBtg3aaRMjxwedh83aGiUkwSxDwUZkzuJcfaqUmo7R3p0",
	    "/p2p/3SEo3LWLoPntC",
	    "/p2p-circuit/x",
	    "/P2P-CIRCUIT",
	};
	uint8_t ma[MULTIADDR_MAX];
	char s[256];
	size_t i;
	int n;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		n = multiaddr_parse(bad[i], ma, sizeof(ma));
		if (n != -EINVAL)
			fail_msg("\"%s\": %d", bad[i], n);
	}
	/* Positive controls next to the refused ones. */
	assert_int_equal(multiaddr_parse("/ip4/1.2.3.4/tcp/65535", ma, sizeof(ma)), 8);
	assert_int_equal(multiaddr_parse("/ip4/1.2.3.4/tcp/0", ma, sizeof(ma)), 8);
	assert_int_equal(multiaddr_parse("/p2p-circuit", ma, sizeof(ma)), 2);
	assert_int_equal(multiaddr_format(ma, 2, s, sizeof(s)), 12);
	assert_string_equal(s, "/p2p-circuit");
	n = multiaddr_parse(RELAYED, ma, sizeof(ma));
	assert_int_equal(n, 3 + 38 + 2 + 3 + 34);
	assert_int_equal(multiaddr_format(ma, (size_t)n, s, sizeof(s)), (int)strlen(RELAYED));
	assert_string_equal(s, RELAYED);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_circuit_text_binary), cmocka_unit_test(test_ip6),
	    cmocka_unit_test(test_from_addr),           cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_unknown_codes),       cmocka_unit_test(test_parse_errors),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
