/*
 * test_runner_trouble.c - the queue runner's decisions on a real spool
 * file: the backoff table (base doubling to max, jitter bounds, faults at
 * max), the verdict table (2xx, 4xx, 5xx, 421, 452 4.5.3, 530 at MAIL,
 * relay faults, sessions lost before and inside a transaction), recipient
 * results and claim ends written by runner_trouble_message, smarthost
 * health (BACKOFF doubling, FAULT at retry.max, back to OK draining the
 * queue), the RFC 3464 report (fields, server text confined to body
 * lines, null sender and NOTIFY=NEVER reported without a report, never
 * twice) and the log text cleaner.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "base/log.h"
#include "base/str.h"
#include "base/sysops.h"
#include "runner/runner_backoff.h"
#include "runner/runner_bounce.h"
#include "runner/runner_log.h"
#include "runner/runner_trouble.h"
#include "test_spool_util.h"

#define OWNER "test:1"

/* Writable strings for the structs that take char * (never written). */
static char s_hostname[] = "relay.test";
static char s_main[] = "main";
static char s_smtp[] = "smtp.test";
static char s_alice[] = "alice@example.net";
static char s_env[] = "ENV123";
static char s_ok[] = "ok@example.net";
static char s_gone[] = "gone@example.net";
static char s_511[] = "5.1.1";
static char s_reason[] = "recipient_rejected";
static char s_reply[] = "550 5.1.1 nope\r\nX-Evil: yes\x01";
static char s_mta[] = "smtp.test[192.0.2.1]:465";
static char s_orcpt[] = "g@example.org";
static char s_bad[] = "a\"b\r\nBcc: x@example.net";

struct fx {
	struct tsp *t;
	struct spool *sp;
	struct conf conf;
	struct conf_smarthost sh;
	struct runner_trouble tr;
};

static int
setup(void **state)
{
	struct fx *f = xcalloc(1, sizeof(*f));
	struct err err;

	f->t = tsp_new();
	f->sp = spool_open(f->t->db, SPOOL_CREATE, &err);
	if (f->sp == NULL)
		return -1;
	f->conf.hostname = s_hostname;
	f->conf.retry_base = 60;
	f->conf.retry_max = 3600;
	f->conf.retry_lifetime = 5 * 86400;
	f->conf.lease_time = 900;
	f->conf.bounce_return_size = 100 * 1024;
	f->sh.name = s_main;
	f->sh.host = s_smtp;
	f->sh.max_messages_per_connection = 100;
	f->conf.smarthosts = &f->sh;
	f->conf.nsmarthosts = 1;
	f->tr.sp = f->sp;
	f->tr.conf = &f->conf;
	f->tr.owner = OWNER;
	*state = f;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *f = *state;

	spool_close(f->sp);
	tsp_free(f->t);
	xfree(f);
	return 0;
}

/* oc - an outcome as smtp would report it. */
static struct smtp_outcome
oc(enum smtp_reason r, int code, const char *enh, const char *text,
    enum smtp_stage stage)
{
	struct smtp_outcome o;

	smtp_outcome_clear(&o);
	o.reason = r;
	o.cls = smtp_reason_class_for(r, code);
	o.stage = stage;
	o.code = code;
	(void)str_copy(o.enh, sizeof(o.enh), enh);
	(void)str_copy(o.text, sizeof(o.text), text);
	(void)str_copy(o.relay, sizeof(o.relay), "smtp.test[192.0.2.1]:465");
	(void)str_copy(o.tls, sizeof(o.tls), "TLSv1.3 implicit");
	(void)str_copy(o.msg, sizeof(o.msg), "relay: smarthost smtp.test:465");
	return o;
}

