/*
 * xdp_fast.bpf.c: the XDP program of direct mode's fast path (docs/XDP.md). A WireGuard
 * transport datagram (type 4) from one member of an installed session is rewritten to come
 * from the relay's address and session port and sent to the other member, from the driver's
 * receive path, without waking user space. Anything the program is not sure of goes up
 * (XDP_PASS) untouched: user space proves addresses, answers handshakes and enforces limits.
 *
 * Compiled with clang -target bpf at build time and embedded in wgrelayd; xdp.c loads it.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "xdp_fast.h"

/* WireGuard's transport data message: type 4, three reserved zero bytes, a 4-byte receiver
 * index, an 8-byte counter and at least the 16-byte tag (docs/PROTOCOL.md §5.4). */
#define WG_TYPE_TRANSPORT 4
#define WG_TRANSPORT_MIN  32
/* The relay sends the datagram anew: a fresh hop count, as user space's sendmsg would. */
#define FAST_TTL 64

/* Set by the loader before the load (xdp.c); volatile so the compiler keeps the reads. */
const volatile struct xdp_fast_cfg cfg = {0};

/* Session port -> the two members. max_entries is set by the loader to the port range. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct xdp_fast_session);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC); /* memory for installed sessions only */
} sessions SEC(".maps");

/* Session port -> what was forwarded; a separate map so an update of the members keeps it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);
	__type(value, struct xdp_fast_stats);
	__uint(max_entries, 1);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__type(key, __u32);
	__type(value, struct xdp_fast_counters);
	__uint(max_entries, 1);
} counters SEC(".maps");

/* What parsing found, for the family-neutral middle part. */
struct fast_pkt {
	struct udphdr *udp;
	const __u32 *saddr; /* 1 (IPv4) or 4 (IPv6) words */
	__u32 nwords;
	__u32 family;
	__u32 plen; /* UDP payload bytes */
};

/* One 16-bit word of a ones' complement sum replaced: RFC 1624, eqn. 3, unfolded. */
static __always_inline __u32 fast_csum_replace(__u32 sum, __u16 old, __u16 new)
{
	return sum + (__u16)~old + new;
}

static __always_inline __u16 fast_csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/*
 * The UDP checksum after the rewrite. The pseudo header's source becomes the old destination
 * and the source port the old destination port: those words only move, so the sum changes by
 * the member's address and port being replaced by the other member's.
 */
static __always_inline __u16 fast_udp_csum(__u16 check, const __u32 *from_ip, const __u8 *to_ip,
                                           __u32 nwords, __be16 from_port, __be16 to_port)
{
	const __u16 *o = (const __u16 *)from_ip, *n = (const __u16 *)to_ip;
	__u32 sum = (__u16)~check;

#pragma unroll
	for (int i = 0; i < 8; i++)
		if ((__u32)i < nwords * 2)
			sum = fast_csum_replace(sum, o[i], n[i]);
	sum = fast_csum_replace(sum, from_port, to_port);
	check = (__u16)~fast_csum_fold(sum);
	/* 0 means "no checksum" to IPv4 and is invalid in IPv6: a computed 0 is sent as ~0. */
	return check ? check : 0xffff;
}

static __always_inline int fast_is_member(const struct xdp_fast_member *m, const __u32 *ip,
                                          __u32 nwords, __be16 port)
{
	const __u32 *mi = (const __u32 *)m->ip;

	if (m->port != port || mi[0] != ip[0])
		return 0;
	if (nwords == 1)
		return 1;
	return mi[1] == ip[1] && mi[2] == ip[2] && mi[3] == ip[3];
}

/*
 * The checks every family shares: a session port, an installed session, a transport datagram
 * from one of its members, budget left. Returns the member it came from (0, 1) or -1, counted.
 */
static __always_inline int fast_match(struct fast_pkt *p, void *end, struct xdp_fast_counters *c,
                                      struct xdp_fast_session **sp, struct xdp_fast_stats **stp)
{
	struct udphdr *udp = p->udp;
	struct xdp_fast_session *s;
	struct xdp_fast_stats *st;
	__u32 port = bpf_ntohs(udp->dest);
	__u8 *pl = (__u8 *)(udp + 1);
	int from;

