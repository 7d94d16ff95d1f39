/*
 * stream.c: wgr-bench-stream, the wgrelayd bench client over a stream transport (PROTOCOL.md
 * §12). Opens two connections to the relay's stream port with transport/tconn (tcp://, tls://,
 * ws:// or wss://), makes a control link on each (Noise IK, two fresh client identities A and
 * B), binds one session sealed on both, then A sends sealed DATA frames carrying WireGuard-shaped
 * payloads of --size bytes and B counts what the relay resealed to it.
 *
 * Unpaced (--rate 0), A writes a frame only while its connection has nothing queued, so it
 * offers exactly what the relay reads (TCP's flow control) and seals nothing it would drop;
 * paced, it offers --rate frames a second. With --open, B opens each frame and reads the probe
 * mark (one-way delay). Prints the sender's JSON on stdout and the receiver's to --sink-out,
 * the same fields as wgr-bench-member, plus the connections' own counters.
 */
#include "frame.h"
#include "handshake.h"
#include "key.h"
#include "seal.h"
#include "tconn.h"
#include "tls.h"
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#define SLINK_HS_TRIES 8

struct slink {
	const char *name;
	struct tconn *t;
	struct hs_client hc;
	struct link_keys k;
	uint8_t priv[32];
	uint8_t sk[32]; /* session key of the bound sid, this link's direction */
	struct replay data_rp;
	int up, bound, failed;
	uint64_t bad; /* records that were none of the expected frames */
	uint32_t handle;
	uint64_t data_ctr;
	struct bench *b;
};

struct bench {
	struct slink a, b;
	uint8_t relay_pub[32];
	uint8_t sid[16];
	size_t size;
	double rate, seconds, warmup;
	int open, rcvbuf, rx_fifo;
	uint64_t sent, received, unmarked, first_ns, last_ns, lat_from;
	uint64_t tx_end_ns;
	int tx_done, rx_err; /* A finished (set once, read by B's thread); B's connection failed */
	struct util_hist hist;
};

static volatile sig_atomic_t stream_stop;

static void stream_on_signal(int sig)
{
	(void)sig;
	stream_stop = 1;
}

static uint64_t stream_now_ms(void)
{
	return util_now_ns() / 1000000;
}

/* Seal and queue one control message on l. */
static int stream_ctrl_send(struct slink *l, const struct ctrl_msg *msg)
{
	uint8_t pt[PROTO_MAX_CTRL_PLAIN], out[PROTO_MAX_CTRL_PLAIN + PROTO_SEALED_OVERHEAD];
	int len = ctrl_encode(msg, pt, sizeof(pt)), n;

	if (len < 0)
		return len;
	n = frame_seal_ctrl(out, sizeof(out), l->k.remote_index, l->k.ctrl_send_counter++,
	                    l->k.ctrl_send, pt, (size_t)len);
	if (n < 0)
		return n;
	return tconn_send(l->t, out, (size_t)n, false);
}

static void stream_send_init(struct slink *l)
{
	uint8_t init[PROTO_HS_INIT_LEN];

	hs_client_build_init(&l->hc, init, stream_now_ms());
	tconn_send(l->t, init, sizeof(init), false);
}

/* B's side of a DATA frame: count it and, with --open, time it by its probe mark. */
static void stream_data(struct bench *m, uint8_t *f, size_t len)
{
	uint64_t now = util_now_ns(), t, seq;
	uint32_t flow;
	int pl;

	if (!m->first_ns)
		m->first_ns = now;
	m->last_ns = now;
	m->received++;
	if (!m->open)
		return;
	pl = seal_open_data_sk(f, len, m->b.sk, &m->b.data_rp);
	if (pl < UTIL_MARK_OFF + UTIL_MARK_LEN ||
	    util_mark_get(f + PROTO_SEALED_HDR_LEN, &flow, &seq, &t) < 0) {
		m->unmarked++;
		return;
	}
	if (now >= m->lat_from)
		util_hist_add(&m->hist, (int64_t)(now - t));
}

