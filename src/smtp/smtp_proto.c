/*
 * smtp_proto.c - commands out, replies in, and outcomes: the small verbs
 * every part of the session uses.
 *
 * Part of smtp: smtp_open.c, smtp.c and smtp_auth.c queue commands with
 * smtp_cmd, send them with smtp_flush (one write per batch, so pipelined
 * commands share a packet), read replies with smtp_read, and turn every
 * failure into an outcome with smtp_fail*.
 *
 * Data: the session's input buffer (bytes read, not yet parsed; bounded)
 * and its last reply.  Invariant: a reply is taken from the input only
 * when it parsed completely; what follows stays for the next read, which
 * is how pipelined replies and the STARTTLS injection check work.
 *
 * Implements RFC 5321 4.2 and 4.5.3.2 (timeouts per command).
 *
 * Security: server text reaches outcomes only through smtp_reply_line
 * (printable, bounded) and traces only as bounded lines; secrets are
 * queued by smtp_cmd_secret, which traces a placeholder.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/str.h"
#include "smtp/smtp_priv.h"

#define SMTP_CMD_MAX 16384

long long
smtp_ms(long long seconds)
{
	return seconds > 0 ? seconds * 1000 : 1000;
}

const char *
smtp_event_name(enum smtp_event e)
{
	static const char *const names[] = { "plan", "resolve", "connect",
		"greeting", "silence", "tls", "certificate", "ehlo", "starttls",
		"retry", "mode", "auth", "cache" };

	if ((unsigned)e >= sizeof(names) / sizeof(names[0]))
		return "unknown";
	return names[e];
}

void
smtp_event_emit(
    struct smtp_session *s, enum smtp_event ev, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	if (s->o.event == NULL)
		return;
	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	s->o.event(s->o.ctx, ev, conn_now_ms() - s->t0, text);
}

void
smtp_cmd(struct smtp_session *s, const char *fmt, ...)
{
	char line[SMTP_CMD_MAX];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line) - 2, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof(line) - 2)
		log_panic("smtp: command too long");
	if (s->o.trace != NULL)
		s->o.trace(s->o.ctx, true, line, (size_t)n);
	line[n] = '\r';
	line[n + 1] = '\n';
	conn_write(s->conn, line, (size_t)n + 2);
}

void
smtp_cmd_secret(struct smtp_session *s, const char *shown, const char *secret)
{
	if (s->o.trace != NULL) {
		char trace[128];

		(void)str_fmt(trace, sizeof(trace), "%s%s<redacted>", shown,
		    *shown != '\0' ? " " : "");
		s->o.trace(s->o.ctx, true, trace, strlen(trace));
	}
	conn_write(s->conn, shown, strlen(shown));
	if (*shown != '\0')
		conn_write(s->conn, " ", 1);
	conn_write(s->conn, secret, strlen(secret));
	conn_write(s->conn, "\r\n", 2);
}

int
smtp_flush(struct smtp_session *s, long long ms, enum smtp_stage stage,
    struct smtp_outcome *out)
{
	struct err err;

	err_clear(&err);
	conn_set_timeout(s->conn, ms);
	if (conn_flush(s->conn, &err) == -1) {
		s->state = SMTP_ST_BROKEN;
		return smtp_fail_conn(s, out, &err, stage);
	}
	return 0;
}

/* smtp_trace_in - hand each received line of p[0..n) to the trace. */
static void
smtp_trace_in(struct smtp_session *s, const char *p, size_t n)
{
	while (n > 0 && s->o.trace != NULL) {
		const char *lf = memchr(p, '\n', n);
		size_t len = lf != NULL ? (size_t)(lf - p) + 1 : n;
		size_t show = len;

		while (show > 0 && (p[show - 1] == '\n' || p[show - 1] == '\r'))
			show--;
		s->o.trace(s->o.ctx, false, p, show);
		p += len;
		n -= len;
	}
}

int
smtp_read(struct smtp_session *s, long long ms, enum smtp_stage stage,
    struct smtp_outcome *out)
{
	long long end = conn_now_ms() + ms;
	struct err err;

