/*
 * Fuzz target: the kernel backend's reply parsers (WG_CMD_GET_DEVICE dumps, the genl family
 * reply, ACKs, rtnetlink link messages). Input: datagrams, each as a little-endian u16 length
 * and that many bytes. Whatever parses must hold the invariants the callers rely on.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libmnl/libmnl.h>

#include "wg_nl.h"
#include "wg_rtnl.h"

#define FAMILY 0x1c
#define SEQ    1

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct wg_device *d)
{
	for (size_t i = 0; i < d->n_peers; i++) {
		const struct wg_peer *p = &d->peers[i];

		if (!(p->flags & WG_PEER_HAS_PUBLIC_KEY) || p->n_allowedips > p->cap_allowedips)
			abort();
		/* A split peer is merged: neighbours never share a key. */
		if (i && !memcmp(p->public_key, d->peers[i - 1].public_key, 32))
			abort();
		for (size_t j = 0; j < p->n_allowedips; j++)
			if (p->allowedips[j].cidr > (p->allowedips[j].family == AF_INET ? 32 : 128))
				abort();
	}
	if (memchr(d->name, '\0', sizeof(d->name)) == NULL)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct wg_nl_get g;
	uint16_t id = 0;
	size_t off = 0;
	int r = 1;

	if (wg_nl_get_begin(&g, FAMILY, SEQ, 0) < 0)
		return 0;
	while (off + 2 <= size && r == 1) {
		size_t len = (size_t)data[off] | (size_t)data[off + 1] << 8;
		uint8_t *dgram;

		off += 2;
		if (len > size - off)
			len = size - off;
		/* A real datagram starts aligned; so does this copy (and ASan sees its end). */
		dgram = malloc(len ? len : 1);
		if (!dgram)
			break;
		memcpy(dgram, data + off, len);
		off += len;
		r = wg_nl_get_feed(&g, dgram, len);
		if (r == 0)
			check(g.dev);
		wg_nl_parse_family(dgram, len, SEQ, 0, &id);
		wg_nl_parse_ack(dgram, len, SEQ, 0);
		if (len >= sizeof(struct nlmsghdr)) {
			const struct nlmsghdr *nlh = (const struct nlmsghdr *)dgram;
			struct wg_rtnl_link l;

			if (wg_nl_msg_ok(nlh, (int)len) && wg_rtnl_parse_link(nlh, &l) == 0 &&
			    !memchr(l.name, '\0', sizeof(l.name)))
				abort();
		}
		free(dgram);
	}
	wg_nl_get_end(&g);
	return 0;
}
