/*
 * libp2p.h: wgrelayd as a libp2p Circuit Relay v2 server ([Libp2p], docs/LIBP2P.md). The
 * wire formats and state machines are libp2p/'s (sans-I/O); this is the I/O glue on the
 * relay's control loop: a TCP listener, connections (multistream-select, Noise XX, yamux),
 * what runs on their streams (identify, ping, hop, stop) and the circuits spliced between
 * two connections' streams. It shares the relay's loop, stats line, event log and /metrics.
 */
#ifndef WGR_RELAYD_LIBP2P_H
#define WGR_RELAYD_LIBP2P_H

#include <stddef.h>
#include <stdint.h>

struct relay;

/*
 * Open the listener of [Libp2p] Listen with the relay's Ed25519 identity (its PeerId) and
 * set r->p2p: 0 (nothing, r->p2p stays NULL, when Listen is unset) or -errno, logged.
 */
int libp2p_open(struct relay *r);
/* Close every connection (circuits end, reservations go) and the listener; r->p2p = NULL. */
void libp2p_close(struct relay *r);
/* Before the loop sleeps: seal and write each connection's queued output (EPOLLOUT while
   some is left), and end the connections that failed meanwhile. */
void libp2p_flush(struct relay *r);
/* Once a second: reservation expiry, handshake and STOP deadlines, circuit duration limits,
   and accepting again after running out of descriptors. */
void libp2p_tick(struct relay *r, uint64_t now_ms);
/* The libp2p Prometheus lines into out; the length written (nothing while off). */
size_t libp2p_metrics(const struct relay *r, char *out, size_t cap);
/* The stats line's libp2p fields (", libp2p reservations N, ..."), '\0'-terminated; the
   length written (0 while off). */
size_t libp2p_stats(const struct relay *r, char *out, size_t cap);

#endif
