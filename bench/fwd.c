/*
 * fwd.c: wgr-bench-fwd, the reference forwarder: the least a user-space UDP relay must do, so
 * its rate is the physical limit of this machine for the job. One socket; datagrams from member
 * A go to member B and back, anything else is dropped and counted (the address check every relay
 * needs). Two forms: batched (recvmmsg + sendmmsg, 64 a call) and coalescing (UDP_GRO on
 * receive, the run sent back out with UDP_SEGMENT). Bounded by --duration; after --idle seconds
 * without traffic once it began, it stops. Prints one JSON object including its own CPU time.
 */
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef UDP_GRO
#define UDP_GRO 104
#endif
#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define FWD_BATCH 64

struct fwd {
	int fd, gro;
	size_t bufsz;
	struct sockaddr_in a, b;
	uint8_t *bufs;
	struct sockaddr_in src[FWD_BATCH];
	struct mmsghdr in[FWD_BATCH], out[FWD_BATCH];
	struct iovec iov_in[FWD_BATCH], iov_out[FWD_BATCH];
	char ctl_in[FWD_BATCH][CMSG_SPACE(sizeof(int))];
	char ctl_out[FWD_BATCH][CMSG_SPACE(sizeof(uint16_t))];
	uint64_t forwarded, foreign, send_fail, calls;
};

static void fwd_usage(void)
{
	fprintf(stderr, "usage: wgr-bench-fwd --listen IP:PORT --a IP:PORT --b IP:PORT [--gro]\n"
	                "  [--duration S] [--idle S]\n");
	exit(2);
}

static int fwd_same(const struct sockaddr_in *x, const struct sockaddr_in *y)
{
	return x->sin_port == y->sin_port && x->sin_addr.s_addr == y->sin_addr.s_addr;
}

static int fwd_gso_size(struct msghdr *m)
{
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c))
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO)
			return *(int *)(void *)CMSG_DATA(c);
	return 0;
}

/* Turn n received messages into the out vector; returns how many go out. */
static unsigned fwd_route(struct fwd *f, unsigned n)
{
	unsigned i, k = 0;

	for (i = 0; i < n; i++) {
		struct msghdr *o = &f->out[k].msg_hdr;
		size_t len = f->in[i].msg_len;
		int seg = f->gro ? fwd_gso_size(&f->in[i].msg_hdr) : 0;

		if (fwd_same(&f->src[i], &f->a))
			o->msg_name = &f->b;
		else if (fwd_same(&f->src[i], &f->b))
			o->msg_name = &f->a;
		else {
			f->foreign++;
			continue;
		}
		f->iov_out[k].iov_base = f->iov_in[i].iov_base;
		f->iov_out[k].iov_len = len;
		o->msg_controllen = 0;
		if (seg > 0 && len > (size_t)seg) {
			struct cmsghdr *c;

			o->msg_control = f->ctl_out[k];
			o->msg_controllen = sizeof(f->ctl_out[k]);
			c = CMSG_FIRSTHDR(o);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			*(uint16_t *)(void *)CMSG_DATA(c) = (uint16_t)seg;
			f->forwarded += (len + (size_t)seg - 1) / (size_t)seg;
		} else {
			f->forwarded++;
		}
		k++;
	}
	return k;
}

