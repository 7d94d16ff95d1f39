/*
 * netlinks.c: relay links (PROTOCOL.md §10.2, §10.3): the I/O of what the link plan decides.
 * Ours are made from the control socket as a client of §4 (Noise IK to the peer's control
 * port, keyed by its Noise key), then HELLO both ways; inbound ones are client links whose
 * HELLO verified. Heartbeats, rekeys of our links every PROTO_REKEY_AFTER_MS, resent
 * initiations and HELLOs, and one link per pair of relays: the one the lower identity made.
 *
 * Ours go over UDP first; when NET_UDP_TRIES initiations go unanswered and the relay has
 * stream endpoints (its Peer line's URLs, its descriptor's TCP, TLS, WSS and onion ones), or
 * at once when [Network] Proxy is set, they go over a stream (streams_dial) instead, one
 * endpoint after the other. The stream stands for the peer's address in the control path,
 * so everything after the dial is the same code for both carriers.
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "key.h"
#include "network.h"
#include "tconn.h"

struct rpeer *netlinks_find(struct network *n, const uint8_t identity[32], bool up_only)
{
	for (int i = 0; i < n->n_peers; i++)
		if (!memcmp(n->peers[i]->identity, identity, 32) &&
		    (!up_only || n->peers[i]->state == RP_UP))
			return n->peers[i];
	return NULL;
}

struct rpeer *netlinks_by_id(struct network *n, uint32_t id)
{
	for (int i = 0; i < n->n_peers; i++)
		if (n->peers[i]->id == id)
			return n->peers[i];
	return NULL;
}

static struct rpeer *netlinks_new(struct network *n, bool initiator, const uint8_t identity[32],
                                  const uint8_t noise[32], const struct addr *a)
{
	struct rpeer *rp;

	if (n->n_peers == NET_MAX_PEERS || !(rp = calloc(1, sizeof(*rp))))
		return NULL;
	do
		rp->id = ++n->next_id;
	while (rp->id == GOSSIP_LINK_NONE || rp->id == 0 || netlinks_by_id(n, rp->id));
	rp->initiator = initiator;
	rp->sfd = -1;
	memcpy(rp->identity, identity, 32);
	memcpy(rp->noise, noise, 32);
	rp->addr = *a;
	n->peers[n->n_peers++] = rp;
	return rp;
}

/* "127.0.0.1:51821 identity AbCdEfGh... [over tls://...]" for log lines. */
static const char *netlinks_name(const struct rpeer *rp, char *buf, size_t cap)
{
	char a[ADDR_STRLEN], k[KEY_B64_STRLEN];

	key_to_base64(k, rp->identity);
	snprintf(buf, cap, "%s identity %.8s...%s%s", addr_format(&rp->addr, a, sizeof(a)), k,
	         *rp->carrier ? " over " : "", rp->carrier);
	return buf;
}

/*
 * Forget rp: its link is closed, the engine told, and, when report is set and no other link
 * with the same relay is up, the plan told how it ended.
 */
static void netlinks_drop(struct network *n, struct rpeer *rp, bool report, enum linkplan_down how,
                          const char *why)
{
	struct relay *r = n->r;
	uint64_t now = ev_now_ms(r->loop);
	char name[128 + TURL_STRLEN];
	int sfd = rp->sfd;

	/* Its stream goes with it (a no-op when the stream's own end brought us here). */
	rp->sfd = -1;
	if (rp->link) {
		struct link *l = rp->link;

		l->rp = NULL;
		rp->link = NULL;
		control_link_close(r, l);
	}
	if (rp->state == RP_UP) {
		gossip_link_down(n->g, rp->id, net_unix_ms());
		n->st.links_down++;
		stats_event(r, NULL, "relay link down", NULL, "%s (%s)",
		            netlinks_name(rp, name, sizeof(name)), why);
	}
	for (int i = 0; i < n->n_peers; i++)
		if (n->peers[i] == rp) {
			n->peers[i] = n->peers[--n->n_peers];
			break;
		}
	if (report && !netlinks_find(n, rp->identity, true))
		linkplan_link_down(n->plan, rp->identity, now, how);
	sodium_memzero(rp, sizeof(*rp));
	free(rp);
	if (sfd >= 0)
		streams_hangup(r, sfd);
}

