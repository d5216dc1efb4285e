/*
 * smtp_reason.c - the failure taxonomy as one table (see smtp_reason.h).
 *
 * Part of smtp: every smtp_outcome carries one of these reasons; the
 * runner maps their classes to spool transitions, relayctl shows the
 * sentences.
 *
 * Data: the constant table below, indexed by enum smtp_reason.  Invariant:
 * one row per reason, in enum order (checked by the unit tests), and the
 * relay faults (auth, certificate, downgrade, configuration) never have
 * the permanent class, so they can never bounce mail.
 *
 * Security: the texts are constants; server text never goes in here.
 */
#include "config.h"

#include <string.h>

#include "smtp/smtp_reason.h"

struct smtp_reason_row {
	const char *name;
	enum smtp_class cls;
	enum smtp_scope scope;
	const char *what; /* "The smarthost <what>" */
	const char *fix;
	const char *text; /* the sentence: what and fix */
};

#define SMTP_ROW(n, c, s, w, f) \
	{ \
		n, SMTP_CLASS_##c, SMTP_SCOPE_##s, w, f, \
		    "The smarthost " w "; " f "." \
	}

static const struct smtp_reason_row smtp_reasons[SMTP_R_COUNT] = {
	{ "ok", SMTP_CLASS_OK, SMTP_SCOPE_SESSION, "accepted the message",
	    "nothing to do", "The smarthost accepted the message." },
	SMTP_ROW("connect_refused", TEMP, SESSION,
	    "refused the connection or is unreachable",
	    "check host and port and that the server is running; relay "
	    "retries with backoff"),
	SMTP_ROW("connect_timeout", TEMP, SESSION,
	    "did not accept a connection within connect_timeout",
	    "check host, port and any firewall on the way; relay retries "
	    "with backoff"),
	SMTP_ROW("dns_failure", TEMP, SESSION, "name cannot be resolved",
	    "check the host setting and the resolver (/etc/resolv.conf)"),
	SMTP_ROW("greeting_timeout", TEMP, SESSION,
	    "sent no greeting within greeting_timeout",
	    "check that the port speaks SMTP, or set tls = implicit if it "
	    "expects TLS at once"),
	SMTP_ROW("greeting_rejected", TEMP, SESSION,
	    "refused the session in its greeting",
	    "it may be busy or block this host; see its reply"),
	SMTP_ROW("plaintext_on_tls_port", RELAY_FAULT, SESSION,
	    "answered in plaintext",
	    "it expects STARTTLS (set port = 587 or leave tls = auto)"),
	SMTP_ROW("tls_handshake_failed", RELAY_FAULT, SESSION,
	    "failed the TLS handshake",
	    "check tls_min against what the server supports, and the "
	    "server's TLS setup"),
	SMTP_ROW("certificate_rejected", RELAY_FAULT, SESSION,
	    "presented a certificate that did not verify",
	    "fix the server certificate, or set ca_file (private CA) or "
	    "fingerprint; relay never skips verification and never tries "
	    "another mode for this"),
	SMTP_ROW("starttls_not_offered", RELAY_FAULT, SESSION,
	    "does not offer STARTTLS",
	    "relay never sends in plaintext: enable TLS on the server, use "
	    "its implicit TLS port (leave tls = auto), or set tls = none "
	    "only on a trusted network"),
	SMTP_ROW("starttls_refused", TEMP, SESSION, "refused STARTTLS",
	    "check the server's TLS configuration; relay retries with "
	    "backoff"),
	SMTP_ROW("downgrade_suspected", RELAY_FAULT, SESSION,
	    "no longer offers TLS although it did before",
	    "someone may be stripping STARTTLS; mail is held (if TLS was "
	    "really removed, run relayctl tls forget HOST:PORT)"),
	SMTP_ROW("ehlo_refused", TEMP, SESSION, "refused EHLO",
	    "check the helo setting and the server's policy"),
	SMTP_ROW("auth_unavailable", RELAY_FAULT, SESSION,
	    "offers no usable AUTH mechanism",
	    "check auth_mechanisms and that the server allows AUTH for "
	    "this client; mail is held, not bounced"),
	SMTP_ROW("auth_failed", RELAY_FAULT, SESSION,
	    "rejected the credentials",
	    "fix username and password_file or password_command; mail is "
	    "held, not bounced"),
	SMTP_ROW("sender_rejected", PERM, MESSAGE, "rejected the sender",
	    "check that this account may send as that address"),
	SMTP_ROW("recipient_rejected", PERM, RECIPIENT,
	    "rejected the recipient", "see the server's reply"),
	SMTP_ROW("data_rejected", PERM, MESSAGE, "rejected the message",
	    "see the server's reply"),
	SMTP_ROW("size_exceeded", PERM, MESSAGE,
	    "does not accept a message this large",
	    "send a smaller message or raise the server's size limit"),
	SMTP_ROW("smtputf8_not_offered", PERM, MESSAGE,
	    "does not support SMTPUTF8, which this message needs",
	    "use ASCII addresses or a smarthost that offers SMTPUTF8"),
	SMTP_ROW("connection_lost", TEMP, SESSION, "closed the connection",
	    "relay retries with backoff"),
	SMTP_ROW("protocol_error", TEMP, SESSION, "broke the SMTP protocol",
	    "see the reply shown; relay retries with backoff"),
	SMTP_ROW("timeout", TEMP, SESSION, "did not answer in time",
	    "relay retries with backoff; raise command_timeout or "
	    "data_timeout if the server is just slow"),
	SMTP_ROW("config_error", RELAY_FAULT, SESSION,
	    "cannot be used with this configuration",
	    "fix the setting named in the message (relayctl check)"),
	SMTP_ROW("local_error", TEMP, MESSAGE,
	    "did not get the whole message: relay failed locally",
	    "see relayd's log (spool or disk trouble); relay retries"),
};

