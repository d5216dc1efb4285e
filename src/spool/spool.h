/*
 * spool.h - the SQLite spool (queue.db): the only durable state of relay.
 *
 * Only relayd (and, read-only, root or group relay while relayd is down)
 * opens it.  WAL mode, synchronous=FULL; schema in spool/schema.sql,
 * versioned with PRAGMA user_version (SPOOL_SCHEMA_VERSION); a newer or
 * unknown version is refused, an older one is migrated forward.
 *
 * Message lifecycle (who performs each transition):
 *
 *   spool_add_message          spool_claim            spool_finish_rcpt*
 *   ----------------> QUEUED ----------------> SENDING ----------------+
 *                       ^  ^                      |                    |
 *          spool_release|  | spool_defer (due)    | all rcpts done     |
 *          (lease lost) |  |                      v                    v
 *                       |  +---------------- DEFERRED            SENT / FAILED
 *                       |                                       (kept for relayctl,
 *   HELD <--spool_hold--+--spool_release_hold--> QUEUED          purged after a while)
 *
 * A message is SENT when every recipient is sent, FAILED when none is
 * pending or deferred and at least one failed.  Recipient states:
 * PENDING -> SENT | DEFERRED (-> PENDING when due) | FAILED.
 *
 * Queue ids: 14 characters [0-9A-Z], time-ordered (sortable), unique.
 * Errors: environment trouble (disk full, locked, I/O) is ERR_TEMP; a
 * corrupt or unknown-version database is ERR_CONFIG; misuse ERR_INTERNAL.
 */
#ifndef RELAY_SPOOL_H
#define RELAY_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "base/err.h"

#define SPOOL_QID_LEN 14
#define SPOOL_QID_SIZE (SPOOL_QID_LEN + 1)

/* SPOOL_SCHEMA_VERSION - the PRAGMA user_version of a current queue.db;
 * spool/schema.sql sets the same number (a unit test checks). */
#define SPOOL_SCHEMA_VERSION 1

/* SPOOL_CHUNK_SIZE - bodies are stored and read back in pieces of at most
 * this many bytes, so memory stays flat in the message size. */
#define SPOOL_CHUNK_SIZE (64 * 1024)

/* The numeric values of both state enums are stored on disk: never
 * renumber them. */
enum spool_msg_state {
	SPOOL_ST_QUEUED = 0,
	SPOOL_ST_DEFERRED,
	SPOOL_ST_HELD,
	SPOOL_ST_SENDING,
	SPOOL_ST_SENT,
	SPOOL_ST_FAILED,
};

enum spool_rcpt_state {
	SPOOL_RS_PENDING = 0,
	SPOOL_RS_SENT,
	SPOOL_RS_DEFERRED,
	SPOOL_RS_FAILED,
};

enum spool_open_flags {
	SPOOL_CREATE = 1 << 0, /* create the file and schema if missing */
	SPOOL_READONLY = 1 << 1, /* relayctl while relayd is down */
	SPOOL_CHECK = 1 << 2, /* PRAGMA quick_check at open (reads it all) */
};

struct spool;

/* spool_open - open dbpath (flags: enum spool_open_flags).
 *
 * Read-write opens set WAL, synchronous=FULL, foreign keys, a 5 s busy
 * timeout.  With SPOOL_CREATE a missing file is created with the schema
 * and an older schema version is migrated forward (in one transaction);
 * without it both are errors.  SPOOL_READONLY never writes (query_only).
 * Errors: ERR_TEMP for environment trouble with a one-line reason (the
 * directory or file missing, not writable, disk full, locked, I/O);
 * ERR_CONFIG for a corrupt file, a file that is not a relay spool, or a
 * newer/unknown schema version (the message names both versions and the
 * fix).  Result owned by the caller (spool_close).  The handle belongs to
 * one thread and must not be used across fork(). */
struct spool *spool_open(const char *dbpath, int flags, struct err *err);

/* spool_close - close; NULL is a no-op. */
void spool_close(struct spool *sp);

/* spool_msg_state_name / spool_rcpt_state_name - "queued", "pending"... */
const char *spool_msg_state_name(enum spool_msg_state st);
const char *spool_rcpt_state_name(enum spool_rcpt_state st);

/* spool_msg_state_parse - "queued" ... "failed" to the enum; 0 or -1. */
int spool_msg_state_parse(const char *name, enum spool_msg_state *out);

/* spool_qid_valid - is qid a well-formed queue id (14 of [0-9A-Z])?
 * Say so before passing user input as an id. */
bool spool_qid_valid(const char *qid);

/* spool_path - the database file this handle opened (borrowed). */
const char *spool_path(const struct spool *sp);

/* --- enqueue ------------------------------------------------------------ */

/* spool_reader - pull body bytes: returns bytes read (0 at end) or -1 with
 * err set.  The spool calls it until 0, storing fixed-size chunks, so
 * memory does not grow with message size. */
typedef ssize_t (*spool_reader)(void *ctx, char *p, size_t n, struct err *err);

