/*
 * spool_int.h - what the spool's own files share: the struct spool, the
 * statement cache, SQLite error mapping and transaction helpers.  Not for
 * use outside src/spool.
 *
 * Transactions: spool_begin() opens a caller transaction (BEGIN IMMEDIATE);
 * every writing function runs inside spool_db_tx_enter/leave, which is its
 * own BEGIN IMMEDIATE .. COMMIT when no caller transaction is open, and a
 * SAVEPOINT inside one, so a failed call undoes only its own work.  When
 * SQLite rolls a caller transaction back by itself (disk full, I/O error),
 * tx_lost is set and spool_commit() reports the first reason.
 */
#ifndef RELAY_SPOOL_INT_H
#define RELAY_SPOOL_INT_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "spool/spool.h"

#define SPOOL_APP_ID 0x52454c59 /* "RELY" */
#define SPOOL_BUSY_MS 5000
#define SPOOL_NSTMT 96
#define SPOOL_WAL_LIMIT (16 * 1024 * 1024)

struct spool_stmt {
	const char *sql; /* identity: the address of a static string */
	sqlite3_stmt *st;
};

struct spool {
	sqlite3 *db;
	char *path;
	bool readonly;
	bool in_tx; /* inside spool_begin .. spool_commit/rollback */
	bool tx_lost; /* SQLite rolled the caller transaction back */
	char tx_lost_msg[256];
	struct spool_stmt stmts[SPOOL_NSTMT];
	size_t nstmts;
	char *chunk; /* SPOOL_CHUNK_SIZE bytes, allocated on first enqueue */
	uint64_t qid_last; /* last queue-id time (microseconds) */
	int busy_ms; /* how long to wait for another writer */
	long long busy_since; /* microseconds, when the current wait began */
};

struct spool_tx {
	bool outer; /* BEGIN IMMEDIATE (true) or SAVEPOINT (false) */
};

/* spool_db_err - fill err for SQLite result rc while doing what ("storing
 * message"); maps the result to a class (see spool.c).  Returns -1. */
int spool_db_err(struct spool *sp, int rc, const char *what, struct err *err);

/* spool_db_prep - the cached prepared statement for sql (a static
 * string), reset and ready to bind.  NULL with err set on failure. */
sqlite3_stmt *spool_db_prep(struct spool *sp, const char *sql, struct err *err);

/* spool_db_done - reset st and clear its bindings (ends its read). */
void spool_db_done(sqlite3_stmt *st);

/* spool_db_exec - run sql that returns no rows we need. */
int spool_db_exec(
    struct spool *sp, const char *sql, const char *what, struct err *err);

/* spool_db_step_done - step st once, expecting SQLITE_DONE; resets it. */
int spool_db_step_done(
    struct spool *sp, sqlite3_stmt *st, const char *what, struct err *err);

/* spool_db_run - like spool_db_step_done, after a chain of spool_bind_*
 * calls whose result is bind_rc: a failed bind is reported (as "what")
 * without stepping.  st is reset either way. */
int spool_db_run(struct spool *sp, sqlite3_stmt *st, int bind_rc,
    const char *what, struct err *err);

/* spool_db_tx_enter / leave / abort - see the header comment.  abort
 * never fails; it keeps err as the caller set it. */
int spool_db_tx_enter(struct spool *sp, struct spool_tx *tx, struct err *err);
int spool_db_tx_leave(struct spool *sp, struct spool_tx *tx, struct err *err);
void spool_db_tx_abort(
    struct spool *sp, struct spool_tx *tx, const struct err *why);

/* spool_db_read_begin / end - a consistent snapshot for several SELECTs
 * (a no-op inside a caller transaction).  end never fails. */
int spool_db_read_begin(struct spool *sp, bool *opened, struct err *err);
void spool_db_read_end(struct spool *sp, bool opened);

/* Binding helpers: each returns rc unchanged when it is not SQLITE_OK,
 * so a run of binds is checked once.  A NULL text binds SQL NULL. */
int spool_bind_text(sqlite3_stmt *st, int i, const char *s, int rc);
int spool_bind_int(sqlite3_stmt *st, int i, int64_t v, int rc);

/* spool_col_str - column i as a new string (xstrdup), NULL for NULL. */
char *spool_col_str(sqlite3_stmt *st, int i);

/* spool_col_copy - column i into a fixed array (truncated, never
 * overflowing); "" for NULL. */
void spool_col_copy(sqlite3_stmt *st, int i, char *dst, size_t size);

