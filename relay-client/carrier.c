/* carrier.c: UDP or a stream under each relay link (see carrier.h). */
#include "carrier.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cache.h"
#include "cli.h"
#include "ev.h"
#include "fallback.h"
#include "link.h"
#include "log.h"
#include "portset.h"
#include "tconn.h"
#include "tls.h"
#include "turl.h"
#include "urls.h"

/* Output a stream link may queue: room for bursts of sealed DATA, no bufferbloat beyond. */
#define CARRIER_QUEUE_BYTES 65536
/* A move's words: a reason, a URL and a proxy. */
#define CARRIER_MOVE_LEN (2 * TURL_STRLEN + 80)

struct carrier {
	struct carrier_set *cs;
	struct link *l; /* NULL: no link in this slot */
	char name[CACHE_TEXT];
	struct turl urls[URLS_MAX];
	size_t n_urls;
	char urls_key[2 * CACHE_URLS]; /* the cache's text they came from */
	struct fallback fb;
	int fd;                           /* the stream socket registered in the loop, -1 none */
	unsigned events;                  /* ... and the interest registered */
	int resolving;                    /* a URL waiting for its address, -1 none */
	bool failed_now;                  /* the stream (or its start) failed since the last step */
	char last_move[CARRIER_MOVE_LEN]; /* the last move logged at info: repeats at debug */
};

struct carrier_set {
	struct ev_loop *loop;
	struct portset *ports;
	struct turl_proxy proxy;
	struct tls_ctx *tls; /* shared by every TLS and WSS stream */
	size_t n;
	struct carrier c[];
};

static void carrier_sync(struct ev_loop *loop, void *arg);

int carrier_set_new(struct carrier_set **out, struct ev_loop *loop, struct portset *ports,
                    const struct turl_proxy *proxy, size_t slots)
{
	struct carrier_set *cs = calloc(1, sizeof(*cs) + slots * sizeof(cs->c[0]));
	int rc;

	if (!cs)
		return -ENOMEM;
	if ((rc = tls_ctx_client(&cs->tls)) < 0) {
		free(cs);
		return rc;
	}
	cs->loop = loop;
	cs->ports = ports;
	cs->n = slots;
	if (proxy)
		cs->proxy = *proxy;
	for (size_t i = 0; i < slots; i++) {
		cs->c[i].cs = cs;
		cs->c[i].fd = -1;
		cs->c[i].resolving = -1;
	}
	ev_set_before_sleep(loop, carrier_sync, cs);
	*out = cs;
	return 0;
}

void carrier_set_free(struct carrier_set *cs)
{
	if (!cs)
		return;
	ev_set_before_sleep(cs->loop, NULL, NULL);
	tls_ctx_free(cs->tls);
	explicit_bzero(&cs->proxy, sizeof(cs->proxy));
	free(cs);
}

static struct carrier *slot_of(struct carrier_set *cs, size_t slot)
{
	return cs && slot < cs->n ? &cs->c[slot] : NULL;
}

/* The relay's URLs from its cache row, when they changed (or first); true when they did. */
static bool take_urls(struct carrier *c, const struct cache_relay *r)
{
	char key[sizeof(c->urls_key)];

	snprintf(key, sizeof(key), "%s|%s", r->urls, r->desc_urls);
	if (strcmp(key, c->urls_key) == 0 && c->urls_key[0])
		return false;
	snprintf(c->urls_key, sizeof(c->urls_key), "%s", key);
	c->n_urls = urls_of_relay(r, c->urls, URLS_MAX);
	return true;
}

/* Out of the loop (before its socket closes): the registration goes. */
static void unwatch(struct carrier *c)
{
	if (c->fd >= 0)
		ev_del_io(c->cs->loop, c->fd);
	c->fd = -1;
	c->events = 0;
}

/* A handshake unanswered on UDP counts within seconds while a stream could take over. */
static void udp_retry(struct carrier *c)
{
	c->l->hs_retry_ms = c->n_urls ? FALLBACK_HS_RETRY_MS : 0;
}

void carrier_attach(struct carrier_set *cs, size_t slot, struct link *l,
                    const struct cache_relay *r, int64_t now_ms)
{
	struct carrier *c = slot_of(cs, slot);

	if (!c)
		return;
	unwatch(c);
	c->l = l;
	c->urls_key[0] = '\0';
	c->last_move[0] = '\0';
	c->resolving = -1;
	c->failed_now = false;
	snprintf(c->name, sizeof(c->name), "%s", r->endpoint);
	take_urls(c, r);
	fallback_init(&c->fb, (uint8_t)c->n_urls, now_ms);
	udp_retry(c);
}