/* queue_claim - one message, claimed by OWNER; OUT its info. */
static struct spool_msg_info *
queue_claim(struct fx *f, const char *sender, const char *const *rcpts,
    size_t n, char qid[SPOOL_QID_SIZE])
{
	char got[1][SPOOL_QID_SIZE];
	struct spool_msg_info *mi = NULL;
	struct err err;
	size_t nc = 0;

	assert_int_equal(tsp_add(f->sp, sender, rcpts, n,
			     "Subject: t\r\n\r\nbody\r\n", 1000, 0, qid, &err),
	    0);
	assert_int_equal(
	    spool_claim(f->sp, OWNER, sys_time(), 900, 1, got, &nc, &err), 0);
	assert_int_equal(nc, 1);
	assert_string_equal(got[0], qid);
	assert_int_equal(
	    spool_get_claimed(f->sp, qid, OWNER, sys_time(), &mi, &err), 0);
	return mi;
}

static enum spool_rcpt_state
rcpt_state(struct fx *f, const char *qid, size_t i, time_t *next)
{
	struct spool_msg_info *mi = NULL;
	enum spool_rcpt_state st;
	struct err err;

	assert_int_equal(spool_get(f->sp, qid, &mi, &err), 0);
	st = mi->rcpts[i].state;
	if (next != NULL)
		*next = mi->rcpts[i].next_attempt;
	spool_msg_info_free(mi);
	return st;
}

static enum spool_msg_state
msg_state(struct fx *f, const char *qid)
{
	struct spool_msg_info *mi = NULL;
	enum spool_msg_state st;
	struct err err;

	assert_int_equal(spool_get(f->sp, qid, &mi, &err), 0);
	st = mi->state;
	spool_msg_info_free(mi);
	return st;
}

/* --- backoff ------------------------------------------------------------- */

static void
test_backoff_schedule(void **state)
{
	struct fx *f = *state;
	static const long long want[] = { 60, 120, 240, 480, 960, 1920, 3600,
		3600 };
	size_t i;

	for (i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		long long top = runner_backoff_delay(
		    &f->conf, RUNNER_BO_RCPT, (int)i + 1, UINT32_MAX);
		long long low = runner_backoff_delay(
		    &f->conf, RUNNER_BO_HOST, (int)i + 1, 0);

		assert_true(top <= want[i]);
		assert_true(low == want[i] - want[i] / 5);
		assert_true(
		    runner_backoff_delay(&f->conf, RUNNER_BO_RCPT, (int)i + 1,
			(uint32_t)(want[i] / 5)) == want[i]);
	}
	assert_int_equal(
	    runner_backoff_delay(&f->conf, RUNNER_BO_FAULT, 1, 12345), 3600);
	assert_int_equal(
	    runner_backoff_delay(&f->conf, RUNNER_BO_FAULT, 9, 0), 3600);
	f->conf.retry_base = 1;
	f->conf.retry_max = 4;
	assert_int_equal(
	    runner_backoff_delay(&f->conf, RUNNER_BO_HOST, 1, 7), 1);
	assert_int_equal(
	    runner_backoff_delay(&f->conf, RUNNER_BO_HOST, 2, 7), 2);
	assert_int_equal(
	    runner_backoff_delay(&f->conf, RUNNER_BO_HOST, 3, 7), 4);
	assert_int_equal(
	    runner_backoff_delay(&f->conf, RUNNER_BO_HOST, 1000000, 7), 4);
	assert_string_equal(runner_backoff_name(RUNNER_BO_FAULT), "fault");
}

/* --- verdicts ------------------------------------------------------------ */

