/*
 * descreq.c: DESC_REQ and DESC_RESP (PROTOCOL.md §10.1). Anyone who knows a relay's address
 * can fetch its descriptor without a link, in one round trip: the request is padded to 1024
 * bytes so that the answer (at most 999) is never larger, rate limited per source like PING
 * (control.c), and answered only to addresses the policy allows. The relay asks its [Network]
 * Peer relays the same way, to learn the identity they are dialled under.
 */
#include <string.h>

#include "network.h"

void descreq_input(struct network *n, int fd, const uint8_t *p, size_t len, const struct addr *src)
{
	uint8_t out[PROTO_HDR_LEN + DESC_MAX_LEN];
	int k;

	if (frame_decode_desc_req(p, len) < 0) {
		n->r->st.drops[DROP_MALFORMED]++;
		return;
	}
	n->st.desc_requests++;
	k = frame_encode_desc_resp(out, sizeof(out), n->desc, n->desc_len);
	if (k > 0 && (size_t)k <= len) {
		control_sendto(n->r, fd, out, (size_t)k, src);
		n->st.desc_responses++;
	}
}

void descreq_resp(struct network *n, const uint8_t *p, size_t len, const struct addr *src)
{
	struct cfgpeer *cp = NULL;
	struct dstore_desc *dd = NULL;
	const uint8_t *dp;
	size_t dl;

	/* Only the configured peers are asked; anything else is unsolicited. */
	for (int i = 0; i < n->n_cfg && !cp; i++)
		if (addr_equal(&n->cfg[i].c.addr, src))
			cp = &n->cfg[i];
	if (!cp || frame_decode_desc_resp(p, len, &dp, &dl) < 0) {
		n->st.refused[cp ? NET_REF_MALFORMED : NET_REF_UNSOLICITED]++;
		return;
	}
	/* The Peer line names the key: a descriptor naming another is not that relay's. */
	if (net_desc_check(n, dp, dl, cp->c.key, &dd) != 0)
		return;
	cp->known = true;
	memcpy(cp->identity, dd->d.identity, 32);
	/* A candidate even when the store held this descriptor already (the offer is then stale). */
	if (memcmp(dd->d.identity, n->id.pk, 32))
		net_candidate(n, &dd->d, LINKPLAN_CONFIGURED);
	net_offer(n, NULL, dp, dl);
	dstore_desc_unref(dd);
	net_plan(n);
}

void descreq_tick(struct network *n, uint64_t now_ms)
{
	uint64_t every = n->r->cfg.net.reconnect_s * 1000;
	uint8_t req[PROTO_DESC_REQ_LEN];

	if (every < NET_DESC_REQ_MIN_MS)
		every = NET_DESC_REQ_MIN_MS;
	frame_encode_desc_req(req);
	for (int i = 0; i < n->n_cfg; i++) {
		struct cfgpeer *cp = &n->cfg[i];
		int fd;

		if (cp->known || now_ms < cp->next_req_ms)
			continue;
		cp->next_req_ms = now_ms + every;
		if ((fd = control_fd_for(n->r, &cp->c.addr)) >= 0)
			control_sendto(n->r, fd, req, sizeof(req), &cp->c.addr);
	}
}
