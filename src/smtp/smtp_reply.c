/*
 * smtp_reply.c - the strict SMTP reply parser and the EHLO capability
 * parser.
 *
 * Part of smtp: smtp_proto.c feeds it the bytes read from the conn; the
 * fuzzers fuzz_reply and fuzz_ehlo feed it anything.
 *
 * Data: none kept between calls; smtp_reply_parse is restartable on a
 * growing buffer (it re-parses from the start, which is cheap for replies
 * bounded by SMTP_REPLY_MAX).
 *
 * Implements RFC 5321 4.2 (Reply-line = *(Reply-code "-" [textstring]
 * CRLF) Reply-code [SP textstring] CRLF), the limits of 4.5.3.1, RFC 2034
 * enhanced status codes, and the EHLO keywords of RFC 1870, 2034, 2920,
 * 3030, 3207, 3461, 4954, 6152, 6531.
 *
 * Security: the input is untrusted.  Every index is bounded by n; no
 * byte is used as a format; NUL and bare CR/LF are errors; a reply can
 * never be read as success unless it parsed completely.
 */
#include "config.h"

#include <ctype.h>
#include <string.h>

#include "base/str.h"
#include "smtp/smtp_wire.h"

static int smtp_reply_fail(struct err *err, const char *what);
static bool smtp_parse_enh(
    const char *t, size_t n, int code, char *enh, size_t size);
static void smtp_ehlo_line(const char *l, size_t n, struct smtp_caps *caps);

void
smtp_reply_init(struct smtp_reply *r)
{
	memset(r, 0, sizeof(*r));
	buf_init(&r->text, SMTP_REPLY_MAX);
}

void
smtp_reply_free(struct smtp_reply *r)
{
	buf_free(&r->text);
}

static int
smtp_reply_fail(struct err *err, const char *what)
{
	return err_set(err, ERR_TEMP, "malformed reply: %s", what);
}

/* smtp_parse_enh - "X.Y.Z" (class digit matching the code, 1-3 digits
 * each after) at the start of t, followed by space or the end. */
static bool
smtp_parse_enh(const char *t, size_t n, int code, char *enh, size_t size)
{
	size_t i = 0, part, digits;

	if (n < 5 || t[0] - '0' != code / 100)
		return false;
	for (part = 0; part < 3; part++) {
		if (part > 0) {
			if (i >= n || t[i] != '.')
				return false;
			i++;
		}
		for (digits = 0; i < n && isdigit((unsigned char)t[i]);
		     digits++)
			i++;
		if (digits == 0 || digits > (part == 0 ? 1u : 3u))
			return false;
	}
	if (i < n && t[i] != ' ')
		return false;
	if (i + 1 > size)
		return false;
	memcpy(enh, t, i);
	enh[i] = '\0';
	return true;
}

/* smtp_line_code - the 3-digit code at l, or -1 (RFC 5321: first digit
 * 2-5, second 0-5). */
