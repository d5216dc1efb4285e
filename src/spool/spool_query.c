/*
 * spool_query.c - read the spool: list, get one message, counts, and the
 * stored body chunk by chunk.
 *
 * Place in the flow: mailq / relayctl list and show (through relayd, or
 * read-only while relayd is down), and the runner reading a claimed
 * message's body for DATA.
 *
 * Reads that need several SELECTs run in one read transaction so they
 * see one snapshot.  spool_body_read deliberately does not: it reads one
 * chunk per statement, so sending a large message to a slow smarthost
 * never pins an old snapshot (which would stop WAL checkpoints); it checks
 * that the chunks add up to the stored size, so a message deleted halfway
 * is an error, never a silently truncated body.  (A body of one chunk or
 * less is read inside the claim's snapshot by spool_get_claimed_body,
 * which ends before anything is sent.)
 */
#include "config.h"

#include <inttypes.h>
#include <string.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "spool/spool_int.h"

static int spool_msg_load(struct spool *sp, const char *qid,
    struct spool_msg_info *mi, struct err *err);
static int spool_rcpts_load(struct spool *sp, struct spool_msg_info *mi,
    bool due_only, time_t now, struct err *err);
static int spool_hist_load(
    struct spool *sp, struct spool_msg_info *mi, struct err *err);
static int spool_list_run(struct spool *sp, sqlite3_stmt *mst,
    sqlite3_stmt *rst, int (*cb)(const struct spool_msg_info *, void *),
    void *arg, struct err *err);
static int spool_chunk_read(struct spool *sp, const char *qid, int64_t seq,
    int (*cb)(const char *, size_t, void *), void *arg, size_t *got,
    struct err *err);

int
spool_get(struct spool *sp, const char *qid, struct spool_msg_info **out,
    struct err *err)
{
	struct spool_msg_info *mi;

	*out = NULL;
	mi = xcalloc(1, sizeof(*mi));
	if (spool_msg_read(sp, qid, SPOOL_LOAD_HISTORY, 0, mi, err) == -1) {
		spool_msg_info_free(mi);
		return -1;
	}
	*out = mi;
	return 0;
}

int
spool_msg_read(struct spool *sp, const char *qid, int how, time_t now,
    struct spool_msg_info *mi, struct err *err)
{
	bool opened;
	int ret = -1;

	if (!spool_qid_valid(qid))
		return err_set(err, ERR_PERM, "no message %s in the queue",
		    qid != NULL ? qid : "(null)");
	if (spool_db_read_begin(sp, &opened, err) == -1)
		return -1;
	if (spool_msg_load(sp, qid, mi, err) == -1 ||
	    spool_rcpts_load(sp, mi, (how & SPOOL_LOAD_DUE) != 0, now, err) ==
		-1)
		goto out_end;
	if ((how & SPOOL_LOAD_HISTORY) && spool_hist_load(sp, mi, err) == -1)
		goto out_end;
	ret = 0;
out_end:
	spool_db_read_end(sp, opened);
	return ret;
}

void
spool_msg_info_clear(struct spool_msg_info *mi)
{
	size_t i;

	for (i = 0; i < mi->nrcpts; i++) {
		xfree(mi->rcpts[i].address);
		xfree(mi->rcpts[i].last_reply);
		xfree(mi->rcpts[i].reason);
		xfree(mi->rcpts[i].status);
		xfree(mi->rcpts[i].remote_mta);
		xfree(mi->rcpts[i].orcpt);
	}
	for (i = 0; i < mi->nhist; i++) {
		xfree(mi->hist[i].rcpt);
		xfree(mi->hist[i].reason);
		xfree(mi->hist[i].reply);
		xfree(mi->hist[i].relay);
	}
	xfree(mi->rcpts);
	xfree(mi->hist);
	xfree(mi->sender);
	xfree(mi->reason);
	xfree(mi->reason_text);
	xfree(mi->ret);
	xfree(mi->envid);
	xfree(mi->body_type);
	xfree(mi->notify);
	xfree(mi->lease_owner);
	memset(mi, 0, sizeof(*mi));
}

void
spool_msg_info_free(struct spool_msg_info *mi)
{
	if (mi == NULL)
		return;
	spool_msg_info_clear(mi);
	xfree(mi);
}

