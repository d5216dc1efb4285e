/*
 * spool_deliver.c - the runner's side of the spool: claims with leases,
 * per-recipient results, ending claims, expiry, bounce bookkeeping and
 * purging (the message and recipient lifecycles are drawn in spool.h).
 *
 * Place in the flow: relayd's runner claims due messages, reads each
 * claimed envelope and body, records every recipient's result right after
 * the smarthost's reply, and ends the claim; runner_trouble.c decides which
 * result an outcome is.
 *
 * Invariants: a SENDING message has lease_owner and lease_expiry set; every
 * other state has them cleared (spool_msg_settle).  A claim is only taken
 * inside BEGIN IMMEDIATE, which serialises all writers of the file, so no
 * two claimers see the same message as free.  Recording a result does not
 * require the lease: a reply the server gave is a fact worth keeping even
 * when the claim lapsed meanwhile (delivery is at-least-once).
 */
#include "config.h"

#include <string.h>

#include "base/xalloc.h"
#include "spool/spool_int.h"

static int spool_claim_take(struct spool *sp, const char *owner, time_t expiry,
    const struct spool_qidv *q, struct err *err);
static int spool_claim_collect(struct spool *sp, const char *sql, time_t now,
    size_t max, struct spool_qidv *q, struct err *err);
static int spool_rcpt_apply(struct spool *sp, const char *qid, const char *rcpt,
    enum spool_rcpt_state result, const struct spool_outcome *o,
    struct err *err);
static int spool_result_check(enum spool_rcpt_state result,
    const struct spool_outcome *o, struct err *err);
static const char *spool_result_reason(
    enum spool_rcpt_state result, const struct spool_outcome *o);
static enum spool_event spool_result_event(enum spool_rcpt_state result);

/* --- claims -------------------------------------------------------------- */

int
spool_claim(struct spool *sp, const char *owner, time_t now, time_t lease,
    size_t max, char (*qids)[SPOOL_QID_SIZE], size_t *n, struct err *err)
{
	static const char expired_sql[] =
	    "SELECT qid FROM messages WHERE state = 3 AND lease_expiry <= ?1"
	    " ORDER BY lease_expiry, qid LIMIT ?2";
	static const char due_sql[] =
	    "SELECT qid FROM messages WHERE state IN (0, 1)"
	    " AND next_attempt <= ?1 ORDER BY next_attempt, qid LIMIT ?2";
	struct spool_qidv q = { NULL, 0 };
	struct spool_tx tx;

	*n = 0;
	if (owner == NULL || *owner == '\0' || lease <= 0)
		return err_set(err, ERR_INTERNAL,
		    "spool_claim: no owner or no lease time");
	if (max == 0)
		return 0;
	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if (spool_claim_collect(sp, expired_sql, now, max, &q, err) == -1 ||
	    spool_claim_collect(sp, due_sql, now, max, &q, err) == -1 ||
	    spool_claim_take(sp, owner, now + lease, &q, err) == -1)
		goto out_abort;
	if (spool_db_tx_leave(sp, &tx, err) == -1)
		goto out_free;
	if (q.n > 0)
		memcpy(qids, q.v, q.n * sizeof(*q.v));
	*n = q.n;
	spool_qidv_free(&q);
	return 0;

out_abort:
	spool_db_tx_abort(sp, &tx, err);
out_free:
	spool_qidv_free(&q);
	return -1;
}

/* spool_claim_collect - append up to max - q->n ids that sql selects. */
static int
spool_claim_collect(struct spool *sp, const char *sql, time_t now, size_t max,
    struct spool_qidv *q, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	if (q->n >= max)
		return 0;
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_int(st, 1, (int64_t)now, SQLITE_OK);
	rc = spool_bind_int(st, 2, (int64_t)(max - q->n), rc);
	if (rc != SQLITE_OK) {
		spool_db_done(st);
		return spool_db_err(sp, rc, "claiming messages", err);
	}
	return spool_qidv_collect(sp, st, q, max, err);
}

/* spool_claim_take - mark each collected message SENDING for owner. */
static int
spool_claim_take(struct spool *sp, const char *owner, time_t expiry,
    const struct spool_qidv *q, struct err *err)
{
	static const char sql[] =
	    "UPDATE messages SET state = 3, lease_owner = ?2,"
	    " lease_expiry = ?3 WHERE qid = ?1";
	sqlite3_stmt *st;
	size_t i;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	for (i = 0; i < q->n; i++) {
		rc = spool_bind_text(st, 1, q->v[i], SQLITE_OK);
		rc = spool_bind_text(st, 2, owner, rc);
		rc = spool_bind_int(st, 3, (int64_t)expiry, rc);
		if (rc != SQLITE_OK) {
			spool_db_done(st);
			return spool_db_err(sp, rc, "claiming messages", err);
		}
		if (spool_db_step_done(sp, st, "claiming messages", err) == -1)
			return -1;
	}
	return 0;
}

