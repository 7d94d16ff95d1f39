/*
 * steer_bind.c: keep every peer bound on its top-K relays (more while path.c widens, and the
 * relay in use), and leave out for a while a relay that refused our BIND (auth, mode), saying
 * so once.
 */
#include <stdio.h>
#include <string.h>

#include "log.h"
#include "proto.h"
#include "steer.h"
#include "steer_priv.h"

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
 * A relay answered our BIND with ERROR mode-not-allowed, or refused this helper (auth-denied,
 * auth-required). Say so once, forget the binding and leave that relay out for this peer for
 * STEER_REFUSED_S, so the peer binds on the next relay instead of asking again and again.
 * (mode-mismatch is the mode step's: it makes the peer bind sealed, steer_mode.h.)
 */
static void check_refused(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                          int64_t now)
{
	for (size_t r = 0; r < s->n_relays; r++) {
		struct link_bind *b = steer_bind_of(s, p, (int)r);
		if (b &&
		    (b->error == PROTO_ERR_AUTH_DENIED || b->error == PROTO_ERR_AUTH_REQUIRED)) {
			warn_auth_refused(s, r, b->error, now);
			p->refused_until[r] = now + STEER_REFUSED_S;
			link_unbind(s->relays[r].link, p->sids[r], steer_mono_ms());
			continue;
		}
		if (!b || b->error != PROTO_ERR_MODE_NOT_ALLOWED)
			continue;
		log_warnx(
		    "%s: peer %.8s: relay %s does not offer %s mode; not using it for the peer "
		    "for %d s",
		    ifc->name, p->pub_b64, s->relays[r].info.endpoint, steer_mode_name(b->mode),
		    STEER_REFUSED_S);
		p->refused_until[r] = now + STEER_REFUSED_S;
		link_unbind(s->relays[r].link, p->sids[r], steer_mono_ms());
	}
}

/*
 * Each relay's mode for the peer (steer_mode.h), applied to the binding it holds there: a
 * direct binding becomes sealed (the link went onto a stream, or the far side binds sealed),
 * a sealed BIND the relay refused goes again once its wait is over.
 */
static void step_modes(struct steer_ctx *s, struct steer_iface *ifc, struct steer_peer *p,
                       uint8_t mode, int64_t now)
{
	for (size_t r = 0; r < s->n_relays; r++) {
		struct steer_mode *st = &p->bmode[r];
		struct link *l = s->relays[r].link;
		struct link_bind *b = steer_bind_of(s, p, (int)r);
		struct steer_mode_in in = {
		    .now = now,
		    .iface_sealed = mode == PROTO_MODE_SEALED,
		    .on_stream = l && l->tc,
		    .bound = b != NULL,
		    .mode = b ? b->mode : 0,
		    .error = b ? b->error : 0,
		    .paired = b && b->state == PROTO_PAIRED,
		};
		uint8_t refused = st->refused;
		enum steer_mode_act a = steer_mode_step(st, &in);

		if (a == STEER_MODE_SEAL) {
			log_info("%s: peer %.8s: binding sealed on relay %s (%s)", ifc->name,
			         p->pub_b64, s->relays[r].info.endpoint,
			         st->why == STEER_SEAL_STREAM
			             ? "its link is on a stream, direct mode needs UDP"
			             : "the far side binds sealed there");
			steer_sealed_port_ensure(ifc, p);
			b = link_bind(l, p->sids[r], PROTO_MODE_SEALED, steer_mono_ms());
			if (b)
				b->user = p->port;
		} else if (a == STEER_MODE_RETRY) {
			link_rebind(l, p->sids[r]);
		}
		if (st->refused > refused && st->refused == STEER_MODE_STUCK)
			log_warnx(
			    "%s: peer %.8s: relay %s still refuses the session sealed: the far "
			    "side keeps it in direct mode (a helper that does not switch to "
			    "sealed by itself: set configure-relay --mode sealed there); asking "
			    "every %d s",
			    ifc->name, p->pub_b64, s->relays[r].info.endpoint,
			    STEER_MODE_RETRY_MAX_S);
		else if (st->refused > refused)
			log_debug(
			    "%s: peer %.8s: relay %s refused sealed: the far side is bound direct "
			    "and is told; asking again in %lld s",
			    ifc->name, p->pub_b64, s->relays[r].info.endpoint,
			    (long long)(st->retry_at - now));
	}
}

/* The interface's mode changed: every binding goes, and each relay's mode starts afresh. */
static void mode_changed(struct steer_ctx *s, struct steer_iface *ifc, uint8_t mode)
{
	log_info("%s: mode changed from %s to %s: peers go back to direct and are bound again in "
	         "%s mode",
	         ifc->name, steer_mode_name(ifc->mode), steer_mode_name(mode),
	         steer_mode_name(mode));
	steer_restore_all(s, ifc, "relay mode changed");
	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		for (size_t r = 0; r < s->n_relays; r++) {
			if (s->relays[r].link)
				link_unbind(s->relays[r].link, p->sids[r], steer_mono_ms());
			memset(&p->bmode[r], 0, sizeof(p->bmode[r]));
		}
	}
}

void steer_prebind(struct steer_ctx *s, struct steer_iface *ifc, int64_t now)
{
	uint8_t mode = steer_mode(ifc);

	if (ifc->mode && ifc->mode != mode)
		mode_changed(s, ifc, mode);
	ifc->mode = mode;
	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		if (!p->seen || !p->sid_ok)
			continue;
		check_refused(s, ifc, p, now);
		step_modes(s, ifc, p, mode, now);
		if (mode == PROTO_MODE_SEALED)
			steer_sealed_port_ensure(ifc, p);
		size_t usable = steer_rank(s, p, mode, now);
		const size_t *order = p->rank.order;
		bool skip[STEER_MAX_RELAYS], paired[STEER_MAX_RELAYS], bind[STEER_MAX_RELAYS];
		for (size_t r = 0; r < s->n_relays; r++) {
			skip[r] = !s->relays[r].link || p->refused_until[r] > now;
			paired[r] = steer_bind_ready(steer_bind_of(s, p, (int)r),
			                             steer_peer_mode(s, p, r, mode));
		}
		/* The top K (more while path.c widens), the relay in use, paired ones it keeps. */
		path_prebind_pick(&p->pp, ifc->cfg.prebind, order, s->n_relays, usable, skip,
		                  paired, bind);
		for (size_t j = 0; j < s->n_relays; j++) {
			size_t ri = order[j];
			struct link *l = s->relays[ri].link;
			if (!l)
				continue;
			if (bind[ri]) {
				uint8_t m = steer_peer_mode(s, p, ri, mode);
				if (m == PROTO_MODE_SEALED)
					steer_sealed_port_ensure(ifc, p);
				struct link_bind *b = link_bind(l, p->sids[ri], m, steer_mono_ms());
				if (b)
					b->user = m == PROTO_MODE_SEALED ? p->port : NULL;
			} else if (link_find(l, p->sids[ri])) {
				link_unbind(l, p->sids[ri], steer_mono_ms());
			}
		}
	}
}
