/*
 * test_registry.c: relay statuses from a link's or a probe's facts, the word list-relays
 * shows, the fwmark of relay traffic, and loading and resolving the cache's relays (a real
 * SQLite in memory, /etc/hosts for a host name).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "frame.h"
#include "link.h"
#include "probe.h"
#include "proto.h"
#include "registry.h"

static struct cache_relay relay(const char *status)
{
	struct cache_relay r = {.rtt_ms = -1, .load_permille = -1};
	snprintf(r.status, sizeof(r.status), "%s", status);
	return r;
}

/* Every status is its word and back; a word nobody wrote is unknown. */
static void test_status_words(void **state)
{
	(void)state;
	for (int st = REGISTRY_UNKNOWN; st <= REGISTRY_UNRESOLVED; st++)
		assert_int_equal(registry_status_parse(registry_status_name(st)), st);
	assert_string_equal(registry_status_name(REGISTRY_DENIED), "denied");
	assert_string_equal(registry_status_name(REGISTRY_UNREACHABLE), "unreachable");
	assert_int_equal(registry_status_parse("sideways"), REGISTRY_UNKNOWN);
	assert_int_equal(registry_status_parse(""), REGISTRY_UNKNOWN);
	assert_string_equal(registry_status_name((enum registry_status)99), "unknown");
}

/* A refusal wins over an answer; full only with a fresh PONG; up without a PONG is ok. */
static void test_link_status(void **state)
{
	(void)state;
	struct link l = {.rtt_ms = -1, .state = LINK_DOWN};

	assert_int_equal(registry_link_status(&l), REGISTRY_UNREACHABLE);
	l.state = LINK_UP;
	assert_int_equal(registry_link_status(&l), REGISTRY_OK);
	l.pong_flags = PONG_F_FULL; /* left from an old PONG: rtt unknown now */
	assert_int_equal(registry_link_status(&l), REGISTRY_OK);
	l.rtt_ms = 12;
	assert_int_equal(registry_link_status(&l), REGISTRY_FULL);
	l.last_error = PROTO_ERR_AUTH_DENIED;
	assert_int_equal(registry_link_status(&l), REGISTRY_DENIED);
	l.last_error = PROTO_ERR_AUTH_REQUIRED;
	assert_int_equal(registry_link_status(&l), REGISTRY_DENIED);
	l = (struct link){.rtt_ms = 3, .state = LINK_HANDSHAKE};
	assert_int_equal(registry_link_status(&l), REGISTRY_OK);
}

/* What a link learned goes into the row; silence keeps the last sighting and drops the load. */
static void test_link_merge(void **state)
{
	(void)state;
	struct cache_relay r = relay("unknown");
	struct link l = {.rtt_ms = 7, .load_permille = 250, .pong_flags = PONG_F_DIRECT_OK};

	registry_link_merge(&r, &l, 1000);
	assert_string_equal(r.status, "ok");
	assert_int_equal(r.rtt_ms, 7);
	assert_int_equal(r.load_permille, 250);
	assert_int_equal(r.flags, PONG_F_DIRECT_OK);
	assert_int_equal(r.last_seen, 1000);
	l.rtt_ms = -1;
	registry_link_merge(&r, &l, 2000);
	assert_string_equal(r.status, "unreachable");
	assert_int_equal(r.rtt_ms, -1);
	assert_int_equal(r.load_permille, -1);
	assert_int_equal(r.last_seen, 1000);
	l.rtt_ms = 9;
	l.pong_flags = PONG_F_FULL;
	registry_link_merge(&r, &l, 3000);
	assert_string_equal(r.status, "full");
	assert_int_equal(r.last_seen, 3000);
}

/* A probe's answer; a denial a link saw outlives a PONG; no address is unresolved. */
static void test_probe_merge(void **state)
{
	(void)state;
	struct cache_relay r = relay("unknown");
	struct probe_target t = {.answered = true, .rtt_ms = 4};

	t.pong.load_permille = 100;
	t.pong.flags = PONG_F_AUTH_KEYS;
	registry_probe_merge(&r, &t, true, 50);
	assert_string_equal(r.status, "ok");
	assert_int_equal(r.rtt_ms, 4);
	assert_int_equal(r.load_permille, 100);
	assert_int_equal(r.flags, PONG_F_AUTH_KEYS);
	assert_int_equal(r.last_seen, 50);
	t.pong.flags |= PONG_F_FULL;
	registry_probe_merge(&r, &t, true, 60);
	assert_string_equal(r.status, "full");

	r = relay("denied");
	registry_probe_merge(&r, &t, true, 70);
	assert_string_equal(r.status, "denied");
	assert_int_equal(r.last_seen, 70);

	t = (struct probe_target){.answered = false, .rtt_ms = -1};
	r = relay("ok");
	r.load_permille = 300;
	r.last_seen = 10;
	registry_probe_merge(&r, &t, true, 80);
	assert_string_equal(r.status, "unreachable");
	assert_int_equal(r.load_permille, -1);
	assert_int_equal(r.last_seen, 10);
	registry_probe_merge(&r, &t, false, 90);
	assert_string_equal(r.status, "unresolved");
}

