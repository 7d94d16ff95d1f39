/* path.c: the per-peer path state machine of the helper (path.h). */
#include "path.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

const char *path_state_name(enum path_state s)
{
	return s == PATH_RELAYED ? "relayed" : s == PATH_TRYING ? "trying-direct" : "direct";
}

void path_init(struct path_peer *p)
{
	memset(p, 0, sizeof(*p));
	p->relay = -1;
	p->backoff_s = PATH_BACKOFF_MIN;
	p->dirty = true;
}

static struct path_action *act(struct path_out *out, enum path_act type)
{
	if (out->n == PATH_MAX_ACTIONS)
		return NULL; /* cannot happen: one transition per step needs far fewer */
	struct path_action *a = &out->a[out->n++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->relay = -1;
	return a;
}

static void act_ep(struct path_out *out, enum path_act type, const struct addr *ep)
{
	struct path_action *a = act(out, type);
	if (a)
		a->ep = *ep;
}

static void act_relay(struct path_out *out, enum path_act type, int relay)
{
	struct path_action *a = act(out, type);
	if (a)
		a->relay = relay;
}

static void act_value(struct path_out *out, enum path_act type, uint16_t value)
{
	struct path_action *a = act(out, type);
	if (a)
		a->value = value;
}

/* One info line per step: the last transition's. */
static void say(struct path_out *out, const char *fmt, ...)
{
	va_list ap;
	bool first = out->log[0] == '\0';

	va_start(ap, fmt);
	vsnprintf(out->log, sizeof(out->log), fmt, ap);
	va_end(ap);
	if (first)
		act(out, PATH_A_LOG);
}

/* Say this too, after what the step said already: widening is news beside a transition. */
static void say_also(struct path_out *out, const char *fmt, ...)
{
	char line[PATH_WHY];
	size_t n = strlen(out->log);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n == 0)
		say(out, "%s", line);
	else
		snprintf(out->log + n, sizeof(out->log) - n, "; %s", line);
}

static const char *relay_name(const struct path_view *v, int ri)
{
	return ri >= 0 && (size_t)ri < v->n_relays && v->relays[ri].name ? v->relays[ri].name : "?";
}

static const char *fmt_ep(const struct addr *a, char *buf)
{
	return a->len ? addr_format(a, buf, ADDR_STRLEN) : "(none)";
}

static void set_state(struct path_peer *p, enum path_state s, int64_t now, const char *why)
{
	if (p->state != s) {
		p->since = now;
		/* What the old path did says nothing about the new one. */
		memset(&p->det, 0, sizeof(p->det));
		p->win_start = p->prev;
		p->silent_at = 0;
	}
	p->state = s;
	if (why && strcmp(p->why, why) != 0) {
		size_t n = strnlen(why, sizeof(p->why) - 1); /* long reasons are cut */
		memcpy(p->why, why, n);
		p->why[n] = '\0';
	}
	p->dirty = true;
}

/* The keepalive a relayed path keeps: a NATed relay mapping needs traffic. */
static uint16_t relayed_keepalive(const struct path_peer *p)
{
	return p->orig_keepalive && p->orig_keepalive < PATH_KEEPALIVE ? p->orig_keepalive
	                                                               : PATH_KEEPALIVE;
}

/* Relay ri carries the peer sealed: the interface's mode, or this relay's binding's. */
static bool relay_sealed(const struct path_view *v, int ri)
{
	return v->sealed || v->relays[ri].sealed;
}

/* Where WireGuard must send to reach the peer through relay ri; false: it cannot yet. */
static bool relay_target(const struct path_view *v, int ri, struct addr *t)
{
	const struct path_relay *r = &v->relays[ri];

	if (!r->ready)
		return false;
	if (relay_sealed(v, ri)) {
		*t = v->port;
		return v->port.len != 0;
	}
	*t = r->addr;
	addr_set_port(t, r->port);
	return r->port != 0;
}

/*
 * Point the peer at relay ri and make WireGuard send through it at once (a keepalive, or an
 * initiation when there is no session): the far side's helper hears PEER_ACTIVE from the
 * relay without waiting for WireGuard's next timer. false: ri cannot carry the peer yet.
 */
