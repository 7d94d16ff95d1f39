/*
 * streams.c: the relay's stream listeners ([Transport], PROTOCOL.md §12). Each Listen port
 * serves records, TLS and WebSocket alike (transport/tconn.c sniffs the first bytes). Every
 * whole record is one frame for control_frame, with the connection's socket as its fd and its
 * peer as its source, so a handshake on a stream makes a link whose fd is the connection's;
 * what the control path sends to that fd comes back here through streams_send.
 *
 * Bounded: MaxConnections in all, MaxConnectionsPerSource per IPv4 address or IPv6 /64
 * (refused by closing at once), a fixed queue per connection, a deadline for the handshakes
 * (TLS, WebSocket upgrade) and an idle timeout for connections that carry no link.
 *
 * Output is deferred: a frame for a connection joins its queue (tconn_defer), and the
 * connections given frames during a loop iteration are flushed together before the loop
 * sleeps (streams_flush, from relayd's before-sleep hook), so a receive batch's frames for
 * one connection leave with one write (and over TLS as one TLS record), as UDP's leave with
 * one sendmmsg.
 *
 * The relay's own relay links dial out over the same table (streams_dial, PROTOCOL.md §10.2):
 * a dialled connection is one more entry, with the peer's address as its records' source, so
 * the control path cannot tell it from an accepted one; the network part hears when it opens
 * and when it ends.
 */
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "promtext.h"
#include "relay.h"
#include "srccount.h"
#include "tconn.h"
#include "tls.h"

#define STREAMS_ACCEPTS 16 /* per wake-up, so a backlog drains without starving the loop */
#define STREAMS_BACKLOG 128
#define STREAMS_TICK_MS 1000
#define STREAMS_IDLE_MS 180000 /* no record this long and no link: closed */
/* A dialled one may take this long to open, HandshakeTimeout or not: a circuit to an onion
 * service takes Tor seconds to build. The plan gives up on the link at 30 s anyway. */
#define STREAMS_DIAL_MS 30000
#define STREAMS_NKIND   (TURL_WSS + 1)

/* Why a connection was refused or cut: the reason label of wgrelayd_stream_refused_total. */
enum streams_refusal {
	REFUSED_LIMIT,   /* MaxConnections reached */
	REFUSED_SOURCE,  /* MaxConnectionsPerSource reached */
	REFUSED_TIMEOUT, /* not open within HandshakeTimeout */
	REFUSED_PREFACE, /* first bytes neither records, TLS nor HTTP */
	REFUSED_TLS,     /* TLS handshake failed */
	REFUSED_UPGRADE, /* WebSocket upgrade refused (bad request, wrong path) */
	REFUSED_RECORD,  /* a bad record length or WebSocket framing once open */
	REFUSED_MAX,
};
static const char *const streams_refusal_names[REFUSED_MAX] = {
    "limit", "source", "timeout", "preface", "tls", "upgrade", "record",
};

/* What one source (family and IPv4 address or IPv6 /64) holds. */
struct sconn {
	struct relay *r;
	struct tconn *c;
	int fd;
	size_t pos; /* index in streams.list */
	struct srccount *src;
	struct addr peer; /* unmapped: what the control path sees as the frames' source */
	uint64_t accepted_ms;
	uint64_t idle_ms; /* the last record, or the last check that found a link on it */
	unsigned events;  /* what the loop watches now */
	uint8_t kind;     /* enum turl_kind once open (counted in open[]); 0 before */
	uint8_t state;    /* the state after the last tconn_io: where a failure happened */
	bool outbound;    /* dialled by the network part (streams_dial); src is NULL */
	bool ending;      /* in streams_end: a hangup from its link's close is a no-op */
	bool dirty;       /* in streams.dirty: given frames since the last streams_flush */
	size_t dpos;      /* its index there */
};

