/*
 * steer_circ.c: an interface configured with `--hops N` (cache_iface.hops > 0): every peer is
 * carried over onion circuits (PROTOCOL.md §13, §13.6), never direct and never on a relay
 * session, so that no relay learns both peers' addresses and the peers do not learn each
 * other's. WireGuard's endpoint for the peer is its local port (sealed.h, diverted here); what
 * WireGuard sends there goes into the peer's circuits (circpeer.h: the pool, the meeting at the
 * rendezvous, rotation, switching when a circuit dies), what comes out of them goes back to
 * WireGuard from there.
 *
 * The choices made here, each second and per peer:
 *   - the rendezvous: among the relays of the table whose descriptor has the circuits bit, the
 *     one with the greatest BLAKE2b-128(the pair's shared secret, its identity) (rendezvous
 *     hashing: both peers compute the same from their own views, with no location needed, and
 *     it says nothing about where either peer is);
 *   - the cookie (sid_cookie, of the current hour) and the rotation phase (from the same hash);
 *   - a path when circpeer asks for one: pathsel over the relays of the table with a
 *     descriptor, the entry a guard (persisted in the cache) with its link up.
 * The interface MTU (--mtu auto) is lowered to what a circuit of max(hops, 3) hops carries.
 * Fail closed: when the helper stops, WireGuard stays on the (closed) local port, so nothing
 * goes direct; the original endpoint is recorded (relay_sessions, mode "circuit") and put back
 * only when circuits are turned off for the interface or it is disabled.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "buf.h"
#include "cell.h"
#include "circmsg.h"
#include "circpeer.h"
#include "descriptor.h"
#include "geoip.h"
#include "log.h"
#include "onion.h"
#include "pathsel.h"
#include "proto.h"
#include "registry.h"
#include "sid.h"
#include "steer.h"
#include "steer_priv.h"
#include "wg.h"

#define CIRC_PS_REFRESH_S 60 /* a table relay's descriptor read again after this long */
#define CIRC_MTU_HOPS     3  /* PROTOCOL.md §13.6: both sides size for 3 hops at least */
/*
 * The circuit in use silent this long (heartbeats come every second, and 3 s of silence ends
 * it): its middle relays are suspected for CIRC_SUSPECT_FOR_MS and the links of every circuit
 * of the peer are PINGed at once, so that by the switch the prebuilt circuit is known to go
 * through live relays, or is replaced by one that does.
 */
#define CIRC_SUSPECT_MS     2000
#define CIRC_SUSPECT_FOR_MS 60000
#define CIRC_SUSPECTS       8
#define CIRC_AVOID          (ONION_MAX_HOPS + CIRC_SUSPECTS)
/*
 * A build that stops at the rendezvous itself while no circuit is in use: the pair moves to
 * the next relay of its ranking (both sides see the same failures), among this many; back to
 * the first at each hour's new cookie.
 */
#define CIRC_RDV_CHOICES 3

/* A peer on circuits: on the heap, as the peers' array moves when it grows. */
struct steer_circ_peer {
	struct circpeer cp;
	struct sealed_port *port; /* the peer's p->port */
	uint8_t shared[32];       /* the pair's secret (sid_shared) */
	uint8_t rdv[32];          /* the rendezvous chosen last (identity), zero none */
	int rdv_ri;               /* its index in s->circ_view, -1 none */
	unsigned rdv_rank;        /* which of the ranking (0: the best), CIRC_RDV_CHOICES */
	/* rdv_ri and its hash as computed for this view and rank (ranking n relays each tick costs
	 * n BLAKE2b per peer) */
	uint64_t rdv_gen;
	unsigned rdv_gen_rank;
	uint8_t rdv_h[SID_LEN];
	uint64_t rdv_epoch;   /* the cookie epoch rdv_rank was last reset in */
	char text[CACHE_WHY]; /* what status shows, as last published */
	bool no_rdv_logged, no_path_logged;
	/* relays suspected dead (middle hops of a circuit that went silent), until when */
	uint8_t suspect[CIRC_SUSPECTS][32];
	uint64_t suspect_until[CIRC_SUSPECTS];
	/* the counters as last logged (log_events) */
	uint64_t seen_spliced, seen_dead, seen_destroyed, seen_failed, seen_rotations, seen_lost,
	    seen_failed_hops;
};

/*
 * A circuit's link id is its struct link. watch.c calls steer_circ_link_gone before it frees or
 * stops a link, which forgets every circuit on it, so an id held by a circuit always names a
 * live link: no lookup per cell.
 */
