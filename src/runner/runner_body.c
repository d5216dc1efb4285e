/*
 * runner_body.c - a submission's body in memory or in an unlinked temp
 * file, its hop count, and its replay into the spool (see runner_body.h).
 *
 * Owns: the in-memory bytes (counted in a process-wide total so that many
 * concurrent submissions together stay within RUNNER_BODY_BUDGET) and the
 * temp file descriptor.  The temp file is created with O_TMPFILE (or
 * created and unlinked at once), mode 0600, inside spool_dir, so it never
 * has a name another process could open and nothing of it survives a
 * crash.
 *
 * RFC 5322 section 3.6.7 (trace fields): relayd prepends its own Received:
 * field; the hop count is the number of Received: fields in the header
 * section as submitted.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "mail/prepare.h"
#include "runner/runner_body.h"

static size_t runner_body_mem_sum;

void
runner_body_init(struct runner_body *b, const char *tmpdir)
{
	memset(b, 0, sizeof(*b));
	buf_init(&b->mem, RUNNER_BODY_MEM);
	b->fd = -1;
	b->tmpdir = xstrdup(tmpdir);
}

void
runner_body_free(struct runner_body *b)
{
	runner_body_mem_sum -= b->mem.len;
	buf_free(&b->mem);
	if (b->fd != -1)
		(void)close(b->fd);
	b->fd = -1;
	xfree(b->tmpdir);
	b->tmpdir = NULL;
}

bool
runner_body_in_file(const struct runner_body *b)
{
	return b->fd != -1;
}

size_t
runner_body_mem_total(void)
{
	return runner_body_mem_sum;
}

/* runner_body_tmpfile - an anonymous file in dir, or -1 with err. */
static int
runner_body_tmpfile(const char *dir, struct err *err)
{
	char path[4096];
	int fd;

	fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd != -1)
		return fd;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return err_sys(
		    err, ERR_TEMP, "cannot create a temporary file in %s", dir);
	if (str_fmt(path, sizeof(path), "%s/.body.XXXXXX", dir) == -1)
		return err_set(err, ERR_CONFIG, "path too long: %s", dir);
	fd = mkostemp(path, O_CLOEXEC);
	if (fd == -1)
		return err_sys(
		    err, ERR_TEMP, "cannot create a temporary file in %s", dir);
	if (unlink(path) == -1) {
		(void)err_sys(err, ERR_TEMP, "unlink %s", path);
		(void)close(fd);
		return -1;
	}
	return fd;
}

/* runner_body_spill - move the in-memory bytes into a temp file. */
static int
runner_body_spill(struct runner_body *b, struct err *err)
{
	b->fd = runner_body_tmpfile(b->tmpdir, err);
	if (b->fd == -1)
		return -1;
	if (fs_write_all(b->fd, b->mem.data, b->mem.len, err) == -1) {
		(void)err_sys(
		    err, ERR_TEMP, "cannot store the message in %s", b->tmpdir);
		return -1;
	}
	runner_body_mem_sum -= b->mem.len;
	buf_free(&b->mem);
	buf_init(&b->mem, 0);
	return 0;
}

/* runner_body_scan - count Received: fields until the header ends. */
static void
runner_body_scan(struct runner_body *b, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n && !b->hdr_done; i++) {
		char c = p[i];

		if (c == '\n') {
			if (b->linelen == 0 ||
			    (b->linelen == 1 && b->linehead[0] == '\r'))
				b->hdr_done = true;
			b->linelen = 0;
			continue;
		}
		if (b->linelen < sizeof(b->linehead)) {
			b->linehead[b->linelen] = c;
			if (b->linelen + 1 == sizeof(b->linehead) &&
			    strncasecmp(b->linehead, "Received:", 9) == 0)
				b->received++;
		}
		b->linelen++;
	}
}

int
runner_body_append(
    struct runner_body *b, const char *p, size_t n, struct err *err)
{
	runner_body_scan(b, p, n);
	if (b->fd == -1 &&
	    (b->mem.len + n > RUNNER_BODY_MEM ||
		runner_body_mem_sum + n > RUNNER_BODY_BUDGET) &&
	    runner_body_spill(b, err) == -1)
		return -1;
	if (b->fd != -1) {
		if (fs_write_all(b->fd, p, n, err) == -1)
			return err_sys(err, ERR_TEMP,
			    "cannot store the message in %s", b->tmpdir);
	} else {
		if (buf_append(&b->mem, p, n) == -1)
			return err_set(err, ERR_INTERNAL, "body buffer full");
		runner_body_mem_sum += n;
	}
	b->size += n;
	return 0;
}

void
runner_replay_init(struct runner_replay *rp, const struct runner_body *b,
    const char *hostname, uid_t uid, time_t when, const char *qid)
{
	memset(rp, 0, sizeof(*rp));
	rp->body = b;
	rp->hostname = hostname;
	rp->uid = uid;
	rp->when = when;
	rp->qid = qid;
	buf_init(&rp->head, 2048);
}

void
runner_replay_free(struct runner_replay *rp)
{
	buf_free(&rp->head);
}

/* runner_replay_head - build "Received: by HOST (relay, from userid UID)
 * CRLF TAB id QID; DATE CRLF". */
static int
runner_replay_head(struct runner_replay *rp, struct err *err)
{
	char date[64];

	if (rp->qid == NULL || strlen(rp->qid) == 0)
		return err_set(err, ERR_INTERNAL,
		    "the spool read the body before choosing a queue id");
	/* the same layout as the Date: field sendmail adds */
	if (prepare_date(rp->when, date, sizeof(date)) == -1)
		return err_set(err, ERR_INTERNAL, "cannot format the date");
	if (buf_appendf(&rp->head,
		"Received: by %s (relay, from userid %lu)\r\n\tid %s; %s\r\n",
		rp->hostname, (unsigned long)rp->uid, rp->qid, date) == -1)
		return err_set(err, ERR_CONFIG, "hostname too long");
	return 0;
}

ssize_t
runner_replay_read(void *ctx, char *p, size_t n, struct err *err)
{
	struct runner_replay *rp = ctx;
	const struct runner_body *b = rp->body;
	size_t take;
	ssize_t r;

	if (!rp->started) {
		if (runner_replay_head(rp, err) == -1)
			return -1;
		rp->started = true;
	}
	if (rp->head_off < rp->head.len) {
		take = rp->head.len - rp->head_off;
		take = take < n ? take : n;
		memcpy(p, rp->head.data + rp->head_off, take);
		rp->head_off += take;
		return (ssize_t)take;
	}
	if (rp->off >= b->size)
		return 0;
	take = b->size - rp->off < n ? (size_t)(b->size - rp->off) : n;
	if (b->fd == -1) {
		memcpy(p, b->mem.data + rp->off, take);
		rp->off += take;
		return (ssize_t)take;
	}
	do
		r = pread(b->fd, p, take, (off_t)rp->off);
	while (r == -1 && errno == EINTR);
	if (r <= 0)
		return err_sys(err, ERR_TEMP, "cannot read back the message");
	rp->off += (uint64_t)r;
	return r;
}
