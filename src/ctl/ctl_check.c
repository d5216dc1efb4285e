/*
 * ctl_check.c - relayctl check: is this installation able to work?  One
 * line per thing checked, and for each problem exactly what is wrong and
 * the fix:
 *
 *   the configuration loads (relayctl's main reports it when it does not);
 *   listen holds loopback addresses only;
 *   user and group exist;
 *   at least one smarthost; for each, the credentials are complete, the
 *   password_file is a regular file owned by relayd's user and closed to
 *   group and others, ca_file / client_cert / client_key exist and the
 *   key is closed to group and others;
 *   the spool directory is owned by relayd's user and not writable by
 *   others, the maildrop is mode 1730 with the spool's group, queue.db is
 *   owned by relayd's user, not readable by others, and has this relay's
 *   schema version;
 *   the aliases file parses.
 *
 * Exit: 0 all well, 1 a problem, 77 for callers other than root and group
 * relay (the checks read files only those may read).
 *
 * Security: reads only; opens the spool read-only.
 */
#include "config.h"

#include <errno.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "ctl/ctl.h"
#include "ctl/ctl_ops.h"
#include "mail/aliases.h"
#include "runner/runner_listen.h"
#include "runner/runner_sock.h"
#include "spool/spool.h"

struct ctl_check {
	const struct conf *c;
	bool json;
	unsigned problems;
	struct buf ok, bad; /* JSON arrays' contents */
	uid_t uid; /* relayd's user, (uid_t)-1 if unknown */
	gid_t gid; /* the spool group, (gid_t)-1 if unknown */
};

