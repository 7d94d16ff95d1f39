/*
 * main.c: wgrelay-sim, the relay network simulator (docs/SCALE.md). Runs the scenarios named
 * on the command line with one seed, prints a summary table (each figure against its goal) and
 * writes CSV files for sim/scale.sh's plots. Same seed, same figures.
 *
 *   wgrelay-sim [options] spread|meet|dht|all...
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "dhtsim.h"
#include "meet.h"
#include "spread.h"
#include "world.h"

struct opts {
	struct spread_params sp;
	struct meet_params mp;
	struct dhtsim_params dp;
	const char *out;
	bool check;
};

static FILE *summary_csv;
static int check_failed;

static void row(const char *scen, const char *name, double v, const char *unit, const char *goal,
                int pass)
{
	const char *verdict = pass < 0 ? "" : pass ? "pass" : "FAIL";

	printf("%-7s %-44s %12.3f %-6s %-14s %s\n", scen, name, v, unit, goal, verdict);
	if (summary_csv)
		fprintf(summary_csv, "%s,\"%s\",%.6g,%s,\"%s\",%s\n", scen, name, v, unit, goal,
		        verdict);
}

/* --check: a direction the figures must have; a failure makes the exit status 1. */
static void expect(bool ok, const char *what)
{
	if (!ok) {
		fprintf(stderr, "check failed: %s\n", what);
		check_failed = 1;
	}
}

static long max_rss_mb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss / 1024;
}

static int run_spread(struct opts *o)
{
	struct spread_result r;
	const struct spread_params *p = &o->sp;
	int rc = spread_run(p, o->out, &r);

	if (rc < 0) {
		fprintf(stderr, "spread: %s\n", strerror(-rc));
		return rc;
	}
	double t99p50 = stats_quantile(&r.t99, 0.5), t99p99 = stats_quantile(&r.t99, 0.99),
	       t99max = stats_max(&r.t99);
	row("spread", "relays at start", (double)p->relays, "", "", -1);
	row("spread", "relays at end", (double)r.relays_end, "", "", -1);
	row("spread", "relays joined (churn)", (double)r.joined, "", "", -1);
	row("spread", "descriptors measured", (double)r.measured, "", "", -1);
	row("spread", "time to 50% of relays, p50", stats_quantile(&r.t50, 0.5), "s", "", -1);
	row("spread", "time to 90% of relays, p50", stats_quantile(&r.t90, 0.5), "s", "", -1);
	row("spread", "time to 99% of relays, p50", t99p50, "s", "<= 30 s", t99p50 <= 30);
	row("spread", "time to 99% of relays, p99", t99p99, "s", "<= 30 s", t99p99 <= 30);
	row("spread", "time to 99% of relays, max", t99max, "s", "<= 30 s", t99max <= 30);
	row("spread", "descriptors never at 99%", (double)r.never99, "", "", -1);
	row("spread", "time to 100% of relays, p50", stats_quantile(&r.t100, 0.5), "s", "", -1);
	row("spread", "gossip B/s per relay, steady median", r.bw_gossip_med, "B/s", "<= 2048",
	    r.bw_gossip_med <= 2048);
	row("spread", "gossip B/s per relay, steady worst minute", r.bw_gossip_max, "B/s",
	    "<= 2048", r.bw_gossip_max <= 2048);
	row("spread", "gossip B/s, busiest relay (p99)", stats_quantile(&r.relay_bw, 0.99), "B/s",
	    "", -1);
	row("spread", "all link B/s per relay, steady median", r.bw_all_med, "B/s", "", -1);
	row("spread", "all link B/s per relay, steady worst minute", r.bw_all_max, "B/s", "", -1);
	if (p->cut_len_min > 0) {
		row("spread", "relays in the region cut off", (double)r.cut_relays, "", "", -1);
		row("spread", "stores agree again after heal", r.converge_s, "s", "(report)",
		    r.converge_s >= 0);
	}
	row("spread", "links per relay at end", r.links_mean, "", "", -1);
	row("spread", "messages sent (all kinds)", (double)r.msgs, "", "", -1);
	for (int k = 0; k < GOSSIP_K_MAX; k++) {
		uint64_t n = r.gs.msgs_out[k];
		char name[64];

		snprintf(name, sizeof(name), "gossip %s messages sent", gossip_kind_name(k));
		row("spread", name, (double)n, "", "", -1);
		snprintf(name, sizeof(name), "gossip %s bytes per message", gossip_kind_name(k));
		row("spread", name, n ? (double)r.gs.bytes_out[k] / (double)n : 0, "B", "", -1);
	}
	row("spread", "DHT look-up rounds", (double)r.dht_rounds, "", "", -1);
	row("spread", "relays found whose descriptor was held", (double)r.dht_stored, "", "", -1);
	row("spread", "DESC_REQ exchanges", (double)r.desc_req, "", "", -1);
	row("spread", "DESC_RESP taken (plan, store)", (double)r.desc_ok, "", "", -1);
	row("spread", "DESC_REQ + DESC_RESP bytes", (double)r.desc_bytes, "B", "", -1);
	row("spread", "want timeouts (all relays)", (double)r.gs.want_timeouts, "", "", -1);
	row("spread", "own descriptors announced again (silent links)", (double)r.gs.own_again, "",
	    "", -1);
	row("spread", "waiting identities looked at by ticks (all relays)",
	    (double)r.gs.want_walked, "", "", -1);
	row("spread", "rate-limited messages", (double)r.gs.rate_limited, "", "", -1);
	row("spread", "signature checks (distinct descriptors)", (double)r.dc.verified, "", "", -1);
	row("spread", "descriptor decodes served from the cache", (double)r.dc.hits, "", "", -1);
	row("spread", "wall time in signature checks", r.dc.verify_s, "s", "", -1);
	row("spread", "events peak queued", (double)r.events_peak, "", "", -1);
	row("spread", "threads", (double)r.threads, "", "", -1);
	row("spread", "wall time: set-up (keys, warm stores)", r.init_s, "s", "", -1);
	row("spread", "wall time", r.wall_s, "s", "<= 600 s", r.wall_s <= 600);
	row("spread", "max RSS so far", (double)max_rss_mb(), "MB", "", -1);
	if (o->check) {
		expect(r.measured > 0, "spread: some descriptors measured");
		expect(isfinite(t99p50), "spread: new descriptors reach 99% of relays");
		expect(stats_quantile(&r.t50, 0.5) <= t99p50, "spread: 50% before 99%");
		expect(r.bw_gossip_med > 0, "spread: gossip traffic counted");
		expect(p->cut_len_min <= 0 || r.converge_s >= 0, "spread: stores agree after heal");
		expect(r.links_mean >= 1, "spread: relays hold links");
		/* Every relay that joins starts with 1-2 candidates, fewer than MinLinks. */
		expect(!p->dht_lookup || !r.joined || (r.dht_rounds > 0 && r.desc_ok > 0),
		       "spread: relays that join look others up in the DHT");
		expect(r.dc.verified > 0 && r.dc.hits > r.dc.verified,
		       "spread: verified once, shared after");
		expect(r.events_refused == 0, "spread: event queue never full");
		expect(r.track_lost == 0, "spread: every reach tracked");
	}
	spread_result_free(&r);
	return 0;
}