static void
test_verdicts(void **state)
{
	struct smtp_outcome o;

	(void)state;
	o = oc(SMTP_R_OK, 250, "2.0.0", "250 ok", SMTP_STAGE_BODY);
	assert_int_equal(runner_trouble_verdict(&o, false), RUNNER_V_SENT);
	o = oc(
	    SMTP_R_RECIPIENT_REJECTED, 550, "5.1.1", "550 no", SMTP_STAGE_RCPT);
	assert_int_equal(runner_trouble_verdict(&o, false), RUNNER_V_FAILED);
	o = oc(SMTP_R_RECIPIENT_REJECTED, 450, "4.2.1", "450 busy",
	    SMTP_STAGE_RCPT);
	assert_int_equal(runner_trouble_verdict(&o, false), RUNNER_V_DEFERRED);
	o = oc(SMTP_R_RECIPIENT_REJECTED, 421, "4.3.2", "421 bye",
	    SMTP_STAGE_RCPT);
	assert_int_equal(runner_trouble_verdict(&o, false), RUNNER_V_HOST);
	o = oc(SMTP_R_RECIPIENT_REJECTED, 452, "4.5.3", "452 too many",
	    SMTP_STAGE_RCPT);
	assert_int_equal(runner_trouble_verdict(&o, true), RUNNER_V_AGAIN);
	assert_int_equal(runner_trouble_verdict(&o, false), RUNNER_V_DEFERRED);
	o = oc(SMTP_R_SENDER_REJECTED, 530, "5.7.0", "530 auth first",
	    SMTP_STAGE_MAIL);
	assert_int_equal(runner_trouble_verdict(&o, false), RUNNER_V_FAULT);
	o = oc(SMTP_R_SENDER_REJECTED, 553, "5.7.1", "553 not yours",
	    SMTP_STAGE_MAIL);
	assert_int_equal(runner_trouble_verdict(&o, false), RUNNER_V_FAILED);
	o = oc(SMTP_R_AUTH_FAILED, 535, "5.7.8", "535 no", SMTP_STAGE_AUTH);
	assert_int_equal(runner_trouble_verdict(&o, false), RUNNER_V_FAULT);
	o = oc(SMTP_R_CONNECTION_LOST, 0, "", "", SMTP_STAGE_BODY);
	assert_int_equal(runner_trouble_verdict(&o, false), RUNNER_V_LOST);
	o = oc(SMTP_R_CONNECTION_LOST, 0, "", "", SMTP_STAGE_RSET);
	assert_int_equal(runner_trouble_verdict(&o, false), RUNNER_V_RETRY);
	o = oc(SMTP_R_LOCAL_ERROR, 0, "", "", SMTP_STAGE_BODY);
	assert_int_equal(runner_trouble_verdict(&o, false), RUNNER_V_DEFERRED);
	o = oc(SMTP_R_DATA_REJECTED, 554, "5.6.0", "554 spam", SMTP_STAGE_BODY);
	assert_int_equal(runner_trouble_verdict(&o, false), RUNNER_V_FAILED);
	assert_string_equal(runner_verdict_name(RUNNER_V_LOST), "lost");
}

/* --- one message's results ----------------------------------------------- */

static void
test_mixed_results(void **state)
{
	struct fx *f = *state;
	static const char *const rcpts[] = { "ok@example.net",
		"busy@example.net", "gone@example.net" };
	struct smtp_outcome out[3], mo;
	struct runner_attempt a;
	struct runner_host h;
	bool rec[3] = { false, false, false };
	char qid[SPOOL_QID_SIZE], bqid[SPOOL_QID_SIZE];
	struct spool_msg_info *mi =
	    queue_claim(f, "alice@example.net", rcpts, 3, qid);
	time_t next = 0, now = sys_time();
	struct err err;

	memset(&a, 0, sizeof(a));
	a.mi = mi;
	a.recorded = rec;
	assert_int_equal(runner_trouble_host_load(&f->tr, &f->sh, &h, &err), 0);
	out[0] =
	    oc(SMTP_R_OK, 250, "2.0.0", "250 2.0.0 queued", SMTP_STAGE_BODY);
	out[1] = oc(SMTP_R_RECIPIENT_REJECTED, 450, "4.2.1", "450 4.2.1 busy",
	    SMTP_STAGE_RCPT);
	out[2] = oc(SMTP_R_RECIPIENT_REJECTED, 550, "5.1.1",
	    "550 5.1.1 no such user\r\nX-Evil: yes", SMTP_STAGE_RCPT);
	mo = out[0];
	runner_trouble_rcpt_early(&f->tr, &a, 2, &out[2]);
	assert_true(rec[2]);
	assert_int_equal(a.nfailed, 1);
	assert_int_equal(runner_trouble_message(&f->tr, &a, &h, 0, out, &mo),
	    RUNNER_NEXT_GO_ON);
	assert_int_equal(rcpt_state(f, qid, 0, NULL), SPOOL_RS_SENT);
	assert_int_equal(rcpt_state(f, qid, 1, &next), SPOOL_RS_DEFERRED);
	assert_true(next >= now + 48 && next <= sys_time() + 60);
	assert_int_equal(rcpt_state(f, qid, 2, NULL), SPOOL_RS_FAILED);
	assert_int_equal(msg_state(f, qid), SPOOL_ST_DEFERRED);
	spool_msg_info_free(mi);

	/* the report: queued once, to the sender, null envelope sender */
	assert_int_equal(runner_bounce_one(f->sp, &f->conf, NULL, qid,
			     sys_time(), bqid, &err),
	    0);
	assert_int_equal(strlen(bqid), SPOOL_QID_LEN);
	assert_int_equal(spool_get(f->sp, bqid, &mi, &err), 0);
	assert_string_equal(mi->sender, "");
	assert_int_equal(mi->nrcpts, 1);
	assert_string_equal(mi->rcpts[0].address, "alice@example.net");
	spool_msg_info_free(mi);
	assert_int_equal(runner_bounce_one(f->sp, &f->conf, NULL, qid,
			     sys_time(), bqid, &err),
	    0);
	assert_string_equal(bqid, "");
}