struct streams {
	struct tconn_server srv;
	struct tls_ctx *tls;
	struct tls_ctx *tls_client; /* made at the first tls:// or wss:// dial */
	int lfd[CONFIG_MAX_STREAM_LISTEN];
	int n_lfd;
	bool paused;          /* accepting stopped: out of file descriptors; resumed by the tick */
	struct sconn **by_fd; /* fd-indexed: streams_owns in O(1) */
	size_t nfd;
	struct sconn **list; /* dense, for the tick */
	size_t n, cap;
	struct sconn **dirty; /* given frames since the last flush (cap entries, as list) */
	size_t ndirty;
	pthread_t loop_thread; /* the control thread, which flushes before it sleeps */
	struct table sources;
	struct ev_timer tick;
	uint64_t open[STREAMS_NKIND], accepted[STREAMS_NKIND];
	uint64_t refused[REFUSED_MAX];
	uint64_t frames_in, frames_out, dropped;
	uint64_t dialled[STREAMS_NKIND], dial_failed; /* ours: opened, ended before opening */
};

static struct log_ratelimit streams_rl = LOG_RATELIMIT_INIT(10000);

static void streams_refused(struct streams *s, enum streams_refusal why, const struct addr *peer)
{
	char a[ADDR_STRLEN];

	s->refused[why]++;
	log_info_rl(&streams_rl, "stream from %s refused: %s", addr_format(peer, a, sizeof(a)),
	            streams_refusal_names[why]);
}

/* Follow the connection's wish for EV_WRITE (output waiting) after anything touched it. */
static void streams_want(struct relay *r, struct sconn *sc)
{
	unsigned ev = tconn_events(sc->c);

	if (ev && ev != sc->events && ev_mod_io(r->loop, sc->fd, ev) == 0)
		sc->events = ev;
}

/* Whether a link talks through fd (O(links): only for idle connections and at the end). */
static bool streams_has_link(struct relay *r, int fd)
{
	size_t pos = 0;
	struct link *l;

	while ((l = table_next(&r->links, &pos)))
		if (l->fd == fd)
			return true;
	return false;
}

/*
 * End sc: first its links (so that the fd number, once reused, never carries an old link's
 * frames), then the loop's watch, the counts, and the socket. A dialled one's end is told to
 * the network part last (notify), when nothing of sc is left to trip over.
 */
static void streams_end(struct relay *r, struct sconn *sc, const char *why, bool notify)
{
	struct streams *s = r->streams;
	size_t pos = 0;
	struct link *l;
	char a[ADDR_STRLEN], reason[64];
	int fd = sc->fd;

	notify = notify && sc->outbound;
	sc->ending = true;
	snprintf(reason, sizeof(reason), "%s", why);
	while ((l = table_next(&r->links, &pos)))
		if (l->fd == sc->fd)
			control_link_close(r, l);
	log_debug("stream %s %s %s closed: %s", sc->kind ? turl_kind_name(sc->kind) : "-",
	          sc->outbound ? "to" : "from", addr_format(&sc->peer, a, sizeof(a)), reason);
	/* What its links' close queued, or a refusal, still goes if the socket takes it. */
	tconn_flush(sc->c);
	if (sc->dirty) {
		s->dirty[sc->dpos] = s->dirty[--s->ndirty];
		s->dirty[sc->dpos]->dpos = sc->dpos;
	}
	ev_del_io(r->loop, sc->fd);
	s->by_fd[sc->fd] = NULL;
	s->list[sc->pos] = s->list[--s->n];
	s->list[sc->pos]->pos = sc->pos;
	if (sc->kind)
		s->open[sc->kind]--;
	srccount_put(&s->sources, sc->src);
	tconn_free(sc->c);
	free(sc);
	if (notify)
		network_stream_closed(r, fd, reason);
}

/*
 * Why a connection that tconn_io finished went: a refusal reason, or -1 for an ordinary end
 * (the peer closed or reset it, or closed a port check before its first byte). Before it
 * opened, what it was sniffed as and tconn's reason say which layer refused it.
 */
