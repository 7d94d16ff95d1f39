/*
 * flood.c: wgr-sim-flood, the attacker of the flood scenario (tests/e2e/12_flood.sh). From
 * many source addresses of its own host, it sends a bounded flood at a relay:
 *   - garbage of random length and content at the control port,
 *   - handshake initiations with a valid mac1 (so the relay must run its Diffie-Hellman
 *     before the Noise message fails) at the control port,
 *   - WireGuard-shaped transport datagrams (right type, random receiver) at a session port.
 * It paces itself to PPS datagrams a second in 1 ms slots, stops after SECONDS (both bounded),
 * and prints what it sent. Test tool only: built, never installed.
 *
 *   wgr-sim-flood CONTROL RELAYPUB SESSION SRC_FIRST SRC_COUNT PPS SECONDS
 *   e.g. wgr-sim-flood 203.0.113.10:51821 BASE64 203.0.113.10:50000 198.51.100.100 64 100000 20
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "cookie.h"
#include "key.h"
#include "proto.h"

#define FLOOD_MAX_SOURCES 256
#define FLOOD_MAX_PPS     1000000
#define FLOOD_MAX_SECONDS 600
#define FLOOD_BATCH       64
#define FLOOD_MAXLEN      1500

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* One datagram of kind k (0 garbage, 1 initiation, 2 transport) into p; its length. */
static size_t flood_make(int k, uint8_t *p, struct cookie_maker *cm)
{
	uint32_t r = randombytes_random();

	switch (k) {
	case 0: {
		size_t len = 1 + r % 200;

		randombytes_buf(p, len);
		return len;
	}
	case 1:
		memset(p, 0, PROTO_HS_INIT_LEN);
		p[0] = PROTO_MAGIC;
		p[1] = PROTO_HS_INIT;
		randombytes_buf(p + 4, 112); /* index, e, encrypted s and timestamp: garbage */
		cookie_add_macs(cm, p, PROTO_HS_INIT_LEN, 0);
		return PROTO_HS_INIT_LEN;
	default:
		memset(p, 0, 128);
		p[0] = 4;
		memcpy(p + 4, &r, 4);
		randombytes_buf(p + 16, 112);
		return 128;
	}
}

int main(int argc, char **argv)
{
	static uint8_t buf[FLOOD_BATCH][FLOOD_MAXLEN];
	struct mmsghdr msg[FLOOD_BATCH];
	struct iovec iov[FLOOD_BATCH];
	struct addr control, session, first, dst[3];
	struct cookie_maker cm;
	uint8_t relay_pub[32];
	int fds[FLOOD_MAX_SOURCES], nsrc;
	long pps, seconds;
	uint64_t sent[3] = {0}, failed = 0, start, slot_ns = 1000000, slots;

	if (argc != 8 || sodium_init() < 0) {
		fprintf(stderr, "usage: wgr-sim-flood CONTROL RELAYPUB SESSION SRC_FIRST SRC_COUNT "
		                "PPS SECONDS\n");
		return 2;
	}
	nsrc = atoi(argv[5]);
	pps = atol(argv[6]);
	seconds = atol(argv[7]);
	if (addr_parse(&control, argv[1], 0) < 0 || key_from_base64(relay_pub, argv[2]) < 0 ||
	    addr_parse(&session, argv[3], 0) < 0 || addr_parse(&first, argv[4], 1) < 0 ||
	    addr_family(&first) != AF_INET || nsrc < 1 || nsrc > FLOOD_MAX_SOURCES || pps < 1 ||
	    pps > FLOOD_MAX_PPS || seconds < 1 || seconds > FLOOD_MAX_SECONDS) {
		fprintf(stderr, "wgr-sim-flood: bad arguments\n");
		return 2;
	}
	cookie_maker_init(&cm, relay_pub);
	/* One socket per source address: consecutive IPv4 addresses from SRC_FIRST. */
	for (int i = 0; i < nsrc; i++) {
		struct sockaddr_in sa = {.sin_family = AF_INET,
		                         .sin_addr.s_addr =
		                             htonl(ntohl(first.in.sin_addr.s_addr) + (uint32_t)i)};

		fds[i] = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fds[i] < 0 || bind(fds[i], (struct sockaddr *)&sa, sizeof(sa)) < 0) {
			perror("wgr-sim-flood: source address");
			return 1;
		}
	}
	dst[0] = dst[1] = control;
	dst[2] = session;
	start = now_ns();
	slots = (uint64_t)seconds * 1000;
	for (uint64_t s = 0; s < slots; s++) {
		/* This slot's share of the rate, then sleep until the next slot starts. */
		uint64_t due = (uint64_t)pps * (s + 1) / 1000 - (uint64_t)pps * s / 1000;

		while (due) {
			int n = due < FLOOD_BATCH ? (int)due : FLOOD_BATCH, k = (int)(s % 3), fd;

			fd = fds[randombytes_uniform((uint32_t)nsrc)];
			for (int i = 0; i < n; i++) {
				iov[i] = (struct iovec){buf[i], flood_make(k, buf[i], &cm)};
				msg[i].msg_hdr = (struct msghdr){.msg_name = &dst[k].sa,
				                                 .msg_namelen = dst[k].len,
				                                 .msg_iov = &iov[i],
				                                 .msg_iovlen = 1};
			}
			int m = sendmmsg(fd, msg, (unsigned)n, MSG_DONTWAIT);

			if (m < 0)
				m = 0;
			sent[k] += (uint64_t)m;
			failed += (uint64_t)(n - m);
			due -= (uint64_t)n;
		}
		{
			uint64_t next = start + (s + 1) * slot_ns, t = now_ns();

			if (next > t) {
				struct timespec ts = {
				    .tv_sec = (time_t)((next - t) / 1000000000ull),
				    .tv_nsec = (long)((next - t) % 1000000000ull)};

				nanosleep(&ts, NULL);
			}
		}
	}
	printf("flood: %.1f s, garbage %llu, initiations %llu, transport %llu, not sent %llu\n",
	       (double)(now_ns() - start) / 1e9, (unsigned long long)sent[0],
	       (unsigned long long)sent[1], (unsigned long long)sent[2],
	       (unsigned long long)failed);
	return 0;
}
