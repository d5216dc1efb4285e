/*
 * submit.h - the sendmail front end: command line, identity, the message
 * hand-off to relayd or the offline maildrop, and the other modes
 * (-bv, -bi, -bp, -q).
 *
 * Flow of one "sendmail [options] recipients < message":
 *   submit_harden()        fds 0-2 open, $NAME kept, environment cleared,
 *                          umask, no core dumps
 *   submit_args_parse()    argv -> struct submit_args (64/77 on misuse)
 *   conf_load()            the configuration (78 when broken)
 *   submit_ident_load()    envelope sender, full name
 *   submit_deliver()       stdin -> canonical lines -> header policy ->
 *                          submission stream -> relayd (or maildrop)
 *   submit_exit_code()     the one place that maps errors to sysexits
 *
 * Security: sendmail runs as the calling user, at most setgid relay (to
 * create files in the maildrop).  It links no SQLite and no network code
 * beyond its AF_UNIX socket to relayd, never execs, honours -C only for
 * root and never opens files named by the caller (-X, -oA are ignored).
 */
#ifndef RELAY_SUBMIT_H
#define RELAY_SUBMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/types.h>

#include "base/err.h"
#include "mail/addr.h"
#include "mail/conf.h"

/* err->reason values set by submit (ERR_PERM errors). */
enum submit_reason {
	SUBMIT_R_NONE = 0,
	SUBMIT_R_USAGE, /* EX_USAGE 64 */
	SUBMIT_R_DATA, /* EX_DATAERR 65 */
	SUBMIT_R_UNAVAILABLE, /* EX_UNAVAILABLE 69 */
	SUBMIT_R_NOPERM, /* EX_NOPERM 77 */
};

enum submit_mode {
	SUBMIT_MODE_DELIVER = 0, /* -bm, the default */
	SUBMIT_MODE_PRINTQ, /* -bp, mailq */
	SUBMIT_MODE_ALIASES, /* -bi, -I, newaliases */
	SUBMIT_MODE_VERIFY, /* -bv */
	SUBMIT_MODE_FLUSH, /* -q, -q0, -qR..., -qS..., -qI... */
	SUBMIT_MODE_NOOP, /* -bh, -bH, -qINTERVAL: exit 0 */
	SUBMIT_MODE_SMTP, /* -bs: SMTP on stdin/stdout */
};

#define SUBMIT_MAX_WARN 8

struct submit_args {
	enum submit_mode mode;
	bool extract; /* -t */
	bool ignore_dots; /* -i, -oi... */
	bool verbose; /* -v */
	bool gateway; /* -G: do not qualify header addresses */
	bool print_version; /* -d0.1 */
	const char *sender; /* -f/-r value as given (argv); NULL: unset */
	const char *full_name; /* -F (argv); NULL: unset */
	const char *conf_path; /* -C (root only); NULL: default */
	const char *log_tag; /* -L (argv); NULL: "sendmail" */
	const char *queue_select; /* the -qR/-qS/-qI value, or NULL */
	char *ret; /* -R: "FULL" / "HDRS", or NULL */
	char *envid; /* -V: xtext, or NULL */
	char *body_type; /* -B: "7BIT" / "8BITMIME", or NULL */
	char *notify; /* -N: "NEVER" or e.g. "SUCCESS,FAILURE", or NULL */
	char *const *rcpts; /* the operands (argv) */
	size_t nrcpts;
	char warn[SUBMIT_MAX_WARN][160]; /* warnings to print */
	size_t nwarn;
};

/* submit_args_parse - parse argv (sendmail's letter set plus -I and -x,
 * stopping at the first operand; "--" ends the options; bare -q and -C
 * get sendmail 8's fixups; argv[0] "mailq" means -bp and "newaliases"
 * -bi).  is_root: the real uid is 0 (-C is refused otherwise).  The
 * result borrows strings from argv.  Errors: ERR_PERM with reason
 * SUBMIT_R_USAGE (unknown option, missing value, bad -B/-V, -bd/...,
 * an operand starting with '-' before "--", no recipients, recipients
 * with -bs) or
 * SUBMIT_R_NOPERM (-C by non-root; the file is not read). */
