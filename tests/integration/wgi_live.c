/*
 * wgi_live: drives libwgi from the live tests (wireguard-go in namespaces, kernel WireGuard in
 * a VM). Each subcommand is one library call; "dump" prints exactly what `wg show IFACE dump`
 * prints, so the scripts compare the two byte for byte. "readd" also reads the peer before and
 * after, and compares its configuration, since only the library sees it as a whole.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <arpa/inet.h>

#include "ev.h"
#include "key.h"
#include "wg.h"

static void print_key(const uint8_t *k, bool have)
{
	char b64[KEY_B64_STRLEN];

	if (!have) {
		fputs("(none)", stdout);
		return;
	}
	key_to_base64(b64, k);
	fputs(b64, stdout);
}

/* wg(8) lists peers newest handshake first; sort the same way (stable) to compare. */
static void sort_peers(struct wg_device *d)
{
	for (size_t i = 1; i < d->n_peers; i++) {
		struct wg_peer p = d->peers[i];
		size_t j = i;

		while (j > 0 &&
		       (d->peers[j - 1].last_handshake.tv_sec < p.last_handshake.tv_sec ||
		        (d->peers[j - 1].last_handshake.tv_sec == p.last_handshake.tv_sec &&
		         d->peers[j - 1].last_handshake.tv_nsec < p.last_handshake.tv_nsec))) {
			d->peers[j] = d->peers[j - 1];
			j--;
		}
		d->peers[j] = p;
	}
}

static int cmd_dump(const char *name)
{
	struct wg_device *d;
	char s[ADDR_STRLEN], ip[INET6_ADDRSTRLEN];
	int r = wg_get_device(name, &d);

	if (r < 0) {
		printf("error %d %s\n", r, strerror(-r));
		return 1;
	}
	sort_peers(d);
	print_key(d->private_key, d->flags & WG_DEVICE_HAS_PRIVATE_KEY);
	putchar('\t');
	print_key(d->public_key, d->flags & WG_DEVICE_HAS_PUBLIC_KEY);
	printf("\t%u\t", (unsigned)d->listen_port);
	if (d->fwmark)
		printf("0x%x\n", (unsigned)d->fwmark);
	else
		puts("off");
	for (size_t i = 0; i < d->n_peers; i++) {
		const struct wg_peer *p = &d->peers[i];

		print_key(p->public_key, true);
		putchar('\t');
		print_key(p->preshared_key, p->flags & WG_PEER_HAS_PRESHARED_KEY);
		printf("\t%s\t",
		       p->endpoint.len ? addr_format(&p->endpoint, s, sizeof(s)) : "(none)");
		if (!p->n_allowedips)
			fputs("(none)", stdout);
		for (size_t j = 0; j < p->n_allowedips; j++) {
			const struct wg_allowedip *a = &p->allowedips[j];

			inet_ntop(a->family, a->family == AF_INET ? (const void *)&a->ip4 : &a->ip6,
			          ip, sizeof(ip));
			printf("%s%s/%u", j ? "," : "", ip, (unsigned)a->cidr);
		}
		printf("\t%lld\t%" PRIu64 "\t%" PRIu64 "\t", (long long)p->last_handshake.tv_sec,
		       p->rx_bytes, p->tx_bytes);
		if (p->persistent_keepalive_interval)
			printf("%u\n", (unsigned)p->persistent_keepalive_interval);
		else
			puts("off");
	}
	wg_free_device(d);
	return 0;
}

static int result(int r)
{
	/* The scripts match on this line, e.g. "rc=-2" for an unknown peer. */
	printf("rc=%d\n", r);
	return r == 0 ? 0 : 1;
}

static int cmd_list(void)
{
	char **names;
	size_t n;
	int r = wg_list_devices(&names, &n);

	if (r < 0)
		return result(r);
	for (size_t i = 0; i < n; i++)
		puts(names[i]);
	wg_free_names(names);
	return 0;
}

struct watch {
	const char *name;
	unsigned want, seen; /* bit sets of 1 << event */
	struct wg_linkwatch *w;
};

static const char *event_name(enum wg_link_event e)
{
	return e == WG_LINK_ADDED ? "added" : e == WG_LINK_CHANGED ? "changed" : "removed";
}

