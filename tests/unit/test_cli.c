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
#include <signal.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "addr.h"
#include "frame.h"

static char dir[] = "/tmp/wgr-test-cli-XXXXXX";
static char out[16384];
static const char key[] = "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=";

/*
 * Run `wgrelay ARGS` with the scratch db; stdout and (when merge) stderr into out; returns the
 * exit code.
 */
static int run_to(const char *args, bool merge)
{
	char cmd[2048];
	const char *bin = getenv("WGRELAY_BIN");
	snprintf(cmd, sizeof(cmd),
	         "WGRELAY_DB='%s/db/wgrelay.db' WGRELAY_GEOIP='%s/none.mmdb' "
	         "WGRELAY_CONFIG='%s/wgrelay.conf' WGRELAY_WG_CONF_DIR='%s' WG_UAPI_DIR='%s/uapi' "
	         "'%s' %s %s",
	         dir, dir, dir, dir, dir, bin ? bin : "wgrelay", args,
	         merge ? "2>&1" : "2>/dev/null");
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(out, 1, sizeof(out) - 1, p);
	out[n] = '\0';
	int st = pclose(p);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int run(const char *args)
{
	return run_to(args, true);
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
	assert_non_null(strstr(out, "add-bootstrap-relay: public key 'notakey'"));
	assert_int_equal(run("configure-relay --enable"), 2);
	assert_int_equal(run("configure-relay --enable --disable wg0"), 2);
	assert_int_equal(run("configure-relay --mode fast wg0"), 2);
	assert_int_equal(run("configure-relay --mtu 12 wg0"), 2);
	/* A bad value names its option and range, in one line, not the whole help. */
	assert_int_equal(run("configure-relay --mtu 20 wg0"), 2);
	assert_string_equal(out, "configure-relay: --mtu 20: out of range 1280..9000\n"
	                         "see 'wgrelay configure-relay --help'\n");
	assert_int_equal(run("configure-relay --mtu 1279 wg0"), 2);
	assert_int_equal(run("configure-relay --mtu jumbo wg0"), 2);
	assert_non_null(strstr(out, "--mtu jumbo: not auto, off or a number 1280..9000"));
	assert_int_equal(run("configure-relay --prebind 9 wg0"), 2);
	assert_non_null(strstr(out, "--prebind 9: out of range 1..8"));
	assert_int_equal(run("configure-relay --threshold-windows 1001 wg0"), 2);
	assert_non_null(strstr(out, "--threshold-windows 1001: out of range 0..1000"));
	assert_int_equal(run("configure-relay --mode fast wg0"), 2);
	assert_non_null(strstr(out, "--mode fast: not direct or sealed"));
	/* Circuits: hops 0..4, a strategy pathsel knows, two-letter countries, 16 at most. */
	assert_int_equal(run("configure-relay --hops 5 wg0"), 2);
	assert_string_equal(out, "configure-relay: --hops 5: out of range 0..4\n"
	                         "see 'wgrelay configure-relay --help'\n");
	assert_int_equal(run("configure-relay --hops two wg0"), 2);
	assert_non_null(strstr(out, "--hops two: not a number 0..4"));
	assert_int_equal(run("configure-relay --strategy slow wg0"), 2);
	assert_non_null(strstr(out, "--strategy slow: not balanced, fast or anonymous"));
	assert_int_equal(run("configure-relay --exclude-country D1 wg0"), 2);
	assert_non_null(strstr(out, "--exclude-country D1: 'D1' is not a two-letter country code"));
	assert_int_equal(run("configure-relay --exclude-country DE,FRA wg0"), 2);
	assert_non_null(strstr(out, "'FRA' is not a two-letter"));
	assert_int_equal(run("configure-relay --exclude-country DE, wg0"), 2);
	assert_int_equal(run("configure-relay --exclude-country AA,BB,CC,DD,EE,FF,GG,HH "
	                     "--exclude-country II,JJ,KK,LL,MM,NN,OO,PP,QQ wg0"),
	                 2);
	assert_non_null(strstr(out, "--exclude-country: more than 16 countries"));
	assert_null(strstr(out, "Usage:"));
	assert_int_equal(run("configure-relay --bogus wg0"), 2);
	assert_non_null(strstr(out, "unknown option '--bogus'"));
	assert_int_equal(run("configure-relay wg0 --mtu"), 2);
	assert_non_null(strstr(out, "option '--mtu' needs a value"));
	assert_int_equal(run("configure-relay wg0 wg1"), 2);
	assert_int_equal(run("configure-relay --remove --enable wg0"), 2);
	assert_int_equal(run("list-relays --timeout 1"), 2);
	assert_string_equal(out, "list-relays: --timeout 1: out of range 10..60000\n"
	                         "see 'wgrelay list-relays --help'\n");
	assert_int_equal(run("list-relays --timeout soon"), 2);
	assert_non_null(strstr(out, "--timeout soon: not a number 10..60000"));
	assert_int_equal(run("list-relays extra"), 2);
	assert_int_equal(run("start-relay --max-connections 0"), 2);
	assert_non_null(strstr(out, "--max-connections 0: out of range 1..1000000000"));
	assert_int_equal(run("frobnicate"), 2);
	assert_null(strstr(out, "Usage:"));
	assert_non_null(strstr(out, "see 'wgrelay --help'"));
	assert_int_equal(run("configure-relay --enable bad/name"), 2);
	assert_int_equal(run("status --json dump"), 2);
	assert_int_equal(run("start-relay --port 70000"), 2);
	assert_non_null(strstr(out, "start-relay: --port 70000: out of range 1..65535"));
	assert_int_equal(run("watch -x"), 2);
	assert_int_equal(run("watch --restore-on-exit --bogus"), 2);
	assert_non_null(strstr(out, "watch: unknown option '--bogus'"));
	assert_int_equal(run("watch --help"), 0);
	assert_non_null(strstr(out, "--restore-on-exit"));
	assert_non_null(strstr(out, "SIGUSR1"));
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
	/* Loopback only when asked for. */
	snprintf(a, sizeof(a), "add-bootstrap-relay 127.0.0.1:%u %s", ntohs(sin.sin_port), key);
	assert_int_equal(run(a), 2);
	assert_non_null(strstr(out, "loopback"));
	snprintf(a, sizeof(a), "add-bootstrap-relay --allow-loopback 127.0.0.1:%u %s",
	         ntohs(sin.sin_port), key);
	assert_int_equal(run(a), 0);
	assert_non_null(strstr(out, "added relay"));
	/* No relay answers: listed, and exit status 1. */
	assert_int_equal(run("list-relays --timeout 200"), 1);
	assert_non_null(strstr(out, "ENDPOINT"));
	assert_non_null(strstr(out, "unreachable"));
	assert_non_null(strstr(out, "bootstrap"));
	assert_non_null(strstr(out, "list-relays: no relay answered"));
	assert_int_equal(run("list-relays --json --no-probe"), 0);
	assert_non_null(strstr(out, "\"status\": \"unreachable\""));
	assert_non_null(strstr(out, key));
	/* Unknown is null, never -1 or "". */
	assert_non_null(strstr(out, "\"rtt_ms\": null"));
	assert_null(strstr(out, "-1"));
	assert_null(strstr(out, "\"\""));
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
	assert_int_equal(run("list-relays --json --no-probe"), 0);
	assert_string_equal(out, "[]\n");
	/* Probing none: nothing can answer. */
	assert_int_equal(run("list-relays --json"), 1);
	assert_non_null(strstr(out, "no relay known"));

	struct stat st;
	char db[600];
	snprintf(db, sizeof(db), "%s/db/wgrelay.db", dir);
	assert_int_equal(stat(db, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_configure(void **state)
{
	(void)state;
	/* wgt0 does not exist: recorded with --force (test_iface_checks has the refusals). */
	assert_int_equal(run("configure-relay --enable --force wgt0 --threshold-windows 3 "
	                     "--prebind 1 --mtu 1380"),
	                 0);
	assert_non_null(strstr(out, "interface wgt0: relay fallback enabled, mode direct, "
	                            "threshold 3 attempts, mtu 1380, prebind 1"));
	/* Options alone keep the rest. */
	assert_int_equal(run("configure-relay wgt0 --mode sealed"), 0);
	assert_non_null(strstr(out, "enabled, mode sealed, threshold 3"));
	assert_int_equal(run("configure-relay --disable wgt0"), 0);
	assert_non_null(strstr(out, "relay fallback disabled"));

	/* Circuits: the settings, shown under the interface's line. */
	assert_int_equal(run("configure-relay wgt0 --hops 2 --strategy Anonymous "
	                     "--exclude-country de,FR --exclude-country NL,de"),
	                 0);
	assert_non_null(strstr(out, "prebind 1\n  circuits: 2 hops (anonymous builds 3), strategy "
	                            "anonymous, excluded countries DE,FR,NL\n"));
	/* More add to the list; an error writes nothing, not even the valid options before it. */
	assert_int_equal(run("configure-relay wgt0 --exclude-country it --hops 3"), 0);
	assert_non_null(strstr(out, "  circuits: 3 hops, strategy anonymous, excluded countries "
	                            "DE,FR,NL,IT\n"));
	assert_int_equal(run("configure-relay wgt0 --hops 1 --exclude-country XX,D1"), 2);
	assert_int_equal(run("configure-relay wgt0 --hops 1 --exclude-country "
	                     "AA,BB,CC,DD,EE,FF,GG,HH,II,JJ,KK,LL,MM"),
	                 2);
	assert_non_null(strstr(out, "wgt0 would exclude more than 16 countries"));
	assert_int_equal(run("configure-relay wgt0"), 0);
	assert_non_null(strstr(out, "  circuits: 3 hops, strategy anonymous, excluded countries "
	                            "DE,FR,NL,IT\n"));
	/* none clears (what comes after it adds again); --hops 0 turns circuits off. */
	assert_int_equal(run("configure-relay wgt0 --exclude-country none --hops 0 "
	                     "--strategy fast"),
	                 0);
	assert_non_null(strstr(out, "  circuits: off, strategy fast, excluded countries none\n"));
	assert_int_equal(run("configure-relay wgt0 --exclude-country SE --exclude-country none "
	                     "--exclude-country ch --hops 1"),
	                 0);
	assert_non_null(strstr(out, "  circuits: 1 hop, strategy fast, excluded countries CH\n"));
	/* status shows them under the interface too (it is not WireGuard: no peers). */
	assert_int_equal(run("status --json"), 0);
	assert_non_null(strstr(out, "\"hops\": 1, \"strategy\": \"fast\", "
	                            "\"exclude_country\": [\"CH\"]"));

	/* SaveConfig = true in the wg-quick file draws a warning. */
	char path[600];
	snprintf(path, sizeof(path), "%s/wgt1.conf", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("[Interface]\nPrivateKey = x\nSaveConfig = true\n", f);
	fclose(f);
	assert_int_equal(run("configure-relay --enable --force wgt1"), 0);
	assert_non_null(strstr(out, "SaveConfig = true"));
	assert_int_equal(run("configure-relay --remove wgt0"), 0);
	assert_int_equal(run("configure-relay --remove wgt1"), 0);
}

/*
 * status reads the cache read-only: with none, it makes none (its output is test_status's and
 * test_status_live's; on a damaged cache, test_corrupt_db_read_only's).
 */
static void test_status_read_only(void **state)
{
	(void)state;
	char cmd[700];
	struct stat st;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/db'", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(run("status"), 0);
	assert_non_null(strstr(out, "no interface configured"));
	snprintf(cmd, sizeof(cmd), "%s/db/wgrelay.db", dir);
	assert_int_equal(stat(cmd, &st), -1);
}

static void test_start_relay_mapping(void **state)
{
	(void)state;
	assert_int_equal(run("start-relay --dry-run --port 5000 --max-connections 7 "
	                     "--max-bandwidth 300 -- --auth keys"),
	                 0);
	/* --port listens on IPv4 and IPv6, as wgrelayd's own default does. */
	assert_non_null(strstr(out, "wgrelayd -f --listen 0.0.0.0:5000 --listen [::]:5000 "
	                            "--max-circuits 7 --max-bandwidth 300 --auth keys\n"));
	/* What is not given is left to wgrelayd's own defaults (512 circuits, no cap). */
	assert_int_equal(run("start-relay --dry-run"), 0);
	assert_true(strlen(out) >= 12 && strcmp(out + strlen(out) - 12, "wgrelayd -f\n") == 0);
	/* 0 is wgrelayd's "no cap", passed on. */
	assert_int_equal(run("start-relay --dry-run --max-bandwidth 0"), 0);
	assert_non_null(strstr(out, "wgrelayd -f --max-bandwidth 0\n"));
	/* Words before "--" are not wgrelayd's. */
	assert_int_equal(run("start-relay --dry-run extra"), 2);
	assert_non_null(strstr(out, "unexpected argument 'extra'"));
	assert_int_equal(run("start-relay extra --dry-run"), 2);
	assert_int_equal(run("start-relay --dry-run -- 'two words'"), 0);
	assert_non_null(strstr(out, "wgrelayd -f 'two words'\n"));
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
	/* wgrelayd's [Network] Peer grammar (bootline.h): brackets, tabs, the default port. */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[Relay]\nBootstrap = [2001:db8::77]:443\t"
	      "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=\n"
	      "Bootstrap = 192.0.2.78 AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\n",
	      f);
	fclose(f);
	assert_int_equal(run("list-relays --no-probe"), 0);
	assert_non_null(strstr(out, "[2001:db8::77]:443"));
	assert_non_null(strstr(out, "192.0.2.78:51821"));
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("[Relay]\nBootstrap = 192.0.2.77:51821 "
	      "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw= extra\n",
	      f);
	fclose(f);
	assert_int_equal(run("status"), 1);
	assert_non_null(strstr(out, "wgrelay.conf:2: Bootstrap wants 'ENDPOINT PUBKEY'"));
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
	/* Missing is fine, unless named with --config, and then the reason is given. */
	assert_int_equal(run("list-relays --no-probe"), 0);
	snprintf(a, sizeof(a), "--config '%s' status", path);
	assert_int_equal(run(a), 1);
	assert_non_null(strstr(out, "wgrelay.conf: No such file or directory"));
	/* A global option after the command works as before it. */
	snprintf(a, sizeof(a), "list-relays --no-probe --config '%s'", path);
	assert_int_equal(run(a), 1);
	assert_non_null(strstr(out, "wgrelay.conf: No such file or directory"));
}

/* Every file of the scratch database, its size and content in out-of-band form. */
static void db_fingerprint(char *buf, size_t len)
{
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "cd '%s/db' && ls -A && cksum wgrelay.db", dir);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	size_t n = fread(buf, 1, len - 1, p);
	buf[n] = '\0';
	pclose(p);
}

static void write_corrupt_db(void)
{
	char db[600], cmd[800];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/db' && mkdir -m 700 '%s/db'", dir, dir);
	assert_int_equal(system(cmd), 0);
	snprintf(db, sizeof(db), "%s/db/wgrelay.db", dir);
	FILE *f = fopen(db, "w");
	assert_non_null(f);
	fputs("this is not a database at all, just some bytes on disk", f);
	fclose(f);
}

/*
 * Read-only commands leave a corrupt database as it is and exit 1 (the settings in it are not
 * lost to a look); a command that writes, like `watch`, sets it aside and starts anew.
 */
static void test_corrupt_db_read_only(void **state)
{
	(void)state;
	char before[2048], after[2048];

	write_corrupt_db();
	db_fingerprint(before, sizeof(before));
	assert_int_equal(run("list-relays --no-probe"), 1);
	assert_non_null(strstr(out, "damaged or not wgrelay's; left as it is"));
	assert_int_equal(run("list-relays --timeout 100"), 1);
	assert_int_equal(run("configure-relay wgt0"), 1);
	assert_int_equal(run("status"), 1);
	db_fingerprint(after, sizeof(after));
	assert_string_equal(before, after);
	assert_null(strstr(after, "corrupt-"));
	/* A write sets it aside, says so, and does what was asked. */
	assert_int_equal(run("configure-relay --enable --force wgt0"), 0);
	assert_non_null(strstr(out, "moved"));
	assert_non_null(strstr(out, "relay fallback enabled"));
	db_fingerprint(after, sizeof(after));
	assert_non_null(strstr(after, "wgrelay.db.corrupt-"));
	/* A missing database is an empty one to a reader, and not created by it. */
	char cmd[700];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s/db'", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(run("list-relays --no-probe"), 0);
	assert_int_equal(run("configure-relay wgt0"), 1);
	assert_non_null(strstr(out, "wgt0: not configured"));
	assert_int_equal(run("configure-relay --remove wgt0"), 1);
	struct stat st;
	snprintf(cmd, sizeof(cmd), "%s/db/wgrelay.db", dir);
	assert_int_equal(stat(cmd, &st), -1);
}

/* A userspace WireGuard interface as wg-integration sees one: its UAPI socket. */
static void fake_wg(const char *name, bool on)
{
	char path[600];
	snprintf(path, sizeof(path), "%s/uapi", dir);
	mkdir(path, 0700);
	snprintf(path, sizeof(path), "%s/uapi/%s.sock", dir, name);
	unlink(path);
	if (!on)
		return;
	int s = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sun = {.sun_family = AF_UNIX};
	assert_true(s >= 0);
	assert_true(strlen(path) < sizeof(sun.sun_path));
	memcpy(sun.sun_path, path, strlen(path));
	assert_int_equal(bind(s, (struct sockaddr *)&sun, sizeof(sun)), 0);
	close(s);
}

/*
 * configure-relay --enable and watch IFACE want a WireGuard interface: a missing one or
 * another kind (lo is in every network namespace and never WireGuard) is exit status 1, or
 * with --force a warning; --remove forgets one.
 */
static void test_iface_checks(void **state)
{
	(void)state;
	assert_int_equal(run("configure-relay --enable nosuch0"), 1);
	assert_non_null(strstr(out, "configure-relay: nosuch0: no such interface"));
	assert_int_equal(run("configure-relay --enable lo"), 1);
	assert_non_null(strstr(out, "configure-relay: lo: not a WireGuard interface"));
	/* A first setting is checked too; a typo does not become a configured interface. */
	assert_int_equal(run("configure-relay --mode sealed nosuch0"), 1);
	assert_int_equal(run("configure-relay nosuch0"), 1);
	assert_non_null(strstr(out, "nosuch0: not configured"));
	assert_int_equal(run("watch nosuch0"), 1);
	assert_non_null(strstr(out, "watch: nosuch0: no such interface"));
	assert_int_equal(run("watch lo"), 1);
	assert_non_null(strstr(out, "watch: lo: not a WireGuard interface"));

	/* A WireGuard interface is accepted. */
	fake_wg("wgf0", true);
	assert_int_equal(run("configure-relay --enable wgf0"), 0);
	assert_non_null(strstr(out, "interface wgf0: relay fallback enabled"));
	fake_wg("wgf0", false);
	/* Gone now, but configured: disabling and tuning need no interface. */
	assert_int_equal(run("configure-relay --disable wgf0 --prebind 3"), 0);
	assert_non_null(strstr(out, "interface wgf0: relay fallback disabled"));
	/* Enabling again does. */
	assert_int_equal(run("configure-relay --enable wgf0"), 1);

	/* --force records it, with a warning. */
	assert_int_equal(run("configure-relay --enable --force nosuch0"), 0);
	assert_non_null(strstr(out, "nosuch0: no such interface; recorded anyway (--force)"));
	assert_non_null(strstr(out, "interface nosuch0: relay fallback enabled"));
	/* IFACE alone shows the settings. */
	assert_int_equal(run("configure-relay nosuch0"), 0);
	assert_string_equal(out, "interface nosuch0: relay fallback enabled, mode direct, "
	                         "threshold 1 attempts, mtu auto, prebind 2\n"
	                         "  circuits: off, strategy balanced, excluded countries none\n");
	/* --remove forgets it. */
	assert_int_equal(run("configure-relay --remove nosuch0"), 0);
	assert_string_equal(out, "interface nosuch0: removed\n");
	assert_int_equal(run("configure-relay --remove nosuch0"), 1);
	assert_non_null(strstr(out, "configure-relay: nosuch0: not configured"));
	assert_int_equal(run("configure-relay nosuch0"), 1);
	assert_int_equal(run("configure-relay --remove wgf0"), 0);
}

/* Global options count after the command name as before it. */
static void test_global_options_after_command(void **state)
{
	(void)state;
	char a[900];
	snprintf(a, sizeof(a), "add-bootstrap-relay --db '%s/other.db' 192.0.2.55 %s", dir, key);
	assert_int_equal(run(a), 0);
	snprintf(a, sizeof(a), "list-relays --no-probe --db '%s/other.db'", dir);
	assert_int_equal(run(a), 0);
	assert_non_null(strstr(out, "192.0.2.55:51821"));
	snprintf(a, sizeof(a), "list-relays --no-probe --db='%s/other.db' -v", dir);
	assert_int_equal(run(a), 0);
	assert_non_null(strstr(out, "192.0.2.55:51821"));
	assert_int_equal(run("list-relays --no-probe"), 0);
	assert_null(strstr(out, "192.0.2.55"));
	assert_int_equal(run("list-relays --no-probe --db"), 2);
	assert_non_null(strstr(out, "option '--db' needs a value"));
	/* After "--" they are the command's (start-relay passes them to wgrelayd). */
	assert_int_equal(run("start-relay --dry-run -- -v --db x"), 0);
	assert_non_null(strstr(out, "wgrelayd -f -v --db x\n"));
}

/* add-bootstrap-relay says what it did and refuses endpoints that name no relay. */
static void test_bootstrap_endpoints(void **state)
{
	(void)state;
	static const char key2[] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	static const struct {
		const char *ep, *why;
	} refused[] = {
	    {"0.0.0.0:51821", "unspecified"},
	    {"[::]:51821", "unspecified"},
	    {"[::]", "unspecified"},
	    {"127.0.0.1", "loopback"},
	    {"[::1]:51821", "loopback"},
	    {"localhost:51821", "loopback"},
	    {"relay.localhost", "loopback"},
	    {"224.0.0.1:51821", "unicast"},
	    {"2001:db8::1:51821", "brackets"},
	    {"2001:db8::1", "brackets"},
	    {"192.0.2.1:0", "port"},
	    {"192.0.2.1:65536", "port"},
	    {"1.2.3.400", "not an IPv4 address"},
	    {"relay..example.org", "not an IP address or host name"},
	    {"-- -relay.example.org", "not an IP address or host name"},
	    {"relay_1.example.org", "not an IP address or host name"},
	};
	char a[700];
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		bool dd = strncmp(refused[i].ep, "-- ", 3) == 0;
		snprintf(a, sizeof(a), "add-bootstrap-relay %s'%s' %s", dd ? "-- " : "",
		         refused[i].ep + (dd ? 3 : 0), key2);
		assert_int_equal(run(a), 2);
		if (!strstr(out, refused[i].why))
			fail_msg("%s: '%s' wanted in: %s", refused[i].ep, refused[i].why, out);
		assert_non_null(strstr(out, "see 'wgrelay add-bootstrap-relay --help'"));
	}
	assert_int_equal(run("add-bootstrap-relay [2001:db8::1]:51822 AAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	                     "AAAAAAAAAAAAAA="),
	                 0);
	assert_string_equal(out, "added relay "
	                         "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="
	                         " at [2001:db8::1]:51822\n");
	assert_int_equal(run("add-bootstrap-relay '[2001:db8::1]:51822' "
	                     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
	                 0);
	assert_string_equal(out, "relay AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= at "
	                         "[2001:db8::1]:51822: unchanged\n");
	/* A host name is stored as given, with the port. */
	assert_int_equal(run("add-bootstrap-relay Relay-1.example.org "
	                     "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="),
	                 0);
	assert_string_equal(out, "moved relay AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA= from "
	                         "[2001:db8::1]:51822 to Relay-1.example.org:51821\n");
	assert_int_equal(run("list-relays --no-probe"), 0);
	assert_non_null(strstr(out, "Relay-1.example.org:51821"));
	assert_int_equal(run("remove-bootstrap-relay relay-1.example.org"), 1);
	assert_int_equal(run("remove-bootstrap-relay Relay-1.example.org"), 0);
	assert_string_equal(out, "removed bootstrap relay Relay-1.example.org:51821\n");
	assert_int_equal(run("remove-bootstrap-relay --now x"), 2);
}

/* The fake relays running, killed by the test or its teardown. */
static pid_t fakes[4];

static int kill_fakes(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(fakes) / sizeof(fakes[0]); i++)
		if (fakes[i] > 0) {
			kill(fakes[i], SIGKILL);
			waitpid(fakes[i], NULL, 0);
			fakes[i] = 0;
		}
	return 0;
}

/* A fake relay: answers every PING on fd with a PONG carrying flags, until killed. */
static pid_t fake_relay(int fd, uint16_t flags)
{
	size_t slot = 0;
	while (slot < sizeof(fakes) / sizeof(fakes[0]) - 1 && fakes[slot] > 0)
		slot++;
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid > 0) {
		close(fd);
		fakes[slot] = pid;
		return pid;
	}
	alarm(60);
	for (;;) {
		uint8_t buf[256], pong[PROTO_PONG_LEN];
		struct sockaddr_storage ss;
		socklen_t sl = sizeof(ss);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&ss, &sl);
		struct frame_pong p = {.load_permille = 250, .flags = flags};
		if (n < 0 || frame_decode_ping(buf, (size_t)n, &p.nonce) < 0)
			continue;
		addr_from_sockaddr(&p.observed, (struct sockaddr *)&ss, sl);
		frame_encode_pong(pong, &p);
		sendto(fd, pong, sizeof(pong), 0, (struct sockaddr *)&ss, sl);
	}
}

static int udp_loopback(uint16_t *port)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
	socklen_t sl = sizeof(sin);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	assert_int_equal(getsockname(s, (struct sockaddr *)&sin, &sl), 0);
	*port = ntohs(sin.sin_port);
	return s;
}

