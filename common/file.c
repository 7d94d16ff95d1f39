/* file.c: operator-named files are regular files, opened without blocking (see file.h). */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "file.h"

static void file_err(char *err, size_t errlen, const char *path, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void file_err(char *err, size_t errlen, const char *path, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (!err || !errlen)
		return;
	n = snprintf(err, errlen, "%s: ", path);
	if (n < 0 || (size_t)n >= errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

const char *file_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "a regular file";
	case S_IFDIR:
		return "a directory";
	case S_IFIFO:
		return "a FIFO";
	case S_IFSOCK:
		return "a socket";
	case S_IFCHR:
		return "a character device";
	case S_IFBLK:
		return "a block device";
	case S_IFLNK:
		return "a symbolic link";
	default:
		return "not a regular file";
	}
}

/* Anything but a regular file: the error code and message for it. */
static int file_refuse(const char *path, mode_t mode, char *err, size_t errlen)
{
	if (S_ISLNK(mode)) {
		file_err(err, errlen, path,
		         "is a symbolic link (refused for this file: name the "
		         "file itself)");
		return -ELOOP;
	}
	file_err(err, errlen, path, "is %s, not a regular file", file_type_name(mode));
	return S_ISDIR(mode) ? -EISDIR : -EINVAL;
}

int file_open_regular(const char *path, int flags, mode_t mode, struct stat *st, char *err,
                      size_t errlen)
{
	bool nofollow = (flags & O_NOFOLLOW) != 0, checked = false;
	struct stat pst, fst;
	int fd, r;

	/* O_PATH opens nothing: no FIFO to wait on, no device's open() side effects. */
	fd = open(path, O_PATH | O_CLOEXEC | (nofollow ? O_NOFOLLOW : 0));
	if (fd >= 0) {
		r = fstat(fd, &pst) < 0 ? -errno : 0;
		close(fd);
		if (r < 0) {
			file_err(err, errlen, path, "%s", strerror(-r));
			return r;
		}
		if (!S_ISREG(pst.st_mode))
			return file_refuse(path, pst.st_mode, err, errlen);
		checked = true;
	} else {
		r = -errno;
		if (r == -ENOENT && !nofollow && lstat(path, &pst) == 0 && S_ISLNK(pst.st_mode)) {
			file_err(err, errlen, path, "is a symbolic link to a missing file");
			return -ENOLINK;
		}
		if (r != -ENOENT || !(flags & O_CREAT)) {
			file_err(err, errlen, path, "%s", strerror(-r));
			return r;
		}
	}
	/* O_NONBLOCK: should the path have been replaced by a FIFO meanwhile, no wait either. */
	fd = open(path, flags | O_NONBLOCK | O_CLOEXEC | O_NOCTTY, mode);
	if (fd < 0) {
		r = -errno;
		if (lstat(path, &pst) == 0 && !S_ISREG(pst.st_mode) &&
		    (nofollow || !S_ISLNK(pst.st_mode)))
			return file_refuse(path, pst.st_mode, err, errlen);
		file_err(err, errlen, path, "%s", strerror(-r));
		return r;
	}
	if (fstat(fd, &fst) < 0) {
		r = -errno;
		close(fd);
		file_err(err, errlen, path, "%s", strerror(-r));
		return r;
	}
	if (!S_ISREG(fst.st_mode)) {
		close(fd);
		return file_refuse(path, fst.st_mode, err, errlen);
	}
	if (checked && (fst.st_dev != pst.st_dev || fst.st_ino != pst.st_ino)) {
		close(fd);
		file_err(err, errlen, path, "was replaced while being opened");
		return -EAGAIN;
	}
	if (!(flags & O_NONBLOCK)) {
		int fl = fcntl(fd, F_GETFL);

		if (fl >= 0)
			(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	}
	if (st)
		*st = fst;
	return fd;
}

int file_read_all(const char *path, int extra_flags, size_t max, char **out, size_t *len, char *err,
                  size_t errlen)
{
	struct stat st;
	size_t n = 0, cap;
	char *buf;
	int fd, r = 0;

	if (max >= SIZE_MAX / 2)
		return -EINVAL;
	fd = file_open_regular(path, O_RDONLY | extra_flags, 0, &st, err, errlen);
	if (fd < 0)
		return fd;
	if ((uint64_t)st.st_size > (uint64_t)max) {
		close(fd);
		file_err(err, errlen, path, "larger than %zu bytes", max);
		return -EFBIG;
	}
	/* The size is a hint: the file may grow while it is read, never past max + 1. */
	cap = (size_t)st.st_size + 1;
	buf = malloc(cap + 1);
	if (!buf) {
		close(fd);
		file_err(err, errlen, path, "out of memory");
		return -ENOMEM;
	}
	for (;;) {
		ssize_t k;

		if (n == cap) {
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			char *nb;

			if (n > max)
				break;
			nb = realloc(buf, ncap + 1);
			if (!nb) {
				r = -ENOMEM;
				file_err(err, errlen, path, "out of memory");
				goto out;
			}
			buf = nb;
			cap = ncap;
		}
		k = read(fd, buf + n, cap - n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0) {
			r = -errno;
			file_err(err, errlen, path, "read: %s", strerror(-r));
			goto out;
		}
		if (k == 0)
			break;
		n += (size_t)k;
	}
	if (n > max) {
		r = -EFBIG;
		file_err(err, errlen, path, "larger than %zu bytes", max);
		goto out;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

int file_sync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, r = 0;

	if (!copy)
		return -ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0 || fsync(fd) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	free(copy);
	return r;
}

void file_lines_init(struct file_lines *it, const char *text, size_t len)
{
	it->text = text;
	it->len = len;
	it->pos = 0;
	it->lineno = 0;
}

bool file_lines_next(struct file_lines *it, const char **line, size_t *n)
{
	const char *s, *nl;
	size_t l;

	if (it->pos >= it->len)
		return false;
	s = it->text + it->pos;
	nl = memchr(s, '\n', it->len - it->pos);
	l = nl ? (size_t)(nl - s) : it->len - it->pos;
	it->pos += l + (nl ? 1 : 0);
	if (l && s[l - 1] == '\r')
		l--;
	it->lineno++;
	*line = s;
	*n = l;
	return true;
}
