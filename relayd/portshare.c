/*
 * portshare.c: SessionSockets = shared. A direct session owns a port of PortRange but no
 * socket: a BPF sk_lookup program (sk_lookup.bpf.c), attached to the relay's network namespace
 * through a BPF link (detached by the kernel when the relay exits, even by a crash), steers UDP
 * datagrams to an open session port to one SO_REUSEPORT group of receive sockets, one per
 * worker. The destination port of each datagram (IP_RECVORIGDSTADDR) names the session; routing
 * is direct.c's as for a session socket. Replies leave through raw UDP sockets with the session's
 * port and the address the member sent to. The cost of a session is a map entry, not a socket.
 *
 * A build without libbpf or clang answers "not supported": the operator asked for shared
 * explicitly, so the relay refuses to start rather than fall back.
 */
#include <errno.h>
#include <fcntl.h>
#include <netinet/udp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "portshare.h"
#include "promtext.h"
#include "relay.h"
#include "sock.h"
#include "worker.h"

#ifndef UDP_GRO
#define UDP_GRO 104
#endif

/* A shared receive socket serves every session of its thread: more room than one session's. */
#define PORTSHARE_RCVBUF (8 << 20)
#define PORTSHARE_SNDBUF (4 << 20)

/* RFC 1071: the ones' complement sum of len bytes at p added to sum (not yet folded). */
static uint64_t portshare_sum(uint64_t sum, const uint8_t *p, size_t len)
{
	for (; len >= 4; p += 4, len -= 4) {
		uint32_t w;

		memcpy(&w, p, 4);
		sum += w;
	}
	if (len >= 2) {
		uint16_t h;

		memcpy(&h, p, 2);
		sum += h;
		p += 2;
		len -= 2;
	}
	if (len) {
		uint8_t last[2] = {p[0], 0};
		uint16_t h;

		memcpy(&h, last, 2);
		sum += h;
	}
	return sum;
}

uint16_t portshare_udp4_csum(uint32_t saddr, uint32_t daddr, const uint8_t hdr[8], const uint8_t *p,
                             size_t len)
{
	/* The pseudo-header in network order: addresses, zero, protocol, UDP length. */
	uint8_t ph[4] = {0, IPPROTO_UDP, (uint8_t)((len + 8) >> 8), (uint8_t)(len + 8)};
	uint64_t sum = 0;
	uint16_t out;

	sum = portshare_sum(sum, (const uint8_t *)&saddr, 4);
	sum = portshare_sum(sum, (const uint8_t *)&daddr, 4);
	sum = portshare_sum(sum, ph, 4);
	sum = portshare_sum(sum, hdr, 8);
	sum = portshare_sum(sum, p, len);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	out = (uint16_t)~sum;
	/* RFC 768: a computed zero is sent as all ones (zero means "no checksum"). */
	return out ? out : 0xffff;
}

void portshare_tx_flush(struct portshare_tx *t)
{
	int fd = t->family == AF_INET ? t->raw4 : t->raw6;

	for (unsigned done = 0; done < t->n;) {
		int sent = sendmmsg(fd, t->msg + done, t->n - done, MSG_DONTWAIT);

		if (sent > 0) {
			done += (unsigned)sent;
			continue;
		}
		/* The first message is refused (full buffer, no route): it alone is lost. */
		t->failed++;
		t->failed_bytes += t->iov[done][1].iov_len;
		done++;
	}
	t->n = 0;
}

