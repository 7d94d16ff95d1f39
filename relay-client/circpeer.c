/* circpeer.c: one WireGuard peer carried over circuits (see circpeer.h). */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "circpeer.h"

/* The heartbeat (circpeer.h): one byte, shorter than any WireGuard message. */
static const uint8_t circpeer_beat[1] = {0};

void circpeer_init(struct circpeer *cp, const struct circpeer_io *io, unsigned cls)
{
	memset(cp, 0, sizeof(*cp));
	cp->io = *io;
	cp->cls = cls;
	cp->rotate_s = CIRCPEER_ROTATE_S;
}

static struct circpeer_slot *circpeer_find(struct circpeer *cp, enum circpeer_role role)
{
	for (unsigned i = 0; i < CIRCPEER_SLOTS; i++)
		if (cp->slot[i].role == role)
			return &cp->slot[i];
	return NULL;
}

static int circpeer_out(struct circpeer *cp, struct circpeer_slot *s, const struct cell *c,
                        uint64_t now)
{
	int r = cp->io.send_cell(cp->io.ctx, s->path.link, c);

	if (r == 0)
		s->last_tx_ms = now;
	return r;
}

/* The slot is free again; its circuit is forgotten without a cell (it is gone already). */
static void circpeer_forget(struct circpeer_slot *s)
{
	sodium_memzero(s, sizeof(*s));
	s->role = CIRCPEER_FREE;
}

/* DESTROY the slot's circuit (the relays free it now, not when idle) and free the slot. */
static void circpeer_kill(struct circpeer *cp, struct circpeer_slot *s)
{
	uint8_t body[CELL_BODY_1500];
	struct cell out = {.body = body};

	if (s->c.state != CIRC_DESTROYED) {
		circ_destroy(&s->c, &out);
		(void)cp->io.send_cell(cp->io.ctx, s->path.link, &out);
	}
	circpeer_forget(s);
}

/* A build failed: the next one after 1, 2, 4 .. CIRCPEER_BACKOFF_MAX_S seconds. */
static void circpeer_backoff(struct circpeer *cp, uint64_t now)
{
	cp->backoff_s = cp->backoff_s ? cp->backoff_s * 2 : 1;
	if (cp->backoff_s > CIRCPEER_BACKOFF_MAX_S)
		cp->backoff_s = CIRCPEER_BACKOFF_MAX_S;
	cp->next_build_ms = now + cp->backoff_s * 1000ULL;
}

/* The hop a build in s stopped at (the one that did not answer, or was refused), for the caller. */
static void circpeer_failed_at(struct circpeer *cp, const struct circpeer_slot *s)
{
	if (s->c.built >= s->path.n)
		return;
	memcpy(cp->failed_hop, s->path.hops[s->c.built].identity, 32);
	cp->failed_hops++;
}

static void circpeer_build_failed(struct circpeer *cp, uint64_t now)
{
	cp->build_failed++;
	circpeer_backoff(cp, now);
}

/* POOL -> MEETING: RENDEZVOUS with the current cookie. */
static void circpeer_meet(struct circpeer *cp, struct circpeer_slot *s, uint64_t now)
{
	uint8_t body[CELL_BODY_1500];
	struct cell out = {.body = body};

	if (circ_rendezvous(&s->c, cp->cookie, now, &out) < 0 ||
	    circpeer_out(cp, s, &out, now) < 0) {
		circpeer_kill(cp, s);
		circpeer_build_failed(cp, now);
		return;
	}
	s->role = CIRCPEER_MEETING;
	s->since_ms = now;
}

/*
 * The rule both sides follow: with nothing spliced and nothing meeting (or a switch wanted), the
 * POOL circuit goes to the rendezvous at once. Never a second MEETING: ours would meet ours.
 */
static void circpeer_settle(struct circpeer *cp, uint64_t now)
{
	struct circpeer_slot *pool = circpeer_find(cp, CIRCPEER_POOL);

	if (!pool || circpeer_find(cp, CIRCPEER_MEETING) || now < cp->remeet_ms)
		return;
	if (circpeer_find(cp, CIRCPEER_ACTIVE) && !cp->want_switch)
		return;
	cp->want_switch = false;
	circpeer_meet(cp, pool, now);
}

