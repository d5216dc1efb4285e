/*
 * fsutil.c - file helpers with checked returns (see fsutil.h).
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/str.h"
#include "base/sysops.h"

int
fs_write_all(int fd, const void *p, size_t n, struct err *err)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = sys_write(fd, c, n);

		if (w == -1) {
			if (errno == EINTR)
				continue;
			return err_sys(err, ERR_TEMP, "write");
		}
		c += w;
		n -= (size_t)w;
	}
	return 0;
}

ssize_t
fs_read_some(int fd, void *p, size_t n)
{
	ssize_t r;

	do
		r = sys_read(fd, p, n);
	while (r == -1 && errno == EINTR);
	return r;
}

int
fs_read_file(const char *path, struct buf *out, struct err *err)
{
	char chunk[4096];
	int fd, rc = 0;
	ssize_t r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd == -1)
		return err_sys(err, ERR_CONFIG, "cannot open %s", path);
	while ((r = fs_read_some(fd, chunk, sizeof(chunk))) > 0) {
		if (buf_append(out, chunk, (size_t)r) == -1) {
			rc = err_set(err, ERR_CONFIG, "%s is too large", path);
			goto out_close;
		}
	}
	if (r == -1)
		rc = err_sys(err, ERR_CONFIG, "cannot read %s", path);
out_close:
	(void)close(fd);
	return rc;
}

int
fs_fsync_dir(const char *dirpath, struct err *err)
{
	int fd, rc = 0;

	fd = open(dirpath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd == -1)
		return err_sys(
		    err, ERR_TEMP, "cannot open directory %s", dirpath);
	if (sys_fsync(fd) == -1 && errno != EINVAL)
		rc = err_sys(
		    err, ERR_TEMP, "cannot fsync directory %s", dirpath);
	if (close(fd) == -1 && rc == 0)
		rc = err_sys(err, ERR_TEMP, "close %s", dirpath);
	return rc;
}

int
fs_mkdir_p(const char *path, mode_t mode, struct err *err)
{
	char tmp[4096];
	char *p;

	if (str_copy(tmp, sizeof(tmp), path) == -1)
		return err_set(err, ERR_CONFIG, "path too long: %s", path);
	for (p = tmp + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(tmp, mode) == -1 && errno != EEXIST)
			return err_sys(err, ERR_TEMP, "mkdir %s", tmp);
		*p = '/';
	}
	if (mkdir(tmp, mode) == -1 && errno != EEXIST)
		return err_sys(err, ERR_TEMP, "mkdir %s", tmp);
	return 0;
}

int
fs_set_cloexec(int fd)
{
	int fl = fcntl(fd, F_GETFD);

	if (fl == -1)
		return -1;
	return fcntl(fd, F_SETFD, fl | FD_CLOEXEC);
}

int
fs_set_nonblock(int fd, int on)
{
	int fl = fcntl(fd, F_GETFL);

	if (fl == -1)
		return -1;
	fl = on ? (fl | O_NONBLOCK) : (fl & ~O_NONBLOCK);
	return fcntl(fd, F_SETFL, fl);
}
