/*
 * smtpd.c - the SMTP server's commands (design and state diagram in
 * smtpd.h; DATA in smtpd_data.c).
 *
 * Owns the session: the command line being read, the transaction (sender,
 * recipients, BODY) and the count of bad commands.  Invariants: a
 * transaction exists only between an accepted MAIL and the reply to the
 * final dot or RSET/HELO/EHLO; every command line gets exactly one reply
 * (a multi-line one for EHLO), in order, also when pipelined.
 *
 * RFCs: 5321 (SMTP: commands, replies, sequence rules, line limits),
 * 1869/1870 (EHLO, SIZE), 6152 (8BITMIME), 2920 (PIPELINING), 2034 and
 * 3463 (enhanced status codes).
 *
 * Security: command lines are bounded (SMTPD_MAX_LINE) and untrusted;
 * nothing from them is echoed back, addresses are checked by
 * addr_check_envelope and subproto_valid_value before they are kept, and
 * after SMTPD_MAX_ERRORS bad commands the session ends with 421.
 */
#include "config.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "mail/smtpd.h"
#include "mail/smtpd_priv.h"
#include "mail/subproto.h"

typedef void (*smtpd_cmd_fn)(struct smtpd *s, char *arg);

struct smtpd_cmd {
	const char *verb;
	smtpd_cmd_fn fn;
};

static void smtpd_upper(char *p);
static void smtpd_cmd_helo(struct smtpd *s, char *arg);
static void smtpd_cmd_ehlo(struct smtpd *s, char *arg);
static void smtpd_cmd_mail(struct smtpd *s, char *arg);
static void smtpd_cmd_rcpt(struct smtpd *s, char *arg);
static void smtpd_cmd_data(struct smtpd *s, char *arg);
static void smtpd_cmd_rset(struct smtpd *s, char *arg);
static void smtpd_cmd_noop(struct smtpd *s, char *arg);
static void smtpd_cmd_vrfy(struct smtpd *s, char *arg);
static void smtpd_cmd_help(struct smtpd *s, char *arg);
static void smtpd_cmd_quit(struct smtpd *s, char *arg);
static void smtpd_cmd_notimpl(struct smtpd *s, char *arg);

static const struct smtpd_cmd smtpd_cmds[] = {
	{ "HELO", smtpd_cmd_helo },
	{ "EHLO", smtpd_cmd_ehlo },
	{ "MAIL", smtpd_cmd_mail },
	{ "RCPT", smtpd_cmd_rcpt },
	{ "DATA", smtpd_cmd_data },
	{ "RSET", smtpd_cmd_rset },
	{ "NOOP", smtpd_cmd_noop },
	{ "VRFY", smtpd_cmd_vrfy },
	{ "HELP", smtpd_cmd_help },
	{ "QUIT", smtpd_cmd_quit },
	{ "EXPN", smtpd_cmd_notimpl },
	{ "STARTTLS", smtpd_cmd_notimpl },
	{ "AUTH", smtpd_cmd_notimpl },
	{ "BDAT", smtpd_cmd_notimpl },
	{ "ETRN", smtpd_cmd_notimpl },
	{ "TURN", smtpd_cmd_notimpl },
};

struct smtpd *
smtpd_new(const struct conf *c, const struct smtpd_ops *ops, void *arg)
{
	struct smtpd *s = xcalloc(1, sizeof(*s));

	s->conf = c;
	s->ops = ops;
	s->arg = arg;
	s->phase = SMTPD_COMMAND;
	buf_init(&s->cmd, SMTPD_MAX_LINE);
	buf_init(&s->chunk, SMTPD_CHUNK);
	buf_init(&s->wire, SMTPD_CHUNK + 64 + SUBPROTO_MAX_LINE * 8);
	return s;
}

void
smtpd_free(struct smtpd *s)
{
	if (s == NULL)
		return;
	smtpd_reset(s);
	buf_free(&s->cmd);
	buf_free(&s->chunk);
	buf_free(&s->wire);
	xfree(s->full_name);
	xfree(s->default_body);
	xfree(s);
}

void
smtpd_set_conf(struct smtpd *s, const struct conf *c)
{
	s->conf = c;
}

void
smtpd_set_defaults(
    struct smtpd *s, const char *full_name, const char *body_type)
{
	xfree(s->full_name);
	xfree(s->default_body);
	s->full_name = full_name != NULL ? xstrdup(full_name) : NULL;
	s->default_body = body_type != NULL ? xstrdup(body_type) : NULL;
	if (s->default_body != NULL)
		smtpd_upper(s->default_body);
}

