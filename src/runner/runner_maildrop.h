/*
 * runner_maildrop.h - importing the offline maildrop (spool_dir/maildrop,
 * mode 1730): files sendmail wrote while relayd was not reachable.
 *
 *   tmp.*  being written by a sendmail; removed when older than an hour
 *          (that sendmail died mid-write)
 *   msg.*  complete (sendmail renames tmp.* to msg.* after fsync): one
 *          submission stream each (subproto.h), ending exactly after "0\n"
 *
 * A msg.* file must be a regular file with one link; its owner is the
 * submitter.  It is parsed like a live submission, enqueued through the
 * same group commit, and unlinked only after that commit (then the
 * directory is fsync'd).  A file that is malformed or refused for good is
 * moved to spool_dir/corrupt/ with a log line; one that fails for a
 * temporary reason stays for the next import.
 */
#ifndef RELAY_RUNNER_MAILDROP_H
#define RELAY_RUNNER_MAILDROP_H

#include "base/err.h"
#include "runner/runner_enqueue.h"

/* How old a tmp.* file must be before it is removed. */
#define RUNNER_MAILDROP_TMP_AGE 3600

/* Counts of one import. */
struct runner_maildrop_stats {
	unsigned long imported, moved, kept, stale;
};

/* runner_maildrop_import - one pass over the maildrop.  Another process
 * importing at the same moment (flock on the directory) makes this a
 * no-op.  Returns 0 (per-file trouble is logged and counted), or -1 with
 * err when the directory cannot be read. */
int runner_maildrop_import(const struct runner_enqueue *ex,
    struct runner_maildrop_stats *out, struct err *err);

#endif