static uint64_t link_id(const struct link *l)
{
	return (uint64_t)(uintptr_t)l;
}

static struct link *link_ptr(uint64_t id)
{
	return (struct link *)(uintptr_t)id;
}

/* The Noise key (base64) of the relay of identity id in the view, "?" when not there. */
static const char *key_of(const struct steer_ctx *s, const uint8_t id[32])
{
	for (size_t r = 0; r < s->n_circ_view; r++)
		if (!memcmp(s->circ_view[r].ps.identity, id, 32))
			return s->circ_view[r].pubkey;
	return "?";
}

/* A link fit to carry a new circuit: up, and its last PING answered. */
static bool link_live(const struct link *l)
{
	return l && l->state == LINK_UP && !l->pings_missed;
}

static bool suspected(const struct steer_circ_peer *cp, const uint8_t id[32], uint64_t now)
{
	for (unsigned i = 0; i < CIRC_SUSPECTS; i++)
		if (cp->suspect_until[i] > now && !memcmp(cp->suspect[i], id, 32))
			return true;
	return false;
}

static void suspect(struct steer_circ_peer *cp, const uint8_t id[32], uint64_t now)
{
	unsigned k = 0;

	for (unsigned i = 0; i < CIRC_SUSPECTS; i++) {
		if (!memcmp(cp->suspect[i], id, 32)) {
			k = i;
			break;
		}
		if (cp->suspect_until[i] < cp->suspect_until[k])
			k = i;
	}
	memcpy(cp->suspect[k], id, 32);
	cp->suspect_until[k] = now + CIRC_SUSPECT_FOR_MS;
}

/*
 * Before the peer's timers run: the circuit in use silent for CIRC_SUSPECT_MS makes its middle
 * relays suspects and PINGs the links of all its circuits; a circuit not in use whose entry
 * link is down or left a PING unanswered, or that goes through a suspect, is given up now, so
 * that the switch (at 3 s of silence) takes a circuit of live relays.
 */
static void check_paths(struct steer_ctx *s, struct steer_circ_peer *cp, uint64_t now)
{
	const struct circpeer_path *a = circpeer_active_path(&cp->cp);

	if (a && now - cp->cp.last_rx_ms >= CIRC_SUSPECT_MS) {
		for (unsigned h = 1; h + 1 < a->n; h++)
			if (!suspected(cp, a->hops[h].identity, now)) {
				suspect(cp, a->hops[h].identity, now);
				log_debug(
				    "circuits: relay %.8s suspected (the circuit in use through it "
				    "is silent)",
				    key_of(s, a->hops[h].identity));
			}
		for (unsigned i = 0; i < CIRCPEER_SLOTS; i++) {
			struct link *l = cp->cp.slot[i].role != CIRCPEER_FREE
			                     ? link_ptr(cp->cp.slot[i].path.link)
			                     : NULL;
			if (l && l->state == LINK_UP)
				link_ping_now(l, (int64_t)now);
		}
	}
	for (unsigned i = 0; i < CIRCPEER_SLOTS; i++) {
		const struct circpeer_slot *sl = &cp->cp.slot[i];
		if (sl->role != CIRCPEER_BUILDING && sl->role != CIRCPEER_POOL &&
		    sl->role != CIRCPEER_MEETING)
			continue;
		if (!link_live(link_ptr(sl->path.link))) {
			circpeer_drop_via(&cp->cp, sl->path.hops[0].identity);
			continue;
		}
		for (unsigned h = 1; h + 1 < sl->path.n; h++)
			if (suspected(cp, sl->path.hops[h].identity, now)) {
				circpeer_drop_via(&cp->cp, sl->path.hops[h].identity);
				break;
			}
	}
}

static int io_send_cell(void *ctx, uint64_t link, const struct cell *c)
{
	(void)ctx;
	return link_send_cell(link_ptr(link), c, steer_mono_ms());
}

static void io_to_wg(void *ctx, const uint8_t *dgram, size_t len)
{
	struct steer_circ_peer *cp = ctx;

	sealed_port_queue(cp->port, dgram, len);
}

static int from_wg(void *arg, const uint8_t *dgram, size_t len, int64_t now_ms)
{
	struct steer_circ_peer *cp = arg;

	return circpeer_send(&cp->cp, dgram, len, (uint64_t)now_ms);
}

