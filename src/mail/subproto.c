/*
 * subproto.c - writer and push parser of the submission stream (format in
 * subproto.h).
 *
 * The reader owns the envelope it has parsed and a small line buffer; body
 * bytes are passed straight to the caller's callback, never accumulated, so
 * memory stays flat whatever the message size.
 *
 * Security: the stream comes from an untrusted local user (socket) or from
 * a file in a directory any local user may write (maildrop).  Every line is
 * bounded, every value checked, chunk lengths are parsed with range checks
 * and the total is bounded by max_size.  Anything odd is SUBPROTO_ERROR.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "mail/subproto.h"

struct subproto_reader {
	enum subproto_state state;
	struct buf line; /* envelope line or chunk header in progress */
	struct subproto_env env;
	bool seen_magic, seen_from;
	size_t chunk_left; /* body bytes still due in the current chunk */
	bool in_chunk;
	uint64_t size, max_size;
	subproto_body_cb cb;
	void *arg;
};

void
subproto_env_free(struct subproto_env *e)
{
	size_t i;

	xfree(e->sender);
	for (i = 0; i < e->nrcpts; i++)
		xfree(e->rcpts[i]);
	xfree(e->rcpts);
	xfree(e->ret);
	xfree(e->envid);
	xfree(e->body_type);
	xfree(e->notify);
	memset(e, 0, sizeof(*e));
}

bool
subproto_valid_value(const char *s, bool utf8)
{
	size_t n = 0;

	for (; *s != '\0'; s++, n++) {
		unsigned char c = (unsigned char)*s;

		if (c >= 0x80 && utf8)
			continue;
		if (c <= 0x20 || c >= 0x7f)
			return false;
	}
	return n < SUBPROTO_MAX_LINE - 16;
}

static int
subproto_put(struct buf *out, const char *key, const char *val, bool utf8,
    struct err *err)
{
	if (val == NULL)
		return 0;
	if (*val != '\0' && !subproto_valid_value(val, utf8))
		return err_set(err, ERR_PERM,
		    "%s value has characters not allowed in an address", key);
	if (buf_appendf(out, "%s %s\n", key, val) == -1)
		return err_set(err, ERR_TEMP, "envelope too large");
	return 0;
}

int
subproto_write_env(
    struct buf *out, const struct subproto_env *e, struct err *err)
{
	bool u = e->smtputf8;
	size_t i;

	if (e->nrcpts == 0 || e->nrcpts > SUBPROTO_MAX_RCPTS)
		return err_set(err, ERR_PERM,
		    "%zu recipients (1 to %d allowed)", e->nrcpts,
		    SUBPROTO_MAX_RCPTS);
	if (buf_puts(out, SUBPROTO_MAGIC "\n") == -1 ||
	    subproto_put(out, "FROM", e->sender ? e->sender : "", u, err) == -1)
		return -1;
	for (i = 0; i < e->nrcpts; i++) {
		if (*e->rcpts[i] == '\0')
			return err_set(err, ERR_PERM, "empty recipient");
		if (subproto_put(out, "RCPT", e->rcpts[i], u, err) == -1)
			return -1;
	}
	if (subproto_put(out, "RET", e->ret, false, err) == -1 ||
	    subproto_put(out, "ENVID", e->envid, false, err) == -1 ||
	    subproto_put(out, "BODY", e->body_type, false, err) == -1 ||
	    subproto_put(out, "NOTIFY", e->notify, false, err) == -1)
		return -1;
	if (u && buf_puts(out, "SMTPUTF8\n") == -1)
		return err_set(err, ERR_TEMP, "envelope too large");
	if (buf_puts(out, "DATA\n") == -1)
		return err_set(err, ERR_TEMP, "envelope too large");
	return 0;
}

int
subproto_write_chunk(struct buf *out, const char *p, size_t n, struct err *err)
{
	if (n > SUBPROTO_MAX_CHUNK)
		return err_set(err, ERR_INTERNAL, "chunk too large");
	if (buf_appendf(out, "%zu\n", n) == -1 || buf_append(out, p, n) == -1)
		return err_set(err, ERR_TEMP, "output buffer full");
	return 0;
}

struct subproto_reader *
subproto_reader_new(uint64_t max_size, subproto_body_cb cb, void *arg)
{
	struct subproto_reader *r = xcalloc(1, sizeof(*r));

	buf_init(&r->line, SUBPROTO_MAX_LINE);
	r->max_size = max_size;
	r->cb = cb;
	r->arg = arg;
	return r;
}

void
subproto_reader_free(struct subproto_reader *r)
{
	if (r == NULL)
		return;
	buf_free(&r->line);
	subproto_env_free(&r->env);
	xfree(r);
}

const struct subproto_env *
subproto_reader_env(const struct subproto_reader *r)
{
	return &r->env;
}

uint64_t
subproto_body_size(const struct subproto_reader *r)
{
	return r->size;
}

/* subproto_fail - enter the error state. */
static enum subproto_state
subproto_fail(struct subproto_reader *r, struct err *err, const char *what)
{
	if (err != NULL && err->cls == ERR_NONE)
		(void)err_set(err, ERR_PERM, "malformed submission: %s", what);
	r->state = SUBPROTO_ERROR;
	return r->state;
}

