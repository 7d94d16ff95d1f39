/*
 * member.c: wgr-bench-member, the wgrelayd bench client. Opens two control links to a relay
 * (Noise IK handshake of common/handshake.h, two fresh client identities A and B), binds
 * --sessions session ids on both, and then either
 *   direct: writes each session's relay port ("127.0.0.1:PORT" lines, --ports-out), touches
 *           --ready and keeps the links alive (KEEPALIVE every 20 s) until --hold runs out or
 *           SIGTERM; the data then comes from wgr-bench-wgpair and wgr-bench-gen --mode wg;
 *   sealed: is the generator and the receiver of sealed DATA frames of one session (only this
 *           process has the per-hop keys): A seals WireGuard-shaped payloads of --size bytes
 *           carrying the probe mark, paced (--rate) or not, B counts what the relay resealed to it
 *           and, with --open, opens each frame to read the mark (one-way delay).
 * --netns-a / --netns-b PATH make that member's links inside another network namespace, bound
 * to its wildcard address (not loopback), so that each link's source IP is that member's own
 * (bench/veth.sh: the relay learns a member's address from its link's IP).
 * Prints the generator's JSON on stdout and the receiver's to --sink-out (sealed), like
 * wgr-bench-gen and wgr-bench-sink.
 * Sealed with --flows K: K sessions, session i on A link i and B link i (each link its own UDP
 * socket, so K source ports: a relay with one control socket per worker in a SO_REUSEPORT
 * group spreads the flows over its workers); A sends one sendmmsg batch per flow in turn, B
 * counts per flow and in all. --preseal seals every frame before the timed part (the
 * generator then costs only its system calls): --frames N of them, else rate x duration, at
 * most MEMBER_PRESEAL_BYTES of frames; the run ends when they are sent. --ready FILE is
 * touched as the timed part starts.
 */
#include "frame.h"
#include "handshake.h"
#include "key.h"
#include "seal.h"
#include "util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define MEMBER_BATCH  64
#define MEMBER_WINDOW 64 /* BINDs in flight */
/* wgrelayd accepts 16 bindings per link (relayd/relay.h): larger runs open more links. */
#define MEMBER_BINDS_PER_LINK 16
/* --flows: at most this many (two links each; the relay's per-source limits must allow them). */
#define MEMBER_FLOWS_MAX 1024
/* --preseal: the frames of a run take at most this much memory (the machine is shared). */
#define MEMBER_PRESEAL_BYTES (1536ull << 20)

struct link {
	int fd;
	struct hs_client hc;
	struct link_keys k;
	uint8_t priv[32];
	uint64_t data_ctr;
	struct replay data_rp;
};

struct member {
	struct sockaddr_in relay;
	uint8_t relay_pub[32];
	int mode;
	unsigned n;
	struct link *a, *b; /* RELAY_BINDS_PER_LINK sessions per link */
	unsigned nl;
	uint8_t (*sid)[16];
	uint32_t *ha, *hb;
	uint16_t *port;
	const char *netns_a, *netns_b; /* NULL: links on loopback in this namespace */
	/* sealed run */
	size_t size;
	double rate, seconds, warmup;
	int open;
	uint64_t sent, received, unmarked, bad, first_ns, last_ns;
	struct util_hist hist;
	/* --flows / --preseal run: flows 0 is the one-session run above */
	unsigned flows;
	int preseal;
	uint64_t frames, send_errors;
	uint64_t *rx_flow; /* frames B received, per flow */
};

static volatile sig_atomic_t member_stop;

static void member_on_signal(int sig)
{
	(void)sig;
	member_stop = 1;
}

static uint64_t member_now_ms(void)
{
	return util_now_ns() / 1000000;
}

static int member_recv(struct link *l, uint8_t *buf, size_t cap, int timeout_ms)
{
	struct pollfd p = {.fd = l->fd, .events = POLLIN};
	ssize_t n;

	if (poll(&p, 1, timeout_ms) <= 0)
		return 0;
	n = recv(l->fd, buf, cap, MSG_DONTWAIT);
	return n < 0 ? 0 : (int)n;
}

