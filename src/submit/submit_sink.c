/*
 * submit_sink.c - the submission stream's destination (see submit_sink.h):
 * relayd's socket, else the offline maildrop.
 *
 * Socket: AF_UNIX stream to conf->socket; relayd reads the stream, commits
 * and answers one line ("250 QID", "4NN ...", "5NN ...").  Writes use
 * send(MSG_NOSIGNAL) so a vanished relayd is an error to report, not a
 * SIGPIPE; send and receive time out after data_timeout.
 *
 * Maildrop (relayd down): spool_dir/maildrop/tmp.<unique> is created with
 * O_CREAT|O_EXCL|O_NOFOLLOW|O_CLOEXEC, mode 0640 (umask 027), filled with
 * exactly the stream relayd would have read, fsync'd, renamed to
 * msg.<unique> and the directory fsync'd (or, when the write-only
 * directory cannot be opened, the file system synced with syncfs); only
 * then is the message safe and sendmail exits 0.  relayd imports only
 * msg.* files and takes the submitter from the file owner.  root, whose
 * group is its own unless sendmail is setgid, hands the file to the
 * maildrop directory's group so that relayd can read it.
 *
 * State: the temp path lives in a static array so the signal handler can
 * unlink it; sink_state tells the handler whether the message is already
 * committed (then the exit is 0).
 *
 * Security: sendmail may be setgid relay; the maildrop directory is mode
 * 1730 (write but no read for the group), names are random and created
 * exclusively without following links, so one user can neither read,
 * replace nor pre-create another's file.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <sysexits.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/str.h"
#include "base/sysops.h"
#include "base/xalloc.h"
#include "submit/submit.h"
#include "submit/submit_sink.h"

#define SINK_REPLY_MAX 512

enum sink_kind { SINK_SOCKET, SINK_MAILDROP };

struct submit_sink {
	enum sink_kind kind;
	int fd;
	long long timeout;
	char *dir; /* maildrop directory */
	char name[64]; /* "<unique>" of tmp.<unique> / msg.<unique> */
	char why_socket[200]; /* why relayd was not used */
};

enum { SINK_IDLE = 0, SINK_WRITING, SINK_DONE };

/* For the signal handler: the temp file to remove, and the state. */
static char sink_tmp_path[4200];
static volatile sig_atomic_t sink_state;

static void
sink_on_signal(int sig)
{
	static const char msg[] = "sendmail: interrupted; the message was not "
				  "queued\n";

	(void)sig;
	if (sink_state == SINK_DONE)
		_exit(EX_OK);
	if (sink_state == SINK_WRITING && sink_tmp_path[0] != '\0')
		(void)unlink(sink_tmp_path);
	(void)!write(STDERR_FILENO, msg, sizeof(msg) - 1);
	_exit(EX_TEMPFAIL);
}

void
submit_sink_signals(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGPIPE };
	struct sigaction sa;
	size_t i;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = sink_on_signal;
	(void)sigfillset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		(void)sigaction(sigs[i], &sa, NULL);
}

/* sink_block - block (or restore) the handled signals around the commit,
 * so that the rename and the state change are seen together. */
static void
sink_block(bool on, sigset_t *old)
{
	sigset_t set;

	if (!on) {
		(void)sigprocmask(SIG_SETMASK, old, NULL);
		return;
	}
	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGINT);
	(void)sigaddset(&set, SIGTERM);
	(void)sigaddset(&set, SIGHUP);
	(void)sigaddset(&set, SIGPIPE);
	(void)sigprocmask(SIG_BLOCK, &set, old);
}

