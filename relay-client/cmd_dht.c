/* cmd_dht.c: add-dht-bootstrap and remove-dht-bootstrap, the DHT nodes the helper joins by. */
#include <getopt.h>
#include <stdio.h>
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

static const char remove_help[] =
    "Usage: wgrelay remove-dht-bootstrap HOST:PORT\n"
    "Forget a DHT node that add-dht-bootstrap added (not a DhtBootstrap line of\n"
    "the config file).\n";

int cmd_remove_dht_bootstrap(struct cli_ctx *ctx, int argc, char **argv)
{
	static const char cmd[] = "remove-dht-bootstrap";
	char ep[DHTFIND_EP_LEN];
	const char *why;
	int rc = cli_one_operand(cmd, remove_help, "HOST:PORT", argc, argv);

	if (rc >= 0)
		return rc;
	if (dhtfind_endpoint_check(argv[1], true, ep, &why) < 0)
		return cli_usage(cmd, "'%s': %s", argv[1], why);
	return cli_remove(ctx, cmd, "DHT bootstrap node", argv[1], ep, cache_dht_boot_remove);
}
