/*
 * rx.h: the receiving half of a benchmark run, shared by the sink and by the generator's
 * loopback mode (--sink): counts datagrams (UDP_GRO runs split back by gso_size), tracks the
 * socket's kernel drop counter (SO_MEMINFO, read at the end) and turns probe marks into one-way
 * delays.
 */
#ifndef WGR_BENCH_RX_H
#define WGR_BENCH_RX_H

#include "util.h"

#include <netinet/in.h>
#include <stdio.h>

struct rx;

/* Bind a receiving socket on a; gro asks for coalesced runs. Returns NULL with a message. */
struct rx *rx_new(const struct sockaddr_in *a, int gro);
void rx_free(struct rx *r);
/* Delays of datagrams received earlier than warmup_s after the first are not recorded. */
void rx_set_warmup(struct rx *r, double warmup_s);
/* One recvmmsg: flags 0 waits up to 100 ms, MSG_DONTWAIT polls. Returns datagrams read or 0. */
int rx_poll(struct rx *r, int flags);
/* Monotonic time of the last datagram (0 before the first). */
uint64_t rx_last_ns(const struct rx *r);
/* Print the JSON summary (tool name given) on f, and the delay CDF to hist when non-NULL. */
void rx_report(const struct rx *r, const char *tool, FILE *f, const char *hist);

#endif
