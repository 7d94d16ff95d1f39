/* Unit tests: common/conf.c */
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

#include "conf.h"

static struct conf *parse_ok(const char *text)
{
	char err[CONF_ERRLEN] = "";
	struct conf *c = NULL;

	if (conf_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)) != 0)
		fail_msg("unexpected error: %s", err);
	return c;
}

static void parse_fails(const char *text, const char *want_err)
{
	char err[CONF_ERRLEN] = "";
	struct conf *c = NULL;

	if (conf_parse(&c, "t.conf", text, strlen(text), err, sizeof(err)) == 0)
		fail_msg("accepted: %s", text);
	if (!strstr(err, want_err))
		fail_msg("error '%s' lacks '%s'", err, want_err);
}

static void test_sections_repeats_comments(void **state)
{
	struct conf *c = parse_ok("# top\n[Relay]\nListen = 0.0.0.0:51821 # v4\n"
	                          "listen=[::]:51821\r\n\n  [ Limits ]  \nMaxCircuits = 12\n"
	                          "[relay]\nPortRange = 50000-50010\n");
	const struct conf_entry *e;

	(void)state;
	e = conf_next(c, "Relay", "Listen", NULL);
	assert_non_null(e);
	assert_string_equal(e->value, "0.0.0.0:51821");
	assert_int_equal(e->line, 3);
	e = conf_next(c, "RELAY", "LISTEN", e);
	assert_non_null(e);
	assert_string_equal(e->value, "[::]:51821");
	assert_null(conf_next(c, "Relay", "Listen", e));
	assert_string_equal(conf_last(c, "relay", "portrange")->value, "50000-50010");
	assert_string_equal(conf_last(c, "Limits", "MaxCircuits")->value, "12");
	conf_free(c);
}

static void test_errors_name_file_line_token(void **state)
{
	(void)state;
	parse_fails("[Relay]\nListen\n", "t.conf:2: expected 'Key = Value', got 'Listen'");
	parse_fails("[Relay\n", "t.conf:1: bad section header '[Relay'");
	parse_fails("[Re lay]\n", "t.conf:1: bad section name 'Re lay'");
	parse_fails("[Relay]\n = 3\n", "t.conf:2: bad key ''");
	parse_fails("[Relay]\nA B = 3\n", "bad key 'A B'");
	parse_fails("[Relay] x\n", "bad section header");
	{
		char big[5000];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		big[0] = 'K';
		big[1] = '=';
		parse_fails(big, "t.conf:1: line longer than");
	}
	{
		char err[CONF_ERRLEN];
		struct conf *c;
		const char nul[] = "[A]\nK = a\0b\n";

		assert_int_equal(conf_parse(&c, "t.conf", nul, sizeof(nul) - 1, err, sizeof(err)),
		                 -EINVAL);
		assert_non_null(strstr(err, "t.conf:2: NUL byte"));
	}
}

