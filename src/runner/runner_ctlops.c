/*
 * runner_ctlops.c - the control requests that change the queue, stats,
 * and the header and body parts of show (design and access rules in
 * runner_ctlops.h; why is in runner_why.c).
 *
 * Owns nothing beyond one request.  Every change goes through one spool
 * operation (spool_hold, spool_release_hold, spool_delete, spool_retry,
 * spool_bounce), which acts only on messages matching the caller's
 * filter: that is where "other users act on their own messages only" is
 * enforced.
 *
 * Security: the caller's uid comes from SO_PEERCRED; arguments are checked
 * (queue id syntax, "all" only for root and group) before use; every
 * string from mail or servers leaves through str_json.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/str.h"
#include "base/sysops.h"
#include "mail/hdr.h"
#include "runner/runner_bounce.h"
#include "runner/runner_ctlops.h"

/* Header bytes show reports at most. */
#define RUNNER_CTLOPS_MAX_HEADERS (512 * 1024)

enum runner_ctlops_op {
	RUNNER_OP_RETRY = 0,
	RUNNER_OP_HOLD,
	RUNNER_OP_RELEASE,
	RUNNER_OP_DELETE,
	RUNNER_OP_BOUNCE,
};

/* The words of each operation: the verb, and the status text. */
static const char *const runner_ctlops_done[] = { "due now", "held", "released",
	"deleted", "returned to the sender" };

/* --- JSON ----------------------------------------------------------------- */

int
runner_ctlops_jstr(struct buf *b, const char *key, const char *val)
{
	if (buf_appendf(b, ",\"%s\":", key) == -1)
		return -1;
	if (val == NULL)
		return buf_puts(b, "null");
	return str_json(b, val, strlen(val));
}

int
runner_ctlops_jint(struct buf *b, const char *key, long long v)
{
	return buf_appendf(b, ",\"%s\":%lld", key, v);
}

int
runner_ctlops_jtime(struct buf *b, const char *key, time_t t)
{
	if (t == 0)
		return buf_appendf(b, ",\"%s\":null", key);
	return runner_ctlops_jint(b, key, (long long)t);
}

int
runner_ctlops_jbool(struct buf *b, const char *key, bool v)
{
	return buf_appendf(b, ",\"%s\":%s", key, v ? "true" : "false");
}

int
runner_ctlops_emit(struct runner_ctl_ctx *x, struct err *err)
{
	return x->emit(x->emit_arg, x->line.data, x->line.len, err);
}

/* --- changes -------------------------------------------------------------- */

/* runner_ctlops_kick - let relayd plan delivery at once. */
static void
runner_ctlops_kick(struct runner_ctl_ctx *x)
{
	if (x->daemon != NULL && x->daemon->kick != NULL)
		x->daemon->kick(x->daemon->arg);
}

/* runner_ctlops_bounce_now - queue the report for a returned message
 * at once (else the next housekeeping run does it). */
static void
runner_ctlops_bounce_now(struct runner_ctl_ctx *x, const char *qid, time_t now)
{
	char bqid[SPOOL_QID_SIZE];
	struct err err;

	err_clear(&err);
	if (runner_bounce_one(x->sp, x->conf,
		x->daemon != NULL ? x->daemon->aliases : NULL, qid, now, bqid,
		&err) == -1)
		log_warnx("%s: report not queued yet: %s", qid, err.msg);
}

/* runner_ctlops_call - the spool operation op on qid (NULL: all). */
static int
runner_ctlops_call(struct runner_ctl_ctx *x, enum runner_ctlops_op op,
    const char *qid, const struct spool_filter *f, size_t *n, struct err *err)
{
	struct spool_outcome o;
	char reply[128];
	time_t now = sys_time();

	switch (op) {
	case RUNNER_OP_RETRY:
		return spool_retry(x->sp, qid, f, now, n, err);
	case RUNNER_OP_HOLD:
		return spool_hold(x->sp, qid, f, n, err);
	case RUNNER_OP_RELEASE:
		return spool_release_hold(x->sp, qid, f, n, err);
	case RUNNER_OP_DELETE:
		return spool_delete(x->sp, qid, f, n, err);
	case RUNNER_OP_BOUNCE:
		break;
	}
	memset(&o, 0, sizeof(o));
	(void)str_fmt(reply, sizeof(reply),
	    "returned to the sender with relayctl bounce by uid %lu",
	    (unsigned long)x->uid);
	o.now = now;
	o.reason = "returned_by_admin";
	o.reason_text = runner_why_text(o.reason);
	o.reply = reply;
	o.status = "5.0.0";
	if (spool_bounce(x->sp, qid, f, &o, n, err) == -1)
		return -1;
	if (*n > 0)
		runner_ctlops_bounce_now(x, qid, now);
	return 0;
}