static bool switch_to(struct path_peer *p, const struct path_view *v, int ri, const char *why,
                      struct path_out *out)
{
	struct addr target;
	char ep[ADDR_STRLEN];

	if (ri < 0 || (size_t)ri >= v->n_relays || !relay_target(v, ri, &target))
		return false;
	bool new_session = p->state == PATH_DIRECT || !addr_equal(&p->set_ep, &target);
	bool sealed = relay_sealed(v, ri);
	if (!addr_equal(&v->wg_ep, &target))
		act_ep(out, PATH_A_ENDPOINT, &target);
	/* From a sealed relay to a direct one: the far side's frames go back their own way. */
	if (sealed || (p->state != PATH_DIRECT && p->sealed))
		act_relay(out, PATH_A_ROUTE, sealed ? ri : -1);
	act_value(out, PATH_A_KICK, relayed_keepalive(p));
	/*
	 * Direct mode: a relay session forwards only once it has seen a handshake (address
	 * proof), and WireGuard holding a live session sends data, not a handshake, until 15 s go
	 * unanswered. Onto a session that has not carried ours yet: make it handshake now.
	 */
	if (!sealed && new_session && v->sample.last_handshake &&
	    v->now - v->sample.last_handshake < 180)
		act(out, PATH_A_REHANDSHAKE);
	/* Leaving the direct path: the first direct try is one backoff away. */
	if (p->state == PATH_DIRECT)
		p->next_try = v->now + p->backoff_s;
	p->set_ep = target;
	p->relay = ri;
	p->sealed = sealed;
	if (sealed)
		say(out, "relayed sealed via %s, endpoint %s (%s)", relay_name(v, ri),
		    fmt_ep(&target, ep), why);
	else
		say(out, "relayed via %s (%s)", fmt_ep(&target, ep), why);
	set_state(p, PATH_RELAYED, v->now, why);
	act_relay(out, PATH_A_SESSION_PUT, ri);
	return true;
}

/* The relay to move to: the hysteresis choice if it can carry us, else the first ready one. */
static int pick(const struct path_view *v, int skip)
{
	if (v->preferred >= 0 && v->preferred != skip && (size_t)v->preferred < v->n_relays &&
	    v->relays[v->preferred].ready)
		return v->preferred;
	for (size_t j = 0; j < v->n_relays; j++) {
		int ri = (int)v->order[j];
		if (ri != skip && v->relays[ri].ready && !v->relays[ri].leaving)
			return ri;
	}
	return -1;
}

/* Leave the relay for the direct endpoint: for good (DIRECT) or for a try (TRYING). */
static void to_direct(struct path_peer *p, const struct path_view *v, enum path_state s,
                      const char *why, struct path_out *out)
{
	if (p->direct_ep.len)
		act_ep(out, PATH_A_ENDPOINT, &p->direct_ep);
	if (s == PATH_DIRECT) {
		act_value(out, PATH_A_KEEPALIVE, p->orig_keepalive);
		act(out, PATH_A_SESSION_DEL);
		/* Should the far side's frames still come, WireGuard's answers go back their way. */
		if (p->sealed)
			act_relay(out, PATH_A_ROUTE, -1);
		p->relay = -1;
	} else {
		/* WireGuard sends to the direct endpoint now: a round trip tells. */
		act_value(out, PATH_A_KICK, relayed_keepalive(p));
	}
	set_state(p, s, v->now, why);
}

/* One 5 s window is up: judge it (cache records, relayed failures count per window). */
static enum detect_verdict window(struct path_peer *p, const struct path_view *v)
{
	if (v->sample.t - p->win_start.t < DETECT_WINDOW_S)
		return (enum detect_verdict) - 1;
	enum detect_verdict w = detect_window(&p->win_start, &v->sample);
	detect_feed(&p->det, w, &p->win_start, &v->sample);
	p->win_start = v->sample;
	return w;
}

/* Something came back from where we send, lately, and nothing is waiting for an answer. */
static bool answered(const struct path_peer *p, int64_t now)
{
	return p->det.rx_at && !p->det.unanswered_at && now - p->det.rx_at <= 2;
}

unsigned path_prebind_count(const struct path_peer *p, unsigned k)
{
	unsigned n = k * (1 + p->widen);
	return n > PATH_MAX_RELAYS ? PATH_MAX_RELAYS : n;
}

