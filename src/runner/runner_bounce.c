/*
 * runner_bounce.c - RFC 3464 delivery status notifications (lifecycle in
 * runner_bounce.h).
 *
 * Part of the runner: a delivery worker calls runner_bounce_one right
 * after it recorded a FAILED result, so the report goes out on the same
 * connection; relayd's loop sweeps what expiry or relayctl failed.  Owns
 * nothing beyond one report being built.
 *
 * Invariant: the report is queued and the failures marked reported in
 * the same transaction, and the failures are re-read inside it, so two
 * processes never queue the same report twice and a crash never loses
 * one.  A message with the null sender is never bounced.
 *
 * RFC 3464 (multipart/report, message/delivery-status), RFC 3462 / 6522
 * (multipart/report), RFC 3461 (RET, ENVID, NOTIFY, ORCPT), RFC 5321 4.5.5
 * (reports use the null reverse-path), RFC 3834 (Auto-Submitted).
 *
 * Security: server replies, addresses and the original message are
 * untrusted.  No header of the report carries server text; the
 * Diagnostic-Code and explanation lines carry it cleaned (printable
 * ASCII only, bounded), so a server can neither add header fields nor
 * break the MIME structure; the boundary holds random bytes.
 */
#include "config.h"

#include <string.h>
#include <time.h>

#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "mail/msgid.h"
#include "runner/runner_backoff.h"
#include "runner/runner_bounce.h"
#include "runner/runner_log.h"
#include "smtp/smtp_reason.h"

/* The longest server reply quoted in a report. */
#define RUNNER_DSN_REPLY_MAX 500
/* Header of the original quoted when bounce_return_size is 0. */
#define RUNNER_DSN_HDR_MAX (64 * 1024)
/* The largest report (the original is bounded by bounce_return_size). */
#define RUNNER_DSN_OVERHEAD (256 * 1024)

