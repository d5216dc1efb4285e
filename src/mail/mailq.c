/*
 * mailq.c - the Postfix-format queue listing (format in mailq.h).
 *
 * Streams: each message object from relayd is decoded, printed and freed
 * before the next is read, so memory stays flat with a long queue.
 *
 * Security: addresses and server replies come from mail and from remote
 * servers; every one is printed through str_escape so control characters
 * cannot reach the caller's terminal.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "base/buf.h"
#include "base/str.h"
#include "mail/ctlclient.h"
#include "mail/mailq.h"

#define MAILQ_HEAD_FORMAT "%-11s %7s %-20s %s\n"
#define MAILQ_SENDER_FORMAT "%-11s %7llu %20.20s %s\n"
#define MAILQ_REASON_COLUMN 76

/* mailq_escape - str_escape s into b (reset first); s may be NULL. */
static const char *
mailq_escape(struct buf *b, const char *s)
{
	buf_reset(b);
	if (s != NULL && str_escape(b, s, strlen(s)) == -1)
		buf_truncate(b, 0);
	return b->data;
}

static int
mailq_werr(struct mailq_state *st, struct err *err)
{
	if (ferror(st->out))
		return err_sys(err, ERR_TEMP, "writing the queue listing");
	return 0;
}

/* mailq_rcpt_done - is this recipient finished (no longer queued)? */
static bool
mailq_rcpt_done(const struct ctlclient_rcpt *r)
{
	return r->state != NULL &&
	    (strcmp(r->state, "sent") == 0 || strcmp(r->state, "failed") == 0);
}

/* mailq_reason - the "why" Postfix shows for a recipient, or "". */
static const char *
mailq_reason(const struct ctlclient_msg *m, const struct ctlclient_rcpt *r)
{
	if (r->last_reply != NULL && *r->last_reply != '\0')
		return r->last_reply;
	if (r->reason != NULL && *r->reason != '\0')
		return m->reason_text != NULL ? m->reason_text : r->reason;
	return "";
}

static void
mailq_recipients(
    struct mailq_state *st, const struct ctlclient_msg *m, struct buf *b)
{
	const char *prev = "";
	size_t i;

	for (i = 0; i < m->nrcpts; i++) {
		const struct ctlclient_rcpt *r = &m->rcpts[i];
		const char *why = mailq_reason(m, r);

		if (mailq_rcpt_done(r))
			continue;
		if (strcmp(why, prev) != 0) {
			const char *show;
			int pad;

			prev = why;
			show = mailq_escape(
			    b, *why != '\0' ? why : "reason unavailable");
			pad = MAILQ_REASON_COLUMN - (int)strlen(show);
			(void)fprintf(
			    st->out, "%*s(%s)\n", pad > 0 ? pad : 0, "", show);
		}
		(void)fprintf(st->out, MAILQ_HEAD_FORMAT, "", "", "",
		    mailq_escape(b, r->address));
	}
}

int
mailq_format_msg(
    struct mailq_state *st, const struct ctlclient_msg *m, struct err *err)
{
	char idst[64], when[32];
	struct tm tm;
	time_t t = m->created;
	struct buf b;
	char mark = ' ';

	if (strcmp(m->state, "sending") == 0)
		mark = '*';
	else if (strcmp(m->state, "held") == 0)
		mark = '!';
	if (str_fmt(idst, sizeof(idst), "%s%c", m->id, mark) == -1)
		return err_set(err, ERR_INTERNAL, "queue id too long");
	if (localtime_r(&t, &tm) == NULL ||
	    strftime(when, sizeof(when), "%a %b %e %H:%M:%S ", &tm) == 0)
		(void)str_copy(when, sizeof(when), "?");
	if (st->count == 0)
		(void)fprintf(st->out, MAILQ_HEAD_FORMAT, "-Queue ID-",
		    "--Size--", "----Arrival Time----",
		    "-Sender/Recipient-------");
	else
		(void)fputc('\n', st->out);
	buf_init(&b, 64 * 1024);
	(void)fprintf(st->out, MAILQ_SENDER_FORMAT, idst,
	    (unsigned long long)m->size, when,
	    *m->sender != '\0' ? mailq_escape(&b, m->sender) : "MAILER-DAEMON");
	mailq_recipients(st, m, &b);
	buf_free(&b);
	st->count++;
	st->bytes += m->size;
	return mailq_werr(st, err);
}

int
mailq_format_end(struct mailq_state *st, struct err *err)
{
	if (st->count == 0)
		(void)fputs("Mail queue is empty\n", st->out);
	else
		(void)fprintf(st->out, "\n-- %llu Kbytes in %lu Request%s.\n",
		    st->bytes / 1024, st->count, st->count == 1 ? "" : "s");
	if (fflush(st->out) == EOF)
		return err_sys(err, ERR_TEMP, "writing the queue listing");
	return mailq_werr(st, err);
}

static int
mailq_line(void *arg, const char *line, size_t n, struct err *err)
{
	struct ctlclient_msg m;
	int rc;

	if (ctlclient_msg_parse(line, n, &m, err) == -1)
		return -1;
	rc = mailq_format_msg(arg, &m, err);
	ctlclient_msg_free(&m);
	return rc;
}

int
mailq_print(const struct conf *c, FILE *out, struct err *err)
{
	struct mailq_state st = { out, 0, 0 };
	struct ctlclient_status s;

	if (ctlclient_call(c, "list state=active", mailq_line, &st, &s, err) ==
	    -1)
		return -1;
	if (s.code / 100 != 2)
		return err_set(err, s.code / 100 == 4 ? ERR_TEMP : ERR_PERM,
		    "relayd: %s", s.text);
	return mailq_format_end(&st, err);
}
