/*
 * watch.c: `wgrelay watch`, the helper daemon. One ev loop (common/ev.h) over the relay links,
 * the sealed mode local ports and the rtnetlink link watcher; a 1 s tick reads the watched
 * WireGuard devices and lets steer.c decide; every 10 s (and on SIGHUP) relays, settings and
 * interfaces are read again, and which relays are linked is chosen again when what that depends
 * on changed (steer_linkset, linkset.h); every 10 min (and at start, and a minute before a
 * linked relay's descriptor expires) a few linked relays are asked which relays they know
 * (refresh.h), and what passes is cached for the next reload. SIGTERM and
 * SIGINT stop it as for a restart: relayed peers stay on their relays for the next run to
 * adopt. SIGUSR1, or --restore-on-exit, leaves clean: every peer back on its direct endpoint,
 * the relays told we are gone.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "carrier.h"
#include "cli.h"
#include "conf.h"
#include "dhtfind.h"
#include "ev.h"
#include "geoip.h"
#include "ifconf.h"
#include "key.h"
#include "linkset.h"
#include "lockfile.h"
#include "log.h"
#include "portset.h"
#include "proto.h"
#include "refresh.h"
#include "registry.h"
#include "sealed.h"
#include "selfaddr.h"
#include "steer.h"
#include "token.h"
#include "turl.h"
#include "version.h"
#include "wg.h"

#define MAX_IFACES    32
#define WATCH_TICK_MS 1000
/* Circuits' heartbeats are 1 s apart and 3 s of silence ends one: their timers run 4x a second. */
#define WATCH_CIRC_MS   250
#define WATCH_RELOAD_MS 10000
/* At start, host names of relays are waited for this long; later they join at a reload. */
#define WATCH_RESOLVE_MS 2000

/* systemd Type=notify: one datagram to $NOTIFY_SOCKET ('@' = abstract namespace). */
static void sd_notify_ready(void)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	if (!path || !*path || strlen(path) >= sizeof(sun.sun_path))
		return;
	memcpy(sun.sun_path, path, strlen(path));
	if (sun.sun_path[0] == '@')
		sun.sun_path[0] = '\0';
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	socklen_t len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
	if (sendto(fd, "READY=1", 7, 0, (struct sockaddr *)&sun, len) < 0)
		log_warn("sd_notify");
	close(fd);
}

struct watch {
	struct steer_ctx s;
	struct steer_iface ifaces[MAX_IFACES];
	size_t n_ifaces;
	char **named; /* interfaces given on the command line, or NULL: all enabled */
	int n_named;
	uint8_t identity[32];
	uint32_t fwmark;         /* what the links carry (follow_fwmark) */
	char fwmark_others[128]; /* the interfaces last warned about, "" none */
	bool relays_loaded;
	bool restore;    /* leave clean: --restore-on-exit or SIGUSR1 */
	bool reload_due; /* the next tick reads relays, settings and interfaces again */
	int stop_signal; /* what stopped the loop, 0 none */
	int lock_fd;     /* <db>.lock, held while we run; -1 none (":memory:") */
	struct cache_helper helper;
	struct ev_loop *loop;
	struct ev_timer tick, reload;
	struct ev_timer circ; /* circuits' timers between ticks (WATCH_CIRC_MS) */
	struct wg_linkwatch *lw;
	struct portset *ports;        /* the sealed ports in the loop */
	struct turl_proxy proxy;      /* [Relay] Proxy: stream carriers go through it */
	struct carrier_set *carriers; /* UDP or a stream under each link (carrier.h) */
	struct sealed_port **cur;     /* scratch for steer_ports */
	size_t cap_cur;
	struct refresh_sched disc;      /* discovery through the linked relays */
	struct dhtfind_config dht_cfg;  /* [Relay] Dht, DhtBootstrap */
	struct dhtfind *dht;            /* NULL: the DHT is off */
	struct dhtfind_sched dht_sched; /* at start when few relays are known, then every 30 min */
	/* linked relays whose descriptor expired or went: not ticked, not in the loop */
	bool retired[STEER_MAX_RELAYS];
	bool dropped[STEER_MAX_RELAYS]; /* ... retired because the link set left them out */
	/* the relays to link to (steer_linkset): their keys, chosen again when the digest moves */
	uint64_t linkset_digest;
	bool linkset_ok;
	char linkset[STEER_MAX_RELAYS][CACHE_TEXT];
	uint8_t linkset_why[STEER_MAX_RELAYS];
	size_t n_linkset;
};

/*
 * The relay's token credential source (add-bootstrap-relay --token-*), read at every reload:
 * a new or changed one starts afresh, a removed one goes; a read error keeps what is there.
 */
static void load_token(struct watch *w, struct steer_relay *sr)
{
	struct link *l = sr->link;
	struct cache_token t;
	int rc = cache_token_get(w->s.cache, sr->info.pubkey, &t);

	if (rc == -ENOENT && l->token) {
		log_info("relay %s: token credential removed", sr->info.endpoint);
		token_free(l->token);
		l->token = NULL;
	} else if (rc == 0 && (!l->token || !token_same_source(l->token, &t))) {
		struct token_state *ts = token_new(&t, sr->info.endpoint);
		if (ts) {
			int e = token_source_check(&t);
			if (e < 0)
				log_warnx("relay %s: token credential: %s", sr->info.endpoint,
				          token_strerror(e));
			log_debug("relay %s: token from %s", sr->info.endpoint,
			          t.command[0] ? "a command" : "the shared secret");
			token_free(l->token);
			l->token = ts;
		}
	}
	sodium_memzero(&t, sizeof(t));
}

