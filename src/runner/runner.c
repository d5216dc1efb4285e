/*
 * runner.c - relayd's event loop (design in runner.h).
 *
 * Owns the configuration, the spool connection, the aliases, the listening
 * socket, the client connections and the child table.  Invariants: only
 * this loop writes to the spool; no write transaction is open while the
 * loop waits in poll(); a connection's submission is answered 250 only
 * after the transaction holding it committed.
 *
 * Signals only set flags and write a byte to a self-pipe; all work happens
 * in the loop.  SIGTERM/SIGINT: stop accepting, drop submissions still
 * being read (never answered 250), close the spool, return 0.  SIGHUP:
 * re-read the configuration; a bad one is logged and the old one kept.
 *
 * Security: runs as the relay user (runner_setup dropped root before).
 * Peers are identified by SO_PEERCRED only.  Control requests that read
 * the spool run in a child with its own read-only connection.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/str.h"
#include "base/sysops.h"
#include "base/xalloc.h"
#include "mail/aliases.h"
#include "runner/runner.h"
#include "runner/runner_conn.h"
#include "runner/runner_ctl.h"
#include "runner/runner_enqueue.h"
#include "runner/runner_listen.h"
#include "runner/runner_maildrop.h"
#include "runner/runner_proc.h"
#include "runner/runner_sched.h"
#include "runner/runner_sock.h"
#include "spool/spool.h"

struct runner {
	struct conf *conf;
	struct spool *sp;
	struct aliases *aliases;
	struct stat aliases_st; /* of the file loaded; st_ino 0: none */
	int lfd;
	struct runner_sock_id sid;
	struct runner_conn **conns;
	size_t nconns;
	struct runner_procs procs;
	struct pollfd *pfds;
	size_t npfds;
	time_t started;
	time_t next_import;
	bool import_due;
	time_t accept_paused_until; /* out of descriptors until then */
	struct runner_sched *sched; /* delivery workers, housekeeping */
	struct runner_listen *listen; /* loopback SMTP listener, or NULL */
};

static volatile sig_atomic_t runner_sig_term, runner_sig_hup, runner_sig_chld;
static int runner_sigpipe[2] = { -1, -1 };

static void
runner_on_signal(int sig)
{
	int saved = errno;
	char c = 1;

	if (sig == SIGTERM || sig == SIGINT)
		runner_sig_term = 1;
	else if (sig == SIGHUP)
		runner_sig_hup = 1;
	else if (sig == SIGCHLD)
		runner_sig_chld = 1;
	if (runner_sigpipe[1] != -1)
		(void)!write(runner_sigpipe[1], &c, 1);
	errno = saved;
}

static int
runner_signals(struct err *err)
{
	static const int sigs[] = { SIGTERM, SIGINT, SIGHUP, SIGCHLD };
	struct sigaction sa;
	size_t i;

	if (pipe2(runner_sigpipe, O_CLOEXEC | O_NONBLOCK) == -1)
		return err_sys(err, ERR_TEMP, "pipe");
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = runner_on_signal;
	sa.sa_flags = SA_RESTART;
	(void)sigemptyset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) == -1)
			return err_sys(err, ERR_INTERNAL, "sigaction");
	return 0;
}

/* runner_aliases - (re)load the aliases when the file changed. */
static int
runner_aliases(struct runner *r, bool force, struct err *err)
{
	struct aliases *a;
	struct stat st;

	memset(&st, 0, sizeof(st));
	if (*r->conf->aliases != '\0' && stat(r->conf->aliases, &st) == -1)
		memset(&st, 0, sizeof(st));
	if (!force && r->aliases != NULL && st.st_ino == r->aliases_st.st_ino &&
	    st.st_size == r->aliases_st.st_size &&
	    st.st_mtim.tv_sec == r->aliases_st.st_mtim.tv_sec &&
	    st.st_mtim.tv_nsec == r->aliases_st.st_mtim.tv_nsec)
		return 0;
	r->aliases_st = st; /* a bad file is reported once per change */
	a = aliases_load(r->conf->aliases, err);
	if (a == NULL)
		return -1;
	aliases_free(r->aliases);
	r->aliases = a;
	if (!force)
		log_info("aliases %s reloaded (%zu names)", r->conf->aliases,
		    aliases_count(a));
	return 0;
}

