/*
 * runner_ctl.h - the server side of the control protocol (the protocol is
 * documented in mail/ctlclient.h): parsing a request line, the table of
 * verbs, access checks, and the JSON objects.
 *
 * relayd runs a verb either in its event loop (verbs that only touch
 * relayd's state: ping, flush) or, for verbs that read the spool
 * (RUNNER_CTL_SPOOL: list, show, status), in a child process with its own
 * read-only spool connection.  relayctl runs the RUNNER_CTL_SPOOL verbs
 * in-process on a read-only spool while relayd is down, so both paths
 * produce the same bytes.
 *
 * Adding a request: write a handler with the runner_ctl_fn signature,
 * emit objects with runner_ctl_emit, set *st, and add a row to the table
 * in runner_ctl.c with its argument counts and flags (RUNNER_CTL_PRIV for
 * root / group only, RUNNER_CTL_WRITE for verbs that change the spool:
 * those run in the event loop between group commits).
 */
#ifndef RELAY_RUNNER_CTL_H
#define RELAY_RUNNER_CTL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"
#include "mail/aliases.h"
#include "mail/conf.h"
#include "mail/ctlclient.h"
#include "spool/spool.h"

#define RUNNER_CTL_MAX_ARGS 16

enum runner_ctl_flags {
	RUNNER_CTL_SPOOL = 1 << 0, /* reads the spool (child / relayctl) */
	RUNNER_CTL_DAEMON = 1 << 1, /* needs a running relayd */
	RUNNER_CTL_PRIV = 1 << 2, /* root and group only */
	RUNNER_CTL_WRITE = 1 << 3, /* changes the spool (event loop) */
};

/* What relayd tells its control verbs about itself. */
struct runner_ctl_daemon {
	pid_t pid;
	time_t started;
	size_t connections; /* open client connections */
	size_t children; /* control children and workers */
	size_t body_memory; /* bytes of submissions held in memory */
	void (*flush)(void *arg); /* run the queue now */
	void (*kick)(void *arg); /* plan delivery now (smarthosts tried
				  * once); NULL outside relayd's loop */
	const struct aliases *aliases; /* relayd's, or NULL */
	void *arg;
};

/* Everything a verb may use. */
struct runner_ctl_ctx {
	const struct conf *conf;
	struct spool *sp; /* set for RUNNER_CTL_SPOOL / WRITE verbs */
	uid_t uid; /* the caller (SO_PEERCRED) */
	bool privileged; /* root or group: every message */
	const struct runner_ctl_daemon *daemon; /* NULL in relayctl */
	ctlclient_line_cb emit; /* where objects go (one line each) */
	void *emit_arg;
	struct buf line; /* scratch for one object */
};

/* A parsed request line. */
struct runner_ctl_req {
	char *copy;
	char *argv[RUNNER_CTL_MAX_ARGS + 1];
	int argc; /* argv[0] is the verb */
	const struct runner_ctl_verb *verb;
};

typedef int (*runner_ctl_fn)(struct runner_ctl_ctx *x, int argc,
    char *const *argv, struct ctlclient_status *st, struct err *err);

struct runner_ctl_verb {
	const char *name;
	int minargs, maxargs; /* not counting the verb */
	int flags;
	runner_ctl_fn fn;
};

/* runner_ctl_parse - parse "RELAY-CTL 1 verb args..." (no newline) into
 * req and find the verb.  Returns 0, or -1 with st set (500 malformed or
 * unknown verb, 500 wrong argument count).  runner_ctl_req_free after. */
int runner_ctl_parse(
    struct runner_ctl_req *req, const char *line, struct ctlclient_status *st);
void runner_ctl_req_free(struct runner_ctl_req *req);

/* runner_ctl_ctx_init / _free - a context; emit receives each object. */
void runner_ctl_ctx_init(struct runner_ctl_ctx *x, const struct conf *c,
    uid_t uid, bool privileged, ctlclient_line_cb emit, void *emit_arg);
void runner_ctl_ctx_free(struct runner_ctl_ctx *x);

/* runner_ctl_run - check access, run the verb, fill st (never fails: a
 * verb's error becomes a 451 / 5xx status).  Objects go to x->emit. */
void runner_ctl_run(struct runner_ctl_ctx *x, const struct runner_ctl_req *req,
    struct ctlclient_status *st);

/* runner_ctl_serve - the whole of one request: parse line (with the
 * magic, without the newline), check access, run the verb on sp (NULL
 * when none is open) and d (NULL outside relayd).  Objects go to emit;
 * st receives the status line.  Used by relayd's loop, by its control
 * child and by relayctl while relayd is down. */
void runner_ctl_serve(const struct conf *c, struct spool *sp, uid_t uid,
    bool privileged, const struct runner_ctl_daemon *d, const char *line,
    ctlclient_line_cb emit, void *emit_arg, struct ctlclient_status *st);

/* runner_ctl_verb_flags - the flags of the verb of line, or -1 when the
 * line does not parse (the caller then lets runner_ctl_serve answer). */
int runner_ctl_verb_flags(const char *line);

/* runner_ctl_set - fill st with code and formatted text. */
void runner_ctl_set(struct ctlclient_status *st, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* runner_ctl_status_line - append "NNN text\n" to out. */
int runner_ctl_status_line(struct buf *out, const struct ctlclient_status *st);

#endif
