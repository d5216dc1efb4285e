/*
 * spool.c - open and close the SQLite spool, map SQLite results to struct
 * err, and the transaction and statement helpers the other spool files
 * share (spool_int.h).
 *
 * Place in the flow: relayd is the only writer of queue.db; relayctl may
 * open it read-only while relayd is down.  Everything durable in relay
 * lives in this one file.
 *
 * On-disk format (see spool/schema.sql for the tables): a SQLite database
 * in WAL mode with synchronous=FULL, so a COMMIT is on disk when it
 * returns; PRAGMA application_id 0x52454c59 ("RELY") marks it as ours and
 * PRAGMA user_version is the schema version (SPOOL_SCHEMA_VERSION;
 * spool_migrate.c lists the steps from every older version).  Bodies are
 * chunks of at most SPOOL_CHUNK_SIZE bytes in canonical CRLF form.
 *
 * The -wal and -shm files stay after the last close (persistent WAL), so
 * root or group relay can read the spool with SPOOL_READONLY while relayd
 * is down even without write access to spool_dir.
 *
 * Invariants: a struct spool has at most one caller transaction open
 * (in_tx); cached statements are reset after every use, so no read
 * snapshot outlives the call that took it (long snapshots would stop WAL
 * checkpoints).
 *
 * Errors: SQLITE_CORRUPT/NOTADB are ERR_CONFIG ("is corrupt" with the fix);
 * full disk, I/O, locks, read-only and open failures are ERR_TEMP; SQL the
 * spool got wrong is ERR_INTERNAL; out of memory is fatal as with xmalloc.
 *
 * Security: the database is private to relayd's user; nothing here trusts
 * its contents as format strings.  secure_delete is off (deleted mail may
 * stay in free pages until they are reused): the file's mode protects it.
 */
#include "config.h"

#include <errno.h>
#include <libgen.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "spool/spool_int.h"

static int spool_check_path(const char *path, int flags, struct err *err);
static int spool_pragmas(struct spool *sp, struct err *err);
static int spool_pragma_text(
    struct spool *sp, const char *sql, char *out, size_t size, struct err *err);
static int spool_quick_check(struct spool *sp, struct err *err);
static const char *spool_sys_reason(int sys);
static int spool_busy(void *arg, int count);

static const char *const msg_state_names[] = { "queued", "deferred", "held",
	"sending", "sent", "failed" };
static const char *const rcpt_state_names[] = { "pending", "sent", "deferred",
	"failed" };

struct spool *
spool_open(const char *dbpath, int flags, struct err *err)
{
	struct spool *sp;
	int oflags, rc;

	if (spool_check_path(dbpath, flags, err) == -1)
		return NULL;
	sp = xcalloc(1, sizeof(*sp));
	sp->path = xstrdup(dbpath);
	sp->readonly = (flags & SPOOL_READONLY) != 0;
	if (sp->readonly)
		oflags = SQLITE_OPEN_READONLY;
	else
		oflags = SQLITE_OPEN_READWRITE |
		    ((flags & SPOOL_CREATE) ? SQLITE_OPEN_CREATE : 0);
	rc = sqlite3_open_v2(
	    dbpath, &sp->db, oflags | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK) {
		(void)spool_db_err(sp, rc, "opening", err);
		goto out_close;
	}
	(void)sqlite3_extended_result_codes(sp->db, 1);
	spool_set_busy_timeout(sp, SPOOL_BUSY_MS);
	if (spool_pragmas(sp, err) == -1)
		goto out_close;
	if (spool_schema_setup(sp, flags, err) == -1)
		goto out_close;
	/* after the schema work, which stays fully synchronous */
	if ((flags & SPOOL_RELAXED_SYNC) && !sp->readonly &&
	    spool_db_exec(
		sp, "PRAGMA synchronous = NORMAL", "setting up", err) == -1)
		goto out_close;
	if ((flags & SPOOL_CHECK) && spool_quick_check(sp, err) == -1)
		goto out_close;
	return sp;

out_close:
	spool_close(sp);
	return NULL;
}

