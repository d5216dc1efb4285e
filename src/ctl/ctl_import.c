/*
 * ctl_import.c - `relayctl import`: the command line, the relay.conf being
 * built and how it is printed, the secret, and reading the other relay's
 * files.  The five importers live in ctl_import_relays.c (dma, nullmailer,
 * msmtp, ssmtp) and ctl_import_postfix.c.
 *
 * Part of ctl; reads only the files it is given (or the format's default
 * files) and writes only standard output, standard error and, with
 * --secret-out, that one file.
 *
 * Data: one struct imp per run.  Invariant: the password never reaches
 * the relay.conf, a note or an error message; it is wiped when freed.
 *
 * Security: runs with the caller's privileges (the other relays' secrets
 * are usually root's).  The --secret-out file is opened without following
 * a symbolic link and made mode 0600 before anything is written to it.
 * Text from the files read is quoted for relay.conf (backslash and double
 * quote escaped, control characters refused) and shown escaped in notes.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/fsutil.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "ctl/ctl_import.h"
#include "ctl/ctl_import_priv.h"

#define IMP_FILE_MAX (4 * 1024 * 1024)
#define IMP_NOTES_MAX (256 * 1024)
#define IMP_SECRET_MAX 16384

static const char *const imp_key_names[IMP_NKEYS] = { "hostname", "domain",
	"aliases", "default_recipient", "log_file", "undisclosed_recipients",
	"max_message_size", "hop_limit", "base", "max", "lifetime",
	"connect_timeout", "greeting_timeout", "command_timeout",
	"data_timeout", "bounce_return_size", "tls_min", "listen" };

static const char *const imp_hkey_names[IMP_H_NKEYS] = { "host", "port", "tls",
	"username", "password_file", "password_command", "auth_mechanisms",
	"auth_without_tls", "ca_file", "fingerprint", "client_cert",
	"client_key", "helo", "tls_min" };

/* One format: its name and importer. */
struct imp_format {
	const char *name;
	int (*run)(
	    struct imp *im, char **files, size_t nfiles, struct err *err);
};

static const struct imp_format imp_formats[] = {
	{ "dma", imp_dma },
	{ "nullmailer", imp_nullmailer },
	{ "msmtp", imp_msmtp },
	{ "ssmtp", imp_ssmtp },
	{ "postfix", imp_postfix },
};

static const char imp_usage[] =
    "import dma|nullmailer|msmtp|ssmtp|postfix [--secret-out FILE] [FILE...]";

/* imp_quote - s as a relay.conf string ("..." with \ and " escaped);
 * control characters become spaces (a value is one line). */
static char *
imp_quote(const char *s)
{
	struct buf b;
	char *out;

	buf_init(&b, IMP_FILE_MAX);
	(void)buf_putc(&b, '"');
	for (; *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			(void)buf_putc(&b, '\\');
		(void)buf_putc(&b, (unsigned char)*s < 0x20 ? ' ' : (char)*s);
	}
	(void)buf_putc(&b, '"');
	out = buf_steal(&b);
	buf_free(&b);
	return out;
}

void
imp_set(struct imp *im, enum imp_key k, const char *raw)
{
	xfree(im->val[k]);
	im->val[k] = xstrdup(raw);
}

void
imp_set_str(struct imp *im, enum imp_key k, const char *s)
{
	xfree(im->val[k]);
	im->val[k] = imp_quote(s);
}

struct imp_host *
imp_host_add(struct imp *im, const char *title)
{
	struct imp_host *h;
	size_t i;

	for (i = 0; i < im->nhosts; i++) {
		if (str_eq_ci(im->hosts[i].title, title)) {
			imp_note(im,
			    "smarthost %s appears twice; only its first entry "
			    "is used",
			    title);
			return NULL;
		}
	}
	if (im->nhosts == IMP_MAX_HOSTS) {
		imp_note(im, "smarthost %s: more than %d smarthosts", title,
		    IMP_MAX_HOSTS);
		return NULL;
	}
	h = &im->hosts[im->nhosts++];
	memset(h, 0, sizeof(*h));
	h->title = xstrdup(title);
	buf_init(&h->password, IMP_SECRET_MAX);
	return h;
}

