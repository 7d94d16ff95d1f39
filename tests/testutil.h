/*
 * testutil.h: small helpers shared by the cmocka tests. Header only, all static: a unit test
 * links its own file and the code under test, nothing else.
 */
#ifndef WGR_TESTUTIL_H
#define WGR_TESTUTIL_H

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

/* The test binary's scratch directory, while testutil_scratch_setup's group runs. */
static char testutil_dir[64];

/*
 * cmocka group setup: a fresh scratch directory, /tmp/wgr-PROGRAM-XXXXXX (named for the test
 * binary, so that one left by a crash says whose it is), in testutil_dir. 0 or -1.
 */
static inline int testutil_scratch_setup(void **state)
{
	(void)state;
	snprintf(testutil_dir, sizeof(testutil_dir), "/tmp/wgr-%.32s-XXXXXX",
	         program_invocation_short_name);
	return mkdtemp(testutil_dir) ? 0 : -1;
}

/* cmocka group teardown: the scratch directory removed with all in it. 0 or -1. */
static inline int testutil_scratch_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", testutil_dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* The path of name in the scratch directory, into out. */
static inline void testutil_path(char *out, size_t cap, const char *name)
{
	int n = snprintf(out, cap, "%s/%s", testutil_dir, name);

	assert_true(n > 0 && (size_t)n < cap);
}

/* How many entries the scratch directory holds (hidden ones too, "." and ".." not). */
static inline int testutil_scratch_entries(void)
{
	DIR *d = opendir(testutil_dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)))
		n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
	closedir(d);
	return n;
}

/* path holds exactly text afterwards (created or truncated), with mode whatever the umask. */
static inline void testutil_write(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
	assert_int_equal(fchmod(fd, mode), 0);
	close(fd);
}

#endif