size_t path_prebind_pick(const struct path_peer *p, unsigned k, const size_t *order, size_t n,
                         size_t usable, const bool *skip, const bool *paired, bool *bind)
{
	unsigned want = path_prebind_count(p, k), bound = 0;
	size_t marked = 0;

	for (size_t j = 0; j < n; j++)
		bind[j] = false;
	for (size_t j = 0; j < n; j++) {
		size_t ri = order[j];
		if (ri >= n || (skip && skip[ri]))
			continue;
		bool top = j < usable && bound < want;
		bound += top;
		/* The relay in use stays bound even when it dropped out of the top. */
		bool in_use = p->state != PATH_DIRECT && (int)ri == p->relay;
		bool kept = p->keep_paired && j < usable && paired && paired[ri];
		bind[ri] = top || in_use || kept;
		marked += bind[ri];
	}
	return marked;
}

/* The relays we are bound on whose far side is not: the peer has not come there. */
static size_t count_waiting(const struct path_view *v)
{
	size_t n = 0;
	for (size_t r = 0; r < v->n_relays; r++)
		n += v->relays[r].waiting;
	return n;
}

/* Bound on as many relays as widening goes: more cannot help. */
static bool widest(const struct path_peer *p, const struct path_view *v)
{
	return p->widen + 1 >= PATH_WIDEN_MAX || path_prebind_count(p, v->prebind) >= v->usable;
}

/*
 * Prebinding, after the step: the peer needs a relay (need) and none of its bound relays has
 * paired for PATH_WIDEN_S: bind K more of the ranking (steer_bind.c does), again every
 * PATH_WIDEN_S, up to PATH_WIDEN_MAX * K. Both helpers go down rankings that order shared
 * relays the same way (select.h), so tables that share a relay within that depth meet. Once a
 * relay pairs, or nothing is needed any more, back to K (paired relays stay while needed).
 */
static void prebind_step(struct path_peer *p, const struct path_view *v, bool need,
                         struct path_out *out)
{
	unsigned k = v->prebind, had = path_prebind_count(p, k);
	int paired = -1;

	for (size_t j = 0; j < v->n_relays && paired < 0; j++)
		if (v->order[j] < v->n_relays && v->relays[v->order[j]].ready)
			paired = (int)v->order[j];
	/*
	 * The detector's "relay now" pauses for DETECT_ATTEMPT_S after each of WireGuard's
	 * retries (every 5 s): a need lasts a window, unless something came back since.
	 */
	if (need)
		p->need_at = v->now;
	need = p->state != PATH_DIRECT ||
	       (p->need_at && v->now - p->need_at <= DETECT_WINDOW_S && p->det.rx_at <= p->need_at);
	p->keep_paired = need;
	if (paired >= 0 || !need) {
		p->unpaired_at = 0;
		if (!p->widen)
			return;
		p->widen = 0;
		if (paired >= 0)
			say_also(out, "paired on relay %s: back to prebinding the top %u",
			         relay_name(v, paired), k);
		else
			say_also(out, "needs no relay any more: back to prebinding the top %u", k);
		return;
	}
	if (!p->unpaired_at)
		p->unpaired_at = v->now;
	if (v->now - p->unpaired_at < PATH_WIDEN_S || !k || widest(p, v))
		return;
	p->widen++;
	p->unpaired_at = v->now; /* the next K get as long to pair */
	unsigned next = path_prebind_count(p, k);
	say_also(out, "no pairing on the top %u relays after %d s, widening to the top %u", had,
	         PATH_WIDEN_S, next < v->usable ? next : (unsigned)v->usable);
}

static void step_direct(struct path_peer *p, const struct path_view *v, bool *need,
                        struct path_out *out)
{
	char why[PATH_WHY], ep[ADDR_STRLEN];