/* ERROR(code, text) on l: told before a relay link is closed or a HELLO refused. */
static void netlinks_send_error(struct network *n, struct link *l, unsigned code, const char *text)
{
	struct ctrl_msg m = {.type = CTRL_ERROR, .code = (uint16_t)code};

	snprintf(m.text, sizeof(m.text), "%s", text);
	control_send_ctrl(n->r, l, &m);
}

/* The socket rp's frames go to: its stream, or the control socket of its address family. */
static int netlinks_fd(const struct network *n, const struct rpeer *rp)
{
	return rp->sfd >= 0 ? rp->sfd : control_fd_for(n->r, &rp->addr);
}

static void netlinks_send_init(struct network *n, struct rpeer *rp)
{
	uint8_t init[PROTO_HS_INIT_LEN];
	uint64_t now = ev_now_ms(n->r->loop);
	int fd = netlinks_fd(n, rp);

	/* A stream still connecting: network_stream_open sends it. */
	if (rp->sfd >= 0 && !rp->sopen)
		return;
	hs_client_build_init(&rp->hs, init, now);
	rp->hs_index = rp->hs.local_index;
	rp->hs_sent_ms = now;
	if (rp->sfd < 0 && !rp->link && rp->udp_tries < UINT8_MAX)
		rp->udp_tries++;
	if (fd >= 0)
		control_sendto(n->r, fd, init, sizeof(init), &rp->addr);
}

/* A descriptor's stream endpoint as a URL (an onion one is tcp:// to its name); 0 or -EINVAL. */
static int netlinks_ep_url(const struct desc_endpoint *ep, struct turl *u)
{
	char text[TURL_STRLEN], a[ADDR_STRLEN];
	int k;

	switch (ep->transport) {
	case DESC_T_TCP:
	case DESC_T_TLS:
		k = snprintf(text, sizeof(text), "%s://%s",
		             ep->transport == DESC_T_TCP ? "tcp" : "tls",
		             addr_format(&ep->addr, a, sizeof(a)));
		break;
	case DESC_T_WSS:
		k = snprintf(text, sizeof(text), "wss://%s:%u%s", ep->host, ep->port, ep->path);
		break;
	case DESC_T_ONION:
		k = snprintf(text, sizeof(text), "tcp://%s:%u", ep->host, ep->port);
		break;
	default:
		return -EINVAL;
	}
	if (k < 0 || (size_t)k >= sizeof(text))
		return -EINVAL;
	return turl_parse(u, text);
}

static void netlinks_add_url(struct rpeer *rp, const struct turl *u)
{
	char a[TURL_STRLEN], b[TURL_STRLEN];

	if (rp->n_urls == NET_MAX_URLS || turl_format(u, a, sizeof(a)) < 0)
		return;
	for (int i = 0; i < rp->n_urls; i++)
		if (turl_format(&rp->urls[i], b, sizeof(b)) >= 0 && !strcmp(a, b))
			return;
	rp->urls[rp->n_urls++] = *u;
}

/* rp's stream endpoints, in the order they are tried: its Peer line's, then its descriptor's. */
static void netlinks_urls(struct network *n, struct rpeer *rp)
{
	const struct dstore_desc *dd = dstore_get(gossip_store(n->g), rp->identity);
	struct turl u;

	for (int i = 0; i < n->n_cfg; i++)
		if (!memcmp(n->cfg[i].c.key, rp->noise, 32))
			for (int k = 0; k < n->cfg[i].c.n_urls; k++)
				netlinks_add_url(rp, &n->cfg[i].c.urls[k]);
	for (int i = 0; dd && i < dd->d.n_endpoints; i++)
		if (netlinks_ep_url(&dd->d.endpoints[i], &u) == 0)
			netlinks_add_url(rp, &u);
}

