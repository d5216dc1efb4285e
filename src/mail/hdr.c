/*
 * hdr.c - the header section: classification, storage, edits, output
 * (see hdr.h for the rules).
 *
 * Data: an array of fields, each a buf holding the raw field in CRLF form
 * and the offsets of its name end and value start.  The sum of the raw
 * sizes is bounded by max_size, so a hostile header section cannot grow
 * memory without limit.
 *
 * RFCs: 5322 section 2.2 (field = name ":" body, folding), 3.6 and 4.5
 * (obsolete white space before the colon).
 *
 * Security: input bytes are untrusted; names and values are never used as
 * format strings; fields added by relay are checked to hold no CR or LF,
 * so no value can inject a header line.
 */
#include "config.h"

#include <string.h>
#include <strings.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "mail/hdr.h"

struct hdr_field {
	struct buf raw; /* "Name: value\r\n" with folds */
	size_t name_len; /* raw[0..name_len) is the name */
	size_t value_off; /* just past the colon */
};

struct hdr {
	struct hdr_field *f;
	size_t n;
	size_t size, max_size;
};

struct hdr *
hdr_new(size_t max_size)
{
	struct hdr *h = xcalloc(1, sizeof(*h));

	h->max_size = max_size != 0 ? max_size : HDR_MAX_SIZE;
	return h;
}

void
hdr_free(struct hdr *h)
{
	size_t i;

	if (h == NULL)
		return;
	for (i = 0; i < h->n; i++)
		buf_free(&h->f[i].raw);
	xfree(h->f);
	xfree(h);
}

/* hdr_is_ftext - RFC 5322 ftext: printable ASCII except ':'. */
static bool
hdr_is_ftext(unsigned char c)
{
	return c >= 33 && c <= 126 && c != ':';
}

enum hdr_line
hdr_classify(const struct hdr *h, const char *p, size_t n, bool complete)
{
	size_t i = 0;

	if (n == 0)
		return complete ? HDR_LINE_END : HDR_LINE_BODY;
	if (p[0] == ' ' || p[0] == '\t')
		return h->n > 0 ? HDR_LINE_CONT : HDR_LINE_BODY;
	while (i < n && hdr_is_ftext((unsigned char)p[i]))
		i++;
	if (i == 0)
		return HDR_LINE_BODY;
	while (i < n && (p[i] == ' ' || p[i] == '\t'))
		i++;
	return i < n && p[i] == ':' ? HDR_LINE_FIELD : HDR_LINE_BODY;
}

/* hdr_too_large - the ERR_PERM for an oversized header section. */
static int
hdr_too_large(const struct hdr *h, struct err *err)
{
	(void)err_set(err, ERR_PERM,
	    "message header section too large (limit %zu bytes)", h->max_size);
	if (err != NULL)
		err->smtp_code = 552;
	return -1;
}

/* hdr_room - may n more bytes be stored? */
static bool
hdr_room(const struct hdr *h, size_t n)
{
	return n <= h->max_size && h->size <= h->max_size - n;
}

/* hdr_locate - fill name_len and value_off of a field that was just
 * started (its first bytes hold "name [WSP] :"). */
static void
hdr_locate(struct hdr_field *f)
{
	const char *r = f->raw.data;
	size_t i = 0;

	while (i < f->raw.len && hdr_is_ftext((unsigned char)r[i]))
		i++;
	f->name_len = i;
	while (i < f->raw.len && r[i] != ':')
		i++;
	f->value_off = i < f->raw.len ? i + 1 : i;
}

/* hdr_new_field - append an empty field and return it. */
static struct hdr_field *
hdr_new_field(struct hdr *h)
{
	struct hdr_field *f;

	h->f = xreallocarray(h->f, h->n + 1, sizeof(*h->f));
	f = &h->f[h->n++];
	memset(f, 0, sizeof(*f));
	buf_init(&f->raw, h->max_size + 2);
	return f;
}

int
hdr_add_piece(struct hdr *h, enum hdr_line kind, const char *p, size_t n,
    bool bol, bool eol, struct err *err)
{
	struct hdr_field *f;
	size_t need = n + (eol ? 2 : 0);

	if (!hdr_room(h, need))
		return hdr_too_large(h, err);
	if (kind == HDR_LINE_FIELD && bol) {
		f = hdr_new_field(h);
	} else {
		if (h->n == 0)
			return err_set(err, ERR_INTERNAL,
			    "header continuation without a field");
		f = &h->f[h->n - 1];
	}
	if (buf_append(&f->raw, p, n) == -1 ||
	    (eol && buf_append(&f->raw, "\r\n", 2) == -1))
		return hdr_too_large(h, err);
	h->size += need;
	if (kind == HDR_LINE_FIELD && bol)
		hdr_locate(f);
	return 0;
}

int
hdr_parse(
    struct hdr *h, const char *m, size_t n, size_t *body_off, struct err *err)
{
	size_t i = 0;