static void on_link(enum wg_link_event e, const struct wg_link_info *info, void *arg)
{
	struct watch *wt = arg;

	printf("event %s %s ifindex=%u up=%d mtu=%u\n", event_name(e), info->name,
	       (unsigned)info->ifindex, info->up, info->mtu);
	if (!strcmp(info->name, wt->name))
		wt->seen |= 1u << e;
}

static void on_readable(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct watch *wt = arg;

	(void)fd;
	(void)events;
	if (wg_linkwatch_process(wt->w) < 0)
		ev_stop(loop);
	if ((wt->seen & wt->want) == wt->want)
		ev_stop(loop);
}

static void on_timeout(struct ev_loop *loop, struct ev_timer *t, void *arg)
{
	(void)t;
	(void)arg;
	ev_stop(loop);
}

/*
 * watch SECONDS NAME EVENTS 'shell command': run the command, then wait until every event of
 * the comma list EVENTS (added, changed, removed) was seen for NAME, or the time is up.
 */
static int cmd_watch(int secs, const char *name, const char *want, const char *cmd)
{
	struct watch wt = {.name = name};
	struct ev_loop *loop;
	struct ev_timer t;
	int r;

	if (strstr(want, "added"))
		wt.want |= 1u << WG_LINK_ADDED;
	if (strstr(want, "changed"))
		wt.want |= 1u << WG_LINK_CHANGED;
	if (strstr(want, "removed"))
		wt.want |= 1u << WG_LINK_REMOVED;
	if (!wt.want)
		return result(-EINVAL);
	if ((r = ev_new(&loop)) < 0 || (r = wg_linkwatch_new(&wt.w, on_link, &wt)) < 0)
		return result(r);
	ev_add_io(loop, wg_linkwatch_fd(wt.w), EV_READ, on_readable, &wt);
	ev_timer_init(&t, on_timeout, NULL);
	ev_timer_start(loop, &t, (uint64_t)secs * 1000);
	fflush(stdout);
	if (system(cmd) != 0)
		fprintf(stderr, "wgi_live: command failed: %s\n", cmd);
	ev_run(loop);
	r = (wt.seen & wt.want) == wt.want;
	printf("watch %s %s: %s\n", want, name, r ? "seen" : "not seen");
	wg_linkwatch_free(wt.w);
	ev_free(loop);
	return r ? 0 : 1;
}

/* What wg_peer_readd must keep of a peer: its configuration, not its counters or handshake. */
static const char *config_diff(const struct wg_peer *a, const struct wg_peer *b)
{
	unsigned psk = WG_PEER_HAS_PRESHARED_KEY;

	if (memcmp(a->public_key, b->public_key, KEY_LEN))
		return "public key";
	if ((a->flags & psk) != (b->flags & psk) ||
	    ((a->flags & psk) && memcmp(a->preshared_key, b->preshared_key, KEY_LEN)))
		return "preshared key";
	if (a->endpoint.len != b->endpoint.len ||
	    (a->endpoint.len && !addr_equal(&a->endpoint, &b->endpoint)))
		return "endpoint";
	if (a->persistent_keepalive_interval != b->persistent_keepalive_interval)
		return "persistent keepalive";
	if (a->n_allowedips != b->n_allowedips)
		return "number of allowed IPs";
	for (size_t i = 0; i < a->n_allowedips; i++) {
		const struct wg_allowedip *x = &a->allowedips[i], *y = &b->allowedips[i];

		if (x->family != y->family || x->cidr != y->cidr ||
		    memcmp(&x->ip6, &y->ip6, x->family == AF_INET ? 4 : 16))
			return "allowed IPs or their order";
	}
	return NULL;
}

static bool later(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec > b->tv_sec || (a->tv_sec == b->tv_sec && a->tv_nsec > b->tv_nsec);
}

/* One datagram into the tunnel, to the first allowed IP: a peer's "next packet". */
static void nudge(const struct wg_peer *p)
{
	struct addr to = {0};
	int fd;

	if (!p->n_allowedips)
		return;
	if (p->allowedips[0].family == AF_INET) {
		to.in.sin_family = AF_INET;
		to.in.sin_addr = p->allowedips[0].ip4;
		to.len = sizeof(to.in);
	} else {
		to.in6.sin6_family = AF_INET6;
		to.in6.sin6_addr = p->allowedips[0].ip6;
		to.len = sizeof(to.in6);
	}
	addr_set_port(&to, 9); /* discard */
	fd = socket(to.sa.sa_family, SOCK_DGRAM, 0);
	if (fd < 0 || sendto(fd, "x", 1, 0, &to.sa, to.len) < 0)
		perror("wgi_live: nudge");
	if (fd >= 0)
		close(fd);
}

