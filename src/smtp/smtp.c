/*
 * smtp.c - mail transactions on an open session, and closing it.
 *
 * Part of smtp: the runner calls smtp_send() once per message on a
 * session from smtp_open(), smtp_sync() before it waits for anything,
 * then smtp_close().  See the lifecycle in smtp.h.  When the server
 * offers CHUNKING and PIPELINING, smtp_send hands the checked transaction
 * to smtp_bdat.c (BDAT and the window); everything else is here.
 *
 * Data: the session (owned), the caller's message description and
 * outcome arrays (borrowed for the call, or until msg_done when the
 * transaction is left PENDING or in the window), and at most one PENDING
 * transaction (s->pending, owned; never with a window).  Invariants: a recipient is OK only after its
 * RCPT and the final dot were accepted; every recipient gets exactly one
 * final outcome per call (and one rcpt_done call), every call one
 * msg_done; a pending transaction ends (its reply read, msg_done called)
 * before any reply of the transaction behind it is read; once a session
 * is BROKEN nothing more is sent on it and nothing is pending.
 *
 * Implements RFC 5321 3.3 (MAIL, RCPT, DATA, RSET, QUIT), RFC 2920
 * (PIPELINING: RSET, MAIL, every RCPT and DATA in one write; 3.1, the
 * next transaction's commands sent behind the final dot), RFC 1870
 * (SIZE=), RFC 6152 (BODY=8BITMIME), RFC 6531 (SMTPUTF8), RFC 3461 (RET,
 * ENVID, NOTIFY).  An 8-bit message to a server without 8BITMIME is sent
 * as it is, as Postfix does; a message that needs SMTPUTF8 is not.
 *
 * Security: envelope addresses and DSN values with control characters,
 * spaces or angle brackets are refused before anything is sent, so no
 * command can be injected through them; the body goes through the DATA
 * encoder (CRLF only, dot-stuffed).
 */
#include "config.h"

#include <assert.h>
#include <string.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "smtp/smtp_priv.h"

#define SMTP_DATA_BLOCK (64 * 1024)
#define SMTP_ADDR_MAX 512
#define SMTP_QUIT_WAIT 10000 /* ms */

/* What the transaction steps return when the final dot was sent and its
 * reply is left for later (smtp.h, PENDING). */
#define SMTP_TX_PENDING 1

struct smtp_sink {
	struct smtp_session *s;
	struct smtp_dot dot;
	struct smtp_outcome fail;
	bool net_failed;
};

/* smtp_addr_ok - an envelope address we can put in <...> safely. */
static bool
smtp_addr_ok(const char *a)
{
	size_t n = 0;

	for (; a[n] != '\0'; n++) {
		unsigned char ch = (unsigned char)a[n];

		if (ch <= 0x20 || ch == 0x7f || ch == '<' || ch == '>')
			return false;
	}
	return n <= SMTP_ADDR_MAX;
}

/* smtp_is_8bit - does s hold a byte >= 0x80? */
static bool
smtp_is_8bit(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s >= 0x80)
			return true;
	return false;
}

/* smtp_xtext_ok - a DSN value we may send: printable ASCII, no space,
 * no "=" or "+" unescaped issues beyond xtext. */
static bool
smtp_xtext_ok(const char *v)
{
	if (v == NULL || *v == '\0' || strlen(v) > 100)
		return false;
	for (; *v != '\0'; v++)
		if ((unsigned char)*v <= 0x20 || (unsigned char)*v >= 0x7f ||
		    *v == '=')
			return false;
	return true;
}

/* smtp_tx_new - a transaction of m, its outcomes cleared. */
static struct smtp_tx *
smtp_tx_new(struct smtp_session *s, const struct smtp_msg *m,
    struct smtp_outcome *rcpt_out, struct smtp_outcome *msg_out)
{
	struct smtp_tx *tx = xcalloc(1, sizeof(*tx));
	size_t i;

