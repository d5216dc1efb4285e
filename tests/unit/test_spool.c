/*
 * test_spool.c - opening the spool: creation and its settings, reopening,
 * schema version checks, files that are not ours or are damaged, missing
 * and unwritable directories, read-only handles, queue ids, and the TLS
 * mode cache.  Real SQLite files in a private temp directory.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>
#include <fcntl.h>
#include <grp.h>

#include "base/str.h"

#include "spool/spool_int.h"
#include "test_spool_util.h"

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

static const char *const one_rcpt[] = { "a@example.org" };

static void
test_create_settings(void **state)
{
	struct tsp *t = *state;
	struct spool *sp;
	struct err err;
	char buf[64];

	sp = spool_open(t->db, SPOOL_CREATE, &err);
	assert_non_null(sp);
	assert_string_equal(spool_path(sp), t->db);
	assert_int_equal(
	    tsp_sql_int(t->db, "PRAGMA user_version"), SPOOL_SCHEMA_VERSION);
	assert_int_equal(
	    tsp_sql_int(t->db, "PRAGMA application_id"), 0x52454c59);
	tsp_sql_text(t->db, "PRAGMA journal_mode", buf, sizeof(buf));
	assert_string_equal(buf, "wal");
	assert_int_equal(tsp_sql_int(t->db,
			     "SELECT count(*) FROM sqlite_master WHERE name IN"
			     " ('messages','recipients','chunks','attempts',"
			     "'tls_cache')"),
	    5);
	/* the connection's own settings */
	assert_int_equal(
	    sqlite3_exec(sp->db, "SELECT 1", NULL, NULL, NULL), SQLITE_OK);
	{
		sqlite3_stmt *st;
		assert_int_equal(
		    sqlite3_prepare_v2(sp->db,
			"SELECT (SELECT synchronous FROM "
			"pragma_synchronous), (SELECT foreign_keys "
			"FROM pragma_foreign_keys), (SELECT "
			"secure_delete FROM pragma_secure_delete)",
			-1, &st, NULL),
		    SQLITE_OK);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(st, 0), 2); /* FULL */
		assert_int_equal(sqlite3_column_int(st, 1), 1);
		assert_int_equal(sqlite3_column_int(st, 2), 0);
		(void)sqlite3_finalize(st);
	}
	spool_close(sp);
	spool_close(NULL);
}

