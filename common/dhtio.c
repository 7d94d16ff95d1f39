/* dhtio.c: a DHT node's socket, its input and its output (dhtio.h). */
#include "dhtio.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "dht.h"
#include "log.h"
#include "sock.h"

int dhtio_socket(const struct addr *bind_to, uint32_t fwmark)
{
	struct sockaddr_in any = {.sin_family = AF_INET};
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	/* Full-tunnel setups route by fwmark: relay traffic must not go into the tunnel. */
	if (fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &fwmark, sizeof(fwmark)) < 0)
		log_debug("dht: SO_MARK %u: %s", fwmark, strerror(errno));
	if ((bind_to ? bind(fd, &bind_to->sa, bind_to->len)
	             : bind(fd, (struct sockaddr *)&any, sizeof(any))) < 0) {
		int e = errno;

		close(fd);
		errno = e; /* for a caller's log_warn */
		return -e;
	}
	sock_buffers(fd, DHTIO_RCVBUF);
	return fd;
}

void dhtio_input(struct dht *d, int fd, uint64_t now_ms)
{
	uint8_t pkt[DHT_MAX_PKT + 1]; /* one byte more: an oversized datagram is seen and counted */

	for (int i = 0; i < DHTIO_RX_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t k =
		    recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
		struct addr from;

		if (k < 0)
			break;
		addr_from_sockaddr(&from, (struct sockaddr *)&ss, sl);
		dht_input(d, pkt, (size_t)k, &from, now_ms);
	}
}

void dhtio_flush(struct dht *d, int fd, dhtio_dest_fn dest_ok, void *arg, uint64_t *refused,
                 uint64_t *failed)
{
	uint8_t pkt[DHT_MAX_PKT];
	struct addr to;
	size_t len;

	while ((len = dht_next_output(d, pkt, sizeof(pkt), &to))) {
		if (!dest_ok(&to, arg))
			(*refused)++;
		else if (sendto(fd, pkt, len, MSG_DONTWAIT, &to.sa, to.len) < 0)
			(*failed)++;
	}
}
