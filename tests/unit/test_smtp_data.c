/*
 * test_smtp_data.c - the message encoder: dot-stuffing, CRLF-only output
 * from any line endings, folding of overlong header and body lines, the
 * final dot, chunk boundaries anywhere, and a failing output; for BDAT the
 * same lines without dot-stuffing or final dot.
 */
#include "config.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "base/buf.h"
#include "smtp/smtp_wire.h"

static int
sink(void *ctx, const char *p, size_t n)
{
	return buf_append(ctx, p, n);
}

/* encode - the wire form of in, fed in chunks of size step. */
static void
encode(const char *in, size_t n, size_t step, struct buf *out)
{
	struct smtp_dot d;
	size_t off;

	buf_init(out, 1 << 24);
	smtp_dot_init(&d, sink, out);
	for (off = 0; off < n; off += step)
		assert_int_equal(smtp_dot_feed(&d, in + off,
				     n - off < step ? n - off : step),
		    0);
	assert_int_equal(smtp_dot_end(&d), 0);
}

static void
check_wire(const struct buf *w)
{
	size_t i, linelen = 0;

	for (i = 0; i < w->len; i++) {
		if (w->data[i] == '\r') {
			assert_true(i + 1 < w->len && w->data[i + 1] == '\n');
			assert_true(linelen <= SMTP_LINE_MAX);
			linelen = 0;
			i++;
			continue;
		}
		assert_true(w->data[i] != '\n');
		linelen++;
	}
	assert_int_equal(linelen, 0);
	assert_true(w->len >= 3);
	assert_memory_equal(w->data + w->len - 3, ".\r\n", 3);
}

static void
test_stuffing_and_endings(void **state)
{
	static const char in[] = "Subject: x\r\n\r\n.one\r\n..two\n.\r"
				 "last";
	static const char want[] = "Subject: x\r\n\r\n..one\r\n...two\r\n"
				   "..\r\nlast\r\n.\r\n";
	size_t step;

	(void)state;
	for (step = 1; step <= sizeof(in); step++) {
		struct buf w;

		encode(in, sizeof(in) - 1, step, &w);
		check_wire(&w);
		assert_int_equal(w.len, sizeof(want) - 1);
		assert_memory_equal(w.data, want, w.len);
		buf_free(&w);
	}
}

static void
test_empty_and_final_crlf(void **state)
{
	struct buf w;

	(void)state;
	encode("", 0, 1, &w);
	assert_int_equal(w.len, 3);
	assert_memory_equal(w.data, ".\r\n", 3);
	buf_free(&w);
	encode("a\r\n", 3, 1, &w);
	assert_memory_equal(w.data, "a\r\n.\r\n", 6);
	assert_int_equal(w.len, 6);
	buf_free(&w);
	encode("a\r", 2, 1, &w);
	assert_memory_equal(w.data, "a\r\n.\r\n", 6);
	buf_free(&w);
}

static void
test_fold_header_at_space(void **state)
{
	char in[3000];
	struct buf w;
	size_t n = 0, i, j = 0;
	char *unfolded;

	(void)state;
	n += (size_t)snprintf(in, sizeof(in), "Subject:");
	for (i = 0; n < 2500; i++)
		n += (size_t)snprintf(in + n, sizeof(in) - n, " w%zu", i);
	memcpy(in + n, "\r\n\r\nbody\r\n", 10);
	n += 10;
	encode(in, n, 13, &w);
	check_wire(&w);
	/* unfolding (removing CRLF before white space) restores it */
	unfolded = malloc(w.len + 1);
	assert_non_null(unfolded);
	for (i = 0; i < w.len; i++) {
		if (w.data[i] == '\r' && i + 2 < w.len &&
		    w.data[i + 2] == ' ') {
			i++;
			continue;
		}
		unfolded[j++] = w.data[i];
	}
	assert_true(j >= n);
	assert_memory_equal(unfolded, in, n);
	free(unfolded);
	buf_free(&w);
}

