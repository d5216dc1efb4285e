/*
 * runner_sched.c - starting delivery workers and the queue's
 * housekeeping (design in runner_sched.h).
 *
 * Part of the runner: relayd's event loop calls runner_sched_tick once
 * per iteration, after the group commit, and gives it the workers'
 * sockets and exits.  Owns the table of running workers (pid, claim
 * owner, socket).  Invariants: at most max_connections workers run; every
 * worker that exits has its claims released; no write transaction is
 * left open when a function returns.
 *
 * Security: workers are fresh relayd images under the same user (exec
 * before any SQLite use, so no spool state crosses fork); their argv
 * carries no secret.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/str.h"
#include "base/sysops.h"
#include "base/xalloc.h"
#include "runner/runner_bounce.h"
#include "runner/runner_sched.h"
#include "runner/runner_trouble.h"
#include "runner/runner_worker.h"

/* Reports queued by one housekeeping sweep at most. */
#define RUNNER_SWEEP_MAX 100

struct runner_sched_worker {
	pid_t pid;
	int fd; /* its socket, -1 after EOF */
	bool more; /* it said "more" */
	bool idle; /* it said "idle": its session waits for "go" */
	char owner[64];
};

struct runner_sched {
	struct runner_sched_worker w[RUNNER_SCHED_MAX_WORKERS];
	size_t n;
	unsigned seq;
	bool kicked, force, flushed, stopping;
	time_t next_wake; /* 0: nothing planned */
	time_t next_house;
	time_t next_purge;
	time_t hold_until; /* no new worker before (one died) */
	bool warned_no_host;
};

/* The arguments of a worker (formatted before fork). */
struct runner_sched_job {
	int fd;
	char *argv[8];
};

struct runner_sched *
runner_sched_new(void)
{
	struct runner_sched *s = xcalloc(1, sizeof(*s));

	s->kicked = true;
	return s;
}

void
runner_sched_free(struct runner_sched *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < s->n; i++)
		if (s->w[i].fd != -1)
			(void)close(s->w[i].fd);
	xfree(s);
}

void
runner_sched_kick(struct runner_sched *s)
{
	s->kicked = true;
}

void
runner_sched_flush(struct runner_sched *s)
{
	s->flushed = true;
	s->force = true;
	s->kicked = true;
	s->hold_until = 0;
}

void
runner_sched_reload(struct runner_sched *s)
{
	s->force = true;
	s->kicked = true;
	s->hold_until = 0;
}

/* --- housekeeping --------------------------------------------------------- */

/* runner_sched_house_next - when the oldest waiting message expires
 * (or the regular interval, whichever is first). */
static time_t
runner_sched_house_next(const struct runner_sched_env *e, time_t now)
{
	struct spool_filter f = { true, 0, -1, false };
	struct spool_counts cnt;
	time_t next = now + RUNNER_HOUSE_INTERVAL, exp;
	struct err err;

	err_clear(&err);
	if (spool_count(e->sp, &f, &cnt, &err) == -1 || cnt.oldest_active == 0)
		return next;
	exp = cnt.oldest_active + (time_t)e->conf->retry_lifetime + 1;
	if (exp < next)
		next = exp > now ? exp : now + 1;
	return next;
}

/* runner_sched_house - expiry, bounces left to queue, purge. */
static void
runner_sched_house(
    struct runner_sched *s, const struct runner_sched_env *e, time_t now)
{
	struct err err;
	size_t n = 0;

	if (now < s->next_house && !s->flushed)
		return;
	err_clear(&err);
	if (spool_expire(
		e->sp, now, (time_t)e->conf->retry_lifetime, &n, &err) == -1)
		log_warnx("expiry: %s", err.msg);
	else if (n > 0)
		log_info(
		    "%zu message%s reached the retry lifetime and bounce%s", n,
		    n == 1 ? "" : "s", n == 1 ? "s" : "");
	if (runner_bounce_sweep(e->sp, e->conf, e->aliases, now,
		RUNNER_SWEEP_MAX, &n, &err) == -1)
		log_warnx("bounces: %s", err.msg);
	else if (n > 0)
		s->kicked = true;
	if (now >= s->next_purge) {
		if (spool_purge(e->sp, now, RUNNER_KEEP_DONE, &n, &err) == -1)
			log_warnx("purge: %s", err.msg);
		else if (n > 0)
			log_info("purged %zu finished message%s", n,
			    n == 1 ? "" : "s");
		s->next_purge = now + 3600;
	}
	s->next_house = runner_sched_house_next(e, now);
}

