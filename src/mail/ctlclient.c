/*
 * ctlclient.c - client side of relayd's control protocol (format and status
 * codes in ctlclient.h): connect to the unix socket, send one request line,
 * read JSON Lines and the status line, decode message objects.
 *
 * Owns nothing between calls.  Memory: one response line at a time, at most
 * CTLCLIENT_MAX_REPLY bytes, so a long queue listing streams through.
 *
 * Security: relayd is trusted to speak the protocol, but its objects carry
 * text from mail and from servers (addresses, replies); callers escape
 * what they print (str_escape).  The JSON reader bounds nesting and never
 * reads past the line it was given.
 */
#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/str.h"
#include "base/sysops.h"
#include "base/xalloc.h"
#include "mail/ctlclient.h"

/* How long a client waits for relayd's next bytes. */
#define CTLCLIENT_TIMEOUT 300
#define CTLCLIENT_MAX_DEPTH 16

struct ctlclient_json {
	enum ctlclient_json_type type;
	bool b;
	long long n;
	char *s; /* STRING */
	size_t slen;
	struct ctlclient_json *kids; /* ARRAY / OBJECT */
	char **keys; /* OBJECT */
	size_t nkids, cap; /* cap: room in kids (and keys) */
};

struct ctlclient_parser {
	const char *p, *end;
	struct err *err;
};

static int ctlclient_json_value(
    struct ctlclient_parser *ps, struct ctlclient_json *out, int depth);
static void ctlclient_json_clear(struct ctlclient_json *j);

int
ctlclient_connect(const struct conf *c, struct err *err)
{
	struct sockaddr_un sun;
	struct timeval tv = { CTLCLIENT_TIMEOUT, 0 };
	int fd;

	memset(&sun, 0, sizeof(sun));
	sun.sun_family = AF_UNIX;
	if (str_copy(sun.sun_path, sizeof(sun.sun_path), c->socket) == -1)
		return err_set(
		    err, ERR_CONFIG, "socket path too long: %s", c->socket);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return err_sys(err, ERR_TEMP, "socket");
	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == -1 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == -1) {
		(void)err_sys(err, ERR_TEMP, "setsockopt");
		goto out_close;
	}
	if (sys_connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
		return fd;
	if (errno == ENOENT || errno == ECONNREFUSED || errno == ENOTDIR)
		(void)err_sys(err, ERR_TEMP,
		    "mail system is down: relayd is not running (%s)",
		    c->socket);
	else
		(void)err_sys(
		    err, ERR_TEMP, "cannot connect to relayd at %s", c->socket);
out_close:
	(void)close(fd);
	return -1;
}

/* ctlclient_status_line - parse "NNN text" into st. */
static int
ctlclient_status_line(
    const char *l, size_t n, struct ctlclient_status *st, struct err *err)
{
	size_t i;

	if (n < 3 || n > 1000)
		return err_set(err, ERR_INTERNAL, "relayd: malformed reply");
	for (i = 0; i < 3; i++)
		if (l[i] < '0' || l[i] > '9')
			return err_set(
			    err, ERR_INTERNAL, "relayd: malformed reply line");
	if (n > 3 && l[3] != ' ')
		return err_set(err, ERR_INTERNAL, "relayd: malformed reply");
	st->code = (l[0] - '0') * 100 + (l[1] - '0') * 10 + (l[2] - '0');
	st->text[0] = '\0';
	if (n > 4) {
		size_t len = n - 4;

		if (len >= sizeof(st->text))
			len = sizeof(st->text) - 1;
		memcpy(st->text, l + 4, len);
		st->text[len] = '\0';
	}
	return 0;
}

/* ctlclient_lines - hand complete lines of in to cb; *done at status. */
static int
ctlclient_lines(struct buf *in, ctlclient_line_cb cb, void *arg,
    struct ctlclient_status *st, bool *done, struct err *err)
{
	size_t off = 0;
	char *nl;
	int rc = 0;