/* Handshake a new client identity with the relay; 0 or -ETIMEDOUT / a frame error. */
static int member_link_up(struct member *m, struct link *l, const char *netns)
{
	struct sockaddr_in lo = {.sin_family = AF_INET};
	uint8_t init[PROTO_HS_INIT_LEN], buf[2048];
	struct addr observed;
	int tries, n, r = -ETIMEDOUT;

	lo.sin_addr.s_addr = htonl(netns ? INADDR_ANY : INADDR_LOOPBACK);
	l->fd = util_udp_socket_in(netns, &lo, 16 << 20);
	if (l->fd < 0)
		return l->fd;
	key_generate_private(l->priv);
	hs_client_init(&l->hc, l->priv, m->relay_pub);
	replay_init(&l->data_rp);
	for (tries = 0; tries < 10; tries++) {
		uint64_t end = member_now_ms() + 500;

		hs_client_build_init(&l->hc, init, member_now_ms());
		sendto(l->fd, init, sizeof(init), 0, (struct sockaddr *)&m->relay,
		       sizeof(m->relay));
		while (member_now_ms() < end) {
			n = member_recv(l, buf, sizeof(buf), 100);
			if (n <= 0)
				continue;
			r = frame_check(buf, (size_t)n);
			if (r == PROTO_HS_RESP) {
				r = hs_client_consume_resp(&l->hc, buf, (size_t)n, &l->k,
				                           &observed);
				if (r == 0)
					return 0;
				fprintf(stderr, "member: HS_RESP refused: %s\n", frame_strerror(r));
			} else if (r == PROTO_COOKIE) {
				hs_client_consume_cookie(&l->hc, buf, (size_t)n, member_now_ms());
				break; /* resend at once, now with mac2 */
			}
		}
	}
	return r < 0 ? r : -ETIMEDOUT;
}

static int member_ctrl_send(struct member *m, struct link *l, const struct ctrl_msg *msg)
{
	uint8_t pt[PROTO_MAX_CTRL_PLAIN], out[PROTO_MAX_CTRL_PLAIN + PROTO_SEALED_OVERHEAD];
	int len = ctrl_encode(msg, pt, sizeof(pt)), n;

	if (len < 0)
		return len;
	n = frame_seal_ctrl(out, sizeof(out), l->k.remote_index, l->k.ctrl_send_counter++,
	                    l->k.ctrl_send, pt, (size_t)len);
	if (n < 0)
		return n;
	if (sendto(l->fd, out, (size_t)n, 0, (struct sockaddr *)&m->relay, sizeof(m->relay)) < 0)
		return -errno;
	return 0;
}

/* Next control message on l within timeout_ms: 1 with *msg filled, 0 when none came. */
static int member_ctrl_recv(struct link *l, struct ctrl_msg *msg, int timeout_ms)
{
	uint8_t buf[2048], pt[2048];
	int n, r;

	n = member_recv(l, buf, sizeof(buf), timeout_ms);
	if (n <= 0 || frame_check(buf, (size_t)n) != PROTO_CTRL)
		return 0;
	r = frame_open_ctrl(buf, (size_t)n, l->k.ctrl_recv, &l->k.ctrl_replay, pt, sizeof(pt));
	if (r < 0 || ctrl_decode(pt, (size_t)r, msg) < 0)
		return 0;
	return 1;
}

/* Bind sids first..first+count-1 on link l, MEMBER_WINDOW in flight; handles (and ports)
 * filled by session index. */