void
imp_host_set(struct imp_host *h, enum imp_hkey k, const char *raw)
{
	xfree(h->val[k]);
	h->val[k] = xstrdup(raw);
}

void
imp_host_set_str(struct imp_host *h, enum imp_hkey k, const char *s)
{
	xfree(h->val[k]);
	h->val[k] = imp_quote(s);
}

void
imp_host_password(struct imp *im, struct imp_host *h, const char *pw)
{
	size_t i;

	for (i = 0; i < im->nhosts; i++) {
		if (&im->hosts[i] != h && im->hosts[i].password.len > 0) {
			imp_note(im,
			    "smarthost %s: its password is not carried over "
			    "(one secret file per import); write it into a "
			    "file of its own (user relay, mode 0600) and set "
			    "its password_file",
			    h->title);
			h->wants_password = false;
			return;
		}
	}
	buf_reset(&h->password);
	if (buf_puts(&h->password, pw) == -1) {
		imp_note(
		    im, "smarthost %s: the password is too long", h->title);
		return;
	}
	h->wants_password = false;
	imp_host_set_str(h, IMP_H_PASSWORD_FILE, im->secret_path);
}

void
imp_note(struct imp *im, const char *fmt, ...)
{
	char text[1024];
	va_list ap;

	va_start(ap, fmt);
	(void)vsnprintf(text, sizeof(text), fmt, ap);
	va_end(ap);
	(void)buf_puts(&im->notes, "#   - ");
	(void)str_escape(&im->notes, text, strlen(text));
	(void)buf_putc(&im->notes, '\n');
}

bool
imp_is_yes(const char *v)
{
	return str_eq_ci(v, "yes") || str_eq_ci(v, "on") ||
	    str_eq_ci(v, "true") || strcmp(v, "1") == 0;
}

int
imp_split_hostport(const char *s, char **host, int *port)
{
	const char *colon, *end;
	long long p = 0;

	*host = NULL;
	*port = 0;
	if (*s == '[' && (end = strchr(s, ']')) != NULL) {
		colon = end[1] == ':' ? end + 1 : NULL;
		*host = xstrndup(s + 1, (size_t)(end - s - 1));
	} else {
		colon = strrchr(s, ':');
		if (colon != NULL && strchr(s, ':') != colon)
			colon = NULL; /* a bare IPv6 address */
		*host = colon != NULL ? xstrndup(s, (size_t)(colon - s))
				      : xstrdup(s);
	}
	if (colon != NULL && str_to_ll(colon + 1, 1, 65535, &p) == -1) {
		xfree(*host);
		*host = NULL;
		return -1;
	}
	*port = (int)p;
	return 0;
}

void
imp_set_port_tls(
    struct imp_host *h, int port, int default_port, const char *tls)
{
	char num[16];

	(void)str_fmt(num, sizeof(num), "%d", port != 0 ? port : default_port);
	imp_host_set(h, IMP_H_PORT, num);
	imp_host_set(h, IMP_H_TLS, tls);
}

/* imp_add_source - remember that path was read. */
static void
imp_add_source(struct imp *im, const char *path)
{
	if (im->sources.len > 0)
		(void)buf_puts(&im->sources, ", ");
	(void)str_escape(&im->sources, path, strlen(path));
}

int
imp_read_lines(struct imp *im, const char *path, bool required, bool *found,
    imp_line_cb cb, void *arg, struct err *err)
{
	struct buf b;
	char *line, *nl;
	int lineno = 0, rc = 0;

	if (found != NULL)
		*found = false;
	buf_init(&b, IMP_FILE_MAX);
	if (fs_read_file(path, &b, err) == -1) {
		rc = -1;
		if (!required && err->sys_errno == ENOENT) {
			err_clear(err);
			rc = 0;
		}
		goto out;
	}
	if (found != NULL)
		*found = true;
	imp_add_source(im, path);
	for (line = b.data; rc == 0 && line < b.data + b.len; line = nl + 1) {
		nl = memchr(line, '\n', (size_t)(b.data + b.len - line));
		if (nl == NULL)
			nl = b.data + b.len;
		*nl = '\0';
		if (nl > line && nl[-1] == '\r')
			nl[-1] = '\0';
		rc = cb(im, path, ++lineno, line, arg, err);
	}
out:
	buf_wipe_free(&b); /* these files hold passwords */
	return rc;
}

