/*
 * Fuzz target: wgcheck. Whatever it accepts must obey the WireGuard size rules and carry the
 * indices at their fixed offsets; it must never read past len.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "wgcheck.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* A copy of exactly size bytes, so ASan sees any over-read. */
	uint8_t *p = malloc(size ? size : 1);
	uint32_t s, r;
	int t;

	if (!p)
		return 0;
	memcpy(p, data, size);
	t = wgcheck(p, size, &s, &r);
	switch (t) {
	case -1:
		break;
	case WG_MSG_INIT:
		if (size != 148 || s != buf_load_le32(p + 4) || r)
			abort();
		break;
	case WG_MSG_RESP:
		if (size != 92 || s != buf_load_le32(p + 4) || r != buf_load_le32(p + 8))
			abort();
		break;
	case WG_MSG_COOKIE:
		if (size != 64 || r != buf_load_le32(p + 4) || s)
			abort();
		break;
	case WG_MSG_DATA:
		if (size < 32 || r != buf_load_le32(p + 4))
			abort();
		break;
	default:
		abort();
	}
	if (t > 0 && (p[0] != t || p[1] || p[2] || p[3]))
		abort();
	free(p);
	return 0;
}
