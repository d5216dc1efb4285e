/*
 * runner_intake.h - one submission as relayd reads it, from the socket or
 * from a maildrop file: the submission stream (subproto.h) parsed
 * incrementally, the body kept in a runner_body, nothing written to the
 * spool until the whole stream is in.
 *
 *   runner_sub_new -> runner_sub_feed ... -> READY -> runner_enqueue_batch
 *                          |                            |
 *                          +-> FAILED (reply set)       +-> DONE (reply set)
 */
#ifndef RELAY_RUNNER_INTAKE_H
#define RELAY_RUNNER_INTAKE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "base/err.h"
#include "mail/conf.h"
#include "mail/subproto.h"
#include "runner/runner_body.h"
#include "spool/spool.h"

/* The envelope lines of one submission may take at most this many bytes. */
#define RUNNER_MAX_ENVELOPE (2 * 1024 * 1024)

enum runner_sub_state {
	RUNNER_SUB_READING = 0,
	RUNNER_SUB_READY, /* stream complete, waiting for the commit */
	RUNNER_SUB_FAILED, /* refused or broken; reply says why */
	RUNNER_SUB_DONE, /* committed (250) or refused at enqueue */
};

struct runner_sub {
	enum runner_sub_state state;
	struct subproto_reader *rd;
	struct runner_body body;
	uid_t uid; /* the submitter */
	time_t arrived;
	size_t env_bytes; /* envelope bytes read so far */
	char qid[SPOOL_QID_SIZE]; /* after a successful commit */
	uint64_t stored; /* bytes stored (with relayd's Received:) */
	size_t nrcpts; /* recipients queued (after aliases) */
	int code; /* reply code: 250, 451, 552, 553, 554 */
	char reply[320]; /* the reply line without "\n" */
};

/* runner_sub_new - a submission from uid; bodies over c->max_message_size
 * are refused (552); large bodies go to a temp file in spool_dir. */
struct runner_sub *runner_sub_new(const struct conf *c, uid_t uid);
void runner_sub_free(struct runner_sub *s);

/* runner_sub_log - the log line of a submission that is DONE: "queued"
 * with its queue id, or nothing (refusals are logged when they happen).
 * relayd calls it after the answer is out, so no client waits for it. */
void runner_sub_log(const struct runner_sub *s);

/* runner_sub_feed - consume stream bytes.  OUT *used: bytes consumed
 * (bytes after the end marker are left).  Moves to READY at the end
 * marker, to FAILED (reply set) on any problem. */
enum runner_sub_state runner_sub_feed(
    struct runner_sub *s, const char *p, size_t n, size_t *used);

/* runner_sub_fail - move to FAILED with a reply for err (its class and
 * smtp_code choose the code: 552 too large, 553 bad address, 554 refused
 * for good, 451 temporary). */
void runner_sub_fail(struct runner_sub *s, const struct err *err);

/* runner_sub_reply - set code and reply text ("CODE ENH text"). */
void runner_sub_reply(struct runner_sub *s, int code, const char *enh,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* runner_sub_env - the parsed envelope (valid once READY). */
const struct subproto_env *runner_sub_env(const struct runner_sub *s);

#endif