static int
smtp_line_code(const char *l, size_t n)
{
	if (n < 3 || l[0] < '2' || l[0] > '5' || l[1] < '0' || l[1] > '5' ||
	    !isdigit((unsigned char)l[2]))
		return -1;
	return (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
}

int
smtp_reply_parse(const char *p, size_t n, struct smtp_reply *r, size_t *used,
    struct err *err)
{
	size_t off = 0;

	r->code = 0;
	r->enh[0] = '\0';
	r->nlines = 0;
	buf_reset(&r->text);
	for (;;) {
		const char *l = p + off, *lf;
		size_t avail = n - off, len;
		int code;

		lf = memchr(l, '\n', avail);
		if (lf == NULL) {
			if (avail >= SMTP_REPLY_LINE_MAX)
				return smtp_reply_fail(err, "line too long");
			if (memchr(l, '\0', avail) != NULL)
				return smtp_reply_fail(err, "NUL byte");
			return 0;
		}
		len = (size_t)(lf - l) + 1;
		if (len > SMTP_REPLY_LINE_MAX)
			return smtp_reply_fail(err, "line too long");
		if (len < 2 || l[len - 2] != '\r')
			return smtp_reply_fail(err, "line not ended by CRLF");
		len -= 2; /* without CRLF */
		if (memchr(l, '\0', len) != NULL || memchr(l, '\r', len))
			return smtp_reply_fail(err, "NUL or CR in a line");
		code = smtp_line_code(l, len);
		if (code == -1)
			return smtp_reply_fail(err, "no valid reply code");
		if (r->nlines > 0 && code != r->code)
			return smtp_reply_fail(
			    err, "continuation with another code");
		if (len > 3 && l[3] != ' ' && l[3] != '-')
			return smtp_reply_fail(err, "no separator after code");
		if (++r->nlines > SMTP_REPLY_LINES_MAX)
			return smtp_reply_fail(err, "too many lines");
		r->code = code;
		if (r->nlines > 1 && buf_putc(&r->text, '\n') == -1)
			return smtp_reply_fail(err, "reply too long");
		if (len > 4 && buf_append(&r->text, l + 4, len - 4) == -1)
			return smtp_reply_fail(err, "reply too long");
		if (r->nlines == 1 && len > 4)
			(void)smtp_parse_enh(
			    l + 4, len - 4, code, r->enh, sizeof(r->enh));
		off += len + 2;
		if (len == 3 || l[3] == ' ') {
			*used = off;
			return 1;
		}
		if (off >= SMTP_REPLY_MAX)
			return smtp_reply_fail(err, "reply too long");
	}
}

char *
smtp_reply_line(const struct smtp_reply *r, char *out, size_t size)
{
	size_t o = 0, i;
	int w;

	if (size == 0)
		return out;
	w = str_fmt(out, size, "%03d ", r->code);
	o = w == -1 ? size - 1 : strlen(out);
	for (i = 0; i < r->text.len && o + 1 < size; i++) {
		unsigned char ch = (unsigned char)r->text.data[i];

		if (ch == '\n') {
			if (o + 4 >= size)
				break;
			memcpy(out + o, " / ", 3);
			o += 3;
			continue;
		}
		out[o++] = ch < 0x20 || ch == 0x7f ? ' ' : (char)ch;
	}
	out[o] = '\0';
	return out;
}

/* --- EHLO ---------------------------------------------------------------- */

const char *
smtp_mech_name(enum smtp_mech m)
{
	switch (m) {
	case SMTP_MECH_PLAIN:
		return "PLAIN";
	case SMTP_MECH_LOGIN:
		return "LOGIN";
	case SMTP_MECH_CRAM_MD5:
		return "CRAM-MD5";
	case SMTP_MECH_XOAUTH2:
		return "XOAUTH2";
	}
	return "?";
}

enum smtp_mech
smtp_mech_from_name(const char *s, size_t n)
{
	static const enum smtp_mech all[] = { SMTP_MECH_PLAIN, SMTP_MECH_LOGIN,
		SMTP_MECH_CRAM_MD5, SMTP_MECH_XOAUTH2 };
	size_t i;

	for (i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
		const char *name = smtp_mech_name(all[i]);

		if (strlen(name) == n && strncasecmp(name, s, n) == 0)
			return all[i];
	}
	return (enum smtp_mech)0;
}

/* smtp_kw_is - does keyword k[0..kn) equal name (ASCII case)? */
static bool
smtp_kw_is(const char *k, size_t kn, const char *name)
{
	return strlen(name) == kn && strncasecmp(k, name, kn) == 0;
}

/* smtp_ehlo_auth - the mechanisms on an AUTH line (params after the
 * keyword), also the old "AUTH=" form. */
static void
smtp_ehlo_auth(const char *a, size_t n, struct smtp_caps *caps)
{
	size_t i = 0;

	caps->flags |= SMTP_CAP_AUTH;
	if (caps->auth_list[0] == '\0') {
		size_t k = n < sizeof(caps->auth_list) - 1
		    ? n
		    : sizeof(caps->auth_list) - 1;

		memcpy(caps->auth_list, a, k);
		caps->auth_list[k] = '\0';
	}
	while (i < n) {
		size_t start;

		while (i < n && a[i] == ' ')
			i++;
		start = i;
		while (i < n && a[i] != ' ')
			i++;
		if (i > start)
			caps->mechs |=
			    smtp_mech_from_name(a + start, i - start);
	}
}

/* smtp_ehlo_size - "SIZE 12345": a number, else 0 (no limit given). */
static uint64_t
smtp_ehlo_size(const char *a, size_t n)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > 19)
		return 0;
	for (i = 0; i < n; i++) {
		if (!isdigit((unsigned char)a[i]))
			return 0;
		v = v * 10 + (uint64_t)(a[i] - '0');
	}
	return v;
}

