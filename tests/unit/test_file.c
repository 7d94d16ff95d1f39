/*
 * Unit tests: common/file.c. Operator-named files are regular files: a FIFO, a socket, a
 * device or a directory is refused at once with a message naming the path and what it is;
 * symbolic links are followed unless O_NOFOLLOW; reads are bounded; lines are never split.
 * Every test runs under alarm(): a blocking open fails the test instead of hanging it.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>
#include <cmocka.h>

#include "file.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/wgr-file-XXXXXX");
	alarm(20);
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	alarm(0);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

/* dir/name */
static void in(const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", dir, name);
}

/* Refused with code want and a message "PATH: ...what...". */
static void refused(const char *path, int flags, int want, const char *what)
{
	char err[512] = "";
	int fd = file_open_regular(path, flags, 0, NULL, err, sizeof(err));

	if (fd >= 0)
		close(fd);
	if (fd != want || strncmp(err, path, strlen(path)) || !strstr(err, what))
		fail_msg("%s: got %d '%s', wanted %d and '%s'", path, fd, err, want, what);
}

static void test_regular_file(void **state)
{
	char path[128], err[512];
	struct stat st;
	int fd, fl;

	(void)state;
	in("plain", path, sizeof(path));
	put(path, "hello\n");
	fd = file_open_regular(path, O_RDONLY, 0, &st, err, sizeof(err));
	assert_true(fd >= 0);
	assert_true(S_ISREG(st.st_mode));
	assert_int_equal(st.st_size, 6);
	/* Opened with O_NONBLOCK and O_CLOEXEC; O_NONBLOCK cleared again for a regular file. */
	fl = fcntl(fd, F_GETFL);
	assert_int_equal(fl & O_NONBLOCK, 0);
	assert_true(fcntl(fd, F_GETFD) & FD_CLOEXEC);
	close(fd);
	/* Nothing there: -ENOENT, naming the path. */
	in("missing", path, sizeof(path));
	refused(path, O_RDONLY, -ENOENT, "No such file");
	/* O_CREAT makes a regular file. */
	fd = file_open_regular(path, O_WRONLY | O_CREAT | O_EXCL, 0600, &st, err, sizeof(err));
	assert_true(fd >= 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	close(fd);
}

static void test_fifo_refused_at_once(void **state)
{
	char path[128];

	(void)state;
	in("fifo", path, sizeof(path));
	assert_int_equal(mkfifo(path, 0600), 0);
	/* Nobody writes: a plain open(2) would wait for ever (alarm() fails the test then). */
	refused(path, O_RDONLY, -EINVAL, "is a FIFO");
	refused(path, O_WRONLY, -EINVAL, "is a FIFO");
	refused(path, O_RDONLY | O_NOFOLLOW, -EINVAL, "is a FIFO");
}

static void test_directory_socket_device(void **state)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char path[128];
	int s;

	(void)state;
	in("sub", path, sizeof(path));
	assert_int_equal(mkdir(path, 0700), 0);
	refused(path, O_RDONLY, -EISDIR, "is a directory");
	in("sock", path, sizeof(path));
	assert_true(strlen(path) < sizeof(sa.sun_path));
	memcpy(sa.sun_path, path, strlen(path) + 1);
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	assert_true(s >= 0);
	assert_int_equal(bind(s, (struct sockaddr *)&sa, sizeof(sa)), 0);
	refused(path, O_RDONLY, -EINVAL, "is a socket");
	close(s);
	refused("/dev/null", O_RDONLY, -EINVAL, "is a character device");
	refused("/dev/zero", O_WRONLY, -EINVAL, "is a character device");
}

