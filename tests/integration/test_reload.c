/*
 * Integration tests: what a SIGHUP reload of wgrelayd does when the config file is gone or
 * broken (it keeps the running configuration whole and says why), and its warnings about the
 * keys that need a restart. Loopback only.
 */
#include <errno.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "harness.h"
#include "key.h"

#define ETC_DIR  "/etc/wgrelay"
#define ETC_CONF ETC_DIR "/wgrelayd.conf"

static char conf[160], allow[160];
/* The private /etc's upper layer (a tmpfs on a directory of /tmp); empty when none. */
static char etc_dir[64];

/* Teardown: the relay (by PID), the files it read, and the private /etc. */
static int stop(void **state)
{
	int r = relay_stop(state);

	unlink(conf);
	unlink(allow);
	if (*etc_dir) {
		umount2("/etc", MNT_DETACH);
		umount2(etc_dir, MNT_DETACH);
		rmdir(etc_dir);
		*etc_dir = '\0';
	}
	return r;
}

/* A client with a fresh key, not yet linked (its key can go in an allowlist first). */
static void client_unlinked(struct tclient *c)
{
	assert_int_equal(tclient_open(c, "127.0.0.1:1", (uint8_t[32]){0}), 0);
}

/* Link a client opened before the relay started. */
static void link_to_relay(struct tclient *c)
{
	memcpy(c->relay_pub, R.pub, 32);
	c->relay = R.a;
	hs_client_init(&c->hs, c->priv, R.pub);
	assert_int_equal(tclient_handshake(c, T_MS), 0);
}

/* An allowlist holding c's key only. */
static void allow_only(const char *path, const struct tclient *c)
{
	char b64[KEY_B64_STRLEN], text[128];

	key_to_base64(b64, c->pub);
	snprintf(text, sizeof(text), "# reload test\n%s\n", b64);
	write_file(path, text);
}

/* BIND a fresh session id; the reply's type, or the error code when it is an ERROR. */
static int bind_new(struct tclient *c)
{
	struct ctrl_msg m;
	uint8_t sid[16];

	randombytes_buf(sid, sizeof(sid));
	assert_int_equal(tclient_bind(c, sid, PROTO_MODE_SEALED, NULL, NULL, &m, T_MS), 0);
	return m.type == CTRL_ERROR ? -(int)m.code : m.type;
}

/* How many times needle is in the relay's log. */
static int log_count(const char *needle)
{
	static char text[65536];

	relay_log(text, sizeof(text));
	return count_lines(text, needle);
}

/* SIGHUP, and wait until the relay has logged the outcome ("reloaded" or "reload failed"). */
static void reload(void)
{
	int before = log_count("reloaded:") + log_count("reload failed");

	kill(R.pid, SIGHUP);
	for (int i = 0; i < 150; i++) {
		if (log_count("reloaded:") + log_count("reload failed") > before)
			return;
		usleep(20000);
	}
	fail_msg("no reload logged within 3 s");
}

/*
 * The relay reads its config from the default path (no -c): a private mount namespace with an
 * overlay on /etc, so the test writes and deletes /etc/wgrelay/wgrelayd.conf without touching
 * the host's. Skipped where that cannot be had (not root).
 */
static void private_etc(void)
{
	char dir[64] = "/tmp/wgr-reload-etc-XXXXXX", opts[256];

	if (unshare(CLONE_NEWNS) < 0) {
		print_message("no mount namespace (%s): skipped\n", strerror(errno));
		skip();
	}
	assert_int_equal(mount("none", "/", NULL, MS_REC | MS_PRIVATE, NULL), 0);
	assert_non_null(mkdtemp(dir));
	if (mount("tmpfs", dir, "tmpfs", 0, "mode=0700") < 0) {
		rmdir(dir);
		fail_msg("tmpfs on %s: %s", dir, strerror(errno));
	}
	snprintf(etc_dir, sizeof(etc_dir), "%s", dir);
	snprintf(opts, sizeof(opts), "%s/upper", dir);
	assert_int_equal(mkdir(opts, 0755), 0);
	snprintf(opts, sizeof(opts), "%s/work", dir);
	assert_int_equal(mkdir(opts, 0755), 0);
	snprintf(opts, sizeof(opts), "lowerdir=/etc,upperdir=%s/upper,workdir=%s/work", dir, dir);
	if (mount("overlay", "/etc", "overlay", 0, opts) < 0) {
		print_message("no overlay on /etc (%s): skipped\n", strerror(errno));
		skip();
	}
	assert_true(mkdir(ETC_DIR, 0755) == 0 || errno == EEXIST);
}

