/*
 * Integration tests of wgrelayd as a libp2p Circuit Relay v2 server ([Libp2p],
 * docs/LIBP2P.md): the real binary with a libp2p port on loopback, reached by a minimal
 * libp2p node written with libp2p/ itself (multistream-select dialer, Noise XX initiator,
 * yamux client). Identify lists the hop protocol and names the relay; ping echoes; a node
 * reserves (expire ahead, a voucher that verifies) and another connects to it through the
 * relay, 1 MiB crossing each way byte-identical; the limits answer with the spec's statuses;
 * garbage, a bad Noise message and silence on the port are cut while circuits keep working;
 * the byte and duration limits end circuits; MaxStreams refuses streams.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "envelope.h"
#include "harness.h"
#include "identity.h"
#include "mss.h"
#include "multiaddr.h"
#include "p2pmsg.h"
#include "pb.h"
#include "peerid.h"
#include "xxnoise.h"
#include "yamux.h"

#define HOP  "/libp2p/circuit/relay/0.2.0/hop"
#define STOP "/libp2p/circuit/relay/0.2.0/stop"
#define MAXS 16
#define BIG  (1024 * 1024)
/* The receive window wgrelayd grows a spliced stream to (relayd/libp2p_int.h P2P_CIRCUIT_WINDOW). */
#define RELAY_WINDOW (2u * 1024 * 1024)

static char conf_dir[64], conf_path[96], maddr[32], paddr[32];
static struct addr pa; /* the libp2p port */
static struct peerid relay_pid;
static uint8_t relay_pk[32];
static char metrics_text[131072];
static char log_text[262144];

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* --- a minimal libp2p node --- */

struct tnode;

struct tstream {
	struct tnode *n;
	struct yamux_stream *st; /* NULL once closed */
	struct mss mss;
	bool inbound, agreed, fin, closed, reset;
	bool hold;   /* the application stops reading: nothing is consumed */
	size_t held; /* bytes received and not consumed */
	int mss_err;
	uint8_t *rx;
	size_t rx_len, rx_cap;
	size_t rx_total; /* application bytes received in all */
};

struct tnode {
	int fd;
	struct identity id;
	struct peerid pid;
	struct xxn_cs tx, rx;
	struct yamux *y;
	struct mss mss; /* "/yamux/1.0.0" */
	bool muxed, dead;
	uint8_t in[2 + XXN_MAX_MSG];
	size_t in_len;
	uint8_t pt[XXN_MAX_PLAIN];
	size_t pt_len;
	uint8_t *out;
	size_t out_len, out_cap;
	struct tstream s[MAXS];
	int ns;
	int n_inbound; /* streams the relay opened (stop) */
};

static struct tnode *nodes[8];
static int nnodes;

static void out_put(struct tnode *n, const uint8_t *p, size_t len)
{
	if (n->out_len + len > n->out_cap) {
		n->out_cap = (n->out_len + len) * 2;
		n->out = realloc(n->out, n->out_cap);
		assert_non_null(n->out);
	}
	memcpy(n->out + n->out_len, p, len);
	n->out_len += len;
}

static void node_seal(struct tnode *n)
{
	uint8_t m[2 + XXN_MAX_MSG];
	int k;

	if (!n->pt_len)
		return;
	k = xxn_encrypt(&n->tx, n->pt, n->pt_len, m + 2, sizeof(m) - 2);
	assert_true(k > 0);
	buf_store_be16(m, (uint16_t)k);
	out_put(n, m, 2 + (size_t)k);
	n->pt_len = 0;
}

static void node_write(struct tnode *n, const uint8_t *p, size_t len)
{
	while (len) {
		size_t k = sizeof(n->pt) - n->pt_len < len ? sizeof(n->pt) - n->pt_len : len;

		memcpy(n->pt + n->pt_len, p, k);
		n->pt_len += k;
		p += k;
		len -= k;
		if (n->pt_len == sizeof(n->pt))
			node_seal(n);
	}
}

static void y_write(void *ctx, const uint8_t *p, size_t len)
{
	node_write(ctx, p, len);
}

static struct tstream *ts_new(struct tnode *n, struct yamux_stream *st, bool inbound)
{
	struct tstream *ts;

	assert_true(n->ns < MAXS);
	ts = &n->s[n->ns++];
	memset(ts, 0, sizeof(*ts));
	ts->n = n;
	ts->st = st;
	ts->inbound = inbound;
	st->user = ts;
	return ts;
}

static int y_open(void *ctx, struct yamux_stream *st)
{
	struct tnode *n = ctx;
	struct tstream *ts = ts_new(n, st, true);

	mss_listen_init(&ts->mss);
	n->n_inbound++;
	return 0;
}

static void rx_add(struct tstream *ts, const uint8_t *p, size_t len)
{
	if (!len)
		return;
	if (ts->rx_len + len > ts->rx_cap) {
		ts->rx_cap = (ts->rx_len + len) * 2;
		ts->rx = realloc(ts->rx, ts->rx_cap);
		assert_non_null(ts->rx);
	}
	memcpy(ts->rx + ts->rx_len, p, len);
	ts->rx_len += len;
	ts->rx_total += len;
}

