/*
 * steer.c: the helper's I/O around path.c: read the device, show path_step each peer as its
 * bindings see the relays, apply what it decides (WireGuard, the cache, the links, the sealed
 * ports), restore, detach, adopt.
 */
#include "steer.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ev.h"
#include "frame.h"
#include "geoip.h"
#include "log.h"
#include "proto.h"
#include "select.h"
#include "sid.h"
#include "steer_priv.h"
#include "wg.h"

int64_t steer_mono_ms(void)
{
	return (int64_t)ev_clock_ms();
}

const char *steer_mode_name(uint8_t mode)
{
	return mode == PROTO_MODE_SEALED ? "sealed" : "direct";
}

uint8_t steer_mode(const struct steer_iface *ifc)
{
	return strcmp(ifc->cfg.mode, "sealed") == 0 ? PROTO_MODE_SEALED : PROTO_MODE_DIRECT;
}

uint8_t steer_peer_mode(const struct steer_ctx *s, const struct steer_peer *p, size_t ri,
                        uint8_t mode)
{
	if (mode == PROTO_MODE_SEALED || ri >= s->n_relays)
		return mode;
	if (steer_mode_of(&p->bmode[ri]) == PROTO_MODE_SEALED ||
	    (s->relays[ri].link && s->relays[ri].link->tc))
		return PROTO_MODE_SEALED;
	return PROTO_MODE_DIRECT;
}

bool steer_bind_ready(const struct link_bind *b, uint8_t mode)
{
	return b && b->mode == mode && b->state == PROTO_PAIRED && !b->error &&
	       (mode == PROTO_MODE_SEALED ? b->handle != 0 : b->port != 0);
}

struct link_bind *steer_bind_of(struct steer_ctx *s, struct steer_peer *p, int ri)
{
	if (ri < 0 || (size_t)ri >= s->n_relays || !s->relays[ri].link)
		return NULL;
	return link_find(s->relays[ri].link, p->sids[ri]);
}

int steer_link_index(const struct steer_ctx *s, const struct link *l)
{
	for (size_t r = 0; l && r < s->n_relays; r++)
		if (s->relays[r].link == l)
			return (int)r;
	return -1;
}

static struct steer_peer *find_peer(struct steer_iface *ifc, const uint8_t pub[32])
{
	for (size_t i = 0; i < ifc->n_peers; i++)
		if (memcmp(ifc->peers[i].pub, pub, 32) == 0)
			return &ifc->peers[i];
	return NULL;
}

static struct steer_peer *add_peer(struct steer_iface *ifc, const uint8_t pub[32])
{
	if (ifc->n_peers == ifc->cap_peers) {
		size_t nc = ifc->cap_peers ? ifc->cap_peers * 2 : 8;
		struct steer_peer *p = realloc(ifc->peers, nc * sizeof(*p));
		if (!p)
			return NULL;
		ifc->peers = p;
		ifc->cap_peers = nc;
	}
	struct steer_peer *p = &ifc->peers[ifc->n_peers++];
	memset(p, 0, sizeof(*p));
	memcpy(p->pub, pub, 32);
	key_to_base64(p->pub_b64, pub);
	path_init(&p->pp);
	return p;
}

void steer_iface_clear(struct steer_iface *ifc)
{
	sodium_memzero(ifc->priv, sizeof(ifc->priv));
	for (size_t i = 0; i < ifc->n_peers; i++) {
		steer_circ_free(ifc->peers[i].circ);
		sealed_port_free(ifc->peers[i].port);
		sodium_memzero(ifc->peers[i].sid_key, sizeof(ifc->peers[i].sid_key));
	}
	free(ifc->peers);
	ifc->peers = NULL;
	ifc->n_peers = ifc->cap_peers = 0;
}

/* Set WireGuard's endpoint for p (update-only) and remember it as what WireGuard has. */
static int set_endpoint(struct steer_iface *ifc, struct steer_peer *p, const struct addr *ep)
{
	int rc = wg_set_peer_endpoint(ifc->name, p->pub, ep);
	if (rc == 0)
		p->wg_ep = *ep;
	else
		log_warnx("%s: peer %.8s: set endpoint: %s", ifc->name, p->pub_b64, strerror(-rc));
	return rc;
}

