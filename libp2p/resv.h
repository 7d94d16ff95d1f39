/*
 * resv.h: the Circuit Relay v2 reservation and circuit table (relay/circuit-v2.md, "Hop
 * protocol"), pure: no sockets, no clock of its own (every call that needs the time takes
 * now_s, Unix seconds), so the limits are unit-tested with a fake clock. The relay's glue asks
 * it before answering RESERVE and CONNECT and tells it when a connection or a circuit ends.
 *
 * Memory is bounded by the limits: at most max_resv reservations; a per-peer counter lives
 * only while its peer holds a reservation or a circuit, a per-source counter only while its
 * source holds a reservation. Status results are enum relay_status of p2pmsg.h (RS_*).
 */
#ifndef WGR_RESV_H
#define WGR_RESV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "addr.h"
#include "peerid.h"

struct resv_limits {
	uint32_t max_resv;            /* reservations in all */
	uint32_t max_resv_per_peer;   /* one peer id over several connections */
	uint32_t max_resv_per_source; /* per IPv4 address / IPv6 /64 */
	uint32_t max_circ;            /* circuits in all */
	uint32_t max_circ_per_peer;   /* counted at both ends */
	uint64_t resv_ttl_s;          /* a reservation's lifetime from its (re)newal */
	uint64_t circ_duration_s;     /* kept here for the glue: 0 is no limit */
	uint64_t circ_bytes;          /* kept here for the glue: 0 is no limit */
};

struct resv_table; /* opaque */

/* A table with these limits (copied), or NULL when out of memory. */
struct resv_table *resv_new(const struct resv_limits *lim);
/* Free t and everything in it, without callbacks; NULL is a no-op. */
void resv_free(struct resv_table *t);
/*
 * New limits (a reload). They apply to later requests: what is held beyond them stays until
 * it ends (reservations expire within the old TTL, circuits end).
 */
void resv_set_limits(struct resv_table *t, const struct resv_limits *lim);
/* The limits in force. */
const struct resv_limits *resv_limits(const struct resv_table *t);

/*
 * Reserve (or renew) for peer on connection conn_id from source src (counted per IPv4 address
 * or IPv6 /64; a v4-mapped address is its IPv4 address). RS_OK with *expire_s (absolute Unix
 * seconds, now_s + ttl) and *renewed; RS_RESERVATION_REFUSED when a reservation limit (in all,
 * per peer, per source) is reached, as the spec asks; RS_RESOURCE_LIMIT_EXCEEDED when out of
 * memory. A reservation is keyed by (peer, conn_id): a RESERVE on the same connection
 * refreshes it and is not counted again (*renewed is true when it was still live).
 */
int resv_reserve(struct resv_table *t, const struct peerid *peer, uint64_t conn_id,
                 const struct addr *src, uint64_t now_s, uint64_t *expire_s, bool *renewed);
/*
 * The connection of peer's newest live reservation (the last one made or renewed, with
 * expire_s > now_s): 0 with *conn_id, -ENOENT when it has none.
 */
int resv_lookup(const struct resv_table *t, const struct peerid *peer, uint64_t now_s,
                uint64_t *conn_id);
/* Connection conn_id closed: its reservations go (no callback); their count is returned. */
size_t resv_conn_gone(struct resv_table *t, uint64_t conn_id);
/*
 * Remove the reservations with expire_s <= now_s, calling cb (may be NULL) for each before it
 * goes (for the event log; cb must not call back into t). Returns how many went. The owner
 * calls this from its tick: until then an expired reservation still counts against limits.
 */
size_t resv_expire(struct resv_table *t, uint64_t now_s,
                   void (*cb)(void *arg, const struct peerid *peer), void *arg);
/*
 * Admit a circuit src -> dst: RS_OK, counted in total and per peer at both ends, or
 * RS_RESOURCE_LIMIT_EXCEEDED (max_circ, max_circ_per_peer at either end, out of memory).
 * Each RS_OK is undone by exactly one resv_circuit_end with the same peers (an end naming a
 * peer that has no circuit is ignored, so counters never underflow).
 */
int resv_circuit_begin(struct resv_table *t, const struct peerid *src, const struct peerid *dst);
void resv_circuit_end(struct resv_table *t, const struct peerid *src, const struct peerid *dst);
/* Reservations held (expired ones not yet removed included). */
size_t resv_count(const struct resv_table *t);
/* Circuits admitted and not ended. */
size_t resv_circuits(const struct resv_table *t);
/* Circuits peer takes part in (either end), for tests and diagnostics. */
uint32_t resv_peer_circuits(const struct resv_table *t, const struct peerid *peer);

#endif