struct spool_newmsg {
	const char *sender; /* "" for the null sender */
	const char *const *rcpts; /* final (expanded) addresses */
	size_t nrcpts;
	uid_t uid; /* submitter (SO_PEERCRED / file owner) */
	const char *ret; /* "FULL", "HDRS" or NULL */
	const char *envid; /* xtext or NULL */
	const char *body_type; /* "7BIT", "8BITMIME" or NULL */
	const char *notify; /* "NEVER" / "SUCCESS,FAILURE,..." or NULL */
	bool smtputf8;
	time_t created;
};

/* spool_begin / spool_commit / spool_rollback - one write transaction
 * (BEGIN IMMEDIATE) around one or several spool_add_message calls, so
 * concurrent submissions share one fsync (group commit). */
int spool_begin(struct spool *sp, struct err *err);
int spool_commit(struct spool *sp, struct err *err);
void spool_rollback(struct spool *sp);

/* spool_add_message - insert a message inside a transaction; the body
 * (canonical CRLF form, as it will be sent) comes from rd.  OUT qid.
 * The message is durable only after spool_commit returns 0. */
int spool_add_message(struct spool *sp, const struct spool_newmsg *m,
    spool_reader rd, void *rdctx, char qid[SPOOL_QID_SIZE], struct err *err);

/* --- queries ------------------------------------------------------------ */

struct spool_attempt {
	time_t at;
	char *rcpt; /* NULL: the whole message/connection */
	char *reason; /* taxonomy name, e.g. "connect_refused" */
	char *reply; /* server reply or our text */
	char *relay; /* "host[addr]:port" or NULL */
};

struct spool_rcpt_info {
	char *address;
	enum spool_rcpt_state state;
	int attempts;
	time_t next_attempt; /* 0: none scheduled */
	char *last_reply; /* NULL if none */
	char *reason; /* NULL if none */
};

struct spool_msg_info {
	char qid[SPOOL_QID_SIZE];
	time_t created;
	char *sender;
	uint64_t size; /* bytes as stored (CRLF form) */
	enum spool_msg_state state;
	uid_t uid;
	int attempts;
	time_t next_attempt; /* 0: none scheduled */
	char *reason; /* last failure's name, or NULL */
	char *reason_text; /* its sentence, or NULL */
	char *ret, *envid, *body_type, *notify;
	bool smtputf8;
	struct spool_rcpt_info *rcpts;
	size_t nrcpts;
	struct spool_attempt *hist; /* only filled by spool_get */
	size_t nhist;
};

struct spool_filter {
	bool all_users; /* false: only messages of uid */
	uid_t uid;
	int state; /* -1: any, else enum spool_msg_state */
	bool include_done; /* also SENT and FAILED messages */
};

/* spool_list - call cb for each matching message in queue-id order; cb
 * returns 0 to go on, non-zero to stop.  The info is borrowed for the
 * call only. */
int spool_list(struct spool *sp, const struct spool_filter *f,
    int (*cb)(const struct spool_msg_info *mi, void *arg), void *arg,
    struct err *err);

/* spool_get - one message with recipients and attempt history.  OUT *mi,
 * owned by the caller (spool_msg_info_free).  Unknown qid: ERR_PERM. */
int spool_get(struct spool *sp, const char *qid, struct spool_msg_info **mi,
    struct err *err);
void spool_msg_info_free(struct spool_msg_info *mi);

/* spool_body_read - read the stored message qid in order, calling cb for
 * each chunk (borrowed).  cb returns 0 to continue. */
int spool_body_read(struct spool *sp, const char *qid,
    int (*cb)(const char *p, size_t n, void *arg), void *arg, struct err *err);

struct spool_counts {
	uint64_t n[SPOOL_ST_FAILED + 1]; /* per message state */
	uint64_t active; /* queued + deferred + held + sending */
	uint64_t active_bytes;
	time_t oldest_active; /* 0 if none */
};

/* spool_count - counts for mailq's summary, stats and health. */
int spool_count(struct spool *sp, const struct spool_filter *f,
    struct spool_counts *out, struct err *err);

/* --- TLS mode cache (net/tlsmode) --------------------------------------- */

struct spool_tls_entry {
	char host[256];
	int port;
	char mode[16]; /* "implicit" or "starttls" */
	time_t verified_at; /* last verified, successful session */
	bool tls_seen; /* this host was once seen with TLS */
};

/* spool_tls_get - 0 and *found set; entry filled when found. */
int spool_tls_get(struct spool *sp, const char *host, int port,
    struct spool_tls_entry *out, bool *found, struct err *err);
/* spool_tls_put - insert or replace (own transaction). */
int spool_tls_put(
    struct spool *sp, const struct spool_tls_entry *e, struct err *err);
/* spool_tls_forget - delete; port 0 means every port of host. */
int spool_tls_forget(
    struct spool *sp, const char *host, int port, struct err *err);
/* spool_tls_list - each entry in host, port order. */
int spool_tls_list(struct spool *sp,
    int (*cb)(const struct spool_tls_entry *e, void *arg), void *arg,
    struct err *err);

#endif