/* The relay an endpoint points at (one of its session ports), or -1: matched by address. */
static int relay_at(struct steer_ctx *s, const struct addr *ep)
{
	for (size_t r = 0; ep->len && r < s->n_relays; r++) {
		struct addr a;

		if (s->relays[r].link)
			a = s->relays[r].link->relay;
		else if (addr_parse(&a, s->relays[r].info.endpoint, PROTO_DEFAULT_PORT) < 0)
			continue;
		if (addr_equal_ip(&a, ep))
			return (int)r;
	}
	return -1;
}

/*
 * The relay whose session for this peer an endpoint is, or -1: in direct mode the relay's
 * address with our binding's session port (a peer may well sit on a relay's address itself:
 * only the session port says it is the relay); in sealed mode any address of a relay (which
 * WireGuard has no business using: a left-over).
 */
static int session_relay(struct steer_ctx *s, struct steer_peer *p, uint8_t mode,
                         const struct addr *ep)
{
	int r = relay_at(s, ep);
	if (r < 0 || mode == PROTO_MODE_SEALED)
		return r;
	for (size_t i = 0; i < s->n_relays; i++) {
		struct link_bind *b = steer_bind_of(s, p, (int)i);
		struct addr a;
		if (!b || !b->port || !s->relays[i].link)
			continue;
		a = s->relays[i].link->relay;
		addr_set_port(&a, b->port);
		if (addr_equal(&a, ep))
			return (int)i;
	}
	/* The session port we set (its binding may be re-forming). */
	if (p->pp.state != PATH_DIRECT && addr_equal(ep, &p->pp.set_ep))
		return p->pp.relay;
	return -1;
}

/*
 * The sids of a peer on every relay: an X25519 each, so only when the interface's key or the
 * relay table changed (relays are only ever appended to it).
 */
static void derive_sids(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p)
{
	if (p->sid_ok && p->sid_relays == s->n_relays &&
	    sodium_memcmp(p->sid_key, ifc->priv, 32) == 0)
		return;
	p->sid_ok = true;
	for (size_t r = 0; r < s->n_relays; r++)
		if (sid_derive(p->sids[r], ifc->priv, p->pub, s->relays[r].pub) < 0)
			p->sid_ok = false;
	memcpy(p->sid_key, ifc->priv, 32);
	p->sid_relays = s->n_relays;
}

int steer_read(struct steer_ctx *s, struct steer_iface *ifc, int64_t now)
{
	struct wg_device *dev;
	int rc = wg_get_device(ifc->name, &dev);
	if (rc < 0) {
		ifc->present = false;
		return rc;
	}
	ifc->present = true;
	memcpy(ifc->priv, dev->private_key, 32);
	ifc->fwmark = (dev->flags & WG_DEVICE_HAS_FWMARK) ? dev->fwmark : 0;
	ifc->listen_port = dev->listen_port;
	for (size_t i = 0; i < ifc->n_peers; i++)
		ifc->peers[i].seen = false;
	for (size_t i = 0; i < dev->n_peers; i++) {
		const struct wg_peer *wp = &dev->peers[i];
		struct steer_peer *p = find_peer(ifc, wp->public_key);
		if (!p && !(p = add_peer(ifc, wp->public_key)))
			break;
		p->seen = true;
		p->last.t = now;
		p->last.tx_bytes = wp->tx_bytes;
		p->last.rx_bytes = wp->rx_bytes;
		p->last.last_handshake = wp->last_handshake.tv_sec;
		p->wg_ep = wp->endpoint;
		p->keepalive = wp->persistent_keepalive_interval;
	}
	if (!key_is_zero(ifc->priv))
		for (size_t i = 0; i < ifc->n_peers; i++)
			derive_sids(s, ifc, &ifc->peers[i]);
	wg_free_device(dev);
	return 0;
}

/*
 * A relay that says which modes it offers and leaves out the one asked for cannot carry the
 * peer. Direct mode never goes over a stream (carrier.h): the session ports are UDP, which is
 * what failed; steer_peer_mode asks sealed of such a relay, which goes over the link itself.
 */
static bool offers(const struct link *l, uint8_t mode)
{
	if (l->tc && mode == PROTO_MODE_DIRECT)
		return false;
	uint16_t f = l->pong_flags & (PONG_F_SEALED_OK | PONG_F_DIRECT_OK);
	if (l->rtt_ms < 0 || f == 0)
		return true; /* not known yet: BIND tells (ERROR mode-not-allowed) */
	return f & (mode == PROTO_MODE_SEALED ? PONG_F_SEALED_OK : PONG_F_DIRECT_OK);
}

