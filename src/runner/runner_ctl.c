/*
 * runner_ctl.c - control requests: the verb table, access checks and the
 * JSON objects (protocol in mail/ctlclient.h, design in runner_ctl.h).
 *
 * Owns nothing beyond one request.  Read-only verbs come first in the
 * table; verbs that change the spool are marked RUNNER_CTL_WRITE and,
 * where they may touch every message, RUNNER_CTL_PRIV.
 *
 * Security: the caller's uid comes from SO_PEERCRED.  Unprivileged callers
 * only ever see rows whose uid is theirs (the spool filter does it for
 * list and counts; show checks the row), and a message of someone else is
 * reported exactly like a missing one.  Every string from mail or servers
 * leaves through str_json.
 */
#include "config.h"

#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "base/str.h"
#include "base/sysops.h"
#include "base/xalloc.h"
#include "runner/runner_ctl.h"
#include "runner/runner_ctlops.h"

static int runner_ctl_ping(struct runner_ctl_ctx *x, int argc,
    char *const *argv, struct ctlclient_status *st, struct err *err);
static int runner_ctl_list(struct runner_ctl_ctx *x, int argc,
    char *const *argv, struct ctlclient_status *st, struct err *err);
static int runner_ctl_show(struct runner_ctl_ctx *x, int argc,
    char *const *argv, struct ctlclient_status *st, struct err *err);
static int runner_ctl_status(struct runner_ctl_ctx *x, int argc,
    char *const *argv, struct ctlclient_status *st, struct err *err);
static int runner_ctl_whoami(struct runner_ctl_ctx *x, int argc,
    char *const *argv, struct ctlclient_status *st, struct err *err);

/* The verbs: read-only first. */
static const struct runner_ctl_verb runner_ctl_verbs[] = {
	{ "ping", 0, 0, 0, runner_ctl_ping },
	{ "whoami", 0, 0, 0, runner_ctl_whoami },
	{ "list", 0, 1, RUNNER_CTL_SPOOL, runner_ctl_list },
	{ "show", 1, 2, RUNNER_CTL_SPOOL, runner_ctl_show },
	{ "why", 0, 1, RUNNER_CTL_SPOOL, runner_why_main },
	{ "stats", 0, 0, RUNNER_CTL_SPOOL, runner_ctlops_stats },
	{ "status", 0, 0, RUNNER_CTL_SPOOL | RUNNER_CTL_DAEMON,
	    runner_ctl_status },
	{ "flush", 0, RUNNER_CTL_MAX_ARGS - 1,
	    RUNNER_CTL_DAEMON | RUNNER_CTL_WRITE, runner_ctlops_flush },
	{ "retry", 1, 1, RUNNER_CTL_DAEMON | RUNNER_CTL_WRITE,
	    runner_ctlops_retry },
	{ "hold", 1, 1, RUNNER_CTL_DAEMON | RUNNER_CTL_WRITE,
	    runner_ctlops_hold },
	{ "release", 1, 1, RUNNER_CTL_DAEMON | RUNNER_CTL_WRITE,
	    runner_ctlops_release },
	{ "delete", 1, 1, RUNNER_CTL_DAEMON | RUNNER_CTL_WRITE,
	    runner_ctlops_delete },
	{ "bounce", 1, 1, RUNNER_CTL_DAEMON | RUNNER_CTL_WRITE,
	    runner_ctlops_bounce },
};

void
runner_ctl_set(struct ctlclient_status *st, int code, const char *fmt, ...)
{
	va_list ap;
	size_t i;

	st->code = code;
	va_start(ap, fmt);
	(void)vsnprintf(st->text, sizeof(st->text), fmt, ap);
	va_end(ap);
	for (i = 0; st->text[i] != '\0'; i++)
		if ((unsigned char)st->text[i] < 0x20 || st->text[i] == 0x7f)
			st->text[i] = ' ';
}

int
runner_ctl_status_line(struct buf *out, const struct ctlclient_status *st)
{
	return buf_appendf(out, "%03d %s\n", st->code, st->text);
}

