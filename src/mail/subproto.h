/*
 * subproto.h - the submission stream: the bytes sendmail sends to relayd
 * over its unix socket, and the exact content of an offline maildrop file.
 * One format, one parser, so a maildrop file is validated as strictly as a
 * live submission.
 *
 *   stream   = "RELAY-SUBMIT 1\n" *envline "DATA\n" *chunk "0\n"
 *   envline  = "FROM " addr "\n"        exactly once; empty addr = null sender
 *            / "RCPT " addr "\n"        1 to SUBPROTO_MAX_RCPTS times
 *            / "RET " ("FULL"/"HDRS") "\n"
 *            / "ENVID " xtext "\n"
 *            / "BODY " ("7BIT"/"8BITMIME") "\n"
 *            / "NOTIFY " notify "\n"
 *            / "SMTPUTF8\n"
 *   chunk    = 1*DIGIT "\n" <that many bytes>   (1..SUBPROTO_MAX_CHUNK)
 *
 * Envelope values are printable ASCII (0x21-0x7e, plus UTF-8 bytes only
 * with SMTPUTF8), at most SUBPROTO_MAX_LINE bytes.  The message bytes are
 * already in canonical form (CRLF line endings, no NUL).  After "0\n" a
 * maildrop file must end; on the socket relayd answers one line:
 *   "250 QUEUEID\n"   durably committed
 *   "4NN text\n"      temporary failure (sendmail exits 75)
 *   "5NN text\n"      permanent refusal (552: too large -> 69; 554 hop
 *                     limit -> 69; 553 bad address -> 65; 550 -> 69)
 */
#ifndef RELAY_SUBPROTO_H
#define RELAY_SUBPROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

#define SUBPROTO_MAGIC "RELAY-SUBMIT 1"
#define SUBPROTO_MAX_LINE 1000
#define SUBPROTO_MAX_RCPTS 10000
#define SUBPROTO_MAX_CHUNK (256 * 1024)

struct subproto_env {
	char *sender; /* "" = null sender */
	char **rcpts;
	size_t nrcpts;
	char *ret, *envid, *body_type, *notify; /* NULL when absent */
	bool smtputf8;
};

/* subproto_env_free - release the fields (not the struct itself). */
void subproto_env_free(struct subproto_env *e);

/* subproto_write_env - append the magic line, envelope lines and "DATA\n"
 * to out.  Rejects (ERR_PERM) values that are not allowed on the wire
 * (CR, LF, NUL, controls, too long). */
int subproto_write_env(
    struct buf *out, const struct subproto_env *e, struct err *err);

/* subproto_write_chunk - append one chunk (n > 0; split by the caller at
 * SUBPROTO_MAX_CHUNK) or, with n == 0, the end marker "0\n". */
int subproto_write_chunk(
    struct buf *out, const char *p, size_t n, struct err *err);

/*
 * The reader is push-style so that relayd can feed it from a non-blocking
 * socket and the importer from a file: subproto_feed() consumes as much of
 * the input as it can and reports body bytes through a callback.
 */
struct subproto_reader;

enum subproto_state {
	SUBPROTO_ENVELOPE = 0, /* reading the magic and envelope lines */
	SUBPROTO_BODY, /* reading chunks */
	SUBPROTO_DONE, /* "0\n" seen */
	SUBPROTO_ERROR, /* malformed; err says why */
};

/* body_cb - receives message bytes in order; returns 0, or -1 with err
 * set (e.g. too large, disk full) which stops the reader. */
typedef int (*subproto_body_cb)(
    void *arg, const char *p, size_t n, struct err *err);

/* subproto_reader_new - max_size bounds the total body bytes (ERR_PERM
 * "message too large" with smtp_code 552 when exceeded). */
struct subproto_reader *subproto_reader_new(
    uint64_t max_size, subproto_body_cb cb, void *arg);
void subproto_reader_free(struct subproto_reader *r);

/* subproto_feed - consume p[0..n); OUT *used bytes consumed (everything
 * up to the end marker; bytes after it are left unconsumed).  Returns the
 * new state; SUBPROTO_ERROR with err filled on malformed input. */
enum subproto_state subproto_feed(struct subproto_reader *r, const char *p,
    size_t n, size_t *used, struct err *err);

/* subproto_env - the envelope read so far (valid from SUBPROTO_BODY on);
 * borrowed from the reader. */
const struct subproto_env *subproto_reader_env(const struct subproto_reader *r);

/* subproto_body_size - body bytes delivered to the callback so far. */
uint64_t subproto_body_size(const struct subproto_reader *r);

/* subproto_valid_value - may s appear as an envelope value on the wire? */
bool subproto_valid_value(const char *s, bool utf8);

#endif
