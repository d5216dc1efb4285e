/*
 * runner_conn.c - one client connection (see runner_conn.h).
 *
 * Owns the fd, the first-line buffer, the submission in progress and the
 * unwritten answer.  Invariant: a submission is answered 250 only by the
 * event loop after its commit (runner_enqueue); everything answered here
 * is a refusal.
 *
 * Security: the peer is any local user.  The first line is bounded by
 * CTLCLIENT_MAX_LINE, each read by RUNNER_CONN_READ_MAX per call, and no
 * call ever blocks on the peer.
 */
#include "config.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "mail/ctlclient.h"
#include "mail/subproto.h"
#include "runner/runner_conn.h"

/* Bytes read from one connection per loop iteration (fairness). */
#define RUNNER_CONN_READ_MAX (256 * 1024)

static char runner_conn_chunk[65536];

struct runner_conn *
runner_conn_new(int fd, uid_t uid, pid_t pid, time_t now)
{
	struct runner_conn *cn = xcalloc(1, sizeof(*cn));

	cn->fd = fd;
	cn->uid = uid;
	cn->pid = pid;
	cn->last = now;
	buf_init(&cn->line, CTLCLIENT_MAX_LINE);
	buf_init(&cn->out, 64 * 1024);
	return cn;
}

void
runner_conn_free(struct runner_conn *cn)
{
	if (cn == NULL)
		return;
	if (cn->fd != -1 && close(cn->fd) == -1)
		log_debug("close client fd");
	runner_sub_free(cn->sub);
	buf_free(&cn->line);
	buf_free(&cn->out);
	xfree(cn);
}

void
runner_conn_reply(struct runner_conn *cn, const char *text, size_t n)
{
	if (buf_append(&cn->out, text, n) == -1)
		log_warnx("reply to pid %ld dropped (too long)", (long)cn->pid);
	cn->state = RUNNER_CONN_REPLY;
	runner_conn_flush(cn);
}

/* runner_conn_refuse - answer a failed submission and close. */
static void
runner_conn_refuse(struct runner_conn *cn)
{
	struct buf b;

	log_info("pid %ld uid %lu: submission refused: %s", (long)cn->pid,
	    (unsigned long)cn->uid, cn->sub->reply);
	buf_init(&b, 512);
	if (buf_appendf(&b, "%s\n", cn->sub->reply) == -1)
		buf_reset(&b);
	/* release the body (memory, temp file) before answering: a client
	 * told "full disk" may free space and retry at once */
	runner_sub_free(cn->sub);
	cn->sub = NULL;
	runner_conn_reply(cn, b.data, b.len);
	buf_free(&b);
}

/* runner_conn_submit - feed n bytes to the submission. */
static void
runner_conn_submit(struct runner_conn *cn, const char *p, size_t n)
{
	struct err err;
	size_t used;

	switch (runner_sub_feed(cn->sub, p, n, &used)) {
	case RUNNER_SUB_READY:
		if (used < n) {
			(void)err_set(
			    &err, ERR_PERM, "data after the end marker");
			runner_sub_fail(cn->sub, &err);
			runner_conn_refuse(cn);
			return;
		}
		cn->state = RUNNER_CONN_READY;
		return;
	case RUNNER_SUB_FAILED:
		runner_conn_refuse(cn);
		return;
	default:
		return;
	}
}

/* runner_conn_hello - collect the first line; then decide what this
 * connection is and pass on what follows it. */
static void
runner_conn_hello(
    struct runner_conn *cn, const struct conf *c, const char *p, size_t n)
{
	const char *nl = memchr(p, '\n', n);
	size_t take = nl != NULL ? (size_t)(nl - p) : n;
	static const char bad[] = "500 5.5.1 unknown protocol\n";

	if (buf_append(&cn->line, p, take) == -1) {
		runner_conn_reply(cn, bad, sizeof(bad) - 1);
		return;
	}
	if (nl == NULL)
		return;
	take++;
	if (strcmp(cn->line.data, SUBPROTO_MAGIC) == 0) {
		cn->sub = runner_sub_new(c, cn->uid);
		cn->state = RUNNER_CONN_SUBMIT;
		runner_conn_submit(
		    cn, SUBPROTO_MAGIC "\n", strlen(SUBPROTO_MAGIC) + 1);
		if (cn->state == RUNNER_CONN_SUBMIT && n > take)
			runner_conn_submit(cn, p + take, n - take);
		return;
	}
	if (strncmp(cn->line.data, CTLCLIENT_MAGIC " ",
		strlen(CTLCLIENT_MAGIC) + 1) == 0 &&
	    n == take) {
		cn->state = RUNNER_CONN_CTL;
		return;
	}
	runner_conn_reply(cn, bad, sizeof(bad) - 1);
}

void
runner_conn_read(struct runner_conn *cn, const struct conf *c, time_t now)
{
	size_t total = 0;

	while (total < RUNNER_CONN_READ_MAX &&
	    (cn->state == RUNNER_CONN_HELLO ||
		cn->state == RUNNER_CONN_SUBMIT)) {
		ssize_t r =
		    read(cn->fd, runner_conn_chunk, sizeof(runner_conn_chunk));

		if (r == -1 && errno == EINTR)
			continue;
		if (r == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {
			if (cn->state == RUNNER_CONN_SUBMIT)
				log_info("pid %ld uid %lu: submission "
					 "abandoned after %llu bytes",
				    (long)cn->pid, (unsigned long)cn->uid,
				    (unsigned long long)cn->sub->body.size);
			cn->state = RUNNER_CONN_CLOSED;
			return;
		}
		cn->last = now;
		total += (size_t)r;
		if (cn->state == RUNNER_CONN_HELLO)
			runner_conn_hello(cn, c, runner_conn_chunk, (size_t)r);
		else
			runner_conn_submit(cn, runner_conn_chunk, (size_t)r);
	}
}

void
runner_conn_flush(struct runner_conn *cn)
{
	while (cn->out.len > 0) {
		ssize_t w = write(cn->fd, cn->out.data, cn->out.len);

		if (w == -1 && errno == EINTR)
			continue;
		if (w == -1 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (w <= 0) {
			cn->state = RUNNER_CONN_CLOSED;
			return;
		}
		buf_consume(&cn->out, (size_t)w);
	}
	if (cn->state == RUNNER_CONN_REPLY)
		cn->state = RUNNER_CONN_CLOSED;
}

bool
runner_conn_wants_read(const struct runner_conn *cn)
{
	return cn->state == RUNNER_CONN_HELLO ||
	    cn->state == RUNNER_CONN_SUBMIT;
}

bool
runner_conn_wants_write(const struct runner_conn *cn)
{
	return cn->out.len > 0;
}
