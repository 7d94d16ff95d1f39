/*
 * netlinks.c: relay links (PROTOCOL.md §10.2, §10.3): the I/O of what the link plan decides.
 * Ours are made from the control socket as a client of §4 (Noise IK to the peer's control
 * port, keyed by its Noise key), then HELLO both ways; inbound ones are client links whose
 * HELLO verified. Heartbeats, rekeys of our links every PROTO_REKEY_AFTER_MS, resent
 * initiations and HELLOs, and one link per pair of relays: the one the lower identity made.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "key.h"
#include "network.h"

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
	memcpy(rp->identity, identity, 32);
	memcpy(rp->noise, noise, 32);
	rp->addr = *a;
	n->peers[n->n_peers++] = rp;
	return rp;
}

/* "127.0.0.1:51821 id AbCdEfGh" for log lines. */
static const char *netlinks_name(const struct rpeer *rp, char *buf, size_t cap)
{
	char a[ADDR_STRLEN], k[KEY_B64_STRLEN];

	key_to_base64(k, rp->identity);
	snprintf(buf, cap, "%s identity %.8s...", addr_format(&rp->addr, a, sizeof(a)), k);
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
	char name[128];

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
}

/* ERROR(code, text) on l: told before a relay link is closed or a HELLO refused. */
static void netlinks_send_error(struct network *n, struct link *l, unsigned code, const char *text)
{
	struct ctrl_msg m = {.type = CTRL_ERROR, .code = (uint16_t)code};

	snprintf(m.text, sizeof(m.text), "%s", text);
	control_send_ctrl(n->r, l, &m);
}

static void netlinks_send_init(struct network *n, struct rpeer *rp)
{
	uint8_t init[PROTO_HS_INIT_LEN];
	uint64_t now = ev_now_ms(n->r->loop);
	int fd = control_fd_for(n->r, &rp->addr);

	hs_client_build_init(&rp->hs, init, now);
	rp->hs_index = rp->hs.local_index;
	rp->hs_sent_ms = now;
	if (fd >= 0)
		control_sendto(n->r, fd, init, sizeof(init), &rp->addr);
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
	struct rpeer *rp;

	/* Up already (an inbound link): the plan learns it; in flight: nothing new to start. */
	if ((rp = netlinks_find(n, a->identity, true))) {
		linkplan_link_up(n->plan, a->identity, now);
		return;
	}
	for (int i = 0; i < n->n_peers; i++)
		if (n->peers[i]->initiator && !memcmp(n->peers[i]->identity, a->identity, 32))
			return;
	if (policy_forbids(&r->cfg.policy, &a->addr) || control_fd_for(r, &a->addr) < 0 ||
	    !(rp = netlinks_new(n, true, a->identity, a->noise, &a->addr))) {
		linkplan_link_down(n->plan, a->identity, now, LINKPLAN_FAILED);
		return;
	}
	rp->state = RP_HANDSHAKE;
	hs_client_init(&rp->hs, r->hs.priv, rp->noise);
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
	char name[128];

	rp->state = RP_UP;
	rp->up_ms = ev_now_ms(r->loop);
	linkplan_link_up(n->plan, rp->identity, rp->up_ms);
	gossip_link_up(n->g, rp->id, net_unix_ms());
	n->st.links_up++;
	stats_event(r, rp->link, "relay link up", NULL, "%s %s",
	            netlinks_name(rp, name, sizeof(name)), rp->initiator ? "(ours)" : "(inbound)");
	return netlinks_dedup(n, rp);
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
	l->fd = control_fd_for(r, &rp->addr);
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

void netlinks_hs_resp(struct network *n, const uint8_t *p, size_t len, const struct addr *src)
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
	if (!rp || !addr_equal(src, &rp->addr)) {
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
	enum linkplan_down how = m->code == PROTO_ERR_SHUTDOWN      ? LINKPLAN_CLOSED
	                         : m->code == PROTO_ERR_LINK_CLOSED ? LINKPLAN_REFUSED
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
		if (rp->state == RP_HELLO && rp->hs_index == 0 &&
		    now_ms - rp->hs_sent_ms >= NET_RESEND_MS) {
			rp->hs_sent_ms = now_ms;
			netlinks_send_hello(n, rp);
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
