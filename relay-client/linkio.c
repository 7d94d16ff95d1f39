/* linkio.c: a link's batched UDP I/O, recvmmsg slots and a GSO-aware send queue (linkio.h). */
#include "linkio.h"

#include <errno.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "addr.h"
#include "link.h"
#include "log.h"
#include "proto.h"

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif
/* Frames per UDP_SEGMENT message (the kernel's UDP_MAX_SEGMENTS) and bytes (within an IP datagram). */
#define LINKIO_GSO_SEGS  64
#define LINKIO_GSO_BYTES 60000
/*
 * A receive slot holds the largest datagram a link carries: a relay forwards DATA up to its
 * MaxPacket, which jumbo-frame relays raise to 65527 and the helper cannot know, so a smaller
 * slot would cut such frames (and their tag with them). GRO plays no part: link sockets do not
 * set UDP_GRO, a slot never holds coalesced datagrams. Slots start on 64 KiB boundaries, whole
 * pages, so a small datagram makes one page of its slot resident rather than two across a page
 * boundary (64 datagrams of 1504 bytes: 64 pages, where slots packed at 65535 bytes took 111).
 */
#define LINKIO_SLOT 65536
_Static_assert(LINKIO_SLOT >= PROTO_MAX_FRAME, "a slot holds the largest frame");

struct linkio {
	/* LINK_BATCH * LINKIO_SLOT, not secret (DATA carries ciphertext): virtual memory, a
	 * slot's pages are touched only as far as the datagrams in it reach */
	uint8_t *rxbuf;
	struct mmsghdr rx[LINK_BATCH];
	struct iovec rx_iov[LINK_BATCH];
	unsigned n_tx;
	bool gso_off; /* the kernel refused UDP_SEGMENT once: a frame per message */
	struct iovec tx_iov[LINK_BATCH]; /* the queued frames, in order */
	struct link_bind *tx_bind[LINK_BATCH];
	/* the messages of a send: run_n frames from run_at each (build) */
	struct mmsghdr tx[LINK_BATCH];
	unsigned run_at[LINK_BATCH], run_n[LINK_BATCH];
	union {
		char b[CMSG_SPACE(sizeof(uint16_t))]; /* UDP_SEGMENT: the segment size */
		struct cmsghdr align;
	} tx_cm[LINK_BATCH];
};

int linkio_new(struct linkio **out)
{
	struct linkio *io = calloc(1, sizeof(*io));
	void *p;

	if (!io)
		return -ENOMEM;
	/* Aligned to the slot size: page-aligned slots for any page size up to 64 KiB. */
	if (posix_memalign(&p, LINKIO_SLOT, (size_t)LINK_BATCH * LINKIO_SLOT)) {
		free(io);
		return -ENOMEM;
	}
	io->rxbuf = p;
	for (size_t i = 0; i < LINK_BATCH; i++) {
		io->rx_iov[i].iov_base = io->rxbuf + i * LINKIO_SLOT;
		io->rx_iov[i].iov_len = PROTO_MAX_FRAME;
		io->rx[i].msg_hdr.msg_iov = &io->rx_iov[i];
		io->rx[i].msg_hdr.msg_iovlen = 1;
	}
	*out = io;
	return 0;
}

void linkio_free(struct linkio *io)
{
	if (io)
		free(io->rxbuf);
	free(io);
}

int linkio_recv(struct linkio *io, int fd)
{
	int n = recvmmsg(fd, io->rx, LINK_BATCH, MSG_DONTWAIT, NULL);
	return n > 0 ? n : 0;
}

uint8_t *linkio_rx(struct linkio *io, int k, size_t *len)
{
	*len = io->rx[k].msg_len;
	return io->rx_iov[k].iov_base;
}

unsigned linkio_queued(const struct linkio *io)
{
	return io->n_tx;
}

void linkio_queue(struct linkio *io, uint8_t *frame, size_t len, struct link_bind *b)
{
	io->tx_iov[io->n_tx] = (struct iovec){frame, len};
	io->tx_bind[io->n_tx++] = b;
}

/*
 * Messages for the queued frames from frame `from` on: each run of frames of one size (the
 * last may be shorter) is one UDP_SEGMENT message, so it crosses the stack as one packet and
 * is cut into datagrams at the device or the receiver. Returns the number of messages.
 */
static unsigned build(struct linkio *io, unsigned from)
{
	unsigned m = 0;

	for (unsigned i = from; i < io->n_tx; m++) {
		size_t seg = io->tx_iov[i].iov_len, total = seg;
		unsigned c = 1;

		while (!io->gso_off && i + c < io->n_tx && c < LINKIO_GSO_SEGS) {
			size_t len = io->tx_iov[i + c].iov_len;
			if (len > seg || total + len > LINKIO_GSO_BYTES)
				break;
			total += len;
			c++;
			if (len < seg)
				break;
		}
		struct msghdr *h = &io->tx[m].msg_hdr;
		*h = (struct msghdr){.msg_iov = &io->tx_iov[i], .msg_iovlen = c};
		if (c > 1) {
			uint16_t gso = (uint16_t)seg;
			h->msg_control = io->tx_cm[m].b;
			h->msg_controllen = sizeof(io->tx_cm[m].b);
			struct cmsghdr *cm = CMSG_FIRSTHDR(h);
			cm->cmsg_level = SOL_UDP;
			cm->cmsg_type = UDP_SEGMENT;
			cm->cmsg_len = CMSG_LEN(sizeof(gso));
			memcpy(CMSG_DATA(cm), &gso, sizeof(gso));
		}
		io->run_at[m] = i;
		io->run_n[m] = c;
		i += c;
	}
	return m;
}

/*
 * A message the socket refuses is counted (each frame of it) and skipped: the error was about
 * it, or left pending by an ICMP error. A full buffer fails the rest, which would only be
 * refused one call at a time. A kernel or route that cannot segment (EIO: no checksum offload,
 * EINVAL: a segment over the path MTU, ...) turns GSO off for good and the run goes again a
 * frame a message.
 */
size_t linkio_send(struct linkio *io, int fd, const struct addr *relay, bool *sent)
{
	unsigned m = build(io, 0), j = 0;
	size_t failed = 0;

	*sent = false;
	while (j < m) {
		int r = sendmmsg(fd, io->tx + j, m - j, 0);
		if (r > 0) {
			for (unsigned k = j; k < j + (unsigned)r; k++)
				for (unsigned f = 0; f < io->run_n[k]; f++)
					io->tx_bind[io->run_at[k] + f]->tx_frames++;
			j += (unsigned)r;
			*sent = true;
			continue;
		}
		int e = r < 0 ? errno : EAGAIN;
		if (e == EAGAIN || e == EWOULDBLOCK) {
			failed += io->n_tx - io->run_at[j];
			break;
		}
		if (io->run_n[j] > 1 && (e == EIO || e == EINVAL || e == EMSGSIZE ||
		                         e == ENOPROTOOPT || e == EOPNOTSUPP)) {
			log_debug("link %s: UDP GSO off: %s", addr_format(relay, (char[64]){0}, 64),
			          strerror(e));
			io->gso_off = true;
			m = build(io, io->run_at[j]);
			j = 0;
			continue;
		}
		failed += io->run_n[j];
		j++;
	}
	io->n_tx = 0;
	return failed;
}