/* runner_sched_flush_now - everything waiting due now. */
static void
runner_sched_flush_now(const struct runner_sched_env *e, time_t now)
{
	struct spool_filter f = { true, 0, -1, false };
	struct err err;
	size_t n = 0;

	err_clear(&err);
	if (spool_retry(e->sp, NULL, &f, now, &n, &err) == -1)
		log_warnx("flush: %s", err.msg);
	else
		log_info("flush: %zu waiting message%s due now", n,
		    n == 1 ? "" : "s");
}

/* --- workers -------------------------------------------------------------- */

/* runner_sched_exec - in the child: the socket on fd 3, then a fresh
 * relayd image. */
static void
runner_sched_exec(void *arg)
{
	struct runner_sched_job *job = arg;

	if (job->fd != RUNNER_WORKER_FD) {
		if (dup2(job->fd, RUNNER_WORKER_FD) == -1)
			_exit(71);
	} else if (fcntl(RUNNER_WORKER_FD, F_SETFD, 0) == -1) {
		_exit(71);
	}
	(void)execv("/proc/self/exe", job->argv);
	_exit(71);
}

/* runner_sched_spawn - start one worker. */
static void
runner_sched_spawn(struct runner_sched *s, const struct runner_sched_env *e,
    bool force, time_t now)
{
	struct runner_sched_worker *w;
	struct runner_sched_job job;
	char flags[4];
	struct err err;
	int fds[2];
	pid_t pid;
	size_t i;

	if (s->n >= RUNNER_SCHED_MAX_WORKERS)
		return;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) == -1) {
		log_warn("delivery worker: socketpair");
		s->hold_until = now + 1;
		return;
	}
	w = &s->w[s->n];
	memset(w, 0, sizeof(*w));
	(void)str_fmt(w->owner, sizeof(w->owner), "relayd:%ld:%u",
	    (long)getpid(), ++s->seq);
	(void)str_fmt(flags, sizeof(flags), "%s%s", force ? "f" : "",
	    (log_get_flags() & LOG_VERBOSE) ? "v" : "");
	memset(&job, 0, sizeof(job));
	job.fd = fds[1];
	i = 0;
	job.argv[i++] = xstrdup("relayd");
	job.argv[i++] = xstrdup(RUNNER_WORKER_ARG);
	job.argv[i++] = xstrdup(e->conf->path);
	job.argv[i++] = xstrdup(w->owner);
	job.argv[i++] = xstrdup(flags[0] != '\0' ? flags : "-");
	err_clear(&err);
	if (runner_proc_spawn(e->procs, RUNNER_PROC_WORKER, runner_sched_exec,
		&job, &pid, &err) == -1) {
		log_warnx("delivery worker: %s", err.msg);
		(void)close(fds[0]);
		s->hold_until = now + 1;
	} else {
		(void)fs_set_nonblock(fds[0], 1);
		w->pid = pid;
		w->fd = fds[0];
		s->n++;
		log_debug("delivery worker %ld started (%s%s)", (long)pid,
		    w->owner, force ? ", forced" : "");
	}
	(void)close(fds[1]);
	while (i > 0)
		xfree(job.argv[--i]);
}

/* runner_sched_limit - workers allowed: max_connections of the first
 * smarthost (the one the queue normally goes to). */
