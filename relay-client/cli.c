/* cli.c: global options and the {name, fn, help} command table, like wg(8). */
#include "cli.h"

#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cache.h"
#include "conf.h"
#include "key.h"
#include "addr.h"
#include "log.h"

static const struct cli_cmd commands[] = {
    {"watch", cmd_watch, "Run the helper daemon (foreground) on enabled interfaces"},
    {"status", cmd_status, "Show each peer's path (direct / relayed) and why"},
    {"list-relays", cmd_list_relays, "Probe and list known relays"},
    {"configure-relay", cmd_configure_relay, "Enable, disable or tune relay fallback on IFACE"},
    {"add-bootstrap-relay", cmd_add_bootstrap, "Add a relay by ENDPOINT and PUBKEY"},
    {"remove-bootstrap-relay", cmd_remove_bootstrap, "Remove a bootstrap relay"},
    {"start-relay", cmd_start_relay, "Run a relay (wgrelayd) on this node"},
};

static void usage(FILE *f, const char *argv0)
{
	fprintf(f,
	        "Usage: %s [--db FILE] [--config FILE] [--geoip FILE] [-v] COMMAND [ARGS]\n"
	        "\nKeeps WireGuard peers connected through relays when a direct path fails.\n"
	        "\nCommands:\n",
	        argv0);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(f, "  %-24s %s\n", commands[i].name, commands[i].help);
	fprintf(f,
	        "\nGlobal options (environment variable in brackets):\n"
	        "  --db FILE      connection cache [WGRELAY_DB] (default %s)\n"
	        "  --config FILE  configuration [WGRELAY_CONFIG] (default %s)\n"
	        "  --geoip FILE   MaxMind DB city file [WGRELAY_GEOIP] (default: search\n"
	        "                 /usr/share/GeoIP and /var/lib/GeoIP for GeoLite2-City.mmdb\n"
	        "                 or dbip-city-lite.mmdb)\n"
	        "  -v             debug logging\n"
	        "\n`%s COMMAND --help` shows a command's options.\n"
	        "Exit status: 0 success, 1 error, 2 usage error.\n",
	        CLI_DEFAULT_DB, CLI_DEFAULT_CONFIG, argv0);
}

bool cli_wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0)
			return true;
	}
	return false;
}

