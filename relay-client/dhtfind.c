/*
 * dhtfind.c: the helper's DHT client (dhtfind.h). The decisions (which days, which
 * destinations, which addresses to ask and which answers to take, when `watch` looks) are
 * pure functions; the rest gives a common/dht.h node two sockets and a timer in an ev loop.
 */
#include "dhtfind.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "cache.h"
#include "cli.h"
#include "conf.h"
#include "dht.h"
#include "dhtio.h"
#include "ev.h"
#include "frame.h"
#include "log.h"
#include "proto.h"
#include "refresh.h"
#include "registry.h"

#define DHTFIND_DAY_S     86400
#define DHTFIND_EDGE_S    3600 /* the first hour of a UTC day (§11.1) */
#define DHTFIND_TICK_MS   250  /* dht_tick wants 100 ms to 1 s */
#define DHTFIND_IDLE_MS   1000 /* between runs the node only answers and keeps its table */
#define DHTFIND_REBOOT_MS 2500 /* bootstrap nodes asked again while none has answered */
#define DHTFIND_RX_BURST  64   /* datagrams read a wake-up: a flood must not hold the loop */

int dhtfind_config_read(const struct conf *conf, struct dhtfind_config *out, char *err,
                        size_t errlen)
{
	const struct conf_entry *e = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!conf)
		return 0;
	rc = conf_get_bool(conf, "Relay", "Dht", &out->on, err, errlen);
	if (rc < 0 && rc != -ENOENT)
		return -EINVAL;
	while ((e = conf_next(conf, "Relay", "DhtBootstrap", e))) {
		const char *why = NULL;

		if (dhtfind_endpoint_check(e->value, true, NULL, &why) < 0) {
			snprintf(err, errlen, "%s:%u: DhtBootstrap: %s '%s'", conf->name, e->line,
			         why, e->value);
			return -EINVAL;
		}
		if (out->n_boot < DHTFIND_MAX_BOOT)
			snprintf(out->boot[out->n_boot++], DHTFIND_EP_LEN, "%s", e->value);
	}
	return 0;
}

int dhtfind_endpoint_check(const char *s, bool allow_loopback, char canon[DHTFIND_EP_LEN],
                           const char **why)
{
	char buf[CLI_EP_LEN];
	struct addr a;
	bool is_name;

	/* A DHT port has no default: HOST:PORT with the port written out. */
	if (!strchr(s, ':') || s[0] == '[') {
		*why = "not HOST:PORT or IPv4:PORT (the DHT is IPv4 only)";
		return -EINVAL;
	}
	if (cli_endpoint_parse(s, allow_loopback, buf, &a, &is_name, why) < 0)
		return -EINVAL;
	if (strlen(s) >= DHTFIND_EP_LEN) {
		*why = "too long";
		return -EINVAL;
	}
	if (!is_name && addr_family(&a) != AF_INET) {
		*why = "not an IPv4 address (the DHT is IPv4 only)";
		return -EINVAL;
	}
	if (canon)
		snprintf(canon, DHTFIND_EP_LEN, "%s", buf);
	return 0;
}

size_t dhtfind_days(int64_t unix_s, int64_t days[2])
{
	days[0] = unix_s / DHTFIND_DAY_S;
	days[1] = days[0] - 1;
	return unix_s % DHTFIND_DAY_S < DHTFIND_EDGE_S ? 2 : 1;
}

bool dhtfind_dest_ok(const struct addr *to, unsigned boot)
{
	unsigned c = addr_classify(to);

	if (addr_family(to) != AF_INET || addr_port(to) == 0 ||
	    (c &
	     (ADDR_UNSPECIFIED | ADDR_MULTICAST | ADDR_BROADCAST | ADDR_LINKLOCAL | ADDR_RESERVED)))
		return false;
	if (c & ADDR_LOOPBACK)
		return boot & ADDR_LOOPBACK;
	if (c & ADDR_PRIVATE)
		return boot & (ADDR_LOOPBACK | ADDR_PRIVATE);
	return true;
}

void dhtfind_asked_run(struct dhtfind_asked *t)
{
	t->run = 0;
}