void portshare_tx_add(struct portshare_tx *t, const struct addr *src, const struct addr *dst,
                      uint8_t *p, size_t len)
{
	int fam = dst->sa.sa_family;
	unsigned i;
	uint8_t *u;
	struct msghdr *h;
	struct cmsghdr *c;
	uint16_t ulen = (uint16_t)(len + 8), sport = htons(addr_port(src));

	if ((fam == AF_INET ? t->raw4 : t->raw6) < 0 || len > 65535 - 8) {
		t->failed++;
		t->failed_bytes += len;
		return;
	}
	if (t->n == PORTSHARE_TXMAX || (t->n && t->family != fam))
		portshare_tx_flush(t);
	t->family = fam;
	i = t->n++;
	u = t->udp[i];
	memcpy(u, &sport, 2);
	memcpy(u + 2, fam == AF_INET ? &dst->in.sin_port : &dst->in6.sin6_port, 2);
	u[4] = (uint8_t)(ulen >> 8);
	u[5] = (uint8_t)ulen;
	u[6] = u[7] = 0;
	t->iov[i][0] = (struct iovec){u, 8};
	t->iov[i][1] = (struct iovec){p, len};
	h = &t->msg[i].msg_hdr;
	*h = (struct msghdr){.msg_name = &t->dst[i],
	                     .msg_iov = t->iov[i],
	                     .msg_iovlen = 2,
	                     .msg_control = t->cm[i].b};
	c = (struct cmsghdr *)t->cm[i].b;
	if (fam == AF_INET) {
		struct in_pktinfo pi = {.ipi_spec_dst = src->in.sin_addr};
		uint16_t sum;

		/* A raw IPv4 socket takes the port field as nothing; the header carries it. */
		t->dst[i].in =
		    (struct sockaddr_in){.sin_family = AF_INET, .sin_addr = dst->in.sin_addr};
		h->msg_namelen = sizeof(struct sockaddr_in);
		if (src->sa.sa_family != AF_INET || !src->in.sin_addr.s_addr) {
			/* No local address known: the kernel picks one; RFC 768 allows no checksum. */
			h->msg_control = NULL;
			return;
		}
		sum = portshare_udp4_csum(src->in.sin_addr.s_addr, dst->in.sin_addr.s_addr, u, p,
		                          len);
		memcpy(u + 6, &sum, 2);
		h->msg_controllen = CMSG_SPACE(sizeof(pi));
		c->cmsg_level = IPPROTO_IP;
		c->cmsg_type = IP_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	} else {
		struct in6_pktinfo pi = {.ipi6_addr = src->in6.sin6_addr};

		/* A raw IPv6 socket reads a non-zero port as the protocol: it must stay 0. */
		t->dst[i].in6 = (struct sockaddr_in6){.sin6_family = AF_INET6,
		                                      .sin6_addr = dst->in6.sin6_addr,
		                                      .sin6_scope_id = dst->in6.sin6_scope_id};
		h->msg_namelen = sizeof(struct sockaddr_in6);
		if (src->sa.sa_family != AF_INET6) {
			h->msg_control = NULL; /* the kernel picks the source */
			return;
		}
		h->msg_controllen = CMSG_SPACE(sizeof(pi));
		c->cmsg_level = IPPROTO_IPV6;
		c->cmsg_type = IPV6_PKTINFO;
		c->cmsg_len = CMSG_LEN(sizeof(pi));
		memcpy(CMSG_DATA(c), &pi, sizeof(pi));
	}
}

#ifdef WGR_HAVE_XDP

#include <linux/filter.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

/* The object file, embedded by BpfObject.cmake. */
extern const unsigned char sk_lookup_bpf[];
extern const size_t sk_lookup_bpf_len;

struct portshare {
	struct bpf_object *obj;
	struct bpf_link *link;
	int ports_fd;
	unsigned nrx;
	struct portshare_rx *rx;
	uint64_t map_failed; /* session ports the map refused (their sessions were refused) */
};

static int portshare_why(char *err, size_t errlen, int e, const char *what)
{
	snprintf(err, errlen, "SessionSockets = shared: %s: %s", what, strerror(-e));
	return e;
}

/* libbpf speaks on stderr by default; what went wrong is reported through err instead. */
static int portshare_libbpf_quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	(void)level;
	(void)fmt;
	(void)ap;
	return 0;
}

/*
 * A raw UDP socket of family fam that sends and never receives: it would otherwise be handed
 * a copy of every UDP datagram of the host. -errno when it cannot be had; -EAFNOSUPPORT for an
 * IPv6 that is off (then only IPv4 members can be served).
 */
static int portshare_raw(int fam)
{
	static struct sock_filter none[] = {{BPF_RET | BPF_K, 0, 0, 0}};
	struct sock_fprog prog = {.len = 1, .filter = none};
	int fd = socket(fam, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, IPPROTO_UDP), small = 1;
	int six = 6, snd = PORTSHARE_SNDBUF;
	char junk[64];

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &prog, sizeof(prog)) < 0 ||
	    (fam == AF_INET6 &&
	     setsockopt(fd, IPPROTO_IPV6, IPV6_CHECKSUM, &six, sizeof(six)) < 0)) {
		int e = -errno;

		close(fd);
		return e;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));
	if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &snd, sizeof(snd)) < 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &snd, sizeof(snd));
	/* What arrived before the filter: bounded by the (tiny) receive buffer. */
	for (int i = 0; i < 1024 && recv(fd, junk, sizeof(junk), MSG_DONTWAIT) >= 0; i++)
		;
	return fd;
}