/* smtpd_upper - ASCII upper case in place. */
static void
smtpd_upper(char *p)
{
	for (; *p != '\0'; p++)
		*p = (char)toupper((unsigned char)*p);
}

/* smtpd_text - copy text into out with anything outside printable ASCII
 * replaced, so no reply can carry a line end or a control character. */
static void
smtpd_text(char *out, size_t size, const char *text)
{
	size_t i;

	(void)str_copy(out, size, text);
	for (i = 0; out[i] != '\0'; i++)
		if ((unsigned char)out[i] < 0x20 ||
		    (unsigned char)out[i] > 0x7e)
			out[i] = '?';
}

void
smtpd_reply(struct smtpd *s, int code, const char *enh, const char *fmt, ...)
{
	char text[400], clean[400], line[512];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	smtpd_text(clean, sizeof(clean), text);
	if (enh != NULL)
		rc = str_fmt(
		    line, sizeof(line), "%03d %s %s\r\n", code, enh, clean);
	else
		rc = str_fmt(line, sizeof(line), "%03d %s\r\n", code, clean);
	if (rc == 0)
		s->ops->reply(s->arg, line, strlen(line));
}

/* smtpd_enh - the enhanced status code for a reply code. */
static const char *
smtpd_enh(int code)
{
	switch (code) {
	case 552:
		return "5.3.4";
	case 553:
		return "5.1.3";
	case 554:
		return "5.6.0";
	case 421:
		return "4.3.2";
	case 452:
		return "4.3.1";
	default:
		return code >= 500 ? "5.0.0" : "4.3.0";
	}
}

void
smtpd_reply_err(struct smtpd *s, const struct err *err)
{
	int code = err->smtp_code;
	const char *enh = err->enh[0] != '\0' ? err->enh : NULL;

	if (code < 400 || code > 599)
		code = err->cls == ERR_PERM ? 554 : 451;
	if (enh == NULL || enh[0] != (char)('0' + code / 100))
		enh = smtpd_enh(code);
	smtpd_reply(s, code, enh, "%s", err->msg);
}

void
smtpd_reset(struct smtpd *s)
{
	smtpd_data_drop(s);
	s->in_mail = false;
	xfree(s->sender);
	s->sender = NULL;
	xfree(s->body_type);
	s->body_type = NULL;
	addr_list_free(&s->rcpts);
}

void
smtpd_start(struct smtpd *s)
{
	smtpd_reply(s, 220, NULL, "%s ESMTP relay", s->conf->hostname);
}

/* smtpd_close - end the session with a 421 reply. */
static void
smtpd_close(struct smtpd *s, const char *enh, const char *why)
{
	if (s->phase == SMTPD_CLOSED)
		return;
	if (s->phase == SMTPD_DATA)
		s->abandoned = true;
	smtpd_reset(s);
	smtpd_reply(
	    s, 421, enh, "%s %s, closing connection", s->conf->hostname, why);
	s->phase = SMTPD_CLOSED;
}

/* smtpd_bad - reply to a protocol error (500-503, 555; refused
 * addresses and sizes are not counted); close after too many. */
static void
smtpd_bad(struct smtpd *s, int code, const char *enh, const char *text)
{
	smtpd_reply(s, code, enh, "%s", text);
	if (++s->errors >= SMTPD_MAX_ERRORS)
		smtpd_close(s, "4.7.0", "too many errors");
}

/* --- command parsing ------------------------------------------------------ */

/* smtpd_path - parse "<path> params" or "path params" at p.  OUT *addr
 * (inside p, NUL-terminated, a source route removed) and *rest (the
 * parameters).  -1 on a syntax error. */
static int
smtpd_path(char *p, char **addr, char **rest)
{
	char *end;

	while (*p == ' ')
		p++;
	if (*p != '<') {
		end = p + strcspn(p, " ");
	} else {
		bool quoted = false;

		for (end = ++p; *end != '\0'; end++) {
			if (quoted && *end == '\\' && end[1] != '\0')
				end++;
			else if (*end == '"')
				quoted = !quoted;
			else if (*end == '>' && !quoted)
				break;
		}
		if (*end != '>')
			return -1;
	}
	*rest = *end != '\0' ? end + 1 : end;
	*end = '\0';
	if (*p == '@') {
		char *colon = strchr(p, ':');

		if (colon == NULL)
			return -1;
		p = colon + 1;
	}
	*addr = p;
	return 0;
}

