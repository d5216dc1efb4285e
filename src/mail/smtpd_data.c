/*
 * smtpd_data.c - the SMTP server's DATA phase: from the bytes after the
 * 354 to one submission stream (design in smtpd.h).
 *
 *   client bytes --framing--> lines (dot-unstuffed, "." CRLF ends)
 *                --canonical lines (canon.h rules)--> pieces
 *                --header section--> hdr --prepare_headers--> ops->open,
 *                   envelope + header --> stream
 *                --body pieces + CRLF--> chunks --> stream --> ops->write
 *   final dot --> end marker --> ops->commit
 *
 * Owns the decoder state, the line piece, the header section and the
 * chunk being gathered.  Invariants: the piece buffer never holds CR, LF
 * or NUL; pending_cr > 0 means the current line's content is complete and
 * only its end is undecided (a CR run then LF is one line end, a CR run
 * then anything else one line end per CR), exactly as canon.c decides for
 * sendmail's stdin.  A refused message (failed) is still read to its
 * final dot, passing nothing on.
 *
 * RFCs: 5321 4.1.1.4 and 4.5.2 (the end of data, transparency), 5322
 * (the header section, via hdr and prepare).
 *
 * Security: the final dot counts only after a real CRLF, so a bare LF or
 * CR followed by "." cannot end the data early (SMTP smuggling); bare CR
 * and LF become CRLF in what is stored, so none of them reaches the
 * smarthost either.  The size limit counts the bytes passed on.
 */
#include "config.h"

#include <string.h>

#include "base/str.h"
#include "base/sysops.h"
#include "base/xalloc.h"
#include "mail/prepare.h"
#include "mail/smtpd_priv.h"
#include "mail/subproto.h"

static int smtpd_header_done(struct smtpd *s);

/* smtpd_fail - refuse the message: keep the first reason, drop what was
 * passed on; the rest of the data is read and ignored. */
static void
smtpd_fail(struct smtpd *s, const struct err *err)
{
	if (s->failed)
		return;
	s->failed = true;
	s->ferr = *err;
	if (s->opened)
		s->ops->abort(s->arg);
	s->opened = false;
	hdr_free(s->h);
	s->h = NULL;
}

void
smtpd_data_drop(struct smtpd *s)
{
	if (s->opened)
		s->ops->abort(s->arg);
	s->opened = false;
	hdr_free(s->h);
	s->h = NULL;
	buf_reset(&s->chunk);
	buf_reset(&s->wire);
}

void
smtpd_data_begin(struct smtpd *s)
{
	smtpd_data_drop(s);
	s->dstate = SMTPD_D_BOL;
	s->pending_cr = 0;
	s->line_len = 0;
	s->line_started = false;
	s->in_header = true;
	s->hkind = HDR_LINE_FIELD;
	s->h = hdr_new(0);
	s->failed = false;
	err_clear(&s->ferr);
	s->size = 0;
	s->nuls = 0;
}

/* --- the submission stream ------------------------------------------------ */

/* smtpd_stream - pass the framed bytes in wire to the driver. */
static int
smtpd_stream(struct smtpd *s)
{
	struct err err;

	err_clear(&err);
	if (s->wire.len > 0 &&
	    s->ops->write(s->arg, s->wire.data, s->wire.len, &err) == -1) {
		s->opened = false; /* the driver dropped it */
		smtpd_fail(s, &err);
		return -1;
	}
	buf_reset(&s->wire);
	return 0;
}

/* smtpd_chunk_flush - the gathered bytes as one chunk (and, with end, the
 * end marker). */
static int
smtpd_chunk_flush(struct smtpd *s, bool end)
{
	struct err err;

	err_clear(&err);
	if ((s->chunk.len > 0 &&
		subproto_write_chunk(
		    &s->wire, s->chunk.data, s->chunk.len, &err) == -1) ||
	    (end && subproto_write_chunk(&s->wire, NULL, 0, &err) == -1)) {
		smtpd_fail(s, &err);
		return -1;
	}
	buf_reset(&s->chunk);
	return smtpd_stream(s);
}

