/* cmd_relay.c: start-relay, add/remove-bootstrap-relay and list-relays (--refresh). */
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bootline.h"
#include "cache.h"
#include "cli.h"
#include "conf.h"
#include "dhtfind.h"
#include "geoip.h"
#include "key.h"
#include "log.h"
#include "probe.h"
#include "proto.h"
#include "refresh.h"
#include "registry.h"
#include "selfaddr.h"
#include "token.h"
#include "turl.h"
#include "urls.h"

static const char start_help[] =
    "Usage: wgrelay start-relay [--port N] [--max-connections N] [--max-bandwidth KBPS]\n"
    "                           [--dry-run] [-- WGRELAYD-OPTIONS...]\n"
    "Run a relay on this node by executing wgrelayd (next to wgrelay, else from PATH).\n"
    "What is not given is left to wgrelayd (its configuration file, else its defaults).\n"
    "  --port N             UDP control port 1..65535, on IPv4 and IPv6 (wgrelayd\n"
    "                       --listen 0.0.0.0:N --listen [::]:N; wgrelayd's default 51821)\n"
    "  --max-connections N  paired sessions in all, 1..1000000000 (wgrelayd --max-circuits;\n"
    "                       wgrelayd's default 512)\n"
    "  --max-bandwidth KBPS per-session cap in kilobytes per second, 0..1000000000, 0 = none\n"
    "                       (wgrelayd --max-bandwidth; wgrelayd's default none)\n"
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

/* One word of a command line as a shell reads it back: quoted when it has to be. */
static void print_word(const char *w)
{
	if (*w && strspn(w, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	                    "@%+=:,./_-[]") == strlen(w)) {
		fputs(w, stdout);
		return;
	}
	putchar('\'');
	for (; *w; w++)
		if (*w == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*w);
	putchar('\'');
}

