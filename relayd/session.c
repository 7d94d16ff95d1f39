/*
 * session.c: binding, pairing, rebinding and closing sessions (PROTOCOL.md §5.2), and the
 * reservation and circuit accounting of seed 004.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "relay.h"

struct session *session_find(struct relay *r, const uint8_t sid[16])
{
	struct session *s = table_get(&r->sessions, table_key16(&r->sessions, sid, 16));

	return s && sodium_memcmp(s->sid, sid, 16) == 0 ? s : NULL;
}

static uint32_t session_new_handle(struct relay *r)
{
	uint32_t h;

	do
		randombytes_buf(&h, sizeof(h));
	while (h == 0 || table_get(&r->handles, h));
	return h;
}

static void session_fill_bound(const struct session *s, const struct member *m,
                               struct ctrl_msg *reply)
{
	memset(reply, 0, sizeof(*reply));
	reply->type = CTRL_BOUND;
	memcpy(reply->sid, s->sid, 16);
	reply->handle = m->handle;
	reply->state = s->n == 2 ? PROTO_PAIRED : PROTO_WAITING;
	reply->mode = s->mode;
	reply->port = s->mode == PROTO_MODE_DIRECT ? s->port : 0;
}

/* Record handle among l's bindings; admit_check keeps them at RELAY_MAX_BINDS_PER_LINK. */
static void link_attach(struct link *l, uint32_t handle)
{
	if (l->nbinds < RELAY_MAX_BINDS_PER_LINK)
		l->binds[l->nbinds++] = handle;
}

static void link_detach(struct link *l, uint32_t handle)
{
	for (int i = 0; i < l->nbinds; i++)
		if (l->binds[i] == handle) {
			l->binds[i] = l->binds[--l->nbinds];
			return;
		}
}

struct member *session_link_member(struct relay *r, struct link *l, int i)
{
	struct session *s = table_get(&r->handles, l->binds[i]);

	for (int k = 0; s && k < s->n; k++)
		if (s->m[k].handle == l->binds[i])
			return &s->m[k];
	return NULL;
}

/* A member's link IP changed: the XDP path follows what direct_member accepts. */
static void session_link_ip(struct relay *r, struct member *m, const struct addr *ip)
{
	m->link_ip = *ip;
	fastpath_update(r, table_get(&r->handles, m->handle), ev_now_ms(r->loop));
}

void session_link_adopt(struct relay *r, struct link *old, struct link *l)
{
	for (int i = 0; i < old->nbinds; i++) {
		struct member *m = session_link_member(r, old, i);

		if (m) {
			m->link = l;
			session_link_ip(r, m, &l->addr);
			link_attach(l, m->handle);
		}
	}
	old->nbinds = 0;
	/* New keys, but the members' replay windows may outlive them: keep counting upwards. */
	l->data_send_counter = old->data_send_counter;
}

void session_link_roam(struct relay *r, struct link *l)
{
	for (int i = 0; i < l->nbinds; i++) {
		struct member *m = session_link_member(r, l, i);

		if (m)
			session_link_ip(r, m, &l->addr);
	}
}

/* Charge a membership (and, when paired, its circuit) to its key and source. */
static void session_charge(struct member *m, int reservations, int circuits)
{
	struct quota *q[2] = {m->qkey, m->qsrc};

	for (int i = 0; i < 2; i++)
		if (q[i]) {
			q[i]->reservations += (uint32_t)reservations;
			q[i]->circuits += (uint32_t)circuits;
		}
}

/* sm: the member's sealed-mode state (taken over), NULL in direct mode. */
static void session_member_init(struct relay *r, struct member *m, struct link *l,
                                struct sealed_member *sm)
{
	memset(m, 0, sizeof(*m));
	m->link = l;
	memcpy(m->client_pub, l->client_pub, 32);
	m->handle = session_new_handle(r);
	m->link_ip = l->addr;
	m->qkey = l->qkey;
	m->qsrc = l->qsrc;
	session_charge(m, 1, 0);
	m->sealed = sm;
	if (sm) {
		replay_init(&sm->recv_replay);
		sm->keys.gen = 0; /* session keys derived on first use */
	}
	link_attach(l, m->handle);
	r->reservations++;
}

/* Sealed members need a replay window and keys; direct ones do not. 0, or -1 without memory. */
static int session_sealed_new(int mode, struct sealed_member **sm)
{
	*sm = NULL;
	if (mode != PROTO_MODE_SEALED)
		return 0;
	*sm = malloc(sizeof(**sm));
	return *sm ? 0 : -1;
}