/* jq FILTER on out, as the e2e tests read JSON: 0 when it holds. */
static int jq(const char *filter)
{
	char path[600], cmd[1400];
	if (system("command -v jq >/dev/null 2>&1") != 0)
		return 0;
	snprintf(path, sizeof(path), "%s/out.json", dir);
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(out, f);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "jq -e '%s' '%s' >/dev/null", filter, path);
	return system(cmd) == 0 ? 0 : -1;
}

/*
 * list-relays: a relay in token mode refuses this helper (it has no token), one whose denial
 * `watch` recorded too; the auth mode is shown; a host name is looked up and its address shown;
 * one that is not found is "unresolved"; exit status 0 as soon as one relay answers. JSON has
 * null for what is unknown.
 */
static void test_list_relays_states(void **state)
{
	(void)state;
	static const char k_open[] = "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBA=",
	                  k_token[] = "CCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCCA=",
	                  k_keys[] = "DDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDDA=",
	                  k_gone[] = "EEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEEA=";
	char a[900], cmd[900];
	uint16_t p_open, p_token, p_keys;
	pid_t r1, r2, r3;

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/db'", dir);
	assert_int_equal(system(cmd), 0);
	r1 = fake_relay(udp_loopback(&p_open), PONG_F_DIRECT_OK | PONG_F_SEALED_OK);
	r2 = fake_relay(udp_loopback(&p_token), PONG_F_DIRECT_OK | PONG_F_AUTH_TOKEN);
	r3 = fake_relay(udp_loopback(&p_keys), PONG_F_DIRECT_OK | PONG_F_AUTH_KEYS);
	/* By name: localhost is 127.0.0.1 in /etc/hosts. */
	snprintf(a, sizeof(a), "add-bootstrap-relay --allow-loopback localhost:%u %s", p_open,
	         k_open);
	assert_int_equal(run(a), 0);
	snprintf(a, sizeof(a), "add-bootstrap-relay --allow-loopback 127.0.0.1:%u %s", p_token,
	         k_token);
	assert_int_equal(run(a), 0);
	snprintf(a, sizeof(a), "add-bootstrap-relay --allow-loopback 127.0.0.1:%u %s", p_keys,
	         k_keys);
	assert_int_equal(run(a), 0);
	snprintf(a, sizeof(a), "add-bootstrap-relay nosuch.invalid %s", k_gone);
	assert_int_equal(run(a), 0);
	/* `watch` saw the keys-mode relay deny our key on its link. */
	snprintf(cmd, sizeof(cmd),
	         "sqlite3 '%s/db/wgrelay.db' \"UPDATE relays SET status = 'denied' WHERE pubkey "
	         "= '%s'\"",
	         dir, k_keys);
	bool have_sqlite3 = system(cmd) == 0;

	assert_int_equal(run("list-relays --timeout 2000"), 0);
	print_message("%s", out);
	char line[300];
	snprintf(line, sizeof(line), "localhost:%u (127.0.0.1) BBBBBBBB ok          open", p_open);
	assert_non_null(strstr(out, line));
	snprintf(line, sizeof(line), "127.0.0.1:%u        CCCCCCCC refused     token", p_token);
	assert_non_null(strstr(out, line));
	snprintf(line, sizeof(line), "127.0.0.1:%u        DDDDDDDD %-11s keys", p_keys,
	         have_sqlite3 ? "refused" : "ok");
	assert_non_null(strstr(out, line));
	assert_non_null(strstr(out, "nosuch.invalid:51821   EEEEEEEE unresolved  -"));
	assert_non_null(strstr(out, "list-relays: nosuch.invalid:51821: "));

	assert_int_equal(run_to("list-relays --json --timeout 2000", false), 0);
	snprintf(a, sizeof(a),
	         ".[] | select(.pubkey == \"%s\") | .address == \"127.0.0.1:%u\" and .auth == "
	         "\"open\" and .status == \"ok\" and .rtt_ms >= 1 and .load_permille == 250 and "
	         ".last_seen > 0",
	         k_open, p_open);
	assert_int_equal(jq(a), 0);
	snprintf(a, sizeof(a),
	         ".[] | select(.pubkey == \"%s\") | .address == null and .auth == null and "
	         ".status == \"unresolved\" and .rtt_ms == null and .load_permille == null and "
	         ".last_seen == null and .city == null and .distance_km == null",
	         k_gone);
	assert_int_equal(jq(a), 0);
	assert_int_equal(jq("[.[] | .. | select(. == -1 or . == \"\")] | length == 0"), 0);
	snprintf(a, sizeof(a), ".[] | select(.pubkey == \"%s\") | .status == \"refused\"", k_token);
	assert_int_equal(jq(a), 0);

	/* --no-probe: what was recorded, nothing looked up. */
	assert_int_equal(run("list-relays --no-probe --json"), 0);
	snprintf(a, sizeof(a),
	         ".[] | select(.pubkey == \"%s\") | .address == null and .status == \"ok\" and "
	         ".auth == \"open\"",
	         k_open);
	assert_int_equal(jq(a), 0);

	(void)r1;
	(void)r2;
	(void)r3;
	kill_fakes(NULL);
	/* None answers now. */
	assert_int_equal(run("list-relays --timeout 100"), 1);
	assert_non_null(strstr(out, "no relay answered"));
}

