/*
 * ctl_import_relays.c - importers for the light relays: dma, nullmailer,
 * msmtp and ssmtp (Postfix is in ctl_import_postfix.c).
 *
 * Each reads the relay's own files the way that relay does and fills the
 * struct imp of ctl_import.c.  The smarthost keeps the port and TLS mode
 * the old relay used (its defaults written out: port 25 and plaintext
 * unless configured), so the result behaves the same until the operator
 * chooses relay's tls = auto.  Whatever relay does differently, or cannot
 * do, becomes a note.
 *
 * Security: passwords go only to imp_host_password(); notes and errors
 * never quote a value that might be one.
 */
#include "config.h"

#include <pwd.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "ctl/ctl_import_priv.h"

/* imp_word - split off the first white-space separated word of *p. */
static char *
imp_word(char **p)
{
	char *s = *p, *w;

	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '\0') {
		*p = s;
		return NULL;
	}
	w = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	if (*s != '\0')
		*s++ = '\0';
	*p = s;
	return w;
}

/* imp_file - files[i] or the default. */
static const char *
imp_file(char **files, size_t nfiles, size_t i, const char *def)
{
	return i < nfiles ? files[i] : def;
}

/* --- dma ----------------------------------------------------------------- */

struct imp_dma {
	char *smarthost, *authpath, *certfile, *mailname, *masquerade;
	char *fingerprint;
	int port;
	bool securetransfer, starttls, opportunistic, insecure;
	struct imp_host *h;
};

static int
imp_dma_line(struct imp *im, const char *path, int lineno, char *line,
    void *arg, struct err *err)
{
	struct imp_dma *d = arg;
	char *p = line, *key = imp_word(&p), *val;
	long long n;

	(void)err;
	if (key == NULL || *key == '#')
		return 0;
	val = str_trim(p);
	if (strcmp(key, "SMARTHOST") == 0)
		d->smarthost = xstrdup(val);
	else if (strcmp(key, "PORT") == 0 && str_to_ll(val, 1, 65535, &n) == 0)
		d->port = (int)n;
	else if (strcmp(key, "ALIASES") == 0)
		imp_set_str(im, IMP_ALIASES, val);
	else if (strcmp(key, "AUTHPATH") == 0)
		d->authpath = xstrdup(val);
	else if (strcmp(key, "CERTFILE") == 0)
		d->certfile = xstrdup(val);
	else if (strcmp(key, "MAILNAME") == 0)
		d->mailname = xstrdup(val);
	else if (strcmp(key, "MASQUERADE") == 0)
		d->masquerade = xstrdup(val);
	else if (strcmp(key, "SECURETRANSFER") == 0)
		d->securetransfer = true;
	else if (strcmp(key, "STARTTLS") == 0)
		d->starttls = true;
	else if (strcmp(key, "OPPORTUNISTIC_TLS") == 0)
		d->opportunistic = true;
	else if (strcmp(key, "INSECURE") == 0)
		d->insecure = true;
	else if (strcmp(key, "FINGERPRINT") == 0)
		d->fingerprint = xasprintf("sha256:%s", val);
	else if (strcmp(key, "NULLCLIENT") == 0)
		return 0; /* relay is always a null client */
	else if (strcmp(key, "SPOOLDIR") == 0)
		imp_note(im,
		    "%s:%d: SPOOLDIR: relay keeps its own spool "
		    "(spool_dir); mail still queued in dma's spool "
		    "is not moved",
		    path, lineno);
	else if (strcmp(key, "DEFER") == 0)
		imp_note(im, "%s:%d: DEFER: relay sends each message at once",
		    path, lineno);
	else if (strcmp(key, "FULLBOUNCE") == 0)
		imp_set(im, IMP_BOUNCE_RETURN_SIZE, "50M");
	else
		imp_note(
		    im, "%s:%d: %s is not known to relay", path, lineno, key);
	return 0;
}

/* imp_dma_auth_line - "user|host:password" for our smarthost. */
static int
imp_dma_auth_line(struct imp *im, const char *path, int lineno, char *line,
    void *arg, struct err *err)
{
	struct imp_dma *d = arg;
	char *t = str_trim(line), *bar, *colon;

	(void)path;
	(void)lineno;
	(void)err;
	if (*t == '#' || (bar = strchr(t, '|')) == NULL ||
	    (colon = strchr(bar, ':')) == NULL)
		return 0;
	*bar = '\0';
	*colon = '\0';
	if (!str_eq_ci(bar + 1, d->smarthost) ||
	    d->h->val[IMP_H_USERNAME] != NULL)
		return 0;
	imp_host_set_str(d->h, IMP_H_USERNAME, t);
	imp_host_password(im, d->h, colon + 1);
	return 0;
}

