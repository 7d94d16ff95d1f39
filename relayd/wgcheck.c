/* wgcheck.c: WireGuard datagram shape check (see wgcheck.h). */
#include "buf.h"
#include "wgcheck.h"

int wgcheck(const uint8_t *p, size_t len, uint32_t *sender, uint32_t *receiver)
{
	*sender = *receiver = 0;
	if (len < 4 || p[1] || p[2] || p[3])
		return -1;
	switch (p[0]) {
	case WG_MSG_INIT:
		if (len != 148)
			return -1;
		*sender = buf_load_le32(p + 4);
		return WG_MSG_INIT;
	case WG_MSG_RESP:
		if (len != 92)
			return -1;
		*sender = buf_load_le32(p + 4);
		*receiver = buf_load_le32(p + 8);
		return WG_MSG_RESP;
	case WG_MSG_COOKIE:
		if (len != 64)
			return -1;
		*receiver = buf_load_le32(p + 4);
		return WG_MSG_COOKIE;
	case WG_MSG_DATA:
		/*
		 * 16-byte header, ciphertext, 16-byte tag; a keepalive is 32. WireGuard pads to 16
		 * only up to the interface MTU, so a full-MTU packet need not be 16-aligned.
		 */
		if (len < 32)
			return -1;
		*receiver = buf_load_le32(p + 4);
		return WG_MSG_DATA;
	default:
		return -1;
	}
}
