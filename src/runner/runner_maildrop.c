/*
 * runner_maildrop.c - the maildrop import (see runner_maildrop.h).
 *
 * Security: any local user can (through the setgid sendmail) put a file
 * here, so each one is opened with O_NOFOLLOW | O_NONBLOCK (no symlinks,
 * no blocking on a FIFO), checked to be a regular file with exactly one
 * link (no hard link to somebody else's file), and attributed to its
 * owner, never to anything it says.  Its content goes through the strict
 * submission parser; a bad file is moved aside, never fatal.
 *
 * Durability: a file is unlinked only after the transaction holding its
 * message committed, and the directory is fsync'd after the unlinks.  A
 * crash in between imports the file again on the next start: at least
 * once, never lost.
 */
#include "config.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/sysops.h"
#include "base/xalloc.h"
#include "runner/runner_maildrop.h"
#include "runner/runner_setup.h"

/* Files per transaction. */
#define RUNNER_MAILDROP_BATCH 32

struct runner_drop {
	int dfd; /* the maildrop directory */
	int cfd; /* spool_dir/corrupt */
	const char *dir;
	const struct runner_enqueue *ex;
	struct runner_maildrop_stats *stats;
	bool changed; /* something unlinked or renamed: fsync the dir */
	char *names[RUNNER_MAILDROP_BATCH];
	struct runner_sub *subs[RUNNER_MAILDROP_BATCH];
	size_t n;
};

/* runner_drop_aside - move name into corrupt/ and say why. */
static void
runner_drop_aside(struct runner_drop *d, const char *name, const char *why)
{
	if (renameat(d->dfd, name, d->cfd, name) == -1) {
		log_warn(
		    "maildrop: %s: %s; cannot move it to corrupt/", name, why);
		return;
	}
	d->changed = true;
	d->stats->moved++;
	log_warnx("maildrop: %s: %s; moved to corrupt/", name, why);
}

/* runner_drop_feed - read fd through the submission parser. */
static void
runner_drop_feed(struct runner_sub *s, int fd)
{
	char chunk[65536];
	struct err err;
	ssize_t r;
	size_t used;

	err_clear(&err);
	while ((r = fs_read_some(fd, chunk, sizeof(chunk))) > 0) {
		if (s->state == RUNNER_SUB_READY) {
			(void)err_set(
			    &err, ERR_PERM, "data after the end marker");
			runner_sub_fail(s, &err);
			return;
		}
		if (runner_sub_feed(s, chunk, (size_t)r, &used) ==
		    RUNNER_SUB_FAILED)
			return;
		if (used < (size_t)r) {
			(void)err_set(
			    &err, ERR_PERM, "data after the end marker");
			runner_sub_fail(s, &err);
			return;
		}
	}
	if (r == -1) {
		(void)err_sys(&err, ERR_TEMP, "read");
		runner_sub_fail(s, &err);
	} else if (s->state == RUNNER_SUB_READING) {
		(void)err_set(&err, ERR_PERM, "truncated (no end marker)");
		runner_sub_fail(s, &err);
	}
}

/* runner_drop_open - open and check one msg.* file; -1 when it was
 * handled (moved aside or skipped). */
static int
runner_drop_open(struct runner_drop *d, const char *name, struct stat *st)
{
	int fd = openat(
	    d->dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);

	if (fd == -1) {
		if (errno == ELOOP)
			runner_drop_aside(d, name, "a symbolic link");
		else if (errno != ENOENT) {
			log_warn("maildrop: cannot open %s", name);
			d->stats->kept++;
		}
		return -1;
	}
	if (fstat(fd, st) == -1 || !S_ISREG(st->st_mode) || st->st_nlink != 1) {
		(void)close(fd);
		runner_drop_aside(d, name, "not a regular file with one link");
		return -1;
	}
	return fd;
}

/* runner_drop_read - read one msg.* file into the batch. */
static void
runner_drop_read(struct runner_drop *d, const char *name)
{
	struct runner_sub *s;
	struct stat st;
	int fd;

	fd = runner_drop_open(d, name, &st);
	if (fd == -1)
		return;
	s = runner_sub_new(d->ex->conf, st.st_uid);
	s->arrived = st.st_mtime;
	runner_drop_feed(s, fd);
	(void)close(fd);
	d->names[d->n] = xstrdup(name);
	d->subs[d->n] = s;
	d->n++;
}

