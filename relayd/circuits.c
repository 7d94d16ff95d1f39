/*
 * circuits.c: multi-hop circuits (PROTOCOL.md §13) in wgrelayd, `[Relay] Circuits = on`. The
 * switch (common/circsw.c) decides; this file does its I/O: it opens CELL frames on the
 * relay's links (client links and relay links alike), seals the cells the switch sends, and
 * answers its CONNECTs with the relay link the network part (network.h) has up, or dials one
 * (the EXTEND waits for it) and keeps it out of the link plan's trimming while circuits use it.
 *
 * The switch knows a link by a 64-bit id of ours, its "end", which outlives the link's keys:
 * a client's rekey (a new link of the same key, control.c) or a relay link's rekey moves the
 * end onto the new link, so circuits survive rekeys; a link that goes away for good takes its
 * circuits down (DESTROY to their other sides).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cell.h"
#include "circmsg.h"
#include "circsw.h"
#include "network.h"
#include "promtext.h"
#include "relay.h"

/* An EXTEND's CREATED, a rendezvous cookie's second circuit, a silent circuit: how long. */
#define CIRCUITS_EXTEND_MS     10000
#define CIRCUITS_RENDEZVOUS_MS 60000
#define CIRCUITS_IDLE_MS       PROTO_LINK_EXPIRE_MS
/* CREATEs (a Diffie-Hellman each) per client link: this many a second, this burst. */
#define CIRCUITS_CREATE_RATE  10
#define CIRCUITS_CREATE_BURST 20
/* CONNECTs answered after one drain of the switch (one per cell in practice). */
#define CIRCUITS_CONNECTS 64
/* EXTENDs waiting for a relay link being made for them, in all (each for CIRCUITS_EXTEND_MS). */
#define CIRCUITS_WAITS 64
/*
 * ... of them asked for by one source: the client links of one IPv4 address or IPv6 /64, or
 * one relay link (which carries other relays' clients). One client cannot take all the dials.
 */
#define CIRCUITS_WAITS_PER_SOURCE 8
/*
 * Relay links kept for circuits: pinned in the link plan (never surplus, outside MaxLinks)
 * while circuits use them, and for CIRCUITS_UNPIN_MS after the last one ended.
 */
#define CIRCUITS_PINS     64
#define CIRCUITS_UNPIN_MS 60000
/* circuits_connect: the link is being made; the CONNECT is answered when it is up. */
#define CIRCUITS_LATER UINT64_MAX
/* circuits_connect: refused, the asking source has CIRCUITS_WAITS_PER_SOURCE waiting (counted) */
#define CIRCUITS_REFUSED (UINT64_MAX - 1)

/* A link's cell state (one per link that carried or was chosen for a cell). */
struct link_cells {
	uint64_t end;                       /* the switch's id of the link */
	uint8_t send_key[32], recv_key[32]; /* cell_derive_key of the link's data keys */
	uint64_t send_counter;
	struct replay rp;
	struct tbucket creates;
	/* circuit ends of this link charged to a source (a client link's), and which one */
	uint32_t charged;
	uint64_t src;
};

/* Circuit ends on the client links of one source (IPv4 address, IPv6 /64): its quota hash. */
struct circuits_src {
	uint64_t key;
	uint32_t ends;
};

/* An EXTEND waiting for a relay link being made. */
struct circuits_wait {
	uint64_t req, until;
	uint64_t src; /* circuits_wait_src */
	uint8_t identity[32], noise[32];
};

/* A relay link pinned in the plan for circuits. */
struct circuits_pin {
	uint8_t identity[32];
	uint64_t idle_ms; /* when its last circuit ended (0: in use, or being made) */
};

