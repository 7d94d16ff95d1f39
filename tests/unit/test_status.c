/*
 * test_status.c: `wgrelay status` and `doctor` as pure functions of a snapshot (WireGuard's
 * live device, the cache's rows, the clock), the cache's schema-3 rows and read-only open,
 * and the score parts select exposes.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "cache.h"
#include "doctor.h"
#include "frame.h"
#include "select.h"
#include "status.h"

#define NOW   1800000000
#define PEER  "PEERPEERPEERPEERPEERPEERPEERPEERPEERPEERPEE="
#define RELAY "RELAYRELAYRELAYRELAYRELAYRELAYRELAYRELAYREL="
#define RUNUP "SECONDSECONDSECONDSECONDSECONDSECONDSECONDS="

static char dir[] = "/tmp/wgr-test-status-XXXXXX";
static char buf[16384];

/* One interface wg0 (enabled, direct mode) with one live peer; records added per test. */
struct fixture {
	struct status_in in;
	struct status_dev_info dev;
	struct status_live_peer lp;
	struct cache_iface cfg;
	struct cache_peer rec;
	struct cache_session sess;
	struct cache_plan plan;
	struct cache_relay relays[2];
	struct cache_helper helper;
};

static void live_ep(struct fixture *f, const char *ep)
{
	assert_int_equal(addr_parse(&f->lp.ep, ep, 0), 0);
	snprintf(f->lp.endpoint, sizeof(f->lp.endpoint), "%s", ep);
}

static void fixture_init(struct fixture *f)
{
	memset(f, 0, sizeof(*f));
	cache_iface_defaults(&f->cfg, "wg0");
	f->cfg.enabled = true;
	snprintf(f->dev.name, sizeof(f->dev.name), "wg0");
	f->dev.state = STATUS_DEV_UP;
	f->dev.backend = "userspace";
	snprintf(f->dev.pubkey, sizeof(f->dev.pubkey), "DEVKEY");
	f->dev.listen_port = 51820;
	f->dev.peers = &f->lp;
	f->dev.n_peers = 1;
	snprintf(f->lp.key, sizeof(f->lp.key), "%s", PEER);
	live_ep(f, "198.51.100.7:51820");
	f->lp.last_handshake = NOW - 12;
	f->lp.rx_bytes = 2048;
	f->lp.tx_bytes = 100;
	f->lp.keepalive = 25;
	for (int i = 0; i < 2; i++) {
		f->relays[i].rtt_ms = -1;
		f->relays[i].load_permille = -1;
	}
	snprintf(f->relays[0].pubkey, sizeof(f->relays[0].pubkey), "%s", RELAY);
	snprintf(f->relays[0].endpoint, sizeof(f->relays[0].endpoint), "203.0.113.7:51821");
	snprintf(f->relays[1].pubkey, sizeof(f->relays[1].pubkey), "%s", RUNUP);
	snprintf(f->relays[1].endpoint, sizeof(f->relays[1].endpoint), "203.0.113.8:51821");
	f->helper = (struct cache_helper){.pid = 4242, .started = NOW - 600, .tick = NOW - 1};
	snprintf(f->helper.pubkey, sizeof(f->helper.pubkey), "HELPERKEY");
	f->in = (struct status_in){
	    .now = NOW,
	    .helper = &f->helper,
	    .helper_alive = true,
	    .ifs = &f->cfg,
	    .n_ifs = 1,
	    .devs = &f->dev,
	    .n_devs = 1,
	    .relays = f->relays,
	    .n_relays = 2,
	};
}

/* The helper's record of a peer relayed via the first relay, as steer_publish writes it. */
static void record_relayed(struct fixture *f, const char *session_ep)
{
	struct cache_peer *r = &f->rec;
	snprintf(r->iface, sizeof(r->iface), "wg0");
	snprintf(r->peer, sizeof(r->peer), "%s", PEER);
	snprintf(r->path, sizeof(r->path), "relayed");
	snprintf(r->mode, sizeof(r->mode), "direct");
	snprintf(r->relay_pubkey, sizeof(r->relay_pubkey), "%s", RELAY);
	snprintf(r->relay_endpoint, sizeof(r->relay_endpoint), "203.0.113.7:51821");
	snprintf(r->endpoint, sizeof(r->endpoint), "198.51.100.7:51820");
	r->since = NOW - 90;
	r->updated = NOW - 1;
	snprintf(r->why, sizeof(r->why), "2 handshake windows failed on 198.51.100.7:51820");
	f->in.peers = r;
	f->in.n_peers = 1;
	struct cache_session *s = &f->sess;
	snprintf(s->iface, sizeof(s->iface), "wg0");
	snprintf(s->peer, sizeof(s->peer), "%s", PEER);
	snprintf(s->relay_pubkey, sizeof(s->relay_pubkey), "%s", RELAY);
	snprintf(s->relay_endpoint, sizeof(s->relay_endpoint), "203.0.113.7:51821");
	snprintf(s->session_endpoint, sizeof(s->session_endpoint), "%s", session_ep);
	snprintf(s->original_endpoint, sizeof(s->original_endpoint), "198.51.100.7:51820");
	snprintf(s->mode, sizeof(s->mode), "direct");
	f->in.sessions = s;
	f->in.n_sessions = 1;
}