/* The message columns spool_msg_fill reads, in its order (alias m). */
#define SPOOL_MSG_COLS \
	"m.qid, m.created, m.uid, m.sender, m.size, m.state, m.ret," \
	" m.envid, m.body_type, m.notify, m.smtputf8, m.attempts," \
	" m.next_attempt, m.reason, m.reason_text, m.held, m.done_at," \
	" m.lease_owner, m.lease_expiry"
/* The recipient columns (alias r); r.qid first. */
#define SPOOL_RCPT_COLS \
	"r.qid, r.address, r.state, r.attempts, r.next_attempt," \
	" r.last_reply, r.reason, r.status, r.remote_mta, r.last_attempt," \
	" r.orcpt, r.reported"

/* spool_msg_fill - mi from the current row of a SPOOL_MSG_COLS query. */
void spool_msg_fill(sqlite3_stmt *st, struct spool_msg_info *mi);

/* spool_msg_info_clear - free what mi holds and zero it (not mi). */
void spool_msg_info_clear(struct spool_msg_info *mi);

enum spool_load_flags {
	SPOOL_LOAD_HISTORY = 1 << 0, /* fill hist */
	SPOOL_LOAD_DUE = 1 << 1, /* only recipients due at now */
};

/* spool_msg_read - one message into mi (zeroed by the caller; cleared by
 * spool_msg_info_clear even on error).  Unknown qid: ERR_PERM. */
int spool_msg_read(struct spool *sp, const char *qid, int how, time_t now,
    struct spool_msg_info *mi, struct err *err);

/* spool_filter_sql - append " WHERE 1 AND ..." for f's uid and state
 * (alias m).  With done_rule, SENT and FAILED are left out unless f asks
 * for them.  -1 if b is too small. */
int spool_filter_sql(
    const struct spool_filter *f, bool done_rule, struct buf *b);

/* spool_prepare_dyn - prepare a one-off statement (not cached). */
int spool_prepare_dyn(
    struct spool *sp, const char *sql, sqlite3_stmt **st, struct err *err);

/* A growing list of queue ids. */
struct spool_qidv {
	char (*v)[SPOOL_QID_SIZE];
	size_t n;
};

/* spool_qidv_collect - step st (prepared and bound; column 0 a qid) to
 * its end, appending to out (up to max ids, 0: no limit); resets st. */
int spool_qidv_collect(struct spool *sp, sqlite3_stmt *st,
    struct spool_qidv *out, size_t max, struct err *err);

/* spool_qidv_free - release the list. */
void spool_qidv_free(struct spool_qidv *q);

/* spool_msg_settle - recompute qid's state from its recipients (see
 * spool.h), clear any lease, add attempts, keep next_attempt >= floor
 * while unfinished.  OUT *out (may be NULL).  ERR_PERM if qid is gone.
 * Must run inside a transaction. */
int spool_msg_settle(struct spool *sp, const char *qid, time_t now,
    time_t floor, int attempts, enum spool_msg_state *out, struct err *err);

/* spool_lease_check - does owner hold qid?  ERR_PERM: no such message;
 * ERR_TEMP: not (any longer) claimed by owner. */
int spool_lease_check(
    struct spool *sp, const char *qid, const char *owner, struct err *err);

/* spool_msg_exists - 0 if qid is in the queue, else ERR_PERM. */
int spool_msg_exists(struct spool *sp, const char *qid, struct err *err);

/* spool_msg_note - set the message's reason and reason_text. */
int spool_msg_note(struct spool *sp, const char *qid, const char *reason,
    const char *text, struct err *err);

/* spool_hist_add - one attempt history row (rcpt may be NULL). */
int spool_hist_add(struct spool *sp, const char *qid, const char *rcpt,
    const struct spool_outcome *o, const char *reason, struct err *err);

/* spool_fail_open - every PENDING or DEFERRED recipient of qid FAILED
 * with o (history rows, counters, the message's reason); OUT *n. */
int spool_fail_open(struct spool *sp, const char *qid,
    const struct spool_outcome *o, size_t *n, struct err *err);

/* spool_event_bump - add n to the counter of ev at now (inside a
 * transaction). */
int spool_event_bump(struct spool *sp, enum spool_event ev, uint64_t n,
    time_t now, struct err *err);

/* spool_qid_next - a new queue id (see spool_qid.c). */
void spool_qid_next(struct spool *sp, char qid[SPOOL_QID_SIZE]);

/* spool_schema_setup - check the version, create or migrate (with
 * SPOOL_CREATE); see spool_migrate.c. */
int spool_schema_setup(struct spool *sp, int flags, struct err *err);

#endif
