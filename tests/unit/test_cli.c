/* test_cli.c: the real wgrelay binary against a scratch database: parsing, exit codes, output. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

static char dir[] = "/tmp/wgr-test-cli-XXXXXX";
static char out[16384];
static const char key[] = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";

/* Run `wgrelay ARGS` with the scratch db; stdout+stderr into out; returns the exit code. */
static int run(const char *args)
{
	char cmd[2048];
	const char *bin = getenv("WGRELAY_BIN");
	snprintf(cmd, sizeof(cmd),
	         "WGRELAY_DB='%s/db/wgrelay.db' WGRELAY_GEOIP='%s/none.mmdb' "
	         "WGRELAY_CONFIG='%s/wgrelay.conf' WGRELAY_WG_CONF_DIR='%s' '%s' %s 2>&1",
	         dir, dir, dir, dir, bin ? bin : "wgrelay", args);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void test_help_and_usage(void **state)
{
	(void)state;
	assert_int_equal(run("--help"), 0);
	assert_non_null(strstr(out, "list-relays"));
	assert_non_null(strstr(out, "WGRELAY_DB"));
	assert_non_null(strstr(out, "Exit status"));
	static const char *const cmds[] = {"watch",
	                                   "status",
	                                   "list-relays",
	                                   "configure-relay",
	                                   "add-bootstrap-relay",
	                                   "remove-bootstrap-relay",
	                                   "start-relay"};
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		char a[64];
		snprintf(a, sizeof(a), "%s --help", cmds[i]);
		assert_int_equal(run(a), 0);
		assert_non_null(strstr(out, "Usage: wgrelay"));
		assert_non_null(strstr(out, cmds[i]));
	}
	assert_int_equal(run(""), 2);
	assert_int_equal(run("frobnicate"), 2);
	assert_non_null(strstr(out, "unknown command 'frobnicate'"));
	assert_int_equal(run("--bogus status"), 2);
	assert_int_equal(run("add-bootstrap-relay 192.0.2.1:51821"), 2);
	assert_int_equal(
	    run("add-bootstrap-relay nonsense:port HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="),
	    2);
	assert_int_equal(run("add-bootstrap-relay 192.0.2.1:51821 notakey"), 2);
	assert_int_equal(run("configure-relay --enable"), 2);
	assert_int_equal(run("configure-relay --enable --disable wg0"), 2);
	assert_int_equal(run("configure-relay --mode fast wg0"), 2);
	assert_int_equal(run("configure-relay --mtu 12 wg0"), 2);
	assert_int_equal(run("configure-relay --enable bad/name"), 2);
	assert_int_equal(run("status --json dump"), 2);
	assert_int_equal(run("start-relay --port 70000"), 2);
	assert_int_equal(run("watch -x"), 2);
}