int netlinks_dial(struct network *n, const struct turl *u, const struct addr *addr, int *fd)
{
	struct relay *r = n->r;
	const struct turl_proxy *px = &r->cfg.net.proxy;
	struct tconn_client cl = {.url = *u};
	struct addr to;
	int e;

	if (px->kind != TURL_PROXY_NONE) {
		struct turl h = {.kind = TURL_TCP, .port = px->port};

		/* config_load made sure it is an address; the name (an onion) goes unresolved. */
		memcpy(h.host, px->host, sizeof(h.host));
		if (!turl_host_addr(&h, &to))
			return -EINVAL;
		cl.proxy = *px;
	} else {
		size_t hl = strlen(u->host);

		if (!turl_host_addr(u, &to)) {
			/* An onion name would only leak to DNS: Tor's SOCKS port resolves it. */
			if (hl > 6 && !strcmp(u->host + hl - 6, ".onion"))
				return -EHOSTUNREACH;
			if ((e = netdns_lookup(n, u->host, &to)) < 0)
				return e;
			addr_set_port(&to, u->port);
		}
		if (policy_forbids(&r->cfg.policy, &to)) {
			r->st.drops[DROP_POLICY]++;
			return -EPERM;
		}
	}
	if ((e = streams_dial(r, &cl, &to, addr, fd)) == 0)
		n->st.stream_dials++;
	return e;
}

/* Why a dial could not start, for the log. */
const char *netlinks_strerror(int e)
{
	return e == -EHOSTUNREACH
	           ? "an onion name needs [Network] Proxy, or the name did not resolve"
	           : strerror(-e);
}

/*
 * Dial rp's next stream endpoint (why: what made us, for the log). False when none is left
 * or none could be dialled: rp was then dropped as a failed handshake (the plan backs off).
 */
static bool netlinks_next_stream(struct network *n, struct rpeer *rp, const char *why)
{
	char name[128 + TURL_STRLEN], url[TURL_STRLEN];
	int fd, e;

	rp->dial_ms = 0;
	rp->hs_index = 0; /* an answer to what went before is not awaited any more */
	while (rp->next_url < rp->n_urls) {
		const struct turl *u = &rp->urls[rp->next_url++];

		turl_format(u, url, sizeof(url));
		if ((e = netlinks_dial(n, u, &rp->addr, &fd)) == -EINPROGRESS || e == -EAGAIN) {
			/* Its name is being looked up: the same endpoint again in a second. */
			rp->next_url--;
			rp->dial_ms = ev_now_ms(n->r->loop) + 1000;
			return true;
		}
		if (e < 0) {
			log_info("relay link to %s: %s, cannot dial %s: %s",
			         netlinks_name(rp, name, sizeof(name)), why, url,
			         netlinks_strerror(e));
			continue;
		}
		log_info("relay link to %s: %s, dialling %s", netlinks_name(rp, name, sizeof(name)),
		         why, url);
		rp->sfd = fd;
		rp->sopen = false;
		snprintf(rp->carrier, sizeof(rp->carrier), "%s", url);
		return true;
	}
	netlinks_drop(n, rp, true, LINKPLAN_FAILED, "no stream endpoint answered");
	return false;
}

/* A Peer line's stream that fetched the descriptor carries the link too (descreq.c). */
static struct cfgpeer *netlinks_cfg_stream(struct network *n, const uint8_t noise[32])
{
	for (int i = 0; i < n->n_cfg; i++)
		if (n->cfg[i].sopen && !memcmp(n->cfg[i].c.key, noise, 32))
			return &n->cfg[i];
	return NULL;
}

static void netlinks_send_hello(struct network *n, struct rpeer *rp)
{
	uint8_t buf[PROTO_MAX_CTRL_PLAIN];
	int len = ctrl_encode_desc_msg(CTRL_HELLO, n->desc, n->desc_len, buf, sizeof(buf));

	if (len < 0)
		return;
	net_send(n, rp, buf, (size_t)len);
	n->st.hellos_sent++;
}

