/*
 * wg_nl.h: the kernel backend. Request builders and reply parsers are pure functions over
 * bytes (unit-tested and fuzzed); wg_nlio.c does the socket I/O around them.
 */
#ifndef WGR_WG_NL_H
#define WGR_WG_NL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <libmnl/libmnl.h>

#include "wg.h"
#include "wg_dev.h"

/* Receive buffer: the kernel sizes dump messages up to 32 KiB when the reader allows it. */
#define WG_NL_BUFSIZE 32768

/* State of one WG_CMD_GET_DEVICE dump being parsed. */
struct wg_nl_get {
	struct wg_device *dev;
	uint16_t family; /* genl family id the data messages carry */
	uint32_t seq, portid;
	bool intr;        /* NLM_F_DUMP_INTR seen: the result is inconsistent, retry */
	unsigned ignored; /* messages of another seq/port, skipped */
};

/* Start a dump parse; 0 or -ENOMEM. */
int wg_nl_get_begin(struct wg_nl_get *g, uint16_t family, uint32_t seq, uint32_t portid);
/*
 * Feed one datagram of the reply. Returns 1 when more is expected, 0 when NLMSG_DONE ended the
 * dump (g->dev complete; take it and set g->dev = NULL), -EINTR when the dump was interrupted
 * (retry), -EBADMSG for malformed bytes, or the -errno the kernel reported.
 */
int wg_nl_get_feed(struct wg_nl_get *g, const void *buf, size_t len);
/* Free whatever g still holds. */
void wg_nl_get_end(struct wg_nl_get *g);

/* Parse an ACK-only reply: 1 more expected, 0 acknowledged, -errno from the kernel/-EBADMSG. */
int wg_nl_parse_ack(const void *buf, size_t len, uint32_t seq, uint32_t portid);
/*
 * Parse the CTRL_CMD_GETFAMILY reply, datagram by datagram, with *id = 0 before the first:
 * 1 more, 0 done with *id set, -errno (-ENOENT: no such family).
 */
int wg_nl_parse_family(const void *buf, size_t len, uint32_t seq, uint32_t portid, uint16_t *id);

/* Request builders into buf (WG_NL_BUFSIZE is plenty); return the message length. */
size_t wg_nl_put_getfamily(void *buf, uint32_t seq, const char *family_name);
size_t wg_nl_put_get(void *buf, uint16_t family, uint32_t seq, const char *ifname);
size_t wg_nl_put_set_peer(void *buf, uint16_t family, uint32_t seq, const char *ifname,
                          const uint8_t pub[WG_KEY_LEN_BYTES], const struct wg_peer_set *set);
/* WG_CMD_SET_DEVICE removing one peer (WGPEER_F_REMOVE_ME: the kernel ignores an absent one). */
size_t wg_nl_put_remove_peer(void *buf, uint16_t family, uint32_t seq, const char *ifname,
                             const uint8_t pub[WG_KEY_LEN_BYTES]);
/*
 * WG_CMD_SET_DEVICE creating peer p: its public key, preshared key (when it has one), endpoint
 * (when set), persistent keepalive and, replacing any, its allowed IPs in order, in one message
 * of at most cap bytes (more than WG_NL_BUFSIZE counts as WG_NL_BUFSIZE, so every nested length
 * fits its 16 bits). The message length, -E2BIG when it does not fit, or wg_dev_readd_check's
 * -EINVAL/-E2BIG.
 */
int wg_nl_put_add_peer(void *buf, size_t cap, uint16_t family, uint32_t seq, const char *ifname,
                       const struct wg_peer *p);

/* A whole message of len >= header fits in the left bytes (mnl_nlmsg_ok, without its overflow). */
bool wg_nl_msg_ok(const struct nlmsghdr *nlh, int left);
/* Parse attributes filling exactly len bytes (else MNL_CB_ERROR), like mnl_attr_parse_payload. */
int wg_nl_attrs_parse(const void *payload, size_t len, mnl_attr_cb_t cb, void *data);

/* Socket side (wg_nlio.c). */
int wg_nl_get_device(const char *name, struct wg_device **out);
int wg_nl_set_peer(const char *name, const uint8_t pub[WG_KEY_LEN_BYTES],
                   const struct wg_peer_set *set);
int wg_nl_readd_peer(const char *name, const struct wg_peer *p);

#endif
