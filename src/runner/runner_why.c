/*
 * runner_why.c - "why is my mail stuck": the why control request, and the
 * reason names' sentences and stages the other control requests use
 * (runner_ctlops.h).
 *
 *   why ID   one object: the message's state, the stage delivery fails at
 *            (DNS, connect, TLS, AUTH, MAIL, RCPT, DATA), the reason's
 *            name and sentence, the last reply, the attempts, the next
 *            attempt, what to do, and "text", all of it as one paragraph;
 *            "stuck" is true when the message waits for something that
 *            will not fix itself (held, deferred by a failure, its
 *            smarthosts all failing, no smarthost) or failed for good.
 *   why      one object for the whole queue: counts, the oldest age, the
 *            reasons messages are deferred for, each smarthost's health
 *            with its own explanation, "stuck" and "text".
 *
 * Where the answer comes from: a failure about one message (a recipient
 * or the data refused, a session lost inside its transaction) is in its
 * attempt history; a failure of the whole session (connect, TLS, AUTH)
 * backs off the smarthost and is in its health row instead, so a message
 * whose every smarthost is failing is explained by the first of them.
 *
 * Security: reads only; a message of another user is answered like a
 * missing one.  Server text is passed on as data (str_json); relayctl
 * escapes it for the terminal.
 */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "base/str.h"
#include "base/sysops.h"
#include "runner/runner_ctlops.h"
#include "smtp/smtp_reason.h"

#define RUNNER_WHY_TEXT 8192

/* The stage of each reason whose name says it. */
static const struct runner_why_stage_row {
	const char *reason;
	const char *stage;
} runner_why_stages[] = {
	{ "dns_failure", "DNS" },
	{ "connect_refused", "connect" },
	{ "connect_timeout", "connect" },
	{ "greeting_timeout", "connect" },
	{ "greeting_rejected", "connect" },
	{ "ehlo_refused", "connect" },
	{ "plaintext_on_tls_port", "TLS" },
	{ "tls_handshake_failed", "TLS" },
	{ "certificate_rejected", "TLS" },
	{ "starttls_not_offered", "TLS" },
	{ "starttls_refused", "TLS" },
	{ "downgrade_suspected", "TLS" },
	{ "auth_unavailable", "AUTH" },
	{ "auth_failed", "AUTH" },
	{ "sender_rejected", "MAIL" },
	{ "size_exceeded", "MAIL" },
	{ "smtputf8_not_offered", "MAIL" },
	{ "recipient_rejected", "RCPT" },
	{ "data_rejected", "DATA" },
	{ "config_error", "config" },
	{ "local_error", "local" },
	{ "lifetime_expired", "queue" },
	{ "returned_by_admin", "queue" },
	{ "backoff", "connect" },
};

/* The stage words for the session stages smtp names in its texts. */
static const struct runner_why_stage_row runner_why_smtp_stages[] = {
	{ "(stage resolve)", "DNS" },
	{ "(stage connect)", "connect" },
	{ "(stage greeting)", "connect" },
	{ "(stage ehlo)", "connect" },
	{ "(stage tls)", "TLS" },
	{ "(stage starttls)", "TLS" },
	{ "(stage auth)", "AUTH" },
	{ "(stage mail)", "MAIL" },
	{ "(stage rcpt)", "RCPT" },
	{ "(stage data)", "DATA" },
	{ "(stage body)", "DATA" },
};

/* What relay's own reasons say (a whole clause), and what to do. */
static const struct runner_why_own {
	const char *reason, *what, *fix, *text;
} runner_why_owns[] = {
	{ "lifetime_expired",
	    "the message could not be delivered within the retry lifetime",
	    "nothing more will be tried; the sender got a bounce",
	    "The message could not be delivered within the retry lifetime "
	    "(retry lifetime); relay gave up and returned it to the sender." },
	{ "returned_by_admin", "an administrator returned it to its sender",
	    "nothing: the sender got a bounce",
	    "An administrator returned the message to its sender (relayctl "
	    "bounce)." },
	{ "backoff", "the smarthost was backing off and was not tried",
	    "wait for the next try, or run relayctl flush",
	    "The smarthost was backing off after failures and was not tried; "
	    "relay tries again at the next attempt." },
};