static int member_bind_all(struct member *m, struct link *l, unsigned first, unsigned count,
                           uint32_t *handles)
{
	uint8_t *done = calloc(m->n, 1);
	unsigned next = first, ok = 0, inflight = 0, i, end = first + count;
	unsigned retries = 0;
	uint64_t last_progress = member_now_ms();
	struct ctrl_msg msg;
	int r = 0;

	if (!done)
		return -ENOMEM;
	while (ok < count && !member_stop) {
		while (next < end && inflight < MEMBER_WINDOW) {
			memset(&msg, 0, sizeof(msg));
			msg.type = CTRL_BIND;
			msg.mode = (uint8_t)m->mode;
			memcpy(msg.sid, m->sid[next], 16);
			if ((r = member_ctrl_send(m, l, &msg)) < 0)
				goto out;
			next++;
			inflight++;
		}
		if (!member_ctrl_recv(l, &msg, 200)) {
			if (member_now_ms() - last_progress > 2000) {
				/* Lost or dropped by a rate limit: ask again for what is missing. */
				for (i = first; i < next; i++)
					if (!done[i]) {
						memset(&msg, 0, sizeof(msg));
						msg.type = CTRL_BIND;
						msg.mode = (uint8_t)m->mode;
						memcpy(msg.sid, m->sid[i], 16);
						member_ctrl_send(m, l, &msg);
					}
				last_progress = member_now_ms();
				if (++retries > 15) {
					r = -ETIMEDOUT;
					goto out;
				}
			}
			continue;
		}
		if (msg.type == CTRL_ERROR) {
			fprintf(stderr, "member: relay error %u (%s): %s\n", msg.code,
			        proto_error_name(msg.code), msg.text);
			r = -EPROTO;
			goto out;
		}
		if (msg.type != CTRL_BOUND)
			continue;
		memcpy(&i, msg.sid, sizeof(i)); /* our sids start with their index */
		if (i < first || i >= end || memcmp(msg.sid, m->sid[i], 16) || done[i])
			continue;
		done[i] = 1;
		handles[i] = msg.handle;
		if (msg.port)
			m->port[i] = msg.port;
		ok++;
		inflight--;
		last_progress = member_now_ms();
	}
	r = ok == count ? 0 : -EINTR;
out:
	free(done);
	return r;
}

static void member_keepalive(struct member *m)
{
	struct ctrl_msg msg = {.type = CTRL_KEEPALIVE};
	unsigned i;

	for (i = 0; i < m->nl; i++) {
		member_ctrl_send(m, &m->a[i], &msg);
		member_ctrl_send(m, &m->b[i], &msg);
	}
}

/* Direct mode: publish the ports, then keep the links alive until told to stop. */
static int member_hold(struct member *m, const char *ports_out, const char *ready, double hold)
{
	uint64_t end = util_now_ns() + (uint64_t)(hold * 1e9), next_ka = 0;
	struct ctrl_msg msg;
	FILE *f = fopen(ports_out, "w");
	unsigned i;

	if (!f)
		return -errno;
	for (i = 0; i < m->n; i++)
		fprintf(f, "%s:%u\n", inet_ntoa(m->relay.sin_addr), m->port[i]);
	if (fclose(f) != 0)
		return -EIO;
	if (ready && (f = fopen(ready, "w")))
		fclose(f);
	while (!member_stop && util_now_ns() < end) {
		if (member_now_ms() >= next_ka) {
			member_keepalive(m);
			next_ka = member_now_ms() + 20000;
		}
		/* Drain control traffic (PEER_ACTIVE, keepalive answers) on every link. */
		for (i = 0; i < m->nl; i++) {
			while (member_ctrl_recv(&m->a[i], &msg, 0))
				;
			while (member_ctrl_recv(&m->b[i], &msg, 0))
				;
		}
		usleep(200000);
	}
	return 0;
}

/*
 * The batch buffers both sealed runs share: MEMBER_BATCH frames to send from tx to the relay,
 * MEMBER_BATCH receive slots of 2048 bytes in rxb (ctl: a control buffer per slot, or NULL).
 */
static struct {
	uint8_t tx[MEMBER_BATCH][2048], rxb[MEMBER_BATCH * 2048];
	struct mmsghdr out[MEMBER_BATCH], in[MEMBER_BATCH];
	struct iovec tiov[MEMBER_BATCH], riov[MEMBER_BATCH];
	char ctl[MEMBER_BATCH][CMSG_SPACE(sizeof(uint32_t))];
} member_io;

static void member_io_init(struct member *m, bool with_ctl)
{
	for (int i = 0; i < MEMBER_BATCH; i++) {
		member_io.tiov[i].iov_base = member_io.tx[i];
		member_io.out[i].msg_hdr.msg_iov = &member_io.tiov[i];
		member_io.out[i].msg_hdr.msg_iovlen = 1;
		member_io.out[i].msg_hdr.msg_name = &m->relay;
		member_io.out[i].msg_hdr.msg_namelen = sizeof(m->relay);
		member_io.riov[i].iov_base = member_io.rxb + (size_t)i * 2048;
		member_io.in[i].msg_hdr.msg_iov = &member_io.riov[i];
		member_io.in[i].msg_hdr.msg_iovlen = 1;
		member_io.in[i].msg_hdr.msg_control = with_ctl ? member_io.ctl[i] : NULL;
	}
}

