/*
 * spool.h - the SQLite spool (queue.db): the only durable state of relay.
 *
 * Only relayd (and, read-only, root or group relay while relayd is down)
 * opens it.  WAL mode, synchronous=FULL; schema in spool/schema.sql,
 * versioned with PRAGMA user_version (SPOOL_SCHEMA_VERSION); a newer or
 * unknown version is refused, an older one is migrated forward.
 *
 * Message lifecycle (the function that performs each transition):
 *
 *                      spool_add_message
 *                              |
 *                              v
 *   spool_retry,    +-----> QUEUED ------+                lease expired:
 *   spool_due_all   |                    | spool_claim    spool_claim by
 *   (due now)       |                    v (due)          another owner
 *               DEFERRED ----------> SENDING <---------------+
 *                        spool_claim   |   |                 |
 *                        (due)         |   +-----------------+
 *                                      |
 *        spool_finish, spool_release,  +--> SENT | FAILED | DEFERRED |
 *        spool_release_owner: state         QUEUED | HELD, recomputed
 *        recomputed from the recipients     (below)
 *
 *   QUEUED, DEFERRED --spool_hold--> HELD --spool_release_hold--> recomputed
 *   (spool_hold of a SENDING message: it becomes HELD when its claim ends)
 *   QUEUED, DEFERRED --spool_expire (older than the lifetime)--> FAILED
 *   QUEUED, DEFERRED, HELD --spool_bounce--> FAILED
 *   SENT, FAILED --spool_purge (after the keep time, failures reported)-->
 *   deleted;  any state --spool_delete--> deleted (a runner holding the
 *   message then gets ERR_PERM for it).
 *
 * Recomputing a message's state from its recipients: SENT when every
 * recipient is sent; FAILED when none is pending or deferred and at least
 * one failed; else QUEUED when one is pending (untried), else DEFERRED with
 * next_attempt = the earliest deferred recipient's; HELD instead of QUEUED
 * or DEFERRED while the message is held.
 *
 * Recipient lifecycle:
 *
 *   PENDING --spool_rcpt_result / spool_msg_result--> SENT | DEFERRED | FAILED
 *   DEFERRED: tried again once next_attempt <= now (spool_retry, spool_due_all
 *             make that now); a result then moves it on as from PENDING.
 *   PENDING, DEFERRED --spool_expire / spool_bounce--> FAILED
 *   FAILED recipients stay "unreported" (spool_unreported) until
 *   spool_mark_reported: the bounce was queued, or none is due.
 *
 * Claims: spool_claim marks due messages SENDING with a lease (owner
 * string such as "relayd:PID:N", expiry = now + lease) inside one
 * BEGIN IMMEDIATE transaction, so two processes never claim the same
 * message; a claim whose lease expired (the owner crashed) is taken over
 * by the next spool_claim.  Results are recorded per recipient right after
 * the server's reply, each durable when its transaction commits.
 *
 * Time: every delivery and operations call takes "now" from the caller
 * (the runner's clock), so behaviour is testable and consistent within a
 * pass.  Permission checks stay in relayd: operations take a
 * struct spool_filter (uid) and act only on matching messages.
 *
 * Queue ids: 14 characters [0-9A-Z], time-ordered (sortable), unique.
 * Errors: environment trouble (disk full, locked, I/O) is ERR_TEMP; a
 * corrupt or unknown-version database is ERR_CONFIG; an unknown message
 * or recipient is ERR_PERM; misuse ERR_INTERNAL.  Every failing call
 * undoes its own writes.  Callbacks must not write to the spool.  None of
 * these functions is async-signal-safe.
 */
#ifndef RELAY_SPOOL_H
#define RELAY_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "base/buf.h"
#include "base/err.h"

#define SPOOL_QID_LEN 14
#define SPOOL_QID_SIZE (SPOOL_QID_LEN + 1)

/* SPOOL_SCHEMA_VERSION - the PRAGMA user_version of a current queue.db;
 * spool/schema.sql sets the same number (a unit test checks). */