static size_t
runner_sched_limit(const struct conf *c)
{
	int m = c->nsmarthosts > 0 ? c->smarthosts[0].max_connections
				   : c->max_connections;

	if (m < 1)
		m = 1;
	return (size_t)m > RUNNER_SCHED_MAX_WORKERS ? RUNNER_SCHED_MAX_WORKERS
						    : (size_t)m;
}

/* runner_sched_host_ready - the earliest time a smarthost may be tried;
 * 0 when none is configured. */
static time_t
runner_sched_host_ready(
    struct runner_sched *s, const struct runner_sched_env *e, time_t now)
{
	struct runner_trouble t = { e->sp, e->conf, "" };
	struct runner_host h;
	time_t ready = 0;
	struct err err;
	size_t i;

	if (e->conf->nsmarthosts == 0 && !s->warned_no_host) {
		log_warnx("no smarthost is configured: mail waits in the "
			  "queue (add a smarthost block and reload)");
		s->warned_no_host = true;
	}
	for (i = 0; i < e->conf->nsmarthosts; i++) {
		time_t at;

		err_clear(&err);
		if (runner_trouble_host_load(
			&t, &e->conf->smarthosts[i], &h, &err) == -1)
			return now + 1;
		at = runner_trouble_host_usable(&h, now, s->force)
		    ? now
		    : h.h.next_try;
		if (ready == 0 || at < ready)
			ready = at;
	}
	return ready;
}

/* runner_sched_backlog - a first worker just started; when more is due
 * than one session carries, start the others (up to max_connections)
 * now rather than after its first claim: a smarthost that is back after
 * an outage gets the whole backlog at full width at once. */
static void
runner_sched_backlog(
    struct runner_sched *s, const struct runner_sched_env *e, time_t now)
{
	size_t limit = runner_sched_limit(e->conf), per = 1, due = 0, want;
	struct err err;

	if (limit <= s->n || e->conf->nsmarthosts == 0)
		return;
	if (e->conf->smarthosts[0].max_messages_per_connection > 0)
		per =
		    (size_t)e->conf->smarthosts[0].max_messages_per_connection;
	err_clear(&err);
	if (spool_due_count(e->sp, now, limit * per + 1, &due, &err) == -1) {
		log_warnx("delivery: %s", err.msg);
		return;
	}
	want = (due + per - 1) / per;
	while (s->n < want && s->n < limit && now >= s->hold_until)
		runner_sched_spawn(s, e, false, now);
}

/* runner_sched_plan - start a worker when something is due and a
 * smarthost may be tried, else set the wake time. */
static void
runner_sched_plan(
    struct runner_sched *s, const struct runner_sched_env *e, time_t now)
{
	time_t due, ready;
	struct err err;
	bool found;

	s->kicked = false;
	s->next_wake = 0;
	if (now < s->hold_until) {
		s->next_wake = s->hold_until;
		return;
	}
	err_clear(&err);
	if (spool_next_due(e->sp, &due, &found, &err) == -1) {
		log_warnx("delivery: %s", err.msg);
		s->next_wake = now + 1;
		return;
	}
	if (!found)
		return;
	ready = runner_sched_host_ready(s, e, now);
	if (ready == 0)
		return;
	if (due < ready)
		due = ready;
	if (due > now) {
		s->next_wake = due;
		return;
	}
	runner_sched_spawn(s, e, s->force, now);
	s->force = false;
	runner_sched_backlog(s, e, now);
}

/* runner_sched_go - new mail while workers run: an idle one (its
 * session still open) claims it; else the busy ones will, or the plan
 * after they exit.  After a flush or reload idle workers are told to
 * quit instead, so the plan tries every smarthost afresh. */
static void
runner_sched_go(struct runner_sched *s)
{
	char c = s->force ? RUNNER_WORKER_QUIT : RUNNER_WORKER_GO;
	size_t i;

	for (i = 0; i < s->n; i++) {
		if (!s->w[i].idle || s->w[i].fd == -1)
			continue;
		if (write(s->w[i].fd, &c, 1) != 1)
			continue;
		s->w[i].idle = false;
		if (!s->force) {
			s->kicked = false;
			return;
		}
	}
}