static void on_link_readable(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)fd;
	(void)events;
	link_readable(arg, (int64_t)ev_now_ms(loop));
}

static void on_link_ctrl(struct link *l, const uint8_t *msg, size_t len, int64_t now_ms)
{
	struct watch *w = l->ctrl_arg;
	size_t i = 0;

	while (i < w->s.n_relays && w->s.relays[i].link != l)
		i++;
	/* A run that ended with news: the next tick reloads the relays. */
	if (refresh_sched_input(&w->disc, &w->s, i, msg, len, now_ms))
		w->reload_due = true;
}

/* A cell a link opened: to the circuits of the interface's peer it belongs to. */
static void on_link_cell(struct link *l, struct cell *c, int64_t now_ms)
{
	struct watch *w = l->cell_arg;

	for (size_t i = 0; i < w->n_ifaces; i++)
		if (w->ifaces[i].circ_on && steer_circ_cell(&w->ifaces[i], l, c, now_ms))
			return;
}

/* Link l stops (freed, or idle): circuits through it are lost. */
static void circ_link_gone(struct watch *w, const struct link *l)
{
	for (size_t i = 0; i < w->n_ifaces; i++)
		if (w->ifaces[i].circ_on)
			steer_circ_link_gone(&w->ifaces[i], l, (int64_t)ev_now_ms(w->loop));
}

/* A link's socket joins the loop (its fd number may be that of a port closed since a sync). */
static int add_link_io(struct watch *w, struct link *l)
{
	portset_release(w->ports, l->fd);
	return ev_add_io(w->loop, l->fd, EV_READ, on_link_readable, l);
}

/*
 * steer.c opens and closes the sealed ports inside the tick, so right after it the loop is
 * made to match steer_ports(); no handler runs in between.
 */
static void sync_ports(struct watch *w)
{
	size_t want = 0, k = 0;

	for (size_t i = 0; i < w->n_ifaces; i++)
		want += w->ifaces[i].n_peers; /* at most one port per peer */
	if (want > w->cap_cur) {
		struct sealed_port **c = realloc(w->cur, want * sizeof(*c));
		if (c) {
			w->cur = c;
			w->cap_cur = want;
		} /* else: keep what fits; the rest waits for memory */
	}
	for (size_t i = 0; i < w->n_ifaces; i++)
		k += steer_ports(&w->ifaces[i], w->cur + k, w->cap_cur - k);
	portset_sync(w->ports, w->cur, k);
}

/*
 * Slot i of the table takes another relay: its idle link goes, and every peer forgets what it
 * kept per slot (sid, refusal, a pending PEER_ACTIVE), so nothing of the old relay carries
 * over. Only for a retired slot nothing is bound on (steer_relay_busy).
 */
static void vacate(struct watch *w, size_t i)
{
	carrier_detach(w->carriers, i, false, (int64_t)ev_now_ms(w->loop));
	circ_link_gone(w, w->s.relays[i].link);
	link_free(w->s.relays[i].link);
	memset(&w->s.relays[i], 0, sizeof(w->s.relays[i]));
	for (size_t f = 0; f < w->n_ifaces; f++)
		for (size_t j = 0; j < w->ifaces[f].n_peers; j++) {
			struct steer_peer *p = &w->ifaces[f].peers[j];
			p->sid_ok = false; /* the next read derives them again */
			p->refused_until[i] = 0;
			p->rank.at = 0;
			if (p->pp.active_relay == (int)i)
				p->pp.active_at = 0;
		}
}

/*
 * A relay of the cache that resolved: a link, in the loop, with its token credential, in slot
 * (the table's end, or a slot vacated for it).
 */
static void add_relay(struct watch *w, struct registry_entry *e, size_t slot)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(600000);
	struct steer_relay *sr = &w->s.relays[slot];
	struct link *l;
	uint8_t pub[32];

	/* A host name still being looked up joins at a later reload. */
	if (key_from_base64(pub, e->info.pubkey) < 0 || e->pending)
		return;
	if (!e->addr.len) {
		log_warnx_rl(&rl, "relay %s: %s", e->info.endpoint, e->why ? e->why : "?");
		return;
	}
	if (link_new(&l, pub, &e->addr, w->identity, w->fwmark) < 0) {
		log_warnx("relay %s: no socket", e->info.endpoint);
		return;
	}
	if (add_link_io(w, l) < 0) {
		log_warnx("relay %s: socket not watched", e->info.endpoint);
		link_close(l);
		return;
	}
	if (slot < w->s.n_relays)
		vacate(w, slot);
	memcpy(sr->pub, pub, 32);
	registry_locate(e, w->s.geoip);
	sr->info = e->info;
	sr->link = l;
	sr->link->on_data = sealed_deliver;
	sr->link->on_data_end = sealed_flush;
	sr->link->on_ctrl = on_link_ctrl;
	sr->link->ctrl_arg = w;
	sr->link->on_cell = on_link_cell;
	sr->link->cell_arg = w;
	refresh_sched_reset(&w->disc, slot);
	w->retired[slot] = w->dropped[slot] = false;
	carrier_attach(w->carriers, slot, l, &e->info, (int64_t)ev_now_ms(w->loop));
	load_token(w, sr);
	/* At start the count is in "helper running"; later, a new relay is news. */
	if (w->relays_loaded)
		log_info("relay %s (%.8s...) added", e->info.endpoint, e->info.pubkey);
	else
		log_debug("relay %s (%.8s...) added", e->info.endpoint, e->info.pubkey);
	if (slot == w->s.n_relays)
		w->s.n_relays++;
}

