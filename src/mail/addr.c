/*
 * addr.c - RFC 5322 address-list parsing, qualification and envelope
 * checks (see addr.h).
 *
 * Flow: sendmail parses each argv recipient, the -f value and, with -t,
 * the To/Cc/Bcc fields with addr_foreach(); it qualifies header fields
 * with addr_qualify_field() and checks every envelope address with
 * addr_check_envelope().  relayd may use the same functions for its own
 * submission paths.
 *
 * The parser works in two passes over the input and keeps no token
 * array, so its memory is one address long whatever the field size:
 *   1. addr_unit_scan() finds the next "unit": the bytes up to a ',' or
 *      ';' or group ':' outside angle brackets, and the first '<' in it;
 *   2. the unit is emitted: the content of its angle brackets (source
 *      route dropped) or, without brackets, its words (words separated by
 *      white space alone are separate addresses, as in sendmail 8).
 * Comments, folding white space and NUL bytes separate tokens and are
 * otherwise ignored (no address ever holds a NUL).  Nothing here fails on odd input; addr_check_envelope() is the
 * strict gate.
 *
 * RFCs: 5322 section 3.4 (address-list, group, name-addr, addr-spec, with
 * the obsolete route and CFWS forms of section 4.4), 5321 section 4.1.2
 * (what an envelope address may contain) and 4.5.3.1 (lengths).
 *
 * Security: all input is untrusted bytes: every scan is bounded by n,
 * bytes are cast to unsigned char before classification, and error
 * messages show addresses escaped.
 */
#include "config.h"

#include <string.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "mail/addr.h"

enum addr_tok_type {
	ADDR_T_END = 0,
	ADDR_T_WORD, /* atom */
	ADDR_T_QSTR, /* "quoted string" */
	ADDR_T_DLIT, /* [domain literal] */
	ADDR_T_SPECIAL, /* one of < > , ; : @ . ) ] \ */
};

struct addr_tok {
	enum addr_tok_type type;
	size_t start, end; /* p[start..end) */
	bool ws_before; /* white space or a comment before it */
	char c; /* the character of a special */
};

/* One unit of an address list (see the header comment). */
struct addr_unit {
	size_t start, end; /* p[start..end) without the terminator */
	size_t angle; /* just past the first '<', when has_angle */
	bool has_angle;
	char term; /* ',', ';', ':' or 0 at the end of the input */
};

static bool addr_is_special(unsigned char c);
static bool addr_is_atext(unsigned char c);
static size_t addr_skip_delimited(
    const char *p, size_t n, size_t i, char close, bool nest);
static size_t addr_tok_next(
    const char *p, size_t n, size_t i, struct addr_tok *t);
static size_t addr_unit_scan(
    const char *p, size_t n, size_t i, struct addr_unit *u);
static void addr_spec_add(struct buf *spec, const char *p, struct addr_tok *t);
static int addr_emit_angle(const char *p, const struct addr_unit *u,
    struct buf *spec, addr_found_cb cb, void *arg);
static int addr_emit_words(const char *p, const struct addr_unit *u,
    struct buf *spec, addr_found_cb cb, void *arg);

/* addr_is_special - RFC 5322 specials plus white space and NUL. */
static bool
addr_is_special(unsigned char c)
{
	switch (c) {
	case '(':
	case ')':
	case '<':
	case '>':
	case '[':
	case ']':
	case ':':
	case ';':
	case '@':
	case '\\':
	case ',':
	case '.':
	case '"':
	case ' ':
	case '\t':
	case '\r':
	case '\n':
	case '\0':
		return true;
	default:
		return false;
	}
}

/* addr_is_atext - RFC 5322 atext, plus UTF-8 bytes (RFC 6532). */
static bool
addr_is_atext(unsigned char c)
{
	if (c >= 0x80)
		return true;
	if (c >= 'a' && c <= 'z')
		return true;
	if (c >= 'A' && c <= 'Z')
		return true;
	if (c >= '0' && c <= '9')
		return true;
	return c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL;
}

