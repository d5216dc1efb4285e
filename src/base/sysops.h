/*
 * sysops.h - the system calls tests must be able to fail.
 *
 * Code calls sys_read(), sys_write(), ... which go through the table
 * sysops.  A unit test may swap single entries (e.g. make fsync fail with
 * ENOSPC) and restore them with sysops_reset().
 */
#ifndef RELAY_SYSOPS_H
#define RELAY_SYSOPS_H

#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

struct sysops {
	ssize_t (*read)(int fd, void *p, size_t n);
	ssize_t (*write)(int fd, const void *p, size_t n);
	int (*fsync)(int fd);
	int (*rename)(const char *from, const char *to);
	int (*connect)(int fd, const struct sockaddr *sa, socklen_t len);
	time_t (*time)(time_t *t);
};

extern struct sysops sysops;

/* sysops_reset - restore the real system calls. */
void sysops_reset(void);

ssize_t sys_read(int fd, void *p, size_t n);
ssize_t sys_write(int fd, const void *p, size_t n);
int sys_fsync(int fd);
int sys_rename(const char *from, const char *to);
int sys_connect(int fd, const struct sockaddr *sa, socklen_t len);
time_t sys_time(void);

#endif
