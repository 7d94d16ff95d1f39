/*
 * gen.c: wgr-bench-gen, a UDP load generator bounded in time. Sends datagrams of a fixed size
 * with sendmmsg (optionally as UDP_SEGMENT bundles, the cheap GSO path), at a paced rate or as
 * fast as it can, round-robin over one or more destinations (sessions). Each datagram carries a
 * probe mark (flow, sequence, send time) at UTIL_MARK_OFF of what the receiver gets, so the sink
 * can count losses and one-way delay. Framing modes: raw, wg (WireGuard type-4 header) and turn
 * (TURN ChannelData after Allocate + ChannelBind). Prints one JSON object on stdout.
 */
#include "rx.h"
#include "turn.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/udp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#ifndef UDP_SEGMENT
#define UDP_SEGMENT 103
#endif

#define GEN_MAX_BATCH 256

enum gen_mode { GEN_RAW, GEN_WG, GEN_TURN };

struct gen {
	int fd;
	enum gen_mode mode;
	size_t size;    /* datagram size on the wire */
	size_t prefix;  /* bytes before what the receiver sees (ChannelData header) */
	unsigned batch; /* messages per sendmmsg */
	unsigned segs;  /* datagrams per GSO bundle; 1 = no GSO */
	double rate;    /* datagrams per second, 0 = unpaced */
	double seconds;
	struct sockaddr_in *dst;
	unsigned ndst;
	uint16_t channel;
	uint32_t wg_index;
	uint8_t *bufs; /* batch * segs * size */
	struct mmsghdr msgs[GEN_MAX_BATCH];
	struct iovec iov[GEN_MAX_BATCH];
	char ctl[GEN_MAX_BATCH][CMSG_SPACE(sizeof(uint16_t))];
	uint64_t sent, errors, seq;
	struct rx *rx; /* --sink: receive in the same loop (latency runs) */
};

static void gen_usage(void)
{
	fprintf(stderr,
	        "usage: wgr-bench-gen --dst IP:PORT [--dst-count N] | --dst-file FILE, [--bind "
	        "IP:PORT] [--size B]\n"
	        "  [--rate PPS (0 = max)] [--duration S] [--batch N] [--gso SEGS]\n"
	        "  [--mode raw|wg|turn] [--turn-peer IP:PORT] [--wg-index N]\n"
	        "  [--sink IP:PORT [--sink-gro] [--sink-out FILE] [--hist FILE] [--warmup S]]\n");
	exit(2);
}

/* Write the framing and the probe mark of datagram p going to destination d. */
static void gen_frame(struct gen *g, uint8_t *p, unsigned d, uint64_t now)
{
	uint8_t *app = p + g->prefix;
	uint32_t idx = g->wg_index + d;
	uint64_t ctr = g->seq;

	if (g->mode == GEN_TURN)
		turn_channel_hdr(p, g->channel, (uint16_t)(g->size - g->prefix));
	if (g->mode == GEN_WG) {
		/* type 4, three reserved zero bytes, receiver index, counter: little-endian. */
		app[0] = 4;
		app[1] = app[2] = app[3] = 0;
		memcpy(app + 4, &idx, 4);
		memcpy(app + 8, &ctr, 8);
	}
	util_mark_put(app, d, g->seq++, now);
}

static int gen_setup_msgs(struct gen *g)
{
	unsigned i;

	g->bufs = calloc((size_t)g->batch * g->segs, g->size);
	if (!g->bufs)
		return -ENOMEM;
	for (i = 0; i < g->batch; i++) {
		struct msghdr *m = &g->msgs[i].msg_hdr;

		g->iov[i].iov_base = g->bufs + (size_t)i * g->segs * g->size;
		m->msg_iov = &g->iov[i];
		m->msg_iovlen = 1;
		m->msg_namelen = sizeof(struct sockaddr_in);
		if (g->segs > 1) {
			struct cmsghdr *c;

			m->msg_control = g->ctl[i];
			m->msg_controllen = sizeof(g->ctl[i]);
			c = CMSG_FIRSTHDR(m);
			c->cmsg_level = SOL_UDP;
			c->cmsg_type = UDP_SEGMENT;
			c->cmsg_len = CMSG_LEN(sizeof(uint16_t));
			*(uint16_t *)(void *)CMSG_DATA(c) = (uint16_t)g->size;
		}
	}
	return 0;
}

