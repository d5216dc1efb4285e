/*
 * smtpd.h - the SMTP server side of relay (an ESMTP subset, RFC 5321),
 * shared by "sendmail -bs" (stdin/stdout) and relayd's loopback listener
 * (TCP on 127.0.0.1 / ::1).  It does no I/O of its own: the driver feeds
 * it the bytes the client sent and receives replies and the message
 * through callbacks, so a pipe and a non-blocking socket drive it alike.
 *
 * Session (the function performing each transition):
 *
 *   smtpd_new --smtpd_start (220)--> COMMAND <-------------------------+
 *                                     | smtpd_feed: HELO/EHLO, MAIL,    |
 *                                     | RCPT, RSET, NOOP, VRFY, HELP    |
 *                                     | DATA (354)                      |
 *                                     v                                 |
 *                                   DATA --"." -> ops->commit --0/-1----+
 *                                     |                 |               |
 *                                     |                 1 (pending)     |
 *                                     |                 v               |
 *                                     |               WAIT --smtpd_commit_done
 *                                     v
 *   QUIT (221), smtpd_eof, smtpd_timeout (421), too many errors (421)
 *                                   --> CLOSED
 *
 * One message: MAIL FROM and RCPT TO build the envelope (addresses
 * qualified with conf->domain and checked by addr_check_envelope).  The
 * DATA lines are dot-unstuffed, canonicalised as sendmail's stdin is
 * (canon.h: bare CR and bare LF end lines, NUL bytes removed), the header
 * section goes through prepare_headers (the local submission policy),
 * and the message leaves as one submission stream (subproto.h) through
 * ops->open / ops->write / ops->commit, so sendmail hands it to relayd or
 * the maildrop and relayd feeds it to its intake, exactly like any other
 * submission.  The reply to the final dot is 250 only after ops->commit
 * reported the message queued.  A failure (too large, hop limit, relayd
 * refused) is answered after the final dot with the matching code and
 * the message is dropped (ops->abort); the session goes on.
 *
 * Framing (RFC 5321 4.1.1.4, 4.5.2): the data ends only at CRLF "." CRLF;
 * a dot-line after a bare LF is data (no SMTP smuggling through this
 * server).  Command lines end at LF (a CR before it is dropped), at most
 * SMTPD_MAX_LINE bytes; a longer one is answered 500 and skipped up to the
 * next LF.  Reading ahead is allowed (PIPELINING): smtpd_feed consumes
 * commands in order and stops only while a commit is pending.
 *
 * Memory per session: one command line, one line piece of the data
 * (CANON_PIECE_MAX), the header section (HDR_MAX_SIZE at most) and one
 * stream chunk (SMTPD_CHUNK) plus its framing; never the message body.
 *
 * Security: every byte from the client is untrusted; replies never echo
 * control characters.  The server never relays by itself: the message
 * goes to relay's own queue, with the submitter the driver vouches for.
 */
#ifndef RELAY_SMTPD_H
#define RELAY_SMTPD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "mail/conf.h"

/* Longest command line accepted, without its line end. */
#define SMTPD_MAX_LINE 2048
/* Bad commands tolerated before the session is closed with 421. */
#define SMTPD_MAX_ERRORS 20
/* Message bytes gathered into one chunk of the submission stream. */
#define SMTPD_CHUNK (64 * 1024)

enum smtpd_phase {
	SMTPD_COMMAND = 0, /* waiting for a command */
	SMTPD_DATA, /* reading message data */
	SMTPD_WAIT, /* the message's commit is pending */
	SMTPD_CLOSED, /* QUIT, end of input, timeout or too many errors */
};

