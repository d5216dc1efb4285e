-- schema.sql - the relay spool (queue.db), schema version 1.
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
--
-- Version history
--   1  messages, recipients, chunks, attempts, tls_cache.

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
	reason_text TEXT		-- its sentence with the fix
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
	PRIMARY KEY (qid, idx),
	UNIQUE (qid, address)
);

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

PRAGMA user_version = 1;