static void y_data(void *ctx, struct yamux_stream *st, const uint8_t *p, size_t len)
{
	struct tnode *n = ctx;
	struct tstream *ts = st->user;
	size_t used = 0;

	/* This application reads everything at once (the window goes back as data arrives),
	   unless told to hold. */
	if (ts->hold)
		ts->held += len;
	else
		yamux_consume(n->y, st, len);
	if (!ts->agreed && !ts->mss_err) {
		int e;

		if (ts->inbound) {
			static const char *const protos[] = {STOP};
			uint8_t lines[MSS_OUT_MAX];
			struct wbuf w;
			int chosen;

			wbuf_init(&w, lines, sizeof(lines));
			e = mss_listen_input(&ts->mss, protos, 1, p, len, &used, &w, &chosen);
			if (w.pos)
				assert_int_equal(yamux_send(n->y, st, lines, w.pos),
				                 (ssize_t)w.pos);
		} else {
			e = mss_dial_input(&ts->mss, p, len, &used);
		}
		if (e < 0)
			ts->mss_err = e;
		if (e != 1)
			return;
		ts->agreed = true;
	}
	rx_add(ts, p + used, len - used);
}

static void y_fin(void *ctx, struct yamux_stream *st)
{
	struct tstream *ts = st->user;

	(void)ctx;
	ts->fin = true;
}

static void y_close(void *ctx, struct yamux_stream *st)
{
	struct tstream *ts = st->user;

	(void)ctx;
	ts->closed = true;
	ts->reset = st->reset;
	ts->st = NULL;
}

static const struct yamux_ops node_ops = {
    .write = y_write,
    .on_open = y_open,
    .on_data = y_data,
    .on_fin = y_fin,
    .on_close = y_close,
};

static int tcp_connect(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct timeval tv = {.tv_sec = 5};

	assert_true(fd >= 0);
	assert_int_equal(connect(fd, &pa.sa, pa.len), 0);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

static void send_all(int fd, const void *p, size_t n)
{
	assert_int_equal(send(fd, p, n, MSG_NOSIGNAL), (ssize_t)n);
}

/* Read until the framed message at in's front is whole (blocking, with a timeout). */
static size_t read_frame(struct tnode *n)
{
	while (n->in_len < 2 || n->in_len < 2 + (size_t)buf_load_be16(n->in)) {
		ssize_t k = recv(n->fd, n->in + n->in_len, sizeof(n->in) - n->in_len, 0);

		assert_true(k > 0);
		n->in_len += (size_t)k;
	}
	return buf_load_be16(n->in);
}

static void in_take(struct tnode *n, size_t k)
{
	memmove(n->in, n->in + k, n->in_len - k);
	n->in_len -= k;
}

/* Connect, agree on /noise, run the handshake as initiator, then propose /yamux/1.0.0. */
static struct tnode *node_new(void)
{
	struct tnode *n = calloc(1, sizeof(*n));
	uint8_t seed[32], s[32], s_pub[32], payload[512], msg[2 + 1024], pk[32];
	struct xxn_hs hs;
	struct peerid got;
	struct wbuf w;
	size_t used;
	int k, e = 0;

	assert_non_null(n);
	randombytes_buf(seed, sizeof(seed));
	identity_from_seed(&n->id, seed);
	peerid_from_ed25519(n->id.pk, &n->pid);
	n->fd = tcp_connect();
	wbuf_init(&w, msg, sizeof(msg));
	assert_int_equal(mss_dial_start(&n->mss, "/noise", &w), 0);
	send_all(n->fd, msg, w.pos);
	while (e != 1) {
		ssize_t r = recv(n->fd, n->in, sizeof(n->in), 0);

		assert_true(r > 0);
		e = mss_dial_input(&n->mss, n->in, (size_t)r, &used);
		assert_true(e >= 0);
		n->in_len = (size_t)r;
		in_take(n, used);
	}
	randombytes_buf(s, sizeof(s));
	crypto_scalarmult_base(s_pub, s);
	xxn_init(&hs, XXN_INITIATOR, s);
	k = xxn_write(&hs, NULL, 0, msg + 2, sizeof(msg) - 2);
	assert_true(k > 0);
	buf_store_be16(msg, (uint16_t)k);
	send_all(n->fd, msg, 2 + (size_t)k);
	k = (int)read_frame(n);
	k = xxn_read(&hs, n->in + 2, (size_t)k, payload, sizeof(payload));
	assert_true(k > 0);
	in_take(n, 2 + buf_load_be16(n->in));
	/* The relay proves its identity: the one in its identity file. */
	assert_int_equal(xxn_payload_check(payload, (size_t)k, xxn_remote_static(&hs), pk), 0);
	peerid_from_ed25519(pk, &got);
	assert_true(peerid_equal(&got, &relay_pid));
	assert_int_equal(xxn_payload_make(&n->id, s_pub, payload, sizeof(payload)),
	                 XXN_PAYLOAD_LEN);
	k = xxn_write(&hs, payload, XXN_PAYLOAD_LEN, msg + 2, sizeof(msg) - 2);
	assert_true(k > 0);
	buf_store_be16(msg, (uint16_t)k);
	send_all(n->fd, msg, 2 + (size_t)k);
	assert_true(xxn_done(&hs));
	xxn_split(&hs, &n->tx, &n->rx);
	/* Pipelined: the muxer's proposal, then yamux frames right behind it. */
	wbuf_init(&w, msg, sizeof(msg));
	assert_int_equal(mss_dial_start(&n->mss, "/yamux/1.0.0", &w), 0);
	node_write(n, msg, w.pos);
	n->y = yamux_new(false, 64, &node_ops, n);
	assert_non_null(n->y);
	fcntl(n->fd, F_SETFL, O_NONBLOCK);
	nodes[nnodes++] = n;
	return n;
}

static void node_free(struct tnode *n)
{
	for (int i = 0; i < nnodes; i++)
		if (nodes[i] == n)
			nodes[i] = nodes[--nnodes];
	for (int i = 0; i < n->ns; i++)
		free(n->s[i].rx);
	yamux_free(n->y);
	close(n->fd);
	free(n->out);
	free(n);
}

static void node_input(struct tnode *n)
{
	for (;;) {
		size_t len;
		int k;

		if (n->in_len < 2 || n->in_len < 2 + (size_t)buf_load_be16(n->in))
			return;
		len = buf_load_be16(n->in);
		k = xxn_decrypt(&n->rx, n->in + 2, len, n->in + 2, len);
		assert_true(k >= 0);
		if (!n->muxed) {
			size_t used = 0;
			int e = mss_dial_input(&n->mss, n->in + 2, (size_t)k, &used);

			assert_true(e >= 0);
			if (e == 1) {
				n->muxed = true;
				assert_int_equal(
				    yamux_input(n->y, n->in + 2 + used, (size_t)k - used), 0);
			}
		} else if (yamux_input(n->y, n->in + 2, (size_t)k) < 0) {
			n->dead = true;
		}
		in_take(n, 2 + len);
	}
}

/* Drive every node once: write what waits, wait up to ms for input, read it. */
static void pump(int ms)
{
	struct pollfd pf[8];

	for (int i = 0; i < nnodes; i++) {
		struct tnode *n = nodes[i];

		node_seal(n);
		while (n->out_len) {
			ssize_t k = send(n->fd, n->out, n->out_len, MSG_NOSIGNAL);

			if (k <= 0)
				break;
			memmove(n->out, n->out + k, n->out_len - (size_t)k);
			n->out_len -= (size_t)k;
		}
		pf[i] = (struct pollfd){.fd = n->fd, .events = POLLIN | (n->out_len ? POLLOUT : 0)};
	}
	if (poll(pf, (nfds_t)nnodes, ms) <= 0)
		return;
	for (int i = 0; i < nnodes; i++) {
		struct tnode *n = nodes[i];
		ssize_t k;

		if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)) || n->dead)
			continue;
		k = recv(n->fd, n->in + n->in_len, sizeof(n->in) - n->in_len, 0);
		if (k == 0 || (k < 0 && errno != EAGAIN)) {
			n->dead = true;
			continue;
		}
		if (k > 0) {
			n->in_len += (size_t)k;
			node_input(n);
		}
	}
}

