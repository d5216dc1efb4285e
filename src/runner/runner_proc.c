/*
 * runner_proc.c - the table of relayd's children (see runner_proc.h).
 *
 * Owns the pid list.  Reaping happens only from the event loop (after the
 * SIGCHLD handler has written to the self-pipe), never in a handler.
 */
#include "config.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "runner/runner_proc.h"

void
runner_procs_init(struct runner_procs *t)
{
	memset(t, 0, sizeof(*t));
}

void
runner_procs_free(struct runner_procs *t)
{
	xfree(t->pids);
	xfree(t->kinds);
	memset(t, 0, sizeof(*t));
}

int
runner_proc_spawn(struct runner_procs *t, enum runner_proc_kind kind,
    void (*child)(void *arg), void *arg, pid_t *pid, struct err *err)
{
	pid_t p;

	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 16;
		t->pids = xreallocarray(t->pids, t->cap, sizeof(*t->pids));
		t->kinds = xreallocarray(t->kinds, t->cap, sizeof(*t->kinds));
	}
	p = fork();
	if (p == -1)
		return err_sys(err, ERR_TEMP, "fork");
	if (p == 0) {
		child(arg);
		_exit(70);
	}
	t->pids[t->n] = p;
	t->kinds[t->n] = kind;
	t->n++;
	if (pid != NULL)
		*pid = p;
	return 0;
}

size_t
runner_proc_count(const struct runner_procs *t, enum runner_proc_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < t->n; i++)
		n += t->kinds[i] == kind;
	return n;
}

void
runner_proc_reap(struct runner_procs *t,
    void (*done)(void *arg, pid_t pid, enum runner_proc_kind kind, int status),
    void *arg)
{
	size_t i;
	int status;

	for (i = 0; i < t->n;) {
		pid_t pid = t->pids[i];
		pid_t p = waitpid(pid, &status, WNOHANG);
		enum runner_proc_kind kind = t->kinds[i];

		if (p == 0 || (p == -1 && errno == EINTR)) {
			i++;
			continue;
		}
		if (p == -1)
			status = 0;
		t->n--;
		t->pids[i] = t->pids[t->n];
		t->kinds[i] = t->kinds[t->n];
		if (done != NULL)
			done(arg, pid, kind, status);
	}
}

void
runner_proc_signal(const struct runner_procs *t, int sig)
{
	size_t i;

	for (i = 0; i < t->n; i++)
		if (kill(t->pids[i], sig) == -1 && errno != ESRCH)
			log_warn("kill %ld", (long)t->pids[i]);
}