const char *
runner_why_text(const char *reason)
{
	enum smtp_reason r;
	size_t i;

	if (reason == NULL || *reason == '\0')
		return NULL;
	for (i = 0; i < sizeof(runner_why_owns) / sizeof(runner_why_owns[0]);
	     i++)
		if (strcmp(runner_why_owns[i].reason, reason) == 0)
			return runner_why_owns[i].text;
	if (smtp_reason_from_name(reason, &r) == 0)
		return smtp_reason_text(r);
	return NULL;
}

const char *
runner_why_stage(const char *reason, const char *reply)
{
	size_t i;

	if (reason == NULL)
		return NULL;
	for (i = 0;
	     i < sizeof(runner_why_stages) / sizeof(runner_why_stages[0]); i++)
		if (strcmp(runner_why_stages[i].reason, reason) == 0)
			return runner_why_stages[i].stage;
	for (i = 0; reply != NULL &&
	     i < sizeof(runner_why_smtp_stages) /
		     sizeof(runner_why_smtp_stages[0]);
	     i++)
		if (strstr(reply, runner_why_smtp_stages[i].reason) != NULL)
			return runner_why_smtp_stages[i].stage;
	return "connection";
}

/* runner_why_parts - what happened, as a clause ("the smarthost
 * rejected the recipient"), and what to do, for a reason name. */
static void
runner_why_parts(
    const char *reason, char *clause, size_t size, const char **fix)
{
	enum smtp_reason r;
	size_t i;

	(void)str_copy(clause, size, "delivery failed");
	*fix = "see relayd's log";
	for (i = 0; i < sizeof(runner_why_owns) / sizeof(runner_why_owns[0]);
	     i++) {
		if (strcmp(runner_why_owns[i].reason, reason) == 0) {
			(void)str_copy(clause, size, runner_why_owns[i].what);
			*fix = runner_why_owns[i].fix;
			return;
		}
	}
	if (smtp_reason_from_name(reason, &r) == 0) {
		(void)str_fmt(
		    clause, size, "the smarthost %s", smtp_reason_what(r));
		*fix = smtp_reason_fix(r);
	}
}

/* runner_why_when - "YYYY-MM-DD HH:MM:SS (in 3m20s)" for t. */
static void
runner_why_when(time_t t, time_t now, char *out, size_t size)
{
	char abs[32], rel[32];
	long long d = (long long)(t - now);
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL ||
	    strftime(abs, sizeof(abs), "%Y-%m-%d %H:%M:%S", &tm) == 0)
		(void)str_copy(abs, sizeof(abs), "?");
	if (d <= 0)
		(void)str_copy(rel, sizeof(rel), "now");
	else if (d < 120)
		(void)str_fmt(rel, sizeof(rel), "in %llds", d);
	else if (d < 7200)
		(void)str_fmt(rel, sizeof(rel), "in %lldm", d / 60);
	else if (d < 172800)
		(void)str_fmt(rel, sizeof(rel), "in %lldh%02lldm", d / 3600,
		    d % 3600 / 60);
	else
		(void)str_fmt(rel, sizeof(rel), "in %lldd", d / 86400);
	(void)str_fmt(out, size, "%s (%s)", abs, rel);
}

/* runner_why_age - "3m", "2h", "5d" for a number of seconds. */
static void
runner_why_age(long long s, char *out, size_t size)
{
	if (s < 120)
		(void)str_fmt(out, size, "%llds", s < 0 ? 0 : s);
	else if (s < 7200)
		(void)str_fmt(out, size, "%lldm", s / 60);
	else if (s < 172800)
		(void)str_fmt(out, size, "%lldh", s / 3600);
	else
		(void)str_fmt(out, size, "%lldd", s / 86400);
}