/* smtpd_put - message bytes, counted against max_message_size. */
static int
smtpd_put(struct smtpd *s, const char *p, size_t n)
{
	struct err err;

	s->size += n;
	if (s->size > s->conf->max_message_size) {
		err_clear(&err);
		(void)err_set(&err, ERR_PERM,
		    "message too large (limit %llu bytes)",
		    (unsigned long long)s->conf->max_message_size);
		err.smtp_code = 552;
		smtpd_fail(s, &err);
		return -1;
	}
	while (n > 0) {
		size_t room = SMTPD_CHUNK - s->chunk.len;
		size_t take = n < room ? n : room;

		(void)buf_append(&s->chunk, p, take);
		p += take;
		n -= take;
		if (s->chunk.len == SMTPD_CHUNK &&
		    smtpd_chunk_flush(s, false) == -1)
			return -1;
	}
	return 0;
}

/* smtpd_header_done - the header section is complete: apply the local
 * submission policy, open the stream, send envelope and header. */
static int
smtpd_header_done(struct smtpd *s)
{
	struct prepare_ctx px;
	struct subproto_env e;
	struct buf hb;
	struct err err;
	int rc = -1;

	err_clear(&err);
	memset(&px, 0, sizeof(px));
	px.conf = s->conf;
	px.sender = s->sender;
	px.full_name = s->full_name;
	px.now = sys_time();
	if (prepare_headers(s->h, &px, &s->rcpts, &err) == -1) {
		if (err.smtp_code == 554)
			(void)str_copy(err.enh, sizeof(err.enh), "5.4.6");
		smtpd_fail(s, &err);
		return -1;
	}
	if (s->ops->open(s->arg, &err) == -1) {
		smtpd_fail(s, &err);
		return -1;
	}
	s->opened = true;
	memset(&e, 0, sizeof(e));
	e.sender = s->sender;
	e.rcpts = s->rcpts.v;
	e.nrcpts = s->rcpts.n;
	e.body_type = s->body_type != NULL ? s->body_type : s->default_body;
	buf_init(&hb, HDR_MAX_SIZE + 2);
	if (subproto_write_env(&s->wire, &e, &err) == -1 ||
	    hdr_write(s->h, &hb, &err) == -1) {
		smtpd_fail(s, &err);
		goto out_free;
	}
	if (smtpd_stream(s) == 0 && smtpd_put(s, hb.data, hb.len) == 0)
		rc = 0;
out_free:
	buf_free(&hb);
	hdr_free(s->h);
	s->h = NULL;
	return rc;
}

/* smtpd_body - a body piece (and its CRLF when it ends the line). */
static void
smtpd_body(struct smtpd *s, const char *p, size_t n, bool eol)
{
	if (smtpd_put(s, p, n) == 0 && eol)
		(void)smtpd_put(s, "\r\n", 2);
}

/* smtpd_piece - pass on the piece in line[] (eol: it ends its line). */
static void
smtpd_piece(struct smtpd *s, bool eol)
{
	const char *p = s->line;
	size_t n = s->line_len;
	bool bol = !s->line_started;
	struct err err;

	s->line_started = !eol;
	s->line_len = 0;
	if (s->failed)
		return;
	if (s->in_header) {
		if (bol)
			s->hkind = hdr_classify(s->h, p, n, eol);
		if (s->hkind == HDR_LINE_FIELD || s->hkind == HDR_LINE_CONT) {
			err_clear(&err);
			if (hdr_add_piece(
				s->h, s->hkind, p, n, bol, eol, &err) == -1)
				smtpd_fail(s, &err);
			return;
		}
		s->in_header = false;
		if (smtpd_header_done(s) == -1 || s->hkind == HDR_LINE_END)
			return;
	}
	smtpd_body(s, p, n, eol);
}

/* --- framing and canonical lines ------------------------------------------ */

/* smtpd_line_end - the current line ends; crlf: by CRLF (the next line
 * may be the final dot or dot-stuffed). */
static void
smtpd_line_end(struct smtpd *s, bool crlf)
{
	smtpd_piece(s, true);
	s->dstate = crlf ? SMTPD_D_BOL : SMTPD_D_TEXT;
}

/* smtpd_flush_cr - the CRs seen were not followed by LF: each ends a
 * line (bare CR, canon.h). */