static void plan_two(struct fixture *f)
{
	struct cache_plan *p = &f->plan;
	snprintf(p->iface, sizeof(p->iface), "wg0");
	snprintf(p->peer, sizeof(p->peer), "%s", PEER);
	snprintf(p->next, sizeof(p->next), "try direct 198.51.100.7:51820 for one window");
	p->next_at = NOW + 45;
	p->n_relays = 2;
	p->relays[0] = (struct cache_plan_relay){
	    .distance_km = -1, .rtt_ms = 12, .load_permille = 100, .score = 0, .usable = true};
	snprintf(p->relays[0].pubkey, sizeof(p->relays[0].pubkey), "%s", RELAY);
	snprintf(p->relays[0].endpoint, sizeof(p->relays[0].endpoint), "203.0.113.7:51821");
	p->relays[1] = (struct cache_plan_relay){
	    .distance_km = -1, .rtt_ms = -1, .load_permille = -1, .score = 2, .usable = false};
	snprintf(p->relays[1].pubkey, sizeof(p->relays[1].pubkey), "%s", RUNUP);
	snprintf(p->relays[1].endpoint, sizeof(p->relays[1].endpoint), "203.0.113.8:51821");
	f->in.plans = p;
	f->in.n_plans = 1;
}

static const char *text_of(const struct status_in *in, void (*fn)(FILE *, const struct status_in *))
{
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	assert_non_null(f);
	fn(f, in);
	fclose(f);
	return buf;
}

/* A live peer with no record at all (watch never ran): shown, direct, nothing invented. */
static void test_live_peer_without_records(void **state)
{
	(void)state;
	struct fixture f;
	struct status_peer m;

	fixture_init(&f);
	f.in.helper = NULL;
	status_merge(&f.in, &f.dev, &f.lp, &m);
	assert_string_equal(m.path, "direct");
	assert_null(m.why);
	assert_null(m.mode);
	assert_int_equal(m.since, 0);
	assert_string_equal(m.direct_endpoint, "198.51.100.7:51820");
	assert_string_equal(m.next, "none while the helper is not running");
	text_of(&f.in, status_print_text);
	assert_non_null(strstr(buf, "  peer " PEER "\n    endpoint: 198.51.100.7:51820\n"));
	assert_non_null(strstr(buf, "    latest handshake: 12 s ago\n"));
	assert_non_null(strstr(buf, "    transfer: 2.00 KiB received, 100 B sent\n"));
	assert_non_null(strstr(buf, "    path: direct\n"));
	assert_non_null(strstr(buf, "helper: not running (never ran"));
}

