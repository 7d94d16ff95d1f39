/*
 * test_status_live.c: the real `wgrelay` binary (status, doctor, show-key) against a real
 * wireguard-go interface with a peer, in a network namespace of its own, without `watch`:
 * WireGuard's live state is shown, a peer put back on its direct endpoint is not "relayed",
 * nothing is written, and the output on a terminal (script(1)) is what the expected text says.
 * Needs root, ip, wireguard-go and wg; exits 77 (skipped) without them. The namespace and
 * wireguard-go are removed by name and pid whatever happens.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[] = "/tmp/wgr-test-status-live-XXXXXX";
static char ns[32], ifc[16], out[32768], peer[64], devkey[64];
static pid_t wg_pid;

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Run a shell command built from fmt; its exit status (-1 when it did not exit). */
static int shv(const char *fmt, va_list ap)
{
	char cmd[4096];
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void sh(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int rc = shv(fmt, ap);
	va_end(ap);
	assert_int_equal(rc, 0);
}

/* Output of a shell command into out (trailing newline cut); its exit status. */
static int capture(const char *cmd)
{
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

/* `wgrelay ARGS` in the namespace with database db (under dir); stdout+stderr in out. */
static int wgrelay_db(const char *db, const char *args)
{
	char cmd[4096];
	const char *bin = getenv("WGRELAY_BIN");
	snprintf(cmd, sizeof(cmd),
	         "ip netns exec %s env WGRELAY_DB='%s/%s/wgrelay.db' WGRELAY_GEOIP='%s/none.mmdb' "
	         "WGRELAY_CONFIG='%s/none.conf' WGRELAY_WG_CONF_DIR='%s' '%s' %s 2>&1",
	         ns, dir, db, dir, dir, dir, bin ? bin : "wgrelay", args);
	return capture(cmd);
}

static int wgrelay(const char *args)
{
	return wgrelay_db("db", args);
}

/* size, mtime and the side files of the database: equal before and after means untouched. */
static void db_state(const char *db, char *buf, size_t len)
{
	static const char *const sfx[] = {"", "-wal", "-shm"};
	size_t o = 0;
	for (size_t i = 0; i < 3; i++) {
		char p[600];
		struct stat st;
		snprintf(p, sizeof(p), "%s/%s/wgrelay.db%s", dir, db, sfx[i]);
		if (stat(p, &st) == 0)
			o += (size_t)snprintf(buf + o, len - o, "%s %lld %lld.%09ld;", sfx[i],
			                      (long long)st.st_size, (long long)st.st_mtim.tv_sec,
			                      st.st_mtim.tv_nsec);
		else
			o += (size_t)snprintf(buf + o, len - o, "%s none;", sfx[i]);
	}
}

/* SQL on the test database with the sqlite3 shell, as `watch` would have written rows. */
static void sql(const char *q)
{
	sh("sqlite3 '%s/db/wgrelay.db' \"%s\"", dir, q);
}

/* What `watch` wrote for a peer it relayed: the relay, the peer's record, its session. */
static const char relayed_rows[] =
    "INSERT INTO relays(pubkey, endpoint, source, status) VALUES("
    "'RELAYRELAYRELAYRELAYRELAYRELAYRELAYRELAYREL=', '192.0.2.50:51821', 'bootstrap', 'ok');"
    "INSERT INTO peers(iface, peer, path, relay_pubkey, relay_endpoint, endpoint, since,"
    " updated, why, mode) VALUES('%s', '%s', 'relayed',"
    " 'RELAYRELAYRELAYRELAYRELAYRELAYRELAYRELAYREL=', '192.0.2.50:51821',"
    " '192.0.2.9:51820', strftime('%%s','now') - 60, strftime('%%s','now') - 30,"
    " '2 handshake windows failed on 192.0.2.9:51820', 'direct');";
static const char session_row[] =
    "INSERT INTO relay_sessions(iface, peer, relay_pubkey, relay_endpoint, session_endpoint,"
    " original_endpoint, original_keepalive, since, mode) VALUES('%s', '%s',"
    " 'RELAYRELAYRELAYRELAYRELAYRELAYRELAYRELAYREL=', '192.0.2.50:51821',"
    " '192.0.2.50:40001', '192.0.2.9:51820', 0, strftime('%%s','now') - 60, 'direct');";

/* status of the live interface, `watch` never having run: the peer, as WireGuard has it. */
static void test_live_peer_without_watch(void **state)
{
	(void)state;
	char db[600];
	struct stat st;

	/* No database at all: status shows WireGuard and creates none. */
	char a[64];
	assert_int_equal(wgrelay("status a/b"), 2); /* not an interface name: usage */
	snprintf(a, sizeof(a), "status %s", ifc);
	assert_int_equal(wgrelay(a), 0);
	print_message("%s", out);
	assert_non_null(strstr(out, "relay fallback not enabled"));
	char want[256];
	snprintf(want, sizeof(want), "  peer %s\n    endpoint: 192.0.2.9:51820\n", peer);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "    path: direct\n"));
	snprintf(db, sizeof(db), "%s/db/wgrelay.db", dir);
	assert_int_not_equal(stat(db, &st), 0);

	/* Enabled, watch not running: the live peer is there (it was "peers": []). */
	snprintf(a, sizeof(a), "configure-relay --enable %s", ifc);
	assert_int_equal(wgrelay(a), 0);
	snprintf(a, sizeof(a), "status %s --json", ifc);
	assert_int_equal(wgrelay(a), 0);
	snprintf(want, sizeof(want), "{\"peer\": \"%s\", \"endpoint\": \"192.0.2.9:51820\"", peer);
	assert_non_null(strstr(out, want));
	assert_non_null(strstr(out, "\"path\": \"direct\""));
	assert_non_null(strstr(out, "\"state\": \"never\""));
	assert_null(strstr(out, "-1"));
	snprintf(a, sizeof(a), "status %s dump", ifc);
	assert_int_equal(wgrelay(a), 0);
	snprintf(want, sizeof(want), "%s\t%s\tdirect\t(none)\t(none)\t192.0.2.9:51820\t", ifc,
	         peer);
	assert_non_null(strstr(out, want));
	/* The overview lists it too (with whatever other WireGuard interfaces there are). */
	wgrelay("status");
	snprintf(want, sizeof(want), "interface %s: relay fallback enabled", ifc);
	assert_non_null(strstr(out, want));
}

