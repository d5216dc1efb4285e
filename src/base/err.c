/*
 * err.c - struct err helpers (see err.h).
 *
 * Owns nothing; fills a caller's struct.  Messages are truncated to fit
 * msg[], never overflow it.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "base/err.h"
#include "base/str.h"

void
err_clear(struct err *err)
{
	if (err == NULL)
		return;
	memset(err, 0, sizeof(*err));
}

int
err_vset(struct err *err, enum err_class cls, const char *fmt, va_list ap)
{
	if (err == NULL)
		return -1;
	err->cls = cls;
	(void)vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	return -1;
}

int
err_set(struct err *err, enum err_class cls, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	(void)err_vset(err, cls, fmt, ap);
	va_end(ap);
	if (err != NULL)
		err->sys_errno = 0;
	return -1;
}

int
err_sys(struct err *err, enum err_class cls, const char *fmt, ...)
{
	int saved = errno;
	size_t len;
	va_list ap;

	if (err == NULL)
		return -1;
	va_start(ap, fmt);
	(void)err_vset(err, cls, fmt, ap);
	va_end(ap);
	len = strlen(err->msg);
	(void)snprintf(
	    err->msg + len, sizeof(err->msg) - len, ": %s", strerror(saved));
	err->sys_errno = saved;
	errno = saved;
	return -1;
}

const char *
err_class_name(enum err_class cls)
{
	switch (cls) {
	case ERR_NONE:
		return "none";
	case ERR_TEMP:
		return "temp";
	case ERR_PERM:
		return "perm";
	case ERR_CONFIG:
		return "config";
	case ERR_INTERNAL:
		return "internal";
	}
	return "unknown";
}

int
err_errno_is_full(int e)
{
	return e == ENOSPC || e == EDQUOT || e == EFBIG;
}
