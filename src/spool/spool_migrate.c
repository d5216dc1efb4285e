/*
 * spool_migrate.c - create the spool schema and migrate older versions
 * forward.
 *
 * A new database gets spool/schema.sql (embedded at build time as
 * spool_schema_sql[]), which is always the newest full schema and sets
 * PRAGMA user_version itself.  An older database is brought forward by
 * the ordered steps in spool_steps[]: step "to N" turns version N-1 into
 * version N.  Everything runs in one BEGIN IMMEDIATE transaction, with
 * foreign keys off so a step may rebuild a table (the documented
 * twelve-step ALTER procedure); PRAGMA foreign_key_check must come back
 * empty before the COMMIT.  Two processes opening an old file at once are
 * serialised by the write lock: the second one re-reads the version
 * inside its transaction and finds nothing to do.
 *
 * Refused (ERR_CONFIG): a version newer than SPOOL_SCHEMA_VERSION, a
 * version with no path forward, a file that is not a relay spool (wrong
 * application_id, or tables without a version).
 *
 * Adding a version: append a step here, update schema.sql (new columns at
 * the end of their table, so a migrated table and a new one match) and
 * SPOOL_SCHEMA_VERSION, and extend tests/unit/test_spool_migrate.c.
 */
#include "config.h"

#include <stddef.h>

#include "base/log.h"
#include "base/str.h"
#include "spool/spool_int.h"

extern const char spool_schema_sql[];

struct spool_step {
	int to; /* the version this step produces */
	const char *sql;
};

/* spool_steps - every forward step, in order; ends with {0, NULL}. */
static const struct spool_step spool_steps[] = {
	/* 1 -> 2: delivery and operations (claims, holds, DSN fields,
	 * smarthost health, stats counters) */
	{ 2,
	    "ALTER TABLE messages ADD COLUMN lease_owner TEXT;"
	    "ALTER TABLE messages ADD COLUMN"
	    " lease_expiry INTEGER NOT NULL DEFAULT 0;"
	    "ALTER TABLE messages ADD COLUMN held INTEGER NOT NULL DEFAULT 0;"
	    "ALTER TABLE messages ADD COLUMN done_at INTEGER NOT NULL DEFAULT "
	    "0;"
	    "UPDATE messages SET held = 1 WHERE state = 2;"
	    "UPDATE messages SET done_at = created WHERE state IN (4, 5);"
	    /* version 1 had no claims: a SENDING row is a leftover */
	    "UPDATE messages SET state = CASE WHEN EXISTS (SELECT 1 FROM"
	    " recipients r WHERE r.qid = messages.qid AND r.state = 0)"
	    " THEN 0 ELSE 1 END WHERE state = 3;"
	    "ALTER TABLE recipients ADD COLUMN status TEXT;"
	    "ALTER TABLE recipients ADD COLUMN remote_mta TEXT;"
	    "ALTER TABLE recipients ADD COLUMN"
	    " last_attempt INTEGER NOT NULL DEFAULT 0;"
	    "ALTER TABLE recipients ADD COLUMN orcpt TEXT;"
	    "ALTER TABLE recipients ADD COLUMN"
	    " reported INTEGER NOT NULL DEFAULT 0;"
	    "CREATE INDEX recipients_unreported ON recipients (qid)"
	    " WHERE state = 3 AND reported = 0;"
	    "CREATE TABLE smarthost_health ("
	    " name TEXT PRIMARY KEY NOT NULL,"
	    " state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 2),"
	    " failures INTEGER NOT NULL DEFAULT 0,"
	    " next_try INTEGER NOT NULL DEFAULT 0,"
	    " since INTEGER NOT NULL DEFAULT 0,"
	    " last_ok INTEGER NOT NULL DEFAULT 0,"
	    " last_reason TEXT, last_text TEXT) WITHOUT ROWID;"
	    "CREATE TABLE counters ("
	    " minute INTEGER NOT NULL, event INTEGER NOT NULL,"
	    " n INTEGER NOT NULL DEFAULT 0,"
	    " PRIMARY KEY (minute, event)) WITHOUT ROWID;" },
	{ 0, NULL },
};

struct spool_version {
	int version;
	long long app_id;
	long long ntables;
};

static int spool_version_read(
    struct spool *sp, struct spool_version *v, struct err *err);
static int spool_version_refuse(
    struct spool *sp, const struct spool_version *v, struct err *err);
static int spool_schema_upgrade(struct spool *sp, struct err *err);
static int spool_schema_apply(struct spool *sp, int from, struct err *err);
static int spool_fk_check(struct spool *sp, struct err *err);
static bool spool_version_known(int v);

int
spool_schema_setup(struct spool *sp, int flags, struct err *err)
{
	struct spool_version v;

	if (spool_version_read(sp, &v, err) == -1)
		return -1;
	if (v.version == SPOOL_SCHEMA_VERSION && v.app_id == SPOOL_APP_ID)
		return 0;
	if (spool_version_refuse(sp, &v, err) == -1)
		return -1;
	if (v.version == 0 && (sp->readonly || !(flags & SPOOL_CREATE)))
		return err_set(err, ERR_TEMP,
		    "spool database %s is empty (relayd creates its tables "
		    "when it starts)",
		    sp->path);
	if (sp->readonly || !(flags & SPOOL_CREATE))
		return err_set(err, ERR_CONFIG,
		    "spool database %s has schema version %d and this relay "
		    "uses version %d; start relayd once to upgrade it",
		    sp->path, v.version, SPOOL_SCHEMA_VERSION);
	return spool_schema_upgrade(sp, err);
}

