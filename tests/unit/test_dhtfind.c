/*
 * test_dhtfind.c: the helper's DHT client. The pure parts (the days asked, the destinations
 * allowed, the DESC_REQ bounds and the matching of answers, watch's schedule, the config
 * lines, the nodes add-dht-bootstrap keeps in the cache); then one run on loopback against a small real DHT (two common/dht.h nodes, one of
 * which announced a fake relay's address) where the fake relay answers a DESC_REQ with a
 * forged DESC_RESP from another port, then its own, then a second one: only its own is taken.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "cache.h"
#include "conf.h"
#include "descriptor.h"
#include "dht.h"
#include "dhtfind.h"
#include "ev.h"
#include "frame.h"
#include "identity.h"
#include "proto.h"

static struct addr A(const char *s) {
	struct addr a;

	assert_int_equal(addr_parse(&a, s, 0), 0);
	return a;
}

static void
test_days(void **state)
{
	int64_t d[2];
	int64_t day = 20000;

	(void)state;
	assert_int_equal(dhtfind_days(day * 86400, d), 2);
	assert_int_equal(d[0], day);
	assert_int_equal(d[1], day - 1);
	assert_int_equal(dhtfind_days(day * 86400 + 3599, d), 2);
	assert_int_equal(dhtfind_days(day * 86400 + 3600, d), 1);
	assert_int_equal(d[0], day);
	assert_int_equal(dhtfind_days(day * 86400 + 86399, d), 1);
}

static void test_dest(void **state)
{
	static const char *const never[] = {"0.0.0.0:6881",         "224.0.0.1:6881",
	                                    "169.254.1.1:6881",     "240.0.0.1:6881",
	                                    "255.255.255.255:6881", "[2001:db8::1]:6881"};
	struct addr pub = A("192.0.32.7:6881"), lo = A("127.0.0.1:6881"), priv = A("10.1.2.3:6881");

	(void)state;
	assert_true(dhtfind_dest_ok(&pub, 0));
	pub.in.sin_port = 0;
	assert_false(dhtfind_dest_ok(&pub, 0));
	/* What an address planted in the DHT may name: never these, whatever the bootstrap is. */
	for (size_t i = 0; i < sizeof(never) / sizeof(never[0]); i++) {
		struct addr a = A(never[i]);
		assert_false(dhtfind_dest_ok(&a, ADDR_LOOPBACK | ADDR_PRIVATE));
	}
	/* Loopback and private only as far as the bootstrap nodes go. */
	assert_false(dhtfind_dest_ok(&lo, 0));
	assert_false(dhtfind_dest_ok(&lo, ADDR_PRIVATE));
	assert_true(dhtfind_dest_ok(&lo, ADDR_LOOPBACK));
	assert_false(dhtfind_dest_ok(&priv, 0));
	assert_true(dhtfind_dest_ok(&priv, ADDR_PRIVATE));
	assert_true(dhtfind_dest_ok(&priv, ADDR_LOOPBACK));
}

static void test_asked_bounds(void **state)
{
	static struct dhtfind_asked t;
	struct addr a = A("192.0.32.1:51821");
	uint64_t now = 1000;

	(void)state;
	memset(&t, 0, sizeof(t));
	dhtfind_asked_run(&t);
	assert_int_equal(dhtfind_asked_take(&t, &a, now), 0);
	/* Once an hour an address, whatever the run. */
	assert_int_equal(dhtfind_asked_take(&t, &a, now + 1), -EALREADY);
	dhtfind_asked_run(&t);
	assert_int_equal(dhtfind_asked_take(&t, &a, now + DHTFIND_ASK_AGAIN_MS - 1), -EALREADY);
	assert_int_equal(dhtfind_asked_take(&t, &a, now + DHTFIND_ASK_AGAIN_MS), 0);
	/* 64 a run: the 65th address waits for the next run. */
	dhtfind_asked_run(&t);
	for (unsigned i = 0; i < DHTFIND_ASK_RUN; i++) {
		struct addr b = a;
		b.in.sin_port = htons((uint16_t)(1000 + i));
		assert_int_equal(dhtfind_asked_take(&t, &b, now), 0);
	}
	struct addr c = A("192.0.32.2:51821");
	assert_int_equal(dhtfind_asked_take(&t, &c, now), -EDQUOT);
	dhtfind_asked_run(&t);
	assert_int_equal(dhtfind_asked_take(&t, &c, now), 0);
}

