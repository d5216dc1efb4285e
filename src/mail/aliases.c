/*
 * aliases.c - the aliases file and the expansion of local recipients
 * (contract in aliases.h).
 *
 * Flow: relayd expands each recipient of a new message with
 * aliases_expand(); sendmail -bv shows the expansion and newaliases
 * (sendmail -bi, -I) checks the file with aliases_load().
 *
 * Data: a table of entries sorted by lower-cased name, each with its
 * targets as addr-specs (unqualified ones are qualified at expansion
 * time, when the configuration is known).  Immutable after loading.
 *
 * Format (aliases(5) as sendmail and Postfix read it): a logical line
 * starts with a non-blank character and continues on lines that start
 * with white space; lines whose first non-blank character is '#' and
 * blank lines are ignored; "name: target, target, ...".  Targets are
 * RFC 5322 addresses.  A null client delivers nothing locally, so
 * "|command", "/file" and ":include:" targets are refused with the file
 * and line, as are duplicate names and entries without targets.
 *
 * Expansion is depth first.  A name met again on its own expansion path
 * is final (the classic "root: root, admin" idiom); a name already
 * expanded elsewhere adds nothing new; nesting is bounded.
 *
 * Security: the file is root's, but it is parsed defensively: bounded
 * size, no recursion on input structure beyond ALIASES_MAX_DEPTH, every
 * target checked with addr_check_envelope().
 */
#include "config.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base/buf.h"
#include "base/fsutil.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "mail/addr.h"
#include "mail/aliases.h"
#include "mail/subproto.h"

#define ALIASES_MAX_FILE (64 * 1024 * 1024)
#define ALIASES_MAX_DEPTH 100

struct aliases_entry {
	char *name; /* lower case */
	struct addr_list targets;
	int line;
};

struct aliases {
	struct aliases_entry *e;
	size_t n;
};

/* State of one aliases_expand call. */
struct aliases_walk {
	const struct aliases *a;
	const struct conf *c;
	char ***out;
	size_t *nout;
	const char *path[ALIASES_MAX_DEPTH]; /* names being expanded */
	size_t depth;
	struct addr_list done; /* names fully expanded */
	struct err *err;
};

static int aliases_walk_addr(struct aliases_walk *w, const char *addr);

static int
aliases_cmp(const void *x, const void *y)
{
	const struct aliases_entry *a = x, *b = y;

	return strcmp(a->name, b->name);
}

static void
aliases_free_entries(struct aliases *a)
{
	size_t i;

	for (i = 0; i < a->n; i++) {
		xfree(a->e[i].name);
		addr_list_free(&a->e[i].targets);
	}
	xfree(a->e);
	a->e = NULL;
	a->n = 0;
}

void
aliases_free(struct aliases *a)
{
	if (a == NULL)
		return;
	aliases_free_entries(a);
	xfree(a);
}

size_t
aliases_count(const struct aliases *a)
{
	return a->n;
}

/* aliases_next_item - the next comma-separated item of v[*i..n) (commas
 * inside quotes, comments and angle brackets do not split); trimmed. */
static bool
aliases_next_item(const char *v, size_t n, size_t *i, size_t *s, size_t *e)
{
	int paren = 0;
	bool quote = false, angle = false;
	size_t j;

	while (*i < n && (v[*i] == ' ' || v[*i] == '\t' || v[*i] == ','))
		(*i)++;
	if (*i >= n)
		return false;
	for (j = *i; j < n; j++) {
		char ch = v[j];

		if (ch == '\\' && j + 1 < n)
			j++;
		else if (ch == '"')
			quote = !quote;
		else if (!quote && ch == '(')
			paren++;
		else if (!quote && ch == ')' && paren > 0)
			paren--;
		else if (!quote && paren == 0 && (ch == '<' || ch == '>'))
			angle = ch == '<';
		else if (!quote && paren == 0 && !angle && ch == ',')
			break;
	}
	*s = *i;
	*e = j;
	while (*e > *s && (v[*e - 1] == ' ' || v[*e - 1] == '\t'))
		(*e)--;
	*i = j;
	return true;
}

/* aliases_forbidden - is the item a target a null client cannot take? */
static const char *
aliases_forbidden(const char *s, size_t n)
{
	if (n > 0 && s[0] == '"') {
		s++;
		n--;
	}
	if (n > 0 && s[0] == '|')
		return "commands (|program) cannot be delivered by a relay";
	if (n > 0 && s[0] == '/')
		return "files (/path) cannot be delivered by a relay";
	if (n >= 9 && strncasecmp(s, ":include:", 9) == 0)
		return ":include: lists are not supported";
	return NULL;
}

