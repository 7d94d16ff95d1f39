/* log.c: stderr or syslog logging for every wgrelay program (see log.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "log.h"

static const char *log_progname = "wgrelay";
static int log_verbose;
static int log_syslog;
static enum log_style log_style_cur = LOG_STYLE_PLAIN;

/*
 * systemd connects stderr to the journal and says so in JOURNAL_STREAM, "DEV:INO" in decimal
 * of that stream (systemd.exec(5)); a stderr redirected elsewhere since has another DEV:INO.
 */
static int log_stderr_is_journal(void)
{
	const char *e = getenv("JOURNAL_STREAM");
	unsigned long long dev, ino;
	struct stat st;
	char end;

	if (!e || sscanf(e, "%llu:%llu%c", &dev, &ino, &end) != 2 || fstat(STDERR_FILENO, &st) < 0)
		return 0;
	return (unsigned long long)st.st_dev == dev && (unsigned long long)st.st_ino == ino;
}

void log_init(const char *progname, int verbose, int use_syslog)
{
	if (progname)
		log_progname = progname;
	log_verbose = verbose;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	if (log_stderr_is_journal())
		log_style_cur = LOG_STYLE_JOURNAL;
	else if (isatty(STDERR_FILENO))
		log_style_cur = LOG_STYLE_TTY;
	else
		log_style_cur = LOG_STYLE_PLAIN;
}

enum log_style log_get_style(void)
{
	return log_style_cur;
}

void log_setverbose(int verbose)
{
	log_verbose = verbose;
}

int log_getverbose(void)
{
	return log_verbose;
}

static const char *log_level_name(int pri)
{
	switch (pri) {
	case LOG_DEBUG:
		return "debug";
	case LOG_INFO:
		return "info";
	case LOG_WARNING:
		return "warning";
	default:
		return "fatal";
	}
}

/* The journal's priority prefix (sd-daemon(3)): fatal lines are errors. */
static int log_journal_pri(int pri)
{
	return pri == LOG_DEBUG ? 7 : pri == LOG_INFO ? 6 : pri == LOG_WARNING ? 4 : 3;
}

/*
 * One line, written with one call. To the journal: "<PRI>msg", the journal adds the time and
 * the program (fatal lines keep their "fatal: ", which says the program stopped); to a
 * terminal: "HH:MM:SS prog: level: msg"; elsewhere "prog: level: msg" (a file or a pipe that
 * a supervisor timestamps). errno is preserved so callers can log and then still inspect it.
 */
static void log_vwrite(int pri, const char *fmt, va_list ap, const char *suffix)
{
	int saved = errno;
	char msg[1024], head[64];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog) {
		if (suffix)
			syslog(pri, "%s: %s", msg, suffix);
		else
			syslog(pri, "%s", msg);
		errno = saved;
		return;
	}
	if (log_style_cur == LOG_STYLE_JOURNAL) {
		snprintf(head, sizeof(head), "<%d>%s", log_journal_pri(pri),
		         pri == LOG_CRIT ? "fatal: " : "");
	} else {
		char ts[16] = "";

		if (log_style_cur == LOG_STYLE_TTY) {
			time_t now = time(NULL);
			struct tm tm;

			if (localtime_r(&now, &tm))
				strftime(ts, sizeof(ts), "%H:%M:%S ", &tm);
		}
		snprintf(head, sizeof(head), "%s%s: %s: ", ts, log_progname, log_level_name(pri));
	}
	if (suffix)
		fprintf(stderr, "%s%s: %s\n", head, msg, suffix);
	else
		fprintf(stderr, "%s%s\n", head, msg);
	errno = saved;
}

void log_warn(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, fmt, ap, strerror(saved));
	va_end(ap);
	errno = saved;
}

void log_warnx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_WARNING, fmt, ap, NULL);
	va_end(ap);
}

void log_info(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_INFO, fmt, ap, NULL);
	va_end(ap);
}

void log_debug(const char *fmt, ...)
{
	va_list ap;

	if (!log_verbose)
		return;
	va_start(ap, fmt);
	log_vwrite(LOG_DEBUG, fmt, ap, NULL);
	va_end(ap);
}

void fatal(const char *fmt, ...)
{
	int saved = errno;
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap, strerror(saved));
	va_end(ap);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_vwrite(LOG_CRIT, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

static uint64_t log_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* True when this line may be written; then *suppressed holds how many were held back. */
static int log_rl_pass(struct log_ratelimit *rl, uint64_t *suppressed)
{
	uint64_t now = log_now_ms();

	if (rl->last_ms && now - rl->last_ms < rl->interval_ms) {
		rl->suppressed++;
		return 0;
	}
	rl->last_ms = now ? now : 1;
	*suppressed = rl->suppressed;
	rl->suppressed = 0;
	return 1;
}

static void log_vwrite_rl(int pri, uint64_t suppressed, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (pri == LOG_INFO && suppressed)
		log_info("%s (%llu similar suppressed)", msg, (unsigned long long)suppressed);
	else if (pri == LOG_INFO)
		log_info("%s", msg);
	else if (suppressed)
		log_warnx("%s (%llu similar suppressed)", msg, (unsigned long long)suppressed);
	else
		log_warnx("%s", msg);
}

void log_warnx_rl(struct log_ratelimit *rl, const char *fmt, ...)
{
	uint64_t suppressed;
	va_list ap;

	if (!log_rl_pass(rl, &suppressed))
		return;
	va_start(ap, fmt);
	log_vwrite_rl(LOG_WARNING, suppressed, fmt, ap);
	va_end(ap);
}

void log_info_rl(struct log_ratelimit *rl, const char *fmt, ...)
{
	uint64_t suppressed;
	va_list ap;

	if (!log_rl_pass(rl, &suppressed))
		return;
	va_start(ap, fmt);
	log_vwrite_rl(LOG_INFO, suppressed, fmt, ap);
	va_end(ap);
}
