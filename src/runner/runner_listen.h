/*
 * runner_listen.h - relayd's optional SMTP listener on loopback addresses
 * (conf "listen", off by default), for programs that can only send to
 * localhost:25.  The SMTP dialogue is mail/smtpd, the same code as
 * "sendmail -bs"; each message becomes a submission (runner_intake) and is
 * committed with the other submissions of relayd's loop.
 *
 *   relayd_main: runner_listen_check (78 on a non-loopback address)
 *                runner_listen_open  (bind, as root, before the drop)
 *   runner_run:  runner_listen_pollfds -> poll -> runner_listen_io
 *                (accept, read, smtpd_feed, write) -> runner_listen_commit
 *                (the group commit, then the 250s) -> runner_listen_sweep
 *                (timeouts, closed sessions)
 *   SIGTERM:     runner_listen_stop (421 to every session)
 *
 * The submitter of a message that came in over the listener is relayd's
 * own uid: the client is only known by its loopback address.
 *
 * Limits: listen_max_connections sessions at once (more wait in the
 * listen queue); max_message_size per message; command_timeout between
 * commands, data_timeout inside DATA, session_timeout for a whole session;
 * a client that does not read its replies is not read from.
 *
 * Security: only loopback addresses may be bound (127.0.0.0/8, ::1), and
 * a connection whose peer is not loopback is closed at once, unanswered.
 */
#ifndef RELAY_RUNNER_LISTEN_H
#define RELAY_RUNNER_LISTEN_H

#include <poll.h>
#include <stddef.h>
#include <sys/socket.h>
#include <time.h>

#include "base/err.h"
#include "mail/conf.h"
#include "runner/runner_enqueue.h"

/* Listening sockets at most. */
#define RUNNER_LISTEN_MAX_ADDRS 8

struct runner_listen;

/* runner_listen_parse - parse one listen entry ("127.0.0.1:25",
 * "[::1]:2525") into OUT *ss / *len.  Errors: ERR_CONFIG naming the entry:
 * not address:port, not a numeric address, a port outside 1-65535, or an
 * address that is not loopback. */
int runner_listen_parse(const char *spec, struct sockaddr_storage *ss,
    socklen_t *len, struct err *err);

/* runner_listen_check - every listen entry of c is valid (see above),
 * at most RUNNER_LISTEN_MAX_ADDRS, listen_max_connections >= 1.
 * ERR_CONFIG with "listen: ..." otherwise. */
int runner_listen_check(const struct conf *c, struct err *err);

/* runner_listen_open - bind and listen on every entry of c->listen.  OUT
 * *out: the listener (owned by the caller), NULL when listen is empty.
 * Errors: ERR_CONFIG (bad entry; no permission to bind, e.g. port 25
 * without root or CAP_NET_BIND_SERVICE), ERR_TEMP (address in use). */
int runner_listen_open(
    const struct conf *c, struct runner_listen **out, struct err *err);

/* runner_listen_free - close every socket and session; NULL is a no-op. */
void runner_listen_free(struct runner_listen *l);

/* runner_listen_nfds - how many pollfd entries runner_listen_pollfds may
 * fill (0 for NULL). */
size_t runner_listen_nfds(const struct runner_listen *l);

/* runner_listen_pollfds - fill p[0..max) with what the listener waits
 * for; returns the count (0 for NULL).  The listening sockets are left
 * out while listen_max_connections sessions are open. */
size_t runner_listen_pollfds(
    const struct runner_listen *l, struct pollfd *p, size_t max);

/* runner_listen_io - act on p[0..n) (any pollfd set; entries that are not
 * the listener's are ignored): accept, read and answer.  c is relayd's
 * current configuration (borrowed for the call). */
void runner_listen_io(struct runner_listen *l, const struct pollfd *p, size_t n,
    const struct conf *c, time_t now);

/* runner_listen_commit - commit every complete message (one transaction,
 * runner_enqueue_batch), answer each and go on with the input its client
 * pipelined.  Returns how many were queued. */
size_t runner_listen_commit(
    struct runner_listen *l, const struct runner_enqueue *ex);

/* runner_listen_sweep - time out silent sessions (421), drop closed
 * ones. */
void runner_listen_sweep(
    struct runner_listen *l, const struct conf *c, time_t now);

/* runner_listen_next - the earliest time a session may time out (a time
 * in the past when a message waits for its commit), or 0 when nothing is
 * due. */
time_t runner_listen_next(const struct runner_listen *l, const struct conf *c);

/* runner_listen_stop - relayd stops: 421 to every session, messages not
 * yet committed dropped (never answered 250), everything closed. */
void runner_listen_stop(struct runner_listen *l);

#endif