static void
test_host_trouble_releases(void **state)
{
	struct fx *f = *state;
	static const char *const rcpts[] = { "a@example.net" };
	struct smtp_outcome out[1], mo;
	struct runner_attempt a;
	struct runner_host h;
	bool rec[1] = { false };
	char qid[SPOOL_QID_SIZE];
	struct spool_msg_info *mi =
	    queue_claim(f, "s@example.net", rcpts, 1, qid);
	struct spool_msg_info *after = NULL;
	struct err err;

	memset(&a, 0, sizeof(a));
	a.mi = mi;
	a.recorded = rec;
	assert_int_equal(runner_trouble_host_load(&f->tr, &f->sh, &h, &err), 0);
	out[0] = oc(SMTP_R_SENDER_REJECTED, 421, "4.3.2", "421 going down",
	    SMTP_STAGE_MAIL);
	mo = out[0];
	assert_int_equal(runner_trouble_message(&f->tr, &a, &h, -1, out, &mo),
	    RUNNER_NEXT_HOST_DOWN);
	assert_int_equal(h.h.state, SPOOL_HS_BACKOFF);
	assert_int_equal(spool_get(f->sp, qid, &after, &err), 0);
	assert_int_equal(after->state, SPOOL_ST_QUEUED);
	assert_int_equal(after->rcpts[0].state, SPOOL_RS_PENDING);
	assert_int_equal(after->rcpts[0].attempts, 0);
	assert_true(after->next_attempt == h.h.next_try);
	assert_null(after->lease_owner);
	spool_msg_info_free(after);
	spool_msg_info_free(mi);
}

static void
test_lost_in_a_row(void **state)
{
	struct fx *f = *state;
	static const char *const rcpts[] = { "a@example.net" };
	struct smtp_outcome out[1], mo;
	struct runner_host h;
	struct err err;
	int i;

	assert_int_equal(runner_trouble_host_load(&f->tr, &f->sh, &h, &err), 0);
	for (i = 1; i <= RUNNER_LOST_MAX; i++) {
		struct runner_attempt a;
		bool rec[1] = { false };
		char qid[SPOOL_QID_SIZE];
		struct spool_msg_info *mi =
		    queue_claim(f, "s@example.net", rcpts, 1, qid);

		memset(&a, 0, sizeof(a));
		a.mi = mi;
		a.recorded = rec;
		out[0] = oc(SMTP_R_CONNECTION_LOST, 0, "", "", SMTP_STAGE_BODY);
		mo = out[0];
		assert_int_equal(
		    runner_trouble_message(&f->tr, &a, &h, -1, out, &mo),
		    i < RUNNER_LOST_MAX ? RUNNER_NEXT_RECONNECT
					: RUNNER_NEXT_HOST_DOWN);
		assert_int_equal(
		    rcpt_state(f, qid, 0, NULL), SPOOL_RS_DEFERRED);
		spool_msg_info_free(mi);
	}
	assert_int_equal(h.h.state, SPOOL_HS_BACKOFF);
}

