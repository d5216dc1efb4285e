/*
 * ctl_import_priv.h - what the importers of ctl_import share: the relay.conf
 * being built (struct imp), notes about what is not carried over, and
 * line-by-line reading of the other relay's files.
 *
 * Values are stored already in relay.conf syntax (strings quoted), in the
 * order relay.conf(5) lists the keys; ctl_import.c prints them.  The
 * password is kept apart (imp_host.password) and wiped when freed.
 */
#ifndef RELAY_CTL_IMPORT_PRIV_H
#define RELAY_CTL_IMPORT_PRIV_H

#include <stdbool.h>
#include <stddef.h>

#include "base/buf.h"
#include "base/err.h"

#define IMP_MAX_HOSTS 8

/* Top-level keys an importer may set, in relay.conf(5) order. */
enum imp_key {
	IMP_HOSTNAME = 0,
	IMP_DOMAIN,
	IMP_ALIASES,
	IMP_DEFAULT_RECIPIENT,
	IMP_LOG_FILE,
	IMP_UNDISCLOSED_RECIPIENTS,
	IMP_MAX_MESSAGE_SIZE,
	IMP_HOP_LIMIT,
	IMP_RETRY_BASE,
	IMP_RETRY_MAX,
	IMP_RETRY_LIFETIME,
	IMP_CONNECT_TIMEOUT,
	IMP_GREETING_TIMEOUT,
	IMP_COMMAND_TIMEOUT,
	IMP_DATA_TIMEOUT,
	IMP_BOUNCE_RETURN_SIZE,
	IMP_TLS_MIN,
	IMP_LISTEN,
	IMP_NKEYS
};

/* Keys of a smarthost block, in relay.conf(5) order. */
enum imp_hkey {
	IMP_H_HOST = 0,
	IMP_H_PORT,
	IMP_H_TLS,
	IMP_H_USERNAME,
	IMP_H_PASSWORD_FILE,
	IMP_H_PASSWORD_COMMAND,
	IMP_H_AUTH_MECHANISMS,
	IMP_H_AUTH_WITHOUT_TLS,
	IMP_H_CA_FILE,
	IMP_H_FINGERPRINT,
	IMP_H_CLIENT_CERT,
	IMP_H_CLIENT_KEY,
	IMP_H_HELO,
	IMP_H_TLS_MIN,
	IMP_H_NKEYS
};

struct imp_host {
	char *title;
	char *val[IMP_H_NKEYS]; /* relay.conf syntax, or NULL */
	struct buf password; /* the secret; empty: none */
	bool wants_password; /* username set without a password found */
};

struct imp {
	char *val[IMP_NKEYS];
	struct imp_host hosts[IMP_MAX_HOSTS];
	size_t nhosts;
	struct buf notes; /* "#   - ...\n" lines */
	struct buf sources; /* the files read, ", "-separated */
	const char *secret_path; /* what password_file names */
};

/* imp_set / imp_set_str - a top-level value: raw relay.conf syntax
 * (number, duration, boolean, list) or a string, quoted here.  A later
 * value replaces an earlier one. */
void imp_set(struct imp *im, enum imp_key k, const char *raw);
void imp_set_str(struct imp *im, enum imp_key k, const char *s);

/* imp_host_add - a new smarthost block titled title (its host); NULL, with
 * a note, when there are too many. */
struct imp_host *imp_host_add(struct imp *im, const char *title);

/* imp_host_set / imp_host_set_str - a value of a smarthost block. */
void imp_host_set(struct imp_host *h, enum imp_hkey k, const char *raw);
void imp_host_set_str(struct imp_host *h, enum imp_hkey k, const char *s);

/* imp_host_password - keep the secret (the first host with one gets the
 * secret file; for others a note asks for a file of their own). */
void imp_host_password(struct imp *im, struct imp_host *h, const char *pw);

/* imp_note - one thing not carried over (or carried over differently).
 * The text is shown escaped; it must not contain a secret. */
void imp_note(struct imp *im, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* imp_line_cb - one line of a file, without its end of line; lineno
 * counts from 1.  The callback may modify line.  0, or -1 with err. */
typedef int (*imp_line_cb)(struct imp *im, const char *path, int lineno,
    char *line, void *arg, struct err *err);

/* imp_read_lines - call cb for each line of path.  A missing file is an
 * error when required; otherwise *found (may be NULL) says whether it
 * was there.  A file that exists but cannot be read is an error. */
int imp_read_lines(struct imp *im, const char *path, bool required, bool *found,
    imp_line_cb cb, void *arg, struct err *err);

/* imp_first_line - OUT: the first non-empty, non-comment line of path,
 * trimmed (owned by the caller), or NULL when the file is missing or has
 * none.  -1 with err when it exists but cannot be read. */
int imp_first_line(
    struct imp *im, const char *path, char **out, struct err *err);

/* imp_is_yes - "yes", "on", "true", "1" (any case). */
bool imp_is_yes(const char *v);

/* imp_split_hostport - "host", "host:port", "[host]:port", "[v6]:port":
 * OUT host (owned by the caller), OUT port (0 when absent).  -1 when the
 * port is not a number from 1 to 65535. */
int imp_split_hostport(const char *s, char **host, int *port);

/* imp_set_port_tls - port (or default_port when 0) and tls of h. */
void imp_set_port_tls(
    struct imp_host *h, int port, int default_port, const char *tls);

/* The importers.  files[0..nfiles) are the files named on the command
 * line (nfiles 0: the defaults).  0, or -1 with err (a required file
 * could not be read, or the command line names the wrong files). */
int imp_dma(struct imp *im, char **files, size_t nfiles, struct err *err);
int imp_nullmailer(
    struct imp *im, char **files, size_t nfiles, struct err *err);
int imp_msmtp(struct imp *im, char **files, size_t nfiles, struct err *err);
int imp_ssmtp(struct imp *im, char **files, size_t nfiles, struct err *err);
int imp_postfix(struct imp *im, char **files, size_t nfiles, struct err *err);

#endif
