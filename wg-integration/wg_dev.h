/* wg_dev.h: growing the device and peer containers, shared by both backends' parsers. */
#ifndef WGR_WG_DEV_H
#define WGR_WG_DEV_H

#include "wg.h"

/* A zeroed device; NULL when out of memory. */
struct wg_device *wg_dev_new(void);
/* Append a zeroed peer; NULL when out of memory or past WG_DEV_MAX_PEERS. */
struct wg_peer *wg_dev_add_peer(struct wg_device *dev);
/* Append an allowed IP to a peer; 0 or -ENOMEM. */
int wg_dev_add_allowedip(struct wg_peer *peer, const struct wg_allowedip *aip);

/* A preshared key of all zeros is none: WireGuard reports it so, and it must stay none. */
bool wg_dev_has_psk(const struct wg_peer *p);
/* An allowed IP WireGuard could have reported: IPv4 up to /32 or IPv6 up to /128. */
bool wg_dev_allowedip_ok(const struct wg_allowedip *a);
/*
 * Whether p can be re-added as it is, checked before anything is removed: 0, -EINVAL (no public
 * key, a bad endpoint or allowed IP) or -E2BIG (above WG_READD_MAX_ALLOWEDIPS allowed IPs).
 */
int wg_dev_readd_check(const struct wg_peer *p);

/* What a set-peer call changes; the rest of the peer stays as it is. */
struct wg_peer_set {
	const struct addr *endpoint; /* NULL: leave it */
	bool set_keepalive;
	uint16_t keepalive;
};

/* Bounds on what a reply may make us allocate. */
#define WG_DEV_MAX_PEERS      (1u << 20)
#define WG_DEV_MAX_ALLOWEDIPS (1u << 20)

#endif
