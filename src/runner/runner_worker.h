/*
 * runner_worker.h - a delivery worker: one process that claims due
 * messages and sends them over as few sessions as it can.
 *
 * relayd's loop (runner_sched) starts it as a fresh relayd image,
 *
 *   relayd RUNNER_WORKER_ARG CONF OWNER FLAGS     (socket to relayd on fd 3)
 *
 * so it opens its own spool connection (a forked copy must never use the
 * parent's SQLite state) and a slow smarthost never delays sendmail.
 * fd 3 is a socket to relayd, one byte per message each way (below).
 * relayd --once runs the same loop in its own process.
 *
 *   worker loop (runner_worker_run):
 *
 *     claim a session's worth of due messages --none--> exit
 *        | (claimed before connecting: a worker that finds nothing left
 *        |  opens no session, so spends no TLS handshake and no AUTH)
 *        v
 *     open a session: smarthost blocks in order, skipping those whose
 *     health says wait (a dead first host costs one short attempt per
 *     pass); none opens --> give the batch back, exit
 *        |
 *        v
 *     send that batch, then
 *     claim due messages (lease_time) ---none---> idle: tell relayd, keep
 *        |  a full claim: tell relayd "more"       the session up to
 *        |  (it may start another worker, up to    RUNNER_LINGER_MS; relayd
 *        |  max_connections)                       says "go" when new mail
 *        |                                         is due (claim again),
 *        |                                         else (or told to
 *        |                                         quit) QUIT, exit
 *        v
 *     per message: [RSET] MAIL RCPT.. DATA, body, dot; with PIPELINING
 *     the next message's [RSET] MAIL RCPT.. DATA follow the dot at once
 *     and the dot's reply is read before theirs (one round trip per
 *     message); results written by runner_trouble right after the
 *     replies, bounce queued at once; the last reply is read (smtp_sync)
 *     before claiming again, lingering or QUIT
 *        |
 *        +-- max_messages_per_connection reached, or the session was
 *        |   lost inside a transaction: QUIT / close, open a new one
 *        +-- the smarthost backs off or faults: give the rest back,
 *            fail over to the next smarthost
 *
 * SIGTERM: the transaction in flight finishes (bounded by the timeouts),
 * the claims not started are given back, QUIT, exit 0.  relayd also sets
 * the parent-death signal, so a worker never outlives a killed relayd
 * by more than one transaction.
 */
#ifndef RELAY_RUNNER_WORKER_H
#define RELAY_RUNNER_WORKER_H

#include <stddef.h>

#include "base/err.h"
#include "mail/aliases.h"
#include "mail/conf.h"
#include "spool/spool.h"

#define RUNNER_WORKER_ARG "--deliver-worker"
#define RUNNER_WORKER_FD 3

/* The most messages claimed at once (each with its own lease). */
#define RUNNER_CLAIM_MAX 100

/* What a worker and relayd tell each other over the worker's socket. */
#define RUNNER_WORKER_MORE 'M' /* worker: a full claim, more is waiting */
#define RUNNER_WORKER_IDLE 'I' /* worker: nothing due, session kept open */
#define RUNNER_WORKER_GO 'G' /* relayd: new mail is due, claim again */
#define RUNNER_WORKER_QUIT 'Q' /* relayd: end the idle session, exit */

/* How long an idle worker keeps its session for new mail (a burst of
 * submissions shares one connection; Postfix's connection cache keeps
 * idle sessions 2 s too). */
#define RUNNER_LINGER_MS 2000

enum runner_worker_flags {
	RUNNER_WORKER_FORCE = 1 << 0, /* try each smarthost once whatever
				       * its backoff says (flush, reload) */
	RUNNER_WORKER_VERBOSE = 1 << 1, /* log_debug lines too */
};

struct runner_worker_stats {
	size_t sessions; /* sessions opened */
	size_t messages; /* delivery attempts */
};

/* runner_worker_run - the loop above on sp, claims owned by owner; with
 * notify_fd != -1 a full claim writes RUNNER_WORKER_MORE there once.
 * With notify_fd != -1 the worker also lingers when idle (see above),
 * reading RUNNER_WORKER_GO from notify_fd.
 * Returns 0 when nothing is due any more (or the smarthosts are down, or
 * a stop was asked for), -1 with err (ERR_TEMP) when the spool failed.
 * OUT *st (may be NULL). */
int runner_worker_run(const struct conf *c, struct spool *sp,
    const struct aliases *a, const char *owner, int flags, int notify_fd,
    struct runner_worker_stats *st, struct err *err);

/* runner_worker_signals - SIGTERM and SIGINT ask the loop to stop after
 * the transaction in flight; SIGHUP is ignored (relayd reloads). */
void runner_worker_signals(void);

/* runner_worker_main - main() of "relayd RUNNER_WORKER_ARG CONF OWNER
 * FLAGS" (FLAGS: "f" force, "v" verbose, or "-"), the socket on fd 3.  Exit status 0 done,
 * 64 usage, 75 spool trouble, 78 configuration. */
int runner_worker_main(int argc, char **argv);

#endif