int dhtfind_asked_take(struct dhtfind_asked *t, const struct addr *a, uint64_t now_ms)
{
	for (size_t i = 0; i < DHTFIND_ASKED; i++)
		if (t->q[i].at_ms && addr_equal(&t->q[i].a, a) &&
		    now_ms - t->q[i].at_ms < DHTFIND_ASK_AGAIN_MS)
			return -EALREADY;
	if (t->run >= DHTFIND_ASK_RUN)
		return -EDQUOT;
	/* The oldest slot goes: with 64 asks a run, 256 slots hold the last four runs at least. */
	t->q[t->next] =
	    (struct dhtfind_ask){.a = *a, .at_ms = now_ms ? now_ms : 1, .pending = true};
	t->next = (t->next + 1) % DHTFIND_ASKED;
	t->run++;
	return 0;
}

bool dhtfind_asked_answer(struct dhtfind_asked *t, const struct addr *from, uint64_t now_ms)
{
	for (size_t i = 0; i < DHTFIND_ASKED; i++) {
		struct dhtfind_ask *q = &t->q[i];

		if (q->at_ms && q->pending && addr_equal(&q->a, from) &&
		    now_ms - q->at_ms < DHTFIND_RESP_MS) {
			q->pending = false; /* one answer an ask: a second is unsolicited */
			return true;
		}
	}
	return false;
}

size_t dhtfind_asked_pending(const struct dhtfind_asked *t, uint64_t now_ms)
{
	size_t n = 0;

	for (size_t i = 0; i < DHTFIND_ASKED; i++)
		n += t->q[i].at_ms && t->q[i].pending && now_ms - t->q[i].at_ms < DHTFIND_RESP_MS;
	return n;
}

bool dhtfind_sched_due(struct dhtfind_sched *s, size_t current, uint64_t now_ms)
{
	if (!s->started) {
		/* Relays that know the network answer DISCOVER: the DHT only when they are few. */
		s->started = true;
		s->next_ms = current < DHTFIND_FEW ? now_ms : now_ms + DHTFIND_EVERY_MS;
	}
	return now_ms >= s->next_ms;
}

void dhtfind_sched_ran(struct dhtfind_sched *s, uint64_t now_ms)
{
	s->started = true;
	s->next_ms = now_ms + DHTFIND_EVERY_MS;
}

const char *dhtfind_summary(const struct dhtfind_stats *s, char *buf, size_t len)
{
	char sum[384];

	if (!s->nodes) {
		snprintf(buf, len,
		         "no DHT node answered (%u datagram(s) out, %u of them not sent, %u in): "
		         "nothing looked up",
		         s->dht_sent, s->dht_unsent, s->dht_received);
		return buf;
	}
	snprintf(buf, len, "%u DHT node(s), %u address(es), %u asked, %u answered: %s", s->nodes,
	         s->addresses, s->asked, s->answered, refresh_summary(&s->stats, sum, sizeof(sum)));
	return buf;
}

enum dhtfind_phase {
	DHTFIND_IDLE,
	DHTFIND_BOOT,    /* joining: no DHT node known yet */
	DHTFIND_LOOKUP,  /* get_peers under way */
	DHTFIND_ANSWERS, /* lookups done: waiting for the last DESC_RESP */
};

struct dhtfind {
	struct ev_loop *loop;
	struct cache *c;
	struct dhtfind_config cfg;
	dhtfind_done_fn done;
	void *arg;
	struct dht *d;
	int dfd, qfd; /* the DHT node's socket; DESC_REQ/DESC_RESP */
	struct ev_timer timer;
	enum dhtfind_phase phase;
	uint64_t start_ms;
	int lookups; /* get_peers in flight (they may outlive a run cut short) */
	char names[DHTFIND_MAX_BOOT][DHTFIND_EP_LEN]; /* DhtBootstrap lines, then the cache's */
	struct addr boot[DHTFIND_MAX_BOOT];
	bool resolved[DHTFIND_MAX_BOOT];
	size_t n_boot, booted; /* names; addresses handed to dht_bootstrap */
	uint64_t boot_ms;      /* when they were last handed over */
	unsigned boot_class;   /* addr_classify of the bootstrap nodes, ORed (dhtfind_dest_ok) */
	struct addr *known;    /* relays with a current descriptor: no DESC_REQ for them */
	size_t n_known;
	struct dhtfind_asked asked;
	struct dhtfind_stats st;
	uint64_t send_refused, send_failed;
	uint64_t tx0, rx0, unsent0; /* the counters when the run started */
};

/* dhtio_dest_fn: dhtfind_dest_ok against the bootstrap nodes' classes. */
static bool dhtfind_dest(const struct addr *to, void *arg)
{
	const struct dhtfind *f = arg;

	return dhtfind_dest_ok(to, f->boot_class);
}

