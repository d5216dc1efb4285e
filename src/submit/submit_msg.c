/*
 * submit_msg.c - one message from stdin into the submission stream
 * (SENDMAIL.md 1.4 items 2-10).
 *
 *   argv recipients --qualify/check--> rcpts
 *   stdin --canon--> header lines --hdr--> prepare_headers (-t adds rcpts)
 *   envelope + header section --> sink (relayd or maildrop, opened at
 *   body pieces --canon--> chunks --> sink       the first full chunk or
 *                                                 the end; streamed, never
 *                                                 stored)
 *   end marker --> sink commit ("250 QID" or renamed maildrop file)
 *
 * Memory is bounded: the header section (HDR_MAX_SIZE), one canon read
 * buffer and piece, one chunk of SUBPROTO_MAX_CHUNK and its wire copy,
 * whatever the message size.  The size limit counts canonical bytes.
 *
 * Security: recipients and the sender are checked by addr_check_envelope
 * before they reach the stream; the body is canonical (CRLF only, no
 * NUL) before it leaves this process.
 */
#include "config.h"

#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/log.h"
#include "base/str.h"
#include "base/sysops.h"
#include "base/xalloc.h"
#include "mail/canon.h"
#include "mail/hdr.h"
#include "mail/prepare.h"
#include "mail/subproto.h"
#include "submit/submit.h"
#include "submit/submit_sink.h"

/* The stream being written: message bytes gather in chunk, go out as one
 * subproto chunk through wire.  The sink is opened at the first write, so
 * a message that fits one chunk is read whole before relayd is contacted
 * and reaches it in one write: relayd wakes once, holds no connection
 * while a slow writer fills stdin, and answers at once. */
struct submit_out {
	const struct conf *conf;
	struct submit_sink *sink; /* NULL until the first write */
	bool *via_maildrop;
	struct buf chunk, wire;
	unsigned long long size, max;
};

/* submit_out_write - open the sink if needed, then send what wire holds. */
static int
submit_out_write(struct submit_out *o, struct err *err)
{
	if (o->sink == NULL) {
		o->sink = submit_sink_open(o->conf, err);
		if (o->sink == NULL)
			return -1;
		*o->via_maildrop = submit_sink_is_maildrop(o->sink);
	}
	if (submit_sink_write(o->sink, o->wire.data, o->wire.len, err) == -1)
		return -1;
	buf_reset(&o->wire);
	return 0;
}

struct submit_rctx {
	struct addr_list *out;
	const char *domain;
	size_t seen; /* addresses in the current operand, duplicates too */
	struct err *err;
};

static int
submit_rcpt_cb(void *arg, const char *addr, size_t len, size_t end)
{
	struct submit_rctx *x = arg;
	char *q = addr_qualify(addr, x->domain);
	int rc = 0;

	(void)len;
	(void)end;
	x->seen++;
	if (addr_check_envelope(q, x->err) == -1) {
		char why[sizeof(x->err->msg)];

		(void)str_copy(why, sizeof(why), x->err->msg);
		rc = submit_err_usage(x->err, "recipient: %s", why);
	} else if (x->out->n >= SUBPROTO_MAX_RCPTS &&
	    !addr_list_contains(x->out, q)) {
		rc = submit_err_usage(x->err, "too many recipients (limit %d)",
		    SUBPROTO_MAX_RCPTS);
	} else {
		(void)addr_list_add_unique(x->out, q);
	}
	xfree(q);
	return rc;
}

int
submit_rcpts_from_args(const struct submit_args *a, const char *domain,
    struct addr_list *out, struct err *err)
{
	struct submit_rctx x = { out, domain, 0, err };
	size_t k;

	for (k = 0; k < a->nrcpts; k++) {
		const char *arg = a->rcpts[k];

		x.seen = 0;
		if (addr_foreach(arg, strlen(arg), submit_rcpt_cb, &x) == -1)
			return -1;
		if (x.seen == 0)
			return submit_err_usage(err,
			    "recipient argument '%.64s' holds no address", arg);
	}
	return 0;
}

