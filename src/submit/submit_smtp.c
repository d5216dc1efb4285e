/*
 * submit_smtp.c - "sendmail -bs": an SMTP session on standard input and
 * output (SENDMAIL.md 1.3.10, 1.4 item 11), for the PHP mailers and
 * others that talk SMTP to a sendmail process.
 *
 *   stdin --read--> smtpd_feed --replies--> out --(before each wait)--> stdout
 *                       | each accepted message: submission stream
 *                       v
 *                   submit_sink (relayd's socket, else the maildrop)
 *
 * The session itself (commands, DATA, header policy, the stream) is
 * mail/smtpd; this file only moves bytes.  A message is answered 250 only
 * after submit_sink_commit: relayd's "250 QID" after its commit, or the
 * maildrop file fsync'd and renamed.  Replies are gathered and written
 * before sendmail waits for more input, so pipelined commands get their
 * replies in one write (RFC 2920).
 *
 * Timeouts: command_timeout for a command, data_timeout inside DATA; then
 * 421 and the session ends.  Exit status: 0 when the session ended with
 * QUIT or at end of input between messages; 75 when it ended inside DATA
 * or timed out (that message was not queued) or standard output failed.
 *
 * Security: sendmail runs as the caller (at most setgid relay); relayd
 * takes the submitter from SO_PEERCRED as for any submission.  The
 * envelope sender is what MAIL FROM says, as -f allows on the command
 * line.
 */
#include "config.h"

#include <errno.h>
#include <poll.h>
#include <string.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/log.h"
#include "base/xalloc.h"
#include "mail/smtpd.h"
#include "submit/submit.h"
#include "submit/submit_sink.h"

#define SUBMIT_SMTP_IN 65536
#define SUBMIT_SMTP_OUT (256 * 1024)

struct submit_smtp {
	const struct conf *conf;
	struct smtpd *sd;
	struct submit_sink *sink;
	struct buf out; /* replies not yet written */
	bool out_failed;
	bool timed_out;
};

/* submit_smtp_flush - write the gathered replies to stdout. */
static void
submit_smtp_flush(struct submit_smtp *x)
{
	struct err err;

	if (x->out.len == 0)
		return;
	if (!x->out_failed &&
	    fs_write_all(STDOUT_FILENO, x->out.data, x->out.len, &err) == -1)
		x->out_failed = true;
	buf_reset(&x->out);
}

static void
submit_smtp_reply(void *arg, const char *p, size_t n)
{
	struct submit_smtp *x = arg;

	if (x->out.len + n > x->out.max)
		submit_smtp_flush(x);
	(void)buf_append(&x->out, p, n);
}

static int
submit_smtp_open(void *arg, struct err *err)
{
	struct submit_smtp *x = arg;

	x->sink = submit_sink_open(x->conf, err);
	return x->sink != NULL ? 0 : -1;
}

static int
submit_smtp_write(void *arg, const char *p, size_t n, struct err *err)
{
	struct submit_smtp *x = arg;

	if (submit_sink_write(x->sink, p, n, err) == 0)
		return 0;
	submit_sink_abort(x->sink);
	x->sink = NULL;
	return -1;
}

static int
submit_smtp_commit(void *arg, char *qid, size_t qid_size, struct err *err)
{
	struct submit_smtp *x = arg;
	bool maildrop = submit_sink_is_maildrop(x->sink);
	int rc;

	/* the replies so far go out before sendmail waits for relayd */
	submit_smtp_flush(x);
	rc = submit_sink_commit(x->sink, qid, qid_size, err);
	x->sink = NULL;
	if (rc == -1)
		log_warnx("uid=%lu from=<%s> not queued (SMTP): %s",
		    (unsigned long)getuid(), smtpd_sender(x->sd), err->msg);
	else if (maildrop)
		log_info("uid=%lu from=<%s> relayd is not running; the message "
			 "waits in the maildrop as %s",
		    (unsigned long)getuid(), smtpd_sender(x->sd), qid);
	return rc;
}

static void
submit_smtp_abort(void *arg)
{
	struct submit_smtp *x = arg;

	submit_sink_abort(x->sink);
	x->sink = NULL;
}

static const struct smtpd_ops submit_smtp_ops = {
	submit_smtp_reply,
	submit_smtp_open,
	submit_smtp_write,
	submit_smtp_commit,
	submit_smtp_abort,
};

/* submit_smtp_wait - wait for input; 1 readable, 0 timed out. */
static int
submit_smtp_wait(const struct submit_smtp *x)
{
	long long secs = smtpd_in_data(x->sd) ? x->conf->data_timeout
					      : x->conf->command_timeout;
	struct pollfd pfd = { STDIN_FILENO, POLLIN, 0 };
	int ms = secs > 2000000 ? 2000000000 : (int)secs * 1000;
	int rc;

	do
		rc = poll(&pfd, 1, ms);
	while (rc == -1 && errno == EINTR);
	return rc == 0 ? 0 : 1;
}

/* submit_smtp_loop - read and feed until the session is closed. */
static void
submit_smtp_loop(struct submit_smtp *x)
{
	char *in = xmalloc(SUBMIT_SMTP_IN);

	while (smtpd_phase(x->sd) != SMTPD_CLOSED && !x->out_failed) {
		ssize_t r;

		submit_smtp_flush(x);
		if (submit_smtp_wait(x) == 0) {
			smtpd_timeout(x->sd);
			x->timed_out = true;
			break;
		}
		r = fs_read_some(STDIN_FILENO, in, SUBMIT_SMTP_IN);
		if (r <= 0) {
			smtpd_eof(x->sd);
			break;
		}
		(void)smtpd_feed(x->sd, in, (size_t)r);
	}
	submit_smtp_flush(x);
	xfree(in);
}

int
submit_smtp(const struct conf *c, const struct submit_args *a, struct err *err)
{
	struct submit_smtp x;
	int rc = 0;

	memset(&x, 0, sizeof(x));
	x.conf = c;
	buf_init(&x.out, SUBMIT_SMTP_OUT);
	x.sd = smtpd_new(c, &submit_smtp_ops, &x);
	smtpd_set_defaults(x.sd, a->full_name, a->body_type);
	submit_sink_signals();
	smtpd_start(x.sd);
	submit_smtp_loop(&x);
	if (x.out_failed)
		rc = err_set(err, ERR_TEMP,
		    "-bs: cannot write to standard output; the session "
		    "was cut short");
	else if (x.timed_out)
		rc = err_set(err, ERR_TEMP,
		    "-bs: the client was silent for too long; the session "
		    "was closed");
	else if (smtpd_abandoned(x.sd))
		rc = err_set(err, ERR_TEMP,
		    "-bs: the session ended in the middle of a message, which "
		    "was not queued");
	smtpd_free(x.sd);
	submit_sink_abort(x.sink);
	buf_free(&x.out);
	return rc;
}
