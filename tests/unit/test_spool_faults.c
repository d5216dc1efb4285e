/*
 * test_spool_faults.c - the spool's error paths on real database files:
 * another process holding the write lock (every writer fails with
 * ERR_TEMP once the busy timeout has passed, readers go on, and a writer
 * gets through as soon as the lock is let go), failures injected into single statements with
 * SQLite triggers (every writer undoes its own work), a caller
 * transaction that SQLite rolled back by itself, a failing COMMIT, a
 * handle closed inside a transaction, a spool that refuses writes, and a
 * database path that is a directory.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/str.h"
#include "spool/spool_int.h"
#include "test_spool_util.h"

#define T0 1700000000

static const char *const rcpts2[] = { "a@example.org", "b@example.org" };

struct fx {
	struct tsp *t;
	struct spool *sp;
	char q[5][SPOOL_QID_SIZE];
};

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	struct err err;

	fx->t = tsp_new();
	fx->sp = spool_open(fx->t->db, SPOOL_CREATE, &err);
	if (fx->sp == NULL)
		return -1;
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fx *fx = *state;

	spool_close(fx->sp);
	tsp_free(fx->t);
	xfree(fx);
	return 0;
}

static void
add(struct fx *fx, int i)
{
	struct err err;

	assert_int_equal(tsp_add(fx->sp, "s@example.org", rcpts2, 2, "x\r\n",
			     100, T0 + i, fx->q[i], &err),
	    0);
}

/* fail_on - from now on, statements doing "when" (e.g. "INSERT ON
 * attempts") fail inside SQLite. */
static void
fail_on(struct fx *fx, const char *when)
{
	char *sql = xasprintf("CREATE TRIGGER inject BEFORE %s BEGIN"
			      " SELECT RAISE(ABORT, 'injected failure'); END",
	    when);

	tsp_sql_exec(fx->t->db, sql);
	xfree(sql);
}

static void
heal(struct fx *fx)
{
	tsp_sql_exec(fx->t->db, "DROP TRIGGER inject");
}

/* expect_injected - the call failed with the injected error. */
#define expect_injected(rc, err) expect_injected_at(rc, err, __LINE__)

static void
expect_injected_at(int rc, const struct err *err, int line)
{
	if (rc != -1)
		fprintf(stderr, "line %d: no failure\n", line);
	assert_int_equal(rc, -1);
	assert_int_equal(err->cls, ERR_INTERNAL);
	assert_non_null(strstr(err->msg, "injected failure"));
}

static enum spool_rcpt_state
rcpt_state(struct fx *fx, const char *qid, size_t i)
{
	struct spool_msg_info *mi;
	enum spool_rcpt_state st;
	struct err err;

	assert_int_equal(spool_get(fx->sp, qid, &mi, &err), 0);
	st = mi->rcpts[i].state;
	spool_msg_info_free(mi);
	return st;
}

static enum spool_msg_state
msg_state(struct fx *fx, const char *qid)
{
	struct spool_msg_info *mi;
	enum spool_msg_state st;
	struct err err;

	assert_int_equal(spool_get(fx->sp, qid, &mi, &err), 0);
	st = mi->state;
	spool_msg_info_free(mi);
	return st;
}

static int
count_cb(const struct spool_msg_info *mi, void *arg)
{
	(void)mi;
	(*(size_t *)arg)++;
	return 0;
}

static size_t
nmessages(struct fx *fx)
{
	struct spool_filter f = { true, 0, -1, true };
	struct err err;
	size_t n = 0;

	assert_int_equal(spool_list(fx->sp, &f, count_cb, &n, &err), 0);
	return n;
}

/* --- another process holds the write lock -------------------------------- */

static void
expect_busy(int rc, const struct err *err)
{
	assert_int_equal(rc, -1);
	assert_int_equal(err->cls, ERR_TEMP);
	assert_non_null(strstr(err->msg, "locked by another process"));
}

