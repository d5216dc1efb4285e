/*
 * test_prepare.c - the submission header policy: -t extraction (plain and
 * Resent-), removals, qualification of header addresses, the fields added
 * when missing (Postfix order and formats), the undisclosed-recipients
 * knob, the generated From and the hop limit.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/xalloc.h"
#include "mail/prepare.h"

/* 2024-12-04 19:31:00 UTC, a Wednesday */
#define NOW ((time_t)1733340660)

static struct conf conf;

static int
setup(void **state)
{
	(void)state;
	memset(&conf, 0, sizeof(conf));
	conf.hostname = (char *)(uintptr_t) "mx.example.com";
	conf.domain = (char *)(uintptr_t) "example.com";
	conf.hop_limit = 3;
	(void)setenv("TZ", "UTC", 1);
	return 0;
}

/* run - parse m, apply the policy, return the written header section. */
static char *
run(const char *m, int flags, const char *sender, const char *name,
    struct addr_list *rcpts, int want_rc, struct err *err)
{
	struct prepare_ctx px = { &conf, sender, name, NOW, flags };
	struct hdr *h = hdr_new(0);
	struct buf out;
	char *stolen;
	size_t body;

	assert_int_equal(hdr_parse(h, m, strlen(m), &body, err), 0);
	assert_int_equal(prepare_headers(h, &px, rcpts, err), want_rc);
	buf_init(&out, 1 << 20);
	assert_int_equal(hdr_write(h, &out, err), 0);
	hdr_free(h);
	stolen = buf_steal(&out);
	buf_free(&out); /* buf_steal leaves an empty, allocated buf */
	return stolen;
}

static void
test_extract(void **state)
{
	struct addr_list r = { 0 };
	struct err err;
	char *out;

	(void)state;
	(void)addr_list_add_unique(&r, "root@example.com");
	out = run("To: root, Alice <alice@x.test>\r\n"
		  "Cc: team: bob, \"c, d\" <cd@y.test>;\r\n"
		  "Bcc: hidden@z.test,\r\n alice@X.TEST\r\n"
		  "Subject: s\r\n\r\n",
	    PREPARE_EXTRACT, "me@example.com", NULL, &r, 0, &err);
	assert_int_equal(r.n, 5);
	assert_string_equal(r.v[0], "root@example.com");
	assert_string_equal(r.v[1], "alice@x.test");
	assert_string_equal(r.v[2], "bob@example.com");
	assert_string_equal(r.v[3], "cd@y.test");
	assert_string_equal(r.v[4], "hidden@z.test");
	assert_null(strstr(out, "Bcc"));
	assert_non_null(strstr(out,
	    "To: root@example.com, Alice "
	    "<alice@x.test>\r\n"));
	assert_non_null(strstr(out,
	    "Cc: team: bob@example.com, \"c, d\" "
	    "<cd@y.test>;\r\n"));
	xfree(out);
	addr_list_free(&r);
}

static void
test_extract_resent(void **state)
{
	struct addr_list r = { 0 };
	struct err err;
	char *out;

	(void)state;
	out = run("To: old@x.test\r\nResent-From: fwd@x.test\r\n"
		  "Resent-To: new@y.test\r\nResent-Bcc: secret@y.test\r\n\r\n",
	    PREPARE_EXTRACT, "me@example.com", NULL, &r, 0, &err);
	assert_int_equal(r.n, 2);
	assert_string_equal(r.v[0], "new@y.test");
	assert_string_equal(r.v[1], "secret@y.test");
	assert_null(strstr(out, "secret"));
	/* Resent- present: the Resent- forms are added, not the plain ones */
	assert_non_null(strstr(out, "\r\nResent-Message-ID: <20241204193100."));
	assert_non_null(strstr(out, "\r\nResent-Date: "));
	assert_null(strstr(out, "\r\nMessage-ID:"));
	assert_null(strstr(out, "\r\nDate:"));
	assert_null(strstr(out, "\r\nFrom:"));
	xfree(out);
	addr_list_free(&r);
	/* Resent-From alone does not switch extraction to Resent- */
	out = run("To: a@x.test\r\nResent-From: f@x.test\r\n\r\n",
	    PREPARE_EXTRACT, "me@example.com", NULL, &r, 0, &err);
	assert_int_equal(r.n, 1);
	assert_string_equal(r.v[0], "a@x.test");
	xfree(out);
	addr_list_free(&r);
}

