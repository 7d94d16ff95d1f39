/*
 * metrics.c: a minimal HTTP/1.0 server on the metrics address (loopback by default) serving
 * Prometheus text at /metrics. Bounded: a few connections, 1 KiB requests, non-blocking, and
 * counters only per mode and per drop reason (no per-session labels, so output stays small).
 *
 * Slow or idle clients cannot starve scrapes: a connection has METRICS_DEADLINE_MS from its
 * accept for the whole request (trickled bytes do not extend it), enforced by a timer; a new
 * connection is always admitted, by evicting the oldest one when all slots are busy; and one
 * source address holds at most METRICS_PER_SOURCE slots (its own oldest connection makes room
 * for its next), so a flood from one address cannot evict the connections of another.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "promtext.h"
#include "libp2p.h"
#include "relay.h"
#include "version.h"
#include "worker.h"

#define METRICS_CONNS       8
#define METRICS_PER_SOURCE  4
#define METRICS_REQ_MAX     1024
#define METRICS_DEADLINE_MS 3000
#define METRICS_ACCEPTS     16 /* per wake-up, so a backlog drains without starving the loop */

struct mconn {
	int fd; /* -1: free */
	uint64_t since_ms;
	struct addr peer;
	size_t len;
	char req[METRICS_REQ_MAX];
};

static struct mconn conns[METRICS_CONNS];
static struct ev_timer deadline_timer;
/* Connections closed before an answer: over the deadline, evicted, or refused. */
static uint64_t conns_dropped;

static void mconn_close(struct relay *r, struct mconn *c)
{
	ev_del_io(r->loop, c->fd);
	close(c->fd);
	c->fd = -1;
}

static void mconn_drop(struct relay *r, struct mconn *c)
{
	mconn_close(r, c);
	conns_dropped++;
}

/* Close the connections past their deadline; the timer then waits for the next deadline. */
static void mconn_expire(struct relay *r)
{
	uint64_t now = ev_clock_ms(), next = 0;

	for (int i = 0; i < METRICS_CONNS; i++) {
		struct mconn *c = &conns[i];

		if (c->fd < 0)
			continue;
		if (now - c->since_ms >= METRICS_DEADLINE_MS)
			mconn_drop(r, c);
		else if (!next || c->since_ms + METRICS_DEADLINE_MS < next)
			next = c->since_ms + METRICS_DEADLINE_MS;
	}
	if (next)
		ev_timer_start(r->loop, &deadline_timer, next - now);
	else
		ev_timer_stop(r->loop, &deadline_timer);
}

static void on_deadline(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	(void)loop;
	(void)t;
	mconn_expire(arg);
}

size_t metrics_render(const struct relay *r, char *out, size_t cap)
{
	static const char *const modes[2] = {"direct", "sealed"};
	size_t n = 0;

	PUT("# HELP wgrelayd_build_info The running version; always 1.\n"
	    "# TYPE wgrelayd_build_info gauge\n"
	    "wgrelayd_build_info{version=\"%s\"} 1\n",
	    WGR_VERSION);
	/* The XDP path's datagrams are in these as read back (fastpath.c, once a second). */
	PUT("# HELP wgrelayd_packets_forwarded_total Datagrams forwarded between members.\n"
	    "# TYPE wgrelayd_packets_forwarded_total counter\n");
	for (int m = 0; m < 2; m++)
		PUT("wgrelayd_packets_forwarded_total{mode=\"%s\"} %llu\n", modes[m],
		    (unsigned long long)r->st.pkts[m]);
	PUT("# HELP wgrelayd_bytes_forwarded_total Payload bytes forwarded between members.\n"
	    "# TYPE wgrelayd_bytes_forwarded_total counter\n");
	for (int m = 0; m < 2; m++)
		PUT("wgrelayd_bytes_forwarded_total{mode=\"%s\"} %llu\n", modes[m],
		    (unsigned long long)r->st.bytes[m]);
	PUT("# HELP wgrelayd_drops_total Datagrams dropped, by reason.\n"
	    "# TYPE wgrelayd_drops_total counter\n");
	for (int d = 0; d < DROP_MAX; d++)
		PUT("wgrelayd_drops_total{reason=\"%s\"} %llu\n",
		    stats_drop_name((enum drop_reason)d), (unsigned long long)r->st.drops[d]);
	SCALAR("wgrelayd_handshakes_total", "counter", "Control link handshakes completed.",
	       r->st.handshakes);
	SCALAR("wgrelayd_cookies_sent_total", "counter",
	       "Cookie replies sent to handshakes under load.", r->st.cookies_sent);
	SCALAR("wgrelayd_links_evicted_total", "counter",
	       "Unbound links closed to make room under MaxLinks.", r->links_evicted);
	SCALAR("wgrelayd_challenges_sent_total", "counter",
	       "CHALLENGEs sent to a control link's new address.", r->challenges_sent);
	SCALAR("wgrelayd_events_suppressed_total", "counter",
	       "Event lines not written: over a log budget.", r->events_suppressed);
	SCALAR("wgrelayd_denied_total", "counter",
	       "ERROR replies to requests (refused binds and the like).", r->st.denied);
	SCALAR("wgrelayd_sessions", "gauge", "Sessions, waiting or paired.", r->sessions.n);
	SCALAR("wgrelayd_links", "gauge", "Control links.", r->links.n);
	SCALAR("wgrelayd_reservations", "gauge", "Bindings (a client's membership in a session).",
	       r->reservations);
	SCALAR("wgrelayd_circuits", "gauge", "Paired sessions.", r->circuits);
	PUT("# HELP wgrelayd_worker_sessions Direct sessions per forwarding thread.\n"
	    "# TYPE wgrelayd_worker_sessions gauge\n");
	for (unsigned w = 0; w < r->n_workers; w++)
		PUT("wgrelayd_worker_sessions{worker=\"%u\"} %zu\n", w, r->workers[w].nsessions);
	SCALAR("wgrelayd_metrics_connections_dropped_total", "counter",
	       "Metrics connections closed before an answer: past the deadline, evicted for a "
	       "newer one, or refused.",
	       conns_dropped);
	SCALAR("wgrelayd_uptime_seconds", "gauge", "Seconds since the relay started.",
	       ((ev_clock_ms() - r->started_ms) / 1000));
	n += ctlworker_metrics(r, out + n, cap - n);
	n += fastpath_metrics(r, out + n, cap - n);
	n += portshare_metrics(r, out + n, cap - n);
	n += network_metrics(r, out + n, cap - n);
	n += circuits_metrics(r, out + n, cap - n);
	n += streams_metrics(r, out + n, cap - n);
	n += libp2p_metrics(r, out + n, cap - n);
	return n;
}