static void test_asked_answer(void **state)
{
	static struct dhtfind_asked t;
	struct addr a = A("192.0.32.1:51821"), other_port = A("192.0.32.1:51822"),
	            other_ip = A("192.0.32.9:51821"), b = A("192.0.32.3:51821");

	(void)state;
	memset(&t, 0, sizeof(t));
	assert_false(dhtfind_asked_answer(&t, &a, 1000)); /* never asked */
	assert_int_equal(dhtfind_asked_take(&t, &a, 1000), 0);
	assert_int_equal(dhtfind_asked_take(&t, &b, 1000), 0);
	assert_int_equal(dhtfind_asked_pending(&t, 1000), 2);
	/* Only the very address asked: not another port of it, not another host. */
	assert_false(dhtfind_asked_answer(&t, &other_port, 1001));
	assert_false(dhtfind_asked_answer(&t, &other_ip, 1001));
	assert_true(dhtfind_asked_answer(&t, &a, 1000 + DHTFIND_RESP_MS - 1));
	/* Once. */
	assert_false(dhtfind_asked_answer(&t, &a, 1002));
	assert_int_equal(dhtfind_asked_pending(&t, 1002), 1);
	/* Late is no answer, and no longer pending. */
	assert_false(dhtfind_asked_answer(&t, &b, 1000 + DHTFIND_RESP_MS));
	assert_int_equal(dhtfind_asked_pending(&t, 1000 + DHTFIND_RESP_MS), 0);
}

static void test_sched(void **state)
{
	struct dhtfind_sched s = {0};

	(void)state;
	/* Few relays known: at start. */
	assert_true(dhtfind_sched_due(&s, 1, 5000));
	dhtfind_sched_ran(&s, 5000);
	assert_false(dhtfind_sched_due(&s, 0, 5000 + DHTFIND_EVERY_MS - 1));
	assert_true(dhtfind_sched_due(&s, 0, 5000 + DHTFIND_EVERY_MS));
	/* Enough known: not at start, but 30 minutes later all the same. */
	memset(&s, 0, sizeof(s));
	assert_false(dhtfind_sched_due(&s, DHTFIND_FEW, 5000));
	assert_false(dhtfind_sched_due(&s, 0, 5000 + DHTFIND_EVERY_MS - 1));
	assert_true(dhtfind_sched_due(&s, DHTFIND_FEW, 5000 + DHTFIND_EVERY_MS));
}

static int read_conf(const char *text, struct dhtfind_config *out, char *err, size_t len)
{
	struct conf *c;
	int rc;

	assert_int_equal(conf_parse(&c, "helper.conf", text, strlen(text), err, len), 0);
	rc = dhtfind_config_read(c, out, err, len);
	conf_free(c);
	return rc;
}

static void test_config(void **state)
{
	static const char *const bad[] = {
	    "[Relay]\nDhtBootstrap = 192.0.32.1\n",         /* no port */
	    "[Relay]\nDhtBootstrap = 192.0.32.1:0\n",       /* port 0 */
	    "[Relay]\nDhtBootstrap = [2001:db8::1]:6881\n", /* IPv6 */
	    "[Relay]\nDhtBootstrap = 192.0.32.1:6881 x\n",  /* more */
	    "[Relay]\nDhtBootstrap = 224.0.0.1:6881\n",     /* multicast */
	    "[Relay]\nDht = maybe\n",
	};
	struct dhtfind_config cfg;
	char err[CONF_ERRLEN];

	(void)state;
	assert_int_equal(dhtfind_config_read(NULL, &cfg, err, sizeof(err)), 0);
	assert_false(cfg.on);
	assert_int_equal(
	    read_conf("[Relay]\nDhtBootstrap = 192.0.32.1:6881\n", &cfg, err, sizeof(err)), 0);
	assert_false(cfg.on); /* off unless said */
	assert_int_equal(cfg.n_boot, 1);
	assert_int_equal(read_conf("[Relay]\nDht = on\nDhtBootstrap = 192.0.32.1:6881\n"
	                           "DhtBootstrap = router.example.org:6881\n",
	                           &cfg, err, sizeof(err)),
	                 0);
	assert_true(cfg.on);
	assert_int_equal(cfg.n_boot, 2);
	assert_string_equal(cfg.boot[1], "router.example.org:6881");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(read_conf(bad[i], &cfg, err, sizeof(err)), -EINVAL);
		assert_non_null(strstr(err, "helper.conf:2: "));
	}
}

