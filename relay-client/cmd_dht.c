/* cmd_dht.c: add-dht-bootstrap and remove-dht-bootstrap, the DHT nodes the helper joins by. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cache.h"
#include "cli.h"
#include "conf.h"
#include "dhtfind.h"

static const char add_help[] =
    "Usage: wgrelay add-dht-bootstrap [--allow-loopback] HOST:PORT\n"
    "Add a node to join the Mainline DHT through, where the helper looks for relays when\n"
    "it knows few (list-relays --refresh, watch). HOST:PORT is an IPv4 address or a host\n"
    "name (looked up when used) and the node's DHT port, e.g. a relay's DhtListen port\n"
    "or a public bootstrap node. Used only with [Relay] Dht = on in the config file,\n"
    "beside its DhtBootstrap lines.\n"
    "  --allow-loopback  accept a loopback address (tests on one machine)\n";

int cmd_add_dht_bootstrap(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char cmd[] = "add-dht-bootstrap";
	static const struct option opts[] = {
	    {"allow-loopback", no_argument, NULL, 'l'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct dhtfind_config cfg;
	struct cache *c;
	char ep[DHTFIND_EP_LEN], err[CONF_ERRLEN];
	bool allow_lo = false;
	const char *why;
	int ch, rc;

	while ((ch = getopt_long(argc, argv, ":h", opts, NULL)) != -1) {
		switch (ch) {
		case 'l':
			allow_lo = true;
			break;
		case 'h':
			fputs(add_help, stdout);
			return CLI_OK;
		default:
			return cli_bad_option(cmd, argv, ch);
		}
	}
	if (argc - optind != 1)
		return cli_usage(cmd, "wants HOST:PORT");
	if (dhtfind_endpoint_check(argv[optind], allow_lo, ep, &why) < 0)
		return cli_usage(cmd, "'%s': %s", argv[optind], why);
	if (cli_open_cache(ctx, &c) < 0)
		return CLI_ERR;
	rc = cache_dht_boot_add(c, ep, time(NULL));
	cache_free(c);
	if (rc < 0)
		return CLI_ERR;
	printf("added DHT bootstrap node %s\n", ep);
	/* Checked when the file was loaded: the switch is what is read here. */
	if (dhtfind_config_read(ctx->conf, &cfg, err, sizeof(err)) == 0 && !cfg.on)
		fprintf(stderr, "%s: the DHT is off: set [Relay] Dht = on in %s to use it\n", cmd,
		        ctx->config_path);
	return CLI_OK;
}

int cmd_remove_dht_bootstrap(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char cmd[] = "remove-dht-bootstrap";
	struct cache *c;
	struct stat st;
	char ep[DHTFIND_EP_LEN];
	const char *why;
	int rc = -ENOENT;

	if (cli_wants_help(argc, argv)) {
		printf(
		    "Usage: wgrelay remove-dht-bootstrap HOST:PORT\n"
		    "Forget a DHT node that add-dht-bootstrap added (not a DhtBootstrap line of\n"
		    "the config file).\n");
		return CLI_OK;
	}
	if (argc == 2 && argv[1][0] == '-' && strcmp(argv[1], "-") != 0)
		return cli_usage(cmd, "unknown option '%s'", argv[1]);
	if (argc != 2)
		return cli_usage(cmd, "wants HOST:PORT");
	if (dhtfind_endpoint_check(argv[1], true, ep, &why) < 0)
		return cli_usage(cmd, "'%s': %s", argv[1], why);
	/* No cache file: nothing to remove, and none is made to say so. */
	if (strcmp(ctx->db_path, ":memory:") == 0 || stat(ctx->db_path, &st) == 0) {
		if (cli_open_cache(ctx, &c) < 0)
			return CLI_ERR;
		rc = cache_dht_boot_remove(c, ep);
		cache_free(c);
	}
	if (rc == -ENOENT) {
		fprintf(stderr, "%s: no DHT bootstrap node '%s'\n", cmd, argv[1]);
		return CLI_ERR;
	}
	if (rc < 0)
		return CLI_ERR;
	printf("removed DHT bootstrap node %s\n", ep);
	return CLI_OK;
}