void netlinks_connect(struct network *n, const struct linkplan_action *a)
{
	struct relay *r = n->r;
	uint64_t now = ev_now_ms(r->loop);
	struct cfgpeer *cp;
	struct rpeer *rp;

	/* Up already (an inbound link): the plan learns it; in flight: nothing new to start. */
	if ((rp = netlinks_find(n, a->identity, true))) {
		linkplan_link_up(n->plan, a->identity, now);
		return;
	}
	for (int i = 0; i < n->n_peers; i++)
		if (n->peers[i]->initiator && !memcmp(n->peers[i]->identity, a->identity, 32))
			return;
	if (!(rp = netlinks_new(n, true, a->identity, a->noise, &a->addr))) {
		linkplan_link_down(n->plan, a->identity, now, LINKPLAN_FAILED);
		return;
	}
	rp->state = RP_HANDSHAKE;
	hs_client_init(&rp->hs, r->hs.priv, rp->noise);
	if ((cp = netlinks_cfg_stream(n, a->noise))) {
		/* Its stream stands for the Peer line's address: the link takes both over. */
		rp->addr = cp->c.addr;
		rp->sfd = cp->sfd;
		rp->sopen = true;
		turl_format(&cp->c.urls[cp->url], rp->carrier, sizeof(rp->carrier));
		cp->sfd = -1;
		cp->sopen = false;
		netlinks_send_init(n, rp);
		return;
	}
	netlinks_urls(n, rp);
	if (r->cfg.net.proxy.kind != TURL_PROXY_NONE) {
		netlinks_next_stream(n, rp, "through the proxy");
		return;
	}
	if (policy_forbids(&r->cfg.policy, &a->addr) || control_fd_for(r, &a->addr) < 0) {
		netlinks_next_stream(n, rp, "no UDP route");
		return;
	}
	netlinks_send_init(n, rp);
}

void netlinks_disconnect(struct network *n, const uint8_t identity[32], const char *why)
{
	struct rpeer *rp;

	/* Every link with it: decide has counted it down already, so nothing is reported. */
	while ((rp = netlinks_find(n, identity, false))) {
		if (rp->link)
			netlinks_send_error(n, rp->link, PROTO_ERR_LINK_CLOSED, why);
		netlinks_drop(n, rp, false, LINKPLAN_CLOSED, why);
	}
}

void netlinks_heartbeat(struct network *n, const uint8_t identity[32])
{
	struct rpeer *rp = netlinks_find(n, identity, true);
	uint8_t buf[16];
	int len;

	if (!rp || !rp->link)
		return;
	rp->hb_nonce = randombytes_random() | (uint64_t)randombytes_random() << 32;
	rp->hb_sent_ms = ev_now_ms(n->r->loop);
	len = ctrl_encode_heartbeat(CTRL_HEARTBEAT, rp->hb_nonce, buf, sizeof(buf));
	if (len > 0) {
		net_send(n, rp, buf, (size_t)len);
		n->st.heartbeats_sent++;
	}
}

void netlinks_heartbeat_in(struct network *n, struct link *l, const uint8_t *pt, size_t len)
{
	struct rpeer *rp = l->rp;
	uint8_t type, buf[16];
	uint64_t nonce;
	int k;

	if (ctrl_decode_heartbeat(pt, len, &type, &nonce) < 0) {
		n->st.refused[NET_REF_MALFORMED]++;
		return;
	}
	if (type == CTRL_HEARTBEAT) {
		k = ctrl_encode_heartbeat(CTRL_HEARTBEAT_ACK, nonce, buf, sizeof(buf));
		if (k > 0)
			net_send(n, rp, buf, (size_t)k);
	} else if (rp->hb_sent_ms && nonce == rp->hb_nonce) {
		rp->rtt_ms = (uint32_t)(ev_now_ms(n->r->loop) - rp->hb_sent_ms);
		/* the WANT retry follows the link (gossip.h) */
		gossip_link_rtt(n->g, rp->id, rp->rtt_ms);
		rp->hb_sent_ms = 0;
	}
}

/*
 * Two links with one relay (both dialled at once): the one made by the lower identity stays,
 * on both sides alike. False when rp itself was the one closed.
 */