void carrier_update(struct carrier_set *cs, size_t slot, const struct cache_relay *r)
{
	struct carrier *c = slot_of(cs, slot);

	if (!c || !c->l || !take_urls(c, r))
		return;
	log_debug("relay %s: %zu stream URL(s) now", c->name, c->n_urls);
	fallback_set_urls(&c->fb, (uint8_t)c->n_urls);
	if (c->fb.cur == FALLBACK_UDP)
		udp_retry(c);
}

void carrier_detach(struct carrier_set *cs, size_t slot, bool stop, int64_t now_ms)
{
	struct carrier *c = slot_of(cs, slot);

	if (!c || !c->l)
		return;
	unwatch(c);
	if (stop)
		link_stream_stop(c->l, now_ms);
	c->l = NULL;
	c->resolving = -1;
}

static void proxy_text(const struct carrier_set *cs, char *out, size_t cap)
{
	char p[TURL_STRLEN];

	out[0] = '\0';
	if (cs->proxy.kind != TURL_PROXY_NONE && turl_proxy_format(&cs->proxy, p, sizeof(p)) >= 0)
		snprintf(out, cap, " via %s", p);
}

void carrier_describe(const struct carrier_set *cs, size_t slot, char *out, size_t cap)
{
	const struct carrier *c = cs && slot < cs->n ? &cs->c[slot] : NULL;
	char u[TURL_STRLEN], via[TURL_STRLEN + 8];

	if (!cap)
		return;
	out[0] = '\0';
	if (!c || !c->l)
		return;
	if (c->fb.cur == FALLBACK_UDP || c->fb.cur >= (int)c->n_urls) {
		snprintf(out, cap, "udp");
		return;
	}
	if (turl_format(&c->urls[c->fb.cur], u, sizeof(u)) < 0)
		snprintf(u, sizeof(u), "%s", turl_kind_name(c->urls[c->fb.cur].kind));
	proxy_text(cs, via, sizeof(via));
	snprintf(out, cap, "%s%s", u, via);
}

/* One line per move at info; the same move again (a relay cycling while down) at debug. */
static void say_move(struct carrier *c, const char *move, const char *extra)
{
	if (strcmp(move, c->last_move) != 0) {
		log_info("relay %s: %s%s", c->name, move, extra);
		snprintf(c->last_move, sizeof(c->last_move), "%s", move);
	} else {
		log_debug("relay %s: %s%s", c->name, move, extra);
	}
}

static void on_stream_io(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct carrier *c = arg;
	int64_t now = (int64_t)ev_now_ms(loop);

	(void)fd;
	if (!c->l)
		return;
	link_stream_io(c->l, events, now);
	if (c->l->stream_failed) {
		/* Out of the loop while the socket is still open, then closed. */
		log_debug("relay %s: stream finished: %s", c->name,
		          c->l->tc ? tconn_error(c->l->tc) : "?");
		unwatch(c);
		link_stream_stop(c->l, now);
		c->failed_now = true;
	}
}

/*
 * Connect to URL i now that where to connect is known: the proxy's address, or the URL's
 * own. A name is looked up in the background: -EINPROGRESS until it is answered.
 */
static int connect_url(struct carrier *c, int i, int64_t now_ms)
{
	struct carrier_set *cs = c->cs;
	struct tconn_client cl = {.url = c->urls[i],
	                          .proxy = cs->proxy,
	                          .tls = cs->tls,
	                          .queue_bytes = CARRIER_QUEUE_BYTES,
	                          .fwmark = c->l->fwmark};
	const char *host = cs->proxy.kind ? cs->proxy.host : c->urls[i].host;
	uint16_t port = cs->proxy.kind ? cs->proxy.port : c->urls[i].port;
	char hp[TURL_MAX_HOST + 16];
	const char *why = NULL;
	struct addr to;
	int rc;

	/* Through no proxy, an onion service cannot be reached (only Tor resolves .onion). */
	size_t hl = strlen(host);
	if (hl > 6 && strcmp(host + hl - 6, ".onion") == 0) {
		log_warnx("relay %s: %s needs a SOCKS5 proxy ([Relay] Proxy) to be reached",
		          c->name, host);
		return -EHOSTUNREACH;
	}
	snprintf(hp, sizeof(hp), strchr(host, ':') ? "[%s]:%u" : "%s:%u", host, port);
	rc = cli_resolve(hp, &to, &why);
	if (rc == -EINPROGRESS || rc == -EAGAIN)
		return -EINPROGRESS;
	if (rc < 0) {
		log_warnx("relay %s: %s: %s", c->name, hp, why ? why : strerror(-rc));
		return rc;
	}
	rc = link_stream_start(c->l, &cl, &to, now_ms);
	explicit_bzero(&cl.proxy, sizeof(cl.proxy));
	if (rc < 0)
		log_warnx("relay %s: connect %s: %s", c->name, hp, strerror(-rc));
	return rc;
}

