/*
 * spool_enqueue.c - store a new message: envelope row, recipient rows and
 * the body in fixed chunks, inside the caller's transaction.
 *
 * Place in the flow: relayd reads a whole submission (to memory or a
 * temp file) first, then opens one write transaction (spool_begin) for one
 * or several submissions, calls spool_add_message for each and commits
 * once (group commit: one fsync for all).  Only then does it answer
 * "250 queued as QID".
 *
 * Memory: the body is pulled through the caller's spool_reader into one
 * SPOOL_CHUNK_SIZE buffer owned by the handle and bound as a static blob,
 * so storing a message needs the same memory whatever its size.
 *
 * Each spool_add_message runs under a SAVEPOINT: a failed message (reader
 * error, duplicate id) is undone alone and the rest of the group can still
 * be committed, unless SQLite itself rolled the transaction back (full
 * disk), which spool_commit then reports.
 */
#include "config.h"

#include <string.h>

#include "base/sysops.h"
#include "base/xalloc.h"
#include "spool/spool_int.h"

#define SPOOL_QID_TRIES 16

static int spool_newmsg_check(
    const struct spool_newmsg *m, spool_reader rd, struct err *err);
static int spool_msg_insert(struct spool *sp, const struct spool_newmsg *m,
    char qid[SPOOL_QID_SIZE], struct err *err);
static int spool_rcpts_insert(struct spool *sp, const char *qid,
    const struct spool_newmsg *m, struct err *err);
static int spool_body_store(struct spool *sp, const char *qid, spool_reader rd,
    void *rdctx, uint64_t *size, struct err *err);
static int spool_chunk_insert(
    struct spool *sp, const char *qid, int64_t seq, size_t n, struct err *err);
static int spool_size_set(
    struct spool *sp, const char *qid, uint64_t size, struct err *err);

int
spool_add_message(struct spool *sp, const struct spool_newmsg *m,
    spool_reader rd, void *rdctx, char qid[SPOOL_QID_SIZE], struct err *err)
{
	struct spool_tx tx;
	uint64_t size = 0;

	qid[0] = '\0';
	if (spool_newmsg_check(m, rd, err) == -1)
		return -1;
	if (sp->chunk == NULL)
		sp->chunk = xmalloc(SPOOL_CHUNK_SIZE);
	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if (spool_msg_insert(sp, m, qid, err) == -1 ||
	    spool_rcpts_insert(sp, qid, m, err) == -1 ||
	    spool_body_store(sp, qid, rd, rdctx, &size, err) == -1 ||
	    spool_size_set(sp, qid, size, err) == -1 ||
	    spool_event_bump(sp, SPOOL_EV_RECEIVED, 1,
		m->created != 0 ? m->created : sys_time(), err) == -1)
		goto out_abort;
	if (spool_db_tx_leave(sp, &tx, err) == -1)
		goto out_noqid;
	return 0;

out_abort:
	spool_db_tx_abort(sp, &tx, err);
out_noqid:
	qid[0] = '\0';
	return -1;
}

/* spool_newmsg_check - the caller's part of the contract. */
static int
spool_newmsg_check(
    const struct spool_newmsg *m, spool_reader rd, struct err *err)
{
	size_t i;

	if (m == NULL || m->sender == NULL || rd == NULL)
		return err_set(err, ERR_INTERNAL,
		    "spool_add_message: no sender or no reader");
	if (m->nrcpts == 0 || m->rcpts == NULL)
		return err_set(
		    err, ERR_INTERNAL, "spool_add_message: no recipients");
	for (i = 0; i < m->nrcpts; i++)
		if (m->rcpts[i] == NULL || m->rcpts[i][0] == '\0')
			return err_set(err, ERR_INTERNAL,
			    "spool_add_message: recipient %zu is empty", i);
	return 0;
}

