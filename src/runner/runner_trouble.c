/*
 * runner_trouble.c - outcomes to spool transitions (verdicts, health
 * diagram and the transitions in runner_trouble.h).
 *
 * Part of the runner: the delivery worker (runner_worker.c) calls in here
 * after smtp_open and after each smtp_send; nothing else in relayd writes
 * recipient results, ends claims or changes smarthost health.  Owns no
 * state beyond the struct runner_host a worker keeps per smarthost.
 *
 * Invariants: a recipient result is written right after the reply that
 * decided it (a refused RCPT at once, the rest right after the final
 * dot's reply, or for a burst of accepted messages together, in one
 * transaction: runner_trouble_batch), and logged only after its
 * transaction committed; a
 * recipient is SENT only when its RCPT and the final dot got 2xx; a
 * relay fault never writes a FAILED result, so it can never bounce mail;
 * a connection-class failure changes the smarthost's health, not the
 * messages' schedule.
 *
 * RFC 5321 4.2 (reply classes: 2yz done, 4yz transient, 5yz permanent;
 * 421 closes the session), RFC 3463 (4.5.3 too many recipients),
 * RFC 4954 6 (530 authentication required).
 *
 * Security: server text is stored and logged only through runner_log's
 * cleaning; credentials never reach this module.
 */
#include "config.h"

#include <string.h>

#include "base/log.h"
#include "base/str.h"
#include "base/sysops.h"
#include "base/xalloc.h"
#include "runner/runner_backoff.h"
#include "runner/runner_log.h"
#include "runner/runner_trouble.h"

/* Any scope, in the table below. */
#define RUNNER_SCOPE_ANY (-1)

/* The verdict of an outcome by its class and scope; the reply codes that
 * override it are checked first (runner_trouble_verdict). */
static const struct runner_rule {
	enum smtp_class cls;
	int scope; /* enum smtp_scope or RUNNER_SCOPE_ANY */
	enum runner_verdict v;
} runner_rules[] = {
	{ SMTP_CLASS_OK, RUNNER_SCOPE_ANY, RUNNER_V_SENT },
	{ SMTP_CLASS_PERM, RUNNER_SCOPE_ANY, RUNNER_V_FAILED },
	{ SMTP_CLASS_RELAY_FAULT, RUNNER_SCOPE_ANY, RUNNER_V_FAULT },
	{ SMTP_CLASS_TEMP, SMTP_SCOPE_SESSION, RUNNER_V_LOST },
	{ SMTP_CLASS_TEMP, SMTP_SCOPE_MESSAGE, RUNNER_V_DEFERRED },
	{ SMTP_CLASS_TEMP, SMTP_SCOPE_RECIPIENT, RUNNER_V_DEFERRED },
};

static const char *const runner_verdict_names[] = { "sent", "failed",
	"deferred", "again", "lost", "retry", "host", "fault" };

/* The log's status word for each verdict that writes a result. */
static const char *
runner_status_word(enum runner_verdict v)
{
	if (v == RUNNER_V_SENT)
		return "sent";
	if (v == RUNNER_V_FAILED)
		return "bounced";
	return "deferred";
}

const char *
runner_verdict_name(enum runner_verdict v)
{
	if ((size_t)v >=
	    sizeof(runner_verdict_names) / sizeof(runner_verdict_names[0]))
		return "unknown";
	return runner_verdict_names[v];
}

/* runner_writes_result - does verdict v write a recipient result? */
static bool
runner_writes_result(enum runner_verdict v)
{
	return v == RUNNER_V_SENT || v == RUNNER_V_FAILED ||
	    v == RUNNER_V_DEFERRED || v == RUNNER_V_LOST;
}

