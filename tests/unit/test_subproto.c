/*
 * test_subproto.c - the submission stream: writer output byte-exact, the
 * reader accepts what the writer produces (fed in every split), and refuses
 * each kind of malformed input.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "mail/subproto.h"

static int
collect(void *arg, const char *p, size_t n, struct err *err)
{
	(void)err;
	return buf_append(arg, p, n);
}

static void
write_sample(struct buf *out)
{
	char *rcpts[] = { (char *)(uintptr_t) "a@example.org",
		(char *)(uintptr_t) "b@example.org" };
	struct subproto_env e = { 0 };
	struct err err;

	e.sender = (char *)(uintptr_t) "me@example.net";
	e.rcpts = rcpts;
	e.nrcpts = 2;
	e.ret = (char *)(uintptr_t) "HDRS";
	e.body_type = (char *)(uintptr_t) "8BITMIME";
	assert_int_equal(subproto_write_env(out, &e, &err), 0);
	assert_int_equal(
	    subproto_write_chunk(out, "Subject: x\r\n\r\n", 14, &err), 0);
	assert_int_equal(subproto_write_chunk(out, "hi\r\n", 4, &err), 0);
	assert_int_equal(subproto_write_chunk(out, NULL, 0, &err), 0);
}

static void
test_writer_exact(void **state)
{
	struct buf out;

	(void)state;
	buf_init(&out, 1 << 20);
	write_sample(&out);
	assert_string_equal(out.data,
	    "RELAY-SUBMIT 1\nFROM me@example.net\nRCPT a@example.org\n"
	    "RCPT b@example.org\nRET HDRS\nBODY 8BITMIME\nDATA\n"
	    "14\nSubject: x\r\n\r\n4\nhi\r\n0\n");
	buf_free(&out);
}

static void
test_roundtrip_every_split(void **state)
{
	struct buf wire, body;
	size_t split;

	(void)state;
	buf_init(&wire, 1 << 20);
	write_sample(&wire);
	for (split = 0; split <= wire.len; split++) {
		struct subproto_reader *r;
		const struct subproto_env *e;
		struct err err;
		size_t used1 = 0, used2 = 0;

		err_clear(&err);
		buf_init(&body, 1 << 20);
		r = subproto_reader_new(1000, collect, &body);
		(void)subproto_feed(r, wire.data, split, &used1, &err);
		assert_int_equal(used1, split);
		assert_int_equal(subproto_feed(r, wire.data + split,
				     wire.len - split, &used2, &err),
		    SUBPROTO_DONE);
		assert_int_equal(used1 + used2, wire.len);
		e = subproto_reader_env(r);
		assert_string_equal(e->sender, "me@example.net");
		assert_int_equal(e->nrcpts, 2);
		assert_string_equal(e->rcpts[1], "b@example.org");
		assert_string_equal(e->ret, "HDRS");
		assert_string_equal(e->body_type, "8BITMIME");
		assert_null(e->envid);
		assert_string_equal(body.data, "Subject: x\r\n\r\nhi\r\n");
		assert_int_equal(subproto_body_size(r), 18);
		subproto_reader_free(r);
		buf_free(&body);
	}
	buf_free(&wire);
}

static enum subproto_state
feed_all(const char *s, uint64_t max, struct err *err)
{
	struct subproto_reader *r = subproto_reader_new(max, NULL, NULL);
	enum subproto_state st;
	size_t used;

	err_clear(err);
	st = subproto_feed(r, s, strlen(s), &used, err);
	subproto_reader_free(r);
	return st;
}

static void
test_reader_refuses(void **state)
{
	static const char *const bad[] = {
		"RELAY-SUBMIT 2\n",
		"FROM a@b\n",
		"RELAY-SUBMIT 1\nFROM a@b\nFROM c@d\n",
		"RELAY-SUBMIT 1\nFROM a@b\nDATA\n",
		"RELAY-SUBMIT 1\nRCPT a@b\nDATA\n",
		"RELAY-SUBMIT 1\nFROM a@b\nRCPT x\ty@z\nDATA\n",
		"RELAY-SUBMIT 1\nFROM a@b\nRCPT \nDATA\n",
		"RELAY-SUBMIT 1\nFROM a@b\nRCPT c@d\nRET ALL\n",
		"RELAY-SUBMIT 1\nFROM a@b\nRCPT c@d\nBOGUS 1\n",
		"RELAY-SUBMIT 1\nFROM a@b\nRCPT c@d\nDATA\n-1\n",
		"RELAY-SUBMIT 1\nFROM a@b\nRCPT c@d\nDATA\n007\nabcdefg0\n",
		"RELAY-SUBMIT 1\nFROM a@b\nRCPT c@d\nDATA\n999999999\n",
		"RELAY-SUBMIT 1\nFROM a@b\nRCPT c@d\nDATA\nx\n",
	};
	struct err err;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(feed_all(bad[i], 100, &err), SUBPROTO_ERROR);
		assert_int_equal(err.cls, ERR_PERM);
	}
}

static void
test_reader_size_limit_and_null_sender(void **state)
{
	struct err err;

	(void)state;
	assert_int_equal(feed_all("RELAY-SUBMIT 1\nFROM \nRCPT c@d\nDATA\n"
				  "5\nabcde0\n",
			     4, &err),
	    SUBPROTO_ERROR);
	assert_int_equal(err.smtp_code, 552);
	assert_int_equal(feed_all("RELAY-SUBMIT 1\nFROM \nRCPT c@d\nDATA\n"
				  "5\nabcde0\n",
			     5, &err),
	    SUBPROTO_DONE);
}

static void
test_reader_overlong_line(void **state)
{
	char line[SUBPROTO_MAX_LINE + 64];
	struct err err;

	(void)state;
	memset(line, 'a', sizeof(line) - 1);
	line[sizeof(line) - 1] = '\0';
	assert_int_equal(feed_all(line, 100, &err), SUBPROTO_ERROR);
}

static void
test_writer_refuses_crlf(void **state)
{
	char *rcpts[] = { (char *)(uintptr_t) "a@b\r\nRCPT evil@x" };
	struct subproto_env e = { 0 };
	struct buf out;
	struct err err;

	(void)state;
	buf_init(&out, 4096);
	e.sender = (char *)(uintptr_t) "";
	e.rcpts = rcpts;
	e.nrcpts = 1;
	assert_int_equal(subproto_write_env(&out, &e, &err), -1);
	assert_int_equal(err.cls, ERR_PERM);
	e.nrcpts = 0;
	assert_int_equal(subproto_write_env(&out, &e, &err), -1);
	buf_free(&out);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_writer_exact),
		cmocka_unit_test(test_roundtrip_every_split),
		cmocka_unit_test(test_reader_refuses),
		cmocka_unit_test(test_reader_size_limit_and_null_sender),
		cmocka_unit_test(test_reader_overlong_line),
		cmocka_unit_test(test_writer_refuses_crlf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