	while (!*done && rc == 0 &&
	    (nl = memchr(in->data + off, '\n', in->len - off)) != NULL) {
		char *line = in->data + off;
		size_t n = (size_t)(nl - line);

		*nl = '\0';
		if (n > 0 && line[0] == '{') {
			if (cb != NULL && cb(arg, line, n, err) == -1)
				rc = -1;
		} else if (ctlclient_status_line(line, n, st, err) == -1) {
			rc = -1;
		} else {
			*done = true;
		}
		off += n + 1;
	}
	buf_consume(in, off); /* once per read, not once per line */
	return rc;
}

int
ctlclient_read_response(int fd, ctlclient_line_cb cb, void *arg,
    struct ctlclient_status *st, struct err *err)
{
	struct buf in;
	char chunk[16384];
	bool done = false;
	int rc = -1;

	buf_init(&in, CTLCLIENT_MAX_REPLY);
	while (!done) {
		ssize_t r = fs_read_some(fd, chunk, sizeof(chunk));

		if (r == -1) {
			(void)err_sys(err, ERR_TEMP, "reading from relayd");
			goto out_free;
		}
		if (r == 0) {
			(void)err_set(err, ERR_TEMP,
			    "relayd closed the connection without an answer");
			goto out_free;
		}
		if (buf_append(&in, chunk, (size_t)r) == -1) {
			(void)err_set(
			    err, ERR_INTERNAL, "relayd: reply line too long");
			goto out_free;
		}
		if (ctlclient_lines(&in, cb, arg, st, &done, err) == -1)
			goto out_free;
	}
	rc = 0;
out_free:
	buf_free(&in);
	return rc;
}

int
ctlclient_request(int fd, const char *request, struct err *err)
{
	struct buf req;
	int rc = 0;

	buf_init(&req, CTLCLIENT_MAX_LINE);
	if (strchr(request, '\n') != NULL ||
	    buf_appendf(&req, "%s %s\n", CTLCLIENT_MAGIC, request) == -1)
		rc = err_set(err, ERR_INTERNAL, "control request too long");
	else if (fs_write_all(fd, req.data, req.len, err) == -1)
		rc = err_sys(err, ERR_TEMP, "sending to relayd");
	buf_free(&req);
	return rc;
}

int
ctlclient_call(const struct conf *c, const char *request, ctlclient_line_cb cb,
    void *arg, struct ctlclient_status *st, struct err *err)
{
	int fd, rc = -1;

	fd = ctlclient_connect(c, err);
	if (fd == -1)
		return -1;
	if (ctlclient_request(fd, request, err) == 0)
		rc = ctlclient_read_response(fd, cb, arg, st, err);
	(void)close(fd);
	return rc;
}

int
ctlclient_flush(const struct conf *c, struct err *err)
{
	struct ctlclient_status st;

	if (ctlclient_call(c, "flush", NULL, NULL, &st, err) == -1)
		return -1;
	if (st.code / 100 != 2)
		return err_set(err, st.code / 100 == 4 ? ERR_TEMP : ERR_PERM,
		    "relayd: %s", st.text);
	return 0;
}

struct ctlclient_who {
	char *login, *gecos;
};

static int
ctlclient_who_line(void *arg, const char *line, size_t n, struct err *err)
{
	struct ctlclient_who *w = arg;
	struct ctlclient_json *j;
	const char *login, *gecos;

	j = ctlclient_json_parse(line, n, err);
	if (j == NULL)
		return -1;
	login = ctlclient_json_str(ctlclient_json_get(j, "login"));
	gecos = ctlclient_json_str(ctlclient_json_get(j, "gecos"));
	if (login == NULL || *login == '\0' || w->login != NULL) {
		ctlclient_json_free(j);
		return err_set(err, ERR_INTERNAL, "relayd: malformed whoami");
	}
	w->login = xstrdup(login);
	w->gecos = gecos != NULL ? xstrdup(gecos) : NULL;
	ctlclient_json_free(j);
	return 0;
}