static int
subproto_set_once(char **slot, const char *val)
{
	if (*slot != NULL)
		return -1;
	*slot = xstrdup(val);
	return 0;
}

/* subproto_env_line - handle one complete envelope line (no "\n"). */
static int
subproto_env_line(struct subproto_reader *r, const char *l)
{
	struct subproto_env *e = &r->env;
	const char *v = strchr(l, ' ');
	size_t klen = v != NULL ? (size_t)(v - l) : strlen(l);

	if (v != NULL)
		v++;
	if (!r->seen_magic)
		return strcmp(l, SUBPROTO_MAGIC) == 0
		    ? (r->seen_magic = true, 0)
		    : -1;
	if (v != NULL && *v != '\0' && !subproto_valid_value(v, true))
		return -1;
	if (klen == 4 && strncmp(l, "FROM", 4) == 0 && v != NULL) {
		if (r->seen_from)
			return -1;
		r->seen_from = true;
		e->sender = xstrdup(v);
		return 0;
	}
	if (klen == 4 && strncmp(l, "RCPT", 4) == 0 && v != NULL && *v) {
		if (e->nrcpts >= SUBPROTO_MAX_RCPTS)
			return -1;
		e->rcpts =
		    xreallocarray(e->rcpts, e->nrcpts + 1, sizeof(char *));
		e->rcpts[e->nrcpts++] = xstrdup(v);
		return 0;
	}
	if (klen == 3 && strncmp(l, "RET", 3) == 0 && v != NULL &&
	    (strcmp(v, "FULL") == 0 || strcmp(v, "HDRS") == 0))
		return subproto_set_once(&e->ret, v);
	if (klen == 5 && strncmp(l, "ENVID", 5) == 0 && v != NULL && *v)
		return subproto_set_once(&e->envid, v);
	if (klen == 4 && strncmp(l, "BODY", 4) == 0 && v != NULL &&
	    (strcmp(v, "7BIT") == 0 || strcmp(v, "8BITMIME") == 0))
		return subproto_set_once(&e->body_type, v);
	if (klen == 6 && strncmp(l, "NOTIFY", 6) == 0 && v != NULL && *v)
		return subproto_set_once(&e->notify, v);
	if (strcmp(l, "SMTPUTF8") == 0 && !e->smtputf8) {
		e->smtputf8 = true;
		return 0;
	}
	if (strcmp(l, "DATA") == 0 && r->seen_from && e->nrcpts > 0) {
		r->state = SUBPROTO_BODY;
		return 0;
	}
	return -1;
}

/* subproto_chunk_header - parse "<len>" of a chunk header line. */
static int
subproto_chunk_header(struct subproto_reader *r, const char *l)
{
	long long len;

	if (l[0] == '0' && l[1] == '\0') {
		r->state = SUBPROTO_DONE;
		return 0;
	}
	if (l[0] == '0' || str_to_ll(l, 1, SUBPROTO_MAX_CHUNK, &len) == -1)
		return -1;
	r->chunk_left = (size_t)len;
	r->in_chunk = true;
	return 0;
}

/* subproto_body_bytes - pass chunk bytes to the callback. */
static int
subproto_body_bytes(
    struct subproto_reader *r, const char *p, size_t n, struct err *err)
{
	if (r->size + n > r->max_size) {
		(void)err_set(err, ERR_PERM,
		    "message too large (limit %llu bytes)",
		    (unsigned long long)r->max_size);
		if (err != NULL)
			err->smtp_code = 552;
		return -1;
	}
	r->size += n;
	return r->cb != NULL ? r->cb(r->arg, p, n, err) : 0;
}

enum subproto_state
subproto_feed(struct subproto_reader *r, const char *p, size_t n, size_t *used,
    struct err *err)
{
	size_t i = 0;

	while (
	    i < n && r->state != SUBPROTO_DONE && r->state != SUBPROTO_ERROR) {
		const char *nl;
		size_t take;

		if (r->in_chunk) {
			take = n - i < r->chunk_left ? n - i : r->chunk_left;
			if (subproto_body_bytes(r, p + i, take, err) == -1) {
				r->state = SUBPROTO_ERROR;
				break;
			}
			r->chunk_left -= take;
			r->in_chunk = r->chunk_left > 0;
			i += take;
			continue;
		}
		nl = memchr(p + i, '\n', n - i);
		take = nl != NULL ? (size_t)(nl - (p + i)) : n - i;
		if (buf_append(&r->line, p + i, take) == -1 ||
		    memchr(p + i, '\0', take) != NULL) {
			(void)subproto_fail(r, err, "overlong or binary line");
			break;
		}
		i += take;
		if (nl == NULL)
			break;
		i++; /* the newline */
		if ((r->state == SUBPROTO_ENVELOPE
			    ? subproto_env_line(r, r->line.data)
			    : subproto_chunk_header(r, r->line.data)) == -1) {
			(void)subproto_fail(r, err,
			    r->state == SUBPROTO_BODY ? "bad chunk header"
						      : "bad envelope line");
			break;
		}
		buf_reset(&r->line);
	}
	*used = i;
	return r->state;
}