void
spool_close(struct spool *sp)
{
	size_t i;

	if (sp == NULL)
		return;
	if (sp->in_tx)
		spool_rollback(sp);
	for (i = 0; i < sp->nstmts; i++)
		(void)sqlite3_finalize(sp->stmts[i].st);
	/* close_v2 cannot fail once every statement is finalized; a
	 * failure would only mean a leak, never lost data (all committed). */
	if (sqlite3_close_v2(sp->db) != SQLITE_OK)
		log_warnx("spool database %s: close: %s", sp->path,
		    sqlite3_errmsg(sp->db));
	xfree(sp->chunk);
	xfree(sp->path);
	xfree(sp);
}

/* spool_busy - SQLite's busy handler: another process holds the write
 * lock.  The writers' transactions last well under a millisecond, so the
 * waits start at 50 us and double up to 5 ms (SQLite's own handler
 * starts at 1 ms, longer than most locks are held), until busy_ms have
 * passed. */
static int
spool_busy(void *arg, int count)
{
	struct spool *sp = arg;
	struct timespec ts;
	long long now, wait;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	now = (long long)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
	if (count == 0)
		sp->busy_since = now;
	if (now - sp->busy_since >= (long long)sp->busy_ms * 1000)
		return 0;
	wait = 50LL << (count < 7 ? count : 7);
	if (wait > 5000)
		wait = 5000;
	ts.tv_sec = 0;
	ts.tv_nsec = (long)(wait * 1000);
	(void)nanosleep(&ts, NULL);
	return 1;
}

void
spool_set_busy_timeout(struct spool *sp, int ms)
{
	sp->busy_ms = ms;
	(void)sqlite3_busy_handler(sp->db, ms > 0 ? spool_busy : NULL, sp);
}

const char *
spool_path(const struct spool *sp)
{
	return sp->path;
}

/* spool_check_path - give missing or unusable directories and files a
 * clear one-line reason before SQLite reports "unable to open". */
static int
spool_check_path(const char *path, int flags, struct err *err)
{
	char *copy = xstrdup(path);
	const char *dir = dirname(copy);
	struct stat st;
	int ret = -1;

	if (stat(dir, &st) == -1) {
		if (errno == ENOENT)
			(void)err_set(err, ERR_TEMP,
			    "spool directory %s does not exist (create it, "
			    "owned by relayd's user, or fix spool_dir)",
			    dir);
		else
			(void)err_sys(err, ERR_TEMP,
			    "spool directory %s is not accessible", dir);
		goto out_free;
	}
	if (!S_ISDIR(st.st_mode)) {
		(void)err_set(err, ERR_TEMP,
		    "spool directory %s is not a directory", dir);
		goto out_free;
	}
	if (stat(path, &st) == -1) {
		if (errno != ENOENT || !(flags & SPOOL_CREATE) ||
		    (flags & SPOOL_READONLY)) {
			(void)err_sys(err, ERR_TEMP,
			    "spool database %s cannot be opened%s", path,
			    errno == ENOENT ? " (relayd creates it when it "
					      "starts)"
					    : "");
			goto out_free;
		}
		if (access(dir, W_OK) == -1) {
			(void)err_sys(err, ERR_TEMP,
			    "spool directory %s is not writable (it must "
			    "belong to relayd's user)",
			    dir);
			goto out_free;
		}
	}
	ret = 0;
out_free:
	xfree(copy);
	return ret;
}

/* The page size of a new spool (tests/bench/submit measures it). */
#ifndef SPOOL_PAGE_SIZE_SQL
#define SPOOL_PAGE_SIZE_SQL "2048"
#endif