int
ctlclient_whoami(
    const struct conf *c, char **login, char **gecos, struct err *err)
{
	struct ctlclient_who w = { NULL, NULL };
	struct ctlclient_status st;

	*login = *gecos = NULL;
	if (ctlclient_call(c, "whoami", ctlclient_who_line, &w, &st, err) == -1)
		goto out_fail;
	if (st.code != CTLCLIENT_OK) {
		(void)err_set(err, ERR_CONFIG, "relayd: %s", st.text);
		goto out_fail;
	}
	if (w.login == NULL) {
		(void)err_set(
		    err, ERR_INTERNAL, "relayd: whoami without login");
		goto out_fail;
	}
	*login = w.login;
	*gecos = w.gecos;
	return 0;
out_fail:
	xfree(w.login);
	xfree(w.gecos);
	return -1;
}

int
ctlclient_exit_code(int code)
{
	switch (code / 100) {
	case 2:
		return 0;
	case 4:
		return 1;
	default:
		break;
	}
	return code == CTLCLIENT_DENIED ? 77 : 2;
}

/* --- JSON --------------------------------------------------------------- */

static void
ctlclient_ws(struct ctlclient_parser *ps)
{
	while (ps->p < ps->end &&
	    (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\r' ||
		*ps->p == '\n'))
		ps->p++;
}

static int
ctlclient_bad(struct ctlclient_parser *ps, const char *what)
{
	return err_set(
	    ps->err, ERR_INTERNAL, "relayd: malformed JSON: %s", what);
}

static int
ctlclient_hex4(const char *p, unsigned *out)
{
	unsigned v = 0;
	int i;

	for (i = 0; i < 4; i++) {
		char ch = p[i];

		v <<= 4;
		if (ch >= '0' && ch <= '9')
			v |= (unsigned)(ch - '0');
		else if (ch >= 'a' && ch <= 'f')
			v |= (unsigned)(ch - 'a' + 10);
		else if (ch >= 'A' && ch <= 'F')
			v |= (unsigned)(ch - 'A' + 10);
		else
			return -1;
	}
	*out = v;
	return 0;
}

/* ctlclient_put_code - append code point cp: bytes below 0x100 as one
 * byte (str_json's \u00XX), the rest as UTF-8. */
static int
ctlclient_put_code(struct buf *b, unsigned cp)
{
	if (cp < 0x100)
		return buf_putc(b, (char)cp);
	if (cp < 0x800)
		return buf_putc(b, (char)(0xc0 | (cp >> 6))) == -1
		    ? -1
		    : buf_putc(b, (char)(0x80 | (cp & 0x3f)));
	if (buf_putc(b, (char)(0xe0 | (cp >> 12))) == -1 ||
	    buf_putc(b, (char)(0x80 | ((cp >> 6) & 0x3f))) == -1)
		return -1;
	return buf_putc(b, (char)(0x80 | (cp & 0x3f)));
}

static int
ctlclient_escape(struct ctlclient_parser *ps, struct buf *b)
{
	static const char from[] = "\"\\/bfnrt";
	static const char to[] = "\"\\/\b\f\n\r\t";
	const char *k;
	unsigned cp;

	if (ps->p >= ps->end)
		return ctlclient_bad(ps, "escape at end");
	if (*ps->p == 'u') {
		if (ps->end - ps->p < 5 || ctlclient_hex4(ps->p + 1, &cp) == -1)
			return ctlclient_bad(ps, "bad \\u escape");
		ps->p += 5;
		return ctlclient_put_code(b, cp);
	}
	k = strchr(from, *ps->p);
	if (k == NULL || *ps->p == '\0')
		return ctlclient_bad(ps, "bad escape");
	ps->p++;
	return buf_putc(b, to[k - from]);
}

static int
ctlclient_string(struct ctlclient_parser *ps, char **out, size_t *outlen)
{
	const char *q;
	struct buf b;

	ps->p++; /* the opening quote */
	/* Most strings hold no escape: one copy, no buffer. */
	for (q = ps->p; q < ps->end && *q != '"' && *q != '\\' &&
	     (unsigned char)*q >= 0x20;
	     q++)
		;
	if (q < ps->end && *q == '"') {
		*outlen = (size_t)(q - ps->p);
		*out = xstrndup(ps->p, *outlen);
		ps->p = q + 1;
		return 0;
	}
	buf_init(&b, CTLCLIENT_MAX_REPLY);
	while (ps->p < ps->end && *ps->p != '"') {
		unsigned char ch = (unsigned char)*ps->p;
		int rc;

		if (ch < 0x20) {
			buf_free(&b);
			return ctlclient_bad(ps, "control character in string");
		}
		ps->p++;
		rc = ch == '\\' ? ctlclient_escape(ps, &b)
				: buf_putc(&b, (char)ch);
		if (rc == -1) {
			buf_free(&b);
			return ctlclient_bad(ps, "bad string");
		}
	}
	if (ps->p >= ps->end) {
		buf_free(&b);
		return ctlclient_bad(ps, "unterminated string");
	}
	ps->p++;
	*outlen = b.len;
	*out = buf_steal(&b);
	buf_free(&b);
	return 0;
}