	err_clear(&err);
	for (;;) {
		size_t used = 0;
		int rc = smtp_reply_parse(
		    s->in.data, s->in.len, &s->reply, &used, &err);

		if (rc == 1) {
			smtp_trace_in(s, s->in.data, used);
			buf_consume(&s->in, used);
			return 0;
		}
		if (rc == -1) {
			char shown[96];
			struct buf esc;

			buf_init(&esc, 80);
			(void)str_escape(
			    &esc, s->in.data, s->in.len < 60 ? s->in.len : 60);
			(void)str_copy(shown, sizeof(shown), esc.data);
			buf_free(&esc);
			s->state = SMTP_ST_BROKEN;
			return smtp_fail(s, out, SMTP_R_PROTOCOL_ERROR, stage,
			    "%s: \"%s\"", err.msg, shown);
		}
		/* One deadline for the whole reply: a server trickling bytes
		 * cannot stretch it. */
		conn_set_timeout(s->conn, end - conn_now_ms());
		if (conn_read(s->conn, &s->in, &err) == -1) {
			s->state = SMTP_ST_BROKEN;
			if (err.cls == ERR_INTERNAL)
				return smtp_fail(s, out, SMTP_R_PROTOCOL_ERROR,
				    stage, "reply too long");
			return smtp_fail_conn(s, out, &err, stage);
		}
	}
}

void
smtp_set_relay(struct smtp_session *s)
{
	struct conn_tls_info ti;

	if (s->conn == NULL) {
		(void)str_fmt(
		    s->relay, sizeof(s->relay), "%s:%d", s->sh->host, s->port);
		(void)str_copy(s->tlsdesc, sizeof(s->tlsdesc), "none");
		return;
	}
	(void)str_fmt(s->relay, sizeof(s->relay), "%s[%s]:%d", s->sh->host,
	    conn_peer(s->conn), conn_port(s->conn));
	if (!conn_is_tls(s->conn)) {
		(void)str_copy(s->tlsdesc, sizeof(s->tlsdesc), "none");
		return;
	}
	conn_get_tls_info(s->conn, &ti);
	(void)str_fmt(s->tlsdesc, sizeof(s->tlsdesc), "%s %s", ti.version,
	    tlsmode_name(s->mode));
}

void
smtp_outcome_clear(struct smtp_outcome *o)
{
	memset(o, 0, sizeof(*o));
	o->reason = SMTP_R_OK;
	o->cls = SMTP_CLASS_OK;
}

/* smtp_outcome_base - reason, stage, relay and the message line. */
static void
smtp_outcome_base(struct smtp_session *s, struct smtp_outcome *o,
    enum smtp_reason r, enum smtp_stage stage, const char *detail)
{
	char what[160];

	o->reason = r;
	o->stage = stage;
	(void)str_copy(o->relay, sizeof(o->relay), s->relay);
	(void)str_copy(o->tls, sizeof(o->tls), s->tlsdesc);
	if (r == SMTP_R_TIMEOUT)
		(void)str_fmt(what, sizeof(what), "%s (stage %s)",
		    smtp_reason_what(r), smtp_stage_name(stage));
	else
		(void)str_copy(what, sizeof(what), smtp_reason_what(r));
	if (r == SMTP_R_OK)
		(void)str_fmt(o->msg, sizeof(o->msg),
		    "relay: smarthost %s:%d %s%s%s%s", s->sh->host, s->port,
		    what, detail != NULL && *detail ? " (" : "",
		    detail != NULL ? detail : "",
		    detail != NULL && *detail ? ")" : "");
	else
		(void)str_fmt(o->msg, sizeof(o->msg),
		    "relay: smarthost %s:%d %s%s%s%s; %s", s->sh->host, s->port,
		    what, detail != NULL && *detail ? " (" : "",
		    detail != NULL ? detail : "",
		    detail != NULL && *detail ? ")" : "", smtp_reason_fix(r));
}