/* imp_dma_tls - dma's TLS switches as a relay tls mode and port. */
static void
imp_dma_tls(struct imp *im, struct imp_dma *d)
{
	const char *tls = "none";

	if (d->securetransfer && d->starttls)
		tls = "starttls";
	else if (d->securetransfer)
		tls = "implicit";
	if (d->securetransfer && d->opportunistic)
		imp_note(im,
		    "OPPORTUNISTIC_TLS: relay never falls back to "
		    "plaintext; STARTTLS is required");
	if (!d->securetransfer)
		imp_note(im,
		    "dma sent mail to %s in plaintext; so does this "
		    "configuration (tls = none); prefer tls = auto",
		    d->smarthost);
	imp_set_port_tls(d->h, d->port, 25, tls);
	if (d->certfile != NULL) {
		imp_host_set_str(d->h, IMP_H_CLIENT_CERT, d->certfile);
		imp_host_set_str(d->h, IMP_H_CLIENT_KEY, d->certfile);
	}
	if (d->fingerprint != NULL)
		imp_host_set_str(d->h, IMP_H_FINGERPRINT, d->fingerprint);
}

/* imp_dma_names - MAILNAME (a name or a file holding it), MASQUERADE. */
static int
imp_dma_names(struct imp *im, struct imp_dma *d, struct err *err)
{
	char *name = NULL, *at;

	if (d->mailname != NULL && d->mailname[0] == '/') {
		if (imp_first_line(im, d->mailname, &name, err) == -1)
			return -1;
	} else if (d->mailname != NULL) {
		name = xstrdup(d->mailname);
	}
	if (name != NULL)
		imp_set_str(im, IMP_HOSTNAME, name);
	xfree(name);
	if (d->masquerade != NULL) {
		at = strchr(d->masquerade, '@');
		if (at != NULL)
			imp_note(im,
			    "MASQUERADE %s: relay does not rewrite "
			    "the user part of senders",
			    d->masquerade);
		if (at == NULL || at[1] != '\0')
			imp_set_str(im, IMP_DOMAIN,
			    at != NULL ? at + 1 : d->masquerade);
	}
	return 0;
}

static void
imp_dma_free(struct imp_dma *d)
{
	xfree(d->smarthost);
	xfree(d->authpath);
	xfree(d->certfile);
	xfree(d->mailname);
	xfree(d->masquerade);
	xfree(d->fingerprint);
}

int
imp_dma(struct imp *im, char **files, size_t nfiles, struct err *err)
{
	const char *conf = imp_file(files, nfiles, 0, "/etc/dma/dma.conf");
	struct imp_dma d;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	if (nfiles > 2)
		return err_set(err, ERR_CONFIG,
		    "give dma.conf and auth.conf, nothing more");
	if (imp_read_lines(im, conf, true, NULL, imp_dma_line, &d, err) == -1)
		goto out;
	if (imp_dma_names(im, &d, err) == -1)
		goto out;
	rc = 0;
	if (d.smarthost == NULL || *d.smarthost == '\0') {
		imp_note(im,
		    "dma delivered directly to each recipient's "
		    "mail server (no SMARTHOST)");
		goto out;
	}
	d.h = imp_host_add(im, d.smarthost);
	if (d.h == NULL)
		goto out;
	imp_dma_tls(im, &d);
	if (imp_read_lines(im,
		imp_file(files, nfiles, 1,
		    d.authpath != NULL ? d.authpath : "/etc/dma/auth.conf"),
		false, NULL, imp_dma_auth_line, &d, err) == -1) {
		rc = -1;
		goto out;
	}
	if (d.h->val[IMP_H_USERNAME] != NULL && !d.securetransfer) {
		if (d.insecure)
			imp_host_set(d.h, IMP_H_AUTH_WITHOUT_TLS, "true");
		else
			imp_note(im,
			    "dma did not log in without TLS (no "
			    "INSECURE); neither will relay");
	}
out:
	imp_dma_free(&d);
	return rc;
}

/* --- nullmailer ---------------------------------------------------------- */