/* runner_ctlops_result - the object for one operation and its status. */
static int
runner_ctlops_result(struct runner_ctl_ctx *x, enum runner_ctlops_op op,
    const char *qid, size_t n, struct ctlclient_status *st, struct err *err)
{
	buf_reset(&x->line);
	if (buf_puts(&x->line, "{\"id\":") == -1 ||
	    (qid == NULL ? buf_puts(&x->line, "null")
			 : str_json(&x->line, qid, strlen(qid))) == -1 ||
	    runner_ctlops_jint(&x->line, "changed", (long long)n) == -1 ||
	    buf_putc(&x->line, '}') == -1)
		return err_set(err, ERR_INTERNAL, "result object too large");
	if (runner_ctlops_emit(x, err) == -1)
		return -1;
	runner_ctl_set(st, CTLCLIENT_OK, "%zu message%s %s", n,
	    n == 1 ? "" : "s", runner_ctlops_done[op]);
	return 0;
}

/* runner_ctlops_apply - one operation on arg (a queue id, or "all"). */
static int
runner_ctlops_apply(struct runner_ctl_ctx *x, enum runner_ctlops_op op,
    const char *arg, struct ctlclient_status *st, struct err *err)
{
	struct spool_filter f;
	const char *qid = arg;
	size_t n = 0;

	memset(&f, 0, sizeof(f));
	f.all_users = x->privileged;
	f.uid = x->uid;
	f.state = -1;
	f.include_done = true;
	if (strcmp(arg, "all") == 0 && op != RUNNER_OP_RETRY &&
	    op != RUNNER_OP_BOUNCE) {
		if (!x->privileged) {
			runner_ctl_set(st, CTLCLIENT_DENIED,
			    "not permitted: --all is for root and group %s",
			    x->conf->group);
			return 0;
		}
		qid = NULL;
		f.include_done = false;
	} else if (!spool_qid_valid(arg)) {
		runner_ctl_set(st, CTLCLIENT_BADARG, "bad queue id");
		return 0;
	}
	if (runner_ctlops_call(x, op, qid, &f, &n, err) == -1) {
		if (err->cls != ERR_PERM)
			return -1;
		runner_ctl_set(st, CTLCLIENT_NOMSG, "no such message: %s", arg);
		return 0;
	}
	if (n > 0 && op != RUNNER_OP_HOLD && op != RUNNER_OP_DELETE)
		runner_ctlops_kick(x);
	if (n > 0)
		log_info("%s: %s by uid %lu", qid != NULL ? qid : "all",
		    runner_ctlops_done[op], (unsigned long)x->uid);
	return runner_ctlops_result(x, op, qid, n, st, err);
}

int
runner_ctlops_retry(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err)
{
	(void)argc;
	return runner_ctlops_apply(x, RUNNER_OP_RETRY, argv[0], st, err);
}

int
runner_ctlops_hold(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err)
{
	(void)argc;
	return runner_ctlops_apply(x, RUNNER_OP_HOLD, argv[0], st, err);
}

int
runner_ctlops_release(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err)
{
	(void)argc;
	return runner_ctlops_apply(x, RUNNER_OP_RELEASE, argv[0], st, err);
}

int
runner_ctlops_delete(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err)
{
	(void)argc;
	return runner_ctlops_apply(x, RUNNER_OP_DELETE, argv[0], st, err);
}

int
runner_ctlops_bounce(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err)
{
	(void)argc;
	return runner_ctlops_apply(x, RUNNER_OP_BOUNCE, argv[0], st, err);
}

int
runner_ctlops_flush(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err)
{
	int i;

	if (argc == 0) {
		x->daemon->flush(x->daemon->arg);
		runner_ctl_set(st, CTLCLIENT_OK, "queue run started");
		return 0;
	}
	for (i = 0; i < argc; i++) {
		if (!spool_qid_valid(argv[i])) {
			runner_ctl_set(st, CTLCLIENT_BADARG, "bad queue id");
			return 0;
		}
	}
	for (i = 0; i < argc; i++) {
		if (runner_ctlops_apply(x, RUNNER_OP_RETRY, argv[i], st, err) ==
		    -1)
			return -1;
		if (st->code != CTLCLIENT_OK)
			return 0;
	}
	runner_ctlops_kick(x);
	runner_ctl_set(st, CTLCLIENT_OK, "queue run started");
	return 0;
}

/* --- show: headers and body ------------------------------------------------- */

/* The header section as it is read. */
struct runner_ctlops_head {
	struct buf b;
	bool done;
};

