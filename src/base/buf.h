/*
 * buf.h - the one string type: growable, binary-safe, always NUL-terminated,
 * with a hard maximum set at init.  Appending past the maximum fails (-1,
 * nothing appended) instead of growing without bound.
 *
 * A zeroed struct buf is not valid; call buf_init first.  data is owned by
 * the buf; it is valid until the next append, buf_consume or buf_free.
 */
#ifndef RELAY_BUF_H
#define RELAY_BUF_H

#include <stdbool.h>
#include <stddef.h>

struct buf {
	char *data; /* len bytes, then a NUL */
	size_t len;
	size_t cap; /* allocated, including the NUL */
	size_t max; /* largest len allowed */
};

/* buf_init - empty buffer that may grow to max bytes. */
void buf_init(struct buf *b, size_t max);

/* buf_free - release memory; the buf must be re-initialised to be reused. */
void buf_free(struct buf *b);

/* buf_wipe_free - zero the contents (secrets) then free. */
void buf_wipe_free(struct buf *b);

/* buf_reset - length 0, memory kept. */
void buf_reset(struct buf *b);

/* buf_append - append n bytes; -1 if the result would exceed max. */
int buf_append(struct buf *b, const void *p, size_t n);

/* buf_puts - append a C string. */
int buf_puts(struct buf *b, const char *s);

/* buf_putc - append one byte. */
int buf_putc(struct buf *b, char c);

/* buf_appendf - append formatted text; -1 past max. */
int buf_appendf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* buf_consume - drop the first n bytes (n <= len). */
void buf_consume(struct buf *b, size_t n);

/* buf_truncate - shorten to n bytes (n <= len). */
void buf_truncate(struct buf *b, size_t n);

/* buf_steal - hand the NUL-terminated data to the caller (free with xfree);
 * the buf becomes empty but stays initialised. */
char *buf_steal(struct buf *b);

#endif