/* MEETING spliced: it carries our datagrams from now on; the previous ACTIVE is only read. */
static void circpeer_spliced(struct circpeer *cp, struct circpeer_slot *s, uint64_t now)
{
	struct circpeer_slot *act = circpeer_find(cp, CIRCPEER_ACTIVE);

	if (act) {
		struct circpeer_slot *old = circpeer_find(cp, CIRCPEER_OLD);

		if (old) /* two switches within CIRCPEER_OLD_MS: the oldest has had its time */
			circpeer_kill(cp, old);
		act->role = CIRCPEER_OLD;
		act->since_ms = now;
	}
	s->role = CIRCPEER_ACTIVE;
	s->since_ms = now;
	s->last_tx_ms = now;
	cp->last_rx_ms = now;
	cp->spliced++;
}

/* The network tore s down (DESTROY came back). */
static void circpeer_destroyed(struct circpeer *cp, struct circpeer_slot *s, uint64_t now)
{
	switch (s->role) {
	case CIRCPEER_BUILDING:
		circpeer_failed_at(cp, s);
		circpeer_build_failed(cp, now);
		break;
	case CIRCPEER_POOL:
		/* Not a failed build, but a relay that tears down each one must not make us spin. */
		cp->destroyed++;
		circpeer_backoff(cp, now);
		break;
	case CIRCPEER_ACTIVE:
	case CIRCPEER_MEETING:
		cp->destroyed++;
		break;
	default:
		break;
	}
	circpeer_forget(s);
}

bool circpeer_cell(struct circpeer *cp, uint64_t link, struct cell *c, uint64_t now_ms)
{
	uint8_t body[CELL_BODY_1500];
	struct cell out = {.body = body};
	struct circpeer_slot *s = NULL;
	const uint8_t *data = NULL;
	size_t len = 0;
	bool has_out;

	for (unsigned i = 0; i < CIRCPEER_SLOTS && !s; i++)
		if (cp->slot[i].role != CIRCPEER_FREE && cp->slot[i].path.link == link &&
		    cp->slot[i].c.circ_id == c->circ_id)
			s = &cp->slot[i];
	if (!s)
		return false;
	switch (circ_input(&s->c, c, now_ms, &out, &has_out, &data, &len)) {
	case CIRC_EV_NONE:
		if (has_out && circpeer_out(cp, s, &out, now_ms) < 0) { /* an EXTEND */
			circpeer_kill(cp, s);
			circpeer_build_failed(cp, now_ms);
		}
		break;
	case CIRC_EV_BUILT:
		s->role = CIRCPEER_POOL;
		s->since_ms = now_ms;
		s->last_tx_ms = now_ms;
		cp->backoff_s = 0;
		cp->next_build_ms = 0;
		break;
	case CIRC_EV_SPLICED:
		if (s->role == CIRCPEER_MEETING)
			circpeer_spliced(cp, s, now_ms);
		else
			cp->dropped++;
		break;
	case CIRC_EV_DATA:
		if (s->role != CIRCPEER_ACTIVE && s->role != CIRCPEER_OLD) {
			cp->dropped++;
			break;
		}
		cp->last_rx_ms = now_ms;
		if (len == sizeof(circpeer_beat) && data[0] == circpeer_beat[0]) {
			cp->beats_rx++;
			break;
		}
		cp->from_circ++;
		cp->io.to_wg(cp->io.ctx, data, len);
		break;
	case CIRC_EV_DESTROYED:
		circpeer_destroyed(cp, s, now_ms);
		break;
	case CIRC_EV_DROPPED:
		cp->dropped++;
		/* A hop's answer that did not verify: this build is over. */
		if (s->role == CIRCPEER_BUILDING && s->c.state == CIRC_FAILING) {
			circpeer_kill(cp, s);
			circpeer_build_failed(cp, now_ms);
		}
		break;
	}
	circpeer_settle(cp, now_ms);
	return true;
}

void circpeer_set_meet(struct circpeer *cp, const uint8_t rdv_id[32],
                       const uint8_t cookie[CIRCMSG_COOKIE_LEN], uint32_t phase_s)
{
	if (cp->has_meet && sodium_memcmp(cp->rdv_id, rdv_id, 32) != 0) {
		/* Everything not spliced goes to the old rendezvous; the ACTIVE stays till replaced. */
		for (unsigned i = 0; i < CIRCPEER_SLOTS; i++) {
			enum circpeer_role r = cp->slot[i].role;

			if (r == CIRCPEER_POOL || r == CIRCPEER_BUILDING || r == CIRCPEER_MEETING)
				circpeer_kill(cp, &cp->slot[i]);
		}
		cp->want_switch = true;
		cp->backoff_s = 0; /* the failures were the old rendezvous' */
		cp->next_build_ms = 0;
	}
	memcpy(cp->rdv_id, rdv_id, 32);
	memcpy(cp->cookie, cookie, CIRCMSG_COOKIE_LEN);
	cp->phase_s = cp->rotate_s ? phase_s % cp->rotate_s : 0;
	cp->has_meet = true;
}

