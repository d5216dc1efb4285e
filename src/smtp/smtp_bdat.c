/*
 * smtp_bdat.c - transactions sent with BDAT, and the window of them in
 * flight.
 *
 * Part of smtp: smtp_send() hands a transaction here when the server
 * offers CHUNKING and PIPELINING (smtp_bdat_usable); smtp_sync() and
 * smtp_close() drain the window.  See WINDOW in smtp.h's lifecycle.
 *
 * With DATA the client must wait for the 354 before each body: one round
 * trip per message.  A BDAT chunk carries its length, so nothing in a
 * transaction waits for a reply: [RSET] MAIL RCPT.. "BDAT n" .. "BDAT n
 * LAST" go out in one stream, and the next transaction follows at once.
 * Replies are read only when the window is full (SMTP_WIN_MAX
 * transactions or SMTP_WIN_BYTES octets of data unacknowledged), at
 * smtp_sync, or at once for a message that may not be left in flight.
 *
 * Data: the window (s->win_head .. s->win_tail, owned; each transaction's
 * message and outcomes borrowed until its msg_done) and, while a message
 * is encoded, one chunk of at most SMTP_BDAT_CHUNK octets plus a line.
 * Invariants: replies are matched to transactions strictly in the order
 * the commands went out, and a transaction ends (outcomes, msg_done)
 * right after its last reply is read, oldest first; everything queued is
 * flushed before any read that may block; when the session breaks, every
 * transaction in the window ends at once: one whose "BDAT n LAST" went to
 * the network may have been delivered (lost inside it: stage body), one
 * whose LAST did not cannot have been (stage RSET: given back untried),
 * and after a 421 the server read nothing more (stage RSET).
 *
 * Implements RFC 3030 (BDAT: 2, chunk sizes are octets on the wire and
 * the data is not dot-stuffed; 4.2, the server reads a chunk's data even
 * when it refuses the transaction, so a refused MAIL or RCPT does not
 * upset the stream; 2, RSET discards the chunks of an unfinished
 * transaction), RFC 2920 (PIPELINING, required for a window).
 *
 * Security: the message goes through the encoder (CRLF only, lines at
 * most 998 octets); a chunk's size is that of the bytes written after
 * it, so data can never be read as commands.
 */
#include "config.h"

#include <string.h>

#include "base/xalloc.h"
#include "smtp/smtp_priv.h"

/* Octets of encoded message per BDAT chunk (the spool's chunk size: a
 * larger message goes as several chunks, each sent as it is made). */
#define SMTP_BDAT_CHUNK (64 * 1024)
/* The window: transactions in flight, and their data's octets.  A larger
 * window keeps the server busy while this side reads a burst of replies,
 * writes their results and encodes the next messages (to the fake
 * smarthost, 2 KB messages: 32 -> 55%, 64 -> 64% of its intake limit,
 * median of 8 side-by-side pairs), but a lost connection defers every
 * message in flight. */
#define SMTP_WIN_MAX 64
#define SMTP_WIN_BYTES (1024 * 1024)
/* Queued octets that are sent while a message is still being encoded:
 * one TLS record's worth, so the server gets full records as soon as
 * they are made instead of four at once (16 KiB against 64 KiB: 58%
 * against 54% of the fake's intake limit; 8 KiB, records half full,
 * 52%). */
#define SMTP_BDAT_BLOCK (16 * 1024)

/* A message being encoded into chunks. */
struct smtp_chunker {
	struct smtp_tx *tx;
	struct smtp_dot dot;
	struct buf data; /* the chunk being filled */
	struct smtp_outcome fail; /* why the network failed */
	bool net_failed;
};

static void smtp_win_fail(
    struct smtp_session *s, const struct smtp_outcome *o, bool closed);

bool
smtp_bdat_usable(const struct smtp_session *s)
{
	unsigned want = SMTP_CAP_CHUNKING | SMTP_CAP_PIPELINING;

	return (s->caps.flags & want) == want;
}

bool
smtp_windowed(const struct smtp_session *s)
{
	return s != NULL && smtp_bdat_usable(s);
}

/* --- the window ----------------------------------------------------------- */

static void
smtp_win_push(struct smtp_session *s, struct smtp_tx *tx)
{
	tx->next = NULL;
	if (s->win_tail != NULL)
		s->win_tail->next = tx;
	else
		s->win_head = tx;
	s->win_tail = tx;
	s->win_n++;
}