/* WireGuard on the recorded session port: relayed, with the record's why and since. */
static void test_relayed_as_recorded(void **state)
{
	(void)state;
	struct fixture f;
	struct status_peer m;

	fixture_init(&f);
	record_relayed(&f, "203.0.113.7:50001");
	live_ep(&f, "203.0.113.7:50001");
	plan_two(&f);
	status_merge(&f.in, &f.dev, &f.lp, &m);
	assert_string_equal(m.path, "relayed");
	assert_true(m.on_relay);
	assert_string_equal(m.mode, "direct");
	assert_string_equal(m.relay_endpoint, "203.0.113.7:51821");
	assert_int_equal(m.since, NOW - 90);
	assert_non_null(m.why);
	assert_false(m.stale);
	assert_string_equal(m.direct_endpoint, "198.51.100.7:51820");
	assert_string_equal(m.note, "");

	const char *want =
	    "helper: running, pid 4242, last tick 1 s ago\n"
	    "interface wg0: relay fallback enabled, mode direct, threshold 1 attempts, mtu auto, "
	    "prebind 2\n"
	    "  wireguard: userspace, public key DEVKEY, listening port 51820, 1 peer\n"
	    "  peer " PEER "\n"
	    "    endpoint: 203.0.113.7:50001 (a relay's session port)\n"
	    "    latest handshake: 12 s ago\n"
	    "    transfer: 2.00 KiB received, 100 B sent\n"
	    "    path: relayed via 203.0.113.7:51821 (RELAYREL...), direct mode, since 90 s ago\n"
	    "    why: 2 handshake windows failed on 198.51.100.7:51820\n"
	    "    direct endpoint: 198.51.100.7:51820\n"
	    "    next: try direct 198.51.100.7:51820 for one window, in 45 s\n"
	    "    relays: no GeoIP database, distance not counted\n"
	    "      chosen:    203.0.113.7:51821 (RELAYREL...): distance -, RTT 12 ms, load 10%, "
	    "score 0\n"
	    "      runner-up: 203.0.113.8:51821 (SECONDSE...): distance -, RTT -, load -, score 2, "
	    "unusable\n";
	assert_string_equal(text_of(&f.in, status_print_text), want);

	/* dump keeps its ten fields, mode last. */
	text_of(&f.in, status_print_dump);
	assert_string_equal(buf,
	                    "wg0\t" PEER "\trelayed\t203.0.113.7:51821\t" RELAY
	                    "\t198.51.100.7:51820\t1799999910\t1799999999\t2 handshake windows "
	                    "failed on 198.51.100.7:51820\tdirect\n");

	/* A GeoIP database but no locations says so instead. */
	f.helper.geoip[0] = 'x';
	assert_non_null(strstr(text_of(&f.in, status_print_text),
	                       "relays: locations unknown, distance not counted\n"));
	f.plan.geo_known = true;
	f.plan.relays[0].distance_km = 812;
	text_of(&f.in, status_print_text);
	assert_non_null(strstr(buf, "    relays:\n      chosen:    203.0.113.7:51821 "
	                            "(RELAYREL...): distance 812 km,"));
}

/*
 * The record says relayed, but WireGuard is back on the direct endpoint (configure-relay
 * --disable, or a restore the record missed): WireGuard wins; the record is a note.
 */
static void test_record_relayed_live_direct(void **state)
{
	(void)state;
	struct fixture f;
	struct status_peer m;

	fixture_init(&f);
	record_relayed(&f, "203.0.113.7:50001");
	f.in.sessions = NULL; /* the restore deleted the session row */
	f.in.n_sessions = 0;
	f.cfg.enabled = false;
	status_merge(&f.in, &f.dev, &f.lp, &m);
	assert_string_equal(m.path, "direct");
	assert_false(m.on_relay);
	assert_null(m.relay_endpoint);
	assert_null(m.why);
	assert_non_null(strstr(m.note, "says relayed via 203.0.113.7:51821"));
	assert_string_equal(m.next, "none: relay fallback is not enabled here");
	text_of(&f.in, status_print_text);
	assert_null(strstr(buf, "path: relayed"));
	assert_non_null(strstr(buf, "    path: direct\n"));
	text_of(&f.in, status_print_dump);
	assert_non_null(strstr(buf, "\tdirect\t(none)\t(none)\t198.51.100.7:51820\t0\t"));
}

/* WireGuard roamed onto a relay's session port with no record: relayed, by address. */
static void test_live_relayed_without_record(void **state)
{
	(void)state;
	struct fixture f;
	struct status_peer m;

	fixture_init(&f);
	live_ep(&f, "203.0.113.8:50123");
	status_merge(&f.in, &f.dev, &f.lp, &m);
	assert_string_equal(m.path, "relayed");
	assert_string_equal(m.relay_endpoint, "203.0.113.8:51821");
	assert_string_equal(m.relay_pubkey, RUNUP);
	assert_non_null(strstr(m.note, "no record"));
}

/* Sealed mode: WireGuard on the helper's loopback port, the record says sealed. */
static void test_sealed_port(void **state)
{
	(void)state;
	struct fixture f;
	struct status_peer m;

	fixture_init(&f);
	record_relayed(&f, "127.0.0.1:40001");
	snprintf(f.rec.mode, sizeof(f.rec.mode), "sealed");
	snprintf(f.sess.mode, sizeof(f.sess.mode), "sealed");
	live_ep(&f, "127.0.0.1:40001");
	status_merge(&f.in, &f.dev, &f.lp, &m);
	assert_string_equal(m.path, "relayed");
	assert_string_equal(m.mode, "sealed");
	text_of(&f.in, status_print_text);
	assert_non_null(strstr(buf, "endpoint: 127.0.0.1:40001 (the helper's sealed port)\n"));
	assert_non_null(
	    strstr(buf, "path: relayed via 203.0.113.7:51821 (RELAYREL...), sealed mode, since"));
}

/*
 * Circuit mode: WireGuard sends to the helper's local port; status names the circuit as the
 * helper describes it and no relay (not even one a record or a session names).
 */
