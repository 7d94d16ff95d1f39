/*
 * Integration tests: the files wgrelayd reads are regular files (common/file.h). A FIFO as key
 * file, config or allowlist stops the start at once with an error naming it; a FIFO as state
 * file is skipped; a FIFO swapped in before SIGHUP is refused while the relay keeps answering.
 * Errors that stop the start are printed as errors; a state file that cannot be saved on
 * SIGTERM is exit status 1; --show-public-key says the real reason a key does not load.
 *
 * Every wait is bounded: a relay that hangs is killed by PID and the test fails.
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

#include <sodium.h>

#include "key.h"
#include "tclient.h"

#include "harness.h"

/* How long a relay that should refuse to start may take to exit. */
#define EXIT_MS 3000

static char D[64];         /* this test's files */
static pid_t bg;           /* a relay started here, not by the harness */
static int saved_err = -1; /* our stderr while the harness's relay writes to D/relay.log */

static int setup(void **state)
{
	(void)state;
	strcpy(D, "/tmp/wgr-files-XXXXXX");
	bg = 0;
	return mkdtemp(D) ? 0 : -1;
}

static void log_end(void)
{
	if (saved_err < 0)
		return;
	fflush(stderr);
	dup2(saved_err, 2);
	close(saved_err);
	saved_err = -1;
}

static int teardown(void **state)
{
	char cmd[128];
	int r = 0;

	log_end();
	if (bg > 0) {
		kill(bg, SIGKILL);
		waitpid(bg, NULL, 0);
		bg = 0;
	}
	if (R.pid > 0)
		r = relay_stop(state);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", D);
	return system(cmd) == 0 ? r : -1;
}

static void path_in(char *out, size_t cap, const char *name)
{
	snprintf(out, cap, "%s/%s", D, name);
}

/* The whole of a (small) file, or "" when it cannot be read. */
static void slurp(const char *path, char *out, size_t cap)
{
	FILE *f = fopen(path, "r");
	size_t n = 0;

	if (f) {
		n = fread(out, 1, cap - 1, f);
		fclose(f);
	}
	out[n] = '\0';
}

static uint64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Wait for pid at most ms; true with *status when it exited, false (killed) when it hung. */
static bool wait_bounded(pid_t pid, int *status, int ms)
{
	uint64_t end = now_ms() + (uint64_t)ms;

	do {
		pid_t w = waitpid(pid, status, WNOHANG);

		if (w == pid)
			return true;
		usleep(10000);
	} while (now_ms() < end);
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return false;
}

/*
 * Start wgrelayd with argv (NULL-terminated, without the program), stdout into D/stdout and
 * stderr into D/stderr.
 */
static pid_t spawn(const char *const *args)
{
	const char *bin_dir = getenv("WGR_BINARY_DIR");
	char bin[512], out[128], err[128];
	char *argv[40];
	int n = 0;
	pid_t pid;

	assert_non_null(bin_dir);
	snprintf(bin, sizeof(bin), "%s/relayd/wgrelayd", bin_dir);
	path_in(out, sizeof(out), "stdout");
	path_in(err, sizeof(err), "stderr");
	argv[n++] = bin;
	for (; *args && n < 39; args++)
		assert_non_null(argv[n++] = strdup(*args));
	argv[n] = NULL;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int o = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(err, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		dup2(o, 1);
		dup2(e, 2);
		execv(bin, argv);
		_exit(127);
	}
	while (--n > 0)
		free(argv[n]);
	return pid;
}

/*
 * Run wgrelayd with a loopback control address, metrics off and the extra arguments; it must
 * exit within EXIT_MS (else it is killed and the test fails). Its exit code, stderr in err.
 */
