/*
 * spool_tls.c - the TLS mode cache rows (table tls_cache).
 *
 * Place in the flow: net/tlsmode asks which mode worked last time for a
 * smarthost host:port ("implicit" or "starttls") and records the mode
 * after a verified, successful session; relayctl tls lists and forgets
 * entries.  Host names compare case-insensitively.
 *
 * Invariant: tls_seen never goes back from 1 to 0 through spool_tls_put
 * (a host once seen with TLS is never used without it); only an explicit
 * spool_tls_forget removes that memory.
 */
#include "config.h"

#include <string.h>

#include "base/str.h"
#include "spool/spool_int.h"

static int spool_tls_check(const struct spool_tls_entry *e, struct err *err);
static void spool_tls_fill(sqlite3_stmt *st, struct spool_tls_entry *e);

int
spool_tls_get(struct spool *sp, const char *host, int port,
    struct spool_tls_entry *out, bool *found, struct err *err)
{
	static const char sql[] =
	    "SELECT host, port, mode, verified_at, tls_seen FROM tls_cache"
	    " WHERE host = ?1 AND port = ?2";
	sqlite3_stmt *st;
	int rc;

	*found = false;
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, host, SQLITE_OK);
	rc = spool_bind_int(st, 2, port, rc);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		spool_tls_fill(st, out);
		*found = true;
	} else if (rc != SQLITE_DONE) {
		(void)spool_db_err(sp, rc, "reading the TLS cache", err);
	}
	spool_db_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
spool_tls_put(
    struct spool *sp, const struct spool_tls_entry *e, struct err *err)
{
	static const char sql[] =
	    "INSERT INTO tls_cache (host, port, mode, verified_at, tls_seen)"
	    " VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT (host, port) DO UPDATE"
	    " SET mode = excluded.mode, verified_at = excluded.verified_at,"
	    " tls_seen = max(tls_seen, excluded.tls_seen)";
	struct spool_tx tx;
	sqlite3_stmt *st;
	int rc;

	if (spool_tls_check(e, err) == -1)
		return -1;
	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		goto out_abort;
	rc = spool_bind_text(st, 1, e->host, SQLITE_OK);
	rc = spool_bind_int(st, 2, e->port, rc);
	rc = spool_bind_text(st, 3, e->mode, rc);
	rc = spool_bind_int(st, 4, (int64_t)e->verified_at, rc);
	rc = spool_bind_int(st, 5, e->tls_seen ? 1 : 0, rc);
	if (spool_db_run(sp, st, rc, "writing the TLS cache", err) == -1)
		goto out_abort;
	return spool_db_tx_leave(sp, &tx, err);

out_abort:
	spool_db_tx_abort(sp, &tx, err);
	return -1;
}

int
spool_tls_forget(struct spool *sp, const char *host, int port, struct err *err)
{
	static const char sql[] =
	    "DELETE FROM tls_cache WHERE host = ?1 AND (?2 = 0 OR port = ?2)";
	struct spool_tx tx;
	sqlite3_stmt *st;
	int rc;

	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		goto out_abort;
	rc = spool_bind_text(st, 1, host, SQLITE_OK);
	rc = spool_bind_int(st, 2, port, rc);
	if (spool_db_run(sp, st, rc, "writing the TLS cache", err) == -1)
		goto out_abort;
	return spool_db_tx_leave(sp, &tx, err);

out_abort:
	spool_db_tx_abort(sp, &tx, err);
	return -1;
}

int
spool_tls_list(struct spool *sp,
    int (*cb)(const struct spool_tls_entry *e, void *arg), void *arg,
    struct err *err)
{
	static const char sql[] =
	    "SELECT host, port, mode, verified_at, tls_seen FROM tls_cache"
	    " ORDER BY host, port";
	struct spool_tls_entry e;
	sqlite3_stmt *st;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		spool_tls_fill(st, &e);
		if (cb(&e, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		(void)spool_db_err(sp, rc, "reading the TLS cache", err);
	spool_db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* spool_tls_check - the entry must fit its columns and the mode names. */
static int
spool_tls_check(const struct spool_tls_entry *e, struct err *err)
{
	if (e->host[0] == '\0' ||
	    memchr(e->host, '\0', sizeof(e->host)) == NULL)
		return err_set(err, ERR_INTERNAL, "spool_tls_put: bad host");
	if (e->port < 1 || e->port > 65535)
		return err_set(
		    err, ERR_INTERNAL, "spool_tls_put: bad port %d", e->port);
	if (strcmp(e->mode, "implicit") != 0 &&
	    strcmp(e->mode, "starttls") != 0)
		return err_set(err, ERR_INTERNAL,
		    "spool_tls_put: mode must be implicit or starttls");
	return 0;
}

/* spool_tls_fill - an entry from a (host, port, mode, verified_at,
 * tls_seen) row. */
static void
spool_tls_fill(sqlite3_stmt *st, struct spool_tls_entry *e)
{
	memset(e, 0, sizeof(*e));
	spool_col_copy(st, 0, e->host, sizeof(e->host));
	e->port = sqlite3_column_int(st, 1);
	spool_col_copy(st, 2, e->mode, sizeof(e->mode));
	e->verified_at = (time_t)sqlite3_column_int64(st, 3);
	e->tls_seen = sqlite3_column_int(st, 4) != 0;
}