#define SPOOL_SCHEMA_VERSION 2

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
	/* commits of this handle are not fsync'd (synchronous=NORMAL): they
	 * survive a crash of the process at once, and a power loss from the
	 * next fsync'd commit of any handle (every enqueue) or checkpoint on.
	 * WAL replays commits in order, so a power loss can only take back
	 * the newest ones whole.  For delivery results, where a result taken
	 * back means the message is sent again, never lost; never for
	 * enqueue, whose 250 promises the message is on disk. */
	SPOOL_RELAXED_SYNC = 1 << 3,
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

/* spool_set_busy_timeout - how long a call waits for another process's
 * write lock before failing with ERR_TEMP (default 5000 ms). */
void spool_set_busy_timeout(struct spool *sp, int ms);

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
	time_t created; /* 0: now */
	const char *const *orcpts; /* NULL, or per rcpt the original
				    * (pre-alias) address or NULL (DSN) */
};

/* spool_begin / spool_commit / spool_rollback - one write transaction
 * (BEGIN IMMEDIATE) around one or several spool_add_message calls, so
 * concurrent submissions share one fsync (group commit). */
int spool_begin(struct spool *sp, struct err *err);
int spool_commit(struct spool *sp, struct err *err);
void spool_rollback(struct spool *sp);

/* spool_add_message - insert a message inside a transaction; the body
 * (canonical CRLF form, as it will be sent) comes from rd.  OUT qid ("" on
 * error); qid is filled in before rd is first called, so the reader may
 * put the queue id into the bytes it returns (relayd's Received: header).
 * The message is durable only after spool_commit returns 0.
 * Runs under a savepoint: on error only this message is undone and the
 * transaction stays usable, unless SQLite rolled it back itself (full
 * disk), which spool_commit then reports (ERR_TEMP).  Called outside a
 * transaction it commits on its own.  Exact duplicate recipients are
 * stored once.  The reader's error is passed through; bad arguments are
 * ERR_INTERNAL. */
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
	char *status; /* enhanced status of the last result ("5.1.1") */
	char *remote_mta; /* relay that gave the last reply */
	time_t last_attempt; /* 0: never tried */
	char *orcpt; /* original recipient, or NULL */
	bool reported; /* FAILED and its bounce queued (or not due) */
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
	bool held; /* on hold (state HELD, or SENDING and held after) */
	time_t done_at; /* when it became SENT or FAILED, else 0 */
	char *lease_owner; /* SENDING: the claim's owner, else NULL */
	time_t lease_expiry; /* SENDING: when the claim lapses */
};

struct spool_filter {
	bool all_users; /* false: only messages of uid */
	uid_t uid;
	int state; /* -1: any, else enum spool_msg_state */
	bool include_done; /* also SENT and FAILED messages */
};

/* spool_list - call cb for each matching message in queue-id order; cb
 * returns 0 to go on, non-zero to stop.  The info is borrowed for the
 * call only.  All calls see one snapshot; cb must not write to the spool
 * and should not block for long (the snapshot holds back WAL
 * checkpoints). */
int spool_list(struct spool *sp, const struct spool_filter *f,
    int (*cb)(const struct spool_msg_info *mi, void *arg), void *arg,
    struct err *err);

/* spool_get - one message with recipients and attempt history.  OUT *mi,
 * owned by the caller (spool_msg_info_free), NULL on error.  Unknown or
 * malformed qid: ERR_PERM. */
int spool_get(struct spool *sp, const char *qid, struct spool_msg_info **mi,
    struct err *err);
void spool_msg_info_free(struct spool_msg_info *mi);

/* spool_body_read - read the stored message qid in order, calling cb for
 * each chunk (borrowed until cb returns).  cb returns 0 to continue,
 * non-zero to stop (then 0 is returned).  Each chunk is its own short
 * read, so a slow cb holds no snapshot.  Unknown qid: ERR_PERM; the
 * message deleted while it is read: ERR_TEMP (never a short body); chunks
 * not adding up to the stored size: ERR_CONFIG. */
