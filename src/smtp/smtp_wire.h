/*
 * smtp_wire.h - the SMTP wire formats, free of any I/O: the strict reply
 * parser, the EHLO capability parser and the message encoder (CRLF-only
 * output, folding of overlong lines, and for DATA dot-stuffing and the
 * final dot; for BDAT neither).  The session code
 * (smtp.h) uses them on a conn; the unit tests and fuzzers use them on
 * plain buffers.
 *
 * RFC 5321 4.2 (replies), 4.5.3.1 (limits), 4.5.2 (transparency);
 * RFC 2034 (enhanced status codes); RFC 1870 SIZE, RFC 6152 8BITMIME,
 * RFC 6531 SMTPUTF8, RFC 3461 DSN, RFC 2920 PIPELINING, RFC 4954 AUTH,
 * RFC 3207 STARTTLS, RFC 3030 CHUNKING; RFC 5322 2.2.3 (folding).
 */
#ifndef RELAY_SMTP_WIRE_H
#define RELAY_SMTP_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"

/* Limits: a reply line may be at most SMTP_REPLY_LINE_MAX octets with
 * its CRLF (RFC 5321 says 512; real servers exceed it a little), a reply
 * at most SMTP_REPLY_LINES_MAX lines and SMTP_REPLY_MAX octets. */
#define SMTP_REPLY_LINE_MAX 2048
#define SMTP_REPLY_LINES_MAX 200
#define SMTP_REPLY_MAX (64 * 1024)

struct smtp_reply {
	int code; /* 200..599 */
	char enh[16]; /* "2.1.0" from the first line, or "" */
	struct buf text; /* each line's text after the code, joined by "\n" */
	size_t nlines;
};

/* smtp_reply_init / smtp_reply_free - the text buffer's life. */
void smtp_reply_init(struct smtp_reply *r);
void smtp_reply_free(struct smtp_reply *r);

/* smtp_reply_parse - parse one complete reply at the start of p[0..n).
 * Returns 1 (r filled, OUT *used = octets it took), 0 (incomplete: read
 * more and call again with the longer buffer) or -1 (malformed: bad code,
 * continuation with another code, missing separator, bare LF, NUL, line
 * or reply too long), with err ERR_TEMP naming the fault.  Strict: any
 * oddity is an error, never a success. */
int smtp_reply_parse(const char *p, size_t n, struct smtp_reply *r,
    size_t *used, struct err *err);

/* smtp_reply_line - the reply as one printable line for logs and
 * outcomes ("550 5.1.1 no such user"): control bytes become spaces, lines
 * are joined with " / ", cut to fit size.  Returns out. */
char *smtp_reply_line(const struct smtp_reply *r, char *out, size_t size);

/* --- EHLO ---------------------------------------------------------------- */

enum smtp_cap {
	SMTP_CAP_PIPELINING = 1 << 0,
	SMTP_CAP_SIZE = 1 << 1,
	SMTP_CAP_8BITMIME = 1 << 2,
	SMTP_CAP_SMTPUTF8 = 1 << 3,
	SMTP_CAP_DSN = 1 << 4,
	SMTP_CAP_STARTTLS = 1 << 5,
	SMTP_CAP_AUTH = 1 << 6,
	SMTP_CAP_ENHANCEDSTATUSCODES = 1 << 7,
	SMTP_CAP_CHUNKING = 1 << 8,
};

enum smtp_mech {
	SMTP_MECH_PLAIN = 1 << 0,
	SMTP_MECH_LOGIN = 1 << 1,
	SMTP_MECH_CRAM_MD5 = 1 << 2,
	SMTP_MECH_XOAUTH2 = 1 << 3,
};

struct smtp_caps {
	unsigned flags; /* enum smtp_cap */
	uint64_t size_max; /* SIZE parameter, 0: none announced */
	unsigned mechs; /* enum smtp_mech offered */
	char domain[256]; /* the server's name from the first line */
	char keywords[512]; /* the keywords seen, space separated */
	char auth_list[256]; /* the AUTH line's mechanisms as sent */
};

/* smtp_ehlo_parse - capabilities from a 250 EHLO reply.  Malformed
 * keyword lines are skipped (never an error); keywords are matched
 * case-insensitively.  Never fails; caps is fully overwritten. */
void smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_caps *caps);

/* smtp_mech_name - "PLAIN", "LOGIN", "CRAM-MD5", "XOAUTH2". */
const char *smtp_mech_name(enum smtp_mech m);

/* smtp_mech_from_name - case-insensitive; 0 if unknown. */
enum smtp_mech smtp_mech_from_name(const char *s, size_t n);

/* --- DATA encoding ------------------------------------------------------- */

/* The longest line text sent, without CRLF (RFC 5321 4.5.3.1.6). */
#define SMTP_LINE_MAX 998

struct smtp_dot {
	/* out - take n encoded bytes; 0, or -1 to stop. */
	int (*out)(void *ctx, const char *p, size_t n);
	void *ctx;
	char line[SMTP_LINE_MAX + 2];
	size_t len; /* bytes in line (without CRLF) */
	bool cr; /* a CR is pending (CRLF or bare CR) */
	bool headers; /* still in the header section */
	bool folded; /* the current line continues a folded one */
	bool cont_space; /* prepend a space (header folded without WSP) */
	bool chunked; /* BDAT: no dot-stuffing, no final dot */
	bool failed; /* out returned -1 */
	unsigned long long nfolded; /* folds made */
	unsigned long long nbytes; /* octets handed to out */
};

/* smtp_dot_init - start a message. */
void smtp_dot_init(
    struct smtp_dot *d, int (*out)(void *, const char *, size_t), void *ctx);

/* smtp_dot_init_bdat - start a message sent with BDAT (RFC 3030): the
 * same canonical CRLF lines and folding, but a leading "." stays as it is
 * and smtp_dot_end adds no final dot (BDAT counts octets instead). */
void smtp_dot_init_bdat(
    struct smtp_dot *d, int (*out)(void *, const char *, size_t), void *ctx);

/* smtp_dot_feed - encode message bytes (any line endings; CRLF, bare LF
 * and bare CR all become CRLF): lines starting with "." get another "."
 * (not with smtp_dot_init_bdat), lines longer than 998 octets are folded (headers before a space or tab
 * so the header continues, RFC 5322 folding; body lines at the last space
 * or tab, else at 998).  0, or -1 when out failed. */
int smtp_dot_feed(struct smtp_dot *d, const char *p, size_t n);

/* smtp_dot_end - finish: the last line gets its CRLF, then ".\r\n"
 * (nothing more with smtp_dot_init_bdat).  0, or -1 when out failed. */
int smtp_dot_end(struct smtp_dot *d);

#endif
