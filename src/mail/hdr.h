/*
 * hdr.h - the header section of a message in canonical (CRLF) form:
 * parse it line by line, look fields up, remove, add and rewrite them,
 * and write it back.  Untouched fields are written back byte for byte.
 *
 * A field is stored raw: "Name: value\r\n" including its folded
 * continuation lines ("\r\n" followed by SP or HTAB).  Its value is the
 * bytes after the colon up to, not including, the final CRLF (folds
 * included; address parsers treat CR and LF as white space).
 *
 * Line classification (RFC 5322 section 2.2, 3.6.8 and the obsolete
 * "name WSP :" form of 4.5):
 *   HDR_LINE_FIELD  field-name (printable ASCII except ':') [WSP] ':' ...
 *   HDR_LINE_CONT   starts with SP or HTAB and a field precedes it
 *   HDR_LINE_END    the empty line: end of the header section
 *   HDR_LINE_BODY   anything else: the header section ends before it
 * When the very first line is not a header the whole input is body.
 * hdr_write() always ends the section with an empty line, so a body that
 * was not separated by one (Postfix does the same) stays body.
 */
#ifndef RELAY_HDR_H
#define RELAY_HDR_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

/* Largest header section accepted (sendmail 8 allows 32K, Postfix 100K). */
#define HDR_MAX_SIZE (1024 * 1024)
/* hdr_find result when nothing matches. */
#define HDR_NONE ((size_t)-1)

enum hdr_line {
	HDR_LINE_FIELD = 1,
	HDR_LINE_CONT,
	HDR_LINE_END,
	HDR_LINE_BODY,
};

struct hdr;

/* hdr_new - an empty header section; max_size bounds its raw bytes
 * (0: HDR_MAX_SIZE).  Owned by the caller (hdr_free). */
struct hdr *hdr_new(size_t max_size);
void hdr_free(struct hdr *h);

/* hdr_classify - classify the start of a line: p[0..n) is the line, or
 * only its first bytes when complete is false (then a name that does not
 * reach its colon within p counts as body). */
enum hdr_line hdr_classify(
    const struct hdr *h, const char *p, size_t n, bool complete);

/* hdr_add_piece - store a piece of a FIELD or CONT line (see canon.h for
 * pieces): with bol the piece starts a new field (FIELD) or continues the
 * last one (CONT); without it, it extends the current line.  With eol the
 * line is closed with CRLF.  Errors: ERR_PERM, smtp_code 552, when the
 * section would exceed its maximum; ERR_INTERNAL for a CONT with no
 * field before it. */
int hdr_add_piece(struct hdr *h, enum hdr_line kind, const char *p, size_t n,
    bool bol, bool eol, struct err *err);

/* hdr_parse - parse the canonical message m[0..n) (CRLF lines): fill h
 * with its header section.  OUT: *body_off is the offset in m of the
 * first body byte (after the empty line, at the first non-header line,
 * or n).  Errors as hdr_add_piece. */
int hdr_parse(
    struct hdr *h, const char *m, size_t n, size_t *body_off, struct err *err);

/* hdr_count - number of fields. */
size_t hdr_count(const struct hdr *h);

/* hdr_size - raw bytes of all fields (without the separator line). */
size_t hdr_size(const struct hdr *h);

/* hdr_name - the name of field i (not NUL-terminated: OUT *len). */
const char *hdr_name(const struct hdr *h, size_t i, size_t *len);

/* hdr_value - the value of field i (borrowed until h changes). */
const char *hdr_value(const struct hdr *h, size_t i, size_t *len);

/* hdr_is - is field i named name (ASCII case-insensitive)? */
bool hdr_is(const struct hdr *h, size_t i, const char *name);

/* hdr_find - the first field named name at index >= from, or HDR_NONE. */
size_t hdr_find(const struct hdr *h, const char *name, size_t from);

/* hdr_has - is there a field named name? */
bool hdr_has(const struct hdr *h, const char *name);

/* hdr_has_prefix - is there a field whose name starts with prefix? */
bool hdr_has_prefix(const struct hdr *h, const char *prefix);

/* hdr_count_name - number of fields named name. */
size_t hdr_count_name(const struct hdr *h, const char *name);

/* hdr_remove - remove every field named name; returns how many. */
size_t hdr_remove(struct hdr *h, const char *name);

/* hdr_add - append the field "name: value\r\n" (value must not contain
 * CR or LF).  Errors: ERR_PERM (552) past the maximum size. */
int hdr_add(
    struct hdr *h, const char *name, const char *value, struct err *err);

/* hdr_set_value - replace the value of field i with v[0..n) (the bytes
 * after the colon, folds allowed, no final CRLF).  The name and colon
 * are kept.  Errors as hdr_add. */
int hdr_set_value(
    struct hdr *h, size_t i, const char *v, size_t n, struct err *err);

/* hdr_write - append every field and then the empty separator line to
 * out.  Errors: ERR_TEMP when out is full. */
int hdr_write(const struct hdr *h, struct buf *out, struct err *err);

#endif
