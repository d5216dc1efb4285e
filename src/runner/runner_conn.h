/*
 * runner_conn.h - one client connection on relayd's socket.
 *
 *   runner_conn_new -> HELLO --"RELAY-SUBMIT 1"--> SUBMIT --end--> READY
 *                        |                           |               |
 *                        +--"RELAY-CTL 1 ..."--> CTL  +--error-+      | commit
 *                                                 |            v      v
 *                                                 +--------> REPLY (write the
 *                                                            answer, close)
 *
 * Reads are non-blocking and bounded per call, so a slow or stopped client
 * costs only its own memory: at most one request line, the submission
 * parser's line buffer and its body (in memory up to RUNNER_BODY_MEM,
 * then in a temp file).
 */
#ifndef RELAY_RUNNER_CONN_H
#define RELAY_RUNNER_CONN_H

#include <stdbool.h>
#include <sys/types.h>
#include <time.h>

#include "base/buf.h"
#include "mail/conf.h"
#include "runner/runner_intake.h"

enum runner_conn_state {
	RUNNER_CONN_HELLO = 0, /* waiting for the first line */
	RUNNER_CONN_SUBMIT, /* reading a submission */
	RUNNER_CONN_CTL, /* a control request line is complete */
	RUNNER_CONN_READY, /* submission complete, awaiting commit */
	RUNNER_CONN_REPLY, /* writing the answer, then close */
	RUNNER_CONN_CLOSED, /* to be freed */
};

struct runner_conn {
	int fd;
	uid_t uid; /* SO_PEERCRED */
	pid_t pid;
	time_t last; /* last activity, for the idle timeout */
	enum runner_conn_state state;
	struct buf line; /* the first line (control request) */
	struct runner_sub *sub; /* SUBMIT / READY */
	struct buf out; /* answer bytes not yet written */
};

/* runner_conn_new - a connection on fd (non-blocking), owned after. */
struct runner_conn *runner_conn_new(int fd, uid_t uid, pid_t pid, time_t now);

/* runner_conn_free - close the fd and free; NULL is a no-op. */
void runner_conn_free(struct runner_conn *cn);

/* runner_conn_read - read what the client has sent (bounded), advancing
 * the state: CTL when a control request line is complete (in cn->line,
 * without the newline), READY when a submission is complete, REPLY when
 * it was refused, CLOSED at end of file or error before completion. */
void runner_conn_read(struct runner_conn *cn, const struct conf *c, time_t now);

/* runner_conn_reply - queue text (complete lines) and enter REPLY. */
void runner_conn_reply(struct runner_conn *cn, const char *text, size_t n);

/* runner_conn_flush - write queued bytes without blocking; CLOSED when
 * all is written in REPLY or the peer is gone. */
void runner_conn_flush(struct runner_conn *cn);

/* runner_conn_wants_read / _write - what poll should wait for. */
bool runner_conn_wants_read(const struct runner_conn *cn);
bool runner_conn_wants_write(const struct runner_conn *cn);

#endif
