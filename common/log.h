/* log.h: one logger for every program (OpenBSD log.c style). */
#ifndef WGR_LOG_H
#define WGR_LOG_H

#include <stdint.h>

#define LOG_ATTR(a, b) __attribute__((format(printf, a, b)))

/*
 * Set the program name, verbosity (0 info, 1 debug) and destination (stderr or syslog). It
 * also looks at what stderr is, for the form of its lines (enum log_style): call it again
 * after redirecting stderr.
 */
void log_init(const char *progname, int verbose, int use_syslog);

enum log_style {
	LOG_STYLE_PLAIN,   /* "prog: level: msg" */
	LOG_STYLE_TTY,     /* a terminal: "HH:MM:SS prog: level: msg" (local time) */
	LOG_STYLE_JOURNAL, /* systemd's journal (JOURNAL_STREAM): "<PRI>msg", PRI 3/4/6/7 */
};
enum log_style log_get_style(void);
void log_setverbose(int verbose);
int log_getverbose(void);

/* log_warn appends ": strerror(errno)"; the x variants do not. */
void log_warn(const char *fmt, ...) LOG_ATTR(1, 2);
void log_warnx(const char *fmt, ...) LOG_ATTR(1, 2);
void log_info(const char *fmt, ...) LOG_ATTR(1, 2);
void log_debug(const char *fmt, ...) LOG_ATTR(1, 2);
/* Log and exit(1). */
__attribute__((noreturn)) void fatal(const char *fmt, ...) LOG_ATTR(1, 2);
__attribute__((noreturn)) void fatalx(const char *fmt, ...) LOG_ATTR(1, 2);

/*
 * Packet-path logging: at most one line per interval_ms for this limiter; lines suppressed in
 * between are counted and reported ("(N similar suppressed)") with the next line let through.
 */
struct log_ratelimit {
	uint64_t last_ms;
	uint64_t suppressed;
	uint32_t interval_ms;
};
#define LOG_RATELIMIT_INIT(ms)                                                                     \
	{                                                                                          \
		0, 0, (ms)                                                                         \
	}
void log_warnx_rl(struct log_ratelimit *rl, const char *fmt, ...) LOG_ATTR(2, 3);
void log_info_rl(struct log_ratelimit *rl, const char *fmt, ...) LOG_ATTR(2, 3);

#endif