/* `watch` starting up does not log a line per relay (only the count). */
static void test_watch_start_quiet(void **state)
{
	(void)state;
	char cmd[2400], log[600];
	const char *bin = getenv("WGRELAY_BIN");

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/db'", dir);
	assert_int_equal(system(cmd), 0);
	assert_int_equal(run("add-bootstrap-relay 192.0.2.99 "
	                     "FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFA="),
	                 0);
	fake_wg("wgf0", false);
	snprintf(log, sizeof(log), "%s/watch.log", dir);
	snprintf(cmd, sizeof(cmd),
	         "WGRELAY_DB='%s/db/wgrelay.db' WGRELAY_GEOIP='%s/none.mmdb' "
	         "WGRELAY_CONFIG='%s/wgrelay.conf' WG_UAPI_DIR='%s/uapi' '%s' watch >'%s' 2>&1 & "
	         "pid=$!; sleep 1.5; kill -TERM $pid; wait $pid",
	         dir, dir, dir, dir, bin ? bin : "wgrelay", log);
	int st = system(cmd);
	FILE *f = fopen(log, "r");
	assert_non_null(f);
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	print_message("%s", out);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(out, "helper running: 0 interface(s), 1 relay(s)"));
	assert_null(strstr(out, "added"));
}

/* Read the file at path into out (cut to fit); "" when it is not there (yet). */
static void slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	out[0] = '\0';
	if (!f)
		return;
	size_t n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
}