/* A session lost while message k's final reply was pending ends k (lost
 * inside its transaction) and k+1 behind it (lost before its RSET reply):
 * k is deferred, k+1 given back untried, and the session counts once. */
static void
test_lost_behind_pending(void **state)
{
	struct fx *f = *state;
	static const char *const rcpts[] = { "a@example.net" };
	struct smtp_outcome out[1], mo;
	struct spool_msg_info *after = NULL;
	struct runner_host h;
	struct err err;
	int i;

	assert_int_equal(runner_trouble_host_load(&f->tr, &f->sh, &h, &err), 0);
	for (i = 0; i < 2; i++) {
		struct runner_attempt a;
		bool rec[1] = { false };
		char qid[SPOOL_QID_SIZE];
		struct spool_msg_info *mi =
		    queue_claim(f, "s@example.net", rcpts, 1, qid);

		memset(&a, 0, sizeof(a));
		a.mi = mi;
		a.recorded = rec;
		a.behind_loss = i == 1;
		out[0] = oc(SMTP_R_CONNECTION_LOST, 0, "", "",
		    i == 0 ? SMTP_STAGE_BODY : SMTP_STAGE_RSET);
		mo = out[0];
		assert_int_equal(
		    runner_trouble_message(&f->tr, &a, &h, -1, out, &mo),
		    RUNNER_NEXT_RECONNECT);
		assert_int_equal(h.lost_in_row, 1);
		assert_int_equal(spool_get(f->sp, qid, &after, &err), 0);
		assert_int_equal(after->rcpts[0].state,
		    i == 0 ? SPOOL_RS_DEFERRED : SPOOL_RS_PENDING);
		assert_int_equal(after->rcpts[0].attempts, i == 0 ? 1 : 0);
		spool_msg_info_free(after);
		spool_msg_info_free(mi);
	}
	assert_int_equal(h.h.state, SPOOL_HS_OK);
}

/* batch_one - claim a message to rcpts[0..n); OUT *a, its attempt. */
static struct spool_msg_info *
batch_one(struct fx *f, const char *const *rcpts, size_t n,
    char qid[SPOOL_QID_SIZE], struct runner_attempt *a, bool *rec)
{
	struct spool_msg_info *mi =
	    queue_claim(f, "s@example.net", rcpts, n, qid);

	memset(a, 0, sizeof(*a));
	a->mi = mi;
	a->recorded = rec;
	return mi;
}

/* A window's accepted messages are written in one transaction; one with
 * host trouble goes on its own; when the transaction fails (a claim lost
 * meanwhile), each is written on its own and the failure reported. */
