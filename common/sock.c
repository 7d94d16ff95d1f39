/* sock.c: socket buffers and the kernel's drop counter (see sock.h). */
#include "sock.h"

#include <errno.h>
#include <linux/sock_diag.h>

#ifndef SO_MEMINFO
#define SO_MEMINFO 55
#endif

void sock_buffers(int fd, int bytes)
{
	if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bytes, sizeof(bytes)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof(bytes));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bytes, sizeof(bytes)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bytes, sizeof(bytes));
}

int sock_drops(int fd, uint32_t *count)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0)
		return -errno;
	/* An older kernel fills fewer variables: the drops must be among them. */
	if (len < (SK_MEMINFO_DROPS + 1) * sizeof(mem[0]))
		return -EOPNOTSUPP;
	*count = mem[SK_MEMINFO_DROPS];
	return 0;
}
