/*
 * test_spool_ops.c - relayctl's operations on the spool: hold and release
 * (one id, all, a message being sent), delete, retry and drain, bounce,
 * and the uid filter that keeps users to their own messages.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "spool/spool_int.h"
#include "test_spool_util.h"

#define T0 1700000000

static const char *const rcpts2[] = { "a@example.org", "b@example.org" };

struct fx {
	struct tsp *t;
	struct spool *sp;
	char q[4][SPOOL_QID_SIZE]; /* uid 100: q0 q1; uid 200: q2 q3 */
};

static int
setup(void **state)
{
	struct fx *fx = xcalloc(1, sizeof(*fx));
	struct err err;
	int i;

	fx->t = tsp_new();
	fx->sp = spool_open(fx->t->db, SPOOL_CREATE, &err);
	if (fx->sp == NULL)
		return -1;
	for (i = 0; i < 4; i++)
		if (tsp_add(fx->sp, "s@example.org", rcpts2, 2, "x\r\n",
			i < 2 ? 100 : 200, T0 + i, fx->q[i], &err) == -1)
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

static enum spool_msg_state
state_of(struct spool *sp, const char *qid)
{
	struct spool_msg_info *mi;
	enum spool_msg_state st;
	struct err err;

	assert_int_equal(spool_get(sp, qid, &mi, &err), 0);
	st = mi->state;
	spool_msg_info_free(mi);
	return st;
}

static void
test_hold_release(void **state)
{
	struct fx *fx = *state;
	struct spool_filter all = { true, 0, -1, false };
	struct spool_filter u100 = { false, 100, -1, false };
	char got[4][SPOOL_QID_SIZE];
	struct err err;
	size_t n;

	/* another user's message looks like no message at all */
	assert_int_equal(spool_hold(fx->sp, fx->q[2], &u100, &n, &err), -1);
	assert_int_equal(err.cls, ERR_PERM);
	assert_non_null(strstr(err.msg, "no message"));
	assert_int_equal(state_of(fx->sp, fx->q[2]), SPOOL_ST_QUEUED);
	assert_int_equal(
	    spool_hold(fx->sp, "NOSUCHMESSAGE0", &all, &n, &err), -1);
	assert_int_equal(err.cls, ERR_PERM);
	assert_int_equal(spool_hold(fx->sp, "nope", &all, &n, &err), -1);
	assert_int_equal(err.cls, ERR_PERM);

	assert_int_equal(spool_hold(fx->sp, fx->q[0], &u100, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(state_of(fx->sp, fx->q[0]), SPOOL_ST_HELD);
	/* holding again changes nothing */
	assert_int_equal(spool_hold(fx->sp, fx->q[0], &u100, &n, &err), 0);
	assert_int_equal(n, 0);
	/* held messages are not claimed */
	assert_int_equal(
	    spool_claim(fx->sp, "r", T0 + 10, 60, 4, got, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(
	    spool_release_owner(fx->sp, "r", T0 + 10, &n, &err), 0);

	/* hold all of uid 100's, then release all of them */
	assert_int_equal(spool_hold(fx->sp, NULL, &u100, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(state_of(fx->sp, fx->q[1]), SPOOL_ST_HELD);
	assert_int_equal(state_of(fx->sp, fx->q[2]), SPOOL_ST_QUEUED);
	assert_int_equal(spool_release_hold(fx->sp, NULL, &u100, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(state_of(fx->sp, fx->q[0]), SPOOL_ST_QUEUED);
	assert_int_equal(state_of(fx->sp, fx->q[1]), SPOOL_ST_QUEUED);
	assert_int_equal(
	    spool_release_hold(fx->sp, fx->q[1], &u100, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(
	    spool_release_hold(fx->sp, fx->q[3], &u100, &n, &err), -1);
	assert_int_equal(err.cls, ERR_PERM);

	/* hold --all by root */
	assert_int_equal(spool_hold(fx->sp, NULL, &all, &n, &err), 0);
	assert_int_equal(n, 4);
	assert_int_equal(spool_release_hold(fx->sp, NULL, &all, NULL, &err), 0);
	assert_int_equal(state_of(fx->sp, fx->q[3]), SPOOL_ST_QUEUED);
}

static void
test_hold_while_sending(void **state)
{
	struct fx *fx = *state;
	struct spool_filter all = { true, 0, -1, false };
	struct spool_outcome busy = { T0 + 5, T0 + 100, "rcpt_deferred", NULL,
		"450 busy", NULL, NULL };
	char got[1][SPOOL_QID_SIZE];
	enum spool_msg_state st;
	struct spool_msg_info *mi;
	struct err err;
	size_t n;

	assert_int_equal(
	    spool_claim(fx->sp, "r", T0 + 5, 60, 1, got, &n, &err), 0);
	assert_string_equal(got[0], fx->q[0]);
	assert_int_equal(spool_hold(fx->sp, fx->q[0], &all, &n, &err), 0);
	assert_int_equal(n, 1);
	mi = NULL;
	assert_int_equal(spool_get(fx->sp, fx->q[0], &mi, &err), 0);
	assert_int_equal(mi->state, SPOOL_ST_SENDING);
	assert_true(mi->held);
	spool_msg_info_free(mi);
	assert_int_equal(spool_msg_result(fx->sp, fx->q[0], SPOOL_RS_DEFERRED,
			     &busy, NULL, &err),
	    0);
	assert_int_equal(
	    spool_finish(fx->sp, fx->q[0], "r", T0 + 5, &st, &err), 0);
	assert_int_equal(st, SPOOL_ST_HELD);
	assert_int_equal(
	    spool_release_hold(fx->sp, fx->q[0], &all, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(state_of(fx->sp, fx->q[0]), SPOOL_ST_DEFERRED);

	/* a hold cancelled before the claim ends leaves no trace */
	assert_int_equal(
	    spool_claim(fx->sp, "r", T0 + 6, 60, 1, got, &n, &err), 0);
	assert_string_equal(got[0], fx->q[1]);
	assert_int_equal(spool_hold(fx->sp, fx->q[1], &all, &n, &err), 0);
	assert_int_equal(
	    spool_release_hold(fx->sp, fx->q[1], &all, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(state_of(fx->sp, fx->q[1]), SPOOL_ST_SENDING);
	assert_int_equal(
	    spool_release(fx->sp, fx->q[1], "r", T0 + 6, NULL, &err), 0);
	assert_int_equal(state_of(fx->sp, fx->q[1]), SPOOL_ST_QUEUED);
}

static void
test_delete(void **state)
{
	struct fx *fx = *state;
	struct spool_filter u200 = { false, 200, -1, false };
	struct spool_filter all = { true, 0, -1, false };
	struct spool_outcome ok = { T0, 0, NULL, NULL, "250 ok", NULL, NULL };
	char got[1][SPOOL_QID_SIZE];
	struct err err;
	size_t n;

	assert_int_equal(spool_delete(fx->sp, fx->q[0], &u200, &n, &err), -1);
	assert_int_equal(err.cls, ERR_PERM);
	assert_int_equal(spool_delete(fx->sp, fx->q[2], &u200, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(spool_delete(fx->sp, fx->q[2], &u200, &n, &err), -1);
	assert_int_equal(err.cls, ERR_PERM);

	/* q0 becomes SENT: delete --all leaves done messages unless asked */
	assert_int_equal(
	    spool_claim(fx->sp, "r", T0 + 10, 60, 1, got, &n, &err), 0);
	assert_int_equal(
	    spool_msg_result(fx->sp, fx->q[0], SPOOL_RS_SENT, &ok, NULL, &err),
	    0);
	assert_int_equal(
	    spool_finish(fx->sp, fx->q[0], "r", T0, NULL, &err), 0);
	assert_int_equal(spool_delete(fx->sp, NULL, &all, &n, &err), 0);
	assert_int_equal(n, 2);
	assert_int_equal(
	    tsp_sql_int(fx->t->db, "SELECT count(*) FROM messages"), 1);
	all.include_done = true;
	assert_int_equal(spool_delete(fx->sp, NULL, &all, &n, &err), 0);
	assert_int_equal(n, 1);
	/* everything a message owned went with it */
	assert_int_equal(tsp_sql_int(fx->t->db,
			     "SELECT (SELECT count(*) FROM messages) +"
			     " (SELECT count(*) FROM recipients) +"
			     " (SELECT count(*) FROM chunks) +"
			     " (SELECT count(*) FROM attempts)"),
	    0);
}

static void
test_retry_and_drain(void **state)
{
	struct fx *fx = *state;
	struct spool_filter u100 = { false, 100, -1, false };
	struct spool_outcome later = { T0 + 10, T0 + 3600, "rcpt_deferred",
		NULL, "450 later", NULL, NULL };
	char got[4][SPOOL_QID_SIZE];
	struct spool_msg_info *mi;
	struct err err;
	size_t n, i;

	/* every message deferred for an hour */
	assert_int_equal(
	    spool_claim(fx->sp, "r", T0 + 10, 60, 4, got, &n, &err), 0);
	assert_int_equal(n, 4);
	for (i = 0; i < 4; i++) {
		assert_int_equal(spool_msg_result(fx->sp, got[i],
				     SPOOL_RS_DEFERRED, &later, NULL, &err),
		    0);
		assert_int_equal(
		    spool_finish(fx->sp, got[i], "r", T0 + 10, NULL, &err), 0);
	}
	assert_int_equal(
	    spool_claim(fx->sp, "r", T0 + 20, 60, 4, got, &n, &err), 0);
	assert_int_equal(n, 0);

	/* retry one: due now, with its recipients */
	assert_int_equal(
	    spool_retry(fx->sp, fx->q[1], &u100, T0 + 20, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(
	    spool_retry(fx->sp, fx->q[3], &u100, T0 + 20, &n, &err), -1);
	assert_int_equal(err.cls, ERR_PERM);
	assert_int_equal(
	    spool_claim(fx->sp, "r", T0 + 20, 60, 4, got, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(got[0], fx->q[1]);
	assert_int_equal(
	    spool_get_claimed(fx->sp, fx->q[1], "r", T0 + 20, &mi, &err), 0);
	assert_int_equal(mi->nrcpts, 2);
	spool_msg_info_free(mi);
	/* a message being sent is not touched by retry */
	assert_int_equal(
	    spool_retry(fx->sp, fx->q[1], &u100, T0 + 20, &n, &err), 0);
	assert_int_equal(n, 0);

	/* the smarthost is back: everything waiting is due at once */
	assert_int_equal(spool_due_all(fx->sp, T0 + 30, &n, &err), 0);
	assert_int_equal(n, 3);
	assert_int_equal(
	    spool_claim(fx->sp, "r2", T0 + 30, 60, 4, got, &n, &err), 0);
	assert_int_equal(n, 3);
}

static void
test_bounce(void **state)
{
	struct fx *fx = *state;
	struct spool_filter all = { true, 0, -1, false };
	struct spool_filter u100 = { false, 100, -1, false };
	struct spool_outcome ret = { T0 + 50, 0, "returned_by_admin",
		"returned to the sender by the administrator", NULL, "5.0.0",
		NULL };
	struct spool_outcome noreason = { T0 + 50, 0, NULL, NULL, NULL, NULL,
		NULL };
	char rep[4][SPOOL_QID_SIZE];
	struct spool_msg_info *mi;
	struct err err;
	size_t n;

	assert_int_equal(
	    spool_bounce(fx->sp, fx->q[0], &all, &noreason, &n, &err), -1);
	assert_int_equal(err.cls, ERR_INTERNAL);
	assert_int_equal(
	    spool_bounce(fx->sp, fx->q[2], &u100, &ret, &n, &err), -1);
	assert_int_equal(err.cls, ERR_PERM);
	assert_int_equal(spool_hold(fx->sp, fx->q[0], &all, NULL, &err), 0);
	assert_int_equal(
	    spool_bounce(fx->sp, fx->q[0], &u100, &ret, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(spool_get(fx->sp, fx->q[0], &mi, &err), 0);
	assert_int_equal(mi->state, SPOOL_ST_FAILED);
	assert_false(mi->held);
	assert_int_equal(mi->done_at, T0 + 50);
	assert_string_equal(mi->reason, "returned_by_admin");
	assert_int_equal(mi->rcpts[1].state, SPOOL_RS_FAILED);
	assert_string_equal(mi->rcpts[1].status, "5.0.0");
	assert_int_equal(mi->nhist, 2);
	assert_string_equal(
	    mi->hist[0].reply, "returned to the sender by the administrator");
	spool_msg_info_free(mi);
	/* a finished message cannot be bounced again */
	assert_int_equal(
	    spool_bounce(fx->sp, fx->q[0], &u100, &ret, &n, &err), 0);
	assert_int_equal(n, 0);
	assert_int_equal(spool_unreported(fx->sp, rep, 4, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_string_equal(rep[0], fx->q[0]);
}

static void
test_state_filter(void **state)
{
	struct fx *fx = *state;
	struct spool_filter held = { true, 0, SPOOL_ST_HELD, false };
	struct spool_filter all = { true, 0, -1, false };
	struct err err;
	size_t n;

	assert_int_equal(spool_hold(fx->sp, fx->q[3], &all, NULL, &err), 0);
	/* delete only the held ones */
	assert_int_equal(spool_delete(fx->sp, NULL, &held, &n, &err), 0);
	assert_int_equal(n, 1);
	assert_int_equal(
	    tsp_sql_int(fx->t->db, "SELECT count(*) FROM messages"), 3);
	/* a state filter that does not match one id: nothing, no error */
	assert_int_equal(spool_delete(fx->sp, fx->q[0], &held, &n, &err), 0);
	assert_int_equal(n, 0);
}

static void
test_readonly_refuses_ops(void **state)
{
	struct fx *fx = *state;
	struct spool_filter all = { true, 0, -1, false };
	struct spool *ro;
	struct err err;
	size_t n = 9;

	ro = spool_open(fx->t->db, SPOOL_READONLY, &err);
	assert_non_null(ro);
	assert_int_equal(spool_hold(ro, NULL, &all, &n, &err), -1);
	assert_int_equal(err.cls, ERR_INTERNAL);
	assert_int_equal(n, 0);
	assert_int_equal(spool_due_all(ro, T0, &n, &err), -1);
	assert_int_equal(spool_expire(ro, T0, 10, &n, &err), -1);
	assert_int_equal(spool_purge(ro, T0, 10, &n, &err), -1);
	assert_int_equal(spool_release_owner(ro, "x", T0, &n, &err), -1);
	spool_close(ro);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(
		    test_hold_release, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_hold_while_sending, setup, teardown),
		cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_retry_and_drain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_bounce, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_state_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_readonly_refuses_ops, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
