/*
 * util.h: small helpers shared by the benchmark tools (the .c files of bench/): clock, IPv4 address parsing,
 * UDP sockets, the probe mark every generated packet carries, and a latency histogram.
 * Benchmark tools only; not part of any library.
 */
#ifndef WGR_BENCH_UTIL_H
#define WGR_BENCH_UTIL_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The probe mark sits at this offset of the datagram the sink receives (after the 16 bytes a
 * WireGuard data header takes): magic(4) flow(4) seq(8) send-time(8), host byte order. */
#define UTIL_MARK_OFF   16
#define UTIL_MARK_LEN   24
#define UTIL_MARK_MAGIC 0x57475242u

/* Largest UDP_SEGMENT payload the kernel accepts in one send (64 KiB minus headers). */
#define UTIL_GSO_MAX 65000

/* CLOCK_MONOTONIC in nanoseconds (one clock for every process on this machine). */
uint64_t util_now_ns(void);
/* Parse "a.b.c.d:port" into out; 0 or -EINVAL. */
int util_parse_addr(const char *s, struct sockaddr_in *out);
/* A UDP socket bound to a (port 0: any), buffers of bufsz bytes (forced past rmem_max when
 * root); returns the fd or -errno. */
int util_udp_socket(const struct sockaddr_in *a, int bufsz);
/* The same, made inside the network namespace at path netns (e.g. /run/netns/NAME; NULL: this
 * one): a socket keeps the namespace it was made in, so one process can hold a member in each
 * of two namespaces (bench/veth.sh). The calling thread is back in its own namespace after. */
int util_udp_socket_in(const char *netns, const struct sockaddr_in *a, int bufsz);
/* Write / read the probe mark at p (caller guarantees UTIL_MARK_OFF + UTIL_MARK_LEN bytes). */
void util_mark_put(uint8_t *p, uint32_t flow, uint64_t seq, uint64_t t_ns);
int util_mark_get(const uint8_t *p, uint32_t *flow, uint64_t *seq, uint64_t *t_ns);
/* utime + stime of a process in nanoseconds from /proc/PID/stat, or -1 when unreadable. */
int64_t util_proc_cpu_ns(int pid);
/*
 * The datagrams the kernel dropped on fd (SO_MEMINFO), 0 when unknown. Read once at the end, not
 * attached to every datagram (SO_RXQ_OVFL): on kernels with hardened usercopy that cmsg can
 * trip a kernel BUG (see common/sock.h).
 */
uint32_t util_sock_drops(int fd);
/* Read "IP:PORT" lines (blank and # lines skipped) into a new array *out of *n; 0 or -errno. */
int util_read_addrs(const char *file, struct sockaddr_in **out, unsigned *n);
/* Parse a duration/number argument or exit 2 naming it. */
double util_arg_num(const char *opt, const char *val);

/* Latency histogram: 50 ns buckets up to 4 ms, one overflow bucket (its largest value kept). */
#define UTIL_HIST_STEP_NS 50
#define UTIL_HIST_N       80000
struct util_hist {
	uint64_t n;
	uint64_t over_max;
	uint64_t b[UTIL_HIST_N + 1];
};

void util_hist_add(struct util_hist *h, int64_t v_ns);
/* Value in ns below which a fraction q of the samples lie (0 when empty). */
uint64_t util_hist_quantile(const struct util_hist *h, double q);
/* Write "latency_us cumulative_fraction" lines, one per non-empty bucket, for plotting. */
int util_hist_write_cdf(const struct util_hist *h, FILE *f);

#endif