static void
test_extract_errors(void **state)
{
	struct addr_list r = { 0 };
	struct err err;
	char *out;

	(void)state;
	out = run("To: ok@x.test, -bad@x.test\r\n\r\n", PREPARE_EXTRACT,
	    "me@example.com", NULL, &r, -1, &err);
	assert_int_equal(err.cls, ERR_PERM);
	assert_int_equal(err.smtp_code, 553);
	assert_non_null(strstr(err.msg, "To header"));
	xfree(out);
	addr_list_free(&r);
	/* without -t the header recipients are not used at all */
	out = run(
	    "To: -bad@x.test\r\n\r\n", 0, "me@example.com", NULL, &r, 0, &err);
	assert_int_equal(r.n, 0);
	xfree(out);
}

static void
test_removed_and_added(void **state)
{
	struct addr_list r = { 0 };
	struct err err;
	char *out;
	const char *p;

	(void)state;
	out = run("Return-Path: <x@y>\r\nContent-Length: 5\r\n"
		  "Subject: s\r\nbcc: b@x.test\r\n\r\n",
	    0, "me@example.com", "Jo Doe", &r, 0, &err);
	p = "Subject: s\r\nMessage-ID: <20241204193100.";
	assert_memory_equal(out, p, strlen(p));
	p = strstr(out,
	    "@mx.example.com>\r\n"
	    "Date: Wed,  4 Dec 2024 19:31:00 +0000 (UTC)\r\n"
	    "From: Jo Doe <me@example.com>\r\n\r\n");
	assert_non_null(p);
	assert_int_equal(strlen(p),
	    strlen("@mx.example.com>\r\n") +
		strlen("Date: Wed,  4 Dec 2024 19:31:00 +0000 (UTC)\r\n") +
		strlen("From: Jo Doe <me@example.com>\r\n\r\n"));
	/* 16 hex digits of randomness */
	assert_int_equal(strchr(out +
				 strlen("Subject: s\r\nMessage-ID: <"
					"20241204193100."),
			     '@') -
		(out + strlen("Subject: s\r\nMessage-ID: <20241204193100.")),
	    16);
	xfree(out);
	/* present fields are kept, nothing added */
	out = run("From: a@x.test\r\nDate: d\r\nMessage-Id: <m@x>\r\n\r\n", 0,
	    "me@example.com", NULL, &r, 0, &err);
	assert_string_equal(
	    out, "From: a@x.test\r\nDate: d\r\nMessage-Id: <m@x>\r\n\r\n");
	xfree(out);
}

static void
test_qualify_headers(void **state)
{
	struct addr_list r = { 0 };
	struct err err;
	char *out;

	(void)state;
	out = run("From: root (Cron Daemon)\r\nTo: alice\r\n"
		  "Reply-To: Anacron <root>\r\nSender: bob\r\n"
		  "X-Other: carol\r\nDate: d\r\nMessage-ID: <m@x>\r\n\r\n",
	    0, "me@example.com", NULL, &r, 0, &err);
	assert_string_equal(out,
	    "From: root@example.com (Cron Daemon)\r\n"
	    "To: alice@example.com\r\n"
	    "Reply-To: Anacron <root@example.com>\r\n"
	    "Sender: bob@example.com\r\nX-Other: carol\r\nDate: d\r\n"
	    "Message-ID: <m@x>\r\n\r\n");
	xfree(out);
	/* -G leaves them alone */
	out = run("From: root\r\nDate: d\r\nMessage-ID: <m@x>\r\n\r\n",
	    PREPARE_NO_QUALIFY, "me@example.com", NULL, &r, 0, &err);
	assert_string_equal(
	    out, "From: root\r\nDate: d\r\nMessage-ID: <m@x>\r\n\r\n");
	xfree(out);
}

