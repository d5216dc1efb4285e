/*
 * runner_enqueue.h - from complete submissions to committed spool rows:
 * hop limit, alias expansion, relayd's Received: header and the group
 * commit (all submissions that completed in one event-loop iteration share
 * one transaction, so they share one fsync).
 */
#ifndef RELAY_RUNNER_ENQUEUE_H
#define RELAY_RUNNER_ENQUEUE_H

#include <stddef.h>

#include "mail/aliases.h"
#include "mail/conf.h"
#include "runner/runner_intake.h"
#include "spool/spool.h"

struct runner_enqueue {
	struct spool *sp;
	const struct conf *conf;
	const struct aliases *aliases;
};

/* runner_enqueue_batch - commit every READY submission of subs[0..n).
 * Each one leaves DONE with code 250 and reply "250 QID" after the commit,
 * or with a refusal (451 temporary, 553 bad address, 554 hop limit) and
 * nothing of it in the spool.  When the shared transaction fails, each
 * submission is retried alone so one bad message cannot sink the rest.
 * Submissions in other states are left alone.  Logs one line per
 * message. */
void runner_enqueue_batch(
    const struct runner_enqueue *ex, struct runner_sub **subs, size_t n);

#endif
