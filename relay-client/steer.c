/* steer.c: per-peer decisions of the helper: relay, fail over, come back, restore. */
#include "steer.h"

#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "geoip.h"
#include "log.h"
#include "proto.h"
#include "select.h"
#include "sid.h"
#include "wg.h"

static const char *path_name(enum steer_path p)
{
	return p == STEER_RELAYED ? "relayed" : p == STEER_TRYING ? "trying-direct" : "direct";
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
	free(ifc->peers);
	ifc->peers = NULL;
	ifc->n_peers = ifc->cap_peers = 0;
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
	cache_session_put(s->cache, &cs);
}

/* Point the peer at relay ri's session port; 0 or -errno. */
static int switch_to_relay(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                           int ri, int64_t now, const char *why)
{
	struct steer_relay *r = &s->relays[ri];
	struct link_bind *b = r->link ? link_find(r->link, p->sids[ri]) : NULL;
	char ep[ADDR_STRLEN], msg[CACHE_WHY];

	if (!b || b->state != PROTO_PAIRED || !b->port)
		return -EAGAIN; /* the other side is not on this relay (yet) */
	struct addr target = r->link->relay;
	addr_set_port(&target, b->port);
	int rc = wg_set_peer_endpoint(ifc->name, p->pub, &target);
	if (rc < 0) {
		log_warnx("%s: peer %.8s: set endpoint: %s", ifc->name, p->pub_b64, strerror(-rc));
		return rc;
	}
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
	/*
	 * A new path gets a fresh count: the direct failures that led here must not make the
	 * first relayed window (before the far side has even answered) look like a dead relay.
	 */
	p->det.consecutive_failed = 0;
	snprintf(msg, sizeof(msg), "%s", why);
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
		wg_set_peer_endpoint(ifc->name, p->pub, &p->direct_ep);
	if (path == STEER_DIRECT) {
		wg_set_peer_keepalive(ifc->name, p->pub, p->orig_keepalive);
		cache_session_del(s->cache, ifc->name, p->pub_b64);
		p->relay = -1;
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

int steer_read(struct steer_ctx *s, struct steer_iface *ifc, int64_t now)
{
	struct wg_device *dev;
	int rc = wg_get_device(ifc->name, &dev);
	(void)s;
	if (rc < 0) {
		ifc->present = false;
		return rc;
	}
	ifc->present = true;
	memcpy(ifc->priv, dev->private_key, 32);
	ifc->fwmark = (dev->flags & WG_DEVICE_HAS_FWMARK) ? dev->fwmark : 0;
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
			bool off = wp->endpoint.len && relay_at(s, &wp->endpoint) < 0;
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
		if (p->path == STEER_DIRECT) {
			p->direct_ep = wp->endpoint;
			p->orig_keepalive = wp->persistent_keepalive_interval;
		} else if (p->path == STEER_TRYING && p->direct_ep.len &&
		           relay_at(s, &wp->endpoint) >= 0) {
			/*
			 * The far side's packets still come through the relay and WireGuard roamed
			 * back onto it: point it at the direct endpoint again, or nothing would be
			 * sent there during the try (both sides send, so each pulls the other back).
			 */
			wg_set_peer_endpoint(ifc->name, p->pub, &p->direct_ep);
		} else if (p->path == STEER_RELAYED && wp->endpoint.len &&
		           !addr_equal(&wp->endpoint, &p->set_ep)) {
			if (addr_equal(&wp->endpoint, &p->direct_ep)) {
				/* wg syncconf / wg-quick reload put the configured endpoint back. */
				log_info("%s: peer %.8s endpoint was reset, re-applying the relay",
				         ifc->name, p->pub_b64);
				wg_set_peer_endpoint(ifc->name, p->pub, &p->set_ep);
			} else if (relay_at(s, &wp->endpoint) >= 0) {
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

/* Ranked relay indexes for a peer; returns how many are usable. */
static size_t rank(struct steer_ctx *s, struct steer_peer *p, size_t *order)
{
	struct select_cand c[STEER_MAX_RELAYS];
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
		c[i].full = r->link && (r->link->pong_flags & 0x0001);
		c[i].reachable = r->link && (r->link->rtt_ms >= 0 || r->link->state == LINK_UP);
		c[i].local_failures = r->local_failures;
	}
	select_rank(a, b, c, s->n_relays, order);
	for (size_t i = 0; i < s->n_relays; i++)
		usable += c[i].usable;
	return usable;
}

void steer_prebind(struct steer_ctx *s, struct steer_iface *ifc, int64_t now)
{
	size_t order[STEER_MAX_RELAYS];
	char why[CACHE_WHY], ep[ADDR_STRLEN];

	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		if (!p->seen || !p->sid_ok)
			continue;
		size_t usable = rank(s, p, order);
		size_t k = ifc->cfg.prebind < usable ? ifc->cfg.prebind : usable;
		for (size_t j = 0; j < s->n_relays; j++) {
			struct link *l = s->relays[order[j]].link;
			if (!l)
				continue;
			/* Keep the relay in use bound even when it dropped out of the top K. */
			if (j < k || (p->path != STEER_DIRECT && (int)order[j] == p->relay))
				link_bind(l, p->sids[order[j]]);
			else if (link_find(l, p->sids[order[j]]))
				link_unbind(l, p->sids[order[j]], now * 1000);
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
			switch_to_relay(s, ifc, p, (int)r, now, why);
		}
	}
}

/* First paired relay in rank order other than skip; -1 none. */
static int pick_relay(struct steer_ctx *s, struct steer_peer *p, int skip)
{
	size_t order[STEER_MAX_RELAYS];
	rank(s, p, order);
	for (size_t j = 0; j < s->n_relays; j++) {
		int ri = (int)order[j];
		struct link *l = s->relays[ri].link;
		struct link_bind *b = l ? link_find(l, p->sids[ri]) : NULL;
		if (ri != skip && b && b->state == PROTO_PAIRED && b->port)
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
		int ri = pick_relay(s, p, -1);
		if (ri < 0) {
			char w2[CACHE_WHY + 64];
			snprintf(w2, sizeof(w2), "%s; no relay paired for this peer yet", why);
			if (strcmp(p->why, w2) != 0)
				set_path(p, STEER_DIRECT, now, w2);
			return;
		}
		switch_to_relay(s, ifc, p, ri, now, why);
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
		if (b && b->state == PROTO_PAIRED && b->port && addr_port(&p->set_ep) != b->port) {
			snprintf(why, sizeof(why), "session on %s re-formed on port %u",
			         cur->info.endpoint, b->port);
			switch_to_relay(s, ifc, p, p->relay, now, why);
			return;
		}
		if (leaving || ((!cur->link || cur->link->state != LINK_UP || !b ||
		                 b->state != PROTO_PAIRED) &&
		                v != DETECT_HEALTHY)) {
			int ri = pick_relay(s, p, p->relay);

			if (ri >= 0) {
				snprintf(why, sizeof(why), "relay %s is %s", cur->info.endpoint,
				         cur->link && cur->link->state == LINK_UP
				             ? "no longer paired"
				             : "down");
				cur->local_failures++;
				switch_to_relay(s, ifc, p, ri, now, why);
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
			int ri = pick_relay(s, p, p->relay);
			snprintf(why, sizeof(why), "%u relayed handshake windows failed on %s",
			         p->det.consecutive_failed, s->relays[p->relay].info.endpoint);
			if (ri >= 0) {
				p->det.consecutive_failed = 0;
				switch_to_relay(s, ifc, p, ri, now, why);
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
		bool off_relay = p->wg_ep.len && relay_at(s, &p->wg_ep) < 0;
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
		wg_set_peer_endpoint(ifc->name, p->pub, &p->set_ep);
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

void steer_restore(struct steer_ctx *s, struct steer_iface *ifc)
{
	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		if (p->path == STEER_DIRECT)
			continue;
		char ep[ADDR_STRLEN];
		log_info("%s: peer %.8s back to %s", ifc->name, p->pub_b64,
		         addr_format(&p->direct_ep, ep, sizeof(ep)));
		back_to_direct(s, ifc, p, p->last.t, STEER_DIRECT, "helper stopped");
	}
}

void steer_adopt(struct steer_ctx *s, struct steer_iface *ifc, int64_t now)
{
	struct cache_session *cs;
	size_t n;
	uint8_t pub[32];

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
	}
}