static void dhtfind_flush(struct dhtfind *f)
{
	dhtio_flush(f->d, f->dfd, dhtfind_dest, f, &f->send_refused, &f->send_failed);
}

static void dhtfind_dht_input(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct dhtfind *f = arg;

	(void)events;
	dhtio_input(f->d, fd, ev_now_ms(loop));
	dhtfind_flush(f);
}

static void dhtfind_desc_input(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct dhtfind *f = arg;
	uint8_t pkt[PROTO_DESC_REQ_LEN + 1];

	(void)events;
	for (int i = 0; i < DHTFIND_RX_BURST; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t k =
		    recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
		const uint8_t *dp;
		size_t dl;
		struct addr from;

		if (k < 0)
			break;
		addr_from_sockaddr(&from, (struct sockaddr *)&ss, sl);
		/* Only the address asked, soon, once: anyone else's datagram is nothing to us. */
		if (!dhtfind_asked_answer(&f->asked, &from, ev_now_ms(loop))) {
			f->st.ignored++;
			continue;
		}
		if (frame_decode_desc_resp(pkt, (size_t)k, &dp, &dl) < 0) {
			discover_count(&f->st.stats, DISCOVER_R_INVALID, 0);
			continue;
		}
		f->st.answered++;
		/* Judged as one from a relay, but with no Noise key proven: the DHT vouches for
		 * nothing. */
		registry_take_desc(f->c, "dht", dp, dl, &from, NULL, (uint64_t)time(NULL),
		                   &f->st.stats);
	}
}

static bool dhtfind_is_known(const struct dhtfind *f, const struct addr *a)
{
	for (size_t i = 0; i < f->n_known; i++)
		if (addr_equal(&f->known[i], a))
			return true;
	return false;
}

/* A get_peers answer's addresses: one DESC_REQ each, within the bounds. */
static void dhtfind_ask(struct dhtfind *f, const struct addr *peers, size_t n)
{
	uint8_t req[PROTO_DESC_REQ_LEN];
	uint64_t now = ev_now_ms(f->loop);

	frame_encode_desc_req(req);
	f->st.addresses += (unsigned)n;
	for (size_t i = 0; i < n; i++) {
		if (!dhtfind_dest_ok(&peers[i], f->boot_class)) {
			f->send_refused++;
			continue;
		}
		if (dhtfind_is_known(f, &peers[i]))
			continue;
		if (dhtfind_asked_take(&f->asked, &peers[i], now) < 0) {
			f->st.limited++;
			continue;
		}
		if (sendto(f->qfd, req, sizeof(req), MSG_DONTWAIT, &peers[i].sa, peers[i].len) < 0)
			f->send_failed++;
		else
			f->st.asked++;
	}
}

static void dhtfind_done(void *ctx, const struct dht_result *res)
{
	struct dhtfind *f = ctx;

	f->lookups--;
	if (res->op == DHT_OP_GET_PEERS && res->status == 0 && f->phase == DHTFIND_LOOKUP)
		dhtfind_ask(f, res->peers, res->npeers);
}

/* The relays with a current descriptor: their addresses need no DESC_REQ. */
static void dhtfind_load_known(struct dhtfind *f)
{
	struct cache_relay *r;
	size_t n;
	int64_t now = time(NULL);

	free(f->known);
	f->known = NULL;
	f->n_known = 0;
	if (cache_relay_list(f->c, &r, &n) < 0)
		return;
	if ((f->known = calloc(n ? n : 1, sizeof(*f->known))))
		for (size_t i = 0; i < n; i++)
			if (r[i].has_desc && r[i].expires > now &&
			    addr_parse(&f->known[f->n_known], r[i].endpoint, PROTO_DEFAULT_PORT) ==
			        0)
				f->n_known++;
	free(r);
}

/* The bootstrap nodes: DhtBootstrap lines, then add-dht-bootstrap's, each once. */
static void dhtfind_names(struct dhtfind *f)
{
	char rows[DHTFIND_MAX_BOOT][CACHE_TEXT];
	size_t n = 0;

	f->n_boot = 0;
	for (size_t i = 0; i < f->cfg.n_boot; i++)
		snprintf(f->names[f->n_boot++], DHTFIND_EP_LEN, "%s", f->cfg.boot[i]);
	if (cache_dht_boot_list(f->c, rows, DHTFIND_MAX_BOOT, &n) < 0)
		n = 0;
	for (size_t i = 0; i < n && f->n_boot < DHTFIND_MAX_BOOT; i++) {
		bool dup = false;

		for (size_t j = 0; j < f->n_boot; j++)
			dup |= strcmp(f->names[j], rows[i]) == 0;
		if (!dup)
			snprintf(f->names[f->n_boot++], DHTFIND_EP_LEN, "%s", rows[i]);
	}
	memset(f->resolved, 0, sizeof(f->resolved));
	f->booted = 0;
	if (!f->n_boot)
		log_info("dht: no DHT bootstrap node ([Relay] DhtBootstrap, add-dht-bootstrap): "
		         "the DHT cannot be joined");
}

