/*
 * ctlclient.h - the client side of relayd's control protocol, used by
 * relayctl, mailq / sendmail -bp and sendmail -q.  AF_UNIX only: no SQLite,
 * no network code, so sendmail can link it.
 *
 * The control protocol (relayd's socket, the same one that takes
 * submissions; the first line of a connection says which it is):
 *
 *   request  = "RELAY-CTL 1 " verb *(" " arg) "\n"
 *   verb     = "ping" / "status" / "list" / "show" / "flush" / ...
 *   arg      = 1*(%x21-7E)                  e.g. "state=deferred", a queue id
 *   response = *(object "\n") status "\n"
 *   object   = one JSON object (JSON Lines), always starting with "{"
 *   status   = 3DIGIT " " text              the last line; then relayd closes
 *
 * One request per connection, at most CTLCLIENT_MAX_LINE bytes.  The
 * status codes (ctlclient_exit_code maps them to relayctl's exit codes):
 *
 *   200  done                                        exit 0
 *   451  temporary trouble (spool busy, I/O, ...)    exit 1
 *   500  unknown verb or malformed request           exit 2
 *   501  bad argument (unknown state, bad queue id)  exit 2
 *   550  no such message (or not the caller's)       exit 2
 *   554  not permitted                               exit 77
 *
 * Requests:
 *   ping                     200 pong
 *   whoami                   one object: the caller's uid, login and
 *                            gecos (null when none) from relayd's password
 *                            database; 550 when it has no entry
 *   status                   one object: relayd's pid, version, uptime,
 *                            open connections, counts per state
 *   list [state=S]           one object per message in queue-id order;
 *                            S is a message state, "active" (the default:
 *                            queued, deferred, held, sending) or "all"
 *   show ID                  one object: the list fields plus envelope
 *                            options and the attempt history
 *   flush [ID...]            run the queue now (import the maildrop and a
 *                            delivery pass; with ids, only those are made
 *                            due); 200 when started
 *   show ID body, why [ID], stats, retry ID, hold ID|all, release ID|all,
 *   delete ID|all, bounce ID
 *                            relayctl's commands; objects and access rules
 *                            in runner/runner_ctlops.h
 *
 * List objects carry at least: id, created, sender, size, state, uid,
 * attempts, next_attempt (null when none), reason, reason_text,
 * recipients[{address, state, attempts, next_attempt, last_reply,
 * reason}] (INTERFACES.md).  show adds ret, envid, body_type, notify,
 * smtputf8 and history[{at, recipient, reason, reply, relay}].
 *
 * Access: relayd learns the caller's uid from SO_PEERCRED.  uid 0 and users
 * whose account belongs to the spool group (conf group; primary group or
 * member list, never the caller's effective gid, which a setgid sendmail
 * would carry) see every message; others only their own.
 *
 * Submissions on the same socket: see subproto.h.  relayd may answer a
 * submission with a 5xx line and close before the stream ends (too large);
 * a client that gets EPIPE while sending must still read the reply line.
 */
#ifndef RELAY_CTLCLIENT_H
#define RELAY_CTLCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "base/err.h"
#include "mail/conf.h"

#define CTLCLIENT_MAGIC "RELAY-CTL 1"
#define CTLCLIENT_MAX_LINE 1000
/* The longest response line a client accepts (one message's object). */
#define CTLCLIENT_MAX_REPLY (4 * 1024 * 1024)

/* The status codes of the protocol (see above). */
enum ctlclient_code {
	CTLCLIENT_OK = 200,
	CTLCLIENT_TEMP = 451,
	CTLCLIENT_USAGE = 500,
	CTLCLIENT_BADARG = 501,
	CTLCLIENT_NOMSG = 550,
	CTLCLIENT_DENIED = 554,
};

/* The final line of a response. */
struct ctlclient_status {
	int code;
	char text[256]; /* without the code, no newline */
};

/* ctlclient_line_cb - one data line (a JSON object without its newline,
 * borrowed for the call); returns 0 to go on, -1 with err set to stop. */
typedef int (*ctlclient_line_cb)(
    void *arg, const char *line, size_t n, struct err *err);

/* ctlclient_connect - connect to relayd's socket (conf->socket).  Returns
 * the fd (close-on-exec, blocking) or -1: ERR_TEMP "mail system is down:
 * relayd is not running (...)" when nothing listens or the socket is
 * missing; ERR_TEMP for other trouble. */
int ctlclient_connect(const struct conf *c, struct err *err);

/* ctlclient_request - write "RELAY-CTL 1 <request>\n" to fd.  ERR_INTERNAL
 * when request is too long or holds a newline, ERR_TEMP on write errors. */
int ctlclient_request(int fd, const char *request, struct err *err);

