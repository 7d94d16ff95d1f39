/*
 * sealed.h: the helper's side of sealed mode (PROTOCOL.md §5.4): one UDP socket on 127.0.0.1
 * per peer, which WireGuard's endpoint points at while the peer is relayed. What WireGuard
 * sends there goes out sealed on a relay link; what a link opens for the peer's binding is
 * sent from there to WireGuard's listen port, so WireGuard roams onto the socket by itself.
 * Both ways in batches: one recvmmsg and one sendmmsg per wake-up, each datagram sealed or
 * opened once in place. No allocation per packet; bad or foreign datagrams are dropped and
 * counted. One thread: sealed_deliver's queue is emptied by sealed_flush before anything else.
 */
#ifndef WGR_SEALED_H
#define WGR_SEALED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "addr.h"
#include "link.h"
#include "proto.h"

/* Datagrams read per socket and wake-up, and queued per port for WireGuard, as the links do. */
#define SEALED_BATCH LINK_BATCH
/* Scratch for a whole batch of sealed_port_readable: a frame's room per datagram. */
#define SEALED_SCRATCH ((size_t)SEALED_BATCH * PROTO_MAX_FRAME)

struct sealed_port;
/*
 * A port whose datagrams from WireGuard go elsewhere than the relay links (a peer carried over
 * circuits: steer_circ.c): each datagram (len bytes at dgram, valid during the call). 0, or
 * -ENOTCONN (nowhere to send: drop_route), -EMSGSIZE (drop_size), -errno (drop_send).
 */
typedef int (*sealed_divert_fn)(void *arg, const uint8_t *dgram, size_t len, int64_t now_ms);

struct sealed_port {
	int fd;
	/* unique in the process: a new port at a freed one's address, on its fd, is not it */
	uint64_t serial;
	struct addr local; /* 127.0.0.1:port: WireGuard's endpoint for the peer while relayed */
	struct addr wg;    /* 127.0.0.1:listen port: the only source accepted, where frames go */
	/* where WireGuard's datagrams go (sealed_port_route); NULL: back where frames come from */
	struct link *tx_link;
	struct link_bind *tx_bind;
	uint8_t tx_sid[16];
	/* the binding the last frame came in on, and how many in a row came through it */
	struct link *rx_link;
	struct link_bind *rx_bind;
	uint8_t rx_sid[16];
	uint64_t rx_streak, rx_streak_start; /* streak length; to_wg when it began */
	uint64_t route_seq;                  /* to_wg when the route last changed */
	/* counters */
	uint64_t to_wg, from_wg; /* datagrams delivered to / carried for WireGuard */
	uint64_t drop_source;    /* not from WireGuard's listen port */
	uint64_t drop_route;     /* no paired binding to send on */
	uint64_t drop_send;      /* a socket send failed (buffer full, no route) */
	uint64_t drop_size;      /* too large for a frame */
	/* datagrams for WireGuard queued by sealed_deliver, in the links' buffers, until sealed_flush */
	struct iovec out[SEALED_BATCH];
	unsigned n_out;
	struct sealed_port *out_next; /* the list of ports with a queue (sealed.c) */
	bool out_listed;
	/* set (sealed_port_divert): WireGuard's datagrams go to divert, not to the links */
	sealed_divert_fn divert;
	void *divert_arg;
};

/* A socket on 127.0.0.1, ephemeral port (a new one every time). 0 or -errno. */
int sealed_port_new(struct sealed_port **out);
/* NULL ok. The caller clears every binding's user that points at it first; a queue is dropped. */
void sealed_port_free(struct sealed_port *sp);
/* WireGuard's listen port; 0 (unknown) drops everything both ways. */
void sealed_port_set_wg(struct sealed_port *sp, uint16_t listen_port);
/* Send WireGuard's datagrams on binding b of link l from now on (NULL, NULL: no choice). */
void sealed_port_route(struct sealed_port *sp, struct link *l, struct link_bind *b);
/* From now on WireGuard's datagrams go to fn(arg, ...) (NULL: to the links again). */
void sealed_port_divert(struct sealed_port *sp, sealed_divert_fn fn, void *arg);
/*
 * Queue dgram for WireGuard as sealed_deliver does, for a caller that is not a binding (a
 * peer's circuits, from a link's on_cell): dgram untouched until sealed_flush, which the link's
 * on_data_end runs after its batch. No listen port: drop_route.
 */
void sealed_port_queue(struct sealed_port *sp, const uint8_t *dgram, size_t len);
/*
 * Read up to SEALED_BATCH datagrams (one recvmmsg) and send each sealed on the route (else on
 * the binding the last frame came in on), the batch in one sendmmsg per link. buf is scratch
 * of cap bytes: SEALED_SCRATCH for whole batches, PROTO_MAX_FRAME per datagram (a smaller cap
 * reads one datagram of at most cap - PROTO_SEALED_OVERHEAD bytes).
 */
void sealed_port_readable(struct sealed_port *sp, uint8_t *buf, size_t cap, int64_t now_ms);
/*
 * A link_data_fn: b->user is the peer's sealed_port; queues dgram for WireGuard (dgram stays
 * untouched until sealed_flush, as on_data's contract says). A full queue goes at once.
 */
void sealed_deliver(struct link *l, struct link_bind *b, const uint8_t *dgram, size_t len,
                    int64_t now_ms);
/*
 * A link_data_end_fn: every queue sealed_deliver filled goes to WireGuard, one sendmmsg per
 * port (to_wg counts what went, drop_send what the socket refused). l may be NULL.
 */
void sealed_flush(struct link *l, int64_t now_ms);
/*
 * The far side's frames now come in through another binding than the one we send on, the
 * change began after our last route change and has lasted min_streak frames: it moved.
 */
bool sealed_port_rx_moved(const struct sealed_port *sp, uint64_t min_streak);

#endif
