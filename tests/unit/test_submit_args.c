/*
 * test_submit_args.c - sendmail's command line: clusters, values attached
 * or separate, "--", stopping at the first operand, -oi variants, the
 * bare -q / -C fixups, modes and their refusals, -N/-R/-V/-B checks,
 * dash operands, -C as non-root, argv[0] names, -f '' and '<>', argv
 * recipients, and the one error-to-exit-code mapping.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sysexits.h>

#include <cmocka.h>

#include "base/xalloc.h"
#include "submit/submit.h"

/* ARGV - a NULL-terminated, writable copy of the given strings; valid
 * until the next ARGV (the parser borrows from it). */
#define ARGV(...) make_argv(__VA_ARGS__, (const char *)NULL)

static char *argv_store[64];

static char *const *
make_argv(const char *first, ...)
{
	const char *s;
	va_list ap;
	size_t n = 0;

	while (argv_store[n] != NULL) {
		xfree(argv_store[n]);
		argv_store[n++] = NULL;
	}
	n = 0;
	va_start(ap, first);
	for (s = first; s != NULL && n < 63; s = va_arg(ap, const char *))
		argv_store[n++] = xstrdup(s);
	va_end(ap);
	argv_store[n] = NULL;
	return argv_store;
}

/* parse_as - parse argv (NULL-terminated) as root or not; returns the
 * exit code the error maps to (0 on success). */
static int
parse_as(struct submit_args *a, char *const *argv, bool root)
{
	struct err err;
	int argc = 0;

	while (argv[argc] != NULL)
		argc++;
	err_clear(&err);
	if (submit_args_parse(a, argc, argv, root, &err) == 0)
		return 0;
	assert_true(err.msg[0] != '\0');
	return submit_exit_code(&err);
}

static int
parse(struct submit_args *a, char *const *argv)
{
	return parse_as(a, argv, true);
}

static void
test_clusters_and_values(void **state)
{
	struct submit_args a;

	(void)state;
	assert_int_equal(
	    parse(&a,
		ARGV("sendmail", "-ti", "-fme@x.test", "-F", "Jo Doe", "bob")),
	    0);
	assert_true(a.extract);
	assert_true(a.ignore_dots);
	assert_string_equal(a.sender, "me@x.test");
	assert_string_equal(a.full_name, "Jo Doe");
	assert_int_equal(a.nrcpts, 1);
	assert_string_equal(a.rcpts[0], "bob");
	assert_int_equal(a.mode, SUBMIT_MODE_DELIVER);
	submit_args_free(&a);
	/* the value of the last letter of a cluster: attached or next */
	assert_int_equal(parse(&a, ARGV("sendmail", "-tf", "me@x", "bob")), 0);
	assert_true(a.extract);
	assert_string_equal(a.sender, "me@x");
	submit_args_free(&a);
	/* -tio rcpt: 'o' swallows rcpt (getopt rules), so -t alone is left */
	assert_int_equal(parse(&a, ARGV("sendmail", "-tio", "rcpt")), 0);
	assert_int_equal(a.nrcpts, 0);
	assert_true(a.extract);
	submit_args_free(&a);
	/* the last -f wins, with a warning */
	assert_int_equal(
	    parse(&a, ARGV("sendmail", "-f", "a@x", "-r", "b@x", "c")), 0);
	assert_string_equal(a.sender, "b@x");
	assert_int_equal(a.nwarn, 1);
	submit_args_free(&a);
	assert_int_equal(parse(&a, ARGV("sendmail", "-f")), EX_USAGE);
	submit_args_free(&a);
}

static void
test_operands(void **state)
{
	struct submit_args a;

	(void)state;
	/* stop at the first operand: -t after a recipient is refused */
	assert_int_equal(parse(&a, ARGV("sendmail", "root", "-t")), EX_USAGE);
	submit_args_free(&a);
	assert_int_equal(
	    parse(&a, ARGV("sendmail", "-i", "--", "-odd@x", "b")), 0);
	assert_int_equal(a.nrcpts, 2);
	assert_string_equal(a.rcpts[0], "-odd@x");
	submit_args_free(&a);
	assert_int_equal(parse(&a, ARGV("sendmail", "-")), EX_USAGE);
	submit_args_free(&a);
	assert_int_equal(parse(&a, ARGV("sendmail", "--foo", "x")), EX_USAGE);
	submit_args_free(&a);
	/* no recipients */
	assert_int_equal(parse(&a, ARGV("sendmail")), EX_USAGE);
	submit_args_free(&a);
	assert_int_equal(parse(&a, ARGV("sendmail", "-i", "--")), EX_USAGE);
	submit_args_free(&a);
	assert_int_equal(parse(&a, ARGV("sendmail", "-t")), 0);
	submit_args_free(&a);
}

