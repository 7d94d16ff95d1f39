/*
 * cli.h: the wgrelay command line. Exit codes: 0 success, 1 error, 2 usage error.
 * Global options come before the command: --db FILE, --config FILE, --geoip FILE, -v
 * (environment: WGRELAY_DB, WGRELAY_CONFIG, WGRELAY_GEOIP).
 */
#ifndef WGR_CLI_H
#define WGR_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define CLI_OK    0
#define CLI_ERR   1
#define CLI_USAGE 2

#define CLI_DEFAULT_DB     "/var/lib/wgrelay/wgrelay.db"
#define CLI_DEFAULT_CONFIG "/etc/wgrelay/wgrelay.conf"

struct cache;
struct conf;

struct cli_ctx {
	const char *argv0;
	const char *db_path;
	const char *config_path;
	const char *geoip_path; /* NULL: search the usual places */
	int verbose;
	struct conf *conf; /* the config file, NULL when absent */
};

struct cli_cmd {
	const char *name;
	int (*fn)(struct cli_ctx *ctx, int argc, char **argv);
	const char *help;
};

/* Parse global options, dispatch to a command; returns the exit code. */
int cli_main(int argc, char **argv);
/*
 * Open the cache at ctx->db_path, creating its directory (0700) when missing, and enter the
 * config file's [Relay] Bootstrap entries as relays of source "config". 0 or -errno.
 */
int cli_open_cache(struct cli_ctx *ctx, struct cache **out);
/* True when argv[1..] holds -h or --help before any "--". */
bool cli_wants_help(int argc, char **argv);

/* Print s as a JSON string literal (quotes and escapes included). */
void cli_json_str(FILE *f, const char *s);
/* "12 s ago" style age of a unix time, "never" for 0. */
const char *cli_age(char *buf, size_t len, int64_t then, int64_t now);

/* Commands (cmd_relay.c, cmd_iface.c, watch.c). */
int cmd_start_relay(struct cli_ctx *ctx, int argc, char **argv);
int cmd_add_bootstrap(struct cli_ctx *ctx, int argc, char **argv);
int cmd_remove_bootstrap(struct cli_ctx *ctx, int argc, char **argv);
int cmd_list_relays(struct cli_ctx *ctx, int argc, char **argv);
int cmd_configure_relay(struct cli_ctx *ctx, int argc, char **argv);
int cmd_status(struct cli_ctx *ctx, int argc, char **argv);
int cmd_watch(struct cli_ctx *ctx, int argc, char **argv);

#endif