static struct steer_relay *find_relay(struct watch *w, const char *pubkey)
{
	for (size_t j = 0; j < w->s.n_relays; j++)
		if (strcmp(w->s.relays[j].info.pubkey, pubkey) == 0)
			return &w->s.relays[j];
	return NULL;
}

/*
 * A linked relay that only its descriptor vouched for, whose descriptor expired or left the
 * cache: its link stops (no more handshakes or PINGs, out of the loop), so it is unreachable to
 * steer.c and a peer on it fails over as from a relay that went away. The relay table keeps
 * its place (peers index it); a fresh descriptor brings the link back.
 */
static void retire(struct watch *w, size_t i, bool gone, bool dropped)
{
	struct steer_relay *sr = &w->s.relays[i];
	struct link *l = sr->link;
	bool was_dropped = w->dropped[i];

	w->dropped[i] = gone && dropped;
	if (gone == w->retired[i])
		return;
	w->retired[i] = gone;
	if (gone) {
		if (dropped)
			log_info("relay %s (%.8s...): not among the relays the peers rank best any "
			         "more, nothing bound on it: link idle",
			         sr->info.endpoint, sr->info.pubkey);
		else
			log_info("relay %s (%.8s...): no current descriptor any more: not used",
			         sr->info.endpoint, sr->info.pubkey);
		ev_del_io(w->loop, l->fd);
		carrier_detach(w->carriers, i, true, (int64_t)ev_now_ms(w->loop));
		circ_link_gone(w, l);
		l->state = LINK_DOWN;
		l->rtt_ms = -1;
		l->hs_sent_ms = 0;
		refresh_sched_reset(&w->disc, i); /* a run under way ends unreported */
	} else {
		log_info("relay %s (%.8s...): %s: used", sr->info.endpoint, sr->info.pubkey,
		         was_dropped ? "among the relays chosen again"
		                     : "current descriptor again");
		if (add_link_io(w, l) < 0)
			log_warnx("relay %s: socket not watched", sr->info.endpoint);
		carrier_attach(w->carriers, i, l, &sr->info, (int64_t)ev_now_ms(w->loop));
	}
}

static bool iface_active(const struct watch *w, const struct steer_iface *ifc);

/* The interfaces whose peers count: into out (MAX_IFACES); how many. all: every one. */
static size_t iface_list(struct watch *w, bool all, struct steer_iface **out)
{
	size_t k = 0;

	for (size_t i = 0; i < w->n_ifaces; i++)
		if (all || (w->ifaces[i].present && iface_active(w, &w->ifaces[i])))
			out[k++] = &w->ifaces[i];
	return k;
}

/* Why the link set holds the relay of key b64 (LINKSET_OUT: it does not). */
static uint8_t linkset_has(const struct watch *w, const char *b64)
{
	for (size_t i = 0; i < w->n_linkset; i++)
		if (strcmp(w->linkset[i], b64) == 0)
			return w->linkset_why[i];
	return LINKSET_OUT;
}

/*
 * The relays to link to (steer_linkset, PROTOCOL.md §10.7) among the entries, into why[0..n):
 * chosen again only when what the choice depends on changed (a relay came, went or moved, a
 * peer came, ours or a peer's location moved), else the last choice. Without any (no memory)
 * the cache's order, as before there was a choice.
 */
static void choose_links(struct watch *w, struct registry_entry *e, size_t n, uint8_t *why)
{
	struct steer_iface *ifcs[MAX_IFACES];
	size_t k = iface_list(w, false, ifcs), m;
	uint64_t d = steer_linkset_digest(&w->s, ifcs, k, e, n);

	if (!w->linkset_ok || d != w->linkset_digest) {
		if (steer_linkset(&w->s, ifcs, k, e, n, w->retired, why, &m) == 0) {
			unsigned by[LINKSET_FILL + 1] = {0};
			w->linkset_digest = d;
			w->linkset_ok = true;
			w->n_linkset = 0;
			for (size_t i = 0; i < n && w->n_linkset < STEER_MAX_RELAYS; i++) {
				if (!why[i])
					continue;
				by[why[i]]++;
				memcpy(w->linkset[w->n_linkset], e[i].info.pubkey, CACHE_TEXT);
				w->linkset_why[w->n_linkset++] = why[i];
			}
			log_debug(
			    "link set: %zu of %zu relays known (%u in use, %u top, %u bootstrap, "
			    "%u next, %u kept, %u fill) for %zu interface(s)",
			    m, n, by[LINKSET_IN_USE], by[LINKSET_TOP], by[LINKSET_BOOTSTRAP],
			    by[LINKSET_NEXT], by[LINKSET_KEPT], by[LINKSET_FILL], k);
		}
	}
	for (size_t i = 0; i < n; i++)
		why[i] = w->linkset_ok ? linkset_has(w, e[i].info.pubkey) : LINKSET_FILL;
}

/* A slot for a relay to link to: the table's end, else a retired one nothing is bound on. */
static size_t free_slot(struct watch *w)
{
	struct steer_iface *ifcs[MAX_IFACES];
	size_t k = iface_list(w, true, ifcs);

	if (w->s.n_relays < STEER_MAX_RELAYS)
		return w->s.n_relays;
	for (size_t i = 0; i < w->s.n_relays; i++)
		if (w->retired[i] && !steer_relay_busy(&w->s, ifcs, k, i))
			return i;
	return SIZE_MAX;
}

/* What the cache says of a linked relay now: its source and descriptor. */
static void take_row(struct cache_relay *to, const struct cache_relay *from)
{
	snprintf(to->source, sizeof(to->source), "%s", from->source);
	to->has_desc = from->has_desc;
	memcpy(to->identity, from->identity, sizeof(to->identity));
	to->seq = from->seq;
	to->issued = from->issued;
	to->expires = from->expires;
	memcpy(to->urls, from->urls, sizeof(to->urls));
	memcpy(to->desc_urls, from->desc_urls, sizeof(to->desc_urls));
}