	/*
	 * WireGuard's endpoint went through a relay by itself: the far side's packets came that
	 * way (sealed: through our local port) and WireGuard roamed. Follow; if that relay cannot
	 * carry the peer, put the direct endpoint back.
	 */
	if (v->wg_relay >= 0 || (v->port.len && addr_equal(&v->wg_ep, &v->port))) {
		int ri = v->wg_relay >= 0 ? v->wg_relay : v->rx_relay;
		snprintf(why, sizeof(why), "the far side's packets came through relay %s",
		         relay_name(v, ri));
		if (!switch_to(p, v, ri, why, out) && p->direct_ep.len)
			act_ep(out, PATH_A_ENDPOINT, &p->direct_ep);
		return;
	}
	if (v->wg_ep.len)
		p->direct_ep = v->wg_ep;
	p->orig_keepalive = v->keepalive;
	fmt_ep(&p->direct_ep, ep);
	enum detect_verdict w = window(p, v);
	if (p->direct_ep.len && (w == DETECT_HEALTHY || w == DETECT_FAILED)) {
		struct path_action *a = act(out, PATH_A_WINDOW);
		if (a) {
			a->ep = p->direct_ep;
			a->ok = w == DETECT_HEALTHY;
		}
	}
	if (w == DETECT_HEALTHY)
		p->direct_ok = true;
	/* The far side started using a relay: follow it unless our direct path answers. */
	for (size_t r = 0; r < v->n_relays; r++)
		if (v->relays[r].peer_active) {
			p->active_relay = (int)r;
			p->active_at = v->now;
		}
	if (p->active_at && v->now - p->active_at <= DETECT_SILENT_S && !answered(p, v->now)) {
		snprintf(why, sizeof(why), "peer became active on relay %s (direct %s: %s)",
		         relay_name(v, p->active_relay), ep,
		         p->det.unanswered_at ? "unanswered" : detect_verdict_name(p->det.last));
		if (switch_to(p, v, p->active_relay, why, out)) {
			p->active_at = 0;
			return;
		}
	}
	/* seed 003's connection cache: this pair needed a relay last time; go there at once. */
	if (v->known_relayed && !p->direct_ok && !p->det.rx_at) {
		snprintf(why, sizeof(why),
		         "it needed a relay last time and no direct path has worked since; "
		         "direct %s is tried again later",
		         ep);
		if (switch_to(p, v, pick(v, -1), why, out))
			return;
	}
	struct detect_rules rules = {.attempts = v->threshold};
	struct detect_history h = {.cache_rule = v->hist_rule,
	                           .n_endpoints = v->hist_endpoints,
	                           .recent_failures = v->hist_failures};
	if (!detect_should_try_relay(&p->det, &rules, &h, ep, v->now, why, sizeof(why))) {
		if (w == DETECT_HEALTHY)
			set_state(p, PATH_DIRECT, v->now, "direct handshakes succeed");
		return;
	}
	if (!switch_to(p, v, pick(v, -1), why, out)) {
		char w2[PATH_WHY + 80];
		size_t waiting = count_waiting(v);
		*need = true;
		if (waiting)
			snprintf(w2, sizeof(w2), "%s; waiting for the peer on %zu relay%s%s", why,
			         waiting, waiting == 1 ? "" : "s",
			         widest(p, v) ? " (the most it binds)" : "");
		else
			snprintf(w2, sizeof(w2), "%s; no relay paired for this peer yet", why);
		set_state(p, PATH_DIRECT, v->now, w2);
	}
}

/* The relay in use stopped carrying the peer: fail over. true when we moved. */
static bool fail_over(struct path_peer *p, const struct path_view *v, const char *why,
                      struct path_out *out)
{
	int ri = pick(v, p->relay);
	if (ri < 0)
		return false;
	act_relay(out, PATH_A_RELAY_FAIL, p->relay);
	return switch_to(p, v, ri, why, out);
}

/*
 * WireGuard's endpoint is not what we set: a reset (wg syncconf, wg-quick), the far side on
 * another relay, or a roam to a direct address. true when the step is over.
 */
static bool relayed_endpoint_moved(struct path_peer *p, const struct path_view *v,
                                   struct path_out *out)
{
	char ep[ADDR_STRLEN];