/* Send n datagrams now, grouped into bundles of up to segs per destination. */
static void gen_send(struct gen *g, uint64_t n, uint64_t now)
{
	unsigned nm = 0, k, i;
	int r;

	while (n > 0 && nm < g->batch) {
		unsigned d = (unsigned)(g->seq / g->segs % g->ndst);
		uint8_t *b = g->iov[nm].iov_base;

		k = n < g->segs ? (unsigned)n : g->segs;
		for (i = 0; i < k; i++)
			gen_frame(g, b + (size_t)i * g->size, d, now);
		g->iov[nm].iov_len = (size_t)k * g->size;
		g->msgs[nm].msg_hdr.msg_name = &g->dst[d];
		/* A single-segment bundle must not carry UDP_SEGMENT larger than itself. */
		g->msgs[nm].msg_hdr.msg_controllen =
		    (g->segs > 1 && k > 1) ? sizeof(g->ctl[nm]) : 0;
		n -= k;
		nm++;
	}
	for (i = 0; i < nm;) {
		r = sendmmsg(g->fd, g->msgs + i, nm - i, 0);
		if (r <= 0) {
			g->errors++;
			break;
		}
		for (k = i; k < i + (unsigned)r; k++)
			g->sent += g->iov[k].iov_len / g->size;
		i += (unsigned)r;
	}
}

