/*
 * ctl_queue.c - relayctl list and show (see ctl_queue.h).
 *
 * --json prints relayd's objects as they come (JSON Lines, INTERFACES.md);
 * the human forms decode each object (ctlclient_msg_parse), print it and
 * free it, so a long queue streams through in constant memory.
 *
 * Security: addresses, replies and reasons come from mail and servers and
 * are printed with ctl_put_escaped.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "ctl/ctl_queue.h"
#include "runner/runner_ctlops.h"
#include "spool/spool.h"

#define CTL_LIST_USAGE "list [--state S] [--json]"
#define CTL_SHOW_USAGE "show ID [--body] [--json]"

/* The state of one listing. */
struct ctl_list {
	const struct ctl_env *e;
	bool json;
	unsigned long count;
	unsigned long long bytes;
	bool body_started; /* show --body: the "Body:" title printed */
	bool in_body; /* show --body: past the header section */
	struct buf line; /* show --body: the body line being printed */
	bool cr; /* show --body: a CR is pending */
};

static int
ctl_json_line(void *arg, const char *line, size_t n, struct err *err)
{
	struct ctl_list *l = arg;

	(void)err;
	(void)fwrite(line, 1, n, l->e->out);
	(void)fputc('\n', l->e->out);
	l->count++;
	return 0;
}

static void
ctl_list_rcpt(FILE *out, const struct ctlclient_rcpt *r)
{
	(void)fputs("    to ", out);
	ctl_put_escaped(out, r->address);
	(void)fprintf(out, "  %s", r->state != NULL ? r->state : "?");
	if (r->attempts > 0)
		(void)fprintf(out, ", %lld attempt%s", r->attempts,
		    r->attempts == 1 ? "" : "s");
	if (r->next_attempt != 0) {
		char when[32];

		(void)fprintf(out, ", next %s",
		    ctl_time(when, sizeof(when), r->next_attempt));
	}
	if (r->last_reply != NULL) {
		(void)fputs(": ", out);
		ctl_put_escaped(out, r->last_reply);
	} else if (r->reason != NULL) {
		(void)fputs(": ", out);
		ctl_put_escaped(out, r->reason);
	}
	(void)fputc('\n', out);
}

static int
ctl_list_line(void *arg, const char *line, size_t n, struct err *err)
{
	struct ctl_list *l = arg;
	FILE *out = l->e->out;
	struct ctlclient_msg m;
	char when[32];
	size_t i;

	if (ctlclient_msg_parse(line, n, &m, err) == -1)
		return -1;
	if (l->count == 0)
		(void)fprintf(out, "%-14s  %-8s  %10s  %-19s  %s\n", "QUEUE ID",
		    "STATE", "SIZE", "ARRIVED", "SENDER / RECIPIENTS");
	(void)fprintf(out, "%-14s  %-8s  %10llu  %-19s  ", m.id, m.state,
	    (unsigned long long)m.size,
	    ctl_time(when, sizeof(when), m.created));
	if (*m.sender == '\0')
		(void)fputs("<>", out);
	else
		ctl_put_escaped(out, m.sender);
	(void)fputc('\n', out);
	if (m.reason_text != NULL || m.reason != NULL) {
		(void)fputs("    reason: ", out);
		ctl_put_escaped(
		    out, m.reason_text != NULL ? m.reason_text : m.reason);
		(void)fputc('\n', out);
	}
	for (i = 0; i < m.nrcpts; i++)
		ctl_list_rcpt(out, &m.rcpts[i]);
	l->count++;
	l->bytes += m.size;
	ctlclient_msg_free(&m);
	return 0;
}

/* ctl_opt_state - --state S / --state=S; 1 when argv[*i] was it. */
static int
ctl_opt_state(int argc, char **argv, int *i, const char **state)
{
	if (strncmp(argv[*i], "--state=", 8) == 0) {
		*state = argv[*i] + 8;
		return 1;
	}
	if (strcmp(argv[*i], "--state") != 0)
		return 0;
	if (*i + 1 >= argc)
		return -1;
	*state = argv[++*i];
	return 1;
}

