/*
 * libp2p.c: the relay's libp2p listener ([Libp2p], docs/LIBP2P.md): the listening socket,
 * the connection table (fd-indexed for the loop, id-indexed for the reservation table, a
 * dense list for the tick), per-source and total connection caps, handshake deadlines,
 * reservation expiry, the flush before the loop sleeps, counters, metrics and the event log.
 * One connection is libp2p_conn.c, its streams libp2p_proto.c, circuits libp2p_circuit.c.
 *
 * Bounded: MaxConnections in all and MaxConnectionsPerSource per IPv4 address or IPv6 /64
 * (refused by closing at once), HandshakeTimeout from accept to yamux up, MaxStreams per
 * connection, a fixed output queue per connection, and the reservation and circuit limits
 * of the reservation table (libp2p/resv.h).
 */
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "promtext.h"
#include "identity.h"
#include "libp2p_int.h"
#include "multiaddr.h"
#include "resv.h"

#define P2P_ACCEPTS 16 /* per wake-up, so a backlog drains without starving the loop */
#define P2P_BACKLOG 128

static const char *const p2p_refusal_names[P2P_REF_MAX] = {
    "limit",    "source",  "timeout", "negotiation", "noise",
    "key_type", "decrypt", "yamux",   "overflow",    "idle",
};
static const char *const p2p_sref_names[P2P_SREF_MAXV] = {"max_streams", "protocol", "message"};
static const char *const p2p_cend_names[P2P_CEND_MAX] = {
    "closed", "reset", "duration", "data", "connection", "stopping",
};
static const char *const p2p_req_names[P2P_REQ_MAX] = {"reserve", "connect", "other"};
static const char *const p2p_skind_names[P2P_S_MAX] = {"identify", "ping", "hop", "stop"};
/* The refusal statuses, in the order of the denied_* arrays. */
static const int p2p_statuses[8] = {
    RS_RESERVATION_REFUSED, RS_RESOURCE_LIMIT_EXCEEDED, RS_PERMISSION_DENIED,  RS_CONNECTION_FAILED,
    RS_NO_RESERVATION,      RS_MALFORMED_MESSAGE,       RS_UNEXPECTED_MESSAGE, 0, /* any other */
};

static struct log_ratelimit p2p_rl = LOG_RATELIMIT_INIT(10000);

int p2p_status_idx(int s)
{
	for (int i = 0; i < 7; i++)
		if (p2p_statuses[i] == s)
			return i;
	return 7;
}

int p2p_status_of_idx(int i)
{
	return i >= 0 && i < 8 ? p2p_statuses[i] : 0;
}

uint64_t p2p_unix_now(void)
{
	return (uint64_t)time(NULL);
}

