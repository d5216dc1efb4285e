/*
 * spool_ops.c - operations on queued messages for relayctl (through
 * relayd): hold, release, delete, retry, drain, bounce.
 *
 * Place in the flow: relayd checks who asks and passes a struct
 * spool_filter (the caller's uid unless root or group relay); these
 * functions act only on messages matching it, on one queue id or on all.
 * Each call is one transaction.
 *
 * Security: the WHERE clauses are built from numbers in our own filter
 * struct; the queue id, the only caller string, is always bound.
 */
#include "config.h"

#include <string.h>

#include "base/sysops.h"
#include "spool/spool_int.h"

/* One set-based statement: head, then the filter, the base condition,
 * the qid condition and the tail. */
struct spool_op {
	const char *head;
	const char *base;
	const char *tail;
	bool done_rule; /* leave SENT/FAILED out unless f includes them */
};

static int spool_op_begin(struct spool *sp, const char *qid,
    const struct spool_filter *f, struct spool_tx *tx, struct err *err);
static int spool_op_prepare(struct spool *sp, const struct spool_op *op,
    const char *qid, const struct spool_filter *f, time_t now,
    sqlite3_stmt **st, struct err *err);
static int spool_op_run(struct spool *sp, const struct spool_op *op,
    const char *qid, const struct spool_filter *f, time_t now, size_t *n,
    struct err *err);
static int spool_op_select(struct spool *sp, const char *base, const char *qid,
    const struct spool_filter *f, struct spool_qidv *q, struct err *err);
static int spool_op_single(struct spool *sp, const struct spool_op *op,
    const char *qid, const struct spool_filter *f, time_t now, size_t *n,
    struct err *err);
static int spool_unhold_one(
    struct spool *sp, const char *qid, time_t now, struct err *err);

/* spool_op_begin - open the transaction; a given qid must exist and
 * match f's uid, else ERR_PERM. */
static int
spool_op_begin(struct spool *sp, const char *qid, const struct spool_filter *f,
    struct spool_tx *tx, struct err *err)
{
	static const char sql[] = "SELECT uid FROM messages WHERE qid = ?1";
	sqlite3_stmt *st;
	int rc;
	uid_t uid = 0;

	if (spool_db_tx_enter(sp, tx, err) == -1)
		return -1;
	if (qid == NULL)
		return 0;
	if (!spool_qid_valid(qid))
		goto out_nomsg;
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		goto out_abort;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		uid = (uid_t)sqlite3_column_int64(st, 0);
	spool_db_done(st);
	if (rc == SQLITE_ROW && (f->all_users || uid == f->uid))
		return 0;
	if (rc == SQLITE_ROW || rc == SQLITE_DONE)
		goto out_nomsg;
	(void)spool_db_err(sp, rc, "reading a message", err);
	goto out_abort;

out_nomsg:
	(void)err_set(err, ERR_PERM, "no message %s in the queue", qid);
out_abort:
	spool_db_tx_abort(sp, tx, err);
	return -1;
}

/* spool_op_prepare - build and bind op's statement (?1 qid, ?2 now). */
static int
spool_op_prepare(struct spool *sp, const struct spool_op *op, const char *qid,
    const struct spool_filter *f, time_t now, sqlite3_stmt **st,
    struct err *err)
{
	struct buf q;
	int rc;

	*st = NULL;
	buf_init(&q, 2048);
	rc = buf_puts(&q, op->head);
	if (rc == 0)
		rc = spool_filter_sql(f, op->done_rule && qid == NULL, &q);
	if (rc == 0)
		rc = buf_appendf(&q, " AND %s%s%s", op->base,
		    qid != NULL ? " AND m.qid = ?1" : "",
		    op->tail != NULL ? op->tail : "");
	if (rc == -1) {
		buf_free(&q);
		return err_set(err, ERR_INTERNAL, "spool: query too long");
	}
	rc = spool_prepare_dyn(sp, q.data, st, err);
	buf_free(&q);
	if (rc == -1)
		return -1;
	rc = SQLITE_OK;
	if (qid != NULL)
		rc = spool_bind_text(*st, 1, qid, rc);
	if (sqlite3_bind_parameter_count(*st) >= 2)
		rc = spool_bind_int(*st, 2, (int64_t)now, rc);
	if (rc != SQLITE_OK) {
		(void)spool_db_err(sp, rc, "preparing a query", err);
		(void)sqlite3_finalize(*st);
		*st = NULL;
		return -1;
	}
	return 0;
}