#define WAIT_FOR(cond, ms)                                                                         \
	do {                                                                                       \
		uint64_t end_ = now_ms() + (ms);                                                   \
		while (!(cond) && now_ms() < end_)                                                 \
			pump(20);                                                                  \
		assert_true(cond);                                                                 \
	} while (0)

static struct tstream *ts_open(struct tnode *n, const char *proto)
{
	struct yamux_stream *st = yamux_open(n->y);
	uint8_t lines[128];
	struct tstream *ts;
	struct wbuf w;

	assert_non_null(st);
	ts = ts_new(n, st, false);
	wbuf_init(&w, lines, sizeof(lines));
	assert_int_equal(mss_dial_start(&ts->mss, proto, &w), 0);
	assert_int_equal(yamux_send(n->y, st, lines, w.pos), (ssize_t)w.pos);
	return ts;
}

static void ts_send_msg(struct tstream *ts, const uint8_t *msg, size_t len)
{
	uint8_t b[PB_VARINT_MAX + P2PMSG_MAX];
	struct wbuf w;

	wbuf_init(&w, b, sizeof(b));
	assert_int_equal(pb_put_varint(&w, len), 0);
	assert_int_equal(buf_put_bytes(&w, msg, len), 0);
	assert_int_equal(yamux_send(ts->n->y, ts->st, b, w.pos), (ssize_t)w.pos);
}

/* Wait for a whole delimited message on ts; copy it to out; its length. */
static size_t ts_read_msg(struct tstream *ts, uint8_t *out, size_t cap)
{
	const uint8_t *m = NULL;
	size_t len = 0, used = 0;

	WAIT_FOR(ts->rx_len && pb_delimited(ts->rx, ts->rx_len, cap, &m, &len, &used) == 1, T_MS);
	memcpy(out, m, len);
	memmove(ts->rx, ts->rx + used, ts->rx_len - used);
	ts->rx_len -= used;
	return len;
}

static void hop_send(struct tstream *ts, const struct hop_msg *m)
{
	uint8_t b[P2PMSG_MAX];
	int n = hop_msg_encode(m, b, sizeof(b));

	assert_true(n > 0);
	ts_send_msg(ts, b, (size_t)n);
}

/* Read a HopMessage; buffer b holds what m points into. */
static void hop_read(struct tstream *ts, struct hop_msg *m, uint8_t *b)
{
	size_t n = ts_read_msg(ts, b, P2PMSG_MAX);

	assert_int_equal(hop_msg_decode(b, n, m), 0);
	assert_int_equal(m->type, HOP_STATUS);
}