/* imp_nm_option - one --option of a remotes line. */
static void
imp_nm_option(struct imp *im, struct imp_host *h, const char *opt,
    const char **tls, int *port)
{
	const char *eq = strchr(opt, '=');
	const char *v = eq != NULL ? eq + 1 : "";
	size_t n = eq != NULL ? (size_t)(eq - opt) : strlen(opt);
	long long p;

	if (n == 6 && strncmp(opt, "--port", n) == 0 &&
	    str_to_ll(v, 1, 65535, &p) == 0)
		*port = (int)p;
	else if (n == 6 && strncmp(opt, "--user", n) == 0)
		imp_host_set_str(h, IMP_H_USERNAME, v);
	else if (n == 6 && strncmp(opt, "--pass", n) == 0)
		imp_host_password(im, h, v);
	else if (n == 5 && strncmp(opt, "--ssl", n) == 0)
		*tls = "implicit";
	else if (n == 10 && strncmp(opt, "--starttls", n) == 0)
		*tls = "starttls";
	else if (n == 12 && strncmp(opt, "--auth-login", n) == 0)
		imp_host_set_str(h, IMP_H_AUTH_MECHANISMS, "LOGIN");
	else if (n == 12 && strncmp(opt, "--x509cafile", n) == 0)
		imp_host_set_str(h, IMP_H_CA_FILE, v);
	else if (n == 14 && strncmp(opt, "--x509certfile", n) == 0) {
		imp_host_set_str(h, IMP_H_CLIENT_CERT, v);
		imp_host_set_str(h, IMP_H_CLIENT_KEY, v);
	} else if (n == 10 && strncmp(opt, "--insecure", n) == 0)
		imp_note(im,
		    "smarthost %s: --insecure: relay always verifies the "
		    "certificate; for a self-signed one set ca_file or "
		    "fingerprint",
		    h->title);
	else
		imp_note(im, "smarthost %s: %.*s is not carried over", h->title,
		    (int)n, opt);
}

static int
imp_nm_remote(struct imp *im, const char *path, int lineno, char *line,
    void *arg, struct err *err)
{
	char *p = line, *host = imp_word(&p), *proto, *opt;
	const char *tls = "none";
	struct imp_host *h;
	int port = 0;

	(void)arg;
	(void)err;
	if (host == NULL || *host == '#')
		return 0;
	proto = imp_word(&p);
	if (proto != NULL && strcmp(proto, "smtp") != 0) {
		imp_note(im, "%s:%d: %s (%s): relay speaks only SMTP", path,
		    lineno, host, proto);
		return 0;
	}
	h = imp_host_add(im, host);
	if (h == NULL)
		return 0;
	while ((opt = imp_word(&p)) != NULL)
		imp_nm_option(im, h, opt, &tls, &port);
	imp_set_port_tls(h, port, strcmp(tls, "implicit") == 0 ? 465 : 25, tls);
	if (h->val[IMP_H_USERNAME] != NULL && strcmp(tls, "none") == 0)
		imp_host_set(h, IMP_H_AUTH_WITHOUT_TLS, "true");
	if (h->val[IMP_H_USERNAME] != NULL && h->password.len == 0 &&
	    h->val[IMP_H_PASSWORD_FILE] == NULL)
		h->wants_password = true;
	if (strcmp(tls, "none") == 0)
		imp_note(im,
		    "smarthost %s: nullmailer sent mail in plaintext; so "
		    "does this configuration (tls = none); prefer tls = auto",
		    host);
	return 0;
}

/* imp_nm_name - a nullmailer host name, with defaultdomain appended when
 * it has no dot (owned by the caller). */
static char *
imp_nm_name(const char *name, const char *defaultdomain)
{
	if (strchr(name, '.') == NULL && defaultdomain != NULL)
		return xasprintf("%s.%s", name, defaultdomain);
	return xstrdup(name);
}

/* The files of a nullmailer configuration directory, by role. */
enum imp_nm_file {
	IMP_NM_REMOTES,
	IMP_NM_ADMINADDR,
	IMP_NM_DEFAULTDOMAIN,
	IMP_NM_DEFAULTHOST,
	IMP_NM_ME,
	IMP_NM_NFILES
};

static const char *const imp_nm_names[IMP_NM_NFILES] = { "remotes", "adminaddr",
	"defaultdomain", "defaulthost", "me" };

/* imp_nm_paths - OUT: the path of each role: nullmailer's directory
 * (/etc/nullmailer, or the one directory given), or the files given,
 * each named like nullmailer's. */
static int
imp_nm_paths(
    char **files, size_t nfiles, char *paths[IMP_NM_NFILES], struct err *err)
{
	const char *dir = "/etc/nullmailer", *slash, *base;
	struct stat st;
	size_t i, r;

	if (nfiles == 1 && stat(files[0], &st) == 0 && S_ISDIR(st.st_mode)) {
		dir = files[0];
		nfiles = 0;
	}
	for (r = 0; r < IMP_NM_NFILES; r++)
		paths[r] = xasprintf("%s/%s", dir, imp_nm_names[r]);
	for (i = 0; i < nfiles; i++) {
		slash = strrchr(files[i], '/');
		base = slash != NULL ? slash + 1 : files[i];
		for (r = 0; r < IMP_NM_NFILES; r++)
			if (strcmp(base, imp_nm_names[r]) == 0)
				break;
		if (r == IMP_NM_NFILES)
			return err_set(err, ERR_CONFIG,
			    "%s: give nullmailer's directory, or files named "
			    "remotes, adminaddr, defaultdomain, defaulthost "
			    "or me",
			    files[i]);
		xfree(paths[r]);
		paths[r] = xstrdup(files[i]);
	}
	return 0;
}

