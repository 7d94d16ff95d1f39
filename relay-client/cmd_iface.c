/* cmd_iface.c: configure-relay and status (what the watch daemon wrote to the cache). */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cache.h"
#include "cli.h"
#include "conf.h"
#include "ifconf.h"
#include "log.h"

static const char configure_help[] =
    "Usage: wgrelay configure-relay [--enable|--disable] IFACE [OPTIONS]\n"
    "Turn relay fallback on or off for a WireGuard interface and tune it. Without\n"
    "--enable/--disable only the given options change. Prints the resulting settings.\n"
    "  --threshold-windows N  consecutive failed 5 s handshake windows before relaying\n"
    "                         (default 2; 0 = only the slow 30 min history rule)\n"
    "  --mode direct|sealed   data path through the relay (default direct)\n"
    "  --mtu auto|off|N       MTU handling while relayed (default auto)\n"
    "  --prebind K            relays each peer is bound on in advance (default 2)\n";

static void print_iface(const struct cache_iface *s)
{
	char mtu[16];
	snprintf(mtu, sizeof(mtu), s->mtu < 0 ? "auto" : s->mtu == 0 ? "off" : "%d", s->mtu);
	printf("interface %s: relay fallback %s, mode %s, threshold %u windows, mtu %s, "
	       "prebind %u\n",
	       s->name, s->enabled ? "enabled" : "disabled", s->mode, s->threshold_windows, mtu,
	       s->prebind);
}

int cmd_configure_relay(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"enable", no_argument, NULL, 'e'},
	    {"disable", no_argument, NULL, 'd'},
	    {"threshold-windows", required_argument, NULL, 't'},
	    {"mode", required_argument, NULL, 'm'},
	    {"mtu", required_argument, NULL, 'M'},
	    {"prebind", required_argument, NULL, 'p'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	int enable = -1, ch;
	int64_t thr = -1, mtu = -2, prebind = -1;
	const char *mode = NULL;
	uint64_t v;
	struct cache *c;
	struct cache_iface s;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (ch) {
		case 'e':
		case 'd':
			if (enable != -1 && enable != (ch == 'e')) {
				fprintf(stderr,
				        "configure-relay: --enable and --disable conflict\n");
				return CLI_USAGE;
			}
			enable = ch == 'e';
			break;
		case 't':
			if (conf_parse_u64(optarg, 0, 1000, &v) < 0)
				goto bad;
			thr = (int64_t)v;
			break;
		case 'm':
			if (strcmp(optarg, "direct") != 0 && strcmp(optarg, "sealed") != 0)
				goto bad;
			mode = optarg;
			break;
		case 'M':
			if (strcmp(optarg, "auto") == 0)
				mtu = -1;
			else if (strcmp(optarg, "off") == 0)
				mtu = 0;
			else if (conf_parse_u64(optarg, 576, 9000, &v) == 0)
				mtu = (int64_t)v;
			else
				goto bad;
			break;
		case 'p':
			if (conf_parse_u64(optarg, 1, 8, &v) < 0)
				goto bad;
			prebind = (int64_t)v;
			break;
		case 'h':
			fputs(configure_help, stdout);
			return CLI_OK;
		default:
			fputs(configure_help, stderr);
			return CLI_USAGE;
		}
	}
	if (optind != argc - 1 || !ifconf_name_ok(argv[optind])) {
		if (optind == argc - 1)
			fprintf(stderr, "configure-relay: bad interface name '%s'\n", argv[optind]);
		fputs(configure_help, stderr);
		return CLI_USAGE;
	}
	if (cli_open_cache(ctx, &c) < 0)
		return CLI_ERR;
	cache_iface_get(c, argv[optind], &s);
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
	int rc = cache_iface_set(c, &s);
	cache_free(c);
	if (rc < 0)
		return CLI_ERR;
	print_iface(&s);
	if (s.enabled && ifconf_saveconfig(s.name) == 1)
		log_warnx("%s: SaveConfig = true in %s/%s.conf: wg-quick would save relay "
		          "endpoints on shutdown; set it to false",
		          s.name, ifconf_dir(), s.name);
	return CLI_OK;
bad:
	fprintf(stderr, "configure-relay: bad value '%s'\n", optarg);
	return CLI_USAGE;
}

static const char status_help[] =
    "Usage: wgrelay status [IFACE] [--json | dump]\n"
    "Show, per peer, the path (direct, relayed via RELAY, trying-direct) and the relay mode\n"
    "(direct or sealed), since when and why, as last written by `wgrelay watch`. dump prints\n"
    "one tab-separated line per peer:\n"
    "iface peer path relay-endpoint relay-pubkey endpoint since updated why mode\n";

static void path_text(char *buf, size_t len, const struct cache_peer *p)
{
	if (strcmp(p->path, "relayed") == 0)
		snprintf(buf, len, "relayed via %s (%.8s...), %s mode", p->relay_endpoint,
		         p->relay_pubkey, p->mode[0] ? p->mode : "direct");
	else if (p->mode[0])
		snprintf(buf, len, "%s, %s mode", p->path, p->mode);
	else
		snprintf(buf, len, "%s", p->path);
}