/*
 * The record says relayed, but the helper put WireGuard back on the direct endpoint (its
 * restore deletes the session row) and `configure-relay --disable` followed: status says
 * direct (the record used to win and keep it "relayed"). status never writes the database.
 */
static void test_disable_not_relayed(void **state)
{
	(void)state;
	char q[2048], a[128], before[512], after[512];

	snprintf(a, sizeof(a), "configure-relay --enable %s", ifc);
	assert_int_equal(wgrelay(a), 0);
	snprintf(q, sizeof(q), relayed_rows, ifc, peer);
	sql(q);
	snprintf(a, sizeof(a), "configure-relay --disable %s", ifc);
	assert_int_equal(wgrelay(a), 0);
	db_state("db", before, sizeof(before));
	snprintf(a, sizeof(a), "status %s", ifc);
	assert_int_equal(wgrelay(a), 0);
	print_message("%s", out);
	assert_null(strstr(out, "path: relayed"));
	assert_non_null(strstr(out, "    path: direct\n"));
	assert_non_null(strstr(out, "endpoint: 192.0.2.9:51820\n"));
	snprintf(a, sizeof(a), "status %s dump", ifc);
	assert_int_equal(wgrelay(a), 0);
	assert_null(strstr(out, "\trelayed\t"));
	assert_non_null(strstr(out, "\tdirect\t"));
	snprintf(a, sizeof(a), "status %s --json", ifc);
	assert_int_equal(wgrelay(a), 0);
	assert_non_null(strstr(out, "\"path\": \"direct\""));
	assert_null(strstr(out, "\"path\": \"relayed\""));
	db_state("db", after, sizeof(after));
	assert_string_equal(before, after);
}

/* WireGuard on the recorded session port: relayed, with the record's relay, since and why. */
static void test_relayed_on_session_port(void **state)
{
	(void)state;
	char q[2048], a[128];

	snprintf(a, sizeof(a), "configure-relay --enable %s", ifc);
	assert_int_equal(wgrelay(a), 0);
	snprintf(q, sizeof(q), session_row, ifc, peer);
	sql(q);
	sh("ip netns exec %s wg set %s peer '%s' endpoint 192.0.2.50:40001", ns, ifc, peer);
	snprintf(a, sizeof(a), "status %s", ifc);
	int rc = wgrelay(a);
	sh("ip netns exec %s wg set %s peer '%s' endpoint 192.0.2.9:51820", ns, ifc, peer);
	sql("DELETE FROM relay_sessions");
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "endpoint: 192.0.2.50:40001 (a relay's session port)\n"));
	assert_non_null(strstr(out, "path: relayed via 192.0.2.50:51821 (RELAYREL...), direct "
	                            "mode, since 6"));
	/* From a helper that is not running: marked stale. */
	assert_non_null(
	    strstr(out, "    why: 2 handshake windows failed on 192.0.2.9:51820 (stale)\n"));
	assert_non_null(strstr(out, "    direct endpoint: 192.0.2.9:51820\n"));
}

