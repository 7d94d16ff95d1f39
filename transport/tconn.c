/*
 * tconn.c: a stream connection's socket input, its life cycle and its stack of layers
 * (PROTOCOL.md §12): TCP -> [proxy handshake, tconn_proxy.c] -> [TLS] -> [sniff, server side]
 * -> [WebSocket upgrade, framing] -> records. Each layer is sans-I/O (common/socks5,
 * common/http, tls.c, ws.c, common/stream); only this file calls recv, only tconn_out.c send.
 * Input is processed as it is read, never queued; output goes into one fixed queue, all of a
 * frame or none of it (tconn_out.c).
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "tconn_int.h"
#include "tls.h"
#include "ws.h"

#define TCONN_MIN_QUEUE     16384 /* two records with every layer's overhead, and more */
#define TCONN_READS_PER_IO  8     /* then let the loop serve other connections */
#define TCONN_NOTSENT_LOWAT 16384 /* §12: keep the kernel's unsent queue short */
#define TCONN_SNIFF_MAX     16    /* stream_sniff decides on the first byte; a margin */
#define TCONN_TLS_BACKLOG   16384 /* ciphertext the peer made us owe it, before we stop reading */

static int tconn_in_plain(struct tconn *c, const uint8_t *p, size_t n);

void tconn_set_state(struct tconn *c, enum tconn_state s)
{
	c->state = (uint8_t)s;
	c->since_ms = c->now_ms;
}

int tconn_fail(struct tconn *c, int err, const char *fmt, ...)
{
	va_list ap;

	if (c->fin)
		return c->fin;
	c->fin = err < 0 ? err : -EPROTO;
	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	tconn_set_state(c, TCONN_CLOSED);
	return c->fin;
}

/* strerror's words without the capital, as the other reasons read. */
int tconn_fail_errno(struct tconn *c, int err, const char *prefix)
{
	char why[96];

	snprintf(why, sizeof(why), "%s", strerror(-err));
	if (why[0] >= 'A' && why[0] <= 'Z')
		why[0] = (char)(why[0] - 'A' + 'a');
	return tconn_fail(c, err, "%s%s", prefix, why);
}

/* Output the peer caused (pongs, TLS answers) waits inside a layer: read no more for now. */
static bool tconn_stalled(const struct tconn *c)
{
	return (c->ws && ws_backlog(c->ws)) ||
	       (c->tls && tls_pending_cipher(c->tls) > TCONN_TLS_BACKLOG);
}

/* ---- records ---- */

static void tconn_record(void *arg, uint8_t *rec, size_t len)
{
	struct tconn *c = arg;

	if (c->fin || !c->cb)
		return;
	c->st.rx_records++;
	c->cb(c->cb_arg, c, rec, len);
}

static int tconn_records_in(struct tconn *c, const uint8_t *p, size_t n)
{
	if (stream_rx_feed(&c->rx, p, n, tconn_record, c) < 0)
		return tconn_fail(c, -EPROTO, "bad record length");
	return c->fin;
}

/* One WebSocket message: its payload continues the record stream (§12.3). */
static void tconn_ws_msg(void *arg, const uint8_t *msg, size_t len)
{
	tconn_records_in(arg, msg, len);
}

static void tconn_open(struct tconn *c)
{
	stream_rx_init(&c->rx);
	c->opened = true;
	tconn_set_state(c, TCONN_OPEN);
}

/* ---- WebSocket upgrade ---- */

size_t tconn_head_add(struct tconn *c, const uint8_t *p, size_t n)
{
	size_t k = sizeof(c->head) - c->head_len;

	k = n < k ? n : k;
	memcpy(c->head + c->head_len, p, k);
	c->head_len += k;
	return k;
}

