/*
 * test_spool_util.h - helpers shared by the spool unit tests: a private
 * temp directory per test, in-memory body readers, a body collector, and
 * direct SQLite access to the same file for checks the API does not offer
 * (integrity_check, PRAGMA values, crafted old or damaged files).
 */
#ifndef RELAY_TEST_SPOOL_UTIL_H
#define RELAY_TEST_SPOOL_UTIL_H

#include <errno.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/xalloc.h"
#include "spool/spool.h"

struct tsp {
	char *dir; /* private temp directory */
	char *db; /* dir/queue.db */
};

/* tsp_rm_one - nftw callback removing one entry. */
static inline int
tsp_rm_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
	(void)st;
	(void)flag;
	(void)f;
	return remove(path);
}

/* tsp_new - a fresh temp dir under $RELAY_TEST_TMP (or /tmp). */
static inline struct tsp *
tsp_new(void)
{
	const char *base = getenv("RELAY_TEST_TMP");
	struct tsp *t = xcalloc(1, sizeof(*t));
	struct err err;
	char *tmpl;

	if (base == NULL || *base == '\0')
		base = "/tmp";
	if (fs_mkdir_p(base, 0755, &err) == -1) {
		fprintf(stderr, "%s\n", err.msg);
		abort();
	}
	tmpl = xasprintf("%s/spool.XXXXXX", base);
	if (mkdtemp(tmpl) == NULL) {
		perror("mkdtemp");
		abort();
	}
	t->dir = tmpl;
	t->db = xasprintf("%s/queue.db", tmpl);
	return t;
}

/* tsp_free - remove the temp dir and everything in it. */
static inline void
tsp_free(struct tsp *t)
{
	if (t == NULL)
		return;
	(void)chmod(t->dir, 0700);
	(void)nftw(t->dir, tsp_rm_one, 16, FTW_DEPTH | FTW_PHYS);
	xfree(t->db);
	xfree(t->dir);
	xfree(t);
}

/* A body reader over memory, handing out at most step bytes a call. */
struct tsp_mem {
	const char *p;
	size_t len, off, step;
};

static inline ssize_t
tsp_mem_read(void *ctx, char *p, size_t n, struct err *err)
{
	struct tsp_mem *m = ctx;
	size_t k = m->len - m->off;

	(void)err;
	if (k > n)
		k = n;
	if (m->step != 0 && k > m->step)
		k = m->step;
	memcpy(p, m->p + m->off, k);
	m->off += k;
	return (ssize_t)k;
}

/* A reader that produces len pseudo-random bytes from a seed, without
 * holding them (for bodies of many megabytes). */
struct tsp_gen {
	uint64_t len, off, seed;
};

static inline unsigned char
tsp_gen_byte(uint64_t seed, uint64_t i)
{
	uint64_t x = (i + 1) * 0x9e3779b97f4a7c15ull ^ seed;

	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9ull;
	x ^= x >> 32;
	return (unsigned char)x;
}

static inline ssize_t
tsp_gen_read(void *ctx, char *p, size_t n, struct err *err)
{
	struct tsp_gen *g = ctx;
	size_t i;

	(void)err;
	if (n > g->len - g->off)
		n = (size_t)(g->len - g->off);
	for (i = 0; i < n; i++)
		p[i] = (char)tsp_gen_byte(g->seed, g->off + i);
	g->off += n;
	return (ssize_t)n;
}

/* A reader that fails after fail_at bytes. */
struct tsp_fail {
	size_t fail_at, off;
};

static inline ssize_t
tsp_fail_read(void *ctx, char *p, size_t n, struct err *err)
{
	struct tsp_fail *f = ctx;

	if (f->off >= f->fail_at)
		return err_set(err, ERR_TEMP, "client went away");
	if (n > f->fail_at - f->off)
		n = f->fail_at - f->off;
	memset(p, 'x', n);
	f->off += n;
	return (ssize_t)n;
}

/* tsp_collect - a spool_body_read callback appending to a struct buf. */
static inline int
tsp_collect(const char *p, size_t n, void *arg)
{
	return buf_append(arg, p, n) == 0 ? 0 : 1;
}

/* tsp_add - enqueue one message in its own transaction; 0 or -1. */
static inline int
tsp_add(struct spool *sp, const char *sender, const char *const *rcpts,
    size_t nrcpts, const char *body, uid_t uid, time_t created,
    char qid[SPOOL_QID_SIZE], struct err *err)
{
	struct spool_newmsg m;
	struct tsp_mem mem = { body, strlen(body), 0, 0 };

	memset(&m, 0, sizeof(m));
	m.sender = sender;
	m.rcpts = rcpts;
	m.nrcpts = nrcpts;
	m.uid = uid;
	m.created = created;
	if (spool_begin(sp, err) == -1)
		return -1;
	if (spool_add_message(sp, &m, tsp_mem_read, &mem, qid, err) == -1) {
		spool_rollback(sp);
		return -1;
	}
	return spool_commit(sp, err);
}

/* tsp_sql_text - first column of the first row of sql on path (a new
 * connection), copied to out; "" when no row.  Aborts on error. */
static inline void
tsp_sql_text(const char *path, const char *sql, char *out, size_t size)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	const unsigned char *t;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE, NULL) !=
		SQLITE_OK ||
	    sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "%s: %s\n", sql, sqlite3_errmsg(db));
		abort();
	}
	out[0] = '\0';
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (t = sqlite3_column_text(st, 0)) != NULL)
		snprintf(out, size, "%s", (const char *)t);
	(void)sqlite3_finalize(st);
	(void)sqlite3_close(db);
}

/* tsp_sql_int - the same for an integer result. */
static inline long long
tsp_sql_int(const char *path, const char *sql)
{
	char buf[64];

	tsp_sql_text(path, sql, buf, sizeof(buf));
	return strtoll(buf, NULL, 10);
}

/* tsp_sql_exec - run sql on path with a new connection; aborts on error. */
static inline void
tsp_sql_exec(const char *path, const char *sql)
{
	sqlite3 *db;
	char *msg = NULL;

	if (sqlite3_open_v2(path, &db,
		SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE,
		NULL) != SQLITE_OK ||
	    sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		fprintf(
		    stderr, "%s: %s\n", sql, msg ? msg : sqlite3_errmsg(db));
		abort();
	}
	(void)sqlite3_close(db);
}

/* tsp_wait - wait for pid; its exit status, or 128+signal. */
static inline int
tsp_wait(pid_t pid)
{
	int status;

	while (waitpid(pid, &status, 0) == -1)
		if (errno != EINTR)
			return -1;
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

#endif