static int
ctlclient_number(struct ctlclient_parser *ps, struct ctlclient_json *out)
{
	char tmp[32];
	const char *s = ps->p;
	long long v;
	size_t n;

	if (ps->p < ps->end && *ps->p == '-')
		ps->p++;
	while (ps->p < ps->end && *ps->p >= '0' && *ps->p <= '9')
		ps->p++;
	n = (size_t)(ps->p - s);
	if (n == 0 || n >= sizeof(tmp))
		return ctlclient_bad(ps, "bad number");
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (str_to_ll(tmp, -0x7fffffffffffffffLL, 0x7fffffffffffffffLL, &v) ==
	    -1)
		return ctlclient_bad(ps, "bad number");
	out->type = CTLCLIENT_JSON_INT;
	out->n = v;
	return 0;
}

static int
ctlclient_word(struct ctlclient_parser *ps, struct ctlclient_json *out)
{
	static const struct {
		const char *w;
		enum ctlclient_json_type t;
		bool b;
	} words[] = { { "null", CTLCLIENT_JSON_NULL, false },
		{ "true", CTLCLIENT_JSON_BOOL, true },
		{ "false", CTLCLIENT_JSON_BOOL, false } };
	size_t i;

	for (i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		size_t n = strlen(words[i].w);

		if ((size_t)(ps->end - ps->p) >= n &&
		    memcmp(ps->p, words[i].w, n) == 0) {
			ps->p += n;
			out->type = words[i].t;
			out->b = words[i].b;
			return 0;
		}
	}
	return ctlclient_bad(ps, "unexpected character");
}

/* ctlclient_members - the elements of an array or object after '['/'{'. */
static int
ctlclient_members(
    struct ctlclient_parser *ps, struct ctlclient_json *out, int depth)
{
	bool obj = out->type == CTLCLIENT_JSON_OBJECT;
	char close = obj ? '}' : ']';

	ps->p++;
	ctlclient_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		struct ctlclient_json *kid;
		size_t klen;

		if (out->nkids == out->cap) {
			/* Doubling: a message object has about 20 members,
			 * and mailq decodes one per queued message. */
			out->cap = out->cap == 0 ? 8 : out->cap * 2;
			out->kids = xreallocarray(
			    out->kids, out->cap, sizeof(*out->kids));
			if (obj)
				out->keys = xreallocarray(
				    out->keys, out->cap, sizeof(char *));
		}
		kid = &out->kids[out->nkids];
		memset(kid, 0, sizeof(*kid));
		if (obj)
			out->keys[out->nkids] = NULL;
		out->nkids++;
		ctlclient_ws(ps);
		if (obj) {
			if (ps->p >= ps->end || *ps->p != '"' ||
			    ctlclient_string(
				ps, &out->keys[out->nkids - 1], &klen) == -1)
				return ctlclient_bad(ps, "bad key");
			ctlclient_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return ctlclient_bad(ps, "missing ':'");
			ps->p++;
		}
		if (ctlclient_json_value(ps, kid, depth + 1) == -1)
			return -1;
		ctlclient_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 0;
		}
		return ctlclient_bad(ps, "missing ',' or end");
	}
}

