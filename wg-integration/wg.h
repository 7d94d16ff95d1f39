/*
 * wg.h: read and steer WireGuard devices, through the kernel's generic netlink family or a
 * userspace implementation's UAPI socket (wireguard-go, boringtun), chosen per interface the
 * way wg(8) does: a socket WG_UAPI_DIR/IFACE.sock means userspace, else the kernel.
 * Every function returns 0 or -errno: -ENODEV when the interface does not exist (or vanished),
 * -ENOENT for an unknown peer, -EPROTONOSUPPORT when the kernel has no WireGuard family,
 * -EBADMSG for a malformed reply.
 */
#ifndef WGR_WG_H
#define WGR_WG_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "addr.h"

#define WG_KEY_LEN_BYTES 32
#define WG_NAME_MAX      16 /* IFNAMSIZ, with the '\0' */

/* Directory of UAPI sockets; the environment variable WG_UAPI_DIR overrides it (tests). */
#define WG_UAPI_DIR_DEFAULT "/var/run/wireguard"

enum wg_backend {
	WG_BACKEND_KERNEL = 1,
	WG_BACKEND_UAPI = 2,
};

struct wg_allowedip {
	uint16_t family; /* AF_INET or AF_INET6 */
	union {
		struct in_addr ip4;
		struct in6_addr ip6;
	};
	uint8_t cidr;
};

/* Which optional fields of a peer were reported. */
enum wg_peer_flags {
	WG_PEER_HAS_PUBLIC_KEY = 1u << 0,
	WG_PEER_HAS_PRESHARED_KEY = 1u << 1,
	WG_PEER_HAS_KEEPALIVE = 1u << 2,
};

struct wg_peer {
	unsigned flags;
	uint8_t public_key[WG_KEY_LEN_BYTES];
	uint8_t preshared_key[WG_KEY_LEN_BYTES];
	struct addr endpoint;           /* endpoint.len == 0: none */
	struct timespec last_handshake; /* {0, 0}: never */
	uint64_t rx_bytes, tx_bytes;
	uint16_t persistent_keepalive_interval; /* seconds, 0 off */
	struct wg_allowedip *allowedips;
	size_t n_allowedips, cap_allowedips;
};

/* Which optional fields of a device were reported. */
enum wg_device_flags {
	WG_DEVICE_HAS_PRIVATE_KEY = 1u << 0,
	WG_DEVICE_HAS_PUBLIC_KEY = 1u << 1,
	WG_DEVICE_HAS_LISTEN_PORT = 1u << 2,
	WG_DEVICE_HAS_FWMARK = 1u << 3,
};

struct wg_device {
	char name[WG_NAME_MAX];
	uint32_t ifindex; /* 0 when unknown (UAPI) */
	enum wg_backend backend;
	unsigned flags;
	uint8_t public_key[WG_KEY_LEN_BYTES];
	uint8_t private_key[WG_KEY_LEN_BYTES]; /* wiped by wg_free_device */
	uint16_t listen_port;
	uint32_t fwmark;
	struct wg_peer *peers;
	size_t n_peers, cap_peers;
};

/* The UAPI socket directory in effect (WG_UAPI_DIR or the default). */
const char *wg_uapi_dir(void);

/*
 * Names of all WireGuard interfaces: rtnetlink links of kind "wireguard" united with the UAPI
 * sockets *.sock. *names is a NULL-terminated array, freed with wg_free_names; *n its length.
 */
int wg_list_devices(char ***names, size_t *n);
void wg_free_names(char **names);

/* Read one device with all its peers into a new *out (wg_free_device). */
int wg_get_device(const char *name, struct wg_device **out);
/* Frees the device and its peers and wipes the keys; NULL is a no-op. */
void wg_free_device(struct wg_device *dev);
/* The peer with this public key, or NULL. */
struct wg_peer *wg_device_find_peer(const struct wg_device *dev,
                                    const uint8_t pub[WG_KEY_LEN_BYTES]);

/*
 * Set one existing peer's endpoint, update-only: nothing else changes and a peer that is not
 * there is never created (-ENOENT).
 */
int wg_set_peer_endpoint(const char *name, const uint8_t pub[WG_KEY_LEN_BYTES],
                         const struct addr *endpoint);
/* Set one existing peer's persistent keepalive (seconds, 0 off), update-only like above. */
int wg_set_peer_keepalive(const char *name, const uint8_t pub[WG_KEY_LEN_BYTES], uint16_t seconds);

/*
 * Most allowed IPs wg_peer_readd re-creates. The relayed peers it is meant for carry a handful;
 * 256 keep each request one bounded buffer: one netlink message of about 10 KiB (40 bytes an
 * IPv6 entry; no splitting across messages as wg(8) does, so the kernel never holds the new
 * peer with only part of its allowed IPs) and a UAPI request under 16 KiB. A peer routing more
 * is a gateway for whole networks, for which dropping all its routes for a moment costs more
 * than waiting for WireGuard's own rehandshake timer.
 */
#define WG_READD_MAX_ALLOWEDIPS 256

/*
 * Remove peer p (as read by wg_get_device, same device) and add it back with the very same
 * configuration — public key, preshared key, endpoint, persistent keepalive, allowed IPs in
 * order — so that WireGuard starts a new handshake at once. Refused with -E2BIG above
 * WG_READD_MAX_ALLOWEDIPS allowed IPs (the caller then waits for WireGuard's own timer).
 * If the add fails after the remove, it is retried once; the error is returned.
 * Neither WireGuard offers "handshake now": a peer without a session is the only way, and a
 * re-created one sends its initiation at once when it has a persistent keepalive, else with
 * its next packet. A peer no longer on the device is -ENOENT and not created; a peer that is
 * not what WireGuard could have reported (no public key, a bad endpoint, family or prefix) is
 * -EINVAL, before anything is removed.
 */
int wg_peer_readd(const char *name, const struct wg_peer *p);

/* Set the interface MTU over rtnetlink. */
int wg_set_mtu(const char *name, unsigned mtu);
/* A WireGuard interface's MTU, from the rtnetlink link dump. 0, -ENODEV or -errno. */
int wg_get_mtu(const char *name, unsigned *mtu);

/* Link watch: rtnetlink RTMGRP_LINK events of WireGuard links, for the common/ev.h loop. */
enum wg_link_event {
	WG_LINK_ADDED = 1,   /* first seen by this watcher */
	WG_LINK_CHANGED = 2, /* flags (up/down), MTU, ... changed */
	WG_LINK_REMOVED = 3,
};

struct wg_link_info {
	const char *name;
	uint32_t ifindex;
	bool up; /* IFF_UP */
	unsigned mtu;
};

typedef void (*wg_linkwatch_cb)(enum wg_link_event event, const struct wg_link_info *info,
                                void *arg);
struct wg_linkwatch;

/*
 * Open a non-blocking rtnetlink socket subscribed to RTMGRP_LINK (NETLINK_NO_ENOBUFS). Links
 * count as WireGuard when their kind is "wireguard" or a UAPI socket of their name exists.
 */
int wg_linkwatch_new(struct wg_linkwatch **out, wg_linkwatch_cb cb, void *arg);
/* The fd to watch for EV_READ. */
int wg_linkwatch_fd(const struct wg_linkwatch *w);
/* Drain pending events and call back for each; 0 or -errno (-EAGAIN is not an error). */
int wg_linkwatch_process(struct wg_linkwatch *w);
void wg_linkwatch_free(struct wg_linkwatch *w);

#endif