	if (!v->wg_ep.len || addr_equal(&v->wg_ep, &p->set_ep))
		return false;
	/* A relay's own address in sealed mode is not ours to follow: it is left over. */
	if (addr_equal(&v->wg_ep, &p->direct_ep) || (v->wg_relay >= 0 && p->sealed)) {
		say(out, "endpoint was reset, re-applying the relay");
		act_ep(out, PATH_A_ENDPOINT, &p->set_ep);
		return false;
	}
	if (v->wg_relay >= 0) {
		/* WireGuard roamed to a session port on another of our relays: the far side is there. */
		p->relay = v->wg_relay;
		p->set_ep = v->wg_ep;
		say(out, "followed WireGuard to relay %s", relay_name(v, p->relay));
		set_state(p, PATH_RELAYED, v->now, "the far side moved to this relay");
		memset(&p->det, 0, sizeof(p->det));
		act_relay(out, PATH_A_SESSION_PUT, p->relay);
		return true;
	}
	if (v->port.len && addr_equal(&v->wg_ep, &v->port))
		return false; /* sealed: our own port, the far side's frames came in */
	p->direct_ep = v->wg_ep;
	say(out, "roamed to direct %s", fmt_ep(&v->wg_ep, ep));
	to_direct(p, v, PATH_DIRECT, "peer roamed to a direct address", out);
	return true;
}

/*
 * Sealed mode: both members of a session are reachable over their links, so each side could
 * send through a different relay. Follow the far side when its frames start coming through
 * another relay after our own last change (not before: then it is the far side that follows
 * us, or the two would swap for ever); and when the relay says our session waits again.
 */
static bool relayed_sealed_follow(struct path_peer *p, const struct path_view *v,
                                  struct path_out *out)
{
	char why[PATH_WHY];
	bool rx_ready = v->rx_relay >= 0 && v->rx_relay != p->relay &&
	                (size_t)v->rx_relay < v->n_relays && v->relays[v->rx_relay].ready;

	if (!p->sealed)
		return false;
	if (rx_ready && v->rx_moved) {
		snprintf(why, sizeof(why), "the far side's packets come through relay %s now",
		         relay_name(v, v->rx_relay));
		if (switch_to(p, v, v->rx_relay, why, out))
			return true;
	}
	if (v->relays[p->relay].waiting) {
		snprintf(why, sizeof(why), "the far side left relay %s", relay_name(v, p->relay));
		if (switch_to(p, v, rx_ready ? v->rx_relay : pick(v, p->relay), why, out))
			return true;
	}
	act_relay(out, PATH_A_ROUTE, p->relay);
	return false;
}

/*
 * Traffic through the relay in use goes unanswered: ask its link for a PING; when that goes
 * unanswered too (or the link is down, or our session on it is gone) the relay is gone, and
 * we move to the next one (where both ends are bound already). A lossy path loses some traffic
 * but not PINGs in a row as well.
 */
static bool relayed_gone(struct path_peer *p, const struct path_view *v, enum detect_verdict w,
                         struct path_out *out)
{
	const struct path_relay *cur = &v->relays[p->relay];
	int64_t quiet = detect_unanswered_s(&p->det, v->now);
	bool broken = !cur->up || cur->gone || !cur->ready;
	char why[PATH_WHY];

	if (cur->leaving) {
		snprintf(why, sizeof(why), "relay %s is shutting down", relay_name(v, p->relay));
		return fail_over(p, v, why, out);
	}
	if (quiet < PATH_RELAY_QUIET) {
		p->silent_at = 0;
	} else if (!p->silent_at) {
		p->silent_at = v->now;
		act_relay(out, PATH_A_PING, p->relay);
	}
	if (p->silent_at && (broken || cur->pings_missed >= PATH_RELAY_MISS)) {
		snprintf(why, sizeof(why),
		         "relay %s stopped answering (traffic unanswered for %lld s, %s)",
		         relay_name(v, p->relay), (long long)quiet,
		         broken ? "link down or session lost" : "PINGs unanswered");
		return fail_over(p, v, why, out);
	}
	/* No traffic to judge by: a link down or a lost session after a window not healthy. */
	if (broken && w != (enum detect_verdict) - 1 && w != DETECT_HEALTHY) {
		snprintf(why, sizeof(why), "relay %s is %s", relay_name(v, p->relay),
		         cur->up ? "no longer paired" : "down");
		return fail_over(p, v, why, out);
	}
	return false;
}