static bool netlinks_dedup(struct network *n, struct rpeer *rp)
{
	bool self_lower = memcmp(n->id.pk, rp->identity, 32) < 0;

	for (int i = 0; i < n->n_peers; i++) {
		struct rpeer *o = n->peers[i], *loser;

		if (o == rp || o->state != RP_UP || memcmp(o->identity, rp->identity, 32))
			continue;
		/*
		 * Both dialled at once: the link made by the lower identity stays (made by us when
		 * we are the lower one), so both sides keep the same one. A link that has been up
		 * for a while is not such a race: the peer dials again because it restarted and
		 * lost it, so the new link stays.
		 */
		if (rp->up_ms - o->up_ms > NET_DEDUP_RACE_MS)
			loser = o;
		else
			loser = o->initiator == self_lower ? rp : o;
		n->st.refused[NET_REF_DUPLICATE]++;
		if (loser->link)
			netlinks_send_error(n, loser->link, PROTO_ERR_LINK_CLOSED, "duplicate");
		netlinks_drop(n, loser, false, LINKPLAN_CLOSED, "duplicate");
		return loser != rp;
	}
	return true;
}

/* rp's HELLO verified: a relay link. False when it was closed as a duplicate. */
static bool netlinks_up(struct network *n, struct rpeer *rp)
{
	struct relay *r = n->r;
	char name[128 + TURL_STRLEN];

	rp->state = RP_UP;
	rp->up_ms = ev_now_ms(r->loop);
	linkplan_link_up(n->plan, rp->identity, rp->up_ms);
	gossip_link_up(n->g, rp->id, net_unix_ms());
	n->st.links_up++;
	stats_event(r, rp->link, "relay link up", NULL, "%s %s",
	            netlinks_name(rp, name, sizeof(name)), rp->initiator ? "(ours)" : "(inbound)");
	if (!netlinks_dedup(n, rp))
		return false;
	circuits_relay_up(r, rp); /* circuits waiting to be extended to it */
	return true;
}

/* Create our side of a link whose keys a handshake just made; NULL when over a link cap. */
static struct link *netlinks_link_new(struct network *n, struct rpeer *rp,
                                      const struct link_keys *keys)
{
	struct relay *r = n->r;
	const struct limits *lim = &r->cfg.limits;
	struct quota *qk = quota_key(r, rp->noise), *qs = quota_source(r, &rp->addr);
	struct link *l = NULL;

	/* Ours count like anyone's links against MaxLinks and MaxLinksPerSource. */
	if (!qk || !qs || qs->links >= lim->max_links_per_source || r->links.n >= lim->max_links ||
	    table_get(&r->links, keys->local_index) || !(l = calloc(1, sizeof(*l)))) {
		r->st.drops[DROP_LIMIT]++;
		quota_release(r, qk);
		quota_release(r, qs);
		return NULL;
	}
	l->index = keys->local_index;
	l->gen = ++r->link_gen;
	l->addr = rp->addr;
	l->fd = netlinks_fd(n, rp);
	l->proven = true; /* we sent the initiation there, and the answer came from there */
	l->last_rx_ms = ev_now_ms(r->loop);
	memcpy(l->client_pub, rp->noise, 32);
	l->keys = *keys;
	if (table_put(&r->links, l->index, l) < 0) {
		link_keys_clear(&l->keys);
		free(l);
		quota_release(r, qk);
		quota_release(r, qs);
		return NULL;
	}
	l->qkey = qk;
	l->qsrc = qs;
	qk->links++;
	qs->links++;
	stats_budget_init(&l->log, l->last_rx_ms, false);
	r->st.handshakes++;
	return l;
}

void netlinks_hs_resp(struct network *n, int fd, const uint8_t *p, size_t len,
                      const struct addr *src)
{
	struct relay *r = n->r;
	uint32_t idx = buf_load_be32(p + 8);
	struct rpeer *rp = NULL;
	struct link_keys keys;
	struct addr observed;
	struct link *l;

	for (int i = 0; i < n->n_peers && !rp; i++)
		if (n->peers[i]->hs_index && n->peers[i]->hs_index == idx)
			rp = n->peers[i];
	/* From where the initiation went: the address, and the stream or a control socket. */
	if (!rp || !addr_equal(src, &rp->addr) ||
	    (rp->sfd >= 0 ? fd != rp->sfd : streams_owns(r, fd))) {
		r->st.drops[DROP_UNKNOWN_LINK]++;
		return;
	}
	if (hs_client_consume_resp(&rp->hs, p, len, &keys, &observed) < 0) {
		r->st.drops[DROP_AUTH]++;
		return;
	}
	rp->hs_index = 0;
	l = netlinks_link_new(n, rp, &keys);
	link_keys_clear(&keys);
	if (!l) {
		netlinks_drop(n, rp, true, LINKPLAN_FAILED, "no room for the link");
		return;
	}
	rp->keys_ms = ev_now_ms(r->loop);
	if (rp->link) {
		/* A rekey: the relay link moves onto the new keys; a frame proves them there. */
		struct link *old = rp->link;

		old->rp = NULL;
		circuits_link_replaced(r, old, l);
		control_link_close(r, old);
		rp->link = l;
		l->rp = rp;
		n->st.rekeys++;
		netlinks_heartbeat(n, rp->identity);
		return;
	}
	rp->link = l;
	l->rp = rp;
	rp->state = RP_HELLO;
	rp->hs_sent_ms = rp->keys_ms;
	netlinks_send_hello(n, rp);
}