static int streams_reason(const struct sconn *sc, int err)
{
	const char *why = tconn_error(sc->c);
	uint8_t kind = tconn_kind(sc->c);

	if (err == -ECONNRESET || err == -EPIPE || err == -ETIMEDOUT ||
	    tconn_stats(sc->c)->rx_bytes == 0)
		return -1;
	if (sc->kind || tconn_opened(sc->c))
		return err == -EPROTO || err == -EMSGSIZE || err == -EBADMSG ? REFUSED_RECORD : -1;
	if (kind == TURL_WS || kind == TURL_WSS)
		return REFUSED_UPGRADE;
	if (!strncmp(why, "TLS", 3) || sc->state == TCONN_TLS_HS)
		return REFUSED_TLS;
	return REFUSED_PREFACE;
}

/* A whole record of sc: one frame for the control path, from the connection's peer. */
static void streams_record(void *arg, struct tconn *c, uint8_t *frame, size_t len)
{
	struct sconn *sc = arg;
	struct relay *r = sc->r;

	(void)c;
	r->streams->frames_in++;
	sc->idle_ms = ev_now_ms(r->loop);
	control_frame(r, sc->fd, frame, len, &sc->peer);
	/* Frames it queued for UDP point into this record, which the next one overwrites. */
	control_flush(r);
}

static void streams_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct relay *r = arg;
	struct streams *s = r->streams;
	struct sconn *sc = (size_t)fd < s->nfd ? s->by_fd[fd] : NULL;
	int e, why;

	if (!sc)
		return;
	e = tconn_io(sc->c, events, ev_now_ms(loop), streams_record, sc);
	if (e < 0) {
		/* Opened and cut in one read (an upgrade and a bad frame after it): it was accepted. */
		if (!sc->kind && !sc->outbound && tconn_opened(sc->c) &&
		    tconn_kind(sc->c) < STREAMS_NKIND)
			s->accepted[tconn_kind(sc->c)]++;
		if (sc->outbound)
			s->dial_failed += !sc->kind && !tconn_opened(sc->c);
		else if ((why = streams_reason(sc, e)) >= 0)
			streams_refused(s, (enum streams_refusal)why, &sc->peer);
		streams_end(r, sc, tconn_error(sc->c), true);
		return;
	}
	sc->state = (uint8_t)tconn_state(sc->c);
	if (!sc->kind && sc->state == TCONN_OPEN && tconn_kind(sc->c) < STREAMS_NKIND) {
		sc->kind = tconn_kind(sc->c);
		sc->idle_ms = ev_now_ms(loop);
		s->open[sc->kind]++;
		if (sc->outbound) {
			s->dialled[sc->kind]++;
			streams_want(r, sc);
			/* Last: what it sends goes through streams_send, which follows the events. */
			network_stream_open(r, fd);
			return;
		}
		s->accepted[sc->kind]++;
	}
	streams_want(r, sc);
}

/* Room for fd in the fd-indexed table and one more connection in the list; 0 or -ENOMEM. */
static int streams_room(struct streams *s, int fd)
{
	if ((size_t)fd >= s->nfd) {
		size_t n = s->nfd ? s->nfd : 64;
		struct sconn **v;

		while (n <= (size_t)fd)
			n *= 2;
		if (!(v = realloc(s->by_fd, n * sizeof(*v))))
			return -ENOMEM;
		memset(v + s->nfd, 0, (n - s->nfd) * sizeof(*v));
		s->by_fd = v;
		s->nfd = n;
	}
	if (s->n == s->cap) {
		size_t n = s->cap ? s->cap * 2 : 64;
		struct sconn **v = realloc(s->list, n * sizeof(*v)), **d;

		if (!v)
			return -ENOMEM;
		s->list = v;
		if (!(d = realloc(s->dirty, n * sizeof(*d))))
			return -ENOMEM;
		s->dirty = d;
		s->cap = n;
	}
	return 0;
}

