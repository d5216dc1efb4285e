/*
 * runner_intake.c - reading one submission completely before anything is
 * written to the spool (see runner_intake.h).
 *
 * Owns the stream parser and the body.  Invariant: a submission reaches
 * READY only after the stream's end marker; until then nothing about it
 * exists outside this process's memory and an unlinked temp file.
 *
 * Security: the bytes come from any local user (socket) or any file in the
 * maildrop.  The parser bounds every line, the envelope is bounded by
 * RUNNER_MAX_ENVELOPE, the body by max_message_size.
 */
#include "config.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "base/str.h"
#include "base/sysops.h"
#include "base/xalloc.h"
#include "runner/runner_intake.h"

static int runner_sub_body(void *arg, const char *p, size_t n, struct err *err);

struct runner_sub *
runner_sub_new(const struct conf *c, uid_t uid)
{
	struct runner_sub *s = xcalloc(1, sizeof(*s));

	s->rd = subproto_reader_new(c->max_message_size, runner_sub_body, s);
	runner_body_init(&s->body, c->spool_dir);
	s->uid = uid;
	s->arrived = sys_time();
	return s;
}

void
runner_sub_free(struct runner_sub *s)
{
	if (s == NULL)
		return;
	subproto_reader_free(s->rd);
	runner_body_free(&s->body);
	xfree(s);
}

static int
runner_sub_body(void *arg, const char *p, size_t n, struct err *err)
{
	struct runner_sub *s = arg;

	return runner_body_append(&s->body, p, n, err);
}

void
runner_sub_reply(
    struct runner_sub *s, int code, const char *enh, const char *fmt, ...)
{
	char text[256];
	va_list ap;
	size_t i;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	for (i = 0; text[i] != '\0'; i++)
		if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f)
			text[i] = ' ';
	s->code = code;
	(void)str_fmt(s->reply, sizeof(s->reply), "%d %s %s", code, enh, text);
}

void
runner_sub_fail(struct runner_sub *s, const struct err *err)
{
	s->state = RUNNER_SUB_FAILED;
	if (err->smtp_code == 552)
		runner_sub_reply(s, 552, "5.3.4", "%s", err->msg);
	else if (err->smtp_code == 553)
		runner_sub_reply(s, 553, "5.1.3", "%s", err->msg);
	else if (err->smtp_code == 554)
		runner_sub_reply(s, 554, "5.4.6", "%s", err->msg);
	else if (err->cls == ERR_PERM)
		runner_sub_reply(s, 554, "5.6.0", "%s", err->msg);
	else if (err->cls == ERR_CONFIG)
		runner_sub_reply(s, 451, "4.3.5", "%s", err->msg);
	else
		runner_sub_reply(s, 451, "4.3.0", "%s", err->msg);
}

void
runner_sub_log(const struct runner_sub *s)
{
	const struct subproto_env *env = runner_sub_env(s);

	if (s->code != 250)
		return;
	log_info("%s: uid=%lu from=<%s>, size=%llu, nrcpt=%zu (queued)", s->qid,
	    (unsigned long)s->uid, env->sender != NULL ? env->sender : "",
	    (unsigned long long)s->stored, s->nrcpts);
}

enum runner_sub_state
runner_sub_feed(struct runner_sub *s, const char *p, size_t n, size_t *used)
{
	enum subproto_state st;
	struct err err;

	*used = 0;
	if (s->state != RUNNER_SUB_READING)
		return s->state;
	err_clear(&err);
	st = subproto_feed(s->rd, p, n, used, &err);
	if (st == SUBPROTO_ENVELOPE) {
		s->env_bytes += *used;
		if (s->env_bytes >= RUNNER_MAX_ENVELOPE) {
			(void)err_set(&err, ERR_PERM, "envelope too large");
			err.smtp_code = 552;
			runner_sub_fail(s, &err);
			return s->state;
		}
	}
	if (st == SUBPROTO_ERROR) {
		if (err.cls == ERR_NONE)
			(void)err_set(&err, ERR_PERM, "malformed submission");
		runner_sub_fail(s, &err);
	} else if (st == SUBPROTO_DONE) {
		s->state = RUNNER_SUB_READY;
	}
	return s->state;
}

const struct subproto_env *
runner_sub_env(const struct runner_sub *s)
{
	return subproto_reader_env(s->rd);
}