void netlinks_cookie(struct network *n, const uint8_t *p, size_t len)
{
	uint32_t idx = buf_load_be32(p + 4);

	for (int i = 0; i < n->n_peers; i++) {
		struct rpeer *rp = n->peers[i];

		/* Under load the peer wants mac2: the next initiation carries it, sent at once. */
		if (rp->hs_index && rp->hs_index == idx &&
		    hs_client_consume_cookie(&rp->hs, p, len, ev_now_ms(n->r->loop)) == 0) {
			netlinks_send_init(n, rp);
			return;
		}
	}
	n->r->st.drops[DROP_UNKNOWN_LINK]++;
}

/* A HELLO refused on l: ERROR(bad-hello) with the reason, and the link closed. */
static void netlinks_refuse(struct network *n, struct link *l, const char *reason, bool misbehaved)
{
	struct rpeer *rp = l->rp;
	char a[ADDR_STRLEN], k[KEY_B64_STRLEN];

	key_to_base64(k, l->client_pub);
	stats_event(n->r, l, "relay HELLO refused", NULL, "from %s key %.8s...: %s",
	            addr_format(&l->addr, a, sizeof(a)), k, reason);
	netlinks_send_error(n, l, PROTO_ERR_BAD_HELLO, reason);
	if (rp) {
		if (misbehaved && rp->initiator)
			linkplan_misbehaved(n->plan, rp->identity, ev_now_ms(n->r->loop));
		netlinks_drop(n, rp, true, LINKPLAN_FAILED, reason);
	} else {
		control_link_close(n->r, l);
	}
}

/* An inbound link's first verified HELLO: it becomes a relay link. */
static void netlinks_inbound(struct network *n, struct link *l, const struct dstore_desc *dd,
                             const uint8_t *dp, size_t dl)
{
	struct linkplan_info info;
	struct rpeer *rp;
	uint64_t now = ev_now_ms(n->r->loop);

	/* The handshake proved the key: a Peer line's relay is known by this identity now. */
	net_cfg_learn(n, l->client_pub, dd->d.identity);
	net_candidate(n, &dd->d, net_class(n, dd->d.identity, dd->d.noise));
	if (linkplan_get(n->plan, dd->d.identity, now, &info) < 0 ||
	    !(rp = netlinks_new(n, false, dd->d.identity, dd->d.noise, &l->addr))) {
		n->st.refused[NET_REF_NO_ROOM]++;
		netlinks_send_error(n, l, PROTO_ERR_LINK_CLOSED, "no-room");
		control_link_close(n->r, l);
		return;
	}
	rp->link = l;
	l->rp = rp;
	if (streams_owns(n->r, l->fd))
		snprintf(rp->carrier, sizeof(rp->carrier), "an inbound stream");
	/* Our HELLO goes first: the initiator takes gossip only once it has verified it. */
	netlinks_send_hello(n, rp);
	if (netlinks_up(n, rp))
		net_offer(n, rp, dp, dl);
}