	if (port < cfg.port_lo || port > cfg.port_hi)
		return -1;
	s = bpf_map_lookup_elem(&sessions, &port);
	st = bpf_map_lookup_elem(&stats, &port);
	if (!s || !st) {
		c->pass_not_session++;
		return -1;
	}
	if ((void *)(pl + WG_TRANSPORT_MIN) > end || p->plen < WG_TRANSPORT_MIN ||
	    p->plen > cfg.max_packet || pl[0] != WG_TYPE_TRANSPORT || pl[1] || pl[2] || pl[3]) {
		c->pass_not_data++;
		return -1;
	}
	if (s->family != p->family)
		from = -1;
	else if (fast_is_member(&s->m[0], p->saddr, p->nwords, udp->source))
		from = 0;
	else if (fast_is_member(&s->m[1], p->saddr, p->nwords, udp->source))
		from = 1;
	else
		from = -1;
	if (from < 0) {
		c->pass_unknown_source++;
		return -1;
	}
	if (st->bytes + p->plen > s->byte_limit) {
		c->pass_budget++;
		return -1;
	}
	*sp = s;
	*stp = st;
	return from;
}

/* Counted as forwarded, then XDP_TX back out of the ingress device or redirected. */
static __always_inline int fast_send(struct xdp_md *ctx, struct ethhdr *eth,
                                     const struct bpf_fib_lookup *f, struct xdp_fast_counters *c,
                                     struct xdp_fast_stats *st, int from, __u32 plen)
{
	long rc;

	__builtin_memcpy(eth->h_dest, f->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, f->smac, ETH_ALEN);
	__sync_fetch_and_add(&st->pkts, 1);
	__sync_fetch_and_add(&st->bytes, plen);
	st->last_ns[from & 1] = bpf_ktime_get_ns();
	c->fwd_pkts++;
	c->fwd_bytes += plen;
	if (f->ifindex == ctx->ingress_ifindex)
		return XDP_TX;
	rc = bpf_redirect(f->ifindex, 0);
	if (rc != XDP_REDIRECT)
		c->tx_errors++;
	return (int)rc;
}

static __always_inline int fast_ip4(struct xdp_md *ctx, struct ethhdr *eth, void *end,
                                    struct xdp_fast_counters *c)
{
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct bpf_fib_lookup f = {};
	struct xdp_fast_session *s = 0;
	struct xdp_fast_stats *st = 0;
	const struct xdp_fast_member *to;
	struct fast_pkt p;
	__u32 sum = 0, ulen;
	__u16 *w;
	int from;

	if ((void *)(ip + 1) > end || ip->version != 4 || ip->ihl != 5 ||
	    ip->protocol != IPPROTO_UDP || (ip->frag_off & bpf_htons(0x3fff)))
		return XDP_PASS;
	p.udp = (struct udphdr *)(ip + 1);
	if ((void *)(p.udp + 1) > end)
		return XDP_PASS;
	ulen = bpf_ntohs(p.udp->len);
	if (ulen < sizeof(struct udphdr) || ulen + sizeof(*ip) != bpf_ntohs(ip->tot_len) ||
	    (void *)p.udp + ulen > end)
		return XDP_PASS;
	p.saddr = &ip->saddr;
	p.nwords = 1;
	p.family = XDP_FAST_AF_INET;
	p.plen = ulen - sizeof(struct udphdr);
	from = fast_match(&p, end, c, &s, &st);
	if (from < 0 || !s || !st)
		return XDP_PASS;
	to = &s->m[from ^ 1];

	/* The route to the other member, from the address it will see as the source. */
	f.family = XDP_FAST_AF_INET;
	f.l4_protocol = IPPROTO_UDP;
	f.sport = p.udp->dest;
	f.dport = to->port;
	f.tot_len = bpf_ntohs(ip->tot_len);
	f.tos = ip->tos;
	f.ipv4_src = ip->daddr;
	__builtin_memcpy(&f.ipv4_dst, to->ip, 4);
	f.ifindex = ctx->ingress_ifindex;
	if (bpf_fib_lookup(ctx, &f, sizeof(f), 0) != BPF_FIB_LKUP_RET_SUCCESS) {
		c->pass_fib++;
		return XDP_PASS;
	}