/* addr_skip_delimited - from the opening character at p[i], return the
 * offset just past the matching close (backslash quotes one byte;
 * comments nest), or n when unterminated. */
static size_t
addr_skip_delimited(const char *p, size_t n, size_t i, char close, bool nest)
{
	char open = p[i];
	int depth = 1;

	for (i++; i < n; i++) {
		if (p[i] == '\\') {
			i++;
			continue;
		}
		if (nest && p[i] == open)
			depth++;
		else if (p[i] == close && --depth == 0)
			return i + 1;
	}
	return n;
}

/* addr_tok_next - the token at or after p[i]; returns the offset after it.
 * Comments and white space are skipped and recorded in ws_before. */
static size_t
addr_tok_next(const char *p, size_t n, size_t i, struct addr_tok *t)
{
	unsigned char c = 0;

	t->ws_before = false;
	while (i < n) {
		c = (unsigned char)p[i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n' ||
		    c == '\0') {
			i++;
		} else if (c == '(') {
			i = addr_skip_delimited(p, n, i, ')', true);
		} else {
			break;
		}
		t->ws_before = true;
	}
	t->start = i;
	t->c = 0;
	if (i >= n) {
		t->type = ADDR_T_END;
	} else if (c == '"') {
		t->type = ADDR_T_QSTR;
		i = addr_skip_delimited(p, n, i, '"', false);
	} else if (c == '[') {
		t->type = ADDR_T_DLIT;
		i = addr_skip_delimited(p, n, i, ']', false);
	} else if (addr_is_special(c)) {
		t->type = ADDR_T_SPECIAL;
		t->c = (char)c;
		i++;
	} else {
		t->type = ADDR_T_WORD;
		while (i < n && !addr_is_special((unsigned char)p[i]))
			i++;
	}
	t->end = i;
	return i;
}

/* addr_unit_scan - find the unit starting at p[i]; returns the offset
 * after its terminator. */
static size_t
addr_unit_scan(const char *p, size_t n, size_t i, struct addr_unit *u)
{
	struct addr_tok t;
	bool in_angle = false;

	memset(u, 0, sizeof(*u));
	u->start = i;
	for (;;) {
		size_t next = addr_tok_next(p, n, i, &t);

		if (t.type == ADDR_T_END) {
			u->end = n;
			return n;
		}
		if (t.type == ADDR_T_SPECIAL && !in_angle &&
		    (t.c == ',' || t.c == ';' || t.c == ':')) {
			u->end = t.start;
			u->term = t.c;
			return next;
		}
		if (t.type == ADDR_T_SPECIAL && t.c == '<' && !in_angle) {
			in_angle = true;
			if (!u->has_angle) {
				u->has_angle = true;
				u->angle = next;
			}
		} else if (t.type == ADDR_T_SPECIAL && t.c == '>') {
			in_angle = false;
		}
		i = next;
	}
}