static void test_symlinks(void **state)
{
	char target[128], link[128], dangling[128], tolink[128], fifo[128], err[512];
	int fd;

	(void)state;
	in("target", target, sizeof(target));
	in("link", link, sizeof(link));
	in("dangling", dangling, sizeof(dangling));
	in("tofifo", tolink, sizeof(tolink));
	in("fifo2", fifo, sizeof(fifo));
	put(target, "x");
	assert_int_equal(symlink(target, link), 0);
	assert_int_equal(symlink("nowhere", dangling), 0);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(symlink(fifo, tolink), 0);
	/* Followed by default: the target must be a regular file. */
	fd = file_open_regular(link, O_RDONLY, 0, NULL, err, sizeof(err));
	assert_true(fd >= 0);
	close(fd);
	refused(tolink, O_RDONLY, -EINVAL, "is a FIFO");
	/* A link to nothing is not "no such file": it does not pass for a missing optional file. */
	refused(dangling, O_RDONLY, -ENOLINK, "symbolic link to a missing file");
	/* ... and O_CREAT never creates its target. */
	refused(dangling, O_WRONLY | O_CREAT, -ENOLINK, "symbolic link to a missing file");
	{
		char made[128];
		struct stat st;

		in("nowhere", made, sizeof(made));
		assert_int_equal(lstat(made, &st), -1);
	}
	/* O_NOFOLLOW: every link refused, named as such. */
	refused(link, O_RDONLY | O_NOFOLLOW, -ELOOP, "is a symbolic link");
	refused(dangling, O_RDONLY | O_NOFOLLOW, -ELOOP, "is a symbolic link");
	refused(tolink, O_RDONLY | O_NOFOLLOW, -ELOOP, "is a symbolic link");
}

static void test_read_all_bounded(void **state)
{
	char path[128], err[512], *text = NULL, fifo[128];
	size_t len = 0;

	(void)state;
	in("data", path, sizeof(path));
	put(path, "0123456789");
	assert_int_equal(file_read_all(path, 0, 10, &text, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 10);
	assert_string_equal(text, "0123456789");
	free(text);
	assert_int_equal(file_read_all(path, 0, 9, &text, &len, err, sizeof(err)), -EFBIG);
	assert_non_null(strstr(err, path));
	assert_non_null(strstr(err, "larger than 9 bytes"));
	/* Empty is fine. */
	put(path, "");
	assert_int_equal(file_read_all(path, 0, 9, &text, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 0);
	assert_string_equal(text, "");
	free(text);
	in("fifo3", fifo, sizeof(fifo));
	assert_int_equal(mkfifo(fifo, 0600), 0);
	assert_int_equal(file_read_all(fifo, 0, 9, &text, &len, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "is a FIFO"));
}

static void test_lines_whole(void **state)
{
	static const char text[] = "one\r\n\ntwo\nthree";
	char big[6000];
	struct file_lines it;
	const char *l;
	size_t n;

	(void)state;
	file_lines_init(&it, text, sizeof(text) - 1);
	assert_true(file_lines_next(&it, &l, &n));
	assert_int_equal(n, 3);
	assert_memory_equal(l, "one", 3);
	assert_true(file_lines_next(&it, &l, &n));
	assert_int_equal(n, 0);
	assert_true(file_lines_next(&it, &l, &n));
	assert_memory_equal(l, "two", 3);
	assert_int_equal(it.lineno, 3);
	assert_true(file_lines_next(&it, &l, &n));
	assert_int_equal(n, 5);
	assert_false(file_lines_next(&it, &l, &n));
	/* A 5000-character line is one line, however long. */
	memset(big, 'x', 5000);
	big[5000] = '\n';
	memcpy(big + 5001, "tail", 4);
	file_lines_init(&it, big, 5005);
	assert_true(file_lines_next(&it, &l, &n));
	assert_int_equal(n, 5000);
	assert_true(file_lines_next(&it, &l, &n));
	assert_int_equal(n, 4);
	assert_int_equal(it.lineno, 2);
	assert_false(file_lines_next(&it, &l, &n));
}

static void test_type_names(void **state)
{
	(void)state;
	assert_string_equal(file_type_name(S_IFIFO), "a FIFO");
	assert_string_equal(file_type_name(S_IFDIR), "a directory");
	assert_string_equal(file_type_name(S_IFLNK), "a symbolic link");
	assert_string_equal(file_type_name(S_IFSOCK), "a socket");
	assert_string_equal(file_type_name(S_IFBLK), "a block device");
	assert_string_equal(file_type_name(S_IFREG), "a regular file");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_regular_file, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fifo_refused_at_once, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_directory_socket_device, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_symlinks, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_read_all_bounded, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_lines_whole, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_type_names, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