/* runner_drop_settle - enqueue the batch, then unlink, move or keep. */
static void
runner_drop_settle(struct runner_drop *d)
{
	size_t i;

	runner_enqueue_batch(d->ex, d->subs, d->n);
	for (i = 0; i < d->n; i++) {
		struct runner_sub *s = d->subs[i];
		const char *name = d->names[i];

		runner_sub_log(s);
		if (s->code == 250) {
			log_info("%s: imported from maildrop %s", s->qid, name);
			if (unlinkat(d->dfd, name, 0) == -1)
				log_warn("maildrop: cannot remove %s (it "
					 "will be imported again)",
				    name);
			d->changed = true;
			d->stats->imported++;
		} else if (s->code >= 500) {
			runner_drop_aside(d, name, s->reply);
		} else {
			log_warnx(
			    "maildrop: %s: %s; kept for later", name, s->reply);
			d->stats->kept++;
		}
		runner_sub_free(s);
		xfree(d->names[i]);
	}
	d->n = 0;
}

/* runner_drop_stale - remove a tmp.* file older than an hour. */
static void
runner_drop_stale(struct runner_drop *d, const char *name)
{
	struct stat st;

	if (fstatat(d->dfd, name, &st, AT_SYMLINK_NOFOLLOW) == -1 ||
	    st.st_mtime > sys_time() - RUNNER_MAILDROP_TMP_AGE)
		return;
	if (unlinkat(d->dfd, name, 0) == -1) {
		log_warn("maildrop: cannot remove stale %s", name);
		return;
	}
	d->changed = true;
	d->stats->stale++;
	log_info("maildrop: removed %s, left by a sendmail that did not "
		 "finish",
	    name);
}

static int
runner_drop_scan(struct runner_drop *d, struct err *err)
{
	struct dirent *de;
	DIR *dir;
	int fd = dup(d->dfd);

	if (fd == -1 || (dir = fdopendir(fd)) == NULL) {
		if (fd != -1)
			(void)close(fd);
		return err_sys(err, ERR_TEMP, "cannot read %s", d->dir);
	}
	while ((de = readdir(dir)) != NULL) {
		if (strncmp(de->d_name, "tmp.", 4) == 0)
			runner_drop_stale(d, de->d_name);
		else if (strncmp(de->d_name, "msg.", 4) == 0)
			runner_drop_read(d, de->d_name);
		if (d->n == RUNNER_MAILDROP_BATCH)
			runner_drop_settle(d);
	}
	if (d->n > 0)
		runner_drop_settle(d);
	if (closedir(dir) == -1)
		log_warn("closedir %s", d->dir);
	return 0;
}

/* runner_drop_dirs - open the maildrop (locked) and corrupt dirs. */
static int
runner_drop_dirs(struct runner_drop *d, const char *corrupt, struct err *err)
{
	d->dfd = open(d->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->dfd == -1)
		return err_sys(err, ERR_TEMP, "cannot open %s", d->dir);
	if (flock(d->dfd, LOCK_EX | LOCK_NB) == -1) {
		if (errno == EWOULDBLOCK)
			return 1; /* another importer is at it */
		return err_sys(err, ERR_TEMP, "cannot lock %s", d->dir);
	}
	d->cfd = open(corrupt, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (d->cfd == -1)
		return err_sys(err, ERR_TEMP, "cannot open %s", corrupt);
	return 0;
}

int
runner_maildrop_import(const struct runner_enqueue *ex,
    struct runner_maildrop_stats *out, struct err *err)
{
	struct runner_drop d;
	char *corrupt = runner_corrupt_dir(ex->conf);
	char *dir = conf_maildrop_dir(ex->conf);
	int rc;

	memset(&d, 0, sizeof(d));
	memset(out, 0, sizeof(*out));
	d.dfd = d.cfd = -1;
	d.dir = dir;
	d.ex = ex;
	d.stats = out;
	rc = runner_drop_dirs(&d, corrupt, err);
	if (rc == 0)
		rc = runner_drop_scan(&d, err);
	if (rc == 0 && d.changed && fs_fsync_dir(dir, err) == -1)
		rc = -1;
	if (rc == 0 && out->moved > 0 && fs_fsync_dir(corrupt, err) == -1)
		rc = -1;
	if (d.cfd != -1)
		(void)close(d.cfd);
	if (d.dfd != -1)
		(void)close(d.dfd); /* releases the lock */
	xfree(dir);
	xfree(corrupt);
	return rc == 1 ? 0 : rc;
}