int spool_body_read(struct spool *sp, const char *qid,
    int (*cb)(const char *p, size_t n, void *arg), void *arg, struct err *err);

/* spool_body_read_sized - spool_body_read for a caller that read the
 * message's stored size already (spool_get_claimed: mi->size), which
 * saves a query per message; a different size in the spool is caught as
 * in spool_body_read. */
int spool_body_read_sized(struct spool *sp, const char *qid, uint64_t size,
    int (*cb)(const char *p, size_t n, void *arg), void *arg, struct err *err);

struct spool_counts {
	uint64_t n[SPOOL_ST_FAILED + 1]; /* per message state */
	uint64_t active; /* queued + deferred + held + sending */
	uint64_t active_bytes;
	time_t oldest_active; /* 0 if none */
};

/* spool_count - counts for mailq's summary, stats and health: uid and
 * state of f apply (include_done does not: n[] always has every state;
 * active and its bytes and oldest cover the unfinished states). */
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

/* --- delivery: relayd's runner ------------------------------------------- */

/* spool_outcome - one result as the runner saw it. */
struct spool_outcome {
	time_t now; /* when the reply came (or the pass ran) */
	time_t next_attempt; /* DEFERRED: when to try again */
	const char *reason; /* taxonomy name ("rcpt_rejected"); NULL on
			     * success, when the result's name is used */
	const char *reason_text; /* its sentence with the fix, or NULL */
	const char *reply; /* server reply (one line) or our text, or NULL */
	const char *status; /* enhanced status "4.2.1", or NULL */
	const char *relay; /* "host[addr]:port", or NULL */
};

/* spool_claim - claim up to max due messages for owner: QUEUED or
 * DEFERRED with next_attempt <= now, and SENDING ones whose lease expired
 * (lease_expiry <= now); oldest due first.  They become SENDING with
 * lease_expiry = now + lease.  OUT qids[0..*n).  One write transaction, so
 * concurrent claimers never get the same message. */
int spool_claim(struct spool *sp, const char *owner, time_t now, time_t lease,
    size_t max, char (*qids)[SPOOL_QID_SIZE], size_t *n, struct err *err);

/* spool_due_count - how many messages spool_claim could take now, counted
 * up to max (the count stops there, so a large queue costs no more than
 * max index steps).  OUT *n. */
int spool_due_count(
    struct spool *sp, time_t now, size_t max, size_t *n, struct err *err);

/* spool_renew - extend owner's lease on qid to now + lease (long DATA).
 * ERR_TEMP if the claim was lost (expired and taken over, or ended),
 * ERR_PERM if the message is gone. */
int spool_renew(struct spool *sp, const char *qid, const char *owner,
    time_t now, time_t lease, struct err *err);

/* spool_get_claimed - the envelope of a message owner holds, with only
 * the recipients due at now (PENDING, or DEFERRED with next_attempt <=
 * now), no history.  OUT *mi (spool_msg_info_free).  ERR_TEMP when the
 * claim was lost, ERR_PERM when the message is gone. */
int spool_get_claimed(struct spool *sp, const char *qid, const char *owner,
    time_t now, struct spool_msg_info **mi, struct err *err);

/* spool_get_claimed_body - spool_get_claimed, and a body of at most
 * inline_max bytes with it, read in the same read transaction (one
 * snapshot and one round of locks instead of two).  body: initialised by
 * the caller, with room for inline_max bytes; *loaded says whether it
 * holds the whole body (a larger one is left to spool_body_read_sized,
 * chunk by chunk, as it is sent). */
int spool_get_claimed_body(struct spool *sp, const char *qid, const char *owner,
    time_t now, size_t inline_max, struct spool_msg_info **mi, struct buf *body,
    bool *loaded, struct err *err);

/* spool_rcpt_result - record the result (SENT, DEFERRED with
 * o->next_attempt, or FAILED) for one recipient of qid, with an attempt
 * history row and the stats counter; its own transaction unless inside
 * spool_begin.  A recipient already SENT or FAILED is left as it is
 * (0 returned).  Unknown message or recipient: ERR_PERM; result PENDING:
 * ERR_INTERNAL.  Does not end the claim (spool_finish does). */
