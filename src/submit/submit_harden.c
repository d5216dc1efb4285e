/*
 * submit_harden.c - what sendmail does before anything else
 * (ARCHITECTURE "Privileges", STYLE section 8).
 *
 *   1. fds 0, 1 and 2 are made valid (opened on /dev/null when closed),
 *      so that no file opened later can become stdout or stderr and
 *      receive output meant for a terminal (the classic setgid attack);
 *   2. $NAME (the full name for a generated From) is kept, then the whole
 *      environment is cleared: nothing the caller sets (TZ, locale, LD_*,
 *      TMPDIR, ...) influences a setgid program;
 *   3. umask 027: the maildrop file is created 0640 whatever the caller's
 *      umask;
 *   4. no core dumps (RLIMIT_CORE 0, PR_SET_DUMPABLE 0): a crash must not
 *      leave message text or spool paths in a file the user can read;
 *   5. SIGXFSZ is ignored so that a file size limit (ulimit -f) becomes a
 *      write error (EFBIG, exit 75) instead of a silent kill.
 * sendmail never execs, so there is no PATH to set.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sysexits.h>
#include <unistd.h>

#include "base/xalloc.h"
#include "submit/submit.h"

/* Longest $NAME kept; a generated From trims it further. */
#define SUBMIT_NAME_MAX 256

/* submit_fix_fds - open /dev/null on each of fds 0-2 that is closed. */
static void
submit_fix_fds(void)
{
	int fd;

	for (fd = 0; fd <= 2; fd++) {
		int nfd;

		if (fcntl(fd, F_GETFD) != -1 || errno != EBADF)
			continue;
		nfd = open("/dev/null", fd == 0 ? O_RDONLY : O_WRONLY);
		if (nfd != fd)
			_exit(EX_OSERR); /* no stderr to report on */
	}
}

char *
submit_harden(void)
{
	struct rlimit rl = { 0, 0 };
	const char *name;
	char *kept = NULL;

	submit_fix_fds();
	name = getenv("NAME");
	if (name != NULL && *name != '\0')
		kept = xstrndup(name, strnlen(name, SUBMIT_NAME_MAX));
	if (clearenv() != 0)
		_exit(EX_OSERR);
	(void)umask(027);
	(void)setrlimit(RLIMIT_CORE, &rl);
	(void)prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
	(void)signal(SIGXFSZ, SIG_IGN);
	return kept;
}

/*
 * __lsan_is_turned_off - LeakSanitizer's hook, called only in sanitizer
 * builds: LeakSanitizer inspects the process with ptrace, which a
 * non-dumpable process (step 4, or any setgid program) refuses unless it
 * runs as root.  Leak checking therefore stays on in the runs as root and
 * is skipped, rather than failing, in the runs as other users.
 */
int __lsan_is_turned_off(void);

int
__lsan_is_turned_off(void)
{
	return geteuid() != 0 && prctl(PR_GET_DUMPABLE, 0, 0, 0, 0) != 1;
}
