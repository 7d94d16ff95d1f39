/* cli.c: global options and the {name, fn, help} command table, like wg(8). */
#include "cli.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <net/if.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "cache.h"
#include "conf.h"
#include "dhtfind.h"
#include "key.h"
#include "addr.h"
#include "bootline.h"
#include "log.h"
#include "proto.h"
#include "turl.h"
#include "urls.h"
#include "version.h"
#include "wg.h"

static const struct cli_cmd commands[] = {
    {"watch", cmd_watch, "Run the helper daemon (foreground) on enabled interfaces"},
    {"status", cmd_status, "Show each peer's path (direct / relayed) and why"},
    {"doctor", cmd_doctor, "Check this host's set-up and explain what is wrong"},
    {"show-key", cmd_show_key, "Print the helper's public key (for a relay's AllowedKeys)"},
    {"list-relays", cmd_list_relays, "Probe and list known relays (--refresh: discover more)"},
    {"configure-relay", cmd_configure_relay, "Enable, disable or tune relay fallback on IFACE"},
    {"add-bootstrap-relay", cmd_add_bootstrap, "Add a relay by ENDPOINT and PUBKEY"},
    {"remove-bootstrap-relay", cmd_remove_bootstrap, "Remove a bootstrap relay"},
    {"add-dht-bootstrap", cmd_add_dht_bootstrap, "Add a DHT node (HOST:PORT) to find relays by"},
    {"remove-dht-bootstrap", cmd_remove_dht_bootstrap, "Remove a DHT bootstrap node"},
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
	        "  -V, --version  print the version and exit\n"
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
		char key[KEY_B64_STRLEN], fmt[ADDR_STRLEN], urls[CACHE_URLS];
		struct turl u[BOOTLINE_MAX_URLS];
		struct addr a;
		uint8_t k[KEY_LEN];
		size_t nu;
		/* Checked by load_config; here only entered. */
		if (bootline_parse_urls(e->value, PROTO_DEFAULT_PORT, &a, k, u, BOOTLINE_MAX_URLS,
		                        &nu, NULL) < 0 ||
		    urls_format(u, nu, urls, sizeof(urls)) < 0)
			continue;
		/* Keys parse only in their canonical spelling: this is the line's own text. */
		key_to_base64(key, k);
		struct cache_relay r = {.rtt_ms = -1, .load_permille = -1};
		struct cache_relay *have;
		size_t n;
		bool known = false;
		if (cache_relay_list(*out, &have, &n) == 0) {
			for (size_t i = 0; i < n; i++)
				known |= strcmp(have[i].pubkey, key) == 0 &&
				         strcmp(have[i].endpoint,
				                addr_format(&a, fmt, sizeof(fmt))) == 0 &&
				         strcmp(have[i].urls, urls) == 0;
			free(have);
		}
		if (known)
			continue;
		snprintf(r.pubkey, sizeof(r.pubkey), "%s", key);
		addr_format(&a, r.endpoint, sizeof(r.endpoint));
		snprintf(r.source, sizeof(r.source), "config");
		snprintf(r.status, sizeof(r.status), "unknown");
		if (cache_relay_upsert(*out, &r) == 0)
			cache_relay_set_urls(*out, key, urls);
	}
	return 0;
}

int cli_proxy(const struct conf *conf, struct turl_proxy *out, char *err, size_t errlen)
{
	const struct conf_entry *e = conf ? conf_last(conf, "Relay", "Proxy") : NULL;

	memset(out, 0, sizeof(*out));
	if (!e)
		return 0;
	int rc = turl_proxy_parse(out, e->value);
	if (rc == 0 && out->kind != TURL_PROXY_NONE)
		return 0;
	memset(out, 0, sizeof(*out));
	snprintf(err, errlen,
	         "%s:%u: Proxy wants socks5://[USER:PASS@]HOST:PORT or "
	         "http://HOST:PORT%s '%s'",
	         conf->name, e->line, rc == -ERANGE ? " (port out of range)" : "", e->value);
	return -EINVAL;
}

/*
 * The config file: [Helper] Database, GeoIP; [Relay] Bootstrap = ENDPOINT PUBKEY [URL ...]
 * (repeatable), Proxy = socks5://... | http://..., Dht = on|off, DhtBootstrap = HOST:PORT
 * (repeatable, dhtfind.h). Missing is fine unless named explicitly; errors are "file:line:
 * message 'token'".
 */