static int run_meet(struct opts *o)
{
	struct meet_result r;
	int rc = meet_run(&o->mp, &r);
	char name[64];

	if (rc < 0) {
		fprintf(stderr, "meet: %s\n", strerror(-rc));
		return rc;
	}
	if (o->out)
		meet_write_csv(&r, o->out);
	row("meet", "relays", (double)o->mp.relays, "", "", -1);
	row("meet", "pairs", (double)r.pairs, "", "", -1);
	for (int k = 1; k <= MEET_KMAX; k++) {
		double rate = r.pairs ? (double)r.met[k] / (double)r.pairs : 0;
		double med = stats_quantile(&r.stretch[k], 0.5);
		snprintf(name, sizeof(name), "K=%d meeting rate", k);
		row("meet", name, rate, "", k == 2 ? "(helper's K)" : "", -1);
		snprintf(name, sizeof(name), "K=%d stretch median", k);
		row("meet", name, med, "", "<= 1.15", med <= 1.15);
		snprintf(name, sizeof(name), "K=%d stretch p99", k);
		row("meet", name, stats_quantile(&r.stretch[k], 0.99), "", "", -1);
	}
	row("meet", "stretch, same full view, median", stats_quantile(&r.ideal, 0.5), "", "", -1);
	row("meet", "stretch, same full view, p99", stats_quantile(&r.ideal, 0.99), "", "", -1);
	row("meet", "relays ranked per side, median", stats_quantile(&r.candidates, 0.5), "", "",
	    -1);
	row("meet", "X25519 in sid_derive, computed", (double)(r.x25519_calls - r.x25519_hits), "",
	    "", -1);
	row("meet", "X25519 in sid_derive, memo hits", (double)r.x25519_hits, "", "", -1);
	row("meet", "wall time", r.wall_s, "s", "", -1);
	if (o->check) {
		for (int k = 2; k <= MEET_KMAX; k++)
			expect(r.met[k] >= r.met[k - 1],
			       "meet: a larger K meets at least as often");
		expect(r.met[MEET_KMAX] > r.met[1], "meet: K=4 beats K=1 with divergent views");
		for (int k = 1; k <= MEET_KMAX; k++)
			expect(r.disagree[k] == 0, "meet: both sides pick the same relay");
		expect(r.score_mismatch == 0, "meet: pre-filter scores are select_rank's");
		expect(stats_quantile(&r.stretch[2], 0.5) >= 1.0, "meet: stretch >= 1");
	}
	meet_result_free(&r);
	return 0;
}

