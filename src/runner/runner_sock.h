/*
 * runner_sock.h - relayd's unix socket: binding it safely (one relayd per
 * socket), the peer's identity, and who counts as privileged.
 */
#ifndef RELAY_RUNNER_SOCK_H
#define RELAY_RUNNER_SOCK_H

#include <stdbool.h>
#include <sys/types.h>

#include "base/err.h"
#include "mail/conf.h"

/* What was bound, so that only our own socket file is removed at exit. */
struct runner_sock_id {
	dev_t dev;
	ino_t ino;
};

/* runner_sock_listen - listen on path (mode 0666: any local user may
 * submit).  A leftover socket nobody answers on is removed; when another
 * process answers on it, ERR_TEMP "another relayd is already running".
 * Returns the non-blocking, close-on-exec fd or -1 with err. */
int runner_sock_listen(
    const char *path, struct runner_sock_id *id, struct err *err);

/* runner_sock_unlink - remove path if it is still the socket we bound. */
void runner_sock_unlink(const char *path, const struct runner_sock_id *id);

/* runner_sock_peer - the connected peer's uid and pid (SO_PEERCRED). */
int runner_sock_peer(int fd, uid_t *uid, pid_t *pid, struct err *err);

/* runner_sock_privileged - may uid see and act on every message?  True for
 * uid 0, for relayd's own uid, and for accounts whose primary group is
 * c->group or that are listed as its members.  Decided from the account
 * database, never from a process's effective gid (a setgid sendmail
 * carries the spool group). */
bool runner_sock_privileged(const struct conf *c, uid_t uid);

/* runner_sock_in_group - is uid's account in c->group (primary group or
 * listed member)?  False when the group does not exist. */
bool runner_sock_in_group(const struct conf *c, uid_t uid);

#endif
