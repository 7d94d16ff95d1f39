/* util.c: helpers shared by the benchmark tools; see util.h. */
#include "util.h"

#include <arpa/inet.h>
#include <linux/sock_diag.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

uint64_t util_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int util_parse_addr(const char *s, struct sockaddr_in *out)
{
	char host[64];
	const char *colon = strrchr(s, ':');
	char *end;
	long port;
	size_t n;

	if (!colon || colon == s)
		return -EINVAL;
	n = (size_t)(colon - s);
	if (n >= sizeof(host))
		return -EINVAL;
	memcpy(host, s, n);
	host[n] = '\0';
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	if (errno || *end || port < 0 || port > 65535)
		return -EINVAL;
	memset(out, 0, sizeof(*out));
	out->sin_family = AF_INET;
	out->sin_port = htons((uint16_t)port);
	if (inet_pton(AF_INET, host, &out->sin_addr) != 1)
		return -EINVAL;
	return 0;
}

int util_udp_socket(const struct sockaddr_in *a, int bufsz)
{
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	int err;

	if (fd < 0)
		return -errno;
	if (bufsz > 0) {
		/* The FORCE variants pass rmem_max/wmem_max when we are root; else fall back. */
		if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof(bufsz));
		if (setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &bufsz, sizeof(bufsz)) < 0)
			setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof(bufsz));
	}
	if (a && bind(fd, (const struct sockaddr *)a, sizeof(*a)) < 0) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

int util_udp_socket_in(const char *netns, const struct sockaddr_in *a, int bufsz)
{
	int self, ns, fd;

	if (!netns)
		return util_udp_socket(a, bufsz);
	self = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (self < 0)
		return -errno;
	ns = open(netns, O_RDONLY | O_CLOEXEC);
	if (ns < 0 || setns(ns, CLONE_NEWNET) < 0) {
		fd = -errno;
		goto out;
	}
	fd = util_udp_socket(a, bufsz);
	/* Not being able to return would leave every later socket in the wrong namespace. */
	if (setns(self, CLONE_NEWNET) < 0)
		abort();
out:
	if (ns >= 0)
		close(ns);
	close(self);
	return fd;
}

void util_mark_put(uint8_t *p, uint32_t flow, uint64_t seq, uint64_t t_ns)
{
	uint32_t magic = UTIL_MARK_MAGIC;

	p += UTIL_MARK_OFF;
	memcpy(p, &magic, 4);
	memcpy(p + 4, &flow, 4);
	memcpy(p + 8, &seq, 8);
	memcpy(p + 16, &t_ns, 8);
}

int util_mark_get(const uint8_t *p, uint32_t *flow, uint64_t *seq, uint64_t *t_ns)
{
	uint32_t magic;

	p += UTIL_MARK_OFF;
	memcpy(&magic, p, 4);
	if (magic != UTIL_MARK_MAGIC)
		return -EBADMSG;
	memcpy(flow, p + 4, 4);
	memcpy(seq, p + 8, 8);
	memcpy(t_ns, p + 16, 8);
	return 0;
}

int64_t util_proc_cpu_ns(int pid)
{
	char path[64], buf[1024];
	unsigned long ut, st;
	const char *p;
	FILE *f;
	size_t n;
	long hz = sysconf(_SC_CLK_TCK);

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	/* The command name may hold spaces and parentheses: fields resume after the last ')'. */
	p = strrchr(buf, ')');
	if (!p ||
	    sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2)
		return -1;
	return (int64_t)((ut + st) * (1000000000ull / (unsigned long)hz));
}

double util_arg_num(const char *opt, const char *val)
{
	char *end;
	double v;

	errno = 0;
	v = val ? strtod(val, &end) : 0;
	if (!val || errno || *end || v < 0) {
		fprintf(stderr, "bad value for %s: '%s'\n", opt, val ? val : "");
		exit(2);
	}
	return v;
}

void util_hist_add(struct util_hist *h, int64_t v_ns)
{
	uint64_t i;

	if (v_ns < 0)
		v_ns = 0;
	i = (uint64_t)v_ns / UTIL_HIST_STEP_NS;
	if (i >= UTIL_HIST_N) {
		i = UTIL_HIST_N;
		if ((uint64_t)v_ns > h->over_max)
			h->over_max = (uint64_t)v_ns;
	}
	h->b[i]++;
	h->n++;
}

uint64_t util_hist_quantile(const struct util_hist *h, double q)
{
	uint64_t want, acc = 0;
	size_t i;

	if (!h->n)
		return 0;
	want = (uint64_t)(q * (double)h->n);
	if (want >= h->n)
		want = h->n - 1;
	for (i = 0; i < UTIL_HIST_N; i++) {
		acc += h->b[i];
		if (acc > want)
			return i * UTIL_HIST_STEP_NS + UTIL_HIST_STEP_NS / 2;
	}
	return h->over_max;
}

int util_hist_write_cdf(const struct util_hist *h, FILE *f)
{
	uint64_t acc = 0;
	size_t i;

	if (!h->n)
		return 0;
	for (i = 0; i <= UTIL_HIST_N; i++) {
		uint64_t v = i < UTIL_HIST_N ? i * UTIL_HIST_STEP_NS : h->over_max;

		if (!h->b[i])
			continue;
		acc += h->b[i];
		if (fprintf(f, "%.3f %.6f\n", (double)v / 1000.0, (double)acc / (double)h->n) < 0)
			return -EIO;
	}
	return 0;
}

int util_read_addrs(const char *file, struct sockaddr_in **out, unsigned *n)
{
	struct sockaddr_in *v = NULL;
	unsigned cap = 0, line_no = 0;
	char line[128];
	FILE *f = fopen(file, "r");

	if (!f)
		return -errno;
	*n = 0;
	while (fgets(line, sizeof(line), f)) {
		line_no++;
		line[strcspn(line, " \t\r\n")] = '\0';
		if (!line[0] || line[0] == '#')
			continue;
		if (*n == cap) {
			void *p = realloc(v, (cap ? 2 * cap : 1024) * sizeof(*v));

			if (!p)
				goto fail;
			v = p;
			cap = cap ? 2 * cap : 1024;
		}
		if (util_parse_addr(line, &v[*n]) < 0) {
			fprintf(stderr, "%s:%u: bad address '%s'\n", file, line_no, line);
			goto fail;
		}
		(*n)++;
	}
	fclose(f);
	*out = v;
	return 0;
fail:
	fclose(f);
	free(v);
	return -EINVAL;
}

uint32_t util_sock_drops(int fd)
{
	uint32_t mem[SK_MEMINFO_VARS] = {0};
	socklen_t len = sizeof(mem);

	if (getsockopt(fd, SOL_SOCKET, SO_MEMINFO, mem, &len) < 0 ||
	    len <= SK_MEMINFO_DROPS * sizeof(uint32_t))
		return 0;
	return mem[SK_MEMINFO_DROPS];
}
