/*
 * str.h - bounded string helpers and checked number parsers.
 *
 * Fixed arrays are written only through str_copy/str_fmt, which return -1
 * on truncation (the destination then holds a truncated, terminated copy).
 */
#ifndef RELAY_STR_H
#define RELAY_STR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"

int str_copy(char *dst, size_t size, const char *src);
int str_fmt(char *dst, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* str_to_ll - parse a whole decimal integer within [min, max]; 0 or -1. */
int str_to_ll(const char *s, long long min, long long max, long long *out);

/* str_parse_duration - "30" "30s" "5m" "2h" "5d" "1w" to seconds; 0/-1. */
int str_parse_duration(const char *s, long long *out);

/* str_parse_size - "512" "512K" "50M" "1G" (binary multiples) to bytes. */
int str_parse_size(const char *s, uint64_t *out);

/* str_has_prefix_ci - does s start with prefix, ignoring ASCII case? */
bool str_has_prefix_ci(const char *s, const char *prefix);

/* str_eq_ci - ASCII case-insensitive equality. */
bool str_eq_ci(const char *a, const char *b);

/* str_trim - strip ASCII white space at both ends, in place; returns s
 * advanced past leading space. */
char *str_trim(char *s);

/* str_escape - append p[0..n) to out with control characters and bytes
 * >= 0x7f shown as \r \n \t \xHH; for showing untrusted text.  -1 past max. */
int str_escape(struct buf *out, const char *p, size_t n);

/* str_json - append p[0..n) as a JSON string literal (with quotes).
 * Valid UTF-8 passes through; other bytes >= 0x7f and controls become
 * \\u00XX (one escape per byte, so a reader can restore the bytes). */
int str_json(struct buf *out, const char *p, size_t n);

/* str_lower - ASCII lower-case in place. */
void str_lower(char *s);

#endif
