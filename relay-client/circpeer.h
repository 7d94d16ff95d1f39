/*
 * circpeer.h: one WireGuard peer carried over circuits (PROTOCOL.md §13, §13.6; issue 17).
 * Sans-I/O: the helper's links already carry cells; cells go out through io->send_cell on the
 * link id the caller gave with the path, cells that opened on a link come in through
 * circpeer_cell, the clock comes in as arguments. Nothing is allocated; the callbacks must not
 * call back into the same circpeer.
 *
 * At most CIRCPEER_SLOTS circuits, each in one role:
 *   ACTIVE   spliced at the rendezvous: carries our datagrams;
 *   MEETING  RENDEZVOUS sent, not yet spliced; never more than one, since two of ours waiting
 *            with one cookie would splice with each other;
 *   POOL     built to the rendezvous, no RENDEZVOUS yet: a switch uses it without waiting;
 *   BUILDING CREATE or an EXTEND in flight;
 *   OLD      replaced by a newer ACTIVE: still read for CIRCPEER_OLD_MS, then DESTROYed.
 *
 * Rules (both sides follow them without talking, so they meet at the rendezvous):
 *   - Once a meet point is set, one POOL or BUILDING circuit exists at all times: circpeer_tick
 *     asks for a build when there is none and the backoff allows (1, 2, 4 .. 30 s after failed
 *     builds, 0 after a build that succeeded).
 *   - No ACTIVE and no MEETING (the first meeting, or after a loss): the POOL circuit gets
 *     RENDEZVOUS at once. MEETING spliced: it is ACTIVE, the previous ACTIVE is OLD (an older
 *     OLD is DESTROYed then). MEETING not met in CIRCPEER_MEET_MS (CIRCPEER_LOSS_MEET_MS when
 *     no circuit is in use): DESTROYed, and the next meeting waits CIRCPEER_REMEET_MS.
 *   - Heartbeat: a DATA message of exactly one byte 0x00 (a WireGuard datagram is never shorter
 *     than 32 bytes, so it is never one; never handed to WireGuard) on ACTIVE when we sent
 *     nothing on it for CIRCPEER_BEAT_MS. Anything from the far side on ACTIVE or OLD counts as
 *     life. ACTIVE silent for CIRCPEER_DEAD_MS is dead: DESTROYed (the DESTROY reaches the
 *     rendezvous and the far side's circuit, which switches too) and the POOL goes MEETING.
 *   - DESTROY from the network: for ACTIVE the same switch; for MEETING the POOL goes on; for
 *     POOL or BUILDING a new build.
 *   - Rotation, make-before-break: at wall times t with (t + phase) % rotate_s == 0 (10 min)
 *     (the same instants on both sides), with ACTIVE and no MEETING, the POOL goes MEETING (when
 *     there is no POOL yet, the next one built does). Datagrams move to the new circuit only
 *     once it is spliced, and the old one is still read, so nothing is lost.
 *   - A changed rendezvous: POOL, BUILDING and MEETING (all to the old one) are DESTROYed, the
 *     ACTIVE is kept; the next POOL, built to the new one, goes MEETING like a rotation.
 *   - POOL circuits get PADDING every CIRCPEER_PAD_MS (relays drop circuits idle for 180 s).
 */
#ifndef WGR_CIRCPEER_H
#define WGR_CIRCPEER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cell.h"
#include "circbuild.h"
#include "circmsg.h"
#include "onion.h"

#define CIRCPEER_STEP_MS 10000 /* a CREATE or EXTEND unanswered: the build failed */
#define CIRCPEER_MEET_MS 55000 /* a RENDEZVOUS not met (the relay's wait is 60 s, §13.5) */
/* ... with no circuit in use: both sides meet within seconds after a loss, so a longer wait
 * means the far side is elsewhere or the rendezvous is gone; a fresh circuit finds out */
#define CIRCPEER_LOSS_MEET_MS 10000
/* after a meeting gave up, the next one waits this long, so that the DESTROY of the one given
 * up reaches the rendezvous first (else the two of ours could be spliced with each other) */
#define CIRCPEER_REMEET_MS     1000
#define CIRCPEER_BEAT_MS       1000 /* a heartbeat to the far side when we sent nothing this long */
#define CIRCPEER_DEAD_MS       3000 /* nothing from the far side this long while spliced: dead */
#define CIRCPEER_OLD_MS        10000 /* a replaced circuit is still read this long, then DESTROYed */
#define CIRCPEER_ROTATE_S      600   /* rotation period */
#define CIRCPEER_PAD_MS        30000 /* a PADDING cell on the pool circuit when idle this long */
#define CIRCPEER_BACKOFF_MAX_S 30
#define CIRCPEER_SLOTS         4

struct circpeer_io {
	void *ctx;
	int (*send_cell)(void *ctx, uint64_t link, const struct cell *c); /* 0 or -errno */
	void (*to_wg)(void *ctx, const uint8_t *dgram, size_t len);       /* far side's datagram */
};

struct circpeer_path { /* what the caller chose (pathsel) for one circuit */
	uint64_t link; /* the caller's id of the helper link to hops[0] */
	struct circ_hop hops[ONION_MAX_HOPS];
	char country[ONION_MAX_HOPS][3]; /* for status only, "" unknown */
	unsigned n;                      /* hops, the last one is the rendezvous */
};

