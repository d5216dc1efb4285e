/*
 * fsutil.h - whole reads and writes, fsync of files and directories.
 */
#ifndef RELAY_FSUTIL_H
#define RELAY_FSUTIL_H

#include <stddef.h>
#include <sys/types.h>

#include "base/buf.h"
#include "base/err.h"

/* fs_write_all - write all n bytes (retrying EINTR and short writes).
 * A full disk is ERR_TEMP; err names what. */
int fs_write_all(int fd, const void *p, size_t n, struct err *err);

/* fs_read_some - read up to n bytes, retrying EINTR; returns the count,
 * 0 at EOF, -1 on error (errno set). */
ssize_t fs_read_some(int fd, void *p, size_t n);

/* fs_read_file - read a whole (small) file into out, at most out->max. */
int fs_read_file(const char *path, struct buf *out, struct err *err);

/* fs_fsync_dir - fsync the directory that holds path (or path itself if
 * it is a directory). */
int fs_fsync_dir(const char *dirpath, struct err *err);

/* fs_mkdir_p - create a directory and its parents with mode. */
int fs_mkdir_p(const char *path, mode_t mode, struct err *err);

/* fs_set_cloexec - set FD_CLOEXEC on fd. */
int fs_set_cloexec(int fd);

/* fs_set_nonblock - set or clear O_NONBLOCK. */
int fs_set_nonblock(int fd, int on);

#endif