static void
smtpd_flush_cr(struct smtpd *s)
{
	while (s->pending_cr > 0) {
		s->pending_cr--;
		smtpd_line_end(s, false);
	}
}

/* smtpd_text_run - consume ordinary line content from p[0..n); returns
 * the bytes consumed (at least 1 when n > 0). */
static size_t
smtpd_text_run(struct smtpd *s, const char *p, size_t n)
{
	size_t i = 0;

	smtpd_flush_cr(s);
	while (i < n && p[i] != '\r' && p[i] != '\n' && p[i] != '\0') {
		size_t room = sizeof(s->line) - s->line_len;
		size_t k = 0;

		while (i + k < n && k < room && p[i + k] != '\r' &&
		    p[i + k] != '\n' && p[i + k] != '\0')
			k++;
		memcpy(s->line + s->line_len, p + i, k);
		s->line_len += k;
		i += k;
		if (s->line_len == sizeof(s->line))
			smtpd_piece(s, false);
	}
	return i;
}

/* smtpd_text_byte - one byte in the TEXT state; returns bytes consumed. */
static size_t
smtpd_text_byte(struct smtpd *s, const char *p, size_t n)
{
	switch (p[0]) {
	case '\0':
		s->nuls++;
		return 1;
	case '\r':
		s->pending_cr++;
		return 1;
	case '\n': {
		bool crlf = s->pending_cr > 0;

		s->pending_cr = 0;
		smtpd_line_end(s, crlf);
		return 1;
	}
	default:
		return smtpd_text_run(s, p, n);
	}
}

/* smtpd_dot_byte - the byte after a leading dot, or after ".\r"; returns
 * the bytes consumed (0: reprocess in TEXT), *done at the final dot. */
static size_t
smtpd_dot_byte(struct smtpd *s, char c, bool *done)
{
	if (s->dstate == SMTPD_D_DOT) {
		if (c == '\r') {
			s->dstate = SMTPD_D_DOTCR;
			return 1;
		}
		s->dstate = SMTPD_D_TEXT;
		if (c == '\n') {
			/* ".\n": a bare LF, so data; the dot stays */
			s->line[s->line_len++] = '.';
			smtpd_line_end(s, false);
			return 1;
		}
		return 0; /* the dot was stuffing: dropped */
	}
	if (c == '\n') {
		*done = true;
		return 1;
	}
	/* ".\r" and more: the dot was stuffing; the CR is content */
	s->dstate = SMTPD_D_TEXT;
	s->pending_cr = 1;
	return 0;
}

size_t
smtpd_data_feed(struct smtpd *s, const char *p, size_t n, bool *done)
{
	size_t i = 0;

	*done = false;
	while (i < n && !*done) {
		if (s->dstate == SMTPD_D_BOL) {
			s->dstate = SMTPD_D_TEXT;
			if (p[i] == '.') {
				s->dstate = SMTPD_D_DOT;
				i++;
			}
			continue;
		}
		if (s->dstate == SMTPD_D_DOT || s->dstate == SMTPD_D_DOTCR) {
			i += smtpd_dot_byte(s, p[i], done);
			continue;
		}
		i += smtpd_text_byte(s, p + i, n - i);
	}
	return i;
}

void
smtpd_data_end(struct smtpd *s)
{
	char qid[128];
	struct err err;
	int rc;

	if (!s->failed && s->in_header) {
		s->in_header = false;
		(void)smtpd_header_done(s);
	}
	if (!s->failed)
		(void)smtpd_chunk_flush(s, true);
	s->phase = SMTPD_COMMAND;
	if (s->failed) {
		smtpd_reply_err(s, &s->ferr);
		smtpd_reset(s);
		return;
	}
	err_clear(&err);
	qid[0] = '\0';
	rc = s->ops->commit(s->arg, qid, sizeof(qid), &err);
	s->opened = false;
	if (rc == 1) {
		s->phase = SMTPD_WAIT;
		return;
	}
	if (rc == 0) {
		s->accepted++;
		smtpd_reply(s, 250, "2.0.0", "Ok: queued as %s", qid);
	} else {
		smtpd_reply_err(s, &err);
	}
	smtpd_reset(s);
}