static int run_dht(struct opts *o)
{
	struct dhtsim_result r;
	int rc = dhtsim_run(&o->dp, o->out, &r);

	if (rc < 0) {
		fprintf(stderr, "dht: %s\n", strerror(-rc));
		return rc;
	}
	double found = r.clients ? (double)r.found_all / (double)r.clients : 0;
	double items = r.items_tried ? (double)r.items_ok / (double)r.items_tried : 0;
	row("dht", "DHT nodes (relays)", (double)o->dp.relays, "", "", -1);
	row("dht", "relays announced (stored somewhere)", (double)r.announce_ok, "", "", -1);
	row("dht", "relays put their item", (double)r.put_ok, "", "", -1);
	row("dht", "clients", (double)r.clients, "", "", -1);
	row("dht", "get_peers found >= N relays (rate)", found, "", "(report)", -1);
	row("dht", "get_peers relays returned, median", stats_quantile(&r.peers, 0.5), "", "", -1);
	row("dht", "get_peers latency p50", stats_quantile(&r.lookup_s, 0.5), "s", "", -1);
	row("dht", "get_peers latency p99", stats_quantile(&r.lookup_s, 0.99), "s", "", -1);
	row("dht", "N descriptors in hand, p50", stats_quantile(&r.total_s, 0.5), "s", "", -1);
	row("dht", "N descriptors in hand, p99", stats_quantile(&r.total_s, 0.99), "s", "", -1);
	row("dht", "BEP 44 get success rate", items, "", "(report)", -1);
	row("dht", "BEP 44 get latency p50", stats_quantile(&r.item_s, 0.5), "s", "", -1);
	row("dht", "BEP 44 get latency p99", stats_quantile(&r.item_s, 0.99), "s", "", -1);
	row("dht", "datagrams sent", (double)r.datagrams, "", "", -1);
	row("dht", "wall time", r.wall_s, "s", "", -1);
	if (o->out) {
		char path[512];
		snprintf(path, sizeof(path), "%s/dht_lookup.csv", o->out);
		FILE *f = fopen(path, "w");
		if (f) {
			stats_write_cdf(&r.lookup_s, f, "get_peers_s", 200);
			fclose(f);
		}
	}
	if (o->check) {
		expect(r.found_all > 0, "dht: clients find relays");
		expect(r.items_ok > 0, "dht: items are found");
		expect(r.items_seq_ok == r.items_ok, "dht: items carry the descriptor's seq");
	}
	dhtsim_result_free(&r);
	return 0;
}

static const char usage[] =
    "usage: wgrelay-sim [options] spread|meet|dht|all...\n"
    "  --seed N            one seed for everything (1)\n"
    "  --out DIR           write CSV files and summary.csv there\n"
    "  --check             exit 1 unless the figures point the expected way (tests)\n"
    "  --progress          progress on stderr\n"
    " spread:\n"
    "  --relays N          relays at the start (10000)\n"
    "  --hours H           simulated hours (1)\n"
    "  --loss P            per-message loss (0.05; all scenarios)\n"
    "  --churn P           share of relays replaced per hour (0.10)\n"
    "  --refresh-h H       republish period R (3)\n"
    "  --lifetime-h H      descriptor lifetime (12)\n"
    "  --warmup MIN        left out of steady-state figures (5)\n"
    "  --cut-at MIN        partition start (20)\n"
    "  --cut-len MIN       partition length, 0 none (10)\n"
    "  --cut-region NAME   europe, north-america, south-america, asia, oceania, africa (asia)\n"
    "  --candidates N      link-plan candidates per relay (256)\n"
    "  --converged 0|1     1: start converged, stores preloaded (shared) and links up;\n"
    "                      0: stores filled by gossip_offer, links formed by the plans (1)\n"
    "  --dht-lookup 0|1    1: relays look others up in the DHT as relayd does (get_peers at\n"
    "                      start and every 10 min; while the plan holds fewer than MinLinks\n"
    "                      candidates from 5 s, doubling to 5 min) and ask those found for\n"
    "                      their descriptor (DESC_REQ) (1)\n"
    "  --threads N         threads running the relays, 0 one per core (0); the figures\n"
    "                      are the same for any N\n"
    " meet:\n"
    "  --meet-relays N     relays (1000)\n"
    "  --pairs N           peer pairs (100000)\n"
    "  --drop P            share of relays each side does not see (0.10)\n"
    " dht:\n"
    "  --dht-relays N      DHT nodes, one per relay (1000)\n"
    "  --dht-clients N     clients looking up (100)\n"
    "  --dht-want N        relays a client wants (8)\n";