/* wgrelayd with no -c and no --port-range: both come from the file at the default path. */
static void start_on_default_config(void)
{
	const char *bin_dir = getenv("WGR_BINARY_DIR");
	int argc = 0;

	assert_non_null(bin_dir);
	snprintf(R.bin, sizeof(R.bin), "%s/relayd/wgrelayd", bin_dir);
	strcpy(R.dir, "/tmp/wgr-relayd-XXXXXX");
	assert_non_null(mkdtemp(R.dir));
	snprintf(R.key, sizeof(R.key), "%s/key", R.dir);
	snprintf(R.addr, sizeof(R.addr), "127.0.0.1:%u", free_port());
	R.argv[argc++] = R.bin;
	R.argv[argc++] = "--key-file";
	R.argv[argc++] = R.key;
	R.argv[argc++] = "--listen";
	R.argv[argc++] = R.addr;
	R.argv[argc++] = "--metrics";
	R.argv[argc++] = "off";
	R.argv[argc++] = "--allow-loopback";
	R.argv[argc] = NULL;
	relay_spawn();
	{
		uint8_t priv[32];

		assert_int_equal(key_load_file(priv, R.key), 0);
		key_public_from_private(R.pub, priv);
	}
}

/*
 * A keys-mode relay whose config at the default path is deleted, then SIGHUP: before, the
 * missing default file meant "the built-in defaults" and the relay silently went open. Now the
 * file having been there makes its absence an error: the running configuration stays whole
 * (a key not in the allowlist is still refused) and the log says why. A later reload with the
 * file back applies it, and warns about PortRange, which only a restart changes.
 */
static void test_default_config_vanished(void **state)
{
	struct tclient a, b;
	char text[512];
	int base = 20000 + (int)(getpid() % 200) * 100;

	(void)state;
	private_etc();
	snprintf(conf, sizeof(conf), "%s", ETC_CONF);
	snprintf(allow, sizeof(allow), "%s/allowed", ETC_DIR);
	client_unlinked(&a);
	client_unlinked(&b);
	allow_only(allow, &a);
	snprintf(text, sizeof(text),
	         "[Relay]\nPortRange = %d-%d\n[Auth]\nMode = keys\nAllowedKeys = %s\n", base,
	         base + 49, allow);
	write_file(conf, text);
	start_on_default_config();
	link_to_relay(&a);
	link_to_relay(&b);
	assert_int_equal(bind_new(&a), CTRL_BOUND);
	assert_int_equal(bind_new(&b), -PROTO_ERR_AUTH_DENIED);

	assert_int_equal(unlink(conf), 0);
	reload();
	assert_int_equal(bind_new(&b), -PROTO_ERR_AUTH_DENIED);
	assert_int_equal(bind_new(&a), CTRL_BOUND);
	assert_int_equal(log_count("reload failed: " ETC_CONF ": No such file or directory"), 1);
	assert_int_equal(log_count("keeping the running configuration"), 1);
	/* Still so at the next reload: the file is not forgotten after one failure. */
	reload();
	assert_int_equal(bind_new(&b), -PROTO_ERR_AUTH_DENIED);

	/* Back, with another port range: the reload applies, PortRange waits for a restart. */
	snprintf(text, sizeof(text),
	         "[Relay]\nPortRange = %d-%d\n[Auth]\nMode = keys\nAllowedKeys = %s\n", base + 50,
	         base + 99, allow);
	write_file(conf, text);
	reload();
	assert_int_equal(log_count("reloaded:"), 1);
	assert_int_equal(log_count("reload: PortRange changed; it takes effect only at a restart"),
	                 1);
	assert_int_equal(bind_new(&b), -PROTO_ERR_AUTH_DENIED);
	tclient_close(&a);
	tclient_close(&b);
}

