/*
 * spool_state.c - the state bookkeeping every transition shares: the one
 * place that recomputes a message's state from its recipients, attempt
 * history rows, failing the open recipients of a message, and the sweeps
 * over the whole queue (expiry, unreported failures, purge).
 *
 * Place in the flow: called by spool_deliver.c (claims and results) and
 * spool_ops.c (relayctl operations), always inside a transaction.
 *
 * Invariant kept here: a message's stored state agrees with its
 * recipients (see spool.h), SENT and FAILED messages have done_at set and
 * no next_attempt, and only SENDING messages carry a lease.
 */
#include "config.h"

#include <string.h>

#include "base/xalloc.h"
#include "spool/spool_int.h"

#define SPOOL_COUNTER_KEEP (2 * 24 * 3600)

struct spool_tally {
	int64_t pending, sent, deferred, failed;
	int64_t next_deferred; /* earliest deferred recipient */
	int64_t msg_next; /* the message's current next_attempt */
	bool held;
};

static int spool_tally_read(
    struct spool *sp, const char *qid, struct spool_tally *t, struct err *err);
static int spool_fail_rcpts(struct spool *sp, const char *qid,
    const struct spool_outcome *o, size_t *n, struct err *err);

/* spool_tally_read - recipient counts by state and the message's flags. */
static int
spool_tally_read(
    struct spool *sp, const char *qid, struct spool_tally *t, struct err *err)
{
	static const char sql[] =
	    "SELECT total(r.state = 0), total(r.state = 1),"
	    " total(r.state = 2), total(r.state = 3),"
	    " min(CASE WHEN r.state = 2 THEN r.next_attempt END),"
	    " m.held, m.next_attempt FROM messages m"
	    " LEFT JOIN recipients r ON r.qid = m.qid WHERE m.qid = ?1"
	    " GROUP BY m.qid";
	sqlite3_stmt *st;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		t->pending = sqlite3_column_int64(st, 0);
		t->sent = sqlite3_column_int64(st, 1);
		t->deferred = sqlite3_column_int64(st, 2);
		t->failed = sqlite3_column_int64(st, 3);
		t->next_deferred = sqlite3_column_int64(st, 4);
		t->held = sqlite3_column_int(st, 5) != 0;
		t->msg_next = sqlite3_column_int64(st, 6);
	}
	spool_db_done(st);
	if (rc == SQLITE_DONE)
		return err_set(
		    err, ERR_PERM, "no message %s in the queue", qid);
	if (rc != SQLITE_ROW)
		return spool_db_err(sp, rc, "updating a message", err);
	return 0;
}