static int run_exit(char *err, size_t cap, const char *first, ...)
{
	const char *args[32];
	char addr[32];
	int n = 0, status = 0;
	const char *a;
	va_list ap;
	pid_t pid;

	snprintf(addr, sizeof(addr), "127.0.0.1:%u", free_port());
	args[n++] = "--listen";
	args[n++] = addr;
	args[n++] = "--metrics";
	args[n++] = "off";
	va_start(ap, first);
	for (a = first; a && n < 31; a = va_arg(ap, const char *))
		args[n++] = a;
	va_end(ap);
	args[n] = NULL;
	pid = spawn(args);
	if (!wait_bounded(pid, &status, EXIT_MS)) {
		char p[128];

		path_in(p, sizeof(p), "stderr");
		slurp(p, err, cap);
		fail_msg("wgrelayd hung (killed after %d ms); stderr: %s", EXIT_MS, err);
	}
	{
		char p[128];

		path_in(p, sizeof(p), "stderr");
		slurp(p, err, cap);
	}
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void must_contain(const char *text, const char *want)
{
	if (!strstr(text, want))
		fail_msg("'%s' not in: %s", want, text);
}

static void must_not_contain(const char *text, const char *bad)
{
	if (strstr(text, bad))
		fail_msg("'%s' in: %s", bad, text);
}

/* Wait at most ms for want to appear in file path. */
static void wait_log(const char *path, const char *want, int ms)
{
	static char text[16384];
	uint64_t end = now_ms() + (uint64_t)ms;

	do {
		slurp(path, text, sizeof(text));
		if (strstr(text, want))
			return;
		usleep(20000);
	} while (now_ms() < end);
	fail_msg("'%s' not logged within %d ms: %s", want, ms, text);
}

/* True when a PING to a is answered within ms. */
static bool pong(const struct addr *a, int ms)
{
	uint8_t ping[PROTO_PING_LEN], buf[256];
	int fd = tclient_udp(), n;

	frame_encode_ping(ping, 42);
	tclient_sendto(fd, ping, sizeof(ping), a);
	n = tclient_recvfrom(fd, buf, sizeof(buf), NULL, ms);
	close(fd);
	return n == PROTO_PONG_LEN;
}

/*
 * The harness's relay_start, with the relay's stderr in D/relay.log: the harness leaves the
 * child our stderr when WGR_TEST_VERBOSE is set, so ours points there meanwhile.
 */
static void log_begin(void)
{
	char p[128];
	int fd;

	path_in(p, sizeof(p), "relay.log");
	fd = open(p, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	fflush(stderr);
	saved_err = dup(2);
	assert_true(saved_err >= 0);
	dup2(fd, 2);
	close(fd);
	setenv("WGR_TEST_VERBOSE", "1", 1);
}

#define relay_start_logged(...)                                                                    \
	do {                                                                                       \
		log_begin();                                                                       \
		relay_start(__VA_ARGS__);                                                          \
		log_end();                                                                         \
	} while (0)

static void test_fifo_key_file(void **state)
{
	char key[128], empty[128], err[4096];

	(void)state;
	path_in(key, sizeof(key), "key");
	path_in(empty, sizeof(empty), "empty.conf");
	write_file(empty, "");
	assert_int_equal(mkfifo(key, 0600), 0);
	assert_int_equal(run_exit(err, sizeof(err), "--key-file", key, "-c", empty, NULL), 1);
	must_contain(err, key);
	must_contain(err, "is a FIFO");
	must_contain(err, "fatal");
	/* The same for --show-public-key. */
	assert_int_equal(
	    run_exit(err, sizeof(err), "--key-file", key, "-c", empty, "--show-public-key", NULL),
	    1);
	must_contain(err, "is a FIFO");
}

static void test_fifo_config(void **state)
{
	char key[128], conf[128], err[4096];

	(void)state;
	path_in(key, sizeof(key), "key");
	path_in(conf, sizeof(conf), "wgrelayd.conf");
	assert_int_equal(mkfifo(conf, 0600), 0);
	assert_int_equal(run_exit(err, sizeof(err), "--key-file", key, "-c", conf, NULL), 1);
	must_contain(err, conf);
	must_contain(err, "is a FIFO");
	must_contain(err, "fatal");
	/* A directory is named as one. */
	path_in(conf, sizeof(conf), "conf.d");
	assert_int_equal(mkdir(conf, 0700), 0);
	assert_int_equal(run_exit(err, sizeof(err), "--key-file", key, "-c", conf, NULL), 1);
	must_contain(err, "is a directory");
}

static void test_fifo_allowlist(void **state)
{
	char key[128], empty[128], allow[128], err[4096];

	(void)state;
	path_in(key, sizeof(key), "key");
	path_in(empty, sizeof(empty), "empty.conf");
	path_in(allow, sizeof(allow), "allowed");
	write_file(empty, "");
	assert_int_equal(mkfifo(allow, 0600), 0);
	assert_int_equal(run_exit(err, sizeof(err), "--key-file", key, "-c", empty, "--auth",
	                          "keys", "--allowed-keys", allow, NULL),
	                 1);
	must_contain(err, allow);
	must_contain(err, "is a FIFO");
	must_contain(err, "fatal");
}

/* A FIFO where the state file goes: skipped with a message; the relay starts and answers. */
static void test_fifo_state_file(void **state)
{
	char key[128], empty[128], sessions[128], addr[32], log[128];
	const char *args[16];
	struct addr a;
	int status = 0, n = 0;
	bool up = false;

	(void)state;
	path_in(key, sizeof(key), "key");
	path_in(empty, sizeof(empty), "empty.conf");
	path_in(sessions, sizeof(sessions), "key.sessions");
	path_in(log, sizeof(log), "stderr");
	write_file(empty, "");
	assert_int_equal(mkfifo(sessions, 0600), 0);
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", free_port());
	assert_int_equal(addr_parse(&a, addr, 0), 0);
	args[n++] = "--key-file";
	args[n++] = key;
	args[n++] = "-c";
	args[n++] = empty;
	args[n++] = "--listen";
	args[n++] = addr;
	args[n++] = "--metrics";
	args[n++] = "off";
	args[n++] = "--allow-loopback";
	args[n] = NULL;
	bg = spawn(args);
	for (int i = 0; i < 30 && !up; i++)
		up = pong(&a, 100);
	if (!up)
		fail_msg("wgrelayd does not answer with a FIFO at %s", sessions);
	wait_log(log, "is a FIFO", 2000);
	wait_log(log, sessions, 0);
	/* On SIGTERM the sessions are saved over it (rename replaces the name): a clean exit. */
	kill(bg, SIGTERM);
	assert_true(wait_bounded(bg, &status, 5000));
	bg = 0;
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/*
 * SIGHUP with a FIFO swapped in for the allowlist, then for the config: each reload is refused
 * (logged, naming the file), the relay keeps answering PINGs and the running allowlist stays.
 */
static void test_fifo_on_reload(void **state)
{
	char allow[128], conf[128], log[128], b64[KEY_B64_STRLEN], text[128];
	uint8_t sid[16] = {1}, sid2[16] = {2}, sid3[16] = {3};
	struct tclient a;
	struct ctrl_msg m;

	(void)state;
	path_in(allow, sizeof(allow), "allowed");
	path_in(conf, sizeof(conf), "wgrelayd.conf");
	path_in(log, sizeof(log), "relay.log");
	assert_int_equal(tclient_open(&a, "127.0.0.1:1", (uint8_t[32]){0}), 0);
	key_to_base64(b64, a.pub);
	snprintf(text, sizeof(text), "%s\n", b64);
	write_file(allow, text);
	write_file(conf, "[Limits]\nMaxReservations = 100\n");
	relay_start_logged("--allow-loopback", "--auth", "keys", "--allowed-keys", allow, "-c",
	                   conf, "--workers", "2", NULL);
	memcpy(a.relay_pub, R.pub, 32);
	a.relay = R.a;
	hs_client_init(&a.hs, a.priv, R.pub);
	assert_int_equal(tclient_handshake(&a, T_MS), 0);
	assert_int_equal(tclient_bind(&a, sid, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_BOUND);

	/* The allowlist becomes a FIFO nobody writes to. */
	assert_int_equal(unlink(allow), 0);
	assert_int_equal(mkfifo(allow, 0600), 0);
	kill(R.pid, SIGHUP);
	usleep(200000);
	assert_true(pong(&R.a, T_MS));
	wait_log(log, "is a FIFO", 2000);
	wait_log(log, allow, 0);
	wait_log(log, "keeping the running configuration", 0);
	/* The running allowlist still admits a. */
	assert_int_equal(tclient_bind(&a, sid2, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_BOUND);

	/* Now the config. */
	assert_int_equal(unlink(allow), 0);
	write_file(allow, text);
	assert_int_equal(unlink(conf), 0);
	assert_int_equal(mkfifo(conf, 0600), 0);
	kill(R.pid, SIGHUP);
	usleep(200000);
	assert_true(pong(&R.a, T_MS));
	{
		char want[160];

		snprintf(want, sizeof(want), "%s: is a FIFO", conf);
		wait_log(log, want, 2000);
	}
	assert_int_equal(tclient_bind(&a, sid3, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS), 0);
	assert_int_equal(m.type, CTRL_BOUND);

	/* Regular files again: the reload goes through. */
	assert_int_equal(unlink(conf), 0);
	write_file(conf, "[Limits]\nMaxReservations = 100\n");
	kill(R.pid, SIGHUP);
	wait_log(log, "reloaded: auth keys", 2000);
	assert_true(pong(&R.a, T_MS));
	tclient_close(&a);
}

/* A config error that stops the start is printed as an error (fatal), not as a warning. */
static void test_config_error_is_fatal(void **state)
{
	static const struct {
		const char *text, *want;
	} bad[] = {
	    {"[Limits]\nMaxCircuits = lots\n", ":2: 'lots'"},
	    {"[Relay]\nModes = direct turbo\n", ":2: unknown mode 'turbo'"},
	    {"[Relay]\nModes = indirect\n", ":2: unknown mode 'indirect'"},
	    {"[Auth]\nMode = token\n", "Secret"},
	};
	char key[128], conf[128], err[4096], want[256];

	(void)state;
	path_in(key, sizeof(key), "key");
	path_in(conf, sizeof(conf), "bad.conf");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		write_file(conf, bad[i].text);
		assert_int_equal(run_exit(err, sizeof(err), "--key-file", key, "-c", conf, NULL),
		                 1);
		snprintf(want, sizeof(want), "wgrelayd: fatal: %s", conf);
		must_contain(err, want);
		must_contain(err, bad[i].want);
		must_not_contain(err, "warning");
	}
	/* A bad allowlist line too, with file and line. */
	{
		char allow[128];

		path_in(allow, sizeof(allow), "allowed");
		write_file(allow, "# ok\nnot-a-key\n");
		write_file(conf, "");
		assert_int_equal(run_exit(err, sizeof(err), "--key-file", key, "-c", conf, "--auth",
		                          "keys", "--allowed-keys", allow, NULL),
		                 1);
		snprintf(want, sizeof(want), "wgrelayd: fatal: %s:2: bad public key", allow);
		must_contain(err, want);
		must_not_contain(err, "warning");
	}
}

/* --show-public-key says why a key does not load, each time its own reason. */
static void test_show_public_key_reasons(void **state)
{
	char key[128], empty[128], err[4096], out[256], p[128], link[128];
	uint8_t priv[32], pub[32];
	char pub64[KEY_B64_STRLEN];
	bool created;

	(void)state;
	path_in(key, sizeof(key), "relay.key");
	path_in(empty, sizeof(empty), "empty.conf");
	write_file(empty, "");
	assert_int_equal(key_load_or_create(priv, key, &created), 0);
	key_public_from_private(pub, priv);
	key_to_base64(pub64, pub);
	assert_int_equal(
	    run_exit(err, sizeof(err), "-c", empty, "--key-file", key, "--show-public-key", NULL),
	    0);
	path_in(p, sizeof(p), "stdout");
	slurp(p, out, sizeof(out));
	must_contain(out, pub64);

	/* 0644: the mode, not "No such file or directory". */
	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(
	    run_exit(err, sizeof(err), "-c", empty, "--key-file", key, "--show-public-key", NULL),
	    1);
	must_contain(err, key);
	must_contain(err, "mode 0644");
	must_not_contain(err, "No such file");
	assert_int_equal(chmod(key, 0600), 0);

	/* A symbolic link to the good key: refused as one. */
	path_in(link, sizeof(link), "link.key");
	assert_int_equal(symlink(key, link), 0);
	assert_int_equal(
	    run_exit(err, sizeof(err), "-c", empty, "--key-file", link, "--show-public-key", NULL),
	    1);
	must_contain(err, "is a symbolic link");
	must_not_contain(err, "No such file");

	/* Garbage. */
	write_file(key, "this is not a key\n");
	assert_int_equal(
	    run_exit(err, sizeof(err), "-c", empty, "--key-file", key, "--show-public-key", NULL),
	    1);
	must_contain(err, "not a key");
	must_not_contain(err, "No such file");

	/* A directory. */
	path_in(p, sizeof(p), "keydir");
	assert_int_equal(mkdir(p, 0700), 0);
	assert_int_equal(
	    run_exit(err, sizeof(err), "-c", empty, "--key-file", p, "--show-public-key", NULL), 1);
	must_contain(err, p);
	must_contain(err, "is a directory");
	must_not_contain(err, "No such file");

	/* And a missing one is, truly, missing. */
	path_in(p, sizeof(p), "absent.key");
	assert_int_equal(
	    run_exit(err, sizeof(err), "-c", empty, "--key-file", p, "--show-public-key", NULL), 1);
	must_contain(err, p);
	must_contain(err, "No such file");
}

/*
 * The state file cannot be written on SIGTERM (as root too: its name is a directory, which
 * rename(2) never replaces with a file): exit status 1, with a message, not 0.
 */
static void test_state_save_failure_exit_status(void **state)
{
	char sessions[192], inner[224], log[128];
	int status = 0;

	(void)state;
	path_in(log, sizeof(log), "relay.log");
	relay_start_logged("--allow-loopback", NULL);
	snprintf(sessions, sizeof(sessions), "%s.sessions", R.key);
	assert_int_equal(mkdir(sessions, 0700), 0);
	snprintf(inner, sizeof(inner), "%s/keep", sessions);
	write_file(inner, "");
	kill(R.pid, SIGTERM);
	if (!wait_bounded(R.pid, &status, 5000)) {
		R.pid = 0;
		fail_msg("wgrelayd did not exit on SIGTERM");
	}
	R.pid = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 1);
	wait_log(log, "not saved", 0);
	wait_log(log, sessions, 0);
	{
		char cmd[160];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", R.dir);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_fifo_key_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_config, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_allowlist, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_state_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_on_reload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_config_error_is_fatal, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_show_public_key_reasons, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_state_save_failure_exit_status, setup, teardown),
	};

	if (sodium_init() < 0)
		return 1;
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
