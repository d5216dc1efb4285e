/*
 * test_smtp_reply.c - the strict reply parser and the EHLO capability
 * parser: good replies, every malformation it must refuse, incremental
 * input, limits, enhanced status codes.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/err.h"
#include "smtp/smtp_wire.h"

static int
parse(const char *s, struct smtp_reply *r, size_t *used, struct err *err)
{
	err_clear(err);
	return smtp_reply_parse(s, strlen(s), r, used, err);
}

static void
test_single_and_multi(void **state)
{
	struct smtp_reply r;
	struct err err;
	size_t used = 0;
	const char *multi = "250-first\r\n250-second\r\n250 last\r\nNEXT";

	(void)state;
	smtp_reply_init(&r);
	assert_int_equal(parse("220 ready\r\n", &r, &used, &err), 1);
	assert_int_equal(r.code, 220);
	assert_int_equal(used, 11);
	assert_string_equal(r.text.data, "ready");
	assert_int_equal(parse(multi, &r, &used, &err), 1);
	assert_int_equal(r.nlines, 3);
	assert_string_equal(r.text.data, "first\nsecond\nlast");
	assert_int_equal(used, strlen(multi) - 4);
	/* a bare code with CRLF is a valid last line */
	assert_int_equal(parse("250\r\n", &r, &used, &err), 1);
	assert_int_equal(r.code, 250);
	assert_int_equal(r.text.len, 0);
	smtp_reply_free(&r);
}

static void
test_incomplete(void **state)
{
	struct smtp_reply r;
	struct err err;
	size_t used = 0;
	const char *full = "250-a\r\n250 b\r\n";
	size_t i;

	(void)state;
	smtp_reply_init(&r);
	for (i = 0; i < strlen(full); i++) {
		err_clear(&err);
		assert_int_equal(smtp_reply_parse(full, i, &r, &used, &err), 0);
	}
	assert_int_equal(parse(full, &r, &used, &err), 1);
	smtp_reply_free(&r);
}

static void
test_malformed(void **state)
{
	static const char *const bad[] = {
		"22O ready\r\n", /* letter in the code */
		"620 x\r\n", /* first digit out of range */
		"260 x\r\n", /* second digit out of range */
		"20 short\r\n",
		"220ready\r\n", /* no separator */
		"220 bare lf\n",
		"220-a\r\n221 b\r\n", /* code changes */
		"220 cr\rinside\r\n",
		"250-x\r\n\r\n",
		"\r\n",
		" 220 x\r\n",
	};
	struct smtp_reply r;
	struct err err;
	size_t used, i;

	(void)state;
	smtp_reply_init(&r);
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(parse(bad[i], &r, &used, &err), -1);
		assert_int_equal(err.cls, ERR_TEMP);
		assert_non_null(strstr(err.msg, "malformed"));
	}
	err_clear(&err);
	assert_int_equal(
	    smtp_reply_parse("220 a\0b\r\n", 9, &r, &used, &err), -1);
	err_clear(&err);
	assert_int_equal(smtp_reply_parse("220 a\0b", 7, &r, &used, &err), -1);
	smtp_reply_free(&r);
}

static void
test_limits(void **state)
{
	struct smtp_reply r;
	struct err err;
	size_t used, i;
	char *big = calloc(1, SMTP_REPLY_LINE_MAX + 16);
	char *many = calloc(SMTP_REPLY_LINES_MAX + 2, 8);

	(void)state;
	assert_non_null(big);
	assert_non_null(many);
	smtp_reply_init(&r);
	memcpy(big, "250 ", 4);
	memset(big + 4, 'x', SMTP_REPLY_LINE_MAX + 4);
	err_clear(&err);
	/* no CRLF after the limit: an error, not "need more" */
	assert_int_equal(
	    smtp_reply_parse(big, SMTP_REPLY_LINE_MAX + 8, &r, &used, &err),
	    -1);
	memcpy(big + SMTP_REPLY_LINE_MAX + 6, "\r\n", 2);
	err_clear(&err);
	assert_int_equal(
	    smtp_reply_parse(big, SMTP_REPLY_LINE_MAX + 8, &r, &used, &err),
	    -1);
	for (i = 0; i <= SMTP_REPLY_LINES_MAX; i++)
		memcpy(many + i * 7, "250-a\r\n", 7);
	err_clear(&err);
	assert_int_equal(smtp_reply_parse(many, (SMTP_REPLY_LINES_MAX + 1) * 7,
			     &r, &used, &err),
	    -1);
	assert_non_null(strstr(err.msg, "too many"));
	smtp_reply_free(&r);
	free(big);
	free(many);
}

