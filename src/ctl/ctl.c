/*
 * ctl.c - shared relayctl plumbing (see ctl.h).
 *
 * Security: relayctl runs with the caller's privileges only.  While relayd
 * is down it opens queue.db read-only itself; file permissions decide in
 * the end, and relayctl refuses earlier, with a clear message, for callers
 * who are neither root nor in the spool group nor the spool's owner.  All
 * text from mail and servers is printed escaped.
 */
#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "ctl/ctl.h"
#include "runner/runner_ctl.h"
#include "runner/runner_sock.h"
#include "spool/spool.h"

int
ctl_usage_error(
    const struct ctl_env *e, const char *usage, const char *fmt, ...)
{
	va_list ap;

	(void)fprintf(stderr, "%s: ", e->prog);
	va_start(ap, fmt);
	(void)vfprintf(stderr, fmt, ap);
	va_end(ap);
	(void)fprintf(stderr, "\nusage: %s [-C FILE] %s\n", e->prog, usage);
	return CTL_EXIT_USAGE;
}

void
ctl_put_escaped(FILE *out, const char *s)
{
	struct buf b;

	if (s == NULL) {
		(void)fputc('-', out);
		return;
	}
	buf_init(&b, 1 << 20);
	if (str_escape(&b, s, strlen(s)) == -1)
		(void)buf_puts(&b, "...");
	(void)fputs(b.data, out);
	buf_free(&b);
}

const char *
ctl_time(char *buf, size_t size, time_t t)
{
	struct tm tm;

	if (t == 0 || localtime_r(&t, &tm) == NULL ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		(void)str_copy(buf, size, "-");
	return buf;
}

/* ctl_status - report a status line; returns the exit code. */
static int
ctl_status(const struct ctl_env *e, const struct ctlclient_status *st)
{
	int code = ctlclient_exit_code(st->code);

	if (code != CTL_EXIT_OK) {
		(void)fprintf(stderr, "%s: ", e->prog);
		ctl_put_escaped(stderr, st->text);
		(void)fputc('\n', stderr);
	}
	return code;
}

/* ctl_may_read_spool - root, the spool group, or the spool's owner. */
static bool
ctl_may_read_spool(const struct conf *c)
{
	struct stat st;
	uid_t uid = getuid();

	if (uid == 0 || runner_sock_in_group(c, uid))
		return true;
	return stat(c->spool_dir, &st) == 0 && st.st_uid == uid;
}

/* ctl_offline - serve request in-process on a read-only spool. */
static int
ctl_offline(const struct ctl_env *e, const char *request, ctlclient_line_cb cb,
    void *arg, const struct err *down)
{
	char *line = xasprintf("%s %s", CTLCLIENT_MAGIC, request);
	int flags = runner_ctl_verb_flags(line);
	struct ctlclient_status st;
	struct spool *sp = NULL;
	struct err err;
	char *db;
	int rc = CTL_EXIT_PROBLEM;

	err_clear(&err);
	if (flags != -1 && !(flags & RUNNER_CTL_SPOOL)) {
		(void)fprintf(stderr,
		    "%s: %.*s needs relayd, which must be running (start it "
		    "with systemctl start relay): %s\n",
		    e->prog, (int)strcspn(request, " "), request, down->msg);
		goto out_free;
	}
	if (flags != -1 && !ctl_may_read_spool(e->conf)) {
		(void)fprintf(stderr,
		    "%s: %s; only root and group %s can read the spool "
		    "directly\n",
		    e->prog, down->msg, e->conf->group);
		goto out_free;
	}
	db = conf_db_path(e->conf);
	if (flags != -1)
		sp = spool_open(db, SPOOL_READONLY, &err);
	xfree(db);
	if (flags != -1 && sp == NULL) {
		(void)fprintf(stderr, "%s: %s; cannot read the spool: %s\n",
		    e->prog, down->msg, err.msg);
		goto out_free;
	}
	runner_ctl_serve(e->conf, sp, getuid(), true, NULL, line, cb, arg, &st);
	spool_close(sp);
	rc = ctl_status(e, &st);
out_free:
	xfree(line);
	return rc;
}

int
ctl_call(const struct ctl_env *e, const char *request, ctlclient_line_cb cb,
    void *arg)
{
	struct ctlclient_status st;
	struct err err;
	int fd, rc;

	err_clear(&err);
	fd = ctlclient_connect(e->conf, &err);
	if (fd == -1) {
		if (err.sys_errno == ENOENT || err.sys_errno == ECONNREFUSED ||
		    err.sys_errno == ENOTDIR)
			return ctl_offline(e, request, cb, arg, &err);
		(void)fprintf(stderr, "%s: %s\n", e->prog, err.msg);
		return CTL_EXIT_PROBLEM;
	}
	rc = ctlclient_request(fd, request, &err) == 0
	    ? ctlclient_read_response(fd, cb, arg, &st, &err)
	    : -1;
	(void)close(fd);
	if (rc == -1) {
		(void)fprintf(stderr, "%s: %s\n", e->prog, err.msg);
		return CTL_EXIT_PROBLEM;
	}
	return ctl_status(e, &st);
}
