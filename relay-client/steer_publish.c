/* steer_publish.c: what `wgrelay status` reads about each peer: its path, why, and the plan. */
#include <stdio.h>
#include <string.h>

#include "proto.h"
#include "select.h"
#include "steer.h"
#include "steer_priv.h"

/* The relay a peer uses (relayed) or would use first; -1 none. */
static int chosen_relay(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                        const size_t *order, const struct select_cand *c)
{
	if (p->pp.state != PATH_DIRECT && p->pp.relay >= 0)
		return p->pp.relay;
	for (size_t j = 0; j < s->n_relays; j++)
		if (steer_bind_ready(steer_bind_of(s, p, (int)order[j]),
		                     steer_peer_mode(s, p, order[j], steer_mode(ifc))))
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
	steer_rank_cands(s, p, steer_mode(ifc), order, c, &pl.geo_known);
	int ch = chosen_relay(s, ifc, p, order, c);
	if (ch >= 0)
		plan_relay(&pl, &s->relays[ch], &c[ch]);
	for (size_t j = 0; j < s->n_relays && pl.n_relays < CACHE_PLAN_RELAYS; j++)
		if ((int)order[j] != ch)
			plan_relay(&pl, &s->relays[order[j]], &c[order[j]]);
	addr_format(&p->pp.direct_ep, ep, sizeof(ep));
	switch (p->pp.state) {
	case PATH_RELAYED:
		if (p->pp.direct_ep.len) {
			snprintf(pl.next, sizeof(pl.next), "try direct %s for %d s", ep,
			         PATH_TRY_S);
			pl.next_at = p->pp.next_try;
		} else {
			snprintf(pl.next, sizeof(pl.next),
			         "stay relayed (no direct endpoint known)");
		}
		break;
	case PATH_TRYING:
		snprintf(pl.next, sizeof(pl.next),
		         "back to relay %s unless a packet comes in directly",
		         p->pp.relay >= 0 ? s->relays[p->pp.relay].info.endpoint : "?");
		pl.next_at = p->pp.try_until;
		break;
	case PATH_DIRECT:
		if (thr == 0)
			snprintf(pl.next, sizeof(pl.next),
			         "relay when the 30 min history says the direct path fails");
		else if (p->pp.det.attempts)
			snprintf(pl.next, sizeof(pl.next),
			         "relay after %u unanswered handshake attempt(s) (%u so far)", thr,
			         p->pp.det.attempts);
		else
			snprintf(
			    pl.next, sizeof(pl.next),
			    "relay after %u unanswered handshake attempt(s), or data unanswered "
			    "for %d s",
			    thr, DETECT_SILENT_S);
		if (ch < 0)
			snprintf(pl.next + strlen(pl.next), sizeof(pl.next) - strlen(pl.next),
			         "; no relay %s", s->n_relays ? "usable yet" : "known");
		break;
	}
	cache_plan_set(s->cache, &pl);
}

void steer_publish(struct steer_ctx *s, struct steer_iface *ifc, int64_t now, bool all)
{
	if (ifc->circ_on) {
		steer_circ_publish(s, ifc, now, all);
		return;
	}
	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		if (!p->seen || (!p->pp.dirty && !all))
			continue;
		struct cache_peer cp = {.since = p->pp.since, .updated = now};
		snprintf(cp.iface, sizeof(cp.iface), "%s", ifc->name);
		snprintf(cp.peer, sizeof(cp.peer), "%s", p->pub_b64);
		snprintf(cp.path, sizeof(cp.path), "%s", path_state_name(p->pp.state));
		if (p->pp.state != PATH_DIRECT)
			snprintf(
			    cp.mode, sizeof(cp.mode), "%s",
			    steer_mode_name(p->pp.sealed ? PROTO_MODE_SEALED : PROTO_MODE_DIRECT));
		if (p->pp.state != PATH_DIRECT && p->pp.relay >= 0) {
			snprintf(cp.relay_pubkey, sizeof(cp.relay_pubkey), "%s",
			         s->relays[p->pp.relay].info.pubkey);
			snprintf(cp.relay_endpoint, sizeof(cp.relay_endpoint), "%s",
			         s->relays[p->pp.relay].info.endpoint);
		}
		if (p->pp.direct_ep.len)
			addr_format(&p->pp.direct_ep, cp.endpoint, sizeof(cp.endpoint));
		snprintf(cp.why, sizeof(cp.why), "%s", p->pp.why);
		if (cache_peer_set(s->cache, &cp) == 0)
			p->pp.dirty = false;
		publish_plan(s, ifc, p, now);
	}
}
