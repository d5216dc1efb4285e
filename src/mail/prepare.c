/*
 * prepare.c - the submission header policy (see prepare.h for the steps).
 *
 * Sits between reading the header section (hdr) and writing the message
 * into the submission stream.  Owns nothing beyond the call; the header
 * section and the recipient list belong to the caller.
 *
 * RFCs: 5322 sections 3.6.2 (originator fields), 3.6.3 (destination
 * fields; Bcc), 3.6.6 (Resent- blocks), 3.3 (date-time), 3.6.4 (msg-id).
 * Behaviour follows Postfix cleanup (drop list, Resent- rule, added field
 * order Message-ID, Date, From), as chosen in SENDMAIL.md 1.4.
 *
 * Security: header recipients are checked with addr_check_envelope before
 * they reach the envelope; generated fields never carry CR or LF (hdr_add
 * refuses them; full names are stripped of control characters), so -F or
 * $NAME cannot inject header lines.
 */
#include "config.h"

#include <string.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "mail/msgid.h"
#include "mail/prepare.h"
#include "mail/subproto.h"

/* Longest full name kept for a generated From. */
#define PREPARE_NAME_MAX 200

static const char *const prepare_drop[] = { "Bcc", "Resent-Bcc", "Return-Path",
	"Content-Length" };

static const char *const prepare_qualified[] = { "From", "Sender", "Reply-To",
	"To", "Cc", "Resent-From", "Resent-Sender", "Resent-Reply-To",
	"Resent-To", "Resent-Cc" };

struct prepare_xctx {
	const char *domain;
	const char *field; /* for messages */
	struct addr_list *rcpts;
	struct err *err;
};

int
prepare_check_hops(const struct hdr *h, int limit, struct err *err)
{
	size_t n = hdr_count_name(h, "Received");

	if (limit < 0 || n <= (size_t)limit)
		return 0;
	(void)err_set(err, ERR_PERM,
	    "too many hops: %zu Received headers (limit %d); the message is "
	    "probably looping",
	    n, limit);
	if (err != NULL)
		err->smtp_code = 554;
	return -1;
}

static int
prepare_extract_cb(void *arg, const char *addr, size_t len, size_t end)
{
	struct prepare_xctx *x = arg;
	char *q;
	int rc = 0;

	(void)len;
	(void)end;
	q = addr_qualify(addr, x->domain);
	if (addr_check_envelope(q, x->err) == -1) {
		char why[sizeof(x->err->msg)];

		(void)str_copy(why, sizeof(why), x->err->msg);
		(void)err_set(x->err, ERR_PERM, "%s header: %s", x->field, why);
		x->err->smtp_code = 553;
		rc = -1;
	} else if (!addr_list_contains(x->rcpts, q)) {
		if (x->rcpts->n >= SUBPROTO_MAX_RCPTS) {
			(void)err_set(x->err, ERR_PERM,
			    "too many recipients (limit %d)",
			    SUBPROTO_MAX_RCPTS);
			x->err->smtp_code = 552;
			rc = -1;
		} else {
			(void)addr_list_add_unique(x->rcpts, q);
		}
	}
	xfree(q);
	return rc;
}

int
prepare_extract(const struct hdr *h, const char *domain,
    struct addr_list *rcpts, struct err *err)
{
	static const char *const plain[] = { "To", "Cc", "Bcc" };
	static const char *const resent[] = { "Resent-To", "Resent-Cc",
		"Resent-Bcc" };
	const char *const *names = plain;
	struct prepare_xctx x;
	struct err local;
	size_t i, k;

	if (err == NULL)
		err = &local;
	for (k = 0; k < 3; k++) {
		if (hdr_has(h, resent[k]))
			names = resent;
	}
	x.domain = domain;
	x.rcpts = rcpts;
	x.err = err;
	for (i = 0; i < hdr_count(h); i++) {
		for (k = 0; k < 3; k++) {
			const char *v;
			size_t n;

			if (!hdr_is(h, i, names[k]))
				continue;
			x.field = names[k];
			v = hdr_value(h, i, &n);
			if (addr_foreach(v, n, prepare_extract_cb, &x) == -1)
				return -1;
		}
	}
	return 0;
}

/* prepare_is_address_field - is field i one that step 4 qualifies? */
static bool
prepare_is_address_field(const struct hdr *h, size_t i)
{
	size_t k;

	for (k = 0; k < sizeof(prepare_qualified) / sizeof(char *); k++) {
		if (hdr_is(h, i, prepare_qualified[k]))
			return true;
	}
	return false;
}

int
prepare_qualify(struct hdr *h, const char *domain, struct err *err)
{
	struct buf out;
	size_t i;
	int changed = 0;

	buf_init(&out, 2 * HDR_MAX_SIZE);
	for (i = 0; i < hdr_count(h); i++) {
		const char *v;
		size_t n;
		int count;

		if (!prepare_is_address_field(h, i))
			continue;
		v = hdr_value(h, i, &n);
		buf_reset(&out);
		count = addr_qualify_field(v, n, domain, &out, err);
		if (count == -1 ||
		    (count > 0 &&
			hdr_set_value(h, i, out.data, out.len, err) == -1)) {
			changed = -1;
			break;
		}
		changed += count > 0;
	}
	buf_free(&out);
	return changed;
}

