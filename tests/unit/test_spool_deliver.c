/*
 * test_spool_deliver.c - the runner's side of the spool: claims raced by
 * forked processes (no message claimed twice), lease expiry and takeover,
 * per-recipient results and the recomputed message state (250/450/550),
 * message-wide results, releases, expiry, bounce bookkeeping, purge, the
 * next due time, smarthost health and the stats counters.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "base/str.h"
#include "spool/spool_int.h"
#include "test_spool_util.h"

#define T0 1700000000

static const char *const rcpts3[] = { "ok@example.org", "busy@example.org",
	"nouser@example.org" };

struct fx {
	struct tsp *t;
	struct spool *sp;
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
add(struct spool *sp, size_t nrcpts, time_t created, char qid[SPOOL_QID_SIZE])
{
	struct err err;

	assert_int_equal(
	    tsp_add(sp, "from@example.org", rcpts3, nrcpts,
		"Subject: t\r\n\r\nx\r\n", 1000, created, qid, &err),
	    0);
}

static struct spool_msg_info *
get(struct spool *sp, const char *qid)
{
	struct spool_msg_info *mi;
	struct err err;

	assert_int_equal(spool_get(sp, qid, &mi, &err), 0);
	return mi;
}

/* --- claims -------------------------------------------------------------- */

/* claimer - a child: claim batches of 3 until nothing is left, writing
 * each id to out. */
static void
claimer(const char *db, const char *out, int id)
{
	char qids[3][SPOOL_QID_SIZE], owner[32];
	struct spool *sp;
	struct err err;
	size_t n, i;
	FILE *f;

	snprintf(owner, sizeof(owner), "test:%d", id);
	f = fopen(out, "w");
	sp = spool_open(db, 0, &err);
	if (f == NULL || sp == NULL)
		exit(10);
	do {
		if (spool_claim(sp, owner, T0 + 10, 600, 3, qids, &n, &err) ==
		    -1) {
			fprintf(stderr, "claim: %s\n", err.msg);
			exit(11);
		}
		for (i = 0; i < n; i++)
			fprintf(f, "%s\n", qids[i]);
	} while (n > 0);
	spool_close(sp);
	exit(fclose(f) == 0 ? 0 : 12);
}

static void
test_claim_race(void **state)
{
	struct fx *fx = *state;
	enum { NMSG = 150, NCHILD = 4 };
	char qids[NMSG][SPOOL_QID_SIZE], line[64], *path;
	int seen[NMSG], i, j, total = 0;
	pid_t pids[NCHILD];
	FILE *f;

	for (i = 0; i < NMSG; i++)
		add(fx->sp, 1, T0, qids[i]);
	/* no SQLite connection may cross a fork */
	spool_close(fx->sp);
	fx->sp = NULL;
	for (i = 0; i < NCHILD; i++) {
		path = xasprintf("%s/claimed.%d", fx->t->dir, i);
		(void)fflush(NULL);
		pids[i] = fork();
		assert_true(pids[i] >= 0);
		if (pids[i] == 0)
			claimer(fx->t->db, path, i);
		xfree(path);
	}
	for (i = 0; i < NCHILD; i++)
		assert_int_equal(tsp_wait(pids[i]), 0);
	memset(seen, 0, sizeof(seen));
	for (i = 0; i < NCHILD; i++) {
		path = xasprintf("%s/claimed.%d", fx->t->dir, i);
		f = fopen(path, "r");
		assert_non_null(f);
		while (fgets(line, sizeof(line), f) != NULL) {
			line[strcspn(line, "\n")] = '\0';
			for (j = 0; j < NMSG; j++)
				if (strcmp(line, qids[j]) == 0)
					break;
			assert_true(j < NMSG);
			seen[j]++;
			total++;
		}
		assert_int_equal(fclose(f), 0);
		xfree(path);
	}
	assert_int_equal(total, NMSG);
	for (j = 0; j < NMSG; j++)
		assert_int_equal(seen[j], 1);
}

