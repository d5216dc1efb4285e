/*
 * test_spool_migrate.c - schema migration: a database written by schema
 * version 1 (the submission-only spool; its schema.sql is reproduced
 * below exactly as it was) is refused read-only, upgraded by a read-write
 * open, keeps every row, ends up with the same tables, columns and
 * indexes as a newly created spool, and works for delivery.  A failing
 * step leaves the file untouched; two processes upgrading at once both
 * succeed.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "spool/spool_int.h"
#include "test_spool_util.h"

/* spool/schema.sql of schema version 1, comments removed. */
static const char schema_v1[] =
    "PRAGMA application_id = 1380273241;\n"
    "CREATE TABLE messages (\n"
    "qid TEXT PRIMARY KEY NOT NULL CHECK (length(qid) = 14),\n"
    "created INTEGER NOT NULL,\n"
    "uid INTEGER NOT NULL,\n"
    "sender TEXT NOT NULL,\n"
    "size INTEGER NOT NULL DEFAULT 0,\n"
    "state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 5),\n"
    "ret TEXT,\n"
    "envid TEXT,\n"
    "body_type TEXT,\n"
    "notify TEXT,\n"
    "smtputf8 INTEGER NOT NULL DEFAULT 0,\n"
    "attempts INTEGER NOT NULL DEFAULT 0,\n"
    "next_attempt INTEGER NOT NULL DEFAULT 0,\n"
    "reason TEXT,\n"
    "reason_text TEXT\n"
    ");\n"
    "CREATE INDEX messages_due ON messages (state, next_attempt);\n"
    "CREATE INDEX messages_uid ON messages (uid, qid);\n"
    "CREATE TABLE recipients (\n"
    "qid TEXT NOT NULL REFERENCES messages (qid) ON DELETE CASCADE,\n"
    "idx INTEGER NOT NULL,\n"
    "address TEXT NOT NULL,\n"
    "state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 3),\n"
    "attempts INTEGER NOT NULL DEFAULT 0,\n"
    "next_attempt INTEGER NOT NULL DEFAULT 0,\n"
    "last_reply TEXT,\n"
    "reason TEXT,\n"
    "PRIMARY KEY (qid, idx),\n"
    "UNIQUE (qid, address)\n"
    ");\n"
    "CREATE TABLE chunks (\n"
    "qid TEXT NOT NULL REFERENCES messages (qid) ON DELETE CASCADE,\n"
    "seq INTEGER NOT NULL,\n"
    "data BLOB NOT NULL,\n"
    "PRIMARY KEY (qid, seq)\n"
    ");\n"
    "CREATE TABLE attempts (\n"
    "id INTEGER PRIMARY KEY,\n"
    "qid TEXT NOT NULL REFERENCES messages (qid) ON DELETE CASCADE,\n"
    "at INTEGER NOT NULL,\n"
    "rcpt TEXT,\n"
    "reason TEXT NOT NULL,\n"
    "reply TEXT,\n"
    "relay TEXT\n"
    ");\n"
    "CREATE INDEX attempts_qid ON attempts (qid, id);\n"
    "CREATE TABLE tls_cache (\n"
    "host TEXT NOT NULL COLLATE NOCASE,\n"
    "port INTEGER NOT NULL,\n"
    "mode TEXT NOT NULL CHECK (mode IN ('implicit', 'starttls')),\n"
    "verified_at INTEGER NOT NULL,\n"
    "tls_seen INTEGER NOT NULL DEFAULT 1,\n"
    "PRIMARY KEY (host, port)\n"
    ") WITHOUT ROWID;\n"
    "PRAGMA user_version = 1;\n";

/* The v1 queue: a queued message with a body, a held one, a sent one, a
 * leftover "sending" row, and a TLS cache entry. */
static const char rows_v1[] =
    "INSERT INTO messages (qid, created, uid, sender, size, state,"
    " next_attempt) VALUES"
    " ('0000000000000A', 1000, 10, 'a@example.org', 11, 0, 1000),"
    " ('0000000000000B', 1001, 10, '', 0, 2, 1001),"
    " ('0000000000000C', 1002, 20, 'c@example.org', 0, 4, 0),"
    " ('0000000000000D', 1003, 20, 'd@example.org', 0, 3, 1003);"
    "INSERT INTO recipients (qid, idx, address, state) VALUES"
    " ('0000000000000A', 0, 'x@example.org', 0),"
    " ('0000000000000A', 1, 'y@example.org', 0),"
    " ('0000000000000B', 0, 'x@example.org', 0),"
    " ('0000000000000C', 0, 'x@example.org', 1),"
    " ('0000000000000D', 0, 'x@example.org', 0);"
    "INSERT INTO chunks (qid, seq, data) VALUES"
    " ('0000000000000A', 0, CAST('Hello' AS BLOB)),"
    " ('0000000000000A', 1, CAST(' world' AS BLOB));"
    "INSERT INTO tls_cache (host, port, mode, verified_at, tls_seen)"
    " VALUES ('mx.example.org', 465, 'implicit', 99, 1);";

static int
setup(void **state)
{
	*state = tsp_new();
	return 0;
}