static int
runner_ctlops_head_cb(const char *p, size_t n, void *arg)
{
	struct runner_ctlops_head *h = arg;
	size_t from = h->b.len > 3 ? h->b.len - 3 : 0;
	char *end;

	if (buf_append(&h->b, p, n) == -1)
		return 1; /* longer than shown: what fits is kept */
	end = h->b.len - from >= 4
	    ? memmem(h->b.data + from, h->b.len - from, "\r\n\r\n", 4)
	    : NULL;
	if (end != NULL) {
		buf_truncate(&h->b, (size_t)(end - h->b.data) + 2);
		h->done = true;
		return 1;
	}
	return 0;
}

int
runner_ctlops_show_extra(struct runner_ctl_ctx *x,
    const struct spool_msg_info *mi, struct buf *b, struct err *err)
{
	struct runner_ctlops_head h;
	struct err rerr;
	int rc;

	if (b->len == 0 || b->data[b->len - 1] != '}')
		return err_set(err, ERR_INTERNAL, "show object malformed");
	buf_truncate(b, b->len - 1);
	buf_init(&h.b, RUNNER_CTLOPS_MAX_HEADERS);
	h.done = false;
	err_clear(&rerr);
	if (spool_body_read(x->sp, mi->qid, runner_ctlops_head_cb, &h, &rerr) ==
	    -1)
		rc = buf_puts(b, ",\"headers\":null");
	else
		rc = buf_puts(b, ",\"headers\":") == -1 ||
			str_json(b, h.b.data, h.b.len) == -1
		    ? -1
		    : 0;
	buf_free(&h.b);
	if (rc == -1 || buf_putc(b, '}') == -1)
		return err_set(
		    err, ERR_TEMP, "message %s: object too large", mi->qid);
	return 0;
}

/* The body as it is sent. */
struct runner_ctlops_bodyw {
	struct runner_ctl_ctx *x;
	struct err err;
	bool failed;
};

static int
runner_ctlops_body_cb(const char *p, size_t n, void *arg)
{
	struct runner_ctlops_bodyw *w = arg;
	struct buf *b = &w->x->line;

	buf_reset(b);
	if (buf_puts(b, "{\"data\":") == -1 || str_json(b, p, n) == -1 ||
	    buf_putc(b, '}') == -1) {
		(void)err_set(&w->err, ERR_INTERNAL, "body chunk too large");
		w->failed = true;
		return 1;
	}
	if (runner_ctlops_emit(w->x, &w->err) == -1) {
		w->failed = true;
		return 1;
	}
	return 0;
}

int
runner_ctlops_body(struct runner_ctl_ctx *x, const struct spool_msg_info *mi,
    struct ctlclient_status *st, struct err *err)
{
	struct runner_ctlops_bodyw w;

	if (x->uid != 0 && x->uid != mi->uid) {
		runner_ctl_set(st, CTLCLIENT_DENIED,
		    "not permitted: only the message's owner and root may see "
		    "its body");
		return 0;
	}
	memset(&w, 0, sizeof(w));
	w.x = x;
	if (spool_body_read(x->sp, mi->qid, runner_ctlops_body_cb, &w, err) ==
	    -1)
		return -1;
	if (w.failed) {
		*err = w.err;
		return -1;
	}
	runner_ctl_set(st, CTLCLIENT_OK, "ok");
	return 0;
}

/* --- stats ---------------------------------------------------------------- */

/* runner_ctlops_events - "name":{"received":n,...} for one period. */
static int
runner_ctlops_events(struct buf *b, const char *name, const uint64_t *ev)
{
	int i;

	if (buf_appendf(b, ",\"%s\":{", name) == -1)
		return -1;
	for (i = 0; i < SPOOL_EV_COUNT; i++)
		if (buf_appendf(b, "%s\"%s\":%llu", i > 0 ? "," : "",
			spool_event_name((enum spool_event)i),
			(unsigned long long)ev[i]) == -1)
			return -1;
	return buf_putc(b, '}');
}

/* runner_ctlops_tls_mode - the cached TLS mode of a smarthost ("" when
 * none); with no port, the first auto port that has one. */
static void
runner_ctlops_tls_mode(struct runner_ctl_ctx *x,
    const struct conf_smarthost *sh, struct spool_tls_entry *e)
{
	struct err err;
	bool found = false;
	size_t i;

	memset(e, 0, sizeof(*e));
	err_clear(&err);
	if (sh->port != 0) {
		if (spool_tls_get(x->sp, sh->host, sh->port, e, &found, &err) ==
			-1 ||
		    !found)
			memset(e, 0, sizeof(*e));
		return;
	}
	for (i = 0; i < x->conf->ntls_auto_ports && !found; i++)
		if (spool_tls_get(x->sp, sh->host,
			x->conf->tls_auto_ports[i].port, e, &found, &err) == -1)
			found = false;
	if (!found)
		memset(e, 0, sizeof(*e));
}