static void
test_batch(void **state)
{
	struct fx *f = *state;
	static const char *const one[] = { "a@example.net" };
	static const char *const two[] = { "a@example.net",
		"gone@example.net" };
	struct smtp_outcome ok[2], gone, host[1];
	const struct smtp_outcome *ro[4], *mo[4];
	struct runner_attempt a[4], *ap[4];
	bool rec[4][2];
	char qid[4][SPOOL_QID_SIZE];
	struct spool_msg_info *mi[4];
	struct runner_batch b;
	struct runner_host h;
	struct err err;
	size_t k;

	memset(rec, 0, sizeof(rec));
	assert_int_equal(runner_trouble_host_load(&f->tr, &f->sh, &h, &err), 0);
	h.lost_in_row = 2;
	ok[0] =
	    oc(SMTP_R_OK, 250, "2.0.0", "250 2.0.0 queued", SMTP_STAGE_BODY);
	ok[1] = ok[0];
	gone = oc(SMTP_R_RECIPIENT_REJECTED, 550, "5.1.1", "550 5.1.1 no",
	    SMTP_STAGE_RCPT);
	host[0] = oc(SMTP_R_RECIPIENT_REJECTED, 421, "4.3.2", "421 bye",
	    SMTP_STAGE_RCPT);
	mi[0] = batch_one(f, one, 1, qid[0], &a[0], rec[0]);
	mi[1] = batch_one(f, two, 2, qid[1], &a[1], rec[1]);
	mi[2] = batch_one(f, one, 1, qid[2], &a[2], rec[2]);
	runner_trouble_rcpt_early(&f->tr, &a[1], 1, &gone);
	assert_int_equal(a[1].nfailed, 1);
	for (k = 0; k < 3; k++) {
		ap[k] = &a[k];
		ro[k] = k == 2 ? host : ok;
		mo[k] = &ok[0];
	}
	b.a = ap;
	b.rcpt_out = ro;
	b.msg_out = mo;
	b.n = 3;
	assert_int_equal(
	    runner_trouble_batch(&f->tr, &b, &h), RUNNER_NEXT_HOST_DOWN);
	assert_int_equal(msg_state(f, qid[0]), SPOOL_ST_SENT);
	assert_int_equal(rcpt_state(f, qid[1], 0, NULL), SPOOL_RS_SENT);
	assert_int_equal(rcpt_state(f, qid[1], 1, NULL), SPOOL_RS_FAILED);
	assert_int_equal(a[1].nfailed, 1);
	assert_true(rec[0][0] && rec[1][0] && rec[1][1]);
	/* the 421 went on its own: given back, the host backs off */
	assert_int_equal(rcpt_state(f, qid[2], 0, NULL), SPOOL_RS_PENDING);
	assert_int_equal(h.h.state, SPOOL_HS_BACKOFF);
	for (k = 0; k < 3; k++)
		spool_msg_info_free(mi[k]);

	/* a claim given back meanwhile: the batch fails, the other message
	 * is written on its own */
	memset(rec, 0, sizeof(rec));
	mi[0] = batch_one(f, one, 1, qid[0], &a[0], rec[0]);
	mi[1] = batch_one(f, one, 1, qid[1], &a[1], rec[1]);
	runner_trouble_release(&f->tr, qid[0]);
	for (k = 0; k < 2; k++) {
		ap[k] = &a[k];
		ro[k] = ok;
	}
	b.n = 2;
	assert_int_equal(
	    runner_trouble_batch(&f->tr, &b, &h), RUNNER_NEXT_LOCAL);
	assert_int_equal(rcpt_state(f, qid[0], 0, NULL), SPOOL_RS_PENDING);
	assert_int_equal(msg_state(f, qid[1]), SPOOL_ST_SENT);
	assert_false(rec[0][0]);
	assert_true(rec[1][0]);
	for (k = 0; k < 2; k++)
		spool_msg_info_free(mi[k]);
}

/* --- health --------------------------------------------------------------- */