static void mconn_answer(struct relay *r, struct mconn *c)
{
	/*
	 * About 20 KB with 2 workers and the relay network and DHT on, 33 KB with 64 workers and
	 * every part on (all counters 0); counters may grow to 20 digits.
	 */
	static char body[65536];
	int sndbuf = 2 * (int)sizeof(body);
	char head[160];
	const char *status = "200 OK";
	size_t blen = 0;
	int hlen;

	if (!strncmp(c->req, "GET /metrics ", 13) || !strncmp(c->req, "GET /metrics?", 13))
		blen = metrics_render(r, body, sizeof(body));
	else if (!strncmp(c->req, "GET ", 4))
		status = "404 Not Found";
	else
		status = "405 Method Not Allowed";
	hlen = snprintf(head, sizeof(head),
	                "HTTP/1.0 %s\r\nContent-Type: text/plain; version=0.0.4\r\n"
	                "Content-Length: %zu\r\nConnection: close\r\n\r\n",
	                status, blen);
	/* The whole answer fits the socket's buffer, so a short write means a stuck client: drop
	 * it. The default buffer (16 KB to start) is smaller than a large page. */
	(void)setsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, sizeof(sndbuf));
	if (send(c->fd, head, (size_t)hlen, MSG_DONTWAIT | MSG_NOSIGNAL) == hlen && blen)
		(void)send(c->fd, body, blen, MSG_DONTWAIT | MSG_NOSIGNAL);
	mconn_close(r, c);
}

static void on_conn(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct relay *r = arg;
	struct mconn *c = NULL;
	ssize_t n;

	(void)loop;
	(void)events;
	for (int i = 0; i < METRICS_CONNS; i++)
		if (conns[i].fd == fd)
			c = &conns[i];
	if (!c)
		return;
	n = recv(fd, c->req + c->len, sizeof(c->req) - 1 - c->len, MSG_DONTWAIT);
	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			mconn_close(r, c);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (strstr(c->req, "\r\n\r\n") || strstr(c->req, "\n\n") || c->len == sizeof(c->req) - 1)
		mconn_answer(r, c);
}

/*
 * A slot for a new connection from peer: the oldest of peer's own when peer is at its cap, else
 * a free one, else the oldest of all (a busy slot is closed first, and counted).
 */
static struct mconn *mconn_slot(struct relay *r, const struct addr *peer)
{
	struct mconn *free_slot = NULL, *oldest = NULL, *oldest_own = NULL;
	int own = 0;

	for (int i = 0; i < METRICS_CONNS; i++) {
		struct mconn *c = &conns[i];

		if (c->fd < 0) {
			if (!free_slot)
				free_slot = c;
			continue;
		}
		if (!oldest || c->since_ms < oldest->since_ms)
			oldest = c;
		if (addr_equal_ip(&c->peer, peer)) {
			own++;
			if (!oldest_own || c->since_ms < oldest_own->since_ms)
				oldest_own = c;
		}
	}
	if (own >= METRICS_PER_SOURCE) {
		mconn_drop(r, oldest_own);
		return oldest_own;
	}
	if (free_slot)
		return free_slot;
	mconn_drop(r, oldest);
	return oldest;
}

static void on_accept(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct relay *r = arg;

	(void)events;
	mconn_expire(r); /* expired slots are free before anyone is evicted */
	for (int k = 0; k < METRICS_ACCEPTS; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct addr peer;
		struct mconn *c;
		int cfd;

		cfd = accept4(fd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (cfd < 0)
			break;
		if (ev_add_io(loop, cfd, EV_READ, on_conn, r) < 0) {
			close(cfd);
			conns_dropped++;
			continue;
		}
		addr_from_sockaddr(&peer, (struct sockaddr *)&ss, sl);
		addr_unmap(&peer);
		c = mconn_slot(r, &peer);
		c->fd = cfd;
		c->since_ms = ev_clock_ms();
		c->peer = peer;
		c->len = 0;
	}
	mconn_expire(r); /* (re)arms the timer for the earliest deadline */
}

int metrics_open(struct relay *r)
{
	struct addr a;
	int fd, one = 1, e;

	for (int i = 0; i < METRICS_CONNS; i++)
		conns[i].fd = -1;
	ev_timer_init(&deadline_timer, on_deadline, r);
	if (!strcmp(r->cfg.metrics, "off"))
		return 0;
	if ((e = addr_parse(&a, r->cfg.metrics, 0)) < 0)
		return e;
	fd = socket(addr_family(&a), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, &a.sa, a.len) < 0 || listen(fd, 16) < 0 ||
	    ev_add_io(r->loop, fd, EV_READ, on_accept, r) < 0) {
		e = -errno;
		close(fd);
		return e ? e : -EIO;
	}
	log_info("metrics on http://%s/metrics", r->cfg.metrics);
	return 0;
}
