/*
 * smtpd_priv.h - the session state shared by smtpd.c (commands) and
 * smtpd_data.c (DATA: framing, canonical lines, header policy, the
 * submission stream).  Internal to src/mail.
 */
#ifndef RELAY_SMTPD_PRIV_H
#define RELAY_SMTPD_PRIV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/buf.h"
#include "base/err.h"
#include "mail/addr.h"
#include "mail/canon.h"
#include "mail/conf.h"
#include "mail/hdr.h"
#include "mail/smtpd.h"

/* Where the DATA decoder is within a line (see smtpd_data.c). */
enum smtpd_dstate {
	SMTPD_D_BOL = 0, /* at the start of a line after CRLF (or DATA) */
	SMTPD_D_DOT, /* that line began with '.' */
	SMTPD_D_DOTCR, /* ... followed by CR */
	SMTPD_D_TEXT, /* inside a line, or at one after a bare LF or CR */
};

struct smtpd {
	const struct conf *conf;
	const struct smtpd_ops *ops;
	void *arg;
	enum smtpd_phase phase;
	char *full_name, *default_body;

	/* commands */
	struct buf cmd; /* the command line being read */
	bool cmd_overflow; /* skipping the rest of an overlong line */
	bool helo, esmtp; /* HELO or EHLO seen; EHLO */
	int errors; /* bad commands so far */

	/* the transaction */
	bool in_mail; /* MAIL accepted */
	char *sender; /* qualified; "" null sender */
	char *body_type; /* BODY= value, or NULL */
	struct addr_list rcpts;

	/* DATA */
	enum smtpd_dstate dstate;
	size_t pending_cr; /* CRs whose line end is not decided yet */
	char line[CANON_PIECE_MAX]; /* the current line piece */
	size_t line_len;
	bool line_started; /* a piece of this line was passed on */
	bool in_header; /* still in the header section */
	enum hdr_line hkind; /* kind of the current header line */
	struct hdr *h;
	bool opened; /* ops->open succeeded, stream started */
	bool failed; /* the message is refused; ferr says why */
	struct err ferr;
	struct buf chunk, wire; /* message bytes, stream bytes */
	uint64_t size; /* message bytes passed on */
	uint64_t nuls;

	/* results */
	bool abandoned;
	uint64_t accepted;
};

/* smtpd_reply - send "code enh text" (text sanitised: no controls). */
void smtpd_reply(struct smtpd *s, int code, const char *enh, const char *fmt,
    ...) __attribute__((format(printf, 4, 5)));

/* smtpd_reply_err - the reply for a message that was not queued. */
void smtpd_reply_err(struct smtpd *s, const struct err *err);

/* smtpd_reset - forget the transaction (sender, recipients, message). */
void smtpd_reset(struct smtpd *s);

/* smtpd_data_begin - DATA accepted: prepare the decoder (354 sent by the
 * caller). */
void smtpd_data_begin(struct smtpd *s);

/* smtpd_data_feed - consume data bytes until the final dot; OUT *done
 * when it was seen.  Returns the bytes consumed. */
size_t smtpd_data_feed(struct smtpd *s, const char *p, size_t n, bool *done);

/* smtpd_data_end - the final dot: finish the stream and commit, or
 * answer the refusal.  Moves to COMMAND or WAIT. */
void smtpd_data_end(struct smtpd *s);

/* smtpd_data_drop - abort the message in progress (if any). */
void smtpd_data_drop(struct smtpd *s);

#endif
