/*
 * smtp_data.c - the message encoder: message bytes in, wire bytes out,
 * for DATA (dot-stuffed, ended by the final dot) or BDAT (as they are:
 * BDAT counts octets, so nothing needs escaping).
 *
 * Part of smtp: smtp_send() feeds it the body chunks the runner's body
 * callback produces (straight from the spool, never the whole message in
 * memory) and sends what comes out.
 *
 * Data: the current line (at most 998 octets) and a few flags.
 * Invariants: every line handed on ends in CRLF and is at most 998
 * octets plus CRLF, a leading "." is doubled (DATA only), and no CR or
 * LF appears
 * except in a CRLF pair, so no SMTP-smuggling sequence can be produced
 * whatever the input.
 *
 * Implements RFC 5321 4.5.2 (transparency), 4.5.3.1.6 (line length),
 * 2.3.8 (CRLF only); RFC 3030 2 (BDAT data is not dot-stuffed); RFC 5322
 * 2.2.3 (header folding before white space).
 *
 * Security: input is untrusted; the line buffer is bounded by the fold.
 */
#include "config.h"

#include <string.h>

#include "smtp/smtp_wire.h"

static int smtp_dot_emit(struct smtp_dot *d, const char *p, size_t n);
static int smtp_dot_line_end(struct smtp_dot *d);
static int smtp_dot_fold(struct smtp_dot *d);

void
smtp_dot_init(
    struct smtp_dot *d, int (*out)(void *, const char *, size_t), void *ctx)
{
	memset(d, 0, sizeof(*d));
	d->out = out;
	d->ctx = ctx;
	d->headers = true;
}

void
smtp_dot_init_bdat(
    struct smtp_dot *d, int (*out)(void *, const char *, size_t), void *ctx)
{
	smtp_dot_init(d, out, ctx);
	d->chunked = true;
}

static int
smtp_dot_emit(struct smtp_dot *d, const char *p, size_t n)
{
	if (d->failed)
		return -1;
	if (n == 0)
		return 0;
	if (d->out(d->ctx, p, n) == -1) {
		d->failed = true;
		return -1;
	}
	d->nbytes += n;
	return 0;
}

/* smtp_dot_put_line - send line[0..n) with dot-stuffing and CRLF. */
static int
smtp_dot_put_line(struct smtp_dot *d, size_t n)
{
	if (!d->chunked && n > 0 && d->line[0] == '.' &&
	    smtp_dot_emit(d, ".", 1) == -1)
		return -1;
	if (smtp_dot_emit(d, d->line, n) == -1 ||
	    smtp_dot_emit(d, "\r\n", 2) == -1)
		return -1;
	return 0;
}

/* smtp_dot_line_end - the input ended a line (CRLF, LF or CR). */
static int
smtp_dot_line_end(struct smtp_dot *d)
{
	if (d->len == 0 && d->folded) {
		/* The fold already ended this line on the wire. */
		d->folded = false;
		d->cont_space = false;
		return 0;
	}
	if (d->len == 0 && !d->folded)
		d->headers = false; /* the empty line after the header */
	if (smtp_dot_put_line(d, d->len) == -1)
		return -1;
	d->len = 0;
	d->folded = false;
	d->cont_space = false;
	return 0;
}

/* smtp_dot_fold - the line is full: send part of it now.  Fold before the
 * last space or tab (kept at the start of the continuation, so unfolding
 * restores a header exactly); without one, cut at the limit, and in the
 * header start the continuation with a space. */
static int
smtp_dot_fold(struct smtp_dot *d)
{
	size_t k = d->len;

	while (k > 1 && d->line[k - 1] != ' ' && d->line[k - 1] != '\t')
		k--;
	if (k > 1) {
		k--; /* the white space starts the continuation */
		if (smtp_dot_put_line(d, k) == -1)
			return -1;
		memmove(d->line, d->line + k, d->len - k);
		d->len -= k;
	} else {
		if (smtp_dot_put_line(d, d->len) == -1)
			return -1;
		d->len = 0;
		d->cont_space = d->headers;
	}
	d->folded = true;
	d->nfolded++;
	return 0;
}

/* smtp_dot_limit - the longest line text for the current line: one less
 * when dot-stuffing will add a ".". */
static size_t
smtp_dot_limit(const struct smtp_dot *d)
{
	return !d->chunked && d->len > 0 && d->line[0] == '.'
	    ? SMTP_LINE_MAX - 1
	    : SMTP_LINE_MAX;
}

/* smtp_dot_run - take the bytes of p[0..n) up to the next CR or LF at
 * once, as many as fit before the line must fold (a message is mostly
 * such runs); how many were taken. */
static size_t
smtp_dot_run(struct smtp_dot *d, const char *p, size_t n)
{
	size_t limit = smtp_dot_limit(d), k = 0;

	if (d->len >= limit)
		return 0;
	if (n > limit - d->len)
		n = limit - d->len;
	while (k < n && p[k] != '\r' && p[k] != '\n')
		k++;
	memcpy(d->line + d->len, p, k);
	d->len += k;
	return k;
}

int
smtp_dot_feed(struct smtp_dot *d, const char *p, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		char ch = p[i];

		if (d->failed)
			return -1;
		if (d->cr) {
			d->cr = false;
			if (smtp_dot_line_end(d) == -1)
				return -1;
			if (ch == '\n')
				continue;
		}
		if (ch == '\r') {
			d->cr = true;
			continue;
		}
		if (ch == '\n') {
			if (smtp_dot_line_end(d) == -1)
				return -1;
			continue;
		}
		if (d->cont_space && d->len == 0) {
			d->line[d->len++] = ' ';
			d->cont_space = false;
		}
		d->line[d->len++] = ch;
		i += smtp_dot_run(d, p + i + 1, n - i - 1);
		if (d->len >= smtp_dot_limit(d) && smtp_dot_fold(d) == -1)
			return -1;
	}
	return d->failed ? -1 : 0;
}

int
smtp_dot_end(struct smtp_dot *d)
{
	if (d->cr) {
		d->cr = false;
		if (smtp_dot_line_end(d) == -1)
			return -1;
	}
	if (d->len > 0 && smtp_dot_line_end(d) == -1)
		return -1;
	return d->chunked ? (d->failed ? -1 : 0) : smtp_dot_emit(d, ".\r\n", 3);
}
