/*
 * portshare.h: SessionSockets = shared, the parts direct.c and portshare.c share. A shared
 * receive socket and its reader (one per worker, or one on the control loop), and the raw
 * sender that makes a reply leave from a session's port without a socket bound to it. The
 * program, the maps and the start-up are in relay.h's portshare block.
 */
#ifndef WGR_PORTSHARE_H
#define WGR_PORTSHARE_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "addr.h"
#include "ev.h"

struct relay;
struct direct_io;

/* Datagrams per sendmmsg on a raw socket: raw sockets cannot segment, so a GRO run splits. */
#define PORTSHARE_TXMAX 64

/*
 * A thread's raw senders and their queue: one datagram a message, its UDP header built here
 * (IPv4: checksum computed here; IPv6: by the kernel, IPV6_CHECKSUM), its source address in an
 * IP_PKTINFO / IPV6_PKTINFO message. The queue holds one family at a time.
 */
struct portshare_tx {
	int raw4, raw6; /* -1: that family cannot be sent to (IPv6 off) */
	int family;     /* of the queued messages */
	unsigned n;
	struct mmsghdr msg[PORTSHARE_TXMAX];
	struct iovec iov[PORTSHARE_TXMAX][2];
	uint8_t udp[PORTSHARE_TXMAX][8];
	union {
		struct sockaddr_in in;
		struct sockaddr_in6 in6;
	} dst[PORTSHARE_TXMAX];
	union {
		char b[CMSG_SPACE(sizeof(struct in6_pktinfo))];
		struct cmsghdr align;
	} cm[PORTSHARE_TXMAX];
	uint64_t failed, failed_bytes; /* refused since the caller last cleared them */
};

/* One receive socket of the shared group and its reader's state. */
struct portshare_rx {
	struct relay *r;
	struct direct_io *io; /* the reading thread's buffers */
	int fd;
	uint32_t drops;      /* the kernel's drop count on fd last read (sock_drops) */
	uint64_t drops_ms;   /* when it was read */
	uint64_t no_session; /* datagrams to a port whose session had closed (relay lock) */
	struct portshare_tx tx;
};

/*
 * Queue one datagram of len payload bytes at p from src (a local address; its port is the
 * session's) to dst; sends the queue first when it is full or of the other family. The payload
 * must stay put until portshare_tx_flush. A family without a raw socket counts as refused.
 */
void portshare_tx_add(struct portshare_tx *t, const struct addr *src, const struct addr *dst,
                      uint8_t *p, size_t len);
/* Send what is queued (sendmmsg); refusals go to t->failed and t->failed_bytes. */
void portshare_tx_flush(struct portshare_tx *t);
/*
 * The UDP checksum (RFC 768) of a datagram from saddr to daddr (network byte order) whose
 * 8-byte header (checksum field zero) is hdr and payload p: ready to store, 0 never returned.
 */
uint16_t portshare_udp4_csum(uint32_t saddr, uint32_t daddr, const uint8_t hdr[8], const uint8_t *p,
                             size_t len);

/* The group's first receive socket: a shared session's fd (never closed with it). */
int portshare_fd(const struct relay *r);

/* direct.c: the ev handler of a shared receive socket (arg: its struct portshare_rx). */
void direct_shared_input(struct ev_loop *loop, int fd, unsigned events, void *arg);

#endif
