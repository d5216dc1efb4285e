/*
 * runner_ctlops.h - the control requests behind relayctl's queue
 * commands (the protocol is in mail/ctlclient.h, the verb table in
 * runner_ctl.c):
 *
 *   request                 flags               objects
 *   why [ID]                SPOOL               one (runner_why.c)
 *   stats                   SPOOL               one
 *   show ID [body]          SPOOL               the message (with its
 *                                               "headers"), then with body
 *                                               one {"data":...} per chunk
 *   flush [ID...]           DAEMON WRITE        one per ID ({"id","changed"})
 *   retry ID                DAEMON WRITE        one
 *   hold ID|all             DAEMON WRITE        one
 *   release ID|all          DAEMON WRITE        one
 *   delete ID|all           DAEMON WRITE        one
 *   bounce ID               DAEMON WRITE        one
 *
 * Access (relayd decides, from SO_PEERCRED): root and group relay act on
 * every message; others on their own only, and another user's id is
 * answered 550 exactly like a missing one.  "all" needs privilege (554).
 * A message body is shown to its owner and root only.  stats covers the
 * whole queue for everyone: counts and ages only, no addresses.
 *
 * Changes run in relayd's loop on its read-write spool, between group
 * commits; after retry, release, flush and bounce relayd is kicked so
 * delivery (or the bounce) starts at once.
 */
#ifndef RELAY_RUNNER_CTLOPS_H
#define RELAY_RUNNER_CTLOPS_H

#include <stdbool.h>
#include <time.h>

#include "base/buf.h"
#include "runner/runner_ctl.h"
#include "spool/spool.h"

/* The verbs (runner_ctl_fn); see the table above. */
int runner_ctlops_stats(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err);
int runner_ctlops_flush(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err);
int runner_ctlops_retry(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err);
int runner_ctlops_hold(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err);
int runner_ctlops_release(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err);
int runner_ctlops_delete(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err);
int runner_ctlops_bounce(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err);
int runner_why_main(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err);

/* runner_ctlops_show_extra - append the message's header section as
 * "headers" to the show object in b (which ends in '}'); null when it
 * cannot be read.  -1 when b is full. */
int runner_ctlops_show_extra(struct runner_ctl_ctx *x,
    const struct spool_msg_info *mi, struct buf *b, struct err *err);

/* runner_ctlops_body - "show ID body": the stored message as objects
 * {"data":"..."} (one per chunk, cut at line ends where possible), for
 * the message's owner and root only (554 for others).  st set. */
int runner_ctlops_body(struct runner_ctl_ctx *x,
    const struct spool_msg_info *mi, struct ctlclient_status *st,
    struct err *err);

/* --- shared by the control code ------------------------------------------- */

/* runner_why_text - the sentence (with the fix) for a reason name: the
 * failure taxonomy's, or relay's own ("lifetime_expired",
 * "returned_by_admin"); NULL for an unknown name.  Static. */
const char *runner_why_text(const char *reason);

/* runner_why_stage - the stage a failure belongs to: "DNS", "connect",
 * "TLS", "AUTH", "MAIL", "RCPT", "DATA" (a session lost or timed out:
 * the stage named in reply, else "connection"), "local" or "queue";
 * NULL for NULL.  Static. */
const char *runner_why_stage(const char *reason, const char *reply);

/* JSON members: each appends ',"key":value' to b (0, or -1 when b is
 * full); NULL strings and time 0 become null. */
int runner_ctlops_jstr(struct buf *b, const char *key, const char *val);
int runner_ctlops_jint(struct buf *b, const char *key, long long v);
int runner_ctlops_jtime(struct buf *b, const char *key, time_t t);
int runner_ctlops_jbool(struct buf *b, const char *key, bool v);

/* runner_ctlops_host_json - append one smarthost's object to b: name,
 * host, port, state ("ok", "backoff", "fault", "untried"), failures,
 * next_try, since, last_ok, reason, reason_text, last_text, tls_mode
 * (the cached "implicit" / "starttls", or null), tls_verified. */
int runner_ctlops_host_json(
    struct runner_ctl_ctx *x, const struct conf_smarthost *sh, struct buf *b);

/* runner_ctlops_emit - send the object in x->line. */
int runner_ctlops_emit(struct runner_ctl_ctx *x, struct err *err);

#endif
