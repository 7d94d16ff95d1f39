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
			link_unbind(s->relays[r].link, p->sids[r], steer_mono_ms());
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
		link_unbind(s->relays[r].link, p->sids[r], steer_mono_ms());
	}
}

void steer_prebind(struct steer_ctx *s, struct steer_iface *ifc, int64_t now)
{
	uint8_t mode = steer_mode(ifc);

	if (ifc->mode && ifc->mode != mode) {
		log_info("%s: mode changed from %s to %s: peers go back to direct and are bound "
		         "again in %s mode",
		         ifc->name, steer_mode_name(ifc->mode), steer_mode_name(mode),
		         steer_mode_name(mode));
		steer_restore_all(s, ifc, "relay mode changed");
	}
	ifc->mode = mode;
	for (size_t i = 0; i < ifc->n_peers; i++) {
		struct steer_peer *p = &ifc->peers[i];
		if (!p->seen || !p->sid_ok)
			continue;
		check_refused(s, ifc, p, now);
		if (mode == PROTO_MODE_SEALED)
			steer_sealed_port_ensure(ifc, p);
		size_t usable = steer_rank(s, p, mode, now);
		const size_t *order = p->rank.order;
		bool skip[STEER_MAX_RELAYS], paired[STEER_MAX_RELAYS], bind[STEER_MAX_RELAYS];
		for (size_t r = 0; r < s->n_relays; r++) {
			skip[r] = !s->relays[r].link || p->refused_until[r] > now;
			paired[r] = steer_bind_ready(steer_bind_of(s, p, (int)r), mode);
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
				struct link_bind *b =
				    link_bind(l, p->sids[ri], mode, steer_mono_ms());
				if (b)
					b->user = mode == PROTO_MODE_SEALED ? p->port : NULL;
			} else if (link_find(l, p->sids[ri])) {
				link_unbind(l, p->sids[ri], steer_mono_ms());
			}
		}
	}
}