static void gen_run(struct gen *g)
{
	uint64_t start = util_now_ns(), now = start;
	uint64_t end = start + (uint64_t)(g->seconds * 1e9);
	uint64_t cap = (uint64_t)g->batch * g->segs;
	double elapsed;

	while (now < end) {
		uint64_t n = cap;

		if (g->rate > 0) {
			uint64_t due = (uint64_t)((double)(now - start) * g->rate / 1e9);

			/* Bundles go out whole, so a paced run keeps the bundle size of a max run. */
			if (due < g->seq + g->segs) {
				if (g->rx) {
					/* Busy-poll the receiving socket while waiting. */
					rx_poll(g->rx, MSG_DONTWAIT);
				} else {
					/* About a packet gap, at most 20 us (timer slack is 1 us). */
					double gap = 1e9 / g->rate;
					struct timespec ts = {0, (long)(gap < 20000 ? gap : 20000)};

					nanosleep(&ts, NULL);
				}
				now = util_now_ns();
				continue;
			}
			n = due - g->seq < cap ? due - g->seq : cap;
		}
		gen_send(g, n, now);
		if (g->rx)
			rx_poll(g->rx, MSG_DONTWAIT);
		now = util_now_ns();
	}
	elapsed = (double)(now - start) / 1e9;
	/* Collect what is still in flight: until 0.3 s pass without a datagram. */
	while (g->rx) {
		uint64_t t = util_now_ns(), last = rx_last_ns(g->rx);

		if (t - (last > end ? last : end) > 300000000ull)
			break;
		rx_poll(g->rx, MSG_DONTWAIT);
	}
	printf(
	    "{\"tool\":\"gen\",\"sent\":%llu,\"seconds\":%.3f,\"pps\":%.0f,\"send_errors\":%llu}\n",
	    (unsigned long long)g->sent, elapsed, (double)g->sent / elapsed,
	    (unsigned long long)g->errors);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"dst", 1, 0, 'd'},       {"dst-count", 1, 0, 'n'}, {"bind", 1, 0, 'b'},
	    {"size", 1, 0, 's'},      {"rate", 1, 0, 'r'},      {"duration", 1, 0, 't'},
	    {"batch", 1, 0, 'B'},     {"gso", 1, 0, 'g'},       {"mode", 1, 0, 'm'},
	    {"turn-peer", 1, 0, 'p'}, {"wg-index", 1, 0, 'w'},  {"sink", 1, 0, 'S'},
	    {"sink-gro", 0, 0, 'G'},  {"sink-out", 1, 0, 'o'},  {"hist", 1, 0, 'h'},
	    {"warmup", 1, 0, 'W'},    {"dst-file", 1, 0, 'F'},  {0, 0, 0, 0}};
	struct gen *g = calloc(1, sizeof(*g));
	struct sockaddr_in dst0, bindaddr, peer, relayed;
	int have_dst = 0, have_bind = 0, have_peer = 0, c;
	int have_sink = 0, sink_gro = 0;
	struct sockaddr_in sinkaddr;
	const char *sink_out = NULL, *hist = NULL, *dst_file = NULL;
	double warmup = 0;
	unsigned i;

	if (!g)
		return 1;
	g->size = 1420;
	g->batch = 64;
	g->segs = 1;
	g->seconds = 2;
	g->ndst = 1;
	g->channel = 0x4000;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			have_dst = util_parse_addr(optarg, &dst0) == 0;
			break;
		case 'n':
			g->ndst = (unsigned)util_arg_num("--dst-count", optarg);
			break;
		case 'b':
			have_bind = util_parse_addr(optarg, &bindaddr) == 0;
			break;
		case 's':
			g->size = (size_t)util_arg_num("--size", optarg);
			break;
		case 'r':
			g->rate = util_arg_num("--rate", optarg);
			break;
		case 't':
			g->seconds = util_arg_num("--duration", optarg);
			break;
		case 'B':
			g->batch = (unsigned)util_arg_num("--batch", optarg);
			break;
		case 'g':
			g->segs = (unsigned)util_arg_num("--gso", optarg);
			break;
		case 'm':
			if (!strcmp(optarg, "raw"))
				g->mode = GEN_RAW;
			else if (!strcmp(optarg, "wg"))
				g->mode = GEN_WG;
			else if (!strcmp(optarg, "turn"))
				g->mode = GEN_TURN;
			else
				gen_usage();
			break;
		case 'p':
			have_peer = util_parse_addr(optarg, &peer) == 0;
			break;
		case 'w':
			g->wg_index = (uint32_t)util_arg_num("--wg-index", optarg);
			break;
		case 'S':
			have_sink = util_parse_addr(optarg, &sinkaddr) == 0;
			break;
		case 'G':
			sink_gro = 1;
			break;
		case 'o':
			sink_out = optarg;
			break;
		case 'h':
			hist = optarg;
			break;
		case 'W':
			warmup = util_arg_num("--warmup", optarg);
			break;
		case 'F':
			dst_file = optarg;
			have_dst = 1;
			break;
		default:
			gen_usage();
		}
	}
	if (g->mode == GEN_TURN) {
		g->prefix = TURN_CHANNEL_HDR;
		if (!have_peer)
			gen_usage();
	}
	if (!have_dst || g->ndst < 1 || g->ndst > 65535 || g->batch < 1 ||
	    g->batch > GEN_MAX_BATCH || g->segs < 1 || g->segs > 64 ||
	    g->size < g->prefix + UTIL_MARK_OFF + UTIL_MARK_LEN || g->size > 65000 ||
	    g->size * g->segs > UTIL_GSO_MAX || g->seconds > 3600)
		gen_usage();
	if (dst_file) {
		if (util_read_addrs(dst_file, &g->dst, &g->ndst) < 0 || !g->ndst) {
			fprintf(stderr, "gen: no destinations in %s\n", dst_file);
			return 1;
		}
	} else {
		g->dst = calloc(g->ndst, sizeof(*g->dst));
		if (!g->dst)
			return 1;
		for (i = 0; i < g->ndst; i++) {
			g->dst[i] = dst0;
			g->dst[i].sin_port = htons((uint16_t)(ntohs(dst0.sin_port) + i));
		}
	}
	g->fd = util_udp_socket(have_bind ? &bindaddr : NULL, 8 << 20);
	if (g->fd < 0) {
		fprintf(stderr, "gen: socket: %s\n", strerror(-g->fd));
		return 1;
	}
	if (g->mode == GEN_TURN) {
		int r = turn_setup(g->fd, &dst0, &peer, g->channel, &relayed);

		if (r < 0) {
			fprintf(stderr, "gen: TURN setup with the server failed: %s\n",
			        strerror(-r));
			return 1;
		}
	}
	if (have_sink) {
		g->rx = rx_new(&sinkaddr, sink_gro);
		if (!g->rx)
			return 1;
		rx_set_warmup(g->rx, warmup);
	}
	prctl(PR_SET_TIMERSLACK, 1UL, 0, 0, 0);
	if (gen_setup_msgs(g) < 0)
		return 1;
	gen_run(g);
	if (g->rx) {
		FILE *f = sink_out ? fopen(sink_out, "w") : stdout;

		rx_report(g->rx, "sink", f ? f : stdout, hist);
		if (f && f != stdout)
			fclose(f);
		rx_free(g->rx);
	}
	close(g->fd);
	free(g->bufs);
	free(g->dst);
	free(g);
	return 0;
}