/* --- one message ---------------------------------------------------------- */

/* What one message's answer is made of. */
struct runner_why_msg {
	const struct spool_msg_info *mi;
	time_t now;
	bool stuck;
	const char *reason, *reply, *relay; /* the failure explained */
	const char *host; /* the smarthost blamed, or NULL */
	time_t next;
	struct spool_host_health h; /* of host */
	struct buf text;
	const char *advice;
};

/* runner_why_last - the latest failure in mi's history (or its
 * recipients), into w. */
static void
runner_why_last(struct runner_why_msg *w)
{
	const struct spool_msg_info *mi = w->mi;
	time_t at = 0;
	size_t i;

	for (i = 0; i < mi->nhist; i++) {
		const struct spool_attempt *a = &mi->hist[i];

		if (a->reason == NULL || strcmp(a->reason, "ok") == 0 ||
		    a->at < at)
			continue;
		if (strcmp(a->reason, "lifetime_expired") == 0 && w->reason)
			continue; /* the failure before it says more */
		at = a->at;
		w->reason = a->reason;
		w->reply = a->reply;
		w->relay = a->relay;
	}
	for (i = 0; w->reason == NULL && i < mi->nrcpts; i++) {
		if (mi->rcpts[i].reason != NULL) {
			w->reason = mi->rcpts[i].reason;
			w->reply = mi->rcpts[i].last_reply;
			w->relay = mi->rcpts[i].remote_mta;
		}
	}
	if (w->reason == NULL)
		w->reason = mi->reason;
}

/* runner_why_blocked - are all smarthosts failing?  Then the first one is
 * put in w (host, h).  false when one of them is usable or none is
 * configured. */
static bool
runner_why_blocked(struct runner_ctl_ctx *x, struct runner_why_msg *w)
{
	struct spool_host_health h;
	struct err err;
	bool found;
	size_t i;

	for (i = 0; i < x->conf->nsmarthosts; i++) {
		const char *name = x->conf->smarthosts[i].name;

		err_clear(&err);
		found = false;
		if (spool_health_get(x->sp, name, &h, &found, &err) == -1 ||
		    !found || h.state == SPOOL_HS_OK)
			return false;
		if (w->host == NULL) {
			w->host = name;
			w->h = h;
		}
	}
	return w->host != NULL;
}

/* runner_why_put_failure - "Delivery fails at the S stage: ...". */
static int
runner_why_put_failure(struct runner_why_msg *w, const char *verb)
{
	const char *fix;
	const char *stage = runner_why_stage(w->reason, w->reply);
	char what[256];

	runner_why_parts(w->reason, what, sizeof(what), &fix);
	w->advice = fix;
	if (strcmp(stage, "queue") == 0) {
		what[0] = (char)toupper((unsigned char)what[0]);
		if (buf_appendf(&w->text, " %s (%s).", what, w->reason) == -1)
			return -1;
	} else if (buf_appendf(&w->text,
		       " Delivery %s at the %s stage: %s (%s).", verb, stage,
		       what, w->reason) == -1) {
		return -1;
	}
	if (w->reply != NULL &&
	    buf_appendf(&w->text, " Last reply%s%s: \"%s\".",
		w->relay != NULL ? " from " : "",
		w->relay != NULL ? w->relay : "", w->reply) == -1)
		return -1;
	return 0;
}

/* runner_why_put_host - the smarthost that blocks the message. */
static int
runner_why_put_host(struct runner_ctl_ctx *x, struct runner_why_msg *w)
{
	const struct spool_host_health *h = &w->h;
	char since[64];

	(void)x;
	w->reason = h->last_reason[0] != '\0' ? h->last_reason : "backoff";
	w->reply = h->last_text[0] != '\0' ? h->last_text : NULL;
	w->relay = NULL;
	runner_why_when(h->since, w->now, since, sizeof(since));
	if (buf_appendf(&w->text,
		" Every smarthost is failing; \"%s\" %s since %.19s after %d "
		"failure%s.",
		w->host,
		h->state == SPOOL_HS_FAULT
		    ? "is held by a relay fault (the queue waits, nothing "
		      "bounces)"
		    : "is backing off",
		since, h->failures, h->failures == 1 ? "" : "s") == -1 ||
	    runner_why_put_failure(w, "fails") == -1)
		return -1;
	if (w->next < h->next_try)
		w->next = h->next_try;
	return 0;
}