int
runner_ctlops_host_json(
    struct runner_ctl_ctx *x, const struct conf_smarthost *sh, struct buf *b)
{
	struct spool_host_health h;
	struct spool_tls_entry t;
	struct err err;
	bool found = false;

	err_clear(&err);
	memset(&h, 0, sizeof(h));
	if (spool_health_get(x->sp, sh->name, &h, &found, &err) == -1)
		found = false;
	runner_ctlops_tls_mode(x, sh, &t);
	if (buf_puts(b, "{\"name\":") == -1 ||
	    str_json(b, sh->name, strlen(sh->name)) == -1 ||
	    runner_ctlops_jstr(b, "host", sh->host) == -1 ||
	    runner_ctlops_jint(b, "port", sh->port) == -1 ||
	    runner_ctlops_jstr(b, "state",
		found ? spool_host_state_name(h.state) : "untried") == -1 ||
	    runner_ctlops_jint(b, "failures", found ? h.failures : 0) == -1 ||
	    runner_ctlops_jtime(b, "next_try", found ? h.next_try : 0) == -1 ||
	    runner_ctlops_jtime(b, "since", found ? h.since : 0) == -1 ||
	    runner_ctlops_jtime(b, "last_ok", found ? h.last_ok : 0) == -1 ||
	    runner_ctlops_jstr(b, "reason",
		found && h.last_reason[0] != '\0' ? h.last_reason : NULL) ==
		-1 ||
	    runner_ctlops_jstr(b, "reason_text",
		found ? runner_why_text(h.last_reason) : NULL) == -1 ||
	    runner_ctlops_jstr(b, "last_text",
		found && h.last_text[0] != '\0' ? h.last_text : NULL) == -1 ||
	    runner_ctlops_jstr(b, "tls_mode", t.mode[0] ? t.mode : NULL) ==
		-1 ||
	    runner_ctlops_jtime(b, "tls_verified", t.verified_at) == -1)
		return -1;
	return buf_putc(b, '}');
}

/* runner_ctlops_counts - the counts members of stats. */
static int
runner_ctlops_counts(struct buf *b, const struct spool_counts *c, time_t now)
{
	int i;

	for (i = SPOOL_ST_QUEUED; i <= SPOOL_ST_FAILED; i++)
		if (buf_appendf(b, "%s\"%s\":%llu", i > 0 ? "," : "",
			spool_msg_state_name((enum spool_msg_state)i),
			(unsigned long long)c->n[i]) == -1)
			return -1;
	if (runner_ctlops_jint(b, "active", (long long)c->active) == -1 ||
	    runner_ctlops_jint(b, "active_bytes", (long long)c->active_bytes) ==
		-1 ||
	    runner_ctlops_jtime(b, "oldest", c->oldest_active) == -1)
		return -1;
	return runner_ctlops_jint(b, "oldest_age",
	    c->oldest_active != 0 && now > c->oldest_active
		? (long long)(now - c->oldest_active)
		: 0);
}

int
runner_ctlops_stats(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err)
{
	struct spool_filter f = { true, 0, -1, true };
	struct buf *b = &x->line;
	struct spool_counts c;
	struct spool_stats ev;
	time_t now = sys_time();
	size_t i;

	(void)argc;
	(void)argv;
	if (spool_count(x->sp, &f, &c, err) == -1 ||
	    spool_stats(x->sp, now, &ev, err) == -1)
		return -1;
	buf_reset(b);
	if (buf_putc(b, '{') == -1 || runner_ctlops_counts(b, &c, now) == -1 ||
	    runner_ctlops_jtime(b, "now", now) == -1 ||
	    runner_ctlops_events(b, "last_hour", ev.hour) == -1 ||
	    runner_ctlops_events(b, "last_day", ev.day) == -1 ||
	    runner_ctlops_jbool(b, "relayd", x->daemon != NULL) == -1 ||
	    buf_puts(b, ",\"smarthosts\":[") == -1)
		return err_set(err, ERR_INTERNAL, "stats object too large");
	for (i = 0; i < x->conf->nsmarthosts; i++)
		if ((i > 0 && buf_putc(b, ',') == -1) ||
		    runner_ctlops_host_json(x, &x->conf->smarthosts[i], b) ==
			-1)
			return err_set(
			    err, ERR_INTERNAL, "stats object too large");
	if (buf_puts(b, "]}") == -1)
		return err_set(err, ERR_INTERNAL, "stats object too large");
	if (runner_ctlops_emit(x, err) == -1)
		return -1;
	runner_ctl_set(st, CTLCLIENT_OK, "ok");
	return 0;
}