struct circuits {
	struct circsw *sw;
	struct table ends; /* end -> struct link */
	struct table srcs; /* source hash -> struct circuits_src (only while it holds ends) */
	uint64_t next_end;
	struct circsw_act act; /* the action being carried out (1.4 KB: not on the stack) */
	struct circuits_wait waits[CIRCUITS_WAITS];
	size_t n_waits;
	struct circuits_pin pins[CIRCUITS_PINS];
	size_t n_pins;
	uint64_t dials; /* relay links dialled for circuits */
	/* what the switch does not count */
	uint64_t drop_frame, drop_rate, drop_auth, drop_source, drop_connect, drop_nolink;
	uint64_t cells_in, cells_out;
};

/* Add delta (+1, -1) to the ends held by source key. */
static void circuits_charge(struct circuits *cs, uint64_t key, int delta)
{
	struct circuits_src *s = table_get(&cs->srcs, key);

	if (!s) {
		if (delta < 0 || !(s = calloc(1, sizeof(*s))))
			return;
		s->key = key;
		if (table_put(&cs->srcs, key, s) < 0) {
			free(s);
			return;
		}
	}
	if (delta < 0 && s->ends > 0)
		s->ends--;
	else if (delta > 0)
		s->ends++;
	if (!s->ends)
		free(table_del(&cs->srcs, key));
}

/* The switch put an end on the link of end, or took one off: charged to a client's source. */
static void circuits_on_end(void *ctx, uint64_t end, int delta)
{
	struct relay *r = ctx;
	struct link *l = r->circ ? table_get(&r->circ->ends, end) : NULL;
	struct link_cells *lc = l ? l->cells : NULL;

	if (!lc)
		return;
	if (delta > 0 && !l->rp) {
		if (!lc->charged)
			lc->src = l->qsrc->hash;
		lc->charged++;
		circuits_charge(r->circ, lc->src, 1);
	} else if (delta < 0 && lc->charged) {
		lc->charged--;
		circuits_charge(r->circ, lc->src, -1);
	}
}

/* Take what lc still has charged off its source (its ends went without the table finding it). */
static void circuits_uncharge(struct circuits *cs, struct link_cells *lc)
{
	for (; cs && lc->charged; lc->charged--)
		circuits_charge(cs, lc->src, -1);
}

/* Circuit ends the source of client link l holds on client links now. */
static uint32_t circuits_src_ends(const struct circuits *cs, const struct link *l)
{
	const struct circuits_src *s =
	    table_get(&cs->srcs, l->cells && l->cells->charged ? l->cells->src : l->qsrc->hash);

	return s ? s->ends : 0;
}

int circuits_open(struct relay *r)
{
	struct circsw_cfg cfg = {
	    .max_circuits = r->cfg.limits.max_circuit_hops,
	    .max_per_link = r->cfg.limits.max_circuit_hops_per_link,
	    .extend_ms = CIRCUITS_EXTEND_MS,
	    .rendezvous_ms = CIRCUITS_RENDEZVOUS_MS,
	    .idle_ms = CIRCUITS_IDLE_MS,
	    .on_end = circuits_on_end,
	    .ctx = r,
	};
	struct circuits *cs;
	int rc;

	if (!r->cfg.circuits)
		return 0;
	if (!(cs = calloc(1, sizeof(*cs))))
		return -ENOMEM;
	memcpy(cfg.noise_priv, r->hs.priv, 32);
	rc = circsw_new(&cs->sw, &cfg);
	sodium_memzero(cfg.noise_priv, sizeof(cfg.noise_priv));
	if (rc < 0 || table_init(&cs->ends, 64) < 0 || table_init(&cs->srcs, 64) < 0) {
		circsw_free(cs->sw);
		table_free(&cs->ends);
		free(cs);
		return rc < 0 ? rc : -ENOMEM;
	}
	r->circ = cs;
	log_info("circuits on: at most %llu circuit hops, %llu per link, %llu per source",
	         (unsigned long long)cfg.max_circuits, (unsigned long long)cfg.max_per_link,
	         (unsigned long long)r->cfg.limits.max_circuit_hops_per_source);
	return 0;
}