/* smtpd_prefix - skip "FROM:" / "TO:" (any case, spaces after). */
static char *
smtpd_prefix(char *arg, const char *prefix)
{
	size_t n = strlen(prefix);

	if (!str_has_prefix_ci(arg, prefix))
		return NULL;
	arg += n;
	while (*arg == ' ')
		arg++;
	return arg;
}

/* smtpd_next_param - the next space-separated token of *rest, or NULL. */
static char *
smtpd_next_param(char **rest)
{
	char *p = *rest, *tok;

	while (*p == ' ')
		p++;
	if (*p == '\0')
		return NULL;
	tok = p;
	p += strcspn(p, " ");
	if (*p != '\0')
		*p++ = '\0';
	*rest = p;
	return tok;
}

/* smtpd_address - qualify and check an envelope address; NULL after a
 * 553 reply.  enh: "5.1.7" (sender) or "5.1.3" (recipient). */
static char *
smtpd_address(struct smtpd *s, const char *addr, const char *enh)
{
	char *q = addr_qualify(addr, s->conf->domain);
	struct err err;

	err_clear(&err);
	if (addr_is_8bit(q)) {
		smtpd_reply(s, 553, "5.6.7",
		    "non-ASCII address: SMTPUTF8 is not offered here");
	} else if (addr_check_envelope(q, &err) == -1) {
		smtpd_reply(s, 553, enh, "%s", err.msg);
	} else if (!subproto_valid_value(q, false)) {
		smtpd_reply(s, 553, enh,
		    "address with white space or control characters");
	} else {
		return q;
	}
	xfree(q);
	return NULL;
}

/* smtpd_mail_param - one MAIL parameter; 0, or -1 after the reply. */
static int
smtpd_mail_param(struct smtpd *s, char *tok)
{
	char *eq = strchr(tok, '=');
	const char *val = eq != NULL ? eq + 1 : "";
	long long size;

	if (eq != NULL)
		*eq = '\0';
	if (str_eq_ci(tok, "SIZE")) {
		if (str_to_ll(val, 0, 0x7fffffffffffffffLL, &size) == -1) {
			smtpd_bad(s, 501, "5.5.4", "bad SIZE value");
			return -1;
		}
		if ((unsigned long long)size > s->conf->max_message_size) {
			smtpd_reply(s, 552, "5.3.4",
			    "message size exceeds the limit of %llu bytes",
			    (unsigned long long)s->conf->max_message_size);
			return -1;
		}
		return 0;
	}
	if (str_eq_ci(tok, "BODY") &&
	    (str_eq_ci(val, "7BIT") || str_eq_ci(val, "8BITMIME"))) {
		xfree(s->body_type);
		s->body_type = xstrdup(val);
		smtpd_upper(s->body_type);
		return 0;
	}
	if (str_eq_ci(tok, "BODY")) {
		smtpd_bad(s, 501, "5.5.4", "BODY must be 7BIT or 8BITMIME");
		return -1;
	}
	smtpd_bad(s, 555, "5.5.4", "unsupported MAIL parameter");
	return -1;
}

/* --- commands ------------------------------------------------------------- */

static void
smtpd_cmd_helo(struct smtpd *s, char *arg)
{
	if (*arg == '\0') {
		smtpd_bad(s, 501, "5.5.4", "syntax: HELO hostname");
		return;
	}
	smtpd_reset(s);
	s->helo = true;
	s->esmtp = false;
	smtpd_reply(s, 250, NULL, "%s", s->conf->hostname);
}

static void
smtpd_cmd_ehlo(struct smtpd *s, char *arg)
{
	char host[256], text[512];

	if (*arg == '\0') {
		smtpd_bad(s, 501, "5.5.4", "syntax: EHLO hostname");
		return;
	}
	smtpd_reset(s);
	s->helo = true;
	s->esmtp = true;
	smtpd_text(host, sizeof(host), s->conf->hostname);
	if (str_fmt(text, sizeof(text),
		"250-%s\r\n250-PIPELINING\r\n250-SIZE %llu\r\n"
		"250-8BITMIME\r\n250 ENHANCEDSTATUSCODES\r\n",
		host, (unsigned long long)s->conf->max_message_size) == 0)
		s->ops->reply(s->arg, text, strlen(text));
}