/* imp_nm_apply - me, defaulthost, defaultdomain, adminaddr. */
static int
imp_nm_apply(struct imp *im, char *paths[IMP_NM_NFILES], struct err *err)
{
	char *v[IMP_NM_NFILES] = { NULL }, *name, *comma;
	size_t r;
	int rc = -1;

	for (r = IMP_NM_ADMINADDR; r < IMP_NM_NFILES; r++)
		if (imp_first_line(im, paths[r], &v[r], err) == -1)
			goto out;
	if (v[IMP_NM_ME] != NULL) {
		name = imp_nm_name(v[IMP_NM_ME], v[IMP_NM_DEFAULTDOMAIN]);
		imp_set_str(im, IMP_HOSTNAME, name);
		xfree(name);
	} else if (v[IMP_NM_DEFAULTDOMAIN] != NULL) {
		imp_note(im,
		    "defaultdomain %s: relay finds this machine's fully "
		    "qualified name itself; set hostname if it is wrong",
		    v[IMP_NM_DEFAULTDOMAIN]);
	}
	if (v[IMP_NM_DEFAULTHOST] != NULL) {
		name =
		    imp_nm_name(v[IMP_NM_DEFAULTHOST], v[IMP_NM_DEFAULTDOMAIN]);
		imp_set_str(im, IMP_DOMAIN, name);
		xfree(name);
	}
	if (v[IMP_NM_ADMINADDR] != NULL) {
		comma = strchr(v[IMP_NM_ADMINADDR], ',');
		if (comma != NULL) {
			*comma = '\0';
			imp_note(im,
			    "adminaddr: relay sends local mail to one "
			    "address; for several, use an alias");
		}
		imp_set_str(
		    im, IMP_DEFAULT_RECIPIENT, str_trim(v[IMP_NM_ADMINADDR]));
	}
	rc = 0;
out:
	for (r = 0; r < IMP_NM_NFILES; r++)
		xfree(v[r]);
	return rc;
}

int
imp_nullmailer(struct imp *im, char **files, size_t nfiles, struct err *err)
{
	char *paths[IMP_NM_NFILES] = { NULL };
	size_t r;
	int rc = -1;

	if (imp_nm_paths(files, nfiles, paths, err) == -1)
		goto out;
	if (imp_read_lines(im, paths[IMP_NM_REMOTES], true, NULL, imp_nm_remote,
		NULL, err) == -1)
		goto out;
	rc = imp_nm_apply(im, paths, err);
out:
	for (r = 0; r < IMP_NM_NFILES; r++)
		xfree(paths[r]);
	return rc;
}

/* --- msmtp --------------------------------------------------------------- */

/* Settings of one msmtp account (or of "defaults"). */
enum imp_ms_key {
	IMP_MS_HOST,
	IMP_MS_PORT,
	IMP_MS_TLS,
	IMP_MS_STARTTLS,
	IMP_MS_TRUST,
	IMP_MS_FINGERPRINT,
	IMP_MS_CERTCHECK,
	IMP_MS_CERT,
	IMP_MS_KEY,
	IMP_MS_AUTH,
	IMP_MS_USER,
	IMP_MS_PASSWORD,
	IMP_MS_PASSWORDEVAL,
	IMP_MS_DOMAIN,
	IMP_MS_FROM,
	IMP_MS_ALIASES,
	IMP_MS_TIMEOUT,
	IMP_MS_UNDISCLOSED,
	IMP_MS_LOGFILE,
	IMP_MS_NKEYS
};

static const char *const imp_ms_names[IMP_MS_NKEYS] = { "host", "port", "tls",
	"tls_starttls", "tls_trust_file", "tls_fingerprint", "tls_certcheck",
	"tls_cert_file", "tls_key_file", "auth", "user", "password",
	"passwordeval", "domain", "from", "aliases", "timeout",
	"undisclosed_recipients", "logfile" };

#define IMP_MS_MAX_ACCOUNTS 32

struct imp_ms_account {
	char *name;
	char *val[IMP_MS_NKEYS];
};

struct imp_msmtp {
	struct imp_ms_account acc[IMP_MS_MAX_ACCOUNTS + 1]; /* [0]: defaults */
	size_t nacc;
	size_t cur; /* the account being read; 0: defaults */
	char *parent; /* of "account default : PARENT" */
};