/* Bytes after a finished head, then the rest of this read, to the next layer. */
static int tconn_head_done(struct tconn *c, size_t used, const uint8_t *rest, size_t nrest)
{
	uint8_t left[HTTP_MAX_HEAD];
	size_t nl = c->head_len - used;

	memcpy(left, c->head + used, nl);
	c->head_len = 0;
	if (nl > 0 && tconn_in_plain(c, left, nl) < 0)
		return c->fin;
	if (nrest > 0)
		return tconn_in_plain(c, rest, nrest);
	return c->fin;
}

static int tconn_ws_refuse(struct tconn *c, int status)
{
	char out[256];
	int n = http_error_response(out, sizeof(out), status);

	if (n > 0)
		tconn_out_plain(c, out, (size_t)n);
	return tconn_fail(c, -EPROTO, "WebSocket upgrade refused: %d", status);
}

static int tconn_ws_hs_server(struct tconn *c, const uint8_t *p, size_t n)
{
	struct http_ws_req req;
	char out[512];
	size_t k = tconn_head_add(c, p, n);
	int r, status = 0, len;

	r = http_ws_parse_request(c->head, c->head_len, &req, &status);
	if (r == 0 && c->head_len < sizeof(c->head))
		return 0;
	if (r <= 0)
		return tconn_ws_refuse(c, status ? status : 431);
	if (strcmp(req.path, c->srv.ws_path ? c->srv.ws_path : "/wgrelay") != 0)
		return tconn_ws_refuse(c, 404);
	len = http_ws_accept_response(out, sizeof(out), req.key);
	if (len < 0)
		return tconn_fail(c, len, "WebSocket upgrade: response too long");
	if (tconn_out_plain(c, out, (size_t)len) < 0)
		return c->fin;
	if ((status = ws_new(&c->ws, false, STREAM_HDR_LEN + STREAM_MAX_RECORD)) < 0)
		return tconn_fail(c, status, "out of memory");
	tconn_open(c);
	return tconn_head_done(c, (size_t)r, p + k, n - k);
}

static int tconn_ws_hs_client(struct tconn *c, const uint8_t *p, size_t n)
{
	size_t k = tconn_head_add(c, p, n);
	int r, status = 0;

	r = http_ws_parse_response(c->head, c->head_len, c->ws_key, &status);
	if (r == 0 && c->head_len < sizeof(c->head))
		return 0;
	if (r == 0)
		return tconn_fail(c, -EPROTO, "WebSocket upgrade: response too long");
	if (r < 0 && status)
		return tconn_fail(c, -EPROTO, "WebSocket upgrade refused: %d", status);
	if (r < 0)
		return tconn_fail(c, -EPROTO, "WebSocket upgrade refused: bad response");
	if ((status = ws_new(&c->ws, true, STREAM_HDR_LEN + STREAM_MAX_RECORD)) < 0)
		return tconn_fail(c, status, "out of memory");
	tconn_open(c);
	return tconn_head_done(c, (size_t)r, p + k, n - k);
}

static int tconn_ws_start_client(struct tconn *c)
{
	char out[HTTP_MAX_HEAD];
	int n;

	n = http_ws_request(out, sizeof(out), c->cl.url.host,
	                    c->cl.url.path[0] ? c->cl.url.path : "/wgrelay", c->ws_key);
	if (n < 0)
		return tconn_fail(c, n, "WebSocket upgrade: bad host or path");
	tconn_set_state(c, TCONN_WS_HS);
	c->head_len = 0;
	return tconn_out_plain(c, out, (size_t)n);
}

/* ---- TLS ---- */

/* Advance the handshake with the ciphertext fed so far, then pass on the plaintext. */
static int tconn_tls_drive(struct tconn *c)
{
	uint8_t buf[TCONN_CHUNK];
	int r;

	if (c->state == TCONN_TLS_HS) {
		r = tls_handshake(c->tls);
		tconn_out_cipher(c);
		if (r < 0)
			return tconn_fail(c, r, "TLS handshake failed: %s", tls_error(c->tls));
		if (r == 0)
			return 0;
		if (c->server)
			tconn_set_state(c, TCONN_SNIFF); /* §12.2: sniff again on the plaintext */
		else if (c->cl.url.kind == TURL_WSS)
			tconn_ws_start_client(c);
		else
			tconn_open(c);
	}
	while (!c->fin) {
		r = tls_read(c->tls, buf, sizeof(buf));
		if (r == 0)
			break;
		if (r == -ECONNRESET)
			return tconn_fail(c, r, "closed by peer");
		if (r < 0)
			return tconn_fail(c, r, "TLS error: %s", tls_error(c->tls));
		tconn_in_plain(c, buf, (size_t)r);
	}
	tconn_out_layers(c); /* answers to post-handshake messages */
	return c->fin;
}

