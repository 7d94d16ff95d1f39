/*
 * xdp.h: the XDP fast path of direct mode (docs/XDP.md). Confirmed direct sessions are
 * installed in a BPF map (session port -> the two members' addresses); a program attached to
 * the relay's interfaces sends their WireGuard transport datagrams (type 4) from one member to
 * the other without waking user space. Handshakes, unconfirmed sources and everything else go
 * up unchanged, so address proof, roaming and limits stay in direct.c.
 */
#ifndef WGR_XDP_H
#define WGR_XDP_H

#include <stddef.h>
#include <stdint.h>

#include "addr.h"

enum xdp_mode { XDP_MODE_OFF = 0, XDP_MODE_AUTO, XDP_MODE_NATIVE, XDP_MODE_GENERIC };

struct xdp_path; /* the loaded program, its maps, the attached interfaces */

/* One session's figures, as the program counts them. */
struct xdp_session_stats {
	/* forwarded for this port since xdp_session_set first installed it; an update keeps them */
	uint64_t pkts, bytes;
	/* CLOCK_MONOTONIC ns of the last datagram forwarded from member a (0) / b (1); 0: none */
	uint64_t last_ns[2];
};

/* The program's counters, summed over CPUs. */
struct xdp_counters {
	uint64_t fwd_pkts, fwd_bytes; /* sent on by XDP_TX or redirect */
	uint64_t pass_not_session;    /* UDP to a port in range with no installed session */
	uint64_t pass_not_data;       /* not a WireGuard transport datagram (handshakes, ...) */
	uint64_t pass_unknown_source; /* the source is neither installed member */
	uint64_t pass_budget;         /* the session's byte budget is spent */
	uint64_t pass_fib;            /* no usable route or neighbour for the destination */
	uint64_t tx_errors;           /* redirect refused by the kernel */
};

/* 1 when this build has the XDP fast path, 0 when it was built without libbpf or clang. */
int xdp_supported(void);
/* "off", "auto", "native", "generic". */
const char *xdp_mode_name(enum xdp_mode m);
/* 0, or -EINVAL for anything but the four names. */
int xdp_mode_parse(const char *s, enum xdp_mode *out);
/*
 * Load the program (ports port_lo..port_hi are session ports; larger datagrams than
 * max_packet go up) and attach it to the n interfaces named (n == 0: every interface that is
 * up and not loopback). AUTO tries native, then generic, per interface. Never replaces a
 * program someone else attached. On failure returns -errno, writes one line of why for the
 * log, and leaves nothing attached.
 */
int xdp_path_open(struct xdp_path **out, enum xdp_mode mode, const char *const *ifnames, size_t n,
                  uint16_t port_lo, uint16_t port_hi, uint32_t max_packet, char *why,
                  size_t whylen);
/* Detach from every interface and free. NULL ok. */
void xdp_path_close(struct xdp_path *x);
/* "native: veth0, veth1" or "generic: eth0", for the log and status. */
const char *xdp_path_describe(const struct xdp_path *x);
/*
 * Install or update session port: transport datagrams from a go to b and from b to a. a and
 * b must be of one family (else -EAFNOSUPPORT). budget: bytes the program may still forward
 * for the session, counted from its stats' bytes at this call (UINT64_MAX: no limit); once
 * spent, datagrams go up. Safe from any thread (map updates only).
 */
int xdp_session_set(struct xdp_path *x, uint16_t port, const struct addr *a, const struct addr *b,
                    uint64_t budget);
/* Remove port and zero its stats, so the port can be reused. 0 or -ENOENT. */
int xdp_session_del(struct xdp_path *x, uint16_t port);
/* 0 or -ENOENT (not installed). */
int xdp_session_read(struct xdp_path *x, uint16_t port, struct xdp_session_stats *st);
/* 0 or -errno. */
int xdp_counters_read(struct xdp_path *x, struct xdp_counters *c);
/* What xdp_sessions_read_all gives for each installed session. */
typedef void (*xdp_stats_fn)(void *arg, uint16_t port, const struct xdp_session_stats *st);
/*
 * Every installed session's figures, fn called for each (in no particular order; fn must not
 * install or remove sessions). A few system calls for all of them, where xdp_session_read
 * costs one a session. 0, or -errno: -EOPNOTSUPP when the kernel cannot read the map in
 * batches (before Linux 5.6), and the caller reads session by session instead.
 */
int xdp_sessions_read_all(struct xdp_path *x, xdp_stats_fn fn, void *arg);
/*
 * Added for tests (the API above is unchanged): the loaded program's file descriptor, to run
 * it on hand-built packets with bpf_prog_test_run_opts; owned by x. -errno without a path.
 */
int xdp_path_prog_fd(const struct xdp_path *x);

#endif