static void
test_locked(void **state)
{
	struct fx *fx = *state;
	struct spool_filter all = { true, 0, -1, false };
	struct spool_outcome o = { T0, T0 + 60, "x", NULL, NULL, NULL, NULL };
	struct spool_tls_entry e = { "mx.example.org", 25, "starttls", 1,
		true };
	struct spool_host_health h = { "primary", SPOOL_HS_OK, 0, 0, 0, 0, "",
		"" };
	struct spool_newmsg m = { "s@example.org", rcpts2, 2, 0, NULL, NULL,
		NULL, NULL, false, T0, NULL };
	struct tsp_mem mem = { "x", 1, 0, 0 };
	char got[2][SPOOL_QID_SIZE], qid[SPOOL_QID_SIZE];
	struct err err;
	sqlite3 *other;
	size_t n;

	add(fx, 0);
	assert_int_equal(sqlite3_open(fx->t->db, &other), SQLITE_OK);
	assert_int_equal(
	    sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
	    SQLITE_OK);
	spool_set_busy_timeout(fx->sp, 10);

	expect_busy(spool_begin(fx->sp, &err), &err);
	expect_busy(
	    spool_add_message(fx->sp, &m, tsp_mem_read, &mem, qid, &err), &err);
	expect_busy(spool_tls_put(fx->sp, &e, &err), &err);
	expect_busy(spool_tls_forget(fx->sp, "mx.example.org", 0, &err), &err);
	expect_busy(spool_claim(fx->sp, "r", T0, 60, 2, got, &n, &err), &err);
	expect_busy(spool_renew(fx->sp, fx->q[0], "r", T0, 60, &err), &err);
	expect_busy(spool_rcpt_result(fx->sp, fx->q[0], "a@example.org",
			SPOOL_RS_SENT, &o, &err),
	    &err);
	expect_busy(
	    spool_msg_result(fx->sp, fx->q[0], SPOOL_RS_SENT, &o, &n, &err),
	    &err);
	expect_busy(spool_finish(fx->sp, fx->q[0], "r", T0, NULL, &err), &err);
	expect_busy(spool_release(fx->sp, fx->q[0], "r", T0, NULL, &err), &err);
	expect_busy(spool_release_owner(fx->sp, "r", T0, &n, &err), &err);
	expect_busy(spool_expire(fx->sp, T0, 10, &n, &err), &err);
	expect_busy(spool_mark_reported(fx->sp, fx->q[0], &err), &err);
	expect_busy(spool_purge(fx->sp, T0, 10, &n, &err), &err);
	expect_busy(spool_hold(fx->sp, NULL, &all, &n, &err), &err);
	expect_busy(spool_release_hold(fx->sp, NULL, &all, &n, &err), &err);
	expect_busy(spool_delete(fx->sp, NULL, &all, &n, &err), &err);
	expect_busy(spool_retry(fx->sp, NULL, &all, T0, &n, &err), &err);
	expect_busy(spool_due_all(fx->sp, T0, &n, &err), &err);
	expect_busy(spool_bounce(fx->sp, NULL, &all, &o, &n, &err), &err);
	expect_busy(spool_health_put(fx->sp, &h, &err), &err);
	expect_busy(spool_event_add(fx->sp, SPOOL_EV_SENT, 1, T0, &err), &err);

	/* readers are not blocked by a writer (WAL) */
	assert_int_equal(nmessages(fx), 1);
	assert_int_equal(
	    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_close(other), SQLITE_OK);
	assert_int_equal(spool_claim(fx->sp, "r", T0, 60, 2, got, &n, &err), 0);
	assert_int_equal(n, 1);
}

/* test_lock_let_go - another process holds the write lock for a while
 * and then commits: a writer waiting under the busy timeout retries
 * (spool_busy) and gets through, and sees the other's work. */
