/*
 * spawn.c - the process starter of tests/bench/submit: runs a program N
 * times one after another, each with the same bytes on its stdin, and
 * prints one line per run: its wall time in microseconds (from
 * posix_spawn to the end of waitpid) and its exit status.
 *
 *   spawn N FIRST INPUT PROGRAM [ARG...]
 *
 * An ARG holding "{n}" has it replaced by the run's number, counting from
 * FIRST (distinct recipients, as separate callers would give).  stdout
 * goes to /dev/null; stderr is inherited.  INPUT must fit a pipe (64 KiB),
 * so writing it whole before waiting cannot block.
 *
 * The benchmark used to start each process from Python (subprocess.run):
 * that cost about 0.2 ms of the harness's own CPU per process, as much as
 * relayd's share of a submission, and the concurrent writers paid it out
 * of the same two cores sendmail and relayd run on.  A caller of sendmail
 * (cron, PHP, git) pays for its own fork, not for the benchmark's.
 *
 * Exit 0, or 1 with a message when a step of the harness itself fails.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

int main(int argc, char **argv);

static double
usec(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* subst - argv with "{n}" in each argument replaced by n (new strings). */
static char **
subst(char **args, int nargs, long n)
{
	char **out = calloc((size_t)nargs + 1, sizeof(*out));
	int i;

	if (out == NULL)
		return NULL;
	for (i = 0; i < nargs; i++) {
		const char *at = strstr(args[i], "{n}");
		size_t len = strlen(args[i]) + 24;

		out[i] = malloc(len);
		if (out[i] == NULL)
			return NULL;
		if (at == NULL)
			(void)snprintf(out[i], len, "%s", args[i]);
		else
			(void)snprintf(out[i], len, "%.*s%ld%s",
			    (int)(at - args[i]), args[i], n, at + 3);
	}
	return out;
}

static void
subst_free(char **v)
{
	size_t i;

	for (i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}

/* one - a run: its status via *status, -1 when the harness failed. */
static int
one(char **av, const char *data, size_t len, int devnull, int *status)
{
	posix_spawn_file_actions_t fa;
	int p[2], rc = -1;
	pid_t pid;

	if (pipe(p) == -1)
		return -1;
	if ((errno = posix_spawn_file_actions_init(&fa)) != 0)
		goto out_pipe;
	/* the posix_spawn calls return their error instead of setting it */
	if ((errno = posix_spawn_file_actions_adddup2(&fa, p[0], 0)) != 0 ||
	    (errno = posix_spawn_file_actions_adddup2(&fa, devnull, 1)) != 0 ||
	    (errno = posix_spawn_file_actions_addclose(&fa, p[1])) != 0 ||
	    (errno = posix_spawn(&pid, av[0], &fa, NULL, av, environ)) != 0)
		goto out_fa;
	(void)close(p[0]);
	p[0] = -1;
	/* a program that exits without reading gives EPIPE: its status
	 * says what happened */
	if (write(p[1], data, len) == -1 && errno != EPIPE)
		goto out_fa;
	(void)close(p[1]);
	p[1] = -1;
	while (waitpid(pid, status, 0) == -1)
		if (errno != EINTR)
			goto out_fa;
	rc = 0;
out_fa:
	posix_spawn_file_actions_destroy(&fa);
out_pipe:
	if (p[0] != -1)
		(void)close(p[0]);
	if (p[1] != -1)
		(void)close(p[1]);
	return rc;
}

int
main(int argc, char **argv)
{
	static char data[65536];
	long n, first, i;
	ssize_t len;
	int fd, devnull;

	if (argc < 5) {
		(void)fputs(
		    "usage: spawn N FIRST INPUT PROGRAM [ARG...]\n", stderr);
		return 1;
	}
	n = strtol(argv[1], NULL, 10);
	first = strtol(argv[2], NULL, 10);
	fd = open(argv[3], O_RDONLY | O_CLOEXEC);
	if (fd == -1 || (len = read(fd, data, sizeof(data))) == -1) {
		perror(argv[3]);
		return 1;
	}
	(void)close(fd);
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull == -1) {
		perror("/dev/null");
		return 1;
	}
	(void)signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < n; i++) {
		char **av = subst(argv + 4, argc - 4, first + i);
		double t0, t1;
		int status;

		if (av == NULL) {
			(void)fputs("spawn: out of memory\n", stderr);
			return 1;
		}
		t0 = usec();
		if (one(av, data, (size_t)len, devnull, &status) == -1) {
			perror(av[0]);
			return 1;
		}
		t1 = usec();
		subst_free(av);
		(void)printf("%.1f %d\n", t1 - t0,
		    WIFEXITED(status) ? WEXITSTATUS(status)
				      : 128 + WTERMSIG(status));
	}
	return fflush(stdout) == 0 ? 0 : 1;
}
