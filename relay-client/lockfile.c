/* lockfile.c: an flock(2)-held file naming its holder's pid (see lockfile.h). */
#include "lockfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

#include "file.h"

/*
 * The holder's pid as written in the file. The holder writes it just after taking the lock,
 * so an empty file is read again for up to 100 ms before the answer is "not known" (0).
 */
static pid_t lockfile_holder(int fd)
{
	const struct timespec pause = {.tv_nsec = 10 * 1000000};
	char buf[24];

	for (int i = 0; i < 10; i++) {
		ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
		char *end;

		if (n > 0) {
			buf[n] = '\0';
			long pid = strtol(buf, &end, 10);
			if (end != buf && (*end == '\n' || *end == '\0') && pid > 0)
				return (pid_t)pid;
		}
		nanosleep(&pause, NULL);
	}
	return 0;
}

int lockfile_take(const char *path, pid_t *holder, char *err, size_t errlen)
{
	char buf[24];
	int fd, r, n;

	*holder = 0;
	fd = file_open_regular(path, O_RDWR | O_CREAT | O_NOFOLLOW, 0600, NULL, err, errlen);
	if (fd < 0)
		return fd;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		r = -errno;
		if (r == -EWOULDBLOCK)
			*holder = lockfile_holder(fd);
		else
			snprintf(err, errlen, "%s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());
	errno = 0;
	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n) {
		r = errno ? -errno : -EIO;
		snprintf(err, errlen, "%s: %s", path, strerror(-r));
		close(fd);
		return r;
	}
	return fd;
}