static void
test_undisclosed(void **state)
{
	struct addr_list r = { 0 };
	struct err err;
	char *out;

	(void)state;
	conf.undisclosed_recipients = true;
	out = run("From: a@x\r\nDate: d\r\nMessage-ID: <m@x>\r\n\r\n", 0,
	    "me@example.com", NULL, &r, 0, &err);
	assert_string_equal(out,
	    "From: a@x\r\nDate: d\r\nMessage-ID: <m@x>\r\n"
	    "To: undisclosed-recipients:;\r\n\r\n");
	xfree(out);
	out =
	    run("From: a@x\r\nDate: d\r\nMessage-ID: <m@x>\r\nCc: c@x\r\n\r\n",
		0, "me@example.com", NULL, &r, 0, &err);
	assert_null(strstr(out, "undisclosed"));
	xfree(out);
	conf.undisclosed_recipients = false;
	out = run("From: a@x\r\nDate: d\r\nMessage-ID: <m@x>\r\n\r\n", 0,
	    "me@example.com", NULL, &r, 0, &err);
	assert_null(strstr(out, "undisclosed"));
	xfree(out);
}

static void
test_from_generation(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 4096);
	assert_int_equal(prepare_from("Jo Doe", "j@x.test", "d.test", &b), 0);
	assert_string_equal(b.data, "Jo Doe <j@x.test>");
	buf_reset(&b);
	assert_int_equal(
	    prepare_from("Doe, Jo \"JD\"", "j@x.test", "d.test", &b), 0);
	assert_string_equal(b.data, "\"Doe, Jo \\\"JD\\\"\" <j@x.test>");
	buf_reset(&b);
	assert_int_equal(prepare_from("50% off!", "j@x.test", "d.test", &b), 0);
	assert_string_equal(b.data, "\"50% off!\" <j@x.test>");
	buf_reset(&b);
	assert_int_equal(
	    prepare_from(" Evil\r\nBcc: x  \t y ", "j@x.test", "d.test", &b),
	    0);
	assert_string_equal(b.data, "\"EvilBcc: x y\" <j@x.test>");
	buf_reset(&b);
	assert_int_equal(prepare_from("", "j@x.test", "d.test", &b), 0);
	assert_string_equal(b.data, "j@x.test");
	buf_reset(&b);
	assert_int_equal(prepare_from(NULL, "j@x.test", "d.test", &b), 0);
	assert_string_equal(b.data, "j@x.test");
	buf_reset(&b);
	assert_int_equal(prepare_from("Jo", "", "d.test", &b), 0);
	assert_string_equal(b.data, "MAILER-DAEMON@d.test");
	buf_free(&b);
}

static void
test_hops(void **state)
{
	struct addr_list r = { 0 };
	struct err err;
	char *out;

	(void)state;
	out = run("Received: 1\r\nReceived: 2\r\nReceived: 3\r\n\r\n", 0,
	    "me@example.com", NULL, &r, 0, &err);
	xfree(out);
	out = run("Received: 1\r\nreceived: 2\r\nReceived: 3\r\n"
		  "RECEIVED: 4\r\n\r\n",
	    0, "me@example.com", NULL, &r, -1, &err);
	assert_int_equal(err.cls, ERR_PERM);
	assert_int_equal(err.smtp_code, 554);
	assert_non_null(strstr(err.msg, "too many hops"));
	xfree(out);
}

static void
test_date_format(void **state)
{
	char d[64];

	(void)state;
	assert_int_equal(prepare_date(NOW + 86400 * 10, d, sizeof(d)), 0);
	assert_string_equal(d, "Sat, 14 Dec 2024 19:31:00 +0000 (UTC)");
	assert_int_equal(prepare_date(NOW, d, 10), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_extract, setup),
		cmocka_unit_test_setup(test_extract_resent, setup),
		cmocka_unit_test_setup(test_extract_errors, setup),
		cmocka_unit_test_setup(test_removed_and_added, setup),
		cmocka_unit_test_setup(test_qualify_headers, setup),
		cmocka_unit_test_setup(test_undisclosed, setup),
		cmocka_unit_test_setup(test_from_generation, setup),
		cmocka_unit_test_setup(test_hops, setup),
		cmocka_unit_test_setup(test_date_format, setup),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