/* submit_out_flush - send the gathered chunk (or, n == 0, the end). */
static int
submit_out_flush(struct submit_out *o, bool end, struct err *err)
{
	/* The envelope waits in wire for the first chunk; send it alone
	 * when both do not fit. */
	if (o->wire.len > 0 && o->wire.len + o->chunk.len + 32 > o->wire.max &&
	    submit_out_write(o, err) == -1)
		return -1;
	if (o->chunk.len > 0 &&
	    subproto_write_chunk(&o->wire, o->chunk.data, o->chunk.len, err) ==
		-1)
		return -1;
	if (end && subproto_write_chunk(&o->wire, NULL, 0, err) == -1)
		return -1;
	buf_reset(&o->chunk);
	if (o->wire.len > 0 && submit_out_write(o, err) == -1)
		return -1;
	return 0;
}

/* submit_out_put - add message bytes, counting them against the limit. */
static int
submit_out_put(struct submit_out *o, const char *p, size_t n, struct err *err)
{
	o->size += n;
	if (o->size > o->max) {
		(void)err_set(err, ERR_PERM,
		    "message too large (limit %llu bytes)", o->max);
		err->reason = SUBMIT_R_UNAVAILABLE;
		err->smtp_code = 552;
		return -1;
	}
	while (n > 0) {
		size_t room = SUBPROTO_MAX_CHUNK - o->chunk.len;
		size_t take = n < room ? n : room;

		(void)buf_append(&o->chunk, p, take);
		p += take;
		n -= take;
		if (o->chunk.len == SUBPROTO_MAX_CHUNK &&
		    submit_out_flush(o, false, err) == -1)
			return -1;
	}
	return 0;
}

/* submit_read_header - read the header section; OUT *first is the first
 * body piece when a non-header line ended the section (else n == 0 and
 * *have_first false). */
static int
submit_read_header(struct canon *cn, struct hdr *h, struct canon_piece *first,
    bool *have_first, struct err *err)
{
	enum hdr_line kind = HDR_LINE_FIELD;
	struct canon_piece pc;
	int rc;

	*have_first = false;
	while ((rc = canon_next(cn, &pc, err)) == 1) {
		if (pc.bol)
			kind = hdr_classify(h, pc.p, pc.n, pc.eol);
		if (kind == HDR_LINE_END)
			return 0;
		if (kind == HDR_LINE_BODY) {
			*first = pc;
			*have_first = true;
			return 0;
		}
		if (hdr_add_piece(h, kind, pc.p, pc.n, pc.bol, pc.eol, err) ==
		    -1)
			return -1;
	}
	return rc;
}

/* submit_stream_body - the body pieces, each line ended with CRLF. */
static int
submit_stream_body(struct canon *cn, struct submit_out *o,
    const struct canon_piece *first, struct err *err)
{
	struct canon_piece pc;
	int rc;

	if (first != NULL) {
		if (submit_out_put(o, first->p, first->n, err) == -1 ||
		    (first->eol && submit_out_put(o, "\r\n", 2, err) == -1))
			return -1;
	}
	while ((rc = canon_next(cn, &pc, err)) == 1) {
		if (submit_out_put(o, pc.p, pc.n, err) == -1 ||
		    (pc.eol && submit_out_put(o, "\r\n", 2, err) == -1))
			return -1;
	}
	return rc;
}

/* submit_envelope - the subproto envelope for this message. */
static void
submit_envelope(struct subproto_env *e, const struct submit_args *a,
    const struct submit_ident *id, const struct addr_list *rcpts)
{
	size_t k;

	memset(e, 0, sizeof(*e));
	e->sender = id->sender;
	e->rcpts = rcpts->v;
	e->nrcpts = rcpts->n;
	e->ret = a->ret;
	e->envid = a->envid;
	e->body_type = a->body_type;
	e->notify = a->notify;
	e->smtputf8 = addr_is_8bit(id->sender);
	for (k = 0; k < rcpts->n; k++)
		e->smtputf8 = e->smtputf8 || addr_is_8bit(rcpts->v[k]);
}