/* Take accepted socket fd from peer (a place at its source is already counted in src). */
static void streams_add(struct relay *r, int fd, const struct addr *peer, struct srccount *src)
{
	struct streams *s = r->streams;
	uint64_t now = ev_now_ms(r->loop);
	struct sconn *sc;
	struct tconn *c;

	if (streams_room(s, fd) < 0 || !(sc = calloc(1, sizeof(*sc)))) {
		close(fd);
		srccount_put(&s->sources, src);
		return;
	}
	if (tconn_accept(&c, fd, &s->srv, now) < 0) { /* it closed fd */
		srccount_put(&s->sources, src);
		free(sc);
		return;
	}
	tconn_defer(c, true);
	sc->events = tconn_events(c);
	if (ev_add_io(r->loop, fd, sc->events, streams_io, r) < 0) {
		tconn_free(c);
		srccount_put(&s->sources, src);
		free(sc);
		return;
	}
	sc->r = r;
	sc->c = c;
	sc->fd = fd;
	sc->src = src;
	sc->peer = *peer;
	sc->accepted_ms = sc->idle_ms = now;
	sc->state = (uint8_t)tconn_state(c);
	sc->pos = s->n;
	s->list[s->n++] = sc;
	s->by_fd[fd] = sc;
}

/* Stop accepting until the next tick (out of descriptors: the backlog would spin the loop). */
static void streams_pause(struct relay *r)
{
	struct streams *s = r->streams;

	for (int i = 0; i < s->n_lfd; i++)
		ev_del_io(r->loop, s->lfd[i]);
	s->paused = true;
}

static void streams_accept(struct ev_loop *loop, int lfd, unsigned events, void *arg);

static void streams_resume(struct relay *r)
{
	struct streams *s = r->streams;

	for (int i = 0; i < s->n_lfd; i++)
		ev_add_io(r->loop, s->lfd[i], EV_READ, streams_accept, r);
	s->paused = false;
}

static void streams_accept(struct ev_loop *loop, int lfd, unsigned events, void *arg)
{
	struct relay *r = arg;
	struct streams *s = r->streams;
	const struct transport_config *t = &r->cfg.transport;

	(void)loop;
	(void)events;
	for (int k = 0; k < STREAMS_ACCEPTS; k++) {
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
				log_warnx_rl(&streams_rl, "stream accept: %s; pausing a second",
				             strerror(errno));
				streams_pause(r);
			}
			return;
		}
		addr_from_sockaddr(&peer, (struct sockaddr *)&ss, sl);
		addr_unmap(&peer);
		if (s->n >= t->max_connections) {
			close(fd);
			streams_refused(s, REFUSED_LIMIT, &peer);
			continue;
		}
		if (!(src = srccount_get(&s->sources, &peer)) || src->n >= t->max_per_source) {
			close(fd);
			streams_refused(s, REFUSED_SOURCE, &peer);
			continue;
		}
		src->n++;
		streams_add(r, fd, &peer, src);
	}
}

/* Handshake deadlines and idle connections, once a second; accepting resumes after a pause. */
static void streams_tick(struct ev_loop *loop, struct ev_timer *tm, void *arg)
{
	struct relay *r = arg;
	struct streams *s = r->streams;
	uint64_t now = ev_now_ms(loop), hs = r->cfg.transport.handshake_timeout_s * 1000;

	/* Downwards: an end moves the last connection into the freed place, already seen. */
	for (size_t i = s->n; i-- > 0;) {
		struct sconn *sc;

		/* A dialled one's end, told to the network part, may have ended others too. */
		if (i >= s->n)
			continue;
		sc = s->list[i];

		if (*tconn_error(sc->c)) { /* failed in a send, outside its own tconn_io */
			streams_end(r, sc, tconn_error(sc->c), true);
		} else if (!sc->kind &&
		           now - sc->accepted_ms >=
		               (sc->outbound && hs < STREAMS_DIAL_MS ? STREAMS_DIAL_MS : hs)) {
			if (sc->outbound)
				s->dial_failed++;
			else
				streams_refused(s, REFUSED_TIMEOUT, &sc->peer);
			streams_end(r, sc, "handshake timeout", true);
		} else if (sc->kind && now - sc->idle_ms >= STREAMS_IDLE_MS) {
			if (streams_has_link(r, sc->fd))
				sc->idle_ms =
				    now; /* its link's own expiry ends it, checked again later */
			else
				streams_end(r, sc, "idle", true);
		}
	}
	if (s->paused)
		streams_resume(r);
	ev_timer_start(loop, tm, STREAMS_TICK_MS);
}

