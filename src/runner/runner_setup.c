/*
 * runner_setup.c - directories and privileges at relayd's start (see
 * runner_setup.h).
 *
 * Security: the only code in relay that runs as root.  It creates
 * directories with explicit modes (chmod after mkdir, so the umask cannot
 * widen or narrow them), changes owners only of directories it created or
 * that live inside spool_dir, and gives up root with initgroups, setgid
 * and setuid in that order, then checks that setuid(0) fails.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "runner/runner_setup.h"

struct runner_ids {
	bool root;
	uid_t uid;
	gid_t gid; /* (gid_t)-1: the group does not exist */
	char user[64];
};

char *
runner_corrupt_dir(const struct conf *c)
{
	return xasprintf("%s/corrupt", c->spool_dir);
}

static int
runner_ids(const struct conf *c, struct runner_ids *ids, struct err *err)
{
	struct passwd *pw;
	struct group *gr;

	memset(ids, 0, sizeof(*ids));
	ids->root = geteuid() == 0;
	ids->uid = geteuid();
	gr = getgrnam(c->group);
	ids->gid = gr != NULL ? gr->gr_gid : (gid_t)-1;
	if (!ids->root)
		return 0;
	pw = getpwnam(c->user);
	if (pw == NULL)
		return err_set(err, ERR_CONFIG,
		    "user %s does not exist (create it or set user)", c->user);
	if (gr == NULL)
		return err_set(err, ERR_CONFIG,
		    "group %s does not exist (create it or set group)",
		    c->group);
	ids->uid = pw->pw_uid;
	if (str_copy(ids->user, sizeof(ids->user), pw->pw_name) == -1)
		return err_set(err, ERR_CONFIG, "user name too long");
	return 0;
}

/* runner_own - set owner (root) or group (others, best effort). */
static int
runner_own(const char *path, const struct runner_ids *ids, struct err *err)
{
	if (ids->root) {
		if (chown(path, ids->uid, ids->gid) == -1)
			return err_sys(err, ERR_TEMP, "chown %s", path);
		return 0;
	}
	if (ids->gid != (gid_t)-1 && chown(path, (uid_t)-1, ids->gid) == -1)
		log_debug("cannot give %s to group %lu (not a member)", path,
		    (unsigned long)ids->gid);
	return 0;
}

/* runner_dir - make path a directory with mode; fix owner and mode when
 * it was created now or when ours is set (a directory inside spool_dir). */
static int
runner_dir(const char *path, mode_t mode, bool ours,
    const struct runner_ids *ids, struct err *err)
{
	struct stat st;
	bool created = false;

	if (mkdir(path, 0700) == 0)
		created = true;
	else if (errno != EEXIST)
		return err_sys(err, ERR_TEMP, "cannot create %s", path);
	if (stat(path, &st) == -1)
		return err_sys(err, ERR_TEMP, "cannot stat %s", path);
	if (!S_ISDIR(st.st_mode))
		return err_set(err, ERR_CONFIG, "%s is not a directory", path);
	if (!created && !ours) {
		if (ids->root && st.st_uid != ids->uid)
			log_warnx("%s is not owned by the relayd user", path);
		return 0;
	}
	if ((created || ids->root || st.st_uid == geteuid()) &&
	    chmod(path, mode) == -1)
		return err_sys(err, ERR_TEMP, "chmod %s", path);
	return runner_own(path, ids, err);
}

/* runner_parent - create the parents of path (0755, root-owned). */
static int
runner_parent(const char *path, struct err *err)
{
	char *dir = xstrdup(path);
	char *slash = strrchr(dir, '/');
	int rc = 0;

	if (slash != NULL && slash != dir) {
		*slash = '\0';
		rc = fs_mkdir_p(dir, 0755, err);
	}
	xfree(dir);
	return rc;
}

/* runner_sockdir - the socket's directory, created if missing. */
static int
runner_sockdir(
    const struct conf *c, const struct runner_ids *ids, struct err *err)
{
	char *dir = xstrdup(c->socket);
	char *slash = strrchr(dir, '/');
	struct stat st;
	int rc = 0;

	if (slash == NULL || slash == dir)
		goto out_free;
	*slash = '\0';
	if (stat(dir, &st) == 0)
		goto out_free;
	rc = runner_parent(dir, err);
	if (rc == 0)
		rc = runner_dir(dir, 0755, true, ids, err);
out_free:
	xfree(dir);
	return rc;
}

static int
runner_dirs(const struct conf *c, const struct runner_ids *ids, struct err *err)
{
	char *maildrop = conf_maildrop_dir(c);
	char *corrupt = runner_corrupt_dir(c);
	int rc = -1;

	if (runner_parent(c->spool_dir, err) == -1 ||
	    runner_dir(c->spool_dir, 0750, false, ids, err) == -1 ||
	    runner_dir(maildrop, 01730, true, ids, err) == -1 ||
	    runner_dir(corrupt, 0750, true, ids, err) == -1 ||
	    runner_sockdir(c, ids, err) == -1)
		goto out_free;
	rc = 0;
out_free:
	xfree(maildrop);
	xfree(corrupt);
	return rc;
}

/* runner_logfile - as root, create log_file for the user if missing. */
static int
runner_logfile(
    const struct conf *c, const struct runner_ids *ids, struct err *err)
{
	int fd;

	if (c->log_file == NULL || !ids->root)
		return 0;
	fd = open(c->log_file,
	    O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0640);
	if (fd == -1)
		return err_sys(err, ERR_CONFIG, "cannot open %s", c->log_file);
	if (fchown(fd, ids->uid, ids->gid) == -1) {
		(void)close(fd);
		return err_sys(err, ERR_CONFIG, "chown %s", c->log_file);
	}
	if (close(fd) == -1)
		return err_sys(err, ERR_CONFIG, "close %s", c->log_file);
	return 0;
}

static int
runner_drop(const struct runner_ids *ids, struct err *err)
{
	if (initgroups(ids->user, ids->gid) == -1)
		return err_sys(err, ERR_INTERNAL, "initgroups %s", ids->user);
	if (setgid(ids->gid) == -1)
		return err_sys(
		    err, ERR_INTERNAL, "setgid %lu", (unsigned long)ids->gid);
	if (setuid(ids->uid) == -1)
		return err_sys(
		    err, ERR_INTERNAL, "setuid %lu", (unsigned long)ids->uid);
	if (ids->uid != 0 && (setuid(0) != -1 || seteuid(0) != -1))
		return err_set(err, ERR_INTERNAL,
		    "could regain root after dropping privileges");
	if (getuid() != ids->uid || geteuid() != ids->uid ||
	    getegid() != ids->gid)
		return err_set(err, ERR_INTERNAL, "privilege drop incomplete");
	return 0;
}

int
runner_setup(const struct conf *c, struct err *err)
{
	struct runner_ids ids;

	if (runner_ids(c, &ids, err) == -1 || runner_dirs(c, &ids, err) == -1 ||
	    runner_logfile(c, &ids, err) == -1)
		return -1;
	if (!ids.root)
		return 0;
	if (runner_drop(&ids, err) == -1)
		return -1;
	log_info("running as user %s (uid %lu, gid %lu)", ids.user,
	    (unsigned long)ids.uid, (unsigned long)ids.gid);
	return 0;
}