/*
 * Reload relays from the cache; links of known relays are kept, their tokens read again. The
 * link set decides which relays are linked: one that leaves it idles once nothing is bound on
 * it, and its slot goes to a relay that joined.
 */
static void load_relays(struct watch *w)
{
	struct steer_iface *ifcs[MAX_IFACES];
	struct registry_entry *e;
	size_t n, k = iface_list(w, true, ifcs);
	bool listed[STEER_MAX_RELAYS] = {0};
	uint8_t *why;

	if (registry_load(w->s.cache, &e, &n) < 0)
		return;
	if (!(why = calloc(n ? n : 1, 1))) {
		free(e);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		struct steer_relay *sr = find_relay(w, e[i].info.pubkey);
		if (sr) {
			load_token(w, sr);
			listed[sr - w->s.relays] = true;
			take_row(&sr->info, &e[i].info);
			carrier_update(w->carriers, (size_t)(sr - w->s.relays), &sr->info);
		}
		/* Every relay not linked is located, so ranked: IPs at once, names looked up. */
		e[i].lookup = !sr;
	}
	registry_resolve(e, n, w->relays_loaded ? 0 : WATCH_RESOLVE_MS);
	for (size_t i = 0; i < w->n_ifaces; i++)
		if (w->ifaces[i].cfg.hops) {
			steer_circ_view(&w->s, e, n, time(NULL));
			break;
		}
	choose_links(w, e, n, why);
	for (size_t i = 0; i < w->s.n_relays; i++) {
		const struct cache_relay *r = &w->s.relays[i].info;
		bool expired = !listed[i] && cache_source_discovered(r->source);
		bool out = !linkset_has(w, r->pubkey) && !steer_relay_busy(&w->s, ifcs, k, i);
		retire(w, i, expired || (w->linkset_ok && out), !expired);
	}
	/* The relays chosen and not linked yet, by priority, while there are slots. */
	for (int level = LINKSET_IN_USE; level <= LINKSET_FILL; level++)
		for (size_t i = 0; i < n; i++) {
			size_t slot;
			if (why[i] != level || find_relay(w, e[i].info.pubkey))
				continue;
			if ((slot = free_slot(w)) == SIZE_MAX)
				goto out;
			add_relay(w, &e[i], slot);
		}
out:
	free(why);
	free(e);
}

/*
 * Share what the links learned with `list-relays --no-probe` and `status`: into the rows that
 * are still there (a relay removed or expired meanwhile is not written back).
 */
static void publish_relays(struct watch *w, int64_t now)
{
	for (size_t i = 0; i < w->s.n_relays; i++) {
		struct steer_relay *r = &w->s.relays[i];
		char was[sizeof(r->info.transport)];
		/* The carrier when it changed (status shows it); "" once the link idles. */
		snprintf(was, sizeof(was), "%s", r->info.transport);
		carrier_describe(w->carriers, i, r->info.transport, sizeof(r->info.transport));
		if (strcmp(was, r->info.transport) != 0)
			cache_relay_set_transport(w->s.cache, r->info.pubkey, r->info.transport);
		if (w->retired[i])
			continue;
		registry_link_merge(&r->info, r->link, now);
		cache_relay_seen(w->s.cache, &r->info);
	}
}

/* Relays in use whose descriptor is current: the DHT is asked at start when they are few. */
static size_t current_relays(const struct watch *w, int64_t now)
{
	size_t n = 0;

	for (size_t i = 0; i < w->s.n_relays; i++)
		n += !w->retired[i] && w->s.relays[i].info.has_desc &&
		     w->s.relays[i].info.expires > now;
	return n;
}

/* A DHT run ended: what it stored is taken up by the next reload. */
static void on_dht_done(void *arg, const struct dhtfind_stats *st)
{
	struct watch *w = arg;
	char sum[512];

	dhtfind_summary(st, sum, sizeof(sum));
	if (st->stats.verdicts[DISCOVER_NEW] || st->stats.verdicts[DISCOVER_UPDATED]) {
		log_info("discovery via the DHT: %s", sum);
		w->reload_due = true;
	} else {
		log_debug("discovery via the DHT: %s", sum);
	}
}

/* Watched now: named on the command line, or enabled with configure-relay. */
static bool iface_active(const struct watch *w, const struct steer_iface *ifc)
{
	return w->n_named || ifc->cfg.enabled;
}

/*
 * Relay traffic must bypass a full tunnel (wg-quick routes everything without the device's
 * fwmark into it) as WireGuard's own does. The mark follows the devices as read: a tunnel that
 * comes up after the helper started, or changes its mark, is followed. Links take it at once
 * (a no-op when unchanged).
 */