static void session_pair(struct relay *r, struct session *s)
{
	const struct limits *lim = &r->cfg.limits;
	uint64_t rate = s->limited ? lim->circuit_kbps * 1000 : 0;

	s->circuit = true;
	s->paired_ms = ev_now_ms(r->loop);
	tbucket_init(&s->bandwidth, rate, rate ? rate / 4 + 65536 : 0, s->paired_ms);
	r->circuits++;
	for (int i = 0; i < s->n; i++)
		session_charge(&s->m[i], 0, 1);
	stats_event(r, s->m[s->n - 1].link, "circuit accepted", s->sid, "mode=%s port=%u",
	            s->mode == PROTO_MODE_DIRECT ? "direct" : "sealed", s->port);
}

/* May a client holding these quotas (not authenticated: limited) take one more circuit? */
static bool session_circuit_fits(const struct limits *lim, const struct quota *qkey,
                                 const struct quota *qsrc, bool limited)
{
	if (!qkey || !qsrc)
		return false;
	return !limited || (qkey->circuits < lim->max_circuits_per_client &&
	                    qsrc->circuits < lim->max_circuits_per_source);
}

static int session_circuit_allowed(struct relay *r, struct session *s, struct link *l)
{
	const struct limits *lim = &r->cfg.limits;
	const struct member *w = &s->m[0];

	if (r->circuits >= lim->max_circuits)
		return PROTO_ERR_LIMIT_CIRCUITS;
	if (!session_circuit_fits(lim, l->qkey, l->qsrc, !l->authenticated))
		return PROTO_ERR_LIMIT_CIRCUITS;
	/* The waiting member's client pays too (a member without a link counts as limited). */
	if (!session_circuit_fits(lim, w->qkey, w->qsrc, !w->link || !w->link->authenticated))
		return PROTO_ERR_LIMIT_CIRCUITS;
	return 0;
}

/*
 * May a client holding these quotas take one more reservation? Per key (surviving the key's
 * links), per source and in all; a client that is not limited (authenticated) only meets the
 * total.
 */
static int session_reservation_fits(const struct relay *r, const struct quota *qkey,
                                    const struct quota *qsrc, bool limited)
{
	const struct limits *lim = &r->cfg.limits;

	if (r->reservations >= lim->max_reservations || !qkey || !qsrc)
		return PROTO_ERR_LIMIT_RESERVATIONS;
	if (limited && (qkey->reservations >= lim->max_reservations_per_client ||
	                qsrc->reservations >= lim->max_reservations_per_source))
		return PROTO_ERR_LIMIT_RESERVATIONS;
	return 0;
}

/*
 * Restored members obey the limits like new ones. Whether they were authenticated is not
 * saved, so in open mode the per-key and per-source counts apply to them; in keys and token
 * mode, the totals.
 */
int session_restore_member(struct relay *r, struct session *s, struct member *m)
{
	m->qkey = quota_key(r, m->client_pub);
	m->qsrc = quota_source(r, &m->link_ip);
	if (session_reservation_fits(r, m->qkey, m->qsrc, r->cfg.auth == AUTH_OPEN)) {
		quota_release(r, m->qkey);
		quota_release(r, m->qsrc);
		return PROTO_ERR_LIMIT_RESERVATIONS;
	}
	session_charge(m, 1, 0);
	table_put(&r->handles, m->handle, s);
	r->reservations++;
	s->n++;
	return 0;
}

int session_restore_circuit(struct relay *r, struct session *s)
{
	const struct limits *lim = &r->cfg.limits;
	bool open = r->cfg.auth == AUTH_OPEN;

	if (r->circuits >= lim->max_circuits)
		return PROTO_ERR_LIMIT_CIRCUITS;
	for (int i = 0; open && i < 2; i++)
		if (!session_circuit_fits(lim, s->m[i].qkey, s->m[i].qsrc, true))
			return PROTO_ERR_LIMIT_CIRCUITS;
	session_pair(r, s);
	return 0;
}

/*
 * A session restored after a restart does not know whether its members were authenticated, so
 * it starts with the circuit limits on; once every member is back on a link that is, and
 * LimitAuthenticated is off, they come off again.
 */
static void session_relax(struct relay *r, struct session *s)
{
	if (r->cfg.limits.limit_authenticated)
		return;
	for (int i = 0; i < s->n; i++)
		if (!s->m[i].link || !s->m[i].link->authenticated)
			return;
	s->limited = false;
}

static void session_leave(struct relay *r, struct session *s, int i, struct link *who);

/* Returns 0 with reply = BOUND, or a PROTO_ERR_* code for an ERROR reply. */
int session_bind(struct relay *r, struct link *l, const struct ctrl_msg *req,
                 struct ctrl_msg *reply)
{
	struct session *s = session_find(r, req->sid);
	struct sealed_member *sm;
	struct member *m;
	int e;