static int
ctlclient_json_value(
    struct ctlclient_parser *ps, struct ctlclient_json *out, int depth)
{
	if (depth > CTLCLIENT_MAX_DEPTH)
		return ctlclient_bad(ps, "nested too deep");
	ctlclient_ws(ps);
	if (ps->p >= ps->end)
		return ctlclient_bad(ps, "value missing");
	switch (*ps->p) {
	case '{':
		out->type = CTLCLIENT_JSON_OBJECT;
		return ctlclient_members(ps, out, depth);
	case '[':
		out->type = CTLCLIENT_JSON_ARRAY;
		return ctlclient_members(ps, out, depth);
	case '"':
		out->type = CTLCLIENT_JSON_STRING;
		return ctlclient_string(ps, &out->s, &out->slen);
	default:
		break;
	}
	if (*ps->p == '-' || (*ps->p >= '0' && *ps->p <= '9'))
		return ctlclient_number(ps, out);
	return ctlclient_word(ps, out);
}

struct ctlclient_json *
ctlclient_json_parse(const char *p, size_t n, struct err *err)
{
	struct ctlclient_parser ps = { p, p + n, err };
	struct ctlclient_json *j = xcalloc(1, sizeof(*j));

	if (ctlclient_json_value(&ps, j, 0) == -1)
		goto out_fail;
	ctlclient_ws(&ps);
	if (ps.p != ps.end) {
		(void)ctlclient_bad(&ps, "trailing bytes");
		goto out_fail;
	}
	return j;
out_fail:
	ctlclient_json_free(j);
	return NULL;
}

static void
ctlclient_json_clear(struct ctlclient_json *j)
{
	size_t i;

	for (i = 0; i < j->nkids; i++) {
		ctlclient_json_clear(&j->kids[i]);
		if (j->keys != NULL)
			xfree(j->keys[i]);
	}
	xfree(j->kids);
	xfree(j->keys);
	xfree(j->s);
}

void
ctlclient_json_free(struct ctlclient_json *j)
{
	if (j == NULL)
		return;
	ctlclient_json_clear(j);
	xfree(j);
}

enum ctlclient_json_type
ctlclient_json_type(const struct ctlclient_json *j)
{
	return j != NULL ? j->type : CTLCLIENT_JSON_NULL;
}

const struct ctlclient_json *
ctlclient_json_get(const struct ctlclient_json *obj, const char *key)
{
	size_t i;

	if (obj == NULL || obj->type != CTLCLIENT_JSON_OBJECT)
		return NULL;
	for (i = 0; i < obj->nkids; i++)
		if (obj->keys[i] != NULL && strcmp(obj->keys[i], key) == 0)
			return &obj->kids[i];
	return NULL;
}

const char *
ctlclient_json_str(const struct ctlclient_json *j)
{
	return j != NULL && j->type == CTLCLIENT_JSON_STRING ? j->s : NULL;
}

long long
ctlclient_json_int(const struct ctlclient_json *j, long long dflt)
{
	return j != NULL && j->type == CTLCLIENT_JSON_INT ? j->n : dflt;
}

bool
ctlclient_json_bool(const struct ctlclient_json *j)
{
	return j != NULL && j->type == CTLCLIENT_JSON_BOOL && j->b;
}

size_t
ctlclient_json_len(const struct ctlclient_json *j)
{
	return j != NULL &&
		(j->type == CTLCLIENT_JSON_ARRAY ||
		    j->type == CTLCLIENT_JSON_OBJECT)
	    ? j->nkids
	    : 0;
}

const struct ctlclient_json *
ctlclient_json_at(const struct ctlclient_json *arr, size_t i)
{
	return i < ctlclient_json_len(arr) ? &arr->kids[i] : NULL;
}

/* --- messages ------------------------------------------------------------ */

/* ctlclient_dup - a copy of a string member, NULL when absent or null. */
static char *
ctlclient_dup(const struct ctlclient_json *obj, const char *key)
{
	const char *s = ctlclient_json_str(ctlclient_json_get(obj, key));

	return s != NULL ? xstrdup(s) : NULL;
}

