/*
 * lockfile.h: one process at a time per lock file: flock(2) on a small file holding the pid
 * of the process that has it, kept for that process's lifetime (the kernel drops it when the
 * process ends, however it ends, so a crash never leaves a stale lock).
 */
#ifndef WGR_LOCKFILE_H
#define WGR_LOCKFILE_H

#include <stddef.h>
#include <sys/types.h>

/*
 * Take the lock on path (created 0600; a symbolic link is refused) and write our pid into
 * it. Returns the descriptor (O_CLOEXEC; keep it open while the lock is needed, close it to
 * let go); -EWOULDBLOCK when another process holds it, with *holder its pid (0 when it has
 * not written it yet); or another -errno with err filled ("PATH: reason").
 */
int lockfile_take(const char *path, pid_t *holder, char *err, size_t errlen);

#endif