int
smtp_fail(struct smtp_session *s, struct smtp_outcome *out, enum smtp_reason r,
    enum smtp_stage stage, const char *fmt, ...)
{
	char detail[512];
	va_list ap;

	detail[0] = '\0';
	if (fmt != NULL) {
		va_start(ap, fmt);
		(void)vsnprintf(detail, sizeof(detail), fmt, ap);
		va_end(ap);
	}
	smtp_outcome_clear(out);
	smtp_outcome_base(s, out, r, stage, detail);
	out->cls = smtp_reason_class(r);
	return -1;
}

int
smtp_fail_reply(struct smtp_session *s, struct smtp_outcome *out,
    enum smtp_reason r, enum smtp_stage stage)
{
	smtp_outcome_clear(out);
	(void)smtp_reply_line(&s->reply, out->text, sizeof(out->text));
	smtp_outcome_base(s, out, r, stage, out->text);
	out->code = s->reply.code;
	(void)str_copy(out->enh, sizeof(out->enh), s->reply.enh);
	out->cls = smtp_reason_class_for(r, s->reply.code);
	return -1;
}

void
smtp_ok_reply(struct smtp_session *s, struct smtp_outcome *out)
{
	smtp_outcome_clear(out);
	(void)smtp_reply_line(&s->reply, out->text, sizeof(out->text));
	smtp_outcome_base(s, out, SMTP_R_OK, SMTP_STAGE_BODY, out->text);
	out->code = s->reply.code;
	(void)str_copy(out->enh, sizeof(out->enh), s->reply.enh);
}

int
smtp_fail_conn(struct smtp_session *s, struct smtp_outcome *out,
    const struct err *err, enum smtp_stage stage)
{
	enum smtp_reason r;

	switch ((enum conn_fail)err->reason) {
	case CONN_F_DNS:
		r = SMTP_R_DNS_FAILURE;
		break;
	case CONN_F_REFUSED:
		r = SMTP_R_CONNECT_REFUSED;
		break;
	case CONN_F_TIMEOUT:
		r = stage == SMTP_STAGE_CONNECT	   ? SMTP_R_CONNECT_TIMEOUT
		    : stage == SMTP_STAGE_GREETING ? SMTP_R_GREETING_TIMEOUT
						   : SMTP_R_TIMEOUT;
		break;
	case CONN_F_PLAINTEXT:
		r = SMTP_R_PLAINTEXT_ON_TLS_PORT;
		break;
	case CONN_F_HANDSHAKE:
		r = SMTP_R_TLS_HANDSHAKE_FAILED;
		break;
	case CONN_F_CERT:
		r = SMTP_R_CERTIFICATE_REJECTED;
		break;
	case CONN_F_CONFIG:
		r = SMTP_R_CONFIG_ERROR;
		break;
	case CONN_F_NONE:
	case CONN_F_LOST:
	case CONN_F_IO:
	default:
		r = err->cls == ERR_CONFIG ? SMTP_R_CONFIG_ERROR
					   : SMTP_R_CONNECTION_LOST;
		break;
	}
	return smtp_fail(s, out, r, stage, "%s", err->msg);
}

int
smtp_ehlo(struct smtp_session *s, struct smtp_outcome *out)
{
	const char *helo =
	    s->sh->helo != NULL ? s->sh->helo : s->conf->hostname;
	long long ms = smtp_ms(s->conf->command_timeout);

	smtp_cmd(s, "EHLO %s", helo);
	if (smtp_flush(s, ms, SMTP_STAGE_EHLO, out) == -1 ||
	    smtp_read(s, ms, SMTP_STAGE_EHLO, out) == -1)
		return -1;
	if (s->reply.code != 250) {
		s->state = SMTP_ST_BROKEN;
		return smtp_fail_reply(
		    s, out, SMTP_R_EHLO_REFUSED, SMTP_STAGE_EHLO);
	}
	smtp_ehlo_parse(&s->reply, &s->caps);
	smtp_event_emit(s, SMTP_EV_EHLO, "%s", s->caps.keywords);
	return 0;
}