/* runner_why_put_tail - attempts, the next one, what to do. */
static int
runner_why_put_tail(struct runner_why_msg *w)
{
	const struct spool_msg_info *mi = w->mi;
	char when[80];
	int rc;

	if (mi->state == SPOOL_ST_SENT || mi->state == SPOOL_ST_FAILED)
		rc = buf_appendf(&w->text, " %d attempt%s were made.",
		    mi->attempts, mi->attempts == 1 ? "" : "s");
	else if (w->next != 0 && mi->state != SPOOL_ST_HELD) {
		runner_why_when(w->next, w->now, when, sizeof(when));
		rc = buf_appendf(&w->text,
		    " %d attempt%s so far; the next is at %s.", mi->attempts,
		    mi->attempts == 1 ? "" : "s", when);
	} else {
		rc = buf_appendf(&w->text, " %d attempt%s so far.",
		    mi->attempts, mi->attempts == 1 ? "" : "s");
	}
	if (rc == -1 || w->advice == NULL)
		return rc;
	return buf_appendf(&w->text, " What to do: %s%s.", w->advice,
	    w->host != NULL && w->h.state == SPOOL_HS_FAULT
		? "; then run relayctl flush to try again at once"
		: "");
}

/* runner_why_explain_active - queued, deferred or sending. */
static int
runner_why_explain_active(struct runner_ctl_ctx *x, struct runner_why_msg *w)
{
	if (x->conf->nsmarthosts == 0) {
		w->stuck = true;
		w->reason = "config_error";
		w->advice = "add a smarthost block to relay.conf and reload "
			    "relayd (systemctl reload relay)";
		return buf_puts(&w->text,
		    " No smarthost is configured, so nothing can be sent.");
	}
	if (runner_why_blocked(x, w)) {
		w->stuck = true;
		return runner_why_put_host(x, w);
	}
	if (w->reason != NULL) {
		w->stuck = true;
		return runner_why_put_failure(w, "failed last time");
	}
	return buf_puts(&w->text,
	    w->mi->state == SPOOL_ST_SENDING
		? " It is being sent now."
		: " It waits for its first delivery attempt, which is due "
		  "now.");
}

/* runner_why_state_words - "is deferred", "was sent", ... */
static const char *
runner_why_state_words(enum spool_msg_state st)
{
	switch (st) {
	case SPOOL_ST_QUEUED:
		return "is queued";
	case SPOOL_ST_DEFERRED:
		return "is deferred";
	case SPOOL_ST_HELD:
		return "is held";
	case SPOOL_ST_SENDING:
		return "is being sent";
	case SPOOL_ST_SENT:
		return "was sent";
	default:
		return "has failed";
	}
}

/* runner_why_expired - did a recipient of mi expire? */
static bool
runner_why_expired(const struct spool_msg_info *mi)
{
	size_t i;

	for (i = 0; i < mi->nrcpts; i++)
		if (mi->rcpts[i].reason != NULL &&
		    strcmp(mi->rcpts[i].reason, "lifetime_expired") == 0)
			return true;
	return false;
}

