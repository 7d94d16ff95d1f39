/*
 * turn.h: the few TURN (RFC 8656) requests a load test needs, encoded by hand: Allocate and
 * ChannelBind without authentication (coturn --no-auth), then ChannelData framing.
 */
#ifndef WGR_BENCH_TURN_H
#define WGR_BENCH_TURN_H

#include <netinet/in.h>
#include <stdint.h>

#define TURN_CHANNEL_HDR 4

/*
 * On the connected-or-not UDP socket fd: Allocate a UDP relay on server, then bind channel
 * (0x4000..0x4FFF) to peer. Waits up to ~3 s in all; fills *relayed with the relayed address.
 * Returns 0, -ETIMEDOUT, or -EPROTO with a message on stderr.
 */
int turn_setup(int fd, const struct sockaddr_in *server, const struct sockaddr_in *peer,
               uint16_t channel, struct sockaddr_in *relayed);
/* Write the 4-byte ChannelData header for len bytes of application data. */
void turn_channel_hdr(uint8_t *p, uint16_t channel, uint16_t len);

#endif
