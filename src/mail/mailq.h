/*
 * mailq.h - `mailq` / `sendmail -bp`: the queue in Postfix's format, which
 * monitoring tools parse (SENDMAIL.md 1.3.11):
 *
 *   -Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------
 *   0HOS22GD1UIZ2P     1234 Fri Dec  4 22:49:59  root@example.org
 *                                                             (Connection refused)
 *                                            bob@example.net
 *
 *   -- 1 Kbytes in 1 Request.
 *
 * Rows are "%-11s %7ld %20.20s %s" (queue id plus '*' when being sent, '!'
 * when held, else a space; relay's 14-character ids widen the first
 * column), a reason line "(reason)" after 76 - strlen(reason) spaces
 * whenever it changes from the previous recipient's, each recipient not
 * yet done
 * indented 41 columns, a blank line between messages, and the summary
 * (total bytes / 1024 rounded down; "Request" singular only for 1).  An
 * empty queue prints "Mail queue is empty".
 *
 * The data comes from relayd's "list" control request (ctlclient.h); no
 * SQLite, so sendmail can link it.
 */
#ifndef RELAY_MAILQ_H
#define RELAY_MAILQ_H

#include <stdio.h>

#include "base/err.h"
#include "mail/conf.h"
#include "mail/ctlclient.h"

/* mailq_print - print the caller's view of the queue (every message for
 * root and group relay, else the caller's own) to out.  Returns 0, or -1:
 * ERR_TEMP "mail system is down: relayd is not running (...)" when relayd
 * cannot be reached, ERR_TEMP / ERR_INTERNAL for a broken answer, ERR_PERM
 * when relayd refused.  Output already written stays written. */
int mailq_print(const struct conf *c, FILE *out, struct err *err);

/* mailq_state - the printer's running state, for mailq_format_msg. */
struct mailq_state {
	FILE *out;
	unsigned long count; /* messages printed */
	unsigned long long bytes; /* their total size */
};

/* mailq_format_msg - print one message's entry (the heading before the
 * first).  Exposed for tests and for relayctl's direct spool reading. */
int mailq_format_msg(
    struct mailq_state *st, const struct ctlclient_msg *m, struct err *err);

/* mailq_format_end - print the summary line or "Mail queue is empty". */
int mailq_format_end(struct mailq_state *st, struct err *err);

#endif