/* Every record the relay sends on one link: handshake answers, control, DATA. */
static void stream_on_frame(void *arg, struct tconn *c, uint8_t *f, size_t len)
{
	struct slink *l = arg;
	uint8_t pt[2048];
	struct ctrl_msg msg;
	struct addr observed;
	int r = frame_check(f, len);

	(void)c;
	if (r == PROTO_DATA && l->bound) {
		if (l == &l->b->b)
			stream_data(l->b, f, len);
		return;
	}
	if (r == PROTO_HS_RESP && !l->up) {
		if (hs_client_consume_resp(&l->hc, f, len, &l->k, &observed) == 0)
			l->up = 1;
		return;
	}
	if (r == PROTO_COOKIE && !l->up) {
		hs_client_consume_cookie(&l->hc, f, len, stream_now_ms());
		stream_send_init(l); /* at once, now with mac2 */
		return;
	}
	if (r != PROTO_CTRL || !l->up) {
		l->bad++;
		return;
	}
	r = frame_open_ctrl(f, len, l->k.ctrl_recv, &l->k.ctrl_replay, pt, sizeof(pt));
	if (r < 0 || ctrl_decode(pt, (size_t)r, &msg) < 0)
		return;
	if (msg.type == CTRL_ERROR) {
		fprintf(stderr, "stream %s: relay error %u (%s): %s\n", l->name, msg.code,
		        proto_error_name(msg.code), msg.text);
		l->failed = 1;
	} else if (msg.type == CTRL_BOUND && !memcmp(msg.sid, l->b->sid, 16) && !l->bound) {
		l->handle = msg.handle;
		l->bound = 1;
	}
}

/* Run one link's I/O for the events poll saw; -errno when the connection ended. */
static int stream_io(struct slink *l, short revents)
{
	unsigned ev = 0;
	int r;

	if (revents & (POLLIN | POLLHUP | POLLERR))
		ev |= EV_READ;
	if (revents & (POLLOUT | POLLHUP | POLLERR))
		ev |= EV_WRITE;
	if (!ev)
		return 0;
	r = tconn_io(l->t, ev, stream_now_ms(), stream_on_frame, l);
	if (r < 0)
		fprintf(stderr, "stream %s: connection ended: %s\n", l->name, tconn_error(l->t));
	return r;
}

static void stream_pollfd(struct pollfd *p, const struct slink *l)
{
	unsigned ev = tconn_events(l->t);

	p->fd = tconn_fd(l->t);
	p->events = (short)((ev & EV_READ ? POLLIN : 0) | (ev & EV_WRITE ? POLLOUT : 0));
	p->revents = 0;
}