static void follow_fwmark(struct watch *w)
{
	static struct log_ratelimit rl = LOG_RATELIMIT_INIT(600000);
	struct registry_mark m[MAX_IFACES];
	char others[sizeof(w->fwmark_others)];
	size_t n = 0, chosen;

	for (size_t i = 0; i < w->n_ifaces; i++)
		if (w->ifaces[i].present && iface_active(w, &w->ifaces[i]))
			m[n++] = (struct registry_mark){w->ifaces[i].name, w->ifaces[i].fwmark};
	uint32_t mark = registry_fwmark(m, n, &chosen, others, sizeof(others));
	if (mark != w->fwmark) {
		if (mark)
			log_info("relay traffic now carries fwmark 0x%x, %s's (was 0x%x)", mark,
			         m[chosen].name, w->fwmark);
		else
			log_info("relay traffic carries no fwmark now (was 0x%x)", w->fwmark);
		w->fwmark = mark;
	}
	if (others[0] && strcmp(others, w->fwmark_others) != 0)
		log_warnx("relay traffic carries %s's fwmark 0x%x: the full tunnels of %s, with "
		          "other marks, may capture it",
		          m[chosen].name, mark, others);
	snprintf(w->fwmark_others, sizeof(w->fwmark_others), "%s", others);
	for (size_t i = 0; i < w->s.n_relays; i++) {
		int rc = link_set_fwmark(w->s.relays[i].link, mark);
		if (rc < 0)
			log_warnx_rl(&rl, "relay %s: fwmark 0x%x: %s", w->s.relays[i].info.endpoint,
			             mark, strerror(-rc));
	}
}

/*
 * Our public address (its GeoIP location orders the relays): what the majority of the relay
 * links that are up saw in their authenticated handshake responses, never one relay's word
 * (selfaddr.h). Re-decided every tick, logged when it changes.
 */
static void update_self(struct watch *w)
{
	struct addr obs[STEER_MAX_RELAYS];
	size_t n = 0;
	char was[ADDR_STRLEN], now[ADDR_STRLEN];

	for (size_t i = 0; i < w->s.n_relays && n < STEER_MAX_RELAYS; i++) {
		const struct link *l = w->s.relays[i].link;
		/* A stream's relay sees our TCP source, or a proxy's: no vote on our address. */
		if (l->state == LINK_UP && l->observed.len && !l->tc)
			obs[n++] = l->observed;
	}
	struct selfaddr_vote v =
	    selfaddr_decide(obs, n, w->s.self_known ? &w->s.self_public : NULL);
	if (v.known && (!w->s.self_known || !addr_equal_ip(&v.addr, &w->s.self_public))) {
		if (w->s.self_known)
			log_info("public address %s (was %s), as %zu of %zu relays see it",
			         addr_format_ip(&v.addr, now, sizeof(now)),
			         addr_format_ip(&w->s.self_public, was, sizeof(was)), v.votes,
			         v.total);
		else
			log_info("public address %s, as %zu of %zu relays see it",
			         addr_format_ip(&v.addr, now, sizeof(now)), v.votes, v.total);
	} else if (!v.known && w->s.self_known) {
		log_warnx(
		    "public address unknown: no majority of the %zu relays agrees on one (was "
		    "%s); ranking relays without our location",
		    v.total, addr_format_ip(&w->s.self_public, was, sizeof(was)));
	}
	w->s.self_known = v.known;
	if (v.known)
		w->s.self_public = v.addr;
}

/*
 * What `status` and `doctor` read about the helper itself: its pid (0 after it stopped), its
 * last tick, its public key, our public address and the GeoIP file in use.
 */
static void publish_helper(struct watch *w, int64_t now, bool running)
{
	struct cache_helper *h = &w->helper;

	h->pid = running ? (int64_t)getpid() : 0;
	h->tick = now;
	h->public_addr[0] = '\0';
	if (w->s.self_known)
		addr_format_ip(&w->s.self_public, h->public_addr, sizeof(h->public_addr));
	cache_helper_set(w->s.cache, h);
}

static bool wanted(struct watch *w, const char *name)
{
	struct cache_iface cfg;
	if (w->n_named) {
		for (int i = 0; i < w->n_named; i++)
			if (strcmp(w->named[i], name) == 0)
				return true;
		return false;
	}
	return cache_iface_get(w->s.cache, name, &cfg) == 0 && cfg.enabled;
}

/* DESC_MODE_* of the interfaces watched now. */
static uint8_t watched_modes(const struct watch *w)
{
	uint8_t modes = 0;

	for (size_t i = 0; i < w->n_ifaces; i++)
		if (w->ifaces[i].present && iface_active(w, &w->ifaces[i]))
			modes |= (uint8_t)(1u << steer_mode(&w->ifaces[i]));
	return modes;
}

/* What is worth a warning about an interface's settings when it is first watched. */
static void check_iface(const struct steer_iface *ifc)
{
	if (steer_mode(ifc) == PROTO_MODE_SEALED && ifc->cfg.mtu >= 0) {
		unsigned mtu = ifc->cfg.mtu > 0 ? (unsigned)ifc->cfg.mtu : 0;
		if (!mtu)
			wg_get_mtu(ifc->name, &mtu);
		if (mtu > STEER_SEALED_MTU)
			log_warnx("%s: MTU %u: sealed mode adds %d bytes per packet, so relayed "
			          "packets may be fragmented or lost; use --mtu auto or at most %d",
			          ifc->name, mtu, PROTO_SEALED_OVERHEAD, STEER_SEALED_MTU);
	}
	if (ifconf_saveconfig(ifc->name) == 1)
		log_warnx("%s: SaveConfig = true in %s/%s.conf: wg-quick would write relay "
		          "endpoints into it on shutdown; set it to false",
		          ifc->name, ifconf_dir(), ifc->name);
}