int
prepare_date(time_t t, char *out, size_t size)
{
	struct tm tm;

	if (localtime_r(&t, &tm) == NULL)
		return -1;
	if (strftime(out, size, "%a, %e %b %Y %H:%M:%S %z (%Z)", &tm) == 0)
		return -1;
	return 0;
}

/* prepare_phrase_plain - may the name go unquoted?  Words of atext
 * (without Postfix's '%' and '!') and UTF-8, single spaces. */
static bool
prepare_phrase_plain(const char *s)
{
	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80 || c == ' ')
			continue;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9'))
			continue;
		if (strchr("#$&'*+-/=?^_`{|}~", c) == NULL)
			return false;
	}
	return true;
}

/* prepare_clean_name - copy name without control characters, white
 * space runs squeezed, trimmed, at most PREPARE_NAME_MAX bytes. */
static void
prepare_clean_name(const char *name, struct buf *out)
{
	bool space = false;

	for (; *name != '\0' && out->len < PREPARE_NAME_MAX; name++) {
		unsigned char c = (unsigned char)*name;

		if (c < 0x20 || c == 0x7f || c == ' ') {
			space = c == ' ' || c == '\t' || space;
			continue;
		}
		if (space && out->len > 0)
			(void)buf_putc(out, ' ');
		space = false;
		(void)buf_putc(out, (char)c);
	}
}

int
prepare_from(const char *full_name, const char *sender, const char *domain,
    struct buf *out)
{
	struct buf name;
	const char *s;
	int rc = 0;

	if (*sender == '\0')
		return buf_appendf(out, "MAILER-DAEMON@%s", domain);
	buf_init(&name, PREPARE_NAME_MAX + 8);
	if (full_name != NULL)
		prepare_clean_name(full_name, &name);
	if (name.len == 0) {
		rc = buf_puts(out, sender);
		goto out_free;
	}
	if (prepare_phrase_plain(name.data)) {
		rc = buf_puts(out, name.data);
	} else {
		rc = buf_putc(out, '"');
		for (s = name.data; *s != '\0' && rc == 0; s++) {
			if (*s == '"' || *s == '\\')
				rc = buf_putc(out, '\\');
			if (rc == 0)
				rc = buf_putc(out, *s);
		}
		if (rc == 0)
			rc = buf_putc(out, '"');
	}
	if (rc == 0)
		rc = buf_appendf(out, " <%s>", sender);
out_free:
	buf_free(&name);
	return rc;
}

/* prepare_add_from - append a generated From (or Resent-From). */
static int
prepare_add_from(struct hdr *h, const struct prepare_ctx *px, const char *name,
    struct err *err)
{
	struct buf from;
	int rc;

	buf_init(&from, 2048);
	if (prepare_from(px->full_name, px->sender, px->conf->domain, &from) ==
	    -1)
		rc = err_set(err, ERR_INTERNAL, "From too long");
	else
		rc = hdr_add(h, name, from.data, err);
	buf_free(&from);
	return rc;
}

/* prepare_add_missing - step 5 (and 6). */
static int
prepare_add_missing(
    struct hdr *h, const struct prepare_ctx *px, bool resent, struct err *err)
{
	const struct conf *c = px->conf;
	const char *mid = resent ? "Resent-Message-ID" : "Message-ID";
	const char *date = resent ? "Resent-Date" : "Date";
	const char *from = resent ? "Resent-From" : "From";
	char value[MSGID_MAX];

	if (!hdr_has(h, mid) &&
	    (msgid_make(value, sizeof(value), px->now, c->hostname, err) ==
		    -1 ||
		hdr_add(h, mid, value, err) == -1))
		return -1;
	if (!hdr_has(h, date)) {
		if (prepare_date(px->now, value, sizeof(value)) == -1)
			return err_set(err, ERR_INTERNAL, "cannot format Date");
		if (hdr_add(h, date, value, err) == -1)
			return -1;
	}
	if (!hdr_has(h, from) && prepare_add_from(h, px, from, err) == -1)
		return -1;
	if (c->undisclosed_recipients && !hdr_has(h, "To") &&
	    !hdr_has(h, "Cc") && !hdr_has(h, "Resent-To") &&
	    !hdr_has(h, "Resent-Cc"))
		return hdr_add(h, "To", "undisclosed-recipients:;", err);
	return 0;
}

int
prepare_headers(struct hdr *h, const struct prepare_ctx *px,
    struct addr_list *rcpts, struct err *err)
{
	const struct conf *c = px->conf;
	bool resent;
	size_t k;

	if (prepare_check_hops(h, c->hop_limit, err) == -1)
		return -1;
	resent = hdr_has_prefix(h, "Resent-");
	if ((px->flags & PREPARE_EXTRACT) &&
	    prepare_extract(h, c->domain, rcpts, err) == -1)
		return -1;
	for (k = 0; k < sizeof(prepare_drop) / sizeof(char *); k++)
		(void)hdr_remove(h, prepare_drop[k]);
	if (!(px->flags & PREPARE_NO_QUALIFY) &&
	    prepare_qualify(h, c->domain, err) == -1)
		return -1;
	return prepare_add_missing(h, px, resent, err);
}