static void ctl_check_note(struct ctl_check *k, bool ok, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ctl_check_note - one finding: ok, or a problem. */
static void
ctl_check_note(struct ctl_check *k, bool ok, const char *fmt, ...)
{
	struct buf *list = ok ? &k->ok : &k->bad;
	char text[768];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	if (!ok)
		k->problems++;
	if (k->json) {
		/* a full list drops the finding, never the count */
		if (list->len == 0 || buf_putc(list, ',') == 0)
			(void)str_json(list, text, strlen(text));
		return;
	}
	(void)fputs(ok ? "ok       " : "PROBLEM  ", stdout);
	ctl_put_escaped(stdout, text);
	(void)fputc('\n', stdout);
}

/* ctl_check_private - a file that must be closed to group and others
 * (and owned by relayd's user when owner is set). */
static void
ctl_check_private(
    struct ctl_check *k, const char *what, const char *path, bool owner)
{
	struct stat st;

	if (lstat(path, &st) == -1) {
		ctl_check_note(k, false, "%s %s cannot be read: %s", what, path,
		    strerror(errno));
		return;
	}
	if (!S_ISREG(st.st_mode)) {
		ctl_check_note(
		    k, false, "%s %s is not a regular file", what, path);
		return;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		ctl_check_note(k, false,
		    "%s %s is open to group or others (mode %04o); run chmod "
		    "600 %s",
		    what, path, (unsigned)(st.st_mode & 07777), path);
		return;
	}
	if (owner && k->uid != (uid_t)-1 && st.st_uid != k->uid) {
		ctl_check_note(k, false,
		    "%s %s belongs to uid %lu, so relayd (user %s) cannot read "
		    "it; run chown %s %s",
		    what, path, (unsigned long)st.st_uid, k->c->user,
		    k->c->user, path);
		return;
	}
	ctl_check_note(k, true, "%s %s: owner and mode", what, path);
}

/* ctl_check_exists - a file that must exist. */
static void
ctl_check_exists(struct ctl_check *k, const char *what, const char *path)
{
	struct stat st;

	if (stat(path, &st) == -1)
		ctl_check_note(k, false, "%s %s cannot be read: %s", what, path,
		    strerror(errno));
	else
		ctl_check_note(k, true, "%s %s exists", what, path);
}

/* ctl_check_smarthost - one smarthost block. */
static void
ctl_check_smarthost(struct ctl_check *k, const struct conf_smarthost *sh)
{
	char what[320];

	(void)str_fmt(what, sizeof(what), "smarthost \"%s\":", sh->name);
	ctl_check_note(k, true, "%s %s port %d, tls %s", what, sh->host,
	    sh->port, conf_tls_name(sh->tls));
	if (sh->username != NULL && sh->password_file == NULL &&
	    sh->password_command == NULL)
		ctl_check_note(k, false,
		    "%s username is set but neither password_file nor "
		    "password_command is; add one of them",
		    what);
	if (sh->password_file != NULL && sh->password_command == NULL) {
		(void)str_fmt(what, sizeof(what),
		    "smarthost \"%s\": "
		    "password_file",
		    sh->name);
		ctl_check_private(k, what, sh->password_file, true);
	}
	(void)str_fmt(what, sizeof(what), "smarthost \"%s\":", sh->name);
	if (sh->ca_file != NULL)
		ctl_check_exists(k, what, sh->ca_file);
	if (sh->client_cert != NULL)
		ctl_check_exists(k, what, sh->client_cert);
	if (sh->client_key != NULL) {
		(void)str_fmt(what, sizeof(what),
		    "smarthost \"%s\": "
		    "client_key",
		    sh->name);
		ctl_check_private(k, what, sh->client_key, true);
	}
}

/* ctl_check_dir - a spool directory: owner, group, mode. */
static void
ctl_check_dir(struct ctl_check *k, const char *path, mode_t want, bool group)
{
	struct stat st;

	if (stat(path, &st) == -1) {
		ctl_check_note(k, errno == ENOENT, "directory %s: %s%s", path,
		    strerror(errno),
		    errno == ENOENT ? " (relayd creates it when it starts)"
				    : "");
		return;
	}
	if (k->uid != (uid_t)-1 && st.st_uid != k->uid)
		ctl_check_note(k, false,
		    "directory %s belongs to uid %lu, not to relayd's user "
		    "%s; run chown %s %s",
		    path, (unsigned long)st.st_uid, k->c->user, k->c->user,
		    path);
	else if (group && k->gid != (gid_t)-1 && st.st_gid != k->gid)
		ctl_check_note(k, false,
		    "directory %s has group gid %lu, not %s; run chgrp %s %s",
		    path, (unsigned long)st.st_gid, k->c->group, k->c->group,
		    path);
	else if ((st.st_mode & 07777) != want &&
	    (group || (st.st_mode & S_IWOTH) || (st.st_mode & S_IROTH)))
		ctl_check_note(k, false,
		    "directory %s has mode %04o, expected %04o; run chmod "
		    "%04o %s",
		    path, (unsigned)(st.st_mode & 07777), (unsigned)want,
		    (unsigned)want, path);
	else
		ctl_check_note(k, true, "directory %s: owner and mode", path);
}

/* ctl_check_spool - the directories, queue.db and its schema. */
static void
ctl_check_spool(struct ctl_check *k)
{
	char *maildrop = conf_maildrop_dir(k->c), *db = conf_db_path(k->c);
	struct spool *sp;
	struct stat st;
	struct err err;

	ctl_check_dir(k, k->c->spool_dir, 0750, false);
	ctl_check_dir(k, maildrop, 01730, true);
	err_clear(&err);
	if (stat(db, &st) == -1) {
		ctl_check_note(k, true,
		    "spool %s does not exist yet (relayd creates it)", db);
	} else if (k->uid != (uid_t)-1 && st.st_uid != k->uid) {
		ctl_check_note(k, false,
		    "spool %s belongs to uid %lu, not to relayd's user %s; "
		    "run chown %s %s*",
		    db, (unsigned long)st.st_uid, k->c->user, k->c->user, db);
	} else if (st.st_mode & (S_IROTH | S_IWOTH)) {
		ctl_check_note(k, false,
		    "spool %s is open to others (mode %04o); run chmod o-rwx "
		    "%s*",
		    db, (unsigned)(st.st_mode & 07777), db);
	} else if ((sp = spool_open(db, SPOOL_READONLY, &err)) == NULL) {
		ctl_check_note(k, false, "%s", err.msg);
	} else {
		ctl_check_note(k, true, "spool %s: schema version %d", db,
		    SPOOL_SCHEMA_VERSION);
		spool_close(sp);
	}
	xfree(maildrop);
	xfree(db);
}

/* ctl_check_accounts - user and group; fills k->uid and k->gid. */
static void
ctl_check_accounts(struct ctl_check *k)
{
	struct passwd *pw = getpwnam(k->c->user);
	struct group *gr = getgrnam(k->c->group);

	k->uid = pw != NULL ? pw->pw_uid : (uid_t)-1;
	k->gid = gr != NULL ? gr->gr_gid : (gid_t)-1;
	ctl_check_note(k, pw != NULL, "user %s %s", k->c->user,
	    pw != NULL ? "exists" : "does not exist (create it or set user)");
	ctl_check_note(k, gr != NULL, "group %s %s", k->c->group,
	    gr != NULL ? "exists" : "does not exist (create it or set group)");
}

/* ctl_check_all - every check in order. */
static void
ctl_check_all(struct ctl_check *k)
{
	struct aliases *a;
	struct err err;
	size_t i;

	ctl_check_note(k, true, "configuration %s loads", k->c->path);
	err_clear(&err);
	if (runner_listen_check(k->c, &err) == -1)
		ctl_check_note(k, false, "%s", err.msg);
	else if (k->c->nlisten > 0)
		ctl_check_note(k, true, "listen: loopback addresses only");
	ctl_check_accounts(k);
	if (k->c->nsmarthosts == 0)
		ctl_check_note(k, false,
		    "no smarthost is configured, so mail waits in the queue; "
		    "add a smarthost block");
	for (i = 0; i < k->c->nsmarthosts; i++)
		ctl_check_smarthost(k, &k->c->smarthosts[i]);
	ctl_check_spool(k);
	a = aliases_load(k->c->aliases, &err);
	if (a == NULL)
		ctl_check_note(k, false, "aliases: %s", err.msg);
	else
		ctl_check_note(k, true, "aliases %s: %zu names",
		    *k->c->aliases != '\0' ? k->c->aliases : "(none)",
		    aliases_count(a));
	aliases_free(a);
}

int
ctl_check_main(const struct conf *c, int argc, char **argv)
{
	struct ctl_env env = { c, stdout, "relayctl" };
	struct ctl_check k;
	uid_t uid = getuid();
	int i;

	memset(&k, 0, sizeof(k));
	k.c = c;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0)
			return ctl_usage_error(&env, "check [--json]",
			    "unknown argument %s", argv[i]);
		k.json = true;
	}
	if (uid != 0 && !runner_sock_in_group(c, uid)) {
		(void)fprintf(stderr,
		    "relayctl: not permitted: check is for root and group "
		    "%s\n",
		    c->group);
		return CTL_EXIT_DENIED;
	}
	buf_init(&k.ok, 1 << 20);
	buf_init(&k.bad, 1 << 20);
	ctl_check_all(&k);
	if (k.json)
		(void)printf("{\"ok\":%s,\"problems\":[%s],\"passed\":[%s]}\n",
		    k.problems == 0 ? "true" : "false", k.bad.data, k.ok.data);
	else if (k.problems > 0)
		(void)printf("%u problem%s found\n", k.problems,
		    k.problems == 1 ? "" : "s");
	else
		(void)printf("all well\n");
	buf_free(&k.ok);
	buf_free(&k.bad);
	return k.problems > 0 ? CTL_EXIT_PROBLEM : CTL_EXIT_OK;
}