/* runner_ctl_printable - only %x21-7E, as the protocol allows in args. */
static bool
runner_ctl_printable(const char *s)
{
	for (; *s != '\0'; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

int
runner_ctl_parse(
    struct runner_ctl_req *req, const char *line, struct ctlclient_status *st)
{
	const char *rest;
	char *p, *sp;
	size_t i;

	memset(req, 0, sizeof(*req));
	if (strncmp(line, CTLCLIENT_MAGIC " ", strlen(CTLCLIENT_MAGIC) + 1) !=
	    0) {
		runner_ctl_set(st, CTLCLIENT_USAGE, "malformed request");
		return -1;
	}
	rest = line + strlen(CTLCLIENT_MAGIC) + 1;
	req->copy = xstrdup(rest);
	for (p = req->copy; p != NULL && *p != '\0'; p = sp) {
		sp = strchr(p, ' ');
		if (sp != NULL)
			*sp++ = '\0';
		if (*p == '\0' || !runner_ctl_printable(p) ||
		    req->argc == RUNNER_CTL_MAX_ARGS) {
			runner_ctl_set(
			    st, CTLCLIENT_USAGE, "malformed request");
			return -1;
		}
		req->argv[req->argc++] = p;
	}
	if (req->argc == 0) {
		runner_ctl_set(st, CTLCLIENT_USAGE, "empty request");
		return -1;
	}
	for (i = 0; i < sizeof(runner_ctl_verbs) / sizeof(runner_ctl_verbs[0]);
	     i++)
		if (strcmp(runner_ctl_verbs[i].name, req->argv[0]) == 0)
			req->verb = &runner_ctl_verbs[i];
	if (req->verb == NULL) {
		runner_ctl_set(
		    st, CTLCLIENT_USAGE, "unknown request %s", req->argv[0]);
		return -1;
	}
	if (req->argc - 1 < req->verb->minargs ||
	    req->argc - 1 > req->verb->maxargs) {
		runner_ctl_set(st, CTLCLIENT_USAGE,
		    "wrong number of arguments for %s", req->argv[0]);
		return -1;
	}
	return 0;
}

void
runner_ctl_req_free(struct runner_ctl_req *req)
{
	xfree(req->copy);
	memset(req, 0, sizeof(*req));
}

void
runner_ctl_ctx_init(struct runner_ctl_ctx *x, const struct conf *c, uid_t uid,
    bool privileged, ctlclient_line_cb emit, void *emit_arg)
{
	memset(x, 0, sizeof(*x));
	x->conf = c;
	x->uid = uid;
	x->privileged = privileged;
	x->emit = emit;
	x->emit_arg = emit_arg;
	buf_init(&x->line, CTLCLIENT_MAX_REPLY - 1);
}

void
runner_ctl_ctx_free(struct runner_ctl_ctx *x)
{
	buf_free(&x->line);
}

void
runner_ctl_run(struct runner_ctl_ctx *x, const struct runner_ctl_req *req,
    struct ctlclient_status *st)
{
	const struct runner_ctl_verb *v = req->verb;
	struct err err;

	err_clear(&err);
	if ((v->flags & RUNNER_CTL_PRIV) && !x->privileged) {
		runner_ctl_set(st, CTLCLIENT_DENIED,
		    "not permitted: %s is for root and group %s", v->name,
		    x->conf->group);
		return;
	}
	if ((v->flags & RUNNER_CTL_DAEMON) && x->daemon == NULL) {
		runner_ctl_set(st, CTLCLIENT_TEMP,
		    "%s needs relayd, which is not running", v->name);
		return;
	}
	if ((v->flags & (RUNNER_CTL_SPOOL | RUNNER_CTL_WRITE)) &&
	    x->sp == NULL) {
		runner_ctl_set(st, CTLCLIENT_TEMP, "the spool is not open");
		return;
	}
	if (v->fn(x, req->argc - 1, req->argv + 1, st, &err) == 0)
		return;
	if (err.cls == ERR_PERM)
		runner_ctl_set(st, CTLCLIENT_BADARG, "%s", err.msg);
	else
		runner_ctl_set(st, CTLCLIENT_TEMP, "%s", err.msg);
}

void
runner_ctl_serve(const struct conf *c, struct spool *sp, uid_t uid,
    bool privileged, const struct runner_ctl_daemon *d, const char *line,
    ctlclient_line_cb emit, void *emit_arg, struct ctlclient_status *st)
{
	struct runner_ctl_req req;
	struct runner_ctl_ctx x;

	if (runner_ctl_parse(&req, line, st) == 0) {
		runner_ctl_ctx_init(&x, c, uid, privileged, emit, emit_arg);
		x.sp = sp;
		x.daemon = d;
		runner_ctl_run(&x, &req, st);
		runner_ctl_ctx_free(&x);
	}
	runner_ctl_req_free(&req);
}

int
runner_ctl_verb_flags(const char *line)
{
	struct runner_ctl_req req;
	struct ctlclient_status st;
	int flags = -1;

	if (runner_ctl_parse(&req, line, &st) == 0)
		flags = req.verb->flags;
	runner_ctl_req_free(&req);
	return flags;
}

/* --- JSON objects -------------------------------------------------------- */

static int
runner_ctl_jstr(struct buf *b, const char *key, const char *val)
{
	if (buf_appendf(b, "\"%s\":", key) == -1)
		return -1;
	if (val == NULL)
		return buf_puts(b, "null");
	return str_json(b, val, strlen(val));
}

static int
runner_ctl_jint(struct buf *b, const char *key, long long v)
{
	return buf_appendf(b, "\"%s\":%lld", key, v);
}

/* runner_ctl_jtime - Unix seconds, or null for 0 (nothing scheduled). */
static int
runner_ctl_jtime(struct buf *b, const char *key, time_t t)
{
	if (t == 0)
		return buf_appendf(b, "\"%s\":null", key);
	return runner_ctl_jint(b, key, (long long)t);
}

static int
runner_ctl_rcpt_json(struct buf *b, const struct spool_rcpt_info *r)
{
	if (buf_putc(b, '{') == -1 ||
	    runner_ctl_jstr(b, "address", r->address) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "state", spool_rcpt_state_name(r->state)) ==
		-1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jint(b, "attempts", r->attempts) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jtime(b, "next_attempt", r->next_attempt) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "last_reply", r->last_reply) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "reason", r->reason) == -1)
		return -1;
	return buf_putc(b, '}');
}

