/*
 * runner_bounce.h - delivery status notifications (RFC 3464) for
 * recipients that failed for good, queued like any message and sent
 * through the smarthost.
 *
 *   FAILED recipient, unreported
 *        |  runner_bounce_one (one transaction):
 *        |    null sender or NOTIFY=NEVER / no FAILURE: nothing sent,
 *        |      logged, the failure marked reported (kept as FAILED)
 *        |    else: multipart/report queued to the envelope sender
 *        |      (local senders through aliases / default_recipient),
 *        |      null envelope sender, and the failure marked reported
 *        v
 *   reported (spool_mark_reported): never bounced twice
 *
 * The report: From MAILER-DAEMON@hostname; a text/plain explanation; a
 * message/delivery-status part (Reporting-MTA, Arrival-Date, per
 * recipient Final-Recipient, Action: failed, Status, Remote-MTA,
 * Diagnostic-Code: smtp; ..., Last-Attempt-Date); then the original as
 * message/rfc822 when it fits bounce_return_size and RET is not HDRS,
 * else its header as text/rfc822-headers.  Server text goes only into
 * body lines (cleaned and bounded), never into a header of the report.
 */
#ifndef RELAY_RUNNER_BOUNCE_H
#define RELAY_RUNNER_BOUNCE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"
#include "mail/aliases.h"
#include "mail/conf.h"
#include "spool/spool.h"

/* What a report is made of (runner_bounce_compose). */
struct runner_dsn {
	const struct conf *conf;
	const struct spool_msg_info *mi; /* with every recipient */
	const char *orig; /* the original message, or its header */
	size_t orig_len;
	bool full; /* orig is the whole message */
	time_t now;
	const char *boundary; /* unique MIME boundary */
	const char *msgid; /* "<...>" */
};

/* runner_bounce_compose - the report for mi's FAILED, unreported
 * recipients, CRLF line ends, appended to out.  ERR_TEMP when out is
 * too small. */
int runner_bounce_compose(
    const struct runner_dsn *d, struct buf *out, struct err *err);

/* runner_bounce_one - report qid's unreported failures (diagram above).
 * a may be NULL (no aliases).  OUT bqid: the report's queue id, or ""
 * when none was queued.  0, or -1 with err (ERR_TEMP: spool trouble,
 * nothing changed). */
int runner_bounce_one(struct spool *sp, const struct conf *c,
    const struct aliases *a, const char *qid, time_t now,
    char bqid[SPOOL_QID_SIZE], struct err *err);

/* runner_bounce_sweep - runner_bounce_one for up to max messages with
 * unreported failures (expired, returned by relayctl, or left by a
 * worker that died).  OUT *queued: reports queued (may be NULL). */
int runner_bounce_sweep(struct spool *sp, const struct conf *c,
    const struct aliases *a, time_t now, size_t max, size_t *queued,
    struct err *err);

#endif