/* The group's sockets: the first on a port of the kernel's choice, the others beside it. */
static int portshare_rx_socket(const struct relay *r, uint16_t *port)
{
	int fd = socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), off = 0, one = 1;
	struct sockaddr_in6 sa = {.sin6_family = AF_INET6, .sin6_port = htons(*port)};
	socklen_t sl = sizeof(sa);
	int e;

	if (fd < 0)
		return -errno;
	if (setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IP, IP_RECVORIGDSTADDR, &one, sizeof(one)) < 0 ||
	    setsockopt(fd, IPPROTO_IPV6, IPV6_RECVORIGDSTADDR, &one, sizeof(one)) < 0 ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		goto fail;
	if (r->cfg.coalesce)
		setsockopt(fd, SOL_UDP, UDP_GRO, &one, sizeof(one));
	sock_buffers(fd, PORTSHARE_RCVBUF);
	*port = ntohs(sa.sin6_port);
	return fd;
fail:
	e = -errno;
	close(fd);
	return e;
}

static void portshare_free(struct portshare *ps)
{
	if (!ps)
		return;
	bpf_link__destroy(ps->link);
	bpf_object__close(ps->obj);
	for (unsigned i = 0; ps->rx && i < ps->nrx; i++) {
		struct portshare_rx *x = &ps->rx[i];

		if (x->fd >= 0)
			close(x->fd);
		if (x->tx.raw4 >= 0)
			close(x->tx.raw4);
		if (x->tx.raw6 >= 0)
			close(x->tx.raw6);
	}
	free(ps->rx);
	free(ps);
}

/* A /proc/sys file's text into buf (NUL-terminated); its length, or -errno. */
static ssize_t portshare_read_sysctl(const char *path, char *buf, size_t cap)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	ssize_t k = 0;

	if (fd < 0)
		return -errno;
	while (n + 1 < cap && (k = read(fd, buf + n, cap - 1 - n)) > 0)
		n += (size_t)k;
	close(fd);
	buf[n] = '\0';
	return k < 0 ? -EIO : (ssize_t)n;
}

/*
 * The kernel hands out ports of net.ipv4.ip_local_port_range (also for IPv6) to sockets that
 * bind no port, except those of net.ipv4.ip_local_reserved_ports. A local socket given a session
 * port would lose its replies to the steering, so PortRange must avoid those ports: 0, or
 * -EADDRINUSE with err naming the first such port. When the files cannot be read, 0.
 */
static int portshare_check_ephemeral(const struct relay *r, char *err, size_t errlen)
{
	static uint8_t reserved[65536 / 8];
	static char list[65536];
	unsigned elo, ehi, lo = r->cfg.port_lo, hi = r->cfg.port_hi;
	char range[64];

	if (portshare_read_sysctl("/proc/sys/net/ipv4/ip_local_port_range", range, sizeof(range)) <
	        0 ||
	    sscanf(range, "%u %u", &elo, &ehi) != 2)
		return 0;
	memset(reserved, 0, sizeof(reserved));
	if (portshare_read_sysctl("/proc/sys/net/ipv4/ip_local_reserved_ports", list,
	                          sizeof(list)) > 0) {
		/* "8080,9000-9100": each item a port or a range, both ends within 0-65535. */
		for (char *p = list, *next; *p && *p != '\n'; p = next) {
			unsigned a, b;
			int k = sscanf(p, "%u-%u", &a, &b);

			next = p + strcspn(p, ",\n");
			if (*next == ',')
				next++;
			if (k < 1)
				break;
			if (k == 1)
				b = a;
			for (unsigned q = a; q <= b && q < 65536; q++)
				reserved[q / 8] |= (uint8_t)(1u << (q % 8));
		}
	}
	for (unsigned q = lo > elo ? lo : elo; q <= hi && q <= ehi; q++)
		if (!(reserved[q / 8] & (1u << (q % 8)))) {
			snprintf(
			    err, errlen,
			    "SessionSockets = shared: PortRange %u-%u overlaps the kernel's "
			    "ephemeral ports %u-%u (net.ipv4.ip_local_port_range; port %u is not "
			    "in "
			    "ip_local_reserved_ports): a local socket given a session's port would "
			    "lose its replies to the steering. Move PortRange out of it, or "
			    "reserve "
			    "it (sysctl net.ipv4.ip_local_reserved_ports=%u-%u)",
			    lo, hi, elo, ehi, q, lo, hi);
			return -EADDRINUSE;
		}
	return 0;
}

