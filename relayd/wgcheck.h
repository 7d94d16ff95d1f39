/* wgcheck.h: does a datagram look like WireGuard? (PROTOCOL.md §5.5) */
#ifndef WGR_WGCHECK_H
#define WGR_WGCHECK_H

#include <stddef.h>
#include <stdint.h>

enum wg_msg_type {
	WG_MSG_INIT = 1,   /* 148 bytes: type, sender, ... */
	WG_MSG_RESP = 2,   /* 92 bytes: type, sender, receiver, ... */
	WG_MSG_COOKIE = 3, /* 64 bytes: type, receiver, ... */
	WG_MSG_DATA = 4,   /* >= 32: type, receiver, counter, ... */
};

/*
 * Return the WireGuard message type, or -1 when the datagram is not WireGuard-shaped (type
 * 1-4 as a little-endian u32 with three zero bytes, and that type's size rule). *sender and
 * *receiver get the indices the type carries (0 where it has none).
 */
int wgcheck(const uint8_t *p, size_t len, uint32_t *sender, uint32_t *receiver);

#endif