	tx->s = s;
	tx->m = m;
	tx->rcpt_out = rcpt_out;
	tx->msg_out = msg_out;
	tx->decided = xcalloc(m->nrcpts + 1, sizeof(bool));
	tx->accepted = xcalloc(m->nrcpts + 1, sizeof(bool));
	tx->sent = xcalloc(m->nrcpts + 1, sizeof(bool));
	tx->pipelining = (s->caps.flags & SMTP_CAP_PIPELINING) != 0;
	for (i = 0; i < m->nrcpts; i++)
		smtp_outcome_clear(&rcpt_out[i]);
	smtp_outcome_clear(msg_out);
	return tx;
}

int
smtp_tx_end(struct smtp_tx *tx, int rc)
{
	const struct smtp_msg *m = tx->m;
	size_t i;

	if (rc == 0 && tx->naccepted == 0 && tx->msg_out->reason == SMTP_R_OK) {
		/* Every recipient refused: the first refusal stands for the
		 * message. */
		for (i = 0; i < m->nrcpts; i++)
			if (tx->rcpt_out[i].reason != SMTP_R_OK) {
				*tx->msg_out = tx->rcpt_out[i];
				break;
			}
	}
	if (rc == 0 && tx->closing) {
		tx->s->state = SMTP_ST_BROKEN;
		rc = -1;
	}
	if (m->msg_done != NULL)
		m->msg_done(m->done_ctx, rc, tx->rcpt_out, tx->msg_out);
	xfree(tx->decided);
	xfree(tx->accepted);
	xfree(tx->sent);
	xfree(tx);
	return rc;
}

/* smtp_decide - recipient i's final outcome. */
static void
smtp_decide(struct smtp_tx *tx, size_t i, const struct smtp_outcome *o)
{
	if (tx->decided[i])
		return;
	tx->rcpt_out[i] = *o;
	tx->decided[i] = true;
	if (tx->m->rcpt_done != NULL)
		tx->m->rcpt_done(tx->m->done_ctx, i, &tx->rcpt_out[i]);
}

/* smtp_decide_rest - every undecided recipient gets o. */
void
smtp_tx_decide_rest(struct smtp_tx *tx, const struct smtp_outcome *o)
{
	size_t i;

	for (i = 0; i < tx->m->nrcpts; i++)
		smtp_decide(tx, i, o);
}

int
smtp_tx_broken(struct smtp_tx *tx, const struct smtp_outcome *o)
{
	tx->s->state = SMTP_ST_BROKEN;
	*tx->msg_out = *o;
	smtp_tx_decide_rest(tx, o);
	return -1;
}

/* smtp_tx_local - refuse the whole message before sending anything. */
static int
smtp_tx_local(
    struct smtp_tx *tx, enum smtp_reason r, enum smtp_stage st, const char *d)
{
	(void)smtp_fail(tx->s, tx->msg_out, r, st, "%s", d);
	smtp_tx_decide_rest(tx, tx->msg_out);
	return 0;
}

/* smtp_queue_mail - "MAIL FROM:<...>" with the parameters that apply. */
void
smtp_tx_queue_mail(struct smtp_tx *tx, bool utf8)
{
	const struct smtp_msg *m = tx->m;
	const struct smtp_caps *c = &tx->s->caps;
	char params[512];
	size_t o = 0;

	params[0] = '\0';
	if ((c->flags & SMTP_CAP_SIZE) && m->size > 0)
		(void)str_fmt(params + o, sizeof(params) - o, " SIZE=%llu",
		    (unsigned long long)m->size);
	o = strlen(params);
	if (m->eightbit && (c->flags & SMTP_CAP_8BITMIME))
		(void)str_fmt(params + o, sizeof(params) - o, " BODY=8BITMIME");
	o = strlen(params);
	if (utf8)
		(void)str_fmt(params + o, sizeof(params) - o, " SMTPUTF8");
	o = strlen(params);
	if ((c->flags & SMTP_CAP_DSN) && smtp_xtext_ok(m->ret))
		(void)str_fmt(
		    params + o, sizeof(params) - o, " RET=%s", m->ret);
	o = strlen(params);
	if ((c->flags & SMTP_CAP_DSN) && smtp_xtext_ok(m->envid))
		(void)str_fmt(
		    params + o, sizeof(params) - o, " ENVID=%s", m->envid);
	smtp_cmd(tx->s, "MAIL FROM:<%s>%s", m->sender, params);
}

