/*
 * xdp_fast.h: the maps and configuration shared by the XDP program (xdp_fast.bpf.c) and its
 * loader (xdp.c). Both sides compile this header: keep it to fixed-width kernel types and no
 * padding the two compilers could lay out differently.
 */
#ifndef WGR_XDP_FAST_H
#define WGR_XDP_FAST_H

#include <linux/types.h>

/* The address families as the kernel numbers them; the BPF side has no <sys/socket.h>. */
#define XDP_FAST_AF_INET  2
#define XDP_FAST_AF_INET6 10

/* One member: IPv4 in the first 4 bytes of ip (the rest zero), or IPv6; port big-endian. */
struct xdp_fast_member {
	__u8 ip[16];
	__be16 port;
	__u16 pad;
};

/* Map "sessions" value, keyed by the session port (host order, __u32). */
struct xdp_fast_session {
	struct xdp_fast_member m[2]; /* a, b */
	__u32 family;                /* XDP_FAST_AF_INET or XDP_FAST_AF_INET6 */
	__u32 pad;
	/* forward while the stats' bytes stay at or below this (UINT64_MAX: no limit) */
	__u64 byte_limit;
};

/* Map "stats" value, keyed like "sessions"; the program adds atomically. */
struct xdp_fast_stats {
	__u64 pkts, bytes;
	__u64 last_ns[2];
};

/* Map "counters" (per CPU, one entry): the same fields, in the same order, as xdp_counters. */
struct xdp_fast_counters {
	__u64 fwd_pkts, fwd_bytes;
	__u64 pass_not_session;
	__u64 pass_not_data;
	__u64 pass_unknown_source;
	__u64 pass_budget;
	__u64 pass_fib;
	__u64 tx_errors;
};

/* The program's read-only configuration (.rodata), set by the loader before the load. */
struct xdp_fast_cfg {
	__u16 port_lo, port_hi; /* session ports, host order */
	__u32 max_packet;       /* largest UDP payload forwarded */
};

#endif