/* One listening socket on a; its fd, or -errno (-EAFNOSUPPORT etc. when a is not here). */
static int streams_listen(const struct addr *a)
{
	int fd = socket(addr_family(a), SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;

	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	/* As the control sockets: [::] and 0.0.0.0 on one port are two listeners. */
	if (addr_family(a) == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, &a->sa, a->len) < 0 || listen(fd, STREAMS_BACKLOG) < 0) {
		int e = -errno;

		close(fd);
		return e;
	}
	return fd;
}

/*
 * The connection table, made at the first need: streams_open with listeners, or the first
 * dial of a relay that has none. NULL when out of memory.
 */
static struct streams *streams_get(struct relay *r)
{
	struct streams *s = r->streams;

	if (s)
		return s;
	if (!(s = calloc(1, sizeof(*s))) || table_init(&s->sources, 64) < 0) {
		free(s);
		return NULL;
	}
	r->streams = s;
	s->loop_thread = pthread_self();
	s->srv = (struct tconn_server){.ws_path = r->cfg.transport.ws_path,
	                               .queue_bytes = (size_t)r->cfg.transport.queue_bytes};
	ev_timer_init(&s->tick, streams_tick, r);
	ev_timer_start(r->loop, &s->tick, STREAMS_TICK_MS);
	return s;
}

int streams_open(struct relay *r)
{
	const struct transport_config *t = &r->cfg.transport;
	bool own = *t->tls_cert != '\0';
	char err[256] = "", a[ADDR_STRLEN];
	struct streams *s;
	int e;

	if (!t->n_listen)
		return 0;
	if (!(s = streams_get(r)))
		return -ENOMEM;
	if ((e = tls_ctx_server(&s->tls, own ? t->tls_cert : NULL, own ? t->tls_key : NULL, err,
	                        sizeof(err))) < 0) {
		log_warnx("stream TLS: %s", *err ? err : strerror(-e));
		goto fail;
	}
	s->srv = (struct tconn_server){
	    .tls = s->tls, .ws_path = t->ws_path, .queue_bytes = (size_t)t->queue_bytes};
	for (int i = 0; i < t->n_listen; i++) {
		int fd = streams_listen(&t->listen[i]);

		addr_format(&t->listen[i], a, sizeof(a));
		/* A host without IPv6 still serves IPv4 (and the other way round), as control_open. */
		if (fd == -EAFNOSUPPORT || fd == -EADDRNOTAVAIL) {
			log_warnx("stream listener %s not available here, skipped", a);
			continue;
		}
		if (fd < 0 || (e = ev_add_io(r->loop, fd, EV_READ, streams_accept, r)) < 0) {
			e = fd < 0 ? fd : e;
			if (fd >= 0)
				close(fd);
			log_warnx("stream listener %s: %s", a, strerror(-e));
			goto fail;
		}
		s->lfd[s->n_lfd++] = fd;
		log_info("stream listener on %s (tcp, tls, ws, wss; WebSocket path %s)", a,
		         t->ws_path);
	}
	if (!s->n_lfd) {
		e = -EADDRNOTAVAIL;
		goto fail;
	}
	log_info("stream TLS certificate: %s", own ? t->tls_cert : "self-signed, made at start");
	return 0;
fail:
	streams_close(r);
	return e;
}