struct runner *
runner_new(struct conf *c, struct err *err)
{
	struct runner *r = xcalloc(1, sizeof(*r));
	char *db = conf_db_path(c);

	r->conf = c;
	r->lfd = -1;
	r->started = sys_time();
	runner_procs_init(&r->procs);
	r->sched = runner_sched_new();
	r->sp = spool_open(db, SPOOL_CREATE, err);
	xfree(db);
	if (r->sp == NULL || runner_aliases(r, true, err) == -1) {
		runner_free(r);
		return NULL;
	}
	return r;
}

void
runner_free(struct runner *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nconns; i++)
		runner_conn_free(r->conns[i]);
	xfree(r->conns);
	xfree(r->pfds);
	if (r->lfd != -1) {
		runner_sock_unlink(r->conf->socket, &r->sid);
		(void)close(r->lfd);
	}
	runner_procs_free(&r->procs);
	runner_sched_free(r->sched);
	runner_listen_free(r->listen);
	spool_close(r->sp);
	aliases_free(r->aliases);
	conf_free(r->conf);
	xfree(r);
}

static struct runner_enqueue
runner_ex(struct runner *r)
{
	struct runner_enqueue ex = { r->sp, r->conf, r->aliases };

	return ex;
}

/* runner_import - one maildrop import, logged. */
static void
runner_import(struct runner *r)
{
	struct runner_enqueue ex;
	struct runner_maildrop_stats st;
	struct err err;

	err_clear(&err);
	if (runner_aliases(r, false, &err) == -1)
		log_errx("aliases: %s (keeping the previous table)", err.msg);
	ex = runner_ex(r);
	if (runner_maildrop_import(&ex, &st, &err) == -1)
		log_errx("maildrop import: %s", err.msg);
	else if (st.imported + st.moved + st.kept + st.stale > 0)
		log_info("maildrop: %lu imported, %lu moved aside, %lu kept, "
			 "%lu stale removed",
		    st.imported, st.moved, st.kept, st.stale);
	r->import_due = false;
	r->next_import = sys_time() + RUNNER_IMPORT_INTERVAL;
}

int
runner_once(struct runner *r, struct err *err)
{
	runner_import(r);
	return runner_sched_once(r->conf, r->sp, r->aliases, err);
}

/* --- control requests --------------------------------------------------- */

static void
runner_flush_cb(void *arg)
{
	struct runner *r = arg;

	r->import_due = true;
	runner_sched_flush(r->sched);
}

/* runner_kick_cb - a control request made mail due (retry, release,
 * a returned message's report): plan delivery now. */
static void
runner_kick_cb(void *arg)
{
	struct runner *r = arg;

	runner_sched_reload(r->sched);
}

/* The output of a control request: buffered, written blocking (child) or
 * queued on the connection (event loop). */
struct runner_ctl_out {
	int fd; /* -1: the caller sends o->b */
	struct buf b;
};

static int
runner_ctl_put(void *arg, const char *line, size_t n, struct err *err)
{
	struct runner_ctl_out *o = arg;

	if (buf_append(&o->b, line, n) == -1 || buf_putc(&o->b, '\n') == -1)
		return err_set(err, ERR_TEMP, "reply too large");
	if (o->fd != -1 && o->b.len >= 32768) {
		if (fs_write_all(o->fd, o->b.data, o->b.len, err) == -1)
			return -1;
		buf_reset(&o->b);
	}
	return 0;
}

/* The arguments of a control child (formatted before fork, so the child
 * only calls dup2 and execv). */
struct runner_ctl_job {
	int fd;
	char *argv[16];
};

/* runner_ctl_exec - in the child: the client on fd 3, then a fresh relayd
 * image.  A forked copy must not use the parent's SQLite state, so the
 * spool is only ever opened after exec. */
static void
runner_ctl_exec(void *arg)
{
	struct runner_ctl_job *job = arg;

	if (job->fd != RUNNER_CTL_FD) {
		if (dup2(job->fd, RUNNER_CTL_FD) == -1)
			_exit(71);
	} else if (fcntl(RUNNER_CTL_FD, F_SETFD, 0) == -1) {
		_exit(71);
	}
	(void)execv("/proc/self/exe", job->argv);
	_exit(71);
}
/* runner_ctl_daemon_info - what the control verbs may know about us. */
static void
runner_ctl_daemon_info(struct runner *r, struct runner_ctl_daemon *d)
{
	size_t i;

	memset(d, 0, sizeof(*d));
	d->pid = getpid();
	d->started = r->started;
	/* open ones: a connection closed in this round is not swept yet */
	for (i = 0; i < r->nconns; i++)
		d->connections += r->conns[i]->state != RUNNER_CONN_CLOSED;
	d->children = r->procs.n;
	d->body_memory = runner_body_mem_total();
	d->flush = runner_flush_cb;
	d->kick = runner_kick_cb;
	d->aliases = r->aliases;
	d->arg = r;
}