static int load_config(struct cli_ctx *ctx, bool explicit, bool db_set, bool geoip_set)
{
	static const char *const allowed[] = {"Helper.Database",
	                                      "Helper.GeoIP",
	                                      "Relay.Bootstrap",
	                                      "Relay.Dht",
	                                      "Relay.DhtBootstrap",
	                                      "Relay.Proxy",
	                                      NULL};
	char err[CONF_ERRLEN];
	const struct conf_entry *e = NULL;
	struct dhtfind_config dht;
	struct turl_proxy proxy;
	int rc = conf_load(&ctx->conf, ctx->config_path, err, sizeof(err));

	if (rc == -ENOENT && !explicit) {
		ctx->conf = NULL;
		return 0;
	}
	if (rc < 0 || conf_check_keys(ctx->conf, allowed, err, sizeof(err)) < 0) {
		/* "FILE: No such file or directory", "FILE:LINE: message" */
		fprintf(stderr, "%s\n", err);
		return -EINVAL;
	}
	while ((e = conf_next(ctx->conf, "Relay", "Bootstrap", e))) {
		struct turl u[BOOTLINE_MAX_URLS];
		char urls[CACHE_URLS];
		struct addr a;
		uint8_t k[KEY_LEN];
		size_t nu;
		unsigned bad;
		rc = bootline_parse_urls(e->value, PROTO_DEFAULT_PORT, &a, k, u, BOOTLINE_MAX_URLS,
		                         &nu, &bad);
		if (rc == 0 && urls_format(u, nu, urls, sizeof(urls)) < 0)
			rc = -ENOSPC;
		if (rc < 0) {
			char word[24] = "";
			if (bad)
				snprintf(word, sizeof(word), ": word %u", bad);
			fprintf(stderr,
			        "%s:%u: Bootstrap wants 'ENDPOINT PUBKEY' and up to %d "
			        "tcp://, tls://, ws:// or wss:// URLs%s%s '%s'\n",
			        ctx->conf->name, e->line, BOOTLINE_MAX_URLS,
			        rc == -ENOSPC ? ", shorter" : "", word, e->value);
			return -EINVAL;
		}
	}
	if (cli_proxy(ctx->conf, &proxy, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -EINVAL;
	}
	explicit_bzero(&proxy, sizeof(proxy));
	if (dhtfind_config_read(ctx->conf, &dht, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -EINVAL;
	}
	if (!db_set && (e = conf_last(ctx->conf, "Helper", "Database")))
		ctx->db_path = e->value;
	if (!geoip_set && (e = conf_last(ctx->conf, "Helper", "GeoIP")))
		ctx->geoip_path = e->value;
	return 0;
}

/*
 * Global options after the command name (up to a "--") count as if given before it; they are
 * taken out of the command's argv. Returns the new argc, or -1 for one missing its value.
 */
static int take_globals(struct cli_ctx *ctx, int argc, char **argv, bool *db_set, bool *config_set,
                        bool *geoip_set, const char *prog)
{
	static const struct {
		const char *name;
		char id;
	} with_value[] = {{"--db", 'd'}, {"--config", 'c'}, {"--geoip", 'g'}};
	int k = 1;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL;
		char id = 0;
		if (strcmp(a, "--") == 0) {
			while (i < argc)
				argv[k++] = argv[i++];
			break;
		}
		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			ctx->verbose = 1;
			continue;
		}
		for (size_t j = 0; j < sizeof(with_value) / sizeof(with_value[0]) && !id; j++) {
			size_t n = strlen(with_value[j].name);
			if (strncmp(a, with_value[j].name, n) != 0 || (a[n] != '\0' && a[n] != '='))
				continue;
			id = with_value[j].id;
			if (a[n] == '=')
				val = a + n + 1;
			else if (i + 1 < argc)
				val = argv[++i];
		}
		if (!id) {
			argv[k++] = argv[i];
			continue;
		}
		if (!val) {
			fprintf(stderr, "%s: option '%s' needs a value\nsee '%s --help'\n", prog, a,
			        prog);
			return -1;
		}
		if (id == 'd') {
			ctx->db_path = val;
			*db_set = true;
		} else if (id == 'c') {
			ctx->config_path = val;
			*config_set = true;
		} else {
			ctx->geoip_path = val;
			*geoip_set = true;
		}
	}
	argv[k] = NULL;
	return k;
}

static const char *env_or(const char *name, const char *def)
{
	const char *v = getenv(name);
	return v && *v ? v : def;
}