/* addr_qstr_plain - can the quoted string's content go unquoted? */
static bool
addr_qstr_plain(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || s[0] == '.' || s[n - 1] == '.')
		return false;
	for (i = 0; i < n; i++) {
		if (s[i] == '.' && i + 1 < n && s[i + 1] == '.')
			return false;
		if (s[i] != '.' && !addr_is_atext((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* addr_spec_add_qstr - append a quoted string: unfolded, unquoted when
 * the content is a plain dot-atom, else re-quoted canonically. */
static void
addr_spec_add_qstr(struct buf *spec, const char *s, size_t n)
{
	struct buf content;
	size_t i;

	buf_init(&content, n + 1);
	for (i = 1; i < n; i++) {
		if (s[i] == '\\' && i + 1 < n) {
			if (s[++i] != '\0')
				(void)buf_putc(&content, s[i]);
			continue;
		}
		if (s[i] == '"')
			break; /* the closing quote */
		if (s[i] != '\r' && s[i] != '\n' && s[i] != '\0')
			(void)buf_putc(&content, s[i]);
	}
	if (addr_qstr_plain(content.data, content.len)) {
		(void)buf_append(spec, content.data, content.len);
	} else {
		(void)buf_putc(spec, '"');
		for (i = 0; i < content.len; i++) {
			if (content.data[i] == '"' || content.data[i] == '\\')
				(void)buf_putc(spec, '\\');
			(void)buf_putc(spec, content.data[i]);
		}
		(void)buf_putc(spec, '"');
	}
	buf_free(&content);
}

/* addr_spec_add - append one token's text to the addr-spec being built.
 * spec's maximum is the input length plus room for quoting, so the
 * appends cannot fail. */
static void
addr_spec_add(struct buf *spec, const char *p, struct addr_tok *t)
{
	size_t i;

	if (t->type == ADDR_T_QSTR) {
		addr_spec_add_qstr(spec, p + t->start, t->end - t->start);
		return;
	}
	for (i = t->start; i < t->end; i++) {
		if (p[i] != '\r' && p[i] != '\n' && p[i] != '\0')
			(void)buf_putc(spec, p[i]);
	}
}

/* addr_emit - report the addr-spec in spec (if any) and empty it. */
static int
addr_emit(struct buf *spec, size_t end, addr_found_cb cb, void *arg)
{
	int rc = 0;

	if (spec->len > 0)
		rc = cb(arg, spec->data, spec->len, end);
	buf_reset(spec);
	return rc;
}

/* addr_emit_angle - the address inside the unit's first angle brackets. */
static int
addr_emit_angle(const char *p, const struct addr_unit *u, struct buf *spec,
    addr_found_cb cb, void *arg)
{
	struct addr_tok t;
	size_t i = u->angle;
	size_t last = i;

	for (;;) {
		i = addr_tok_next(p, u->end, i, &t);
		if (t.type == ADDR_T_END ||
		    (t.type == ADDR_T_SPECIAL && t.c == '>'))
			break;
		if (t.type == ADDR_T_SPECIAL && t.c == ':') {
			buf_reset(spec); /* "@a,@b:" source route */
			continue;
		}
		if (t.type == ADDR_T_SPECIAL && (t.c == ',' || t.c == '<'))
			continue;
		addr_spec_add(spec, p, &t);
		last = t.end;
	}
	return addr_emit(spec, last, cb, arg);
}

/* addr_emit_words - the addresses of a unit without angle brackets. */
static int
addr_emit_words(const char *p, const struct addr_unit *u, struct buf *spec,
    addr_found_cb cb, void *arg)
{
	struct addr_tok t;
	size_t i = u->start;
	size_t last = i;
	bool prev_word = false;

	for (;;) {
		bool word;

		i = addr_tok_next(p, u->end, i, &t);
		if (t.type == ADDR_T_END)
			break;
		word = t.type != ADDR_T_SPECIAL;
		if (word && prev_word && t.ws_before &&
		    addr_emit(spec, last, cb, arg) == -1)
			return -1;
		addr_spec_add(spec, p, &t);
		last = t.end;
		prev_word = word;
	}
	return addr_emit(spec, last, cb, arg);
}

int
addr_foreach(const char *p, size_t n, addr_found_cb cb, void *arg)
{
	struct addr_unit u;
	struct buf spec;
	size_t i = 0;
	int rc = 0;

	/* Quoting can add at most two quotes and one backslash per byte. */
	buf_init(&spec, 2 * n + 8);
	while (i < n && rc == 0) {
		size_t next = addr_unit_scan(p, n, i, &u);

		if (u.term != ':')
			rc = u.has_angle
			    ? addr_emit_angle(p, &u, &spec, cb, arg)
			    : addr_emit_words(p, &u, &spec, cb, arg);
		/* ':' starts a group: the unit was its display name. */
		i = next;
	}
	buf_free(&spec);
	return rc;
}

static int
addr_list_cb(void *arg, const char *addr, size_t len, size_t end)
{
	struct addr_list *l = arg;

	(void)end;
	l->v = xreallocarray(l->v, l->n + 1, sizeof(char *));
	l->v[l->n++] = xstrndup(addr, len);
	return 0;
}

size_t
addr_parse_list(const char *p, size_t n, struct addr_list *out)
{
	size_t before = out->n;

	(void)addr_foreach(p, n, addr_list_cb, out);
	return out->n - before;
}

void
addr_parse_sender(const char *s, char **out, bool *several)
{
	struct addr_list l = { 0 };

	(void)addr_parse_list(s, strlen(s), &l);
	*several = l.n > 1;
	*out = xstrdup(l.n > 0 ? l.v[0] : "");
	addr_list_free(&l);
}

void
addr_list_free(struct addr_list *l)
{
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < l->n; i++)
		xfree(l->v[i]);
	xfree(l->v);
	l->v = NULL;
	l->n = 0;
}

bool
addr_list_contains(const struct addr_list *l, const char *a)
{
	size_t i;

	for (i = 0; i < l->n; i++) {
		if (addr_same(l->v[i], a))
			return true;
	}
	return false;
}

bool
addr_list_add_unique(struct addr_list *l, const char *a)
{
	if (addr_list_contains(l, a))
		return false;
	l->v = xreallocarray(l->v, l->n + 1, sizeof(char *));
	l->v[l->n++] = xstrdup(a);
	return true;
}

/* addr_at - offset of the last '@' outside quoted strings, or -1.  With
 * an unbalanced quote (lenient parsing of broken input) quotes are
 * ignored, so that a qualified address always shows its domain. */
static long
addr_at(const char *a)
{
	const char *last = strrchr(a, '@');
	bool quoted = false;
	long at = -1;
	size_t i;

	for (i = 0; a[i] != '\0'; i++) {
		if (quoted && a[i] == '\\' && a[i + 1] != '\0')
			i++;
		else if (a[i] == '"')
			quoted = !quoted;
		else if (!quoted && a[i] == '@')
			at = (long)i;
	}
	if (quoted)
		return last != NULL ? (long)(last - a) : -1;
	return at;
}

bool
addr_has_domain(const char *a)
{
	return addr_at(a) >= 0;
}

const char *
addr_domain(const char *a)
{
	long at = addr_at(a);

	return at >= 0 ? a + at + 1 : NULL;
}

bool
addr_same(const char *a, const char *b)
{
	long ata = addr_at(a), atb = addr_at(b);

	if (ata != atb)
		return false;
	if (ata < 0)
		return strcmp(a, b) == 0;
	if (memcmp(a, b, (size_t)ata) != 0)
		return false;
	return str_eq_ci(a + ata + 1, b + atb + 1);
}

char *
addr_qualify(const char *a, const char *domain)
{
	if (*a == '\0' || addr_has_domain(a))
		return xstrdup(a);
	return xasprintf("%s@%s", a, domain);
}

struct addr_qctx {
	const char *p;
	const char *domain;
	size_t copied; /* p[0..copied) is in out already */
	struct buf *out;
	int count;
	bool full;
};

static int
addr_qualify_cb(void *arg, const char *addr, size_t len, size_t end)
{
	struct addr_qctx *q = arg;

	(void)len;
	if (addr_has_domain(addr))
		return 0;
	if (buf_append(q->out, q->p + q->copied, end - q->copied) == -1 ||
	    buf_putc(q->out, '@') == -1 || buf_puts(q->out, q->domain) == -1) {
		q->full = true;
		return -1;
	}
	q->copied = end;
	q->count++;
	return 0;
}

int
addr_qualify_field(const char *p, size_t n, const char *domain, struct buf *out,
    struct err *err)
{
	struct addr_qctx q;

	memset(&q, 0, sizeof(q));
	q.p = p;
	q.domain = domain;
	q.out = out;
	(void)addr_foreach(p, n, addr_qualify_cb, &q);
	if (q.full || buf_append(out, p + q.copied, n - q.copied) == -1)
		return err_set(err, ERR_PERM,
		    "header field too long after adding the domain");
	return q.count;
}

bool
addr_is_8bit(const char *a)
{
	for (; *a != '\0'; a++) {
		if ((unsigned char)*a >= 0x80)
			return true;
	}
	return false;
}

/* addr_check_local - problem with the local part s[0..n), or NULL. */
static const char *
addr_check_local(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return "the part before '@' is empty";
	if (s[0] == '"') {
		if (n < 2 || s[n - 1] != '"')
			return "the quoted part is not closed";
		return NULL; /* content checked for controls by the caller */
	}
	for (i = 0; i < n; i++) {
		if (s[i] != '.' && !addr_is_atext((unsigned char)s[i]))
			return "the part before '@' has characters that need "
			       "quoting";
	}
	return NULL;
}

/* addr_check_domain - problem with the domain s[0..n), or NULL. */
static const char *
addr_check_domain(const char *s, size_t n)
{
	size_t i;

	if (n == 0)
		return "the domain is empty";
	if (n > ADDR_MAX_DOMAIN)
		return "the domain is too long";
	if (s[0] == '[') {
		if (s[n - 1] != ']' || n < 3 ||
		    memchr(s + 1, '[', n - 2) != NULL ||
		    memchr(s + 1, ']', n - 2) != NULL ||
		    memchr(s, '\\', n) != NULL)
			return "the address literal is malformed";
		return NULL;
	}
	if (s[0] == '.' || s[n - 1] == '.')
		return "the domain starts or ends with a dot";
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '.' && s[i + 1] == '.')
			return "the domain has an empty label";
		if (c >= 0x80 || c == '.' || c == '-' || c == '_' ||
		    (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
		    (c >= 'A' && c <= 'Z'))
			continue;
		return "the domain has characters not allowed in a host name";
	}
	return NULL;
}

/* addr_check_bytes - problem with any byte of a, or NULL. */
static const char *
addr_check_bytes(const char *a)
{
	for (; *a != '\0'; a++) {
		unsigned char c = (unsigned char)*a;

		if (c == ' ' || c == '\t')
			return "it contains white space";
		if (c < 0x20 || c == 0x7f)
			return "it contains control characters";
	}
	return NULL;
}

/* addr_check_why - the problem with envelope address a, or NULL. */
static const char *
addr_check_why(const char *a, size_t len)
{
	const char *why, *dom;

	if (len == 0)
		return "it is empty";
	if (len > ADDR_MAX_LEN)
		return "it is too long";
	if (a[0] == '-')
		return "it starts with '-' (it could be taken for an option)";
	if ((why = addr_check_bytes(a)) != NULL)
		return why;
	if ((dom = addr_domain(a)) == NULL)
		return "it has no domain";
	if ((why = addr_check_local(a, (size_t)(dom - 1 - a))) != NULL)
		return why;
	return addr_check_domain(dom, strlen(dom));
}

int
addr_check_envelope(const char *a, struct err *err)
{
	const char *why;
	struct buf shown;
	size_t len = strlen(a);

	why = addr_check_why(a, len);
	if (why == NULL)
		return 0;
	buf_init(&shown, 400);
	(void)str_escape(&shown, a, len < 80 ? len : 80);
	(void)err_set(err, ERR_PERM, "invalid address '%s%s': %s", shown.data,
	    len > 80 ? "..." : "", why);
	buf_free(&shown);
	if (err != NULL)
		err->smtp_code = 553;
	return -1;
}
