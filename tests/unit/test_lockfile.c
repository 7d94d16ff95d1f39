/*
 * test_lockfile.c: one holder at a time, named by its pid to the others (another process
 * too), let go on close; a symbolic link or a missing directory is refused with its path.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "lockfile.h"

static char dir[] = "/tmp/wgr-test-lockfile-XXXXXX";

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

static void test_one_holder(void **state)
{
	(void)state;
	char path[256], err[512], buf[32];
	pid_t holder = -1;

	path_of(path, sizeof(path), "db.lock");
	int fd = lockfile_take(path, &holder, err, sizeof(err));
	assert_true(fd >= 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
	assert_true(n > 0);
	buf[n] = '\0';
	assert_int_equal(strtol(buf, NULL, 10), getpid());

	/* A second open of the file (as a second helper would) is refused and told who holds it. */
	assert_int_equal(lockfile_take(path, &holder, err, sizeof(err)), -EWOULDBLOCK);
	assert_int_equal(holder, getpid());

	/* Another process too. */
	pid_t child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		pid_t h = 0;
		int rc = lockfile_take(path, &h, err, sizeof(err));
		_exit(rc == -EWOULDBLOCK && h == getppid() ? 0 : 1);
	}
	int st;
	assert_int_equal(waitpid(child, &st, 0), child);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);

	/* Closed: the next one takes it and writes its own pid over the old one. */
	close(fd);
	fd = lockfile_take(path, &holder, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
}

static void test_refused(void **state)
{
	(void)state;
	char path[256], target[256], err[512];
	pid_t holder;

	path_of(path, sizeof(path), "link.lock");
	path_of(target, sizeof(target), "elsewhere");
	assert_int_equal(symlink(target, path), 0);
	assert_int_equal(lockfile_take(path, &holder, err, sizeof(err)), -ELOOP);
	assert_non_null(strstr(err, path));
	assert_int_equal(access(target, F_OK), -1); /* nothing made through the link */

	path_of(path, sizeof(path), "nosuchdir/db.lock");
	assert_int_equal(lockfile_take(path, &holder, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, path));
}

static int setup(void **state)
{
	(void)state;
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_holder),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
