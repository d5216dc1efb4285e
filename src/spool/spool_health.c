/*
 * spool_health.c - smarthost health rows and the per-minute event
 * counters behind "relayctl stats".
 *
 * Place in the flow: the runner records per smarthost block whether it
 * answers (OK), is backing off after connection failures (BACKOFF), or has
 * a relay fault that holds the queue (FAULT), so failover skips a dead
 * host after one short attempt per pass and the state survives a restart;
 * relayctl why/stats/health read it back.  Counters are bumped inside the
 * transactions that record results, so they never disagree with the
 * queue; rows older than two days go in spool_purge.
 */
#include "config.h"

#include <string.h>

#include "spool/spool_int.h"

static const char *const host_state_names[] = { "ok", "backoff", "fault" };
static const char *const event_names[] = { "received", "sent", "deferred",
	"bounced" };

static void spool_health_fill(sqlite3_stmt *st, struct spool_host_health *h);

const char *
spool_host_state_name(enum spool_host_state st)
{
	if ((size_t)st < sizeof(host_state_names) / sizeof(host_state_names[0]))
		return host_state_names[st];
	return "unknown";
}

const char *
spool_event_name(enum spool_event ev)
{
	if ((size_t)ev < sizeof(event_names) / sizeof(event_names[0]))
		return event_names[ev];
	return "unknown";
}

/* spool_health_fill - an entry from a row of the health table. */
static void
spool_health_fill(sqlite3_stmt *st, struct spool_host_health *h)
{
	memset(h, 0, sizeof(*h));
	spool_col_copy(st, 0, h->name, sizeof(h->name));
	h->state = (enum spool_host_state)sqlite3_column_int(st, 1);
	h->failures = sqlite3_column_int(st, 2);
	h->next_try = (time_t)sqlite3_column_int64(st, 3);
	h->since = (time_t)sqlite3_column_int64(st, 4);
	h->last_ok = (time_t)sqlite3_column_int64(st, 5);
	spool_col_copy(st, 6, h->last_reason, sizeof(h->last_reason));
	spool_col_copy(st, 7, h->last_text, sizeof(h->last_text));
}

int
spool_health_get(struct spool *sp, const char *name,
    struct spool_host_health *out, bool *found, struct err *err)
{
	static const char sql[] =
	    "SELECT name, state, failures, next_try, since, last_ok,"
	    " last_reason, last_text FROM smarthost_health WHERE name = ?1";
	sqlite3_stmt *st;
	int rc;

	*found = false;
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_text(st, 1, name, SQLITE_OK);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		spool_health_fill(st, out);
		*found = true;
	} else if (rc != SQLITE_DONE) {
		(void)spool_db_err(sp, rc, "reading smarthost health", err);
	}
	spool_db_done(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : -1;
}

int
spool_health_put(
    struct spool *sp, const struct spool_host_health *h, struct err *err)
{
	static const char sql[] =
	    "INSERT OR REPLACE INTO smarthost_health (name, state, failures,"
	    " next_try, since, last_ok, last_reason, last_text)"
	    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
	struct spool_tx tx;
	sqlite3_stmt *st;
	int rc;

	if (h->name[0] == '\0' ||
	    memchr(h->name, '\0', sizeof(h->name)) == NULL ||
	    (unsigned)h->state > SPOOL_HS_FAULT)
		return err_set(
		    err, ERR_INTERNAL, "spool_health_put: bad name or state");
	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		goto out_abort;
	rc = spool_bind_text(st, 1, h->name, SQLITE_OK);
	rc = spool_bind_int(st, 2, (int64_t)h->state, rc);
	rc = spool_bind_int(st, 3, h->failures, rc);
	rc = spool_bind_int(st, 4, (int64_t)h->next_try, rc);
	rc = spool_bind_int(st, 5, (int64_t)h->since, rc);
	rc = spool_bind_int(st, 6, (int64_t)h->last_ok, rc);
	rc = spool_bind_text(st, 7,
	    memchr(h->last_reason, '\0', sizeof(h->last_reason)) != NULL
		? h->last_reason
		: "",
	    rc);
	rc = spool_bind_text(st, 8,
	    memchr(h->last_text, '\0', sizeof(h->last_text)) != NULL
		? h->last_text
		: "",
	    rc);
	if (spool_db_run(sp, st, rc, "writing smarthost health", err) == -1)
		goto out_abort;
	return spool_db_tx_leave(sp, &tx, err);

out_abort:
	spool_db_tx_abort(sp, &tx, err);
	return -1;
}

