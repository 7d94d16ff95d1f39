/* main.c: wgrelayd, the relay daemon (see wgrelayd(8)). */
#include <errno.h>
#include <getopt.h>
#include <grp.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <sodium.h>

#include "conf.h"
#include "identity.h"
#include "key.h"
#include "libp2p.h"
#include "peerid.h"
#include "relay.h"
#include "version.h"
#include "worker.h"

static void usage(FILE *f)
{
	fprintf(
	    f, "usage: wgrelayd [options]\n"
	       "  -c, --config FILE        config file (default " CONFIG_DEFAULT_PATH ")\n"
	       "  -d, --debug              log debug messages\n"
	       "  -f, --foreground         stay in the foreground (the default; for systemd)\n"
	       "      --listen ADDR:PORT   control address (repeatable; default 0.0.0.0:51821 "
	       "and [::]:51821)\n"
	       "      --port-range LO-HI   direct-mode session ports (default 50000-59999)\n"
	       "      --key-file FILE      identity key, created mode 0600 if missing\n"
	       "                           (default " CONFIG_DEFAULT_KEY ")\n"
	       "      --state-dir DIR      key file is DIR/wgrelayd.key\n"
	       "      --auth MODE          open, keys or token\n"
	       "      --allowed-keys FILE  client public keys for --auth keys\n"
	       "      --max-circuits N     paired sessions in all\n"
	       "      --max-reservations N bindings in all\n"
	       "      --max-bandwidth KBPS per-circuit cap in kilobytes per second (0: none)\n"
	       "      --allow-private      forward to private, documentation and lab ranges\n"
	       "      --allow-loopback     forward to loopback (tests on one machine only)\n"
	       "      --user USER          drop privileges to USER after binding\n"
	       "      --metrics ADDR:PORT|off  Prometheus /metrics over HTTP (default "
	       "127.0.0.1:9821)\n"
	       "      --workers N|auto     direct-mode forwarding threads (default auto: one per "
	       "CPU;\n"
	       "                           0: the control thread forwards too)\n"
	       "      --xdp MODE           XDP fast path of direct mode: off, auto, native or "
	       "generic\n"
	       "                           (overrides [Relay] Xdp; default off)\n"
	       "      --show-public-key    print the relay's public key and exit\n"
	       "      --show-descriptor    print the relay's descriptor (from config and keys) and "
	       "exit\n"
	       "      --json               with --show-descriptor: one JSON object\n"
	       "      --libp2p-listen ADDR:PORT|off  libp2p Circuit Relay v2 listener (TCP;\n"
	       "                           overrides [Libp2p] Listen; default off)\n"
	       "      --show-peer-id       print the relay's libp2p peer id (from its identity,\n"
	       "                           created if missing) and exit\n"
	       "  -V, --version            print the version and exit\n"
	       "  -h, --help               this text\n");
}

enum {
	OPT_LISTEN = 256,
	OPT_PORT_RANGE,
	OPT_KEY_FILE,
	OPT_AUTH,
	OPT_ALLOWED_KEYS,
	OPT_MAX_CIRCUITS,
	OPT_MAX_RESERVATIONS,
	OPT_MAX_BANDWIDTH,
	OPT_ALLOW_PRIVATE,
	OPT_ALLOW_LOOPBACK,
	OPT_USER,
	OPT_METRICS,
	OPT_SHOW_PUBKEY,
	OPT_SHOW_DESC,
	OPT_JSON,
	OPT_STATE_DIR,
	OPT_WORKERS,
	OPT_VERSION,
	OPT_LIBP2P_LISTEN,
	OPT_SHOW_PEERID,
	OPT_XDP,
};

