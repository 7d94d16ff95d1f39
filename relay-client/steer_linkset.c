/*
 * steer_linkset.c: the inputs of linkset_choose from the helper's state: every current relay
 * the registry holds (located by GeoIP as the per-second ranking locates the linked ones),
 * every watched peer with its sid on each of them, the relays in use. The choice itself is
 * linkset.c's, pure.
 */
#include <errno.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "geoip.h"
#include "key.h"
#include "linkset.h"
#include "registry.h"
#include "sid.h"
#include "steer.h"

bool steer_relay_busy(const struct steer_ctx *s, struct steer_iface *const *ifcs, size_t n_ifcs,
                      size_t ri)
{
	const struct link *l = ri < s->n_relays ? s->relays[ri].link : NULL;

	if (!l)
		return false;
	for (size_t b = 0; b < LINK_MAX_BINDS; b++)
		if (l->binds[b].in_use)
			return true;
	for (size_t i = 0; i < n_ifcs; i++)
		for (size_t j = 0; j < ifcs[i]->n_peers; j++) {
			const struct steer_peer *p = &ifcs[i]->peers[j];
			if (p->pp.state != PATH_DIRECT && p->pp.relay == (int)ri)
				return true;
			/* A sealed port holds the link's address: the link must outlive it. */
			if (p->port && (p->port->tx_link == l || p->port->rx_link == l))
				return true;
		}
	return steer_circ_uses(s, ifcs, n_ifcs, ri);
}

/*
 * Where the peer is: its own endpoint as path.c knows it; before the first step, WireGuard's
 * endpoint unless that is a relay's (a session adopted from the last run) or has no location.
 */
static struct select_point peer_point(const struct steer_ctx *s, const struct steer_peer *p,
                                      const struct registry_entry *e, size_t n)
{
	const struct addr *ep = p->pp.direct_ep.len ? &p->pp.direct_ep : &p->wg_ep;
	struct geoip_loc l;

	if (!p->pp.direct_ep.len)
		for (size_t i = 0; i < n; i++)
			if (e[i].addr.len && addr_equal_ip(&e[i].addr, ep))
				return (struct select_point){0};
	if (!ep->len || geoip_lookup(s->geoip, ep, &l) < 0)
		return (struct select_point){0};
	return (struct select_point){true, l.lat, l.lon};
}

static bool peer_counts(const struct steer_iface *ifc, const struct steer_peer *p)
{
	return p->seen && !key_is_zero(ifc->priv);
}

uint64_t steer_linkset_digest(const struct steer_ctx *s, struct steer_iface *const *ifcs,
                              size_t n_ifcs, const struct registry_entry *e, size_t n)
{
	crypto_generichash_state st;
	uint8_t out[8], flag;
	char ip[ADDR_STRLEN] = "";
	uint64_t v = 0;

	crypto_generichash_init(&st, NULL, 0, sizeof(out));
	for (size_t i = 0; i < n; i++) {
		flag =
		    (uint8_t)(cache_source_discovered(e[i].info.source) | (e[i].addr.len ? 2 : 0));
		crypto_generichash_update(&st, (const uint8_t *)e[i].info.pubkey,
		                          strlen(e[i].info.pubkey) + 1);
		crypto_generichash_update(&st, (const uint8_t *)e[i].info.endpoint,
		                          strlen(e[i].info.endpoint) + 1);
		crypto_generichash_update(&st, &flag, 1);
	}
	if (s->self_known)
		addr_format_ip(&s->self_public, ip, sizeof(ip));
	crypto_generichash_update(&st, (const uint8_t *)ip, strlen(ip) + 1);
	for (unsigned g = 0; g < s->guards.n; g++)
		crypto_generichash_update(&st, s->guards.g[g].identity, 32);
	for (size_t i = 0; i < n_ifcs; i++)
		for (size_t j = 0; j < ifcs[i]->n_peers; j++) {
			const struct steer_peer *p = &ifcs[i]->peers[j];
			struct select_point at = peer_point(s, p, e, n);
			uint32_t k = ifcs[i]->cfg.prebind;
			if (!peer_counts(ifcs[i], p))
				continue;
			crypto_generichash_update(&st, p->pub, 32);
			crypto_generichash_update(&st, (const uint8_t *)&at, sizeof(at));
			crypto_generichash_update(&st, (const uint8_t *)&k, sizeof(k));
		}
	crypto_generichash_final(&st, out, sizeof(out));
	for (size_t i = 0; i < sizeof(out); i++)
		v = v << 8 | out[i];
	return v;
}

/* Is the relay of key b64 named by a relay_sessions row of a watched interface? */
static bool in_sessions(const struct cache_session *cs, size_t n, const char *b64)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(cs[i].relay_pubkey, b64) == 0)
			return true;
	return false;
}