static void test_circuit_port(void **state)
{
	(void)state;
	static const char circ[] =
	    "2 hops: DE 1a2b3c4d, NL 5e6f7a8b (rendezvous); spliced 35 s; 1 rotation";
	struct fixture f;
	struct status_peer m;

	fixture_init(&f);
	f.cfg.hops = 2;
	snprintf(f.cfg.exclude_country, sizeof(f.cfg.exclude_country), "FR,IT");
	record_relayed(&f, "127.0.0.1:40002");
	snprintf(f.rec.mode, sizeof(f.rec.mode), "circuit");
	snprintf(f.rec.circuit, sizeof(f.rec.circuit), "%s", circ);
	snprintf(f.sess.mode, sizeof(f.sess.mode), "circuit");
	live_ep(&f, "127.0.0.1:40002");
	status_merge(&f.in, &f.dev, &f.lp, &m);
	assert_string_equal(m.path, "relayed");
	assert_true(m.on_relay);
	assert_string_equal(m.mode, "circuit");
	assert_string_equal(m.circuit, circ);
	assert_null(m.relay_endpoint);
	assert_null(m.relay_pubkey);
	assert_string_equal(m.direct_endpoint, "198.51.100.7:51820");

	text_of(&f.in, status_print_text);
	assert_non_null(strstr(buf, "prebind 2\n  circuits: 2 hops, strategy balanced, excluded "
	                            "countries FR,IT\n  wireguard: "));
	assert_non_null(strstr(buf, "    endpoint: 127.0.0.1:40002 (the helper's circuit port)\n"));
	assert_non_null(strstr(buf, "    path: relayed, circuit mode, since 90 s ago\n"
	                            "    circuit: 2 hops: DE 1a2b3c4d, NL 5e6f7a8b (rendezvous); "
	                            "spliced 35 s; 1 rotation\n"
	                            "    why: "));
	assert_null(strstr(buf, "203.0.113.7"));
	assert_null(strstr(buf, "RELAYREL"));
	text_of(&f.in, status_print_json);
	assert_non_null(strstr(buf, "\"mode\": \"circuit\", \"circuit\": \"2 hops: DE 1a2b3c4d, "
	                            "NL 5e6f7a8b (rendezvous); spliced 35 s; 1 rotation\", "
	                            "\"relay_endpoint\": null, \"relay_pubkey\": null"));
	assert_non_null(strstr(buf, "\"prebind\": 2, \"hops\": 2, \"strategy\": \"balanced\", "
	                            "\"exclude_country\": [\"FR\", \"IT\"]"));
	assert_null(strstr(buf, "203.0.113.7"));
	text_of(&f.in, status_print_dump);
	assert_non_null(strstr(buf, "\trelayed\t(none)\t(none)\t198.51.100.7:51820\t"));
	assert_non_null(strstr(buf, "\tcircuit\n"));

	/* No session row (a restarted helper not yet caught up): the record's port still is. */
	f.in.n_sessions = 0;
	status_merge(&f.in, &f.dev, &f.lp, &m);
	assert_string_equal(m.mode, "circuit");
	assert_string_equal(m.circuit, circ);
	assert_null(m.relay_endpoint);
	/* A helper that stopped: its account is history. */
	f.helper.pid = 0;
	text_of(&f.in, status_print_text);
	assert_non_null(strstr(buf, "    circuit: 2 hops: DE 1a2b3c4d, NL 5e6f7a8b (rendezvous); "
	                            "spliced 35 s; 1 rotation (stale)\n"));
	/* Not a circuit peer: no circuit field, the relay as before; circuits off: no line. */
	fixture_init(&f);
	record_relayed(&f, "203.0.113.7:50001");
	live_ep(&f, "203.0.113.7:50001");
	snprintf(f.rec.circuit, sizeof(f.rec.circuit), "left over");
	status_merge(&f.in, &f.dev, &f.lp, &m);
	assert_null(m.circuit);
	assert_string_equal(m.relay_endpoint, "203.0.113.7:51821");
	text_of(&f.in, status_print_text);
	assert_null(strstr(buf, "circuit"));
	text_of(&f.in, status_print_json);
	assert_non_null(strstr(buf, "\"circuit\": null"));
	assert_non_null(strstr(buf, "\"hops\": 0, \"strategy\": \"balanced\", "
	                            "\"exclude_country\": []"));
}