static void step_relayed(struct path_peer *p, const struct path_view *v, struct path_out *out)
{
	const struct path_relay *cur = &v->relays[p->relay];
	char why[PATH_WHY], ep[ADDR_STRLEN];

	if (relayed_endpoint_moved(p, v, out))
		return;
	/* The session was re-formed on this relay (its circuit limit, or it lost it): new port. */
	if (!p->sealed && cur->ready && cur->port && addr_port(&p->set_ep) != cur->port) {
		snprintf(why, sizeof(why), "session on %s re-formed on port %u",
		         relay_name(v, p->relay), cur->port);
		switch_to(p, v, p->relay, why, out);
		return;
	}
	if (relayed_sealed_follow(p, v, out))
		return;
	enum detect_verdict w = window(p, v);
	if (relayed_gone(p, v, w, out))
		return;
	/*
	 * The far side's traffic reached our session on the relay in use: in direct mode the relay
	 * can deliver it only once it knows where we are, which our WireGuard's own initiation
	 * tells it. An idle WireGuard (say, just relayed from the connection cache) sends none:
	 * make it send now.
	 */
	if (cur->peer_active)
		act_value(out, PATH_A_KICK, relayed_keepalive(p));
	/* The far side became active on another relay and ours goes unanswered: join it. */
	for (size_t r = 0; r < v->n_relays; r++)
		if (v->relays[r].peer_active && (int)r != p->relay &&
		    detect_unanswered_s(&p->det, v->now) >= 1) {
			snprintf(why, sizeof(why), "the far side became active on relay %s",
			         relay_name(v, (int)r));
			if (switch_to(p, v, (int)r, why, out))
				return;
		}
	if (w == DETECT_HEALTHY)
		act_relay(out, PATH_A_RELAY_OK, p->relay);
	/* One window more than for the direct path: the far side may still be switching. */
	unsigned thr = v->threshold ? v->threshold : 2;
	if (w != (enum detect_verdict) - 1 && p->det.consecutive_failed >= thr + 1) {
		snprintf(why, sizeof(why), "%u relayed handshake windows failed on %s",
		         p->det.consecutive_failed, relay_name(v, p->relay));
		act_relay(out, PATH_A_RELAY_FAIL, p->relay);
		p->det.consecutive_failed = 0;
		int ri = pick(v, p->relay);
		if (ri >= 0)
			switch_to(p, v, ri, why, out);
		return;
	}
	/* Hysteresis: move only when the relay in use trails the best by more than it allows. */
	if (w == DETECT_HEALTHY && v->preferred >= 0 && v->preferred != p->relay) {
		snprintf(why, sizeof(why),
		         "relay %s ranks better than %s by more than the hysteresis",
		         relay_name(v, v->preferred), relay_name(v, p->relay));
		if (switch_to(p, v, v->preferred, why, out))
			return;
	}
	/* Our public address changed: the direct path may work now; try it at once. */
	if (v->self_changed && p->direct_ep.len)
		p->next_try = v->now;
	if (v->now >= p->next_try && p->direct_ep.len) {
		snprintf(why, sizeof(why), "trying direct %s", fmt_ep(&p->direct_ep, ep));
		say(out, "%s", why);
		to_direct(p, v, PATH_TRYING, why, out);
		p->try_until = v->now + PATH_TRY_S;
		/* We point WireGuard off the relays ourselves, now. */
		p->try_off_relay = true;
		p->try_direct_rx = false;
	}
}

