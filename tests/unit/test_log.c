/* Unit tests: common/log.c (output captured through a pipe on stderr). */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <regex.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

static int saved_stderr = -1;
static int pipefd[2];

static void capture_start(void)
{
	assert_int_equal(pipe(pipefd), 0);
	fcntl(pipefd[0], F_SETFL, O_NONBLOCK);
	fflush(stderr);
	saved_stderr = dup(2);
	dup2(pipefd[1], 2);
}

static void capture_end(char *out, size_t len)
{
	ssize_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	close(pipefd[1]);
	n = read(pipefd[0], out, len - 1);
	out[n > 0 ? n : 0] = '\0';
	close(pipefd[0]);
}

static void test_levels_and_errno(void **state)
{
	char out[1024];

	(void)state;
	unsetenv("JOURNAL_STREAM");
	capture_start();
	log_init("tlog", 0, 0); /* stderr is a pipe: the plain form */
	assert_int_equal(log_get_style(), LOG_STYLE_PLAIN);
	log_info("hello %d", 1);
	log_debug("hidden");
	errno = ENOENT;
	log_warn("open %s", "x");
	assert_int_equal(errno, ENOENT);
	errno = EAGAIN;
	log_warnx("plain");
	assert_int_equal(errno, EAGAIN);
	log_setverbose(1);
	log_debug("shown");
	log_setverbose(0);
	capture_end(out, sizeof(out));
	assert_non_null(strstr(out, "tlog: info: hello 1\n"));
	assert_null(strstr(out, "hidden"));
	assert_non_null(strstr(out, "tlog: warning: open x: No such file or directory\n"));
	assert_non_null(strstr(out, "tlog: warning: plain\n"));
	assert_non_null(strstr(out, "tlog: debug: shown\n"));
}

static void test_ratelimited(void **state)
{
	struct log_ratelimit rl = LOG_RATELIMIT_INIT(3600 * 1000);
	char out[2048];
	int lines = 0;

	(void)state;
	capture_start();
	for (int i = 0; i < 50; i++)
		log_warnx_rl(&rl, "drop %d", i);
	capture_end(out, sizeof(out));
	for (char *p = out; (p = strchr(p, '\n')); p++)
		lines++;
	assert_int_equal(lines, 1);
	assert_non_null(strstr(out, "drop 0"));
	assert_int_equal(rl.suppressed, 49);
	/* Next window: the count of suppressed lines is reported. */
	rl.last_ms = 1;
	rl.interval_ms = 1;
	capture_start();
	log_warnx_rl(&rl, "drop again");
	capture_end(out, sizeof(out));
	assert_non_null(strstr(out, "drop again (49 similar suppressed)"));
	assert_int_equal(rl.suppressed, 0);
}

/* JOURNAL_STREAM naming this pipe, as systemd names the journal's stream for stderr. */
static void journal_env_for_stderr(void)
{
	struct stat st;
	char v[64];

	assert_int_equal(fstat(2, &st), 0);
	snprintf(v, sizeof(v), "%llu:%llu", (unsigned long long)st.st_dev,
	         (unsigned long long)st.st_ino);
	setenv("JOURNAL_STREAM", v, 1);
}

/* Under systemd: "<PRI>msg", the journal records the priority; no name, level or time. */
static void test_journal_priorities(void **state)
{
	char out[1024];
	int st, p[2];
	pid_t pid;
	ssize_t n;

	(void)state;
	capture_start();
	journal_env_for_stderr();
	log_init("tlog", 1, 0);
	assert_int_equal(log_get_style(), LOG_STYLE_JOURNAL);
	log_info("hello %d", 2);
	errno = ENOENT;
	log_warn("open %s", "y");
	log_warnx("careful");
	log_debug("detail");
	capture_end(out, sizeof(out));
	assert_string_equal(out, "<6>hello 2\n"
	                         "<4>open y: No such file or directory\n"
	                         "<4>careful\n"
	                         "<7>detail\n");
	/* A fatal error: priority 3 (err), still saying it was fatal; the process exits 1. */
	assert_int_equal(pipe(p), 0);
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(p[1], 2);
		journal_env_for_stderr();
		log_init("tlog", 0, 0);
		fatalx("bad config %s", "x.conf:3: nope");
	}
	close(p[1]);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	n = read(p[0], out, sizeof(out) - 1);
	close(p[0]);
	out[n > 0 ? n : 0] = '\0';
	assert_string_equal(out, "<3>fatal: bad config x.conf:3: nope\n");
	/* JOURNAL_STREAM of another stream (stderr redirected since): the plain form. */
	setenv("JOURNAL_STREAM", "1:2", 1);
	capture_start();
	log_init("tlog", 0, 0);
	assert_int_equal(log_get_style(), LOG_STYLE_PLAIN);
	log_info("redirected");
	capture_end(out, sizeof(out));
	assert_string_equal(out, "tlog: info: redirected\n");
	unsetenv("JOURNAL_STREAM");
}

/* On a terminal: the local time first, "HH:MM:SS prog: level: msg". */
static void test_tty_timestamp(void **state)
{
	struct pollfd pfd;
	char out[1024], *slave;
	size_t len = 0;
	regex_t re;
	int m, s, saved;
	ssize_t n;

	(void)state;
	unsetenv("JOURNAL_STREAM");
	m = posix_openpt(O_RDWR | O_NOCTTY);
	if (m < 0) {
		print_message("no pseudo-terminal: %s\n", strerror(errno));
		skip();
	}
	assert_int_equal(grantpt(m), 0);
	assert_int_equal(unlockpt(m), 0);
	assert_non_null(slave = ptsname(m));
	s = open(slave, O_RDWR | O_NOCTTY);
	assert_true(s >= 0);
	fflush(stderr);
	saved = dup(2);
	dup2(s, 2);
	log_init("tlog", 0, 0);
	assert_int_equal(log_get_style(), LOG_STYLE_TTY);
	log_warnx("on a terminal");
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	close(s);
	log_init("tlog", 0, 0);
	/* The terminal turns "\n" into "\r\n"; read until the line is complete. */
	pfd = (struct pollfd){.fd = m, .events = POLLIN};
	while (len < sizeof(out) - 1 && !memchr(out, '\n', len) && poll(&pfd, 1, 2000) == 1) {
		n = read(m, out + len, sizeof(out) - 1 - len);
		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(m);
	assert_int_equal(
	    regcomp(&re, "^[0-2][0-9]:[0-5][0-9]:[0-6][0-9] tlog: warning: on a terminal\r?\n$",
	            REG_EXTENDED | REG_NOSUB),
	    0);
	if (regexec(&re, out, 0, NULL, 0))
		fail_msg("tty line '%s'", out);
	regfree(&re);
}

/* fatal and fatalx end the process with status 1 after logging. */
static void test_fatal_exits_1(void **state)
{
	int st;

	(void)state;
	for (int i = 0; i < 2; i++) {
		pid_t pid;

		fflush(NULL);
		pid = fork();

		assert_true(pid >= 0);
		if (pid == 0) {
			int devnull = open("/dev/null", O_WRONLY);

			dup2(devnull, 2);
			errno = EPERM;
			if (i == 0)
				fatal("child %d", i);
			fatalx("child %d", i);
		}
		assert_int_equal(waitpid(pid, &st, 0), pid);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 1);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_levels_and_errno), cmocka_unit_test(test_ratelimited),
	    cmocka_unit_test(test_fatal_exits_1),    cmocka_unit_test(test_journal_priorities),
	    cmocka_unit_test(test_tty_timestamp),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
