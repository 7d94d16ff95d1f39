/*
 * xdp.c: the loader of direct mode's XDP fast path (docs/XDP.md). Loads the program embedded
 * at build time (xdp_fast.bpf.c), attaches it to the relay's interfaces through BPF links (so
 * the kernel detaches it when wgrelayd exits, even by a crash), and keeps its session map.
 * A build without libbpf or clang gets the same API answering "not supported".
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "xdp.h"

const char *xdp_mode_name(enum xdp_mode m)
{
	static const char *const names[] = {"off", "auto", "native", "generic"};

	return (unsigned)m < 4 ? names[m] : "?";
}

int xdp_mode_parse(const char *s, enum xdp_mode *out)
{
	for (int m = XDP_MODE_OFF; m <= XDP_MODE_GENERIC; m++)
		if (strcmp(s, xdp_mode_name((enum xdp_mode)m)) == 0) {
			*out = (enum xdp_mode)m;
			return 0;
		}
	return -EINVAL;
}

#ifdef WGR_HAVE_XDP

#include <fcntl.h>
#include <net/if.h>
#include <net/if_arp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "xdp_fast.h"

/* The object file, embedded by BpfObject.cmake. */
extern const unsigned char xdp_fast_bpf[];
extern const size_t xdp_fast_bpf_len;

struct xdp_if {
	int ifindex;
	int link_fd;
	int native; /* 1: driver mode, 0: generic (skb) mode */
	char name[IF_NAMESIZE];
};

struct xdp_path {
	struct bpf_object *obj;
	int prog_fd, sessions_fd, stats_fd, counters_fd;
	int ncpus;
	uint16_t port_lo, port_hi;
	size_t nif;
	struct xdp_if *ifs;
	char desc[256];
};

int xdp_supported(void)
{
	return 1;
}

/* libbpf's messages during xdp_path_open: kept for the why line, never printed. */
static char xdp_libbpf_msg[256];

/*
 * The verifier's reason from libbpf's dump of its log: the last line before the end marker
 * that is not one of the closing statistics lines.
 */
static void xdp_libbpf_verifier(const char *m)
{
	const char *end = strstr(m, "-- END PROG LOAD LOG --"), *p, *q;

	if (!end)
		return;
	for (q = end; q > m;) {
		while (q > m && (q[-1] == '\n' || q[-1] == ' '))
			q--;
		for (p = q; p > m && p[-1] != '\n';)
			p--;
		if (q > p && strncmp(p, "processed ", 10) && strncmp(p, "verification time", 17) &&
		    strncmp(p, "stack depth", 11) && !strstr(p, "BEGIN PROG LOAD LOG")) {
			snprintf(xdp_libbpf_msg, sizeof(xdp_libbpf_msg), "%.*s", (int)(q - p), p);
			return;
		}
		q = p;
		if (strstr(p, "BEGIN PROG LOAD LOG"))
			return;
	}
}

static int xdp_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char *m = NULL;

	if (level == LIBBPF_DEBUG || vasprintf(&m, fmt, ap) < 0)
		return 0;
	if (strstr(m, "BEGIN PROG LOAD LOG"))
		xdp_libbpf_verifier(m); /* the most telling: it wins */
	else if (!xdp_libbpf_msg[0]) {
		const char *p = strncmp(m, "libbpf: ", 8) ? m : m + 8;

		snprintf(xdp_libbpf_msg, sizeof(xdp_libbpf_msg), "%.*s", (int)strcspn(p, "\n"), p);
	}
	free(m);
	return 0;
}

static void xdp_why(char *why, size_t whylen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void xdp_why(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

/* 1 when name is up, not loopback and Ethernet (the program parses Ethernet frames). */
static int xdp_if_usable(int fd, const char *name, int *up)
{
	struct ifreq ifr;

	memset(&ifr, 0, sizeof(ifr));
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr) < 0)
		return -errno;
	*up = (ifr.ifr_flags & IFF_UP) && !(ifr.ifr_flags & IFF_LOOPBACK);
	if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0)
		return -errno;
	return ifr.ifr_hwaddr.sa_family == ARPHRD_ETHER;
}

