/*
 * runner_backoff.c - the backoff schedule as a table (diagram and kinds
 * in runner_backoff.h).
 *
 * Part of the runner: runner_trouble.c asks here when a deferred
 * recipient, a smarthost in BACKOFF or one with a relay fault is due
 * again.  Owns no state.  Invariant: every delay is within [1, retry.max]
 * seconds; a fault always waits exactly retry.max.
 */
#include "config.h"

#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "runner/runner_backoff.h"

/* Where a schedule starts and how it grows. */
enum runner_bo_start {
	RUNNER_BO_FROM_BASE, /* retry.base, doubling */
	RUNNER_BO_AT_MAX, /* retry.max, constant */
};

struct runner_bo_rule {
	const char *name;
	enum runner_bo_start start;
	int jitter_pct; /* wait drawn from [w - w*pct/100, w] */
};

/* The schedule, one row per enum runner_backoff_kind (in order). */
static const struct runner_bo_rule runner_bo_rules[] = {
	[RUNNER_BO_RCPT] = { "recipient", RUNNER_BO_FROM_BASE, 20 },
	[RUNNER_BO_HOST] = { "smarthost", RUNNER_BO_FROM_BASE, 20 },
	[RUNNER_BO_FAULT] = { "fault", RUNNER_BO_AT_MAX, 0 },
};

const char *
runner_backoff_name(enum runner_backoff_kind k)
{
	if ((size_t)k >= sizeof(runner_bo_rules) / sizeof(runner_bo_rules[0]))
		return "unknown";
	return runner_bo_rules[k].name;
}

long long
runner_backoff_delay(const struct conf *c, enum runner_backoff_kind k,
    int failures, uint32_t rnd)
{
	const struct runner_bo_rule *r;
	long long base = c->retry_base > 0 ? c->retry_base : 1;
	long long max = c->retry_max >= base ? c->retry_max : base;
	long long w = base, lo;
	int i;

	if ((size_t)k >= sizeof(runner_bo_rules) / sizeof(runner_bo_rules[0]))
		k = RUNNER_BO_HOST;
	r = &runner_bo_rules[k];
	if (r->start == RUNNER_BO_AT_MAX)
		w = max;
	for (i = 1; i < failures && w < max; i++)
		w *= 2;
	if (w > max)
		w = max;
	lo = w - w * r->jitter_pct / 100;
	if (lo < 1)
		lo = 1;
	return lo + (long long)(rnd % (uint32_t)(w - lo + 1));
}

time_t
runner_backoff_next(
    const struct conf *c, enum runner_backoff_kind k, int failures, time_t now)
{
	return now +
	    (time_t)runner_backoff_delay(
		c, k, failures, runner_backoff_random());
}

uint32_t
runner_backoff_random(void)
{
	struct timespec ts;
	uint32_t v;

	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) == (ssize_t)sizeof(v))
		return v;
	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint32_t)ts.tv_nsec ^ ((uint32_t)getpid() << 16);
}