	/*
	 * A client key asking for its own membership in the other mode (its link moved onto a
	 * stream, or it restarted in another mode, and could not UNBIND first): the old
	 * membership goes as with UNBIND, then the BIND is taken as new (§5.2).
	 */
	for (int i = 0; s && s->mode != req->mode && i < s->n; i++)
		if (!sodium_memcmp(s->m[i].client_pub, l->client_pub, 32)) {
			session_leave(r, s, i, l);
			s = session_find(r, req->sid);
			break;
		}
	if (s) {
		if (s->mode != req->mode)
			return PROTO_ERR_MODE_MISMATCH;
		for (int i = 0; i < s->n; i++) {
			m = &s->m[i];
			if (sodium_memcmp(m->client_pub, l->client_pub, 32))
				continue;
			/* Rebind by the same client key: take over the membership. */
			if (m->link != l) {
				if (l->nbinds >= RELAY_MAX_BINDS_PER_LINK)
					return PROTO_ERR_LIMIT_RESERVATIONS;
				if (m->link)
					link_detach(m->link, m->handle);
				link_attach(l, m->handle);
			}
			m->link = l;
			m->link_ip = l->addr;
			session_relax(r, s);
			/* Its link IP and the circuit limits may have changed. */
			fastpath_update(r, s, ev_now_ms(r->loop));
			session_fill_bound(s, m, reply);
			/* Helpers renew every few minutes: not worth a line at the default level. */
			log_debug("event: reservation renewed sid=%02x%02x%02x%02x handle=%08x",
			          s->sid[0], s->sid[1], s->sid[2], s->sid[3], m->handle);
			return 0;
		}
		if (s->n == 2)
			return PROTO_ERR_SESSION_FULL;
		if (l->nbinds >= RELAY_MAX_BINDS_PER_LINK)
			return PROTO_ERR_LIMIT_RESERVATIONS;
		if ((e = session_reservation_fits(r, l->qkey, l->qsrc, !l->authenticated)) != 0 ||
		    (e = session_circuit_allowed(r, s, l)) != 0)
			return e;
		if (session_sealed_new(s->mode, &sm) < 0)
			return PROTO_ERR_INTERNAL;
		m = &s->m[1];
		session_member_init(r, m, l, sm);
		s->n = 2;
		/*
		 * "Announced" is per partner: whichever way the last one left (UNBIND, expiry), the
		 * newcomer has not heard that the member that stayed is active.
		 */
		s->m[0].announced = false;
		s->limited = s->limited || !l->authenticated || r->cfg.limits.limit_authenticated;
		table_put(&r->handles, m->handle, s);
		stats_event(r, l, "reservation accepted", s->sid, "handle=%08x", m->handle);
		session_pair(r, s);
		session_fill_bound(s, m, reply);
		/* Tell the waiting member its session is now paired. */
		if (s->m[0].link) {
			struct ctrl_msg other;

			session_fill_bound(s, &s->m[0], &other);
			control_send_ctrl(r, s->m[0].link, &other);
		}
		return 0;
	}
	if (l->nbinds >= RELAY_MAX_BINDS_PER_LINK)
		return PROTO_ERR_LIMIT_RESERVATIONS;
	if ((e = session_reservation_fits(r, l->qkey, l->qsrc, !l->authenticated)) != 0)
		return e;
	if (session_sealed_new(req->mode, &sm) < 0)
		return PROTO_ERR_INTERNAL;
	s = calloc(1, sizeof(*s));
	if (!s) {
		free(sm);
		return PROTO_ERR_INTERNAL;
	}
	s->relay = r;
	memcpy(s->sid, req->sid, 16);
	s->mode = req->mode;
	s->fd = -1;
	s->created_ms = s->last_rx_ms = ev_now_ms(r->loop);
	s->limited = !l->authenticated || r->cfg.limits.limit_authenticated;
	if (s->mode == PROTO_MODE_DIRECT && direct_open(r, s) < 0) {
		free(s);
		return PROTO_ERR_NO_PORTS;
	}
	m = &s->m[0];
	session_member_init(r, m, l, sm);
	s->n = 1;
	table_put(&r->sessions, table_key16(&r->sessions, s->sid, 16), s);
	table_put(&r->handles, m->handle, s);
	stats_event(r, l, "reservation accepted", s->sid, "handle=%08x mode=%s port=%u", m->handle,
	            s->mode == PROTO_MODE_DIRECT ? "direct" : "sealed", s->port);
	session_fill_bound(s, m, reply);
	return 0;
}