static void
test_lock_let_go(void **state)
{
	struct fx *fx = *state;
	struct timespec hold = { 0, 30 * 1000 * 1000 };
	char got[2][SPOOL_QID_SIZE], c;
	struct err err;
	int fds[2], status;
	size_t n;
	pid_t pid;

	add(fx, 0);
	assert_int_equal(pipe(fds), 0);
	pid = fork();
	assert_true(pid != -1);
	if (pid == 0) {
		sqlite3 *other;

		close(fds[0]);
		if (sqlite3_open(fx->t->db, &other) != SQLITE_OK ||
		    sqlite3_exec(other,
			"BEGIN IMMEDIATE; UPDATE messages SET state = 2", NULL,
			NULL, NULL) != SQLITE_OK ||
		    write(fds[1], "l", 1) != 1)
			_exit(1);
		(void)nanosleep(&hold, NULL);
		_exit(
		    sqlite3_exec(other, "COMMIT", NULL, NULL, NULL) == SQLITE_OK
			? 0
			: 1);
	}
	close(fds[1]);
	assert_int_equal(read(fds[0], &c, 1), 1); /* the lock is taken */
	close(fds[0]);
	spool_set_busy_timeout(fx->sp, 5000);
	err_clear(&err);
	/* state 2 (held) is not due: the claim ran after the commit */
	assert_int_equal(spool_claim(fx->sp, "r", T0, 60, 2, got, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

/* --- single statements fail ---------------------------------------------- */

static void
test_injected_results(void **state)
{
	struct fx *fx = *state;
	struct spool_filter all = { true, 0, -1, false };
	struct spool_outcome o = { T0 + 1, T0 + 60, "rcpt_deferred", NULL,
		"450 later", NULL, NULL };
	char got[2][SPOOL_QID_SIZE];
	struct err err;
	size_t n;

	add(fx, 0);
	add(fx, 1);
	assert_int_equal(
	    spool_claim(fx->sp, "r", T0, 600, 1, got, &n, &err), 0);

	fail_on(fx, "INSERT ON attempts");
	expect_injected(spool_rcpt_result(fx->sp, fx->q[0], "a@example.org",
			    SPOOL_RS_FAILED, &o, &err),
	    &err);
	expect_injected(
	    spool_msg_result(fx->sp, fx->q[0], SPOOL_RS_DEFERRED, &o, &n, &err),
	    &err);
	expect_injected(
	    spool_release(fx->sp, fx->q[0], "r", T0 + 1, &o, &err), &err);
	expect_injected(spool_expire(fx->sp, T0 + 100, 10, &n, &err), &err);
	expect_injected(
	    spool_bounce(fx->sp, fx->q[1], &all, &o, &n, &err), &err);
	heal(fx);
	/* nothing of the failed calls remains */
	assert_int_equal(rcpt_state(fx, fx->q[0], 0), SPOOL_RS_PENDING);
	assert_int_equal(msg_state(fx, fx->q[0]), SPOOL_ST_SENDING);
	assert_int_equal(msg_state(fx, fx->q[1]), SPOOL_ST_QUEUED);

	fail_on(fx, "UPDATE ON recipients");
	expect_injected(spool_rcpt_result(fx->sp, fx->q[0], "a@example.org",
			    SPOOL_RS_SENT, &o, &err),
	    &err);
	expect_injected(spool_expire(fx->sp, T0 + 100, 10, &n, &err), &err);
	heal(fx);
	assert_int_equal(
	    tsp_sql_int(fx->t->db, "SELECT count(*) FROM attempts"), 0);

	fail_on(fx, "UPDATE ON messages");
	expect_injected(
	    spool_finish(fx->sp, fx->q[0], "r", T0, NULL, &err), &err);
	expect_injected(spool_renew(fx->sp, fx->q[0], "r", T0, 60, &err), &err);
	expect_injected(spool_release_owner(fx->sp, "r", T0, &n, &err), &err);
	expect_injected(
	    spool_claim(fx->sp, "r2", T0 + 1, 60, 2, got, &n, &err), &err);
	assert_int_equal(n, 0);
	heal(fx);
	assert_int_equal(msg_state(fx, fx->q[1]), SPOOL_ST_QUEUED);
}

static void
test_injected_sweeps(void **state)
{
	struct fx *fx = *state;
	struct spool_filter all = { true, 0, -1, false };
	struct spool_outcome later = { T0 + 1, T0 + 600, "rcpt_deferred", NULL,
		"450 later", NULL, NULL };
	struct spool_outcome ret = { T0 + 1, 0, "returned_by_admin", NULL, NULL,
		NULL, NULL };
	char got[1][SPOOL_QID_SIZE], rep[2][SPOOL_QID_SIZE];
	struct err err;
	size_t n;
	int i;

	for (i = 0; i < 4; i++)
		add(fx, i);
	/* q0 deferred, q1 failed and unreported, q2 held, q3 queued */
	assert_int_equal(spool_claim(fx->sp, "r", T0, 60, 1, got, &n, &err), 0);
	assert_int_equal(spool_msg_result(fx->sp, fx->q[0], SPOOL_RS_DEFERRED,
			     &later, NULL, &err),
	    0);
	assert_int_equal(
	    spool_finish(fx->sp, fx->q[0], "r", T0 + 1, NULL, &err), 0);
	assert_int_equal(
	    spool_bounce(fx->sp, fx->q[1], &all, &ret, NULL, &err), 0);
	assert_int_equal(spool_hold(fx->sp, fx->q[2], &all, NULL, &err), 0);
	assert_int_equal(
	    spool_event_add(fx->sp, SPOOL_EV_SENT, 1, T0 - 5 * 86400, &err), 0);

	fail_on(fx, "UPDATE ON recipients");
	expect_injected(
	    spool_retry(fx->sp, NULL, &all, T0 + 2, &n, &err), &err);
	expect_injected(spool_mark_reported(fx->sp, fx->q[1], &err), &err);
	heal(fx);
	assert_int_equal(spool_unreported(fx->sp, rep, 2, &n, &err), 0);
	assert_int_equal(n, 1);

	fail_on(fx, "UPDATE ON messages");
	expect_injected(
	    spool_retry(fx->sp, NULL, &all, T0 + 2, &n, &err), &err);
	expect_injected(spool_hold(fx->sp, NULL, &all, &n, &err), &err);
	expect_injected(
	    spool_release_hold(fx->sp, fx->q[2], &all, &n, &err), &err);
	heal(fx);
	assert_int_equal(msg_state(fx, fx->q[2]), SPOOL_ST_HELD);

	/* release_hold's recompute of the state fails after the flag */
	fail_on(fx, "UPDATE OF state ON messages");
	expect_injected(
	    spool_release_hold(fx->sp, fx->q[2], &all, &n, &err), &err);
	heal(fx);
	assert_int_equal(msg_state(fx, fx->q[2]), SPOOL_ST_HELD);

	assert_int_equal(spool_mark_reported(fx->sp, fx->q[1], &err), 0);
	fail_on(fx, "DELETE ON messages");
	expect_injected(spool_delete(fx->sp, NULL, &all, &n, &err), &err);
	expect_injected(spool_purge(fx->sp, T0 + 100, 10, &n, &err), &err);
	heal(fx);
	fail_on(fx, "DELETE ON counters");
	expect_injected(spool_purge(fx->sp, T0 + 100, 10, &n, &err), &err);
	heal(fx);
	/* the purge was undone as a whole */
	assert_int_equal(nmessages(fx), 4);
	assert_int_equal(spool_purge(fx->sp, T0 + 100, 10, &n, &err), 0);
	assert_int_equal(n, 1);
}

static void
test_injected_enqueue_and_tables(void **state)
{
	static const char *const when[] = { "INSERT ON messages",
		"INSERT ON recipients", "INSERT ON chunks",
		"UPDATE ON messages", "INSERT ON counters" };
	struct fx *fx = *state;
	struct spool_tls_entry e = { "mx.example.org", 25, "starttls", 1,
		true };
	struct spool_host_health h = { "primary", SPOOL_HS_OK, 0, 0, 0, 0, "",
		"" };
	char qid[SPOOL_QID_SIZE];
	struct err err;
	size_t i;

	for (i = 0; i < sizeof(when) / sizeof(when[0]); i++) {
		fail_on(fx, when[i]);
		expect_injected(tsp_add(fx->sp, "s@example.org", rcpts2, 2,
				    "body\r\n", 100, T0, qid, &err),
		    &err);
		heal(fx);
	}
	assert_int_equal(nmessages(fx), 0);
	assert_int_equal(
	    tsp_sql_int(fx->t->db, "SELECT count(*) FROM chunks"), 0);

	fail_on(fx, "INSERT ON counters");
	expect_injected(
	    spool_event_add(fx->sp, SPOOL_EV_SENT, 1, T0, &err), &err);
	heal(fx);
	fail_on(fx, "INSERT ON smarthost_health");
	expect_injected(spool_health_put(fx->sp, &h, &err), &err);
	heal(fx);
	fail_on(fx, "INSERT ON tls_cache");
	expect_injected(spool_tls_put(fx->sp, &e, &err), &err);
	heal(fx);
	assert_int_equal(spool_tls_put(fx->sp, &e, &err), 0);
	fail_on(fx, "DELETE ON tls_cache");
	expect_injected(
	    spool_tls_forget(fx->sp, "mx.example.org", 25, &err), &err);
	heal(fx);
}

/* --- whole transactions -------------------------------------------------- */

static void
test_transaction_lost(void **state)
{
	struct fx *fx = *state;
	struct spool_outcome o = { T0, 0, NULL, NULL, NULL, NULL, NULL };
	struct spool_newmsg m = { "s@example.org", rcpts2, 2, 0, NULL, NULL,
		NULL, NULL, false, T0, NULL };
	struct tsp_mem mem;
	char qid[SPOOL_QID_SIZE];
	struct err err;

	/* SQLite rolls the whole caller transaction back (as it may on a
	 * full disk): later calls and the commit report it */
	tsp_sql_exec(fx->t->db,
	    "CREATE TRIGGER inject BEFORE INSERT ON messages"
	    " WHEN NEW.sender = 'boom' BEGIN"
	    " SELECT RAISE(ROLLBACK, 'the disk went away'); END");
	assert_int_equal(spool_begin(fx->sp, &err), 0);
	mem = (struct tsp_mem){ "one", 3, 0, 0 };
	assert_int_equal(
	    spool_add_message(fx->sp, &m, tsp_mem_read, &mem, qid, &err), 0);
	m.sender = "boom";
	mem = (struct tsp_mem){ "two", 3, 0, 0 };
	assert_int_equal(
	    spool_add_message(fx->sp, &m, tsp_mem_read, &mem, qid, &err), -1);
	m.sender = "s@example.org";
	mem = (struct tsp_mem){ "three", 5, 0, 0 };
	assert_int_equal(
	    spool_add_message(fx->sp, &m, tsp_mem_read, &mem, qid, &err), -1);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_non_null(strstr(err.msg, "the disk went away"));
	assert_int_equal(spool_rcpt_result(fx->sp, "00000000000000",
			     "a@example.org", SPOOL_RS_SENT, &o, &err),
	    -1);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_int_equal(spool_commit(fx->sp, &err), -1);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_non_null(strstr(err.msg, "the disk went away"));
	assert_int_equal(nmessages(fx), 0);
	/* the handle is usable again */
	assert_int_equal(spool_begin(fx->sp, &err), 0);
	mem = (struct tsp_mem){ "four", 4, 0, 0 };
	assert_int_equal(
	    spool_add_message(fx->sp, &m, tsp_mem_read, &mem, qid, &err), 0);
	assert_int_equal(spool_commit(fx->sp, &err), 0);
	assert_int_equal(nmessages(fx), 1);
}

static void
test_commit_fails(void **state)
{
	struct fx *fx = *state;
	struct err err;

	assert_int_equal(spool_begin(fx->sp, &err), 0);
	/* a row whose foreign key is checked only at COMMIT */
	assert_int_equal(sqlite3_exec(fx->sp->db,
			     "PRAGMA defer_foreign_keys = ON;"
			     " INSERT INTO recipients (qid, idx, address)"
			     " VALUES ('ZZZZZZZZZZZZZZ', 0, 'x')",
			     NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(spool_commit(fx->sp, &err), -1);
	assert_int_equal(err.cls, ERR_INTERNAL);
	assert_int_equal(
	    tsp_sql_int(fx->t->db, "SELECT count(*) FROM recipients"), 0);
	assert_int_equal(spool_begin(fx->sp, &err), 0);
	spool_rollback(fx->sp);
}

static void
test_close_inside_transaction(void **state)
{
	struct fx *fx = *state;
	char qid[SPOOL_QID_SIZE];
	struct spool_newmsg m = { "s@example.org", rcpts2, 2, 0, NULL, NULL,
		NULL, NULL, false, T0, NULL };
	struct tsp_mem mem = { "x", 1, 0, 0 };
	struct err err;

	assert_int_equal(spool_begin(fx->sp, &err), 0);
	assert_int_equal(
	    spool_add_message(fx->sp, &m, tsp_mem_read, &mem, qid, &err), 0);
	spool_close(fx->sp);
	fx->sp = spool_open(fx->t->db, SPOOL_CREATE, &err);
	assert_non_null(fx->sp);
	assert_int_equal(nmessages(fx), 0);
}

static void
test_writes_refused(void **state)
{
	struct fx *fx = *state;
	struct spool_tls_entry e = { "mx.example.org", 25, "starttls", 1,
		true };
	struct err err;

	assert_int_equal(sqlite3_exec(fx->sp->db, "PRAGMA query_only = ON",
			     NULL, NULL, NULL),
	    SQLITE_OK);
	assert_int_equal(spool_tls_put(fx->sp, &e, &err), -1);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_non_null(strstr(err.msg, "not writable"));
}

static void
test_path_is_directory(void **state)
{
	struct fx *fx = *state;
	struct err err;
	char *p = xasprintf("%s/dir.db", fx->t->dir);

	assert_int_equal(mkdir(p, 0700), 0);
	assert_null(spool_open(p, SPOOL_CREATE, &err));
	assert_int_equal(err.cls, ERR_TEMP);
	assert_null(strchr(err.msg, '\n'));
	xfree(p);
}

/* --- statements that cannot be prepared --------------------------------- */

/* What the authorizer refuses: an action on a table (and column). */
struct deny {
	int action;
	const char *table;
	const char *column; /* SQLITE_READ only; NULL: any */
};

static int
deny_cb(void *arg, int action, const char *a, const char *b, const char *c,
    const char *d)
{
	struct deny *dn = arg;

	(void)c;
	(void)d;
	if (action != dn->action || a == NULL || strcmp(a, dn->table) != 0)
		return SQLITE_OK;
	if (action == SQLITE_READ && dn->column != NULL &&
	    (b == NULL || strcmp(b, dn->column) != 0))
		return SQLITE_OK;
	return SQLITE_DENY;
}

/* fresh - a new handle (no cached statements) refusing dn. */
static struct spool *
fresh(struct fx *fx, struct deny *dn)
{
	struct err err;
	struct spool *sp = spool_open(fx->t->db, 0, &err);

	assert_non_null(sp);
	assert_int_equal(
	    sqlite3_set_authorizer(sp->db, deny_cb, dn), SQLITE_OK);
	return sp;
}

#define expect_fail(rc, err) expect_fail_at(rc, err, __LINE__)

static void
expect_fail_at(int rc, const struct err *err, int line)
{
	if (rc != -1)
		fprintf(stderr, "line %d: no failure\n", line);
	assert_int_equal(rc, -1);
	assert_true(err->cls != ERR_NONE);
	assert_null(strchr(err->msg, '\n'));
}

static void
test_prepare_denied(void **state)
{
	struct fx *fx = *state;
	struct spool_filter all = { true, 0, -1, false };
	struct spool_outcome o = { T0, 0, "x", NULL, NULL, NULL, NULL };
	struct spool_tls_entry e = { "mx.example.org", 25, "starttls", 1,
		true };
	struct spool_host_health h = { "primary", SPOOL_HS_OK, 0, 0, 0, 0, "",
		"" };
	struct deny upd_msgs = { SQLITE_UPDATE, "messages", NULL };
	struct deny read_rcpts = { SQLITE_READ, "recipients", NULL };
	struct deny read_owner = { SQLITE_READ, "messages", "lease_owner" };
	struct deny read_created = { SQLITE_READ, "messages", "created" };
	struct deny read_uid = { SQLITE_READ, "messages", "uid" };
	struct deny read_held = { SQLITE_READ, "messages", "held" };
	struct deny read_state = { SQLITE_READ, "messages", "state" };
	struct deny upd_rcpts = { SQLITE_UPDATE, "recipients", NULL };
	struct deny del_msgs = { SQLITE_DELETE, "messages", NULL };
	struct deny del_cnt = { SQLITE_DELETE, "counters", NULL };
	struct deny ins_tls = { SQLITE_INSERT, "tls_cache", NULL };
	struct deny del_tls = { SQLITE_DELETE, "tls_cache", NULL };
	struct deny ins_health = { SQLITE_INSERT, "smarthost_health", NULL };
	struct spool_msg_info *mi;
	char got[1][SPOOL_QID_SIZE];
	struct spool *sp;
	struct err err;
	size_t n;

	add(fx, 0);
	assert_int_equal(
	    spool_claim(fx->sp, "r", T0, 600, 1, got, &n, &err), 0);
	spool_close(fx->sp);
	fx->sp = NULL;

	sp = fresh(fx, &upd_msgs);
	expect_fail(spool_renew(sp, fx->q[0], "r", T0, 60, &err), &err);
	spool_close(sp);
	sp = fresh(fx, &read_rcpts);
	expect_fail(spool_get_claimed(sp, fx->q[0], "r", T0, &mi, &err), &err);
	expect_fail(
	    spool_msg_result(sp, fx->q[0], SPOOL_RS_SENT, &o, &n, &err), &err);
	spool_close(sp);
	sp = fresh(fx, &read_owner);
	expect_fail(spool_release_owner(sp, "r", T0, &n, &err), &err);
	spool_close(sp);
	sp = fresh(fx, &read_created);
	expect_fail(spool_expire(sp, T0, 10, &n, &err), &err);
	spool_close(sp);
	sp = fresh(fx, &read_uid);
	expect_fail(spool_hold(sp, fx->q[0], &all, &n, &err), &err);
	spool_close(sp);
	sp = fresh(fx, &read_held);
	expect_fail(spool_release_hold(sp, NULL, &all, &n, &err), &err);
	spool_close(sp);
	sp = fresh(fx, &upd_rcpts);
	expect_fail(spool_mark_reported(sp, fx->q[0], &err), &err);
	spool_close(sp);
	sp = fresh(fx, &del_msgs);
	expect_fail(spool_purge(sp, T0, 10, &n, &err), &err);
	spool_close(sp);
	sp = fresh(fx, &del_cnt);
	expect_fail(spool_purge(sp, T0, 10, &n, &err), &err);
	spool_close(sp);
	sp = fresh(fx, &ins_tls);
	expect_fail(spool_tls_put(sp, &e, &err), &err);
	spool_close(sp);
	sp = fresh(fx, &del_tls);
	expect_fail(spool_tls_forget(sp, "mx.example.org", 0, &err), &err);
	spool_close(sp);
	sp = fresh(fx, &ins_health);
	expect_fail(spool_health_put(sp, &h, &err), &err);
	spool_close(sp);
	sp = fresh(fx, &read_state);
	expect_fail(spool_bounce(sp, NULL, &all, &o, &n, &err), &err);
	spool_close(sp);
	fx->sp = spool_open(fx->t->db, 0, &err);
	assert_non_null(fx->sp);
	assert_int_equal(msg_state(fx, fx->q[0]), SPOOL_ST_SENDING);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_locked, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_lock_let_go, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_injected_results, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_injected_sweeps, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_injected_enqueue_and_tables, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_transaction_lost, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_commit_fails, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_close_inside_transaction, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_writes_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_path_is_directory, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_prepare_denied, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