/*
 * Wait up to secs for a handshake newer than since: the re-created peer has none until it
 * makes one, so a newer one proves the session was really replaced.
 */
static int wait_handshake(const char *name, const struct wg_peer *p, const struct timespec *since,
                          int secs)
{
	const struct timespec tick = {0, 100 * 1000 * 1000};

	if (!p->persistent_keepalive_interval)
		nudge(p); /* without a keepalive the initiation waits for a packet */
	for (int i = 0; i <= secs * 10; i++) {
		struct wg_device *d;
		struct wg_peer *q;
		bool done;

		if (wg_get_device(name, &d) < 0)
			return -ENODEV;
		q = wg_device_find_peer(d, p->public_key);
		done = q && later(&q->last_handshake, since);
		wg_free_device(d);
		if (done) {
			printf("readd: new handshake after %d ms\n", i * 100);
			return 0;
		}
		nanosleep(&tick, NULL);
	}
	puts("readd: no new handshake");
	return -ETIMEDOUT;
}

/*
 * readd IFACE PUB [SECS]: read the peer, re-add it, read it back and compare its configuration;
 * with SECS, also wait that long for a handshake newer than the one before.
 */
static int cmd_readd(const char *name, const char *pub_b64, int secs)
{
	struct wg_device *before, *after = NULL;
	const struct wg_peer *p, *q = NULL;
	const char *diff;
	uint8_t pub[KEY_LEN];
	int r;

	if (key_from_base64(pub, pub_b64) < 0)
		return result(-EINVAL);
	r = wg_get_device(name, &before);
	if (r < 0)
		return result(r);
	p = wg_device_find_peer(before, pub);
	r = p ? wg_peer_readd(name, p) : -ENOENT;
	if (r == 0)
		r = wg_get_device(name, &after);
	if (r == 0) {
		q = wg_device_find_peer(after, pub);
		diff = q ? config_diff(p, q) : "the peer is gone";
		printf("readd: %s%s\n", diff ? "configuration differs: " : "same configuration",
		       diff ? diff : "");
		r = diff ? -EPROTO : 0;
	}
	if (r == 0 && secs > 0)
		r = wait_handshake(name, p, &p->last_handshake, secs);
	wg_free_device(before);
	wg_free_device(after);
	return result(r);
}

int main(int argc, char **argv)
{
	uint8_t pub[KEY_LEN];
	struct addr ep;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "dump"))
		return cmd_dump(argv[2]);
	if (argc == 2 && !strcmp(argv[1], "list"))
		return cmd_list();
	if (argc == 5 && !strcmp(argv[1], "set-endpoint")) {
		if (key_from_base64(pub, argv[3]) < 0 || addr_parse(&ep, argv[4], 0) < 0)
			return result(-EINVAL);
		return result(wg_set_peer_endpoint(argv[2], pub, &ep));
	}
	if (argc == 5 && !strcmp(argv[1], "keepalive")) {
		if (key_from_base64(pub, argv[3]) < 0)
			return result(-EINVAL);
		return result(wg_set_peer_keepalive(argv[2], pub, (uint16_t)atoi(argv[4])));
	}
	if (argc == 4 && !strcmp(argv[1], "mtu"))
		return result(wg_set_mtu(argv[2], (unsigned)atoi(argv[3])));
	if (argc == 3 && !strcmp(argv[1], "getmtu")) {
		unsigned mtu = 0;
		int r = wg_get_mtu(argv[2], &mtu);

		if (r == 0)
			printf("mtu %u\n", mtu);
		return result(r);
	}
	if ((argc == 4 || argc == 5) && !strcmp(argv[1], "readd"))
		return cmd_readd(argv[2], argv[3], argc == 5 ? atoi(argv[4]) : 0);
	if (argc == 6 && !strcmp(argv[1], "watch"))
		return cmd_watch(atoi(argv[2]), argv[3], argv[4], argv[5]);
	fprintf(stderr, "usage: wgi_live dump IFACE | list | set-endpoint IFACE PUB ADDR:PORT |\n"
	                "       keepalive IFACE PUB SECS | readd IFACE PUB [WAIT_SECS] |\n"
	                "       mtu IFACE MTU | getmtu IFACE |\n"
	                "       watch SECS IFACE added,changed,removed 'command'\n");
	return 2;
}