/* runner_why_explain - the paragraph for w->mi. */
static int
runner_why_explain(struct runner_ctl_ctx *x, struct runner_why_msg *w)
{
	const struct spool_msg_info *mi = w->mi;

	runner_why_last(w);
	w->next = mi->next_attempt;
	if (buf_appendf(&w->text, "Message %s from <%s> to %zu recipient%s %s.",
		mi->qid, mi->sender != NULL ? mi->sender : "", mi->nrcpts,
		mi->nrcpts == 1 ? "" : "s",
		runner_why_state_words(mi->state)) == -1)
		return -1;
	switch (mi->state) {
	case SPOOL_ST_SENT:
		w->reason = NULL;
		return buf_puts(&w->text,
		    " Every recipient was accepted by the smarthost; nothing "
		    "is left to do.");
	case SPOOL_ST_FAILED:
		w->stuck = true;
		if (buf_puts(&w->text,
			runner_why_expired(mi)
			    ? " It could not be delivered within the retry "
			      "lifetime; the sender was sent a bounce."
			    : " It failed for good and the sender was sent a "
			      "bounce.") == -1)
			return -1;
		return w->reason != NULL ? runner_why_put_failure(w, "failed")
					 : 0;
	case SPOOL_ST_HELD:
		w->stuck = true;
		w->advice = "run relayctl release ID to let it go";
		return buf_puts(&w->text,
		    " It was put on hold (relayctl hold) and is not sent until "
		    "it is released.");
	default:
		return runner_why_explain_active(x, w);
	}
}

/* runner_why_msg_json - the object for one message. */
static int
runner_why_msg_json(struct buf *b, struct runner_why_msg *w)
{
	const struct spool_msg_info *mi = w->mi;

	buf_reset(b);
	if (buf_puts(b, "{\"id\":") == -1 ||
	    str_json(b, mi->qid, strlen(mi->qid)) == -1 ||
	    runner_ctlops_jstr(b, "state", spool_msg_state_name(mi->state)) ==
		-1 ||
	    runner_ctlops_jbool(b, "stuck", w->stuck) == -1 ||
	    runner_ctlops_jstr(
		b, "stage", runner_why_stage(w->reason, w->reply)) == -1 ||
	    runner_ctlops_jstr(b, "reason", w->reason) == -1 ||
	    runner_ctlops_jstr(b, "reason_text", runner_why_text(w->reason)) ==
		-1 ||
	    runner_ctlops_jstr(b, "last_reply", w->reply) == -1 ||
	    runner_ctlops_jstr(b, "relay", w->relay) == -1 ||
	    runner_ctlops_jstr(b, "smarthost", w->host) == -1 ||
	    runner_ctlops_jint(b, "attempts", mi->attempts) == -1 ||
	    runner_ctlops_jtime(b, "next_attempt",
		mi->state == SPOOL_ST_HELD ? 0 : w->next) == -1 ||
	    runner_ctlops_jstr(b, "advice", w->advice) == -1 ||
	    runner_ctlops_jstr(b, "text", w->text.data) == -1)
		return -1;
	return buf_putc(b, '}');
}

/* runner_why_one - "why ID". */
static int
runner_why_one(struct runner_ctl_ctx *x, const char *qid,
    struct ctlclient_status *st, struct err *err)
{
	struct spool_msg_info *mi = NULL;
	struct runner_why_msg w;
	int rc = -1;

	if (!spool_qid_valid(qid)) {
		runner_ctl_set(st, CTLCLIENT_BADARG, "bad queue id");
		return 0;
	}
	if (spool_get(x->sp, qid, &mi, err) == -1 ||
	    (!x->privileged && mi->uid != x->uid)) {
		spool_msg_info_free(mi);
		if (mi == NULL && err->cls != ERR_PERM)
			return -1;
		runner_ctl_set(st, CTLCLIENT_NOMSG, "no such message: %s", qid);
		return 0;
	}
	memset(&w, 0, sizeof(w));
	w.mi = mi;
	w.now = sys_time();
	buf_init(&w.text, RUNNER_WHY_TEXT);
	if (runner_why_explain(x, &w) == -1 || runner_why_put_tail(&w) == -1 ||
	    runner_why_msg_json(&x->line, &w) == -1)
		(void)err_set(err, ERR_INTERNAL, "why %s: text too long", qid);
	else if (runner_ctlops_emit(x, err) == 0)
		rc = 0;
	if (rc == 0)
		runner_ctl_set(st, CTLCLIENT_OK, "ok");
	buf_free(&w.text);
	spool_msg_info_free(mi);
	return rc;
}