/* Apply one decision of fallback_step. */
static void apply(struct carrier *c, const struct fallback_out *o, int64_t now_ms)
{
	char u[TURL_STRLEN], via[TURL_STRLEN + 8], move[CARRIER_MOVE_LEN], extra[64] = "";

	switch (o->act) {
	case FALLBACK_NONE:
		return;
	case FALLBACK_PROBE_UDP:
		log_debug("relay %s: probing UDP", c->name);
		link_udp_probe(c->l, now_ms);
		return;
	case FALLBACK_TO_UDP:
		unwatch(c);
		c->resolving = -1;
		link_stream_stop(c->l, now_ms);
		udp_retry(c);
		if (o->backoff_ms)
			snprintf(extra, sizeof(extra), " (next stream in %u s)",
			         (unsigned)(o->backoff_ms + 999) / 1000);
		snprintf(move, sizeof(move), "%s, %s", fallback_why_name(o->why),
		         o->why == FALLBACK_W_UDP_BACK ? "back on UDP"
		                                       : "every URL failed, on UDP");
		say_move(c, move, extra);
		return;
	case FALLBACK_TO_STREAM:
		if (o->url < 0 || (size_t)o->url >= c->n_urls)
			return;
		unwatch(c);
		link_stream_stop(c->l, now_ms);
		c->l->hs_retry_ms = 0;
		if (turl_format(&c->urls[o->url], u, sizeof(u)) < 0)
			snprintf(u, sizeof(u), "?");
		proxy_text(c->cs, via, sizeof(via));
		snprintf(move, sizeof(move), "%s, trying %s%s", fallback_why_name(o->why), u, via);
		say_move(c, move, "");
		c->resolving = o->url;
		int rc = connect_url(c, o->url, now_ms);
		if (rc != -EINPROGRESS)
			c->resolving = -1;
		if (rc < 0 && rc != -EINPROGRESS)
			c->failed_now = true;
		return;
	}
}

void carrier_tick(struct carrier_set *cs, int64_t now_ms)
{
	for (size_t i = 0; cs && i < cs->n; i++) {
		struct carrier *c = &cs->c[i];
		struct link *l = c->l;
		struct fallback_in in = {.now_ms = now_ms};
		struct fallback_out o;

		if (!l)
			continue;
		/* A name answered since the last tick: connect now. */
		if (c->resolving >= 0) {
			int rc = connect_url(c, c->resolving, now_ms);
			if (rc != -EINPROGRESS)
				c->resolving = -1;
			if (rc < 0 && rc != -EINPROGRESS)
				c->failed_now = true;
		}
		in.up = l->state == LINK_UP;
		in.stream_open = l->tc && tconn_state(l->tc) == TCONN_OPEN;
		in.stream_failed = c->failed_now || l->stream_failed;
		in.udp_answered = l->udp_answered;
		l->udp_answered = false;
		c->failed_now = false;
		fallback_step(&c->fb, &in, &o);
		apply(c, &o, now_ms);
	}
}

/*
 * Before the loop sleeps: what each stream link queued during this wake-up is written (one
 * write per stream, link_stream_flush), then each stream socket is in the loop with the
 * interest it has now (output the socket did not take wants EV_WRITE); a new socket joins, a
 * finished one leaves.
 */
static void carrier_sync(struct ev_loop *loop, void *arg)
{
	struct carrier_set *cs = arg;

	for (size_t i = 0; i < cs->n; i++) {
		struct carrier *c = &cs->c[i];
		struct link *l = c->l;
		if (!l)
			continue;
		link_stream_flush(l);
		if (l->stream_failed) {
			unwatch(c);
			link_stream_stop(l, (int64_t)ev_now_ms(loop));
			c->failed_now = true;
			continue;
		}
		int fd = link_stream_fd(l);
		unsigned ev = link_stream_events(l);
		if (fd != c->fd) {
			unwatch(c);
			if (fd < 0)
				continue;
			if (cs->ports)
				portset_release(cs->ports, fd);
			int rc = ev_add_io(loop, fd, ev ? ev : EV_READ, on_stream_io, c);
			if (rc < 0) {
				log_warnx("relay %s: stream socket not watched: %s", c->name,
				          strerror(-rc));
				link_stream_stop(l, (int64_t)ev_now_ms(loop));
				c->failed_now = true;
				continue;
			}
			c->fd = fd;
			c->events = ev ? ev : EV_READ;
		} else if (fd >= 0 && ev && ev != c->events) {
			if (ev_mod_io(loop, fd, ev) == 0)
				c->events = ev;
		}
	}
}
