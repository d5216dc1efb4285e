/*
 * smtp_priv.h - the inside of struct smtp_session, shared by the smtp
 * module's files: smtp.c (transactions), smtp_open.c (negotiation),
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

struct smtp_tx; /* smtp.c: one transaction */

struct smtp_session {
	struct smtp_opts o;
	const struct conf *conf;
	const struct conf_smarthost *sh;
	enum smtp_state state;
	struct conn *conn;
	struct conn_tls_ctx *tls;
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
