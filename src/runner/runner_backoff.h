/*
 * runner_backoff.h - how long the runner waits before the next try, as
 * data (the table in runner_backoff.c sits next to this diagram).
 *
 *   failures:  1       2         3              k
 *   wait:     base -> 2*base -> 4*base -> ... -> min(base * 2^(k-1), max)
 *              |                                   |
 *              +-- each wait is drawn from [w - w*jitter%, w], so a burst
 *                  of deferrals spreads out and never waits past max
 *
 *   RUNNER_BO_RCPT   a recipient answered 4xx, or its transaction was
 *                    cut off (failures = the recipient's attempts so far)
 *   RUNNER_BO_HOST   a smarthost could not be reached or dropped the
 *                    session (failures = consecutive failed sessions);
 *                    the whole host waits, not each message
 *   RUNNER_BO_FAULT  a relay fault (credentials, certificate, downgrade,
 *                    configuration): retry.max every time, no jitter
 *
 * base, max come from relay.conf's retry { base max } block.
 */
#ifndef RELAY_RUNNER_BACKOFF_H
#define RELAY_RUNNER_BACKOFF_H

#include <stdint.h>
#include <time.h>

#include "mail/conf.h"

enum runner_backoff_kind {
	RUNNER_BO_RCPT = 0,
	RUNNER_BO_HOST,
	RUNNER_BO_FAULT,
};

/* runner_backoff_name - "recipient", "smarthost", "fault". */
const char *runner_backoff_name(enum runner_backoff_kind k);

/* runner_backoff_delay - seconds to wait after the failures-th failure
 * in a row (1 for the first) of kind k; rnd picks the jitter (any value,
 * e.g. runner_backoff_random()).  Always >= 1 and <= retry.max. */
long long runner_backoff_delay(const struct conf *c, enum runner_backoff_kind k,
    int failures, uint32_t rnd);

/* runner_backoff_next - now + runner_backoff_delay(..., a fresh random). */
time_t runner_backoff_next(
    const struct conf *c, enum runner_backoff_kind k, int failures, time_t now);

/* runner_backoff_random - 32 random bits from the kernel (a clock mix
 * when none are available: jitter needs spread, not secrecy). */
uint32_t runner_backoff_random(void);

#endif
