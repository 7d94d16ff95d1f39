/*
 * network.c: the relay network part of wgrelayd (PROTOCOL.md §10, network.h): the identity
 * and the relay's own descriptor (built from config and keys, republished before it expires
 * and when the load moves), the gossip engine with the descriptor store, the link plan fed
 * with every descriptor the store takes, and the one timer that drives them.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "conf.h"
#include "key.h"
#include "network.h"
#include "version.h"

const char *net_refusal_name(int reason)
{
	static const char *const names[NET_REF_MAX] = {
	    [NET_REF_SELF] = "self",           [NET_REF_IDENTITY] = "identity-mismatch",
	    [NET_REF_DUPLICATE] = "duplicate", [NET_REF_NOT_RELAY] = "not-relay-link",
	    [NET_REF_NO_ROOM] = "no-room",     [NET_REF_MALFORMED] = "malformed",
	    [NET_REF_UNPROVEN] = "unproven",   [NET_REF_UNSOLICITED] = "unsolicited",
	};

	return reason >= 0 && reason < NET_REF_MAX ? names[reason] : "unknown";
}

uint64_t net_unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/*
 * The endpoints a descriptor names: the UDP ones first, Advertise, else every Listen address
 * that is a specific one (a wildcard says nothing about where the relay can be reached); then
 * [Transport] Advertise's stream endpoints, for which room is kept. The count; 0 when there
 * is no UDP endpoint (the first must be one, §9.1).
 */
static int net_endpoints(const struct relayd_config *c, struct descriptor *d)
{
	int k = 0, udp_max = DESC_MAX_ENDPOINTS - c->transport.n_advertise;

	if (c->net.advertise.len) {
		d->endpoints[k].transport = DESC_T_UDP;
		d->endpoints[k++].addr = c->net.advertise;
	} else {
		for (int i = 0; i < c->n_listen && k < udp_max; i++) {
			if (addr_classify(&c->listen[i]) & ADDR_UNSPECIFIED)
				continue;
			d->endpoints[k].transport = DESC_T_UDP;
			d->endpoints[k++].addr = c->listen[i];
		}
	}
	for (int i = 0; k && i < c->transport.n_advertise; i++)
		d->endpoints[k++] = c->transport.advertise[i];
	d->n_endpoints = (uint8_t)k;
	return k;
}

/* What the descriptor states from the configuration (net_build, net_config_changed). */
static uint8_t net_modes(const struct relayd_config *c)
{
	return (uint8_t)((c->mode_direct ? DESC_MODE_DIRECT : 0) |
	                 (c->mode_sealed ? DESC_MODE_SEALED : 0) |
	                 (c->circuits ? DESC_MODE_CIRCUITS : 0));
}

static uint8_t net_auth(const struct relayd_config *c)
{
	return c->auth == AUTH_KEYS    ? DESC_AUTH_KEYS
	       : c->auth == AUTH_TOKEN ? DESC_AUTH_TOKEN
	                               : DESC_AUTH_OPEN;
}

static uint32_t net_max_circuits(const struct relayd_config *c)
{
	return c->limits.max_circuits > UINT32_MAX ? UINT32_MAX : (uint32_t)c->limits.max_circuits;
}

/*
 * Build and sign the descriptor of a relay with config c, identity id and Noise key noise:
 * the encoded length, -EADDRNOTAVAIL when there is no address to publish, or -DESC_E_*.
 */