static void status_json(const struct cache_iface *ifs, size_t ni, const struct cache_peer *p,
                        size_t np)
{
	printf("{\"interfaces\": [");
	for (size_t i = 0; i < ni; i++) {
		printf("%s\n  {\"name\": ", i ? "," : "");
		cli_json_str(stdout, ifs[i].name);
		printf(", \"enabled\": %s, \"mode\": ", ifs[i].enabled ? "true" : "false");
		cli_json_str(stdout, ifs[i].mode);
		printf(", \"threshold_windows\": %u, \"mtu\": %d, \"prebind\": %u}",
		       ifs[i].threshold_windows, ifs[i].mtu, ifs[i].prebind);
	}
	printf("%s],\n \"peers\": [", ni ? "\n " : "");
	for (size_t i = 0; i < np; i++) {
		printf("%s\n  {\"interface\": ", i ? "," : "");
		cli_json_str(stdout, p[i].iface);
		printf(", \"peer\": ");
		cli_json_str(stdout, p[i].peer);
		printf(", \"path\": ");
		cli_json_str(stdout, p[i].path);
		printf(", \"mode\": ");
		cli_json_str(stdout, p[i].mode);
		printf(", \"relay_endpoint\": ");
		cli_json_str(stdout, p[i].relay_endpoint);
		printf(", \"relay_pubkey\": ");
		cli_json_str(stdout, p[i].relay_pubkey);
		printf(", \"endpoint\": ");
		cli_json_str(stdout, p[i].endpoint);
		printf(", \"since\": %lld, \"updated\": %lld, \"why\": ", (long long)p[i].since,
		       (long long)p[i].updated);
		cli_json_str(stdout, p[i].why);
		printf("}");
	}
	printf("%s]}\n", np ? "\n " : "");
}

int cmd_status(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	bool json = false, dump = false;
	const char *iface = NULL;
	struct cache *c;
	struct cache_iface *ifs = NULL;
	struct cache_peer *p = NULL;
	size_t ni = 0, np = 0;
	int64_t now = time(NULL);
	char age[32], path[160];
	int ch;

	while ((ch = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (ch == 'j') {
			json = true;
		} else if (ch == 'h') {
			fputs(status_help, stdout);
			return CLI_OK;
		} else {
			fputs(status_help, stderr);
			return CLI_USAGE;
		}
	}
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "dump") == 0)
			dump = true;
		else if (!iface && ifconf_name_ok(argv[i]))
			iface = argv[i];
		else {
			fputs(status_help, stderr);
			return CLI_USAGE;
		}
	}
	if (json && dump) {
		fprintf(stderr, "status: --json and dump exclude each other\n");
		return CLI_USAGE;
	}
	if (cli_open_cache(ctx, &c) < 0)
		return CLI_ERR;
	if (cache_iface_list(c, &ifs, &ni) < 0 || cache_peer_list(c, iface, &p, &np) < 0) {
		cache_free(c);
		free(ifs);
		free(p);
		return CLI_ERR;
	}
	cache_free(c);
	if (iface) {
		size_t k = 0;
		for (size_t i = 0; i < ni; i++)
			if (strcmp(ifs[i].name, iface) == 0)
				ifs[k++] = ifs[i];
		ni = k;
	}
	if (json) {
		status_json(ifs, ni, p, np);
	} else if (dump) {
		for (size_t i = 0; i < np; i++)
			printf("%s\t%s\t%s\t%s\t%s\t%s\t%lld\t%lld\t%s\t%s\n", p[i].iface,
			       p[i].peer, p[i].path,
			       p[i].relay_endpoint[0] ? p[i].relay_endpoint : "(none)",
			       p[i].relay_pubkey[0] ? p[i].relay_pubkey : "(none)",
			       p[i].endpoint[0] ? p[i].endpoint : "(none)", (long long)p[i].since,
			       (long long)p[i].updated, p[i].why, p[i].mode[0] ? p[i].mode : "-");
	} else {
		if (ni == 0 && np == 0)
			printf(
			    "no interface configured (wgrelay configure-relay --enable IFACE)\n");
		for (size_t i = 0; i < ni; i++) {
			print_iface(&ifs[i]);
			bool any = false;
			for (size_t j = 0; j < np; j++) {
				if (strcmp(p[j].iface, ifs[i].name) != 0)
					continue;
				any = true;
				path_text(path, sizeof(path), &p[j]);
				printf("  peer %s\n    path: %s, since %s\n", p[j].peer, path,
				       cli_age(age, sizeof(age), p[j].since, now));
				if (p[j].endpoint[0])
					printf("    direct endpoint: %s\n", p[j].endpoint);
				if (p[j].why[0])
					printf("    why: %s\n", p[j].why);
				if (now - p[j].updated > 30)
					printf("    (state from %s: is `wgrelay watch` running?)\n",
					       cli_age(age, sizeof(age), p[j].updated, now));
			}
			if (!any && ifs[i].enabled)
				printf("  no peer state yet (is `wgrelay watch` running?)\n");
		}
	}
	free(ifs);
	free(p);
	return CLI_OK;
}