static void
test_health(void **state)
{
	struct fx *f = *state;
	static const char *const rcpts[] = { "a@example.net" };
	struct spool_host_health row;
	struct smtp_outcome o;
	struct runner_host h;
	time_t now = sys_time(), t;
	char qid[SPOOL_QID_SIZE];
	struct spool_msg_info *mi;
	struct spool_outcome so;
	struct err err;
	bool found;

	assert_int_equal(runner_trouble_host_load(&f->tr, &f->sh, &h, &err), 0);
	assert_int_equal(h.h.state, SPOOL_HS_OK);
	assert_true(runner_trouble_host_usable(&h, now, false));
	o = oc(SMTP_R_CONNECT_REFUSED, 0, "", "", SMTP_STAGE_CONNECT);
	t = runner_trouble_host_fail(&f->tr, &h, &o, now);
	assert_true(t >= now + 48 && t <= now + 60);
	t = runner_trouble_host_fail(&f->tr, &h, &o, now);
	assert_true(t >= now + 96 && t <= now + 120);
	assert_false(runner_trouble_host_usable(&h, now, false));
	assert_true(runner_trouble_host_usable(&h, now, true));
	assert_true(runner_trouble_host_usable(&h, t, false));
	o = oc(SMTP_R_AUTH_FAILED, 535, "5.7.8", "535 no", SMTP_STAGE_AUTH);
	assert_true(
	    runner_trouble_host_fail(&f->tr, &h, &o, now) == now + 3600);
	assert_int_equal(
	    spool_health_get(f->sp, "main", &row, &found, &err), 0);
	assert_true(found);
	assert_int_equal(row.state, SPOOL_HS_FAULT);
	assert_int_equal(row.failures, 3);
	assert_string_equal(row.last_reason, "auth_failed");

	/* a message deferred meanwhile is due at once when the host is OK */
	mi = queue_claim(f, "s@example.net", rcpts, 1, qid);
	memset(&so, 0, sizeof(so));
	so.now = now;
	so.next_attempt = now + 3000;
	so.reason = "recipient_rejected";
	assert_int_equal(spool_rcpt_result(f->sp, qid, rcpts[0],
			     SPOOL_RS_DEFERRED, &so, &err),
	    0);
	assert_int_equal(spool_finish(f->sp, qid, OWNER, now, NULL, &err), 0);
	spool_msg_info_free(mi);
	runner_trouble_open_ok(&f->tr, &h, now);
	assert_int_equal(
	    spool_health_get(f->sp, "main", &row, &found, &err), 0);
	assert_int_equal(row.state, SPOOL_HS_OK);
	assert_int_equal(row.failures, 0);
	assert_int_equal(row.last_ok, now);
	assert_int_equal(spool_get(f->sp, qid, &mi, &err), 0);
	assert_true(mi->next_attempt <= now);
	spool_msg_info_free(mi);
}

/* --- bounces -------------------------------------------------------------- */

static void
test_bounce_compose(void **state)
{
	struct fx *f = *state;
	struct spool_rcpt_info r[2];
	struct spool_msg_info mi;
	struct runner_dsn d;
	struct buf out;
	struct err err;
	const char *p;

	memset(r, 0, sizeof(r));
	memset(&mi, 0, sizeof(mi));
	(void)str_copy(mi.qid, sizeof(mi.qid), "0ABCDEFGHIJKLM");
	mi.sender = s_alice;
	mi.created = 1700000000;
	mi.envid = s_env;
	mi.rcpts = r;
	mi.nrcpts = 2;
	r[0].address = s_ok;
	r[0].state = SPOOL_RS_SENT;
	r[1].address = s_gone;
	r[1].state = SPOOL_RS_FAILED;
	r[1].status = s_511;
	r[1].reason = s_reason;
	r[1].last_reply = s_reply;
	r[1].remote_mta = s_mta;
	r[1].last_attempt = 1700000100;
	r[1].orcpt = s_orcpt;
	memset(&d, 0, sizeof(d));
	d.conf = &f->conf;
	d.mi = &mi;
	d.orig = "Subject: hello\r\n";
	d.orig_len = strlen(d.orig);
	d.full = false;
	d.now = 1700000200;
	d.boundary = "=_b_1";
	d.msgid = "<1@relay.test>";
	buf_init(&out, 1 << 20);
	assert_int_equal(runner_bounce_compose(&d, &out, &err), 0);
	p = out.data;
	assert_non_null(strstr(p,
	    "From: Mail Delivery System "
	    "<MAILER-DAEMON@relay.test>\r\n"));
	assert_non_null(strstr(p, "To: <alice@example.net>\r\n"));
	assert_non_null(strstr(p,
	    "Content-Type: multipart/report; "
	    "report-type=delivery-status;"));
	assert_non_null(strstr(p, "Reporting-MTA: dns; relay.test\r\n"));
	assert_non_null(strstr(p, "Original-Envelope-Id: ENV123\r\n"));
	assert_non_null(strstr(p,
	    "Arrival-Date: Tue, 14 Nov 2023 22:13:20 "
	    "+0000\r\n"));
	assert_non_null(
	    strstr(p, "Final-Recipient: rfc822; gone@example.net\r\n"));
	assert_null(strstr(p, "Final-Recipient: rfc822; ok@example.net"));
	assert_non_null(
	    strstr(p, "Original-Recipient: rfc822; g@example.org\r\n"));
	assert_non_null(strstr(p, "Action: failed\r\nStatus: 5.1.1\r\n"));
	assert_non_null(strstr(p, "Remote-MTA: dns; smtp.test\r\n"));
	assert_non_null(strstr(p,
	    "Diagnostic-Code: smtp; 550 5.1.1 nope "
	    "X-Evil: yes?\r\n"));
	assert_null(strstr(p, "\nX-Evil"));
	assert_non_null(strstr(p, "Content-Type: text/rfc822-headers\r\n"));
	assert_non_null(strstr(p, "\r\n--=_b_1--\r\n"));
	buf_free(&out);

	/* an unsafe sender is left out of the header */
	mi.sender = s_bad;
	buf_init(&out, 1 << 20);
	assert_int_equal(runner_bounce_compose(&d, &out, &err), 0);
	assert_null(strstr(out.data, "To:"));
	assert_null(strstr(out.data, "\r\nBcc:"));
	buf_free(&out);
}