void steer_circ_view(struct steer_ctx *s, const struct registry_entry *e, size_t n, int64_t now)
{
	struct steer_circ_relay *v = calloc(n ? n : 1, sizeof(*v));
	uint8_t buf[DESC_MAX_LEN];
	size_t k = 0;

	if (!v)
		return; /* the last view stays */
	for (size_t i = 0; i < n; i++) {
		struct descriptor d;
		uint8_t pub[32];
		int len;
		struct geoip_loc g;

		if (!e[i].info.has_desc || key_from_base64(pub, e[i].info.pubkey) < 0 ||
		    (len = cache_desc_get(s->cache, e[i].info.pubkey, buf, sizeof(buf))) <= 0 ||
		    desc_decode(buf, (size_t)len, &d) < 0 ||
		    desc_check_time(&d, (uint64_t)now) < 0 || memcmp(d.noise, pub, 32) != 0 ||
		    !(d.modes & DESC_MODE_CIRCUITS))
			continue;
		pathsel_from_desc(&v[k].ps, &d);
		if (!v[k].ps.loc.known && s->geoip && e[i].addr.len &&
		    geoip_lookup(s->geoip, &e[i].addr, &g) == 0)
			v[k].ps.loc = (struct select_point){true, g.lat, g.lon};
		snprintf(v[k].pubkey, sizeof(v[k].pubkey), "%s", e[i].info.pubkey);
		k++;
	}
	free(s->circ_view);
	s->circ_view = v;
	s->n_circ_view = k;
	s->circ_view_gen++; /* the peers rank it again */
}

bool steer_circ_guard(const struct steer_ctx *s, const char *b64)
{
	for (size_t i = 0; i < s->n_circ_view; i++)
		if (!strcmp(s->circ_view[i].pubkey, b64))
			for (unsigned g = 0; g < s->guards.n; g++)
				if (!memcmp(s->guards.g[g].identity, s->circ_view[i].ps.identity,
				            32))
					return true;
	return false;
}

bool steer_circ_only(struct steer_iface *const *ifcs, size_t n_ifcs)
{
	for (size_t i = 0; i < n_ifcs; i++)
		if (!ifcs[i]->cfg.hops)
			return false;
	return n_ifcs > 0;
}

/* The table's relay of key b64, -1 none. */
static int table_index(const struct steer_ctx *s, const char *b64)
{
	for (size_t r = 0; r < s->n_relays; r++)
		if (!strcmp(s->relays[r].info.pubkey, b64))
			return (int)r;
	return -1;
}

/*
 * The pair's rendezvous: the relay of the view with the rank-th greatest keyed hash (rank 0 the
 * greatest; the last one when fewer), its hash in best_h; -1 none.
 */
static int rendezvous(struct steer_ctx *s, struct steer_circ_peer *cp, unsigned rank,
                      uint8_t best_h[SID_LEN])
{
	uint8_t above[SID_LEN];
	int best = -1;

	for (unsigned k = 0; k <= rank; k++) {
		int b = -1;
		uint8_t bh[SID_LEN];
		for (size_t r = 0; r < s->n_circ_view; r++) {
			uint8_t h[SID_LEN];
			sid_from_shared(h, cp->shared, s->circ_view[r].ps.identity);
			if (k && memcmp(h, above, SID_LEN) >= 0)
				continue; /* ranked already */
			if (b < 0 || memcmp(h, bh, SID_LEN) > 0) {
				b = (int)r;
				memcpy(bh, h, SID_LEN);
			}
		}
		if (b < 0)
			break;
		best = b;
		memcpy(best_h, bh, SID_LEN);
		memcpy(above, bh, SID_LEN);
	}
	return best;
}

static uint32_t rnd(void *ctx, uint32_t bound)
{
	(void)ctx;
	return randombytes_uniform(bound);
}

/* The interface's requirements (cache_iface: hops, strategy, excluded countries). */
static void iface_req(const struct steer_ctx *s, const struct steer_iface *ifc,
                      struct pathsel_req *req)
{
	int st = pathsel_strategy_parse(ifc->cfg.strategy);
	size_t n = 0;
	char bad[8];

	memset(req, 0, sizeof(*req));
	req->hops = ifc->cfg.hops;
	req->strategy = st < 0 ? PATHSEL_BALANCED : (enum pathsel_strategy)st;
	/* configure-relay stored it checked; a list that does not parse excludes nothing */
	if (cache_countries_parse(ifc->cfg.exclude_country, req->exclude, PATHSEL_MAX_COUNTRIES, &n,
	                          bad, sizeof(bad)) == 0)
		req->n_exclude = (unsigned)n;
	if (s->self_known && s->geoip) {
		struct geoip_loc g;
		if (geoip_lookup(s->geoip, &s->self_public, &g) == 0) {
			req->self.known = true;
			req->self.lat = g.lat;
			req->self.lon = g.lon;
		}
	}
}

