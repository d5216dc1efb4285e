/*
 * msgid.h - Message-ID values for messages relay originates or completes.
 *
 *   "<" YYYYMMDDhhmmss "." RANDOM "@" hostname ">"
 *
 * The time is UTC (Postfix's layout); RANDOM is 16 upper-case hex digits
 * from the kernel's random source, so two ids made in the same second on
 * the same host differ with overwhelming probability.
 */
#ifndef RELAY_MSGID_H
#define RELAY_MSGID_H

#include <stddef.h>
#include <time.h>

#include "base/err.h"

/* Room for any id msgid_make writes with a hostname of up to 255 bytes. */
#define MSGID_MAX 300

/* msgid_make - write a new id, brackets included, to out[size].  A
 * hostname with characters not allowed in a domain is replaced by
 * "localhost".  Errors: ERR_TEMP when no random bytes are available,
 * ERR_INTERNAL when out is too small. */
int msgid_make(
    char *out, size_t size, time_t now, const char *hostname, struct err *err);

#endif