static void test_cache_nodes(void **state)
{
	char rows[DHTFIND_MAX_BOOT][CACHE_TEXT], ep[DHTFIND_EP_LEN];
	struct cache *c;
	const char *why;
	size_t n;

	(void)state;
	assert_int_equal(cache_open(&c, ":memory:"), 0);
	assert_int_equal(cache_dht_boot_list(c, rows, DHTFIND_MAX_BOOT, &n), 0);
	assert_int_equal(n, 0);
	assert_int_equal(cache_dht_boot_add(c, "192.0.32.1:6881", 10), 0);
	assert_int_equal(cache_dht_boot_add(c, "router.example.org:6881", 20), 0);
	assert_int_equal(cache_dht_boot_add(c, "192.0.32.1:6881", 30), 0); /* once */
	assert_int_equal(cache_dht_boot_list(c, rows, DHTFIND_MAX_BOOT, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0], "192.0.32.1:6881");
	assert_string_equal(rows[1], "router.example.org:6881");
	assert_int_equal(cache_dht_boot_list(c, rows, 1, &n), 0);
	assert_int_equal(n, 1);
	assert_int_equal(cache_dht_boot_remove(c, "192.0.32.1:6881"), 0);
	assert_int_equal(cache_dht_boot_remove(c, "192.0.32.1:6881"), -ENOENT);
	assert_int_equal(cache_dht_boot_list(c, rows, DHTFIND_MAX_BOOT, &n), 0);
	assert_int_equal(n, 1);
	cache_free(c);

	/* What add-dht-bootstrap takes, in its stored form. */
	assert_int_equal(dhtfind_endpoint_check("192.0.32.1:6881", false, ep, &why), 0);
	assert_string_equal(ep, "192.0.32.1:6881");
	assert_int_equal(dhtfind_endpoint_check("127.0.0.1:6881", false, ep, &why), -EINVAL);
	assert_int_equal(dhtfind_endpoint_check("127.0.0.1:6881", true, ep, &why), 0);
	assert_int_equal(dhtfind_endpoint_check("192.0.32.1", true, ep, &why), -EINVAL);
	assert_int_equal(dhtfind_endpoint_check("[::1]:6881", true, ep, &why), -EINVAL);
}

/* ---- one run against a small real DHT on loopback ---- */

struct tnode {
	struct dht *d;
	int fd;
	struct addr a;
};

static int udp_bind(struct addr *a)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
	addr_from_sockaddr(a, (struct sockaddr *)&sa, sl);
	return fd;
}

static void tnode_flush(struct tnode *n)
{
	uint8_t pkt[DHT_MAX_PKT];
	struct addr to;
	size_t len;

	while ((len = dht_next_output(n->d, pkt, sizeof(pkt), &to)))
		sendto(n->fd, pkt, len, 0, &to.sa, to.len);
}

static void tnode_input(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct tnode *n = arg;
	uint8_t pkt[DHT_MAX_PKT];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t k;

	(void)events;
	while ((k = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, &sl)) >= 0) {
		struct addr from;
		addr_from_sockaddr(&from, (struct sockaddr *)&ss, sl);
		dht_input(n->d, pkt, (size_t)k, &from, ev_now_ms(loop));
		sl = sizeof(ss);
	}
	tnode_flush(n);
}

static void tnode_open(struct tnode *n, struct ev_loop *loop)
{
	uint8_t id[DHT_ID_LEN];

	randombytes_buf(id, sizeof(id));
	assert_non_null(n->d = dht_new(id, NULL));
	n->fd = udp_bind(&n->a);
	assert_int_equal(ev_add_io(loop, n->fd, EV_READ, tnode_input, n), 0);
}

static void tnode_close(struct tnode *n, struct ev_loop *loop)
{
	ev_del_io(loop, n->fd);
	close(n->fd);
	dht_free(n->d);
}