static void
ctlclient_rcpts(const struct ctlclient_json *arr, struct ctlclient_msg *m)
{
	size_t i, n = ctlclient_json_len(arr);

	m->rcpts = xcalloc(n + 1, sizeof(*m->rcpts));
	for (i = 0; i < n; i++) {
		const struct ctlclient_json *o = ctlclient_json_at(arr, i);
		struct ctlclient_rcpt *r = &m->rcpts[m->nrcpts];

		r->address = ctlclient_dup(o, "address");
		if (r->address == NULL)
			continue;
		m->nrcpts++;
		r->state = ctlclient_dup(o, "state");
		r->attempts =
		    ctlclient_json_int(ctlclient_json_get(o, "attempts"), 0);
		r->next_attempt = (time_t)ctlclient_json_int(
		    ctlclient_json_get(o, "next_attempt"), 0);
		r->last_reply = ctlclient_dup(o, "last_reply");
		r->reason = ctlclient_dup(o, "reason");
	}
}

static void
ctlclient_hist(const struct ctlclient_json *arr, struct ctlclient_msg *m)
{
	size_t i, n = ctlclient_json_len(arr);

	m->hist = xcalloc(n + 1, sizeof(*m->hist));
	for (i = 0; i < n; i++) {
		const struct ctlclient_json *o = ctlclient_json_at(arr, i);
		struct ctlclient_attempt *a = &m->hist[i];

		a->at =
		    (time_t)ctlclient_json_int(ctlclient_json_get(o, "at"), 0);
		a->recipient = ctlclient_dup(o, "recipient");
		a->reason = ctlclient_dup(o, "reason");
		a->reply = ctlclient_dup(o, "reply");
		a->relay = ctlclient_dup(o, "relay");
	}
	m->nhist = n;
}

int
ctlclient_msg_parse(
    const char *line, size_t n, struct ctlclient_msg *m, struct err *err)
{
	struct ctlclient_json *j;

	memset(m, 0, sizeof(*m));
	j = ctlclient_json_parse(line, n, err);
	if (j == NULL)
		return -1;
	m->id = ctlclient_dup(j, "id");
	m->sender = ctlclient_dup(j, "sender");
	m->state = ctlclient_dup(j, "state");
	if (m->id == NULL || m->sender == NULL || m->state == NULL) {
		ctlclient_json_free(j);
		ctlclient_msg_free(m);
		return err_set(err, ERR_INTERNAL,
		    "relayd: message object without id, sender or state");
	}
	m->created =
	    (time_t)ctlclient_json_int(ctlclient_json_get(j, "created"), 0);
	m->size =
	    (uint64_t)ctlclient_json_int(ctlclient_json_get(j, "size"), 0);
	m->uid = ctlclient_json_int(ctlclient_json_get(j, "uid"), -1);
	m->attempts = ctlclient_json_int(ctlclient_json_get(j, "attempts"), 0);
	m->next_attempt = (time_t)ctlclient_json_int(
	    ctlclient_json_get(j, "next_attempt"), 0);
	m->reason = ctlclient_dup(j, "reason");
	m->reason_text = ctlclient_dup(j, "reason_text");
	m->ret = ctlclient_dup(j, "ret");
	m->envid = ctlclient_dup(j, "envid");
	m->body_type = ctlclient_dup(j, "body_type");
	m->notify = ctlclient_dup(j, "notify");
	m->smtputf8 = ctlclient_json_bool(ctlclient_json_get(j, "smtputf8"));
	ctlclient_rcpts(ctlclient_json_get(j, "recipients"), m);
	ctlclient_hist(ctlclient_json_get(j, "history"), m);
	ctlclient_json_free(j);
	return 0;
}

void
ctlclient_msg_free(struct ctlclient_msg *m)
{
	size_t i;

	for (i = 0; i < m->nrcpts; i++) {
		xfree(m->rcpts[i].address);
		xfree(m->rcpts[i].state);
		xfree(m->rcpts[i].last_reply);
		xfree(m->rcpts[i].reason);
	}
	for (i = 0; i < m->nhist; i++) {
		xfree(m->hist[i].recipient);
		xfree(m->hist[i].reason);
		xfree(m->hist[i].reply);
		xfree(m->hist[i].relay);
	}
	xfree(m->rcpts);
	xfree(m->hist);
	xfree(m->id);
	xfree(m->sender);
	xfree(m->state);
	xfree(m->reason);
	xfree(m->reason_text);
	xfree(m->ret);
	xfree(m->envid);
	xfree(m->body_type);
	xfree(m->notify);
	memset(m, 0, sizeof(*m));
}