static int net_build(const struct relayd_config *c, const struct identity *id,
                     const uint8_t noise[32], uint64_t seq, uint64_t now_s, uint16_t load,
                     uint32_t uptime_s, struct descriptor *d, uint8_t *out, size_t cap)
{
	memset(d, 0, sizeof(*d));
	if (!net_endpoints(c, d))
		return -EADDRNOTAVAIL;
	memcpy(d->identity, id->pk, 32);
	memcpy(d->noise, noise, 32);
	d->seq = seq;
	d->issued_at = now_s;
	d->expires_at = now_s + c->net.lifetime_s;
	d->modes = net_modes(c);
	d->auth = net_auth(c);
	d->max_circuits = net_max_circuits(c);
	d->bandwidth_kbps = (uint32_t)c->net.bandwidth_kbps;
	d->load_permille = load;
	d->uptime_s = uptime_s;
	snprintf(d->version, sizeof(d->version), "%s", WGR_VERSION);
	memcpy(d->country, c->net.country, sizeof(d->country));
	d->has_location = c->net.has_location;
	d->lat_e6 = c->net.lat_e6;
	d->lon_e6 = c->net.lon_e6;
	snprintf(d->family, sizeof(d->family), "%s", c->net.family);
	return desc_sign(d, id->sk, out, cap);
}

/* Circuits per 1000 of the circuit limit, as PONG reports it (§3). */
static uint16_t net_load(const struct relay *r)
{
	uint64_t l;

	if (!r->cfg.limits.max_circuits)
		return 1000;
	l = r->circuits * 1000 / r->cfg.limits.max_circuits;
	return (uint16_t)(l > 1000 ? 1000 : l);
}

/* Sign a new descriptor and publish it to the store and every relay link. */
static int net_publish(struct network *n, const char *why)
{
	struct relay *r = n->r;
	uint64_t now = ev_now_ms(r->loop), unix_ms = net_unix_ms(), seq = unix_ms / 1000;
	uint16_t load = net_load(r);
	int len;

	/* Strictly increasing, even when republished within a second or the clock stepped back. */
	if (seq <= n->d.seq)
		seq = n->d.seq + 1;
	len = net_build(&r->cfg, &n->id, r->hs.pub, seq, unix_ms / 1000, load,
	                (uint32_t)((now - r->started_ms) / 1000), &n->d, n->desc, sizeof(n->desc));
	if (len < 0) {
		log_warnx("network: cannot sign the descriptor: %s", desc_err_name(len));
		return len;
	}
	n->desc_len = (size_t)len;
	n->published_load = load;
	n->publish_ms = now;
	/* Republished at a quarter of its lifetime, so it never lapses in other stores. */
	n->next_publish_ms = now + r->cfg.net.lifetime_s * 1000 / 4;
	n->st.publishes++;
	log_debug("network: descriptor seq %llu published (%s)", (unsigned long long)seq, why);
	gossip_publish(n->g, n->desc, n->desc_len, unix_ms);
	net_pump(n);
	netdht_published(n);
	return 0;
}

/*
 * The store's watch (gossip_config.watch): every descriptor it takes becomes a link-plan
 * candidate, and a discovered relay whose descriptor leaves it (expired, evicted) leaves the
 * plan; configured and trusted relays stay, whatever their descriptor does.
 */
static void net_watch(void *ctx, int event, const struct dstore_desc *dd)
{
	struct network *n = ctx;
	uint8_t cls;

	if (sodium_memcmp(dd->d.identity, n->id.pk, 32) == 0)
		return;
	cls = net_class(n, dd->d.identity, dd->d.noise);
	if (event == DSTORE_EV_ADDED || event == DSTORE_EV_REPLACED)
		net_candidate(n, &dd->d, cls);
	else if (cls != LINKPLAN_CONFIGURED && cls != LINKPLAN_TRUSTED)
		linkplan_remove(n->plan, dd->d.identity);
}

uint8_t net_class(const struct network *n, const uint8_t identity[32], const uint8_t noise[32])
{
	const struct net_config *c = &n->r->cfg.net;

	for (int i = 0; i < n->n_cfg; i++)
		if (n->cfg[i].known && !memcmp(n->cfg[i].c.key, noise, 32) &&
		    !memcmp(n->cfg[i].identity, identity, 32))
			return LINKPLAN_CONFIGURED;
	for (int i = 0; i < c->n_trusted; i++)
		if (!memcmp(c->trusted[i], identity, 32))
			return LINKPLAN_TRUSTED;
	return LINKPLAN_DISCOVERED;
}

