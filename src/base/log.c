/*
 * log.c - one log line to syslog(LOG_MAIL), stderr and a file.
 *
 * State: the ident, the destination flags, an optional append-only file.
 * Security: callers never pass secrets; untrusted bytes are passed as %s
 * arguments, never as formats.  Control characters in a line are escaped
 * before output so that mail or server text cannot forge log lines.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

static void log_emit(int prio, bool with_errno, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
static void log_die(bool panic, bool with_errno, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0), noreturn));

static char log_ident[64] = "relay";
static int log_flags_now = LOG_TO_STDERR;
static int log_fd = -1;
static int log_fatal_code = 70;
static void (*log_fatal_hook)(const char *);
static bool log_syslog_open;

void
log_init(const char *ident, int flags)
{
	(void)snprintf(log_ident, sizeof(log_ident), "%s", ident);
	log_set_flags(flags);
}

void
log_set_flags(int flags)
{
	log_flags_now = flags;
	if ((flags & LOG_TO_SYSLOG) && !log_syslog_open) {
		/* connected at the first message, not now: most runs of
		 * sendmail log nothing, and each run would pay for it */
		openlog(log_ident, LOG_PID, LOG_MAIL);
		log_syslog_open = true;
	}
}

int
log_get_flags(void)
{
	return log_flags_now;
}

int
log_set_file(const char *path)
{
	int fd;

	if (log_fd != -1) {
		(void)close(log_fd);
		log_fd = -1;
	}
	if (path == NULL)
		return 0;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
	if (fd == -1)
		return -1;
	log_fd = fd;
	return 0;
}

void
log_set_fatal_code(int code)
{
	log_fatal_code = code;
}

void
log_set_fatal_hook(void (*hook)(const char *msg))
{
	log_fatal_hook = hook;
}

/* log_sanitize - replace control characters so one event is one line. */
static void
log_sanitize(char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c < 0x20 || c == 0x7f)
			*s = '?';
	}
}

static void
log_write_fd(int fd, const char *line, bool stamp)
{
	char out[2200];
	char ts[40] = "";
	int n;

	if (stamp) {
		struct timeval tv;
		struct tm tm;

		(void)gettimeofday(&tv, NULL);
		(void)localtime_r(&tv.tv_sec, &tm);
		(void)strftime(ts, sizeof(ts), "%b %e %H:%M:%S ", &tm);
	}
	n = snprintf(out, sizeof(out), "%s%s[%ld]: %s\n", ts, log_ident,
	    (long)getpid(), line);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(out))
		n = (int)sizeof(out) - 1;
	(void)!write(fd, out, (size_t)n);
}

/* log_syslog_usable - is there a log socket to write to?  Without one
 * (a container with no syslog daemon) syslog() tries to connect again on
 * every line, three failing system calls each time; looking for the
 * socket once a second costs one.  A daemon started later is found
 * within that second. */
static bool
log_syslog_usable(void)
{
	static time_t checked;
	static bool usable;
	time_t now = time(NULL);

	if (now != checked) {
		checked = now;
		usable = access(_PATH_LOG, W_OK) == 0;
	}
	return usable;
}

static void
log_emit(int prio, bool with_errno, const char *fmt, va_list ap)
{
	char line[2048];
	int saved = errno;
	size_t len;

	if (prio == LOG_DEBUG && !(log_flags_now & LOG_VERBOSE))
		return;
	(void)vsnprintf(line, sizeof(line), fmt, ap);
	if (with_errno) {
		len = strlen(line);
		(void)snprintf(
		    line + len, sizeof(line) - len, ": %s", strerror(saved));
	}
	log_sanitize(line);
	if ((log_flags_now & LOG_TO_SYSLOG) && log_syslog_usable())
		syslog(prio, "%s", line);
	if (log_flags_now & LOG_TO_STDERR)
		log_write_fd(STDERR_FILENO, line, false);
	if (log_fd != -1)
		log_write_fd(log_fd, line, true);
	errno = saved;
}

#define LOG_FN(name, prio, witherr) \
	void name(const char *fmt, ...) \
	{ \
		va_list ap; \
		va_start(ap, fmt); \
		log_emit(prio, witherr, fmt, ap); \
		va_end(ap); \
	}

LOG_FN(log_debug, LOG_DEBUG, false)
LOG_FN(log_info, LOG_INFO, false)
LOG_FN(log_warn, LOG_WARNING, true)
LOG_FN(log_warnx, LOG_WARNING, false)
LOG_FN(log_err, LOG_ERR, true)
LOG_FN(log_errx, LOG_ERR, false)

static void
log_die(bool panic, bool with_errno, const char *fmt, va_list ap)
{
	char line[2048];
	va_list ap2;

	va_copy(ap2, ap);
	(void)vsnprintf(line, sizeof(line), fmt, ap2);
	va_end(ap2);
	log_emit(panic ? LOG_CRIT : LOG_ERR, with_errno, fmt, ap);
	if (log_fatal_hook != NULL)
		log_fatal_hook(line);
	if (panic)
		abort();
	exit(log_fatal_code);
}

void
log_fatal(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_die(false, true, fmt, ap);
}

void
log_fatalx(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_die(false, false, fmt, ap);
}

void
log_panic(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	log_die(true, false, fmt, ap);
}