int spool_rcpt_result(struct spool *sp, const char *qid, const char *rcpt,
    enum spool_rcpt_state result, const struct spool_outcome *o,
    struct err *err);

/* spool_msg_result - the same result for every recipient of qid due at
 * o->now (a DATA reply, or a connection lost mid-message).  OUT *n: how
 * many recipients changed (may be NULL). */
int spool_msg_result(struct spool *sp, const char *qid,
    enum spool_rcpt_state result, const struct spool_outcome *o, size_t *n,
    struct err *err);

/* spool_finish - end owner's claim after a delivery attempt: attempts+1,
 * state recomputed (see the diagram), lease cleared.  Recipients left
 * PENDING keep the message due at once: record DEFERRED for those that
 * could not be tried, unless an immediate new attempt is wanted (e.g. the
 * server limited recipients per transaction).  OUT *state (may be NULL).
 * ERR_TEMP if the claim was lost, ERR_PERM if the message is gone. */
int spool_finish(struct spool *sp, const char *qid, const char *owner,
    time_t now, enum spool_msg_state *state, struct err *err);

/* spool_release - give a claim back without a delivery attempt (the
 * smarthost was unreachable, relayd is stopping).  With o: the message's
 * reason/reason_text and a history row (rcpt NULL) are recorded, attempts
 * +1, and o->next_attempt (if not 0) postpones the message.  Errors as
 * spool_finish. */
int spool_release(struct spool *sp, const char *qid, const char *owner,
    time_t now, const struct spool_outcome *o, struct err *err);

/* spool_release_owner - release every claim of owner (a worker died, or
 * relayd stops); OUT *n how many (may be NULL). */
int spool_release_owner(struct spool *sp, const char *owner, time_t now,
    size_t *n, struct err *err);

/* spool_next_due - the earliest time anything becomes claimable (a due
 * message or a lease expiry); *found false when nothing waits. */
int spool_next_due(
    struct spool *sp, time_t *when, bool *found, struct err *err);

/* spool_expire - QUEUED or DEFERRED messages created at or before
 * now - lifetime: every open recipient FAILED with reason
 * "lifetime_expired" (status 4.4.7; last_reply kept for the DSN), the
 * message FAILED.  OUT *n messages expired (may be NULL). */
int spool_expire(
    struct spool *sp, time_t now, time_t lifetime, size_t *n, struct err *err);

/* spool_unreported - up to max messages that have FAILED recipients whose
 * bounce is not queued yet, in queue-id order.  OUT qids[0..*n). */
int spool_unreported(struct spool *sp, char (*qids)[SPOOL_QID_SIZE], size_t max,
    size_t *n, struct err *err);

/* spool_mark_reported - every FAILED recipient of qid is now reported.
 * Call it inside the spool_begin transaction that adds the bounce, so the
 * bounce is queued exactly once. */
int spool_mark_reported(struct spool *sp, const char *qid, struct err *err);

/* spool_purge - delete SENT and FAILED messages done at or before
 * now - keep whose failures are all reported, and stats counters older
 * than two days.  OUT *n messages deleted (may be NULL). */
int spool_purge(
    struct spool *sp, time_t now, time_t keep, size_t *n, struct err *err);

/* --- operations: relayctl through relayd --------------------------------- */

/* Each takes qid (one message) or NULL (every message matching f), and
 * acts only on messages matching f's uid (and state, when f->state >= 0).
 * One qid that does not exist or does not match f: ERR_PERM "no message".
 * OUT *n: messages changed (0 when the state did not allow it, e.g.
 * holding a SENT message); n may be NULL. */

/* spool_hold - QUEUED/DEFERRED -> HELD; a SENDING message becomes HELD
 * when its claim ends. */
int spool_hold(struct spool *sp, const char *qid, const struct spool_filter *f,
    size_t *n, struct err *err);

/* spool_release_hold - HELD -> QUEUED or DEFERRED (recomputed); cancels a
 * pending hold of a SENDING message. */