/*
 * Look the bootstrap nodes up (names in the background); bootstrap from any new ones. False
 * when there is nothing to wait for: every node looked up and none usable.
 */
static bool dhtfind_boot(struct dhtfind *f, uint64_t now)
{
	struct addr got[DHTFIND_MAX_BOOT];
	size_t k = 0;
	bool more = false, waiting = false;

	for (size_t i = 0; i < f->n_boot; i++) {
		const char *why;
		int rc;

		if (f->resolved[i])
			continue;
		rc = cli_resolve(f->names[i], &f->boot[i], &why);
		if (rc == -EINPROGRESS || rc == -EAGAIN) {
			waiting = true;
			continue;
		}
		f->resolved[i] = true;
		if (rc < 0 || addr_family(&f->boot[i]) != AF_INET) {
			log_warnx("dht: DHT bootstrap node %s: %s", f->names[i],
			          rc < 0 ? why : "not an IPv4 address (the DHT is IPv4 only)");
			continue;
		}
		f->boot_class |= addr_classify(&f->boot[i]);
		got[k++] = f->boot[i];
		more = true;
	}
	if (more && dht_bootstrap(f->d, got, k, now) == 0) {
		f->booted += k;
		f->boot_ms = now;
	} else if (f->booted && !dht_node_count(f->d) && now - f->boot_ms >= DHTFIND_REBOOT_MS) {
		/*
		 * Nothing answered yet: ask the bootstrap nodes again, so that one datagram lost
		 * (an interface still coming up, a lossy path) does not end the run unanswered.
		 */
		k = 0;
		for (size_t i = 0; i < f->n_boot; i++)
			if (f->resolved[i] && addr_family(&f->boot[i]) == AF_INET)
				got[k++] = f->boot[i];
		if (k && dht_bootstrap(f->d, got, k, now) == 0)
			f->boot_ms = now;
	}
	return waiting || f->booted > 0;
}

static void dhtfind_end(struct dhtfind *f)
{
	const struct dht_stats *ds = dht_get_stats(f->d);
	char sum[512];

	f->st.dht_sent = (unsigned)(ds->tx - f->tx0);
	f->st.dht_received = (unsigned)(ds->rx - f->rx0);
	f->st.dht_unsent = (unsigned)(f->send_refused + f->send_failed - f->unsent0);
	f->phase = DHTFIND_IDLE;
	log_debug("dht: run ended: %s", dhtfind_summary(&f->st, sum, sizeof(sum)));
	if (f->done)
		f->done(f->arg, &f->st);
}

/* get_peers for today's infohash (and yesterday's early in the day). */
static void dhtfind_lookup(struct dhtfind *f, uint64_t now)
{
	int64_t days[2];
	size_t nd = dhtfind_days(time(NULL), days);
	uint8_t ih[DHT_ID_LEN];

	f->st.nodes = (unsigned)dht_node_count(f->d);
	for (size_t i = 0; i < nd; i++) {
		dht_infohash_day(ih, days[i]);
		if (dht_get_peers(f->d, ih, now, dhtfind_done, f) == 0)
			f->lookups++;
	}
	f->phase = f->lookups ? DHTFIND_LOOKUP : DHTFIND_ANSWERS;
}

static void dhtfind_tick(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct dhtfind *f = arg;
	uint64_t now = ev_now_ms(loop);

	dht_tick(f->d, now);
	if (f->phase != DHTFIND_IDLE && now - f->start_ms >= DHTFIND_RUN_MS) {
		dhtfind_end(f);
	} else if (f->phase == DHTFIND_BOOT) {
		bool hope = dhtfind_boot(f, now);
		if (dht_node_count(f->d) > 0)
			dhtfind_lookup(f, now);
		else if (!hope || now - f->start_ms >= DHTFIND_BOOT_MS)
			dhtfind_end(f); /* no DHT node answered: nothing to look in */
	} else if (f->phase == DHTFIND_LOOKUP && f->lookups <= 0) {
		f->phase = DHTFIND_ANSWERS;
	}
	if (f->phase == DHTFIND_ANSWERS && dhtfind_asked_pending(&f->asked, now) == 0)
		dhtfind_end(f);
	dhtfind_flush(f);
	ev_timer_start(loop, t, f->phase == DHTFIND_IDLE ? DHTFIND_IDLE_MS : DHTFIND_TICK_MS);
}