size_t steer_rank_cands(struct steer_ctx *s, struct steer_peer *p, uint8_t mode, size_t *order,
                        struct select_cand *c, bool *geo)
{
	struct select_point a = {0}, b = {0};
	struct geoip_loc l;
	size_t usable = 0;

	if (s->self_known && geoip_lookup(s->geoip, &s->self_public, &l) == 0)
		a = (struct select_point){true, l.lat, l.lon};
	if (p->pp.direct_ep.len && geoip_lookup(s->geoip, &p->pp.direct_ep, &l) == 0)
		b = (struct select_point){true, l.lat, l.lon};
	for (size_t i = 0; i < s->n_relays; i++) {
		struct steer_relay *r = &s->relays[i];
		memset(&c[i], 0, sizeof(c[i]));
		memcpy(c[i].pubkey, r->pub, 32);
		memcpy(c[i].sid, p->sids[i], 16);
		c[i].loc = (struct select_point){r->info.has_loc, r->info.lat, r->info.lon};
		c[i].load_permille = r->link && r->link->rtt_ms >= 0 ? r->link->load_permille : -1;
		c[i].full = r->link && ((r->link->pong_flags & PONG_F_FULL) ||
		                        !offers(r->link, steer_peer_mode(s, p, i, mode)));
		c[i].reachable = r->link && (r->link->rtt_ms >= 0 || r->link->state == LINK_UP);
		c[i].local_failures = r->local_failures;
	}
	select_rank(a, b, c, s->n_relays, order);
	for (size_t i = 0; i < s->n_relays; i++)
		usable += c[i].usable;
	if (geo)
		*geo = a.known && b.known;
	return usable;
}

size_t steer_rank(struct steer_ctx *s, struct steer_peer *p, uint8_t mode, int64_t now)
{
	struct select_cand c[STEER_MAX_RELAYS];

	if (p->rank.at == now && p->rank.n == s->n_relays && now)
		return p->rank.usable;
	p->rank.usable = steer_rank_cands(s, p, mode, p->rank.order, c, NULL);
	size_t cur =
	    p->pp.state != PATH_DIRECT && p->pp.relay >= 0 ? (size_t)p->pp.relay : s->n_relays;
	size_t pref = select_choose(c, p->rank.order, s->n_relays, cur);
	p->rank.preferred = pref < s->n_relays ? (int)pref : -1;
	p->rank.n = s->n_relays;
	p->rank.at = now;
	return p->rank.usable;
}

/* One relay as the peer's binding on it sees it; consumes the binding's PEER_ACTIVE flag. */
static void view_relay(struct steer_ctx *s, struct steer_peer *p, int ri, uint8_t mode, int64_t now,
                       struct path_relay *out)
{
	struct steer_relay *r = &s->relays[ri];
	struct link *l = r->link;
	struct link_bind *b = steer_bind_of(s, p, ri);
	uint8_t rmode = steer_peer_mode(s, p, (size_t)ri, mode);
	int64_t mono = steer_mono_ms();

	memset(out, 0, sizeof(*out));
	out->name = r->info.endpoint;
	if (!l) {
		addr_parse(&out->addr, r->info.endpoint, PROTO_DEFAULT_PORT);
		return;
	}
	out->addr = l->relay;
	out->up = l->state == LINK_UP;
	out->leaving = l->state != LINK_UP && l->last_error == PROTO_ERR_SHUTDOWN;
	out->gone = l->state == LINK_DOWN && l->last_rx_ms && mono - l->last_rx_ms > 10000;
	out->pings_missed = l->pings_missed;
	out->ready = steer_bind_ready(b, rmode) && p->refused_until[ri] <= now;
	out->sealed = rmode == PROTO_MODE_SEALED;
	out->waiting = b && b->state == PROTO_WAITING;
	out->port = b && b->mode == PROTO_MODE_DIRECT ? b->port : 0;
	if (b && b->peer_active) {
		out->peer_active = true;
		b->peer_active = false;
	}
}

/* The cache's history of a direct peer, asked once per window (a query or two each). */
static void view_history(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                         int64_t now)
{
	if (p->pp.state != PATH_DIRECT || (p->hist_at && now - p->hist_at < DETECT_WINDOW_S))
		return;
	p->hist_at = now;
	if (cache_should_try_relay(s->cache, ifc->name, p->pub_b64, now, &p->hist_rule,
	                           &p->hist_endpoints, &p->hist_failures) < 0)
		p->hist_rule = false;
	if (cache_needed_relay(s->cache, ifc->name, p->pub_b64, now, &p->known_relayed) < 0)
		p->known_relayed = false;
}

