-- schema.sql - the relay spool (queue.db), schema version 2.
--
-- On-disk format
--   One SQLite database file, queue.db, in spool_dir, with its -wal and
--   -shm side files (WAL journal, synchronous=FULL).  PRAGMA application_id
--   is 0x52454c59 ("RELY"); PRAGMA user_version is the schema version
--   below.  relay refuses a database with a newer or unknown version and
--   migrates an older one forward (src/spool/spool_migrate.c keeps the
--   ordered list of steps; this file is always the newest full schema).
--
--   Times are Unix seconds (INTEGER).  0 means "not set" for next_attempt.
--   States are small integers, fixed forever (src/spool/spool.h):
--     messages.state    0 queued, 1 deferred, 2 held, 3 sending, 4 sent,
--                       5 failed
--     recipients.state  0 pending, 1 sent, 2 deferred, 3 failed
--   Queue ids are 14 characters [0-9A-Z]; sorting them sorts by arrival.
--   Message bodies are stored in canonical form (CRLF line endings, not
--   dot-stuffed) as a sequence of chunks of at most 64 KiB, so neither
--   writing nor reading a message needs memory in proportion to its size.
--   messages.size is the sum of the chunk lengths.
--   Columns added by a later version sit at the end of their table, so a
--   migrated table and a new one have the same columns in the same order.
--
-- Version history
--   1  messages, recipients, chunks, attempts, tls_cache (submission).
--   2  delivery and operations: claim leases, hold flag and done time on
--      messages; DSN fields and the reported flag on recipients;
--      smarthost_health and counters tables.

PRAGMA application_id = 1380273241;

-- One row per queued message: the envelope and its summary state.
CREATE TABLE messages (
	qid TEXT PRIMARY KEY NOT NULL CHECK (length(qid) = 14),
	created INTEGER NOT NULL,
	uid INTEGER NOT NULL,
	sender TEXT NOT NULL,		-- '' is the null sender
	size INTEGER NOT NULL DEFAULT 0,
	state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 5),
	ret TEXT,			-- DSN RET: FULL / HDRS / NULL
	envid TEXT,			-- DSN ENVID (xtext) or NULL
	body_type TEXT,			-- 7BIT / 8BITMIME / NULL
	notify TEXT,			-- DSN NOTIFY list or NULL
	smtputf8 INTEGER NOT NULL DEFAULT 0,
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL DEFAULT 0,
	reason TEXT,			-- last failure's taxonomy name
	reason_text TEXT,		-- its sentence with the fix
	-- version 2
	lease_owner TEXT,		-- SENDING: who holds the claim
	lease_expiry INTEGER NOT NULL DEFAULT 0,
	held INTEGER NOT NULL DEFAULT 0,	-- on hold (HELD, or after SENDING)
	done_at INTEGER NOT NULL DEFAULT 0	-- became SENT or FAILED
);
CREATE INDEX messages_due ON messages (state, next_attempt);
CREATE INDEX messages_uid ON messages (uid, qid);

-- The envelope recipients of a message, in submission order.
CREATE TABLE recipients (
	qid TEXT NOT NULL REFERENCES messages (qid) ON DELETE CASCADE,
	idx INTEGER NOT NULL,
	address TEXT NOT NULL,
	state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 3),
	attempts INTEGER NOT NULL DEFAULT 0,
	next_attempt INTEGER NOT NULL DEFAULT 0,
	last_reply TEXT,
	reason TEXT,
	-- version 2
	status TEXT,			-- enhanced status of the last result
	remote_mta TEXT,		-- relay that gave the last reply
	last_attempt INTEGER NOT NULL DEFAULT 0,
	orcpt TEXT,			-- original (pre-alias) address
	reported INTEGER NOT NULL DEFAULT 0,	-- failure's bounce queued
	PRIMARY KEY (qid, idx),
	UNIQUE (qid, address)
);
CREATE INDEX recipients_unreported ON recipients (qid)
	WHERE state = 3 AND reported = 0;

-- The message body, chunk by chunk (seq 0, 1, ...).
CREATE TABLE chunks (
	qid TEXT NOT NULL REFERENCES messages (qid) ON DELETE CASCADE,
	seq INTEGER NOT NULL,
	data BLOB NOT NULL,
	PRIMARY KEY (qid, seq)
);

-- Attempt history: one row per recipient result or per message-wide
-- failure (rcpt NULL).
CREATE TABLE attempts (
	id INTEGER PRIMARY KEY,
	qid TEXT NOT NULL REFERENCES messages (qid) ON DELETE CASCADE,
	at INTEGER NOT NULL,
	rcpt TEXT,
	reason TEXT NOT NULL,
	reply TEXT,
	relay TEXT
);
CREATE INDEX attempts_qid ON attempts (qid, id);

-- The TLS mode that worked per smarthost host and port.
CREATE TABLE tls_cache (
	host TEXT NOT NULL COLLATE NOCASE,
	port INTEGER NOT NULL,
	mode TEXT NOT NULL CHECK (mode IN ('implicit', 'starttls')),
	verified_at INTEGER NOT NULL,
	tls_seen INTEGER NOT NULL DEFAULT 1,
	PRIMARY KEY (host, port)
) WITHOUT ROWID;

-- Per smarthost block: is it answering?  state 0 ok, 1 backoff (network
-- failures), 2 fault (relay fault: AUTH, certificate; queue held).
CREATE TABLE smarthost_health (
	name TEXT PRIMARY KEY NOT NULL,
	state INTEGER NOT NULL DEFAULT 0 CHECK (state BETWEEN 0 AND 2),
	failures INTEGER NOT NULL DEFAULT 0,
	next_try INTEGER NOT NULL DEFAULT 0,
	since INTEGER NOT NULL DEFAULT 0,
	last_ok INTEGER NOT NULL DEFAULT 0,
	last_reason TEXT,
	last_text TEXT
) WITHOUT ROWID;

-- Event counts per minute (minute = Unix time / 60) for stats: event 0
-- received, 1 sent, 2 deferred, 3 bounced.  Rows older than two days are
-- purged.
CREATE TABLE counters (
	minute INTEGER NOT NULL,
	event INTEGER NOT NULL,
	n INTEGER NOT NULL DEFAULT 0,
	PRIMARY KEY (minute, event)
) WITHOUT ROWID;

PRAGMA user_version = 2;
