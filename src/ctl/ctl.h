/*
 * ctl.h - what every relayctl command shares: the environment, asking
 * relayd (or, while relayd is down, reading the spool directly), exit
 * codes, and printing untrusted text.
 *
 * Exit codes (INTERFACES.md): CTL_EXIT_OK 0, CTL_EXIT_PROBLEM 1 (the
 * command ran and found a problem, relayd unreachable), CTL_EXIT_USAGE 2
 * (usage error, bad queue id), CTL_EXIT_DENIED 77 (not permitted).
 */
#ifndef RELAY_CTL_H
#define RELAY_CTL_H

#include <stdbool.h>
#include <stdio.h>
#include <time.h>

#include "mail/conf.h"
#include "mail/ctlclient.h"

#define CTL_EXIT_OK 0
#define CTL_EXIT_PROBLEM 1
#define CTL_EXIT_USAGE 2
#define CTL_EXIT_DENIED 77

/* What a command handler gets. */
struct ctl_env {
	const struct conf *conf;
	FILE *out;
	const char *prog; /* "relayctl" */
};

/* ctl_call - run one control request (e.g. "list state=queued"): over
 * relayd's socket, or, when relayd is not running and the verb only reads
 * the spool, in-process on a read-only spool (root, group, or the spool's
 * owner only).  Each object goes to cb.  Returns relayctl's exit code;
 * problems are reported on stderr. */
int ctl_call(const struct ctl_env *e, const char *request, ctlclient_line_cb cb,
    void *arg);

/* ctl_usage_error - print "relayctl: msg" and the usage line; returns
 * CTL_EXIT_USAGE. */
int ctl_usage_error(const struct ctl_env *e, const char *usage, const char *fmt,
    ...) __attribute__((format(printf, 3, 4)));

/* ctl_put_escaped - print s (may be NULL: "-") with control characters
 * and non-ASCII bytes escaped (str_escape). */
void ctl_put_escaped(FILE *out, const char *s);

/* ctl_time - "YYYY-MM-DD HH:MM:SS" local time into buf, "-" for 0. */
const char *ctl_time(char *buf, size_t size, time_t t);

#endif
