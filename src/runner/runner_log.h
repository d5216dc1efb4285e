/*
 * runner_log.h - the delivery log lines, in the shape existing mail log
 * tools know (syslog facility mail, one line per recipient result):
 *
 *   QID: to=<rcpt>, relay=host[addr]:port, tls=TLSv1.3 implicit,
 *        delay=0, attempts=1, status=sent (250 2.0.0 Ok: queued as X)
 *   (delay in whole seconds: the spool keeps arrival times in seconds)
 *   QID: to=<rcpt>, ..., status=deferred (recipient_rejected: 450 ...)
 *   QID: to=<rcpt>, ..., status=bounced (recipient_rejected: 550 ...)
 *
 * Server text is cut to one bounded line with control characters
 * replaced; nothing secret is ever passed in.
 */
#ifndef RELAY_RUNNER_LOG_H
#define RELAY_RUNNER_LOG_H

#include <stddef.h>
#include <time.h>

/* One recipient result as it is logged. */
struct runner_log_rcpt {
	const char *qid;
	const char *rcpt;
	const char *relay; /* "host[addr]:port" or NULL */
	const char *tls; /* "TLSv1.3 implicit", "none" or NULL */
	time_t created; /* the message's arrival */
	int attempts; /* this recipient's attempts, this one included */
	const char *status; /* "sent", "deferred", "bounced" */
	const char *reason; /* taxonomy name, NULL for sent */
	const char *text; /* the server's reply or our text, or NULL */
};

/* runner_log_rcpt - log one recipient result (info level). */
void runner_log_rcpt(const struct runner_log_rcpt *l);

/* runner_log_clean - copy at most size - 1 bytes of s to out with control
 * and non-ASCII bytes replaced by '?' and white space runs folded: the
 * form in which server text may appear in logs and bounces.  Returns
 * out. */
char *runner_log_clean(char *out, size_t size, const char *s);

#endif
