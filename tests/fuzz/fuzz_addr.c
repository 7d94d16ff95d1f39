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
	addr_unmap(&m);
	if (addr_family(&a) == AF_INET && !addr_equal(&m, &a))
		abort();
	addr_class_name(addr_classify(&a));
	return 0;
}