void circuits_close(struct relay *r)
{
	struct circuits *cs = r->circ;
	size_t pos = 0;
	struct link *l;

	if (!cs)
		return;
	/* The links stay (control.c frees them); their cell state goes with the switch. */
	struct circuits_src *s;

	while ((l = table_next(&cs->ends, &pos)))
		if (l->cells)
			l->cells->end = l->cells->charged = 0;
	pos = 0;
	while ((s = table_next(&cs->srcs, &pos)))
		free(s);
	r->circ = NULL;
	table_free(&cs->ends);
	table_free(&cs->srcs);
	circsw_free(cs->sw);
	sodium_memzero(&cs->act, sizeof(cs->act));
	free(cs);
}

static void circuits_cells_keys(struct link_cells *lc, const struct link *l)
{
	cell_derive_key(lc->send_key, l->keys.data_send);
	cell_derive_key(lc->recv_key, l->keys.data_recv);
	lc->send_counter = 0;
	replay_init(&lc->rp);
}

/* l's cell state, made (with a new end) if it has none; NULL when out of memory. */
static struct link_cells *circuits_cells(struct relay *r, struct link *l)
{
	struct circuits *cs = r->circ;
	struct link_cells *lc = l->cells;

	if (lc)
		return lc;
	if (!(lc = calloc(1, sizeof(*lc))))
		return NULL;
	lc->end = ++cs->next_end;
	if (table_put(&cs->ends, lc->end, l) < 0) {
		free(lc);
		return NULL;
	}
	circuits_cells_keys(lc, l);
	tbucket_init(&lc->creates, CIRCUITS_CREATE_RATE, CIRCUITS_CREATE_BURST, ev_now_ms(r->loop));
	l->cells = lc;
	return lc;
}

/* Seal cell c on l (which has cell state) and send it. */
static void circuits_seal_send(struct relay *r, struct link *l, const struct cell *c)
{
	uint8_t frame[CELL_FRAME_LEN(CELL_BODY_1500)];
	int len = cell_seal(frame, sizeof(frame), l->keys.remote_index, l->cells->send_counter++,
	                    l->cells->send_key, c);

	if (len < 0) {
		r->circ->drop_nolink++;
		return;
	}
	r->circ->cells_out++;
	control_sendto(r, l->fd, frame, (size_t)len, &l->addr);
}

/* Send the switch's cell on its link. */
static void circuits_send(struct relay *r, const struct circsw_act *a)
{
	struct link *l = table_get(&r->circ->ends, a->link);

	if (!l || !l->cells) {
		r->circ->drop_nolink++;
		return;
	}
	circuits_seal_send(r, l, &a->cell);
}

/* Keep the relay link with identity in the plan while circuits use it (best effort). */
static void circuits_pin(struct relay *r, const uint8_t identity[32])
{
	struct circuits *cs = r->circ;

	for (size_t i = 0; i < cs->n_pins; i++)
		if (!memcmp(cs->pins[i].identity, identity, 32)) {
			cs->pins[i].idle_ms = 0;
			return;
		}
	if (cs->n_pins == CIRCUITS_PINS || linkplan_pin(r->net->plan, identity, true) < 0)
		return;
	memcpy(cs->pins[cs->n_pins].identity, identity, 32);
	cs->pins[cs->n_pins++].idle_ms = 0;
}

/*
 * The end of the relay link to the relay of identity whose Noise key is noise: one that is up
 * (the descriptor it proved names that key); CIRCUITS_LATER when a link is being made to it
 * (its verified descriptor, in the store, names that key), the answer then waits for the link
 * (circuits_relay_up) or the extend timeout; or 0: none can be had.
 */
/*
 * Who asked for a CONNECT that came in on the link of end `from`, for the bound on waits: a
 * client link's source (its quota hash, made odd) or a relay link itself (its end, even).
 */
static uint64_t circuits_wait_src(struct circuits *cs, uint64_t from)
{
	const struct link *l = table_get(&cs->ends, from);

	if (l && !l->rp && l->qsrc)
		return l->qsrc->hash | 1;
	return from << 1;
}