const char *
smtp_reason_name(enum smtp_reason r)
{
	if ((unsigned)r >= SMTP_R_COUNT)
		return "unknown";
	return smtp_reasons[r].name;
}

int
smtp_reason_from_name(const char *name, enum smtp_reason *out)
{
	size_t i;

	for (i = 0; i < SMTP_R_COUNT; i++) {
		if (strcmp(smtp_reasons[i].name, name) == 0) {
			*out = (enum smtp_reason)i;
			return 0;
		}
	}
	return -1;
}

enum smtp_class
smtp_reason_class(enum smtp_reason r)
{
	if ((unsigned)r >= SMTP_R_COUNT)
		return SMTP_CLASS_TEMP;
	return smtp_reasons[r].cls;
}

enum smtp_class
smtp_reason_class_for(enum smtp_reason r, int code)
{
	switch (r) {
	case SMTP_R_SENDER_REJECTED:
	case SMTP_R_RECIPIENT_REJECTED:
	case SMTP_R_DATA_REJECTED:
	case SMTP_R_SIZE_EXCEEDED:
		/* The server decides: 4xx later, 5xx never. */
		return code >= 400 && code < 500 ? SMTP_CLASS_TEMP
						 : SMTP_CLASS_PERM;
	case SMTP_R_AUTH_FAILED:
	case SMTP_R_GREETING_REJECTED:
	case SMTP_R_EHLO_REFUSED:
	case SMTP_R_STARTTLS_REFUSED:
		/* Temporary trouble on the server's side, else the operator
		 * must act: nothing here may bounce mail. */
		return code >= 400 && code < 500 ? SMTP_CLASS_TEMP
						 : SMTP_CLASS_RELAY_FAULT;
	default:
		return smtp_reason_class(r);
	}
}

enum smtp_scope
smtp_reason_scope(enum smtp_reason r)
{
	if ((unsigned)r >= SMTP_R_COUNT)
		return SMTP_SCOPE_SESSION;
	return smtp_reasons[r].scope;
}

const char *
smtp_reason_text(enum smtp_reason r)
{
	if ((unsigned)r >= SMTP_R_COUNT)
		return "Unknown reason.";
	return smtp_reasons[r].text;
}

const char *
smtp_reason_what(enum smtp_reason r)
{
	if ((unsigned)r >= SMTP_R_COUNT)
		return "failed";
	return smtp_reasons[r].what;
}

const char *
smtp_reason_fix(enum smtp_reason r)
{
	if ((unsigned)r >= SMTP_R_COUNT)
		return "see the log";
	return smtp_reasons[r].fix;
}

const char *
smtp_class_name(enum smtp_class c)
{
	switch (c) {
	case SMTP_CLASS_OK:
		return "ok";
	case SMTP_CLASS_TEMP:
		return "temporary";
	case SMTP_CLASS_PERM:
		return "permanent";
	case SMTP_CLASS_RELAY_FAULT:
		return "relay_fault";
	}
	return "unknown";
}

enum err_class
smtp_class_err(enum smtp_class c)
{
	switch (c) {
	case SMTP_CLASS_OK:
		return ERR_NONE;
	case SMTP_CLASS_TEMP:
		return ERR_TEMP;
	case SMTP_CLASS_PERM:
		return ERR_PERM;
	case SMTP_CLASS_RELAY_FAULT:
		return ERR_CONFIG;
	}
	return ERR_INTERNAL;
}

const char *
smtp_stage_name(enum smtp_stage s)
{
	static const char *const names[] = { "none", "resolve", "connect",
		"greeting", "tls", "ehlo", "starttls", "auth", "mail", "rcpt",
		"data", "body", "rset", "quit" };

	if ((unsigned)s >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[s];
}