bool net_cfg_learn(struct network *n, const uint8_t noise[32], const uint8_t identity[32])
{
	char a[ADDR_STRLEN], old[KEY_B64_STRLEN], now[KEY_B64_STRLEN];
	bool changed = false;

	for (int i = 0; i < n->n_cfg; i++) {
		struct cfgpeer *cp = &n->cfg[i];

		if (memcmp(cp->c.key, noise, 32) ||
		    (cp->known && !memcmp(cp->identity, identity, 32)))
			continue;
		if (cp->known) {
			key_to_base64(old, cp->identity);
			key_to_base64(now, identity);
			log_info(
			    "relay peer %s: identity %.8s... is now %.8s...: the old one leaves "
			    "the plan",
			    addr_format(&cp->c.addr, a, sizeof(a)), old, now);
			linkplan_remove(n->plan, cp->identity);
		}
		memcpy(cp->identity, identity, 32);
		cp->known = true;
		changed = true;
	}
	return changed;
}

int net_candidate(struct network *n, const struct descriptor *d, uint8_t cls)
{
	struct linkplan_cand c = {.cls = cls, .family = d->family};
	int e;

	memcpy(c.identity, d->identity, 32);
	memcpy(c.noise, d->noise, 32);
	c.addr = d->endpoints[0].addr;
	memcpy(c.country, d->country, sizeof(c.country));
	e = linkplan_add(n->plan, &c, ev_now_ms(n->r->loop));
	if (e < 0 && e != -ENOSPC)
		log_debug("network: candidate refused by the plan: %s", strerror(-e));
	return e;
}

int net_desc_check(struct network *n, const uint8_t *p, size_t len, const uint8_t noise[32],
                   struct dstore_desc **out)
{
	int why = 0, e = dstore_desc_new(out, p, len, &why);

	if (e == -ENOMEM)
		return e;
	if (e < 0) {
		*out = NULL;
		if (why <= 0 || why >= DESC_E_MAX)
			why = DESC_E_SHORT;
	} else if ((e = desc_check_time(&(*out)->d, net_unix_ms() / 1000)) < 0) {
		why = -e;
	} else if (noise && sodium_memcmp((*out)->d.noise, noise, 32) != 0) {
		/* §10.2: the descriptor must name the key the handshake (or the Peer line) gave. */
		why = DESC_E_NOISE_KEY;
	} else {
		return 0;
	}
	dstore_desc_unref(*out);
	*out = NULL;
	n->st.hello_refused[why]++;
	return why;
}

int net_offer(struct network *n, struct rpeer *rp, const uint8_t *desc, size_t len)
{
	int e = gossip_offer(n->g, rp ? rp->id : GOSSIP_LINK_NONE, desc, len, net_unix_ms());

	net_pump(n);
	return e;
}

void net_send(struct network *n, struct rpeer *rp, const uint8_t *pt, size_t len)
{
	if (!rp->link)
		return;
	control_send_raw(n->r, rp->link, pt, len);
	n->st.ctrl_bytes_out += len;
	if (rp->state == RP_UP)
		linkplan_sent(n->plan, rp->identity, ev_now_ms(n->r->loop));
}

void net_pump(struct network *n)
{
	uint8_t buf[GOSSIP_MSG_MAX];
	uint64_t now = net_unix_ms();
	uint32_t id;
	int len;

	/* Bounded: a queue that refills as fast as it drains must not hold the loop. */
	for (int i = 0; i < 4096 && (len = gossip_next(n->g, now, &id, buf, sizeof(buf))) > 0;
	     i++) {
		struct rpeer *rp = netlinks_by_id(n, id);

		if (rp && rp->state == RP_UP)
			net_send(n, rp, buf, (size_t)len);
	}
}