/* Sealed mode: receive what the relay resealed to B (non-blocking). */
static void member_rx(struct member *m, uint8_t *bufs, struct mmsghdr *msgs, struct iovec *iov,
                      char (*ctl)[CMSG_SPACE(sizeof(uint32_t))], uint64_t lat_from)
{
	uint64_t now, t, seq;
	uint32_t flow;
	int n, i;

	for (i = 0; i < MEMBER_BATCH; i++) {
		iov[i].iov_len = 2048;
		msgs[i].msg_hdr.msg_controllen = sizeof(ctl[i]);
	}
	n = recvmmsg(m->b[0].fd, msgs, MEMBER_BATCH, MSG_DONTWAIT, NULL);
	if (n <= 0)
		return;
	now = util_now_ns();
	if (!m->first_ns)
		m->first_ns = now;
	m->last_ns = now;
	for (i = 0; i < n; i++) {
		uint8_t *f = bufs + (size_t)i * 2048;
		size_t len = msgs[i].msg_len;
		int pl;

		if (frame_check(f, len) != PROTO_DATA) {
			m->bad++;
			continue;
		}
		m->received++;
		if (!m->open)
			continue;
		pl = seal_open_data(f, len, m->sid[0], m->b[0].k.data_recv, &m->b[0].data_rp);
		if (pl < UTIL_MARK_OFF + UTIL_MARK_LEN ||
		    util_mark_get(f + PROTO_SEALED_HDR_LEN, &flow, &seq, &t) < 0) {
			m->unmarked++;
			continue;
		}
		if (now >= lat_from)
			util_hist_add(&m->hist, (int64_t)(now - t));
	}
}

static int member_blast(struct member *m, const char *sink_out, const char *hist)
{
	uint8_t(*tx)[2048] = member_io.tx, *rxb = member_io.rxb;
	struct mmsghdr *out = member_io.out, *in = member_io.in;
	struct iovec *tiov = member_io.tiov, *riov = member_io.riov;
	uint64_t start = util_now_ns(), now = start, seq = 0, lat_from;
	uint64_t end = start + (uint64_t)(m->seconds * 1e9), last;
	double elapsed, win;
	int i;
	FILE *f;

	lat_from = start + (uint64_t)(m->warmup * 1e9);
	member_io_init(m, true);
	while (now < end && !member_stop) {
		uint64_t n = MEMBER_BATCH;
		int r;

		if (m->rate > 0) {
			uint64_t due = (uint64_t)((double)(now - start) * m->rate / 1e9);

			if (due <= seq) {
				member_rx(m, rxb, in, riov, member_io.ctl, lat_from);
				now = util_now_ns();
				continue;
			}
			n = due - seq < n ? due - seq : n;
		}
		for (i = 0; i < (int)n; i++) {
			uint8_t *p = tx[i] + PROTO_SEALED_HDR_LEN;
			uint32_t idx = 1;

			/* A WireGuard type-4 packet inside, as a sealed member would carry. */
			memset(p, 0, 16);
			p[0] = 4;
			memcpy(p + 4, &idx, 4);
			memcpy(p + 8, &seq, 8);
			util_mark_put(p, 0, seq++, now);
			tiov[i].iov_len = seal_data(tx[i], m->size, m->ha[0], m->a[0].data_ctr++,
			                            m->sid[0], m->a[0].k.data_send);
		}
		r = sendmmsg(m->a[0].fd, out, (unsigned)n, 0);
		if (r > 0)
			m->sent += (uint64_t)r;
		member_rx(m, rxb, in, riov, member_io.ctl, lat_from);
		now = util_now_ns();
	}
	elapsed = (double)(now - start) / 1e9;
	/* Collect what is still in flight: until 0.3 s pass without a frame. */
	for (;;) {
		last = m->last_ns > end ? m->last_ns : end;
		if (util_now_ns() - last > 300000000ull || member_stop)
			break;
		member_rx(m, rxb, in, riov, member_io.ctl, lat_from);
	}
	printf("{\"tool\":\"gen\",\"sent\":%llu,\"seconds\":%.3f,\"pps\":%.0f,\"send_errors\":0}\n",
	       (unsigned long long)m->sent, elapsed, (double)m->sent / elapsed);
	win = m->last_ns > m->first_ns ? (double)(m->last_ns - m->first_ns) / 1e9 : 0;
	f = sink_out ? fopen(sink_out, "w") : stdout;
	if (!f)
		f = stdout;
	fprintf(f,
	        "{\"tool\":\"sink\",\"received\":%llu,\"dropped\":%u,\"bytes\":%llu,"
	        "\"unmarked\":%llu,\"window_s\":%.3f,\"pps\":%.0f,\"not_data\":%llu,"
	        "\"lat_n\":%llu,\"lat_p50_us\":%.2f,\"lat_p99_us\":%.2f,\"lat_p999_us\":%.2f}\n",
	        (unsigned long long)m->received, util_sock_drops(m->b[0].fd),
	        (unsigned long long)(m->received * (m->size + PROTO_SEALED_OVERHEAD)),
	        (unsigned long long)m->unmarked, win, win > 0 ? (double)m->received / win : 0,
	        (unsigned long long)m->bad, (unsigned long long)m->hist.n,
	        util_hist_quantile(&m->hist, 0.5) / 1000.0,
	        util_hist_quantile(&m->hist, 0.99) / 1000.0,
	        util_hist_quantile(&m->hist, 0.999) / 1000.0);
	if (f != stdout)
		fclose(f);
	if (hist && (f = fopen(hist, "w"))) {
		util_hist_write_cdf(&m->hist, f);
		fclose(f);
	}
	return 0;
}