static void add_iface(struct watch *w, const char *name, int64_t now)
{
	for (size_t i = 0; i < w->n_ifaces; i++)
		if (strcmp(w->ifaces[i].name, name) == 0)
			return;
	if (w->n_ifaces == MAX_IFACES || !ifconf_name_ok(name) || !wanted(w, name))
		return;
	struct steer_iface *ifc = &w->ifaces[w->n_ifaces];
	memset(ifc, 0, sizeof(*ifc));
	snprintf(ifc->name, sizeof(ifc->name), "%s", name);
	cache_iface_get(w->s.cache, name, &ifc->cfg);
	if (steer_read(&w->s, ifc, now) < 0) {
		steer_iface_clear(ifc);
		return;
	}
	w->n_ifaces++;
	log_info("%s: watching (%s mode, threshold %u attempts, prebind %u)", name, ifc->cfg.mode,
	         ifc->cfg.threshold_windows, ifc->cfg.prebind);
	check_iface(ifc);
	follow_fwmark(w);
	/*
	 * A fixed value is applied here. "auto" leaves the MTU alone in direct mode (no bytes
	 * added); in sealed mode steer_sealed lowers it while a peer is relayed sealed.
	 */
	if (ifc->cfg.mtu > 0) {
		int rc = wg_set_mtu(name, (unsigned)ifc->cfg.mtu);
		if (rc < 0)
			log_warnx("%s: set MTU %d: %s", name, ifc->cfg.mtu, strerror(-rc));
	}
	/* Adoption needs the relay table; the first scan runs before it is loaded. */
	if (w->relays_loaded) {
		steer_adopt(&w->s, ifc, now);
		steer_publish(&w->s, ifc, now, true);
	}
}