/* ctlclient_call - send request (the verb and args, without the magic and
 * the newline, e.g. "list state=deferred"), pass each data line to cb
 * (may be NULL) and fill st from the status line.  Returns 0 when a status
 * line was read (whatever its code), -1 with err: ERR_TEMP when relayd is
 * not reachable or the connection broke, ERR_INTERNAL on a malformed
 * response, or whatever cb set. */
int ctlclient_call(const struct conf *c, const char *request,
    ctlclient_line_cb cb, void *arg, struct ctlclient_status *st,
    struct err *err);

/* ctlclient_read_response - the response half of ctlclient_call on an
 * already connected fd (relayctl also feeds it from an in-process server
 * while relayd is down).  Same results; fd is not closed. */
int ctlclient_read_response(int fd, ctlclient_line_cb cb, void *arg,
    struct ctlclient_status *st, struct err *err);

/* ctlclient_flush - ask relayd to run the queue now (sendmail -q).  0 when
 * relayd accepted; -1 with ERR_TEMP when relayd is down, ERR_PERM when it
 * refused (err->msg says why). */
int ctlclient_flush(const struct conf *c, struct err *err);

/* ctlclient_whoami - the caller's login name and GECOS field (NULL when
 * none) as relayd's password database has them; both allocated.  -1 with
 * ERR_TEMP when relayd is not reachable, ERR_CONFIG when it has no entry
 * either, ERR_INTERNAL on a malformed answer. */
int ctlclient_whoami(
    const struct conf *c, char **login, char **gecos, struct err *err);

/* ctlclient_exit_code - relayctl's exit code for a status code. */
int ctlclient_exit_code(int code);

/* --- reading the JSON objects ------------------------------------------ */

/*
 * A small JSON reader for the objects relayd sends: objects, arrays,
 * strings, integers, true/false/null.  Strings are decoded to bytes (a
 * \u00XX escape is the byte XX, as str_json writes it; larger code points
 * become UTF-8).  Nesting is bounded.
 */
struct ctlclient_json;

enum ctlclient_json_type {
	CTLCLIENT_JSON_NULL = 0,
	CTLCLIENT_JSON_BOOL,
	CTLCLIENT_JSON_INT,
	CTLCLIENT_JSON_STRING,
	CTLCLIENT_JSON_ARRAY,
	CTLCLIENT_JSON_OBJECT,
};

/* ctlclient_json_parse - parse exactly one value from p[0..n).  Result
 * owned by the caller (ctlclient_json_free); NULL with ERR_INTERNAL on
 * malformed input. */
struct ctlclient_json *ctlclient_json_parse(
    const char *p, size_t n, struct err *err);
void ctlclient_json_free(struct ctlclient_json *j);

/* Accessors; all accept NULL and return NULL / defaults for a wrong type.
 * Results are borrowed from the tree. */
enum ctlclient_json_type ctlclient_json_type(const struct ctlclient_json *j);
const struct ctlclient_json *ctlclient_json_get(
    const struct ctlclient_json *obj, const char *key);
const char *ctlclient_json_str(const struct ctlclient_json *j);
long long ctlclient_json_int(const struct ctlclient_json *j, long long dflt);
bool ctlclient_json_bool(const struct ctlclient_json *j);
size_t ctlclient_json_len(const struct ctlclient_json *j);
const struct ctlclient_json *ctlclient_json_at(
    const struct ctlclient_json *arr, size_t i);

/* --- messages ------------------------------------------------------------ */

struct ctlclient_rcpt {
	char *address;
	char *state; /* "pending", "sent", "deferred", "failed" */
	long long attempts;
	time_t next_attempt; /* 0: none */
	char *last_reply; /* NULL: none */
	char *reason; /* NULL: none */
};

struct ctlclient_attempt {
	time_t at;
	char *recipient; /* NULL: the whole message */
	char *reason, *reply, *relay; /* each may be NULL */
};

/* One message as list / show report it. */
struct ctlclient_msg {
	char *id;
	time_t created;
	char *sender; /* "" for the null sender */
	uint64_t size;
	char *state;
	long long uid; /* -1 if absent */
	long long attempts;
	time_t next_attempt; /* 0: none */
	char *reason, *reason_text; /* NULL: none */
	char *ret, *envid, *body_type, *notify; /* show only; NULL: none */
	bool smtputf8;
	struct ctlclient_rcpt *rcpts;
	size_t nrcpts;
	struct ctlclient_attempt *hist; /* show only */
	size_t nhist;
};

/* ctlclient_msg_parse - decode one list / show line into *m (zeroed
 * first).  -1 with ERR_INTERNAL when required fields are missing. */
int ctlclient_msg_parse(
    const char *line, size_t n, struct ctlclient_msg *m, struct err *err);

/* ctlclient_msg_free - release the fields (not the struct). */
void ctlclient_msg_free(struct ctlclient_msg *m);

#endif