static void test_check_keys(void **state)
{
	static const char *const allowed[] = {"Relay.Listen", "Relay.PortRange", "Limits.*", NULL};
	char err[CONF_ERRLEN];
	struct conf *c;

	(void)state;
	c = parse_ok("[Relay]\nListen = 1\n[Limits]\nAnything = 2\n");
	assert_int_equal(conf_check_keys(c, allowed, err, sizeof(err)), 0);
	conf_free(c);
	c = parse_ok("[Relay]\nListen = 1\nFoo = 2\n");
	assert_int_equal(conf_check_keys(c, allowed, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf:3: unknown key 'Foo' in [Relay]");
	conf_free(c);
	c = parse_ok("[Nope]\nA = 1\n");
	assert_int_equal(conf_check_keys(c, allowed, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf:2: unknown section '[Nope]'");
	conf_free(c);
	c = parse_ok("A = 1\n");
	assert_int_equal(conf_check_keys(c, allowed, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "outside any section"));
	conf_free(c);
}

static void test_numbers(void **state)
{
	char err[CONF_ERRLEN];
	struct conf *c;
	uint64_t v = 7;
	bool b;

	(void)state;
	c = parse_ok("[A]\nPort = 70000\nN = 18446744073709551615\nBig = 18446744073709551616\n"
	             "Neg = -1\nHex = 0x10\nSize = 100M\nDur = 1h\nBad = 5x\nYes = on\nNo = maybe\n"
	             "Empty =\n");
	assert_int_equal(conf_get_u64(c, "A", "Missing", 0, 10, &v, err, sizeof(err)), -ENOENT);
	assert_int_equal(v, 7);
	assert_int_equal(conf_get_u64(c, "A", "Port", 1, 65535, &v, err, sizeof(err)), -ERANGE);
	assert_string_equal(err, "t.conf:2: '70000' out of range 1..65535 for Port");
	assert_int_equal(conf_get_u64(c, "A", "N", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(conf_get_u64(c, "A", "Big", 0, UINT64_MAX, &v, err, sizeof(err)), -ERANGE);
	assert_int_equal(conf_get_u64(c, "A", "Neg", 0, 10, &v, err, sizeof(err)), -EINVAL);
	assert_string_equal(err, "t.conf:5: '-1' is not a number for Neg");
	assert_int_equal(conf_get_u64(c, "A", "Hex", 0, 100, &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(conf_get_size(c, "A", "Size", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
	assert_true(v == 100ULL * 1024 * 1024);
	assert_int_equal(conf_get_duration(c, "A", "Dur", 0, UINT64_MAX, &v, err, sizeof(err)), 0);
	assert_int_equal(v, 3600);
	assert_int_equal(conf_get_size(c, "A", "Bad", 0, UINT64_MAX, &v, err, sizeof(err)),
	                 -EINVAL);
	assert_int_equal(conf_get_u64(c, "A", "Empty", 0, 10, &v, err, sizeof(err)), -EINVAL);
	assert_int_equal(conf_get_bool(c, "A", "Yes", &b, err, sizeof(err)), 0);
	assert_true(b);
	assert_int_equal(conf_get_bool(c, "A", "No", &b, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "t.conf:11: 'maybe' is not a boolean"));
	assert_int_equal(conf_parse_size("17G", 0, UINT64_MAX, &v), 0);
	assert_true(v == 17ULL << 30);
	assert_int_equal(conf_parse_size("99999999999999999G", 0, UINT64_MAX, &v), -ERANGE);
	assert_int_equal(conf_parse_duration("2d", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 172800);
	assert_int_equal(conf_parse_duration("s", 0, UINT64_MAX, &v), -EINVAL);
	conf_free(c);
}

static void test_load_file(void **state)
{
	char path[] = "/tmp/wgr-conf-XXXXXX", err[CONF_ERRLEN];
	struct conf *c;
	FILE *f;
	int fd;

	(void)state;
	fd = mkstemp(path);
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fputs("[Relay]\nListen = 1.2.3.4:5\nbroken\n", f);
	fclose(f);
	assert_int_equal(conf_load(&c, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, ":3: expected 'Key = Value', got 'broken'"));
	assert_non_null(strstr(err, path));
	unlink(path);
	assert_int_equal(conf_load(&c, path, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
	assert_int_equal(conf_load(&c, "/", err, sizeof(err)), -EISDIR);
	conf_free(NULL);
}

/*
 * A config is a regular file: a FIFO is refused at once (a plain open(2) waits for a writer
 * for ever; alarm() fails the test instead), so is a directory; a symbolic link is followed
 * (configs in /etc often are links) but must lead to a regular file, and a dangling one is an
 * error, not a missing optional file.
 */
static void test_load_file_types(void **state)
{
	char dir[] = "/tmp/wgr-conf-XXXXXX", path[128], link[128], err[CONF_ERRLEN], cmd[128];
	struct conf *c;

	(void)state;
	alarm(10);
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/fifo.conf", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_equal(conf_load(&c, path, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "is a FIFO"));
	snprintf(path, sizeof(path), "%s/sub.conf", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(conf_load(&c, path, err, sizeof(err)), -EISDIR);
	assert_non_null(strstr(err, "is a directory"));
	/* A link to a regular file: followed. */
	snprintf(path, sizeof(path), "%s/real.conf", dir);
	{
		FILE *f = fopen(path, "w");

		assert_non_null(f);
		fputs("[Relay]\nListen = 1.2.3.4:5\n", f);
		fclose(f);
	}
	snprintf(link, sizeof(link), "%s/link.conf", dir);
	assert_int_equal(symlink(path, link), 0);
	if (conf_load(&c, link, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(conf_last(c, "Relay", "Listen")->value, "1.2.3.4:5");
	conf_free(c);
	/* A link to a FIFO, and a link to nothing. */
	snprintf(link, sizeof(link), "%s/tofifo.conf", dir);
	snprintf(path, sizeof(path), "%s/fifo.conf", dir);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(conf_load(&c, link, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is a FIFO"));
	snprintf(link, sizeof(link), "%s/dangling.conf", dir);
	assert_int_equal(symlink("/nonexistent/wgr.conf", link), 0);
	assert_int_equal(conf_load(&c, link, err, sizeof(err)), -ENOLINK);
	assert_non_null(strstr(err, link));
	assert_non_null(strstr(err, "symbolic link to a missing file"));
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	assert_int_equal(system(cmd), 0);
	alarm(0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sections_repeats_comments),
	    cmocka_unit_test(test_errors_name_file_line_token),
	    cmocka_unit_test(test_check_keys),
	    cmocka_unit_test(test_numbers),
	    cmocka_unit_test(test_load_file),
	    cmocka_unit_test(test_load_file_types),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
