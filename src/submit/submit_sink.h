/*
 * submit_sink.h - where sendmail writes the submission stream: relayd's
 * unix socket, or, when relayd cannot be reached, one file in the offline
 * maildrop.  Internal to src/submit.
 *
 *   submit_sink_open --> submit_sink_write* --> submit_sink_commit
 *            \                  \                    (250 / renamed)
 *             `------------------`--> submit_sink_abort (nothing queued)
 *
 * A signal (INT, TERM, HUP, PIPE) before the commit removes the maildrop
 * temp file and exits 75; a socket is just closed (relayd discards a
 * submission without its end marker).  Either way nothing half-queued
 * remains.
 */
#ifndef RELAY_SUBMIT_SINK_H
#define RELAY_SUBMIT_SINK_H

#include <stdbool.h>
#include <stddef.h>

#include "base/err.h"
#include "mail/conf.h"

struct submit_sink;

/* submit_sink_signals - install the signal handlers (before stdin is
 * read, so an interrupted submission exits 75). */
void submit_sink_signals(void);

/* submit_sink_open - connect to c->socket; when that fails (relayd not
 * running), create the maildrop temp file.  Errors: ERR_TEMP with the
 * one-line reason naming both problems and the fix. */
struct submit_sink *submit_sink_open(const struct conf *c, struct err *err);

/* submit_sink_is_maildrop - is the message going to the maildrop? */
bool submit_sink_is_maildrop(const struct submit_sink *s);

/* submit_sink_write - write n bytes of the stream.  Errors: ERR_TEMP
 * (disk full, relayd went away); when relayd answered early, its reply
 * (e.g. 552) decides the class as for submit_sink_commit. */
int submit_sink_write(
    struct submit_sink *s, const void *p, size_t n, struct err *err);

/* submit_sink_commit - finish: wait for relayd's "250 QID", or fsync,
 * rename tmp.X to msg.X and fsync the directory.  OUT: id (the queue id
 * or the maildrop file name).  Frees s in every case.  Errors: ERR_TEMP
 * (4xx, I/O, disk full), ERR_PERM with smtp_code from relayd's 5xx. */
int submit_sink_commit(
    struct submit_sink *s, char *id, size_t id_size, struct err *err);

/* submit_sink_abort - give up: close the socket or unlink the temp file,
 * and free s.  NULL is a no-op. */
void submit_sink_abort(struct submit_sink *s);

#endif