/* The helper's liveness: pid, tick age against STATUS_STALE_S, clean exit. */
static void test_helper_states(void **state)
{
	(void)state;
	struct fixture f;
	struct status_peer m;

	fixture_init(&f);
	assert_int_equal(status_helper_state(&f.in), STATUS_HELPER_RUNNING);
	f.helper.tick = NOW - STATUS_STALE_S - 1;
	assert_int_equal(status_helper_state(&f.in), STATUS_HELPER_STUCK);
	f.in.helper_alive = false;
	assert_int_equal(status_helper_state(&f.in), STATUS_HELPER_GONE);
	f.helper.pid = 0;
	assert_int_equal(status_helper_state(&f.in), STATUS_HELPER_STOPPED);
	f.in.helper = NULL;
	assert_int_equal(status_helper_state(&f.in), STATUS_HELPER_NEVER);

	/* A record from a stopped helper is stale, and it plans nothing. */
	fixture_init(&f);
	record_relayed(&f, "203.0.113.7:50001");
	live_ep(&f, "203.0.113.7:50001");
	plan_two(&f);
	f.helper.pid = 0;
	f.helper.tick = NOW - 300;
	status_merge(&f.in, &f.dev, &f.lp, &m);
	assert_true(m.stale);
	assert_true(m.plan_stale);
	assert_string_equal(m.next, "none while the helper is not running");
	text_of(&f.in, status_print_text);
	assert_non_null(strstr(buf, "helper: not running (stopped 5 min ago)\n"));
	assert_non_null(strstr(buf, "why: 2 handshake windows failed on 198.51.100.7:51820 "
	                            "(stale)\n"));
	assert_non_null(strstr(buf, "    relays (stale):"));
	/* A pid that is not ours is not a running helper. */
	assert_false(status_pid_alive(getpid()));
	assert_false(status_pid_alive(0));
	assert_false(status_pid_alive(-5));
}

/* JSON: unknowns are null, never -1 or "". */
static void test_json_nulls(void **state)
{
	(void)state;
	struct fixture f;

	fixture_init(&f);
	record_relayed(&f, "203.0.113.7:50001");
	live_ep(&f, "203.0.113.7:50001");
	plan_two(&f);
	f.lp.last_handshake = 0;
	text_of(&f.in, status_print_json);
	assert_null(strstr(buf, "-1"));
	assert_null(strstr(buf, "\"\""));
	assert_non_null(strstr(buf, "\"latest_handshake\": null"));
	assert_non_null(strstr(buf, "\"public_address\": null"));
	assert_non_null(strstr(buf, "\"path\": \"relayed\", \"mode\": \"direct\""));
	assert_non_null(strstr(buf, "\"mtu\": \"auto\""));
	assert_non_null(strstr(buf, "\"runner_up\": {\"endpoint\": \"203.0.113.8:51821\", "
	                            "\"pubkey\": \"" RUNUP "\", \"distance_km\": null, "
	                            "\"rtt_ms\": null, \"load_permille\": null, \"score\": 2, "
	                            "\"usable\": false}"));
	assert_non_null(strstr(buf, "\"helper\": {\"state\": \"running\", \"running\": true, "
	                            "\"stale\": false, \"pid\": 4242"));
	/* An absent configured interface: no device fields. */
	f.dev.state = STATUS_DEV_ABSENT;
	f.dev.n_peers = 0;
	text_of(&f.in, status_print_json);
	assert_non_null(strstr(buf, "\"name\": \"wg0\", \"state\": \"absent\", \"configured\": "
	                            "true, \"enabled\": true"));
	assert_non_null(strstr(buf, "\"backend\": null, \"public_key\": null, \"listen_port\": "
	                            "null, \"error\": null, \"peers\": []"));
	assert_null(strstr(buf, "-1"));
	text_of(&f.in, status_print_text);
	assert_non_null(strstr(buf, "  wireguard: absent: no interface wg0 now"));
	/* Nothing at all. */
	f.in.n_devs = 0;
	text_of(&f.in, status_print_text);
	assert_string_equal(buf,
	                    "no interface configured (wgrelay configure-relay --enable IFACE)\n");
}

/* ---- doctor ---- */

static void test_doctor_privileges_and_exit(void **state)
{
	(void)state;
	struct doctor_line l;

	assert_int_equal(doctor_privileges(&l, 0, 0), DOCTOR_OK);
	assert_string_equal(l.text, "running as root");
	assert_int_equal(doctor_privileges(&l, 1000, 1ULL << 12), DOCTOR_OK);
	assert_int_equal(doctor_privileges(&l, 1000, 1ULL << 1), DOCTOR_FAIL);
	assert_non_null(strstr(l.text, "without CAP_NET_ADMIN"));
	assert_int_equal(doctor_exit_code(DOCTOR_OK), 0);
	assert_int_equal(doctor_exit_code(DOCTOR_FAIL), 1);
	assert_int_equal(doctor_exit_code(DOCTOR_WARN), DOCTOR_EXIT_WARN);
	assert_int_not_equal(DOCTOR_EXIT_WARN, 2); /* 2 is a usage error */
	FILE *f = fmemopen(buf, sizeof(buf), "w");
	doctor_print(f, &l);
	fclose(f);
	assert_string_equal(buf, "FAIL  running as uid 1000 without CAP_NET_ADMIN: WireGuard "
	                         "devices cannot be read (run doctor as root)\n");
}

