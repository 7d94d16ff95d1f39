/*
 * watch.c: `wgrelay watch`, the helper daemon loop: reads enabled WireGuard devices every
 * second, keeps control links to the known relays, carries sealed mode's datagrams between
 * the local ports and the links, lets steer.c decide, and on SIGTERM/SIGINT puts every peer
 * back on its direct endpoint.
 */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <poll.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cli.h"
#include "geoip.h"
#include "frame.h"
#include "ifconf.h"
#include "key.h"
#include "log.h"
#include "proto.h"
#include "sealed.h"
#include "selfaddr.h"
#include "version.h"
#include "steer.h"
#include "token.h"
#include "wg.h"

#define MAX_IFACES 32

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int64_t mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

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
	uint32_t fwmark;
	bool relays_loaded;
	/* the poll set, grown as sealed ports appear; never per packet */
	struct pollfd *pf;
	struct sealed_port **ports;
	size_t cap;
	uint8_t *dbuf; /* scratch for one sealed datagram, PROTO_MAX_FRAME bytes */
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

/* Reload relays from the cache; links of known relays are kept. */
static void load_relays(struct watch *w)
{
	struct cache_relay *r;
	size_t n;

	if (cache_relay_list(w->s.cache, &r, &n) < 0)
		return;
	/* Host names are looked up all at once; at start, waited for (2 s at most). */
	if (!w->relays_loaded) {
		for (size_t i = 0; i < n && i < STEER_MAX_RELAYS; i++)
			cli_resolve_start(r[i].endpoint);
		cli_resolve_wait(2000);
	}
	for (size_t i = 0; i < n && w->s.n_relays < STEER_MAX_RELAYS; i++) {
		bool known = false;
		for (size_t j = 0; j < w->s.n_relays; j++)
			if (strcmp(w->s.relays[j].info.pubkey, r[i].pubkey) == 0) {
				known = true;
				load_token(w, &w->s.relays[j]);
			}
		struct steer_relay *sr = &w->s.relays[w->s.n_relays];
		struct addr a;
		const char *why;
		if (known || key_from_base64(sr->pub, r[i].pubkey) < 0)
			continue;
		/* A host name is looked up in the background: the relay joins at a later reload. */
		int rc = cli_resolve(r[i].endpoint, &a, &why);
		if (rc < 0) {
			static struct log_ratelimit rl = LOG_RATELIMIT_INIT(600000);
			if (rc != -EINPROGRESS)
				log_warnx_rl(&rl, "relay %s: %s", r[i].endpoint, why ? why : "?");
			continue;
		}
		sr->info = r[i];
		struct geoip_loc gl;
		if (geoip_lookup(w->s.geoip, &a, &gl) == 0) {
			sr->info.has_loc = true;
			sr->info.lat = gl.lat;
			sr->info.lon = gl.lon;
			snprintf(sr->info.city, sizeof(sr->info.city), "%s", gl.city);
			snprintf(sr->info.country, sizeof(sr->info.country), "%s", gl.country);
		}
		if (link_new(&sr->link, sr->pub, &a, w->identity, w->fwmark) < 0) {
			log_warnx("relay %s: no socket", r[i].endpoint);
			continue;
		}
		sr->link->on_data = sealed_deliver;
		load_token(w, sr);
		/* At start the count is in "helper running"; later, a new relay is news. */
		if (w->relays_loaded)
			log_info("relay %s (%.8s...) added", r[i].endpoint, r[i].pubkey);
		else
			log_debug("relay %s (%.8s...) added", r[i].endpoint, r[i].pubkey);
		w->s.n_relays++;
	}
	free(r);
}