int cli_main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"db", required_argument, NULL, 'd'},
	    {"config", required_argument, NULL, 'c'},
	    {"geoip", required_argument, NULL, 'g'},
	    {"help", no_argument, NULL, 'h'},
	    {"verbose", no_argument, NULL, 'v'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
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
	while ((ch = getopt_long(argc, argv, "+hvV", opts, NULL)) != -1) {
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
		case 'V':
			printf("wgrelay %s\n", WGR_VERSION);
			return CLI_OK;
		default:
			fprintf(stderr, "%s: unknown or incomplete option '%s'\nsee '%s --help'\n",
			        prog, argv[optind - 1], prog);
			return CLI_USAGE;
		}
	}
	if (optind >= argc) {
		fprintf(stderr,
		        "Usage: %s [--db FILE] [--config FILE] [--geoip FILE] [-v] COMMAND [ARGS]\n"
		        "see '%s --help'\n",
		        prog, prog);
		return CLI_USAGE;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[optind], commands[i].name) == 0) {
			char **sub_argv = argv + optind;
			int sub_argc = take_globals(&ctx, argc - optind, sub_argv, &db_set,
			                            &config_set, &geoip_set, prog);
			if (sub_argc < 0)
				return CLI_USAGE;
			log_init("wgrelay", ctx.verbose, 0);
			if (load_config(&ctx, config_set, db_set, geoip_set) < 0)
				return CLI_ERR;
			optind = 0; /* glibc: 0 re-initializes getopt for the command argv */
			int rc = commands[i].fn(&ctx, sub_argc, sub_argv);
			conf_free(ctx.conf);
			return rc;
		}
	}
	fprintf(stderr, "%s: unknown command '%s'\nsee '%s --help'\n", prog, argv[optind], prog);
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

int cli_open_cache_ro(struct cli_ctx *ctx, const char *cmd, struct cache **out)
{
	int rc = cache_open_readonly(out, ctx->db_path);

	if (rc == 0)
		return 1;
	if (rc == -ENOENT) {
		/* Nothing recorded yet: an empty cache, and no file made for it. */
		rc = cache_open(out, ":memory:");
		if (rc == 0)
			return 0;
	}
	if (rc == -EBADMSG)
		fprintf(stderr, "%s: the cache %s is damaged or not wgrelay's; left as it is\n",
		        cmd, ctx->db_path);
	else if (rc == -EPROTO)
		fprintf(stderr,
		        "%s: the cache %s has an older schema; `wgrelay watch` or a command that "
		        "changes it (configure-relay) updates it\n",
		        cmd, ctx->db_path);
	else
		fprintf(stderr, "%s: cannot read the cache %s: %s\n", cmd, ctx->db_path,
		        strerror(-rc));
	return rc;
}

int cli_usage(const char *cmd, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cmd);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nsee 'wgrelay %s --help'\n", cmd);
	return CLI_USAGE;
}

int cli_bad_option(const char *cmd, char **argv, int ch)
{
	if (ch == ':')
		return cli_usage(cmd, "option '%s' needs a value", argv[optind - 1]);
	if (optopt > 0 && optopt < 128 && optopt != '-')
		return cli_usage(cmd, "unknown option '-%c'", optopt);
	return cli_usage(cmd, "unknown option '%s'", argv[optind - 1]);
}

int cli_bad_number(const char *cmd, const char *opt, const char *val, uint64_t lo, uint64_t hi,
                   const char *alt)
{
	uint64_t v;
	int rc = conf_parse_u64(val, 0, UINT64_MAX, &v);

	if (rc == 0 || rc == -ERANGE)
		return cli_usage(cmd, "%s %s: out of range %llu..%llu", opt, val,
		                 (unsigned long long)lo, (unsigned long long)hi);
	return cli_usage(cmd, "%s %s: not %s%s%s number %llu..%llu", opt, val, alt ? alt : "",
	                 alt ? " or" : "", alt ? " a" : "a", (unsigned long long)lo,
	                 (unsigned long long)hi);
}

int cli_one_operand(const char *cmd, const char *help, const char *wants, int argc, char **argv)
{
	if (cli_wants_help(argc, argv)) {
		fputs(help, stdout);
		return CLI_OK;
	}
	if (argc == 2 && argv[1][0] == '-' && strcmp(argv[1], "-") != 0)
		return cli_usage(cmd, "unknown option '%s'", argv[1]);
	if (argc != 2)
		return cli_usage(cmd, "wants %s", wants);
	return -1;
}