int
spool_renew(struct spool *sp, const char *qid, const char *owner, time_t now,
    time_t lease, struct err *err)
{
	static const char sql[] =
	    "UPDATE messages SET lease_expiry = ?3 WHERE qid = ?1"
	    " AND state = 3 AND lease_owner = ?2";
	struct spool_tx tx;
	sqlite3_stmt *st;
	int rc;

	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if (spool_lease_check(sp, qid, owner, err) == -1 ||
	    (st = spool_db_prep(sp, sql, err)) == NULL)
		goto out_abort;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	rc = spool_bind_text(st, 2, owner, rc);
	rc = spool_bind_int(st, 3, (int64_t)(now + lease), rc);
	if (spool_db_run(sp, st, rc, "renewing a claim", err) == -1)
		goto out_abort;
	return spool_db_tx_leave(sp, &tx, err);

out_abort:
	spool_db_tx_abort(sp, &tx, err);
	return -1;
}

int
spool_lease_check(
    struct spool *sp, const char *qid, const char *owner, struct err *err)
{
	static const char sql[] =
	    "SELECT state = 3 AND lease_owner IS ?2 FROM messages"
	    " WHERE qid = ?1";
	sqlite3_stmt *st;
	int rc, held = 0;

	if (!spool_qid_valid(qid))
		return err_set(err, ERR_PERM, "no message %s in the queue",
		    qid != NULL ? qid : "(null)");
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	rc = spool_bind_text(st, 2, owner, rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		held = sqlite3_column_int(st, 0);
	else if (rc == SQLITE_DONE)
		(void)err_set(err, ERR_PERM, "no message %s in the queue", qid);
	else
		(void)spool_db_err(sp, rc, "checking a claim", err);
	spool_db_done(st);
	if (rc != SQLITE_ROW)
		return -1;
	if (!held)
		return err_set(err, ERR_TEMP,
		    "message %s is no longer claimed by %s (the lease "
		    "expired or the claim ended)",
		    qid, owner != NULL ? owner : "(null)");
	return 0;
}

int
spool_get_claimed(struct spool *sp, const char *qid, const char *owner,
    time_t now, struct spool_msg_info **out, struct err *err)
{
	return spool_get_claimed_body(
	    sp, qid, owner, now, 0, out, NULL, NULL, err);
}

static int
spool_body_to_buf(const char *p, size_t n, void *arg)
{
	return buf_append(arg, p, n) == -1 ? 1 : 0;
}

int
spool_get_claimed_body(struct spool *sp, const char *qid, const char *owner,
    time_t now, size_t inline_max, struct spool_msg_info **out,
    struct buf *body, bool *loaded, struct err *err)
{
	struct spool_msg_info *mi;
	bool opened;
	int ret = -1;

	*out = NULL;
	if (loaded != NULL)
		*loaded = false;
	if (spool_db_read_begin(sp, &opened, err) == -1)
		return -1;
	if (spool_lease_check(sp, qid, owner, err) == -1)
		goto out_end;
	mi = xcalloc(1, sizeof(*mi));
	if (spool_msg_read(sp, qid, SPOOL_LOAD_DUE, now, mi, err) == -1) {
		spool_msg_info_free(mi);
		goto out_end;
	}
	if (body != NULL)
		buf_reset(body);
	if (body != NULL && mi->size <= inline_max) {
		if (spool_body_read_sized(sp, qid, mi->size, spool_body_to_buf,
			body, err) == -1) {
			spool_msg_info_free(mi);
			goto out_end;
		}
		/* a body that did not fit is read again as it is sent */
		if (body->len == mi->size)
			*loaded = true;
		else
			buf_reset(body);
	}
	*out = mi;
	ret = 0;
out_end:
	spool_db_read_end(sp, opened);
	return ret;
}

/* --- results ------------------------------------------------------------- */

/* spool_result_check - a result is SENT, DEFERRED or FAILED, with o. */
static int
spool_result_check(enum spool_rcpt_state result, const struct spool_outcome *o,
    struct err *err)
{
	if (o == NULL ||
	    (result != SPOOL_RS_SENT && result != SPOOL_RS_DEFERRED &&
		result != SPOOL_RS_FAILED))
		return err_set(err, ERR_INTERNAL,
		    "spool: a result must be sent, deferred or failed, with "
		    "an outcome");
	return 0;
}

/* spool_result_reason - o's reason, else the result's own name. */
static const char *
spool_result_reason(enum spool_rcpt_state result, const struct spool_outcome *o)
{
	if (o->reason != NULL && *o->reason != '\0')
		return o->reason;
	return spool_rcpt_state_name(result);
}

static enum spool_event
spool_result_event(enum spool_rcpt_state result)
{
	if (result == SPOOL_RS_SENT)
		return SPOOL_EV_SENT;
	if (result == SPOOL_RS_DEFERRED)
		return SPOOL_EV_DEFERRED;
	return SPOOL_EV_BOUNCED;
}

int
spool_rcpt_result(struct spool *sp, const char *qid, const char *rcpt,
    enum spool_rcpt_state result, const struct spool_outcome *o,
    struct err *err)
{
	struct spool_tx tx;

