/* log.c: stderr or syslog logging for every wgrelay program (see log.h). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include "log.h"

static const char *log_progname = "wgrelay";
static int log_verbose;
static int log_syslog;

void log_init(const char *progname, int verbose, int use_syslog)
{
	if (progname)
		log_progname = progname;
	log_verbose = verbose;
	log_syslog = use_syslog;
	if (use_syslog)
		openlog(log_progname, LOG_PID | LOG_NDELAY, LOG_DAEMON);
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

/*
 * stderr lines carry no timestamp (journald or the terminal adds one): "prog: level: msg".
 * errno is preserved so callers can log and then still inspect it.
 */
static void log_vwrite(int pri, const char *fmt, va_list ap, const char *suffix)
{
	int saved = errno;
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (log_syslog) {
		if (suffix)
			syslog(pri, "%s: %s", msg, suffix);
		else
			syslog(pri, "%s", msg);
	} else if (suffix) {
		fprintf(stderr, "%s: %s: %s: %s\n", log_progname, log_level_name(pri), msg, suffix);
	} else {
		fprintf(stderr, "%s: %s: %s\n", log_progname, log_level_name(pri), msg);
	}
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
