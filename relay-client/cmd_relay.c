/* cmd_relay.c: start-relay, add/remove-bootstrap-relay and list-relays. */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cache.h"
#include "cli.h"
#include "conf.h"
#include "geoip.h"
#include "key.h"
#include "log.h"
#include "probe.h"
#include "selfaddr.h"

static const char start_help[] =
    "Usage: wgrelay start-relay [--port N] [--max-connections N] [--max-bandwidth KBPS]\n"
    "                           [--dry-run] [-- WGRELAYD-OPTIONS...]\n"
    "Run a relay on this node by executing wgrelayd (next to wgrelay, else from PATH).\n"
    "  --port N             UDP control port (wgrelayd --listen 0.0.0.0:N; default 51821)\n"
    "  --max-connections N  concurrent sessions (wgrelayd --max-circuits; default 100)\n"
    "  --max-bandwidth KBPS per-session bandwidth cap (default 1000)\n"
    "  --dry-run            print the wgrelayd command line instead of running it\n"
    "Options after -- go to wgrelayd unchanged (e.g. --auth keys, --state-dir DIR).\n";

/* wgrelayd next to our own binary (installed or build tree), then PATH. */
static char *find_wgrelayd(char *buf, size_t len)
{
	char self[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (n > 0) {
		self[n] = '\0';
		char *dir = dirname(self);
		static const char *const rel[] = {"wgrelayd", "../relayd/wgrelayd",
		                                  "../sbin/wgrelayd"};
		for (size_t i = 0; i < 3; i++) {
			snprintf(buf, len, "%s/%s", dir, rel[i]);
			if (access(buf, X_OK) == 0)
				return buf;
		}
	}
	snprintf(buf, len, "wgrelayd");
	return buf;
}

int cmd_start_relay(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"max-connections", required_argument, NULL, 'c'},
	    {"max-bandwidth", required_argument, NULL, 'b'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t port = 51821, conns = 100, kbps = 1000;
	bool dry = false;
	char bin[PATH_MAX], listen_arg[32], conns_arg[24], kbps_arg[24];
	int ch;

	(void)ctx;
	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (conf_parse_u64(optarg, 1, 65535, &port) < 0)
				goto bad;
			break;
		case 'c':
			if (conf_parse_u64(optarg, 1, 10000000, &conns) < 0)
				goto bad;
			break;
		case 'b':
			if (conf_parse_u64(optarg, 1, 100000000, &kbps) < 0)
				goto bad;
			break;
		case 'n':
			dry = true;
			break;
		case 'h':
			fputs(start_help, stdout);
			return CLI_OK;
		default:
			fputs(start_help, stderr);
			return CLI_USAGE;
		}
	}
	snprintf(listen_arg, sizeof(listen_arg), "0.0.0.0:%llu", (unsigned long long)port);
	snprintf(conns_arg, sizeof(conns_arg), "%llu", (unsigned long long)conns);
	snprintf(kbps_arg, sizeof(kbps_arg), "%llu", (unsigned long long)kbps);
	int extra = argc - optind;
	char **av = calloc((size_t)extra + 10, sizeof(*av));
	if (!av)
		return CLI_ERR;
	int k = 0;
	av[k++] = find_wgrelayd(bin, sizeof(bin));
	av[k++] = "-f";
	av[k++] = "--listen";
	av[k++] = listen_arg;
	av[k++] = "--max-circuits";
	av[k++] = conns_arg;
	av[k++] = "--max-bandwidth";
	av[k++] = kbps_arg;
	for (int i = optind; i < argc; i++)
		av[k++] = argv[i];
	av[k] = NULL;
	if (dry) {
		for (int i = 0; i < k; i++)
			printf("%s%s", i ? " " : "", av[i]);
		printf("\n");
		free(av);
		return CLI_OK;
	}
	fflush(NULL);
	execvp(av[0], av);
	log_warn("exec %s", av[0]);
	free(av);
	return CLI_ERR;
bad:
	fprintf(stderr, "start-relay: bad value '%s'\n", optarg);
	return CLI_USAGE;
}