/* Did the wall clock pass a rotation instant since the previous tick? */
static bool circpeer_rotation_due(const struct circpeer *cp, uint64_t wall_s)
{
	if (!cp->rotate_s || !cp->last_wall_s || wall_s <= cp->last_wall_s)
		return false;
	return (cp->last_wall_s + cp->phase_s) / cp->rotate_s !=
	       (wall_s + cp->phase_s) / cp->rotate_s;
}

/* One slot's timers. */
static void circpeer_slot_tick(struct circpeer *cp, struct circpeer_slot *s, uint64_t now)
{
	uint8_t body[CELL_BODY_1500];
	struct cell out = {.body = body};

	switch (s->role) {
	case CIRCPEER_BUILDING:
		if (circ_tick(&s->c, now, CIRCPEER_STEP_MS)) {
			circpeer_failed_at(cp, s);
			circpeer_kill(cp, s);
			circpeer_build_failed(cp, now);
		}
		break;
	case CIRCPEER_MEETING:
		/* Not met: the far side is away or elsewhere; the POOL goes on (no backoff). */
		if (circ_tick(&s->c, now,
		              circpeer_find(cp, CIRCPEER_ACTIVE) ? CIRCPEER_MEET_MS
		                                                 : CIRCPEER_LOSS_MEET_MS)) {
			circpeer_kill(cp, s);
			cp->build_failed++;
			cp->remeet_ms = now + CIRCPEER_REMEET_MS;
		}
		break;
	case CIRCPEER_POOL:
		if (now - s->last_tx_ms >= CIRCPEER_PAD_MS && circ_pad(&s->c, &out) == 0)
			(void)circpeer_out(cp, s, &out, now);
		break;
	case CIRCPEER_ACTIVE:
		if (now - cp->last_rx_ms >= CIRCPEER_DEAD_MS) {
			circpeer_kill(cp, s); /* the DESTROY tells the far side, if it still can */
			cp->dead++;
		} else if (now - s->last_tx_ms >= CIRCPEER_BEAT_MS &&
		           circ_send(&s->c, circpeer_beat, sizeof(circpeer_beat), &out) == 0 &&
		           circpeer_out(cp, s, &out, now) == 0) {
			cp->beats_tx++;
		}
		break;
	case CIRCPEER_OLD:
		if (now - s->since_ms >= CIRCPEER_OLD_MS)
			circpeer_kill(cp, s);
		break;
	default:
		break;
	}
}

bool circpeer_tick(struct circpeer *cp, uint64_t now_ms, uint64_t wall_s)
{
	bool free_slot = false;

	for (unsigned i = 0; i < CIRCPEER_SLOTS; i++)
		circpeer_slot_tick(cp, &cp->slot[i], now_ms);
	if (circpeer_rotation_due(cp, wall_s) && circpeer_find(cp, CIRCPEER_ACTIVE) &&
	    !circpeer_find(cp, CIRCPEER_MEETING)) {
		cp->want_switch = true;
		cp->rotations++;
	}
	cp->last_wall_s = wall_s;
	circpeer_settle(cp, now_ms);
	if (!cp->has_meet || circpeer_find(cp, CIRCPEER_POOL) ||
	    circpeer_find(cp, CIRCPEER_BUILDING))
		return false;
	for (unsigned i = 0; i < CIRCPEER_SLOTS; i++)
		free_slot |= cp->slot[i].role == CIRCPEER_FREE;
	return free_slot && now_ms >= cp->next_build_ms;
}

