/*
 * test_aliases.c - the aliases file: format (continuations, comments,
 * quoting), refusals with file and line (commands, files, :include:,
 * duplicates, missing targets, bad names), a missing file, and the
 * expansion (recursive, loop-safe, dedup, default_recipient, remote and
 * local domains).
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/str.h"
#include "base/xalloc.h"
#include "mail/aliases.h"

static struct conf conf;
static char path[4096];

/* add_template - append mkstemp's six placeholder characters. */
static void
add_template(char *p, size_t size)
{
	size_t len = strlen(p);

	assert_true(len + 7 <= size);
	memset(p + len, 'X', 6);
	p[len + 6] = '\0';
}

static int
setup(void **state)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	(void)state;
	memset(&conf, 0, sizeof(conf));
	conf.hostname = (char *)(uintptr_t) "mx.example.com";
	conf.domain = (char *)(uintptr_t) "example.com";
	assert_int_equal(str_fmt(path, sizeof(path), "%s/test_aliases.",
			     tmp != NULL ? tmp : "/tmp"),
	    0);
	add_template(path, sizeof(path));
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(close(fd), 0);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	(void)unlink(path);
	return 0;
}

static void
write_file(const char *text)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_int_equal(fputs(text, f) >= 0, 1);
	assert_int_equal(fclose(f), 0);
}

static struct aliases *
load(const char *text)
{
	struct aliases *a;
	struct err err;

	write_file(text);
	err_clear(&err);
	a = aliases_load(path, &err);
	if (a == NULL)
		fail_msg("aliases_load: %s", err.msg);
	return a;
}

/* expand - the expansion of rcpt joined with '|'. */
static char *
expand(const struct aliases *a, const char *rcpt)
{
	char **out = NULL;
	size_t n = 0, i;
	struct buf b;
	struct err err;
	char *stolen;

	assert_int_equal(aliases_expand(a, &conf, rcpt, &out, &n, &err), 0);
	buf_init(&b, 1 << 20);
	for (i = 0; i < n; i++) {
		if (i > 0)
			(void)buf_putc(&b, '|');
		(void)buf_puts(&b, out[i]);
		xfree(out[i]);
	}
	xfree(out);
	stolen = buf_steal(&b);
	buf_free(&b); /* buf_steal leaves an empty, allocated buf */
	return stolen;
}

static void
expect_expand(const struct aliases *a, const char *rcpt, const char *want)
{
	char *got = expand(a, rcpt);

	assert_string_equal(got, want);
	xfree(got);
}

static void
test_format(void **state)
{
	struct aliases *a;

	(void)state;
	a = load("# comment\n"
		 "\n"
		 "postmaster: root\n"
		 "Root: admin@ops.test,\n"
		 "\tsecond@ops.test\n"
		 "  # indented comment\n"
		 "   third@ops.test\r\n"
		 "webmaster:\"Web Team\" <web@ops.test>, root\n"
		 "abuse: postmaster");
	assert_int_equal(aliases_count(a), 4);
	expect_expand(
	    a, "postmaster", "admin@ops.test|second@ops.test|third@ops.test");
	expect_expand(a, "WEBMASTER@example.com",
	    "web@ops.test|admin@ops.test|second@ops.test|third@ops.test");
	expect_expand(a, "abuse@mx.example.com",
	    "admin@ops.test|second@ops.test|third@ops.test");
	aliases_free(a);
}

static void
test_expansion(void **state)
{
	struct aliases *a;

	(void)state;
	a = load("root: root, admin@ops.test\n"
		 "loop1: loop2\nloop2: loop1, x@ops.test\n"
		 "both: root, ROOT@example.com, admin@ops.test\n"
		 "diamond: left, right\nleft: shared\nright: shared\n"
		 "shared: s@ops.test\n");
	/* a name met on its own path is final */
	expect_expand(a, "root", "root@example.com|admin@ops.test");
	expect_expand(a, "loop1", "loop1@example.com|x@ops.test");
	expect_expand(a, "both", "root@example.com|admin@ops.test");
	expect_expand(a, "diamond", "s@ops.test");
	/* no alias: local names are qualified, remote ones pass */
	expect_expand(a, "alice", "alice@example.com");
	expect_expand(a, "alice@localhost", "alice@example.com");
	expect_expand(a, "root@elsewhere.test", "root@elsewhere.test");
	/* default_recipient takes local names without an alias */
	conf.default_recipient = (char *)(uintptr_t) "ops@ops.test";
	expect_expand(a, "alice", "ops@ops.test");
	expect_expand(a, "root", "ops@ops.test|admin@ops.test");
	expect_expand(a, "bob@ELSEWHERE.test", "bob@ELSEWHERE.test");
	conf.default_recipient = (char *)(uintptr_t) "admin";
	expect_expand(a, "alice", "admin@example.com");
	conf.default_recipient = NULL;
	aliases_free(a);
}

static void
expect_refused(const char *text, const char *line, const char *what)
{
	struct err err;
	char want[4200];

	write_file(text);
	err_clear(&err);
	assert_null(aliases_load(path, &err));
	assert_int_equal(err.cls, ERR_CONFIG);
	assert_int_equal(str_fmt(want, sizeof(want), "%s:%s:", path, line), 0);
	if (strncmp(err.msg, want, strlen(want)) != 0)
		fail_msg("got '%s', want prefix '%s'", err.msg, want);
	if (strstr(err.msg, what) == NULL)
		fail_msg("got '%s', want '%s'", err.msg, what);
}

static void
test_refused(void **state)
{
	(void)state;
	expect_refused("a: b\nprog: |/usr/bin/procmail\n", "2", "command");
	expect_refused("a: b\n\nfile: x, /var/mail/x\n", "3", "files");
	expect_refused("lst: :include:/etc/list\n", "1", ":include:");
	expect_refused("q: \"|cmd\"\n", "1", "command");
	expect_refused(
	    "a: b\nc: d\nA: e\n", "3", "defined twice (also at line 1)");
	expect_refused("a: b\nnocolon\n", "2", "expected");
	expect_refused("a:\n", "1", "no targets");
	expect_refused("a: ,,\n", "1", "no targets");
	expect_refused(" b@x\n", "1", "continuation");
	expect_refused("a b: c\n", "1", "bad alias name");
	expect_refused("a@x: c\n", "1", "bad alias name");
	expect_refused("a: -oops@x\n", "1", "invalid address");
}

static void
test_missing_and_empty(void **state)
{
	struct aliases *a;
	struct err err;

	(void)state;
	assert_int_equal(unlink(path), 0);
	a = aliases_load(path, &err);
	assert_non_null(a);
	assert_int_equal(aliases_count(a), 0);
	expect_expand(a, "root", "root@example.com");
	aliases_free(a);
	a = aliases_load("", &err);
	assert_non_null(a);
	assert_int_equal(aliases_count(a), 0);
	aliases_free(a);
	aliases_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_format, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_expansion, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(
		    test_missing_and_empty, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