static void
test_bounce_quiet(void **state)
{
	struct fx *f = *state;
	static const char *const rcpts[] = { "gone@example.net" };
	char qid[SPOOL_QID_SIZE], bqid[SPOOL_QID_SIZE];
	struct spool_msg_info *mi = queue_claim(f, "", rcpts, 1, qid);
	struct spool_outcome so;
	struct err err;
	size_t n = 0;

	memset(&so, 0, sizeof(so));
	so.now = sys_time();
	so.reason = "recipient_rejected";
	so.reply = "550 no";
	assert_int_equal(
	    spool_rcpt_result(f->sp, qid, rcpts[0], SPOOL_RS_FAILED, &so, &err),
	    0);
	assert_int_equal(
	    spool_finish(f->sp, qid, OWNER, sys_time(), NULL, &err), 0);
	spool_msg_info_free(mi);
	assert_int_equal(runner_bounce_sweep(
			     f->sp, &f->conf, NULL, sys_time(), 10, &n, &err),
	    0);
	assert_int_equal(n, 0);
	assert_int_equal(runner_bounce_one(f->sp, &f->conf, NULL, qid,
			     sys_time(), bqid, &err),
	    0);
	assert_string_equal(bqid, "");
	assert_int_equal(msg_state(f, qid), SPOOL_ST_FAILED);
	{
		char unrep[1][SPOOL_QID_SIZE];

		assert_int_equal(
		    spool_unreported(f->sp, unrep, 1, &n, &err), 0);
		assert_int_equal(n, 0);
	}
}

/* --- log text --------------------------------------------------------- */

static void
test_log_clean(void **state)
{
	char out[16];

	(void)state;
	assert_string_equal(
	    runner_log_clean(out, sizeof(out), "a\r\n\tb"), "a b");
	assert_string_equal(
	    runner_log_clean(out, sizeof(out), "x\x01y\xc3\xa9"), "x?y??");
	assert_string_equal(
	    runner_log_clean(out, sizeof(out), "  lead  trail  "),
	    "lead trail");
	assert_int_equal(
	    strlen(runner_log_clean(out, sizeof(out), "0123456789abcdefghij")),
	    15);
	assert_string_equal(runner_log_clean(out, sizeof(out), NULL), "");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_backoff_schedule, setup, teardown),
		cmocka_unit_test_setup_teardown(test_verdicts, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mixed_results, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_host_trouble_releases, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_lost_in_a_row, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_lost_behind_pending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_health, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bounce_compose, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_bounce_quiet, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_log_clean, setup, teardown),
	};

	log_init("test_runner_trouble", 0);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