static void scan_ifaces(struct watch *w, int64_t now)
{
	char **names;
	size_t n;
	if (wg_list_devices(&names, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		add_iface(w, names[i], now);
	wg_free_names(names);
}

static void on_wg_link(enum wg_link_event ev, const struct wg_link_info *info, void *arg)
{
	struct watch *w = arg;
	if (ev == WG_LINK_ADDED) {
		add_iface(w, info->name, time(NULL));
		sync_ports(w); /* adoption may have opened sealed ports */
	}
}

static void on_linkwatch(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	(void)loop;
	(void)fd;
	(void)events;
	wg_linkwatch_process(arg);
}

/* One interface's second: read the device, then steer.c's steps in their order. */
static void tick_iface(struct watch *w, struct steer_iface *ifc, int64_t now, bool slow)
{
	if (slow)
		cache_iface_get(w->s.cache, ifc->name, &ifc->cfg);
	if (!iface_active(w, ifc)) {
		steer_restore(&w->s, ifc);
		steer_publish(&w->s, ifc, now, false);
		return;
	}
	size_t had = ifc->n_peers;
	int rc = steer_read(&w->s, ifc, now);
	follow_fwmark(w); /* steer_read refreshed (or, gone, cleared) the device's mark */
	if (rc < 0)
		return;
	/* A new peer: its ranking joins the link set at the next tick's reload. */
	if (ifc->n_peers != had)
		w->reload_due = true;
	if (ifc->cfg.hops) {
		if (!ifc->circ_on)
			steer_circ_begin(&w->s, ifc);
		steer_circ(&w->s, ifc, now);
		steer_publish(&w->s, ifc, now, slow);
		return;
	}
	if (ifc->circ_on) {
		steer_circ_stop(&w->s, ifc, true);
		ifc->circ_on = false;
	}
	steer_prebind(&w->s, ifc, now);
	steer_judge(&w->s, ifc, now);
	steer_sealed(&w->s, ifc, now);
	steer_publish(&w->s, ifc, now, slow);
}

static void on_tick(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct watch *w = arg;
	int64_t ms = (int64_t)ev_now_ms(loop), now = time(NULL);
	bool slow = w->reload_due;

	ev_timer_start(loop, t, WATCH_TICK_MS);
	for (size_t i = 0; i < w->s.n_relays; i++)
		if (!w->retired[i])
			link_tick(w->s.relays[i].link, ms);
	carrier_tick(w->carriers, ms);
	update_self(w);
	publish_helper(w, now, true);
	w->reload_due = false;
	/* A run that ended with news: the next tick reloads the relays. */
	if (refresh_sched_tick(&w->disc, &w->s, w->retired, watched_modes(w), ms))
		w->reload_due = true;
	if (w->dht && !dhtfind_busy(w->dht) &&
	    dhtfind_sched_due(&w->dht_sched, current_relays(w, now), (uint64_t)ms) &&
	    dhtfind_start(w->dht) == 0)
		dhtfind_sched_ran(&w->dht_sched, (uint64_t)ms);
	if (slow) {
		publish_relays(w, now);
		load_relays(w);
		scan_ifaces(w, now);
	}
	for (size_t i = 0; i < w->n_ifaces; i++)
		tick_iface(w, &w->ifaces[i], now, slow);
	sync_ports(w);
	/* New circuit guards: linked at the next tick, not at the next reload. */
	if (w->s.guards_changed) {
		w->s.guards_changed = false;
		w->reload_due = true;
	}
}

/* Between ticks: the circuits' timers (heartbeats, deaths, steps) of every interface on them. */
static void on_circ(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct watch *w = arg;
	bool any = false;

	ev_timer_start(loop, t, WATCH_CIRC_MS);
	for (size_t i = 0; i < w->n_ifaces; i++)
		if (w->ifaces[i].circ_on && iface_active(w, &w->ifaces[i])) {
			steer_circ(&w->s, &w->ifaces[i], time(NULL));
			any = true;
		}
	if (any) /* steer_circ may have opened or closed a port */
		sync_ports(w);
}

/* The slow reload is done by the next tick, in its place among the tick's steps. */
static void on_reload(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct watch *w = arg;

	w->reload_due = true;
	ev_timer_start(loop, t, WATCH_RELOAD_MS);
}

static const char *signal_name(int signo)
{
	return signo == SIGTERM   ? "SIGTERM"
	       : signo == SIGINT  ? "SIGINT"
	       : signo == SIGUSR1 ? "SIGUSR1"
	                          : "signal";
}

/* Handlers only set what the loop acts on (ev.h runs them from the loop, not the handler). */
static void on_signal(struct ev_loop *loop, int signo, void *arg)
{
	struct watch *w = arg;

	if (signo == SIGHUP) {
		log_info("SIGHUP: reading relays, interface settings and interfaces again");
		w->reload_due = true;
		ev_timer_start(loop, &w->reload, WATCH_RELOAD_MS);
		return;
	}
	/* Leaving clean, once asked for, is not undone by a SIGTERM that follows. */
	if (signo == SIGUSR1)
		w->restore = true;
	w->stop_signal = signo;
	ev_stop(loop);
}

/*
 * The loop's sources: signals first (a SIGTERM during the start-up waits for the loop), then
 * timers; links and the link watcher join as they are made.
 */
static int watch_loop_new(struct watch *w)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	int rc = ev_new(&w->loop);

	if (rc < 0 || (rc = portset_new(&w->ports, w->loop)) < 0)
		return rc;
	if ((rc = carrier_set_new(&w->carriers, w->loop, w->ports, &w->proxy, STEER_MAX_RELAYS)) <
	    0) {
		log_warnx("no TLS client context: %s", strerror(-rc));
		return rc;
	}
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if ((rc = ev_on_signal(w->loop, sigs[i], on_signal, w)) < 0)
			return rc;
	signal(SIGPIPE, SIG_IGN);
	ev_timer_init(&w->tick, on_tick, w);
	ev_timer_init(&w->reload, on_reload, w);
	ev_timer_init(&w->circ, on_circ, w);
	return 0;
}

/* Interfaces, relays, adoption of a previous run's sessions; then the loop takes over. */
static void watch_start(struct watch *w)
{
	int64_t now = time(NULL);

	scan_ifaces(w, now); /* first device reads set the fwmark for the links */
	cache_relay_set_transport(w->s.cache, NULL, ""); /* a previous run's links are gone */
	load_relays(w);
	w->relays_loaded = true;
	for (size_t i = 0; i < w->n_ifaces; i++) {
		steer_adopt(&w->s, &w->ifaces[i], now);
		steer_publish(&w->s, &w->ifaces[i], now, true);
	}
	sync_ports(w); /* adoption may have opened sealed ports */
	if (w->dht_cfg.on &&
	    dhtfind_new(&w->dht, w->loop, w->s.cache, &w->dht_cfg, w->fwmark, on_dht_done, w) < 0)
		log_warnx("dht: no socket: relays are not looked for in the DHT");
	if (wg_linkwatch_new(&w->lw, on_wg_link, w) < 0 ||
	    ev_add_io(w->loop, wg_linkwatch_fd(w->lw), EV_READ, on_linkwatch, w->lw) < 0)
		log_warnx("no link watcher: new interfaces are found by a rescan every 10 s");
	publish_helper(w, now, true);
	/* The first tick at once, and a reload in it, as every 10 s after. */
	w->reload_due = true;
	ev_timer_start(w->loop, &w->tick, 0);
	ev_timer_start(w->loop, &w->reload, WATCH_RELOAD_MS);
	ev_timer_start(w->loop, &w->circ, WATCH_CIRC_MS);
	sd_notify_ready();
	log_info("wgrelay %s helper running: %zu interface(s), %zu relay(s)", WGR_VERSION,
	         w->n_ifaces, w->s.n_relays);
}

/*
 * The way out. By default as for a restart: relayed peers stay on their relays (their
 * relay_sessions rows kept for the next run's steer_adopt) and the links close without UNBIND,
 * so the relays keep forwarding. Leaving clean puts every peer back on its direct endpoint
 * and unbinds.
 */
static void watch_leave(struct watch *w)
{
	const char *sig = signal_name(w->stop_signal);
	char sum[256];

	if (w->disc.total.pages)
		log_info("discovery since start: %s",
		         refresh_summary(&w->disc.total, sum, sizeof(sum)));
	if (w->restore)
		log_info("%s: restoring direct endpoints", sig);
	else
		log_info("%s: relayed peers stay on their relays for the next run", sig);
	for (size_t i = 0; i < w->n_ifaces; i++) {
		if (w->restore)
			steer_restore(&w->s, &w->ifaces[i]);
		else
			steer_detach(&w->s, &w->ifaces[i]);
		steer_publish(&w->s, &w->ifaces[i], time(NULL), true);
		steer_iface_clear(&w->ifaces[i]);
	}
	sync_ports(w); /* none left: every registration goes */
	for (size_t i = 0; i < w->s.n_relays; i++) {
		struct link *l = w->s.relays[i].link;
		if (!w->retired[i])
			ev_del_io(w->loop, l->fd);
		carrier_detach(w->carriers, i, false, (int64_t)ev_now_ms(w->loop));
		if (w->restore)
			link_free(l);
		else
			link_close(l);
	}
	w->s.n_relays = 0;
	if (w->lw)
		ev_del_io(w->loop, wg_linkwatch_fd(w->lw));
	wg_linkwatch_free(w->lw);
	w->lw = NULL;
	publish_helper(w, time(NULL), false);
}

static void watch_free(struct watch *w)
{
	if (!w)
		return;
	carrier_set_free(w->carriers);
	explicit_bzero(&w->proxy, sizeof(w->proxy));
	portset_free(w->ports);
	dhtfind_free(w->dht);
	ev_free(w->loop);
	geoip_free(w->s.geoip);
	free(w->s.circ_view);
	cache_free(w->s.cache);
	sodium_memzero(w->identity, sizeof(w->identity));
	if (w->lock_fd >= 0)
		close(w->lock_fd);
	free(w->cur);
	free(w);
}

/*
 * One helper per database: two would fight over every peer's endpoint. Taken before the
 * database is opened, so a second helper changes nothing, not even the schema. 0, or -1 after
 * saying why.
 */
static int lock_db(struct watch *w, const char *db)
{
	char path[4096], dir[4096], err[4200];
	pid_t holder;
	struct stat st;

	w->lock_fd = -1;
	if (strcmp(db, ":memory:") == 0)
		return 0;
	snprintf(path, sizeof(path), "%s.lock", db);
	/* No directory yet: nothing runs on it; made as cli_open_cache would. */
	snprintf(dir, sizeof(dir), "%s", db);
	char *d = dirname(dir);
	if (stat(d, &st) < 0 && errno == ENOENT && mkdir(d, 0700) < 0)
		log_warn("mkdir %s", d);
	w->lock_fd = lockfile_take(path, &holder, err, sizeof(err));
	if (w->lock_fd == -EWOULDBLOCK) {
		if (holder)
			log_warnx("another wgrelay watch (pid %ld) is running on %s", (long)holder,
			          db);
		else
			log_warnx("another wgrelay watch (pid unknown) is running on %s", db);
	} else if (w->lock_fd < 0) {
		log_warnx("cannot lock the database: %s", err);
	}
	return w->lock_fd >= 0 ? 0 : -1;
}

/* Everything but the loop: the lock, the database, the identity key, GeoIP. */
static int watch_open(struct watch *w, struct cli_ctx *ctx)
{
	char keypath[4096], dir[4096];
	uint8_t pub[32];
	bool created;

	if (lock_db(w, ctx->db_path) < 0)
		return -1;
	if (cli_open_cache(ctx, &w->s.cache) < 0)
		return -1;
	/* Checked when the file was loaded (cli.c); read here for the DHT client and links. */
	dhtfind_config_read(ctx->conf, &w->dht_cfg, (char[CONF_ERRLEN]){0}, CONF_ERRLEN);
	cli_proxy(ctx->conf, &w->proxy, (char[CONF_ERRLEN]){0}, CONF_ERRLEN);
	snprintf(dir, sizeof(dir), "%s", ctx->db_path);
	snprintf(keypath, sizeof(keypath), "%s/helper.key", dirname(dir));
	if (key_load_or_create(w->identity, keypath, &created) < 0) {
		log_warnx("cannot load or create the identity key %s", keypath);
		return -1;
	}
	if (created)
		log_info("created identity key %s", keypath);
	geoip_open(&w->s.geoip, ctx->geoip_path);
	key_public_from_private(pub, w->identity);
	key_to_base64(w->helper.pubkey, pub);
	w->helper.started = time(NULL);
	if (w->s.geoip)
		snprintf(w->helper.geoip, sizeof(w->helper.geoip), "%s", geoip_path(w->s.geoip));
	return 0;
}

static const char watch_help[] =
    "Usage: wgrelay watch [--restore-on-exit] [IFACE...]\n"
    "Run the helper in the foreground: watch the named interfaces (default: every\n"
    "interface enabled with configure-relay, including ones that appear later), relay\n"
    "peers whose direct handshakes fail, come back when the direct path works.\n"
    "SIGTERM/SIGINT stop it for a restart: relayed peers stay on their relays and the\n"
    "next run takes them over. SIGUSR1 restores every direct endpoint and exits; SIGHUP\n"
    "reads relays and interface settings again. One helper per database. Tells systemd\n"
    "READY=1 when NOTIFY_SOCKET is set. The identity key is helper.key next to the\n"
    "database.\n"
    "  --restore-on-exit  on SIGTERM/SIGINT too, restore the direct endpoints\n";

/* Options and interface names; CLI_OK to go on, else the exit code. */
static int watch_args(struct watch *w, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"restore-on-exit", no_argument, NULL, 'r'},
	    {NULL, 0, NULL, 0},
	};
	int ch;

	/* -h and --help were answered by cmd_watch. */
	while ((ch = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		if (ch != 'r')
			return cli_bad_option("watch", argv, ch);
		w->restore = true;
	}
	for (int i = optind; i < argc; i++) {
		if (!ifconf_name_ok(argv[i]))
			return cli_usage("watch", "bad interface name '%s'", argv[i]);
		int wg = cli_wg_iface(argv[i]);
		if (wg < 0) {
			fprintf(stderr, "watch: %s: %s\n", argv[i],
			        wg == -ENODEV        ? "no such interface"
			        : wg == -EMEDIUMTYPE ? "not a WireGuard interface"
			                             : strerror(-wg));
			return CLI_ERR;
		}
	}
	w->named = argv + optind;
	w->n_named = argc - optind;
	return CLI_OK;
}

int cmd_watch(struct cli_ctx *ctx, int argc, char **argv)
{
	struct watch *w;
	int rc;

	if (cli_wants_help(argc, argv)) {
		fputs(watch_help, stdout);
		return CLI_OK;
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return CLI_ERR;
	w->lock_fd = -1;
	rc = watch_args(w, argc, argv);
	if (rc != CLI_OK || sodium_init() < 0 || watch_open(w, ctx) < 0 || watch_loop_new(w) < 0) {
		watch_free(w);
		return rc != CLI_OK ? rc : CLI_ERR;
	}
	watch_start(w);
	rc = ev_run(w->loop);
	if (rc < 0)
		log_warnx("event loop: %s", strerror(-rc));
	watch_leave(w);
	watch_free(w);
	return rc < 0 ? CLI_ERR : CLI_OK;
}