void
spool_msg_fill(sqlite3_stmt *st, struct spool_msg_info *mi)
{
	spool_col_copy(st, 0, mi->qid, sizeof(mi->qid));
	mi->created = (time_t)sqlite3_column_int64(st, 1);
	mi->uid = (uid_t)sqlite3_column_int64(st, 2);
	mi->sender = spool_col_str(st, 3);
	if (mi->sender == NULL)
		mi->sender = xstrdup("");
	mi->size = (uint64_t)sqlite3_column_int64(st, 4);
	mi->state = (enum spool_msg_state)sqlite3_column_int(st, 5);
	mi->ret = spool_col_str(st, 6);
	mi->envid = spool_col_str(st, 7);
	mi->body_type = spool_col_str(st, 8);
	mi->notify = spool_col_str(st, 9);
	mi->smtputf8 = sqlite3_column_int(st, 10) != 0;
	mi->attempts = sqlite3_column_int(st, 11);
	mi->next_attempt = (time_t)sqlite3_column_int64(st, 12);
	mi->reason = spool_col_str(st, 13);
	mi->reason_text = spool_col_str(st, 14);
	mi->held = sqlite3_column_int(st, 15) != 0;
	mi->done_at = (time_t)sqlite3_column_int64(st, 16);
	mi->lease_owner = spool_col_str(st, 17);
	mi->lease_expiry = (time_t)sqlite3_column_int64(st, 18);
}

/* spool_rcpt_fill - one recipient row (SPOOL_RCPT_COLS, after r.qid). */
static void
spool_rcpt_fill(sqlite3_stmt *st, struct spool_rcpt_info *ri)
{
	ri->address = spool_col_str(st, 1);
	if (ri->address == NULL)
		ri->address = xstrdup("");
	ri->state = (enum spool_rcpt_state)sqlite3_column_int(st, 2);
	ri->attempts = sqlite3_column_int(st, 3);
	ri->next_attempt = (time_t)sqlite3_column_int64(st, 4);
	ri->last_reply = spool_col_str(st, 5);
	ri->reason = spool_col_str(st, 6);
	ri->status = spool_col_str(st, 7);
	ri->remote_mta = spool_col_str(st, 8);
	ri->last_attempt = (time_t)sqlite3_column_int64(st, 9);
	ri->orcpt = spool_col_str(st, 10);
	ri->reported = sqlite3_column_int(st, 11) != 0;
}

/* spool_rcpt_add - append the current row of st to mi->rcpts. */
static void
spool_rcpt_add(sqlite3_stmt *st, struct spool_msg_info *mi)
{
	mi->rcpts =
	    xreallocarray(mi->rcpts, mi->nrcpts + 1, sizeof(*mi->rcpts));
	memset(&mi->rcpts[mi->nrcpts], 0, sizeof(mi->rcpts[0]));
	spool_rcpt_fill(st, &mi->rcpts[mi->nrcpts]);
	mi->nrcpts++;
}