static void step_trying(struct path_peer *p, const struct path_view *v, struct path_out *out)
{
	char why[PATH_WHY], ep[ADDR_STRLEN];
	bool on_port = v->port.len && addr_equal(&v->wg_ep, &v->port);
	bool off = v->wg_ep.len && v->wg_relay < 0 && !on_port;

	/*
	 * A packet through a relay roams WireGuard onto it: rx growing while WireGuard stayed off
	 * the relays since the last read means at least one packet came from a direct address.
	 * The far side's NAT may have given it a new port: WireGuard's endpoint is the one.
	 */
	if (off && p->try_off_relay && v->sample.rx_bytes > p->prev.rx_bytes)
		p->try_direct_rx = true;
	p->try_off_relay = off;
	if (p->try_direct_rx && off) {
		p->direct_ep = v->wg_ep;
		snprintf(why, sizeof(why), "direct path to %s works again after relaying",
		         fmt_ep(&p->direct_ep, ep));
		p->backoff_s = PATH_BACKOFF_MIN;
		say(out, "%s", why);
		to_direct(p, v, PATH_DIRECT, why, out);
		p->direct_ok = true;
		return;
	}
	if (v->now < p->try_until) {
		/*
		 * The far side's packets still come through the relay and WireGuard roamed back onto
		 * it: point it at the direct endpoint again, or nothing goes there during the try.
		 */
		if (!off && p->direct_ep.len)
			act_ep(out, PATH_A_ENDPOINT, &p->direct_ep);
		return;
	}
	p->backoff_s = p->backoff_s * 2 > PATH_BACKOFF_MAX ? PATH_BACKOFF_MAX : p->backoff_s * 2;
	p->next_try = v->now + p->backoff_s;
	snprintf(why, sizeof(why), "direct %s still failing%s; next try in %lld s",
	         fmt_ep(&p->direct_ep, ep),
	         off ? "" : " (the far side's packets still come through the relay)",
	         (long long)p->backoff_s);
	say(out, "back on relay %s: %s", relay_name(v, p->relay), why);
	act_ep(out, PATH_A_ENDPOINT, &p->set_ep);
	act_value(out, PATH_A_KICK, relayed_keepalive(p));
	set_state(p, PATH_RELAYED, v->now, why);
}

void path_step(struct path_peer *p, const struct path_view *v, struct path_out *out)
{
	out->n = 0;
	out->log[0] = '\0';
	if (!p->started) {
		/*
		 * Initiations WireGuard sent before we first looked, never answered (nothing ever
		 * came back), count as attempts seen now: a helper that starts a moment after the
		 * traffic must not wait for WireGuard's next attempt.
		 */
		struct detect_sample zero = {.t = v->sample.t - 1};
		if (v->sample.rx_bytes == 0 && v->sample.last_handshake == 0)
			detect_second(&p->det, &zero, &v->sample);
		p->prev = p->win_start = v->sample;
		p->since = v->now;
		p->orig_keepalive = v->keepalive;
		p->started = true;
	}
	detect_second(&p->det, &p->prev, &v->sample);
	bool need = false;
	if (p->state != PATH_DIRECT && (p->relay < 0 || (size_t)p->relay >= v->n_relays))
		to_direct(p, v, PATH_DIRECT, "the relay in use is no longer known", out);
	else if (p->state == PATH_DIRECT)
		step_direct(p, v, &need, out);
	else if (p->state == PATH_RELAYED)
		step_relayed(p, v, out);
	else
		step_trying(p, v, out);
	prebind_step(p, v, need, out);
	p->prev = v->sample;
}

void path_adopt(struct path_peer *p, const struct path_view *v, int relay, bool sealed,
                const struct addr *set_ep, const struct addr *orig_ep, uint16_t orig_keepalive,
                int64_t since, struct path_out *out)
{
	out->n = 0;
	out->log[0] = '\0';
	p->relay = relay;
	p->sealed = sealed;
	p->direct_ep = *orig_ep;
	p->orig_keepalive = orig_keepalive;
	p->next_try = v->now + p->backoff_s;
	if (sealed) {
		/* The previous run's local port died with it: WireGuard goes to our new one. */
		p->set_ep = v->port;
		act_ep(out, PATH_A_ENDPOINT, &v->port);
		act_relay(out, PATH_A_ROUTE, relay);
		act_relay(out, PATH_A_SESSION_PUT, relay);
	} else {
		p->set_ep = *set_ep;
	}
	say(out, "adopted on relay %s after a restart", relay_name(v, relay));
	set_state(p, PATH_RELAYED, v->now, "adopted from the previous run");
	p->since = since;
}

void path_restore(struct path_peer *p, const struct path_view *v, const char *why,
                  struct path_out *out)
{
	char ep[ADDR_STRLEN];

	out->n = 0;
	out->log[0] = '\0';
	if (p->state != PATH_DIRECT) {
		say(out, "back to %s", fmt_ep(&p->direct_ep, ep));
		to_direct(p, v, PATH_DIRECT, why, out);
	} else if (v->port.len && p->direct_ep.len && addr_equal(&v->wg_ep, &v->port)) {
		/* The far side's frames roamed WireGuard onto the port, which is about to close. */
		say(out, "back to %s", fmt_ep(&p->direct_ep, ep));
		act_ep(out, PATH_A_ENDPOINT, &p->direct_ep);
	}
}