/* submit_send - open the sink and write envelope, header and body. */
static int
submit_send(const struct conf *c, const struct submit_args *a,
    const struct submit_ident *id, const struct addr_list *rcpts, struct hdr *h,
    struct canon *cn, const struct canon_piece *first, char *qid,
    size_t qid_size, bool *via_maildrop, struct err *err)
{
	struct submit_out o;
	struct subproto_env e;
	struct buf hbuf;
	int rc = -1;

	memset(&o, 0, sizeof(o));
	o.conf = c;
	o.via_maildrop = via_maildrop;
	o.max = c->max_message_size;
	buf_init(&o.chunk, SUBPROTO_MAX_CHUNK);
	buf_init(&o.wire, SUBPROTO_MAX_CHUNK + 64 + SUBPROTO_MAX_LINE * 8);
	buf_init(&hbuf, HDR_MAX_SIZE + 2);
	submit_envelope(&e, a, id, rcpts);
	if (hdr_write(h, &hbuf, err) == -1)
		goto out_free;
	/* the envelope goes out with the first chunk */
	if (subproto_write_env(&o.wire, &e, err) == -1)
		goto out_abort;
	if (submit_out_put(&o, hbuf.data, hbuf.len, err) == -1 ||
	    submit_stream_body(cn, &o, first, err) == -1 ||
	    submit_out_flush(&o, true, err) == -1)
		goto out_abort;
	rc = submit_sink_commit(o.sink, qid, qid_size, err);
	o.sink = NULL;
	goto out_free;
out_abort:
	submit_sink_abort(o.sink);
out_free:
	buf_free(&hbuf);
	buf_free(&o.wire);
	buf_free(&o.chunk);
	return rc;
}

/* submit_log_input - syslog what canonicalisation changed. */
static void
submit_log_input(const struct canon *cn, const struct submit_ident *id)
{
	if (canon_nul_count(cn) > 0)
		log_warnx("uid=%lu removed %llu NUL bytes from the message",
		    (unsigned long)id->uid,
		    (unsigned long long)canon_nul_count(cn));
}

int
submit_deliver(const struct conf *c, const struct submit_args *a,
    const struct submit_ident *id, char *qid, size_t qid_size,
    bool *via_maildrop, struct err *err)
{
	struct addr_list rcpts = { 0 };
	struct canon *cn;
	struct hdr *h = hdr_new(0);
	struct canon_piece first;
	struct prepare_ctx px;
	bool have_first;
	int rc = -1;

	cn = canon_new(STDIN_FILENO, a->ignore_dots ? CANON_IGNORE_DOTS : 0);
	if (submit_rcpts_from_args(a, c->domain, &rcpts, err) == -1)
		goto out_free;
	submit_sink_signals();
	if (submit_read_header(cn, h, &first, &have_first, err) == -1)
		goto out_free;
	memset(&px, 0, sizeof(px));
	px.conf = c;
	px.sender = id->sender;
	px.full_name = id->full_name;
	px.now = sys_time();
	px.flags = (a->extract ? PREPARE_EXTRACT : 0) |
	    (a->gateway ? PREPARE_NO_QUALIFY : 0);
	if (prepare_headers(h, &px, &rcpts, err) == -1)
		goto out_free;
	if (rcpts.n == 0) {
		(void)submit_err_usage(err,
		    "no recipient addresses found in the message header (-t)");
		goto out_free;
	}
	rc = submit_send(c, a, id, &rcpts, h, cn, have_first ? &first : NULL,
	    qid, qid_size, via_maildrop, err);
	submit_log_input(cn, id);
out_free:
	hdr_free(h);
	canon_free(cn);
	addr_list_free(&rcpts);
	return rc;
}
