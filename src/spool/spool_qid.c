/*
 * spool_qid.c - queue ids: 14 characters of [0-9A-Z], sortable by arrival.
 *
 * Layout: 11 base-36 digits of the time in microseconds since the epoch
 * (good until the year 6100), strictly increasing within one spool handle
 * (a clock that stands still or steps back yields last+1, which makes the
 * time field a per-process sequence too), then 3 base-36 digits from
 * getrandom() mixed with the pid, which keeps ids of different processes
 * apart within the same microsecond.  Upper-case only, so an id survives
 * case-folding log tools and file systems.  A collision (same microsecond
 * and same random part) is caught by the PRIMARY KEY and the caller takes
 * the next id.
 */
#include "config.h"

#include <stdint.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

#include "spool/spool_int.h"

#define SPOOL_QID_TIME_DIGITS 11
#define SPOOL_QID_RAND_DIGITS 3

static const char spool_b36[] = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";

static void spool_b36_put(char *dst, size_t width, uint64_t v);
static uint64_t spool_qid_random(void);

void
spool_qid_next(struct spool *sp, char qid[SPOOL_QID_SIZE])
{
	struct timespec ts;
	uint64_t us = 0;

	if (clock_gettime(CLOCK_REALTIME, &ts) == 0)
		us = (uint64_t)ts.tv_sec * 1000000u +
		    (uint64_t)ts.tv_nsec / 1000u;
	if (us <= sp->qid_last)
		us = sp->qid_last + 1;
	sp->qid_last = us;
	spool_b36_put(qid, SPOOL_QID_TIME_DIGITS, us);
	spool_b36_put(qid + SPOOL_QID_TIME_DIGITS, SPOOL_QID_RAND_DIGITS,
	    spool_qid_random());
	qid[SPOOL_QID_LEN] = '\0';
}

bool
spool_qid_valid(const char *qid)
{
	size_t i;

	if (qid == NULL)
		return false;
	for (i = 0; i < SPOOL_QID_LEN; i++)
		if (!((qid[i] >= '0' && qid[i] <= '9') ||
			(qid[i] >= 'A' && qid[i] <= 'Z')))
			return false;
	return qid[SPOOL_QID_LEN] == '\0';
}

/* spool_b36_put - v as exactly width base-36 digits (high digits cut). */
static void
spool_b36_put(char *dst, size_t width, uint64_t v)
{
	size_t i;

	for (i = width; i > 0; i--) {
		dst[i - 1] = spool_b36[v % 36];
		v /= 36;
	}
}

/* spool_qid_random - random bits; the pid alone if getrandom fails. */
static uint64_t
spool_qid_random(void)
{
	uint32_t r = 0;

	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) != (ssize_t)sizeof(r))
		r = 0;
	return (uint64_t)(r ^ ((uint32_t)getpid() * 2654435761u));
}