enum runner_verdict
runner_trouble_verdict(const struct smtp_outcome *o, bool others_accepted)
{
	enum smtp_scope scope = smtp_reason_scope(o->reason);
	size_t i;

	if (o->reason == SMTP_R_OK)
		return RUNNER_V_SENT;
	if (o->code == 421)
		return RUNNER_V_HOST;
	if (o->reason == SMTP_R_SENDER_REJECTED && o->code == 530)
		return RUNNER_V_FAULT;
	if (o->code == 452 && strcmp(o->enh, "4.5.3") == 0 && others_accepted)
		return RUNNER_V_AGAIN;
	if (o->cls == SMTP_CLASS_TEMP && scope == SMTP_SCOPE_SESSION &&
	    (o->stage == SMTP_STAGE_RSET || o->stage == SMTP_STAGE_NONE))
		return RUNNER_V_RETRY;
	for (i = 0; i < sizeof(runner_rules) / sizeof(runner_rules[0]); i++)
		if (runner_rules[i].cls == o->cls &&
		    (runner_rules[i].scope == RUNNER_SCOPE_ANY ||
			runner_rules[i].scope == (int)scope))
			return runner_rules[i].v;
	return RUNNER_V_DEFERRED;
}

/* --- smarthost health ----------------------------------------------------- */

int
runner_trouble_host_load(struct runner_trouble *t,
    const struct conf_smarthost *sh, struct runner_host *h, struct err *err)
{
	bool found = false;

	memset(h, 0, sizeof(*h));
	h->sh = sh;
	if (spool_health_get(t->sp, sh->name, &h->h, &found, err) == -1)
		return -1;
	if (!found) {
		memset(&h->h, 0, sizeof(h->h));
		h->h.state = SPOOL_HS_OK;
	}
	if (str_copy(h->h.name, sizeof(h->h.name), sh->name) == -1)
		return err_set(
		    err, ERR_CONFIG, "smarthost name too long: %s", sh->name);
	return 0;
}

bool
runner_trouble_host_usable(const struct runner_host *h, time_t now, bool force)
{
	return force || h->h.state == SPOOL_HS_OK || h->h.next_try <= now;
}

/* runner_host_put - write h's row; trouble is logged, not fatal (the
 * worst case is one more attempt than the schedule wanted). */
static void
runner_host_put(struct runner_trouble *t, const struct runner_host *h)
{
	struct err err;

	err_clear(&err);
	if (spool_health_put(t->sp, &h->h, &err) == -1)
		log_warnx("smarthost %s: health not recorded: %s", h->sh->name,
		    err.msg);
}

void
runner_trouble_open_ok(
    struct runner_trouble *t, struct runner_host *h, time_t now)
{
	struct spool_host_health *hh = &h->h;
	bool was_down = hh->state != SPOOL_HS_OK;
	char reason[sizeof(hh->last_reason)];
	time_t down_since = hh->since;
	struct err err;
	size_t n = 0;

	if (!was_down && hh->failures == 0 && hh->last_ok != 0 &&
	    now - hh->last_ok < 60)
		return;
	(void)str_copy(reason, sizeof(reason), hh->last_reason);
	if (was_down || hh->since == 0)
		hh->since = now;
	hh->state = SPOOL_HS_OK;
	hh->failures = 0;
	hh->next_try = 0;
	hh->last_ok = now;
	hh->last_reason[0] = '\0';
	hh->last_text[0] = '\0';
	runner_host_put(t, h);
	if (!was_down)
		return;
	err_clear(&err);
	if (spool_due_all(t->sp, now, &n, &err) == -1)
		log_warnx("smarthost %s: waiting mail not made due: %s",
		    h->sh->name, err.msg);
	log_info("smarthost %s answers again (down %llds, %s); %zu waiting "
		 "message%s due now",
	    h->sh->name, (long long)(now - down_since), reason, n,
	    n == 1 ? "" : "s");
}