/* The fake relay: its socket, a forger's on another port, and what each sends. */
struct fake {
	int fd, forger_fd;
	struct addr a, forger;
	uint8_t own[DESC_MAX_LEN + 4], forged[DESC_MAX_LEN + 4], second[DESC_MAX_LEN + 4];
	size_t own_len, forged_len, second_len;
	unsigned reqs;
};

static void fake_input(struct ev_loop *loop, int fd, unsigned events, void *arg)
{
	struct fake *f = arg;
	uint8_t pkt[2048];
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	ssize_t k;

	(void)loop;
	(void)events;
	while ((k = recvfrom(fd, pkt, sizeof(pkt), 0, (struct sockaddr *)&ss, &sl)) >= 0) {
		if (frame_decode_desc_req(pkt, (size_t)k) == 0) {
			f->reqs++;
			/* From an address not asked, first; then the answer; then one too many. */
			/* Loopback delivers within sendto: the helper reads them in this order. */
			sendto(f->forger_fd, f->forged, f->forged_len, 0, (struct sockaddr *)&ss,
			       sl);
			sendto(fd, f->own, f->own_len, 0, (struct sockaddr *)&ss, sl);
			sendto(fd, f->second, f->second_len, 0, (struct sockaddr *)&ss, sl);
		}
		sl = sizeof(ss);
	}
}

/* A DESC_RESP carrying a current descriptor of identity seed at ep; its length. */
static size_t desc_resp(uint8_t *out, size_t cap, uint8_t seed, const struct addr *ep)
{
	uint8_t s[IDENTITY_SEED_LEN], blob[DESC_MAX_LEN];
	struct identity id;
	struct descriptor d = {0};
	uint64_t now = (uint64_t)time(NULL);
	int n;

	memset(s, seed, sizeof(s));
	identity_from_seed(&id, s);
	memcpy(d.identity, id.pk, 32);
	memset(d.noise, seed, 32);
	d.seq = now;
	d.issued_at = now - 60;
	d.expires_at = now + 86400;
	d.modes = DESC_MODE_DIRECT;
	d.auth = DESC_AUTH_OPEN;
	d.max_circuits = 10;
	strcpy(d.version, "wgrelayd test");
	d.n_endpoints = 1;
	d.endpoints[0].transport = DESC_T_UDP;
	d.endpoints[0].addr = *ep;
	n = desc_sign(&d, id.sk, blob, sizeof(blob));
	assert_true(n > 0);
	n = frame_encode_desc_resp(out, cap, blob, (size_t)n);
	assert_true(n > 0);
	return (size_t)n;
}

struct run_state {
	bool done;
	struct dhtfind_stats st;
	bool announced;
};

static void on_done(void *arg, const struct dhtfind_stats *st)
{
	struct run_state *r = arg;

	r->done = true;
	r->st = *st;
}

static void on_announced(void *ctx, const struct dht_result *res)
{
	struct run_state *r = ctx;

	r->announced = res->status == 0 && res->stored > 0;
}

static void tick_all(struct ev_loop *loop, struct tnode *n, size_t k)
{
	for (size_t i = 0; i < k; i++) {
		dht_tick(n[i].d, ev_now_ms(loop));
		tnode_flush(&n[i]);
	}
}