static void
smtp_ehlo_keyword_add(struct smtp_caps *caps, const char *k, size_t kn)
{
	size_t have = strlen(caps->keywords);

	if (have + kn + 2 > sizeof(caps->keywords))
		return;
	if (have > 0)
		caps->keywords[have++] = ' ';
	memcpy(caps->keywords + have, k, kn);
	caps->keywords[have + kn] = '\0';
}

/* smtp_ehlo_line - one capability line: ehlo-keyword *(SP ehlo-param). */
static void
smtp_ehlo_line(const char *l, size_t n, struct smtp_caps *caps)
{
	size_t kn = 0;
	const char *a;
	size_t an;

	while (kn < n && (isalnum((unsigned char)l[kn]) || l[kn] == '-'))
		kn++;
	if (kn == 0 || !isalnum((unsigned char)l[0]))
		return;
	if (kn < n && l[kn] != ' ' &&
	    !(l[kn] == '=' && smtp_kw_is(l, kn, "AUTH")))
		return;
	a = kn < n ? l + kn + 1 : l + n;
	an = kn < n ? n - kn - 1 : 0;
	smtp_ehlo_keyword_add(caps, l, kn);
	if (smtp_kw_is(l, kn, "PIPELINING"))
		caps->flags |= SMTP_CAP_PIPELINING;
	else if (smtp_kw_is(l, kn, "SIZE")) {
		caps->flags |= SMTP_CAP_SIZE;
		caps->size_max = smtp_ehlo_size(a, an);
	} else if (smtp_kw_is(l, kn, "8BITMIME"))
		caps->flags |= SMTP_CAP_8BITMIME;
	else if (smtp_kw_is(l, kn, "SMTPUTF8"))
		caps->flags |= SMTP_CAP_SMTPUTF8;
	else if (smtp_kw_is(l, kn, "DSN"))
		caps->flags |= SMTP_CAP_DSN;
	else if (smtp_kw_is(l, kn, "STARTTLS"))
		caps->flags |= SMTP_CAP_STARTTLS;
	else if (smtp_kw_is(l, kn, "ENHANCEDSTATUSCODES"))
		caps->flags |= SMTP_CAP_ENHANCEDSTATUSCODES;
	else if (smtp_kw_is(l, kn, "CHUNKING"))
		caps->flags |= SMTP_CAP_CHUNKING;
	else if (smtp_kw_is(l, kn, "AUTH"))
		smtp_ehlo_auth(a, an, caps);
}

void
smtp_ehlo_parse(const struct smtp_reply *r, struct smtp_caps *caps)
{
	const char *p = r->text.data, *end;
	bool first = true;

	memset(caps, 0, sizeof(*caps));
	if (r->code != 250 || p == NULL)
		return;
	end = p + r->text.len;
	while (p <= end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);

		if (first) {
			size_t dn = 0;

			while (dn < n && p[dn] != ' ' &&
			    dn < sizeof(caps->domain) - 1)
				dn++;
			memcpy(caps->domain, p, dn);
			caps->domain[dn] = '\0';
			first = false;
		} else
			smtp_ehlo_line(p, n, caps);
		if (nl == NULL)
			break;
		p = nl + 1;
	}
}