/* spool_version_read - user_version, application_id, number of tables. */
static int
spool_version_read(struct spool *sp, struct spool_version *v, struct err *err)
{
	static const char sql[] =
	    "SELECT (SELECT user_version FROM pragma_user_version),"
	    " (SELECT application_id FROM pragma_application_id),"
	    " (SELECT count(*) FROM sqlite_master WHERE type = 'table')";
	sqlite3_stmt *st;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		(void)spool_db_err(sp, rc, "reading the schema version", err);
		spool_db_done(st);
		return -1;
	}
	v->version = sqlite3_column_int(st, 0);
	v->app_id = sqlite3_column_int64(st, 1);
	v->ntables = sqlite3_column_int64(st, 2);
	spool_db_done(st);
	return 0;
}

/* spool_version_refuse - -1 for versions and files we must not touch. */
static int
spool_version_refuse(
    struct spool *sp, const struct spool_version *v, struct err *err)
{
	bool empty = v->version == 0 && v->app_id == 0 && v->ntables == 0;

	if (!empty && v->app_id != SPOOL_APP_ID)
		return err_set(err, ERR_CONFIG,
		    "%s is not a relay spool database (application_id %lld, "
		    "user_version %d); move it away or fix spool_dir",
		    sp->path, v->app_id, v->version);
	if (v->version > SPOOL_SCHEMA_VERSION)
		return err_set(err, ERR_CONFIG,
		    "spool database %s has schema version %d, newer than "
		    "version %d of this relay; run the relay release that "
		    "wrote it, or move it aside to start an empty spool",
		    sp->path, v->version, SPOOL_SCHEMA_VERSION);
	if (!empty && !spool_version_known(v->version))
		return err_set(err, ERR_CONFIG,
		    "spool database %s has unknown schema version %d (this "
		    "relay reads versions 1 to %d); move it aside",
		    sp->path, v->version, SPOOL_SCHEMA_VERSION);
	return 0;
}

/* spool_version_known - is there a path from v to the current version? */
static bool
spool_version_known(int v)
{
	size_t i;

	if (v < 1 || v > SPOOL_SCHEMA_VERSION)
		return false;
	for (i = 0; spool_steps[i].sql != NULL; i++)
		if (spool_steps[i].to == v + 1)
			return true;
	return v == SPOOL_SCHEMA_VERSION;
}

/* spool_schema_upgrade - create or migrate inside one transaction. */
static int
spool_schema_upgrade(struct spool *sp, struct err *err)
{
	struct spool_version v;
	struct spool_tx tx;
	struct err fkerr;
	int ret = -1;

	if (spool_db_exec(sp, "PRAGMA foreign_keys = OFF", "migrating", err) ==
	    -1)
		return -1;
	if (spool_db_tx_enter(sp, &tx, err) == -1)
		goto out_fk;
	if (spool_version_read(sp, &v, err) == -1 ||
	    spool_version_refuse(sp, &v, err) == -1)
		goto out_abort;
	if (v.version != SPOOL_SCHEMA_VERSION &&
	    spool_schema_apply(sp, v.version, err) == -1)
		goto out_abort;
	if (spool_fk_check(sp, err) == -1)
		goto out_abort;
	if (spool_db_tx_leave(sp, &tx, err) == -1)
		goto out_fk;
	if (v.version == 0)
		log_info("spool database %s: created (schema version %d)",
		    sp->path, SPOOL_SCHEMA_VERSION);
	else if (v.version != SPOOL_SCHEMA_VERSION)
		log_info("spool database %s: schema version %d -> %d", sp->path,
		    v.version, SPOOL_SCHEMA_VERSION);
	ret = 0;
	goto out_fk;

out_abort:
	spool_db_tx_abort(sp, &tx, err);
out_fk:
	if (spool_db_exec(
		sp, "PRAGMA foreign_keys = ON", "migrating", &fkerr) == -1 &&
	    ret == 0) {
		if (err != NULL)
			*err = fkerr;
		ret = -1;
	}
	return ret;
}

/* spool_schema_apply - version "from" to the current one (0: create). */
static int
spool_schema_apply(struct spool *sp, int from, struct err *err)
{
	struct spool_version v;
	char sql[64];
	size_t i;

	if (from == 0 &&
	    spool_db_exec(sp, spool_schema_sql, "creating the schema", err) ==
		-1)
		return -1;
	for (i = 0; from != 0 && spool_steps[i].sql != NULL; i++) {
		if (spool_steps[i].to <= from)
			continue;
		if (spool_db_exec(sp, spool_steps[i].sql, "migrating", err) ==
		    -1)
			return -1;
		if (str_fmt(sql, sizeof(sql), "PRAGMA user_version = %d",
			spool_steps[i].to) == -1 ||
		    spool_db_exec(sp, sql, "migrating", err) == -1)
			return -1;
	}
	if (spool_version_read(sp, &v, err) == -1)
		return -1;
	if (v.version != SPOOL_SCHEMA_VERSION || v.app_id != SPOOL_APP_ID)
		return err_set(err, ERR_INTERNAL,
		    "spool schema ends at version %d, application_id %lld; "
		    "this build expects version %d (schema.sql and "
		    "SPOOL_SCHEMA_VERSION disagree)",
		    v.version, v.app_id, SPOOL_SCHEMA_VERSION);
	return 0;
}

/* spool_fk_check - no row may point at a missing parent. */
static int
spool_fk_check(struct spool *sp, struct err *err)
{
	static const char sql[] = "PRAGMA foreign_key_check";
	sqlite3_stmt *st;
	char table[64];
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		spool_col_copy(st, 0, table, sizeof(table));
		spool_db_done(st);
		return err_set(err, ERR_INTERNAL,
		    "spool migration left rows in %s without their message",
		    table);
	}
	if (rc != SQLITE_DONE)
		(void)spool_db_err(sp, rc, "checking foreign keys", err);
	spool_db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