/* aliases_add_targets - parse the target list v[0..n) into e. */
static int
aliases_add_targets(struct aliases_entry *e, const char *v, size_t n,
    const char *path, struct err *err)
{
	size_t i = 0, s, end, k;

	while (aliases_next_item(v, n, &i, &s, &end)) {
		struct addr_list l = { 0 };
		const char *why;

		if ((why = aliases_forbidden(v + s, end - s)) != NULL)
			return err_set(err, ERR_CONFIG, "%s:%d: alias %s: %s",
			    path, e->line, e->name, why);
		(void)addr_parse_list(v + s, end - s, &l);
		for (k = 0; k < l.n; k++) {
			char *q = addr_qualify(l.v[k], "localhost");
			int bad = addr_check_envelope(q, err);

			xfree(q);
			if (bad == -1) {
				char m[sizeof(err->msg)];

				(void)str_copy(m, sizeof(m), err->msg);
				addr_list_free(&l);
				return err_set(err, ERR_CONFIG,
				    "%s:%d: alias %s: %s", path, e->line,
				    e->name, m);
			}
			(void)addr_list_add_unique(&e->targets, l.v[k]);
		}
		addr_list_free(&l);
	}
	if (e->targets.n == 0)
		return err_set(err, ERR_CONFIG,
		    "%s:%d: alias %s has no targets", path, e->line, e->name);
	return 0;
}

/* aliases_entry - parse one logical line (continuations joined). */
static int
aliases_entry(struct aliases *a, const char *l, size_t n, int line,
    const char *path, struct err *err)
{
	const char *colon = memchr(l, ':', n);
	struct aliases_entry *e;
	size_t nlen, i;

	if (colon == NULL)
		return err_set(err, ERR_CONFIG,
		    "%s:%d: expected \"name: target, ...\"", path, line);
	nlen = (size_t)(colon - l);
	while (nlen > 0 && (l[nlen - 1] == ' ' || l[nlen - 1] == '\t'))
		nlen--;
	for (i = 0; i < nlen; i++) {
		unsigned char ch = (unsigned char)l[i];

		if (ch <= ' ' || ch == 0x7f || ch == '@' || ch == ',')
			return err_set(err, ERR_CONFIG,
			    "%s:%d: bad alias name (white space, control, '@' "
			    "or ',')",
			    path, line);
	}
	if (nlen == 0)
		return err_set(
		    err, ERR_CONFIG, "%s:%d: empty alias name", path, line);
	a->e = xreallocarray(a->e, a->n + 1, sizeof(*a->e));
	e = &a->e[a->n++];
	memset(e, 0, sizeof(*e));
	e->name = xstrndup(l, nlen);
	str_lower(e->name);
	e->line = line;
	return aliases_add_targets(
	    e, colon + 1, n - (size_t)(colon + 1 - l), path, err);
}

/* aliases_parse - split data into logical lines and parse each. */
static int
aliases_parse(struct aliases *a, const char *d, size_t n, const char *path,
    struct err *err)
{
	struct buf logical;
	size_t i = 0;
	int line = 0, start = 0, rc = 0;

	buf_init(&logical, ALIASES_MAX_FILE);
	while (i < n && rc == 0) {
		const char *nl = memchr(d + i, '\n', n - i);
		size_t end = nl != NULL ? (size_t)(nl - d) : n, k = i;

		line++;
		while (k < end && (d[k] == ' ' || d[k] == '\t' || d[k] == '\r'))
			k++;
		if (k == end || d[k] == '#') {
			/* blank or comment */
		} else if (k > i) {
			if (logical.len == 0)
				rc = err_set(err, ERR_CONFIG,
				    "%s:%d: continuation line without an "
				    "alias name",
				    path, line);
			else
				(void)buf_append(&logical, d + i, end - i);
		} else {
			if (logical.len > 0)
				rc = aliases_entry(a, logical.data, logical.len,
				    start, path, err);
			buf_reset(&logical);
			start = line;
			(void)buf_append(&logical, d + i, end - i);
		}
		i = nl != NULL ? end + 1 : n;
	}
	if (rc == 0 && logical.len > 0)
		rc = aliases_entry(
		    a, logical.data, logical.len, start, path, err);
	buf_free(&logical);
	return rc;
}

/* aliases_check_dups - refuse a name defined twice (table sorted). */
static int
aliases_check_dups(const struct aliases *a, const char *path, struct err *err)
{
	size_t i;

	for (i = 1; i < a->n; i++) {
		const struct aliases_entry *x = &a->e[i - 1], *y = &a->e[i];

		if (strcmp(x->name, y->name) == 0)
			return err_set(err, ERR_CONFIG,
			    "%s:%d: alias %s defined twice (also at line %d)",
			    path, x->line > y->line ? x->line : y->line,
			    x->name, x->line > y->line ? y->line : x->line);
	}
	return 0;
}