static int parse_num(const char *opt, const char *s, double lo, double hi, double *out)
{
	char *end;

	errno = 0;
	double v = strtod(s, &end);
	if (errno || end == s || *end || v < lo || v > hi) {
		fprintf(stderr, "wgrelay-sim: %s: bad value '%s' (%g..%g)\n", opt, s, lo, hi);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

/*
 * Every event touches another relay's engine, store and plan, gigabytes of them at 10,000
 * relays: with 4 KB pages nearly every one of those reads also misses the TLB (the 3,000-relay
 * spread's event loop ran 1.7 times faster on huge pages). glibc puts its heap on huge pages
 * when its tunable says so, and reads it before main: so run ourselves once more with it set.
 * WGR_SIM_SMALL_PAGES=1 keeps small pages. The figures are the same either way.
 */
static void huge_pages(char **argv)
{
#ifdef __GLIBC__
	const char *t = getenv("GLIBC_TUNABLES");
	char old[1024], v[1100];

	if (getenv("WGR_SIM_SMALL_PAGES") || (t && strstr(t, "glibc.malloc.hugetlb")) ||
	    (t && strlen(t) >= sizeof(old)))
		return;
	snprintf(old, sizeof(old), "%s", t ? t : "");
	snprintf(v, sizeof(v), "%s%sglibc.malloc.hugetlb=1", old, *old ? ":" : "");
	if (setenv("GLIBC_TUNABLES", v, 1) < 0)
		return;
	execv("/proc/self/exe", argv);
	/* No exec: carry on with small pages, the environment as it was. */
	if (*old)
		setenv("GLIBC_TUNABLES", old, 1);
	else
		unsetenv("GLIBC_TUNABLES");
#else
	(void)argv;
#endif
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {{"seed", required_argument, NULL, 's'},
	                                   {"out", required_argument, NULL, 'o'},
	                                   {"check", no_argument, NULL, 'c'},
	                                   {"progress", no_argument, NULL, 'P'},
	                                   {"relays", required_argument, NULL, 'n'},
	                                   {"hours", required_argument, NULL, 'H'},
	                                   {"loss", required_argument, NULL, 'l'},
	                                   {"churn", required_argument, NULL, 'C'},
	                                   {"refresh-h", required_argument, NULL, 'R'},
	                                   {"lifetime-h", required_argument, NULL, 'L'},
	                                   {"warmup", required_argument, NULL, 'w'},
	                                   {"cut-at", required_argument, NULL, 'a'},
	                                   {"cut-len", required_argument, NULL, 'd'},
	                                   {"cut-region", required_argument, NULL, 'g'},
	                                   {"candidates", required_argument, NULL, 'k'},
	                                   {"converged", required_argument, NULL, 'V'},
	                                   {"dht-lookup", required_argument, NULL, 'K'},
	                                   {"threads", required_argument, NULL, 'T'},
	                                   {"meet-relays", required_argument, NULL, 'm'},
	                                   {"pairs", required_argument, NULL, 'p'},
	                                   {"drop", required_argument, NULL, 'x'},
	                                   {"dht-relays", required_argument, NULL, 'D'},
	                                   {"dht-clients", required_argument, NULL, 'E'},
	                                   {"dht-want", required_argument, NULL, 'W'},
	                                   {"help", no_argument, NULL, 'h'},
	                                   {0, 0, 0, 0}};
	struct opts o = {0};
	double v;
	int c, rc = 0;

	huge_pages(argv);
	spread_params_default(&o.sp);
	o.mp = (struct meet_params){.relays = 1000, .pairs = 100000, .drop = 0.10, .seed = 1};
	o.dp = (struct dhtsim_params){
	    .relays = 1000, .clients = 100, .want = 8, .loss = 0.05, .seed = 1};
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		v = 0;
		switch (c) {
		case 's':
			rc = parse_num("--seed", optarg, 0, 1e15, &v);
			o.sp.seed = o.mp.seed = o.dp.seed = (uint64_t)v;
			break;
		case 'o':
			o.out = optarg;
			break;
		case 'c':
			o.check = true;
			break;
		case 'P':
			o.sp.progress = 1;
			break;
		case 'T':
			rc = parse_num("--threads", optarg, 0, 16, &v);
			o.sp.threads = (unsigned)v;
			break;
		case 'n':
			rc = parse_num("--relays", optarg, 2, 1e6, &v);
			o.sp.relays = (size_t)v;
			break;
		case 'H':
			rc = parse_num("--hours", optarg, 0.01, 48, &o.sp.hours);
			break;
		case 'l':
			rc = parse_num("--loss", optarg, 0, 0.9, &o.sp.loss);
			o.dp.loss = o.sp.loss;
			break;
		case 'C':
			rc = parse_num("--churn", optarg, 0, 10, &o.sp.churn_per_h);
			break;
		case 'R':
			rc = parse_num("--refresh-h", optarg, 0.01, 168, &o.sp.refresh_h);
			break;
		case 'L':
			rc = parse_num("--lifetime-h", optarg, 0.1, 168, &o.sp.lifetime_h);
			break;
		case 'w':
			rc = parse_num("--warmup", optarg, 0, 1e4, &o.sp.warmup_min);
			break;
		case 'V':
			rc = parse_num("--converged", optarg, 0, 1, &v);
			o.sp.converged = v != 0;
			break;
		case 'K':
			rc = parse_num("--dht-lookup", optarg, 0, 1, &v);
			o.sp.dht_lookup = v != 0;
			break;
		case 'a':
			rc = parse_num("--cut-at", optarg, 0, 1e4, &o.sp.cut_at_min);
			break;
		case 'd':
			rc = parse_num("--cut-len", optarg, 0, 1e4, &o.sp.cut_len_min);
			break;
		case 'g':
			o.sp.cut_region = world_region_parse(optarg);
			if (o.sp.cut_region < 0) {
				fprintf(stderr, "wgrelay-sim: --cut-region: unknown '%s'\n",
				        optarg);
				rc = -EINVAL;
			}
			break;
		case 'k':
			rc = parse_num("--candidates", optarg, 8, 1e5, &v);
			o.sp.lp_candidates = (unsigned)v;
			break;
		case 'm':
			rc = parse_num("--meet-relays", optarg, 1, 1e6, &v);
			o.mp.relays = (size_t)v;
			break;
		case 'p':
			rc = parse_num("--pairs", optarg, 1, 1e8, &v);
			o.mp.pairs = (size_t)v;
			break;
		case 'x':
			rc = parse_num("--drop", optarg, 0, 0.99, &o.mp.drop);
			break;
		case 'D':
			rc = parse_num("--dht-relays", optarg, 2, 1e6, &v);
			o.dp.relays = (size_t)v;
			break;
		case 'E':
			rc = parse_num("--dht-clients", optarg, 1, 1e5, &v);
			o.dp.clients = (size_t)v;
			break;
		case 'W':
			rc = parse_num("--dht-want", optarg, 1, 64, &v);
			o.dp.want = (size_t)v;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
		if (rc < 0)
			return 2;
	}
	if (optind == argc) {
		fputs(usage, stderr);
		return 2;
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "wgrelay-sim: libsodium failed to start\n");
		return 1;
	}
	if (o.out) {
		char path[512];
		if (mkdir(o.out, 0755) < 0 && errno != EEXIST) {
			fprintf(stderr, "wgrelay-sim: %s: %s\n", o.out, strerror(errno));
			return 1;
		}
		snprintf(path, sizeof(path), "%s/summary.csv", o.out);
		summary_csv = fopen(path, "w");
		if (summary_csv)
			fprintf(summary_csv, "scenario,figure,value,unit,goal,verdict\n");
	}
	printf("%-7s %-44s %12s %-6s %-14s %s\n", "", "figure", "value", "unit", "goal", "");
	for (int i = optind; i < argc && rc == 0; i++) {
		bool all = strcmp(argv[i], "all") == 0;
		bool known = all;
		if (all || strcmp(argv[i], "meet") == 0) {
			known = true;
			rc = run_meet(&o);
		}
		if (rc == 0 && (all || strcmp(argv[i], "dht") == 0)) {
			known = true;
			rc = run_dht(&o);
		}
		if (rc == 0 && (all || strcmp(argv[i], "spread") == 0)) {
			known = true;
			rc = run_spread(&o);
		}
		if (!known) {
			fprintf(stderr, "wgrelay-sim: unknown scenario '%s'\n", argv[i]);
			rc = -EINVAL;
		}
	}
	printf("max RSS %ld MB\n", max_rss_mb());
	if (summary_csv)
		fclose(summary_csv);
	return rc < 0 ? 1 : check_failed;
}
