/*
 * wg_uapi.h: the userspace backend (wireguard-go, boringtun) over the text UAPI socket. The
 * reply parser is a pure streaming function over bytes (unit-tested and fuzzed); wg_uapiio.c
 * does the socket I/O.
 */
#ifndef WGR_WG_UAPI_H
#define WGR_WG_UAPI_H

#include <stdbool.h>
#include <stddef.h>

#include "wg.h"
#include "wg_dev.h"

/* Longest line accepted; the longest real one (an IPv6 endpoint or allowed IP) is far shorter. */
#define WG_UAPI_LINE_MAX 512

struct wg_uapi_parser {
	struct wg_device *dev;
	struct wg_peer *peer; /* the peer the following keys belong to */
	char line[WG_UAPI_LINE_MAX + 1];
	size_t linelen;
	int remote_errno; /* from "errno=N" */
	bool have_errno;
	int state; /* 1 more expected, 0 done, -errno failed */
};

/* Start a parse; 0 or -ENOMEM. */
int wg_uapi_parser_init(struct wg_uapi_parser *p);
/*
 * Feed reply bytes. Returns 1 when more is expected, 0 when the blank line ended the reply
 * (p->dev complete, take it and set p->dev = NULL), -EBADMSG for a malformed reply (bad hex,
 * bad number, overlong line, errno= missing), or -N when the reply carried errno=N. Unknown
 * keys are skipped.
 */
int wg_uapi_parser_feed(struct wg_uapi_parser *p, const void *buf, size_t len);
void wg_uapi_parser_free(struct wg_uapi_parser *p);

/* Format the update-only set request for one peer into buf; length, or -ENOBUFS. */
int wg_uapi_format_set_peer(char *buf, size_t cap, const uint8_t pub[WG_KEY_LEN_BYTES],
                            const struct wg_peer_set *set);

/*
 * Format a set request creating peer p: public_key=, preshared_key= (when it has one),
 * endpoint= (when set; an IPv6 scope as its number, "[fe80::1%2]:51820"),
 * persistent_keepalive_interval=, replace_allowed_ips=true and each allowed_ip= in order. On a
 * peer still there it sets what the peer already has. Length, -ENOBUFS, or wg_dev_readd_check's
 * -EINVAL/-E2BIG.
 */
int wg_uapi_format_add_peer(char *buf, size_t cap, const struct wg_peer *p);
/*
 * The same request with the peer's removal first, in one transaction: public_key= and
 * remove=true, then the blocks above. wireguard-go removes a peer from its table at the remove=
 * line, so the second public_key= finds none and creates a new peer, without a session.
 */
int wg_uapi_format_readd_peer(char *buf, size_t cap, const struct wg_peer *p);
/* A buffer this large (with the '\0') always holds either request for p. */
size_t wg_uapi_readd_size(const struct wg_peer *p);

/* Socket side (wg_uapiio.c). */
int wg_uapi_get_device(const char *name, struct wg_device **out);
int wg_uapi_set_peer(const char *name, const uint8_t pub[WG_KEY_LEN_BYTES],
                     const struct wg_peer_set *set);
int wg_uapi_readd_peer(const char *name, const struct wg_peer *p);

#endif