/* Everything path_step needs about peer p, this second. */
static void build_view(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                       int64_t now, struct path_relay *relays, struct path_view *v)
{
	uint8_t mode = steer_mode(ifc);

	memset(v, 0, sizeof(*v));
	v->now = now;
	v->sealed = mode == PROTO_MODE_SEALED;
	v->threshold = ifc->cfg.threshold_windows;
	v->sample = p->last;
	v->wg_ep = p->wg_ep;
	v->keepalive = p->keepalive;
	/* Our own local port is no relay's session (a relay on loopback would match its IP). */
	v->wg_relay = p->port && addr_equal(&p->wg_ep, &p->port->local)
	                  ? -1
	                  : session_relay(s, p, mode, &p->wg_ep);
	v->rx_relay = -1;
	if (p->port) {
		v->port = p->port->local;
		v->rx_relay = steer_link_index(s, p->port->rx_link);
		v->rx_moved = sealed_port_rx_moved(p->port, STEER_RX_MOVED);
	}
	for (size_t r = 0; r < s->n_relays; r++)
		view_relay(s, p, (int)r, mode, now, &relays[r]);
	v->relays = relays;
	v->n_relays = s->n_relays;
	v->usable = steer_rank(s, p, mode, now); /* prebind ranked them this second already */
	v->order = p->rank.order;
	v->preferred = p->rank.preferred;
	v->prebind = ifc->cfg.prebind;
	view_history(s, ifc, p, now);
	v->hist_rule = p->hist_rule;
	v->hist_endpoints = p->hist_endpoints;
	v->hist_failures = p->hist_failures;
	v->known_relayed = p->known_relayed;
	v->self_changed =
	    s->self_known && p->try_self.len && !addr_equal_ip(&p->try_self, &s->self_public);
}

static void record_session(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                           int ri, int64_t now)
{
	struct cache_session cs = {.original_keepalive = p->pp.orig_keepalive, .since = now};
	struct steer_relay *r = &s->relays[ri];
	snprintf(cs.iface, sizeof(cs.iface), "%s", ifc->name);
	snprintf(cs.peer, sizeof(cs.peer), "%s", p->pub_b64);
	snprintf(cs.relay_pubkey, sizeof(cs.relay_pubkey), "%s", r->info.pubkey);
	snprintf(cs.relay_endpoint, sizeof(cs.relay_endpoint), "%s", r->info.endpoint);
	addr_format(&p->pp.set_ep, cs.session_endpoint, sizeof(cs.session_endpoint));
	addr_format(&p->pp.direct_ep, cs.original_endpoint, sizeof(cs.original_endpoint));
	snprintf(cs.mode, sizeof(cs.mode), "%s",
	         steer_mode_name(p->pp.sealed ? PROTO_MODE_SEALED : PROTO_MODE_DIRECT));
	cache_session_put(s->cache, &cs);
}

/* WireGuard sends now: keepalive 0 then k (it sends when keepalive goes from 0 to k). */
static void kick(struct steer_iface *ifc, struct steer_peer *p, uint16_t k)
{
	wg_set_peer_keepalive(ifc->name, p->pub, 0);
	wg_set_peer_keepalive(ifc->name, p->pub, k);
	p->keepalive = k;
}

/*
 * Remove the peer and add it back as it is (its endpoint is the new relay's already): with no
 * session left, WireGuard handshakes through the relay at once.
 */
static void rehandshake(struct steer_iface *ifc, struct steer_peer *p)
{
	struct wg_device *dev;
	const struct wg_peer *wp;
	int rc = wg_get_device(ifc->name, &dev);

	if (rc < 0)
		return;
	wp = wg_device_find_peer(dev, p->pub);
	rc = wp ? wg_peer_readd(ifc->name, wp) : -ENOENT;
	if (rc < 0)
		log_warnx(
		    "%s: peer %.8s: re-adding it for a new handshake: %s (WireGuard makes one "
		    "after 15 s of unanswered data)",
		    ifc->name, p->pub_b64, strerror(-rc));
	else
		log_debug("%s: peer %.8s re-added: WireGuard handshakes through the relay now",
		          ifc->name, p->pub_b64);
	wg_free_device(dev);
}