static void
test_enhanced(void **state)
{
	struct smtp_reply r;
	struct err err;
	size_t used;
	char line[64];

	(void)state;
	smtp_reply_init(&r);
	assert_int_equal(
	    parse("550 5.1.1 no such user\r\n", &r, &used, &err), 1);
	assert_string_equal(r.enh, "5.1.1");
	assert_int_equal(
	    parse("250 2.0.0 Ok: queued as X\r\n", &r, &used, &err), 1);
	assert_string_equal(r.enh, "2.0.0");
	/* class digit must match the code */
	assert_int_equal(parse("550 4.1.1 odd\r\n", &r, &used, &err), 1);
	assert_string_equal(r.enh, "");
	assert_int_equal(parse("550 5.1234.1 odd\r\n", &r, &used, &err), 1);
	assert_string_equal(r.enh, "");
	assert_int_equal(parse("451 4.7.0\r\n", &r, &used, &err), 1);
	assert_string_equal(r.enh, "4.7.0");
	assert_int_equal(
	    parse("550-5.1.1 a\x01\r\n550 b\r\n", &r, &used, &err), 1);
	assert_string_equal(
	    smtp_reply_line(&r, line, sizeof(line)), "550 5.1.1 a  / b");
	assert_string_equal(smtp_reply_line(&r, line, 8), "550 5.1");
	smtp_reply_free(&r);
}

static void
ehlo(const char *text, struct smtp_caps *caps)
{
	struct smtp_reply r;
	struct err err;
	size_t used;

	smtp_reply_init(&r);
	assert_int_equal(parse(text, &r, &used, &err), 1);
	smtp_ehlo_parse(&r, caps);
	smtp_reply_free(&r);
}

static void
test_ehlo(void **state)
{
	struct smtp_caps c;

	(void)state;
	ehlo("250-mx.example.com hello\r\n250-PIPELINING\r\n250-SIZE "
	     "35882577\r\n250-8bitmime\r\n250-STARTTLS\r\n250-AUTH PLAIN "
	     "LOGIN XOAUTH2 GSSAPI\r\n250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n"
	     "250 SMTPUTF8\r\n",
	    &c);
	assert_string_equal(c.domain, "mx.example.com");
	assert_true(c.flags & SMTP_CAP_PIPELINING);
	assert_true(c.flags & SMTP_CAP_SIZE);
	assert_int_equal(c.size_max, 35882577);
	assert_true(c.flags & SMTP_CAP_8BITMIME);
	assert_true(c.flags & SMTP_CAP_STARTTLS);
	assert_true(c.flags & SMTP_CAP_DSN);
	assert_true(c.flags & SMTP_CAP_SMTPUTF8);
	assert_true(c.flags & SMTP_CAP_ENHANCEDSTATUSCODES);
	assert_int_equal(
	    c.mechs, SMTP_MECH_PLAIN | SMTP_MECH_LOGIN | SMTP_MECH_XOAUTH2);
	assert_string_equal(c.auth_list, "PLAIN LOGIN XOAUTH2 GSSAPI");
	/* old AUTH= form, SIZE without a number, junk lines skipped */
	ehlo("250-x\r\n250-AUTH=CRAM-MD5\r\n250-SIZE\r\n250-!bad\r\n"
	     "250-STARTTLSX\r\n250 -x\r\n",
	    &c);
	assert_int_equal(c.mechs, SMTP_MECH_CRAM_MD5);
	assert_true(c.flags & SMTP_CAP_SIZE);
	assert_int_equal(c.size_max, 0);
	assert_false(c.flags & SMTP_CAP_STARTTLS);
	/* not a 250: nothing */
	ehlo("502 no\r\n", &c);
	assert_int_equal(c.flags, 0);
	assert_int_equal(
	    smtp_mech_from_name("cram-md5", 8), SMTP_MECH_CRAM_MD5);
	assert_int_equal(smtp_mech_from_name("NTLM", 4), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_single_and_multi),
		cmocka_unit_test(test_incomplete),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_enhanced),
		cmocka_unit_test(test_ehlo),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