	if (spool_result_check(result, o, err) == -1)
		return -1;
	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if (spool_rcpt_apply(sp, qid, rcpt, result, o, err) == -1) {
		spool_db_tx_abort(sp, &tx, err);
		return -1;
	}
	return spool_db_tx_leave(sp, &tx, err);
}

/* spool_rcpt_apply - spool_rcpt_result inside its transaction. */
static int
spool_rcpt_apply(struct spool *sp, const char *qid, const char *rcpt,
    enum spool_rcpt_state result, const struct spool_outcome *o,
    struct err *err)
{
	static const char find_sql[] =
	    "SELECT state FROM recipients WHERE qid = ?1 AND address = ?2";
	static const char set_sql[] =
	    "UPDATE recipients SET state = ?3, attempts = attempts + 1,"
	    " next_attempt = ?4, last_reply = coalesce(?5, last_reply),"
	    " reason = ?6, status = coalesce(?7, status),"
	    " remote_mta = coalesce(?8, remote_mta), last_attempt = ?9"
	    " WHERE qid = ?1 AND address = ?2";
	const char *reason = spool_result_reason(result, o);
	sqlite3_stmt *st;
	int rc, cur = -1;

	if ((st = spool_db_prep(sp, find_sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	rc = spool_bind_text(st, 2, rcpt, rc);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW)
		cur = sqlite3_column_int(st, 0);
	spool_db_done(st);
	if (rc == SQLITE_DONE)
		return err_set(err, ERR_PERM, "no recipient <%s> in message %s",
		    rcpt != NULL ? rcpt : "(null)", qid);
	if (rc != SQLITE_ROW)
		return spool_db_err(sp, rc, "recording a result", err);
	if (cur == SPOOL_RS_SENT || cur == SPOOL_RS_FAILED)
		return 0;
	if ((st = spool_db_prep(sp, set_sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	rc = spool_bind_text(st, 2, rcpt, rc);
	rc = spool_bind_int(st, 3, (int64_t)result, rc);
	rc = spool_bind_int(st, 4,
	    result == SPOOL_RS_DEFERRED ? (int64_t)o->next_attempt : 0, rc);
	rc = spool_bind_text(st, 5, o->reply, rc);
	rc =
	    spool_bind_text(st, 6, result == SPOOL_RS_SENT ? NULL : reason, rc);
	rc = spool_bind_text(st, 7, o->status, rc);
	rc = spool_bind_text(st, 8, o->relay, rc);
	rc = spool_bind_int(st, 9, (int64_t)o->now, rc);
	if (rc != SQLITE_OK) {
		spool_db_done(st);
		return spool_db_err(sp, rc, "recording a result", err);
	}
	if (spool_db_step_done(sp, st, "recording a result", err) == -1)
		return -1;
	if (result != SPOOL_RS_SENT &&
	    spool_msg_note(sp, qid, reason, o->reason_text, err) == -1)
		return -1;
	if (spool_hist_add(sp, qid, rcpt, o, reason, err) == -1)
		return -1;
	return spool_event_bump(sp, spool_result_event(result), 1, o->now, err);
}

int
spool_msg_result(struct spool *sp, const char *qid,
    enum spool_rcpt_state result, const struct spool_outcome *o, size_t *n,
    struct err *err)
{
	static const char due_sql[] =
	    "SELECT address FROM recipients WHERE qid = ?1 AND (state = 0"
	    " OR (state = 2 AND next_attempt <= ?2)) ORDER BY idx";
	sqlite3_stmt *st;
	struct spool_tx tx;
	char **addrs = NULL;
	size_t i, na = 0;
	int rc;

	if (n != NULL)
		*n = 0;
	if (spool_result_check(result, o, err) == -1)
		return -1;
	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if (spool_msg_exists(sp, qid, err) == -1)
		goto out_abort;
	if ((st = spool_db_prep(sp, due_sql, err)) == NULL)
		goto out_abort;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	rc = spool_bind_int(st, 2, (int64_t)o->now, rc);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		addrs = xreallocarray(addrs, na + 1, sizeof(*addrs));
		addrs[na++] = spool_col_str(st, 0);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		(void)spool_db_err(sp, rc, "recording a result", err);
	spool_db_done(st);
	for (i = 0; rc == SQLITE_DONE && i < na; i++)
		if (spool_rcpt_apply(sp, qid, addrs[i], result, o, err) == -1)
			rc = SQLITE_ERROR;
	for (i = 0; i < na; i++)
		xfree(addrs[i]);
	xfree(addrs);
	if (rc != SQLITE_DONE)
		goto out_abort;
	if (n != NULL)
		*n = na;
	return spool_db_tx_leave(sp, &tx, err);

out_abort:
	spool_db_tx_abort(sp, &tx, err);
	if (n != NULL)
		*n = 0;
	return -1;
}

/* --- ending claims ------------------------------------------------------- */

int
spool_finish(struct spool *sp, const char *qid, const char *owner, time_t now,
    enum spool_msg_state *state, struct err *err)
{
	struct spool_tx tx;

	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if (spool_lease_check(sp, qid, owner, err) == -1 ||
	    spool_msg_settle(sp, qid, now, 0, 1, state, err) == -1) {
		spool_db_tx_abort(sp, &tx, err);
		return -1;
	}
	return spool_db_tx_leave(sp, &tx, err);
}

int
spool_release(struct spool *sp, const char *qid, const char *owner, time_t now,
    const struct spool_outcome *o, struct err *err)
{
	struct spool_tx tx;
	const char *reason;

	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if (spool_lease_check(sp, qid, owner, err) == -1)
		goto out_abort;
	if (o != NULL) {
		reason = o->reason != NULL ? o->reason : "released";
		if (spool_msg_note(sp, qid, reason, o->reason_text, err) ==
			-1 ||
		    spool_hist_add(sp, qid, NULL, o, reason, err) == -1)
			goto out_abort;
	}
	if (spool_msg_settle(sp, qid, now, o != NULL ? o->next_attempt : 0,
		o != NULL ? 1 : 0, NULL, err) == -1)
		goto out_abort;
	return spool_db_tx_leave(sp, &tx, err);

out_abort:
	spool_db_tx_abort(sp, &tx, err);
	return -1;
}

int
spool_release_owner(
    struct spool *sp, const char *owner, time_t now, size_t *n, struct err *err)
{
	static const char sql[] =
	    "SELECT qid FROM messages WHERE state = 3 AND lease_owner = ?1";
	struct spool_qidv q = { NULL, 0 };
	struct spool_tx tx;
	sqlite3_stmt *st;
	size_t i;
	int rc;

	if (n != NULL)
		*n = 0;
	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		goto out_abort;
	rc = spool_bind_text(st, 1, owner, SQLITE_OK);
	if (rc != SQLITE_OK) {
		spool_db_done(st);
		(void)spool_db_err(sp, rc, "releasing claims", err);
		goto out_abort;
	}
	if (spool_qidv_collect(sp, st, &q, 0, err) == -1)
		goto out_abort;
	for (i = 0; i < q.n; i++)
		if (spool_msg_settle(sp, q.v[i], now, 0, 0, NULL, err) == -1)
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
spool_due_count(
    struct spool *sp, time_t now, size_t max, size_t *n, struct err *err)
{
	/* the same two ranges spool_claim takes from, each bounded */
	static const char sql[] =
	    "SELECT (SELECT count(*) FROM (SELECT 1 FROM messages"
	    "  WHERE state IN (0, 1) AND next_attempt <= ?1 LIMIT ?2))"
	    " + (SELECT count(*) FROM (SELECT 1 FROM messages"
	    "  WHERE state = 3 AND lease_expiry <= ?1 LIMIT ?2))";
	sqlite3_stmt *st;
	int rc;

	*n = 0;
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_int(st, 1, (int64_t)now, SQLITE_OK);
	rc = spool_bind_int(st, 2, (int64_t)max, rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*n = (size_t)sqlite3_column_int64(st, 0);
		if (*n > max)
			*n = max;
	} else {
		(void)spool_db_err(sp, rc, "counting due messages", err);
	}
	spool_db_done(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int
spool_next_due(struct spool *sp, time_t *when, bool *found, struct err *err)
{
	static const char sql[] =
	    "SELECT min(t) FROM ("
	    " SELECT min(next_attempt) AS t FROM messages WHERE state = 0"
	    " UNION ALL SELECT min(next_attempt) FROM messages WHERE state = 1"
	    " UNION ALL SELECT min(lease_expiry) FROM messages WHERE state = "
	    "3)";
	sqlite3_stmt *st;
	int rc;

	*found = false;
	*when = 0;
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) {
		*when = (time_t)sqlite3_column_int64(st, 0);
		*found = true;
	}
	if (rc != SQLITE_ROW)
		(void)spool_db_err(sp, rc, "finding the next due message", err);
	spool_db_done(st);
	return rc == SQLITE_ROW ? 0 : -1;
}
