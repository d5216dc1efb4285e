/*
 * str.c - bounded copies, checked parsers, escaping (see str.h).
 *
 * Security: every function here treats its input as untrusted bytes and
 * casts to unsigned char before ctype calls.
 */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/str.h"

int
str_copy(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (size == 0)
		return -1;
	if (n >= size) {
		memcpy(dst, src, size - 1);
		dst[size - 1] = '\0';
		return -1;
	}
	memcpy(dst, src, n + 1);
	return 0;
}

int
str_fmt(char *dst, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(dst, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return 0;
}

int
str_to_ll(const char *s, long long min, long long max, long long *out)
{
	char *end;
	long long v;

	if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < min || v > max)
		return -1;
	*out = v;
	return 0;
}

/* str_split_unit - parse "<digits><unit>", unit optional (one letter). */
static int
str_split_unit(const char *s, unsigned long long *num, char *unit)
{
	char *end;
	unsigned long long v;

	if (s == NULL || !isdigit((unsigned char)*s))
		return -1;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno != 0)
		return -1;
	*unit = *end;
	if (*end != '\0' && end[1] != '\0')
		return -1;
	*num = v;
	return 0;
}

int
str_parse_duration(const char *s, long long *out)
{
	unsigned long long v, mul;
	char unit;

	if (str_split_unit(s, &v, &unit) == -1)
		return -1;
	switch (tolower((unsigned char)unit)) {
	case '\0':
	case 's':
		mul = 1;
		break;
	case 'm':
		mul = 60;
		break;
	case 'h':
		mul = 3600;
		break;
	case 'd':
		mul = 86400;
		break;
	case 'w':
		mul = 604800;
		break;
	default:
		return -1;
	}
	if (v > (unsigned long long)INT32_MAX / mul)
		return -1;
	*out = (long long)(v * mul);
	return 0;
}

int
str_parse_size(const char *s, uint64_t *out)
{
	unsigned long long v, mul;
	char unit;

	if (str_split_unit(s, &v, &unit) == -1)
		return -1;
	switch (toupper((unsigned char)unit)) {
	case '\0':
	case 'B':
		mul = 1;
		break;
	case 'K':
		mul = 1024ULL;
		break;
	case 'M':
		mul = 1024ULL * 1024;
		break;
	case 'G':
		mul = 1024ULL * 1024 * 1024;
		break;
	default:
		return -1;
	}
	if (v > (1ULL << 50) / mul)
		return -1;
	*out = (uint64_t)(v * mul);
	return 0;
}

bool
str_has_prefix_ci(const char *s, const char *prefix)
{
	return strncasecmp(s, prefix, strlen(prefix)) == 0;
}

bool
str_eq_ci(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

char *
str_trim(char *s)
{
	size_t n;

	while (isspace((unsigned char)*s))
		s++;
	n = strlen(s);
	while (n > 0 && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

int
str_escape(struct buf *out, const char *p, size_t n)
{
	size_t i;
	int rc = 0;

	for (i = 0; i < n && rc == 0; i++) {
		unsigned char c = (unsigned char)p[i];

		if (c == '\r')
			rc = buf_puts(out, "\\r");
		else if (c == '\n')
			rc = buf_puts(out, "\\n");
		else if (c == '\t')
			rc = buf_puts(out, "\\t");
		else if (c == '\\')
			rc = buf_puts(out, "\\\\");
		else if (c < 0x20 || c >= 0x7f)
			rc = buf_appendf(out, "\\x%02x", c);
		else
			rc = buf_putc(out, (char)c);
	}
	return rc;
}

/* str_utf8_len - length of the valid UTF-8 sequence at p (at most n
 * bytes), or 0 when p does not start one (overlong forms, surrogates and
 * code points above U+10FFFF are not valid). */
static size_t
str_utf8_len(const unsigned char *p, size_t n)
{
	size_t len, i;
	unsigned long cp;

	if (p[0] >= 0xc2 && p[0] <= 0xdf)
		len = 2, cp = p[0] & 0x1fu;
	else if (p[0] >= 0xe0 && p[0] <= 0xef)
		len = 3, cp = p[0] & 0x0fu;
	else if (p[0] >= 0xf0 && p[0] <= 0xf4)
		len = 4, cp = p[0] & 0x07u;
	else
		return 0;
	if (len > n)
		return 0;
	for (i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3fu);
	}
	if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return len;
}

int
str_json(struct buf *out, const char *p, size_t n)
{
	const unsigned char *u = (const unsigned char *)p;
	size_t i = 0, seq;
	int rc = buf_putc(out, '"');

	while (i < n && rc == 0) {
		unsigned char c = u[i];

		if (c >= 0x80 && (seq = str_utf8_len(u + i, n - i)) > 0) {
			rc = buf_append(out, p + i, seq);
			i += seq;
			continue;
		}
		if (c == '"' || c == '\\')
			rc = buf_appendf(out, "\\%c", c);
		else if (c == '\n')
			rc = buf_puts(out, "\\n");
		else if (c == '\r')
			rc = buf_puts(out, "\\r");
		else if (c == '\t')
			rc = buf_puts(out, "\\t");
		else if (c < 0x20 || c >= 0x7f)
			rc = buf_appendf(out, "\\u%04x", c);
		else
			rc = buf_putc(out, (char)c);
		i++;
	}
	if (rc == 0)
		rc = buf_putc(out, '"');
	return rc;
}

void
str_lower(char *s)
{
	for (; *s != '\0'; s++)
		*s = (char)tolower((unsigned char)*s);
}