/* imp_ms_unquote - msmtp's "quoted argument" with \" and \\ escapes. */
static char *
imp_ms_unquote(char *s)
{
	char *r, *w;

	s = str_trim(s);
	if (*s != '"')
		return s;
	for (r = s + 1, w = s; *r != '\0' && *r != '"'; r++) {
		if (*r == '\\' && r[1] != '\0')
			r++;
		*w++ = *r;
	}
	*w = '\0';
	return s;
}

/* imp_ms_inherit - copy the settings of the account named name. */
static void
imp_ms_inherit(struct imp_msmtp *m, struct imp_ms_account *a, const char *name)
{
	size_t i, k;

	for (i = 1; i < m->nacc; i++) {
		if (strcmp(m->acc[i].name, name) != 0)
			continue;
		for (k = 0; k < IMP_MS_NKEYS; k++) {
			if (m->acc[i].val[k] == NULL)
				continue;
			xfree(a->val[k]);
			a->val[k] = xstrdup(m->acc[i].val[k]);
		}
	}
}

/* imp_ms_account - "account NAME [: PARENT[,PARENT...]]": start an
 * account with the defaults, then each parent's settings. */
static void
imp_ms_account(struct imp_msmtp *m, char *spec)
{
	char *colon = strchr(spec, ':'), *parent, *comma;
	struct imp_ms_account *a;
	size_t k;

	if (colon != NULL)
		*colon = '\0';
	spec = str_trim(spec);
	if (m->nacc == IMP_MS_MAX_ACCOUNTS) {
		m->cur = 0;
		return;
	}
	a = &m->acc[++m->nacc];
	a->name = xstrdup(spec);
	for (k = 0; k < IMP_MS_NKEYS; k++)
		if (m->acc[0].val[k] != NULL)
			a->val[k] = xstrdup(m->acc[0].val[k]);
	for (parent = colon != NULL ? colon + 1 : NULL; parent != NULL;
	     parent = comma != NULL ? comma + 1 : NULL) {
		comma = strchr(parent, ',');
		if (comma != NULL)
			*comma = '\0';
		parent = str_trim(parent);
		if (strcmp(spec, "default") == 0 && m->parent == NULL)
			m->parent = xstrdup(parent);
		imp_ms_inherit(m, a, parent);
	}
	m->cur = m->nacc;
}

static int
imp_ms_line(struct imp *im, const char *path, int lineno, char *line, void *arg,
    struct err *err)
{
	struct imp_msmtp *m = arg;
	char *p = line, *cmd = imp_word(&p), *v;
	size_t k;

	(void)err;
	if (cmd == NULL || *cmd == '#')
		return 0;
	v = imp_ms_unquote(p);
	if (strcmp(cmd, "defaults") == 0) {
		m->cur = 0;
		return 0;
	}
	if (strcmp(cmd, "account") == 0) {
		imp_ms_account(m, v);
		return 0;
	}
	for (k = 0; k < IMP_MS_NKEYS; k++) {
		if (strcmp(cmd, imp_ms_names[k]) == 0) {
			xfree(m->acc[m->cur].val[k]);
			m->acc[m->cur].val[k] = xstrdup(v);
			return 0;
		}
	}
	if (strcmp(cmd, "syslog") != 0 &&
	    strcmp(cmd, "remove_bcc_headers") != 0 &&
	    strcmp(cmd, "set_date_header") != 0 &&
	    strcmp(cmd, "set_msgid_header") != 0)
		imp_note(
		    im, "%s:%d: %s is not carried over", path, lineno, cmd);
	return 0;
}

/* imp_ms_tls - msmtp's tls and tls_starttls as a relay mode and port. */
static void
imp_ms_tls(struct imp *im, struct imp_host *h, char *const *v)
{
	bool tls = v[IMP_MS_TLS] != NULL && imp_is_yes(v[IMP_MS_TLS]);
	bool starttls =
	    v[IMP_MS_STARTTLS] == NULL || imp_is_yes(v[IMP_MS_STARTTLS]);
	long long port = 0;

	if (v[IMP_MS_PORT] != NULL &&
	    str_to_ll(v[IMP_MS_PORT], 1, 65535, &port) == -1)
		imp_note(im, "port %s is not a port number", v[IMP_MS_PORT]);
	if (!tls) {
		imp_set_port_tls(h, (int)port, 25, "none");
		imp_note(im,
		    "smarthost %s: msmtp sent mail in plaintext (tls off); "
		    "so does this configuration; prefer tls = auto",
		    h->title);
	} else {
		imp_set_port_tls(h, (int)port, starttls ? 25 : 465,
		    starttls ? "starttls" : "implicit");
	}
	if (v[IMP_MS_TRUST] != NULL && strcmp(v[IMP_MS_TRUST], "system") != 0)
		imp_host_set_str(h, IMP_H_CA_FILE, v[IMP_MS_TRUST]);
	if (v[IMP_MS_CERTCHECK] != NULL && !imp_is_yes(v[IMP_MS_CERTCHECK]))
		imp_note(im,
		    "tls_certcheck off: relay always verifies the "
		    "certificate; for a self-signed one set ca_file or "
		    "fingerprint");
	if (v[IMP_MS_CERT] != NULL)
		imp_host_set_str(h, IMP_H_CLIENT_CERT, v[IMP_MS_CERT]);
	if (v[IMP_MS_KEY] != NULL)
		imp_host_set_str(h, IMP_H_CLIENT_KEY, v[IMP_MS_KEY]);
}