/* Guards from the cache at the first build, kept current, stored again when they change. */
static void guards_refresh(struct steer_ctx *s, const struct pathsel_relay *rs, size_t n,
                           const struct pathsel_req *req, int64_t now)
{
	uint8_t ids[PATHSEL_GUARDS][32];
	uint64_t until[PATHSEL_GUARDS];
	size_t k = 0;

	if (!s->guards_loaded) {
		memset(&s->guards, 0, sizeof(s->guards));
		if (cache_guards_get(s->cache, ids, until, PATHSEL_GUARDS, &k) == 0)
			for (size_t i = 0; i < k; i++) {
				memcpy(s->guards.g[i].identity, ids[i], 32);
				s->guards.g[i].until = until[i];
			}
		s->guards.n = (unsigned)k;
		s->guards_loaded = true;
	}
	if (pathsel_guards_refresh(&s->guards, rs, n, req, (uint64_t)now, rnd, NULL) > 0) {
		for (unsigned i = 0; i < s->guards.n; i++) {
			memcpy(ids[i], s->guards.g[i].identity, 32);
			until[i] = s->guards.g[i].until;
		}
		if (cache_guards_put(s->cache, (const uint8_t(*)[32])ids, until, s->guards.n) < 0)
			log_warnx("circuits: the guards could not be stored");
		s->guards_changed = true; /* the link set takes them in (watch.c) */
	}
}

/*
 * A path to the rendezvous for cp: pathsel over the view, the entry one of the guards whose
 * link is up (strict: a client's address is seen by its guards alone). The relays of the
 * circuit in use (but its rendezvous) are avoided when another path exists, so that one
 * relay's death does not take the prebuilt circuit with it. 0 and *out, or -errno (-ENOENT:
 * no path now, e.g. no guard linked yet).
 */
static int choose_path(struct steer_ctx *s, struct steer_iface *ifc, struct steer_circ_peer *cp,
                       int64_t now, struct circpeer_path *out)
{
	size_t n = s->n_circ_view;
	struct pathsel_relay *rs = calloc(n ? n : 1, sizeof(*rs));
	const struct circpeer_path *act = circpeer_active_path(&cp->cp);
	uint8_t avoid[CIRC_AVOID][32];
	unsigned n_avoid = 0, n_act;
	uint64_t mono = (uint64_t)steer_mono_ms();
	struct pathsel_guards up = {0};
	struct pathsel_req req;
	struct pathsel_path path;
	int rc = -ENOENT, ti = -1;

	if (!rs)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++)
		rs[i] = s->circ_view[i].ps;
	iface_req(s, ifc, &req);
	req.strict_guards = true;
	guards_refresh(s, rs, n, &req, now);
	/* pass 0: neither the relays of the circuit in use nor suspects; 1: no suspects; 2: any */
	for (unsigned h = 0; act && h + 1 < act->n; h++)
		memcpy(avoid[n_avoid++], act->hops[h].identity, 32);
	n_act = n_avoid;
	for (unsigned i = 0; i < CIRC_SUSPECTS && n_avoid < CIRC_AVOID; i++)
		if (cp->suspect_until[i] > mono)
			memcpy(avoid[n_avoid++], cp->suspect[i], 32);
	for (int pass = 0, prev = -1; pass < 3 && rc == -ENOENT; pass++) {
		const uint8_t(*ex)[32] = pass == 0 ? avoid : avoid + n_act;
		int n_ex = pass == 0 ? (int)n_avoid : pass == 1 ? (int)(n_avoid - n_act) : 0;
		if (n_ex == prev)
			continue; /* the same exclusions as the pass before (each drops some) */
		prev = n_ex;
		up.n = 0;
		for (unsigned g = 0; g < s->guards.n; g++)
			for (size_t i = 0; i < n; i++) {
				int t;
				if (memcmp(s->guards.g[g].identity, rs[i].identity, 32) ||
				    (t = table_index(s, s->circ_view[i].pubkey)) < 0 ||
				    !link_live(s->relays[t].link))
					continue;
				up.g[up.n++] = s->guards.g[g];
			}
		req.exclude_ids = n_ex ? &ex[0][0] : NULL;
		req.n_exclude_ids = (size_t)n_ex;
		if ((size_t)cp->rdv_ri < n)
			rc = pathsel_choose(rs, n, (size_t)cp->rdv_ri, &req, &up, rnd, NULL, &path);
	}
	if (rc == 0 && (ti = table_index(s, s->circ_view[path.hop[0]].pubkey)) < 0)
		rc = -ENOENT;
	if (rc == 0) {
		memset(out, 0, sizeof(*out));
		out->n = path.n;
		for (unsigned h = 0; h < path.n; h++) {
			const struct pathsel_relay *pr = &rs[path.hop[h]];
			memcpy(out->hops[h].identity, pr->identity, 32);
			memcpy(out->hops[h].noise_pub, pr->noise, 32);
			snprintf(out->country[h], sizeof(out->country[h]), "%s", pr->country);
		}
		out->link = link_id(s->relays[ti].link);
	}
	free(rs);
	return rc;
}