static void
smtpd_cmd_mail(struct smtpd *s, char *arg)
{
	char *path, *addr, *rest, *tok, *q;

	if (!s->helo) {
		smtpd_bad(s, 503, "5.5.1", "send HELO or EHLO first");
		return;
	}
	if (s->in_mail) {
		smtpd_bad(s, 503, "5.5.1", "nested MAIL command");
		return;
	}
	path = smtpd_prefix(arg, "FROM:");
	if (path == NULL || smtpd_path(path, &addr, &rest) == -1) {
		smtpd_bad(s, 501, "5.5.4", "syntax: MAIL FROM:<address>");
		return;
	}
	while ((tok = smtpd_next_param(&rest)) != NULL) {
		if (!s->esmtp) {
			smtpd_bad(s, 555, "5.5.4", "MAIL parameters need EHLO");
			return;
		}
		if (smtpd_mail_param(s, tok) == -1)
			return;
	}
	q = *addr == '\0' ? xstrdup("") : smtpd_address(s, addr, "5.1.7");
	if (q == NULL)
		return;
	s->sender = q;
	s->in_mail = true;
	smtpd_reply(s, 250, "2.1.0", "Ok");
}

static void
smtpd_cmd_rcpt(struct smtpd *s, char *arg)
{
	char *path, *addr, *rest, *q;

	if (!s->in_mail) {
		smtpd_bad(s, 503, "5.5.1", "need MAIL before RCPT");
		return;
	}
	path = smtpd_prefix(arg, "TO:");
	if (path == NULL || smtpd_path(path, &addr, &rest) == -1) {
		smtpd_bad(s, 501, "5.5.4", "syntax: RCPT TO:<address>");
		return;
	}
	if (smtpd_next_param(&rest) != NULL) {
		smtpd_bad(s, 555, "5.5.4", "unsupported RCPT parameter");
		return;
	}
	if (*addr == '\0') {
		smtpd_reply(s, 553, "5.1.3", "a recipient cannot be empty");
		return;
	}
	q = smtpd_address(s, addr, "5.1.3");
	if (q == NULL)
		return;
	if (s->rcpts.n >= SUBPROTO_MAX_RCPTS &&
	    !addr_list_contains(&s->rcpts, q))
		smtpd_reply(s, 452, "4.5.3", "too many recipients (limit %d)",
		    SUBPROTO_MAX_RCPTS);
	else {
		(void)addr_list_add_unique(&s->rcpts, q);
		smtpd_reply(s, 250, "2.1.5", "Ok");
	}
	xfree(q);
}

static void
smtpd_cmd_data(struct smtpd *s, char *arg)
{
	if (!s->in_mail) {
		smtpd_bad(s, 503, "5.5.1", "need MAIL before DATA");
		return;
	}
	if (s->rcpts.n == 0) {
		smtpd_bad(s, 503, "5.5.1", "need RCPT before DATA");
		return;
	}
	if (*arg != '\0') {
		smtpd_bad(s, 501, "5.5.4", "syntax: DATA");
		return;
	}
	smtpd_reply(s, 354, NULL, "End data with <CR><LF>.<CR><LF>");
	smtpd_data_begin(s);
	s->phase = SMTPD_DATA;
}

static void
smtpd_cmd_rset(struct smtpd *s, char *arg)
{
	(void)arg;
	smtpd_reset(s);
	smtpd_reply(s, 250, "2.0.0", "Ok");
}

static void
smtpd_cmd_noop(struct smtpd *s, char *arg)
{
	(void)arg;
	smtpd_reply(s, 250, "2.0.0", "Ok");
}

static void
smtpd_cmd_vrfy(struct smtpd *s, char *arg)
{
	if (*arg == '\0') {
		smtpd_bad(s, 501, "5.5.4", "syntax: VRFY address");
		return;
	}
	smtpd_reply(s, 252, "2.5.2",
	    "cannot VRFY, but will accept the message and attempt delivery");
}

static void
smtpd_cmd_help(struct smtpd *s, char *arg)
{
	(void)arg;
	smtpd_reply(s, 214, "2.0.0",
	    "commands: HELO EHLO MAIL RCPT DATA RSET NOOP VRFY HELP QUIT");
}

