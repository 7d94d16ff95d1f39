/* cmd_iface.c: configure-relay (status is in status.c). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cache.h"
#include "cli.h"
#include "conf.h"
#include "ifconf.h"
#include "log.h"
#include "pathsel.h"
#include "status.h"

_Static_assert(CACHE_MAX_HOPS <= ONION_MAX_HOPS, "a circuit's cells carry that many hops");
_Static_assert(CACHE_MAX_COUNTRIES == PATHSEL_MAX_COUNTRIES, "every country stored is used");

static const char configure_help[] =
    "Usage: wgrelay configure-relay [--enable|--disable] [--force] IFACE [OPTIONS]\n"
    "       wgrelay configure-relay --remove IFACE\n"
    "       wgrelay configure-relay IFACE\n"
    "Turn relay fallback on or off for a WireGuard interface and tune it. Without\n"
    "--enable/--disable only the given options change. Prints the resulting settings;\n"
    "with IFACE alone, only prints them.\n"
    "  --enable, --disable    relay fallback on or off\n"
    "  --force                record IFACE even if it does not exist or is not WireGuard\n"
    "                         (refused otherwise, when enabling or configuring it first)\n"
    "  --remove               forget IFACE's settings (a running watch lets it go)\n"
    "  --threshold-windows N  unanswered handshake attempts before relaying (WireGuard\n"
    "                         tries every 5 s; the last counts after 2 s), 0..1000\n"
    "                         (default 1; 0 = only the slow 30 min history rule)\n"
    "  --mode direct|sealed   data path through the relay (default direct)\n"
    "  --mtu auto|off|N       MTU handling while relayed, N 1280..9000 (default auto)\n"
    "  --prebind K            relays each peer is bound on in advance, 1..8 (default 2)\n"
    "  --hops N               carry the peers over onion circuits of N relays, the\n"
    "                         rendezvous included, 1..4; 0 turns circuits off (default)\n"
    "  --strategy S           how a circuit's relays are drawn: balanced (by bandwidth,\n"
    "                         the default), fast (nearest), anonymous (uniformly, at least\n"
    "                         3 hops, each in a country of its own)\n"
    "  --exclude-country XX[,YY]\n"
    "                         no circuit hop in these countries (ISO 3166 two-letter\n"
    "                         codes, at most 16); repeatable, each adds; none clears\n";

/* configure-relay IFACE: the settings as they are, from a read-only cache. */
static int show_iface(struct cli_ctx *ctx, const char *name)
{
	struct cache *c;
	struct cache_iface s;

	if (cli_open_cache_ro(ctx, "configure-relay", &c) < 0)
		return CLI_ERR;
	int rc = cache_iface_get(c, name, &s);
	cache_free(c);
	if (rc == -ENOENT) {
		fprintf(
		    stderr,
		    "configure-relay: %s: not configured (wgrelay configure-relay --enable %s)\n",
		    name, name);
		return CLI_ERR;
	}
	if (rc < 0)
		return CLI_ERR;
	status_print_iface(stdout, &s, true);
	return CLI_OK;
}

/*
 * Add codes add[0..n_add) to list[0..*n) (the stored ones), each once, at most
 * CACHE_MAX_COUNTRIES: 0 or -E2BIG.
 */
static int countries_add(char (*list)[3], size_t *n, char (*add)[3], size_t n_add)
{
	for (size_t i = 0; i < n_add; i++) {
		bool seen = false;
		for (size_t j = 0; j < *n && !seen; j++)
			seen = strcmp(list[j], add[i]) == 0;
		if (seen)
			continue;
		if (*n == CACHE_MAX_COUNTRIES)
			return -E2BIG;
		memcpy(list[(*n)++], add[i], 3);
	}
	return 0;
}

