/*
 * descreq.c: DESC_REQ and DESC_RESP (PROTOCOL.md §10.1). Anyone who knows a relay's address
 * can fetch its descriptor without a link, in one round trip: the request is padded to 1024
 * bytes so that the answer (at most 999) is never larger, rate limited per source like PING
 * (control.c), and answered only to addresses the policy allows. The relay asks its [Network]
 * Peer relays the same way, to learn the identity they are dialled under: over UDP, then, when
 * NET_UDP_TRIES requests went unanswered (at once with [Network] Proxy), over a stream to the
 * line's URLs in turn; the link that follows takes that stream over (netlinks_connect).
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "key.h"
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

	/*
	 * Only the configured peers are asked, and only until they answer: anything else is
	 * unsolicited (a later identity change is learnt from a handshake, never from a datagram
	 * whose source could be forged).
	 */
	for (int i = 0; i < n->n_cfg && !cp; i++)
		if (!n->cfg[i].known && addr_equal(&n->cfg[i].c.addr, src))
			cp = &n->cfg[i];
	if (!cp || frame_decode_desc_resp(p, len, &dp, &dl) < 0) {
		n->st.refused[cp ? NET_REF_MALFORMED : NET_REF_UNSOLICITED]++;
		return;
	}
	/* The Peer line names the key: a descriptor naming another is not that relay's. */
	if (net_desc_check(n, dp, dl, cp->c.key, &dd) != 0)
		return;
	net_cfg_learn(n, cp->c.key, dd->d.identity);
	/* A candidate even when the store held this descriptor already (the offer is then stale). */
	if (memcmp(dd->d.identity, n->id.pk, 32))
		net_candidate(n, &dd->d, LINKPLAN_CONFIGURED);
	net_offer(n, NULL, dp, dl);
	dstore_desc_unref(dd);
	net_plan(n);
}

/* "127.0.0.1:51821 key AbCdEfGh..." for log lines. */
static const char *descreq_name(const struct cfgpeer *cp, char *buf, size_t cap)
{
	char a[ADDR_STRLEN], k[KEY_B64_STRLEN];

	key_to_base64(k, cp->c.key);
	snprintf(buf, cap, "%s key %.8s...", addr_format(&cp->c.addr, a, sizeof(a)), k);
	return buf;
}

/* Dial cp's next URL (round robin: the request is retried as long as the line is unknown). */
static void descreq_dial(struct network *n, struct cfgpeer *cp, const char *why)
{
	char name[128], url[TURL_STRLEN];
	int fd, e;

	cp->url = (uint8_t)(cp->next_url % cp->c.n_urls);
	cp->next_url = (uint8_t)(cp->url + 1);
	turl_format(&cp->c.urls[cp->url], url, sizeof(url));
	if ((e = netlinks_dial(n, &cp->c.urls[cp->url], &cp->c.addr, &fd)) == -EINPROGRESS ||
	    e == -EAGAIN) {
		/* Its name is being looked up: the same URL again in a second. */
		cp->next_url = cp->url;
		cp->next_req_ms = ev_now_ms(n->r->loop) + 1000;
		return;
	}
	if (e < 0) {
		log_info("relay peer %s: %s, cannot dial %s: %s",
		         descreq_name(cp, name, sizeof(name)), why, url, netlinks_strerror(e));
		return;
	}
	log_info("relay peer %s: %s, dialling %s", descreq_name(cp, name, sizeof(name)), why, url);
	cp->sfd = fd;
	cp->sopen = false;
}

void descreq_tick(struct network *n, uint64_t now_ms)
{
	uint64_t every = n->r->cfg.net.reconnect_s * 1000;
	bool proxy = n->r->cfg.net.proxy.kind != TURL_PROXY_NONE;
	uint8_t req[PROTO_DESC_REQ_LEN];
	char name[128];

	if (every < NET_DESC_REQ_MIN_MS)
		every = NET_DESC_REQ_MIN_MS;
	frame_encode_desc_req(req);
	for (int i = 0; i < n->n_cfg; i++) {
		struct cfgpeer *cp = &n->cfg[i];
		int fd;

		if (cp->known || now_ms < cp->next_req_ms)
			continue;
		cp->next_req_ms = now_ms + every;
		if (cp->sfd >= 0) {
			/* Open: asked again on it; still connecting: its opening asks. */
			if (cp->sopen)
				control_sendto(n->r, cp->sfd, req, sizeof(req), &cp->c.addr);
			continue;
		}
		if (cp->c.n_urls && (proxy || cp->udp_tries >= NET_UDP_TRIES)) {
			descreq_dial(n, cp, proxy ? "through the proxy" : "UDP unanswered");
			continue;
		}
		if (proxy) {
			if (!cp->warned)
				log_warnx("relay peer %s: no stream URL on its Peer line, so not "
				          "reachable through [Network] Proxy",
				          descreq_name(cp, name, sizeof(name)));
			cp->warned = true;
			continue;
		}
		if (cp->udp_tries < UINT8_MAX)
			cp->udp_tries++;
		if ((fd = control_fd_for(n->r, &cp->c.addr)) >= 0)
			control_sendto(n->r, fd, req, sizeof(req), &cp->c.addr);
	}
}

bool descreq_stream_open(struct network *n, int fd)
{
	uint8_t req[PROTO_DESC_REQ_LEN];

	for (int i = 0; i < n->n_cfg; i++) {
		struct cfgpeer *cp = &n->cfg[i];

		if (cp->sfd != fd)
			continue;
		if (cp->known)
			return false; /* learnt meanwhile: the stream is not needed */
		cp->sopen = true;
		frame_encode_desc_req(req);
		control_sendto(n->r, fd, req, sizeof(req), &cp->c.addr);
		return true;
	}
	return false;
}

bool descreq_stream_closed(struct network *n, int fd)
{
	char name[128];

	for (int i = 0; i < n->n_cfg; i++) {
		struct cfgpeer *cp = &n->cfg[i];

		if (cp->sfd != fd)
			continue;
		/* The next URL at the next request's time: a refusing endpoint is not hammered. */
		cp->sfd = -1;
		cp->sopen = false;
		if (!cp->known)
			log_info("relay peer %s: stream ended before its descriptor came",
			         descreq_name(cp, name, sizeof(name)));
		return true;
	}
	return false;
}
