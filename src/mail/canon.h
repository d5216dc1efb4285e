/*
 * canon.h - read a message from a file descriptor (sendmail's stdin) as
 * canonical lines, in bounded pieces.
 *
 * Canonical form (relay's rule, Postfix "sendmail_fix_line_endings =
 * always" plus bare CR handling):
 *   - "\r+\n" ends a line: every trailing CR is stripped;
 *   - a CR not followed by LF ends a line (each such CR ends one line);
 *   - a bare LF ends a line;
 *   - NUL bytes are removed (and counted);
 *   - a first line starting with "From " or ">From " is dropped;
 *   - unless CANON_IGNORE_DOTS, a line that is exactly "." ends the input
 *     and nothing more is read; there is no dot unstuffing ("..x" stays);
 *   - an unterminated last line is still a complete line.
 * The consumer writes each line followed by CRLF.  Lines of any length
 * are returned in pieces of at most CANON_PIECE_MAX bytes, so memory is
 * bounded whatever the input.
 *
 *   struct canon_piece pc;
 *   while ((rc = canon_next(c, &pc, err)) == 1)
 *           write pc.p[0..pc.n), then CRLF when pc.eol;
 */
#ifndef RELAY_CANON_H
#define RELAY_CANON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/err.h"

#define CANON_PIECE_MAX (64 * 1024)
#define CANON_READ_SIZE (64 * 1024)

enum canon_flags {
	CANON_IGNORE_DOTS = 1 << 0, /* -i / -oi: "." is ordinary data */
};

struct canon;

/* One piece of a line: p[0..n) (no CR, LF or NUL), borrowed until the
 * next canon_next call.  bol: the piece starts its line; eol: it ends
 * it (the consumer then writes CRLF). */
struct canon_piece {
	const char *p;
	size_t n;
	bool bol, eol;
};

/* canon_new - a reader of fd (not closed by canon_free). */
struct canon *canon_new(int fd, int flags);

/* canon_free - release; NULL is a no-op. */
void canon_free(struct canon *c);

/* canon_next - the next piece.  Returns 1 with *out filled, 0 at the end
 * of the input (EOF or the lone dot), or -1 with err (ERR_TEMP) when
 * reading fails.  Reads go through sys_read. */
int canon_next(struct canon *c, struct canon_piece *out, struct err *err);

/* canon_nul_count - NUL bytes removed so far. */
uint64_t canon_nul_count(const struct canon *c);

/* canon_ended_by_dot - did a lone "." end the input? */
bool canon_ended_by_dot(const struct canon *c);

/* canon_dropped_from_line - was a leading "From " line dropped? */
bool canon_dropped_from_line(const struct canon *c);

#endif
