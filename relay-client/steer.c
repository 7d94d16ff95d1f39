/* steer.c: per-peer decisions of the helper: relay, fail over, come back, restore. */
#include "steer.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"
#include "geoip.h"
#include "log.h"
#include "proto.h"
#include "select.h"
#include "sid.h"
#include "steer_priv.h"
#include "wg.h"

static const char *path_name(enum steer_path p)
{
	return p == STEER_RELAYED ? "relayed" : p == STEER_TRYING ? "trying-direct" : "direct";
}

const char *steer_mode_name(uint8_t mode)
{
	return mode == PROTO_MODE_SEALED ? "sealed" : "direct";
}

uint8_t steer_mode(const struct steer_iface *ifc)
{
	return strcmp(ifc->cfg.mode, "sealed") == 0 ? PROTO_MODE_SEALED : PROTO_MODE_DIRECT;
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
	p->relay = -1;
	p->backoff_s = STEER_BACKOFF_MIN;
	p->dirty = true;
	return p;
}

void steer_iface_clear(struct steer_iface *ifc)
{
	sodium_memzero(ifc->priv, sizeof(ifc->priv));
	for (size_t i = 0; i < ifc->n_peers; i++)
		sealed_port_free(ifc->peers[i].port);
	free(ifc->peers);
	ifc->peers = NULL;
	ifc->n_peers = ifc->cap_peers = 0;
}

static void restore_all(struct steer_ctx *s, struct steer_iface *ifc, const char *why);

/* Set WireGuard's endpoint for p (update-only) and remember it as what WireGuard has. */
static int set_endpoint(struct steer_iface *ifc, struct steer_peer *p, const struct addr *ep)
{
	int rc = wg_set_peer_endpoint(ifc->name, p->pub, ep);
	if (rc == 0)
		p->wg_ep = *ep;
	return rc;
}

static void set_path(struct steer_peer *p, enum steer_path path, int64_t now, const char *why)
{
	if (p->path != path) {
		p->since = now;
		/* Failed windows on the old path say nothing about the new one. */
		memset(&p->det, 0, sizeof(p->det));
	}
	p->path = path;
	if (why) {
		size_t n = strnlen(why, sizeof(p->why) - 1); /* long reasons are cut */
		memcpy(p->why, why, n);
		p->why[n] = '\0';
	}
	p->dirty = true;
}

static void record_session(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                           int64_t now)
{
	struct cache_session cs = {.original_keepalive = p->orig_keepalive, .since = now};
	struct steer_relay *r = &s->relays[p->relay];
	snprintf(cs.iface, sizeof(cs.iface), "%s", ifc->name);
	snprintf(cs.peer, sizeof(cs.peer), "%s", p->pub_b64);
	snprintf(cs.relay_pubkey, sizeof(cs.relay_pubkey), "%s", r->info.pubkey);
	snprintf(cs.relay_endpoint, sizeof(cs.relay_endpoint), "%s", r->info.endpoint);
	addr_format(&p->set_ep, cs.session_endpoint, sizeof(cs.session_endpoint));
	addr_format(&p->direct_ep, cs.original_endpoint, sizeof(cs.original_endpoint));
	snprintf(cs.mode, sizeof(cs.mode), "%s", steer_mode_name(p->mode));
	cache_session_put(s->cache, &cs);
}

int steer_switch(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p, int ri,
                 int64_t now, const char *why)
{
	struct steer_relay *r = &s->relays[ri];
	struct link_bind *b = steer_bind_of(s, p, ri);
	uint8_t mode = steer_mode(ifc);
	char ep[ADDR_STRLEN], msg[CACHE_WHY];
	struct addr target;

	if (!steer_bind_ready(b, mode))
		return -EAGAIN; /* the other side is not on this relay (yet) */
	if (mode == PROTO_MODE_SEALED) {
		if (!p->port)
			return -EAGAIN; /* no local port (steer_prebind logged why) */
		target = p->port->local;
	} else {
		target = r->link->relay;
		addr_set_port(&target, b->port);
	}
	int rc = addr_equal(&p->wg_ep, &target) ? 0 : set_endpoint(ifc, p, &target);
	if (rc < 0) {
		log_warnx("%s: peer %.8s: set endpoint: %s", ifc->name, p->pub_b64, strerror(-rc));
		return rc;
	}
	if (p->port && mode == PROTO_MODE_SEALED)
		sealed_port_route(p->port, r->link, b);
	/* A NATed relayed path needs traffic to keep the relay's mapping; keep a shorter one. */
	if (p->path == STEER_DIRECT &&
	    (p->orig_keepalive == 0 || p->orig_keepalive > STEER_KEEPALIVE))
		wg_set_peer_keepalive(ifc->name, p->pub, STEER_KEEPALIVE);
	/*
	 * Leaving the direct path, by our own failed windows or by following the far side
	 * (PEER_ACTIVE): the first direct retry is one backoff away. Without it a peer that
	 * followed the far side had no retry scheduled and went back to its dead direct endpoint
	 * on the next window, before its first handshake through the relay.
	 */
	if (p->path == STEER_DIRECT)
		p->next_direct_try = now + p->backoff_s;
	p->set_ep = target;
	p->relay = ri;
	p->mode = mode;
	/*
	 * A new path gets a fresh count: the direct failures that led here must not make the
	 * first relayed window (before the far side has even answered) look like a dead relay.
	 */
	p->det.consecutive_failed = 0;
	snprintf(msg, sizeof(msg), "%s", why);
	if (mode == PROTO_MODE_SEALED)
		log_info("%s: peer %.8s relayed sealed via %s, endpoint %s (%s)", ifc->name,
		         p->pub_b64, r->info.endpoint, addr_format(&target, ep, sizeof(ep)), msg);
	else
		log_info("%s: peer %.8s relayed via %s (%s)", ifc->name, p->pub_b64,
		         addr_format(&target, ep, sizeof(ep)), msg);
	set_path(p, STEER_RELAYED, now, msg);
	record_session(s, ifc, p, now);
	return 0;
}

