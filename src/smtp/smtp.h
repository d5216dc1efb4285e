/*
 * smtp.h - the SMTP client session the delivery runner and relayctl probe
 * use: one session to one smarthost, negotiated, verified and
 * authenticated once, then any number of mail transactions on it.
 *
 * Session lifecycle (who performs each transition):
 *
 *   smtp_open:
 *     resolve ---> connect (every address, Happy Eyeballs)
 *        |            |
 *        |            +-- IMPLICIT: TLS handshake at once --------------+
 *        |            +-- GREET_OR_TLS: greeting_wait: silence -> TLS --+
 *        |            |                          220 -> EHLO, STARTTLS -+
 *        |            +-- STARTTLS: greeting, EHLO, STARTTLS, TLS ------+
 *        |            +-- PLAIN (tls = none): greeting -----------------+
 *        |                                                              v
 *        |     mode-shaped failure (tlsmode_plan_next): next try   greeting
 *        |     on a new connection (at most the plan's tries)      EHLO (again
 *        |                                                         after TLS)
 *        |                                                              |
 *        |                                         AUTH (if configured) |
 *        v                                                              v
 *     failure: NULL + outcome              READY  (cache written: tlsmode_store)
 *                                            |  ^
 *                          smtp_send:        |  | 2xx/4xx/5xx per recipient,
 *       [RSET] MAIL RCPT.. DATA (pipelined)  |  | final dot answered
 *                                            v  |
 *                                        TRANSACTION
 *                                            |  \
 *                 connection lost, timeout,  |   \  SMTP_MSG_PIPELINE_DOT,
 *                 protocol error, 421        v    v PIPELINING offered: dot
 *                     (smtp_send -1)      BROKEN   PENDING  sent, its reply
 *                                                     |     not read yet
 *     smtp_send (the next message): its [RSET] MAIL   |
 *       RCPT.. DATA are sent first, then the pending  |
 *       reply is read and msg_done called, then the   |
 *       new transaction goes on (TRANSACTION)         |
 *     smtp_sync, smtp_close: the reply is read,       v
 *       msg_done called                          READY (or BROKEN)
 *
 *   smtp_close: READY -> QUIT -> CLOSED;  BROKEN -> CLOSED (no QUIT)
 *
 * With CHUNKING and PIPELINING offered (RFC 3030; smtp_bdat.c) a message
 * goes as BDAT chunks (not dot-stuffed) and nothing in a transaction
 * waits for a reply, so transactions are kept in flight:
 *
 *          smtp_send, SMTP_MSG_PIPELINE_DOT: [RSET] MAIL RCPT..
 *          BDAT.. "BDAT n LAST" queued, no reply read
 *   READY -----------------------------------------------> WINDOW: up to
 *     ^                                                    64 transactions
 *     |  smtp_send, the window full: flush, read the       (1 MiB of
 *     |  oldest's replies and end it (rcpt_done, msg_done),  data) sent,
 *     |  until half of it is free                           replies unread
 *     +------------------------------------------------------+
 *     smtp_sync, smtp_close: flush, read and end everything outstanding
 *
 * Transactions end oldest first, each right after its last reply.  When
 * the session breaks (connection lost, timeout) every transaction in the
 * window ends at once: the one being read and each whose "BDAT n LAST"
 * went to the network get the session's outcome inside the transaction
 * (stage mail to body: the server may have taken the message); the
 * others get it at stage RSET (never taken: give it back untried).
 * After a 421 the transaction that got it has it, and the ones behind it
 * get the failure at stage RSET (the server read no further).  A 4xx or
 * 5xx to MAIL, RCPT or BDAT is that transaction's alone (the server reads
 * a chunk's data even when it refuses it, RFC 3030 4.2); a chunk before
 * LAST not answered 250 fails the message.  A message the body callback
 * cannot produce is abandoned without LAST: it ends with local_error and
 * the session stays READY (the next RSET, or QUIT, discards its chunks).
 * Without SMTP_MSG_PIPELINE_DOT the transaction (and any before it) has
 * ended when smtp_send returns.
 *
 * PENDING is RFC 2920 3.1: message content may open a group, so the next
 * transaction's commands follow the final dot without waiting for its
 * reply, and a batch costs one round trip per message, not two.  A
 * session that breaks while a reply is pending gives that transaction
 * the session's outcome (lost inside it: the server may have taken the
 * message); the transaction behind it, none of whose replies was read,
 * gets the session's failure at stage RSET, as if lost before it began.
 * A 4xx or 5xx to the pending dot is that transaction's alone; a 421
 * ends the session after it.
 *
 * Every step waits at most its configured time: connect_timeout,
 * greeting_timeout (greeting_wait on STARTTLS-expected ports under
 * tls = auto), command_timeout (each command's whole reply, and each TLS
 * handshake),
 * data_timeout (each DATA block and the final dot's reply, pending or
 * not; each write of BDAT data and each BDAT reply), all inside
 * session_timeout from smtp_open.
 *
 * Outcomes: every failure names a reason of the taxonomy (smtp_reason.h)
 * with its class, the stage, the server's code, enhanced status and text,
 * "host[addr]:port" and the TLS description, and one line
 * "relay: smarthost HOST:PORT ...; fix" for logs and relayctl.
 *
 * Threads and signals: a session belongs to one thread; nothing here is
 * async-signal-safe.  The credentials are read right before AUTH, wiped
 * after use, never logged and shown as "<redacted>" in traces.
 */