static struct smtp_tx *
smtp_win_pop(struct smtp_session *s)
{
	struct smtp_tx *tx = s->win_head;

	if (tx == NULL)
		return NULL;
	s->win_head = tx->next;
	if (s->win_head == NULL)
		s->win_tail = NULL;
	s->win_n--;
	s->win_bytes -= tx->bytes;
	tx->next = NULL;
	return tx;
}

/* smtp_win_flush - send everything queued; on failure OUT o (the session
 * is BROKEN; the caller ends the window when it is safe to). */
static int
smtp_win_flush(
    struct smtp_session *s, enum smtp_stage st, struct smtp_outcome *o)
{
	struct smtp_tx *tx;

	if (conn_queued(s->conn) == 0)
		return 0;
	for (tx = s->win_head; tx != NULL; tx = tx->next)
		tx->on_wire = true;
	return smtp_flush(s, smtp_ms(s->conf->data_timeout), st, o);
}

/* smtp_win_fail - the session broke with o (closed: after a 421, which
 * the server sends instead of reading on): end every transaction in the
 * window, oldest first. */
static void
smtp_win_fail(struct smtp_session *s, const struct smtp_outcome *o, bool closed)
{
	struct smtp_outcome t;
	struct smtp_tx *tx;

	s->state = SMTP_ST_BROKEN;
	while ((tx = smtp_win_pop(s)) != NULL) {
		t = *o;
		/* The server takes a message at its BDAT LAST: one that went
		 * out may have been delivered, one that did not can go again
		 * as if never tried. */
		t.stage = !closed && tx->last_sent && tx->on_wire
		    ? SMTP_STAGE_BODY
		    : SMTP_STAGE_RSET;
		(void)smtp_tx_broken(tx, &t);
		(void)smtp_tx_end(tx, -1);
	}
}

/* --- replies -------------------------------------------------------------- */

/* smtp_bdat_expect - read tx's next reply at stage st: 0, or -1 when the
 * session broke (then tx is decided). */
static int
smtp_bdat_expect(struct smtp_tx *tx, enum smtp_stage st, long long ms)
{
	struct smtp_outcome o;

	if (smtp_read(tx->s, ms, st, &o) == -1) {
		/* Its commands all went out before this read: with LAST
		 * among them the loss is inside the transaction, even before
		 * the reply to MAIL; without, nothing can have been taken. */
		if (!tx->last_sent)
			o.stage = SMTP_STAGE_RSET;
		else if (o.stage == SMTP_STAGE_RSET)
			o.stage = SMTP_STAGE_MAIL;
		return smtp_tx_broken(tx, &o);
	}
	if (tx->s->reply.code == 421)
		tx->closing = true;
	return 0;
}

/* smtp_bdat_closing - the server said 421 at stage st: everyone left of
 * tx gets it (smtp_tx_end then ends the session). */
static int
smtp_bdat_closing(struct smtp_tx *tx, enum smtp_reason r, enum smtp_stage st)
{
	struct smtp_outcome o;

	(void)smtp_fail_reply(tx->s, &o, r, st);
	if (tx->msg_out->reason == SMTP_R_OK)
		*tx->msg_out = o;
	smtp_tx_decide_rest(tx, &o);
	return 0;
}

/* smtp_bdat_judge_chunk - a BDAT reply: LAST decides the message; any
 * other chunk must get 250, or the server has discarded the message. */
static void
smtp_bdat_judge_chunk(struct smtp_tx *tx, bool last)
{
	struct smtp_session *s = tx->s;
	int code = s->reply.code;

	/* Refused MAIL or every RCPT refused: the outcomes are given and
	 * the server's answer to the data means nothing more. */
	if (!tx->mail_ok || tx->naccepted == 0 ||
	    tx->msg_out->reason != SMTP_R_OK)
		return;
	if (last && code / 100 == 2) {
		smtp_ok_reply(s, tx->msg_out);
		smtp_tx_decide_rest(tx, tx->msg_out);
		return;
	}
	if (!last && code == 250)
		return;
	(void)smtp_fail_reply(s, tx->msg_out,
	    code == 552 ? SMTP_R_SIZE_EXCEEDED : SMTP_R_DATA_REJECTED,
	    SMTP_STAGE_BODY);
	smtp_tx_decide_rest(tx, tx->msg_out);
}

/* smtp_bdat_replies - read and judge every reply of tx, in the order its
 * commands went out.  -1 when the session broke (tx decided). */
