/* Fuzz target: address parsing; whatever parses must format back to something that parses to
 * the same address, and classification must not depend on spelling. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[128], out[ADDR_STRLEN];
	struct addr a, b, m;

	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (addr_parse(&a, in, size & 1 ? 51820 : 0) != 0)
		return 0;
	addr_format(&a, out, sizeof(out));
	if (addr_parse(&b, out, 0) != 0 || !addr_equal(&a, &b))
		abort();
	/* An IPv4 address and its v4-mapped spelling classify the same. */
	addr_to_v6mapped(&m, &a);
	if (addr_family(&a) == AF_INET && addr_classify(&m) != addr_classify(&a))
		abort();
	/* ... and so do its 6to4 (2002:AABB:CCDD::) and NAT64 (64:ff9b::/96) spellings. */
	if (addr_family(&a) == AF_INET) {
		const uint8_t *v4 = (const uint8_t *)&a.in.sin_addr;
		struct addr e = m;

		memset(e.in6.sin6_addr.s6_addr, 0, 16);
		e.in6.sin6_addr.s6_addr[0] = 0x20;
		e.in6.sin6_addr.s6_addr[1] = 0x02;
		memcpy(&e.in6.sin6_addr.s6_addr[2], v4, 4);
		if (addr_classify(&e) != addr_classify(&a))
			abort();
		memset(e.in6.sin6_addr.s6_addr, 0, 16);
		e.in6.sin6_addr.s6_addr[1] = 0x64;
		e.in6.sin6_addr.s6_addr[2] = 0xff;
		e.in6.sin6_addr.s6_addr[3] = 0x9b;
		memcpy(&e.in6.sin6_addr.s6_addr[12], v4, 4);
		if (addr_classify(&e) != addr_classify(&a))
			abort();
	}
	addr_unmap(&m);
	if (addr_family(&a) == AF_INET && !addr_equal(&m, &a))
		abort();
	addr_class_name(addr_classify(&a));
	return 0;
}