/* An unknown interface and one that is not WireGuard: exit 1, saying which. */
static void test_unknown_and_foreign(void **state)
{
	(void)state;
	assert_int_equal(wgrelay("status nosuch0"), 1);
	assert_non_null(strstr(out, "status: nosuch0: no such interface"));
	assert_int_equal(wgrelay("status lo"), 1);
	assert_non_null(strstr(out, "status: lo: not a WireGuard interface"));
	assert_int_equal(wgrelay("status --json lo"), 1);
}

/* show-key never makes the key; it prints the public half of the one watch made. */
static void test_show_key(void **state)
{
	(void)state;
	char kp[600], want[128];
	struct stat st;

	assert_int_equal(wgrelay("show-key"), 1);
	assert_non_null(strstr(out, "no key yet: it is created by the first `wgrelay watch`"));
	snprintf(kp, sizeof(kp), "%s/db/helper.key", dir);
	assert_int_not_equal(stat(kp, &st), 0);
	sh("mkdir -p '%s/db' && (umask 077 && wg genkey >'%s')", dir, kp);
	char cmd[800];
	snprintf(cmd, sizeof(cmd), "wg pubkey <'%s'", kp);
	assert_int_equal(capture(cmd), 0);
	assert_int_equal(strlen(out), 45);
	memcpy(want, out, 46);
	assert_int_equal(wgrelay("show-key"), 0);
	assert_string_equal(out, want);
	assert_int_equal(wgrelay("show-key extra"), 2);
}

/* On a terminal, through script(1): the whole text, ages, keys, names and ports masked. */
static void test_terminal(void **state)
{
	(void)state;
	char cmd[4096], inner[2048];
	const char *bin = getenv("WGRELAY_BIN");

	if (system("command -v script >/dev/null 2>&1") != 0)
		skip();
	sh("mkdir -p '%s/tty' && (umask 077 && wg genkey >'%s/tty/helper.key')", dir, dir);
	snprintf(inner, sizeof(inner), "configure-relay --enable %s", ifc);
	assert_int_equal(wgrelay_db("tty", inner), 0);

	static const char *const cmds[] = {"status %s", "doctor %s"};
	static const char *const want[] = {
	    "helper: not running (never ran on this database: `wgrelay watch` or systemctl "
	    "start wgrelay)\n"
	    "interface <IFACE>: relay fallback enabled, mode direct, threshold 1 attempts, mtu "
	    "auto, prebind 2\n"
	    "  wireguard: userspace, public key <KEY>, listening port <PORT>, 1 peer\n"
	    "  peer <KEY>\n"
	    "    endpoint: 192.0.2.9:51820\n"
	    "    latest handshake: never\n"
	    "    transfer: <N> B received, <N> B sent\n"
	    "    path: direct\n"
	    "    next: none while the helper is not running\n"
	    "exit 0\n",
	    "OK    running as root\n"
	    "<DATABASE LINE>\n"
	    "WARN  helper not running (never ran on this database): systemctl enable --now "
	    "wgrelay\n"
	    "OK    identity key <DIR>/tty/helper.key: public key <KEY>\n"
	    "OK    <IFACE>: WireGuard (userspace, wireguard-go), 1 peer\n"
	    "OK    <IFACE>: no <DIR>/<IFACE>.conf (not a wg-quick interface)\n"
	    "OK    <IFACE>: MTU 1420: direct mode adds no bytes\n"
	    "FAIL  no relay known: wgrelay add-bootstrap-relay ENDPOINT PUBKEY (or Bootstrap in "
	    "wgrelay.conf)\n"
	    "WARN  no GeoIP database at <DIR>/none.mmdb: relays are ranked without distances "
	    "(install GeoLite2-City.mmdb or dbip-city-lite.mmdb in /usr/share/GeoIP, or --geoip "
	    "FILE)\n"
	    "exit 1\n",
	};
	for (size_t i = 0; i < 2; i++) {
		char args[128];
		snprintf(args, sizeof(args), cmds[i], ifc);
		snprintf(inner, sizeof(inner),
		         "ip netns exec %s env WGRELAY_DB=%s/tty/wgrelay.db "
		         "WGRELAY_GEOIP=%s/none.mmdb WGRELAY_CONFIG=%s/none.conf "
		         "WGRELAY_WG_CONF_DIR=%s %s %s; echo exit $?",
		         ns, dir, dir, dir, dir, bin ? bin : "wgrelay", args);
		/* script runs the command on a pseudo-terminal; \r\n back to \n, then masks. */
		snprintf(cmd, sizeof(cmd),
		         "script -q -e -c '%s' /dev/null </dev/null | tr -d '\\r' | sed -E"
		         " -e 's#%s#<DIR>#g' -e 's#%s#<IFACE>#g'"
		         " -e 's#[A-Za-z0-9+/]{43}=#<KEY>#g'"
		         " -e 's#listening port [0-9]+#listening port <PORT>#'"
		         " -e 's#[0-9.]+ (K|M|G)?i?B (received|sent)#<N> B \\2#g'"
		         " -e 's#^(OK|WARN|FAIL) +database .*#<DATABASE LINE>#'",
		         inner, dir, ifc);
		capture(cmd);
		print_message("%s", out);
		assert_string_equal(out, want[i]);
	}
}