/* conn_sync - the synchronous setting of a handle's own connection. */
static int
conn_sync(struct spool *sp)
{
	sqlite3_stmt *st;
	int v;

	assert_int_equal(
	    sqlite3_prepare_v2(sp->db,
		"SELECT synchronous FROM pragma_synchronous", -1, &st, NULL),
	    SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	v = sqlite3_column_int(st, 0);
	(void)sqlite3_finalize(st);
	return v;
}

static void
test_relaxed_sync_is_per_handle(void **state)
{
	struct tsp *t = *state;
	struct spool *full, *relaxed;
	struct spool_msg_info *mi;
	char qid[SPOOL_QID_SIZE];
	struct err err;

	full = spool_open(t->db, SPOOL_CREATE, &err);
	assert_non_null(full);
	relaxed = spool_open(t->db, SPOOL_RELAXED_SYNC, &err);
	assert_non_null(relaxed);
	assert_int_equal(conn_sync(full), 2); /* FULL: enqueue */
	assert_int_equal(conn_sync(relaxed), 1); /* NORMAL: results */
	/* what one handle commits, the other sees */
	assert_int_equal(tsp_add(relaxed, "s@example.org", one_rcpt, 1,
			     "Hi\r\n", 1000, 1700000000, qid, &err),
	    0);
	assert_int_equal(spool_get(full, qid, &mi, &err), 0);
	spool_msg_info_free(mi);
	spool_close(relaxed);
	spool_close(full);
}

static void
test_reopen_keeps_mail(void **state)
{
	struct tsp *t = *state;
	struct spool *sp;
	struct spool_msg_info *mi;
	char qid[SPOOL_QID_SIZE];
	struct err err;

	sp = spool_open(t->db, SPOOL_CREATE, &err);
	assert_non_null(sp);
	assert_int_equal(tsp_add(sp, "s@example.org", one_rcpt, 1, "Hi\r\n",
			     1000, 1700000000, qid, &err),
	    0);
	spool_close(sp);
	/* again with SPOOL_CREATE (nothing to create), then without */
	sp = spool_open(t->db, SPOOL_CREATE | SPOOL_CHECK, &err);
	assert_non_null(sp);
	spool_close(sp);
	sp = spool_open(t->db, 0, &err);
	assert_non_null(sp);
	assert_int_equal(spool_get(sp, qid, &mi, &err), 0);
	assert_string_equal(mi->sender, "s@example.org");
	assert_int_equal(mi->created, 1700000000);
	spool_msg_info_free(mi);
	spool_close(sp);
}

static void
test_missing_dir_and_file(void **state)
{
	struct tsp *t = *state;
	struct err err;
	char *p;

	p = xasprintf("%s/nope/queue.db", t->dir);
	assert_null(spool_open(p, SPOOL_CREATE, &err));
	assert_int_equal(err.cls, ERR_TEMP);
	assert_non_null(strstr(err.msg, "does not exist"));
	xfree(p);

	/* the directory is a file */
	p = xasprintf("%s/file", t->dir);
	tsp_sql_exec(p, "CREATE TABLE x (a)");
	xfree(p);
	p = xasprintf("%s/file/queue.db", t->dir);
	assert_null(spool_open(p, SPOOL_CREATE, &err));
	assert_int_equal(err.cls, ERR_TEMP);
	xfree(p);

	/* no file and no SPOOL_CREATE, read-write and read-only */
	assert_null(spool_open(t->db, 0, &err));
	assert_int_equal(err.cls, ERR_TEMP);
	assert_non_null(strstr(err.msg, "relayd creates it"));
	assert_null(spool_open(t->db, SPOOL_READONLY | SPOOL_CREATE, &err));
	assert_int_equal(err.cls, ERR_TEMP);
}

static void
test_empty_file(void **state)
{
	struct tsp *t = *state;
	struct spool *sp;
	struct err err;
	int fd;

	fd = open(t->db, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
	assert_null(spool_open(t->db, SPOOL_READONLY, &err));
	assert_int_equal(err.cls, ERR_TEMP);
	assert_non_null(strstr(err.msg, "is empty"));
	assert_null(spool_open(t->db, 0, &err));
	assert_int_equal(err.cls, ERR_TEMP);
	/* an empty file is simply created into */
	sp = spool_open(t->db, SPOOL_CREATE, &err);
	assert_non_null(sp);
	spool_close(sp);
}

static void
test_newer_version_refused(void **state)
{
	struct tsp *t = *state;
	struct spool *sp;
	struct err err;
	char want[64], sql[64];

	sp = spool_open(t->db, SPOOL_CREATE, &err);
	assert_non_null(sp);
	spool_close(sp);
	snprintf(sql, sizeof(sql), "PRAGMA user_version = %d",
	    SPOOL_SCHEMA_VERSION + 7);
	tsp_sql_exec(t->db, sql);
	assert_null(spool_open(t->db, SPOOL_CREATE, &err));
	assert_int_equal(err.cls, ERR_CONFIG);
	snprintf(want, sizeof(want), "schema version %d, newer than version %d",
	    SPOOL_SCHEMA_VERSION + 7, SPOOL_SCHEMA_VERSION);
	assert_non_null(strstr(err.msg, want));
	assert_non_null(strstr(err.msg, "move it aside"));
	assert_null(spool_open(t->db, SPOOL_READONLY, &err));
	assert_int_equal(err.cls, ERR_CONFIG);
	/* nothing was changed */
	assert_int_equal(tsp_sql_int(t->db, "PRAGMA user_version"),
	    SPOOL_SCHEMA_VERSION + 7);

	/* a negative (unknown) version */
	tsp_sql_exec(t->db, "PRAGMA user_version = -3");
	assert_null(spool_open(t->db, SPOOL_CREATE, &err));
	assert_int_equal(err.cls, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "unknown schema version -3"));
}

static void
test_foreign_database_refused(void **state)
{
	struct tsp *t = *state;
	struct err err;

	tsp_sql_exec(t->db, "CREATE TABLE notes (x TEXT)");
	assert_null(spool_open(t->db, SPOOL_CREATE, &err));
	assert_int_equal(err.cls, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "not a relay spool"));
	tsp_sql_exec(t->db, "PRAGMA application_id = 42");
	assert_null(spool_open(t->db, SPOOL_READONLY, &err));
	assert_int_equal(err.cls, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "application_id 42"));
}

static void
test_garbage_file_is_corrupt(void **state)
{
	struct tsp *t = *state;
	char junk[8192];
	struct err err;
	int fd;

	memset(junk, 0x5a, sizeof(junk));
	fd = open(t->db, O_WRONLY | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(fs_write_all(fd, junk, sizeof(junk), &err), 0);
	assert_int_equal(close(fd), 0);
	assert_null(spool_open(t->db, SPOOL_CREATE, &err));
	assert_int_equal(err.cls, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "is corrupt"));
	assert_null(spool_open(t->db, SPOOL_READONLY, &err));
	assert_int_equal(err.cls, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "is corrupt"));
}