/* spool_pragmas - connection settings; see spool_open's contract. */
static int
spool_pragmas(struct spool *sp, struct err *err)
{
	char mode[32];
	int persist = 1;

	if (sp->readonly)
		return spool_db_exec(sp,
		    "PRAGMA query_only = ON; PRAGMA trusted_schema = OFF",
		    "setting up", err);
	if (sqlite3_db_readonly(sp->db, "main") == 1)
		return err_set(err, ERR_TEMP,
		    "spool database %s is read-only (it and its directory "
		    "must be writable by relayd's user)",
		    sp->path);
	/* keep -wal and -shm after close, so readers without write access
	 * to the directory (relayctl while relayd is down) can open it */
	if (sqlite3_file_control(sp->db, "main", SQLITE_FCNTL_PERSIST_WAL,
		&persist) != SQLITE_OK)
		log_warnx("spool database %s: cannot keep the WAL file; "
			  "read-only opens may fail while relayd is down",
		    sp->path);
	/* A new spool gets small pages: every commit writes each page it
	 * touches to the WAL and syncs it, and a submission touches about
	 * ten (row, indexes, recipient, chunk, counters), so smaller pages
	 * make the one fdatasync a submission waits for shorter.  A no-op
	 * for an existing file, whose page size is fixed. */
	if (spool_db_exec(sp, "PRAGMA page_size = " SPOOL_PAGE_SIZE_SQL,
		"setting up", err) == -1)
		return -1;
	if (spool_pragma_text(
		sp, "PRAGMA journal_mode = WAL", mode, sizeof(mode), err) == -1)
		return -1;
	if (strcmp(mode, "wal") != 0)
		return err_set(err, ERR_TEMP,
		    "spool database %s cannot use WAL mode (journal mode %s; "
		    "is the file system read-only or remote?)",
		    sp->path, mode);
	return spool_db_exec(sp,
	    "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON;"
	    "PRAGMA secure_delete = OFF; PRAGMA trusted_schema = OFF;"
	    "PRAGMA journal_size_limit = 16777216",
	    "setting up", err);
}

/* spool_pragma_text - run a pragma and copy its first result column. */
static int
spool_pragma_text(
    struct spool *sp, const char *sql, char *out, size_t size, struct err *err)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(sp->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return spool_db_err(sp, rc, "setting up", err);
	/* these pragmas always return one row */
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		spool_col_copy(st, 0, out, size);
	else
		(void)spool_db_err(sp, rc, "setting up", err);
	(void)sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* spool_quick_check - PRAGMA quick_check; anything but "ok" is corrupt. */
static int
spool_quick_check(struct spool *sp, struct err *err)
{
	char res[160];

	if (spool_pragma_text(
		sp, "PRAGMA quick_check(1)", res, sizeof(res), err) == -1)
		return -1;
	if (strcmp(res, "ok") == 0)
		return 0;
	return err_set(err, ERR_CONFIG,
	    "spool database %s is corrupt (%s); stop relayd, move the file "
	    "aside and recover it with sqlite3 .recover",
	    sp->path, res);
}

/* --- errors -------------------------------------------------------------- */

static const char *
spool_sys_reason(int sys)
{
	return sys != 0 ? strerror(sys) : "no system error";
}

int
spool_db_err(struct spool *sp, int rc, const char *what, struct err *err)
{
	const char *detail = sqlite3_errstr(rc);
	int sys = 0;

	if (sp->db != NULL) {
		detail = sqlite3_errmsg(sp->db);
		sys = sqlite3_system_errno(sp->db);
	}
	switch (rc & 0xff) {
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		(void)err_set(err, ERR_CONFIG,
		    "spool database %s is corrupt (%s while %s); stop relayd, "
		    "move the file aside and recover it with sqlite3 .recover",
		    sp->path, detail, what);
		break;
	case SQLITE_FULL:
		(void)err_set(err, ERR_TEMP,
		    "spool database %s: disk full while %s", sp->path, what);
		break;
	case SQLITE_IOERR:
		(void)err_set(err, ERR_TEMP,
		    "spool database %s: %s while %s (%s)", sp->path,
		    err_errno_is_full(sys) ? "disk full" : "I/O error", what,
		    spool_sys_reason(sys));
		break;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_PROTOCOL:
		(void)err_set(err, ERR_TEMP,
		    "spool database %s is locked by another process (while %s)",
		    sp->path, what);
		break;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		(void)err_set(err, ERR_TEMP,
		    "spool database %s is not writable while %s (%s); it and "
		    "its directory must belong to relayd's user",
		    sp->path, what, detail);
		break;
	case SQLITE_CANTOPEN:
		(void)err_set(err, ERR_TEMP,
		    "spool database %s cannot be opened while %s (%s)",
		    sp->path, what, spool_sys_reason(sys));
		break;
	case SQLITE_NOMEM:
		log_fatalx("spool database %s: out of memory while %s",
		    sp->path, what);
	default:
		(void)err_set(err, ERR_INTERNAL,
		    "spool database %s: %s failed: %s", sp->path, what, detail);
		break;
	}
	if (err != NULL)
		err->sys_errno = sys;
	return -1;
}

/* --- statements ---------------------------------------------------------- */

sqlite3_stmt *
spool_db_prep(struct spool *sp, const char *sql, struct err *err)
{
	sqlite3_stmt *st;
	size_t i;
	int rc;

	for (i = 0; i < sp->nstmts; i++)
		if (sp->stmts[i].sql == sql)
			return sp->stmts[i].st;
	rc = sqlite3_prepare_v3(
	    sp->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &st, NULL);
	if (rc != SQLITE_OK) {
		(void)spool_db_err(sp, rc, "preparing a query", err);
		return NULL;
	}
	if (sp->nstmts == SPOOL_NSTMT)
		log_panic("spool: statement cache full (raise SPOOL_NSTMT)");
	sp->stmts[sp->nstmts].sql = sql;
	sp->stmts[sp->nstmts].st = st;
	sp->nstmts++;
	return st;
}

void
spool_db_done(sqlite3_stmt *st)
{
	/* reset repeats the last step's error, already reported */
	(void)sqlite3_reset(st);
	(void)sqlite3_clear_bindings(st);
}

/* The transaction statements, run thousands of times a second by a busy
 * worker: kept prepared (spool_db_exec_kept) instead of parsed each time
 * by sqlite3_exec. */
static const char spool_sql_begin_write[] = "BEGIN IMMEDIATE";
static const char spool_sql_begin_read[] = "BEGIN";
static const char spool_sql_commit[] = "COMMIT";
static const char spool_sql_savepoint[] = "SAVEPOINT spool_inner";
static const char spool_sql_release[] = "RELEASE spool_inner";

/* spool_db_exec_kept - run sql, one statement in a static string, kept
 * prepared in the statement cache. */
static int
spool_db_exec_kept(
    struct spool *sp, const char *sql, const char *what, struct err *err)
{
	sqlite3_stmt *st = spool_db_prep(sp, sql, err);

	if (st == NULL)
		return -1;
	return spool_db_step_done(sp, st, what, err);
}

int
spool_db_exec(
    struct spool *sp, const char *sql, const char *what, struct err *err)
{
	int rc = sqlite3_exec(sp->db, sql, NULL, NULL, NULL);

	if (rc != SQLITE_OK)
		return spool_db_err(sp, rc, what, err);
	return 0;
}

int
spool_db_step_done(
    struct spool *sp, sqlite3_stmt *st, const char *what, struct err *err)
{
	return spool_db_run(sp, st, SQLITE_OK, what, err);
}

int
spool_db_run(struct spool *sp, sqlite3_stmt *st, int bind_rc, const char *what,
    struct err *err)
{
	int rc = bind_rc == SQLITE_OK ? sqlite3_step(st) : bind_rc;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
		(void)spool_db_err(sp, rc, what, err);
		spool_db_done(st);
		return -1;
	}
	spool_db_done(st);
	return 0;
}