/* spool_op_run - run op once; OUT *n rows changed. */
static int
spool_op_run(struct spool *sp, const struct spool_op *op, const char *qid,
    const struct spool_filter *f, time_t now, size_t *n, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (spool_op_prepare(sp, op, qid, f, now, &st, err) == -1)
		return -1;
	rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		(void)spool_db_err(sp, rc, "changing messages", err);
	else if (n != NULL)
		*n = (size_t)sqlite3_changes(sp->db);
	(void)sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* spool_op_select - the ids of messages matching base (and qid, f). */
static int
spool_op_select(struct spool *sp, const char *base, const char *qid,
    const struct spool_filter *f, struct spool_qidv *q, struct err *err)
{
	const struct spool_op op = { "SELECT m.qid FROM messages m", base,
		" ORDER BY m.qid", false };
	sqlite3_stmt *st;
	int ret;

	if (spool_op_prepare(sp, &op, qid, f, 0, &st, err) == -1)
		return -1;
	ret = spool_qidv_collect(sp, st, q, 0, err);
	(void)sqlite3_finalize(st);
	return ret;
}

/* spool_op_single - one statement in its own transaction. */
static int
spool_op_single(struct spool *sp, const struct spool_op *op, const char *qid,
    const struct spool_filter *f, time_t now, size_t *n, struct err *err)
{
	struct spool_tx tx;
	size_t changed = 0;

	if (n != NULL)
		*n = 0;
	if (spool_op_begin(sp, qid, f, &tx, err) == -1)
		return -1;
	if (spool_op_run(sp, op, qid, f, now, &changed, err) == -1) {
		spool_db_tx_abort(sp, &tx, err);
		return -1;
	}
	if (spool_db_tx_leave(sp, &tx, err) == -1)
		return -1;
	if (n != NULL)
		*n = changed;
	return 0;
}

int
spool_hold(struct spool *sp, const char *qid, const struct spool_filter *f,
    size_t *n, struct err *err)
{
	static const struct spool_op op = {
		"UPDATE messages AS m SET held = 1, state = CASE WHEN"
		" m.state IN (0, 1) THEN 2 ELSE m.state END",
		"m.state IN (0, 1, 3) AND m.held = 0", NULL, false
	};

	return spool_op_single(sp, &op, qid, f, 0, n, err);
}

int
spool_delete(struct spool *sp, const char *qid, const struct spool_filter *f,
    size_t *n, struct err *err)
{
	static const struct spool_op op = { "DELETE FROM messages AS m", "1",
		NULL, true };

	return spool_op_single(sp, &op, qid, f, 0, n, err);
}

int
spool_release_hold(struct spool *sp, const char *qid,
    const struct spool_filter *f, size_t *n, struct err *err)
{
	static const struct spool_op sending = {
		"UPDATE messages AS m SET held = 0",
		"m.state = 3 AND m.held = 1", NULL, false
	};
	struct spool_qidv q = { NULL, 0 };
	time_t now = sys_time();
	struct spool_tx tx;
	size_t i, changed = 0;

	if (n != NULL)
		*n = 0;
	if (spool_op_begin(sp, qid, f, &tx, err) == -1)
		return -1;
	if (spool_op_run(sp, &sending, qid, f, now, &changed, err) == -1 ||
	    spool_op_select(sp, "m.state = 2", qid, f, &q, err) == -1)
		goto out_abort;
	for (i = 0; i < q.n; i++)
		if (spool_unhold_one(sp, q.v[i], now, err) == -1)
			goto out_abort;
	if (spool_db_tx_leave(sp, &tx, err) == -1)
		goto out_free;
	if (n != NULL)
		*n = changed + q.n;
	spool_qidv_free(&q);
	return 0;

out_abort:
	spool_db_tx_abort(sp, &tx, err);
out_free:
	spool_qidv_free(&q);
	return -1;
}

/* spool_unhold_one - clear the hold of a HELD message and recompute. */
static int
spool_unhold_one(struct spool *sp, const char *qid, time_t now, struct err *err)
{
	static const char sql[] = "UPDATE messages SET held = 0 WHERE qid = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	if (rc != SQLITE_OK) {
		spool_db_done(st);
		return spool_db_err(sp, rc, "releasing a message", err);
	}
	if (spool_db_step_done(sp, st, "releasing a message", err) == -1)
		return -1;
	return spool_msg_settle(sp, qid, now, 0, 0, NULL, err);
}

int
spool_retry(struct spool *sp, const char *qid, const struct spool_filter *f,
    time_t now, size_t *n, struct err *err)
{
	static const struct spool_op rcpts = {
		"UPDATE recipients SET next_attempt = ?2 WHERE state = 2"
		" AND next_attempt > ?2 AND qid IN (SELECT m.qid FROM messages "
		"m",
		"m.state IN (0, 1)", ")", false
	};
	static const struct spool_op msgs = {
		"UPDATE messages AS m SET next_attempt = min(m.next_attempt, "
		"?2)",
		"m.state IN (0, 1)", NULL, false
	};
	struct spool_tx tx;
	size_t changed = 0;

	if (n != NULL)
		*n = 0;
	if (spool_op_begin(sp, qid, f, &tx, err) == -1)
		return -1;
	if (spool_op_run(sp, &rcpts, qid, f, now, NULL, err) == -1 ||
	    spool_op_run(sp, &msgs, qid, f, now, &changed, err) == -1) {
		spool_db_tx_abort(sp, &tx, err);
		return -1;
	}
	if (spool_db_tx_leave(sp, &tx, err) == -1)
		return -1;
	if (n != NULL)
		*n = changed;
	return 0;
}

int
spool_due_all(struct spool *sp, time_t now, size_t *n, struct err *err)
{
	const struct spool_filter all = { true, 0, -1, false };

	return spool_retry(sp, NULL, &all, now, n, err);
}

int
spool_bounce(struct spool *sp, const char *qid, const struct spool_filter *f,
    const struct spool_outcome *o, size_t *n, struct err *err)
{
	struct spool_qidv q = { NULL, 0 };
	struct spool_tx tx;
	size_t i, nr;

	if (n != NULL)
		*n = 0;
	if (o == NULL || o->reason == NULL)
		return err_set(err, ERR_INTERNAL,
		    "spool_bounce: an outcome with a reason is needed");
	if (spool_op_begin(sp, qid, f, &tx, err) == -1)
		return -1;
	if (spool_op_select(sp, "m.state IN (0, 1, 2)", qid, f, &q, err) == -1)
		goto out_abort;
	for (i = 0; i < q.n; i++)
		if (spool_fail_open(sp, q.v[i], o, &nr, err) == -1 ||
		    spool_msg_settle(sp, q.v[i], o->now, 0, 0, NULL, err) == -1)
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