/* imp_ms_fingerprint - only SHA-256 (32 bytes) pins carry over. */
static void
imp_ms_fingerprint(struct imp *im, struct imp_host *h, const char *fp)
{
	size_t hex = 0;
	const char *s;
	char *pin;

	for (s = fp; *s != '\0'; s++)
		if (*s != ':')
			hex++;
	if (hex != 64) {
		imp_note(im,
		    "tls_fingerprint: only SHA-256 fingerprints carry "
		    "over; set fingerprint = \"sha256:...\"");
		return;
	}
	pin = xasprintf("sha256:%s", fp);
	imp_host_set_str(h, IMP_H_FINGERPRINT, pin);
	xfree(pin);
}

/* imp_ms_auth - auth, user, password, passwordeval. */
static void
imp_ms_auth(struct imp *im, struct imp_host *h, char *const *v)
{
	const char *auth = v[IMP_MS_AUTH];
	char *mech, *c;

	if (v[IMP_MS_USER] == NULL || (auth != NULL && str_eq_ci(auth, "off")))
		return;
	imp_host_set_str(h, IMP_H_USERNAME, v[IMP_MS_USER]);
	if (auth != NULL && !imp_is_yes(auth)) {
		mech = xstrdup(auth);
		for (c = mech; *c != '\0'; c++)
			if (*c >= 'a' && *c <= 'z')
				*c = (char)(*c - 'a' + 'A');
		if (strcmp(mech, "PLAIN") == 0 || strcmp(mech, "LOGIN") == 0 ||
		    strcmp(mech, "CRAM-MD5") == 0 ||
		    strcmp(mech, "XOAUTH2") == 0)
			imp_host_set_str(h, IMP_H_AUTH_MECHANISMS, mech);
		else
			imp_note(im,
			    "auth %s: relay offers PLAIN, LOGIN, "
			    "CRAM-MD5 and XOAUTH2",
			    auth);
		xfree(mech);
	}
	if (v[IMP_MS_PASSWORD] != NULL)
		imp_host_password(im, h, v[IMP_MS_PASSWORD]);
	else if (v[IMP_MS_PASSWORDEVAL] != NULL)
		imp_host_set_str(
		    h, IMP_H_PASSWORD_COMMAND, v[IMP_MS_PASSWORDEVAL]);
	else
		h->wants_password = true;
	if (strcmp(h->val[IMP_H_TLS], "none") == 0)
		imp_host_set(h, IMP_H_AUTH_WITHOUT_TLS, "true");
}

/* imp_ms_apply - the chosen account as the smarthost. */
static void
imp_ms_apply(struct imp *im, struct imp_ms_account *a)
{
	char *const *v = a->val;
	struct imp_host *h;
	char dur[32];

	if (v[IMP_MS_HOST] == NULL) {
		imp_note(im, "account %s has no host", a->name);
		return;
	}
	h = imp_host_add(im, v[IMP_MS_HOST]);
	if (h == NULL)
		return;
	imp_ms_tls(im, h, v);
	if (v[IMP_MS_FINGERPRINT] != NULL)
		imp_ms_fingerprint(im, h, v[IMP_MS_FINGERPRINT]);
	imp_ms_auth(im, h, v);
	if (v[IMP_MS_DOMAIN] != NULL)
		imp_host_set_str(h, IMP_H_HELO, v[IMP_MS_DOMAIN]);
	if (v[IMP_MS_ALIASES] != NULL)
		imp_set_str(im, IMP_ALIASES, v[IMP_MS_ALIASES]);
	if (v[IMP_MS_UNDISCLOSED] != NULL && imp_is_yes(v[IMP_MS_UNDISCLOSED]))
		imp_set(im, IMP_UNDISCLOSED_RECIPIENTS, "true");
	if (v[IMP_MS_TIMEOUT] != NULL && !str_eq_ci(v[IMP_MS_TIMEOUT], "off") &&
	    str_fmt(dur, sizeof(dur), "%ss", v[IMP_MS_TIMEOUT]) == 0) {
		imp_set(im, IMP_CONNECT_TIMEOUT, dur);
		imp_set(im, IMP_COMMAND_TIMEOUT, dur);
	}
	if (v[IMP_MS_FROM] != NULL)
		imp_note(im,
		    "from %s: relay's envelope sender is the calling user "
		    "at domain (or sendmail -f); set domain to match",
		    v[IMP_MS_FROM]);
	if (v[IMP_MS_LOGFILE] != NULL)
		imp_note(im,
		    "logfile %s: relayd logs to syslog (facility "
		    "mail); see log_file",
		    v[IMP_MS_LOGFILE]);
}