/* Lower the MTU (--mtu auto) to what a circuit carries, as sealed mode does for its frames. */
static void circ_mtu_auto(struct steer_ctx *s, struct steer_iface *ifc)
{
	unsigned cur, want, hops = ifc->cfg.hops > CIRC_MTU_HOPS ? ifc->cfg.hops : CIRC_MTU_HOPS;
	size_t room = circmsg_data_max(onion_room(CELL_BODY_1500, hops));
	int rc;

	if (ifc->cfg.mtu >= 0 || ifc->mtu_saved || wg_get_mtu(ifc->name, &cur) < 0)
		return;
	ifc->mtu_saved = ifc->mtu_set = cur;
	want = (unsigned)room - STEER_WG_OVERHEAD;
	if (want >= cur)
		return;
	if ((rc = wg_set_mtu(ifc->name, want)) < 0) {
		log_warnx("%s: set MTU %u for circuits: %s", ifc->name, want, strerror(-rc));
		return;
	}
	ifc->mtu_set = want;
	cache_mtu_put(s->cache, ifc->name, cur, want);
	log_info("%s: MTU %u -> %u while peers are carried over circuits of up to %u hops",
	         ifc->name, cur, want, hops);
}

/* The original endpoint kept in relay_sessions (mode "circuit") for a restart and a restore. */
static void record_orig(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                        int64_t now)
{
	struct cache_session cs = {.original_keepalive = p->keepalive, .since = now};

	snprintf(cs.iface, sizeof(cs.iface), "%s", ifc->name);
	snprintf(cs.peer, sizeof(cs.peer), "%s", p->pub_b64);
	snprintf(cs.mode, sizeof(cs.mode), "circuit");
	if (p->circ_orig.len)
		addr_format(&p->circ_orig, cs.original_endpoint, sizeof(cs.original_endpoint));
	addr_format(&p->port->local, cs.session_endpoint, sizeof(cs.session_endpoint));
	cache_session_put(s->cache, &cs);
}

/*
 * The rotation period: 10 min, or WGRELAY_CIRCUIT_ROTATE_S seconds (0: never), which both peers
 * of a pair must set alike (tests use it to see rotations within minutes).
 */
static uint32_t rotate_period(void)
{
	const char *v = getenv("WGRELAY_CIRCUIT_ROTATE_S");
	char *end;
	unsigned long n;

	if (!v || !*v)
		return CIRCPEER_ROTATE_S;
	n = strtoul(v, &end, 10);
	return *end || n > 86400 ? CIRCPEER_ROTATE_S : (uint32_t)n;
}

/* The peer's circuits, its local port, WireGuard pointed at it. false: not now. */
static bool peer_take(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                      int64_t now)
{
	struct steer_circ_peer *cp = p->circ;
	char a[ADDR_STRLEN];
	int rc;

	if (!cp) {
		if (!(cp = calloc(1, sizeof(*cp))))
			return false;
		if (sid_shared(cp->shared, ifc->priv, p->pub) < 0) {
			free(cp);
			return false;
		}
		struct circpeer_io io = {.ctx = cp, .send_cell = io_send_cell, .to_wg = io_to_wg};
		circpeer_init(&cp->cp, &io, CIRCHS_CLASS_1500);
		cp->cp.rotate_s = rotate_period();
		cp->rdv_ri = -1;
		p->circ = cp;
	}
	if (!p->port) {
		steer_sealed_port_ensure(ifc, p);
		if (!p->port)
			return false;
	}
	cp->port = p->port;
	sealed_port_set_wg(p->port, ifc->listen_port);
	sealed_port_divert(p->port, from_wg, cp);
	if (!addr_equal(&p->wg_ep, &p->port->local)) {
		/* Not one of our loopback ports (a crashed run's): the peer's own endpoint. */
		if (p->wg_ep.len && !(addr_classify(&p->wg_ep) & ADDR_LOOPBACK))
			p->circ_orig = p->wg_ep;
		if ((rc = wg_set_peer_endpoint(ifc->name, p->pub, &p->port->local)) < 0) {
			log_warnx("%s: peer %.8s: set endpoint: %s", ifc->name, p->pub_b64,
			          strerror(-rc));
			return false;
		}
		p->wg_ep = p->port->local;
		record_orig(s, ifc, p, now);
		log_info("%s: peer %.8s: carried over circuits of %u hops (endpoint %s)", ifc->name,
		         p->pub_b64, ifc->cfg.hops, addr_format(&p->port->local, a, sizeof(a)));
	}
	return true;
}

