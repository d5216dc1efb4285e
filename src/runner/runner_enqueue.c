/*
 * runner_enqueue.c - hop limit, aliases and the group commit (see
 * runner_enqueue.h).
 *
 * Durability: a submission gets "250 QID" only after spool_commit returned
 * 0 for the transaction holding it (WAL, synchronous=FULL); a failed
 * transaction is rolled back whole, so nothing is ever half-queued.
 * Nothing here blocks on a client: every submission is complete in memory
 * or in its temp file before spool_begin.
 *
 * RFC 5321 section 6.3 (loop detection by counting Received: fields).
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "mail/addr.h"
#include "runner/runner_enqueue.h"

/* One submission ready to go into a transaction. */
struct runner_prep {
	struct runner_sub *sub;
	char **rcpts; /* expanded */
	size_t nrcpts;
};

static void
runner_prep_clear(struct runner_prep *pp)
{
	size_t i;

	for (i = 0; i < pp->nrcpts; i++)
		xfree(pp->rcpts[i]);
	xfree(pp->rcpts);
	pp->rcpts = NULL;
	pp->nrcpts = 0;
}

/* runner_prepare - hop limit and alias expansion; -1 when refused (the
 * submission is then DONE with its reply). */
static int
runner_prepare(const struct runner_enqueue *ex, struct runner_prep *pp)
{
	struct runner_sub *s = pp->sub;
	const struct subproto_env *env = runner_sub_env(s);
	struct err err;
	size_t i;

	err_clear(&err);
	if (s->body.received > ex->conf->hop_limit) {
		runner_sub_reply(s, 554, "5.4.6",
		    "too many hops: %d Received: headers (hop_limit %d)",
		    s->body.received, ex->conf->hop_limit);
		goto out_refused;
	}
	if (env->sender != NULL && *env->sender != '\0' &&
	    addr_check_envelope(env->sender, &err) == -1) {
		runner_sub_fail(s, &err);
		goto out_refused;
	}
	for (i = 0; i < env->nrcpts; i++) {
		if (aliases_expand(ex->aliases, ex->conf, env->rcpts[i],
			&pp->rcpts, &pp->nrcpts, &err) == -1) {
			if (err.cls == ERR_PERM)
				err.smtp_code = 553;
			runner_sub_fail(s, &err);
			goto out_refused;
		}
	}
	for (i = 0; i < pp->nrcpts; i++) {
		if (addr_check_envelope(pp->rcpts[i], &err) == -1) {
			runner_sub_fail(s, &err);
			goto out_refused;
		}
	}
	if (pp->nrcpts == 0) {
		runner_sub_reply(
		    s, 553, "5.1.3", "no recipients left after aliases");
		goto out_refused;
	}
	return 0;
out_refused:
	s->state = RUNNER_SUB_DONE;
	log_info("submission from uid %lu refused: %s", (unsigned long)s->uid,
	    s->reply);
	runner_prep_clear(pp);
	return -1;
}

/* runner_add - spool_add_message for one prepared submission. */
static int
runner_add(
    const struct runner_enqueue *ex, struct runner_prep *pp, struct err *err)
{
	struct runner_sub *s = pp->sub;
	const struct subproto_env *env = runner_sub_env(s);
	struct spool_newmsg m;
	struct runner_replay rp;
	int rc;

	memset(&m, 0, sizeof(m));
	m.sender = env->sender != NULL ? env->sender : "";
	m.rcpts = (const char *const *)pp->rcpts;
	m.nrcpts = pp->nrcpts;
	m.uid = s->uid;
	m.ret = env->ret;
	m.envid = env->envid;
	m.body_type = env->body_type;
	m.notify = env->notify;
	m.smtputf8 = env->smtputf8;
	m.created = s->arrived;
	memset(s->qid, 0, sizeof(s->qid));
	runner_replay_init(
	    &rp, &s->body, ex->conf->hostname, s->uid, s->arrived, s->qid);
	rc =
	    spool_add_message(ex->sp, &m, runner_replay_read, &rp, s->qid, err);
	s->stored = rp.head.len + s->body.size;
	runner_replay_free(&rp);
	return rc;
}

/* runner_commit - one transaction over pp[0..n); 0 or -1 with err. */
static int
runner_commit(const struct runner_enqueue *ex, struct runner_prep *pp, size_t n,
    struct err *err)
{
	size_t i;

	if (spool_begin(ex->sp, err) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (runner_add(ex, &pp[i], err) == -1) {
			spool_rollback(ex->sp);
			return -1;
		}
	}
	return spool_commit(ex->sp, err);
}

/* runner_accepted - the answer of a queued submission (its log line is
 * written by runner_sub_log once the answer is out). */
static void
runner_accepted(struct runner_prep *pp)
{
	struct runner_sub *s = pp->sub;

	s->state = RUNNER_SUB_DONE;
	s->code = 250;
	s->nrcpts = pp->nrcpts;
	(void)str_fmt(s->reply, sizeof(s->reply), "250 %s", s->qid);
}

static void
runner_failed(struct runner_prep *pp, const struct err *err)
{
	struct runner_sub *s = pp->sub;

	runner_sub_fail(s, err);
	s->state = RUNNER_SUB_DONE;
	log_warnx("submission from uid %lu not queued: %s",
	    (unsigned long)s->uid, err->msg);
}

void
runner_enqueue_batch(
    const struct runner_enqueue *ex, struct runner_sub **subs, size_t n)
{
	struct runner_prep *pp = xcalloc(n + 1, sizeof(*pp));
	struct err err;
	size_t i, np = 0;

	for (i = 0; i < n; i++) {
		if (subs[i]->state != RUNNER_SUB_READY)
			continue;
		pp[np].sub = subs[i];
		if (runner_prepare(ex, &pp[np]) == 0)
			np++;
	}
	err_clear(&err);
	if (np > 0 && runner_commit(ex, pp, np, &err) == 0) {
		for (i = 0; i < np; i++)
			runner_accepted(&pp[i]);
	} else if (np == 1) {
		runner_failed(&pp[0], &err);
	} else if (np > 1) {
		log_warnx("group commit of %zu messages failed (%s); "
			  "retrying one by one",
		    np, err.msg);
		for (i = 0; i < np; i++) {
			err_clear(&err);
			if (runner_commit(ex, &pp[i], 1, &err) == 0)
				runner_accepted(&pp[i]);
			else
				runner_failed(&pp[i], &err);
		}
	}
	for (i = 0; i < np; i++)
		runner_prep_clear(&pp[i]);
	xfree(pp);
}
