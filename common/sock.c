/* sock.c: socket buffers and the kernel's drop counter (see sock.h). */
#include "sock.h"

#include <errno.h>
#include <string.h>

#ifndef SO_RXQ_OVFL
#define SO_RXQ_OVFL 40
#endif

void sock_buffers(int fd, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
}

int sock_count_drops(int fd)
{
	int one = 1;

	return setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0 ? -errno : 0;
}

void sock_drops_seen(struct msghdr *m, uint32_t *count)
{
	for (struct cmsghdr *c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
		if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SO_RXQ_OVFL &&
		    c->cmsg_len >= CMSG_LEN(sizeof(uint32_t)))
			memcpy(count, CMSG_DATA(c), sizeof(*count));
}
