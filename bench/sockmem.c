/*
 * sockmem.c: wgr-bench-sockmem, the kernel memory one direct-mode session costs the relay
 * before any traffic: one bound UDP socket registered with epoll. Opens --count of them on
 * 127.0.0.1 (ports from the kernel) and reports the growth of the slab caches such a socket
 * lives in, per socket (see sockmem_slab_bytes). Other activity adds a little noise, so use
 * thousands of sockets. Prints one JSON object on stdout.
 */
#include "util.h"

#include <arpa/inet.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

/* Bytes held by the slab caches a bound, epoll-registered UDP socket lives in (active objects
 * times object size, from /proc/slabinfo, root only), or -1. Narrower than meminfo's Slab,
 * which moves with everything else the machine does. */
static long sockmem_slab_bytes(void)
{
	static const char *const caches[] = {"UDP",    "sock_inode_cache", "filp",
	                                     "dentry", "eventpoll_epi",    "eventpoll_pwq"};
	char line[512], name[64];
	long total = -1, active, objs, size;
	size_t i;
	FILE *f = fopen("/proc/slabinfo", "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%63s %ld %ld %ld", name, &active, &objs, &size) != 4)
			continue;
		for (i = 0; i < sizeof(caches) / sizeof(caches[0]); i++)
			if (!strcmp(name, caches[i]))
				total = (total < 0 ? 0 : total) + active * size;
	}
	fclose(f);
	return total;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"count", 1, 0, 'n'}, {0, 0, 0, 0}};
	struct sockaddr_in a = {.sin_family = AF_INET};
	struct rlimit rl;
	unsigned n = 10000, i, made = 0;
	long before, after;
	int c, ep, *fds;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (c != 'n')
			return 2;
		n = (unsigned)util_arg_num("--count", optarg);
	}
	rl.rlim_cur = rl.rlim_max = n + 64;
	setrlimit(RLIMIT_NOFILE, &rl);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fds = calloc(n, sizeof(*fds));
	ep = epoll_create1(EPOLL_CLOEXEC);
	if (!fds || ep < 0)
		return 1;
	before = sockmem_slab_bytes();
	for (i = 0; i < n; i++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = i};

		fds[i] = util_udp_socket(&a, 0);
		if (fds[i] < 0)
			break;
		made++;
		epoll_ctl(ep, EPOLL_CTL_ADD, fds[i], &ev);
	}
	usleep(200000);
	after = sockmem_slab_bytes();
	printf(
	    "{\"tool\":\"sockmem\",\"sockets\":%u,\"slab_bytes\":%ld,\"bytes_per_socket\":%.0f}\n",
	    made, after - before, made ? (double)(after - before) / made : 0);
	for (i = 0; i < made; i++)
		close(fds[i]);
	close(ep);
	free(fds);
	return made == n ? 0 : 1;
}