static uint64_t circuits_connect(struct relay *r, uint64_t req, uint64_t from,
                                 const uint8_t identity[32], const uint8_t noise[32])
{
	struct circuits *cs = r->circ;
	struct network *n = r->net;
	struct rpeer *rp = n ? netlinks_find(n, identity, true) : NULL;
	struct linkplan_action a = {.act = LINKPLAN_CONNECT, .cls = LINKPLAN_DISCOVERED};
	const struct dstore_desc *dd;
	struct link_cells *lc;
	uint64_t now = ev_now_ms(r->loop), src;
	size_t mine = 0;

	if (rp) {
		if (!rp->link || sodium_memcmp(rp->noise, noise, 32) != 0 ||
		    !(lc = circuits_cells(r, rp->link)))
			return 0;
		circuits_pin(r, identity);
		return lc->end;
	}
	/* None up: make one, to the relay its verified descriptor names, if there is room. */
	src = circuits_wait_src(cs, from);
	for (size_t i = 0; i < cs->n_waits; i++)
		mine += cs->waits[i].src == src;
	if (mine >= CIRCUITS_WAITS_PER_SOURCE) {
		cs->drop_source++;
		return CIRCUITS_REFUSED;
	}
	if (!n || cs->n_waits == CIRCUITS_WAITS || !memcmp(identity, n->id.pk, 32) ||
	    !(dd = dstore_get(gossip_store(n->g), identity)) ||
	    sodium_memcmp(dd->d.noise, noise, 32) != 0 ||
	    desc_check_time(&dd->d, net_unix_ms() / 1000))
		return 0;
	if (net_candidate(n, &dd->d, LINKPLAN_DISCOVERED) < 0 && !netlinks_find(n, identity, false))
		return 0;
	circuits_pin(r, identity);
	memcpy(a.identity, identity, 32);
	memcpy(a.noise, noise, 32);
	a.addr = dd->d.endpoints[0].addr;
	cs->dials++;
	netlinks_connect(n, &a);
	cs->waits[cs->n_waits] =
	    (struct circuits_wait){.req = req, .until = now + CIRCUITS_EXTEND_MS, .src = src};
	memcpy(cs->waits[cs->n_waits].identity, identity, 32);
	memcpy(cs->waits[cs->n_waits].noise, noise, 32);
	cs->n_waits++;
	return CIRCUITS_LATER;
}

/* Carry out what the switch queued: cells to send, CONNECTs to answer (which queue more). */
static void circuits_pump(struct relay *r)
{
	struct circuits *cs = r->circ;
	uint64_t reqs[CIRCUITS_CONNECTS], ends[CIRCUITS_CONNECTS];
	uint64_t now = ev_now_ms(r->loop);

	/* An answer to a CONNECT queues one CREATE or one DESTROY, never another CONNECT. */
	for (int round = 0; round < 2; round++) {
		size_t nc = 0;

		while (circsw_next(cs->sw, &cs->act)) {
			if (cs->act.type == CIRCSW_SEND) {
				circuits_send(r, &cs->act);
				continue;
			}
			ends[nc] = circuits_connect(r, cs->act.req, cs->act.link, cs->act.identity,
			                            cs->act.noise_pub);
			reqs[nc] = cs->act.req;
			if (ends[nc] == CIRCUITS_LATER)
				continue;
			if (ends[nc] == CIRCUITS_REFUSED)
				ends[nc] = 0; /* counted as "source" */
			else if (!ends[nc])
				cs->drop_connect++;
			if (nc + 1 < CIRCUITS_CONNECTS)
				nc++;
			else /* never reached: one CONNECT per cell; fail the rest */
				circsw_connected(cs->sw, reqs[nc], 0, now);
		}
		if (!nc)
			return;
		for (size_t i = 0; i < nc; i++)
			circsw_connected(cs->sw, reqs[i], ends[i], now);
	}
}

/*
 * Whether client link l may start circuits: any link on an open relay; on a keys relay a
 * client key of AllowedKeys; on a token relay a link that a BIND with a valid token admitted.
 */