/* A reservation of n: its status (and, when OK, the checked reservation). */
static int reserve(struct tnode *n, uint64_t *expire)
{
	struct tstream *ts = ts_open(n, HOP);
	struct hop_msg m = {.type = HOP_RESERVE}, r;
	uint8_t b[P2PMSG_MAX], pk[32];
	const uint8_t *type, *payload;
	size_t tlen, plen;
	struct voucher v;
	char text[256];

	hop_send(ts, &m);
	hop_read(ts, &r, b);
	if (r.status != RS_OK)
		return r.status;
	assert_true(r.resv.has);
	assert_true(r.resv.expire > (uint64_t)time(NULL));
	if (expire)
		*expire = r.resv.expire;
	/* Our address on this connection, with the relay's id (no p2p-circuit). */
	assert_int_equal(r.resv.n_addrs, 1);
	assert_true(multiaddr_format(r.resv.addrs[0], r.resv.addr_len[0], text, sizeof(text)) > 0);
	assert_true(!strncmp(text, "/ip4/127.0.0.1/tcp/", 19));
	assert_non_null(strstr(text, "/p2p/12D3KooW"));
	assert_null(strstr(text, "p2p-circuit"));
	/* The voucher: signed by the relay, for us, expiring with the reservation. */
	assert_non_null(r.resv.voucher);
	assert_int_equal(envelope_open(r.resv.voucher, r.resv.voucher_len, VOUCHER_DOMAIN, pk,
	                               &type, &tlen, &payload, &plen),
	                 0);
	assert_memory_equal(pk, relay_pk, 32);
	assert_int_equal(tlen, VOUCHER_TYPE_LEN);
	assert_memory_equal(type, VOUCHER_TYPE, VOUCHER_TYPE_LEN);
	assert_int_equal(envelope_voucher_decode(payload, plen, &v), 0);
	assert_true(peerid_equal(&v.relay, &relay_pid));
	assert_true(peerid_equal(&v.peer, &n->pid));
	assert_int_equal(v.expiration, r.resv.expire);
	/* A tampered voucher does not verify (positive control of the check above). */
	{
		uint8_t bad[ENVELOPE_MAX];

		memcpy(bad, r.resv.voucher, r.resv.voucher_len);
		bad[r.resv.voucher_len - 1] ^= 1;
		assert_int_not_equal(envelope_open(bad, r.resv.voucher_len, VOUCHER_DOMAIN, pk,
		                                   &type, &tlen, &payload, &plen),
		                     0);
	}
	WAIT_FOR(ts->fin, T_MS);
	return RS_OK;
}

/* b's CONNECT to target: the hop stream, its answer read by connect_status. */
static struct tstream *connect_start(struct tnode *b, const struct peerid *target)
{
	struct tstream *ts = ts_open(b, HOP);
	struct hop_msg m = {.type = HOP_CONNECT};

	m.peer.has = true;
	m.peer.id = *target;
	hop_send(ts, &m);
	return ts;
}

static int connect_status(struct tstream *ts, struct p2p_limit *limit)
{
	uint8_t buf[P2PMSG_MAX];
	struct hop_msg r;

	hop_read(ts, &r, buf);
	if (limit)
		*limit = r.limit;
	return r.status;
}

/* a's side of a CONNECT from b: the stop stream opened by the relay, answered with status. */
static struct tstream *accept_stop(struct tnode *a, const struct tnode *b, int status,
                                   struct p2p_limit *limit)
{
	struct stop_msg m, r = {.type = STOP_STATUS, .status = status};
	uint8_t buf[P2PMSG_MAX];
	struct tstream *ts = NULL;
	size_t n;
	int k;

	WAIT_FOR(a->n_inbound > 0 && (ts = &a->s[a->ns - 1])->inbound && ts->agreed, T_MS);
	a->n_inbound--;
	n = ts_read_msg(ts, buf, sizeof(buf));
	assert_int_equal(stop_msg_decode(buf, n, &m), 0);
	assert_int_equal(m.type, STOP_CONNECT);
	assert_true(m.peer.has);
	assert_true(peerid_equal(&m.peer.id, &b->pid));
	if (limit)
		*limit = m.limit;
	k = stop_msg_encode(&r, buf, sizeof(buf));
	assert_true(k > 0);
	ts_send_msg(ts, buf, (size_t)k);
	return ts;
}

/* --- relay --- */

static void start_relay(const char *extra)
{
	char text[1024], path[160], err[128];
	struct identity id;

	strcpy(conf_dir, "/tmp/wgr-libp2p-XXXXXX");
	assert_non_null(mkdtemp(conf_dir));
	snprintf(conf_path, sizeof(conf_path), "%s/wgrelayd.conf", conf_dir);
	snprintf(paddr, sizeof(paddr), "127.0.0.1:%u", free_port());
	snprintf(maddr, sizeof(maddr), "127.0.0.1:%u", free_port());
	snprintf(text, sizeof(text), "[Libp2p]\nListen = %s\nHandshakeTimeout = 1\n%s", paddr,
	         extra);
	write_file(conf_path, text);
	relay_start("-c", conf_path, "--metrics", maddr, NULL);
	assert_int_equal(addr_parse(&pa, paddr, 0), 0);
	/* Its libp2p identity is the relay's (created next to its key file). */
	snprintf(path, sizeof(path), "%s/identity", R.dir);
	assert_int_equal(identity_load(&id, path, err, sizeof(err)), 0);
	memcpy(relay_pk, id.pk, 32);
	peerid_from_ed25519(id.pk, &relay_pid);
	nnodes = 0;
}

static int start_default(void **state)
{
	(void)state;
	start_relay("CircuitBytes = 4000000\nCircuitDuration = 600\n");
	return 0;
}

