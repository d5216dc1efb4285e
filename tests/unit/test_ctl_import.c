/*
 * test_ctl_import.c - `relayctl import` on sample configurations of each
 * format (tests/data/import/FORMAT/): the output is a relay.conf that
 * conf_load accepts, with the smarthost, port, TLS mode and credentials of
 * the original, the password only in the secret, and notes naming what
 * was not carried over.  Also the command line: usage errors, a missing
 * file, and --secret-out writing a mode 0600 file.
 */
#include "config.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/str.h"
#include "base/xalloc.h"
#include "ctl/ctl_import.h"
#include "mail/conf.h"

static char data_dir[4096];

/* One import's results. */
struct result {
	int rc;
	struct buf text; /* the relay.conf */
	struct buf secret;
	struct conf *conf; /* text loaded back, or NULL */
};

/* run_import - import the sample files (relative to the format's data
 * directory) and load the result. */
static void
run_import(const char *format, const char *f1, const char *f2, struct result *r)
{
	char path[] = "/tmp/relay-import-XXXXXX";
	char *files[2];
	size_t n = 0;
	struct err err;
	FILE *out;
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	out = fdopen(fd, "w+");
	assert_non_null(out);
	if (f1 != NULL)
		files[n++] = xasprintf("%s/%s/%s", data_dir, format, f1);
	if (f2 != NULL)
		files[n++] = xasprintf("%s/%s/%s", data_dir, format, f2);
	buf_init(&r->secret, 65536);
	r->rc = ctl_import_run(
	    format, files, n, out, &r->secret, "/etc/relay/secret-test");
	assert_int_equal(fclose(out), 0);
	buf_init(&r->text, 1 << 20);
	assert_int_equal(fs_read_file(path, &r->text, &err), 0);
	r->conf = conf_load(path, &err);
	if (r->conf == NULL)
		fail_msg("import %s: output does not load: %s\n%s", format,
		    err.msg, r->text.data);
	assert_int_equal(unlink(path), 0);
	while (n > 0)
		xfree(files[--n]);
}

static void
result_free(struct result *r)
{
	conf_free(r->conf);
	buf_free(&r->text);
	buf_wipe_free(&r->secret);
}

static void
assert_has(const struct result *r, const char *fragment)
{
	if (strstr(r->text.data, fragment) == NULL)
		fail_msg("output lacks '%s':\n%s", fragment, r->text.data);
}

/* assert_host - smarthost i has this host, port and TLS mode. */
static void
assert_host(const struct conf *c, size_t i, const char *host, int port,
    enum conf_tls tls)
{
	assert_true(i < c->nsmarthosts);
	assert_string_equal(c->smarthosts[i].host, host);
	assert_int_equal(c->smarthosts[i].port, port);
	assert_int_equal(c->smarthosts[i].tls, tls);
}

static void
test_dma(void **state)
{
	struct result r;
	const struct conf_smarthost *h;

	(void)state;
	run_import("dma", "dma.conf", "auth.conf", &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.conf->nsmarthosts, 1);
	assert_host(r.conf, 0, "mail.example.net", 587, CONF_TLS_STARTTLS);
	h = &r.conf->smarthosts[0];
	assert_string_equal(h->username, "alerts@example.org");
	assert_string_equal(h->password_file, "/etc/relay/secret-test");
	assert_string_equal(r.secret.data, "dma s3cret\n");
	assert_null(strstr(r.text.data, "s3cret"));
	assert_string_equal(r.conf->hostname, "host1.example.org");
	assert_string_equal(r.conf->domain, "example.org");
	assert_has(&r, "SPOOLDIR");
	assert_has(&r, "DEFER");
	result_free(&r);
}

