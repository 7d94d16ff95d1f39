/*
 * wgpair.c: wgr-bench-wgpair, confirms both members of direct-mode sessions the way real
 * WireGuard traffic would (DESIGN.md "direct"): for each session port P, member B sends a
 * handshake initiation (type 1, 148 B) to P, member A sends one too (now forwarded to B), and B
 * answers A's initiation with a response (type 2, 92 B) whose receiver index is A's sender
 * index. The relay has then seen a complete handshake pass and forwards data between the two
 * addresses. B's sender index for session i is --index + i, the receiver index the generator
 * puts in its type-4 packets (wgr-bench-gen --mode wg --wg-index). Retries, bounded in time.
 * --netns-a / --netns-b PATH bind that member inside another network namespace (bench/veth.sh).
 * Prints one JSON object: sessions confirmed (A got the response) out of those asked.
 */
#include "util.h"

#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define WG_INIT_LEN 148
#define WG_RESP_LEN 92

struct pair {
	int fa, fb;
	struct sockaddr_in *ports;
	unsigned n;
	uint32_t base;
	uint8_t *done; /* per session: 1 = B saw A's initiation, 2 = A saw the response */
};

static uint32_t pair_sender_a(uint32_t i)
{
	return 0x40000000u + i;
}

static void wg_msg(uint8_t *p, size_t len, uint8_t type, uint32_t sender, uint32_t receiver)
{
	size_t i;

	/* Random-looking ephemeral/static/MAC bytes; the relay only reads type, zeros, indices. */
	for (i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 131 + sender);
	p[0] = type;
	p[1] = p[2] = p[3] = 0;
	memcpy(p + 4, &sender, 4); /* little-endian on the machines we run on, as WireGuard */
	if (type == 2)
		memcpy(p + 8, &receiver, 4);
}

/* Drain a member socket; note which sessions it has heard from. */
static void pair_drain(struct pair *pr, int fd, int is_b)
{
	uint8_t buf[256];
	struct sockaddr_in from;
	socklen_t fl;
	ssize_t n;
	uint32_t s, r, i;

	for (;;) {
		fl = sizeof(from);
		n = recvfrom(fd, buf, sizeof(buf), MSG_DONTWAIT, (struct sockaddr *)&from, &fl);
		if (n < 0)
			return;
		if (is_b && n == WG_INIT_LEN && buf[0] == 1) {
			memcpy(&s, buf + 4, 4);
			i = s - 0x40000000u;
			if (i < pr->n && !pr->done[i]) {
				pr->done[i] = 1;
				/* Answer from B: the response goes back through the same port. */
				wg_msg(buf, WG_RESP_LEN, 2, pr->base + i, s);
				sendto(pr->fb, buf, WG_RESP_LEN, 0,
				       (struct sockaddr *)&pr->ports[i], sizeof(pr->ports[i]));
			}
		} else if (!is_b && n == WG_RESP_LEN && buf[0] == 2) {
			memcpy(&r, buf + 8, 4);
			i = r - 0x40000000u;
			if (i < pr->n)
				pr->done[i] = 2;
		}
	}
}

static unsigned pair_round(struct pair *pr)
{
	uint8_t msg[WG_INIT_LEN];
	unsigned i, left = 0;

	for (i = 0; i < pr->n; i++) {
		if (pr->done[i] == 2)
			continue;
		left++;
		if (pr->done[i] == 1) {
			/* B answered but A has not seen it yet: answer again. */
			wg_msg(msg, WG_RESP_LEN, 2, pr->base + i, pair_sender_a(i));
			sendto(pr->fb, msg, WG_RESP_LEN, 0, (struct sockaddr *)&pr->ports[i],
			       sizeof(pr->ports[i]));
		} else {
			/* B first, so the relay knows B when A's initiation arrives. */
			wg_msg(msg, WG_INIT_LEN, 1, pr->base + i, 0);
			sendto(pr->fb, msg, WG_INIT_LEN, 0, (struct sockaddr *)&pr->ports[i],
			       sizeof(pr->ports[i]));
			wg_msg(msg, WG_INIT_LEN, 1, pair_sender_a(i), 0);
			sendto(pr->fa, msg, WG_INIT_LEN, 0, (struct sockaddr *)&pr->ports[i],
			       sizeof(pr->ports[i]));
		}
		if ((i & 255) == 255) {
			pair_drain(pr, pr->fb, 1);
			pair_drain(pr, pr->fa, 0);
		}
	}
	return left;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {{"a", 1, 0, 'a'},       {"b", 1, 0, 'b'},
	                                     {"ports", 1, 0, 'p'},   {"index", 1, 0, 'i'},
	                                     {"timeout", 1, 0, 't'}, {"netns-a", 1, 0, 'A'},
	                                     {"netns-b", 1, 0, 'B'}, {0, 0, 0, 0}};
	struct pair pr = {.fa = -1, .fb = -1};
	struct sockaddr_in a, b;
	const char *ports = NULL, *netns_a = NULL, *netns_b = NULL;
	double timeout = 10;
	int got = 0, c, r;
	unsigned left = 1, i, ok = 0;
	uint64_t end;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			got |= util_parse_addr(optarg, &a) == 0 ? 1 : 0;
			break;
		case 'b':
			got |= util_parse_addr(optarg, &b) == 0 ? 2 : 0;
			break;
		case 'p':
			ports = optarg;
			break;
		case 'i':
			pr.base = (uint32_t)util_arg_num("--index", optarg);
			break;
		case 't':
			timeout = util_arg_num("--timeout", optarg);
			break;
		case 'A':
			netns_a = optarg;
			break;
		case 'B':
			netns_b = optarg;
			break;
		default:
			got = 0;
		}
	}
	if (got != 3 || !ports) {
		fprintf(stderr, "usage: wgr-bench-wgpair --a IP:PORT --b IP:PORT --ports FILE "
		                "[--index N] [--timeout S] [--netns-a PATH] [--netns-b PATH]\n");
		return 2;
	}
	r = util_read_addrs(ports, &pr.ports, &pr.n);
	if (r < 0 || !pr.n) {
		fprintf(stderr, "wgpair: %s: %s\n", ports, r < 0 ? strerror(-r) : "no ports");
		return 1;
	}
	pr.done = calloc(pr.n, 1);
	pr.fa = util_udp_socket_in(netns_a, &a, 16 << 20);
	pr.fb = util_udp_socket_in(netns_b, &b, 16 << 20);
	if (!pr.done || pr.fa < 0 || pr.fb < 0) {
		fprintf(stderr, "wgpair: cannot bind the member sockets\n");
		return 1;
	}
	end = util_now_ns() + (uint64_t)(timeout * 1e9);
	while (left && util_now_ns() < end) {
		uint64_t until = util_now_ns() + 200000000ull;

		left = pair_round(&pr);
		/* Collect answers for 200 ms before resending what is still missing. */
		while (left && util_now_ns() < until) {
			struct pollfd p[2] = {{.fd = pr.fa, .events = POLLIN},
			                      {.fd = pr.fb, .events = POLLIN}};

			if (poll(p, 2, 20) > 0) {
				pair_drain(&pr, pr.fb, 1);
				pair_drain(&pr, pr.fa, 0);
			}
		}
	}
	for (i = 0; i < pr.n; i++)
		ok += pr.done[i] == 2;
	printf("{\"tool\":\"wgpair\",\"sessions\":%u,\"confirmed\":%u}\n", pr.n, ok);
	close(pr.fa);
	close(pr.fb);
	free(pr.ports);
	free(pr.done);
	return ok == pr.n ? 0 : 1;
}