static void back_to_direct(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                           int64_t now, enum steer_path path, const char *why)
{
	if (p->direct_ep.len)
		set_endpoint(ifc, p, &p->direct_ep);
	if (path == STEER_DIRECT) {
		wg_set_peer_keepalive(ifc->name, p->pub, p->orig_keepalive);
		cache_session_del(s->cache, ifc->name, p->pub_b64);
		p->relay = -1;
		/* Should the far side's frames still come, WireGuard's answers go back their way. */
		if (p->port)
			sealed_port_route(p->port, NULL, NULL);
	}
	p->det.consecutive_failed = 0;
	set_path(p, path, now, why);
}

/* The relay an endpoint points at (one of its session ports), or -1: matched by address. */
static int relay_at(struct steer_ctx *s, const struct addr *ep)
{
	for (size_t r = 0; r < s->n_relays; r++) {
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
 * The relay a WireGuard endpoint of peer p goes through, or -1 (a direct address): the peer's
 * sealed local port (the relay in use, else the one its frames came through), or a relay's
 * address (a direct-mode session port).
 */
static int relay_of(struct steer_ctx *s, const struct steer_peer *p, const struct addr *ep)
{
	if (p->port && addr_equal(ep, &p->port->local)) {
		int ri = p->relay >= 0 ? p->relay : steer_link_index(s, p->port->rx_link);
		return ri >= 0 ? ri : 0;
	}
	return relay_at(s, ep);
}

int steer_read(struct steer_ctx *s, struct steer_iface *ifc, int64_t now)
{
	struct wg_device *dev;
	char why[CACHE_WHY];
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
		bool fresh = !p;
		if (!p && !(p = add_peer(ifc, wp->public_key)))
			break;
		p->seen = true;
		if (p->path == STEER_TRYING) {
			/*
			 * A packet through a relay roams WireGuard onto it. rx growing between two
			 * reads that both found WireGuard off the relays means at least one packet
			 * came from a direct address.
			 */
			bool off = wp->endpoint.len && relay_of(s, p, &wp->endpoint) < 0;
			if (off && p->try_off_relay && wp->rx_bytes > p->last.rx_bytes)
				p->try_direct_rx = true;
			p->try_off_relay = off;
		}
		p->last.t = now;
		p->last.tx_bytes = wp->tx_bytes;
		p->last.rx_bytes = wp->rx_bytes;
		p->last.last_handshake = wp->last_handshake.tv_sec;
		p->wg_ep = wp->endpoint;
		if (fresh) {
			p->win_start = p->last;
			p->since = now;
			p->orig_keepalive = wp->persistent_keepalive_interval;
		}
		if (p->path == STEER_DIRECT && p->port &&
		    addr_equal(&wp->endpoint, &p->port->local)) {
			/*
			 * Sealed mode has no PEER_ACTIVE: the far side's frames reached WireGuard
			 * from our local port and it roamed there. Follow onto the relay they came
			 * through; WireGuard's answers already go that way (sealed_port_readable).
			 */
			int ri = steer_link_index(s, p->port->rx_link);
			snprintf(why, sizeof(why), "the far side's packets came through relay %s",
			         ri >= 0 ? s->relays[ri].info.endpoint : "?");
			if (ri < 0 || steer_switch(s, ifc, p, ri, now, why) < 0) {
				struct link_bind *b = steer_bind_of(s, p, ri);
				log_debug(
				    "%s: peer %.8s: WireGuard roamed onto the sealed port but "
				    "relay %d cannot carry it (binding %s, state %u, handle "
				    "%08x, error %u)",
				    ifc->name, p->pub_b64, ri, b ? "present" : "absent",
				    b ? b->state : 0, b ? b->handle : 0, b ? b->error : 0);
				if (p->direct_ep.len)
					set_endpoint(ifc, p, &p->direct_ep);
			}
		} else if (p->path == STEER_DIRECT) {
			p->direct_ep = wp->endpoint;
			p->orig_keepalive = wp->persistent_keepalive_interval;
		} else if (p->path == STEER_TRYING && p->direct_ep.len &&
		           relay_of(s, p, &wp->endpoint) >= 0) {
			/*
			 * The far side's packets still come through the relay and WireGuard roamed
			 * back onto it: point it at the direct endpoint again, or nothing would be
			 * sent there during the try (both sides send, so each pulls the other back).
			 * wg_ep keeps what this read found: the judge asks whether WireGuard was off
			 * the relays.
			 */
			wg_set_peer_endpoint(ifc->name, p->pub, &p->direct_ep);
		} else if (p->path == STEER_RELAYED && wp->endpoint.len &&
		           !addr_equal(&wp->endpoint, &p->set_ep)) {
			bool at_relay = relay_at(s, &wp->endpoint) >= 0;
			/*
			 * wg syncconf / wg-quick reload put the configured endpoint back. (In sealed
			 * mode a relay's own address is not ours to follow: it is left over.)
			 */
			if (addr_equal(&wp->endpoint, &p->direct_ep) ||
			    (at_relay && p->mode == PROTO_MODE_SEALED)) {
				log_info("%s: peer %.8s endpoint was reset, re-applying the relay",
				         ifc->name, p->pub_b64);
				set_endpoint(ifc, p, &p->set_ep);
			} else if (at_relay) {
				/*
				 * WireGuard roamed to a session port on another of our relays: the far
				 * side is there, so that relay is the one in use now.
				 */
				p->relay = relay_at(s, &wp->endpoint);
				p->set_ep = wp->endpoint;
				p->det.consecutive_failed = 0;
				log_info("%s: peer %.8s followed WireGuard to relay %s", ifc->name,
				         p->pub_b64, s->relays[p->relay].info.endpoint);
				set_path(p, STEER_RELAYED, now, "the far side moved to this relay");
				record_session(s, ifc, p, now);
			} else {
				/* WireGuard roamed: the far side reached us from a new address. */
				p->direct_ep = wp->endpoint;
				log_info("%s: peer %.8s roamed to direct %s", ifc->name, p->pub_b64,
				         addr_format(&wp->endpoint, (char[ADDR_STRLEN]){0},
				                     ADDR_STRLEN));
				back_to_direct(s, ifc, p, now, STEER_DIRECT,
				               "peer roamed to a direct address");
			}
		}
	}
	if (!key_is_zero(ifc->priv))
		for (size_t i = 0; i < ifc->n_peers; i++) {
			struct steer_peer *p = &ifc->peers[i];
			p->sid_ok = true;
			for (size_t r = 0; r < s->n_relays; r++)
				if (sid_derive(p->sids[r], ifc->priv, p->pub, s->relays[r].pub) < 0)
					p->sid_ok = false;
		}
	wg_free_device(dev);
	return 0;
}

/* A relay that says which modes it offers and leaves out ours cannot carry the peer. */
static bool offers(const struct link *l, uint8_t mode)
{
	uint16_t f = l->pong_flags & (PONG_F_SEALED_OK | PONG_F_DIRECT_OK);
	if (l->rtt_ms < 0 || f == 0)
		return true; /* not known yet: BIND tells (ERROR mode-not-allowed) */
	return f & (mode == PROTO_MODE_SEALED ? PONG_F_SEALED_OK : PONG_F_DIRECT_OK);
}

/*
 * Ranked relay indexes for a peer, the candidates in c (scores and their parts); returns how
 * many are usable. *geo: both ends located.
 */
static size_t rank_cands(struct steer_ctx *s, struct steer_peer *p, uint8_t mode, size_t *order,
                         struct select_cand *c, bool *geo)
{
	struct select_point a = {0}, b = {0};
	struct geoip_loc l;
	size_t usable = 0;

	if (s->self_known && geoip_lookup(s->geoip, &s->self_public, &l) == 0)
		a = (struct select_point){true, l.lat, l.lon};
	if (p->direct_ep.len && geoip_lookup(s->geoip, &p->direct_ep, &l) == 0)
		b = (struct select_point){true, l.lat, l.lon};
	for (size_t i = 0; i < s->n_relays; i++) {
		struct steer_relay *r = &s->relays[i];
		memset(&c[i], 0, sizeof(c[i]));
		memcpy(c[i].pubkey, r->pub, 32);
		memcpy(c[i].sid, p->sids[i], 16);
		c[i].loc = (struct select_point){r->info.has_loc, r->info.lat, r->info.lon};
		c[i].load_permille = r->link && r->link->rtt_ms >= 0 ? r->link->load_permille : -1;
		c[i].full =
		    r->link && ((r->link->pong_flags & PONG_F_FULL) || !offers(r->link, mode));
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

/* Ranked relay indexes for a peer; returns how many are usable. */
static size_t rank(struct steer_ctx *s, struct steer_peer *p, uint8_t mode, size_t *order)
{
	struct select_cand c[STEER_MAX_RELAYS];
	return rank_cands(s, p, mode, order, c, NULL);
}

/*
 * A relay in keys or token mode refused our BIND (ERROR auth-denied / auth-required): name the
 * relay, our public key (as `watch` published it and `wgrelay show-key` prints it) and the fix,
 * once per relay per STEER_REFUSED_S.
 */
static void warn_auth_refused(struct steer_ctx *s, size_t r, uint16_t code, int64_t now)
{
	static int64_t warned_until[STEER_MAX_RELAYS];
	struct cache_helper h;

	if (r >= STEER_MAX_RELAYS || warned_until[r] > now)
		return;
	warned_until[r] = now + STEER_REFUSED_S;
	if (cache_helper_get(s->cache, &h) < 0 || !h.pubkey[0])
		snprintf(h.pubkey, sizeof(h.pubkey), "(see `wgrelay show-key`)");
	if (code == PROTO_ERR_AUTH_REQUIRED)
		log_warnx("relay %s (%.8s...) refused this helper (%s): it wants a token in BIND; "
		          "give it one with `wgrelay add-bootstrap-relay ENDPOINT KEY "
		          "--token-command CMD` or `--token-secret SECRET --token-name NAME`",
		          s->relays[r].info.endpoint, s->relays[r].info.pubkey, h.pubkey);
	else
		log_warnx("relay %s (%.8s...) refused this helper (auth-denied): add %s to the "
		          "relay's AllowedKeys, or check this relay's token credential; not using "
		          "this relay for %d s",
		          s->relays[r].info.endpoint, s->relays[r].info.pubkey, h.pubkey,
		          STEER_REFUSED_S);
}

/*
 * A relay answered our BIND with ERROR mode-mismatch (the far side holds the sid in the other
 * mode) or mode-not-allowed, or refused this helper (auth-denied, auth-required). Say so once,
 * forget the binding and leave that relay out for this peer for STEER_REFUSED_S, so the peer
 * binds on the next relay instead of asking again and again.
 */
static void check_refused(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                          int64_t now)
{
	uint8_t mode = steer_mode(ifc);

	for (size_t r = 0; r < s->n_relays; r++) {
		struct link_bind *b = steer_bind_of(s, p, (int)r);
		if (b &&
		    (b->error == PROTO_ERR_AUTH_DENIED || b->error == PROTO_ERR_AUTH_REQUIRED)) {
			warn_auth_refused(s, r, b->error, now);
			p->refused_until[r] = now + STEER_REFUSED_S;
			link_unbind(s->relays[r].link, p->sids[r], now * 1000);
			continue;
		}
		if (!b ||
		    (b->error != PROTO_ERR_MODE_MISMATCH && b->error != PROTO_ERR_MODE_NOT_ALLOWED))
			continue;
		if (b->error == PROTO_ERR_MODE_MISMATCH)
			log_warnx("%s: peer %.8s: relay %s refused the session in %s mode: the far "
			          "side has bound it in the other mode (both ends need the same "
			          "configure-relay --mode); not using this relay for the peer for "
			          "%d s",
			          ifc->name, p->pub_b64, s->relays[r].info.endpoint,
			          steer_mode_name(mode), STEER_REFUSED_S);
		else
			log_warnx(
			    "%s: peer %.8s: relay %s does not offer %s mode; not using it for "
			    "the peer for %d s",
			    ifc->name, p->pub_b64, s->relays[r].info.endpoint,
			    steer_mode_name(mode), STEER_REFUSED_S);
		p->refused_until[r] = now + STEER_REFUSED_S;
		link_unbind(s->relays[r].link, p->sids[r], now * 1000);
	}
}

void steer_prebind(struct steer_ctx *s, struct steer_iface *ifc, int64_t now)
{
	size_t order[STEER_MAX_RELAYS];
	char why[CACHE_WHY], ep[ADDR_STRLEN];
	uint8_t mode = steer_mode(ifc);

	if (ifc->mode && ifc->mode != mode) {
		log_info("%s: mode changed from %s to %s: peers go back to direct and are bound "
		         "again in %s mode",
		         ifc->name, steer_mode_name(ifc->mode), steer_mode_name(mode),
		         steer_mode_name(mode));
		restore_all(s, ifc, "relay mode changed");
	}
	ifc->mode = mode;
	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		if (!p->seen || !p->sid_ok)
			continue;
		check_refused(s, ifc, p, now);
		if (mode == PROTO_MODE_SEALED)
			steer_sealed_port_ensure(ifc, p);
		size_t usable = rank(s, p, mode, order), bound = 0;
		for (size_t j = 0; j < s->n_relays; j++) {
			int ri = (int)order[j];
			struct link *l = s->relays[ri].link;
			bool refused = p->refused_until[ri] > now;
			bool top = !refused && j < usable && bound < ifc->cfg.prebind;
			if (!l)
				continue;
			bound += top;
			/* Keep the relay in use bound even when it dropped out of the top K. */
			if (top || (!refused && p->path != STEER_DIRECT && ri == p->relay)) {
				struct link_bind *b = link_bind(l, p->sids[ri], mode, now * 1000);
				if (b)
					b->user = mode == PROTO_MODE_SEALED ? p->port : NULL;
			} else if (link_find(l, p->sids[ri])) {
				link_unbind(l, p->sids[ri], now * 1000);
			}
		}
		/* The far side started using a relay: follow it, unless our direct path works. */
		for (size_t r = 0; r < s->n_relays; r++) {
			struct link_bind *b =
			    s->relays[r].link ? link_find(s->relays[r].link, p->sids[r]) : NULL;
			if (!b || !b->peer_active)
				continue;
			b->peer_active = false;
			if (p->path != STEER_DIRECT || p->det.last == DETECT_HEALTHY)
				continue;
			snprintf(why, sizeof(why), "peer became active on relay %s (direct %s: %s)",
			         s->relays[r].info.endpoint,
			         p->direct_ep.len ? addr_format(&p->direct_ep, ep, sizeof(ep))
			                          : "none",
			         detect_verdict_name(p->det.last));
			steer_switch(s, ifc, p, (int)r, now, why);
		}
	}
}

int steer_pick(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p, int skip)
{
	size_t order[STEER_MAX_RELAYS];
	uint8_t mode = steer_mode(ifc);
	rank(s, p, mode, order);
	for (size_t j = 0; j < s->n_relays; j++) {
		int ri = (int)order[j];
		if (ri != skip && steer_bind_ready(steer_bind_of(s, p, ri), mode))
			return ri;
	}
	return -1;
}

static void judge_peer(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                       int64_t now)
{
	char ep[ADDR_STRLEN], why[CACHE_WHY];
	enum detect_verdict v = detect_window(&p->win_start, &p->last);
	detect_feed(&p->det, v, &p->win_start, &p->last);
	p->win_start = p->last;
	addr_format(&p->direct_ep, ep, sizeof(ep));

	switch (p->path) {
	case STEER_DIRECT: {
		struct detect_rules rules = {.fast_windows = ifc->cfg.threshold_windows};
		struct detect_history h = {0};
		if (p->direct_ep.len && (v == DETECT_HEALTHY || v == DETECT_FAILED))
			cache_record_window(s->cache, ifc->name, p->pub_b64, ep,
			                    v == DETECT_HEALTHY, now);
		cache_should_try_relay(s->cache, ifc->name, p->pub_b64, now, &h.cache_rule,
		                       &h.n_endpoints, &h.recent_failures);
		if (!detect_should_try_relay(&p->det, &rules, &h, ep, now, why, sizeof(why))) {
			if (v == DETECT_HEALTHY && strcmp(p->why, "direct handshakes succeed") != 0)
				set_path(p, STEER_DIRECT, now, "direct handshakes succeed");
			return;
		}
		int ri = steer_pick(s, ifc, p, -1);
		if (ri < 0) {
			char w2[CACHE_WHY + 64];
			snprintf(w2, sizeof(w2), "%s; no relay paired for this peer yet", why);
			if (strcmp(p->why, w2) != 0)
				set_path(p, STEER_DIRECT, now, w2);
			return;
		}
		steer_switch(s, ifc, p, ri, now, why);
		return;
	}
	case STEER_RELAYED: {
		struct steer_relay *cur = &s->relays[p->relay];
		struct link_bind *b = cur->link ? link_find(cur->link, p->sids[p->relay]) : NULL;

		/*
		 * The relay in use is gone (shutdown notice, silence) or lost our session. Silence
		 * or a lost session only once a window through it is no longer healthy: its
		 * sessions forward on their own, and a control link that lost a few PINGs under
		 * loss says less than traffic that came back through the relay.
		 */
		bool leaving = cur->link && cur->link->state != LINK_UP &&
		               cur->link->last_error == PROTO_ERR_SHUTDOWN;

		/*
		 * The session was re-formed on this relay (after its circuit limit, or the relay
		 * lost it): same relay, new port. Follow it before judging the relay.
		 */
		if (p->mode == PROTO_MODE_DIRECT && b && b->state == PROTO_PAIRED && b->port &&
		    addr_port(&p->set_ep) != b->port) {
			snprintf(why, sizeof(why), "session on %s re-formed on port %u",
			         cur->info.endpoint, b->port);
			steer_switch(s, ifc, p, p->relay, now, why);
			return;
		}
		if (leaving || ((!cur->link || cur->link->state != LINK_UP || !b ||
		                 b->state != PROTO_PAIRED) &&
		                v != DETECT_HEALTHY)) {
			int ri = steer_pick(s, ifc, p, p->relay);

			if (ri >= 0) {
				snprintf(why, sizeof(why), "relay %s is %s", cur->info.endpoint,
				         cur->link && cur->link->state == LINK_UP
				             ? "no longer paired"
				             : "down");
				cur->local_failures++;
				steer_switch(s, ifc, p, ri, now, why);
				return;
			}
		}
	}
		if (v == DETECT_HEALTHY) {
			cache_record_relay_success(s->cache, ifc->name, p->pub_b64,
			                           s->relays[p->relay].info.pubkey, now);
			s->relays[p->relay].local_failures = 0;
		}
		/* One window more than for the direct path: the far side may still be switching. */
		if (p->det.consecutive_failed >=
		    (ifc->cfg.threshold_windows ? ifc->cfg.threshold_windows : 2) + 1) {
			s->relays[p->relay].local_failures++;
			int ri = steer_pick(s, ifc, p, p->relay);
			snprintf(why, sizeof(why), "%u relayed handshake windows failed on %s",
			         p->det.consecutive_failed, s->relays[p->relay].info.endpoint);
			if (ri >= 0) {
				p->det.consecutive_failed = 0;
				steer_switch(s, ifc, p, ri, now, why);
			}
			return;
		}
		if (now >= p->next_direct_try && p->direct_ep.len) {
			snprintf(why, sizeof(why), "trying direct %s for one handshake window", ep);
			log_info("%s: peer %.8s %s", ifc->name, p->pub_b64, why);
			back_to_direct(s, ifc, p, now, STEER_TRYING, why);
			p->trying_until = now + DETECT_WINDOW_S + 1;
			p->try_off_relay = p->try_direct_rx = false;
		}
		return;
	case STEER_TRYING: {
		/*
		 * While the far side is still relayed, its packets reach us through the relay and
		 * WireGuard roams our endpoint back onto it: a healthy window then says nothing
		 * about the direct path. It works when a packet came in directly (steer_read) and
		 * WireGuard is still off the relays. The far side's NAT may have given it a new
		 * port: WireGuard's endpoint is the one.
		 */
		bool off_relay = p->wg_ep.len && relay_of(s, p, &p->wg_ep) < 0;
		if (p->try_direct_rx && off_relay) {
			p->direct_ep = p->wg_ep;
			addr_format(&p->direct_ep, ep, sizeof(ep));
			snprintf(why, sizeof(why), "direct path to %s works again after relaying",
			         ep);
			p->backoff_s = STEER_BACKOFF_MIN;
			log_info("%s: peer %.8s %s", ifc->name, p->pub_b64, why);
			back_to_direct(s, ifc, p, now, STEER_DIRECT, why);
			return;
		}
		if (now < p->trying_until)
			return;
		p->backoff_s =
		    p->backoff_s * 2 > STEER_BACKOFF_MAX ? STEER_BACKOFF_MAX : p->backoff_s * 2;
		p->next_direct_try = now + p->backoff_s;
		snprintf(why, sizeof(why), "direct %s still failing%s; next try in %lld s", ep,
		         off_relay ? "" : " (the far side's packets still come through the relay)",
		         (long long)p->backoff_s);
		log_info("%s: peer %.8s back on relay %s: %s", ifc->name, p->pub_b64,
		         s->relays[p->relay].info.endpoint, why);
		set_endpoint(ifc, p, &p->set_ep);
		set_path(p, STEER_RELAYED, now, why);
		return;
	}
	}
}

void steer_judge(struct steer_ctx *s, struct steer_iface *ifc, int64_t now)
{
	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		if (p->seen && p->last.t - p->win_start.t >= DETECT_WINDOW_S)
			judge_peer(s, ifc, p, now);
	}
}

static void restore_all(struct steer_ctx *s, struct steer_iface *ifc, const char *why)
{
	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		char ep[ADDR_STRLEN];
		if (p->path != STEER_DIRECT) {
			log_info("%s: peer %.8s back to %s", ifc->name, p->pub_b64,
			         addr_format(&p->direct_ep, ep, sizeof(ep)));
			back_to_direct(s, ifc, p, p->last.t, STEER_DIRECT, why);
		} else if (p->port && p->direct_ep.len &&
		           (p->port->to_wg || addr_equal(&p->wg_ep, &p->port->local))) {
			/*
			 * The far side's frames may have roamed WireGuard onto the port since the
			 * last read, before we followed: the port is about to close.
			 */
			log_info("%s: peer %.8s back to %s", ifc->name, p->pub_b64,
			         addr_format(&p->direct_ep, ep, sizeof(ep)));
			set_endpoint(ifc, p, &p->direct_ep);
		}
		steer_sealed_port_drop(s, p);
	}
	steer_sealed_mtu_restore(s, ifc);
}