/* --- the whole queue ------------------------------------------------------ */

#define RUNNER_WHY_REASONS 16

/* The reasons waiting messages are deferred for. */
struct runner_why_tally {
	char name[RUNNER_WHY_REASONS][64];
	unsigned long n[RUNNER_WHY_REASONS];
	size_t count;
};

static int
runner_why_tally_cb(const struct spool_msg_info *mi, void *arg)
{
	struct runner_why_tally *t = arg;
	size_t i;

	if (mi->reason == NULL || mi->state == SPOOL_ST_HELD)
		return 0;
	for (i = 0; i < t->count; i++) {
		if (strcmp(t->name[i], mi->reason) == 0) {
			t->n[i]++;
			return 0;
		}
	}
	if (t->count < RUNNER_WHY_REASONS &&
	    str_copy(t->name[t->count], sizeof(t->name[0]), mi->reason) == 0)
		t->n[t->count++] = 1;
	return 0;
}

/* runner_why_host_text - one smarthost's sentence; returns whether it
 * blocks delivery. */
static bool
runner_why_host_text(struct runner_ctl_ctx *x, const struct conf_smarthost *sh,
    time_t now, struct buf *t)
{
	struct spool_host_health h;
	const char *fix, *reason;
	char when[80], what[256];
	struct err err;
	bool found = false;

	err_clear(&err);
	if (spool_health_get(x->sp, sh->name, &h, &found, &err) == -1 ||
	    !found || h.state == SPOOL_HS_OK) {
		(void)buf_appendf(t, " Smarthost \"%s\" (%s:%d): %s.", sh->name,
		    sh->host, sh->port, found ? "answering" : "not tried yet");
		return false;
	}
	reason = h.last_reason[0] != '\0' ? h.last_reason : "backoff";
	runner_why_parts(reason, what, sizeof(what), &fix);
	runner_why_when(h.next_try, now, when, sizeof(when));
	(void)buf_appendf(t,
	    " Smarthost \"%s\" (%s:%d) %s after %d failure%s: at the %s "
	    "stage %s (%s)%s%s%s; next try at %s. What to do: %s%s.",
	    sh->name, sh->host, sh->port,
	    h.state == SPOOL_HS_FAULT
		? "is held by a relay fault (mail waits, nothing bounces)"
		: "is backing off",
	    h.failures, h.failures == 1 ? "" : "s",
	    runner_why_stage(reason, h.last_text), what, reason,
	    h.last_text[0] != '\0' ? ": \"" : "", h.last_text,
	    h.last_text[0] != '\0' ? "\"" : "", when, fix,
	    h.state == SPOOL_HS_FAULT
		? "; then run relayctl flush to try again at once"
		: "");
	return true;
}

/* runner_why_queue_text - the paragraph about the whole queue. */
static bool
runner_why_queue_text(struct runner_ctl_ctx *x, const struct spool_counts *c,
    const struct runner_why_tally *t, struct buf *b)
{
	char age[32];
	bool blocked = x->conf->nsmarthosts > 0, stuck;
	time_t now = sys_time();
	size_t i;

	runner_why_age(
	    c->oldest_active != 0 ? (long long)(now - c->oldest_active) : 0,
	    age, sizeof(age));
	(void)buf_appendf(b,
	    "%llu message%s waiting (%llu queued, %llu deferred, %llu held, "
	    "%llu being sent), the oldest for %s.",
	    (unsigned long long)c->active, c->active == 1 ? "" : "s",
	    (unsigned long long)c->n[SPOOL_ST_QUEUED],
	    (unsigned long long)c->n[SPOOL_ST_DEFERRED],
	    (unsigned long long)c->n[SPOOL_ST_HELD],
	    (unsigned long long)c->n[SPOOL_ST_SENDING], age);
	for (i = 0; i < t->count; i++)
		(void)buf_appendf(b, "%s%s (%lu)%s",
		    i == 0 ? " Last failures: " : ", ", t->name[i], t->n[i],
		    i + 1 == t->count ? "." : "");
	if (c->n[SPOOL_ST_HELD] > 0)
		(void)buf_puts(b, " Held messages wait for relayctl release.");
	if (x->conf->nsmarthosts == 0)
		(void)buf_puts(b,
		    " No smarthost is configured: add a "
		    "smarthost block to relay.conf and reload.");
	for (i = 0; i < x->conf->nsmarthosts; i++)
		blocked =
		    runner_why_host_text(x, &x->conf->smarthosts[i], now, b) &&
		    blocked;
	stuck = c->n[SPOOL_ST_HELD] > 0 || c->n[SPOOL_ST_DEFERRED] > 0 ||
	    (c->active > 0 && (blocked || x->conf->nsmarthosts == 0));
	(void)buf_puts(b, stuck ? " Mail is stuck." : " Nothing is stuck.");
	return stuck;
}