void p2p_event(struct p2p *p, struct pconn *c, const char *what, const char *fmt, ...)
{
	char detail[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	stats_event_budget(p->r, c ? &c->log : NULL, what, "%s", detail);
}

struct pconn *p2p_conn_by_id(struct p2p *p, uint64_t id)
{
	struct pconn *c = table_get(&p->by_id, id);

	return c && !c->failed && !c->gone ? c : NULL;
}

void p2p_refused(struct p2p *p, enum p2p_refusal why, const struct addr *peer)
{
	char a[ADDR_STRLEN];

	p->refused[why]++;
	log_info_rl(&p2p_rl, "libp2p connection from %s refused: %s",
	            addr_format(peer, a, sizeof(a)), p2p_refusal_names[why]);
}

void p2p_dirty(struct p2p *p, struct pconn *c)
{
	if (c->dirty || c->gone)
		return;
	c->dirty = true;
	c->dpos = p->ndirty;
	p->dirty[p->ndirty++] = c;
}

void p2p_conn_forget(struct p2p *p, struct pconn *c)
{
	if (c->dirty) {
		p->dirty[c->dpos] = p->dirty[--p->ndirty];
		p->dirty[c->dpos]->dpos = c->dpos;
		c->dirty = false;
	}
	p->list[c->pos] = p->list[--p->n];
	p->list[c->pos]->pos = c->pos;
	p->by_fd[c->fd] = NULL;
	table_del(&p->by_id, c->id);
	srccount_put(&p->sources, c->src);
}

/* Room for fd in the fd-indexed table and one more connection in the lists; 0 or -ENOMEM. */
static int p2p_room(struct p2p *p, int fd)
{
	if ((size_t)fd >= p->nfd) {
		size_t n = p->nfd ? p->nfd : 64;
		struct pconn **v;

		while (n <= (size_t)fd)
			n *= 2;
		if (!(v = realloc(p->by_fd, n * sizeof(*v))))
			return -ENOMEM;
		memset(v + p->nfd, 0, (n - p->nfd) * sizeof(*v));
		p->by_fd = v;
		p->nfd = n;
	}
	if (p->n == p->cap) {
		size_t n = p->cap ? p->cap * 2 : 64;
		struct pconn **v = realloc(p->list, n * sizeof(*v)), **d;

		if (!v)
			return -ENOMEM;
		p->list = v;
		if (!(d = realloc(p->dirty, n * sizeof(*d))))
			return -ENOMEM;
		p->dirty = d;
		p->cap = n;
	}
	return 0;
}

static void p2p_accept(struct ev_loop *loop, int lfd, unsigned events, void *arg)
{
	struct p2p *p = arg;
	const struct libp2p_config *l = &p->r->cfg.libp2p;

	(void)loop;
	(void)events;
	for (int k = 0; k < P2P_ACCEPTS; k++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		struct srccount *src;
		struct addr peer;
		int fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0) {
			if (errno == ECONNABORTED || errno == EINTR)
				continue;
			if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS ||
			    errno == ENOMEM) {
				log_warnx_rl(&p2p_rl, "libp2p accept: %s; pausing a second",
				             strerror(errno));
				ev_del_io(p->r->loop, p->lfd);
				p->paused = true;
			}
			return;
		}
		addr_from_sockaddr(&peer, (struct sockaddr *)&ss, sl);
		addr_unmap(&peer);
		if (p2p_room(p, fd) < 0) {
			close(fd);
			continue;
		}
		if (p->n >= l->max_connections) {
			close(fd);
			p2p_refused(p, P2P_REF_LIMIT, &peer);
			continue;
		}
		if (!(src = srccount_get(&p->sources, &peer)) ||
		    src->n >= l->max_connections_per_source) {
			close(fd);
			p2p_refused(p, P2P_REF_SOURCE, &peer);
			continue;
		}
		src->n++;
		if (pconn_accept(p, fd, &peer, src) < 0)
			srccount_put(&p->sources, src);
	}
}

