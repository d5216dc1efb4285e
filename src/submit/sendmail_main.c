/*
 * sendmail_main.c - the sendmail program (also mailq and newaliases by
 * argv[0]); see submit.h for the flow and sendmail(8) for the options.
 *
 * Exit status: sysexits, mapped from the error in exactly one place
 * (submit_exit_code).  0 means the message is durably queued: relayd
 * answered 250 after its commit, or the maildrop file and its directory
 * were fsync'd.  Anything else prints one line on stderr naming the
 * problem and the fix.
 */
#include "config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sysexits.h>
#include <unistd.h>

#include "base/log.h"
#include "base/xalloc.h"
#include "mail/conf.h"
#include "submit/submit.h"

int main(int argc, char **argv);

/* sendmail_fail - print err on stderr and return its exit code. */
static int
sendmail_fail(const char *prog, const struct err *err)
{
	(void)fprintf(stderr, "%s: %s\n", prog, err->msg);
	return submit_exit_code(err);
}

/* sendmail_log_tag - -L: a syslog tag of at most 32 printable bytes. */
static void
sendmail_log_tag(const char *tag)
{
	size_t i;

	for (i = 0; tag[i] != '\0'; i++) {
		if (i >= 32 || tag[i] <= ' ' || tag[i] > '~')
			return;
	}
	if (i > 0)
		log_init(tag, LOG_TO_SYSLOG);
}

/* sendmail_deliver - the default mode: queue one message. */
static int
sendmail_deliver(const char *prog, const struct conf *c,
    const struct submit_args *a, const char *env_name, struct err *err)
{
	struct submit_ident id;
	char qid[128];
	bool maildrop = false;
	int rc;

	if (submit_ident_load(&id, a, env_name, c, err) == -1) {
		submit_ident_free(&id);
		return sendmail_fail(prog, err);
	}
	if (id.several_senders)
		(void)fprintf(stderr,
		    "%s: warning: -f holds several "
		    "addresses; using the first, %s\n",
		    prog, id.sender);
	rc = submit_deliver(c, a, &id, qid, sizeof(qid), &maildrop, err);
	if (rc == -1) {
		log_warnx("uid=%lu from=<%s> not queued: %s",
		    (unsigned long)id.uid, id.sender, err->msg);
		submit_ident_free(&id);
		return sendmail_fail(prog, err);
	}
	if (maildrop)
		log_info("uid=%lu from=<%s> relayd is not running; the message "
			 "waits in the maildrop as %s",
		    (unsigned long)id.uid, id.sender, qid);
	if (a->verbose && maildrop)
		(void)fprintf(stderr,
		    "%s: relayd is not running; the message waits in the "
		    "maildrop as %s\n",
		    prog, qid);
	else if (a->verbose)
		(void)fprintf(stderr, "%s: queued as %s\n", prog, qid);
	submit_ident_free(&id);
	return EX_OK;
}

/* sendmail_run - load the configuration and run the chosen mode. */
static int
sendmail_run(const char *prog, const struct submit_args *a,
    const char *env_name, struct err *err)
{
	struct conf *c;
	int rc = EX_OK;

	c = conf_load(a->conf_path, err);
	if (c == NULL)
		return sendmail_fail(prog, err);
	switch (a->mode) {
	case SUBMIT_MODE_DELIVER:
		rc = sendmail_deliver(prog, c, a, env_name, err);
		break;
	case SUBMIT_MODE_VERIFY:
		if (submit_verify(c, a, stdout, err) == -1)
			rc = sendmail_fail(prog, err);
		break;
	case SUBMIT_MODE_ALIASES:
		if (submit_newaliases(c, stdout, err) == -1)
			rc = sendmail_fail(prog, err);
		break;
	case SUBMIT_MODE_PRINTQ:
		if (submit_queue_print(c, stdout, err) == -1)
			rc = sendmail_fail(prog, err);
		break;
	case SUBMIT_MODE_FLUSH:
		if (submit_queue_flush(c, err) == -1)
			rc = sendmail_fail(prog, err);
		break;
	case SUBMIT_MODE_SMTP:
		if (submit_smtp(c, a, err) == -1)
			rc = sendmail_fail(prog, err);
		break;
	case SUBMIT_MODE_NOOP:
		break;
	}
	if (fflush(stdout) == EOF && rc == EX_OK) {
		(void)fprintf(stderr, "%s: cannot write the output\n", prog);
		rc = EX_IOERR;
	}
	conf_free(c);
	return rc;
}

int
main(int argc, char **argv)
{
	const char *prog = submit_prog_name(argc > 0 ? argv[0] : NULL);
	struct submit_args a;
	struct err err;
	char *env_name;
	size_t k;
	int rc;

	env_name = submit_harden();
	log_init(prog, LOG_TO_SYSLOG);
	err_clear(&err);
	if (submit_args_parse(&a, argc, argv, getuid() == 0, &err) == -1) {
		submit_args_free(&a);
		xfree(env_name);
		return sendmail_fail(prog, &err);
	}
	for (k = 0; k < a.nwarn; k++)
		(void)fprintf(stderr, "%s: warning: %s\n", prog, a.warn[k]);
	if (a.log_tag != NULL)
		sendmail_log_tag(a.log_tag);
	if (a.print_version)
		(void)printf("relay sendmail %s\n", RELAY_VERSION);
	if (a.mode == SUBMIT_MODE_NOOP ||
	    (a.print_version && a.mode == SUBMIT_MODE_DELIVER &&
		a.nrcpts == 0 && !a.extract))
		rc = EX_OK;
	else
		rc = sendmail_run(prog, &a, env_name, &err);
	submit_args_free(&a);
	xfree(env_name);
	return rc;
}
