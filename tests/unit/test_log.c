/* Unit tests: common/log.c (output captured through a pipe on stderr). */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
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
	log_init("tlog", 0, 0);
	capture_start();
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
	    cmocka_unit_test(test_levels_and_errno),
	    cmocka_unit_test(test_ratelimited),
	    cmocka_unit_test(test_fatal_exits_1),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