static int tconn_tls_start(struct tconn *c, struct tls_ctx *ctx, const char *sni, const char *alpn)
{
	int r;

	if (!ctx)
		return tconn_fail(c, -EPROTO,
		                  c->server ? "bad preface (TLS not offered)" : "no TLS context");
	r = tls_new(&c->tls, ctx, sni, alpn);
	if (r < 0)
		return tconn_fail(c, r, "out of memory");
	tconn_set_state(c, TCONN_TLS_HS);
	return 0;
}

/* ---- server: sniffing (§12.2) ---- */

static int tconn_sniffed(struct tconn *c, enum stream_sniff s, const uint8_t *p, size_t n)
{
	bool inner = c->tls != NULL; /* sniffing the plaintext after TLS */

	switch (s) {
	case STREAM_SNIFF_TLS:
		if (inner)
			return tconn_fail(c, -EPROTO, "bad preface");
		if (tconn_tls_start(c, c->srv.tls, NULL, NULL) < 0)
			return c->fin;
		return tconn_in_raw(c, p, n);
	case STREAM_SNIFF_HTTP:
		c->kind = inner ? TURL_WSS : TURL_WS;
		c->head_len = 0;
		tconn_set_state(c, TCONN_WS_HS);
		break;
	case STREAM_SNIFF_RECORDS:
		c->kind = inner ? TURL_TLS : TURL_TCP;
		tconn_open(c);
		break;
	default:
		return tconn_fail(c, -EPROTO, "bad preface");
	}
	return tconn_in_plain(c, p, n);
}

static int tconn_sniff(struct tconn *c, const uint8_t *p, size_t n)
{
	uint8_t first[TCONN_SNIFF_MAX];
	enum stream_sniff s;
	size_t k, nf;

	if (c->head_len == 0) {
		s = stream_sniff(p, n);
		if (s != STREAM_SNIFF_MORE)
			return tconn_sniffed(c, s, p, n);
	}
	/* Not decided yet (never with today's one-byte rule): keep the first bytes. */
	k = TCONN_SNIFF_MAX - c->head_len;
	k = n < k ? n : k;
	memcpy(c->head + c->head_len, p, k);
	c->head_len += k;
	s = stream_sniff(c->head, c->head_len);
	if (s == STREAM_SNIFF_MORE && c->head_len < TCONN_SNIFF_MAX)
		return 0;
	nf = c->head_len;
	memcpy(first, c->head, nf);
	c->head_len = 0;
	if (tconn_sniffed(c, s, first, nf) < 0 || n == k)
		return c->fin;
	return c->tls ? tconn_in_plain(c, p + k, n - k) : tconn_in_raw(c, p + k, n - k);
}

void tconn_start_upper(struct tconn *c)
{
	struct addr a;
	const char *sni;

	switch (c->cl.url.kind) {
	case TURL_TLS:
	case TURL_WSS:
		/* §12.4: SNI only for a name; an IP literal in SNI is not allowed (RFC 6066 §3). */
		sni = turl_host_addr(&c->cl.url, &a) ? NULL : c->cl.url.host;
		if (tconn_tls_start(c, c->cl.tls, sni,
		                    c->cl.url.kind == TURL_WSS ? "http/1.1" : NULL) < 0)
			return;
		tconn_tls_drive(c); /* the ClientHello */
		break;
	case TURL_WS:
		tconn_ws_start_client(c);
		break;
	default:
		tconn_open(c);
		break;
	}
}