static int
smtp_bdat_replies(struct smtp_tx *tx)
{
	struct smtp_session *s = tx->s;
	long long cms = smtp_ms(s->conf->command_timeout);
	long long dms = smtp_ms(s->conf->data_timeout);
	struct smtp_outcome o;
	size_t i;

	if (tx->rset) {
		if (smtp_bdat_expect(tx, SMTP_STAGE_RSET, cms) == -1)
			return -1;
		if (tx->closing)
			return smtp_bdat_closing(
			    tx, SMTP_R_PROTOCOL_ERROR, SMTP_STAGE_RSET);
		if (s->reply.code != 250) {
			(void)smtp_fail_reply(
			    s, &o, SMTP_R_PROTOCOL_ERROR, SMTP_STAGE_RSET);
			return smtp_tx_broken(tx, &o);
		}
	}
	if (smtp_bdat_expect(tx, SMTP_STAGE_MAIL, cms) == -1)
		return -1;
	if (tx->closing)
		return smtp_bdat_closing(
		    tx, SMTP_R_SENDER_REJECTED, SMTP_STAGE_MAIL);
	smtp_tx_judge_mail(tx);
	for (i = 0; i < tx->m->nrcpts; i++) {
		if (!tx->sent[i])
			continue;
		if (smtp_bdat_expect(tx, SMTP_STAGE_RCPT, cms) == -1)
			return -1;
		if (tx->closing)
			return smtp_bdat_closing(
			    tx, SMTP_R_RECIPIENT_REJECTED, SMTP_STAGE_RCPT);
		smtp_tx_judge_rcpt(tx, i);
	}
	for (i = 0; i < tx->nchunks; i++) {
		if (smtp_bdat_expect(tx, SMTP_STAGE_BODY, dms) == -1)
			return -1;
		if (tx->closing)
			return smtp_bdat_closing(
			    tx, SMTP_R_DATA_REJECTED, SMTP_STAGE_BODY);
		smtp_bdat_judge_chunk(
		    tx, i + 1 == tx->nchunks && tx->last_sent);
	}
	if (tx->abandoned && tx->mail_ok && tx->naccepted > 0 &&
	    tx->msg_out->reason == SMTP_R_OK)
		*tx->msg_out = tx->local;
	smtp_tx_decide_rest(tx, tx->msg_out);
	return 0;
}

/* smtp_win_collect - read the oldest transaction's replies and end it;
 * if the session broke, end the whole window. */
static void
smtp_win_collect(struct smtp_session *s)
{
	struct smtp_tx *tx = smtp_win_pop(s);
	struct smtp_outcome o;

	if (smtp_bdat_replies(tx) == -1) {
		o = *tx->msg_out;
		(void)smtp_tx_end(tx, -1);
		smtp_win_fail(s, &o, false);
		return;
	}
	if (!tx->closing) {
		(void)smtp_tx_end(tx, 0);
		return;
	}
	smtp_tx_closed(s, &o);
	(void)smtp_tx_end(tx, 0); /* a 421: the session ends with it */
	smtp_win_fail(s, &o, true);
}

/* smtp_win_full - must replies be read before another transaction? */
static bool
smtp_win_full(const struct smtp_session *s)
{
	return s->win_n >= SMTP_WIN_MAX || s->win_bytes >= SMTP_WIN_BYTES;
}

/* smtp_win_over_half - is more than half the window in flight? */
static bool
smtp_win_over_half(const struct smtp_session *s)
{
	return s->win_n > SMTP_WIN_MAX / 2 || s->win_bytes > SMTP_WIN_BYTES / 2;
}

/* smtp_win_room - make room in the window: flush, then read the oldest
 * transactions' replies until no more than half of it is in flight, and
 * any whose replies have already begun to arrive (taking them costs no
 * wait).  Room for half a window at once lets the caller send that many
 * before it reads again, and write their results together.  Before a
 * read that would wait, the settle hook.  all: read every reply
 * outstanding. */
static void
smtp_win_room(struct smtp_session *s, bool all)
{
	struct smtp_outcome o;

	if (s->win_head == NULL || (!all && !smtp_win_full(s)))
		return;
	if (smtp_win_flush(s, SMTP_STAGE_BODY, &o) == -1) {
		smtp_win_fail(s, &o, false);
		return;
	}
	do {
		if (s->in.len == 0 && s->o.settle != NULL &&
		    !conn_has_input(s->conn))
			s->o.settle(s->o.ctx); /* the next read would wait */
		smtp_win_collect(s);
	} while (s->state == SMTP_ST_READY && s->win_head != NULL &&
	    (all || smtp_win_over_half(s) || s->in.len > 0));
}