int
ctl_queue_list(const struct conf *c, int argc, char **argv)
{
	struct ctl_env env = { c, stdout, "relayctl" }, *e = &env;
	struct ctl_list l = { e, false, 0, 0, false, false, { 0 }, false };
	const char *state = NULL;
	char req[128];
	int i, rc;

	for (i = 1; i < argc; i++) {
		int r = ctl_opt_state(argc, argv, &i, &state);

		if (r == -1)
			return ctl_usage_error(
			    e, CTL_LIST_USAGE, "--state needs a value");
		if (r == 1)
			continue;
		if (strcmp(argv[i], "--json") == 0)
			l.json = true;
		else
			return ctl_usage_error(
			    e, CTL_LIST_USAGE, "unknown argument %s", argv[i]);
	}
	if (state != NULL &&
	    (*state == '\0' || strchr(state, ' ') != NULL ||
		str_fmt(req, sizeof(req), "list state=%s", state) == -1))
		return ctl_usage_error(e, CTL_LIST_USAGE, "bad state");
	if (state == NULL)
		(void)str_copy(req, sizeof(req), "list");
	rc = ctl_call(e, req, l.json ? ctl_json_line : ctl_list_line, &l);
	if (rc == CTL_EXIT_OK && !l.json)
		(void)fprintf(e->out,
		    l.count == 0 ? "no messages\n"
				 : "%lu message%s, %llu bytes\n",
		    l.count, l.count == 1 ? "" : "s", l.bytes);
	return rc;
}

static void
ctl_show_env(FILE *out, const struct ctlclient_msg *m)
{
	const char *names[] = { "RET", "ENVID", "BODY", "NOTIFY" };
	const char *vals[] = { m->ret, m->envid, m->body_type, m->notify };
	size_t i;
	bool any = false;

	(void)fputs("Envelope:     ", out);
	for (i = 0; i < 4; i++) {
		if (vals[i] == NULL)
			continue;
		(void)fprintf(out, "%s%s=", any ? " " : "", names[i]);
		ctl_put_escaped(out, vals[i]);
		any = true;
	}
	if (m->smtputf8) {
		(void)fprintf(out, "%sSMTPUTF8", any ? " " : "");
		any = true;
	}
	(void)fputs(any ? "\n" : "-\n", out);
}

static void
ctl_show_hist(FILE *out, const struct ctlclient_msg *m)
{
	char when[32];
	size_t i;

	(void)fprintf(out, "History:%s\n", m->nhist == 0 ? "      -" : "");
	for (i = 0; i < m->nhist; i++) {
		const struct ctlclient_attempt *a = &m->hist[i];

		(void)fprintf(
		    out, "  %s  ", ctl_time(when, sizeof(when), a->at));
		ctl_put_escaped(out, a->recipient != NULL ? a->recipient : "*");
		(void)fputs("  ", out);
		ctl_put_escaped(out, a->reason);
		if (a->relay != NULL) {
			(void)fputs(" via ", out);
			ctl_put_escaped(out, a->relay);
		}
		if (a->reply != NULL) {
			(void)fputs(": ", out);
			ctl_put_escaped(out, a->reply);
		}
		(void)fputc('\n', out);
		if (a->reason != NULL && runner_why_text(a->reason) != NULL)
			(void)fprintf(
			    out, "      %s\n", runner_why_text(a->reason));
	}
}

/* ctl_show_headers - the header section, one field line per line. */
static void
ctl_show_headers(FILE *out, const char *line, size_t n)
{
	struct ctlclient_json *j;
	const char *h, *p;
	struct err err;

	err_clear(&err);
	j = ctlclient_json_parse(line, n, &err);
	h = ctlclient_json_str(ctlclient_json_get(j, "headers"));
	(void)fputs("Headers:\n", out);
	for (p = h; p != NULL && *p != '\0';) {
		size_t k = strcspn(p, "\r\n");
		char *copy = xstrndup(p, k);

		(void)fputs("  ", out);
		ctl_put_escaped(out, copy);
		(void)fputc('\n', out);
		xfree(copy);
		p += k;
		p += *p == '\r' && p[1] == '\n' ? 2 : *p != '\0';
	}
	if (h == NULL)
		(void)fputs("  -\n", out);
	ctlclient_json_free(j);
}

/* ctl_body_flush - print the body line gathered so far, escaped (the
 * header section, printed above, is skipped). */
static void
ctl_body_flush(struct ctl_list *l, bool eol)
{
	struct buf esc;

	if (!l->in_body) {
		l->in_body = eol && l->line.len == 0;
		buf_reset(&l->line);
		return;
	}

	buf_init(&esc, 8 * l->line.len + 16);
	if (str_escape(&esc, l->line.data, l->line.len) == 0)
		(void)fwrite(esc.data, 1, esc.len, l->e->out);
	if (eol)
		(void)fputc('\n', l->e->out);
	buf_free(&esc);
	buf_reset(&l->line);
}