static int xdp_ifs_has(const struct xdp_path *x, int ifindex)
{
	for (size_t i = 0; i < x->nif; i++)
		if (x->ifs[i].ifindex == ifindex)
			return 1;
	return 0;
}

/* x->ifs from the names given, or every up, non-loopback Ethernet interface for n == 0. */
static int xdp_ifs_pick(struct xdp_path *x, const char *const *ifnames, size_t n, char *why,
                        size_t whylen)
{
	struct if_nameindex *all = NULL;
	int fd, rc = 0, up = 0;
	size_t cap = n;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		xdp_why(why, whylen, "socket: %s", strerror(-rc));
		return rc;
	}
	if (!n) {
		all = if_nameindex();
		if (!all) {
			rc = -errno;
			xdp_why(why, whylen, "cannot list interfaces: %s", strerror(-rc));
			goto out;
		}
		for (cap = 0; all[cap].if_index; cap++)
			;
	}
	x->ifs = calloc(cap ? cap : 1, sizeof(*x->ifs));
	if (!x->ifs) {
		rc = -ENOMEM;
		xdp_why(why, whylen, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < cap; i++) {
		const char *name = n ? ifnames[i] : all[i].if_name;
		struct xdp_if *f = &x->ifs[x->nif];

		if (strlen(name) >= sizeof(f->name)) {
			rc = -ENODEV;
			xdp_why(why, whylen, "%.32s...: interface name too long", name);
			goto out;
		}
		rc = xdp_if_usable(fd, name, &up);
		if (!n) {
			if (rc <= 0 || !up)
				continue;
		} else if (rc < 0) {
			xdp_why(why, whylen, "%s: %s", name,
			        rc == -ENODEV ? "no such interface" : strerror(-rc));
			goto out;
		} else if (rc == 0) {
			rc = -EOPNOTSUPP;
			xdp_why(why, whylen, "%s: not an Ethernet interface", name);
			goto out;
		}
		f->ifindex = (int)if_nametoindex(name);
		if (!f->ifindex) {
			rc = -ENODEV;
			xdp_why(why, whylen, "%s: no such interface", name);
			goto out;
		}
		if (xdp_ifs_has(x, f->ifindex))
			continue; /* named twice */
		snprintf(f->name, sizeof(f->name), "%s", name);
		f->link_fd = -1;
		x->nif++;
	}
	rc = 0;
	if (!x->nif) {
		rc = -ENODEV;
		xdp_why(why, whylen,
		        "no interface to attach to: none is up, Ethernet and not loopback");
	}
out:
	if (all)
		if_freenameindex(all);
	close(fd);
	return rc;
}

/* The why of a failed attach in mode (native or generic). */
static void xdp_attach_why(char *why, size_t whylen, const char *name, int native, int err)
{
	const char *mode = native ? "native" : "generic";

	if (err == -EBUSY || err == -EEXIST)
		xdp_why(why, whylen, "%s: another XDP program is attached (not replaced)", name);
	else if (err == -EPERM || err == -EACCES)
		xdp_why(why, whylen, "%s: no permission to attach XDP (need CAP_NET_ADMIN)", name);
	else if (err == -EOPNOTSUPP && native)
		xdp_why(why, whylen, "%s: native XDP not supported by the driver", name);
	else if (err == -EINVAL && native)
		xdp_why(why, whylen, "%s: the driver refused native XDP: %s", name, strerror(-err));
	else
		xdp_why(why, whylen, "%s: %s XDP attach failed: %s", name, mode, strerror(-err));
}

static int xdp_attach_one(struct xdp_path *x, struct xdp_if *f, int native)
{
	LIBBPF_OPTS(bpf_link_create_opts, opts,
	            .flags = native ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE);
	int fd;

	/* A link never replaces a program attached by someone else (the kernel answers EBUSY),
	 * as XDP_FLAGS_UPDATE_IF_NOEXIST would, and goes away with its last file descriptor. */
	fd = bpf_link_create(x->prog_fd, f->ifindex, BPF_XDP, &opts);
	if (fd < 0)
		return fd < -1 ? fd : -errno;
	f->link_fd = fd;
	f->native = native;
	return 0;
}

