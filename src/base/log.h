/*
 * log.h - logging to syslog (facility mail), stderr and an optional file.
 *
 * Line shape: "<queue-id> <event> key=value ...".  The plain forms append
 * ": strerror(errno)"; the x forms do not.  log_fatal* exit(EX_SOFTWARE or
 * the code given to log_set_fatal_code); log_panic* abort().  Tests replace
 * the fatal path with log_set_fatal_hook().
 */
#ifndef RELAY_LOG_H
#define RELAY_LOG_H

#include <stdbool.h>

enum log_flags {
	LOG_TO_STDERR = 1 << 0,
	LOG_TO_SYSLOG = 1 << 1,
	LOG_VERBOSE = 1 << 2, /* let log_debug through */
};

/* log_init - set the ident (program name) and destinations. */
void log_init(const char *ident, int flags);

/* log_set_flags - change destinations after start. */
void log_set_flags(int flags);

/* log_get_flags - the destinations and verbosity in effect (relayd
 * passes LOG_VERBOSE on to its delivery workers). */
int log_get_flags(void);

/* log_set_file - also append every line to path (NULL closes it).
 * Returns 0, or -1 with errno set. */
int log_set_file(const char *path);

/* log_set_fatal_code - exit status of log_fatal (default 70). */
void log_set_fatal_code(int code);

/* log_set_fatal_hook - called instead of exit/abort (tests). */
void log_set_fatal_hook(void (*hook)(const char *msg));

void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_errx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_fatal(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void log_fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));
void log_panic(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
