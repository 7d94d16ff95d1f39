/*
 * sk_lookup.bpf.c: SessionSockets = shared (portshare.c). The kernel runs this program when a
 * datagram arrives for which it is about to look for a local socket. A UDP datagram to a port
 * in `ports` (the open direct sessions) is given to the socket in `sock`, the first of the
 * relay's SO_REUSEPORT group of receive sockets; the kernel then picks one socket of the group
 * by the datagram's addresses and ports, so each flow stays on one thread. Anything else
 * (TCP, ports without a session) takes the kernel's ordinary lookup: a port with no session is
 * a closed port.
 *
 * Compiled with clang -target bpf at build time and embedded in wgrelayd; portshare.c loads it.
 */
#include <linux/bpf.h>
#include <linux/in.h>
#include <bpf/bpf_helpers.h>

/* Session port (host byte order) -> 1. max_entries is set by the loader to the port range. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u16);
	__type(value, __u8);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory for open sessions only */
} ports SEC(".maps");

/* Key 0: the group's first socket. */
struct {
	__uint(type, BPF_MAP_TYPE_SOCKMAP);
	__type(key, __u32);
	__type(value, __u64);
	__uint(max_entries, 1);
} sock SEC(".maps");

SEC("sk_lookup")
int portshare_lookup(struct bpf_sk_lookup *ctx)
{
	__u16 port = (__u16)ctx->local_port; /* host byte order in this context */
	__u32 zero = 0;
	struct bpf_sock *sk;
	long err;

	if (ctx->protocol != IPPROTO_UDP || !bpf_map_lookup_elem(&ports, &port))
		return SK_PASS;
	sk = bpf_map_lookup_elem(&sock, &zero);
	if (!sk)
		return SK_PASS; /* not there yet (start-up): nothing is steered */
	err = bpf_sk_assign(ctx, sk, 0);
	bpf_sk_release(sk);
	/* A session's port must never reach another socket that happens to be bound there. */
	return err ? SK_DROP : SK_PASS;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