static int
runner_ctl_hist_json(struct buf *b, const struct spool_attempt *a)
{
	if (buf_putc(b, '{') == -1 ||
	    runner_ctl_jint(b, "at", (long long)a->at) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "recipient", a->rcpt) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "reason", a->reason) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "reason_text", runner_why_text(a->reason)) ==
		-1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "reply", a->reply) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "relay", a->relay) == -1)
		return -1;
	return buf_putc(b, '}');
}

/* runner_ctl_detail_json - the fields only show reports. */
static int
runner_ctl_detail_json(struct buf *b, const struct spool_msg_info *mi)
{
	size_t i;

	if (buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "ret", mi->ret) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "envid", mi->envid) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "body_type", mi->body_type) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "notify", mi->notify) == -1 ||
	    buf_appendf(b, ",\"smtputf8\":%s,\"history\":[",
		mi->smtputf8 ? "true" : "false") == -1)
		return -1;
	for (i = 0; i < mi->nhist; i++)
		if ((i > 0 && buf_putc(b, ',') == -1) ||
		    runner_ctl_hist_json(b, &mi->hist[i]) == -1)
			return -1;
	return buf_putc(b, ']');
}

/* runner_ctl_msg_json - one message object into b (reset first). */
static int
runner_ctl_msg_json(struct buf *b, const struct spool_msg_info *mi, bool detail)
{
	size_t i;

	buf_reset(b);
	if (buf_putc(b, '{') == -1 || runner_ctl_jstr(b, "id", mi->qid) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jint(b, "created", (long long)mi->created) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "sender", mi->sender ? mi->sender : "") == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jint(b, "size", (long long)mi->size) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "state", spool_msg_state_name(mi->state)) ==
		-1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jint(b, "uid", (long long)mi->uid) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jint(b, "attempts", mi->attempts) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jtime(b, "next_attempt", mi->next_attempt) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "reason", mi->reason) == -1 ||
	    buf_putc(b, ',') == -1 ||
	    runner_ctl_jstr(b, "reason_text", mi->reason_text) == -1 ||
	    buf_puts(b, ",\"recipients\":[") == -1)
		return -1;
	for (i = 0; i < mi->nrcpts; i++)
		if ((i > 0 && buf_putc(b, ',') == -1) ||
		    runner_ctl_rcpt_json(b, &mi->rcpts[i]) == -1)
			return -1;
	if (buf_putc(b, ']') == -1 ||
	    (detail && runner_ctl_detail_json(b, mi) == -1))
		return -1;
	return buf_putc(b, '}');
}