static void
runner_ctl_fork(
    struct runner *r, struct runner_conn *cn, const char *line, bool privileged)
{
	static const char busy[] = "451 too many requests at once, try again\n";
	struct runner_ctl_daemon d;
	struct runner_ctl_job job;
	struct err err;
	size_t i, n = 0;

	if (runner_proc_count(&r->procs, RUNNER_PROC_CTL) >=
	    RUNNER_MAX_CTL_CHILDREN) {
		runner_conn_reply(cn, busy, sizeof(busy) - 1);
		return;
	}
	runner_ctl_daemon_info(r, &d);
	memset(&job, 0, sizeof(job));
	job.fd = cn->fd;
	job.argv[n++] = xstrdup("relayd");
	job.argv[n++] = xstrdup(RUNNER_CTL_CHILD_ARG);
	job.argv[n++] = xstrdup(r->conf->path);
	job.argv[n++] = xasprintf("%lu", (unsigned long)cn->uid);
	job.argv[n++] = xstrdup(privileged ? "1" : "0");
	job.argv[n++] = xasprintf("%ld:%lld:%zu:%zu:%zu", (long)d.pid,
	    (long long)d.started, d.connections, d.children, d.body_memory);
	job.argv[n++] = xstrdup(line);
	if (runner_proc_spawn(&r->procs, RUNNER_PROC_CTL, runner_ctl_exec, &job,
		NULL, &err) == -1) {
		log_errx("control request: %s", err.msg);
		runner_conn_reply(cn, busy, sizeof(busy) - 1);
	} else {
		cn->state = RUNNER_CONN_CLOSED; /* the child answers */
	}
	for (i = 0; i < n; i++)
		xfree(job.argv[i]);
}

/* runner_ctl - serve the control request complete on cn: verbs that read
 * the spool in a child, the others here. */
static void
runner_ctl(struct runner *r, struct runner_conn *cn)
{
	struct runner_ctl_out out = { -1, { 0 } };
	struct ctlclient_status st;
	struct runner_ctl_daemon d;
	int flags = runner_ctl_verb_flags(cn->line.data);
	bool priv = runner_sock_privileged(r->conf, cn->uid);

	log_debug("control request from uid %lu: %s", (unsigned long)cn->uid,
	    cn->line.data);
	if (flags != -1 && (flags & RUNNER_CTL_SPOOL) &&
	    (!(flags & RUNNER_CTL_PRIV) || priv)) {
		runner_ctl_fork(r, cn, cn->line.data, priv);
		return;
	}
	buf_init(&out.b, 64 * 1024);
	runner_ctl_daemon_info(r, &d);
	runner_ctl_serve(r->conf, r->sp, cn->uid, priv, &d, cn->line.data,
	    runner_ctl_put, &out, &st);
	if (runner_ctl_status_line(&out.b, &st) == -1)
		buf_reset(&out.b);
	runner_conn_reply(cn, out.b.data, out.b.len);
	buf_free(&out.b);
}

/* runner_ctl_child_args - decode the daemon facts "PID:STARTED:C:CH:MEM". */
static int
runner_ctl_child_args(const char *s, struct runner_ctl_daemon *d)
{
	long pid;
	long long started;
	size_t conns, children, mem;

	memset(d, 0, sizeof(*d));
	if (sscanf(s, "%ld:%lld:%zu:%zu:%zu", &pid, &started, &conns, &children,
		&mem) != 5)
		return -1;
	d->pid = (pid_t)pid;
	d->started = (time_t)started;
	d->connections = conns;
	d->children = children;
	d->body_memory = mem;
	return 0;
}

/* runner_ctl_child_flush - a control child cannot start a queue run. */
static void
runner_ctl_child_flush(void *arg)
{
	(void)arg;
}

/* runner_ctl_child_spool - load the configuration and open the spool
 * read-only; NULL with err. */
static struct spool *
runner_ctl_child_spool(const char *path, struct conf **c, struct err *err)
{
	struct spool *sp;
	char *db;

	*c = conf_load(path, err);
	if (*c == NULL)
		return NULL;
	db = conf_db_path(*c);
	sp = spool_open(db, SPOOL_READONLY, err);
	xfree(db);
	return sp;
}