static bool circuits_admitted(struct relay *r, const struct link *l)
{
	switch (r->cfg.auth) {
	case AUTH_KEYS:
		return admit_client_allowed(r, l->client_pub);
	case AUTH_TOKEN:
		return l->authenticated;
	case AUTH_OPEN:
		break;
	}
	return true;
}

void circuits_frame(struct relay *r, uint8_t *p, size_t n, const struct addr *src)
{
	struct circuits *cs = r->circ;
	uint64_t now = ev_now_ms(r->loop), counter;
	struct link_cells *lc;
	uint8_t key[32];
	struct cell c;
	struct link *l;
	uint32_t index;
	int rc;

	if (!cs) { /* Circuits = off: a frame this relay does not speak */
		r->st.drops[DROP_MALFORMED]++;
		return;
	}
	cell_link_fields(p, &index, &counter);
	if (!(l = table_get(&r->links, index))) {
		r->st.drops[DROP_UNKNOWN_LINK]++;
		return;
	}
	/* A link's cell state is made only once a cell of it proved authentic. */
	if (!(lc = l->cells))
		cell_derive_key(key, l->keys.data_recv);
	rc = cell_open(p, n, lc ? lc->recv_key : key, lc ? &lc->rp : NULL, &c);
	sodium_memzero(key, sizeof(key));
	if (rc < 0) {
		cs->drop_frame++;
		return;
	}
	if (!lc) {
		if (!(lc = circuits_cells(r, l))) {
			cs->drop_frame++;
			return;
		}
		replay_accept(&lc->rp, counter);
	}
	cs->cells_in++;
	l->last_rx_ms = now;
	/* May prove l, which then takes its key's earlier link's end over (circuits_link_replaced). */
	control_link_seen(r, l, src, n);
	/*
	 * A client starts a circuit here only if admitted as for a BIND ([Auth] Mode), while its
	 * source holds fewer than MaxCircuitHopsPerSource, and its CREATEs cost a Diffie-Hellman
	 * each: limited per link. A relay link's CREATEs are the EXTENDs of the clients of the
	 * relay before, each admitted and limited there.
	 */
	if (c.cmd == CELL_CREATE && !l->rp) {
		uint64_t *refused =
		    !circuits_admitted(r, l) ? &cs->drop_auth
		    : circuits_src_ends(cs, l) >= r->cfg.limits.max_circuit_hops_per_source
		        ? &cs->drop_source
		    : !tbucket_take(&l->cells->creates, 1, now) ? &cs->drop_rate
		                                                : NULL;

		if (refused) {
			uint8_t body[CELL_BODY_1500];
			struct cell d = {.circ_id = c.circ_id,
			                 .cmd = CELL_DESTROY,
			                 .body = body,
			                 .body_len = c.body_len};

			(*refused)++;
			/* Said at once (one cell for one), as the switch answers a CREATE it refuses. */
			circmsg_put_destroy(body, c.body_len, 0);
			circuits_seal_send(r, l, &d);
			return;
		}
	}
	circsw_cell(cs->sw, l->cells->end, l->rp != NULL, &c, now);
	circuits_pump(r);
}

void circuits_link_replaced(struct relay *r, struct link *old, struct link *l)
{
	struct circuits *cs = r->circ;
	struct link_cells *lc = old->cells;

	if (!lc)
		return;
	old->cells = NULL;
	if (!cs || !lc->end) {
		sodium_memzero(lc, sizeof(*lc));
		free(lc);
		return;
	}
	if (l->cells) {
		/* l opened a cell of its own already: it keeps its keys and window, takes the end. */
		if (l->cells->end && table_get(&cs->ends, l->cells->end) == l) {
			circsw_link_down(cs->sw,
			                 l->cells->end); /* none in practice: said, not lost */
			table_del(&cs->ends, l->cells->end);
		}
		circuits_uncharge(cs, l->cells);
		l->cells->end = lc->end;
		l->cells->charged = lc->charged; /* still the old link's source's */
		l->cells->src = lc->src;
		sodium_memzero(lc, sizeof(*lc));
		free(lc);
	} else {
		l->cells = lc;
		circuits_cells_keys(lc, l);
	}
	if (table_put(&cs->ends, l->cells->end, l) < 0) {
		/* No room to move it: the old link's circuits end with it. */
		circsw_link_down(cs->sw, l->cells->end);
		table_del(&cs->ends, l->cells->end);
		circuits_uncharge(cs, l->cells);
		l->cells->end = 0;
		circuits_pump(r);
	}
}