/* The root-made 0600 database the narrowed unit cannot open. */
static void test_doctor_db_access(void **state)
{
	(void)state;
	struct doctor_line l;
	struct doctor_file none = {0};
	struct doctor_file root600 = {true, 0, 0, 0100600};
	struct doctor_file ours = {true, 990, 990, 0100600};
	struct doctor_file dd = {true, 990, 990, 040750};
	struct doctor_user u = {"wgrelay", "wgrelay", 990, 990, -1, "the unit's User="};

	assert_int_equal(doctor_db_access(&l, "/x/wgrelay.db", &ours, &ours, &none, &dd, &u),
	                 DOCTOR_OK);
	/* Unknown capabilities (not running): the shipped unit has CAP_DAC_OVERRIDE. */
	assert_int_equal(doctor_db_access(&l, "/x/wgrelay.db", &root600, &none, &none, &dd, &u),
	                 DOCTOR_WARN);
	assert_non_null(strstr(l.text, "unable to open database file"));
	assert_non_null(strstr(l.text, "fix: chown wgrelay:wgrelay /x/wgrelay.db"));
	assert_null(strstr(l.text, "-wal")); /* only the files that exist */
	/* A running helper without it fails now. */
	u.dac_override = 0;
	u.from = "the running helper";
	assert_int_equal(doctor_db_access(&l, "/x/wgrelay.db", &ours, &root600, &root600, &dd, &u),
	                 DOCTOR_FAIL);
	assert_non_null(strstr(l.text, "/x/wgrelay.db-wal (owner uid 0, mode 0600)"));
	assert_non_null(strstr(l.text, "fix: chown wgrelay:wgrelay /x/wgrelay.db /x/wgrelay.db-wal "
	                               "/x/wgrelay.db-shm"));
	/* With it, it works today but not under the narrowed unit. */
	u.dac_override = 1;
	assert_int_equal(doctor_db_access(&l, "/x/wgrelay.db", &root600, &none, &none, &dd, &u),
	                 DOCTOR_WARN);
	assert_non_null(strstr(l.text, "only through CAP_DAC_OVERRIDE"));
	/* Group access counts; a directory it cannot write does not. */
	struct doctor_file grp = {true, 0, 990, 0100660};
	u.dac_override = 0;
	assert_int_equal(doctor_db_access(&l, "/x/wgrelay.db", &grp, &none, &none, &dd, &u),
	                 DOCTOR_OK);
	struct doctor_file rootdir = {true, 0, 0, 040755};
	assert_int_equal(doctor_db_access(&l, "/x/wgrelay.db", &ours, &none, &none, &rootdir, &u),
	                 DOCTOR_FAIL);
	assert_non_null(strstr(l.text, "its directory"));
	/* Root can; no file yet is a warning. */
	struct doctor_user root = {"root", "root", 0, 0, 1, "this user"};
	assert_int_equal(doctor_db_access(&l, "/x/wgrelay.db", &root600, &none, &none, &dd, &root),
	                 DOCTOR_OK);
	assert_int_equal(doctor_db_access(&l, "/x/wgrelay.db", &none, &none, &none, &dd, &root),
	                 DOCTOR_WARN);
	assert_non_null(strstr(l.text, "none yet"));
}