/* Frame seq of flow f at p (room for m->size + PROTO_SEALED_OVERHEAD): payload, then sealed. */
static size_t member_flows_frame(struct member *m, uint8_t *p, unsigned f, uint64_t seq,
                                 uint64_t now)
{
	uint8_t *pl = p + PROTO_SEALED_HDR_LEN;
	uint32_t idx = 1 + f;

	/* A WireGuard type-4 packet inside, as a sealed member would carry. */
	memset(pl, 0, 16);
	pl[0] = 4;
	memcpy(pl + 4, &idx, 4);
	memcpy(pl + 8, &seq, 8);
	memset(pl + UTIL_MARK_OFF + UTIL_MARK_LEN, 0, m->size - UTIL_MARK_OFF - UTIL_MARK_LEN);
	util_mark_put(pl, f, seq, now);
	return seal_data(p, m->size, m->ha[f], m->a[f].data_ctr++, m->sid[f], m->a[f].k.data_send);
}

/* One batch from every B link epoll says is readable (ep: B link i registered as i). */
static void member_flows_rx(struct member *m, int ep, struct mmsghdr *in, struct iovec *riov)
{
	struct epoll_event ev[64];
	int ne = epoll_wait(ep, ev, 64, 0);

	for (int e = 0; e < ne; e++) {
		unsigned f = ev[e].data.u32;
		int n;

		for (int i = 0; i < MEMBER_BATCH; i++) {
			riov[i].iov_len = 2048;
			in[i].msg_hdr.msg_controllen = 0;
		}
		n = recvmmsg(m->b[f].fd, in, MEMBER_BATCH, MSG_DONTWAIT, NULL);
		if (n <= 0)
			continue;
		m->last_ns = util_now_ns();
		if (!m->first_ns)
			m->first_ns = m->last_ns;
		for (int i = 0; i < n; i++) {
			if (frame_check(riov[i].iov_base, in[i].msg_len) != PROTO_DATA) {
				m->bad++;
				continue;
			}
			m->received++;
			m->rx_flow[f]++;
		}
	}
}

/*
 * Sealed run over m->flows sessions: batch b (MEMBER_BATCH frames) goes to flow b % flows on
 * that flow's A link; sealed as it goes, or all before the clock starts (--preseal).
 */