/* One line per circuit event since the last call: what an operator reads in the log. */
static void log_events(const struct steer_iface *ifc, const struct steer_peer *p,
                       struct steer_circ_peer *cp)
{
	const struct circpeer *c = &cp->cp;
	const struct circpeer_path *a;

	if (c->spliced != cp->seen_spliced && (a = circpeer_active_path(c)))
		log_info(
		    "%s: peer %.8s: circuit of %u hops spliced at the rendezvous (%llu so far)",
		    ifc->name, p->pub_b64, a->n, (unsigned long long)c->spliced);
	if (c->dead != cp->seen_dead)
		log_info("%s: peer %.8s: the circuit in use went silent (no heartbeat for %d s): "
		         "switching to the prebuilt one",
		         ifc->name, p->pub_b64, CIRCPEER_DEAD_MS / 1000);
	if (c->destroyed != cp->seen_destroyed)
		log_info("%s: peer %.8s: %llu circuit(s) torn down by a relay or the far side",
		         ifc->name, p->pub_b64,
		         (unsigned long long)(c->destroyed - cp->seen_destroyed));
	if (c->build_failed != cp->seen_failed)
		log_debug("%s: peer %.8s: %llu circuit build(s) or meeting(s) failed (%llu in all)",
		          ifc->name, p->pub_b64,
		          (unsigned long long)(c->build_failed - cp->seen_failed),
		          (unsigned long long)c->build_failed);
	if (c->rotations != cp->seen_rotations)
		log_debug("%s: peer %.8s: rotation %llu", ifc->name, p->pub_b64,
		          (unsigned long long)c->rotations);
	if (c->lost != cp->seen_lost)
		log_info("%s: peer %.8s: %llu circuit(s) given up: their link went, or a relay on "
		         "them is suspected",
		         ifc->name, p->pub_b64, (unsigned long long)(c->lost - cp->seen_lost));
	cp->seen_spliced = c->spliced;
	cp->seen_dead = c->dead;
	cp->seen_destroyed = c->destroyed;
	cp->seen_failed = c->build_failed;
	cp->seen_rotations = c->rotations;
	cp->seen_lost = c->lost;
}

/* A build stopped at a hop (unanswered or refused): that relay is avoided a while. */
static void suspect_failed(const struct steer_ctx *s, const struct steer_iface *ifc,
                           const struct steer_peer *p, struct steer_circ_peer *cp, uint64_t now)
{
	if (cp->cp.failed_hops == cp->seen_failed_hops)
		return;
	cp->seen_failed_hops = cp->cp.failed_hops;
	suspect(cp, cp->cp.failed_hop, now);
	log_debug("%s: peer %.8s: relay %.8s suspected (a circuit build stopped there)", ifc->name,
	          p->pub_b64, key_of(s, cp->cp.failed_hop));
	/* The rendezvous itself, and nothing carries the pair: on to the next of the ranking. */
	if (!memcmp(cp->cp.failed_hop, cp->rdv, 32) && !circpeer_active_path(&cp->cp)) {
		cp->rdv_rank = (cp->rdv_rank + 1) % CIRC_RDV_CHOICES;
		log_info("%s: peer %.8s: the rendezvous %.8s does not answer: the pair's relay of "
		         "rank %u next",
		         ifc->name, p->pub_b64, key_of(s, cp->rdv), cp->rdv_rank);
	}
}

/* The line `wgrelay status` shows for the peer. */
static void peer_text(const struct steer_ctx *s, struct steer_circ_peer *cp, char *out, size_t cap)
{
	const struct circpeer_path *a = circpeer_active_path(&cp->cp);
	size_t o = 0;

	if (!a) {
		snprintf(out, cap, "%s%s", circpeer_state_name(&cp->cp),
		         cp->rdv_ri < 0 ? " (no relay with circuits in view)" : "");
		return;
	}
	o += (size_t)snprintf(out, cap, "%u hop%s:", a->n, a->n == 1 ? "" : "s");
	for (unsigned h = 0; h < a->n && o < cap; h++) {
		const char *k = key_of(s, a->hops[h].identity);
		o += (size_t)snprintf(out + o, cap - o, "%s %s %.8s%s", h ? "," : "",
		                      a->country[h][0] ? a->country[h] : "??", k,
		                      h + 1 == a->n ? " (rendezvous)" : "");
	}
	if (o < cap)
		snprintf(out + o, cap - o, "; %s; %llu rotation%s, %llu switch%s",
		         circpeer_state_name(&cp->cp), (unsigned long long)cp->cp.rotations,
		         cp->cp.rotations == 1 ? "" : "s", (unsigned long long)cp->cp.dead,
		         cp->cp.dead == 1 ? "" : "es");
}

