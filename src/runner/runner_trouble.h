/*
 * runner_trouble.h - the one place where delivery outcomes become spool
 * transitions (recipient results, claims ended or given back, smarthost
 * health).  The delivery worker reports what the smarthost said; this
 * module decides what it means.
 *
 * Verdicts (the table in runner_trouble.c maps each outcome's class and
 * scope, with the few reply codes that override them):
 *
 *   outcome                               verdict       spool transition
 *   ------------------------------------  ------------  -------------------
 *   2xx after the final dot               SENT          recipient SENT
 *   5xx (recipient, sender, data, size)   FAILED        recipient FAILED,
 *                                                       bounce queued
 *   4xx about the recipient or message    DEFERRED      recipient DEFERRED,
 *                                                       backoff by attempts
 *   452 4.5.3 with others accepted        AGAIN         left pending: sent
 *                                                       in a new transaction
 *   session lost inside the transaction   LOST          recipient DEFERRED
 *     (MAIL .. final dot)                               with backoff; the
 *                                                       others go first on a
 *                                                       new connection
 *   session lost before it (RSET)         RETRY         nothing; reconnect
 *   421, or an open failure (temporary)   HOST          smarthost BACKOFF,
 *                                                       message released
 *   relay fault (AUTH, certificate,       FAULT         smarthost FAULT,
 *     downgrade, config, 530 at MAIL)                   retried at
 *                                                       retry.max, nothing
 *                                                       bounced
 *
 * Smarthost health (per smarthost block, in the spool):
 *
 *            open ok (runner_trouble_open_ok)
 *        +------------------------------------------+
 *        v                                          |
 *       OK --open fails, temporary----------> BACKOFF (next_try: host
 *        |  (runner_trouble_host_fail)          |  ^   backoff by failures)
 *        |                                      |  |
 *        +--relay fault----------------------> FAULT (next_try: retry.max)
 *                                               logged once per change
 *   Leaving BACKOFF or FAULT for OK makes everything waiting due at once
 *   (spool_due_all): the queue drains the moment the smarthost is back.
 *   After RUNNER_LOST_MAX sessions in a row lost inside transactions the
 *   smarthost itself backs off (a server dropping every message is not
 *   the messages' fault).  A session counts once, even when it ends two
 *   pipelined transactions (the one whose final reply was pending and
 *   the one behind it: runner_attempt.behind_loss).
 */
#ifndef RELAY_RUNNER_TROUBLE_H
#define RELAY_RUNNER_TROUBLE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "base/err.h"
#include "mail/conf.h"
#include "smtp/smtp.h"
#include "spool/spool.h"

/* Sessions lost in a row inside transactions before the host backs off. */
#define RUNNER_LOST_MAX 3

enum runner_verdict {
	RUNNER_V_SENT = 0,
	RUNNER_V_FAILED,
	RUNNER_V_DEFERRED,
	RUNNER_V_AGAIN,
	RUNNER_V_LOST,
	RUNNER_V_RETRY,
	RUNNER_V_HOST,
	RUNNER_V_FAULT,
};

/* What the worker does after a message, in rising severity: when two
 * messages of a session ask for different steps, the later one wins. */
enum runner_next {
	RUNNER_NEXT_GO_ON = 0, /* the session is READY: next message */
	RUNNER_NEXT_RECONNECT, /* the session is gone; the others go on a
				* new connection */
	RUNNER_NEXT_HOST_DOWN, /* the smarthost backs off or has a fault:
				* give the rest back, fail over */
	RUNNER_NEXT_LOCAL, /* the spool failed: stop this worker */
};

/* Where the decisions are written. */
struct runner_trouble {
	struct spool *sp;
	const struct conf *conf;
	const char *owner; /* the claims' owner */
};

/* One smarthost block and its health as this worker knows it. */
struct runner_host {
	const struct conf_smarthost *sh;
	struct spool_host_health h;
	int lost_in_row; /* sessions lost inside transactions in a row */
	/* the TLS context kept from one session to the next (smtp_opts,
	 * tls_keep); owned by the worker */
	struct conn_tls_ctx *tls;
};

