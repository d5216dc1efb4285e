/*
 * relayd_main.c - relayd: the daemon that owns the spool.
 *
 *   relayd [-C FILE] [--once] [-v]
 *
 * Runs in the foreground (systemd or a test harness supervises it), logs
 * to stderr, syslog (facility mail) and log_file when set.  Started as
 * root it binds the optional loopback SMTP listener (runner_listen),
 * prepares its directories and drops to the configured user;
 * started as anyone else it runs as that user.  --once imports the
 * maildrop, delivers everything due and exits.  "relayd
 * RUNNER_WORKER_ARG ..." is a delivery worker started by relayd itself
 * (runner_worker.h).
 *
 * Exit codes: 0 stopped by SIGTERM/SIGINT (or --once done), 64 usage,
 * 75 temporary trouble (spool, socket, another relayd running), 78
 * configuration error, 70 internal error.
 */
#include "config.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sysexits.h>

#include "base/log.h"
#include "mail/conf.h"
#include "runner/runner.h"
#include "runner/runner_listen.h"
#include "runner/runner_setup.h"
#include "runner/runner_worker.h"

int main(int argc, char **argv);

static int
relayd_exit_code(const struct err *err)
{
	switch (err->cls) {
	case ERR_CONFIG:
		return EX_CONFIG;
	case ERR_TEMP:
		return EX_TEMPFAIL;
	case ERR_PERM:
		return EX_NOPERM;
	default:
		break;
	}
	return EX_SOFTWARE;
}

static int
relayd_usage(void)
{
	(void)fputs("usage: relayd [-C FILE] [--once] [-v]\n", stderr);
	return EX_USAGE;
}

/* relayd_fail - log err and return its exit code. */
static int
relayd_fail(const struct err *err)
{
	log_errx("%s", err->msg);
	return relayd_exit_code(err);
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, 'o' }, { NULL, 0, NULL, 0 }
	};
	const char *conffile = NULL;
	bool once = false;
	int flags = LOG_TO_STDERR | LOG_TO_SYSLOG, ch, rc;
	struct runner_listen *smtp = NULL;
	struct runner *r;
	struct conf *c;
	struct err err;

	if (argc > 1 && strcmp(argv[1], RUNNER_CTL_CHILD_ARG) == 0)
		return runner_ctl_child_main(argc, argv);
	if (argc > 1 && strcmp(argv[1], RUNNER_WORKER_ARG) == 0)
		return runner_worker_main(argc, argv);
	while ((ch = getopt_long(argc, argv, "C:v", longopts, NULL)) != -1) {
		if (ch == 'C')
			conffile = optarg;
		else if (ch == 'o')
			once = true;
		else if (ch == 'v')
			flags |= LOG_VERBOSE;
		else
			return relayd_usage();
	}
	if (optind != argc)
		return relayd_usage();
	(void)umask(027);
	(void)signal(SIGPIPE, SIG_IGN);
	log_init("relayd", flags);
	err_clear(&err);
	c = conf_load(conffile, &err);
	if (c == NULL)
		return relayd_fail(&err);
	/* the SMTP listener binds before the privilege drop (port 25) */
	if (runner_listen_check(c, &err) == -1 ||
	    (!once && runner_listen_open(c, &smtp, &err) == -1) ||
	    runner_setup(c, &err) == -1) {
		runner_listen_free(smtp);
		conf_free(c);
		return relayd_fail(&err);
	}
	if (c->log_file != NULL && log_set_file(c->log_file) == -1)
		log_warn("cannot open %s", c->log_file);
	r = runner_new(c, &err);
	if (r == NULL) {
		runner_listen_free(smtp);
		return relayd_fail(&err);
	}
	runner_set_listener(r, smtp);
	rc = once ? runner_once(r, &err) : runner_run(r, &err);
	if (rc == -1)
		rc = relayd_fail(&err);
	else
		log_info("%s", once ? "one pass done" : "stopped");
	runner_free(r);
	return rc;
}