/* imp_ms_path - ~/.msmtprc when it exists, else /etc/msmtprc (owned by
 * the caller). */
static char *
imp_ms_path(void)
{
	const char *home = getenv("HOME");
	struct passwd *pw;
	char *p;

	if (home == NULL || *home == '\0') {
		pw = getpwuid(getuid());
		home = pw != NULL ? pw->pw_dir : NULL;
	}
	if (home != NULL) {
		p = xasprintf("%s/.msmtprc", home);
		if (access(p, F_OK) == 0)
			return p;
		xfree(p);
	}
	return xstrdup("/etc/msmtprc");
}

/* imp_ms_choose - the account msmtp's sendmail mode uses: "default",
 * else (with a note) the first. */
static struct imp_ms_account *
imp_ms_choose(struct imp *im, struct imp_msmtp *m)
{
	size_t i, j;

	for (i = 1; i <= m->nacc; i++)
		if (strcmp(m->acc[i].name, "default") == 0)
			break;
	if (i > m->nacc && m->nacc > 0) {
		imp_note(im,
		    "no default account; account %s (the first) is "
		    "used",
		    m->acc[1].name);
		i = 1;
	}
	if (i > m->nacc)
		return NULL;
	for (j = 1; j <= m->nacc; j++) {
		if (j == i ||
		    (m->parent != NULL &&
			strcmp(m->acc[j].name, m->parent) == 0))
			continue;
		imp_note(im,
		    "account %s is not carried over: relay sends all mail "
		    "through its smarthosts",
		    m->acc[j].name);
	}
	return &m->acc[i];
}

int
imp_msmtp(struct imp *im, char **files, size_t nfiles, struct err *err)
{
	char *path = nfiles > 0 ? xstrdup(files[0]) : imp_ms_path();
	struct imp_ms_account *a;
	struct imp_msmtp m;
	size_t i, k;
	int rc = -1;

	memset(&m, 0, sizeof(m));
	if (nfiles > 1) {
		(void)err_set(err, ERR_CONFIG, "give one msmtprc file");
		goto out;
	}
	if (imp_read_lines(im, path, true, NULL, imp_ms_line, &m, err) == -1)
		goto out;
	a = imp_ms_choose(im, &m);
	if (a != NULL)
		imp_ms_apply(im, a);
	rc = 0;
out:
	for (i = 0; i <= m.nacc; i++) {
		for (k = 0; k < IMP_MS_NKEYS; k++) {
			if (m.acc[i].val[k] != NULL && k == IMP_MS_PASSWORD)
				xwipe_free(
				    m.acc[i].val[k], strlen(m.acc[i].val[k]));
			else
				xfree(m.acc[i].val[k]);
		}
		xfree(m.acc[i].name);
	}
	xfree(m.parent);
	xfree(path);
	return rc;
}

/* --- ssmtp --------------------------------------------------------------- */

struct imp_ssmtp {
	char *mailhub, *user, *cert, *key, *mech, *ca;
	bool tls, starttls, has_password;
	struct buf password;
};

static int
imp_ss_line(struct imp *im, const char *path, int lineno, char *line, void *arg,
    struct err *err)
{
	struct imp_ssmtp *s = arg;
	char *t = str_trim(line), *eq = strchr(t, '='), *v;

