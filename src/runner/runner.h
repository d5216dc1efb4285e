/*
 * runner.h - relayd: the event loop that owns the spool.
 *
 * One process, one poll() loop, non-blocking sockets.  Each iteration:
 *
 *   poll  -> signals (TERM/INT stop, HUP reload, CHLD reap)
 *         -> accept new connections (SO_PEERCRED uid)
 *         -> read what each connection has sent:
 *              "RELAY-SUBMIT 1"  a submission (runner_intake), read to
 *                                its end before anything is written
 *              "RELAY-CTL 1 ..." a control request (runner_ctl): in the
 *                                loop, or in a child when it reads the
 *                                spool
 *         -> group commit: every submission completed in this iteration
 *            in one transaction (runner_enqueue), then "250 QID"
 *         -> write pending replies, drop connections silent for longer
 *            than data_timeout (the same bound sendmail puts on relayd)
 *         -> runner_tick: timed work (maildrop import every minute or when
 *            flushed), then the queue runner's plan (runner_sched): when
 *            something is due and a smarthost may be tried, it starts a
 *            delivery worker (runner_worker, a fresh relayd image with its
 *            own spool connection; runner_proc kind RUNNER_PROC_WORKER).
 *            Workers write their results themselves; their sockets ("more
 *            is waiting") are in the same poll set, and a worker that
 *            exits has its claims released here.
 *
 * relayd --once runs runner_once: the maildrop import and one delivery
 * pass in this process (runner_sched_once), then returns.
 */
#ifndef RELAY_RUNNER_H
#define RELAY_RUNNER_H

#include "base/err.h"
#include "mail/conf.h"

/* Limits of the event loop. */
#define RUNNER_MAX_CONNS 256 /* open client connections */
#define RUNNER_MAX_CTL_CHILDREN 16 /* control requests served at once */
#define RUNNER_IDLE_TIMEOUT 300 /* a control child's write timeout */
#define RUNNER_IMPORT_INTERVAL 60 /* seconds between maildrop imports */

/* A control request that reads the spool is served by a fresh relayd
 * image: "relayd RUNNER_CTL_CHILD_ARG CONF UID PRIV FACTS LINE" with the
 * client on fd RUNNER_CTL_FD (a forked copy must not touch the parent's
 * SQLite state, so the child execs before it opens the spool). */
#define RUNNER_CTL_CHILD_ARG "--serve-control"
#define RUNNER_CTL_FD 3

struct runner;

/* runner_new - take ownership of c; open the spool (SPOOL_CREATE) and
 * load the aliases.  Call after runner_setup (directories, privileges).
 * NULL with err: ERR_CONFIG (bad aliases, corrupt spool), ERR_TEMP. */
struct runner *runner_new(struct conf *c, struct err *err);

/* runner_set_listener - hand r the SMTP listener opened (before the
 * privilege drop) by runner_listen_open; r owns it from now on.  NULL:
 * none. */
struct runner_listen;
void runner_set_listener(struct runner *r, struct runner_listen *l);

/* runner_free - close everything; NULL is a no-op. */
void runner_free(struct runner *r);

/* runner_once - import the maildrop once (later: deliver what is due). */
int runner_once(struct runner *r, struct err *err);

/* runner_run - bind the socket and serve until SIGTERM or SIGINT (then 0),
 * or -1 with err when the socket cannot be bound (another relayd). */
int runner_run(struct runner *r, struct err *err);

/* runner_ctl_child_main - main() of that control child; returns the exit
 * status (0 when the answer was written). */
int runner_ctl_child_main(int argc, char **argv);

#endif