static void
test_fold_without_space(void **state)
{
	char *in = malloc(5000);
	struct buf w;
	size_t i, xs = 0;

	(void)state;
	assert_non_null(in);
	memcpy(in, "X-Long: ", 8);
	memset(in + 8, 'h', 2000);
	memcpy(in + 2008, "\r\n\r\n", 4);
	memset(in + 2012, 'b', 2 * SMTP_LINE_MAX);
	memcpy(in + 2012 + 2 * SMTP_LINE_MAX, "\r\n", 2);
	encode(in, 2014 + 2 * SMTP_LINE_MAX, 4014, &w);
	check_wire(&w);
	for (i = 0; i < w.len; i++)
		xs += w.data[i] == 'b';
	assert_int_equal(xs, 2 * SMTP_LINE_MAX);
	/* the header continuation lines start with a space */
	assert_non_null(strstr(w.data, "hhh\r\n hhh"));
	/* a body line of exactly two folds gives no empty line */
	assert_null(strstr(w.data, "bbb\r\n\r\n"));
	buf_free(&w);
	/* a dot-stuffed line still fits */
	in[0] = '.';
	memset(in + 1, 'd', 997);
	memcpy(in + 998, "\r\n", 2);
	encode(in, 1000, 1000, &w);
	check_wire(&w);
	buf_free(&w);
	free(in);
}

static int
failing(void *ctx, const char *p, size_t n)
{
	int *left = ctx;

	(void)p;
	(void)n;
	return (*left)-- > 0 ? 0 : -1;
}

/* encode_bdat - the BDAT form of in, fed in chunks of size step. */
static void
encode_bdat(const char *in, size_t n, size_t step, struct buf *out)
{
	struct smtp_dot d;
	size_t off;

	buf_init(out, 1 << 24);
	smtp_dot_init_bdat(&d, sink, out);
	for (off = 0; off < n; off += step)
		assert_int_equal(smtp_dot_feed(&d, in + off,
				     n - off < step ? n - off : step),
		    0);
	assert_int_equal(smtp_dot_end(&d), 0);
	assert_int_equal(d.nbytes, out->len);
}

static void
test_bdat_unstuffed(void **state)
{
	static const char in[] = "Subject: x\r\n\r\n.one\r\n..two\n.\r"
				 "last";
	static const char want[] = "Subject: x\r\n\r\n.one\r\n..two\r\n"
				   ".\r\nlast\r\n";
	size_t step;
	struct buf w;

	(void)state;
	for (step = 1; step <= sizeof(in); step++) {
		encode_bdat(in, sizeof(in) - 1, step, &w);
		assert_int_equal(w.len, sizeof(want) - 1);
		assert_memory_equal(w.data, want, w.len);
		buf_free(&w);
	}
	encode_bdat("", 0, 1, &w);
	assert_int_equal(w.len, 0);
	buf_free(&w);
	encode_bdat("a\r", 2, 1, &w);
	assert_int_equal(w.len, 3);
	assert_memory_equal(w.data, "a\r\n", 3);
	buf_free(&w);
}

static void
test_bdat_folds_like_data(void **state)
{
	char *in = malloc(3000);
	struct buf w, d;
	size_t i, len = 0, longest = 0;

	(void)state;
	assert_non_null(in);
	/* after the header, a body line of 2000 octets starting with ".":
	 * without stuffing it folds at 998, where DATA folds at 997 to
	 * leave room for the "." */
	memcpy(in, "\r\n.", 3);
	memset(in + 3, 'x', 1999);
	memcpy(in + 2002, "\r\n", 2);
	encode_bdat(in, 2004, 700, &w);
	for (i = 0; i < w.len; i++) {
		if (w.data[i] == '\r') {
			longest = len > longest ? len : longest;
			len = 0;
			i++;
			continue;
		}
		len++;
	}
	assert_int_equal(longest, SMTP_LINE_MAX);
	assert_int_equal(w.len, 2 + 2000 + 3 * 2);
	assert_memory_equal(w.data, "\r\n.xxx", 6);
	buf_free(&w);
	/* without a leading dot both forms fold alike */
	in[2] = 'x';
	encode_bdat(in, 2004, 2004, &w);
	encode(in, 2004, 2004, &d);
	assert_int_equal(w.len + 3, d.len);
	assert_memory_equal(w.data, d.data, w.len);
	buf_free(&w);
	buf_free(&d);
	free(in);
}

static void
test_output_failure(void **state)
{
	struct smtp_dot d;
	int left = 2;

	(void)state;
	smtp_dot_init(&d, failing, &left);
	assert_int_equal(smtp_dot_feed(&d, "a\r\nb\r\nc\r\n", 9), -1);
	assert_true(d.failed);
	assert_int_equal(smtp_dot_feed(&d, "x", 1), -1);
	assert_int_equal(smtp_dot_end(&d), -1);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stuffing_and_endings),
		cmocka_unit_test(test_empty_and_final_crlf),
		cmocka_unit_test(test_fold_header_at_space),
		cmocka_unit_test(test_fold_without_space),
		cmocka_unit_test(test_output_failure),
		cmocka_unit_test(test_bdat_unstuffed),
		cmocka_unit_test(test_bdat_folds_like_data),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