void
runner_sched_tick(
    struct runner_sched *s, const struct runner_sched_env *e, time_t now)
{
	size_t i;
	bool more = false;

	if (s->stopping)
		return;
	if (s->kicked &&
	    now + (time_t)e->conf->retry_lifetime + 1 <
		s->next_house) /* new mail expires before the next run */
		s->next_house = now + (time_t)e->conf->retry_lifetime + 1;
	if (s->flushed)
		runner_sched_flush_now(e, now);
	runner_sched_house(s, e, now);
	s->flushed = false;
	if (s->n > 0) {
		for (i = 0; i < s->n; i++) {
			more = more || s->w[i].more;
			s->w[i].more = false;
		}
		if (more && s->n < runner_sched_limit(e->conf) &&
		    now >= s->hold_until)
			runner_sched_spawn(s, e, false, now);
		if (s->kicked)
			runner_sched_go(s);
		return;
	}
	if (s->kicked || (s->next_wake != 0 && now >= s->next_wake))
		runner_sched_plan(s, e, now);
}

int
runner_sched_timeout(const struct runner_sched *s, time_t now, int ms)
{
	time_t wake = s->next_house;
	int own;

	if (s->flushed || (s->n == 0 && s->kicked && now >= s->hold_until))
		return 0;
	if (s->n == 0 && s->next_wake != 0 &&
	    (wake == 0 || s->next_wake < wake))
		wake = s->next_wake;
	if (s->n == 0 && s->kicked && (wake == 0 || s->hold_until < wake))
		wake = s->hold_until;
	if (wake == 0)
		return ms;
	own = wake <= now     ? 0
	    : wake - now > 60 ? 60000
			      : (int)(wake - now) * 1000;
	return ms >= 0 && ms < own ? ms : own;
}

size_t
runner_sched_pollfds(const struct runner_sched *s, struct pollfd *p, size_t max)
{
	size_t i, n = 0;

	for (i = 0; i < s->n && n < max; i++)
		if (s->w[i].fd != -1)
			p[n++] = (struct pollfd){ s->w[i].fd, POLLIN, 0 };
	return n;
}

/* runner_sched_read - what worker w wrote; EOF closes its socket. */
static void
runner_sched_read(struct runner_sched_worker *w)
{
	char buf[64];
	ssize_t r, i;

	for (;;) {
		r = read(w->fd, buf, sizeof(buf));
		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0)
			break;
		for (i = 0; i < r; i++) {
			if (buf[i] == RUNNER_WORKER_MORE) {
				w->more = true;
				w->idle = false;
			} else if (buf[i] == RUNNER_WORKER_IDLE) {
				w->idle = true;
			}
		}
	}
	(void)close(w->fd);
	w->fd = -1;
}

void
runner_sched_io(struct runner_sched *s, const struct pollfd *p, size_t n)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		if (p[i].fd < 0 || p[i].revents == 0)
			continue;
		for (j = 0; j < s->n; j++)
			if (s->w[j].fd == p[i].fd)
				runner_sched_read(&s->w[j]);
	}
}

/* runner_sched_status - "exited with 3", "killed by signal 9". */
static void
runner_sched_status(int status, char *out, size_t size)
{
	if (WIFEXITED(status))
		(void)str_fmt(out, size, "exited with %d", WEXITSTATUS(status));
	else if (WIFSIGNALED(status))
		(void)str_fmt(
		    out, size, "killed by signal %d", WTERMSIG(status));
	else
		(void)str_fmt(out, size, "ended with status %d", status);
}

void
runner_sched_reaped(struct runner_sched *s, struct spool *sp, pid_t pid,
    enum runner_proc_kind kind, int status)
{
	struct runner_sched_worker *w = NULL;
	char how[48];
	struct err err;
	size_t i, n = 0;