static int
runner_ctl_emit_msg(struct runner_ctl_ctx *x, const struct spool_msg_info *mi,
    bool detail, struct err *err)
{
	if (runner_ctl_msg_json(&x->line, mi, detail) == -1 ||
	    (detail && runner_ctlops_show_extra(x, mi, &x->line, err) == -1))
		return err_set(
		    err, ERR_TEMP, "message %s: object too large", mi->qid);
	return x->emit(x->emit_arg, x->line.data, x->line.len, err);
}

/* --- verbs ---------------------------------------------------------------- */

static int
runner_ctl_ping(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err)
{
	(void)x;
	(void)argc;
	(void)argv;
	(void)err;
	runner_ctl_set(st, CTLCLIENT_OK, "pong");
	return 0;
}

/* runner_ctl_whoami - the caller's own password entry (login and GECOS),
 * for a sendmail whose C library reads /etc/passwd only (musl) while the
 * account comes from an NSS module: relayd's lookup goes through NSS.  The
 * uid is the kernel's (SO_PEERCRED), so it tells nobody more than
 * getpwuid(getuid()) would tell them. */
static int
runner_ctl_whoami(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err)
{
	struct buf *b = &x->line;
	struct passwd *pw;

	(void)argc;
	(void)argv;
	pw = getpwuid(x->uid);
	if (pw == NULL) {
		runner_ctl_set(st, CTLCLIENT_NOMSG,
		    "uid %lu has no entry in the password database",
		    (unsigned long)x->uid);
		return 0;
	}
	buf_reset(b);
	if (buf_appendf(b, "{\"uid\":%lu,\"login\":", (unsigned long)x->uid) ==
		-1 ||
	    str_json(b, pw->pw_name, strlen(pw->pw_name)) == -1 ||
	    buf_puts(b, ",\"gecos\":") == -1 ||
	    (pw->pw_gecos != NULL
		    ? str_json(b, pw->pw_gecos, strlen(pw->pw_gecos))
		    : buf_puts(b, "null")) == -1 ||
	    buf_putc(b, '}') == -1)
		return err_set(err, ERR_INTERNAL, "whoami object too large");
	if (x->emit(x->emit_arg, b->data, b->len, err) == -1)
		return -1;
	runner_ctl_set(st, CTLCLIENT_OK, "ok");
	return 0;
}

/* runner_ctl_state - parse a state word into the filter. */
static int
runner_ctl_state(const char *s, struct spool_filter *f)
{
	enum spool_msg_state st;

	f->state = -1;
	f->include_done = false;
	if (strcmp(s, "active") == 0)
		return 0;
	if (strcmp(s, "all") == 0) {
		f->include_done = true;
		return 0;
	}
	if (spool_msg_state_parse(s, &st) == -1)
		return -1;
	f->state = (int)st;
	f->include_done = st == SPOOL_ST_SENT || st == SPOOL_ST_FAILED;
	return 0;
}

/* The state of one listing: where to put an emit failure. */
struct runner_ctl_walk {
	struct runner_ctl_ctx *x;
	struct err err;
	bool failed;
};

static int
runner_ctl_list_cb(const struct spool_msg_info *mi, void *arg)
{
	struct runner_ctl_walk *w = arg;

	if (runner_ctl_emit_msg(w->x, mi, false, &w->err) == -1) {
		w->failed = true;
		return 1;
	}
	return 0;
}

