/*
 * runner_sched.h - relayd's side of delivery: when to start a delivery
 * worker, how many, and the queue's housekeeping (expiry, bounces of
 * what expired, purge).  Runs inside relayd's event loop.
 *
 *              kick (a commit or an import), flush, reload, a worker
 *              exited, or the wake time came
 *                           |
 *                           v
 *   plan: nothing due ---------------------------> sleep until kicked
 *         due at T, first usable smarthost at H --> sleep until max(T, H)
 *         due now, a smarthost usable ------------> start one worker
 *                                                   (runner_worker), and
 *                                                   at once as many more
 *                                                   as the backlog fills
 *                                                   (max_messages_per_
 *                                                   connection each, up to
 *                                                   max_connections)
 *   a worker says "more" (a full claim) and fewer than max_connections
 *   run: start another.  A worker says "idle" (nothing due, session
 *   kept open for a moment): the next kick tells it "go" instead of
 *   starting a worker, so a burst of submissions shares one session.  A
 *   worker exits: its claims are released (spool_release_owner) and the
 *   plan runs again; one that died is followed by a one-second pause,
 *   so a broken worker cannot spin.
 *
 * flush (sendmail -q, relayctl flush): everything waiting is due now
 * (spool_retry) and each smarthost is tried once whatever its backoff
 * says.  reload (SIGHUP): the smarthosts are tried once again (a fixed
 * password or certificate takes effect at once).
 */
#ifndef RELAY_RUNNER_SCHED_H
#define RELAY_RUNNER_SCHED_H

#include <poll.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "base/err.h"
#include "mail/aliases.h"
#include "mail/conf.h"
#include "runner/runner_proc.h"
#include "spool/spool.h"

/* The most delivery workers (max_connections is at most 64). */
#define RUNNER_SCHED_MAX_WORKERS 64
/* Seconds relayd waits for its workers at SIGTERM before killing them. */
#define RUNNER_STOP_GRACE 10
/* Seconds a SENT or FAILED message stays visible to relayctl. */
#define RUNNER_KEEP_DONE (2 * 24 * 3600)
/* Seconds between housekeeping runs at most. */
#define RUNNER_HOUSE_INTERVAL 60

struct runner_sched;

/* What the scheduler works with (borrowed for each call). */
struct runner_sched_env {
	const struct conf *conf;
	struct spool *sp;
	const struct aliases *aliases;
	struct runner_procs *procs;
};

/* runner_sched_new / runner_sched_free - no workers yet; the first
 * tick plans (a restart delivers what waited). */
struct runner_sched *runner_sched_new(void);
void runner_sched_free(struct runner_sched *s);

/* runner_sched_kick - new mail was committed: plan at the next tick. */
void runner_sched_kick(struct runner_sched *s);

/* runner_sched_flush - sendmail -q / relayctl flush (see above). */
void runner_sched_flush(struct runner_sched *s);

/* runner_sched_reload - the configuration was re-read (see above). */
void runner_sched_reload(struct runner_sched *s);

/* runner_sched_tick - housekeeping when due, then the plan; may start
 * workers.  Never fails (trouble is logged). */
void runner_sched_tick(
    struct runner_sched *s, const struct runner_sched_env *e, time_t now);

/* runner_sched_timeout - the poll timeout: min(ms, milliseconds until
 * the scheduler's next wake). */
int runner_sched_timeout(const struct runner_sched *s, time_t now, int ms);

/* runner_sched_pollfds - the workers' sockets, appended to p[0..max);
 * returns how many. */
size_t runner_sched_pollfds(
    const struct runner_sched *s, struct pollfd *p, size_t max);

/* runner_sched_io - read what the workers wrote (p: the whole poll set,
 * entries that are not the scheduler's are ignored). */
void runner_sched_io(struct runner_sched *s, const struct pollfd *p, size_t n);

/* runner_sched_reaped - a child exited (kind from runner_proc): if it is
 * a worker, release its claims and plan again. */
void runner_sched_reaped(struct runner_sched *s, struct spool *sp, pid_t pid,
    enum runner_proc_kind kind, int status);

/* runner_sched_stop - SIGTERM every worker, wait up to
 * RUNNER_STOP_GRACE seconds for them to finish their transactions, kill
 * what is left, release every claim they held. */
void runner_sched_stop(
    struct runner_sched *s, struct runner_procs *procs, struct spool *sp);

/* runner_sched_once - relayd --once after the import: housekeeping, then
 * one worker loop in this process until nothing is due.  -1 with err
 * when the spool failed. */
int runner_sched_once(const struct conf *c, struct spool *sp,
    const struct aliases *a, struct err *err);

#endif