time_t
runner_trouble_host_fail(struct runner_trouble *t, struct runner_host *h,
    const struct smtp_outcome *o, time_t now)
{
	struct spool_host_health *hh = &h->h;
	const char *name = smtp_reason_name(o->reason);
	bool fault = o->cls == SMTP_CLASS_RELAY_FAULT ||
	    o->cls == SMTP_CLASS_PERM ||
	    runner_trouble_verdict(o, false) == RUNNER_V_FAULT;
	enum spool_host_state st = fault ? SPOOL_HS_FAULT : SPOOL_HS_BACKOFF;
	bool changed = hh->state != st || strcmp(hh->last_reason, name) != 0;
	long long delay;

	if (hh->failures < 1000000)
		hh->failures++;
	delay = runner_backoff_delay(t->conf,
	    fault ? RUNNER_BO_FAULT : RUNNER_BO_HOST, hh->failures,
	    runner_backoff_random());
	hh->next_try = now + (time_t)delay;
	if (hh->state != st)
		hh->since = now;
	hh->state = st;
	(void)str_copy(hh->last_reason, sizeof(hh->last_reason), name);
	(void)runner_log_clean(hh->last_text, sizeof(hh->last_text), o->msg);
	runner_host_put(t, h);
	if (fault && changed)
		log_warnx("smarthost %s: relay fault %s: %s; queue held, "
			  "retried every %llds",
		    h->sh->name, name, hh->last_text, delay);
	else if (fault)
		log_debug("smarthost %s: still held by the same fault, next "
			  "try in %llds",
		    h->sh->name, delay);
	else
		log_warnx("smarthost %s: %s: %s; backing off %llds (failure "
			  "%d)",
		    h->sh->name, name, hh->last_text, delay, hh->failures);
	return hh->next_try;
}

/* --- recipient results ---------------------------------------------------- */

/* runner_status_of - the enhanced status to store: the server's, else
 * one from the class ("5.0.0", "4.0.0", "4.4.2" for a lost session). */
static void
runner_status_of(
    const struct smtp_outcome *o, enum runner_verdict v, char *out, size_t size)
{
	if (o->enh[0] != '\0')
		(void)str_copy(out, size, o->enh);
	else if (v == RUNNER_V_SENT)
		(void)str_copy(out, size, "2.0.0");
	else if (v == RUNNER_V_FAILED)
		(void)str_copy(out, size, "5.0.0");
	else if (v == RUNNER_V_LOST)
		(void)str_copy(out, size, "4.4.2");
	else
		(void)str_copy(out, size, "4.0.0");
}

/* runner_text_of - the server's reply, else what happened in words. */
static void
runner_text_of(const struct smtp_outcome *o, char *out, size_t size)
{
	if (o->text[0] != '\0')
		(void)str_copy(out, size, o->text);
	else
		(void)str_fmt(out, size, "the smarthost %s (stage %s)",
		    smtp_reason_what(o->reason), smtp_stage_name(o->stage));
}

/* runner_write - recipient i's result for verdict v. */
static int
runner_write(struct runner_trouble *t, const struct runner_attempt *a, size_t i,
    enum runner_verdict v, const struct smtp_outcome *o, time_t now,
    struct err *err)
{
	const struct spool_rcpt_info *ri = &a->mi->rcpts[i];
	enum spool_rcpt_state st = SPOOL_RS_DEFERRED;
	struct spool_outcome so;
	char status[16], text[600];

	runner_status_of(o, v, status, sizeof(status));
	runner_text_of(o, text, sizeof(text));
	memset(&so, 0, sizeof(so));
	so.now = now;
	so.reply = text;
	so.status = status;
	so.relay = o->relay[0] != '\0' ? o->relay : NULL;
	if (v == RUNNER_V_SENT) {
		st = SPOOL_RS_SENT;
	} else {
		so.reason = smtp_reason_name(o->reason);
		so.reason_text = smtp_reason_text(o->reason);
		if (v == RUNNER_V_FAILED)
			st = SPOOL_RS_FAILED;
		else
			so.next_attempt = runner_backoff_next(
			    t->conf, RUNNER_BO_RCPT, ri->attempts + 1, now);
	}
	return spool_rcpt_result(t->sp, a->mi->qid, ri->address, st, &so, err);
}

