/*
 * steer_priv.h: what steer.c and steer_sealed.c share; not for the rest of the helper.
 */
#ifndef WGR_STEER_PRIV_H
#define WGR_STEER_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "steer.h"

/* steer.c (steer_bind.c: prebinding; steer_publish.c: what status reads) */
/* "direct" or "sealed". */
const char *steer_mode_name(uint8_t mode);
/*
 * PROTO_MODE_* peer p binds in on relay ri: sealed when the interface is (mode), when its
 * steer_mode says so, or when the link is on a stream now (before the mode step saw it).
 */
uint8_t steer_peer_mode(const struct steer_ctx *s, const struct steer_peer *p, size_t ri,
                        uint8_t mode);
/* A binding that can carry the peer's traffic in mode: paired (direct: with its port). */
bool steer_bind_ready(const struct link_bind *b, uint8_t mode);
/* The peer's binding on relay ri, NULL when none (or ri out of range). */
struct link_bind *steer_bind_of(struct steer_ctx *s, struct steer_peer *p, int ri);
/* Index of a relay by its link; -1 none. */
int steer_link_index(const struct steer_ctx *s, const struct link *l);
/*
 * Links keep time in monotonic milliseconds (the loop's clock); decisions and the cache in wall
 * seconds.
 */
int64_t steer_mono_ms(void);
struct select_cand;
/*
 * Ranked relay indexes for a peer, the candidates in c (scores and their parts); returns how
 * many are usable. *geo: both ends located.
 */
size_t steer_rank_cands(struct steer_ctx *s, struct steer_peer *p, uint8_t mode, size_t *order,
                        struct select_cand *c, bool *geo);
/*
 * Rank the relays for a peer into p->rank (order, usable, the hysteresis choice), at most once
 * per second: prebinding and the path step share it. Returns how many are usable.
 */
size_t steer_rank(struct steer_ctx *s, struct steer_peer *p, uint8_t mode, int64_t now);
/* Leave the relay for the direct endpoint for good, for every peer; close the local ports. */
void steer_restore_all(struct steer_ctx *s, struct steer_iface *ifc, const char *why);

/* steer_sealed.c */
/*
 * Every peer bound sealed (every bound peer of a sealed interface) has its local port before
 * the far side's first frame.
 */
void steer_sealed_port_ensure(struct steer_iface *ifc, struct steer_peer *p);
/* Clear every binding's pointer at the peer's port, log what it carried, close it. */
void steer_sealed_port_drop(struct steer_ctx *s, struct steer_peer *p);
/* Put back an MTU lowered for sealed mode (unless someone changed it since). */
void steer_sealed_mtu_restore(struct steer_ctx *s, struct steer_iface *ifc);
/* At start: take over the record of an MTU a crashed run lowered, if it still is. */
void steer_sealed_mtu_recover(struct steer_ctx *s, struct steer_iface *ifc);

#endif