void netlinks_hello(struct network *n, struct link *l, const uint8_t *pt, size_t len,
                    const struct addr *src)
{
	struct rpeer *rp = l->rp;
	struct dstore_desc *dd = NULL;
	const uint8_t *dp;
	size_t dl;
	int e;

	if (ctrl_decode_desc_msg(CTRL_HELLO, pt, len, &dp, &dl) < 0) {
		n->st.refused[NET_REF_MALFORMED]++;
		netlinks_refuse(n, l, "malformed", true);
		return;
	}
	/* A relay's address is where its handshake came from; it does not roam. */
	if (!addr_equal(src, &l->addr)) {
		n->st.refused[NET_REF_UNPROVEN]++;
		return;
	}
	/* §10.2: verified, current, and naming the key the handshake proved. */
	if ((e = net_desc_check(n, dp, dl, l->client_pub, &dd)) != 0) {
		netlinks_refuse(n, l, e > 0 ? desc_err_name(e) : "internal", e > 0);
		return;
	}
	if (!memcmp(dd->d.identity, n->id.pk, 32)) {
		n->st.refused[NET_REF_SELF]++;
		netlinks_refuse(n, l, net_refusal_name(NET_REF_SELF), false);
		goto out;
	}
	if (rp && memcmp(rp->identity, dd->d.identity, 32) && rp->initiator &&
	    (net_cfg_learn(n, l->client_pub, dd->d.identity) ||
	     net_class(n, dd->d.identity, dd->d.noise) == LINKPLAN_CONFIGURED)) {
		/*
		 * A Peer line's relay (the handshake proved its key) has a new identity: the link
		 * dialled under the old one closes, the new one becomes the configured candidate.
		 */
		netlinks_send_error(n, l, PROTO_ERR_LINK_CLOSED, "identity");
		linkplan_remove(n->plan, rp->identity);
		netlinks_drop(n, rp, false, LINKPLAN_CLOSED, "identity changed");
		net_candidate(n, &dd->d, LINKPLAN_CONFIGURED);
		net_offer(n, NULL, dp, dl);
		net_plan(n);
		goto out;
	}
	if (rp && memcmp(rp->identity, dd->d.identity, 32)) {
		n->st.refused[NET_REF_IDENTITY]++;
		netlinks_refuse(n, l, net_refusal_name(NET_REF_IDENTITY), true);
		goto out;
	}
	if (!rp) {
		netlinks_inbound(n, l, dd, dp, dl);
	} else if (rp->initiator && rp->state == RP_HELLO) {
		if (netlinks_up(n, rp))
			net_offer(n, rp, dp, dl);
	} else {
		/* Again on a link that is up: the peer restarted, or lost our HELLO. */
		if (!rp->initiator)
			netlinks_send_hello(n, rp);
		net_offer(n, rp, dp, dl);
	}
out:
	dstore_desc_unref(dd);
}

void netlinks_error(struct network *n, struct link *l, const struct ctrl_msg *m)
{
	enum linkplan_down how = m->code == PROTO_ERR_SHUTDOWN ? LINKPLAN_CLOSED
	                         : m->code == PROTO_ERR_LINK_CLOSED
	                             ? linkplan_down_for_close(m->text)
	                             : LINKPLAN_FAILED;
	char why[CTRL_TEXT_MAX + 32];

	snprintf(why, sizeof(why), "%s from the peer: %s", proto_error_name(m->code), m->text);
	netlinks_drop(n, l->rp, true, how, why);
}

void netlinks_tick(struct network *n, uint64_t now_ms)
{
	for (int i = 0; i < n->n_peers; i++) {
		struct rpeer *rp = n->peers[i];

		if (!rp->initiator)
			continue;
		/* The last stream ended unopened: the next endpoint (a drop moved another here). */
		if (rp->dial_ms && now_ms >= rp->dial_ms) {
			if (!netlinks_next_stream(n, rp, "the last stream failed"))
				i--;
			continue;
		}
		if (rp->state == RP_HELLO && rp->hs_index == 0 &&
		    now_ms - rp->hs_sent_ms >= NET_RESEND_MS) {
			rp->hs_sent_ms = now_ms;
			netlinks_send_hello(n, rp);
		}
		/* UDP unanswered again and again: the relay's streams, when it has any. */
		if (rp->hs_index && now_ms - rp->hs_sent_ms >= NET_RESEND_MS && !rp->link &&
		    rp->sfd < 0 && rp->udp_tries >= NET_UDP_TRIES && rp->n_urls) {
			if (!netlinks_next_stream(n, rp, "UDP unanswered"))
				i--;
			continue;
		}
		/* Unanswered initiations are sent again; the plan gives up on the first one. */
		if (rp->hs_index && now_ms - rp->hs_sent_ms >= NET_RESEND_MS)
			netlinks_send_init(n, rp);
		/* §4.4: the initiator starts a new handshake when its keys are old. */
		else if (rp->link && !rp->hs_index && now_ms - rp->keys_ms >= PROTO_REKEY_AFTER_MS)
			netlinks_send_init(n, rp);
	}
}