void
smtp_tx_queue_rcpt(struct smtp_tx *tx, size_t i)
{
	const struct smtp_msg *m = tx->m;
	bool dsn =
	    (tx->s->caps.flags & SMTP_CAP_DSN) && smtp_xtext_ok(m->notify);

	smtp_cmd(tx->s, "RCPT TO:<%s>%s%s", m->rcpts[i], dsn ? " NOTIFY=" : "",
	    dsn ? m->notify : "");
	tx->sent[i] = true;
}

/* smtp_tx_reply - read one reply; -1 when the session broke. */
static int
smtp_tx_reply(struct smtp_tx *tx, enum smtp_stage st, long long ms)
{
	struct smtp_outcome o;

	if (smtp_read(tx->s, ms, st, &o) == -1)
		return smtp_tx_broken(tx, &o);
	if (tx->s->reply.code == 421)
		tx->closing = true;
	return 0;
}

void
smtp_tx_judge_mail(struct smtp_tx *tx)
{
	if (tx->s->reply.code / 100 == 2) {
		tx->mail_ok = true;
		return;
	}
	(void)smtp_fail_reply(
	    tx->s, tx->msg_out, SMTP_R_SENDER_REJECTED, SMTP_STAGE_MAIL);
}

/* smtp_tx_mail_reply - the answers to [RSET] and MAIL. */
static int
smtp_tx_mail_reply(struct smtp_tx *tx, bool rset, long long ms)
{
	struct smtp_outcome o;

	if (rset) {
		if (smtp_tx_reply(tx, SMTP_STAGE_RSET, ms) == -1)
			return -1;
		if (tx->s->reply.code != 250) {
			(void)smtp_fail_reply(
			    tx->s, &o, SMTP_R_PROTOCOL_ERROR, SMTP_STAGE_RSET);
			return smtp_tx_broken(tx, &o);
		}
	}
	if (smtp_tx_reply(tx, SMTP_STAGE_MAIL, ms) == -1)
		return -1;
	smtp_tx_judge_mail(tx);
	return 0;
}

void
smtp_tx_judge_rcpt(struct smtp_tx *tx, size_t i)
{
	struct smtp_outcome o;

	if (!tx->mail_ok) {
		smtp_decide(tx, i, tx->msg_out);
		return;
	}
	if (tx->s->reply.code / 100 == 2) {
		tx->accepted[i] = true;
		tx->naccepted++;
		return;
	}
	(void)smtp_fail_reply(
	    tx->s, &o, SMTP_R_RECIPIENT_REJECTED, SMTP_STAGE_RCPT);
	smtp_decide(tx, i, &o);
}

/* smtp_tx_rcpt_reply - the answer to recipient i's RCPT. */
static int
smtp_tx_rcpt_reply(struct smtp_tx *tx, size_t i, long long ms)
{
	if (smtp_tx_reply(tx, SMTP_STAGE_RCPT, ms) == -1)
		return -1;
	smtp_tx_judge_rcpt(tx, i);
	return 0;
}

/* smtp_sink_out - the DATA encoder's output: queue, and send a block
 * whenever SMTP_DATA_BLOCK bytes are waiting. */
static int
smtp_sink_out(void *ctx, const char *p, size_t n)
{
	struct smtp_sink *k = ctx;

	conn_write(k->s->conn, p, n);
	if (conn_queued(k->s->conn) < SMTP_DATA_BLOCK)
		return 0;
	if (smtp_flush(k->s, smtp_ms(k->s->conf->data_timeout), SMTP_STAGE_BODY,
		&k->fail) == -1) {
		k->net_failed = true;
		return -1;
	}
	return 0;
}

static int
smtp_sink_emit(const char *p, size_t n, void *ectx)
{
	struct smtp_sink *k = ectx;

	return smtp_dot_feed(&k->dot, p, n) == -1 ? -1 : 0;
}

/* smtp_tx_may_pend - may tx's final reply be left PENDING? */
static bool
smtp_tx_may_pend(const struct smtp_tx *tx)
{
	return (tx->m->flags & SMTP_MSG_PIPELINE_DOT) && tx->pipelining &&
	    tx->m->msg_done != NULL;
}

