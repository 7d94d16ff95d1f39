/*
 * cli.h: the wgrelay command line. Exit codes: 0 success, 1 error, 2 usage error.
 * Global options, before or after the command name: --db FILE, --config FILE, --geoip FILE,
 * -v (environment: WGRELAY_DB, WGRELAY_CONFIG, WGRELAY_GEOIP).
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

struct addr;
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
/*
 * [Relay] Proxy of conf (NULL: none) into *out: kind TURL_PROXY_NONE when absent. 0, or
 * -EINVAL with err "file:line: message 'value'".
 */
struct turl_proxy;
int cli_proxy(const struct conf *conf, struct turl_proxy *out, char *err, size_t errlen);
/* True when argv[1..] holds -h or --help before any "--". */
bool cli_wants_help(int argc, char **argv);

/*
 * For read-only commands: open the cache at ctx->db_path read-only (cache_open_readonly: never
 * created, migrated, written or moved aside). A missing file is an empty in-memory cache.
 * Returns 1 (the file), 0 (no file: empty), or -errno after printing "CMD: ..." with the
 * reason (the caller exits CLI_ERR): -EBADMSG damaged or not wgrelay's, -EPROTO an older schema
 * only a writing command migrates, -EACCES etc.
 */
int cli_open_cache_ro(struct cli_ctx *ctx, const char *cmd, struct cache **out);

/*
 * Usage errors: print "CMD: MESSAGE" and "see 'wgrelay CMD --help'" on stderr, return
 * CLI_USAGE. cli_bad_option explains what getopt_long returned for an optstring starting with
 * ':' (unknown option, or one missing its value).
 */
int cli_usage(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int cli_bad_option(const char *cmd, char **argv, int ch);
/*
 * val for option opt did not parse as a number lo..hi: "CMD: OPT VAL: out of range LO..HI", or
 * for what is not a number "CMD: OPT VAL: not [ALT or ]a number LO..HI" (alt: the words the
 * option also takes, "auto, off", or NULL). Returns CLI_USAGE.
 */
int cli_bad_number(const char *cmd, const char *opt, const char *val, uint64_t lo, uint64_t hi,
                   const char *alt);

/*
 * For a command that takes one operand and no option but --help: help on stdout when asked
 * (CLI_OK); "CMD: unknown option 'ARG'" or "CMD: wants WANTS" (CLI_USAGE) unless argv holds
 * just one operand; -1 when the command goes on with argv[1].
 */
int cli_one_operand(const char *cmd, const char *help, const char *wants, int argc, char **argv);
/*
 * The end of a remove-* command: key, the stored form of operand arg, out of the cache by drop
 * (0, -ENOENT none such, or -errno), the cache opened only when its file exists (none is made
 * to say that nothing is there). "removed WHAT KEY" on stdout (CLI_OK), "CMD: no WHAT 'ARG'"
 * on stderr (CLI_ERR), or CLI_ERR when the cache failed (it said why).
 */
int cli_remove(struct cli_ctx *ctx, const char *cmd, const char *what, const char *arg,
               const char *key, int (*drop)(struct cache *c, const char *key));

/*
 * Is name a WireGuard interface (kernel link of kind wireguard, or a userspace one's UAPI
 * socket)? 0 yes, -ENODEV no such interface, -EMEDIUMTYPE an interface but not WireGuard, or
 * another -errno when it cannot be told.
 */
int cli_wg_iface(const char *name);

/*
 * A relay ENDPOINT as users give it: IPv4[:PORT], [IPv6][:PORT] or HOST[:PORT], the port
 * defaulting to 51821. An IPv6 address must be in brackets (2001:db8::1:51821 could be either).
 * Refused: the unspecified address, multicast and broadcast, loopback (and "localhost") unless
 * allow_loopback. canon (CLI_EP_LEN) gets the stored form: an IP as addr_format prints it, a
 * host name as given with its port. For an IP *a is set and *is_name false. 0, or -EINVAL with
 * *why saying what is wrong.
 */
#define CLI_EP_LEN 64
int cli_endpoint_parse(const char *s, bool allow_loopback, char canon[CLI_EP_LEN], struct addr *a,
                       bool *is_name, const char **why);
/*
 * An endpoint's address for use: an IP at once; a host name is looked up in the background
 * (getaddrinfo_a), so a caller in an event loop never waits: -EINPROGRESS until the answer is
 * there (call again), then 0 with *a set, or -EHOSTUNREACH with *why (the lookup is forgotten:
 * the next call asks again). -EAGAIN when too many lookups run at once, -EINVAL not an endpoint.
 */
int cli_resolve(const char *endpoint, struct addr *a, const char **why);
/* Start the lookup of a host name endpoint (nothing for an IP), for cli_resolve later. */
void cli_resolve_start(const char *endpoint);
/* Wait until no lookup started by cli_resolve is running, at most timeout_ms. */
void cli_resolve_wait(int timeout_ms);

/* Print s as a JSON string literal (quotes and escapes included). */
void cli_json_str(FILE *f, const char *s);
/* "12 s ago" style age of a unix time, "never" for 0. */
const char *cli_age(char *buf, size_t len, int64_t then, int64_t now);

/* Commands (cmd_relay.c, cmd_iface.c, status.c, doctor.c, watch.c). */
int cmd_start_relay(struct cli_ctx *ctx, int argc, char **argv);
int cmd_add_bootstrap(struct cli_ctx *ctx, int argc, char **argv);
int cmd_remove_bootstrap(struct cli_ctx *ctx, int argc, char **argv);
int cmd_add_dht_bootstrap(struct cli_ctx *ctx, int argc, char **argv);    /* cmd_dht.c */
int cmd_remove_dht_bootstrap(struct cli_ctx *ctx, int argc, char **argv); /* cmd_dht.c */
int cmd_list_relays(struct cli_ctx *ctx, int argc, char **argv);
int cmd_configure_relay(struct cli_ctx *ctx, int argc, char **argv);
int cmd_status(struct cli_ctx *ctx, int argc, char **argv);
int cmd_doctor(struct cli_ctx *ctx, int argc, char **argv);
int cmd_show_key(struct cli_ctx *ctx, int argc, char **argv);
int cmd_watch(struct cli_ctx *ctx, int argc, char **argv);

#endif
