/*
 * sysops.c - the overridable system call table (see sysops.h).
 */
#include "config.h"

#include <stdio.h>
#include <unistd.h>

#include "base/sysops.h"

struct sysops sysops = {
	.read = read,
	.write = write,
	.fsync = fsync,
	.rename = rename,
	.connect = connect,
	.time = time,
};

void
sysops_reset(void)
{
	sysops.read = read;
	sysops.write = write;
	sysops.fsync = fsync;
	sysops.rename = rename;
	sysops.connect = connect;
	sysops.time = time;
}

ssize_t
sys_read(int fd, void *p, size_t n)
{
	return sysops.read(fd, p, n);
}

ssize_t
sys_write(int fd, const void *p, size_t n)
{
	return sysops.write(fd, p, n);
}

int
sys_fsync(int fd)
{
	return sysops.fsync(fd);
}

int
sys_rename(const char *from, const char *to)
{
	return sysops.rename(from, to);
}

int
sys_connect(int fd, const struct sockaddr *sa, socklen_t len)
{
	return sysops.connect(fd, sa, len);
}

time_t
sys_time(void)
{
	return sysops.time(NULL);
}