/* configure-relay --remove IFACE. */
static int remove_iface(struct cli_ctx *ctx, const char *name)
{
	struct cache *c;
	struct stat st;
	int rc = -ENOENT;

	/* No cache file: nothing is configured, and none is made to say so. */
	if (strcmp(ctx->db_path, ":memory:") == 0 || stat(ctx->db_path, &st) == 0) {
		if (cli_open_cache(ctx, &c) < 0)
			return CLI_ERR;
		rc = cache_iface_remove(c, name);
		cache_free(c);
	}
	if (rc == -ENOENT) {
		fprintf(stderr, "configure-relay: %s: not configured\n", name);
		return CLI_ERR;
	}
	if (rc < 0)
		return CLI_ERR;
	printf("interface %s: removed\n", name);
	return CLI_OK;
}

int cmd_configure_relay(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char cmd[] = "configure-relay";
	static const struct option opts[] = {
	    {"enable", no_argument, NULL, 'e'},
	    {"disable", no_argument, NULL, 'd'},
	    {"remove", no_argument, NULL, 'r'},
	    {"force", no_argument, NULL, 'f'},
	    {"threshold-windows", required_argument, NULL, 't'},
	    {"mode", required_argument, NULL, 'm'},
	    {"mtu", required_argument, NULL, 'M'},
	    {"prebind", required_argument, NULL, 'p'},
	    {"hops", required_argument, NULL, 'H'},
	    {"strategy", required_argument, NULL, 'S'},
	    {"exclude-country", required_argument, NULL, 'x'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int enable = -1, ch;
	bool remove = false, force = false;
	int64_t thr = -1, mtu = -2, prebind = -1, hops = -1;
	const char *mode = NULL, *strategy = NULL;
	/* --exclude-country: what to add to the stored list, after clearing it (none) or not */
	char add[CACHE_MAX_COUNTRIES][3], cc[CACHE_MAX_COUNTRIES][3], bad[8];
	size_t n_add = 0, n_cc;
	bool clear = false;
	int rc;
	uint64_t v;
	struct cache *c;
	struct cache_iface s;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'e':
		case 'd':
			if (enable != -1 && enable != (ch == 'e'))
				return cli_usage(cmd, "--enable and --disable conflict");
			enable = ch == 'e';
			break;
		case 'r':
			remove = true;
			break;
		case 'f':
			force = true;
			break;
		case 't':
			if (conf_parse_u64(optarg, 0, 1000, &v) < 0)
				return cli_bad_number(cmd, "--threshold-windows", optarg, 0, 1000,
				                      NULL);
			thr = (int64_t)v;
			break;
		case 'm':
			if (strcmp(optarg, "direct") != 0 && strcmp(optarg, "sealed") != 0)
				return cli_usage(cmd, "--mode %s: not direct or sealed", optarg);
			mode = optarg;
			break;
		case 'M':
			if (strcmp(optarg, "auto") == 0)
				mtu = -1;
			else if (strcmp(optarg, "off") == 0)
				mtu = 0;
			else if (conf_parse_u64(optarg, 1280, 9000, &v) == 0)
				mtu = (int64_t)v;
			else
				return cli_bad_number(cmd, "--mtu", optarg, 1280, 9000,
				                      "auto, off");
			break;
		case 'p':
			if (conf_parse_u64(optarg, 1, 8, &v) < 0)
				return cli_bad_number(cmd, "--prebind", optarg, 1, 8, NULL);
			prebind = (int64_t)v;
			break;
		case 'H':
			if (conf_parse_u64(optarg, 0, CACHE_MAX_HOPS, &v) < 0)
				return cli_bad_number(cmd, "--hops", optarg, 0, CACHE_MAX_HOPS,
				                      NULL);
			hops = (int64_t)v;
			break;
		case 'S':
			if ((rc = pathsel_strategy_parse(optarg)) < 0)
				return cli_usage(
				    cmd, "--strategy %s: not balanced, fast or anonymous", optarg);
			strategy = pathsel_strategy_name(rc);
			break;
		case 'x':
			if (strcmp(optarg, "none") == 0) {
				clear = true;
				n_add = 0;
				break;
			}
			rc = cache_countries_parse(optarg, cc, CACHE_MAX_COUNTRIES, &n_cc, bad,
			                           sizeof(bad));
			if (rc == -EINVAL)
				return cli_usage(cmd,
				                 "--exclude-country %s: '%s' is not a two-letter "
				                 "country code (ISO 3166, such as DE)",
				                 optarg, bad);
			if (rc < 0 || countries_add(add, &n_add, cc, n_cc) < 0)
				return cli_usage(cmd, "--exclude-country: more than %d countries",
				                 CACHE_MAX_COUNTRIES);
			break;
		case 'h':
			fputs(configure_help, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(cmd, argv, ch);
		}
	}
	if (optind == argc)
		return cli_usage(cmd, "no interface given");
	if (optind < argc - 1)
		return cli_usage(cmd, "one interface at a time ('%s' is one too many)",
		                 argv[optind + 1]);
	const char *name = argv[optind];
	if (!ifconf_name_ok(name))
		return cli_usage(cmd, "bad interface name '%s'", name);
	bool change = enable != -1 || thr >= 0 || mode || mtu != -2 || prebind >= 0 || hops >= 0 ||
	              strategy || clear || n_add;
	if (remove && (change || force))
		return cli_usage(cmd, "--remove takes no other option");
	if (remove)
		return remove_iface(ctx, name);
	if (!change && !force)
		return show_iface(ctx, name);

	if (cli_open_cache(ctx, &c) < 0)
		return CLI_ERR;
	bool known = cache_iface_get(c, name, &s) == 0;
	/* Enabling, or a first setting: it must be a WireGuard interface, unless --force. */
	if (enable == 1 || !known) {
		int wg = cli_wg_iface(name);
		const char *what = wg == -ENODEV        ? "no such interface"
		                   : wg == -EMEDIUMTYPE ? "not a WireGuard interface"
		                   : wg < 0             ? strerror(-wg)
		                                        : NULL;
		if (what && !force) {
			fprintf(stderr, "%s: %s: %s (--force records it anyway)\n", cmd, name,
			        what);
			cache_free(c);
			return CLI_ERR;
		}
		if (what)
			log_warnx("%s: %s; recorded anyway (--force)", name, what);
	}
	if (enable != -1)
		s.enabled = enable;
	if (thr >= 0)
		s.threshold_windows = (uint32_t)thr;
	if (mode)
		snprintf(s.mode, sizeof(s.mode), "%s", mode);
	if (mtu != -2)
		s.mtu = (int32_t)mtu;
	if (prebind >= 0)
		s.prebind = (uint32_t)prebind;
	if (hops >= 0)
		s.hops = (uint8_t)hops;
	if (strategy)
		snprintf(s.strategy, sizeof(s.strategy), "%s", strategy);
	if (clear || n_add) {
		/* The stored list, then the codes given: checked before anything is written. */
		n_cc = 0;
		if (!clear && cache_countries_parse(s.exclude_country, cc, CACHE_MAX_COUNTRIES,
		                                    &n_cc, bad, sizeof(bad)) < 0) {
			fprintf(stderr,
			        "%s: %s: the excluded countries stored, '%s', are not a list of "
			        "codes (--exclude-country none clears them)\n",
			        cmd, name, s.exclude_country);
			cache_free(c);
			return CLI_ERR;
		}
		if (countries_add(cc, &n_cc, add, n_add) < 0) {
			cache_free(c);
			return cli_usage(cmd,
			                 "--exclude-country: %s would exclude more than %d "
			                 "countries (--exclude-country none clears its list)",
			                 name, CACHE_MAX_COUNTRIES);
		}
		cache_countries_format(s.exclude_country, sizeof(s.exclude_country),
		                       (const char(*)[3])cc, n_cc);
	}
	rc = cache_iface_set(c, &s);
	cache_free(c);
	if (rc < 0)
		return CLI_ERR;
	status_print_iface(stdout, &s, true);
	if (s.enabled && ifconf_saveconfig(s.name) == 1)
		log_warnx("%s: SaveConfig = true in %s/%s.conf: wg-quick would save relay "
		          "endpoints on shutdown; set it to false",
		          s.name, ifconf_dir(), s.name);
	return CLI_OK;
}
