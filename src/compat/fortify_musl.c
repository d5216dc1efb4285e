/*
 * fortify_musl.c - the three checked printf entry points that Debian's
 * libconfuse.a calls, for the musl build of sendmail (cmake/RelayMusl.cmake).
 *
 * The archive is compiled against glibc with _FORTIFY_SOURCE, so its
 * fprintf and snprintf calls are __fprintf_chk and __snprintf_chk; musl
 * has no fortify layer.  These forward to the plain functions and keep the
 * one check that matters: a length larger than the destination's known
 * size aborts, as glibc's __chk_fail does.  Nothing else in relay is
 * built with them; the glibc build links the archive against glibc.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

int __fprintf_chk(FILE *f, int flag, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
int __vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));
int __snprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt,
    ...) __attribute__((format(printf, 5, 6)));

int
__vfprintf_chk(FILE *f, int flag, const char *fmt, va_list ap)
{
	(void)flag;
	return vfprintf(f, fmt, ap);
}

int
__fprintf_chk(FILE *f, int flag, const char *fmt, ...)
{
	va_list ap;
	int r;

	(void)flag;
	va_start(ap, fmt);
	r = vfprintf(f, fmt, ap);
	va_end(ap);
	return r;
}

int
__snprintf_chk(char *s, size_t n, int flag, size_t slen, const char *fmt, ...)
{
	va_list ap;
	int r;

	(void)flag;
	if (n > slen)
		abort();
	va_start(ap, fmt);
	r = vsnprintf(s, n, fmt, ap);
	va_end(ap);
	return r;
}