/* "refused": a denial, or a token relay that answers while we have no credential for it. */
static void test_shown_status(void **state)
{
	(void)state;
	struct cache_relay r = relay("denied");

	assert_string_equal(registry_shown_status(&r), "refused");
	r = relay("ok");
	r.flags = PONG_F_AUTH_TOKEN;
	assert_string_equal(registry_shown_status(&r), "refused");
	snprintf(r.token, sizeof(r.token), "command");
	assert_string_equal(registry_shown_status(&r), "ok");
	r = relay("full");
	assert_string_equal(registry_shown_status(&r), "full");
	r = relay("unreachable");
	r.flags = PONG_F_AUTH_TOKEN;
	assert_string_equal(registry_shown_status(&r), "unreachable");
	r = relay("");
	assert_string_equal(registry_shown_status(&r), "unknown");
}

/* The first interface in name order with a mark wins; the others with another are named. */
static void test_fwmark(void **state)
{
	(void)state;
	char others[64];
	size_t chosen;
	const struct registry_mark none[] = {{"wg0", 0}, {"wg1", 0}};
	const struct registry_mark m[] = {
	    {"wg2", 0x30}, {"wg1", 0}, {"wg0b", 0x20}, {"tun9", 0}, {"wg3", 0x20}, {"wg10", 0x40},
	};

	assert_int_equal(registry_fwmark(none, 2, &chosen, others, sizeof(others)), 0);
	assert_int_equal(chosen, SIZE_MAX);
	assert_string_equal(others, "");
	assert_int_equal(registry_fwmark(m, 0, &chosen, others, sizeof(others)), 0);

	/* wg0b < wg10 < wg2 < wg3: wg0b's; wg3 shares it, wg10 and wg2 do not. */
	assert_int_equal(registry_fwmark(m, 6, &chosen, others, sizeof(others)), 0x20);
	assert_int_equal(chosen, 2);
	assert_string_equal(others, "wg10, wg2");
	/* One interface with a mark: nobody to warn about. */
	assert_int_equal(registry_fwmark(m, 2, &chosen, others, sizeof(others)), 0x30);
	assert_int_equal(chosen, 0);
	assert_string_equal(others, "");
	/* A short buffer cuts the names, never overruns. */
	assert_int_equal(registry_fwmark(m, 6, &chosen, others, 7), 0x20);
	assert_int_equal(strlen(others), 6);
}

static void add(struct cache *c, const char *key, const char *ep)
{
	struct cache_relay r = relay("unknown");
	snprintf(r.pubkey, sizeof(r.pubkey), "%s", key);
	snprintf(r.endpoint, sizeof(r.endpoint), "%s", ep);
	snprintf(r.source, sizeof(r.source), "bootstrap");
	assert_int_equal(cache_relay_upsert(c, &r), 0);
}

static struct registry_entry *find(struct registry_entry *e, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(e[i].info.pubkey, key) == 0)
			return &e[i];
	fail_msg("relay %s not loaded", key);
	return NULL;
}

/* IPs at once; host names only when asked for, found in /etc/hosts or not found at all. */
static void test_load_resolve(void **state)
{
	(void)state;
	static const char kip[] = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=",
	                  kname[] = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=",
	                  kgone[] = "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDA=";
	struct cache *c;
	struct registry_entry *e;
	size_t n;
	char ip[ADDR_STRLEN];

	assert_int_equal(cache_open(&c, ":memory:"), 0);
	add(c, kip, "192.0.2.1:51821");
	add(c, kname, "localhost:41821");
	add(c, kgone, "nosuch.invalid:51821");
	assert_int_equal(registry_load(c, &e, &n), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		e[i].lookup = false;
	registry_resolve(e, n, 5000);
	assert_string_equal(addr_format(&find(e, n, kip)->addr, ip, sizeof(ip)), "192.0.2.1:51821");
	assert_null(find(e, n, kip)->why);
	assert_int_equal(find(e, n, kname)->addr.len, 0);
	assert_string_equal(find(e, n, kname)->why, "not looked up");
	assert_false(find(e, n, kname)->pending);
	/* Nothing to locate without a GeoIP file. */
	assert_false(registry_locate(find(e, n, kip), NULL));

	for (size_t i = 0; i < n; i++)
		e[i].lookup = true;
	registry_resolve(e, n, 5000);
	assert_string_equal(addr_format(&find(e, n, kname)->addr, ip, sizeof(ip)),
	                    "127.0.0.1:41821");
	assert_false(find(e, n, kname)->pending);
	/* Not found (or, without a resolver that answers in time, no answer): no address. */
	assert_int_equal(find(e, n, kgone)->addr.len, 0);
	assert_non_null(find(e, n, kgone)->why);
	free(e);
	cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status_words), cmocka_unit_test(test_link_status),
	    cmocka_unit_test(test_link_merge),   cmocka_unit_test(test_probe_merge),
	    cmocka_unit_test(test_shown_status), cmocka_unit_test(test_fwmark),
	    cmocka_unit_test(test_load_resolve),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