static void test_doctor_relay(void **state)
{
	(void)state;
	struct doctor_line l;
	struct cache_relay r = {.rtt_ms = -1, .load_permille = -1};
	uint16_t both = PONG_F_DIRECT_OK | PONG_F_SEALED_OK;

	snprintf(r.pubkey, sizeof(r.pubkey), "%s", RELAY);
	snprintf(r.endpoint, sizeof(r.endpoint), "203.0.113.7:51821");
	snprintf(r.status, sizeof(r.status), "ok");
	assert_int_equal(doctor_relay(&l, &r, true, 12, both, "ME", true, false), DOCTOR_OK);
	assert_string_equal(l.text, "relay 203.0.113.7:51821 (RELAYREL...): answers (12 ms), open "
	                            "mode: admits anyone");
	assert_int_equal(doctor_relay(&l, &r, false, -1, 0, "ME", true, false), DOCTOR_WARN);
	assert_non_null(strstr(l.text, "no answer to PING"));
	/* keys mode: cannot tell without a BIND... */
	assert_int_equal(doctor_relay(&l, &r, true, 12, both | PONG_F_AUTH_KEYS, "ME", true, false),
	                 DOCTOR_WARN);
	assert_non_null(strstr(l.text, "cannot tell without a BIND"));
	assert_non_null(strstr(l.text, "must list ME"));
	/* ...unless watch recorded its refusal. */
	snprintf(r.status, sizeof(r.status), "denied");
	assert_int_equal(doctor_relay(&l, &r, true, 12, both | PONG_F_AUTH_KEYS, "ME", true, false),
	                 DOCTOR_FAIL);
	assert_non_null(strstr(l.text, "add ME to its AllowedKeys"));
	snprintf(r.status, sizeof(r.status), "ok");
	assert_int_equal(
	    doctor_relay(&l, &r, true, 12, both | PONG_F_AUTH_TOKEN, "ME", true, false),
	    DOCTOR_FAIL);
	/* The mode an enabled interface uses must be offered. */
	assert_int_equal(doctor_relay(&l, &r, true, 12, PONG_F_DIRECT_OK, "ME", false, true),
	                 DOCTOR_WARN);
	assert_non_null(strstr(l.text, "does not offer sealed mode"));
	assert_int_equal(doctor_relay(&l, &r, true, 12, both | PONG_F_FULL, "ME", true, true),
	                 DOCTOR_WARN);
}

static void test_doctor_mtu_and_saveconfig(void **state)
{
	(void)state;
	struct doctor_line l;

	assert_int_equal(doctor_mtu(&l, "wg0", "direct", -1, 1500, 0, false), DOCTOR_OK);
	/* auto from 1420: 1388 while relayed sealed, fits both families. */
	assert_int_equal(doctor_mtu(&l, "wg0", "sealed", -1, 1420, 0, true), DOCTOR_OK);
	assert_non_null(strstr(l.text, "1388 while relayed sealed"));
	/* Lowered now: judged from the MTU before. */
	assert_int_equal(doctor_mtu(&l, "wg0", "sealed", -1, 1388, 1420, true), DOCTOR_OK);
	/* auto from 1500: 1468, too big. */
	assert_int_equal(doctor_mtu(&l, "wg0", "sealed", -1, 1500, 0, false), DOCTOR_WARN);
	assert_non_null(strstr(l.text, "MTU 1468 while relayed sealed is above 1408"));
	/* off keeps 1420: too big for sealed. */
	assert_int_equal(doctor_mtu(&l, "wg0", "sealed", 0, 1420, 0, false), DOCTOR_WARN);
	/* A fixed 1400 fits IPv4 relays, not IPv6 ones. */
	assert_int_equal(doctor_mtu(&l, "wg0", "sealed", 1400, 1400, 0, false), DOCTOR_OK);
	assert_int_equal(doctor_mtu(&l, "wg0", "sealed", 1400, 1400, 0, true), DOCTOR_WARN);

	assert_int_equal(doctor_saveconfig(&l, "wg0", 1, "/etc/wireguard"), DOCTOR_FAIL);
	assert_non_null(strstr(l.text, "SaveConfig = true in /etc/wireguard/wg0.conf"));
	assert_int_equal(doctor_saveconfig(&l, "wg0", 0, "/etc/wireguard"), DOCTOR_OK);
	assert_int_equal(doctor_saveconfig(&l, "wg0", -ENOENT, "/etc/wireguard"), DOCTOR_OK);
	assert_int_equal(doctor_saveconfig(&l, "wg0", -EACCES, "/etc/wireguard"), DOCTOR_WARN);
}

/* ---- what status reads: schema 3 rows and the read-only open ---- */