/*
 * With -c: a config file deleted, or one that does not parse, keeps keys mode (and its
 * allowlist) in force. A good file is then applied, with one warning for each changed key a
 * reload cannot apply, and none for a key whose command-line flag wins anyway.
 */
static void test_named_config_vanished_or_broken(void **state)
{
	struct tclient a, b;
	char text[512];

	(void)state;
	client_unlinked(&a);
	client_unlinked(&b);
	snprintf(allow, sizeof(allow), "/tmp/wgr-reload-allow-%d", getpid());
	snprintf(conf, sizeof(conf), "/tmp/wgr-reload-%d.conf", getpid());
	allow_only(allow, &a);
	snprintf(text, sizeof(text), "[Auth]\nMode = keys\nAllowedKeys = %s\n", allow);
	write_file(conf, text);
	relay_start("--allow-loopback", "-c", conf, NULL);
	link_to_relay(&a);
	link_to_relay(&b);
	assert_int_equal(bind_new(&b), -PROTO_ERR_AUTH_DENIED);

	assert_int_equal(unlink(conf), 0);
	reload();
	assert_int_equal(log_count("reload failed: "), 1);
	assert_int_equal(bind_new(&b), -PROTO_ERR_AUTH_DENIED);

	write_file(conf, "[Auth]\nMode = open\n[Limits]\nMaxCircuits = lots\n");
	reload();
	assert_int_equal(log_count("reload failed: "), 2);
	assert_int_equal(bind_new(&b), -PROTO_ERR_AUTH_DENIED);
	assert_int_equal(bind_new(&a), CTRL_BOUND);

	/*
	 * A good file: b is allowed now (applied at once). StatsInterval, BusyPoll, Coalesce and
	 * Workers changed (warned); PortRange and Listen are set by flags, which win: no warning.
	 */
	snprintf(text, sizeof(text),
	         "[Relay]\nStatsInterval = 5m\nBusyPoll = 20\nCoalesce = no\nWorkers = 3\n"
	         "PortRange = 61000-61099\nListen = 127.0.0.1:1\n"
	         "[Auth]\nMode = keys\nAllowedKeys = %s\n",
	         allow);
	write_file(conf, text);
	allow_only(allow, &b);
	reload();
	assert_int_equal(log_count("reloaded:"), 1);
	assert_int_equal(bind_new(&b), CTRL_BOUND);
	assert_int_equal(bind_new(&a), -PROTO_ERR_AUTH_DENIED);
	assert_int_equal(log_count("reload: StatsInterval changed"), 1);
	assert_int_equal(log_count("reload: BusyPoll changed"), 1);
	assert_int_equal(log_count("reload: Coalesce changed"), 1);
	assert_int_equal(log_count("reload: Workers changed"), 1);
	assert_int_equal(log_count("reload: PortRange changed"), 0);
	assert_int_equal(log_count("reload: Listen changed"), 0);
	assert_int_equal(log_count("reload: Metrics changed"), 0);
	/* Compared with what runs: the same file reloaded warns again, nothing else. */
	reload();
	assert_int_equal(log_count("reload: StatsInterval changed"), 2);
	assert_int_equal(log_count("reload: KeyFile changed"), 0);
	tclient_close(&a);
	tclient_close(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_named_config_vanished_or_broken, stop),
	    cmocka_unit_test_teardown(test_default_config_vanished, stop),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