void net_plan(struct network *n)
{
	struct linkplan_action a[LINKPLAN_ACTIONS_HINT];
	uint64_t now = ev_now_ms(n->r->loop);
	size_t k;

	/* decide returns what did not fit on the next call: a few rounds drain it. */
	for (int round = 0; round < 4; round++) {
		k = linkplan_decide(n->plan, now, a, LINKPLAN_ACTIONS_HINT);
		for (size_t i = 0; i < k; i++) {
			switch (a[i].act) {
			case LINKPLAN_CONNECT:
				netlinks_connect(n, &a[i]);
				break;
			case LINKPLAN_DISCONNECT:
				netlinks_disconnect(n, a[i].identity, linkplan_why_name(a[i].why));
				break;
			case LINKPLAN_HEARTBEAT:
				netlinks_heartbeat(n, a[i].identity);
				break;
			}
		}
		if (k < LINKPLAN_ACTIONS_HINT)
			break;
	}
}

/*
 * A reload (SIGHUP) may change what the descriptor states about modes, auth and capacity: then
 * it is re-signed at the next tick (§9.4), not left stating the old values until its refresh.
 */
static bool net_config_changed(const struct network *n)
{
	const struct relayd_config *c = &n->r->cfg;

	return n->desc_len && (n->d.modes != net_modes(c) || n->d.auth != net_auth(c) ||
	                       n->d.max_circuits != net_max_circuits(c));
}

static void net_timer(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct network *n = arg;
	uint64_t now = ev_now_ms(loop);
	uint16_t load = net_load(n->r);
	int diff = (int)load - (int)n->published_load;

	gossip_tick(n->g, net_unix_ms());
	if (now >= n->next_publish_ms)
		net_publish(n, "refresh");
	else if (net_config_changed(n))
		net_publish(n, "reload");
	else if ((diff > NET_LOAD_REPUBLISH_DIFF || diff < -NET_LOAD_REPUBLISH_DIFF) &&
	         now - n->publish_ms >= NET_LOAD_REPUBLISH_MS)
		net_publish(n, "load");
	descreq_tick(n, now);
	netlinks_tick(n, now);
	net_plan(n);
	net_pump(n);
	ev_timer_start(loop, t, 1000);
}

/* The plan's settings from [Network]. */
static void net_plan_config(const struct relayd_config *c, const uint8_t self[32],
                            struct linkplan_config *pc)
{
	linkplan_config_default(pc);
	pc->min_links = (unsigned)c->net.min_links;
	pc->max_links = (unsigned)c->net.max_links;
	pc->heartbeat_interval_s = (unsigned)c->net.heartbeat_s;
	pc->link_timeout_s = (unsigned)c->net.link_timeout_s;
	pc->reconnect_interval_s = (unsigned)c->net.reconnect_s;
	/* 0 in the config: never give up on a relay (the plan wants at least one try). */
	pc->max_retries = c->net.max_retries ? (unsigned)c->net.max_retries : 1000000;
	if (pc->max_candidates < pc->max_links)
		pc->max_candidates = pc->max_links;
	memcpy(pc->self, self, 32);
}

