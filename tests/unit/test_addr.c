/*
 * test_addr.c - the RFC 5322 address-list parser (comments, quoted
 * strings and local parts, groups, route-addrs, display names, folding),
 * -f parsing, qualification of addresses and of header fields, envelope
 * checks and deduplication.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "mail/addr.h"

/* parse - parse s and return the addresses joined with '|'. */
static char *
parse(const char *s)
{
	struct addr_list l = { 0 };
	struct buf out;
	char *stolen;
	size_t i;

	(void)addr_parse_list(s, strlen(s), &l);
	buf_init(&out, 1 << 20);
	for (i = 0; i < l.n; i++) {
		if (i > 0)
			(void)buf_putc(&out, '|');
		(void)buf_puts(&out, l.v[i]);
	}
	addr_list_free(&l);
	stolen = buf_steal(&out);
	buf_free(&out); /* buf_steal leaves an empty, allocated buf */
	return stolen;
}

static void
expect_parse(const char *in, const char *want)
{
	char *got = parse(in);

	assert_string_equal(got, want);
	xfree(got);
}

static void
test_simple_lists(void **state)
{
	(void)state;
	expect_parse("a@example.com", "a@example.com");
	expect_parse(
	    "a@example.com, b@example.org", "a@example.com|b@example.org");
	expect_parse("  a@x  ,,  b@y , ", "a@x|b@y");
	expect_parse("", "");
	expect_parse("   ", "");
	expect_parse("<>", "");
	expect_parse("root", "root");
}

static void
test_display_names(void **state)
{
	(void)state;
	expect_parse("Joe Q. Public <john.q.public@example.com>",
	    "john.q.public@example.com");
	expect_parse("\"Doe, John\" <jd@example.com>, b@example.org",
	    "jd@example.com|b@example.org");
	expect_parse("Anacron <root>", "root");
	expect_parse("\"Giant; \\\"Big\\\" Box\" <sysservices@example.net>",
	    "sysservices@example.net");
	expect_parse("Pete(A nice \\) chap) <pete(his account)@silly.test"
		     "(his host)>",
	    "pete@silly.test");
}

static void
test_comments(void **state)
{
	(void)state;
	expect_parse("root (Cron Daemon)", "root");
	expect_parse("a@x (comment, with a comma), b@y", "a@x|b@y");
	expect_parse("(outer (nested) still) a@x", "a@x");
	expect_parse("a@x (unterminated, b@y", "a@x");
}

static void
test_groups(void **state)
{
	(void)state;
	expect_parse("A Group:Ed Jones <c@a.test>,joe@where.test,John "
		     "<jdoe@one.test>;, Mary Smith <mary@x.test>",
	    "c@a.test|joe@where.test|jdoe@one.test|mary@x.test");
	expect_parse("undisclosed-recipients:;", "");
	expect_parse("Undisclosed recipients: ;, a@x", "a@x");
	expect_parse("team: a@x, \"b, c\" <b@y>;", "a@x|b@y");
}

static void
test_routes_and_quotes(void **state)
{
	(void)state;
	expect_parse("<@a.test,@b.test:user@c.test>", "user@c.test");
	expect_parse("\"john doe\"@example.com", "\"john doe\"@example.com");
	expect_parse("\"jdoe\"@example.com", "jdoe@example.com");
	expect_parse("\"a@b\"@example.com", "\"a@b\"@example.com");
	expect_parse("user@[192.0.2.1]", "user@[192.0.2.1]");
	expect_parse("john . doe @ example . com", "john.doe@example.com");
}

static void
test_folding_and_words(void **state)
{
	(void)state;
	expect_parse("a@x,\r\n\tb@y,\r\n c@z", "a@x|b@y|c@z");
	expect_parse("Joe\r\n Smith <js@x>", "js@x");
	/* sendmail 8: white space alone separates addresses */
	expect_parse("a@x b@y", "a@x|b@y");
	expect_parse("alice bob", "alice|bob");
}

static void
test_odd_input(void **state)
{
	struct addr_list l = { 0 };
	char *q;

	(void)state;
	/* NUL bytes separate tokens and never end up in an address */
	assert_int_equal(addr_parse_list("a\0@x.test, \"q\0\"@y", 18, &l), 2);
	assert_string_equal(l.v[0], "a@x.test");
	assert_string_equal(l.v[1], "q@y");
	addr_list_free(&l);
	/* an unbalanced quote: the domain is still found after qualifying */
	q = addr_qualify("\"ab", "example.com");
	assert_string_equal(q, "\"ab@example.com");
	assert_true(addr_has_domain(q));
	assert_string_equal(addr_domain(q), "example.com");
	xfree(q);
}