int
spool_health_list(struct spool *sp,
    int (*cb)(const struct spool_host_health *h, void *arg), void *arg,
    struct err *err)
{
	static const char sql[] =
	    "SELECT name, state, failures, next_try, since, last_ok,"
	    " last_reason, last_text FROM smarthost_health ORDER BY name";
	struct spool_host_health h;
	sqlite3_stmt *st;
	int rc;

	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		spool_health_fill(st, &h);
		if (cb(&h, arg) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	if (rc != SQLITE_DONE)
		(void)spool_db_err(sp, rc, "reading smarthost health", err);
	spool_db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* --- counters ------------------------------------------------------------ */

int
spool_event_bump(struct spool *sp, enum spool_event ev, uint64_t n, time_t now,
    struct err *err)
{
	static const char sql[] =
	    "INSERT INTO counters (minute, event, n) VALUES (?1, ?2, ?3)"
	    " ON CONFLICT (minute, event) DO UPDATE SET n = n + excluded.n";
	sqlite3_stmt *st;
	int rc;

	if (n == 0)
		return 0;
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_int(st, 1, (int64_t)(now / 60), SQLITE_OK);
	rc = spool_bind_int(st, 2, (int64_t)ev, rc);
	rc = spool_bind_int(st, 3, (int64_t)n, rc);
	if (rc != SQLITE_OK) {
		spool_db_done(st);
		return spool_db_err(sp, rc, "counting events", err);
	}
	return spool_db_step_done(sp, st, "counting events", err);
}

int
spool_event_add(struct spool *sp, enum spool_event ev, uint64_t n, time_t now,
    struct err *err)
{
	struct spool_tx tx;

	if ((unsigned)ev >= SPOOL_EV_COUNT)
		return err_set(err, ERR_INTERNAL, "spool_event_add: bad event");
	if (spool_db_tx_enter(sp, &tx, err) == -1)
		return -1;
	if (spool_event_bump(sp, ev, n, now, err) == -1) {
		spool_db_tx_abort(sp, &tx, err);
		return -1;
	}
	return spool_db_tx_leave(sp, &tx, err);
}

int
spool_stats(
    struct spool *sp, time_t now, struct spool_stats *out, struct err *err)
{
	static const char sql[] =
	    "SELECT event, total(CASE WHEN minute > ?1 THEN n END), total(n)"
	    " FROM counters WHERE minute > ?2 AND minute <= ?3 GROUP BY event";
	int64_t minute = (int64_t)(now / 60);
	sqlite3_stmt *st;
	unsigned ev;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((st = spool_db_prep(sp, sql, err)) == NULL)
		return -1;
	rc = spool_bind_int(st, 1, minute - 60, SQLITE_OK);
	rc = spool_bind_int(st, 2, minute - 24 * 60, rc);
	rc = spool_bind_int(st, 3, minute, rc);
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		ev = (unsigned)sqlite3_column_int(st, 0);
		if (ev < SPOOL_EV_COUNT) {
			out->hour[ev] = (uint64_t)sqlite3_column_int64(st, 1);
			out->day[ev] = (uint64_t)sqlite3_column_int64(st, 2);
		}
		rc = SQLITE_OK;
	}
	if (rc != SQLITE_DONE)
		(void)spool_db_err(sp, rc, "reading stats", err);
	spool_db_done(st);
	return rc == SQLITE_DONE ? 0 : -1;
}