static bool have(const char *prog)
{
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", prog);
	return system(cmd) == 0;
}

static void cleanup(void)
{
	char cmd[512];
	if (wg_pid > 0) {
		kill(wg_pid, SIGTERM);
		for (int i = 0; i < 50 && waitpid(wg_pid, NULL, WNOHANG) == 0; i++)
			usleep(20000);
		kill(wg_pid, SIGKILL);
		waitpid(wg_pid, NULL, WNOHANG);
		wg_pid = 0;
	}
	if (ns[0]) {
		snprintf(cmd, sizeof(cmd),
		         "ip netns pids %s 2>/dev/null | xargs -r kill 2>/dev/null;"
		         " ip netns del %s 2>/dev/null; rm -f /var/run/wireguard/%s.sock",
		         ns, ns, ifc);
		if (system(cmd) != 0)
			fprintf(stderr, "cleanup of %s failed\n", ns);
		ns[0] = '\0';
	}
	if (dir[strlen(dir) - 1] != 'X') {
		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", dir);
	}
}

static void on_signal(int sig)
{
	cleanup();
	signal(sig, SIG_DFL);
	raise(sig);
}

static int setup(void **state)
{
	char sock[128], cmd[800];
	(void)state;

	if (!mkdtemp(dir))
		return -1;
	snprintf(ns, sizeof(ns), "wgrst%d", (int)getpid());
	snprintf(ifc, sizeof(ifc), "wgrs%d", (int)getpid() % 1000000);
	if (system("true") != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "ip netns add %s && ip -n %s link set lo up", ns, ns);
	if (system(cmd) != 0) {
		ns[0] = '\0';
		return -1;
	}
	wg_pid = fork();
	if (wg_pid == 0) {
		setenv("WG_PROCESS_FOREGROUND", "1", 1);
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0) {
			dup2(null, 1);
			dup2(null, 2);
		}
		execlp("ip", "ip", "netns", "exec", ns, "wireguard-go", "-f", ifc, (char *)NULL);
		_exit(127);
	}
	snprintf(sock, sizeof(sock), "/var/run/wireguard/%s.sock", ifc);
	for (int i = 0; i < 100 && access(sock, F_OK) != 0; i++)
		usleep(50000);
	if (access(sock, F_OK) != 0)
		return -1;
	snprintf(
	    cmd, sizeof(cmd),
	    "umask 077 && wg genkey >'%s/dev.key' && wg genkey | wg pubkey >'%s/peer.pub'"
	    " && ip netns exec %s wg set %s private-key '%s/dev.key' peer \"$(cat '%s/peer.pub')\""
	    " endpoint 192.0.2.9:51820 allowed-ips 10.97.0.2/32 && ip -n %s link set %s up",
	    dir, dir, ns, ifc, dir, dir, ns, ifc);
	if (system(cmd) != 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "cat '%s/peer.pub'", dir);
	if (capture(cmd) != 0)
		return -1;
	snprintf(peer, sizeof(peer), "%.44s", out);
	snprintf(cmd, sizeof(cmd), "wg pubkey <'%s/dev.key'", dir);
	if (capture(cmd) != 0)
		return -1;
	snprintf(devkey, sizeof(devkey), "%.44s", out);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	cleanup();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_live_peer_without_watch),
	    cmocka_unit_test(test_disable_not_relayed),
	    cmocka_unit_test(test_relayed_on_session_port),
	    cmocka_unit_test(test_unknown_and_foreign),
	    cmocka_unit_test(test_show_key),
	    cmocka_unit_test(test_terminal),
	};

	if (geteuid() != 0 || !have("ip") || !have("wireguard-go") || !have("wg") ||
	    !have("sqlite3")) {
		printf("skip: needs root, ip, wireguard-go, wg and sqlite3\n");
		return 77;
	}
	atexit(cleanup);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	return cmocka_run_group_tests(tests, setup, teardown);
}