static int member_flows_blast(struct member *m, const char *sink_out, const char *ready)
{
	uint8_t(*tx)[2048] = member_io.tx;
	struct mmsghdr *out = member_io.out, *in = member_io.in;
	struct iovec *tiov = member_io.tiov, *riov = member_io.riov;
	size_t stride = m->size + PROTO_SEALED_OVERHEAD;
	uint64_t total = UINT64_MAX, seq = 0, start, now, end, last, drops = 0;
	uint8_t *pre = NULL;
	double elapsed, win, seal_s = 0;
	int ep, i;
	FILE *f;

	if ((ep = epoll_create1(EPOLL_CLOEXEC)) < 0)
		return -errno;
	for (unsigned k = 0; k < m->flows; k++) {
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = k};

		if (epoll_ctl(ep, EPOLL_CTL_ADD, m->b[k].fd, &ev) < 0) {
			close(ep);
			return -errno;
		}
	}
	member_io_init(m, false);
	if (m->preseal) {
		uint64_t cap = MEMBER_PRESEAL_BYTES / stride;
		uint64_t t0 = util_now_ns();

		total = m->frames     ? m->frames
		        : m->rate > 0 ? (uint64_t)(m->rate * m->seconds)
		                      : cap;
		if (total > cap) {
			fprintf(stderr,
			        "member: --preseal: %llu frames capped at %llu (%llu MiB)\n",
			        (unsigned long long)total, (unsigned long long)cap,
			        (unsigned long long)(MEMBER_PRESEAL_BYTES >> 20));
			total = cap;
		}
		if (!total || !(pre = malloc(total * stride))) {
			close(ep);
			return -ENOMEM;
		}
		for (uint64_t s = 0; s < total; s++)
			member_flows_frame(m, pre + s * stride,
			                   (unsigned)(s / MEMBER_BATCH % m->flows), s, t0);
		seal_s = (double)(util_now_ns() - t0) / 1e9;
	} else if (m->frames) {
		total = m->frames;
	}
	/* For whoever reads the relay's figures over the timed part only. */
	if (ready && (f = fopen(ready, "w")))
		fclose(f);
	start = now = util_now_ns();
	end = start + (uint64_t)(m->seconds * 1e9);
	while (now < end && seq < total && !member_stop) {
		unsigned fl = (unsigned)(seq / MEMBER_BATCH % m->flows);
		uint64_t n = MEMBER_BATCH - seq % MEMBER_BATCH; /* batches stay aligned */
		int r;

		if (n > total - seq)
			n = total - seq;
		if (m->rate > 0) {
			uint64_t due = (uint64_t)((double)(now - start) * m->rate / 1e9);

			if (due <= seq) {
				member_flows_rx(m, ep, in, riov);
				now = util_now_ns();
				continue;
			}
			n = due - seq < n ? due - seq : n;
		}
		for (i = 0; i < (int)n; i++) {
			if (pre) {
				tiov[i].iov_base = pre + (seq + (uint64_t)i) * stride;
				tiov[i].iov_len = stride;
			} else {
				tiov[i].iov_base = tx[i];
				tiov[i].iov_len =
				    member_flows_frame(m, tx[i], fl, seq + (uint64_t)i, now);
			}
		}
		r = sendmmsg(m->a[fl].fd, out, (unsigned)n, 0);
		if (r > 0)
			m->sent += (uint64_t)r;
		/* What the kernel refused is not sent again (its counter is spent). */
		m->send_errors += n - (uint64_t)(r > 0 ? r : 0);
		seq += n;
		member_flows_rx(m, ep, in, riov);
		now = util_now_ns();
	}
	elapsed = (double)(now - start) / 1e9;
	end = now;
	/* Collect what is still in flight: until 0.3 s pass without a frame. */
	for (;;) {
		last = m->last_ns > end ? m->last_ns : end;
		if (util_now_ns() - last > 300000000ull || member_stop)
			break;
		member_flows_rx(m, ep, in, riov);
	}
	close(ep);
	free(pre);
	printf("{\"tool\":\"gen\",\"sent\":%llu,\"seconds\":%.3f,\"pps\":%.0f,\"send_errors\":%llu,"
	       "\"flows\":%u,\"preseal\":%d,\"frames\":%llu,\"seal_s\":%.3f}\n",
	       (unsigned long long)m->sent, elapsed, elapsed > 0 ? (double)m->sent / elapsed : 0,
	       (unsigned long long)m->send_errors, m->flows, m->preseal,
	       (unsigned long long)(total == UINT64_MAX ? 0 : total), seal_s);
	for (unsigned k = 0; k < m->flows; k++)
		drops += util_sock_drops(m->b[k].fd);
	win = m->last_ns > m->first_ns ? (double)(m->last_ns - m->first_ns) / 1e9 : 0;
	f = sink_out ? fopen(sink_out, "w") : stdout;
	if (!f)
		f = stdout;
	fprintf(f,
	        "{\"tool\":\"sink\",\"received\":%llu,\"dropped\":%llu,\"bytes\":%llu,"
	        "\"unmarked\":0,\"window_s\":%.3f,\"pps\":%.0f,\"not_data\":%llu,\"lat_n\":0,"
	        "\"flows\":%u,\"per_flow\":[",
	        (unsigned long long)m->received, (unsigned long long)drops,
	        (unsigned long long)(m->received * stride), win,
	        win > 0 ? (double)m->received / win : 0, (unsigned long long)m->bad, m->flows);
	for (unsigned k = 0; k < m->flows; k++)
		fprintf(f, "%s%llu", k ? "," : "", (unsigned long long)m->rx_flow[k]);
	fprintf(f, "]}\n");
	if (f != stdout)
		fclose(f);
	return 0;
}