/* One delivery attempt of a claimed message. */
struct runner_attempt {
	const struct spool_msg_info *mi; /* the due recipients */
	bool *recorded; /* [mi->nrcpts]: result already written */
	size_t nfailed; /* FAILED results written (a bounce is due) */
	/* behind_loss - this transaction was pipelined behind one whose
	 * attempt already reported the session's end: that end is not
	 * counted against the smarthost a second time */
	bool behind_loss;
};

/* runner_verdict_name - "sent", "failed", ... for logs and tests. */
const char *runner_verdict_name(enum runner_verdict v);

/* runner_trouble_verdict - what outcome o means (others_accepted: some
 * recipient of the same transaction got 2xx). */
enum runner_verdict runner_trouble_verdict(
    const struct smtp_outcome *o, bool others_accepted);

/* runner_trouble_host_load - read sh's health row into h (an OK row
 * when there is none).  ERR_TEMP on spool trouble. */
int runner_trouble_host_load(struct runner_trouble *t,
    const struct conf_smarthost *sh, struct runner_host *h, struct err *err);

/* runner_trouble_host_usable - may a session to h be tried at now?
 * force: a flush or reload asked for it, whatever the backoff says. */
bool runner_trouble_host_usable(
    const struct runner_host *h, time_t now, bool force);

/* runner_trouble_open_ok - a session to h opened (info as smtp_open
 * reported it): health OK; coming back from BACKOFF or FAULT makes every
 * waiting message due now (logged with the count).  Spool trouble is
 * logged, not returned (the session is still worth using). */
void runner_trouble_open_ok(
    struct runner_trouble *t, struct runner_host *h, time_t now);

/* runner_trouble_host_fail - a session to h could not be opened, or
 * broke in a way that is the host's (o): BACKOFF (temporary) or FAULT
 * (relay fault), written at once, logged (a fault only when it is new
 * or changed).  Returns the time the host may be tried again. */
time_t runner_trouble_host_fail(struct runner_trouble *t, struct runner_host *h,
    const struct smtp_outcome *o, time_t now);

/* runner_trouble_rcpt_early - rcpt_done hook: write recipient i's result
 * now when o is the server's final word on it alone (a 4xx/5xx RCPT
 * reply); otherwise leave it for runner_trouble_message.  Sets
 * a->recorded[i] when written. */
void runner_trouble_rcpt_early(struct runner_trouble *t,
    struct runner_attempt *a, size_t i, const struct smtp_outcome *o);

/* runner_trouble_message - after smtp_send returned rc with these
 * outcomes: write every recipient result not written yet, end or give
 * back the claim, update h, all in one transaction; then log.  Returns
 * what the session should do next. */
enum runner_next runner_trouble_message(struct runner_trouble *t,
    struct runner_attempt *a, struct runner_host *h, int rc,
    const struct smtp_outcome *rcpt_out, const struct smtp_outcome *msg_out);

/* Attempts whose transactions ended with the session READY (rc 0): the
 * outcomes of n messages, for runner_trouble_batch. */
struct runner_batch {
	struct runner_attempt **a;
	const struct smtp_outcome **rcpt_out;
	const struct smtp_outcome **msg_out;
	size_t n;
};

/* runner_trouble_batch - runner_trouble_message for each attempt of b
 * (all with rc 0, on host h), with the results of those that need
 * nothing beyond writing them (no host trouble, no loss) written in one
 * spool transaction: a window of messages costs one commit.  The others,
 * and all of them if that transaction fails, go through
 * runner_trouble_message one by one.  Returns what the session should do
 * next (the most severe). */
enum runner_next runner_trouble_batch(struct runner_trouble *t,
    const struct runner_batch *b, struct runner_host *h);

/* runner_trouble_release - give a claim back untried (the session went
 * away before the message's turn, or relayd is stopping). */
void runner_trouble_release(struct runner_trouble *t, const char *qid);

#endif