static void
test_oi_variants(void **state)
{
	static const char *const yes[] = { "-oi", "-oi-", "-oiF", "-oiN",
		"-oitrue" };
	struct submit_args a;
	size_t k;

	(void)state;
	for (k = 0; k < sizeof(yes) / sizeof(yes[0]); k++) {
		assert_int_equal(parse(&a, ARGV("sendmail", yes[k], "b")), 0);
		assert_true(a.ignore_dots);
		submit_args_free(&a);
	}
	assert_int_equal(parse(&a, ARGV("sendmail", "-o", "i", "b")), 0);
	assert_true(a.ignore_dots);
	submit_args_free(&a);
	assert_int_equal(
	    parse(&a, ARGV("sendmail", "-odb", "-oem", "-oA/x", "b")), 0);
	assert_false(a.ignore_dots);
	submit_args_free(&a);
}

static void
test_modes(void **state)
{
	struct submit_args a;

	(void)state;
	assert_int_equal(parse(&a, ARGV("sendmail", "-bp")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_PRINTQ);
	assert_int_equal(parse(&a, ARGV("sendmail", "-bi")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_ALIASES);
	assert_int_equal(parse(&a, ARGV("sendmail", "-I")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_ALIASES);
	assert_int_equal(parse(&a, ARGV("sendmail", "-bv", "a")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_VERIFY);
	assert_int_equal(parse(&a, ARGV("sendmail", "-bv")), EX_USAGE);
	assert_int_equal(parse(&a, ARGV("sendmail", "-bv", "-t")), EX_USAGE);
	assert_int_equal(parse(&a, ARGV("sendmail", "-bm", "a")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_DELIVER);
	assert_int_equal(parse(&a, ARGV("sendmail", "-bh")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_NOOP);
	assert_int_equal(parse(&a, ARGV("sendmail", "-bH")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_NOOP);
	assert_int_equal(parse(&a, ARGV("sendmail", "-bd")), EX_USAGE);
	assert_int_equal(parse(&a, ARGV("sendmail", "-bD")), EX_USAGE);
	assert_int_equal(parse(&a, ARGV("sendmail", "-bs")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_SMTP);
	assert_int_equal(parse(&a, ARGV("sendmail", "-bs", "a")), EX_USAGE);
	assert_int_equal(parse(&a, ARGV("sendmail", "-bt")), EX_USAGE);
	assert_int_equal(parse(&a, ARGV("sendmail", "-ba")), EX_USAGE);
	assert_int_equal(parse(&a, ARGV("sendmail", "-bC")), EX_USAGE);
	assert_int_equal(parse(&a, ARGV("sendmail", "-bP")), EX_USAGE);
	/* argv[0] names, and an option can still change the mode */
	assert_int_equal(parse(&a, ARGV("/usr/bin/mailq")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_PRINTQ);
	assert_int_equal(parse(&a, ARGV("newaliases")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_ALIASES);
	assert_int_equal(parse(&a, ARGV("newaliases", "-bp")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_PRINTQ);
	assert_string_equal(submit_prog_name("/usr/sbin/sendmail"), "sendmail");
	assert_string_equal(submit_prog_name("mailq"), "mailq");
	assert_string_equal(submit_prog_name(NULL), "sendmail");
}

static void
test_queue_options(void **state)
{
	struct submit_args a;

	(void)state;
	assert_int_equal(parse(&a, ARGV("sendmail", "-q")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_FLUSH);
	/* a bare -q takes a following non-option as its interval */
	assert_int_equal(parse(&a, ARGV("sendmail", "-q", "30m")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_NOOP);
	assert_int_equal(parse(&a, ARGV("sendmail", "-q", "-v")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_FLUSH);
	assert_true(a.verbose);
	assert_int_equal(parse(&a, ARGV("sendmail", "-q0")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_FLUSH);
	assert_int_equal(parse(&a, ARGV("sendmail", "-q1h")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_NOOP);
	assert_int_equal(parse(&a, ARGV("sendmail", "-qRexample.com")), 0);
	assert_int_equal(a.mode, SUBMIT_MODE_FLUSH);
	assert_string_equal(a.queue_select, "Rexample.com");
	assert_int_equal(parse(&a, ARGV("sendmail", "-qSalice")), 0);
	assert_int_equal(parse(&a, ARGV("sendmail", "-qI4F2A")), 0);
	assert_int_equal(parse(&a, ARGV("sendmail", "-q!Rfoo")), 0);
	assert_int_equal(parse(&a, ARGV("sendmail", "-qX")), EX_USAGE);
	assert_int_equal(parse(&a, ARGV("sendmail", "-q5x")), EX_USAGE);
}

static void
test_dsn_values(void **state)
{
	struct submit_args a;

	(void)state;
	assert_int_equal(
	    parse(&a,
		ARGV("sendmail", "-N", "success,Delay", "-R", "hdrs", "-V",
		    "id+2B1", "-B", "8bitmime", "b")),
	    0);
	assert_string_equal(a.notify, "SUCCESS,DELAY");
	assert_string_equal(a.ret, "HDRS");
	assert_string_equal(a.envid, "id+2B1");
	assert_string_equal(a.body_type, "8BITMIME");
	submit_args_free(&a);
	assert_int_equal(
	    parse(&a, ARGV("sendmail", "-Nnever", "-Rfull", "-B7BIT", "b")), 0);
	assert_string_equal(a.notify, "NEVER");
	assert_string_equal(a.ret, "FULL");
	assert_string_equal(a.body_type, "7BIT");
	submit_args_free(&a);
	/* bad -N / -R: warnings, ignored */
	assert_int_equal(parse(&a,
			     ARGV("sendmail", "-N", "never,success", "-R",
				 "bogus", "-Nsuccess,success", "-h", "x", "b")),
	    0);
	assert_null(a.notify);
	assert_null(a.ret);
	assert_int_equal(a.nwarn, 4);
	submit_args_free(&a);
	/* bad -V / -B: usage errors */
	assert_int_equal(
	    parse(&a, ARGV("sendmail", "-V", "a=b", "x")), EX_USAGE);
	submit_args_free(&a);
	assert_int_equal(
	    parse(&a, ARGV("sendmail", "-V", "a+zz", "x")), EX_USAGE);
	submit_args_free(&a);
	assert_int_equal(
	    parse(&a, ARGV("sendmail", "-B", "binary", "x")), EX_USAGE);
	submit_args_free(&a);
}

static void
test_ignored_and_unknown(void **state)
{
	struct submit_args a;

	(void)state;
	assert_int_equal(
	    parse(&a,
		ARGV("sendmail", "-m", "-c", "-s", "-T", "-x", "-n", "-U", "-G",
		    "-v", "-e", "x", "-p", "smtp", "-Ac", "-M", "Xy", "-d",
		    "5.5", "-D", "/dev/null", "-Q", "q", "-O", "a=b", "-X",
		    "/tmp/log", "-L", "tag", "-h", "17", "b")),
	    0);
	assert_true(a.gateway);
	assert_true(a.verbose);
	assert_string_equal(a.log_tag, "tag");
	assert_int_equal(a.nwarn, 0);
	submit_args_free(&a);
	assert_int_equal(parse(&a, ARGV("sendmail", "-d0.1")), 0);
	assert_true(a.print_version);
	submit_args_free(&a);
	assert_int_equal(parse(&a, ARGV("sendmail", "-K", "b")), EX_USAGE);
	assert_int_equal(parse(&a, ARGV("sendmail", "-t:", "b")), EX_USAGE);
	assert_int_equal(parse(&a, ARGV("sendmail", "-ty", "b")), EX_USAGE);
	assert_int_equal(parse(&a, ARGV("sendmail", "-\x01", "b")), EX_USAGE);
}

static void
test_conf_option(void **state)
{
	struct submit_args a;

	(void)state;
	assert_int_equal(parse(&a, ARGV("sendmail", "-C", "/x.conf", "b")), 0);
	assert_string_equal(a.conf_path, "/x.conf");
	/* bare -C: the default file */
	assert_int_equal(parse(&a, ARGV("sendmail", "-C", "-t")), 0);
	assert_string_equal(a.conf_path, RELAY_CONF_FILE);
	/* not root: refused with 77 before anything is read */
	assert_int_equal(
	    parse_as(&a, ARGV("sendmail", "-C", "/x.conf", "b"), false),
	    EX_NOPERM);
	assert_int_equal(
	    parse_as(&a, ARGV("sendmail", "-ti", "-C/x", "b"), false),
	    EX_NOPERM);
	assert_int_equal(parse_as(&a, ARGV("sendmail", "-t", "b"), false), 0);
}

static void
test_sender_and_rcpts(void **state)
{
	struct addr_list l = { 0 };
	struct submit_args a;
	struct err err;
	bool several;
	char *s;

	(void)state;
	assert_int_equal(
	    submit_sender_from_arg("", "example.com", &s, &several, &err), 0);
	assert_string_equal(s, "");
	xfree(s);
	assert_int_equal(
	    submit_sender_from_arg("<>", "example.com", &s, &several, &err), 0);
	assert_string_equal(s, "");
	xfree(s);
	assert_int_equal(submit_sender_from_arg(
			     "Cron <root>", "example.com", &s, &several, &err),
	    0);
	assert_string_equal(s, "root@example.com");
	xfree(s);
	assert_int_equal(
	    submit_sender_from_arg("x@", "example.com", &s, &several, &err),
	    -1);
	assert_int_equal(submit_exit_code(&err), EX_USAGE);
	assert_int_equal(parse(&a,
			     ARGV("sendmail", "alice, Bob <bob@x.test>",
				 "alice@EXAMPLE.com", "carol")),
	    0);
	assert_int_equal(
	    submit_rcpts_from_args(&a, "example.com", &l, &err), 0);
	assert_int_equal(l.n, 3);
	assert_string_equal(l.v[0], "alice@example.com");
	assert_string_equal(l.v[1], "bob@x.test");
	assert_string_equal(l.v[2], "carol@example.com");
	addr_list_free(&l);
	assert_int_equal(
	    parse(&a, ARGV("sendmail", "ok", "Joe <-x@y.test>")), 0);
	assert_int_equal(
	    submit_rcpts_from_args(&a, "example.com", &l, &err), -1);
	assert_int_equal(submit_exit_code(&err), EX_USAGE);
	addr_list_free(&l);
	assert_int_equal(parse(&a, ARGV("sendmail", "", "x")), 0);
	assert_int_equal(
	    submit_rcpts_from_args(&a, "example.com", &l, &err), -1);
	addr_list_free(&l);
}

static void
test_exit_codes(void **state)
{
	struct err err;

	(void)state;
	err_clear(&err);
	assert_int_equal(submit_exit_code(&err), EX_OK);
	(void)err_set(&err, ERR_TEMP, "x");
	assert_int_equal(submit_exit_code(&err), EX_TEMPFAIL);
	(void)err_set(&err, ERR_CONFIG, "x");
	assert_int_equal(submit_exit_code(&err), EX_CONFIG);
	(void)err_set(&err, ERR_INTERNAL, "x");
	assert_int_equal(submit_exit_code(&err), EX_SOFTWARE);
	err_clear(&err);
	(void)err_set(&err, ERR_PERM, "x");
	assert_int_equal(submit_exit_code(&err), EX_DATAERR);
	err.smtp_code = 552;
	assert_int_equal(submit_exit_code(&err), EX_UNAVAILABLE);
	err.smtp_code = 554;
	assert_int_equal(submit_exit_code(&err), EX_UNAVAILABLE);
	err.smtp_code = 550;
	assert_int_equal(submit_exit_code(&err), EX_UNAVAILABLE);
	err.smtp_code = 553;
	assert_int_equal(submit_exit_code(&err), EX_DATAERR);
	err.reason = SUBMIT_R_NOPERM;
	assert_int_equal(submit_exit_code(&err), EX_NOPERM);
	err.reason = SUBMIT_R_UNAVAILABLE;
	assert_int_equal(submit_exit_code(&err), EX_UNAVAILABLE);
	assert_int_equal(submit_err_usage(&err, "u %d", 1), -1);
	assert_int_equal(submit_exit_code(&err), EX_USAGE);
	assert_string_equal(err.msg, "u 1");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clusters_and_values),
		cmocka_unit_test(test_operands),
		cmocka_unit_test(test_oi_variants),
		cmocka_unit_test(test_modes),
		cmocka_unit_test(test_queue_options),
		cmocka_unit_test(test_dsn_values),
		cmocka_unit_test(test_ignored_and_unknown),
		cmocka_unit_test(test_conf_option),
		cmocka_unit_test(test_sender_and_rcpts),
		cmocka_unit_test(test_exit_codes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