/* runner_why_queue_json - counts, reasons and smarthosts. */
static int
runner_why_queue_json(struct runner_ctl_ctx *x, const struct spool_counts *c,
    const struct runner_why_tally *t, bool stuck, const char *text)
{
	struct buf *b = &x->line;
	size_t i;

	buf_reset(b);
	if (buf_appendf(b, "{\"stuck\":%s", stuck ? "true" : "false") == -1)
		return -1;
	for (i = SPOOL_ST_QUEUED; i <= SPOOL_ST_SENDING; i++)
		if (runner_ctlops_jint(b,
			spool_msg_state_name((enum spool_msg_state)i),
			(long long)c->n[i]) == -1)
			return -1;
	if (runner_ctlops_jint(b, "active", (long long)c->active) == -1 ||
	    runner_ctlops_jtime(b, "oldest", c->oldest_active) == -1 ||
	    buf_puts(b, ",\"reasons\":{") == -1)
		return -1;
	for (i = 0; i < t->count; i++)
		if (buf_appendf(b, "%s\"%s\":%lu", i > 0 ? "," : "", t->name[i],
			t->n[i]) == -1)
			return -1;
	if (buf_puts(b, "},\"smarthosts\":[") == -1)
		return -1;
	for (i = 0; i < x->conf->nsmarthosts; i++)
		if ((i > 0 && buf_putc(b, ',') == -1) ||
		    runner_ctlops_host_json(x, &x->conf->smarthosts[i], b) ==
			-1)
			return -1;
	if (buf_putc(b, ']') == -1 || runner_ctlops_jstr(b, "text", text) == -1)
		return -1;
	return buf_putc(b, '}');
}

/* runner_why_queue - "why". */
static int
runner_why_queue(
    struct runner_ctl_ctx *x, struct ctlclient_status *st, struct err *err)
{
	struct spool_filter f = { true, 0, -1, false };
	struct runner_why_tally t;
	struct spool_counts c;
	struct buf text;
	bool stuck;
	int rc = -1;

	memset(&t, 0, sizeof(t));
	if (spool_count(x->sp, &f, &c, err) == -1 ||
	    spool_list(x->sp, &f, runner_why_tally_cb, &t, err) == -1)
		return -1;
	buf_init(&text, RUNNER_WHY_TEXT);
	stuck = runner_why_queue_text(x, &c, &t, &text);
	if (runner_why_queue_json(x, &c, &t, stuck, text.data) == -1)
		(void)err_set(err, ERR_INTERNAL, "why: object too large");
	else if (runner_ctlops_emit(x, err) == 0)
		rc = 0;
	buf_free(&text);
	if (rc == 0)
		runner_ctl_set(st, CTLCLIENT_OK, "ok");
	return rc;
}

int
runner_why_main(struct runner_ctl_ctx *x, int argc, char *const *argv,
    struct ctlclient_status *st, struct err *err)
{
	if (argc == 1)
		return runner_why_one(x, argv[0], st, err);
	return runner_why_queue(x, st, err);
}
