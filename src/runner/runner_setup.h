/*
 * runner_setup.h - relayd's start: its directories with their modes and
 * owners, and the drop from root to the configured user.
 *
 *   spool_dir            0750  user:group   queue.db and its side files
 *   spool_dir/maildrop   1730  user:group   offline drops (setgid sendmail
 *                                           writes, nobody else reads)
 *   spool_dir/corrupt    0750  user:group   maildrop files that failed
 *   dirname(socket)      0755  user:group   only when relayd creates it
 */
#ifndef RELAY_RUNNER_SETUP_H
#define RELAY_RUNNER_SETUP_H

#include <stdbool.h>

#include "base/err.h"
#include "mail/conf.h"

/* runner_setup - create what is missing.  Started as root: look up user
 * and group (ERR_CONFIG when missing), create and chown, then drop to the
 * user for good (initgroups, setgid, setuid) and verify that root cannot
 * be regained.  Started as anyone else: keep that identity, create with
 * the same modes, set the group where permitted. */
int runner_setup(const struct conf *c, struct err *err);

/* runner_corrupt_dir - spool_dir + "/corrupt" (owned by the caller). */
char *runner_corrupt_dir(const struct conf *c);

#endif