	if (p.udp->check)
		p.udp->check =
		    fast_udp_csum(p.udp->check, &ip->saddr, to->ip, 1, p.udp->source, to->port);
	p.udp->source = p.udp->dest;
	p.udp->dest = to->port;
	ip->saddr = ip->daddr;
	__builtin_memcpy(&ip->daddr, to->ip, 4);
	ip->ttl = FAST_TTL;
	ip->check = 0;
	w = (__u16 *)ip;
#pragma unroll
	for (int i = 0; i < (int)(sizeof(*ip) / 2); i++)
		sum += w[i];
	ip->check = (__u16)~fast_csum_fold(sum);
	return fast_send(ctx, eth, &f, c, st, from, p.plen);
}

static __always_inline int fast_ip6(struct xdp_md *ctx, struct ethhdr *eth, void *end,
                                    struct xdp_fast_counters *c)
{
	struct ipv6hdr *ip = (struct ipv6hdr *)(eth + 1);
	struct bpf_fib_lookup f = {};
	struct xdp_fast_session *s = 0;
	struct xdp_fast_stats *st = 0;
	const struct xdp_fast_member *to;
	struct fast_pkt p;
	__u32 ulen;
	int from;

	if ((void *)(ip + 1) > end || ip->version != 6 || ip->nexthdr != IPPROTO_UDP)
		return XDP_PASS;
	p.udp = (struct udphdr *)(ip + 1);
	if ((void *)(p.udp + 1) > end)
		return XDP_PASS;
	ulen = bpf_ntohs(p.udp->len);
	/* A zero UDP checksum is invalid over IPv6 (RFC 8200 §8.1): user space decides. */
	if (ulen < sizeof(struct udphdr) || ulen != bpf_ntohs(ip->payload_len) ||
	    (void *)p.udp + ulen > end || !p.udp->check)
		return XDP_PASS;
	p.saddr = ip->saddr.in6_u.u6_addr32;
	p.nwords = 4;
	p.family = XDP_FAST_AF_INET6;
	p.plen = ulen - sizeof(struct udphdr);
	from = fast_match(&p, end, c, &s, &st);
	if (from < 0 || !s || !st)
		return XDP_PASS;
	to = &s->m[from ^ 1];

	f.family = XDP_FAST_AF_INET6;
	f.l4_protocol = IPPROTO_UDP;
	f.sport = p.udp->dest;
	f.dport = to->port;
	f.tot_len = sizeof(*ip) + ulen;
	f.flowinfo = *(__be32 *)ip & bpf_htonl(0x0fffffff);
	__builtin_memcpy(f.ipv6_src, &ip->daddr, 16);
	__builtin_memcpy(f.ipv6_dst, to->ip, 16);
	f.ifindex = ctx->ingress_ifindex;
	if (bpf_fib_lookup(ctx, &f, sizeof(f), 0) != BPF_FIB_LKUP_RET_SUCCESS) {
		c->pass_fib++;
		return XDP_PASS;
	}

	p.udp->check = fast_udp_csum(p.udp->check, ip->saddr.in6_u.u6_addr32, to->ip, 4,
	                             p.udp->source, to->port);
	p.udp->source = p.udp->dest;
	p.udp->dest = to->port;
	ip->saddr = ip->daddr;
	__builtin_memcpy(&ip->daddr, to->ip, 16);
	ip->hop_limit = FAST_TTL;
	return fast_send(ctx, eth, &f, c, st, from, p.plen);
}

SEC("xdp")
int xdp_fast(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct xdp_fast_counters *c;
	__u32 zero = 0;

	if ((void *)(eth + 1) > end)
		return XDP_PASS;
	c = bpf_map_lookup_elem(&counters, &zero);
	if (!c)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return fast_ip4(ctx, eth, end, c);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return fast_ip6(ctx, eth, end, c);
	return XDP_PASS;
}

/* bpf_fib_lookup is offered to GPL-compatible programs only. */
char LICENSE[] SEC("license") = "Dual MIT/GPL";
