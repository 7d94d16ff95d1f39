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
	if (rc < 0)
		log_warnx("cannot open the cache %s", ctx->db_path);
	return rc;
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
	const char *prog = strrchr(ctx.argv0, '/') ? strrchr(ctx.argv0, '/') + 1 : ctx.argv0;
	int ch;

	opterr = 0;
	optind = 1;
	/* '+': stop at the command name; its options are its own. */
	while ((ch = getopt_long(argc, argv, "+hv", opts, NULL)) != -1) {
		switch (ch) {
		case 'd':
			ctx.db_path = optarg;
			break;
		case 'c':
			ctx.config_path = optarg;
			break;
		case 'g':
			ctx.geoip_path = optarg;
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
			optind = 0; /* glibc: 0 re-initializes getopt for the command argv */
			return commands[i].fn(&ctx, sub_argc, sub_argv);
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