static int
teardown(void **state)
{
	tsp_free(*state);
	return 0;
}

/* make_v1 - a version-1 queue.db at path, plus extra SQL. */
static void
make_v1(const char *path, const char *extra)
{
	tsp_sql_exec(path, "PRAGMA journal_mode = WAL");
	tsp_sql_exec(path, schema_v1);
	tsp_sql_exec(path, rows_v1);
	if (extra != NULL)
		tsp_sql_exec(path, extra);
}

/* shape - every table's columns and every index, as one string. */
static void
shape(const char *path, struct buf *out)
{
	static const char *const sql[] = {
		"SELECT m.name, p.cid, p.name, p.type, p.\"notnull\","
		" coalesce(p.dflt_value, '-'), p.pk FROM sqlite_master m,"
		" pragma_table_info(m.name) p WHERE m.type = 'table'"
		" ORDER BY m.name, p.cid",
		"SELECT m.name, il.name, il.\"unique\", il.partial,"
		" (SELECT group_concat(ii.name, '+') FROM"
		" (SELECT name FROM pragma_index_info(il.name) ORDER BY seqno) "
		"ii)"
		" FROM sqlite_master m, pragma_index_list(m.name) il"
		" WHERE m.type = 'table' ORDER BY m.name, il.name",
		"SELECT name, replace(replace(sql, char(10), ' '), char(9),"
		" ' ') FROM sqlite_master WHERE type = 'index'"
		" AND sql IS NOT NULL ORDER BY name",
	};
	sqlite3_stmt *st;
	sqlite3 *db;
	size_t i;
	int c;

	assert_int_equal(
	    sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	for (i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
		assert_int_equal(
		    sqlite3_prepare_v2(db, sql[i], -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			for (c = 0; c < sqlite3_column_count(st); c++) {
				const unsigned char *t =
				    sqlite3_column_text(st, c);
				assert_int_equal(
				    buf_puts(out, t ? (const char *)t : "-"),
				    0);
				assert_int_equal(buf_putc(out, '|'), 0);
			}
			assert_int_equal(buf_putc(out, '\n'), 0);
		}
		(void)sqlite3_finalize(st);
	}
	(void)sqlite3_close(db);
}

/* norm_ws - collapse runs of spaces (index SQL text from the two
 * sources differs only in layout). */
static void
norm_ws(struct buf *b)
{
	size_t i, j = 0;

	for (i = 0; i < b->len; i++) {
		if (b->data[i] == ' ' && j > 0 && b->data[j - 1] == ' ')
			continue;
		b->data[j++] = b->data[i];
	}
	buf_truncate(b, j);
}

static void
test_old_version_needs_relayd(void **state)
{
	struct tsp *t = *state;
	struct err err;

	make_v1(t->db, NULL);
	assert_null(spool_open(t->db, SPOOL_READONLY, &err));
	assert_int_equal(err.cls, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "schema version 1"));
	assert_non_null(strstr(err.msg, "start relayd once to upgrade"));
	assert_null(spool_open(t->db, 0, &err));
	assert_int_equal(err.cls, ERR_CONFIG);
	assert_int_equal(tsp_sql_int(t->db, "PRAGMA user_version"), 1);
}

static void
test_upgrade_keeps_rows(void **state)
{
	struct tsp *t = *state;
	struct spool_msg_info *mi;
	struct spool_tls_entry e;
	struct spool *sp;
	struct err err;
	struct buf body;
	bool found;

	make_v1(t->db, NULL);
	sp = spool_open(t->db, SPOOL_CREATE, &err);
	assert_non_null(sp);
	assert_int_equal(tsp_sql_int(t->db, "PRAGMA user_version"), 2);
	assert_int_equal(SPOOL_SCHEMA_VERSION, 2);

	assert_int_equal(spool_get(sp, "0000000000000A", &mi, &err), 0);
	assert_int_equal(mi->state, SPOOL_ST_QUEUED);
	assert_false(mi->held);
	assert_int_equal(mi->nrcpts, 2);
	assert_string_equal(mi->rcpts[1].address, "y@example.org");
	assert_false(mi->rcpts[1].reported);
	assert_null(mi->rcpts[1].status);
	assert_null(mi->lease_owner);
	spool_msg_info_free(mi);
	buf_init(&body, 100);
	assert_int_equal(
	    spool_body_read(sp, "0000000000000A", tsp_collect, &body, &err), 0);
	assert_string_equal(body.data, "Hello world");
	buf_free(&body);

	assert_int_equal(spool_get(sp, "0000000000000B", &mi, &err), 0);
	assert_int_equal(mi->state, SPOOL_ST_HELD);
	assert_true(mi->held);
	spool_msg_info_free(mi);
	assert_int_equal(spool_get(sp, "0000000000000C", &mi, &err), 0);
	assert_int_equal(mi->state, SPOOL_ST_SENT);
	assert_int_equal(mi->done_at, 1002);
	spool_msg_info_free(mi);
	/* a "sending" row without a lease cannot exist after version 2 */
	assert_int_equal(spool_get(sp, "0000000000000D", &mi, &err), 0);
	assert_int_equal(mi->state, SPOOL_ST_QUEUED);
	spool_msg_info_free(mi);

	assert_int_equal(
	    spool_tls_get(sp, "mx.example.org", 465, &e, &found, &err), 0);
	assert_true(found);
	assert_string_equal(e.mode, "implicit");
	spool_close(sp);

	/* opening again has nothing to do */
	sp = spool_open(t->db, SPOOL_CREATE | SPOOL_CHECK, &err);
	assert_non_null(sp);
	spool_close(sp);
}

static void
test_upgrade_matches_new_schema(void **state)
{
	struct tsp *t = *state;
	struct buf a, b;
	struct spool *sp;
	struct err err;
	char *fresh;

	make_v1(t->db, NULL);
	sp = spool_open(t->db, SPOOL_CREATE, &err);
	assert_non_null(sp);
	spool_close(sp);
	fresh = xasprintf("%s/fresh.db", t->dir);
	sp = spool_open(fresh, SPOOL_CREATE, &err);
	assert_non_null(sp);
	spool_close(sp);

	buf_init(&a, 1 << 16);
	buf_init(&b, 1 << 16);
	shape(t->db, &a);
	shape(fresh, &b);
	norm_ws(&a);
	norm_ws(&b);
	assert_true(a.len > 500);
	assert_string_equal(a.data, b.data);
	buf_free(&a);
	buf_free(&b);
	xfree(fresh);
}

static void
test_upgraded_spool_delivers(void **state)
{
	struct tsp *t = *state;
	struct spool_outcome ok = { 2000, 0, NULL, NULL, "250 ok", "2.0.0",
		"mx[192.0.2.1]:587" };
	char qids[8][SPOOL_QID_SIZE];
	enum spool_msg_state st;
	struct spool *sp;
	struct err err;
	size_t n;

	make_v1(t->db, NULL);
	sp = spool_open(t->db, SPOOL_CREATE, &err);
	assert_non_null(sp);
	assert_int_equal(
	    spool_claim(sp, "test:1", 2000, 60, 8, qids, &n, &err), 0);
	assert_int_equal(n, 2); /* A and D; B is held, C is sent */
	assert_string_equal(qids[0], "0000000000000A");
	assert_int_equal(
	    spool_msg_result(sp, qids[0], SPOOL_RS_SENT, &ok, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(
	    spool_finish(sp, qids[0], "test:1", 2000, &st, &err), 0);
	assert_int_equal(st, SPOOL_ST_SENT);
	spool_close(sp);
}

static void
test_failed_step_changes_nothing(void **state)
{
	struct tsp *t = *state;
	struct err err;

	/* a column the step adds already exists: the ALTER fails */
	make_v1(t->db, "ALTER TABLE messages ADD COLUMN held INTEGER");
	assert_null(spool_open(t->db, SPOOL_CREATE, &err));
	assert_int_equal(err.cls, ERR_INTERNAL);
	assert_non_null(strstr(err.msg, "duplicate column"));
	assert_int_equal(tsp_sql_int(t->db, "PRAGMA user_version"), 1);
	assert_int_equal(tsp_sql_int(t->db,
			     "SELECT count(*) FROM sqlite_master WHERE"
			     " name = 'counters'"),
	    0);
	assert_int_equal(tsp_sql_int(t->db,
			     "SELECT count(*) FROM pragma_table_info("
			     "'messages') WHERE name = 'lease_owner'"),
	    0);
}

static void
test_dangling_rows_refused(void **state)
{
	struct tsp *t = *state;
	struct err err;

	/* a recipient without its message (written with foreign keys off)
	 * is found by the check before the upgrade commits */
	make_v1(t->db,
	    "INSERT INTO recipients (qid, idx, address) VALUES"
	    " ('0000000000000Z', 0, 'lost@example.org')");
	assert_null(spool_open(t->db, SPOOL_CREATE, &err));
	assert_int_equal(err.cls, ERR_INTERNAL);
	assert_non_null(strstr(err.msg, "recipients"));
	assert_int_equal(tsp_sql_int(t->db, "PRAGMA user_version"), 1);
}

static void
test_concurrent_upgrade(void **state)
{
	struct tsp *t = *state;
	pid_t pids[4];
	int i;

	make_v1(t->db, NULL);
	for (i = 0; i < 4; i++) {
		(void)fflush(NULL);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0) {
			struct err err;
			struct spool *sp =
			    spool_open(t->db, SPOOL_CREATE, &err);

			if (sp == NULL) {
				fprintf(stderr, "%s\n", err.msg);
				exit(1);
			}
			spool_close(sp);
			exit(0);
		}
	}
	for (i = 0; i < 4; i++)
		assert_int_equal(tsp_wait(pids[i]), 0);
	assert_int_equal(tsp_sql_int(t->db, "PRAGMA user_version"), 2);
	assert_int_equal(
	    tsp_sql_int(t->db, "SELECT count(*) FROM messages"), 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_old_version_needs_relayd, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_upgrade_keeps_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_upgrade_matches_new_schema, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_upgraded_spool_delivers, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_failed_step_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_dangling_rows_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_concurrent_upgrade, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