/* Share what the links learned with `list-relays --no-probe` and `status`. */
static void publish_relays(struct watch *w, int64_t now)
{
	for (size_t i = 0; i < w->s.n_relays; i++) {
		struct steer_relay *r = &w->s.relays[i];
		struct link *l = r->link;
		const char *st = "unreachable";
		if (l->last_error == PROTO_ERR_AUTH_DENIED ||
		    l->last_error == PROTO_ERR_AUTH_REQUIRED)
			st = "denied";
		else if (l->rtt_ms >= 0 && (l->pong_flags & PONG_F_FULL))
			st = "full";
		else if (l->rtt_ms >= 0 || l->state == LINK_UP)
			st = "ok";
		snprintf(r->info.status, sizeof(r->info.status), "%s", st);
		r->info.rtt_ms = l->rtt_ms;
		r->info.load_permille = l->rtt_ms >= 0 ? l->load_permille : -1;
		r->info.flags = l->pong_flags;
		if (strcmp(st, "ok") == 0 || strcmp(st, "full") == 0)
			r->info.last_seen = now;
		cache_relay_upsert(w->s.cache, &r->info);
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
		if (l->state == LINK_UP && l->observed.len)
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
 * What `status` and `doctor` read about the helper itself: its pid (0 after a clean exit),
 * its last tick, its public key, our public address and the GeoIP file in use.
 */
static void publish_helper(struct watch *w, struct cache_helper *h, int64_t now, bool running)
{
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
	log_info("%s: watching (%s mode, threshold %u windows, prebind %u)", name, ifc->cfg.mode,
	         ifc->cfg.threshold_windows, ifc->cfg.prebind);
	if (steer_mode(ifc) == PROTO_MODE_SEALED && ifc->cfg.mtu >= 0) {
		unsigned mtu = ifc->cfg.mtu > 0 ? (unsigned)ifc->cfg.mtu : 0;
		if (!mtu)
			wg_get_mtu(name, &mtu);
		if (mtu > STEER_SEALED_MTU)
			log_warnx("%s: MTU %u: sealed mode adds %d bytes per packet, so relayed "
			          "packets may be fragmented or lost; use --mtu auto or at most %d",
			          name, mtu, PROTO_SEALED_OVERHEAD, STEER_SEALED_MTU);
	}
	if (ifconf_saveconfig(name) == 1)
		log_warnx("%s: SaveConfig = true in %s/%s.conf: wg-quick would write relay "
		          "endpoints into it on shutdown; set it to false",
		          name, ifconf_dir(), name);
	if (ifc->fwmark)
		w->fwmark = ifc->fwmark;
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

static void on_link(enum wg_link_event ev, const struct wg_link_info *info, void *arg)
{
	struct watch *w = arg;
	if (ev == WG_LINK_ADDED)
		add_iface(w, info->name, time(NULL));
}

/* Make room in the poll set for n descriptors. */
static int poll_room(struct watch *w, size_t n)
{
	if (n <= w->cap)
		return 0;
	size_t nc = n < 64 ? 64 : n * 2;
	struct pollfd *pf = realloc(w->pf, nc * sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	w->pf = pf;
	struct sealed_port **pp = realloc(w->ports, nc * sizeof(*pp));
	if (!pp)
		return -ENOMEM;
	w->ports = pp;
	w->cap = nc;
	return 0;
}

/* Relay links, then the link watcher, then the sealed ports; returns the count. */
static size_t poll_set(struct watch *w, struct wg_linkwatch *lw, size_t *n_ports)
{
	size_t want = w->s.n_relays + 1, np = 0, nports = 0;

	for (size_t i = 0; i < w->n_ifaces; i++)
		want += w->ifaces[i].n_peers; /* at most one port per peer */
	if (poll_room(w, want) < 0)
		want = w->cap; /* keep what fits; the rest waits for memory */
	for (size_t i = 0; i < w->s.n_relays && np < want; i++)
		w->pf[np++] = (struct pollfd){.fd = w->s.relays[i].link->fd, .events = POLLIN};
	if (lw && np < want)
		w->pf[np++] = (struct pollfd){.fd = wg_linkwatch_fd(lw), .events = POLLIN};
	for (size_t i = 0; i < w->n_ifaces && np < want; i++) {
		size_t k = steer_ports(&w->ifaces[i], w->ports + nports, want - np);
		for (size_t j = 0; j < k; j++)
			w->pf[np++] =
			    (struct pollfd){.fd = w->ports[nports + j]->fd, .events = POLLIN};
		nports += k;
	}
	*n_ports = nports;
	return np;
}

static const char watch_help[] =
    "Usage: wgrelay watch [IFACE...]\n"
    "Run the helper in the foreground: watch the named interfaces (default: every\n"
    "interface enabled with configure-relay, including ones that appear later), relay\n"
    "peers whose direct handshakes fail, come back when the direct path works, and\n"
    "restore the original endpoints on SIGTERM/SIGINT. Tells systemd READY=1 when\n"
    "NOTIFY_SOCKET is set. The identity key is helper.key next to the database.\n";

int cmd_watch(struct cli_ctx *ctx, int argc, char **argv)
{
	struct watch *w;
	struct wg_linkwatch *lw = NULL;
	char keypath[4096], dir[4096];
	bool created;
	struct cache_helper helper = {0};
	int64_t last_tick = 0, last_reload = 0;

	if (cli_wants_help(argc, argv)) {
		fputs(watch_help, stdout);
		return CLI_OK;
	}
	for (int i = 1; i < argc; i++) {
		if (argv[i][0] == '-')
			return cli_usage("watch", "unknown option '%s'", argv[i]);
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
	if (sodium_init() < 0)
		return CLI_ERR;
	w = calloc(1, sizeof(*w));
	if (!w)
		return CLI_ERR;
	w->named = argv + 1;
	w->n_named = argc - 1;
	w->dbuf = malloc(PROTO_MAX_FRAME);
	if (!w->dbuf) {
		free(w);
		return CLI_ERR;
	}
	if (cli_open_cache(ctx, &w->s.cache) < 0) {
		free(w->dbuf);
		free(w);
		return CLI_ERR;
	}
	snprintf(dir, sizeof(dir), "%s", ctx->db_path);
	snprintf(keypath, sizeof(keypath), "%s/helper.key", dirname(dir));
	if (key_load_or_create(w->identity, keypath, &created) < 0) {
		log_warnx("cannot load or create the identity key %s", keypath);
		cache_free(w->s.cache);
		free(w->dbuf);
		free(w);
		return CLI_ERR;
	}
	if (created)
		log_info("created identity key %s", keypath);
	geoip_open(&w->s.geoip, ctx->geoip_path);
	{
		uint8_t pub[32];
		key_public_from_private(pub, w->identity);
		key_to_base64(helper.pubkey, pub);
		helper.started = time(NULL);
		if (w->s.geoip)
			snprintf(helper.geoip, sizeof(helper.geoip), "%s", geoip_path(w->s.geoip));
	}

	struct sigaction sa = {.sa_handler = on_signal};
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	int64_t now = time(NULL);
	scan_ifaces(w, now); /* first device reads set the fwmark for the links */
	load_relays(w);
	w->relays_loaded = true;
	for (size_t i = 0; i < w->n_ifaces; i++) {
		steer_adopt(&w->s, &w->ifaces[i], now);
		steer_publish(&w->s, &w->ifaces[i], now, true);
	}
	if (wg_linkwatch_new(&lw, on_link, w) < 0)
		log_warnx("no link watcher: new interfaces are found by a rescan every 10 s");
	publish_helper(w, &helper, now, true);
	sd_notify_ready();
	log_info("wgrelay %s helper running: %zu interface(s), %zu relay(s)", WGR_VERSION,
	         w->n_ifaces, w->s.n_relays);

	/*
	 * Links and ports change only in the tick below or with an interface event, so the poll
	 * set is built again after those, not on every wake-up (one per burst of datagrams).
	 */
	size_t n_ports = 0, np = 0, base = 0;
	bool rebuild = true;
	while (!stop_signal) {
		if (rebuild) {
			np = poll_set(w, lw, &n_ports);
			base = np - n_ports;
			rebuild = false;
		}
		struct pollfd *pf = w->pf;
		poll(pf, np, 200);
		int64_t ms = mono_ms();
		/* Ports and links only between ticks: steer frees ports only in the tick below. */
		for (size_t i = 0; i < w->s.n_relays && i < np; i++)
			if (pf[i].revents & POLLIN)
				link_readable(w->s.relays[i].link, ms);
		for (size_t i = 0; i < n_ports; i++)
			if (pf[base + i].revents & POLLIN)
				sealed_port_readable(w->ports[i], w->dbuf, PROTO_MAX_FRAME, ms);
		if (lw && w->s.n_relays < np && (pf[w->s.n_relays].revents & POLLIN)) {
			wg_linkwatch_process(lw);
			rebuild = true;
		}
		if (ms - last_tick < 1000)
			continue;
		last_tick = ms;
		rebuild = true;
		now = time(NULL);
		for (size_t i = 0; i < w->s.n_relays; i++)
			link_tick(w->s.relays[i].link, ms);
		update_self(w);
		publish_helper(w, &helper, now, true);
		bool slow = ms - last_reload >= 10000;
		if (slow) {
			last_reload = ms;
			publish_relays(w, now);
			load_relays(w);
			scan_ifaces(w, now);
		}
		for (size_t i = 0; i < w->n_ifaces; i++) {
			struct steer_iface *ifc = &w->ifaces[i];
			if (slow)
				cache_iface_get(w->s.cache, ifc->name, &ifc->cfg);
			if (!w->n_named && !ifc->cfg.enabled) {
				steer_restore(&w->s, ifc);
				steer_publish(&w->s, ifc, now, false);
				continue;
			}
			if (steer_read(&w->s, ifc, now) < 0)
				continue;
			steer_prebind(&w->s, ifc, now);
			steer_judge(&w->s, ifc, now);
			steer_sealed(&w->s, ifc, now);
			steer_publish(&w->s, ifc, now, slow);
		}
	}
	log_info("signal %d: restoring direct endpoints", (int)stop_signal);
	for (size_t i = 0; i < w->n_ifaces; i++) {
		steer_restore(&w->s, &w->ifaces[i]);
		steer_publish(&w->s, &w->ifaces[i], time(NULL), true);
		steer_iface_clear(&w->ifaces[i]);
	}
	for (size_t i = 0; i < w->s.n_relays; i++)
		link_free(w->s.relays[i].link);
	wg_linkwatch_free(lw);
	publish_helper(w, &helper, time(NULL), false);
	geoip_free(w->s.geoip);
	cache_free(w->s.cache);
	sodium_memzero(w->identity, sizeof(w->identity));
	free(w->pf);
	free(w->ports);
	free(w->dbuf);
	free(w);
	return CLI_OK;
}
