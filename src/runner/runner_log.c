/*
 * runner_log.c - delivery log lines (shape in runner_log.h).
 *
 * Part of the runner: runner_trouble.c logs each recipient result here
 * after the transaction recording it committed, so the log never claims
 * more than the spool holds.  Owns nothing.
 *
 * Security: server text is untrusted.  It is never a format string, it
 * is cut to a bounded length, and control or 8-bit bytes become '?', so
 * a server cannot forge log lines or smuggle bytes into a bounce.
 */
#include "config.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/log.h"
#include "runner/runner_log.h"

/* The longest piece of server text that goes into one log line. */
#define RUNNER_LOG_TEXT_MAX 400

char *
runner_log_clean(char *out, size_t size, const char *s)
{
	size_t o = 0;
	bool space = false;

	if (size == 0)
		return out;
	for (; s != NULL && *s != '\0' && o + 1 < size; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			space = o > 0;
			continue;
		}
		if (space && o + 2 < size)
			out[o++] = ' ';
		space = false;
		out[o++] = ch < 0x20 || ch >= 0x7f ? '?' : (char)ch;
	}
	out[o] = '\0';
	return out;
}

/* runner_log_delay - whole seconds since created: the spool keeps the
 * arrival time in seconds, so finer digits would be invented. */
static long long
runner_log_delay(time_t created)
{
	time_t now = time(NULL);

	return now > created ? (long long)(now - created) : 0;
}

void
runner_log_rcpt(const struct runner_log_rcpt *l)
{
	char text[RUNNER_LOG_TEXT_MAX + 1];
	char rcpt[300];

	(void)runner_log_clean(text, sizeof(text), l->text);
	(void)runner_log_clean(rcpt, sizeof(rcpt), l->rcpt);
	if (l->reason != NULL && *l->reason != '\0')
		log_info("%s: to=<%s>, relay=%s, tls=%s, delay=%lld, "
			 "attempts=%d, status=%s (%s: %s)",
		    l->qid, rcpt, l->relay != NULL ? l->relay : "none",
		    l->tls != NULL && *l->tls ? l->tls : "none",
		    runner_log_delay(l->created), l->attempts, l->status,
		    l->reason, text);
	else
		log_info("%s: to=<%s>, relay=%s, tls=%s, delay=%lld, "
			 "attempts=%d, status=%s (%s)",
		    l->qid, rcpt, l->relay != NULL ? l->relay : "none",
		    l->tls != NULL && *l->tls ? l->tls : "none",
		    runner_log_delay(l->created), l->attempts, l->status, text);
}
