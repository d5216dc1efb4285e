/*
 * aliases.h - the aliases file (the usual /etc/aliases format) and the
 * expansion of local recipients.
 *
 *   name: target, target, ...      (continuation lines start with white
 *                                   space; '#' comments; names are
 *                                   case-insensitive)
 *
 * A recipient is local when it has no '@' or its domain is a local domain
 * (conf_is_local_domain).  Expansion is recursive and loop-safe: a name
 * that reaches itself again is final.  A local name with no alias goes to
 * default_recipient when that is set, else to name@domain.  Targets a null
 * client cannot deliver (|command, /file, :include:) are refused by
 * aliases_load with file and line (ERR_CONFIG).
 */
#ifndef RELAY_ALIASES_H
#define RELAY_ALIASES_H

#include <stddef.h>

#include "base/err.h"
#include "mail/conf.h"

struct aliases;

/* aliases_load - parse path; a missing file or path "" gives an empty
 * table (not an error).  Result owned by the caller. */
struct aliases *aliases_load(const char *path, struct err *err);
void aliases_free(struct aliases *a);

/* aliases_count - number of alias names (newaliases reports it). */
size_t aliases_count(const struct aliases *a);

/* aliases_expand - expand rcpt into final, qualified addresses appended
 * to *out (an array of nout strings, grown with xreallocarray, each owned
 * by the caller); duplicates are not appended twice. */
int aliases_expand(const struct aliases *a, const struct conf *c,
    const char *rcpt, char ***out, size_t *nout, struct err *err);

#endif