static int xdp_attach(struct xdp_path *x, enum xdp_mode mode, char *why, size_t whylen)
{
	for (size_t i = 0; i < x->nif; i++) {
		struct xdp_if *f = &x->ifs[i];
		int rc, native = mode != XDP_MODE_GENERIC;

		rc = xdp_attach_one(x, f, native);
		/* auto: generic wherever the driver cannot, but not over someone else's program
		 * or without the right to attach at all. */
		if (rc < 0 && mode == XDP_MODE_AUTO && rc != -EBUSY && rc != -EEXIST &&
		    rc != -EPERM && rc != -EACCES) {
			native = 0;
			rc = xdp_attach_one(x, f, 0);
		}
		if (rc < 0) {
			xdp_attach_why(why, whylen, f->name, native, rc);
			return rc;
		}
	}
	return 0;
}

/* Append to x->desc, silently cut at its end. */
static void xdp_desc_add(struct xdp_path *x, size_t *off, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void xdp_desc_add(struct xdp_path *x, size_t *off, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (*off >= sizeof(x->desc))
		return;
	va_start(ap, fmt);
	n = vsnprintf(x->desc + *off, sizeof(x->desc) - *off, fmt, ap);
	va_end(ap);
	if (n > 0)
		*off += (size_t)n;
}

/* 1 when /proc says forwarding is off for ifname in family (4 or 6); unknown counts as on. */
static int xdp_forwarding_off(const char *ifname, int family)
{
	char path[96], c = '1';
	int fd;

	snprintf(path, sizeof(path), "/proc/sys/net/ipv%d/conf/%s/forwarding", family, ifname);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (read(fd, &c, 1) != 1)
		c = '1';
	close(fd);
	return c == '0';
}

/*
 * "native: veth0, veth1; generic: eth0", plus the interfaces where forwarding is off: the
 * kernel's FIB lookup answers nothing there, so their datagrams all go up (docs/XDP.md).
 */
static void xdp_describe_build(struct xdp_path *x)
{
	size_t off = 0;
	int any;

	x->desc[0] = '\0';
	for (int native = 1; native >= 0; native--) {
		any = 0;
		for (size_t i = 0; i < x->nif; i++) {
			if (x->ifs[i].native != native)
				continue;
			if (any)
				xdp_desc_add(x, &off, ", %s", x->ifs[i].name);
			else
				xdp_desc_add(x, &off, "%s%s: %s", off ? "; " : "",
				             native ? "native" : "generic", x->ifs[i].name);
			any = 1;
		}
	}
	any = 0;
	for (size_t i = 0; i < x->nif; i++) {
		int v4 = xdp_forwarding_off(x->ifs[i].name, 4);
		int v6 = xdp_forwarding_off(x->ifs[i].name, 6);
		const char *fam = v4 && v6 ? "IPv4+IPv6" : v4 ? "IPv4" : "IPv6";

		if (!v4 && !v6)
			continue;
		xdp_desc_add(x, &off, "%s%s %s",
		             any ? ", " : " (forwarding off, datagrams go up: ", x->ifs[i].name,
		             fam);
		any = 1;
	}
	if (any)
		xdp_desc_add(x, &off, ")");
}

/* Load the embedded object with cfg in its .rodata and maps sized for the port range. */
static int xdp_load(struct xdp_path *x, uint32_t max_packet, char *why, size_t whylen)
{
	LIBBPF_OPTS(bpf_object_open_opts, oopts, .object_name = "xdp_fast");
	struct xdp_fast_cfg cfg = {
	    .port_lo = x->port_lo, .port_hi = x->port_hi, .max_packet = max_packet};
	uint32_t nports = (uint32_t)x->port_hi - x->port_lo + 1;
	struct bpf_program *prog;
	struct bpf_map *m;
	int rc;

	x->obj = bpf_object__open_mem(xdp_fast_bpf, xdp_fast_bpf_len, &oopts);
	if (!x->obj) {
		rc = -errno;
		xdp_why(why, whylen, "cannot read the embedded BPF object: %s", strerror(-rc));
		return rc;
	}
	m = bpf_object__find_map_by_name(x->obj, ".rodata");
	if (!m || bpf_map__set_initial_value(m, &cfg, sizeof(cfg)) < 0 ||
	    bpf_map__set_max_entries(bpf_object__find_map_by_name(x->obj, "sessions"), nports) ||
	    bpf_map__set_max_entries(bpf_object__find_map_by_name(x->obj, "stats"), nports)) {
		xdp_why(why, whylen, "the embedded BPF object does not match this loader");
		return -EINVAL;
	}
	rc = bpf_object__load(x->obj);
	if (rc < 0) {
		/* EACCES is the verifier's refusal, EPERM the missing capability */
		if (rc == -EPERM)
			xdp_why(why, whylen,
			        "no permission to load BPF (need CAP_BPF and CAP_NET_ADMIN)");
		else if (rc == -ENOSYS)
			xdp_why(why, whylen, "the kernel has no BPF (bpf(2): %s)", strerror(-rc));
		else
			xdp_why(why, whylen, "kernel refused the program: %s",
			        xdp_libbpf_msg[0] ? xdp_libbpf_msg : strerror(-rc));
		return rc;
	}
	prog = bpf_object__find_program_by_name(x->obj, "xdp_fast");
	x->prog_fd = prog ? bpf_program__fd(prog) : -1;
	x->sessions_fd = bpf_object__find_map_fd_by_name(x->obj, "sessions");
	x->stats_fd = bpf_object__find_map_fd_by_name(x->obj, "stats");
	x->counters_fd = bpf_object__find_map_fd_by_name(x->obj, "counters");
	if (x->prog_fd < 0 || x->sessions_fd < 0 || x->stats_fd < 0 || x->counters_fd < 0) {
		xdp_why(why, whylen, "the embedded BPF object does not match this loader");
		return -EINVAL;
	}
	return 0;
}

int xdp_path_open(struct xdp_path **out, enum xdp_mode mode, const char *const *ifnames, size_t n,
                  uint16_t port_lo, uint16_t port_hi, uint32_t max_packet, char *why, size_t whylen)
{
	libbpf_print_fn_t old_print;
	struct xdp_path *x;
	int rc;

	*out = NULL;
	if (mode == XDP_MODE_OFF || (unsigned)mode > XDP_MODE_GENERIC || port_lo > port_hi ||
	    (n && !ifnames)) {
		xdp_why(why, whylen, "bad XDP parameters");
		return -EINVAL;
	}
	x = calloc(1, sizeof(*x));
	if (!x) {
		xdp_why(why, whylen, "out of memory");
		return -ENOMEM;
	}
	x->port_lo = port_lo;
	x->port_hi = port_hi;
	x->ncpus = libbpf_num_possible_cpus();
	if (x->ncpus <= 0) {
		rc = x->ncpus < 0 ? x->ncpus : -EINVAL;
		xdp_why(why, whylen, "cannot count the CPUs: %s", strerror(-rc));
		free(x);
		return rc;
	}
	rc = xdp_ifs_pick(x, ifnames, n, why, whylen);
	if (rc < 0)
		goto fail;
	xdp_libbpf_msg[0] = '\0';
	old_print = libbpf_set_print(xdp_libbpf_print);
	rc = xdp_load(x, max_packet, why, whylen);
	libbpf_set_print(old_print);
	if (rc < 0)
		goto fail;
	rc = xdp_attach(x, mode, why, whylen);
	if (rc < 0)
		goto fail;
	xdp_describe_build(x);
	*out = x;
	return 0;
fail:
	xdp_path_close(x);
	return rc;
}

void xdp_path_close(struct xdp_path *x)
{
	if (!x)
		return;
	/* Closing the links detaches the program; the object's close frees the maps. */
	for (size_t i = 0; i < x->nif; i++)
		if (x->ifs[i].link_fd >= 0)
			close(x->ifs[i].link_fd);
	bpf_object__close(x->obj);
	free(x->ifs);
	free(x);
}

const char *xdp_path_describe(const struct xdp_path *x)
{
	return x ? x->desc : "off";
}

int xdp_path_prog_fd(const struct xdp_path *x)
{
	return x ? x->prog_fd : -EBADF;
}

static int xdp_member(struct xdp_fast_member *m, const struct addr *in, uint32_t *family)
{
	struct addr a = *in;

	/* A v4-mapped member sends plain IPv4 on the wire. */
	addr_unmap(&a);
	memset(m, 0, sizeof(*m));
	*family = (uint32_t)addr_family(&a);
	if (*family == AF_INET)
		memcpy(m->ip, &a.in.sin_addr, 4);
	else if (*family == AF_INET6)
		memcpy(m->ip, &a.in6.sin6_addr, 16);
	else
		return -EAFNOSUPPORT;
	m->port = htons(addr_port(&a));
	return 0;
}

int xdp_session_set(struct xdp_path *x, uint16_t port, const struct addr *a, const struct addr *b,
                    uint64_t budget)
{
	struct xdp_fast_session s;
	struct xdp_fast_stats st;
	uint32_t key = port, fb;

	if (!x)
		return -EINVAL;
	if (port < x->port_lo || port > x->port_hi)
		return -ERANGE;
	memset(&s, 0, sizeof(s));
	if (xdp_member(&s.m[0], a, &s.family) < 0 || xdp_member(&s.m[1], b, &fb) < 0 ||
	    fb != s.family)
		return -EAFNOSUPPORT;
	s.family = s.family == AF_INET ? XDP_FAST_AF_INET : XDP_FAST_AF_INET6;
	/* Stats first: the program forwards only with both, and an update keeps them. */
	memset(&st, 0, sizeof(st));
	if (bpf_map_update_elem(x->stats_fd, &key, &st, BPF_NOEXIST) < 0 && errno != EEXIST)
		return -errno;
	if (bpf_map_lookup_elem(x->stats_fd, &key, &st) < 0)
		return -errno;
	s.byte_limit = budget > UINT64_MAX - st.bytes ? UINT64_MAX : st.bytes + budget;
	if (bpf_map_update_elem(x->sessions_fd, &key, &s, BPF_ANY) < 0)
		return -errno;
	return 0;
}

int xdp_session_del(struct xdp_path *x, uint16_t port)
{
	uint32_t key = port;
	int rc;

	if (!x)
		return -ENOENT;
	rc = bpf_map_delete_elem(x->sessions_fd, &key) < 0 ? -errno : 0;
	/* After the session: the program never forwards without its stats entry. */
	bpf_map_delete_elem(x->stats_fd, &key);
	return rc;
}

int xdp_session_read(struct xdp_path *x, uint16_t port, struct xdp_session_stats *st)
{
	struct xdp_fast_stats v;
	uint32_t key = port;

	memset(st, 0, sizeof(*st));
	if (!x || bpf_map_lookup_elem(x->stats_fd, &key, &v) < 0)
		return -ENOENT;
	st->pkts = v.pkts;
	st->bytes = v.bytes;
	st->last_ns[0] = v.last_ns[0];
	st->last_ns[1] = v.last_ns[1];
	return 0;
}

/* Sessions a batch read asks the kernel for at once. */
#define XDP_READ_BATCH 256

int xdp_sessions_read_all(struct xdp_path *x, xdp_stats_fn fn, void *arg)
{
	uint32_t keys[XDP_READ_BATCH], token = 0;
	struct xdp_fast_stats v[XDP_READ_BATCH];
	bool first = true;

	if (!x)
		return -EINVAL;
	for (;;) {
		__u32 count = XDP_READ_BATCH;
		int rc = bpf_map_lookup_batch(x->stats_fd, first ? NULL : &token, &token, keys, v,
		                              &count, NULL);
		int e = rc < 0 ? errno : 0;

		/* The last batch comes with ENOENT, and may still hold entries. */
		if (rc < 0 && e != ENOENT)
			return e == EINVAL || e == ENOTSUP || e == EOPNOTSUPP ? -EOPNOTSUPP : -e;
		for (__u32 i = 0; i < count; i++) {
			struct xdp_session_stats st = {
			    .pkts = v[i].pkts,
			    .bytes = v[i].bytes,
			    .last_ns = {v[i].last_ns[0], v[i].last_ns[1]}};

			if (keys[i] <= UINT16_MAX)
				fn(arg, (uint16_t)keys[i], &st);
		}
		if (e == ENOENT)
			return 0;
		first = false;
	}
}

int xdp_counters_read(struct xdp_path *x, struct xdp_counters *c)
{
	struct xdp_fast_counters *v;
	uint32_t key = 0;
	int rc = 0;

	memset(c, 0, sizeof(*c));
	if (!x)
		return -EINVAL;
	/* one value per possible CPU; allocated per call (once a second) so that callers on
	 * different threads share nothing */
	v = calloc((size_t)x->ncpus, sizeof(*v));
	if (!v)
		return -ENOMEM;
	if (bpf_map_lookup_elem(x->counters_fd, &key, v) < 0) {
		rc = -errno;
		goto out;
	}
	for (int i = 0; i < x->ncpus; i++) {
		c->fwd_pkts += v[i].fwd_pkts;
		c->fwd_bytes += v[i].fwd_bytes;
		c->pass_not_session += v[i].pass_not_session;
		c->pass_not_data += v[i].pass_not_data;
		c->pass_unknown_source += v[i].pass_unknown_source;
		c->pass_budget += v[i].pass_budget;
		c->pass_fib += v[i].pass_fib;
		c->tx_errors += v[i].tx_errors;
	}
out:
	free(v);
	return rc;
}

#else /* !WGR_HAVE_XDP: the same API, answering that this build has no fast path */

int xdp_supported(void)
{
	return 0;
}

int xdp_path_open(struct xdp_path **out, enum xdp_mode mode, const char *const *ifnames, size_t n,
                  uint16_t port_lo, uint16_t port_hi, uint32_t max_packet, char *why, size_t whylen)
{
	(void)mode, (void)ifnames, (void)n, (void)port_lo, (void)port_hi, (void)max_packet;
	*out = NULL;
	if (why && whylen)
		snprintf(why, whylen,
		         "built without XDP support (libbpf or clang missing at build time)");
	return -EOPNOTSUPP;
}

void xdp_path_close(struct xdp_path *x)
{
	(void)x;
}

const char *xdp_path_describe(const struct xdp_path *x)
{
	(void)x;
	return "off";
}

int xdp_path_prog_fd(const struct xdp_path *x)
{
	(void)x;
	return -EOPNOTSUPP;
}

int xdp_session_set(struct xdp_path *x, uint16_t port, const struct addr *a, const struct addr *b,
                    uint64_t budget)
{
	(void)x, (void)port, (void)a, (void)b, (void)budget;
	return -EOPNOTSUPP;
}

int xdp_session_del(struct xdp_path *x, uint16_t port)
{
	(void)x, (void)port;
	return -ENOENT;
}

int xdp_session_read(struct xdp_path *x, uint16_t port, struct xdp_session_stats *st)
{
	(void)x, (void)port;
	memset(st, 0, sizeof(*st));
	return -ENOENT;
}

int xdp_sessions_read_all(struct xdp_path *x, xdp_stats_fn fn, void *arg)
{
	(void)x, (void)fn, (void)arg;
	return -EOPNOTSUPP;
}

int xdp_counters_read(struct xdp_path *x, struct xdp_counters *c)
{
	(void)x;
	memset(c, 0, sizeof(*c));
	return -EOPNOTSUPP;
}

#endif