/*
 * One helper per database: a second `watch` on it exits 1 naming the first one's pid, and
 * changes nothing; once the first has stopped, a new one starts. The first one answers
 * `status` meanwhile (it is alive: the refusal is not a failure to start at all).
 */
static void test_watch_lock(void **state)
{
	(void)state;
	char cmd[4096], log[600], pidfile[600], want[900], env[1600];
	const char *bin = getenv("WGRELAY_BIN");

	snprintf(cmd, sizeof(cmd), "rm -rf '%s/db'", dir);
	assert_int_equal(system(cmd), 0);
	snprintf(env, sizeof(env),
	         "WGRELAY_DB='%s/db/wgrelay.db' WGRELAY_GEOIP='%s/none.mmdb' "
	         "WGRELAY_CONFIG='%s/wgrelay.conf' WG_UAPI_DIR='%s/uapi' '%s'",
	         dir, dir, dir, dir, bin ? bin : "wgrelay");
	snprintf(log, sizeof(log), "%s/watch1.log", dir);
	snprintf(pidfile, sizeof(pidfile), "%s/watch1.pid", dir);
	snprintf(cmd, sizeof(cmd), "%s watch >'%s' 2>&1 & echo $! >'%s'", env, log, pidfile);
	assert_int_equal(system(cmd), 0);
	for (int i = 0; i < 100; i++) {
		slurp(log);
		if (strstr(out, "helper running"))
			break;
		usleep(50000);
	}
	assert_non_null(strstr(out, "helper running"));
	slurp(pidfile);
	long pid = strtol(out, NULL, 10);
	assert_true(pid > 0);

	assert_int_equal(run("watch"), 1);
	snprintf(want, sizeof(want),
	         "another wgrelay watch (pid %ld) is running on %s/db/wgrelay.db", pid, dir);
	print_message("%s", out);
	assert_non_null(strstr(out, want));
	assert_null(strstr(out, "helper running"));
	assert_int_equal(kill((pid_t)pid, 0), 0);
	assert_int_equal(run("status --json"), 0);

	snprintf(cmd, sizeof(cmd),
	         "kill -TERM %ld; for i in $(seq 100); do kill -0 %ld 2>/dev/null || exit 0; "
	         "sleep 0.05; done; exit 1",
	         pid, pid);
	assert_int_equal(system(cmd), 0);
	slurp(log);
	assert_non_null(strstr(out, "SIGTERM: relayed peers stay on their relays"));
	/* The lock went with the process: a new helper starts (and stops on SIGUSR1). */
	snprintf(log, sizeof(log), "%s/watch2.log", dir);
	snprintf(cmd, sizeof(cmd),
	         "%s watch >'%s' 2>&1 & pid=$!; sleep 1; kill -USR1 $pid; wait $pid", env, log);
	int st = system(cmd);
	slurp(log);
	print_message("%s", out);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	assert_non_null(strstr(out, "helper running"));
	assert_non_null(strstr(out, "SIGUSR1: restoring direct endpoints"));
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
	    cmocka_unit_test(test_configure),
	    cmocka_unit_test(test_status_read_only),
	    cmocka_unit_test(test_start_relay_mapping),
	    cmocka_unit_test(test_config_file),
	    cmocka_unit_test(test_corrupt_db_read_only),
	    cmocka_unit_test(test_iface_checks),
	    cmocka_unit_test(test_global_options_after_command),
	    cmocka_unit_test(test_bootstrap_endpoints),
	    cmocka_unit_test_teardown(test_list_relays_states, kill_fakes),
	    cmocka_unit_test(test_watch_start_quiet),
	    cmocka_unit_test(test_watch_lock),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