/* smtp_tx_final - read the final dot's reply and decide everyone left.
 * -1 when the session broke (then everyone is decided). */
static int
smtp_tx_final(struct smtp_tx *tx)
{
	struct smtp_session *s = tx->s;

	if (smtp_tx_reply(
		tx, SMTP_STAGE_BODY, smtp_ms(s->conf->data_timeout)) == -1)
		return -1;
	if (s->reply.code / 100 == 2)
		smtp_ok_reply(s, tx->msg_out);
	else
		(void)smtp_fail_reply(s, tx->msg_out,
		    s->reply.code == 552 ? SMTP_R_SIZE_EXCEEDED
					 : SMTP_R_DATA_REJECTED,
		    SMTP_STAGE_BODY);
	smtp_tx_decide_rest(tx, tx->msg_out);
	return 0;
}

/* smtp_tx_body - stream the message after 354, then read the final reply
 * or leave it PENDING (SMTP_TX_PENDING).  -1 when the session broke
 * (then everyone is decided). */
static int
smtp_tx_body(struct smtp_tx *tx)
{
	struct smtp_session *s = tx->s;
	long long ms = smtp_ms(s->conf->data_timeout);
	struct smtp_sink k;
	struct err err;
	int rc;

	memset(&k, 0, sizeof(k));
	k.s = s;
	smtp_dot_init(&k.dot, smtp_sink_out, &k);
	err_clear(&err);
	rc = tx->m->body(tx->m->body_ctx, smtp_sink_emit, &k, &err);
	if (rc == 0 && !k.net_failed)
		rc = smtp_dot_end(&k.dot);
	if (k.net_failed)
		return smtp_tx_broken(tx, &k.fail);
	if (rc == -1) {
		/* Without the message there must be no final dot: drop the
		 * connection so the server discards what it has. */
		(void)smtp_fail(s, &k.fail, SMTP_R_LOCAL_ERROR, SMTP_STAGE_BODY,
		    "%s",
		    err.msg[0] != '\0' ? err.msg : "message not readable");
		return smtp_tx_broken(tx, &k.fail);
	}
	if (smtp_flush(s, ms, SMTP_STAGE_BODY, &k.fail) == -1)
		return smtp_tx_broken(tx, &k.fail);
	if (smtp_tx_may_pend(tx))
		return SMTP_TX_PENDING;
	return smtp_tx_final(tx);
}

/* smtp_tx_data - the DATA reply and what follows it. */
static int
smtp_tx_data(struct smtp_tx *tx, bool data_sent)
{
	struct smtp_session *s = tx->s;
	long long ms = smtp_ms(s->conf->command_timeout);
	struct smtp_outcome o;

	if (!data_sent) {
		if (tx->naccepted == 0)
			return 0;
		smtp_cmd(s, "DATA");
		if (smtp_flush(s, ms, SMTP_STAGE_DATA, &o) == -1)
			return smtp_tx_broken(tx, &o);
	}
	if (smtp_tx_reply(tx, SMTP_STAGE_DATA, ms) == -1)
		return -1;
	if (s->reply.code == 354 && tx->naccepted > 0)
		return smtp_tx_body(tx);
	if (s->reply.code == 354) {
		/* Pipelined DATA accepted with no recipient: end it empty. */
		smtp_cmd(s, ".");
		if (smtp_flush(s, ms, SMTP_STAGE_BODY, &o) == -1)
			return smtp_tx_broken(tx, &o);
		return smtp_tx_reply(tx, SMTP_STAGE_BODY, ms);
	}
	if (tx->naccepted > 0) {
		(void)smtp_fail_reply(
		    s, tx->msg_out, SMTP_R_DATA_REJECTED, SMTP_STAGE_DATA);
		smtp_tx_decide_rest(tx, tx->msg_out);
	}
	return 0;
}

void
smtp_tx_closed(struct smtp_session *s, struct smtp_outcome *o)
{
	char line[256];

	(void)smtp_reply_line(&s->reply, line, sizeof(line));
	(void)smtp_fail(s, o, SMTP_R_CONNECTION_LOST, SMTP_STAGE_RSET,
	    "the server closed the session after the previous message: %s",
	    line);
}