/* sink_connect - connect to relayd; -1 with why filled when it fails. */
static int
sink_connect(struct submit_sink *s, const struct conf *c)
{
	struct sockaddr_un sun;
	struct timeval tv;
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, sizeof(sun.sun_path), c->socket) == -1) {
		(void)str_fmt(s->why_socket, sizeof(s->why_socket),
		    "socket path %.80s is too long", c->socket);
		return -1;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1 ||
	    sys_connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == ENOENT || errno == ECONNREFUSED)
			(void)str_copy(s->why_socket, sizeof(s->why_socket),
			    "relayd is not running");
		else
			(void)str_fmt(s->why_socket, sizeof(s->why_socket),
			    "relayd cannot be reached (%s)", strerror(errno));
		if (fd != -1)
			(void)close(fd);
		return -1;
	}
	tv.tv_sec = (time_t)c->data_timeout;
	tv.tv_usec = 0;
	(void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	(void)setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	s->fd = fd;
	s->kind = SINK_SOCKET;
	return 0;
}

/* sink_unique - a fresh random name part. */
static int
sink_unique(struct submit_sink *s, struct err *err)
{
	unsigned long long r;
	ssize_t got;

	do
		got = getrandom(&r, sizeof(r), 0);
	while (got == -1 && errno == EINTR);
	if (got != (ssize_t)sizeof(r))
		return err_sys(err, ERR_TEMP,
		    "cannot queue the message: no "
		    "random bytes for a file name");
	if (str_fmt(s->name, sizeof(s->name), "%lld.%ld.%016llx",
		(long long)sys_time(), (long)getpid(), r) == -1)
		return err_set(err, ERR_INTERNAL, "maildrop name too long");
	return 0;
}

/* sink_maildrop_error - the one-line reason the maildrop failed too. */
static int
sink_maildrop_error(struct submit_sink *s, int e, struct err *err)
{
	if (e == ENOENT || e == ENOTDIR)
		(void)err_set(err, ERR_TEMP,
		    "cannot queue the message: %s and the maildrop %s does "
		    "not exist (start relayd: it creates it)",
		    s->why_socket, s->dir);
	else if (err_errno_is_full(e))
		(void)err_set(err, ERR_TEMP,
		    "cannot queue the message: %s and the file system of the "
		    "maildrop %s is full (free some space, or start relayd)",
		    s->why_socket, s->dir);
	else if (e == EACCES || e == EPERM || e == EROFS)
		(void)err_set(err, ERR_TEMP,
		    "cannot queue the message: %s and the maildrop %s is not "
		    "writable (start relayd, or check that sendmail is setgid "
		    "relay)",
		    s->why_socket, s->dir);
	else
		(void)err_set(err, ERR_TEMP,
		    "cannot queue the message: %s and writing to the maildrop "
		    "%s failed: %s (start relayd)",
		    s->why_socket, s->dir, strerror(e));
	err->sys_errno = e;
	return -1;
}

/* sink_maildrop_group - root (euid 0) runs with its own group, not the
 * spool's, unless sendmail is installed setgid: hand the file to the
 * maildrop directory's group so relayd's user can read it to import it. */
static int
sink_maildrop_group(struct submit_sink *s, struct err *err)
{
	struct stat st;

	if (geteuid() != 0)
		return 0;
	if (stat(s->dir, &st) == -1)
		return err_sys(
		    err, ERR_TEMP, "cannot stat the maildrop %s", s->dir);
	if (st.st_gid != getegid() && fchown(s->fd, (uid_t)-1, st.st_gid) == -1)
		return err_sys(err, ERR_TEMP,
		    "cannot give the maildrop file to group %lu",
		    (unsigned long)st.st_gid);
	return 0;
}