/* Load the program with the ports map sized to the range; 0 or -errno with err. */
static int portshare_load(struct relay *r, struct portshare *ps, char *err, size_t errlen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oo, .object_name = "wgr_sk_lookup");
	libbpf_print_fn_t old = libbpf_set_print(portshare_libbpf_quiet);
	struct bpf_map *ports;
	int e = 0;

	ps->obj = bpf_object__open_mem(sk_lookup_bpf, sk_lookup_bpf_len, &oo);
	if (!ps->obj) {
		e = -errno;
		portshare_why(err, errlen, e, "cannot open the embedded sk_lookup program");
		goto out;
	}
	ports = bpf_object__find_map_by_name(ps->obj, "ports");
	if (!ports || (e = bpf_map__set_max_entries(
	                   ports, (uint32_t)(r->cfg.port_hi - r->cfg.port_lo + 1))) < 0) {
		portshare_why(err, errlen, e ? e : -ENOENT, "the program's ports map");
		goto out;
	}
	if ((e = bpf_object__load(ps->obj)) < 0) {
		if (e == -EPERM || e == -EACCES)
			snprintf(err, errlen,
			         "SessionSockets = shared: no permission to load BPF (need CAP_BPF "
			         "and CAP_NET_ADMIN, or root)");
		else
			portshare_why(err, errlen, e,
			              "cannot load the sk_lookup program (Linux 5.9 or later "
			              "needed)");
		goto out;
	}
	ps->ports_fd = bpf_map__fd(ports);
out:
	libbpf_set_print(old);
	return e;
}

/* Put the group's first socket in the sockmap and attach the program to our namespace. */
static int portshare_attach(struct portshare *ps, char *err, size_t errlen)
{
	struct bpf_map *sock = bpf_object__find_map_by_name(ps->obj, "sock");
	struct bpf_program *prog = bpf_object__find_program_by_name(ps->obj, "portshare_lookup");
	uint32_t zero = 0;
	uint64_t fd = (uint64_t)ps->rx[0].fd;
	int ns, e;

	if (!sock || !prog)
		return portshare_why(err, errlen, -ENOENT, "the embedded program is incomplete");
	if (bpf_map_update_elem(bpf_map__fd(sock), &zero, &fd, BPF_ANY) < 0)
		return portshare_why(err, errlen, -errno,
		                     "the kernel refuses the receive socket in a sockmap");
	ns = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (ns < 0)
		return portshare_why(err, errlen, -errno, "/proc/self/ns/net");
	ps->link = bpf_program__attach_netns(prog, ns);
	e = ps->link ? 0 : -errno;
	close(ns);
	if (e < 0)
		return portshare_why(
		    err, errlen, e, "cannot attach the sk_lookup program to the network namespace");
	return 0;
}

/* The receive group and a raw sender pair per reader; -errno with err. */
static int portshare_sockets(struct relay *r, struct portshare *ps, char *err, size_t errlen)
{
	uint16_t port = 0;
	int e;

	for (unsigned i = 0; i < ps->nrx; i++) {
		struct portshare_rx *x = &ps->rx[i];

		x->fd = x->tx.raw4 = x->tx.raw6 = -1;
	}
	for (unsigned i = 0; i < ps->nrx; i++) {
		struct portshare_rx *x = &ps->rx[i];

		x->r = r;
		if ((e = portshare_rx_socket(r, &port)) < 0)
			return portshare_why(err, errlen, e, "receive socket");
		x->fd = e;
		if ((e = portshare_raw(AF_INET)) < 0)
			return portshare_why(err, errlen, e,
			                     e == -EPERM ? "raw socket (need CAP_NET_RAW)"
			                                 : "raw IPv4 socket");
		x->tx.raw4 = e;
		e = portshare_raw(AF_INET6);
		if (e < 0 && e != -EAFNOSUPPORT)
			return portshare_why(err, errlen, e, "raw IPv6 socket");
		x->tx.raw6 = e;
	}
	return 0;
}