int
spool_bind_text(sqlite3_stmt *st, int i, const char *s, int rc)
{
	if (rc != SQLITE_OK)
		return rc;
	if (s == NULL)
		return sqlite3_bind_null(st, i);
	return sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
}

int
spool_bind_int(sqlite3_stmt *st, int i, int64_t v, int rc)
{
	if (rc != SQLITE_OK)
		return rc;
	return sqlite3_bind_int64(st, i, (sqlite3_int64)v);
}

char *
spool_col_str(sqlite3_stmt *st, int i)
{
	const unsigned char *p = sqlite3_column_text(st, i);

	if (p == NULL)
		return NULL;
	return xstrndup((const char *)p, (size_t)sqlite3_column_bytes(st, i));
}

void
spool_col_copy(sqlite3_stmt *st, int i, char *dst, size_t size)
{
	const unsigned char *p = sqlite3_column_text(st, i);

	/* truncation of a stored value is acceptable for display fields */
	(void)str_copy(dst, size, p != NULL ? (const char *)p : "");
}

/* --- transactions -------------------------------------------------------- */

int
spool_db_tx_enter(struct spool *sp, struct spool_tx *tx, struct err *err)
{
	if (sp->readonly)
		return err_set(err, ERR_INTERNAL,
		    "spool database %s is open read-only (this needs relayd)",
		    sp->path);
	if (sp->tx_lost)
		return err_set(err, ERR_TEMP, "%s", sp->tx_lost_msg);
	tx->outer = !sp->in_tx;
	return spool_db_exec_kept(sp,
	    tx->outer ? spool_sql_begin_write : spool_sql_savepoint,
	    "starting a transaction", err);
}