static void session_drop_member(struct relay *r, struct session *s, int i)
{
	struct member *m = &s->m[i];

	if (m->link)
		link_detach(m->link, m->handle);
	session_charge(m, -1, s->circuit ? -1 : 0);
	quota_release(r, m->qkey);
	quota_release(r, m->qsrc);
	table_del(&r->handles, m->handle);
	r->reservations--;
	if (m->sealed)
		sodium_memzero(m->sealed, sizeof(*m->sealed));
	free(m->sealed);
	sodium_memzero(m, sizeof(*m));
}

/* who: the link whose request closed it (its log budget pays), NULL for the relay's own. */
static void session_close_by(struct relay *r, struct session *s, const char *why, struct link *who)
{
	if (s->circuit) {
		r->circuits--;
		stats_event(r, who, "circuit closed", s->sid, "(%s) %.1f MB", why,
		            (double)s->bytes / 1e6);
	}
	for (int i = 0; i < s->n; i++) {
		stats_event(r, who, "reservation timed out", s->sid, "handle=%08x (%s)",
		            s->m[i].handle, why);
		session_drop_member(r, s, i);
	}
	s->circuit = false;
	s->n = 0;
	table_del(&r->sessions, table_key16(&r->sessions, s->sid, 16));
	if (s->mode == PROTO_MODE_DIRECT) {
		direct_release(r, s);
		return;
	}
	sodium_memzero(s, sizeof(*s));
	free(s);
}

void session_close(struct relay *r, struct session *s, const char *why)
{
	session_close_by(r, s, why, NULL);
}

void session_close_limit(struct relay *r, struct session *s, const char *why)
{
	struct ctrl_msg e = {.type = CTRL_ERROR, .code = PROTO_ERR_CIRCUIT_LIMIT_REACHED};

	memcpy(e.sid, s->sid, 16);
	snprintf(e.text, sizeof(e.text), "circuit %s reached", why);
	for (int i = 0; i < s->n; i++)
		if (s->m[i].link)
			control_send_ctrl(r, s->m[i].link, &e);
	session_close(r, s, why);
}

/*
 * Member i leaves (UNBIND, or a rebind of its key in the other mode): the last member closes
 * the session; else the circuit ends and the other member waits again and is told so. who:
 * the link whose request it was.
 */
static void session_leave(struct relay *r, struct session *s, int i, struct link *who)
{
	if (s->n == 1) {
		session_close_by(r, s, "unbound", who);
		return;
	}
	/* The circuit ends; the other member waits again (and no longer hears the one leaving). */
	fastpath_remove(r, s);
	r->circuits--;
	stats_event(r, who, "circuit closed", s->sid, "(unbound) %.1f MB", (double)s->bytes / 1e6);
	session_charge(&s->m[1 - i], 0, -1);
	session_drop_member(r, s, i);
	s->circuit = false;
	if (i == 0)
		s->m[0] = s->m[1];
	memset(&s->m[1], 0, sizeof(s->m[1]));
	s->n = 1;
	if (s->m[0].link) {
		struct ctrl_msg bound;

		session_fill_bound(s, &s->m[0], &bound);
		control_send_ctrl(r, s->m[0].link, &bound);
	}
}

int session_unbind(struct relay *r, struct link *l, uint32_t handle)
{
	struct session *s = table_get(&r->handles, handle);
	int i;

	if (!s)
		return PROTO_ERR_UNKNOWN_HANDLE;
	for (i = 0; i < s->n && s->m[i].handle != handle; i++)
		;
	if (i == s->n || s->m[i].link != l)
		return PROTO_ERR_UNKNOWN_HANDLE;
	session_leave(r, s, i, l);
	return 0;
}

void session_link_gone(struct relay *r, struct link *l)
{
	/* Memberships outlive their link: direct-mode traffic keeps flowing meanwhile. */
	for (int i = 0; i < l->nbinds; i++) {
		struct member *m = session_link_member(r, l, i);

		if (m && m->link == l)
			m->link = NULL;
	}
	l->nbinds = 0;
}

void session_expire(struct relay *r, uint64_t now_ms)
{
	const struct limits *lim = &r->cfg.limits;
	size_t pos = 0;
	struct session *s;

	while ((s = table_next(&r->sessions, &pos))) {
		bool linked = (s->n > 0 && s->m[0].link) || (s->n > 1 && s->m[1].link);

		/* Forwarding threads stamp last_rx_ms with their own loops' clocks (ev_since). */
		if (s->circuit && s->limited && lim->circuit_duration_s &&
		    ev_since(now_ms, s->paired_ms) >= lim->circuit_duration_s * 1000) {
			session_close_limit(r, s, "duration limit");
			continue;
		}
		if (!linked && ev_since(now_ms, s->last_rx_ms) >= lim->idle_timeout_s * 1000)
			session_close(r, s, "idle");
	}
}