static int
runner_ctl_list(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err)
{
	struct runner_ctl_walk w;
	struct spool_filter f;

	memset(&f, 0, sizeof(f));
	f.all_users = x->privileged;
	f.uid = x->uid;
	f.state = -1;
	if (argc == 1 &&
	    (strncmp(argv[0], "state=", 6) != 0 ||
		runner_ctl_state(argv[0] + 6, &f) == -1)) {
		runner_ctl_set(st, CTLCLIENT_BADARG,
		    "unknown state (queued, deferred, held, sending, sent, "
		    "failed, active or all)");
		return 0;
	}
	memset(&w, 0, sizeof(w));
	w.x = x;
	if (spool_list(x->sp, &f, runner_ctl_list_cb, &w, err) == -1)
		return -1;
	if (w.failed) {
		*err = w.err;
		return -1;
	}
	runner_ctl_set(st, CTLCLIENT_OK, "ok");
	return 0;
}

static int
runner_ctl_show(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err)
{
	struct spool_msg_info *mi = NULL;
	int rc;

	if (!spool_qid_valid(argv[0])) {
		runner_ctl_set(st, CTLCLIENT_BADARG, "bad queue id");
		return 0;
	}
	if (spool_get(x->sp, argv[0], &mi, err) == -1) {
		if (err->cls != ERR_PERM)
			return -1;
		runner_ctl_set(
		    st, CTLCLIENT_NOMSG, "no such message: %s", argv[0]);
		return 0;
	}
	if (!x->privileged && mi->uid != x->uid) {
		spool_msg_info_free(mi);
		runner_ctl_set(
		    st, CTLCLIENT_NOMSG, "no such message: %s", argv[0]);
		return 0;
	}
	rc = runner_ctl_emit_msg(x, mi, true, err);
	if (rc == 0)
		runner_ctl_set(st, CTLCLIENT_OK, "ok");
	if (rc == 0 && argc == 2 && strcmp(argv[1], "body") == 0)
		rc = runner_ctlops_body(x, mi, st, err);
	else if (rc == 0 && argc == 2)
		runner_ctl_set(st, CTLCLIENT_BADARG, "show ID [body]");
	spool_msg_info_free(mi);
	return rc;
}

static int
runner_ctl_counts_json(struct buf *b, const struct spool_counts *c)
{
	int i;

	for (i = SPOOL_ST_QUEUED; i <= SPOOL_ST_FAILED; i++)
		if (buf_appendf(b, ",\"%s\":%llu",
			spool_msg_state_name((enum spool_msg_state)i),
			(unsigned long long)c->n[i]) == -1)
			return -1;
	if (buf_appendf(b, ",\"active\":%llu,\"active_bytes\":%llu",
		(unsigned long long)c->active,
		(unsigned long long)c->active_bytes) == -1 ||
	    buf_putc(b, ',') == -1)
		return -1;
	return runner_ctl_jtime(b, "oldest", c->oldest_active);
}

static int
runner_ctl_status(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err)
{
	const struct runner_ctl_daemon *d = x->daemon;
	struct spool_filter f;
	struct spool_counts c;
	struct buf *b = &x->line;
	time_t now = sys_time();

	(void)argc;
	(void)argv;
	memset(&f, 0, sizeof(f));
	f.all_users = x->privileged;
	f.uid = x->uid;
	f.state = -1;
	f.include_done = true;
	if (spool_count(x->sp, &f, &c, err) == -1)
		return -1;
	buf_reset(b);
	if (buf_appendf(b,
		"{\"pid\":%ld,\"version\":\"%s\",\"started\":%lld,"
		"\"uptime\":%lld,\"connections\":%zu,\"children\":%zu,"
		"\"body_memory\":%zu",
		(long)d->pid, RELAY_VERSION, (long long)d->started,
		(long long)(now - d->started), d->connections, d->children,
		d->body_memory) == -1 ||
	    runner_ctl_counts_json(b, &c) == -1 || buf_putc(b, '}') == -1)
		return err_set(err, ERR_INTERNAL, "status object too large");
	if (x->emit(x->emit_arg, b->data, b->len, err) == -1)
		return -1;
	runner_ctl_set(st, CTLCLIENT_OK, "ok");
	return 0;
}