int
runner_ctl_child_main(int argc, char **argv)
{
	struct runner_ctl_out out = { RUNNER_CTL_FD, { 0 } };
	struct timeval tv = { RUNNER_IDLE_TIMEOUT, 0 };
	struct ctlclient_status st;
	struct runner_ctl_daemon d;
	struct conf *c = NULL;
	struct spool *sp;
	struct err err;
	long long uid;

	log_init("relayd", LOG_TO_SYSLOG | LOG_TO_STDERR);
	(void)alarm(2 * RUNNER_IDLE_TIMEOUT);
	if (argc != 7 || str_to_ll(argv[3], 0, 0x7fffffff, &uid) == -1 ||
	    runner_ctl_child_args(argv[5], &d) == -1)
		return 64;
	d.flush = runner_ctl_child_flush;
	if (fs_set_cloexec(RUNNER_CTL_FD) == -1 ||
	    fs_set_nonblock(RUNNER_CTL_FD, 0) == -1 ||
	    setsockopt(
		RUNNER_CTL_FD, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1)
		return 71;
	buf_init(&out.b, CTLCLIENT_MAX_REPLY + 64);
	err_clear(&err);
	sp = runner_ctl_child_spool(argv[2], &c, &err);
	if (sp == NULL)
		runner_ctl_set(&st, CTLCLIENT_TEMP, "%s", err.msg);
	else
		runner_ctl_serve(c, sp, (uid_t)uid, strcmp(argv[4], "1") == 0,
		    &d, argv[6], runner_ctl_put, &out, &st);
	spool_close(sp);
	conf_free(c);
	if (runner_ctl_status_line(&out.b, &st) == -1 ||
	    fs_write_all(RUNNER_CTL_FD, out.b.data, out.b.len, &err) == -1)
		return 75;
	buf_free(&out.b);
	return 0;
}

/* --- the loop ------------------------------------------------------------ */

static void
runner_accept(struct runner *r, time_t now)
{
	while (r->nconns < RUNNER_MAX_CONNS) {
		struct runner_conn *cn;
		struct err err;
		uid_t uid;
		pid_t pid;
		int fd =
		    accept4(r->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd == -1) {
			if (errno == EMFILE || errno == ENFILE) {
				/* out of descriptors: pause accepting for a
				 * second instead of spinning on the socket */
				log_warn("accept (pausing for a second)");
				r->accept_paused_until = now + 1;
			} else if (errno != EAGAIN && errno != EWOULDBLOCK &&
			    errno != EINTR && errno != ECONNABORTED) {
				log_warn("accept");
			}
			return;
		}
		if (runner_sock_peer(fd, &uid, &pid, &err) == -1) {
			log_warnx("%s", err.msg);
			(void)close(fd);
			continue;
		}
		r->conns =
		    xreallocarray(r->conns, r->nconns + 1, sizeof(*r->conns));
		cn = runner_conn_new(fd, uid, pid, now);
		r->conns[r->nconns++] = cn;
		/* sendmail connects with its whole message ready: read it now
		 * and it is committed in this round, without another poll */
		runner_conn_read(cn, r->conf, now);
		if (cn->state == RUNNER_CONN_CTL)
			runner_ctl(r, cn);
	}
}

/* runner_commit_ready - the group commit of this iteration. */
static void
runner_commit_ready(struct runner *r)
{
	struct runner_sub **subs;
	struct runner_enqueue ex;
	struct err err;
	size_t i, n = 0;

	for (i = 0; i < r->nconns; i++)
		n += r->conns[i]->state == RUNNER_CONN_READY;
	if (n == 0)
		return;
	err_clear(&err);
	if (runner_aliases(r, false, &err) == -1)
		log_errx("aliases: %s (keeping the previous table)", err.msg);
	subs = xcalloc(n, sizeof(*subs));
	n = 0;
	for (i = 0; i < r->nconns; i++)
		if (r->conns[i]->state == RUNNER_CONN_READY)
			subs[n++] = r->conns[i]->sub;
	ex = runner_ex(r);
	runner_enqueue_batch(&ex, subs, n);
	runner_sched_kick(r->sched); /* delivery starts at once */
	xfree(subs);
	for (i = 0; i < r->nconns; i++) {
		struct runner_conn *cn = r->conns[i];
		struct buf b;

		if (cn->state != RUNNER_CONN_READY)
			continue;
		/* the body's memory and temp file go before the answer (a
		 * client that hears it may count on the space), the log line
		 * after it (no client waits for the log) */
		buf_init(&b, 512);
		if (buf_appendf(&b, "%s\n", cn->sub->reply) == -1)
			buf_reset(&b);
		runner_body_free(&cn->sub->body);
		runner_conn_reply(cn, b.data, b.len);
		buf_free(&b);
		runner_sub_log(cn->sub);
		runner_sub_free(cn->sub);
		cn->sub = NULL;
	}
}

/* runner_sweep - drop closed and idle connections. */
static void
runner_sweep(struct runner *r, time_t now)
{
	size_t i, j = 0;

	for (i = 0; i < r->nconns; i++) {
		struct runner_conn *cn = r->conns[i];

		if (cn->state != RUNNER_CONN_CLOSED &&
		    now - cn->last > r->conf->data_timeout) {
			log_info("pid %ld uid %lu: silent for %llds, dropped",
			    (long)cn->pid, (unsigned long)cn->uid,
			    (long long)r->conf->data_timeout);
			cn->state = RUNNER_CONN_CLOSED;
		}
		if (cn->state == RUNNER_CONN_CLOSED)
			runner_conn_free(cn);
		else
			r->conns[j++] = cn;
	}
	r->nconns = j;
}

/* runner_tick - timed work: the maildrop import, then the delivery
 * plan (runner_sched). */
static void
runner_tick(struct runner *r, time_t now)
{
	struct runner_sched_env e = { r->conf, r->sp, r->aliases, &r->procs };

	if (r->import_due || now >= r->next_import) {
		runner_import(r);
		runner_sched_kick(r->sched);
	}
	runner_sched_tick(r->sched, &e, now);
}

/* runner_timeout - milliseconds poll may sleep. */
static int
runner_timeout(const struct runner *r, time_t now)
{
	time_t next = r->next_import, smtp_next;
	size_t i;

	if (r->import_due)
		return 0;
	if (r->accept_paused_until > now && r->accept_paused_until < next)
		next = r->accept_paused_until;
	for (i = 0; i < r->nconns; i++)
		if (r->conns[i]->last + r->conf->data_timeout + 1 < next)
			next = r->conns[i]->last + r->conf->data_timeout + 1;
	smtp_next = runner_listen_next(r->listen, r->conf);
	if (smtp_next != 0 && smtp_next < next)
		next = smtp_next;
	if (next <= now)
		return 0;
	return runner_sched_timeout(
	    r->sched, now, next - now > 60 ? 60000 : (int)(next - now) * 1000);
}

static void
runner_pollset(struct runner *r, time_t now)
{
	bool accepting =
	    r->nconns < RUNNER_MAX_CONNS && now >= r->accept_paused_until;
	size_t i, n = 0;

	r->pfds = xreallocarray(r->pfds,
	    r->nconns + 2 + RUNNER_SCHED_MAX_WORKERS +
		runner_listen_nfds(r->listen),
	    sizeof(*r->pfds));
	r->pfds[n++] = (struct pollfd){ runner_sigpipe[0], POLLIN, 0 };
	r->pfds[n++] = (struct pollfd){ accepting ? r->lfd : -1, POLLIN, 0 };
	for (i = 0; i < r->nconns; i++) {
		struct runner_conn *cn = r->conns[i];
		short ev = 0;

		if (runner_conn_wants_read(cn))
			ev |= POLLIN;
		if (runner_conn_wants_write(cn))
			ev |= POLLOUT;
		r->pfds[n++] = (struct pollfd){ ev ? cn->fd : -1, ev, 0 };
	}
	n += runner_sched_pollfds(
	    r->sched, r->pfds + n, RUNNER_SCHED_MAX_WORKERS);
	n += runner_listen_pollfds(
	    r->listen, r->pfds + n, runner_listen_nfds(r->listen));
	r->npfds = n;
}

void
runner_set_listener(struct runner *r, struct runner_listen *l)
{
	runner_listen_free(r->listen);
	r->listen = l;
}

/* runner_smtp_round - commit what came in over the SMTP listener (its
 * own transaction, after the socket's group commit), time sessions out. */
static void
runner_smtp_round(struct runner *r, time_t now)
{
	struct runner_enqueue ex = runner_ex(r);

	if (runner_listen_commit(r->listen, &ex) > 0)
		runner_sched_kick(r->sched);
	runner_listen_sweep(r->listen, r->conf, now);
}

/* runner_reload - SIGHUP: a new configuration, or the old one kept. */
static void
runner_reload(struct runner *r)
{
	struct conf *nc;
	struct err err;

	err_clear(&err);
	nc = conf_load(r->conf->path, &err);
	if (nc == NULL) {
		log_errx(
		    "reload: %s; keeping the running configuration", err.msg);
		return;
	}
	if (strcmp(nc->spool_dir, r->conf->spool_dir) != 0 ||
	    strcmp(nc->socket, r->conf->socket) != 0 ||
	    strcmp(nc->user, r->conf->user) != 0 ||
	    strcmp(nc->group, r->conf->group) != 0) {
		log_errx("reload: spool_dir, socket, user and group change "
			 "only with a restart; keeping the running "
			 "configuration");
		conf_free(nc);
		return;
	}
	conf_free(r->conf);
	r->conf = nc;
	if (log_set_file(nc->log_file) == -1)
		log_warn("cannot open %s", nc->log_file);
	if (runner_aliases(r, true, &err) == -1)
		log_errx("aliases: %s (keeping the previous table)", err.msg);
	runner_sched_reload(r->sched);
	log_info("configuration %s reloaded", nc->path);
}

/* runner_child_done - a child was reaped: a worker's claims go back. */
static void
runner_child_done(void *arg, pid_t pid, enum runner_proc_kind kind, int status)
{
	struct runner *r = arg;

	runner_sched_reaped(r->sched, r->sp, pid, kind, status);
}

static void
runner_signals_handle(struct runner *r)
{
	char drain[64];
	ssize_t n;

	do
		n = read(runner_sigpipe[0], drain, sizeof(drain));
	while (n > 0);
	if (runner_sig_hup) {
		runner_sig_hup = 0;
		runner_reload(r);
	}
	if (runner_sig_chld) {
		runner_sig_chld = 0;
		runner_proc_reap(&r->procs, runner_child_done, r);
	}
}

/* runner_service - read from / write to every connection poll flagged. */
static void
runner_service(struct runner *r, time_t now)
{
	size_t i;

	for (i = 0; i < r->nconns && i + 2 < r->npfds; i++) {
		struct runner_conn *cn = r->conns[i];
		short re = r->pfds[i + 2].revents;

		if (re == 0)
			continue;
		if ((re & (POLLIN | POLLHUP | POLLERR)) &&
		    runner_conn_wants_read(cn))
			runner_conn_read(cn, r->conf, now);
		if (cn->state == RUNNER_CONN_CTL)
			runner_ctl(r, cn);
		if ((re & (POLLOUT | POLLHUP | POLLERR)) &&
		    runner_conn_wants_write(cn))
			runner_conn_flush(cn);
	}
}

static void
runner_shutdown(struct runner *r)
{
	size_t i, dropped = 0;

	for (i = 0; i < r->nconns; i++)
		dropped += r->conns[i]->state == RUNNER_CONN_SUBMIT;
	log_info("stopping: %zu submission%s in progress dropped (not queued)",
	    dropped, dropped == 1 ? "" : "s");
	runner_listen_stop(r->listen);
	runner_sched_stop(r->sched, &r->procs, r->sp);
	runner_proc_signal(&r->procs, SIGTERM);
	runner_proc_reap(&r->procs, NULL, NULL);
}

int
runner_run(struct runner *r, struct err *err)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 4096 &&
	    rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max < 4096 ? rl.rlim_max : 4096;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (runner_signals(err) == -1)
		return -1;
	r->lfd = runner_sock_listen(r->conf->socket, &r->sid, err);
	if (r->lfd == -1)
		return -1;
	log_info("relayd %s ready on %s (spool %s)", RELAY_VERSION,
	    r->conf->socket, r->conf->spool_dir);
	runner_import(r);
	while (!runner_sig_term) {
		time_t now = sys_time();

		runner_pollset(r, now);
		if (poll(r->pfds, r->npfds, runner_timeout(r, now)) == -1 &&
		    errno != EINTR)
			return err_sys(err, ERR_INTERNAL, "poll");
		now = sys_time();
		runner_signals_handle(r);
		if (runner_sig_term)
			break;
		runner_sched_io(r->sched, r->pfds, r->npfds);
		runner_service(r, now);
		if (r->pfds[1].revents & POLLIN)
			runner_accept(r, now);
		runner_listen_io(r->listen, r->pfds, r->npfds, r->conf, now);
		runner_commit_ready(r);
		runner_smtp_round(r, now);
		runner_sweep(r, now);
		runner_tick(r, now);
	}
	runner_shutdown(r);
	return 0;
}
