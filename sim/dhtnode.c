/*
 * dhtnode.c: wgr-dht, one node of our Mainline DHT (common/dht.h) on a UDP socket, driven by
 * commands on stdin, one result line each on stdout. The interoperability test against
 * libtorrent and the end-to-end worlds run it. Test tool only: built, never installed.
 *
 *   wgr-dht --bind ADDR:PORT [--bootstrap ADDR:PORT]... [--id HEX40] [--seed HEX64]
 *
 * Commands (SALT "-" is no salt; VALUE is the rest of the line, stored as a bencoded string):
 *   id                      -> id HEX40 pk HEX64
 *   nodes                   -> nodes N
 *   bootstrap ADDR:PORT     -> bootstrap ok|fail
 *   put SALT SEQ VALUE      -> put ok stored=N | put fail ERR   (signed with our key)
 *   get PKHEX SALT          -> get ok seq=N v=VALUE | get none | get fail ERR
 *   announce IHHEX PORT     -> announce ok stored=N | announce fail ERR   (PORT 0: implied)
 *   get_peers IHHEX         -> peers N ADDR:PORT...
 *   infohash UNIXDAY        -> infohash HEX40
 *   stats                   -> stats rx=N tx=N ...
 *   quit
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "addr.h"
#include "dht.h"
#include "ev.h"

struct dhtnode {
	struct ev_loop *ev;
	struct ev_timer tick;
	struct dht *d;
	int fd;
	uint8_t id[DHT_ID_LEN], pk[32], sk[64];
	char line[4096];
	size_t linelen;
};

static void dhtnode_hexout(const uint8_t *p, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		snprintf(out + 2 * i, 3, "%02x", p[i]);
}

static int dhtnode_hexin(const char *s, uint8_t *out, size_t n)
{
	if (!s || strlen(s) != 2 * n)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (sscanf(s + 2 * i, "%2hhx", &out[i]) != 1)
			return -EINVAL;
	return 0;
}

static void dhtnode_flush(struct dhtnode *n)
{
	uint8_t pkt[DHT_MAX_PKT];
	struct addr to;
	size_t len;

	while ((len = dht_next_output(n->d, pkt, sizeof(pkt), &to)))
		if (sendto(n->fd, pkt, len, 0, &to.sa, to.len) < 0 && errno != EAGAIN)
			fprintf(stderr, "wgr-dht: sendto: %s\n", strerror(errno));
}

static const char *dhtnode_err(int status)
{
	return status == -ETIMEDOUT ? "timeout" : status == -ENOENT ? "none" : strerror(-status);
}

static void dhtnode_done(void *ctx, const struct dht_result *r)
{
	char s[ADDR_STRLEN];

	(void)ctx;
	switch (r->op) {
	case DHT_OP_PUT:
	case DHT_OP_ANNOUNCE:
		if (r->status == 0)
			printf("%s ok stored=%zu\n", r->op == DHT_OP_PUT ? "put" : "announce",
			       r->stored);
		else
			printf("%s fail %s\n", r->op == DHT_OP_PUT ? "put" : "announce",
			       dhtnode_err(r->status));
		break;
	case DHT_OP_GET: {
		const struct dht_item *it = r->item;
		const char *colon = it ? memchr(it->v, ':', it->v_len) : NULL;

		if (!it) {
			printf("get %s\n", r->status == -ENOENT ? "none" : "fail timeout");
		} else if (colon && it->v[0] >= '0' && it->v[0] <= '9') {
			int off = (int)(colon - (const char *)it->v) + 1;

			printf("get ok seq=%lld v=%.*s\n", (long long)it->seq, (int)it->v_len - off,
			       (const char *)it->v + off);
		} else {
			printf("get ok seq=%lld bencoded=%.*s\n", (long long)it->seq,
			       (int)it->v_len, (const char *)it->v);
		}
		break;
	}
	case DHT_OP_GET_PEERS:
		printf("peers %zu", r->npeers);
		for (size_t i = 0; i < r->npeers; i++)
			printf(" %s", addr_format(&r->peers[i], s, sizeof(s)));
		printf("\n");
		break;
	case DHT_OP_FIND_NODE:
		printf("find_node %zu\n", r->nclosest);
		break;
	}
	fflush(stdout);
}

/* One command line; lookups answer later, from dhtnode_done. */
static void dhtnode_command(struct dhtnode *n, char *line)
{
	char *argv[4] = {NULL}, *save = NULL, hex[2 * 32 + 1];
	char *t = strtok_r(line, " \t", &save);
	uint64_t now = ev_clock_ms();
	uint8_t buf[32];
	int argc = 0, r = 0;

	while (t && argc < 3) {
		argv[argc++] = t;
		t = argc < 3 ? strtok_r(NULL, " \t", &save) : NULL;
	}
	/* put's VALUE is the rest of the line, spaces and all */
	if (argc == 3 && strcmp(argv[0], "put") == 0 && save && *save)
		argv[argc++] = save;
	if (argc == 0)
		return;
	if (strcmp(argv[0], "id") == 0) {
		char idhex[2 * DHT_ID_LEN + 1];

		dhtnode_hexout(n->id, DHT_ID_LEN, idhex);
		dhtnode_hexout(n->pk, 32, hex);
		printf("id %s pk %s\n", idhex, hex);
	} else if (strcmp(argv[0], "nodes") == 0) {
		printf("nodes %zu\n", dht_node_count(n->d));
	} else if (strcmp(argv[0], "bootstrap") == 0 && argc == 2) {
		struct addr a;

		r = addr_parse(&a, argv[1], 0);
		printf("bootstrap %s\n",
		       r == 0 && dht_bootstrap(n->d, &a, 1, now) == 0 ? "ok" : "fail");
	} else if (strcmp(argv[0], "put") == 0 && argc == 4) {
		struct dht_item it = {.seq = strtoll(argv[2], NULL, 10)};

		if (strcmp(argv[1], "-") != 0) {
			it.salt_len = strlen(argv[1]);
			if (it.salt_len > DHT_SALT_MAX)
				it.salt_len = DHT_SALT_MAX + 1;
			else
				memcpy(it.salt, argv[1], it.salt_len);
		}
		if (it.salt_len > DHT_SALT_MAX ||
		    dht_item_set_string(&it, argv[3], strlen(argv[3])) < 0 ||
		    dht_item_sign(&it, n->sk) < 0)
			r = -EINVAL;
		else
			r = dht_put(n->d, &it, DHT_NO_CAS, now, dhtnode_done, n);
		if (r < 0)
			printf("put fail %s\n", strerror(-r));
	} else if (strcmp(argv[0], "get") == 0 && argc == 3) {
		const char *salt = strcmp(argv[2], "-") == 0 ? "" : argv[2];

		if ((r = dhtnode_hexin(argv[1], buf, 32)) == 0)
			r = dht_get(n->d, buf, (const uint8_t *)salt, strlen(salt), now,
			            dhtnode_done, n);
		if (r < 0)
			printf("get fail %s\n", strerror(-r));
	} else if (strcmp(argv[0], "announce") == 0 && argc == 3) {
		if ((r = dhtnode_hexin(argv[1], buf, DHT_ID_LEN)) == 0)
			r = dht_announce(n->d, buf, (uint16_t)atoi(argv[2]), now, dhtnode_done, n);
		if (r < 0)
			printf("announce fail %s\n", strerror(-r));
	} else if (strcmp(argv[0], "get_peers") == 0 && argc == 2) {
		if ((r = dhtnode_hexin(argv[1], buf, DHT_ID_LEN)) == 0)
			r = dht_get_peers(n->d, buf, now, dhtnode_done, n);
		if (r < 0)
			printf("peers fail %s\n", strerror(-r));
	} else if (strcmp(argv[0], "infohash") == 0 && argc == 2) {
		dht_infohash_day(buf, strtoll(argv[1], NULL, 10));
		dhtnode_hexout(buf, DHT_ID_LEN, hex);
		printf("infohash %s\n", hex);
	} else if (strcmp(argv[0], "stats") == 0) {
		const struct dht_stats *st = dht_get_stats(n->d);

		printf("stats rx=%llu tx=%llu nodes=%llu items=%llu peers=%llu q_put=%llu "
		       "q_get=%llu q_announce=%llu q_get_peers=%llu refuse_sig=%llu timeouts=%llu "
		       "drop_decode=%llu drop_krpc=%llu\n",
		       (unsigned long long)st->rx, (unsigned long long)st->tx,
		       (unsigned long long)dht_node_count(n->d), (unsigned long long)st->items,
		       (unsigned long long)st->peers, (unsigned long long)st->q_put,
		       (unsigned long long)st->q_get, (unsigned long long)st->q_announce,
		       (unsigned long long)st->q_get_peers, (unsigned long long)st->refuse_sig,
		       (unsigned long long)st->timeouts, (unsigned long long)st->drop_decode,
		       (unsigned long long)st->drop_krpc);
	} else if (strcmp(argv[0], "quit") == 0) {
		ev_stop(n->ev);
	} else {
		printf("error unknown command %s\n", argv[0]);
	}
	fflush(stdout);
	dhtnode_flush(n);
}