/* spool_msg_load - the envelope row; ERR_PERM when there is none. */
static int
spool_msg_load(struct spool *sp, const char *qid, struct spool_msg_info *mi,
    struct err *err)
{
	static const char sql[] =
	    "SELECT " SPOOL_MSG_COLS " FROM messages m WHERE m.qid = ?1";
	sqlite3_stmt *st;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		spool_msg_fill(st, mi);
	else if (rc == SQLITE_DONE)
		(void)err_set(err, ERR_PERM, "no message %s in the queue", qid);
	else
		(void)spool_db_err(sp, rc, "reading a message", err);
	spool_db_done(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* spool_rcpts_load - mi's recipients in order; with due_only only those
 * to try at now (pending, or deferred and due). */
static int
spool_rcpts_load(struct spool *sp, struct spool_msg_info *mi, bool due_only,
    time_t now, struct err *err)
{
	static const char sql[] =
	    "SELECT " SPOOL_RCPT_COLS " FROM recipients r WHERE r.qid = ?1"
	    " AND (?2 = 0 OR r.state = 0 OR (r.state = 2 AND"
	    " r.next_attempt <= ?3)) ORDER BY r.idx";
	sqlite3_stmt *st;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, mi->qid, SQLITE_OK);
	rc = spool_bind_int(st, 2, due_only ? 1 : 0, rc);
	rc = spool_bind_int(st, 3, (int64_t)now, rc);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		spool_rcpt_add(st, mi);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		(void)spool_db_err(sp, rc, "reading recipients", err);
	spool_db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* spool_hist_load - the attempt history, oldest first. */
static int
spool_hist_load(struct spool *sp, struct spool_msg_info *mi, struct err *err)
{
	static const char sql[] =
	    "SELECT at, rcpt, reason, reply, relay FROM attempts"
	    " WHERE qid = ?1 ORDER BY id";
	struct spool_attempt *a;
	sqlite3_stmt *st;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, mi->qid, SQLITE_OK);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		mi->hist =
		    xreallocarray(mi->hist, mi->nhist + 1, sizeof(*mi->hist));
		a = &mi->hist[mi->nhist++];
		a->at = (time_t)sqlite3_column_int64(st, 0);
		a->rcpt = spool_col_str(st, 1);
		a->reason = spool_col_str(st, 2);
		a->reply = spool_col_str(st, 3);
		a->relay = spool_col_str(st, 4);
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		(void)spool_db_err(sp, rc, "reading the attempt history", err);
	spool_db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* spool_filter_sql - numbers only, formatted from our own struct, so no
 * quoting issue. */
int
spool_filter_sql(const struct spool_filter *f, bool done_rule, struct buf *b)
{
	int rc = buf_puts(b, " WHERE 1");

	if (rc == 0 && !f->all_users)
		rc = buf_appendf(b, " AND m.uid = %lu", (unsigned long)f->uid);
	if (rc == 0 && f->state >= 0)
		rc = buf_appendf(b, " AND m.state = %d", f->state);
	else if (rc == 0 && done_rule && !f->include_done)
		rc = buf_appendf(b, " AND m.state < %d", SPOOL_ST_SENT);
	return rc;
}

int
spool_prepare_dyn(
    struct spool *sp, const char *sql, sqlite3_stmt **st, struct err *err)
{
	int rc = sqlite3_prepare_v2(sp->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK) {
		*st = NULL;
		return spool_db_err(sp, rc, "preparing a query", err);
	}
	return 0;
}

int
spool_list(struct spool *sp, const struct spool_filter *f,
    int (*cb)(const struct spool_msg_info *mi, void *arg), void *arg,
    struct err *err)
{
	sqlite3_stmt *mst = NULL, *rst = NULL;
	struct buf mq, rq;
	bool opened = false;
	int ret = -1;

	buf_init(&mq, 4096);
	buf_init(&rq, 4096);
	if (buf_puts(&mq, "SELECT " SPOOL_MSG_COLS " FROM messages m") == -1 ||
	    spool_filter_sql(f, true, &mq) == -1 ||
	    buf_puts(&mq, " ORDER BY m.qid") == -1 ||
	    buf_puts(&rq,
		"SELECT " SPOOL_RCPT_COLS " FROM recipients r"
		" JOIN messages m ON m.qid = r.qid") == -1 ||
	    spool_filter_sql(f, true, &rq) == -1 ||
	    buf_puts(&rq, " ORDER BY m.qid, r.idx") == -1) {
		(void)err_set(err, ERR_INTERNAL, "spool_list: query too long");
		goto out_free;
	}
	if (spool_prepare_dyn(sp, mq.data, &mst, err) == -1 ||
	    spool_prepare_dyn(sp, rq.data, &rst, err) == -1)
		goto out_free;
	if (spool_db_read_begin(sp, &opened, err) == -1)
		goto out_free;
	ret = spool_list_run(sp, mst, rst, cb, arg, err);
	spool_db_read_end(sp, opened);
out_free:
	(void)sqlite3_finalize(mst);
	(void)sqlite3_finalize(rst);
	buf_free(&mq);
	buf_free(&rq);
	return ret;
}

/* spool_list_run - walk messages and recipients (both in qid order) side
 * by side, handing each message with its recipients to cb. */
static int
spool_list_run(struct spool *sp, sqlite3_stmt *mst, sqlite3_stmt *rst,
    int (*cb)(const struct spool_msg_info *, void *), void *arg,
    struct err *err)
{
	struct spool_msg_info mi;
	const char *rq;
	int mrc, rrc, stop = 0;

	memset(&mi, 0, sizeof(mi));
	rrc = sqlite3_step(rst);
	while (stop == 0 && (mrc = sqlite3_step(mst)) == SQLITE_ROW) {
		spool_msg_fill(mst, &mi);
		while (rrc == SQLITE_ROW) {
			rq = (const char *)sqlite3_column_text(rst, 0);
			if (rq == NULL || strcmp(rq, mi.qid) > 0)
				break;
			if (strcmp(rq, mi.qid) == 0)
				spool_rcpt_add(rst, &mi);
			rrc = sqlite3_step(rst);
		}
		stop = cb(&mi, arg);
		spool_msg_info_clear(&mi);
	}
	if (stop == 0 && mrc != SQLITE_DONE)
		return spool_db_err(sp, mrc, "listing messages", err);
	if (rrc != SQLITE_ROW && rrc != SQLITE_DONE)
		return spool_db_err(sp, rrc, "listing recipients", err);
	return 0;
}

int
spool_count(struct spool *sp, const struct spool_filter *f,
    struct spool_counts *out, struct err *err)
{
	sqlite3_stmt *st = NULL;
	struct buf q;
	int rc, ret = -1;
	int64_t oldest;
	unsigned s;

	memset(out, 0, sizeof(*out));
	buf_init(&q, 1024);
	if (buf_puts(&q,
		"SELECT m.state, count(*), sum(m.size),"
		" min(m.created) FROM messages m") == -1 ||
	    spool_filter_sql(f, false, &q) == -1 ||
	    buf_puts(&q, " GROUP BY m.state") == -1) {
		(void)err_set(err, ERR_INTERNAL, "spool_count: query too long");
		goto out_free;
	}
	if (spool_prepare_dyn(sp, q.data, &st, err) == -1)
		goto out_free;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		s = (unsigned)sqlite3_column_int(st, 0);
		if (s > SPOOL_ST_FAILED)
			continue;
		out->n[s] = (uint64_t)sqlite3_column_int64(st, 1);
		if (s >= SPOOL_ST_SENT)
			continue;
		out->active += out->n[s];
		out->active_bytes += (uint64_t)sqlite3_column_int64(st, 2);
		oldest = sqlite3_column_int64(st, 3);
		if (out->oldest_active == 0 || oldest < out->oldest_active)
			out->oldest_active = (time_t)oldest;
	}
	if (rc != SQLITE_DONE) {
		(void)spool_db_err(sp, rc, "counting messages", err);
		goto out_free;
	}
	ret = 0;
out_free:
	(void)sqlite3_finalize(st);
	buf_free(&q);
	return ret;
}

int
spool_body_read(struct spool *sp, const char *qid,
    int (*cb)(const char *p, size_t n, void *arg), void *arg, struct err *err)
{
	static const char sql[] = "SELECT size FROM messages WHERE qid = ?1";
	sqlite3_stmt *st;
	uint64_t size;
	int rc;

	if (!spool_qid_valid(qid))
		return err_set(err, ERR_PERM, "no message %s in the queue",
		    qid != NULL ? qid : "(null)");
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	size = rc == SQLITE_ROW ? (uint64_t)sqlite3_column_int64(st, 0) : 0;
	if (rc == SQLITE_DONE)
		(void)err_set(err, ERR_PERM, "no message %s in the queue", qid);
	else if (rc != SQLITE_ROW)
		(void)spool_db_err(sp, rc, "reading a message", err);
	spool_db_done(st);
	if (rc != SQLITE_ROW)
		return -1;
	return spool_body_read_sized(sp, qid, size, cb, arg, err);
}

int
spool_body_read_sized(struct spool *sp, const char *qid, uint64_t size,
    int (*cb)(const char *p, size_t n, void *arg), void *arg, struct err *err)
{
	uint64_t total = 0;
	size_t got;
	int64_t seq;
	int rc;

	for (seq = 0; total < size; seq++) {
		rc = spool_chunk_read(sp, qid, seq, cb, arg, &got, err);
		if (rc != 0)
			return rc < 0 ? -1 : 0;
		total += got;
	}
	if (total != size)
		return err_set(err, ERR_CONFIG,
		    "spool database %s: message %s has %" PRIu64
		    " bytes of body, %" PRIu64 " expected (damaged spool)",
		    sp->path, qid, total, size);
	return 0;
}

/* spool_chunk_read - hand chunk seq to cb; 0 go on, 1 cb stopped, -1. */
static int
spool_chunk_read(struct spool *sp, const char *qid, int64_t seq,
    int (*cb)(const char *, size_t, void *), void *arg, size_t *got,
    struct err *err)
{
	static const char sql[] =
	    "SELECT data FROM chunks WHERE qid = ?1 AND seq = ?2";
	sqlite3_stmt *st;
	int rc, ret = -1;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, qid, SQLITE_OK);
	rc = spool_bind_int(st, 2, seq, rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		*got = (size_t)sqlite3_column_bytes(st, 0);
		ret =
		    cb((const char *)sqlite3_column_blob(st, 0), *got, arg) == 0
		    ? 0
		    : 1;
	} else if (rc == SQLITE_DONE) {
		(void)err_set(err, ERR_TEMP,
		    "message %s was removed from the queue while it was read",
		    qid);
	} else {
		(void)spool_db_err(sp, rc, "reading a message body", err);
	}
	spool_db_done(st);
	return ret;
}
