/*
 * sink.c: wgr-bench-sink, the receiving end of a max-rate run: reads with recvmmsg (copying only
 * the first bytes of each datagram unless --gro), so it stays cheap next to what it measures.
 * Stops after --duration, or once traffic has started and then paused for --idle. Prints one
 * JSON object on stdout (rx.h has the fields).
 */
#include "rx.h"

#include <getopt.h>
#include <stdlib.h>

static void sink_usage(void)
{
	fprintf(stderr, "usage: wgr-bench-sink --bind IP:PORT [--duration S] [--idle S] [--gro]\n"
	                "  [--hist FILE] [--warmup S] [--ready FILE]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"bind", 1, 0, 'b'}, {"duration", 1, 0, 't'}, {"idle", 1, 0, 'i'},  {"gro", 0, 0, 'g'},
	    {"hist", 1, 0, 'h'}, {"warmup", 1, 0, 'w'},   {"ready", 1, 0, 'r'}, {0, 0, 0, 0}};
	double seconds = 10, idle = 1, warmup = 0;
	const char *hist = NULL, *ready = NULL;
	int have = 0, gro = 0, c;
	struct sockaddr_in a;
	uint64_t end, idle_ns;
	struct rx *r;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'b':
			have = util_parse_addr(optarg, &a) == 0;
			break;
		case 't':
			seconds = util_arg_num("--duration", optarg);
			break;
		case 'i':
			idle = util_arg_num("--idle", optarg);
			break;
		case 'g':
			gro = 1;
			break;
		case 'h':
			hist = optarg;
			break;
		case 'w':
			warmup = util_arg_num("--warmup", optarg);
			break;
		case 'r':
			ready = optarg;
			break;
		default:
			sink_usage();
		}
	}
	if (!have || seconds > 3600)
		sink_usage();
	r = rx_new(&a, gro);
	if (!r)
		return 1;
	rx_set_warmup(r, warmup);
	if (ready) {
		/* Tell the driver script the socket is bound (it waits for this file). */
		FILE *f = fopen(ready, "w");

		if (f)
			fclose(f);
	}
	end = util_now_ns() + (uint64_t)(seconds * 1e9);
	idle_ns = (uint64_t)(idle * 1e9);
	for (;;) {
		uint64_t now;

		rx_poll(r, 0);
		now = util_now_ns();
		if (now >= end || (rx_last_ns(r) && now - rx_last_ns(r) >= idle_ns))
			break;
	}
	rx_report(r, "sink", stdout, hist);
	rx_free(r);
	return 0;
}