/* corrupt_page - overwrite the head of b-tree page pgno of path. */
static void
corrupt_page(const char *path, long long pgno)
{
	unsigned char junk[64];
	long long psz = tsp_sql_int(path, "PRAGMA page_size");
	int fd;

	memset(junk, 0xff, sizeof(junk));
	fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(
	    pwrite(fd, junk, sizeof(junk), (off_t)((pgno - 1) * psz)),
	    (ssize_t)sizeof(junk));
	assert_int_equal(close(fd), 0);
}

static int
count_cb(const struct spool_msg_info *mi, void *arg)
{
	(void)mi;
	(*(int *)arg)++;
	return 0;
}

static void
test_damaged_page_is_corrupt(void **state)
{
	struct tsp *t = *state;
	struct spool_filter f = { true, 0, -1, true };
	char qid[SPOOL_QID_SIZE];
	struct spool *sp;
	struct err err;
	long long root;
	int i, n = 0;

	sp = spool_open(t->db, SPOOL_CREATE, &err);
	assert_non_null(sp);
	for (i = 0; i < 20; i++)
		assert_int_equal(tsp_add(sp, "s@example.org", one_rcpt, 1,
				     "Body\r\n", 0, 1700000000 + i, qid, &err),
		    0);
	spool_close(sp);
	root = tsp_sql_int(t->db,
	    "SELECT rootpage FROM sqlite_master WHERE name = 'messages'");
	corrupt_page(t->db, root);

	/* found by quick_check at open */
	assert_null(spool_open(t->db, SPOOL_CREATE | SPOOL_CHECK, &err));
	assert_int_equal(err.cls, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "is corrupt"));

	/* or by the first query that reads the page */
	sp = spool_open(t->db, SPOOL_READONLY, &err);
	assert_non_null(sp);
	assert_int_equal(spool_list(sp, &f, count_cb, &n, &err), -1);
	assert_int_equal(err.cls, ERR_CONFIG);
	assert_non_null(strstr(err.msg, "is corrupt"));
	spool_close(sp);
}

/* As root, become nobody so directory modes apply. */
static int
drop_to_nobody(void)
{
	if (geteuid() != 0)
		return 0;
	if (setgroups(0, NULL) == -1 || setresgid(65534, 65534, 65534) == -1 ||
	    setresuid(65534, 65534, 65534) == -1)
		return -1;
	return 0;
}

/* try_open - in a child as nobody: exit 0 if opening path fails with
 * ERR_TEMP and a one-line message containing want. */
static void
try_open(const char *path, const char *want)
{
	struct spool *sp;
	struct err err;

	if (drop_to_nobody() == -1)
		exit(10);
	sp = spool_open(path, SPOOL_CREATE, &err);
	if (sp != NULL)
		exit(11);
	if (err.cls != ERR_TEMP || strchr(err.msg, '\n') != NULL)
		exit(12);
	if (strstr(err.msg, want) == NULL) {
		fprintf(stderr, "%s\n", err.msg);
		exit(13);
	}
	exit(0);
}

static void
test_unwritable_dir(void **state)
{
	static const struct {
		const char *dir;
		mode_t mode;
		const char *db;
		const char *want;
	} cases[] = {
		{ "ro", 0555, "ro/queue.db", "is not writable" },
		{ "closed", 0000, "closed/sub/queue.db", "is not accessible" },
		{ "noexec", 0600, "noexec/queue.db", "cannot be opened" },
	};
	struct tsp *t = *state;
	char *dir, *db;
	size_t i;
	pid_t pid;

	assert_int_equal(chmod(t->dir, 0755), 0);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dir = xasprintf("%s/%s", t->dir, cases[i].dir);
		db = xasprintf("%s/%s", t->dir, cases[i].db);
		assert_int_equal(mkdir(dir, cases[i].mode), 0);
		assert_int_equal(chmod(dir, cases[i].mode), 0);
		(void)fflush(NULL);
		pid = fork();
		assert_true(pid >= 0);
		if (pid == 0)
			try_open(db, cases[i].want);
		assert_int_equal(tsp_wait(pid), 0);
		assert_int_equal(chmod(dir, 0700), 0);
		xfree(dir);
		xfree(db);
	}
}