/* Circuits DESTROYed, the port closed; WireGuard back on the original endpoint if restore. */
static void peer_stop(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                      bool restore)
{
	struct steer_circ_peer *cp = p->circ;

	steer_circ_free(cp);
	p->circ = NULL;
	if (restore && p->port && addr_equal(&p->wg_ep, &p->port->local)) {
		if (p->circ_orig.len &&
		    wg_set_peer_endpoint(ifc->name, p->pub, &p->circ_orig) == 0) {
			p->wg_ep = p->circ_orig;
			char a[ADDR_STRLEN];
			log_info("%s: peer %.8s: circuits off: endpoint %s again", ifc->name,
			         p->pub_b64, addr_format(&p->circ_orig, a, sizeof(a)));
		}
		cache_session_del(s->cache, ifc->name, p->pub_b64);
	}
	if (p->port)
		sealed_port_divert(p->port, NULL, NULL);
	steer_sealed_port_drop(s, p);
}

void steer_circ_begin(struct steer_ctx *s, struct steer_iface *ifc)
{
	steer_restore_all(s, ifc, "circuits on");
	ifc->circ_on = true;
}

void steer_circ(struct steer_ctx *s, struct steer_iface *ifc, int64_t now)
{
	uint64_t mono = (uint64_t)steer_mono_ms();

	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		struct steer_circ_peer *cp;
		uint8_t h[SID_LEN], cookie[SID_COOKIE_LEN];
		struct circpeer_path path;
		int ri, rc;

		if (!p->seen) {
			/* Gone from the device: its circuits go (the port too). */
			if (p->circ)
				peer_stop(s, ifc, p, false);
			continue;
		}
		if (!peer_take(s, ifc, p, now))
			continue;
		cp = p->circ;
		if ((uint64_t)now / SID_COOKIE_EPOCH_S != cp->rdv_epoch) {
			cp->rdv_epoch = (uint64_t)now / SID_COOKIE_EPOCH_S;
			cp->rdv_rank = 0; /* both sides go back to the best at once */
		}
		if (cp->rdv_gen != s->circ_view_gen || cp->rdv_gen_rank != cp->rdv_rank) {
			cp->rdv_ri = rendezvous(s, cp, cp->rdv_rank, cp->rdv_h);
			cp->rdv_gen = s->circ_view_gen;
			cp->rdv_gen_rank = cp->rdv_rank;
		}
		ri = cp->rdv_ri;
		memcpy(h, cp->rdv_h, SID_LEN);
		if (ri < 0) {
			if (!cp->no_rdv_logged)
				log_warnx(
				    "%s: peer %.8s: no relay in view offers circuits: waiting",
				    ifc->name, p->pub_b64);
			cp->no_rdv_logged = true;
			continue;
		}
		cp->no_rdv_logged = false;
		if (memcmp(cp->rdv, s->circ_view[ri].ps.identity, 32) != 0)
			log_info("%s: peer %.8s: rendezvous %.8s", ifc->name, p->pub_b64,
			         s->circ_view[ri].pubkey);
		memcpy(cp->rdv, s->circ_view[ri].ps.identity, 32);
		sid_cookie(cookie, cp->shared, cp->rdv, (uint64_t)now / SID_COOKIE_EPOCH_S);
		/* the phase: the hash's last four bytes, reduced by circpeer to its period */
		circpeer_set_meet(&cp->cp, cp->rdv, cookie, buf_load_be32(h + SID_LEN - 4));
		check_paths(s, cp, mono);
		if (circpeer_tick(&cp->cp, mono, (uint64_t)now)) {
			rc = choose_path(s, ifc, cp, now, &path);
			/* No path is a failed build too: the next ask comes after the backoff. */
			int brc = circpeer_build(&cp->cp, rc == 0 ? &path : NULL, mono);
			if (rc == 0)
				rc = brc;
			if (rc < 0 && !cp->no_path_logged)
				log_warnx("%s: peer %.8s: no circuit built: %s", ifc->name,
				          p->pub_b64,
				          rc == -ENOENT ? "no path fits the requirements"
				                        : strerror(-rc));
			cp->no_path_logged = rc < 0;
		}
		suspect_failed(s, ifc, p, cp, mono);
		log_events(ifc, p, cp);
	}
	circ_mtu_auto(s, ifc);
}