	while (i < n) {
		const char *nl = memchr(m + i, '\n', n - i);
		size_t end = nl != NULL ? (size_t)(nl - m) : n;
		size_t len = end - i;
		enum hdr_line k;

		if (len > 0 && m[end - 1] == '\r')
			len--;
		k = hdr_classify(h, m + i, len, true);
		if (k == HDR_LINE_END) {
			i = nl != NULL ? end + 1 : n;
			break;
		}
		if (k == HDR_LINE_BODY)
			break;
		if (hdr_add_piece(h, k, m + i, len, true, true, err) == -1)
			return -1;
		i = nl != NULL ? end + 1 : n;
	}
	*body_off = i;
	return 0;
}

size_t
hdr_count(const struct hdr *h)
{
	return h->n;
}

size_t
hdr_size(const struct hdr *h)
{
	return h->size;
}

const char *
hdr_name(const struct hdr *h, size_t i, size_t *len)
{
	*len = h->f[i].name_len;
	return h->f[i].raw.data;
}

const char *
hdr_value(const struct hdr *h, size_t i, size_t *len)
{
	const struct hdr_field *f = &h->f[i];
	size_t end = f->raw.len;

	if (end >= f->value_off + 2 && f->raw.data[end - 1] == '\n' &&
	    f->raw.data[end - 2] == '\r')
		end -= 2;
	*len = end - f->value_off;
	return f->raw.data + f->value_off;
}

bool
hdr_is(const struct hdr *h, size_t i, const char *name)
{
	size_t len = strlen(name);

	return h->f[i].name_len == len &&
	    strncasecmp(h->f[i].raw.data, name, len) == 0;
}

size_t
hdr_find(const struct hdr *h, const char *name, size_t from)
{
	size_t i;

	for (i = from; i < h->n; i++) {
		if (hdr_is(h, i, name))
			return i;
	}
	return HDR_NONE;
}

bool
hdr_has(const struct hdr *h, const char *name)
{
	return hdr_find(h, name, 0) != HDR_NONE;
}

bool
hdr_has_prefix(const struct hdr *h, const char *prefix)
{
	size_t i, len = strlen(prefix);

	for (i = 0; i < h->n; i++) {
		if (h->f[i].name_len >= len &&
		    strncasecmp(h->f[i].raw.data, prefix, len) == 0)
			return true;
	}
	return false;
}

size_t
hdr_count_name(const struct hdr *h, const char *name)
{
	size_t i, count = 0;

	for (i = 0; i < h->n; i++) {
		if (hdr_is(h, i, name))
			count++;
	}
	return count;
}

size_t
hdr_remove(struct hdr *h, const char *name)
{
	size_t i, kept = 0, removed = 0;

	for (i = 0; i < h->n; i++) {
		if (hdr_is(h, i, name)) {
			h->size -= h->f[i].raw.len;
			buf_free(&h->f[i].raw);
			removed++;
			continue;
		}
		h->f[kept++] = h->f[i];
	}
	h->n = kept;
	return removed;
}

int
hdr_add(struct hdr *h, const char *name, const char *value, struct err *err)
{
	size_t nlen = strlen(name), vlen = strlen(value);
	struct hdr_field *f;

	if (strpbrk(value, "\r\n") != NULL || strpbrk(name, "\r\n: \t") != NULL)
		return err_set(err, ERR_INTERNAL,
		    "header %s: line break in a generated field", name);
	if (!hdr_room(h, nlen + vlen + 4))
		return hdr_too_large(h, err);
	f = hdr_new_field(h);
	if (buf_append(&f->raw, name, nlen) == -1 ||
	    buf_append(&f->raw, ": ", 2) == -1 ||
	    buf_append(&f->raw, value, vlen) == -1 ||
	    buf_append(&f->raw, "\r\n", 2) == -1)
		return hdr_too_large(h, err);
	h->size += f->raw.len;
	hdr_locate(f);
	return 0;
}

int
hdr_set_value(struct hdr *h, size_t i, const char *v, size_t n, struct err *err)
{
	struct hdr_field *f = &h->f[i];
	size_t old = f->raw.len, keep = f->value_off;
	size_t newlen = keep + n + 2;

	if (n > h->max_size || newlen > h->max_size ||
	    h->size - old > h->max_size - newlen)
		return hdr_too_large(h, err);
	buf_truncate(&f->raw, keep);
	if (buf_append(&f->raw, v, n) == -1 ||
	    buf_append(&f->raw, "\r\n", 2) == -1)
		return hdr_too_large(h, err);
	h->size = h->size - old + f->raw.len;
	return 0;
}

int
hdr_write(const struct hdr *h, struct buf *out, struct err *err)
{
	size_t i;

	for (i = 0; i < h->n; i++) {
		if (buf_append(out, h->f[i].raw.data, h->f[i].raw.len) == -1)
			return err_set(err, ERR_TEMP, "header output full");
	}
	if (buf_append(out, "\r\n", 2) == -1)
		return err_set(err, ERR_TEMP, "header output full");
	return 0;
}