static uint32_t p2p_u32(uint64_t v)
{
	return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static void p2p_limits(const struct libp2p_config *l, struct resv_limits *lim)
{
	*lim = (struct resv_limits){
	    .max_resv = p2p_u32(l->max_reservations),
	    .max_resv_per_peer = p2p_u32(l->max_reservations_per_peer),
	    .max_resv_per_source = p2p_u32(l->max_reservations_per_source),
	    .max_circ = p2p_u32(l->max_circuits),
	    .max_circ_per_peer = p2p_u32(l->max_circuits_per_peer),
	    .resv_ttl_s = l->reservation_ttl_s,
	    .circ_duration_s = l->circuit_duration_s,
	    .circ_bytes = l->circuit_bytes,
	};
}

/* One listening socket on a; its fd, or -errno. */
static int p2p_listen(const struct addr *a)
{
	int fd = socket(addr_family(a), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (addr_family(a) == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, &a->sa, a->len) < 0 || listen(fd, P2P_BACKLOG) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

int libp2p_open(struct relay *r)
{
	const struct libp2p_config *l = &r->cfg.libp2p;
	char path[600], err[256] = "", a[ADDR_STRLEN], ma[256] = "";
	uint8_t s_pub[32], bin[MULTIADDR_MAX];
	struct resv_limits lim;
	struct p2p *p;
	bool created = false;
	int e, n;

	if (!l->listen.len)
		return 0;
	if (!(p = calloc(1, sizeof(*p))))
		return -ENOMEM;
	p->r = r;
	p->lfd = -1;
	if ((e = config_identity_path(&r->cfg, path, sizeof(path))) < 0 ||
	    (e = identity_load_or_create(&p->id, path, &created, err, sizeof(err))) < 0) {
		log_warnx("libp2p: identity %s: %s", path,
		          e == -ENAMETOOLONG ? "path too long" : err);
		free(p);
		return e;
	}
	peerid_from_ed25519(p->id.pk, &p->pid);
	if (peerid_format(&p->pid, p->pid_str, sizeof(p->pid_str)) < 0 ||
	    peerid_pubkey_encode(p->id.pk, p->pubkey_pb, sizeof(p->pubkey_pb)) < 0) {
		e = -EINVAL;
		goto fail;
	}
	/* A Noise static key per process: peers know the relay by its identity, which the
	   handshake payload binds to whatever static key it uses. */
	randombytes_buf(p->noise_priv, sizeof(p->noise_priv));
	crypto_scalarmult_base(s_pub, p->noise_priv);
	if (xxn_payload_make(&p->id, s_pub, p->payload, sizeof(p->payload)) < 0) {
		e = -EINVAL;
		goto fail;
	}
	p2p_limits(l, &lim);
	if (table_init(&p->sources, 64) < 0 || table_init(&p->by_id, 64) < 0 ||
	    !(p->resv = resv_new(&lim))) {
		e = -ENOMEM;
		goto fail;
	}
	addr_format(&l->listen, a, sizeof(a));
	if ((p->lfd = p2p_listen(&l->listen)) < 0) {
		e = p->lfd;
		log_warnx("libp2p listener %s: %s", a, strerror(-e));
		goto fail;
	}
	if ((e = ev_add_io(r->loop, p->lfd, EV_READ, p2p_accept, p)) < 0)
		goto fail;
	r->p2p = p;
	n = multiaddr_from_addr(&l->listen, &p->pid, bin, sizeof(bin));
	if (n < 0 || multiaddr_format(bin, (size_t)n, ma, sizeof(ma)) < 0)
		snprintf(ma, sizeof(ma), "%s", a);
	log_info("libp2p: circuit relay v2 on %s, %s identity %s, peer id %s (%s)", a,
	         created ? "created" : "loaded", path, p->pid_str, ma);
	return 0;
fail:
	if (p->lfd >= 0)
		close(p->lfd);
	resv_free(p->resv);
	table_free(&p->sources);
	table_free(&p->by_id);
	identity_wipe(&p->id);
	sodium_memzero(p->noise_priv, sizeof(p->noise_priv));
	free(p);
	return e;
}

void libp2p_close(struct relay *r)
{
	struct p2p *p = r->p2p;

	if (!p)
		return;
	circuit_close_all(p);
	while (p->n)
		pconn_end(p->list[p->n - 1], "relay stopping");
	if (!p->paused)
		ev_del_io(r->loop, p->lfd);
	close(p->lfd);
	resv_free(p->resv);
	table_free(&p->sources);
	table_free(&p->by_id);
	free(p->by_fd);
	free(p->list);
	free(p->dirty);
	identity_wipe(&p->id);
	sodium_memzero(p->noise_priv, sizeof(p->noise_priv));
	free(p);
	r->p2p = NULL;
}

void libp2p_flush(struct relay *r)
{
	struct p2p *p = r->p2p;

	if (!p)
		return;
	/*
	 * Ending circuits queues resets; flushing one connection may move data waiting for its
	 * room onto others, or end a circuit at its byte limit: until nothing is left. Each round
	 * moves bytes into the kernel or finds it full, so this ends.
	 */
	while (p->reap || p->ndirty) {
		if (p->reap)
			circuit_reap(p);
		while (p->ndirty) {
			struct pconn *c = p->dirty[--p->ndirty];

			c->dirty = false;
			if (c->failed)
				pconn_end(c, NULL);
			else
				pconn_flush(c);
		}
	}
}

static void p2p_expired(void *arg, const struct peerid *peer)
{
	struct p2p *p = arg;
	char s[PEERID_STR_MAX];

	p->resv_expired++;
	if (peerid_format(peer, s, sizeof(s)) < 0)
		snprintf(s, sizeof(s), "?");
	p2p_event(p, NULL, "libp2p reservation timed out", "peer=%s", s);
}

/*
 * An up connection that has held no reservation and carried no circuit for IdleTimeout only
 * costs the relay memory and a descriptor: pings and identify do not keep it (js-libp2p pings
 * every few seconds on its own).
 */
static bool libp2p_idle(struct pconn *c, uint64_t now_ms)
{
	uint64_t idle = c->p->r->cfg.libp2p.idle_timeout_s * 1000;
	bool busy = c->resv_until_s > p2p_unix_now();

	for (struct pstream *ps = c->streams; ps && !busy; ps = ps->next)
		busy = ps->circ != NULL;
	if (busy || !c->busy_ms)
		c->busy_ms = now_ms;
	return idle && now_ms - c->busy_ms >= idle;
}

void libp2p_tick(struct relay *r, uint64_t now_ms)
{
	struct p2p *p = r->p2p;
	uint64_t hs;
	struct resv_limits lim;

	if (!p)
		return;
	hs = r->cfg.libp2p.handshake_timeout_s * 1000;
	/* A reload changes limits here; held reservations and circuits stay. */
	p2p_limits(&r->cfg.libp2p, &lim);
	if (memcmp(&lim, resv_limits(p->resv), sizeof(lim)))
		resv_set_limits(p->resv, &lim);
	resv_expire(p->resv, p2p_unix_now(), p2p_expired, p);
	/* Downwards: an end moves the last connection into the freed place, already seen. */
	for (size_t i = p->n; i-- > 0;) {
		struct pconn *c;

		if (i >= p->n)
			continue;
		c = p->list[i];
		if (c->state != PC_OPEN && now_ms - c->accepted_ms >= hs) {
			p2p_refused(p, P2P_REF_TIMEOUT, &c->peer);
			pconn_end(c, "handshake timeout");
		} else if (c->state == PC_OPEN && libp2p_idle(c, now_ms)) {
			p2p_refused(p, P2P_REF_IDLE, &c->peer);
			pconn_end(c, "idle");
		}
	}
	circuit_tick(p, now_ms);
	if (p->paused && ev_add_io(r->loop, p->lfd, EV_READ, p2p_accept, p) == 0)
		p->paused = false;
	libp2p_flush(r);
}

size_t libp2p_stats(const struct relay *r, char *out, size_t cap)
{
	const struct p2p *p = r->p2p;
	int n;

	if (!p || cap == 0)
		return 0;
	n = snprintf(out, cap,
	             ", libp2p reservations %zu, circuits %zu, peers %zu, relayed %.1f MB",
	             resv_count(p->resv), p->n_circs, p->n_open, (double)p->relayed_bytes / 1e6);
	if (n < 0 || (size_t)n >= cap) {
		out[0] = '\0';
		return 0;
	}
	return (size_t)n;
}

size_t libp2p_metrics(const struct relay *r, char *out, size_t cap)
{
	const struct p2p *p = r->p2p;
	size_t n = 0;

	if (!p)
		return 0;
	SCALAR("wgrelayd_libp2p_connections", "gauge",
	       "libp2p connections up (Noise and yamux done): the connected peers.", p->n_open);
	SCALAR("wgrelayd_libp2p_handshaking", "gauge",
	       "libp2p connections not up yet (negotiation, Noise).", p->n - p->n_open);
	SCALAR("wgrelayd_libp2p_accepted_total", "counter", "libp2p connections that came up.",
	       p->accepted);
	PUT("# HELP wgrelayd_libp2p_refused_total libp2p connections refused or cut, by reason.\n"
	    "# TYPE wgrelayd_libp2p_refused_total counter\n");
	for (int i = 0; i < P2P_REF_MAX; i++)
		PUT("wgrelayd_libp2p_refused_total{reason=\"%s\"} %llu\n", p2p_refusal_names[i],
		    (unsigned long long)p->refused[i]);
	PUT("# HELP wgrelayd_libp2p_streams_total Streams peers opened, by protocol agreed.\n"
	    "# TYPE wgrelayd_libp2p_streams_total counter\n");
	for (int i = 0; i < P2P_S_MAX; i++)
		PUT("wgrelayd_libp2p_streams_total{protocol=\"%s\"} %llu\n", p2p_skind_names[i],
		    (unsigned long long)p->streams[i]);
	PUT("# HELP wgrelayd_libp2p_streams_refused_total Streams refused or reset, by reason.\n"
	    "# TYPE wgrelayd_libp2p_streams_refused_total counter\n");
	for (int i = 0; i < P2P_SREF_MAXV; i++)
		PUT("wgrelayd_libp2p_streams_refused_total{reason=\"%s\"} %llu\n",
		    p2p_sref_names[i], (unsigned long long)p->streams_refused[i]);
	SCALAR("wgrelayd_libp2p_reservations", "gauge", "Circuit Relay v2 reservations held.",
	       resv_count(p->resv));
	SCALAR("wgrelayd_libp2p_reservations_accepted_total", "counter",
	       "Reservations accepted (new).", p->resv_accepted);
	SCALAR("wgrelayd_libp2p_reservations_renewed_total", "counter",
	       "Reservations renewed on the same connection.", p->resv_renewed);
	SCALAR("wgrelayd_libp2p_reservations_expired_total", "counter",
	       "Reservations that timed out (not renewed).", p->resv_expired);
	SCALAR("wgrelayd_libp2p_circuits", "gauge", "Relayed connections (spliced circuits).",
	       p->n_circs);
	SCALAR("wgrelayd_libp2p_circuits_total", "counter", "Circuits accepted.", p->circ_accepted);
	PUT("# HELP wgrelayd_libp2p_circuits_closed_total Circuits ended, by reason.\n"
	    "# TYPE wgrelayd_libp2p_circuits_closed_total counter\n");
	for (int i = 0; i < P2P_CEND_MAX; i++)
		PUT("wgrelayd_libp2p_circuits_closed_total{reason=\"%s\"} %llu\n",
		    p2p_cend_names[i], (unsigned long long)p->circ_closed[i]);
	PUT("# HELP wgrelayd_libp2p_denied_total Hop requests refused, by request and status.\n"
	    "# TYPE wgrelayd_libp2p_denied_total counter\n");
	for (int q = 0; q < P2P_REQ_MAX; q++)
		for (int i = 0; i < 8; i++)
			PUT("wgrelayd_libp2p_denied_total{request=\"%s\",status=\"%s\"} %llu\n",
			    p2p_req_names[q], i < 7 ? relay_status_name(p2p_statuses[i]) : "OTHER",
			    (unsigned long long)p->denied[q][i]);
	SCALAR("wgrelayd_libp2p_relayed_bytes_total", "counter",
	       "Bytes relayed through circuits, both directions.", p->relayed_bytes);
	SCALAR("wgrelayd_libp2p_pings_total", "counter", "Ping payloads echoed (32 bytes each).",
	       p->pings);
	return n;
}