int circpeer_build(struct circpeer *cp, const struct circpeer_path *p, uint64_t now_ms)
{
	uint8_t body[CELL_BODY_1500];
	struct cell out = {.body = body};
	struct circpeer_slot *s;
	int r;

	if (!p) {
		circpeer_build_failed(cp, now_ms);
		return -ENOENT;
	}
	if (!cp->has_meet || p->n < 1 || p->n > ONION_MAX_HOPS ||
	    memcmp(p->hops[p->n - 1].identity, cp->rdv_id, 32) != 0)
		return -EINVAL;
	if (circpeer_find(cp, CIRCPEER_POOL) || circpeer_find(cp, CIRCPEER_BUILDING) ||
	    !(s = circpeer_find(cp, CIRCPEER_FREE)))
		return -EBUSY;
	if ((r = circ_start(&s->c, p->hops, p->n, cp->cls, now_ms, &out)) < 0) {
		circpeer_forget(s);
		circpeer_build_failed(cp, now_ms); /* a key that is no key: not again at once */
		return r;
	}
	s->path = *p;
	s->role = CIRCPEER_BUILDING;
	s->since_ms = now_ms;
	cp->builds++;
	if ((r = circpeer_out(cp, s, &out, now_ms)) < 0) {
		circpeer_forget(s);
		circpeer_build_failed(cp, now_ms);
		return r;
	}
	return 0;
}

int circpeer_send(struct circpeer *cp, const uint8_t *dgram, size_t len, uint64_t now_ms)
{
	uint8_t body[CELL_BODY_1500];
	struct cell out = {.body = body};
	struct circpeer_slot *s = circpeer_find(cp, CIRCPEER_ACTIVE);
	int r;

	if (!s)
		return -ENOTCONN;
	if (!len)
		return -EINVAL;
	if (len > circ_mtu(&s->c)) {
		cp->oversize++;
		return -EMSGSIZE;
	}
	if ((r = circ_send(&s->c, dgram, len, &out)) < 0 ||
	    (r = circpeer_out(cp, s, &out, now_ms)) < 0)
		return r;
	cp->to_circ++;
	return 0;
}

size_t circpeer_mtu(const struct circpeer *cp)
{
	for (unsigned i = 0; i < CIRCPEER_SLOTS; i++)
		if (cp->slot[i].role == CIRCPEER_ACTIVE)
			return circ_mtu(&cp->slot[i].c);
	return 0;
}

void circpeer_link_gone(struct circpeer *cp, uint64_t link, uint64_t now_ms)
{
	for (unsigned i = 0; i < CIRCPEER_SLOTS; i++) {
		struct circpeer_slot *s = &cp->slot[i];

		if (s->role == CIRCPEER_FREE || s->path.link != link)
			continue;
		if (s->role == CIRCPEER_BUILDING)
			circpeer_build_failed(cp, now_ms);
		else if (s->role != CIRCPEER_OLD)
			cp->lost++;
		circpeer_forget(s);
	}
	circpeer_settle(cp, now_ms);
}

void circpeer_drop_via(struct circpeer *cp, const uint8_t identity[32])
{
	for (unsigned i = 0; i < CIRCPEER_SLOTS; i++) {
		struct circpeer_slot *s = &cp->slot[i];
		bool via = false;

		if (s->role != CIRCPEER_BUILDING && s->role != CIRCPEER_POOL &&
		    s->role != CIRCPEER_MEETING)
			continue;
		for (unsigned h = 0; h + 1 < s->path.n; h++)
			via |= sodium_memcmp(s->path.hops[h].identity, identity, 32) == 0;
		if (!via)
			continue;
		circpeer_kill(cp, s);
		cp->lost++;
	}
}

void circpeer_stop(struct circpeer *cp)
{
	for (unsigned i = 0; i < CIRCPEER_SLOTS; i++)
		if (cp->slot[i].role != CIRCPEER_FREE)
			circpeer_kill(cp, &cp->slot[i]);
	cp->has_meet = false;
	cp->want_switch = false;
	cp->backoff_s = 0;
	cp->next_build_ms = 0;
	cp->remeet_ms = 0;
	cp->last_wall_s = 0;
}

const char *circpeer_state_name(const struct circpeer *cp)
{
	bool meeting = false, building = false;

	for (unsigned i = 0; i < CIRCPEER_SLOTS; i++) {
		switch (cp->slot[i].role) {
		case CIRCPEER_ACTIVE:
			return "spliced";
		case CIRCPEER_MEETING:
			meeting = true;
			break;
		case CIRCPEER_POOL:
		case CIRCPEER_BUILDING:
			building = true;
			break;
		default:
			break;
		}
	}
	return meeting ? "meeting" : building ? "building" : "none";
}

const struct circpeer_path *circpeer_active_path(const struct circpeer *cp)
{
	for (unsigned i = 0; i < CIRCPEER_SLOTS; i++)
		if (cp->slot[i].role == CIRCPEER_ACTIVE)
			return &cp->slot[i].path;
	return NULL;
}
