/*
 * test_base.c - src/base: bounded buffers, checked parsers, escaping,
 * struct err, fsutil error paths through the sysops table.
 */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "base/buf.h"
#include "base/err.h"
#include "base/fsutil.h"
#include "base/str.h"
#include "base/sysops.h"

static void
test_buf_cap(void **state)
{
	struct buf b;
	char *s;

	(void)state;
	buf_init(&b, 8);
	assert_int_equal(buf_puts(&b, "12345678"), 0);
	assert_int_equal(buf_putc(&b, '9'), -1);
	assert_int_equal(b.len, 8);
	assert_string_equal(b.data, "12345678");
	buf_consume(&b, 3);
	assert_string_equal(b.data, "45678");
	assert_int_equal(buf_appendf(&b, "%d", 123), 0);
	assert_int_equal(buf_appendf(&b, "%d", 4), -1);
	buf_truncate(&b, 2);
	assert_string_equal(b.data, "45");
	s = buf_steal(&b);
	assert_string_equal(s, "45");
	assert_int_equal(b.len, 0);
	free(s);
	assert_int_equal(buf_append(&b, "a\0b", 3), 0);
	assert_int_equal(b.len, 3);
	assert_int_equal(b.data[3], '\0');
	buf_wipe_free(&b);
}

static void
test_str_parsers(void **state)
{
	long long v;
	uint64_t sz;

	(void)state;
	assert_int_equal(str_to_ll("42", 0, 100, &v), 0);
	assert_int_equal(v, 42);
	assert_int_equal(str_to_ll("101", 0, 100, &v), -1);
	assert_int_equal(str_to_ll(" 1", 0, 100, &v), -1);
	assert_int_equal(str_to_ll("1x", 0, 100, &v), -1);
	assert_int_equal(str_to_ll("", 0, 100, &v), -1);
	assert_int_equal(str_parse_duration("30s", &v), 0);
	assert_int_equal(v, 30);
	assert_int_equal(str_parse_duration("5m", &v), 0);
	assert_int_equal(v, 300);
	assert_int_equal(str_parse_duration("2h", &v), 0);
	assert_int_equal(v, 7200);
	assert_int_equal(str_parse_duration("5d", &v), 0);
	assert_int_equal(v, 432000);
	assert_int_equal(str_parse_duration("1s", &v), 0);
	assert_int_equal(str_parse_duration("5x", &v), -1);
	assert_int_equal(str_parse_duration("m", &v), -1);
	assert_int_equal(str_parse_duration("5mm", &v), -1);
	assert_int_equal(str_parse_duration("-5", &v), -1);
	assert_int_equal(str_parse_size("512K", &sz), 0);
	assert_int_equal(sz, 524288);
	assert_int_equal(str_parse_size("10M", &sz), 0);
	assert_int_equal(sz, 10485760);
	assert_int_equal(str_parse_size("1G", &sz), 0);
	assert_int_equal(str_parse_size("12Q", &sz), -1);
	assert_int_equal(str_parse_size("99999999999999999999", &sz), -1);
}

static void
test_str_copy_fmt(void **state)
{
	char small[4];

	(void)state;
	assert_int_equal(str_copy(small, sizeof(small), "abc"), 0);
	assert_int_equal(str_copy(small, sizeof(small), "abcd"), -1);
	assert_string_equal(small, "abc");
	assert_int_equal(str_fmt(small, sizeof(small), "%d", 12), 0);
	assert_int_equal(str_fmt(small, sizeof(small), "%d", 1234), -1);
	assert_true(str_has_prefix_ci("EHLO x", "ehlo"));
	assert_false(str_has_prefix_ci("EH", "ehlo"));
}

static void
test_str_escape_json(void **state)
{
	struct buf b;

	(void)state;
	buf_init(&b, 256);
	assert_int_equal(str_escape(&b, "a\r\nb\x01\\", 6), 0);
	assert_string_equal(b.data, "a\\r\\nb\\x01\\\\");
	buf_reset(&b);
	assert_int_equal(str_json(&b, "q\"\\\n\x02", 5), 0);
	assert_string_equal(b.data, "\"q\\\"\\\\\\n\\u0002\"");
	buf_reset(&b);
	/* valid UTF-8 (2, 3 and 4 bytes) passes; invalid bytes are escaped */
	assert_int_equal(
	    str_json(&b, "\xc3\xa9\xe2\x82\xac\xf0\x9f\x93\xa7", 9), 0);
	assert_string_equal(b.data, "\"\xc3\xa9\xe2\x82\xac\xf0\x9f\x93\xa7\"");
	buf_reset(&b);
	assert_int_equal(
	    str_json(&b, "\xc3(\xc0\xaf\xed\xa0\x80\xe2\x82", 9), 0);
	assert_string_equal(b.data,
	    "\"\\u00c3(\\u00c0\\u00af\\u00ed\\u00a0\\u0080\\u00e2\\u0082\"");
	buf_free(&b);
}

static void
test_err(void **state)
{
	struct err err;

	(void)state;
	assert_int_equal(err_set(&err, ERR_TEMP, "x %d", 1), -1);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_string_equal(err.msg, "x 1");
	errno = ENOSPC;
	assert_int_equal(err_sys(&err, ERR_TEMP, "write %s", "f"), -1);
	assert_int_equal(err.sys_errno, ENOSPC);
	assert_non_null(strstr(err.msg, "write f: "));
	assert_true(err_errno_is_full(ENOSPC));
	assert_false(err_errno_is_full(EINTR));
	assert_string_equal(err_class_name(ERR_CONFIG), "config");
	assert_int_equal(err_set(NULL, ERR_PERM, "ignored"), -1);
	err_clear(&err);
	assert_int_equal(err.cls, ERR_NONE);
}

static ssize_t
write_enospc(int fd, const void *p, size_t n)
{
	(void)fd;
	(void)p;
	(void)n;
	errno = ENOSPC;
	return -1;
}

static int
fsync_eio(int fd)
{
	(void)fd;
	errno = EIO;
	return -1;
}

static void
test_fsutil_failures(void **state)
{
	struct err err;
	int fd = open("/dev/null", O_WRONLY);

	(void)state;
	assert_true(fd >= 0);
	assert_int_equal(fs_write_all(fd, "abc", 3, &err), 0);
	sysops.write = write_enospc;
	assert_int_equal(fs_write_all(fd, "abc", 3, &err), -1);
	assert_int_equal(err.cls, ERR_TEMP);
	assert_int_equal(err.sys_errno, ENOSPC);
	sysops.fsync = fsync_eio;
	assert_int_equal(fs_fsync_dir("/", &err), -1);
	assert_int_equal(err.sys_errno, EIO);
	sysops_reset();
	assert_int_equal(fs_fsync_dir("/", &err), 0);
	assert_int_equal(fs_fsync_dir("/nonexistent-dir-relay", &err), -1);
	assert_int_equal(close(fd), 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_buf_cap),
		cmocka_unit_test(test_str_parsers),
		cmocka_unit_test(test_str_copy_fmt),
		cmocka_unit_test(test_str_escape_json),
		cmocka_unit_test(test_err),
		cmocka_unit_test(test_fsutil_failures),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
