/*
 * floor.c - the floor for one durable submission, used by tests/bench/submit:
 * this program is exec'd, appends 2 KB to a file and fsyncs it, then exits.
 * A sendmail handing a message to relayd cannot be faster than this (a
 * process start plus one synchronous write to the same file system), so
 * the benchmark prints its time beside sendmail's.
 *
 *   floor FILE
 *
 * Exit 0, or 1 with a message when a step fails.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv);

int
main(int argc, char **argv)
{
	char block[2048];
	ssize_t w;
	int fd;

	if (argc != 2) {
		(void)fputs("usage: floor FILE\n", stderr);
		return 1;
	}
	memset(block, 'x', sizeof(block));
	fd = open(argv[1], O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (fd == -1) {
		perror(argv[1]);
		return 1;
	}
	w = write(fd, block, sizeof(block));
	if (w != (ssize_t)sizeof(block) || fsync(fd) == -1) {
		perror(argv[1]);
		(void)close(fd);
		return 1;
	}
	if (close(fd) == -1) {
		perror(argv[1]);
		return 1;
	}
	return 0;
}