int cmd_add_bootstrap(struct cli_ctx *ctx, int argc, char **argv)
{
	uint8_t key[KEY_LEN];
	struct addr a;
	struct cache *c;
	char ep[ADDR_STRLEN];

	if (cli_wants_help(argc, argv)) {
		printf("Usage: wgrelay add-bootstrap-relay ENDPOINT PUBKEY\n"
		       "Add (or move) a relay: ENDPOINT is IP:PORT or [IPv6]:PORT (port defaults\n"
		       "to 51821), PUBKEY the relay's base64 public key (wgrelayd "
		       "--show-public-key).\n");
		return CLI_OK;
	}
	if (argc != 3) {
		fprintf(stderr, "Usage: wgrelay add-bootstrap-relay ENDPOINT PUBKEY\n");
		return CLI_USAGE;
	}
	if (addr_parse(&a, argv[1], 51821) < 0) {
		fprintf(stderr, "add-bootstrap-relay: bad endpoint '%s'\n", argv[1]);
		return CLI_USAGE;
	}
	if (key_from_base64(key, argv[2]) < 0) {
		fprintf(stderr, "add-bootstrap-relay: bad public key '%s'\n", argv[2]);
		return CLI_USAGE;
	}
	if (cli_open_cache(ctx, &c) < 0)
		return CLI_ERR;
	int rc = cache_bootstrap_add(c, addr_format(&a, ep, sizeof(ep)), argv[2], time(NULL));
	cache_free(c);
	return rc < 0 ? CLI_ERR : CLI_OK;
}

int cmd_remove_bootstrap(struct cli_ctx *ctx, int argc, char **argv)
{
	struct cache *c;
	struct addr a;
	char ep[ADDR_STRLEN];
	const char *what;

	if (cli_wants_help(argc, argv)) {
		printf("Usage: wgrelay remove-bootstrap-relay ENDPOINT|PUBKEY\n"
		       "Forget a bootstrap relay, named by its endpoint or public key.\n");
		return CLI_OK;
	}
	if (argc != 2) {
		fprintf(stderr, "Usage: wgrelay remove-bootstrap-relay ENDPOINT|PUBKEY\n");
		return CLI_USAGE;
	}
	what = argv[1];
	if (strlen(what) != KEY_B64_LEN && addr_parse(&a, what, 51821) == 0)
		what = addr_format(&a, ep, sizeof(ep));
	if (cli_open_cache(ctx, &c) < 0)
		return CLI_ERR;
	int rc = cache_bootstrap_remove(c, what);
	cache_free(c);
	if (rc == -ENOENT) {
		fprintf(stderr, "remove-bootstrap-relay: no bootstrap relay '%s'\n", argv[1]);
		return CLI_ERR;
	}
	return rc < 0 ? CLI_ERR : CLI_OK;
}

static void print_relays(const struct cache_relay *r, size_t n, const struct geoip_loc *me,
                         bool me_known, bool json, int64_t now)
{
	char age[32], loc[96], dist[24], rtt[16], load[16];

	if (!json)
		printf("%-22s %-8s %-12s %-18s %9s %7s %6s %-9s %s\n", "ENDPOINT", "KEY", "STATUS",
		       "LOCATION", "DISTANCE", "RTT", "LOAD", "SOURCE", "LAST SEEN");
	else
		printf("[");
	for (size_t i = 0; i < n; i++) {
		double km = -1;
		if (me_known && r[i].has_loc)
			km = geoip_distance_km(me->lat, me->lon, r[i].lat, r[i].lon);
		if (json) {
			printf("%s\n  {\"endpoint\": ", i ? "," : "");
			cli_json_str(stdout, r[i].endpoint);
			printf(", \"pubkey\": ");
			cli_json_str(stdout, r[i].pubkey);
			printf(", \"status\": ");
			cli_json_str(stdout, r[i].status);
			printf(", \"source\": ");
			cli_json_str(stdout, r[i].source);
			printf(", \"city\": ");
			cli_json_str(stdout, r[i].city);
			printf(", \"country\": ");
			cli_json_str(stdout, r[i].country);
			if (r[i].has_loc)
				printf(", \"lat\": %.4f, \"lon\": %.4f", r[i].lat, r[i].lon);
			else
				printf(", \"lat\": null, \"lon\": null");
			if (km >= 0)
				printf(", \"distance_km\": %.0f", km);
			else
				printf(", \"distance_km\": null");
			printf(", \"rtt_ms\": %d, \"load_permille\": %d, \"last_seen\": %lld}",
			       r[i].rtt_ms, r[i].load_permille, (long long)r[i].last_seen);
			continue;
		}
		if (r[i].has_loc)
			snprintf(loc, sizeof(loc), "%s%s%s", r[i].city[0] ? r[i].city : "?",
			         r[i].country[0] ? "/" : "", r[i].country);
		else
			snprintf(loc, sizeof(loc), "unknown");
		snprintf(dist, sizeof(dist), km >= 0 ? "%.0f km" : "-", km);
		snprintf(rtt, sizeof(rtt), r[i].rtt_ms >= 0 ? "%d ms" : "-", r[i].rtt_ms);
		snprintf(load, sizeof(load), r[i].load_permille >= 0 ? "%d%%" : "-",
		         r[i].load_permille / 10);
		printf("%-22s %.8s %-12s %-18.18s %9s %7s %6s %-9s %s\n", r[i].endpoint,
		       r[i].pubkey, r[i].status, loc, dist, rtt, load, r[i].source,
		       cli_age(age, sizeof(age), r[i].last_seen, now));
	}
	if (json)
		printf("%s]\n", n ? "\n" : "");
}