static void fwd_loop(struct fwd *f, double seconds, double idle)
{
	uint64_t start = util_now_ns(), end = start + (uint64_t)(seconds * 1e9);
	uint64_t last = 0, idle_ns = (uint64_t)(idle * 1e9);
	unsigned i, k, sent;

	for (;;) {
		uint64_t now;
		int n, r;

		for (i = 0; i < FWD_BATCH; i++) {
			f->in[i].msg_hdr.msg_namelen = sizeof(f->src[i]);
			f->in[i].msg_hdr.msg_controllen = f->gro ? sizeof(f->ctl_in[i]) : 0;
		}
		n = recvmmsg(f->fd, f->in, FWD_BATCH, MSG_WAITFORONE, NULL);
		now = util_now_ns();
		if (n > 0) {
			f->calls++;
			last = now;
			k = fwd_route(f, (unsigned)n);
			for (sent = 0; sent < k;) {
				r = sendmmsg(f->fd, f->out + sent, k - sent, 0);
				if (r <= 0) {
					/* Drop the rest of this batch, as a relay under pressure would. */
					f->send_fail += k - sent;
					break;
				}
				sent += (unsigned)r;
			}
		} else if (n < 0 && errno != EAGAIN && errno != EINTR) {
			perror("fwd: recvmmsg");
			break;
		}
		if (now >= end || (last && now - last >= idle_ns))
			break;
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"listen", 1, 0, 'l'},   {"a", 1, 0, 'a'},    {"b", 1, 0, 'b'}, {"gro", 0, 0, 'g'},
	    {"duration", 1, 0, 't'}, {"idle", 1, 0, 'i'}, {0, 0, 0, 0}};
	struct fwd *f = calloc(1, sizeof(*f));
	struct sockaddr_in l;
	double seconds = 10, idle = 1;
	struct timeval tv = {0, 100000};
	int got = 0, c, one = 1;
	struct rusage ru;
	unsigned i;

	if (!f)
		return 1;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'l':
			got |= util_parse_addr(optarg, &l) == 0 ? 1 : 0;
			break;
		case 'a':
			got |= util_parse_addr(optarg, &f->a) == 0 ? 2 : 0;
			break;
		case 'b':
			got |= util_parse_addr(optarg, &f->b) == 0 ? 4 : 0;
			break;
		case 'g':
			f->gro = 1;
			break;
		case 't':
			seconds = util_arg_num("--duration", optarg);
			break;
		case 'i':
			idle = util_arg_num("--idle", optarg);
			break;
		default:
			fwd_usage();
		}
	}
	if (got != 7 || seconds > 3600)
		fwd_usage();
	f->fd = util_udp_socket(&l, 32 << 20);
	if (f->fd < 0) {
		fprintf(stderr, "fwd: bind: %s\n", strerror(-f->fd));
		return 1;
	}
	setsockopt(f->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (f->gro && setsockopt(f->fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0) {
		perror("fwd: UDP_GRO");
		return 1;
	}
	f->bufsz = f->gro ? 65536 : 2048;
	f->bufs = malloc(FWD_BATCH * f->bufsz);
	if (!f->bufs)
		return 1;
	for (i = 0; i < FWD_BATCH; i++) {
		f->iov_in[i].iov_base = f->bufs + i * f->bufsz;
		f->iov_in[i].iov_len = f->bufsz;
		f->in[i].msg_hdr.msg_iov = &f->iov_in[i];
		f->in[i].msg_hdr.msg_iovlen = 1;
		f->in[i].msg_hdr.msg_name = &f->src[i];
		f->in[i].msg_hdr.msg_control = f->ctl_in[i];
		f->out[i].msg_hdr.msg_iov = &f->iov_out[i];
		f->out[i].msg_hdr.msg_iovlen = 1;
		f->out[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_in);
		f->out[i].msg_hdr.msg_control = f->ctl_out[i];
	}
	fwd_loop(f, seconds, idle);
	getrusage(RUSAGE_SELF, &ru);
	printf(
	    "{\"tool\":\"fwd\",\"gro\":%d,\"forwarded\":%llu,\"foreign\":%llu,\"send_fail\":%llu,"
	    "\"per_call\":%.1f,\"cpu_s\":%.3f}\n",
	    f->gro, (unsigned long long)f->forwarded, (unsigned long long)f->foreign,
	    (unsigned long long)f->send_fail,
	    f->calls ? (double)f->forwarded / (double)f->calls : 0,
	    (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	        (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6);
	close(f->fd);
	free(f->bufs);
	free(f);
	return 0;
}