void circuits_link_gone(struct relay *r, struct link *l)
{
	struct circuits *cs = r->circ;
	struct link_cells *lc = l->cells;

	if (!lc)
		return;
	if (cs && lc->end && table_get(&cs->ends, lc->end) == l) {
		/* Found through the table while its ends go: their charges come off its source. */
		circsw_link_down(cs->sw, lc->end);
		table_del(&cs->ends, lc->end);
		l->cells = NULL;
		circuits_pump(r);
	}
	l->cells = NULL;
	circuits_uncharge(cs, lc);
	sodium_memzero(lc, sizeof(*lc));
	free(lc);
}

void circuits_relay_up(struct relay *r, struct rpeer *rp)
{
	struct circuits *cs = r->circ;
	uint64_t now = ev_now_ms(r->loop);
	struct link_cells *lc;

	if (!cs || !rp->link)
		return;
	for (size_t i = 0; i < cs->n_waits;) {
		struct circuits_wait *w = &cs->waits[i];

		if (memcmp(w->identity, rp->identity, 32)) {
			i++;
			continue;
		}
		/* The relay that answered must hold the key the client's handshake is for. */
		if (sodium_memcmp(rp->noise, w->noise, 32) == 0 &&
		    (lc = circuits_cells(r, rp->link)))
			circsw_connected(cs->sw, w->req, lc->end, now);
		else {
			cs->drop_connect++;
			circsw_connected(cs->sw, w->req, 0, now);
		}
		*w = cs->waits[--cs->n_waits];
	}
	circuits_pump(r);
}

/* Waits past their time fail; pinned links that carried no circuit for a while are unpinned. */
static void circuits_expire(struct relay *r, uint64_t now)
{
	struct circuits *cs = r->circ;

	for (size_t i = 0; i < cs->n_waits;) {
		if (now < cs->waits[i].until) {
			i++;
			continue;
		}
		cs->drop_connect++;
		circsw_connected(cs->sw, cs->waits[i].req, 0, now);
		cs->waits[i] = cs->waits[--cs->n_waits];
	}
	for (size_t i = 0; i < cs->n_pins;) {
		struct circuits_pin *p = &cs->pins[i];
		struct rpeer *rp = netlinks_find(r->net, p->identity, true);
		bool waited = false;

		for (size_t j = 0; j < cs->n_waits && !waited; j++)
			waited = !memcmp(cs->waits[j].identity, p->identity, 32);
		if (waited || (rp && rp->link && rp->link->cells &&
		               circsw_link_circuits(cs->sw, rp->link->cells->end))) {
			p->idle_ms = 0;
		} else if (!p->idle_ms) {
			p->idle_ms = now ? now : 1;
		} else if (now - p->idle_ms >= CIRCUITS_UNPIN_MS) {
			linkplan_pin(r->net->plan, p->identity, false);
			*p = cs->pins[--cs->n_pins];
			continue;
		}
		i++;
	}
}

void circuits_tick(struct relay *r, uint64_t now_ms)
{
	if (!r->circ)
		return;
	circsw_tick(r->circ->sw, now_ms);
	circuits_expire(r, now_ms);
	circuits_pump(r);
}