void netlinks_close_all(struct network *n)
{
	while (n->n_peers)
		netlinks_drop(n, n->peers[0], false, LINKPLAN_CLOSED, "shutdown");
}

void network_link_replaced(struct relay *r, struct link *old, struct link *l)
{
	struct rpeer *rp = old->rp;

	old->rp = NULL;
	if (!r->net || !rp)
		return;
	l->rp = rp;
	rp->link = l;
	rp->addr = l->addr;
}

void network_link_gone(struct relay *r, struct link *l)
{
	struct rpeer *rp = l->rp;

	if (!rp)
		return;
	/* Freed from elsewhere (not netlinks_drop, which detaches first): the link was lost. */
	l->rp = NULL;
	rp->link = NULL;
	if (r->net)
		netlinks_drop(r->net, rp, true, LINKPLAN_FAILED, "link closed");
}

void network_stream_open(struct relay *r, int fd)
{
	struct network *n = r->net;

	if (!n)
		return;
	for (int i = 0; i < n->n_peers; i++)
		if (n->peers[i]->sfd == fd) {
			n->peers[i]->sopen = true;
			netlinks_send_init(n, n->peers[i]);
			return;
		}
	/* Nobody waits for it any more (a Peer line's descriptor came another way). */
	if (!descreq_stream_open(n, fd))
		streams_hangup(r, fd);
}

void network_stream_closed(struct relay *r, int fd, const char *why)
{
	struct network *n = r->net;
	char name[128 + TURL_STRLEN];

	if (!n)
		return;
	/* A link on it was closed with it (network_link_gone): only dials in flight are left. */
	for (int i = 0; i < n->n_peers; i++) {
		struct rpeer *rp = n->peers[i];

		if (rp->sfd != fd)
			continue;
		log_info("relay link to %s: stream ended: %s",
		         netlinks_name(rp, name, sizeof(name)), why);
		rp->sfd = -1;
		rp->sopen = false;
		rp->hs_index = 0;
		*rp->carrier = '\0';
		/* The next endpoint from the timer, not from inside the stream's end. */
		if (rp->next_url < rp->n_urls)
			rp->dial_ms = ev_now_ms(r->loop);
		else
			netlinks_drop(n, rp, true, LINKPLAN_FAILED, "no stream endpoint answered");
		return;
	}
	descreq_stream_closed(n, fd);
}

size_t network_carrier_metrics(const struct relay *r, char *out, size_t cap)
{
	const struct network *n = r->net;
	unsigned long long udp = 0, stream = 0;
	int k;

	if (!n)
		return 0;
	for (int i = 0; i < n->n_peers; i++) {
		const struct rpeer *rp = n->peers[i];

		if (rp->state != RP_UP)
			continue;
		if (rp->link && streams_owns(r, rp->link->fd))
			stream++;
		else
			udp++;
	}
	k = snprintf(out, cap,
	             "# HELP wgrelayd_network_links_by_carrier Relay links up, by what carries "
	             "them (UDP, or a stream: TCP, TLS, WebSocket).\n"
	             "# TYPE wgrelayd_network_links_by_carrier gauge\n"
	             "wgrelayd_network_links_by_carrier{carrier=\"udp\"} %llu\n"
	             "wgrelayd_network_links_by_carrier{carrier=\"stream\"} %llu\n"
	             "# HELP wgrelayd_network_stream_dials_total Streams dialled for relay links "
	             "and Peer descriptors.\n"
	             "# TYPE wgrelayd_network_stream_dials_total counter\n"
	             "wgrelayd_network_stream_dials_total %llu\n",
	             udp, stream, (unsigned long long)n->st.stream_dials);
	return k < 0 || (size_t)k >= cap ? 0 : (size_t)k;
}