static void test_run_refuses_forged(void **state)
{
	struct ev_loop *loop;
	struct tnode n[2];
	struct fake fk = {0};
	struct run_state r = {0};
	struct dhtfind_config cfg = {.on = true, .n_boot = 1};
	struct dhtfind *f = NULL;
	struct cache *c;
	struct cache_relay *rel;
	size_t nrel;
	uint8_t ih[DHT_ID_LEN];
	int64_t days[2];
	char fmt[ADDR_STRLEN];

	(void)state;
	assert_int_equal(ev_new(&loop), 0);
	assert_int_equal(cache_open(&c, ":memory:"), 0);
	tnode_open(&n[0], loop);
	tnode_open(&n[1], loop);
	fk.fd = udp_bind(&fk.a);
	fk.forger_fd = udp_bind(&fk.forger);
	assert_int_equal(ev_add_io(loop, fk.fd, EV_READ, fake_input, &fk), 0);
	fk.own_len = desc_resp(fk.own, sizeof(fk.own), 1, &fk.a);
	fk.forged_len = desc_resp(fk.forged, sizeof(fk.forged), 2, &fk.forger);
	fk.second_len = desc_resp(fk.second, sizeof(fk.second), 3, &fk.a);

	/* Node 1 joins through node 0 and announces the fake relay's port under today's hash. */
	assert_int_equal(dht_bootstrap(n[1].d, &n[0].a, 1, ev_clock_ms()), 0);
	tnode_flush(&n[1]);
	for (int i = 0; i < 200 && dht_node_count(n[1].d) == 0; i++) {
		ev_run_once(loop, 20);
		tick_all(loop, n, 2);
	}
	assert_true(dht_node_count(n[1].d) > 0);
	dhtfind_days(time(NULL), days);
	dht_infohash_day(ih, days[0]);
	assert_int_equal(
	    dht_announce(n[1].d, ih, addr_port(&fk.a), ev_clock_ms(), on_announced, &r), 0);
	tnode_flush(&n[1]);
	for (int i = 0; i < 300 && !r.announced; i++) {
		ev_run_once(loop, 20);
		tick_all(loop, n, 2);
	}
	assert_true(r.announced);

	/* The helper knows only node 0. */
	addr_format(&n[0].a, cfg.boot[0], sizeof(cfg.boot[0]));
	assert_int_equal(dhtfind_new(&f, loop, c, &cfg, 0, on_done, &r), 0);
	assert_int_equal(dhtfind_start(f), 0);
	assert_int_equal(dhtfind_start(f), -EBUSY);
	for (int i = 0; i < 1000 && !r.done; i++) {
		ev_run_once(loop, 20);
		tick_all(loop, n, 2);
	}
	assert_true(r.done);
	assert_true(r.st.dht_sent > 0 && r.st.dht_received > 0);
	assert_int_equal(r.st.dht_unsent, 0);
	assert_int_equal(fk.reqs, 1);
	assert_int_equal(r.st.asked, 1);
	assert_int_equal(r.st.answered, 1);
	assert_int_equal(r.st.ignored, 2); /* the forger's, and the second from the address asked */
	assert_int_equal(r.st.stats.verdicts[DISCOVER_NEW], 1);
	/* Only the fake relay's own descriptor, with source dht. */
	assert_int_equal(cache_relay_list(c, &rel, &nrel), 0);
	assert_int_equal(nrel, 1);
	assert_string_equal(rel[0].endpoint, addr_format(&fk.a, fmt, sizeof(fmt)));
	assert_string_equal(rel[0].source, "dht");
	assert_true(rel[0].has_desc);
	free(rel);

	/* Asked again at once: the address is known now, nothing goes out. */
	r.done = false;
	assert_int_equal(dhtfind_start(f), 0);
	for (int i = 0; i < 1000 && !r.done; i++) {
		ev_run_once(loop, 20);
		tick_all(loop, n, 2);
	}
	assert_true(r.done);
	assert_true(r.st.addresses >= 1);
	assert_int_equal(r.st.asked, 0);
	assert_int_equal(fk.reqs, 1);

	dhtfind_free(f);
	ev_del_io(loop, fk.fd);
	close(fk.fd);
	close(fk.forger_fd);
	tnode_close(&n[0], loop);
	tnode_close(&n[1], loop);
	cache_free(c);
	ev_free(loop);
}

/* A run no node answered says whether its queries went out and whether anything came in. */
static void test_summary(void **state)
{
	struct dhtfind_stats st = {.dht_sent = 4, .dht_unsent = 1, .dht_received = 0};
	char buf[512];

	(void)state;
	assert_string_equal(dhtfind_summary(&st, buf, sizeof(buf)),
	                    "no DHT node answered (4 datagram(s) out, 1 of them not sent, 0 in): "
	                    "nothing looked up");
	st.nodes = 2;
	assert_non_null(strstr(dhtfind_summary(&st, buf, sizeof(buf)), "2 DHT node(s)"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_days),         cmocka_unit_test(test_dest),
	    cmocka_unit_test(test_asked_bounds), cmocka_unit_test(test_asked_answer),
	    cmocka_unit_test(test_sched),        cmocka_unit_test(test_config),
	    cmocka_unit_test(test_cache_nodes),  cmocka_unit_test(test_run_refuses_forged),
	    cmocka_unit_test(test_summary),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