static void
test_nullmailer(void **state)
{
	struct result r;
	char *dir = xasprintf("%s/nullmailer", data_dir);
	char *files[1] = { dir };
	FILE *out = tmpfile();

	(void)state;
	/* the directory form */
	assert_non_null(out);
	buf_init(&r.secret, 65536);
	r.rc = ctl_import_run("nullmailer", files, 1, out, &r.secret, "/s");
	assert_int_equal(r.rc, 0);
	assert_string_equal(r.secret.data, "n1ll-pw\n");
	assert_int_equal(fclose(out), 0);
	buf_wipe_free(&r.secret);
	xfree(dir);
	/* the files form */
	run_import("nullmailer", "remotes", "me", &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.conf->nsmarthosts, 2);
	assert_host(r.conf, 0, "smtp.example.net", 465, CONF_TLS_IMPLICIT);
	assert_host(r.conf, 1, "backup.example.net", 587, CONF_TLS_STARTTLS);
	assert_string_equal(
	    r.conf->smarthosts[0].username, "alerts@example.org");
	assert_null(r.conf->smarthosts[1].username);
	assert_string_equal(r.conf->hostname, "web1");
	assert_has(&r, "qmqp");
	assert_has(&r, "--insecure");
	assert_null(strstr(r.text.data, "n1ll-pw"));
	result_free(&r);
}

static void
test_nullmailer_admin(void **state)
{
	struct result r;

	(void)state;
	run_import("nullmailer", "remotes", "adminaddr", &r);
	assert_string_equal(r.conf->default_recipient, "admin@example.org");
	assert_has(&r, "adminaddr");
	result_free(&r);
}

static void
test_msmtp(void **state)
{
	struct result r;
	const struct conf_smarthost *h;

	(void)state;
	run_import("msmtp", "msmtprc", NULL, &r);
	assert_int_equal(r.rc, 0);
	assert_int_equal(r.conf->nsmarthosts, 1);
	assert_host(r.conf, 0, "mail.personal.example", 465, CONF_TLS_IMPLICIT);
	h = &r.conf->smarthosts[0];
	assert_string_equal(h->username, "me@personal.example");
	assert_string_equal(h->password_command, "gpg -q -d ~/.pw.gpg");
	assert_null(h->password_file);
	assert_string_equal(h->ca_file, "/etc/ssl/certs/ca-certificates.crt");
	assert_non_null(h->fingerprint);
	assert_int_equal(r.secret.len, 0);
	assert_has(&r, "account work is not carried over");
	assert_null(strstr(r.text.data, "work pw"));
	result_free(&r);
}

static void
test_ssmtp(void **state)
{
	struct result r;

	(void)state;
	run_import("ssmtp", "ssmtp.conf", "revaliases", &r);
	assert_int_equal(r.rc, 0);
	assert_host(r.conf, 0, "smtp.example.net", 587, CONF_TLS_STARTTLS);
	assert_string_equal(
	    r.conf->smarthosts[0].username, "alerts@example.org");
	assert_string_equal(r.secret.data, "ss-pw=with=equals\n");
	assert_string_equal(
	    r.conf->default_recipient, "postmaster@example.org");
	assert_string_equal(r.conf->domain, "example.org");
	assert_has(&r, "user www-data had its own sender address");
	assert_has(&r, "FromLineOverride");
	result_free(&r);
}

static void
test_postfix(void **state)
{
	struct result r;

	(void)state;
	run_import("postfix", "main.cf", "sasl_passwd", &r);
	assert_int_equal(r.rc, 0);
	assert_host(r.conf, 0, "smtp.example.net", 587, CONF_TLS_STARTTLS);
	assert_string_equal(
	    r.conf->smarthosts[0].username, "alerts@example.org");
	/* the exact key "[host]:port" wins over the bare host name */
	assert_string_equal(r.secret.data, "pf:pass\n");
	assert_string_equal(r.conf->domain, "example.org");
	assert_string_equal(r.conf->hostname, "web1.example.org");
	assert_int_equal(r.conf->max_message_size, 20480000);
	assert_int_equal(r.conf->retry_base, 120);
	assert_int_equal(r.conf->retry_max, 7200);
	assert_int_equal(r.conf->retry_lifetime, 3 * 86400);
	assert_int_equal(r.conf->nlisten, 2);
	assert_has(&r, "mydestination");
	result_free(&r);
}

