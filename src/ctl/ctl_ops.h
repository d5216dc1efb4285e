/*
 * ctl_ops.h - relayctl's commands beyond list and show: why, the queue
 * changes, stats, health and check.  Each parses its own arguments and
 * returns relayctl's exit code (ctl.h); --json prints relayd's objects as
 * JSON Lines (INTERFACES.md).
 *
 *   why [ID] [--json]              exit 1 when the message (the queue) is
 *                                  stuck
 *   flush [ID...] [--json]         relayd must run (exit 1 otherwise)
 *   retry ID, bounce ID [--json]   likewise; an id that changed nothing
 *   hold ID|--all [--json]           exits 1, another user's id or a
 *   release ID|--all [--json]        missing one 2, --all by anyone but
 *   delete ID|--all [--json]         root or group relay 77
 *   stats [--json]
 *   health [--warn-age D] [--crit-age D] [--warn-count N]
 *          [--crit-count N] [--json]
 *                                  exit 0 OK, 1 WARNING, 2 CRITICAL,
 *                                  3 UNKNOWN (also for a usage error)
 *   check [--json]                 root and group relay; exit 1 when a
 *                                  problem was found
 */
#ifndef RELAY_CTL_OPS_H
#define RELAY_CTL_OPS_H

#include "mail/conf.h"

/* The handlers; argv[0] is the command word. */
int ctl_ops_why(const struct conf *c, int argc, char **argv);
int ctl_ops_flush(const struct conf *c, int argc, char **argv);
int ctl_ops_change(const struct conf *c, int argc, char **argv);
int ctl_ops_stats(const struct conf *c, int argc, char **argv);
int ctl_ops_health(const struct conf *c, int argc, char **argv);

/* ctl_check_main - "check" (ctl_check.c).  A configuration that does not
 * load is reported by relayctl itself before this runs (exit 1). */
int ctl_check_main(const struct conf *c, int argc, char **argv);

/* health's exit codes (the monitoring-plugin convention). */
#define CTL_HEALTH_OK 0
#define CTL_HEALTH_WARNING 1
#define CTL_HEALTH_CRITICAL 2
#define CTL_HEALTH_UNKNOWN 3

#endif