static void dhtnode_on_stdin(struct ev_loop *ev, int fd, unsigned events, void *arg)
{
	struct dhtnode *n = arg;
	ssize_t r = read(fd, n->line + n->linelen, sizeof(n->line) - 1 - n->linelen);
	char *nl;

	(void)events;
	if (r <= 0) {
		ev_stop(ev); /* stdin closed: the driver is gone */
		return;
	}
	n->linelen += (size_t)r;
	n->line[n->linelen] = '\0';
	while ((nl = strchr(n->line, '\n'))) {
		size_t used = (size_t)(nl - n->line) + 1;

		*nl = '\0';
		dhtnode_command(n, n->line);
		memmove(n->line, n->line + used, n->linelen - used + 1);
		n->linelen -= used;
	}
	if (n->linelen == sizeof(n->line) - 1)
		n->linelen = 0; /* an endless line: drop it */
}

static void dhtnode_on_udp(struct ev_loop *ev, int fd, unsigned events, void *arg)
{
	struct dhtnode *n = arg;
	uint8_t pkt[DHT_MAX_PKT + 1];

	(void)events;
	for (int i = 0; i < 64; i++) {
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t r =
		    recvfrom(fd, pkt, sizeof(pkt), MSG_DONTWAIT, (struct sockaddr *)&ss, &sl);
		struct addr from;

		if (r < 0)
			break;
		addr_from_sockaddr(&from, (struct sockaddr *)&ss, sl);
		dht_input(n->d, pkt, (size_t)r, &from, ev_now_ms(ev));
	}
	dhtnode_flush(n);
}