/* sink_maildrop_open - create the temp file (a few tries on EEXIST). */
static int
sink_maildrop_open(struct submit_sink *s, const struct conf *c, struct err *err)
{
	int tries;

	s->dir = conf_maildrop_dir(c);
	for (tries = 0; tries < 5; tries++) {
		if (sink_unique(s, err) == -1)
			return -1;
		if (str_fmt(sink_tmp_path, sizeof(sink_tmp_path), "%s/tmp.%s",
			s->dir, s->name) == -1)
			return err_set(err, ERR_CONFIG,
			    "maildrop path %.100s is too long", s->dir);
		sink_state = SINK_WRITING;
		s->fd = open(sink_tmp_path,
		    O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0640);
		if (s->fd != -1) {
			s->kind = SINK_MAILDROP;
			if (sink_maildrop_group(s, err) == 0)
				return 0;
			goto out_unlink;
		}
		sink_state = SINK_IDLE;
		sink_tmp_path[0] = '\0';
		if (errno != EEXIST)
			break;
	}
	return sink_maildrop_error(s, errno, err);

out_unlink:
	(void)unlink(sink_tmp_path);
	(void)close(s->fd);
	s->fd = -1;
	sink_state = SINK_IDLE;
	sink_tmp_path[0] = '\0';
	return -1;
}

struct submit_sink *
submit_sink_open(const struct conf *c, struct err *err)
{
	struct submit_sink *s = xcalloc(1, sizeof(*s));

	s->fd = -1;
	s->timeout = c->data_timeout;
	sink_state = SINK_IDLE; /* a new message (sendmail -bs sends several) */
	if (sink_connect(s, c) == 0)
		return s;
	if (sink_maildrop_open(s, c, err) == 0)
		return s;
	xfree(s->dir);
	xfree(s);
	return NULL;
}

bool
submit_sink_is_maildrop(const struct submit_sink *s)
{
	return s->kind == SINK_MAILDROP;
}

