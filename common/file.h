/*
 * file.h: the files an operator names (keys, configs, allowlists, the relay's state) are
 * regular files, or they are refused. Opening never blocks and never has a device's side
 * effects: a FIFO, a socket, a device or a directory at the path is refused with a message
 * naming the path and what it is ("PATH: is a FIFO, not a regular file").
 *
 * Symbolic links: by default they are followed and the final target must be a regular file
 * (configs in /etc are often links managed by configuration tools, Kubernetes mounts secrets
 * and config maps as links). With O_NOFOLLOW in flags a link is refused ("is a symbolic
 * link"): for files the programs write themselves next to their key, in a directory their
 * unprivileged user can write (see key.h and relayd/state.c). A dangling link is never "no
 * such file" (-ENOLINK, not -ENOENT), so a link to nowhere does not pass for a missing
 * optional file, nor does a key get created through it.
 */
#ifndef WGR_FILE_H
#define WGR_FILE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* The longest line a line-oriented file (a config, an allowlist) may have. */
#define FILE_MAX_LINE 4096

/* What a mode's file type is, for messages: "a FIFO", "a directory", "a symbolic link"... */
const char *file_type_name(mode_t mode);

/*
 * Open path as a regular file. flags: O_RDONLY, O_WRONLY or O_RDWR, with O_NOFOLLOW to refuse
 * a symbolic link; O_CREAT (with mode) and O_TRUNC as for open(2). O_CLOEXEC is always added.
 * The type is checked on an O_PATH descriptor before the file is opened for reading or
 * writing (which happens with O_NONBLOCK, cleared again once the file is known to be
 * regular), and again on the opened descriptor.
 *
 * Returns the descriptor, with *st filled when st is not NULL, or -errno with err filled
 * ("PATH: reason") when err is not NULL:
 *   -ENOENT nothing at path, -ENOLINK a symbolic link to nothing, -ELOOP a symbolic link
 *   under O_NOFOLLOW, -EISDIR a directory, -EINVAL a FIFO, socket or device, -EAGAIN the
 *   file was replaced while being opened, or open(2)'s own error.
 */
int file_open_regular(const char *path, int flags, mode_t mode, struct stat *st, char *err,
                      size_t errlen);

/*
 * Read all of the regular file at path (opened as file_open_regular(path, O_RDONLY | extra))
 * into a malloc'd, NUL-terminated buffer. More than max bytes is -EFBIG. 0 with *out and *len
 * set, or -errno with err filled.
 */
int file_read_all(const char *path, int extra_flags, size_t max, char **out, size_t *len, char *err,
                  size_t errlen);

/*
 * fsync the directory that holds path, so a rename(2) or link(2) into it survives a crash.
 * 0 or -errno.
 */
int file_sync_dir(const char *path);

/*
 * Lines of text in memory, whole however long: a line is never split, so nothing past a
 * length limit can pass for a line of its own. Each line comes without its '\n' (and a '\r'
 * before it); a last line without '\n' counts.
 */
struct file_lines {
	const char *text;
	size_t len, pos;
	unsigned lineno; /* of the line last returned, from 1 */
};

void file_lines_init(struct file_lines *it, const char *text, size_t len);
/* The next line in *line / *n (not NUL-terminated); false at the end. */
bool file_lines_next(struct file_lines *it, const char **line, size_t *n);

#endif