void streams_close(struct relay *r)
{
	struct streams *s = r->streams;

	if (!s)
		return;
	while (s->n)
		streams_end(r, s->list[s->n - 1], "relay stopping", false);
	for (int i = 0; i < s->n_lfd; i++) {
		if (!s->paused)
			ev_del_io(r->loop, s->lfd[i]);
		close(s->lfd[i]);
	}
	if (ev_timer_active(&s->tick))
		ev_timer_stop(r->loop, &s->tick);
	tls_ctx_free(s->tls);
	tls_ctx_free(s->tls_client);
	table_free(&s->sources);
	free(s->by_fd);
	free(s->list);
	free(s->dirty);
	free(s);
	r->streams = NULL;
}

bool streams_owns(const struct relay *r, int fd)
{
	const struct streams *s = r->streams;

	return s && fd >= 0 && (size_t)fd < s->nfd && s->by_fd[fd];
}

int streams_dial(struct relay *r, const struct tconn_client *cl, const struct addr *to,
                 const struct addr *peer, int *fd)
{
	struct streams *s = streams_get(r);
	struct tconn_client c = *cl;
	uint64_t now = ev_now_ms(r->loop);
	struct sconn *sc;
	struct tconn *t;
	int e;

	if (!s)
		return -ENOMEM;
	if ((c.url.kind == TURL_TLS || c.url.kind == TURL_WSS) && !c.tls) {
		if (!s->tls_client && (e = tls_ctx_client(&s->tls_client)) < 0)
			return e;
		c.tls = s->tls_client;
	}
	if (!c.queue_bytes)
		c.queue_bytes = (size_t)r->cfg.transport.queue_bytes;
	if ((e = tconn_connect(&t, &c, to, now)) < 0)
		return e;
	tconn_defer(t, true);
	if ((e = streams_room(s, tconn_fd(t))) < 0 || !(sc = calloc(1, sizeof(*sc)))) {
		tconn_free(t);
		return e < 0 ? e : -ENOMEM;
	}
	sc->events = tconn_events(t);
	if ((e = ev_add_io(r->loop, tconn_fd(t), sc->events, streams_io, r)) < 0) {
		tconn_free(t);
		free(sc);
		return e;
	}
	sc->r = r;
	sc->c = t;
	sc->fd = *fd = tconn_fd(t);
	sc->outbound = true;
	sc->peer = *peer;
	sc->accepted_ms = sc->idle_ms = now;
	sc->state = (uint8_t)tconn_state(t);
	sc->pos = s->n;
	s->list[s->n++] = sc;
	s->by_fd[sc->fd] = sc;
	return 0;
}

void streams_hangup(struct relay *r, int fd)
{
	struct streams *s = r->streams;

	if (streams_owns(r, fd) && !s->by_fd[fd]->ending)
		streams_end(r, s->by_fd[fd], "hung up", false);
}

int streams_send(struct relay *r, int fd, const void *p, size_t len, bool droppable)
{
	struct streams *s = r->streams;
	struct sconn *sc = s->by_fd[fd];
	int e = tconn_send(sc->c, p, len, droppable);

	/*
	 * A worker's frame (PEER_ACTIVE, an ERROR, under the relay lock) goes at once: the
	 * control thread may sleep long before its next flush.
	 */
	if (!pthread_equal(pthread_self(), s->loop_thread)) {
		tconn_flush(sc->c);
		streams_want(r, sc);
	} else if (!sc->dirty) {
		/* Also after a refusal: frames written to make room may have left output blocked. */
		sc->dirty = true;
		sc->dpos = s->ndirty;
		s->dirty[s->ndirty++] = sc;
	}
	if (e < 0) {
		s->dropped++;
		return e;
	}
	s->frames_out++;
	return 0;
}