static void
test_errors(void **state)
{
	struct buf secret;
	char import[] = "import", exim[] = "exim", dma[] = "dma";
	char bogus[] = "--bogus", nofile[] = "/nonexistent/relay/dma.conf";
	char *missing[1] = { nofile };
	char *argv_unknown[] = { import, exim, NULL };
	char *argv_none[] = { import, NULL };
	char *argv_opt[] = { import, dma, bogus, NULL };
	FILE *out = tmpfile();

	(void)state;
	assert_non_null(out);
	buf_init(&secret, 1024);
	assert_int_equal(ctl_import_main(NULL, 2, argv_unknown), 2);
	assert_int_equal(ctl_import_main(NULL, 1, argv_none), 2);
	assert_int_equal(ctl_import_main(NULL, 3, argv_opt), 2);
	assert_int_equal(
	    ctl_import_run("dma", missing, 1, out, &secret, "/s"), 1);
	assert_int_equal(secret.len, 0);
	assert_int_equal(fclose(out), 0);
	buf_free(&secret);
}

/* test_secret_out - the command writes the secret to a 0600 file and the
 * relay.conf to stdout (sent to /dev/null here). */
static void
test_secret_out(void **state)
{
	char dir[] = "/tmp/relay-import-secret-XXXXXX";
	char import[] = "import", ssmtp[] = "ssmtp", opt[] = "--secret-out";
	char *conf_file, *secret_file;
	char *argv[6];
	struct stat st;
	struct buf b;
	struct err err;
	int saved, devnull, rc;

	(void)state;
	assert_non_null(mkdtemp(dir));
	conf_file = xasprintf("%s/ssmtp/ssmtp.conf", data_dir);
	secret_file = xasprintf("%s/secret", dir);
	argv[0] = import;
	argv[1] = ssmtp;
	argv[2] = opt;
	argv[3] = secret_file;
	argv[4] = conf_file;
	argv[5] = NULL;
	assert_int_equal(fflush(stdout), 0);
	saved = dup(1);
	devnull = open("/dev/null", O_WRONLY);
	assert_true(saved >= 0 && devnull >= 0);
	assert_int_equal(dup2(devnull, 1), 1);
	rc = ctl_import_main(NULL, 5, argv);
	assert_int_equal(fflush(stdout), 0);
	assert_int_equal(dup2(saved, 1), 1);
	assert_int_equal(close(saved), 0);
	assert_int_equal(close(devnull), 0);
	assert_int_equal(rc, 0);
	assert_int_equal(stat(secret_file, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0600);
	buf_init(&b, 1024);
	assert_int_equal(fs_read_file(secret_file, &b, &err), 0);
	assert_string_equal(b.data, "ss-pw=with=equals\n");
	buf_wipe_free(&b);
	assert_int_equal(unlink(secret_file), 0);
	assert_int_equal(rmdir(dir), 0);
	xfree(conf_file);
	xfree(secret_file);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dma),
		cmocka_unit_test(test_nullmailer),
		cmocka_unit_test(test_nullmailer_admin),
		cmocka_unit_test(test_msmtp),
		cmocka_unit_test(test_ssmtp),
		cmocka_unit_test(test_postfix),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_secret_out),
	};
	char *slash;

	/* __FILE__ is SRC/tests/unit/test_ctl_import.c */
	if (str_copy(data_dir, sizeof(data_dir), __FILE__) == -1)
		return 1;
	slash = strstr(data_dir, "/unit/test_ctl_import.c");
	if (slash == NULL)
		return 1;
	if (str_copy(slash, sizeof(data_dir) - (size_t)(slash - data_dir),
		"/data/import") == -1)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