/* smtp_tx_settle - tx's envelope was sent (flushed; else o says why
 * not): end the PENDING transaction before any reply of tx is read.  If
 * the session broke meanwhile, tx gets the failure at stage RSET (none
 * of its replies was read) and -1 is returned. */
static int
smtp_tx_settle(struct smtp_tx *tx, bool flushed, struct smtp_outcome *o)
{
	struct smtp_session *s = tx->s;
	struct smtp_tx *p = s->pending;

	if (p == NULL)
		return flushed ? 0 : smtp_tx_broken(tx, o);
	s->pending = NULL;
	if (!flushed)
		(void)smtp_tx_broken(p, o);
	else if (smtp_tx_final(p) == -1)
		*o = *p->msg_out;
	else if (p->closing)
		smtp_tx_closed(s, o);
	(void)smtp_tx_end(p, s->state == SMTP_ST_BROKEN ? -1 : 0);
	if (s->state == SMTP_ST_READY && s->o.settle != NULL)
		s->o.settle(s->o.ctx); /* tx's replies may take a while */
	if (s->state == SMTP_ST_READY)
		return 0;
	o->stage = SMTP_STAGE_RSET;
	return smtp_tx_broken(tx, o);
}

/* smtp_tx_envelope - [RSET] MAIL RCPT... [DATA], pipelined if offered. */
static int
smtp_tx_envelope(struct smtp_tx *tx, bool utf8)
{
	struct smtp_session *s = tx->s;
	long long ms = smtp_ms(s->conf->command_timeout);
	bool rset = s->transactions > 0, flushed;
	struct smtp_outcome o;
	size_t i;

	if (rset)
		smtp_cmd(s, "RSET");
	smtp_tx_queue_mail(tx, utf8);
	if (tx->pipelining) {
		for (i = 0; i < tx->m->nrcpts; i++)
			if (!tx->decided[i])
				smtp_tx_queue_rcpt(tx, i);
		smtp_cmd(s, "DATA");
	}
	flushed = smtp_flush(s, ms, SMTP_STAGE_MAIL, &o) == 0;
	if (smtp_tx_settle(tx, flushed, &o) == -1)
		return -1;
	if (smtp_tx_mail_reply(tx, rset, ms) == -1)
		return -1;
	for (i = 0; i < tx->m->nrcpts && (tx->mail_ok || tx->pipelining); i++) {
		if (tx->decided[i])
			continue;
		if (!tx->pipelining) {
			smtp_tx_queue_rcpt(tx, i);
			if (smtp_flush(s, ms, SMTP_STAGE_RCPT, &o) == -1)
				return smtp_tx_broken(tx, &o);
		}
		if (smtp_tx_rcpt_reply(tx, i, ms) == -1)
			return -1;
	}
	if (!tx->mail_ok && !tx->pipelining) {
		smtp_tx_decide_rest(tx, tx->msg_out);
		return 0;
	}
	return smtp_tx_data(tx, tx->pipelining);
}

/* smtp_tx_check - what can be refused before sending anything: 1 if the
 * transaction was refused locally, 0 to go on.  OUT *utf8. */
static int
smtp_tx_check(struct smtp_tx *tx, bool *utf8)
{
	const struct smtp_msg *m = tx->m;
	const struct smtp_caps *c = &tx->s->caps;
	struct smtp_outcome o;
	size_t i;

	*utf8 = m->smtputf8 || smtp_is_8bit(m->sender);
	for (i = 0; i < m->nrcpts; i++)
		*utf8 = *utf8 || smtp_is_8bit(m->rcpts[i]);
	if (!smtp_addr_ok(m->sender)) {
		(void)smtp_tx_local(tx, SMTP_R_SENDER_REJECTED, SMTP_STAGE_MAIL,
		    "the sender address is not usable");
		return 1;
	}
	if (*utf8 && !(c->flags & SMTP_CAP_SMTPUTF8)) {
		(void)smtp_tx_local(tx, SMTP_R_SMTPUTF8_NOT_OFFERED,
		    SMTP_STAGE_MAIL, "SMTPUTF8 needed");
		return 1;
	}
	if (c->size_max > 0 && m->size > c->size_max) {
		char d[96];

		(void)str_fmt(d, sizeof(d), "%llu bytes, the limit is %llu",
		    (unsigned long long)m->size,
		    (unsigned long long)c->size_max);
		(void)smtp_tx_local(
		    tx, SMTP_R_SIZE_EXCEEDED, SMTP_STAGE_MAIL, d);
		return 1;
	}
	for (i = 0; i < m->nrcpts; i++) {
		if (smtp_addr_ok(m->rcpts[i]))
			continue;
		(void)smtp_fail(tx->s, &o, SMTP_R_RECIPIENT_REJECTED,
		    SMTP_STAGE_RCPT, "the recipient address is not usable");
		smtp_decide(tx, i, &o);
	}
	return 0;
}