int network_open(struct relay *r)
{
	struct gossip_config gc;
	struct linkplan_config pc;
	struct network *n;
	char path[512], err[CONF_ERRLEN], idb64[KEY_B64_STRLEN];
	const char *why;
	bool created = false;
	int e;

	if (!r->cfg.net.on)
		return 0;
	n = calloc(1, sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->r = r;
	if ((e = config_identity_path(&r->cfg, path, sizeof(path))) < 0 ||
	    (e = identity_load_or_create(&n->id, path, &created, err, sizeof(err))) < 0) {
		log_warnx("network: identity %s: %s", path,
		          e == -ENAMETOOLONG ? "path too long" : err);
		free(n);
		return e;
	}
	key_to_base64(idb64, n->id.pk);
	log_info("network: %s identity %s, identity key %s", created ? "created" : "loaded", path,
	         idb64);
	net_plan_config(&r->cfg, n->id.pk, &pc);
	if ((why = linkplan_config_check(&pc))) {
		log_warnx("network: %s", why);
		identity_wipe(&n->id);
		free(n);
		return -EINVAL;
	}
	gossip_config_default(&gc);
	gc.store_capacity = (size_t)r->cfg.net.store_size;
	gc.ae_interval_ms = (uint32_t)(r->cfg.net.anti_entropy_s * 1000);
	gc.max_links = NET_MAX_PEERS;
	gc.watch = net_watch;
	gc.watch_ctx = n;
	if ((e = gossip_new(&n->g, &gc)) < 0 || (e = linkplan_new(&n->plan, &pc, NULL, NULL)) < 0) {
		gossip_free(n->g);
		identity_wipe(&n->id);
		free(n);
		return e;
	}
	/* A source cannot fill the store with identities of its own: 32 per /24 or /48. */
	dstore_set_prefix_cap(gossip_store(n->g), DSTORE_PER_PREFIX);
	for (int i = 0; i < r->cfg.net.n_peers; i++) {
		n->cfg[n->n_cfg].sfd = -1;
		n->cfg[n->n_cfg++].c = r->cfg.net.peers[i];
	}
	tbucket_init(&n->near, NET_NEAR_RATE, NET_NEAR_BURST, ev_now_ms(r->loop));
	r->net = n;
	if (net_publish(n, "start") < 0) {
		/* Without a descriptor there is no HELLO: no relay links, nothing to answer. */
		log_warnx("network: no descriptor to publish (Listen is a wildcard address and "
		          "[Network] Advertise is not set): the relay network stays off");
		r->net = NULL;
		linkplan_free(n->plan);
		gossip_free(n->g);
		identity_wipe(&n->id);
		free(n);
		return 0;
	}
	log_info("network: on, %d configured peer(s), links %llu-%llu", n->n_cfg,
	         (unsigned long long)r->cfg.net.min_links,
	         (unsigned long long)r->cfg.net.max_links);
	if (r->cfg.net.proxy.kind != TURL_PROXY_NONE) {
		char px[TURL_STRLEN];

		turl_proxy_format(&r->cfg.net.proxy, px, sizeof(px));
		log_info("network: relay links dialled through %s, over stream endpoints only", px);
		/* The DHT is UDP: it would tell the world where a relay behind Tor is. */
		if (r->cfg.net.dht)
			log_warnx("network: Dht = on sends UDP outside the proxy");
	}
	ev_timer_init(&n->timer, net_timer, n);
	ev_timer_start(r->loop, &n->timer, 0);
	/* A DHT setting that cannot work stops the start like any bad setting (a port that
	 * cannot be bound only leaves the DHT off: links and gossip work without it). */
	if ((e = netdht_open(n)) < 0) {
		network_close(r);
		return e;
	}
	return 0;
}

void network_close(struct relay *r)
{
	struct network *n = r->net;

	if (!n)
		return;
	ev_timer_stop(r->loop, &n->timer);
	netdht_close(n);
	netlinks_close_all(n);
	netdns_free(n);
	r->net = NULL;
	linkplan_free(n->plan);
	gossip_free(n->g);
	identity_wipe(&n->id);
	free(n);
}

bool network_wants_ctrl(const struct relay *r, const struct link *l, uint8_t type)
{
	return r->net && (l->rp || (type >= CTRL_HELLO && type <= CTRL_HEARTBEAT_ACK));
}

void network_ctrl(struct relay *r, struct link *l, const uint8_t *pt, size_t n,
                  const struct addr *src, size_t len)
{
	struct network *net = r->net;
	struct ctrl_msg m;
	uint8_t type = pt[0];

	if (l->rp) {
		net->st.ctrl_bytes_in += n;
		if (l->rp->state == RP_UP)
			linkplan_heard(net->plan, l->rp->identity, ev_now_ms(r->loop));
	}
	if (type == CTRL_DISCOVER) {
		discover_input(net, l, pt, n, src, len);
		return;
	}
	if (type == CTRL_HELLO) {
		netlinks_hello(net, l, pt, n, src);
		return;
	}
	/* Everything below is for relay links only. */
	if (!l->rp) {
		net->st.refused[NET_REF_NOT_RELAY]++;
		return;
	}
	if (type == CTRL_HEARTBEAT || type == CTRL_HEARTBEAT_ACK) {
		netlinks_heartbeat_in(net, l, pt, n);
		return;
	}
	if (gossip_msg_kind(type) >= 0) {
		if (l->rp->state != RP_UP) {
			net->st.refused[NET_REF_NOT_RELAY]++;
			return;
		}
		gossip_input(net->g, l->rp->id, pt, n, net_unix_ms());
		net_pump(net);
		return;
	}
	/* ERROR closes the relay link; a KEEPALIVE only shows it alive. Nothing else is answered:
	 * two relays must never answer each other's errors. */
	if (ctrl_decode(pt, n, &m) == 0 && m.type == CTRL_ERROR)
		netlinks_error(net, l, &m);
	else if (m.type != CTRL_KEEPALIVE)
		net->st.refused[NET_REF_MALFORMED]++;
}

void network_frame(struct relay *r, int fd, int type, const uint8_t *p, size_t n,
                   const struct addr *src)
{
	struct network *net = r->net;

	if (!net) {
		r->st
		    .drops[DROP_MALFORMED]++; /* a relay without the network does not speak these */
		return;
	}
	switch (type) {
	case PROTO_HS_RESP:
		netlinks_hs_resp(net, fd, p, n, src);
		break;
	case PROTO_COOKIE:
		netlinks_cookie(net, p, n);
		break;
	case PROTO_DESC_REQ:
		descreq_input(net, fd, p, n, src);
		break;
	case PROTO_DESC_RESP:
		/* One a DHT lookup asked for, else one a Peer line asked for (or unsolicited). */
		if (!netdht_desc_resp(net, p, n, src))
			descreq_resp(net, p, n, src);
		break;
	}
}

int network_show_descriptor(const struct relayd_config *c, bool json, char *err, size_t errlen)
{
	struct identity id;
	struct descriptor d;
	uint8_t priv[32], pub[32], bytes[DESC_MAX_LEN];
	char path[512], *text;
	uint64_t now = net_unix_ms() / 1000;
	int e;

	if (config_identity_path(c, path, sizeof(path)) < 0) {
		snprintf(err, errlen, "identity file path too long");
		return -ENAMETOOLONG;
	}
	if ((e = key_load_file_err(priv, c->key_file, err, errlen)) < 0)
		return e;
	key_public_from_private(pub, priv);
	sodium_memzero(priv, sizeof(priv));
	if ((e = identity_load(&id, path, err, errlen)) < 0)
		return e;
	e = net_build(c, &id, pub, now, now, 0, 0, &d, bytes, sizeof(bytes));
	identity_wipe(&id);
	if (e == -EADDRNOTAVAIL) {
		snprintf(err, errlen,
		         "no descriptor: Listen is a wildcard address and [Network] Advertise is "
		         "not set");
		return e;
	}
	if (e < 0) {
		snprintf(err, errlen, "cannot sign the descriptor: %s", desc_err_name(e));
		return -EINVAL;
	}
	text = malloc(16384);
	if (!text)
		return -ENOMEM;
	e = json ? desc_to_json(&d, text, 16384) : desc_to_text(&d, text, 16384);
	if (e >= 0)
		printf("%s%s", text, e > 0 && text[e - 1] == '\n' ? "" : "\n");
	else
		snprintf(err, errlen, "descriptor too large to print");
	free(text);
	return e < 0 ? e : 0;
}
