/*
 * smtp_reason.h - the failure taxonomy: every way a delivery attempt can
 * end, with a stable name (kept in the spool, shown by relayctl, logged
 * as status=deferred (reason)), a class, a scope and a sentence with the
 * fix.
 *
 * Classes decide what the runner does (runner_trouble.c maps them):
 *   SMTP_CLASS_TEMP         retry later with backoff
 *   SMTP_CLASS_PERM         bounce (only server 5xx about the message or
 *                           recipient, and limits the message cannot meet)
 *   SMTP_CLASS_RELAY_FAULT  the operator must fix something (credentials,
 *                           certificate, downgrade, configuration): hold
 *                           the queue, alert once, never bounce
 * A reason has a default class (smtp_reason_class); an outcome may refine
 * it from the reply code (a 450 recipient_rejected is temporary, a 550
 * permanent; a 454 auth_failed temporary, a 535 a relay fault).
 *
 * Scopes say what the failure is about: the session (back off the
 * smarthost as a whole), the message, or one recipient.
 */
#ifndef RELAY_SMTP_REASON_H
#define RELAY_SMTP_REASON_H

#include "base/err.h"

enum smtp_reason {
	SMTP_R_OK = 0,
	SMTP_R_CONNECT_REFUSED,
	SMTP_R_CONNECT_TIMEOUT,
	SMTP_R_DNS_FAILURE,
	SMTP_R_GREETING_TIMEOUT,
	SMTP_R_GREETING_REJECTED,
	SMTP_R_PLAINTEXT_ON_TLS_PORT,
	SMTP_R_TLS_HANDSHAKE_FAILED,
	SMTP_R_CERTIFICATE_REJECTED,
	SMTP_R_STARTTLS_NOT_OFFERED,
	SMTP_R_STARTTLS_REFUSED,
	SMTP_R_DOWNGRADE_SUSPECTED,
	SMTP_R_EHLO_REFUSED,
	SMTP_R_AUTH_UNAVAILABLE,
	SMTP_R_AUTH_FAILED,
	SMTP_R_SENDER_REJECTED,
	SMTP_R_RECIPIENT_REJECTED,
	SMTP_R_DATA_REJECTED,
	SMTP_R_SIZE_EXCEEDED,
	SMTP_R_SMTPUTF8_NOT_OFFERED,
	SMTP_R_CONNECTION_LOST,
	SMTP_R_PROTOCOL_ERROR,
	SMTP_R_TIMEOUT,
	SMTP_R_CONFIG_ERROR,
	SMTP_R_LOCAL_ERROR,
	SMTP_R_COUNT /* not a reason */
};

enum smtp_class {
	SMTP_CLASS_OK = 0,
	SMTP_CLASS_TEMP,
	SMTP_CLASS_PERM,
	SMTP_CLASS_RELAY_FAULT,
};

enum smtp_scope {
	SMTP_SCOPE_SESSION = 0,
	SMTP_SCOPE_MESSAGE,
	SMTP_SCOPE_RECIPIENT,
};

/* Where in the session something happened (shown with "timeout"). */
enum smtp_stage {
	SMTP_STAGE_NONE = 0,
	SMTP_STAGE_RESOLVE,
	SMTP_STAGE_CONNECT,
	SMTP_STAGE_GREETING,
	SMTP_STAGE_TLS,
	SMTP_STAGE_EHLO,
	SMTP_STAGE_STARTTLS,
	SMTP_STAGE_AUTH,
	SMTP_STAGE_MAIL,
	SMTP_STAGE_RCPT,
	SMTP_STAGE_DATA, /* the DATA command */
	SMTP_STAGE_BODY, /* the message and its final dot */
	SMTP_STAGE_RSET,
	SMTP_STAGE_QUIT,
};

/* smtp_reason_name - the stable name: "connect_refused", ... ("ok"). */
const char *smtp_reason_name(enum smtp_reason r);

/* smtp_reason_from_name - parse a name; 0, or -1 if unknown. */
int smtp_reason_from_name(const char *name, enum smtp_reason *out);

/* smtp_reason_class - the default class of r. */
enum smtp_class smtp_reason_class(enum smtp_reason r);

/* smtp_reason_class_for - the class of r given the server's reply code
 * (0: no reply). */
enum smtp_class smtp_reason_class_for(enum smtp_reason r, int code);

/* smtp_reason_scope - what r is about. */
enum smtp_scope smtp_reason_scope(enum smtp_reason r);

/* smtp_reason_text - one sentence: what happened and the fix (static). */
const char *smtp_reason_text(enum smtp_reason r);

/* smtp_reason_what / smtp_reason_fix - the two halves used to build the
 * one-line messages: "relay: smarthost H:P <what> (<detail>); <fix>". */
const char *smtp_reason_what(enum smtp_reason r);
const char *smtp_reason_fix(enum smtp_reason r);

/* smtp_class_name - "ok", "temporary", "permanent", "relay_fault". */
const char *smtp_class_name(enum smtp_class c);

/* smtp_class_err - ERR_NONE, ERR_TEMP, ERR_PERM, ERR_CONFIG. */
enum err_class smtp_class_err(enum smtp_class c);

/* smtp_stage_name - "connect", "greeting", "rcpt", ... */
const char *smtp_stage_name(enum smtp_stage s);

#endif