static void member_usage(void)
{
	fprintf(
	    stderr,
	    "usage: wgr-bench-member --relay IP:PORT --relay-pub BASE64 [--mode direct|sealed]\n"
	    "  [--sessions N] direct: --ports-out FILE [--ready FILE] [--hold S]\n"
	    "  sealed: [--size B] [--rate PPS] [--duration S] [--open] [--sink-out FILE]\n"
	    "          [--hist FILE] [--warmup S]\n"
	    "          or [--flows K] [--preseal] [--frames N] [--size B] [--rate PPS]\n"
	    "          [--duration S] [--sink-out FILE] [--ready FILE]\n"
	    "  [--netns-a PATH] [--netns-b PATH]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"relay", 1, 0, 'r'},     {"relay-pub", 1, 0, 'k'},
	                                     {"mode", 1, 0, 'm'},      {"sessions", 1, 0, 'n'},
	                                     {"ports-out", 1, 0, 'p'}, {"ready", 1, 0, 'R'},
	                                     {"hold", 1, 0, 'H'},      {"size", 1, 0, 's'},
	                                     {"rate", 1, 0, 'a'},      {"duration", 1, 0, 't'},
	                                     {"open", 0, 0, 'o'},      {"sink-out", 1, 0, 'S'},
	                                     {"hist", 1, 0, 'h'},      {"warmup", 1, 0, 'w'},
	                                     {"netns-a", 1, 0, 'A'},   {"netns-b", 1, 0, 'B'},
	                                     {"flows", 1, 0, 'F'},     {"preseal", 0, 0, 'P'},
	                                     {"frames", 1, 0, 'N'},    {0, 0, 0, 0}};
	struct member *m = calloc(1, sizeof(*m));
	const char *ports_out = NULL, *ready = NULL, *sink_out = NULL, *hist = NULL;
	int have_relay = 0, have_key = 0, c, r;
	double hold = 600;
	unsigned i, per_link = MEMBER_BINDS_PER_LINK;

	if (!m || sodium_init() < 0)
		return 1;
	m->mode = PROTO_MODE_DIRECT;
	m->n = 1;
	m->size = 1420;
	m->seconds = 2;
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'r':
			have_relay = util_parse_addr(optarg, &m->relay) == 0;
			break;
		case 'k':
			have_key = key_from_base64(m->relay_pub, optarg) == 0;
			break;
		case 'm':
			if (!strcmp(optarg, "direct"))
				m->mode = PROTO_MODE_DIRECT;
			else if (!strcmp(optarg, "sealed"))
				m->mode = PROTO_MODE_SEALED;
			else
				member_usage();
			break;
		case 'n':
			m->n = (unsigned)util_arg_num("--sessions", optarg);
			break;
		case 'p':
			ports_out = optarg;
			break;
		case 'R':
			ready = optarg;
			break;
		case 'H':
			hold = util_arg_num("--hold", optarg);
			break;
		case 's':
			m->size = (size_t)util_arg_num("--size", optarg);
			break;
		case 'a':
			m->rate = util_arg_num("--rate", optarg);
			break;
		case 't':
			m->seconds = util_arg_num("--duration", optarg);
			break;
		case 'o':
			m->open = 1;
			break;
		case 'S':
			sink_out = optarg;
			break;
		case 'h':
			hist = optarg;
			break;
		case 'w':
			m->warmup = util_arg_num("--warmup", optarg);
			break;
		case 'A':
			m->netns_a = optarg;
			break;
		case 'B':
			m->netns_b = optarg;
			break;
		case 'F':
			m->flows = (unsigned)util_arg_num("--flows", optarg);
			if (m->flows < 1 || m->flows > MEMBER_FLOWS_MAX)
				member_usage();
			break;
		case 'P':
			m->preseal = 1;
			break;
		case 'N':
			m->frames = (uint64_t)util_arg_num("--frames", optarg);
			break;
		default:
			member_usage();
		}
	}
	if (!have_relay || !have_key || m->n < 1 || m->n > 100000 ||
	    (m->mode == PROTO_MODE_DIRECT && !ports_out) ||
	    m->size < UTIL_MARK_OFF + UTIL_MARK_LEN || m->size + PROTO_SEALED_OVERHEAD > 2048)
		member_usage();
	if (m->flows || m->preseal || m->frames) {
		/* One session per link pair: each flow its own A and B socket. */
		if (m->mode != PROTO_MODE_SEALED || m->open || hist)
			member_usage();
		if (!m->flows)
			m->flows = 1;
		m->n = m->flows;
		per_link = 1;
		if (!(m->rx_flow = calloc(m->flows, sizeof(*m->rx_flow))))
			return 1;
	}
	signal(SIGTERM, member_on_signal);
	signal(SIGINT, member_on_signal);
	m->sid = calloc(m->n, 16);
	m->ha = calloc(m->n, sizeof(*m->ha));
	m->hb = calloc(m->n, sizeof(*m->hb));
	m->port = calloc(m->n, sizeof(*m->port));
	if (!m->sid || !m->ha || !m->hb || !m->port)
		return 1;
	for (i = 0; i < m->n; i++) {
		/* Random session ids, each starting with its index so answers map back. */
		randombytes_buf(m->sid[i], 16);
		memcpy(m->sid[i], &i, sizeof(i));
	}
	m->nl = (m->n + per_link - 1) / per_link;
	m->a = calloc(m->nl, sizeof(*m->a));
	m->b = calloc(m->nl, sizeof(*m->b));
	if (!m->a || !m->b)
		return 1;
	for (i = 0; i < m->nl; i++) {
		unsigned first = i * per_link;
		unsigned count = m->n - first < per_link ? m->n - first : per_link;

		if ((r = member_link_up(m, &m->a[i], m->netns_a)) < 0 ||
		    (r = member_link_up(m, &m->b[i], m->netns_b)) < 0) {
			fprintf(stderr, "member: link handshake failed: %s\n",
			        r < -1000 ? frame_strerror(r) : strerror(-r));
			return 1;
		}
		if ((r = member_bind_all(m, &m->a[i], first, count, m->ha)) < 0 ||
		    (r = member_bind_all(m, &m->b[i], first, count, m->hb)) < 0) {
			fprintf(stderr, "member: binding %u sessions failed: %s\n", m->n,
			        strerror(-r));
			return 1;
		}
	}
	if (m->mode == PROTO_MODE_DIRECT)
		r = member_hold(m, ports_out, ready, hold);
	else if (m->flows)
		r = member_flows_blast(m, sink_out, ready);
	else
		r = member_blast(m, sink_out, hist);
	for (i = 0; i < m->nl; i++) {
		link_keys_clear(&m->a[i].k);
		link_keys_clear(&m->b[i].k);
		sodium_memzero(m->a[i].priv, 32);
		sodium_memzero(m->b[i].priv, 32);
		close(m->a[i].fd);
		close(m->b[i].fd);
	}
	free(m->a);
	free(m->b);
	free(m->sid);
	free(m->ha);
	free(m->hb);
	free(m->port);
	free(m->rx_flow);
	free(m);
	return r < 0 ? 1 : 0;
}
