/*
 * sock.h: socket settings shared by the relay and the helper: receive and send buffers sized
 * for bursts, and the kernel's count of datagrams a full receive buffer dropped (SO_RXQ_OVFL),
 * so a drop the kernel makes is counted like the ones the program makes.
 */
#ifndef WGR_SOCK_H
#define WGR_SOCK_H

#include <stdint.h>
#include <sys/socket.h>

/* Room in a recvmsg control buffer for the drop counter. */
#define SOCK_OVFL_SPACE CMSG_SPACE(sizeof(uint32_t))

/*
 * Ask for bytes of receive and send buffer: past net.core.rmem_max/wmem_max when allowed
 * (CAP_NET_ADMIN), else as much as they allow. Best effort: the defaults stay on failure.
 */
void sock_buffers(int fd, int bytes);
/* Have each received datagram carry the socket's drop counter. 0 or -errno. */
int sock_count_drops(int fd);
/*
 * The drop counter a received message carries, if any: *count is left alone when the
 * message has none (the kernel adds it only once the counter is non-zero).
 */
void sock_drops_seen(struct msghdr *m, uint32_t *count);

#endif