#ifndef RELAY_SMTP_H
#define RELAY_SMTP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"
#include "mail/conf.h"
#include "net/conn.h"
#include "net/tlsmode.h"
#include "smtp/smtp_reason.h"
#include "smtp/smtp_wire.h"

struct smtp_session;

struct smtp_outcome {
	enum smtp_reason reason; /* SMTP_R_OK on success */
	enum smtp_class cls; /* from the reason and the reply code */
	enum smtp_stage stage; /* where it happened */
	int code; /* the server's reply code, 0 if none */
	char enh[16]; /* enhanced status "5.1.1", or "" */
	char text[512]; /* the server's reply as one line, or "" */
	char relay[320]; /* "host[addr]:port", "host:port" if unconnected */
	char tls[48]; /* "TLSv1.3 implicit", "TLSv1.2 starttls", "none" */
	char msg[768]; /* "relay: smarthost HOST:PORT what (detail); fix" */
};

/* What the probe hears about while a session opens. */
enum smtp_event {
	SMTP_EV_PLAN, /* how the tries go: "cached implicit on 465", ... */
	SMTP_EV_RESOLVE, /* the addresses */
	SMTP_EV_CONNECT, /* one address: connected, refused, ... */
	SMTP_EV_GREETING, /* the greeting line */
	SMTP_EV_SILENCE, /* no greeting within greeting_wait */
	SMTP_EV_TLS, /* version and cipher */
	SMTP_EV_CERT, /* subject, issuer, expiry, verification */
	SMTP_EV_EHLO, /* the capabilities */
	SMTP_EV_STARTTLS, /* STARTTLS sent and answered */
	SMTP_EV_RETRY, /* the next try of the plan and why */
	SMTP_EV_MODE, /* the mode found */
	SMTP_EV_AUTH, /* mechanism and result */
	SMTP_EV_CACHE, /* the cache written, or why not */
};

/* smtp_event_name - "plan", "resolve", "connect", ... */
const char *smtp_event_name(enum smtp_event e);

struct smtp_info {
	enum tlsmode mode; /* implicit, starttls, none */
	bool from_cache; /* the mode came from the cache */
	bool redetected; /* the cached mode failed and was found again */
	bool cache_written;
	int port;
	unsigned connections; /* TCP connections this open used */
	char relay[320]; /* "host[addr]:port" */
	char tls[48]; /* "TLSv1.3 implicit" or "none" */
	struct conn_tls_info tlsinfo;
	struct smtp_caps caps; /* after TLS */
	const char *auth; /* "ok", "skipped", "none" (no credentials) */
	char auth_mech[16]; /* the mechanism used, or "" */
	unsigned transactions; /* smtp_send calls so far */
};