	(void)err;
	if (*t == '#' || eq == NULL)
		return 0;
	*eq = '\0';
	t = str_trim(t);
	v = str_trim(eq + 1);
	if (str_eq_ci(t, "mailhub"))
		s->mailhub = xstrdup(v);
	else if (str_eq_ci(t, "root")) {
		imp_set_str(im, IMP_DEFAULT_RECIPIENT, v);
		imp_note(im,
		    "%s:%d: root: ssmtp sent the mail of root and system "
		    "users there; relay sends every local name without an "
		    "alias there (default_recipient)",
		    path, lineno);
	} else if (str_eq_ci(t, "RewriteDomain"))
		imp_set_str(im, IMP_DOMAIN, v);
	else if (str_eq_ci(t, "hostname"))
		imp_set_str(im, IMP_HOSTNAME, v);
	else if (str_eq_ci(t, "UseTLS"))
		s->tls = imp_is_yes(v);
	else if (str_eq_ci(t, "UseSTARTTLS"))
		s->starttls = imp_is_yes(v);
	else if (str_eq_ci(t, "TLSCert"))
		s->cert = xstrdup(v);
	else if (str_eq_ci(t, "TLSKey"))
		s->key = xstrdup(v);
	else if (str_eq_ci(t, "TLS_CA_File"))
		s->ca = xstrdup(v);
	else if (str_eq_ci(t, "AuthUser"))
		s->user = xstrdup(v);
	else if (str_eq_ci(t, "AuthPass")) {
		buf_reset(&s->password);
		s->has_password = buf_puts(&s->password, v) == 0;
	} else if (str_eq_ci(t, "AuthMethod"))
		s->mech = xstrdup(v);
	else if (str_eq_ci(t, "FromLineOverride"))
		imp_note(im,
		    "%s:%d: FromLineOverride: relay keeps the From: header a "
		    "program writes and adds one only when it is missing",
		    path, lineno);
	else
		imp_note(im, "%s:%d: %s is not carried over", path, lineno, t);
	return 0;
}

/* imp_ss_revalias - "user:from:mailhub[:port]" has no relay equivalent. */
static int
imp_ss_revalias(struct imp *im, const char *path, int lineno, char *line,
    void *arg, struct err *err)
{
	char *t = str_trim(line), *colon = strchr(t, ':');

	(void)arg;
	(void)err;
	if (*t == '#' || colon == NULL)
		return 0;
	*colon = '\0';
	imp_note(im,
	    "%s:%d: user %s had its own sender address: relay sends as "
	    "user@domain; the program can set it (sendmail -f)",
	    path, lineno, t);
	return 0;
}

/* imp_ss_host - the mailhub as the smarthost. */
static int
imp_ss_host(struct imp *im, struct imp_ssmtp *s, struct err *err)
{
	struct imp_host *h;
	char *host;
	int port;
	const char *tls =
	    s->tls ? (s->starttls ? "starttls" : "implicit") : "none";

	if (imp_split_hostport(s->mailhub, &host, &port) == -1)
		return err_set(
		    err, ERR_CONFIG, "mailhub %s: bad port", s->mailhub);
	h = imp_host_add(im, host);
	xfree(host);
	if (h == NULL)
		return 0;
	imp_set_port_tls(h, port, strcmp(tls, "implicit") == 0 ? 465 : 25, tls);
	if (!s->tls)
		imp_note(im,
		    "ssmtp sent mail to %s in plaintext; so does this "
		    "configuration (tls = none); prefer tls = auto",
		    s->mailhub);
	if (s->cert != NULL) {
		imp_host_set_str(h, IMP_H_CLIENT_CERT, s->cert);
		imp_host_set_str(
		    h, IMP_H_CLIENT_KEY, s->key != NULL ? s->key : s->cert);
	}
	if (s->user != NULL) {
		imp_host_set_str(h, IMP_H_USERNAME, s->user);
		if (s->has_password)
			imp_host_password(im, h, s->password.data);
		else
			h->wants_password = true;
		if (!s->tls)
			imp_host_set(h, IMP_H_AUTH_WITHOUT_TLS, "true");
		if (s->mech != NULL && str_eq_ci(s->mech, "cram-md5"))
			imp_host_set_str(h, IMP_H_AUTH_MECHANISMS, "CRAM-MD5");
	}
	if (s->ca != NULL)
		imp_host_set_str(h, IMP_H_CA_FILE, s->ca);
	return 0;
}

int
imp_ssmtp(struct imp *im, char **files, size_t nfiles, struct err *err)
{
	const char *conf = imp_file(files, nfiles, 0, "/etc/ssmtp/ssmtp.conf");
	struct imp_ssmtp s;
	int rc = -1;

	memset(&s, 0, sizeof(s));
	buf_init(&s.password, 16384);
	if (nfiles > 2) {
		(void)err_set(
		    err, ERR_CONFIG, "give ssmtp.conf and revaliases, no more");
		goto out;
	}
	if (imp_read_lines(im, conf, true, NULL, imp_ss_line, &s, err) == -1)
		goto out;
	if (s.mailhub == NULL)
		imp_note(im, "no mailhub in %s", conf);
	else if (imp_ss_host(im, &s, err) == -1)
		goto out;
	rc = imp_read_lines(im,
	    imp_file(files, nfiles, 1, "/etc/ssmtp/revaliases"), false, NULL,
	    imp_ss_revalias, NULL, err);
out:
	xfree(s.mailhub);
	xfree(s.user);
	xfree(s.cert);
	xfree(s.key);
	xfree(s.mech);
	xfree(s.ca);
	buf_wipe_free(&s.password);
	return rc;
}