/* imp_first_cb - keep the first meaningful line. */
static int
imp_first_cb(struct imp *im, const char *path, int lineno, char *line,
    void *arg, struct err *err)
{
	char **out = arg;
	char *t = str_trim(line);

	(void)im;
	(void)path;
	(void)lineno;
	(void)err;
	if (*out == NULL && *t != '\0' && *t != '#')
		*out = xstrdup(t);
	return 0;
}

int
imp_first_line(struct imp *im, const char *path, char **out, struct err *err)
{
	*out = NULL;
	return imp_read_lines(im, path, false, NULL, imp_first_cb, out, err);
}

static void
imp_init(struct imp *im, const char *secret_path)
{
	memset(im, 0, sizeof(*im));
	buf_init(&im->notes, IMP_NOTES_MAX);
	buf_init(&im->sources, IMP_NOTES_MAX);
	im->secret_path = secret_path;
}

static void
imp_free(struct imp *im)
{
	size_t i, k;

	for (k = 0; k < IMP_NKEYS; k++)
		xfree(im->val[k]);
	for (i = 0; i < im->nhosts; i++) {
		for (k = 0; k < IMP_H_NKEYS; k++)
			xfree(im->hosts[i].val[k]);
		xfree(im->hosts[i].title);
		buf_wipe_free(&im->hosts[i].password);
	}
	buf_free(&im->notes);
	buf_free(&im->sources);
}

/* imp_print_host - one smarthost block. */
static void
imp_print_host(FILE *out, const struct imp_host *h)
{
	char *title = imp_quote(h->title);
	size_t k;

	(void)fprintf(out, "\nsmarthost %s {\n", title);
	for (k = 0; k < IMP_H_NKEYS; k++) {
		if (h->val[k] != NULL)
			(void)fprintf(
			    out, "\t%s = %s\n", imp_hkey_names[k], h->val[k]);
	}
	(void)fputs("}\n", out);
	xfree(title);
}

/* imp_print - the relay.conf: header, notes, settings, smarthosts. */
static void
imp_print(FILE *out, const struct imp *im, const char *format)
{
	size_t k, i;
	bool retry = false;

	(void)fprintf(out,
	    "# relay.conf imported from %s by relayctl import.\n"
	    "# Read: %s\n"
	    "# Review it, install it as /etc/relay/relay.conf, and run "
	    "relayctl check.\n",
	    format, im->sources.len > 0 ? im->sources.data : "(nothing)");
	if (im->notes.len > 0)
		(void)fprintf(out, "#\n# Not carried over, or different:\n%s",
		    im->notes.data);
	(void)fputc('\n', out);
	for (k = 0; k < IMP_NKEYS; k++) {
		bool in_retry = k >= IMP_RETRY_BASE && k <= IMP_RETRY_LIFETIME;

		if (im->val[k] == NULL)
			continue;
		if (in_retry && !retry)
			(void)fputs("retry {\n", out);
		if (!in_retry && retry)
			(void)fputs("}\n", out);
		retry = in_retry;
		(void)fprintf(out, "%s%s = %s\n", in_retry ? "\t" : "",
		    imp_key_names[k], im->val[k]);
	}
	if (retry)
		(void)fputs("}\n", out);
	for (i = 0; i < im->nhosts; i++)
		imp_print_host(out, &im->hosts[i]);
}

/* imp_finish - notes that depend on the whole result. */
static void
imp_finish(struct imp *im)
{
	size_t i;

	for (i = 0; i < im->nhosts; i++) {
		struct imp_host *h = &im->hosts[i];

		if (h->wants_password) {
			imp_note(im,
			    "smarthost %s: no password found for user %s; "
			    "write it into %s (user relay, mode 0600)",
			    h->title,
			    h->val[IMP_H_USERNAME] != NULL
				? h->val[IMP_H_USERNAME]
				: "-",
			    im->secret_path);
			imp_host_set_str(
			    h, IMP_H_PASSWORD_FILE, im->secret_path);
		}
	}
	if (im->nhosts == 0)
		imp_note(im,
		    "no smarthost found: relay only relays to a smarthost; "
		    "add a smarthost block");
}