int
spool_db_tx_leave(struct spool *sp, struct spool_tx *tx, struct err *err)
{
	struct err why;

	if (spool_db_exec_kept(sp,
		tx->outer ? spool_sql_commit : spool_sql_release, "committing",
		&why) == 0)
		return 0;
	spool_db_tx_abort(sp, tx, &why);
	if (err != NULL)
		*err = why;
	return -1;
}

void
spool_db_tx_abort(struct spool *sp, struct spool_tx *tx, const struct err *why)
{
	if (sqlite3_get_autocommit(sp->db)) {
		/* SQLite already rolled everything back (full disk, I/O) */
		if (!tx->outer && sp->in_tx) {
			sp->in_tx = false;
			sp->tx_lost = true;
			(void)str_copy(sp->tx_lost_msg, sizeof(sp->tx_lost_msg),
			    why != NULL ? why->msg : "transaction lost");
		}
		return;
	}
	if (tx->outer)
		(void)sqlite3_exec(sp->db, "ROLLBACK", NULL, NULL, NULL);
	else
		(void)sqlite3_exec(sp->db,
		    "ROLLBACK TO spool_inner; RELEASE spool_inner", NULL, NULL,
		    NULL);
}

int
spool_db_read_begin(struct spool *sp, bool *opened, struct err *err)
{
	*opened = false;
	if (sp->in_tx || !sqlite3_get_autocommit(sp->db))
		return 0;
	if (spool_db_exec_kept(sp, spool_sql_begin_read, "reading", err) == -1)
		return -1;
	*opened = true;
	return 0;
}

void
spool_db_read_end(struct spool *sp, bool opened)
{
	struct err ignored;

	/* ending a read-only transaction cannot lose data */
	if (opened)
		(void)spool_db_exec_kept(
		    sp, spool_sql_commit, "reading", &ignored);
}

int
spool_begin(struct spool *sp, struct err *err)
{
	if (sp->in_tx)
		return err_set(
		    err, ERR_INTERNAL, "spool_begin inside a transaction");
	sp->tx_lost = false;
	if (sp->readonly)
		return err_set(err, ERR_INTERNAL,
		    "spool database %s is open read-only (this needs relayd)",
		    sp->path);
	if (spool_db_exec_kept(
		sp, spool_sql_begin_write, "starting a transaction", err) == -1)
		return -1;
	sp->in_tx = true;
	return 0;
}

int
spool_commit(struct spool *sp, struct err *err)
{
	if (!sp->in_tx) {
		if (!sp->tx_lost)
			return err_set(err, ERR_INTERNAL,
			    "spool_commit without spool_begin");
		sp->tx_lost = false;
		return err_set(err, ERR_TEMP, "%s", sp->tx_lost_msg);
	}
	if (spool_db_exec_kept(sp, spool_sql_commit, "committing", err) == -1) {
		if (!sqlite3_get_autocommit(sp->db))
			(void)sqlite3_exec(
			    sp->db, "ROLLBACK", NULL, NULL, NULL);
		sp->in_tx = false;
		return -1;
	}
	sp->in_tx = false;
	return 0;
}

void
spool_rollback(struct spool *sp)
{
	if (sp->in_tx && !sqlite3_get_autocommit(sp->db))
		(void)sqlite3_exec(sp->db, "ROLLBACK", NULL, NULL, NULL);
	sp->in_tx = false;
	sp->tx_lost = false;
}

/* --- names --------------------------------------------------------------- */

const char *
spool_msg_state_name(enum spool_msg_state st)
{
	if ((size_t)st < sizeof(msg_state_names) / sizeof(msg_state_names[0]))
		return msg_state_names[st];
	return "unknown";
}

const char *
spool_rcpt_state_name(enum spool_rcpt_state st)
{
	if ((size_t)st < sizeof(rcpt_state_names) / sizeof(rcpt_state_names[0]))
		return rcpt_state_names[st];
	return "unknown";
}

int
spool_msg_state_parse(const char *name, enum spool_msg_state *out)
{
	size_t i;

	for (i = 0; i < sizeof(msg_state_names) / sizeof(msg_state_names[0]);
	     i++) {
		if (strcmp(name, msg_state_names[i]) == 0) {
			*out = (enum spool_msg_state)i;
			return 0;
		}
	}
	return -1;
}