/* spool_msg_insert - the envelope row under a fresh queue id. */
static int
spool_msg_insert(struct spool *sp, const struct spool_newmsg *m,
    char qid[SPOOL_QID_SIZE], struct err *err)
{
	static const char sql[] =
	    "INSERT INTO messages (qid, created, uid, sender, state, ret,"
	    " envid, body_type, notify, smtputf8, next_attempt)"
	    " VALUES (?1, ?2, ?3, ?4, 0, ?5, ?6, ?7, ?8, ?9, ?2)";
	int64_t created =
	    m->created != 0 ? (int64_t)m->created : (int64_t)sys_time();
	sqlite3_stmt *st;
	int rc, tries;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	for (tries = 0; tries < SPOOL_QID_TRIES; tries++) {
		spool_qid_next(sp, qid);
		rc = spool_bind_text(st, 1, qid, SQLITE_OK);
		rc = spool_bind_int(st, 2, created, rc);
		rc = spool_bind_int(st, 3, (int64_t)m->uid, rc);
		rc = spool_bind_text(st, 4, m->sender, rc);
		rc = spool_bind_text(st, 5, m->ret, rc);
		rc = spool_bind_text(st, 6, m->envid, rc);
		rc = spool_bind_text(st, 7, m->body_type, rc);
		rc = spool_bind_text(st, 8, m->notify, rc);
		rc = spool_bind_int(st, 9, m->smtputf8 ? 1 : 0, rc);
		if (rc == SQLITE_OK)
			rc = sqlite3_step(st);
		spool_db_done(st);
		if (rc != SQLITE_CONSTRAINT_PRIMARYKEY)
			break;
	}
	if (rc != SQLITE_DONE)
		return spool_db_err(sp, rc, "storing a message", err);
	return 0;
}

/* spool_rcpts_insert - one row per recipient; exact duplicates collapse. */
static int
spool_rcpts_insert(struct spool *sp, const char *qid,
    const struct spool_newmsg *m, struct err *err)
{
	static const char sql[] =
	    "INSERT OR IGNORE INTO recipients (qid, idx, address, orcpt)"
	    " VALUES (?1, ?2, ?3, ?4)";
	sqlite3_stmt *st;
	size_t i;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	for (i = 0; i < m->nrcpts; i++) {
		rc = spool_bind_text(st, 1, qid, SQLITE_OK);
		rc = spool_bind_int(st, 2, (int64_t)i, rc);
		rc = spool_bind_text(st, 3, m->rcpts[i], rc);
		rc = spool_bind_text(
		    st, 4, m->orcpts != NULL ? m->orcpts[i] : NULL, rc);
		if (rc != SQLITE_OK) {
			spool_db_done(st);
			return spool_db_err(sp, rc, "storing a recipient", err);
		}
		if (spool_db_step_done(sp, st, "storing a recipient", err) ==
		    -1)
			return -1;
	}
	return 0;
}

/* spool_body_store - pull the body through rd, one full chunk at a time. */
static int
spool_body_store(struct spool *sp, const char *qid, spool_reader rd,
    void *rdctx, uint64_t *size, struct err *err)
{
	struct err rerr;
	size_t fill = 0;
	int64_t seq = 0;
	ssize_t r;

	do {
		err_clear(&rerr);
		r = rd(rdctx, sp->chunk + fill, SPOOL_CHUNK_SIZE - fill, &rerr);
		if (r < 0 || (size_t)r > SPOOL_CHUNK_SIZE - fill) {
			if (r >= 0 || rerr.cls == ERR_NONE)
				(void)err_set(&rerr, ERR_INTERNAL,
				    "spool: the message reader failed without "
				    "a reason");
			if (err != NULL)
				*err = rerr;
			return -1;
		}
		fill += (size_t)r;
		if (fill == SPOOL_CHUNK_SIZE || (r == 0 && fill > 0)) {
			if (spool_chunk_insert(sp, qid, seq++, fill, err) == -1)
				return -1;
			*size += fill;
			fill = 0;
		}
	} while (r > 0);
	return 0;
}

/* spool_chunk_insert - store sp->chunk[0..n) as chunk seq of qid. */
static int
spool_chunk_insert(
    struct spool *sp, const char *qid, int64_t seq, size_t n, struct err *err)
{
	static const char sql[] =
	    "INSERT INTO chunks (qid, seq, data) VALUES (?1, ?2, ?3)";
	sqlite3_stmt *st;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	rc = spool_bind_int(st, 2, seq, rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_bind_blob(st, 3, sp->chunk, (int)n, SQLITE_STATIC);
	if (rc != SQLITE_OK) {
		spool_db_done(st);
		return spool_db_err(sp, rc, "storing the message body", err);
	}
	return spool_db_step_done(sp, st, "storing the message body", err);
}

/* spool_size_set - the stored size, known once the body is in. */
static int
spool_size_set(
    struct spool *sp, const char *qid, uint64_t size, struct err *err)
{
	static const char sql[] =
	    "UPDATE messages SET size = ?2 WHERE qid = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	rc = spool_bind_int(st, 2, (int64_t)size, rc);
	if (rc != SQLITE_OK) {
		spool_db_done(st);
		return spool_db_err(sp, rc, "storing a message", err);
	}
	return spool_db_step_done(sp, st, "storing a message", err);
}