enum smtp_open_flags {
	SMTP_NO_AUTH = 1 << 0, /* skip AUTH even with credentials */
	SMTP_NO_CACHE_WRITE = 1 << 1, /* read the cache, never write it */
};

struct smtp_opts {
	const struct conf *conf; /* timeouts, hostname, tls_auto_ports */
	const struct conf_smarthost *sh; /* host, port, tls, auth, ... */
	const struct tlsmode_cache *cache; /* NULL: no cache */
	int flags; /* enum smtp_open_flags */
	/* event - optional: each step with ms since smtp_open began. */
	void (*event)(
	    void *ctx, enum smtp_event ev, long long ms, const char *text);
	/* trace - optional: every line sent (sent = true) or received,
	 * without CRLF; credentials replaced by "<redacted>". */
	void (*trace)(void *ctx, bool sent, const char *line, size_t n);
	/* settle - optional: transactions have ended (msg_done called) and
	 * smtp is about to wait for the server; a caller that holds results
	 * back to write several at once writes them now, so none of them
	 * waits on the network.  It must not call into the session. */
	void (*settle)(void *ctx);
	void *ctx; /* for event, trace and settle */
	/* report - optional: filled when smtp_open returns, on success and
	 * on failure (then mode and port are those of the last try). */
	struct smtp_info *report;
	/* tls_keep - optional: where the TLS context for sh is kept from one
	 * session to the next (its trust store loaded once, its last TLS
	 * session resumed).  smtp_open uses *tls_keep when set, else stores
	 * the one it builds there; the caller frees it (conn_tls_ctx_free)
	 * after the last session, and keeps one per smarthost. */
	struct conn_tls_ctx **tls_keep;
};

/* smtp_open - connect to opts->sh, find or use the TLS mode (tlsmode.h),
 * verify, EHLO, AUTH; write the mode cache after a verified, successful
 * session.  Returns the READY session (owned by the caller, smtp_close)
 * or NULL with *out filled (reason, class, stage, ...).  opts and what
 * it points to must outlive the session. */
struct smtp_session *smtp_open(
    const struct smtp_opts *opts, struct smtp_outcome *out);

/* smtp_body_fn - produce the message (canonical CRLF form preferred; any
 * line ending is accepted) by calling emit(p, n, ectx) for each chunk in
 * order.  If emit returns non-zero, stop and return -1.  Return 0 when
 * the whole message was produced, -1 with err on a local failure (the
 * message is then not sent: the session is abandoned without the final
 * dot).  A spool_body_read() call fits this shape. */
typedef int (*smtp_body_fn)(void *ctx,
    int (*emit)(const char *p, size_t n, void *ectx), void *ectx,
    struct err *err);

enum smtp_msg_flags {
	/* SMTP_MSG_PIPELINE_DOT - with PIPELINING offered, smtp_send may
	 * return right after the final dot is sent, its reply left PENDING,
	 * or with CHUNKING too, with the transaction in the WINDOW (the
	 * lifecycle above); the outcome then comes through msg_done. */
	SMTP_MSG_PIPELINE_DOT = 1 << 0,
};

struct smtp_msg {
	const char *sender; /* envelope sender, "" for the null sender */
	const char *const *rcpts; /* envelope recipients */
	size_t nrcpts;
	uint64_t size; /* message size, for SIZE= (0: unknown) */
	bool eightbit; /* send BODY=8BITMIME when offered */
	bool smtputf8; /* needs SMTPUTF8 (fails if not offered) */
	const char *ret; /* DSN RET (FULL/HDRS) or NULL */
	const char *envid; /* DSN ENVID (xtext) or NULL */
	const char *notify; /* DSN NOTIFY for every recipient, or NULL */
	smtp_body_fn body;
	void *body_ctx;
	/* rcpt_done - optional: recipient i's final outcome, as soon as it
	 * is known (a refused RCPT at once, the others after the dot). */
	void (*rcpt_done)(void *ctx, size_t i, const struct smtp_outcome *o);
	/* msg_done - optional (required with SMTP_MSG_PIPELINE_DOT): called
	 * exactly once per smtp_send call, when the transaction has ended,
	 * with what smtp_send returns for it (rc: 0 the session was still
	 * READY after it, -1 it broke) and the final outcomes (rcpt_out and
	 * msg_out as passed to smtp_send).  It may run inside smtp_send
	 * (this transaction, or the pending one before it), smtp_sync or
	 * smtp_close, and must not call into the session. */
	void (*msg_done)(void *ctx, int rc, const struct smtp_outcome *rcpt_out,
	    const struct smtp_outcome *msg_out);
	void *done_ctx; /* for rcpt_done and msg_done */
	int flags; /* enum smtp_msg_flags */
};