/* runner_log_result - the log line of a written result. */
static void
runner_log_result(const struct runner_attempt *a, size_t i,
    enum runner_verdict v, const struct smtp_outcome *o)
{
	const struct spool_rcpt_info *ri = &a->mi->rcpts[i];
	struct runner_log_rcpt l;
	char text[600];

	runner_text_of(o, text, sizeof(text));
	memset(&l, 0, sizeof(l));
	l.qid = a->mi->qid;
	l.rcpt = ri->address;
	l.relay = o->relay;
	l.tls = o->tls;
	l.created = a->mi->created;
	l.attempts = ri->attempts + 1;
	l.status = runner_status_word(v);
	l.reason = v == RUNNER_V_SENT ? NULL : smtp_reason_name(o->reason);
	l.text = text;
	runner_log_rcpt(&l);
}

void
runner_trouble_rcpt_early(struct runner_trouble *t, struct runner_attempt *a,
    size_t i, const struct smtp_outcome *o)
{
	enum runner_verdict v;
	struct err err;

	if (i >= a->mi->nrcpts || a->recorded[i] ||
	    o->stage != SMTP_STAGE_RCPT || o->code < 400 || o->code == 421 ||
	    o->code == 452)
		return;
	v = runner_trouble_verdict(o, false);
	if (v != RUNNER_V_FAILED && v != RUNNER_V_DEFERRED)
		return;
	err_clear(&err);
	if (runner_write(t, a, i, v, o, sys_time(), &err) == -1) {
		log_warnx("%s: result for <%s> not recorded yet: %s",
		    a->mi->qid, a->mi->rcpts[i].address, err.msg);
		return;
	}
	a->recorded[i] = true;
	if (v == RUNNER_V_FAILED)
		a->nfailed++;
	runner_log_result(a, i, v, o);
}

/* --- one message ---------------------------------------------------------- */

/* What one attempt's outcomes add up to. */
struct runner_sum {
	enum runner_verdict *v; /* per recipient */
	const struct smtp_outcome *host_o; /* HOST or FAULT outcome */
	enum runner_verdict host_v; /* RUNNER_V_SENT: none */
	bool lost, retry, wrote;
};

/* runner_sum_up - each unrecorded recipient's verdict. */
static void
runner_sum_up(const struct runner_attempt *a, int rc,
    const struct smtp_outcome *rcpt_out, const struct smtp_outcome *msg_out,
    struct runner_sum *s)
{
	bool accepted = false;
	size_t i;

	for (i = 0; i < a->mi->nrcpts; i++)
		accepted = accepted || rcpt_out[i].reason == SMTP_R_OK;
	for (i = 0; i < a->mi->nrcpts; i++) {
		if (a->recorded[i]) {
			s->wrote = true; /* written early: an attempt */
			continue;
		}
		s->v[i] = runner_trouble_verdict(&rcpt_out[i], accepted);
		if (s->v[i] == RUNNER_V_FAULT ||
		    (s->v[i] == RUNNER_V_HOST && s->host_v != RUNNER_V_FAULT)) {
			s->host_v = s->v[i];
			s->host_o = &rcpt_out[i];
		}
		s->lost = s->lost || s->v[i] == RUNNER_V_LOST;
		s->retry = s->retry || s->v[i] == RUNNER_V_RETRY;
		s->wrote = s->wrote || runner_writes_result(s->v[i]);
	}
	if (rc == -1 && s->host_v == RUNNER_V_SENT) {
		enum runner_verdict mv = runner_trouble_verdict(msg_out, false);

		if (mv == RUNNER_V_HOST || mv == RUNNER_V_FAULT) {
			s->host_v = mv;
			s->host_o = msg_out;
		}
	}
}

/* runner_write_results - write the results and end the claim (unless
 * the host is at fault: then the caller gives it back), inside the
 * caller's transaction. */