bool steer_circ_cell(struct steer_iface *ifc, struct link *l, struct cell *c, int64_t now_ms)
{
	for (size_t i = 0; i < ifc->n_peers; i++)
		if (ifc->peers[i].circ &&
		    circpeer_cell(&ifc->peers[i].circ->cp, link_id(l), c, (uint64_t)now_ms))
			return true;
	return false;
}

void steer_circ_link_gone(struct steer_iface *ifc, const struct link *l, int64_t now_ms)
{
	for (size_t i = 0; i < ifc->n_peers; i++)
		if (ifc->peers[i].circ)
			circpeer_link_gone(&ifc->peers[i].circ->cp, link_id(l), (uint64_t)now_ms);
}

bool steer_circ_uses(const struct steer_ctx *s, struct steer_iface *const *ifcs, size_t n_ifcs,
                     size_t ri)
{
	const struct link *l = ri < s->n_relays ? s->relays[ri].link : NULL;

	if (!l)
		return false;
	for (size_t i = 0; i < n_ifcs; i++) {
		if (!ifcs[i]->cfg.hops)
			continue;
		for (size_t j = 0; j < ifcs[i]->n_peers; j++) {
			const struct steer_circ_peer *cp = ifcs[i]->peers[j].circ;
			for (size_t k = 0; cp && k < CIRCPEER_SLOTS; k++)
				if (cp->cp.slot[k].role != CIRCPEER_FREE &&
				    cp->cp.slot[k].path.link == link_id(l))
					return true;
		}
		/* The guards stay linked: they are the entries of the next circuits. */
		if (steer_circ_guard(s, s->relays[ri].info.pubkey))
			return true;
	}
	return false;
}

void steer_circ_publish(struct steer_ctx *s, struct steer_iface *ifc, int64_t now, bool all)
{
	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		struct steer_circ_peer *cp = p->circ;
		char text[CACHE_WHY];

		if (!p->seen || !cp)
			continue;
		peer_text(s, cp, text, sizeof(text));
		if (!all && !strcmp(text, cp->text))
			continue;
		struct cache_peer row = {.since = now, .updated = now};
		snprintf(row.iface, sizeof(row.iface), "%s", ifc->name);
		snprintf(row.peer, sizeof(row.peer), "%s", p->pub_b64);
		snprintf(row.path, sizeof(row.path), "relayed");
		snprintf(row.mode, sizeof(row.mode), "circuit");
		if (p->circ_orig.len)
			addr_format(&p->circ_orig, row.endpoint, sizeof(row.endpoint));
		snprintf(row.circuit, sizeof(row.circuit), "%s", text);
		snprintf(row.why, sizeof(row.why), "carried over circuits (--hops %u)",
		         ifc->cfg.hops);
		if (cache_peer_set(s->cache, &row) == 0)
			snprintf(cp->text, sizeof(cp->text), "%s", text);
	}
}

void steer_circ_stop(struct steer_ctx *s, struct steer_iface *ifc, bool restore)
{
	for (size_t i = 0; i < ifc->n_peers; i++)
		peer_stop(s, ifc, &ifc->peers[i], restore);
	if (restore)
		steer_sealed_mtu_restore(s, ifc);
}

void steer_circ_free(struct steer_circ_peer *cp)
{
	if (!cp)
		return;
	circpeer_stop(&cp->cp);
	sodium_memzero(cp->shared, sizeof(cp->shared));
	free(cp);
}

void steer_circ_adopt(struct steer_ctx *s, struct steer_iface *ifc)
{
	struct cache_session *cs;
	size_t n;
	uint8_t pub[32];

	steer_sealed_mtu_recover(s, ifc);
	if (cache_session_list(s->cache, ifc->name, &cs, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++) {
		struct steer_peer *p = NULL;
		if (strcmp(cs[i].mode, "circuit") != 0 || key_from_base64(pub, cs[i].peer) < 0)
			continue;
		for (size_t j = 0; j < ifc->n_peers && !p; j++)
			if (!memcmp(ifc->peers[j].pub, pub, 32))
				p = &ifc->peers[j];
		if (p && !p->circ_orig.len && cs[i].original_endpoint[0])
			addr_parse(&p->circ_orig, cs[i].original_endpoint, 0);
	}
	free(cs);
}