int
smtp_send(struct smtp_session *s, const struct smtp_msg *m,
    struct smtp_outcome *rcpt_out, struct smtp_outcome *msg_out)
{
	struct smtp_tx *tx = smtp_tx_new(s, m, rcpt_out, msg_out);
	bool utf8 = false;
	int rc;

	if (s->state != SMTP_ST_READY) {
		(void)smtp_fail(s, msg_out, SMTP_R_LOCAL_ERROR, SMTP_STAGE_NONE,
		    "session not ready");
		return smtp_tx_end(tx, smtp_tx_broken(tx, msg_out));
	}
	if (smtp_tx_check(tx, &utf8) == 1)
		return smtp_tx_end(tx, 0);
	if (smtp_bdat_usable(s))
		return smtp_bdat_send(tx, utf8);
	rc = smtp_tx_envelope(tx, utf8);
	s->transactions++;
	if (rc == SMTP_TX_PENDING) {
		/* the one before was settled by smtp_tx_envelope */
		assert(s->pending == NULL);
		s->pending = tx;
		return 0;
	}
	return smtp_tx_end(tx, rc);
}

int
smtp_sync(struct smtp_session *s)
{
	struct smtp_tx *p = s->pending;

	if (p != NULL) {
		s->pending = NULL;
		(void)smtp_tx_end(p, smtp_tx_final(p));
	}
	smtp_bdat_sync(s);
	return s->state == SMTP_ST_READY ? 0 : -1;
}

bool
smtp_is_ready(const struct smtp_session *s)
{
	return s != NULL && s->state == SMTP_ST_READY;
}

void
smtp_close(struct smtp_session *s)
{
	struct smtp_outcome o;

	if (s == NULL)
		return;
	(void)smtp_sync(s);
	if (s->state == SMTP_ST_READY && s->conn != NULL) {
		long long ms = smtp_ms(s->conf->command_timeout);

		if (ms > SMTP_QUIT_WAIT)
			ms =
			    SMTP_QUIT_WAIT; /* the mail is sent; do not linger */

		smtp_cmd(s, "QUIT");
		if (smtp_flush(s, ms, SMTP_STAGE_QUIT, &o) == 0)
			(void)smtp_read(s, ms, SMTP_STAGE_QUIT, &o);
	}
	conn_close(s->conn);
	if (s->o.tls_keep == NULL)
		conn_tls_ctx_free(s->tls);
	conn_addrs_free(&s->addrs);
	buf_free(&s->in);
	smtp_reply_free(&s->reply);
	xfree(s);
}

void
smtp_get_info(const struct smtp_session *s, struct smtp_info *out)
{
	memset(out, 0, sizeof(*out));
	out->mode = s->mode;
	out->from_cache = s->plan.from_cache && !s->redetected;
	out->redetected = s->redetected;
	out->cache_written = s->cache_written;
	out->port = s->port;
	out->connections = s->connections;
	(void)str_copy(out->relay, sizeof(out->relay), s->relay);
	(void)str_copy(out->tls, sizeof(out->tls), s->tlsdesc);
	out->tlsinfo = s->last_tls;
	out->caps = s->caps;
	out->auth = s->auth;
	(void)str_copy(out->auth_mech, sizeof(out->auth_mech), s->auth_mech);
	out->transactions = s->transactions;
}