static int
runner_write_results(struct runner_trouble *t, struct runner_attempt *a,
    const struct smtp_outcome *rcpt_out, const struct runner_sum *s, time_t now,
    struct err *err)
{
	size_t i;

	for (i = 0; i < a->mi->nrcpts; i++) {
		if (a->recorded[i] || !runner_writes_result(s->v[i]))
			continue;
		if (runner_write(t, a, i, s->v[i], &rcpt_out[i], now, err) ==
		    -1)
			return -1;
	}
	if (s->host_v == RUNNER_V_SENT && s->wrote)
		return spool_finish(
		    t->sp, a->mi->qid, t->owner, now, NULL, err);
	if (s->host_v == RUNNER_V_SENT)
		/* nothing decided (lost before the message's turn, or
		 * recorded early): no attempt to count */
		return spool_release(
		    t->sp, a->mi->qid, t->owner, now, NULL, err);
	return 0;
}

/* runner_commit_results - runner_write_results in a transaction of its
 * own. */
static int
runner_commit_results(struct runner_trouble *t, struct runner_attempt *a,
    const struct smtp_outcome *rcpt_out, const struct runner_sum *s, time_t now,
    struct err *err)
{
	if (spool_begin(t->sp, err) == -1)
		return -1;
	if (runner_write_results(t, a, rcpt_out, s, now, err) == -1) {
		spool_rollback(t->sp);
		return -1;
	}
	return spool_commit(t->sp, err);
}

/* runner_after_commit - logs, bounce count and the host's share. */
static void
runner_after_commit(struct runner_attempt *a,
    const struct smtp_outcome *rcpt_out, const struct runner_sum *s)
{
	size_t i;

	for (i = 0; i < a->mi->nrcpts; i++) {
		if (a->recorded[i] || !runner_writes_result(s->v[i]))
			continue;
		a->recorded[i] = true;
		if (s->v[i] == RUNNER_V_FAILED)
			a->nfailed++;
		runner_log_result(a, i, s->v[i], &rcpt_out[i]);
	}
}

/* runner_give_back - the host is at fault for this message: health
 * first, then the claim back with the host's next try. */
static void
runner_give_back(struct runner_trouble *t, struct runner_attempt *a,
    struct runner_host *h, const struct runner_sum *s, time_t now)
{
	struct spool_outcome so;
	char text[600];
	struct err err;

	memset(&so, 0, sizeof(so));
	so.now = now;
	so.next_attempt = runner_trouble_host_fail(t, h, s->host_o, now);
	so.reason = smtp_reason_name(s->host_o->reason);
	so.reason_text = smtp_reason_text(s->host_o->reason);
	runner_text_of(s->host_o, text, sizeof(text));
	so.reply = text;
	so.relay = s->host_o->relay[0] != '\0' ? s->host_o->relay : NULL;
	err_clear(&err);
	if (spool_release(t->sp, a->mi->qid, t->owner, now, &so, &err) == -1)
		log_warnx("%s: claim not given back: %s", a->mi->qid, err.msg);
}

