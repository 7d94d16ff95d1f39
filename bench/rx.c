/* rx.c: counting, drop tracking and one-way delay of received datagrams; see rx.h. */
#include "rx.h"

#include <errno.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

#define RX_BATCH 64
#define RX_SNAP  64 /* bytes copied per datagram when not coalescing: the mark is all we need */

struct rx {
	int fd;
	int gro;
	size_t bufsz;
	uint8_t *bufs;
	struct mmsghdr msgs[RX_BATCH];
	struct iovec iov[RX_BATCH];
	char ctl[RX_BATCH][CMSG_SPACE(sizeof(int)) + CMSG_SPACE(sizeof(uint32_t))];
	uint64_t received, bytes, calls, unmarked, first_ns, last_ns, warmup_ns, lat_from;
	struct util_hist hist;
};

struct rx *rx_new(const struct sockaddr_in *a, int gro)
{
	struct rx *r = calloc(1, sizeof(*r));
	struct timeval tv = {0, 100000};
	int one = 1;
	unsigned i;

	if (!r)
		return NULL;
	r->gro = gro;
	r->lat_from = UINT64_MAX;
	r->fd = util_udp_socket(a, 32 << 20);
	if (r->fd < 0) {
		fprintf(stderr, "rx: bind: %s\n", strerror(-r->fd));
		free(r);
		return NULL;
	}
	setsockopt(r->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (gro && setsockopt(r->fd, SOL_UDP, UDP_GRO, &one, sizeof(one)) < 0) {
		perror("rx: UDP_GRO");
		rx_free(r);
		return NULL;
	}
	r->bufsz = gro ? 65536 : RX_SNAP;
	r->bufs = malloc(RX_BATCH * r->bufsz);
	if (!r->bufs) {
		rx_free(r);
		return NULL;
	}
	for (i = 0; i < RX_BATCH; i++) {
		r->iov[i].iov_base = r->bufs + i * r->bufsz;
		r->iov[i].iov_len = r->bufsz;
		r->msgs[i].msg_hdr.msg_iov = &r->iov[i];
		r->msgs[i].msg_hdr.msg_iovlen = 1;
		r->msgs[i].msg_hdr.msg_control = r->ctl[i];
	}
	return r;
}

void rx_free(struct rx *r)
{
	if (!r)
		return;
	if (r->fd >= 0)
		close(r->fd);
	free(r->bufs);
	free(r);
}

void rx_set_warmup(struct rx *r, double warmup_s)
{
	r->warmup_ns = (uint64_t)(warmup_s * 1e9);
}

uint64_t rx_last_ns(const struct rx *r)
{
	return r->last_ns;
}

/* Account one datagram (or one coalesced run of them) of len bytes. */
static void rx_account(struct rx *r, struct msghdr *m, const uint8_t *p, size_t len, uint64_t now)
{
	size_t seg = len, off;
	struct cmsghdr *c;

	for (c = CMSG_FIRSTHDR(m); c; c = CMSG_NXTHDR(m, c)) {
		if (c->cmsg_level == SOL_UDP && c->cmsg_type == UDP_GRO)
			seg = (size_t) * (int *)(void *)CMSG_DATA(c);
	}
	if (!seg)
		seg = len;
	for (off = 0; off < len; off += seg) {
		size_t have = len - off < seg ? len - off : seg;
		uint32_t flow;
		uint64_t seq, t;

		r->received++;
		r->bytes += have;
		if (have < UTIL_MARK_OFF + UTIL_MARK_LEN ||
		    util_mark_get(p + off, &flow, &seq, &t) < 0) {
			r->unmarked++;
		} else if (now >= r->lat_from) {
			util_hist_add(&r->hist, (int64_t)(now - t));
		}
		/* Without GRO only RX_SNAP bytes were copied and len is the full (truncated) size. */
		if (!r->gro) {
			r->bytes += len - have;
			break;
		}
	}
}

int rx_poll(struct rx *r, int flags)
{
	uint64_t now;
	unsigned i;
	int n;

	for (i = 0; i < RX_BATCH; i++)
		r->msgs[i].msg_hdr.msg_controllen = sizeof(r->ctl[i]);
	n = recvmmsg(r->fd, r->msgs, RX_BATCH, MSG_WAITFORONE | MSG_TRUNC | flags, NULL);
	if (n <= 0) {
		if (n < 0 && errno != EAGAIN && errno != EINTR)
			perror("rx: recvmmsg");
		return 0;
	}
	now = util_now_ns();
	if (!r->first_ns) {
		r->first_ns = now;
		r->lat_from = now + r->warmup_ns;
	}
	r->last_ns = now;
	r->calls++;
	for (i = 0; i < (unsigned)n; i++)
		rx_account(r, &r->msgs[i].msg_hdr, r->iov[i].iov_base, r->msgs[i].msg_len, now);
	return n;
}

void rx_report(const struct rx *r, const char *tool, FILE *f, const char *hist)
{
	double win = r->last_ns > r->first_ns ? (double)(r->last_ns - r->first_ns) / 1e9 : 0;

	fprintf(f,
	        "{\"tool\":\"%s\",\"received\":%llu,\"dropped\":%u,\"bytes\":%llu,"
	        "\"unmarked\":%llu,\"window_s\":%.3f,\"pps\":%.0f,\"per_call\":%.1f,"
	        "\"lat_n\":%llu,\"lat_p50_us\":%.2f,\"lat_p99_us\":%.2f,\"lat_p999_us\":%.2f}\n",
	        tool, (unsigned long long)r->received, util_sock_drops(r->fd),
	        (unsigned long long)r->bytes, (unsigned long long)r->unmarked, win,
	        win > 0 ? (double)r->received / win : 0,
	        r->calls ? (double)r->received / (double)r->calls : 0,
	        (unsigned long long)r->hist.n, util_hist_quantile(&r->hist, 0.5) / 1000.0,
	        util_hist_quantile(&r->hist, 0.99) / 1000.0,
	        util_hist_quantile(&r->hist, 0.999) / 1000.0);
	if (hist) {
		FILE *h = fopen(hist, "w");

		if (!h || util_hist_write_cdf(&r->hist, h) < 0)
			perror("rx: --hist");
		if (h)
			fclose(h);
	}
}