int spool_release_hold(struct spool *sp, const char *qid,
    const struct spool_filter *f, size_t *n, struct err *err);

/* spool_delete - remove messages with everything they own.  With qid
 * NULL, f->include_done decides whether SENT and FAILED ones go too. */
int spool_delete(struct spool *sp, const char *qid,
    const struct spool_filter *f, size_t *n, struct err *err);

/* spool_retry - QUEUED or DEFERRED messages (and their deferred
 * recipients) due at now: "relayctl retry ID", "flush". */
int spool_retry(struct spool *sp, const char *qid, const struct spool_filter *f,
    time_t now, size_t *n, struct err *err);

/* spool_due_all - everything waiting becomes due at now (the smarthost
 * answered again: drain). */
int spool_due_all(struct spool *sp, time_t now, size_t *n, struct err *err);

/* spool_bounce - "return to sender now": every open recipient of a
 * QUEUED, DEFERRED or HELD message FAILED with o's reason, reply and
 * status (e.g. "returned_by_admin"); the runner then sends the DSN. */
int spool_bounce(struct spool *sp, const char *qid,
    const struct spool_filter *f, const struct spool_outcome *o, size_t *n,
    struct err *err);

/* --- smarthost health ----------------------------------------------------- */

/* Numeric values are stored on disk: never renumber. */
enum spool_host_state {
	SPOOL_HS_OK = 0, /* answering */
	SPOOL_HS_BACKOFF, /* connection-class failures: wait for next_try */
	SPOOL_HS_FAULT, /* relay fault (AUTH, certificate, config): queue
			 * held, retried at retry.max, nothing bounced */
};

struct spool_host_health {
	char name[256]; /* the smarthost block's name */
	enum spool_host_state state;
	int failures; /* consecutive failures */
	time_t next_try; /* BACKOFF/FAULT: not before this */
	time_t since; /* when state last changed */
	time_t last_ok; /* last successful session, 0: never */
	char last_reason[64]; /* taxonomy name or "" */
	char last_text[256]; /* its sentence or "" */
};

/* spool_host_state_name - "ok", "backoff", "fault". */
const char *spool_host_state_name(enum spool_host_state st);

/* spool_health_get - 0 and *found; out filled when found. */
int spool_health_get(struct spool *sp, const char *name,
    struct spool_host_health *out, bool *found, struct err *err);
/* spool_health_put - insert or replace (own transaction unless inside
 * spool_begin). */
int spool_health_put(
    struct spool *sp, const struct spool_host_health *h, struct err *err);
/* spool_health_list - every entry in name order; cb returns non-zero to
 * stop. */
int spool_health_list(struct spool *sp,
    int (*cb)(const struct spool_host_health *h, void *arg), void *arg,
    struct err *err);

/* --- stats counters ------------------------------------------------------- */

/* Numeric values are stored on disk: never renumber. */
enum spool_event {
	SPOOL_EV_RECEIVED = 0, /* message queued (at its created time) */
	SPOOL_EV_SENT, /* recipient delivered */
	SPOOL_EV_DEFERRED, /* recipient deferred */
	SPOOL_EV_BOUNCED, /* recipient failed (5xx, expired, returned) */
	SPOOL_EV_COUNT
};

struct spool_stats {
	uint64_t hour[SPOOL_EV_COUNT]; /* the last 60 minutes */
	uint64_t day[SPOOL_EV_COUNT]; /* the last 24 hours */
};

/* spool_event_name - "received", "sent", "deferred", "bounced". */
const char *spool_event_name(enum spool_event ev);

/* spool_event_add - count n events at now (per minute).  The spool counts
 * its own (RECEIVED in spool_add_message, SENT/DEFERRED/BOUNCED in the
 * recipient results, spool_expire and spool_bounce); this is for others. */
int spool_event_add(struct spool *sp, enum spool_event ev, uint64_t n,
    time_t now, struct err *err);

/* spool_stats - the counters for the hour and the day before now. */
int spool_stats(
    struct spool *sp, time_t now, struct spool_stats *out, struct err *err);

#endif
