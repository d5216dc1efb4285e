/*
 * test_hdr.c - the header section: classification, folded fields,
 * case-insensitive lookup, remove/add/rewrite, byte-exact write-back,
 * a first line that is not a header, a non-header line ending the
 * section, and the size limit.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "mail/hdr.h"

static const char sample[] = "Received: from a by b;\r\n"
			     "\tWed, 4 Dec 2024 19:31:00 +0000\r\n"
			     "Subject: hello\r\n"
			     "  world\r\n"
			     "to: a@example.com,\r\n"
			     " b@example.com\r\n"
			     "X-Odd : spaced name\r\n"
			     "Resent-From: r@example.com\r\n"
			     "\r\n"
			     "Body: not a header\r\n";

static struct hdr *
parse(const char *m, size_t *body)
{
	struct hdr *h = hdr_new(0);
	struct err err;

	assert_int_equal(hdr_parse(h, m, strlen(m), body, &err), 0);
	return h;
}

static void
test_parse_and_lookup(void **state)
{
	size_t body, len;
	struct hdr *h = parse(sample, &body);
	const char *v;

	(void)state;
	assert_int_equal(hdr_count(h), 5);
	assert_string_equal(sample + body, "Body: not a header\r\n");
	assert_int_equal(hdr_find(h, "TO", 0), 2);
	assert_int_equal(hdr_find(h, "to", 3), HDR_NONE);
	assert_true(hdr_has(h, "subject"));
	assert_true(hdr_has(h, "x-odd"));
	assert_true(hdr_has_prefix(h, "resent-"));
	assert_false(hdr_has(h, "Cc"));
	v = hdr_value(h, 1, &len);
	assert_int_equal(len, strlen(" hello\r\n  world"));
	assert_memory_equal(v, " hello\r\n  world", len);
	v = hdr_name(h, 3, &len);
	assert_int_equal(len, 5);
	assert_memory_equal(v, "X-Odd", 5);
	v = hdr_value(h, 3, &len);
	assert_memory_equal(v, " spaced name", len);
	assert_int_equal(hdr_count_name(h, "received"), 1);
	hdr_free(h);
}

static void
test_write_back_exact(void **state)
{
	size_t body;
	struct hdr *h = parse(sample, &body);
	struct buf out;
	struct err err;

	(void)state;
	buf_init(&out, 1 << 20);
	assert_int_equal(hdr_write(h, &out, &err), 0);
	assert_int_equal(out.len, body);
	assert_memory_equal(out.data, sample, body);
	assert_int_equal(hdr_size(h), body - 2);
	buf_free(&out);
	hdr_free(h);
}

static void
test_edit(void **state)
{
	size_t body;
	struct hdr *h = parse(sample, &body);
	struct buf out;
	struct err err;

	(void)state;
	assert_int_equal(hdr_remove(h, "RECEIVED"), 1);
	assert_int_equal(hdr_remove(h, "Nope"), 0);
	assert_int_equal(hdr_add(h, "Date", "Wed, 4 Dec 2024", &err), 0);
	assert_int_equal(hdr_set_value(h, 1, " x@example.com", 14, &err), 0);
	assert_int_equal(hdr_add(h, "Bad", "a\r\nBcc: x", &err), -1);
	assert_int_equal(err.cls, ERR_INTERNAL);
	buf_init(&out, 1 << 20);
	assert_int_equal(hdr_write(h, &out, &err), 0);
	assert_string_equal(out.data,
	    "Subject: hello\r\n  world\r\n"
	    "to: x@example.com\r\n"
	    "X-Odd : spaced name\r\n"
	    "Resent-From: r@example.com\r\n"
	    "Date: Wed, 4 Dec 2024\r\n"
	    "\r\n");
	assert_int_equal(hdr_size(h), out.len - 2);
	buf_free(&out);
	hdr_free(h);
}

static void
test_body_only(void **state)
{
	size_t body;
	struct hdr *h;

	(void)state;
	h = parse("just text\r\nSubject: no\r\n", &body);
	assert_int_equal(hdr_count(h), 0);
	assert_int_equal(body, 0);
	hdr_free(h);
	h = parse(" indented first\r\n", &body);
	assert_int_equal(hdr_count(h), 0);
	assert_int_equal(body, 0);
	hdr_free(h);
	h = parse(": no name\r\n", &body);
	assert_int_equal(hdr_count(h), 0);
	hdr_free(h);
	/* a non-header line ends the section where it stands */
	h = parse("Subject: a\r\nnot a header\r\nmore\r\n", &body);
	assert_int_equal(hdr_count(h), 1);
	assert_int_equal(body, 12);
	hdr_free(h);
	/* headers only, no separator, no final newline */
	h = parse("Subject: a\r\nTo: b", &body);
	assert_int_equal(hdr_count(h), 2);
	assert_int_equal(body, 17);
	hdr_free(h);
}

static void
test_classify(void **state)
{
	struct hdr *h = hdr_new(0);
	struct err err;

	(void)state;
	assert_int_equal(hdr_classify(h, "", 0, true), HDR_LINE_END);
	assert_int_equal(hdr_classify(h, " x", 2, true), HDR_LINE_BODY);
	assert_int_equal(hdr_classify(h, "A:", 2, true), HDR_LINE_FIELD);
	assert_int_equal(hdr_classify(h, "A \t:x", 5, true), HDR_LINE_FIELD);
	assert_int_equal(hdr_classify(h, "A B: x", 6, true), HDR_LINE_BODY);
	assert_int_equal(hdr_classify(h, "Subje", 5, false), HDR_LINE_BODY);
	assert_int_equal(
	    hdr_classify(h, "\xc3\xa4: x", 5, true), HDR_LINE_BODY);
	assert_int_equal(
	    hdr_add_piece(h, HDR_LINE_CONT, " x", 2, true, true, &err), -1);
	assert_int_equal(
	    hdr_add_piece(h, HDR_LINE_FIELD, "A: 1", 4, true, false, &err), 0);
	assert_int_equal(
	    hdr_add_piece(h, HDR_LINE_FIELD, "23", 2, false, true, &err), 0);
	assert_int_equal(hdr_classify(h, "\tx", 2, true), HDR_LINE_CONT);
	assert_int_equal(
	    hdr_add_piece(h, HDR_LINE_CONT, "\tx", 2, true, true, &err), 0);
	assert_int_equal(hdr_size(h), strlen("A: 123\r\n\tx\r\n"));
	hdr_free(h);
}

static void
test_size_limit(void **state)
{
	struct hdr *h = hdr_new(32);
	struct err err;

	(void)state;
	assert_int_equal(hdr_add(h, "Subject", "0123456789", &err), 0);
	assert_int_equal(hdr_add(h, "Subject", "0123456789abcdef", &err), -1);
	assert_int_equal(err.cls, ERR_PERM);
	assert_int_equal(err.smtp_code, 552);
	assert_int_equal(hdr_add_piece(h, HDR_LINE_FIELD,
			     "X: 0123456789012345678", 22, true, true, &err),
	    -1);
	assert_int_equal(
	    hdr_set_value(h, 0, "0123456789012345678901234567", 28, &err), -1);
	assert_int_equal(hdr_count(h), 1);
	hdr_free(h);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_and_lookup),
		cmocka_unit_test(test_write_back_exact),
		cmocka_unit_test(test_edit),
		cmocka_unit_test(test_body_only),
		cmocka_unit_test(test_classify),
		cmocka_unit_test(test_size_limit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