enum runner_next
runner_trouble_message(struct runner_trouble *t, struct runner_attempt *a,
    struct runner_host *h, int rc, const struct smtp_outcome *rcpt_out,
    const struct smtp_outcome *msg_out)
{
	struct runner_sum s;
	enum runner_next next = RUNNER_NEXT_GO_ON;
	time_t now = sys_time();
	struct err err;

	memset(&s, 0, sizeof(s));
	s.v = xcalloc(a->mi->nrcpts + 1, sizeof(*s.v));
	s.host_v = RUNNER_V_SENT;
	runner_sum_up(a, rc, rcpt_out, msg_out, &s);
	err_clear(&err);
	if (runner_commit_results(t, a, rcpt_out, &s, now, &err) == -1) {
		log_errx("%s: results not recorded: %s", a->mi->qid, err.msg);
		next = RUNNER_NEXT_LOCAL;
		goto out_free;
	}
	runner_after_commit(a, rcpt_out, &s);
	if (s.host_v != RUNNER_V_SENT) {
		runner_give_back(t, a, h, &s, now);
		next = RUNNER_NEXT_HOST_DOWN;
	} else if ((s.lost || s.retry) && a->behind_loss) {
		next = RUNNER_NEXT_RECONNECT;
	} else if (s.lost || s.retry) {
		h->lost_in_row++;
		next = RUNNER_NEXT_RECONNECT;
		if (h->lost_in_row >= RUNNER_LOST_MAX) {
			(void)runner_trouble_host_fail(t, h, msg_out, now);
			next = RUNNER_NEXT_HOST_DOWN;
		}
	} else {
		h->lost_in_row = 0;
		if (rc == -1)
			next = RUNNER_NEXT_RECONNECT;
	}
out_free:
	xfree(s.v);
	return next;
}

/* runner_batch_plain - is attempt k of b an accepted message whose
 * results need nothing beyond writing (no host trouble, no loss)?  OUT
 * s: its sum. */
static bool
runner_batch_plain(const struct runner_batch *b, size_t k, struct runner_sum *s)
{
	struct runner_attempt *a = b->a[k];

	memset(s, 0, sizeof(*s));
	s->v = xcalloc(a->mi->nrcpts + 1, sizeof(*s->v));
	s->host_v = RUNNER_V_SENT;
	runner_sum_up(a, 0, b->rcpt_out[k], b->msg_out[k], s);
	return s->host_v == RUNNER_V_SENT && !s->lost && !s->retry;
}

/* runner_batch_write - the plain ones' results in one transaction;
 * OUT done[k]: attempt k was written.  -1 (nothing written) on spool
 * trouble. */
static int
runner_batch_write(struct runner_trouble *t, const struct runner_batch *b,
    struct runner_sum *s, bool *done, time_t now)
{
	struct err err;
	size_t k;

	err_clear(&err);
	if (spool_begin(t->sp, &err) == -1)
		return -1;
	for (k = 0; k < b->n; k++) {
		if (!runner_batch_plain(b, k, &s[k]))
			continue;
		if (runner_write_results(
			t, b->a[k], b->rcpt_out[k], &s[k], now, &err) == -1)
			goto out_rollback;
		done[k] = true;
	}
	if (spool_commit(t->sp, &err) == 0)
		return 0;
out_rollback:
	spool_rollback(t->sp);
	log_debug(
	    "results of %zu messages not written together: %s", b->n, err.msg);
	memset(done, 0, b->n * sizeof(*done));
	return -1;
}

enum runner_next
runner_trouble_batch(struct runner_trouble *t, const struct runner_batch *b,
    struct runner_host *h)
{
	struct runner_sum *s = xcalloc(b->n + 1, sizeof(*s));
	bool *done = xcalloc(b->n + 1, sizeof(*done));
	enum runner_next next = RUNNER_NEXT_GO_ON, n1;
	time_t now = sys_time();
	size_t k;

	(void)runner_batch_write(t, b, s, done, now);
	for (k = 0; k < b->n; k++) {
		if (done[k]) {
			runner_after_commit(b->a[k], b->rcpt_out[k], &s[k]);
			h->lost_in_row = 0;
		} else {
			/* not plain, or the batch failed: on its own */
			n1 = runner_trouble_message(
			    t, b->a[k], h, 0, b->rcpt_out[k], b->msg_out[k]);
			next = n1 > next ? n1 : next;
		}
		xfree(s[k].v);
	}
	xfree(done);
	xfree(s);
	return next;
}

void
runner_trouble_release(struct runner_trouble *t, const char *qid)
{
	struct err err;

	err_clear(&err);
	if (spool_release(t->sp, qid, t->owner, sys_time(), NULL, &err) == -1)
		log_debug("%s: claim not given back: %s", qid, err.msg);
}