struct aliases *
aliases_load(const char *path, struct err *err)
{
	struct aliases *a = xcalloc(1, sizeof(*a));
	struct buf data;
	struct err rerr;

	if (path == NULL || *path == '\0')
		return a;
	buf_init(&data, ALIASES_MAX_FILE);
	if (fs_read_file(path, &data, &rerr) == -1) {
		buf_free(&data);
		if (rerr.sys_errno == ENOENT)
			return a;
		if (err != NULL)
			*err = rerr;
		aliases_free(a);
		return NULL;
	}
	if (memchr(data.data, '\0', data.len) != NULL) {
		(void)err_set(err, ERR_CONFIG, "%s: contains NUL bytes", path);
		goto out_fail;
	}
	if (aliases_parse(a, data.data, data.len, path, err) == -1)
		goto out_fail;
	if (a->n > 1)
		qsort(a->e, a->n, sizeof(*a->e), aliases_cmp);
	if (aliases_check_dups(a, path, err) == -1)
		goto out_fail;
	buf_free(&data);
	return a;
out_fail:
	buf_free(&data);
	aliases_free(a);
	return NULL;
}

/* aliases_lookup - the entry for lower-case name, or NULL. */
static const struct aliases_entry *
aliases_lookup(const struct aliases *a, const char *name)
{
	struct aliases_entry key;

	if (a->n == 0)
		return NULL;
	memset(&key, 0, sizeof(key));
	key.name = (char *)(uintptr_t)name;
	return bsearch(&key, a->e, a->n, sizeof(*a->e), aliases_cmp);
}

/* aliases_final - append a final address unless it is there already. */
static int
aliases_final(struct aliases_walk *w, const char *addr)
{
	size_t i;

	for (i = 0; i < *w->nout; i++) {
		if (addr_same((*w->out)[i], addr))
			return 0;
	}
	if (*w->nout >= SUBPROTO_MAX_RCPTS) {
		(void)err_set(w->err, ERR_PERM,
		    "alias expansion gives too many recipients (limit %d)",
		    SUBPROTO_MAX_RCPTS);
		if (w->err != NULL)
			w->err->smtp_code = 552;
		return -1;
	}
	*w->out = xreallocarray(*w->out, *w->nout + 1, sizeof(char *));
	(*w->out)[(*w->nout)++] = xstrdup(addr);
	return 0;
}

/* aliases_final_local - a local name with no (further) alias. */
static int
aliases_final_local(struct aliases_walk *w, const char *local)
{
	char *q;
	int rc;

	if (w->c->default_recipient != NULL)
		q = addr_qualify(w->c->default_recipient, w->c->domain);
	else
		q = xasprintf("%s@%s", local, w->c->domain);
	rc = aliases_final(w, q);
	xfree(q);
	return rc;
}

/* aliases_on_path - is name being expanded further up? */
static bool
aliases_on_path(const struct aliases_walk *w, const char *name)
{
	size_t i;

	for (i = 0; i < w->depth; i++) {
		if (strcmp(w->path[i], name) == 0)
			return true;
	}
	return false;
}

/* aliases_walk_entry - expand the targets of e. */
static int
aliases_walk_entry(struct aliases_walk *w, const struct aliases_entry *e)
{
	size_t i;

	if (w->depth >= ALIASES_MAX_DEPTH)
		return err_set(w->err, ERR_CONFIG,
		    "aliases nest deeper than %d levels at %s",
		    ALIASES_MAX_DEPTH, e->name);
	w->path[w->depth++] = e->name;
	for (i = 0; i < e->targets.n; i++) {
		if (aliases_walk_addr(w, e->targets.v[i]) == -1)
			return -1;
	}
	w->depth--;
	(void)addr_list_add_unique(&w->done, e->name);
	return 0;
}

static int
aliases_walk_addr(struct aliases_walk *w, const char *addr)
{
	const char *dom = addr_domain(addr);
	const struct aliases_entry *e;
	char *local, *key;
	int rc = 0;

	if (dom != NULL && !conf_is_local_domain(w->c, dom))
		return aliases_final(w, addr);
	local = dom != NULL ? xstrndup(addr, (size_t)(dom - 1 - addr))
			    : xstrdup(addr);
	key = xstrdup(local);
	str_lower(key);
	e = aliases_lookup(w->a, key);
	if (e == NULL || aliases_on_path(w, key))
		rc = aliases_final_local(w, local);
	else if (!addr_list_contains(&w->done, key))
		rc = aliases_walk_entry(w, e);
	xfree(key);
	xfree(local);
	return rc;
}

int
aliases_expand(const struct aliases *a, const struct conf *c, const char *rcpt,
    char ***out, size_t *nout, struct err *err)
{
	struct aliases_walk w;
	int rc;

	memset(&w, 0, sizeof(w));
	w.a = a;
	w.c = c;
	w.out = out;
	w.nout = nout;
	w.err = err;
	rc = aliases_walk_addr(&w, rcpt);
	addr_list_free(&w.done);
	return rc;
}