int dhtfind_new(struct dhtfind **out, struct ev_loop *loop, struct cache *c,
                const struct dhtfind_config *cfg, uint32_t fwmark, dhtfind_done_fn done, void *arg)
{
	struct dhtfind *f = calloc(1, sizeof(*f));
	uint8_t id[DHT_ID_LEN];
	int rc = -ENOMEM;

	if (!f)
		return -ENOMEM;
	f->loop = loop;
	f->c = c;
	f->cfg = *cfg;
	f->done = done;
	f->arg = arg;
	f->dfd = f->qfd = -1;
	/* Random at every start: nothing ties the node to the helper across runs. */
	randombytes_buf(id, sizeof(id));
	if (!(f->d = dht_new(id, NULL)))
		goto fail;
	if ((rc = f->dfd = dhtio_socket(NULL, fwmark)) < 0 ||
	    (rc = f->qfd = dhtio_socket(NULL, fwmark)) < 0)
		goto fail;
	if ((rc = ev_add_io(loop, f->dfd, EV_READ, dhtfind_dht_input, f)) < 0)
		goto fail;
	if ((rc = ev_add_io(loop, f->qfd, EV_READ, dhtfind_desc_input, f)) < 0) {
		ev_del_io(loop, f->dfd);
		goto fail;
	}
	ev_timer_init(&f->timer, dhtfind_tick, f);
	ev_timer_start(loop, &f->timer, DHTFIND_IDLE_MS);
	*out = f;
	return 0;
fail:
	if (f->dfd >= 0)
		close(f->dfd);
	if (f->qfd >= 0)
		close(f->qfd);
	dht_free(f->d);
	free(f);
	return rc;
}

void dhtfind_free(struct dhtfind *f)
{
	if (!f)
		return;
	ev_timer_stop(f->loop, &f->timer);
	ev_del_io(f->loop, f->dfd);
	ev_del_io(f->loop, f->qfd);
	close(f->dfd);
	close(f->qfd);
	dht_free(f->d); /* pending lookups end without their callbacks */
	free(f->known);
	free(f);
}

bool dhtfind_busy(const struct dhtfind *f)
{
	return f->phase != DHTFIND_IDLE || f->lookups > 0;
}

int dhtfind_start(struct dhtfind *f)
{
	uint64_t now = ev_now_ms(f->loop);

	if (dhtfind_busy(f))
		return -EBUSY;
	memset(&f->st, 0, sizeof(f->st));
	f->tx0 = dht_get_stats(f->d)->tx;
	f->rx0 = dht_get_stats(f->d)->rx;
	f->unsent0 = f->send_refused + f->send_failed;
	dhtfind_asked_run(&f->asked);
	dhtfind_load_known(f);
	f->start_ms = now;
	f->phase = DHTFIND_BOOT;
	/* A node that knows no other joins (again): the nodes are read and looked up afresh. */
	if (dht_node_count(f->d) == 0)
		dhtfind_names(f);
	ev_timer_start(f->loop, &f->timer, 0);
	return 0;
}

struct dhtfind_once_ctx {
	struct ev_loop *loop;
	struct dhtfind_stats *out;
};

static void dhtfind_once_done(void *arg, const struct dhtfind_stats *st)
{
	struct dhtfind_once_ctx *o = arg;

	*o->out = *st;
	ev_stop(o->loop);
}

int dhtfind_once(struct cache *c, const struct dhtfind_config *cfg, uint32_t fwmark,
                 struct dhtfind_stats *out)
{
	struct dhtfind_once_ctx o = {.out = out};
	struct dhtfind *f = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = ev_new(&o.loop)) < 0)
		return rc;
	if ((rc = dhtfind_new(&f, o.loop, c, cfg, fwmark, dhtfind_once_done, &o)) == 0 &&
	    (rc = dhtfind_start(f)) == 0)
		rc = ev_run(o.loop);
	dhtfind_free(f);
	ev_free(o.loop);
	return rc < 0 ? rc : 0;
}
