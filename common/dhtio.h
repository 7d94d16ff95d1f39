/*
 * dhtio.h: the UDP edge of a common/dht.h node, shared by the relay's node (relayd/netdht.c)
 * and the helper's (relay-client/dhtfind.c). The node stays sans-I/O; these open its socket,
 * feed it what arrives and send what it has to send, each caller deciding which destinations
 * a datagram may go to (the DHT hands out addresses anyone can plant). IPv4 only, as the node.
 */
#ifndef WGR_DHTIO_H
#define WGR_DHTIO_H

#include <stdbool.h>
#include <stdint.h>

#include "addr.h"

struct dht;

#define DHTIO_RCVBUF   (256 * 1024)
#define DHTIO_RX_BURST 64 /* datagrams read a wake-up: a flood must not hold the loop */

/*
 * A non-blocking UDP socket for a DHT node, bound to bind_to (NULL: any IPv4 address, a port
 * the kernel picks), its packets carrying fwmark (0: none; a mark refused is logged at debug and
 * ignored), with DHTIO_RCVBUF of buffer. The fd, or -errno (errno is then that error too).
 */
int dhtio_socket(const struct addr *bind_to, uint32_t fwmark);

/*
 * Hand node d up to DHTIO_RX_BURST datagrams waiting on fd, at now_ms (one byte more than
 * DHT_MAX_PKT is read, so that d sees an oversized datagram and counts it).
 */
void dhtio_input(struct dht *d, int fd, uint64_t now_ms);

/* May a datagram go to to? */
typedef bool (*dhtio_dest_fn)(const struct addr *to, void *arg);
/*
 * Send on fd every datagram d has queued whose destination dest_ok allows (arg: its context);
 * those it refuses are counted into *refused, those sendto refuses into *failed.
 */
void dhtio_flush(struct dht *d, int fd, dhtio_dest_fn dest_ok, void *arg, uint64_t *refused,
                 uint64_t *failed);

#endif