int cmd_list_relays(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"no-probe", no_argument, NULL, 'n'},
	    {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	static const char help[] =
	    "Usage: wgrelay list-relays [--json] [--no-probe] [--timeout MS]\n"
	    "PING every known relay and list endpoint, key, status (ok, unreachable, full,\n"
	    "denied), location and distance from this node's public address (GeoIP), RTT,\n"
	    "advertised load, source and last seen. --no-probe shows the cached results.\n";
	bool json = false, probe = true;
	uint64_t timeout = 1000;
	struct cache *c;
	struct cache_relay *r = NULL;
	struct geoip *g = NULL;
	struct geoip_loc me = {0};
	bool me_known = false;
	size_t n = 0;
	int ch;
	int64_t now = time(NULL);

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = true;
			break;
		case 'n':
			probe = false;
			break;
		case 't':
			if (conf_parse_u64(optarg, 10, 60000, &timeout) < 0) {
				fprintf(stderr, "list-relays: bad timeout '%s'\n", optarg);
				return CLI_USAGE;
			}
			break;
		case 'h':
			fputs(help, stdout);
			return CLI_OK;
		default:
			fputs(help, stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc) {
		fputs(help, stderr);
		return CLI_USAGE;
	}
	if (cli_open_cache(ctx, &c) < 0)
		return CLI_ERR;
	if (cache_relay_list(c, &r, &n) < 0) {
		cache_free(c);
		return CLI_ERR;
	}
	geoip_open(&g, ctx->geoip_path);
	/* cache_relay_list returns at most CACHE_MAX_RELAYS; probe no more than probe_ping does. */
	if (n > PROBE_MAX_TARGETS)
		n = PROBE_MAX_TARGETS;
	if (probe && n) {
		struct probe_target *t = calloc(n, sizeof(*t));
		struct addr *seen = calloc(n, sizeof(*seen));
		if (t && seen) {
			for (size_t i = 0; i < n; i++)
				addr_parse(&t[i].addr, r[i].endpoint, 51821);
			probe_ping(t, n, (int)timeout, 0);
			for (size_t i = 0; i < n; i++) {
				struct geoip_loc l;
				r[i].rtt_ms = t[i].rtt_ms;
				if (t[i].answered) {
					r[i].load_permille = t[i].pong.load_permille;
					r[i].flags = t[i].pong.flags;
					r[i].last_seen = now;
					/* A denial seen by `watch` on the link outlives a PONG. */
					if (strcmp(r[i].status, "denied") != 0)
						snprintf(r[i].status, sizeof(r[i].status), "%s",
						         (t[i].pong.flags & PONG_F_FULL) ? "full"
						                                         : "ok");
					seen[i] = t[i].pong.observed;
				} else {
					snprintf(r[i].status, sizeof(r[i].status), "unreachable");
				}
				r[i].has_loc = geoip_lookup(g, &t[i].addr, &l) == 0;
				if (r[i].has_loc) {
					r[i].lat = l.lat;
					r[i].lon = l.lon;
					snprintf(r[i].city, sizeof(r[i].city), "%s", l.city);
					snprintf(r[i].country, sizeof(r[i].country), "%s",
					         l.country);
				}
				cache_relay_upsert(c, &r[i]);
				cache_relay_outcome(c, r[i].pubkey, t[i].answered, now);
			}
			/* Where we are (for DISTANCE) is what most relays saw, not the first one. */
			struct selfaddr_vote v = selfaddr_decide(seen, n, NULL);
			me_known = v.known && geoip_lookup(g, &v.addr, &me) == 0;
		}
		free(seen);
		free(t);
	}
	print_relays(r, n, &me, me_known, json, now);
	free(r);
	geoip_free(g);
	cache_free(c);
	return CLI_OK;
}