enum circpeer_role {
	CIRCPEER_FREE = 0,
	CIRCPEER_BUILDING,
	CIRCPEER_POOL,
	CIRCPEER_MEETING,
	CIRCPEER_ACTIVE,
	CIRCPEER_OLD,
};

struct circpeer_slot {
	enum circpeer_role role;
	struct circ c;
	struct circpeer_path path;
	uint64_t since_ms;   /* when it took this role */
	uint64_t last_tx_ms; /* the last cell we sent on it (heartbeat, padding) */
};

struct circpeer {
	struct circpeer_io io;
	unsigned cls; /* CIRCHS_CLASS_1500 or CIRCHS_CLASS_1280 */
	struct circpeer_slot slot[CIRCPEER_SLOTS];
	bool has_meet;
	uint8_t rdv_id[32];
	uint8_t cookie[CIRCMSG_COOKIE_LEN];
	uint32_t phase_s;
	/* the rotation period: CIRCPEER_ROTATE_S from circpeer_init; 0 never. Both sides of a
	 * pair must use one period, or a side's rotations find no one at the rendezvous (its
	 * circuit in use goes on, the meeting times out). */
	uint32_t rotate_s;
	bool want_switch;     /* a rotation or a new rendezvous waits for a POOL to go MEETING */
	uint64_t last_wall_s; /* the wall clock of the previous tick (0: none yet) */
	uint64_t last_rx_ms;  /* the far side's last sign of life */
	unsigned backoff_s;   /* the delay after the last failed build (0: none) */
	uint64_t next_build_ms;
	uint64_t remeet_ms; /* no new MEETING before this (CIRCPEER_REMEET_MS) */
	/* Counters. destroyed: DESTROYs from the far end or a relay for an ACTIVE, MEETING or POOL
	 * circuit (not for OLD, which the far side tears down as we do; a BUILDING one counts in
	 * build_failed). lost: circuits gone with their link (circpeer_link_gone) or dropped as going
	 * through a suspected relay (circpeer_drop_via). dropped: cells of
	 * ours that did not open, parse or belong. beats_*: heartbeats sent and received. */
	/* The hop the last failed build stopped at (its EXTEND or CREATE unanswered or refused),
	 * and how many times one was recorded: the caller may avoid that relay for a while. */
	uint8_t failed_hop[32];
	uint64_t failed_hops;
	uint64_t builds, build_failed, spliced, destroyed, rotations, dead, to_circ, from_circ,
	    oversize, dropped, lost, beats_tx, beats_rx;
};

/* Empty, no meet point: tick asks for nothing until circpeer_set_meet. cls: CIRCHS_CLASS_*. */
void circpeer_init(struct circpeer *cp, const struct circpeer_io *io, unsigned cls);
/*
 * Every tick: the pair's rendezvous (Ed25519 identity), the cookie of the current hour
 * (sid_cookie, the caller computes it) and the rotation phase (seconds, from the pair's secret,
 * the same on both sides). A changed rendezvous: new circuits go there; the active circuit is
 * kept until a new one is spliced (make-before-break).
 */
void circpeer_set_meet(struct circpeer *cp, const uint8_t rdv_id[32],
                       const uint8_t cookie[CIRCMSG_COOKIE_LEN], uint32_t phase_s);
/*
 * Timers (call at least once a second). Returns true when it wants a new circuit built now:
 * the caller chooses a path ending at the rendezvous and calls circpeer_build.
 */
bool circpeer_tick(struct circpeer *cp, uint64_t now_ms, uint64_t wall_s);
/*
 * Start a circuit on p (its last hop must be the rendezvous): CREATE sent. 0, -EINVAL (no meet
 * point, a bad path), -EBUSY (a POOL or BUILDING circuit exists, or no slot is free), or the
 * -errno of send_cell (a failed build). p NULL: the caller found no path; counted as a failed
 * build (-ENOENT), so the next ask comes after the backoff.
 */
int circpeer_build(struct circpeer *cp, const struct circpeer_path *p, uint64_t now_ms);
/* A cell that came on link `link`: true if it was one of ours (consumed), false if not. */
bool circpeer_cell(struct circpeer *cp, uint64_t link, struct cell *c, uint64_t now_ms);
/*
 * A datagram from WireGuard: into the active circuit. 0, -ENOTCONN (none spliced), -EMSGSIZE
 * (over the active circuit's MTU), -EINVAL (empty), -errno of send_cell.
 */
int circpeer_send(struct circpeer *cp, const uint8_t *dgram, size_t len, uint64_t now_ms);
/* The largest datagram circpeer_send carries now (0: none spliced). */
size_t circpeer_mtu(const struct circpeer *cp);
/* The caller's link is gone (freed, or its relay changed): its circuits are lost, no cells. */
void circpeer_link_gone(struct circpeer *cp, uint64_t link, uint64_t now_ms);
/*
 * A relay is suspected dead (the caller's judgement: the circuit in use through it went
 * silent): the circuits not in use that go through it before the rendezvous are DESTROYed
 * (counted in lost), with no backoff; the next tick asks for a new one.
 */
void circpeer_drop_via(struct circpeer *cp, const uint8_t identity[32]);
/* DESTROY every circuit (cells sent), back to nothing: no meet point until set again. */
void circpeer_stop(struct circpeer *cp);
/*
 * For status: "none", "building", "meeting", "spliced" (of the best circuit); the active path
 * (NULL none).
 */
const char *circpeer_state_name(const struct circpeer *cp);
const struct circpeer_path *circpeer_active_path(const struct circpeer *cp);

#endif