static void
smtpd_cmd_quit(struct smtpd *s, char *arg)
{
	(void)arg;
	smtpd_reset(s);
	smtpd_reply(
	    s, 221, "2.0.0", "%s closing connection", s->conf->hostname);
	s->phase = SMTPD_CLOSED;
}

static void
smtpd_cmd_notimpl(struct smtpd *s, char *arg)
{
	(void)arg;
	smtpd_bad(s, 502, "5.5.1", "command not implemented");
}

/* smtpd_command - dispatch one complete command line (no line end). */
static void
smtpd_command(struct smtpd *s, char *line, size_t n)
{
	char *arg;
	size_t i, vlen;

	if (memchr(line, '\0', n) != NULL) {
		smtpd_bad(s, 500, "5.5.2", "invalid character in command");
		return;
	}
	vlen = strcspn(line, " ");
	arg = line + vlen;
	while (*arg == ' ')
		arg++;
	line[vlen] = '\0';
	for (i = 0; i < sizeof(smtpd_cmds) / sizeof(smtpd_cmds[0]); i++) {
		if (str_eq_ci(line, smtpd_cmds[i].verb)) {
			smtpd_cmds[i].fn(s, arg);
			return;
		}
	}
	smtpd_bad(s, 500, "5.5.2", "command not recognized");
}

/* smtpd_cmd_feed - gather a command line from p[0..n); run it when its
 * line end arrives.  Returns the bytes consumed. */
static size_t
smtpd_cmd_feed(struct smtpd *s, const char *p, size_t n)
{
	const char *lf = memchr(p, '\n', n);
	size_t take = lf != NULL ? (size_t)(lf - p) : n;

	if (!s->cmd_overflow && buf_append(&s->cmd, p, take) == -1)
		s->cmd_overflow = true;
	if (lf == NULL)
		return n;
	if (s->cmd_overflow) {
		smtpd_bad(s, 500, "5.5.2", "line too long");
	} else {
		while (s->cmd.len > 0 && s->cmd.data[s->cmd.len - 1] == '\r')
			buf_truncate(&s->cmd, s->cmd.len - 1);
		smtpd_command(s, s->cmd.data, s->cmd.len);
	}
	buf_reset(&s->cmd);
	s->cmd_overflow = false;
	return take + 1;
}

size_t
smtpd_feed(struct smtpd *s, const char *p, size_t n)
{
	size_t used = 0;

	while (
	    used < n && (s->phase == SMTPD_COMMAND || s->phase == SMTPD_DATA)) {
		bool done = false;

		if (s->phase == SMTPD_COMMAND) {
			used += smtpd_cmd_feed(s, p + used, n - used);
			continue;
		}
		used += smtpd_data_feed(s, p + used, n - used, &done);
		if (done)
			smtpd_data_end(s);
	}
	return used;
}

void
smtpd_eof(struct smtpd *s)
{
	if (s->phase == SMTPD_DATA)
		s->abandoned = true;
	if (s->phase != SMTPD_WAIT)
		smtpd_reset(s);
	s->phase = SMTPD_CLOSED;
}

void
smtpd_timeout(struct smtpd *s)
{
	smtpd_close(s, "4.4.2", "timeout exceeded");
}

void
smtpd_shutdown(struct smtpd *s)
{
	smtpd_close(s, "4.3.2", "service shutting down");
}

void
smtpd_commit_done(struct smtpd *s, const char *qid, const struct err *err)
{
	struct err e;

	if (s->phase != SMTPD_WAIT)
		return;
	if (qid != NULL) {
		s->accepted++;
		smtpd_reply(s, 250, "2.0.0", "Ok: queued as %s", qid);
	} else {
		if (err == NULL) {
			err_clear(&e);
			(void)err_set(
			    &e, ERR_TEMP, "the message was not queued");
			err = &e;
		}
		smtpd_reply_err(s, err);
	}
	smtpd_reset(s);
	s->phase = SMTPD_COMMAND;
}

enum smtpd_phase
smtpd_phase(const struct smtpd *s)
{
	return s->phase;
}

bool
smtpd_in_data(const struct smtpd *s)
{
	return s->phase == SMTPD_DATA;
}

bool
smtpd_abandoned(const struct smtpd *s)
{
	return s->abandoned;
}

uint64_t
smtpd_accepted(const struct smtpd *s)
{
	return s->accepted;
}

const char *
smtpd_sender(const struct smtpd *s)
{
	return s->sender != NULL ? s->sender : "";
}