static void
test_claim_order_and_limits(void **state)
{
	struct fx *fx = *state;
	char q[3][SPOOL_QID_SIZE], got[4][SPOOL_QID_SIZE];
	struct spool_msg_info *mi;
	struct err err;
	size_t n;

	add(fx->sp, 1, T0 + 5, q[0]);
	add(fx->sp, 1, T0, q[1]);
	add(fx->sp, 1, T0 + 100, q[2]); /* not due yet at T0 + 10 */
	assert_int_equal(spool_claim(fx->sp, "", T0, 60, 4, got, &n, &err), -1);
	assert_int_equal(err.cls, ERR_INTERNAL);
	assert_int_equal(
	    spool_claim(fx->sp, "r:1", T0 + 10, 0, 4, got, &n, &err), -1);
	assert_int_equal(
	    spool_claim(fx->sp, "r:1", T0 + 10, 60, 0, got, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    spool_claim(fx->sp, "r:1", T0 + 10, 60, 1, got, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(got[0], q[1]); /* due earliest */
	assert_int_equal(
	    spool_claim(fx->sp, "r:1", T0 + 10, 60, 4, got, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(got[0], q[0]);
	mi = get(fx->sp, q[0]);
	assert_int_equal(mi->state, SPOOL_ST_SENDING);
	assert_string_equal(mi->lease_owner, "r:1");
	assert_int_equal(mi->lease_expiry, T0 + 70);
	spool_msg_info_free(mi);
}

static void
test_lease_expiry(void **state)
{
	struct fx *fx = *state;
	char q[SPOOL_QID_SIZE], got[2][SPOOL_QID_SIZE];
	struct spool_msg_info *mi;
	time_t when;
	struct err err;
	bool found;
	size_t n;

	add(fx->sp, 2, T0, q);
	assert_int_equal(spool_claim(fx->sp, "a", T0, 60, 2, got, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(spool_next_due(fx->sp, &when, &found, &err), 0);
	assert_true(found);
	assert_int_equal(when, T0 + 60);
	/* still leased: nobody else gets it */
	assert_int_equal(
	    spool_claim(fx->sp, "b", T0 + 59, 60, 2, got, &n, &err), 0);
	assert_int_equal(n, 0);
	/* a renews and keeps it longer */
	assert_int_equal(spool_renew(fx->sp, q, "a", T0 + 50, 60, &err), 0);
	assert_int_equal(
	    spool_claim(fx->sp, "b", T0 + 100, 60, 2, got, &n, &err), 0);
	assert_int_equal(n, 0);
	/* a crashed: its lease lapses and b takes the message over */
	assert_int_equal(
	    spool_claim(fx->sp, "b", T0 + 110, 60, 2, got, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(got[0], q);

	/* a's claim is gone for every claim operation */
	assert_int_equal(
	    spool_finish(fx->sp, q, "a", T0 + 111, NULL, &err), -1);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_non_null(strstr(err.msg, "no longer claimed"));
	assert_int_equal(spool_renew(fx->sp, q, "a", T0 + 111, 60, &err), -1);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_int_equal(
	    spool_get_claimed(fx->sp, q, "a", T0 + 111, &mi, &err), -1);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_null(mi);
	assert_int_equal(
	    spool_release(fx->sp, q, "a", T0 + 111, NULL, &err), -1);
	assert_int_equal(err.cls, ERR_TEMP);

	/* b holds it and ends it */
	assert_int_equal(
	    spool_get_claimed(fx->sp, q, "b", T0 + 111, &mi, &err), 0);
	assert_int_equal(mi->nrcpts, 2);
	spool_msg_info_free(mi);
	assert_int_equal(
	    spool_release(fx->sp, q, "b", T0 + 111, NULL, &err), 0);
	mi = get(fx->sp, q);
	assert_int_equal(mi->state, SPOOL_ST_QUEUED);
	assert_int_equal(mi->attempts, 0);
	assert_null(mi->lease_owner);
	assert_int_equal(mi->lease_expiry, 0);
	assert_int_equal(mi->next_attempt, T0);
	spool_msg_info_free(mi);
	assert_int_equal(spool_next_due(fx->sp, &when, &found, &err), 0);
	assert_int_equal(when, T0);
}

/* The body comes with the envelope when it is small enough, whole and
 * the same bytes as a chunk-by-chunk read; a larger one is left out, and
 * a lost claim still refuses both. */
static int
collect(const char *p, size_t n, void *arg)
{
	return buf_append(arg, p, n) == -1 ? 1 : 0;
}

static void
test_claimed_body(void **state)
{
	struct fx *fx = *state;
	char q[2][SPOOL_QID_SIZE], got[2][SPOOL_QID_SIZE];
	struct spool_msg_info *mi;
	struct buf body, whole;
	struct err err;
	bool loaded;
	size_t n;

	add(fx->sp, 1, T0, q[0]);
	add(fx->sp, 2, T0 + 1, q[1]);
	assert_int_equal(
	    spool_claim(fx->sp, "w", T0 + 5, 60, 2, got, &n, &err), 0);
	assert_int_equal(n, 2);
	buf_init(&body, SPOOL_CHUNK_SIZE);
	buf_init(&whole, SPOOL_CHUNK_SIZE);
	assert_int_equal(spool_get_claimed_body(fx->sp, q[0], "w", T0 + 5,
			     SPOOL_CHUNK_SIZE, &mi, &body, &loaded, &err),
	    0);
	assert_true(loaded);
	assert_int_equal(body.len, mi->size);
	assert_int_equal(spool_body_read_sized(
			     fx->sp, q[0], mi->size, collect, &whole, &err),
	    0);
	assert_int_equal(whole.len, body.len);
	assert_memory_equal(whole.data, body.data, body.len);
	assert_non_null(memmem(body.data, body.len, "\r\n\r\nx\r\n", 7));
	spool_msg_info_free(mi);

	/* over the limit: the envelope only */
	assert_int_equal(spool_get_claimed_body(fx->sp, q[1], "w", T0 + 5, 10,
			     &mi, &body, &loaded, &err),
	    0);
	assert_false(loaded);
	assert_int_equal(body.len, 0);
	assert_int_equal(mi->nrcpts, 2);
	spool_msg_info_free(mi);

	/* another owner gets neither */
	assert_int_equal(spool_get_claimed_body(fx->sp, q[0], "x", T0 + 5,
			     SPOOL_CHUNK_SIZE, &mi, &body, &loaded, &err),
	    -1);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_null(mi);
	assert_false(loaded);
	buf_free(&body);
	buf_free(&whole);
}

/* --- results ------------------------------------------------------------- */

static void
test_mixed_results(void **state)
{
	struct fx *fx = *state;
	struct spool_outcome ok = { T0 + 1, 0, NULL, NULL,
		"250 2.0.0 Ok: queued as X", "2.0.0", "mx[192.0.2.1]:587" };
	struct spool_outcome busy = { T0 + 1, T0 + 61, "rcpt_deferred",
		"the smarthost deferred this recipient; relay retries",
		"450 4.2.1 mailbox busy", "4.2.1", "mx[192.0.2.1]:587" };
	struct spool_outcome nouser = { T0 + 1, 0, "rcpt_rejected",
		"the smarthost refused this recipient",
		"550 5.1.1 no such user", "5.1.1", "mx[192.0.2.1]:587" };
	char q[SPOOL_QID_SIZE], got[2][SPOOL_QID_SIZE], rep[2][SPOOL_QID_SIZE];
	enum spool_msg_state st;
	struct spool_msg_info *mi;
	struct spool_stats stats;
	struct err err;
	size_t n;

	add(fx->sp, 3, T0, q);
	assert_int_equal(spool_claim(fx->sp, "r", T0, 60, 2, got, &n, &err), 0);
	assert_int_equal(spool_rcpt_result(fx->sp, q, "ok@example.org",
			     SPOOL_RS_SENT, &ok, &err),
	    0);
	assert_int_equal(spool_rcpt_result(fx->sp, q, "busy@example.org",
			     SPOOL_RS_DEFERRED, &busy, &err),
	    0);
	assert_int_equal(spool_rcpt_result(fx->sp, q, "nouser@example.org",
			     SPOOL_RS_FAILED, &nouser, &err),
	    0);
	assert_int_equal(spool_finish(fx->sp, q, "r", T0 + 2, &st, &err), 0);
	assert_int_equal(st, SPOOL_ST_DEFERRED);

	mi = get(fx->sp, q);
	assert_int_equal(mi->state, SPOOL_ST_DEFERRED);
	assert_int_equal(mi->next_attempt, T0 + 61);
	assert_int_equal(mi->attempts, 1);
	assert_string_equal(mi->reason, "rcpt_rejected");
	assert_string_equal(
	    mi->reason_text, "the smarthost refused this recipient");
	assert_int_equal(mi->rcpts[0].state, SPOOL_RS_SENT);
	assert_string_equal(
	    mi->rcpts[0].last_reply, "250 2.0.0 Ok: queued as X");
	assert_null(mi->rcpts[0].reason);
	assert_int_equal(mi->rcpts[0].last_attempt, T0 + 1);
	assert_int_equal(mi->rcpts[1].state, SPOOL_RS_DEFERRED);
	assert_int_equal(mi->rcpts[1].next_attempt, T0 + 61);
	assert_string_equal(mi->rcpts[1].reason, "rcpt_deferred");
	assert_int_equal(mi->rcpts[2].state, SPOOL_RS_FAILED);
	assert_string_equal(mi->rcpts[2].status, "5.1.1");
	assert_string_equal(mi->rcpts[2].remote_mta, "mx[192.0.2.1]:587");
	assert_string_equal(mi->rcpts[2].last_reply, "550 5.1.1 no such user");
	assert_false(mi->rcpts[2].reported);
	assert_int_equal(mi->nhist, 3);
	assert_string_equal(mi->hist[0].reason, "sent");
	assert_string_equal(mi->hist[0].rcpt, "ok@example.org");
	assert_string_equal(mi->hist[2].reason, "rcpt_rejected");
	assert_string_equal(mi->hist[2].relay, "mx[192.0.2.1]:587");
	spool_msg_info_free(mi);

	/* the failure waits for its bounce */
	assert_int_equal(spool_unreported(fx->sp, rep, 2, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rep[0], q);
	assert_int_equal(spool_mark_reported(fx->sp, q, &err), 0);
	assert_int_equal(spool_unreported(fx->sp, rep, 2, &n, &err), 0);
	assert_int_equal(n, 0);

	/* only the deferred recipient is retried, and only when due */
	assert_int_equal(
	    spool_claim(fx->sp, "r", T0 + 60, 60, 2, got, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    spool_claim(fx->sp, "r", T0 + 61, 60, 2, got, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(
	    spool_get_claimed(fx->sp, q, "r", T0 + 61, &mi, &err), 0);
	assert_int_equal(mi->nrcpts, 1);
	assert_string_equal(mi->rcpts[0].address, "busy@example.org");
	assert_int_equal(mi->rcpts[0].attempts, 1);
	spool_msg_info_free(mi);
	ok.now = T0 + 62;
	assert_int_equal(spool_rcpt_result(fx->sp, q, "busy@example.org",
			     SPOOL_RS_SENT, &ok, &err),
	    0);
	/* a late result for a finished recipient changes nothing */
	assert_int_equal(spool_rcpt_result(fx->sp, q, "nouser@example.org",
			     SPOOL_RS_SENT, &ok, &err),
	    0);
	assert_int_equal(spool_finish(fx->sp, q, "r", T0 + 63, &st, &err), 0);
	assert_int_equal(st, SPOOL_ST_FAILED);
	mi = get(fx->sp, q);
	assert_int_equal(mi->state, SPOOL_ST_FAILED);
	assert_int_equal(mi->done_at, T0 + 63);
	assert_int_equal(mi->next_attempt, 0);
	assert_int_equal(mi->attempts, 2);
	assert_int_equal(mi->rcpts[2].state, SPOOL_RS_FAILED);
	assert_int_equal(mi->nhist, 4);
	spool_msg_info_free(mi);

	/* counters: 2 sent, 1 deferred, 1 bounced, 1 received */
	assert_int_equal(spool_stats(fx->sp, T0 + 100, &stats, &err), 0);
	assert_int_equal(stats.hour[SPOOL_EV_RECEIVED], 1);
	assert_int_equal(stats.hour[SPOOL_EV_SENT], 2);
	assert_int_equal(stats.hour[SPOOL_EV_DEFERRED], 1);
	assert_int_equal(stats.hour[SPOOL_EV_BOUNCED], 1);
	assert_int_equal(stats.day[SPOOL_EV_SENT], 2);
	/* two hours later only the day window has them */
	assert_int_equal(spool_stats(fx->sp, T0 + 7200, &stats, &err), 0);
	assert_int_equal(stats.hour[SPOOL_EV_SENT], 0);
	assert_int_equal(stats.day[SPOOL_EV_SENT], 2);
	assert_int_equal(spool_stats(fx->sp, T0 + 2 * 86400, &stats, &err), 0);
	assert_int_equal(stats.day[SPOOL_EV_SENT], 0);
}

static void
test_all_sent(void **state)
{
	struct fx *fx = *state;
	struct spool_outcome ok = { T0 + 1, 0, NULL, NULL, "250 ok", NULL,
		NULL };
	char q[SPOOL_QID_SIZE], got[1][SPOOL_QID_SIZE];
	enum spool_msg_state st;
	struct spool_msg_info *mi;
	struct err err;
	size_t n;

	add(fx->sp, 2, T0, q);
	assert_int_equal(spool_claim(fx->sp, "r", T0, 60, 1, got, &n, &err), 0);
	/* recorded inside one caller transaction after the final dot */
	assert_int_equal(spool_begin(fx->sp, &err), 0);
	assert_int_equal(
	    spool_msg_result(fx->sp, q, SPOOL_RS_SENT, &ok, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(spool_finish(fx->sp, q, "r", T0 + 1, &st, &err), 0);
	assert_int_equal(spool_commit(fx->sp, &err), 0);
	assert_int_equal(st, SPOOL_ST_SENT);
	mi = get(fx->sp, q);
	assert_int_equal(mi->state, SPOOL_ST_SENT);
	assert_null(mi->reason);
	assert_int_equal(mi->done_at, T0 + 1);
	spool_msg_info_free(mi);
}

static void
test_results_rolled_back(void **state)
{
	struct fx *fx = *state;
	struct spool_outcome ok = { T0 + 1, 0, NULL, NULL, "250 ok", NULL,
		NULL };
	char q[SPOOL_QID_SIZE], got[1][SPOOL_QID_SIZE];
	struct spool_msg_info *mi;
	struct err err;
	size_t n;

	add(fx->sp, 2, T0, q);
	assert_int_equal(spool_claim(fx->sp, "r", T0, 60, 1, got, &n, &err), 0);
	assert_int_equal(spool_begin(fx->sp, &err), 0);
	assert_int_equal(
	    spool_msg_result(fx->sp, q, SPOOL_RS_SENT, &ok, &n, &err), 0);
	spool_rollback(fx->sp);
	mi = get(fx->sp, q);
	assert_int_equal(mi->state, SPOOL_ST_SENDING);
	assert_int_equal(mi->rcpts[0].state, SPOOL_RS_PENDING);
	assert_int_equal(mi->nhist, 0);
	spool_msg_info_free(mi);
}

static void
test_connection_lost_mid_message(void **state)
{
	struct fx *fx = *state;
	struct spool_outcome lost = { T0 + 5, T0 + 65, "connection_lost",
		"the smarthost closed the connection during DATA", NULL, NULL,
		"mx[192.0.2.1]:587" };
	char q[SPOOL_QID_SIZE], got[1][SPOOL_QID_SIZE];
	enum spool_msg_state st;
	struct spool_msg_info *mi;
	struct err err;
	size_t n;

	add(fx->sp, 3, T0, q);
	assert_int_equal(spool_claim(fx->sp, "r", T0, 60, 1, got, &n, &err), 0);
	assert_int_equal(
	    spool_msg_result(fx->sp, q, SPOOL_RS_DEFERRED, &lost, &n, &err), 0);
	assert_int_equal(n, 3);
	/* nothing left due: a second message-wide result changes nothing */
	assert_int_equal(
	    spool_msg_result(fx->sp, q, SPOOL_RS_FAILED, &lost, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(spool_finish(fx->sp, q, "r", T0 + 5, &st, &err), 0);
	assert_int_equal(st, SPOOL_ST_DEFERRED);
	mi = get(fx->sp, q);
	assert_int_equal(mi->next_attempt, T0 + 65);
	assert_string_equal(mi->reason, "connection_lost");
	assert_int_equal(mi->nhist, 3);
	assert_string_equal(mi->hist[0].reply,
	    "the smarthost closed the connection during DATA");
	spool_msg_info_free(mi);
}

static void
test_release_with_outcome(void **state)
{
	struct fx *fx = *state;
	struct spool_outcome refused = { T0 + 1, T0 + 300, "connect_refused",
		"nothing listens on mx:587; check host and port", NULL, NULL,
		"mx[192.0.2.1]:587" };
	char q[2][SPOOL_QID_SIZE], got[2][SPOOL_QID_SIZE];
	struct spool_msg_info *mi;
	struct err err;
	size_t n;

	add(fx->sp, 1, T0, q[0]);
	add(fx->sp, 1, T0, q[1]);
	assert_int_equal(
	    spool_claim(fx->sp, "r:7", T0, 600, 2, got, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(
	    spool_release(fx->sp, q[0], "r:7", T0 + 1, &refused, &err), 0);
	mi = get(fx->sp, q[0]);
	assert_int_equal(mi->state, SPOOL_ST_QUEUED);
	assert_int_equal(mi->next_attempt, T0 + 300);
	assert_int_equal(mi->attempts, 1);
	assert_string_equal(mi->reason, "connect_refused");
	assert_int_equal(mi->rcpts[0].attempts, 0);
	assert_int_equal(mi->nhist, 1);
	assert_null(mi->hist[0].rcpt);
	assert_string_equal(mi->hist[0].reason, "connect_refused");
	spool_msg_info_free(mi);
	assert_int_equal(
	    spool_claim(fx->sp, "r:8", T0 + 299, 60, 2, got, &n, &err), 0);
	assert_int_equal(n, 0);

	/* the other claim of r:7 goes back when its worker dies */
	assert_int_equal(
	    spool_release_owner(fx->sp, "r:7", T0 + 2, &n, &err), 0);
	assert_int_equal(n, 1);
	mi = get(fx->sp, q[1]);
	assert_int_equal(mi->state, SPOOL_ST_QUEUED);
	assert_int_equal(mi->next_attempt, T0);
	spool_msg_info_free(mi);
	assert_int_equal(
	    spool_release_owner(fx->sp, "r:7", T0 + 2, &n, &err), 0);
	assert_int_equal(n, 0);
}

static void
test_result_errors(void **state)
{
	struct fx *fx = *state;
	struct spool_outcome ok = { T0, 0, NULL, NULL, NULL, NULL, NULL };
	char q[SPOOL_QID_SIZE], got[1][SPOOL_QID_SIZE];
	struct spool_filter all = { true, 0, -1, true };
	struct spool_msg_info *mi;
	struct err err;
	size_t n;

	add(fx->sp, 1, T0, q);
	assert_int_equal(spool_rcpt_result(fx->sp, q, "who@example.org",
			     SPOOL_RS_SENT, &ok, &err),
	    -1);
	assert_int_equal(err.cls, ERR_PERM);
	assert_int_equal(spool_rcpt_result(fx->sp, q, "ok@example.org",
			     SPOOL_RS_PENDING, &ok, &err),
	    -1);
	assert_int_equal(err.cls, ERR_INTERNAL);
	assert_int_equal(spool_rcpt_result(fx->sp, q, "ok@example.org",
			     SPOOL_RS_SENT, NULL, &err),
	    -1);
	assert_int_equal(
	    spool_msg_result(fx->sp, q, SPOOL_RS_PENDING, &ok, &n, &err), -1);
	assert_int_equal(spool_msg_result(fx->sp, "00000000000000",
			     SPOOL_RS_SENT, &ok, &n, &err),
	    -1);
	assert_int_equal(err.cls, ERR_PERM);

	/* the message is deleted while a runner holds it */
	assert_int_equal(spool_claim(fx->sp, "r", T0, 60, 1, got, &n, &err), 0);
	assert_int_equal(spool_delete(fx->sp, q, &all, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(spool_rcpt_result(fx->sp, q, "ok@example.org",
			     SPOOL_RS_SENT, &ok, &err),
	    -1);
	assert_int_equal(err.cls, ERR_PERM);
	assert_int_equal(spool_finish(fx->sp, q, "r", T0, NULL, &err), -1);
	assert_int_equal(err.cls, ERR_PERM);
	assert_int_equal(spool_get_claimed(fx->sp, q, "r", T0, &mi, &err), -1);
	assert_int_equal(err.cls, ERR_PERM);
	assert_int_equal(spool_mark_reported(fx->sp, q, &err), -1);
	assert_int_equal(err.cls, ERR_PERM);
	assert_int_equal(spool_renew(fx->sp, "bad id", "r", T0, 60, &err), -1);
	assert_int_equal(err.cls, ERR_PERM);
}

/* --- sweeps -------------------------------------------------------------- */

static void
test_expire(void **state)
{
	struct fx *fx = *state;
	struct spool_outcome busy = { T0 + 10, T0 + 4000, "rcpt_deferred", NULL,
		"451 4.3.0 try later", "4.3.0", NULL };
	struct spool_filter all = { true, 0, -1, false };
	char old[SPOOL_QID_SIZE], young[SPOOL_QID_SIZE], held[SPOOL_QID_SIZE];
	char got[1][SPOOL_QID_SIZE], rep[4][SPOOL_QID_SIZE];
	struct spool_msg_info *mi;
	struct spool_stats stats;
	struct err err;
	size_t n;

	add(fx->sp, 2, T0, old);
	add(fx->sp, 1, T0 + 3000, young);
	add(fx->sp, 1, T0, held);
	assert_int_equal(spool_hold(fx->sp, held, &all, &n, &err), 0);
	/* one recipient of the old message was deferred with a reply */
	assert_int_equal(
	    spool_claim(fx->sp, "r", T0 + 10, 60, 1, got, &n, &err), 0);
	assert_string_equal(got[0], old);
	assert_int_equal(spool_rcpt_result(fx->sp, old, "ok@example.org",
			     SPOOL_RS_DEFERRED, &busy, &err),
	    0);
	assert_int_equal(spool_rcpt_result(fx->sp, old, "busy@example.org",
			     SPOOL_RS_DEFERRED, &busy, &err),
	    0);
	assert_int_equal(
	    spool_finish(fx->sp, old, "r", T0 + 10, NULL, &err), 0);

	assert_int_equal(spool_expire(fx->sp, T0 + 3600, 3600, &n, &err), 0);
	assert_int_equal(n, 1);
	mi = get(fx->sp, old);
	assert_int_equal(mi->state, SPOOL_ST_FAILED);
	assert_string_equal(mi->reason, "lifetime_expired");
	assert_int_equal(mi->rcpts[0].state, SPOOL_RS_FAILED);
	assert_string_equal(mi->rcpts[0].reason, "lifetime_expired");
	assert_string_equal(mi->rcpts[0].status, "4.4.7");
	/* the last server reply stays for the DSN */
	assert_string_equal(mi->rcpts[0].last_reply, "451 4.3.0 try later");
	assert_string_equal(mi->hist[mi->nhist - 1].reason, "lifetime_expired");
	spool_msg_info_free(mi);
	mi = get(fx->sp, young);
	assert_int_equal(mi->state, SPOOL_ST_QUEUED);
	spool_msg_info_free(mi);
	mi = get(fx->sp, held);
	assert_int_equal(mi->state, SPOOL_ST_HELD);
	spool_msg_info_free(mi);

	assert_int_equal(spool_unreported(fx->sp, rep, 4, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rep[0], old);
	assert_int_equal(spool_stats(fx->sp, T0 + 3600, &stats, &err), 0);
	assert_int_equal(stats.hour[SPOOL_EV_BOUNCED], 2);
	assert_int_equal(stats.day[SPOOL_EV_DEFERRED], 2);
}

static void
test_purge(void **state)
{
	struct fx *fx = *state;
	struct spool_outcome ok = { T0, 0, NULL, NULL, "250 ok", NULL, NULL };
	struct spool_outcome no = { T0, 0, "rcpt_rejected", NULL, "550 no",
		"5.1.1", NULL };
	char sent[SPOOL_QID_SIZE], failed[SPOOL_QID_SIZE], act[SPOOL_QID_SIZE];
	char got[2][SPOOL_QID_SIZE];
	struct spool_stats stats;
	struct err err;
	size_t n;

	add(fx->sp, 1, T0, sent);
	add(fx->sp, 1, T0, failed);
	assert_int_equal(spool_claim(fx->sp, "r", T0, 60, 2, got, &n, &err), 0);
	assert_int_equal(
	    spool_msg_result(fx->sp, sent, SPOOL_RS_SENT, &ok, NULL, &err), 0);
	assert_int_equal(
	    spool_msg_result(fx->sp, failed, SPOOL_RS_FAILED, &no, NULL, &err),
	    0);
	assert_int_equal(spool_finish(fx->sp, sent, "r", T0, NULL, &err), 0);
	assert_int_equal(spool_finish(fx->sp, failed, "r", T0, NULL, &err), 0);
	add(fx->sp, 1, T0, act);

	/* too early */
	assert_int_equal(spool_purge(fx->sp, T0 + 10, 3600, &n, &err), 0);
	assert_int_equal(n, 0);
	/* late enough: the sent one goes; the failed one waits for its
	 * bounce; the active one stays */
	assert_int_equal(spool_purge(fx->sp, T0 + 3600, 3600, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(spool_mark_reported(fx->sp, failed, &err), 0);
	assert_int_equal(spool_purge(fx->sp, T0 + 3600, 3600, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(
	    tsp_sql_int(fx->t->db, "SELECT count(*) FROM messages"), 1);
	assert_int_equal(
	    tsp_sql_int(fx->t->db, "SELECT count(*) FROM chunks"), 1);
	assert_int_equal(
	    tsp_sql_int(fx->t->db, "SELECT count(*) FROM attempts"), 0);
	/* old counters go after two days */
	assert_int_equal(
	    spool_purge(fx->sp, T0 + 3 * 86400, 3600, NULL, &err), 0);
	assert_int_equal(
	    tsp_sql_int(fx->t->db, "SELECT count(*) FROM counters"), 0);
	assert_int_equal(spool_stats(fx->sp, T0 + 60, &stats, &err), 0);
	assert_int_equal(stats.day[SPOOL_EV_RECEIVED], 0);
}

static void
test_next_due(void **state)
{
	struct fx *fx = *state;
	char q[SPOOL_QID_SIZE];
	struct err err;
	time_t when;
	bool found;

	assert_int_equal(spool_next_due(fx->sp, &when, &found, &err), 0);
	assert_false(found);
	add(fx->sp, 1, T0 + 50, q);
	add(fx->sp, 1, T0 + 20, q);
	assert_int_equal(spool_next_due(fx->sp, &when, &found, &err), 0);
	assert_true(found);
	assert_int_equal(when, T0 + 20);
}

static void
test_due_count(void **state)
{
	struct fx *fx = *state;
	char q[SPOOL_QID_SIZE], got[2][SPOOL_QID_SIZE];
	struct err err;
	size_t n, i;

	assert_int_equal(spool_due_count(fx->sp, T0, 10, &n, &err), 0);
	assert_int_equal(n, 0);
	for (i = 0; i < 5; i++)
		add(fx->sp, 1, T0 + (time_t)i, q);
	/* due by next_attempt, and never counted past max */
	assert_int_equal(spool_due_count(fx->sp, T0 + 2, 10, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(spool_due_count(fx->sp, T0 + 10, 2, &n, &err), 0);
	assert_int_equal(n, 2);
	/* claimed ones are due again only when their lease has run out */
	assert_int_equal(
	    spool_claim(fx->sp, "w", T0 + 10, 30, 2, got, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(spool_due_count(fx->sp, T0 + 10, 10, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(spool_due_count(fx->sp, T0 + 41, 10, &n, &err), 0);
	assert_int_equal(n, 5);
}

/* --- health and counters ------------------------------------------------- */

static int
health_cb(const struct spool_host_health *h, void *arg)
{
	struct buf *b = arg;

	(void)buf_appendf(b, "%s=%s/%d;", h->name,
	    spool_host_state_name(h->state), h->failures);
	return 0;
}

static void
test_health_and_events(void **state)
{
	struct fx *fx = *state;
	struct spool_host_health h, got;
	struct spool_stats stats;
	struct err err;
	struct buf b;
	bool found;

	assert_int_equal(
	    spool_health_get(fx->sp, "primary", &got, &found, &err), 0);
	assert_false(found);
	memset(&h, 0, sizeof(h));
	(void)str_copy(h.name, sizeof(h.name), "primary");
	h.state = SPOOL_HS_BACKOFF;
	h.failures = 3;
	h.next_try = T0 + 240;
	h.since = T0;
	(void)str_copy(h.last_reason, sizeof(h.last_reason), "connect_timeout");
	(void)str_copy(h.last_text, sizeof(h.last_text), "no answer");
	assert_int_equal(spool_health_put(fx->sp, &h, &err), 0);
	(void)str_copy(h.name, sizeof(h.name), "backup");
	h.state = SPOOL_HS_FAULT;
	h.failures = 1;
	assert_int_equal(spool_health_put(fx->sp, &h, &err), 0);
	assert_int_equal(
	    spool_health_get(fx->sp, "primary", &got, &found, &err), 0);
	assert_true(found);
	assert_int_equal(got.state, SPOOL_HS_BACKOFF);
	assert_int_equal(got.failures, 3);
	assert_int_equal(got.next_try, T0 + 240);
	assert_string_equal(got.last_reason, "connect_timeout");
	assert_string_equal(got.last_text, "no answer");
	/* replace */
	got.state = SPOOL_HS_OK;
	got.failures = 0;
	got.last_ok = T0 + 300;
	assert_int_equal(spool_health_put(fx->sp, &got, &err), 0);
	buf_init(&b, 1024);
	assert_int_equal(spool_health_list(fx->sp, health_cb, &b, &err), 0);
	assert_string_equal(b.data, "backup=fault/1;primary=ok/0;");
	buf_free(&b);
	h.state = (enum spool_host_state)7;
	assert_int_equal(spool_health_put(fx->sp, &h, &err), -1);
	assert_int_equal(err.cls, ERR_INTERNAL);
	assert_string_equal(spool_host_state_name(SPOOL_HS_FAULT), "fault");
	assert_string_equal(
	    spool_host_state_name((enum spool_host_state)9), "unknown");

	assert_int_equal(
	    spool_event_add(fx->sp, SPOOL_EV_BOUNCED, 5, T0, &err), 0);
	assert_int_equal(
	    spool_event_add(fx->sp, SPOOL_EV_BOUNCED, 2, T0 + 30, &err), 0);
	assert_int_equal(
	    spool_event_add(fx->sp, SPOOL_EV_BOUNCED, 0, T0, &err), 0);
	assert_int_equal(
	    spool_event_add(fx->sp, SPOOL_EV_COUNT, 1, T0, &err), -1);
	assert_int_equal(spool_stats(fx->sp, T0 + 60, &stats, &err), 0);
	assert_int_equal(stats.hour[SPOOL_EV_BOUNCED], 7);
	assert_int_equal(stats.hour[SPOOL_EV_SENT], 0);
	assert_string_equal(spool_event_name(SPOOL_EV_DEFERRED), "deferred");
	assert_string_equal(spool_event_name(SPOOL_EV_COUNT), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_claim_race, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_claim_order_and_limits, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_lease_expiry, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_claimed_body, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_mixed_results, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_sent, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_results_rolled_back, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_connection_lost_mid_message, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_release_with_outcome, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_result_errors, setup, teardown),
		cmocka_unit_test_setup_teardown(test_expire, setup, teardown),
		cmocka_unit_test_setup_teardown(test_purge, setup, teardown),
		cmocka_unit_test_setup_teardown(test_next_due, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_due_count, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_health_and_events, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