int cli_open_cache(struct cli_ctx *ctx, struct cache **out)
{
	char dir[4096];
	int rc;

	if (strcmp(ctx->db_path, ":memory:") != 0) {
		snprintf(dir, sizeof(dir), "%s", ctx->db_path);
		char *d = dirname(dir);
		struct stat st;
		if (stat(d, &st) < 0 && errno == ENOENT && mkdir(d, 0700) < 0)
			log_warn("mkdir %s", d);
	}
	rc = cache_open(out, ctx->db_path);
	if (rc < 0) {
		log_warnx("cannot open the cache %s", ctx->db_path);
		return rc;
	}
	const struct conf_entry *e = NULL;
	while (ctx->conf && (e = conf_next(ctx->conf, "Relay", "Bootstrap", e))) {
		char ep[128], key[64], fmt[ADDR_STRLEN];
		struct addr a;
		uint8_t k[KEY_LEN];
		/* Checked by load_config; here only entered. */
		if (sscanf(e->value, "%127s %63s", ep, key) != 2 || addr_parse(&a, ep, 51821) < 0 ||
		    key_from_base64(k, key) < 0)
			continue;
		struct cache_relay r = {.rtt_ms = -1, .load_permille = -1};
		struct cache_relay *have;
		size_t n;
		bool known = false;
		if (cache_relay_list(*out, &have, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				known |= strcmp(have[i].pubkey, key) == 0 &&
				         strcmp(have[i].endpoint,
				                addr_format(&a, fmt, sizeof(fmt))) == 0;
			free(have);
		}
		if (known)
			continue;
		snprintf(r.pubkey, sizeof(r.pubkey), "%s", key);
		addr_format(&a, r.endpoint, sizeof(r.endpoint));
		snprintf(r.source, sizeof(r.source), "config");
		snprintf(r.status, sizeof(r.status), "unknown");
		cache_relay_upsert(*out, &r);
	}
	return 0;
}

/*
 * The config file: [Helper] Database, GeoIP; [Relay] Bootstrap = ENDPOINT PUBKEY (repeatable).
 * Missing is fine unless named explicitly; errors are "file:line: message 'token'".
 */
static int load_config(struct cli_ctx *ctx, bool explicit, bool db_set, bool geoip_set)
{
	static const char *const allowed[] = {"Helper.Database", "Helper.GeoIP", "Relay.Bootstrap",
	                                      NULL};
	char err[CONF_ERRLEN];
	const struct conf_entry *e = NULL;
	int rc = conf_load(&ctx->conf, ctx->config_path, err, sizeof(err));

	if (rc == -ENOENT && !explicit) {
		ctx->conf = NULL;
		return 0;
	}
	if (rc < 0 || conf_check_keys(ctx->conf, allowed, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", rc == -ENOENT ? ctx->config_path : err);
		return -EINVAL;
	}
	while ((e = conf_next(ctx->conf, "Relay", "Bootstrap", e))) {
		char ep[128], key[64], extra[2];
		struct addr a;
		uint8_t k[KEY_LEN];
		if (sscanf(e->value, "%127s %63s %1s", ep, key, extra) != 2 ||
		    addr_parse(&a, ep, 51821) < 0 || key_from_base64(k, key) < 0) {
			fprintf(stderr, "%s:%u: Bootstrap wants 'ENDPOINT PUBKEY' '%s'\n",
			        ctx->conf->name, e->line, e->value);
			return -EINVAL;
		}
	}
	if (!db_set && (e = conf_last(ctx->conf, "Helper", "Database")))
		ctx->db_path = e->value;
	if (!geoip_set && (e = conf_last(ctx->conf, "Helper", "GeoIP")))
		ctx->geoip_path = e->value;
	return 0;
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

int cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},    {"config", required_argument, NULL, 'c'},
	    {"geoip", required_argument, NULL, 'g'}, {"help", no_argument, NULL, 'h'},
	    {"verbose", no_argument, NULL, 'v'},     {NULL, 0, NULL, 0},
	};
	struct cli_ctx ctx = {
	    .argv0 = argc > 0 ? argv[0] : "wgrelay",
	    .db_path = env_or("WGRELAY_DB", CLI_DEFAULT_DB),
	    .config_path = env_or("WGRELAY_CONFIG", CLI_DEFAULT_CONFIG),
	    .geoip_path = env_or("WGRELAY_GEOIP", NULL),
	};
	bool db_set = getenv("WGRELAY_DB") && *getenv("WGRELAY_DB");
	bool geoip_set = ctx.geoip_path != NULL;
	bool config_set = false; /* only --config makes a missing file an error */
	const char *prog = strrchr(ctx.argv0, '/') ? strrchr(ctx.argv0, '/') + 1 : ctx.argv0;
	int ch;

	opterr = 0;
	optind = 1;
	/* '+': stop at the command name; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+hv", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			ctx.db_path = optarg;
			db_set = true;
			break;
		case 'c':
			ctx.config_path = optarg;
			config_set = true;
			break;
		case 'g':
			ctx.geoip_path = optarg;
			geoip_set = true;
			break;
		case 'v':
			ctx.verbose = 1;
			break;
		case 'h':
			usage(stdout, prog);
			return CLI_OK;
		default:
			fprintf(stderr, "%s: unknown or incomplete option '%s'\n", prog,
			        argv[optind - 1]);
			usage(stderr, prog);
			return CLI_USAGE;
		}
	}
	log_init("wgrelay", ctx.verbose, 0);
	if (optind >= argc) {
		usage(stderr, prog);
		return CLI_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			int sub_argc = argc - optind;
			char **sub_argv = argv + optind;
			if (load_config(&ctx, config_set, db_set, geoip_set) < 0)
				return CLI_ERR;
			optind = 0; /* glibc: 0 re-initializes getopt for the command argv */
			int rc = commands[i].fn(&ctx, sub_argc, sub_argv);
			conf_free(ctx.conf);
			return rc;
		}
	}
	fprintf(stderr, "%s: unknown command '%s'\n", prog, argv[optind]);
	usage(stderr, prog);
	return CLI_USAGE;
}

void cli_json_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(f, "\\%c", *p);
		else if (*p < 0x20)
			fprintf(f, "\\u%04x", *p);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

const char *cli_age(char *buf, size_t len, int64_t then, int64_t now)
{
	if (then <= 0)
		snprintf(buf, len, "never");
	else if (now - then < 120)
		snprintf(buf, len, "%lld s ago", (long long)(now - then));
	else if (now - then < 7200)
		snprintf(buf, len, "%lld min ago", (long long)(now - then) / 60);
	else
		snprintf(buf, len, "%lld h ago", (long long)(now - then) / 3600);
	return buf;
}