static const struct option options[] = {
    {"config", required_argument, NULL, 'c'},
    {"debug", no_argument, NULL, 'd'},
    {"foreground", no_argument, NULL, 'f'},
    {"help", no_argument, NULL, 'h'},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"port-range", required_argument, NULL, OPT_PORT_RANGE},
    {"key-file", required_argument, NULL, OPT_KEY_FILE},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"auth", required_argument, NULL, OPT_AUTH},
    {"allowed-keys", required_argument, NULL, OPT_ALLOWED_KEYS},
    {"max-circuits", required_argument, NULL, OPT_MAX_CIRCUITS},
    {"max-reservations", required_argument, NULL, OPT_MAX_RESERVATIONS},
    {"max-bandwidth", required_argument, NULL, OPT_MAX_BANDWIDTH},
    {"allow-private", no_argument, NULL, OPT_ALLOW_PRIVATE},
    {"allow-loopback", no_argument, NULL, OPT_ALLOW_LOOPBACK},
    {"user", required_argument, NULL, OPT_USER},
    {"metrics", required_argument, NULL, OPT_METRICS},
    {"show-public-key", no_argument, NULL, OPT_SHOW_PUBKEY},
    {"show-descriptor", no_argument, NULL, OPT_SHOW_DESC},
    {"json", no_argument, NULL, OPT_JSON},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"libp2p-listen", required_argument, NULL, OPT_LIBP2P_LISTEN},
    {"show-peer-id", no_argument, NULL, OPT_SHOW_PEERID},
    {"xdp", required_argument, NULL, OPT_XDP},
    {"version", no_argument, NULL, 'V'},
    {NULL, 0, NULL, 0},
};

static const char *config_path = CONFIG_DEFAULT_PATH;
static bool config_given;
/*
 * The config file was there at the last successful (re)load. Then a reload that finds it gone
 * is an error, as for a file named with -c: a config deleted or not yet rewritten by a
 * configuration tool must never put a relay back on the built-in defaults (auth open).
 */
static bool config_present;

/* Flags are applied after the file, so they win; kept for SIGHUP reloads. */
static int main_argc;
static char **main_argv;