static void
test_readonly_file(void **state)
{
	struct tsp *t = *state;
	struct spool *sp;
	struct err err;
	pid_t pid;

	sp = spool_open(t->db, SPOOL_CREATE, &err);
	assert_non_null(sp);
	spool_close(sp);
	assert_int_equal(chmod(t->dir, 0755), 0);
	assert_int_equal(chmod(t->db, 0444), 0);
	(void)fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (drop_to_nobody() == -1)
			exit(10);
		sp = spool_open(t->db, SPOOL_CREATE, &err);
		if (sp != NULL)
			exit(11);
		exit(err.cls == ERR_TEMP ? 0 : 12);
	}
	assert_int_equal(tsp_wait(pid), 0);
}

static void
test_readonly_handle(void **state)
{
	struct tsp *t = *state;
	struct spool_tls_entry e = { "mx.example.org", 465, "implicit", 5,
		true };
	struct spool_filter f = { true, 0, -1, false };
	char qid[SPOOL_QID_SIZE];
	struct spool *sp, *ro;
	struct err err;
	struct stat before, after;
	pid_t pid;
	int n = 0;

	sp = spool_open(t->db, SPOOL_CREATE, &err);
	assert_non_null(sp);
	assert_int_equal(tsp_add(sp, "s@example.org", one_rcpt, 1, "x\r\n", 0,
			     1700000000, qid, &err),
	    0);
	spool_close(sp);
	assert_int_equal(stat(t->db, &before), 0);

	/* a reader that may not write the directory or the files (group
	 * relay while relayd is down) */
	assert_int_equal(chmod(t->dir, geteuid() == 0 ? 0755 : 0555), 0);
	(void)fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (drop_to_nobody() == -1)
			exit(10);
		ro = spool_open(t->db, SPOOL_READONLY, &err);
		if (ro == NULL) {
			fprintf(stderr, "%s\n", err.msg);
			exit(11);
		}
		if (spool_list(ro, &f, count_cb, &n, &err) == -1 || n != 1)
			exit(12);
		spool_close(ro);
		exit(0);
	}
	assert_int_equal(tsp_wait(pid), 0);

	ro = spool_open(t->db, SPOOL_READONLY, &err);
	assert_non_null(ro);
	assert_int_equal(spool_list(ro, &f, count_cb, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(spool_begin(ro, &err), -1);
	assert_int_equal(err.cls, ERR_INTERNAL);
	assert_int_equal(spool_tls_put(ro, &e, &err), -1);
	assert_int_equal(err.cls, ERR_INTERNAL);
	assert_non_null(strstr(err.msg, "read-only"));
	spool_close(ro);
	assert_int_equal(stat(t->db, &after), 0);
	assert_int_equal(before.st_size, after.st_size);
	assert_int_equal(before.st_mtime, after.st_mtime);
}

static void
test_qid_format_and_order(void **state)
{
	struct tsp *t = *state;
	char prev[SPOOL_QID_SIZE] = "", qid[SPOOL_QID_SIZE];
	struct spool *sp;
	struct err err;
	int i;

	sp = spool_open(t->db, SPOOL_CREATE, &err);
	assert_non_null(sp);
	for (i = 0; i < 20000; i++) {
		spool_qid_next(sp, qid);
		assert_int_equal(strlen(qid), SPOOL_QID_LEN);
		assert_true(spool_qid_valid(qid));
		assert_true(strcmp(prev, qid) < 0);
		memcpy(prev, qid, sizeof(prev));
	}
	/* a clock that stands still still gives increasing ids */
	sp->qid_last = UINT64_C(4000000000000000);
	spool_qid_next(sp, qid);
	assert_true(strcmp(prev, qid) < 0);
	memcpy(prev, qid, sizeof(prev));
	spool_qid_next(sp, qid);
	assert_true(strcmp(prev, qid) < 0);
	assert_memory_equal(prev, qid, 10);

	/* ids from enqueues sort by arrival */
	prev[0] = '\0';
	for (i = 0; i < 50; i++) {
		assert_int_equal(
		    tsp_add(sp, "", one_rcpt, 1, "", 0, 1700000000, qid, &err),
		    0);
		assert_true(strcmp(prev, qid) < 0);
		memcpy(prev, qid, sizeof(prev));
	}
	spool_close(sp);

	assert_false(spool_qid_valid(NULL));
	assert_false(spool_qid_valid(""));
	assert_false(spool_qid_valid("0123456789ABC"));
	assert_false(spool_qid_valid("0123456789ABCDE"));
	assert_false(spool_qid_valid("0123456789abcd"));
	assert_false(spool_qid_valid("0123456789AB-D"));
	assert_true(spool_qid_valid("0123456789ABCZ"));
}

static void
test_state_names(void **state)
{
	enum spool_msg_state st;

	(void)state;
	assert_string_equal(spool_msg_state_name(SPOOL_ST_QUEUED), "queued");
	assert_string_equal(spool_msg_state_name(SPOOL_ST_FAILED), "failed");
	assert_string_equal(
	    spool_msg_state_name((enum spool_msg_state)99), "unknown");
	assert_string_equal(
	    spool_rcpt_state_name(SPOOL_RS_DEFERRED), "deferred");
	assert_string_equal(
	    spool_rcpt_state_name((enum spool_rcpt_state)99), "unknown");
	assert_int_equal(spool_msg_state_parse("held", &st), 0);
	assert_int_equal(st, SPOOL_ST_HELD);
	assert_int_equal(spool_msg_state_parse("bogus", &st), -1);
}

struct tls_seen {
	int n;
	char hosts[4][300];
};

static int
tls_cb(const struct spool_tls_entry *e, void *arg)
{
	struct tls_seen *s = arg;

	snprintf(s->hosts[s->n], sizeof(s->hosts[0]), "%s:%d:%s", e->host,
	    e->port, e->mode);
	return ++s->n == 4;
}

static void
test_tls_cache(void **state)
{
	struct tsp *t = *state;
	struct spool_tls_entry e = { "MX.example.org", 587, "starttls", 100,
		true };
	struct spool_tls_entry got;
	struct tls_seen seen;
	struct spool *sp;
	struct err err;
	bool found;

	sp = spool_open(t->db, SPOOL_CREATE, &err);
	assert_non_null(sp);
	assert_int_equal(
	    spool_tls_get(sp, "mx.example.org", 587, &got, &found, &err), 0);
	assert_false(found);
	assert_int_equal(spool_tls_put(sp, &e, &err), 0);
	/* case-insensitive host */
	assert_int_equal(
	    spool_tls_get(sp, "mx.EXAMPLE.org", 587, &got, &found, &err), 0);
	assert_true(found);
	assert_string_equal(got.mode, "starttls");
	assert_int_equal(got.verified_at, 100);
	assert_true(got.tls_seen);

	/* replacing keeps tls_seen once set */
	e.verified_at = 200;
	e.tls_seen = false;
	assert_int_equal(spool_tls_put(sp, &e, &err), 0);
	assert_int_equal(
	    spool_tls_get(sp, "mx.example.org", 587, &got, &found, &err), 0);
	assert_int_equal(got.verified_at, 200);
	assert_true(got.tls_seen);

	(void)str_copy(e.mode, sizeof(e.mode), "implicit");
	e.port = 465;
	assert_int_equal(spool_tls_put(sp, &e, &err), 0);
	(void)str_copy(e.host, sizeof(e.host), "alpha.example.org");
	assert_int_equal(spool_tls_put(sp, &e, &err), 0);

	memset(&seen, 0, sizeof(seen));
	assert_int_equal(spool_tls_list(sp, tls_cb, &seen, &err), 0);
	assert_int_equal(seen.n, 3);
	assert_string_equal(seen.hosts[0], "alpha.example.org:465:implicit");
	assert_string_equal(seen.hosts[1], "MX.example.org:465:implicit");
	assert_string_equal(seen.hosts[2], "MX.example.org:587:starttls");

	/* forget one port, then every port of a host */
	assert_int_equal(spool_tls_forget(sp, "mx.example.org", 465, &err), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(spool_tls_list(sp, tls_cb, &seen, &err), 0);
	assert_int_equal(seen.n, 2);
	assert_int_equal(spool_tls_forget(sp, "mx.example.org", 0, &err), 0);
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(spool_tls_list(sp, tls_cb, &seen, &err), 0);
	assert_int_equal(seen.n, 1);

	/* misuse */
	e.port = 0;
	assert_int_equal(spool_tls_put(sp, &e, &err), -1);
	assert_int_equal(err.cls, ERR_INTERNAL);
	e.port = 25;
	(void)str_copy(e.mode, sizeof(e.mode), "plain");
	assert_int_equal(spool_tls_put(sp, &e, &err), -1);
	e.host[0] = '\0';
	assert_int_equal(spool_tls_put(sp, &e, &err), -1);
	spool_close(sp);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_create_settings, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_relaxed_sync_is_per_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_reopen_keeps_mail, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_missing_dir_and_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_empty_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_newer_version_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_foreign_database_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_garbage_file_is_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_damaged_page_is_corrupt, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_unwritable_dir, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_readonly_file, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_readonly_handle, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_qid_format_and_order, setup, teardown),
		cmocka_unit_test(test_state_names),
		cmocka_unit_test_setup_teardown(
		    test_tls_cache, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