static void apply_one(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                      const struct path_action *a, const char *log, int64_t now)
{
	struct steer_relay *r =
	    a->relay >= 0 && (size_t)a->relay < s->n_relays ? &s->relays[a->relay] : NULL;
	char ep[ADDR_STRLEN];

	switch (a->type) {
	case PATH_A_ENDPOINT:
		if (!addr_equal(&p->wg_ep, &a->ep))
			set_endpoint(ifc, p, &a->ep);
		break;
	case PATH_A_KEEPALIVE:
		wg_set_peer_keepalive(ifc->name, p->pub, a->value);
		p->keepalive = a->value;
		break;
	case PATH_A_KICK:
		kick(ifc, p, a->value);
		break;
	case PATH_A_SESSION_PUT:
		if (r)
			record_session(s, ifc, p, a->relay, now);
		break;
	case PATH_A_SESSION_DEL:
		cache_session_del(s->cache, ifc->name, p->pub_b64);
		break;
	case PATH_A_ROUTE:
		if (p->port)
			sealed_port_route(p->port, r ? r->link : NULL,
			                  r ? steer_bind_of(s, p, a->relay) : NULL);
		break;
	case PATH_A_WINDOW:
		cache_record_window(s->cache, ifc->name, p->pub_b64,
		                    addr_format(&a->ep, ep, sizeof(ep)), a->ok, now);
		break;
	case PATH_A_RELAY_OK:
		if (r) {
			cache_record_relay_success(s->cache, ifc->name, p->pub_b64, r->info.pubkey,
			                           now);
			r->local_failures = 0;
		}
		break;
	case PATH_A_RELAY_FAIL:
		if (r)
			r->local_failures++;
		break;
	case PATH_A_PING:
		if (r && r->link)
			link_ping_now(r->link, steer_mono_ms());
		break;
	case PATH_A_REHANDSHAKE:
		rehandshake(ifc, p);
		break;
	case PATH_A_LOG:
		log_info("%s: peer %.8s %s", ifc->name, p->pub_b64, log);
		break;
	}
}

static void apply(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                  const struct path_out *out, int64_t now)
{
	for (size_t i = 0; i < out->n; i++)
		apply_one(s, ifc, p, &out->a[i], out->log, now);
	if (p->pp.state == PATH_TRYING && p->pp.since == now)
		p->try_self = s->self_public; /* a later change of it is worth a try at once */
}

void steer_judge(struct steer_ctx *s, struct steer_iface *ifc, int64_t now)
{
	struct path_relay relays[STEER_MAX_RELAYS];
	struct path_view v;
	struct path_out out;

	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		if (!p->seen || p->last.t != now)
			continue;
		build_view(s, ifc, p, now, relays, &v);
		path_step(&p->pp, &v, &out);
		apply(s, ifc, p, &out, now);
	}
}

void steer_restore_all(struct steer_ctx *s, struct steer_iface *ifc, const char *why)
{
	struct path_relay relays[STEER_MAX_RELAYS];
	struct path_view v;
	struct path_out out;

	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		/* The far side's frames may have roamed WireGuard onto the port since the read. */
		if (p->port && p->port->to_wg && p->port->local.len)
			p->wg_ep = p->port->local;
		build_view(s, ifc, p, p->last.t, relays, &v);
		path_restore(&p->pp, &v, why, &out);
		apply(s, ifc, p, &out, p->last.t);
		steer_sealed_port_drop(s, p);
	}
	steer_sealed_mtu_restore(s, ifc);
}

void steer_restore(struct steer_ctx *s, struct steer_iface *ifc)
{
	if (ifc->circ_on) {
		steer_circ_stop(s, ifc, true);
		ifc->circ_on = false;
		return;
	}
	steer_restore_all(s, ifc, "helper stopped");
}

void steer_detach(struct steer_ctx *s, struct steer_iface *ifc)
{
	if (ifc->circ_on) {
		steer_circ_stop(s, ifc, false);
		return;
	}
	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		if (p->pp.state == PATH_TRYING && p->pp.relay >= 0) {
			/* A try in flight goes back to the relay: the next run starts from there. */
			if (!addr_equal(&p->wg_ep, &p->pp.set_ep))
				set_endpoint(ifc, p, &p->pp.set_ep);
			p->pp.state = PATH_RELAYED;
		}
		/* Relayed peers stay on their relay; relay_sessions tells the next run. */
		steer_sealed_port_drop(s, p);
	}
}

