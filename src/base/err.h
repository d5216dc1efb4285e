/*
 * err.h - the one error convention of relay.
 *
 * Action functions take a struct err * as their last argument and return 0,
 * or -1 with the err filled in.  err_set() and err_sys() return -1 so that
 * a caller can write "return err_set(err, ERR_TEMP, ...)".  Each program maps
 * the four classes to consequences in exactly one place (sendmail: sysexits
 * in submit; relayd: runner_trouble.c).
 */
#ifndef RELAY_ERR_H
#define RELAY_ERR_H

#include <stdarg.h>

enum err_class {
	ERR_NONE = 0,
	ERR_TEMP, /* retry later */
	ERR_PERM, /* bounce / refuse for good */
	ERR_CONFIG, /* the operator must fix something */
	ERR_INTERNAL, /* a bug */
};

struct err {
	enum err_class cls;
	int sys_errno; /* errno, or 0 */
	int smtp_code; /* SMTP reply code, or 0 */
	int reason; /* module-specific code (e.g. enum smtp_reason), or 0 */
	char enh[16]; /* enhanced status "4.7.0", or "" */
	char msg[256]; /* one line, no trailing newline */
};

/* err_clear - reset to ERR_NONE and empty fields. */
void err_clear(struct err *err);

/* err_set - fill err with class and message; returns -1. err may be NULL. */
int err_set(struct err *err, enum err_class cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* err_sys - like err_set, appending ": strerror(errno)"; keeps errno in
 * sys_errno.  Returns -1. */
int err_sys(struct err *err, enum err_class cls, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* err_vset - va_list form of err_set. */
int err_vset(struct err *err, enum err_class cls, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

/* err_class_name - "temp", "perm", "config", "internal" or "none". */
const char *err_class_name(enum err_class cls);

/* err_temp_for_errno - ERR_TEMP for environment trouble (ENOSPC, EIO, ...)
 * is the default; this says whether an errno is of that kind. */
int err_errno_is_full(int e);

#endif