/* imp_secret - the one password of the import, or NULL. */
static const struct buf *
imp_secret(const struct imp *im)
{
	size_t i;

	for (i = 0; i < im->nhosts; i++)
		if (im->hosts[i].password.len > 0)
			return &im->hosts[i].password;
	return NULL;
}

int
ctl_import_run(const char *format, char **files, size_t nfiles, FILE *out,
    struct buf *secret_out, const char *secret_path)
{
	const struct imp_format *f = NULL;
	const struct buf *secret;
	struct imp im;
	struct err err;
	size_t i;
	int rc = 0;

	for (i = 0; i < sizeof(imp_formats) / sizeof(imp_formats[0]); i++)
		if (strcmp(format, imp_formats[i].name) == 0)
			f = &imp_formats[i];
	if (f == NULL) {
		(void)fprintf(stderr,
		    "relayctl: import: unknown format '%s' (use dma, "
		    "nullmailer, msmtp, ssmtp or postfix)\n",
		    format);
		return 2;
	}
	imp_init(&im, secret_path);
	err_clear(&err);
	if (f->run(&im, files, nfiles, &err) == -1) {
		(void)fprintf(
		    stderr, "relayctl: import %s: %s\n", format, err.msg);
		rc = 1;
		goto out;
	}
	imp_finish(&im);
	imp_print(out, &im, format);
	secret = imp_secret(&im);
	if (secret != NULL &&
	    (buf_append(secret_out, secret->data, secret->len) == -1 ||
		buf_putc(secret_out, '\n') == -1)) {
		(void)fprintf(stderr, "relayctl: import: password too long\n");
		rc = 1;
	}
	if (im.nhosts == 0)
		rc = 1;
out:
	imp_free(&im);
	return rc;
}

/* imp_write_secret - the secret into path, mode 0600, synced. */
static int
imp_write_secret(const char *path, const struct buf *secret)
{
	struct err err;
	int fd = open(path,
	    O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
	    0600);

	if (fd == -1 || fchmod(fd, 0600) == -1) {
		(void)fprintf(stderr, "relayctl: import: %s: %s\n", path,
		    strerror(errno));
		if (fd != -1)
			(void)close(fd);
		return -1;
	}
	if (fs_write_all(fd, secret->data, secret->len, &err) == -1) {
		(void)fprintf(stderr, "relayctl: import: %s\n", err.msg);
		(void)close(fd);
		return -1;
	}
	if (fsync(fd) == -1 || close(fd) == -1) {
		(void)fprintf(stderr, "relayctl: import: cannot write %s: %s\n",
		    path, strerror(errno));
		return -1;
	}
	return 0;
}

int
ctl_import_main(const struct conf *c, int argc, char **argv)
{
	const char *secret_path = NULL;
	struct buf secret;
	char **files;
	size_t nfiles = 0;
	int i, rc;

	(void)c;
	if (argc < 2 || argv[1][0] == '-') {
		(void)fprintf(stderr,
		    "relayctl: import: which format?\n"
		    "usage: relayctl [-C FILE] %s\n",
		    imp_usage);
		return 2;
	}
	files = xcalloc((size_t)argc, sizeof(*files));
	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--secret-out") == 0 && i + 1 < argc)
			secret_path = argv[++i];
		else if (argv[i][0] == '-' && argv[i][1] != '\0') {
			(void)fprintf(stderr,
			    "relayctl: import: bad option %s\n"
			    "usage: relayctl [-C FILE] %s\n",
			    argv[i], imp_usage);
			xfree(files);
			return 2;
		} else
			files[nfiles++] = argv[i];
	}
	buf_init(&secret, IMP_SECRET_MAX + 2);
	rc = ctl_import_run(argv[1], files, nfiles, stdout, &secret,
	    secret_path != NULL ? secret_path : CTL_IMPORT_SECRET_DEFAULT);
	if (fflush(stdout) != 0) {
		(void)fprintf(stderr,
		    "relayctl: import: cannot write the "
		    "output\n");
		rc = 1;
	}
	if (secret.len > 0 && secret_path != NULL) {
		if (imp_write_secret(secret_path, &secret) == -1)
			rc = 1;
	} else if (secret.len > 0) {
		(void)fwrite(secret.data, 1, secret.len, stderr);
	}
	buf_wipe_free(&secret);
	xfree(files);
	return rc;
}