int
spool_msg_settle(struct spool *sp, const char *qid, time_t now, time_t floor,
    int attempts, enum spool_msg_state *out, struct err *err)
{
	static const char sql[] =
	    "UPDATE messages SET state = ?2, next_attempt = ?3,"
	    " attempts = attempts + ?4, lease_owner = NULL, lease_expiry = 0,"
	    " done_at = ?5, held = CASE WHEN ?2 >= 4 THEN 0 ELSE held END,"
	    " reason = CASE WHEN ?2 = 4 THEN NULL ELSE reason END,"
	    " reason_text = CASE WHEN ?2 = 4 THEN NULL ELSE reason_text END"
	    " WHERE qid = ?1";
	struct spool_tally t = { 0 };
	enum spool_msg_state st;
	int64_t next = 0;
	sqlite3_stmt *s;
	int rc;

	if (spool_tally_read(sp, qid, &t, err) == -1)
		return -1;
	if (t.pending > 0) {
		st = SPOOL_ST_QUEUED;
		next = t.msg_next != 0 ? t.msg_next : (int64_t)now;
	} else if (t.deferred > 0) {
		st = SPOOL_ST_DEFERRED;
		next = t.next_deferred;
	} else {
		st = t.failed > 0 ? SPOOL_ST_FAILED : SPOOL_ST_SENT;
	}
	if (st < SPOOL_ST_SENT && next < (int64_t)floor)
		next = (int64_t)floor;
	if (st < SPOOL_ST_SENT && t.held)
		st = SPOOL_ST_HELD;
	if ((s = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(s, 1, qid, SQLITE_OK);
	rc = spool_bind_int(s, 2, (int64_t)st, rc);
	rc = spool_bind_int(s, 3, next, rc);
	rc = spool_bind_int(s, 4, attempts, rc);
	rc = spool_bind_int(s, 5, st >= SPOOL_ST_SENT ? (int64_t)now : 0, rc);
	if (rc != SQLITE_OK) {
		spool_db_done(s);
		return spool_db_err(sp, rc, "updating a message", err);
	}
	if (spool_db_step_done(sp, s, "updating a message", err) == -1)
		return -1;
	if (out != NULL)
		*out = st;
	return 0;
}

int
spool_msg_exists(struct spool *sp, const char *qid, struct err *err)
{
	static const char sql[] = "SELECT 1 FROM messages WHERE qid = ?1";
	sqlite3_stmt *st;
	int rc;

	if (!spool_qid_valid(qid))
		return err_set(err, ERR_PERM, "no message %s in the queue",
		    qid != NULL ? qid : "(null)");
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	spool_db_done(st);
	if (rc == SQLITE_DONE)
		return err_set(
		    err, ERR_PERM, "no message %s in the queue", qid);
	if (rc != SQLITE_ROW)
		return spool_db_err(sp, rc, "reading a message", err);
	return 0;
}

int
spool_msg_note(struct spool *sp, const char *qid, const char *reason,
    const char *text, struct err *err)
{
	static const char sql[] =
	    "UPDATE messages SET reason = ?2, reason_text = ?3 WHERE qid = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	rc = spool_bind_text(st, 2, reason, rc);
	rc = spool_bind_text(st, 3, text, rc);
	if (rc != SQLITE_OK) {
		spool_db_done(st);
		return spool_db_err(sp, rc, "updating a message", err);
	}
	return spool_db_step_done(sp, st, "updating a message", err);
}

int
spool_hist_add(struct spool *sp, const char *qid, const char *rcpt,
    const struct spool_outcome *o, const char *reason, struct err *err)
{
	static const char sql[] =
	    "INSERT INTO attempts (qid, at, rcpt, reason, reply, relay)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6)";
	sqlite3_stmt *st;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	rc = spool_bind_int(st, 2, (int64_t)o->now, rc);
	rc = spool_bind_text(st, 3, rcpt, rc);
	rc = spool_bind_text(st, 4, reason, rc);
	rc = spool_bind_text(
	    st, 5, o->reply != NULL ? o->reply : o->reason_text, rc);
	rc = spool_bind_text(st, 6, o->relay, rc);
	if (rc != SQLITE_OK) {
		spool_db_done(st);
		return spool_db_err(sp, rc, "recording an attempt", err);
	}
	return spool_db_step_done(sp, st, "recording an attempt", err);
}

int
spool_fail_open(struct spool *sp, const char *qid,
    const struct spool_outcome *o, size_t *n, struct err *err)
{
	static const char hist_sql[] =
	    "INSERT INTO attempts (qid, at, rcpt, reason, reply, relay)"
	    " SELECT qid, ?2, address, ?3, ?4, ?5 FROM recipients"
	    " WHERE qid = ?1 AND state IN (0, 2) ORDER BY idx";
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if ((st = spool_db_prep(sp, hist_sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	rc = spool_bind_int(st, 2, (int64_t)o->now, rc);
	rc = spool_bind_text(st, 3, o->reason, rc);
	rc = spool_bind_text(
	    st, 4, o->reply != NULL ? o->reply : o->reason_text, rc);
	rc = spool_bind_text(st, 5, o->relay, rc);
	if (rc != SQLITE_OK) {
		spool_db_done(st);
		return spool_db_err(sp, rc, "failing recipients", err);
	}
	if (spool_db_step_done(sp, st, "failing recipients", err) == -1 ||
	    spool_fail_rcpts(sp, qid, o, n, err) == -1 ||
	    spool_msg_note(sp, qid, o->reason, o->reason_text, err) == -1)
		return -1;
	return spool_event_bump(sp, SPOOL_EV_BOUNCED, *n, o->now, err);
}

/* spool_fail_rcpts - the recipient rows of spool_fail_open; OUT *n. */
static int
spool_fail_rcpts(struct spool *sp, const char *qid,
    const struct spool_outcome *o, size_t *n, struct err *err)
{
	static const char sql[] =
	    "UPDATE recipients SET state = 3, next_attempt = 0, reason = ?2,"
	    " last_reply = coalesce(?3, last_reply),"
	    " status = coalesce(?4, status) WHERE qid = ?1 AND state IN (0, 2)";
	sqlite3_stmt *st;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	rc = spool_bind_text(st, 2, o->reason, rc);
	rc = spool_bind_text(st, 3, o->reply, rc);
	rc = spool_bind_text(st, 4, o->status, rc);
	if (rc != SQLITE_OK) {
		spool_db_done(st);
		return spool_db_err(sp, rc, "failing recipients", err);
	}
	if (spool_db_step_done(sp, st, "failing recipients", err) == -1)
		return -1;
	*n = (size_t)sqlite3_changes(sp->db);
	return 0;
}

int
spool_qidv_collect(struct spool *sp, sqlite3_stmt *st, struct spool_qidv *out,
    size_t max, struct err *err)
{
	int rc = SQLITE_DONE;

	while ((max == 0 || out->n < max) &&
	    (rc = sqlite3_step(st)) == SQLITE_ROW) {
		out->v = xreallocarray(out->v, out->n + 1, sizeof(*out->v));
		spool_col_copy(st, 0, out->v[out->n], SPOOL_QID_SIZE);
		out->n++;
	}
	if (max != 0 && out->n >= max)
		rc = SQLITE_DONE;
	if (rc != SQLITE_DONE)
		(void)spool_db_err(sp, rc, "reading queue ids", err);
	spool_db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

void
spool_qidv_free(struct spool_qidv *q)
{
	xfree(q->v);
	q->v = NULL;
	q->n = 0;
}

/* --- sweeps -------------------------------------------------------------- */

int
spool_expire(
    struct spool *sp, time_t now, time_t lifetime, size_t *n, struct err *err)
{
	static const char sql[] =
	    "SELECT qid FROM messages WHERE state IN (0, 1) AND created <= ?1"
	    " ORDER BY qid";
	struct spool_outcome o = { now, 0, "lifetime_expired",
		"not delivered within the retry lifetime (retry.lifetime); "
		"returned to the sender",
		NULL, "4.4.7", NULL };
	struct spool_qidv q = { NULL, 0 };
	struct spool_tx tx;
	sqlite3_stmt *st;
	size_t i, nr;
	int rc;

	if (n != NULL)
		*n = 0;
	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		goto out_abort;
	rc = spool_bind_int(st, 1, (int64_t)(now - lifetime), SQLITE_OK);
	if (rc != SQLITE_OK) {
		spool_db_done(st);
		(void)spool_db_err(sp, rc, "expiring messages", err);
		goto out_abort;
	}
	if (spool_qidv_collect(sp, st, &q, 0, err) == -1)
		goto out_abort;
	for (i = 0; i < q.n; i++)
		if (spool_fail_open(sp, q.v[i], &o, &nr, err) == -1 ||
		    spool_msg_settle(sp, q.v[i], now, 0, 0, NULL, err) == -1)
			goto out_abort;
	if (spool_db_tx_leave(sp, &tx, err) == -1)
		goto out_free;
	if (n != NULL)
		*n = q.n;
	spool_qidv_free(&q);
	return 0;

out_abort:
	spool_db_tx_abort(sp, &tx, err);
out_free:
	spool_qidv_free(&q);
	return -1;
}

int
spool_unreported(struct spool *sp, char (*qids)[SPOOL_QID_SIZE], size_t max,
    size_t *n, struct err *err)
{
	static const char sql[] =
	    "SELECT DISTINCT qid FROM recipients WHERE state = 3"
	    " AND reported = 0 ORDER BY qid LIMIT ?1";
	struct spool_qidv q = { NULL, 0 };
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if (max == 0)
		return 0;
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_int(st, 1, (int64_t)max, SQLITE_OK);
	if (rc != SQLITE_OK) {
		spool_db_done(st);
		return spool_db_err(sp, rc, "finding failures to report", err);
	}
	if (spool_qidv_collect(sp, st, &q, max, err) == -1) {
		spool_qidv_free(&q);
		return -1;
	}
	if (q.n > 0)
		memcpy(qids, q.v, q.n * sizeof(*q.v));
	*n = q.n;
	spool_qidv_free(&q);
	return 0;
}

int
spool_mark_reported(struct spool *sp, const char *qid, struct err *err)
{
	static const char sql[] =
	    "UPDATE recipients SET reported = 1 WHERE qid = ?1 AND state = 3"
	    " AND reported = 0";
	struct spool_tx tx;
	sqlite3_stmt *st;
	int rc;

	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if (spool_msg_exists(sp, qid, err) == -1 ||
	    (st = spool_db_prep(sp, sql, err)) == NULL)
		goto out_abort;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	if (spool_db_run(sp, st, rc, "marking failures reported", err) == -1)
		goto out_abort;
	return spool_db_tx_leave(sp, &tx, err);

out_abort:
	spool_db_tx_abort(sp, &tx, err);
	return -1;
}

int
spool_purge(
    struct spool *sp, time_t now, time_t keep, size_t *n, struct err *err)
{
	static const char msg_sql[] =
	    "DELETE FROM messages WHERE state IN (4, 5) AND done_at <= ?1"
	    " AND NOT EXISTS (SELECT 1 FROM recipients r WHERE"
	    " r.qid = messages.qid AND r.state = 3 AND r.reported = 0)";
	static const char cnt_sql[] = "DELETE FROM counters WHERE minute < ?1";
	struct spool_tx tx;
	sqlite3_stmt *st;
	size_t deleted;
	int rc;

	if (n != NULL)
		*n = 0;
	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if ((st = spool_db_prep(sp, msg_sql, err)) == NULL)
		goto out_abort;
	rc = spool_bind_int(st, 1, (int64_t)(now - keep), SQLITE_OK);
	if (rc != SQLITE_OK || spool_db_step_done(sp, st, "purging", err) == -1)
		goto out_fail;
	deleted = (size_t)sqlite3_changes(sp->db);
	if ((st = spool_db_prep(sp, cnt_sql, err)) == NULL)
		goto out_abort;
	rc = spool_bind_int(
	    st, 1, (int64_t)((now - SPOOL_COUNTER_KEEP) / 60), SQLITE_OK);
	if (rc != SQLITE_OK || spool_db_step_done(sp, st, "purging", err) == -1)
		goto out_fail;
	if (spool_db_tx_leave(sp, &tx, err) == -1)
		return -1;
	if (n != NULL)
		*n = deleted;
	return 0;

out_fail:
	if (rc != SQLITE_OK) {
		spool_db_done(st);
		(void)spool_db_err(sp, rc, "purging", err);
	}
out_abort:
	spool_db_tx_abort(sp, &tx, err);
	return -1;
}