/* The driver's side.  Every callback gets the arg given to smtpd_new. */
struct smtpd_ops {
	/* reply - send p[0..n) (complete reply lines, CRLF) to the client;
	 * the driver may buffer it, but must send everything before it
	 * waits for more input (PIPELINING, RFC 2920). */
	void (*reply)(void *arg, const char *p, size_t n);
	/* open - a message's submission stream is about to start.  0, or
	 * -1 with err (the message is refused after the final dot). */
	int (*open)(void *arg, struct err *err);
	/* write - the next bytes of the submission stream.  0, or -1 with
	 * err (the driver has dropped the message; abort is not called). */
	int (*write)(void *arg, const char *p, size_t n, struct err *err);
	/* commit - the stream is complete.  0: queued, qid[0..qid_size)
	 * filled; 1: pending, the driver calls smtpd_commit_done later;
	 * -1 with err: not queued (its class and smtp_code choose the
	 * reply).  After 0 or -1 the message is gone from the driver. */
	int (*commit)(void *arg, char *qid, size_t qid_size, struct err *err);
	/* abort - drop the message opened and not committed. */
	void (*abort)(void *arg);
};

struct smtpd;

/* smtpd_new - a session for a client the driver has accepted.  c gives
 * hostname, domain, max_message_size, hop_limit and the header policy; it
 * is borrowed and may be replaced with smtpd_set_conf.  Owned by the
 * caller (smtpd_free). */
struct smtpd *smtpd_new(
    const struct conf *c, const struct smtpd_ops *ops, void *arg);

/* smtpd_free - release; a message in progress is aborted.  NULL is a
 * no-op. */
void smtpd_free(struct smtpd *s);

/* smtpd_set_conf - use c from now on (relayd reloaded its configuration;
 * the old one may be freed after this call). */
void smtpd_set_conf(struct smtpd *s, const struct conf *c);

/* smtpd_set_defaults - full_name for a generated From (sendmail -F; NULL:
 * none) and the body type used when MAIL has no BODY= ("7BIT",
 * "8BITMIME" or NULL).  Both are copied. */
void smtpd_set_defaults(
    struct smtpd *s, const char *full_name, const char *body_type);

/* smtpd_start - send the 220 greeting. */
void smtpd_start(struct smtpd *s);

/* smtpd_feed - consume client bytes p[0..n), replying through ops.
 * Returns how many were consumed: all of them, unless a commit became
 * pending (SMTPD_WAIT: feed the rest after smtpd_commit_done) or the
 * session closed (the rest is to be discarded). */
size_t smtpd_feed(struct smtpd *s, const char *p, size_t n);

/* smtpd_eof - the client's input ended.  A message in DATA is aborted
 * (nothing of it is queued); the session is CLOSED.  No reply. */
void smtpd_eof(struct smtpd *s);

/* smtpd_timeout - the client was silent too long: 421, a message in
 * progress is aborted, CLOSED. */
void smtpd_timeout(struct smtpd *s);

/* smtpd_shutdown - the server stops: 421 and CLOSED (as smtpd_timeout
 * with another text). */
void smtpd_shutdown(struct smtpd *s);

/* smtpd_commit_done - the pending commit finished: qid when queued, else
 * err (NULL with qid NULL is taken as a temporary failure).  Sends the
 * reply to the final dot and returns to COMMAND. */
void smtpd_commit_done(struct smtpd *s, const char *qid, const struct err *err);

/* smtpd_phase - where the session is. */
enum smtpd_phase smtpd_phase(const struct smtpd *s);

/* smtpd_in_data - is the session between DATA's 354 and the final dot
 * (the driver then applies data_timeout instead of command_timeout)? */
bool smtpd_in_data(const struct smtpd *s);

/* smtpd_abandoned - did the input end (or time out) inside DATA, so that
 * a message was dropped without an answer? */
bool smtpd_abandoned(const struct smtpd *s);

/* smtpd_accepted - messages answered 250 so far. */
uint64_t smtpd_accepted(const struct smtpd *s);

/* smtpd_sender - the envelope sender of the transaction in progress ("",
 * the null sender, also when there is none); for the driver's logs. */
const char *smtpd_sender(const struct smtpd *s);

#endif
