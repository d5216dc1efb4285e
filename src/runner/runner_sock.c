/*
 * runner_sock.c - binding relayd's unix socket and identifying peers (see
 * runner_sock.h).
 *
 * Security: the socket is world-connectable on purpose (any local user may
 * submit); the peer's uid comes from the kernel (SO_PEERCRED), never from
 * anything the peer says.  Privilege is derived from that uid through the
 * account database.  A stale socket file is only unlinked after a connect
 * to it was refused, and only when it is a socket.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/log.h"
#include "base/str.h"
#include "base/sysops.h"
#include "base/xalloc.h"
#include "runner/runner_sock.h"

static int
runner_sock_addr(const char *path, struct sockaddr_un *sun, struct err *err)
{
	memset(sun, 0, sizeof(*sun));
	sun->sun_family = AF_UNIX;
	if (str_copy(sun->sun_path, sizeof(sun->sun_path), path) == -1)
		return err_set(
		    err, ERR_CONFIG, "socket path too long: %s", path);
	return 0;
}

/* runner_sock_clear - make path free to bind: -1 if someone answers. */
static int
runner_sock_clear(
    const char *path, const struct sockaddr_un *sun, struct err *err)
{
	struct stat st;
	int fd, rc;

	if (lstat(path, &st) == -1) {
		if (errno == ENOENT)
			return 0;
		return err_sys(err, ERR_TEMP, "cannot stat %s", path);
	}
	if (!S_ISSOCK(st.st_mode))
		return err_set(err, ERR_CONFIG,
		    "%s exists and is not a socket; remove it or set socket",
		    path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd == -1)
		return err_sys(err, ERR_TEMP, "socket");
	rc = sys_connect(fd, (const struct sockaddr *)sun, sizeof(*sun));
	(void)close(fd);
	if (rc == 0)
		return err_set(err, ERR_TEMP,
		    "another relayd is already running on %s", path);
	if (errno != ECONNREFUSED)
		return err_sys(err, ERR_TEMP, "cannot check %s", path);
	log_info("removing stale socket %s", path);
	if (unlink(path) == -1 && errno != ENOENT)
		return err_sys(err, ERR_TEMP, "cannot remove %s", path);
	return 0;
}

int
runner_sock_listen(const char *path, struct runner_sock_id *id, struct err *err)
{
	struct sockaddr_un sun;
	struct stat st;
	int fd;

	if (runner_sock_addr(path, &sun, err) == -1 ||
	    runner_sock_clear(path, &sun, err) == -1)
		return -1;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd == -1)
		return err_sys(err, ERR_TEMP, "socket");
	if (bind(fd, (struct sockaddr *)&sun, sizeof(sun)) == -1) {
		if (errno == EADDRINUSE)
			(void)err_set(err, ERR_TEMP,
			    "another relayd is already running on %s", path);
		else
			(void)err_sys(err, ERR_TEMP, "cannot bind %s", path);
		goto out_close;
	}
	if (chmod(path, 0666) == -1 || stat(path, &st) == -1) {
		(void)err_sys(err, ERR_TEMP, "cannot set the mode of %s", path);
		goto out_unlink;
	}
	if (listen(fd, 128) == -1) {
		(void)err_sys(err, ERR_TEMP, "listen %s", path);
		goto out_unlink;
	}
	id->dev = st.st_dev;
	id->ino = st.st_ino;
	return fd;
out_unlink:
	(void)unlink(path);
out_close:
	(void)close(fd);
	return -1;
}

void
runner_sock_unlink(const char *path, const struct runner_sock_id *id)
{
	struct stat st;

	if (lstat(path, &st) == 0 && st.st_dev == id->dev &&
	    st.st_ino == id->ino && unlink(path) == -1)
		log_warn("cannot remove %s", path);
}

int
runner_sock_peer(int fd, uid_t *uid, pid_t *pid, struct err *err)
{
	struct ucred cr;
	socklen_t len = sizeof(cr);

	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) == -1)
		return err_sys(err, ERR_TEMP, "SO_PEERCRED");
	*uid = cr.uid;
	*pid = cr.pid;
	return 0;
}

/* runner_sock_member - is the account pw in group gid (primary or listed)? */
static bool
runner_sock_member(const struct passwd *pw, gid_t gid)
{
	gid_t *groups;
	int n = 64, i;
	bool found = false;

	if (pw->pw_gid == gid)
		return true;
	groups = xreallocarray(NULL, (size_t)n, sizeof(gid_t));
	if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1) {
		groups = xreallocarray(groups, (size_t)n, sizeof(gid_t));
		if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
			n = 0;
	}
	for (i = 0; i < n && !found; i++)
		found = groups[i] == gid;
	xfree(groups);
	return found;
}

bool
runner_sock_privileged(const struct conf *c, uid_t uid)
{
	if (uid == 0 || uid == geteuid())
		return true;
	return runner_sock_in_group(c, uid);
}

bool
runner_sock_in_group(const struct conf *c, uid_t uid)
{
	struct passwd pwbuf, *pw = NULL;
	struct group grbuf, *gr = NULL;
	char sbuf[16384], gbuf[16384];

	if (getgrnam_r(c->group, &grbuf, gbuf, sizeof(gbuf), &gr) != 0 ||
	    gr == NULL)
		return false;
	if (getpwuid_r(uid, &pwbuf, sbuf, sizeof(sbuf), &pw) != 0 || pw == NULL)
		return false;
	return runner_sock_member(pw, gr->gr_gid);
}