int portshare_open(struct relay *r, char *err, size_t errlen)
{
	struct portshare *ps;
	int e;

	if (!r->cfg.shared_ports)
		return 0;
	ps = calloc(1, sizeof(*ps));
	if (!ps)
		return portshare_why(err, errlen, -ENOMEM, "out of memory");
	ps->nrx = r->n_workers ? r->n_workers : 1;
	ps->rx = calloc(ps->nrx, sizeof(*ps->rx));
	if (!ps->rx) {
		free(ps);
		return portshare_why(err, errlen, -ENOMEM, "out of memory");
	}
	if ((e = portshare_check_ephemeral(r, err, errlen)) < 0 ||
	    (e = portshare_sockets(r, ps, err, errlen)) < 0 ||
	    (e = portshare_load(r, ps, err, errlen)) < 0 ||
	    (e = portshare_attach(ps, err, errlen)) < 0)
		goto fail;
	/* Nothing can fail past here but a watch: the readers start. */
	if (!r->n_workers && !r->io && !(r->io = direct_io_new())) {
		e = portshare_why(err, errlen, -ENOMEM, "out of memory");
		goto fail;
	}
	for (unsigned i = 0; i < ps->nrx; i++) {
		struct portshare_rx *x = &ps->rx[i];

		x->io = r->n_workers ? r->workers[i].io : r->io;
		e = r->n_workers ? worker_watch(&r->workers[i], x->fd, direct_shared_input, x)
		                 : ev_add_io(r->loop, x->fd, EV_READ, direct_shared_input, x);
		if (e < 0) {
			/* A worker may already read an earlier socket: these stay until exit. */
			r->ps = ps;
			return portshare_why(err, errlen, -ENOMEM, "cannot watch a receive socket");
		}
	}
	r->ps = ps;
	log_info("session sockets: shared, %u receive socket(s), ports steered by sk_lookup",
	         ps->nrx);
	return 0;
fail:
	portshare_free(ps);
	return e;
}

int portshare_after_drop(struct relay *r, char *err, size_t errlen)
{
	uint16_t probe = 0; /* never a session's: PortRange starts at 1024 */
	uint8_t one = 1;

	if (!r->ps)
		return 0;
	if (bpf_map_update_elem(r->ps->ports_fd, &probe, &one, BPF_ANY) < 0)
		return portshare_why(err, errlen, -errno,
		                     "the ports map refuses updates after privileges drop (Linux "
		                     "before 5.19 needs CAP_BPF kept)");
	bpf_map_delete_elem(r->ps->ports_fd, &probe);
	return 0;
}

void portshare_close(struct relay *r)
{
	/* Workers may still be reading the sockets: the process is ending, the kernel closes them. */
	if (!r->ps)
		return;
	bpf_link__destroy(r->ps->link);
	r->ps->link = NULL;
}

int portshare_fd(const struct relay *r)
{
	return r->ps->rx[0].fd;
}

int portshare_add(struct relay *r, uint16_t port)
{
	uint8_t one = 1;

	if (bpf_map_update_elem(r->ps->ports_fd, &port, &one, BPF_ANY) < 0) {
		r->ps->map_failed++;
		return -errno;
	}
	return 0;
}

void portshare_del(struct relay *r, uint16_t port)
{
	bpf_map_delete_elem(r->ps->ports_fd, &port);
}

size_t portshare_metrics(const struct relay *r, char *out, size_t cap)
{
	uint64_t none = 0;
	size_t n = 0;

	if (!r->ps)
		return 0;
	for (unsigned i = 0; i < r->ps->nrx; i++)
		none += r->ps->rx[i].no_session;
	SCALAR("wgrelayd_shared_no_session_total", "counter",
	       "Datagrams on the shared session sockets for a port whose session had closed.",
	       none);
	SCALAR("wgrelayd_shared_port_refused_total", "counter",
	       "Session ports the steering map refused (their sessions were refused).",
	       r->ps->map_failed);
	return n;
}

#else /* no BPF in this build */

int portshare_open(struct relay *r, char *err, size_t errlen)
{
	if (!r->cfg.shared_ports)
		return 0;
	snprintf(err, errlen,
	         "SessionSockets = shared: this wgrelayd was built without BPF support (clang "
	         "and libbpf); use SessionSockets = each");
	return -EOPNOTSUPP;
}

int portshare_after_drop(struct relay *r, char *err, size_t errlen)
{
	(void)r;
	(void)err;
	(void)errlen;
	return 0;
}

void portshare_close(struct relay *r)
{
	(void)r;
}

int portshare_fd(const struct relay *r)
{
	(void)r;
	return -1;
}

int portshare_add(struct relay *r, uint16_t port)
{
	(void)r;
	(void)port;
	return -EOPNOTSUPP;
}

void portshare_del(struct relay *r, uint16_t port)
{
	(void)r;
	(void)port;
}

size_t portshare_metrics(const struct relay *r, char *out, size_t cap)
{
	(void)r;
	(void)out;
	(void)cap;
	return 0;
}

#endif
