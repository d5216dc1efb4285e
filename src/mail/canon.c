/*
 * canon.c - stdin to canonical lines (rules in canon.h).
 *
 * State: one read buffer and one piece buffer of fixed size, a count of
 * CRs seen but not yet known to end a line (pending_cr), and a count of
 * empty lines still to report (a run of bare CRs).  No allocation grows
 * with the input.
 *
 * Invariant: the piece buffer never holds CR, LF or NUL; pending_cr > 0
 * means the current line's content is complete and only its end is
 * undecided (CR run then LF = one line end; CR run then anything else =
 * one line end per CR).
 *
 * Security: the input is untrusted.  Mapping every bare CR and bare LF to
 * a line end here means no "<LF>.<CR><LF>"-style smuggling sequence can
 * survive into the spool (ARCHITECTURE "Canonical form").
 */
#include "config.h"

#include <errno.h>
#include <string.h>

#include "base/fsutil.h"
#include "base/xalloc.h"
#include "mail/canon.h"

struct canon {
	int fd;
	int flags;
	char in[CANON_READ_SIZE];
	size_t in_pos, in_len;
	bool in_eof;
	char line[CANON_PIECE_MAX];
	size_t line_len;
	bool line_started; /* a piece of the current line was returned */
	bool reset_line; /* the last piece returned is consumed */
	size_t pending_cr;
	uint64_t pending_empty; /* empty lines due (bare CR run) */
	bool first_line; /* no line completed yet */
	bool dropping; /* skipping the rest of a leading From_ line */
	bool dropped_from;
	bool done, dot_end;
	uint64_t nuls;
};

struct canon *
canon_new(int fd, int flags)
{
	struct canon *c = xcalloc(1, sizeof(*c));

	c->fd = fd;
	c->flags = flags;
	c->first_line = true;
	return c;
}

void
canon_free(struct canon *c)
{
	xfree(c);
}

uint64_t
canon_nul_count(const struct canon *c)
{
	return c->nuls;
}

bool
canon_ended_by_dot(const struct canon *c)
{
	return c->dot_end;
}

bool
canon_dropped_from_line(const struct canon *c)
{
	return c->dropped_from;
}

/* canon_is_from_line - does a first-line piece start with "From " or
 * ">From "?  A piece shorter than that prefix is a whole line. */
static bool
canon_is_from_line(const char *p, size_t n)
{
	return (n >= 5 && memcmp(p, "From ", 5) == 0) ||
	    (n >= 6 && memcmp(p, ">From ", 6) == 0);
}

/* canon_emit - offer the piece in line[]; returns 1 when it goes to the
 * caller, 0 when it was dropped (From_ line), -1 when it is the lone dot
 * that ends the input. */
static int
canon_emit(struct canon *c, bool eol, struct canon_piece *out)
{
	bool bol = !c->line_started;

	if (bol && c->first_line && canon_is_from_line(c->line, c->line_len)) {
		c->dropping = true;
		c->dropped_from = true;
	}
	c->reset_line = true;
	c->line_started = !eol;
	if (c->dropping) {
		if (eol) {
			c->dropping = false;
			c->first_line = false;
		}
		return 0;
	}
	if (eol)
		c->first_line = false;
	if (bol && eol && !(c->flags & CANON_IGNORE_DOTS) && c->line_len == 1 &&
	    c->line[0] == '.') {
		c->done = true;
		c->dot_end = true;
		return -1;
	}
	out->p = c->line;
	out->n = c->line_len;
	out->bol = bol;
	out->eol = eol;
	return 1;
}

/* canon_fill - read more input; 0, or -1 with err. */
static int
canon_fill(struct canon *c, struct err *err)
{
	ssize_t r = fs_read_some(c->fd, c->in, sizeof(c->in));

	if (r == -1)
		return err_sys(err, ERR_TEMP,
		    "cannot read the message from standard input");
	c->in_pos = 0;
	c->in_len = (size_t)r;
	c->in_eof = r == 0;
	return 0;
}

/* canon_line_end - the current line ends; extra bare CRs become empty
 * lines still to report. */
static int
canon_line_end(struct canon *c, size_t extra_empty, struct canon_piece *out)
{
	c->pending_cr = 0;
	c->pending_empty += extra_empty;
	return canon_emit(c, true, out);
}

/* canon_eof - the input ended: close the last line if it has content. */
static int
canon_eof(struct canon *c, struct canon_piece *out)
{
	if (c->pending_cr > 0)
		return canon_line_end(c, c->pending_cr - 1, out);
	if (c->line_len > 0 || c->line_started)
		return canon_emit(c, true, out);
	c->done = true;
	return -1;
}

/* canon_step - consume input until a piece is ready: 1 piece, 0 piece
 * dropped (call again), -1 end of input. */
static int
canon_step(struct canon *c, struct canon_piece *out)
{
	while (c->in_pos < c->in_len) {
		char ch = c->in[c->in_pos];

		if (ch == '\0') {
			c->nuls++;
			c->in_pos++;
			continue;
		}
		if (ch == '\r') {
			c->pending_cr++;
			c->in_pos++;
			continue;
		}
		if (c->pending_cr > 0) {
			if (ch == '\n') {
				c->in_pos++;
				return canon_line_end(c, 0, out);
			}
			return canon_line_end(c, c->pending_cr - 1, out);
		}
		c->in_pos++;
		if (ch == '\n') {
			return canon_line_end(c, 0, out);
		} else {
			c->line[c->line_len++] = ch;
			if (c->line_len == sizeof(c->line))
				return canon_emit(c, false, out);
		}
	}
	return -2; /* need input */
}

int
canon_next(struct canon *c, struct canon_piece *out, struct err *err)
{
	for (;;) {
		int rc;

		if (c->reset_line) {
			c->line_len = 0;
			c->reset_line = false;
		}
		if (c->done)
			return 0;
		if (c->pending_empty > 0) {
			c->pending_empty--;
			rc = canon_emit(c, true, out);
		} else if (c->in_pos < c->in_len) {
			rc = canon_step(c, out);
		} else if (c->in_eof) {
			rc = canon_eof(c, out);
		} else {
			if (canon_fill(c, err) == -1)
				return -1;
			continue;
		}
		if (rc == 1)
			return 1;
		if (rc == -1)
			return 0;
		/* 0: a dropped piece; -2: need input */
	}
}