size_t circuits_metrics(const struct relay *r, char *out, size_t cap)
{
	static const char *const drops[CIRCSW_DROP_MAX] = {
	    [CIRCSW_DROP_UNKNOWN] = "unknown", [CIRCSW_DROP_LAYER] = "layer",
	    [CIRCSW_DROP_REPLAY] = "replay",   [CIRCSW_DROP_MSG] = "message",
	    [CIRCSW_DROP_HS] = "handshake",    [CIRCSW_DROP_FULL] = "full",
	    [CIRCSW_DROP_PADDING] = "padding",
	};
	const struct circuits *cs = r->circ;
	const struct circsw_stats *st;
	size_t n = 0;

	SCALAR("wgrelayd_circuit_enabled", "gauge", "1 when multi-hop circuits are on.",
	       cs != NULL);
	if (!cs)
		return n;
	st = circsw_stats(cs->sw);
	SCALAR("wgrelayd_circuit_hops", "gauge", "Multi-hop circuits this relay is a hop of.",
	       st->circuits);
	PUT("# HELP wgrelayd_circuit_events_total Multi-hop circuit hops created, extended, "
	    "spliced at a rendezvous, destroyed.\n"
	    "# TYPE wgrelayd_circuit_events_total counter\n"
	    "wgrelayd_circuit_events_total{event=\"created\"} %llu\n"
	    "wgrelayd_circuit_events_total{event=\"extended\"} %llu\n"
	    "wgrelayd_circuit_events_total{event=\"spliced\"} %llu\n"
	    "wgrelayd_circuit_events_total{event=\"destroyed\"} %llu\n",
	    (unsigned long long)st->created, (unsigned long long)st->extended,
	    (unsigned long long)st->spliced, (unsigned long long)st->destroyed);
	PUT("# HELP wgrelayd_circuit_cells_total Cells passed on away from a circuit's builder "
	    "(forward), towards it (backward), made here (originated).\n"
	    "# TYPE wgrelayd_circuit_cells_total counter\n"
	    "wgrelayd_circuit_cells_total{dir=\"forward\"} %llu\n"
	    "wgrelayd_circuit_cells_total{dir=\"backward\"} %llu\n"
	    "wgrelayd_circuit_cells_total{dir=\"originated\"} %llu\n",
	    (unsigned long long)st->forwarded, (unsigned long long)st->backward,
	    (unsigned long long)st->originated);
	SCALAR("wgrelayd_circuit_frames_total", "counter", "CELL frames that opened on a link.",
	       cs->cells_in);
	SCALAR("wgrelayd_circuit_frames_sent_total", "counter", "CELL frames sent.", cs->cells_out);
	SCALAR("wgrelayd_circuit_dials_total", "counter",
	       "Relay links dialled to extend a circuit to a relay with none up.", cs->dials);
	SCALAR("wgrelayd_circuit_links_kept", "gauge",
	       "Relay links kept for circuits (outside MaxLinks while in use).", cs->n_pins);
	PUT("# HELP wgrelayd_circuit_drops_total Cells dropped, by reason.\n"
	    "# TYPE wgrelayd_circuit_drops_total counter\n");
	for (int i = 0; i < CIRCSW_DROP_MAX; i++)
		PUT("wgrelayd_circuit_drops_total{reason=\"%s\"} %llu\n", drops[i],
		    (unsigned long long)st->drops[i]);
	PUT("wgrelayd_circuit_drops_total{reason=\"frame\"} %llu\n"
	    "wgrelayd_circuit_drops_total{reason=\"rate\"} %llu\n"
	    "wgrelayd_circuit_drops_total{reason=\"auth\"} %llu\n"
	    "wgrelayd_circuit_drops_total{reason=\"source\"} %llu\n"
	    "wgrelayd_circuit_drops_total{reason=\"connect\"} %llu\n"
	    "wgrelayd_circuit_drops_total{reason=\"no-link\"} %llu\n",
	    (unsigned long long)cs->drop_frame, (unsigned long long)cs->drop_rate,
	    (unsigned long long)cs->drop_auth, (unsigned long long)cs->drop_source,
	    (unsigned long long)cs->drop_connect, (unsigned long long)cs->drop_nolink);
	return n;
}