void streams_flush(struct relay *r)
{
	struct streams *s = r->streams;

	if (!s)
		return;
	/*
	 * A connection that fails here is not ended here (its end closes links, which may send):
	 * tconn_events then asks for every event, and its next tconn_io ends it.
	 */
	for (size_t i = 0; i < s->ndirty; i++) {
		struct sconn *sc = s->dirty[i];

		tconn_flush(sc->c);
		sc->dirty = false;
		streams_want(r, sc);
	}
	s->ndirty = 0;
}

size_t streams_metrics(const struct relay *r, char *out, size_t cap)
{
	static const struct streams none;
	const struct streams *s = r->streams ? r->streams : &none;
	size_t n = 0;

	PUT("# HELP wgrelayd_stream_connections Open stream connections, by transport.\n"
	    "# TYPE wgrelayd_stream_connections gauge\n");
	for (uint8_t k = TURL_TCP; k < STREAMS_NKIND; k++)
		PUT("wgrelayd_stream_connections{transport=\"%s\"} %llu\n", turl_kind_name(k),
		    (unsigned long long)s->open[k]);
	PUT("# HELP wgrelayd_stream_handshaking Stream connections not open yet (sniffing, TLS, "
	    "WebSocket upgrade).\n"
	    "# TYPE wgrelayd_stream_handshaking gauge\n"
	    "wgrelayd_stream_handshaking %llu\n",
	    (unsigned long long)(s->n - (s->open[TURL_TCP] + s->open[TURL_TLS] + s->open[TURL_WS] +
	                                 s->open[TURL_WSS])));
	PUT("# HELP wgrelayd_stream_accepted_total Stream connections that opened, by transport.\n"
	    "# TYPE wgrelayd_stream_accepted_total counter\n");
	for (uint8_t k = TURL_TCP; k < STREAMS_NKIND; k++)
		PUT("wgrelayd_stream_accepted_total{transport=\"%s\"} %llu\n", turl_kind_name(k),
		    (unsigned long long)s->accepted[k]);
	PUT("# HELP wgrelayd_stream_refused_total Stream connections refused or cut, by reason.\n"
	    "# TYPE wgrelayd_stream_refused_total counter\n");
	for (int i = 0; i < REFUSED_MAX; i++)
		PUT("wgrelayd_stream_refused_total{reason=\"%s\"} %llu\n", streams_refusal_names[i],
		    (unsigned long long)s->refused[i]);
	PUT("# HELP wgrelayd_stream_frames_total Frames carried on stream connections.\n"
	    "# TYPE wgrelayd_stream_frames_total counter\n"
	    "wgrelayd_stream_frames_total{direction=\"in\"} %llu\n"
	    "wgrelayd_stream_frames_total{direction=\"out\"} %llu\n",
	    (unsigned long long)s->frames_in, (unsigned long long)s->frames_out);
	PUT("# HELP wgrelayd_stream_dropped_total Frames for a stream dropped: its queue was full "
	    "(DATA at half full) or the frame too large.\n"
	    "# TYPE wgrelayd_stream_dropped_total counter\n"
	    "wgrelayd_stream_dropped_total %llu\n",
	    (unsigned long long)s->dropped);
	PUT("# HELP wgrelayd_stream_dialled_total Stream connections this relay dialled for its "
	    "relay links that opened, by transport.\n"
	    "# TYPE wgrelayd_stream_dialled_total counter\n");
	for (uint8_t k = TURL_TCP; k < STREAMS_NKIND; k++)
		PUT("wgrelayd_stream_dialled_total{transport=\"%s\"} %llu\n", turl_kind_name(k),
		    (unsigned long long)s->dialled[k]);
	PUT("# HELP wgrelayd_stream_dial_failures_total Dialled stream connections that ended "
	    "before they opened (refused, proxy, TLS, timeout).\n"
	    "# TYPE wgrelayd_stream_dial_failures_total counter\n"
	    "wgrelayd_stream_dial_failures_total %llu\n",
	    (unsigned long long)s->dial_failed);
	return n + network_carrier_metrics(r, out + n, cap - n);
}