/* smtp_send - one transaction on a READY session: RSET first unless it
 * is the session's first, MAIL with SIZE / BODY=8BITMIME / SMTPUTF8 /
 * RET / ENVID as offered and needed, RCPT for each recipient (NOTIFY when
 * DSN is offered), pipelined with DATA when PIPELINING is offered, then
 * the body through the DATA encoder (dot-stuffing, CRLF only, folding);
 * with CHUNKING and PIPELINING offered, BDAT chunks instead of DATA (the
 * same encoder without dot-stuffing; each chunk's size is its encoded
 * size, "BDAT 0 LAST" for an empty message).
 * OUT rcpt_out[nrcpts]: each recipient's final outcome (OK only when its
 * RCPT and the final dot were accepted); OUT *msg_out: the transaction's
 * outcome (OK when the final dot was accepted for at least one
 * recipient).  Returns 0 when the session is still READY, or -1 when it
 * is BROKEN (connection lost, timeout, protocol error, 421): then every
 * recipient not already decided carries the session's outcome and only
 * smtp_close is allowed.
 *
 * With SMTP_MSG_PIPELINE_DOT the transaction may still be PENDING when
 * smtp_send returns 0: rcpt_out and msg_out are final only when
 * msg_done is called, and m, what it points to, rcpt_out and msg_out
 * must stay valid until then.  A transaction PENDING when smtp_send is
 * called ends inside it (its msg_done first), after the new one's
 * envelope was sent; transactions in the WINDOW end inside a later
 * smtp_send when the window is full (oldest first).  Without the flag
 * the transaction has ended when smtp_send returns, as before; so has
 * one refused before anything was sent (a local refusal), even while
 * others are in flight. */
int smtp_send(struct smtp_session *s, const struct smtp_msg *m,
    struct smtp_outcome *rcpt_out, struct smtp_outcome *msg_out);

/* smtp_sync - end the PENDING transaction, if any: read its final dot's
 * reply (data_timeout) and call its msg_done; end every transaction in
 * the WINDOW: send what is queued, read their replies, call their
 * msg_done, oldest first.  Call it before waiting for anything else (new
 * mail), so no result waits on the network.  Returns 0 when the session
 * is READY, -1 when it is BROKEN. */
int smtp_sync(struct smtp_session *s);

/* smtp_close - end what is in flight (smtp_sync), then QUIT (when
 * READY, waiting at most command_timeout and never more than 10 s for
 * its answer), close and free.  NULL is a no-op.  Never fails. */
void smtp_close(struct smtp_session *s);

/* smtp_is_ready - can smtp_send be called?  (READY, PENDING, WINDOW) */
bool smtp_is_ready(const struct smtp_session *s);

/* smtp_windowed - do transactions go out in a window (BDAT with
 * PIPELINING), so that several may be in flight when smtp_send returns
 * and their ends come in bursts?  The settle hook then runs before
 * every read that would wait; a caller holding results may keep them
 * until then. */
bool smtp_windowed(const struct smtp_session *s);

/* smtp_get_info - what the session found; borrowed strings live as long
 * as the session. */
void smtp_get_info(const struct smtp_session *s, struct smtp_info *out);

/* smtp_outcome_clear - a blank OK outcome. */
void smtp_outcome_clear(struct smtp_outcome *o);

/* smtp_check_secret - is the smarthost's password_file usable (a regular
 * file, not readable or writable by group or others)?  relayd calls this
 * at start so a bad file is refused before any mail waits on it.  0, or
 * -1 with ERR_CONFIG.  No file configured: 0. */
int smtp_check_secret(const struct conf_smarthost *sh, struct err *err);

#endif
