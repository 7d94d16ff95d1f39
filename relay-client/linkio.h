/*
 * linkio.h: a relay link's batched UDP I/O (link.c): LINK_BATCH receive slots filled by one
 * recvmmsg, and a queue of sealed DATA frames that leaves in one sendmmsg, each run of frames
 * of one size as a single UDP_SEGMENT (GSO) message where the kernel and route allow it.
 * Allocated once per link; nothing per datagram.
 */
#ifndef WGR_LINKIO_H
#define WGR_LINKIO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct addr;
struct link_bind;
struct linkio;

/* Empty queue, receive slots of PROTO_MAX_FRAME bytes each. 0 or -ENOMEM. */
int linkio_new(struct linkio **out);
/* NULL ok. */
void linkio_free(struct linkio *io);
/*
 * Read up to LINK_BATCH datagrams from fd: how many (0 when none or on error). Datagram k is
 * linkio_rx(io, k, &len), writable and valid until the next linkio_recv.
 */
int linkio_recv(struct linkio *io, int fd);
uint8_t *linkio_rx(struct linkio *io, int k, size_t *len);
/* Frames queued, LINK_BATCH at most: the caller sends before queueing more. */
unsigned linkio_queued(const struct linkio *io);
/* Queue frame (len bytes, untouched by the caller until linkio_send) for binding b. */
void linkio_queue(struct linkio *io, uint8_t *frame, size_t len, struct link_bind *b);
/*
 * Send the queue on fd (connected to relay, named in a log line) and empty it. Returns how
 * many frames did not go; each that went counts in its binding's tx_frames. *sent is set when
 * any went.
 */
size_t linkio_send(struct linkio *io, int fd, const struct addr *relay, bool *sent);

#endif