/* The relay_sessions rows of the watched interfaces: a restarted run adopts their relays. */
static struct cache_session *sessions(struct steer_ctx *s, struct steer_iface *const *ifcs,
                                      size_t n_ifcs, size_t *n)
{
	struct cache_session *all = NULL;

	*n = 0;
	for (size_t i = 0; i < n_ifcs; i++) {
		struct cache_session *cs, *t;
		size_t k;
		if (cache_session_list(s->cache, ifcs[i]->name, &cs, &k) < 0)
			continue;
		t = realloc(all, (*n + k + 1) * sizeof(*t));
		if (t) {
			all = t;
			if (k) /* cs is NULL when the interface has no rows */
				memcpy(all + *n, cs, k * sizeof(*cs));
			*n += k;
		}
		free(cs);
	}
	return all;
}

/* linkset_choose's relays from the entries, with the table's view of each. */
static void fill_relays(struct steer_ctx *s, struct steer_iface *const *ifcs, size_t n_ifcs,
                        struct registry_entry *e, size_t n, const bool *idle,
                        struct linkset_relay *r)
{
	size_t n_cs;
	struct cache_session *cs = sessions(s, ifcs, n_ifcs, &n_cs);

	for (size_t i = 0; i < n; i++) {
		memset(&r[i], 0, sizeof(r[i]));
		if (key_from_base64(r[i].pub, e[i].info.pubkey) < 0)
			continue;
		registry_locate(&e[i], s->geoip);
		r[i].loc = (struct select_point){e[i].info.has_loc, e[i].info.lat, e[i].info.lon};
		r[i].bootstrap = !cache_source_discovered(e[i].info.source);
		r[i].in_use = in_sessions(cs, n_cs, e[i].info.pubkey) ||
		              steer_circ_guard(s, e[i].info.pubkey);
		for (size_t t = 0; t < s->n_relays; t++) {
			if (strcmp(s->relays[t].info.pubkey, e[i].info.pubkey) != 0)
				continue;
			/* The table's location: the one the per-second ranking uses. */
			r[i].loc =
			    (struct select_point){s->relays[t].info.has_loc, s->relays[t].info.lat,
			                          s->relays[t].info.lon};
			r[i].linked = !idle[t];
			r[i].in_use |= steer_relay_busy(s, ifcs, n_ifcs, t);
		}
	}
	free(cs);
}

int steer_linkset(struct steer_ctx *s, struct steer_iface *const *ifcs, size_t n_ifcs,
                  struct registry_entry *e, size_t n, const bool *idle, uint8_t *why,
                  size_t *n_chosen)
{
	struct linkset_in in = {.n_relays = n, .cap = STEER_MAX_RELAYS, .fill = true};
	struct linkset_relay *r = calloc(n ? n : 1, sizeof(*r));
	struct linkset_peer *pl = NULL;
	uint8_t(*sids)[16] = NULL;
	size_t np = 0, k = 0;
	struct geoip_loc l;
	int rc = -ENOMEM;

	for (size_t i = 0; i < n_ifcs; i++)
		for (size_t j = 0; j < ifcs[i]->n_peers; j++)
			np += peer_counts(ifcs[i], &ifcs[i]->peers[j]);
	pl = calloc(np ? np : 1, sizeof(*pl));
	sids = calloc(np && n ? np * n : 1, sizeof(*sids));
	if (!r || !pl || !sids)
		goto out;
	fill_relays(s, ifcs, n_ifcs, e, n, idle, r);
	if (s->self_known && geoip_lookup(s->geoip, &s->self_public, &l) == 0)
		in.self = (struct select_point){true, l.lat, l.lon};
	for (size_t i = 0; i < n_ifcs; i++)
		for (size_t j = 0; j < ifcs[i]->n_peers; j++) {
			const struct steer_peer *p = &ifcs[i]->peers[j];
			uint8_t shared[32];
			if (!peer_counts(ifcs[i], p) ||
			    sid_shared(shared, ifcs[i]->priv, p->pub) < 0)
				continue;
			for (size_t t = 0; t < n; t++)
				sid_from_shared(sids[k * n + t], shared, r[t].pub);
			sodium_memzero(shared, sizeof(shared));
			pl[k].sids = (const uint8_t(*)[16]) & sids[k * n];
			pl[k].loc = peer_point(s, p, e, n);
			pl[k].k = ifcs[i]->cfg.prebind;
			k++;
		}
	in.relays = r;
	in.peers = pl;
	in.n_peers = k;
	rc = linkset_choose(&in, why, n_chosen);
	/*
	 * Peers carried over circuits alone: links to the guards (and what is in use) only, so that
	 * no other relay sees this host's address. Until guards are chosen, the choice as usual
	 * (its descriptors are where the guards come from).
	 */
	bool guards_only = steer_circ_only(ifcs, n_ifcs) && s->guards.n;
	for (size_t t = 0; rc == 0 && t < n; t++)
		if (why[t] && (key_is_zero(r[t].pub) || /* a key that did not decode: no link */
		               (guards_only && !r[t].in_use))) {
			why[t] = LINKSET_OUT;
			(*n_chosen)--;
		}
out:
	free(r);
	free(pl);
	free(sids);
	return rc;
}