/* runner_dsn_date - an RFC 5322 date in UTC. */
static void
runner_dsn_date(time_t t, char *out, size_t size)
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
		"Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr", "May",
		"Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	if (gmtime_r(&t, &tm) == NULL || tm.tm_wday < 0 || tm.tm_wday > 6 ||
	    tm.tm_mon < 0 || tm.tm_mon > 11) {
		(void)str_copy(out, size, "Thu, 01 Jan 1970 00:00:00 +0000");
		return;
	}
	(void)str_fmt(out, size, "%s, %02d %s %04d %02d:%02d:%02d +0000",
	    days[tm.tm_wday], tm.tm_mday, months[tm.tm_mon], tm.tm_year + 1900,
	    tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* runner_dsn_safe_addr - an address that may go into a header as it is:
 * printable ASCII without specials that could end or fold the field. */
static bool
runner_dsn_safe_addr(const char *a)
{
	size_t n = 0;

	for (; a[n] != '\0'; n++) {
		unsigned char ch = (unsigned char)a[n];

		if (ch <= 0x20 || ch >= 0x7f || strchr("<>()[]\\,;:\"", ch))
			return false;
	}
	return n > 0 && n < 320;
}

/* runner_dsn_status - a stored status "d.d.d", else 5.0.0. */
static const char *
runner_dsn_status(const char *s)
{
	size_t i;

	if (s == NULL || (s[0] != '4' && s[0] != '5') || s[1] != '.')
		return "5.0.0";
	for (i = 2; s[i] != '\0'; i++)
		if ((s[i] < '0' || s[i] > '9') && s[i] != '.')
			return "5.0.0";
	return i > 4 && i < 12 ? s : "5.0.0";
}

/* runner_dsn_why - one sentence for a failure's reason name. */
static const char *
runner_dsn_why(const char *reason)
{
	enum smtp_reason r;

	if (reason == NULL)
		return "Delivery failed.";
	if (strcmp(reason, "lifetime_expired") == 0)
		return "The message could not be delivered within the retry "
		       "lifetime; relay gave up.";
	if (strcmp(reason, "returned_by_admin") == 0)
		return "The administrator of this host returned the message.";
	if (smtp_reason_from_name(reason, &r) == 0)
		return smtp_reason_text(r);
	return "Delivery failed.";
}

/* runner_dsn_failed - is recipient ri part of this report? */
static bool
runner_dsn_failed(const struct spool_rcpt_info *ri)
{
	return ri->state == SPOOL_RS_FAILED && !ri->reported;
}

/* runner_dsn_has_code - does a stored reply start with a reply code? */
static bool
runner_dsn_has_code(const char *r)
{
	return r != NULL && r[0] >= '2' && r[0] <= '5' && r[1] >= '0' &&
	    r[1] <= '9' && r[2] >= '0' && r[2] <= '9';
}

/* runner_dsn_head - the report's own header fields. */
static int
runner_dsn_head(const struct runner_dsn *d, struct buf *out)
{
	const struct conf *c = d->conf;
	char date[64];
	int rc = 0;

	runner_dsn_date(d->now, date, sizeof(date));
	rc |= buf_appendf(out, "Date: %s\r\n", date);
	rc |= buf_appendf(out,
	    "From: Mail Delivery System <MAILER-DAEMON@%s>\r\n", c->hostname);
	if (runner_dsn_safe_addr(d->mi->sender))
		rc |= buf_appendf(out, "To: <%s>\r\n", d->mi->sender);
	rc |= buf_puts(out, "Subject: Undelivered Mail Returned to Sender\r\n");
	rc |= buf_appendf(out, "Message-ID: %s\r\n", d->msgid);
	rc |= buf_puts(out, "Auto-Submitted: auto-replied\r\n");
	rc |= buf_puts(out, "MIME-Version: 1.0\r\n");
	rc |= buf_appendf(out,
	    "Content-Type: multipart/report; report-type=delivery-status;\r\n"
	    "\tboundary=\"%s\"\r\n\r\n",
	    d->boundary);
	rc |= buf_puts(out, "This is a MIME-encapsulated message.\r\n\r\n");
	return rc == 0 ? 0 : -1;
}

/* runner_dsn_text - the text/plain explanation. */
static int
runner_dsn_text(const struct runner_dsn *d, struct buf *out)
{
	const struct spool_msg_info *mi = d->mi;
	char clean[RUNNER_DSN_REPLY_MAX + 1], addr[330];
	int rc = 0;
	size_t i;

	rc |= buf_appendf(out,
	    "--%s\r\nContent-Description: Notification\r\n"
	    "Content-Type: text/plain; charset=us-ascii\r\n\r\n"
	    "This is the mail system at host %s.\r\n\r\n"
	    "Your message could not be delivered to one or more recipients.\r\n"
	    "%s\r\n\r\n",
	    d->boundary, d->conf->hostname,
	    d->full ? "It is attached below."
		    : "Its header is attached below.");
	for (i = 0; i < mi->nrcpts; i++) {
		const struct spool_rcpt_info *ri = &mi->rcpts[i];

		if (!runner_dsn_failed(ri))
			continue;
		rc |= buf_appendf(out, "<%s>: %s\r\n",
		    runner_log_clean(addr, sizeof(addr), ri->address),
		    runner_dsn_why(ri->reason));
		if (runner_dsn_has_code(ri->last_reply))
			rc |= buf_appendf(out, "    The smarthost said: %s\r\n",
			    runner_log_clean(
				clean, sizeof(clean), ri->last_reply));
		rc |= buf_puts(out, "\r\n");
	}
	return rc == 0 ? 0 : -1;
}

/* runner_dsn_rcpt - one per-recipient block of the status part. */
static int
runner_dsn_rcpt(const struct spool_rcpt_info *ri, struct buf *out)
{
	char clean[RUNNER_DSN_REPLY_MAX + 1], addr[330], date[64];
	char mta[330];
	int rc = 0;

	rc |= buf_appendf(out, "\r\nFinal-Recipient: rfc822; %s\r\n",
	    runner_log_clean(addr, sizeof(addr), ri->address));
	if (ri->orcpt != NULL && *ri->orcpt != '\0')
		rc |= buf_appendf(out, "Original-Recipient: rfc822; %s\r\n",
		    runner_log_clean(addr, sizeof(addr), ri->orcpt));
	rc |= buf_appendf(out, "Action: failed\r\nStatus: %s\r\n",
	    runner_dsn_status(ri->status));
	if (ri->remote_mta != NULL && *ri->remote_mta != '\0') {
		(void)runner_log_clean(mta, sizeof(mta), ri->remote_mta);
		mta[strcspn(mta, "[:")] = '\0';
		if (mta[0] != '\0')
			rc |= buf_appendf(out, "Remote-MTA: dns; %s\r\n", mta);
	}
	if (runner_dsn_has_code(ri->last_reply))
		rc |= buf_appendf(out, "Diagnostic-Code: smtp; %s\r\n",
		    runner_log_clean(clean, sizeof(clean), ri->last_reply));
	if (ri->last_attempt != 0) {
		runner_dsn_date(ri->last_attempt, date, sizeof(date));
		rc |= buf_appendf(out, "Last-Attempt-Date: %s\r\n", date);
	}
	return rc == 0 ? 0 : -1;
}

/* runner_dsn_status_part - the message/delivery-status part. */
static int
runner_dsn_status_part(const struct runner_dsn *d, struct buf *out)
{
	const struct spool_msg_info *mi = d->mi;
	char date[64], envid[120];
	int rc = 0;
	size_t i;

	runner_dsn_date(mi->created, date, sizeof(date));
	rc |= buf_appendf(out,
	    "--%s\r\nContent-Description: Delivery report\r\n"
	    "Content-Type: message/delivery-status\r\n\r\n"
	    "Reporting-MTA: dns; %s\r\nX-Relay-Queue-ID: %s\r\n",
	    d->boundary, d->conf->hostname, mi->qid);
	if (mi->envid != NULL && *mi->envid != '\0')
		rc |= buf_appendf(out, "Original-Envelope-Id: %s\r\n",
		    runner_log_clean(envid, sizeof(envid), mi->envid));
	rc |= buf_appendf(out, "Arrival-Date: %s\r\n", date);
	for (i = 0; i < mi->nrcpts; i++)
		if (runner_dsn_failed(&mi->rcpts[i]))
			rc |= runner_dsn_rcpt(&mi->rcpts[i], out);
	rc |= buf_puts(out, "\r\n");
	return rc == 0 ? 0 : -1;
}

/* runner_dsn_is_8bit - does p[0..n) hold a byte >= 0x80? */
static bool
runner_dsn_is_8bit(const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		if ((unsigned char)p[i] >= 0x80)
			return true;
	return false;
}

/* runner_dsn_orig_part - the original message or its header. */
static int
runner_dsn_orig_part(const struct runner_dsn *d, struct buf *out)
{
	int rc = 0;

	rc |= buf_appendf(out,
	    "--%s\r\nContent-Description: %s\r\n"
	    "Content-Type: %s\r\n%s\r\n",
	    d->boundary,
	    d->full ? "Undelivered Message" : "Undelivered Message Headers",
	    d->full ? "message/rfc822" : "text/rfc822-headers",
	    runner_dsn_is_8bit(d->orig, d->orig_len)
		? "Content-Transfer-Encoding: 8bit\r\n"
		: "");
	rc |= buf_append(out, d->orig, d->orig_len);
	if (d->orig_len < 2 || memcmp(d->orig + d->orig_len - 2, "\r\n", 2))
		rc |= buf_puts(out, "\r\n");
	rc |= buf_appendf(out, "\r\n--%s--\r\n", d->boundary);
	return rc == 0 ? 0 : -1;
}

int
runner_bounce_compose(
    const struct runner_dsn *d, struct buf *out, struct err *err)
{
	if (runner_dsn_head(d, out) == -1 || runner_dsn_text(d, out) == -1 ||
	    runner_dsn_status_part(d, out) == -1 ||
	    runner_dsn_orig_part(d, out) == -1)
		return err_set(
		    err, ERR_TEMP, "%s: bounce too large", d->mi->qid);
	return 0;
}

/* --- the original --------------------------------------------------------- */

struct runner_orig {
	struct buf *b;
	size_t cap; /* keep at most this much */
	bool hdr_only; /* stop at the end of the header */
	size_t scanned; /* header end searched up to here */
};

/* runner_orig_cut - b ends at its last complete line within cap. */
static void
runner_orig_cut(struct buf *b, size_t cap)
{
	size_t n = b->len < cap ? b->len : cap;

	while (n > 0 && b->data[n - 1] != '\n')
		n--;
	buf_truncate(b, n);
}

static int
runner_orig_chunk(const char *p, size_t n, void *arg)
{
	struct runner_orig *o = arg;
	size_t room = o->cap > o->b->len ? o->cap - o->b->len : 0;
	size_t i;

	if (buf_append(o->b, p, n < room ? n : room) == -1)
		return 1;
	if (o->hdr_only) {
		i = o->scanned > 3 ? o->scanned - 3 : 0;
		for (; i + 4 <= o->b->len; i++) {
			if (memcmp(o->b->data + i, "\r\n\r\n", 4) == 0) {
				buf_truncate(o->b, i + 2);
				return 1;
			}
		}
		o->scanned = o->b->len;
	}
	if (n > room) {
		runner_orig_cut(o->b, o->cap);
		return 1;
	}
	return 0;
}

/* runner_orig_read - the original (whole, or header) into b. */
static int
runner_orig_read(struct spool *sp, const struct conf *c,
    const struct spool_msg_info *mi, struct buf *b, bool *full, struct err *err)
{
	struct runner_orig o;

	*full = c->bounce_return_size > 0 &&
	    mi->size <= c->bounce_return_size &&
	    (mi->ret == NULL || !str_eq_ci(mi->ret, "HDRS"));
	memset(&o, 0, sizeof(o));
	o.b = b;
	o.hdr_only = !*full;
	if (*full)
		o.cap = (size_t)mi->size;
	else if (c->bounce_return_size > 0)
		o.cap = (size_t)c->bounce_return_size;
	else
		o.cap = RUNNER_DSN_HDR_MAX;
	return spool_body_read(sp, mi->qid, runner_orig_chunk, &o, err);
}

/* --- queueing ------------------------------------------------------------- */

struct runner_src {
	const struct buf *b;
	size_t off;
};

static ssize_t
runner_src_read(void *ctx, char *p, size_t n, struct err *err)
{
	struct runner_src *s = ctx;
	size_t left = s->b->len - s->off;

	(void)err;
	if (n > left)
		n = left;
	memcpy(p, s->b->data + s->off, n);
	s->off += n;
	return (ssize_t)n;
}

/* runner_bounce_quiet - failures that are reported without a report:
 * the null sender, or a sender who asked for none (NOTIFY). */
static const char *
runner_bounce_quiet(const struct spool_msg_info *mi)
{
	if (mi->sender == NULL || *mi->sender == '\0')
		return "the sender is the null sender";
	if (mi->notify != NULL && *mi->notify != '\0' &&
	    (strstr(mi->notify, "NEVER") != NULL ||
		strstr(mi->notify, "never") != NULL))
		return "the sender asked for no notification (NOTIFY=NEVER)";
	if (mi->notify != NULL && *mi->notify != '\0' &&
	    strstr(mi->notify, "FAILURE") == NULL &&
	    strstr(mi->notify, "failure") == NULL)
		return "the sender asked for no failure notification";
	return NULL;
}

/* runner_bounce_count - the failures a report would cover. */
static size_t
runner_bounce_count(const struct spool_msg_info *mi)
{
	size_t i, n = 0;

	for (i = 0; i < mi->nrcpts; i++)
		n += runner_dsn_failed(&mi->rcpts[i]);
	return n;
}

/* runner_bounce_log - the failures no worker logged (expiry, relayctl):
 * their reason is not a smarthost outcome. */
static void
runner_bounce_log(const struct spool_msg_info *mi)
{
	enum smtp_reason r;
	size_t i;

	for (i = 0; i < mi->nrcpts; i++) {
		const struct spool_rcpt_info *ri = &mi->rcpts[i];
		struct runner_log_rcpt l;

		if (!runner_dsn_failed(ri) ||
		    (ri->reason != NULL &&
			smtp_reason_from_name(ri->reason, &r) == 0))
			continue;
		memset(&l, 0, sizeof(l));
		l.qid = mi->qid;
		l.rcpt = ri->address;
		l.relay = ri->remote_mta;
		l.created = mi->created;
		l.attempts = ri->attempts;
		l.status = "bounced";
		l.reason = ri->reason != NULL ? ri->reason : "failed";
		l.text = runner_dsn_why(ri->reason);
		runner_log_rcpt(&l);
	}
}

/* runner_bounce_rcpts - where the report goes: the sender, through the
 * aliases when it is local. */
static int
runner_bounce_rcpts(const struct conf *c, const struct aliases *a,
    const char *sender, char ***out, size_t *n, struct err *err)
{
	*out = NULL;
	*n = 0;
	if (a != NULL)
		return aliases_expand(a, c, sender, out, n, err);
	*out = xcalloc(1, sizeof(**out));
	(*out)[0] = xstrdup(sender);
	*n = 1;
	return 0;
}

/* runner_bounce_queue - build and add the report for mi (inside the
 * caller's transaction). */
static int
runner_bounce_queue(struct spool *sp, const struct conf *c,
    const struct aliases *a, const struct spool_msg_info *mi, time_t now,
    char bqid[SPOOL_QID_SIZE], struct err *err)
{
	struct buf orig, rep;
	struct runner_dsn d;
	struct spool_newmsg m;
	struct runner_src src;
	char boundary[80], msgid[MSGID_MAX];
	char **rcpts = NULL;
	size_t i, nr = 0;
	int rc = -1;

	buf_init(&orig, (size_t)c->bounce_return_size + RUNNER_DSN_HDR_MAX);
	buf_init(&rep,
	    (size_t)c->bounce_return_size + RUNNER_DSN_HDR_MAX +
		RUNNER_DSN_OVERHEAD);
	memset(&d, 0, sizeof(d));
	d.conf = c;
	d.mi = mi;
	d.now = now;
	if (runner_orig_read(sp, c, mi, &orig, &d.full, err) == -1 ||
	    msgid_make(msgid, sizeof(msgid), now, c->hostname, err) == -1)
		goto out_free;
	(void)str_fmt(boundary, sizeof(boundary), "=_relay_%s_%08X%08X",
	    mi->qid, runner_backoff_random(), runner_backoff_random());
	d.orig = orig.data != NULL ? orig.data : "";
	d.orig_len = orig.len;
	d.boundary = boundary;
	d.msgid = msgid;
	if (runner_bounce_compose(&d, &rep, err) == -1 ||
	    runner_bounce_rcpts(c, a, mi->sender, &rcpts, &nr, err) == -1)
		goto out_free;
	memset(&m, 0, sizeof(m));
	m.sender = "";
	m.rcpts = (const char *const *)rcpts;
	m.nrcpts = nr;
	m.uid = mi->uid;
	m.body_type = runner_dsn_is_8bit(rep.data, rep.len) ? "8BITMIME" : NULL;
	m.smtputf8 = runner_dsn_is_8bit(mi->sender, strlen(mi->sender));
	m.created = now;
	src.b = &rep;
	src.off = 0;
	rc = spool_add_message(sp, &m, runner_src_read, &src, bqid, err);
out_free:
	for (i = 0; i < nr; i++)
		xfree(rcpts[i]);
	xfree(rcpts);
	buf_free(&orig);
	buf_free(&rep);
	return rc;
}

int
runner_bounce_one(struct spool *sp, const struct conf *c,
    const struct aliases *a, const char *qid, time_t now,
    char bqid[SPOOL_QID_SIZE], struct err *err)
{
	struct spool_msg_info *mi = NULL;
	const char *quiet;
	size_t nfailed;

	bqid[0] = '\0';
	if (spool_begin(sp, err) == -1)
		return -1;
	if (spool_get(sp, qid, &mi, err) == -1) {
		spool_rollback(sp);
		return err->cls == ERR_PERM ? 0 : -1;
	}
	nfailed = runner_bounce_count(mi);
	if (nfailed == 0) {
		spool_rollback(sp);
		spool_msg_info_free(mi);
		return 0;
	}
	quiet = runner_bounce_quiet(mi);
	if ((quiet == NULL &&
		runner_bounce_queue(sp, c, a, mi, now, bqid, err) == -1) ||
	    spool_mark_reported(sp, qid, err) == -1 ||
	    spool_commit(sp, err) == -1) {
		spool_rollback(sp);
		spool_msg_info_free(mi);
		bqid[0] = '\0';
		return -1;
	}
	runner_bounce_log(mi);
	if (quiet != NULL)
		log_info("%s: no bounce for %zu failed recipient%s: %s (kept "
			 "as failed)",
		    qid, nfailed, nfailed == 1 ? "" : "s", quiet);
	else
		log_info("%s: sender non-delivery notification: %s", qid, bqid);
	spool_msg_info_free(mi);
	return 0;
}

int
runner_bounce_sweep(struct spool *sp, const struct conf *c,
    const struct aliases *a, time_t now, size_t max, size_t *queued,
    struct err *err)
{
	char(*qids)[SPOOL_QID_SIZE] = xcalloc(max + 1, sizeof(*qids));
	char bqid[SPOOL_QID_SIZE];
	size_t i, n = 0;
	int rc = 0;

	if (queued != NULL)
		*queued = 0;
	if (spool_unreported(sp, qids, max, &n, err) == -1) {
		xfree(qids);
		return -1;
	}
	for (i = 0; i < n && rc == 0; i++) {
		rc = runner_bounce_one(sp, c, a, qids[i], now, bqid, err);
		if (rc == 0 && bqid[0] != '\0' && queued != NULL)
			(*queued)++;
	}
	xfree(qids);
	return rc;
}