int cli_remove(struct cli_ctx *ctx, const char *cmd, const char *what, const char *arg,
               const char *key, int (*drop)(struct cache *c, const char *key))
{
	struct cache *c;
	struct stat st;
	int rc = -ENOENT;

	/* No cache file: nothing to remove, and none is made to say so. */
	if (strcmp(ctx->db_path, ":memory:") == 0 || stat(ctx->db_path, &st) == 0) {
		if (cli_open_cache(ctx, &c) < 0)
			return CLI_ERR;
		rc = drop(c, key);
		cache_free(c);
	}
	if (rc == -ENOENT) {
		fprintf(stderr, "%s: no %s '%s'\n", cmd, what, arg);
		return CLI_ERR;
	}
	if (rc < 0)
		return CLI_ERR;
	printf("removed %s %s\n", what, key);
	return CLI_OK;
}

int cli_wg_iface(const char *name)
{
	char **names;
	size_t n;
	bool wg = false;
	int rc = wg_list_devices(&names, &n);

	if (rc == 0) {
		for (size_t i = 0; i < n; i++)
			wg |= strcmp(names[i], name) == 0;
		wg_free_names(names);
	}
	if (wg)
		return 0;
	if (if_nametoindex(name) == 0)
		return errno == ENODEV || errno == ENXIO ? -ENODEV : -errno;
	return rc < 0 ? rc : -EMEDIUMTYPE;
}

/* A DNS name: dot-separated labels of letters, digits and '-', the last not all digits. */
static bool host_name_ok(const char *h, size_t len)
{
	size_t label = 0;
	bool digits_only = true;

	if (len == 0 || len > 253)
		return false;
	for (size_t i = 0; i < len; i++) {
		char ch = h[i];
		if (ch == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			digits_only = true;
			continue;
		}
		if ((!isalnum((unsigned char)ch) && ch != '-') || (label == 0 && ch == '-') ||
		    ++label > 63)
			return false;
		digits_only &= isdigit((unsigned char)ch) != 0;
	}
	return label > 0 && h[len - 1] != '-' && !digits_only;
}

int cli_endpoint_parse(const char *s, bool allow_loopback, char canon[CLI_EP_LEN], struct addr *a,
                       bool *is_name, const char **why)
{
	const char *colon = strchr(s, ':'), *host_end;
	uint64_t port = PROTO_DEFAULT_PORT;

	*is_name = false;
	memset(a, 0, sizeof(*a));
	if (s[0] == '[') {
		if (addr_parse(a, s, PROTO_DEFAULT_PORT) < 0 || addr_family(a) != AF_INET6) {
			*why = "not [IPv6]:PORT";
			return -EINVAL;
		}
	} else if (colon && strchr(colon + 1, ':')) {
		*why = "an IPv6 address goes in brackets, as in [2001:db8::1]:51821";
		return -EINVAL;
	} else {
		host_end = colon ? colon : s + strlen(s);
		if (colon && conf_parse_u64(colon + 1, 1, 65535, &port) < 0) {
			*why = "the port is not a number 1..65535";
			return -EINVAL;
		}
		char host[256];
		size_t hl = (size_t)(host_end - s);
		if (hl >= sizeof(host)) {
			*why = "too long";
			return -EINVAL;
		}
		memcpy(host, s, hl);
		host[hl] = '\0';
		if (hl == 0) {
			*why = "no address";
			return -EINVAL;
		}
		if (addr_parse(a, host, (uint16_t)port) < 0) {
			if (strspn(host, "0123456789.") == hl) {
				*why = "not an IPv4 address";
				return -EINVAL;
			}
			if (!host_name_ok(host, hl)) {
				*why = "not an IP address or host name";
				return -EINVAL;
			}
			if (!allow_loopback &&
			    (strcasecmp(host, "localhost") == 0 ||
			     (hl > 10 && strcasecmp(host + hl - 10, ".localhost") == 0))) {
				*why = "loopback (--allow-loopback for tests on one machine)";
				return -EINVAL;
			}
			if (snprintf(canon, CLI_EP_LEN, "%s:%u", host, (unsigned)port) >=
			    CLI_EP_LEN) {
				*why = "host name too long";
				return -EINVAL;
			}
			*is_name = true;
			return 0;
		}
	}
	unsigned cls = addr_classify(a);
	if (cls & ADDR_UNSPECIFIED) {
		*why = "the unspecified address names no relay";
		return -EINVAL;
	}
	if (cls & (ADDR_MULTICAST | ADDR_BROADCAST)) {
		*why = "not a unicast address";
		return -EINVAL;
	}
	if ((cls & ADDR_LOOPBACK) && !allow_loopback) {
		*why = "loopback (--allow-loopback for tests on one machine)";
		return -EINVAL;
	}
	addr_format(a, canon, CLI_EP_LEN);
	return 0;
}

