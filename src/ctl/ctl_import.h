/*
 * ctl_import.h - `relayctl import`: turn the configuration of another mail
 * relay (dma, nullmailer, msmtp, ssmtp, Postfix) into a relay.conf.
 *
 *   relayctl import FORMAT [--secret-out FILE] [FILE...]
 *
 * The relay.conf goes to standard output, beginning with comments that
 * name the files read and everything that could not be carried over.  The
 * password (if the old configuration has one) never goes into it: it is
 * written to FILE (mode 0600) with --secret-out, else to standard error,
 * and the relay.conf names it as password_file.
 */
#ifndef RELAY_CTL_IMPORT_H
#define RELAY_CTL_IMPORT_H

#include <stdio.h>

#include "base/buf.h"
#include "mail/conf.h"

/* Where the generated relay.conf points password_file when --secret-out
 * is not given (the file the packages create). */
#define CTL_IMPORT_SECRET_DEFAULT "/etc/relay/secret"

/* ctl_import_main - the command; argv[0] is "import".  c may be NULL (the
 * command does not use the current configuration).  Returns relayctl's
 * exit code: 0 converted; 1 a file could not be read, or the result has
 * no smarthost; 2 usage error. */
int ctl_import_main(const struct conf *c, int argc, char **argv);

/* ctl_import_run - the work of ctl_import_main without the command line:
 * read files (nfiles 0: the format's default files), print the relay.conf
 * to out and append the secret file's content (the password and a
 * newline; nothing when there is none) to secret_out, naming secret_path
 * as password_file.  Returns the exit code as above; messages go to
 * stderr.  The caller wipes secret_out (buf_wipe_free). */
int ctl_import_run(const char *format, char **files, size_t nfiles, FILE *out,
    struct buf *secret_out, const char *secret_path);

#endif
