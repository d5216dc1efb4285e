/*
 * smtp_priv.h - the inside of struct smtp_session, shared by the smtp
 * module's files: smtp.c (transactions), smtp_bdat.c (BDAT and the window
 * of transactions in flight), smtp_open.c (negotiation),
 * smtp_proto.c (commands, replies, outcomes), smtp_auth.c (AUTH) and
 * smtp_secret.c (credentials).  Nothing outside src/smtp includes it.
 */
#ifndef RELAY_SMTP_PRIV_H
#define RELAY_SMTP_PRIV_H

#include "smtp/smtp.h"

/* The longest password or token accepted. */
#define SMTP_SECRET_LIMIT 16384

enum smtp_state {
	SMTP_ST_OPENING = 0,
	SMTP_ST_READY,
	SMTP_ST_BROKEN,
};

/* One transaction, from smtp_send until its msg_done (smtp.c). */
struct smtp_tx {
	struct smtp_session *s;
	const struct smtp_msg *m;
	struct smtp_outcome *rcpt_out;
	struct smtp_outcome *msg_out;
	bool *decided; /* final outcome given */
	bool *accepted; /* RCPT answered 2xx */
	bool *sent; /* RCPT sent */
	size_t naccepted;
	bool mail_ok;
	bool pipelining;
	bool closing; /* the server said 421 */
	/* with BDAT (smtp_bdat.c): */
	struct smtp_tx *next; /* the next younger one in the window */
	struct smtp_outcome local; /* why the message was abandoned */
	size_t nchunks; /* BDAT commands sent */
	size_t bytes; /* octets of message data sent */
	bool rset; /* RSET sent before MAIL */
	bool last_sent; /* "BDAT n LAST" queued */
	bool on_wire; /* what was queued went to the network (a flush) */
	bool abandoned; /* the message could not be read: no LAST */
};

struct smtp_session {
	struct smtp_opts o;
	const struct conf *conf;
	const struct conf_smarthost *sh;
	enum smtp_state state;
	struct conn *conn;
	struct conn_tls_ctx *tls; /* owned unless o.tls_keep holds it */
	struct conn_addrs addrs;
	struct buf in; /* bytes read and not yet parsed */
	struct smtp_reply reply; /* the last reply */
	struct smtp_caps caps;
	struct conn_tls_info last_tls; /* what the last handshake showed */
	struct tlsmode_policy policy;
	struct tlsmode_plan plan;
	enum tlsmode mode;
	int port;
	bool redetected, cache_written;
	unsigned connections, transactions;
	/* the transaction whose final dot was sent and whose reply is not
	 * read yet (smtp.h, PENDING), or NULL; owned */
	struct smtp_tx *pending;
	/* with BDAT: the transactions sent whose replies are not all read
	 * yet, oldest first (smtp.h, WINDOW), how many and their data's
	 * octets; owned */
	struct smtp_tx *win_head, *win_tail;
	size_t win_n, win_bytes;
	const char *auth; /* "ok", "skipped", "none" */
	char auth_mech[16];
	long long t0; /* conn_now_ms() at smtp_open */
	char relay[320];
	char tlsdesc[48];
};

/* Timeouts of the configuration, in milliseconds. */
long long smtp_ms(long long seconds);

/* --- smtp_proto.c -------------------------------------------------------- */