/* Wait up to timeout_ms for the links (one or both) and run their I/O; 0 or -errno. */
static int stream_poll(struct slink **ls, int nl, int timeout_ms)
{
	struct pollfd p[2];
	int i, n, r;

	for (i = 0; i < nl; i++)
		stream_pollfd(&p[i], ls[i]);
	n = poll(p, (nfds_t)nl, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (i = 0; i < nl && n > 0; i++)
		if ((r = stream_io(ls[i], p[i].revents)) < 0)
			return r;
	return 0;
}

/* Poll until done(m) holds, for at most ms; 0 or -ETIMEDOUT / -errno. */
static int stream_until(struct bench *m, int (*done)(const struct bench *), uint64_t ms,
                        void (*retry)(struct bench *))
{
	uint64_t end = stream_now_ms() + ms, next = stream_now_ms() + 1000;
	struct slink *ls[2] = {&m->a, &m->b};
	int r;

	while (!done(m)) {
		if (stream_stop || m->a.failed || m->b.failed)
			return -EINTR;
		if (stream_now_ms() >= end)
			return -ETIMEDOUT;
		if (retry && stream_now_ms() >= next) {
			retry(m);
			next = stream_now_ms() + 1000;
		}
		if ((r = stream_poll(ls, 2, 50)) < 0)
			return r;
	}
	return 0;
}

static int stream_both_open(const struct bench *m)
{
	return tconn_state(m->a.t) == TCONN_OPEN && tconn_state(m->b.t) == TCONN_OPEN;
}

static int stream_both_up(const struct bench *m)
{
	return m->a.up && m->b.up;
}

static int stream_both_bound(const struct bench *m)
{
	return m->a.bound && m->b.bound;
}

static void stream_bind(struct slink *l)
{
	struct ctrl_msg msg;

	memset(&msg, 0, sizeof(msg));
	msg.type = CTRL_BIND;
	msg.mode = PROTO_MODE_SEALED;
	memcpy(msg.sid, l->b->sid, 16);
	stream_ctrl_send(l, &msg);
}

static void stream_retry_init(struct bench *m)
{
	if (!m->a.up)
		stream_send_init(&m->a);
	if (!m->b.up)
		stream_send_init(&m->b);
}

static void stream_retry_bind(struct bench *m)
{
	if (!m->a.bound)
		stream_bind(&m->a);
	if (!m->b.bound)
		stream_bind(&m->b);
}

/* Connect, handshake and bind both links; 0 or -errno. */
static int stream_setup(struct bench *m, const struct tconn_client *cl, const struct addr *to)
{
	struct slink *ls[2] = {&m->a, &m->b};
	int i, r;

	for (i = 0; i < 2; i++) {
		struct slink *l = ls[i];

		l->b = m;
		key_generate_private(l->priv);
		hs_client_init(&l->hc, l->priv, m->relay_pub);
		replay_init(&l->data_rp);
		if ((r = tconn_connect(&l->t, cl, to, stream_now_ms())) < 0)
			return r;
	}
	/*
	 * B's receive buffer, fixed and large: B shares the load CPU with A, and while A runs B
	 * does not read; the relay must not find B's window closed for that (it would drop).
	 */
	if (m->rcvbuf > 0 && setsockopt(tconn_fd(m->b.t), SOL_SOCKET, SO_RCVBUFFORCE, &m->rcvbuf,
	                                sizeof(m->rcvbuf)) < 0)
		setsockopt(tconn_fd(m->b.t), SOL_SOCKET, SO_RCVBUF, &m->rcvbuf, sizeof(m->rcvbuf));
	if ((r = stream_until(m, stream_both_open, 5000, NULL)) < 0) {
		fprintf(stderr, "stream: connections not open: %s / %s\n", tconn_error(m->a.t),
		        tconn_error(m->b.t));
		return r;
	}
	stream_retry_init(m);
	if ((r = stream_until(m, stream_both_up, SLINK_HS_TRIES * 1000, stream_retry_init)) < 0) {
		fprintf(stderr, "stream: link handshake failed\n");
		return r;
	}
	stream_retry_bind(m);
	if ((r = stream_until(m, stream_both_bound, 5000, stream_retry_bind)) < 0) {
		fprintf(stderr, "stream: binding failed\n");
		return r;
	}
	/* A seals with its send key, B opens with its receive key: one HChaCha20 each, here. */
	seal_session_key(m->a.sk, m->a.k.data_send, m->sid);
	seal_session_key(m->b.sk, m->b.k.data_recv, m->sid);
	return 0;
}

/* One sealed DATA frame from A, a WireGuard type-4 packet inside as a sealed member carries. */
static int stream_send_one(struct bench *m, uint64_t now)
{
	static uint8_t f[STREAM_MAX_RECORD];
	uint8_t *p = f + PROTO_SEALED_HDR_LEN;
	uint32_t idx = 1;
	size_t n;
	int r;

	memset(p, 0, 16);
	p[0] = 4;
	memcpy(p + 4, &idx, 4);
	memcpy(p + 8, &m->sent, 8);
	util_mark_put(p, 0, m->sent, now);
	n = seal_data_sk(f, m->size, m->a.handle, m->a.data_ctr++, m->a.sk);
	r = tconn_send(m->a.t, f, n, false);
	if (r == 0)
		m->sent++;
	return r;
}

/*
 * B's thread: read what the relay resealed to B until A has finished and 0.3 s passed
 * without a frame. B reads on its own thread so that A's sending never delays it: a relay's
 * queue to a slow reader drops DATA, and that loss is to be the relay's, not this tool's.
 */
static void *stream_rx_thread(void *arg)
{
	struct bench *m = arg;
	struct slink *lb = &m->b;
	uint64_t last;
	int r;

	for (;;) {
		if (stream_stop)
			break;
		if (__atomic_load_n(&m->tx_done, __ATOMIC_ACQUIRE)) {
			last = m->last_ns > m->tx_end_ns ? m->last_ns : m->tx_end_ns;
			if (util_now_ns() - last > 300000000ull)
				break;
		}
		if ((r = stream_poll(&lb, 1, 20)) < 0) {
			__atomic_store_n(&m->rx_err, r, __ATOMIC_RELEASE);
			break;
		}
	}
	return NULL;
}

static int stream_blast(struct bench *m)
{
	uint64_t start = util_now_ns(), now = start, due;
	uint64_t end = start + (uint64_t)(m->seconds * 1e9);
	struct slink *la = &m->a;
	pthread_t rx;
	int r = 0, i;

	m->lat_from = start + (uint64_t)(m->warmup * 1e9);
	if ((r = pthread_create(&rx, NULL, stream_rx_thread, m)) != 0)
		return -r;
	if (m->rx_fifo) {
		/*
		 * A real receiver's kernel takes what the relay sends at once; B shares its CPU
		 * with A, so it gets the CPU as soon as frames are there (root only; else as is).
		 */
		struct sched_param sp = {.sched_priority = 1};

		if (pthread_setschedparam(rx, SCHED_FIFO, &sp) != 0)
			fprintf(stderr, "stream: B's thread not real-time (no privilege)\n");
	}
	while (now < end && !stream_stop && !__atomic_load_n(&m->rx_err, __ATOMIC_ACQUIRE)) {
		/* Frames while A's connection takes them straight into the socket. */
		for (i = 0; i < 64; i++) {
			if (tconn_events(la->t) & EV_WRITE)
				break;
			if (m->rate > 0) {
				due = (uint64_t)((double)(now - start) * m->rate / 1e9);
				if (due <= m->sent)
					break;
			}
			if (stream_send_one(m, util_now_ns()) < 0)
				break;
		}
		/*
		 * Full: wait for the socket; else just look (busy, like wgr-bench-member: a paced
		 * sender that slept would send bursts, and their queueing would count as delay).
		 */
		r = stream_poll(&la, 1, (tconn_events(la->t) & EV_WRITE) ? 1 : 0);
		if (r < 0)
			break;
		now = util_now_ns();
	}
	m->tx_end_ns = now;
	__atomic_store_n(&m->tx_done, 1, __ATOMIC_RELEASE);
	pthread_join(rx, NULL);
	m->seconds = (double)(now - start) / 1e9;
	return r < 0 ? r : m->rx_err;
}

static void stream_report(const struct bench *m, const char *sink_out, const char *hist)
{
	const struct tconn_stats *sa = tconn_stats(m->a.t), *sb = tconn_stats(m->b.t);
	double win = m->last_ns > m->first_ns ? (double)(m->last_ns - m->first_ns) / 1e9 : 0;
	FILE *f;

	printf("{\"tool\":\"gen\",\"sent\":%llu,\"seconds\":%.3f,\"pps\":%.0f,\"send_errors\":0,"
	       "\"tx_records\":%llu,\"tx_dropped\":%llu,\"tx_bytes\":%llu}\n",
	       (unsigned long long)m->sent, m->seconds,
	       m->seconds > 0 ? (double)m->sent / m->seconds : 0,
	       (unsigned long long)sa->tx_records, (unsigned long long)sa->tx_dropped,
	       (unsigned long long)sa->tx_bytes);
	f = sink_out ? fopen(sink_out, "w") : stdout;
	if (!f)
		f = stdout;
	fprintf(f,
	        "{\"tool\":\"sink\",\"received\":%llu,\"dropped\":0,\"bytes\":%llu,"
	        "\"unmarked\":%llu,\"window_s\":%.3f,\"pps\":%.0f,\"not_data\":%llu,"
	        "\"rx_records\":%llu,\"rx_bytes\":%llu,"
	        "\"lat_n\":%llu,\"lat_p50_us\":%.2f,\"lat_p99_us\":%.2f,\"lat_p999_us\":%.2f}\n",
	        (unsigned long long)m->received, (unsigned long long)(m->received * m->size),
	        (unsigned long long)m->unmarked, win, win > 0 ? (double)m->received / win : 0,
	        (unsigned long long)(m->a.bad + m->b.bad), (unsigned long long)sb->rx_records,
	        (unsigned long long)sb->rx_bytes, (unsigned long long)m->hist.n,
	        util_hist_quantile(&m->hist, 0.5) / 1000.0,
	        util_hist_quantile(&m->hist, 0.99) / 1000.0,
	        util_hist_quantile(&m->hist, 0.999) / 1000.0);
	if (f != stdout)
		fclose(f);
	if (hist && (f = fopen(hist, "w"))) {
		util_hist_write_cdf(&m->hist, f);
		fclose(f);
	}
}

static void stream_usage(void)
{
	fprintf(stderr,
	        "usage: wgr-bench-stream --url tcp|tls|ws|wss://IP:PORT[/path] "
	        "--relay-pub BASE64\n"
	        "  [--size B] [--rate PPS] [--duration S] [--open] [--sink-out FILE]\n"
	        "  [--hist FILE] [--warmup S] [--queue BYTES] [--rcvbuf BYTES] [--rx-fifo]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"url", 1, 0, 'u'},
	                                     {"relay-pub", 1, 0, 'k'},
	                                     {"size", 1, 0, 's'},
	                                     {"rate", 1, 0, 'a'},
	                                     {"duration", 1, 0, 't'},
	                                     {"open", 0, 0, 'o'},
	                                     {"sink-out", 1, 0, 'S'},
	                                     {"hist", 1, 0, 'h'},
	                                     {"warmup", 1, 0, 'w'},
	                                     {"queue", 1, 0, 'q'},
	                                     {"rcvbuf", 1, 0, 'b'},
	                                     {"rx-fifo", 0, 0, 'F'},
	                                     {0, 0, 0, 0}};
	struct bench *m = calloc(1, sizeof(*m));
	struct tconn_client cl;
	struct addr to;
	const char *sink_out = NULL, *hist = NULL;
	int have_url = 0, have_key = 0, c, r;

	if (!m || sodium_init() < 0)
		return 1;
	memset(&cl, 0, sizeof(cl));
	cl.queue_bytes = 65536;
	m->size = 1424;
	m->seconds = 2;
	m->rcvbuf = 4 << 20;
	m->a.name = "A";
	m->b.name = "B";
	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'u':
			have_url = turl_parse(&cl.url, optarg) == 0 && cl.url.kind != TURL_UDP &&
			           turl_host_addr(&cl.url, &to);
			break;
		case 'k':
			have_key = key_from_base64(m->relay_pub, optarg) == 0;
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
		case 'F':
			m->rx_fifo = 1;
			break;
		case 'b':
			m->rcvbuf = (int)util_arg_num("--rcvbuf", optarg);
			break;
		case 'q':
			cl.queue_bytes = (size_t)util_arg_num("--queue", optarg);
			break;
		default:
			stream_usage();
		}
	}
	if (!have_url || !have_key || m->size < UTIL_MARK_OFF + UTIL_MARK_LEN ||
	    m->size + PROTO_SEALED_OVERHEAD > STREAM_MAX_RECORD)
		stream_usage();
	signal(SIGTERM, stream_on_signal);
	signal(SIGINT, stream_on_signal);
	signal(SIGPIPE, SIG_IGN);
	if ((cl.url.kind == TURL_TLS || cl.url.kind == TURL_WSS) && tls_ctx_client(&cl.tls) < 0)
		return 1;
	randombytes_buf(m->sid, sizeof(m->sid));
	r = stream_setup(m, &cl, &to);
	if (r == 0)
		r = stream_blast(m);
	if (m->a.t && m->b.t && m->a.bound)
		stream_report(m, sink_out, hist);
	link_keys_clear(&m->a.k);
	link_keys_clear(&m->b.k);
	sodium_memzero(m->a.priv, 32);
	sodium_memzero(m->b.priv, 32);
	sodium_memzero(m->a.sk, 32);
	sodium_memzero(m->b.sk, 32);
	tconn_free(m->a.t);
	tconn_free(m->b.t);
	tls_ctx_free(cl.tls);
	free(m);
	return r < 0 ? 1 : 0;
}