static void tconn_connected(struct tconn *c)
{
	if (c->cl.proxy.kind == TURL_PROXY_NONE)
		tconn_start_upper(c);
	else
		tconn_proxy_start(c);
}

/* ---- input dispatch ---- */

int tconn_in_raw(struct tconn *c, const uint8_t *p, size_t n)
{
	if (c->fin)
		return c->fin;
	if (c->state == TCONN_PROXY)
		return tconn_proxy_in(c, p, n);
	if (c->state == TCONN_SNIFF && !c->tls)
		return tconn_sniff(c, p, n);
	if (!c->tls)
		return tconn_in_plain(c, p, n);
	if (tls_feed_cipher(c->tls, p, n) < 0)
		return tconn_fail(c, -ENOMEM, "out of memory");
	return tconn_tls_drive(c);
}

/* Bytes above TLS (or the raw bytes when there is none). */
static int tconn_in_plain(struct tconn *c, const uint8_t *p, size_t n)
{
	int r;

	if (c->fin || n == 0)
		return c->fin;
	switch (c->state) {
	case TCONN_SNIFF:
		return tconn_sniff(c, p, n);
	case TCONN_WS_HS:
		return c->server ? tconn_ws_hs_server(c, p, n) : tconn_ws_hs_client(c, p, n);
	case TCONN_OPEN:
		if (!c->ws)
			return tconn_records_in(c, p, n);
		r = ws_feed(c->ws, p, n, tconn_ws_msg, c);
		tconn_out_layers(c); /* pongs, our close */
		if (r < 0)
			return tconn_fail(c, r, "%s", ws_error(c->ws));
		return c->fin;
	default:
		return tconn_fail(c, -EPROTO, "unexpected data");
	}
}

/* ---- public ---- */

static void tconn_sockopts(int fd)
{
	int one = 1, lowat = TCONN_NOTSENT_LOWAT;

	/* Records are small and latency-bound (they carry a tunnel's packets). */
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(fd, IPPROTO_TCP, TCP_NOTSENT_LOWAT, &lowat, sizeof(lowat));
}

static int tconn_new(struct tconn **out, int fd, size_t queue_bytes, uint64_t now_ms)
{
	struct tconn *c = calloc(1, sizeof(*c));
	int r;

	if (!c)
		return -ENOMEM;
	r = stream_q_init(&c->q, queue_bytes > TCONN_MIN_QUEUE ? queue_bytes : TCONN_MIN_QUEUE);
	if (r < 0) {
		free(c);
		return r;
	}
	c->fd = fd;
	c->now_ms = now_ms;
	stream_rx_init(&c->rx);
	*out = c;
	return 0;
}

int tconn_accept(struct tconn **out, int fd, const struct tconn_server *srv, uint64_t now_ms)
{
	struct tconn *c;
	int fl, r;

	*out = NULL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 || fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
	tconn_sockopts(fd);
	r = tconn_new(&c, fd, srv->queue_bytes, now_ms);
	if (r < 0) {
		close(fd);
		return r;
	}
	c->server = true;
	c->srv = *srv;
	tconn_set_state(c, TCONN_SNIFF);
	*out = c;
	return 0;
}