/* ctl_body_bytes - body bytes: CRLF ends a line, the rest is shown
 * escaped (a CR alone, control characters, 8-bit bytes). */
static void
ctl_body_bytes(struct ctl_list *l, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (l->cr && p[i] != '\n')
			(void)buf_putc(&l->line, '\r');
		l->cr = p[i] == '\r';
		if (p[i] == '\n')
			ctl_body_flush(l, true);
		else if (p[i] != '\r')
			(void)buf_putc(&l->line, p[i]);
		if (l->line.len >= 65536)
			ctl_body_flush(l, false);
	}
}

/* ctl_show_body - one {"data":...} object of show --body. */
static int
ctl_show_body(struct ctl_list *l, const char *line, size_t n, struct err *err)
{
	struct ctlclient_json *j = ctlclient_json_parse(line, n, err);
	const struct ctlclient_json *d = ctlclient_json_get(j, "data");
	const char *p = ctlclient_json_str(d);

	if (p == NULL) {
		ctlclient_json_free(j);
		return err_set(err, ERR_INTERNAL, "malformed body object");
	}
	if (!l->body_started)
		(void)fputs("Body:\n", l->e->out);
	l->body_started = true;
	ctl_body_bytes(l, p, strlen(p)); /* stored bodies hold no NUL */
	ctlclient_json_free(j);
	return 0;
}

static int
ctl_show_line(void *arg, const char *line, size_t n, struct err *err)
{
	struct ctl_list *l = arg;
	FILE *out = l->e->out;
	struct ctlclient_msg m;
	char t1[32], t2[32];
	size_t i;

	if (l->count > 0)
		return ctl_show_body(l, line, n, err);
	if (ctlclient_msg_parse(line, n, &m, err) == -1)
		return -1;
	(void)fprintf(out,
	    "Queue ID:     %s\nState:        %s\nCreated:      %s\n"
	    "Size:         %llu bytes\nOwner uid:    %lld\n"
	    "Attempts:     %lld\nNext attempt: %s\nSender:       ",
	    m.id, m.state, ctl_time(t1, sizeof(t1), m.created),
	    (unsigned long long)m.size, m.uid, m.attempts,
	    ctl_time(t2, sizeof(t2), m.next_attempt));
	if (*m.sender == '\0')
		(void)fputs("<>", out);
	else
		ctl_put_escaped(out, m.sender);
	(void)fputs("\nReason:       ", out);
	ctl_put_escaped(out, m.reason);
	if (m.reason_text != NULL) {
		(void)fputs(": ", out);
		ctl_put_escaped(out, m.reason_text);
	}
	(void)fputc('\n', out);
	ctl_show_env(out, &m);
	(void)fputs("Recipients:\n", out);
	for (i = 0; i < m.nrcpts; i++)
		ctl_list_rcpt(out, &m.rcpts[i]);
	ctl_show_hist(out, &m);
	ctl_show_headers(out, line, n);
	l->count++;
	ctlclient_msg_free(&m);
	return 0;
}

int
ctl_queue_show(const struct conf *c, int argc, char **argv)
{
	struct ctl_env env = { c, stdout, "relayctl" }, *e = &env;
	struct ctl_list l = { e, false, 0, 0, false, false, { 0 }, false };
	const char *id = NULL;
	bool body = false;
	char req[64];
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			l.json = true;
		else if (strcmp(argv[i], "--body") == 0)
			body = true;
		else if (id == NULL && argv[i][0] != '-')
			id = argv[i];
		else
			return ctl_usage_error(
			    e, CTL_SHOW_USAGE, "unknown argument %s", argv[i]);
	}
	if (id == NULL)
		return ctl_usage_error(e, CTL_SHOW_USAGE, "which message?");
	if (!spool_qid_valid(id) ||
	    str_fmt(req, sizeof(req), "show %s%s", id, body ? " body" : "") ==
		-1)
		return ctl_usage_error(
		    e, CTL_SHOW_USAGE, "bad queue id (14 of 0-9 A-Z)");
	buf_init(&l.line, 65536 + 16);
	rc = ctl_call(e, req, l.json ? ctl_json_line : ctl_show_line, &l);
	if (l.cr)
		(void)buf_putc(&l.line, '\r');
	if (l.line.len > 0)
		ctl_body_flush(&l, true);
	buf_free(&l.line);
	return rc;
}