/* sink_parse_reply - turn relayd's line into the result. */
static int
sink_parse_reply(const char *line, char *id, size_t id_size, struct err *err)
{
	const char *text = line + 4;
	int code;

	if (strlen(line) < 4 || line[3] != ' ' || line[0] < '2' ||
	    line[0] > '5' || line[1] < '0' || line[1] > '9' || line[2] < '0' ||
	    line[2] > '9')
		return err_set(err, ERR_TEMP,
		    "cannot queue the message: relayd gave an unexpected "
		    "answer (check its log)");
	code = (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
	if (code == 250) {
		if (str_fmt(id, id_size, "%.*s", (int)strcspn(text, " "),
			text) == -1)
			return err_set(
			    err, ERR_TEMP, "relayd's queue id is too long");
		return 0;
	}
	if (text[0] >= '2' && text[0] <= '5' && text[1] == '.')
		text += strcspn(text, " ") + (text[strcspn(text, " ")] == ' ');
	(void)err_set(err, code >= 500 ? ERR_PERM : ERR_TEMP,
	    "relayd did not queue the message: %s", text);
	err->smtp_code = code;
	return -1;
}

/* sink_read_reply - read relayd's one-line answer. */
static int
sink_read_reply(
    struct submit_sink *s, char *id, size_t id_size, struct err *err)
{
	char line[SINK_REPLY_MAX];
	size_t len = 0;

	while (len < sizeof(line) - 1) {
		ssize_t r = recv(s->fd, line + len, sizeof(line) - 1 - len, 0);

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return err_set(err, ERR_TEMP,
			    "cannot queue the message: relayd did not answer "
			    "within %llds (check its log)",
			    s->timeout);
		if (r == -1)
			return err_sys(err, ERR_TEMP,
			    "cannot queue the message: reading relayd's "
			    "answer");
		if (r == 0)
			break;
		len += (size_t)r;
		if (memchr(line, '\n', len) != NULL)
			break;
	}
	line[len] = '\0';
	if (memchr(line, '\n', len) == NULL)
		return err_set(err, ERR_TEMP,
		    "cannot queue the message: relayd closed the connection "
		    "without an answer (check its log)");
	line[strcspn(line, "\r\n")] = '\0';
	return sink_parse_reply(line, id, id_size, err);
}

/* sink_send - write all bytes to the socket. */
static int
sink_send(struct submit_sink *s, const char *p, size_t n, struct err *err)
{
	while (n > 0) {
		ssize_t w = send(s->fd, p, n, MSG_NOSIGNAL);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1) {
			int e = errno;
			char id[8];

			/* relayd may have refused early: report its reason */
			if ((e == EPIPE || e == ECONNRESET) &&
			    sink_read_reply(s, id, sizeof(id), err) == -1 &&
			    err->smtp_code != 0)
				return -1;
			errno = e;
			if (e == EAGAIN || e == EWOULDBLOCK)
				return err_set(err, ERR_TEMP,
				    "cannot queue the message: relayd stopped "
				    "reading for %llds",
				    s->timeout);
			return err_sys(err, ERR_TEMP,
			    "cannot queue the message: relayd went away");
		}
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int
submit_sink_write(
    struct submit_sink *s, const void *p, size_t n, struct err *err)
{
	struct err werr;

	if (s->kind == SINK_SOCKET)
		return sink_send(s, p, n, err);
	if (fs_write_all(s->fd, p, n, &werr) == -1)
		return sink_maildrop_error(s, werr.sys_errno, err);
	return 0;
}

/* sink_sync_dir - make the new directory entry durable.  The maildrop
 * is write-only for group relay (mode 1730), so sendmail usually cannot
 * open it to fsync it; then syncfs on the file system holding the file
 * (fd) commits the entry instead. */
static int
sink_sync_dir(struct submit_sink *s, int fd, struct err *err)
{
	struct err derr;

	if (fs_fsync_dir(s->dir, &derr) == 0)
		return 0;
	if (derr.sys_errno != EACCES && derr.sys_errno != EPERM)
		return sink_maildrop_error(s, derr.sys_errno, err);
	if (syncfs(fd) == -1)
		return sink_maildrop_error(s, errno, err);
	return 0;
}

/* sink_maildrop_commit - fsync, rename, make the rename durable. */
static int
sink_maildrop_commit(
    struct submit_sink *s, char *id, size_t id_size, struct err *err)
{
	char final[sizeof(sink_tmp_path)];
	sigset_t old;
	int rc = 0;

	if (sys_fsync(s->fd) == -1)
		return sink_maildrop_error(s, errno, err);
	if (str_fmt(final, sizeof(final), "%s/msg.%s", s->dir, s->name) == -1 ||
	    str_fmt(id, id_size, "msg.%s", s->name) == -1)
		return err_set(err, ERR_INTERNAL, "maildrop name too long");
	sink_block(true, &old);
	if (sys_rename(sink_tmp_path, final) == -1) {
		rc = sink_maildrop_error(s, errno, err);
	} else if (sink_sync_dir(s, s->fd, err) == -1) {
		/* the file is in place but may not survive a crash */
		(void)unlink(final);
		rc = -1;
	} else {
		sink_state = SINK_DONE;
		sink_tmp_path[0] = '\0';
	}
	sink_block(false, &old);
	if (rc == 0) {
		/* durable already: a close error changes nothing */
		(void)close(s->fd);
		s->fd = -1;
	}
	return rc;
}

int
submit_sink_commit(
    struct submit_sink *s, char *id, size_t id_size, struct err *err)
{
	int rc;

	if (s->kind == SINK_SOCKET) {
		rc = sink_read_reply(s, id, id_size, err);
		if (rc == 0)
			sink_state = SINK_DONE;
	} else {
		rc = sink_maildrop_commit(s, id, id_size, err);
	}
	if (rc == -1) {
		submit_sink_abort(s);
		return -1;
	}
	xfree(s->dir);
	xfree(s);
	return 0;
}

void
submit_sink_abort(struct submit_sink *s)
{
	if (s == NULL)
		return;
	if (s->fd != -1)
		(void)close(s->fd);
	if (s->kind == SINK_MAILDROP && sink_state == SINK_WRITING &&
	    sink_tmp_path[0] != '\0')
		(void)unlink(sink_tmp_path);
	if (sink_state != SINK_DONE) {
		sink_state = SINK_IDLE;
		sink_tmp_path[0] = '\0';
	}
	xfree(s->dir);
	xfree(s);
}
