/*
 * runner_body.h - one message body while relayd reads a submission: kept
 * in memory while small, in a private, already unlinked temp file under
 * spool_dir once it grows, so memory does not grow with message size and a
 * crash leaves nothing behind.  Also counts Received: headers (hop limit)
 * as the bytes go by, and replays the body, behind relayd's own Received:
 * header, as a spool_reader.
 */
#ifndef RELAY_RUNNER_BODY_H
#define RELAY_RUNNER_BODY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"

/* A body moves to a temp file past this size ... */
#define RUNNER_BODY_MEM (256 * 1024)
/* ... or when all in-memory bodies together would pass this. */
#define RUNNER_BODY_BUDGET (8 * 1024 * 1024)

struct runner_body {
	struct buf mem; /* the whole body while fd == -1 */
	int fd; /* -1, or the unlinked temp file holding the body */
	uint64_t size;
	char *tmpdir; /* where a temp file goes (spool_dir) */
	/* header scan */
	bool hdr_done; /* the empty line ending the header was seen */
	char linehead[9]; /* the first bytes of the current line */
	size_t linelen; /* bytes of the current line so far */
	int received; /* Received: header fields seen */
};

/* runner_body_init - empty body; tmpdir is copied. */
void runner_body_init(struct runner_body *b, const char *tmpdir);

/* runner_body_free - release memory, close the temp file. */
void runner_body_free(struct runner_body *b);

/* runner_body_append - add message bytes.  Returns 0, or -1 with ERR_TEMP
 * when the temp file cannot be created or written (disk full). */
int runner_body_append(
    struct runner_body *b, const char *p, size_t n, struct err *err);

/* runner_body_in_file - has the body moved to a temp file? */
bool runner_body_in_file(const struct runner_body *b);

/* runner_body_mem_total - bytes of all in-memory bodies (for status). */
size_t runner_body_mem_total(void);

/* The state of one replay of a body into the spool. */
struct runner_replay {
	const struct runner_body *body;
	const char *hostname;
	uid_t uid;
	time_t when;
	const char *qid; /* the buffer spool_add_message fills */
	struct buf head; /* relayd's Received: header, built on first read */
	size_t head_off;
	uint64_t off; /* body bytes replayed */
	bool started;
};

/* runner_replay_init - prepare a replay; qid points at the qid buffer
 * given to spool_add_message (the header names the queue id, so the spool
 * must have chosen it before it first reads the body). */
void runner_replay_init(struct runner_replay *rp, const struct runner_body *b,
    const char *hostname, uid_t uid, time_t when, const char *qid);
void runner_replay_free(struct runner_replay *rp);

/* runner_replay_read - a spool_reader: the Received: header
 *   "Received: by HOST (relay, from userid UID)\r\n\tid QID; DATE\r\n"
 * then the body.  Returns bytes, 0 at the end, or -1 with err. */
ssize_t runner_replay_read(void *ctx, char *p, size_t n, struct err *err);

#endif