static int apply_flags(struct relayd_config *c, int argc, char **argv, bool *show_pub)
{
	bool listen_reset = false;
	uint64_t v;
	int o;

	optind = 1;
	while ((o = getopt_long(argc, argv, "c:dfhV", options, NULL)) != -1) {
		switch (o) {
		case 'c':
		case 'd':
		case 'f':
		case 'V':
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case OPT_LISTEN:
			if (!listen_reset) {
				c->n_listen = 0;
				listen_reset = true;
			}
			if (c->n_listen == CONFIG_MAX_LISTEN ||
			    addr_parse(&c->listen[c->n_listen++], optarg, 51821) < 0)
				fatalx("--listen: bad address '%s'", optarg);
			break;
		case OPT_PORT_RANGE:
			if (config_parse_range(optarg, &c->port_lo, &c->port_hi) < 0)
				fatalx("--port-range: bad range '%s' (LO-HI within 1024-65535)",
				       optarg);
			break;
		case OPT_KEY_FILE:
			snprintf(c->key_file, sizeof(c->key_file), "%s", optarg);
			break;
		case OPT_STATE_DIR:
			snprintf(c->key_file, sizeof(c->key_file), "%s/wgrelayd.key", optarg);
			break;
		case OPT_AUTH:
			if (!strcasecmp(optarg, "open"))
				c->auth = AUTH_OPEN;
			else if (!strcasecmp(optarg, "keys"))
				c->auth = AUTH_KEYS;
			else if (!strcasecmp(optarg, "token"))
				c->auth = AUTH_TOKEN;
			else
				fatalx("--auth: unknown mode '%s' (open, keys, token)", optarg);
			break;
		case OPT_ALLOWED_KEYS:
			snprintf(c->allowed_keys_file, sizeof(c->allowed_keys_file), "%s", optarg);
			break;
		case OPT_MAX_CIRCUITS:
		case OPT_MAX_RESERVATIONS:
		case OPT_MAX_BANDWIDTH:
			if (conf_parse_u64(optarg, 0, 1000000000, &v) < 0)
				fatalx("bad number '%s'", optarg);
			if (o == OPT_MAX_CIRCUITS)
				c->limits.max_circuits = v;
			else if (o == OPT_MAX_RESERVATIONS)
				c->limits.max_reservations = v;
			else
				c->limits.circuit_kbps = v;
			break;
		case OPT_ALLOW_PRIVATE:
			c->policy.allow_private = true;
			break;
		case OPT_ALLOW_LOOPBACK:
			c->policy.allow_loopback = true;
			break;
		case OPT_USER:
			snprintf(c->user, sizeof(c->user), "%s", optarg);
			break;
		case OPT_METRICS: {
			struct addr a;

			if (strcmp(optarg, "off") && addr_parse(&a, optarg, 0) < 0)
				fatalx("--metrics: bad address '%s' (ADDR:PORT or off)", optarg);
			snprintf(c->metrics, sizeof(c->metrics), "%s", optarg);
			break;
		}
		case OPT_SHOW_PUBKEY:
		case OPT_SHOW_DESC: /* these print and exit: no allowlist needed */
		case OPT_SHOW_PEERID:
			*show_pub = true;
			break;
		case OPT_LIBP2P_LISTEN:
			if (config_libp2p_listen(&c->libp2p.listen, optarg) < 0)
				fatalx("--libp2p-listen: bad address '%s' (ADDR:PORT or off)",
				       optarg);
			break;
		case OPT_JSON:
			break;
		case OPT_WORKERS:
			if (!strcmp(optarg, "auto"))
				c->workers = -1;
			else if (conf_parse_u64(optarg, 0, CONFIG_MAX_WORKERS, &v) < 0)
				fatalx("--workers: bad number '%s' (0-%d or auto)", optarg,
				       CONFIG_MAX_WORKERS);
			else
				c->workers = (int)v;
			break;
		case OPT_XDP:
			if (config_parse_xdp(optarg, &c->xdp) < 0)
				fatalx("--xdp: unknown mode '%s' (off, auto, native, generic)",
				       optarg);
			break;
		default:
			usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		fatalx("unexpected argument '%s' (see --help)", argv[optind]);
	return 0;
}

/* A configuration read in full and not yet in effect: file, flags over it, allowlist. */
struct loaded {
	struct relayd_config c;
	uint8_t (*keys)[32]; /* keys mode: the allowlist; NULL otherwise */
	size_t n_keys;
	bool file_present; /* the config file was read (not the defaults for a missing one) */
};

/*
 * Read everything a start or a reload needs. File reads only, no relay state: a reload runs
 * this without the relay lock. The allowlist is not needed (nor read) for --show-public-key.
 * 0, or -errno with err filled ("FILE:LINE: message" or "FILE: reason").
 */
static int load_all(struct loaded *l, bool *show_pub, char *err, size_t errlen)
{
	struct relayd_config *c = &l->c;
	int r;

	err[0] = '\0';
	l->keys = NULL;
	l->n_keys = 0;
	l->file_present = true;
	config_defaults(c);
	r = config_load(c, config_path, true, err, errlen);
	if (r == -ENOENT && !config_given && !config_present) {
		l->file_present = false; /* the default path, and never there: the defaults */
		config_defaults(c);
		r = 0;
	} else if (r == -ENOENT && !config_given) {
		snprintf(
		    err + strlen(err), errlen - strlen(err),
		    " (it was there at the last load; restart to run on the built-in defaults)");
	}
	if (r < 0)
		return r;
	apply_flags(c, main_argc, main_argv, show_pub);
	if (c->auth == AUTH_KEYS && !*c->allowed_keys_file) {
		snprintf(err, errlen, "auth mode keys needs an allowed-keys file");
		return -EINVAL;
	}
	if (c->auth == AUTH_TOKEN && c->n_secrets == 0) {
		snprintf(err, errlen, "auth mode token needs a Secret in [Auth]");
		return -EINVAL;
	}
	if (c->auth == AUTH_KEYS && !*show_pub)
		return config_load_allowlist(c->allowed_keys_file, &l->keys, &l->n_keys, err,
		                             errlen);
	return 0;
}

/*
 * --show-peer-id: the libp2p peer id is the identity multihash of the relay's Ed25519 identity
 * (the one descriptors are signed with), so the identity is made here when missing, as the
 * relay would make it at start. The id is the line's last token, for scripts.
 */
static int show_peer_id(const struct relayd_config *c, char *err, size_t errlen)
{
	struct identity id;
	struct peerid pid;
	char path[512], text[PEERID_STR_MAX];
	int e;

	if (config_identity_path(c, path, sizeof(path)) < 0) {
		snprintf(err, errlen, "identity file path too long");
		return -ENAMETOOLONG;
	}
	if ((e = identity_load_or_create(&id, path, NULL, err, errlen)) < 0)
		return e;
	peerid_from_ed25519(id.pk, &pid);
	identity_wipe(&id);
	if ((e = peerid_format(&pid, text, sizeof(text))) < 0) {
		snprintf(err, errlen, "peer id too long to print");
		return e;
	}
	printf("peer id: %s\n", text);
	return 0;
}

static void sd_notify_msg(const char *msg)
{
	const char *path = getenv("NOTIFY_SOCKET");
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd;

	if (!path || (path[0] != '/' && path[0] != '@') || strlen(path) >= sizeof(sa.sun_path))
		return;
	strcpy(sa.sun_path, path);
	if (path[0] == '@')
		sa.sun_path[0] = '\0';
	fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return;
	sendto(fd, msg, strlen(msg), MSG_NOSIGNAL, (struct sockaddr *)&sa,
	       (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path)));
	close(fd);
}

static void drop_privileges(const char *user)
{
	struct passwd *pw;

	if (!*user)
		return;
	pw = getpwnam(user);
	if (!pw)
		fatalx("user %s does not exist", user);
	if (setgroups(1, &pw->pw_gid) < 0 || setresgid(pw->pw_gid, pw->pw_gid, pw->pw_gid) < 0 ||
	    setresuid(pw->pw_uid, pw->pw_uid, pw->pw_uid) < 0)
		fatal("cannot drop privileges to %s", user);
	log_info("running as %s", user);
}

/*
 * The control thread holds the relay lock except while it waits (worker.h). Before it waits,
 * the frames queued for stream connections in this iteration leave, one write per connection.
 */
static void on_sleep(struct ev_loop *loop, void *arg)
{
	(void)loop;
	streams_flush(arg);
	libp2p_flush(arg);
	relay_unlock(arg);
}

static void on_wake(struct ev_loop *loop, void *arg)
{
	(void)loop;
	relay_lock(arg);
}

/*
 * Direct mode needs a socket per session: raise the soft open-file limit towards the hard one,
 * and say so when even that cannot hold the port range (sessions past it are refused no-ports).
 */
static void raise_nofile(const struct relayd_config *c)
{
	rlim_t want = (rlim_t)(c->port_hi - c->port_lo + 1) + 256;
	struct rlimit rl;

	/* SessionSockets = shared: sessions hold no descriptor. */
	if (!c->mode_direct || c->shared_ports || getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < want && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < want ? rl.rlim_max : want;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("raising the open-file limit to %llu",
			         (unsigned long long)rl.rlim_cur);
		getrlimit(RLIMIT_NOFILE, &rl);
	}
	if (rl.rlim_cur < want)
		log_warnx(
		    "open-file limit %llu: at most about %llu direct sessions of the %u ports "
		    "(raise LimitNOFILE or ulimit -n)",
		    (unsigned long long)rl.rlim_cur,
		    (unsigned long long)(rl.rlim_cur > 256 ? rl.rlim_cur - 256 : 0),
		    c->port_hi - c->port_lo + 1);
}

static unsigned workers_wanted(const struct relayd_config *c)
{
	long n;

	if (c->workers >= 0)
		return (unsigned)c->workers;
	n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 1 ? 1 : n > CONFIG_MAX_WORKERS ? CONFIG_MAX_WORKERS : (unsigned)n;
}

static void on_tick(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	struct relay *r = arg;
	uint64_t now = ev_now_ms(loop);

	control_expire_links(r, now);
	/* Before expiry: what the kernel forwarded is traffic the idle check must see. */
	fastpath_tick(r, now);
	session_expire(r, now);
	circuits_tick(r, now);
	libp2p_tick(r, now);
	/* By the clock, not by counting ticks: a late tick must not skip a stats line. */
	if (now >= r->next_stats_ms) {
		stats_log(r);
		r->next_stats_ms += r->cfg.stats_interval_s * 1000;
		if (r->next_stats_ms <= now)
			r->next_stats_ms = now + r->cfg.stats_interval_s * 1000;
	}
	ev_timer_start(loop, t, 1000);
}

/* 1 when the direct sessions could not be saved on the way out. */
static int exit_status;

static void on_term(struct ev_loop *loop, int signo, void *arg)
{
	struct relay *r = arg;

	log_info("signal %d: telling %zu linked clients, then exiting", signo, r->links.n);
	sd_notify_msg("STOPPING=1");
	control_notify_shutdown(r);
	circuits_close(r);
	network_close(r);
	if (state_save(r) < 0)
		exit_status = 1;
	/* After the save: the ERROR(shutdown) above is on its way, links end with their streams. */
	streams_close(r);
	stats_log(r); /* with the libp2p totals, before they go */
	libp2p_close(r);
	ev_stop(loop);
}

static bool listen_equal(const struct relayd_config *a, const struct relayd_config *b)
{
	if (a->n_listen != b->n_listen)
		return false;
	for (int i = 0; i < a->n_listen; i++)
		if (!addr_equal(&a->listen[i], &b->listen[i]))
			return false;
	return true;
}

/*
 * What a reload cannot apply: one warning per key whose new value differs from the running
 * one (which stays until a restart). Compared with what runs, so every reload repeats it.
 */
static void warn_restart_keys(const struct relayd_config *run, const struct relayd_config *c)
{
	static const char *const fmt = "reload: %s changed; it takes effect only at a restart";

	if (!listen_equal(run, c))
		log_warnx(fmt, "Listen");
	if (run->port_lo != c->port_lo || run->port_hi != c->port_hi)
		log_warnx(fmt, "PortRange");
	if (run->stats_interval_s != c->stats_interval_s)
		log_warnx(fmt, "StatsInterval");
	if (strcmp(run->key_file, c->key_file))
		log_warnx(fmt, "KeyFile");
	if (strcmp(run->user, c->user))
		log_warnx(fmt, "User");
	if (strcmp(run->metrics, c->metrics))
		log_warnx(fmt, "Metrics");
	if (run->workers != c->workers)
		log_warnx(fmt, "Workers");
	if (run->coalesce != c->coalesce)
		log_warnx(fmt, "Coalesce");
	if (run->busy_poll_us != c->busy_poll_us)
		log_warnx(fmt, "BusyPoll");
	if (strcmp(run->identity_file, c->identity_file))
		log_warnx(fmt, "IdentityFile");
	if (memcmp(&run->net, &c->net, sizeof(run->net)))
		log_warnx(fmt, "[Network]");
	if (memcmp(&run->transport, &c->transport, sizeof(run->transport)))
		log_warnx(fmt, "[Transport]");
	if (run->libp2p.listen.len != c->libp2p.listen.len ||
	    (c->libp2p.listen.len && !addr_equal(&run->libp2p.listen, &c->libp2p.listen)))
		log_warnx(fmt, "[Libp2p] Listen");
	if (run->xdp != c->xdp)
		log_warnx(fmt, "Xdp");
	if (run->shared_ports != c->shared_ports)
		log_warnx(fmt, "SessionSockets");
	if (run->circuits != c->circuits)
		log_warnx(fmt, "Circuits");
	if (run->limits.max_circuit_hops != c->limits.max_circuit_hops ||
	    run->limits.max_circuit_hops_per_link != c->limits.max_circuit_hops_per_link ||
	    run->limits.max_circuit_hops_per_source != c->limits.max_circuit_hops_per_source)
		log_warnx(fmt, "MaxCircuitHops, MaxCircuitHopsPerLink and MaxCircuitHopsPerSource");
	if (run->n_xdp_if != c->n_xdp_if ||
	    memcmp(run->xdp_if, c->xdp_if, sizeof(run->xdp_if[0]) * (size_t)c->n_xdp_if))
		log_warnx(fmt, "XdpInterface");
}

static void on_hup(struct ev_loop *loop, int signo, void *arg)
{
	struct relay *r = arg;
	struct loaded l;
	char err[CONF_ERRLEN];
	bool show = false;
	int e;

	(void)loop;
	(void)signo;
	/*
	 * Limits, auth, secrets and allowlist change; sockets and sessions stay. The files are read
	 * without the relay lock, so forwarding threads keep routing meanwhile; the result is
	 * swapped in under it. All or nothing: what does not load changes nothing.
	 */
	relay_unlock(r);
	e = load_all(&l, &show, err, sizeof(err));
	relay_lock(r);
	if (e < 0) {
		log_warnx("reload failed: %s; keeping the running configuration", err);
		return;
	}
	warn_restart_keys(&r->cfg, &l.c);
	/* The program was loaded with these; it keeps them until a restart. */
	if (r->xdp && l.c.limits.max_packet != r->cfg.limits.max_packet)
		log_warnx("reload: MaxPacket changed; the XDP path keeps %llu until a restart",
		          (unsigned long long)r->cfg.limits.max_packet);
	if (r->cfg.xdp != XDP_MODE_OFF && !r->cfg.mode_direct && l.c.mode_direct)
		log_warnx("reload: Modes now has direct; the XDP path is loaded only at a restart");
	config_present = l.file_present;
	r->cfg.auth = l.c.auth;
	memcpy(r->cfg.allowed_keys_file, l.c.allowed_keys_file, sizeof(l.c.allowed_keys_file));
	memcpy(r->cfg.secrets, l.c.secrets, sizeof(l.c.secrets));
	r->cfg.n_secrets = l.c.n_secrets;
	r->cfg.token_max_lifetime_s = l.c.token_max_lifetime_s;
	/* The circuit switch keeps the bounds it was made with (warned above). */
	l.c.limits.max_circuit_hops = r->cfg.limits.max_circuit_hops;
	l.c.limits.max_circuit_hops_per_link = r->cfg.limits.max_circuit_hops_per_link;
	l.c.limits.max_circuit_hops_per_source = r->cfg.limits.max_circuit_hops_per_source;
	r->cfg.limits = l.c.limits;
	r->cfg.policy = l.c.policy;
	r->cfg.mode_direct = l.c.mode_direct;
	r->cfg.mode_sealed = l.c.mode_sealed;
	/* [Libp2p] limits apply to later requests and connections; the listener stays. */
	l.c.libp2p.listen = r->cfg.libp2p.listen;
	r->cfg.libp2p = l.c.libp2p;
	free(r->allowed_keys);
	r->allowed_keys = l.keys;
	r->n_allowed = l.n_keys;
	ratelimit_set(r->rl, l.c.limits.source_rate, l.c.limits.source_burst);
	/* Limits and policy decide what the XDP path may forward: every session again. */
	fastpath_reload(r);
	if (r->cfg.auth == AUTH_KEYS)
		log_info("allowed keys: %zu from %s", r->n_allowed, r->cfg.allowed_keys_file);
	log_info("reloaded: auth %s, max circuits %llu, max reservations %llu",
	         config_auth_name(r->cfg.auth), (unsigned long long)r->cfg.limits.max_circuits,
	         (unsigned long long)r->cfg.limits.max_reservations);
}

int main(int argc, char **argv)
{
	static struct relay relay;
	static struct loaded loaded;
	struct relay *r = &relay;
	char err[CONF_ERRLEN];
	uint8_t priv[32];
	char pub64[KEY_B64_STRLEN];
	bool show_pub = false, show_desc = false, show_peer = false, json = false, created;
	int o, debug = 0;

	main_argc = argc;
	main_argv = argv;
	while ((o = getopt_long(argc, argv, "c:dfhV", options, NULL)) != -1) {
		if (o == 'c') {
			config_path = optarg;
			config_given = true;
		} else if (o == 'd') {
			debug = 1;
		} else if (o == 'V') {
			printf("wgrelayd %s\n", WGR_VERSION);
			return 0;
		} else if (o == OPT_SHOW_PUBKEY) {
			show_pub = true;
		} else if (o == OPT_SHOW_DESC) {
			show_desc = show_pub = true;
		} else if (o == OPT_SHOW_PEERID) {
			show_peer = show_pub = true;
		} else if (o == OPT_JSON) {
			json = true;
		} else if (o == '?') {
			usage(stderr);
			return 2;
		}
	}
	log_init("wgrelayd", debug, 0);
	/* The first line, so the journal says which version any error below came from. */
	if (!show_pub)
		log_info("wgrelayd %s starting, config %s", WGR_VERSION, config_path);
	if (sodium_init() < 0)
		fatalx("libsodium failed to initialise");
	/* What stops the start is an error (fatal), not a warning. */
	if (load_all(&loaded, &show_pub, err, sizeof(err)) < 0)
		fatalx("%s", err);
	config_present = loaded.file_present;
	if (!show_pub && !loaded.file_present)
		log_info("%s: not there, running on the built-in defaults", config_path);
	r->cfg = loaded.c;
	r->allowed_keys = loaded.keys;
	r->n_allowed = loaded.n_keys;
	if (show_desc) {
		if (network_show_descriptor(&r->cfg, json, err, sizeof(err)) < 0)
			fatalx("%s", err);
		return 0;
	}
	if (show_peer) {
		if (show_peer_id(&r->cfg, err, sizeof(err)) < 0)
			fatalx("%s", err);
		return 0;
	}
	if (show_pub) {
		if (key_load_file_err(priv, r->cfg.key_file, err, sizeof(err)) < 0)
			fatalx("%s", err);
		key_public_from_private(priv, priv);
		key_to_base64(pub64, priv);
		printf("%s\n", pub64);
		return 0;
	}
	if (key_load_or_create_err(priv, r->cfg.key_file, &created, err, sizeof(err)) < 0)
		fatalx("identity key %s", err);
	hs_relay_init(&r->hs, priv);
	sodium_memzero(priv, sizeof(priv));
	raise_nofile(&r->cfg);
	key_to_base64(pub64, r->hs.pub);
	log_info("%s identity key %s, public key %s", created ? "created" : "loaded",
	         r->cfg.key_file, pub64);
	if (ev_new(&r->loop) < 0 || table_init(&r->links, 64) < 0 ||
	    table_init(&r->sessions, 64) < 0 || table_init(&r->handles, 128) < 0 ||
	    table_init(&r->ports, 64) < 0 || table_init(&r->clients, 64) < 0 ||
	    table_init(&r->quotas, 128) < 0 ||
	    ratelimit_new(&r->rl, 4096, r->cfg.limits.source_rate, r->cfg.limits.source_burst) < 0)
		fatalx("out of memory");
	ev_set_busy_poll(r->loop, r->cfg.busy_poll_us);
	stats_budget_init(&r->log, ev_now_ms(r->loop), true);
	if (r->cfg.auth == AUTH_KEYS)
		log_info("allowed keys: %zu from %s", r->n_allowed, r->cfg.allowed_keys_file);
	pthread_mutex_init(&r->mu, NULL);
	if ((o = workers_start(r, workers_wanted(&r->cfg))) < 0) {
		errno = -o;
		fatal("starting forwarding threads");
	}
	relay_lock(r);
	ev_set_before_sleep(r->loop, on_sleep, r);
	ev_set_after_wake(r->loop, on_wake, r);
	if (control_open(r) < 0)
		fatalx("no control address could be bound");
	/*
	 * SessionSockets = shared: its program, maps and raw sockets need CAP_BPF, CAP_NET_ADMIN
	 * and CAP_NET_RAW, so before privileges drop; before state_load, whose sessions take ports.
	 */
	if (portshare_open(r, err, sizeof(err)) < 0)
		fatalx("%s", err);
	/* Before privileges drop: ports like 443, and the certificate's key file. */
	if ((o = streams_open(r)) < 0) {
		errno = -o;
		fatal("stream listeners ([Transport])");
	}
	/* Before privileges drop, as the stream listeners: the identity file, a low port. */
	if ((o = libp2p_open(r)) < 0) {
		errno = -o;
		fatal("libp2p listener ([Libp2p])");
	}
	state_load(r); /* it says what it could not restore, and why */
	/* After the control sockets (relay links use them), before privileges drop (identity). */
	if ((o = network_open(r)) < 0) {
		errno = -o;
		fatal("relay network");
	}
	if ((o = circuits_open(r)) < 0) {
		errno = -o;
		fatal("circuits");
	}
	/* Metrics are for watching, not for relaying: a taken port must not stop the relay. */
	if ((o = metrics_open(r)) < 0) {
		errno = -o;
		log_warn("metrics address %s, metrics disabled", r->cfg.metrics);
	}
	/*
	 * Loading and attaching needs CAP_BPF and CAP_NET_ADMIN, so before privileges drop; last,
	 * so no failure above leaves a program attached; after state_load, whose sessions it
	 * installs.
	 */
	if ((o = fastpath_open(r, err, sizeof(err))) < 0)
		fatalx("%s", err);
	drop_privileges(r->cfg.user);
	if ((o = fastpath_after_drop(r, err, sizeof(err))) < 0)
		fatalx("%s", err);
	if (portshare_after_drop(r, err, sizeof(err)) < 0)
		fatalx("%s", err);
	log_info("auth %s, modes%s%s, ports %u-%u, max circuits %llu, max reservations %llu, "
	         "%u forwarding thread(s)",
	         config_auth_name(r->cfg.auth), r->cfg.mode_direct ? " direct" : "",
	         r->cfg.mode_sealed ? " sealed" : "", r->cfg.port_lo, r->cfg.port_hi,
	         (unsigned long long)r->cfg.limits.max_circuits,
	         (unsigned long long)r->cfg.limits.max_reservations, r->n_workers);
	signal(SIGPIPE, SIG_IGN);
	ev_on_signal(r->loop, SIGTERM, on_term, r);
	ev_on_signal(r->loop, SIGINT, on_term, r);
	ev_on_signal(r->loop, SIGHUP, on_hup, r);
	r->started_ms = ev_clock_ms();
	r->next_stats_ms = r->started_ms + r->cfg.stats_interval_s * 1000;
	ev_timer_init(&r->tick, on_tick, r);
	ev_timer_start(r->loop, &r->tick, 1000);
	sd_notify_msg("READY=1");
	ev_run(r->loop);
	fastpath_close(r);
	portshare_close(r);
	if (exit_status)
		fatalx("state: the direct sessions were not saved to %s.sessions (see above); they "
		       "will not be restored",
		       r->cfg.key_file);
	return 0;
}
