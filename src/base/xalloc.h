/*
 * xalloc.h - allocation that never returns NULL.
 *
 * Out of memory is not an error path: these call log_fatal.  x_free(NULL)
 * style: xfree(NULL) is a no-op.  Results are owned by the caller.
 */
#ifndef RELAY_XALLOC_H
#define RELAY_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
void *xreallocarray(void *p, size_t nmemb, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void xfree(void *p);

/* xwipe_free - overwrite n bytes of a secret, then free it. */
void xwipe_free(void *p, size_t n);

#endif
