/*
 * Fuzz target: multiaddrs. Binary input that checks formats to text that parses back to the
 * same bytes; text input that parses formats and parses to the same bytes again; an address
 * found in either rebuilds to a multiaddr that yields it again.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "multiaddr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_binary(const uint8_t *ma, size_t n)
{
	char s[1024];
	uint8_t b[MULTIADDR_MAX];
	struct addr a, a2;
	int e = multiaddr_check(ma, n), k;

	if (e == 0) {
		k = multiaddr_format(ma, n, s, sizeof(s));
		if (k <= 0 || (size_t)k != strlen(s) ||
		    multiaddr_parse(s, b, sizeof(b)) != (int)n || memcmp(b, ma, n))
			abort();
	} else if (e != -EBADMSG && e != -EPROTONOSUPPORT) {
		abort();
	}
	if (multiaddr_to_addr(ma, n, &a) == 0) {
		/* from_addr writes a v4-mapped address as /ip4. */
		addr_unmap(&a);
		k = multiaddr_from_addr(&a, NULL, b, sizeof(b));
		if (k <= 0 || multiaddr_check(b, (size_t)k) != 0 ||
		    multiaddr_to_addr(b, (size_t)k, &a2) != 0 || !addr_equal(&a, &a2))
			abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char s[1024], t[1024];
	uint8_t b[MULTIADDR_MAX], c[MULTIADDR_MAX];
	int n;

	check_binary(data, size);
	if (size >= sizeof(s))
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	n = multiaddr_parse(s, b, sizeof(b));
	if (n < 0)
		return 0;
	if (multiaddr_check(b, (size_t)n) != 0 ||
	    multiaddr_format(b, (size_t)n, t, sizeof(t)) <= 0 ||
	    multiaddr_parse(t, c, sizeof(c)) != n || memcmp(b, c, (size_t)n))
		abort();
	check_binary(b, (size_t)n);
	return 0;
}