/* The relay of a relay_sessions row, by key; -1 when it is no longer in the table. */
static int relay_by_key(struct steer_ctx *s, const char *pubkey)
{
	for (size_t r = 0; r < s->n_relays; r++)
		if (strcmp(s->relays[r].info.pubkey, pubkey) == 0)
			return (int)r;
	return -1;
}

/*
 * One relay_sessions row: is WireGuard still where the earlier run left it (the session's
 * endpoint, a relay the far side moved it to, or in sealed mode a loopback port), and is its
 * relay still known? Then adopt it; else forget the row (and, if WireGuard is on a dead
 * sealed port, put the direct endpoint back).
 */
static void adopt_row(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                      const struct cache_session *cs, int64_t now)
{
	struct path_relay relays[STEER_MAX_RELAYS];
	struct path_view v;
	struct path_out out;
	struct addr sess, orig;
	bool sealed_row = strcmp(cs->mode, "sealed") == 0;
	bool sealed_now = steer_mode(ifc) == PROTO_MODE_SEALED;
	int ri = relay_by_key(s, cs->relay_pubkey), roamed = -1;
	bool on_it;

	if (addr_parse(&sess, cs->session_endpoint, 0) < 0 ||
	    addr_parse(&orig, cs->original_endpoint, 0) < 0)
		orig.len = 0;
	/* WireGuard on another relay's address (not the peer's own): the far side moved it. */
	if (orig.len && !addr_equal(&p->wg_ep, &orig))
		roamed = relay_at(s, &p->wg_ep);
	on_it = orig.len && (addr_equal(&sess, &p->wg_ep) || (!sealed_row && roamed >= 0));
	if (on_it && !sealed_row && roamed >= 0 && !addr_equal(&sess, &p->wg_ep))
		ri = roamed; /* WireGuard followed the far side to another relay meanwhile */
	/*
	 * A sealed row on a direct-mode interface is a peer that went sealed on that relay by
	 * itself (steer_mode.h): adopted sealed. A direct row on a sealed interface is not.
	 */
	if (!on_it || ri < 0 || (!sealed_row && sealed_now)) {
		if (on_it) {
			log_info(
			    "%s: peer %.8s was relayed in %s mode by the previous run; back on "
			    "its direct endpoint %s (%s)",
			    ifc->name, p->pub_b64, cs->mode, cs->original_endpoint,
			    ri < 0 ? "its relay is gone" : "the relay mode changed");
			set_endpoint(ifc, p, &orig);
			wg_set_peer_keepalive(ifc->name, p->pub, (uint16_t)cs->original_keepalive);
		}
		cache_session_del(s->cache, cs->iface, cs->peer);
		return;
	}
	if (sealed_row) {
		steer_sealed_port_ensure(ifc, p);
		if (!p->port) {
			set_endpoint(ifc, p, &orig);
			cache_session_del(s->cache, cs->iface, cs->peer);
			return;
		}
		/* Our new link takes the membership over; the binding carries the port. */
		struct link_bind *b =
		    link_bind(s->relays[ri].link, p->sids[ri], PROTO_MODE_SEALED, steer_mono_ms());
		if (b)
			b->user = p->port;
		if (!sealed_now)
			p->bmode[ri].why = STEER_SEAL_KEPT;
	}
	build_view(s, ifc, p, now, relays, &v);
	path_adopt(&p->pp, &v, ri, sealed_row, &p->wg_ep, &orig, (uint16_t)cs->original_keepalive,
	           cs->since, &out);
	apply(s, ifc, p, &out, now);
}

void steer_adopt(struct steer_ctx *s, struct steer_iface *ifc, int64_t now)
{
	struct cache_session *cs;
	size_t n;
	uint8_t pub[32];

	if (ifc->cfg.hops) {
		steer_circ_adopt(s, ifc);
		ifc->circ_on = true;
		return;
	}
	steer_sealed_mtu_recover(s, ifc);
	if (cache_session_list(s->cache, ifc->name, &cs, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct steer_peer *p =
		    key_from_base64(pub, cs[i].peer) == 0 ? find_peer(ifc, pub) : NULL;
		if (p && p->pp.state == PATH_DIRECT)
			adopt_row(s, ifc, p, &cs[i], now);
	}
	free(cs);
}