static void
test_sender(void **state)
{
	char *s;
	bool several;

	(void)state;
	addr_parse_sender("", &s, &several);
	assert_string_equal(s, "");
	xfree(s);
	addr_parse_sender("<>", &s, &several);
	assert_string_equal(s, "");
	assert_false(several);
	xfree(s);
	addr_parse_sender("Joe <j@example.com>", &s, &several);
	assert_string_equal(s, "j@example.com");
	xfree(s);
	addr_parse_sender("a@x, b@y", &s, &several);
	assert_string_equal(s, "a@x");
	assert_true(several);
	xfree(s);
}

static void
test_qualify(void **state)
{
	char *q;

	(void)state;
	q = addr_qualify("root", "example.com");
	assert_string_equal(q, "root@example.com");
	xfree(q);
	q = addr_qualify("a@b", "example.com");
	assert_string_equal(q, "a@b");
	xfree(q);
	q = addr_qualify("", "example.com");
	assert_string_equal(q, "");
	xfree(q);
	q = addr_qualify("\"x@y\"", "example.com");
	assert_string_equal(q, "\"x@y\"@example.com");
	xfree(q);
	assert_string_equal(addr_domain("a@b@c.test"), "c.test");
	assert_null(addr_domain("\"a@b\""));
}

static void
expect_qfield(const char *in, const char *want, int count)
{
	struct buf out;
	struct err err;

	buf_init(&out, 1 << 20);
	assert_int_equal(
	    addr_qualify_field(in, strlen(in), "example.com", &out, &err),
	    count);
	assert_string_equal(out.data, want);
	buf_free(&out);
}

static void
test_qualify_field(void **state)
{
	(void)state;
	expect_qfield(
	    " root (Cron Daemon)", " root@example.com (Cron Daemon)", 1);
	expect_qfield(" Anacron <root>", " Anacron <root@example.com>", 1);
	expect_qfield(
	    " alice, bob@x.test", " alice@example.com, bob@x.test", 1);
	expect_qfield(
	    " undisclosed-recipients:;", " undisclosed-recipients:;", 0);
	expect_qfield(" a@b.test", " a@b.test", 0);
	expect_qfield(" Team: al, \"B, C\" <bo>;\r\n\tcarl (x)",
	    " Team: al@example.com, \"B, C\" <bo@example.com>;\r\n\t"
	    "carl@example.com (x)",
	    3);
	expect_qfield(" \"joe smith\"", " \"joe smith\"@example.com", 1);
}

static void
check_addr(const char *a, bool ok)
{
	struct err err;

	err_clear(&err);
	assert_int_equal(addr_check_envelope(a, &err), ok ? 0 : -1);
	if (!ok) {
		assert_int_equal(err.cls, ERR_PERM);
		assert_int_equal(err.smtp_code, 553);
		assert_non_null(strstr(err.msg, "invalid address"));
	}
}

static void
test_check_envelope(void **state)
{
	char longaddr[600];

	(void)state;
	check_addr("a@example.com", true);
	check_addr("first.last+tag@sub.example.co.uk", true);
	check_addr("user@[192.0.2.1]", true);
	check_addr("\"odd\\\"x\"@example.com", true);
	check_addr("j\xc3\xb6rg@example.com", true);
	check_addr("", false);
	check_addr("-t@example.com", false);
	check_addr("root", false);
	check_addr("a b@example.com", false);
	check_addr("a@", false);
	check_addr("@example.com", false);
	check_addr("a\r@example.com", false);
	check_addr("a@exa mple.com", false);
	check_addr("a@.example.com", false);
	check_addr("a@example..com", false);
	check_addr("a,b@example.com", false);
	check_addr("a@ex(ample.com", false);
	memset(longaddr, 'a', sizeof(longaddr) - 1);
	longaddr[sizeof(longaddr) - 1] = '\0';
	longaddr[10] = '@';
	check_addr(longaddr, false);
	assert_true(addr_is_8bit("j\xc3\xb6rg@example.com"));
	assert_false(addr_is_8bit("a@b"));
}

static void
test_dedup(void **state)
{
	struct addr_list l = { 0 };

	(void)state;
	assert_true(addr_same("A@Example.COM", "A@example.com"));
	assert_false(addr_same("a@example.com", "A@example.com"));
	assert_false(addr_same("a", "a@x"));
	assert_true(addr_list_add_unique(&l, "a@x.test"));
	assert_false(addr_list_add_unique(&l, "a@X.TEST"));
	assert_true(addr_list_add_unique(&l, "b@x.test"));
	assert_int_equal(l.n, 2);
	assert_true(addr_list_contains(&l, "b@X.test"));
	addr_list_free(&l);
	assert_int_equal(l.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_simple_lists),
		cmocka_unit_test(test_display_names),
		cmocka_unit_test(test_comments),
		cmocka_unit_test(test_groups),
		cmocka_unit_test(test_routes_and_quotes),
		cmocka_unit_test(test_folding_and_words),
		cmocka_unit_test(test_odd_input),
		cmocka_unit_test(test_sender),
		cmocka_unit_test(test_qualify),
		cmocka_unit_test(test_qualify_field),
		cmocka_unit_test(test_check_envelope),
		cmocka_unit_test(test_dedup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