void
smtp_bdat_sync(struct smtp_session *s)
{
	smtp_win_room(s, true);
}

/* --- sending -------------------------------------------------------------- */

/* smtp_chunk_put - queue the chunk as "BDAT n [LAST]" and its octets;
 * send what is queued once it is a block. */
static int
smtp_chunk_put(struct smtp_chunker *k, bool last)
{
	struct smtp_tx *tx = k->tx;
	struct smtp_session *s = tx->s;

	smtp_cmd(s, "BDAT %zu%s", k->data.len, last ? " LAST" : "");
	conn_write(s->conn, k->data.data, k->data.len);
	tx->nchunks++;
	tx->last_sent = last;
	tx->bytes += k->data.len;
	s->win_bytes += k->data.len;
	buf_reset(&k->data);
	if (conn_queued(s->conn) < SMTP_BDAT_BLOCK)
		return 0;
	if (smtp_win_flush(s, SMTP_STAGE_BODY, &k->fail) == 0)
		return 0;
	k->net_failed = true;
	return -1;
}

/* smtp_chunk_out - the encoder's output: fill the chunk, put it when
 * full. */
static int
smtp_chunk_out(void *ctx, const char *p, size_t n)
{
	struct smtp_chunker *k = ctx;

	if (k->net_failed || buf_append(&k->data, p, n) == -1)
		return -1;
	if (k->data.len < SMTP_BDAT_CHUNK)
		return 0;
	return smtp_chunk_put(k, false);
}

static int
smtp_chunk_emit(const char *p, size_t n, void *ectx)
{
	struct smtp_chunker *k = ectx;

	return smtp_dot_feed(&k->dot, p, n) == -1 ? -1 : 0;
}

/* smtp_bdat_body - encode the message into chunks, the last with LAST.
 * -1 when the network failed (OUT *fail).  A message that cannot be read
 * is abandoned without LAST (the next RSET or QUIT discards what the
 * server has), and its outcome waits in tx->local. */
static int
smtp_bdat_body(struct smtp_tx *tx, struct smtp_outcome *fail)
{
	struct smtp_chunker k;
	struct err err;
	int rc;

	memset(&k, 0, sizeof(k));
	k.tx = tx;
	buf_init(&k.data, SMTP_BDAT_CHUNK + 2 * (SMTP_LINE_MAX + 2));
	smtp_dot_init_bdat(&k.dot, smtp_chunk_out, &k);
	err_clear(&err);
	rc = tx->m->body(tx->m->body_ctx, smtp_chunk_emit, &k, &err);
	if (rc == 0 && !k.net_failed)
		rc = smtp_dot_end(&k.dot);
	if (rc == 0 && !k.net_failed)
		rc = smtp_chunk_put(&k, true);
	buf_free(&k.data);
	if (k.net_failed) {
		*fail = k.fail;
		return -1;
	}
	if (rc == -1) {
		(void)smtp_fail(tx->s, &tx->local, SMTP_R_LOCAL_ERROR,
		    SMTP_STAGE_BODY, "%s",
		    err.msg[0] != '\0' ? err.msg : "message not readable");
		tx->abandoned = true;
	}
	return 0;
}

int
smtp_bdat_send(struct smtp_tx *tx, bool utf8)
{
	struct smtp_session *s = tx->s;
	const struct smtp_msg *m = tx->m;
	struct smtp_outcome o;
	size_t i, n = 0;

	for (i = 0; i < m->nrcpts; i++)
		n += tx->decided[i] ? 0 : 1;
	if (n == 0) /* every recipient refused before sending */
		return smtp_tx_end(tx, 0);
	tx->rset = s->transactions++ > 0;
	if (tx->rset)
		smtp_cmd(s, "RSET");
	smtp_tx_queue_mail(tx, utf8);
	for (i = 0; i < m->nrcpts; i++)
		if (!tx->decided[i])
			smtp_tx_queue_rcpt(tx, i);
	smtp_win_push(s, tx);
	if (smtp_bdat_body(tx, &o) == -1) {
		smtp_win_fail(s, &o, false);
		return -1;
	}
	/* Only a message whose end may be reported later (msg_done) stays
	 * in flight when smtp_send returns. */
	smtp_win_room(
	    s, !(m->flags & SMTP_MSG_PIPELINE_DOT) || m->msg_done == NULL);
	return s->state == SMTP_ST_READY ? 0 : -1;
}