int submit_args_parse(struct submit_args *a, int argc, char *const *argv,
    bool is_root, struct err *err);

/* submit_args_free - free the owned fields. */
void submit_args_free(struct submit_args *a);

/* submit_prog_name - "mailq", "newaliases" or "sendmail" for argv0. */
const char *submit_prog_name(const char *argv0);

/* submit_exit_code - the sysexits code for an error (EX_OK for
 * ERR_NONE): ERR_TEMP 75, ERR_CONFIG 78, ERR_INTERNAL 70; ERR_PERM by
 * reason (64, 65, 69, 77) or else by SMTP code (553 -> 65, other -> 69),
 * 65 without either. */
int submit_exit_code(const struct err *err);

/* submit_err_usage - fill err as a usage error (64); returns -1. */
int submit_err_usage(struct err *err, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* submit_harden - the first thing main does (see the header comment).
 * Returns the value $NAME had (owned by the caller) or NULL.  Exits 71
 * when fds 0-2 cannot be made valid. */
char *submit_harden(void);

struct submit_ident {
	uid_t uid;
	char *login; /* NULL when the uid has no passwd entry */
	char *sender; /* envelope sender: qualified, or "" for null */
	char *full_name; /* -F, else $NAME, else GECOS; NULL: none */
	bool several_senders; /* -f named more than one address */
};

/* submit_ident_load - the envelope sender (-f/-r parsed as an address,
 * "" and "<>" = null; else login@domain) and the full name (-F, else
 * env_name, else the GECOS first field with '&' = the login name,
 * capitalised).  Errors: ERR_PERM usage (bad -f address), ERR_CONFIG (no
 * passwd entry for the uid and no -f). */
int submit_ident_load(struct submit_ident *id, const struct submit_args *a,
    const char *env_name, const struct conf *c, struct err *err);
void submit_ident_free(struct submit_ident *id);

/* submit_sender_from_arg - the -f/-r rule alone: OUT *out (owned) is ""
 * for '' and '<>', else the first address qualified with domain and
 * checked; *several when the value held more than one address. */
int submit_sender_from_arg(const char *arg, const char *domain, char **out,
    bool *several, struct err *err);

/* submit_rcpts_from_args - parse each operand as an address list, qualify
 * and check every address, append them to out without duplicates.
 * Errors: ERR_PERM usage (64) naming the bad operand. */
int submit_rcpts_from_args(const struct submit_args *a, const char *domain,
    struct addr_list *out, struct err *err);

/* submit_deliver - read the message from fd 0 and queue it (relayd, else
 * the maildrop).  OUT: qid (the queue id, or the maildrop file name) of
 * qid_size bytes.  Errors: every class; see submit_exit_code. */
int submit_deliver(const struct conf *c, const struct submit_args *a,
    const struct submit_ident *id, char *qid, size_t qid_size,
    bool *via_maildrop, struct err *err);

/* submit_verify - -bv: print "addr... deliverable: relay via NAME" for
 * every recipient after alias expansion to out; queue nothing. */
int submit_verify(const struct conf *c, const struct submit_args *a, FILE *out,
    struct err *err);

/* submit_newaliases - -bi/-I/newaliases: load and check the aliases
 * file, print "PATH: N aliases" to out.  Errors: ERR_CONFIG with
 * "file:line: problem". */
int submit_newaliases(const struct conf *c, FILE *out, struct err *err);

/* submit_smtp - -bs: an SMTP session on fds 0 and 1 (mail/smtpd.h);
 * every message accepted goes to relayd or the maildrop like any other
 * (its 250 comes after the hand-off committed).  a supplies -F (the name
 * of a generated From) and -B (the default BODY).  0 when the session
 * ended with QUIT or at end of input between messages; ERR_TEMP when it
 * ended inside DATA, timed out, or standard output failed. */
int submit_smtp(
    const struct conf *c, const struct submit_args *a, struct err *err);

/* submit_queue_flush - -q: ask relayd to run the queue now. */
int submit_queue_flush(const struct conf *c, struct err *err);

/* submit_queue_print - -bp/mailq: the queue listing in Postfix's format. */
int submit_queue_print(const struct conf *c, FILE *out, struct err *err);

#endif