/* smtp_event_emit - tell opts->event, printf style. */
void smtp_event_emit(struct smtp_session *s, enum smtp_event ev,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* smtp_cmd - queue one command line (CRLF added) and trace it. */
void smtp_cmd(struct smtp_session *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* smtp_cmd_secret - queue "shown secret" where only shown is traced. */
void smtp_cmd_secret(
    struct smtp_session *s, const char *shown, const char *secret);

/* smtp_flush - send what is queued within ms; on failure fill out for
 * stage and return -1. */
int smtp_flush(struct smtp_session *s, long long ms, enum smtp_stage stage,
    struct smtp_outcome *out);

/* smtp_read - read one reply into s->reply within ms; on failure (lost,
 * timeout, malformed) fill out for stage and return -1. */
int smtp_read(struct smtp_session *s, long long ms, enum smtp_stage stage,
    struct smtp_outcome *out);

/* smtp_fail - fill out with reason at stage, detail printf style (may be
 * NULL); the class from the reason.  Returns -1. */
int smtp_fail(struct smtp_session *s, struct smtp_outcome *out,
    enum smtp_reason r, enum smtp_stage stage, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/* smtp_fail_reply - fill out with reason at stage from s->reply (code,
 * enhanced status, text; class from the code).  Returns -1. */
int smtp_fail_reply(struct smtp_session *s, struct smtp_outcome *out,
    enum smtp_reason r, enum smtp_stage stage);

/* smtp_fail_conn - map a conn failure (err->reason) at stage to the
 * taxonomy.  Returns -1. */
int smtp_fail_conn(struct smtp_session *s, struct smtp_outcome *out,
    const struct err *err, enum smtp_stage stage);

/* smtp_ok_reply - fill out as success from s->reply. */
void smtp_ok_reply(struct smtp_session *s, struct smtp_outcome *out);

/* smtp_set_relay - refresh s->relay and s->tlsdesc from the conn. */
void smtp_set_relay(struct smtp_session *s);

/* smtp_ehlo - EHLO and parse the capabilities into s->caps. */
int smtp_ehlo(struct smtp_session *s, struct smtp_outcome *out);

/* --- smtp.c: transactions, for smtp_bdat.c ------------------------------ */

/* smtp_tx_end - the transaction ended with rc (-1: the session broke):
 * the message's outcome when every recipient was refused, 421 ends the
 * session, msg_done, free.  Returns rc as smtp_send reports it. */
int smtp_tx_end(struct smtp_tx *tx, int rc);

/* smtp_tx_broken - the session died with o: everyone left gets it. */
int smtp_tx_broken(struct smtp_tx *tx, const struct smtp_outcome *o);

/* smtp_tx_decide_rest - every undecided recipient gets o. */
void smtp_tx_decide_rest(struct smtp_tx *tx, const struct smtp_outcome *o);

/* smtp_tx_queue_mail - queue "MAIL FROM:<...>" with its parameters. */
void smtp_tx_queue_mail(struct smtp_tx *tx, bool utf8);

/* smtp_tx_queue_rcpt - queue recipient i's RCPT. */
void smtp_tx_queue_rcpt(struct smtp_tx *tx, size_t i);

/* smtp_tx_judge_mail / smtp_tx_judge_rcpt - what MAIL's reply, or
 * recipient i's RCPT reply, just read into s->reply, means for tx. */
void smtp_tx_judge_mail(struct smtp_tx *tx);
void smtp_tx_judge_rcpt(struct smtp_tx *tx, size_t i);

/* smtp_tx_closed - OUT o: the outcome of a transaction behind one whose
 * reply was 421: the server closes without reading its commands. */
void smtp_tx_closed(struct smtp_session *s, struct smtp_outcome *o);

/* --- smtp_bdat.c --------------------------------------------------------- */

/* smtp_bdat_usable - does s send with BDAT (CHUNKING and PIPELINING)? */
bool smtp_bdat_usable(const struct smtp_session *s);

/* smtp_bdat_send - tx (checked, nothing sent yet) as [RSET] MAIL RCPT..
 * BDAT.., left in the window when m allows it and there is room, else
 * after reading replies until there is.  0 when the session is READY,
 * -1 when BROKEN. */
int smtp_bdat_send(struct smtp_tx *tx, bool utf8);

/* smtp_bdat_sync - flush and read every reply outstanding, ending each
 * transaction of the window, oldest first. */
void smtp_bdat_sync(struct smtp_session *s);

/* --- smtp_auth.c --------------------------------------------------------- */

/* smtp_auth - AUTH if credentials are configured and not skipped. */
int smtp_auth(struct smtp_session *s, struct smtp_outcome *out);

/* --- smtp_secret.c ------------------------------------------------------- */

/* smtp_secret_load - the password or token: password_command's output
 * if set, else password_file's first line.  OUT secret (wipe with
 * buf_wipe_free).  ERR_CONFIG on any problem. */
int smtp_secret_load(const struct conf_smarthost *sh, long long timeout_ms,
    struct buf *secret, struct err *err);

#endif
