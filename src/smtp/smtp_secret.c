/*
 * smtp_secret.c - the smarthost password or OAuth token: from
 * password_command (run with /bin/sh -c, its first output line) or from
 * password_file (its first line).
 *
 * Part of smtp: smtp_auth() loads the secret right before AUTH and wipes
 * it right after; relayd calls smtp_check_secret() at start.
 *
 * Data: the secret, only in the caller's struct buf (wiped with
 * buf_wipe_free).  Invariant: a password_file that group or others may
 * read or write is refused, whoever owns it.
 *
 * Security: the file is opened with O_NOFOLLOW and checked with fstat on
 * the open descriptor (no race between check and read); the command's
 * stdin is /dev/null, its output bounded, its run bounded by the command
 * timeout (then killed); neither the secret nor the command's output
 * ever reaches a log or an error message.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/xalloc.h"
#include "net/conn.h"
#include "smtp/smtp_priv.h"

extern char **environ;

/* smtp_secret_first_line - keep only the first line, without CR/LF. */
static void
smtp_secret_first_line(struct buf *b)
{
	char *nl = memchr(b->data, '\n', b->len);
	size_t n = nl != NULL ? (size_t)(nl - b->data) : b->len;

	while (n > 0 && b->data[n - 1] == '\r')
		n--;
	memset(b->data + n, 0, b->len - n);
	buf_truncate(b, n);
}

/* smtp_secret_open - open and check password_file; the fd or -1. */
static int
smtp_secret_open(const char *path, struct err *err)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY);

	if (fd == -1)
		return err_sys(err, ERR_CONFIG, "password_file %s", path);
	if (fstat(fd, &st) == -1) {
		(void)err_sys(err, ERR_CONFIG, "password_file %s", path);
		goto out_close;
	}
	if (!S_ISREG(st.st_mode)) {
		(void)err_set(err, ERR_CONFIG,
		    "password_file %s is not a regular file", path);
		goto out_close;
	}
	if (st.st_mode & (S_IRGRP | S_IWGRP | S_IROTH | S_IWOTH)) {
		(void)err_set(err, ERR_CONFIG,
		    "password_file %s is readable or writable by group or "
		    "others (mode %04o); run chmod 600 %s",
		    path, (unsigned)(st.st_mode & 07777), path);
		goto out_close;
	}
	return fd;
out_close:
	(void)close(fd);
	return -1;
}

int
smtp_check_secret(const struct conf_smarthost *sh, struct err *err)
{
	int fd;

	if (sh->password_file == NULL || sh->password_command != NULL)
		return 0;
	fd = smtp_secret_open(sh->password_file, err);
	if (fd == -1)
		return -1;
	(void)close(fd);
	return 0;
}

static int
smtp_secret_file(const char *path, struct buf *out, struct err *err)
{
	char tmp[1024];
	int fd = smtp_secret_open(path, err);
	int rc = 0;

	if (fd == -1)
		return -1;
	for (;;) {
		ssize_t r = fs_read_some(fd, tmp, sizeof(tmp));

		if (r == 0)
			break;
		if (r < 0 || buf_append(out, tmp, (size_t)r) == -1) {
			rc = err_set(err, ERR_CONFIG,
			    "password_file %s: unreadable or too long", path);
			break;
		}
	}
	explicit_bzero(tmp, sizeof(tmp));
	(void)close(fd);
	return rc;
}

/* smtp_secret_collect - read the child's output until EOF or deadline. */
static int
smtp_secret_collect(int fd, long long deadline, struct buf *out)
{
	char tmp[1024];
	int rc = 0;

	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		long long left = deadline - conn_now_ms();
		ssize_t r;

		if (left <= 0) {
			rc = -1;
			break;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue;
		r = fs_read_some(fd, tmp, sizeof(tmp));
		if (r == 0)
			break;
		if (r < 0 || buf_append(out, tmp, (size_t)r) == -1) {
			rc = -1;
			break;
		}
	}
	explicit_bzero(tmp, sizeof(tmp));
	return rc;
}

static int
smtp_secret_command(
    const char *cmd, long long timeout_ms, struct buf *out, struct err *err)
{
	posix_spawn_file_actions_t fa;
	char a0[] = "sh", a1[] = "-c";
	char *line = xstrdup(cmd);
	char *argv[] = { a0, a1, line, NULL };
	int p[2], status = 0, rc;
	pid_t pid;

	if (pipe2(p, O_CLOEXEC) == -1) {
		xfree(line);
		return err_sys(err, ERR_TEMP, "password_command: pipe");
	}
	if (posix_spawn_file_actions_init(&fa) != 0) {
		xfree(line);
		(void)close(p[0]);
		(void)close(p[1]);
		return err_set(err, ERR_TEMP, "password_command: spawn");
	}
	(void)posix_spawn_file_actions_addopen(
	    &fa, 0, "/dev/null", O_RDONLY, 0);
	(void)posix_spawn_file_actions_adddup2(&fa, p[1], 1);
	rc = posix_spawn(&pid, "/bin/sh", &fa, NULL, argv, environ);
	(void)posix_spawn_file_actions_destroy(&fa);
	xfree(line);
	(void)close(p[1]);
	if (rc != 0) {
		(void)close(p[0]);
		errno = rc;
		return err_sys(err, ERR_CONFIG, "password_command: /bin/sh");
	}
	rc = smtp_secret_collect(p[0], conn_now_ms() + timeout_ms, out);
	(void)close(p[0]);
	if (rc == -1)
		(void)kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) == -1 && errno == EINTR)
		;
	if (rc == -1)
		return err_set(err, ERR_CONFIG,
		    "password_command did not finish in time or printed too "
		    "much");
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return err_set(err, ERR_CONFIG,
		    "password_command failed (exit status %d)",
		    WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0;
}

int
smtp_secret_load(const struct conf_smarthost *sh, long long timeout_ms,
    struct buf *secret, struct err *err)
{
	int rc;

	if (sh->password_command != NULL)
		rc = smtp_secret_command(
		    sh->password_command, timeout_ms, secret, err);
	else if (sh->password_file != NULL)
		rc = smtp_secret_file(sh->password_file, secret, err);
	else
		rc = err_set(err, ERR_CONFIG,
		    "username set without password_file or "
		    "password_command");
	if (rc == -1)
		return -1;
	smtp_secret_first_line(secret);
	if (secret->len == 0)
		return err_set(err, ERR_CONFIG, "%s gave an empty secret",
		    sh->password_command != NULL ? "password_command"
						 : "password_file");
	return 0;
}