static void test_bootstrap_and_list(void **state)
{
	(void)state;
	char a[256];
	/* A closed loopback port: the relay is listed unreachable. */
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t sl = sizeof(sin);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
	close(s);
	snprintf(a, sizeof(a), "add-bootstrap-relay 127.0.0.1:%u %s", ntohs(sin.sin_port), key);
	assert_int_equal(run(a), 0);
	assert_int_equal(run("list-relays --timeout 200"), 0);
	assert_non_null(strstr(out, "ENDPOINT"));
	assert_non_null(strstr(out, "unreachable"));
	assert_non_null(strstr(out, "bootstrap"));
	assert_int_equal(run("list-relays --json --no-probe"), 0);
	assert_non_null(strstr(out, "\"status\": \"unreachable\""));
	assert_non_null(strstr(out, key));
	assert_non_null(strstr(out, "\"rtt_ms\": -1"));
	/* Default port. */
	assert_int_equal(run("add-bootstrap-relay 192.0.2.10 "
	                     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
	                 0);
	assert_int_equal(run("list-relays --no-probe"), 0);
	assert_non_null(strstr(out, "192.0.2.10:51821"));
	assert_int_equal(run("remove-bootstrap-relay 192.0.2.10:51821"), 0);
	assert_int_equal(run("remove-bootstrap-relay 192.0.2.10:51821"), 1);
	assert_int_equal(run("remove-bootstrap-relay HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw="),
	                 0);
	assert_int_equal(run("list-relays --json"), 0);
	assert_string_equal(out, "[]\n");

	struct stat st;
	char db[600];
	snprintf(db, sizeof(db), "%s/db/wgrelay.db", dir);
	assert_int_equal(stat(db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_configure_and_status(void **state)
{
	(void)state;
	assert_int_equal(run("status"), 0);
	assert_non_null(strstr(out, "no interface configured"));
	assert_int_equal(run("configure-relay --enable wgt0 --threshold-windows 3 --prebind 1 "
	                     "--mtu 1380"),
	                 0);
	assert_non_null(strstr(out, "interface wgt0: relay fallback enabled, mode direct, "
	                            "threshold 3 windows, mtu 1380, prebind 1"));
	/* Options alone keep the rest. */
	assert_int_equal(run("configure-relay wgt0 --mode sealed"), 0);
	assert_non_null(strstr(out, "enabled, mode sealed, threshold 3"));
	assert_int_equal(run("status wgt0"), 0);
	assert_non_null(strstr(out, "interface wgt0: relay fallback enabled"));
	assert_non_null(strstr(out, "no peer state yet"));
	assert_int_equal(run("status --json"), 0);
	assert_non_null(strstr(out, "\"name\": \"wgt0\", \"enabled\": true, \"mode\": \"sealed\", "
	                            "\"threshold_windows\": 3, \"mtu\": 1380, \"prebind\": 1"));
	assert_int_equal(run("status dump"), 0);
	assert_string_equal(out, "");
	/* A peer relayed in sealed mode, as `watch` writes it: status shows the mode. */
	char cmd[900];
	snprintf(cmd, sizeof(cmd),
	         "sqlite3 '%s/db/wgrelay.db' \"INSERT INTO peers(iface, peer, path, relay_pubkey,"
	         " relay_endpoint, endpoint, since, updated, why, mode) VALUES('wgt0', 'PEERKEY',"
	         " 'relayed', 'RELAYKEYRELAYKEY', '203.0.113.7:51821', '198.51.100.7:51820', 1, 1,"
	         " 'why', 'sealed')\" 2>/dev/null",
	         dir);
	if (system(cmd) == 0) {
		assert_int_equal(run("status wgt0"), 0);
		assert_non_null(
		    strstr(out, "path: relayed via 203.0.113.7:51821 (RELAYKEY...), sealed mode"));
		assert_int_equal(run("status --json"), 0);
		assert_non_null(strstr(out, "\"path\": \"relayed\", \"mode\": \"sealed\""));
		assert_int_equal(run("status dump"), 0);
		assert_non_null(strstr(out, "\twhy\tsealed\n"));
	}
	assert_int_equal(run("configure-relay --disable wgt0"), 0);
	assert_non_null(strstr(out, "relay fallback disabled"));

	/* SaveConfig = true in the wg-quick file draws a warning. */
	char path[600];
	snprintf(path, sizeof(path), "%s/wgt1.conf", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("[Interface]\nPrivateKey = x\nSaveConfig = true\n", f);
	fclose(f);
	assert_int_equal(run("configure-relay --enable wgt1"), 0);
	assert_non_null(strstr(out, "SaveConfig = true"));
}

static void test_start_relay_mapping(void **state)
{
	(void)state;
	assert_int_equal(run("start-relay --dry-run --port 5000 --max-connections 7 "
	                     "--max-bandwidth 300 -- --auth keys"),
	                 0);
	assert_non_null(strstr(out, "wgrelayd -f --listen 0.0.0.0:5000 --max-circuits 7 "
	                            "--max-bandwidth 300 --auth keys"));
}

static void test_config_file(void **state)
{
	(void)state;
	char path[600], a[700];
	snprintf(path, sizeof(path), "%s/wgrelay.conf", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("[Relay]\nBootstrap = 192.0.2.77:51821 "
	      "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\n",
	      f);
	fclose(f);
	assert_int_equal(run("list-relays --no-probe"), 0);
	assert_non_null(strstr(out, "192.0.2.77:51821"));
	assert_non_null(strstr(out, "config"));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[Relay]\nBootstrap = 192.0.2.77:51821\n", f);
	fclose(f);
	assert_int_equal(run("status"), 1);
	assert_non_null(strstr(out, "wgrelay.conf:2: Bootstrap wants 'ENDPOINT PUBKEY'"));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[Helper]\nColour = blue\n", f);
	fclose(f);
	assert_int_equal(run("status"), 1);
	assert_non_null(strstr(out, "wgrelay.conf:2:"));
	unlink(path);
	/* Missing is fine, unless named with --config. */
	assert_int_equal(run("status"), 0);
	snprintf(a, sizeof(a), "--config '%s' status", path);
	assert_int_equal(run(a), 1);
}

static void test_corrupt_db_keeps_running(void **state)
{
	(void)state;
	char db[600], cmd[800];
	snprintf(db, sizeof(db), "%s/db/wgrelay.db", dir);
	unlink(db);
	snprintf(cmd, sizeof(cmd), "%s-wal", db);
	unlink(cmd);
	snprintf(cmd, sizeof(cmd), "%s-shm", db);
	unlink(cmd);
	FILE *f = fopen(db, "w");
	assert_non_null(f);
	fputs("this is not a database at all, just some bytes on disk", f);
	fclose(f);
	assert_int_equal(run("status"), 0);
	assert_non_null(strstr(out, "moved"));
	assert_non_null(strstr(out, "no interface configured"));
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
	    cmocka_unit_test(test_help_and_usage),
	    cmocka_unit_test(test_bootstrap_and_list),
	    cmocka_unit_test(test_configure_and_status),
	    cmocka_unit_test(test_start_relay_mapping),
	    cmocka_unit_test(test_config_file),
	    cmocka_unit_test(test_corrupt_db_keeps_running),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