/*
 * Host-name lookups in flight: getaddrinfo_a writes into the gaicb from its own thread until
 * gai_error says it is done, so a slot lives until then, whoever still waits for it.
 */
#define CLI_LOOKUPS 64

static struct cli_lookup {
	bool active;
	char endpoint[CLI_EP_LEN];
	char host[CLI_EP_LEN], port[8];
	struct addrinfo hints;
	struct gaicb cb;
} lookups[CLI_LOOKUPS];

/* The lookup of endpoint (a host name's), started when not running; NULL with *why if none. */
static struct cli_lookup *lookup(const char *endpoint, const char **why)
{
	struct cli_lookup *l = NULL, *slot = NULL;
	const char *colon = strrchr(endpoint, ':');
	uint64_t port;

	if (!colon || strlen(endpoint) >= CLI_EP_LEN || strchr(endpoint, '[') ||
	    conf_parse_u64(colon + 1, 1, 65535, &port) < 0 ||
	    !host_name_ok(endpoint, (size_t)(colon - endpoint))) {
		*why = "not IP:PORT or HOST:PORT";
		return NULL;
	}
	for (size_t i = 0; i < CLI_LOOKUPS && !l; i++) {
		if (lookups[i].active && strcmp(lookups[i].endpoint, endpoint) == 0)
			l = &lookups[i];
		else if (!lookups[i].active && !slot)
			slot = &lookups[i];
	}
	if (l)
		return l;
	if (!slot) {
		*why = "too many host names looked up at once";
		return NULL;
	}
	l = slot;
	memset(l, 0, sizeof(*l));
	snprintf(l->endpoint, sizeof(l->endpoint), "%s", endpoint);
	snprintf(l->host, sizeof(l->host), "%.*s", (int)(colon - endpoint), endpoint);
	snprintf(l->port, sizeof(l->port), "%u", (unsigned)port);
	l->hints.ai_family = AF_UNSPEC;
	l->hints.ai_socktype = SOCK_DGRAM;
	l->hints.ai_flags = AI_NUMERICSERV;
	l->cb.ar_name = l->host;
	l->cb.ar_service = l->port;
	l->cb.ar_request = &l->hints;
	struct gaicb *list[1] = {&l->cb};
	int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
	if (rc != 0) {
		*why = gai_strerror(rc);
		return NULL;
	}
	l->active = true;
	return l;
}

void cli_resolve_start(const char *endpoint)
{
	struct addr a;
	const char *why;

	if (addr_parse(&a, endpoint, PROTO_DEFAULT_PORT) < 0)
		lookup(endpoint, &why);
}

int cli_resolve(const char *endpoint, struct addr *a, const char **why)
{
	struct cli_lookup *l;

	*why = NULL;
	if (addr_parse(a, endpoint, PROTO_DEFAULT_PORT) == 0)
		return 0;
	memset(a, 0, sizeof(*a));
	if (!(l = lookup(endpoint, why)))
		return strcmp(*why, "not IP:PORT or HOST:PORT") == 0 ? -EINVAL : -EAGAIN;
	int rc = gai_error(&l->cb);
	if (rc == EAI_INPROGRESS)
		return -EINPROGRESS;
	l->active = false;
	if (rc == 0 && l->cb.ar_result) {
		addr_from_sockaddr(a, l->cb.ar_result->ai_addr, l->cb.ar_result->ai_addrlen);
		addr_unmap(a);
		freeaddrinfo(l->cb.ar_result);
		return 0;
	}
	if (l->cb.ar_result)
		freeaddrinfo(l->cb.ar_result);
	*why = rc == 0 ? "no address" : gai_strerror(rc);
	return -EHOSTUNREACH;
}

void cli_resolve_wait(int timeout_ms)
{
	struct timespec start, now;

	clock_gettime(CLOCK_MONOTONIC, &start);
	for (;;) {
		const struct gaicb *list[CLI_LOOKUPS];
		int n = 0;
		for (size_t i = 0; i < CLI_LOOKUPS; i++)
			if (lookups[i].active && gai_error(&lookups[i].cb) == EAI_INPROGRESS)
				list[n++] = &lookups[i].cb;
		clock_gettime(CLOCK_MONOTONIC, &now);
		long left = timeout_ms - ((now.tv_sec - start.tv_sec) * 1000 +
		                          (now.tv_nsec - start.tv_nsec) / 1000000);
		if (n == 0 || left <= 0)
			return;
		struct timespec ts = {.tv_sec = left / 1000, .tv_nsec = (left % 1000) * 1000000};
		gai_suspend(list, n, &ts);
	}
}