void steer_restore(struct steer_ctx *s, struct steer_iface *ifc)
{
	restore_all(s, ifc, "helper stopped");
}

void steer_detach(struct steer_ctx *s, struct steer_iface *ifc)
{
	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		if (p->path == STEER_TRYING && p->relay >= 0) {
			/* A try in flight goes back to the relay: the next run starts from there. */
			set_endpoint(ifc, p, &p->set_ep);
			set_path(p, STEER_RELAYED, p->last.t, "helper restarting");
		}
		/* Relayed peers stay on their relay; relay_sessions tells the next run. */
		steer_sealed_port_drop(s, p);
	}
}

void steer_adopt(struct steer_ctx *s, struct steer_iface *ifc, int64_t now)
{
	struct cache_session *cs;
	size_t n;
	uint8_t pub[32];

	steer_sealed_mtu_recover(s, ifc);
	if (cache_session_list(s->cache, ifc->name, &cs, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct steer_peer *p =
		    key_from_base64(pub, cs[i].peer) == 0 ? find_peer(ifc, pub) : NULL;
		struct addr sess;
		int roamed = -1;
		if (!p || addr_parse(&sess, cs[i].session_endpoint, 0) < 0) {
			if (p)
				cache_session_del(s->cache, cs[i].iface, cs[i].peer);
			continue;
		}
		/*
		 * A sealed session's local port died with the run that made it (another could
		 * not take it over reliably), and a session of the other mode than the one
		 * configured now cannot be kept: put the peer back on its direct endpoint; the
		 * detector relays it again within a few windows if it still needs a relay.
		 */
		bool sealed_row = strcmp(cs[i].mode, "sealed") == 0;
		if (sealed_row || steer_mode(ifc) != PROTO_MODE_DIRECT) {
			struct addr orig;
			bool on_it = addr_equal(&sess, &p->direct_ep) ||
			             (!sealed_row && relay_at(s, &p->direct_ep) >= 0);
			if (on_it && addr_parse(&orig, cs[i].original_endpoint, 0) == 0) {
				p->direct_ep = orig;
				p->orig_keepalive = (uint16_t)cs[i].original_keepalive;
				log_info(
				    "%s: peer %.8s was relayed in %s mode by the previous run; "
				    "back on its direct endpoint %s",
				    ifc->name, p->pub_b64, sealed_row ? "sealed" : "direct",
				    cs[i].original_endpoint);
				back_to_direct(s, ifc, p, now, STEER_DIRECT,
				               sealed_row
				                   ? "the previous run's sealed port is gone"
				                   : "relay mode changed since the previous run");
			}
			cache_session_del(s->cache, cs[i].iface, cs[i].peer);
			continue;
		}
		/* WireGuard may have roamed to the far side's relay since the record was made. */
		if (!addr_equal(&sess, &p->direct_ep) &&
		    (roamed = relay_at(s, &p->direct_ep)) < 0) {
			cache_session_del(s->cache, cs[i].iface, cs[i].peer);
			continue;
		}
		if (roamed >= 0)
			sess = p->direct_ep;
		/* The device still points at the relay: we crashed while relaying this peer. */
		p->set_ep = sess;
		addr_parse(&p->direct_ep, cs[i].original_endpoint, 0);
		p->orig_keepalive = (uint16_t)cs[i].original_keepalive;
		p->mode = PROTO_MODE_DIRECT;
		p->relay = roamed;
		for (size_t r = 0; r < s->n_relays && roamed < 0; r++)
			if (strcmp(s->relays[r].info.pubkey, cs[i].relay_pubkey) == 0)
				p->relay = (int)r;
		if (p->relay < 0) {
			back_to_direct(s, ifc, p, now, STEER_DIRECT,
			               "relay of a crashed run is gone");
			continue;
		}
		p->next_direct_try = now + p->backoff_s;
		log_info("%s: peer %.8s adopted on relay %s after a restart", ifc->name, p->pub_b64,
		         cs[i].relay_endpoint);
		set_path(p, STEER_RELAYED, now, "adopted from the previous run");
		p->since = cs[i].since;
	}
	free(cs);
}

/* The relay a peer uses (relayed) or would use first; -1 none. */
static int chosen_relay(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                        const size_t *order, const struct select_cand *c)
{
	if (p->path != STEER_DIRECT && p->relay >= 0)
		return p->relay;
	for (size_t j = 0; j < s->n_relays; j++)
		if (steer_bind_ready(steer_bind_of(s, p, (int)order[j]), steer_mode(ifc)))
			return (int)order[j];
	return s->n_relays && c[order[0]].usable ? (int)order[0] : -1;
}

static void plan_relay(struct cache_plan *pl, const struct steer_relay *r,
                       const struct select_cand *c)
{
	struct cache_plan_relay *o = &pl->relays[pl->n_relays++];
	snprintf(o->pubkey, sizeof(o->pubkey), "%s", r->info.pubkey);
	snprintf(o->endpoint, sizeof(o->endpoint), "%s", r->info.endpoint);
	o->distance_km = c->km >= 0 ? (int32_t)(c->km + 0.5) : -1;
	o->rtt_ms = r->link ? r->link->rtt_ms : -1;
	o->load_permille = c->load_permille;
	o->score = c->score;
	o->usable = c->usable;
}

/* What `wgrelay status` shows as the peer's next step and relay choice. */
static void publish_plan(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                         int64_t now)
{
	struct select_cand c[STEER_MAX_RELAYS];
	size_t order[STEER_MAX_RELAYS];
	struct cache_plan pl = {.updated = now};
	char ep[ADDR_STRLEN];
	unsigned thr = ifc->cfg.threshold_windows;

	snprintf(pl.iface, sizeof(pl.iface), "%s", ifc->name);
	snprintf(pl.peer, sizeof(pl.peer), "%s", p->pub_b64);
	rank_cands(s, p, steer_mode(ifc), order, c, &pl.geo_known);
	int ch = chosen_relay(s, ifc, p, order, c);
	if (ch >= 0)
		plan_relay(&pl, &s->relays[ch], &c[ch]);
	for (size_t j = 0; j < s->n_relays && pl.n_relays < CACHE_PLAN_RELAYS; j++)
		if ((int)order[j] != ch)
			plan_relay(&pl, &s->relays[order[j]], &c[order[j]]);
	addr_format(&p->direct_ep, ep, sizeof(ep));
	switch (p->path) {
	case STEER_RELAYED:
		if (p->direct_ep.len) {
			snprintf(pl.next, sizeof(pl.next), "try direct %s for one window", ep);
			pl.next_at = p->next_direct_try;
		} else {
			snprintf(pl.next, sizeof(pl.next),
			         "stay relayed (no direct endpoint known)");
		}
		break;
	case STEER_TRYING:
		snprintf(pl.next, sizeof(pl.next),
		         "back to relay %s unless a packet comes in directly",
		         p->relay >= 0 ? s->relays[p->relay].info.endpoint : "?");
		pl.next_at = p->trying_until;
		break;
	case STEER_DIRECT:
		if (thr == 0)
			snprintf(pl.next, sizeof(pl.next),
			         "relay when the 30 min history says the direct path fails");
		else if (p->det.consecutive_failed)
			snprintf(pl.next, sizeof(pl.next),
			         "relay after %u more failed handshake window(s) (%u of %u failed)",
			         thr > p->det.consecutive_failed ? thr - p->det.consecutive_failed
			                                         : 1,
			         p->det.consecutive_failed, thr);
		else
			snprintf(pl.next, sizeof(pl.next),
			         "relay after %u failed handshake windows in a row", thr);
		if (ch < 0)
			snprintf(pl.next + strlen(pl.next), sizeof(pl.next) - strlen(pl.next),
			         "; no relay %s", s->n_relays ? "usable yet" : "known");
		break;
	}
	cache_plan_set(s->cache, &pl);
}

void steer_publish(struct steer_ctx *s, struct steer_iface *ifc, int64_t now, bool all)
{
	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		if (!p->seen || (!p->dirty && !all))
			continue;
		struct cache_peer cp = {.since = p->since, .updated = now};
		snprintf(cp.iface, sizeof(cp.iface), "%s", ifc->name);
		snprintf(cp.peer, sizeof(cp.peer), "%s", p->pub_b64);
		snprintf(cp.path, sizeof(cp.path), "%s", path_name(p->path));
		if (p->path != STEER_DIRECT)
			snprintf(cp.mode, sizeof(cp.mode), "%s", steer_mode_name(p->mode));
		if (p->path != STEER_DIRECT && p->relay >= 0) {
			snprintf(cp.relay_pubkey, sizeof(cp.relay_pubkey), "%s",
			         s->relays[p->relay].info.pubkey);
			snprintf(cp.relay_endpoint, sizeof(cp.relay_endpoint), "%s",
			         s->relays[p->relay].info.endpoint);
		}
		if (p->direct_ep.len)
			addr_format(&p->direct_ep, cp.endpoint, sizeof(cp.endpoint));
		snprintf(cp.why, sizeof(cp.why), "%s", p->why);
		if (cache_peer_set(s->cache, &cp) == 0)
			p->dirty = false;
		publish_plan(s, ifc, p, now);
	}
}
