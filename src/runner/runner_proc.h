/*
 * runner_proc.h - relayd's child processes.  Today: control requests that
 * read the spool (list, show, status) run in a short-lived child with its
 * own read-only spool connection, so a long listing or a stopped reader
 * never holds up the event loop.  The delivery workers of the queue runner
 * are meant to be children of this table too (another kind).
 */
#ifndef RELAY_RUNNER_PROC_H
#define RELAY_RUNNER_PROC_H

#include <stddef.h>
#include <sys/types.h>

#include "base/err.h"

enum runner_proc_kind {
	RUNNER_PROC_CTL = 0, /* serves one control request */
	RUNNER_PROC_WORKER, /* a delivery worker (queue runner) */
};

struct runner_procs {
	pid_t *pids;
	enum runner_proc_kind *kinds;
	size_t n, cap;
};

/* runner_procs_init / runner_procs_free - an empty table. */
void runner_procs_init(struct runner_procs *t);
void runner_procs_free(struct runner_procs *t);

/* runner_proc_spawn - fork; the child calls child(arg), which must end
 * with _exit and never return.  The parent records the pid.  ERR_TEMP
 * when fork fails. */
int runner_proc_spawn(struct runner_procs *t, enum runner_proc_kind kind,
    void (*child)(void *arg), void *arg, pid_t *pid, struct err *err);

/* runner_proc_count - live children of kind. */
size_t runner_proc_count(
    const struct runner_procs *t, enum runner_proc_kind kind);

/* runner_proc_reap - collect every exited child without blocking, calling
 * done (may be NULL) with its kind and wait status. */
void runner_proc_reap(struct runner_procs *t,
    void (*done)(void *arg, pid_t pid, enum runner_proc_kind kind, int status),
    void *arg);

/* runner_proc_signal - send sig to every live child. */
void runner_proc_signal(const struct runner_procs *t, int sig);

#endif
