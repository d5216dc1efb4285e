/*
 * relayctl_main.c - relayctl: look at and manage relay's queue.
 *
 *   relayctl [-C FILE] COMMAND [ARGS]
 *
 * Commands are rows of ctl_commands: a command word, its usage line, flags
 * and a handler with the signature
 *
 *   int handler(const struct conf *c, int argc, char **argv)
 *
 * (argv[0] is the command word; the result is relayctl's exit code).
 * Read-only commands come first.  Commands that change the queue are
 * requests to relayd, which checks the caller's privilege itself (uid from
 * SO_PEERCRED); relayctl never has more privilege than its caller.
 *
 * Exit codes: 0 ok, 1 a problem (relayd down and the spool unreadable, a
 * broken configuration, ...), 2 usage or bad queue id, 77 not permitted.
 */
#include "config.h"

#include <stdio.h>
#include <string.h>

#include "base/log.h"
#include "ctl/ctl.h"
#include "ctl/ctl_import.h"
#include "ctl/ctl_ops.h"
#include "ctl/ctl_probe.h"
#include "ctl/ctl_queue.h"
#include "mail/conf.h"

int main(int argc, char **argv);

enum ctl_command_flags {
	CTL_CMD_NOCONF = 1 << 0, /* runs without reading relay.conf */
};

struct ctl_command {
	const char *name;
	const char *usage;
	int flags;
	int (*fn)(const struct conf *c, int argc, char **argv);
};

/* The commands: read-only first (probe and tls may write the TLS mode
 * cache; see ctl_probe.h), then those that change the queue. */
static const struct ctl_command ctl_commands[] = {
	{ "list", "list [--state S] [--json]", 0, ctl_queue_list },
	{ "show", "show ID [--body] [--json]", 0, ctl_queue_show },
	{ "why", "why [ID] [--json]", 0, ctl_ops_why },
	{ "stats", "stats [--json]", 0, ctl_ops_stats },
	{ "health",
	    "health [--warn-age D] [--crit-age D] [--warn-count N] "
	    "[--crit-count N] [--json]",
	    0, ctl_ops_health },
	{ "check", "check [--json]", 0, ctl_check_main },
	{ "import",
	    "import dma|nullmailer|msmtp|ssmtp|postfix [--secret-out FILE] "
	    "[FILE...]",
	    CTL_CMD_NOCONF, ctl_import_main },
	{ "probe", "probe [HOST[:PORT]] [--no-auth] [--json]", 0,
	    ctl_probe_main },
	{ "tls", "tls [--json] | tls forget HOST[:PORT]", 0, ctl_tls_main },
	/* these change the queue: requests to relayd, which checks them */
	{ "flush", "flush [ID...] [--json]", 0, ctl_ops_flush },
	{ "retry", "retry ID [--json]", 0, ctl_ops_change },
	{ "hold", "hold ID|--all [--json]", 0, ctl_ops_change },
	{ "release", "release ID|--all [--json]", 0, ctl_ops_change },
	{ "delete", "delete ID|--all [--json]", 0, ctl_ops_change },
	{ "bounce", "bounce ID [--json]", 0, ctl_ops_change },
};

static int
ctl_usage(FILE *out)
{
	size_t i;

	(void)fputs(
	    "usage: relayctl [-C FILE] COMMAND [ARGS]\ncommands:\n", out);
	for (i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
		(void)fprintf(out, "  %s\n", ctl_commands[i].usage);
	return out == stdout ? CTL_EXIT_OK : CTL_EXIT_USAGE;
}

static const struct ctl_command *
ctl_find(const char *name)
{
	size_t i;

	for (i = 0; i < sizeof(ctl_commands) / sizeof(ctl_commands[0]); i++)
		if (strcmp(ctl_commands[i].name, name) == 0)
			return &ctl_commands[i];
	return NULL;
}

/* ctl_conffile - "-C FILE" / "-CFILE" before the command; 0, or -1 on a
 * usage error.  *i is left on the command word. */
static int
ctl_conffile(int argc, char **argv, int *i, const char **conffile)
{
	if (*i < argc && strcmp(argv[*i], "-C") == 0) {
		if (*i + 1 >= argc)
			return -1;
		*conffile = argv[*i + 1];
		*i += 2;
	} else if (*i < argc && strncmp(argv[*i], "-C", 2) == 0) {
		*conffile = argv[*i] + 2;
		*i += 1;
	}
	return *i < argc ? 0 : -1;
}

int
main(int argc, char **argv)
{
	const struct ctl_command *cmd;
	const char *conffile = NULL;
	struct conf *c = NULL;
	struct err err;
	int i = 1, rc;

	log_init("relayctl", LOG_TO_STDERR);
	if (ctl_conffile(argc, argv, &i, &conffile) == -1)
		return ctl_usage(stderr);
	if (strcmp(argv[i], "help") == 0 || strcmp(argv[i], "-h") == 0 ||
	    strcmp(argv[i], "--help") == 0)
		return ctl_usage(stdout);
	cmd = ctl_find(argv[i]);
	if (cmd == NULL) {
		(void)fprintf(
		    stderr, "relayctl: unknown command %s\n", argv[i]);
		return ctl_usage(stderr);
	}
	if (!(cmd->flags & CTL_CMD_NOCONF)) {
		err_clear(&err);
		c = conf_load(conffile, &err);
		if (c == NULL) {
			(void)fprintf(stderr, "relayctl: %s\n", err.msg);
			return CTL_EXIT_PROBLEM;
		}
	}
	rc = cmd->fn(c, argc - i, argv + i);
	if (fflush(stdout) == EOF && rc == CTL_EXIT_OK)
		rc = CTL_EXIT_PROBLEM;
	conf_free(c);
	return rc;
}