static void dhtnode_on_tick(struct ev_loop *ev, struct ev_timer *t, void *arg)
{
	struct dhtnode *n = arg;

	dht_tick(n->d, ev_now_ms(ev));
	dhtnode_flush(n);
	ev_timer_start(ev, t, 100);
}

static int dhtnode_usage(void)
{
	fprintf(stderr, "usage: wgr-dht --bind ADDR:PORT [--bootstrap ADDR:PORT]... [--id HEX40] "
	                "[--seed HEX64]\n");
	return 2;
}

int main(int argc, char **argv)
{
	struct dhtnode n = {.fd = -1};
	struct addr bind_addr = {0}, boot[8];
	uint8_t seed[32];
	size_t nboot = 0;
	bool have_id = false;
	int rc = 1;

	if (sodium_init() < 0)
		return 1;
	randombytes_buf(seed, sizeof(seed));
	for (int i = 1; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;

		if (!v)
			return dhtnode_usage();
		if (strcmp(argv[i], "--bind") == 0 && addr_parse(&bind_addr, v, 0) == 0)
			i++;
		else if (strcmp(argv[i], "--bootstrap") == 0 && nboot < 8 &&
		         addr_parse(&boot[nboot], v, 0) == 0)
			i++, nboot++;
		else if (strcmp(argv[i], "--id") == 0 && dhtnode_hexin(v, n.id, DHT_ID_LEN) == 0)
			i++, have_id = true;
		else if (strcmp(argv[i], "--seed") == 0 && dhtnode_hexin(v, seed, 32) == 0)
			i++;
		else
			return dhtnode_usage();
	}
	if (addr_family(&bind_addr) != AF_INET)
		return dhtnode_usage();
	if (!have_id)
		randombytes_buf(n.id, sizeof(n.id));
	crypto_sign_seed_keypair(n.pk, n.sk, seed);
	sodium_memzero(seed, sizeof(seed));
	n.fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (n.fd < 0 || bind(n.fd, &bind_addr.sa, bind_addr.len) < 0) {
		fprintf(stderr, "wgr-dht: bind: %s\n", strerror(errno));
		goto out;
	}
	if (ev_new(&n.ev) < 0 || !(n.d = dht_new(n.id, NULL)) ||
	    ev_add_io(n.ev, n.fd, EV_READ, dhtnode_on_udp, &n) < 0 ||
	    ev_add_io(n.ev, STDIN_FILENO, EV_READ, dhtnode_on_stdin, &n) < 0) {
		fprintf(stderr, "wgr-dht: setup failed\n");
		goto out;
	}
	ev_timer_init(&n.tick, dhtnode_on_tick, &n);
	ev_timer_start(n.ev, &n.tick, 100);
	dht_tick(n.d, ev_clock_ms());
	if (nboot)
		dht_bootstrap(n.d, boot, nboot, ev_clock_ms());
	dhtnode_flush(&n);
	dhtnode_command(&n, (char[]){"id"});
	rc = ev_run(n.ev) < 0;
out:
	dht_free(n.d);
	ev_free(n.ev);
	if (n.fd >= 0)
		close(n.fd);
	sodium_memzero(n.sk, sizeof(n.sk));
	return rc;
}