	if (kind != RUNNER_PROC_WORKER)
		return;
	for (i = 0; i < s->n && w == NULL; i++)
		if (s->w[i].pid == pid)
			w = &s->w[i];
	if (w == NULL)
		return;
	if (w->fd != -1)
		runner_sched_read(w);
	err_clear(&err);
	if (spool_release_owner(sp, w->owner, sys_time(), &n, &err) == -1)
		log_warnx("delivery worker %ld: claims not released (they "
			  "lapse after lease_time): %s",
		    (long)pid, err.msg);
	runner_sched_status(status, how, sizeof(how));
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		if (!s->stopping)
			log_warnx("delivery worker %ld %s; %zu claim%s "
				  "released",
			    (long)pid, how, n, n == 1 ? "" : "s");
		/* a configuration the worker cannot load will not get better
		 * in a second: wait for a reload (or a minute) */
		s->hold_until = sys_time() +
		    (WIFEXITED(status) && WEXITSTATUS(status) == 78 ? 60 : 1);
	} else {
		log_debug("delivery worker %ld %s", (long)pid, how);
	}
	*w = s->w[--s->n];
	s->kicked = true;
}

/* The context of the reap callback while stopping. */
struct runner_sched_stopctx {
	struct runner_sched *s;
	struct spool *sp;
};

static void
runner_sched_stop_done(
    void *arg, pid_t pid, enum runner_proc_kind kind, int status)
{
	struct runner_sched_stopctx *x = arg;

	runner_sched_reaped(x->s, x->sp, pid, kind, status);
}

/* runner_sched_signal - sig to every worker. */
static void
runner_sched_signal(const struct runner_sched *s, int sig)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		if (kill(s->w[i].pid, sig) == -1 && errno != ESRCH)
			log_warn("kill %ld", (long)s->w[i].pid);
}

/* runner_sched_wait - reap workers for up to ms milliseconds. */
static void
runner_sched_wait(
    struct runner_sched_stopctx *x, struct runner_procs *procs, long ms)
{
	struct timespec nap = { 0, 20 * 1000 * 1000 };
	long waited = 0;

	for (;;) {
		runner_proc_reap(procs, runner_sched_stop_done, x);
		if (x->s->n == 0 || waited >= ms)
			return;
		(void)nanosleep(&nap, NULL);
		waited += 20;
	}
}

void
runner_sched_stop(
    struct runner_sched *s, struct runner_procs *procs, struct spool *sp)
{
	struct runner_sched_stopctx x = { s, sp };

	s->stopping = true;
	if (s->n == 0)
		return;
	log_info("stopping: %zu delivery worker%s finishing the transaction "
		 "in flight (at most %ds)",
	    s->n, s->n == 1 ? "" : "s", RUNNER_STOP_GRACE);
	runner_sched_signal(s, SIGTERM);
	runner_sched_wait(&x, procs, RUNNER_STOP_GRACE * 1000L);
	if (s->n == 0)
		return;
	log_warnx("stopping: %zu delivery worker%s did not finish in time; "
		  "killed (their messages are sent again later)",
	    s->n, s->n == 1 ? "" : "s");
	runner_sched_signal(s, SIGKILL);
	runner_sched_wait(&x, procs, 5000);
}

int
runner_sched_once(const struct conf *c, struct spool *sp,
    const struct aliases *a, struct err *err)
{
	struct runner_sched_env e = { c, sp, a, NULL };
	struct runner_sched *s = runner_sched_new();
	struct runner_worker_stats st;
	char owner[64];
	int rc;

	runner_sched_house(s, &e, sys_time());
	runner_sched_free(s);
	(void)str_fmt(owner, sizeof(owner), "relayd:%ld:once", (long)getpid());
	runner_worker_signals();
	rc = runner_worker_run(c, sp, a, owner,
	    (log_get_flags() & LOG_VERBOSE) ? RUNNER_WORKER_VERBOSE : 0, -1,
	    &st, err);
	if (rc == 0)
		log_info("delivery pass: %zu session%s, %zu message%s tried",
		    st.sessions, st.sessions == 1 ? "" : "s", st.messages,
		    st.messages == 1 ? "" : "s");
	return rc;
}
