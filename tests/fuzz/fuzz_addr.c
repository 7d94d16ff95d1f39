/* Fuzz target: address parsing; whatever parses must format back to something that parses to
 * the same address, and classification must not depend on spelling. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "addr.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* a's IPv4 address written into a copy of the IPv6 address m at off, inverted if asked. */
static unsigned classify_embedded(const struct addr *m, const uint8_t pfx[16], size_t off,
                                  const uint8_t v4[4], int invert)
{
	struct addr e = *m;

	memcpy(e.in6.sin6_addr.s6_addr, pfx, 16);
	for (int i = 0; i < 4; i++)
		e.in6.sin6_addr.s6_addr[off + i] = (uint8_t)(invert ? ~v4[i] : v4[i]);
	return addr_classify(&e);
}

/* An IPv4 address keeps its class in every IPv6 spelling. */
static void check_spellings(const struct addr *a, const struct addr *m)
{
	static const uint8_t translated[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const uint8_t compatible[16] = {0};
	static const uint8_t nat64[16] = {0, 0x64, 0xff, 0x9b};
	static const uint8_t nat64_local[16] = {0, 0x64, 0xff, 0x9b, 0, 1};
	static const uint8_t sixtofour[16] = {0x20, 0x02};
	static const uint8_t teredo[16] = {0x20, 0x01, 0,    0, 0x41, 0x36,
	                                   0xe3, 0x78, 0x80, 0, 0x63, 0xbf};
	const uint8_t *v4 = (const uint8_t *)&a->in.sin_addr;
	unsigned cls = addr_classify(a);

	if (addr_classify(m) != cls || classify_embedded(m, translated, 12, v4, 0) != cls ||
	    classify_embedded(m, nat64, 12, v4, 0) != cls ||
	    classify_embedded(m, sixtofour, 2, v4, 0) != cls ||
	    classify_embedded(m, teredo, 12, v4, 1) != cls ||
	    classify_embedded(m, nat64_local, 12, v4, 0) != (cls | ADDR_PRIVATE))
		abort();
	/* ::0.0.0.0 and ::0.0.0.1 are :: and ::1 themselves */
	if ((v4[0] || v4[1] || v4[2] || v4[3] > 1) &&
	    classify_embedded(m, compatible, 12, v4, 0) != cls)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char in[128], out[ADDR_STRLEN];
	struct addr a, b, m;
	const struct addr_special *e;

	if (size >= sizeof(in))
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (addr_parse(&a, in, size & 1 ? 51820 : 0) != 0)
		return 0;
	addr_format(&a, out, sizeof(out));
	if (addr_parse(&b, out, 0) != 0 || !addr_equal(&a, &b))
		abort();
	addr_to_v6mapped(&m, &a);
	if (addr_family(&a) == AF_INET)
		check_spellings(&a, &m);
	addr_unmap(&m);
	if (addr_family(&a) == AF_INET && !addr_equal(&m, &a))
		abort();
	/* A plain (non-embedding) entry's class is the address's class. */
	e = addr_special_find(&a);
	if (addr_family(&a) == AF_INET6 && !e)
		abort(); /* the IPv6 table covers everything */
	if (e && e->embed == ADDR_EMBED_NONE && addr_classify(&a) != e->cls)
		abort();
	addr_class_name(addr_classify(&a));
	return 0;
}