int cmd_start_relay(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char cmd[] = "start-relay";
	static const struct option opts[] = {
	    {"port", required_argument, NULL, 'p'},
	    {"max-connections", required_argument, NULL, 'c'},
	    {"max-bandwidth", required_argument, NULL, 'b'},
	    {"dry-run", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint64_t v;
	bool port = false, conns = false, kbps = false, dry = false;
	char bin[PATH_MAX], listen4[32], listen6[32], conns_arg[24], kbps_arg[24];
	int ch;

	(void)ctx;
	/* '+': stop at the first word that is not an option, so that only "--" passes words on. */
	while ((ch = getopt_long(argc, argv, "+:h", opts, NULL)) != -1) {
		switch (ch) {
		case 'p':
			if (conf_parse_u64(optarg, 1, 65535, &v) < 0)
				return cli_bad_number(cmd, "--port", optarg, 1, 65535, NULL);
			snprintf(listen4, sizeof(listen4), "0.0.0.0:%llu", (unsigned long long)v);
			snprintf(listen6, sizeof(listen6), "[::]:%llu", (unsigned long long)v);
			port = true;
			break;
		case 'c':
			if (conf_parse_u64(optarg, 1, 1000000000, &v) < 0)
				return cli_bad_number(cmd, "--max-connections", optarg, 1,
				                      1000000000, NULL);
			snprintf(conns_arg, sizeof(conns_arg), "%llu", (unsigned long long)v);
			conns = true;
			break;
		case 'b':
			if (conf_parse_u64(optarg, 0, 1000000000, &v) < 0)
				return cli_bad_number(cmd, "--max-bandwidth", optarg, 0, 1000000000,
				                      NULL);
			snprintf(kbps_arg, sizeof(kbps_arg), "%llu", (unsigned long long)v);
			kbps = true;
			break;
		case 'n':
			dry = true;
			break;
		case 'h':
			fputs(start_help, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(cmd, argv, ch);
		}
	}
	if (optind < argc && strcmp(argv[optind - 1], "--") != 0)
		return cli_usage(cmd, "unexpected argument '%s' (wgrelayd's options go after --)",
		                 argv[optind]);
	int extra = argc - optind;
	char **av = calloc((size_t)extra + 12, sizeof(*av));
	if (!av)
		return CLI_ERR;
	int k = 0;
	av[k++] = find_wgrelayd(bin, sizeof(bin));
	av[k++] = "-f";
	if (port) {
		/* Both families, as wgrelayd's own default does. */
		av[k++] = "--listen";
		av[k++] = listen4;
		av[k++] = "--listen";
		av[k++] = listen6;
	}
	if (conns) {
		av[k++] = "--max-circuits";
		av[k++] = conns_arg;
	}
	if (kbps) {
		av[k++] = "--max-bandwidth";
		av[k++] = kbps_arg;
	}
	for (int i = optind; i < argc; i++)
		av[k++] = argv[i];
	av[k] = NULL;
	if (dry) {
		for (int i = 0; i < k; i++) {
			if (i)
				putchar(' ');
			print_word(av[i]);
		}
		printf("\n");
		free(av);
		return CLI_OK;
	}
	fflush(NULL);
	execvp(av[0], av);
	log_warn("exec %s", av[0]);
	free(av);
	return CLI_ERR;
}

static const char add_help[] =
    "Usage: wgrelay add-bootstrap-relay [--allow-loopback] ENDPOINT PUBKEY [URL...]\n"
    "         [--token-command CMD | --token-secret SECRET --token-name NAME | --no-token]\n"
    "Add a relay, or move a known one, and say which. ENDPOINT is IP[:PORT], [IPv6][:PORT]\n"
    "or HOST[:PORT] (port default 51821; a host name is stored as given and looked up\n"
    "when used), PUBKEY the relay's base64 public key (wgrelayd --show-public-key).\n"
    "URL (up to 4): where the relay also listens for streams, tried in order when UDP\n"
    "goes unanswered: tcp://HOST:PORT, tls://HOST:PORT, ws://HOST[:PORT][/PATH] or\n"
    "wss://HOST[:PORT][/PATH] (through [Relay] Proxy when one is set). Given URLs replace\n"
    "the relay's; none leaves them as they are.\n"
    "  --allow-loopback      accept a loopback ENDPOINT (tests on one machine)\n"
    "A relay in token mode wants a credential in every BIND; give one of:\n"
    "  --token-command CMD   run CMD (/bin/sh -c, 5 s at most) for one; its first line of\n"
    "                        output is EXPIRY:NAME:MAC\n"
    "  --token-secret SECRET the relay's shared Secret (16+ characters): the helper mints\n"
    "  --token-name NAME     tokens EXPIRY:NAME valid for an hour (both options together)\n"
    "  --no-token            forget the relay's credential\n"
    "Without these a known relay keeps its credential. The secret is stored in the\n"
    "database (mode 0600) in clear.\n";

/* The stream URLs the line of pubkey gives now, "" none. */
static void line_urls(struct cache *c, const char *pubkey, char *out, size_t cap)
{
	struct cache_relay *r;
	size_t n;

	out[0] = '\0';
	if (cache_relay_list(c, &r, &n) < 0)
		return;
	for (size_t i = 0; i < n; i++)
		if (strcmp(r[i].pubkey, pubkey) == 0)
			snprintf(out, cap, "%s", r[i].urls);
	free(r);
}

int cmd_add_bootstrap(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char cmd[] = "add-bootstrap-relay";
	static const struct option opts[] = {
	    {"allow-loopback", no_argument, NULL, 'l'},
	    {"token-command", required_argument, NULL, 'c'},
	    {"token-secret", required_argument, NULL, 's'},
	    {"token-name", required_argument, NULL, 'N'},
	    {"no-token", no_argument, NULL, 'n'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	uint8_t key[KEY_LEN];
	struct addr a;
	struct cache *c;
	struct cache_token tok = {0}, had;
	char ep[CLI_EP_LEN], was[CACHE_TEXT], urls[CACHE_URLS], had_urls[CACHE_URLS] = "";
	struct turl turls[URLS_MAX];
	size_t n_turls = 0;
	bool allow_lo = false, is_name, no_token = false, set_token;
	const char *why, *tcmd = NULL, *tsecret = NULL, *tname = NULL;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			allow_lo = true;
			break;
		case 'c':
			tcmd = optarg;
			break;
		case 's':
			tsecret = optarg;
			break;
		case 'N':
			tname = optarg;
			break;
		case 'n':
			no_token = true;
			break;
		case 'h':
			fputs(add_help, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(cmd, argv, ch);
		}
	}
	if (argc - optind < 2 || argc - optind > 2 + URLS_MAX)
		return cli_usage(cmd, "wants ENDPOINT PUBKEY and up to %d URLs", URLS_MAX);
	for (int i = optind + 2; i < argc; i++) {
		int e = turl_parse(&turls[n_turls], argv[i]);
		if (e < 0 || turls[n_turls].kind == TURL_UDP)
			return cli_usage(cmd, "URL '%s': %s", argv[i],
			                 e == -ERANGE ? "port out of range"
			                 : e < 0 ? "not tcp://, tls://, ws:// or wss://HOST:PORT"
			                         : "udp: ENDPOINT is the relay's UDP address");
		n_turls++;
	}
	if (urls_format(turls, n_turls, urls, sizeof(urls)) < 0)
		return cli_usage(cmd, "URLs: longer than %d characters together", CACHE_URLS - 1);
	if ((tcmd != NULL) + (tsecret != NULL || tname != NULL) + no_token > 1)
		return cli_usage(cmd, "--token-command, --token-secret/--token-name and --no-token "
		                      "exclude each other");
	if ((tsecret != NULL) != (tname != NULL))
		return cli_usage(cmd, "--token-secret and --token-name go together");
	if (tcmd) {
		if (!*tcmd || strlen(tcmd) >= sizeof(tok.command))
			return cli_usage(cmd,
			                 "--token-command: empty or longer than %zu characters",
			                 sizeof(tok.command) - 1);
		snprintf(tok.command, sizeof(tok.command), "%s", tcmd);
	}
	if (tsecret) {
		if (strlen(tsecret) < TOKEN_MIN_SECRET || strlen(tsecret) >= sizeof(tok.secret))
			return cli_usage(cmd,
			                 "--token-secret: %d to %zu characters, as the relay's "
			                 "Secret",
			                 TOKEN_MIN_SECRET, sizeof(tok.secret) - 1);
		if (strlen(tname) > TOKEN_NAME_MAX)
			return cli_usage(cmd, "--token-name: at most %d characters",
			                 TOKEN_NAME_MAX);
		snprintf(tok.secret, sizeof(tok.secret), "%s", tsecret);
		snprintf(tok.name, sizeof(tok.name), "%s", tname);
		if (token_source_check(&tok) < 0)
			return cli_usage(cmd, "--token-name '%s': %s", tname,
			                 token_strerror(token_source_check(&tok)));
	}
	set_token = tcmd || tsecret || no_token;
	const char *given = argv[optind], *pub = argv[optind + 1];
	if (cli_endpoint_parse(given, allow_lo, ep, &a, &is_name, &why) < 0)
		return cli_usage(cmd, "endpoint '%s': %s", given, why);
	if (key_from_base64(key, pub) < 0)
		return cli_usage(cmd, "public key '%s': not 32 bytes in base64", pub);
	if (cli_open_cache(ctx, &c) < 0)
		return CLI_ERR;
	int known = cache_bootstrap_get(c, pub, was, sizeof(was));
	line_urls(c, pub, had_urls, sizeof(had_urls));
	bool same_urls = !n_turls || strcmp(had_urls, urls) == 0;
	bool had_token = cache_token_get(c, pub, &had) == 0;
	bool same_token =
	    set_token &&
	    (no_token ? !had_token
	              : had_token && strcmp(had.command, tok.command) == 0 &&
	                    strcmp(had.secret, tok.secret) == 0 && strcmp(had.name, tok.name) == 0);
	sodium_memzero(&had, sizeof(had));
	if (known == 0 && strcmp(was, ep) == 0 && (!set_token || same_token) && same_urls) {
		cache_free(c);
		sodium_memzero(&tok, sizeof(tok));
		printf("relay %s at %s: unchanged\n", pub, ep);
		return CLI_OK;
	}
	rc = known == 0 && strcmp(was, ep) == 0 ? 0 : cache_bootstrap_add(c, ep, pub, time(NULL));
	if (rc == 0 && set_token)
		rc = cache_token_set(c, pub, no_token ? NULL : &tok);
	if (rc == 0 && n_turls)
		rc = cache_relay_set_urls(c, pub, urls);
	cache_free(c);
	sodium_memzero(&tok, sizeof(tok));
	if (rc < 0)
		return CLI_ERR;
	if (known == 0 && strcmp(was, ep) != 0)
		printf("moved relay %s from %s to %s\n", pub, was, ep);
	else if (known != 0)
		printf("added relay %s at %s\n", pub, ep);
	if (n_turls && !same_urls)
		printf("relay %s: stream URLs %s\n", pub, urls);
	if (set_token)
		printf("relay %s: token credential %s\n", pub,
		       no_token ? (had_token ? "removed" : "none")
		       : tcmd   ? "from a command"
		                : "minted from the shared secret (secret set)");
	return CLI_OK;
}

static const char remove_help[] =
    "Usage: wgrelay remove-bootstrap-relay ENDPOINT|PUBKEY\n"
    "Forget a bootstrap relay, named by its endpoint or public key.\n";

int cmd_remove_bootstrap(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char cmd[] = "remove-bootstrap-relay";
	struct addr a;
	char ep[CLI_EP_LEN];
	uint8_t key[KEY_LEN];
	const char *what, *why;
	bool is_name;
	int rc = cli_one_operand(cmd, remove_help, "one ENDPOINT or PUBKEY", argc, argv);

	if (rc >= 0)
		return rc;
	what = argv[1];
	if (strlen(what) != KEY_B64_LEN || key_from_base64(key, what) < 0) {
		if (cli_endpoint_parse(what, true, ep, &a, &is_name, &why) < 0)
			return cli_usage(cmd, "'%s' is neither a public key nor an endpoint (%s)",
			                 what, why);
		what = ep;
	}
	return cli_remove(ctx, cmd, "bootstrap relay", argv[1], what, cache_bootstrap_remove);
}

/* The auth mode a PONG advertised; NULL when no PONG was seen. */
static const char *auth_mode(uint32_t flags)
{
	if (!(flags & (PONG_F_AUTH_KEYS | PONG_F_AUTH_TOKEN | PONG_F_SEALED_OK | PONG_F_DIRECT_OK |
	               PONG_F_FULL)))
		return NULL;
	return (flags & PONG_F_AUTH_KEYS) ? "keys" : (flags & PONG_F_AUTH_TOKEN) ? "token" : "open";
}

static void json_str_or_null(const char *key, const char *v)
{
	printf(", \"%s\": ", key);
	if (v && *v)
		cli_json_str(stdout, v);
	else
		printf("null");
}

/* "urls": the stream URLs tried in order (the line's, then the descriptor's). */
static void json_urls(const struct registry_entry *e)
{
	struct turl u[URLS_MAX];
	size_t n = urls_of_relay(&e->info, u, URLS_MAX);

	printf(", \"urls\": [");
	for (size_t i = 0; i < n; i++) {
		char t[TURL_STRLEN];
		if (turl_format(&u[i], t, sizeof(t)) < 0)
			continue;
		printf("%s", i ? ", " : "");
		cli_json_str(stdout, t);
	}
	printf("]");
}

static void print_json_relay(const struct registry_entry *e, double km, bool first)
{
	const struct cache_relay *r = &e->info;
	char ip[ADDR_STRLEN];

	printf("%s\n  {\"endpoint\": ", first ? "" : ",");
	cli_json_str(stdout, r->endpoint);
	json_str_or_null("address", e->addr.len ? addr_format(&e->addr, ip, sizeof(ip)) : NULL);
	json_str_or_null("pubkey", r->pubkey);
	json_str_or_null("status", registry_shown_status(r));
	json_str_or_null("auth", auth_mode(r->flags));
	json_str_or_null("source", r->source);
	json_str_or_null("token", r->token);
	json_str_or_null("city", r->has_loc ? r->city : NULL);
	json_str_or_null("country", r->has_loc ? r->country : NULL);
	if (r->has_loc)
		printf(", \"lat\": %.4f, \"lon\": %.4f", r->lat, r->lon);
	else
		printf(", \"lat\": null, \"lon\": null");
	if (km >= 0)
		printf(", \"distance_km\": %.0f", km);
	else
		printf(", \"distance_km\": null");
	if (r->rtt_ms >= 0)
		printf(", \"rtt_ms\": %d", r->rtt_ms);
	else
		printf(", \"rtt_ms\": null");
	if (r->load_permille >= 0)
		printf(", \"load_permille\": %d", r->load_permille);
	else
		printf(", \"load_permille\": null");
	if (r->last_seen > 0)
		printf(", \"last_seen\": %lld", (long long)r->last_seen);
	else
		printf(", \"last_seen\": null");
	json_urls(e);
	json_str_or_null("transport", r->transport[0] ? r->transport : NULL);
	/* The descriptor held, if any (schema 5): who signed it, its number and its times. */
	json_str_or_null("identity", r->has_desc ? r->identity : NULL);
	if (r->has_desc)
		printf(", \"seq\": %llu, \"issued_at\": %lld, \"expires_at\": %lld}",
		       (unsigned long long)r->seq, (long long)r->issued, (long long)r->expires);
	else
		printf(", \"seq\": null, \"issued_at\": null, \"expires_at\": null}");
}

/* A span of seconds in a few characters: "45s", "12m", "5h", "6d". */
static const char *span(char *buf, size_t len, int64_t s)
{
	if (s < 120)
		snprintf(buf, len, "%llds", (long long)s);
	else if (s < 120 * 60)
		snprintf(buf, len, "%lldm", (long long)s / 60);
	else if (s < 48 * 3600)
		snprintf(buf, len, "%lldh", (long long)s / 3600);
	else
		snprintf(buf, len, "%lldd", (long long)s / 86400);
	return buf;
}

static void print_text_relay(const struct registry_entry *e, double km, int64_t now)
{
	const struct cache_relay *r = &e->info;
	const char *auth = auth_mode(r->flags);
	char age[32], loc[96], dist[24], rtt[16], load[16], ep[CACHE_TEXT + ADDR_STRLEN + 4],
	    ip[ADDR_STRLEN], issued[24], expires[24];
	struct addr num;

	if (r->has_loc)
		snprintf(loc, sizeof(loc), "%s%s%s", r->city[0] ? r->city : "?",
		         r->country[0] ? "/" : "", r->country);
	else
		snprintf(loc, sizeof(loc), "unknown");
	snprintf(dist, sizeof(dist), km >= 0 ? "%.0f km" : "-", km);
	snprintf(rtt, sizeof(rtt), r->rtt_ms >= 0 ? "%d ms" : "-", r->rtt_ms);
	snprintf(load, sizeof(load), r->load_permille >= 0 ? "%d%%" : "-", r->load_permille / 10);
	/* A host name shows the address it was found at. */
	if (e->addr.len && addr_parse(&num, r->endpoint, PROTO_DEFAULT_PORT) < 0)
		snprintf(ep, sizeof(ep), "%s (%s)", r->endpoint,
		         addr_format_ip(&e->addr, ip, sizeof(ip)));
	else
		snprintf(ep, sizeof(ep), "%s", r->endpoint);
	/* AGE: how old the descriptor held is; EXPIRES: how long it has left. */
	snprintf(issued, sizeof(issued), "-");
	snprintf(expires, sizeof(expires), "-");
	if (r->has_desc) {
		span(issued, sizeof(issued), r->issued < now ? now - r->issued : 0);
		if (r->expires > now)
			span(expires, sizeof(expires), r->expires - now);
		else
			snprintf(expires, sizeof(expires), "expired");
	}
	printf("%-22s %.8s %-11s %-5s %-18.18s %9s %7s %6s %-9s %5s %7s %s\n", ep, r->pubkey,
	       registry_shown_status(r), auth ? auth : "-", loc, dist, rtt, load, r->source, issued,
	       expires, cli_age(age, sizeof(age), r->last_seen, now));
}

static void print_relays(const struct registry_entry *e, size_t n, const struct geoip_loc *me,
                         bool me_known, bool json, int64_t now)
{
	if (!json)
		printf("%-22s %-8s %-11s %-5s %-18s %9s %7s %6s %-9s %5s %7s %s\n", "ENDPOINT",
		       "KEY", "STATUS", "AUTH", "LOCATION", "DISTANCE", "RTT", "LOAD", "SOURCE",
		       "AGE", "EXPIRES", "LAST SEEN");
	else
		printf("[");
	for (size_t i = 0; i < n; i++) {
		const struct cache_relay *r = &e[i].info;
		double km = -1;
		if (me_known && r->has_loc)
			km = geoip_distance_km(me->lat, me->lon, r->lat, r->lon);
		if (json)
			print_json_relay(&e[i], km, i == 0);
		else
			print_text_relay(&e[i], km, now);
	}
	if (json) {
		printf("%s]\n", n ? "\n" : "");
		return;
	}
	/* Stream URLs and the carrier the helper links over, when not plain UDP. */
	for (size_t i = 0; i < n; i++) {
		struct turl u[URLS_MAX];
		char text[CACHE_URLS];
		size_t k = urls_of_relay(&e[i].info, u, URLS_MAX);
		if (k && urls_format(u, k, text, sizeof(text)) >= 0)
			printf("stream URLs of %.8s: %s\n", e[i].info.pubkey, text);
		if (e[i].info.transport[0] && strcmp(e[i].info.transport, "udp") != 0)
			printf("helper links to %.8s over %s\n", e[i].info.pubkey,
			       e[i].info.transport);
	}
	/* Token credentials, without the secret. */
	for (size_t i = 0; i < n; i++)
		if (e[i].info.token[0])
			printf("token credential of %.8s: %s\n", e[i].info.pubkey,
			       strcmp(e[i].info.token, "command") == 0 ? "command" : "secret set");
}

static int relay_cmp(const void *x, const void *y)
{
	const struct registry_entry *a = x, *b = y;
	int d = strcmp(a->info.endpoint, b->info.endpoint);
	return d ? d : strcmp(a->info.pubkey, b->info.pubkey);
}

/*
 * The config file's [Relay] Bootstrap entries, as cli_open_cache enters them, into the list
 * read from a read-only cache (which cannot take them). *e grows; n at most max.
 */
static int merge_config(struct cli_ctx *ctx, struct registry_entry **e, size_t *n, size_t max)
{
	const struct conf_entry *c = NULL;

	while (ctx->conf && (c = conf_next(ctx->conf, "Relay", "Bootstrap", c))) {
		char ep[ADDR_STRLEN], key[KEY_B64_STRLEN], urls[CACHE_URLS];
		struct turl u[BOOTLINE_MAX_URLS];
		struct addr a;
		uint8_t k[KEY_LEN];
		size_t i, nu;
		if (bootline_parse_urls(c->value, PROTO_DEFAULT_PORT, &a, k, u, BOOTLINE_MAX_URLS,
		                        &nu, NULL) < 0 ||
		    urls_format(u, nu, urls, sizeof(urls)) < 0)
			continue;
		key_to_base64(key, k); /* the canonical spelling, as the line gave it */
		for (i = 0; i < *n && strcmp((*e)[i].info.pubkey, key) != 0; i++)
			;
		struct cache_relay *r;
		if (i == *n) {
			if (*n >= max)
				continue;
			struct registry_entry *g = realloc(*e, (*n + 1) * sizeof(**e));
			if (!g)
				return -ENOMEM;
			*e = g;
			memset(&g[i], 0, sizeof(g[i]));
			g[i].lookup = true;
			r = &g[i].info;
			r->rtt_ms = r->load_permille = -1;
			snprintf(r->pubkey, sizeof(r->pubkey), "%s", key);
			snprintf(r->status, sizeof(r->status), "%s",
			         registry_status_name(REGISTRY_UNKNOWN));
			(*n)++;
		} else if (strcmp((*e)[i].info.endpoint, addr_format(&a, ep, sizeof(ep))) == 0) {
			snprintf((*e)[i].info.urls, sizeof((*e)[i].info.urls), "%s", urls);
			continue;
		}
		r = &(*e)[i].info;
		snprintf(r->urls, sizeof(r->urls), "%s", urls);
		addr_format(&a, r->endpoint, sizeof(r->endpoint));
		snprintf(r->source, sizeof(r->source), "config");
	}
	if (*n > 1)
		qsort(*e, *n, sizeof(**e), relay_cmp);
	return 0;
}

/* Host names are looked up at once, all together, for at most this long. */
#define LIST_RESOLVE_MS 5000

/*
 * PING every relay with an address, merge the answers into the entries (and locate them),
 * and record them in the cache file if there is one. Where we are (for DISTANCE) goes into
 * *me. The number of relays that answered, or -ENOMEM.
 */
static int probe_relays(struct cli_ctx *ctx, struct registry_entry *e, size_t n, int timeout,
                        uint32_t fwmark, bool have_file, struct geoip *g, struct geoip_loc *me,
                        bool *me_known, int64_t now)
{
	struct probe_target *t = calloc(n, sizeof(*t));
	struct addr *seen = calloc(n, sizeof(*seen));
	struct cache *c;
	int answered = 0;

	if (!t || !seen) {
		free(t);
		free(seen);
		return -ENOMEM;
	}
	for (size_t i = 0; i < n; i++)
		t[i].addr = e[i].addr; /* len 0 (not found): not sent to */
	probe_ping(t, n, timeout, fwmark);
	for (size_t i = 0; i < n; i++) {
		registry_probe_merge(&e[i].info, &t[i], e[i].addr.len != 0, now);
		answered += t[i].answered;
		if (t[i].answered)
			seen[i] = t[i].pong.observed;
		else if (!e[i].addr.len)
			fprintf(stderr, "list-relays: %s: %s\n", e[i].info.endpoint, e[i].why);
		e[i].info.has_loc = registry_locate(&e[i], g);
	}
	/* Where we are is what most relays saw, not the first one. */
	struct selfaddr_vote v = selfaddr_decide(seen, n, NULL);
	*me_known = v.known && geoip_lookup(g, &v.addr, me) == 0;
	/* What was learned goes into the cache, if there is one to keep it. */
	if (have_file && cli_open_cache(ctx, &c) == 0) {
		for (size_t i = 0; i < n; i++) {
			cache_relay_upsert(c, &e[i].info);
			cache_relay_outcome(c, e[i].info.pubkey, t[i].answered, now);
		}
		cache_free(c);
	}
	free(seen);
	free(t);
	return answered;
}

/*
 * The relays of the cache and the config file, sorted, with their addresses (host names
 * looked up when look_up), and the fwmark probes take. 0, 1 (the cache is a file) or -errno.
 */
static int list_load(struct cli_ctx *ctx, bool look_up, struct registry_entry **e, size_t *n,
                     uint32_t *fwmark)
{
	struct cache *c;
	int have_file = cli_open_cache_ro(ctx, "list-relays", &c);

	if (have_file < 0)
		return have_file;
	int rc = registry_load(c, e, n);
	*fwmark = look_up ? registry_device_fwmark(c) : 0;
	cache_free(c);
	if (rc < 0)
		return rc;
	if ((rc = merge_config(ctx, e, n, CACHE_MAX_RELAYS)) < 0) {
		free(*e);
		return rc;
	}
	/* cache_relay_list returns at most CACHE_MAX_RELAYS; probe no more than probe_ping does. */
	if (*n > PROBE_MAX_TARGETS)
		*n = PROBE_MAX_TARGETS;
	for (size_t i = 0; i < *n; i++)
		(*e)[i].lookup = look_up;
	registry_resolve(*e, *n, look_up ? LIST_RESOLVE_MS : 0);
	return have_file;
}

/*
 * The key the one-shot refresh links with: the helper's own (helper.key next to the database),
 * so relays in keys mode know it; else a key made for this run and forgotten.
 */
static void refresh_key(struct cli_ctx *ctx, uint8_t priv[KEY_LEN])
{
	char dir[4096], path[4200];

	snprintf(dir, sizeof(dir), "%s", ctx->db_path);
	snprintf(path, sizeof(path), "%s/helper.key", dirname(dir));
	if (strcmp(ctx->db_path, ":memory:") == 0 || key_load_file(priv, path) < 0) {
		log_debug("list-relays: no helper key at %s: linking with a key of this run", path);
		key_generate_private(priv);
	}
}

/*
 * With [Relay] Dht = on, --refresh looks in the DHT first (dhtfind.h), so the relays found
 * there are linked to and asked next. 1 when a DHT address answered, else 0.
 */
static int refresh_dht(struct cli_ctx *ctx, struct cache *c, FILE *o)
{
	struct dhtfind_config cfg;
	struct dhtfind_stats st;
	char err[CONF_ERRLEN], sum[512];
	int rc;

	if (dhtfind_config_read(ctx->conf, &cfg, err, sizeof(err)) < 0 || !cfg.on)
		return 0;
	if ((rc = dhtfind_once(c, &cfg, registry_device_fwmark(c), &st)) < 0) {
		fprintf(o, "refresh: no DHT lookup: %s\n", strerror(-rc));
		return 0;
	}
	fprintf(o, "refresh: DHT: %s\n", dhtfind_summary(&st, sum, sizeof(sum)));
	return st.answered > 0;
}

/*
 * --refresh: link to the known relays now (bootstrap and config lines first), page through
 * the relays each knows (DISCOVER) and store those whose descriptor passes. Says what came of
 * it, on standard error under --json. 1 when a relay answered, 0 when none did, or -errno.
 */
static int refresh_relays(struct cli_ctx *ctx, bool json)
{
	FILE *o = json ? stderr : stdout;
	struct registry_entry *e = NULL;
	struct refresh_result res;
	struct geoip *g = NULL;
	struct cache *c;
	uint8_t priv[KEY_LEN];
	char sum[512];
	size_t n = 0;
	int rc, dht;

	if (sodium_init() < 0 || cli_open_cache(ctx, &c) < 0)
		return -EIO;
	dht = refresh_dht(ctx, c, o);
	if ((rc = registry_load(c, &e, &n)) < 0) {
		cache_free(c);
		return rc;
	}
	/* Host names only of the relays that may be linked to. */
	for (size_t i = 0; i < n; i++)
		e[i].lookup = i < REFRESH_MAX_LINKS;
	registry_resolve(e, n, LIST_RESOLVE_MS);
	refresh_key(ctx, priv);
	geoip_open(&g, ctx->geoip_path);
	rc = refresh_once(c, e, n, priv, registry_device_fwmark(c), g, &res);
	sodium_memzero(priv, sizeof(priv));
	geoip_free(g);
	cache_free(c);
	free(e);
	if (rc < 0)
		return rc;
	if (res.pruned)
		fprintf(o, "refresh: forgot %u relays whose descriptor expired\n", res.pruned);
	if (!res.asked)
		return dht; /* no relay known: the list says so */
	fprintf(o, "refresh: %u of %u relays answered (%u linked): %s\n", res.answered, res.asked,
	        res.linked, refresh_summary(&res.stats, sum, sizeof(sum)));
	return res.answered > 0 || dht;
}

int cmd_list_relays(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char cmd[] = "list-relays";
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},    {"no-probe", no_argument, NULL, 'n'},
	    {"refresh", no_argument, NULL, 'r'}, {"timeout", required_argument, NULL, 't'},
	    {"help", no_argument, NULL, 'h'},    {NULL, 0, NULL, 0},
	};
	static const char help[] =
	    "Usage: wgrelay list-relays [--json] [--no-probe] [--refresh] [--timeout MS]\n"
	    "PING every known relay and list endpoint (and the address a host name was found\n"
	    "at), key, status (ok, full, refused, unreachable, unresolved; unknown when never\n"
	    "probed), auth mode the relay announces (open, keys, token), location and distance\n"
	    "from this node's public address (GeoIP), RTT, advertised load, source (bootstrap,\n"
	    "config, relay or dht: discovered), age and expiry of its descriptor, last seen.\n"
	    "Discovered relays whose descriptor expired are not listed. Exits 1 when no relay\n"
	    "answers. The PINGs carry the fwmark of the watched WireGuard interfaces, as the\n"
	    "helper's links do.\n"
	    "  --json        print JSON (unknown values are null)\n"
	    "  --no-probe    show what was last recorded, sending nothing, looking nothing up\n"
	    "  --refresh     first link to the known relays (8 at most) and ask each which relays\n"
	    "                it knows; store those whose descriptor verifies and print how many\n"
	    "                were new, updated, unchanged and refused (why); first look for\n"
	    "                relays in the DHT when the config file says [Relay] Dht = on\n"
	    "  --timeout MS  how long to wait for the answers, 10..60000 ms (default 1000);\n"
	    "                host names are looked up first, for at most 5 s\n";
	bool json = false, probe = true, me_known = false, refresh = false;
	uint64_t timeout = 1000;
	struct registry_entry *e = NULL;
	struct geoip *g = NULL;
	struct geoip_loc me = {0};
	size_t n = 0;
	uint32_t fwmark;
	int ch, rc = CLI_OK, answered = 0;
	int64_t now = time(NULL);

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'j':
			json = true;
			break;
		case 'n':
			probe = false;
			break;
		case 'r':
			refresh = true;
			break;
		case 't':
			if (conf_parse_u64(optarg, 10, 60000, &timeout) < 0)
				return cli_bad_number(cmd, "--timeout", optarg, 10, 60000, NULL);
			break;
		case 'h':
			fputs(help, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(cmd, argv, ch);
		}
	}
	if (optind != argc)
		return cli_usage(cmd, "unexpected argument '%s'", argv[optind]);
	int refreshed = refresh ? refresh_relays(ctx, json) : 1;
	if (refreshed < 0)
		return CLI_ERR;
	/* Read-only: a probe's results are written only into a cache file that exists. */
	int have_file = list_load(ctx, probe, &e, &n, &fwmark);
	if (have_file < 0)
		return CLI_ERR;
	geoip_open(&g, ctx->geoip_path);
	if (probe && n)
		answered = probe_relays(ctx, e, n, (int)timeout, fwmark, have_file, g, &me,
		                        &me_known, now);
	print_relays(e, n, &me, me_known, json, now);
	if (probe && answered <= 0) {
		fprintf(stderr, "%s: %s\n", cmd,
		        n ? "no relay answered"
		          : "no relay known (wgrelay add-bootstrap-relay ENDPOINT PUBKEY)");
		rc = CLI_ERR;
	} else if (!probe && !refreshed) {
		fprintf(stderr, "%s: %s\n", cmd,
		        n ? "refresh: no relay answered"
		          : "no relay known (wgrelay add-bootstrap-relay ENDPOINT PUBKEY)");
		rc = CLI_ERR;
	}
	free(e);
	geoip_free(g);
	return rc;
}