int tconn_connect(struct tconn **out, const struct tconn_client *cl, const struct addr *to,
                  uint64_t now_ms)
{
	struct tconn *c;
	int fd, r;

	*out = NULL;
	if (cl->url.kind < TURL_TCP || cl->url.kind > TURL_WSS || !to->len)
		return -EINVAL;
	fd = socket(to->sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (cl->fwmark && setsockopt(fd, SOL_SOCKET, SO_MARK, &cl->fwmark, sizeof(cl->fwmark)) < 0)
		goto fail_errno;
	tconn_sockopts(fd);
	if (connect(fd, &to->sa, to->len) < 0 && errno != EINPROGRESS)
		goto fail_errno;
	r = tconn_new(&c, fd, cl->queue_bytes, now_ms);
	if (r < 0) {
		close(fd);
		return r;
	}
	c->cl = *cl;
	c->kind = cl->url.kind;
	tconn_set_state(c, TCONN_CONNECTING);
	*out = c;
	return 0;
fail_errno:
	r = -errno;
	close(fd);
	return r;
}

int tconn_fd(const struct tconn *c)
{
	return c->fd;
}

unsigned tconn_events(const struct tconn *c)
{
	unsigned ev = 0;

	if (c->fin)
		return EV_READ | EV_WRITE; /* let tconn_io report it */
	if (c->state == TCONN_CONNECTING)
		return EV_WRITE;
	if (!tconn_stalled(c))
		ev |= EV_READ;
	if (tconn_out_pending(c) > 0)
		ev |= EV_WRITE;
	return ev;
}

static const char *tconn_eof_reason(const struct tconn *c)
{
	switch (c->state) {
	case TCONN_PROXY:
		return "proxy: closed by peer";
	case TCONN_TLS_HS:
		return "TLS handshake failed: closed by peer";
	case TCONN_SNIFF:
		return c->tls ? "closed by peer" : "closed before a preface";
	case TCONN_WS_HS:
		return "WebSocket upgrade: closed by peer";
	default:
		return "closed by peer";
	}
}

static void tconn_read_sock(struct tconn *c)
{
	uint8_t buf[TCONN_CHUNK];
	ssize_t r;
	int i;

	for (i = 0; i < TCONN_READS_PER_IO && !c->fin && !tconn_stalled(c); i++) {
		r = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				tconn_fail_errno(c, -errno, "recv: ");
			return;
		}
		if (r == 0) {
			tconn_fail(c, -ECONNRESET, "%s", tconn_eof_reason(c));
			return;
		}
		c->st.rx_bytes += (uint64_t)r;
		tconn_in_raw(c, buf, (size_t)r);
		tconn_out_layers(c);
		tconn_out_write(c);
	}
}

int tconn_io(struct tconn *c, unsigned events, uint64_t now_ms, tconn_frame_fn cb, void *arg)
{
	int err = 0;
	socklen_t len = sizeof(err);

	c->now_ms = now_ms;
	if (c->fin)
		return c->fin;
	c->cb = cb;
	c->cb_arg = arg;
	if (c->state == TCONN_CONNECTING) {
		if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
			err = errno;
		if (err) {
			tconn_fail_errno(c, -err, "");
			goto out;
		}
		if (!(events & EV_WRITE))
			goto out;
		tconn_connected(c);
		events |= EV_READ; /* a proxy or server may have answered already */
	}
	if (events & EV_WRITE) {
		tconn_out_write(c);
		tconn_out_layers(c);
	}
	if (events & EV_READ)
		tconn_read_sock(c);
	tconn_out_layers(c);
	/* Also when finished: a refusal (404, a WebSocket close) goes out before the close. */
	tconn_out_write(c);
out:
	c->cb = NULL;
	c->cb_arg = NULL;
	return c->fin;
}

enum tconn_state tconn_state(const struct tconn *c)
{
	return (enum tconn_state)c->state;
}

uint8_t tconn_kind(const struct tconn *c)
{
	return c->kind;
}

bool tconn_opened(const struct tconn *c)
{
	return c->opened;
}

uint64_t tconn_since_ms(const struct tconn *c)
{
	return c->since_ms;
}

const char *tconn_error(const struct tconn *c)
{
	return c->fin ? c->err : "";
}

const struct tconn_stats *tconn_stats(const struct tconn *c)
{
	return &c->st;
}

void tconn_free(struct tconn *c)
{
	if (!c)
		return;
	tls_free(c->tls);
	ws_free(c->ws);
	tconn_out_free(c);
	stream_q_free(&c->q);
	if (c->fd >= 0)
		close(c->fd);
	/* The proxy password lives in cl and socks. */
	sodium_memzero(c, sizeof(*c));
	free(c);
}