static void test_cache_helper_and_plans(void **state)
{
	(void)state;
	char path[600];
	struct cache *c;
	struct cache_helper h = {.pid = 77, .started = 5, .tick = 9}, g;
	struct fixture f;
	struct cache_plan *pl;
	size_t n;

	snprintf(path, sizeof(path), "%s/plans.db", dir);
	assert_int_equal(cache_open(&c, path), 0);
	assert_int_equal(cache_helper_get(c, &g), -ENOENT);
	snprintf(h.pubkey, sizeof(h.pubkey), "HK");
	assert_int_equal(cache_helper_set(c, &h), 0);
	h.tick = 10;
	assert_int_equal(cache_helper_set(c, &h), 0); /* one row, replaced */
	fixture_init(&f);
	plan_two(&f);
	assert_int_equal(cache_plan_set(c, &f.plan), 0);
	f.plan.n_relays = 1; /* a smaller plan replaces the relays too */
	snprintf(f.plan.peer, sizeof(f.plan.peer), "OTHER");
	assert_int_equal(cache_plan_set(c, &f.plan), 0);
	cache_free(c);

	/* Read-only: the same rows, and no write goes through. */
	assert_int_equal(cache_open_readonly(&c, path), 0);
	assert_int_equal(cache_helper_get(c, &g), 0);
	assert_int_equal(g.pid, 77);
	assert_int_equal(g.tick, 10);
	assert_string_equal(g.pubkey, "HK");
	assert_string_equal(g.public_addr, "");
	assert_int_equal(cache_plan_list(c, "wg0", &pl, &n), 0);
	assert_int_equal(n, 2);
	assert_string_equal(pl[0].peer, "OTHER");
	assert_int_equal(pl[0].n_relays, 1);
	assert_string_equal(pl[1].peer, PEER);
	assert_int_equal(pl[1].n_relays, 2);
	assert_int_equal(pl[1].next_at, NOW + 45);
	assert_int_equal(pl[1].relays[0].rtt_ms, 12);
	assert_int_equal(pl[1].relays[1].distance_km, -1);
	assert_false(pl[1].relays[1].usable);
	assert_string_equal(pl[1].relays[1].endpoint, "203.0.113.8:51821");
	free(pl);
	assert_true(cache_helper_set(c, &h) < 0);
	cache_free(c);
}

/* Read-only open creates nothing and moves nothing. */
static void test_readonly_open(void **state)
{
	(void)state;
	char path[600], side[700];
	struct cache *c;
	struct stat st;

	snprintf(path, sizeof(path), "%s/ro.db", dir);
	assert_int_equal(cache_open_readonly(&c, path), -ENOENT);
	assert_int_not_equal(stat(path, &st), 0);
	assert_int_equal(cache_open(&c, path), 0);
	cache_free(c); /* the last connection removes -wal and -shm */
	snprintf(side, sizeof(side), "%s-wal", path);
	assert_int_not_equal(stat(side, &st), 0);
	assert_int_equal(cache_open_readonly(&c, path), 0);
	struct cache_iface *ifs;
	size_t n;
	assert_int_equal(cache_iface_list(c, &ifs, &n), 0);
	free(ifs);
	cache_free(c);
	assert_int_not_equal(stat(side, &st), 0);
	snprintf(side, sizeof(side), "%s-shm", path);
	assert_int_not_equal(stat(side, &st), 0);

	/* Garbage: refused, left where it is. */
	snprintf(path, sizeof(path), "%s/garbage.db", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a database, only some bytes on a disk, long enough for a header", f);
	fclose(f);
	assert_int_equal(cache_open_readonly(&c, path), -EBADMSG);
	assert_int_equal(stat(path, &st), 0);
}

/* select_rank exposes the parts of each score: distance, geo bucket, load points. */
static void test_select_parts(void **state)
{
	(void)state;
	struct select_point a = {true, 52.52, 13.40}, b = {true, 48.86, 2.35};
	struct select_cand c[2] = {0};
	size_t order[2];

	c[0].loc = (struct select_point){true, 50.11, 8.68}; /* Frankfurt: on the way */
	c[0].load_permille = 800;
	c[0].reachable = true;
	c[1].loc = (struct select_point){false, 0, 0};
	c[1].load_permille = -1;
	c[1].reachable = true;
	c[1].pubkey[0] = 1;
	select_rank(a, b, c, 2, order);
	assert_true(c[0].km > 800 && c[0].km < 1000);
	assert_int_equal(c[0].geo, 0);
	assert_int_equal(c[0].load_points, 2);
	assert_int_equal(c[0].score, 2);
	assert_true(c[1].km < 0);
	assert_int_equal(c[1].geo, 40);
	assert_int_equal(c[1].score, 80);
	/* One end unknown: no distances at all. */
	a.known = false;
	select_rank(a, b, c, 2, order);
	assert_true(c[0].km < 0);
	assert_int_equal(c[0].geo, 0);
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[600];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_live_peer_without_records),
	    cmocka_unit_test(test_relayed_as_recorded),
	    cmocka_unit_test(test_record_relayed_live_direct),
	    cmocka_unit_test(test_live_relayed_without_record),
	    cmocka_unit_test(test_sealed_port),
	    cmocka_unit_test(test_circuit_port),
	    cmocka_unit_test(test_helper_states),
	    cmocka_unit_test(test_json_nulls),
	    cmocka_unit_test(test_doctor_privileges_and_exit),
	    cmocka_unit_test(test_doctor_db_access),
	    cmocka_unit_test(test_doctor_relay),
	    cmocka_unit_test(test_doctor_mtu_and_saveconfig),
	    cmocka_unit_test(test_cache_helper_and_plans),
	    cmocka_unit_test(test_readonly_open),
	    cmocka_unit_test(test_select_parts),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