static int start_limits(void **state)
{
	(void)state;
	start_relay("MaxReservations = 2\nMaxCircuitsPerPeer = 1\nMaxConnectionsPerSource = 6\n");
	return 0;
}

static int start_small(void **state)
{
	(void)state;
	start_relay("CircuitBytes = 100000\nCircuitDuration = 2\nMaxStreams = 4\n");
	return 0;
}

static int start_idle(void **state)
{
	(void)state;
	start_relay("IdleTimeout = 2\n");
	return 0;
}

static int stop(void **state)
{
	char cmd[128];

	while (nnodes)
		node_free(nodes[nnodes - 1]);
	/* The relay's log for a failure's investigation. */
	if (getenv("WGR_TEST_SHOW_LOG")) {
		relay_log(log_text, sizeof(log_text));
		fprintf(stderr, "%s", log_text);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", conf_dir);
	return relay_stop(state) == 0 && system(cmd) == 0 ? 0 : -1;
}

static long long scrape(const char *name)
{
	assert_true(http_get(maddr, "/metrics", metrics_text, sizeof(metrics_text)) > 0);
	return metric(metrics_text, name);
}

/* --- tests --- */

static void test_identify_ping(void **state)
{
	struct tnode *n = node_new();
	struct tstream *id = ts_open(n, "/ipfs/id/1.0.0"), *ping;
	uint8_t b[P2PMSG_MAX], pk[32], data[96];
	struct pb_field f;
	struct rbuf r;
	bool hop = false, pubkey = false, agent = false, observed = false;
	size_t len;

	(void)state;
	len = ts_read_msg(id, b, sizeof(b));
	rbuf_init(&r, b, len);
	while (pb_next(&r, &f) == 1) {
		if (f.num == 3 && f.len == strlen(HOP) && !memcmp(f.p, HOP, f.len))
			hop = true;
		if (f.num == 1) {
			assert_int_equal(peerid_pubkey_decode(f.p, f.len, pk), 0);
			assert_memory_equal(pk, relay_pk, 32);
			pubkey = true;
		}
		if (f.num == 6 && f.len > 9 && !memcmp(f.p, "wgrelayd/", 9))
			agent = true;
		if (f.num == 4) {
			struct addr a;

			/* Where the relay sees us: loopback, our port. */
			assert_int_equal(multiaddr_to_addr(f.p, f.len, &a), 0);
			assert_true(addr_family(&a) == AF_INET);
			observed = true;
		}
	}
	assert_true(hop && pubkey && agent && observed);
	WAIT_FOR(id->fin, T_MS);

	ping = ts_open(n, "/ipfs/ping/1.0.0");
	randombytes_buf(data, sizeof(data));
	assert_int_equal(yamux_send(n->y, ping->st, data, 40), 40); /* one whole, one partial */
	WAIT_FOR(ping->rx_len >= 32, T_MS);
	pump(100);
	assert_int_equal(ping->rx_len, 32); /* only whole payloads come back */
	assert_int_equal(yamux_send(n->y, ping->st, data + 40, 56), 56);
	WAIT_FOR(ping->rx_len == 96, T_MS);
	assert_memory_equal(ping->rx, data, 96);
	/* A protocol the relay does not speak is refused, and the connection lives on. */
	{
		struct tstream *x = ts_open(n, "/ipfs/kad/1.0.0");

		WAIT_FOR(x->mss_err == -ENOPROTOOPT, T_MS);
	}
	assert_int_equal(scrape("wgrelayd_libp2p_pings_total"), 3);
	assert_int_equal(scrape("wgrelayd_libp2p_streams_total{protocol=\"identify\"}"), 1);
	assert_int_equal(scrape("wgrelayd_libp2p_connections"), 1);
}

/* Move 1 MiB each way over the circuit (a's stream sa, b's stream sb) and compare. */
static void exchange(struct tstream *sa, struct tstream *sb, size_t total)
{
	uint8_t *da = malloc(total), *db = malloc(total);
	size_t oa = 0, ob = 0, ra0 = sa->rx_len, rb0 = sb->rx_len;
	uint64_t end = now_ms() + 20000;

	assert_true(da && db);
	randombytes_buf(da, total);
	randombytes_buf(db, total);
	while ((oa < total || ob < total || sa->rx_len < ra0 + total || sb->rx_len < rb0 + total) &&
	       now_ms() < end) {
		ssize_t k;

		if (oa < total && (k = yamux_send(sa->n->y, sa->st, da + oa, total - oa)) > 0)
			oa += (size_t)k;
		if (ob < total && (k = yamux_send(sb->n->y, sb->st, db + ob, total - ob)) > 0)
			ob += (size_t)k;
		pump(10);
	}
	assert_int_equal(sb->rx_len, rb0 + total);
	assert_int_equal(sa->rx_len, ra0 + total);
	assert_memory_equal(sb->rx + rb0, da, total);
	assert_memory_equal(sa->rx + ra0, db, total);
	free(da);
	free(db);
}

/* a reserves, b connects to it: the two ends of a live circuit. */
static void circuit(struct tnode *a, struct tnode *b, struct tstream **sa, struct tstream **sb,
                    struct p2p_limit *la, struct p2p_limit *lb)
{
	*sb = connect_start(b, &a->pid);
	*sa = accept_stop(a, b, RS_OK, la);
	assert_int_equal(connect_status(*sb, lb), RS_OK);
}

/* The relay's log so far contains needle this many times. */
static int logged(const char *needle)
{
	relay_log(log_text, sizeof(log_text));
	return count_lines(log_text, needle);
}

static void test_circuit(void **state)
{
	struct tnode *a = node_new(), *b = node_new();
	struct tstream *sa, *sb;
	struct p2p_limit la, lb;
	uint64_t expire = 0;

	(void)state;
	assert_int_equal(reserve(a, &expire), RS_OK);
	assert_true(expire >= (uint64_t)time(NULL) + 3000); /* ReservationTTL 1 h */
	/* Renewed on the same connection: OK again, one reservation. */
	assert_int_equal(reserve(a, NULL), RS_OK);
	assert_int_equal(scrape("wgrelayd_libp2p_reservations"), 1);
	assert_int_equal(scrape("wgrelayd_libp2p_reservations_renewed_total"), 1);
	circuit(a, b, &sa, &sb, &la, &lb);
	/* The configured limits, announced to both ends. */
	assert_true(la.has && lb.has);
	assert_int_equal(lb.duration_s, 600);
	assert_int_equal(lb.data, 4000000);
	assert_int_equal(la.data, 4000000);
	/* More than the 256 KiB window each way: window updates must flow through the relay. */
	exchange(sa, sb, BIG);
	assert_int_equal(scrape("wgrelayd_libp2p_circuits"), 1);
	/* FIN passes as FIN: each end sees the other's close, then the circuit is gone. */
	yamux_fin(b->y, sb->st);
	WAIT_FOR(sa->fin, T_MS);
	assert_false(sa->closed);
	yamux_fin(a->y, sa->st);
	WAIT_FOR(sb->closed && sa->closed, T_MS);
	assert_false(sa->reset || sb->reset);
	WAIT_FOR(logged("event: libp2p circuit closed") == 1, T_MS);
	assert_int_equal(scrape("wgrelayd_libp2p_circuits"), 0);
	assert_int_equal(
	    metric(metrics_text, "wgrelayd_libp2p_circuits_closed_total{reason=\"closed\"}"), 1);
	assert_int_equal(metric(metrics_text, "wgrelayd_libp2p_relayed_bytes_total"), 2 * BIG);
	assert_int_equal(logged("event: libp2p reservation accepted"), 1);
	assert_int_equal(logged("event: libp2p reservation renewed"), 1);
	assert_int_equal(logged("event: libp2p circuit accepted"), 1);
	assert_non_null(strstr(log_text, "bytes=1048576/1048576"));
	/* The reservation outlives the circuit: a second one works too. */
	circuit(a, b, &sa, &sb, NULL, NULL);
	exchange(sa, sb, 1000);
	/* A reset passes as a reset. */
	yamux_reset(a->y, sa->st);
	WAIT_FOR(sb->closed, T_MS);
	assert_true(sb->reset);
	WAIT_FOR(scrape("wgrelayd_libp2p_circuits_closed_total{reason=\"reset\"}") == 1, T_MS);
	/* A's connection goes: its reservation with it. */
	node_free(a);
	WAIT_FOR(scrape("wgrelayd_libp2p_reservations") == 0, T_MS);
	sb = connect_start(b, &relay_pid);
	assert_int_equal(connect_status(sb, NULL), RS_PERMISSION_DENIED);
}

/* fd is closed by the relay within ms (read sees EOF or a reset). */
static bool closed_within(int fd, int ms)
{
	struct pollfd pf = {.fd = fd, .events = POLLIN};
	uint8_t b[256];
	uint64_t end = now_ms() + (uint64_t)ms;

	while (now_ms() < end) {
		ssize_t k;

		if (poll(&pf, 1, 50) <= 0)
			continue;
		k = recv(fd, b, sizeof(b), MSG_DONTWAIT);
		if (k == 0 || (k < 0 && errno != EAGAIN))
			return true;
	}
	return false;
}

static void test_refusals(void **state)
{
	struct tnode *a = node_new(), *b = node_new(), *c = node_new(), *d = node_new();
	struct tstream *sa, *sb, *x;

	(void)state;
	assert_int_equal(reserve(a, NULL), RS_OK);
	assert_int_equal(reserve(b, NULL), RS_OK);
	/* MaxReservations 2: the spec's status for "too many reservations". */
	assert_int_equal(reserve(c, NULL), RS_RESERVATION_REFUSED);
	/* No reservation, the relay itself. */
	x = connect_start(d, &c->pid);
	assert_int_equal(connect_status(x, NULL), RS_NO_RESERVATION);
	x = connect_start(d, &relay_pid);
	assert_int_equal(connect_status(x, NULL), RS_PERMISSION_DENIED);
	/* MaxCircuitsPerPeer 1: a's second circuit is over it (counted at both ends). */
	circuit(a, d, &sa, &sb, NULL, NULL);
	x = connect_start(c, &a->pid);
	assert_int_equal(connect_status(x, NULL), RS_RESOURCE_LIMIT_EXCEEDED);
	/* The target refuses: CONNECTION_FAILED to the source. */
	x = connect_start(c, &b->pid);
	accept_stop(b, c, RS_CONNECTION_FAILED, NULL);
	assert_int_equal(connect_status(x, NULL), RS_CONNECTION_FAILED);
	/* A message that is not one, and a STATUS where a request belongs. */
	x = ts_open(d, HOP);
	{
		static const uint8_t junk[] = {0x05, 0xff, 0xff, 0xff, 0xff, 0xff};
		struct hop_msg m = {.type = HOP_STATUS, .status = RS_OK};

		assert_int_equal(yamux_send(d->y, x->st, junk, sizeof(junk)),
		                 (ssize_t)sizeof(junk));
		assert_int_equal(connect_status(x, NULL), RS_MALFORMED_MESSAGE);
		x = ts_open(d, HOP);
		hop_send(x, &m);
		assert_int_equal(connect_status(x, NULL), RS_UNEXPECTED_MESSAGE);
	}
	/* The circuit that was admitted still works. */
	exchange(sa, sb, 5000);
	scrape("wgrelayd_libp2p_reservations");
	assert_int_equal(metric(metrics_text, "wgrelayd_libp2p_denied_total{request=\"reserve\","
	                                      "status=\"RESERVATION_REFUSED\"}"),
	                 1);
	assert_int_equal(metric(metrics_text, "wgrelayd_libp2p_denied_total{request=\"connect\","
	                                      "status=\"NO_RESERVATION\"}"),
	                 1);
	assert_int_equal(metric(metrics_text, "wgrelayd_libp2p_denied_total{request=\"connect\","
	                                      "status=\"RESOURCE_LIMIT_EXCEEDED\"}"),
	                 1);
	assert_int_equal(metric(metrics_text, "wgrelayd_libp2p_denied_total{request=\"connect\","
	                                      "status=\"CONNECTION_FAILED\"}"),
	                 1);
	assert_int_equal(metric(metrics_text, "wgrelayd_libp2p_denied_total{request=\"other\","
	                                      "status=\"MALFORMED_MESSAGE\"}"),
	                 1);
	assert_int_equal(logged("event: libp2p request denied"), 7);
	assert_non_null(strstr(log_text, "status=NO_RESERVATION"));
	/* MaxConnectionsPerSource 6: four nodes and two more; the seventh is closed at once. */
	{
		int f5 = tcp_connect(), f6 = tcp_connect(), f7 = tcp_connect();

		assert_true(closed_within(f7, T_MS));
		assert_int_equal(scrape("wgrelayd_libp2p_refused_total{reason=\"source\"}"), 1);
		close(f5);
		close(f6);
		close(f7);
	}
}

static void test_garbage(void **state)
{
	struct tnode *a = node_new(), *b = node_new();
	struct tstream *sa, *sb;
	static const char http[] = "GET / HTTP/1.1\r\nHost: x\r\n\r\n";
	uint8_t lines[128], junk[64];
	struct mss m;
	struct wbuf w;
	int g, h, s;

	(void)state;
	assert_int_equal(reserve(a, NULL), RS_OK);
	circuit(a, b, &sa, &sb, NULL, NULL);
	/* Garbage where multistream-select belongs. */
	g = tcp_connect();
	send_all(g, http, sizeof(http) - 1);
	assert_true(closed_within(g, T_MS));
	close(g);
	/* "/noise" agreed, then a Noise message that is not one. */
	h = tcp_connect();
	wbuf_init(&w, lines, sizeof(lines));
	assert_int_equal(mss_dial_start(&m, "/noise", &w), 0);
	send_all(h, lines, w.pos);
	randombytes_buf(junk, sizeof(junk));
	buf_store_be16(junk, 7);
	send_all(h, junk, 9);
	assert_true(closed_within(h, T_MS));
	close(h);
	/* Silence: HandshakeTimeout (1 s). */
	s = tcp_connect();
	assert_true(closed_within(s, 3000));
	close(s);
	scrape("wgrelayd_libp2p_refused_total{reason=\"negotiation\"}");
	assert_int_equal(
	    metric(metrics_text, "wgrelayd_libp2p_refused_total{reason=\"negotiation\"}"), 1);
	assert_int_equal(metric(metrics_text, "wgrelayd_libp2p_refused_total{reason=\"noise\"}"),
	                 1);
	assert_int_equal(metric(metrics_text, "wgrelayd_libp2p_refused_total{reason=\"timeout\"}"),
	                 1);
	/* Nothing else disturbed: the circuit carries data both ways. */
	exchange(sa, sb, 300000);
	assert_int_equal(scrape("wgrelayd_libp2p_connections"), 2);
}

/*
 * IdleTimeout 2 s: a connection that only identifies and pings is closed after it; one that
 * holds a reservation, and one that carries a circuit, stay.
 */
static void test_idle(void **state)
{
	struct tnode *a = node_new(), *b = node_new(), *c = node_new(), *d = node_new();
	struct tstream *sa, *sb, *id = ts_open(c, "/ipfs/id/1.0.0");
	uint64_t t0 = now_ms();

	(void)state;
	assert_int_equal(reserve(a, NULL), RS_OK);
	circuit(a, b, &sa, &sb, NULL, NULL);
	WAIT_FOR(id->agreed, T_MS);
	/* c opens a ping stream every second meanwhile: traffic alone does not keep it. */
	for (uint64_t next = 0; !c->dead && now_ms() - t0 < 6000;) {
		if (now_ms() >= next) {
			ts_open(c, "/ipfs/ping/1.0.0");
			next = now_ms() + 1000;
		}
		pump(100);
	}
	assert_true(c->dead || closed_within(c->fd, 1000));
	assert_true(now_ms() - t0 >= 1900);
	/* d was never even used: closed too. */
	assert_true(d->dead || closed_within(d->fd, 3000));
	assert_int_equal(scrape("wgrelayd_libp2p_refused_total{reason=\"idle\"}"), 2);
	/* a (reservation) and b (circuit) are still there: the circuit carries data. */
	exchange(sa, sb, 100000);
	assert_int_equal(scrape("wgrelayd_libp2p_connections"), 2);
}

static void test_limits(void **state)
{
	struct tnode *a = node_new(), *b = node_new();
	struct tstream *sa, *sb, *x[6];
	struct p2p_limit lb;
	uint8_t *data = malloc(150000);
	size_t off = 0;
	uint64_t t0;

	(void)state;
	assert_non_null(data);
	randombytes_buf(data, 150000);
	assert_int_equal(reserve(a, NULL), RS_OK);
	circuit(a, b, &sa, &sb, NULL, &lb);
	assert_int_equal(lb.data, 100000);
	assert_int_equal(lb.duration_s, 2);
	/* CircuitBytes 100000: exactly that many arrive, then both ends are reset. */
	while (off < 150000 && sb->st) {
		ssize_t k = yamux_send(b->y, sb->st, data + off, 150000 - off);

		if (k > 0)
			off += (size_t)k;
		pump(10);
	}
	WAIT_FOR(sa->closed && sb->closed, T_MS);
	assert_true(sa->reset && sb->reset);
	assert_int_equal(sa->rx_len, 100000); /* after the STOP message it read */
	assert_memory_equal(sa->rx, data, 100000);
	assert_int_equal(scrape("wgrelayd_libp2p_circuits_closed_total{reason=\"data\"}"), 1);
	/* CircuitDuration 2 s: an idle circuit is reset after it (the tick is 1 s). */
	circuit(a, b, &sa, &sb, NULL, NULL);
	t0 = now_ms();
	WAIT_FOR(sa->closed && sb->closed, 5000);
	assert_true(now_ms() - t0 >= 900);
	assert_true(sa->reset && sb->reset);
	assert_int_equal(scrape("wgrelayd_libp2p_circuits_closed_total{reason=\"duration\"}"), 1);
	/* MaxStreams 4: the fifth stream of one connection is refused. */
	for (int i = 0; i < 6; i++)
		x[i] = ts_open(b, "/ipfs/ping/1.0.0");
	WAIT_FOR(x[5]->closed, T_MS);
	assert_true(x[4]->closed && x[4]->reset && x[5]->reset);
	assert_true(x[0]->agreed && !x[0]->closed);
	assert_int_equal(scrape("wgrelayd_libp2p_streams_refused_total{reason=\"max_streams\"}"),
	                 2);
	free(data);
}

/*
 * A stuck stream: a stops reading its circuit stream. b can send no more than the two
 * windows (a's, which the relay fills, and the relay's grown one for b, whose unforwarded
 * bytes wait there): the relay neither buffers without bound nor stops reading b's connection,
 * whose other streams keep working; nor a's. When a reads again, everything arrives.
 */
static void test_backpressure(void **state)
{
	struct tnode *a = node_new(), *b = node_new();
	struct tstream *sa, *sb, *ping, *id;
	size_t total = RELAY_WINDOW + BIG + BIG / 2, off = 0; /* under CircuitBytes */
	uint8_t *data = malloc(total), echo[32];
	uint64_t end;

	(void)state;
	assert_non_null(data);
	randombytes_buf(data, total);
	assert_int_equal(reserve(a, NULL), RS_OK);
	circuit(a, b, &sa, &sb, NULL, NULL);
	sa->hold = true;
	end = now_ms() + 1500;
	while (now_ms() < end) {
		ssize_t k = yamux_send(b->y, sb->st, data + off, total - off);

		if (k > 0)
			off += (size_t)k;
		pump(10);
	}
	/* b stalled: more than yamux's default window went, no more than the two windows. */
	assert_true(off > RELAY_WINDOW);
	assert_true(off <= RELAY_WINDOW + YAMUX_WINDOW);
	/* a's window, filled by the relay (less the negotiation and STOP message before it) */
	assert_true(sa->held <= YAMUX_WINDOW && sa->held > YAMUX_WINDOW - 256);
	/* b's connection is still read: a ping on it is answered. */
	ping = ts_open(b, "/ipfs/ping/1.0.0");
	randombytes_buf(echo, sizeof(echo));
	assert_int_equal(yamux_send(b->y, ping->st, echo, sizeof(echo)), 32);
	WAIT_FOR(ping->rx_len == 32, T_MS);
	assert_memory_equal(ping->rx, echo, 32);
	/* And a's: identify answers. */
	id = ts_open(a, "/ipfs/id/1.0.0");
	WAIT_FOR(id->fin, T_MS);
	/* a reads again: the rest flows, intact. */
	sa->hold = false;
	yamux_consume(a->y, sa->st, sa->held);
	end = now_ms() + 10000;
	while ((off < total || sa->rx_len < total) && now_ms() < end) {
		ssize_t k = yamux_send(b->y, sb->st, data + off, total - off);

		if (k > 0)
			off += (size_t)k;
		pump(10);
	}
	assert_int_equal(sa->rx_len, total);
	assert_memory_equal(sa->rx, data, total);
	free(data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_identify_ping, start_default, stop),
	    cmocka_unit_test_setup_teardown(test_circuit, start_default, stop),
	    cmocka_unit_test_setup_teardown(test_backpressure, start_default, stop),
	    cmocka_unit_test_setup_teardown(test_refusals, start_limits, stop),
	    cmocka_unit_test_setup_teardown(test_garbage, start_default, stop),
	    cmocka_unit_test_setup_teardown(test_limits, start_small, stop),
	    cmocka_unit_test_setup_teardown(test_idle, start_idle, stop),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
